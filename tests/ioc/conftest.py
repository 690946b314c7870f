"""Fixtures of the IOC tests: servers in subprocesses on loopback, each on its own port.

At import -- before any Channel Access (or PVAccess) context exists -- this
module pins PVAccess to loopback on its own ports as well, and picks
two free ports for the servers of this session (``EPICS_CA_SERVER_PORT`` for
the default one, a second for tests that run two processes), one for the
repeater/beacons, lists both server ports in ``EPICS_CA_ADDR_LIST`` (two
servers on one host need distinct UDP ports: caproto-remote.md §4), and
selects the ophyd control layer: ``OPHYD_CONTROL_LAYER`` (default
``caproto``). The layer is process-global, so the pyepics variant runs in a
separate pytest process (see ``test_client.py``).
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Optional, Sequence

import pytest


def _free_port(taken: Sequence[int] = ()) -> int:
    """A port free for both UDP and TCP on 127.0.0.1 (caproto uses one number for both)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
        if port not in taken:
            return port
    raise RuntimeError("no free port on 127.0.0.1")


SERVER_PORT = _free_port()
SECOND_SERVER_PORT = _free_port((SERVER_PORT,))
BEACON_PORT = _free_port((SERVER_PORT, SECOND_SERVER_PORT))
#: PVAccess (``--pva``): its own TCP and UDP ports, so no other PVA server on the host answers.
PVA_SERVER_PORT = _free_port((SERVER_PORT, SECOND_SERVER_PORT, BEACON_PORT))
PVA_BROADCAST_PORT = _free_port((SERVER_PORT, SECOND_SERVER_PORT, BEACON_PORT, PVA_SERVER_PORT))
os.environ.update({
    "EPICS_CA_SERVER_PORT": str(SERVER_PORT),
    "EPICS_CAS_SERVER_PORT": str(SERVER_PORT),
    "EPICS_CA_REPEATER_PORT": str(BEACON_PORT),
    "EPICS_CAS_BEACON_PORT": str(BEACON_PORT),
    "EPICS_CA_ADDR_LIST": f"127.0.0.1 127.0.0.1:{SECOND_SERVER_PORT}",
    "EPICS_CA_AUTO_ADDR_LIST": "NO",
    "EPICS_CAS_INTF_ADDR_LIST": "127.0.0.1",
    "EPICS_CAS_BEACON_ADDR_LIST": "127.0.0.1",
    "EPICS_CAS_AUTO_BEACON_ADDR_LIST": "NO",
    "EPICS_CA_MAX_ARRAY_BYTES": "50000000",
    # PVAccess: servers and clients on loopback only, as Channel Access.
    "EPICS_PVAS_INTF_ADDR_LIST": "127.0.0.1",
    "EPICS_PVAS_BEACON_ADDR_LIST": "127.0.0.1",
    "EPICS_PVAS_AUTO_BEACON_ADDR_LIST": "NO",
    "EPICS_PVA_ADDR_LIST": "127.0.0.1",
    "EPICS_PVA_AUTO_ADDR_LIST": "NO",
    "EPICS_PVAS_SERVER_PORT": str(PVA_SERVER_PORT),
    "EPICS_PVA_SERVER_PORT": str(PVA_SERVER_PORT),
    "EPICS_PVAS_BROADCAST_PORT": str(PVA_BROADCAST_PORT),
    "EPICS_PVA_BROADCAST_PORT": str(PVA_BROADCAST_PORT),
})
CONTROL_LAYER = os.environ.get("OPHYD_CONTROL_LAYER", "caproto")

import ophyd  # the environment above must be set first

ophyd.set_cl(CONTROL_LAYER)

#: Seconds to wait for a server's readiness line.
READY_TIMEOUT = 60.0
#: The prefix of the session's server.
PREFIX = "PVT:"


