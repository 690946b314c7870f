"""Tests of ophyd_pvcam.sdk.binding against the simulator: library, cameras, errors, callbacks."""
from __future__ import annotations

import ctypes
import inspect
import re
import threading
import types as pytypes

import numpy as np
import pytest

from ophyd_pvcam.sdk import constants as C
from ophyd_pvcam.sdk import errors as E
from ophyd_pvcam.sdk.binding import PVCAMLibrary
from ophyd_pvcam.sdk.prototypes import PROTOTYPES, REQUIRED, UNDOCUMENTED
from ophyd_pvcam.sdk.types import EOF_CALLBACK, LEGACY_FRAME_INFO_CALLBACK, FrameInfo

SMALL_ROI = (0, 63, 1, 0, 31, 1)  # 64 x 32 pixels


# ---------------------------------------------------------------------------- library
def test_simulator_exports_every_documented_function_with_declared_signature(sim_library):
    assert REQUIRED <= set(sim_library._fn)
    assert sim_library.missing <= UNDOCUMENTED
    for name, function in sim_library._fn.items():
        restype, argtypes = PROTOTYPES[name]
        if argtypes is not None:
            assert function.argtypes == argtypes, name
            assert function.restype is restype, name


def test_every_export_with_a_public_prototype_has_a_wrapper_method():
    # Only exports without a public prototype are left raw-only.
    raw_only = UNDOCUMENTED | {"pl_internal_cam_write_read_passthrough"}
    assert all(name.startswith(("pvcam_event_", "pl_internal_")) for name in raw_only)
    sources = "".join(inspect.getsource(member) for name, member in
                      inspect.getmembers(PVCAMLibrary, inspect.isfunction))
    unwrapped = {name for name in PROTOTYPES if name not in raw_only
                 and f'"{name}"' not in sources}
    assert unwrapped == set()


def test_version_is_formatted_major_minor_trivial(sim_library):
    version = sim_library.pvcam_get_ver()
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    assert version == "3.10.2"  # the simulator mirrors the 3.10.2.5 SDK


def test_init_twice_raises_already_initialized_158(library):
    with pytest.raises(E.AlreadyInitializedError) as info:
        library.pvcam_init()
    error = info.value
    assert error.code == 158 and error.call == "pl_pvcam_init"
    assert "PL_ERR_LIBRARY_ALREADY_INITIALIZED" in error.message


def test_calls_before_init_raise_not_initialized_157(init_library, sim_library):
    library = init_library()
    library.pvcam_uninit()
    with pytest.raises(E.NotInitializedError) as info:
        sim_library.cam_get_total()
    assert info.value.code == 157 and info.value.call == "pl_cam_get_total"
    with pytest.raises(E.NotInitializedError):
        sim_library.pvcam_uninit()


def test_error_code_is_zero_after_a_successful_call(library):
    with pytest.raises(E.SDKError):
        library.cam_open("no-such-camera")
    assert library.error_code() == 176
    library.cam_get_total()
    assert library.error_code() == 0


def test_error_message_has_sentence_and_code_name(sim_library):
    assert sim_library.error_message(185) == "Invalid configuration (PL_ERR_CONFIGURATION_INVALID)"
    assert sim_library.error_message(0) == "No error (PL_ERR_NONE)"
    assert "Unknown error" in sim_library.error_message(100)


# ---------------------------------------------------------------------------- cameras
def test_cameras_are_listed_in_configured_order(init_library):
    library = init_library("prime-bsi,kinetix")
    assert library.cam_get_total() == 2
    assert [library.cam_get_name(i) for i in range(2)] == ["pvcamUSB_0", "pvcamUSB_1"]
    first = library.cam_open("pvcamUSB_0")
    second = library.cam_open("pvcamUSB_1")
    assert first != second
    assert library.get_param(first, C.PARAM_SER_SIZE) == 2048
    assert library.get_param(second, C.PARAM_SER_SIZE) == 3200
    library.cam_close(first)
    library.cam_close(second)


def test_camera_index_out_of_range_is_rejected(library):
    with pytest.raises(E.ValueRejectedError) as info:
        library.cam_get_name(5)
    assert info.value.code == 186


def test_unknown_camera_name_raises_176(library):
    with pytest.raises(E.DeviceError) as info:
        library.cam_open("pvcamUSB_9")
    assert info.value.code == 176 and info.value.call == "pl_cam_open"
    assert "PL_ERR_DEVICE_NAME_UNKNOWN" in str(info.value)


