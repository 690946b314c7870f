"""The server's loss policies are the in-process detector's, and the server never imports ophyd.

Both take the policy names and the prediction from :mod:`ophyd_pvcam.storage.preflight`;
the server may not import ``ophyd_pvcam.device`` to get them.
"""
from __future__ import annotations

import ast
from pathlib import Path

from ophyd_pvcam.device import losspolicy as device_policy
from ophyd_pvcam.ioc.server import cam_tables
from ophyd_pvcam.ioc.server.core import driver, settings
from ophyd_pvcam.storage import preflight

SERVER = Path(driver.__file__).resolve().parent.parent


def test_the_policy_names_are_the_in_process_detectors():
    assert settings.LOSS_POLICIES is cam_tables.LOSS_POLICIES is device_policy.LOSS_POLICIES
    assert settings.LOSS_POLICIES == ("record", "fail")
    assert (settings.PREDICTED_LOSS_POLICIES is cam_tables.PREDICTED_LOSS_POLICIES
            is device_policy.PREDICTED_LOSS_POLICIES)


def test_the_server_predicts_with_the_detectors_function():
    assert driver.predict_run is device_policy.predict_run is preflight.predict_run


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
