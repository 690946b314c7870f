"""Fixtures for the engine tests: the simulated library, clean simulator state, open cameras."""
from __future__ import annotations

from typing import Callable, Iterator

import numpy as np
import pytest

from ophyd_pvcam import sim
from ophyd_pvcam.engine.camera.camera import Camera

#: A small region so acquisitions stay light on a 2-core machine.
SMALL_ROI = (0, 0, 64, 32)


@pytest.fixture(autouse=True)
def clean_simulator(simulator_isolation) -> Iterator[None]:
    """Every test here starts and ends with a clean simulator (see tests/conftest.py)."""
    yield


@pytest.fixture
def faults() -> Callable[[str], None]:
    """``faults("drop_every=3")``: simulator faults for acquisitions started afterwards.

    ``clean_simulator`` clears them before and after every test.
    """
    return sim.set_faults


@pytest.fixture
def open_model(library) -> Iterator[Callable[[str], Camera]]:
    """Factory: ``open_model("kinetix")`` opens a simulated camera of that model."""
    opened: list[Camera] = []

    def _open(model: str) -> Camera:
        sim.set_cameras(model)
        cam = Camera.open(library=library)
        opened.append(cam)
        return cam

    yield _open
    for cam in opened:
        cam.close()


@pytest.fixture(params=sim.MODELS)
def model_camera(request, open_model) -> Camera:
    """An open camera of each simulated model in turn."""
    return open_model(request.param)


@pytest.fixture
def bsi(open_model) -> Camera:
    """An open Prime BSI with a small ROI and a 1 ms exposure."""
    cam = open_model("prime-bsi")
    cam.roi = SMALL_ROI
    cam.exposure_time = 0.001
    return cam


@pytest.fixture
def kinetix(open_model) -> Camera:
    """An open Kinetix, untouched after open (its exposure resolution is under test)."""
    return open_model("kinetix")


def _stamped_frame_number(frame: np.ndarray) -> int:
    raw = np.ascontiguousarray(frame).view(np.uint8).ravel()[:4]
    return int(raw.view("<u4")[0])


@pytest.fixture
def stamp(frame_stamp) -> Callable[[np.ndarray], int]:
    """Reader of the simulator's FrameNr stamp (first 4 bytes of a frame, uint32 LE)."""
    return _stamped_frame_number
