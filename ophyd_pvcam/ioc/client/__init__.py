"""The ophyd client of the EPICS server: :class:`RemotePVCAMDetector` and its parts.

``ophyd_pvcam.ioc.client`` names the client's API (this path was the single
module ``client.py`` before the IOC was split into ``server/`` and
``client/``; every name it offered is still here). The parts:

:mod:`ophyd_pvcam.ioc.client.detector`
    :class:`RemotePVCAMDetector`, the ophyd device (staging, files, status).
:mod:`ophyd_pvcam.ioc.client.signals`
    Signals that confirm every ``set`` from the server's read-back
    (:class:`RemoteSettingError` when the server refuses a value).
:mod:`ophyd_pvcam.ioc.client.records`
    The record groups ``cam1:``, ``HDF1:``, ``image1:``, ``Stats1:``.
:mod:`ophyd_pvcam.ioc.client.fly`
    kickoff/complete/collect.
:mod:`ophyd_pvcam.ioc.client.assets`
    The documents of the server's file (:class:`RemoteAssetWriter`).

The client imports ophyd and the device layer, never the engine's camera or
the server (tests/test_architecture.py keeps the imports one-way).
"""
from __future__ import annotations

from ophyd_pvcam.ioc.client.assets import RemoteAssetWriter
from ophyd_pvcam.ioc.client.detector import RemotePVCAMDetector
from ophyd_pvcam.ioc.client.records import RemoteCam, RemoteHDF5, RemotePreview, RemoteStats, remote_error
from ophyd_pvcam.ioc.client.signals import RemoteSettingError

__all__ = ["RemotePVCAMDetector", "RemoteCam", "RemoteHDF5", "RemotePreview", "RemoteStats",
           "RemoteSettingError", "RemoteAssetWriter", "remote_error"]
