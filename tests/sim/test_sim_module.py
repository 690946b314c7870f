"""ophyd_pvcam.sim: the Python leaf module."""
from __future__ import annotations

import os

import pytest

from ophyd_pvcam import sim


def test_library_path_is_in_library_dir():
    assert sim.library_path() == sim.library_dir() / "libpvcam.so.2"
    assert sim.library_dir().name == "lib" and sim.library_dir().parent.name == "sim"
    assert sim.library_path().exists()


def test_models_and_faults_are_listed():
    assert sim.MODELS == ("prime-bsi", "prime-bsi-express", "kinetix", "prime-95b")
    assert "stall_after" in sim.FAULTS and "seed" in sim.FAULTS


def test_environment_prepends_library_dir(monkeypatch):
    monkeypatch.setenv("LD_LIBRARY_PATH", "/opt/x:/opt/y")
    env = sim.environment()
    assert env["LD_LIBRARY_PATH"].split(os.pathsep) == [str(sim.library_dir()), "/opt/x", "/opt/y"]
    assert env["PVCAM_LIBRARY"] == "sim"


def test_environment_without_existing_path(monkeypatch):
    monkeypatch.delenv("LD_LIBRARY_PATH", raising=False)
    assert sim.environment()["LD_LIBRARY_PATH"] == str(sim.library_dir())


def test_set_cameras_accepts_sequences_and_rejects_unknown_models():
    try:
        sim.set_cameras(["kinetix", "prime-95b"])
        with pytest.raises(sim.SimulatorConfigError, match="unknown camera model 'iris'") as info:
            sim.set_cameras("kinetix,iris")
        assert info.value.code == 164
    finally:
        sim.set_cameras(None)


def test_set_faults_mapping_leaves_out_false_flags():
    try:
        sim.set_faults({"reject_circ_overwrite": False, "drop_every": 4})
        assert sim.get_faults() == "drop_every=4"
    finally:
        sim.set_faults(None)
    assert sim.get_faults() == ""
