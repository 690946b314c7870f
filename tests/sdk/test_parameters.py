"""Tests of the binding's parameter calls (ophyd_pvcam.sdk._parameters) against the simulator.

The simulated camera is a Prime BSI (2048 x 2048, one "CMOS" port, speeds
"100 MHz" (16/12-bit) and "200 MHz" (11-bit), exposure resolution ms).
"""
from __future__ import annotations

import pytest

from ophyd_pvcam.sdk import constants as C
from ophyd_pvcam.sdk import errors as E
from ophyd_pvcam.sdk.types import RGN_TYPE

SMALL_ROI = (0, 63, 1, 0, 31, 1)


# ---------------------------------------------------------------- attributes
def test_meta_attributes_have_their_own_types(library, camera):
    assert library.get_param(camera, C.PARAM_SER_SIZE, C.ATTR_TYPE) == C.TYPE_UNS16
    assert library.get_param(camera, C.PARAM_SER_SIZE, C.ATTR_ACCESS) == C.ACC_READ_ONLY
    assert library.get_param(camera, C.PARAM_TEMP_SETPOINT, C.ATTR_ACCESS) == C.ACC_READ_WRITE
    assert library.get_param(camera, C.PARAM_SER_SIZE, C.ATTR_AVAIL) is True
    assert library.get_param(camera, C.PARAM_TEMP, C.ATTR_LIVE) is True
    assert library.get_param(camera, C.PARAM_SER_SIZE, C.ATTR_LIVE) is False
    assert library.get_param(camera, C.PARAM_CLEAR_CYCLES, C.ATTR_COUNT) == 17  # 0..16


def test_real_type_is_used_where_the_id_encodes_a_wrong_one(library, camera):
    assert C.encoded_type(C.PARAM_READOUT_TIME) == C.TYPE_FLT64
    assert library.param_type(camera, C.PARAM_READOUT_TIME) == C.TYPE_UNS32
    value = library.get_param(camera, C.PARAM_READOUT_TIME)
    assert isinstance(value, int) and value > 0


def test_availability_never_fails_even_for_unknown_ids(library, camera):
    assert library.param_available(camera, C.PARAM_SER_SIZE) is True
    assert library.param_available(camera, C.PARAM_COLOR_MODE) is False  # mono camera
    assert library.param_available(camera, 0x0DEADBEE) is False
    assert library.get_param(camera, C.PARAM_COLOR_MODE, C.ATTR_ACCESS) == C.ACC_EXIST_CHECK_ONLY


def test_unavailable_and_unknown_parameters_raise_parameter_errors(library, camera):
    with pytest.raises(E.ParameterError) as info:
        library.get_param(camera, C.PARAM_COLOR_MODE)
    assert info.value.code == 160 and info.value.call == "pl_get_param"
    with pytest.raises(E.ParameterError) as info:
        library.get_param(camera, 0x0DEADBEE)
    assert info.value.code == 159
    with pytest.raises(E.ParameterError) as info:
        library.get_param(camera, C.PARAM_CHIP_NAME, C.ATTR_MIN)
    assert info.value.code == 163


# ---------------------------------------------------------------- values by type
def test_uns16_values(library, camera):
    assert library.get_param(camera, C.PARAM_SER_SIZE) == 2048
    assert library.get_param(camera, C.PARAM_PAR_SIZE) == 2048
    assert library.get_param(camera, C.PARAM_PIX_SER_SIZE) == 6500
    library.set_param(camera, C.PARAM_CLEAR_CYCLES, 4)
    assert library.get_param(camera, C.PARAM_CLEAR_CYCLES) == 4
    assert library.get_param(camera, C.PARAM_CLEAR_CYCLES, C.ATTR_MIN) == 0
    assert library.get_param(camera, C.PARAM_CLEAR_CYCLES, C.ATTR_MAX) == 16
    assert library.get_param(camera, C.PARAM_CLEAR_CYCLES, C.ATTR_DEFAULT) == 2
    assert library.get_param(camera, C.PARAM_CLEAR_CYCLES, C.ATTR_INCREMENT) == 1


