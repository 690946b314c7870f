"""Parameter discovery, typed access and validation (ophyd_pvcam/engine/camera/parameters.py)."""
from __future__ import annotations

import pytest

from ophyd_pvcam.engine.errors import ValidationError
from ophyd_pvcam.engine.camera.parameters import (Parameter, ParameterTable, parameter_ids,
                                           pythonic_name)
from ophyd_pvcam.sdk import constants as C
from ophyd_pvcam.sdk.errors import ParameterError

# Parameters every simulated model must offer for the engine's properties.
ENGINE_PARAMETERS = ("readout_port", "spdtab_index", "gain_index", "bit_depth", "ser_size",
                     "par_size", "temp", "temp_setpoint", "clear_mode", "exposure_mode",
                     "expose_out_mode", "exp_res", "exposure_time", "binning_ser",
                     "binning_par", "image_format", "chip_name", "head_ser_num_alpha")


def test_table_lists_exactly_the_available_parameters(model_camera):
    table = model_camera.parameters
    library, handle = model_camera.library, model_camera.handle
    expected = {pythonic_name(name) for name, pid in parameter_ids().items()
                if library.param_available(handle, pid)}
    # Aliased ids appear once, under their first name.
    assert set(table) <= expected
    assert {table[name].id for name in table} == {pid for name, pid in parameter_ids().items()
                                                  if library.param_available(handle, pid)}
    for name in ENGINE_PARAMETERS:
        assert name in table, f"{model_camera.info.product} lacks {name}"


def test_parameters_carry_the_cameras_type_and_access(model_camera):
    table = model_camera.parameters
    library, handle = model_camera.library, model_camera.handle
    for parameter in table.values():
        assert parameter.type == library.get_param(handle, parameter.id, C.ATTR_TYPE)
        assert parameter.access == library.get_param(handle, parameter.id, C.ATTR_ACCESS)
    assert table["readout_port"].is_enum
    assert table["readout_port"].writable
    assert table["exposure_mode"].readable and not table["exposure_mode"].writable
    assert table["chip_name"].type == C.TYPE_CHAR_PTR


def test_every_readable_scalar_parameter_reads_with_its_type(model_camera):
    for parameter in model_camera.parameters.values():
        if not parameter.readable or parameter.type not in _SCALAR_TYPES:
            continue
        value = parameter.get()
        assert isinstance(value, _SCALAR_TYPES[parameter.type]), parameter


_SCALAR_TYPES = {
    C.TYPE_INT8: int, C.TYPE_UNS8: int, C.TYPE_INT16: int, C.TYPE_UNS16: int,
    C.TYPE_INT32: int, C.TYPE_UNS32: int, C.TYPE_INT64: int, C.TYPE_UNS64: int,
    C.TYPE_ENUM: int, C.TYPE_BOOLEAN: bool, C.TYPE_CHAR_PTR: str,
    C.TYPE_FLT32: float, C.TYPE_FLT64: float,
}


def test_lookup_by_name_constant_name_and_id(bsi):
    table = bsi.parameters
    port = table["readout_port"]
    assert table["PARAM_READOUT_PORT"] is port
    assert table[C.PARAM_READOUT_PORT] is port
    assert "readout_port" in table and C.PARAM_READOUT_PORT in table


def test_unavailable_parameter_is_a_key_error_or_parameter_error(bsi):
    unavailable = next(name for name, pid in parameter_ids().items()
                       if not bsi.library.param_available(bsi.handle, pid))
    assert unavailable not in bsi.parameters
    with pytest.raises(KeyError):
        bsi.parameters[unavailable]
    with pytest.raises(ParameterError, match=unavailable):
        bsi.parameters.require(unavailable)


def test_enum_items_map_names_to_values(kinetix):
    port = kinetix.parameters["readout_port"]
    assert port.enum_items == {"Sensitivity": 0, "Speed": 1, "Dynamic Range": 2,
                               "Sub-Electron": 3}
    assert port.enum_name(2) == "Dynamic Range"
    assert port.enum_value("Dynamic Range") == 2
    assert port.enum_value("dynamic range") == 2
    assert port.enum_value("dynamic_range") == 2
    assert port.enum_value(3) == 3
    with pytest.raises(ValidationError, match="Sub-Electron"):
        port.enum_value("Turbo")
    with pytest.raises(ValidationError):
        port.enum_value(7)
    with pytest.raises(ValidationError):
        port.enum_name(7)


def test_enum_set_by_name_reaches_the_camera(kinetix):
    port = kinetix.parameters["readout_port"]
    port.value = "Dynamic Range"
    assert kinetix.library.get_param(kinetix.handle, C.PARAM_READOUT_PORT) == 2
    assert port.current_name == "Dynamic Range"


def test_out_of_range_value_is_refused_and_nothing_changes(bsi):
    gain = bsi.parameters["gain_index"]
    before = gain.get()
    with pytest.raises(ValidationError, match="outside"):
        gain.set(int(gain.max) + 1)
    with pytest.raises(ValidationError, match="outside"):
        gain.set(int(gain.min) - 1)
    assert gain.get() == before


def test_wrong_type_is_refused(bsi):
    gain = bsi.parameters["gain_index"]
    with pytest.raises(ValidationError, match="integer"):
        gain.set(1.5)
    with pytest.raises(ValidationError, match="integer"):
        gain.set("1")
    with pytest.raises(ValidationError, match="integer"):
        gain.set(True)


def test_read_only_parameter_is_refused_before_sending(bsi):
    with pytest.raises(ValidationError, match="read-only"):
        bsi.parameters["ser_size"].set(100)
    with pytest.raises(ValidationError, match="read-only"):
        bsi.parameters["exposure_mode"].set(C.EXT_TRIG_INTERNAL)


def test_increment_grid_is_enforced(bsi):
    # A synthetic grid on a real parameter: min 0, increment 10 (the check is
    # the engine's; the sim's increments are 1).
    setpoint = bsi.parameters["temp_setpoint"]

    class Gridded(Parameter):
        @property
        def increment(self):
            return 10

        @property
        def min(self):
            return -2000

    gridded = Gridded(bsi.parameters, setpoint.id, setpoint.constant_name, setpoint.type,
                      setpoint.access)
    before = setpoint.get()
    with pytest.raises(ValidationError, match="multiple of 10"):
        gridded.set(-1995)
    assert setpoint.get() == before
    gridded.set(-1990)
    assert setpoint.get() == -1990


def test_attributes_come_from_the_sdk(bsi):
    setpoint = bsi.parameters["temp_setpoint"]
    library, handle = bsi.library, bsi.handle
    assert setpoint.min == library.get_param(handle, setpoint.id, C.ATTR_MIN)
    assert setpoint.max == library.get_param(handle, setpoint.id, C.ATTR_MAX)
    assert setpoint.default == library.get_param(handle, setpoint.id, C.ATTR_DEFAULT)
    assert setpoint.count == library.get_param(handle, setpoint.id, C.ATTR_COUNT)
    assert setpoint.live == library.get_param(handle, setpoint.id, C.ATTR_LIVE)


def test_non_live_parameter_refuses_changes_while_acquiring(bsi):
    port = bsi.parameters["readout_port"]
    assert not port.live
    bsi.begin_acquisition("test")
    try:
        with pytest.raises(ValidationError, match="acquiring"):
            port.set(port.get())
    finally:
        bsi.end_acquisition()
    port.set(port.get())


def test_a_table_can_be_built_for_any_handle(bsi):
    table = ParameterTable(bsi.library, bsi.handle)
    assert set(table) == set(bsi.parameters)
    assert len(table) == len(bsi.parameters)
