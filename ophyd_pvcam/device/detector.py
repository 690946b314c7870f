"""The ophyd device of a PVCAM camera: :class:`PVCAMDetector`.

One object serves step scans (``trigger``/``read``) and fly scans
(``kickoff``/``complete``/``collect``), writing every frame to one HDF5 file
per staging and describing it with StreamResource/StreamDatum documents (or,
with ``asset_docs="legacy"``, Resource/Datum for the ``PVCAM_HDF5`` handler).

Life cycle::

    cam = PVCAMDetector("cam")          # opens the camera (settings read back)
    RE(count([cam], 5))                 # stage: file + arm; trigger x5; unstage
    RE(fly_stream([cam], 1000))         # ophyd_pvcam.plans.fly_stream
    cam.close()                         # closes the camera (also destroy())

``bluesky.plans.fly`` cannot drive a stream-mode detector (it neither stages
nor declares the stream); ``kickoff`` then fails at once, naming
:func:`ophyd_pvcam.plans.fly_stream`. In legacy mode,
``bpp.stage_wrapper(bp.fly([cam]), [cam])`` works.
"""
from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Iterator, Optional, Union

from ophyd import Component as Cpt
from ophyd import Device, Signal
from ophyd.status import DeviceStatus, Status

from ophyd_pvcam import sdk
from ophyd_pvcam.engine.bufmode import BUFFER_MODE_NAMES
from ophyd_pvcam.engine.camera import Camera
from ophyd_pvcam.engine.errors import AcquisitionError, ValidationError
from ophyd_pvcam.engine.roi import Region
from ophyd_pvcam.storage.paths import DEFAULT_TEMPLATE

from . import signals as S
from .controller import Acquisition, stream_factory
from .status import FrameProgressStatus
from .writer import ASSET_MODES, AssetWriter, image_data_key

__all__ = ["PVCAMDetector", "FLY_STREAM_HINT"]

logger = logging.getLogger(__name__)

#: What a refused ``kickoff`` tells the user (one line).
FLY_STREAM_HINT = ("use ophyd_pvcam.plans.fly_stream([{name}]) (bluesky.plans.fly neither "
                   "stages nor declares the stream)")


def _roi_tuple(region: Region) -> tuple[int, int, int, int]:
    return (region.x, region.y, region.width, region.height)


def _speed_info(camera: Camera) -> tuple[str, str]:
    """Return the names of the current speed and gain (from the port/speed/gain table)."""
    table = camera.port_speed_gain_table()
    port = table.get(camera.readout_port, {})
    speed_index, gain_index = camera.speed_index, camera.gain_index
    for speed in port.get("speeds", []):
        if speed.get("index") == speed_index:
            gain_name = next((g.get("name", "") for g in speed.get("gains", [])
                              if g.get("index") == gain_index), "")
            return str(speed.get("name", "")), str(gain_name)
    return "", ""


