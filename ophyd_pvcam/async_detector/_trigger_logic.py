"""How ``prepare(TriggerInfo)`` sets the camera up: trigger mode, exposure, frames."""
from __future__ import annotations

import asyncio
from typing import Optional

from ophyd_async.core import DetectorTriggerLogic, SignalDict, TriggerInfo

from ophyd_pvcam.engine.camera import Camera
from ophyd_pvcam.engine.errors import ValidationError

from ._arm_plan import ArmPlan

# Relative slack when comparing a requested deadtime with the camera's.
_DEADTIME_TOLERANCE = 0.01


class PVCAMTriggerLogic(DetectorTriggerLogic):
    """ophyd-async trigger logic on an engine :class:`~ophyd_pvcam.engine.camera.camera.Camera`.

    ``DetectorTrigger.INTERNAL`` runs the camera's ``internal`` (timed) mode,
    ``EXTERNAL_EDGE`` and ``EXTERNAL_LEVEL`` the exposure modes given here
    (any of ``camera.exposure_modes``, e.g. ``"software_edge"``). A mode the
    camera lacks is refused with the list of its modes.

    Parameters
    ----------
    camera : Camera
        The open camera.
    plan : ArmPlan
        Receives the number of frames of each arm.
    edge_mode : str
        Exposure mode for ``EXTERNAL_EDGE`` (default ``"edge_rising"``).
    level_mode : str
        Exposure mode for ``EXTERNAL_LEVEL`` (default ``"level"``: the
        exposure lasts as long as the trigger input is high).

    Notes
    -----
    PVCAM's internal mode runs frames back to back: the deadtime between
    exposures is the camera's (its readout), so a ``TriggerInfo.deadtime``
    other than 0 or that readout time is refused rather than silently
    ignored (pace slower acquisitions with an external trigger).
    """

    def __init__(self, camera: Camera, plan: ArmPlan, *, edge_mode: str = "edge_rising",
                 level_mode: str = "level") -> None:
        self.camera = camera
        self.plan = plan
        self.edge_mode = edge_mode
        self.level_mode = level_mode

    def get_deadtime(self, config_values: SignalDict) -> float:
        """The camera's deadtime between exposures [s] (its readout time at current settings).

        Parameters
        ----------
        config_values : SignalDict
            Unused (the camera is asked directly).

        Returns
        -------
        float
        """
        settings = self.camera.acquisition_settings()
        return max(0.0, settings.frame_period_s - settings.exposure_seconds)

    async def prepare_internal(self, num: int, livetime: float, deadtime: float) -> None:
        """Internal timing: ``num`` frames (0: until stopped) of ``livetime`` (0: unchanged)."""
        await asyncio.to_thread(self._configure, "internal", num, livetime, deadtime)

    async def prepare_edge(self, num: int, livetime: float) -> None:
        """One exposure of ``livetime`` per trigger edge, ``num`` frames."""
        await asyncio.to_thread(self._configure, self.edge_mode, num, livetime, None)

    async def prepare_level(self, num: int) -> None:
        """Exposures as long as the trigger level, ``num`` frames."""
        await asyncio.to_thread(self._configure, self.level_mode, num, 0.0, None)

    async def default_trigger_info(self) -> TriggerInfo:
        """One frame per trigger, internal timing, the current exposure."""
        return TriggerInfo()

    def _configure(self, mode: str, num: int, livetime: float,
                   deadtime: Optional[float]) -> None:
        camera = self.camera
        if mode not in camera.exposure_modes:
            raise ValidationError(f"{camera.name} has no exposure mode {mode!r}; it offers "
                                  f"{', '.join(camera.exposure_modes)}", None, "prepare")
        camera.exposure_mode = mode
        if livetime:
            camera.exposure_time = livetime
        if deadtime:
            minimum = self.get_deadtime(SignalDict())
            if abs(deadtime - minimum) > _DEADTIME_TOLERANCE * max(minimum, 1e-6) + 1e-7:
                raise ValidationError(
                    f"deadtime {deadtime:g} s refused: in internal mode {camera.name} runs "
                    f"frames back to back with its readout of {minimum:g} s between "
                    "exposures (give deadtime=0 or that value; pace slower acquisitions "
                    "with an external trigger)", None, "prepare")
        self.plan.frames = int(num) if num else None
