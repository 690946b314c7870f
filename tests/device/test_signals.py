"""Signals: settings validated on set (failed status, never clamped), read-only values, the image key."""
from __future__ import annotations

import pytest
from ophyd.utils.errors import ReadOnlyError

from ophyd_pvcam.device.signals import (
    SettingSignal,
    non_negative_int,
    one_of,
    positive_int,
    seconds_or_auto,
)
from ophyd_pvcam.engine.errors import ValidationError


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "3", None, float("nan")])
def test_positive_int_refuses_non_integers_and_values_below_one(value):
    with pytest.raises(ValidationError, match="frames_per_trigger must be an integer >= 1"):
        positive_int("frames_per_trigger")(value)


@pytest.mark.parametrize("value, expected", [(1, 1), (7, 7), (4.0, 4)])
def test_positive_int_accepts_whole_numbers(value, expected):
    assert positive_int("n")(value) == expected


def test_non_negative_int_accepts_zero_and_refuses_negatives():
    check = non_negative_int("stream_length")
    assert check(0) == 0
    with pytest.raises(ValidationError, match="stream_length"):
        check(-1)


def test_seconds_or_auto_maps_none_to_zero_and_refuses_negative_or_infinite():
    check = seconds_or_auto("stall_timeout")
    assert check(None) == 0.0
    assert check(0.3) == 0.3
    for bad in (-0.1, float("inf"), "1", True):
        with pytest.raises(ValidationError, match="stall_timeout"):
            check(bad)


def test_one_of_lists_the_choices_in_its_refusal():
    with pytest.raises(ValidationError, match="'stream', 'legacy'"):
        one_of("asset_docs", ("stream", "legacy"))("mongo")


def test_setting_signal_set_fails_the_status_and_keeps_the_old_value():
    signal = SettingSignal(name="n", value=2, validator=positive_int("n"))
    status = signal.set(0)
    with pytest.raises(ValidationError):
        status.wait(1)
    assert status.done and not status.success
    assert signal.get() == 2
    signal.set(5).wait(1)
    assert signal.get() == 5


def test_setting_signal_guard_can_refuse_a_change():
    def guard(signal, value):
        raise ValidationError("not now", None, "n")

    signal = SettingSignal(name="n", value=1, validator=positive_int("n"), guard=guard)
    with pytest.raises(ValidationError, match="not now"):
        signal.put(3)
    assert signal.get() == 1


def test_camera_setting_reads_back_what_the_camera_holds(cam):
    cam.exposure_time.set(0.002).wait(5)
    assert cam.exposure_time.get() == pytest.approx(0.002)
    assert cam.camera.exposure_time == pytest.approx(0.002)
    assert cam.roi.get() == (0, 0, 64, 32)


def test_refused_camera_setting_fails_the_status_without_clamping(cam):
    width, height = cam.sensor_size.get()
    status = cam.roi.set((0, 0, width + 8, 32))
    with pytest.raises(ValidationError, match="beyond"):
        status.wait(5)
    assert cam.roi.get() == (0, 0, 64, 32)
    status = cam.exposure_time.set(-1.0)
    with pytest.raises(ValidationError, match="exposure_time"):
        status.wait(5)
    assert cam.exposure_time.get() == pytest.approx(0.001)


def test_unknown_readout_port_is_refused_with_the_choices(cam):
    status = cam.readout_port.set("No Such Port")
    with pytest.raises(ValidationError):
        status.wait(5)


def test_temperature_is_read_only(cam):
    assert isinstance(cam.temperature.get(), float)
    with pytest.raises(ReadOnlyError):
        cam.temperature.put(5.0)
    with pytest.raises(ReadOnlyError):
        cam.image.set(1)


def test_camera_signal_describes_its_source(cam):
    description = cam.exposure_time.describe()["cam_exposure_time"]
    assert description["source"] == "PVCAM:exposure_time"
    assert description["dtype"] == "number"


@pytest.mark.parametrize("attr, bad", [
    ("stall_timeout", 1e300), ("stall_timeout", 1e-9), ("stall_timeout", 86401.0),
    ("frames_per_trigger", 1e300), ("frames_per_trigger", 10**30),
    ("stall_count", 10**30), ("stream_length", 1e300), ("stream_length", 10**30),
])
def test_every_numeric_setting_refuses_values_outside_its_documented_range(cam, attr, bad):
    signal = getattr(cam, attr)
    before = signal.get()
    with pytest.raises(ValidationError, match=attr):
        signal.set(bad).wait(5)
    assert signal.get() == before


@pytest.mark.parametrize("attr, value", [
    ("stall_timeout", 0.0), ("stall_timeout", 0.05), ("stall_timeout", 86400.0),
    ("frames_per_trigger", 1_000_000), ("stall_count", 1000), ("stream_length", 2**31 - 1),
])
def test_numeric_settings_accept_the_ends_of_their_ranges(cam, attr, value):
    getattr(cam, attr).set(value).wait(5)
    assert getattr(cam, attr).get() == value
