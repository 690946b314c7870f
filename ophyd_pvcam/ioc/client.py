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
own message (:class:`~.client_signals.RemoteSettingError`).

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
import threading
import uuid
from collections import OrderedDict
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Iterator, Optional, Union

import numpy as np
from ophyd import Component as Cpt
from ophyd import Device, EpicsSignal, EpicsSignalRO, Signal
from ophyd.status import DeviceStatus, Status
from ophyd.utils.errors import InvalidState

from ophyd_pvcam.device import signals as S
from ophyd_pvcam.device.status import FrameProgressStatus
from ophyd_pvcam.device.writer import ASSET_MODES, image_data_key
from ophyd_pvcam.engine.errors import (
    AcquisitionError,
    CameraRemovedError,
    StallError,
    ValidationError,
)
from ophyd_pvcam.storage.errors import StorageError
from ophyd_pvcam.storage.paths import DEFAULT_TEMPLATE, make_file_path

from .client_signals import (
    PUT_TIMEOUT,
    CheckedSignal,
    PairSignal,
    RegionSignal,
    RemoteAssetWriter,
    SensorSignal,
    engine_name,
    estimated_timeout,
    menu_label,
)

__all__ = ["RemotePVCAMDetector", "RemoteCam", "RemoteHDF5", "RemotePreview",
           "remote_error"]

logger = logging.getLogger(__name__)

_BUFFER_LABELS = {"auto": "Auto", "overwrite": "Overwrite", "no_overwrite": "No overwrite"}
_COMPRESSIONS = {None: "None", "none": "None", "blosc": "blosc", "bitshuffle-lz4": "bslz4"}
# Seconds added to the estimated duration of a bounded acquisition.
_ACQUIRE_MARGIN = 30.0
_HDF = "hdf1.write_message"


def remote_error(message: str, detail: str = "") -> Exception:
    """Rebuild the engine error a server reported (``StatusMessage_RBV`` / ``LastError_RBV``).

    Parameters
    ----------
    message : str
        ``StatusMessage_RBV``: ``"STALL: ..."``, ``"REMOVED: ..."`` or ``"FAILED: ..."``.
    detail : str
        ``LastError_RBV``: the message then ``key: value`` diagnostic lines.

    Returns
    -------
    Exception
        :class:`StallError` (with the server's diagnostics as strings),
        :class:`CameraRemovedError` or :class:`AcquisitionError`.
    """
    lines = detail.splitlines()[1:] if detail else []
    diagnostics = dict(line.split(": ", 1) for line in lines if ": " in line)
    text = message.split(":", 1)[1].strip() if ":" in message else message
    if message.startswith("STALL:"):
        return StallError(text, diagnostics, "server")
    if message.startswith("REMOVED:"):
        return CameraRemovedError(text, None, "server")
    return AcquisitionError(text or "acquisition failed on the server", None, "server")


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


