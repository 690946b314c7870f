"""The simulator under sanitizers: no memory errors, leaks or data races.

Decision: the client is a small C program (sanitizer_client.c) built with the
same sanitizer and linked against a sanitizer build of the library, rather
than a Python ctypes client with LD_PRELOAD=libasan.  Python itself leaks by
design and is not instrumented, so an ASan-preloaded interpreter needs
detect_leaks=0 and still drowns real reports in noise; the C client keeps
LeakSanitizer on and covers the same calls (init, parameters, sequence,
continuous in both buffer modes with callbacks that call back into the
library, software trigger, faults, uninit with acquisitions running).
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ophyd_pvcam.sim import build

CLIENT = Path(__file__).with_name("sanitizer_client.c")


def _compile_and_run(tmp_path: Path, sanitize: str, flags: list[str], env_extra: dict[str, str]):
    libdir = tmp_path / "lib"
    build.build_library(libdir, sanitize=sanitize)
    exe = tmp_path / "client"
    cc = shutil.which("gcc") or shutil.which("cc")
    subprocess.run([cc, "-g", "-O1", *flags, str(CLIENT), "-o", str(exe), f"-L{libdir}", "-l:libpvcam.so.2",
                    f"-Wl,-rpath,{libdir}", "-pthread"], check=True, capture_output=True, text=True)
    env = {**os.environ, **env_extra}
    env.pop("PVCAM_SIM_FAULTS", None)
    return subprocess.run([str(exe)], capture_output=True, text=True, env=env, timeout=240)


@pytest.mark.sanitizer
@pytest.mark.slow
def test_no_address_sanitizer_report(tmp_path):
    proc = _compile_and_run(tmp_path, "address", ["-fsanitize=address", "-fno-omit-frame-pointer"],
                            {"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:halt_on_error=1"})
    assert "AddressSanitizer" not in proc.stderr and "LeakSanitizer" not in proc.stderr, proc.stderr[-4000:]
    assert proc.returncode == 0, proc.stdout + proc.stderr[-4000:]
    assert "client done: 0 failures" in proc.stdout


@pytest.mark.sanitizer
@pytest.mark.slow
def test_no_thread_sanitizer_report(tmp_path):
    proc = _compile_and_run(tmp_path, "thread", ["-fsanitize=thread"], {"TSAN_OPTIONS": "halt_on_error=1"})
    assert "ThreadSanitizer" not in proc.stderr, proc.stderr[-6000:]
    assert proc.returncode == 0, proc.stdout + proc.stderr[-4000:]
    assert "client done: 0 failures" in proc.stdout
