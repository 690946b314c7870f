"""The engine side of one served camera: settings, acquisitions, counters, preview.

:class:`CameraDriver` knows nothing of EPICS. The record groups
(:mod:`.cam`, :mod:`.hdf`, :mod:`.image`) call it from executor threads and
poll its :meth:`~CameraDriver.status` snapshot; it drives the engine directly
(:class:`~ophyd_pvcam.engine.camera.Camera`, :class:`~ophyd_pvcam.engine.stream.Stream`)
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
"""
from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from ophyd_pvcam.engine.camera import Camera
from ophyd_pvcam.engine.errors import (
    AcquisitionError,
    CameraRemovedError,
    StallError,
    ValidationError,
)
from ophyd_pvcam.engine.frame import Frame
from ophyd_pvcam.engine.roi import Region
from ophyd_pvcam.engine.stream import Stream, StreamState
from ophyd_pvcam.sdk.errors import DeviceRemovedError, PVCAMError

from .capture import CaptureFile

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

#: areaDetector ``ImageMode`` menu.
IMAGE_MODES = ("Single", "Multiple", "Continuous")
#: ``BufferMode`` menu -> engine ``buffer_mode``.
BUFFER_MODES = {"Auto": "auto", "Overwrite": "overwrite", "No overwrite": "no_overwrite"}
#: Camera settings in the order they are re-applied after a reopen
#: (port before speed before gain: a port change resets the speed, a speed the gain).
CAMERA_SETTINGS = ("readout_port", "speed_index", "gain_index", "clear_mode", "fan_speed",
                   "temperature_setpoint", "exposure_time", "trigger_mode", "expose_out_mode",
                   "roi", "shutter_open_delay", "shutter_close_delay", "edge_trigger")
#: Settings kept by the driver itself.
DRIVER_SETTINGS = ("acquire_period", "image_mode", "num_images", "num_exposures",
                   "buffer_mode", "stall_timeout", "stall_count", "max_recoveries", "array_callbacks",
                   "array_counter", "sim_faults")
#: Every key :meth:`CameraDriver.apply` accepts.
SETTING_KEYS = CAMERA_SETTINGS + DRIVER_SETTINGS + ("min_x", "min_y", "size_x", "size_y",
                                                    "bin_x", "bin_y")
# Camera parameters behind the generic settings.
_PARAMETER_SETTINGS = {"shutter_open_delay": "shtr_open_delay",
                       "shutter_close_delay": "shtr_close_delay",
                       "edge_trigger": "edge_trigger"}
# Driver settings that may change while acquiring.
_LIVE_SETTINGS = ("array_counter", "array_callbacks", "sim_faults")
_MAX_IMAGES = 2**31 - 1


def display_name(engine_name: str) -> str:
    """Turn an engine mode name into a menu label: ``"software_edge"`` -> ``"Software edge"``.

    Parameters
    ----------
    engine_name : str

    Returns
    -------
    str
        The engine accepts the label back (it normalises labels).
    """
    return engine_name.replace("_", " ").capitalize()


@dataclass(frozen=True)
class AcquisitionResult:
    """How one acquisition ended.

    Attributes
    ----------
    state : str
        ``"complete"``, ``"stopped"``, ``"stalled"``, ``"removed"`` or ``"failed"``.
    frames : int
        Frames delivered.
    lost : int
        Frames lost or dropped (engine count).
    message : str
        One line for ``StatusMessage_RBV``.
    error : BaseException or None
        The engine error (StallError, CameraRemovedError, ...).
    diagnostics : dict
        The stall diagnosis (empty otherwise).
    """

    state: str
    frames: int
    lost: int
    message: str
    error: Optional[BaseException] = None
    diagnostics: dict = field(default_factory=dict)

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


@dataclass(frozen=True)
class Preview:
    """One decimated frame for the preview records.

    Attributes
    ----------
    counter : int
        Preview number (increments per preview).
    frame_number : int
        The engine frame it came from.
    data : numpy.ndarray
        2-D, C-contiguous, same dtype as the frame.
    stride : int
        Decimation factor (every ``stride``-th row and column).
    """

    counter: int
    frame_number: int
    data: np.ndarray
    stride: int


