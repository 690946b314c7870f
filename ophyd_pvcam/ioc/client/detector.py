"""The ophyd client of the PVCAM server: :class:`RemotePVCAMDetector`.

It behaves like the in-process :class:`~ophyd_pvcam.device.detector.PVCAMDetector`
-- same signal names, same ``count`` and fly behaviour, same status semantics
(frame progress; failure with :class:`~ophyd_pvcam.engine.errors.StallError`
and the server's diagnosis on a stall) and the same documents -- but the
camera and the HDF5 file live with the server. Switching a profile is one
line::

    cam = PVCAMDetector("cam", write_path=frames)                  # in-process
    cam = RemotePVCAMDetector("PVCAM:", name="cam", write_path=...)  # over EPICS

Works with both ophyd control layers (``ophyd.set_cl('caproto')`` or
``'pyepics'``).

Files. At staging the client names the file (``<write_path>/YYYY/MM/DD/<name>_<run uid>.h5``
on the server), starts the server's capture and reads ``FullFileName_RBV``;
documents point at ``read_path`` instead of ``write_path`` when the client
mounts the server's directory elsewhere. Documents only cover frames the
server has flushed (``HDF1:NumWritten_RBV``).

Settings. Every ``set`` is confirmed from the server's read-back within
``put_timeout`` seconds; a refused value fails the status with the server's
own message (:class:`~.signals.RemoteSettingError`).

Acquisitions. ``trigger``/``kickoff`` put ``cam1:Acquire`` with completion;
when it completes the client reads ``DetectorState_RBV``,
``StatusMessage_RBV``, ``LastError_RBV`` and the file counters, and ends the
status accordingly. Frame times of legacy fly events are the client's times
of seeing the frames flushed.
"""
from __future__ import annotations

import concurrent.futures
import logging
import os
import uuid
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Optional, Union

import numpy as np
from ophyd import Component as Cpt
from ophyd import Device, EpicsSignalRO, Signal
from ophyd.status import Status

from ophyd_pvcam.device import signals as S
from ophyd_pvcam.device.assets import AssetDetectorMixin
from ophyd_pvcam.device.status import FrameProgressStatus
from ophyd_pvcam.device.writer import ASSET_MODES, image_data_key
from ophyd_pvcam.engine.errors import (
    AcquisitionError,
    ValidationError,
)
from ophyd_pvcam.storage.errors import StorageError
from ophyd_pvcam.storage.paths import DEFAULT_TEMPLATE, make_file_path

from .assets import RemoteAssetWriter
from .fly import FlyMixin
from .records import RemoteCam, RemoteHDF5, RemotePreview, RemoteStats, _Run, remote_error
from .records import end_status as _end
from .signals import (
    PUT_TIMEOUT,
    CheckedSignal,
    PairSignal,
    RegionSignal,
    SensorSignal,
    engine_name,
    estimated_timeout,
    menu_label,
)

__all__ = ["RemotePVCAMDetector", "RemoteCam", "RemoteHDF5", "RemotePreview",
           "remote_error"]

logger = logging.getLogger(__name__)

_BUFFER_LABELS = {"auto": "Auto", "overwrite": "Overwrite", "no_overwrite": "No overwrite"}
_COMPRESSIONS = {None: "None", "none": "None", "blosc": "Blosc", "bitshuffle-lz4": "BSLZ4"}
# Seconds added to the estimated duration of a bounded acquisition.
_ACQUIRE_MARGIN = 30.0


