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

After every stream run, :func:`note_run` tells the sink cache when the host
fell behind the camera (frames overwritten in the SDK's ring), so the next
prediction of that frame size uses the rate the host really sustained.
"""
from __future__ import annotations

import logging
import os
from typing import Any, Optional, Union

from ophyd_pvcam.engine.budget import host_memory_budget
from ophyd_pvcam.engine.buffers import plan_buffer_frames
from ophyd_pvcam.engine.errors import PredictedLossError, ValidationError
from ophyd_pvcam.engine.preflight import Prediction, predict
from ophyd_pvcam.engine.settings import AcquisitionSettings
from ophyd_pvcam.storage.sink import free_disk_bytes, note_frame_path_rate, sink_rate

__all__ = ["PREDICTED_LOSS_POLICIES", "LOSS_POLICIES", "HOST_LOSS_REASONS", "predict_run",
           "note_run", "PredictedLossGuard"]

logger = logging.getLogger(__name__)

#: Values of ``on_predicted_loss``: log the prediction, or refuse the acquisition.
PREDICTED_LOSS_POLICIES = ("warn", "refuse")
#: Values of ``on_loss``: count lost frames and go on, or fail the status at the first.
LOSS_POLICIES = ("record", "fail")
#: ``StreamStats.lost_by_reason`` causes that mean the host fell behind (not the camera).
HOST_LOSS_REASONS = ("overwritten", "overrun")


def predict_run(settings: AcquisitionSettings, num_frames: Optional[int],
                destination: Union[str, os.PathLike], *,
                compression_ratio: float = 1.0) -> Prediction:
    """The pre-flight prediction of ``num_frames`` frames into ``destination``.

    Parameters
    ----------
    settings : AcquisitionSettings
        The camera's settings for the acquisition.
    num_frames : int or None
        Frames asked for; None (or 0) for an open-ended acquisition.
    destination : path-like
        The directory the file goes to (it need not exist yet).
    compression_ratio : float
        Expected raw : stored ratio (1.0: uncompressed, the safe assumption).

    Returns
    -------
    Prediction

    Raises
    ------
    ValidationError
        For a malformed ``PVCAM_SINK_RATE`` or ``PVCAM_HOST_MEMORY_BUDGET``.
    StorageError
        When the sink must be measured and cannot be.
    """
    rate = sink_rate(destination, frame_bytes=settings.frame_bytes)
    buffer: dict[str, Any] = {}
    if rate.source == "observed":
        # Frames were overwritten in the SDK's ring before the host read them:
        # the ring, not the RAM budget, is what holds the backlog.
        try:
            ring = plan_buffer_frames(settings.frame_bytes, settings.frame_period_s)
        except ValidationError:
            ring = 1
        buffer = {"buffer_bytes": ring * settings.frame_bytes, "buffer_name": "SDK ring"}
    return predict(settings, num_frames, sink_bytes_per_s=rate.bytes_per_s,
                   ram_budget_bytes=host_memory_budget(),
                   disk_free_bytes=free_disk_bytes(destination),
                   compression_ratio=compression_ratio, sink_source=rate.source, **buffer)


def note_run(destination: Union[str, os.PathLike], stats: Any) -> None:
    """Tell the sink cache what a finished stream run's frame path sustained.

    A run that lost frames because the host fell behind (:data:`HOST_LOSS_REASONS`)
    caps later predictions of its frame size at the rate it delivered
    (:func:`~ophyd_pvcam.storage.sink.note_frame_path_rate`); frames the
    camera skipped say nothing about the host.

    Parameters
    ----------
    destination : path-like
        Where its frames went.
    stats : StreamStats
        The run's :class:`~ophyd_pvcam.engine.stats.StreamStats`.
    """
    reasons = dict(getattr(stats, "lost_by_reason", None) or {})
    host_lost = sum(int(reasons.get(reason, 0)) for reason in HOST_LOSS_REASONS)
    frame_bytes = int(getattr(stats, "frame_bytes", 0) or 0)
    if frame_bytes > 0:
        note_frame_path_rate(destination, frame_bytes, float(stats.rate_fps) * frame_bytes,
                             host_lost=host_lost)


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
