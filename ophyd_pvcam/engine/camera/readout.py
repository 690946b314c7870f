"""Readout port, speed, gain, cooling, clearing and fan of a camera (a :class:`Camera` mixin).

These are camera parameters exposed as Pythonic properties: enum settings by
the camera's own item names (also settable by value, or by an SDK constant's
Pythonic name such as ``"pre_sequence"`` for ``CLEAR_PRE_SEQUENCE``),
temperatures in degrees Celsius. Every value is validated by its
:class:`~ophyd_pvcam.engine.camera.parameters.Parameter` before it is sent.
"""
from __future__ import annotations

import copy
import threading
from typing import Any, Optional, Union

from ophyd_pvcam.engine.errors import ValidationError
from ophyd_pvcam.engine.camera.parameters import ParameterTable
from ophyd_pvcam.engine.camera.paramvalues import normalise_label
from ophyd_pvcam.engine.camera.speedtable import build_port_speed_gain_table
from ophyd_pvcam.sdk import constants as C

__all__ = ["ReadoutControl"]

_CLEAR_MODE_ALIASES = {normalise_label(n[len("CLEAR_"):]): int(getattr(C, n))
                       for n in dir(C) if n.startswith("CLEAR_") and isinstance(getattr(C, n), int)}
_FAN_SPEED_ALIASES = {normalise_label(n[len("FAN_SPEED_"):]): int(getattr(C, n))
                      for n in dir(C) if n.startswith("FAN_SPEED_")
                      and isinstance(getattr(C, n), int)}


class ReadoutControl:
    """Readout port/speed/gain, temperature, clear mode and fan speed.

    Mixed into :class:`~ophyd_pvcam.engine.camera.camera.Camera`, which provides
    ``name``, ``parameters``, ``lock``, ``_speed_table`` (None until built),
    ``_check_open`` and ``_check_idle``.
    """

    name: str
    parameters: ParameterTable
    lock: threading.RLock
    _speed_table: Optional[dict]

    def _check_open(self) -> None:  # provided by Camera
        raise NotImplementedError

    def _check_idle(self, what: str) -> None:  # provided by Camera
        raise NotImplementedError

    def _enum_property(self, key: str) -> str:
        return self.parameters.require(key).current_name

    def _set_param(self, key: str, value: Any, aliases: Optional[dict[str, int]] = None) -> None:
        self._check_open()
        self.parameters.require(key).set(value, aliases)

    @property
    def readout_port(self) -> str:
        """Readout port by the camera's name (``PARAM_READOUT_PORT``); set by name or value."""
        return self._enum_property("readout_port")

    @readout_port.setter
    def readout_port(self, value: Union[str, int]) -> None:
        self._set_param("readout_port", value)

    @property
    def speed_index(self) -> int:
        """``PARAM_SPDTAB_INDEX`` (0-based; selecting a speed resets the gain)."""
        return int(self.parameters.require("spdtab_index").get())

    @speed_index.setter
    def speed_index(self, value: int) -> None:
        self._set_param("spdtab_index", value)

    @property
    def gain_index(self) -> int:
        """``PARAM_GAIN_INDEX`` (usually 1-based)."""
        return int(self.parameters.require("gain_index").get())

    @gain_index.setter
    def gain_index(self, value: int) -> None:
        self._set_param("gain_index", value)

    @property
    def bit_depth(self) -> int:
        """``PARAM_BIT_DEPTH`` of the current port/speed/gain (read-only)."""
        return int(self.parameters.require("bit_depth").get())

    @property
    def temperature(self) -> float:
        """Sensor temperature in degrees Celsius (``PARAM_TEMP`` is in 1/100 C)."""
        return int(self.parameters.require("temp").get()) / 100.0

    @property
    def temperature_setpoint(self) -> float:
        """Cooling setpoint in degrees Celsius (``PARAM_TEMP_SETPOINT``)."""
        return int(self.parameters.require("temp_setpoint").get()) / 100.0

    @temperature_setpoint.setter
    def temperature_setpoint(self, celsius: float) -> None:
        try:
            hundredths = round(float(celsius) * 100)
        except (TypeError, ValueError):
            raise ValidationError(f"temperature_setpoint takes degrees C, got {celsius!r}",
                                  None, "temperature_setpoint") from None
        self._set_param("temp_setpoint", hundredths)

    @property
    def clear_mode(self) -> str:
        """``PARAM_CLEAR_MODE`` by the camera's name.

        Set by the camera's name, the value, or a constant's name such as ``"pre_sequence"``.
        """
        return self._enum_property("clear_mode")

    @clear_mode.setter
    def clear_mode(self, value: Union[str, int]) -> None:
        self._set_param("clear_mode", value, _CLEAR_MODE_ALIASES)

    @property
    def fan_speed(self) -> str:
        """``PARAM_FAN_SPEED_SETPOINT`` by the camera's name.

        Set by the camera's name, the value, or a constant's name such as ``"high"``.
        """
        return self._enum_property("fan_speed_setpoint")

    @fan_speed.setter
    def fan_speed(self, value: Union[str, int]) -> None:
        self._set_param("fan_speed_setpoint", value, _FAN_SPEED_ALIASES)

    def port_speed_gain_table(self) -> dict[str, dict]:
        """Describe every port, speed and gain (switches through them, then restores).

        Returns
        -------
        dict
            ``{port_name: {"value": int, "speeds": [{"index", "name",
            "pixel_time_ns", "bit_depth", "gains": [{"index", "name",
            "bit_depth"}]}]}}``; a fresh copy each call (built once per camera).
        """
        with self.lock:
            if self._speed_table is None:
                self._check_idle("port_speed_gain_table")
                self._speed_table = build_port_speed_gain_table(self.parameters)
            return copy.deepcopy(self._speed_table)
