"""Tests of the binding's acquisition calls (ophyd_pvcam.sdk._acquisition) against the simulator.

Frames carry their 1-based FrameNr in their first 4 bytes (uint32 little-endian),
which lets every test check *which* frame an address points at.
"""
from __future__ import annotations

import ctypes
import gc

import numpy as np
import pytest

from ophyd_pvcam.sdk import constants as C
from ophyd_pvcam.sdk import errors as E

# These tests read FrameNr from the simulator's opt-in pixel stamp.
pytestmark = pytest.mark.usefixtures("frame_stamp")

SMALL_ROI = (0, 63, 1, 0, 31, 1)  # 64 x 32 uint16 pixels
FRAME_BYTES = 64 * 32 * 2


def frame_number_at(address: int) -> int:
    return ctypes.c_uint32.from_address(address).value


# ---------------------------------------------------------------- sequences
def test_sequence_of_three_frames_fills_the_buffer_in_order(library, camera, wait_for):
    total = library.exp_setup_seq(camera, 3, SMALL_ROI, C.EXT_TRIG_INTERNAL, 2)
    assert total == 3 * FRAME_BYTES
    assert library.get_param(camera, C.PARAM_ROI) == SMALL_ROI  # setup's region is current
    frames = np.zeros((3, 32, 64), dtype=np.uint16)
    library.exp_start_seq(camera, frames)
    wait_for(lambda: library.exp_check_status(camera)[0] == C.READOUT_COMPLETE,
             "sequence completion")
    assert library.exp_check_status(camera) == (C.READOUT_COMPLETE, total)
    library.exp_finish_seq(camera, frames)
    flat = frames.reshape(3, -1).astype(np.uint32)
    assert list(flat[:, 0] | (flat[:, 1] << 16)) == [1, 2, 3]
    assert (frames[:, 2:] > 0).all()  # real pixel data after the stamp


def test_sequence_into_a_raw_address(library, camera, wait_for):
    total = library.exp_setup_seq(camera, 2, [SMALL_ROI], C.EXT_TRIG_INTERNAL, 1)
    memory = (ctypes.c_uint8 * total)()
    library.exp_start_seq(camera, ctypes.addressof(memory))
    wait_for(lambda: library.exp_check_status(camera)[0] == C.READOUT_COMPLETE, "sequence")
    library.exp_finish_seq(camera, ctypes.addressof(memory))
    base = ctypes.addressof(memory)
    assert [frame_number_at(base), frame_number_at(base + FRAME_BYTES)] == [1, 2]


def test_zero_frames_raises_191(library, camera):
    with pytest.raises(E.AcquisitionSetupError) as info:
        library.exp_setup_seq(camera, 0, SMALL_ROI, C.EXT_TRIG_INTERNAL, 1)
    assert info.value.code == 191 and info.value.call == "pl_exp_setup_seq"


def test_frame_count_beyond_uns16_is_refused_before_the_call(library, camera):
    with pytest.raises(E.ValueRejectedError) as info:
        library.exp_setup_seq(camera, 70000, SMALL_ROI, C.EXT_TRIG_INTERNAL, 1)
    assert info.value.code is None


def test_region_outside_the_sensor_raises_181(library, camera):
    with pytest.raises(E.AcquisitionSetupError) as info:
        library.exp_setup_seq(camera, 1, (0, 4095, 1, 0, 10, 1), C.EXT_TRIG_INTERNAL, 1)
    assert info.value.code == 181


def test_too_small_sequence_buffer_is_refused_before_the_call(library, camera):
    library.exp_setup_seq(camera, 2, SMALL_ROI, C.EXT_TRIG_INTERNAL, 1)
    with pytest.raises(E.BufferSizeError) as info:
        library.exp_start_seq(camera, np.zeros(FRAME_BYTES, dtype=np.uint8))
    assert info.value.code is None and info.value.call == "pl_exp_start_seq"


def test_unusable_sequence_memory_is_refused_with_the_call_named(library, camera):
    library.exp_setup_seq(camera, 1, SMALL_ROI, C.EXT_TRIG_INTERNAL, 1)
    read_only = np.zeros(FRAME_BYTES, dtype=np.uint8)
    read_only.flags.writeable = False
    with pytest.raises(E.BufferSizeError, match="writable") as info:
        library.exp_start_seq(camera, read_only)
    assert info.value.call == "pl_exp_start_seq"
    with pytest.raises(E.ArgumentError, match="cannot use str") as info:
        library.exp_finish_seq(camera, "not memory")
    assert isinstance(info.value, TypeError) and info.value.call == "pl_exp_finish_seq"


