"""Settings of a served camera: validation, application and read-back.

:class:`SettingsMixin` is the settings half of
:class:`~ophyd_pvcam.ioc.server.core.driver.CameraDriver` (which provides ``camera``,
``simulated``, the lock and the acquiring flag). Every key of
:data:`SETTING_KEYS` is applied whole or refused with
:class:`~ophyd_pvcam.engine.errors.ValidationError` (or the SDK's
:class:`~ophyd_pvcam.sdk.errors.PVCAMError`), nothing applied.
"""
from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from ophyd_pvcam.engine.camera import Camera
from ophyd_pvcam.engine.errors import ValidationError
from ophyd_pvcam.engine.stream import STALL_COUNT_RANGE, STALL_TIMEOUT_RANGE
from ophyd_pvcam.engine.camera import Region

from ophyd_pvcam.storage.preflight import LOSS_POLICIES, PREDICTED_LOSS_POLICIES

__all__ = [
    "SettingsMixin",
    "IMAGE_MODES",
    "BUFFER_MODES",
    "CAMERA_SETTINGS",
    "DRIVER_SETTINGS",
    "SETTING_KEYS",
    "display_name",
]

#: areaDetector ``ImageMode`` menu.
IMAGE_MODES = ("Single", "Multiple", "Continuous")
#: ``BufferMode`` menu -> engine ``buffer_mode``.
BUFFER_MODES = {"Auto": "auto", "Overwrite": "overwrite", "No overwrite": "no_overwrite"}
#: Camera settings in the order they are re-applied after a reopen
#: (port before speed before gain: a port change resets the speed, a speed the gain).
CAMERA_SETTINGS = ("readout_port", "speed_index", "gain_index", "clear_mode", "fan_speed",
                   "temperature_setpoint", "exposure_time", "trigger_mode", "expose_out_mode",
                   "roi", "shutter_open_delay", "shutter_close_delay", "edge_trigger")
#: Settings kept by the driver itself.
DRIVER_SETTINGS = ("acquire_period", "image_mode", "num_images", "num_exposures",
                   "buffer_mode", "stall_timeout", "stall_count", "max_recoveries",
                   "array_callbacks",
                   "array_counter", "sim_faults", "on_loss", "on_predicted_loss")
#: Every key :meth:`CameraDriver.apply` accepts.
SETTING_KEYS = CAMERA_SETTINGS + DRIVER_SETTINGS + ("min_x", "min_y", "size_x", "size_y",
                                                    "bin_x", "bin_y")
# Camera parameters behind the generic settings.
_PARAMETER_SETTINGS = {"shutter_open_delay": "shtr_open_delay",
                       "shutter_close_delay": "shtr_close_delay",
                       "edge_trigger": "edge_trigger"}
# Driver settings that may change while acquiring.
_LIVE_SETTINGS = ("array_counter", "array_callbacks", "sim_faults")
_MAX_IMAGES = 2**31 - 1


def display_name(engine_name: str) -> str:
    """Turn an engine mode name into a menu label: ``"software_edge"`` -> ``"Software edge"``.

    Parameters
    ----------
    engine_name : str

    Returns
    -------
    str
        The engine accepts the label back (it normalises labels).
    """
    return engine_name.replace("_", " ").capitalize()


