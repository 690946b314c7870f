"""What the next arm of the camera does: shared by the trigger, acquire and data logics."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from ophyd_pvcam.engine.frame import Frame

#: ophyd-async's ``DEFAULT_TIMEOUT``: ``TriggerInfo.exposure_timeout`` beyond the exposure.
DEFAULT_EXPOSURE_TIMEOUT = 10.0


@dataclass
class ArmPlan:
    """The next acquisition, as ``prepare(TriggerInfo)`` left it.

    Attributes
    ----------
    frames : int or None
        Frames of one arm (``TriggerInfo.number_of_exposures``); ``None``
        runs until stopped (``number_of_events=0``).
    exposure_timeout : float
        ``TriggerInfo.exposure_timeout`` [s]: the longest wait for a frame
        before the stream counts as stalled.
    sink : callable or None
        Receives every frame on the engine's dispatch thread (the data
        logic's file writer); ``None`` until a file is open.
    on_end : callable or None
        Called (no arguments) on a stream thread once an arm's stream ended
        and every frame reached ``sink``: the data logic flushes the file
        then, so the last frames count as written without waiting for the
        writer's flush interval.
    """

    frames: Optional[int] = 1
    exposure_timeout: float = DEFAULT_EXPOSURE_TIMEOUT
    sink: Optional[Callable[[Frame], None]] = None
    on_end: Optional[Callable[[], None]] = None
