"""Pythonic wrapper around a loaded PVCAM library: :class:`PVCAMLibrary`.

Every method maps onto one ``pl_*`` call (or a short fixed sequence of them),
converts arguments and results between Python and C, and turns ``PV_FAIL`` into
the matching :class:`~ophyd_pvcam.sdk.errors.SDKError` subclass carrying the SDK's
code, its message and the failing call's name.

Thread safety: the methods allocate their out-parameters per call, so they may be
called from several threads (the library's own last-error code is the only shared
state; callers that need exact error codes serialise calls per camera, as the
engine does). The three per-frame calls (:meth:`PVCAMLibrary.exp_get_oldest_frame`,
:meth:`~PVCAMLibrary.exp_unlock_oldest_frame`, :meth:`~PVCAMLibrary.exp_check_cont_status`)
do nothing beyond the C call and the error check.

The calls are grouped in mixins, one module each: :mod:`._parameters`
(``pl_get_param`` & co.), :mod:`._acquisition` (``pl_exp_*``), :mod:`._metadata`
(``pl_md_*``) and :mod:`._extras` (post-processing reset, I/O scripts, library-allocated
helper structures, deprecated callback registrations). Every export with a public
prototype has a wrapper; ``pvcam_event_*`` and ``pl_internal_*`` have none and stay
raw-only (reachable through :attr:`PVCAMLibrary.raw`), as :mod:`._extras` explains.
"""
from __future__ import annotations

import ctypes
import logging
import threading
from ctypes import byref, c_int16, c_uint16, c_void_p
from pathlib import Path
from typing import Any, Union

from . import _convert
from . import constants as C
from ._acquisition import AcquisitionCalls
from ._convert import buffer_address, check_range, require_instance
from ._extras import ExtraCalls
from ._metadata import MetadataCalls
from ._parameters import ParameterCalls
from .errors import NotImplementedBySDKError, SDKError, error_class_for_code
from .prototypes import REQUIRED, declare
from .types import EOF_CALLBACK

__all__ = ["PVCAMLibrary", "BufferLike", "buffer_address"]

logger = logging.getLogger(__name__)

#: Anything the acquisition calls accept as pixel memory: a numpy array (writable,
#: C-contiguous), a ctypes object, a writable buffer-protocol object (``bytearray``,
#: ``mmap``), a raw address (int) or ``None`` (NULL). Defined in :mod:`._convert`.
BufferLike = _convert.BufferLike

_INSTALLATION_HINT = (
    " — the vendor library needs the PVCAM_VERSION environment variable: run "
    "`source /etc/profile.d/pvcam.sh` (or log in again after installing PVCAM), "
    "or use the simulator with PVCAM_LIBRARY=sim"
)


# Registration calls whose prototype has a ``void* context`` argument.
_CALLS_WITH_CONTEXT = frozenset({"pl_cam_register_callback_ex", "pl_cam_register_callback_ex3"})


