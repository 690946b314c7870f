"""The pre-flight of a run into a destination, and what a finished run tells the sink cache.

Shared by the in-process detector (:mod:`ophyd_pvcam.device.losspolicy`) and
the EPICS server (``OnLoss`` / ``OnPredictedLoss``), which must not import
``ophyd_pvcam.device`` (ophyd's control layer would open Channel Access
sockets inside the server): one prediction, one set of policy names.

:func:`predict_run` joins the engine's :func:`~ophyd_pvcam.engine.preflight.predict`
with this destination's sink rate (:func:`~ophyd_pvcam.storage.sink.sink_rate`),
the RAM budget (:func:`~ophyd_pvcam.engine.budget.host_memory_budget`) and the
free disk space; :func:`note_run` caps later predictions at the rate a run
that fell behind really sustained.
"""
from __future__ import annotations

import os
from typing import Any, Optional, Union

from ophyd_pvcam.engine.budget import host_memory_budget
from ophyd_pvcam.engine.errors import ValidationError
from ophyd_pvcam.engine.preflight import Prediction, predict
from ophyd_pvcam.engine.camera import AcquisitionSettings
from ophyd_pvcam.engine.stream import plan_buffer_frames
from ophyd_pvcam.storage.sink import free_disk_bytes, note_frame_path_rate, sink_rate

__all__ = ["PREDICTED_LOSS_POLICIES", "LOSS_POLICIES", "HOST_LOSS_REASONS", "predict_run",
           "note_run"]

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
        The run's :class:`~ophyd_pvcam.engine.stream.stats.StreamStats`.
    """
    reasons = dict(getattr(stats, "lost_by_reason", None) or {})
    host_lost = sum(int(reasons.get(reason, 0)) for reason in HOST_LOSS_REASONS)
    frame_bytes = int(getattr(stats, "frame_bytes", 0) or 0)
    if frame_bytes > 0:
        note_frame_path_rate(destination, frame_bytes, float(stats.rate_fps) * frame_bytes,
                             host_lost=host_lost)
