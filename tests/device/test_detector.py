"""PVCAMDetector on the simulator with a real RunEngine: count, fly, staging, failures, documents."""
from __future__ import annotations

import time

import bluesky.plan_stubs as bps
import bluesky.plans as bp
import bluesky.preprocessors as bpp
import h5py
import numpy as np
import pytest
from bluesky.protocols import WritesStreamAssets
from bluesky.utils import FailedStatus

from ophyd_pvcam import sim
from ophyd_pvcam.engine.errors import AcquisitionError, StallError, ValidationError
from ophyd_pvcam.storage.handler import read_frame_metadata
from ophyd_pvcam.storage.layout import DATA_PATH, UNASSIGNED_DATA_PATH, UNASSIGNED_GROUP


def _frames(path) -> np.ndarray:
    with h5py.File(path, "r", swmr=True) as h5:
        return h5[DATA_PATH][()]


def _of(docs, name):
    return [doc for n, doc in docs if n == name]


# -- construction and description --------------------------------------------------

def test_construction_opens_the_camera_and_settings_read_back(cam):
    assert cam.camera_name.get() == "pvcamUSB_0"
    assert cam.sensor_size.get() == cam.camera.sensor_size
    assert cam.readout_port.get() == cam.camera.readout_port
    assert cam.frames_per_trigger.get() == 1 and cam.asset_docs.get() == "stream"


def test_configuration_carries_what_interprets_a_frame(cam):
    config = cam.read_configuration()
    for key in ("sensor", "readout_port", "speed_name", "gain_name", "bit_depth", "roi",
                "binning", "exposure_time", "speed_index", "gain_index", "camera_name"):
        assert f"cam_{key}" in config, key
    assert config["cam_roi"]["value"] == (0, 0, 64, 32)
    assert config["cam_bit_depth"]["value"] > 0
    assert config["cam_speed_name"]["value"] != ""
    assert "cam_temperature" not in config  # a reading, not configuration


def test_describe_declares_the_image_as_stream_data_and_read_leaves_it_out(cam):
    key = cam.describe()["cam_image"]
    assert key["external"] == "STREAM:"
    assert key["shape"] == [32, 64]
    assert key["dtype_numpy"] == "<u2"
    cam.frames_per_trigger.put(3)
    assert cam.describe()["cam_image"]["shape"] == [3, 32, 64]
    assert "cam_image" not in cam.read()
    assert "cam_frames_lost" in cam.read()


def test_stream_mode_has_get_index_and_legacy_mode_does_not(cam):
    assert isinstance(cam, WritesStreamAssets)
    cam.asset_docs.put("legacy")
    assert not hasattr(cam, "get_index")
    assert not isinstance(cam, WritesStreamAssets)
    assert cam.describe()["cam_image"]["external"] == "FILESTORE:"


# -- count -------------------------------------------------------------------------

@pytest.mark.parametrize("frames_per_trigger", [1, 3, 10])
def test_count_writes_each_point_and_documents_it_with_one_stream_datum(
        cam, RE, docs, stamps, frames_per_trigger):
    cam.frames_per_trigger.put(frames_per_trigger)
    RE(bp.count([cam], 4))
    assert len(_of(docs, "stream_resource")) == 1
    datums = _of(docs, "stream_datum")
    assert [d["indices"] for d in datums] == [{"start": i, "stop": i + 1} for i in range(4)]
    assert len(_of(docs, "event")) == 4
    assert all("cam_image" not in e["data"] for e in _of(docs, "event"))
    shape = _of(docs, "descriptor")[0]["data_keys"]["cam_image"]["shape"]
    assert shape == ([32, 64] if frames_per_trigger == 1 else [frames_per_trigger, 32, 64])
    resource = _of(docs, "stream_resource")[0]
    assert resource["uri"] == f"file://localhost{cam.file_path}"
    frames = _frames(cam.file_path)
    assert frames.shape == (4 * frames_per_trigger, 32, 64)
    # Each trigger is one acquisition: FrameNr restarts at 1 per point.
    assert stamps(frames) == list(range(1, frames_per_trigger + 1)) * 4


