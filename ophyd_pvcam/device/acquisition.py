"""One :class:`Acquisition` per trigger or fly: engine streams into the file, ending a status.

An :class:`Acquisition` feeds the frames of one or more engine
:class:`~ophyd_pvcam.engine.stream.stream.Stream` runs (more than one only across a
pause/resume) into the detector's :class:`~ophyd_pvcam.device.writer.AssetWriter`,
and ends a :class:`~ophyd_pvcam.device.status.FrameProgressStatus`:

* finished once ``target`` frames are flushed to the file, while the
  stream still stops (or, for an unbounded acquisition, once
  :meth:`Acquisition.finish` stopped the stream and the last frame is
  flushed); :meth:`Acquisition.join` waits for the stop;
* failed with :class:`~ophyd_pvcam.engine.errors.FramesLostError` at the
  first lost frame when ``on_loss="fail"`` (with ``"record"``, the default,
  lost frames are only counted);
* failed with the engine's error when the stream stalls or fails
  (:class:`~ophyd_pvcam.engine.errors.StallError` with its diagnosis), with
  the writer's error when the file cannot be written, or with
  :class:`~ophyd_pvcam.engine.errors.AcquisitionError` when it is cancelled.

Frames already captured are flushed to the file before the status fails, so
a plan can still register them.

Each stream run sets the camera up afresh (``pl_exp_setup_cont`` with the
settings current at its start, buffers allocated, EOF callback registered
once) and undoes all of it when it ends; see :mod:`ophyd_pvcam.engine.stream.stream`.

Step scans: one stream per trigger, ring fitted to the trigger. Measured
with ``benchmarks/bench_device.py`` (RunEngine ``count``, simulated Prime
BSI, 2 cores, medians of 5 x 20 points; ms per point, and its ratio to the
camera's own frame period x frames)::

    ROI, exposure x frames     1 s ring (before)   sequence        stream, fitted (chosen)
    64x64, 1 ms x1             11.7 (7.0)          9.6 (5.7)       10.0 (6.0)
    64x64, 1 ms x10            27.4 (1.64)         24.5 (1.47)     25.0 (1.50)
    512x512, 2 ms x1           45.4 (6.2)          17.4 (2.4)      23.8 (3.2)
    512x512, 2 ms x10          112.4 (1.52)        82.4 (1.12)     91.7 (1.24)

(the RunEngine alone costs 1.4 ms per point). Most of the old cost was the
engine's default ring of one second of frames, which the SDK prefaults or
pins at every start (~0.3 ms per MB: 25 ms at 512 x 512).
:func:`fitted_ring_frames` sizes it to the trigger's frames plus
``RING_HEADROOM_S`` (0.25 s, at least 8 frames); ending the status once the
frames are flushed rather than after the stream stopped
(:attr:`Acquisition.finish_before_stop`) saves another 0.3-1.2 ms per point
(0.5-2 ms of trigger latency).

``acquire_sequence`` is faster still (a buffer of exactly N frames that the
camera never overwrites), but through the engine as it is it cannot report
a skipped FrameNr (the simulator's ``drop_every`` leaves garbage frames in
the file, then times out), cannot be stopped before its per-frame timeout
(an unstage during a stall blocked 2.9 s), writes no BOF/EOF timestamps and
diagnoses a stall only as a timeout; so triggers keep the stream. The
stream's remaining gap at 512 x 512 is the ring's headroom: with 0.05 s
instead of 0.25 s a point took 17.7 ms, but on a loaded machine one point
lost 6 frames, overwritten while neither the frame loop nor the EOF
callbacks ran for ~140 ms (h5py holds the GIL while it writes).

Threads. The engine calls the consumer on its dispatcher thread; the
consumer only queues the frame to the writer and counts. A named monitor
thread (``<device>-acquisition``) watches the stream and the writer, reports
progress and ends the status; status callbacks therefore run on it, never on
the SDK's or the engine's threads. :meth:`Acquisition.join` joins it.
"""
from __future__ import annotations

import enum
import logging
import threading
from typing import Any, Callable, Optional

import numpy as np

from ophyd_pvcam.engine.errors import AcquisitionError, FramesLostError
from ophyd_pvcam.engine.frameblock import FrameBlock
from ophyd_pvcam.engine.stream import Stream, StreamState

