"""The server's records as the client sees them, and how a server error becomes an exception.

:class:`RemoteCam`, :class:`RemoteHDF5` and :class:`RemotePreview` are the
low-level ``cam1:``, ``HDF1:`` and ``image1:`` records
:class:`~ophyd_pvcam.ioc.client.detector.RemotePVCAMDetector` drives (not read in
events). :func:`remote_error` rebuilds the engine's exception from the
server's ``StatusMessage_RBV`` and ``LastError_RBV``.
"""
from __future__ import annotations

import logging
from typing import Optional

import numpy as np
from ophyd import Component as Cpt
from ophyd import Device, EpicsSignal, EpicsSignalRO
from ophyd.status import Status
from ophyd.utils.errors import InvalidState

from ophyd_pvcam.device.status import FrameProgressStatus
from ophyd_pvcam.engine.errors import (
    AcquisitionError,
    CameraRemovedError,
    FramesLostError,
    PredictedLossError,
    StallError,
)

from .signals import CheckedSignal

__all__ = ["RemoteCam", "RemoteHDF5", "RemotePreview", "RemoteStats", "remote_error", "end_status"]

logger = logging.getLogger(__name__)

_HDF = "hdf1.write_message"


def remote_error(message: str, detail: str = "") -> Exception:
    """Rebuild the engine error a server reported (``StatusMessage_RBV`` / ``LastError_RBV``).

    Parameters
    ----------
    message : str
        ``StatusMessage_RBV``: ``"STALL: ..."``, ``"REMOVED: ..."``, ``"LOST: ..."``
        (``OnLoss`` = fail), ``"REFUSED: ..."`` (``OnPredictedLoss`` = refuse) or
        ``"FAILED: ..."``.
    detail : str
        ``LastError_RBV``: the message then ``key: value`` diagnostic lines.

    Returns
    -------
    Exception
        :class:`StallError` (with the server's diagnostics as strings),
        :class:`CameraRemovedError`, :class:`FramesLostError` (with the counts of
        the server's diagnostics), :class:`PredictedLossError` or
        :class:`AcquisitionError`.
    """
    lines = detail.splitlines() if detail else []
    diagnostics = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    if lines and ":" in message and lines[0].startswith(message.split(":", 1)[0] + ":"):
        message = lines[0]   # the whole message (StatusMessage_RBV holds 255 characters)
    text = message.split(":", 1)[1].strip() if ":" in message else message
    if message.startswith("STALL:"):
        return StallError(text, diagnostics, "server")
    if message.startswith("REMOVED:"):
        return CameraRemovedError(text, None, "server")
    if message.startswith("LOST:"):
        first = diagnostics.get("first_lost_frame", "None")
        return FramesLostError(text, _count(diagnostics.get("frames_lost")),
                               int(first) if first.isdigit() else None,
                               _count(diagnostics.get("frames_kept")), "server")
    if message.startswith("REFUSED:"):
        return PredictedLossError(text, None, "server")
    return AcquisitionError(text or "acquisition failed on the server", None, "server")


def _count(text: Optional[str]) -> int:
    return int(text) if text is not None and text.isdigit() else 0


class RemoteCam(Device):
    """The ``cam1:`` records the client drives (low level; not read in events)."""

    acquire = Cpt(EpicsSignal, "Acquire")
    acquire_rbv = Cpt(EpicsSignalRO, "Acquire_RBV")
    detector_state = Cpt(EpicsSignalRO, "DetectorState_RBV", string=True)
    status_message = Cpt(EpicsSignalRO, "StatusMessage_RBV", string=True)
    last_error = Cpt(EpicsSignalRO, "LastError_RBV", string=True)
    image_mode = Cpt(CheckedSignal, "ImageMode", string=True)
    num_images = Cpt(CheckedSignal, "NumImages")
    array_callbacks = Cpt(CheckedSignal, "ArrayCallbacks", string=True)
    min_x = Cpt(CheckedSignal, "MinX")
    min_y = Cpt(CheckedSignal, "MinY")
    size_x = Cpt(CheckedSignal, "SizeX")
    size_y = Cpt(CheckedSignal, "SizeY")
    bin_x = Cpt(CheckedSignal, "BinX")
    bin_y = Cpt(CheckedSignal, "BinY")
    max_size_x = Cpt(EpicsSignalRO, "MaxSizeX_RBV")
    max_size_y = Cpt(EpicsSignalRO, "MaxSizeY_RBV")
    array_size_x = Cpt(EpicsSignalRO, "ArraySizeX_RBV")
    array_size_y = Cpt(EpicsSignalRO, "ArraySizeY_RBV")
    data_type = Cpt(EpicsSignalRO, "DataType_RBV", string=True)
    frame_period = Cpt(EpicsSignalRO, "FramePeriod_RBV")
    array_rate = Cpt(EpicsSignalRO, "ArrayRate_RBV")
    model = Cpt(EpicsSignalRO, "Model_RBV", string=True)
    chip_name = Cpt(EpicsSignalRO, "ChipName_RBV", string=True)
    lost_frames = Cpt(EpicsSignalRO, "LostFrames_RBV")
    stalls = Cpt(EpicsSignalRO, "Stalls_RBV")
    sim_faults = Cpt(CheckedSignal, "SimFaults", string=True, lazy=True)


