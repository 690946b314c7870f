"""ophyd-pvcam: Teledyne Photometrics PVCAM cameras in bluesky.

The package is layered; each layer imports only the ones below it:

``ophyd_pvcam.sdk``
    ctypes binding to ``libpvcam.so.2`` (the only code that knows C types).
``ophyd_pvcam.sim``
    the simulated camera: a C library with the vendor's ABI.
``ophyd_pvcam.engine``
    cameras, parameters, sequences and streams that never stop silently.
``ophyd_pvcam.storage``
    HDF5 frame files and the databroker handler.
``ophyd_pvcam.device``
    the ophyd :class:`PVCAMDetector`.
``ophyd_pvcam.ioc``
    a caproto EPICS server with areaDetector names, and its ophyd client.

The names below are imported lazily, so ``import ophyd_pvcam.sdk`` does not
pull in ophyd or bluesky.
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "PVCAMError": "ophyd_pvcam.sdk.errors",
    "StallError": "ophyd_pvcam.engine.errors",
    "ValidationError": "ophyd_pvcam.engine.errors",
    "CameraRemovedError": "ophyd_pvcam.engine.errors",
    "Camera": "ophyd_pvcam.engine",
    "list_cameras": "ophyd_pvcam.engine",
    "Stream": "ophyd_pvcam.engine",
    "PVCAMDetector": "ophyd_pvcam.device.detector",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ophyd_pvcam' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
