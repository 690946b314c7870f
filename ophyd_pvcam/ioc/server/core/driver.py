"""The engine side of one served camera: settings, acquisitions, counters, preview.

:class:`CameraDriver` knows nothing of EPICS. The record groups
(:mod:`ophyd_pvcam.ioc.server.cam`, :mod:`~ophyd_pvcam.ioc.server.hdf`, :mod:`~ophyd_pvcam.ioc.server.image`) call it from executor threads and
poll its :meth:`~CameraDriver.status` snapshot; it drives the engine directly
(:class:`~ophyd_pvcam.engine.camera.camera.Camera`, :class:`~ophyd_pvcam.engine.stream.stream.Stream`)
and hands frames to a :class:`~.capture.CaptureFile` and a :class:`PreviewSlot`.

Settings
    :meth:`CameraDriver.apply` validates and applies one setting by its
    Pythonic key (:data:`SETTING_KEYS`) and returns what the camera then
    reports. Invalid values raise :class:`~ophyd_pvcam.engine.errors.ValidationError`
    with nothing applied. Each accepted camera setting is remembered, so a
    camera reopened after removal gets them back.

Acquisitions
    :meth:`CameraDriver.acquire` blocks for one acquisition (Single: 1 frame,
    Multiple: ``num_images``, Continuous: until :meth:`CameraDriver.stop`)
    and returns an :class:`AcquisitionResult`. A stall or a removal ends it
    with the engine's diagnosis, bumps a counter and leaves the driver
    usable; after a removal the camera is closed (which releases the SDK
    session, so the next acquisition re-initialises the SDK and reopens it).

Loss policies (those of the in-process detector; see :mod:`ophyd_pvcam.storage.preflight`)
    Before the stream starts, the pre-flight budget of the acquisition's
    frames into ``HDF1:FilePath`` is checked: ``on_predicted_loss="warn"``
    logs a predicted loss (once until the prediction changes) and acquires;
    ``"refuse"`` ends the acquisition ``"refused"`` with
    :class:`~ophyd_pvcam.engine.errors.PredictedLossError`, the camera never
    started. While acquiring, ``on_loss="record"`` counts lost frames;
    ``"fail"`` stops the stream at the first lost frame and ends the
    acquisition ``"lost"`` with :class:`~ophyd_pvcam.engine.errors.FramesLostError`,
    the frames delivered kept in the file.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Optional


from ophyd_pvcam.engine.camera import Camera
from ophyd_pvcam.engine.errors import (
    AcquisitionError,
    CameraRemovedError,
    FramesLostError,
    PredictedLossError,
    StallError,
)
from ophyd_pvcam.engine.frame import Frame
from ophyd_pvcam.engine.stream import frame_statistics
from ophyd_pvcam.engine.camera import AcquisitionSettings
from ophyd_pvcam.engine.stream import Stream, StreamState
from ophyd_pvcam.sdk.errors import DeviceRemovedError, PVCAMError
from ophyd_pvcam.storage.preflight import predict_run

from .capture import CaptureFile
from .preview import Preview, PreviewSlot
from .settings import (
    BUFFER_MODES,
    CAMERA_SETTINGS,
    IMAGE_MODES,
    SETTING_KEYS,
    SettingsMixin,
    _sim,
    display_name,
)

__all__ = [
    "CameraDriver",
    "AcquisitionResult",
    "DriverStatus",
    "Preview",
    "PreviewSlot",
    "IMAGE_MODES",
    "BUFFER_MODES",
    "SETTING_KEYS",
    "display_name",
]

logger = logging.getLogger(__name__)

# Longest wait of the acquisition thread between looks at the stream's state [s]
# (it is woken at once by the stream's end and, under on_loss="fail", by a lost frame).
_WAKE_POLL_S = 0.5

@dataclass(frozen=True)
class AcquisitionResult:
    """How one acquisition ended.

    Attributes
    ----------
    state : str
        ``"complete"``, ``"stopped"``, ``"stalled"``, ``"removed"``, ``"failed"``,
        ``"lost"`` (``on_loss="fail"`` ended it at a lost frame) or ``"refused"``
        (``on_predicted_loss="refuse"``: predicted to lose frames, never started).
    frames : int
        Frames delivered.
    lost : int
        Frames lost or dropped (engine count).
    message : str
        One line for ``StatusMessage_RBV``.
    error : BaseException or None
        The engine error (StallError, CameraRemovedError, ...).
    diagnostics : dict
        The stall diagnosis; for ``"lost"``: ``frames_lost``, ``first_lost_frame``
        and ``frames_kept`` (empty otherwise).
    statistics : dict or None
        Sum, mean and max of the last frame of an acquisition of known length
        that delivered all its frames (``Stats1:``), else ``None``.
    """

    state: str
    frames: int
    lost: int
    message: str
    error: Optional[BaseException] = None
    diagnostics: dict = field(default_factory=dict)
    statistics: Optional[dict] = None

    @property
    def ok(self) -> bool:
        """True when the acquisition completed or was stopped on request."""
        return self.state in ("complete", "stopped")


@dataclass(frozen=True)
class DriverStatus:
    """Counters and state for the read-back records (a snapshot).

    Attributes
    ----------
    acquiring : bool
    connected : bool
        False after a removal, until the camera is reopened.
    array_counter : int
        Frames delivered since start-up (or the last reset).
    images : int
        Frames of the current (or last) acquisition.
    lost_frames, stalls, removals, recoveries, failures : int
        Totals since start-up.
    """

    acquiring: bool
    connected: bool
    array_counter: int
    images: int
    lost_frames: int
    stalls: int
    removals: int
    recoveries: int
    failures: int


class CameraDriver(SettingsMixin):
    """One camera served over EPICS: settings, acquisitions, counters.

    Parameters
    ----------
    name : str
        SDK camera name (e.g. ``"pvcamUSB_0"``).
    library : PVCAMLibrary
        The loaded SDK.
    write_root : path-like
        Directory every frame file goes under.
    preview_size : int
        Largest side of the preview image.
    preview_rate : float
        Largest preview rate [Hz].
    """

    def __init__(self, name: str, library: Any, *, write_root: Any,
                 preview_size: int = 256, preview_rate: float = 5.0):
        self.name = name
        self.library = library
        self.preview = PreviewSlot(preview_size, preview_rate)
        self.capture = CaptureFile(Path(write_root), device=name, attributes=self._attributes)
        self._camera: Optional[Camera] = None
        self._lock = threading.RLock()
        self._counter_lock = threading.Lock()
        self._stream: Optional[Stream] = None
        self._acquiring = False
        self._stop_requested = False
        self._camera_settings: dict[str, Any] = {}
        self._file_attributes: dict[str, Any] = {}
        self.simulated = _is_simulator(library)
        # Driver settings (areaDetector defaults where there is one).
        self.acquire_period = 0.0
        self.image_mode = "Single"
        self.num_images = 1
        self.num_exposures = 1
        self.buffer_mode = "Auto"
        self.stall_timeout = 0.0
        self.stall_count = 3
        self.max_recoveries = 0
        self.array_callbacks = True
        self.sim_faults = ""
        self.on_loss = "record"
        self.on_predicted_loss = "warn"
        self._warned_prediction = ""
        #: ``listener(frame, unique_id)`` called for every frame on the engine's
        #: delivery thread (e.g. the PVA publisher); must not block.
        self.frame_listeners: list[Callable[[Frame, int], None]] = []
        # Counters.
        self._array_counter = 0
        self._images = 0
        self._target: Optional[int] = None       # frames of the running acquisition, if known
        self._last_statistics: Optional[dict] = None
        self._first_lost: Optional[int] = None   # FrameNr of the first frame lost, this acquisition
        self._wake = threading.Event()            # the stream ended, or a frame was lost
        self._lost_total = 0
        self._lost_live = 0
        self._stalls = 0
        self._removals = 0
        self._recoveries = 0
        self._failures = 0

    # ------------------------------------------------------------ life
    def open(self) -> Camera:
        """Open the camera (the first time, or again after a removal).

        Returns
        -------
        Camera

        Raises
        ------
        PVCAMError
            When the camera cannot be opened or a remembered setting is refused.
        """
        with self._lock:
            if self._camera is not None and not self._camera.closed:
                return self._camera
            camera = Camera.open(self.name, self.library)
            try:
                for key in CAMERA_SETTINGS:
                    if key in self._camera_settings:
                        self._apply_camera(camera, key, self._camera_settings[key])
            except BaseException:
                camera.close()
                raise
            self._camera = camera
            if self.simulated and self.sim_faults:
                _sim().set_faults(self.sim_faults)
            return camera

    def close(self) -> None:
        """Stop any acquisition, close the file and the camera.

        Raises
        ------
        PVCAMError
            The camera's close error (the file is closed first regardless).
        """
        self.stop()
        self.capture.close()
        with self._lock:
            camera, self._camera = self._camera, None
        if camera is not None:
            camera.close()

    def reinitialize(self) -> Camera:
        """Close the camera and open it again (``Initialize=1``).

        Closing releases this camera's SDK session reference; when no other
        camera holds one the SDK is uninitialised and the reopen initialises
        it afresh. Remembered settings are re-applied.

        Returns
        -------
        Camera

        Raises
        ------
        AcquisitionError
            While acquiring.
        PVCAMError
            When the camera cannot be reopened.
        """
        with self._lock:
            if self._acquiring:
                raise AcquisitionError(f"{self.name} is acquiring", None, "reinitialize")
        self._drop_camera()
        return self.open()

    @property
    def camera(self) -> Camera:
        """The open camera.

        Raises
        ------
        AcquisitionError
            When it is closed (removed and not yet reopened).
        """
        camera = self._camera
        if camera is None or camera.closed:
            raise AcquisitionError(f"camera {self.name} is not open (removed?); the next "
                                   "acquisition reopens it", None, "camera")
        return camera

    @property
    def connected(self) -> bool:
        """True while the camera is open."""
        camera = self._camera
        return camera is not None and not camera.closed

    # ------------------------------------------------------------ settings
    # ------------------------------------------------------------ acquisitions
    @property
    def acquiring(self) -> bool:
        """True while :meth:`acquire` runs."""
        return self._acquiring

    def max_frames(self) -> Optional[int]:
        """Frames the next acquisition takes (None: until stopped)."""
        return {"Single": 1, "Multiple": self.num_images, "Continuous": None}[self.image_mode]

    def acquire(self, on_started: Optional[Callable[[], None]] = None) -> AcquisitionResult:
        """Run one acquisition to its end (blocking; call from a worker thread).

        Parameters
        ----------
        on_started : callable, optional
            Called once the stream runs.

        Returns
        -------
        AcquisitionResult
            Never raises for camera problems: they are the result.

        Raises
        ------
        AcquisitionError
            When an acquisition is already running.
        """
        with self._lock:
            if self._acquiring:
                raise AcquisitionError(f"{self.name} is already acquiring", None, "acquire")
            self._acquiring = True
            self._stop_requested = False
            self._images = 0
            self._lost_live = 0
            self._last_statistics = None
            self._first_lost = None
            self._wake.clear()
            self._target = self.max_frames()
        stream: Optional[Stream] = None
        try:
            try:
                camera = self.open()
                settings = camera.acquisition_settings()
                self.capture.check_frame(settings.frame_shape, settings.dtype)
                # Parameters must not be read while the camera acquires: take
                # the file attributes now, not when the file opens at frame 1.
                self._file_attributes = self._read_attributes(camera)
                refusal = self._check_prediction(settings)
                if refusal is not None:
                    return self._finish(None, refusal, None)
                stream = Stream(camera, buffer_mode=BUFFER_MODES[self.buffer_mode],
                                stall_timeout=self.stall_timeout or None,
                                stall_count=self.stall_count,
                                max_recoveries=self.max_recoveries,
                                max_frames=self.max_frames())
                stream.add_consumer(self._on_frame)
                stream.add_done_callback(lambda _stream: self._wake.set())
                with self._lock:
                    if self._stop_requested:
                        return self._finish(None, None, "stopped before it started")
                    self._stream = stream
                    stream.start()
                if on_started is not None:
                    on_started()
                while not self._wake.wait(_WAKE_POLL_S) and not stream.state.ended:
                    pass      # the done callback (or a lost frame under on_loss="fail") wakes it
                if self._first_lost is not None and self.on_loss == "fail":
                    stream.stop()     # the first lost frame ends it; what arrived is kept
                stream.wait()
            except (PVCAMError, OSError) as exc:
                return self._finish(stream, exc, None)
            return replace(self._finish(stream, self._loss_error(stream), None),
                           statistics=self._last_statistics)
        finally:
            self.capture.flush()
            with self._lock:
                self._stream = None
                self._acquiring = False

    def stop(self) -> None:
        """Stop the running acquisition (blocks until the engine's threads ended).

        Safe from any thread but the engine's; an acquisition that has not
        started its stream yet does not start it.
        """
        with self._lock:
            self._stop_requested = True
            stream = self._stream
        if stream is not None:
            stream.stop()

    def status(self) -> DriverStatus:
        """Return a :class:`DriverStatus` snapshot."""
        with self._counter_lock:
            return DriverStatus(acquiring=self._acquiring, connected=self.connected,
                                array_counter=self._array_counter, images=self._images,
                                lost_frames=self._lost_total + self._lost_live,
                                stalls=self._stalls, removals=self._removals,
                                recoveries=self._recoveries, failures=self._failures)

    # ------------------------------------------------------------ internals
    def _on_frame(self, frame: Frame) -> None:
        """Engine delivery thread: count, write, preview."""
        with self._counter_lock:
            self._array_counter += 1
            self._images += 1
            self._lost_live += frame.lost_before
            if frame.lost_before and self._first_lost is None:
                self._first_lost = frame.frame_number - frame.lost_before
                if self.on_loss == "fail":
                    self._wake.set()   # the acquisition thread stops the stream
            unique_id = self._array_counter
            last_of_target = bool(self._target) and self._images == self._target
        if last_of_target:
            # Once per acquisition, not per frame: the Stats1: records of the point.
            self._last_statistics = {**frame_statistics(frame.data, frame.host_time),
                                     "unique_id": unique_id}
        if self.array_callbacks:
            self.capture.submit(frame)
            self.preview.offer(frame)
            for listener in self.frame_listeners:
                listener(frame, unique_id)

    def _finish(self, stream: Optional[Stream], error: Optional[BaseException],
                note: Optional[str]) -> AcquisitionResult:
        stats = stream.stats() if stream is not None and stream.state is not StreamState.IDLE \
            else None
        frames = stats.frames_delivered if stats is not None else self._images
        lost = (stats.frames_lost + stats.frames_dropped) if stats is not None else 0
        if error is None and stream is not None and stream.error is not None:
            error = stream.error
        with self._counter_lock:
            self._lost_total += lost
            self._lost_live = 0
            if stats is not None:
                self._recoveries += stats.recoveries
        target = self.max_frames()
        if error is None:
            if note is not None:
                return AcquisitionResult("stopped", 0, 0, f"Acquisition {note}")
            state = "complete" if stream is not None and stream.state is StreamState.COMPLETE \
                else "stopped"
            counted = f"{frames} frame(s)" + (f" of {target}" if target else "")
            lost_text = f", {lost} lost" if lost else ""
            message = (f"Acquisition complete: {counted}{lost_text}" if state == "complete"
                       else f"Acquisition stopped: {counted}{lost_text}")
            return AcquisitionResult(state, frames, lost, message)
        if isinstance(error, PredictedLossError):
            return AcquisitionResult("refused", 0, 0, f"REFUSED: {error.message}", error)
        if isinstance(error, FramesLostError):
            return AcquisitionResult("lost", frames, lost, f"LOST: {error.message}", error, {
                "frames_lost": error.frames_lost, "first_lost_frame": error.first_lost_frame,
                "frames_kept": error.frames_kept})
        if isinstance(error, StallError):
            with self._counter_lock:
                self._stalls += 1
            return AcquisitionResult("stalled", frames, lost, f"STALL: {error.message}", error,
                                     dict(error.diagnostics))
        if isinstance(error, (CameraRemovedError, DeviceRemovedError)):
            with self._counter_lock:
                self._removals += 1
            self._drop_camera()
            return AcquisitionResult("removed", frames, lost,
                                     f"REMOVED: {error.message}; the next acquisition "
                                     "re-initialises the SDK and reopens the camera", error)
        with self._counter_lock:
            self._failures += 1
        text = error.message if isinstance(error, PVCAMError) else str(error)
        call = f"{error.call}: " if isinstance(error, PVCAMError) and error.call else ""
        return AcquisitionResult("failed", frames, lost, f"FAILED: {call}{text}", error)

    def _check_prediction(self, settings: AcquisitionSettings) -> Optional[PredictedLossError]:
        """Apply ``on_predicted_loss`` to the pre-flight budget of the coming acquisition.

        Returns
        -------
        PredictedLossError or None
            The refusal (``"refuse"`` and a predicted loss); None to go ahead.

        Raises
        ------
        PVCAMError
            The prediction failed (e.g. a malformed ``PVCAM_SINK_RATE``) and the
            policy is ``"refuse"``: without a prediction nothing is refused blindly,
            nor started blindly.
        """
        destination = self.capture.file_path
        try:
            prediction = predict_run(settings, self.max_frames(), destination)
        except PVCAMError as exc:
            if self.on_predicted_loss == "refuse":
                raise
            logger.warning("%s: no pre-flight prediction (%s); acquiring", self.name, exc)
            return None
        if prediction.fits:
            logger.debug("%s: %s", self.name, prediction)
            return None
        text = f"{self.name}: {prediction}"
        if self.on_predicted_loss == "refuse":
            return PredictedLossError(f"{text} (on_predicted_loss='refuse')", prediction,
                                      "acquire")
        if text != self._warned_prediction:
            self._warned_prediction = text
            logger.warning("%s (on_predicted_loss='warn': acquiring anyway)", text)
        return None

    def _loss_error(self, stream: Stream) -> Optional[FramesLostError]:
        """With ``on_loss="fail"``: the error of an acquisition that lost frames, else None."""
        if self.on_loss != "fail":
            return None
        stats = stream.stats()
        lost = stats.frames_lost + stats.frames_dropped
        if not lost and self._first_lost is None:
            return None
        lost = max(lost, 1)
        kept = stats.frames_delivered
        state = self.capture.state()
        where = (f"which are kept in {state.full_file_name}" if state.capturing
                 and self.capture.enabled else "(HDF1: is not capturing: no file)")
        first = self._first_lost
        at = f" (the first was FrameNr {first})" if first is not None else ""
        return FramesLostError(f"{self.name}: {lost} frame(s) lost{at}; on_loss='fail' ended the "
                               f"acquisition after {kept} frame(s), {where}", lost, first, kept,
                               "acquire")

    def _drop_camera(self) -> None:
        """Close a removed camera (releasing the SDK session) so it can be reopened."""
        with self._lock:
            camera, self._camera = self._camera, None
        if camera is None:
            return
        try:
            camera.close()
        except PVCAMError as exc:
            # Expected for a removed device: every step reports 180. The
            # session is released regardless, which is what the reopen needs.
            logger.warning("%s: closing the removed camera reported: %s", self.name, exc)

    def _attributes(self) -> dict[str, Any]:
        """Camera configuration stored in every file (snapshot of the acquisition start)."""
        return dict(self._file_attributes)

    def _read_attributes(self, camera: Camera) -> dict[str, Any]:
        info = camera.info
        return {"camera_name": self.name, "product": info.product, "serial": info.serial,
                "chip": info.chip, "firmware": info.firmware,
                "exposure_time": camera.exposure_time, "trigger_mode": camera.exposure_mode,
                "roi": [camera.roi.x, camera.roi.y, camera.roi.width, camera.roi.height],
                "binning": list(camera.binning),
                "image_mode": self.image_mode, "num_images": self.num_images}


def _is_simulator(library: Any) -> bool:
    try:
        return Path(str(library.path)).resolve() == _sim().library_path().resolve()
    except (AttributeError, OSError):
        return False

