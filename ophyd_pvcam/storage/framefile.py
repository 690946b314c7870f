"""Append frames to one SWMR HDF5 file, synchronously, from a single thread.

:class:`FrameFile` is the file half of the writer: it creates the layout of
:mod:`.layout`, switches SWMR on, appends blocks of frames and flushes. It
is not thread-safe: :class:`~ophyd_pvcam.storage.hdf5.HDF5FrameWriter` owns
one from its writer thread (and may lend it a pool of encoder threads).

How a block is written
    The frame dataset is grown in large steps (doubling, at least
    :data:`MIN_RESERVE` frames), so most blocks need no resize at all. The
    pixels go in with one pass of direct chunk writes (one frame = one
    chunk, see :mod:`.chunks`): uncompressed frames as they are, compressed
    ones encoded first, in the encoder threads when a pool is given (the
    compression library runs with the GIL released). A filter pipeline the
    codecs do not know is handed to HDF5 as one ``H5Dwrite`` of the block.
    The per-frame metadata (frame numbers, timestamps, losses) are copied
    into numpy buffers and written once per flush, one write per field.

What a reader sees
    After every :meth:`FrameFile.flush` (and at close) every dataset has
    exactly :attr:`FrameFile.frames_flushed` rows: the frame dataset is
    trimmed to the frames stored, the per-frame datasets are extended to
    them. Between flushes a SWMR reader may see the frame dataset longer
    than the frames written (the reserve, read as zeros) and the per-frame
    datasets shorter; documents only ever point at flushed frames. A file
    left by a killed process is in the same state as at its last flush plus
    possibly some unflushed frames: trust the per-frame datasets' length.
"""
from __future__ import annotations

import logging
import os
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional, Sequence, Union

import h5py
import numpy as np

from ophyd_pvcam.engine.frame import Frame
from ophyd_pvcam.engine.frameblock import FrameBlock

from .chunks import ChunkCodec, RawChunks, chunk_codec, frames_contiguous
from .errors import FrameMismatchError
from .layout import METADATA_FIELD_DEFAULTS, PER_FRAME_FIELDS, compression_options, create_layout

__all__ = ["FrameFile", "EncodedFrames", "LIBVER", "MIN_RESERVE", "BLOCK_FIELDS", "metadata_ledger"]

logger = logging.getLogger(__name__)

#: Lowest and highest HDF5 format versions. SWMR needs at least v1.10; using
#: it as the lower bound (instead of "latest") keeps every object in the
#: oldest format that supports SWMR, so readers built on an older HDF5 than
#: the writer's open the file (checked: HDF5 2.0 writes, HDF5 1.14 reads).
LIBVER = ("v110", "latest")

#: Smallest growth of the frame dataset's extent [frames]. Growth doubles the
#: stored length above that, so a run of N frames resizes about log2(N) times.
#: Reserved rows cost no disk space: a chunk is allocated when written.
MIN_RESERVE = 1024

#: Per-frame dataset name -> the :class:`~ophyd_pvcam.engine.frameblock.FrameBlock`
#: ledger array holding its values.
BLOCK_FIELDS: Mapping[str, str] = {
    "frame_number": "frame_numbers",
    "timestamp_bof": "timestamp_bof",
    "timestamp_eof": "timestamp_eof",
    "readout_time": "readout_time",
    "host_time": "host_time",
    "lost_before": "lost_before",
}


def metadata_ledger(metadata: Any, count: int) -> dict[str, np.ndarray]:
    """The per-frame datasets that come from frame metadata headers, for ``count`` frames.

    Parameters
    ----------
    metadata : BlockMetadata or None
        The decoded headers (:class:`~ophyd_pvcam.engine.metadata.BlockMetadata`);
        None gives each field's no-metadata value
        (:data:`~ophyd_pvcam.storage.layout.METADATA_FIELD_DEFAULTS`).
    count : int
        Frames.

    Returns
    -------
    dict of str to numpy.ndarray
    """
    if metadata is None:
        return {name: np.full(count, value, dtype=PER_FRAME_FIELDS[name][0])
                for name, value in METADATA_FIELD_DEFAULTS.items()}
    return {"count_time": np.asarray(metadata.exposure_seconds, dtype="<f8"),
            "camera_frame_number": np.array(metadata.camera_frame_numbers, dtype="<i8"),
            "timestamp_bof_camera": np.array(metadata.timestamp_bof, dtype="<i8"),
            "timestamp_eof_camera": np.array(metadata.timestamp_eof, dtype="<i8"),
            "timestamp_resolution": np.array(metadata.timestamp_resolution_ps, dtype="<i8")}


