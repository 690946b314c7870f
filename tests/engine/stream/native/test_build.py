"""ophyd_pvcam/engine/stream/native/build.py: compiling the pump, and the pump under sanitizers.

The sanitizer check uses a small C client (sanitizer_pump_client.c) linked
against sanitizer builds of the pump and of the simulator, for the reason
tests/sim/test_sanitizer.py gives: Python itself is not instrumented.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ophyd_pvcam.engine.stream.native import build
from ophyd_pvcam.sim import build as sim_build

CLIENT = Path(__file__).with_name("sanitizer_pump_client.c")


def test_sources_compile_without_a_single_warning(tmp_path):
    lib = build.build_library(tmp_path, extra_cflags=("-Werror",))
    assert lib == tmp_path / "libpvcam_pump.so"
    out = subprocess.run(["nm", "-D", "--defined-only", str(lib)], check=True,
                         capture_output=True, text=True).stdout
    exported = {line.split()[-1] for line in out.splitlines()}
    assert {"pvp_create", "pvp_take", "pvp_release", "pvp_destroy"} <= exported
    assert not {name for name in exported if name.startswith("pvp_ring_open")}  # internals hidden
    needed = subprocess.run(["readelf", "-d", str(lib)], check=True, capture_output=True,
                            text=True).stdout
    assert "libpvcam" not in needed.replace("libpvcam_pump", "")  # never links the SDK


def test_missing_compiler_raises_build_error_naming_it(tmp_path):
    with pytest.raises(build.BuildError, match="no-such-cc"):
        build.build_library(tmp_path, cc="no-such-cc")


def test_unknown_sanitizer_is_rejected(tmp_path):
    with pytest.raises(build.BuildError, match="sanitizer"):
        build.build_library(tmp_path, sanitize="bogus")


def test_compile_errors_are_reported_with_compiler_output(tmp_path):
    with pytest.raises(build.BuildError, match="error"):
        build.build_library(tmp_path, extra_cflags=("-include", "/nonexistent.h"))
    assert not (tmp_path / "libpvcam_pump.so").exists()


@pytest.mark.sanitizer
@pytest.mark.slow
@pytest.mark.parametrize("sanitize", ["address", "thread"])
def test_the_pump_streams_with_no_sanitizer_report(sanitized_client, sanitize):
    sanitized_client(CLIENT, sanitize, builders=[sim_build, build],
                     libraries=["libpvcam.so.2", "libpvcam_pump.so"],
                     include_dirs=[build.source_dir()])