def test_trigger_status_reports_progress_to_watchers(cam):
    cam.frames_per_trigger.put(5)
    cam.stage()
    try:
        status = cam.trigger()
        seen: list[dict] = []
        status.watch(lambda **kw: seen.append(kw))
        status.wait(30)
        assert seen[-1]["current"] == 5 and seen[-1]["target"] == 5
        assert seen[-1]["fraction"] == 0.0
        assert all(kw["name"] == "cam" and kw["unit"] == "frames" for kw in seen)
    finally:
        cam.unstage()


def test_trigger_needs_a_staged_detector(cam):
    with pytest.raises(AcquisitionError, match="staged"):
        cam.trigger()


def test_a_trigger_before_the_last_point_was_read_reuses_it(cam):
    cam.stage()
    try:
        first = cam.trigger()
        first.wait(30)
        # What the RunEngine does when it replays from a checkpoint after a pause.
        assert cam.trigger() is first
        cam.read()
        second = cam.trigger()
        assert second is not first
        second.wait(30)
    finally:
        cam.unstage()
    assert _frames(cam.file_path).shape[0] == 2


def test_legacy_count_emits_resource_and_one_datum_per_point(make_detector, RE, docs):
    cam = make_detector(asset_docs="legacy")
    RE(bp.count([cam], 3))
    (resource,) = _of(docs, "resource")
    assert resource["spec"] == "PVCAM_HDF5"
    assert resource["resource_kwargs"] == {"dataset": DATA_PATH}
    datums = _of(docs, "datum")
    assert [d["datum_kwargs"] for d in datums] == [{"point_number": i} for i in range(3)]
    events = _of(docs, "event")
    assert [e["data"]["cam_image"] for e in events] == [d["datum_id"] for d in datums]
    assert all(e["filled"] == {"cam_image": False} for e in events)


def test_legacy_mode_refuses_several_frames_per_point_clearly(make_detector, RE):
    cam = make_detector(asset_docs="legacy")
    cam.frames_per_trigger.put(2)
    with pytest.raises(ValidationError, match="one frame per event"):
        RE(bp.count([cam], 1))
    assert not cam._writer.is_open


# -- staging -----------------------------------------------------------------------

def test_stage_applies_and_unstage_restores_stage_sigs(cam, RE):
    cam.stage_sigs["exposure_time"] = 0.002
    cam.stage_sigs["frames_per_trigger"] = 2
    RE(bp.count([cam], 1))
    assert _frames(cam.file_path).shape[0] == 2
    assert cam.exposure_time.get() == pytest.approx(0.001)
    assert cam.frames_per_trigger.get() == 1


def test_frame_shape_settings_are_refused_while_staged(cam):
    cam.stage()
    try:
        status = cam.roi.set((0, 0, 32, 32))
        with pytest.raises(ValidationError, match="while cam is staged"):
            status.wait(5)
        with pytest.raises(ValidationError):
            cam.asset_docs.put("legacy")
    finally:
        cam.unstage()
    cam.roi.set((0, 0, 32, 32)).wait(5)
    assert cam.roi.get() == (0, 0, 32, 32)


def test_unstage_after_a_failed_trigger_leaves_camera_idle_and_file_closed(cam, RE):
    sim.set_faults("stall_after=2")
    cam.stall_timeout.put(0.2)
    cam.frames_per_trigger.put(5)
    with pytest.raises(FailedStatus) as info:
        RE(bp.count([cam], 1))
    assert isinstance(info.value.__cause__, StallError)
    assert not cam._writer.is_open
    assert not cam.camera.acquiring
    # The frames before the stall are in the file.
    assert _frames(cam.file_path).shape[0] == 2
    sim.set_faults("")
    cam.frames_per_trigger.put(1)
    RE(bp.count([cam], 1))


def _restage(cam, cycles: int) -> None:
    for _ in range(cycles):
        cam.stage()
        cam.unstage()


def test_restaging_works_repeatedly(cam):
    _restage(cam, 20)
    assert not cam._writer.is_open and cam.camera.acquisition_settings() is not None


@pytest.mark.slow
def test_stage_trigger_unstage_works_a_thousand_times_in_a_row(cam, RE):
    for _ in range(1000):
        cam.stage()
        cam.trigger().wait(30)
        cam.unstage()
    assert not cam.camera.acquiring
    RE(bp.count([cam], 2))
    assert _frames(cam.file_path).shape[0] == 2


