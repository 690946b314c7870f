"""The embedded local catalog: where bluesky runs and their camera frames are kept.

:func:`local` opens a persistent Tiled catalog under one directory and serves it
inside the calling process (no server process, no network, no database server)::

    <path>/catalog.db      SQLite: run metadata, descriptors, asset registry
    <path>/tables.duckdb   DuckDB: event columns (scalars, small arrays)
    <path>/data/           arrays Tiled writes itself (large non-file event fields)
    <path>/frames/         HDF5 frame files written by the camera, referenced in place

:func:`writer` builds the :class:`~bluesky_tiled_plugins.TiledWriter` to
subscribe to the RunEngine, :func:`server` shares the same directory over HTTP on
127.0.0.1, and :func:`connect` opens any Tiled server (e.g. the PostgreSQL one of
``docs/howto/catalogs.md``); those two, :func:`share`/:func:`connect_shared`
(a server whose address readers find in the catalog directory) and
:class:`CatalogServer` live in :mod:`ophyd_pvcam.catalog.sharing`; the
package :mod:`ophyd_pvcam.catalog` names them all.

Pitfalls this module handles (verified against tiled 0.2.20,
bluesky-tiled-plugins 2.0.12, bluesky 1.15.1):

* ``tiled.catalog.from_uri(specs=...)`` needs plain dicts; ``Spec`` objects raise
  ``TypeError``. Without the ``CatalogOfBlueskyRuns`` spec the root is a plain
  ``Container`` and ``client[-1]`` raises ``TypeError``. Tiled's own
  ``SimpleTiledServer`` cannot set the spec, hence :class:`CatalogServer`.
* ``readable_storage`` is enforced only when *reading*: a run whose frame files
  lie outside it is registered without complaint, and reading the frames later
  fails with HTTP 500 ("Refusing to serve ... outside the readable storage
  area"). Cameras must write below :func:`frames_dir` (or a directory passed as
  ``readable_storage``); :func:`writer` of a :func:`local` catalog refuses a
  run, at its start, whose staged ``PVCAMDetector`` writes elsewhere.
* ``TiledWriter`` buffers 10000 events/StreamDatums by default, so nothing is
  readable until the run stops; :func:`writer` defaults to ``batch_size=1`` so
  frames can be read while the run is going.
* Legacy ``Resource`` documents with spec ``PVCAM_HDF5`` become
  ``application/octet-stream`` (bytes, not an array) unless the writer is given
  ``spec_to_mimetype={"PVCAM_HDF5": "application/x-hdf5"}``; :func:`writer` does.
* Touching ``databroker.v1`` headers switches the structure client of every
  ``BlueskyRun`` in the process to the v2 layout (``data/timestamps/config``).
  Library code must index runs through ``run.v3[...]``.
* DuckDB allows one process at a time on ``tables.duckdb``: while one process
  holds :func:`local` on a directory, another process can list runs and read
  frames but fails on event columns ("Could not set lock on file"). Call
  :func:`close` to release the directory, or share it with :func:`server`.
  (SQLite for the event tables would allow several processes but cannot store
  array-valued columns: "Unsupported PyArrow type: list<item: uint16>".)
* Creating a catalog runs ``python -m tiled catalog init`` in a subprocess
  (about 3 s); it is skipped when ``catalog.db`` already exists.
"""
from __future__ import annotations

import logging
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Optional

from ophyd_pvcam.engine.errors import ValidationError
from ophyd_pvcam.storage.paths import is_below, staged_frame_roots

from ophyd_pvcam.catalog.store import (FRAMES_SUBDIR, SPEC_TO_MIMETYPE, CatalogError, PathLike,
                                      build_adapter, catalog_database, needs_init, prepare_layout,
                                      redact_uri, resolve_root)

if TYPE_CHECKING:  # tiled is imported lazily: it costs ~2 s, and the IOC/CLI rarely need it
    from bluesky_tiled_plugins import TiledWriter
    from tiled.client.base import BaseClient

__all__ = ["local", "close", "open_catalog", "writer"]

logger = logging.getLogger(__name__)

@dataclass
class _OpenCatalog:
    client: "BaseClient"
    readable: frozenset


_OPEN: dict[Path, _OpenCatalog] = {}
_OPEN_LOCK = threading.Lock()


def _serve_in_process(adapter) -> "BaseClient":
    from tiled.client import Context, from_context
    from tiled.server.app import build_app

    # Context.from_app wraps the ASGI app in a Starlette TestClient: requests
    # are function calls on a portal thread, no socket is opened. Its startup
    # (database check, storage acquisition) runs here. That startup logs
    # "Tiled version ..." through tiled's own handler, and importing the
    # TestClient warns about starlette's httpx deprecation: both are about
    # tiled's server, which a user of the embedded catalog never sees.
    app_logger = logging.getLogger(build_app.__module__)
    level = app_logger.level
    app_logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
            return from_context(Context.from_app(build_app(adapter)))
    finally:
        app_logger.setLevel(level)


