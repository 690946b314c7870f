"""The stall diagnosis and the restart record of a stream, as plain data and text.

:func:`describe_stall` turns a :meth:`~ophyd_pvcam.engine.stream.health.HealthMonitor.diagnostics`
snapshot into the readable paragraph a :class:`~ophyd_pvcam.engine.errors.StallError`
carries; :func:`status_name` names the SDK's acquisition status values in it;
:class:`Discontinuity` records one restart of the acquisition inside a stream.
Nothing here touches the SDK, a thread or a clock.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

__all__ = ["Discontinuity", "describe_stall", "status_name"]

_STATUS_NAMES = {
    0: "READOUT_NOT_ACTIVE",
    1: "EXPOSURE_IN_PROGRESS",
    2: "READOUT_IN_PROGRESS",
    3: "FRAME_AVAILABLE",
    4: "READOUT_FAILED",
    5: "ACQUISITION_IN_PROGRESS",
}


def status_name(status: Optional[int]) -> str:
    """Return the name of a ``pl_exp_check_cont_status`` status value.

    Parameters
    ----------
    status : int or None
        The status, None when it could not be read.

    Returns
    -------
    str
        E.g. ``"EXPOSURE_IN_PROGRESS"``; ``"unknown"`` for None, ``"STATUS_<n>"``
        for values outside the header's list.
    """
    if status is None:
        return "unknown"
    return _STATUS_NAMES.get(int(status), f"STATUS_{int(status)}")



@dataclass(frozen=True)
class Discontinuity:
    """One restart of the acquisition inside a stream.

    Attributes
    ----------
    reason : str
        ``"overrun"`` (error 173 in CIRC_NO_OVERWRITE) or ``"stall"`` (recovery).
    first_frame : int
        Stream frame number that SDK ``FrameNr`` 1 of the new acquisition gets.
    sdk_last_frame : int
        Last ``FrameNr`` the previous acquisition was known to have produced.
    frames_lost : int
        Frames of the previous acquisition counted lost by this restart.
    monotonic_time : float
        When the restart was recorded.
    """

    reason: str
    first_frame: int
    sdk_last_frame: int
    frames_lost: int
    monotonic_time: float


def describe_stall(diag: Mapping[str, Any]) -> str:
    """Turn a diagnostics snapshot into a readable one-paragraph diagnosis.

    Parameters
    ----------
    diag : mapping
        From :meth:`HealthMonitor.diagnostics`.

    Returns
    -------
    str
        Names the camera and the last frame, states the counts and the SDK
        status, and says which side stopped.
    """
    camera = diag.get("camera") or "camera"
    last = int(diag.get("last_frame_number", 0))
    after = f"after frame {last}" if last else "before the first frame"
    waited = float(diag.get("seconds_since_last_frame", 0.0))
    timeout = float(diag.get("stall_timeout", 0.0))
    count = int(diag.get("consecutive_timeouts", diag.get("stall_count", 0)))
    signalled = diag.get("frames_signalled")
    retrieved = int(diag.get("frames_retrieved", 0))
    delivered = diag.get("frames_delivered", "?")
    lost = int(diag.get("frames_lost", 0))
    status = diag.get("sdk_status_name") or status_name(diag.get("sdk_status"))
    fill = diag.get("buffer_fill")
    capacity = diag.get("buffer_frames")
    mode = diag.get("buffer_mode") or "unknown buffer mode"
    callbacks = diag.get("use_callbacks", True)
    sdk_latest = diag.get("sdk_latest_frame")
    last_sdk = diag.get("last_sdk_frame")

    counts = (f"{signalled} signalled by the EOF callback, " if callbacks and signalled is not None
              else "polling (no callbacks), ")
    counts += f"{retrieved} retrieved, {delivered} delivered, {lost} lost"
    buffer = (f"SDK buffer {fill}/{capacity} frames filled" if fill is not None and capacity
              else "SDK buffer fill unknown")
    text = (f"Camera {camera!s} stalled: no frame for {waited:.2f} s {after} "
            f"({count} consecutive waits of {timeout:.2f} s). Frames: {counts}. "
            f"SDK status {status}, {buffer}, {mode}.")

    if status == "READOUT_FAILED":
        cause = "The SDK reports READOUT_FAILED: the camera or its link failed during readout."
    elif status == "READOUT_NOT_ACTIVE":
        cause = "The acquisition is no longer running in the SDK (READOUT_NOT_ACTIVE)."
    elif isinstance(fill, int) and fill > 0:
        cause = (f"The SDK buffer holds {fill} unretrieved frame(s) the engine could not read: "
                 "the frame getters are failing.")
    elif (callbacks and isinstance(sdk_latest, int) and isinstance(last_sdk, int)
          and sdk_latest > last_sdk):
        # FrameNr against FrameNr: the callback count lags FrameNr by every
        # dropped frame, so comparing the two would blame the callbacks.
        cause = (f"EOF callbacks stopped: the SDK counted frames up to FrameNr {sdk_latest}, "
                 f"the last frame the callbacks brought was FrameNr {last_sdk}.")
    elif callbacks:
        cause = (f"The camera stopped producing frames: neither the SDK frame counter nor "
                 f"the EOF callback moved {after}.")
    else:
        cause = f"The camera stopped producing frames: the SDK frame counter did not move {after}."
    return f"{text} {cause}"