class PVCAMDetector(Device):
    """A PVCAM camera as an ophyd device (step and fly scans, HDF5 files).

    The camera is opened at construction, so every setting reads back its
    real value; :meth:`close` (or ``destroy()``) closes it.

    Parameters
    ----------
    name : str
        Device name; the image data key is ``{name}_image``.
    camera_name : str, optional
        SDK camera name (``"pvcamUSB_0"``); the first camera when omitted.
    write_path : path-like, optional
        Root directory of the frame files; default
        :func:`ophyd_pvcam.catalog.frames_dir` (the local catalog's readable
        storage). Files go to ``<root>/YYYY/MM/DD/<name>_<run uid>.h5``.
    library : PVCAMLibrary, path-like or "sim", optional
        The SDK binding, a library path, or ``"sim"`` for the bundled
        simulator; default :func:`ophyd_pvcam.sdk.load` (``PVCAM_LIBRARY``,
        then the vendor's locations).
    asset_docs : {"stream", "legacy"}
        Initial value of the ``asset_docs`` signal.
    file_template : str
        File name template relative to ``write_path``.
    compression : str, optional
        Frame compression (``"bitshuffle-lz4"``, ``"blosc"``); default none.
    flush_interval : float
        Longest time [s] a written frame waits before it is flushed (and so
        documented); progress is reported at that pace.
    **kwargs
        Passed to :class:`ophyd.Device` (``parent``, ``read_attrs``, ...).

    Notes
    -----
    Run uid in the file name: :meth:`follow_runs` subscribes the detector to
    a RunEngine's start/stop documents. When it follows one and no run is
    open at ``stage`` (``count`` stages before it opens the run), the file
    is created at the first ``trigger``/``kickoff`` instead, named after the
    run. Otherwise (or without a RunEngine) a fresh uuid names the file.
    """

    # -- camera settings (configuration) -----------------------------------
    exposure_time = Cpt(S.CameraSignal, attr="exposure_time", kind="config",
                        doc="exposure time [s]")
    roi = Cpt(S.CameraSignal, attr="roi", kind="config", from_camera=_roi_tuple,
              doc="region of interest (x, y, width, height) in unbinned sensor pixels")
    binning = Cpt(S.CameraSignal, attr="binning", kind="config", from_camera=tuple,
                  doc="(serial, parallel) binning")
    readout_port = Cpt(S.CameraSignal, attr="readout_port", kind="config",
                       doc="readout port name")
    speed_index = Cpt(S.CameraSignal, attr="speed_index", kind="config")
    gain_index = Cpt(S.CameraSignal, attr="gain_index", kind="config")
    clear_mode = Cpt(S.CameraSignal, attr="clear_mode", kind="config")
    exposure_mode = Cpt(S.CameraSignal, attr="exposure_mode", kind="config",
                        doc="trigger mode ('internal', 'software_edge', ...)")
    temperature_setpoint = Cpt(S.CameraSignal, attr="temperature_setpoint", kind="config",
                               doc="cooling setpoint [deg C]")
    temperature = Cpt(S.CameraSignal, attr="temperature", read_only=True, kind="normal",
                      doc="sensor temperature [deg C]")
    # -- what is needed to interpret a frame (configuration, read-only) ------
    camera_name = Cpt(S.CameraSignal, attr="name", read_only=True, kind="config")
    sensor = Cpt(S.CameraSignal, attr="info", read_only=True, kind="config",
                 from_camera=lambda info: f"{info.product} ({info.chip})".strip())
    serial_number = Cpt(S.CameraSignal, attr="info", read_only=True, kind="config",
                        from_camera=lambda info: info.serial)
    sensor_size = Cpt(S.CameraSignal, attr="sensor_size", read_only=True, kind="config",
                      from_camera=tuple)
    bit_depth = Cpt(S.CameraSignal, attr="bit_depth", read_only=True, kind="config")
    speed_name = Cpt(S.CameraSignal, attr="_speed_gain", read_only=True, kind="config",
                     from_camera=lambda names: names[0])
    gain_name = Cpt(S.CameraSignal, attr="_speed_gain", read_only=True, kind="config",
                    from_camera=lambda names: names[1])
    # -- acquisition options (configuration) --------------------------------
    frames_per_trigger = Cpt(S.SettingSignal, value=1,
                             validator=S.positive_int("frames_per_trigger"), kind="config")
    stream_length = Cpt(S.SettingSignal, value=0,
                        validator=S.non_negative_int("stream_length"), kind="config",
                        doc="frames per fly; 0 = until complete() stops it")
    buffer_mode = Cpt(S.SettingSignal, value="auto",
                      validator=S.one_of("buffer_mode", tuple(BUFFER_MODE_NAMES)), kind="config")
    stall_timeout = Cpt(S.SettingSignal, value=0.0,
                        validator=S.seconds_or_auto("stall_timeout"), kind="config",
                        doc="seconds without a frame that count as one timeout (0: automatic, "
                            "max(2 s, 10 frame periods))")
    stall_count = Cpt(S.SettingSignal, value=3, validator=S.positive_int("stall_count"),
                      kind="config", doc="consecutive timeouts that make a stall")
    asset_docs = Cpt(S.SettingSignal, value="stream",
                     validator=S.one_of("asset_docs", ASSET_MODES), kind="config")
    # -- data ---------------------------------------------------------------
    frames_lost = Cpt(Signal, value=0, kind="normal",
                      doc="frames the camera produced that never arrived, this staging")
    frames_written = Cpt(Signal, value=0, kind="normal",
                         doc="frames in this staging's file")
    image = Cpt(S.ExternalImage, kind="normal")

    def __init__(self, name: str, camera_name: Optional[str] = None,
                 write_path: Union[str, os.PathLike, None] = None, *, library: Any = None,
                 asset_docs: str = "stream", file_template: str = DEFAULT_TEMPLATE,
                 compression: Optional[str] = None, flush_interval: float = 0.2, **kwargs: Any):
        self._camera: Optional[Camera] = None
        super().__init__("", name=name, **kwargs)
        if write_path is None:
            from ophyd_pvcam.catalog import frames_dir

            write_path = frames_dir()
        self.write_path = Path(write_path).expanduser()
        self._writer = AssetWriter(name, self.image.name, self.write_path,
                                   template=file_template, compression=compression,
                                   flush_interval=flush_interval)
        self._lock = threading.RLock()
        self._armed = False
        self._settings: Any = None
        self._mode: Optional[str] = None           # "step" or "fly" within one staging
        self._declared = False                      # describe_collect() seen since stage
        self._points_read = 0
        self._prepared_length: Optional[int] = None
        self._acquisition: Optional[Acquisition] = None
        self._lost_before = 0                       # frames lost by earlier acquisitions
        self._run_uid: Optional[str] = None
        self._following_runs = False
        self.asset_docs.subscribe(self._asset_mode_changed, run=False)
        self.asset_docs.put(asset_docs)
        self._asset_mode_changed()
        self._camera = Camera.open(camera_name, library=_load_library(library))
        self._speed_gain_cache: Optional[tuple[Any, tuple[str, str]]] = None
        for signal in (self.roi, self.binning, self.readout_port, self.speed_index,
                       self.gain_index, self.asset_docs):
            signal._guard = self._refuse_while_armed

    # -- camera ---------------------------------------------------------------
    @property
    def camera(self) -> Camera:
        """The open engine :class:`~ophyd_pvcam.engine.camera.Camera`."""
        if self._camera is None or self._camera.closed:
            raise AcquisitionError(f"{self.name}: the camera is closed", None, "camera")
        return self._camera

    def _camera_for(self, signal: Any) -> Optional[Any]:
        camera = self._camera
        if camera is None or camera.closed:
            return None
        if signal.attr == "_speed_gain":
            return self
        return camera

    @property
    def _speed_gain(self) -> tuple[str, str]:
        camera = self.camera
        key = (camera.readout_port, camera.speed_index, camera.gain_index)
        if self._speed_gain_cache is None or self._speed_gain_cache[0] != key:
            self._speed_gain_cache = (key, _speed_info(camera))
        return self._speed_gain_cache[1]

    def close(self) -> None:
        """Unstage if needed and close the camera (idempotent)."""
        try:
            if self._armed:
                self.unstage()
        finally:
            camera, self._camera = self._camera, None
            if camera is not None:
                camera.close()

    def destroy(self) -> None:
        """Close the camera, then let ophyd tear the device down."""
        try:
            self.close()
        finally:
            super().destroy()

    def follow_runs(self, run_engine: Any) -> int:
        """Name files after the RunEngine's runs (subscribe to its start/stop documents).

        Parameters
        ----------
        run_engine : bluesky.RunEngine

        Returns
        -------
        int
            The subscription token (``run_engine.unsubscribe(token)`` undoes it).
        """
        self._following_runs = True
        return run_engine.subscribe(self._on_document)

    def _on_document(self, name: str, doc: dict) -> None:
        if name == "start":
            self._run_uid = doc["uid"]
        elif name == "stop":
            self._run_uid = None

    # -- settings guards --------------------------------------------------------
    def _refuse_while_armed(self, signal: Any, value: Any) -> None:
        if self._armed:
            raise ValidationError(
                f"cannot change {signal.name} while {self.name} is staged (the staging's file "
                f"and documents are fixed); unstage first or put it in stage_sigs",
                None, signal.attr_name)

    def _asset_mode_changed(self, *args: Any, **kwargs: Any) -> None:
        # get_index() exists only in stream mode: bluesky treats a device with
        # get_index as a stream-asset writer and would ignore a legacy collect().
        if self.asset_docs.get() == "stream":
            self.get_index = self._get_index
        else:
            self.__dict__.pop("get_index", None)

    # -- staging ------------------------------------------------------------------
    def stage(self) -> list[object]:
        """Apply ``stage_sigs``, arm the detector and open this staging's file.

        Returns
        -------
        list
            The staged devices (ophyd convention).
        """
        self.camera  # fail early, before stage_sigs, when the camera is closed
        staged = super().stage()
        try:
            self._arm()
        except BaseException:
            self.unstage()
            raise
        return staged

    def _arm(self) -> None:
        with self._lock:
            self._settings = self.camera.acquisition_settings()
            self._mode, self._declared, self._points_read = None, False, 0
            self._prepared_length, self._acquisition, self._lost_before = None, None, 0
            self.frames_lost.put(0)
            self.frames_written.put(0)
            self._armed = True
            if self._run_uid is not None or not self._following_runs:
                self._open_file()

    def _open_file(self) -> None:
        if self._writer.is_open:
            return
        settings = self._settings
        attributes = {key: _attribute(value) for key, value in self.read_configuration().items()}
        path = self._writer.open(settings.frame_shape, settings.dtype, run_uid=self._run_uid,
                                 mode=self.asset_docs.get(), attributes=attributes)
        logger.info("%s: staged, frames go to %s", self.name, path)

    def unstage(self) -> list[object]:
        """Stop any acquisition, close the file and restore the staged settings.

        Runs every step even when one fails (also after a failed run, an
        abort or Ctrl-C); the first error is raised at the end.

        Returns
        -------
        list
            The unstaged devices.
        """
        errors: list[BaseException] = []
        acquisition = self._acquisition
        if acquisition is not None:
            # The plan is over: end a pending status with the frames so far
            # rather than failing it, which would replace the RunEngine's own
            # outcome (an abort, a stop) with a FailedStatus.
            _collect(errors, lambda: acquisition.cancel("unstaged", fail=False))
            _collect(errors, acquisition.join, 30.0)
        _collect(errors, self._writer.close)
        with self._lock:
            self._armed = False
        try:
            result = super().unstage()
        except BaseException as exc:
            errors.append(exc)
            result = [self]
        if errors:
            raise errors[0]
        return result

    def _require_armed(self, what: str) -> None:
        if not self._armed:
            raise AcquisitionError(f"{self.name}.{what}() needs a staged detector "
                                   f"(bluesky stages it in count and fly_stream)", None, what)

    def _enter_mode(self, mode: str) -> None:
        if self._mode not in (None, mode):
            raise AcquisitionError(f"{self.name}: trigger() and kickoff() cannot be mixed within "
                                   f"one staging; unstage first", None, mode)
        self._mode = mode

    def _check_frame_format(self) -> None:
        settings = self.camera.acquisition_settings()
        if settings.frame_shape != self._settings.frame_shape or settings.dtype != self._settings.dtype:
            raise ValidationError(
                f"{self.name}: frames are now {settings.frame_shape} {settings.dtype} but this "
                f"staging's file holds {self._settings.frame_shape} {self._settings.dtype}; "
                f"unstage and stage again", None, "frame_format")

    def _start(self, target: Optional[int]) -> FrameProgressStatus:
        """Start an acquisition of ``target`` frames (None: until finished)."""
        self._check_frame_format()
        self._open_file()
        initial = self._writer.frames_written
        status = FrameProgressStatus(self, None if not target else initial + target,
                                     initial=initial, call_stop_on_failure=False)
        factory = stream_factory(self.camera, buffer_mode=self.buffer_mode.get(),
                                 stall_timeout=self.stall_timeout.get() or None,
                                 stall_count=self.stall_count.get())
        acquisition = Acquisition(self.name, factory, self._writer, status, target=target,
                                  on_lost=self._frames_lost_changed)
        status.add_callback(self._acquisition_ended)
        self._acquisition = acquisition
        try:
            acquisition.start()
        except Exception as exc:  # noqa: BLE001 - reported through the status
            logger.error("%s: could not start acquiring: %s", self.name, exc)
        return status

    def _frames_lost_changed(self, lost_now: int) -> None:
        self.frames_lost.put(self._lost_before + lost_now)

    def _acquisition_ended(self, status: FrameProgressStatus) -> None:
        self.frames_written.put(self._writer.frames_written)
        acquisition = self._acquisition
        if acquisition is not None and acquisition.status is status:
            self._lost_before += acquisition.frames_lost
            self.frames_lost.put(self._lost_before)

    # -- step scans -----------------------------------------------------------------
    def trigger(self) -> Status:
        """Acquire ``frames_per_trigger`` frames; done when they are in the file.

        A trigger replayed by the RunEngine after a pause, before the previous
        point was read, returns the previous point's status instead of
        acquiring again: the file only ever holds frames that belong to
        events.

        Returns
        -------
        FrameProgressStatus
            Fails with the engine's error (e.g. ``StallError``).
        """
        self._require_armed("trigger")
        self._enter_mode("step")
        with self._lock:
            previous = self._acquisition
            if previous is not None and (not previous.status.done or (
                    previous.status.success and self._writer.get_index() > self._points_read)):
                # The RunEngine replays a trigger after a pause; the point it
                # asks for is being (or was) acquired and has not been read.
                logger.info("%s: trigger before the last point was read; reusing it", self.name)
                return previous.status
            frames = self.frames_per_trigger.get()
            self._writer.set_frames_per_event(frames)
            return self._start(frames)

    def read(self) -> "OrderedDict[str, dict]":
        """Read the data signals (the image only as a datum id, in legacy mode).

        Returns
        -------
        OrderedDict
        """
        if self._armed and self._mode == "step":
            self._points_read = max(self._points_read, self._writer.get_index())
        self.frames_written.put(self._writer.frames_written)
        return super().read()

    def _describe_image(self) -> dict[str, Any]:
        frames = 1 if self._mode == "fly" else self.frames_per_trigger.get()
        return self._image_key(frames)

    def _image_key(self, frames_per_event: int) -> dict[str, Any]:
        settings = self._settings if self._armed else self.camera.acquisition_settings()
        return image_data_key(f"PVCAM:{self.camera.name}", settings.frame_shape, settings.dtype,
                              frames_per_event=frames_per_event, mode=self.asset_docs.get())

    def _read_image(self) -> Optional[tuple[str, float]]:
        if self.asset_docs.get() == "stream" or not self._armed:
            return None
        index = self._writer.get_index()
        if index == 0:
            return None
        point = index - 1
        return self._writer.datum_id(point), self._writer.frame_time(point)

    def _get_index(self) -> int:
        """Number of complete events in the file (stream mode's ``get_index``).

        Returns
        -------
        int
        """
        return self._writer.get_index() if self._armed else 0

    def collect_asset_docs(self, index: Optional[int] = None) -> Iterator[tuple[str, dict]]:
        """Yield the asset documents of frames not yet documented.

        Stream mode: ``stream_resource`` once, then one ``stream_datum`` per
        new range of events (up to ``index``). Legacy mode: ``resource``
        once, then the ``datum`` documents.

        Parameters
        ----------
        index : int, optional
            Stop at this event index (bluesky passes it when several devices
            are collected together).

        Yields
        ------
        tuple of (str, dict)
        """
        if self.asset_docs.get() == "stream":
            if self._mode == "step":
                # A step scan documents exactly the points read so far.
                index = self._points_read if index is None else min(index, self._points_read)
            yield from self._writer.collect_stream_docs(index)
        else:
            yield from self._writer.collect_legacy_docs(new_events=self._mode == "fly")

    # -- fly scans ------------------------------------------------------------------
    def prepare(self, value: int) -> Status:
        """Set the number of frames of the next fly (this staging only).

        Parameters
        ----------
        value : int
            Frames; 0 runs until :meth:`complete`.

        Returns
        -------
        Status
            Failed with ``ValidationError`` for a bad value.
        """
        status = Status(self)
        try:
            self._prepared_length = S.non_negative_int("stream_length")(value)
        except Exception as exc:  # noqa: BLE001 - reported through the status
            status.set_exception(exc)
        else:
            status.set_finished()
        return status

    def describe_collect(self) -> dict[str, Any]:
        """Describe the fly-scan data: the image, one frame per event.

        Returns
        -------
        dict
            Stream mode: ``{"{name}_image": DataKey}`` (singly nested, for
            ``declare_stream``). Legacy mode: ``{"primary": {...}}``.
        """
        if self._armed:
            self._declared = True
        keys = {self.image.name: self._image_key(1)}
        return keys if self.asset_docs.get() == "stream" else {"primary": keys}

    def kickoff(self) -> Status:
        """Start streaming; done once the camera acquires.

        Raises
        ------
        AcquisitionError
            At once (before anything is acquired) when the detector is not
            staged, or, in stream mode, the stream was not declared: the
            message names :func:`ophyd_pvcam.plans.fly_stream`.

        Returns
        -------
        Status
        """
        hint = FLY_STREAM_HINT.format(name=self.name)
        if not self._armed:
            raise AcquisitionError(f"{self.name} is not staged: {hint}", None, "kickoff")
        if self.asset_docs.get() == "stream" and not self._declared:
            raise AcquisitionError(f"{self.name}'s stream was not declared: {hint}", None,
                                   "kickoff")
        self._enter_mode("fly")
        with self._lock:
            if self._acquisition is not None and not self._acquisition.done:
                raise AcquisitionError(f"{self.name} is already flying; complete() first",
                                       None, "kickoff")
            self._writer.set_frames_per_event(1)
            length = (self._prepared_length if self._prepared_length is not None
                      else self.stream_length.get())
            fly_status = self._start(length or None)
        kickoff_status = DeviceStatus(self)
        if fly_status.done and not fly_status.success:
            kickoff_status.set_exception(fly_status.exception())
        else:
            kickoff_status.set_finished()
        return kickoff_status

    def complete(self) -> FrameProgressStatus:
        """Finish the fly: done when ``stream_length`` frames are in the file.

        With ``stream_length`` 0 this stops the stream; the status is done
        when the last frame is written.

        Returns
        -------
        FrameProgressStatus
        """
        acquisition = self._acquisition
        if self._mode != "fly" or acquisition is None:
            raise AcquisitionError(f"{self.name}.complete() without kickoff()", None, "complete")
        acquisition.finish()
        return acquisition.status

    def collect(self) -> Iterator[dict[str, Any]]:
        """Yield one event per newly documented frame (legacy mode; stream mode yields none).

        Yields
        ------
        dict
            ``{"time", "data", "timestamps", "filled"}`` with the datum id.
        """
        key = self.image.name
        for point, datum_id in self._writer.pending_events():
            stamp = self._writer.frame_time(point)
            yield {"time": stamp, "data": {key: datum_id}, "timestamps": {key: stamp},
                   "filled": {key: False}}

    # -- interruptions -----------------------------------------------------------
    def stop(self, *, success: bool = False) -> None:
        """Stop acquiring now; returns once the frames captured are in the file.

        A fly ends like :meth:`complete` of an unbounded stream: its status
        finishes with the frames captured so far. A trigger's status fails
        (its point is incomplete). The file stays open until unstage.

        Parameters
        ----------
        success : bool
            Ignored (ophyd signature).
        """
        acquisition = self._acquisition
        if acquisition is not None and not acquisition.done:
            acquisition.cancel("stop() called", fail=self._mode != "fly")
            acquisition.join(60.0)

    def pause(self) -> None:
        """RunEngine pause: a fly stops acquiring until :meth:`resume` (same file).

        A trigger in progress is left to finish; the replayed trigger then
        reuses its frames (see :meth:`trigger`).
        """
        acquisition = self._acquisition
        if self._mode == "fly" and acquisition is not None:
            acquisition.pause()

    def resume(self) -> None:
        """RunEngine resume: a paused fly acquires its remaining frames."""
        acquisition = self._acquisition
        if self._mode == "fly" and acquisition is not None:
            acquisition.resume()

    @property
    def acquisition(self) -> Optional[Acquisition]:
        """The current (or last) acquisition of this staging."""
        return self._acquisition

    @property
    def file_path(self) -> Optional[Path]:
        """This staging's HDF5 file (the last one after unstage)."""
        return self._writer.path


def _load_library(library: Any) -> Any:
    if library is None:
        return sdk.load()
    if isinstance(library, str) and library == "sim":
        return sdk.load(simulated=True)
    if isinstance(library, (str, os.PathLike)):
        return sdk.load(library)
    return library


def _attribute(reading: dict) -> Any:
    value = reading.get("value")
    return value if value is not None else ""


def _collect(errors: list[BaseException], func: Any, *args: Any) -> None:
    try:
        func(*args)
    except BaseException as exc:  # noqa: BLE001 - re-raised by unstage after cleanup
        logger.exception("%s failed during unstage", getattr(func, "__name__", func))
        errors.append(exc)