class SettingsMixin:
    """Apply and read the settings of :data:`SETTING_KEYS` (mixed into CameraDriver)."""

    def apply(self, key: str, value: Any) -> Any:
        """Validate and apply one setting; return its read-back.

        Parameters
        ----------
        key : str
            One of :data:`SETTING_KEYS`.
        value : object
            In the record's units (seconds, degrees C, menu labels).

        Returns
        -------
        object
            What the camera (or driver) reports afterwards.

        Raises
        ------
        ValidationError
            Invalid value, or not changeable now (acquiring); nothing applied.
        PVCAMError
            The SDK refused the value.
        """
        if key not in SETTING_KEYS:
            raise ValidationError(f"unknown setting {key!r}", None, key)
        with self._lock:
            if self._acquiring and key not in _LIVE_SETTINGS:
                raise ValidationError(f"cannot change {key} while {self.name} is acquiring",
                                      None, key)
            if key in DRIVER_SETTINGS:
                return self._apply_driver(key, value)
            asked = key
            if key in ("min_x", "min_y", "size_x", "size_y", "bin_x", "bin_y"):
                value = self._roi_with(key, value)
                key = "roi"
            camera = self.camera
            self._apply_camera(camera, key, value)
            # A port change resets the speed, a speed change the gain: forget
            # what they reset so a reopen re-applies only what still holds.
            for reset in {"readout_port": ("speed_index", "gain_index"),
                          "speed_index": ("gain_index",)}.get(key, ()):
                self._camera_settings.pop(reset, None)
            self._camera_settings[key] = value if key == "roi" else self.read(key)
            return self.read(asked)

    def read(self, key: str) -> Any:
        """Return the current value of a setting (see :meth:`apply`).

        Parameters
        ----------
        key : str

        Returns
        -------
        object
        """
        if key in DRIVER_SETTINGS:
            return self._array_counter if key == "array_counter" else getattr(self, key)
        camera = self.camera
        if key in ("trigger_mode", "expose_out_mode"):
            name = camera.exposure_mode if key == "trigger_mode" else camera.expose_out_mode
            return display_name(name) if name else ""
        if key == "roi":
            return (camera.roi, camera.binning)
        if key in ("min_x", "min_y", "size_x", "size_y"):
            region = camera.roi
            return {"min_x": region.x, "min_y": region.y, "size_x": region.width,
                    "size_y": region.height}[key]
        if key in ("bin_x", "bin_y"):
            return camera.binning[0 if key == "bin_x" else 1]
        if key in _PARAMETER_SETTINGS:
            parameter = camera.parameters.require(_PARAMETER_SETTINGS[key])
            return parameter.current_name if parameter.is_enum else parameter.get()
        return getattr(camera, key)

    def has_setting(self, key: str) -> bool:
        """Tell whether this camera supports a setting.

        Parameters
        ----------
        key : str

        Returns
        -------
        bool
        """
        if key in DRIVER_SETTINGS:
            return key != "sim_faults" or self.simulated
        camera = self.camera
        needs = {"readout_port": "readout_port", "speed_index": "spdtab_index",
                 "gain_index": "gain_index", "clear_mode": "clear_mode",
                 "fan_speed": "fan_speed_setpoint", "temperature_setpoint": "temp_setpoint",
                 **_PARAMETER_SETTINGS}
        if key == "expose_out_mode":
            return bool(camera.expose_out_modes)
        if key in needs:
            parameter = camera.parameters.get(needs[key])
            return parameter is not None and parameter.readable
        return key in SETTING_KEYS

    def parameter(self, key: str, attribute: str = "value") -> Any:
        """Read a camera parameter (or one of its attributes) if available.

        Parameters
        ----------
        key : str
            Pythonic parameter name, e.g. ``"chip_name"``.
        attribute : {"value", "min", "max", "count", "items"}

        Returns
        -------
        object or None
            None when the parameter is not available or not readable.
        """
        camera = self.camera
        parameter = camera.parameters.get(key)
        if parameter is None or not parameter.readable:
            return None
        if attribute == "value":
            return parameter.get()
        if attribute == "items":
            return list(parameter.enum_items) if parameter.is_enum else None
        return getattr(parameter, attribute)

    def menu(self, key: str) -> list[str]:
        """Menu labels of an enumerated camera setting.

        Parameters
        ----------
        key : {"trigger_mode", "expose_out_mode", "readout_port", "clear_mode",
               "fan_speed", "edge_trigger"}

        Returns
        -------
        list of str
        """
        camera = self.camera
        if key == "trigger_mode":
            return [display_name(n) for n in camera.exposure_modes]
        if key == "expose_out_mode":
            return [display_name(n) for n in camera.expose_out_modes]
        parameter = {"readout_port": "readout_port", "clear_mode": "clear_mode",
                     "fan_speed": "fan_speed_setpoint", "edge_trigger": "edge_trigger"}[key]
        return list(self.parameter(parameter, "items") or [])

    def temperature(self) -> Optional[float]:
        """Measured sensor temperature [C], or None when it may not be read now.

        Returns
        -------
        float or None
            None while acquiring unless the parameter is live, or when the
            camera is not open or has no sensor temperature.
        """
        camera = self._camera
        if camera is None or camera.closed:
            return None
        parameter = camera.parameters.get("temp")
        if parameter is None or not parameter.readable:
            return None
        if self._acquiring and not parameter.live:
            return None
        return camera.temperature

    def _apply_driver(self, key: str, value: Any) -> Any:
        if key == "acquire_period":
            self.acquire_period = _number(value, key, minimum=0.0)
        elif key == "image_mode":
            self.image_mode = _choice(value, IMAGE_MODES, key)
        elif key == "num_images":
            self.num_images = _integer(value, key, 1, _MAX_IMAGES)
        elif key == "num_exposures":
            self.num_exposures = _integer(value, key, 1, 1)
        elif key == "buffer_mode":
            self.buffer_mode = _choice(value, tuple(BUFFER_MODES), key)
        elif key == "stall_timeout":
            self.stall_timeout = _stall_timeout(value, key)
        elif key == "stall_count":
            self.stall_count = _integer(value, key, *STALL_COUNT_RANGE)
        elif key == "max_recoveries":
            self.max_recoveries = _integer(value, key, 0, 1000)
        elif key == "on_loss":
            self.on_loss = _choice(value, LOSS_POLICIES, key)
        elif key == "on_predicted_loss":
            self.on_predicted_loss = _choice(value, PREDICTED_LOSS_POLICIES, key)
        elif key == "array_callbacks":
            self.array_callbacks = bool(_integer(value, key, 0, 1))
        elif key == "array_counter":
            with self._counter_lock:
                self._array_counter = _integer(value, key, 0, _MAX_IMAGES)
        elif key == "sim_faults":
            if not self.simulated:
                raise ValidationError("SimFaults needs the simulated camera", None, key)
            text = str(value).strip()
            try:
                _sim().set_faults(text)
            except ValueError as exc:
                raise ValidationError(f"SimFaults {text!r} refused: {exc}", None, key) from None
            self.sim_faults = _sim().get_faults()
        return self.read(key)

    def _apply_camera(self, camera: Camera, key: str, value: Any) -> None:
        if key == "roi":
            region, binning = value
            camera.set_roi(region, binning)
        elif key == "trigger_mode":
            camera.exposure_mode = value
        elif key in _PARAMETER_SETTINGS:
            camera.parameters.require(_PARAMETER_SETTINGS[key]).set(value)
        else:
            setattr(camera, key, value)

    def _roi_with(self, key: str, value: Any) -> tuple[Region, tuple[int, int]]:
        camera = self.camera
        region, binning = camera.roi, camera.binning
        number = _integer(value, key, 0 if key in ("min_x", "min_y") else 1, 2**16)
        fields = {"x": region.x, "y": region.y, "width": region.width, "height": region.height}
        pair = list(binning)
        if key in ("bin_x", "bin_y"):
            pair[0 if key == "bin_x" else 1] = number
            allowed = camera.binnings
            if allowed is not None and tuple(pair) not in allowed and (number, number) in allowed:
                # Cameras that list only paired binnings (1x1, 2x2, ...) cannot
                # take BinX and BinY one at a time: a factor sets both.
                pair = [number, number]
        else:
            field = {"min_x": "x", "min_y": "y", "size_x": "width", "size_y": "height"}[key]
            fields[field] = number
        return Region(**fields), (pair[0], pair[1])


