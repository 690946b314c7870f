"""ophyd Signals of :class:`~ophyd_pvcam.device.detector.PVCAMDetector`.

:class:`CameraSignal`
    A setting or readback that lives on the engine's
    :class:`~ophyd_pvcam.engine.camera.camera.Camera` (``exposure_time``, ``roi``,
    ``temperature``, ...). ``get()`` asks the camera, ``put()`` hands the value
    to the camera's validating setter, so a refused value raises
    :class:`~ophyd_pvcam.engine.errors.ValidationError` and nothing is clamped.
:class:`SettingSignal`
    A software setting of the detector (``frames_per_trigger``,
    ``stall_timeout``, ...) with a validator.
:class:`ExternalImage`
    The image data key (``{name}_image``): described as external data, never
    read as pixels.

``set()`` on the settable signals runs synchronously and returns a finished
status, or a failed one carrying the ``ValidationError`` (bluesky then raises
``FailedStatus`` with the error as ``__cause__``); it never waits for a
readback to "match", because the setter either takes the value exactly or
refuses it.
"""
from __future__ import annotations

import logging
import math
import time
from typing import Any, Callable, Optional, Sequence

import numpy as np
from ophyd import Component as Cpt
from ophyd import Device
from ophyd.signal import Signal
from ophyd.status import Status
from ophyd.utils.errors import ReadOnlyError

from ophyd_pvcam.engine.stream import BUFFER_MODE_NAMES, frame_statistics
from ophyd_pvcam.engine.errors import ValidationError
from ophyd_pvcam.engine.stream import STALL_COUNT_RANGE, STALL_TIMEOUT_RANGE

from .losspolicy import LOSS_POLICIES, PREDICTED_LOSS_POLICIES
from .writer import ASSET_MODES

__all__ = [
    "DetectorSignals",
    "CameraSignal",
    "SettingSignal",
    "ExternalImage",
    "FrameStatistic",
    "FRAME_STATISTICS",
    "frame_statistics",
    "positive_int",
    "non_negative_int",
    "seconds_or_auto",
    "one_of",
    "FRAMES_PER_TRIGGER_MAX",
    "STREAM_LENGTH_MAX",
]

logger = logging.getLogger(__name__)

#: Most frames one trigger may take (a step-scan point).
FRAMES_PER_TRIGGER_MAX = 1_000_000
#: Most frames one fly may take (an EPICS long; about 12 days at 2 kHz).
STREAM_LENGTH_MAX = 2**31 - 1


def _sync_set(signal: Signal, value: Any) -> Status:
    """Put now; return a finished Status, or a failed one holding the error."""
    status = Status(signal)
    try:
        signal.put(value)
    except Exception as exc:  # noqa: BLE001 - handed to the caller through the status
        logger.debug("%s: set(%r) refused: %s", signal.name, value, exc)
        status.set_exception(exc)
    else:
        status.set_finished()
    return status


# -- validators (return the normalised value or raise ValidationError) -----
def positive_int(name: str, maximum: Optional[int] = None) -> Callable[[Any], int]:
    """Return a validator accepting integers in ``[1, maximum]``.

    Parameters
    ----------
    name : str
        Setting name used in messages.
    maximum : int, optional
        Largest value accepted; unbounded when omitted.

    Returns
    -------
    callable
    """
    def check(value: Any) -> int:
        return _integer(name, value, minimum=1, maximum=maximum)
    return check


def non_negative_int(name: str, maximum: Optional[int] = None) -> Callable[[Any], int]:
    """Return a validator accepting integers in ``[0, maximum]``.

    Parameters
    ----------
    name : str
        Setting name used in messages.
    maximum : int, optional
        Largest value accepted; unbounded when omitted.

    Returns
    -------
    callable
    """
    def check(value: Any) -> int:
        return _integer(name, value, minimum=0, maximum=maximum)
    return check


def _integer(name: str, value: Any, *, minimum: int, maximum: Optional[int] = None) -> int:
    wanted = (f"an integer >= {minimum}" if maximum is None
              else f"an integer >= {minimum} and <= {maximum}")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer, float, np.floating)):
        raise ValidationError(f"{name} must be {wanted}, got {value!r}", None, name)
    if isinstance(value, (float, np.floating)) and (not math.isfinite(value) or value != int(value)):
        raise ValidationError(f"{name} must be {wanted}, got {value!r}", None, name)
    if int(value) < minimum or (maximum is not None and int(value) > maximum):
        raise ValidationError(f"{name} must be {wanted}, got {value!r}", None, name)
    return int(value)


