"""Less common calls of :class:`~ophyd_pvcam.sdk.binding.PVCAMLibrary`.

Post-processing reset (``pl_pp_reset``), I/O scripts (``pl_io_*``), the helper
structures the library allocates and frees itself (``pl_create_*`` /
``pl_release_*``) and the deprecated callback registrations
(``pl_cam_register_callback``, ``_ex``, ``_ex2``). Each method is one C call that
raises the matching :class:`~ophyd_pvcam.sdk.errors.SDKError` on ``PV_FAIL``.

A mixin: it relies on the core class for ``_call`` and ``_register_handler``;
its ``_release_struct`` also serves :mod:`._metadata`.

Raw-only exports
----------------
The library also exports ``pvcam_event_create``, ``pvcam_event_destroy``,
``pvcam_event_name``, ``pvcam_event_reset``, ``pvcam_event_set``,
``pvcam_event_wait_single``, ``pl_internal_bridge_command``,
``pl_internal_cam_diag_command`` and ``pl_internal_cam_write_read_passthrough``.
None of them has a public prototype (the last one's signature is known only from
the binary), so the binding wraps none of them: calling them with guessed
arguments could corrupt memory. They stay reachable through
:attr:`PVCAMLibrary.raw <ophyd_pvcam.sdk.binding.PVCAMLibrary.raw>` (see
:mod:`.prototypes`), at the caller's own risk.
"""
from __future__ import annotations

import ctypes
from ctypes import POINTER, byref
from typing import Any

from ._convert import check_range, require_instance
from .types import (
    FRAME_INFO,
    LEGACY_CALLBACK,
    LEGACY_CONTEXT_CALLBACK,
    LEGACY_FRAME_INFO_CALLBACK,
    SMART_STREAM_TYPE,
)

__all__ = ["ExtraCalls", "clear_pointer"]

_FRAME_INFO_P = POINTER(FRAME_INFO)
_SMART_STREAM_P = POINTER(SMART_STREAM_TYPE)


def clear_pointer(pointer: Any) -> None:
    """Set a ctypes pointer object to NULL in place.

    After a ``pl_release_*`` call the caller's pointer would still hold the freed
    address; clearing it turns a second release into the library's
    ``PL_ERR_NULL_POINTER`` (153) instead of a double free.

    Parameters
    ----------
    pointer : ctypes pointer instance
        E.g. a ``POINTER(FRAME_INFO)`` returned by a ``create`` method.
    """
    ctypes.memset(ctypes.addressof(pointer), 0, ctypes.sizeof(pointer))


