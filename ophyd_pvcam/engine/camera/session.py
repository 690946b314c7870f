"""Reference-counted ``pl_pvcam_init`` / ``pl_pvcam_uninit`` per loaded library.

PVCAM may be initialised once per process and builds its camera list at init
time, so the engine keeps it initialised exactly while something needs it
(an open camera, a running :func:`~ophyd_pvcam.engine.camera.camera.list_cameras`)
and uninitialises it when the last user leaves. That lets a later session see
newly attached cameras (or a different simulated set) and leaves the library
clean for other code in the process.
"""
from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from typing import Any, Iterator

from ophyd_pvcam.engine.errors import AcquisitionError

__all__ = ["acquire_session", "release_session", "session_count", "session"]

logger = logging.getLogger(__name__)

# One lock for all libraries: init/uninit are rare and must not interleave with
# the count update of the same library.
_lock = threading.Lock()
# Keyed by id(); the library object is kept alive by the entry itself.
_sessions: dict[int, tuple[Any, int]] = {}


def acquire_session(library: Any) -> None:
    """Take one reference on the SDK session of ``library``.

    The first reference calls ``pl_pvcam_init``; later ones only count.

    Parameters
    ----------
    library : PVCAMLibrary
        A library from :func:`ophyd_pvcam.sdk.load`.

    Raises
    ------
    PVCAMError
        When ``pl_pvcam_init`` fails (the count is not taken). Error 158
        (already initialised) means code outside the engine initialised the
        library; the engine refuses to share a session it does not own.
    """
    with _lock:
        _, count = _sessions.get(id(library), (library, 0))
        if count == 0:
            logger.debug("pl_pvcam_init on %s", getattr(library, "path", library))
            library.pvcam_init()
        _sessions[id(library)] = (library, count + 1)


def release_session(library: Any) -> None:
    """Drop one reference; the last one calls ``pl_pvcam_uninit``.

    Parameters
    ----------
    library : PVCAMLibrary
        The library passed to :func:`acquire_session`.

    Raises
    ------
    RuntimeError
        When there is no reference to release (a programming error).
    PVCAMError
        When ``pl_pvcam_uninit`` fails; the reference is dropped anyway, since
        nothing useful can be done with a half-closed session.
    """
    with _lock:
        entry = _sessions.get(id(library))
        if entry is None or entry[1] <= 0:
            raise AcquisitionError("release_session called without a matching acquire_session",
                                   None, "release_session")
        count = entry[1] - 1
        if count:
            _sessions[id(library)] = (library, count)
            return
        del _sessions[id(library)]
        logger.debug("pl_pvcam_uninit on %s", getattr(library, "path", library))
        library.pvcam_uninit()


def session_count(library: Any) -> int:
    """Return how many references hold the session of ``library`` (0 = uninitialised by us).

    Parameters
    ----------
    library : PVCAMLibrary
        A loaded library.

    Returns
    -------
    int
    """
    with _lock:
        return _sessions.get(id(library), (library, 0))[1]


@contextmanager
def session(library: Any) -> Iterator[Any]:
    """Hold a session reference for the duration of a ``with`` block.

    Parameters
    ----------
    library : PVCAMLibrary
        A loaded library.

    Yields
    ------
    PVCAMLibrary
        ``library`` itself.
    """
    acquire_session(library)
    try:
        yield library
    finally:
        release_session(library)
