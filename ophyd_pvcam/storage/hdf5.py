"""Write frames to one HDF5 file from a dedicated thread (chunked, optionally compressed, SWMR).

The acquisition side hands blocks of frames
(:class:`~ophyd_pvcam.engine.frameblock.FrameBlock`) to
:meth:`HDF5FrameWriter.submit_block`, or single
:class:`~ophyd_pvcam.engine.frame.Frame` records to
:meth:`HDF5FrameWriter.submit`; a named writer thread takes them from a
bounded queue and appends them to ``/entry/data/data`` (one frame per chunk)
plus one value per frame to each per-frame dataset (see :mod:`.layout` and,
for how a block is written, :mod:`.framefile`). Frames submitted one by one
take the same path: the writer gathers the frames waiting in the queue into
one batch per pass.

Back-pressure policy
    The queue is bounded in **bytes** of pixels, ``queue_bytes``: the bytes
    of every queued item plus those of the item being written. The default,
    :func:`default_queue_bytes`, is :data:`QUEUE_SHARE` of the host memory
    budget (:func:`~ophyd_pvcam.engine.budget.host_memory_budget`); the
    engine's host frame ring takes the rest. A block that is a view into the
    ring costs no memory beyond the ring's own, but it counts against the
    bound like any other block, so the writer can never hold more than
    ``queue_bytes`` of ring or copied frames. ``queue_size`` adds an
    optional bound in frames waiting (the old frame-count queue). When the
    queue is full, ``submit``/``submit_block`` **block** until the writer has
    made room, or raise :class:`StorageError` after ``timeout`` seconds if
    one was given. Frames are never dropped by the writer: a caller that
    cannot block (a camera's frame loop) decides itself what to do on a
    timeout, and the loss is then visible to it. One item bigger than the
    whole bound is accepted when the queue is empty.

Ring memory
    ``submit_block(block, on_written=...)`` calls ``on_written()`` from the
    writer thread once the block's pixels are in the file (handed to HDF5,
    which keeps no reference) and its ledger copied; the caller typically
    passes ``block.release``. The writer never touches the block after that.

Durability policy
    The file is in SWMR mode: other processes may read it while it grows.
    The writer flushes whenever frames have waited ``flush_interval`` seconds
    unflushed, on :meth:`~HDF5FrameWriter.flush` and at close; every flush
    writes the per-frame metadata and trims the frame dataset, so after it
    every dataset has exactly :attr:`~HDF5FrameWriter.frames_written` rows.
    :attr:`~HDF5FrameWriter.frames_written` counts flushed frames only, so
    documents that point at ``frames_written`` frames never point past what
    a reader (or a file left behind by a killed process) holds.

Compression
    Frames are compressed in ``encoder_threads`` worker threads (named
    ``pvcam-hdf5-encoder[<file>]``) by the compression library of the
    hdf5plugin filter, called with the GIL released (:mod:`.chunks`), and
    stored with direct chunk writes.

Errors
    An exception in the writer thread is stored (:attr:`~HDF5FrameWriter.error`),
    the thread keeps emptying the queue (so ``submit`` never blocks forever;
    blocks queued behind the failure are dropped without ``on_written``)
    and flushes what it can; the error is re-raised as :class:`StorageError`
    from every later ``submit``, ``submit_block``, ``flush`` and ``close``.
"""
from __future__ import annotations

import collections
import logging
import os
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence, Union

import numpy as np

from ophyd_pvcam.engine.errors import ValidationError
from ophyd_pvcam.engine.frame import Frame
from ophyd_pvcam.engine.frameblock import FrameBlock

from .bytequeue import ByteQueue
from .errors import FrameMismatchError, StorageError, WriterStateError
from .framefile import FrameFile
from .layout import attribute_value, compression_options
from .writeropts import QUEUE_SHARE, WriterStats, default_encoder_threads, default_queue_bytes

__all__ = ["HDF5FrameWriter", "WriterStats", "StorageError", "QUEUE_SHARE",
           "default_queue_bytes", "default_encoder_threads"]

logger = logging.getLogger(__name__)

# Per pass, the writer writes at most this many bytes of queued frames and
# blocks (consecutive single frames as one batch), then checks whether a flush
# is due: a steady flow of blocks still gets flushed every flush_interval.
_MAX_BATCH_BYTES = 64 * 1024 ** 2
# How often a blocked submit/close re-checks whether the writer died.
_POLL_S = 0.1
# Seconds the encoder threads have to start (each waits at a barrier for the others).
_ENCODER_START_S = 30.0


