"""The simulated PVCAM camera: a C library with the vendor's ABI.

``libpvcam.so.2`` in :func:`library_dir` is a drop-in replacement for the
Teledyne Photometrics library (same soname and symbol versions), simulating
Prime BSI, Prime BSI Express, Kinetix and Prime 95B cameras.  This module
only locates the library and drives its configuration exports
(``pvcam_sim_set_cameras``, ``pvcam_sim_set_faults``,
``pvcam_sim_get_faults``, ``pvcam_sim_set_frame_stamp``,
``pvcam_sim_get_frame_stamp``); the ctypes binding for the PVCAM API itself lives
in :mod:`ophyd_pvcam.sdk`.  See ``profiles.md`` for the camera models and the
fault grammar.
"""
from __future__ import annotations

import ctypes
import logging
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Optional, Union

from ophyd_pvcam.sdk.errors import LibraryNotFoundError, PVCAMError

__all__ = [
    "MODELS",
    "FAULTS",
    "SimulatorConfigError",
    "library_dir",
    "library_path",
    "set_cameras",
    "set_faults",
    "get_faults",
    "set_frame_stamp",
    "frame_stamp",
    "environment",
]

logger = logging.getLogger(__name__)

#: Camera models the simulator knows, in the spelling PVCAM_SIM_CAMERAS uses.
MODELS: tuple[str, ...] = ("prime-bsi", "prime-bsi-express", "kinetix", "prime-95b")

#: Fault names accepted by :func:`set_faults` / ``PVCAM_SIM_FAULTS``.
FAULTS: tuple[str, ...] = (
    "reject_circ_overwrite",
    "rereg_corrupts",
    "stall_after",
    "intermittent_stall",
    "drop_every",
    "drop_callback_every",
    "md_extended",
    "unplug_after",
    "slow_readout",
    "seed",
)

_lock = threading.Lock()
_cdll: "ctypes.CDLL | None" = None


class SimulatorConfigError(PVCAMError, ValueError):
    """The simulator rejected a camera list or fault specification.

    Parameters
    ----------
    message : str
        The simulator's explanation (``pl_error_message`` with detail).
    code : int
        The PVCAM error code (164, PL_ERR_VALUE_INVALID, for bad names).
    call : str
        The simulator export that refused (``pvcam_sim_set_faults`` ...).
    """

    def __init__(self, message: str, code: int, call: str = "pvcam_sim_config") -> None:
        super().__init__(message, code, call)


def library_dir() -> Path:
    """Return the directory holding the built simulator library.

    Returns
    -------
    pathlib.Path
        ``ophyd_pvcam/sim/lib`` (the library may not exist before the
        package was built; see ``build.py``).
    """
    return Path(__file__).resolve().parent / "lib"


def library_path() -> Path:
    """Return the path of the simulator's ``libpvcam.so.2``.

    Returns
    -------
    pathlib.Path
        ``library_dir() / "libpvcam.so.2"``.
    """
    return library_dir() / "libpvcam.so.2"


def _library() -> ctypes.CDLL:
    # Loaded by absolute path, so this is the same mapping the sdk binding
    # gets when it loads the simulator (the loader deduplicates by soname+path).
    global _cdll
    with _lock:
        if _cdll is None:
            path = library_path()
            if not path.exists():
                raise LibraryNotFoundError(
                    f"simulated PVCAM library not built: {path} is missing; run "
                    "`pip install -e .` or `python ophyd_pvcam/sim/build.py`",
                    None, "ophyd_pvcam.sim")
            lib = ctypes.CDLL(str(path))
            lib.pvcam_sim_set_cameras.argtypes = [ctypes.c_char_p]
            lib.pvcam_sim_set_cameras.restype = ctypes.c_ushort
            lib.pvcam_sim_set_faults.argtypes = [ctypes.c_char_p]
            lib.pvcam_sim_set_faults.restype = ctypes.c_ushort
            lib.pvcam_sim_get_faults.argtypes = [ctypes.c_char_p, ctypes.c_uint]
            lib.pvcam_sim_get_faults.restype = ctypes.c_ushort
            lib.pvcam_sim_set_frame_stamp.argtypes = [ctypes.c_short]
            lib.pvcam_sim_set_frame_stamp.restype = ctypes.c_ushort
            lib.pvcam_sim_get_frame_stamp.argtypes = [ctypes.POINTER(ctypes.c_ushort)]
            lib.pvcam_sim_get_frame_stamp.restype = ctypes.c_ushort
            lib.pl_error_code.argtypes = []
            lib.pl_error_code.restype = ctypes.c_short
            lib.pl_error_message.argtypes = [ctypes.c_short, ctypes.c_char_p]
            lib.pl_error_message.restype = ctypes.c_ushort
            _cdll = lib
        return _cdll


