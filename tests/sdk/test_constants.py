"""Tests of ophyd_pvcam.sdk.constants and .param_ids: values match the 3.10 header facts."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from ophyd_pvcam.sdk import constants as C

# (name, decimal id) pairs from the reference's table 5.3, computed there from the header.
REFERENCE_IDS = {
    "PARAM_DD_VERSION": 100663298,
    "PARAM_CAM_INTERFACE_TYPE": 150994954,
    "PARAM_CHIP_NAME": 218235009,
    "PARAM_SYSTEM_NAME": 218235010,
    "PARAM_VENDOR_NAME": 218235011,
    "PARAM_PRODUCT_NAME": 218235012,
    "PARAM_CAMERA_PART_NUMBER": 218235013,
    "PARAM_HEAD_SER_NUM_ALPHA": 218235413,
    "PARAM_CAM_FW_VERSION": 100794900,
    "PARAM_PCI_FW_VERSION": 100794902,
    "PARAM_SER_SIZE": 100794426,
    "PARAM_PAR_SIZE": 100794425,
    "PARAM_PIX_SER_SIZE": 100794430,
    "PARAM_PIX_PAR_SIZE": 100794431,
    "PARAM_PIX_SER_DIST": 100794869,
    "PARAM_PIX_PAR_DIST": 100794868,
    "PARAM_FWELL_CAPACITY": 117572090,
    "PARAM_BIT_DEPTH": 16908799,
    "PARAM_BIT_DEPTH_HOST": 16908839,
    "PARAM_GAIN_INDEX": 16908800,
    "PARAM_SPDTAB_INDEX": 16908801,
    "PARAM_GAIN_NAME": 218235394,
    "PARAM_SPDTAB_NAME": 218235395,
    "PARAM_READOUT_PORT": 151126263,
    "PARAM_PIX_TIME": 100794884,
    "PARAM_IMAGE_FORMAT": 151126264,
    "PARAM_IMAGE_FORMAT_HOST": 151126568,
    "PARAM_IMAGE_COMPRESSION": 151126265,
    "PARAM_IMAGE_COMPRESSION_HOST": 151126269,
    "PARAM_COLOR_MODE": 151126520,
    "PARAM_COOLING_MODE": 151126230,
    "PARAM_TEMP": 16908813,
    "PARAM_TEMP_SETPOINT": 16908814,
    "PARAM_FAN_SPEED_SETPOINT": 151126726,
    "PARAM_READOUT_TIME": 67240115,
    "PARAM_CLEARING_TIME": 268566708,
    "PARAM_POST_TRIGGER_DELAY": 268566709,
    "PARAM_PRE_TRIGGER_DELAY": 268566710,
    "PARAM_CLEAR_CYCLES": 100794465,
    "PARAM_CLEAR_MODE": 151126539,
    "PARAM_FRAME_CAPABLE": 184680957,
    "PARAM_PMODE": 151126540,
    "PARAM_EXPOSURE_MODE": 151126551,
    "PARAM_EXPOSE_OUT_MODE": 151126576,
    "PARAM_ADC_OFFSET": 16908483,
    "PARAM_PREMASK": 100794421,
    "PARAM_PRESCAN": 100794423,
    "PARAM_POSTMASK": 100794422,
    "PARAM_POSTSCAN": 100794424,
    "PARAM_SHTR_OPEN_MODE": 151126537,
    "PARAM_SHTR_CLOSE_DELAY": 100794887,
    "PARAM_SHTR_OPEN_DELAY": 100794888,
    "PARAM_PP_INDEX": 16908831,
    "PARAM_PP_FEAT_NAME": 218235422,
    "PARAM_PP_FEAT_ID": 100794917,
    "PARAM_PP_PARAM_INDEX": 16908833,
    "PARAM_PP_PARAM_NAME": 218235426,
    "PARAM_PP_PARAM": 117572131,
    "PARAM_PP_PARAM_ID": 100794918,
    "PARAM_ACTUAL_GAIN": 100794912,
    "PARAM_READ_NOISE": 100794916,
    "PARAM_SMART_STREAM_MODE_ENABLED": 184681148,
    "PARAM_SMART_STREAM_MODE": 100795069,
    "PARAM_SMART_STREAM_EXP_PARAMS": 235012798,
    "PARAM_HOST_FRAME_ROTATE": 151126272,
    "PARAM_HOST_FRAME_FLIP": 151126273,
    "PARAM_HOST_FRAME_SUMMING_ENABLED": 184680706,
    "PARAM_HOST_FRAME_SUMMING_COUNT": 117571843,
    "PARAM_HOST_FRAME_SUMMING_FORMAT": 151126276,
    "PARAM_EXP_TIME": 100859905,
    "PARAM_EXP_RES": 151191554,
    "PARAM_EXP_RES_INDEX": 100859908,
    "PARAM_EXPOSURE_TIME": 134414344,
    "PARAM_BOF_EOF_ENABLE": 151191557,
    "PARAM_BOF_EOF_COUNT": 117637126,
    "PARAM_BOF_EOF_CLR": 184745991,
    "PARAM_CIRC_BUFFER": 184746283,
    "PARAM_FRAME_BUFFER_SIZE": 134414636,
    "PARAM_BINNING_SER": 151191717,
    "PARAM_BINNING_PAR": 151191718,
    "PARAM_METADATA_ENABLED": 184746152,
    "PARAM_METADATA_RESET_TIMESTAMP": 184746160,
    "PARAM_ROI_COUNT": 100860073,
    "PARAM_ROI": 335740929,
    "PARAM_CENTROIDS_ENABLED": 184746154,
    "PARAM_CENTROIDS_RADIUS": 100860075,
    "PARAM_CENTROIDS_COUNT": 100860076,
    "PARAM_CENTROIDS_MODE": 151191725,
    "PARAM_SCAN_MODE": 151191802,
    "PARAM_SCAN_DIRECTION": 151191803,
    "PARAM_SCAN_DIRECTION_RESET": 184746236,
    "PARAM_SCAN_LINE_DELAY": 100860157,
    "PARAM_SCAN_LINE_TIME": 268632318,
    "PARAM_SCAN_WIDTH": 100860159,
    "PARAM_TRIGTAB_SIGNAL": 151191732,
    "PARAM_LAST_MUXED_SIGNAL": 84082869,
    "PARAM_FRAME_DELIVERY_MODE": 151191952,
}


def _pyvcam_constants():
    """Load PyVCAM's constants.py by file path: importing the package would load libpvcam."""
    spec = importlib.util.find_spec("pyvcam")
    assert spec is not None, "pyvcam (a test dependency) is not installed"
    path = Path(next(iter(spec.submodule_search_locations))) / "constants.py"
    module_spec = importlib.util.spec_from_file_location("_pyvcam_constants_facts", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name, expected", sorted(REFERENCE_IDS.items()))
def test_parameter_id_matches_reference_table(name, expected):
    assert getattr(C, name) == expected


def test_all_123_parameter_names_of_the_header_are_defined():
    assert len(C.PARAMETERS) == 123
    assert "PARAM_NAME_LEN" not in C.PARAMETERS
    # two of them are header aliases, so 121 distinct ids
    assert len(set(C.PARAMETERS.values())) == 121
    assert C.PARAM_FRAME_ROTATE == C.PARAM_HOST_FRAME_ROTATE
    assert C.PARAM_FRAME_FLIP == C.PARAM_HOST_FRAME_FLIP


def test_every_parameter_id_agrees_with_pyvcam_constants():
    facts = _pyvcam_constants()
    theirs = {n: getattr(facts, n) for n in dir(facts)
              if n.startswith("PARAM_") and n != "PARAM_NAME_LEN"}
    assert theirs == C.PARAMETERS


def test_shared_integer_constants_agree_with_pyvcam_except_the_newer_clear_mode():
    facts = _pyvcam_constants()
    shared = [n for n in dir(facts) if n.isupper() and isinstance(getattr(facts, n), int)
              and hasattr(C, n)]
    differing = {n for n in shared if getattr(facts, n) != getattr(C, n)}
    assert len(shared) > 300
    # The 3.10 header added CLEAR_GLOBAL_RESET = 6, moving MAX_CLEAR_MODE to 7;
    # PyVCAM's copy predates that.
    assert differing == {"MAX_CLEAR_MODE"}
    assert C.CLEAR_GLOBAL_RESET == 6 and C.MAX_CLEAR_MODE == 7


def test_param_id_encoding_round_trips_type_class_and_number():
    pid = C.param_id(C.TYPE_UNS64, C.CLASS3, 8)
    assert pid == C.PARAM_EXPOSURE_TIME == 0x08030008
    assert C.encoded_type(pid) == C.TYPE_UNS64
    assert C.encoded_type(C.PARAM_READOUT_TIME) == C.TYPE_FLT64  # the header's known mistake


def test_parameter_name_prefers_canonical_name_and_formats_unknown_ids():
    assert C.parameter_name(C.PARAM_HOST_FRAME_ROTATE) == "PARAM_HOST_FRAME_ROTATE"
    assert C.parameter_name(C.PARAM_ROI) == "PARAM_ROI"
    assert C.parameter_name(0x0DEADBEE) == "0x0DEADBEE"


def test_type_codes_match_reference_section_5_2():
    expected = {
        "TYPE_INT16": 1, "TYPE_INT32": 2, "TYPE_FLT64": 4, "TYPE_UNS8": 5, "TYPE_UNS16": 6,
        "TYPE_UNS32": 7, "TYPE_UNS64": 8, "TYPE_ENUM": 9, "TYPE_BOOLEAN": 11, "TYPE_INT8": 12,
        "TYPE_CHAR_PTR": 13, "TYPE_VOID_PTR": 14, "TYPE_VOID_PTR_PTR": 15, "TYPE_INT64": 16,
        "TYPE_SMART_STREAM_TYPE": 17, "TYPE_SMART_STREAM_TYPE_PTR": 18, "TYPE_FLT32": 19,
        "TYPE_RGN_TYPE": 20, "TYPE_RGN_TYPE_PTR": 21, "TYPE_RGN_LIST_TYPE": 22,
        "TYPE_RGN_LIST_TYPE_PTR": 23,
    }
    assert {m.name: m.value for m in C.ParamType} == expected


def test_attribute_and_access_values():
    assert [C.Attribute[n] for n in ("ATTR_CURRENT", "ATTR_COUNT", "ATTR_TYPE", "ATTR_MIN",
            "ATTR_MAX", "ATTR_DEFAULT", "ATTR_INCREMENT", "ATTR_ACCESS", "ATTR_AVAIL",
            "ATTR_LIVE")] == list(range(10))
    access = (C.ACC_READ_ONLY, C.ACC_READ_WRITE, C.ACC_EXIST_CHECK_ONLY, C.ACC_WRITE_ONLY)
    assert access == (1, 2, 3, 4)


def test_extended_exposure_modes_are_seven_plus_n_shifted_by_eight():
    names = ["EXT_TRIG_INTERNAL", "EXT_TRIG_TRIG_FIRST", "EXT_TRIG_EDGE_RISING", "EXT_TRIG_LEVEL",
             "EXT_TRIG_SOFTWARE_FIRST", "EXT_TRIG_SOFTWARE_EDGE", "EXT_TRIG_LEVEL_OVERLAP",
             "EXT_TRIG_LEVEL_PULSED"]
    assert [getattr(C, n) for n in names] == [(7 + i) << 8 for i in range(8)]
    assert C.EXT_TRIG_SOFTWARE_FIRST == 2816 and C.EXT_TRIG_SOFTWARE_EDGE == 3072
    assert C.ExposureMode(1792).name == "EXT_TRIG_INTERNAL"
    assert C.ExposureMode.VARIABLE_TIMED_MODE == 5
    assert C.ExposeOutMode(3).name == "EXPOSE_OUT_ROLLING_SHUTTER"
    assert C.MAX_EXPOSE_OUT_MODE == 6


def test_acquisition_enums():
    assert (C.CIRC_NONE, C.CIRC_OVERWRITE, C.CIRC_NO_OVERWRITE) == (0, 1, 2)
    assert C.FRAME_AVAILABLE == C.READOUT_COMPLETE == 3
    assert C.ImageStatus(3).name == "READOUT_COMPLETE"
    assert C.ImageStatus(4).name == "READOUT_FAILED"
    assert (C.CCS_NO_CHANGE, C.CCS_HALT, C.CCS_CLEAR_OPEN_SHTR) == (0, 1, 6)
    assert {m.name: m.value for m in C.CallbackEvent} == {
        "PL_CALLBACK_BOF": 0, "PL_CALLBACK_EOF": 1, "PL_CALLBACK_CHECK_CAMS": 2,
        "PL_CALLBACK_CAM_REMOVED": 3, "PL_CALLBACK_CAM_RESUMED": 4}
    assert [m.value for m in C.ExposureResolution] == [0, 1, 2]
    assert (C.PL_SW_TRIG_STATUS_TRIGGERED, C.PL_SW_TRIG_STATUS_IGNORED) == (0, 1)


def test_configuration_enums():
    assert C.CLEAR_AUTO == C.CLEAR_NEVER == 0
    assert C.ClearMode(6).name == "CLEAR_GLOBAL_RESET"
    assert (C.PMODE_NORMAL, C.PMODE_FT, C.PMODE_ALT_FT_MPP) == (0, 1, 7)
    assert (C.FAN_SPEED_HIGH, C.FAN_SPEED_OFF) == (0, 3)
    assert (C.NORMAL_COOL, C.CRYO_COOL, C.NO_COOL) == (0, 1, 2)
    assert C.ImageFormat(2).name == "PL_IMAGE_FORMAT_MONO8"
    assert C.PL_IMAGE_FORMAT_RGB96 == 11
    assert C.InterfaceType(0x203).name == "PL_CAM_IFC_TYPE_USB_3_0"
    assert C.PL_CAM_IFC_TYPE_PCIE_X4 == 0x803 and C.PL_CAM_IFC_TYPE_ETHERNET == 0x2000
    assert C.PL_MD_FRAME_SIGNATURE.to_bytes(4, "little") == b"PMQ\0"


def test_error_names_cover_both_blocks_of_the_3_10_table():
    assert set(C.ERROR_NAMES) == set(range(0, 19)) | {129} | set(range(150, 204))
    assert C.ERROR_NAMES[185] == "PL_ERR_CONFIGURATION_INVALID"
    assert C.ERROR_NAMES[151] == "PL_ERR_INSTALLATION_CORRUPTED"
    assert C.ERROR_NAMES[175] == "PL_ERR_DEVICE_HANDLE_INVALID"
    assert all(n.startswith("PL_ERR_") for n in C.ERROR_NAMES.values())
    assert len(set(C.ERROR_NAMES.values())) == len(C.ERROR_NAMES)


def test_error_name_constants_and_lookup_agree_with_table():
    for code, name in C.ERROR_NAMES.items():
        assert getattr(C, name) == code
    assert C.error_name(173) == "PL_ERR_BUFFER_OVERRUN"
    assert C.error_name(100) == "UNKNOWN"
