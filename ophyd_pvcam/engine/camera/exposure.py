"""Exposure time and trigger/expose-out modes of a camera (a :class:`Camera` mixin).

These three settings are arguments of the SDK's setup calls rather than
parameters: the engine keeps them and :meth:`Camera.acquisition_settings` puts
them into ``exposure`` and ``exp_mode``. Choosing an exposure also chooses
``PARAM_EXP_RES`` (the one camera parameter written here), following
:func:`~ophyd_pvcam.engine.camera.settings.exposure_candidates`.
"""
from __future__ import annotations

import logging
import threading
from typing import Optional, Union

from ophyd_pvcam.engine.camera import settings as S
from ophyd_pvcam.engine.errors import ValidationError
from ophyd_pvcam.engine.camera.parameters import ParameterTable, normalise_label
from ophyd_pvcam.sdk import constants as C

__all__ = ["ExposureControl", "DEFAULT_EXPOSURE_SECONDS"]

logger = logging.getLogger(__name__)

#: Exposure used at open when the camera reports none usable (0 or out of range).
DEFAULT_EXPOSURE_SECONDS = 0.01


class ExposureControl:
    """Exposure, exposure resolution and trigger/expose-out modes.

    Mixed into :class:`~ophyd_pvcam.engine.camera.camera.Camera`, which provides
    ``name``, ``parameters``, ``lock`` and ``_check_idle``; call
    :meth:`_init_exposure_control` once the parameter table exists.
    """

    name: str
    parameters: ParameterTable
    lock: threading.RLock

    def _check_idle(self, what: str) -> None:  # provided by Camera
        raise NotImplementedError

    def _init_exposure_control(self) -> None:
        self._exposure_mode_value = self._initial_mode("exposure_mode", S.EXPOSURE_MODE_VALUES,
                                                       int(C.EXT_TRIG_INTERNAL))
        self._expose_out_value = self._initial_mode("expose_out_mode", S.EXPOSE_OUT_MODE_VALUES,
                                                    None)
        self._exposure_seconds = DEFAULT_EXPOSURE_SECONDS
        self._exposure = (int(C.EXP_RES_ONE_MILLISEC), 10)
        self._initial_exposure()

    @property
    def exposure_time(self) -> float:
        """Exposure in seconds (a setup argument, kept by the engine).

        Setting it picks ``PARAM_EXP_RES`` (see
        :func:`~ophyd_pvcam.engine.camera.settings.exposure_candidates`) and checks
        ``PARAM_EXPOSURE_TIME``'s range in that resolution.
        """
        return self._exposure_seconds

    @exposure_time.setter
    def exposure_time(self, seconds: float) -> None:
        value = S.check_exposure_seconds(seconds)
        with self.lock:
            self._check_idle("exposure_time")
            self._exposure = self._choose_exposure(value)
            self._exposure_seconds = value

    @property
    def exposure_resolution(self) -> str:
        """Unit the exposure is sent in: ``"us"``, ``"ms"`` or ``"s"``."""
        return S.EXPOSURE_RESOLUTION_NAMES[self._exposure[0]]

    def _initial_exposure(self) -> None:
        # Kinetix-type cameras start in seconds resolution, so rebuilding the
        # current exposure through the setter also moves them to a sane unit.
        choices = []
        res_param = self.parameters.get("exp_res")
        exp_param = self.parameters.get("exposure_time")
        unit = 1e-3
        if res_param is not None and res_param.readable:
            unit = S.EXPOSURE_RESOLUTION_SECONDS.get(int(res_param.get()), unit)
        if exp_param is not None and exp_param.readable:
            choices += [int(exp_param.get()) * unit, int(exp_param.default) * unit]
        choices.append(DEFAULT_EXPOSURE_SECONDS)
        for seconds in choices:
            if seconds > 0:
                try:
                    self.exposure_time = seconds
                    return
                except ValidationError as exc:
                    logger.debug("%s: initial exposure %g s refused: %s", self.name, seconds, exc)
        self.exposure_time = DEFAULT_EXPOSURE_SECONDS

    def _exposure_range(self) -> tuple[int, int]:
        exp_param = self.parameters.get("exposure_time")
        low, high = 0, 2**32 - 1  # the setup argument is uns32
        if exp_param is not None and exp_param.readable:
            low, high = max(low, int(exp_param.min)), min(high, int(exp_param.max))
        return low, high

    def _choose_exposure(self, seconds: float) -> tuple[int, int]:
        res_param = self.parameters.get("exp_res")
        if res_param is None or not res_param.readable:
            available, current, switchable = [int(C.EXP_RES_ONE_MILLISEC)], None, False
        else:
            available = list(res_param.enum_items.values())
            current = int(res_param.get())
            switchable = res_param.writable
        candidates = S.exposure_candidates(seconds, available)
        if not switchable and current is not None:
            candidates = [c for c in candidates if c[0] == current]
        active, refused = current, []
        for resolution, count in candidates:
            if res_param is not None and switchable and resolution != active:
                res_param.set(resolution)
                active = resolution
            low, high = self._exposure_range()
            if low <= count <= high:
                return resolution, count
            unit = S.EXPOSURE_RESOLUTION_NAMES[resolution]
            refused.append(f"{count} {unit} not in {low}..{high} {unit}")
        if active != current and res_param is not None:
            res_param.set(current)  # leave the camera as it was
        raise ValidationError(f"exposure {seconds!r} s is not possible on {self.name}: "
                              f"{'; '.join(refused) or 'no resolution can express it'}",
                              None, "exposure_time")

    # ---------------------------------------------------- trigger / expose-out
    def _mode_items(self, key: str, names: dict[str, int]) -> dict[str, int]:
        param = self.parameters.get(key)
        if param is None:
            return {}
        by_value = {value: name for name, value in names.items()}
        return {by_value.get(value, normalise_label(label)): value
                for label, value in param.enum_items.items()}

    def _initial_mode(self, key: str, names: dict[str, int],
                      preferred: Optional[int]) -> Optional[int]:
        param = self.parameters.get(key)
        if param is None:
            return int(C.TIMED_MODE) if key == "exposure_mode" else None
        values = list(param.enum_items.values())
        current = int(param.get()) if param.readable else None
        for candidate in (current, preferred):
            if candidate in values:
                return candidate
        return values[0]

    def _resolve_mode(self, key: str, names: dict[str, int], value: Union[str, int]) -> int:
        items = self._mode_items(key, names)
        if isinstance(value, str) and normalise_label(value) in items:
            return items[normalise_label(value)]
        message = (f"{value!r} is not a {key} of {self.name}; choose from "
                   f"{', '.join(items) or 'none'}")
        param = self.parameters.get(key)
        if param is None:
            raise ValidationError(message, None, key)
        try:
            return param.enum_value(value)
        except ValidationError as exc:
            raise ValidationError(message, None, key) from exc

    @property
    def exposure_modes(self) -> tuple[str, ...]:
        """Names of the trigger modes this camera offers."""
        return tuple(self._mode_items("exposure_mode", S.EXPOSURE_MODE_VALUES)) or ("timed",)

    @property
    def exposure_mode(self) -> str:
        """Trigger mode used by the next setup: ``"internal"``, ``"software_edge"``, ...

        ``PARAM_EXPOSURE_MODE`` is read-only in the SDK; the engine keeps the
        choice and puts it into the setup's ``exp_mode``. Setting accepts the
        Pythonic name, the camera's own item name or the value.
        """
        return self._mode_name("exposure_mode", S.EXPOSURE_MODE_VALUES, self._exposure_mode_value)

    @exposure_mode.setter
    def exposure_mode(self, value: Union[str, int]) -> None:
        resolved = self._resolve_exposure_mode(value)
        with self.lock:
            self._check_idle("exposure_mode")
            self._exposure_mode_value = resolved

    def _resolve_exposure_mode(self, value: Union[str, int]) -> int:
        if self.parameters.get("exposure_mode") is None:
            if value in ("timed", int(C.TIMED_MODE)):
                return int(C.TIMED_MODE)
            raise ValidationError(f"{self.name} only offers the 'timed' exposure mode", None,
                                  "exposure_mode")
        return self._resolve_mode("exposure_mode", S.EXPOSURE_MODE_VALUES, value)

    @property
    def expose_out_modes(self) -> tuple[str, ...]:
        """Names of the expose-out modes this camera offers (empty when none)."""
        return tuple(self._mode_items("expose_out_mode", S.EXPOSE_OUT_MODE_VALUES))

    @property
    def expose_out_mode(self) -> Optional[str]:
        """Expose-out mode used by the next setup (``None`` when the camera has none)."""
        if self._expose_out_value is None:
            return None
        return self._mode_name("expose_out_mode", S.EXPOSE_OUT_MODE_VALUES,
                               self._expose_out_value)

    @expose_out_mode.setter
    def expose_out_mode(self, value: Union[str, int]) -> None:
        if self.parameters.get("expose_out_mode") is None:
            raise ValidationError(f"{self.name} has no expose-out modes", None, "expose_out_mode")
        resolved = self._resolve_mode("expose_out_mode", S.EXPOSE_OUT_MODE_VALUES, value)
        with self.lock:
            self._check_idle("expose_out_mode")
            self._expose_out_value = resolved

    def _mode_name(self, key: str, names: dict[str, int], value: int) -> str:
        for name, item_value in self._mode_items(key, names).items():
            if item_value == value:
                return name
        return {v: n for n, v in names.items()}.get(value, str(value))
