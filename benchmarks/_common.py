"""What the EPICS-server benchmarks (bench_ioc.py, bench_pva.py) share.

Loopback-only Channel Access (and PVAccess) on private ports, the IOC in a
subprocess, and the machine's load average for the line beside a table. The
benchmarks are scripts (``python benchmarks/bench_x.py``), so their folder is
first on ``sys.path`` and they import this file as ``_common``.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Sequence

_CA_LOOPBACK = {
    "EPICS_CA_ADDR_LIST": "127.0.0.1", "EPICS_CA_AUTO_ADDR_LIST": "NO",
    "EPICS_CAS_INTF_ADDR_LIST": "127.0.0.1", "EPICS_CAS_BEACON_ADDR_LIST": "127.0.0.1",
    "EPICS_CAS_AUTO_BEACON_ADDR_LIST": "NO", "EPICS_CA_MAX_ARRAY_BYTES": "50000000",
}
_PVA_LOOPBACK = {
    "EPICS_PVAS_INTF_ADDR_LIST": "127.0.0.1", "EPICS_PVAS_BEACON_ADDR_LIST": "127.0.0.1",
    "EPICS_PVAS_AUTO_BEACON_ADDR_LIST": "NO", "EPICS_PVA_ADDR_LIST": "127.0.0.1",
    "EPICS_PVA_AUTO_ADDR_LIST": "NO",
}


def free_port(taken: Sequence[int] = ()) -> int:
    """Return a UDP port of 127.0.0.1 free right now and not in ``taken``.

    Parameters
    ----------
    taken : sequence of int, optional
        Ports already handed out.

    Returns
    -------
    int
    """
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = udp.getsockname()[1]
        if port not in taken:
            return port


def configure_loopback(pva: bool = False) -> None:
    """Loopback-only CA (and PVA) on private ports, in ``os.environ``.

    Call it before any client context exists; the IOC subprocesses inherit it.

    Parameters
    ----------
    pva : bool, optional
        Also PVAccess (server and broadcast ports of its own).
    """
    ports: list[int] = []
    for _ in range(4 if pva else 2):
        ports.append(free_port(ports))
    ca, beacon = ports[:2]
    env = {"EPICS_CA_SERVER_PORT": str(ca), "EPICS_CAS_SERVER_PORT": str(ca),
           "EPICS_CA_REPEATER_PORT": str(beacon), "EPICS_CAS_BEACON_PORT": str(beacon),
           **_CA_LOOPBACK}
    if pva:
        tcp, udp = ports[2:]
        env.update(_PVA_LOOPBACK, EPICS_PVAS_SERVER_PORT=str(tcp), EPICS_PVA_SERVER_PORT=str(tcp),
                   EPICS_PVAS_BROADCAST_PORT=str(udp), EPICS_PVA_BROADCAST_PORT=str(udp))
    os.environ.update(env)


def load_average() -> str:
    """Return the 1, 5 and 15 minute load averages and the core count, as text.

    Returns
    -------
    str
        e.g. ``"1.52 1.20 0.98 (2 cores)"``.
    """
    return f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)"


class IocServer:
    """``python -m ophyd_pvcam.ioc --simulated`` (a Prime BSI) in a subprocess.

    Ready when it prints its readiness line; a server that exits first fails
    at once instead of after the timeout.

    Parameters
    ----------
    prefix : str
        PV prefix.
    root : pathlib.Path
        The server's ``--write-root``.
    args : sequence of str
        More command-line arguments (``--preview-size``, ``--pva``, ...).

    Raises
    ------
    RuntimeError
        When the server did not get ready within a minute (its output is in
        the message).
    """

    def __init__(self, prefix: str, root: Path, args: Sequence[str]) -> None:
        env = dict(os.environ, PVCAM_SIM_CAMERAS="prime-bsi", PYTHONUNBUFFERED="1")
        env.pop("PVCAM_SIM_FAULTS", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ophyd_pvcam.ioc", "--simulated", "--prefix", prefix,
             "--write-root", str(root), *args, "--log-level", "WARNING"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.ready = threading.Event()
        self.started = False
        self.lines: list[str] = []
        self.drain = threading.Thread(target=self._read, name=f"bench-drain-{prefix}")
        self.drain.start()
        if not self.ready.wait(60) or not self.started:
            self.stop()
            raise RuntimeError("server did not start:\n" + "\n".join(self.lines))

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip())
            if line.startswith("IOC READY"):
                self.started = True
                self.ready.set()
        self.ready.set()     # the server exited: do not wait out the timeout

    def stop(self) -> None:
        """Terminate the server (kill it after 10 s) and join the output reader."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.drain.join(10)
