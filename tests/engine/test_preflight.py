"""The pre-flight prediction: frames that fit the sink, the RAM budget and the disk, and the remedies."""
import math

import numpy as np
import pytest

from ophyd_pvcam.engine.budget import ENV_VAR as MEMORY_BUDGET_ENV
from ophyd_pvcam.engine.errors import ValidationError
from ophyd_pvcam.engine.preflight import Prediction, format_bytes, predict
from ophyd_pvcam.engine.camera.settings import AcquisitionSettings

MIB, GIB = 1024 ** 2, 1024 ** 3
#: Prime BSI, 16-bit port: 2048 rows x 10.5 us per line.
BSI_READOUT_S = 2048 * 10.5e-6


def settings(shape=(2048, 2048), exposure_s=0.0, readout_s=BSI_READOUT_S, dtype=np.uint16):
    """Acquisition settings as the engine snapshots them (Prime BSI full frame by default)."""
    return AcquisitionSettings(regions=((0, shape[1] - 1, 1, 0, shape[0] - 1, 1),), exp_mode=0,
                               exposure=int(exposure_s * 1e3), exposure_seconds=exposure_s,
                               frame_shape=shape, dtype=np.dtype(dtype), readout_time_s=readout_s,
                               frame_period_s=exposure_s + readout_s)


