"""Exposure time, resolution and trigger/expose-out modes (ophyd_pvcam/engine/camera/exposure.py)."""
from __future__ import annotations

import pytest

from ophyd_pvcam import sim
from ophyd_pvcam.engine.camera.camera import Camera
from ophyd_pvcam.engine.errors import ValidationError
from ophyd_pvcam.engine.camera.settings import LONG_EXPOSURE_SECONDS
from ophyd_pvcam.sdk import constants as C


def test_exposure_modes_have_pythonic_names(model_camera):
    modes = model_camera.exposure_modes
    assert "internal" in modes and "software_edge" in modes
    values = set(model_camera.parameters["exposure_mode"].enum_items.values())
    assert len(modes) == len(values)
    assert model_camera.exposure_mode == "internal"


def test_exposure_mode_goes_into_the_setup_exp_mode(bsi):
    bsi.exposure_mode = "software_edge"
    assert bsi.exposure_mode == "software_edge"
    settings = bsi.acquisition_settings()
    assert settings.exp_mode & 0xFF00 == C.EXT_TRIG_SOFTWARE_EDGE
    bsi.exposure_mode = "Edge Trigger"  # the camera's own item name
    assert bsi.exposure_mode == "edge_rising"
    bsi.exposure_mode = C.EXT_TRIG_TRIG_FIRST
    assert bsi.exposure_mode == "trigger_first"


def test_unknown_exposure_mode_is_refused_and_the_mode_kept(bsi):
    with pytest.raises(ValidationError, match="internal"):
        bsi.exposure_mode = "bogus"
    with pytest.raises(ValidationError):
        bsi.exposure_mode = 12345
    assert bsi.exposure_mode == "internal"


def test_expose_out_mode_fills_the_low_byte_of_exp_mode(bsi):
    modes = bsi.expose_out_modes
    assert "first_row" in modes
    for name in modes:
        bsi.expose_out_mode = name
        assert bsi.expose_out_mode == name
        settings = bsi.acquisition_settings()
        assert settings.exp_mode & 0xFF == getattr(C, "EXPOSE_OUT_" + name.upper())
        assert settings.exp_mode & 0xFF00 == C.EXT_TRIG_INTERNAL
    with pytest.raises(ValidationError):
        bsi.expose_out_mode = "sideways"


def exp_res(cam):
    return cam.library.get_param(cam.handle, C.PARAM_EXP_RES)


def test_exposure_resolution_follows_the_exposure(bsi):
    bsi.exposure_time = 0.0005
    assert exp_res(bsi) == C.EXP_RES_ONE_MICROSEC
    assert bsi.acquisition_settings().exposure == 500
    bsi.exposure_time = 0.02
    assert exp_res(bsi) == C.EXP_RES_ONE_MILLISEC
    assert bsi.acquisition_settings().exposure == 20
    bsi.exposure_time = 0.0123456
    assert exp_res(bsi) == C.EXP_RES_ONE_MICROSEC
    assert bsi.acquisition_settings().exposure == 12346
    assert bsi.exposure_time == 0.0123456


def test_kinetix_powers_up_in_milliseconds_and_opens_with_a_usable_exposure(library):
    sim.set_cameras("kinetix")
    library.pvcam_init()
    try:
        handle = library.cam_open("pvcamUSB_0")
        raw_resolution = library.get_param(handle, C.PARAM_EXP_RES)
        library.cam_close(handle)
    finally:
        library.pvcam_uninit()
    assert raw_resolution == C.EXP_RES_ONE_MILLISEC
    with Camera.open(library=library) as cam:
        assert cam.exposure_time > 0
        settings = cam.acquisition_settings()
        assert settings.exposure > 0
        assert settings.exposure * {0: 1e-3, 1: 1e-6, 2: 1.0}[exp_res(cam)] == \
            pytest.approx(cam.exposure_time)


def test_exposure_leaves_a_seconds_resolution_for_short_times(kinetix):
    kinetix.parameters["exp_res"].set(C.EXP_RES_ONE_SEC)
    kinetix.exposure_time = 0.01
    assert exp_res(kinetix) == C.EXP_RES_ONE_MILLISEC
    assert kinetix.acquisition_settings().exposure == 10


def test_kinetix_starting_in_seconds_gets_a_usable_resolution(kinetix):
    # A camera left in EXP_RES_ONE_SEC (a third-party report says a Kinetix powered
    # up so): a 10 ms exposure must not round to 0.
    kinetix.parameters["exp_res"].set(C.EXP_RES_ONE_SEC)
    kinetix.exposure_time = 0.01
    assert exp_res(kinetix) == C.EXP_RES_ONE_MILLISEC
    settings = kinetix.acquisition_settings()
    assert (settings.exposure, settings.exposure_seconds) == (10, 0.01)


def test_long_whole_second_exposures_use_seconds_when_available(kinetix):
    kinetix.exposure_time = LONG_EXPOSURE_SECONDS * 2
    assert exp_res(kinetix) == C.EXP_RES_ONE_SEC
    assert kinetix.acquisition_settings().exposure == LONG_EXPOSURE_SECONDS * 2


def test_long_exposures_stay_in_ms_without_a_seconds_resolution(bsi):
    assert C.EXP_RES_ONE_SEC not in bsi.parameters["exp_res"].enum_items.values()
    bsi.exposure_time = 120
    assert exp_res(bsi) == C.EXP_RES_ONE_MILLISEC
    assert bsi.acquisition_settings().exposure == 120000


def test_impossible_exposure_is_refused_and_the_resolution_restored(bsi):
    bsi.exposure_time = 0.02
    maximum_ms = bsi.parameters["exposure_time"].max
    with pytest.raises(ValidationError, match="not possible"):
        bsi.exposure_time = float(maximum_ms + 10)  # seconds: 1000x the ms maximum
    assert exp_res(bsi) == C.EXP_RES_ONE_MILLISEC
    assert bsi.exposure_time == 0.02


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf"), "1", None, True])
def test_non_numeric_or_negative_exposure_is_refused(bsi, bad):
    with pytest.raises(ValidationError):
        bsi.exposure_time = bad
    assert bsi.exposure_time == 0.001


def test_resolution_changed_behind_the_engines_back_is_reapplied(bsi):
    bsi.exposure_time = 0.0005
    bsi.parameters["exp_res"].set(C.EXP_RES_ONE_MILLISEC)
    settings = bsi.acquisition_settings()
    assert (settings.exposure_resolution, settings.exposure) == (C.EXP_RES_ONE_MICROSEC, 500)
    assert exp_res(bsi) == C.EXP_RES_ONE_MICROSEC
