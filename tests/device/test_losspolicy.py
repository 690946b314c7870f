"""Frame loss on the detector: the pre-flight budget before a start, and the loss policy during it."""
from __future__ import annotations

import json
import logging
import time

import pytest
from bluesky.plans import count
from bluesky.utils import FailedStatus

from ophyd_pvcam import sim
from ophyd_pvcam.device.losspolicy import (LOSS_POLICIES, PREDICTED_LOSS_POLICIES,
                                           PredictedLossGuard, note_run, predict_run)
from ophyd_pvcam.engine.errors import FramesLostError, PredictedLossError, ValidationError
from ophyd_pvcam.plans import fly_stream
from ophyd_pvcam.storage.handler import read_frame_metadata
from ophyd_pvcam.engine.stream.stats import StreamStats
from ophyd_pvcam.storage.sink import cache_path, filesystem_root, forget_sink_rates, free_disk_bytes

GIB = 1024 ** 3


@pytest.fixture
def slow_sink(monkeypatch):
    """A 100 MB/s sink and a 2 GiB RAM budget: too little for a Prime BSI at full speed."""
    monkeypatch.setenv("PVCAM_SINK_RATE", "100e6")
    monkeypatch.setenv("PVCAM_HOST_MEMORY_BUDGET", "2G")


@pytest.fixture
def full_speed(make_detector):
    """A Prime BSI detector at its rated full-frame speed: 2048 x 2048 at 0 exposure, 46.5 fps."""
    det = make_detector()
    det.roi.set((0, 0, 2048, 2048)).wait()
    det.exposure_time.set(0).wait()
    return det


def _stop(docs):
    (stop,) = [doc for name, doc in docs if name == "stop"]
    return stop


def test_policies_are_the_documented_values():
    assert PREDICTED_LOSS_POLICIES == ("warn", "refuse")
    assert LOSS_POLICIES == ("record", "fail")


def test_settings_default_to_warn_and_record_are_omitted_and_refuse_other_values(cam):
    assert cam.on_predicted_loss.get() == "warn" and cam.on_loss.get() == "record"
    # Policies, not data: outside the configuration, so the EPICS client's documents match.
    assert "cam_on_loss" not in cam.read_configuration()
    assert "cam_on_predicted_loss" not in cam.read_configuration()
    with pytest.raises(ValidationError, match="on_loss must be one of"):
        cam.on_loss.put("ignore")
    with pytest.raises(ValidationError, match="on_predicted_loss must be one of"):
        cam.on_predicted_loss.put("maybe")


def test_prime_bsi_full_frame_at_rated_speed_predicts_the_frames_that_fit(full_speed, slow_sink):
    prediction = full_speed.preflight(1000)
    assert prediction.frame_shape == (2048, 2048)
    assert prediction.frame_rate_hz == pytest.approx(46.5, abs=0.05)
    assert prediction.sink_source == "PVCAM_SINK_RATE"
    assert prediction.ram_budget_bytes == 2 * GIB
    assert not prediction.fits and prediction.loss_free_frames == 344
    assert "loss-free for 344 frames / 7.4 s of the 1000 requested" in str(prediction)
    assert full_speed.preflight(300).fits


def test_refuse_fails_the_kickoff_before_the_camera_moves_with_frames_that_fit(
        full_speed, slow_sink, RE, docs):
    full_speed.on_predicted_loss.put("refuse")
    with pytest.raises(PredictedLossError) as info:
        RE(fly_stream([full_speed], 1000))
    error = info.value
    assert error.call == "kickoff" and error.prediction.loss_free_frames == 344
    assert "loss-free for 344 frames" in str(error) and "remedy:" in str(error)
    assert "at most 344 frames" in str(error)
    assert full_speed.acquisition is None             # no stream was ever started
    assert full_speed.frames_written.get() == 0
    stop = _stop(docs)
    assert stop["exit_status"] == "fail"
    assert stop["reason"].startswith("kickoff failed: cam: predicted loss: loss-free for 344 "
                                     "frames / 7.4 s of the 1000 requested")


