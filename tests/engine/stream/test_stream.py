"""Tests of ophyd_pvcam.engine.stream.stream against the simulated camera (a real libpvcam.so.2).

Every fault of the field report is replayed through the simulator's fault
injection; frames are checked against the FrameNr the simulator stamps into
their first 4 bytes, so a mislabelled or torn frame cannot pass.
"""
import gc
import logging
import threading
import time
import tracemalloc

import numpy as np
import psutil
import pytest

from ophyd_pvcam import sim
from ophyd_pvcam.engine.stream.bufmode import REJECTED_MODES
from ophyd_pvcam.engine.camera.camera import Camera
from ophyd_pvcam.engine.errors import (
    AcquisitionError,
    CameraRemovedError,
    StallError,
    ValidationError,
)
from ophyd_pvcam.engine.stream.stream import Stream, StreamState, rejected_buffer_modes
from ophyd_pvcam.sdk import constants as C
from ophyd_pvcam.sdk.errors import ConfigurationInvalidError, DeviceRemovedError

# Frames are judged by the FrameNr in the simulator's opt-in pixel stamp.
pytestmark = pytest.mark.usefixtures("frame_stamp")

# A run that should take well under a second may take this long on a loaded 2-core CI box.
GENEROUS = 60.0


# ----------------------------------------------------------------- fixtures
@pytest.fixture
def faults():
    """Set simulator faults for acquisitions started afterwards; cleared after the test."""
    sim.set_faults("")
    REJECTED_MODES.forget()
    yield sim.set_faults
    sim.set_faults("")
    REJECTED_MODES.forget()


@pytest.fixture
def camera(library, faults):
    """A simulated Prime BSI with a 64 x 64 ROI and a 1 ms exposure (~600 fps)."""
    with Camera.open(library=library) as cam:
        cam.exposure_time = 0.001
        cam.roi = (0, 0, 64, 64)
        yield cam


def stamp(frame):
    """The FrameNr the simulator wrote into the frame's first 4 bytes."""
    return int(frame.data.reshape(-1).view(np.uint8)[:4].view("<u4")[0])


def sdk_number(stats, number):
    """Map a stream frame number back to the SDK FrameNr of its acquisition."""
    offset = 0
    for record in stats.discontinuities:
        if record.first_frame <= number:
            offset = record.first_frame - 1
    return number - offset


def assert_frames_intact(frames, stats):
    """Every delivered frame holds the pixels of the frame its number says."""
    for frame in frames:
        assert stamp(frame) == sdk_number(stats, frame.frame_number), frame.frame_number


def assert_every_frame_accounted(frames, stats):
    """Delivered + lost + dropped numbers are exactly 1..last, without overlap."""
    delivered = [f.frame_number for f in frames]
    assert delivered == sorted(set(delivered))
    lost = set(stats.lost_frame_numbers)
    dropped = set(stats.dropped_frame_numbers)
    assert stats.frames_lost == len(lost) and stats.frames_dropped == len(dropped)
    assert not (lost & set(delivered)) and not (dropped & set(delivered)) and not (lost & dropped)
    last = max(delivered + list(lost) + list(dropped))
    assert set(delivered) | lost | dropped == set(range(1, last + 1))


def no_stream_threads():
    return [t.name for t in threading.enumerate() if t.name.startswith("pvcam-")]


# ----------------------------------------------------------------- basics
def test_stream_delivers_every_frame_in_order_and_completes(camera):
    with Stream(camera, max_frames=60) as stream:
        frames = list(stream)
    assert stream.state is StreamState.COMPLETE
    assert [f.frame_number for f in frames] == list(range(1, 61))
    assert [f.index for f in frames] == list(range(60))
    stats = stream.stats()
    assert_frames_intact(frames, stats)
    assert stats.frames_signalled >= 60 and stats.frames_retrieved == 60
    assert stats.frames_delivered == 60 and stats.frames_lost == 0
    assert stats.buffer_mode == "CIRC_OVERWRITE"
    assert all(f.data.shape == (64, 64) and f.data.dtype == np.uint16 for f in frames)


def test_frames_carry_the_callback_timestamps(camera):
    with Stream(camera, max_frames=20) as stream:
        frames = list(stream)
    eofs = [f.timestamp_eof for f in frames]
    assert all(f.timestamp_bof <= f.timestamp_eof for f in frames)
    assert eofs == sorted(eofs) and eofs[-1] > eofs[0]


