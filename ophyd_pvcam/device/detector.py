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

from ophyd.status import DeviceStatus, Status

from ophyd_pvcam.engine.camera import Camera
from ophyd_pvcam.engine.errors import AcquisitionError, ValidationError
from ophyd_pvcam.storage.paths import DEFAULT_TEMPLATE

from . import signals as S
from .signals import DetectorSignals
from .acquisition import Acquisition
from .controller import CameraController
from .status import FrameProgressStatus
from .writer import AssetWriter, image_data_key

__all__ = ["PVCAMDetector", "FLY_STREAM_HINT"]

logger = logging.getLogger(__name__)

# Longest wait for the previous acquisition's stream to stop before the next starts.
_PREVIOUS_STOP_TIMEOUT_S = 30.0

#: What a refused ``kickoff`` tells the user (one line).
FLY_STREAM_HINT = ("use ophyd_pvcam.plans.fly_stream([{name}]) (bluesky.plans.fly neither "
                   "stages nor declares the stream)")


class PVCAMDetector(DetectorSignals):
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

    def __init__(self, name: str, camera_name: Optional[str] = None,
                 write_path: Union[str, os.PathLike, None] = None, *, library: Any = None,
                 asset_docs: str = "stream", file_template: str = DEFAULT_TEMPLATE,
                 compression: Optional[str] = None, flush_interval: float = 0.2, **kwargs: Any):
        self._controller: Optional[CameraController] = None
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
        self._controller = CameraController(name, camera_name, library)
        for signal in (self.roi, self.binning, self.readout_port, self.speed_index,
                       self.gain_index, self.asset_docs):
            signal._guard = self._refuse_while_armed

    # -- camera ---------------------------------------------------------------
    @property
    def camera(self) -> Camera:
        """The open engine :class:`~ophyd_pvcam.engine.camera.Camera`."""
        if self._controller is None:
            raise AcquisitionError(f"{self.name}: the camera is closed", None, "camera")
        return self._controller.camera

    def _camera_for(self, signal: Any) -> Optional[Any]:
        controller = self._controller
        if controller is None or not controller.is_open:
            return None
        return controller if signal.attr == "speed_gain_names" else controller.camera

    def close(self) -> None:
        """Unstage if needed and close the camera (idempotent)."""
        try:
            if self._armed:
                self.unstage()
        finally:
            if self._controller is not None:
                self._controller.close()

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
            self._controller.arm()
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
        settings = self._controller.settings
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
            if self._controller is not None:
                self._controller.disarm()
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

    def _start(self, target: Optional[int]) -> FrameProgressStatus:
        """Start an acquisition of ``target`` frames (None: until finished)."""
        self._open_file()
        previous = self._acquisition
        if previous is not None:
            # A finished trigger's stream may still be stopping (its status ends
            # as soon as the frames are flushed): the camera must be idle again.
            previous.join(_PREVIOUS_STOP_TIMEOUT_S)
        acquisition = self._controller.start(
            self, self._writer, target, buffer_mode=self.buffer_mode.get(),
            stall_timeout=self.stall_timeout.get() or None, stall_count=self.stall_count.get(),
            on_lost=self._frames_lost_changed)
        self._acquisition = acquisition
        acquisition.status.add_callback(self._acquisition_ended)
        return acquisition.status

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
        settings = self._controller.settings
        return image_data_key(self._controller.source, settings.frame_shape, settings.dtype,
                              frames_per_event=frames_per_event, mode=self.asset_docs.get())

    def _read_image(self) -> Optional[tuple[str, float]]:
        if self.asset_docs.get() == "stream" or not self._armed:
            return None
        return self._writer.latest_datum()

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
            ``{"{name}_image": DataKey}`` (singly nested), as ``declare_stream``
            needs before ``kickoff``. In legacy mode, when asked after an
            undeclared ``kickoff`` (``bluesky.plans.fly``, which never declares
            the stream), ``{"primary": {...}}`` instead, as that plan needs.
        """
        keys = {self.image.name: self._image_key(1)}
        if self._armed and self._mode != "fly":
            self._declared = True      # declare_stream asks before kickoff
        if self.asset_docs.get() == "legacy" and not self._declared:
            return {"primary": keys}
        return keys

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
        yield from self._writer.events()

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
    def controller(self) -> CameraController:
        """The :class:`~ophyd_pvcam.device.controller.CameraController` (camera, armed settings).

        It outlives :meth:`close`; its ``camera`` property then raises.
        """
        return self._controller

    @property
    def acquisition(self) -> Optional[Acquisition]:
        """The current (or last) acquisition of this staging."""
        return self._acquisition

    @property
    def file_path(self) -> Optional[Path]:
        """This staging's HDF5 file (the last one after unstage)."""
        return self._writer.path


def _attribute(reading: dict) -> Any:
    value = reading.get("value")
    return value if value is not None else ""


def _collect(errors: list[BaseException], func: Any, *args: Any) -> None:
    try:
        func(*args)
    except BaseException as exc:  # noqa: BLE001 - re-raised by unstage after cleanup
        logger.exception("%s failed during unstage", getattr(func, "__name__", func))
        errors.append(exc)

