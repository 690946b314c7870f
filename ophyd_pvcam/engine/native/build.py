"""Compile the native frame pump ``libpvcam_pump.so``.

Pure standard library; it never imports :mod:`ophyd_pvcam`, so ``setup.py``
loads it by path before the package is importable (as it does the
simulator's ``ophyd_pvcam/sim/build.py``). The library does not link
``libpvcam``: it calls the SDK through function pointers the Python side
takes from its own handle on the loaded library.
"""
from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Optional, Sequence

__all__ = ["BuildError", "LIBRARY_NAME", "build_library", "library_dir", "source_dir"]

logger = logging.getLogger(__name__)

#: File name of the built library.
LIBRARY_NAME = "libpvcam_pump.so"
_CFLAGS = ("-std=gnu11", "-fPIC", "-pthread", "-Wall", "-Wextra", "-fvisibility=hidden")
_SANITIZERS = {"address": ("-fsanitize=address", "-fno-omit-frame-pointer"),
               "thread": ("-fsanitize=thread",),
               "undefined": ("-fsanitize=undefined",)}


class BuildError(RuntimeError):
    """The pump library could not be built (missing compiler, compile error)."""


def source_dir() -> Path:
    """Return the directory holding the pump's C sources.

    Returns
    -------
    pathlib.Path
        ``ophyd_pvcam/engine/native/src``.
    """
    return Path(__file__).resolve().parent / "src"


def library_dir() -> Path:
    """Return where the built library lives in the source tree.

    Returns
    -------
    pathlib.Path
        ``ophyd_pvcam/engine/native/lib``.
    """
    return Path(__file__).resolve().parent / "lib"


def _find_compiler(cc: Optional[str]) -> str:
    candidates = [cc] if cc else [os.environ.get("CC"), "cc", "gcc", "clang"]
    for name in candidates:
        if name and shutil.which(name):
            return shutil.which(name)  # type: ignore[return-value]
    tried = ", ".join(c for c in candidates if c)
    raise BuildError(f"no C compiler found (tried {tried}); install gcc to build "
                     f"the native frame pump {LIBRARY_NAME}")


def build_library(out_dir: "os.PathLike[str] | str | None" = None, *,
                  sanitize: Optional[str] = None, cc: Optional[str] = None,
                  extra_cflags: Sequence[str] = ()) -> Path:
    """Compile ``src/*.c`` into ``out_dir/libpvcam_pump.so``.

    Parameters
    ----------
    out_dir : path-like, optional
        Directory that receives the library (created if missing); default
        :func:`library_dir`.
    sanitize : {"address", "thread", "undefined"}, optional
        Build with that sanitizer (and ``-O1 -g``) for checking tests.
    cc : str, optional
        Compiler to use; default ``$CC``, then ``cc``, ``gcc``, ``clang``.
    extra_cflags : sequence of str, optional
        More compiler flags (e.g. ``("-Werror",)``).

    Returns
    -------
    pathlib.Path
        Path of the built library.

    Raises
    ------
    BuildError
        No compiler, unknown sanitizer, or the compiler failed (its output is
        in the message).
    """
    compiler = _find_compiler(cc)
    src = source_dir()
    sources = sorted(str(p) for p in src.glob("*.c"))
    if not sources:
        raise BuildError(f"no C sources in {src}")
    flags = list(_CFLAGS)
    if sanitize:
        if sanitize not in _SANITIZERS:
            raise BuildError(f"unknown sanitizer {sanitize!r}; choose one of {sorted(_SANITIZERS)}")
        flags += ["-O1", "-g", *_SANITIZERS[sanitize]]
    else:
        flags += ["-O2"]
    flags += list(extra_cflags)
    out = Path(out_dir) if out_dir is not None else library_dir()
    out.mkdir(parents=True, exist_ok=True)
    target = out / LIBRARY_NAME
    # Build to a temporary name and rename: a process that mapped the old
    # library is not disturbed and a failed build leaves nothing half-written.
    fd, tmp_name = tempfile.mkstemp(prefix=".libpvcam_pump-", suffix=".so", dir=out)
    os.close(fd)
    cmd = [compiler, *flags, "-shared", f"-Wl,-soname,{LIBRARY_NAME}", "-o", tmp_name,
           *sources]
    logger.debug("building the frame pump: %s", " ".join(cmd))
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except OSError as exc:
        os.unlink(tmp_name)
        raise BuildError(f"could not run {compiler}: {exc}") from exc
    if proc.returncode != 0:
        os.unlink(tmp_name)
        raise BuildError(f"compiling the frame pump failed ({compiler} exit "
                         f"{proc.returncode}):\n{proc.stderr}")
    if proc.stderr.strip():
        logger.warning("compiler warnings while building the frame pump:\n%s", proc.stderr)
    os.chmod(tmp_name, 0o755)
    os.replace(tmp_name, target)
    return target


if __name__ == "__main__":  # manual rebuild: python ophyd_pvcam/engine/native/build.py [out_dir]
    import sys

    print(build_library(sys.argv[1] if len(sys.argv) > 1 else None))
