"""fly_stream and replay: frames on the simulator end up in the file and in the catalogs, even on failure."""
from __future__ import annotations

import threading
import time
from typing import Iterator

import bluesky.plans as bp
import numpy as np
import pytest
from bluesky import RunEngine
from bluesky.utils import FailedStatus, RunEngineInterrupted

from ophyd_pvcam import catalog, sim
from ophyd_pvcam.device.detector import PVCAMDetector
from ophyd_pvcam.engine.camera import discovery
from ophyd_pvcam.engine.errors import StallError
from ophyd_pvcam.plans import SUMMARY_STREAM, fly_stream, loss_reason, preflight, report_losses
from ophyd_pvcam.storage.handler import read_frame_metadata

ROI = (0, 0, 64, 32)

# Frames are judged by the FrameNr in the simulator's opt-in pixel stamp.
pytestmark = pytest.mark.usefixtures("frame_stamp")


def stamps(frames: np.ndarray) -> list[int]:
    """The simulator's FrameNr stamps (first 4 bytes of each frame, uint32 LE)."""
    flat = np.ascontiguousarray(frames).reshape(len(frames), -1)
    return [int(row.view(np.uint8)[:4].view("<u4")[0]) for row in flat]


@pytest.fixture(scope="module")
def local_catalog(tmp_path_factory):
    """One embedded Tiled catalog for the module (creating one takes seconds)."""
    path = tmp_path_factory.mktemp("catalog")
    yield path, catalog.local(path)
    catalog.close(path)


@pytest.fixture
def RE(local_catalog) -> Iterator[RunEngine]:
    """A RunEngine writing into the local catalog, plus a document log in ``RE.docs``."""
    _, client = local_catalog
    engine = RunEngine({})
    engine.subscribe(catalog.writer(client))
    engine.docs = []
    engine.subscribe(lambda name, doc: engine.docs.append((name, doc)))
    yield engine


@pytest.fixture
def cam(library, local_catalog) -> Iterator[PVCAMDetector]:
    """A detector writing below the catalog's frames directory."""
    sim.set_cameras("prime-bsi")
    sim.set_faults("")
    path, _ = local_catalog
    det = PVCAMDetector("cam", library=library, write_path=catalog.frames_dir(path))
    det.roi.set(ROI).wait(5)
    det.exposure_time.set(0.001).wait(5)
    yield det
    det.close()
    sim.set_faults("")
    assert not [c for c in discovery.open_cameras.values() if not c.closed]



def _images(local_catalog, uid) -> np.ndarray:
    _, client = local_catalog
    return client[uid].v3["primary"]["cam_image"].read()


def _of(docs, name):
    return [doc for n, doc in docs if n == name]


def test_fly_stream_of_1000_frames_reads_back_from_the_catalog_as_captured(cam, RE, local_catalog):
    (uid,) = RE(fly_stream([cam], 1000))
    images = _images(local_catalog, uid)
    assert images.shape == (1000, 32, 64) and images.dtype == np.uint16
    assert stamps(images) == list(range(1, 1001))
    stop = _of(RE.docs, "stop")[0]
    assert stop["exit_status"] == "success"
    assert stop["num_events"] == {"primary": 1000, SUMMARY_STREAM: 1}
    summary = _of(RE.docs, "event")[-1]["data"]
    assert summary == {"cam_frames_written": 1000, "cam_frames_lost": 0}
    # Documents cover the frames in a few ranges, never one per frame.
    assert len(_of(RE.docs, "stream_datum")) < 100


def test_fly_stream_records_progress_through_the_waiting_hook(cam, RE):
    seen: list[dict] = []

    def hook(statuses):
        for status in statuses or ():
            if hasattr(status, "watch"):
                status.watch(lambda **kw: seen.append(kw))

    RE.waiting_hook = hook
    RE(fly_stream([cam], 200))
    bars = [kw for kw in seen if kw.get("target") == 200]
    assert bars and bars[-1]["current"] == 200 and bars[-1]["fraction"] == 0.0
    currents = [kw["current"] for kw in bars]
    assert currents == sorted(currents)