def test_polling_mode_delivers_every_frame_without_callbacks(camera):
    # without frame metadata: polling's blind spot (gaps undetectable) is pinned here
    with Stream(camera, max_frames=60, use_callbacks=False, metadata=False) as stream:
        frames = list(stream)
    stats = stream.stats()
    assert stream.state is StreamState.COMPLETE
    assert [f.frame_number for f in frames] == list(range(1, 61))
    assert stats.frames_signalled == 0 and stats.frames_lost == 0
    assert not stats.use_callbacks and not stats.gaps_detectable
    assert_frames_intact(frames, stats)


def test_circular_buffer_holds_a_second_of_frames_and_at_least_min_frames(camera):
    with Stream(camera, max_frames=5) as stream:
        list(stream)
    period = camera.acquisition_settings().frame_period_s
    assert stream.stats().buffer_frames >= max(8, int(1.0 / period))
    camera.exposure_time = 0.5
    with Stream(camera, max_frames=1) as stream:
        list(stream)
    assert stream.stats().buffer_frames == 8


def test_statistics_time_every_frame(camera):
    with Stream(camera, max_frames=30) as stream:
        list(stream)
    stats = stream.stats()
    assert stats.timings["copy"].count == 30
    assert stats.timings["unlock"].count == 30
    assert 1 <= stats.timings["callback_to_wake"].count <= 30
    assert 1 <= stats.timings["wake_to_retrieved"].count <= 30
    assert stats.rate_fps > 0 and "delivered 30" in stats.summary()


# ----------------------------------------------------------------- buffer mode and callbacks
def test_refused_overwrite_falls_back_delivers_all_logs_once_and_remembers(camera, faults, caplog):
    faults("reject_circ_overwrite")
    caplog.set_level(logging.WARNING, logger="ophyd_pvcam.engine.stream.bufmode")
    for _ in range(3):
        with Stream(camera, max_frames=40) as stream:
            frames = list(stream)
        assert stream.state is StreamState.COMPLETE
        assert stream.buffer_mode == "CIRC_NO_OVERWRITE"
        assert [f.frame_number for f in frames] == list(range(1, 41))
        assert_frames_intact(frames, stream.stats())
    refusals = [r for r in caplog.records if "refused CIRC_OVERWRITE" in r.getMessage()]
    assert len(refusals) == 1
    assert "CIRC_OVERWRITE" in rejected_buffer_modes(camera)


def test_forced_mode_is_not_replaced_by_the_fallback(camera, faults):
    faults("reject_circ_overwrite")
    stream = Stream(camera, buffer_mode="overwrite", max_frames=5)
    with pytest.raises(ConfigurationInvalidError):
        stream.start()
    assert stream.state is StreamState.IDLE
    assert not camera.acquiring
    with Stream(camera, buffer_mode="no_overwrite", max_frames=5) as stream:
        assert len(list(stream)) == 5
    assert stream.buffer_mode == "CIRC_NO_OVERWRITE"


class CallRecorder:
    """Records the SDK calls a stream makes (the real library still runs them)."""

    NAMES = ("register_callback", "deregister_callback", "exp_setup_cont", "exp_start_cont",
             "exp_stop_cont", "exp_abort", "set_param")

    def __init__(self, library, monkeypatch):
        self.calls = []
        for name in self.NAMES:
            original = getattr(library, name)
            monkeypatch.setattr(library, name, self._wrap(name, original))

    def _wrap(self, name, original):
        def call(*args, **kwargs):
            try:
                result = original(*args, **kwargs)
            except Exception as exc:
                self.calls.append((name, args[1:], type(exc).__name__))
                raise
            self.calls.append((name, args[1:], "ok"))
            return result
        return call

    def names(self):
        return [name for name, _, _ in self.calls]


