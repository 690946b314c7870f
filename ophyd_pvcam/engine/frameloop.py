"""The SDK side of a stream: callbacks that only signal, and the loop that drains frames.

:class:`FrameSignal` is everything the SDK's callback thread touches. The EOF
callback reads the ``FRAME_INFO`` it is given (FrameNr, timestamps), notes a
FrameNr gap, bumps a counter and notifies a condition. It never copies pixels,
never calls the SDK, never blocks on anything but the few-microsecond
condition lock, and never raises (an exception is stored for the loop).

:class:`FrameLoop` is run by the stream's frame-loop thread. Each wake-up it
drains EVERY available frame: ``pl_exp_get_oldest_frame`` -> copy into a pooled
array -> ``pl_exp_unlock_oldest_frame``. It numbers frames itself with the
consumer counter ``c`` it mirrors from the SDK, because
``pl_exp_get_oldest_frame_ex`` reports the *latest* frame's info (reference
§7.2). What the loop learns goes to the pure :class:`HealthMonitor`, which
decides timeouts, stalls and recoveries.

Loss is never silent:

* a FrameNr the camera skipped (a gap between callbacks) is counted lost and
  its slot is unlocked without being copied;
* a slot that the camera has overwritten, or may be overwriting while we copy
  (``latest >= n + capacity - 1``), is counted lost ("overwritten");
* error 173 (CIRC_NO_OVERWRITE overrun, reported until the acquisition
  restarts) counts the unretrieved frames lost and restarts the acquisition
  (stop, setup, start) with a recorded discontinuity.
"""
from __future__ import annotations

import collections
import logging
import threading
import time
from typing import Any, Callable, Optional

import numpy as np

from ophyd_pvcam.engine.bufmode import candidate_modes, mode_name, setup_and_start
from ophyd_pvcam.engine.buffers import CircularBuffer, FramePool, plan_buffer_frames
from ophyd_pvcam.engine.errors import AcquisitionError, CameraRemovedError, StallError
from ophyd_pvcam.engine.frame import Frame
from ophyd_pvcam.engine.health import Decision, HealthMonitor, status_name
from ophyd_pvcam.engine.stats import StatsRecorder
from ophyd_pvcam.sdk import constants as C
from ophyd_pvcam.sdk.errors import (
    BufferOverrunError,
    DataNotAvailableError,
    DeviceRemovedError,
    PVCAMError,
    SDKError,
)
from ophyd_pvcam.sdk.types import EOF_CALLBACK

__all__ = ["FrameSignal", "FrameLoop", "Outcome"]

logger = logging.getLogger(__name__)

_perf_ns = time.perf_counter_ns
_monotonic = time.monotonic

# In the last frames before the ring wraps, ask the SDK for the true latest
# FrameNr (callbacks may lag it) before trusting a slot.
_LAG_MARGIN = 4
# Seconds to wait for the CAM_REMOVED notice after the SDK answered 180.
_REMOVAL_NOTICE_WAIT = 0.5

# Buffers the SDK might still write into (its stop failed): never freed.
_UNRELEASED: list[CircularBuffer] = []


class Outcome:
    """How a frame loop ended: ``state`` name and the error, if any."""

    __slots__ = ("state", "error")

    def __init__(self, state: str, error: Optional[BaseException] = None) -> None:
        self.state = state
        self.error = error

    def __repr__(self) -> str:
        return f"Outcome({self.state!r}, {self.error!r})"