class PVCAMLibrary(ParameterCalls, AcquisitionCalls, MetadataCalls, ExtraCalls):
    """A loaded PVCAM library with typed, exception-raising methods.

    Usually obtained from :func:`ophyd_pvcam.sdk.load`, which caches one instance
    per library file.

    Parameters
    ----------
    cdll : ctypes.CDLL
        The loaded library; its functions get ``restype``/``argtypes`` declared.
    path : pathlib.Path or str
        Where it was loaded from (for messages).

    Attributes
    ----------
    raw : ctypes.CDLL
        The library with every exported vendor function declared.
    path : pathlib.Path
        The library file (or loader name) it came from.
    missing : frozenset of str
        Vendor functions this library does not export.

    Raises
    ------
    NotImplementedBySDKError
        If a function every PVCAM 3.x library exports is missing (not a PVCAM library).
    """

    def __init__(self, cdll: Any, path: Union[Path, str]):
        self.raw = cdll
        self.path = Path(path)
        self._fn, self.missing = declare(cdll)
        absent = REQUIRED & self.missing
        if absent:
            raise NotImplementedBySDKError(
                f"{self.path} is not a usable PVCAM library; it lacks {', '.join(sorted(absent))}",
                None, "load")
        # Bound once: attribute lookups on a CDLL are the slowest part of a thin call.
        fn = self._fn
        self._error_code_fn = fn["pl_error_code"]
        self._get_oldest = fn["pl_exp_get_oldest_frame"]
        self._unlock_oldest = fn["pl_exp_unlock_oldest_frame"]
        self._check_cont = fn["pl_exp_check_cont_status"]
        self._lock = threading.Lock()
        self._types: dict[tuple[int, int], int] = {}  # (hcam, param id) -> ATTR_TYPE
        self._callbacks: dict[tuple[int, int], tuple[Any, Any]] = {}
        self._buffers: dict[int, Any] = {}  # hcam -> memory the library is writing into
        self._setup_bytes: dict[int, int] = {}  # hcam -> bytes required by the last setup

    def __repr__(self) -> str:
        return f"PVCAMLibrary({str(self.path)!r})"

    # ------------------------------------------------------------------ errors
    def error_code(self) -> int:
        """Return ``pl_error_code()``: the code of the most recent failure (0 after success).

        Returns
        -------
        int
            The SDK error code.
        """
        return int(self._error_code_fn())

    def error_message(self, code: int) -> str:
        """Return the SDK's message for ``code`` (``pl_error_message``).

        Parameters
        ----------
        code : int
            An SDK error code.

        Returns
        -------
        str
            E.g. ``"Invalid configuration (PL_ERR_CONFIGURATION_INVALID)"``. Unknown codes
            give the library's "Unknown error" text; the call's own status is ignored
            because the 3.10 library reports PV_FAIL for unknown codes but fills the text.

        Raises
        ------
        ValueRejectedError
            If ``code`` does not fit the int16 the call takes.
        """
        buffer = ctypes.create_string_buffer(C.ERROR_MSG_LEN + 1)
        self._fn["pl_error_message"](check_range(code, -32768, 32767, "error code",
                                                  "pl_error_message"), buffer)
        text = buffer.value.decode("utf-8", "replace").strip()
        return text or f"Unknown error ({C.error_name(code)})"

    def _raise(self, call: str) -> None:
        """Raise the exception for the failure the library just reported from ``call``."""
        code = self.error_code()
        if code == 0:  # PV_FAIL without a code: a library bug, but never hide the failure
            raise SDKError("the call failed without setting an error code", 0, call)
        message = self.error_message(code)
        if code == 151:
            message += _INSTALLATION_HINT
        logger.debug("%s failed with PVCAM error %d: %s", call, code, message)
        raise error_class_for_code(code)(message, code, call)

    def _call(self, name: str, *args: Any) -> None:
        """Call ``name`` and raise on ``PV_FAIL``."""
        try:
            function = self._fn[name]
        except KeyError:
            raise NotImplementedBySDKError(
                f"{self.path} does not export {name}", None, name) from None
        if not function(*args):
            self._raise(name)

    # ------------------------------------------------------------------ library
    def pvcam_init(self) -> None:
        """Initialise the library (``pl_pvcam_init``); builds the camera list.

        Raises
        ------
        AlreadyInitializedError
            If the library is already initialised (158).
        InstallationCorruptedError
            If the vendor library cannot find its installation (151; the message
            says how to fix it).
        SDKError
            Any other library error.
        """
        self._call("pl_pvcam_init")

    def pvcam_uninit(self) -> None:
        """Shut the library down (``pl_pvcam_uninit``); closes every camera.

        The binding drops every callback, buffer and cached type it held.

        Raises
        ------
        NotInitializedError
            If the library is not initialised (157).
        SDKError
            Any other library error.
        """
        self._call("pl_pvcam_uninit")
        with self._lock:
            self._types.clear()
            self._callbacks.clear()
            self._buffers.clear()
            self._setup_bytes.clear()

    def pvcam_get_ver(self) -> str:
        """Return the library version as ``"major.minor.trivial"`` (``pl_pvcam_get_ver``).

        Returns
        -------
        str
            ``(v >> 8).(v >> 4 & 0xF).(v & 0xF)`` of the uns16 the library reports.

        Raises
        ------
        SDKError
            The library's error.
        """
        version = c_uint16()
        self._call("pl_pvcam_get_ver", byref(version))
        v = version.value
        return f"{v >> 8}.{(v >> 4) & 0xF}.{v & 0xF}"

    # ------------------------------------------------------------------ cameras
    def cam_get_total(self) -> int:
        """Return the number of cameras found at init (``pl_cam_get_total``).

        Returns
        -------
        int
            Cameras available to :meth:`cam_get_name`.

        Raises
        ------
        NotInitializedError
            Before :meth:`pvcam_init` (157).
        SDKError
            Any other library error.
        """
        total = c_int16()
        self._call("pl_cam_get_total", byref(total))
        return total.value

    def cam_get_name(self, index: int) -> str:
        """Return the name of camera ``index`` (``pl_cam_get_name``).

        Parameters
        ----------
        index : int
            0 .. ``cam_get_total() - 1``.

        Returns
        -------
        str
            The name to pass to :meth:`cam_open`, e.g. ``"pvcamUSB_0"``.

        Raises
        ------
        ValueRejectedError
            If ``index`` is out of range (186) or does not fit an int16.
        SDKError
            Any other library error.
        """
        buffer = ctypes.create_string_buffer(C.CAM_NAME_LEN)
        self._call("pl_cam_get_name", check_range(index, -32768, 32767, "camera index",
                                                   "pl_cam_get_name"), buffer)
        return buffer.value.decode("utf-8", "replace")

    def cam_open(self, name: str) -> int:
        """Open camera ``name`` exclusively (``pl_cam_open``) and return its handle.

        Parameters
        ----------
        name : str
            A name from :meth:`cam_get_name`.

        Returns
        -------
        int
            The camera handle (int16).

        Raises
        ------
        DeviceError
            If no camera has that name (176) or it cannot be opened.
        SDKError
            Any other library error.
        """
        # The prototype takes a non-const char*, so hand over a private mutable copy.
        name_buffer = ctypes.create_string_buffer(name.encode("utf-8"))
        handle = c_int16()
        self._call("pl_cam_open", name_buffer, byref(handle), C.OPEN_EXCLUSIVE)
        self._forget_camera(handle.value)  # a reused handle must not inherit cached types
        return handle.value

    def cam_close(self, hcam: int) -> None:
        """Close a camera (``pl_cam_close``); its callbacks and cached types are dropped.

        Parameters
        ----------
        hcam : int
            Handle from :meth:`cam_open`; invalid once this returns.

        Raises
        ------
        DeviceError
            If ``hcam`` is not the handle of an open camera (175).
        SDKError
            Any other library error.
        """
        self._call("pl_cam_close", hcam)
        self._forget_camera(hcam)

    def _forget_camera(self, hcam: int) -> None:
        """Drop everything the binding keeps per camera handle."""
        with self._lock:
            for key in [k for k in self._types if k[0] == hcam]:
                del self._types[key]
            for key in [k for k in self._callbacks if k[0] == hcam]:
                del self._callbacks[key]
            self._buffers.pop(hcam, None)
            self._setup_bytes.pop(hcam, None)

    # ------------------------------------------------------------------ callbacks
    def _register_handler(self, call: str, expected: Any, type_name: str, hcam: int, event: int,
                          cfunc: Any, context: Any = None) -> None:
        """Check ``cfunc`` is a ``types.<type_name>`` and pass it to a registration call.

        ``context`` goes along where the call takes one. A function of another
        signature would be called with the wrong arguments, hence the type check.
        The library keeps only raw pointers, so the binding keeps the Python objects
        referenced until deregistration, close or uninit.
        """
        require_instance(cfunc, expected, f"the callback must be a types.{type_name}", call)
        arguments = [hcam, event, ctypes.cast(cfunc, c_void_p)]
        if call in _CALLS_WITH_CONTEXT:
            context_address, _ = buffer_address(context, call)
            arguments.append(context_address or None)
        self._call(call, *arguments)
        with self._lock:
            self._callbacks[(hcam, int(event))] = (cfunc, context)

    def register_callback(self, hcam: int, event: int, cfunc: Any, context: Any = None) -> None:
        """Register ``cfunc`` for ``event`` (``pl_cam_register_callback_ex3``).

        Parameters
        ----------
        hcam : int
            Camera handle.
        event : int
            ``PL_CALLBACK_EOF`` etc.
        cfunc : types.EOF_CALLBACK
            A ctypes function object, called on the library's own thread with a
            ``POINTER(FRAME_INFO)`` (valid only during the call) and ``context``.
        context : int, ctypes object or None, optional
            Passed back to the callback as ``void*``.

        Raises
        ------
        ArgumentError
            If ``cfunc`` is not an ``EOF_CALLBACK`` (a function of another signature
            would be called with the wrong arguments) or ``context`` is not an address
            or memory object.
        SDKError
            The library's error (e.g. ``ValueRejectedError`` 164 for an unknown event,
            ``NotImplementedBySDKError`` 155 for an event the camera cannot report).

        Notes
        -----
        The binding keeps ``cfunc`` and ``context`` referenced until
        :meth:`deregister_callback`, camera close or uninit. Callers must ALSO keep
        their own reference for as long as the library might call it: a collected
        ctypes callback crashes the process. Re-registering replaces the previous
        handler. Never deregister from inside the callback (the library waits for
        its callback thread, which would deadlock).
        """
        self._register_handler("pl_cam_register_callback_ex3", EOF_CALLBACK, "EOF_CALLBACK",
                               hcam, event, cfunc, context)

    def deregister_callback(self, hcam: int, event: int) -> None:
        """Remove the handler of ``event`` (``pl_cam_deregister_callback``).

        Works for handlers from every registration call, deprecated ones included.
        Waits until a running callback returns, so never call it from the callback.

        Parameters
        ----------
        hcam : int
            Camera handle.
        event : int
            ``PL_CALLBACK_EOF`` etc.

        Raises
        ------
        SDKError
            The library's error (e.g. ``DeviceError`` 175 for a bad handle).
        """
        self._call("pl_cam_deregister_callback", hcam, event)
        with self._lock:
            self._callbacks.pop((hcam, int(event)), None)
