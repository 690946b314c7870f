"""One staging's frame file: created (or adopted), fed frames, flushed, closed.

:class:`AssetFile` is the file half of :class:`~ophyd_pvcam.device.writer.AssetWriter`:
which file, which frames went in and when, how many are flushed, and, at
close, the frames no event covers set aside. It knows nothing of documents
(:mod:`ophyd_pvcam.device.assetdocs`). The file is written by an
:class:`~ophyd_pvcam.storage.hdf5.HDF5FrameWriter`, or by anything with the
:class:`FrameFileWriter` interface (the EPICS client adopts the file its
server writes).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Protocol, Sequence, Union

import numpy as np

from ophyd_pvcam.engine.frame import Frame
from ophyd_pvcam.engine.frameblock import FrameBlock
from ophyd_pvcam.storage.errors import StorageError
from ophyd_pvcam.storage.hdf5 import HDF5FrameWriter
from ophyd_pvcam.storage.layout import set_aside_frames

__all__ = ["AssetFile", "FrameFileWriter"]

logger = logging.getLogger(__name__)


class FrameFileWriter(Protocol):
    """What :class:`AssetFile` uses of the writer of its file.

    :class:`~ophyd_pvcam.storage.hdf5.HDF5FrameWriter` is one; so is the
    EPICS client's stand-in for a file its server writes
    (:mod:`ophyd_pvcam.ioc.client.assets`).
    """

    @property
    def frames_written(self) -> int:
        """Frames flushed to the file so far."""

    @property
    def error(self) -> Optional[Exception]:
        """The writer's failure, if any."""

    def submit(self, frame: Frame) -> None:
        """Queue one frame."""

    def submit_block(self, block: FrameBlock, on_written: Optional[Callable[[], None]] = None) -> None:
        """Queue a block of frames."""

    def flush(self, timeout: Optional[float] = None) -> int:
        """Write and flush every queued frame; return the frames in the file."""

    def close(self, timeout: Optional[float] = None) -> int:
        """Flush and close; return the frames in the file."""


