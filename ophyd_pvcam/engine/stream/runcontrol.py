"""The SDK lifecycle of one stream run: setup with fallback, restart, salvage, teardown.

:class:`RunControl` holds the state of a run and the calls made around the
frame loop, all under the camera lock: register callbacks once, then
``pl_exp_setup_cont`` + ``pl_exp_start_cont`` with the buffer-mode fallback;
restart (stop, setup, start) after an overrun or for a stall recovery;
salvage of completed frames once nothing writes into the ring any more;
and the teardown order stop -> deregister -> free the ring. The per-frame
work is :class:`~ophyd_pvcam.engine.stream.frameloop.FrameLoop`, its subclass.
"""
from __future__ import annotations

import collections
import logging
import time
from typing import Any, Callable, Optional

import numpy as np

from ophyd_pvcam.engine.stream.bufmode import candidate_modes, mode_name, setup_and_start
from ophyd_pvcam.engine.stream.buffers import CircularBuffer, FramePool, plan_buffer_frames
from ophyd_pvcam.engine.errors import AcquisitionError, CameraRemovedError
from ophyd_pvcam.engine.frame import Frame
from ophyd_pvcam.engine.stream.framesignal import FrameSignal
from ophyd_pvcam.engine.stream.health import Decision, HealthMonitor, status_name
from ophyd_pvcam.engine.stream.stats import StatsRecorder
from ophyd_pvcam.sdk import constants as C
from ophyd_pvcam.sdk.errors import DeviceRemovedError, PVCAMError, SDKError

__all__ = ["RunControl"]

logger = logging.getLogger(__name__)

_monotonic = time.monotonic

# Buffers the SDK might still write into (its stop failed): never freed.
_UNRELEASED: list[CircularBuffer] = []


