"""C prototypes of the 61 functions exported by ``libpvcam.so.2`` (PVCAM 3.10.2.5).

One table, :data:`PROTOTYPES`, maps each exported name to ``(restype, argtypes)``
exactly as the vendor header declares them (reference section 3). Keeping the table
apart from :mod:`.binding` lets the tests check it against the reference without a
library, and keeps the binding's Python logic readable.

Eight exports have no public prototype (``pl_internal_bridge_command``,
``pl_internal_cam_diag_command`` and the six ``pvcam_event_*`` helpers). For those
the table holds ``argtypes=None`` (unchecked: ctypes would accept anything), so the
binding offers no Python wrapper for them; they stay reachable through ``.raw``.
``pl_internal_cam_write_read_passthrough`` is declared from the binary but is not
public either, so it too is raw-only. Every other export has a wrapper method on
:class:`~ophyd_pvcam.sdk.binding.PVCAMLibrary`.
"""
from __future__ import annotations

from ctypes import (
    POINTER,
    c_char_p,
    c_double,
    c_int16,
    c_int32,
    c_uint8,
    c_uint16,
    c_uint32,
    c_void_p,
)
from typing import Any, Optional

from .types import (
    FRAME_INFO,
    RGN_TYPE,
    SMART_STREAM_TYPE,
    md_ext_item_collection,
    md_frame,
    rs_bool,
)

__all__ = ["PROTOTYPES", "REQUIRED", "UNDOCUMENTED", "declare"]

_h = c_int16  # camera handle
_pid = c_uint32  # parameter id

#: name -> (restype, argtypes); argtypes None = no public prototype.
PROTOTYPES: dict[str, tuple[Any, Optional[list]]] = {
    # library and cameras
    "pl_pvcam_get_ver": (rs_bool, [POINTER(c_uint16)]),
    "pl_pvcam_init": (rs_bool, []),
    "pl_pvcam_uninit": (rs_bool, []),
    "pl_cam_get_total": (rs_bool, [POINTER(c_int16)]),
    "pl_cam_get_name": (rs_bool, [c_int16, c_char_p]),
    "pl_cam_open": (rs_bool, [c_char_p, POINTER(c_int16), c_int16]),
    "pl_cam_close": (rs_bool, [_h]),
    # callbacks; the function pointer is passed as void*
    "pl_cam_register_callback": (rs_bool, [_h, c_int32, c_void_p]),
    "pl_cam_register_callback_ex": (rs_bool, [_h, c_int32, c_void_p, c_void_p]),
    "pl_cam_register_callback_ex2": (rs_bool, [_h, c_int32, c_void_p]),
    "pl_cam_register_callback_ex3": (rs_bool, [_h, c_int32, c_void_p, c_void_p]),
    "pl_cam_deregister_callback": (rs_bool, [_h, c_int32]),
    # errors: pl_error_code returns the int16 code itself
    "pl_error_code": (c_int16, []),
    "pl_error_message": (rs_bool, [c_int16, c_char_p]),
    # parameters
    "pl_get_param": (rs_bool, [_h, _pid, c_int16, c_void_p]),
    "pl_set_param": (rs_bool, [_h, _pid, c_void_p]),
    "pl_get_enum_param": (rs_bool, [_h, _pid, c_uint32, POINTER(c_int32), c_char_p, c_uint32]),
    "pl_enum_str_length": (rs_bool, [_h, _pid, c_uint32, POINTER(c_uint32)]),
    "pl_pp_reset": (rs_bool, [_h]),
    "pl_create_smart_stream_struct": (rs_bool, [POINTER(POINTER(SMART_STREAM_TYPE)), c_uint16]),
    "pl_release_smart_stream_struct": (rs_bool, [POINTER(POINTER(SMART_STREAM_TYPE))]),
    "pl_create_frame_info_struct": (rs_bool, [POINTER(POINTER(FRAME_INFO))]),
    "pl_release_frame_info_struct": (rs_bool, [POINTER(FRAME_INFO)]),
    # sequence acquisition
    "pl_exp_setup_seq": (
        rs_bool, [_h, c_uint16, c_uint16, POINTER(RGN_TYPE), c_int16, c_uint32, POINTER(c_uint32)]),
    "pl_exp_start_seq": (rs_bool, [_h, c_void_p]),
    "pl_exp_check_status": (rs_bool, [_h, POINTER(c_int16), POINTER(c_uint32)]),
    "pl_exp_finish_seq": (rs_bool, [_h, c_void_p, c_int16]),
    # continuous acquisition
    "pl_exp_setup_cont": (
        rs_bool, [_h, c_uint16, POINTER(RGN_TYPE), c_int16, c_uint32, POINTER(c_uint32), c_int16]),
    "pl_exp_start_cont": (rs_bool, [_h, c_void_p, c_uint32]),
    "pl_exp_check_cont_status": (
        rs_bool, [_h, POINTER(c_int16), POINTER(c_uint32), POINTER(c_uint32)]),
    "pl_exp_check_cont_status_ex": (
        rs_bool, [_h, POINTER(c_int16), POINTER(c_uint32), POINTER(c_uint32), POINTER(FRAME_INFO)]),
    "pl_exp_get_latest_frame": (rs_bool, [_h, POINTER(c_void_p)]),
    "pl_exp_get_latest_frame_ex": (rs_bool, [_h, POINTER(c_void_p), POINTER(FRAME_INFO)]),
    "pl_exp_get_oldest_frame": (rs_bool, [_h, POINTER(c_void_p)]),
    "pl_exp_get_oldest_frame_ex": (rs_bool, [_h, POINTER(c_void_p), POINTER(FRAME_INFO)]),
    "pl_exp_unlock_oldest_frame": (rs_bool, [_h]),
    "pl_exp_stop_cont": (rs_bool, [_h, c_int16]),
    "pl_exp_abort": (rs_bool, [_h, c_int16]),
    "pl_exp_trigger": (rs_bool, [_h, POINTER(c_uint32), c_uint32]),  # PVCAM_CORE_2.5
    # I/O scripts
    "pl_io_script_control": (rs_bool, [_h, c_uint16, c_double, c_uint32]),
    "pl_io_clear_script_control": (rs_bool, [_h]),
    # frame metadata
    "pl_md_frame_decode": (rs_bool, [POINTER(md_frame), c_void_p, c_uint32]),
    "pl_md_frame_recompose": (
        rs_bool, [c_void_p, c_uint16, c_uint16, c_uint16, c_uint16, POINTER(md_frame)]),
    "pl_md_create_frame_struct_cont": (rs_bool, [POINTER(POINTER(md_frame)), c_uint16]),
    "pl_md_create_frame_struct": (rs_bool, [POINTER(POINTER(md_frame)), c_void_p, c_uint32]),
    "pl_md_release_frame_struct": (rs_bool, [POINTER(md_frame)]),
    "pl_md_read_extended": (rs_bool, [POINTER(md_ext_item_collection), c_void_p, c_uint32]),
    # internal, not in the public header; prototype known from the binary
    "pl_internal_cam_write_read_passthrough": (
        rs_bool, [_h, c_uint16, POINTER(c_uint8), c_uint16, POINTER(c_uint8)]),
    # exported without a public prototype: return type inferred (pl_* return rs_bool)
    "pl_internal_bridge_command": (rs_bool, None),
    "pl_internal_cam_diag_command": (rs_bool, None),
    # pvcam_event_* helpers: nothing public is known, ctypes' default int restype stays
    "pvcam_event_create": (None, None),
    "pvcam_event_destroy": (None, None),
    "pvcam_event_name": (None, None),
    "pvcam_event_reset": (None, None),
    "pvcam_event_set": (None, None),
    "pvcam_event_wait_single": (None, None),
}

