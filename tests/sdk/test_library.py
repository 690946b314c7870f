"""Tests of ophyd_pvcam.sdk.library: search order, failure messages, caching."""
from __future__ import annotations

import _ctypes
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import ophyd_pvcam
from ophyd_pvcam.sdk import library as L
from ophyd_pvcam.sdk.binding import PVCAMLibrary
from ophyd_pvcam.sdk.errors import LibraryNotFoundError, NotImplementedBySDKError

SIM = Path(ophyd_pvcam.__file__).resolve().parent / "sim" / "lib" / "libpvcam.so.2"


def _targets(found):
    return [c.target for c in found]


def test_simulator_path_is_computed_from_the_package_layout():
    assert L.simulator_path() == SIM


def test_explicit_path_is_the_only_candidate_even_with_env_and_simulated(tmp_path):
    lib = tmp_path / "libpvcam.so.2"
    found = L.candidates(lib, simulated=True, environ={"PVCAM_LIBRARY": "sim"})
    assert _targets(found) == [str(lib)]
    assert found[0].source == "explicit path"


def test_explicit_directory_means_the_soname_inside_it(tmp_path):
    assert _targets(L.candidates(tmp_path)) == [str(tmp_path / "libpvcam.so.2")]


def test_simulated_wins_over_the_environment():
    found = L.candidates(simulated=True, environ={"PVCAM_LIBRARY": "/elsewhere/libpvcam.so.2"})
    assert _targets(found) == [str(SIM)]


@pytest.mark.parametrize("word", ["sim", "SIM", " sim "])
def test_environment_word_sim_selects_the_simulator(word):
    assert _targets(L.candidates(environ={"PVCAM_LIBRARY": word})) == [str(SIM)]


def test_environment_path_is_used_alone():
    found = L.candidates(environ={"PVCAM_LIBRARY": "/x/libpvcam.so.2"}, system="Linux")
    assert _targets(found) == ["/x/libpvcam.so.2"]
    assert found[0].source == "PVCAM_LIBRARY"


@pytest.mark.parametrize("machine, folder", [
    ("x86_64", "x86_64"), ("AMD64", "x86_64"), ("i686", "i686"), ("aarch64", "aarch64"),
    ("arm64", "aarch64")])
def test_linux_vendor_search_starts_in_opt_pvcam_for_the_architecture(machine, folder):
    found = L.candidates(environ={}, system="Linux", machine=machine)
    assert found[0].target == f"/opt/pvcam/library/{folder}/libpvcam.so.2"
    assert found[0].is_file
    # ... and ends with the plain soname for the dynamic loader (LD_LIBRARY_PATH, ldconfig)
    assert found[-1].target == "libpvcam.so.2" and not found[-1].is_file


def test_linux_unknown_architecture_skips_opt_pvcam():
    found = L.candidates(environ={}, system="Linux", machine="riscv64")
    assert not any(t.startswith("/opt/pvcam") for t in _targets(found))
    assert found[-1].target == "libpvcam.so.2"


def test_windows_search_uses_pvcam64_dll_then_program_files():
    found = L.candidates(environ={"ProgramFiles": r"D:\Apps"}, system="Windows")
    assert found[0].target == "pvcam64.dll" and not found[0].is_file
    assert found[1].target == r"D:\Apps\Photometrics\PVCam64\pvcam64.dll"


def test_missing_library_from_environment_lists_it_with_reason_and_hint(monkeypatch, tmp_path):
    missing = tmp_path / "nowhere" / "libpvcam.so.2"
    monkeypatch.setenv("PVCAM_LIBRARY", str(missing))
    with pytest.raises(LibraryNotFoundError) as info:
        L.load()
    message = str(info.value)
    assert str(missing) in message
    assert "PVCAM_LIBRARY): no such file" in message
    assert "PVCAM_LIBRARY=sim" in message
    assert "Install the PVCAM SDK" in message
    assert info.value.code is None and info.value.call == "load"


def test_vendor_search_failure_lists_every_candidate(tmp_path):
    # A fresh process: in this one the simulator may already be loaded, and the loader
    # then resolves the bare soname to it (see the next test).
    script = (
        "from ophyd_pvcam.sdk import library as L\n"
        "from ophyd_pvcam.sdk.errors import LibraryNotFoundError\n"
        "try:\n"
        "    L.find_library()\n"
        "except LibraryNotFoundError as error:\n"
        "    print(error)\n"
        "    print('TARGETS=' + '|'.join(c.target for c in L.candidates()))\n"
    )
    env = {k: v for k, v in os.environ.items()
           if k not in ("PVCAM_LIBRARY", "LD_LIBRARY_PATH", "LD_PRELOAD")}
    # On this machine no vendor library is installed; the test documents that assumption.
    assert not Path("/opt/pvcam").exists()
    result = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path,
                            capture_output=True, text=True, check=True)
    message, _, targets = result.stdout.rpartition("TARGETS=")
    assert message.startswith("load failed: No PVCAM library could be loaded. Tried:")
    assert "/opt/pvcam/library/" in message and "(vendor install): no such file" in message
    for target in targets.strip().split("|"):
        assert f"  - {target} (" in message
    assert "PVCAM_LIBRARY=sim" in message


def test_loader_name_resolving_to_the_loaded_simulator_reuses_its_instance(monkeypatch):
    simulator = L.load(simulated=True)
    monkeypatch.delenv("PVCAM_LIBRARY", raising=False)
    # glibc matches the bare soname against libraries already loaded in the process
    assert L.find_library() == SIM
    assert L.load() is simulator


def test_a_file_that_is_not_a_shared_library_reports_the_loader_error(tmp_path):
    bogus = tmp_path / "libpvcam.so.2"
    bogus.write_text("not an ELF file")
    with pytest.raises(LibraryNotFoundError) as info:
        L.load(bogus)
    assert str(bogus) in str(info.value)
    assert "no such file" not in str(info.value)


def test_a_shared_library_without_pvcam_functions_is_rejected():
    with pytest.raises(NotImplementedBySDKError, match="pl_pvcam_init"):
        L.load(_ctypes.__file__)


def test_simulated_load_is_cached_per_resolved_path(monkeypatch):
    monkeypatch.delenv("PVCAM_LIBRARY", raising=False)
    first = L.load(simulated=True)
    assert isinstance(first, PVCAMLibrary)
    assert first.path == SIM
    assert L.load(simulated=True) is first
    assert L.load(SIM) is first
    assert L.load(SIM.parent) is first  # a directory resolves to the same file
    monkeypatch.setenv("PVCAM_LIBRARY", "sim")
    assert L.load() is first
    assert L.find_library() == SIM


def test_concurrent_loads_share_one_instance():
    results = []
    threads = [threading.Thread(target=lambda: results.append(L.load(simulated=True)),
                                name=f"load-{i}") for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8 and all(r is results[0] for r in results)
