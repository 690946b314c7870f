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
``docs/howto/catalogs.md``).

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
  ``readable_storage``).
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
import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Optional, Union

from ophyd_pvcam.engine.errors import ValidationError
from ophyd_pvcam.sdk.errors import PVCAMError
from ophyd_pvcam.storage.paths import DATA_DIR_ENV, default_data_dir

if TYPE_CHECKING:  # tiled is imported lazily: it costs ~2 s, and the IOC/CLI rarely need it
    from bluesky_tiled_plugins import TiledWriter
    from tiled.client.base import BaseClient

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
]

logger = logging.getLogger(__name__)

#: Environment variable that overrides :func:`default_path`.
#: Root-node spec that makes the Tiled client a ``CatalogOfBlueskyRuns``
#: (``client[-1]``, scan_id lookup, ``.v1``). A dict, not a ``Spec``: see above.
CATALOG_SPEC: dict[str, str] = {"name": "CatalogOfBlueskyRuns", "version": "3.0"}
#: Legacy Resource spec -> mimetype, so TiledWriter ingests ``PVCAM_HDF5`` as arrays.
SPEC_TO_MIMETYPE: dict[str, str] = {"PVCAM_HDF5": "application/x-hdf5"}

_CATALOG_FILE = "catalog.db"
_TABLES_FILE = "tables.duckdb"
_DATA_DIR = "data"
_FRAMES_DIR = "frames"
_STARTUP_TIMEOUT = 30.0  # seconds for the HTTP server to answer /healthz

PathLike = Union[str, "os.PathLike[str]"]


class CatalogError(PVCAMError):
    """A catalog could not be created, opened, served or reached.

    The underlying exception (from tiled, SQLite, uvicorn, httpx) is the
    ``__cause__``.
    """


def default_path() -> Path:
    """Return the default catalog directory.

    Returns
    -------
    pathlib.Path
        ``$PVCAM_DATA_DIR`` if set and non-empty; otherwise the per-user data
        directory ``$XDG_DATA_HOME/ophyd-pvcam`` (when ``XDG_DATA_HOME`` is an
        absolute path, as the XDG spec requires) or
        ``~/.local/share/ophyd-pvcam``. Not created here.
    """
    return default_data_dir()


def _root(path: Optional[PathLike]) -> Path:
    # Resolved, so the cache key and the readable-storage prefix match the
    # file URIs cameras write whatever spelling (~, .., symlinks) the user gave.
    return (Path(path).expanduser() if path is not None else default_path()).resolve()


def frames_dir(path: Optional[PathLike] = None) -> Path:
    """Return (and create) the directory where cameras write frame files.

    Parameters
    ----------
    path : path-like, optional
        Catalog directory; :func:`default_path` when omitted.

    Returns
    -------
    pathlib.Path
        ``<path>/frames``, resolved and created. It is readable storage of
        :func:`local` (``path``), so frames written below it can be read back.

    Raises
    ------
    CatalogError
        If the directory cannot be created.
    """
    frames = _root(path) / _FRAMES_DIR
    try:
        frames.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CatalogError(f"cannot create frames directory {frames}: {exc}",
                           call="frames_dir") from exc
    return frames


@dataclass
class _OpenCatalog:
    client: "BaseClient"
    readable: frozenset


_OPEN: dict[Path, _OpenCatalog] = {}
_OPEN_LOCK = threading.Lock()


def _prepare_layout(root: Path, extra_readable: Iterable[PathLike]) -> tuple[list[str], list[str]]:
    """Create the directory layout; return (writable, readable) storage lists."""
    try:
        (root / _DATA_DIR).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CatalogError(f"cannot create catalog directory {root}: {exc}",
                           call="local") from exc
    writable = [str(root / _DATA_DIR), f"duckdb:///{root / _TABLES_FILE}"]
    readable = [str(frames_dir(root))] + [str(_root(p)) for p in extra_readable]
    return writable, readable


def _build_adapter(catalog_uri: str, writable: list[str], readable: list[str], *, init: bool):
    import tiled.catalog

    return tiled.catalog.from_uri(
        catalog_uri,
        writable_storage=writable,
        readable_storage=readable,
        init_if_not_exists=init,
        specs=[dict(CATALOG_SPEC)],
    )


