"""Compile the simulated PVCAM library ``libpvcam.so.2``.

This module is pure standard library and never imports :mod:`ophyd_pvcam`, so
``setup.py`` can load it by path before the package is importable; the compile
step it shares with the frame pump's builder (``ophyd_pvcam/_cbuild.py``) is
loaded by path too.  The library gets the vendor's soname and symbol versions
(see ``src/libpvcam.map``) so programs linked against the real SDK load it
unchanged.
"""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Optional, Sequence

# The shared compile step, by path (one module a process: both builders share it).
_spec = importlib.util.spec_from_file_location("_ophyd_pvcam_cbuild",
                                               Path(__file__).resolve().parents[1] / "_cbuild.py")
_cbuild = sys.modules.setdefault(_spec.name, importlib.util.module_from_spec(_spec))
if not hasattr(_cbuild, "compile_library"):
    _spec.loader.exec_module(_cbuild)

__all__ = ["BuildError", "SONAME", "build_library", "source_dir"]

SONAME = "libpvcam.so.2"


class BuildError(RuntimeError):
    """The simulator library could not be built (missing compiler, compile error)."""


def source_dir() -> Path:
    """Return the directory holding the simulator's C sources.

    Returns
    -------
    pathlib.Path
        ``ophyd_pvcam/sim/src``.
    """
    return Path(__file__).resolve().parent / "src"


def build_library(out_dir: "os.PathLike[str] | str", *, sanitize: Optional[str] = None,
                  cc: Optional[str] = None, extra_cflags: Sequence[str] = ()) -> Path:
    """Compile ``src/*.c`` into ``out_dir/libpvcam.so.2`` (+ symlink ``libpvcam.so``).

    Parameters
    ----------
    out_dir : path-like
        Directory that receives the library; created if missing.
    sanitize : {"address", "thread", "undefined"}, optional
        Build with that sanitizer (and ``-O1 -g``) for checking tests.
    cc : str, optional
        Compiler to use; default ``$CC``, then ``cc``, ``gcc``, ``clang``.
    extra_cflags : sequence of str, optional
        More compiler flags (e.g. ``("-Werror",)``).

    Returns
    -------
    pathlib.Path
        Path of the built ``libpvcam.so.2``.

    Raises
    ------
    BuildError
        No compiler, unknown sanitizer, or the compiler failed (its output is
        in the message).
    """
    src = source_dir()
    out = Path(out_dir)
    target = _cbuild.compile_library(
        src, out / SONAME, what=f"the simulated {SONAME}", error=BuildError,
        ldflags=(f"-Wl,--version-script={src / 'libpvcam.map'}",), libs=("-lm", "-lrt"),
        sanitize=sanitize, cc=cc, extra_cflags=extra_cflags)
    link = out / "libpvcam.so"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(SONAME)
    return target


if __name__ == "__main__":  # manual rebuild: python ophyd_pvcam/sim/build.py [out_dir]
    print(build_library(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent / "lib"))
