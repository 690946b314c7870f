"""The served camera's loss policies: ``OnLoss`` and ``OnPredictedLoss``.

The same names, values and meaning as the in-process detector's
``on_loss`` / ``on_predicted_loss`` (:mod:`ophyd_pvcam.device.losspolicy`),
built from the same engine and storage pieces. The server does not import
``ophyd_pvcam.device``: that package imports ophyd, whose control layer would
start a Channel Access client (sockets on every interface) inside the server.
tests/ioc/server/core/test_losspolicy.py pins both to the device's.
"""
from __future__ import annotations

import os
from typing import Any, Optional, Union

from ophyd_pvcam.engine.budget import host_memory_budget
from ophyd_pvcam.engine.buffers import plan_buffer_frames
from ophyd_pvcam.engine.errors import ValidationError
from ophyd_pvcam.engine.preflight import Prediction, predict
from ophyd_pvcam.engine.settings import AcquisitionSettings
from ophyd_pvcam.storage.sink import free_disk_bytes, sink_rate

__all__ = ["LOSS_POLICIES", "PREDICTED_LOSS_POLICIES", "predict_acquisition"]

#: ``OnLoss`` menu: count lost frames and go on, or end the acquisition at the first.
LOSS_POLICIES = ("record", "fail")
#: ``OnPredictedLoss`` menu: log a predicted loss and acquire, or refuse to start.
PREDICTED_LOSS_POLICIES = ("warn", "refuse")


def predict_acquisition(settings: AcquisitionSettings, num_frames: Optional[int],
                        destination: Union[str, "os.PathLike[str]"]) -> Prediction:
    """The pre-flight prediction of ``num_frames`` frames into ``destination``.

    As :func:`ophyd_pvcam.device.losspolicy.predict_run` (uncompressed: the
    safe assumption).

    Parameters
    ----------
    settings : AcquisitionSettings
        The camera's settings for the acquisition.
    num_frames : int or None
        Frames asked for; None for an open-ended acquisition (``Continuous``).
    destination : path-like
        The directory the file goes to (``HDF1:FilePath``).

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
        # The host fell behind before: the SDK ring, not the RAM budget, holds the backlog.
        try:
            ring = plan_buffer_frames(settings.frame_bytes, settings.frame_period_s)
        except ValidationError:
            ring = 1
        buffer = {"buffer_bytes": ring * settings.frame_bytes, "buffer_name": "SDK ring"}
    return predict(settings, num_frames, sink_bytes_per_s=rate.bytes_per_s,
                   ram_budget_bytes=host_memory_budget(),
                   disk_free_bytes=free_disk_bytes(destination),
                   sink_source=rate.source, **buffer)