from .status import FrameProgressStatus
from .streams import StreamFactory
from .writer import AssetWriter

__all__ = ["Acquisition", "AcquisitionPhase"]

logger = logging.getLogger(__name__)

# How often the monitor wakes to report progress and check the writer.
_POLL_S = 0.05
# Longest wait for the writer to flush the last frames at the end.
_FLUSH_TIMEOUT_S = 60.0


class AcquisitionPhase(enum.Enum):
    """Where an :class:`Acquisition` is in its life."""

    STARTING = "starting"
    RUNNING = "running"
    FINISHING = "finishing"
    PAUSED = "paused"
    DONE = "done"
    FAILED = "failed"


class Acquisition:
    """Frames of one trigger or one fly, from engine streams into the file.

    Parameters
    ----------
    name : str
        Device name (thread names, messages).
    factory : callable
        ``factory(max_frames)`` returns a new, not yet started engine
        :class:`~ophyd_pvcam.engine.stream.stream.Stream` that completes after
        ``max_frames`` frames (``None``: runs until stopped).
    writer : AssetWriter
        The open file.
    status : FrameProgressStatus
        Ended by this acquisition.
    target : int or None
        Frames to acquire; ``None`` (or 0) until :meth:`finish`.
    on_lost : callable, optional
        ``on_lost(total)``, called on the monitor thread when the count of
        lost frames changes.
    on_loss : {"record", "fail"}
        ``"fail"``: a lost frame stops the stream and fails the status with
        :class:`~ophyd_pvcam.engine.errors.FramesLostError` (frames kept).
    on_run_stats : callable, optional
        ``on_run_stats(stats)`` with each finished stream run's
        ``StreamStats`` (on the monitor thread; errors are logged).
    """

    #: True: a bounded acquisition's status finishes once its frames are flushed,
    #: while its stream still stops; False: only after the stream stopped (the
    #: behaviour before; kept for ``benchmarks/bench_device.py``).
    finish_before_stop: bool = True

    def __init__(self, name: str, factory: StreamFactory, writer: AssetWriter,
                 status: FrameProgressStatus, *, target: Optional[int],
                 on_lost: Optional[Callable[[int], None]] = None, on_loss: str = "record",
                 on_run_stats: Optional[Callable[[Any], None]] = None):
        self.name = name
        self._on_run_stats = on_run_stats
        self.on_loss = on_loss
        self._factory = factory
        self._writer = writer
        self.status = status
        self.target = int(target) if target else None
        self._on_lost = on_lost
        self._initial = writer.frames_written
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._phase = AcquisitionPhase.STARTING
        self._stream: Optional[Stream] = None
        self._run_done = threading.Event()
        self._cancel_reason: Optional[str] = None
        self._cancel_error: Optional[BaseException] = None
        self._cancel_fails = True
        self._delivered = 0
        self._lost_before_runs = 0   # exact counts of finished stream runs
        self._lost_this_run = 0      # live count (sum of lost_before) of the current run
        self._reported_lost = 0
        self._first_lost_frame: Optional[int] = None   # FrameNr of the first frame lost
        self._stats: list[Any] = []
        self._absorbed: Optional[Stream] = None
        self._thread: Optional[threading.Thread] = None

    # -- state -------------------------------------------------------------
    @property
    def phase(self) -> AcquisitionPhase:
        """The current :class:`AcquisitionPhase`."""
        return self._phase

    @property
    def frames_delivered(self) -> int:
        """Frames the engine handed over (queued to the file)."""
        return self._delivered

    @property
    def frames_lost(self) -> int:
        """Frames the camera produced that never arrived (exact once a stream run ended)."""
        with self._lock:  # status callbacks read this while the monitor absorbs a run
            return self._lost_before_runs + self._lost_this_run

    @property
    def frames_written(self) -> int:
        """Frames of this acquisition flushed to the file."""
        return self._writer.frames_written - self._initial

    @property
    def stream(self) -> Optional[Stream]:
        """The engine stream of the current run (``None`` before :meth:`start`)."""
        return self._stream

    @property
    def stream_stats(self) -> list[Any]:
        """``StreamStats`` of every finished stream run of this acquisition."""
        return list(self._stats)

    @property
    def done(self) -> bool:
        """True once the status has ended."""
        return self._phase in (AcquisitionPhase.DONE, AcquisitionPhase.FAILED)

    # -- control (RunEngine / device thread) --------------------------------
    def start(self) -> None:
        """Start the first stream and the monitor thread.

        Raises
        ------
        PVCAMError
            When the stream cannot be started (the status is failed too).
        """
        try:
            self._start_run(self.target)
        except BaseException as exc:
            self._phase = AcquisitionPhase.FAILED
            self._fail(exc)
            raise
        self._phase = AcquisitionPhase.RUNNING
        self._thread = threading.Thread(target=self._monitor, name=f"{self.name}-acquisition",
                                        daemon=True)
        self._thread.start()

    def _start_run(self, max_frames: Optional[int]) -> None:
        stream = self._factory(max_frames)
        done = threading.Event()

        def on_done(_stream: Stream) -> None:
            # Runs on an engine thread once every frame was handed on: signal only.
            done.set()
            self._wake.set()

        stream.add_block_consumer(self._consume_block)
        stream.add_done_callback(on_done)
        self._lost_this_run = 0
        stream.start()
        with self._lock:
            self._stream, self._run_done = stream, done

    def finish(self) -> None:
        """Stop an unbounded acquisition; the status finishes once the last frame is written.

        A bounded acquisition ends at ``target`` frames anyway; this then only
        wakes the monitor.
        """
        with self._lock:
            if self.done:
                return
            if self.target is None or self._phase is AcquisitionPhase.PAUSED:
                self._phase = AcquisitionPhase.FINISHING
            stream = self._stream if self._phase is AcquisitionPhase.FINISHING else None
        if stream is not None:
            stream.stop()
        self._wake.set()

    def pause(self) -> None:
        """Stop the stream but keep the acquisition open for :meth:`resume`."""
        with self._lock:
            if self._phase is not AcquisitionPhase.RUNNING:
                return
            self._phase = AcquisitionPhase.PAUSED
            stream = self._stream
        stream.stop()
        # Every frame captured before the pause goes into the file now, so a
        # collect during the pause (or a final one after an abort) sees it.
        self._writer.flush(_FLUSH_TIMEOUT_S)
        logger.info("%s: paused the acquisition after %d frames", self.name, self._delivered)
        self._wake.set()

    def resume(self) -> None:
        """Start a new stream for the frames still missing (same file, same status).

        ``FrameNr`` restarts at 1 in the new stream; the file index keeps counting.
        """
        with self._lock:
            if self._phase is not AcquisitionPhase.PAUSED:
                return
            remaining = None if self.target is None else self.target - self._delivered
        if remaining is not None and remaining <= 0:
            with self._lock:
                self._phase = AcquisitionPhase.FINISHING
            self._wake.set()
            return
        # The monitor must have taken the stopped run's statistics first.
        self._run_done.wait()
        self._absorb_run_stats()
        logger.info("%s: resuming the acquisition (%s frames to go)", self.name,
                    "unbounded" if remaining is None else remaining)
        try:
            self._start_run(remaining)
        except BaseException as exc:
            self.cancel(f"could not resume: {exc}", error=exc)
            raise
        with self._lock:
            self._phase = AcquisitionPhase.RUNNING
        self._wake.set()

    def cancel(self, reason: str, error: Optional[BaseException] = None, *,
               fail: bool = True) -> None:
        """Stop the acquisition; frames captured so far stay in the file.

        Parameters
        ----------
        reason : str
            Why (logged; the :class:`AcquisitionError` message when failing).
        error : BaseException, optional
            Fail with this error instead.
        fail : bool
            True: the status fails. False: it finishes with the frames
            captured so far (used by unstage: the plan is over, and a failure
            now would replace the RunEngine's own outcome, e.g. an abort).
        """
        with self._lock:
            if self.done:
                return
            self._cancel_reason = reason
            self._cancel_error = error
            self._cancel_fails = fail
            stream = self._stream
        if stream is not None:
            stream.stop()
        self._wake.set()
        if self._thread is None:
            self._end_cancelled()

    def join(self, timeout: Optional[float] = None) -> None:
        """Wait for the monitor thread to end (no-op from the monitor thread itself).

        Parameters
        ----------
        timeout : float, optional
        """
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                logger.error("%s: acquisition monitor did not end within %s s", self.name, timeout)

    # -- engine dispatcher thread --------------------------------------------
    def _consume_block(self, block: FrameBlock) -> None:
        # Runs on the engine's dispatcher thread, once per batch of frames: queue the
        # block (the writer gives its ring slots back once it is in the file) and count.
        if not len(block):
            block.release()
            return
        self._writer.submit_block(block, on_written=block.release)
        lost = block.lost
        if lost:
            self._lost_this_run += lost
            if self._first_lost_frame is None:
                first = int(np.flatnonzero(block.lost_before)[0])
                self._first_lost_frame = (int(block.frame_numbers[first])
                                          - int(block.lost_before[first]))
            if self.on_loss == "fail":
                self._wake.set()   # the monitor fails the status now, not at the next poll
        self._delivered += len(block)
        if self.target is not None and self._delivered >= self.target:
            self._wake.set()  # the monitor finishes the status without waiting for the stop

    # -- monitor thread ----------------------------------------------------
    def _monitor(self) -> None:
        try:
            self._watch()
        except BaseException as exc:  # noqa: BLE001 - ends the status instead of dying silently
            logger.exception("%s: acquisition monitor failed", self.name)
            self._stop_stream()
            self._end_with_error(exc)

    def _watch(self) -> None:
        while True:
            self._wake.wait(_POLL_S)
            self._wake.clear()
            self._report()
            if self._failed_for_loss():
                return
            if self._writer.error is not None:
                self._stop_stream()
                self._end_with_error(self._writer.error)
                return
            with self._lock:
                phase, cancel, stream, run_done = (self._phase, self._cancel_reason,
                                                   self._stream, self._run_done)
            if not run_done.is_set():
                if (self.finish_before_stop and phase is AcquisitionPhase.RUNNING
                        and cancel is None and self._all_delivered()):
                    # Every frame is with the writer: finish the status as soon as
                    # they are flushed, while the stream tears down (SDK stop, buffer
                    # release, thread joins) instead of after it.
                    self._end_ok()
                continue
            # The run ended and every frame was handed to the writer.
            self._absorb_run_stats()
            if self._failed_for_loss():
                return
            state = stream.state
            if self.done:
                # Finished early (above): nothing may fail the status any more.
                if state in (StreamState.STALLED, StreamState.FAILED):
                    logger.error("%s: the stream failed while stopping after its %d frames "
                                 "were written: %s", self.name, self._delivered, stream.error)
                return
            if state in (StreamState.STALLED, StreamState.FAILED):
                self._end_with_error(stream.error or AcquisitionError(
                    f"{self.name}: stream ended {state.name}", None, "stream"))
                return
            if cancel is not None:
                self._end_cancelled()
                return
            if phase is AcquisitionPhase.PAUSED:
                continue  # resume() starts a new run
            if state is StreamState.COMPLETE or phase is AcquisitionPhase.FINISHING:
                self._end_ok()
                return
            self._end_with_error(AcquisitionError(
                f"{self.name}: stream stopped unexpectedly after {self._delivered} frames",
                None, "stream"))
            return

    def _failed_for_loss(self) -> bool:
        """With ``on_loss="fail"``: at the first lost frame, stop and fail (frames kept)."""
        if self.on_loss != "fail" or self.done or not self.frames_lost:
            return False
        self._stop_stream()
        self._end_with_error(self._frames_lost_error())
        return True

    def _frames_lost_error(self) -> FramesLostError:
        try:
            self._writer.flush(_FLUSH_TIMEOUT_S)   # so the message counts what is kept
        except Exception:  # noqa: BLE001 - the writer's error is reported by _end_with_error's flush
            logger.exception("%s: flushing the file after a lost frame failed", self.name)
        lost, kept, first = self.frames_lost, self.frames_written, self._first_lost_frame
        where = f" (the first was FrameNr {first})" if first is not None else ""
        return FramesLostError(
            f"{self.name}: {lost} frame(s) lost{where}; on_loss='fail' ended the acquisition "
            f"after {kept} frame(s), which are kept in {self._writer.path}",
            lost, first, kept, "stream")

    def _all_delivered(self) -> bool:
        """True once a bounded acquisition handed its ``target`` frames to the writer."""
        return self.target is not None and self._delivered >= self.target

    def _absorb_run_stats(self) -> None:
        """Replace the live loss count of the ended run by its exact statistics (once)."""
        with self._lock:
            stream = self._stream
            if stream is None or stream is self._absorbed:
                return
            self._absorbed = stream
        try:
            stats = stream.stats()
        except Exception:  # noqa: BLE001 - statistics are informative; the live count stays
            logger.exception("%s: stream statistics unavailable", self.name)
            return
        with self._lock:
            self._stats.append(stats)
            self._lost_before_runs += int(stats.frames_lost)
            self._lost_this_run = 0
        self._report()
        if self._on_run_stats is not None:
            try:
                self._on_run_stats(stats)
            except Exception:  # noqa: BLE001 - bookkeeping of the sink cache; the frames are safe
                logger.exception("%s: noting the run's statistics failed", self.name)

    def _end_cancelled(self) -> None:
        if self._cancel_fails:
            self._end_with_error(self._cancel_error or AcquisitionError(
                f"{self.name}: acquisition stopped ({self._cancel_reason}) after "
                f"{self._delivered} frames", None, "stop"))
            return
        logger.warning("%s: acquisition ended (%s) after %d%s frames", self.name,
                       self._cancel_reason, self._delivered,
                       "" if self.target is None else f" of {self.target}")
        self._end_ok(partial=True)

    def _report(self) -> None:
        self.status.update(self._writer.frames_written)
        lost = self.frames_lost
        if lost != self._reported_lost:
            if self.status.done:
                # The detector has already taken the final count (status callback).
                logger.warning("%s: the stream's statistics count %d lost frame(s), %d "
                               "were reported with the frames", self.name, lost,
                               self._reported_lost)
                self._reported_lost = lost
                return
            self._reported_lost = lost
            logger.warning("%s: %d frame(s) lost so far", self.name, lost)
            if self._on_lost is not None:
                self._on_lost(lost)

    def _stop_stream(self) -> None:
        stream = self._stream
        if stream is not None:
            try:
                stream.stop()
            except Exception:  # noqa: BLE001 - the original error is what the status reports
                logger.exception("%s: stopping the stream failed", self.name)

    def _end_ok(self, *, partial: bool = False) -> None:
        try:
            self._writer.flush(_FLUSH_TIMEOUT_S)
        except BaseException as exc:  # noqa: BLE001 - becomes the status's error
            self._end_with_error(exc)
            return
        self._report()
        if self.on_loss == "fail" and self.frames_lost and not partial:
            self._end_with_error(self._frames_lost_error())
            return
        if not partial and self.target is not None and self._delivered < self.target:
            self._end_with_error(AcquisitionError(
                f"{self.name}: stream completed with {self._delivered} of {self.target} frames",
                None, "stream"))
            return
        with self._lock:
            self._phase = AcquisitionPhase.DONE
        self.status.set_finished()

    def _end_with_error(self, error: BaseException) -> None:
        if self.done:
            # Finished early; the frames are flushed and the status is final.
            logger.error("%s: %s (after the acquisition had finished)", self.name, error)
            return
        # Keep every frame captured so far: flush before failing, so a plan
        # reacting to the failure can register them.
        try:
            self._writer.flush(_FLUSH_TIMEOUT_S)
        except Exception:  # noqa: BLE001 - the first error is the one reported
            logger.exception("%s: flushing the file after a failure failed", self.name)
        self._report()
        with self._lock:
            self._phase = AcquisitionPhase.FAILED
        self._fail(error)

    def _fail(self, error: BaseException) -> None:
        if self.status.done:
            return
        if not isinstance(error, Exception):
            wrapped = AcquisitionError(f"{self.name}: {error!r}", None, "stream")
            wrapped.__cause__ = error
            error = wrapped
        # The status carries the error (and its diagnosis) to the plan: DEBUG, not a repeat.
        logger.debug("%s: acquisition failed after %d frames: %s", self.name,
                     self._delivered, error)
        self.status.set_exception(error)
