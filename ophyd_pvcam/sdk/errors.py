"""The exception hierarchy of ophyd-pvcam, rooted in :class:`PVCAMError`.

Every error carries the SDK error code (``None`` when the failure did not come
from the SDK), the SDK's message and the name of the call that failed, so a
log line or a failed bluesky status always says *what* failed and *why*.
Higher layers (engine, device, ioc) subclass these; nothing outside this
hierarchy is raised for camera problems.
"""
from __future__ import annotations

from typing import Optional

__all__ = [
    "PVCAMError",
    "LibraryNotFoundError",
    "ArgumentError",
    "SDKError",
    "InstallationCorruptedError",
    "NotInitializedError",
    "AlreadyInitializedError",
    "ParameterError",
    "ValueRejectedError",
    "DataNotAvailableError",
    "BufferSizeError",
    "BufferOverrunError",
    "DeviceError",
    "DeviceRemovedError",
    "ConfigurationInvalidError",
    "AcquisitionSetupError",
    "NotImplementedBySDKError",
    "error_class_for_code",
]


class PVCAMError(Exception):
    """Root of every error ophyd-pvcam raises for a camera problem.

    Parameters
    ----------
    message : str
        Human-readable explanation (for SDK errors, the SDK's own message).
    code : int or None
        The SDK error code (``pl_error_code()``), or ``None`` when the error
        did not come from the SDK.
    call : str or None
        The SDK function or engine operation that failed, e.g.
        ``"pl_exp_start_cont"``.
    """

    def __init__(self, message: str, code: Optional[int] = None, call: Optional[str] = None):
        self.message = message
        self.code = code
        self.call = call
        super().__init__(message)

    def __str__(self) -> str:
        parts = []
        if self.call:
            parts.append(f"{self.call} failed")
        if self.code is not None:
            parts.append(f"[PVCAM error {self.code}]")
        prefix = " ".join(parts)
        return f"{prefix}: {self.message}" if prefix else self.message

    def __reduce__(self):
        return (type(self), (self.message, self.code, self.call))


class LibraryNotFoundError(PVCAMError):
    """No PVCAM library could be loaded; the message lists every place tried."""


class ArgumentError(PVCAMError, TypeError):
    """A binding method was given an argument of the wrong kind; no SDK call was made.

    Also a :class:`TypeError`, so ``except TypeError`` written against plain Python
    conventions still catches it. ``code`` is ``None``; ``call`` names the SDK call
    the argument was meant for.
    """


class SDKError(PVCAMError):
    """A PVCAM SDK call returned ``PV_FAIL``."""


class InstallationCorruptedError(SDKError):
    """Error 151: the vendor library cannot find its installation.

    The real library needs the ``PVCAM_VERSION`` environment variable (set by
    ``/etc/profile.d/pvcam.sh``); the message says so.
    """


class NotInitializedError(SDKError):
    """Error 157: a call was made before ``pl_pvcam_init``."""


class AlreadyInitializedError(SDKError):
    """Error 158: ``pl_pvcam_init`` called twice."""


class ParameterError(SDKError):
    """Errors 159-163: unknown or unavailable parameter or attribute."""


class ValueRejectedError(SDKError, ValueError):
    """Errors 164-167, 186, 187: the camera refused a value."""


class DataNotAvailableError(SDKError):
    """Error 169: no frame has arrived yet."""


class BufferSizeError(SDKError):
    """Errors 171-172: a buffer of the wrong size was given."""


class BufferOverrunError(SDKError):
    """Error 173: in CIRC_NO_OVERWRITE mode the consumer fell a buffer behind."""


class DeviceError(SDKError):
    """Errors 175-179 and driver (DDI) errors 193-203."""


class DeviceRemovedError(DeviceError):
    """Error 180: the camera was unplugged or lost."""


class ConfigurationInvalidError(SDKError):
    """Error 185: no valid acquisition setup is current (e.g. start_cont after a failed setup)."""


class AcquisitionSetupError(SDKError):
    """Errors 181-184, 188-191: invalid region, binning, mode, state or frame count."""


class NotImplementedBySDKError(SDKError):
    """Error 154/155: the library does not provide this feature."""


_CODE_CLASSES = {
    151: InstallationCorruptedError,
    154: NotImplementedBySDKError,
    155: NotImplementedBySDKError,
    157: NotInitializedError,
    158: AlreadyInitializedError,
    169: DataNotAvailableError,
    171: BufferSizeError,
    172: BufferSizeError,
    173: BufferOverrunError,
    180: DeviceRemovedError,
    185: ConfigurationInvalidError,
}
for _code in range(159, 164):
    _CODE_CLASSES[_code] = ParameterError
for _code in (164, 165, 166, 167, 186, 187):
    _CODE_CLASSES[_code] = ValueRejectedError
for _code in (175, 176, 177, 178, 179, *range(193, 204)):
    _CODE_CLASSES[_code] = DeviceError
for _code in (181, 182, 183, 184, 188, 189, 190, 191):
    _CODE_CLASSES[_code] = AcquisitionSetupError


def error_class_for_code(code: int) -> type[SDKError]:
    """Return the :class:`SDKError` subclass that represents SDK error ``code``.

    Parameters
    ----------
    code : int
        A value returned by ``pl_error_code()``.

    Returns
    -------
    type
        The most specific subclass; :class:`SDKError` for codes without one.
    """
    return _CODE_CLASSES.get(int(code), SDKError)
