"""Tests of ophyd_pvcam.sdk._extras against the simulator: post-processing reset, I/O
scripts, library-allocated helper structures and the deprecated callback registrations."""
from __future__ import annotations

import ctypes
from ctypes import byref, c_int16

import numpy as np
import pytest

from ophyd_pvcam.sdk import _extras
from ophyd_pvcam.sdk import constants as C
from ophyd_pvcam.sdk import errors as E
from ophyd_pvcam.sdk.types import (
    EOF_CALLBACK,
    FRAME_INFO,
    LEGACY_CALLBACK,
    LEGACY_CONTEXT_CALLBACK,
    LEGACY_FRAME_INFO_CALLBACK,
    SMART_STREAM_TYPE,
    FrameInfo,
)

SMALL_ROI = (0, 63, 1, 0, 31, 1)  # 64 x 32 pixels


def _start_cont(library, camera, frames_in_buffer=4, exposure_ms=2):
    frame_bytes = library.exp_setup_cont(camera, SMALL_ROI, C.EXT_TRIG_INTERNAL, exposure_ms,
                                         C.CIRC_OVERWRITE)
    buffer = np.zeros(frame_bytes * frames_in_buffer, dtype=np.uint8)
    library.exp_start_cont(camera, buffer)
    return buffer


# ------------------------------------------------------------------ post-processing, I/O
def test_pp_reset_succeeds_on_an_open_camera(library, camera):
    library.pp_reset(camera)
    assert library.error_code() == 0


def test_pp_reset_and_io_calls_raise_175_for_a_handle_that_is_not_open(library, camera):
    for method, args, call in ((library.pp_reset, (), "pl_pp_reset"),
                               (library.io_clear_script_control, (), "pl_io_clear_script_control"),
                               (library.io_script_control, (0, 1.0, 0), "pl_io_script_control")):
        with pytest.raises(E.DeviceError) as info:
            method(camera + 100, *args)
        assert (info.value.code, info.value.call) == (175, call)


def test_io_script_control_is_not_implemented_by_the_simulated_camera(library, camera):
    with pytest.raises(E.NotImplementedBySDKError) as info:
        library.io_script_control(camera, 0, 1.0, 0)
    assert (info.value.code, info.value.call) == (155, "pl_io_script_control")
    assert "PL_ERR_NOT_IMPLEMENTED" in info.value.message


def test_io_script_control_refuses_values_that_do_not_fit_before_the_call(library, camera):
    with pytest.raises(E.ValueRejectedError, match="I/O address 70000") as info:
        library.io_script_control(camera, 70000, 1.0, 0)
    assert info.value.code is None
    with pytest.raises(E.ValueRejectedError, match="location"):
        library.io_script_control(camera, 0, 1.0, -1)


def test_io_clear_script_control_succeeds_on_an_open_camera(library, camera):
    library.io_clear_script_control(camera)
    assert library.error_code() == 0


# ------------------------------------------------------------------ FRAME_INFO helper
def test_frame_info_struct_is_zeroed_library_memory_usable_as_an_out_parameter(
        library, camera, wait_for):
    info = library.create_frame_info_struct()
    assert isinstance(info, ctypes.POINTER(FRAME_INFO)) and info
    assert bytes(info.contents) == bytes(48)  # calloc'ed, GUID left zero as in 3.10
    buffer = _start_cont(library, camera)
    status, arrived, passes = ctypes.c_int16(), ctypes.c_uint32(), ctypes.c_uint32()

    def latest_frame_number():
        assert library.raw.pl_exp_check_cont_status_ex(
            c_int16(camera), byref(status), byref(arrived), byref(passes), info)
        return info.contents.FrameNr

    wait_for(lambda: latest_frame_number() >= 2, "two frames reported into the struct")
    library.exp_stop_cont(camera)
    del buffer
    copy = FrameInfo.from_struct(info)
    assert copy.camera_handle == camera and copy.timestamp >= copy.timestamp_bof
    library.release_frame_info_struct(info)
    assert not info  # nulled, so it cannot be used or freed again


def test_releasing_a_frame_info_struct_twice_gets_153_not_a_double_free(library):
    info = library.create_frame_info_struct()
    library.release_frame_info_struct(info)
    with pytest.raises(E.SDKError) as error:
        library.release_frame_info_struct(info)
    assert (error.value.code, error.value.call) == (153, "pl_release_frame_info_struct")


def test_release_frame_info_refuses_python_owned_structures(library):
    with pytest.raises(E.ArgumentError, match="POINTER\\(FRAME_INFO\\)") as error:
        library.release_frame_info_struct(FRAME_INFO())
    assert isinstance(error.value, TypeError)
    assert error.value.call == "pl_release_frame_info_struct"


def test_clear_pointer_sets_a_ctypes_pointer_to_null():
    target = ctypes.c_uint32(5)
    pointer = ctypes.pointer(target)
    _extras.clear_pointer(pointer)
    assert not pointer
    assert target.value == 5  # only the pointer changed, not what it pointed at


# ------------------------------------------------------------------ S.M.A.R.T. stream helper
def test_smart_stream_struct_round_trip(library):
    stream = library.create_smart_stream_struct(3)
    assert isinstance(stream, ctypes.POINTER(SMART_STREAM_TYPE)) and stream
    assert stream.contents.entries == 3
    params = stream.contents.params
    assert [params[i] for i in range(3)] == [0, 0, 0]
    for i, value in enumerate((10, 20, 30)):
        params[i] = value
    assert [stream.contents.params[i] for i in range(3)] == [10, 20, 30]
    library.release_smart_stream_struct(stream)
    assert not stream  # the library wrote NULL through the pointer-to-pointer
    with pytest.raises(E.SDKError) as info:
        library.release_smart_stream_struct(stream)
    assert (info.value.code, info.value.call) == (153, "pl_release_smart_stream_struct")