def test_refuse_lets_a_run_that_fits_go_ahead(make_detector, RE, docs):
    cam = make_detector()
    cam.on_predicted_loss.put("refuse")
    RE(fly_stream([cam], 20))
    assert _stop(docs)["exit_status"] == "success"
    assert cam.frames_written.get() == 20 and cam.last_prediction.fits


def test_warn_logs_a_predicted_loss_once_per_staging_and_acquires(cam, monkeypatch, caplog):
    # An open-ended fly into a sink of 1 kB/s cannot be kept up with.
    monkeypatch.setenv("PVCAM_SINK_RATE", "1K")
    caplog.set_level(logging.WARNING, logger="ophyd_pvcam.device.losspolicy")
    for _staging in range(2):
        cam.stage()
        try:
            cam.describe_collect()                      # declares the stream
            for _fly in range(2):
                cam.kickoff().wait(10)
                cam.complete().wait(10)
        finally:
            cam.unstage()
    warnings = [r for r in caplog.records if "predicted loss" in r.getMessage()]
    assert len(warnings) == 2                           # one per staging, not per kickoff
    assert "on_predicted_loss='warn'" in warnings[0].getMessage()
    assert cam.last_prediction is not None and not cam.last_prediction.fits


def test_on_loss_fail_fails_a_fly_at_the_first_lost_frame_and_keeps_the_frames(cam, RE, docs):
    sim.set_faults("drop_every=5")
    cam.on_loss.put("fail")
    with pytest.raises(FailedStatus) as info:
        RE(fly_stream([cam], 200))
    error = info.value.__cause__
    assert isinstance(error, FramesLostError)
    assert error.first_lost_frame == 5 and error.frames_lost >= 1
    numbers = list(read_frame_metadata(cam.file_path)["frame_number"])
    assert numbers[:4] == [1, 2, 3, 4] and numbers[4] == 6
    assert error.frames_kept == len(numbers) < 200   # stopped early, every captured frame kept
    assert "the first was FrameNr 5" in str(error)
    stop = _stop(docs)
    assert stop["exit_status"] == "fail"
    assert "FramesLostError" in stop["reason"] and "frame(s) lost" in stop["reason"]


def test_on_loss_fail_fails_a_trigger_that_lost_a_frame(cam, RE):
    sim.set_faults("drop_every=3")
    cam.on_loss.put("fail")
    cam.frames_per_trigger.put(10)
    with pytest.raises(FailedStatus) as info:
        RE(count([cam], 2))
    assert isinstance(info.value.__cause__, FramesLostError)
    assert info.value.__cause__.first_lost_frame == 3


def test_on_loss_record_goes_on_and_the_stop_reason_names_the_loss(cam, RE, docs):
    sim.set_faults("drop_every=5")
    RE(fly_stream([cam], 100))
    stop = _stop(docs)
    lost = cam.frames_lost.get()
    assert lost > 0 and stop["exit_status"] == "success"
    assert stop["reason"] == f"cam: {lost} frame(s) lost, 100 written"


def test_predict_run_reads_the_configured_sink_budget_and_free_disk(cam, tmp_path, monkeypatch):
    monkeypatch.setenv("PVCAM_SINK_RATE", "200M")
    monkeypatch.setenv("PVCAM_HOST_MEMORY_BUDGET", "1G")
    prediction = predict_run(cam.camera.acquisition_settings(), 10, tmp_path / "new")
    assert prediction.sink_bytes_per_s == 200 * 1024 ** 2 and prediction.ram_budget_bytes == GIB
    assert prediction.disk_free_bytes > 0 and free_disk_bytes(tmp_path / "new") > 0
    assert prediction.fits and prediction.num_frames == 10