class EncodedFrames:
    """Frames on their way into a :class:`FrameFile`: the pixels and their chunks.

    Made by :meth:`FrameFile.encode`; the chunks of compressed frames may
    still be computing in encoder threads. Holds a reference to the pixels
    until written.

    Attributes
    ----------
    count : int
        Number of frames.
    rows : numpy.ndarray or list
        The pixels.
    """

    __slots__ = ("count", "rows", "_chunks", "_futures")

    def __init__(self, count: int, *, rows: Any, chunks: Optional[list] = None,
                 futures: Optional[list[Future]] = None):
        self.count = int(count)
        self.rows = rows
        self._chunks = chunks
        self._futures = futures

    def chunk_lists(self) -> Iterator[list]:
        """Yield the chunk buffers slice by slice, in frame order (waits for each slice)."""
        if self._chunks is not None:
            yield from self._chunks
        for future in self._futures or ():
            yield future.result()


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
    encoder : concurrent.futures.Executor, optional
        Threads that compress frames (see :mod:`.chunks`); without it the
        calling thread compresses. Unused for uncompressed files.
    encoder_threads : int
        How many slices a block is cut into for ``encoder`` (its worker count).
    roi_shapes : sequence of (int, int)
        ``(h, w)`` of regions 2, 3, ... of multi-ROI frames (one dataset each,
        :func:`~ophyd_pvcam.storage.layout.roi_dataset_path`); their pixels
        come from ``FrameBlock.rois`` / ``Frame.rois`` and are written with the
        ledger, batched per flush.
    """

    def __init__(
        self,
        path: Union[str, os.PathLike],
        frame_shape: tuple[int, int],
        dtype: np.dtype,
        *,
        compression: Union[str, Mapping[str, Any], None] = None,
        attributes: Optional[Mapping[str, Any]] = None,
        encoder: Optional[Executor] = None,
        encoder_threads: int = 1,
        roi_shapes: Sequence[tuple[int, int]] = (),
    ):
        self._path = Path(path)
        compression_options(compression)
        self._path.parent.mkdir(parents=True, exist_ok=True)
        # "w-": never overwrite an existing acquisition.
        self._file: Optional[h5py.File] = h5py.File(self._path, "w-", libver=LIBVER)
        try:
            self._data, self._per_frame = create_layout(
                self._file, frame_shape, np.dtype(dtype),
                compression=compression, attributes=attributes, roi_shapes=roi_shapes)
            # All objects and attributes exist now; SWMR forbids creating more.
            self._file.swmr_mode = True
        except BaseException:
            self._file.close()
            self._file = None
            raise
        self._frame_shape = (int(frame_shape[0]), int(frame_shape[1]))
        self._dtype = np.dtype(dtype)
        self._codec: Optional[ChunkCodec] = chunk_codec(self._data)
        self._encoder = encoder
        self._encoder_threads = max(1, int(encoder_threads))
        self._capacity = 0
        # Per-frame values stored but not yet written: name -> list of arrays.
        self._pending: dict[str, list[np.ndarray]] = {name: [] for name in self._per_frame}
        self.frames_stored = 0
        self.frames_flushed = 0
        self.bytes_stored = 0
        self.chunk_bytes_stored = 0
        self.resizes = 0

    @property
    def path(self) -> Path:
        """The file."""
        return self._path

    @property
    def closed(self) -> bool:
        """``True`` once :meth:`close` has run."""
        return self._file is None

    @property
    def codec(self) -> Optional[ChunkCodec]:
        """How chunks are produced: a :class:`~ophyd_pvcam.storage.chunks.ChunkCodec`,
        or ``None`` when HDF5 applies the dataset's filters itself."""
        return self._codec

    def append(self, frames: Sequence[Frame]) -> None:
        """Append frames and their per-frame metadata (not yet flushed).

        The frames go through the same path as a block: one ledger
        conversion per field, one pass of chunk writes.

        Parameters
        ----------
        frames : sequence of Frame
            Frames whose data match the dataset's shape and dtype.
        """
        if not frames:
            return
        ledger = self.frames_ledger(frames)
        self.append_encoded(self.encode(self.frames_pixels(frames)), ledger)

    def append_block(self, block: FrameBlock) -> None:
        """Append a block's frames and ledger (not yet flushed).

        When this returns the pixels are in the file (HDF5 holds no
        reference to ``block.data``) and the ledger has been copied, so the
        caller may :meth:`~ophyd_pvcam.engine.frameblock.FrameBlock.release`
        the block.

        Parameters
        ----------
        block : FrameBlock
            Frames of the dataset's shape and dtype.
        """
        if len(block) == 0:
            return
        ledger = self.block_ledger(block)
        self.append_encoded(self.encode(block.data), ledger)

    # -- the two steps of an append, for a caller that overlaps them --------
    @staticmethod
    def frames_ledger(frames: Sequence[Frame]) -> dict[str, np.ndarray]:
        """The per-frame dataset values of ``frames``, one array per field.

        Raises
        ------
        ValueError, TypeError
            For a value that does not convert to the field's dtype.
        """
        count = len(frames)
        ledger = {name: np.fromiter((getattr(f, name) for f in frames),
                                    dtype=PER_FRAME_FIELDS[name][0], count=count)
                  for name in BLOCK_FIELDS}
        with_md = [f.metadata for f in frames if f.metadata is not None]
        if with_md and len(with_md) == count:
            ledger.update(metadata_ledger(type(with_md[0]).concatenate(with_md), count))
        else:
            ledger.update(metadata_ledger(None, count))
        rois = frames[0].rois or ()
        for number in range(2, len(rois) + 1):
            ledger[f"@roi{number}"] = np.stack([f.rois[number - 1] for f in frames])
        return ledger

    @staticmethod
    def block_ledger(block: FrameBlock) -> dict[str, np.ndarray]:
        """A copy of ``block``'s ledger as per-frame dataset values (the block may be reused)."""
        ledger = {name: np.array(getattr(block, BLOCK_FIELDS[name]),
                                 dtype=PER_FRAME_FIELDS[name][0], copy=True)
                  for name in BLOCK_FIELDS}
        ledger.update(metadata_ledger(block.metadata, len(block)))
        for number, pixels in enumerate((block.rois or ())[1:], start=2):
            ledger[f"@roi{number}"] = np.array(pixels, copy=True)  # regions 2, 3, ...
        return ledger

    def frames_pixels(self, frames: Sequence[Frame]) -> Union[np.ndarray, list]:
        """The pixels of ``frames`` as :meth:`encode` takes them: a list, no copy.

        Only a filter pipeline that HDF5 applies itself gets one stacked copy
        (one ``H5Dwrite`` for the batch).
        """
        if self._codec is None:
            return np.stack([f.data for f in frames])
        return [np.ascontiguousarray(f.data) for f in frames]

    def encode(self, rows: Union[np.ndarray, Sequence[np.ndarray]]) -> "EncodedFrames":
        """Start turning ``rows`` (frames) into chunks; no HDF5 call is made.

        Compressed frames are handed to the encoder threads (one slice per
        thread) and this returns at once: several blocks can be compressing
        while an earlier one is written. Pass the result to
        :meth:`append_encoded`, in order.

        Parameters
        ----------
        rows : numpy.ndarray or sequence of numpy.ndarray
            ``(n, H, W)`` frames, or a list of ``(H, W)`` frames (not stacked).

        Returns
        -------
        EncodedFrames
        """
        codec = self._codec
        if not isinstance(rows, list) and not frames_contiguous(rows):
            # A chunk must be contiguous bytes: a view with strided frames is
            # copied once here (frames that are each contiguous, e.g. read in
            # place between their metadata headers, are written as they lie).
            rows = np.ascontiguousarray(rows)
        if codec is None or isinstance(codec, RawChunks):
            return EncodedFrames(len(rows), rows=rows)
        frames = rows
        slices = self._slices(len(frames))
        if self._encoder is None:
            return EncodedFrames(len(frames), rows=frames, chunks=[codec.encode(frames)])
        return EncodedFrames(len(frames), rows=frames, futures=[
            self._encoder.submit(codec.encode, frames[a:b]) for a, b in slices])

    def append_encoded(self, encoded: "EncodedFrames", ledger: Mapping[str, np.ndarray]) -> None:
        """Write frames started with :meth:`encode`, and queue their ledger for the next flush.

        Parameters
        ----------
        encoded : EncodedFrames
            From :meth:`encode` (waits for its chunks if still compressing).
        ledger : mapping
            Per-frame field -> values (:meth:`frames_ledger`, :meth:`block_ledger`).
        """
        count = encoded.count
        if count == 0:
            return
        pending = self._pending
        regions = {name for name in pending if name[0] == "@"}
        carried = {name for name in ledger if name[0] == "@"}
        if carried != regions:  # checked before anything is written
            raise FrameMismatchError(f"{self._path}: the file holds {len(regions) + 1} region(s) "
                                     f"per frame, the frames carry {len(carried) + 1}",
                                     call="append")
        start = self.frames_stored
        self._reserve(start + count)
        self._write_pixels(start, encoded)
        for name, values in ledger.items():
            pending[name].append(values)
        self.frames_stored = start + count
        self.bytes_stored += count * self._frame_bytes()

    def _frame_bytes(self) -> int:
        return self._frame_shape[0] * self._frame_shape[1] * self._dtype.itemsize

    def _reserve(self, stop: int) -> None:
        # A chunk can only be written inside the dataset's current extent.
        if stop <= self._capacity:
            return
        capacity = max(stop, 2 * self.frames_stored, MIN_RESERVE)
        self._data.resize(capacity, axis=0)
        self._capacity = capacity
        self.resizes += 1

    def _write_pixels(self, start: int, encoded: "EncodedFrames") -> None:
        codec = self._codec
        rows = encoded.rows
        if codec is None:
            # A pipeline only HDF5 can apply: one write for the whole block.
            self._data[start:start + len(rows)] = np.asarray(rows)
            self.chunk_bytes_stored += len(rows) * self._frame_bytes()
            return
        write = self._data.id.write_direct_chunk
        if isinstance(codec, RawChunks):
            # One frame = one chunk: hand HDF5 the bytes as the chunk,
            # skipping its type conversion and selection machinery.
            for offset, row in enumerate(rows):
                write((start + offset, 0, 0), row)
            self.chunk_bytes_stored += len(rows) * self._frame_bytes()
            return
        index = start
        for chunks in encoded.chunk_lists():
            for chunk in chunks:
                write((index, 0, 0), chunk)
                self.chunk_bytes_stored += len(chunk)
                index += 1

    def _slices(self, count: int) -> list[tuple[int, int]]:
        pieces = min(count, self._encoder_threads if self._encoder is not None else 1)
        edges = np.linspace(0, count, pieces + 1).astype(int)
        return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]

    def flush(self) -> int:
        """Write the pending metadata, trim, and flush so SWMR readers see every stored frame.

        Returns
        -------
        int
            :attr:`frames_flushed`: every dataset now has exactly this many rows.
        """
        if self._file is None or self.frames_stored == self.frames_flushed:
            return self.frames_flushed
        stop = self.frames_stored
        if self._capacity != stop:
            self._data.resize(stop, axis=0)
            self._capacity = stop
            self.resizes += 1
        for name, dataset in self._per_frame.items():
            pending = self._pending[name]
            values = pending[0] if len(pending) == 1 else np.concatenate(pending)
            first = len(dataset)
            dataset.resize(stop, axis=0)
            dataset[first:stop] = values
            pending.clear()
        self._file.flush()
        self.frames_flushed = stop
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