# -- fly -----------------------------------------------------------------------------

def test_bluesky_fly_fails_before_acquiring_naming_fly_stream(cam, RE, docs):
    with pytest.raises(AcquisitionError) as info:
        RE(bp.fly([cam]))
    message = str(info.value)
    assert "fly_stream" in message and "\n" not in message
    with pytest.raises(AcquisitionError, match="not declared.*fly_stream"):
        RE(bpp.stage_wrapper(bp.fly([cam]), [cam]))
    assert _of(docs, "stream_resource") == []


def test_legacy_mode_works_with_bluesky_fly_when_staged(make_detector, RE, docs):
    cam = make_detector(asset_docs="legacy")
    cam.stream_length.put(12)
    RE(bpp.stage_wrapper(bp.fly([cam]), [cam]))
    assert len(_of(docs, "resource")) == 1
    datums = _of(docs, "datum")
    assert [d["datum_kwargs"]["point_number"] for d in datums] == list(range(12))
    pages = _of(docs, "event_page")
    datum_ids = [i for page in pages for i in page["data"]["cam_image"]]
    assert datum_ids == [d["datum_id"] for d in datums]


def _fly_for(seconds: float, det):
    """A fly of an unbounded stream (stream_length 0) stopped by complete() after a while."""
    @bpp.stage_decorator([det])
    @bpp.run_decorator()
    def inner():
        yield from bps.declare_stream(det, name="primary", collect=True)
        yield from bps.kickoff(det, wait=True)
        yield from bps.sleep(seconds)
        yield from bps.collect_while_completing([det], [det], flush_period=0.1,
                                                stream_name="primary")
    return (yield from inner())


def test_zero_length_stream_runs_until_complete_stops_it(cam, RE, docs, stamps):
    assert cam.stream_length.get() == 0
    RE(_fly_for(0.3, cam))
    frames = _frames(cam.file_path)
    assert frames.shape[0] > 10
    assert stamps(frames) == list(range(1, frames.shape[0] + 1))
    datums = _of(docs, "stream_datum")
    assert datums[-1]["indices"]["stop"] == frames.shape[0]
    assert all(a["indices"]["stop"] == b["indices"]["start"] for a, b in zip(datums, datums[1:]))


def test_kickoff_and_trigger_cannot_be_mixed_in_one_staging(cam):
    cam.stage()
    try:
        cam.trigger().wait(30)
        cam.describe_collect()
        with pytest.raises(AcquisitionError, match="cannot be mixed"):
            cam.kickoff()
    finally:
        cam.unstage()


def test_collect_asset_docs_stops_at_the_given_index(cam):
    cam.stage()
    try:
        cam.describe_collect()
        cam.prepare(20).wait(5)
        cam.kickoff().wait(5)
        cam.complete().wait(30)
        assert cam.get_index() == 20
        first = list(cam.collect_asset_docs(7))
        assert [name for name, _ in first] == ["stream_resource", "stream_datum"]
        assert first[1][1]["indices"] == {"start": 0, "stop": 7}
        rest = list(cam.collect_asset_docs())
        assert [(n, d["indices"]) for n, d in rest] == [("stream_datum", {"start": 7, "stop": 20})]
        assert list(cam.collect_asset_docs()) == []
    finally:
        cam.unstage()


def test_stop_during_a_fly_keeps_the_frames_and_finishes_complete(cam):
    cam.stage()
    try:
        cam.describe_collect()
        cam.kickoff().wait(5)
        time.sleep(0.1)
        status = cam.complete()
        cam.stop()
        status.wait(5)
        assert status.success
        written = cam.acquisition.frames_written
        assert written > 0
        assert cam.get_index() == written
    finally:
        cam.unstage()


def test_pause_stops_a_fly_and_resume_acquires_the_rest(cam):
    cam.exposure_time.put(0.005)
    cam.stage()
    try:
        cam.describe_collect()
        cam.prepare(60).wait(5)
        cam.kickoff().wait(5)
        time.sleep(0.1)
        cam.pause()
        paused_at = cam.acquisition.frames_delivered
        assert 0 < paused_at < 60
        assert not cam.camera.acquiring
        assert cam.get_index() == paused_at      # flushed at the pause
        cam.resume()
        cam.complete().wait(30)
    finally:
        cam.unstage()
    metadata = read_frame_metadata(cam.file_path)
    assert len(metadata["frame_number"]) == 60
    # FrameNr restarts with the new stream after the resume.
    assert list(metadata["frame_number"][:paused_at]) == list(range(1, paused_at + 1))
    assert metadata["frame_number"][paused_at] == 1


