"""PyVCAM's compiled module, built against the real SDK, runs unchanged on the simulator.

PyVCAM links libpvcam.so.2 when ``pyvcam.pvc`` is imported, so each check runs
in a subprocess whose LD_LIBRARY_PATH points at the simulator.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ophyd_pvcam import sim

SCRIPT = r"""
import json, sys
from pyvcam import pvc
from pyvcam.camera import Camera
pvc.init_pvcam()
cam = next(Camera.detect_camera())
cam.open()
out = {"name": cam.name, "sensor": list(cam.sensor_size), "chip": cam.chip_name, "serial": cam.serial_no,
       "table": cam.port_speed_gain_table, "version": pvc.get_pvcam_version()}
cam.set_roi(0, 0, 64, 48)
snap = cam.get_frame(exp_time=2)
out["snap"] = [list(snap.shape), str(snap.dtype), int(snap[0, 0])]
cam.start_live(exp_time=10)
numbers = []
for _ in range(10):
    frame, fps, count = cam.poll_frame()
    numbers.append(int(frame["pixel_data"][0, 0]) | (int(frame["pixel_data"][0, 1]) << 16))
cam.finish()
out["live"] = numbers
cam.exp_mode = "Software Trigger Edge"
out["exp_mode"] = cam.exp_mode
cam.close()
pvc.uninit_pvcam()
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def pyvcam_run() -> dict:
    # The script judges frames by the opt-in FrameNr stamp in their first pixels.
    env = {**os.environ, **sim.environment(), "PVCAM_SIM_CAMERAS": "prime-bsi-express",
           "PVCAM_SIM_FRAME_STAMP": "1"}
    env.pop("PVCAM_SIM_FAULTS", None)
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_pyvcam_opens_the_simulated_camera(pyvcam_run):
    assert pyvcam_run["name"] == "pvcamUSB_0"
    assert pyvcam_run["sensor"] == [2048, 2048]
    assert pyvcam_run["chip"] == "GS2020BSI"
    assert pyvcam_run["version"] == "3.10.2"


def test_pyvcam_learns_the_port_speed_gain_table(pyvcam_run):
    table = pyvcam_run["table"]["CMOS"]
    assert table["200 MHz"]["pixel_time"] == 5
    assert {k: v["bit_depth"] for k, v in table["200 MHz"].items() if isinstance(v, dict)} == {
        "Full well": 11, "Balanced": 11, "Sensitivity": 11}
    assert table["100 MHz"]["HDR"]["bit_depth"] == 16 and table["100 MHz"]["CMS"]["gain_index"] == 2


def test_pyvcam_snaps_a_frame(pyvcam_run):
    assert pyvcam_run["snap"] == [[48, 64], "uint16", 1]


def test_pyvcam_streams_advancing_frames(pyvcam_run):
    # PyVCAM's callback fetches the *latest* frame, so a lagging callback may
    # hand the same frame out twice: numbers never go back, and they advance.
    live = pyvcam_run["live"]
    assert live == sorted(live) and live[0] >= 1 and live[-1] > live[0]


def test_pyvcam_sets_trigger_modes_through_a_dummy_setup(pyvcam_run):
    assert pyvcam_run["exp_mode"] == 3072   # read back from PARAM_EXPOSURE_MODE after the dummy setup


# ---------------------------------------------------------------- PyVCAM's own test suite
# tests/test_camera.py of PyVCAM v2.3.2, vendored unchanged (pyvcam_examples/README.md).
PYVCAM_FILES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pyvcam_examples")

FEATURES = r"""
import json
from pyvcam import pvc
from pyvcam import constants as const
from pyvcam.camera import Camera
pvc.init_pvcam()
cam = next(Camera.detect_camera())
cam.open()
h = cam.handle
out = {name: bool(pvc.check_param(h, getattr(const, name))) for name in (
    "PARAM_SMART_STREAM_MODE_ENABLED", "PARAM_SMART_STREAM_MODE", "PARAM_SMART_STREAM_EXP_PARAMS", "PARAM_ROI")}
out["ROI_LIVE"] = bool(pvc.get_param(h, const.PARAM_ROI, const.ATTR_LIVE))
cam.close()
pvc.uninit_pvcam()
print(json.dumps(out))
"""


def _simulated_env(model: str) -> dict:
    env = {**os.environ, **sim.environment(), "PVCAM_SIM_CAMERAS": model}
    env.pop("PVCAM_SIM_FAULTS", None)
    env.pop("PVCAM_SIM_FRAME_STAMP", None)
    return env


@pytest.mark.parametrize("model", sim.MODELS)
def test_pyvcams_own_test_suite_passes_82_of_82(model):
    proc = subprocess.run([sys.executable, "-m", "unittest", "-v", "pyvcam_test_camera"], cwd=PYVCAM_FILES,
                          capture_output=True, text=True, env=_simulated_env(model), timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Ran 82 tests" in proc.stderr and proc.stderr.rstrip().endswith("OK"), proc.stderr[-3000:]
    assert "skipped" not in proc.stderr   # the camera was found: no test skipped itself


@pytest.mark.parametrize("model", sim.MODELS)
def test_pyvcams_smart_streaming_and_live_roi_tests_run_their_bodies(model):
    # Those tests check these conditions first and pass silently when they are false.
    proc = subprocess.run([sys.executable, "-c", FEATURES], capture_output=True, text=True,
                          env=_simulated_env(model), timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert found == {"PARAM_SMART_STREAM_MODE_ENABLED": True, "PARAM_SMART_STREAM_MODE": True,
                     "PARAM_SMART_STREAM_EXP_PARAMS": True, "PARAM_ROI": True,
                     "ROI_LIVE": model in ("kinetix", "prime-bsi-express")}
