"""The bounded hand-over between a stream's frame loop and whoever consumes its frames.

:class:`FrameQueue` holds at most ``maxsize`` frames. When the consumer is
slower than the camera, the stream's ``overflow`` policy decides:

``"block"``
    The frame loop waits for room. Meanwhile frames accumulate in the SDK's
    circular buffer, which absorbs ``buffer_seconds`` of lag; beyond that,
    CIRC_OVERWRITE overwrites old frames and CIRC_NO_OVERWRITE overruns —
    either way the loss is counted by the stream, never silent.
``"drop"``
    The newest frame is dropped and counted (``frames_dropped`` and its
    number); the frame loop never waits.

A stop request interrupts a blocked ``put``: the frame in hand is then
appended anyway (one frame over the bound), so a retrieved frame is never
lost to a stop.
"""
from __future__ import annotations

import collections
import threading
import time
from typing import Any, Optional

from ophyd_pvcam.engine.errors import ValidationError

__all__ = ["OVERFLOW_POLICIES", "FrameQueue", "END"]

#: The accepted ``overflow`` policies.
OVERFLOW_POLICIES = ("block", "drop")


class _End:
    """Marker returned by :meth:`FrameQueue.get` once the queue is closed and empty."""

    def __repr__(self) -> str:
        return "END"


#: Returned by :meth:`FrameQueue.get` after :meth:`FrameQueue.close` once every frame was taken.
END: Any = _End()


class FrameQueue:
    """A bounded FIFO of frames with a block-or-drop overflow policy.

    Parameters
    ----------
    maxsize : int
        Maximum frames held (>= 1).
    overflow : str
        ``"block"`` or ``"drop"``.
    """

    def __init__(self, maxsize: int, overflow: str = "block") -> None:
        if int(maxsize) < 1:
            raise ValidationError(f"queue_size must be >= 1, got {maxsize!r}", None, "queue_size")
        if overflow not in OVERFLOW_POLICIES:
            raise ValidationError(f"overflow must be one of {OVERFLOW_POLICIES}, got {overflow!r}",
                                  None, "overflow")
        self.maxsize = int(maxsize)
        self.overflow = overflow
        self._items: collections.deque = collections.deque()
        self._lock = threading.Lock()
        self._not_empty = threading.Condition(self._lock)
        self._not_full = threading.Condition(self._lock)
        self._closed = False
        self._interrupted = False
        #: Longest time (s) a ``put`` waited for room.
        self.max_block_seconds = 0.0

    def __len__(self) -> int:
        return len(self._items)

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called (no more frames will come)."""
        return self._closed

    def put(self, frame: Any) -> bool:
        """Add a frame according to the overflow policy.

        Parameters
        ----------
        frame : Frame

        Returns
        -------
        bool
            False when the frame was dropped (``"drop"`` and full), else True.
        """
        with self._lock:
            if len(self._items) >= self.maxsize and not self._interrupted:
                if self.overflow == "drop":
                    return False
                started = time.monotonic()
                while len(self._items) >= self.maxsize and not self._interrupted:
                    self._not_full.wait()
                self.max_block_seconds = max(self.max_block_seconds, time.monotonic() - started)
            self._items.append(frame)
            self._not_empty.notify()
            return True

    def get(self, timeout: Optional[float] = None) -> Any:
        """Take the oldest frame.

        Parameters
        ----------
        timeout : float, optional
            Seconds to wait; None waits until a frame or the end.

        Returns
        -------
        Frame, None or END
            A frame; None when ``timeout`` passed; :data:`END` when the queue is
            closed and empty.
        """
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        with self._lock:
            while not self._items:
                if self._closed:
                    return END
                if deadline is None:
                    self._not_empty.wait()
                else:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return None
                    self._not_empty.wait(remaining)
            frame = self._items.popleft()
            self._not_full.notify()
            return frame

    def interrupt(self) -> None:
        """Wake a blocked :meth:`put` and stop ``put`` from blocking from now on."""
        with self._lock:
            self._interrupted = True
            self._not_full.notify_all()

    def close(self) -> None:
        """No more frames will be put; readers get :data:`END` after the last one."""
        with self._lock:
            self._closed = True
            self._interrupted = True
            self._not_empty.notify_all()
            self._not_full.notify_all()
