"""ctypes binding of the Teledyne Photometrics PVCAM SDK: the only place that knows C.

Typical use::

    from ophyd_pvcam.sdk import load, constants as C

    lib = load(simulated=True)          # or load() for the vendor library
    lib.pvcam_init()
    hcam = lib.cam_open(lib.cam_get_name(0))
    width = lib.get_param(hcam, C.PARAM_SER_SIZE)

Modules: :mod:`.library` (find and load), :mod:`.binding` (:class:`PVCAMLibrary`,
whose calls live in the mixins :mod:`._parameters`, :mod:`._acquisition`,
:mod:`._metadata` and :mod:`._extras`), :mod:`.types` (structures, callback types),
:mod:`.constants` (ids and enums), :mod:`.errors` (the exception hierarchy).
"""
from __future__ import annotations

from . import constants, errors, types
from ._metadata import decode_frame_metadata
from .binding import PVCAMLibrary, buffer_address
from .errors import (
    ArgumentError,
    LibraryNotFoundError,
    PVCAMError,
    SDKError,
    error_class_for_code,
)
from .library import find_library, load, simulator_path
from .types import EOF_CALLBACK, FRAME_INFO, RGN_TYPE, FrameInfo, FrameMetadata, RoiMetadata

__all__ = [
    "constants",
    "errors",
    "types",
    "PVCAMLibrary",
    "buffer_address",
    "decode_frame_metadata",
    "ArgumentError",
    "LibraryNotFoundError",
    "PVCAMError",
    "SDKError",
    "error_class_for_code",
    "find_library",
    "load",
    "simulator_path",
    "EOF_CALLBACK",
    "FRAME_INFO",
    "RGN_TYPE",
    "FrameInfo",
    "FrameMetadata",
    "RoiMetadata",
]
