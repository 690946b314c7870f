"""The server against ophyd-async's stock areaDetector classes (SimDetector, KinetixDetector).

ophyd-async's ``SimDetector`` (``ADBaseIO`` + ``NDFileHDF5IO`` through
``ADWriterFactory.hdf``) and ``KinetixDetector`` connect to the server
unmodified, count, and fly 1,000 frames prepared with ``TriggerInfo``; every
document passes event_model's schema and Tiled reads the frames back. Each
test uses a small ROI (128 x 64) so a 1,000-frame fly is quick.

ophyd-async talks Channel Access through aioca (libca), in the same process
as the loopback environment tests/ioc/conftest.py sets up.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from bluesky import RunEngine
from bluesky import plan_stubs as bps
from bluesky import plans as bp
from bluesky import preprocessors as bpp
from bluesky.run_engine import call_in_bluesky_event_loop
from event_model import DocumentNames, schema_validators
from ophyd_async.core import (
    StaticPathProvider,
    TriggerInfo,
    UUIDFilenameProvider,
    init_devices,
)
from ophyd_async.epics.adcore import ADWriterFactory
from ophyd_async.epics.adkinetix import KinetixDetector, KinetixTriggerMode
from ophyd_async.epics.adsimdetector import SimDetector
from ophyd_async.epics.core import epics_signal_r, epics_signal_rw

from ophyd_pvcam import catalog



pytestmark = pytest.mark.ioc

WIDTH, HEIGHT = 128, 64
FLY_FRAMES = 1000
KINETIX_PREFIX = "PVK:"
PREFIX = "PVT:"   # the session server of conftest.py


def run(coroutine: Any) -> Any:
    """Run a coroutine in the RunEngine's loop (where ophyd-async's signals live)."""
    return call_in_bluesky_event_loop(coroutine)


async def _small_roi(prefix: str, exposure: float) -> None:
    for name, value in (("MinX", 0), ("MinY", 0), ("SizeX", WIDTH), ("SizeY", HEIGHT),
                        ("BinX", 1), ("BinY", 1)):
        signal = epics_signal_rw(int, f"{prefix}cam1:{name}")
        await signal.connect()
        await signal.set(value)
    signal = epics_signal_rw(float, f"{prefix}cam1:AcquireTime")
    await signal.connect()
    await signal.set(exposure)


def make_detector(cls: type, prefix: str, directory: Path, name: str) -> Any:
    """The stock detector with ophyd-async's stock HDF5 writer, connected."""
    directory.mkdir(parents=True, exist_ok=True)
    path_provider = StaticPathProvider(UUIDFilenameProvider(), directory)
    with init_devices(connect=True, timeout=30):
        detector = cls(prefix, ADWriterFactory.hdf(path_provider), name=name)
    return detector


class Documents:
    """Every document the RunEngine emits, each checked against event_model's schema."""

    def __init__(self) -> None:
        self.items: list[tuple[str, dict]] = []

    def __call__(self, name: str, doc: dict) -> None:
        schema_validators[DocumentNames(name)].validate(doc)
        self.items.append((name, doc))

    def named(self, name: str) -> list[dict]:
        return [doc for kind, doc in self.items if kind == name]


def fly(detector: Any, info: TriggerInfo) -> Any:
    """prepare(TriggerInfo) -> kickoff -> collect_while_completing, in one run."""
    @bpp.stage_decorator([detector])
    @bpp.run_decorator()
    def inner() -> Any:
        yield from bps.prepare(detector, info, wait=True)
        yield from bps.declare_stream(detector, name="primary", collect=True)
        yield from bps.kickoff(detector, wait=True)
        yield from bps.collect_while_completing([detector], [detector], flush_period=0.5)
    return (yield from inner())


@pytest.fixture
def RE() -> Any:
    engine = RunEngine({}, call_returns_result=True)
    yield engine


@pytest.fixture
def tiled(tmp_path: Path, ioc_root: Path) -> Any:
    """The embedded catalog, allowed to serve the session server's files."""
    client = catalog.local(tmp_path / "catalog", readable_storage=[ioc_root])
    yield client
    catalog.close(tmp_path / "catalog")