# -- frame loss ----------------------------------------------------------------------

def test_lost_frames_are_counted_in_the_signal_the_events_and_the_file(cam, RE, docs):
    sim.set_faults("drop_every=4")
    cam.frames_per_trigger.put(12)
    RE(bp.count([cam], 2))
    events = _of(docs, "event")
    lost = events[-1]["data"]["cam_frames_lost"]
    assert lost > 0
    assert cam.frames_lost.get() == lost
    metadata = read_frame_metadata(cam.file_path)
    assert int(metadata["lost_before"].sum()) == lost
    assert len(metadata["frame_number"]) == 24


def test_follow_runs_names_the_file_after_the_run(cam, RE):
    token = cam.follow_runs(RE)
    try:
        (uid,) = RE(bp.count([cam], 1))
    finally:
        RE.unsubscribe(token)
    assert uid in cam.file_path.name


def test_closed_detector_refuses_to_stage(make_detector):
    cam = make_detector()
    cam.close()
    with pytest.raises(AcquisitionError, match="closed"):
        cam.stage()


def test_two_detectors_fly_together_with_a_common_index(make_detector, RE, docs):
    from ophyd_pvcam.plans import fly_stream

    sim.set_cameras("prime-bsi,kinetix")
    first = make_detector("cam_a", camera_name="pvcamUSB_0")
    second = make_detector("cam_b", camera_name="pvcamUSB_1")
    RE(fly_stream([first, second], 30))
    keys = {d["data_key"] for d in _of(docs, "stream_resource")}
    assert keys == {"cam_a_image", "cam_b_image"}
    for det in (first, second):
        assert _frames(det.file_path).shape[0] == 30


# -- per-frame metadata in the run ---------------------------------------------------

def test_lost_frames_and_frame_numbers_read_back_per_frame_from_the_catalog(cam, tmp_path, stamps):
    from bluesky import RunEngine

    from ophyd_pvcam import catalog
    from ophyd_pvcam.plans import fly_stream

    sim.set_faults("drop_every=4")
    assert cam.record_per_frame() == {f: f"cam_{f}" for f in
                                      ("frame_number", "lost_before", "timestamp_bof",
                                       "timestamp_eof")}
    client = catalog.local(tmp_path / "catalog", readable_storage=[cam.write_path])
    try:
        engine = RunEngine({})
        engine.subscribe(catalog.writer(client))
        (uid,) = engine(fly_stream([cam], 20))
        primary = client[uid].v3["primary"]
        images = primary["cam_image"].read()
        numbers = primary["cam_frame_number"].read()
        lost = primary["cam_lost_before"].read()
        bof = primary["cam_timestamp_bof"].read()
    finally:
        catalog.close(tmp_path / "catalog")
    metadata = read_frame_metadata(cam.file_path)
    assert images.shape[0] == numbers.shape[0] == lost.shape[0] == 20
    assert list(numbers) == stamps(images)
    # FrameNr gaps are the lost frames, recorded on the frame after each gap.
    gaps = np.diff(np.concatenate([[0], numbers])) - 1
    assert lost.sum() > 0 and list(lost) == list(gaps)
    np.testing.assert_array_equal(lost, metadata["lost_before"])
    np.testing.assert_array_equal(bof, metadata["timestamp_bof"])


def test_count_documents_the_per_frame_fields_one_index_per_read(cam, RE, docs):
    cam.record_per_frame(["frame_number", "lost_before"])
    cam.frames_per_trigger.put(2)
    assert cam.describe()["cam_lost_before"]["shape"] == [2]
    assert "cam_lost_before" not in cam.read()
    RE(bp.count([cam], 3))
    keys = {d["uid"]: d["data_key"] for d in _of(docs, "stream_resource")}
    assert sorted(keys.values()) == ["cam_frame_number", "cam_image", "cam_lost_before"]
    descriptor = _of(docs, "descriptor")[0]
    assert descriptor["data_keys"]["cam_frame_number"]["external"] == "STREAM:"
    for key in keys.values():
        indices = [d["indices"] for d in _of(docs, "stream_datum")
                   if keys[d["stream_resource"]] == key]
        assert indices == [{"start": i, "stop": i + 1} for i in range(3)], key


