"""Compile a folder's ``src/*.c`` into one C shared library: what both builders share.

Pure standard library and no package-relative import: ``setup.py`` loads the
builders (``ophyd_pvcam/sim/build.py``, ``ophyd_pvcam/engine/native/build.py``)
by file path before the package is importable, and each builder loads this
file the same way, once per process (``sys.modules["_ophyd_pvcam_cbuild"]``),
so both builders raise the same :class:`BuildError`. It is never imported as
``ophyd_pvcam._cbuild``.
"""
from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Optional, Sequence

__all__ = ["BuildError", "SANITIZERS", "compile_library"]

logger = logging.getLogger("ophyd_pvcam.build")

_CFLAGS = ("-std=gnu11", "-fPIC", "-pthread", "-Wall", "-Wextra", "-fvisibility=hidden")
#: Compiler flags of each sanitizer a checking build may use.
SANITIZERS = {"address": ("-fsanitize=address", "-fno-omit-frame-pointer"),
              "thread": ("-fsanitize=thread",),
              "undefined": ("-fsanitize=undefined",)}


class BuildError(RuntimeError):
    """A C library of the package could not be built (missing compiler, compile error)."""


def _find_compiler(cc: Optional[str], what: str) -> str:
    candidates = [cc] if cc else [os.environ.get("CC"), "cc", "gcc", "clang"]
    for name in candidates:
        if name and shutil.which(name):
            return shutil.which(name)  # type: ignore[return-value]
    tried = ", ".join(c for c in candidates if c)
    raise BuildError(f"no C compiler found (tried {tried}); install gcc to build {what}")


def _flags(sanitize: Optional[str], extra_cflags: Sequence[str]) -> list[str]:
    flags = list(_CFLAGS)
    if sanitize:
        if sanitize not in SANITIZERS:
            raise BuildError(f"unknown sanitizer {sanitize!r}; choose one of {sorted(SANITIZERS)}")
        flags += ["-O1", "-g", *SANITIZERS[sanitize]]
    else:
        flags += ["-O2"]
    return flags + list(extra_cflags)


def compile_library(src: Path, target: Path, *, what: str, ldflags: Sequence[str] = (),
                    libs: Sequence[str] = (), sanitize: Optional[str] = None,
                    cc: Optional[str] = None, extra_cflags: Sequence[str] = ()) -> Path:
    """Compile every ``src/*.c`` into the shared library ``target`` (soname: its name).

    The library is built under a temporary name in ``target``'s folder and
    renamed: a process that mapped the old library is not disturbed, and a
    failed build leaves nothing half-written.

    Parameters
    ----------
    src : pathlib.Path
        Folder of the C sources; all of its ``*.c`` are compiled.
    target : pathlib.Path
        Path of the library to write; its folder is created if missing.
    what : str
        The library, for messages (``"the native frame pump libpvcam_pump.so"``).
    ldflags : sequence of str, optional
        Linker flags before the sources (e.g. a version script).
    libs : sequence of str, optional
        Libraries to link, after the sources (e.g. ``("-lm",)``).
    sanitize, cc, extra_cflags
        As the builders' ``build_library`` takes them (a key of
        :data:`SANITIZERS`, a compiler name, more compiler flags).

    Returns
    -------
    pathlib.Path
        ``target``.

    Raises
    ------
    BuildError
        No compiler, no C source, unknown sanitizer, or the compiler failed
        (its output is in the message).
    """
    compiler = _find_compiler(cc, what)
    sources = sorted(str(p) for p in Path(src).glob("*.c"))
    if not sources:
        raise BuildError(f"no C sources in {src}")
    flags = _flags(sanitize, extra_cflags)
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name.split('.')[0]}-", suffix=".so",
                                    dir=target.parent)
    os.close(fd)
    cmd = [compiler, *flags, "-shared", f"-Wl,-soname,{target.name}", *ldflags, "-o", tmp_name,
           *sources, *libs]
    logger.debug("building %s: %s", what, " ".join(cmd))
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except OSError as exc:
        os.unlink(tmp_name)
        raise BuildError(f"could not run {compiler}: {exc}") from exc
    if proc.returncode != 0:
        os.unlink(tmp_name)
        raise BuildError(f"compiling {what} failed ({compiler} exit {proc.returncode}):\n"
                         f"{proc.stderr}")
    if proc.stderr.strip():
        logger.warning("compiler warnings while building %s:\n%s", what, proc.stderr)
    os.chmod(tmp_name, 0o755)
    os.replace(tmp_name, target)
    return target
