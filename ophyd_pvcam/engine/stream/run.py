"""One run of a :class:`~ophyd_pvcam.engine.stream.stream.Stream`: its state, its parts, its statistics.

:class:`StreamState` is where a stream is in its life; :class:`StreamRun`
holds what belongs to one ``start()``..end (frame loop, health monitor, stats
recorder, queue, threads) and :func:`build_run` creates them;
:func:`snapshot_stats` reads those parts into an
immutable :class:`~ophyd_pvcam.engine.stream.stats.StreamStats`. The threads and the
state transitions themselves stay in :mod:`ophyd_pvcam.engine.stream.stream`.
"""
from __future__ import annotations

import enum
import logging
import threading
import time
from typing import Any, Callable, Optional

from ophyd_pvcam.engine.stream.bufmode import mode_name
from ophyd_pvcam.engine.stream.delivery import FrameQueue
from ophyd_pvcam.engine.frame import Frame
from ophyd_pvcam.engine.frameblock import FrameBlock
from ophyd_pvcam.engine.stream.frameloop import FrameLoop
from ophyd_pvcam.engine.stream.health import HealthMonitor
from ophyd_pvcam.engine.metadata import MetadataDecoder
from ophyd_pvcam.engine.stream.nativeloop import NativeFrameLoop
from ophyd_pvcam.engine.stream.ringsource import RingReader
from ophyd_pvcam.engine.stream.stats import StatsRecorder, StreamStats
from ophyd_pvcam.engine.stream.options import StreamOptions

__all__ = ["StreamRun", "StreamState", "build_run", "snapshot_stats"]

logger = logging.getLogger(__name__)


class StreamState(enum.Enum):
    """Where a stream is in its life."""

    IDLE = "idle"
    RUNNING = "running"
    #: ``max_frames`` frames were delivered.
    COMPLETE = "complete"
    #: :meth:`Stream.stop` was called.
    STOPPED = "stopped"
    #: The camera stopped producing frames; ``error`` is a StallError.
    STALLED = "stalled"
    #: Any other failure (camera removed, SDK error, a consumer raised); see ``error``.
    FAILED = "failed"

    @property
    def ended(self) -> bool:
        """True for the final states."""
        return self not in (StreamState.IDLE, StreamState.RUNNING)


class StreamRun:
    """Everything that belongs to one start()..end of a stream.

    Parameters
    ----------
    loop : FrameLoop
        The run's frame loop (owns the SDK buffer and the acquisition).
    health : HealthMonitor
        Frame numbers, losses and stall decisions of the run.
    stats : StatsRecorder
        Counters and timings the frame loop records.
    queue : FrameQueue or RingReader
        Frames between the frame loop and the consumer (the native pump's
        host ring is read through a :class:`~ophyd_pvcam.engine.stream.ringsource.RingReader`).
    consumers : tuple of callable
        Frame consumers the run dispatches to.
    block_consumers : tuple of callable
        Block consumers the run dispatches to (both empty: get()/iteration delivery).
    decoder : MetadataDecoder, optional
        Decodes the frames' PVCAM metadata (None: frames carry none).

    Attributes
    ----------
    dispatching : bool
        True when the run hands frames to consumers on a dispatcher thread.
    native : bool
        True when the native pump is the frame path.
    loop_thread, dispatch_thread : threading.Thread or None
        The run's threads, once started.
    finished : threading.Event
        Set once the run ended and every frame was handed on.
    ended_monotonic : float or None
        When the frame loop ended.
    loop_ended : bool
        True once the frame loop returned.
    """

    def __init__(self, loop: FrameLoop, health: HealthMonitor, stats: StatsRecorder,
                 queue: Any, consumers: tuple, block_consumers: tuple = (),
                 decoder: Optional[MetadataDecoder] = None) -> None:
        self.loop = loop
        self.health = health
        self.stats = stats
        self.queue = queue
        self.consumers = consumers
        self.block_consumers = block_consumers
        self.decoder = decoder
        self.dispatching = bool(consumers) or bool(block_consumers)
        self.native = isinstance(loop, NativeFrameLoop)
        self.loop_thread: Optional[threading.Thread] = None
        self.dispatch_thread: Optional[threading.Thread] = None
        self.finished = threading.Event()
        self.ended_monotonic: Optional[float] = None
        self.loop_ended = False


