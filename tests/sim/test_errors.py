"""Error codes and messages (reference section 6) and the error paths of the API."""
from __future__ import annotations

import threading
from ctypes import byref, c_int16, c_uint16, c_uint32, c_void_p, create_string_buffer

import pytest
from simabi import RGN, EXT_TRIG_INTERNAL

MESSAGES = {
    0: "No error (PL_ERR_NONE)",
    11: "A mis-configuration of interface bus has occurred (PL_ERR_BC_CHANNEL_USED)",
    129: "Operation is pending (PL_ERR_BC_PENDING)",
    157: "The initialization hasn't been done yet (PL_ERR_LIBRARY_NOT_INITIALIZED)",
    173: "The buffer is full (PL_ERR_BUFFER_OVERRUN)",
    185: "Invalid configuration (PL_ERR_CONFIGURATION_INVALID)",
    191: "Zero frames given (PL_ERR_ZERO_FRAMES)",
    203: "Waiting on driver device event timed out (PL_ERR_DDI_EVENT_WAIT_TIMEOUT)",
}


@pytest.mark.parametrize("code,text", sorted(MESSAGES.items()))
def test_message_is_sentence_then_code_name(lib, code, text):
    assert lib.message(code) == text


@pytest.mark.parametrize("code", [19, 128, 130, 149, 204, -1])
def test_unassigned_codes_give_unknown_error_and_fail(lib, code):
    buf = create_string_buffer(256)
    assert not lib.pl_error_message(c_int16(code), buf)
    assert buf.value == b"Unknown error (<UNKNOWN>)"


def test_every_code_of_both_blocks_has_a_message(lib):
    for code in list(range(0, 19)) + [129] + list(range(150, 204)):
        buf = create_string_buffer(256)
        assert lib.pl_error_message(c_int16(code), buf), code
        assert buf.value.endswith(b")") and b" (PL_ERR_" in buf.value


def test_calls_before_init_fail_157(lib):
    n = c_int16()
    assert lib.fails("pl_cam_get_total", byref(n)) == 157


def test_init_twice_fails_158(pvcam):
    lib = pvcam()
    assert lib.fails("pl_pvcam_init") == 158


def test_uninit_without_init_fails_157(lib):
    assert lib.fails("pl_pvcam_uninit") == 157


def test_unknown_camera_name_fails_176(pvcam):
    lib = pvcam()
    h = c_int16()
    assert lib.fails("pl_cam_open", b"pvcamUSB_7", byref(h), c_int16(0)) == 176


def test_double_open_fails_178(pvcam):
    lib = pvcam()
    lib.open()
    h = c_int16()
    assert lib.fails("pl_cam_open", b"pvcamUSB_0", byref(h), c_int16(0)) == 178


def test_null_pointers_fail_153(cam):
    lib, h = cam
    assert lib.fails("pl_cam_get_total", None) == 153
    assert lib.fails("pl_get_param", c_int16(h), c_uint32(0x0602003A), c_int16(0), None) == 153
    assert lib.fails("pl_exp_setup_seq", c_int16(h), c_uint16(1), c_uint16(1), None, c_int16(EXT_TRIG_INTERNAL),
                     c_uint32(0), byref(c_uint32())) == 153
    assert lib.fails("pl_exp_get_latest_frame", c_int16(h), None) == 153


@pytest.mark.parametrize("handle", [-1, 5, 15, 99])
def test_bad_handle_fails_175(cam, handle):
    lib, _ = cam
    v = c_uint16()
    assert lib.fails("pl_get_param", c_int16(handle), c_uint32(0x0602003A), c_int16(0), byref(v)) == 175


def test_closed_handle_fails_175(cam):
    lib, h = cam
    lib.call("pl_cam_close", c_int16(h))
    v = c_uint16()
    assert lib.fails("pl_get_param", c_int16(h), c_uint32(0x0602003A), c_int16(0), byref(v)) == 175


def test_zero_frame_sequence_fails_191(cam):
    lib, h = cam
    r = RGN(0, 63, 1, 0, 63, 1)
    assert lib.fails("pl_exp_setup_seq", c_int16(h), c_uint16(0), c_uint16(1), byref(r),
                     c_int16(EXT_TRIG_INTERNAL), c_uint32(0), byref(c_uint32())) == 191


def test_a_successful_call_clears_the_error_code(cam):
    lib, h = cam
    lib.fails("pl_cam_close", c_int16(42))
    assert lib.error_code() == 175
    lib.call("pl_cam_get_total", byref(c_int16()))
    assert lib.error_code() == 0


def test_error_message_does_not_clear_the_error_code(cam):
    lib, _ = cam
    lib.fails("pl_cam_close", c_int16(42))
    lib.message(0)
    assert lib.error_code() == 175


def test_last_error_is_per_thread(cam):
    lib, h = cam
    lib.fails("pl_cam_close", c_int16(42))
    seen = {}

    def other():
        seen["before"] = lib.error_code()
        lib.fails("pl_exp_get_latest_frame", c_int16(h), None)
        seen["after"] = lib.error_code()

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert seen == {"before": 0, "after": 153}
    assert lib.error_code() == 175


def test_get_version_formats_as_3_10_2(lib):
    v = c_uint16()
    lib.call("pl_pvcam_get_ver", byref(v))
    assert (v.value >> 8, (v.value >> 4) & 0xF, v.value & 0xF) == (3, 10, 2)


def test_null_buffer_to_start_fails_153(cam):
    lib, h = cam
    lib.setup_cont(h)
    assert lib.fails("pl_exp_start_cont", c_int16(h), c_void_p(None), c_uint32(8192)) == 153
