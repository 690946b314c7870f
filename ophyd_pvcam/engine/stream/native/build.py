"""Compile the native frame pump ``libpvcam_pump.so``.

Pure standard library; it never imports :mod:`ophyd_pvcam`, so ``setup.py``
loads it by path before the package is importable (as it does the
simulator's ``ophyd_pvcam/sim/build.py``), and it loads the compile step the
two share (``ophyd_pvcam/_cbuild.py``) by path too. The library does not link
``libpvcam``: it calls the SDK through function pointers the Python side
takes from its own handle on the loaded library.
"""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Optional, Sequence

# The shared compile step, by path (one module a process: both builders share it).
_spec = importlib.util.spec_from_file_location("_ophyd_pvcam_cbuild",
                                               Path(__file__).resolve().parents[3] / "_cbuild.py")
_cbuild = sys.modules.setdefault(_spec.name, importlib.util.module_from_spec(_spec))
if not hasattr(_cbuild, "compile_library"):
    _spec.loader.exec_module(_cbuild)

__all__ = ["BuildError", "LIBRARY_NAME", "build_library", "library_dir", "source_dir"]

#: File name of the built library.
LIBRARY_NAME = "libpvcam_pump.so"


class BuildError(RuntimeError):
    """The pump library could not be built (missing compiler, compile error)."""


def source_dir() -> Path:
    """Return the directory holding the pump's C sources.

    Returns
    -------
    pathlib.Path
        ``ophyd_pvcam/engine/stream/native/src``.
    """
    return Path(__file__).resolve().parent / "src"


def library_dir() -> Path:
    """Return where the built library lives in the source tree.

    Returns
    -------
    pathlib.Path
        ``ophyd_pvcam/engine/stream/native/lib``.
    """
    return Path(__file__).resolve().parent / "lib"


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
    out = Path(out_dir) if out_dir is not None else library_dir()
    return _cbuild.compile_library(source_dir(), out / LIBRARY_NAME,
                                   what=f"the native frame pump {LIBRARY_NAME}",
                                   error=BuildError, sanitize=sanitize, cc=cc,
                                   extra_cflags=extra_cflags)


if __name__ == "__main__":  # manual rebuild: python ophyd_pvcam/engine/stream/native/build.py [out_dir]
    print(build_library(sys.argv[1] if len(sys.argv) > 1 else None))
