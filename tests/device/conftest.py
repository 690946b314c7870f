"""Fixtures for the device tests: the simulator, a small-ROI detector, a RunEngine with a document log."""
from __future__ import annotations

from typing import Callable, Iterator

import numpy as np
import pytest
from bluesky import RunEngine

from ophyd_pvcam.device.detector import PVCAMDetector

#: A small region so acquisitions stay light on a 2-core machine: frames are 32 x 64.
SMALL_ROI = (0, 0, 64, 32)


@pytest.fixture(autouse=True)
def clean_simulator(simulator_isolation) -> Iterator[None]:
    """Every test here starts and ends with a clean simulator (see tests/conftest.py)."""
    yield


@pytest.fixture
def make_detector(library, tmp_path) -> Iterator[Callable[..., PVCAMDetector]]:
    """Factory of detectors on the simulator (small ROI, 1 ms exposure), closed at the end."""
    made: list[PVCAMDetector] = []

    def make(name: str = "cam", **kwargs) -> PVCAMDetector:
        kwargs.setdefault("write_path", tmp_path / "frames")
        det = PVCAMDetector(name, library=library, **kwargs)
        made.append(det)
        det.roi.set(SMALL_ROI).wait()
        det.exposure_time.set(0.001).wait()
        return det

    yield make
    for det in made:
        det.close()


@pytest.fixture
def cam(make_detector) -> PVCAMDetector:
    """A stream-mode detector named ``cam``."""
    return make_detector()


@pytest.fixture(scope="session")
def RE() -> RunEngine:
    """One RunEngine for the session (each creates an event-loop thread)."""
    return RunEngine({})


@pytest.fixture
def docs(RE) -> Iterator[list[tuple[str, dict]]]:
    """Every document the RunEngine emits during the test, in order."""
    collected: list[tuple[str, dict]] = []
    token = RE.subscribe(lambda name, doc: collected.append((name, doc)))
    yield collected
    RE.unsubscribe(token)


def stamped_numbers(frames: np.ndarray) -> list[int]:
    """The simulator's FrameNr stamps (first 4 bytes of each frame, uint32 LE)."""
    frames = np.ascontiguousarray(frames)
    flat = frames.reshape(-1, frames.shape[-2] * frames.shape[-1])
    return [int(row.view(np.uint8)[:4].view("<u4")[0]) for row in flat]


@pytest.fixture
def stamps(frame_stamp) -> Callable[[np.ndarray], list[int]]:
    """Reader of the simulator's FrameNr stamps of a stack of frames."""
    return stamped_numbers


def names(documents: list[tuple[str, dict]]) -> list[str]:
    """The document names, in order."""
    return [name for name, _ in documents]


@pytest.fixture
def doc_names() -> Callable[[list], list[str]]:
    """Helper: the names of a document log."""
    return names
