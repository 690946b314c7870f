"""The loss policies of RemotePVCAMDetector (``cam1:OnLoss``, ``cam1:OnPredictedLoss``), end to end."""
from __future__ import annotations

import h5py
import pytest
from bluesky import RunEngine
from bluesky import plans as bp
from bluesky.utils import FailedStatus
from ophyd import EpicsSignalRO

from ophyd_pvcam.engine.errors import FramesLostError, PredictedLossError
from ophyd_pvcam.ioc.client import RemoteSettingError
from ophyd_pvcam.plans import report_losses

pytestmark = pytest.mark.ioc


@pytest.fixture
def RE():
    engine = RunEngine({})
    engine.docs = []
    engine.subscribe(lambda name, doc: engine.docs.append((name, doc)))
    return engine


def test_the_policies_default_to_record_and_warn_and_refuse_other_values(det):
    assert det.on_loss.get() == "record" and det.on_predicted_loss.get() == "warn"
    assert det.on_loss.kind.name == "omitted" and det.on_predicted_loss.kind.name == "omitted"
    with pytest.raises(RemoteSettingError, match="'ignore' is not one of 'record', 'fail'"):
        det.on_loss.set("ignore").wait(10)
    with pytest.raises(RemoteSettingError, match="'maybe' is not one of 'warn', 'refuse'"):
        det.on_predicted_loss.set("maybe").wait(10)
    assert det.on_loss.get() == "record" and det.on_predicted_loss.get() == "warn"


def test_on_loss_record_counts_the_lost_frames_and_the_count_succeeds(RE, det):
    det.frames_per_trigger.put(12)
    det.cam.sim_faults.set("drop_every=5").wait(10)
    try:
        RE(bp.count([det], 1))
    finally:
        det.cam.sim_faults.set("").wait(10)
    assert dict(RE.docs)["stop"]["exit_status"] == "success"
    assert det.frames_lost.get() >= 2


def test_on_loss_fail_fails_the_remote_trigger_at_the_first_lost_frame_keeping_its_frames(RE, det):
    RE.preprocessors.append(report_losses)   # as the profile does
    det.on_loss.set("fail").wait(10)
    det.frames_per_trigger.put(200)
    det.cam.sim_faults.set("drop_every=5").wait(10)
    try:
        with pytest.raises(FailedStatus) as info:
            RE(bp.count([det], 1))
    finally:
        det.cam.sim_faults.set("").wait(10)
    error = info.value.__cause__
    assert isinstance(error, FramesLostError)
    assert error.first_lost_frame == 5 and error.frames_lost >= 1
    assert "frame(s) lost (the first was FrameNr 5); on_loss='fail' ended the acquisition" \
        in str(error)
    assert 4 <= error.frames_kept < 200                  # stopped at the loss, not at the end
    stop = dict(RE.docs)["stop"]
    assert stop["exit_status"] == "fail" and "FramesLostError" in stop["reason"]
    assert f"rcam: {error.frames_lost} frame(s) lost, {error.frames_kept} written" \
        in stop["reason"]
    with h5py.File(det.file_path, "r") as handle:      # the frames captured are kept
        numbers = list(handle["/entry/instrument/pvcam/frame_number"][()])
        lost_before = list(handle["/entry/instrument/pvcam/lost_before"][()])
    assert len(numbers) == error.frames_kept
    assert numbers[:5] == [1, 2, 3, 4, 6] and lost_before[:5] == [0, 0, 0, 0, 1]


def test_on_predicted_loss_refuse_refuses_the_remote_trigger_before_the_camera_starts(
        RE, start_ioc):
    from ophyd_pvcam.ioc.client import RemotePVCAMDetector

    # A 1 kB/s sink and a 64 MiB RAM budget hold 8 full frames of a Prime BSI, not 100.
    server = start_ioc("REFUSE:", env={"PVCAM_SINK_RATE": "1K",
                                       "PVCAM_HOST_MEMORY_BUDGET": "64M"})
    det = RemotePVCAMDetector("REFUSE:", name="rcam")
    frames_taken = EpicsSignalRO("REFUSE:cam1:ArrayCounter_RBV", name="frames_taken")
    try:
        det.wait_for_connection(timeout=30)
        frames_taken.wait_for_connection(timeout=30)
        det.on_predicted_loss.set("refuse").wait(10)
        det.frames_per_trigger.put(100)
        counter = frames_taken.get(use_monitor=False)
        with pytest.raises(FailedStatus) as info:
            RE(bp.count([det], 1))
        error = info.value.__cause__
        assert isinstance(error, PredictedLossError)
        assert "predicted loss: loss-free for 8 frames" in str(error)
        assert "of the 100 requested" in str(error) and "on_predicted_loss='refuse'" in str(error)
        assert str(det.cam.detector_state.get(use_monitor=False)) == "Error"
        assert det.frames_written.get() == 0
        assert frames_taken.get(use_monitor=False) == counter   # no frame was taken
        det.roi.set((0, 0, 128, 64)).wait(20)          # small frames fit: acquired
        det.frames_per_trigger.put(4)
        RE(bp.count([det], 1))
        assert dict(RE.docs)["stop"]["exit_status"] == "success"
    finally:
        det.destroy()
    assert "on_predicted_loss='refuse'" in server.output()
