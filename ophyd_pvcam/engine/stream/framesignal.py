"""What the SDK's callback thread may touch: :class:`FrameSignal`.

The EOF callback reads the ``FRAME_INFO`` it is given (FrameNr, timestamps),
notes a FrameNr gap, bumps a counter and notifies a condition. It never
copies pixels, never calls the SDK, never blocks on anything but the
few-microsecond condition lock (held by the frame loop only to check a
counter and wait), and never raises: an exception is stored for the loop.
The ctypes function objects live as long as the signal, which the frame loop
keeps beyond the deregistration.
"""
from __future__ import annotations

import collections
import ctypes
import threading
import time
from typing import Any, Optional

from ophyd_pvcam.sdk.types import EOF_CALLBACK

__all__ = ["FrameSignal", "pin_thread_state"]

_perf_ns = time.perf_counter_ns

# ctypes runs a callback on a foreign (SDK) thread inside PyGILState_Ensure/Release;
# when the count returns to zero the interpreter destroys the thread state, so EVERY
# callback creates and destroys one (~20 us measured, against 0.5 us when a state
# persists). Taking one extra, never-released count per callback thread keeps its
# state alive: the cost is one PyThreadState (a few kB) per SDK callback thread.
_gilstate_ensure = getattr(getattr(ctypes, "pythonapi", None), "PyGILState_Ensure", None)
if _gilstate_ensure is not None:
    _gilstate_ensure.restype = ctypes.c_int
    _gilstate_ensure.argtypes = []
_pinned_threads: set[int] = set()


def pin_thread_state() -> None:
    """Keep the calling thread's Python thread state alive between callbacks.

    Called first thing in every SDK callback; after the first call on a thread
    it is one set lookup.
    """
    ident = threading.get_ident()
    if ident not in _pinned_threads:
        _pinned_threads.add(ident)
        if _gilstate_ensure is not None:
            _gilstate_ensure()


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
        #: True while the frame loop waits on ``cond`` (set before it checks ``latest``).
        self.waiting = False
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
            pin_thread_state()
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
            # Only a waiting loop needs waking; a draining one sees `latest` anyway
            # (it sets `waiting` before checking `latest`, so no wake-up is lost).
            if self.waiting:
                with self.cond:
                    self.cond.notify()
        except BaseException as exc:  # never propagate into the SDK's thread
            self.error = exc

    # Runs on the SDK's thread.
    def _on_removed(self, p_info: Any, _context: Any) -> None:
        try:
            pin_thread_state()
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
