"""Fixtures for the storage tests: deterministic frames and child-process scripts."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from ophyd_pvcam.engine.frame import Frame

REPO = Path(__file__).resolve().parents[2]


def pixels(index: int, shape=(48, 64), dtype="uint16") -> np.ndarray:
    """Frame ``index``'s pixels: every value distinct from its neighbours and from other frames.

    The same expression is used by the child-process scripts below, so a
    parent can check bit-exactly what a child wrote.
    """
    dtype = np.dtype(dtype)
    count = shape[0] * shape[1]
    values = (np.arange(count, dtype=np.uint64) * 2654435761 + index * 40503) % (np.iinfo(dtype).max + 1)
    return values.astype(dtype).reshape(shape)


@pytest.fixture
def make_frame() -> Callable[..., Frame]:
    """Return ``make_frame(index, shape=(48, 64), dtype="uint16") -> Frame`` with distinct metadata."""

    def make(index: int, shape=(48, 64), dtype="uint16") -> Frame:
        return Frame(
            frame_number=index + 1,
            data=pixels(index, shape, dtype),
            timestamp_bof=1000 + 50 * index,
            timestamp_eof=1040 + 50 * index,
            readout_time=37 + index,
            host_time=1.7e9 + 0.005 * index,
            index=index,
            lost_before=index % 3,
        )

    return make


@pytest.fixture
def frame_pixels() -> Callable[..., np.ndarray]:
    """Return the pixel generator shared with child-process scripts."""
    return pixels


def child_env() -> dict[str, str]:
    """Environment for a child Python that imports ophyd_pvcam from this checkout."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


@pytest.fixture
def spawn_python():
    """Start ``python -c script`` children (killed and reaped at teardown)."""
    children: list[subprocess.Popen] = []

    def spawn(script: str, *args: str) -> subprocess.Popen:
        child = subprocess.Popen(
            [sys.executable, "-c", script, *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, cwd=REPO, env=child_env(),
        )
        children.append(child)
        return child

    yield spawn
    for child in children:
        if child.poll() is None:
            child.kill()
        child.communicate(timeout=30)


def _wait_until(predicate: Callable[[], bool], timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not reached within {timeout} s")
        time.sleep(0.01)


@pytest.fixture
def wait_until() -> Callable[..., None]:
    """Return ``wait_until(predicate, timeout=60, what=...)``: poll until true.

    The timeout is a hang guard (the test fails), never a speed assertion.
    """
    return _wait_until
