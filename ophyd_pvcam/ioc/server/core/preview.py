"""The preview slot: the newest frame, decimated, at most ``rate`` times per second.

The engine's delivery thread offers every frame; decimation happens only when
a preview is due, so its cost follows the preview rate, not the camera's.
The ``image1:`` records' paced task (:mod:`ophyd_pvcam.ioc.server.image`) takes the previews.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ophyd_pvcam.engine.errors import ValidationError
from ophyd_pvcam.engine.frame import Frame

__all__ = ["Preview", "PreviewSlot"]


@dataclass(frozen=True)
class Preview:
    """One decimated frame for the preview records.

    Attributes
    ----------
    counter : int
        Preview number (increments per preview).
    frame_number : int
        The engine frame it came from.
    data : numpy.ndarray
        2-D, C-contiguous, same dtype as the frame.
    stride : int
        Decimation factor (every ``stride``-th row and column).
    """

    counter: int
    frame_number: int
    data: np.ndarray
    stride: int


class PreviewSlot:
    """The latest decimated frame, produced at most ``rate`` times per second.

    The engine's delivery thread :meth:`offer` s every frame; decimation
    happens only when a preview is due, so the cost is bounded by the rate,
    not the camera's frame rate. The server's paced task :meth:`take` s it.

    Parameters
    ----------
    size : int
        Largest preview side in pixels.
    rate : float
        Largest preview rate [Hz] (> 0).
    """

    def __init__(self, size: int, rate: float):
        if size < 1:
            raise ValidationError(f"preview size must be >= 1, got {size}", None, "preview")
        if not rate > 0:
            raise ValidationError(f"preview rate must be > 0, got {rate}", None, "preview")
        self.size = int(size)
        self.rate = float(rate)
        self._lock = threading.Lock()
        self._due = 0.0
        self._counter = 0
        self._latest: Optional[Preview] = None
        self._taken = 0

    @property
    def interval(self) -> float:
        """Seconds between previews."""
        return 1.0 / self.rate

    def set_rate(self, rate: float) -> float:
        """Change the preview rate.

        Parameters
        ----------
        rate : float
            Hz, > 0.

        Returns
        -------
        float
        """
        if not (isinstance(rate, (int, float)) and math.isfinite(rate) and rate > 0):
            raise ValidationError(f"preview rate must be a number > 0, got {rate!r}", None,
                                  "MinCallbackTime")
        self.rate = float(rate)
        return self.rate

    def stride_for(self, shape: tuple[int, int]) -> int:
        """Decimation factor that brings ``shape`` within ``size``."""
        return max(1, math.ceil(max(shape) / self.size))

    def offer(self, frame: Frame) -> None:
        """Keep a decimated copy of ``frame`` if a preview is due.

        Parameters
        ----------
        frame : Frame
        """
        now = time.monotonic()
        if now < self._due:
            return
        # Advance from the previous due time, not from now: frames rarely land
        # exactly on time, and "now + interval" would lose up to a frame
        # period per preview (20 Hz asked, 15 Hz got at 40 fps). After a
        # pause longer than an interval, restart the schedule from now.
        if now - self._due >= self.interval:
            self._due = now + self.interval
        else:
            self._due += self.interval
        stride = self.stride_for(frame.data.shape)
        data = np.ascontiguousarray(frame.data[::stride, ::stride])
        with self._lock:
            self._counter += 1
            self._latest = Preview(self._counter, frame.frame_number, data, stride)

    def take(self) -> Optional[Preview]:
        """Return the newest preview not taken yet, or None.

        Returns
        -------
        Preview or None
        """
        with self._lock:
            latest = self._latest
            if latest is None or latest.counter == self._taken:
                return None
            self._taken = latest.counter
            return latest
