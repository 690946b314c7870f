"""The catalog over HTTP: :func:`server` shares a catalog directory, :func:`connect` opens a server.

:func:`server` serves the same directory layout and root spec as
:func:`ophyd_pvcam.catalog.local` from a thread of this process on 127.0.0.1,
so several processes on one machine can share a catalog (the DuckDB event
tables admit one process at a time). :func:`connect` opens any Tiled server,
e.g. the PostgreSQL one of ``docs/howto/catalogs.md``. :func:`share` is
:func:`server` plus an address file in the catalog directory, from which
:func:`connect_shared` connects any process on the machine without being told
the port or the key (how readers reach the catalog of a queueserver worker).

Everything here is also importable from :mod:`ophyd_pvcam.catalog`, which
re-exports it. This module shares the directory layout with the embedded
catalog through :mod:`ophyd_pvcam.catalog.store`, so neither imports the other.
"""
from __future__ import annotations

import json
import logging
import os
import secrets
import threading
import time
from typing import TYPE_CHECKING, Any, Iterable, Optional

from ophyd_pvcam.catalog.store import (CATALOG_SPEC, CatalogError, PathLike, build_adapter,
                                      catalog_database, needs_init, prepare_layout, redact_uri,
                                      resolve_root)
from ophyd_pvcam.engine.errors import ValidationError

if TYPE_CHECKING:  # tiled is imported lazily: it costs ~2 s
    from tiled.client.base import BaseClient


__all__ = ["CatalogServer", "SHARED_ADDRESS_FILE", "server", "share", "connect",
           "connect_shared"]

logger = logging.getLogger(__name__)

_STARTUP_TIMEOUT = 30.0  # seconds for the HTTP server to answer /healthz

#: Name of the file, in the catalog directory, where :func:`share` writes the
#: server's address and key (JSON ``{"uri", "api_key", "pid"}``, mode 0600).
SHARED_ADDRESS_FILE = "catalog-server.json"


class CatalogServer:
    """The catalog of one directory served over HTTP on 127.0.0.1 from a thread.

    Same layout and spec as :func:`~ophyd_pvcam.catalog.local`, so
    ``client[-1]`` works for every process that connects with the API key.
    Build it with :func:`server` (which documents the parameters and errors);
    stop it with :meth:`close` or a ``with`` block.

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
        self.path = resolve_root(path)
        self.api_key = api_key or secrets.token_hex(16)
        writable, readable = prepare_layout(self.path, [resolve_root(p) for p in readable_storage])
        database = catalog_database(self.path)
        try:
            adapter = build_adapter(f"sqlite:///{database}", writable, readable,
                                     init=needs_init(database))
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
        self._withdraw_address()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise CatalogError(f"catalog server thread {self._thread.name} did not stop "
                                   f"within {timeout} s", call="CatalogServer.close")

    def _publish_address(self) -> None:
        """Write the address file of :func:`share` (owner-only: it holds the key)."""

        target = self.path / SHARED_ADDRESS_FILE
        partial = target.with_name(f".{target.name}.{os.getpid()}")
        content = json.dumps({"uri": self.uri, "api_key": self.api_key, "pid": os.getpid()})
        try:
            descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w") as stream:
                stream.write(content)
            os.replace(partial, target)  # readers never see a half-written file
        except OSError as exc:
            raise CatalogError(f"cannot write the catalog server address file {target}: {exc}",
                               call="share") from exc
        self._address_file = target

    def _withdraw_address(self) -> None:
        """Remove the address file if it still names this server (another may have replaced it)."""
        target = getattr(self, "_address_file", None)
        if target is None:
            return
        self._address_file = None
        try:
            if json.loads(target.read_text()).get("uri") == getattr(self, "uri", None):
                target.unlink()
        except (OSError, ValueError):
            logger.warning("could not remove the catalog server address file %s", target,
                           exc_info=True)

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
    ``docs/howto/catalogs.md``. Do not keep :func:`~ophyd_pvcam.catalog.local` open on the same
    directory in another process (DuckDB lock).

    Parameters
    ----------
    path : path-like, optional
        Catalog directory; :func:`~ophyd_pvcam.catalog.default_path` when omitted.
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


def share(path: Optional[PathLike] = None, *, port: int = 0, api_key: Optional[str] = None,
          readable_storage: Iterable[PathLike] = ()) -> CatalogServer:
    """Serve the catalog of ``path`` like :func:`server` and publish its address for readers.

    Writes ``<path>/catalog-server.json`` (:data:`SHARED_ADDRESS_FILE`: the
    URI and the API key, readable by the owner only), which
    :func:`connect_shared` reads; ``close()`` removes it. The shipped profile
    calls this when ``PVCAM_CATALOG_PORT`` is set, so a bluesky-queueserver
    worker shares the catalog it holds.

    Parameters
    ----------
    path, port, api_key, readable_storage
        As for :func:`server`.

    Returns
    -------
    CatalogServer
        Started, its address published.

    Raises
    ------
    ValidationError
        If ``port`` is not a TCP port number (0 to 65535) or ``api_key`` is malformed.
    CatalogError
        If the catalog cannot be served or the address file cannot be written.
    """
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValidationError(f"port must be a TCP port number (0 to 65535), not {port!r}",
                              call="share")
    shared = server(path, port=port, api_key=api_key, readable_storage=readable_storage)
    try:
        shared._publish_address()
    except BaseException:
        shared.close()
        raise
    return shared


def connect_shared(path: Optional[PathLike] = None) -> "BaseClient":
    """Connect to the server that :func:`share` runs for the catalog directory ``path``.

    Use it from any process on the machine (an analysis notebook, a second
    shell) while another process, e.g. a queueserver worker, holds the catalog.

    Parameters
    ----------
    path : path-like, optional
        Catalog directory; :func:`~ophyd_pvcam.catalog.default_path` when omitted.

    Returns
    -------
    bluesky_tiled_plugins.CatalogOfBlueskyRuns
        Root client over HTTP, as from :func:`connect`.

    Raises
    ------
    CatalogError
        If no server shares the directory (no address file, or a server that
        no longer answers: the process that shared it has ended).
    """

    address_file = resolve_root(path) / SHARED_ADDRESS_FILE
    try:
        address = json.loads(address_file.read_text())
        uri, api_key = address["uri"], address["api_key"]
    except FileNotFoundError:
        raise CatalogError(f"no server shares the catalog {address_file.parent} "
                           f"({address_file.name} is missing): start one with "
                           "catalog.share(), or set PVCAM_CATALOG_PORT for the profile",
                           call="connect_shared") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CatalogError(f"cannot read the catalog server address file {address_file}: {exc}",
                           call="connect_shared") from exc
    try:
        return connect(uri, api_key=api_key)
    except CatalogError as exc:
        if _process_has_ended(address.get("pid")):
            # A process killed, or a queueserver worker ended, leaves the file behind.
            raise CatalogError(f"cannot connect to the catalog {address_file.parent} at {uri}: "
                               f"process {address['pid']}, which shared it, has ended",
                               call="connect_shared") from exc
        raise


def _process_has_ended(pid: Any) -> bool:
    """Whether ``pid`` (from an address file) names no running process on this machine."""
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


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
        raise CatalogError(f"cannot connect to catalog at {redact_uri(uri)}: {exc}",
                           call="connect") from exc
    if not any(spec.name == CATALOG_SPEC["name"] for spec in getattr(client, "specs", ())):
        logger.warning("catalog at %s lacks the %s spec: client[-1] will not work; "
                       "serve it with specs=[%r]", redact_uri(uri), CATALOG_SPEC["name"], CATALOG_SPEC)
    return client
