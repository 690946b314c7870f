"""The native frame path: a C pump that drains the SDK without Python.

:class:`~ophyd_pvcam.engine.stream.native.pump.FramePump` wraps ``libpvcam_pump.so``
(built by :mod:`ophyd_pvcam.engine.stream.native.build` at install, next to the
simulator). :class:`~ophyd_pvcam.engine.stream.stream.Stream` uses it as its frame
path when it is built (``pump="auto"``, the default).
"""
from ophyd_pvcam.engine.stream.native.pump import (LOSS_REASONS, FramePump, PumpCounters, PumpEvents,
                                            check_available, is_available, library_path)

__all__ = ["FramePump", "LOSS_REASONS", "PumpCounters", "PumpEvents", "check_available",
           "is_available", "library_path"]