@pytest.fixture
def sim_detector(ioc: Any, ioc_root: Path, RE: Any) -> Any:
    run(_small_roi(PREFIX, 0.001))
    return make_detector(SimDetector, PREFIX, ioc_root / "async-sim", "simdet")


@pytest.fixture
def kinetix(start_ioc: Any, RE: Any) -> Any:
    process = start_ioc(KINETIX_PREFIX, cameras="kinetix")
    root = Path(process.process.args[process.process.args.index("--write-root") + 1])
    run(_small_roi(KINETIX_PREFIX, 0.001))
    detector = make_detector(KinetixDetector, KINETIX_PREFIX, root / "async-kinetix", "kinetix")
    return detector, root


def test_stock_sim_detector_counts_three_frames_that_tiled_reads_back(sim_detector, RE, tiled):
    documents = Documents()
    RE.subscribe(documents)
    RE.subscribe(catalog.writer(tiled))
    result = RE(bp.count([sim_detector], 3))
    uid = result.run_start_uids[0]
    resources = documents.named("stream_resource")
    assert [r["data_key"] for r in resources] == ["simdet"]
    assert resources[0]["mimetype"] == "application/x-hdf5"
    assert [d["indices"] for d in documents.named("stream_datum")] == \
        [{"start": 0, "stop": 1}, {"start": 1, "stop": 2}, {"start": 2, "stop": 3}]
    descriptor, = documents.named("descriptor")
    assert descriptor["data_keys"]["simdet"]["shape"] == [1, HEIGHT, WIDTH]
    assert descriptor["data_keys"]["simdet"]["dtype_numpy"] == "<u2"
    frames = tiled[uid]["primary"]["simdet"].read()
    assert frames.shape == (3, 1, HEIGHT, WIDTH)
    assert frames.dtype == np.uint16


@pytest.mark.slow
def test_stock_sim_detector_flies_1000_frames_with_trigger_info(sim_detector, RE, tiled):
    documents = Documents()
    RE.subscribe(documents)
    RE.subscribe(catalog.writer(tiled))
    result = RE(fly(sim_detector, TriggerInfo(number_of_events=FLY_FRAMES, livetime=0.001)))
    uid = result.run_start_uids[0]
    datums = documents.named("stream_datum")
    assert datums[0]["indices"]["start"] == 0
    assert datums[-1]["indices"]["stop"] == FLY_FRAMES
    # Consecutive, non-overlapping ranges: every frame is referenced once.
    assert all(a["indices"]["stop"] == b["indices"]["start"] for a, b in zip(datums, datums[1:]))
    resource, = documents.named("stream_resource")
    path = resource["uri"].removeprefix("file://localhost")
    with h5py.File(path, "r") as handle:
        assert handle["/entry/data/data"].shape == (FLY_FRAMES, HEIGHT, WIDTH)
    frames = tiled[uid]["primary"]["simdet"].read()
    assert frames.shape == (FLY_FRAMES, 1, HEIGHT, WIDTH)
    # Frames keep their order: the simulator stamps the frame number in pixel 0.
    assert [int(v) for v in frames[:5, 0, 0, 0]] == [1, 2, 3, 4, 5]
    assert int(frames[-1, 0, 0, 0]) == FLY_FRAMES


def test_num_captured_counts_frames_in_the_file_and_flush_now_makes_them_readable(
        sim_detector, RE):
    hdf = sim_detector.hdf

    async def scenario() -> tuple[int, int]:
        await sim_detector.stage()
        await sim_detector.prepare(TriggerInfo(number_of_events=20, livetime=0.001))
        await sim_detector.kickoff()
        await sim_detector.complete()
        captured = await hdf.num_captured.get_value()
        await hdf.flush_now.set(True)
        name = await hdf.full_file_name.get_value()
        with h5py.File(name, "r", swmr=True) as handle:
            readable = handle["/entry/data/data"].shape[0]
        await sim_detector.unstage()
        return captured, readable

    captured, readable = run(scenario())
    assert captured == 20
    assert readable == 20


