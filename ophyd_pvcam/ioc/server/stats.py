"""The ``Stats1:`` records: sum, mean and max of each acquisition's last frame.

areaDetector's NDPluginStats names (``Total_RBV``, ``MeanValue_RBV``,
``MaxValue_RBV``, ``UniqueId_RBV``), with one difference that keeps the
frame path free of per-frame work: the values are those of the last frame of
each acquisition of a known length (a ``count`` point), computed once when
that frame arrives, and published before ``Acquire`` completes, so a client
that reads them after its trigger sees its own point. Open-ended
acquisitions leave them unchanged.

These are what the EPICS client's ``frame_sum``, ``frame_mean`` and
``frame_max`` read, so its documents match the in-process detector's.
"""
from __future__ import annotations

from typing import Any, Optional

from .records import DriverGroup, readback, update

__all__ = ["StatsGroup"]


class StatsGroup(DriverGroup):
    """``Stats1:`` records of one camera (see the module notes)."""

    total = readback("Total_RBV", 0.0, doc="sum of the pixels of the last frame")
    mean_value = readback("MeanValue_RBV", 0.0, doc="mean pixel value of the last frame")
    max_value = readback("MaxValue_RBV", 0.0, doc="largest pixel value of the last frame")
    unique_id = readback("UniqueId_RBV", 0, doc="ArrayCounter of that frame")
    time_stamp = readback("TimeStamp_RBV", 0.0, doc="time.time() of that frame")

    async def publish(self, statistics: Optional[dict[str, Any]]) -> None:
        """Write one frame's statistics (``None``: leave the records as they are).

        Parameters
        ----------
        statistics : dict or None
            ``{"sum", "mean", "max", "timestamp", "unique_id"}``.
        """
        if statistics is None:
            return
        await update(self.total, statistics["sum"])
        await update(self.mean_value, statistics["mean"])
        await update(self.max_value, statistics["max"])
        await update(self.unique_id, int(statistics["unique_id"]))
        await update(self.time_stamp, statistics["timestamp"])