def test_bad_handle_raises_175(library, camera):
    with pytest.raises(E.DeviceError) as info:
        library.get_param(camera + 100, C.PARAM_SER_SIZE)
    assert info.value.code == 175
    library.cam_close(camera)
    with pytest.raises(E.DeviceError) as info:
        library.cam_close(camera)
    assert info.value.code == 175 and info.value.call == "pl_cam_close"


def test_reopened_camera_works_after_close(library, camera):
    name = library.cam_get_name(0)
    library.cam_close(camera)
    handle = library.cam_open(name)
    assert library.get_param(handle, C.PARAM_PAR_SIZE) == 2048
    library.cam_close(handle)


# ---------------------------------------------------------------------------- callbacks
def _start_cont(library, camera, frames_in_buffer=4, exposure_ms=2):
    frame_bytes = library.exp_setup_cont(camera, SMALL_ROI, C.EXT_TRIG_INTERNAL, exposure_ms,
                                         C.CIRC_OVERWRITE)
    buffer = np.zeros(frame_bytes * frames_in_buffer, dtype=np.uint8)
    library.exp_start_cont(camera, buffer)
    return buffer


def test_eof_callback_delivers_each_frame_in_order_with_handle_and_context(
        library, camera, wait_for):
    received = []
    context = ctypes.c_int(42)

    def on_frame(info_pointer, context_pointer):
        # runs on the library's thread: copy, never block
        received.append((FrameInfo.from_struct(info_pointer),
                         ctypes.cast(context_pointer, ctypes.POINTER(ctypes.c_int)).contents.value,
                         threading.current_thread() is threading.main_thread()))

    callback = EOF_CALLBACK(on_frame)
    library.register_callback(camera, C.PL_CALLBACK_EOF, callback, context)
    _start_cont(library, camera)
    wait_for(lambda: len(received) >= 5, "five EOF callbacks")
    library.exp_stop_cont(camera)
    library.deregister_callback(camera, C.PL_CALLBACK_EOF)
    numbers = [info.frame_number for info, _, _ in received]
    assert numbers == list(range(1, len(numbers) + 1))
    assert all(info.camera_handle == camera for info, _, _ in received)
    assert all(value == 42 for _, value, _ in received)
    assert not any(on_main for _, _, on_main in received)
    assert all(info.timestamp >= info.timestamp_bof for info, _, _ in received)


def test_binding_keeps_the_callback_alive_until_deregistered(library, camera, wait_for):
    received = []
    library.register_callback(
        camera, C.PL_CALLBACK_EOF,
        EOF_CALLBACK(lambda info, ctx: received.append(info.contents.FrameNr)))
    # The only reference to the ctypes callback is now the binding's.
    _start_cont(library, camera)
    wait_for(lambda: len(received) >= 3, "three callbacks through the binding-held reference")
    library.exp_stop_cont(camera)
    library.deregister_callback(camera, C.PL_CALLBACK_EOF)
    assert (camera, C.PL_CALLBACK_EOF) not in library._callbacks


def test_deregistered_callback_is_not_called_again(library, camera, wait_for):
    received = []
    callback = EOF_CALLBACK(lambda info, ctx: received.append(info.contents.FrameNr))
    library.register_callback(camera, C.PL_CALLBACK_EOF, callback)
    library.deregister_callback(camera, C.PL_CALLBACK_EOF)
    _start_cont(library, camera)
    wait_for(lambda: library.exp_check_cont_status_ex(camera)[3].frame_number >= 3,
             "frames acquired without a callback")
    library.exp_stop_cont(camera)
    assert received == []


def test_reregistering_replaces_the_handler(library, camera, wait_for):
    first, second = [], []
    cb1 = EOF_CALLBACK(lambda info, ctx: first.append(info.contents.FrameNr))
    cb2 = EOF_CALLBACK(lambda info, ctx: second.append(info.contents.FrameNr))
    library.register_callback(camera, C.PL_CALLBACK_EOF, cb1)
    library.register_callback(camera, C.PL_CALLBACK_EOF, cb2)
    _start_cont(library, camera)
    wait_for(lambda: len(second) >= 3, "callbacks of the replacing handler")
    library.exp_stop_cont(camera)
    library.deregister_callback(camera, C.PL_CALLBACK_EOF)
    assert first == []


