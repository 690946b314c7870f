"""Stall detection, frame-loss accounting and the stall diagnosis, as a pure state machine.

:class:`HealthMonitor` never touches the SDK, a thread or a clock: the frame
loop feeds it events (acquisition started, frame retrieved with its SDK
``FrameNr``, frames known lost, a wait that found nothing, a restart) with the
current monotonic time, and it answers with numbers and :class:`Decision`
values. Every failure of the field report can therefore be replayed in unit
tests, deterministically, without hardware or sleeps.

Frame numbering. PVCAM numbers frames from 1 at each ``pl_exp_start_cont``.
A stream restarts the acquisition after a buffer overrun or a stall recovery,
so the monitor maps SDK numbers onto monotonic *stream* frame numbers:
``stream = offset + FrameNr``; each restart moves ``offset`` past the last
frame the previous acquisition is known to have produced and records a
:class:`Discontinuity`. Frames that were produced but never retrieved are
counted lost, with their stream numbers.

The diagnosis text (:func:`describe_stall`), :func:`status_name` and
:class:`Discontinuity` live in :mod:`ophyd_pvcam.engine.stream.diagnosis` and are
re-exported here.
"""
from __future__ import annotations

import enum
import math
from typing import Any, Optional

from ophyd_pvcam.engine.stream.diagnosis import Discontinuity, describe_stall, status_name
from ophyd_pvcam.engine.errors import StallError, ValidationError

__all__ = [
    "Decision",
    "Discontinuity",
    "HealthMonitor",
    "STALL_COUNT_RANGE",
    "STALL_TIMEOUT_RANGE",
    "default_stall_timeout",
    "describe_stall",
    "status_name",
]

#: Lower bound of the default stall timeout (seconds).
MIN_DEFAULT_STALL_TIMEOUT = 2.0
#: The stall timeouts [s] a user may set (0 means automatic): shorter ones fail a
#: healthy camera on scheduling jitter, longer ones make a stall a wait without end.
STALL_TIMEOUT_RANGE = (0.05, 86400.0)
#: The consecutive timeouts (``stall_count``) a user may ask for.
STALL_COUNT_RANGE = (1, 1000)
#: The default stall timeout is at least this many frame periods.
STALL_TIMEOUT_FRAME_PERIODS = 10


def default_stall_timeout(frame_period_s: Optional[float]) -> float:
    """The stall timeout used when none is given: ``max(2 s, 10 frame periods)``.

    Parameters
    ----------
    frame_period_s : float or None
        Expected seconds between frames (None or <= 0 when unknown).

    Returns
    -------
    float
        Seconds.
    """
    if frame_period_s is None or not math.isfinite(frame_period_s) or frame_period_s <= 0:
        return MIN_DEFAULT_STALL_TIMEOUT
    return max(MIN_DEFAULT_STALL_TIMEOUT, STALL_TIMEOUT_FRAME_PERIODS * frame_period_s)


class Decision(enum.Enum):
    """What the frame loop should do after :meth:`HealthMonitor.poll`."""

    #: Nothing happened; keep waiting (until :attr:`HealthMonitor.deadline`).
    WAIT = "wait"
    #: A wait of ``stall_timeout`` found no frame; fewer than ``stall_count`` in a row.
    TIMEOUT = "timeout"
    #: ``stall_count`` consecutive timeouts and no recovery left: end with a StallError.
    STALL = "stall"
    #: ``stall_count`` consecutive timeouts and a recovery left: restart the acquisition.
    RECOVER = "recover"