def test_callback_registered_once_before_start_and_deregistered_on_stop(camera, faults,
                                                                        monkeypatch):
    faults("reject_circ_overwrite")
    recorder = CallRecorder(camera.library, monkeypatch)
    with Stream(camera, max_frames=10) as stream:
        list(stream)
    names = recorder.names()
    eof_registrations = [c for c in recorder.calls
                         if c[0] == "register_callback" and c[1][0] == C.PL_CALLBACK_EOF]
    assert len(eof_registrations) == 1
    assert names.index("register_callback") < names.index("exp_setup_cont")
    setups = [c for c in recorder.calls if c[0] == "exp_setup_cont"]
    starts = [c for c in recorder.calls if c[0] == "exp_start_cont"]
    assert [c[1][3] for c in setups] == [C.CIRC_OVERWRITE, C.CIRC_NO_OVERWRITE]
    assert [c[2] for c in starts] == ["ConfigurationInvalidError", "ok"]
    # nothing but buffer allocation between each setup and its start
    first_setup = names.index("exp_setup_cont")
    last_start = len(names) - 1 - names[::-1].index("exp_start_cont")
    assert set(names[first_setup:last_start + 1]) == {"exp_setup_cont", "exp_start_cont"}
    # stopped first, then every registration undone
    tail = names[last_start + 1:]
    assert tail[0] == "exp_stop_cont"
    registered = {c[1][0] for c in recorder.calls if c[0] == "register_callback"}
    deregistered = {c[1][0] for c in recorder.calls if c[0] == "deregister_callback"}
    assert registered == deregistered == {C.PL_CALLBACK_EOF, C.PL_CALLBACK_CAM_REMOVED}


def test_polling_registers_no_eof_callback(camera, monkeypatch):
    recorder = CallRecorder(camera.library, monkeypatch)
    with Stream(camera, max_frames=10, use_callbacks=False) as stream:
        assert len(list(stream)) == 10
    registered = [c[1][0] for c in recorder.calls if c[0] == "register_callback"]
    assert C.PL_CALLBACK_EOF not in registered
    assert registered == [C.PL_CALLBACK_CAM_REMOVED]  # a notification, not a frame callback


def test_rereg_corrupts_is_never_triggered_across_fallbacks_and_restarts(camera, faults):
    faults("rereg_corrupts,reject_circ_overwrite")
    stream = Stream(camera, max_frames=30, stall_timeout=0.5, stall_count=2)
    for _ in range(3):
        stream.start()
        frames = list(stream)
        assert stream.state is StreamState.COMPLETE
        assert len(frames) == 30 and frames[-1].frame_number == 30


# ----------------------------------------------------------------- stalls
def test_stall_after_5_ends_in_stalled_with_a_diagnosis_naming_frame_5(camera, faults):
    faults("stall_after=5")
    stream = Stream(camera, stall_timeout=0.2, stall_count=3)
    stream.start()
    frames = []
    with pytest.raises(StallError) as info:
        for frame in stream:
            frames.append(frame)
    assert [f.frame_number for f in frames] == [1, 2, 3, 4, 5]
    assert stream.state is StreamState.STALLED
    error = info.value
    assert error is stream.error
    assert "after frame 5" in str(error) and camera.name in str(error)
    diag = error.diagnostics
    assert diag["last_frame_number"] == 5
    assert diag["frames_signalled"] == 5 and diag["frames_retrieved"] == 5
    assert diag["frames_delivered"] == 5
    assert diag["buffer_fill"] == 0 and diag["buffer_frames"] >= 8
    assert diag["sdk_status_name"] in ("EXPOSURE_IN_PROGRESS", "READOUT_IN_PROGRESS")
    assert diag["seconds_since_last_frame"] >= 0.6
    assert diag["stall_timeout"] == 0.2 and diag["stall_count"] == 3
    assert diag["buffer_mode"] == "CIRC_OVERWRITE" and diag["camera"] == camera.name
    with pytest.raises(StallError):
        stream.wait(GENEROUS)
    assert not no_stream_threads()


def test_stall_is_detected_in_polling_mode_too(camera, faults):
    faults("stall_after=3")
    stream = Stream(camera, use_callbacks=False, stall_timeout=0.2, stall_count=2)
    stream.start()
    with pytest.raises(StallError, match="after frame 3"):
        stream.wait(GENEROUS)
    assert stream.state is StreamState.STALLED
    assert [stream.get(0).frame_number for _ in range(3)] == [1, 2, 3]
    with pytest.raises(StallError):
        stream.get(0)


def test_intermittent_stalls_are_recovered_up_to_max_recoveries(camera, faults):
    faults("intermittent_stall=1.0,seed=7")
    stream = Stream(camera, stall_timeout=0.2, stall_count=1, max_recoveries=3)
    stream.start()
    frames = []
    with pytest.raises(StallError):
        for frame in stream:
            frames.append(frame)
    stats = stream.stats()
    assert stats.recoveries == 3 and stats.restarts == 3
    assert [d.reason for d in stats.discontinuities] == ["stall"] * 3
    assert [f.frame_number for f in frames] == list(range(1, len(frames) + 1))
    assert 4 * 4 <= len(frames) <= 8 * 4
    assert_frames_intact(frames, stats)
    assert stats.frames_lost == 0


