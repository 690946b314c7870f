"""Append frames to one SWMR HDF5 file, synchronously, from a single thread.

:class:`FrameFile` is the file half of the writer: it creates the layout of
:mod:`.layout`, switches SWMR on, appends batches of frames (one chunk per
frame, direct chunk writes when uncompressed) with their per-frame metadata,
and flushes. It does no threading and is not thread-safe:
:class:`~ophyd_pvcam.storage.hdf5.HDF5FrameWriter` owns one from its writer
thread.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

import h5py
import numpy as np

from ophyd_pvcam.engine.frame import Frame

from .layout import compression_options, create_layout

__all__ = ["FrameFile", "LIBVER"]

logger = logging.getLogger(__name__)

#: Lowest and highest HDF5 format versions. SWMR needs at least v1.10; using
#: it as the lower bound (instead of "latest") keeps every object in the
#: oldest format that supports SWMR, so readers built on an older HDF5 than
#: the writer's open the file (checked: HDF5 2.0 writes, HDF5 1.14 reads).
LIBVER = ("v110", "latest")


class FrameFile:
    """A new frame file, open for appending, in SWMR mode.

    Parameters
    ----------
    path : path-like
        File to create (parents are created). Never overwrites: an existing
        file raises ``FileExistsError``.
    frame_shape : tuple of int
        ``(height, width)``.
    dtype : numpy.dtype
        Pixel type.
    compression : str, mapping or None
        See :func:`~ophyd_pvcam.storage.layout.compression_options`.
    attributes : mapping, optional
        Camera configuration for ``/entry/instrument/pvcam``.
    """

    def __init__(
        self,
        path: Union[str, os.PathLike],
        frame_shape: tuple[int, int],
        dtype: np.dtype,
        *,
        compression: Union[str, Mapping[str, Any], None] = None,
        attributes: Optional[Mapping[str, Any]] = None,
    ):
        self._path = Path(path)
        self._direct = not compression_options(compression)
        self._path.parent.mkdir(parents=True, exist_ok=True)
        # "w-": never overwrite an existing acquisition.
        self._file: Optional[h5py.File] = h5py.File(self._path, "w-", libver=LIBVER)
        try:
            self._data, self._per_frame = create_layout(
                self._file, frame_shape, np.dtype(dtype),
                compression=compression, attributes=attributes)
            # All objects and attributes exist now; SWMR forbids creating more.
            self._file.swmr_mode = True
        except BaseException:
            self._file.close()
            self._file = None
            raise
        self.frames_stored = 0
        self.frames_flushed = 0
        self.bytes_stored = 0

    @property
    def path(self) -> Path:
        """The file."""
        return self._path

    @property
    def closed(self) -> bool:
        """``True`` once :meth:`close` has run."""
        return self._file is None

    def append(self, frames: Sequence[Frame]) -> None:
        """Append frames and their per-frame metadata (not yet flushed).

        Parameters
        ----------
        frames : sequence of Frame
            Frames whose data match the dataset's shape and dtype.
        """
        if not frames:
            return
        start = self.frames_stored
        stop = start + len(frames)
        # Extent first: a chunk can only be written inside the dataset's
        # current extent. SWMR readers trust only frames_flushed frames.
        self._data.resize(stop, axis=0)
        for offset, frame in enumerate(frames):
            pixels = np.ascontiguousarray(frame.data)
            if self._direct:
                # One frame = one chunk: hand HDF5 the bytes as the chunk,
                # skipping its type conversion and selection machinery.
                self._data.id.write_direct_chunk((start + offset, 0, 0), pixels)
            else:
                self._data[start + offset] = pixels
        for name, dataset in self._per_frame.items():
            values = np.fromiter((getattr(f, name) for f in frames), dtype=dataset.dtype,
                                 count=len(frames))
            dataset.resize(stop, axis=0)
            dataset[start:stop] = values
        self.frames_stored = stop
        self.bytes_stored += sum(f.data.nbytes for f in frames)

    def flush(self) -> int:
        """Flush data and metadata to the file so SWMR readers see every stored frame.

        Returns
        -------
        int
            :attr:`frames_flushed`.
        """
        if self._file is not None and self.frames_stored != self.frames_flushed:
            self._file.flush()
            self.frames_flushed = self.frames_stored
        return self.frames_flushed

    def close(self) -> None:
        """Flush and close; idempotent."""
        if self._file is None:
            return
        try:
            self.flush()
        finally:
            self._file.close()
            self._file = None
        logger.info("closed %s with %d frames", self._path, self.frames_flushed)
