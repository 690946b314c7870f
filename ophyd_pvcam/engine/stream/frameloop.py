"""The SDK side of a stream: callbacks that only signal, and the loop that drains frames.

:class:`~ophyd_pvcam.engine.stream.framesignal.FrameSignal` is everything the SDK's
callback thread touches: a counter, the latest FrameNr and a condition.

:class:`FrameLoop` is run by the stream's frame-loop thread. Each wake-up it
drains EVERY available frame: ``pl_exp_get_oldest_frame`` -> copy into a pooled
array -> ``pl_exp_unlock_oldest_frame``. It numbers frames itself with the
consumer counter ``c`` it mirrors from the SDK, because
``pl_exp_get_oldest_frame_ex`` reports the *latest* frame's info (reference
§7.2). What the loop learns goes to the pure :class:`HealthMonitor`, which
decides timeouts, stalls and recoveries.

Loss is counted, with its frame numbers:

* a FrameNr the camera skipped (a gap between callbacks) is counted lost and
  its slot is unlocked without being copied (callback mode only, see below);
* a slot that the camera has overwritten, or may be overwriting while we copy
  (``latest >= n + capacity - 1``), is counted lost ("overwritten"); in both
  modes, since it needs only the latest FrameNr;
* error 173 (CIRC_NO_OVERWRITE overrun, reported until the acquisition
  restarts) counts the unretrieved frames lost and restarts the acquisition
  (stop, setup, start) with a recorded discontinuity; in both modes.

Polling mode (no EOF callbacks) has one blind spot, inherent to the SDK: it
reports only the latest frame's info, never each frame's, so a FrameNr the
camera skipped cannot be told from a frame. Its slot, holding what an
earlier frame left there (zeros on the first lap through the ring), is
delivered under the skipped number and not counted lost. The run's
``StreamStats.gaps_detectable`` is False and its start is logged with a
warning saying so; callbacks are the default for this reason.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Optional

import numpy as np

from ophyd_pvcam.engine.errors import AcquisitionError, CameraRemovedError, StallError
from ophyd_pvcam.engine.frame import Frame
from ophyd_pvcam.engine.stream.framesignal import FrameSignal
from ophyd_pvcam.engine.metadata import header_frame_number
from ophyd_pvcam.engine.stream.runcontrol import RunControl
from ophyd_pvcam.sdk import constants as C
from ophyd_pvcam.sdk.errors import (
    BufferOverrunError,
    DataNotAvailableError,
    DeviceRemovedError,
    PVCAMError,
)

__all__ = ["FrameSignal", "FrameLoop", "Outcome"]

logger = logging.getLogger(__name__)

_perf_ns = time.perf_counter_ns
_monotonic = time.monotonic


# In the last frames before the ring wraps, ask the SDK for the true latest
# FrameNr (callbacks may lag it) before trusting a slot.
_LAG_MARGIN = 4
# Seconds to wait for the CAM_REMOVED notice after the SDK answered 180.
_REMOVAL_NOTICE_WAIT = 0.5


class Outcome:
    """How a frame loop ended: ``state`` name and the error, if any."""

    __slots__ = ("state", "error")

    def __init__(self, state: str, error: Optional[BaseException] = None) -> None:
        self.state = state
        self.error = error

    def __repr__(self) -> str:
        return f"Outcome({self.state!r}, {self.error!r})"


class FrameLoop(RunControl):
    """Waits, drains, decides: the body of a stream's frame-loop thread.

    Constructed like :class:`~ophyd_pvcam.engine.stream.runcontrol.RunControl`;
    :meth:`open` on the caller's thread, then :meth:`run` on the frame-loop thread.
    """

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
            self._act_on_stall(now)

    def _wait(self) -> int:
        """Sleep until frames are signalled, a stop, or the next deadline; return wake time."""
        signal = self.signal
        if self.use_callbacks:
            with signal.cond:
                signal.waiting = True  # before the check: a callback after it will notify
                try:
                    while not (self._limit() > self._c or signal.stop_requested
                               or signal.removed or signal.error is not None):
                        remaining = min(self.health.deadline, self._next_safety) - _monotonic()
                        if remaining <= 0:
                            break
                        signal.cond.wait(remaining)
                finally:
                    signal.waiting = False
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
                    # Harmless for the data (the frames are retrieved and counted, none
                    # lost); it only says the EOF callbacks run late or were missed.
                    logger.info("%s: frames %d-%d arrived before their EOF callbacks; retrieved "
                                "them from the SDK's buffer (nothing lost, callbacks late)",
                                self.camera.name, self.signal.latest + 1, latest)
            self._polled_latest = latest
        return self._limit()

    def _limit(self) -> int:
        """The highest FrameNr the loop may drain up to."""
        if self.use_callbacks:
            return max(self.signal.latest, self._polled_latest, self.signal.removed_at)
        return max(self._polled_latest, self.signal.removed_at)

    # ------------------------------------------------------------------ drain
    def _drain(self, woke_ns: int) -> bool:
        """Take every available frame; return True when anything happened.

        Also records how many frames this wake-up retrieved (``wakeups``,
        ``max_batch``): the proof that frames which piled up are drained
        together, not one per wake-up.
        """
        stats = self.stats
        before = stats.frames_retrieved
        try:
            return self._drain_frames(woke_ns)
        finally:
            batch = stats.frames_retrieved - before
            if batch:
                stats.mark_batch(batch)

    def _drain_frames(self, woke_ns: int) -> bool:
        """The body of :meth:`_drain`."""
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
                if (last_gap >= n and frame_bytes != self.settings.frame_bytes
                        and header_frame_number(slots[(n - 1) % capacity]) == n):
                    # The frame's own metadata header says it is there: a lost callback.
                    stats.callbacks_missed += 1
                    if last_gap > n:
                        signal.gaps[0] = (n + 1, last_gap)
                    else:
                        signal.gaps.popleft()
                else:
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
                    # CIRC_OVERWRITE returns overwritten slots without complaint: skip them,
                    # and a quarter ring more, or every following copy would be torn by
                    # the writer right behind it and thrown away too.
                    # (CIRC_NO_OVERWRITE reports 173 below, answered by a restart.)
                    headroom = max(1, capacity // 4)
                    self._skip(n, min(newest - capacity + 1 + headroom, max(limit, n)),
                               "overwritten")
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