# ---------------------------------------------------------------- continuous
def _setup_cont(library, camera, frames, mode=C.EXT_TRIG_INTERNAL, exposure_ms=2,
                buffer_mode=C.CIRC_NO_OVERWRITE):
    frame_bytes = library.exp_setup_cont(camera, SMALL_ROI, mode, exposure_ms, buffer_mode)
    assert frame_bytes == FRAME_BYTES
    buffer = np.zeros(frames * frame_bytes, dtype=np.uint8)
    return buffer


def test_oldest_frames_are_consumed_in_order_with_unlock(library, camera, wait_for):
    buffer = _setup_cont(library, camera, frames=16, exposure_ms=20)
    base = buffer.ctypes.data
    library.exp_start_cont(camera, buffer)
    wait_for(lambda: library.exp_check_cont_status_ex(camera)[3].frame_number >= 3, "3 frames")
    for expected in (1, 2, 3):
        address = library.exp_get_oldest_frame(camera)
        assert address == base + (expected - 1) * FRAME_BYTES
        assert frame_number_at(address) == expected
        library.exp_unlock_oldest_frame(camera)
    library.exp_stop_cont(camera)


def test_oldest_frame_ex_reports_the_latest_frames_info(library, camera, wait_for):
    buffer = _setup_cont(library, camera, frames=16, exposure_ms=20)
    library.exp_start_cont(camera, buffer)
    wait_for(lambda: library.exp_check_cont_status_ex(camera)[3].frame_number >= 3, "3 frames")
    address, info = library.exp_get_oldest_frame_ex(camera)
    library.exp_stop_cont(camera)
    assert address == buffer.ctypes.data and frame_number_at(address) == 1
    assert info.frame_number >= 3  # the 3.10 quirk: latest, not oldest
    assert info.camera_handle == camera


def test_latest_frame_address_follows_the_circular_layout(library, camera, wait_for):
    buffer = _setup_cont(library, camera, frames=8, exposure_ms=20,
                         buffer_mode=C.CIRC_OVERWRITE)
    base = buffer.ctypes.data
    library.exp_start_cont(camera, buffer)
    wait_for(lambda: library.exp_check_cont_status_ex(camera)[3].frame_number >= 10,
             "wrap-around of an 8-frame buffer")
    address, info = library.exp_get_latest_frame_ex(camera)
    assert address == base + ((info.frame_number - 1) % 8) * FRAME_BYTES
    assert frame_number_at(address) == info.frame_number
    plain = library.exp_get_latest_frame(camera)
    assert (plain - base) % FRAME_BYTES == 0
    library.exp_stop_cont(camera)


def test_cont_status_counts_passes_and_flags_unconsumed_frames(library, camera, wait_for):
    buffer = _setup_cont(library, camera, frames=4, exposure_ms=5, buffer_mode=C.CIRC_OVERWRITE)
    library.exp_start_cont(camera, buffer)
    wait_for(lambda: library.exp_check_cont_status_ex(camera)[3].frame_number >= 9, "9 frames")
    assert library.exp_check_cont_status(camera)[0] == C.FRAME_AVAILABLE  # nothing consumed
    library.exp_stop_cont(camera)
    status, arrived, passes, info = library.exp_check_cont_status_ex(camera)
    assert passes == info.frame_number // 4
    assert arrived == (info.frame_number % 4) * FRAME_BYTES
    assert library.exp_check_cont_status(camera) == (status, arrived, passes)
    # after a stop the simulator reports idle (the reference's stated assumption)
    assert status == C.READOUT_NOT_ACTIVE


def test_no_overwrite_overrun_reports_173_from_every_getter(library, camera, wait_for):
    buffer = _setup_cont(library, camera, frames=2, exposure_ms=1)
    library.exp_start_cont(camera, buffer)
    wait_for(lambda: library.exp_check_cont_status_ex(camera)[3].frame_number >= 4,
             "the consumer falling a buffer behind")
    with pytest.raises(E.BufferOverrunError) as info:
        library.exp_get_oldest_frame(camera)
    assert info.value.code == 173 and info.value.call == "pl_exp_get_oldest_frame"
    with pytest.raises(E.BufferOverrunError):
        library.exp_get_latest_frame_ex(camera)
    library.exp_stop_cont(camera)


def test_start_cont_after_a_sequence_setup_raises_185(library, camera):
    library.exp_setup_seq(camera, 1, SMALL_ROI, C.EXT_TRIG_INTERNAL, 1)
    with pytest.raises(E.ConfigurationInvalidError) as info:
        library.exp_start_cont(camera, np.zeros(4 * FRAME_BYTES, dtype=np.uint8))
    assert info.value.code == 185 and info.value.call == "pl_exp_start_cont"
    assert "PL_ERR_CONFIGURATION_INVALID" in str(info.value)


