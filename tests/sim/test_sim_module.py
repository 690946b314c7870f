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


def test_frame_stamp_is_off_by_default_and_switched_through_the_api():
    try:
        sim.set_frame_stamp(None)
        assert sim.frame_stamp() is False
        sim.set_frame_stamp(True)
        assert sim.frame_stamp() is True
        sim.set_frame_stamp(False)
        assert sim.frame_stamp() is False
    finally:
        sim.set_frame_stamp(None)


def test_frame_stamp_environment_variable_applies_at_init(pvcam, monkeypatch):
    monkeypatch.setenv("PVCAM_SIM_FRAME_STAMP", "1")
    pvcam("prime-bsi", stamp=None)          # no API override: init reads the variable
    assert sim.frame_stamp() is True