class RemotePVCAMDetector(FlyMixin, AssetDetectorMixin, Device):
    """A PVCAM camera served by ``python -m ophyd_pvcam.ioc``, as an ophyd device.

    Parameters
    ----------
    prefix : str
        The server's record prefix for this camera (e.g. ``"PVCAM:"``).
    name : str
        Device name; the image data key is ``{name}_image``.
    write_path : str, optional
        Directory *on the server* under which files go (inside its write
        root); default the server's write root (``HDF1:WriteRoot_RBV``).
    read_path : path-like, optional
        Where this client sees ``write_path`` (a mount); default the same path.
    asset_docs : {"stream", "legacy"}
        Initial value of the ``asset_docs`` signal.
    file_template : str
        File name template relative to ``write_path``
        (:func:`~ophyd_pvcam.storage.paths.make_file_path`).
    compression : {None, "blosc", "bitshuffle-lz4"}
        Compression the server applies.
    put_timeout : float
        Seconds a setting may take to be confirmed.
    acquire_timeout : float, optional
        Limit of a bounded acquisition; default twice the expected duration
        plus 30 s. Unbounded flies have none (a stall ends them on the server).
    **kwargs
        Passed to :class:`ophyd.Device`.
    """

    # -- camera settings (configuration), named as PVCAMDetector's -----------
    exposure_time = Cpt(CheckedSignal, "cam1:AcquireTime", kind="config", doc="exposure time [s]")
    roi = Cpt(RegionSignal, parts=("cam.min_x", "cam.min_y", "cam.size_x", "cam.size_y"),
              sensor=("cam.max_size_x", "cam.max_size_y"), kind="config",
              doc="region of interest (x, y, width, height) in unbinned sensor pixels")
    binning = Cpt(PairSignal, parts=("cam.bin_x", "cam.bin_y"), kind="config",
                  doc="(serial, parallel) binning")
    readout_port = Cpt(CheckedSignal, "cam1:ReadoutPort", string=True, kind="config")
    speed_index = Cpt(CheckedSignal, "cam1:SpeedTableIndex", kind="config")
    gain_index = Cpt(CheckedSignal, "cam1:GainIndex", kind="config")
    clear_mode = Cpt(CheckedSignal, "cam1:ClearMode", string=True, kind="config")
    exposure_mode = Cpt(CheckedSignal, "cam1:ExposureMode", string=True, kind="config",
                        to_server=menu_label, from_server=engine_name,
                        doc="trigger mode ('internal', 'software_edge', ...)")
    temperature_setpoint = Cpt(CheckedSignal, "cam1:SetTemperature", kind="config")
    temperature = Cpt(EpicsSignalRO, "cam1:MeasuredTemperature_RBV", kind="normal")
    # -- what is needed to interpret a frame ----------------------------------
    camera_name = Cpt(EpicsSignalRO, "cam1:CameraName_RBV", string=True, kind="config")
    sensor = Cpt(SensorSignal, parts=("cam.model", "cam.chip_name"), kind="config")
    serial_number = Cpt(EpicsSignalRO, "cam1:SerialNumber_RBV", string=True, kind="config")
    sensor_size = Cpt(PairSignal, parts=("cam.max_size_x", "cam.max_size_y"), read_only=True,
                      kind="config")
    bit_depth = Cpt(EpicsSignalRO, "cam1:BitDepth_RBV", kind="config")
    speed_name = Cpt(EpicsSignalRO, "cam1:SpeedName_RBV", string=True, kind="config")
    gain_name = Cpt(EpicsSignalRO, "cam1:GainName_RBV", string=True, kind="config")
    # -- acquisition options --------------------------------------------------
    frames_per_trigger = Cpt(S.SettingSignal, value=1,
                             validator=S.positive_int("frames_per_trigger",
                                                      S.FRAMES_PER_TRIGGER_MAX),
                             kind="config", doc="frames per step-scan point, 1 to 1000000")
    stream_length = Cpt(S.SettingSignal, value=0,
                        validator=S.non_negative_int("stream_length", S.STREAM_LENGTH_MAX),
                        kind="config",
                        doc="frames per fly, 0 to 2**31 - 1; 0 = until complete() stops it")
    buffer_mode = Cpt(CheckedSignal, "cam1:BufferMode", string=True, kind="config",
                      to_server=lambda v: _BUFFER_LABELS.get(v, v),
                      from_server=lambda v: {b: a for a, b in _BUFFER_LABELS.items()}.get(v, v))
    stall_timeout = Cpt(CheckedSignal, "cam1:StallTimeout", kind="config",
                        doc="seconds without a frame that count as one timeout, 0.05 to 86400 "
                            "(0: automatic)")
    stall_count = Cpt(CheckedSignal, "cam1:StallCount", kind="config",
                      doc="consecutive timeouts that make a stall, 1 to 1000")
    # -- loss policies (PVCAMDetector's; applied by the server) ----------------
    on_predicted_loss = Cpt(CheckedSignal, "cam1:OnPredictedLoss", string=True, kind="omitted",
                            doc="'warn' (default): the server logs a predicted loss and "
                                "acquires; 'refuse': an acquisition predicted to lose frames "
                                "fails with PredictedLossError before the camera starts")
    on_loss = Cpt(CheckedSignal, "cam1:OnLoss", string=True, kind="omitted",
                  doc="'record' (default): lost frames are counted (frames_lost); 'fail': "
                      "the status fails with FramesLostError at the first lost frame, the "
                      "frames captured kept in the file")
    asset_docs = Cpt(S.SettingSignal, value="stream",
                     validator=S.one_of("asset_docs", ASSET_MODES), kind="config")
    # -- data -----------------------------------------------------------------
    frames_lost = Cpt(Signal, value=0, kind="normal",
                      doc="frames the camera produced that never arrived, this staging")
    frames_written = Cpt(Signal, value=0, kind="normal", doc="frames in this staging's file")
    image = Cpt(S.ExternalImage, kind="normal")
    frame_sum = Cpt(S.FrameStatistic, statistic="sum", kind="hinted",
                    doc="sum of the pixels of the point's last frame (Stats1:Total_RBV)")
    frame_mean = Cpt(S.FrameStatistic, statistic="mean", kind="hinted",
                     doc="mean pixel value of the point's last frame (Stats1:MeanValue_RBV)")
    frame_max = Cpt(S.FrameStatistic, statistic="max", kind="hinted",
                    doc="largest pixel value of the point's last frame (Stats1:MaxValue_RBV)")
    # -- the server's records -------------------------------------------------
    _staged_settings_reason = "the file's frame shape and type are fixed"

    cam = Cpt(RemoteCam, "cam1:", kind="omitted")
    hdf1 = Cpt(RemoteHDF5, "HDF1:", kind="omitted")
    preview = Cpt(RemotePreview, "image1:", kind="omitted")
    stats = Cpt(RemoteStats, "Stats1:", kind="omitted")

    def __init__(self, prefix: str, *, name: str, write_path: Optional[str] = None,
                 read_path: Union[str, os.PathLike, None] = None, asset_docs: str = "stream",
                 file_template: str = DEFAULT_TEMPLATE, compression: Optional[str] = None,
                 put_timeout: float = PUT_TIMEOUT, acquire_timeout: Optional[float] = None,
                 **kwargs: Any):
        self._workers = {kind: concurrent.futures.ThreadPoolExecutor(
            1, thread_name_prefix=f"{name}-{kind}") for kind in ("check", "task")}
        super().__init__(prefix, name=name, **kwargs)
        if compression not in _COMPRESSIONS:
            raise ValidationError(f"compression must be one of {list(_COMPRESSIONS)}, got "
                                  f"{compression!r}", None, "compression")
        self.write_path = write_path
        self.read_path = Path(read_path).expanduser() if read_path is not None else None
        self.file_template = file_template
        self.compression = compression
        self.put_timeout = float(put_timeout)
        self.acquire_timeout = acquire_timeout
        self._assets = RemoteAssetWriter(name, self.image.name)
        self._frame_format: Optional[tuple[tuple[int, int], np.dtype]] = None
        self._run: Optional[_Run] = None
        self._lost_base = 0
        self._written_token: Optional[int] = None
        for signal in self.component_names:
            component = getattr(type(self), signal)
            if getattr(component, "cls", None) is CheckedSignal and not component.lazy:
                getattr(self, signal).put_timeout = self.put_timeout
        self._init_asset_state(asset_docs)

    # -- AssetDetectorMixin hooks -----------------------------------------------
    @property
    def _asset_writer(self) -> RemoteAssetWriter:
        return self._assets

    @property
    def _current_acquisition(self) -> Optional[_Run]:
        return self._run

    # -- plumbing -------------------------------------------------------------
    def _submit(self, kind: str, func: Callable[[], None]) -> None:
        """Run ``func`` on the named worker thread ``kind`` ("check" or "task")."""
        self._workers[kind].submit(func)

    def destroy(self) -> None:
        """Unstage if needed, stop the worker threads, let ophyd tear the device down."""
        try:
            if self._armed:
                self.unstage()
        finally:
            for worker in self._workers.values():
                worker.shutdown(wait=True)
            super().destroy()

    def _wait(self, status: Status, what: str) -> None:
        """Wait for a setting's status (raises its error)."""
        status.wait(self.put_timeout + 1.0)

    def _ensure(self, signal: Any, value: Any) -> None:
        """Set ``signal`` to ``value`` unless the server already holds it."""
        current = signal.get(use_monitor=False)
        if isinstance(value, str) or isinstance(current, str):
            same = str(current) == str(value)
        else:
            same = current == value
        if not same:
            self._wait(signal.set(value), signal.name)

    # -- staging --------------------------------------------------------------
    def _arm(self) -> None:
        with self._lock:
            height = int(self.cam.array_size_y.get(use_monitor=False))
            width = int(self.cam.array_size_x.get(use_monitor=False))
            dtype = np.dtype(str(self.cam.data_type.get(use_monitor=False)).lower())
            self._frame_format = ((height, width), dtype)
            self._run = None
            self._lost_base = int(self.cam.lost_frames.get(use_monitor=False))
            self._begin_staging()
            self._written_token = self.hdf1.num_written.subscribe(self._written_changed,
                                                                 run=False)
            self._open_file_unless_run_pending()

    def _server_paths(self) -> tuple[PurePosixPath, Optional[Path]]:
        """(server directory for files, client directory that mirrors it)."""
        root = self.write_path or str(self.hdf1.write_root.get(use_monitor=False))
        return PurePosixPath(root), self.read_path

    def _open_file(self) -> None:
        if self._assets.is_open:
            return
        root, mirror = self._server_paths()
        relative = make_file_path("/", self.file_template, run_uid=self._run_uid or
                                  str(uuid.uuid4()), device=self.name).relative_to("/")
        target = root / PurePosixPath(relative.as_posix())
        hdf = self.hdf1
        if str(hdf.capture.get(use_monitor=False)) != "Done":
            self._wait(hdf.capture.set("Done"), "capture")
        for signal, value in ((hdf.enable, "Enable"), (self.cam.array_callbacks, "Enable"),
                              (hdf.file_write_mode, "Stream"), (hdf.create_directory, -3),
                              (hdf.compression, _COMPRESSIONS[self.compression]),
                              (hdf.auto_increment, "No"), (hdf.num_capture, 0),
                              (hdf.file_path, str(target.parent) + "/"),
                              (hdf.file_name, target.stem),
                              (hdf.file_template, "%s%s" + target.suffix),
                              (hdf.file_number, 0)):
            self._ensure(signal, value)
        self._wait(hdf.capture.set("Capture"), "capture")
        server_file = PurePosixPath(str(hdf.full_file_name.get(use_monitor=False)))
        local = Path(server_file)
        if mirror is not None:
            local = mirror / server_file.relative_to(root)
        shape, dtype = self._frame_format
        self._assets.open_remote(local, shape, dtype, mode=self.asset_docs.get())
        logger.info("%s: staged, the server writes %s", self.name, server_file)

    def unstage(self) -> list[object]:
        """Stop any acquisition, end the server's capture, restore staged settings.

        Every step runs even when one fails; the first error is raised at the end.

        Returns
        -------
        list
        """
        errors: list[BaseException] = []
        run = self._run
        if run is not None and not run.done:
            self._unstage_step(errors, self._cancel, run, "unstaged")
            self._unstage_step(errors, _wait_quietly, run.status, self.put_timeout + 30.0)
        self._unstage_step(errors, self._end_capture)
        self._unstage_step(errors, self._assets.close)
        with self._lock:
            if self._written_token is not None:
                self.hdf1.num_written.unsubscribe(self._written_token)
                self._written_token = None
            self._armed = False
            self._run = None
        return self._finish_unstage(errors)

    def _end_capture(self) -> None:
        if self._assets.is_open or str(self.hdf1.capture.get(use_monitor=False)) != "Done":
            self._wait(self.hdf1.capture.set("Done"), "capture")

    def _check_frame_format(self) -> None:
        height = int(self.cam.array_size_y.get(use_monitor=False))
        width = int(self.cam.array_size_x.get(use_monitor=False))
        dtype = np.dtype(str(self.cam.data_type.get(use_monitor=False)).lower())
        shape, staged_dtype = self._frame_format
        if (height, width) != shape or dtype != staged_dtype:
            raise ValidationError(
                f"{self.name}: frames are now {(height, width)} {dtype} but this staging's file "
                f"holds {shape} {staged_dtype}; unstage and stage again", None, "frame_format")

    # -- acquisitions -----------------------------------------------------------
    def _timeout(self, target: Optional[int]) -> Optional[float]:
        if not target:
            return None
        if self.acquire_timeout is not None:
            return self.acquire_timeout
        period = float(self.cam.frame_period.get(use_monitor=False))
        return estimated_timeout(target, period, _ACQUIRE_MARGIN)

    def _configure(self, target: Optional[int]) -> None:
        if target:
            self._ensure(self.cam.image_mode, "Multiple")
            self._ensure(self.cam.num_images, int(target))
        else:
            self._ensure(self.cam.image_mode, "Continuous")

    def _start(self, target: Optional[int]) -> FrameProgressStatus:
        """Start a server acquisition of ``target`` frames (None: until finished)."""
        self._check_frame_format()
        self._open_file()
        initial = self._assets.frames_written
        status = FrameProgressStatus(self, None if not target else initial + target,
                                     initial=initial, call_stop_on_failure=False,
                                     timeout=self._timeout(target))
        run = _Run(status, target, initial)
        status.add_callback(self._acquisition_ended)
        self._run = run
        try:
            self._configure(target)
            self._put_acquire(run)
        except Exception as exc:  # noqa: BLE001 - reported through the status
            logger.error("%s: could not start acquiring: %s", self.name, exc)
            _end(status, exc)
        return status

    def _put_acquire(self, run: _Run) -> None:
        def completed(*args: Any, **kwargs: Any) -> None:
            self._submit("check", partial(self._acquire_completed, run))
        self.cam.acquire.put(1, use_complete=True, callback=completed)

    def _acquire_completed(self, run: _Run) -> None:
        """Check worker: the server's Acquire put completed; end the status accordingly."""
        try:
            error = self._server_outcome(run)
        except Exception as exc:  # noqa: BLE001 - reading the outcome failed: that is the outcome
            error = exc
        if run.paused and error is None:
            return
        _end(run.status, error)

    def _server_outcome(self, run: _Run) -> Optional[BaseException]:
        cam, hdf = self.cam, self.hdf1
        state = str(cam.detector_state.get(use_monitor=False))
        message = str(cam.status_message.get(use_monitor=False))
        self._written_changed(value=hdf.num_written.get(use_monitor=False))
        lost = int(cam.lost_frames.get(use_monitor=False)) - self._lost_base
        self.frames_lost.put(max(lost, 0))
        written = self._assets.frames_written
        if state == "Error":
            return remote_error(message, str(cam.last_error.get(use_monitor=False)))
        if str(hdf.write_status.get(use_monitor=False)) != "Write OK":
            return StorageError(str(hdf.write_message.get(use_monitor=False)),
                                call="server HDF5 writer")
        if run.cancel_reason is not None:
            return AcquisitionError(f"{self.name}: acquisition cancelled ({run.cancel_reason})",
                                    None, "cancel")
        if run.paused:
            return None
        if run.target and written < run.initial + run.target:
            return AcquisitionError(
                f"{self.name}: the server wrote {written - run.initial} of {run.target} "
                f"frames ({message})", None, "acquire")
        return None

    def _written_changed(self, value: Any = None, **kwargs: Any) -> None:
        """Monitor of ``NumWritten_RBV``: documents and progress follow flushed frames."""
        if value is None or not self._assets.is_open:
            return
        self._assets.record_written(int(value))
        run = self._run
        if run is not None:
            run.status.update(self._assets.frames_written)

    def _acquisition_ended(self, status: FrameProgressStatus) -> None:
        self.frames_written.put(self._assets.frames_written)

    def _cancel(self, run: _Run, reason: str) -> None:
        run.cancel_reason = reason
        run.paused = False
        self.cam.acquire.put(0)

    # -- step scans and documents -------------------------------------------------
    def _image_key(self, frames_per_event: int) -> dict[str, Any]:
        if self._armed and self._frame_format is not None:
            shape, dtype = self._frame_format
        else:
            shape = (int(self.cam.array_size_y.get()), int(self.cam.array_size_x.get()))
            dtype = np.dtype(str(self.cam.data_type.get()).lower())
        return image_data_key(f"PVCAM:{self.camera_name.get()}", shape, dtype,
                              frames_per_event=frames_per_event, mode=self.asset_docs.get())

    def _frame_statistics(self) -> Optional[dict[str, float]]:
        # The server computes them once per acquisition (its Stats1: records).
        return self.stats.statistics()

    def _read_image(self) -> Optional[tuple[str, float]]:
        if self.asset_docs.get() == "stream" or not self._armed:
            return None
        index = self._assets.get_index()
        if index == 0:
            return None
        point = index - 1
        return self._assets.datum_id(point), self._assets.frame_time(point)

    # -- interruptions -----------------------------------------------------------
    def stop(self, *, success: bool = False) -> None:
        """Stop any acquisition (its status fails); the file stays open until unstage.

        Parameters
        ----------
        success : bool
            Ignored (ophyd signature).
        """
        run = self._run
        if run is not None and not run.done:
            self._cancel(run, "stop() called")


def _wait_quietly(status: Status, timeout: float) -> None:
    """Wait for a status that is expected to fail (a cancelled acquisition)."""
    try:
        status.wait(timeout)
    except Exception as exc:  # the expected failure; only a timeout matters here
        if not status.done:
            raise
        logger.debug("cancelled acquisition ended: %s", exc)