def test_a_stall_fails_the_plan_and_keeps_the_frames_before_it(cam, RE, local_catalog):
    sim.set_faults("stall_after=5")
    cam.stall_timeout.put(0.3)
    with pytest.raises(FailedStatus) as info:
        RE(fly_stream([cam], 100))
    cause = info.value.__cause__
    assert isinstance(cause, StallError)
    assert "after frame 5" in str(cause) and "0.30 s" in str(cause)
    assert cause.diagnostics
    metadata = read_frame_metadata(cam.file_path)
    assert list(metadata["frame_number"]) == [1, 2, 3, 4, 5]
    (start,) = _of(RE.docs, "start")
    images = _images(local_catalog, start["uid"])
    assert stamps(images) == [1, 2, 3, 4, 5]
    stop = _of(RE.docs, "stop")[0]
    assert stop["exit_status"] == "fail"
    assert "StallError" in stop["reason"]


def test_lost_frames_are_recorded_in_the_file_and_the_summary(cam, RE, local_catalog):
    sim.set_faults("drop_every=5")
    (uid,) = RE(fly_stream([cam], 100))
    summary = _of(RE.docs, "event")[-1]["data"]
    assert summary["cam_frames_lost"] > 0
    metadata = read_frame_metadata(cam.file_path)
    assert int(metadata["lost_before"].sum()) == summary["cam_frames_lost"]
    images = _images(local_catalog, uid)
    assert len(images) == 100
    # The stamps show the gaps the file's lost_before counts.
    numbers = np.array(stamps(images))
    assert int((np.diff(numbers) - 1).sum()) == int(metadata["lost_before"][1:].sum())


def _pause_soon(RE, cam, frames: int = 5, timeout: float = 60.0) -> threading.Thread:
    """Request a pause once ``cam`` delivered ``frames`` frames (not after a fixed delay:
    on a loaded machine the first frames may come late)."""
    def pause():
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            acquisition = getattr(cam, "acquisition", None)
            if acquisition is not None and acquisition.frames_delivered >= frames:
                break
            time.sleep(0.01)
        RE.request_pause()
    thread = threading.Thread(target=pause, name="test-pauser")
    thread.start()
    return thread


def test_pause_and_resume_mid_fly_keep_every_frame_in_one_run(cam, RE, local_catalog):
    cam.exposure_time.put(0.005)
    pauser = _pause_soon(RE, cam)
    with pytest.raises(RunEngineInterrupted):
        RE(fly_stream([cam], 150))
    pauser.join()
    paused_at = cam.acquisition.frames_delivered
    assert 0 < paused_at < 150 and not cam.camera.acquiring
    RE.resume()
    (start,) = _of(RE.docs, "start")
    images = _images(local_catalog, start["uid"])
    assert len(images) == 150
    numbers = stamps(images)
    assert numbers[:paused_at] == list(range(1, paused_at + 1))
    assert numbers[paused_at:] == list(range(1, 150 - paused_at + 1))
    assert _of(RE.docs, "stop")[0]["exit_status"] == "success"


def test_abort_mid_fly_registers_the_frames_captured_and_closes_the_file(cam, RE, local_catalog):
    cam.exposure_time.put(0.005)
    pauser = _pause_soon(RE, cam)
    with pytest.raises(RunEngineInterrupted):
        RE(fly_stream([cam], 500))
    pauser.join()
    RE.abort()
    stop = _of(RE.docs, "stop")[0]
    assert stop["exit_status"] == "abort"
    captured = cam.acquisition.frames_delivered
    assert stop["num_events"]["primary"] == captured
    images = _images(local_catalog, stop["run_start"])
    assert stamps(images) == list(range(1, captured + 1))
    assert not cam._writer.is_open and not cam.camera.acquiring


def test_halt_mid_fly_ends_quietly_and_leaves_the_detector_ready(cam, RE, local_catalog):
    cam.exposure_time.put(0.005)
    pauser = _pause_soon(RE, cam)
    with pytest.raises(RunEngineInterrupted):
        RE(fly_stream([cam], 500))
    pauser.join()
    RE.halt()                      # no "generator ignored GeneratorExit" at the user
    assert RE.state == "idle"
    stop = _of(RE.docs, "stop")[0]
    assert stop["exit_status"] == "abort"
    assert not cam._writer.is_open and not cam.camera.acquiring
    RE.docs.clear()
    RE(fly_stream([cam], 5))       # the detector is ready for the next run
    assert _of(RE.docs, "stop")[0]["exit_status"] == "success"


def test_count_with_several_frames_per_point_reads_back_per_point(cam, RE, local_catalog):
    cam.frames_per_trigger.put(3)
    (uid,) = RE(bp.count([cam], 4))
    images = _images(local_catalog, uid)
    assert images.shape == (4, 3, 32, 64)
    assert [stamps(point) for point in images] == [[1, 2, 3]] * 4