class RemotePVCAMDetector(Device):
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
    exposure_mode = Cpt(CheckedSignal, "cam1:TriggerMode", string=True, kind="config",
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
                             validator=S.positive_int("frames_per_trigger"), kind="config")
    stream_length = Cpt(S.SettingSignal, value=0,
                        validator=S.non_negative_int("stream_length"), kind="config",
                        doc="frames per fly; 0 = until complete() stops it")
    buffer_mode = Cpt(CheckedSignal, "cam1:BufferMode", string=True, kind="config",
                      to_server=lambda v: _BUFFER_LABELS.get(v, v),
                      from_server=lambda v: {b: a for a, b in _BUFFER_LABELS.items()}.get(v, v))
    stall_timeout = Cpt(CheckedSignal, "cam1:StallTimeout", kind="config",
                        doc="seconds without a frame that count as one timeout (0: automatic)")
    stall_count = Cpt(CheckedSignal, "cam1:StallCount", kind="config",
                      doc="consecutive timeouts that make a stall")
    asset_docs = Cpt(S.SettingSignal, value="stream",
                     validator=S.one_of("asset_docs", ASSET_MODES), kind="config")
    # -- data -----------------------------------------------------------------
    frames_lost = Cpt(Signal, value=0, kind="normal",
                      doc="frames the camera produced that never arrived, this staging")
    frames_written = Cpt(Signal, value=0, kind="normal", doc="frames in this staging's file")
    image = Cpt(S.ExternalImage, kind="normal")
    # -- the server's records -------------------------------------------------
    cam = Cpt(RemoteCam, "cam1:", kind="omitted")
    hdf1 = Cpt(RemoteHDF5, "HDF1:", kind="omitted")
    preview = Cpt(RemotePreview, "image1:", kind="omitted")

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
        self._lock = threading.RLock()
        self._armed = False
        self._frame_format: Optional[tuple[tuple[int, int], np.dtype]] = None
        self._mode: Optional[str] = None
        self._declared = False
        self._points_read = 0
        self._prepared_length: Optional[int] = None
        self._run: Optional[_Run] = None
        self._lost_base = 0
        self._run_uid: Optional[str] = None
        self._following_runs = False
        self._written_token: Optional[int] = None
        for signal in self.component_names:
            component = getattr(type(self), signal)
            if getattr(component, "cls", None) is CheckedSignal and not component.lazy:
                getattr(self, signal).put_timeout = self.put_timeout
        self.asset_docs.subscribe(self._asset_mode_changed, run=False)
        self.asset_docs.put(asset_docs)
        self._asset_mode_changed()
        for signal in (self.roi, self.binning, self.readout_port, self.speed_index,
                       self.gain_index, self.asset_docs):
            signal._guard = self._refuse_while_armed

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

    def follow_runs(self, run_engine: Any) -> int:
        """Name files after the RunEngine's runs (as :meth:`PVCAMDetector.follow_runs`).

        Parameters
        ----------
        run_engine : bluesky.RunEngine

        Returns
        -------
        int
            The subscription token.
        """
        self._following_runs = True
        return run_engine.subscribe(self._on_document)

    def _on_document(self, name: str, doc: dict) -> None:
        if name == "start":
            self._run_uid = doc["uid"]
        elif name == "stop":
            self._run_uid = None

    def _refuse_while_armed(self, signal: Any, value: Any) -> None:
        if self._armed:
            raise ValidationError(
                f"cannot change {signal.name} while {self.name} is staged (the file's frame "
                f"shape and type are fixed); unstage first or put it in stage_sigs",
                None, getattr(signal, "attr_name", signal.name))

    def _asset_mode_changed(self, *args: Any, **kwargs: Any) -> None:
        # As PVCAMDetector: get_index() only in stream mode (bluesky treats a
        # device with get_index as a stream-asset writer).
        if self.asset_docs.get() == "stream":
            self.get_index = self._get_index
        else:
            self.__dict__.pop("get_index", None)

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

    @property
    def file_path(self) -> Optional[Path]:
        """This staging's file as the client reads it (the last one after unstage)."""
        return self._assets.path

    # -- staging --------------------------------------------------------------
    def stage(self) -> list[object]:
        """Apply ``stage_sigs``, arm, and start the server's capture into this staging's file.

        Returns
        -------
        list
        """
        staged = super().stage()
        try:
            self._arm()
        except BaseException:
            self.unstage()
            raise
        return staged

    def _arm(self) -> None:
        with self._lock:
            height = int(self.cam.array_size_y.get(use_monitor=False))
            width = int(self.cam.array_size_x.get(use_monitor=False))
            dtype = np.dtype(str(self.cam.data_type.get(use_monitor=False)).lower())
            self._frame_format = ((height, width), dtype)
            self._mode, self._declared, self._points_read = None, False, 0
            self._prepared_length, self._run = None, None
            self._lost_base = int(self.cam.lost_frames.get(use_monitor=False))
            self.frames_lost.put(0)
            self.frames_written.put(0)
            self._armed = True
            self._written_token = self.hdf1.num_written.subscribe(self._written_changed,
                                                                 run=False)
            if self._run_uid is not None or not self._following_runs:
                self._open_file()

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
            _collect(errors, self._cancel, run, "unstaged")
            _collect(errors, _wait_quietly, run.status, self.put_timeout + 30.0)
        _collect(errors, self._end_capture)
        _collect(errors, self._assets.close)
        with self._lock:
            if self._written_token is not None:
                self.hdf1.num_written.unsubscribe(self._written_token)
                self._written_token = None
            self._armed = False
            self._run = None
        try:
            result = super().unstage()
        except BaseException as exc:
            errors.append(exc)
            result = [self]
        if errors:
            raise errors[0]
        return result

    def _end_capture(self) -> None:
        if self._assets.is_open or str(self.hdf1.capture.get(use_monitor=False)) != "Done":
            self._wait(self.hdf1.capture.set("Done"), "capture")

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

    # -- step scans ---------------------------------------------------------------
    def trigger(self) -> Status:
        """Acquire ``frames_per_trigger`` frames on the server; done when they are in its file.

        As :meth:`PVCAMDetector.trigger`, a trigger replayed after a pause
        before the previous point was read returns the previous status.

        Returns
        -------
        FrameProgressStatus
        """
        self._require_armed("trigger")
        self._enter_mode("step")
        with self._lock:
            previous = self._run
            if previous is not None and (not previous.done or (
                    previous.status.success and self._assets.get_index() > self._points_read)):
                logger.info("%s: trigger before the last point was read; reusing it", self.name)
                return previous.status
            frames = self.frames_per_trigger.get()
            self._assets.set_frames_per_event(frames)
            return self._start(frames)

    def read(self) -> "OrderedDict[str, dict]":
        """Read the data signals (the image only as a datum id, in legacy mode).

        Returns
        -------
        OrderedDict
        """
        if self._armed and self._mode == "step":
            self._points_read = max(self._points_read, self._assets.get_index())
        self.frames_written.put(self._assets.frames_written)
        return super().read()

    def _describe_image(self) -> dict[str, Any]:
        frames = 1 if self._mode == "fly" else self.frames_per_trigger.get()
        return self._image_key(frames)

    def _image_key(self, frames_per_event: int) -> dict[str, Any]:
        if self._armed and self._frame_format is not None:
            shape, dtype = self._frame_format
        else:
            shape = (int(self.cam.array_size_y.get()), int(self.cam.array_size_x.get()))
            dtype = np.dtype(str(self.cam.data_type.get()).lower())
        return image_data_key(f"PVCAM:{self.camera_name.get()}", shape, dtype,
                              frames_per_event=frames_per_event, mode=self.asset_docs.get())

    def _read_image(self) -> Optional[tuple[str, float]]:
        if self.asset_docs.get() == "stream" or not self._armed:
            return None
        index = self._assets.get_index()
        if index == 0:
            return None
        point = index - 1
        return self._assets.datum_id(point), self._assets.frame_time(point)

    def _get_index(self) -> int:
        """Number of complete events in the server's file (stream mode's ``get_index``)."""
        return self._assets.get_index() if self._armed else 0

    def collect_asset_docs(self, index: Optional[int] = None) -> Iterator[tuple[str, dict]]:
        """Yield the asset documents of frames not yet documented (as PVCAMDetector's).

        Parameters
        ----------
        index : int, optional

        Yields
        ------
        tuple of (str, dict)
        """
        if self.asset_docs.get() == "stream":
            if self._mode == "step":
                index = self._points_read if index is None else min(index, self._points_read)
            yield from self._assets.collect_stream_docs(index)
        else:
            yield from self._assets.collect_legacy_docs(new_events=self._mode == "fly")

    # -- fly scans ----------------------------------------------------------------
    def prepare(self, value: int) -> Status:
        """Set the number of frames of the next fly (this staging only).

        Parameters
        ----------
        value : int

        Returns
        -------
        Status
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
        """Describe the fly-scan data (as PVCAMDetector's).

        Returns
        -------
        dict
        """
        if self._armed:
            self._declared = True
        keys = {self.image.name: self._image_key(1)}
        return keys if self.asset_docs.get() == "stream" else {"primary": keys}

    def kickoff(self) -> Status:
        """Start the server streaming; done once it acquires.

        Returns
        -------
        Status
        """
        hint = (f"use ophyd_pvcam.plans.fly_stream([{self.name}]) (bluesky.plans.fly neither "
                "stages nor declares the stream)")
        if not self._armed:
            raise AcquisitionError(f"{self.name} is not staged: {hint}", None, "kickoff")
        if self.asset_docs.get() == "stream" and not self._declared:
            raise AcquisitionError(f"{self.name}'s stream was not declared: {hint}", None,
                                   "kickoff")
        self._enter_mode("fly")
        with self._lock:
            if self._run is not None and not self._run.done:
                raise AcquisitionError(f"{self.name} is already flying; complete() first",
                                       None, "kickoff")
            self._assets.set_frames_per_event(1)
            length = (self._prepared_length if self._prepared_length is not None
                      else self.stream_length.get())
            kickoff_status = DeviceStatus(self, timeout=self.put_timeout)
            fly_status = self._start(length or None)
        self._finish_kickoff(kickoff_status, fly_status)
        return kickoff_status

    def _finish_kickoff(self, kickoff_status: DeviceStatus, fly_status: Status) -> None:
        """Kickoff is done when the server reports Acquire (or the fly already ended)."""
        settling = threading.Lock()
        settled: list[bool] = []

        def settle(error: Optional[BaseException] = None) -> None:
            # Called from the CA monitor thread and from the fly's callbacks;
            # ophyd marks a status done only after set_finished() returned.
            with settling:
                if settled or kickoff_status.done:
                    return
                settled.append(True)
                if error is not None:
                    kickoff_status.set_exception(error)
                else:
                    kickoff_status.set_finished()

        def acquiring(value: Any = None, **kwargs: Any) -> None:
            if value in (1, "Acquire"):
                settle()

        def fly_ended(status: Status) -> None:
            settle(None if status.success else status.exception())

        token = self.cam.acquire_rbv.subscribe(acquiring, run=True)
        kickoff_status.add_callback(lambda status: self.cam.acquire_rbv.unsubscribe(token))
        fly_status.add_callback(fly_ended)

    def complete(self) -> FrameProgressStatus:
        """Finish the fly; done when its frames are in the server's file.

        With ``stream_length`` 0 this stops the server's acquisition.

        Returns
        -------
        FrameProgressStatus
        """
        run = self._run
        if self._mode != "fly" or run is None:
            raise AcquisitionError(f"{self.name}.complete() without kickoff()", None, "complete")
        if run.target is None and not run.done:
            self.cam.acquire.put(0)
        return run.status

    def collect(self) -> Iterator[dict[str, Any]]:
        """Yield one event per newly documented frame (legacy mode).

        Yields
        ------
        dict
        """
        key = self.image.name
        for point, datum_id in self._assets.pending_events():
            stamp = self._assets.frame_time(point)
            yield {"time": stamp, "data": {key: datum_id}, "timestamps": {key: stamp},
                   "filled": {key: False}}

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

    def pause(self) -> None:
        """RunEngine pause: a fly stops acquiring until :meth:`resume` (same file)."""
        run = self._run
        if self._mode == "fly" and run is not None and not run.done:
            run.paused = True
            self.cam.acquire.put(0)

    def resume(self) -> None:
        """RunEngine resume: a paused fly acquires its remaining frames."""
        run = self._run
        if self._mode != "fly" or run is None or not run.paused or run.done:
            return
        run.paused = False
        remaining = None
        if run.target:
            remaining = run.initial + run.target - self._assets.frames_written
            if remaining <= 0:
                _end(run.status, None)
                return
        try:
            self._configure(remaining)
            self._put_acquire(run)
        except Exception as exc:  # noqa: BLE001 - reported through the status
            _end(run.status, exc)


def _end(status: Status, error: Optional[BaseException]) -> None:
    """Finish or fail ``status`` unless something (e.g. its timeout) already ended it."""
    try:
        if error is None:
            status.set_finished()
        else:
            status.set_exception(error)
    except InvalidState:
        logger.debug("%r already ended; not ending it again with %r", status, error)


def _wait_quietly(status: Status, timeout: float) -> None:
    """Wait for a status that is expected to fail (a cancelled acquisition)."""
    try:
        status.wait(timeout)
    except Exception as exc:  # noqa: BLE001 - only a timeout matters here
        if not status.done:
            raise
        logger.debug("cancelled acquisition ended: %s", exc)


def _collect(errors: list[BaseException], func: Any, *args: Any) -> None:
    try:
        func(*args)
    except BaseException as exc:  # noqa: BLE001 - re-raised by unstage after cleanup
        logger.exception("%s failed during unstage", getattr(func, "__name__", func))
        errors.append(exc)
