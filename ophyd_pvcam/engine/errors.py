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
