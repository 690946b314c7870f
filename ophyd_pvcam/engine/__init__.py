"""The acquisition engine: cameras, parameters, sequences and streams (no ophyd).

Subpackages
-----------
:mod:`ophyd_pvcam.engine.camera`
    One camera: opening it, its parameters and settings, finite sequences.
:mod:`ophyd_pvcam.engine.stream`
    Continuous acquisition, with the native frame pump (``stream.native``) beside it.

The modules at this level are what both use or what joins them: ``errors``,
``frame``, ``frameblock`` and ``metadata`` (what a consumer receives, and the
frame headers decoded a block at a time), ``budget`` (the host memory budget)
and ``preflight`` (the loss prediction before a run).

Public names
------------
:func:`list_cameras`, :class:`CameraInfo`
    What is connected.
:class:`Camera`
    One open camera: typed parameters, ROI/binning, exposure, snap.
:class:`Region`
    A region of interest in sensor pixels.
:func:`acquire_sequence`
    A finite acquisition of N frames.
:class:`Stream`, :class:`StreamState`, :class:`StreamStats`
    Continuous acquisition that delivers every frame or reports its loss,
    and ends in STALLED with a diagnosis instead of going quiet.
:class:`Frame`, :class:`FrameBlock`
    One delivered frame; a batch of consecutive frames with their ledger.
:class:`Prediction`, :func:`predict`
    The pre-flight budget: frames a run captures without loss.
Errors: :class:`ValidationError`, :class:`CameraNotFoundError`,
:class:`AcquisitionError`, :class:`AcquisitionTimeoutError`,
:class:`StallError`, :class:`CameraRemovedError`,
:class:`PredictedLossError`, :class:`FramesLostError`.
"""
from ophyd_pvcam.engine.camera import Camera, CameraInfo, list_cameras
from ophyd_pvcam.engine.errors import (
    AcquisitionError,
    AcquisitionTimeoutError,
    CameraNotFoundError,
    CameraRemovedError,
    FramesLostError,
    PredictedLossError,
    StallError,
    ValidationError,
)
from ophyd_pvcam.engine.frame import Frame
from ophyd_pvcam.engine.frameblock import FrameBlock
from ophyd_pvcam.engine.preflight import Prediction, predict
from ophyd_pvcam.engine.camera import acquire_sequence, Region
from ophyd_pvcam.engine.stream import Stream, StreamState, StreamStats

__all__ = [
    "Camera",
    "CameraInfo",
    "list_cameras",
    "Region",
    "acquire_sequence",
    "Stream",
    "StreamState",
    "StreamStats",
    "Frame",
    "FrameBlock",
    "ValidationError",
    "CameraNotFoundError",
    "AcquisitionError",
    "AcquisitionTimeoutError",
    "StallError",
    "CameraRemovedError",
    "PredictedLossError",
    "FramesLostError",
    "Prediction",
    "predict",
]