def test_prime_bsi_full_frame_at_rated_speed_into_a_slow_sink_predicts_the_frames_that_fit():
    prediction = predict(settings(), 1000, sink_bytes_per_s=100e6, ram_budget_bytes=2 * GIB,
                         disk_free_bytes=50 * GIB, sink_source="PVCAM_SINK_RATE")
    assert prediction.frame_bytes == 2048 * 2048 * 2
    assert prediction.frame_rate_hz == pytest.approx(46.5, abs=0.05)
    assert prediction.bytes_per_s == pytest.approx(8 * MIB * 46.503, rel=1e-3)
    # Each frame leaves 8 MiB - 100 MB/s x 21.5 ms = 6.24 MiB behind in RAM: 2 GiB hold 344.
    deficit = 8 * MIB - 100e6 * BSI_READOUT_S
    assert prediction.loss_free_frames == int(2 * GIB // deficit) == 344
    assert prediction.loss_free_seconds == pytest.approx(344 * BSI_READOUT_S)
    assert not prediction.fits and prediction.limit == "sink"
    text = str(prediction)
    assert text.startswith("predicted loss: loss-free for 344 frames / 7.4 s of the 1000 requested")
    assert "PVCAM_SINK_RATE" in text and "46.5 fps" in text


def test_remedies_name_compression_roi_rate_burst_and_fewer_frames_each_of_which_fits():
    base = settings()
    prediction = predict(base, 1000, sink_bytes_per_s=100e6, ram_budget_bytes=2 * GIB,
                         disk_free_bytes=50 * GIB)
    remedy = prediction.remedy
    assert "compression of at least 3.0:1" in remedy     # 2.93 rounded up
    assert "at most 344 frames" in remedy and prediction.remedies[-1] == "at most 344 frames"
    assert f"{MEMORY_BUDGET_ENV}=" in remedy
    # Every remedy, applied, predicts a loss-free run.
    assert predict(base, 1000, sink_bytes_per_s=100e6, ram_budget_bytes=2 * GIB,
                   compression_ratio=3.0).fits
    assert not predict(base, 1000, sink_bytes_per_s=100e6, ram_budget_bytes=2 * GIB,
                       compression_ratio=2.9).fits
    columns = int(remedy.split("a ROI at most ")[1].split(" px")[0])
    assert predict(settings(shape=(2048, columns)), 1000, sink_bytes_per_s=100e6,
                   ram_budget_bytes=2 * GIB).fits
    assert not predict(settings(shape=(2048, columns + 2)), 1000, sink_bytes_per_s=100e6,
                       ram_budget_bytes=2 * GIB).fits
    exposure_ms = float(remedy.split("exposure >= ")[1].split(" ms")[0])
    assert predict(settings(exposure_s=exposure_ms * 1e-3), 1000, sink_bytes_per_s=100e6,
                   ram_budget_bytes=2 * GIB).fits
    budget_mib = int(remedy.split(f"{MEMORY_BUDGET_ENV}=")[1].split("M")[0])
    assert predict(base, 1000, sink_bytes_per_s=100e6, ram_budget_bytes=budget_mib * MIB).fits


def test_a_sink_faster_than_the_camera_fits_any_number_of_frames_without_a_disk_limit():
    prediction = predict(settings(), None, sink_bytes_per_s=2e9, ram_budget_bytes=2 * GIB)
    assert prediction.fits and prediction.loss_free_frames is None
    assert prediction.loss_free_seconds is None and prediction.remedies == ()
    assert str(prediction).startswith("predicted loss-free: loss-free for any number of frames "
                                      "of an open-ended run")


def test_free_disk_space_bounds_a_run_the_sink_keeps_up_with():
    prediction = predict(settings(), 1000, sink_bytes_per_s=2e9, ram_budget_bytes=2 * GIB,
                         disk_free_bytes=4 * GIB)
    assert prediction.loss_free_frames == 512 and prediction.limit == "disk"
    assert not prediction.fits
    assert "(then the disk is full)" in prediction.loss_free_text()
    assert "more free disk space" in prediction.remedy
    assert "compression of at least 2.0:1" in prediction.remedy
    # Compression shrinks the files, so the same disk holds more frames.
    assert predict(settings(), 1000, sink_bytes_per_s=2e9, ram_budget_bytes=2 * GIB,
                   disk_free_bytes=4 * GIB, compression_ratio=2.0).fits


def test_an_open_ended_run_into_a_slow_sink_is_a_predicted_loss_with_the_frames_that_fit():
    prediction = predict(settings(), 0, sink_bytes_per_s=100e6, ram_budget_bytes=2 * GIB)
    assert prediction.num_frames is None and not prediction.fits
    assert prediction.loss_free_frames == 344
    assert "a bounded run of at most 344 frames" in prediction.remedy
    # The sink alone must keep up: 8 MiB per 21.5 ms is 3.9x 100 MB/s (shown rounded up).
    assert "compression of at least 4.0:1" in prediction.remedy


def test_a_small_roi_at_the_same_speed_fits():
    prediction = predict(settings(shape=(64, 64), readout_s=64 * 10.5e-6), 20000,
                         sink_bytes_per_s=100e6, ram_budget_bytes=2 * GIB,
                         disk_free_bytes=50 * GIB)
    assert prediction.fits and prediction.frame_rate_hz == pytest.approx(1488, rel=1e-3)
    assert prediction.loss_free_frames == 50 * GIB // (64 * 64 * 2)
    assert prediction.remedies == () and "remedy" not in str(prediction)


def test_a_frame_larger_than_the_ram_budget_fits_no_frame():
    prediction = predict(settings(), 10, sink_bytes_per_s=2e9, ram_budget_bytes=4 * MIB)
    assert prediction.loss_free_frames == 0 and not prediction.fits


@pytest.mark.parametrize("kwargs, message", [
    (dict(sink_bytes_per_s=0.0), "sink rate"),
    (dict(compression_ratio=0.0), "compression ratio"),
    (dict(ram_budget_bytes=-1), "cannot be negative"),
    (dict(disk_free_bytes=-1), "cannot be negative"),
])
def test_impossible_inputs_are_refused(kwargs, message):
    arguments = dict(sink_bytes_per_s=1e8, ram_budget_bytes=GIB)
    arguments.update(kwargs)
    with pytest.raises(ValidationError, match=message):
        predict(settings(), 10, **arguments)


def test_a_zero_frame_period_cannot_be_predicted():
    with pytest.raises(ValidationError, match="frame period"):
        predict(settings(readout_s=0.0), 10, sink_bytes_per_s=1e8, ram_budget_bytes=GIB)


def test_the_simulated_prime_bsi_at_zero_exposure_runs_at_its_rated_46_5_fps(open_model):
    camera = open_model("prime-bsi")
    camera.exposure_time = 0
    prediction = predict(camera.acquisition_settings(), 100, sink_bytes_per_s=1e9,
                         ram_budget_bytes=GIB)
    assert prediction.frame_shape == (2048, 2048) and prediction.dtype == "uint16"
    assert prediction.frame_rate_hz == pytest.approx(46.5, abs=0.05)
    assert isinstance(prediction, Prediction) and prediction.fits


@pytest.mark.parametrize("count, text", [(512, "512 B"), (8 * MIB, "8.0 MiB"),
                                         (1.5 * GIB, "1.5 GiB"), (3 * 1024 ** 4, "3.0 TiB")])
def test_format_bytes_uses_binary_prefixes(count, text):
    assert format_bytes(count) == text


def test_loss_free_seconds_follow_the_frame_rate():
    prediction = predict(settings(exposure_s=0.1), 100, sink_bytes_per_s=1e3,
                         ram_budget_bytes=64 * MIB)
    assert math.isclose(prediction.loss_free_seconds,
                        prediction.loss_free_frames * (0.1 + BSI_READOUT_S))


def test_a_smaller_buffer_in_front_of_the_limit_bounds_the_run_and_rules_out_a_burst():
    ring = 47 * 8 * MIB
    prediction = predict(settings(), 1000, sink_bytes_per_s=184 * MIB, ram_budget_bytes=2 * GIB,
                         buffer_bytes=ring, buffer_name="SDK ring")
    deficit = 8 * MIB - 184 * MIB * BSI_READOUT_S
    assert prediction.loss_free_frames == int(ring // deficit) and not prediction.fits
    assert prediction.buffer_bytes == ring and prediction.ram_budget_bytes == 2 * GIB
    assert "SDK ring 376.0 MiB" in str(prediction) and "burst to RAM" not in prediction.remedy
    assert predict(settings(), 1000, sink_bytes_per_s=184 * MIB,
                   ram_budget_bytes=2 * GIB).buffer_name == "RAM budget"
