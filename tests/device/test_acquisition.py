"""Acquisition on the simulator: ring sizing, status after the flush, stalls, losses, cancel."""
from __future__ import annotations

from typing import Callable, Iterator

import pytest
from ophyd import Device

from ophyd_pvcam import sim
from ophyd_pvcam.device.acquisition import Acquisition
from ophyd_pvcam.device.streams import (
    RING_HEADROOM_FRAMES,
    RING_HEADROOM_S,
    fitted_ring_frames,
    stream_factory,
)
from ophyd_pvcam.device.status import FrameProgressStatus
from ophyd_pvcam.device.writer import AssetWriter
from ophyd_pvcam.engine.stream.buffers import plan_buffer_frames
from ophyd_pvcam.engine.camera.camera import Camera
from ophyd_pvcam.engine.errors import AcquisitionError, StallError
from ophyd_pvcam.engine.stream.stream import StreamState
from ophyd_pvcam.storage.handler import read_frame_metadata

FRAME_512 = 512 * 512 * 2


# -- fitted_ring_frames ---------------------------------------------------------------

def test_fitted_ring_is_the_frames_plus_the_frame_floor_at_slow_rates():
    # 50 ms per frame: RING_HEADROOM_S is fewer frames than the floor.
    assert RING_HEADROOM_S / 0.05 < RING_HEADROOM_FRAMES
    assert fitted_ring_frames(1, FRAME_512, 0.05) == 1 + RING_HEADROOM_FRAMES
    assert fitted_ring_frames(10, FRAME_512, 0.05) == 10 + RING_HEADROOM_FRAMES


def test_fitted_ring_headroom_covers_the_headroom_time_at_fast_rates():
    assert fitted_ring_frames(10, 8192, 0.001, headroom_s=0.05) == 10 + 50
    # 7.4 ms per frame (512 x 512 on a Prime BSI): 250 ms is 34 frames.
    assert fitted_ring_frames(1, FRAME_512, 0.0074, headroom_s=0.25) == 1 + 34


def test_fitted_ring_defers_to_the_default_when_unbounded_or_not_smaller():
    assert fitted_ring_frames(None, FRAME_512, 0.0074) is None
    assert fitted_ring_frames(0, FRAME_512, 0.0074) is None
    default = plan_buffer_frames(FRAME_512, 0.05)         # 1 s: 20 frames
    assert fitted_ring_frames(default, FRAME_512, 0.05) is None
    assert fitted_ring_frames(default - RING_HEADROOM_FRAMES - 1, FRAME_512, 0.05) == default - 1


def test_fitted_ring_defers_to_the_stream_when_no_ring_can_hold_a_frame():
    assert fitted_ring_frames(1, 2**31, 0.1) is None


# -- stream_factory -------------------------------------------------------------------

@pytest.fixture
def camera(library) -> Iterator[Camera]:
    """The simulated Prime BSI, 64 x 32 pixels, 1 ms exposure."""
    with Camera.open(library=library) as cam:
        cam.roi = (0, 0, 64, 32)
        cam.exposure_time = 0.001
        yield cam


def _ring_of(factory, max_frames) -> int:
    stream = factory(max_frames)
    stream.start()
    try:
        stream.wait(30)
    finally:
        stream.stop()
    return stream.stats().buffer_frames


def test_stream_factory_sizes_a_bounded_streams_ring_to_its_frames(camera):
    settings = camera.acquisition_settings()
    expected = fitted_ring_frames(3, settings.frame_bytes, settings.frame_period_s)
    default = plan_buffer_frames(settings.frame_bytes, settings.frame_period_s)
    assert expected is not None and expected < default
    assert _ring_of(stream_factory(camera), 3) == expected
    assert _ring_of(stream_factory(camera, fit_buffer=False), 3) == default


def test_stream_factory_keeps_the_default_ring_for_unbounded_streams(camera):
    settings = camera.acquisition_settings()
    stream = stream_factory(camera)(None)
    stream.start()
    try:
        assert stream.stats().buffer_frames == plan_buffer_frames(settings.frame_bytes,
                                                                  settings.frame_period_s)
    finally:
        stream.stop()
    assert stream.state is StreamState.STOPPED


# -- Acquisition ------------------------------------------------------------------------