def test_per_frame_fields_cannot_change_while_staged_and_legacy_stays_image_only(make_detector):
    cam = make_detector(asset_docs="legacy")
    cam.record_per_frame()
    assert "cam_lost_before" not in cam.describe()
    cam.stage()
    try:
        with pytest.raises(ValidationError, match="staged"):
            cam.record_per_frame([])
    finally:
        cam.unstage()


# -- every run reads back, whatever ended it ----------------------------------------

def _catalog_images(tmp_path, cam, plan):
    """Run ``plan`` into a fresh local catalog; return (uid, images read back, error)."""
    from bluesky import RunEngine

    from ophyd_pvcam import catalog

    client = catalog.local(tmp_path / "catalog", readable_storage=[cam.write_path])
    try:
        engine = RunEngine({})
        engine.subscribe(catalog.writer(client))
        error = None
        try:
            engine(plan)
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            error = exc
        uid = client.keys()[-1]
        images = client[uid].v3["primary"]["cam_image"].read()
    finally:
        catalog.close(tmp_path / "catalog")
    return uid, images, error


def test_a_count_stalled_mid_point_reads_back_and_keeps_the_point_frames_apart(cam, tmp_path,
                                                                              stamps):
    cam.stall_timeout.put(0.3)
    cam.frames_per_trigger.put(3)

    def plan():
        yield from bps.trigger_and_read([cam])
        sim.set_faults("stall_after=2")     # the next point's stream stalls after 2 frames
        yield from bps.trigger_and_read([cam])

    _, images, error = _catalog_images(
        tmp_path, cam, bpp.stage_wrapper(bpp.run_wrapper(plan()), [cam]))
    assert isinstance(error, FailedStatus)
    assert images.shape == (1, 3, 32, 64)
    assert stamps(images) == [1, 2, 3]
    with h5py.File(cam.file_path, "r") as h5:
        assert h5[DATA_PATH].shape[0] == 3
        assert stamps(h5[UNASSIGNED_DATA_PATH][()]) == [1, 2]
        assert list(h5[f"{UNASSIGNED_GROUP}/frame_number"][()]) == [1, 2]


def test_a_count_stopped_between_trigger_and_read_reads_back(cam, tmp_path, stamps):
    cam.frames_per_trigger.put(3)

    def plan():
        yield from bps.trigger_and_read([cam])
        yield from bps.trigger(cam, wait=True)
        yield from bps.null()
        raise RuntimeError("interrupted between trigger and read")

    _, images, error = _catalog_images(
        tmp_path, cam, bpp.stage_wrapper(bpp.run_wrapper(plan()), [cam]))
    assert isinstance(error, RuntimeError)
    assert images.shape == (1, 3, 32, 64)
    with h5py.File(cam.file_path, "r") as h5:
        assert h5[DATA_PATH].shape[0] == 3
        assert stamps(h5[UNASSIGNED_DATA_PATH][()]) == [1, 2, 3]


# -- write_path, lazy files ----------------------------------------------------------

def test_reassigning_write_path_sends_the_next_staging_files_there(cam, tmp_path):
    cam.write_path = tmp_path / "moved"
    cam.stage()
    try:
        cam.trigger().wait(30)
    finally:
        cam.unstage()
    assert (tmp_path / "moved") in cam.file_path.parents
    assert _frames(cam.file_path).shape[0] == 1


def test_an_empty_write_path_is_refused(make_detector, cam):
    with pytest.raises(ValidationError, match="write_path"):
        make_detector("other", write_path="")
    with pytest.raises(ValidationError, match="write_path"):
        cam.write_path = ""
    cam.stage()
    try:
        with pytest.raises(ValidationError, match="staged"):
            cam.write_path = "/tmp/elsewhere"
    finally:
        cam.unstage()