def _sim() -> Any:
    # The simulator module is a leaf below the sdk; import it only when used.
    import ophyd_pvcam.sim as sim

    return sim


def _number(value: Any, what: str, *, minimum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise ValidationError(f"{what} takes a number, got {value!r}", None, what)
    number = float(value)
    if not math.isfinite(number) or number < minimum:
        raise ValidationError(f"{what} must be a finite number >= {minimum}, got {value!r}",
                              None, what)
    return number


def _stall_timeout(value: Any, what: str) -> float:
    """0 (automatic) or a number of seconds in :data:`STALL_TIMEOUT_RANGE`."""
    seconds = _number(value, what, minimum=0.0)
    low, high = STALL_TIMEOUT_RANGE
    if seconds != 0.0 and not low <= seconds <= high:
        raise ValidationError(f"{what} must be 0 (automatic) or {low:g}..{high:g} s, got "
                              f"{value!r}", None, what)
    return seconds


def _integer(value: Any, what: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or \
            not math.isfinite(float(value)) or float(value) != int(value):
        raise ValidationError(f"{what} takes an integer, got {value!r}", None, what)
    number = int(value)
    if not low <= number <= high:
        raise ValidationError(f"{what} must be in {low}..{high}, got {number}", None, what)
    return number


def _choice(value: Any, choices: tuple[str, ...], what: str) -> str:
    if value not in choices:
        raise ValidationError(f"{what} {value!r} is not one of {', '.join(choices)}", None, what)
    return str(value)