def test_recovered_stream_completes_with_monotonic_numbering(camera, faults):
    faults("intermittent_stall=1.0,seed=3")
    with Stream(camera, stall_timeout=0.2, stall_count=1, max_recoveries=20,
                max_frames=25) as stream:
        frames = list(stream)
    stats = stream.stats()
    assert stream.state is StreamState.COMPLETE
    assert [f.frame_number for f in frames] == list(range(1, 26))
    assert stats.recoveries >= 2
    assert_frames_intact(frames, stats)


# ----------------------------------------------------------------- losses
def test_dropped_framenrs_are_reported_exactly_with_callbacks(camera, faults):
    faults("drop_every=7")
    with Stream(camera, max_frames=60) as stream:
        frames = list(stream)
    stats = stream.stats()
    assert stats.gaps_detectable
    delivered = [f.frame_number for f in frames]
    last = delivered[-1]
    assert list(stats.lost_frame_numbers) == list(range(7, last, 7))
    assert delivered == [n for n in range(1, last + 1) if n % 7]
    assert stats.lost_by_reason == {"gap": len(stats.lost_frame_numbers)}
    assert all(f.lost_before == (1 if f.frame_number % 7 == 1 and f.frame_number > 7 else 0)
               for f in frames)
    assert_frames_intact(frames, stats)


def stale_stamp(n, capacity, drop_every):
    """What the slot of skipped FrameNr ``n`` still holds: the last frame written there, or 0."""
    for earlier in range(n - capacity, 0, -capacity):
        if earlier % drop_every:
            return earlier
    return 0


def test_polling_cannot_see_skipped_framenrs_and_says_so(camera, faults, caplog):
    """The documented blind spot of polling, pinned down frame by frame.

    Without callbacks the SDK reports only the latest FrameNr, so a FrameNr
    the camera skipped is drained like a frame: its slot still holds zeros
    (first lap through the ring) or the frame that used the slot one lap
    earlier. The stream cannot count it lost; it says so instead.
    """
    faults("drop_every=7")
    camera.exposure_time = 0.005  # ~190 fps: the 16-frame ring never overflows
    caplog.set_level(logging.WARNING, logger="ophyd_pvcam.engine")
    with Stream(camera, max_frames=60, use_callbacks=False, buffer_seconds=0,
                min_buffer_frames=16, metadata=False) as stream:
        frames = list(stream)
    stats = stream.stats()
    capacity = stats.buffer_frames
    assert capacity == 16
    assert stats.gaps_detectable is False and "undetectable" in stats.summary()
    assert_every_frame_accounted(frames, stats)
    assert set(stats.lost_by_reason) <= {"overwritten"}  # never "gap": it cannot be seen
    skipped = [f for f in frames if f.frame_number % 7 == 0]
    assert [f.frame_number for f in skipped][:2] == [7, 14]
    assert any(f.frame_number > capacity for f in skipped)  # the stale-after-wrap case is hit
    for frame in frames:
        expected = (stale_stamp(frame.frame_number, capacity, 7) if frame.frame_number % 7 == 0
                    else frame.frame_number)
        assert stamp(frame) == expected, frame.frame_number
    warnings = [r for r in caplog.records if "cannot be detected" in r.getMessage()]
    assert len(warnings) == 1 and camera.name in warnings[0].getMessage()


@pytest.mark.parametrize("use_callbacks", [True, False], ids=["callbacks", "polling"])
def test_overrun_in_no_overwrite_with_a_slow_consumer_is_counted_and_the_stream_continues(
        camera, use_callbacks):
    stream = Stream(camera, buffer_mode="no_overwrite", buffer_seconds=0, min_buffer_frames=8,
                    queue_size=1, overflow="block", use_callbacks=use_callbacks)
    stream.start()
    frames = []
    deadline = time.monotonic() + GENEROUS
    while stream.stats().overruns < 2 and time.monotonic() < deadline:
        frames.append(stream.get(GENEROUS))
        time.sleep(0.03)  # ~18 frame periods per frame taken
    assert stream.state is StreamState.RUNNING
    stats = stream.stats()
    assert stats.overruns >= 2 and stats.restarts >= 2
    assert stats.lost_by_reason.get("overrun", 0) > 0
    # it keeps delivering after the overruns
    more = [stream.get(GENEROUS) for _ in range(5)]
    assert stream.stop() is StreamState.STOPPED
    frames += more
    while (frame := stream.get(0)) is not None:
        frames.append(frame)
    stats = stream.stats()
    assert_frames_intact(frames, stats)
    assert_every_frame_accounted(frames, stats)


