"""A caproto EPICS server with areaDetector names for PVCAM cameras, and its ophyd client.

``ophyd_pvcam.ioc.server``
    :func:`~ophyd_pvcam.ioc.server.run_server` / ``python -m ophyd_pvcam.ioc``:
    ``<prefix>cam1:``, ``<prefix>HDF1:`` and ``<prefix>image1:`` per camera.
``ophyd_pvcam.ioc.client``
    :class:`~ophyd_pvcam.ioc.client.RemotePVCAMDetector`, the ophyd device for
    that server (same count and fly behaviour and documents as
    :class:`~ophyd_pvcam.device.detector.PVCAMDetector`).

The two sides are subpackages (``server/`` with its sans-I/O ``core/``,
and ``client/``); ``ophyd_pvcam.ioc.cam``, ``.hdf`` and ``.image`` re-export
the server's record groups under their earlier paths.

Names are imported lazily: the server does not import ophyd, the client
does not import the engine.
"""
from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "run_server": "ophyd_pvcam.ioc.server",
    "main": "ophyd_pvcam.ioc.server",
    "build_iocs": "ophyd_pvcam.ioc.server",
    "CameraIOC": "ophyd_pvcam.ioc.server",
    "CameraDriver": "ophyd_pvcam.ioc.server.core.driver",
    "RemotePVCAMDetector": "ophyd_pvcam.ioc.client",
    "RemoteSettingError": "ophyd_pvcam.ioc.client",
}

__all__ = ["CameraDriver", "CameraIOC", "RemotePVCAMDetector", "RemoteSettingError",
           "build_iocs", "main", "run_server"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ophyd_pvcam.ioc' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
