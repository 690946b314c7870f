"""Tests of ophyd_pvcam.sdk.errors: code -> class mapping, formatting, pickling."""
from __future__ import annotations

import pickle

import pytest

from ophyd_pvcam.sdk import constants as C
from ophyd_pvcam.sdk import errors as E

EXPECTED_CLASSES = {
    151: E.InstallationCorruptedError,
    154: E.NotImplementedBySDKError,
    155: E.NotImplementedBySDKError,
    157: E.NotInitializedError,
    158: E.AlreadyInitializedError,
    159: E.ParameterError,
    160: E.ParameterError,
    163: E.ParameterError,
    164: E.ValueRejectedError,
    167: E.ValueRejectedError,
    186: E.ValueRejectedError,
    187: E.ValueRejectedError,
    169: E.DataNotAvailableError,
    171: E.BufferSizeError,
    172: E.BufferSizeError,
    173: E.BufferOverrunError,
    175: E.DeviceError,
    176: E.DeviceError,
    179: E.DeviceError,
    180: E.DeviceRemovedError,
    181: E.AcquisitionSetupError,
    184: E.AcquisitionSetupError,
    185: E.ConfigurationInvalidError,
    188: E.AcquisitionSetupError,
    191: E.AcquisitionSetupError,
    193: E.DeviceError,
    203: E.DeviceError,
}


@pytest.mark.parametrize("code, cls", sorted(EXPECTED_CLASSES.items()))
def test_error_class_for_code_picks_the_specific_class(code, cls):
    assert E.error_class_for_code(code) is cls


@pytest.mark.parametrize("code", [0, 1, 18, 129, 150, 152, 153, 156, 168, 170, 174, 192, 9999])
def test_codes_without_a_specific_class_map_to_sdk_error(code):
    assert E.error_class_for_code(code) is E.SDKError


def test_every_known_code_maps_to_an_sdk_error_subclass():
    for code in C.ERROR_NAMES:
        assert issubclass(E.error_class_for_code(code), E.SDKError)


def test_hierarchy_is_rooted_in_pvcam_error():
    for name in E.__all__:
        obj = getattr(E, name)
        if isinstance(obj, type):
            assert issubclass(obj, E.PVCAMError)
    assert issubclass(E.ValueRejectedError, ValueError)
    assert issubclass(E.ArgumentError, TypeError)
    assert not issubclass(E.ArgumentError, E.SDKError)  # raised before any SDK call
    assert issubclass(E.DeviceRemovedError, E.DeviceError)
    assert not issubclass(E.LibraryNotFoundError, E.SDKError)


def test_str_names_call_code_and_message():
    error = E.ConfigurationInvalidError(
        "Invalid configuration (PL_ERR_CONFIGURATION_INVALID)", 185, "pl_exp_start_cont")
    assert str(error) == ("pl_exp_start_cont failed [PVCAM error 185]: "
                          "Invalid configuration (PL_ERR_CONFIGURATION_INVALID)")
    assert (error.code, error.call) == (185, "pl_exp_start_cont")
    assert str(E.PVCAMError("plain")) == "plain"


def test_errors_survive_pickling_with_their_fields():
    error = E.BufferOverrunError("The buffer is full (PL_ERR_BUFFER_OVERRUN)", 173,
                                 "pl_exp_get_oldest_frame")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is E.BufferOverrunError
    assert (copy.message, copy.code, copy.call) == (error.message, 173, "pl_exp_get_oldest_frame")


def test_argument_error_survives_pickling_and_stays_a_type_error():
    error = E.ArgumentError("the callback must be a types.EOF_CALLBACK, got function", None,
                            "pl_cam_register_callback_ex3")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is E.ArgumentError and isinstance(copy, TypeError)
    assert str(copy) == ("pl_cam_register_callback_ex3 failed: "
                         "the callback must be a types.EOF_CALLBACK, got function")
