"""The options of a :class:`~ophyd_pvcam.engine.stream.stream.Stream`, validated once.

Kept apart from the stream so the rules (ranges, defaults that depend on the
frame period) are readable in one place and checked before anything touches
the camera.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional, Union

from ophyd_pvcam.engine.stream.bufmode import parse_buffer_mode
from ophyd_pvcam.engine.stream.delivery import OVERFLOW_POLICIES
from ophyd_pvcam.engine.errors import ValidationError
from ophyd_pvcam.engine.stream.health import default_stall_timeout

__all__ = ["StreamOptions", "MIN_POLL_INTERVAL", "MAX_POLL_INTERVAL", "PUMPS",
           "PYTHON_QUEUE_SIZE"]

#: The accepted ``pump`` values.
PUMPS = ("auto", "native", "python")
#: The Python pump's queue size when ``queue_size`` is not given.
PYTHON_QUEUE_SIZE = 64

#: Polling-mode status interval bounds (seconds): half a frame period, clamped.
MIN_POLL_INTERVAL = 0.0005
MAX_POLL_INTERVAL = 0.010


@dataclass(frozen=True)
class StreamOptions:
    """What a stream was asked to do (see :class:`~ophyd_pvcam.engine.stream.stream.Stream`).

    Every field is validated and normalised on construction.

    Raises
    ------
    ValidationError
        For any value out of range or of the wrong type.
    """

    buffer_mode: Union[str, int] = "auto"
    use_callbacks: bool = True
    buffer_seconds: float = 1.0
    min_buffer_frames: int = 8
    memory_budget: Optional[int] = None
    stall_timeout: Optional[float] = None
    stall_count: int = 3
    max_recoveries: int = 0
    queue_size: Optional[int] = None
    overflow: str = "block"
    max_frames: Optional[int] = None
    poll_interval: Optional[float] = None
    lost_numbers_cap: int = 1000
    pump: str = "auto"
    host_ring_bytes: Optional[int] = None
    metadata: Optional[bool] = None

    def __post_init__(self) -> None:
        parse_buffer_mode(self.buffer_mode)
        if self.pump not in PUMPS:
            raise ValidationError(f"pump must be one of {PUMPS}, got {self.pump!r}", None, "pump")
        if self.overflow not in OVERFLOW_POLICIES:
            raise ValidationError(f"overflow must be one of {OVERFLOW_POLICIES}, "
                                  f"got {self.overflow!r}", None, "overflow")
        normalised = {
            "use_callbacks": bool(self.use_callbacks),
            "buffer_seconds": _number("buffer_seconds", self.buffer_seconds, minimum=0.0),
            "min_buffer_frames": _integer("min_buffer_frames", self.min_buffer_frames, minimum=2),
            "memory_budget": _optional(_integer, "memory_budget", self.memory_budget, minimum=1),
            "stall_timeout": _optional(_number, "stall_timeout", self.stall_timeout,
                                       positive=True),
            "stall_count": _integer("stall_count", self.stall_count, minimum=1),
            "max_recoveries": _integer("max_recoveries", self.max_recoveries, minimum=0),
            "queue_size": _optional(_integer, "queue_size", self.queue_size, minimum=1),
            "host_ring_bytes": _optional(_integer, "host_ring_bytes", self.host_ring_bytes,
                                         minimum=1),
            "max_frames": _optional(_integer, "max_frames", self.max_frames, minimum=1),
            "poll_interval": _optional(_number, "poll_interval", self.poll_interval,
                                       positive=True),
            "lost_numbers_cap": _integer("lost_numbers_cap", self.lost_numbers_cap, minimum=0),
            "metadata": None if self.metadata is None else bool(self.metadata),
        }
        for name, value in normalised.items():
            object.__setattr__(self, name, value)

    @property
    def native(self) -> bool:
        """True when the native pump is the frame path (``"auto"``: when it is built).

        Raises
        ------
        AcquisitionError
            ``pump="native"`` but the pump library is not built.
        """
        if self.pump == "python":
            return False
        from ophyd_pvcam.engine.stream.native import check_available, is_available
        if self.pump == "auto":
            return is_available()
        check_available()
        return True

    @property
    def python_queue_size(self) -> int:
        """``queue_size``, or :data:`PYTHON_QUEUE_SIZE` for the Python pump."""
        return self.queue_size if self.queue_size is not None else PYTHON_QUEUE_SIZE

    @property
    def forced_mode(self) -> Optional[int]:
        """The SDK buffer mode forced by ``buffer_mode``, None for automatic."""
        return parse_buffer_mode(self.buffer_mode)

    def stall_timeout_for(self, frame_period_s: float) -> float:
        """``stall_timeout``, or its default ``max(2 s, 10 frame periods)``.

        Parameters
        ----------
        frame_period_s : float
            Expected seconds between frames.

        Returns
        -------
        float
        """
        return self.stall_timeout or default_stall_timeout(frame_period_s)

    def poll_interval_for(self, frame_period_s: float) -> float:
        """``poll_interval``, or half a frame period within 0.5..10 ms.

        Parameters
        ----------
        frame_period_s : float
            Expected seconds between frames.

        Returns
        -------
        float
        """
        if self.poll_interval:
            return self.poll_interval
        return min(MAX_POLL_INTERVAL, max(MIN_POLL_INTERVAL, frame_period_s / 2))


def _optional(check: Any, name: str, value: Any, **kwargs: Any) -> Any:
    return None if value is None else check(name, value, **kwargs)


def _number(name: str, value: Any, *, minimum: Optional[float] = None,
            positive: bool = False) -> float:
    if isinstance(value, bool):
        raise ValidationError(f"{name} must be a number, got {value!r}", None, name)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationError(f"{name} must be a number, got {value!r}", None, name) from None
    if not math.isfinite(number) or (positive and number <= 0) or (
            minimum is not None and number < minimum):
        bound = "> 0" if positive else f">= {minimum}"
        raise ValidationError(f"{name} must be a finite number {bound}, got {value!r}", None, name)
    return number


def _integer(name: str, value: Any, *, minimum: int) -> int:
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise ValidationError(f"{name} must be an integer, got {value!r}", None, name)
    number = int(value.__index__())
    if number < minimum:
        raise ValidationError(f"{name} must be >= {minimum}, got {value!r}", None, name)
    return number
