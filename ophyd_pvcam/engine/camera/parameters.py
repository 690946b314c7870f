"""Typed access to every parameter a camera reports as available.

:class:`ParameterTable` probes ``ATTR_AVAIL`` for every ``PARAM_*`` id in
:mod:`ophyd_pvcam.sdk.constants` once, when a camera opens, and keeps a
:class:`Parameter` for each available one under a Pythonic name
(``PARAM_READOUT_PORT`` -> ``"readout_port"``). A :class:`Parameter` reads its
attributes from the SDK on demand (ranges may change with port, speed or
exposure resolution) and validates values before sending them: a value outside
``ATTR_MIN``..``ATTR_MAX``, off the ``ATTR_INCREMENT`` grid, of the wrong type or
not among an enum's items raises :class:`ValidationError` and nothing reaches
the camera. Nothing is clamped.

The pure naming and C-type rules (:func:`parameter_ids`, :func:`pythonic_name`,
:func:`normalise_label`, the type checks) live in
:mod:`ophyd_pvcam.engine.camera.paramvalues`; the public ones are re-exported here.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any, Callable, Iterator, Optional, Union

from ophyd_pvcam.engine.errors import ValidationError
from ophyd_pvcam.engine.camera.paramvalues import (coerce_value, is_integral, is_numeric_type,
                                            normalise_label, parameter_ids, pythonic_name,
                                            type_name)
from ophyd_pvcam.sdk import constants as C
from ophyd_pvcam.sdk.errors import ParameterError

__all__ = ["Parameter", "ParameterTable", "parameter_ids", "pythonic_name", "normalise_label"]

logger = logging.getLogger(__name__)

_READABLE = {int(C.ACC_READ_ONLY), int(C.ACC_READ_WRITE)}
_WRITABLE = {int(C.ACC_READ_WRITE), int(C.ACC_WRITE_ONLY)}


class Parameter:
    """One available camera parameter.

    Parameters
    ----------
    table : ParameterTable
        The table (and so the camera) this parameter belongs to.
    param_id : int
        The ``PARAM_*`` id.
    constant_name : str
        The constant's name, e.g. ``"PARAM_READOUT_PORT"``.
    param_type : int
        ``ATTR_TYPE`` as reported by the camera (not the type encoded in the id,
        which is wrong for a few parameters).
    access : int
        ``ATTR_ACCESS`` (``ACC_*``).

    Attributes
    ----------
    name : str
        Pythonic name, e.g. ``"readout_port"``.
    id : int
    constant_name : str
    type : int
    access : int
    """

    def __init__(self, table: "ParameterTable", param_id: int, constant_name: str,
                 param_type: int, access: int):
        self._table = table
        self.id = int(param_id)
        self.constant_name = constant_name
        self.name = pythonic_name(constant_name)
        self.type = int(param_type)
        self.access = int(access)
        self._live: Optional[bool] = None

    def __repr__(self) -> str:
        return (f"<Parameter {self.name} id={self.id:#010x} type={self.type_name} "
                f"access={self.access}>")

    # -- static facts ------------------------------------------------------
    @property
    def type_name(self) -> str:
        """Name of the reported type, e.g. ``"enum"``, ``"uns16"``."""
        return type_name(self.type)

    @property
    def readable(self) -> bool:
        """True when the current value and its attributes can be read."""
        return self.access in _READABLE

    @property
    def writable(self) -> bool:
        """True when the value can be set."""
        return self.access in _WRITABLE

    @property
    def is_enum(self) -> bool:
        """True for ``TYPE_ENUM`` parameters."""
        return self.type == int(C.TYPE_ENUM)

    @property
    def live(self) -> bool:
        """``ATTR_LIVE``: the parameter may be accessed while the camera acquires."""
        if self._live is None:
            self._live = bool(self._call("get_param", self.id, int(C.ATTR_LIVE)))
        return self._live

    # -- attributes read on demand ------------------------------------------
    def attribute(self, attr: int) -> Any:
        """Read one attribute (``ATTR_*``) of this parameter from the SDK.

        Parameters
        ----------
        attr : int
            ``ATTR_CURRENT``, ``ATTR_MIN``, ...

        Returns
        -------
        object
            Typed by the SDK binding according to ``ATTR_TYPE``.
        """
        return self._call("get_param", self.id, int(attr))

    @property
    def count(self) -> int:
        """``ATTR_COUNT``: enum item count, string length, or number of values."""
        return int(self.attribute(C.ATTR_COUNT))

    @property
    def min(self) -> Any:
        """``ATTR_MIN``."""
        return self.attribute(C.ATTR_MIN)

    @property
    def max(self) -> Any:
        """``ATTR_MAX``."""
        return self.attribute(C.ATTR_MAX)

    @property
    def default(self) -> Any:
        """``ATTR_DEFAULT``."""
        return self.attribute(C.ATTR_DEFAULT)

    @property
    def increment(self) -> Any:
        """``ATTR_INCREMENT``."""
        return self.attribute(C.ATTR_INCREMENT)

    # -- enum items ---------------------------------------------------------
    @property
    def enum_items(self) -> dict[str, int]:
        """The enum's items as ``{camera's name: value}``, in the camera's order.

        Raises
        ------
        ParameterError
            When the parameter is not an enum.
        """
        self._require_enum()
        return {label: int(value) for value, label in self._call("enum_items", self.id)}

    def enum_name(self, value: int) -> str:
        """Return the camera's name of enum ``value``.

        Parameters
        ----------
        value : int

        Returns
        -------
        str

        Raises
        ------
        ValidationError
            When ``value`` is not one of the items.
        """
        for label, item_value in self.enum_items.items():
            if item_value == int(value):
                return label
        raise ValidationError(f"{value!r} is not a value of {self.name}; "
                              f"items: {self._describe_items()}", None, self.name)

    def enum_value(self, value: Union[int, str],
                   aliases: Optional[Mapping[str, int]] = None) -> int:
        """Resolve a name or value to one of the enum's values.

        Names match the camera's item names exactly, then case-insensitively,
        then with punctuation and spaces folded to ``_`` (``"dynamic_range"``
        finds ``"Dynamic Range"``), then through ``aliases`` (Pythonic names of
        the SDK constants, accepted only when the value is one of the items).

        Parameters
        ----------
        value : int or str
            An item value or name.
        aliases : mapping of str to int, optional
            Extra names for values.

        Returns
        -------
        int

        Raises
        ------
        ValidationError
            When nothing matches; the message lists the items.
        """
        items = self.enum_items
        values = set(items.values())
        if isinstance(value, str):
            if value in items:
                return items[value]
            folded = {label.casefold(): v for label, v in items.items()}
            if value.casefold() in folded:
                return folded[value.casefold()]
            normalised = {normalise_label(label): v for label, v in items.items()}
            if normalise_label(value) in normalised:
                return normalised[normalise_label(value)]
            if aliases and normalise_label(value) in aliases:
                candidate = int(aliases[normalise_label(value)])
                if candidate in values:
                    return candidate
        elif is_integral(value):
            if int(value) in values:
                return int(value)
        raise ValidationError(f"{value!r} is not a valid {self.name}; items: "
                              f"{self._describe_items()}", None, self.name)

    # -- value ----------------------------------------------------------------
    def get(self) -> Any:
        """Read the current value (``ATTR_CURRENT``).

        Returns
        -------
        object
            For enums the value (int); see :attr:`current_name` for the label.

        Raises
        ------
        ParameterError
            When the parameter is write-only or exists only for checks.
        """
        if not self.readable:
            raise ParameterError(f"parameter {self.name} cannot be read (access {self.access})",
                                 None, f"get {self.name}")
        return self.attribute(C.ATTR_CURRENT)

    @property
    def value(self) -> Any:
        """The current value; assigning validates and sends it (see :meth:`set`)."""
        return self.get()

    @value.setter
    def value(self, new_value: Any) -> None:
        self.set(new_value)

    @property
    def current_name(self) -> str:
        """For enums: the camera's name of the current value."""
        return self.enum_name(self.get())

    def validate(self, value: Any, aliases: Optional[Mapping[str, int]] = None) -> Any:
        """Check a value without sending it and return what would be sent.

        Parameters
        ----------
        value : object
            Number, bool, string, or enum name/value.
        aliases : mapping of str to int, optional
            Extra enum names (see :meth:`enum_value`).

        Returns
        -------
        object
            The value in the parameter's own type (enum names resolved).

        Raises
        ------
        ValidationError
            Not writable, wrong type, out of range, off the increment grid,
            not an enum item.
        """
        if not self.writable:
            raise ValidationError(f"parameter {self.name} is read-only", None, self.name)
        if self.is_enum:
            return self.enum_value(value, aliases)
        number = coerce_value(self.name, self.type, value)
        if is_numeric_type(self.type) and self.readable:
            self._check_range(number)
        return number

    def set(self, value: Any, aliases: Optional[Mapping[str, int]] = None) -> None:
        """Validate ``value`` and send it with ``pl_set_param``.

        Parameters
        ----------
        value : object
            See :meth:`validate`.
        aliases : mapping of str to int, optional
            Extra enum names.

        Raises
        ------
        ValidationError
            Before sending anything, for invalid values, or while the camera
            is acquiring and the parameter is not live.
        """
        with self._table.lock:
            raw = self.validate(value, aliases)
            if self._table.is_busy() and not self.live:
                raise ValidationError(f"cannot change {self.name} while the camera is acquiring",
                                      None, self.name)
            logger.debug("set %s = %r", self.name, raw)
            self._call("set_param", self.id, raw)

    # -- helpers ----------------------------------------------------------------
    def _check_range(self, number: Any) -> None:
        low, high = self.min, self.max
        if not low <= number <= high:
            raise ValidationError(f"{self.name}={number!r} is outside {low}..{high}",
                                  None, self.name)
        step = self.increment
        if step and step > 0:
            offset = (number - low) / step
            if abs(offset - round(offset)) > 1e-9:
                raise ValidationError(f"{self.name}={number!r} is not {low} + a multiple of "
                                      f"{step}", None, self.name)

    def _require_enum(self) -> None:
        if not self.is_enum:
            raise ParameterError(f"parameter {self.name} is not an enum", None,
                                 f"enum items of {self.name}")

    def _describe_items(self) -> str:
        return ", ".join(f"{label!r}={value}" for label, value in self.enum_items.items())

    def _call(self, method: str, *args: Any) -> Any:
        table = self._table
        with table.lock:
            return getattr(table.library, method)(table.handle, *args)