@pytest.mark.parametrize("use_callbacks", [True, False], ids=["callbacks", "polling"])
def test_overwrite_mode_with_a_slow_consumer_counts_overwritten_frames(camera, use_callbacks):
    stream = Stream(camera, buffer_mode="overwrite", buffer_seconds=0, min_buffer_frames=8,
                    queue_size=1, overflow="block", use_callbacks=use_callbacks)
    stream.start()
    frames = [stream.get(GENEROUS)]
    while stream.stats().frames_lost < 20:
        time.sleep(0.03)
        frames.append(stream.get(GENEROUS))
    stream.stop()
    while (frame := stream.get(0)) is not None:
        frames.append(frame)
    stats = stream.stats()
    assert stats.overruns == 0 and stats.restarts == 0
    assert stats.lost_by_reason["overwritten"] == stats.frames_lost
    assert_frames_intact(frames, stats)
    assert_every_frame_accounted(frames, stats)


def test_drop_policy_drops_and_counts_instead_of_blocking(camera):
    stream = Stream(camera, queue_size=2, overflow="drop")
    stream.start()
    frames = []
    while stream.stats().frames_dropped < 10:
        frames.append(stream.get(GENEROUS))
        time.sleep(0.01)
    stream.stop()
    while (frame := stream.get(0)) is not None:
        frames.append(frame)
    stats = stream.stats()
    assert stats.frames_lost == 0 and stats.overruns == 0
    assert sum(f.lost_before for f in frames) <= stats.frames_dropped
    assert any(f.lost_before for f in frames)
    assert_frames_intact(frames, stats)
    assert_every_frame_accounted(frames, stats)


# ----------------------------------------------------------------- removal
@pytest.mark.parametrize("use_callbacks", [True, False])
def test_unplugged_camera_ends_with_camera_removed_and_keeps_every_frame(library, faults,
                                                                         use_callbacks):
    faults("unplug_after=10")
    camera = Camera.open(library=library)
    try:
        camera.roi = (0, 0, 64, 64)
        camera.exposure_time = 0.001
        stream = Stream(camera, stall_timeout=5.0, use_callbacks=use_callbacks)
        stream.start()
        with pytest.raises(CameraRemovedError):
            stream.wait(GENEROUS)
        frames = []
        with pytest.raises(CameraRemovedError) as info:
            for frame in stream:
                frames.append(frame)
        assert [f.frame_number for f in frames] == list(range(1, 11))
        assert_frames_intact(frames, stream.stats())
        assert stream.state is StreamState.FAILED
        assert "after frame 10" in str(info.value)
        assert not no_stream_threads()
    finally:
        try:
            camera.close()
        except DeviceRemovedError:
            pass  # closing a removed camera reports the removal (camera.py's choice)


# ----------------------------------------------------------------- stopping
def test_stop_from_a_consumer_callback_does_not_deadlock(camera):
    stream = Stream(camera)
    seen = []

    def consumer(frame):
        seen.append(frame.frame_number)
        if frame.frame_number == 10:
            assert stream.stop() in (StreamState.STOPPED, StreamState.RUNNING)

    stream.add_consumer(consumer)
    done = threading.Event()
    stream.add_done_callback(lambda s: done.set())
    stream.start()
    assert stream.wait(GENEROUS) is StreamState.STOPPED
    assert done.is_set()
    assert seen[:10] == list(range(1, 11)) and seen == sorted(seen)
    assert not no_stream_threads()