def test_staging_without_frames_creates_no_file(cam):
    for _ in range(5):
        cam.stage()
        cam.unstage()
    assert not cam.write_path.exists() or not any(
        path.is_file() for path in cam.write_path.rglob("*"))
    cam.stage()
    try:
        assert cam.get_index() == 0
        cam.trigger().wait(30)
        assert cam.get_index() == 1
    finally:
        cam.unstage()
    assert len([p for p in cam.write_path.rglob("*.h5")]) == 1


def test_after_an_unplug_the_detector_reopens_the_camera_once_it_is_back(cam, RE):
    from ophyd_pvcam.engine.errors import CameraRemovedError
    from ophyd_pvcam.sdk.errors import DeviceRemovedError

    cam.exposure_time.set(0.002).wait(5)
    cam.frames_per_trigger.put(4)
    sim.set_faults("unplug_after=2")
    with pytest.raises(FailedStatus) as info:
        RE(bp.count([cam], 1))
    assert isinstance(info.value.__cause__, (CameraRemovedError, DeviceRemovedError))
    sim.set_faults("")                          # the camera is back
    RE(bp.count([cam], 2))
    assert _frames(cam.file_path).shape[0] == 8
    # Settings made through the device before the unplug are back on the reopened camera.
    assert cam.exposure_time.get() == pytest.approx(0.002)
    assert cam.roi.get() == (0, 0, 64, 32)


# -- something to look at during a scan ---------------------------------------------

def test_a_scan_with_best_effort_callback_shows_the_frame_numbers_in_table_and_plots(
        cam, RE, capsys):
    import matplotlib

    matplotlib.use("Agg")
    from bluesky.callbacks.best_effort import BestEffortCallback
    from ophyd.sim import motor

    assert cam.hints == {"fields": ["cam_frame_sum", "cam_frame_mean", "cam_frame_max"]}
    bec = BestEffortCallback()
    token = RE.subscribe(bec)
    try:
        (uid,) = RE(bp.scan([cam], motor, 0, 1, 3))
    finally:
        RE.unsubscribe(token)
    header = next(line for line in capsys.readouterr().out.splitlines() if "seq_num" in line)
    assert "cam_frame_mean" in header and "cam_frame_max" in header
    assert set(bec._live_plots[next(iter(bec._live_plots))]) == {
        "cam_frame_sum", "cam_frame_mean", "cam_frame_max"}


def test_frame_numbers_are_the_points_last_frame_sum_mean_and_max(cam, RE, docs):
    RE(bp.count([cam], 2))
    events = _of(docs, "event")
    frames = _frames(_of(docs, "stream_resource")[0]["uri"].removeprefix("file://localhost"))
    assert len(events) == len(frames) == 2
    for event, frame in zip(events, frames):
        assert event["data"]["cam_frame_sum"] == float(frame.sum())
        assert event["data"]["cam_frame_mean"] == pytest.approx(float(frame.mean()))
        assert event["data"]["cam_frame_max"] == float(frame.max())


def test_a_fly_scans_stream_hints_only_what_it_describes(cam, RE, docs):
    from ophyd_pvcam.plans import fly_stream

    RE(fly_stream([cam], num_frames=5))
    (descriptor,) = [d for d in _of(docs, "descriptor") if "cam_image" in d["data_keys"]]
    assert set(descriptor["hints"]["cam"]["fields"]) <= set(descriptor["data_keys"])


def test_data_keys_carry_units(cam):
    assert cam.describe_configuration()["cam_exposure_time"]["units"] == "s"
    assert cam.describe_configuration()["cam_temperature_setpoint"]["units"] == "degC"
    assert cam.describe()["cam_temperature"]["units"] == "degC"
    assert cam.describe()["cam_frame_mean"]["units"] == "counts"


# -- frame metadata, several regions, smart streaming ---------------------------------

def test_metadata_is_a_setting_on_by_default_and_the_file_gets_each_frames_exposure(cam, RE):
    from ophyd_pvcam.plans import fly_stream

    assert cam.metadata.get() is True
    assert "cam_metadata" in cam.read_configuration()
    RE(fly_stream([cam], 6))
    metadata = read_frame_metadata(cam.file_path)
    assert list(metadata["count_time"]) == pytest.approx([0.001] * 6)
    assert list(metadata["camera_frame_number"]) == list(range(1, 7))
    assert set(metadata["timestamp_resolution"]) == {1_000_000}  # simulated Prime BSI: 1 us ticks
    assert (np.diff(metadata["timestamp_eof_camera"]) > 0).all()
    cam.metadata.put(False)
    RE(fly_stream([cam], 3))
    metadata = read_frame_metadata(cam.file_path)
    assert np.isnan(metadata["count_time"]).all()
    assert list(metadata["camera_frame_number"]) == [0, 0, 0]