class IOCProcess:
    """``python -m ophyd_pvcam.ioc`` in a subprocess, with its output drained by a thread.

    Parameters
    ----------
    prefix : str
        ``--prefix``.
    write_root : path-like
        ``--write-root``.
    cameras : str
        ``PVCAM_SIM_CAMERAS`` (e.g. ``"prime-bsi,kinetix"``).
    port : int
        The server's CA port.
    extra_args : sequence of str
        More command-line arguments.
    env : mapping, optional
        More environment (e.g. ``PVCAM_SIM_FAULTS``).
    """

    def __init__(self, prefix: str, write_root: Any, *, cameras: str = "prime-bsi",
                 port: int = SERVER_PORT, extra_args: Sequence[str] = (),
                 env: Optional[dict] = None):
        self.prefix = prefix
        self.port = port
        self.lines: list[str] = []
        self.ready_line: Optional[str] = None
        self._ready = threading.Event()
        environment = dict(os.environ)
        environment.update({"EPICS_CAS_SERVER_PORT": str(port), "EPICS_CA_SERVER_PORT": str(port),
                            "PVCAM_SIM_CAMERAS": cameras, "PYTHONUNBUFFERED": "1"})
        environment.pop("PVCAM_SIM_FAULTS", None)
        # Every acquisition checks the pre-flight budget (OnPredictedLoss): a configured
        # fast sink, so no server measures the disk into the user's data directory.
        environment.setdefault("PVCAM_SINK_RATE", "64G")
        # IOC tests judge frames by the simulator's opt-in FrameNr pixel stamp.
        environment["PVCAM_SIM_FRAME_STAMP"] = "1"
        environment.update(env or {})
        command = [sys.executable, "-m", "ophyd_pvcam.ioc", "--simulated", "--prefix", prefix,
                   "--write-root", str(write_root), *extra_args]
        self.process = subprocess.Popen(command, env=environment, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)
        self._drain = threading.Thread(target=self._read, name=f"ioc-drain-{prefix}",
                                       daemon=True)
        self._drain.start()
        if not self._ready.wait(READY_TIMEOUT) or self.ready_line is None:
            self.stop()
            raise RuntimeError(f"IOC {prefix} did not become ready:\n" + self.output())

    @property
    def pid(self) -> int:
        """Process id of the server."""
        return self.process.pid

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.startswith("IOC READY"):
                self.ready_line = line.strip()
                self._ready.set()
        self._ready.set()

    def output(self) -> str:
        """Everything the server printed so far."""
        return "\n".join(self.lines)

    def stop(self) -> int:
        """terminate -> wait -> kill; join the drain thread; return the exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._drain.join(10)
        return self.process.returncode


@pytest.fixture(scope="session")
def ioc_root(tmp_path_factory: Any) -> Path:
    """The write root of the session's server."""
    return tmp_path_factory.mktemp("ioc-root")


@pytest.fixture(scope="session")
def ioc(ioc_root: Path) -> Any:
    """The session's server: one simulated Prime BSI at ``PVT:``."""
    process = IOCProcess(PREFIX, ioc_root)
    yield process
    process.stop()
    if os.environ.get("IOC_TEST_DEBUG"):
        print(process.output())
    if os.environ.get("IOC_TEST_LOG"):  # a parent test shows it when a case failed
        Path(os.environ["IOC_TEST_LOG"]).write_text(process.output())


@pytest.fixture(scope="session")
def remote(ioc: IOCProcess) -> Any:
    """A connected :class:`RemotePVCAMDetector` of the session's server."""
    from ophyd_pvcam.ioc.client import RemotePVCAMDetector

    detector = RemotePVCAMDetector(PREFIX, name="rcam")
    detector.wait_for_connection(timeout=30)
    yield detector
    detector.destroy()


@pytest.fixture
def det(remote: Any) -> Any:
    """The session's remote detector, reset to a small, fast, fault-free configuration."""
    remote.cam.acquire.put(0)
    remote.cam.sim_faults.set("").wait(10)
    remote.hdf1.capture.set("Done").wait(30)
    remote.hdf1.num_capture.set(0).wait(10)
    for signal, value in ((remote.stall_timeout, 0.0), (remote.stall_count, 3),
                          (remote.binning, (1, 1)), (remote.roi, (0, 0, 128, 64)),
                          (remote.exposure_time, 0.005), (remote.on_loss, "record"),
                          (remote.on_predicted_loss, "warn")):
        signal.set(value).wait(20)
    remote.frames_per_trigger.put(1)
    remote.stream_length.put(0)
    remote.asset_docs.put("stream")
    yield remote
    if remote._armed:
        remote.unstage()


@pytest.fixture
def start_ioc(tmp_path: Path) -> Any:
    """Factory of extra servers, stopped at the end of the test.

    ``start_ioc(prefix, cameras="prime-bsi", port=SECOND_SERVER_PORT, **kwargs)``
    returns an :class:`IOCProcess` writing under ``tmp_path``.
    """
    started: list[IOCProcess] = []

    def start(prefix: str, *, cameras: str = "prime-bsi", port: int = SECOND_SERVER_PORT,
              **kwargs: Any) -> IOCProcess:
        root = tmp_path / f"root-{len(started)}"
        root.mkdir()
        process = IOCProcess(prefix, root, cameras=cameras, port=port, **kwargs)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def wait_until() -> Any:
    """``wait_until(predicate, timeout=20)``: poll until true; returns the last result."""
    def wait(predicate: Any, timeout: float = 20.0, period: float = 0.05) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result or time.monotonic() > deadline:
                return bool(result)
            time.sleep(period)
    return wait