class _Stop:
    """Queue item: drain, flush, close."""


@dataclass
class _FlushRequest:
    """Queue item: flush everything before me, then set ``done``."""

    done: threading.Event


@dataclass
class _BlockItem:
    """Queue item: a block and what to call once its pixels are in the file."""

    block: FrameBlock
    on_written: Optional[Callable[[], None]]


class HDF5FrameWriter:
    """Append frames to a new NeXus/HDF5 file from a dedicated thread.

    Parameters
    ----------
    path : path-like
        File to create; parent directories are created. An existing file is
        never overwritten (``start`` raises).
    frame_shape : tuple of int
        ``(height, width)`` of every frame.
    dtype : numpy dtype-like
        Pixel type (``uint16``, or ``uint8`` for 8-bit modes).
    compression : str, mapping or None
        ``None``/``"none"`` (direct chunk writes), ``"bitshuffle-lz4"``,
        ``"blosc"`` or an ``hdf5plugin`` filter object; see
        :func:`~ophyd_pvcam.storage.layout.compression_options`. Compressed
        files need ``import hdf5plugin`` in the reader.
    queue_size : int, optional
        Most frames waiting in the queue before a submit blocks, in addition
        to ``queue_bytes``; ``None`` (default): bounded by bytes only.
    flush_interval : float
        Longest time [s] a stored frame waits before the file is flushed.
    attributes : mapping, optional
        Camera configuration, stored as attributes of ``/entry/instrument/pvcam``.
    queue_bytes : int, optional
        Most pixel bytes the writer holds (queued plus being written) before
        a submit blocks; default
        :func:`~ophyd_pvcam.storage.writeropts.default_queue_bytes` (a share
        of the host memory budget).
    encoder_threads : int, optional
        Threads compressing frames (compressed files only); default
        :func:`~ophyd_pvcam.storage.writeropts.default_encoder_threads`.
    roi_shapes : sequence of (int, int)
        ``(h, w)`` of regions 2, 3, ... when frames hold several regions (see
        :class:`~ophyd_pvcam.storage.framefile.FrameFile`).

    Examples
    --------
    >>> writer = HDF5FrameWriter("run.h5", (2048, 2048), "uint16")  # doctest: +SKIP
    >>> writer.start()                                              # doctest: +SKIP
    >>> for block in blocks:                                        # doctest: +SKIP
    ...     writer.submit_block(block, on_written=block.release)
    >>> writer.close()                                              # doctest: +SKIP
    """

    def __init__(
        self,
        path: Union[str, os.PathLike],
        frame_shape: tuple[int, int],
        dtype: Any,
        *,
        compression: Union[str, Mapping[str, Any], None] = None,
        queue_size: Optional[int] = None,
        flush_interval: float = 1.0,
        attributes: Optional[Mapping[str, Any]] = None,
        queue_bytes: Optional[int] = None,
        encoder_threads: Optional[int] = None,
        roi_shapes: Sequence[tuple[int, int]] = (),
    ):
        self._path = Path(path)
        self._roi_shapes = tuple((int(h), int(w)) for h, w in roi_shapes)
        if len(frame_shape) != 2 or min(frame_shape) < 1:
            raise FrameMismatchError(f"frame_shape must be (height, width), got {frame_shape!r}",
                                     call="HDF5FrameWriter")
        self._frame_shape = (int(frame_shape[0]), int(frame_shape[1]))
        self._dtype = np.dtype(dtype)
        if queue_size is not None and queue_size < 1:
            raise ValidationError(f"queue_size must be >= 1, got {queue_size}",
                                  call="HDF5FrameWriter")
        if queue_bytes is not None and queue_bytes < 1:
            raise ValidationError(f"queue_bytes must be >= 1, got {queue_bytes}",
                                  call="HDF5FrameWriter")
        if encoder_threads is not None and encoder_threads < 1:
            raise ValidationError(f"encoder_threads must be >= 1, got {encoder_threads}",
                                  call="HDF5FrameWriter")
        if flush_interval < 0:
            raise ValidationError(f"flush_interval must be >= 0, got {flush_interval}",
                                  call="HDF5FrameWriter")
        # Resolve the filter and convert attributes now, so a bad option fails
        # in the caller's thread instead of later in the writer's.
        self._compression = compression
        self._compressed = bool(compression_options(compression))
        self._attributes = {str(k): attribute_value(v) for k, v in (attributes or {}).items()}
        self._flush_interval = float(flush_interval)
        self._queue = ByteQueue(default_queue_bytes() if queue_bytes is None else int(queue_bytes),
                                None if queue_size is None else int(queue_size))
        self._encoder_threads = (default_encoder_threads() if encoder_threads is None
                                 else int(encoder_threads))
        self._encoder: Optional[ThreadPoolExecutor] = None
        self._thread: Optional[threading.Thread] = None
        self._ready = threading.Event()
        self._closed = False
        self._error: Optional[StorageError] = None
        self._stats = WriterStats()
        self._stats_lock = threading.Lock()
        self._submit_lock = threading.Lock()
        # Owned by the writer thread; _flushed is also read by other threads.
        self._file: Optional[FrameFile] = None
        self._flushed = 0

    # -- public properties -------------------------------------------------
    @property
    def path(self) -> Path:
        """Path of the file being written."""
        return self._path

    @property
    def frame_shape(self) -> tuple[int, int]:
        """``(height, width)`` of every frame."""
        return self._frame_shape

    @property
    def dtype(self) -> np.dtype:
        """Pixel type of the frame dataset."""
        return self._dtype

    @property
    def compression(self) -> Union[str, Mapping[str, Any], None]:
        """The compression option given at construction."""
        return self._compression

    @property
    def queue_bytes(self) -> int:
        """Most pixel bytes the writer holds before a submit blocks."""
        return self._queue.max_bytes

    @property
    def frames_written(self) -> int:
        """Frames flushed to the file (what readers and documents may rely on)."""
        return self._flushed

    @property
    def error(self) -> Optional[StorageError]:
        """The first error of the writer thread, or ``None``."""
        return self._error

    @property
    def running(self) -> bool:
        """``True`` between ``start`` and the end of the writer thread."""
        return self._thread is not None and self._thread.is_alive()

    def stats(self) -> WriterStats:
        """Return a snapshot of the writer's counters.

        Returns
        -------
        WriterStats
            A copy; later activity does not change it.
        """
        with self._stats_lock:
            snapshot = WriterStats(**vars(self._stats))
        if self._file is not None:
            snapshot.frames_stored = self._file.frames_stored
            snapshot.bytes_stored = self._file.bytes_stored
            snapshot.chunk_bytes_stored = self._file.chunk_bytes_stored
        snapshot.frames_written = self._flushed
        snapshot.queue_bytes_high_water = self._queue.bytes_high_water
        return snapshot

    # -- caller side -------------------------------------------------------
    def start(self) -> "HDF5FrameWriter":
        """Create the file and start the writer thread.

        Returns
        -------
        HDF5FrameWriter
            ``self``, so ``writer = HDF5FrameWriter(...).start()`` works.

        Raises
        ------
        StorageError
            If the file exists already or cannot be created.
        WriterStateError
            If called twice.
        """
        if self._thread is not None:
            raise WriterStateError(f"writer for {self._path} already started", call="start")
        self._thread = threading.Thread(
            target=self._run, name=f"pvcam-hdf5-writer[{self._path.name}]", daemon=True
        )
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            self._thread.join()
            self._closed = True
            raise self._error
        logger.info("writing %s (%dx%d %s, compression=%s)", self._path, *self._frame_shape,
                    self._dtype, self._compression)
        return self

    def submit(self, frame: Frame, timeout: Optional[float] = None) -> None:
        """Queue one frame for writing; blocks while the queue is full.

        Parameters
        ----------
        frame : Frame
            The frame; ``frame.data`` must have the writer's shape and dtype.
            The writer keeps a reference until the frame is stored: the
            caller must not reuse ``frame.data``'s memory before then.
        timeout : float, optional
            Longest wait [s] for room in the queue; ``None`` waits as long as
            the writer is alive.

        Raises
        ------
        FrameMismatchError
            If the frame's shape or dtype differs from the dataset's.
        StorageError
            The writer thread's error, or the queue stayed full for ``timeout``.
        WriterStateError
            Before ``start`` or after ``close``.
        """
        self._raise_if_failed()
        data = frame.data
        if data.shape != self._frame_shape or data.dtype != self._dtype:
            raise FrameMismatchError(
                f"frame {frame.frame_number} is {data.shape} {data.dtype}, the file holds "
                f"{self._frame_shape} {self._dtype}", call="submit")
        self._put(frame, data.nbytes, 1, timeout, call="submit")
        with self._stats_lock:
            self._stats.frames_submitted += 1
            self._stats.queue_high_water = max(self._stats.queue_high_water, len(self._queue))

    def submit_block(self, block: FrameBlock, timeout: Optional[float] = None,
                     on_written: Optional[Callable[[], None]] = None) -> None:
        """Queue a block of frames for writing; blocks while the queue is full.

        Parameters
        ----------
        block : FrameBlock
            The frames and their ledger; ``block.data`` must be
            ``(n, height, width)`` of the writer's dtype.
        timeout : float, optional
            Longest wait [s] for room in the queue; ``None`` waits as long as
            the writer is alive.
        on_written : callable, optional
            Called with no argument from the writer thread once the block's
            pixels are in the file and its ledger copied (e.g.
            ``block.release``): the writer never touches the block again.
            Not called for a block the writer drops after a failure. An
            exception in it fails the writer like a write error.

        Raises
        ------
        FrameMismatchError
            If the block's frame shape or dtype differs from the dataset's.
        StorageError
            The writer thread's error, or the queue stayed full for ``timeout``.
        WriterStateError
            Before ``start`` or after ``close``.
        """
        self._raise_if_failed()
        data = block.data
        if data.ndim != 3 or data.shape[1:] != self._frame_shape or data.dtype != self._dtype:
            raise FrameMismatchError(
                f"block of frames {block.frame_numbers[:1]}.. is {data.shape} {data.dtype}, "
                f"the file holds {self._frame_shape} {self._dtype}", call="submit_block")
        self._put(_BlockItem(block, on_written), data.nbytes, len(block), timeout,
                  call="submit_block")
        with self._stats_lock:
            self._stats.frames_submitted += len(block)
            self._stats.blocks_submitted += 1
            self._stats.queue_high_water = max(self._stats.queue_high_water, len(self._queue))

    def flush(self, timeout: Optional[float] = None) -> int:
        """Write and flush every frame submitted so far, and wait for it.

        Parameters
        ----------
        timeout : float, optional
            Longest wait [s]; ``None`` waits as long as the writer is alive.

        Returns
        -------
        int
            :attr:`frames_written` after the flush.

        Raises
        ------
        StorageError
            The writer thread's error, or the flush did not finish in time.
        WriterStateError
            Before ``start`` or after ``close``.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        request = _FlushRequest(threading.Event())
        self._put(request, 0, 0, timeout, call="flush")
        while not request.done.wait(_POLL_S):
            self._raise_if_failed()
            if not self.running:
                raise StorageError(f"writer for {self._path} ended before flushing", call="flush")
            if deadline is not None and time.monotonic() >= deadline:
                raise StorageError(f"flush of {self._path} did not finish within {timeout} s",
                                   call="flush")
        self._raise_if_failed()
        return self._flushed

    def close(self, timeout: Optional[float] = None) -> int:
        """Write every queued frame, flush, close the file and join the threads.

        Idempotent; safe to call from any thread except the writer's.

        Parameters
        ----------
        timeout : float, optional
            Longest wait [s] for the queue to drain; ``None`` waits.

        Returns
        -------
        int
            Frames in the closed file.

        Raises
        ------
        StorageError
            The writer thread's error (raised by every call once it happened),
            or the writer did not finish within ``timeout`` (call again to
            keep waiting).
        """
        if self._thread is None:
            self._closed = True
            return 0
        deadline = None if timeout is None else time.monotonic() + timeout
        self._put(_Stop(), 0, 0, timeout, call="close", closing=True)
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        self._thread.join(remaining)
        if self._thread.is_alive():
            raise StorageError(f"writer for {self._path} did not finish within {timeout} s "
                               f"({self._queue.bytes} bytes of frames still queued)", call="close")
        self._raise_if_failed()
        return self._flushed

    def __enter__(self) -> "HDF5FrameWriter":
        if self._thread is None:
            self.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"<HDF5FrameWriter {self._path} {self._frame_shape} {self._dtype} "
                f"written={self._flushed}>")

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def _put(self, item: Any, nbytes: int, frames: int, timeout: Optional[float], *, call: str,
             closing: bool = False) -> None:
        """Put into the queue, waking up regularly to notice a dead writer.

        The lock orders every put against ``close``: nothing can be queued
        behind the stop item, where it would be silently dropped.
        """
        # A submit blocked on a full queue holds the lock; bound that wait too.
        if not self._submit_lock.acquire(timeout=-1 if timeout is None else max(0.0, timeout)):
            raise StorageError(f"another caller kept the queue of {self._path} busy for "
                               f"{timeout} s", call=call)
        try:
            self._put_locked(item, nbytes, frames, timeout, call=call, closing=closing)
        finally:
            self._submit_lock.release()

    def _put_locked(self, item: Any, nbytes: int, frames: int, timeout: Optional[float], *,
                    call: str, closing: bool) -> None:
        if closing:
            if self._closed:
                return
            self._closed = True
        else:
            self._raise_if_failed()
            if self._thread is None or self._closed:
                raise WriterStateError(f"writer for {self._path} is not running", call=call)
        if nbytes == 0 and frames == 0:
            # Control items hold no pixels: they never wait for room.
            self._queue.put_control(item)
            return
        if self._queue.put(item, nbytes, frames, timeout=0):
            return
        with self._stats_lock:
            self._stats.blocked_submits += 1
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self._raise_if_failed()
            if not self.running:
                raise WriterStateError(f"writer for {self._path} is not running", call=call)
            wait = _POLL_S if deadline is None else min(_POLL_S, deadline - time.monotonic())
            if wait <= 0:
                limit = f"{self._queue.max_bytes} bytes"
                if self._queue.max_frames is not None:
                    limit += f" or {self._queue.max_frames} frames"
                raise StorageError(f"queue of {self._path} stayed full for {timeout} s "
                                   f"({limit})", call=call)
            if self._queue.put(item, nbytes, frames, timeout=wait):
                return

    # -- writer thread -----------------------------------------------------
    def _run(self) -> None:
        try:
            if self._compressed:
                self._encoder = self._start_encoder()
            self._file = FrameFile(self._path, self._frame_shape, self._dtype,
                                   compression=self._compression, attributes=self._attributes,
                                   encoder=self._encoder, encoder_threads=self._encoder_threads,
                                   roi_shapes=self._roi_shapes)
        except BaseException as exc:  # noqa: BLE001 - re-raised from start()
            self._fail(exc, "creating the file")
            self._stop_encoder()
            self._ready.set()
            return
        self._ready.set()
        try:
            self._loop()
        except BaseException as exc:  # noqa: BLE001 - re-raised from submit()/close()
            self._fail(exc, f"writing frame {self._file.frames_stored}")
            self._close_file()
            self._drain_after_failure()
            return
        self._close_file()

    def _loop(self) -> None:
        flush_due: Optional[float] = None
        while True:
            wait = None if flush_due is None else max(0.0, flush_due - time.monotonic())
            try:
                entry: Optional[tuple[Any, int]] = self._queue.get(timeout=wait)
            except queue.Empty:
                entry = None
            control, stored = self._write_pass(entry)
            if stored and flush_due is None:
                # The oldest unflushed frame sets the deadline.
                flush_due = time.monotonic() + self._flush_interval
            if control is not None or (flush_due is not None and time.monotonic() >= flush_due):
                self._flush()
                flush_due = None
            if isinstance(control, _FlushRequest):
                control.done.set()
            elif isinstance(control, _Stop):
                return

    def _write_pass(self, entry: Optional[tuple[Any, int]]) -> tuple[Any, bool]:
        """Write what is queued, up to a control item or ``_MAX_BATCH_BYTES``.

        Single frames waiting next to each other become one batch; a block
        is one batch. Compressed batches are encoded ahead: up to
        ``lookahead`` batches compress in the encoder threads while the
        oldest is written, so even one-frame blocks compress in parallel.
        The pass takes no new item after ``_MAX_BATCH_BYTES`` of pixels, so
        a steady flow still gets its interval flushes. Returns the control
        item met (or None) and whether anything was stored.
        """
        frame_file = self._file
        lookahead = self._encoder_threads + 1 if self._encoder is not None else 1
        inflight: collections.deque = collections.deque()
        control = None
        pass_bytes = 0
        stored = False
        while True:
            while len(inflight) < lookahead:
                if entry is None:
                    if control is not None or pass_bytes >= _MAX_BATCH_BYTES:
                        break
                    entry = self._next_entry()
                    if entry is None:
                        break
                item, nbytes = entry
                entry = None
                if isinstance(item, (_Stop, _FlushRequest)):
                    control = item
                    break
                if isinstance(item, _BlockItem):
                    pass_bytes += nbytes
                    inflight.append((frame_file.encode(item.block.data),
                                     frame_file.block_ledger(item.block), nbytes, item))
                    continue
                # Gather the single frames waiting behind this one into one batch.
                frames, frame_bytes = [item], nbytes
                while pass_bytes + frame_bytes < _MAX_BATCH_BYTES:
                    entry = self._next_entry()
                    if entry is None or isinstance(entry[0], (_Stop, _FlushRequest, _BlockItem)):
                        break
                    frames.append(entry[0])
                    frame_bytes += entry[1]
                    entry = None
                pass_bytes += frame_bytes
                ledger = frame_file.frames_ledger(frames)
                inflight.append((frame_file.encode(frame_file.frames_pixels(frames)), ledger,
                                 frame_bytes, None))
            if not inflight:
                return control, stored
            encoded, ledger, nbytes, block_item = inflight.popleft()
            frame_file.append_encoded(encoded, ledger)
            stored = True
            self._queue.done(nbytes)
            if block_item is not None and block_item.on_written is not None:
                block_item.on_written()

    def _next_entry(self) -> Optional[tuple[Any, int]]:
        try:
            return self._queue.get(timeout=0)
        except queue.Empty:
            return None

    def _flush(self) -> None:
        before = self._flushed
        self._flushed = self._file.flush()
        if self._flushed != before:
            with self._stats_lock:
                self._stats.flushes += 1

    def _fail(self, exc: BaseException, what: str) -> None:
        if isinstance(exc, StorageError):
            error = exc
        else:
            error = StorageError(f"{what} in {self._path} failed: {exc!r}", call="HDF5FrameWriter")
            error.__cause__ = exc
        # The error reaches the caller (start/submit/close raise it); the traceback is for --debug.
        logger.debug("HDF5 writer for %s failed while %s", self._path, what, exc_info=exc)
        if self._error is None:
            self._error = error

    def _drain_after_failure(self) -> None:
        # Keep taking items so no submit/close blocks on a full queue; wake
        # flush waiters (they re-check the error) and stop at the sentinel.
        while True:
            item, nbytes = self._queue.get()
            self._queue.done(nbytes)
            if isinstance(item, _FlushRequest):
                item.done.set()
            elif isinstance(item, _Stop):
                return

    def _start_encoder(self) -> ThreadPoolExecutor:
        """The encoder pool with every worker running before the first frame.

        A ThreadPoolExecutor starts a worker per task only while none is idle,
        so a pool whose first slice finished before the second was handed over
        ran on fewer threads than asked; each worker here waits at a barrier
        until all have started.
        """
        pool = ThreadPoolExecutor(max_workers=self._encoder_threads,
                                  thread_name_prefix=f"pvcam-hdf5-encoder[{self._path.name}]")
        barrier = threading.Barrier(self._encoder_threads, timeout=_ENCODER_START_S)
        started = [pool.submit(barrier.wait) for _ in range(self._encoder_threads)]
        try:
            for future in started:
                future.result()
        except threading.BrokenBarrierError:
            pool.shutdown(wait=True)
            raise StorageError(f"{self._encoder_threads} encoder threads for {self._path} did "
                               f"not start within {_ENCODER_START_S} s", call="start") from None
        return pool

    def _stop_encoder(self) -> None:
        if self._encoder is not None:
            self._encoder.shutdown(wait=True)

    def _close_file(self) -> None:
        try:
            if self._error is None:
                self._flush()
            else:
                # Save what can be saved; the first error stays the one reported.
                try:
                    self._flush()
                except Exception:  # noqa: BLE001 - logged, the original error is raised
                    logger.exception("flush after failure of %s failed", self._path)
            self._file.close()
        except BaseException as exc:  # noqa: BLE001 - stored and re-raised from close()
            self._fail(exc, "closing the file")
        finally:
            self._stop_encoder()
