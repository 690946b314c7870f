"""Session-wide test settings.

EPICS Channel Access is pinned to loopback *at import*, before any test can
create a CA context (ophyd's control layer and libca read these variables
once, when their context is created): searches, beacons and servers stay on
127.0.0.1 and nothing is broadcast. See ../shared/caproto-remote.md §4.
"""
import os
import shutil
import subprocess
from pathlib import Path
from typing import Callable, Iterator, Sequence

import pytest

_LOOPBACK_CA = {
    "EPICS_CA_ADDR_LIST": "127.0.0.1",
    "EPICS_CA_AUTO_ADDR_LIST": "NO",
    "EPICS_CAS_INTF_ADDR_LIST": "127.0.0.1",
    "EPICS_CAS_BEACON_ADDR_LIST": "127.0.0.1",
    "EPICS_CAS_AUTO_BEACON_ADDR_LIST": "NO",
}
for _key, _value in _LOOPBACK_CA.items():
    os.environ[_key] = _value


@pytest.fixture(scope="session", autouse=True)
def ipython_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """IPython's own folder (profiles, history) in a temporary directory for the whole session.

    Subprocesses inherit it, so no test writes into the user's ~/.ipython.
    """
    saved = os.environ.get("IPYTHONDIR")
    folder = str(tmp_path_factory.mktemp("ipython"))
    os.environ["IPYTHONDIR"] = folder
    yield folder
    if saved is None:
        os.environ.pop("IPYTHONDIR", None)
    else:
        os.environ["IPYTHONDIR"] = saved


@pytest.fixture(scope="session")
def library():
    """The simulated libpvcam, loaded once."""
    from ophyd_pvcam import sdk

    return sdk.load(simulated=True)


@pytest.fixture
def simulator_isolation(library) -> Iterator[None]:
    """One Prime BSI and no faults at the start; no camera open and the SDK released at the end.

    Test folders that drive cameras use it autouse (``tests/engine``, ``tests/device``).
    """
    from ophyd_pvcam import sim
    from ophyd_pvcam.engine.camera import discovery
    from ophyd_pvcam.engine.camera.session import session_count

    assert session_count(library) == 0, "a previous test left the SDK initialised"
    sim.set_cameras("prime-bsi")
    sim.set_faults("")
    sim.set_frame_stamp(None)
    yield
    leaked = [cam for cam in list(discovery.open_cameras.values()) if not cam.closed]
    for cam in leaked:
        cam.close()
    sim.set_faults("")
    assert not leaked, f"test left cameras open: {leaked}"
    assert session_count(library) == 0


@pytest.fixture(autouse=True)
def configured_sink_rate(monkeypatch) -> Iterator[None]:
    """A fast configured sink (PVCAM_SINK_RATE) unless a test sets its own.

    Every acquisition start checks the pre-flight budget, which would
    otherwise measure the disk once per process (and cache the result in the
    user's data directory); tests of the measurement delete the variable.
    """
    monkeypatch.setenv("PVCAM_SINK_RATE", "64G")
    yield


@pytest.fixture
def frame_stamp(library) -> Iterator[None]:
    """The simulator's opt-in test stamp on (FrameNr in each frame's first 4 pixel bytes).

    For tests that judge frames by their pixels; off again afterwards (it is off by default).
    """
    from ophyd_pvcam import sim

    sim.set_frame_stamp(True)
    yield
    sim.set_frame_stamp(None)


#: Per sanitizer: compiler flags, runtime options, and the names its reports start with.
SANITIZERS = {
    "address": (["-fsanitize=address", "-fno-omit-frame-pointer"],
                {"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:halt_on_error=1"},
                ("AddressSanitizer", "LeakSanitizer")),
    "thread": (["-fsanitize=thread"], {"TSAN_OPTIONS": "halt_on_error=1"},
               ("ThreadSanitizer",)),
}


@pytest.fixture
def sanitized_client(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess]:
    """Factory: build C libraries with a sanitizer, compile a C client against them, run it.

    ``sanitized_client(client_c, "address", builders=[sim_build, pump_build],
    include_dirs=[...], libraries=["libpvcam.so.2", ...])`` calls each
    builder's ``build_library(libdir, sanitize=...)``, links the client
    against ``libraries``, runs it without simulator faults, and asserts that
    the sanitizer reported nothing, the client exited 0 and counted no failure.
    Python itself is not instrumented, hence a C client (tests/sim/test_sanitizer.py).
    """
    def run(client: Path, sanitize: str, *, builders: Sequence, libraries: Sequence[str],
            include_dirs: Sequence[Path] = ()) -> subprocess.CompletedProcess:
        flags, options, reports = SANITIZERS[sanitize]
        libdir = tmp_path / "lib"
        for builder in builders:
            builder.build_library(libdir, sanitize=sanitize)
        exe = tmp_path / "client"
        cc = shutil.which("gcc") or shutil.which("cc")
        subprocess.run([cc, "-g", "-O1", *flags, *(f"-I{d}" for d in include_dirs), str(client),
                        "-o", str(exe), f"-L{libdir}", *(f"-l:{lib}" for lib in libraries),
                        f"-Wl,-rpath,{libdir}", "-pthread"], check=True, capture_output=True,
                       text=True)
        env = {**os.environ, **options}
        env.pop("PVCAM_SIM_FAULTS", None)
        proc = subprocess.run([str(exe)], capture_output=True, text=True, env=env, timeout=240)
        assert not any(name in proc.stderr for name in reports), proc.stderr[-6000:]
        assert proc.returncode == 0, proc.stdout + proc.stderr[-4000:]
        assert "client done: 0 failures" in proc.stdout
        return proc

    return run
