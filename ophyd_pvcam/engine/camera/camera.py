"""Opening and configuring a PVCAM camera.

:meth:`Camera.open` opens one camera (see :mod:`~ophyd_pvcam.engine.camera.discovery`
for :func:`list_cameras`). A :class:`Camera` exposes every available parameter
through :attr:`Camera.parameters` and the common settings as Pythonic
properties (seconds, degrees Celsius, enum names; the readout, cooling and
fan settings come from :class:`~ophyd_pvcam.engine.camera.readout.ReadoutControl`,
exposure and trigger modes from
:class:`~ophyd_pvcam.engine.camera.exposure.ExposureControl`). Settings the SDK only takes
as setup arguments (exposure time, trigger and expose-out modes, ROI, binning)
are kept by the camera object and handed out by
:meth:`Camera.acquisition_settings`, which the sequence and stream code pass to
the setup calls.

Every SDK call on a camera goes through :attr:`Camera.lock`; invalid settings
raise :class:`~ophyd_pvcam.engine.errors.ValidationError` before anything is
sent.
"""
from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

import numpy as np

from ophyd_pvcam.engine.camera import settings as S
from ophyd_pvcam.engine.camera.discovery import (CameraInfo, camera_names, list_cameras, open_cameras,
                                          read_camera_info, registry_lock, resolve_library)
from ophyd_pvcam.engine.errors import AcquisitionError, CameraNotFoundError, ValidationError
from ophyd_pvcam.engine.camera.exposure import ExposureControl
from ophyd_pvcam.engine.camera.parameters import ParameterTable
from ophyd_pvcam.engine.camera.readout import ReadoutControl
from ophyd_pvcam.engine.camera.roi import (Region, RegionLike, allowed_binnings, as_region,
                                    validate_binning, validate_regions)
from ophyd_pvcam.engine.camera.sequence import acquire_sequence
from ophyd_pvcam.engine.camera.session import acquire_session, release_session
from ophyd_pvcam.sdk import constants as C
from ophyd_pvcam.sdk.errors import DeviceRemovedError, PVCAMError

if TYPE_CHECKING:
    from ophyd_pvcam.engine.camera.settings import AcquisitionSettings

__all__ = ["Camera", "CameraInfo", "list_cameras"]

logger = logging.getLogger(__name__)