class AssetFile:
    """The frame file of one staging and the host time of each of its frames.

    Not thread-safe by itself: :class:`~ophyd_pvcam.device.writer.AssetWriter`
    serialises :meth:`create`, :meth:`adopt` and :meth:`close` under its lock;
    :meth:`submit` runs on the acquisition thread.

    Parameters
    ----------
    device_name : str
        For messages.
    """

    def __init__(self, device_name: str):
        self.device_name = device_name
        self._writer: Optional[FrameFileWriter] = None
        self._path: Optional[Path] = None
        # Host time of every submitted frame, by file index (event times of fly scans).
        self._frame_times: list[float] = []
        self._closed_frames = 0
        self._frames_set_aside = 0
        #: The latest submitted frame (None before the first of a file): what a step
        #: scan's per-point numbers (the detector's frame_sum/mean/max) are made of.
        self.last_frame: Optional[Frame] = None

    @property
    def is_open(self) -> bool:
        """True between :meth:`create`/:meth:`adopt` and :meth:`close`."""
        return self._writer is not None

    @property
    def path(self) -> Optional[Path]:
        """The current (or last) file."""
        return self._path

    @property
    def frames_set_aside(self) -> int:
        """Frames of the last file moved to ``/entry/unassigned`` by :meth:`set_aside`."""
        return self._frames_set_aside

    @property
    def frames_written(self) -> int:
        """Frames flushed to the file so far (after close: the frames it keeps)."""
        writer = self._writer
        return self._closed_frames if writer is None else writer.frames_written

    @property
    def error(self) -> Optional[Exception]:
        """The writer's error, if it failed."""
        writer = self._writer
        return None if writer is None else writer.error

    def _check_closed(self) -> None:
        if self._writer is not None:
            raise RuntimeError(f"{self.device_name}: a file is already open ({self._path})")

    def _opened(self, writer: FrameFileWriter, path: Union[str, Path]) -> Path:
        self._writer = writer
        self._path = Path(path)
        self._closed_frames = 0
        self._frames_set_aside = 0
        self._frame_times = []
        self.last_frame = None
        return self._path

    def create(self, path: Union[str, Path], frame_shape: tuple[int, int], dtype: Any, *,
               compression: Optional[str] = None, queue_size: Optional[int] = None,
               flush_interval: float = 0.2,
               attributes: Optional[Mapping[str, Any]] = None,
               roi_shapes: Sequence[tuple[int, int]] = ()) -> Path:
        """Create the HDF5 file ``path`` and start its writer thread.

        Parameters
        ----------
        path : path-like
        frame_shape : tuple of int
        dtype : numpy dtype-like
        compression, queue_size, flush_interval, attributes, roi_shapes
            Passed to :class:`~ophyd_pvcam.storage.hdf5.HDF5FrameWriter`.

        Returns
        -------
        pathlib.Path

        Raises
        ------
        RuntimeError
            While a file is open.
        StorageError
            If the file cannot be created.
        """
        self._check_closed()
        writer = HDF5FrameWriter(path, frame_shape, np.dtype(dtype), compression=compression,
                                 queue_size=queue_size, flush_interval=flush_interval,
                                 attributes=attributes, roi_shapes=roi_shapes)
        writer.start()
        logger.info("%s: writing frames to %s", self.device_name, path)
        return self._opened(writer, path)

    def adopt(self, writer: FrameFileWriter, path: Union[str, Path]) -> Path:
        """Take ``path``, written by ``writer`` (already started), as the open file.

        Parameters
        ----------
        writer : FrameFileWriter
        path : path-like
            The file as readers (and the catalog) see it.

        Returns
        -------
        pathlib.Path

        Raises
        ------
        RuntimeError
            While a file is open.
        """
        self._check_closed()
        return self._opened(writer, path)

    def forget(self) -> None:
        """Forget the last file's frame count and times (the path stays)."""
        self._check_closed()
        self._closed_frames = 0
        self._frame_times = []

    def submit(self, frame: Frame) -> None:
        """Queue one frame for the file (blocks while the writer queue is full).

        Parameters
        ----------
        frame : Frame
        """
        writer = self._writer
        if writer is None:
            raise RuntimeError(f"{self.device_name}: no file is open (not staged)")
        writer.submit(frame)
        self._frame_times.append(frame.host_time)
        self.last_frame = frame  # a reference (no copy): the point's numbers are computed at read

    def submit_block(self, block: FrameBlock,
                     on_written: Optional[Callable[[], None]] = None) -> None:
        """Queue a block of frames for the file (blocks while the writer queue is full).

        Parameters
        ----------
        block : FrameBlock
        on_written : callable, optional
            Called from the writer thread once the block is in the file.
        """
        writer = self._writer
        if writer is None:
            raise RuntimeError(f"{self.device_name}: no file is open (not staged)")
        # Read before queueing: on_written may release the block at any time after.
        times = block.host_time.tolist()
        # The point's numbers (frame_sum/mean/max) are made of its last frame: one
        # copy per block, since the block's pixels go back to the ring once written.
        last = len(block) - 1
        self.last_frame = Frame(frame_number=int(block.frame_numbers[last]),
                                data=block.data[last].copy(), host_time=times[last],
                                index=block.first_index + last,
                                lost_before=int(block.lost_before[last]))
        writer.submit_block(block, on_written=on_written)
        self._frame_times.extend(times)

    def extend_frame_times(self, count: int, when: float) -> None:
        """Give frames up to file index ``count - 1`` without a time the host time ``when``.

        For a file written elsewhere, whose frames are seen arriving rather
        than submitted.

        Parameters
        ----------
        count : int
        when : float
        """
        self._frame_times.extend([when] * (int(count) - len(self._frame_times)))

    def frame_time(self, index: int) -> float:
        """Return the host time of the frame at file index ``index``.

        Parameters
        ----------
        index : int

        Returns
        -------
        float
        """
        return self._frame_times[index]

    def flush(self, timeout: Optional[float] = None) -> int:
        """Write and flush every submitted frame; return the frames in the file.

        Parameters
        ----------
        timeout : float, optional

        Returns
        -------
        int
        """
        writer = self._writer
        if writer is None:
            return self._closed_frames
        return writer.flush(timeout)

    def close(self, timeout: Optional[float] = None) -> int:
        """Flush and close the file (idempotent); return the frames in it.

        Parameters
        ----------
        timeout : float, optional

        Returns
        -------
        int
        """
        writer = self._writer
        if writer is None:
            return self._closed_frames
        try:
            self._closed_frames = writer.close(timeout)
        finally:
            self._closed_frames = max(self._closed_frames, writer.frames_written)
            self._writer = None
        return self._closed_frames

    def set_aside(self, keep: int) -> int:
        """Move the closed file's frames from index ``keep`` on to ``/entry/unassigned``.

        Parameters
        ----------
        keep : int
            Frames that belong to a documented event.

        Returns
        -------
        int
            The frames the file keeps (``keep`` when some were moved).

        Raises
        ------
        StorageError
            If the frames cannot be moved (the message names
            :func:`~ophyd_pvcam.storage.layout.set_aside_frames` to run later).
        """
        if self._closed_frames <= keep:
            return self._closed_frames
        try:
            self._frames_set_aside = set_aside_frames(self._path, keep)
        except OSError as exc:
            raise StorageError(
                f"{self.device_name}: {self._closed_frames - keep} frame(s) of {self._path} "
                f"belong to no event and could not be moved to /entry/unassigned ({exc}; "
                "is the file open elsewhere?); the run's images read back once "
                f"ophyd_pvcam.storage.layout.set_aside_frames(path, {keep}) has run",
                call="AssetWriter.close") from exc
        self._closed_frames = keep
        return keep