def test_smart_stream_of_zero_entries_is_refused_by_the_library_with_164(library):
    with pytest.raises(E.ValueRejectedError) as info:
        library.create_smart_stream_struct(0)
    assert (info.value.code, info.value.call) == (164, "pl_create_smart_stream_struct")
    with pytest.raises(E.ValueRejectedError) as info:
        library.create_smart_stream_struct(70000)
    assert info.value.code is None  # refused before the call: uns16 would truncate it


def test_release_smart_stream_refuses_anything_but_a_stream_pointer(library):
    with pytest.raises(E.ArgumentError, match="SMART_STREAM_TYPE"):
        library.release_smart_stream_struct(SMART_STREAM_TYPE())


# ------------------------------------------------------------------ legacy callbacks
def test_legacy_plain_callback_is_called_once_per_frame(library, camera, wait_for):
    calls = []
    callback = LEGACY_CALLBACK(lambda: calls.append(1))
    library.register_legacy_callback(camera, C.PL_CALLBACK_EOF, callback)
    buffer = _start_cont(library, camera)
    wait_for(lambda: len(calls) >= 3, "three legacy callbacks")
    library.exp_stop_cont(camera)
    library.deregister_callback(camera, C.PL_CALLBACK_EOF)
    del buffer
    assert (camera, C.PL_CALLBACK_EOF) not in library._callbacks
    count = len(calls)
    frames = library.exp_setup_seq(camera, 2, SMALL_ROI, C.EXT_TRIG_INTERNAL, 1)
    sequence = np.zeros(frames, dtype=np.uint8)
    library.exp_start_seq(camera, sequence)
    wait_for(lambda: library.exp_check_status(camera)[0] == C.READOUT_COMPLETE, "sequence")
    library.exp_finish_seq(camera, sequence)
    assert len(calls) == count  # deregistered: no more calls


def test_legacy_context_callback_receives_the_registered_context(library, camera, wait_for):
    context = ctypes.c_int(77)
    seen = []

    def on_frame(context_pointer):
        seen.append(ctypes.cast(context_pointer, ctypes.POINTER(ctypes.c_int)).contents.value)

    callback = LEGACY_CONTEXT_CALLBACK(on_frame)
    library.register_legacy_callback_ex(camera, C.PL_CALLBACK_EOF, callback, context)
    assert library._callbacks[(camera, C.PL_CALLBACK_EOF)] == (callback, context)
    buffer = _start_cont(library, camera)
    wait_for(lambda: len(seen) >= 3, "three legacy context callbacks")
    library.exp_stop_cont(camera)
    library.deregister_callback(camera, C.PL_CALLBACK_EOF)
    del buffer
    assert set(seen) == {77}


def test_legacy_frame_info_callback_delivers_frames_in_order(library, camera, wait_for):
    received = []
    callback = LEGACY_FRAME_INFO_CALLBACK(
        lambda info: received.append(FrameInfo.from_struct(info)))
    library.register_legacy_callback_ex2(camera, C.PL_CALLBACK_EOF, callback)
    buffer = _start_cont(library, camera)
    wait_for(lambda: len(received) >= 4, "four legacy FRAME_INFO callbacks")
    library.exp_stop_cont(camera)
    library.deregister_callback(camera, C.PL_CALLBACK_EOF)
    del buffer
    numbers = [info.frame_number for info in received]
    assert numbers == list(range(1, len(numbers) + 1))
    assert all(info.camera_handle == camera for info in received)


@pytest.mark.parametrize("method, wrong", [
    ("register_legacy_callback", LEGACY_CONTEXT_CALLBACK(lambda ctx: None)),
    ("register_legacy_callback_ex", LEGACY_CALLBACK(lambda: None)),
    ("register_legacy_callback_ex2", EOF_CALLBACK(lambda info, ctx: None)),
    ("register_legacy_callback", lambda: None),  # a Python function, not a ctypes callback
])
def test_legacy_callbacks_of_another_signature_are_refused_before_registration(
        library, camera, method, wrong):
    with pytest.raises(E.ArgumentError, match="the callback must be a types\\.") as info:
        getattr(library, method)(camera, C.PL_CALLBACK_EOF, wrong)
    assert isinstance(info.value, TypeError) and info.value.call.startswith(
        "pl_cam_register_callback")
    assert (camera, C.PL_CALLBACK_EOF) not in library._callbacks


def test_legacy_registration_for_an_unsupported_event_raises_the_library_error(library, camera):
    callback = LEGACY_CALLBACK(lambda: None)
    with pytest.raises(E.ValueRejectedError) as info:
        library.register_legacy_callback(camera, C.PL_CALLBACK_MAX, callback)
    assert (info.value.code, info.value.call) == (164, "pl_cam_register_callback")
    with pytest.raises(E.NotImplementedBySDKError) as info:
        library.register_legacy_callback_ex2(
            camera, C.PL_CALLBACK_CHECK_CAMS, LEGACY_FRAME_INFO_CALLBACK(lambda i: None))
    assert info.value.code == 155
    assert library._callbacks == {}
