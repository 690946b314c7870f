"""Fixtures for the simulator tests.

The simulator is tested through its C ABI directly (tests/sim/simabi.py), not
through ophyd_pvcam.sdk, which sits above it: exactly what a vendor-SDK
program sees.  Every test that initialises the library undoes its
process-wide camera/fault overrides, so the environment variables other test
packages rely on apply again.
"""
from __future__ import annotations

import os
import sys
from typing import Callable, Iterator, Optional

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ophyd_pvcam import sim  # noqa: E402
from simabi import Lib  # noqa: E402


@pytest.fixture(scope="session")
def lib() -> Lib:
    if not sim.library_path().exists():
        pytest.fail(f"simulator not built: {sim.library_path()}")
    return Lib()


@pytest.fixture
def pvcam(lib: Lib) -> Iterator[Callable[..., Lib]]:
    """Initialise the library with chosen cameras/faults; uninit and reset afterwards.

    Most tests here judge frames by their pixels, so the opt-in test stamp
    (FrameNr in the first 4 pixel bytes) is on unless ``stamp`` says otherwise;
    ``stamp=None`` gives the simulator's default (no stamp).
    """
    state = {"init": False}

    def start(cameras: str = "prime-bsi", faults: str = "", stamp: Optional[bool] = True) -> Lib:
        sim.set_cameras(cameras)
        sim.set_faults(faults)
        sim.set_frame_stamp(stamp)
        if not lib.pl_pvcam_init():
            assert lib.error_code() == 158, lib.message(lib.error_code())
            lib.call("pl_pvcam_uninit")   # left initialised by an earlier failure
            lib.call("pl_pvcam_init")
        state["init"] = True
        return lib

    yield start
    if state["init"]:
        lib.pl_pvcam_uninit()
    sim.set_cameras(None)
    sim.set_faults(None)
    sim.set_frame_stamp(None)


@pytest.fixture
def cam(pvcam) -> tuple[Lib, int]:
    """One open prime-bsi camera."""
    lib = pvcam("prime-bsi")
    return lib, lib.open()
