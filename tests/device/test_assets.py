"""AssetDetectorMixin's own bookkeeping, through the real PVCAMDetector on the simulator."""
from __future__ import annotations

import pytest

from ophyd_pvcam.engine.errors import ValidationError


def _fly(cam, frames=None) -> None:
    """Declare, (prepare,) kick off and complete one fly of a staged detector."""
    cam.describe_collect()
    if frames is not None:
        cam.prepare(frames).wait(5)
    cam.kickoff().wait(5)
    cam.complete().wait(30)


def test_a_step_scan_documents_only_the_points_that_were_read(cam):
    cam.stage()
    try:
        cam.trigger().wait(30)
        assert cam.get_index() == 1
        # Triggered but not read: the point is not an event yet, so nothing to document.
        assert list(cam.collect_asset_docs()) == []
        cam.read()
        documents = list(cam.collect_asset_docs())
        assert [name for name, _ in documents] == ["stream_resource", "stream_datum"]
        assert documents[1][1]["indices"] == {"start": 0, "stop": 1}
    finally:
        cam.unstage()


def test_a_prepared_fly_length_overrides_stream_length_for_one_staging_only(cam):
    cam.stream_length.put(2)
    cam.stage()
    try:
        _fly(cam, 3)
        assert cam.get_index() == 3
    finally:
        cam.unstage()
    cam.stage()
    try:
        _fly(cam)
        assert cam.get_index() == 2
    finally:
        cam.unstage()


def test_prepare_fails_its_status_for_a_negative_length(cam):
    status = cam.prepare(-1)
    with pytest.raises(ValidationError):
        status.wait(5)


def test_staging_again_resets_the_mode_and_the_frame_counters(cam):
    cam.stage()
    try:
        cam.trigger().wait(30)
        cam.read()
        assert cam.frames_written.get() == 1
    finally:
        cam.unstage()
    assert cam.get_index() == 0  # unstaged: no events to document
    cam.stage()
    try:
        assert cam.frames_written.get() == 0 and cam.frames_lost.get() == 0
        # The last staging was a step scan; this one may fly.
        _fly(cam, 1)
        assert cam.get_index() == 1
    finally:
        cam.unstage()


def test_following_runs_a_count_of_several_frames_per_trigger_works_run_after_run(cam, RE, docs):
    import bluesky.plans as bp

    cam.frames_per_trigger.put(3)
    token = cam.follow_runs(RE)
    try:
        uids = [RE(bp.count([cam], 2))[0] for _ in range(2)]
        assert uids[1] in cam.file_path.name
    finally:
        RE.unsubscribe(token)
    datums = [doc["indices"] for name, doc in docs if name == "stream_datum"]
    assert datums == [{"start": 0, "stop": 1}, {"start": 1, "stop": 2}] * 2


def test_unstage_leaves_the_device_ready_when_another_callback_failed_on_stop(cam):
    import bluesky.plans as bp
    from bluesky import RunEngine

    engine = RunEngine({})

    def fails_on_stop(name, doc):
        if name == "stop":
            raise RuntimeError("a broken callback")

    engine.subscribe(fails_on_stop)       # before the detector's: it hides the stop from it
    cam.follow_runs(engine)
    with pytest.raises(RuntimeError, match="broken callback"):
        engine(bp.count([cam], 1))
    first = cam.file_path
    with pytest.raises(RuntimeError, match="broken callback"):
        engine(bp.count([cam], 1))       # stages and writes a new file, not FileExistsError
    assert cam.file_path != first and cam.file_path.exists()