class RemoteHDF5(Device):
    """The ``HDF1:`` records the client drives (low level)."""

    enable = Cpt(CheckedSignal, "EnableCallbacks", string=True, message=_HDF)
    write_root = Cpt(EpicsSignalRO, "WriteRoot_RBV", string=True)
    file_path = Cpt(CheckedSignal, "FilePath", string=True, message=_HDF)
    file_name = Cpt(CheckedSignal, "FileName", string=True, message=_HDF)
    file_template = Cpt(CheckedSignal, "FileTemplate", string=True, message=_HDF)
    file_number = Cpt(CheckedSignal, "FileNumber", message=_HDF)
    auto_increment = Cpt(CheckedSignal, "AutoIncrement", string=True, message=_HDF)
    file_write_mode = Cpt(CheckedSignal, "FileWriteMode", string=True, message=_HDF)
    num_capture = Cpt(CheckedSignal, "NumCapture", message=_HDF)
    create_directory = Cpt(CheckedSignal, "CreateDirectory", message=_HDF)
    compression = Cpt(CheckedSignal, "Compression", string=True, message=_HDF)
    capture = Cpt(CheckedSignal, "Capture", string=True, message=_HDF)
    full_file_name = Cpt(EpicsSignalRO, "FullFileName_RBV", string=True)
    num_captured = Cpt(EpicsSignalRO, "NumCaptured_RBV")
    num_written = Cpt(EpicsSignalRO, "NumWritten_RBV")
    write_status = Cpt(EpicsSignalRO, "WriteStatus", string=True)
    write_message = Cpt(EpicsSignalRO, "WriteMessage", string=True)


class RemoteStats(Device):
    """The ``Stats1:`` records: sum, mean and max of each acquisition's last frame."""

    total = Cpt(EpicsSignalRO, "Total_RBV")
    mean_value = Cpt(EpicsSignalRO, "MeanValue_RBV")
    max_value = Cpt(EpicsSignalRO, "MaxValue_RBV")
    unique_id = Cpt(EpicsSignalRO, "UniqueId_RBV")
    time_stamp = Cpt(EpicsSignalRO, "TimeStamp_RBV")

    def statistics(self) -> Optional[dict[str, float]]:
        """The latest values as ``{"sum", "mean", "max", "timestamp"}`` (``None`` before any).

        Returns
        -------
        dict or None
        """
        if not int(self.unique_id.get()):
            return None
        return {"sum": float(self.total.get()), "mean": float(self.mean_value.get()),
                "max": float(self.max_value.get()), "timestamp": float(self.time_stamp.get())}


class RemotePreview(Device):
    """The ``image1:`` preview records."""

    array_data = Cpt(EpicsSignalRO, "ArrayData")
    width = Cpt(EpicsSignalRO, "ArraySize0_RBV")
    height = Cpt(EpicsSignalRO, "ArraySize1_RBV")
    array_counter = Cpt(EpicsSignalRO, "ArrayCounter_RBV")
    unique_id = Cpt(EpicsSignalRO, "UniqueId_RBV")
    decimation = Cpt(EpicsSignalRO, "Decimation_RBV")
    min_callback_time = Cpt(CheckedSignal, "MinCallbackTime", message="preview.write_message")
    write_message = Cpt(EpicsSignalRO, "WriteMessage", string=True)

    def image(self) -> np.ndarray:
        """The latest preview as a 2-D ``uint16`` array.

        Returns
        -------
        numpy.ndarray
        """
        height, width = int(self.height.get()), int(self.width.get())
        data = np.asarray(self.array_data.get(), dtype=np.int16)
        return data[:height * width].view(np.uint16).reshape(height, width)


class _Run:
    """One remote acquisition (a trigger, or a fly across pauses)."""

    def __init__(self, status: FrameProgressStatus, target: Optional[int], initial: int):
        self.status = status
        self.target = target
        self.initial = initial
        self.paused = False
        self.cancel_reason: Optional[str] = None

    @property
    def done(self) -> bool:
        return self.status.done


def end_status(status: Status, error: Optional[BaseException]) -> None:
    """Finish or fail ``status`` unless something (e.g. its timeout) already ended it."""
    try:
        if error is None:
            status.set_finished()
        else:
            status.set_exception(error)
    except InvalidState:
        logger.debug("%r already ended; not ending it again with %r", status, error)
