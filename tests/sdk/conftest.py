"""Fixtures for the binding tests: the real simulator library, initialised and torn down.

The simulator (``ophyd_pvcam/sim/lib/libpvcam.so.2``) is a real shared library, so
nothing here is mocked. Its camera list is taken at ``pl_pvcam_init``; it is chosen
through :func:`ophyd_pvcam.sim.set_cameras` (which overrides ``PVCAM_SIM_CAMERAS``,
so settings left by other test packages cannot leak in) and faults are cleared.
"""
from __future__ import annotations

import time
from typing import Callable

import pytest

from ophyd_pvcam import sim
from ophyd_pvcam.sdk import load
from ophyd_pvcam.sdk.errors import AlreadyInitializedError, DeviceError, NotInitializedError

# A guard against hangs, not a timing assertion: generous on a 2-core machine.
WAIT_LIMIT_S = 20.0


def _wait_for(predicate: Callable[[], object], what: str, limit: float = WAIT_LIMIT_S):
    """Poll ``predicate`` until it returns a truthy value; fail the test if it never does."""
    deadline = time.monotonic() + limit
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.002)


@pytest.fixture(scope="session")
def wait_for():
    """``wait_for(predicate, what)``: poll until truthy, fail after a generous limit."""
    return _wait_for


@pytest.fixture(scope="session")
def sim_library():
    """The simulator, loaded once per test session (``load`` caches it anyway)."""
    return load(simulated=True)


def _init(library):
    try:
        library.pvcam_init()
    except AlreadyInitializedError:
        # A previous test left the library initialised; restart so our env applies.
        library.pvcam_uninit()
        library.pvcam_init()


@pytest.fixture
def init_library(sim_library):
    """Return a factory ``init(cameras="prime-bsi")`` that initialises the simulator.

    At teardown the library is uninitialised (if the test left it initialised) and
    the simulator's camera list and faults go back to their environment defaults.
    """
    state = {"initialised": False}

    def init(cameras: str = "prime-bsi"):
        sim.set_cameras(cameras)
        sim.set_faults("")
        _init(sim_library)
        state["initialised"] = True
        return sim_library

    yield init
    sim.set_cameras(None)
    sim.set_faults(None)
    if state["initialised"]:
        try:
            sim_library.pvcam_uninit()
        except NotInitializedError:  # the test uninitialised it itself
            pass


@pytest.fixture
def library(init_library):
    """The simulator initialised with one Prime BSI."""
    return init_library()


@pytest.fixture
def camera(library):
    """Handle of the opened first camera (closed at teardown unless the test closed it)."""
    handle = library.cam_open(library.cam_get_name(0))
    yield handle
    try:
        library.exp_abort(handle)
        library.cam_close(handle)
    except (DeviceError, NotInitializedError):  # the test closed it, or uninitialised
        pass
