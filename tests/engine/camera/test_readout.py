"""Readout port, speed, gain, cooling, clear mode and fan (ophyd_pvcam/engine/camera/readout.py)."""
from __future__ import annotations

import pytest

from ophyd_pvcam.engine.errors import AcquisitionError, ValidationError
from ophyd_pvcam.sdk import constants as C


def test_readout_port_by_name_value_and_normalised_name(kinetix):
    assert kinetix.readout_port in ("Sensitivity", "Speed", "Dynamic Range", "Sub-Electron")
    kinetix.readout_port = "Dynamic Range"
    assert kinetix.readout_port == "Dynamic Range"
    kinetix.readout_port = 1
    assert kinetix.readout_port == "Speed"
    kinetix.readout_port = "sub_electron"
    assert kinetix.readout_port == "Sub-Electron"


def test_invalid_readout_port_is_refused_and_the_port_is_unchanged(kinetix):
    kinetix.readout_port = "Speed"
    with pytest.raises(ValidationError, match="Dynamic Range"):
        kinetix.readout_port = "Warp"
    with pytest.raises(ValidationError):
        kinetix.readout_port = 9
    assert kinetix.library.get_param(kinetix.handle, C.PARAM_READOUT_PORT) == 1


def test_speed_and_gain_are_validated(bsi):
    bsi.speed_index = 1
    assert bsi.speed_index == 1
    bsi.gain_index = 3
    assert bsi.gain_index == 3
    with pytest.raises(ValidationError):
        bsi.speed_index = 2
    with pytest.raises(ValidationError):
        bsi.gain_index = 4
    assert (bsi.speed_index, bsi.gain_index) == (1, 3)


def test_temperature_is_in_celsius(bsi):
    raw = bsi.library.get_param(bsi.handle, C.PARAM_TEMP)
    assert bsi.temperature == pytest.approx(raw / 100, abs=2.0)
    assert -60 < bsi.temperature < 40


def test_temperature_setpoint_round_trips_and_is_range_checked(model_camera):
    param = model_camera.parameters["temp_setpoint"]
    model_camera.temperature_setpoint = param.min / 100
    assert model_camera.temperature_setpoint == param.min / 100
    model_camera.temperature_setpoint = -10.5
    assert model_camera.temperature_setpoint == -10.5
    with pytest.raises(ValidationError, match="outside"):
        model_camera.temperature_setpoint = param.max / 100 + 1
    with pytest.raises(ValidationError):
        model_camera.temperature_setpoint = "cold"
    assert model_camera.temperature_setpoint == -10.5


def test_clear_mode_by_camera_name_and_constant_alias(bsi):
    items = bsi.parameters["clear_mode"].enum_items
    for name, value in items.items():
        bsi.clear_mode = name
        assert bsi.clear_mode == name
    alias = next(a for a in ("pre_sequence", "pre_exposure", "never") if
                 getattr(C, "CLEAR_" + a.upper()) in items.values())
    bsi.clear_mode = alias
    assert bsi.parameters["clear_mode"].get() == getattr(C, "CLEAR_" + alias.upper())
    with pytest.raises(ValidationError):
        bsi.clear_mode = "sometimes"


def test_fan_speed_by_name(bsi):
    items = bsi.parameters["fan_speed_setpoint"].enum_items
    for name in items:
        bsi.fan_speed = name
        assert bsi.fan_speed == name
    with pytest.raises(ValidationError):
        bsi.fan_speed = "ludicrous"


def test_readout_settings_refuse_changes_on_a_closed_camera(bsi):
    port = bsi.readout_port
    bsi.close()
    with pytest.raises(AcquisitionError, match="closed"):
        bsi.readout_port = port
