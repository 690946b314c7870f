"""What the detector does about frame loss: predicted before arming, and seen while acquiring.

Two settings of :class:`~ophyd_pvcam.device.detector.PVCAMDetector`:

``on_predicted_loss`` (:data:`PREDICTED_LOSS_POLICIES`)
    Checked when an acquisition starts (``trigger``, ``kickoff``), before
    the camera moves: the pre-flight budget
    (:func:`ophyd_pvcam.engine.preflight.predict`) of the frames asked for,
    from the camera's settings, the destination's sink rate
    (:func:`ophyd_pvcam.storage.sink.sink_rate`), the RAM budget
    (:func:`ophyd_pvcam.engine.budget.host_memory_budget`) and the free disk
    space. ``"warn"`` (default) logs the prediction once per staging;
    ``"refuse"`` raises :class:`~ophyd_pvcam.engine.errors.PredictedLossError`
    and nothing starts.
``on_loss`` (:data:`LOSS_POLICIES`)
    ``"record"`` (default): lost frames are counted (``frames_lost``, the
    file's ``lost_before``) and the run goes on; ``"fail"``: the status fails
    with :class:`~ophyd_pvcam.engine.errors.FramesLostError` at the first lost
    frame, the frames captured kept in the file. Either way
    :func:`ophyd_pvcam.plans.report_losses` names the loss in the stop
    document's ``reason``.

The prediction and the policy names live in :mod:`ophyd_pvcam.storage.preflight`
(the EPICS server uses them too) and are re-exported here. After every stream
run, :func:`note_run` tells the sink cache when the host
fell behind the camera (frames overwritten in the SDK's ring), so the next
prediction of that frame size uses the rate the host really sustained.
"""
from __future__ import annotations

import logging
from typing import Optional

from ophyd_pvcam.engine.errors import PredictedLossError
from ophyd_pvcam.engine.preflight import Prediction
from ophyd_pvcam.storage.preflight import (HOST_LOSS_REASONS, LOSS_POLICIES,
                                           PREDICTED_LOSS_POLICIES, note_run, predict_run)

__all__ = ["PREDICTED_LOSS_POLICIES", "LOSS_POLICIES", "HOST_LOSS_REASONS", "predict_run",
           "note_run", "PredictedLossGuard"]

logger = logging.getLogger(__name__)


class PredictedLossGuard:
    """Applies ``on_predicted_loss`` to predictions: warn once per staging, or refuse.

    Parameters
    ----------
    name : str
        Device name (messages).
    """

    def __init__(self, name: str):
        self.name = name
        self._warned = False
        #: The last prediction checked (None before the first).
        self.last: Optional[Prediction] = None

    def reset(self) -> None:
        """Start a new staging: the next predicted loss is warned about again."""
        self._warned = False

    def check(self, prediction: Prediction, policy: str, call: str) -> None:
        """Let a loss-free prediction pass; warn about or refuse a predicted loss.

        Parameters
        ----------
        prediction : Prediction
        policy : {"warn", "refuse"}
        call : str
            The operation being started (``"kickoff"``, ``"trigger"``).

        Raises
        ------
        PredictedLossError
            When the prediction is a loss and the policy is ``"refuse"``.
        """
        self.last = prediction
        if prediction.fits:
            logger.debug("%s: %s", self.name, prediction)
            return
        if policy == "refuse":
            raise PredictedLossError(f"{self.name}: {prediction} (on_predicted_loss='refuse')",
                                     prediction, call)
        if not self._warned:
            self._warned = True
            logger.warning("%s: %s (on_predicted_loss='warn': acquiring anyway)", self.name,
                           prediction)