def seconds_or_auto(name: str, minimum: float = 0.0,
                    maximum: float = math.inf) -> Callable[[Any], float]:
    """Return a validator of a duration where 0 (or ``None``) means "automatic".

    Parameters
    ----------
    name : str
        Setting name used in messages.
    minimum, maximum : float
        The range of durations [s] accepted besides 0; default any finite
        duration.

    Returns
    -------
    callable
        Returns 0.0 or a float in ``[minimum, maximum]`` (``None`` becomes
        0.0, so the value always describes as a number).
    """
    wanted = (f"{name} must be 0 (automatic) or a number of seconds from {minimum:g} to "
              f"{maximum:g}" if math.isfinite(maximum) or minimum > 0
              else f"{name} must be a number of seconds >= 0 (0: automatic)")

    def check(value: Any) -> float:
        if value is None:
            return 0.0
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
            raise ValidationError(f"{wanted}, got {value!r}", None, name)
        seconds = float(value)
        if seconds == 0.0:
            return 0.0
        if not math.isfinite(seconds) or seconds < max(minimum, 0.0) or seconds > maximum:
            raise ValidationError(f"{wanted}, got {value!r}", None, name)
        return seconds
    return check


def one_of(name: str, choices: Sequence[str]) -> Callable[[Any], str]:
    """Return a validator accepting one of ``choices`` (exact strings).

    Parameters
    ----------
    name : str
        Setting name used in messages.
    choices : sequence of str
        The accepted values.

    Returns
    -------
    callable
    """
    allowed = tuple(choices)

    def check(value: Any) -> str:
        if value not in allowed:
            raise ValidationError(f"{name} must be one of {', '.join(map(repr, allowed))}, "
                                  f"got {value!r}", None, name)
        return str(value)
    return check


class SettingSignal(Signal):
    """A software setting with a validator; refused values raise, never clamp.

    Parameters
    ----------
    value : object
        Initial value (validated).
    validator : callable
        ``validator(value) -> normalised value``; raises
        :class:`~ophyd_pvcam.engine.errors.ValidationError` to refuse.
    guard : callable, optional
        ``guard(signal, value)`` called before a change; raises to refuse it in
        the device's current state (e.g. while acquiring).
    **kwargs
        Passed to :class:`ophyd.Signal` (``name``, ``parent``, ``kind``).
    """

    def __init__(self, *, value: Any, validator: Callable[[Any], Any],
                 guard: Optional[Callable[["SettingSignal", Any], None]] = None, **kwargs: Any):
        self._validator = validator
        self._guard = guard
        super().__init__(value=validator(value), **kwargs)

    def check_value(self, value: Any) -> None:
        """Raise :class:`ValidationError` if ``value`` is refused.

        Parameters
        ----------
        value : object
        """
        self._validator(value)

    def put(self, value: Any, **kwargs: Any) -> None:
        """Validate and store ``value`` (raises ``ValidationError`` when refused).

        Parameters
        ----------
        value : object
        **kwargs
            Passed to :meth:`ophyd.Signal.put` (``timestamp``, ``force``).
        """
        normalised = self._validator(value)
        if self._guard is not None:
            self._guard(self, normalised)
        super().put(normalised, **kwargs)

    def set(self, value: Any, **kwargs: Any) -> Status:
        """Put ``value`` now; the returned status fails with the validation error.

        Parameters
        ----------
        value : object
        **kwargs
            Ignored (``timeout``, ``settle_time`` make no sense for a software value).

        Returns
        -------
        ophyd.status.Status
        """
        return _sync_set(self, value)