class HealthMonitor:
    """Tracks frame numbers, losses and waits of one stream run; decides stalls.

    Parameters
    ----------
    stall_timeout : float
        Seconds without a frame that make one timeout.
    stall_count : int
        Consecutive timeouts that make a stall.
    max_recoveries : int
        Stalls answered by restarting the acquisition before one ends the stream.
    lost_numbers_cap : int
        At most this many lost (and, separately, dropped) frame numbers are
        kept; the counts are always exact.
    camera : str
        Camera name, for the diagnosis.

    Notes
    -----
    Not thread-safe: only the frame loop feeds it. Other threads may read the
    plain attributes (ints, tuples) for monitoring.
    """

    def __init__(self, *, stall_timeout: float, stall_count: int = 3, max_recoveries: int = 0,
                 lost_numbers_cap: int = 1000, camera: str = "") -> None:
        if not (stall_timeout > 0 and math.isfinite(stall_timeout)):
            raise ValidationError(f"stall_timeout must be a positive number of seconds, "
                                  f"got {stall_timeout!r}", None, "HealthMonitor")
        if int(stall_count) < 1:
            raise ValidationError(f"stall_count must be >= 1, got {stall_count!r}",
                                  None, "HealthMonitor")
        if int(max_recoveries) < 0:
            raise ValidationError(f"max_recoveries must be >= 0, got {max_recoveries!r}",
                                  None, "HealthMonitor")
        self.stall_timeout = float(stall_timeout)
        self.stall_count = int(stall_count)
        self.max_recoveries = int(max_recoveries)
        self.lost_numbers_cap = max(0, int(lost_numbers_cap))
        self.camera = camera
        #: stream frame number = offset + SDK FrameNr
        self.offset = 0
        #: the SDK FrameNr the engine retrieves next (the SDK's consumer counter + 1)
        self.next_sdk_frame = 1
        #: stream number of the last retrieved frame (0: none yet)
        self.last_frame_number = 0
        self.last_sdk_frame = 0
        self.frames_retrieved = 0
        self.frames_lost = 0
        self.frames_dropped = 0
        self.lost_by_reason: dict[str, int] = {}
        self.consecutive_timeouts = 0
        self.timeouts_total = 0
        self.recoveries = 0
        self.discontinuities: tuple[Discontinuity, ...] = ()
        self.started_time: Optional[float] = None
        self.last_frame_time: Optional[float] = None
        self._mark: float = 0.0  # start of the current no-frame interval
        self._lost_ranges: list[tuple[int, int]] = []
        self._lost_numbers_kept = 0
        self._dropped: list[int] = []
        self._pending_lost_before = 0

    # ------------------------------------------------------------------ events
    def start(self, now: float) -> None:
        """The acquisition started (first start or a restart) at ``now``.

        Parameters
        ----------
        now : float
            Monotonic time.
        """
        if self.started_time is None:
            self.started_time = now
        self._mark = now

    def frame_retrieved(self, sdk_frame: int, now: float) -> int:
        """A frame with SDK number ``sdk_frame`` was copied out of the SDK buffer.

        A number above the expected one means the frames in between were
        lost (a FrameNr gap); they are counted with reason ``"gap"``.

        Parameters
        ----------
        sdk_frame : int
            The frame's 1-based SDK ``FrameNr``.
        now : float
            Monotonic time.

        Returns
        -------
        int
            The frame's stream frame number.

        Raises
        ------
        ValidationError
            When ``sdk_frame`` is below the expected number (a frame retrieved
            twice or out of order: an engine bug, never silently accepted);
            nothing is recorded. Also a ``ValueError``.
        """
        if sdk_frame < self.next_sdk_frame:
            raise ValidationError(f"frame {sdk_frame} retrieved again or out of order "
                                  f"(expected {self.next_sdk_frame})", None,
                                  "HealthMonitor.frame_retrieved")
        if sdk_frame > self.next_sdk_frame:
            self.frames_lost_sdk(self.next_sdk_frame, sdk_frame - 1, "gap")
        self.next_sdk_frame = sdk_frame + 1
        self.last_sdk_frame = sdk_frame
        number = self.offset + sdk_frame
        self.last_frame_number = number
        self.frames_retrieved += 1
        self.consecutive_timeouts = 0
        self.last_frame_time = now
        self._mark = now
        return number

    def frames_retrieved_batch(self, last_sdk_frame: int, count: int, now: float) -> None:
        """``count`` frames were retrieved by a native pump, the last with FrameNr ``last_sdk_frame``.

        The pump counts its losses itself and reports them with
        :meth:`frames_lost_reported`, so nothing between the frames is
        counted here.

        Parameters
        ----------
        last_sdk_frame : int
            The SDK ``FrameNr`` of the last frame the pump took.
        count : int
            Frames retrieved since the previous call (>= 0).
        now : float
            Monotonic time of the last retrieved frame.
        """
        if count <= 0 and last_sdk_frame < self.next_sdk_frame:
            return
        self.next_sdk_frame = max(self.next_sdk_frame, last_sdk_frame + 1)
        self.last_sdk_frame = last_sdk_frame
        self.last_frame_number = self.offset + last_sdk_frame
        self.frames_retrieved += max(0, count)
        if count > 0:
            self.consecutive_timeouts = 0
            self.last_frame_time = now
            self._mark = max(self._mark, now)

    def frames_lost_reported(self, first_sdk: int, last_sdk: int, reason: str) -> int:
        """SDK frames ``first_sdk..last_sdk`` were counted lost by a native pump.

        Unlike :meth:`frames_lost_sdk` this trusts the range as given (the pump
        reports each lost FrameNr exactly once, possibly after frames beyond
        it were retrieved) and does not move the expected frame.

        Parameters
        ----------
        first_sdk, last_sdk : int
            SDK ``FrameNr`` range (inclusive).
        reason : str
            ``"gap"``, ``"overwritten"`` ...

        Returns
        -------
        int
            Number of frames counted.
        """
        if last_sdk < first_sdk:
            return 0
        self._record_loss(self.offset + first_sdk, self.offset + last_sdk, reason)
        self.next_sdk_frame = max(self.next_sdk_frame, last_sdk + 1)
        return last_sdk - first_sdk + 1

    def frames_dropped_reported(self, first_number: int, last_number: int) -> None:
        """Stream frames ``first_number..last_number`` were dropped by a native pump.

        Parameters
        ----------
        first_number, last_number : int
            Stream frame numbers (inclusive).
        """
        count = max(0, last_number - first_number + 1)
        self.frames_dropped += count
        room = self.lost_numbers_cap - len(self._dropped)
        if room > 0:
            self._dropped.extend(range(first_number, first_number + min(room, count)))

    def frames_lost_sdk(self, first_sdk: int, last_sdk: int, reason: str) -> int:
        """SDK frames ``first_sdk..last_sdk`` (inclusive) will never be retrieved.

        The next expected frame moves past ``last_sdk``.

        Parameters
        ----------
        first_sdk, last_sdk : int
            SDK ``FrameNr`` range; empty when ``last_sdk < first_sdk``.
        reason : str
            ``"gap"``, ``"overwritten"``, ``"overrun"``, ``"restart"`` ...

        Returns
        -------
        int
            Number of frames counted.
        """
        first_sdk = max(first_sdk, self.next_sdk_frame)
        if last_sdk < first_sdk:
            return 0
        self._record_loss(self.offset + first_sdk, self.offset + last_sdk, reason)
        self.next_sdk_frame = last_sdk + 1
        return last_sdk - first_sdk + 1

    def frame_dropped(self, frame_number: int) -> None:
        """A retrieved frame was dropped because the consumer was slower.

        Parameters
        ----------
        frame_number : int
            Its stream frame number.
        """
        self.frames_dropped += 1
        self._pending_lost_before += 1
        if len(self._dropped) < self.lost_numbers_cap:
            self._dropped.append(frame_number)

    @property
    def pending_lost_before(self) -> int:
        """Frames lost or dropped since the last :meth:`take_lost_before` (not reset)."""
        return self._pending_lost_before

    def take_lost_before(self) -> int:
        """Frames lost or dropped since the previous call (for ``Frame.lost_before``).

        Returns
        -------
        int
        """
        pending, self._pending_lost_before = self._pending_lost_before, 0
        return pending

    def poll(self, now: float) -> Decision:
        """A wait returned without a frame; decide what it means at ``now``.

        A timeout is counted each time a full ``stall_timeout`` passed since the
        last frame, the start, or the previous timeout.

        Parameters
        ----------
        now : float
            Monotonic time.

        Returns
        -------
        Decision
        """
        if now < self._mark + self.stall_timeout:
            return Decision.WAIT
        self.consecutive_timeouts += 1
        self.timeouts_total += 1
        self._mark = now
        if self.consecutive_timeouts < self.stall_count:
            return Decision.TIMEOUT
        if self.recoveries < self.max_recoveries:
            return Decision.RECOVER
        return Decision.STALL

    @property
    def deadline(self) -> float:
        """Monotonic time at which the next :meth:`poll` would count a timeout."""
        return self._mark + self.stall_timeout

    def restart(self, reason: str, sdk_last_frame: int, now: float) -> Discontinuity:
        """The acquisition is being restarted; FrameNr will start again at 1.

        Frames the old acquisition produced but the engine did not retrieve
        (``next_sdk_frame .. sdk_last_frame``) are counted lost with ``reason``.

        Parameters
        ----------
        reason : str
            ``"overrun"`` or ``"stall"`` (a stall recovery, counted in ``recoveries``).
        sdk_last_frame : int
            The highest ``FrameNr`` the old acquisition is known to have produced.
        now : float
            Monotonic time.

        Returns
        -------
        Discontinuity
        """
        lost = self.frames_lost_sdk(self.next_sdk_frame, sdk_last_frame, reason)
        self.offset += max(sdk_last_frame, self.next_sdk_frame - 1)
        self.next_sdk_frame = 1
        self.last_sdk_frame = 0
        self.consecutive_timeouts = 0
        if reason == "stall":
            self.recoveries += 1
        record = Discontinuity(reason, self.offset + 1, sdk_last_frame, lost, now)
        self.discontinuities = self.discontinuities + (record,)
        self._mark = now
        return record

    # ----------------------------------------------------------------- queries
    @property
    def lost_frame_numbers(self) -> tuple[int, ...]:
        """Stream numbers of lost frames, ascending, at most ``lost_numbers_cap``."""
        numbers: list[int] = []
        for first, last in self._lost_ranges:
            numbers.extend(range(first, last + 1))
        return tuple(numbers[: self.lost_numbers_cap])

    @property
    def dropped_frame_numbers(self) -> tuple[int, ...]:
        """Stream numbers of dropped frames, at most ``lost_numbers_cap``."""
        return tuple(self._dropped)

    def seconds_since_last_frame(self, now: float) -> float:
        """Seconds since the last retrieved frame (or the start, before the first).

        Parameters
        ----------
        now : float
            Monotonic time.

        Returns
        -------
        float
        """
        ref = self.last_frame_time if self.last_frame_time is not None else self.started_time
        return max(0.0, now - ref) if ref is not None else 0.0

    def diagnostics(self, now: float, **context: Any) -> dict[str, Any]:
        """A snapshot for a StallError or a log line.

        Parameters
        ----------
        now : float
            Monotonic time.
        **context
            What only the stream knows, merged in: ``frames_signalled``,
            ``frames_delivered``, ``sdk_latest_frame``, ``sdk_status`` (int),
            ``buffer_frames``, ``buffer_fill``, ``buffer_mode``, ``use_callbacks``.

        Returns
        -------
        dict
        """
        diag: dict[str, Any] = {
            "camera": self.camera,
            "last_frame_number": self.last_frame_number,
            "last_sdk_frame": self.last_sdk_frame,
            "frames_retrieved": self.frames_retrieved,
            "frames_lost": self.frames_lost,
            "frames_dropped": self.frames_dropped,
            "lost_by_reason": dict(self.lost_by_reason),
            "seconds_since_last_frame": self.seconds_since_last_frame(now),
            "stall_timeout": self.stall_timeout,
            "stall_count": self.stall_count,
            "consecutive_timeouts": self.consecutive_timeouts,
            "recoveries": self.recoveries,
            "max_recoveries": self.max_recoveries,
            "restarts": len(self.discontinuities),
        }
        diag.update(context)
        status = diag.get("sdk_status")
        diag["sdk_status_name"] = status_name(status if isinstance(status, int) else None)
        return diag

    def stall_error(self, now: float, **context: Any) -> StallError:
        """Build the StallError that ends the stream (see :func:`describe_stall`).

        Parameters
        ----------
        now : float
            Monotonic time.
        **context
            As for :meth:`diagnostics`.

        Returns
        -------
        StallError
        """
        diag = self.diagnostics(now, **context)
        return StallError(describe_stall(diag), diag, "stream")

    # ---------------------------------------------------------------- internal
    def _record_loss(self, first: int, last: int, reason: str) -> None:
        count = last - first + 1
        self.frames_lost += count
        self._pending_lost_before += count
        self.lost_by_reason[reason] = self.lost_by_reason.get(reason, 0) + count
        room = self.lost_numbers_cap - self._lost_numbers_kept
        if room > 0:
            kept_last = min(last, first + room - 1)
            if self._lost_ranges and self._lost_ranges[-1][1] + 1 == first:
                self._lost_ranges[-1] = (self._lost_ranges[-1][0], kept_last)
            else:
                self._lost_ranges.append((first, kept_last))
            self._lost_numbers_kept += kept_last - first + 1
