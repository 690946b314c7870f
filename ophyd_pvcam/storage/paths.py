"""Where frame files go: a configurable root plus a template per run and device.

The default layout is ``<root>/YYYY/MM/DD/<device>_<run_uid>.h5``: one file per
run and device, date folders so no directory grows without bound, the run
uid in the name so a file can always be matched to its run.
"""
from __future__ import annotations

import datetime as _dt
import os
import re
import threading
from pathlib import Path, PurePosixPath
from typing import Iterable, Optional, Union

from ophyd_pvcam.engine.errors import ValidationError

__all__ = ["DEFAULT_TEMPLATE", "DATA_DIR_ENV", "default_data_dir", "default_root", "make_file_path",
           "announce_frame_root", "withdraw_frame_root", "staged_frame_roots", "is_below"]

#: Default file name template, relative to the root (``str.format`` fields:
#: ``date`` (a datetime), ``run_uid``, ``device``).
DEFAULT_TEMPLATE = "{date:%Y/%m/%d}/{device}_{run_uid}.h5"
#: Environment variable naming the ophyd-pvcam data directory.
DATA_DIR_ENV = "PVCAM_DATA_DIR"

# Device names come from users ("cam 1", "det/a"); keep path components tame.
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def default_data_dir() -> Path:
    """Return the ophyd-pvcam data directory (catalog and frames); not created here.

    Returns
    -------
    pathlib.Path
        ``$PVCAM_DATA_DIR`` if set and non-empty, else
        ``$XDG_DATA_HOME/ophyd-pvcam`` (when that is an absolute path, as the
        XDG spec requires; relative values must be ignored), else
        ``~/.local/share/ophyd-pvcam``. The local catalog
        (:func:`ophyd_pvcam.catalog.default_path`) uses this same directory.
    """
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override).expanduser().absolute()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return base / "ophyd-pvcam"


def default_root() -> Path:
    """Return the default directory for frame files.

    Returns
    -------
    pathlib.Path
        ``default_data_dir() / "frames"``: the ``frames`` directory of the
        default local catalog (:func:`ophyd_pvcam.catalog.frames_dir`), i.e.
        its readable storage.
    """
    return default_data_dir() / "frames"


def _safe_component(value: str, what: str) -> str:
    cleaned = _UNSAFE.sub("_", str(value)).strip("._")
    if not cleaned:
        raise ValidationError(f"{what} {value!r} leaves nothing usable in a file name",
                              call="make_file_path")
    return cleaned


def make_file_path(
    root: Union[str, os.PathLike, None],
    template: Optional[str] = None,
    *,
    run_uid: str,
    device: str,
    when: Optional[_dt.datetime] = None,
) -> Path:
    """Build the absolute path of the frame file of one run and device.

    Parameters
    ----------
    root : path-like or None
        Directory every file goes under; ``None`` means :func:`default_root`.
    template : str, optional
        ``str.format`` template relative to ``root`` with the fields ``date``
        (a datetime: ``{date:%Y%m%d-%H%M%S}``), ``run_uid`` and ``device``;
        default :data:`DEFAULT_TEMPLATE`. ``/`` separates directories.
    run_uid : str
        The run start document's uid.
    device : str
        The device name (characters other than letters, digits, ``.``, ``_``
        and ``-`` become ``_``).
    when : datetime, optional
        Time used for ``date``; default now (local time).

    Returns
    -------
    pathlib.Path
        An absolute path under ``root``; nothing is created.

    Raises
    ------
    ValidationError
        If the template has unknown fields, is empty, or leads outside ``root``.
    """
    root_path = (Path(root) if root is not None else default_root()).expanduser().resolve()
    template = DEFAULT_TEMPLATE if template is None else template
    fields = {
        "date": when if when is not None else _dt.datetime.now(),
        "run_uid": _safe_component(run_uid, "run uid"),
        "device": _safe_component(device, "device name"),
    }
    try:
        relative = template.format(**fields)
    except (KeyError, IndexError, ValueError) as exc:
        raise ValidationError(
            f"bad file template {template!r} ({exc!r}); fields are {', '.join(fields)}",
            call="make_file_path") from exc
    parts = PurePosixPath(relative).parts
    # Templates are relative by contract: an absolute or ".." path would put
    # files outside the root, i.e. outside the catalog's readable storage.
    if not parts or PurePosixPath(relative).is_absolute() or ".." in parts or relative.endswith("/"):
        raise ValidationError(
            f"file template {template!r} must give a relative file path under the root, "
            f"got {relative!r}", call="make_file_path")
    return root_path.joinpath(*parts)



# Device name -> the directory its frame files go under, for every detector
# staged in this process (what a catalog writer checks at a run's start).
_STAGED_ROOTS: dict[str, Path] = {}
_STAGED_LOCK = threading.Lock()


def announce_frame_root(device: str, root: Union[str, os.PathLike]) -> None:
    """Record that ``device`` is staged and writes its frame files under ``root``.

    Parameters
    ----------
    device : str
        The device's name.
    root : path-like
        Its write root.
    """
    with _STAGED_LOCK:
        _STAGED_ROOTS[str(device)] = Path(root).expanduser().resolve()


def withdraw_frame_root(device: str) -> None:
    """Undo :func:`announce_frame_root` (the device was unstaged).

    Parameters
    ----------
    device : str
    """
    with _STAGED_LOCK:
        _STAGED_ROOTS.pop(str(device), None)


def staged_frame_roots() -> dict[str, Path]:
    """Return the write roots of the detectors staged in this process.

    Returns
    -------
    dict
        Device name -> resolved directory.
    """
    with _STAGED_LOCK:
        return dict(_STAGED_ROOTS)


def is_below(path: Union[str, os.PathLike],
             directories: Iterable[Union[str, os.PathLike]]) -> bool:
    """Whether ``path`` (resolved) is one of ``directories`` or lies below one.

    Parameters
    ----------
    path : path-like
    directories : iterable of path-like

    Returns
    -------
    bool
    """
    where = Path(path).expanduser().resolve()
    for directory in directories:
        resolved = Path(directory).expanduser().resolve()
        if where == resolved or resolved in where.parents:
            return True
    return False
