"""Regions and binning (ophyd_pvcam/engine/camera/roi.py) and their use by Camera."""
from __future__ import annotations

import pytest

from ophyd_pvcam.engine.errors import ValidationError
from ophyd_pvcam.engine.camera.roi import Region, allowed_binnings, as_region, validate_binning

SENSOR = (2048, 2048)


def test_region_builds_the_sdk_tuple_with_inclusive_ends():
    region = Region(10, 20, 64, 32)
    assert region.to_rgn() == (10, 73, 1, 20, 51, 1)
    assert region.to_rgn((2, 4)) == (10, 73, 2, 20, 51, 4)
    assert Region.from_rgn((10, 73, 2, 20, 51, 4)) == region


def test_frame_shape_is_rows_then_columns_after_binning():
    assert Region(0, 0, 64, 32).frame_shape() == (32, 64)
    assert Region(0, 0, 64, 32).frame_shape((2, 4)) == (8, 32)


def test_full_region_covers_the_sensor():
    assert Region.full((3200, 2400)) == Region(0, 0, 3200, 2400)


@pytest.mark.parametrize("region, binning, message", [
    (Region(-1, 0, 10, 10), (1, 1), "outside"),
    (Region(0, 0, 0, 10), (1, 1), "empty"),
    (Region(2040, 0, 16, 10), (1, 1), "beyond"),
    (Region(0, 2040, 16, 16), (1, 1), "beyond"),
    (Region(0, 0, 15, 16), (2, 2), "multiples"),
    (Region(0, 0, 16, 18), (4, 4), "multiples"),
])
def test_invalid_regions_are_refused(region, binning, message):
    with pytest.raises(ValidationError, match=message):
        region.validate(SENSOR, binning)


def test_valid_region_passes():
    Region(2040, 2040, 8, 8).validate(SENSOR, (2, 2))


def test_non_integer_coordinates_are_refused():
    with pytest.raises(ValidationError, match="integer"):
        Region(0.5, 0, 10, 10)
    with pytest.raises(ValidationError, match="integer"):
        Region("0", 0, 10, 10)


def test_as_region_accepts_none_tuples_and_regions():
    assert as_region(None, SENSOR) == Region(0, 0, 2048, 2048)
    assert as_region((1, 2, 3, 4), SENSOR) == Region(1, 2, 3, 4)
    region = Region(1, 2, 3, 4)
    assert as_region(region, SENSOR) is region
    with pytest.raises(ValidationError):
        as_region((1, 2, 3), SENSOR)
    with pytest.raises(ValidationError):
        as_region(5, SENSOR)


def test_binning_enums_pair_by_index():
    assert allowed_binnings([1, 2, 4], [1, 2, 4]) == [(1, 1), (2, 2), (4, 4)]
    assert allowed_binnings([1, 2], [1, 2, 4]) == [(1, 1), (1, 2), (1, 4), (2, 1), (2, 2),
                                                   (2, 4)]
    assert allowed_binnings(None, [1]) is None


def test_validate_binning():
    allowed = [(1, 1), (2, 2)]
    assert validate_binning(2, allowed) == (2, 2)
    assert validate_binning((1, 1), allowed) == (1, 1)
    assert validate_binning((3, 1), None) == (3, 1)
    with pytest.raises(ValidationError, match="not supported"):
        validate_binning(4, allowed)
    with pytest.raises(ValidationError, match=">= 1"):
        validate_binning(0, None)
    with pytest.raises(ValidationError):
        validate_binning((1, 2, 3), None)


# --- on a camera -------------------------------------------------------------

def test_camera_offers_the_binnings_the_camera_reports(model_camera):
    ser = list(model_camera.parameters["binning_ser"].enum_items.values())
    par = list(model_camera.parameters["binning_par"].enum_items.values())
    assert model_camera.binnings == allowed_binnings(ser, par)
    assert (1, 1) in model_camera.binnings


def test_camera_roi_defaults_to_the_full_sensor(model_camera):
    assert model_camera.roi == Region.full(model_camera.sensor_size)
    assert model_camera.binning == (1, 1)


def test_camera_refuses_a_roi_outside_the_sensor_and_keeps_the_old_one(bsi):
    before = bsi.roi
    with pytest.raises(ValidationError, match="beyond"):
        bsi.roi = (2000, 0, 100, 10)
    assert bsi.roi == before


def test_camera_refuses_an_unsupported_binning(bsi):
    with pytest.raises(ValidationError, match="not supported"):
        bsi.binning = 3
    assert bsi.binning == (1, 1)


def test_binning_that_does_not_divide_the_roi_is_refused(bsi):
    bsi.roi = (0, 0, 62, 30)
    with pytest.raises(ValidationError, match="multiples"):
        bsi.binning = 4
    assert bsi.binning == (1, 1)
    bsi.set_roi((0, 0, 64, 32), 4)
    assert (bsi.roi, bsi.binning) == (Region(0, 0, 64, 32), (4, 4))


def test_binned_roi_shapes_the_frames(bsi):
    bsi.set_roi((8, 4, 64, 32), 2)
    settings = bsi.acquisition_settings()
    assert settings.regions == ((8, 71, 2, 4, 35, 2),)
    assert settings.frame_shape == (16, 32)
    frame = bsi.snap()
    assert frame.shape == (16, 32)