class FrameSignal:
    """The only state shared with the SDK's callback thread.

    Parameters
    ----------
    info_capacity : int
        Per-frame ``FRAME_INFO`` records kept for the loop (older ones fall off:
        those frames then carry zero timestamps).

    Attributes
    ----------
    cond : threading.Condition
        Notified by every callback and by :meth:`wake`.
    count : int
        EOF callbacks received in the current acquisition epoch.
    latest : int
        Highest FrameNr signalled in the current epoch.
    last_ns : int
        ``perf_counter_ns()`` of the latest callback.
    eof_callback, removed_callback : EOF_CALLBACK
        The ctypes function objects (kept alive as long as this object).
    """

    def __init__(self, info_capacity: int = 1024) -> None:
        self.cond = threading.Condition(threading.Lock())
        self.count = 0
        self.total = 0
        self.latest = 0
        self.last_ns = 0
        self.duplicates = 0
        self.gaps: collections.deque = collections.deque()
        self.infos: collections.deque = collections.deque(maxlen=max(16, info_capacity))
        self.removed = False
        #: FrameNr in the FRAME_INFO of the CAM_REMOVED notification (0: none).
        self.removed_at = 0
        self.stop_requested = False
        self.error: Optional[BaseException] = None
        self.eof_callback = EOF_CALLBACK(self._on_eof)
        self.removed_callback = EOF_CALLBACK(self._on_removed)

    # Runs on the SDK's thread.
    def _on_eof(self, p_info: Any, _context: Any) -> None:
        try:
            now = _perf_ns()
            latest = self.latest
            if p_info:
                info = p_info.contents
                number = info.FrameNr
                self.infos.append((number, info.TimeStamp, info.TimeStampBOF, info.ReadoutTime))
            else:
                number = latest + 1
            if number > latest + 1:
                self.gaps.append((latest + 1, number - 1))
            if number > latest:
                self.latest = number  # after the gap: the loop reads latest, then gaps
            else:
                self.duplicates += 1
            self.count += 1
            self.total += 1
            self.last_ns = now
            with self.cond:
                self.cond.notify()
        except BaseException as exc:  # never propagate into the SDK's thread
            self.error = exc

    # Runs on the SDK's thread.
    def _on_removed(self, p_info: Any, _context: Any) -> None:
        try:
            if p_info:
                self.removed_at = max(self.removed_at, p_info.contents.FrameNr)
            self.removed = True
            with self.cond:
                self.cond.notify()
        except BaseException as exc:
            self.error = exc

    def wake(self) -> None:
        """Wake the frame loop (after setting a flag)."""
        with self.cond:
            self.cond.notify_all()

    def request_stop(self) -> None:
        """Ask the frame loop to stop; safe from any thread."""
        self.stop_requested = True
        self.wake()

    def reset_epoch(self) -> None:
        """Forget the previous acquisition's numbers (called with no acquisition running)."""
        with self.cond:
            self.count = 0
            self.latest = 0
            self.gaps.clear()
            self.infos.clear()


