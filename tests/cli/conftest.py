"""Fixtures for the command-line tests: the CLI mutates os.environ (``--sim``), so restore it."""
import os

import pytest

from ophyd_pvcam import sim


@pytest.fixture(autouse=True)
def restore_environment():
    # Earlier tests may have set in-process overrides, which beat the
    # PVCAM_SIM_* variables these tests (like a user) set.
    sim.set_faults(None)
    sim.set_cameras(None)
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)
    sim.set_faults(None)
    sim.set_cameras(None)


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path