def test_smart_streaming_exposures_land_in_the_file_frame_by_frame(cam, RE):
    from ophyd_pvcam.plans import fly_stream

    cam.smart_stream_exposures.put([0.001, 0.002, 0.004])
    assert cam.smart_stream_exposures.get() == (0.001, 0.002, 0.004)
    assert cam.read_configuration()["cam_smart_stream_exposures"]["value"] == (0.001, 0.002,
                                                                              0.004)
    RE(fly_stream([cam], 9))
    exposures = read_frame_metadata(cam.file_path)["count_time"]
    assert list(exposures) == pytest.approx([0.001, 0.002, 0.004] * 3)


def test_a_three_region_fly_reads_back_three_arrays_from_the_catalog(cam, tmp_path):
    from bluesky import RunEngine

    from ophyd_pvcam import catalog
    from ophyd_pvcam.plans import fly_stream

    cam.rois.put([(0, 0, 64, 32), (100, 100, 16, 8), (300, 40, 24, 12)])
    assert cam.rois.get() == ((0, 0, 64, 32), (100, 100, 16, 8), (300, 40, 24, 12))
    assert cam.roi.get() == (0, 0, 64, 32)
    described = cam.describe_collect()
    assert described["cam_image_roi2"]["shape"] == [8, 16]
    assert described["cam_image_roi3"]["shape"] == [12, 24]
    client = catalog.local(tmp_path / "catalog", readable_storage=[cam.write_path])
    try:
        engine = RunEngine({})
        engine.subscribe(catalog.writer(client))
        (uid,) = engine(fly_stream([cam], 12))
        primary = client[uid].v3["primary"]
        images = [primary[key].read() for key in ("cam_image", "cam_image_roi2",
                                                  "cam_image_roi3")]
    finally:
        catalog.close(tmp_path / "catalog")
    assert [a.shape for a in images] == [(12, 32, 64), (12, 8, 16), (12, 12, 24)]
    with h5py.File(cam.file_path, "r") as h5:
        np.testing.assert_array_equal(images[1], h5["/entry/data/roi2"][()])
        np.testing.assert_array_equal(images[2], h5["/entry/data/roi3"][()])
        assert h5["/entry/instrument/pvcam/camera_frame_number"].shape == (12,)
    assert not np.array_equal(images[1][0], images[0][0, :8, :16])  # each region its own pixels


@pytest.mark.parametrize("regions, message", [
    ([(0, 0, 64, 32), (32, 16, 64, 32)], "overlap"),
    ([(0, 0, 64, 32), (2040, 0, 64, 32)], "beyond"),
    ([(i * 10, 0, 8, 8) for i in range(16)], "at most 15"),
])
def test_bad_regions_are_refused_before_anything_starts(cam, regions, message):
    with pytest.raises(ValidationError, match=message):
        cam.rois.put(regions)
    assert cam.rois.get() == ((0, 0, 64, 32),)


def test_a_port_that_takes_one_region_refuses_several(make_detector):
    sim.set_cameras("kinetix")
    cam = make_detector()
    with pytest.raises(ValidationError, match="at most 1"):
        cam.rois.put([(0, 0, 64, 32), (100, 100, 16, 8)])
    cam.readout_port.put("Dynamic Range")
    cam.rois.put([(0, 0, 64, 32), (100, 100, 16, 8)])
    assert len(cam.rois.get()) == 2


def test_several_regions_refuse_legacy_documents_at_stage(make_detector):
    cam = make_detector(asset_docs="legacy")
    cam.rois.put([(0, 0, 64, 32), (100, 100, 16, 8)])
    with pytest.raises(ValidationError, match="asset_docs='stream'"):
        cam.stage()
    cam.rois.put([(0, 0, 64, 32)])   # the refused stage left nothing staged behind
    cam.stage()
    cam.unstage()