def _serve_in_process(adapter) -> "BaseClient":
    from tiled.client import Context, from_context
    from tiled.server.app import build_app

    # Context.from_app wraps the ASGI app in a Starlette TestClient: requests
    # are function calls on a portal thread, no socket is opened. Its startup
    # (database check, storage acquisition) runs here.
    return from_context(Context.from_app(build_app(adapter)))


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
        return _serve_in_process(_build_adapter(catalog_uri, writable, readable, init=init))
    except Exception as exc:
        raise CatalogError(f"cannot open catalog {_redact(catalog_uri)}: {exc}",
                           call="open_catalog") from exc


def _redact(uri: str) -> str:
    """Hide a password in a database URI before it goes into a message or log."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _open_local(root: Path, writable: list[str], readable: list[str]) -> "BaseClient":
    from tiled.alembic_utils import UninitializedDatabase

    database = root / _CATALOG_FILE
    catalog_uri = f"sqlite:///{database}"
    # Initialising costs a subprocess (~3 s): only do it for a new database, or
    # when an existing file turns out not to hold a catalog (e.g. init killed).
    needs_init = not database.exists() or database.stat().st_size == 0
    try:
        try:
            return _serve_in_process(
                _build_adapter(catalog_uri, writable, readable, init=needs_init))
        except UninitializedDatabase:
            if needs_init:
                raise
            logger.info("%s holds no catalog yet; initialising it", database)
            return _serve_in_process(_build_adapter(catalog_uri, writable, readable, init=True))
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
    root = _root(path)
    extra = [_root(item) for item in readable_storage]
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
        writable, readable = _prepare_layout(root, extra)
        client = _open_local(root, writable, readable)
        _OPEN[root] = _OpenCatalog(client, frozenset([root / _FRAMES_DIR, *extra]))
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
    root = _root(path)
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
    """
    from bluesky_tiled_plugins import TiledWriter

    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValidationError(f"batch_size must be a positive integer, not {batch_size!r}",
                              call="writer")
    return TiledWriter(client, batch_size=batch_size, spec_to_mimetype=dict(SPEC_TO_MIMETYPE))


class CatalogServer:
    """The catalog of one directory served over HTTP on 127.0.0.1 from a thread.

    Same layout and spec as :func:`local`, so ``client[-1]`` works for every
    process that connects with the API key. Build it with :func:`server` (which
    documents the parameters and errors); stop it with :meth:`close` or a
    ``with`` block.

    Parameters
    ----------
    path, port, api_key, readable_storage
        As for :func:`server`.

    Attributes
    ----------
    path : pathlib.Path
        The catalog directory.
    uri : str
        ``http://127.0.0.1:<port>`` (no key in it, safe to log).
    port : int
        The bound port.
    api_key : str
        The key to pass to :func:`connect`.
    """

    def __init__(self, path: Optional[PathLike] = None, *, port: int = 0,
                 api_key: Optional[str] = None,
                 readable_storage: Iterable[PathLike] = ()) -> None:
        import uvicorn
        from tiled.config import Authentication
        from tiled.server.app import build_app

        # Tiled refuses other characters at startup, inside the server thread,
        # where the error would be hard to see: check here.
        if api_key is not None and not (api_key.isascii() and api_key.isalnum()):
            raise ValidationError("api_key must contain only ASCII letters and digits",
                                  call="server")
        self.path = _root(path)
        self.api_key = api_key or secrets.token_hex(16)
        writable, readable = _prepare_layout(self.path, [_root(p) for p in readable_storage])
        database = self.path / _CATALOG_FILE
        needs_init = not database.exists() or database.stat().st_size == 0
        try:
            adapter = _build_adapter(f"sqlite:///{database}", writable, readable, init=needs_init)
            app = build_app(adapter, authentication=Authentication(single_user_api_key=self.api_key))
        except Exception as exc:
            raise CatalogError(f"cannot build catalog server for {self.path}: {exc}",
                               call="server") from exc
        # log_config=None: leave the application's logging configuration alone.
        config = uvicorn.Config(app, host="127.0.0.1", port=port, loop="asyncio",
                                log_config=None, access_log=False)
        self._server = uvicorn.Server(config)
        # Daemon so a forgotten close() cannot keep the interpreter alive;
        # close() still stops and joins it.
        self._thread = threading.Thread(target=self._server.run, daemon=True,
                                        name=f"ophyd-pvcam-catalog-server-{self.path.name}")
        self._thread.start()
        try:
            self.port = self._wait_until_ready()
        except BaseException:
            self.close()
            raise
        self.uri = f"http://127.0.0.1:{self.port}"
        logger.info("serving catalog %s at %s", self.path, self.uri)

    def _wait_until_ready(self) -> int:
        import httpx

        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive():
                raise CatalogError(f"catalog server for {self.path} exited during startup "
                                   "(port in use? see the uvicorn log)", call="server")
            if time.monotonic() > deadline:
                raise CatalogError(f"catalog server for {self.path} did not start in "
                                   f"{_STARTUP_TIMEOUT} s", call="server")
            time.sleep(0.05)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        # uvicorn reports started once the socket listens; the app answers only
        # after its lifespan startup, so poll the health endpoint.
        with httpx.Client(trust_env=False) as http:
            while True:
                try:
                    if http.get(f"http://127.0.0.1:{port}/healthz", timeout=1.0).status_code == 200:
                        return port
                except httpx.RequestError:
                    pass
                if time.monotonic() > deadline or not self._thread.is_alive():
                    raise CatalogError(f"catalog server for {self.path} never became healthy",
                                       call="server")
                time.sleep(0.05)

    def client(self) -> "BaseClient":
        """Return a new HTTP client of this server (see :func:`connect`).

        Returns
        -------
        bluesky_tiled_plugins.CatalogOfBlueskyRuns
            Root client.
        """
        return connect(self.uri, api_key=self.api_key)

    @property
    def running(self) -> bool:
        """Whether the server thread is alive (bool)."""
        return self._thread.is_alive()

    def close(self, timeout: Optional[float] = 10.0) -> None:
        """Stop serving and join the server thread (idempotent).

        Parameters
        ----------
        timeout : float or None, optional
            Seconds to wait for the thread.

        Raises
        ------
        CatalogError
            If the thread is still running after ``timeout``.
        """
        self._server.should_exit = True
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise CatalogError(f"catalog server thread {self._thread.name} did not stop "
                                   f"within {timeout} s", call="CatalogServer.close")

    def __enter__(self) -> "CatalogServer":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<CatalogServer {self.path} at {getattr(self, 'uri', '(starting)')}>"


