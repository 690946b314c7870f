"""Tests of ophyd_pvcam/cli/ioc.py: `ophyd-pvcam ioc` serves a simulated camera on loopback."""
import os
import socket
import subprocess
import sys
import threading

import pytest


def free_port(taken=()):
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = udp.getsockname()[1]
            with socket.socket() as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
        if port not in taken:
            return port


@pytest.fixture
def loopback_env():
    server = free_port()
    beacon = free_port((server,))
    env = dict(os.environ)
    env.update({
        "EPICS_CA_SERVER_PORT": str(server), "EPICS_CAS_SERVER_PORT": str(server),
        "EPICS_CA_REPEATER_PORT": str(beacon), "EPICS_CAS_BEACON_PORT": str(beacon),
        "EPICS_CA_ADDR_LIST": "127.0.0.1", "EPICS_CA_AUTO_ADDR_LIST": "NO",
        "EPICS_CAS_INTF_ADDR_LIST": "127.0.0.1", "EPICS_CAS_BEACON_ADDR_LIST": "127.0.0.1",
        "EPICS_CAS_AUTO_BEACON_ADDR_LIST": "NO", "PYTHONUNBUFFERED": "1",
    })
    env.pop("PVCAM_SIM_FAULTS", None)
    return env


@pytest.mark.ioc
def test_ioc_command_serves_the_camera_until_terminated(tmp_path, loopback_env):
    command = [sys.executable, "-m", "ophyd_pvcam.cli", "ioc", "--sim", "kinetix",
               "--prefix", "CLITEST:", "--write-root", str(tmp_path)]
    server = subprocess.Popen(command, env=loopback_env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    lines, ready = [], threading.Event()

    def drain():
        for line in server.stdout:
            lines.append(line)
            if line.startswith("IOC READY"):
                ready.set()
        ready.set()

    reader = threading.Thread(target=drain, name="cli-ioc-drain", daemon=True)
    reader.start()
    try:
        assert ready.wait(60) and any(l.startswith("IOC READY CLITEST:") for l in lines), "".join(lines)
        probe = subprocess.run(
            [sys.executable, "-c",
             "from caproto.sync.client import read; "
             "print(read('CLITEST:cam1:MaxSizeX_RBV', timeout=10, repeater=False).data[0])"],
            env=loopback_env, capture_output=True, text=True, timeout=60)
        assert probe.returncode == 0, probe.stderr
        assert probe.stdout.strip() == "3200"
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)
        reader.join(10)


def test_ioc_command_refuses_a_missing_prefix(capsys):
    from ophyd_pvcam.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["ioc", "--sim", "prime-bsi"])
    assert exit_info.value.code == 2
    assert "--prefix" in capsys.readouterr().err