@pytest.mark.parametrize("wrong", [
    LEGACY_FRAME_INFO_CALLBACK(lambda info: None),  # would be called with a missing argument
    lambda info, ctx: None,  # a Python function the library cannot call
    None,
])
def test_register_callback_refuses_anything_but_an_eof_callback(library, camera, wrong):
    with pytest.raises(E.ArgumentError, match="types.EOF_CALLBACK") as info:
        library.register_callback(camera, C.PL_CALLBACK_EOF, wrong)
    assert isinstance(info.value, TypeError)
    assert info.value.call == "pl_cam_register_callback_ex3"
    assert (camera, C.PL_CALLBACK_EOF) not in library._callbacks


def test_register_callback_refuses_a_context_that_is_not_memory(library, camera):
    callback = EOF_CALLBACK(lambda info, ctx: None)
    with pytest.raises(E.ArgumentError, match="cannot use str"):
        library.register_callback(camera, C.PL_CALLBACK_EOF, callback, "context")
    assert (camera, C.PL_CALLBACK_EOF) not in library._callbacks


def test_registration_failure_carries_the_library_error(library, camera):
    callback = EOF_CALLBACK(lambda info, ctx: None)
    with pytest.raises(E.NotImplementedBySDKError) as info:
        library.register_callback(camera, C.PL_CALLBACK_CAM_RESUMED, callback)
    assert (info.value.code, info.value.call) == (155, "pl_cam_register_callback_ex3")
    assert library._callbacks == {}


def test_eof_callbacks_also_fire_for_sequences(library, camera, wait_for):
    received = []
    callback = EOF_CALLBACK(lambda info, ctx: received.append(info.contents.FrameNr))
    library.register_callback(camera, C.PL_CALLBACK_EOF, callback)
    total = library.exp_setup_seq(camera, 3, SMALL_ROI, C.EXT_TRIG_INTERNAL, 1)
    frames = np.zeros(total, dtype=np.uint8)
    library.exp_start_seq(camera, frames)
    wait_for(lambda: len(received) == 3, "three sequence callbacks")
    library.exp_finish_seq(camera, frames)
    library.deregister_callback(camera, C.PL_CALLBACK_EOF)
    assert received == [1, 2, 3]


def test_calls_from_several_threads_during_acquisition_stay_consistent(library, camera):
    buffer = _start_cont(library, camera, frames_in_buffer=8, exposure_ms=1)
    failures = []

    def hammer():
        try:
            for _ in range(200):
                assert library.get_param(camera, C.PARAM_SER_SIZE) == 2048
                assert library.get_param(camera, C.PARAM_CHIP_NAME)
                status, _, _ = library.exp_check_cont_status(camera)
                assert status in (C.EXPOSURE_IN_PROGRESS, C.READOUT_IN_PROGRESS,
                                  C.FRAME_AVAILABLE, C.READOUT_NOT_ACTIVE)
        except Exception as exc:  # collected and asserted on the main thread
            failures.append(exc)

    threads = [threading.Thread(target=hammer, name=f"hammer-{i}") for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    library.exp_stop_cont(camera)
    del buffer
    assert failures == []


# ---------------------------------------------------------------------------- translation
def _fake_library(init_result, error_code, message=b""):
    """A stand-in CDLL for failures the simulator cannot produce (e.g. 151).

    ``declare`` sets ``restype``/``argtypes`` on plain functions, which accept them.
    """
    def make(name):
        if name == "pl_pvcam_init":
            return lambda: init_result
        if name == "pl_error_code":
            return lambda: error_code

        if name == "pl_error_message":
            def write_message(code, buffer):
                buffer.value = message
                return 1
            return write_message
        return lambda *args: 1
    return pytypes.SimpleNamespace(**{name: make(name) for name in REQUIRED})


def test_installation_corrupted_151_carries_the_pvcam_version_hint():
    fake = PVCAMLibrary(_fake_library(0, 151, b"PVCAM installation is corrupted "
                                              b"(PL_ERR_INSTALLATION_CORRUPTED)"), "fake")
    with pytest.raises(E.InstallationCorruptedError) as info:
        fake.pvcam_init()
    assert info.value.code == 151
    assert "PVCAM_VERSION" in info.value.message
    assert "/etc/profile.d/pvcam.sh" in info.value.message


def test_failure_without_error_code_still_raises():
    fake = PVCAMLibrary(_fake_library(0, 0), "fake")
    with pytest.raises(E.SDKError) as info:
        fake.pvcam_init()
    assert info.value.code == 0 and info.value.call == "pl_pvcam_init"


def test_functions_the_library_lacks_raise_not_implemented():
    fake = PVCAMLibrary(_fake_library(1, 0), "fake")
    assert "pl_exp_trigger" in fake.missing
    with pytest.raises(E.NotImplementedBySDKError, match="pl_exp_trigger"):
        fake.exp_trigger(0)