def test_legacy_mode_replays_from_databroker_temp_through_the_handler(library, tmp_path):
    import databroker

    sim.set_cameras("prime-bsi")
    db = databroker.temp()
    RE = RunEngine({})
    RE.subscribe(db.insert)
    cam = PVCAMDetector("cam", library=library, write_path=tmp_path, asset_docs="legacy")
    try:
        cam.roi.set(ROI).wait(5)
        cam.exposure_time.set(0.001).wait(5)
        RE(bp.count([cam], 5))
        images = np.stack(list(db[-1].data("cam_image")))
        assert images.shape == (5, 32, 64)
        assert stamps(images) == [1] * 5          # one single-frame acquisition per point
        cam.stream_length.put(25)
        RE(fly_stream([cam]))
        images = np.stack(list(db[-1].data("cam_image", stream_name="primary")))
        assert stamps(images) == list(range(1, 26))
    finally:
        cam.close()


def test_legacy_fly_reads_back_from_the_tiled_catalog(cam, RE, local_catalog):
    cam.asset_docs.put("legacy")
    (uid,) = RE(fly_stream([cam], 40))
    assert stamps(_images(local_catalog, uid)) == list(range(1, 41))


def test_pause_and_resume_mid_count_keep_points_and_frames_aligned(cam, RE, local_catalog):
    cam.exposure_time.put(0.005)
    cam.frames_per_trigger.put(20)
    pauser = _pause_soon(RE, cam)
    with pytest.raises(RunEngineInterrupted):
        RE(bp.count([cam], 5))
    pauser.join()
    RE.resume()
    (start,) = _of(RE.docs, "start")
    images = _images(local_catalog, start["uid"])
    assert images.shape == (5, 20, 32, 64)
    # The trigger replayed after the pause reused the point it interrupted:
    # no orphan frames, every point is one whole acquisition.
    assert [stamps(point) for point in images] == [list(range(1, 21))] * 5
    metadata = read_frame_metadata(cam.file_path)
    assert len(metadata["frame_number"]) == 100


# -- loss reporting and the pre-flight stub ---------------------------------------------

def test_report_losses_names_the_loss_of_a_count_in_the_stop_reason(cam, RE):
    sim.set_faults("drop_every=4")
    cam.frames_per_trigger.put(10)
    RE(report_losses(bp.count([cam], 2)))          # detectors found in the plan's messages
    stop = _of(RE.docs, "stop")[0]
    lost = cam.frames_lost.get()
    assert lost > 0 and stop["exit_status"] == "success"
    assert stop["reason"] == f"cam: {lost} frame(s) lost, 20 written"


def test_report_losses_applied_twice_names_each_loss_once(cam, RE):
    sim.set_faults("drop_every=5")
    RE.preprocessors.append(report_losses)
    RE(fly_stream([cam], 50))                      # fly_stream reports too
    reason = _of(RE.docs, "stop")[0]["reason"]
    assert reason.count("frame(s) lost") == 1


def test_report_losses_leaves_a_loss_free_run_without_a_reason(cam, RE):
    RE(report_losses(bp.count([cam], 2), [cam]))
    stop = _of(RE.docs, "stop")[0]
    assert stop["exit_status"] == "success" and stop["reason"] == ""


def test_a_failure_keeps_its_reason_and_gets_the_loss_appended(cam, RE):
    sim.set_faults("drop_every=3,stall_after=8")
    cam.stall_timeout.put(0.3)
    with pytest.raises(FailedStatus):
        RE(fly_stream([cam], 100))
    reason = _of(RE.docs, "stop")[0]["reason"]
    assert "StallError" in reason and reason.endswith(
        f"; cam: {cam.frames_lost.get()} frame(s) lost, {cam.frames_written.get()} written")


def test_loss_reason_is_empty_without_losses_and_skips_devices_without_counts(cam):
    assert loss_reason([cam, object()]) == ""
    cam.frames_lost.put(3)
    assert loss_reason([cam]) == "cam: 3 frame(s) lost, 0 written"


def test_preflight_plan_returns_the_prediction_and_announces_it(cam, RE):
    announced, results = [], []

    def plan():
        results.append((yield from preflight(cam, 10, announce=announced.append)))

    RE(plan())
    (prediction,) = results
    assert prediction.fits and prediction.num_frames == 10
    assert announced == [f"cam: {prediction}"]