def test_stop_is_idempotent_and_safe_from_many_threads(camera):
    stream = Stream(camera)
    stream.start()
    assert stream.get(GENEROUS) is not None
    results = []
    threads = [threading.Thread(target=lambda: results.append(stream.stop())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(GENEROUS)
    assert results == [StreamState.STOPPED] * 4
    assert stream.stop() is StreamState.STOPPED
    assert stream.stats().frames_pending_at_stop >= 0
    assert not no_stream_threads() and not camera.acquiring


def test_a_consumer_that_raises_fails_the_stream_loudly(camera):
    def consumer(frame):
        if frame.frame_number == 3:
            raise ValueError("disk full")

    stream = Stream(camera)
    stream.add_consumer(consumer)
    stream.start()
    with pytest.raises(AcquisitionError, match="disk full"):
        stream.wait(GENEROUS)
    assert stream.state is StreamState.FAILED
    assert isinstance(stream.error.__cause__, ValueError)


def test_get_is_refused_when_frames_go_to_consumers(camera):
    stream = Stream(camera, max_frames=3)
    stream.add_consumer(lambda frame: None)
    with stream:
        with pytest.raises(ValidationError, match="consumers"):
            stream.get(0)
        assert stream.wait(GENEROUS) is StreamState.COMPLETE


def test_closing_the_camera_stops_a_running_stream(library, faults):
    camera = Camera.open(library=library)
    camera.roi = (0, 0, 32, 32)
    camera.exposure_time = 0.001
    stream = Stream(camera)
    stream.start()
    assert stream.get(GENEROUS) is not None
    camera.close()
    assert stream.state is StreamState.STOPPED
    assert not no_stream_threads()


def test_released_frames_are_reused(camera):
    with Stream(camera, max_frames=20, queue_size=4) as stream:
        arrays = set()
        for frame in stream:
            arrays.add(id(frame.data))
            assert stream.release(frame)
    assert len(arrays) <= 8


def test_start_stop_cycles_leak_no_threads_and_no_memory(camera):
    """500 cycles on one open camera: threads joined, callbacks and buffers released.

    Each ring is ~5 MB of address space (1 s of frames), so a ring that is not
    unmapped shows in the virtual size; Python objects show in tracemalloc. The
    virtual size is compared between the middle and the end: the first cycles
    reserve a malloc arena for the new threads once (~64 MB, then flat).
    """
    process = psutil.Process()
    baseline_threads = set(threading.enumerate())
    stream = Stream(camera)

    def cycle(s):
        s.start()
        assert s.get(GENEROUS) is not None
        assert s.stop() is StreamState.STOPPED

    for i in range(20):  # warm-up: caches, pools, logging
        cycle(stream if i % 2 else Stream(camera))
    assert stream.stats().buffer_frames * stream.stats().frame_bytes > 4_000_000
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for i in range(500):
        cycle(stream if i % 2 else Stream(camera))
        if i == 249:
            vms_middle = process.memory_info().vms
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    growth = sum(s.size_diff for s in after.compare_to(before, "filename"))
    assert growth < 1_000_000, growth
    assert process.memory_info().vms - vms_middle < 32_000_000  # 250 leaked rings: 1.2 GB
    assert set(threading.enumerate()) <= baseline_threads
    assert not camera.acquiring


# ----------------------------------------------------------------- long runs
@pytest.mark.slow
def test_100000_frame_small_roi_stream_loses_nothing(library, faults):
    with Camera.open(library=library) as camera:
        camera.roi = (0, 0, 32, 16)
        camera.exposure_time = 0.0001
        count = 100_000
        checked = [0]

        def check(frame):
            if stamp(frame) != frame.frame_number:
                raise AssertionError(f"frame {frame.frame_number} holds {stamp(frame)}")
            checked[0] += 1
            stream.release(frame)

        stream = Stream(camera, max_frames=count)
        stream.add_consumer(check)
        stream.start()
        assert stream.wait(600) is StreamState.COMPLETE
        stats = stream.stats()
    assert checked[0] == count
    assert stats.frames_delivered == count and stats.frames_lost == 0
    assert stats.frames_dropped == 0 and stats.overruns == 0


@pytest.mark.slow
def test_1000_frame_full_frame_kinetix_stream_loses_nothing(open_model, faults):
    camera = open_model("kinetix")
    assert camera.sensor_size == (3200, 3200)
    camera.exposure_time = 0.001
    count = 1000
    checked = [0]

    def check(frame):
        assert frame.data.shape == (3200, 3200)
        if stamp(frame) != frame.frame_number:
            raise AssertionError(f"frame {frame.frame_number} holds {stamp(frame)}")
        checked[0] += 1
        stream.release(frame)

    stream = Stream(camera, max_frames=count, queue_size=8)
    stream.add_consumer(check)
    stream.start()
    assert stream.wait(600) is StreamState.COMPLETE
    stats = stream.stats()
    assert checked[0] == count
    assert stats.frames_delivered == count and stats.frames_lost == 0 and stats.overruns == 0
