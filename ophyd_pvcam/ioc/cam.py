"""Moved: the ``<prefix>cam1:`` records are :mod:`ophyd_pvcam.ioc.server.cam` (re-exported here).

This path predates the split of the IOC into ``server/`` and ``client/``
(docs/explanation/architecture.md); it names the same objects.
"""
from __future__ import annotations

from ophyd_pvcam.ioc.server.cam import *  # noqa: F401,F403 - the re-export is the point
from ophyd_pvcam.ioc.server.cam import __all__  # noqa: F401
