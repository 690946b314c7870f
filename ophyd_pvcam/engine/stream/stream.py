"""Continuous acquisition that never stops silently: :class:`Stream`.

A stream runs a camera in circular-buffer mode. Every frame reaches the
consumer, or its loss is counted with its frame number; a camera that stops
producing ends the stream in ``STALLED`` with a :class:`StallError` that says
what was seen. One loss cannot be seen without EOF callbacks: when polling,
a FrameNr the camera skipped is delivered as a frame with stale contents
(``StreamStats.gaps_detectable`` is False; see :class:`Stream`). The data path::

    SDK thread:   EOF callback -- counter + condition only -->
    frame loop:   wake, drain every frame: get oldest -> copy -> unlock
                  (FrameNr gaps [callbacks only], overwritten slots, overruns: counted)
              --> bounded FrameQueue ("block" or "drop" when the consumer is slower)
              --> get() / iteration              (no consumers)
              --> dispatcher thread -> consumers (add_consumer)

That is the Python frame path (``pump="python"``). By default the native
pump of :mod:`ophyd_pvcam.engine.stream.native` replaces the frame loop's per-frame
work (``pump="auto"``: when its library is built): a C thread drains the SDK
into a host ring sized from the memory budget, the frame-loop thread only
supervises it (:mod:`ophyd_pvcam.engine.stream.nativeloop`), and readers take
frames in blocks (:meth:`Stream.get_block`, :meth:`Stream.add_block_consumer`)
or one by one as before; see docs/explanation/streaming.md.

Example::

    with Camera.open() as camera, Stream(camera, max_frames=100) as stream:
        for frame in stream:
            process(frame.data)
    print(stream.stats().summary())

Threads: ``pvcam-frames-<camera>`` (the frame loop) and, with consumers,
``pvcam-dispatch-<camera>``; both are joined by :meth:`Stream.stop`, which is
idempotent and may be called from any thread, including a consumer.
:class:`StreamState` and the parts of one run (and their statistics snapshot)
live in :mod:`ophyd_pvcam.engine.stream.run`; ``StreamState`` is re-exported here.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Iterator, Optional, Union

import numpy as np

from ophyd_pvcam.engine.stream.bufmode import REJECTED_MODES, mode_name
from ophyd_pvcam.engine.stream.delivery import END
from ophyd_pvcam.engine.stream.dispatch import dispatch_blocks, dispatch_frames, gather
from ophyd_pvcam.engine.errors import AcquisitionError, ValidationError
from ophyd_pvcam.engine.frame import Frame
from ophyd_pvcam.engine.frameblock import FrameBlock
from ophyd_pvcam.engine.stream.frameloop import Outcome
from ophyd_pvcam.engine.stream.native import FramePump
from ophyd_pvcam.engine.stream.stats import StreamStats
from ophyd_pvcam.engine.stream.options import StreamOptions
from ophyd_pvcam.engine.stream.run import StreamRun, StreamState, build_run, snapshot_stats

__all__ = ["Stream", "StreamState", "rejected_buffer_modes"]

logger = logging.getLogger(__name__)


def rejected_buffer_modes(camera: Any) -> dict[str, str]:
    """Buffer modes ``camera`` refused in this process (name -> the refusal).

    Parameters
    ----------
    camera : Camera

    Returns
    -------
    dict of str to str
    """
    return REJECTED_MODES.rejected(camera)


class Stream:
    """Continuous acquisition from an open camera.

    Parameters
    ----------
    camera : Camera
        An open :class:`~ophyd_pvcam.engine.camera.camera.Camera`. Its settings are
        read at :meth:`start` and must not change while the stream runs.
    buffer_mode : {"auto", "overwrite", "no_overwrite"}
        ``"auto"`` tries CIRC_OVERWRITE and falls back to CIRC_NO_OVERWRITE
        when the camera refuses it (remembered per camera); the others force a mode.
    use_callbacks : bool
        True (default): wake on EOF callbacks. They carry every frame's
        ``FRAME_INFO``, so a FrameNr the camera skipped is counted lost
        (``"gap"``, with its number) and frames get the camera's timestamps.
        False: poll ``pl_exp_check_cont_status_ex`` every ``poll_interval``
        and register no EOF callback (for cameras whose callbacks stop).
        Polling cannot detect FrameNrs the camera skipped, because the SDK
        then reports only the latest frame's number: a skipped frame's slot,
        holding what an earlier frame left there, is delivered under the
        skipped number and not counted lost (``StreamStats.gaps_detectable``
        is False, and the start logs a warning). Overwritten frames and
        overruns are counted in both modes. Polled frames carry zero
        timestamps. See the class notes for the measured cost of each mode.
    buffer_seconds : float
        Seconds of frames the SDK circular buffer holds (>= ``min_buffer_frames``).
    min_buffer_frames : int
        Lower bound of the circular buffer, in frames.
    memory_budget : int, optional
        Upper bound of the circular buffer in bytes (default 1 GiB; always < 4 GiB).
    stall_timeout : float, optional
        Seconds without a frame that count as one timeout; default
        ``max(2 s, 10 frame periods)``.
    stall_count : int
        Consecutive timeouts that make a stall.
    max_recoveries : int
        Stalls answered by restarting the acquisition (recorded in the stats)
        before a stall ends the stream.
    queue_size : int, optional
        Frames held between the frame loop and the consumer. Python pump:
        the queue (default 64). Native pump: the host frame ring (default:
        as many frames as ``host_ring_bytes`` holds).
    overflow : {"block", "drop"}
        What happens when the queue (host ring) is full (see
        :mod:`ophyd_pvcam.engine.stream.delivery`). With the native pump ``"block"``
        pauses the drain: frames wait in the SDK buffer, and what the camera
        then overwrites is counted lost by FrameNr.
    max_frames : int, optional
        Complete after this many delivered frames.
    poll_interval : float, optional
        Polling mode: seconds between status checks (default half a frame
        period, within 0.5..10 ms).
    lost_numbers_cap : int
        How many lost / dropped frame numbers the stats keep.
    pump : {"auto", "native", "python"}
        The frame path. ``"native"``: the C pump of
        :mod:`ophyd_pvcam.engine.stream.native` drains the SDK into a host ring
        without Python (no Python runs per frame; a busy interpreter, e.g. a
        long GIL hold, loses nothing the ring can hold). ``"python"``: the
        frame loop of :mod:`ophyd_pvcam.engine.stream.frameloop`. ``"auto"``
        (default): native when its library is built.
    host_ring_bytes : int, optional
        Native pump: bytes of the host ring when ``queue_size`` is not given;
        default the host memory budget
        (:func:`~ophyd_pvcam.engine.budget.host_memory_budget`,
        ``PVCAM_HOST_MEMORY_BUDGET``) minus the SDK buffer. The ring is
        touched lazily: a consumer that keeps up costs a few frames of RAM.
    metadata : bool, optional
        Acquire with PVCAM frame metadata (``PARAM_METADATA_ENABLED``);
        default the camera's :attr:`~ophyd_pvcam.engine.camera.camera.Camera.metadata`
        (on where the camera has it). Frames and blocks then carry the decoded
        headers (``Frame.metadata``, ``FrameBlock.metadata``: the camera's
        FrameNr, BOF/EOF in its clock, the exposure of each frame) and every
        region's pixels (``rois``); ``data`` stays the first region's
        ``(height, width)`` pixels. A missing EOF callback is checked against
        the frame's own header (a lost callback is no lost frame), and a slot
        whose header is not the frame expected there (a FrameNr the camera
        skipped, visible this way even when polling) is counted lost
        (reason ``"gap"``, as a FrameNr gap seen by callbacks; ``"overwritten"``
        when the slot already holds a later frame), never delivered.

    Attributes
    ----------
    camera : Camera

    Notes
    -----
    Callbacks or polling. The default, EOF callbacks, is the only mode that
    sees every frame's number: polling trades the detection of FrameNrs the
    camera skipped (see ``use_callbacks``) for independence from callbacks,
    which is why it exists (the field report's camera whose callbacks
    stopped). Speed is no reason to choose callbacks: in the run recorded in
    ``docs/explanation/performance.md`` (``benchmarks/bench_stream.py``,
    simulated Kinetix, 2 cores) both modes took every frame at the camera's
    maximum for 3200 x 256 (6250 fps) and full frame (500 fps), and at
    3200 x 16 polling held 4 times the zero-loss rate of callbacks (50 000
    against 12 500 fps): it drains frames in batches, while callbacks pay a
    Python call per frame. CPU per frame was within 10 % between the modes
    (polling 5-8 % less on small frames, 6 % more at full frame). Callbacks
    stay the default for gap visibility, per-frame timestamps and latency: a
    callback wakes the frame loop when the frame completes, while polling
    finds it up to one ``poll_interval`` later.
    """

    def __init__(self, camera: Any, *, buffer_mode: Union[str, int] = "auto",
                 use_callbacks: bool = True, buffer_seconds: float = 1.0, min_buffer_frames: int = 8,
                 memory_budget: Optional[int] = None, stall_timeout: Optional[float] = None,
                 stall_count: int = 3, max_recoveries: int = 0, queue_size: Optional[int] = None,
                 overflow: str = "block", max_frames: Optional[int] = None,
                 poll_interval: Optional[float] = None, lost_numbers_cap: int = 1000,
                 pump: str = "auto", host_ring_bytes: Optional[int] = None,
                 metadata: Optional[bool] = None) -> None:
        self.camera = camera
        #: The validated options (:class:`~ophyd_pvcam.engine.stream.options.StreamOptions`).
        self.options = StreamOptions(
            buffer_mode=buffer_mode, use_callbacks=use_callbacks, buffer_seconds=buffer_seconds,
            min_buffer_frames=min_buffer_frames, memory_budget=memory_budget,
            stall_timeout=stall_timeout, stall_count=stall_count, max_recoveries=max_recoveries,
            queue_size=queue_size, overflow=overflow, max_frames=max_frames,
            poll_interval=poll_interval, lost_numbers_cap=lost_numbers_cap, pump=pump,
            host_ring_bytes=host_ring_bytes, metadata=metadata)
        self._lock = threading.RLock()
        self._state = StreamState.IDLE
        self._error: Optional[BaseException] = None
        self._consumers: tuple[Callable[[Frame], Any], ...] = ()
        self._block_consumers: tuple[Callable[[FrameBlock], Any], ...] = ()
        self._done_callbacks: list[Callable[["Stream"], Any]] = []
        self._run: Optional[StreamRun] = None
        self._latest: Optional[Frame] = None

    # ------------------------------------------------------------------ state
    @property
    def state(self) -> StreamState:
        """The current :class:`StreamState`."""
        return self._state

    @property
    def error(self) -> Optional[BaseException]:
        """The error that ended the stream (StallError, CameraRemovedError, ...), else None."""
        return self._error

    @property
    def buffer_mode(self) -> str:
        """The circular-buffer mode in use (``""`` before the first start)."""
        run = self._run
        return mode_name(run.loop.mode) if run is not None else ""

    @property
    def latest_frame(self) -> Optional[Frame]:
        """The most recently delivered frame (for previews), None before the first."""
        return self._latest

    def __repr__(self) -> str:
        return f"<Stream {getattr(self.camera, 'name', '?')} {self._state.name}>"

    # ------------------------------------------------------------------ consumers
    def add_consumer(self, consumer: Callable[[Frame], Any]) -> None:
        """Have ``consumer(frame)`` called for every frame, on the dispatcher thread.

        Register consumers before :meth:`start`; a running stream accepts more
        only if it already dispatches to consumers. A consumer that raises
        ends the stream in ``FAILED`` (the other consumers keep receiving the
        frames already retrieved). Consumers may call :meth:`stop`.

        Parameters
        ----------
        consumer : callable
            Receives each :class:`Frame`; owns ``frame.data`` (it may hand it
            back with :meth:`release`).

        Raises
        ------
        ValidationError
            When the stream is running with get()/iteration delivery.
        """
        with self._lock:
            run = self._run_taking_consumers("add_consumer")
            self._consumers = self._consumers + (consumer,)
            if run is not None:
                run.consumers = run.consumers + (consumer,)

    def add_block_consumer(self, consumer: Callable[[FrameBlock], Any]) -> None:
        """Have ``consumer(block)`` called with every batch of frames, on the dispatcher thread.

        Like :meth:`add_consumer`, for consumers that work on many frames at
        once (a writer, statistics). With the native pump the block's
        ``data`` is a view into the host ring: the consumer MUST call
        ``block.release()`` when done with it (or keep ``block.retain()``),
        since held slots stop the drain once the ring is full. Several block
        consumers share one block; its slots are freed once all released it.
        With the Python pump blocks own their arrays (release is harmless).

        Parameters
        ----------
        consumer : callable
            Receives each :class:`~ophyd_pvcam.engine.frameblock.FrameBlock`.

        Raises
        ------
        ValidationError
            When the stream is running with get()/iteration delivery.
        """
        with self._lock:
            run = self._run_taking_consumers("add_block_consumer")
            self._block_consumers = self._block_consumers + (consumer,)
            if run is not None:
                run.block_consumers = run.block_consumers + (consumer,)

    def _run_taking_consumers(self, call: str) -> Optional[StreamRun]:
        # Under self._lock: the run a new consumer joins at once (it still
        # dispatches), else None (the consumer waits for the next start).
        # ``call`` names the public method in the error.
        run = self._run
        if self._state is StreamState.RUNNING and run is not None and not run.dispatching:
            raise ValidationError("this stream delivers through get()/iteration; add "
                                  "consumers before start()", None, call)
        return run if run is not None and run.dispatching and not run.loop_ended else None

    def remove_block_consumer(self, consumer: Callable[[FrameBlock], Any]) -> None:
        """Stop calling a block consumer (no error if it was not registered).

        Parameters
        ----------
        consumer : callable
        """
        with self._lock:
            self._block_consumers = tuple(c for c in self._block_consumers
                                          if c is not consumer)
            run = self._run
            if run is not None:
                run.block_consumers = tuple(c for c in run.block_consumers
                                            if c is not consumer)

    def remove_consumer(self, consumer: Callable[[Frame], Any]) -> None:
        """Stop calling ``consumer`` (no error if it was not registered).

        Parameters
        ----------
        consumer : callable
        """
        with self._lock:
            self._consumers = tuple(c for c in self._consumers if c is not consumer)
            run = self._run
            if run is not None:
                run.consumers = tuple(c for c in run.consumers if c is not consumer)

    def add_done_callback(self, callback: Callable[["Stream"], Any]) -> None:
        """Call ``callback(stream)`` once the current run ended and every frame was handed on.

        Runs on the stream's thread that finishes last (or at once, on this
        thread, when the run already finished). Exceptions are logged.

        Parameters
        ----------
        callback : callable
        """
        with self._lock:
            run = self._run
            if run is None or not run.finished.is_set():
                self._done_callbacks.append(callback)
                return
        _call_done(callback, self)

    def release(self, frame: Frame) -> bool:
        """Return a frame's array for reuse by later frames (optional).

        With the native pump a consumer's frame holds a ring slot, given back
        here (or when the frame is dropped); a frame from :meth:`get` goes
        back to the pool.

        Parameters
        ----------
        frame : Frame
            A frame from this stream; do not use ``frame.data`` afterwards.

        Returns
        -------
        bool
            True when the array (or slot) was taken back.
        """
        run = self._run
        if run is not None and run.native and FramePump.release_frame(frame):
            return True
        if run is None or run.loop.pool is None:
            return False
        if run.decoder is not None and frame.metadata is not None:
            if run.native:  # a copy of the pixels (RingReader.copy_frames)
                pool = run.queue.pixel_pool
                return pool is not None and pool.release(frame.data)
            # a view of the raw frame the frame loop copied into a pooled array
            return isinstance(frame.data.base, np.ndarray) and run.loop.pool.release(
                frame.data.base)
        return run.loop.pool.release(frame.data)

    # ------------------------------------------------------------------ control
    def start(self) -> None:
        """Set up and start the acquisition and the stream's threads.

        Raises
        ------
        AcquisitionError
            When the stream is already running or the camera is busy.
        PVCAMError
            When setup or start failed in every allowed buffer mode; nothing is
            left registered or allocated.
        """
        with self._lock:
            if self._state is StreamState.RUNNING:
                raise AcquisitionError("the stream is already running", None, "start")
            previous = self._run
        if previous is not None:
            self._join(previous)  # a finished run's threads, for a clean restart
        camera = self.camera
        with self._lock:
            metadata = (camera.apply_stream_parameters(self.options.metadata)
                        if hasattr(camera, "apply_stream_parameters") else False)
            settings = camera.acquisition_settings()
            run = build_run(camera, settings, self.options, self._consumers, self._deliver,
                            self._note_latest, self._block_consumers, metadata=metadata)
            camera.begin_acquisition("stream")
            with camera.lock:
                run.loop.open()  # on failure: everything undone, camera idle, error raised
            self._run = run
            self._state = StreamState.RUNNING
            self._error = None
            self._latest = None
            camera.add_close_hook(self.stop)
            name = getattr(camera, "name", "camera")
            run.loop_thread = threading.Thread(target=self._frame_thread, args=(run,),
                                               name=f"pvcam-frames-{name}", daemon=True)
            if run.dispatching:
                run.dispatch_thread = threading.Thread(target=self._dispatch_thread, args=(run,),
                                                       name=f"pvcam-dispatch-{name}", daemon=True)
                run.dispatch_thread.start()
            run.loop_thread.start()

    def stop(self) -> StreamState:
        """Stop the acquisition and join the stream's threads.

        Idempotent; safe from any thread, including a consumer or a done
        callback (the calling thread is never joined). Frames already
        retrieved are still handed to consumers / kept for :meth:`get`.

        Returns
        -------
        StreamState
            The state after stopping (a stream that had already ended keeps
            its state, e.g. ``STALLED``).
        """
        run = self._run
        if run is None:
            return self._state
        run.loop.signal.request_stop()
        run.queue.interrupt()
        self._join(run)
        return self._state

    def _join(self, run: StreamRun) -> None:
        current = threading.current_thread()
        for thread in (run.loop_thread, run.dispatch_thread):
            if thread is not None and thread is not current and thread.is_alive():
                thread.join()

    def wait(self, timeout: Optional[float] = None) -> StreamState:
        """Wait until the run ended and every frame was handed on.

        Parameters
        ----------
        timeout : float, optional
            Seconds; None waits for the end.

        Returns
        -------
        StreamState
            ``RUNNING`` when the timeout expired first.

        Raises
        ------
        StallError, CameraRemovedError, PVCAMError
            The stream's error, when it ended in ``STALLED`` or ``FAILED``.
        """
        run = self._run
        if run is not None:
            run.finished.wait(timeout)
            if run.finished.is_set():
                self._raise_error()
        return self._state

    def get(self, timeout: Optional[float] = None) -> Optional[Frame]:
        """Take the next frame (streams without consumers).

        Parameters
        ----------
        timeout : float, optional
            Seconds to wait; None waits for a frame or the end.

        Returns
        -------
        Frame or None
            None when the timeout expired or the stream ended normally and
            every frame was taken (check :attr:`state`).

        Raises
        ------
        StallError, CameraRemovedError, PVCAMError
            Once every retrieved frame was taken, when the stream ended in
            ``STALLED`` or ``FAILED``.
        ValidationError
            When the stream was never started or hands frames to consumers.
        """
        run = self._pull_run()
        item = run.queue.get(timeout)
        if item is END:
            self._raise_error()
            return None
        return item

    def get_block(self, timeout: Optional[float] = None,
                  max_frames: Optional[int] = None) -> Optional[FrameBlock]:
        """Take the next frames as one :class:`~ophyd_pvcam.engine.frameblock.FrameBlock`.

        Waits for at least one frame and returns every frame that is ready
        (at most ``max_frames``) in one block: the batched counterpart of
        :meth:`get` (streams without consumers). With the native pump the
        block's ``data`` is a view into the host ring: call
        ``block.release()`` when done (its slots are held until then). With
        the Python pump the block owns copies.

        Parameters
        ----------
        timeout : float, optional
            Seconds to wait for the first frame; None waits for a frame or the end.
        max_frames : int, optional
            At most this many frames.

        Returns
        -------
        FrameBlock or None
            None when the timeout expired or the stream ended normally and
            every frame was taken (check :attr:`state`).

        Raises
        ------
        StallError, CameraRemovedError, PVCAMError
            Once every retrieved frame was taken, when the stream ended in
            ``STALLED`` or ``FAILED``.
        ValidationError
            When the stream was never started or hands frames to consumers.
        """
        run = self._pull_run()
        if run.native:
            block = run.queue.get_block(timeout, max_frames)
        else:
            block = gather(run.queue, timeout, max_frames)
        if block is END:
            self._raise_error()
            return None
        return block

    def __iter__(self) -> Iterator[Frame]:
        """Yield frames until the stream ends; then raise its error, if any."""
        run = self._pull_run()
        while True:
            item = run.queue.get(None)
            if item is END:
                self._raise_error()
                return
            yield item

    def __enter__(self) -> "Stream":
        self.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    # ------------------------------------------------------------------ stats
    def stats(self) -> StreamStats:
        """A snapshot of the current (or last) run's statistics.

        Returns
        -------
        StreamStats
        """
        return snapshot_stats(self._run, camera=getattr(self.camera, "name", ""),
                              state=self._state, use_callbacks=self.options.use_callbacks)

    # ------------------------------------------------------------------ internals
    def _pull_run(self) -> StreamRun:
        run = self._run
        if run is None:
            raise ValidationError("the stream was never started", None, "get")
        if run.dispatching:
            raise ValidationError("this stream hands its frames to consumers; get() and "
                                  "iteration are for streams without consumers", None, "get")
        return run

    def _raise_error(self) -> None:
        if self._state in (StreamState.STALLED, StreamState.FAILED) and self._error is not None:
            raise self._error

    def _note_latest(self, run: StreamRun, frame: Frame) -> None:
        """A recent frame from the native pump's reader (for ``latest_frame``)."""
        if self._run is run:
            self._latest = frame

    def _deliver(self, run: StreamRun, frame: Frame) -> bool:
        """Frame-loop thread: hand a frame to the queue (False: dropped)."""
        if run.decoder is not None:
            decoded = run.decoder.frame(frame)
            if decoded is None:  # its slot held no frame: counted lost, nothing to drop
                run.loop.pool.release(frame.data)
                return True
        if run.queue.put(frame):
            self._latest = frame
            return True
        return False

    def _frame_thread(self, run: StreamRun) -> None:
        outcome = run.loop.run()
        with self._lock:
            run.ended_monotonic = time.monotonic()
            run.loop_ended = True
            if self._run is run:
                self._state = StreamState[outcome.state]
                if outcome.error is not None and self._error is None:
                    self._error = outcome.error
        self._log_end(run, outcome)
        run.queue.close()
        self.camera.remove_close_hook(self.stop)
        if not run.dispatching:
            self._finish(run)

    def _dispatch_thread(self, run: StreamRun) -> None:
        if run.native:
            dispatch_blocks(run, self._call)
        else:
            dispatch_frames(run, self._call)
        self._finish(run)

    def _call(self, run: StreamRun, consumer: Callable, item: Any) -> bool:
        try:
            consumer(item)
            return True
        except BaseException as exc:  # a consumer's failure ends the stream, loudly
            self._consumer_failed(run, consumer, exc)
            return False

    def _consumer_failed(self, run: StreamRun, consumer: Callable, exc: BaseException) -> None:
        logger.error("%s: consumer %r raised %r; stopping the stream", self.camera.name,
                     consumer, exc)
        error = AcquisitionError(f"consumer {consumer!r} raised {exc!r}", None, "consumer")
        error.__cause__ = exc
        with self._lock:
            run.consumers = tuple(c for c in run.consumers if c is not consumer)
            run.block_consumers = tuple(c for c in run.block_consumers if c is not consumer)
            if self._run is run and self._error is None:
                self._error = error
                if run.loop_ended:
                    self._state = StreamState.FAILED
        run.loop.signal.request_stop()
        run.queue.interrupt()

    def _finish(self, run: StreamRun) -> None:
        with self._lock:
            if self._run is run and self._error is not None and self._state in (
                    StreamState.STOPPED, StreamState.COMPLETE):
                self._state = StreamState.FAILED  # a consumer failed after the loop ended
            callbacks, self._done_callbacks = self._done_callbacks, []
            run.finished.set()
        for callback in callbacks:
            _call_done(callback, self)

    def _log_end(self, run: StreamRun, outcome: Outcome) -> None:
        stats = self.stats()
        # A failure is raised to the stream's user with its diagnosis; this summary adds
        # the statistics for whoever debugs (an ERROR line would repeat the diagnosis).
        level = logging.INFO if outcome.state in ("COMPLETE", "STOPPED") else logging.DEBUG
        cause = f" ({outcome.error})" if outcome.state == "FAILED" and outcome.error else ""
        logger.log(level, "%s: stream %s%s. %s", self.camera.name, outcome.state.lower(), cause,
                   stats.summary())


def _call_done(callback: Callable[[Stream], Any], stream: Stream) -> None:
    try:
        callback(stream)
    except Exception:
        logger.exception("done callback %r of %r raised", callback, stream)

