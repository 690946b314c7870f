"""Tests of ophyd_pvcam.sdk.constants: values match the 3.10 header facts."""
from __future__ import annotations

import importlib.util
from pathlib import Path

from ophyd_pvcam.sdk import constants as C


def _pyvcam_constants():
    """Load PyVCAM's constants.py by file path: importing the package would load libpvcam."""
    spec = importlib.util.find_spec("pyvcam")
    assert spec is not None, "pyvcam (a test dependency) is not installed"
    path = Path(next(iter(spec.submodule_search_locations))) / "constants.py"
    module_spec = importlib.util.spec_from_file_location("_pyvcam_constants_facts", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


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


def test_parameter_name_prefers_canonical_name_and_formats_unknown_ids():
    assert C.parameter_name(C.PARAM_HOST_FRAME_ROTATE) == "PARAM_HOST_FRAME_ROTATE"
    assert C.parameter_name(C.PARAM_ROI) == "PARAM_ROI"
    assert C.parameter_name(0x0DEADBEE) == "0x0DEADBEE"


def test_param_type_enum_names_every_type_code():
    assert C.ParamType(13).name == "TYPE_CHAR_PTR"
    assert len(C.ParamType) == 21


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