def _raise_last_error(lib: ctypes.CDLL, call: str) -> None:
    code = lib.pl_error_code()
    buf = ctypes.create_string_buffer(256)
    lib.pl_error_message(code, buf)
    raise SimulatorConfigError(buf.value.decode(errors="replace"), code, call)


def set_cameras(models: Union[str, Sequence[str], None]) -> None:
    """Choose the simulated cameras listed at the next ``pl_pvcam_init``.

    Parameters
    ----------
    models : str, sequence of str or None
        Comma-separated string or sequence of names from :data:`MODELS`;
        camera *i* is then named ``pvcamUSB_<i>``.  Overrides the
        ``PVCAM_SIM_CAMERAS`` environment variable for this process;
        ``None`` removes the override (environment, else one prime-bsi).

    Raises
    ------
    SimulatorConfigError
        An unknown model name (the message lists the known ones).
    """
    csv = None if models is None else models if isinstance(models, str) else ",".join(models)
    lib = _library()
    if not lib.pvcam_sim_set_cameras(None if csv is None else csv.encode()):
        _raise_last_error(lib, "pvcam_sim_set_cameras")
    logger.debug("simulated cameras set to %r (effective at next pl_pvcam_init)", csv)


def set_faults(spec: Union[str, Mapping[str, Union[bool, int, float]], None]) -> None:
    """Set the injected faults for acquisitions started afterwards.

    Parameters
    ----------
    spec : str, mapping or None
        ``"stall_after=5,drop_every=3"`` style string (``""`` clears every
        fault), or a mapping ``{"stall_after": 5, "rereg_corrupts": True}``
        (a false flag is left out).  Names are in :data:`FAULTS`; the grammar
        is documented in ``profiles.md``.  ``None`` clears the faults and lets
        ``PVCAM_SIM_FAULTS`` apply again from the next ``pl_pvcam_init``.

    Raises
    ------
    SimulatorConfigError
        Unknown fault name or invalid value; the previous faults stay in force.
    """
    if spec is None:
        text = None
    elif isinstance(spec, Mapping):
        items = []
        for name, value in spec.items():
            if isinstance(value, bool):
                if value:
                    items.append(name)
            else:
                items.append(f"{name}={value}")
        text = ",".join(items)
    else:
        text = spec
    lib = _library()
    if not lib.pvcam_sim_set_faults(None if text is None else text.encode()):
        _raise_last_error(lib, "pvcam_sim_set_faults")
    logger.debug("simulator faults set to %r", text)


def get_faults() -> str:
    """Return the faults in force, in canonical form.

    Returns
    -------
    str
        E.g. ``"stall_after=5,drop_every=3"``; ``""`` when none.
    """
    lib = _library()
    buf = ctypes.create_string_buffer(512)
    if not lib.pvcam_sim_get_faults(buf, len(buf)):
        _raise_last_error(lib, "pvcam_sim_get_faults")
    return buf.value.decode()


def set_frame_stamp(on: Optional[bool]) -> None:
    """Switch the opt-in test stamp: FrameNr in the first pixel bytes of every frame.

    Off by default: a real camera never writes a counter into its pixels, so
    the simulator does not either. Tests that judge frames by their pixels
    turn it on; the number is then the first 4 bytes of the first region's
    pixels, uint32 little-endian (pixels 0 and 1 of a 16-bit frame).

    Parameters
    ----------
    on : bool or None
        ``True`` stamps, ``False`` does not, for acquisitions started
        afterwards. ``None`` removes the override: no stamp now, and
        ``PVCAM_SIM_FRAME_STAMP`` (``1``/``0``) applies again from the next
        ``pl_pvcam_init``.
    """
    lib = _library()
    lib.pvcam_sim_set_frame_stamp(-1 if on is None else int(bool(on)))
    logger.debug("simulator frame stamp set to %r", on)


def frame_stamp() -> bool:
    """Return whether acquisitions started now carry the test stamp.

    Returns
    -------
    bool
        See :func:`set_frame_stamp`.
    """
    lib = _library()
    value = ctypes.c_ushort()
    if not lib.pvcam_sim_get_frame_stamp(ctypes.byref(value)):
        _raise_last_error(lib, "pvcam_sim_get_frame_stamp")
    return bool(value.value)


def environment() -> dict[str, str]:
    """Return environment variables that make a vendor-SDK program use the simulator.

    Returns
    -------
    dict of str to str
        ``LD_LIBRARY_PATH`` with :func:`library_dir` prepended and
        ``PVCAM_LIBRARY=sim`` (understood by :mod:`ophyd_pvcam.sdk`).  Merge
        it into ``os.environ`` for a subprocess.
    """
    current = os.environ.get("LD_LIBRARY_PATH", "")
    parts = [str(library_dir())] + [p for p in current.split(os.pathsep) if p]
    return {"LD_LIBRARY_PATH": os.pathsep.join(parts), "PVCAM_LIBRARY": "sim"}
