"""Find and load the PVCAM library (the vendor's or our simulator).

Resolution order, first match wins:

1. an explicit ``path`` argument (a file, or a directory holding ``libpvcam.so.2``);
2. ``simulated=True``: the simulator built into this package,
   ``ophyd_pvcam/sim/lib/libpvcam.so.2``;
3. the ``PVCAM_LIBRARY`` environment variable: a path, or the word ``sim``;
4. the vendor's locations: on Linux ``/opt/pvcam/library/<arch>/libpvcam.so.2``,
   then whatever the dynamic loader finds for ``pvcam`` / ``libpvcam.so.2``
   (``LD_LIBRARY_PATH``, ldconfig cache); on Windows ``pvcam64.dll`` through the
   loader, then ``%ProgramFiles%\\Photometrics\\PVCam64\\pvcam64.dll``.

The first three are explicit choices: if they fail, nothing else is tried. When
nothing loads, :class:`LibraryNotFoundError` lists every candidate and why it failed.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import platform
import sys
import threading
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath
from typing import Mapping, Optional, Union

from .binding import PVCAMLibrary
from .errors import LibraryNotFoundError

__all__ = [
    "Candidate",
    "ENV_VAR",
    "LINUX_SONAME",
    "WINDOWS_DLL",
    "candidates",
    "find_library",
    "load",
    "simulator_path",
]

logger = logging.getLogger(__name__)

#: Environment variable naming the library to load: a file or directory path, or the
#: word ``sim`` for the bundled simulator. An explicit choice: if it fails, nothing else is tried.
ENV_VAR = "PVCAM_LIBRARY"
#: File (and soname) of the PVCAM 3.x library on Linux, vendor's and simulator's alike.
LINUX_SONAME = "libpvcam.so.2"
#: File of the 64-bit PVCAM library on Windows.
WINDOWS_DLL = "pvcam64.dll"

_HINT = (
    "Install the PVCAM SDK from Teledyne Photometrics (on Linux it provides "
    "/opt/pvcam/library/<arch>/libpvcam.so.2 and /etc/profile.d/pvcam.sh), point "
    f"{ENV_VAR} at the library file, or set {ENV_VAR}=sim to use the bundled simulator."
)
_SIM_HINT = (
    "The simulator is compiled when the package is installed "
    "(`pip install -e .` runs setup.py's build_ext), or on demand with "
    "ophyd_pvcam.sim.build.build_library()."
)

# platform.machine() spellings -> the vendor's folder names under /opt/pvcam/library
_ARCH_FOLDERS = {
    "x86_64": "x86_64", "amd64": "x86_64",
    "i386": "i686", "i486": "i686", "i586": "i686", "i686": "i686", "x86": "i686",
    "aarch64": "aarch64", "arm64": "aarch64", "armv8l": "aarch64",
}

_cache: dict[str, PVCAMLibrary] = {}
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class Candidate:
    """One place the library may be loaded from.

    Attributes
    ----------
    target : str
        A file path, or a bare name the dynamic loader resolves.
    source : str
        Why it is a candidate (e.g. ``"PVCAM_LIBRARY"``), for messages.
    is_file : bool
        ``True`` for a path checked on disk, ``False`` for a loader name.
    """

    target: str
    source: str
    is_file: bool = True


def simulator_path() -> Path:
    """Return where the bundled simulator library lives (it may not be built yet).

    Returns
    -------
    pathlib.Path
        ``<package>/sim/lib/libpvcam.so.2``, computed from this file's location so
        that finding it never imports :mod:`ophyd_pvcam.sim`.
    """
    return Path(__file__).resolve().parents[1] / "sim" / "lib" / LINUX_SONAME


def _file_candidate(path: Union[str, os.PathLike], source: str) -> Candidate:
    resolved = Path(path).expanduser()
    if resolved.is_dir():
        name = WINDOWS_DLL if sys.platform == "win32" else LINUX_SONAME
        resolved = resolved / name
    return Candidate(str(resolved), source)


def candidates(path: Union[str, os.PathLike, None] = None, *, simulated: bool = False,
               environ: Optional[Mapping[str, str]] = None, system: Optional[str] = None,
               machine: Optional[str] = None) -> list[Candidate]:
    """List the places to try, in order (the module docstring gives the rules).

    Parameters
    ----------
    path : str or os.PathLike, optional
        Explicit library file or directory.
    simulated : bool, optional
        Use the bundled simulator.
    environ : mapping, optional
        Environment to read ``PVCAM_LIBRARY`` from; default ``os.environ``.
    system : str, optional
        ``platform.system()`` override (``"Linux"``, ``"Windows"``), for tests.
    machine : str, optional
        ``platform.machine()`` override, for tests.

    Returns
    -------
    list of Candidate
        One entry for an explicit choice, else the vendor search list.
    """
    if path is not None:
        return [_file_candidate(path, "explicit path")]
    if simulated:
        return [Candidate(str(simulator_path()), "simulated=True")]
    env = os.environ if environ is None else environ
    value = env.get(ENV_VAR, "").strip()
    if value:
        if value.lower() == "sim":
            return [Candidate(str(simulator_path()), f"{ENV_VAR}=sim")]
        return [_file_candidate(value, ENV_VAR)]

    system = system or platform.system()
    found: list[Candidate] = []
    if system == "Windows":
        found.append(Candidate(WINDOWS_DLL, "Windows loader search path", is_file=False))
        program_files = env.get("ProgramFiles", r"C:\Program Files")
        found.append(Candidate(
            str(PureWindowsPath(program_files) / "Photometrics" / "PVCam64" / WINDOWS_DLL),
            "PVCAM install folder"))
        return found
    arch = _ARCH_FOLDERS.get((machine or platform.machine()).lower())
    if arch is not None:
        found.append(Candidate(f"/opt/pvcam/library/{arch}/{LINUX_SONAME}", "vendor install"))
    loader_name = ctypes.util.find_library("pvcam")
    if loader_name and loader_name != LINUX_SONAME:
        found.append(Candidate(loader_name, "ldconfig cache (find_library('pvcam'))",
                               is_file=False))
    found.append(Candidate(LINUX_SONAME, "dynamic loader search path", is_file=False))
    return found


def _open(candidate: Candidate) -> ctypes.CDLL:
    """dlopen one candidate; raises OSError with the reason."""
    if candidate.is_file and not Path(candidate.target).is_file():
        raise OSError("no such file")
    if sys.platform == "win32":  # pragma: no cover - Windows only
        return ctypes.WinDLL(candidate.target)  # PV_DECL is __stdcall there
    return ctypes.CDLL(candidate.target)


class _LinkMap(ctypes.Structure):
    """The first two fields of glibc's ``struct link_map`` (address, file name)."""

    _fields_ = [("l_addr", ctypes.c_void_p), ("l_name", ctypes.c_char_p)]