def test_int16_values_keep_their_sign(library, camera):
    temperature = library.get_param(camera, C.PARAM_TEMP)
    assert isinstance(temperature, int) and temperature < 0  # 1/100 degC, cooled sensor
    library.set_param(camera, C.PARAM_TEMP_SETPOINT, -2200)
    assert library.get_param(camera, C.PARAM_TEMP_SETPOINT) == -2200
    assert library.get_param(camera, C.PARAM_TEMP_SETPOINT, C.ATTR_MIN) == -2500


def test_speed_table_indices_and_dependent_strings(library, camera):
    assert library.get_param(camera, C.PARAM_SPDTAB_NAME) == "100 MHz"
    assert library.get_param(camera, C.PARAM_BIT_DEPTH) == 16
    library.set_param(camera, C.PARAM_SPDTAB_INDEX, 1)
    assert library.get_param(camera, C.PARAM_SPDTAB_INDEX) == 1
    assert library.get_param(camera, C.PARAM_SPDTAB_NAME) == "200 MHz"
    assert library.get_param(camera, C.PARAM_GAIN_INDEX) == 1
    library.set_param(camera, C.PARAM_GAIN_INDEX, 3)
    assert library.get_param(camera, C.PARAM_GAIN_NAME) == "Sensitivity"
    assert library.get_param(camera, C.PARAM_BIT_DEPTH) == 11


def test_uns32_int64_and_uns64_values(library, camera):
    assert library.get_param(camera, C.PARAM_FWELL_CAPACITY) == 45000
    assert library.get_param(camera, C.PARAM_SCAN_LINE_TIME) == 10500  # ns, INT64
    assert library.get_param(camera, C.PARAM_CLEARING_TIME) >= 0
    # one hour in ms does not fit 16 or 32-bit-signed-halves: proves the 8-byte read
    assert library.get_param(camera, C.PARAM_EXPOSURE_TIME, C.ATTR_MAX) == 3_600_000


def test_strings_are_sized_by_attr_count(library, camera):
    chip = library.get_param(camera, C.PARAM_CHIP_NAME)
    assert chip and library.get_param(camera, C.PARAM_CHIP_NAME, C.ATTR_COUNT) == len(chip) + 1
    assert library.get_param(camera, C.PARAM_PRODUCT_NAME) == "Prime BSI"
    assert library.get_param(camera, C.PARAM_VENDOR_NAME) == "Teledyne Photometrics"
    assert library.get_param(camera, C.PARAM_HEAD_SER_NUM_ALPHA)


def test_booleans_come_back_as_bool(library, camera):
    assert library.get_param(camera, C.PARAM_FRAME_CAPABLE) is True
    assert library.get_param(camera, C.PARAM_METADATA_ENABLED) is False
    assert library.get_param(camera, C.PARAM_CIRC_BUFFER, C.ATTR_AVAIL) is True


def test_region_parameter_reads_and_writes_rgn_type(library, camera):
    full = library.get_param(camera, C.PARAM_ROI)
    assert isinstance(full, RGN_TYPE)
    assert full == (0, 2047, 1, 0, 2047, 1)
    library.set_param(camera, C.PARAM_ROI, SMALL_ROI)
    assert library.get_param(camera, C.PARAM_ROI) == SMALL_ROI
    library.set_param(camera, C.PARAM_ROI, RGN_TYPE(0, 127, 2, 0, 127, 2))
    assert library.get_param(camera, C.PARAM_ROI).as_tuple() == (0, 127, 2, 0, 127, 2)
    with pytest.raises(E.AcquisitionSetupError) as info:
        library.set_param(camera, C.PARAM_ROI, (0, 4096, 1, 0, 10, 1))
    assert info.value.code == 181


