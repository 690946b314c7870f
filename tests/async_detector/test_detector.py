"""The in-process ophyd-async detector: count and fly through a RunEngine into the catalog."""
from __future__ import annotations

import subprocess
import sys

import h5py
import numpy as np
import pytest
from bluesky import plan_stubs as bps
from bluesky import plans as bp
from bluesky import preprocessors as bpp
from bluesky.run_engine import call_in_bluesky_event_loop
from event_model import DocumentNames, schema_validators
from ophyd_async.core import DetectorTrigger, TriggerInfo

from ophyd_pvcam import catalog, sim
from ophyd_pvcam.engine.errors import StallError, ValidationError

# Frames are judged by the simulator's opt-in FrameNr pixel stamp.
pytestmark = pytest.mark.usefixtures("frame_stamp")

HEIGHT, WIDTH = 32, 64


def call(method, *args):
    """Run ``method(*args)`` (a coroutine or status) in the RunEngine's loop; return its result."""
    async def awaited():
        return await method(*args)
    return call_in_bluesky_event_loop(awaited())


class Documents:
    """Every document of the RunEngine, each checked against event_model's schema."""

    def __init__(self) -> None:
        self.items: list[tuple[str, dict]] = []

    def __call__(self, name: str, doc: dict) -> None:
        schema_validators[DocumentNames(name)].validate(doc)
        self.items.append((name, doc))

    def named(self, name: str) -> list[dict]:
        return [doc for kind, doc in self.items if kind == name]


def fly(detector, info: TriggerInfo):
    """prepare(TriggerInfo) -> kickoff -> collect_while_completing, in one run."""
    @bpp.stage_decorator([detector])
    @bpp.run_decorator()
    def inner():
        yield from bps.prepare(detector, info, wait=True)
        yield from bps.declare_stream(detector, name="primary", collect=True)
        yield from bps.kickoff(detector, wait=True)
        yield from bps.collect_while_completing([detector], [detector], flush_period=0.2)
    return (yield from inner())


def causes(error: BaseException) -> list[BaseException]:
    """``error`` and its chain of causes / contexts."""
    chain = []
    while error is not None and error not in chain:
        chain.append(error)
        error = error.__cause__ or error.__context__
    return chain


def test_count_writes_one_file_whose_frames_tiled_reads_back(det, RE, tiled, subscribe):
    documents = Documents()
    subscribe(documents)
    subscribe(catalog.writer(tiled))
    uid = RE(bp.count([det], 3)).run_start_uids[0]
    resource, = documents.named("stream_resource")
    assert resource["data_key"] == "cam" and resource["mimetype"] == "application/x-hdf5"
    assert resource["parameters"]["dataset"] == "/entry/data/data"
    assert [d["indices"] for d in documents.named("stream_datum")] == \
        [{"start": 0, "stop": 1}, {"start": 1, "stop": 2}, {"start": 2, "stop": 3}]
    descriptor, = documents.named("descriptor")
    key = descriptor["data_keys"]["cam"]
    assert key["shape"] == [1, HEIGHT, WIDTH] and key["dtype_numpy"] == "<u2"
    assert key["source"].startswith("PVCAM:")
    assert descriptor["hints"]["cam"]["fields"] == ["cam"]
    assert "cam-exposure_time" in descriptor["configuration"]["cam"]["data"]
    frames = tiled[uid]["primary"]["cam"].read()
    assert frames.shape == (3, 1, HEIGHT, WIDTH) and frames.dtype == np.uint16


def test_fly_of_500_frames_with_trigger_info_reaches_the_catalog_in_order(det, RE, tiled,
                                                                         subscribe):
    documents = Documents()
    subscribe(documents)
    subscribe(catalog.writer(tiled))
    info = TriggerInfo(number_of_events=500, livetime=0.002)
    uid = RE(fly(det, info)).run_start_uids[0]
    assert det.camera.exposure_time == pytest.approx(0.002)
    datums = documents.named("stream_datum")
    assert datums[0]["indices"]["start"] == 0 and datums[-1]["indices"]["stop"] == 500
    assert all(a["indices"]["stop"] == b["indices"]["start"] for a, b in zip(datums, datums[1:]))
    frames = tiled[uid]["primary"]["cam"].read()
    assert frames.shape == (500, 1, HEIGHT, WIDTH)
    # The simulator stamps the frame number in pixel 0: none lost, none repeated.
    assert np.array_equal(frames[:, 0, 0, 0], np.arange(1, 501))
    stop, = documents.named("stop")
    assert stop["exit_status"] == "success"


