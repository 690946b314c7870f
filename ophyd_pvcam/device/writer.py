"""The detector's HDF5 file and the bluesky asset documents that point into it.

:class:`AssetWriter` joins two concepts, each in its own module: one
staging's file (:class:`~ophyd_pvcam.device.assetfile.AssetFile`: created,
fed, flushed, closed) and the documents of one of two modes
(:mod:`ophyd_pvcam.device.assetdocs`), and turns "frames flushed to the file"
into documents:

``"stream"`` (default)
    ``StreamResource`` (mimetype ``application/x-hdf5``, dataset
    ``/entry/data/data``) once, then one ``StreamDatum`` per new range of
    events. This is what TiledWriter ingests; no Python handler is involved.
    With ``per_frame_keys``, each chosen per-frame metadata dataset
    (``/entry/instrument/pvcam/<field>``, e.g. ``lost_before``) gets its own
    StreamResource in the same file and StreamDatums over the same indices,
    so the catalog reads it per frame next to the image.
``"legacy"``
    ``Resource`` (spec ``PVCAM_HDF5``, read back by
    :class:`~ophyd_pvcam.storage.handler.PVCAMHDF5Handler`) and one ``Datum``
    per event (``{"point_number": i}``). Works with ``bluesky.plans.fly`` and
    Mongo-backed databroker (``databroker.temp()``). Image only: the
    per-frame metadata stay in the file.

An *event* is one row of the bluesky stream: ``frames_per_event`` consecutive
frames (``frames_per_trigger`` in a step scan, 1 in a fly scan). Documents
only ever cover frames that have been flushed to the file, so a document
never points past what a reader can see.
"""
from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Optional, Sequence, Union

import numpy as np

from ophyd_pvcam.device.assetdocs import LegacyDocuments, StreamDocuments
from ophyd_pvcam.device.assetfile import AssetFile, FrameFileWriter
from ophyd_pvcam.engine.errors import ValidationError
from ophyd_pvcam.engine.frame import Frame
from ophyd_pvcam.engine.frameblock import FrameBlock
from ophyd_pvcam.storage.documents import data_key, per_frame_data_key
from ophyd_pvcam.storage.layout import roi_dataset_path
from ophyd_pvcam.storage.paths import DEFAULT_TEMPLATE, make_file_path

__all__ = ["AssetWriter", "ASSET_MODES", "PER_FRAME_KEYS", "image_data_key"]

#: Accepted values of ``asset_docs``.
ASSET_MODES = ("stream", "legacy")

#: The per-frame fields a detector records in the run when asked to
#: (``per_frame_keys``): what a frame was and whether frames were lost before it.
PER_FRAME_KEYS = ("frame_number", "lost_before", "timestamp_bof", "timestamp_eof")


def image_data_key(source: str, frame_shape: tuple[int, int], dtype: Any, *,
                   frames_per_event: int = 1, mode: str = "stream") -> dict[str, Any]:
    """Return the DataKey of the image field.

    Parameters
    ----------
    source : str
        Where the data come from (``"PVCAM:<camera>"``).
    frame_shape : tuple of int
        ``(height, width)``.
    dtype : numpy dtype-like
        Pixel type.
    frames_per_event : int
        Frames per event.
    mode : {"stream", "legacy"}
        Document mode.

    Returns
    -------
    dict
        ``dtype="array"``, ``shape`` ``[H, W]`` (``[n, H, W]`` for n > 1
        frames per event), ``dtype_numpy`` (e.g. ``"<u2"``) and ``external``
        (``"STREAM:"`` or ``"FILESTORE:"``).
    """
    external = "STREAM:" if mode == "stream" else "FILESTORE:"
    key = data_key(source, frame_shape, dtype, external=external)
    if int(frames_per_event) != 1:
        key["shape"] = [int(frames_per_event), *key["shape"]]
    return key


