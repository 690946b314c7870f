"""Finite acquisitions: N frames with ``pl_exp_setup_seq`` / ``pl_exp_start_seq``.

One setup takes at most 65,535 frames (``exp_total`` is uns16) and at most
4 GiB (``exp_bytes`` is uns32), so longer acquisitions are run as consecutive
sequences ("chunks"); the SDK restarts ``FrameNr`` at 1 in each chunk, the
engine numbers frames across the whole acquisition.

Progress is polled with ``pl_exp_check_status`` (``bytes_arrived`` tells how
many frames are complete), so no callback is registered and frames reach a
consumer as they arrive. Frames land directly in the returned stack when there
is no consumer. Every exit path (success, timeout, error, interrupt) ends with
``pl_exp_finish_seq``, preceded by ``pl_exp_abort`` when the sequence did not
complete.
"""
from __future__ import annotations

import logging
import sys
import time
from typing import TYPE_CHECKING, Any, Callable, Optional, Protocol, Union

import numpy as np

from ophyd_pvcam.engine.errors import (AcquisitionError, AcquisitionTimeoutError,
                                       CameraRemovedError, ValidationError)
from ophyd_pvcam.engine.frame import Frame
from ophyd_pvcam.sdk import constants as C
from ophyd_pvcam.sdk.errors import DeviceRemovedError

if TYPE_CHECKING:
    from ophyd_pvcam.engine.camera.settings import AcquisitionSettings


class SequenceCamera(Protocol):
    """What a sequence needs of a camera (:class:`~ophyd_pvcam.engine.camera.camera.Camera` is one).

    A protocol rather than an import: the camera calls this module
    (``Camera.snap``), so this module does not import the camera
    (tests/test_architecture.py: no import circles).
    """

    name: str
    library: Any
    handle: int
    lock: Any

    def acquisition_settings(self, exposure_mode: Union[str, int, None] = None
                             ) -> "AcquisitionSettings": ...

    def begin_acquisition(self, owner: str) -> None: ...

    def end_acquisition(self) -> None: ...

__all__ = ["acquire_sequence", "plan_chunks", "default_frame_timeout",
           "MAX_FRAMES_PER_SEQUENCE", "MAX_SEQUENCE_BYTES", "CONSUMER_CHUNK_BYTES"]

logger = logging.getLogger(__name__)

#: ``exp_total`` of ``pl_exp_setup_seq`` is uns16.
MAX_FRAMES_PER_SEQUENCE = 65535
#: ``exp_bytes`` of ``pl_exp_setup_seq`` is uns32.
MAX_SEQUENCE_BYTES = 2**32 - 1
#: Size of the reusable buffer when frames go to a consumer instead of a stack.
CONSUMER_CHUNK_BYTES = 256 * 2**20

_SOFTWARE_EDGE = int(C.EXT_TRIG_SOFTWARE_EDGE)
_SOFTWARE_FIRST = int(C.EXT_TRIG_SOFTWARE_FIRST)
_TRIGGER_MODE_MASK = 0xFF00  # exp_mode = trigger mode | expose-out mode (low byte)