class PreviewSlot:
    """The latest decimated frame, produced at most ``rate`` times per second.

    The engine's delivery thread :meth:`offer` s every frame; decimation
    happens only when a preview is due, so the cost is bounded by the rate,
    not the camera's frame rate. The server's paced task :meth:`take` s it.

    Parameters
    ----------
    size : int
        Largest preview side in pixels.
    rate : float
        Largest preview rate [Hz] (> 0).
    """

    def __init__(self, size: int, rate: float):
        if size < 1:
            raise ValidationError(f"preview size must be >= 1, got {size}", None, "preview")
        if not rate > 0:
            raise ValidationError(f"preview rate must be > 0, got {rate}", None, "preview")
        self.size = int(size)
        self.rate = float(rate)
        self._lock = threading.Lock()
        self._due = 0.0
        self._counter = 0
        self._latest: Optional[Preview] = None
        self._taken = 0

    @property
    def interval(self) -> float:
        """Seconds between previews."""
        return 1.0 / self.rate

    def set_rate(self, rate: float) -> float:
        """Change the preview rate.

        Parameters
        ----------
        rate : float
            Hz, > 0.

        Returns
        -------
        float
        """
        if not (isinstance(rate, (int, float)) and math.isfinite(rate) and rate > 0):
            raise ValidationError(f"preview rate must be a number > 0, got {rate!r}", None,
                                  "MinCallbackTime")
        self.rate = float(rate)
        return self.rate

    def stride_for(self, shape: tuple[int, int]) -> int:
        """Decimation factor that brings ``shape`` within ``size``."""
        return max(1, math.ceil(max(shape) / self.size))

    def offer(self, frame: Frame) -> None:
        """Keep a decimated copy of ``frame`` if a preview is due.

        Parameters
        ----------
        frame : Frame
        """
        now = time.monotonic()
        if now < self._due:
            return
        self._due = now + self.interval
        stride = self.stride_for(frame.data.shape)
        data = np.ascontiguousarray(frame.data[::stride, ::stride])
        with self._lock:
            self._counter += 1
            self._latest = Preview(self._counter, frame.frame_number, data, stride)

    def take(self) -> Optional[Preview]:
        """Return the newest preview not taken yet, or None.

        Returns
        -------
        Preview or None
        """
        with self._lock:
            latest = self._latest
            if latest is None or latest.counter == self._taken:
                return None
            self._taken = latest.counter
            return latest


