"""Tests of ophyd_pvcam.sdk.prototypes: the declared C signatures match the reference."""
from __future__ import annotations

import ctypes
from ctypes import POINTER, c_int16, c_uint16, c_uint32, c_void_p

from ophyd_pvcam.sdk import prototypes as P
from ophyd_pvcam.sdk import types as T

# The export list of the 3.10.2.5 binary as enumerated in reference section 1.
EXPORTED_3_10 = {
    "pl_cam_close", "pl_cam_deregister_callback", "pl_cam_get_name", "pl_cam_get_total",
    "pl_cam_open", "pl_cam_register_callback", "pl_cam_register_callback_ex",
    "pl_cam_register_callback_ex2", "pl_cam_register_callback_ex3",
    "pl_create_frame_info_struct", "pl_create_smart_stream_struct", "pl_enum_str_length",
    "pl_error_code", "pl_error_message", "pl_exp_abort", "pl_exp_check_cont_status",
    "pl_exp_check_cont_status_ex", "pl_exp_check_status", "pl_exp_finish_seq",
    "pl_exp_get_latest_frame", "pl_exp_get_latest_frame_ex", "pl_exp_get_oldest_frame",
    "pl_exp_get_oldest_frame_ex", "pl_exp_setup_cont", "pl_exp_setup_seq", "pl_exp_start_cont",
    "pl_exp_start_seq", "pl_exp_stop_cont", "pl_exp_unlock_oldest_frame", "pl_get_enum_param",
    "pl_get_param", "pl_internal_bridge_command", "pl_internal_cam_write_read_passthrough",
    "pl_io_clear_script_control", "pl_io_script_control", "pl_md_create_frame_struct",
    "pl_md_create_frame_struct_cont", "pl_md_frame_decode", "pl_md_frame_recompose",
    "pl_md_read_extended", "pl_md_release_frame_struct", "pl_pp_reset", "pl_pvcam_get_ver",
    "pl_pvcam_init", "pl_pvcam_uninit", "pl_release_frame_info_struct",
    "pl_release_smart_stream_struct", "pl_set_param", "pvcam_event_create",
    "pvcam_event_destroy", "pvcam_event_name", "pvcam_event_reset", "pvcam_event_set",
    "pvcam_event_wait_single", "pl_exp_trigger", "pl_internal_cam_diag_command",
}


def test_table_covers_exactly_the_exported_functions():
    assert set(P.PROTOTYPES) == EXPORTED_3_10


def test_every_public_pl_function_returns_16_bit_rs_bool_except_error_code():
    for name, (restype, argtypes) in P.PROTOTYPES.items():
        if name == "pl_error_code":
            assert restype is c_int16  # returns the code itself
        elif name.startswith("pl_"):
            assert restype is c_uint16, name
    assert ctypes.sizeof(T.rs_bool) == 2


def test_only_functions_without_public_prototype_are_unchecked():
    assert P.UNDOCUMENTED == {
        "pl_internal_bridge_command", "pl_internal_cam_diag_command", "pvcam_event_create",
        "pvcam_event_destroy", "pvcam_event_name", "pvcam_event_reset", "pvcam_event_set",
        "pvcam_event_wait_single"}
    assert P.REQUIRED <= set(P.PROTOTYPES) - P.UNDOCUMENTED


def test_key_prototypes_match_reference_section_3():
    proto = {name: argtypes for name, (_, argtypes) in P.PROTOTYPES.items()}
    assert proto["pl_get_param"] == [c_int16, c_uint32, c_int16, c_void_p]
    assert proto["pl_exp_setup_seq"] == [
        c_int16, c_uint16, c_uint16, POINTER(T.RGN_TYPE), c_int16, c_uint32, POINTER(c_uint32)]
    assert proto["pl_exp_setup_cont"] == [
        c_int16, c_uint16, POINTER(T.RGN_TYPE), c_int16, c_uint32, POINTER(c_uint32), c_int16]
    assert proto["pl_exp_start_cont"] == [c_int16, c_void_p, c_uint32]
    assert proto["pl_exp_trigger"] == [c_int16, POINTER(c_uint32), c_uint32]
    assert proto["pl_exp_get_oldest_frame_ex"] == [
        c_int16, POINTER(c_void_p), POINTER(T.FRAME_INFO)]
    assert proto["pl_exp_check_cont_status"] == [
        c_int16, POINTER(c_int16), POINTER(c_uint32), POINTER(c_uint32)]
    assert proto["pl_cam_register_callback_ex3"] == [c_int16, ctypes.c_int32, c_void_p, c_void_p]
    assert proto["pl_exp_finish_seq"] == [c_int16, c_void_p, c_int16]


def test_declare_sets_signatures_and_reports_missing_names():
    class FakeFunction:
        """Attribute holder standing in for a ctypes function object."""

    class PartialLibrary:
        pl_get_param = FakeFunction()
        pl_error_code = FakeFunction()

    functions, missing = P.declare(PartialLibrary())
    assert set(functions) == {"pl_get_param", "pl_error_code"}
    assert functions["pl_get_param"].argtypes == P.PROTOTYPES["pl_get_param"][1]
    assert functions["pl_error_code"].restype is c_int16
    assert missing == set(P.PROTOTYPES) - {"pl_get_param", "pl_error_code"}
