"""Parameter naming and C-type value rules (ophyd_pvcam/engine/camera/paramvalues.py), without a camera."""
from __future__ import annotations

import math

import numpy as np
import pytest

from ophyd_pvcam.engine.errors import ValidationError
from ophyd_pvcam.engine.camera.paramvalues import (coerce_value, is_integral, is_numeric_type,
                                            normalise_label, parameter_ids, pythonic_name,
                                            type_name)
from ophyd_pvcam.sdk import constants as C


def test_parameter_ids_are_the_typed_param_constants():
    ids = parameter_ids()
    assert ids["PARAM_READOUT_PORT"] == C.PARAM_READOUT_PORT
    assert "PARAM_NAME_LEN" not in ids
    assert all(value >> 24 for value in ids.values())


def test_names_are_pythonic():
    assert pythonic_name("PARAM_READOUT_PORT") == "readout_port"
    assert pythonic_name("PARAM_EXP_RES") == "exp_res"
    assert normalise_label("Dynamic Range") == "dynamic_range"
    assert normalise_label("Software Trigger Edge") == "software_trigger_edge"


def test_type_names_drop_the_prefix_and_fall_back_to_the_number():
    assert type_name(C.TYPE_ENUM) == "enum"
    assert type_name(C.TYPE_UNS16) == "uns16"
    assert type_name(12345) == "12345"


def test_only_integer_and_float_types_are_numeric():
    assert is_numeric_type(int(C.TYPE_UNS16)) and is_numeric_type(int(C.TYPE_FLT64))
    assert not is_numeric_type(int(C.TYPE_BOOLEAN))
    assert not is_numeric_type(int(C.TYPE_CHAR_PTR))
    assert not is_numeric_type(int(C.TYPE_ENUM))


def test_integral_values_exclude_bools_fractions_and_non_finite_floats():
    assert is_integral(3) and is_integral(np.int16(3)) and is_integral(4.0)
    assert not is_integral(True) and not is_integral(np.bool_(False))
    assert not is_integral(1.5) and not is_integral(math.inf) and not is_integral("1")


def test_integers_are_converted_and_must_fit_the_type_width():
    assert coerce_value("gain", int(C.TYPE_UNS16), 7.0) == 7
    assert type(coerce_value("gain", int(C.TYPE_UNS16), np.uint8(7))) is int
    with pytest.raises(ValidationError, match="does not fit uns16"):
        coerce_value("gain", int(C.TYPE_UNS16), 2**16)
    with pytest.raises(ValidationError, match="does not fit uns8"):
        coerce_value("gain", int(C.TYPE_UNS8), -1)
    with pytest.raises(ValidationError, match="takes an integer"):
        coerce_value("gain", int(C.TYPE_INT32), True)


def test_floats_must_be_finite_numbers():
    assert coerce_value("t", int(C.TYPE_FLT64), 2) == 2.0
    for bad in (math.nan, math.inf, "1.0", False):
        with pytest.raises(ValidationError, match="finite number"):
            coerce_value("t", int(C.TYPE_FLT64), bad)


def test_bools_strings_and_structured_values():
    assert coerce_value("on", int(C.TYPE_BOOLEAN), 1) is True
    with pytest.raises(ValidationError, match="takes a bool"):
        coerce_value("on", int(C.TYPE_BOOLEAN), 2)
    assert coerce_value("label", int(C.TYPE_CHAR_PTR), "x") == "x"
    with pytest.raises(ValidationError, match="takes a string"):
        coerce_value("label", int(C.TYPE_CHAR_PTR), 5)
    region = object()
    assert coerce_value("roi", int(C.TYPE_SMART_STREAM_TYPE_PTR), region) is region
