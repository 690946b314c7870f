"""ophyd_pvcam/engine/stream/native/build.py: compiling the pump, and the pump under sanitizers.

The sanitizer check uses a small C client (sanitizer_pump_client.c) linked
against sanitizer builds of the pump and of the simulator, for the reason
tests/sim/test_sanitizer.py gives: Python itself is not instrumented.
"""
from __future__ import annotations

import os
import shutil
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


def _run_client(tmp_path: Path, sanitize: str, flags: list[str], env_extra: dict[str, str]):
    libdir = tmp_path / "lib"
    sim_build.build_library(libdir, sanitize=sanitize)
    build.build_library(libdir, sanitize=sanitize)
    exe = tmp_path / "client"
    cc = shutil.which("gcc") or shutil.which("cc")
    subprocess.run([cc, "-g", "-O1", *flags, f"-I{build.source_dir()}", str(CLIENT), "-o",
                    str(exe), f"-L{libdir}", "-l:libpvcam.so.2", "-l:libpvcam_pump.so",
                    f"-Wl,-rpath,{libdir}", "-pthread"], check=True, capture_output=True,
                   text=True)
    env = {**os.environ, **env_extra}
    env.pop("PVCAM_SIM_FAULTS", None)
    return subprocess.run([str(exe)], capture_output=True, text=True, env=env, timeout=240)


@pytest.mark.sanitizer
@pytest.mark.slow
def test_the_pump_streams_with_no_address_sanitizer_report(tmp_path):
    proc = _run_client(tmp_path, "address", ["-fsanitize=address", "-fno-omit-frame-pointer"],
                       {"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:halt_on_error=1"})
    assert "AddressSanitizer" not in proc.stderr and "LeakSanitizer" not in proc.stderr, \
        proc.stderr[-4000:]
    assert proc.returncode == 0, proc.stdout + proc.stderr[-4000:]
    assert "client done: 0 failures" in proc.stdout


@pytest.mark.sanitizer
@pytest.mark.slow
def test_the_pump_streams_with_no_thread_sanitizer_report(tmp_path):
    proc = _run_client(tmp_path, "thread", ["-fsanitize=thread"], {"TSAN_OPTIONS": "halt_on_error=1"})
    assert "ThreadSanitizer" not in proc.stderr, proc.stderr[-6000:]
    assert proc.returncode == 0, proc.stdout + proc.stderr[-4000:]
    assert "client done: 0 failures" in proc.stdout