class CameraDriver:
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
        # Counters.
        self._array_counter = 0
        self._images = 0
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
    def apply(self, key: str, value: Any) -> Any:
        """Validate and apply one setting; return its read-back.

        Parameters
        ----------
        key : str
            One of :data:`SETTING_KEYS`.
        value : object
            In the record's units (seconds, degrees C, menu labels).

        Returns
        -------
        object
            What the camera (or driver) reports afterwards.

        Raises
        ------
        ValidationError
            Invalid value, or not changeable now (acquiring); nothing applied.
        PVCAMError
            The SDK refused the value.
        """
        if key not in SETTING_KEYS:
            raise ValidationError(f"unknown setting {key!r}", None, key)
        with self._lock:
            if self._acquiring and key not in _LIVE_SETTINGS:
                raise ValidationError(f"cannot change {key} while {self.name} is acquiring",
                                      None, key)
            if key in DRIVER_SETTINGS:
                return self._apply_driver(key, value)
            asked = key
            if key in ("min_x", "min_y", "size_x", "size_y", "bin_x", "bin_y"):
                value = self._roi_with(key, value)
                key = "roi"
            camera = self.camera
            self._apply_camera(camera, key, value)
            # A port change resets the speed, a speed change the gain: forget
            # what they reset so a reopen re-applies only what still holds.
            for reset in {"readout_port": ("speed_index", "gain_index"),
                          "speed_index": ("gain_index",)}.get(key, ()):
                self._camera_settings.pop(reset, None)
            self._camera_settings[key] = value if key == "roi" else self.read(key)
            return self.read(asked)

    def read(self, key: str) -> Any:
        """Return the current value of a setting (see :meth:`apply`).

        Parameters
        ----------
        key : str

        Returns
        -------
        object
        """
        if key in DRIVER_SETTINGS:
            return self._array_counter if key == "array_counter" else getattr(self, key)
        camera = self.camera
        if key in ("trigger_mode", "expose_out_mode"):
            name = camera.exposure_mode if key == "trigger_mode" else camera.expose_out_mode
            return display_name(name) if name else ""
        if key == "roi":
            return (camera.roi, camera.binning)
        if key in ("min_x", "min_y", "size_x", "size_y"):
            region = camera.roi
            return {"min_x": region.x, "min_y": region.y, "size_x": region.width,
                    "size_y": region.height}[key]
        if key in ("bin_x", "bin_y"):
            return camera.binning[0 if key == "bin_x" else 1]
        if key in _PARAMETER_SETTINGS:
            parameter = camera.parameters.require(_PARAMETER_SETTINGS[key])
            return parameter.current_name if parameter.is_enum else parameter.get()
        return getattr(camera, key)

    def has_setting(self, key: str) -> bool:
        """Tell whether this camera supports a setting.

        Parameters
        ----------
        key : str

        Returns
        -------
        bool
        """
        if key in DRIVER_SETTINGS:
            return key != "sim_faults" or self.simulated
        camera = self.camera
        needs = {"readout_port": "readout_port", "speed_index": "spdtab_index",
                 "gain_index": "gain_index", "clear_mode": "clear_mode",
                 "fan_speed": "fan_speed_setpoint", "temperature_setpoint": "temp_setpoint",
                 **_PARAMETER_SETTINGS}
        if key == "expose_out_mode":
            return bool(camera.expose_out_modes)
        if key in needs:
            parameter = camera.parameters.get(needs[key])
            return parameter is not None and parameter.readable
        return key in SETTING_KEYS

    def parameter(self, key: str, attribute: str = "value") -> Any:
        """Read a camera parameter (or one of its attributes) if available.

        Parameters
        ----------
        key : str
            Pythonic parameter name, e.g. ``"chip_name"``.
        attribute : {"value", "min", "max", "count", "items"}

        Returns
        -------
        object or None
            None when the parameter is not available or not readable.
        """
        camera = self.camera
        parameter = camera.parameters.get(key)
        if parameter is None or not parameter.readable:
            return None
        if attribute == "value":
            return parameter.get()
        if attribute == "items":
            return list(parameter.enum_items) if parameter.is_enum else None
        return getattr(parameter, attribute)

    def menu(self, key: str) -> list[str]:
        """Menu labels of an enumerated camera setting.

        Parameters
        ----------
        key : {"trigger_mode", "expose_out_mode", "readout_port", "clear_mode",
               "fan_speed", "edge_trigger"}

        Returns
        -------
        list of str
        """
        camera = self.camera
        if key == "trigger_mode":
            return [display_name(n) for n in camera.exposure_modes]
        if key == "expose_out_mode":
            return [display_name(n) for n in camera.expose_out_modes]
        parameter = {"readout_port": "readout_port", "clear_mode": "clear_mode",
                     "fan_speed": "fan_speed_setpoint", "edge_trigger": "edge_trigger"}[key]
        return list(self.parameter(parameter, "items") or [])

    def temperature(self) -> Optional[float]:
        """Measured sensor temperature [C], or None when it may not be read now.

        Returns
        -------
        float or None
            None while acquiring unless the parameter is live, or when the
            camera is not open or has no sensor temperature.
        """
        camera = self._camera
        if camera is None or camera.closed:
            return None
        parameter = camera.parameters.get("temp")
        if parameter is None or not parameter.readable:
            return None
        if self._acquiring and not parameter.live:
            return None
        return camera.temperature

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
        stream: Optional[Stream] = None
        try:
            try:
                camera = self.open()
                settings = camera.acquisition_settings()
                self.capture.check_frame(settings.frame_shape, settings.dtype)
                # Parameters must not be read while the camera acquires: take
                # the file attributes now, not when the file opens at frame 1.
                self._file_attributes = self._read_attributes(camera)
                stream = Stream(camera, buffer_mode=BUFFER_MODES[self.buffer_mode],
                                stall_timeout=self.stall_timeout or None,
                                stall_count=self.stall_count,
                                max_recoveries=self.max_recoveries,
                                max_frames=self.max_frames())
                stream.add_consumer(self._on_frame)
                with self._lock:
                    if self._stop_requested:
                        return self._finish(None, None, "stopped before it started")
                    self._stream = stream
                    stream.start()
                if on_started is not None:
                    on_started()
                stream.wait()
            except (PVCAMError, OSError) as exc:
                return self._finish(stream, exc, None)
            return self._finish(stream, None, None)
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
        if self.array_callbacks:
            self.capture.submit(frame)
            self.preview.offer(frame)

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

    def _apply_driver(self, key: str, value: Any) -> Any:
        if key == "acquire_period":
            self.acquire_period = _number(value, key, minimum=0.0)
        elif key == "image_mode":
            self.image_mode = _choice(value, IMAGE_MODES, key)
        elif key == "num_images":
            self.num_images = _integer(value, key, 1, _MAX_IMAGES)
        elif key == "num_exposures":
            self.num_exposures = _integer(value, key, 1, 1)
        elif key == "buffer_mode":
            self.buffer_mode = _choice(value, tuple(BUFFER_MODES), key)
        elif key == "stall_timeout":
            self.stall_timeout = _number(value, key, minimum=0.0)
        elif key == "stall_count":
            self.stall_count = _integer(value, key, 1, 1000)
        elif key == "max_recoveries":
            self.max_recoveries = _integer(value, key, 0, 1000)
        elif key == "array_callbacks":
            self.array_callbacks = bool(_integer(value, key, 0, 1))
        elif key == "array_counter":
            with self._counter_lock:
                self._array_counter = _integer(value, key, 0, _MAX_IMAGES)
        elif key == "sim_faults":
            if not self.simulated:
                raise ValidationError("SimFaults needs the simulated camera", None, key)
            text = str(value).strip()
            try:
                _sim().set_faults(text)
            except ValueError as exc:
                raise ValidationError(f"SimFaults {text!r} refused: {exc}", None, key) from None
            self.sim_faults = _sim().get_faults()
        return self.read(key)

    def _apply_camera(self, camera: Camera, key: str, value: Any) -> None:
        if key == "roi":
            region, binning = value
            camera.set_roi(region, binning)
        elif key == "trigger_mode":
            camera.exposure_mode = value
        elif key in _PARAMETER_SETTINGS:
            camera.parameters.require(_PARAMETER_SETTINGS[key]).set(value)
        else:
            setattr(camera, key, value)

    def _roi_with(self, key: str, value: Any) -> tuple[Region, tuple[int, int]]:
        camera = self.camera
        region, binning = camera.roi, camera.binning
        number = _integer(value, key, 0 if key in ("min_x", "min_y") else 1, 2**16)
        fields = {"x": region.x, "y": region.y, "width": region.width, "height": region.height}
        pair = list(binning)
        if key in ("bin_x", "bin_y"):
            pair[0 if key == "bin_x" else 1] = number
            allowed = camera.binnings
            if allowed is not None and tuple(pair) not in allowed and (number, number) in allowed:
                # Cameras that list only paired binnings (1x1, 2x2, ...) cannot
                # take BinX and BinY one at a time: a factor sets both.
                pair = [number, number]
        else:
            fields[{"min_x": "x", "min_y": "y", "size_x": "width", "size_y": "height"}[key]] = number
        return Region(**fields), (pair[0], pair[1])

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


def _sim() -> Any:
    # The simulator module is a leaf below the sdk; import it only when used.
    import ophyd_pvcam.sim as sim

    return sim


def _number(value: Any, what: str, *, minimum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise ValidationError(f"{what} takes a number, got {value!r}", None, what)
    number = float(value)
    if not math.isfinite(number) or number < minimum:
        raise ValidationError(f"{what} must be a finite number >= {minimum}, got {value!r}",
                              None, what)
    return number


def _integer(value: Any, what: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or \
            not math.isfinite(float(value)) or float(value) != int(value):
        raise ValidationError(f"{what} takes an integer, got {value!r}", None, what)
    number = int(value)
    if not low <= number <= high:
        raise ValidationError(f"{what} must be in {low}..{high}, got {number}", None, what)
    return number


def _choice(value: Any, choices: tuple[str, ...], what: str) -> str:
    if value not in choices:
        raise ValidationError(f"{what} {value!r} is not one of {', '.join(choices)}", None, what)
    return str(value)