# ---------------------------------------------------------------- enums
def test_enum_current_value_and_items(library, camera):
    assert library.get_param(camera, C.PARAM_READOUT_PORT) == 0
    assert library.enum_items(camera, C.PARAM_READOUT_PORT) == [(0, "CMOS")]
    assert library.get_param(camera, C.PARAM_CAM_INTERFACE_TYPE) == C.PL_CAM_IFC_TYPE_USB_3_0
    fan = library.enum_items(camera, C.PARAM_FAN_SPEED_SETPOINT)
    assert fan == [(0, "High"), (1, "Medium"), (2, "Low"), (3, "Off")]
    assert library.get_enum_param(camera, C.PARAM_FAN_SPEED_SETPOINT, 3) == (3, "Off")
    modes = dict(library.enum_items(camera, C.PARAM_EXPOSURE_MODE))
    assert modes[C.EXT_TRIG_SOFTWARE_FIRST] == "Software Trigger First"


def test_enum_values_not_indices_are_written(library, camera):
    library.set_param(camera, C.PARAM_FAN_SPEED_SETPOINT, C.FAN_SPEED_LOW)
    assert library.get_param(camera, C.PARAM_FAN_SPEED_SETPOINT) == C.FAN_SPEED_LOW
    library.set_param(camera, C.PARAM_EXP_RES, C.EXP_RES_ONE_MICROSEC)
    assert library.get_param(camera, C.PARAM_EXP_RES) == C.EXP_RES_ONE_MICROSEC
    assert library.get_param(camera, C.PARAM_EXP_RES_INDEX) == 1


def test_enum_misuse_raises(library, camera):
    with pytest.raises(E.ValueRejectedError) as info:
        library.get_enum_param(camera, C.PARAM_FAN_SPEED_SETPOINT, 4)
    assert info.value.code == 186
    with pytest.raises(E.ParameterError) as info:
        library.get_enum_param(camera, C.PARAM_SER_SIZE, 0)
    assert info.value.code == 161
    with pytest.raises(E.ValueRejectedError) as info:
        library.set_param(camera, C.PARAM_FAN_SPEED_SETPOINT, 9)
    assert info.value.code == 164


# ---------------------------------------------------------------- rejected writes
def test_out_of_range_values_are_refused_by_the_camera(library, camera):
    with pytest.raises(E.ValueRejectedError) as info:
        library.set_param(camera, C.PARAM_TEMP_SETPOINT, 3000)
    assert info.value.code == 165 and info.value.call == "pl_set_param"


def test_values_that_do_not_fit_the_c_type_never_reach_the_library(library, camera):
    with pytest.raises(E.ValueRejectedError) as info:
        library.set_param(camera, C.PARAM_TEMP_SETPOINT, 40000)  # int16
    assert info.value.code is None
    with pytest.raises(E.ValueRejectedError) as info:
        library.set_param(camera, C.PARAM_CLEAR_CYCLES, 2.5)
    assert info.value.code is None
    assert library.get_param(camera, C.PARAM_TEMP_SETPOINT) == -2000  # unchanged default


def test_read_only_parameter_refuses_writes_with_156(library, camera):
    with pytest.raises(E.SDKError) as info:
        library.set_param(camera, C.PARAM_SER_SIZE, 1024)
    assert info.value.code == 156
    assert "PL_ERR_ACCESS_DENIED" in info.value.message


# ---------------------------------------------------------------- smart streaming
def test_smart_stream_exposures_round_trip_through_the_binding(library, camera):
    assert library.get_param(camera, C.PARAM_SMART_STREAM_MODE_ENABLED) is False
    library.set_param(camera, C.PARAM_SMART_STREAM_EXP_PARAMS, (2, 5, 9))
    assert library.get_param(camera, C.PARAM_SMART_STREAM_EXP_PARAMS) == (2, 5, 9)
    # ATTR_MAX says how many the caller must make room for: 16, of which 15 are accepted.
    assert len(library.get_param(camera, C.PARAM_SMART_STREAM_EXP_PARAMS, C.ATTR_MAX)) == 16
    library.set_param(camera, C.PARAM_SMART_STREAM_EXP_PARAMS, tuple(range(15)))
    with pytest.raises(E.ValueRejectedError) as info:
        library.set_param(camera, C.PARAM_SMART_STREAM_EXP_PARAMS, tuple(range(16)))
    assert info.value.code == 165
    library.set_param(camera, C.PARAM_SMART_STREAM_MODE_ENABLED, True)
    assert library.get_param(camera, C.PARAM_SMART_STREAM_MODE_ENABLED) is True
