"""Pure rules for parameter names and values, shared by every parameter.

Naming: :func:`parameter_ids` lists the ``PARAM_*`` ids the binding knows,
:func:`pythonic_name` turns a constant name into a table key
(``PARAM_READOUT_PORT`` -> ``"readout_port"``) and :func:`normalise_label`
folds enum labels for forgiving look-ups. Values: :func:`coerce_value` checks a
value against a parameter's C type (bool, string, integer width, finite float)
and returns it in that type; the camera-reported range and increment are
checked by :meth:`~ophyd_pvcam.engine.camera.parameters.Parameter.validate`. Nothing
here talks to the SDK.
"""
from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from ophyd_pvcam.engine.errors import ValidationError
from ophyd_pvcam.sdk import constants as C

__all__ = ["coerce_value", "is_integral", "is_numeric_type", "normalise_label", "parameter_ids",
           "pythonic_name", "type_name"]

# Value ranges implied by the C type, checked even when ATTR_MIN/MAX are unreadable.
_INTEGER_BOUNDS = {
    int(C.TYPE_INT8): (-(2**7), 2**7 - 1),
    int(C.TYPE_UNS8): (0, 2**8 - 1),
    int(C.TYPE_INT16): (-(2**15), 2**15 - 1),
    int(C.TYPE_UNS16): (0, 2**16 - 1),
    int(C.TYPE_INT32): (-(2**31), 2**31 - 1),
    int(C.TYPE_UNS32): (0, 2**32 - 1),
    int(C.TYPE_INT64): (-(2**63), 2**63 - 1),
    int(C.TYPE_UNS64): (0, 2**64 - 1),
}
_FLOAT_TYPES = {int(C.TYPE_FLT32), int(C.TYPE_FLT64)}

_TYPE_NAMES = {
    int(getattr(C, name)): name[len("TYPE_"):].lower()
    for name in dir(C)
    if name.startswith("TYPE_") and isinstance(getattr(C, name), int)
}


def pythonic_name(constant_name: str) -> str:
    """Turn a ``PARAM_*`` constant name into the parameter's Pythonic name.

    Parameters
    ----------
    constant_name : str
        E.g. ``"PARAM_READOUT_PORT"``.

    Returns
    -------
    str
        E.g. ``"readout_port"``.
    """
    name = constant_name[len("PARAM_"):] if constant_name.startswith("PARAM_") else constant_name
    return name.lower()


def normalise_label(label: str) -> str:
    """Reduce a label to lower-case words joined by ``_`` (for forgiving name lookups).

    Parameters
    ----------
    label : str
        E.g. ``"Dynamic Range"`` or ``"Software Trigger Edge"``.

    Returns
    -------
    str
        E.g. ``"dynamic_range"``.
    """
    return re.sub(r"[^0-9a-z]+", "_", label.casefold()).strip("_")


def parameter_ids() -> dict[str, int]:
    """Return every parameter id the binding knows, by constant name.

    Only names starting with ``PARAM_`` whose value carries a type code in its
    top byte count as parameter ids (that excludes limits such as
    ``PARAM_NAME_LEN``).

    Returns
    -------
    dict of str to int
        In id order; an id with several names appears under each.
    """
    found = {}
    for name in dir(C):
        value = getattr(C, name)
        if name.startswith("PARAM_") and isinstance(value, int) and not isinstance(value, bool):
            if (int(value) >> 24) != 0:
                found[name] = int(value)
    return dict(sorted(found.items(), key=lambda item: (item[1], item[0])))


def type_name(param_type: int) -> str:
    """Name of a ``TYPE_*`` code, e.g. ``"enum"``, ``"uns16"``.

    Parameters
    ----------
    param_type : int
        ``ATTR_TYPE`` of a parameter.

    Returns
    -------
    str
        The constant's name without ``TYPE_``, lower-case; the number as text
        for codes the binding does not know.
    """
    return _TYPE_NAMES.get(int(param_type), str(param_type))


def is_numeric_type(param_type: int) -> bool:
    """True for the integer and floating-point ``TYPE_*`` codes (range-checked types).

    Parameters
    ----------
    param_type : int

    Returns
    -------
    bool
    """
    return param_type in _INTEGER_BOUNDS or param_type in _FLOAT_TYPES


def coerce_value(name: str, param_type: int, value: Any) -> Any:
    """Check ``value`` against the C type ``param_type`` and return it in that type.

    Integers must fit the type's width even when the camera's ``ATTR_MIN`` /
    ``ATTR_MAX`` are unreadable. Enums are not handled here (they need the
    camera's items); structured types are returned unchanged.

    Parameters
    ----------
    name : str
        The parameter's name, for messages.
    param_type : int
        Its ``ATTR_TYPE``.
    value : object
        What the caller wants to send.

    Returns
    -------
    object
        ``bool``, ``str``, ``int`` or ``float``; ``value`` itself for other types.

    Raises
    ------
    ValidationError
        Wrong type, an integer that does not fit, a non-finite float.
    """
    if param_type == int(C.TYPE_BOOLEAN):
        if isinstance(value, (bool, np.bool_)) or (is_integral(value)
                                                  and int(value) in (0, 1)):
            return bool(value)
        raise ValidationError(f"{name} takes a bool, got {value!r}", None, name)
    if param_type == int(C.TYPE_CHAR_PTR):
        if not isinstance(value, str):
            raise ValidationError(f"{name} takes a string, got {value!r}", None, name)
        return value
    if param_type in _INTEGER_BOUNDS:
        if not is_integral(value):
            raise ValidationError(f"{name} takes an integer, got {value!r}",
                                  None, name)
        number: Any = int(value)
        low, high = _INTEGER_BOUNDS[param_type]
        if not low <= number <= high:
            raise ValidationError(f"{name}={number} does not fit {type_name(param_type)}",
                                  None, name)
    elif param_type in _FLOAT_TYPES:
        numeric = isinstance(value, (int, float, np.number)) \
            and not isinstance(value, (bool, np.bool_))
        if not numeric or not math.isfinite(float(value)):
            raise ValidationError(f"{name} takes a finite number, got {value!r}",
                                  None, name)
        number = float(value)
    else:
        # Structured types (regions, smart-stream lists) are passed through
        # to the SDK unchecked: the binding knows their layout, we do not.
        return value
    return number


def is_integral(value: Any) -> bool:
    """True for integers and integer-valued finite floats (never for bools).

    Parameters
    ----------
    value : object

    Returns
    -------
    bool
    """
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, (int, np.integer)):
        return True
    return isinstance(value, (float, np.floating)) and math.isfinite(value) \
        and float(value).is_integer()
