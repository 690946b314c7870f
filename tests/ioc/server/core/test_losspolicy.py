"""The server's loss policies (ophyd_pvcam/ioc/server/core/losspolicy.py) are the detector's."""
from __future__ import annotations

import ast
from pathlib import Path

from ophyd_pvcam.device import losspolicy as device_policy
from ophyd_pvcam.engine.camera import Camera
from ophyd_pvcam.ioc.server.core import losspolicy as server_policy

SERVER = Path(server_policy.__file__).resolve().parent.parent


def test_the_policy_names_are_the_in_process_detectors():
    assert server_policy.LOSS_POLICIES == device_policy.LOSS_POLICIES == ("record", "fail")
    assert server_policy.PREDICTED_LOSS_POLICIES == device_policy.PREDICTED_LOSS_POLICIES


def test_the_servers_prediction_is_the_detectors_for_the_same_acquisition(
        library, simulator_isolation, tmp_path, monkeypatch):
    monkeypatch.setenv("PVCAM_SINK_RATE", "1K")
    monkeypatch.setenv("PVCAM_HOST_MEMORY_BUDGET", "64M")
    camera = Camera.open("pvcamUSB_0", library)
    try:
        settings = camera.acquisition_settings()
        for frames in (10, 5000, None):
            server = server_policy.predict_acquisition(settings, frames, tmp_path)
            device = device_policy.predict_run(settings, frames, tmp_path)
            assert str(server) == str(device)
            assert server.fits == device.fits
        assert not server_policy.predict_acquisition(settings, 5000, tmp_path).fits
    finally:
        camera.close()


def test_the_server_never_imports_the_device_package():
    # ophyd_pvcam.device imports ophyd, whose control layer would open a CA client
    # (sockets on every interface) inside the server.
    for path in SERVER.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("ophyd_pvcam.device"), path
                assert node.module.split(".")[0] != "ophyd", path
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith(("ophyd_pvcam.device", "ophyd."))
                               or a.name == "ophyd" for a in node.names), path