class FrameLoop:
    """Setup, drain, restart and teardown of one stream run (see module docstring).

    Parameters
    ----------
    camera : Camera
        The open camera (``library``, ``handle``, ``name``, ``lock``).
    settings : AcquisitionSettings
        What the setup call gets.
    health : HealthMonitor
        Fed with every frame, loss, wait and restart.
    stats : StatsRecorder
        Counters and timing histograms.
    deliver : callable
        ``deliver(frame) -> bool``: hand a frame on; False means it was dropped.
    forced_mode : int or None
        A forced buffer mode, None for automatic.
    use_callbacks : bool
        Wake on EOF callbacks (True) or poll ``pl_exp_check_cont_status_ex``.
    buffer_seconds, min_buffer_frames, memory_budget
        Circular-buffer sizing (:func:`plan_buffer_frames`).
    pool_capacity : int
        Idle frame arrays kept for reuse.
    max_frames : int or None
        Complete after this many delivered frames.
    poll_interval : float
        Seconds between status polls (polling mode), and the base of the
        "callbacks missed?" safety poll in callback mode.
    """

    def __init__(self, camera: Any, settings: Any, *, health: HealthMonitor, stats: StatsRecorder,
                 deliver: Callable[[Frame], bool], forced_mode: Optional[int], use_callbacks: bool,
                 buffer_seconds: float, min_buffer_frames: int, memory_budget: Optional[int],
                 pool_capacity: int, max_frames: Optional[int], poll_interval: float) -> None:
        self.camera = camera
        self.lib = camera.library
        self.handle = camera.handle
        self.settings = settings
        self.health = health
        self.stats = stats
        self.deliver = deliver
        self.forced_mode = forced_mode
        self.use_callbacks = use_callbacks
        self.buffer_seconds = buffer_seconds
        self.min_buffer_frames = min_buffer_frames
        self.memory_budget = memory_budget
        self.pool_capacity = pool_capacity
        self.max_frames = max_frames
        self.poll_interval = poll_interval
        self.signal = FrameSignal()
        self.mode: Optional[int] = None
        self.ring: Optional[CircularBuffer] = None
        self._slots: Optional[np.ndarray] = None
        self.pool: Optional[FramePool] = None
        self.frame_bytes = 0
        self.delivered = 0
        self.frames_pending_at_stop = 0
        self._c = 0  # mirror of the SDK's consumer counter: FrameNr of the last frame taken
        self._polled_latest = 0
        self._status_ns = 0
        self._registered: list[int] = []
        self._running = False  # an SDK acquisition is started and not yet stopped
        self._complete = False
        self._safety_interval = max(0.05, 4 * settings.frame_period_s)
        self._next_safety = 0.0
        self._refresh_ns = int(max(settings.frame_period_s / 2, 1e-4) * 1e9)
        self._last_loss_log = -1e9

    # ------------------------------------------------------------------ start
    def open(self) -> None:
        """Register callbacks once, then setup + start with the buffer-mode fallback.

        Runs on the caller's thread with the camera lock held. On failure
        everything done so far is undone and the error is raised.
        """
        camera = self.camera
        try:
            if self.use_callbacks:
                camera.register_callback(int(C.PL_CALLBACK_EOF), self.signal.eof_callback)
                self._registered.append(int(C.PL_CALLBACK_EOF))
            # Also in polling mode: it is a notification, not a frame callback, and its
            # FRAME_INFO tells which frames completed before the camera went away.
            try:
                camera.register_callback(int(C.PL_CALLBACK_CAM_REMOVED),
                                         self.signal.removed_callback)
                self._registered.append(int(C.PL_CALLBACK_CAM_REMOVED))
            except SDKError as exc:
                # Optional for cameras ("only BOF/EOF are supported by all"); error 180
                # from the frame calls still reports a removal.
                logger.debug("%s: no CAM_REMOVED callback (%s)", camera.name, exc)
            modes = candidate_modes(camera, self.forced_mode)
            self.mode, self.frame_bytes = setup_and_start(camera, self.settings, modes,
                                                          self._provide_buffer)
            self._running = True
        except BaseException:
            error = self.teardown()
            if error is not None:
                logger.error("%s: cleanup after a failed start also failed: %s", camera.name, error)
            raise
        now = _monotonic()
        self.health.start(now)
        self.stats.mark_started(now)
        self._next_safety = now + self._safety_interval
        logger.info("%s: streaming %s, %s, ring %d x %d B (%.2f s), %s", camera.name,
                    "x".join(map(str, self.settings.frame_shape)), mode_name(self.mode),
                    self.ring.frames, self.frame_bytes,
                    self.ring.frames * self.settings.frame_period_s,
                    "callbacks" if self.use_callbacks else "polling")

    def _provide_buffer(self, frame_bytes: int) -> tuple[int, int]:
        """Allocate the ring (once) for frames of ``frame_bytes``."""
        if self.ring is None or self.ring.frame_bytes != frame_bytes:
            if self.ring is not None:
                self._slots = None
                self.ring.close()  # never started with it: safe
            frames = plan_buffer_frames(frame_bytes, self.settings.frame_period_s,
                                        buffer_seconds=self.buffer_seconds,
                                        min_frames=self.min_buffer_frames,
                                        memory_budget=self.memory_budget)
            self.ring = CircularBuffer(frame_bytes, frames)
            shape = self._frame_shape(frame_bytes)
            # One typed view over the ring, indexed by slot: copying a frame is then a
            # single np.copyto with no ctypes call (those hand the GIL to the callback).
            self._slots = self.ring.view().view(self.settings.dtype).reshape((frames,) + shape)
            self.signal.infos = collections.deque(maxlen=frames + 64)
            self.pool = FramePool(shape, self.settings.dtype, self.pool_capacity,
                                  preallocate=min(4, self.pool_capacity))
        return self.ring.address, self.ring.nbytes

    def _frame_shape(self, frame_bytes: int) -> tuple[int, ...]:
        itemsize = np.dtype(self.settings.dtype).itemsize
        height, width = self.settings.frame_shape
        if height * width * itemsize == frame_bytes:
            return (height, width)
        # Several regions or metadata: deliver the raw frame as a flat array.
        return (frame_bytes // itemsize,)

    # ------------------------------------------------------------------ loop
    def run(self) -> Outcome:
        """Drain until stopped, complete, stalled or failed; then tear down.

        Returns
        -------
        Outcome
        """
        try:
            try:
                outcome = self._loop()
                if outcome.state == "STOPPED":
                    self._stop_and_salvage()
            except DeviceRemovedError as exc:
                if int(C.PL_CALLBACK_CAM_REMOVED) in self._registered:
                    # The SDK refused a call before its removal notice arrived; the
                    # notice says which frames completed, so wait for it briefly.
                    with self.signal.cond:
                        self.signal.cond.wait_for(lambda: self.signal.removed, _REMOVAL_NOTICE_WAIT)
                self._salvage()
                raise self._removed_error(exc) from exc
        except StallError as exc:
            outcome = Outcome("STALLED", exc)
        except CameraRemovedError as exc:
            outcome = Outcome("FAILED", exc)
        except PVCAMError as exc:
            outcome = Outcome("FAILED", exc)
        except BaseException as exc:  # a bug must still end the stream visibly
            logger.exception("%s: frame loop crashed", self.camera.name)
            error = AcquisitionError(f"frame loop crashed: {exc!r}", None, "stream")
            error.__cause__ = exc
            outcome = Outcome("FAILED", error)
        teardown_error = self.teardown()
        if teardown_error is not None and outcome.error is None:
            outcome = Outcome("FAILED", teardown_error)
        elif teardown_error is not None:
            logger.info("%s: teardown after %s: %s", self.camera.name, outcome.state, teardown_error)
        return outcome

    def _loop(self) -> Outcome:
        signal = self.signal
        health = self.health
        while True:
            if signal.stop_requested:
                return Outcome("STOPPED")
            if signal.error is not None:
                error = AcquisitionError(f"EOF callback failed: {signal.error!r}", None, "stream")
                error.__cause__ = signal.error
                raise error
            if signal.removed:
                self._salvage()
                raise self._removed_error(None)
            woke_ns = self._wait()
            if signal.stop_requested:
                continue
            progressed = self._drain(woke_ns)
            if self._complete:
                return Outcome("COMPLETE")
            if progressed or signal.stop_requested or signal.removed:
                continue
            if self._limit() > self._c:
                # Frames announced but not retrievable yet (error 169): do not spin.
                with signal.cond:
                    signal.cond.wait(0.001)
                continue
            now = _monotonic()
            if now < health.deadline:
                continue
            # A full stall_timeout without a frame: look at the SDK before counting it.
            if self._check_sdk() > self._c:
                continue
            decision = health.poll(now)
            if decision is Decision.TIMEOUT:
                logger.warning("%s: no frame for %.2f s after frame %d (timeout %d of %d)",
                               self.camera.name, health.seconds_since_last_frame(now),
                               health.last_frame_number, health.consecutive_timeouts,
                               health.stall_count)
            elif decision is Decision.RECOVER:
                logger.warning("%s: stalled after frame %d; recovery %d of %d: restarting the "
                               "acquisition", self.camera.name, health.last_frame_number,
                               health.recoveries + 1, health.max_recoveries)
                self._restart("stall")
            elif decision is Decision.STALL:
                error = health.stall_error(now, **self.context())
                logger.error("%s", error)
                raise error

    def _wait(self) -> int:
        """Sleep until frames are signalled, a stop, or the next deadline; return wake time."""
        signal = self.signal
        if self.use_callbacks:
            with signal.cond:
                while not (self._limit() > self._c or signal.stop_requested or signal.removed
                           or signal.error is not None):
                    remaining = min(self.health.deadline, self._next_safety) - _monotonic()
                    if remaining <= 0:
                        break
                    signal.cond.wait(remaining)
            woke = _perf_ns()
            if signal.latest > self._c:
                if signal.last_ns:
                    self.stats.histograms["callback_to_wake"].record(woke - signal.last_ns)
                self._next_safety = _monotonic() + self._safety_interval
            elif _monotonic() >= self._next_safety:
                self._next_safety = _monotonic() + self._safety_interval
                self._check_sdk()
            return woke
        if self._polled_latest <= self._c:
            with signal.cond:
                if not (signal.stop_requested or signal.removed):
                    signal.cond.wait(self.poll_interval)
            self._check_sdk()
        return _perf_ns()

    def _sdk_latest(self) -> int:
        """The latest complete FrameNr according to ``pl_exp_check_cont_status_ex``."""
        info = self.lib.exp_check_cont_status_ex(self.handle)[3]
        self._status_ns = _perf_ns()
        return info.frame_number

    def _check_sdk(self) -> int:
        """Learn the SDK's latest FrameNr and make it drainable; return the drain limit.

        Polling mode: this is how frames are found. Callback mode: called only
        after ``safety interval`` without a callback, so frames beyond the last
        signalled one are frames whose callbacks never came: they are drained
        anyway and counted in ``callbacks_missed``.
        """
        latest = self._sdk_latest()
        if latest > self._polled_latest:
            if self.use_callbacks and latest > self.signal.latest:
                missed = latest - max(self.signal.latest, self._polled_latest, self._c)
                if missed > 0:
                    self.stats.callbacks_missed += missed
                    logger.warning("%s: the SDK holds frames up to %d but the last EOF callback "
                                   "was for frame %d; draining them without callbacks",
                                   self.camera.name, latest, self.signal.latest)
            self._polled_latest = latest
        return self._limit()

    def _limit(self) -> int:
        """The highest FrameNr the loop may drain up to."""
        if self.use_callbacks:
            return max(self.signal.latest, self._polled_latest, self.signal.removed_at)
        return max(self._polled_latest, self.signal.removed_at)

    # ------------------------------------------------------------------ drain
    def _drain(self, woke_ns: int) -> bool:
        """Take every available frame; return True when anything happened."""
        lib, handle = self.lib, self.handle
        ring, pool, health, stats, signal = self.ring, self.pool, self.health, self.stats, self.signal
        capacity = ring.frames
        frame_bytes = self.frame_bytes
        base = ring.address
        slots = self._slots
        copyto = np.copyto
        hist_wake = stats.histograms["wake_to_retrieved"]
        hist_copy = stats.histograms["copy"]
        hist_unlock = stats.histograms["unlock"]
        get_oldest = lib.exp_get_oldest_frame
        unlock = lib.exp_unlock_oldest_frame
        polling = not self.use_callbacks
        overwrite = self.mode == int(C.CIRC_OVERWRITE)
        first = True
        progressed = False
        limit = self._limit()  # drain bound: signalled (callbacks) or polled frames
        newest = limit  # best knowledge of the newest complete frame, for slot reuse
        while self._c < limit and not signal.stop_requested:
            n = self._c + 1
            # 1. FrameNrs the camera skipped (callback gaps): nothing to copy.
            if signal.gaps and signal.gaps[0][0] <= n:
                last_gap = signal.gaps[0][1]
                if last_gap >= n:
                    self._skip(n, min(last_gap, limit), "gap")
                    progressed = True
                if last_gap <= limit:
                    signal.gaps.popleft()
                continue
            if polling and _perf_ns() - self._status_ns > self._refresh_ns:
                limit = max(limit, self._check_sdk())
            newest = max(newest, limit)
            # 2. Close to a full ring, ask the SDK how far the camera really is:
            #    callbacks (and our last poll) may lag it.
            in_zone = newest - n >= capacity - _LAG_MARGIN
            if in_zone:
                newest = max(newest, self._sdk_latest())
                if overwrite and newest >= n + capacity - 1:
                    # CIRC_OVERWRITE returns overwritten slots without complaint: skip them.
                    # (CIRC_NO_OVERWRITE reports 173 below, answered by a restart.)
                    self._skip(n, min(newest - capacity + 1, max(limit, n)), "overwritten")
                    progressed = True
                    limit = max(limit, self._c)
                    continue
            # 3. Copy the frame out.
            try:
                address = get_oldest(handle)
            except DataNotAvailableError:
                break  # signalled but not visible yet: next wake
            except BufferOverrunError:
                stats.overruns += 1
                logger.warning("%s: circular buffer overrun (error 173) at frame %d, %d signalled: "
                               "restarting the acquisition", self.camera.name,
                               health.offset + n, health.offset + limit)
                self._restart("overrun")
                return True
            t1 = _perf_ns()
            slot = (n - 1) % capacity
            if address != base + slot * frame_bytes:
                raise AcquisitionError(
                    f"the SDK returned frame address 0x{address:x} where FrameNr {n} should be "
                    f"(slot {slot} at 0x{base + slot * frame_bytes:x}): the engine's frame "
                    f"numbering is out of step with the SDK", None, "pl_exp_get_oldest_frame")
            array = pool.acquire()
            copyto(array, slots[slot])
            t2 = _perf_ns()
            unlock(handle)
            t3 = _perf_ns()
            self._c = n
            progressed = True
            if first:
                hist_wake.record(t1 - woke_ns)
                first = False
            hist_copy.record(t2 - t1)
            hist_unlock.record(t3 - t2)
            # 4. Did frame n + capacity start arriving in this slot while we copied?
            if not polling:
                newest = max(newest, signal.latest)
            if in_zone or newest - n >= capacity - _LAG_MARGIN:
                newest = max(newest, self._sdk_latest())
            if newest >= n + capacity - 1:
                self._skip_taken(n)
                pool.release(array)
                continue
            self._hand_on(n, array)
            if self._complete:
                break
            if not polling:
                limit = max(limit, signal.latest)
        return progressed

    def _hand_on(self, n: int, array: np.ndarray) -> None:
        """Number, stamp and deliver one retrieved frame."""
        health, stats = self.health, self.stats
        stats.frames_retrieved += 1
        now = _monotonic()
        number = health.frame_retrieved(n, now)
        eof = bof = readout = 0
        infos = self.signal.infos
        while infos and infos[0][0] < n:
            infos.popleft()
        if infos and infos[0][0] == n:
            _, eof, bof, readout = infos.popleft()
        frame = Frame(number, array, bof, eof, readout, time.time(), self.delivered,
                      health.pending_lost_before)
        if self.deliver(frame):
            health.take_lost_before()
            self.delivered += 1
            stats.mark_delivered(now)
            if self.max_frames is not None and self.delivered >= self.max_frames:
                self._complete = True
        else:
            health.frame_dropped(number)
            self.pool.release(array)

    def _skip(self, first: int, last: int, reason: str) -> None:
        """Count SDK frames ``first..last`` lost and unlock their slots unread."""
        unlock = self.lib.exp_unlock_oldest_frame
        for _ in range(first, last + 1):
            unlock(self.handle)  # only advances the SDK's consumer counter
        self._c = last
        lost = self.health.frames_lost_sdk(first, last, reason)
        self._log_loss("%s: %d frame(s) lost (%s): stream frames %d..%d", self.camera.name, lost,
                       reason, self.health.offset + first, self.health.offset + last)

    def _skip_taken(self, n: int) -> None:
        """Frame ``n`` was copied but its slot was being overwritten meanwhile."""
        self.health.frames_lost_sdk(n, n, "overwritten")
        self._log_loss("%s: frame %d overwritten while it was copied (consumer too slow)",
                       self.camera.name, self.health.offset + n)

    def _log_loss(self, message: str, *args: Any) -> None:
        """Warn about a loss, at most once a second (the counts are in the stats)."""
        now = _monotonic()
        if now - self._last_loss_log >= 1.0:
            self._last_loss_log = now
            logger.warning(message + " [%d lost in total so far]", *args, self.health.frames_lost)
        else:
            logger.debug(message, *args)

    # ------------------------------------------------------------------ salvage
    def _stop_and_salvage(self) -> None:
        """Stop the SDK, then hand on the frames it completed before stopping."""
        with self.camera.lock:
            self.lib.exp_stop_cont(self.handle, int(C.CCS_HALT))
            self._running = False
            if not self.use_callbacks:
                try:
                    self._polled_latest = max(self._polled_latest, self._sdk_latest())
                except SDKError as exc:
                    logger.debug("%s: no status after stop (%s)", self.camera.name, exc)
        self._salvage()

    def _salvage(self) -> None:
        """Copy the completed but unretrieved frames straight out of the ring.

        Only once nothing writes into the ring any more (acquisition stopped or
        camera removed): frame n then still lies in slot ``(n - 1) % capacity``
        (reference §7.2) unless a later frame reused that slot. Only frames
        known complete are taken: in callback mode the signalled ones (whose
        gaps are known), in polling mode up to the last polled FrameNr.
        """
        ring, slots, health = self.ring, self._slots, self.health
        if ring is None or slots is None:
            return
        capacity = ring.frames
        newest = self._limit()
        gaps = sorted(self.signal.gaps)
        salvaged = 0
        n = self._c + 1
        while n <= newest and not self._complete:
            gap = next(((a, b) for a, b in gaps if a <= n <= b), None)
            if gap is not None:
                self._c = min(gap[1], newest)
                health.frames_lost_sdk(n, self._c, "gap")
            elif n + capacity - 1 <= newest:
                # a later frame reused (or was being written into) this slot
                self._c = newest - capacity + 1
                health.frames_lost_sdk(n, self._c, "overwritten")
            else:
                array = self.pool.acquire()
                np.copyto(array, slots[(n - 1) % capacity])
                self._c = n
                self._hand_on(n, array)
                salvaged += 1
            n = self._c + 1
        if salvaged:
            logger.info("%s: %d frame(s) completed before the end were taken from the buffer",
                        self.camera.name, salvaged)

    # ------------------------------------------------------------------ restart
    def _restart(self, reason: str) -> None:
        """Stop, setup, start again (same mode, same ring); FrameNr restarts at 1."""
        camera, lib, handle = self.camera, self.lib, self.handle
        with camera.lock:
            lib.exp_stop_cont(handle, int(C.CCS_HALT))
            self._running = False
            last = max(self.signal.latest, self._polled_latest, self._c)
            try:
                last = max(last, lib.exp_check_cont_status_ex(handle)[3].frame_number)
            except SDKError as exc:
                logger.debug("%s: no status after stop (%s)", camera.name, exc)
            record = self.health.restart(reason, last, _monotonic())
            self.stats.restarts += 1
            self.signal.reset_epoch()
            self._c = 0
            self._polled_latest = 0
            frame_bytes = lib.exp_setup_cont(handle, self.settings.regions, self.settings.exp_mode,
                                             self.settings.exposure, self.mode)
            if frame_bytes != self.ring.frame_bytes:
                raise AcquisitionError(f"frame size changed from {self.ring.frame_bytes} to "
                                       f"{frame_bytes} bytes on restart", None, "stream")
            lib.exp_start_cont(handle, self.ring.address, self.ring.nbytes)
            self._running = True
        now = _monotonic()
        self.health.start(now)
        self._next_safety = now + self._safety_interval
        logger.warning("%s: acquisition restarted after %s; %d frame(s) lost, numbering "
                       "continues at %d", camera.name, reason, record.frames_lost,
                       record.first_frame)

    # ------------------------------------------------------------------ end
    def teardown(self) -> Optional[BaseException]:
        """Stop the SDK, deregister the callbacks, release the ring (in that order).

        Returns
        -------
        BaseException or None
            The first failure (the rest are logged); the ring is kept, never
            freed, when the SDK could not be stopped.
        """
        camera, lib, handle = self.camera, self.lib, self.handle
        errors: list[BaseException] = []
        with camera.lock:
            if self._running:
                try:
                    lib.exp_stop_cont(handle, int(C.CCS_HALT))
                    self._running = False
                except DeviceRemovedError as exc:
                    # A removed camera writes nothing more into our buffer.
                    errors.append(exc)
                    self._running = False
                except SDKError as exc:
                    errors.append(exc)
                    try:
                        lib.exp_abort(handle, int(C.CCS_HALT))
                        self._running = False
                    except SDKError as exc2:
                        errors.append(exc2)
            self.frames_pending_at_stop = max(0, self._limit() - self._c)
            while self._registered:
                event = self._registered.pop()
                try:
                    camera.deregister_callback(event)
                except PVCAMError as exc:
                    errors.append(exc)
            camera.end_acquisition()
        if self.ring is not None:
            if self._running:
                _UNRELEASED.append(self.ring)
                logger.error("%s: the SDK could not be stopped; its circular buffer (%d bytes) "
                             "is kept allocated", camera.name, self.ring.nbytes)
            else:
                self._slots = None  # the view must not outlive the mapping
                self.ring.close()
        removed = any(isinstance(e, DeviceRemovedError) for e in errors)
        for extra in errors[1:]:
            logger.log(logging.INFO if removed else logging.WARNING,
                       "%s: also failed while stopping: %s", camera.name, extra)
        return errors[0] if errors else None

    # ------------------------------------------------------------------ info
    def context(self) -> dict[str, Any]:
        """What the stream adds to a diagnostics snapshot (reads the SDK status).

        Returns
        -------
        dict
        """
        status: Optional[int] = None
        sdk_latest: Optional[int] = None
        try:
            status, _bytes, _passes, info = self.lib.exp_check_cont_status_ex(self.handle)
            sdk_latest = info.frame_number
        except SDKError as exc:
            logger.debug("%s: status unavailable for diagnostics (%s)", self.camera.name, exc)
        latest = max(self._limit(), sdk_latest or 0)
        return {
            "camera": self.camera.name,
            "frames_signalled": self.signal.total if self.use_callbacks else None,
            "frames_delivered": self.delivered,
            "sdk_status": int(status) if status is not None else None,
            "sdk_latest_frame": sdk_latest,
            "buffer_frames": self.ring.frames if self.ring is not None else 0,
            "buffer_fill": max(0, latest - self._c),
            "buffer_mode": mode_name(self.mode),
            "use_callbacks": self.use_callbacks,
            "callbacks_missed": self.stats.callbacks_missed,
        }

    def _removed_error(self, cause: Optional[BaseException]) -> CameraRemovedError:
        last = self.health.last_frame_number
        error = CameraRemovedError(
            f"camera {self.camera.name} was removed during the stream "
            f"({'after frame %d' % last if last else 'before the first frame'}; "
            f"{self.delivered} frame(s) delivered are kept)", 180, "stream")
        error.__cause__ = cause
        return error

    @property
    def status_text(self) -> str:
        """The SDK status name right now (for logs)."""
        try:
            return status_name(self.lib.exp_check_cont_status(self.handle)[0])
        except SDKError as exc:
            return f"unavailable ({exc})"
