"""The ophyd device of a PVCAM camera: :class:`PVCAMDetector`.

One object serves step scans (``trigger``/``read``) and fly scans
(``kickoff``/``complete``/``collect``), writing every frame to one HDF5 file
per staging and describing it with StreamResource/StreamDatum documents (or,
with ``asset_docs="legacy"``, Resource/Datum for the ``PVCAM_HDF5`` handler).

Life cycle::

    cam = PVCAMDetector("cam")          # opens the camera (settings read back)
    RE(count([cam], 5))                 # stage; trigger x5 (the first makes the file); unstage
    RE(fly_stream([cam], 1000))         # ophyd_pvcam.plans.fly_stream
    cam.close()                         # closes the camera (also destroy())

Frame loss. Every start (``trigger``, ``kickoff``) first checks the
pre-flight budget of its frames (:meth:`PVCAMDetector.preflight`) and warns
or refuses as ``on_predicted_loss`` says; a frame lost while acquiring is
counted (``on_loss="record"``) or fails the status (``"fail"``); see
:mod:`ophyd_pvcam.device.losspolicy`.

``bluesky.plans.fly`` cannot drive a stream-mode detector (it neither stages
nor declares the stream); ``kickoff`` then fails at once, naming
:func:`ophyd_pvcam.plans.fly_stream`. In legacy mode,
``bpp.stage_wrapper(bp.fly([cam]), [cam])`` works.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from collections import OrderedDict
from typing import Any, Iterator, Optional, Union

from ophyd.status import DeviceStatus, Status

from ophyd_pvcam.engine.camera import Camera
from ophyd_pvcam.engine.errors import AcquisitionError, ValidationError
from ophyd_pvcam.engine.preflight import Prediction
from ophyd_pvcam.storage.paths import DEFAULT_TEMPLATE, announce_frame_root, withdraw_frame_root

from .acquisition import Acquisition
from .assets import FLY_STREAM_HINT, AssetDetectorMixin
from .controller import CameraController
from .losspolicy import PredictedLossGuard, note_run, predict_run
from .signals import DetectorSignals, frame_statistics
from .status import FrameProgressStatus
from .writer import AssetWriter, image_data_key

__all__ = ["PVCAMDetector", "FLY_STREAM_HINT"]

logger = logging.getLogger(__name__)

# Longest wait for the previous acquisition's stream to stop before the next starts.
_PREVIOUS_STOP_TIMEOUT_S = 30.0


class PVCAMDetector(AssetDetectorMixin, DetectorSignals):
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
    a RunEngine's start/stop documents, and the file, created at the first
    ``trigger``/``kickoff`` of a staging (a staging without frames leaves no
    file), is named after the open run. Otherwise (or without a RunEngine) a
    fresh uuid names the file. ``write_path`` may be reassigned between
    stagings.
    """

    def __init__(self, name: str, camera_name: Optional[str] = None,
                 write_path: Union[str, os.PathLike, None] = None, *, library: Any = None,
                 asset_docs: str = "stream", file_template: str = DEFAULT_TEMPLATE,
                 compression: Optional[str] = None, flush_interval: float = 0.2, **kwargs: Any):
        self._controller: Optional[CameraController] = None
        self._armed = False
        super().__init__("", name=name, **kwargs)
        self._write_path = _write_root(write_path)
        self._writer = AssetWriter(name, self.image.name, self._write_path,
                                   template=file_template, compression=compression,
                                   flush_interval=flush_interval)
        self._acquisition: Optional[Acquisition] = None
        self._lost_before = 0                       # frames lost by earlier acquisitions
        self._loss_guard = PredictedLossGuard(name)
        self._statistics_cache: Optional[tuple[Any, dict[str, float]]] = None
        self._last_described: Optional[set[str]] = None   # keys of the latest describe*()
        self._init_asset_state(asset_docs)
        self._controller = CameraController(name, camera_name, library)

    @property
    def write_path(self) -> Path:
        """Root directory of the frame files (see the class parameters).

        Assigning it takes effect at the next ``stage``; ``None`` means
        :func:`ophyd_pvcam.catalog.frames_dir`. An empty path is refused (it
        would write into whatever the current directory is), and so is a
        change while staged.
        """
        return self._write_path

    @write_path.setter
    def write_path(self, value: Union[str, os.PathLike, None]) -> None:
        if self._armed:
            raise ValidationError(f"cannot change {self.name}.write_path while staged; "
                                  "unstage first", None, "write_path")
        self._write_path = _write_root(value)
        self._writer.root = self._write_path

    # -- AssetDetectorMixin hooks -------------------------------------------------
    @property
    def _asset_writer(self) -> AssetWriter:
        return self._writer

    @property
    def _current_acquisition(self) -> Optional[Acquisition]:
        return self._acquisition

    # -- camera ---------------------------------------------------------------
    @property
    def camera(self) -> Camera:
        """The open engine :class:`~ophyd_pvcam.engine.camera.camera.Camera`."""
        if self._controller is None:
            raise AcquisitionError(f"{self.name}: the camera is closed", None, "camera")
        return self._controller.camera

    def _camera_for(self, signal: Any) -> Optional[Any]:
        controller = self._controller
        if controller is None or not controller.is_open:
            return None
        return controller if signal.attr == "speed_gain_names" else controller.camera

    def _camera_setting_made(self, attr: str, value: Any) -> None:
        # CameraSignal.put: remembered so a camera reopened after an unplug gets it back.
        if self._controller is not None:
            self._controller.remember(attr, value)

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

    # -- staging ------------------------------------------------------------------
    def stage(self) -> list[object]:
        """Apply ``stage_sigs`` and arm the detector (the first trigger/kickoff makes the file).

        Returns
        -------
        list
            The staged devices (ophyd convention).

        Raises
        ------
        ValidationError
            When ``write_path`` cannot be created or written to.
        AcquisitionError
            When the camera was removed (unplugged) and is not back yet; once
            it is, stage reopens it and applies the settings made through
            the device again.

        Notes
        -----
        While staged, the write root is announced
        (:func:`~ophyd_pvcam.storage.paths.announce_frame_root`): the run
        writer of a local catalog (:func:`ophyd_pvcam.catalog.writer`) then
        refuses a run whose frames it could not read, at the run's start.
        """
        if self._controller is not None:
            self._controller.reopen_if_removed()   # after an unplug, once the camera is back
        self.camera  # fail early, before stage_sigs, when the camera is closed
        return super().stage()

    def _arm(self) -> None:
        with self._lock:
            settings = self._controller.arm()
            if len(settings.regions) > 1 and self.asset_docs.get() != "stream":
                self._controller.disarm()
                raise ValidationError(f"{self.name}: several regions need asset_docs='stream' "
                                      f"(legacy documents hold one image per event)",
                                      None, "rois")
            self._acquisition, self._lost_before = None, 0
            self._loss_guard.reset()
            self._begin_staging()
            # The file is created by the first trigger/kickoff (named after the
            # run when following one): a staging without frames leaves no file.
            self._writer.reset()
            self._check_write_root()
            announce_frame_root(self.name, self._write_path)

    def _check_write_root(self) -> None:
        """Refuse at stage a root the file could not be created under (the file comes later)."""
        root = self._write_path
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ValidationError(f"{self.name}: cannot create write_path {str(root)!r}: "
                                  f"{exc.strerror}", None, "write_path") from None
        if not os.access(root, os.W_OK | os.X_OK):
            raise ValidationError(f"{self.name}: write_path {str(root)!r} is not writable",
                                  None, "write_path")

    def _open_file(self) -> None:
        if self._writer.is_open:
            return
        settings = self._controller.settings
        attributes = {key: _attribute(value) for key, value in self.read_configuration().items()}
        path = self._writer.open(settings.frame_shape, settings.dtype, run_uid=self._run_uid,
                                 mode=self.asset_docs.get(), attributes=attributes,
                                 region_shapes=_region_shapes(settings.regions[1:]))
        logger.info("%s: frames go to %s", self.name, path)

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
            self._unstage_step(errors, lambda: acquisition.cancel("unstaged", fail=False))
            self._unstage_step(errors, acquisition.join, 30.0)
        self._unstage_step(errors, self._writer.close)
        withdraw_frame_root(self.name)
        with self._lock:
            self._armed = False
            if self._controller is not None:
                self._controller.disarm()
        return self._finish_unstage(errors)

    # -- frame loss -------------------------------------------------------------
    def preflight(self, num_frames: Optional[int] = None, *,
                  compression_ratio: float = 1.0) -> Prediction:
        """Predict whether ``num_frames`` frames with the current settings arrive without loss.

        From the camera's frame size and rate (exposure + readout), the
        destination's sustained write rate
        (:func:`~ophyd_pvcam.storage.sink.sink_rate`: ``PVCAM_SINK_RATE``, or
        measured once and cached), the RAM budget
        (``PVCAM_HOST_MEMORY_BUDGET``) and the free disk space. ``str()`` of
        the result is the message: "loss-free for N frames / T s", with the
        remedy when the run does not fit. Nothing is armed or started.

        Parameters
        ----------
        num_frames : int, optional
            Frames of the run; None (or 0) for an open-ended one.
        compression_ratio : float
            Expected raw : stored ratio (1.0 assumes nothing compresses).

        Returns
        -------
        Prediction
        """
        return predict_run(self.camera.acquisition_settings(), num_frames, self._destination(),
                           compression_ratio=compression_ratio)

    @property
    def last_prediction(self) -> Optional[Prediction]:
        """The prediction checked at the last start (None before the first)."""
        return self._loss_guard.last

    def _destination(self) -> Path:
        path = self._writer.path if self._writer.is_open else None
        return path.parent if path is not None else self.write_path

    def _check_predicted_loss(self, target: Optional[int]) -> None:
        call = "kickoff" if self._mode == "fly" else "trigger"
        self._loss_guard.check(self.preflight(target), self.on_predicted_loss.get(), call)

    def _start(self, target: Optional[int]) -> FrameProgressStatus:
        """Start an acquisition of ``target`` frames (None: until finished)."""
        # Before the camera moves: a refused run starts no stream.
        self._check_predicted_loss(target)
        self._open_file()
        previous = self._acquisition
        if previous is not None:
            # A finished trigger's stream may still be stopping (its status ends
            # as soon as the frames are flushed): the camera must be idle again.
            previous.join(_PREVIOUS_STOP_TIMEOUT_S)
        acquisition = self._controller.start(
            self, self._writer, target, buffer_mode=self.buffer_mode.get(),
            stall_timeout=self.stall_timeout.get() or None, stall_count=self.stall_count.get(),
            on_lost=self._frames_lost_changed, on_loss=self.on_loss.get(),
            on_run_stats=lambda stats: note_run(self._destination(), stats))
        self._acquisition = acquisition
        acquisition.status.add_callback(self._acquisition_ended)
        return acquisition.status

    def _frames_lost_changed(self, lost_now: int) -> None:
        self.frames_lost.put(self._lost_before + lost_now)

    def _acquisition_ended(self, status: FrameProgressStatus) -> None:
        if status.done and not status.success:
            self._controller.note_failure(status.exception())
        self.frames_written.put(self._writer.frames_written)
        acquisition = self._acquisition
        if acquisition is not None and acquisition.status is status:
            self._lost_before += acquisition.frames_lost
            self.frames_lost.put(self._lost_before)

    # -- step scans and documents ---------------------------------------------------
    def _image_key(self, frames_per_event: int) -> dict[str, Any]:
        settings = self._controller.settings
        return image_data_key(self._controller.source, settings.frame_shape, settings.dtype,
                              frames_per_event=frames_per_event, mode=self.asset_docs.get())

    def _per_frame_keys(self, frames_per_event: int) -> dict[str, Any]:
        """The per-frame fields' DataKeys and, with several regions, one image key per region."""
        keys = super()._per_frame_keys(frames_per_event)
        settings = self._controller.settings
        if len(settings.regions) > 1 and self.asset_docs.get() == "stream":
            source = self._controller.source
            for key, (_, shape) in self._writer.region_keys(
                    _region_shapes(settings.regions[1:])).items():
                keys[key] = image_data_key(source, shape, settings.dtype,
                                           frames_per_event=frames_per_event)
        return keys

    def _frame_statistics(self) -> Optional[dict[str, float]]:
        # Computed here, on the RunEngine's thread at read time, from the frame still in
        # memory, once per frame: the frame path never pays for it.
        frame = self._writer.last_frame
        if frame is None:
            return None
        cached = self._statistics_cache
        if cached is None or cached[0] is not frame:
            cached = self._statistics_cache = (frame, frame_statistics(frame.data, frame.host_time))
        return cached[1]

    def _read_image(self) -> Optional[tuple[str, float]]:
        if self.asset_docs.get() == "stream" or not self._armed:
            return None
        return self._writer.latest_datum()

    def describe(self) -> "OrderedDict[str, dict]":
        """Describe the data signals, the image and the per-frame fields documented with it.

        Returns
        -------
        OrderedDict
            As :meth:`AssetDetectorMixin.describe`, plus the hinted per-point
            ``{name}_frame_sum``, ``_frame_mean`` and ``_frame_max``.
        """
        description = super().describe()
        self._last_described = set(description)
        return description

    @property
    def hints(self) -> dict[str, Any]:
        """The hinted fields of the stream being described.

        ``{name}_frame_sum``, ``_frame_mean`` and ``_frame_max`` in step scans.
        A fly scan's stream (:meth:`describe_collect`) has no per-point
        numbers, and bluesky reads the hints right after the description, so
        only fields of the latest description are hinted.

        Returns
        -------
        dict
            ``{"fields": [...]}``.
        """
        hints = super().hints
        if self._last_described is not None:
            hints = {**hints, "fields": [f for f in hints.get("fields", [])
                                         if f in self._last_described]}
        return hints

    # -- fly scans ------------------------------------------------------------------
    def describe_collect(self) -> dict[str, Any]:
        """Describe the fly-scan data: the image, one frame per event.

        Returns
        -------
        dict
            ``{"{name}_image": DataKey}`` plus, in stream mode, the per-frame
            fields chosen with :meth:`record_per_frame` (singly nested), as ``declare_stream``
            needs before ``kickoff``. In legacy mode, when asked after an
            undeclared ``kickoff`` (``bluesky.plans.fly``, which never declares
            the stream), ``{"primary": {...}}`` instead, as that plan needs.
        """
        keys = {self.image.name: self._image_key(1), **self._per_frame_keys(1)}
        self._last_described = set(keys)
        if self._armed and self._mode != "fly":
            self._declared = True      # declare_stream asks before kickoff
        if self.asset_docs.get() == "legacy" and not self._declared:
            return {"primary": keys}
        return keys

    def _new_kickoff_status(self) -> DeviceStatus:
        return DeviceStatus(self)

    def _finish_kickoff(self, kickoff_status: DeviceStatus, fly_status: Status) -> None:
        # The acquisition thread is running: kickoff is done unless it already failed.
        if fly_status.done and not fly_status.success:
            kickoff_status.set_exception(fly_status.exception())
        else:
            kickoff_status.set_finished()

    def complete(self) -> FrameProgressStatus:
        """Finish the fly: done when ``stream_length`` frames are in the file.

        With ``stream_length`` 0 this stops the stream; the status is done
        when the last frame is written.

        Returns
        -------
        FrameProgressStatus
        """
        acquisition = self._flying_acquisition()
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


def _region_shapes(regions: Any) -> list[tuple[int, int]]:
    """``(h, w)`` of each SDK region ``(s1, s2, sbin, p1, p2, pbin)``."""
    return [((p2 - p1 + 1) // pbin, (s2 - s1 + 1) // sbin) for s1, s2, sbin, p1, p2, pbin
            in regions]


def _write_root(value: Union[str, os.PathLike, None]) -> Path:
    """``write_path`` as a directory: the catalog's frames directory for None; "" refused."""
    if value is None:
        from ophyd_pvcam.catalog import frames_dir

        return frames_dir()
    if not str(os.fspath(value)).strip():
        raise ValidationError("write_path is empty: give the directory the frame files go "
                              "under (None: the local catalog's frames directory)",
                              None, "write_path")
    return Path(value).expanduser()


def _attribute(reading: dict) -> Any:
    value = reading.get("value")
    return value if value is not None else ""