def test_hdf5_switches_ophyd_async_sets_are_held_and_others_refused(sim_detector, RE):
    hdf = sim_detector.hdf

    async def scenario() -> dict[str, Any]:
        message = epics_signal_r(str, f"{PREFIX}HDF1:WriteMessage")
        await message.connect()
        seen: dict[str, Any] = {}
        for signal, held, other in ((hdf.swmr_mode, True, False), (hdf.lazy_open, True, False),
                                    (hdf.position_mode, False, True),
                                    (hdf.chunk_size_auto, True, False)):
            await signal.set(held)
            await signal.set(other)
            seen[signal.name] = (await signal.get_value(), await message.get_value())
        await hdf.xml_file_name.set("layout.xml")
        seen["xml"] = (await hdf.xml_file_name.get_value(), await message.get_value())
        await hdf.queue_size.set(17)
        seen["queue"] = await hdf.queue_size.get_value()
        await hdf.queue_size.set(256)
        return seen

    seen = run(scenario())
    assert seen["simdet-hdf-swmr_mode"][0] is True
    assert "SWMR" in seen["simdet-hdf-swmr_mode"][1]
    assert seen["simdet-hdf-lazy_open"][0] is True
    assert seen["simdet-hdf-position_mode"][0] is False
    assert "arrival order" in seen["simdet-hdf-position_mode"][1]
    assert seen["simdet-hdf-chunk_size_auto"][0] is True
    assert seen["xml"][0] == "" and "XMLFileName refused" in seen["xml"][1]
    assert seen["queue"] == 17


@pytest.mark.slow
def test_stock_kinetix_detector_counts_and_flies_1000_frames(kinetix, RE, tmp_path):
    detector, root = kinetix
    client = catalog.local(tmp_path / "kcatalog", readable_storage=[root])
    try:
        documents = Documents()
        RE.subscribe(documents)
        RE.subscribe(catalog.writer(client))
        count_uid = RE(bp.count([detector], 2)).run_start_uids[0]
        assert run(detector.driver.trigger_mode.get_value()) == KinetixTriggerMode.INTERNAL
        assert client[count_uid]["primary"]["kinetix"].read().shape == (2, 1, HEIGHT, WIDTH)
        fly_uid = RE(fly(detector, TriggerInfo(number_of_events=FLY_FRAMES,
                                               livetime=0.001))).run_start_uids[0]
        frames = client[fly_uid]["primary"]["kinetix"].read()
        assert frames.shape == (FLY_FRAMES, 1, HEIGHT, WIDTH)
        assert int(frames[-1, 0, 0, 0]) == FLY_FRAMES
        assert len(documents.named("stop")) == 2
        assert all(stop["exit_status"] == "success" for stop in documents.named("stop"))
    finally:
        catalog.close(tmp_path / "kcatalog")


def test_kinetix_trigger_mode_and_readout_port_map_onto_the_camera(kinetix, RE):
    detector, _ = kinetix
    driver = detector.driver

    async def scenario() -> dict[str, Any]:
        exposure_mode = epics_signal_r(str, f"{KINETIX_PREFIX}cam1:ExposureMode_RBV")
        port = epics_signal_r(str, f"{KINETIX_PREFIX}cam1:ReadoutPort_RBV")
        ports = epics_signal_r(int, f"{KINETIX_PREFIX}cam1:NumPorts_RBV")
        for signal in (exposure_mode, port, ports):
            await signal.connect()
        seen = {}
        await driver.trigger_mode.set(KinetixTriggerMode.EDGE)
        seen["edge"] = await exposure_mode.get_value()
        await driver.trigger_mode.set(KinetixTriggerMode.GATE)
        seen["gate"] = await exposure_mode.get_value()
        await driver.trigger_mode.set(KinetixTriggerMode.INTERNAL)
        seen["internal"] = await exposure_mode.get_value()
        seen["ports"] = await ports.get_value()
        await driver.readout_port_idx.set("2")
        seen["port2"] = await port.get_value()
        await driver.readout_port_idx.set("1")
        seen["port1"] = await port.get_value()
        return seen

    seen = run(scenario())
    assert (seen["edge"], seen["gate"], seen["internal"]) == ("Edge rising", "Level", "Internal")
    assert seen["ports"] >= 2
    assert seen["port2"] != seen["port1"]
