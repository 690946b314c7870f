"""The ophyd layer: :class:`PVCAMDetector` and its status objects.

Modules
-------
:mod:`.detector`
    :class:`PVCAMDetector`, the ophyd device (step and fly scans).
:mod:`.controller`
    :class:`CameraController`: the open engine camera, arming, starting acquisitions.
:mod:`.acquisition`
    :class:`Acquisition`: engine streams into the file, ending a status.
:mod:`.writer`
    :class:`AssetWriter`: the staging's HDF5 file and its asset documents.
:mod:`.status`
    :class:`FrameProgressStatus`: per-frame progress for bluesky's progress bars.
:mod:`.signals`
    Validated settings, camera-backed signals and the external image key.
"""
from .detector import FLY_STREAM_HINT, PVCAMDetector
from .status import FrameProgressStatus

__all__ = ["PVCAMDetector", "FrameProgressStatus", "FLY_STREAM_HINT"]
