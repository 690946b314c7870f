"""Which cameras exist, and what identifies each one.

:func:`list_cameras` reports every camera the SDK sees without leaving the SDK
initialised; cameras already open in this process (tracked in a small
registry that :class:`~ophyd_pvcam.engine.camera.camera.Camera` maintains) report the
identity they read at open instead of being opened a second time.
"""
from __future__ import annotations

import os

import threading
from dataclasses import dataclass
from typing import Any, Protocol

from ophyd_pvcam import sdk
from ophyd_pvcam.engine.camera.session import session
from ophyd_pvcam.sdk import constants as C


__all__ = ["CameraInfo", "list_cameras", "camera_names", "read_camera_info", "resolve_library"]

# Cameras this process has open, by (id(library), name): list_cameras reads
# their info instead of trying a second (refused) pl_cam_open. Camera.open and
# Camera.close maintain it under the lock.
registry_lock = threading.RLock()
open_cameras: dict[tuple[int, str], "OpenCamera"] = {}


@dataclass(frozen=True)
class CameraInfo:
    """What identifies one camera.

    Attributes
    ----------
    name : str
        The SDK's camera name, passed to :meth:`Camera.open` (e.g. ``"pvcamUSB_0"``).
    index : int
        Position in the SDK's camera list.
    product : str
        ``PARAM_PRODUCT_NAME`` (the model), or the chip name when unavailable.
    chip : str
        ``PARAM_CHIP_NAME``.
    serial : str
        ``PARAM_HEAD_SER_NUM_ALPHA``.
    firmware : str
        ``PARAM_CAM_FW_VERSION`` as ``"major.minor"``.
    sensor_size : tuple of int
        ``(width, height)`` in pixels.
    vendor : str
        ``PARAM_VENDOR_NAME``.
    """

    name: str
    index: int
    product: str
    chip: str
    serial: str
    firmware: str
    sensor_size: tuple[int, int]
    vendor: str = ""

    @property
    def model(self) -> str:
        """Alias of :attr:`product`."""
        return self.product


def resolve_library(library: Any = None) -> Any:
    """Turn the ``library`` argument every layer accepts into a loaded SDK binding.

    Parameters
    ----------
    library : PVCAMLibrary, path-like, "sim" or None
        A binding (returned as is), a library file, ``"sim"`` for the bundled
        simulator, or ``None`` for :func:`ophyd_pvcam.sdk.load`'s default
        (``PVCAM_LIBRARY``, then the vendor's install locations).

    Returns
    -------
    PVCAMLibrary
    """
    if library is None:
        return sdk.load()
    if isinstance(library, str) and library == "sim":
        return sdk.load(simulated=True)
    if isinstance(library, (str, os.PathLike)):
        return sdk.load(library)
    return library


def camera_names(library: Any) -> list[str]:
    """Return the SDK's camera names (the session must be initialised).

    Parameters
    ----------
    library : PVCAMLibrary

    Returns
    -------
    list of str
    """
    return [library.cam_get_name(i) for i in range(library.cam_get_total())]


class OpenCamera(Protocol):
    """What :func:`list_cameras` reads of a camera open in this process.

    :class:`~ophyd_pvcam.engine.camera.camera.Camera` is one; a protocol rather
    than an import, because the camera imports this module
    (tests/test_architecture.py: no import circles).
    """

    info: CameraInfo


def read_camera_info(library: Any, handle: int, name: str, index: int) -> CameraInfo:
    """Read the identifying parameters of an open camera.

    Parameters
    ----------
    library : PVCAMLibrary
    handle : int
        Handle of the open camera.
    name : str
        Its SDK name.
    index : int
        Its position in the SDK list.

    Returns
    -------
    CameraInfo
    """
    def read(param_id: int, default: Any) -> Any:
        if not library.param_available(handle, param_id):
            return default
        return library.get_param(handle, param_id, int(C.ATTR_CURRENT))

    chip = str(read(C.PARAM_CHIP_NAME, ""))
    firmware = read(C.PARAM_CAM_FW_VERSION, None)
    return CameraInfo(
        name=name,
        index=index,
        product=str(read(C.PARAM_PRODUCT_NAME, chip)),
        chip=chip,
        serial=str(read(C.PARAM_HEAD_SER_NUM_ALPHA, "")),
        firmware="" if firmware is None else f"{int(firmware) >> 8}.{int(firmware) & 0xFF}",
        sensor_size=(int(read(C.PARAM_SER_SIZE, 0)), int(read(C.PARAM_PAR_SIZE, 0))),
        vendor=str(read(C.PARAM_VENDOR_NAME, "")),
    )


def list_cameras(library: Any = None) -> list[CameraInfo]:
    """Describe every camera the SDK sees.

    Cameras not open in this process are opened briefly to read their
    identity; the SDK session is held only for the duration of the call (plus
    whatever open cameras already hold).

    Parameters
    ----------
    library : PVCAMLibrary, optional
        Defaults to :func:`ophyd_pvcam.sdk.load`'s choice.

    Returns
    -------
    list of CameraInfo
        In SDK order.
    """
    lib = resolve_library(library)
    infos = []
    with session(lib):
        for index, name in enumerate(camera_names(lib)):
            with registry_lock:
                camera = open_cameras.get((id(lib), name))
                if camera is not None:
                    infos.append(camera.info)
                    continue
                handle = lib.cam_open(name)
                try:
                    infos.append(read_camera_info(lib, handle, name, index))
                finally:
                    lib.cam_close(handle)
    return infos