def open_catalog(
    catalog_uri: str,
    *,
    writable_storage: Iterable[PathLike],
    readable_storage: Iterable[PathLike] = (),
    init: bool = True,
) -> "BaseClient":
    """Open any SQL-backed Tiled catalog of bluesky runs, served in this process.

    The general form of :func:`local` (which fixes the URIs to one directory),
    e.g. for a catalog on PostgreSQL without running a Tiled server. Not cached:
    close it with ``client.context.close()``.

    Parameters
    ----------
    catalog_uri : str
        SQLAlchemy URI of the catalog database, e.g. ``sqlite:////abs/catalog.db``
        or ``postgresql://user@127.0.0.1:5432/catalog`` (the async driver,
        ``aiosqlite``/``asyncpg``, is chosen by tiled).
    writable_storage : iterable of path-like or str
        Where Tiled writes: a directory for arrays and a tabular store
        (``duckdb:///...``, ``postgresql://...``).
    readable_storage : iterable of path-like or str, optional
        Directories holding frame files referenced in place.
    init : bool, optional
        Create the catalog schema if the database is empty (runs
        ``tiled catalog init`` in a subprocess).

    Returns
    -------
    bluesky_tiled_plugins.CatalogOfBlueskyRuns
        The root client; ``client[-1].v3["primary"]`` is the latest run's stream.

    Raises
    ------
    CatalogError
        If the catalog cannot be initialised or started.
    """
    writable = [str(item) for item in writable_storage]
    readable = [str(item) for item in readable_storage]
    try:
        return _serve_in_process(build_adapter(catalog_uri, writable, readable, init=init))
    except Exception as exc:
        raise CatalogError(f"cannot open catalog {redact_uri(catalog_uri)}: {exc}",
                           call="open_catalog") from exc


def _open_local(root: Path, writable: list[str], readable: list[str]) -> "BaseClient":
    from tiled.alembic_utils import UninitializedDatabase

    database = catalog_database(root)
    catalog_uri = f"sqlite:///{database}"
    # Only a new database is initialised, or (below) an existing file that
    # turns out not to hold a catalog (e.g. init killed).
    init = needs_init(database)
    try:
        try:
            return _serve_in_process(
                build_adapter(catalog_uri, writable, readable, init=init))
        except UninitializedDatabase:
            if init:
                raise
            logger.info("%s holds no catalog yet; initialising it", database)
            return _serve_in_process(build_adapter(catalog_uri, writable, readable, init=True))
    except Exception as exc:
        raise CatalogError(f"cannot open local catalog {root}: {exc}", call="local") from exc


def local(path: Optional[PathLike] = None, *,
          readable_storage: Iterable[PathLike] = ()) -> "BaseClient":
    """Open the embedded, persistent catalog in ``path``, served in this process.

    Creates the directory layout and the SQLite catalog on first use. Calls with
    the same (resolved) path return the same client until :func:`close`.

    Parameters
    ----------
    path : path-like, optional
        Catalog directory; :func:`default_path` when omitted.
    readable_storage : iterable of path-like, optional
        Extra directories, besides :func:`frames_dir` (``path``), whose frame
        files the catalog may serve.

    Returns
    -------
    bluesky_tiled_plugins.CatalogOfBlueskyRuns
        Root client: ``client[-1]``, ``client[uid]``, ``client[scan_id]``; read
        frames with ``client[-1].v3["primary"]["<device>_image"].read()``.

    Raises
    ------
    CatalogError
        If the directory or catalog cannot be created or opened, or if the
        catalog is already open in this process without one of the requested
        ``readable_storage`` directories (call :func:`close` first).

    Notes
    -----
    Only one process at a time can write event columns (DuckDB lock); use
    :func:`server` to share a catalog between processes.
    """
    root = resolve_root(path)
    extra = [resolve_root(item) for item in readable_storage]
    with _OPEN_LOCK:
        opened = _OPEN.get(root)
        if opened is not None:
            missing = [str(p) for p in extra if p not in opened.readable]
            if missing:
                raise CatalogError(
                    f"catalog {root} is already open without readable storage {missing}; "
                    f"call ophyd_pvcam.catalog.close({str(root)!r}) and open it again",
                    call="local")
            return opened.client
        writable, readable = prepare_layout(root, extra)
        client = _open_local(root, writable, readable)
        _OPEN[root] = _OpenCatalog(client, frozenset([root / FRAMES_SUBDIR, *extra]))
        logger.info("opened local catalog %s (readable: %s)", root, readable)
        return client


def close(path: Optional[PathLike] = None) -> None:
    """Close the client :func:`local` cached for ``path``; no-op if none is open.

    Releases the catalog's database connections (including the DuckDB file
    lock), so another process can open the same directory. Clients previously
    returned for ``path`` stop working.

    Parameters
    ----------
    path : path-like, optional
        Catalog directory; :func:`default_path` when omitted.
    """
    root = resolve_root(path)
    with _OPEN_LOCK:
        opened = _OPEN.pop(root, None)
    if opened is not None:
        # Runs the app's shutdown: disposes the SQL engine and storage pools.
        opened.client.context.close()
        logger.info("closed local catalog %s", root)