def plan_chunks(num_frames: int, frame_bytes: int, *,
                max_bytes: int = MAX_SEQUENCE_BYTES) -> list[int]:
    """Split ``num_frames`` into sequence lengths the SDK accepts.

    Parameters
    ----------
    num_frames : int
        Frames wanted (>= 1).
    frame_bytes : int
        Bytes per frame.
    max_bytes : int, optional
        Largest buffer per sequence.

    Returns
    -------
    list of int
        Full chunks of ``min(65535, max_bytes // frame_bytes)`` frames, then the rest.

    Raises
    ------
    ValidationError
        When a single frame exceeds ``max_bytes``.
    """
    per_chunk = min(MAX_FRAMES_PER_SEQUENCE, max_bytes // max(frame_bytes, 1))
    if per_chunk < 1:
        raise ValidationError(f"a {frame_bytes}-byte frame exceeds the {max_bytes}-byte "
                              f"sequence limit", None, "acquire_sequence")
    full, rest = divmod(int(num_frames), per_chunk)
    return [per_chunk] * full + ([rest] if rest else [])


def default_frame_timeout(settings: "AcquisitionSettings") -> float:
    """The default wait for each frame: 5 s + 3 x the estimated frame period.

    Generous on purpose: the period is an estimate and the first frame also
    pays for the setup. With external triggers, pass a timeout that covers
    the longest expected gap between triggers.

    Parameters
    ----------
    settings : AcquisitionSettings

    Returns
    -------
    float
        Seconds.
    """
    return 5.0 + 3.0 * settings.frame_period_s


def acquire_sequence(camera: SequenceCamera, num_frames: int, *, timeout: Optional[float] = None,
                     trigger: Union[str, int, None] = None,
                     consumer: Optional[Callable[[Frame], None]] = None) -> Optional[np.ndarray]:
    """Acquire ``num_frames`` frames with the camera's current settings.

    Parameters
    ----------
    camera : Camera
        An open, idle camera.
    num_frames : int
        Frames to acquire (>= 1; more than 65,535 are taken as consecutive
        sequences).
    timeout : float, optional
        Longest wait, in seconds, for each next frame (from the start, or from
        the previous frame); default :func:`default_frame_timeout`.
    trigger : str or int, optional
        Trigger mode for this acquisition (default: ``camera.exposure_mode``).
        With ``"software_edge"`` the engine sends one ``pl_exp_trigger`` per
        frame, with ``"software_first"`` one per sequence; hardware modes wait
        for external triggers.
    consumer : callable, optional
        Called with each :class:`~ophyd_pvcam.engine.frame.Frame` in order, in
        the calling thread, as frames arrive; then nothing is returned.

    Returns
    -------
    numpy.ndarray or None
        ``(num_frames, height, width)`` stack, or None with a consumer.

    Raises
    ------
    ValidationError
        Invalid frame count, timeout or trigger mode (nothing sent).
    AcquisitionTimeoutError
        No new frame within ``timeout``; the acquisition is aborted.
    AcquisitionError
        The SDK reported a failed readout or an unexpected frame size.
    CameraRemovedError
        The camera disappeared during the acquisition.
    """
    if isinstance(num_frames, bool) or not isinstance(num_frames, (int, np.integer)) \
            or num_frames < 1:
        raise ValidationError(f"num_frames must be an integer >= 1, got {num_frames!r}",
                              None, "acquire_sequence")
    if timeout is not None and not timeout > 0:
        raise ValidationError(f"timeout must be > 0 s, got {timeout!r}", None, "acquire_sequence")
    settings = camera.acquisition_settings(exposure_mode=trigger)
    if len(settings.regions) > 1:
        raise ValidationError("sequences take one region; acquire several regions with a "
                              "Stream", None, "acquire_sequence")
    # Sequences deliver plain stacked pixels: frames without metadata headers (a stream
    # turns metadata on for itself, see Camera.apply_stream_parameters).
    set_metadata = getattr(camera, "set_metadata_enabled", None)
    if set_metadata is not None:
        set_metadata(False)
    frame_wait = float(timeout) if timeout is not None else default_frame_timeout(settings)
    height, width = settings.frame_shape
    frame_bytes = settings.frame_bytes
    if consumer is None:
        chunks = plan_chunks(num_frames, frame_bytes)
        stack: Optional[np.ndarray] = np.empty((int(num_frames), height, width), settings.dtype)
        scratch = None
    else:
        chunks = plan_chunks(num_frames, frame_bytes,
                             max_bytes=max(frame_bytes, CONSUMER_CHUNK_BYTES))
        stack = None
        scratch = np.empty((max(chunks), height, width), settings.dtype)

    camera.begin_acquisition("sequence")
    try:
        done = 0
        for chunk in chunks:
            buffer = stack[done:done + chunk] if stack is not None else scratch[:chunk]
            _run_chunk(camera, settings, buffer, frame_wait, done, consumer)
            done += chunk
    finally:
        camera.end_acquisition()
    return stack


def _run_chunk(camera: SequenceCamera, settings: "AcquisitionSettings", buffer: np.ndarray,
               frame_wait: float, first_index: int,
               consumer: Optional[Callable[[Frame], None]]) -> None:
    """Set up, start, follow and finish one sequence of ``len(buffer)`` frames."""
    library, handle = camera.library, camera.handle
    count = len(buffer)
    frame_bytes = settings.frame_bytes
    with camera.lock:
        total_bytes = library.exp_setup_seq(handle, count, settings.regions, settings.exp_mode,
                                            settings.exposure)
    if total_bytes != count * frame_bytes:
        # Frame metadata or a region the SDK reshaped: the stack would be wrong.
        raise AcquisitionError(f"setup reports {total_bytes} bytes for {count} frames, expected "
                               f"{count * frame_bytes} (is PARAM_METADATA_ENABLED on?)",
                               None, "pl_exp_setup_seq")
    trigger_mode = settings.exp_mode & _TRIGGER_MODE_MASK
    poll = min(0.01, max(0.0005, settings.frame_period_s / 4))
    started = completed = False
    try:
        with camera.lock:
            library.exp_start_seq(handle, buffer)
        started = True
        logger.debug("%s: sequence of %d frames started (exp_mode %#x, exposure %d)",
                     camera.name, count, settings.exp_mode, settings.exposure)
        delivered = triggered = 0
        last_progress = time.monotonic()
        if trigger_mode == _SOFTWARE_FIRST:
            _software_trigger(camera, last_progress + frame_wait)
        while delivered < count:
            if trigger_mode == _SOFTWARE_EDGE and triggered == delivered:
                _software_trigger(camera, last_progress + frame_wait)
                triggered += 1
            with camera.lock:
                status, arrived = library.exp_check_status(handle)
            if status == int(C.READOUT_FAILED):
                raise AcquisitionError(f"readout failed after {first_index + delivered} frames",
                                       None, "pl_exp_check_status")
            ready = min(arrived // frame_bytes, count)
            if ready > delivered:
                if consumer is not None:
                    for i in range(delivered, ready):
                        consumer(Frame(frame_number=first_index + i + 1, data=buffer[i].copy(),
                                       host_time=time.time(), index=first_index + i))
                delivered = ready
                last_progress = time.monotonic()
            elif time.monotonic() - last_progress > frame_wait:
                raise AcquisitionTimeoutError(
                    f"{camera.name}: no frame for {frame_wait:.3g} s after "
                    f"{first_index + delivered} of the requested frames (status {status}, "
                    f"trigger {settings.exposure_mode})", None, "acquire_sequence")
            else:
                time.sleep(poll)
        completed = True
    except DeviceRemovedError as exc:
        raise CameraRemovedError(f"{camera.name} was removed during a sequence", exc.code,
                                 exc.call) from exc
    finally:
        _finish(camera, buffer, started, completed)


def _software_trigger(camera: SequenceCamera, deadline: float) -> None:
    """Send ``pl_exp_trigger`` until the camera accepts it (it ignores it while exposing)."""
    while True:
        with camera.lock:
            flags = camera.library.exp_trigger(camera.handle)
        if flags == int(C.PL_SW_TRIG_STATUS_TRIGGERED):
            return
        if time.monotonic() > deadline:
            raise AcquisitionTimeoutError(f"{camera.name} kept ignoring the software trigger "
                                          f"(flags {flags})", None, "pl_exp_trigger")
        time.sleep(0.0005)


def _finish(camera: SequenceCamera, buffer: np.ndarray, started: bool, completed: bool) -> None:
    """Leave the camera idle: abort an unfinished sequence, then finish it.

    Runs inside ``finally``: when an error is already propagating, a cleanup
    failure is logged rather than replacing it; otherwise the first one is raised.
    """
    if not started:
        return
    propagating = sys.exc_info()[0] is not None
    failures: list[Exception] = []
    with camera.lock:
        steps = [] if completed else [(camera.library.exp_abort, int(C.CCS_HALT))]
        steps.append((camera.library.exp_finish_seq, buffer))
        for call, argument in steps:
            try:
                call(camera.handle, argument)
            except Exception as exc:  # noqa: BLE001 - reported below
                failures.append(exc)
    for exc in failures[1:] if not propagating else failures:
        logger.error("%s: cleanup after a sequence failed: %s", camera.name, exc)
    if failures and not propagating:
        raise failures[0]