def test_buffer_size_must_be_a_multiple_of_the_frame(library, camera):
    buffer = _setup_cont(library, camera, frames=3)
    with pytest.raises(E.BufferSizeError) as info:
        library.exp_start_cont(camera, buffer, 2 * FRAME_BYTES + 2)
    assert info.value.code == 171
    with pytest.raises(E.BufferSizeError) as info:
        library.exp_start_cont(camera, buffer[: FRAME_BYTES // 2])
    assert info.value.code is None  # caught before the call: smaller than one frame
    with pytest.raises(E.BufferSizeError) as info:
        library.exp_start_cont(camera, buffer, 4 * FRAME_BYTES)
    assert info.value.code is None  # larger than the memory given


def test_binding_keeps_the_buffer_alive_while_the_camera_writes(library, camera, wait_for):
    buffer = _setup_cont(library, camera, frames=4, exposure_ms=2, buffer_mode=C.CIRC_OVERWRITE)
    library.exp_start_cont(camera, buffer)
    del buffer
    gc.collect()
    wait_for(lambda: library.exp_check_cont_status_ex(camera)[3].frame_number >= 6, "6 frames")
    address, info = library.exp_get_latest_frame_ex(camera)
    library.exp_stop_cont(camera)
    assert frame_number_at(address) >= 6


def test_abort_when_idle_is_harmless(library, camera):
    library.exp_abort(camera)
    library.exp_abort(camera, C.CCS_NO_CHANGE)


# ---------------------------------------------------------------- software trigger
def test_software_edge_trigger_produces_one_frame_per_trigger(library, camera, wait_for):
    buffer = _setup_cont(library, camera, frames=4, mode=C.EXT_TRIG_SOFTWARE_EDGE, exposure_ms=200)
    library.exp_start_cont(camera, buffer)
    with pytest.raises(E.DataNotAvailableError) as info:
        library.exp_get_oldest_frame(camera)  # nothing before the first trigger
    assert info.value.code == 169
    assert library.exp_trigger(camera) == C.PL_SW_TRIG_STATUS_TRIGGERED
    assert library.exp_trigger(camera) == C.PL_SW_TRIG_STATUS_IGNORED  # still exposing
    wait_for(lambda: library.exp_check_cont_status_ex(camera)[3].frame_number == 1, "frame 1")
    address = library.exp_get_oldest_frame(camera)
    assert frame_number_at(address) == 1
    library.exp_unlock_oldest_frame(camera)
    assert library.exp_check_cont_status_ex(camera)[3].frame_number == 1  # no trigger, no frame
    wait_for(lambda: library.exp_trigger(camera) == C.PL_SW_TRIG_STATUS_TRIGGERED,
             "the camera accepting a second trigger")
    wait_for(lambda: library.exp_check_cont_status_ex(camera)[3].frame_number == 2, "frame 2")
    library.exp_stop_cont(camera)
    assert library.get_param(camera, C.PARAM_EXPOSURE_MODE) == C.EXT_TRIG_SOFTWARE_EDGE


def test_software_first_trigger_starts_a_free_running_acquisition(library, camera, wait_for):
    buffer = _setup_cont(library, camera, frames=8, mode=C.EXT_TRIG_SOFTWARE_FIRST,
                         exposure_ms=2, buffer_mode=C.CIRC_OVERWRITE)
    library.exp_start_cont(camera, buffer)
    assert library.exp_trigger(camera) == C.PL_SW_TRIG_STATUS_TRIGGERED
    wait_for(lambda: library.exp_check_cont_status_ex(camera)[3].frame_number >= 5,
             "frames after a single trigger")
    assert library.exp_trigger(camera) == C.PL_SW_TRIG_STATUS_IGNORED  # only the first counts
    library.exp_stop_cont(camera)


def test_trigger_outside_a_software_triggered_acquisition_is_refused(library, camera):
    with pytest.raises(E.AcquisitionSetupError) as info:
        library.exp_trigger(camera)  # idle
    assert info.value.code == 184 and info.value.call == "pl_exp_trigger"
    buffer = _setup_cont(library, camera, frames=4, mode=C.EXT_TRIG_INTERNAL, exposure_ms=50)
    library.exp_start_cont(camera, buffer)
    with pytest.raises(E.AcquisitionSetupError) as info:
        library.exp_trigger(camera)
    assert info.value.code == 183
    library.exp_stop_cont(camera)


def test_frame_buffer_size_is_available_after_a_setup(library, camera):
    with pytest.raises(E.ParameterError) as info:
        library.get_param(camera, C.PARAM_FRAME_BUFFER_SIZE)
    assert info.value.code == 160
    _setup_cont(library, camera, frames=1)
    recommended = library.get_param(camera, C.PARAM_FRAME_BUFFER_SIZE, C.ATTR_DEFAULT)
    assert recommended > 0 and recommended % FRAME_BYTES == 0
    assert library.get_param(camera, C.PARAM_FRAME_BUFFER_SIZE, C.ATTR_MIN) == FRAME_BYTES
