"""The caproto EPICS server: areaDetector records in front of the engine's camera.

``ophyd_pvcam.ioc.server`` names the server's API (this path was the single
module ``server.py`` before the IOC was split into ``server/`` and
``client/``; every name it offered is still here). Like caproto, the server
keeps its logic apart from the network:

:mod:`ophyd_pvcam.ioc.server.core`
    The sans-I/O core, with no caproto in it: the camera driver
    (:class:`~ophyd_pvcam.ioc.server.core.driver.CameraDriver`), the HDF5
    capture, the preview slot and the settings. Testable without a socket.
:mod:`ophyd_pvcam.ioc.server.records`, :mod:`~ophyd_pvcam.ioc.server.adcore_records`, :mod:`~ophyd_pvcam.ioc.server.cam_tables`
    Record helpers and tables shared by the record groups.
:mod:`ophyd_pvcam.ioc.server.cam`, :mod:`~ophyd_pvcam.ioc.server.hdf`, :mod:`~ophyd_pvcam.ioc.server.image`, :mod:`~ophyd_pvcam.ioc.server.stats`
    The record groups ``cam1:``, ``HDF1:``, ``image1:``, ``Stats1:``.
:mod:`ophyd_pvcam.ioc.server.asyncio_server`
    The caproto asyncio server: one :class:`CameraIOC` per camera,
    :func:`run_server`, ``python -m ophyd_pvcam.ioc``.
:mod:`ophyd_pvcam.ioc.server.pva`
    Frames over PVAccess (``--pva``; needs p4p).
"""
from __future__ import annotations

from ophyd_pvcam.ioc.server.asyncio_server import (READY_LINE, CameraIOC, build_iocs, camera_prefixes,
                                                   configure_network, main, run_server, serve,
                                                   start_pva)

__all__ = ["CameraIOC", "build_iocs", "camera_prefixes", "run_server", "serve", "main",
           "start_pva", "READY_LINE", "configure_network"]