class CameraSignal(Signal):
    """A setting or readback held by the engine camera.

    The owning device must provide ``_camera_for(signal)`` returning the open
    :class:`~ophyd_pvcam.engine.camera.camera.Camera` (or ``None`` when closed; the
    signal then reports its last value).

    Parameters
    ----------
    attr : str
        Camera attribute (``"exposure_time"``, ``"roi"``, ...).
    read_only : bool
        Refuse ``put``/``set`` (e.g. ``temperature``).
    to_camera : callable, optional
        Converts a user value into what the camera setter takes.
    from_camera : callable, optional
        Converts the camera's value into the signal's value (e.g. a Region
        into a tuple).
    guard : callable, optional
        ``guard(signal, value)`` called before a change; raises to refuse it in
        the device's current state.
    units : str, optional
        Engineering units for the DataKey (``"s"``, ``"degC"``).
    **kwargs
        Passed to :class:`ophyd.Signal`.
    """

    def __init__(self, *, attr: str, read_only: bool = False,
                 to_camera: Optional[Callable[[Any], Any]] = None,
                 from_camera: Optional[Callable[[Any], Any]] = None,
                 guard: Optional[Callable[["CameraSignal", Any], None]] = None,
                 units: Optional[str] = None, **kwargs: Any):
        self._attr = attr
        self._units = units
        self._read_only = read_only
        self._to_camera = to_camera
        self._from_camera = from_camera
        self._guard = guard
        super().__init__(value=None, **kwargs)

    @property
    def attr(self) -> str:
        """The camera attribute this signal maps."""
        return self._attr

    @property
    def write_access(self) -> bool:
        """False for read-only camera values."""
        return not self._read_only

    def _camera(self) -> Any:
        return self.parent._camera_for(self) if self.parent is not None else None

    def get(self, **kwargs: Any) -> Any:
        """Read the value from the camera (the last value when it is closed).

        Returns
        -------
        object
        """
        camera = self._camera()
        if camera is not None:
            value = getattr(camera, self._attr)
            if self._from_camera is not None:
                value = self._from_camera(value)
            if not _same(value, self._readback):
                old = self._readback
                self._readback = value
                self._metadata["timestamp"] = time.time()
                if old is not None:
                    self._run_subs(sub_type=self.SUB_VALUE, old_value=old, value=value,
                                   timestamp=self._metadata["timestamp"])
        return self._readback

    def put(self, value: Any, **kwargs: Any) -> None:
        """Hand ``value`` to the camera's validating setter.

        Parameters
        ----------
        value : object
        **kwargs
            Ignored.

        Raises
        ------
        ReadOnlyError
            For read-only values.
        ValidationError
            When the camera refuses the value (nothing is changed).
        """
        if self._read_only:
            raise ReadOnlyError(f"{self.name} is read-only")
        camera = self._camera()
        if camera is None:
            raise ValidationError(f"cannot set {self.name}: the camera is closed", None, self._attr)
        if self._guard is not None:
            self._guard(self, value)
        value = value if self._to_camera is None else self._to_camera(value)
        setattr(camera, self._attr, value)
        remember = getattr(self.parent, "_camera_setting_made", None)
        if remember is not None:
            remember(self._attr, value)
        self.get()

    def set(self, value: Any, **kwargs: Any) -> Status:
        """Put ``value`` now; the returned status fails with the camera's error.

        Parameters
        ----------
        value : object
        **kwargs
            Ignored.

        Returns
        -------
        ophyd.status.Status
        """
        return _sync_set(self, value)

    def describe(self) -> dict[str, dict[str, Any]]:
        """Describe the value (``source`` names the camera attribute).

        Returns
        -------
        dict
        """
        self.get()
        description = super().describe()
        description[self.name]["source"] = f"PVCAM:{self._attr}"
        if self._units is not None:
            description[self.name]["units"] = self._units
        return description


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(np.all(np.asarray(a, dtype=object) == np.asarray(b, dtype=object))) and (
            np.shape(a) == np.shape(b))
    except Exception:  # noqa: BLE001 - incomparable values are different
        return False


class ExternalImage(Signal):
    """The image data key: described as external, read only as a datum id (legacy mode).

    The owning device provides ``_describe_image()`` (the DataKey) and
    ``_read_image()`` (``None`` in stream mode: the key is then left out of
    ``read()``, as bluesky requires for ``"STREAM:"`` data).
    """

    def __init__(self, **kwargs: Any):
        super().__init__(value=None, **kwargs)

    def describe(self) -> dict[str, dict[str, Any]]:
        """Return the image DataKey from the device.

        Returns
        -------
        dict
        """
        return {self.name: self.parent._describe_image()}

    def read(self) -> dict[str, dict[str, Any]]:
        """Return the datum id in legacy mode, nothing in stream mode.

        Returns
        -------
        dict
        """
        reading = self.parent._read_image()
        if reading is None:
            return {}
        value, timestamp = reading
        return {self.name: {"value": value, "timestamp": timestamp}}

    def put(self, value: Any, **kwargs: Any) -> None:
        """Refuse: images come from the camera.

        Raises
        ------
        ReadOnlyError
        """
        raise ReadOnlyError(f"{self.name} is read-only")

    def set(self, value: Any, **kwargs: Any) -> Status:
        """Refuse: images come from the camera.

        Raises
        ------
        ReadOnlyError
        """
        raise ReadOnlyError(f"{self.name} is read-only")


