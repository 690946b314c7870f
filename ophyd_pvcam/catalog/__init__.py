"""The embedded local catalog, and the same catalog shared over HTTP.

``ophyd_pvcam.catalog`` names the whole API; the parts live in

:mod:`ophyd_pvcam.catalog.store`
    The catalog directory: layout, database file, Tiled adapter, errors.
:mod:`ophyd_pvcam.catalog.embedded`
    :func:`local` (a persistent catalog served inside this process),
    :func:`close`, :func:`open_catalog` and :func:`writer` (the RunEngine's
    ``TiledWriter``); its page lists the pitfalls handled.
:mod:`ophyd_pvcam.catalog.sharing`
    :func:`server`, :func:`share`, :func:`connect`, :func:`connect_shared` and
    :class:`CatalogServer`: the same directory over HTTP on 127.0.0.1.

``embedded`` and ``sharing`` both import ``store`` and not each other
(tests/test_architecture.py checks there is no import circle).
"""
from __future__ import annotations

from ophyd_pvcam.catalog.embedded import close, local, open_catalog, writer
from ophyd_pvcam.catalog.sharing import (SHARED_ADDRESS_FILE, CatalogServer, connect,
                                         connect_shared, server, share)
from ophyd_pvcam.catalog.store import (CATALOG_SPEC, SPEC_TO_MIMETYPE, CatalogError, default_path,
                                       frames_dir)
from ophyd_pvcam.storage.paths import DATA_DIR_ENV

__all__ = [
    "CATALOG_SPEC",
    "SPEC_TO_MIMETYPE",
    "DATA_DIR_ENV",
    "CatalogError",
    "CatalogServer",
    "default_path",
    "frames_dir",
    "local",
    "close",
    "open_catalog",
    "writer",
    "server",
    "connect",
    "share",
    "connect_shared",
    "SHARED_ADDRESS_FILE",
]
