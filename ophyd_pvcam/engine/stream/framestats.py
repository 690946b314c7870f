"""Per-frame numbers for live plots: a frame's sum, mean and max (numpy only).

Computed off the frame path, once per point (the device at read time, the IOC
once per acquisition), never per frame in the engine's threads.
"""
from __future__ import annotations

import numpy as np

__all__ = ["frame_statistics"]


def frame_statistics(pixels: np.ndarray, timestamp: float) -> dict[str, float]:
    """Sum, mean and max of one frame, and when it was taken.

    Parameters
    ----------
    pixels : numpy.ndarray
    timestamp : float
        ``time.time()`` of the frame.

    Returns
    -------
    dict
        ``{"sum", "mean", "max", "timestamp"}``, floats.
    """
    total = float(pixels.sum(dtype=np.float64))
    return {"sum": total, "mean": total / pixels.size if pixels.size else 0.0,
            "max": float(pixels.max()) if pixels.size else 0.0, "timestamp": float(timestamp)}