#: What :class:`FrameStatistic` can report of a frame.
FRAME_STATISTICS = ("sum", "mean", "max")


class FrameStatistic(Signal):
    """A number per point computed from the point's last frame: its ``sum``, ``mean`` or ``max``.

    Something to plot during a step scan (hinted, so ``BestEffortCallback``
    draws it and ``LiveTable`` shows it). The owning device provides
    ``_frame_statistics()``, a dict of every statistic of its latest frame
    (``None`` before the first frame), computed at read time from the frame
    already in memory, never on the frame path.

    Parameters
    ----------
    statistic : {"sum", "mean", "max"}
    **kwargs
        Passed to :class:`ophyd.Signal`.
    """

    def __init__(self, *, statistic: str, **kwargs: Any):
        if statistic not in FRAME_STATISTICS:
            raise ValueError(f"statistic must be one of {FRAME_STATISTICS}, got {statistic!r}")
        self._statistic = statistic
        super().__init__(value=0.0, **kwargs)

    def get(self, **kwargs: Any) -> float:
        """The statistic of the latest frame (0.0 before the first frame).

        Returns
        -------
        float
        """
        statistics = self.parent._frame_statistics() if self.parent is not None else None
        if statistics is not None:
            value, stamp = statistics[self._statistic], statistics["timestamp"]
            if value != self._readback or stamp != self._metadata["timestamp"]:
                self._readback, self._metadata["timestamp"] = value, stamp
        return self._readback

    def describe(self) -> dict[str, dict[str, Any]]:
        """A number per point; ``source`` names the statistic.

        Returns
        -------
        dict
        """
        return {self.name: {"source": f"PVCAM:frame_{self._statistic}", "dtype": "number",
                            "shape": [], "dtype_numpy": np.dtype(np.float64).str,
                            "units": "counts"}}

    def put(self, value: Any, **kwargs: Any) -> None:
        """Refuse: the value comes from the frames.

        Raises
        ------
        ReadOnlyError
        """
        raise ReadOnlyError(f"{self.name} is read-only")

    def set(self, value: Any, **kwargs: Any) -> Status:
        """Refuse: the value comes from the frames.

        Raises
        ------
        ReadOnlyError
        """
        raise ReadOnlyError(f"{self.name} is read-only")