class ParameterTable(Mapping):
    """The available parameters of one open camera, by Pythonic name.

    Look-ups accept the Pythonic name (``"readout_port"``), the constant name
    (``"PARAM_READOUT_PORT"``) or the id.

    Parameters
    ----------
    library : PVCAMLibrary
        The loaded SDK.
    handle : int
        Handle of the open camera.
    lock : threading.RLock, optional
        Serialises SDK calls on this camera (the camera's own lock).
    is_busy : callable, optional
        Returns True while the camera acquires (non-live parameters then refuse
        to be set).
    """

    def __init__(self, library: Any, handle: int, *, lock: Optional[threading.RLock] = None,
                 is_busy: Optional[Callable[[], bool]] = None):
        self.library = library
        self.handle = handle
        self.lock = lock if lock is not None else threading.RLock()
        self._is_busy = is_busy
        self._by_name: dict[str, Parameter] = {}
        self._by_id: dict[int, Parameter] = {}
        self._aliases: dict[str, Parameter] = {}
        self._discover()

    def _discover(self) -> None:
        with self.lock:
            for constant_name, param_id in parameter_ids().items():
                existing = self._by_id.get(param_id)
                if existing is not None:
                    # Same id under another constant name: one object, two names.
                    self._aliases[constant_name] = existing
                    self._aliases[pythonic_name(constant_name)] = existing
                    continue
                if not self.library.param_available(self.handle, param_id):
                    continue
                param_type = self.library.get_param(self.handle, param_id, int(C.ATTR_TYPE))
                access = self.library.get_param(self.handle, param_id, int(C.ATTR_ACCESS))
                parameter = Parameter(self, param_id, constant_name, param_type, access)
                self._by_name[parameter.name] = parameter
                self._by_id[param_id] = parameter
        logger.debug("camera handle %s: %d parameters available", self.handle, len(self._by_name))

    def is_busy(self) -> bool:
        """True while the owning camera acquires."""
        return bool(self._is_busy and self._is_busy())

    def __getitem__(self, key: Union[str, int]) -> Parameter:
        if isinstance(key, str):
            if key in self._by_name:
                return self._by_name[key]
            name = pythonic_name(key) if key.startswith("PARAM_") else key
            if name in self._by_name:
                return self._by_name[name]
            if key in self._aliases:
                return self._aliases[key]
        elif is_integral(key) and int(key) in self._by_id:
            return self._by_id[int(key)]
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)

    def __contains__(self, key: object) -> bool:
        try:
            self[key]  # type: ignore[index]
        except KeyError:
            return False
        return True

    def require(self, key: Union[str, int]) -> Parameter:
        """Return a parameter or raise :class:`ParameterError` saying it is unavailable.

        Parameters
        ----------
        key : str or int
            Name, constant name or id.

        Returns
        -------
        Parameter
        """
        try:
            return self[key]
        except KeyError:
            raise ParameterError(f"parameter {key!r} is not available on this camera", None,
                                 f"access {key}") from None
