"""Compile a folder's ``src/*.c`` into one C shared library: what both builders share.

Pure standard library and no package-relative import: ``setup.py`` loads the
builders (``ophyd_pvcam/sim/build.py``, ``ophyd_pvcam/engine/stream/native/build.py``)
by file path before the package is importable, and each builder loads this
file the same way, once per process (``sys.modules["_ophyd_pvcam_cbuild"]``).
It is never imported as ``ophyd_pvcam._cbuild``. Each builder keeps its own
``BuildError`` (documented in its module) and hands it to :func:`compile_library`.
"""
from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Optional, Sequence

__all__ = ["SANITIZERS", "compile_library"]

logger = logging.getLogger("ophyd_pvcam.build")

_CFLAGS = ("-std=gnu11", "-fPIC", "-pthread", "-Wall", "-Wextra", "-fvisibility=hidden")
#: Compiler flags of each sanitizer a checking build may use.
SANITIZERS = {"address": ("-fsanitize=address", "-fno-omit-frame-pointer"),
              "thread": ("-fsanitize=thread",),
              "undefined": ("-fsanitize=undefined",)}


def _find_compiler(cc: Optional[str], what: str, error: type[Exception]) -> str:
    candidates = [cc] if cc else [os.environ.get("CC"), "cc", "gcc", "clang"]
    for name in candidates:
        if name and shutil.which(name):
            return shutil.which(name)  # type: ignore[return-value]
    tried = ", ".join(c for c in candidates if c)
    raise error(f"no C compiler found (tried {tried}); install gcc to build {what}")


def _flags(sanitize: Optional[str], extra_cflags: Sequence[str], error: type[Exception]) -> list[str]:
    flags = list(_CFLAGS)
    if sanitize:
        if sanitize not in SANITIZERS:
            raise error(f"unknown sanitizer {sanitize!r}; choose one of {sorted(SANITIZERS)}")
        flags += ["-O1", "-g", *SANITIZERS[sanitize]]
    else:
        flags += ["-O2"]
    return flags + list(extra_cflags)


def compile_library(src: Path, target: Path, *, what: str, error: type[Exception],
                    ldflags: Sequence[str] = (),
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
    error : type of Exception
        What to raise (the builder's ``BuildError``).
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
    error
        No compiler, no C source, unknown sanitizer, or the compiler failed
        (its output is in the message).
    """
    compiler = _find_compiler(cc, what, error)
    sources = sorted(str(p) for p in Path(src).glob("*.c"))
    if not sources:
        raise error(f"no C sources in {src}")
    flags = _flags(sanitize, extra_cflags, error)
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
        raise error(f"could not run {compiler}: {exc}") from exc
    if proc.returncode != 0:
        os.unlink(tmp_name)
        raise error(f"compiling {what} failed ({compiler} exit {proc.returncode}):\n"
                         f"{proc.stderr}")
    if proc.stderr.strip():
        logger.warning("compiler warnings while building %s:\n%s", what, proc.stderr)
    os.chmod(tmp_name, 0o755)
    os.replace(tmp_name, target)
    return target