def server(path: Optional[PathLike] = None, *, port: int = 0, api_key: Optional[str] = None,
           readable_storage: Iterable[PathLike] = ()) -> CatalogServer:
    """Serve the catalog of ``path`` over HTTP on 127.0.0.1 and return the running server.

    Use it to share one catalog between processes (RunEngine, analysis
    notebooks) on one machine; for several machines see
    ``docs/howto/catalogs.md``. Do not keep :func:`local` open on the same
    directory in another process (DuckDB lock).

    Parameters
    ----------
    path : path-like, optional
        Catalog directory; :func:`default_path` when omitted.
    port : int, optional
        TCP port; 0 picks a free one.
    api_key : str, optional
        Single-user API key; random when omitted.
    readable_storage : iterable of path-like, optional
        Extra directories whose frame files may be served.

    Returns
    -------
    CatalogServer
        Started; ``.uri`` and ``.api_key`` go to :func:`connect`. Call
        ``.close()`` when done.

    Raises
    ------
    ValidationError
        If ``api_key`` contains characters other than ASCII letters and digits.
    CatalogError
        If the catalog cannot be opened or the server does not come up.
    """
    return CatalogServer(path, port=port, api_key=api_key, readable_storage=readable_storage)


def connect(uri: str, api_key: Optional[str] = None) -> "BaseClient":
    """Open a Tiled server's catalog over HTTP.

    Parameters
    ----------
    uri : str
        Server address, e.g. ``http://127.0.0.1:8000`` (a key may also be given
        as ``?api_key=...``).
    api_key : str, optional
        Single-user API key; tiled also reads ``TILED_API_KEY``.

    Returns
    -------
    tiled client
        A ``CatalogOfBlueskyRuns`` when the server's root has that spec (as
        :func:`server` and the documented configurations do); a warning is
        logged otherwise, since ``client[-1]`` then fails.

    Raises
    ------
    CatalogError
        If the server cannot be reached or refuses the key.
    """
    from tiled.client import from_uri

    try:
        client = from_uri(uri, api_key=api_key)
    except Exception as exc:
        raise CatalogError(f"cannot connect to catalog at {_redact(uri)}: {exc}",
                           call="connect") from exc
    if not any(spec.name == CATALOG_SPEC["name"] for spec in getattr(client, "specs", ())):
        logger.warning("catalog at %s lacks the %s spec: client[-1] will not work; "
                       "serve it with specs=[%r]", _redact(uri), CATALOG_SPEC["name"], CATALOG_SPEC)
    return client
