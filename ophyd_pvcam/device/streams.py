"""Engine streams for the detector: one factory per staging, rings fitted to each trigger.

The measurements behind the sizing rule are in :mod:`ophyd_pvcam.device.acquisition`.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Optional

from ophyd_pvcam.engine.stream import plan_buffer_frames
from ophyd_pvcam.engine.errors import ValidationError
from ophyd_pvcam.engine.stream import Stream

__all__ = ["StreamFactory", "stream_factory", "fitted_ring_frames", "RING_HEADROOM_S",
           "RING_HEADROOM_FRAMES"]

#: ``factory(max_frames) -> Stream`` (not started); ``max_frames`` None = unbounded.
StreamFactory = Callable[[Optional[int]], Stream]

#: Seconds of frames a bounded acquisition's ring holds beyond its own frames:
#: how long the frame loop may be kept from the GIL (HDF5 writes hold it)
#: before a frame of the acquisition is overwritten.
RING_HEADROOM_S = 0.25
#: Lower bound of that headroom, in frames (the engine's own minimum ring).
RING_HEADROOM_FRAMES = 8


def fitted_ring_frames(max_frames: Optional[int], frame_bytes: int, frame_period_s: float, *,
                       headroom_s: float = RING_HEADROOM_S,
                       headroom_frames: int = RING_HEADROOM_FRAMES) -> Optional[int]:
    """Circular-buffer size for an acquisition of ``max_frames`` frames.

    The engine's default ring holds one second of frames, and setting it up
    costs time in proportion to its bytes (the SDK touches or pins the whole
    buffer at start, and frees it at stop): ~0.3 ms per MB on the simulator,
    25 ms per trigger at 512 x 512. A bounded acquisition never needs more
    than its own frames plus headroom, since no frame after the last wanted
    one is kept.

    Parameters
    ----------
    max_frames : int or None
        Frames of the acquisition; None (unbounded) keeps the default.
    frame_bytes : int
        Bytes of one frame.
    frame_period_s : float
        Estimated seconds between frames.
    headroom_s, headroom_frames : float, int
        Frames beyond ``max_frames``: the larger of ``headroom_frames`` and
        ``headroom_s`` worth of frames. Every frame may then wait at least
        the whole acquisition plus ``headroom_s`` in the ring before the
        camera overwrites it.

    Returns
    -------
    int or None
        ``max_frames + headroom``, or None when that is not smaller than the
        engine's default ring (which then applies, as for unbounded streams).
    """
    if not max_frames:
        return None
    try:
        default = plan_buffer_frames(frame_bytes, frame_period_s)
    except ValidationError:
        return None  # a frame too large for any ring: the stream reports it at start
    headroom = headroom_frames
    if frame_period_s > 0:
        headroom = max(headroom, math.ceil(headroom_s / frame_period_s))
    wanted = int(max_frames) + headroom
    return wanted if wanted < default else None


def stream_factory(camera: Any, *, buffer_mode: str = "auto", stall_timeout: Optional[float] = None,
                   stall_count: int = 3, queue_size: Optional[int] = None,
                   fit_buffer: bool = True) -> StreamFactory:
    """Return a factory of engine streams with the detector's options.

    Parameters
    ----------
    camera : Camera
        The open engine camera.
    buffer_mode : str
        ``"auto"``, ``"overwrite"`` or ``"no_overwrite"``.
    stall_timeout : float, optional
        Seconds without a frame that count as one timeout (engine default when None).
    stall_count : int
        Consecutive timeouts that make a stall.
    queue_size : int, optional
        Frames between the engine's frame loop and the file writer. None (the
        default): the native pump's host ring is sized from the host memory
        budget (:func:`~ophyd_pvcam.engine.budget.host_memory_budget`), the
        Python pump keeps its own default.
    fit_buffer : bool
        True: a bounded stream's circular buffer holds its frames plus
        headroom (:func:`fitted_ring_frames`). False: the engine's default
        one second of frames (what every trigger paid before; kept for
        ``benchmarks/bench_device.py``).

    Returns
    -------
    callable
        ``factory(max_frames) -> Stream``.
    """
    def make(max_frames: Optional[int]) -> Stream:
        ring = None
        if fit_buffer and max_frames:
            settings = camera.acquisition_settings()
            ring = fitted_ring_frames(max_frames, settings.frame_bytes, settings.frame_period_s)
        sizing: dict[str, Any] = {}
        if ring is not None:
            sizing = {"buffer_seconds": 0.0, "min_buffer_frames": ring}
        return Stream(camera, buffer_mode=buffer_mode, stall_timeout=stall_timeout,
                      stall_count=stall_count, queue_size=queue_size, max_frames=max_frames,
                      **sizing)
    return make