#: Functions without a public prototype; the binding never calls them.
UNDOCUMENTED: frozenset[str] = frozenset(
    name for name, (_, argtypes) in PROTOTYPES.items() if argtypes is None)

#: Functions every supported library must export (what PyVCAM and our binding use).
REQUIRED: frozenset[str] = frozenset({
    "pl_pvcam_get_ver", "pl_pvcam_init", "pl_pvcam_uninit", "pl_cam_get_total",
    "pl_cam_get_name", "pl_cam_open", "pl_cam_close", "pl_cam_register_callback_ex3",
    "pl_cam_deregister_callback", "pl_error_code", "pl_error_message", "pl_get_param",
    "pl_set_param", "pl_get_enum_param", "pl_enum_str_length", "pl_exp_setup_seq",
    "pl_exp_start_seq", "pl_exp_check_status", "pl_exp_finish_seq", "pl_exp_setup_cont",
    "pl_exp_start_cont", "pl_exp_check_cont_status", "pl_exp_check_cont_status_ex",
    "pl_exp_get_latest_frame", "pl_exp_get_latest_frame_ex", "pl_exp_get_oldest_frame",
    "pl_exp_get_oldest_frame_ex", "pl_exp_unlock_oldest_frame", "pl_exp_stop_cont",
    "pl_exp_abort",
})


def declare(cdll: Any) -> tuple[dict[str, Any], frozenset[str]]:
    """Set ``restype``/``argtypes`` on every function of :data:`PROTOTYPES` that ``cdll`` exports.

    Parameters
    ----------
    cdll : ctypes.CDLL
        The loaded library.

    Returns
    -------
    functions : dict
        Exported name -> declared ctypes function object.
    missing : frozenset of str
        Names of :data:`PROTOTYPES` the library does not export.
    """
    functions: dict[str, Any] = {}
    missing = set()
    for name, (restype, argtypes) in PROTOTYPES.items():
        try:
            function = getattr(cdll, name)
        except AttributeError:
            missing.add(name)
            continue
        if restype is not None:
            function.restype = restype
        if argtypes is not None:
            function.argtypes = argtypes
        functions[name] = function
    return functions, frozenset(missing)