class ExtraCalls:
    """Post-processing, I/O-script, helper-structure and legacy-callback calls (a mixin)."""

    # ------------------------------------------------------------------ camera extras
    def pp_reset(self, hcam: int) -> None:
        """Reset every post-processing feature of a camera to its default (``pl_pp_reset``).

        Parameters
        ----------
        hcam : int
            Camera handle.

        Raises
        ------
        SDKError
            The library's error, e.g. :class:`~ophyd_pvcam.sdk.errors.DeviceError` 175
            for a handle that is not open.
        """
        self._call("pl_pp_reset", hcam)

    def io_script_control(self, hcam: int, addr: int, state: float, location: int) -> None:
        """Add one I/O line change to the camera's I/O script (``pl_io_script_control``).

        Parameters
        ----------
        hcam : int
            Camera handle.
        addr : int
            I/O address (``PARAM_IO_ADDR`` value), uns16.
        state : float
            The value the line takes.
        location : int
            When in the exposure the change happens (``PL_SRC_MODES``), uns32.

        Raises
        ------
        ValueRejectedError
            If ``addr`` or ``location`` does not fit its C type.
        SDKError
            The library's error; :class:`~ophyd_pvcam.sdk.errors.NotImplementedBySDKError`
            (155) from cameras without I/O scripting, such as the simulator's.
        """
        call = "pl_io_script_control"
        self._call(call, hcam, check_range(addr, 0, 0xFFFF, "I/O address", call), float(state),
                   check_range(location, 0, 2**32 - 1, "location", call))

    def io_clear_script_control(self, hcam: int) -> None:
        """Clear the camera's I/O script (``pl_io_clear_script_control``).

        Parameters
        ----------
        hcam : int
            Camera handle.

        Raises
        ------
        SDKError
            The library's error (e.g. ``DeviceError`` 175 for a bad handle).
        """
        self._call("pl_io_clear_script_control", hcam)

    # ------------------------------------------------------------------ helper structures
    def create_smart_stream_struct(self, entries: int) -> Any:
        """Allocate a S.M.A.R.T. stream of ``entries`` zeroed exposures.

        Calls ``pl_create_smart_stream_struct``.

        Parameters
        ----------
        entries : int
            Number of exposure values, 1..65535.

        Returns
        -------
        ctypes.POINTER(SMART_STREAM_TYPE)
            Library-owned memory: fill ``result.contents.params[i]``, and free it with
            :meth:`release_smart_stream_struct`.

        Raises
        ------
        ValueRejectedError
            If ``entries`` does not fit an uns16, or is 0 (library error 164).
        SDKError
            Any other library error.
        """
        call = "pl_create_smart_stream_struct"
        stream = _SMART_STREAM_P()
        self._call(call, byref(stream), check_range(entries, 0, 0xFFFF, "entries", call))
        return stream

    def release_smart_stream_struct(self, stream: Any) -> None:
        """Free a stream from :meth:`create_smart_stream_struct`.

        Calls ``pl_release_smart_stream_struct``. The library sets ``stream`` to NULL,
        so releasing it twice fails with 153 instead of freeing twice.

        Parameters
        ----------
        stream : ctypes.POINTER(SMART_STREAM_TYPE)
            The pointer :meth:`create_smart_stream_struct` returned.

        Raises
        ------
        ArgumentError
            If ``stream`` is not a ``POINTER(SMART_STREAM_TYPE)``.
        SDKError
            The library's error (153 ``PL_ERR_NULL_POINTER`` for a NULL stream).
        """
        call = "pl_release_smart_stream_struct"
        require_instance(stream, _SMART_STREAM_P,
                         "the stream must be a POINTER(SMART_STREAM_TYPE)", call)
        self._call(call, byref(stream))

    def create_frame_info_struct(self) -> Any:
        """Allocate a zeroed ``FRAME_INFO`` (``pl_create_frame_info_struct``).

        Returns
        -------
        ctypes.POINTER(FRAME_INFO)
            Library-owned memory (the 3.10 library leaves the GUID zero); free it
            with :meth:`release_frame_info_struct`.

        Raises
        ------
        SDKError
            The library's error (e.g. 152 when out of memory).
        """
        info = _FRAME_INFO_P()
        self._call("pl_create_frame_info_struct", byref(info))
        return info

    def release_frame_info_struct(self, info: Any) -> None:
        """Free a ``FRAME_INFO`` from :meth:`create_frame_info_struct`.

        Calls ``pl_release_frame_info_struct``. ``info`` is set to NULL afterwards, so
        releasing it twice fails with 153 instead of freeing twice. Never pass a pointer
        to Python-owned memory (``ctypes.pointer(FRAME_INFO())``): the library would
        free memory it does not own.

        Parameters
        ----------
        info : ctypes.POINTER(FRAME_INFO)
            The pointer :meth:`create_frame_info_struct` returned.

        Raises
        ------
        ArgumentError
            If ``info`` is not a ``POINTER(FRAME_INFO)``.
        SDKError
            The library's error (153 ``PL_ERR_NULL_POINTER`` for NULL).
        """
        self._release_struct("pl_release_frame_info_struct", info, _FRAME_INFO_P,
                             "the frame info must be a POINTER(FRAME_INFO)")

    def _release_struct(self, call: str, pointer: Any, expected: Any, message: str) -> None:
        """Type-check ``pointer``, free it with ``call`` and set it to NULL (see clear_pointer)."""
        require_instance(pointer, expected, message, call)
        self._call(call, pointer)
        clear_pointer(pointer)

    # ------------------------------------------------------------------ legacy callbacks
    def register_legacy_callback(self, hcam: int, event: int, cfunc: Any) -> None:
        """Register a ``void cb(void)`` handler for ``event``.

        Calls the deprecated ``pl_cam_register_callback``.

        Parameters
        ----------
        hcam : int
            Camera handle.
        event : int
            ``PL_CALLBACK_EOF`` etc.
        cfunc : types.LEGACY_CALLBACK
            Called with no arguments on the library's own thread.

        Raises
        ------
        ArgumentError
            If ``cfunc`` is not a ``LEGACY_CALLBACK`` (another signature would be
            called with the wrong arguments).
        SDKError
            The library's error.

        Notes
        -----
        As for :meth:`~ophyd_pvcam.sdk.binding.PVCAMLibrary.register_callback`: the
        binding keeps ``cfunc`` referenced until deregistration, close or uninit; keep
        your own reference too, and never deregister from inside the callback.
        """
        self._register_handler("pl_cam_register_callback", LEGACY_CALLBACK, "LEGACY_CALLBACK",
                               hcam, event, cfunc)

    def register_legacy_callback_ex(self, hcam: int, event: int, cfunc: Any,
                                    context: Any = None) -> None:
        """Register a ``void cb(void* context)`` handler for ``event``.

        Calls the deprecated ``pl_cam_register_callback_ex``.

        Parameters
        ----------
        hcam : int
            Camera handle.
        event : int
            ``PL_CALLBACK_EOF`` etc.
        cfunc : types.LEGACY_CONTEXT_CALLBACK
            Called with ``context`` (as an int address, or ``None``) on the library's thread.
        context : int, ctypes object or None, optional
            Passed back to the callback as ``void*``; kept referenced with ``cfunc``.

        Raises
        ------
        ArgumentError
            If ``cfunc`` is not a ``LEGACY_CONTEXT_CALLBACK`` or ``context`` is not memory.
        SDKError
            The library's error.

        Notes
        -----
        Reference keeping and threading as for :meth:`register_legacy_callback`.
        """
        self._register_handler("pl_cam_register_callback_ex", LEGACY_CONTEXT_CALLBACK,
                               "LEGACY_CONTEXT_CALLBACK", hcam, event, cfunc, context)

    def register_legacy_callback_ex2(self, hcam: int, event: int, cfunc: Any) -> None:
        """Register a ``void cb(const FRAME_INFO*)`` handler for ``event``.

        Calls the deprecated ``pl_cam_register_callback_ex2``.

        Parameters
        ----------
        hcam : int
            Camera handle.
        event : int
            ``PL_CALLBACK_EOF`` etc.
        cfunc : types.LEGACY_FRAME_INFO_CALLBACK
            Called on the library's thread with a ``POINTER(FRAME_INFO)`` valid only
            during the call.

        Raises
        ------
        ArgumentError
            If ``cfunc`` is not a ``LEGACY_FRAME_INFO_CALLBACK``.
        SDKError
            The library's error.

        Notes
        -----
        Reference keeping and threading as for :meth:`register_legacy_callback`.
        """
        self._register_handler("pl_cam_register_callback_ex2", LEGACY_FRAME_INFO_CALLBACK,
                               "LEGACY_FRAME_INFO_CALLBACK", hcam, event, cfunc)
