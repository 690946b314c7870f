"""The frame loop of a stream whose frames move through the native pump.

:class:`NativeFrameLoop` keeps everything :class:`~ophyd_pvcam.engine.stream.runcontrol.RunControl`
does around the frame path (callback registration, setup and start with the
buffer-mode fallback, overrun restart, stall recovery, salvage, teardown) and
replaces the per-frame Python work with a
:class:`~ophyd_pvcam.engine.stream.native.FramePump`: the C pump drains the SDK and
fills the host ring; this loop, on the stream's ``pvcam-frames-*`` thread, is
its supervisor. It sleeps in one GIL-free call until the pump reports an
event (losses, error 173, 180, another SDK error, completion) or the stall
deadline passes, then feeds the pure
:class:`~ophyd_pvcam.engine.stream.health.HealthMonitor` in batches and acts on its
decision exactly as the Python loop does. No Python runs per frame.

Frames are numbered by the pump from the SDK consumer counter it mirrors;
stream numbers are ``offset + FrameNr`` with the offset the health monitor
keeps across restarts.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Optional

from ophyd_pvcam.engine.budget import host_memory_budget
from ophyd_pvcam.engine.stream.buffers import MAX_BUFFER_BYTES
from ophyd_pvcam.engine.errors import ValidationError
from ophyd_pvcam.engine.stream.frameloop import FrameLoop, Outcome
from ophyd_pvcam.engine.stream.framesignal import FrameSignal
from ophyd_pvcam.engine.stream.native import FramePump, PumpEvents
from ophyd_pvcam.sdk import constants as C
from ophyd_pvcam.sdk.errors import PVCAMError, SDKError

__all__ = ["BURST_MIN_BYTES", "INPLACE_MIN_RATE", "INPLACE_MIN_SECONDS", "NativeFrameLoop", "NativeSignal", "plan_ring_frames"]

logger = logging.getLogger(__name__)

_monotonic = time.monotonic

#: Longest supervisor sleep: statistics read by other threads stay this fresh.
_SUPERVISOR_SLICE = 0.25
#: Seconds to wait for the pump thread to park.
_PAUSE_TIMEOUT = 10.0
#: Bursts (``max_frames`` x frame size) at least this large get a zero-copy SDK buffer.
BURST_MIN_BYTES = 256 * 1024 ** 2
#: Continuous streams hand frames out in place (no copy) when the SDK buffer holds at least
#: this many seconds of frames: a consumer (or a GIL held elsewhere) may then hold a block
#: for three quarters of it without a frame lost (untaken frames are copied out at a quarter).
INPLACE_MIN_SECONDS = 0.5
#: ... and when frames come at least this fast (bytes/s): below it the copy costs little and
#: every frame is copied into the host ring as before.
INPLACE_MIN_RATE = 256 * 1024 ** 2
#: Seconds the pump gathers frames per batch at most (callbacks; an eighth of the SDK
#: buffer when that is shorter): one wake-up of the pump and of the reader per batch.
_COALESCE = 0.004
#: Pumps whose EOF callback could not be deregistered: kept forever (the SDK may call it).
_UNRELEASED: list[FramePump] = []


def plan_ring_frames(frame_bytes: int, *, sdk_ring_bytes: int, queue_size: Optional[int],
                     host_ring_bytes: Optional[int]) -> int:
    """Host ring capacity in frames.

    ``queue_size`` when given (the stream's bound on frames between the
    pump and the consumer); otherwise ``host_ring_bytes``, by default the
    host memory budget minus the SDK's circular buffer.

    Parameters
    ----------
    frame_bytes : int
    sdk_ring_bytes : int
        Bytes of the SDK circular buffer (drawn from the same budget).
    queue_size : int or None
    host_ring_bytes : int or None

    Returns
    -------
    int
        At least 2 frames.

    Raises
    ------
    ValidationError
        When not even 2 frames fit.
    """
    if queue_size is not None:
        return max(1, int(queue_size))
    budget = host_ring_bytes if host_ring_bytes is not None else (
        host_memory_budget() - sdk_ring_bytes)
    frames = int(budget) // int(frame_bytes)
    if frames < 2:
        raise ValidationError(
            f"the host frame ring gets {budget} bytes, less than 2 frames of {frame_bytes} "
            f"bytes; raise PVCAM_HOST_MEMORY_BUDGET or lower the SDK buffer",
            None, "host_ring_bytes")
    return frames


class NativeSignal(FrameSignal):
    """The stream's signal when the pump owns the EOF callback.

    ``request_stop`` and the CAM_REMOVED notice also wake the pump's
    supervisor; ``total`` reads the pump's callback count.
    """

    def __init__(self) -> None:
        self.pump: Optional[FramePump] = None
        super().__init__()

    @property
    def total(self) -> int:  # type: ignore[override]
        """EOF callbacks the pump received."""
        pump = self.pump
        return pump.counters().callbacks_total if pump is not None else 0

    @total.setter
    def total(self, value: int) -> None:
        pass  # counted by the pump

    def request_stop(self) -> None:
        super().request_stop()
        pump = self.pump
        if pump is not None:
            pump.request_stop()

    def _on_removed(self, p_info: Any, context: Any) -> None:
        super()._on_removed(p_info, context)
        pump = self.pump
        if pump is not None:
            pump.wake()


class NativeFrameLoop(FrameLoop):
    """A stream run whose frame path is the native pump (see the module notes).

    Parameters
    ----------
    args, kwargs
        As for :class:`~ophyd_pvcam.engine.stream.runcontrol.RunControl`, plus:
    queue_size : int or None
        Host ring capacity in frames (None: from the memory budget).
    host_ring_bytes : int or None
        Bytes of the host ring when ``queue_size`` is None.
    drop_when_full : bool
        ``overflow="drop"``: a full host ring drops and counts frames.
    inplace : bool
        Continuous zero copy when the SDK buffer is long enough (:meth:`_inplace`).
    """

    def __init__(self, *args: Any, queue_size: Optional[int] = None,
                 host_ring_bytes: Optional[int] = None, drop_when_full: bool = False,
                 inplace: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.inplace = bool(inplace)
        self.queue_size = queue_size
        self.host_ring_bytes = host_ring_bytes
        self.drop_when_full = drop_when_full
        self._sync_lock = threading.Lock()
        self._retrieved_seen = 0
        self._signalled = 0
        self._restart_counters: Any = None  # the pump's counters, synced as a restart stops
        self._eof_registered = False
        self.zero_copy = False
        self.pump = self._new_pump()
        self.signal = NativeSignal()
        self.signal.pump = self.pump

    # ------------------------------------------------------------------ start
    def _register_eof(self) -> None:
        """Register the pump's C callback (context: the pump), visible to the camera."""
        pump = self.pump
        self.camera.register_callback(int(C.PL_CALLBACK_EOF), pump.eof_callback, pump.context)
        pump.mark_eof_registered(True)
        self._eof_registered = True
        self._registered.append(int(C.PL_CALLBACK_EOF))

    def _deregistered(self, event: int) -> None:
        if event == int(C.PL_CALLBACK_EOF):
            self.pump.mark_eof_registered(False)
            self._eof_registered = False

    def _sdk_ring_frames(self, frame_bytes: int) -> int:
        """The usual ring, or, for a burst that fits the budget, the whole burst.

        A ``max_frames`` burst of at least :data:`BURST_MIN_BYTES`, larger than
        the usual SDK buffer, that fits the host memory budget (and the 4 GiB of ``pl_exp_start_cont``) gets an
        SDK buffer of the whole burst plus a margin: the camera never wraps
        it, so the pump publishes frames in place (zero copy) and the burst
        runs at the camera's full rate whatever the copy bandwidth.
        """
        frames = super()._sdk_ring_frames(frame_bytes)
        burst = self.max_frames
        if (burst is None or burst <= frames or self.queue_size is not None
                or burst * frame_bytes < BURST_MIN_BYTES):
            return self._inplace_ring_frames(frame_bytes, frames)
        want = burst + max(16, burst // 4)  # room for FrameNrs the camera skips
        limit = min(self.host_ring_bytes or host_memory_budget(), MAX_BUFFER_BYTES)
        if want * frame_bytes > limit:
            return frames
        self.zero_copy = True
        return want

    def _ring_kept_elsewhere(self) -> bool:
        # the pump's views point into it (burst or in place): it goes with them
        return self.zero_copy or self.pump.inplace

    def _populate_ring(self) -> bool:
        return self.zero_copy  # the burst must not wait for page faults

    def _provide_buffer(self, frame_bytes: int) -> tuple[int, int]:
        if self.ring is None or self.ring.frame_bytes != frame_bytes:
            self.zero_copy = False  # decided again with the ring (_sdk_ring_frames)
        address, size = super()._provide_buffer(frame_bytes)
        pump, ring = self.pump, self.ring
        if (pump.frame_bytes != frame_bytes or pump.sdk_buffer != ring.address
                or pump.zero_copy != self.zero_copy):
            frames = 1 if self.zero_copy else plan_ring_frames(
                frame_bytes, sdk_ring_bytes=ring.nbytes, queue_size=self.queue_size,
                host_ring_bytes=self.host_ring_bytes)
            # Frames larger than their pixels carry PVCAM metadata (or several regions):
            # the pump then checks a FrameNr without a callback against the frame's own
            # md_frame_header before counting it lost (a lost callback is no lost frame).
            pump.set_metadata(frame_bytes != self.settings.frame_bytes)
            pump.attach(sdk_buffer=ring.address, sdk_frames=ring.frames,
                        frame_bytes=frame_bytes, frame_shape=self._slots.shape[1:],
                        dtype=self.settings.dtype, ring_frames=frames, zero_copy=self.zero_copy,
                        inplace=self._inplace(ring.frames))
            if self.zero_copy or pump.inplace:
                pump.keep(ring)
        return address, size

    def _inplace_ring_frames(self, frame_bytes: int, frames: int) -> int:
        """The SDK buffer of a continuous stream handed out in place.

        Frames in place live in the SDK buffer until released, so it takes the
        place of the host ring: without an explicit ``memory_budget`` its
        default 1 GiB cap is lifted to half the host memory budget (within the
        4 GiB of ``pl_exp_start_cont``) so that ``buffer_seconds`` of frames
        fit at high rates too. Unchanged when it still holds less than
        :data:`INPLACE_MIN_SECONDS` (frames are then copied, as before).
        """
        if not self._fast_enough(frame_bytes) or self.memory_budget is not None:
            return frames
        period = self.settings.frame_period_s
        if frames * period >= self.buffer_seconds:
            return frames
        cap = min(host_memory_budget() // 2, MAX_BUFFER_BYTES)
        wanted = min(int(self.buffer_seconds / period) + 1 if period > 0 else frames,
                     cap // frame_bytes)
        return wanted if wanted > frames and wanted * period >= INPLACE_MIN_SECONDS else frames

    def _inplace(self, sdk_frames: int) -> bool:
        """Continuous zero copy when the SDK buffer holds :data:`INPLACE_MIN_SECONDS` of frames.

        Only for data rates of :data:`INPLACE_MIN_RATE` and more, where the copy
        is what costs the CPU.

        A frame in place is safe while the consumer releases it within three
        quarters of the buffer's time (the pump copies what a stuck reader has
        not taken after a quarter); a shorter buffer copies every frame, as before.
        """
        if self.zero_copy or not self._fast_enough(self.ring.frame_bytes):
            return False
        return sdk_frames * self.settings.frame_period_s >= INPLACE_MIN_SECONDS

    def _fast_enough(self, frame_bytes: int) -> bool:
        """In place is for data rates of at least :data:`INPLACE_MIN_RATE`."""
        period = self.settings.frame_period_s
        return self.inplace and period > 0 and frame_bytes / period >= INPLACE_MIN_RATE

    def _new_pump(self) -> FramePump:
        return FramePump(self.lib, self.handle, use_callbacks=self.use_callbacks,
                         drop_when_full=self.drop_when_full, max_frames=self.max_frames,
                         poll_interval=self.poll_interval,
                         safety_interval=self._safety_interval,
                         refresh_interval=self._refresh_ns / 1e9, lag_margin=4,
                         zero_copy=self.zero_copy, inplace=not self.zero_copy,
                         coalesce=min(_COALESCE, max(0.0, self.buffer_seconds) / 8))


    def open(self) -> None:
        super().open()
        pump = self.pump
        try:
            pump.set_overwrite_mode(self.mode == int(C.CIRC_OVERWRITE))
            pump.start()
        except BaseException:
            error = self.teardown()
            if error is not None:
                logger.error("%s: cleanup after a failed pump start also failed: %s",
                             self.camera.name, error)
            raise
        logger.info("%s: native frame pump, host ring %d frames (%.2f GiB)", self.camera.name,
                    pump.ring_frames, pump.ring_frames * pump.frame_bytes / 1024 ** 3)

    # ------------------------------------------------------------------ supervisor
    def _loop(self) -> Outcome:
        signal, health, pump = self.signal, self.health, self.pump
        while True:
            if signal.stop_requested:
                return Outcome("STOPPED")
            if signal.removed:
                self._salvage()
                raise self._removed_error(None)
            now = _monotonic()
            events = pump.wait_event(min(max(0.0, health.deadline - now), _SUPERVISOR_SLICE))
            counters = self.sync()
            if signal.stop_requested or signal.removed:
                continue
            if events & PumpEvents.COMPLETE:
                self._complete = True
                if counters.exhausted:
                    logger.warning("%s: the burst buffer is full after %d frames (FrameNrs the "
                                   "camera skipped used slots too); the burst ends early",
                                   self.camera.name, counters.frames_delivered)
                return Outcome("COMPLETE")
            if events & PumpEvents.OVERRUN:
                self.stats.overruns += 1
                logger.warning("%s: circular buffer overrun (error 173) at frame %d: restarting "
                               "the acquisition", self.camera.name,
                               health.offset + counters.consumed + 1)
                self._restart("overrun")
                continue
            if events & (PumpEvents.REMOVED | PumpEvents.ERROR):
                error = pump.halt_error()
                if error is not None:
                    raise error
            if events & PumpEvents.PROGRESS:
                continue
            now = _monotonic()
            if now < health.deadline:
                continue
            if counters.ring_used >= counters.ring_frames and not self.drop_when_full:
                health.start(now)  # the consumer holds every slot: not the camera's stall
                continue
            if self._check_sdk() > self.sync().consumed:
                continue  # frames wait in the SDK buffer: the pump is taking them
            self._act_on_stall(now)

    def sync(self) -> Any:
        """Bring the health monitor and the statistics up to date with the pump.

        Safe from any thread (the stream's ``stats()`` calls it).

        Returns
        -------
        PumpCounters
            The counters read.
        """
        pump = self.pump
        with self._sync_lock:
            counters = pump.counters()
            health, stats = self.health, self.stats
            offset = health.offset
            for first, last, reason in pump.pop_losses():
                if reason == "dropped":
                    health.frames_dropped_reported(offset + first, offset + last)
                    stats.frames_dropped += last - first + 1
                else:
                    lost = health.frames_lost_reported(first, last, reason)
                    self._log_loss("%s: %d frame(s) lost (%s): stream frames %d..%d",
                                   self.camera.name, lost, reason, offset + first, offset + last)
            new = counters.frames_retrieved - self._retrieved_seen
            self._retrieved_seen = counters.frames_retrieved
            when = counters.last_frame_monotonic or _monotonic()
            health.frames_retrieved_batch(counters.consumed, new, when)
            stats.frames_retrieved = counters.frames_retrieved
            stats.callbacks_missed = counters.callbacks_missed
            stats.wakeups = counters.wakeups
            stats.max_batch = counters.max_batch
            delivered = counters.frames_delivered
            if delivered and stats.first_frame_monotonic is None:
                stats.first_frame_monotonic = self._first_delivery(counters)
            if delivered > stats.frames_delivered:
                stats.last_frame_monotonic = when
            stats.frames_delivered = delivered
            self.delivered = delivered
            for name, (counts, total, maximum) in pump.histograms().items():
                histogram = stats.histograms[name]
                histogram.counts = counts
                histogram.total = total
                histogram.maximum = maximum
            self._c = counters.consumed
            self._polled_latest = max(self._polled_latest, counters.polled_latest)
            self._signalled = counters.signalled_latest
            self.signal.latest = counters.signalled_latest
            return counters

    def _first_delivery(self, counters: Any) -> float:
        # The first frame's time is not kept; the run's start is the closest bound.
        return self.stats.started_monotonic or _monotonic()

    # ------------------------------------------------------------------ SDK side
    def _sdk_latest(self) -> int:
        info = self.lib.exp_check_cont_status_ex(self.handle)[3]
        return info.frame_number

    def _check_sdk(self) -> int:
        latest = self._sdk_latest()
        if latest > self._polled_latest:
            self._polled_latest = latest
        self.pump.note_latest(latest)
        return self._limit()

    def _limit(self) -> int:
        if self.use_callbacks:
            return max(self._signalled, self._polled_latest, self.signal.removed_at)
        return max(self._polled_latest, self.signal.removed_at)

    # ------------------------------------------------------------------ restart hooks
    # RunControl._restart stops, sets up and starts the SDK again; the pump is
    # parked around it and told where the old epoch ended.
    def _restart_pausing(self) -> None:
        self.pump.pause(_PAUSE_TIMEOUT)
        self._restart_counters = self.sync()

    def _restart_last_seen(self) -> int:
        counters = self._restart_counters
        return max(counters.consumed, counters.signalled_latest, counters.polled_latest)

    def _restart_stopped(self, last: int) -> None:
        self.pump.sdk_stopped(last)

    def _restart_epoch(self, record: Any) -> None:
        self.pump.new_epoch(self.health.offset, record.frames_lost)
        self._signalled = 0

    def _restart_resuming(self) -> None:
        self.pump.resume()

    def _stop_and_salvage(self) -> None:
        pump = self.pump
        pump.pause(_PAUSE_TIMEOUT)
        self.sync()
        with self.camera.lock:
            self.lib.exp_stop_cont(self.handle, int(C.CCS_HALT))
            self._running = False
            self._stopped_sdk()
        self._salvage()

    def _stopped_sdk(self) -> None:
        """The SDK was just stopped (camera lock held): tell the pump its last FrameNr."""
        latest: Optional[int] = None
        try:
            latest = self._sdk_latest()
        except SDKError as exc:
            logger.debug("%s: no status after stop (%s)", self.camera.name, exc)
        if latest is None and self.signal.removed:
            latest = self._limit()  # a removed camera writes nothing more: its notice says
        if latest is not None and not self.use_callbacks:
            self._polled_latest = max(self._polled_latest, latest)
        self.pump.sdk_stopped(latest)

    def _salvage(self) -> None:
        pump = self.pump
        if not pump.frame_bytes:
            return  # never attached: nothing was captured
        pump.pause(_PAUSE_TIMEOUT)
        self.sync()
        salvaged = pump.salvage(self._limit())
        self.sync()
        if salvaged:
            logger.info("%s: %d frame(s) completed before the end were taken from the buffer",
                        self.camera.name, salvaged)

    def teardown(self) -> Optional[BaseException]:
        """Park the pump (no SDK call in flight), then the run control's teardown."""
        try:
            self.pump.pause(_PAUSE_TIMEOUT)
        except PVCAMError as exc:
            logger.error("%s: %s", self.camera.name, exc)
        return super().teardown()

    def _release_frame_path(self) -> list[BaseException]:
        pump = self.pump
        errors: list[BaseException] = []
        try:
            pump.pause(_PAUSE_TIMEOUT)
        except PVCAMError as exc:
            errors.append(exc)
        if self._running or self._eof_registered:
            _UNRELEASED.append(pump)  # the SDK may still call the pump's callback
            return errors
        if pump.frame_bytes:
            self.sync()
        pump.close()
        return errors

    def context(self) -> dict[str, Any]:
        """As :meth:`RunControl.context`, with the pump's view (and host ring) added."""
        context = super().context()
        pump = self.pump
        if pump is not None:
            counters = pump.counters()
            context["frames_signalled"] = (counters.callbacks_total if self.use_callbacks
                                           else None)
            context["host_ring_used"] = counters.ring_used
            context["host_ring_frames"] = counters.ring_frames
        return context