_RTLD_DI_LINKMAP = 2


def _loaded_path(cdll: ctypes.CDLL) -> Optional[Path]:
    """Return the file the dynamic loader actually mapped for ``cdll`` (glibc only).

    A bare name such as ``libpvcam.so.2`` may resolve through ``LD_LIBRARY_PATH``,
    the ldconfig cache, or an already-loaded library with that soname (e.g. the
    simulator), so the real file is asked of the loader rather than guessed.
    """
    try:
        dlinfo = ctypes.CDLL(None).dlinfo
    except (OSError, AttributeError):  # not glibc: no dlinfo
        return None
    dlinfo.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
    dlinfo.restype = ctypes.c_int
    link_map = ctypes.POINTER(_LinkMap)()
    if dlinfo(cdll._handle, _RTLD_DI_LINKMAP, ctypes.byref(link_map)) != 0 or not link_map:
        return None
    name = link_map.contents.l_name
    return Path(os.fsdecode(name)).resolve() if name else None


def _library_key(candidate: Candidate, cdll: ctypes.CDLL) -> str:
    """Cache key: the resolved file when known, else the name the loader was given."""
    if candidate.is_file:
        return str(Path(candidate.target).resolve())
    real = _loaded_path(cdll)
    return str(real) if real is not None else candidate.target


def _not_found(tried: list[tuple[Candidate, str]],
               simulator_involved: bool) -> LibraryNotFoundError:
    lines = ["No PVCAM library could be loaded. Tried:"]
    lines += [f"  - {c.target} ({c.source}): {reason}" for c, reason in tried]
    lines.append(_HINT)
    if simulator_involved:
        lines.append(_SIM_HINT)
    return LibraryNotFoundError("\n".join(lines), None, "load")


def _resolve(path, simulated: bool) -> tuple[Candidate, ctypes.CDLL]:
    tried: list[tuple[Candidate, str]] = []
    options = candidates(path, simulated=simulated)
    for candidate in options:
        try:
            cdll = _open(candidate)
        except OSError as exc:
            tried.append((candidate, str(exc) or type(exc).__name__))
            logger.debug("PVCAM library candidate %s failed: %s", candidate.target, exc)
            continue
        return candidate, cdll
    sim = str(simulator_path())
    raise _not_found(tried, any(c.target == sim for c, _ in tried))


def find_library(path: Union[str, os.PathLike, None] = None, *, simulated: bool = False) -> Path:
    """Return the library :func:`load` would use, without wrapping it.

    Parameters
    ----------
    path : str or os.PathLike, optional
        Explicit library file or directory.
    simulated : bool, optional
        Use the bundled simulator.

    Returns
    -------
    pathlib.Path
        The resolved file; for a library found by the dynamic loader, the file it
        mapped (glibc), else the bare name it was given (e.g. ``libpvcam.so.2``).

    Raises
    ------
    LibraryNotFoundError
        Listing every candidate and why it failed.
    """
    candidate, cdll = _resolve(path, simulated)
    return Path(_library_key(candidate, cdll))


def load(path: Union[str, os.PathLike, None] = None, *, simulated: bool = False) -> PVCAMLibrary:
    """Load the PVCAM library and return its (cached) :class:`PVCAMLibrary`.

    Parameters
    ----------
    path : str or os.PathLike, optional
        Explicit library file or directory; overrides everything else.
    simulated : bool, optional
        Use the bundled simulator (``ophyd_pvcam/sim/lib/libpvcam.so.2``).

    Returns
    -------
    PVCAMLibrary
        One instance per resolved library file, shared by all callers (thread-safe).

    Raises
    ------
    LibraryNotFoundError
        If no candidate loads; the message lists each one and the reason.
    NotImplementedBySDKError
        If the file loads but is not a PVCAM 3.x library.
    """
    with _cache_lock:
        candidate, cdll = _resolve(path, simulated)
        key = _library_key(candidate, cdll)
        library = _cache.get(key)
        if library is None:
            # dlopen returns the same handle for the same loaded object, whatever name
            # reached it; never wrap one library twice (two sets of callback refs).
            library = next((lib for lib in _cache.values()
                            if lib.raw._handle == cdll._handle), None)
        if library is None:
            library = PVCAMLibrary(cdll, Path(key))
            _cache[key] = library
            logger.info("loaded PVCAM library %s (%s)", key, candidate.source)
        return library
