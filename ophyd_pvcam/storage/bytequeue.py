"""A FIFO bounded by the bytes of pixels it holds (and optionally by frames).

The writer's queue is part of the host memory budget
(:func:`~ophyd_pvcam.engine.budget.host_memory_budget`), so it is bounded in
bytes, not in items: one item may be a single 8 KiB frame or a block of a
thousand 8 MiB frames. Bytes are given back with :meth:`ByteQueue.done` once
the consumer has finished with an item (written it), so the bound covers
what waits *and* what is being written. Control items (``nbytes=0``, put
with :meth:`ByteQueue.put_control`) never wait.

An item larger than the whole bound is accepted when the queue holds no
bytes, so a block bigger than the queue is never refused forever.
"""
from __future__ import annotations

import collections
import queue
import threading
import time
from typing import Any, Optional

__all__ = ["ByteQueue"]


class ByteQueue:
    """FIFO of ``(item, nbytes, frames)`` bounded by bytes and optionally frames.

    Parameters
    ----------
    max_bytes : int
        Most bytes held (queued plus taken but not yet :meth:`done`).
    max_frames : int, optional
        Most frames *waiting* (taken items no longer count); ``None``: no limit.
    """

    def __init__(self, max_bytes: int, max_frames: Optional[int] = None):
        if max_bytes < 1:
            raise ValueError(f"max_bytes must be >= 1, got {max_bytes}")
        if max_frames is not None and max_frames < 1:
            raise ValueError(f"max_frames must be >= 1, got {max_frames}")
        self.max_bytes = int(max_bytes)
        self.max_frames = None if max_frames is None else int(max_frames)
        self._items: collections.deque = collections.deque()
        self._bytes = 0
        self._frames = 0
        self._cond = threading.Condition(threading.Lock())
        self.bytes_high_water = 0

    @property
    def bytes(self) -> int:
        """Bytes held: queued plus taken and not yet :meth:`done`."""
        return self._bytes

    @property
    def frames(self) -> int:
        """Frames waiting in the queue."""
        return self._frames

    def __len__(self) -> int:
        return len(self._items)

    def _fits(self, nbytes: int, frames: int) -> bool:
        if self._bytes > 0 and self._bytes + nbytes > self.max_bytes:
            return False
        if self.max_frames is not None and self._frames > 0 and \
                self._frames + frames > self.max_frames:
            return False
        return True

    def put(self, item: Any, nbytes: int, frames: int = 1,
            timeout: Optional[float] = None) -> bool:
        """Append ``item`` once it fits; wait at most ``timeout`` seconds.

        Returns
        -------
        bool
            True if queued, False if it still did not fit after ``timeout``.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._fits(nbytes, frames):
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
            self._items.append((item, int(nbytes), int(frames)))
            self._bytes += int(nbytes)
            self._frames += int(frames)
            self.bytes_high_water = max(self.bytes_high_water, self._bytes)
            self._cond.notify_all()
            return True

    def put_control(self, item: Any) -> None:
        """Append an item that holds no pixels; never waits."""
        with self._cond:
            self._items.append((item, 0, 0))
            self._cond.notify_all()

    def get(self, timeout: Optional[float] = None) -> tuple[Any, int]:
        """Take the oldest item: ``(item, nbytes)``; pass ``nbytes`` to :meth:`done`.

        Raises
        ------
        queue.Empty
            If nothing arrived within ``timeout`` (``0``: do not wait).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._items:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise queue.Empty
                self._cond.wait(remaining)
            item, nbytes, frames = self._items.popleft()
            self._frames -= frames
            self._cond.notify_all()
            return item, nbytes

    def done(self, nbytes: int) -> None:
        """Give back the bytes of an item taken with :meth:`get`."""
        if nbytes:
            with self._cond:
                self._bytes -= int(nbytes)
                self._cond.notify_all()
