"""Errors raised by the acquisition engine (all subclasses of :class:`PVCAMError`)."""
from __future__ import annotations

from typing import Any, Mapping, Optional

from ophyd_pvcam.sdk.errors import PVCAMError

__all__ = [
    "ValidationError",
    "AcquisitionError",
    "AcquisitionTimeoutError",
    "StallError",
    "CameraRemovedError",
    "CameraNotFoundError",
    "PredictedLossError",
    "FramesLostError",
]


class ValidationError(PVCAMError, ValueError):
    """A setting was refused before anything was sent to the camera.

    Raised for out-of-range values, unknown enum names, ROIs outside the
    sensor, unsupported binnings: the camera's state is unchanged.
    """


class CameraNotFoundError(PVCAMError, LookupError):
    """No camera with the requested name (the message lists those that exist)."""


class AcquisitionError(PVCAMError):
    """An acquisition ended abnormally."""


class AcquisitionTimeoutError(AcquisitionError, TimeoutError):
    """A sequence did not complete within its timeout."""


class StallError(AcquisitionError):
    """The camera stopped delivering frames: N consecutive waits timed out.

    Parameters
    ----------
    message : str
        One-paragraph diagnosis, built from ``diagnostics``.
    diagnostics : mapping
        Snapshot taken when the stall was declared: last FrameNr, frames
        signalled / retrieved / delivered, buffer fill, SDK status, seconds
        since the last frame, timeout settings, buffer mode, camera name.
    call : str, optional
        The operation that detected the stall.
    """

    def __init__(self, message: str, diagnostics: Optional[Mapping[str, Any]] = None,
                 call: Optional[str] = "stream"):
        super().__init__(message, None, call)
        self.diagnostics = dict(diagnostics or {})

    def __reduce__(self):
        return (type(self), (self.message, self.diagnostics, self.call))


class CameraRemovedError(AcquisitionError):
    """The camera was removed (``PL_CALLBACK_CAM_REMOVED`` or error 180) mid-acquisition."""


class PredictedLossError(AcquisitionError):
    """A run was refused before arming: the pre-flight budget predicts lost frames.

    Raised when the policy is to refuse (``on_predicted_loss="refuse"``,
    ``ophyd-pvcam stream --refuse-predicted-loss``); nothing was started.

    Parameters
    ----------
    message : str
        The prediction (``str(prediction)``: frames that fit, remedies).
    prediction : Prediction, optional
        The :class:`~ophyd_pvcam.engine.preflight.Prediction` itself.
    call : str, optional
        The operation refused (``"kickoff"``, ``"trigger"``, ``"stream"``).
    """

    # ``prediction`` is typed ``Any``: preflight imports this module, so this
    # module must not import preflight (tests/test_architecture.py: no circles).
    def __init__(self, message: str, prediction: Optional[Any] = None,
                 call: Optional[str] = "preflight"):
        super().__init__(message, None, call)
        self.prediction = prediction

    def __reduce__(self):
        return (type(self), (self.message, self.prediction, self.call))


class FramesLostError(AcquisitionError):
    """Frames were lost and the loss policy is to fail (``on_loss="fail"``).

    The frames captured before (and until the stream stopped) are kept in the file.

    Parameters
    ----------
    message : str
        How many frames were lost, where, and what was kept.
    frames_lost : int
        Frames lost when the acquisition was failed.
    first_lost_frame : int, optional
        FrameNr of the first frame lost.
    frames_kept : int
        Frames in the file.
    call : str, optional
        The operation that detected the loss.
    """

    def __init__(self, message: str, frames_lost: int = 0, first_lost_frame: Optional[int] = None,
                 frames_kept: int = 0, call: Optional[str] = "stream"):
        super().__init__(message, None, call)
        self.frames_lost = int(frames_lost)
        self.first_lost_frame = first_lost_frame
        self.frames_kept = int(frames_kept)

    def __reduce__(self):
        return (type(self), (self.message, self.frames_lost, self.first_lost_frame,
                             self.frames_kept, self.call))