def writer(client: "BaseClient", batch_size: int = 1) -> "TiledWriter":
    """Build the RunEngine callback that writes runs into ``client``.

    Parameters
    ----------
    client : tiled client
        A writable catalog root, e.g. from :func:`local` or :func:`connect`.
    batch_size : int, optional
        Events/StreamDatums buffered before writing. 1 (default) makes every
        frame readable as soon as its document is emitted; TiledWriter's own
        default (10000) holds everything back until the run stops.

    Returns
    -------
    bluesky_tiled_plugins.TiledWriter
        Subscribe it: ``RE.subscribe(writer(client))``. It ingests
        StreamResource/StreamDatum and legacy Resource/Datum (spec
        ``PVCAM_HDF5`` and the area-detector specs).

    Raises
    ------
    ValidationError
        If ``batch_size`` is not a positive integer.

    Notes
    -----
    For a catalog of :func:`local`, the writer knows the catalog's readable
    storage and refuses, with a ``ValidationError`` naming
    ``readable_storage``, a run whose frames it could not read back: at the
    run's start when a staged :class:`~ophyd_pvcam.device.detector.PVCAMDetector`
    writes elsewhere (before any frame is taken), and at any (stream) resource
    naming a file elsewhere. The refused run is not recorded.
    """
    from bluesky_tiled_plugins import TiledWriter

    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValidationError(f"batch_size must be a positive integer, not {batch_size!r}",
                              call="writer")
    with _OPEN_LOCK:
        local = next(((root, opened.readable) for root, opened in _OPEN.items()
                      if opened.client is client), None)
    if local is None:
        # A remote server's readable storage is its own configuration: unknown here.
        return TiledWriter(client, batch_size=batch_size,
                           spec_to_mimetype=dict(SPEC_TO_MIMETYPE))
    return _readable_checked_writer(TiledWriter)(
        client, batch_size=batch_size, spec_to_mimetype=dict(SPEC_TO_MIMETYPE),
        catalog_root=local[0], readable=local[1])


def _readable_checked_writer(base: type) -> type:
    """A TiledWriter that refuses runs whose frame files its local catalog cannot read."""

    class ReadableCheckedTiledWriter(base):
        """TiledWriter of a :func:`local` catalog, refusing unreadable frame files at once.

        At a run's ``start`` it checks the write roots of the detectors
        staged in this process (:func:`~ophyd_pvcam.storage.paths.staged_frame_roots`),
        and at every ``stream_resource``/``resource`` the file it names: a
        file outside ``readable_storage`` raises :class:`ValidationError`
        (the RunEngine ends the plan) and the run is not recorded.
        """

        def __init__(self, *args: object, catalog_root: Path, readable: Iterable[Path],
                     **kwargs: object):
            super().__init__(*args, **kwargs)
            self._catalog_root = catalog_root
            self._readable = tuple(readable)
            self._refused_run: Optional[str] = None

        def __call__(self, name: str, doc: dict, *args: object, **kwargs: object) -> object:
            if name == "start":
                self._refused_run = None
                outside = {device: root for device, root in staged_frame_roots().items()
                           if not is_below(root, self._readable)}
                if outside:
                    self._refused_run = doc.get("uid")
                    raise self._refusal(", ".join(f"{device} writes frames under {root}"
                                                  for device, root in outside.items()),
                                        "the run is refused before it starts")
            elif self._refused_run is not None:
                # The refused run's later documents (its stop) stay out of the catalog.
                if name == "stop":
                    self._refused_run = None
                return None
            elif name in ("stream_resource", "resource"):
                path = _resource_path(doc)
                if path is not None and not is_below(path, self._readable):
                    raise self._refusal(f"{doc.get('data_key') or 'a device'} writes {path}",
                                        "the run is stopped")
            return super().__call__(name, doc, *args, **kwargs)

        def _refusal(self, what: str, outcome: str) -> ValidationError:
            readable = [str(d) for d in self._readable]
            return ValidationError(
                f"{what}, which the catalog at {self._catalog_root} cannot read "
                f"(readable_storage={readable}); {outcome} rather than record frames "
                f"nobody could read back: set write_path below "
                f"{readable[0]!r} or open the catalog with "
                f"ophyd_pvcam.catalog.local(..., readable_storage=[<that directory>])",
                call="catalog.writer")

    return ReadableCheckedTiledWriter


def _resource_path(doc: dict) -> Optional[Path]:
    """The local file a (stream) resource document points at, if it names one."""
    uri = doc.get("uri")
    if isinstance(uri, str) and uri.startswith("file://"):
        from urllib.parse import unquote, urlsplit

        return Path(unquote(urlsplit(uri).path))
    root, resource_path = doc.get("root"), doc.get("resource_path")
    if isinstance(resource_path, str):
        return Path(root or "/") / resource_path
    return None