class RunControl:
    """State and SDK lifecycle of one stream run (subclassed by FrameLoop).

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
        Wake on EOF callbacks (True) or poll ``pl_exp_check_cont_status_ex``
        (False: no EOF callback is registered, and FrameNrs the camera skips
        cannot be detected; :meth:`open` logs a warning saying so).
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
                self._register_eof()
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
        if not self.use_callbacks and self.frame_bytes == self.settings.frame_bytes:
            # Once per run, never per frame: the blind spot must be known, not repeated.
            # (Frames with metadata say their own FrameNr: no blind spot.)
            logger.warning("%s: polling without EOF callbacks: FrameNrs the camera skips cannot "
                           "be detected (the SDK reports only the latest frame's number); such "
                           "a frame's slot is delivered with stale contents and not counted "
                           "lost. Overwritten frames and overruns are still counted.",
                           camera.name)

    def _register_eof(self) -> None:
        """Register the EOF callback (the native loop's pump registers its own)."""
        self.camera.register_callback(int(C.PL_CALLBACK_EOF), self.signal.eof_callback)
        self._registered.append(int(C.PL_CALLBACK_EOF))

    def _deregistered(self, event: int) -> None:
        """The callback of ``event`` is no longer registered."""

    def _release_frame_path(self) -> list[BaseException]:
        """After the SDK stopped and before its buffer is freed: end what reads from it."""
        return []

    def _act_on_stall(self, now: float) -> None:
        """A whole stall timeout passed without a frame (and the SDK has none waiting).

        Asks the health monitor and acts on its decision, the same for every
        frame path: warn (a timeout), restart the acquisition (a recovery) or
        raise the :class:`~ophyd_pvcam.engine.errors.StallError` with its diagnosis.

        Parameters
        ----------
        now : float
            ``time.monotonic()``.

        Raises
        ------
        StallError
            When the stall is final (every recovery spent).
        """
        health = self.health
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
            # Raised with its diagnosis to whoever runs the stream (the plan, the CLI):
            # logging it too would print the diagnosis twice.
            logger.debug("%s", error)
            raise error

    def _stopped_sdk(self) -> None:
        """The SDK was just stopped by the teardown (camera lock held)."""

    def _sdk_ring_frames(self, frame_bytes: int) -> int:
        """Frames of the SDK circular buffer (:func:`plan_buffer_frames`)."""
        return plan_buffer_frames(frame_bytes, self.settings.frame_period_s,
                                  buffer_seconds=self.buffer_seconds,
                                  min_frames=self.min_buffer_frames,
                                  memory_budget=self.memory_budget)

    def _ring_kept_elsewhere(self) -> bool:
        """True when something else owns the SDK buffer's memory after the run."""
        return False

    def _populate_ring(self) -> bool:
        """True to fault the SDK buffer's pages in at allocation (a burst buffer)."""
        return False

    def _provide_buffer(self, frame_bytes: int) -> tuple[int, int]:
        """Allocate the ring (once) for frames of ``frame_bytes``."""
        if self.ring is None or self.ring.frame_bytes != frame_bytes:
            if self.ring is not None:
                self._slots = None
                self.ring.close()  # never started with it: safe
            frames = self._sdk_ring_frames(frame_bytes)
            self.ring = CircularBuffer(frame_bytes, frames, populate=self._populate_ring())
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
        # Several regions or metadata: deliver the raw frame as one row (decoded downstream).
        return (1, frame_bytes // itemsize)

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
        """Stop, setup, start again (same mode, same ring); FrameNr restarts at 1.

        Both frame paths restart the same way; the native one parks its pump
        around it through the ``_restart_*`` hooks.
        """
        camera, lib, handle = self.camera, self.lib, self.handle
        self._restart_pausing()
        with camera.lock:
            lib.exp_stop_cont(handle, int(C.CCS_HALT))
            self._running = False
            last = self._restart_last_seen()
            try:
                last = max(last, lib.exp_check_cont_status_ex(handle)[3].frame_number)
            except SDKError as exc:
                logger.debug("%s: no status after stop (%s)", camera.name, exc)
            self._restart_stopped(last)
            record = self.health.restart(reason, last, _monotonic())
            self.stats.restarts += 1
            self._restart_epoch(record)
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
        self._restart_resuming()
        logger.warning("%s: acquisition restarted after %s; %d frame(s) lost, numbering "
                       "continues at %d", camera.name, reason, record.frames_lost,
                       record.first_frame)

    def _restart_pausing(self) -> None:
        """Before a restart stops the SDK (nothing here; the native pump parks)."""

    def _restart_last_seen(self) -> int:
        """The newest FrameNr this path saw before the restart's stop."""
        return max(self.signal.latest, self._polled_latest, self._c)

    def _restart_stopped(self, last: int) -> None:
        """The restart's stop ended the epoch at FrameNr ``last`` (camera lock held)."""

    def _restart_epoch(self, record: Any) -> None:
        """A new epoch began (``record``: the health monitor's; camera lock held)."""

    def _restart_resuming(self) -> None:
        """After the SDK started again (nothing here; the native pump resumes)."""

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
                    self._stopped_sdk()
                except DeviceRemovedError as exc:
                    # A removed camera writes nothing more into our buffer.
                    errors.append(exc)
                    self._running = False
                    self._stopped_sdk()
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
                    self._deregistered(event)
                except PVCAMError as exc:
                    errors.append(exc)
            errors.extend(self._release_frame_path())
            camera.end_acquisition()
        if self.ring is not None:
            if self._running:
                _UNRELEASED.append(self.ring)
                logger.error("%s: the SDK could not be stopped; its circular buffer (%d bytes) "
                             "is kept allocated", camera.name, self.ring.nbytes)
            elif not self._ring_kept_elsewhere():
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

    # ------------------------------------------------------------------ provided by FrameLoop
    def _hand_on(self, n: int, array: np.ndarray) -> None:
        raise NotImplementedError

    def _sdk_latest(self) -> int:
        raise NotImplementedError

    def _limit(self) -> int:
        raise NotImplementedError