class DetectorSignals(Device):
    """The signals of :class:`~ophyd_pvcam.device.detector.PVCAMDetector`, by kind.

    ``config``: camera settings, what is needed to interpret a frame, and the
    acquisition options. ``normal``: ``temperature``, ``frames_lost``,
    ``frames_written`` and the image key ``{name}_image``. ``hinted``: the
    point's last frame's ``frame_sum``, ``frame_mean`` and ``frame_max``, for
    live plots and tables. ``omitted``: the loss policies ``on_predicted_loss``
    and ``on_loss``. The subclass provides ``_camera_for(signal)``,
    ``_describe_image()``, ``_read_image()`` and ``_frame_statistics()``.
    """

    # -- camera settings (configuration) -----------------------------------
    exposure_time = Cpt(CameraSignal, attr="exposure_time", kind="config", units="s",
                        doc="exposure time [s]")
    roi = Cpt(CameraSignal, attr="roi", kind="config",
              from_camera=lambda r: (r.x, r.y, r.width, r.height),
              doc="region of interest (x, y, width, height) in unbinned sensor pixels")
    binning = Cpt(CameraSignal, attr="binning", kind="config", from_camera=tuple,
                  doc="(serial, parallel) binning")
    readout_port = Cpt(CameraSignal, attr="readout_port", kind="config",
                       doc="readout port name")
    speed_index = Cpt(CameraSignal, attr="speed_index", kind="config")
    gain_index = Cpt(CameraSignal, attr="gain_index", kind="config")
    clear_mode = Cpt(CameraSignal, attr="clear_mode", kind="config")
    exposure_mode = Cpt(CameraSignal, attr="exposure_mode", kind="config",
                        doc="trigger mode ('internal', 'software_edge', ...)")
    rois = Cpt(CameraSignal, attr="rois", kind="config",
               from_camera=lambda regions: tuple((r.x, r.y, r.width, r.height) for r in regions),
               doc="every region read out per frame, ((x, y, width, height), ...); the first "
                   "is roi (the image), each further one is its own data key "
                   "({name}_image_roi2, ...) and dataset")
    metadata = Cpt(CameraSignal, attr="metadata", kind="config",
                   doc="acquire with PVCAM frame metadata (on by default where the camera "
                       "has it): per-frame exposure and camera timestamps in the file")
    smart_stream_exposures = Cpt(CameraSignal, attr="smart_stream_exposures", kind="config",
                                 from_camera=tuple, to_camera=tuple, units="s",
                                 doc="exposures [s] cycled frame by frame (smart streaming); "
                                     "() = off, exposure_time applies")
    temperature_setpoint = Cpt(CameraSignal, attr="temperature_setpoint", kind="config",
                               units="degC", doc="cooling setpoint [deg C]")
    temperature = Cpt(CameraSignal, attr="temperature", read_only=True, kind="normal",
                      units="degC", doc="sensor temperature [deg C]")
    # -- what is needed to interpret a frame (configuration, read-only) ------
    camera_name = Cpt(CameraSignal, attr="name", read_only=True, kind="config")
    sensor = Cpt(CameraSignal, attr="info", read_only=True, kind="config",
                 from_camera=lambda info: f"{info.product} ({info.chip})".strip())
    serial_number = Cpt(CameraSignal, attr="info", read_only=True, kind="config",
                        from_camera=lambda info: info.serial)
    sensor_size = Cpt(CameraSignal, attr="sensor_size", read_only=True, kind="config",
                      from_camera=tuple)
    bit_depth = Cpt(CameraSignal, attr="bit_depth", read_only=True, kind="config")
    speed_name = Cpt(CameraSignal, attr="speed_gain_names", read_only=True, kind="config",
                     from_camera=lambda names: names()[0])
    gain_name = Cpt(CameraSignal, attr="speed_gain_names", read_only=True, kind="config",
                    from_camera=lambda names: names()[1])
    # -- acquisition options (configuration) --------------------------------
    frames_per_trigger = Cpt(SettingSignal, value=1,
                             validator=positive_int("frames_per_trigger", FRAMES_PER_TRIGGER_MAX),
                             kind="config", doc="frames per step-scan point, 1 to 1000000")
    stream_length = Cpt(SettingSignal, value=0,
                        validator=non_negative_int("stream_length", STREAM_LENGTH_MAX),
                        kind="config",
                        doc="frames per fly, 0 to 2**31 - 1; 0 = until complete() stops it")
    buffer_mode = Cpt(SettingSignal, value="auto",
                      validator=one_of("buffer_mode", tuple(BUFFER_MODE_NAMES)), kind="config")
    stall_timeout = Cpt(SettingSignal, value=0.0,
                        validator=seconds_or_auto("stall_timeout", *STALL_TIMEOUT_RANGE),
                        kind="config",
                        doc="seconds without a frame that count as one timeout, 0.05 to 86400 "
                            "(0: automatic, max(2 s, 10 frame periods))")
    stall_count = Cpt(SettingSignal, value=3,
                      validator=positive_int("stall_count", STALL_COUNT_RANGE[1]),
                      kind="config", doc="consecutive timeouts that make a stall, 1 to 1000")
    asset_docs = Cpt(SettingSignal, value="stream",
                     validator=one_of("asset_docs", ASSET_MODES), kind="config")
    # -- loss policies (omitted: how the detector reacts, not what the data is;
    # the remote detector's documents stay the same as this one's) ------------
    on_predicted_loss = Cpt(SettingSignal, value="warn", kind="omitted",
                            validator=one_of("on_predicted_loss", PREDICTED_LOSS_POLICIES),
                            doc="a start whose pre-flight budget predicts lost frames: 'warn' "
                                "(log once per staging) or 'refuse' (PredictedLossError)")
    on_loss = Cpt(SettingSignal, value="record", kind="omitted",
                  validator=one_of("on_loss", LOSS_POLICIES),
                  doc="a lost frame: 'record' (count it and go on) or 'fail' (fail the status "
                      "with FramesLostError, frames kept)")
    # -- data ---------------------------------------------------------------
    frames_lost = Cpt(Signal, value=0, kind="normal",
                      doc="frames the camera produced that never arrived, this staging")
    frames_written = Cpt(Signal, value=0, kind="normal",
                         doc="frames in this staging's file")
    image = Cpt(ExternalImage, kind="normal")
    frame_sum = Cpt(FrameStatistic, statistic="sum", kind="hinted",
                    doc="sum of the pixels of the point's last frame (step scans)")
    frame_mean = Cpt(FrameStatistic, statistic="mean", kind="hinted",
                     doc="mean pixel value of the point's last frame (step scans)")
    frame_max = Cpt(FrameStatistic, statistic="max", kind="hinted",
                    doc="largest pixel value of the point's last frame (step scans)")
