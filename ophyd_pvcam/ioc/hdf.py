"""Moved: the ``<prefix>HDF1:`` records are :mod:`ophyd_pvcam.ioc.server.hdf` (re-exported here).

This path predates the split of the IOC into ``server/`` and ``client/``
(docs/explanation/architecture.md); it names the same objects.
"""
from __future__ import annotations

from ophyd_pvcam.ioc.server.hdf import *  # noqa: F401,F403 - the re-export is the point
from ophyd_pvcam.ioc.server.hdf import __all__  # noqa: F401
