"""ophyd_pvcam/sim/build.py: compiling the simulator."""
from __future__ import annotations

import subprocess

import pytest

from ophyd_pvcam.sim import build


def test_sources_compile_without_a_single_warning(tmp_path):
    lib = build.build_library(tmp_path, extra_cflags=("-Werror",))
    assert lib == tmp_path / "libpvcam.so.2"
    assert (tmp_path / "libpvcam.so").resolve() == lib.resolve()
    out = subprocess.run(["readelf", "-d", str(lib)], check=True, capture_output=True, text=True).stdout
    assert "libpvcam.so.2" in out


def test_missing_compiler_raises_build_error_naming_it(tmp_path):
    with pytest.raises(build.BuildError, match="no-such-cc"):
        build.build_library(tmp_path, cc="no-such-cc")


def test_unknown_sanitizer_is_rejected(tmp_path):
    with pytest.raises(build.BuildError, match="sanitizer"):
        build.build_library(tmp_path, sanitize="bogus")


def test_compile_errors_are_reported_with_compiler_output(tmp_path):
    with pytest.raises(build.BuildError, match="error"):
        build.build_library(tmp_path, extra_cflags=("-DPVCAM_SIM_BREAK_BUILD", "-include", "/nonexistent.h"))
    assert not (tmp_path / "libpvcam.so.2").exists()
