"""What the native pump reports: :class:`PumpEvents` bits and :class:`PumpCounters`."""
from __future__ import annotations

from ophyd_pvcam.engine.stream.native import _abi

__all__ = ["LOSS_REASONS", "PumpCounters", "PumpEvents"]

#: Loss reasons of the C ledger, as the stream statistics name them.
LOSS_REASONS = _abi.REASONS


class PumpEvents:
    """Bits returned by :meth:`FramePump.wait_event`."""

    #: Loss records wait in the queue (:meth:`FramePump.pop_losses`).
    LOSS = _abi.EV_LOSS
    #: Error 173 (CIRC_NO_OVERWRITE overrun): the pump halted; restart, then resume.
    OVERRUN = _abi.EV_OVERRUN
    #: Another SDK error halted the pump (:meth:`FramePump.halt_error`).
    ERROR = _abi.EV_ERROR
    #: ``max_frames`` frames were delivered: the pump halted.
    COMPLETE = _abi.EV_COMPLETE
    #: Error 180 from a frame call: the camera is gone; the pump halted.
    REMOVED = _abi.EV_REMOVED
    #: :meth:`FramePump.request_stop` was called.
    STOP = _abi.EV_STOP
    #: :meth:`FramePump.wake` was called.
    WOKEN = _abi.EV_WOKEN
    #: Frames were drained since the previous :meth:`FramePump.wait_event`.
    PROGRESS = _abi.EV_PROGRESS
    #: Events after which the pump waits for :meth:`FramePump.resume`.
    HALTING = OVERRUN | ERROR | COMPLETE | REMOVED


class PumpCounters:
    """A snapshot of the pump's counters (:meth:`FramePump.counters`).

    Attributes
    ----------
    consumed : int
        SDK FrameNr of the last frame taken from the SDK buffer (the SDK's
        consumer counter, mirrored).
    signalled_latest, polled_latest : int
        Highest FrameNr announced by an EOF callback / by the SDK's status.
    callbacks, callbacks_total, callback_duplicates, callbacks_missed : int
        EOF callbacks this epoch / in the pump's life / repeated FrameNrs /
        frames drained although their callback never came.
    frames_retrieved, frames_delivered : int
        Frames copied out of the SDK buffer / published into the host ring.
    lost_by_reason : dict of str to int
        Frames the pump counted lost, by reason (``LOSS_REASONS``).
    wakeups, max_batch : int
        Drains that took at least one frame, and the most frames one took.
    last_frame_monotonic : float or None
        ``time.monotonic()`` of the last retrieved frame.
    ring_used, ring_peak, ring_frames, ring_touched_bytes : int
        Host ring slots in use now / at most / in all, and the bytes of it
        ever written (the ring's span; what it holds resident is less once
        pages are trimmed, see ``ring_trimmed_bytes``).
    ring_trimmed_bytes : int
        Ring bytes given back to the kernel behind the consumer (a consumer
        that fell behind walks the ring; the pages it left are returned).
    error_code, error_call : int, str
        The SDK error that halted the pump and the call that failed.
    halted, ended : bool
    copy_seconds, drain_seconds : float
        Time the pump spent copying frames / draining in total.
    pending_lost : int
        Losses not yet attached to a delivered frame's ``lost_before``.
    exhausted : bool
        Zero copy: the burst buffer was used up (FrameNrs the camera skipped
        take slots too) before ``max_frames`` frames; the pump halted.
    frames_inplace, frames_copied : int
        In place (continuous zero copy): frames handed out where the camera
        wrote them / copied into the host ring because the consumer was more
        than half the SDK buffer behind.
    held_overwritten : int
        In place: frames the camera overwrote while the consumer held them
        (handed out, then counted lost as ``"overwritten"``: their pixels
        cannot be trusted).
    untaken_overwritten : int
        In place: frames the camera overwrote before a reader took them
        (never handed out; counted lost as ``"overwritten"``).
    """

    __slots__ = ("consumed", "signalled_latest", "polled_latest", "callbacks",
                 "callbacks_total", "callback_duplicates", "callbacks_missed",
                 "frames_retrieved", "frames_delivered", "lost_by_reason", "wakeups",
                 "max_batch", "last_frame_monotonic", "ring_used", "ring_peak", "ring_frames",
                 "ring_touched_bytes", "error_code", "error_call", "halted", "ended",
                 "copy_seconds", "drain_seconds", "pending_lost", "exhausted", "frames_inplace",
                 "frames_copied", "held_overwritten", "untaken_overwritten",
                 "ring_trimmed_bytes")

    def __init__(self, raw: _abi.Counters) -> None:
        for name in ("consumed", "signalled_latest", "polled_latest", "callbacks",
                     "callbacks_total", "callback_duplicates", "callbacks_missed",
                     "frames_retrieved", "frames_delivered", "wakeups", "max_batch",
                     "ring_used", "ring_peak", "ring_frames", "ring_touched_bytes",
                     "error_code", "pending_lost", "frames_inplace", "frames_copied",
                     "held_overwritten", "untaken_overwritten", "ring_trimmed_bytes"):
            setattr(self, name, int(getattr(raw, name)))
        self.lost_by_reason = {reason: int(raw.lost_by_reason[i])
                               for i, reason in enumerate(LOSS_REASONS)}
        self.last_frame_monotonic = raw.last_frame_ns / 1e9 if raw.last_frame_ns else None
        self.error_call = _abi.ERROR_CALLS.get(int(raw.error_call), "")
        self.halted = bool(raw.halted)
        self.exhausted = bool(raw.exhausted)
        self.ended = bool(raw.ended)
        self.copy_seconds = raw.copy_ns_total / 1e9
        self.drain_seconds = raw.drain_ns_total / 1e9

    def __repr__(self) -> str:
        return (f"<PumpCounters consumed {self.consumed}, delivered {self.frames_delivered}, "
                f"lost {self.lost_by_reason}, ring {self.ring_used}/{self.ring_frames}>")