def build_run(camera: Any, settings: Any, options: StreamOptions,
              consumers: tuple[Callable[[Frame], Any], ...],
              deliver: Callable[[StreamRun, Frame], bool],
              latest: Callable[[StreamRun, Frame], None] = lambda run, frame: None,
              block_consumers: tuple[Callable[[FrameBlock], Any], ...] = (),
              metadata: bool = False) -> StreamRun:
    """Create the parts of one run (nothing is opened or started).

    Parameters
    ----------
    camera : Camera
        The open camera.
    settings : AcquisitionSettings
        From ``camera.acquisition_settings()``.
    options : StreamOptions
        The stream's validated options.
    consumers : tuple of callable
        The stream's consumers at start.
    deliver : callable
        ``deliver(run, frame)`` hands a frame on from the frame loop; False
        when it was dropped (the Python pump).
    latest : callable
        ``latest(run, frame)``: a recent frame, for ``latest_frame`` (native pump).
    block_consumers : tuple of callable
        The stream's block consumers at start.
    metadata : bool
        The frames carry PVCAM metadata (the run then decodes them).

    Returns
    -------
    StreamRun
    """
    health = HealthMonitor(stall_timeout=options.stall_timeout_for(settings.frame_period_s),
                           stall_count=options.stall_count,
                           max_recoveries=options.max_recoveries,
                           lost_numbers_cap=options.lost_numbers_cap, camera=camera.name)
    stats = StatsRecorder()
    run_ref: list[StreamRun] = []
    decoder = _decoder(health, settings.dtype, camera.name) if metadata else None
    common = dict(health=health, stats=stats, forced_mode=options.forced_mode,
                  use_callbacks=options.use_callbacks, buffer_seconds=options.buffer_seconds,
                  min_buffer_frames=options.min_buffer_frames,
                  memory_budget=options.memory_budget, max_frames=options.max_frames,
                  poll_interval=options.poll_interval_for(settings.frame_period_s))
    if options.native:
        loop: FrameLoop = NativeFrameLoop(
            camera, settings, deliver=_never, pool_capacity=8, queue_size=options.queue_size,
            host_ring_bytes=options.host_ring_bytes, drop_when_full=options.overflow == "drop",
            **common)
        queue: Any = RingReader(loop, on_frames=lambda frame: latest(run_ref[0], frame),
                                decoder=decoder)
    else:
        queue = FrameQueue(options.python_queue_size, options.overflow)
        loop = FrameLoop(camera, settings, deliver=lambda frame: deliver(run_ref[0], frame),
                         pool_capacity=options.python_queue_size + 4, **common)
    run = StreamRun(loop, health, stats, queue, consumers, block_consumers, decoder)
    run_ref.append(run)
    return run


def _decoder(health: HealthMonitor, dtype: Any, name: str) -> MetadataDecoder:
    """The run's metadata decoder; slots that held no frame are counted lost ("gap")."""
    lock = threading.Lock()

    def offsets() -> list[int]:
        return [0] + [d.first_frame - 1 for d in health.discontinuities]

    def skipped(numbers: Any, reason: str) -> None:
        with lock:
            for number in numbers.tolist():
                sdk = number - health.offset
                health.frames_lost_reported(sdk, sdk, reason)
        what = ("held no new frame (FrameNr skipped by the camera)" if reason == "gap"
                else "already held a later frame (overwritten before it was read)")
        logger.warning("%s: %d slot(s) %s: stream frame(s) %s counted lost", name, len(numbers),
                       what, numbers.tolist()[:10])

    return MetadataDecoder(dtype, epoch_offsets=offsets, on_skipped=skipped)


def _never(frame: Frame) -> bool:
    raise AssertionError("the native pump delivers through its ring, never frame by frame")


def snapshot_stats(run: Optional[StreamRun], *, camera: str, state: StreamState,
                   use_callbacks: bool) -> StreamStats:
    """A snapshot of a run's statistics (of an empty run before the first start).

    Parameters
    ----------
    run : StreamRun or None
        The current or last run; None when the stream was never started.
    camera : str
        Camera name.
    state : StreamState
        The stream's state now.
    use_callbacks : bool
        The stream's option, reported when there is no run yet.

    Returns
    -------
    StreamStats
    """
    if run is None:
        return StreamStats(camera=camera, state=state.name, use_callbacks=use_callbacks,
                           gaps_detectable=use_callbacks)
    if run.native and run.loop.pump is not None:
        run.loop.sync()
    loop, health, rec = run.loop, run.health, run.stats
    # Slots the metadata showed to hold no frame were delivered by the pump, not by the run.
    skipped = run.decoder.frames_skipped if run.decoder is not None else 0
    started = rec.started_monotonic
    end = run.ended_monotonic if run.ended_monotonic is not None else time.monotonic()
    return StreamStats(
        camera=camera, state=state.name, buffer_mode=mode_name(loop.mode),
        use_callbacks=loop.use_callbacks,
        # Only EOF callbacks carry each frame's FrameNr (see the Stream class notes).
        # ... or each frame's metadata header does.
        gaps_detectable=loop.use_callbacks or run.decoder is not None,
        buffer_frames=loop.ring.frames if loop.ring is not None else 0,
        frame_bytes=loop.frame_bytes,
        elapsed_s=(end - started) if started is not None else 0.0,
        frames_signalled=loop.signal.total, frames_retrieved=rec.frames_retrieved,
        frames_delivered=rec.frames_delivered - skipped, frames_lost=health.frames_lost,
        frames_dropped=health.frames_dropped, lost_frame_numbers=health.lost_frame_numbers,
        dropped_frame_numbers=health.dropped_frame_numbers, overruns=rec.overruns,
        recoveries=health.recoveries, restarts=rec.restarts,
        callbacks_missed=rec.callbacks_missed, wakeups=rec.wakeups,
        max_batch=rec.max_batch, discontinuities=health.discontinuities,
        rate_fps=rec.rate(), consecutive_timeouts=health.consecutive_timeouts,
        timings=rec.timings(), frames_pending_at_stop=loop.frames_pending_at_stop,
        lost_by_reason=dict(health.lost_by_reason),
    )
