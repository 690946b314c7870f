"""Fixtures of the in-process ophyd-async detector tests: the simulator, a RunEngine, a detector."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from bluesky import RunEngine
from bluesky.run_engine import call_in_bluesky_event_loop

from ophyd_pvcam import catalog
from ophyd_pvcam.async_detector import PVCAMAsyncDetector, PVCAMPathProvider

#: A small region so acquisitions stay light on a 2-core machine: frames are 32 x 64.
SMALL_ROI = (0, 0, 64, 32)


async def _awaited(method: Callable[..., Any], *args: Any) -> Any:
    return await method(*args)


@pytest.fixture(autouse=True)
def clean_simulator(simulator_isolation: Any) -> Iterator[None]:
    """Every test here starts and ends with a clean simulator (see tests/conftest.py)."""
    yield


@pytest.fixture(scope="module")
def RE() -> RunEngine:
    """One RunEngine per module; ophyd-async's signals live in its event loop."""
    return RunEngine({}, call_returns_result=True)


@pytest.fixture
def subscribe(RE: RunEngine) -> Iterator[Callable[[Callable], int]]:
    """``subscribe(callback)`` on the module's RunEngine, unsubscribed at the end of the test."""
    tokens: list[int] = []

    def add(callback: Callable) -> int:
        tokens.append(RE.subscribe(callback))
        return tokens[-1]

    yield add
    for token in tokens:
        RE.unsubscribe(token)


@pytest.fixture
def tiled(tmp_path: Path) -> Iterator[Any]:
    """The embedded catalog of this test (it serves its own frames directory)."""
    client = catalog.local(tmp_path / "catalog")
    yield client
    catalog.close(tmp_path / "catalog")


@pytest.fixture
def make_detector(library: Any, tmp_path: Path, RE: RunEngine
                  ) -> Iterator[Callable[..., PVCAMAsyncDetector]]:
    """Factory of connected detectors on the simulator writing into the catalog's frames dir."""
    made: list[PVCAMAsyncDetector] = []

    def make(name: str = "cam", **kwargs: Any) -> PVCAMAsyncDetector:
        kwargs.setdefault("path_provider",
                          PVCAMPathProvider(catalog.frames_dir(tmp_path / "catalog")))
        detector = PVCAMAsyncDetector(library=library, name=name, **kwargs)
        made.append(detector)
        detector.camera.set_roi(SMALL_ROI)
        detector.camera.exposure_time = 0.001
        call_in_bluesky_event_loop(detector.connect())
        return detector

    yield make
    for detector in made:
        call_in_bluesky_event_loop(_awaited(detector.unstage))
        detector.close()


@pytest.fixture
def det(make_detector: Callable[..., PVCAMAsyncDetector]) -> PVCAMAsyncDetector:
    """A detector named ``cam``."""
    return make_detector()