def test_collections_per_event_groups_frames_into_events(det, RE, tiled, subscribe):
    documents = Documents()
    subscribe(documents)
    subscribe(catalog.writer(tiled))
    info = TriggerInfo(number_of_events=4, collections_per_event=5, livetime=0.001)
    uid = RE(fly(det, info)).run_start_uids[0]
    descriptor, = documents.named("descriptor")
    assert descriptor["data_keys"]["cam"]["shape"] == [5, HEIGHT, WIDTH]
    assert documents.named("stream_datum")[-1]["indices"]["stop"] == 4
    assert tiled[uid]["primary"]["cam"].read().shape == (4, 5, HEIGHT, WIDTH)


def test_a_stall_fails_the_fly_with_the_engines_diagnosis_not_a_timeout(det, RE, subscribe):
    sim.set_faults("stall_after=5")
    documents = Documents()
    subscribe(documents)
    info = TriggerInfo(number_of_events=50, livetime=0.001, exposure_timeout=1.5)
    with pytest.raises(Exception) as raised:
        RE(fly(det, info))
    stall = next(e for e in causes(raised.value) if isinstance(e, StallError))
    assert "stall" in str(stall).lower()
    assert not any(isinstance(e, TimeoutError) for e in causes(raised.value))
    stop, = documents.named("stop")
    assert stop["exit_status"] == "fail"
    # The frames before the stall are in the file, flushed.
    with h5py.File(det.data_logic.path, "r") as handle:
        assert handle["/entry/data/data"].shape[0] == 5
    sim.set_faults("")


def test_exposure_timeout_sets_the_engines_stall_window(det, RE):
    call(det.stage)
    call(det.prepare, TriggerInfo(number_of_events=2, livetime=0.001, exposure_timeout=3.0))
    assert det.acquire_logic.stall_timeout() * det.acquire_logic.stall_count == \
        pytest.approx(0.8 * 3.0)
    assert det.arm_plan.frames == 2


def test_external_edge_and_level_select_the_cameras_exposure_modes(det, RE):
    call(det.stage)
    call(det.trigger_logic.prepare_edge, 3, 0.004)
    assert det.camera.exposure_mode == "edge_rising"
    assert det.camera.exposure_time == pytest.approx(0.004)
    call(det.trigger_logic.prepare_level, 3)
    assert det.camera.exposure_mode == "level"
    assert det._supported_triggers == {DetectorTrigger.INTERNAL, DetectorTrigger.EXTERNAL_EDGE,
                                       DetectorTrigger.EXTERNAL_LEVEL}


def test_an_exposure_mode_the_camera_lacks_is_refused_with_its_modes(make_detector, RE):
    det = make_detector(edge_mode="no_such_mode")
    with pytest.raises(ValidationError, match="offers internal"):
        call(det.trigger_logic.prepare_edge, 1, 0.001)


def test_a_deadtime_the_camera_cannot_keep_is_refused(det, RE):
    with pytest.raises(ValidationError, match="back to back"):
        call(det.trigger_logic.prepare_internal, 2, 0.001, 0.5)
    minimum = det.trigger_logic.get_deadtime(None)
    call(det.trigger_logic.prepare_internal, 2, 0.001, minimum)
    assert det.arm_plan.frames == 2


def test_importing_the_package_loads_no_epics_client():
    code = ("import sys, ophyd_pvcam.async_detector\n"
            "bad = [m for m in sys.modules if m in ('aioca', 'epics', 'ophyd', 'p4p', "
            "'caproto') or m.startswith('ophyd_async.epics')]\n"
            "print(bad)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_a_stall_during_count_fails_the_trigger_and_the_next_count_succeeds(det, RE, subscribe):
    sim.set_faults("stall_after=1")
    call(det.stage)
    with pytest.raises(Exception) as raised:
        call(det.prepare, TriggerInfo(collections_per_event=3, livetime=0.001,
                                      exposure_timeout=1.0))
        call(det.trigger)
    assert any(isinstance(e, StallError) for e in causes(raised.value))
    assert not any(isinstance(e, TimeoutError) for e in causes(raised.value))
    call(det.unstage)
    sim.set_faults("")
    documents = Documents()
    subscribe(documents)
    RE(bp.count([det], 2))
    stop, = documents.named("stop")
    assert stop["exit_status"] == "success"
