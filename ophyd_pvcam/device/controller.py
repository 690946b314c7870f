"""The detector's hold on the engine camera: open/close, arm/disarm, start acquisitions.

:class:`CameraController` is the ophyd-free half of the detector that talks to
the engine (in the ophyd-async sense of a *controller*; the file and the
documents are the *writer*'s, :mod:`.writer`). It opens the
:class:`~ophyd_pvcam.engine.camera.camera.Camera`, snapshots the acquisition
settings when armed (the frame shape and pixel type of the staging's file),
refuses to acquire when they changed, and starts
:class:`~ophyd_pvcam.device.acquisition.Acquisition` objects that drive
engine streams.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Optional

from ophyd_pvcam.engine.camera import Camera, resolve_library
from ophyd_pvcam.engine.errors import AcquisitionError, CameraRemovedError, ValidationError
from ophyd_pvcam.engine.camera import AcquisitionSettings, Region
from ophyd_pvcam.sdk.errors import DeviceRemovedError, PVCAMError

from .acquisition import Acquisition
from .streams import StreamFactory, stream_factory
from .status import FrameProgressStatus
from .writer import AssetWriter

__all__ = ["CameraController", "roi_tuple"]

logger = logging.getLogger(__name__)


def roi_tuple(region: Region) -> tuple[int, int, int, int]:
    """Return a Region as ``(x, y, width, height)`` (what the ``roi`` signal holds).

    Parameters
    ----------
    region : Region

    Returns
    -------
    tuple of int
    """
    return (region.x, region.y, region.width, region.height)


class CameraController:
    """Open camera, armed settings and acquisition start for one detector.

    Parameters
    ----------
    name : str
        Device name (messages, thread names).
    camera_name : str, optional
        SDK camera name; the first camera when omitted.
    library : PVCAMLibrary, path-like, "sim" or None
        See :func:`ophyd_pvcam.engine.camera.discovery.resolve_library`.
    """

    def __init__(self, name: str, camera_name: Optional[str] = None, library: Any = None):
        self.name = name
        self._library = resolve_library(library)
        self._camera: Optional[Camera] = Camera.open(camera_name, library=self._library)
        self._camera_name = self._camera.name      # what a reopen after an unplug asks for
        self._removed = False
        # Camera settings made through the device, in the order last made: what a
        # camera reopened after an unplug gets back.
        self._applied: dict[str, Any] = {}
        self._armed: Optional[AcquisitionSettings] = None
        self._names_cache: Optional[tuple[tuple, tuple[str, str]]] = None
        #: ``make_factory(camera, *, buffer_mode, stall_timeout, stall_count)`` returns
        #: the :data:`~ophyd_pvcam.device.streams.StreamFactory` of each
        #: acquisition; :func:`~ophyd_pvcam.device.streams.stream_factory` unless
        #: replaced (``benchmarks/bench_device.py`` compares trigger mechanisms so).
        self.make_factory: Callable[..., StreamFactory] = stream_factory

    # -- camera ---------------------------------------------------------------
    @property
    def camera(self) -> Camera:
        """The open camera.

        Raises
        ------
        AcquisitionError
            When it was closed.
        """
        if self._camera is None or self._camera.closed:
            raise AcquisitionError(f"{self.name}: the camera is closed", None, "camera")
        return self._camera

    @property
    def is_open(self) -> bool:
        """True until :meth:`close`."""
        return self._camera is not None and not self._camera.closed

    @property
    def source(self) -> str:
        """The ``source`` of the image DataKey, ``"PVCAM:<camera name>"``."""
        return f"PVCAM:{self.camera.name}"

    def close(self) -> None:
        """Close the camera (idempotent)."""
        camera, self._camera = self._camera, None
        self._removed = False
        if camera is not None:
            camera.close()

    def remember(self, attr: str, value: Any) -> None:
        """Record a camera setting made through the device (re-applied after an unplug).

        Parameters
        ----------
        attr : str
            The :class:`~ophyd_pvcam.engine.camera.camera.Camera` attribute.
        value : object
            The value handed to it.
        """
        self._applied.pop(attr, None)
        self._applied[attr] = value

    def note_failure(self, error: Optional[BaseException]) -> None:
        """Take note of an acquisition's error: a removed camera is reopened at the next stage.

        Parameters
        ----------
        error : BaseException or None
        """
        while error is not None:
            if isinstance(error, (CameraRemovedError, DeviceRemovedError)):
                if not self._removed:
                    logger.warning("%s: camera %s was removed; the next stage reopens it",
                                   self.name, self._camera_name)
                self._removed = True
                return
            error = error.__cause__

    @property
    def removed(self) -> bool:
        """True after an acquisition found the camera removed, until it is reopened."""
        return self._removed

    def reopen_if_removed(self) -> None:
        """Reopen a camera that was removed (as the EPICS server does), with the device's settings.

        The removed camera is closed (releasing its SDK session, so the SDK is
        initialised afresh), opened again by name, and every setting made
        through the device is applied again, in the order it was made.

        Raises
        ------
        AcquisitionError
            When the camera is not back yet (it is tried again next time).
        PVCAMError
            When a remembered setting is refused by the reopened camera.
        """
        if not self._removed:
            return
        old, self._camera = self._camera, None
        if old is not None and not old.closed:
            try:
                old.close()
            except PVCAMError as exc:  # expected of a removed camera; the session is released
                logger.warning("%s: closing the removed camera reported: %s", self.name, exc)
        try:
            camera = Camera.open(self._camera_name, library=self._library)
        except PVCAMError as exc:
            raise AcquisitionError(f"{self.name}: camera {self._camera_name} was removed and "
                                   f"cannot be opened again yet ({exc}); reconnect it and "
                                   "stage again", None, "reopen") from exc
        try:
            for attr, value in self._applied.items():
                setattr(camera, attr, value)
        except BaseException:
            camera.close()
            raise
        self._camera, self._removed, self._names_cache = camera, False, None
        logger.info("%s: reopened camera %s after its removal", self.name, self._camera_name)

    def speed_gain_names(self) -> tuple[str, str]:
        """Return the names of the current speed and gain (from the port/speed/gain table).

        Returns
        -------
        tuple of str
            ``(speed name, gain name)``; empty strings when the table has none.
        """
        camera = self.camera
        key = (camera.readout_port, camera.speed_index, camera.gain_index)
        if self._names_cache is None or self._names_cache[0] != key:
            self._names_cache = (key, self._lookup_names(camera, *key))
        return self._names_cache[1]

    @staticmethod
    def _lookup_names(camera: Camera, port: str, speed_index: int,
                      gain_index: int) -> tuple[str, str]:
        for speed in camera.port_speed_gain_table().get(port, {}).get("speeds", []):
            if speed.get("index") == speed_index:
                gain = next((g.get("name", "") for g in speed.get("gains", [])
                             if g.get("index") == gain_index), "")
                return str(speed.get("name", "")), str(gain)
        return "", ""

    # -- arming -----------------------------------------------------------------
    def arm(self) -> AcquisitionSettings:
        """Snapshot the settings the staging's file is made for.

        Returns
        -------
        AcquisitionSettings
        """
        self._armed = self.camera.acquisition_settings()
        return self._armed

    def disarm(self) -> None:
        """Forget the armed snapshot."""
        self._armed = None

    @property
    def settings(self) -> AcquisitionSettings:
        """The armed snapshot, or the camera's current settings when not armed."""
        return self._armed if self._armed is not None else self.camera.acquisition_settings()

    def check_frame_format(self) -> None:
        """Refuse to acquire frames the armed file cannot hold.

        Raises
        ------
        ValidationError
            When the frame shape or pixel type changed since :meth:`arm`
            (e.g. a readout port with another bit depth).
        """
        armed, now = self._armed, self.camera.acquisition_settings()
        if armed is not None and (now.frame_shape != armed.frame_shape or now.dtype != armed.dtype
                                  or now.regions != armed.regions):
            raise ValidationError(
                f"{self.name}: frames are now {now.frame_shape} {now.dtype} "
                f"({len(now.regions)} region(s)) but this staging's file holds "
                f"{armed.frame_shape} {armed.dtype} ({len(armed.regions)} region(s)); "
                f"unstage and stage again", None, "frame_format")

    # -- acquiring -------------------------------------------------------------
    def start(self, device: Any, writer: AssetWriter, target: Optional[int], *,
              buffer_mode: str, stall_timeout: Optional[float], stall_count: int,
              on_lost: Optional[Callable[[int], None]] = None,
              on_loss: str = "record",
              on_run_stats: Optional[Callable[[Any], None]] = None) -> Acquisition:
        """Start acquiring ``target`` frames into ``writer`` (None: until finished).

        Parameters
        ----------
        device : ophyd.Device
            Owner of the status.
        writer : AssetWriter
            The staging's open file.
        target : int or None
            Frames to acquire.
        buffer_mode, stall_timeout, stall_count
            Engine stream options (``stall_timeout`` None: engine default).
        on_lost : callable, optional
            ``on_lost(total)`` when the count of lost frames changes.
        on_loss : {"record", "fail"}
            The loss policy (see :class:`~ophyd_pvcam.device.acquisition.Acquisition`).
        on_run_stats : callable, optional
            ``on_run_stats(stats)`` with each finished stream run's statistics.

        Returns
        -------
        Acquisition
            Started; its ``status`` is failed (not raised) when starting failed.
        """
        self.check_frame_format()
        initial = writer.frames_written
        status = FrameProgressStatus(device, None if not target else initial + target,
                                     initial=initial, call_stop_on_failure=False)
        factory = self.make_factory(self.camera, buffer_mode=buffer_mode,
                                    stall_timeout=stall_timeout, stall_count=stall_count)
        acquisition = Acquisition(self.name, factory, writer, status, target=target,
                                  on_lost=on_lost, on_loss=on_loss, on_run_stats=on_run_stats)
        try:
            acquisition.start()
        except Exception as exc:  # noqa: BLE001 - reported through the status
            logger.error("%s: could not start acquiring: %s", self.name, exc)
        return acquisition