class Camera(ExposureControl, ReadoutControl):
    """An open PVCAM camera.

    Use :meth:`open` (also as a context manager); :meth:`close` leaves the
    camera idle and releases the SDK session.

    Attributes
    ----------
    library : PVCAMLibrary
        The SDK binding the camera was opened with.
    handle : int
        The SDK handle.
    name : str
        The SDK name.
    info : CameraInfo
    parameters : ParameterTable
        Every available parameter.
    lock : threading.RLock
        Serialises SDK calls on this camera. Setup, start and stop of an
        acquisition take it; a per-frame path need not. Never take it inside
        an SDK callback (deregistration waits for the callback to return).
    """

    def __init__(self, library: Any, handle: int, name: str, index: int = 0):
        self.library = library
        self.handle = handle
        self.name = name
        self.lock = threading.RLock()
        self._closed = False
        self._closing = False
        self._acquisition_owner: Optional[str] = None
        self._callbacks: dict[int, Any] = {}
        self._close_hooks: list[Callable[[], None]] = []
        self._speed_table: Optional[dict] = None
        self.info = read_camera_info(library, handle, name, index)
        self.parameters = ParameterTable(library, handle, lock=self.lock,
                                         is_busy=lambda: self.acquiring)
        self._region = Region.full(self.info.sensor_size)
        self._extra_regions: tuple[Region, ...] = ()
        self._binning = (1, 1)
        self._metadata = self.metadata_available
        self._smart_exposures: tuple[float, ...] = ()
        self._init_exposure_control()

    # ------------------------------------------------------------------ life
    @classmethod
    def open(cls, name: Optional[str] = None, library: Any = None) -> "Camera":
        """Open a camera by name (the first one when ``name`` is None).

        Parameters
        ----------
        name : str, optional
            An SDK camera name as given by :func:`list_cameras`.
        library : PVCAMLibrary, optional
            Defaults to :func:`ophyd_pvcam.sdk.load`'s choice.

        Returns
        -------
        Camera

        Raises
        ------
        CameraNotFoundError
            No camera, or none with that name (the message lists the names).
        """
        lib = resolve_library(library)
        acquire_session(lib)
        try:
            names = camera_names(lib)
            if not names:
                raise CameraNotFoundError("no PVCAM camera found", None, "open")
            if name is None:
                name = names[0]
            elif name not in names:
                raise CameraNotFoundError(f"no camera named {name!r}; available: "
                                          f"{', '.join(names)}", None, "open")
            with registry_lock:
                handle = lib.cam_open(name)
                try:
                    camera = cls(lib, handle, name, names.index(name))
                except BaseException:
                    lib.cam_close(handle)
                    raise
                open_cameras[(id(lib), name)] = camera
        except BaseException:
            release_session(lib)
            raise
        logger.info("opened %s (%s, serial %s)", name, camera.info.product, camera.info.serial)
        return camera

    def close(self) -> None:
        """Stop any acquisition, deregister callbacks, close the camera, release the session.

        Idempotent. Every step runs even when an earlier one fails; the first
        failure is raised at the end (the rest are logged). On a camera the
        SDK reports removed (error 180), the abort/deregister/close steps
        cannot succeed and have nothing left to stop: those failures are
        logged as warnings and the close completes without raising.
        """
        with self.lock:
            if self._closed or self._closing:
                return
            self._closing = True
        errors: list[BaseException] = []
        # Hooks (e.g. a stream stopping its threads) run without the lock:
        # they may wait for threads that need it.
        for hook in list(self._close_hooks):
            _collect(errors, hook)
        with self.lock:
            _collect(errors, self.library.exp_abort, self.handle, int(C.CCS_HALT))
            for event in list(self._callbacks):
                _collect(errors, self.library.deregister_callback, self.handle, event)
            self._callbacks.clear()
            _collect(errors, self.library.cam_close, self.handle)
            self._acquisition_owner = None
            self._closed = True
        with registry_lock:
            if open_cameras.get((id(self.library), self.name)) is self:
                del open_cameras[(id(self.library), self.name)]
        _collect(errors, release_session, self.library)
        logger.info("closed %s", self.name)
        removed = [exc for exc in errors if isinstance(exc, DeviceRemovedError)]
        for exc in removed:
            logger.warning("closing removed camera %s: %s", self.name, exc)
        errors = [exc for exc in errors if not isinstance(exc, DeviceRemovedError)]
        for extra in errors[1:]:
            logger.error("also failed while closing %s: %s", self.name, extra)
        if errors:
            raise errors[0]

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has run."""
        return self._closed

    def __enter__(self) -> "Camera":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"handle={self.handle}"
        return f"<Camera {self.name!r} {self.info.product} {state}>"

    def add_close_hook(self, hook: Callable[[], None]) -> None:
        """Run ``hook()`` at the start of :meth:`close` (before the abort).

        Parameters
        ----------
        hook : callable
            Called without the camera lock held, e.g. to stop a stream's threads.
        """
        self._close_hooks.append(hook)

    def remove_close_hook(self, hook: Callable[[], None]) -> None:
        """Forget a hook added with :meth:`add_close_hook` (no error if absent).

        Parameters
        ----------
        hook : callable
        """
        if hook in self._close_hooks:
            self._close_hooks.remove(hook)

    # ------------------------------------------------------ acquisition guard
    def begin_acquisition(self, owner: str) -> None:
        """Mark the camera busy; settings that are not live then refuse changes.

        Parameters
        ----------
        owner : str
            Who acquires (for messages), e.g. ``"sequence"`` or ``"stream"``.

        Raises
        ------
        AcquisitionError
            When the camera is closed or already acquiring.
        """
        with self.lock:
            self._check_open()
            if self._acquisition_owner is not None:
                raise AcquisitionError(f"{self.name} is already acquiring "
                                       f"({self._acquisition_owner})", None, owner)
            self._acquisition_owner = owner

    def end_acquisition(self) -> None:
        """Mark the camera idle again (after the acquisition stopped)."""
        with self.lock:
            self._acquisition_owner = None

    @property
    def acquiring(self) -> bool:
        """True between :meth:`begin_acquisition` and :meth:`end_acquisition`."""
        return self._acquisition_owner is not None

    # -------------------------------------------------------------- callbacks
    def register_callback(self, event: int, callback: Any, context: Any = None) -> None:
        """Register an SDK callback that :meth:`close` will deregister.

        Parameters
        ----------
        event : int
            ``PL_CALLBACK_*``.
        callback : ctypes function pointer
            Kept referenced here until deregistered.
        context : object, optional
            Passed through to the SDK.
        """
        with self.lock:
            self._check_open()
            self.library.register_callback(self.handle, int(event), callback, context)
            self._callbacks[int(event)] = callback

    def deregister_callback(self, event: int) -> None:
        """Deregister a callback registered with :meth:`register_callback`.

        Never call this from inside the callback (the SDK waits for it).
        After :meth:`close` this does nothing: closing deregistered everything.
        It works while close hooks run, so a stream can stop itself cleanly.

        Parameters
        ----------
        event : int
            ``PL_CALLBACK_*``.
        """
        with self.lock:
            if self._closed:
                return
            self.library.deregister_callback(self.handle, int(event))
            self._callbacks.pop(int(event), None)

    # ------------------------------------------------------------ ROI/binning
    @property
    def sensor_size(self) -> tuple[int, int]:
        """``(width, height)`` of the sensor in pixels."""
        return self.info.sensor_size

    @property
    def binnings(self) -> Optional[list[tuple[int, int]]]:
        """Allowed ``(serial, parallel)`` binnings, ``None`` when the camera lists none."""
        def values(key: str) -> Optional[list[int]]:
            param = self.parameters.get(key)
            return None if param is None else list(param.enum_items.values())
        return allowed_binnings(values("binning_ser"), values("binning_par"))

    @property
    def roi(self) -> Region:
        """Region read out, in unbinned sensor pixels (default: the whole sensor).

        Accepts a :class:`~ophyd_pvcam.engine.camera.roi.Region`, ``(x, y, width,
        height)`` or ``None`` (whole sensor); it must divide by the binning.
        """
        return self._region

    @roi.setter
    def roi(self, value: RegionLike) -> None:
        self.set_roi(value)

    @property
    def binning(self) -> tuple[int, int]:
        """``(serial, parallel)`` binning; ``n`` means ``(n, n)``."""
        return self._binning

    @binning.setter
    def binning(self, value: Union[int, tuple[int, int]]) -> None:
        self.set_roi(self._region, value)

    def set_roi(self, roi: RegionLike, binning: Union[int, tuple[int, int], None] = None) -> None:
        """Set region and binning together (validated as a pair).

        Parameters
        ----------
        roi : Region, (x, y, width, height) or None
            ``None`` = whole sensor.
        binning : int or (int, int), optional
            Keep the current binning when omitted.
        """
        region = as_region(roi, self.sensor_size)
        pair = self._binning if binning is None else validate_binning(binning, self.binnings)
        region.validate(self.sensor_size, pair)
        if self._extra_regions:
            validate_regions((region,) + self._extra_regions, self.sensor_size, pair)
        with self.lock:
            self._check_idle("roi")
            self._region, self._binning = region, pair

    # -------------------------------------------------------- several regions
    @property
    def max_rois(self) -> int:
        """Most regions one frame may hold on the current readout port (``PARAM_ROI_COUNT``)."""
        param = self.parameters.get("roi_count")
        return int(param.max) if param is not None and param.readable else 1

    @property
    def rois(self) -> tuple[Region, ...]:
        """Every region read out in one frame (the first is :attr:`roi`).

        Setting several regions (a sequence of
        :class:`~ophyd_pvcam.engine.camera.roi.Region` or ``(x, y, width, height)``)
        makes a multi-ROI acquisition: the regions share the binning, must not
        overlap, and may be at most :attr:`max_rois`; streams then need frame
        metadata (:attr:`metadata`), which tells where each region's pixels
        are. Setting :attr:`roi` afterwards keeps the other regions.
        """
        return (self._region,) + self._extra_regions

    @rois.setter
    def rois(self, value: Any) -> None:
        regions = validate_regions(value, self.sensor_size, self._binning, self.max_rois)
        if len(regions) > 1 and not self.metadata_available:
            raise ValidationError("several regions need frame metadata, which this camera "
                                  "does not offer", None, "rois")
        with self.lock:
            self._check_idle("rois")
            self._region, self._extra_regions = regions[0], regions[1:]

    # -------------------------------------------------------- frame metadata
    @property
    def metadata_available(self) -> bool:
        """True when the camera can tag frames with metadata (``PARAM_METADATA_ENABLED``)."""
        param = self.parameters.get("metadata_enabled")
        return param is not None and param.writable

    @property
    def metadata(self) -> bool:
        """Whether streams acquire with frame metadata (default: on where available).

        With metadata each frame carries its own FrameNr, timestamps and
        exposure in the camera's clock (see :mod:`ophyd_pvcam.engine.metadata`).
        """
        return self._metadata

    @metadata.setter
    def metadata(self, value: bool) -> None:
        on = bool(value)
        if on and not self.metadata_available:
            raise ValidationError(f"{self.name} offers no writable PARAM_METADATA_ENABLED",
                                  None, "metadata")
        if not on and self._extra_regions:
            raise ValidationError("several regions need frame metadata; set rois to one "
                                  "region first", None, "metadata")
        with self.lock:
            self._check_idle("metadata")
            self._metadata = on

    # -------------------------------------------------------- smart streaming
    @property
    def smart_stream_available(self) -> bool:
        """True when the camera cycles exposures frame by frame (smart streaming)."""
        return all(self.parameters.get(k) is not None and self.parameters[k].writable
                   for k in ("smart_stream_mode_enabled", "smart_stream_exp_params"))

    @property
    def smart_stream_exposures(self) -> tuple[float, ...]:
        """Exposures (s) a stream cycles through frame by frame; ``()`` = off.

        Each exposure is expressed in the camera's current exposure resolution
        (:attr:`exposure_resolution`) and must fit its range; the stream's
        frame-period estimate uses the longest.
        """
        return self._smart_exposures

    @smart_stream_exposures.setter
    def smart_stream_exposures(self, value: Any) -> None:
        exposures = tuple(S.check_exposure_seconds(v) for v in (value or ()))
        if exposures:
            if not self.smart_stream_available:
                raise ValidationError(f"{self.name} has no smart streaming", None,
                                      "smart_stream_exposures")
            param = self.parameters["smart_stream_exp_params"]
            most = param.attribute(int(C.ATTR_MAX)) if param.readable else None
            most = len(most) if isinstance(most, (tuple, list)) else most
            if isinstance(most, int) and most > 0 and len(exposures) > most:
                raise ValidationError(f"{len(exposures)} smart-streaming exposures; the camera "
                                      f"takes at most {most}", None, "smart_stream_exposures")
            self._smart_units(exposures)
        with self.lock:
            self._check_idle("smart_stream_exposures")
            self._smart_exposures = exposures

    def _smart_units(self, exposures: tuple[float, ...]) -> list[int]:
        """Each exposure in units of the current resolution (validated)."""
        resolution, _ = self._exposure
        unit = S.EXPOSURE_RESOLUTION_SECONDS[resolution]
        low, high = self._exposure_range()
        counts = []
        for seconds in exposures:
            count = int(round(seconds / unit))
            if not low <= count <= high or abs(count * unit - seconds) > 1e-3 * seconds:
                raise ValidationError(f"smart-streaming exposure {seconds} s cannot be expressed "
                                      f"in {self.exposure_resolution} within {low}..{high}",
                                      None, "smart_stream_exposures")
            counts.append(count)
        return counts

    def apply_stream_parameters(self, metadata: Optional[bool] = None) -> bool:
        """Write the camera parameters a stream's frames depend on, before its setup.

        Sets ``PARAM_METADATA_ENABLED`` (``metadata``, default :attr:`metadata`)
        and the smart-streaming parameters (:attr:`smart_stream_exposures`).

        Parameters
        ----------
        metadata : bool, optional
            Override of :attr:`metadata` for this stream.

        Returns
        -------
        bool
            Whether the frames will carry metadata.

        Raises
        ------
        ValidationError
            Metadata requested where the camera has none, or refused while
            several regions are set.
        """
        on = self._metadata if metadata is None else bool(metadata)
        if on and not self.metadata_available:
            raise ValidationError(f"{self.name} offers no writable PARAM_METADATA_ENABLED",
                                  None, "metadata")
        if not on and self._extra_regions:
            raise ValidationError("several regions need frame metadata", None, "metadata")
        with self.lock:
            self.set_metadata_enabled(on)
            if self.smart_stream_available:
                exposures = self._smart_exposures
                if exposures:
                    self.parameters["smart_stream_exp_params"].set(self._smart_units(exposures))
                self.parameters["smart_stream_mode_enabled"].set(bool(exposures))
        return on

    def set_metadata_enabled(self, on: bool) -> None:
        """Write ``PARAM_METADATA_ENABLED`` when the camera has it and it differs."""
        param = self.parameters.get("metadata_enabled")
        if param is None or not param.writable:
            return
        with self.lock:
            if bool(param.get()) != bool(on):
                param.set(bool(on))

    # -------------------------------------------------------- settings out
    def acquisition_settings(self, exposure_mode: Union[str, int, None] = None
                             ) -> "AcquisitionSettings":
        """Snapshot everything a setup call needs.

        Parameters
        ----------
        exposure_mode : str or int, optional
            Trigger mode for this acquisition only (default: :attr:`exposure_mode`).

        Returns
        -------
        AcquisitionSettings
        """
        with self.lock:
            self._check_open()
            mode = (self._exposure_mode_value if exposure_mode is None
                    else self._resolve_exposure_mode(exposure_mode))
            resolution, count = self._exposure
            res_param = self.parameters.get("exp_res")
            if res_param is not None and res_param.readable and int(res_param.get()) != resolution:
                # PARAM_EXP_RES was changed behind our back: re-express the exposure.
                resolution, count = self._exposure = self._choose_exposure(self._exposure_seconds)
            exp_mode = mode
            if self._expose_out_value is not None and S.is_extended_mode(mode):
                exp_mode |= self._expose_out_value
            image_format = self.parameters.get("image_format")
            dtype = S.dtype_for_image_format(image_format.get() if image_format else None)
            shape = self._region.frame_shape(self._binning)
            regions = self.rois
            # several regions: the sensor reads every row from the first region's to the last's
            rows = ((max(r.y + r.height for r in regions) - min(r.y for r in regions))
                    // self._binning[1])
            readout = S.estimate_readout_seconds(rows, line_time_ns=self._line_time_ns(),
                                                 pixel_time_ns=self._optional("pix_time"),
                                                 line_pixels=self.sensor_size[0])
            seconds = count * S.EXPOSURE_RESOLUTION_SECONDS[resolution]
            # smart streaming: the longest exposure of the cycle bounds the frame period
            longest = max((seconds,) + self._smart_exposures)
            return S.AcquisitionSettings(
                regions=tuple(r.to_rgn(self._binning) for r in regions),
                exp_mode=int(exp_mode),
                exposure=int(count),
                exposure_seconds=seconds,
                frame_shape=shape,
                dtype=dtype,
                readout_time_s=readout,
                frame_period_s=longest + readout,
                exposure_resolution=resolution,
                exposure_mode=self._mode_name("exposure_mode", S.EXPOSURE_MODE_VALUES, mode),
                expose_out_mode=self.expose_out_mode,
            )

    def _optional(self, key: str) -> Optional[Any]:
        param = self.parameters.get(key)
        return param.get() if param is not None and param.readable else None

    def _line_time_ns(self) -> Optional[float]:
        param = self.parameters.get("scan_line_time")
        if param is None or not param.readable:
            return None
        try:
            return float(param.get())
        except PVCAMError as exc:
            # Only valid after a setup on some cameras; the pixel-time estimate
            # takes over (documented in estimate_readout_seconds).
            logger.debug("%s: PARAM_SCAN_LINE_TIME unreadable (%s); using PIX_TIME", self.name, exc)
            return None

    # ------------------------------------------------------------- acquire
    def snap(self, timeout: Optional[float] = None) -> np.ndarray:
        """Acquire one frame with the current settings.

        Parameters
        ----------
        timeout : float, optional
            Seconds to wait for the frame (default derived from the frame period).

        Returns
        -------
        numpy.ndarray
            Shape ``(height, width)``.
        """
        frames = acquire_sequence(self, 1, timeout=timeout)
        assert frames is not None
        return frames[0]

    # ------------------------------------------------------------- checks
    def _check_open(self) -> None:
        if self._closed or self._closing:
            raise AcquisitionError(f"camera {self.name} is closed", None, "camera")

    def _check_idle(self, what: str) -> None:
        self._check_open()
        if self.acquiring:
            raise ValidationError(f"cannot change {what} while {self.name} is acquiring "
                                  f"({self._acquisition_owner})", None, what)


def _collect(errors: list[BaseException], func: Callable[..., Any], *args: Any) -> None:
    """Call ``func``; append any exception to ``errors`` so cleanup can go on."""
    try:
        func(*args)
    except Exception as exc:  # noqa: BLE001 - re-raised by the caller after cleanup
        errors.append(exc)
