"""The catalog directory: its layout, database file and Tiled adapter.

Shared by the embedded catalog (:mod:`ophyd_pvcam.catalog.embedded`) and its
HTTP server (:mod:`ophyd_pvcam.catalog.sharing`), which both import this
module and not each other's internals.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Optional, Union

from ophyd_pvcam.sdk.errors import PVCAMError
from ophyd_pvcam.storage.paths import default_data_dir

__all__ = ["CATALOG_SPEC", "SPEC_TO_MIMETYPE", "CATALOG_FILE", "TABLES_FILE", "DATA_SUBDIR",
           "FRAMES_SUBDIR", "PathLike", "CatalogError", "default_path", "resolve_root",
           "frames_dir", "prepare_layout", "catalog_database", "needs_init", "build_adapter",
           "redact_uri"]

#: Environment variable that overrides :func:`default_path`.
#: Root-node spec that makes the Tiled client a ``CatalogOfBlueskyRuns``
#: (``client[-1]``, scan_id lookup, ``.v1``). A dict, not a ``Spec``: see above.
CATALOG_SPEC: dict[str, str] = {"name": "CatalogOfBlueskyRuns", "version": "3.0"}
#: Legacy Resource spec -> mimetype, so TiledWriter ingests ``PVCAM_HDF5`` as arrays.
SPEC_TO_MIMETYPE: dict[str, str] = {"PVCAM_HDF5": "application/x-hdf5"}

CATALOG_FILE = "catalog.db"
TABLES_FILE = "tables.duckdb"
DATA_SUBDIR = "data"
FRAMES_SUBDIR = "frames"

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


def resolve_root(path: Optional[PathLike]) -> Path:
    """Return the resolved catalog directory ``path`` (:func:`default_path` when ``None``).

    Parameters
    ----------
    path : path-like, optional

    Returns
    -------
    pathlib.Path
    """
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
    frames = resolve_root(path) / FRAMES_SUBDIR
    try:
        frames.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CatalogError(f"cannot create frames directory {frames}: {exc}",
                           call="frames_dir") from exc
    return frames


def prepare_layout(root: Path, extra_readable: Iterable[PathLike]) -> tuple[list[str], list[str]]:
    """Create the directory layout of catalog ``root``; return its (writable, readable) storage lists.

    Parameters
    ----------
    root : pathlib.Path
        Resolved catalog directory (:func:`resolve_root`).
    extra_readable : iterable of path-like
        Directories readable besides :func:`frames_dir`.

    Returns
    -------
    tuple of (list of str, list of str)
    """
    try:
        (root / DATA_SUBDIR).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CatalogError(f"cannot create catalog directory {root}: {exc}",
                           call="local") from exc
    writable = [str(root / DATA_SUBDIR), f"duckdb:///{root / TABLES_FILE}"]
    readable = [str(frames_dir(root))] + [str(resolve_root(p)) for p in extra_readable]
    return writable, readable


def catalog_database(root: Path) -> Path:
    """Return the SQLite catalog file of the catalog directory ``root``.

    Parameters
    ----------
    root : pathlib.Path

    Returns
    -------
    pathlib.Path
    """
    return root / CATALOG_FILE


def needs_init(database: Path) -> bool:
    """Return whether ``database`` must be initialised (a subprocess, ~3 s): missing or empty.

    Parameters
    ----------
    database : pathlib.Path

    Returns
    -------
    bool
    """
    return not database.exists() or database.stat().st_size == 0


def build_adapter(catalog_uri: str, writable: list[str], readable: list[str], *, init: bool):
    """Return the Tiled catalog adapter of ``catalog_uri`` with this package's storage and spec.

    Parameters
    ----------
    catalog_uri : str
        SQLAlchemy URI of the catalog database.
    writable, readable : list of str
        Writable and readable storage (:func:`prepare_layout`).
    init : bool
        Initialise the database if it does not exist (:func:`needs_init`).
    """
    import tiled.catalog

    return tiled.catalog.from_uri(
        catalog_uri,
        writable_storage=writable,
        readable_storage=readable,
        init_if_not_exists=init,
        specs=[dict(CATALOG_SPEC)],
    )


def redact_uri(uri: str) -> str:
    """Return ``uri`` with its password hidden, for a message or log.

    Parameters
    ----------
    uri : str

    Returns
    -------
    str
    """
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