class AssetWriter:
    """One HDF5 file per staging, and the documents describing its frames.

    Parameters
    ----------
    device_name : str
        Device name (used in the file name).
    image_key : str
        The image data key, ``{name}_image``.
    root : path-like or None
        Directory the file tree starts at (``None``: the storage default).
    template : str
        File name template relative to ``root``
        (see :func:`~ophyd_pvcam.storage.paths.make_file_path`).
    compression : str or None
        Passed to :class:`~ophyd_pvcam.storage.hdf5.HDF5FrameWriter`.
    queue_size : int, optional
        Frames waiting in the writer queue before ``submit`` blocks, on top of
        the writer's byte bound (a share of the host memory budget, see
        :class:`~ophyd_pvcam.storage.hdf5.HDF5FrameWriter`); ``None``
        (default): bytes only.
    flush_interval : float
        Longest time [s] a written frame stays unflushed (and so undocumented).
    per_frame_keys : mapping, optional
        Per-frame field (of :data:`~ophyd_pvcam.storage.layout.PER_FRAME_FIELDS`)
        -> data key, for the fields documented next to the image in stream
        mode (the device must describe them: :meth:`per_frame_data_keys`).
        Default none.

    Raises
    ------
    StorageError
        For a field the layout does not have.
    """

    def __init__(self, device_name: str, image_key: str, root: Union[str, Path, None], *,
                 template: str = DEFAULT_TEMPLATE, compression: Optional[str] = None,
                 queue_size: Optional[int] = None, flush_interval: float = 0.2,
                 per_frame_keys: Optional[Mapping[str, str]] = None):
        self.device_name = device_name
        self.image_key = image_key
        self.per_frame_keys: dict[str, str] = {}
        self.root = root
        self.template = template
        self.compression = compression
        self.queue_size = None if queue_size is None else int(queue_size)
        self.flush_interval = float(flush_interval)
        # Serialises document state between the RunEngine thread (collect)
        # and the acquisition monitor (progress); never held while waiting.
        self._lock = threading.RLock()
        self._file = AssetFile(device_name)
        self._reset_documents("stream", (0, 0), np.uint16)
        self.set_per_frame_keys(per_frame_keys or {})

    def _reset_documents(self, mode: str, frame_shape: tuple[int, int], dtype: Any) -> None:
        self._mode = mode
        self._frame_shape = (int(frame_shape[0]), int(frame_shape[1]))
        self._dtype = np.dtype(dtype)
        self._frames_per_event = 1
        self._region_shapes: tuple[tuple[int, int], ...] = ()
        # Made at the first document (stream) or datum (legacy) of a staging.
        self._stream: Optional[StreamDocuments] = None
        self._legacy: Optional[LegacyDocuments] = None

    def _documents_started(self) -> bool:
        return self._stream is not None or (self._legacy is not None and self._legacy.started)

    # -- file --------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        """True between :meth:`open` and :meth:`close`."""
        return self._file.is_open

    @property
    def path(self) -> Optional[Path]:
        """The file of the current (or last) staging."""
        return self._file.path

    @property
    def last_frame(self) -> Optional[Frame]:
        """The latest submitted frame (None before the first of a file).

        What a step scan's per-point numbers (the detector's
        frame_sum/mean/max) are made of.
        """
        return self._file.last_frame

    @property
    def frames_set_aside(self) -> int:
        """Frames of the last file that belong to no event, moved by :meth:`close`.

        They are in ``/entry/unassigned`` (see
        :func:`~ophyd_pvcam.storage.layout.set_aside_frames`).
        """
        return self._file.frames_set_aside

    @property
    def frame_shape(self) -> tuple[int, int]:
        """``(height, width)`` of the frames in the file."""
        return self._frame_shape

    @property
    def dtype(self) -> np.dtype:
        """Pixel type of the file's frame dataset."""
        return self._dtype

    @property
    def mode(self) -> str:
        """``"stream"`` or ``"legacy"`` (fixed at :meth:`open`)."""
        return self._mode

    @staticmethod
    def _check_mode(mode: str) -> None:
        if mode not in ASSET_MODES:
            raise ValidationError(f"asset_docs must be one of {ASSET_MODES}, got {mode!r}",
                                  call="asset_docs")

    def open(self, frame_shape: tuple[int, int], dtype: Any, *, run_uid: Optional[str] = None,
             mode: str = "stream", attributes: Optional[Mapping[str, Any]] = None,
             region_shapes: Sequence[tuple[int, int]] = ()) -> Path:
        """Create the file for this staging and reset the document state.

        Parameters
        ----------
        frame_shape : tuple of int
            ``(height, width)`` of every frame.
        dtype : numpy dtype-like
            Pixel type.
        run_uid : str, optional
            The bluesky run uid for the file name; a fresh uuid4 when missing.
        mode : {"stream", "legacy"}
            Which documents to produce.
        attributes : mapping, optional
            Camera configuration stored in the file.
        region_shapes : sequence of (int, int)
            ``(h, w)`` of regions 2, 3, ... of multi-ROI frames: one dataset
            each in the file and, in stream mode, one data key each
            (:meth:`region_keys`).

        Returns
        -------
        pathlib.Path
            The file created.

        Raises
        ------
        ValidationError
            For an unknown ``mode``.
        StorageError
            If the file cannot be created.
        """
        self._check_mode(mode)
        region_shapes = tuple((int(h), int(w)) for h, w in region_shapes)
        if region_shapes and mode != "stream":
            raise ValidationError(f"{self.device_name}: several regions need asset_docs='stream' "
                                  f"(legacy documents hold one image per event)",
                                  call="asset_docs")
        with self._lock:
            if self._file.is_open:
                raise RuntimeError(f"{self.device_name}: a file is already open ({self.path})")
            self._reset_documents(mode, frame_shape, dtype)
            self._region_shapes = region_shapes
            path = make_file_path(self.root, self.template, run_uid=run_uid or str(uuid.uuid4()),
                                  device=self.device_name)
            return self._file.create(path, self._frame_shape, self._dtype,
                                     compression=self.compression, queue_size=self.queue_size,
                                     flush_interval=self.flush_interval, attributes=attributes,
                                     roi_shapes=region_shapes)

    def adopt(self, writer: FrameFileWriter, path: Union[str, Path], frame_shape: tuple[int, int],
              dtype: Any, *, mode: str = "stream") -> Path:
        """Document a file that ``writer`` writes (not created here); reset the document state.

        The hook for a file written elsewhere: the EPICS client adopts the
        file its server writes, with a ``writer`` whose ``frames_written`` is
        the server's flushed-frame count, and records when it saw frames
        arrive with :meth:`extend_frame_times`. Everything else (documents,
        :meth:`close` and its set-aside) is as for :meth:`open`.

        Parameters
        ----------
        writer : FrameFileWriter
            Stands for the file's writer (see :class:`~ophyd_pvcam.device.assetfile.FrameFileWriter`).
        path : path-like
            The file as this process (and the catalog) can read it.
        frame_shape : tuple of int
        dtype : numpy dtype-like
        mode : {"stream", "legacy"}

        Returns
        -------
        pathlib.Path

        Raises
        ------
        ValidationError
            For an unknown ``mode``.
        RuntimeError
            While a file is open.
        """
        self._check_mode(mode)
        with self._lock:
            if self._file.is_open:
                raise RuntimeError(f"{self.device_name}: a file is already open ({self.path})")
            self._reset_documents(mode, frame_shape, dtype)
            return self._file.adopt(writer, path)

    def extend_frame_times(self, count: int, when: float) -> None:
        """Time the frames up to file index ``count - 1`` not yet timed at ``when`` (an adopted file).

        Parameters
        ----------
        count : int
            Frames now in the file.
        when : float
            Host time they were seen.
        """
        with self._lock:
            self._file.extend_frame_times(count, when)

    def reset(self) -> None:
        """Forget the last file's frame count and documents (a new staging starts).

        The last :attr:`path` stays until the next :meth:`open`.

        Raises
        ------
        RuntimeError
            While a file is open.
        """
        with self._lock:
            if self._file.is_open:
                raise RuntimeError(f"{self.device_name}: a file is open ({self.path})")
            self._reset_documents(self._mode, self._frame_shape, self._dtype)
            self._file.forget()

    def submit(self, frame: Frame) -> None:
        """Queue one frame for the file (blocks while the writer queue is full).

        Parameters
        ----------
        frame : Frame
            A frame from the engine.
        """
        self._file.submit(frame)

    def submit_block(self, block: FrameBlock,
                     on_written: Optional[Callable[[], None]] = None) -> None:
        """Queue a block of frames for the file (blocks while the writer queue is full).

        Parameters
        ----------
        block : FrameBlock
            Consecutive frames from the engine.
        on_written : callable, optional
            Called from the writer thread once the block is in the file
            (e.g. ``block.release``); see
            :meth:`~ophyd_pvcam.storage.hdf5.HDF5FrameWriter.submit_block`.
        """
        self._file.submit_block(block, on_written=on_written)

    def frame_time(self, index: int) -> float:
        """Return the host time of the frame at file index ``index``.

        Parameters
        ----------
        index : int

        Returns
        -------
        float
            ``time.time()`` when the engine copied the frame out of the SDK.
        """
        return self._file.frame_time(index)

    def flush(self, timeout: Optional[float] = None) -> int:
        """Write and flush every submitted frame; return the frames in the file.

        Parameters
        ----------
        timeout : float, optional
            Longest wait [s].

        Returns
        -------
        int
        """
        return self._file.flush(timeout)

    @property
    def frames_written(self) -> int:
        """Frames flushed to the file so far."""
        return self._file.frames_written

    @property
    def error(self) -> Optional[Exception]:
        """The writer thread's error, if it failed."""
        return self._file.error

    def close(self, timeout: Optional[float] = None) -> int:
        """Flush and close the file (idempotent); return the frames its events cover.

        In stream mode, once documents point at the file, frames that belong
        to no documented event (a point interrupted by a stall, an unplug or
        ``RE.stop()`` between trigger and read) are moved to
        ``/entry/unassigned`` (counted in :attr:`frames_set_aside`), so the
        run reads back through the catalog whatever ended it.

        Parameters
        ----------
        timeout : float, optional
            Longest wait [s] for the queue to drain.

        Returns
        -------
        int
        """
        with self._lock:
            if not self._file.is_open:
                return self._file.frames_written
            closed = self._file.close(timeout)
            # Once a run's StreamResource points at the file, every frame in the
            # frame dataset must belong to a documented event, or the catalog
            # cannot reshape the dataset and the whole run becomes unreadable.
            # Files no document points at (manual staging) stay as written.
            if self._mode == "stream" and self._stream is not None and self._stream.resource_sent:
                closed = self._file.set_aside(self._stream.events_documented * self._frames_per_event)
            return closed

    # -- events ------------------------------------------------------------
    @property
    def frames_per_event(self) -> int:
        """Frames per bluesky event (row)."""
        return self._frames_per_event

    def set_frames_per_event(self, frames: int) -> None:
        """Fix how many frames make one event (before the first document).

        Parameters
        ----------
        frames : int
            ``frames_per_trigger`` for step scans, 1 for fly scans.

        Raises
        ------
        ValidationError
            When documents were already produced with another value (the
            descriptor's shape is fixed within a staging), or for several
            frames per event in legacy mode (the ``PVCAM_HDF5`` handler reads
            one frame per datum).
        """
        frames = int(frames)
        with self._lock:
            if frames == self._frames_per_event:
                return
            if self._documents_started():
                raise ValidationError(
                    f"{self.device_name}: frames per event cannot change from "
                    f"{self._frames_per_event} to {frames} within one staging; unstage first",
                    call="frames_per_trigger")
            if frames != 1 and self._mode == "legacy":
                raise ValidationError(
                    f"{self.device_name}: legacy asset documents hold one frame per event; "
                    f"use frames_per_trigger=1 or asset_docs='stream' (got {frames})",
                    call="frames_per_trigger")
            self._frames_per_event = frames

    def set_per_frame_keys(self, per_frame_keys: Mapping[str, str]) -> None:
        """Choose the per-frame fields documented next to the image (stream mode).

        Parameters
        ----------
        per_frame_keys : mapping
            Field -> data key; empty for the image alone.

        Raises
        ------
        StorageError
            For a field the layout does not have.
        RuntimeError
            While a file is open (its documents are fixed).
        """
        keys = dict(per_frame_keys)
        for field in keys:
            per_frame_data_key("", field)   # refuses an unknown field now, not mid-run
        with self._lock:
            if self._file.is_open:
                raise RuntimeError(f"{self.device_name}: per-frame keys cannot change while "
                                   f"a file is open ({self.path})")
            self.per_frame_keys = keys

    def per_frame_data_keys(self, source: str, frames_per_event: int = 1) -> dict[str, Any]:
        """Describe the per-frame fields documented in stream mode.

        Parameters
        ----------
        source : str
            The ``source`` of every key (the image's).
        frames_per_event : int
            Frames per event: shape ``[]`` for 1, ``[n]`` otherwise.

        Returns
        -------
        dict
            Data key -> DataKey, one per entry of ``per_frame_keys``.
        """
        return {key: per_frame_data_key(source, field, frames_per_event=frames_per_event)
                for field, key in self.per_frame_keys.items()}

    def region_keys(self, region_shapes: Sequence[tuple[int, int]]
                    ) -> dict[str, tuple[int, tuple[int, int]]]:
        """Data key of each further region: ``{image_key}_roi<k>`` -> ``(k, (h, w))``.

        Parameters
        ----------
        region_shapes : sequence of (int, int)
            ``(h, w)`` of regions 2, 3, ...
        """
        return {f"{self.image_key}_roi{number}": (number, (int(h), int(w)))
                for number, (h, w) in enumerate(region_shapes, start=2)}

    def get_index(self) -> int:
        """Return the number of complete events in the file.

        Returns
        -------
        int
            ``frames_written // frames_per_event``.
        """
        return self.frames_written // self._frames_per_event

    # -- stream documents --------------------------------------------------
    def collect_stream_docs(self, index: Optional[int] = None) -> Iterator[tuple[str, dict]]:
        """Yield ``stream_resource`` (first time) and one ``stream_datum`` for new events.

        The image's documents come first, then those of each per-frame field
        (same file, same indices).

        Parameters
        ----------
        index : int, optional
            Stop at this event index (bluesky passes the lowest index of
            several devices); defaults to :meth:`get_index`.

        Yields
        ------
        tuple of (str, dict)
        """
        with self._lock:
            available = self.get_index()
            stop = available if index is None else min(int(index), available)
            if self._stream is None:
                if stop <= 0:
                    return
                self._stream = StreamDocuments(
                    self.image_key, self.path, self._frame_shape, self._dtype,
                    self.per_frame_keys,
                    {key: (roi_dataset_path(number), shape) for key, (number, shape)
                     in self.region_keys(self._region_shapes).items()})
            docs = self._stream.collect(stop)
        yield from docs

    # -- legacy documents --------------------------------------------------
    def _legacy_documents(self) -> LegacyDocuments:
        if self._legacy is None:
            self._legacy = LegacyDocuments(self.path)
        return self._legacy

    def datum_id(self, point: int) -> str:
        """Return (creating it on first use) the datum id of event ``point``.

        Parameters
        ----------
        point : int
            0-based event index (= frame index: one frame per event).

        Returns
        -------
        str
        """
        with self._lock:
            return self._legacy_documents().datum_id(point)

    def collect_legacy_docs(self, *, new_events: bool) -> Iterator[tuple[str, dict]]:
        """Yield the ``resource`` (first time) and every ``datum`` not yet yielded.

        Parameters
        ----------
        new_events : bool
            True in a fly scan (bluesky calls this before ``collect()``): make
            datums for every complete event not yet documented, and remember
            them for :meth:`pending_events`. False in a step scan, where
            ``read()`` made the datum.

        Yields
        ------
        tuple of (str, dict)
        """
        with self._lock:
            legacy = self._legacy_documents()
            if new_events:
                legacy.add_events(self.get_index())
            docs = legacy.collect()
        yield from docs

    def pending_events(self) -> list[tuple[int, str]]:
        """Take the events whose datums :meth:`collect_legacy_docs` just yielded.

        Returns
        -------
        list of (int, str)
            ``(event index, datum id)`` pairs, oldest first.
        """
        with self._lock:
            return [] if self._legacy is None else self._legacy.take_pending_events()

    def events(self) -> Iterator[dict[str, Any]]:
        """Yield the legacy fly-scan events for the datums just collected.

        Yields
        ------
        dict
            ``{"time", "data", "timestamps", "filled"}`` with the datum id
            under the image key, timed by the frame's host time.
        """
        key = self.image_key
        for point, datum_id in self.pending_events():
            stamp = self.frame_time(point)
            yield {"time": stamp, "data": {key: datum_id}, "timestamps": {key: stamp},
                   "filled": {key: False}}

    def latest_datum(self) -> Optional[tuple[str, float]]:
        """Return the datum id and time of the last complete event (legacy step scans).

        Returns
        -------
        tuple of (str, float) or None
            None before the first complete event.
        """
        index = self.get_index()
        if index == 0:
            return None
        return self.datum_id(index - 1), self.frame_time(index - 1)