def test_guard_refuses_or_warns_once_until_reset(full_speed, slow_sink, caplog):
    guard = PredictedLossGuard("cam")
    loss = full_speed.preflight(1000)
    with pytest.raises(PredictedLossError, match="on_predicted_loss='refuse'"):
        guard.check(loss, "refuse", "trigger")
    caplog.set_level(logging.WARNING, logger="ophyd_pvcam.device.losspolicy")
    guard.check(loss, "warn", "trigger")
    guard.check(loss, "warn", "trigger")
    assert len(caplog.records) == 1
    guard.reset()
    guard.check(loss, "warn", "trigger")
    assert len(caplog.records) == 2 and guard.last is loss


@pytest.fixture
def measured_disk(tmp_path, monkeypatch):
    """No configured rate: a 1 TB/s disk known from the cache file of a private data dir."""
    monkeypatch.delenv("PVCAM_SINK_RATE")
    monkeypatch.setenv("PVCAM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PVCAM_HOST_MEMORY_BUDGET", "2G")
    forget_sink_rates()
    cache_path().parent.mkdir(parents=True)
    cache_path().write_text(json.dumps({str(filesystem_root(tmp_path)): {
        "bytes_per_s": 1e12, "measured_at": time.time(), "directory": str(tmp_path)}}))
    yield
    forget_sink_rates()


def test_after_a_run_the_host_fell_behind_in_the_next_is_predicted_with_the_frames_that_fit(
        full_speed, measured_disk):
    assert full_speed.preflight(1000).fits                 # the disk alone keeps up
    # What a full-frame Prime BSI stream delivered on this 2-core machine: 23 of 46.5 fps,
    # the rest overwritten in the SDK's buffer before the host read them.
    frame = 2048 * 2048 * 2
    note_run(full_speed.write_path, StreamStats(frame_bytes=frame, rate_fps=23.0, frames_lost=267,
                                                lost_by_reason={"overwritten": 267}))
    prediction = full_speed.preflight(1000)
    assert prediction.sink_source == "observed" and not prediction.fits
    # Frames were overwritten before the host read them: the SDK's ring of one second
    # (47 frames), not the RAM budget, holds the backlog, and a burst to RAM is no remedy.
    period = 2048 * 10.5e-6
    ring = 47 * frame
    assert prediction.buffer_bytes == ring and prediction.buffer_name == "SDK ring"
    assert prediction.loss_free_frames == int(ring // (frame - 23.0 * frame * period)) == 92
    assert "loss-free for 92 frames / 2.0 s of the 1000 requested" in str(prediction)
    assert "SDK ring 376.0 MiB" in str(prediction)
    assert "burst to RAM" not in prediction.remedy and "at most 92 frames" in prediction.remedy


def test_frames_the_camera_skipped_say_nothing_about_the_host(full_speed, measured_disk):
    note_run(full_speed.write_path, StreamStats(frame_bytes=2048 * 2048 * 2, rate_fps=1.0,
                                                frames_lost=5, lost_by_reason={"gap": 5}))
    prediction = full_speed.preflight(1000)
    assert prediction.sink_source == "cached" and prediction.fits


@pytest.mark.slow
def test_prime_bsi_full_frame_at_rated_speed_loses_nothing_or_the_next_run_is_refused(
        full_speed, measured_disk, RE, docs):
    # The showing, on this machine: a 200-frame full-frame fly at 46.5 fps. Either
    # every frame arrives, or the frames the host could not keep up with make the next
    # prediction a loss, and a refusing detector refuses it before arming.
    RE(fly_stream([full_speed], 200))
    lost = full_speed.frames_lost.get()
    assert full_speed.frames_written.get() == 200
    if lost == 0:
        assert _stop(docs)["reason"] == ""
        return
    assert _stop(docs)["reason"] == f"cam: {lost} frame(s) lost, 200 written"
    prediction = full_speed.preflight(200)
    assert prediction.sink_source == "observed" and not prediction.fits
    assert 0 < prediction.loss_free_frames < 200
    full_speed.on_predicted_loss.put("refuse")
    with pytest.raises(PredictedLossError, match=f"loss-free for {prediction.loss_free_frames} "):
        RE(fly_stream([full_speed], 200))