@pytest.fixture
def writer(camera, tmp_path) -> Iterator[AssetWriter]:
    """An open file for the camera's frames."""
    settings = camera.acquisition_settings()
    asset_writer = AssetWriter("cam", "cam_image", tmp_path, flush_interval=5.0)
    asset_writer.open(settings.frame_shape, settings.dtype)
    yield asset_writer
    asset_writer.close()


@pytest.fixture
def start(camera, writer) -> Iterator[Callable[..., Acquisition]]:
    """``start(target, **stream_options)``: a started Acquisition, joined at the end."""
    started: list[Acquisition] = []

    def make(target, *, finish_before_stop=True, on_lost=None, **options) -> Acquisition:
        status = FrameProgressStatus(Device(name="cam"), target, call_stop_on_failure=False)
        acquisition = Acquisition("cam", stream_factory(camera, **options), writer, status,
                                  target=target, on_lost=on_lost)
        acquisition.finish_before_stop = finish_before_stop
        started.append(acquisition)
        acquisition.start()
        return acquisition

    yield make
    for acquisition in started:
        acquisition.cancel("test over", fail=False)
        acquisition.join(30)


def _written_when_done(status: FrameProgressStatus, writer: AssetWriter) -> list[int]:
    seen: list[int] = []
    status.add_callback(lambda _status: seen.append(writer.frames_written))
    return seen


@pytest.mark.parametrize("finish_before_stop", [True, False])
def test_status_finishes_once_every_frame_is_flushed_and_join_leaves_the_camera_idle(
        start, writer, camera, finish_before_stop):
    # flush_interval is 5 s: only the acquisition's own flush can put the frames in the file.
    acquisition = start(4, finish_before_stop=finish_before_stop)
    seen = _written_when_done(acquisition.status, writer)
    acquisition.status.wait(30)
    acquisition.join(30)
    assert seen == [4]
    assert acquisition.frames_written == 4 and acquisition.frames_delivered == 4
    assert acquisition.stream.state is StreamState.COMPLETE
    assert len(acquisition.stream_stats) == 1
    assert not camera.acquiring


def test_finishing_after_the_stop_sees_the_stream_ended_when_the_status_finishes(start):
    acquisition = start(3, finish_before_stop=False)
    states: list[StreamState] = []
    acquisition.status.add_callback(lambda _status: states.append(acquisition.stream.state))
    acquisition.status.wait(30)
    assert states == [StreamState.COMPLETE]


def test_a_stalled_camera_fails_the_status_with_the_stall_diagnosis(start, writer, camera):
    sim.set_faults("stall_after=2")
    acquisition = start(5, stall_timeout=0.1, stall_count=3)
    with pytest.raises(StallError) as info:
        acquisition.status.wait(30)
    diagnostics = info.value.diagnostics
    assert diagnostics["last_frame_number"] == 2
    assert diagnostics["stall_timeout"] == pytest.approx(0.1)
    assert diagnostics["stall_count"] == 3
    assert "pvcamUSB_0" in str(info.value)
    acquisition.join(30)
    assert writer.frames_written == 2       # the frames before the stall are kept
    assert not camera.acquiring


def test_lost_frames_reported_with_the_frames_equal_the_streams_statistics(start, writer):
    sim.set_faults("drop_every=3")
    reported: list[int] = []
    acquisition = start(9, on_lost=reported.append)
    acquisition.status.wait(30)
    acquisition.join(30)
    (stats,) = acquisition.stream_stats
    assert stats.frames_lost > 0
    assert reported[-1] == stats.frames_lost == acquisition.frames_lost
    writer.close()
    assert int(read_frame_metadata(writer.path)["lost_before"].sum()) == stats.frames_lost


def test_cancel_stops_a_trigger_waiting_on_a_stalled_camera_and_fails_its_status(start, camera):
    sim.set_faults("stall_after=0")
    # A stall would take 30 s to declare: the cancel must end it first.
    acquisition = start(2, stall_timeout=10.0, stall_count=3)
    acquisition.cancel("stopped by the test")
    with pytest.raises(AcquisitionError, match="stopped by the test"):
        acquisition.status.wait(30)
    acquisition.join(30)
    assert acquisition.stream.state is StreamState.STOPPED
    assert not camera.acquiring


def test_a_new_acquisition_starts_once_the_previous_one_is_joined(start, writer):
    for _ in range(5):
        acquisition = start(2)
        acquisition.status.wait(30)
        acquisition.join(30)
    assert writer.flush(30) == 10
