"""Tests of ophyd_pvcam.engine.stream.nativeloop: a Stream whose frame path is the native pump.

The stream-level semantics (buffer-mode fallback, overrun restart, stalls,
recoveries, salvage, statistics) are pinned by tests/engine/stream/test_stream.py,
which runs with the native pump as the default; these tests pin what only
the native path does: block delivery, the host ring and its budget, and
frames that keep arriving while the interpreter is busy. Frame numbers come
from FRAME_INFO's FrameNr (the ledger), never from pixel stamps.
"""
from __future__ import annotations

import ctypes
import threading
import time

import numpy as np
import pytest

from ophyd_pvcam.engine.camera.camera import Camera
from ophyd_pvcam.engine.stream.nativeloop import NativeFrameLoop, plan_ring_frames
from ophyd_pvcam.engine.errors import ValidationError
from ophyd_pvcam.engine.stream.stream import Stream, StreamState

GENEROUS = 60.0


@pytest.fixture
def camera(library, faults):
    """A simulated Prime BSI, 64 x 64 ROI, 1 ms exposure (~600 fps)."""
    with Camera.open(library=library) as cam:
        cam.exposure_time = 0.001
        cam.roi = (0, 0, 64, 64)
        yield cam


def test_the_default_stream_runs_on_the_native_pump(camera):
    with Stream(camera, max_frames=10) as stream:
        assert isinstance(stream._run.loop, NativeFrameLoop)
        assert len(list(stream)) == 10
    with Stream(camera, max_frames=10, pump="python") as stream:
        assert not isinstance(stream._run.loop, NativeFrameLoop)
        assert len(list(stream)) == 10


@pytest.mark.parametrize("pump", ["native", "python"])
def test_get_block_returns_consecutive_frames_with_their_ledger(camera, pump):
    with Stream(camera, max_frames=200, pump=pump) as stream:
        numbers, indices = [], []
        while (block := stream.get_block(GENEROUS)) is not None:
            assert block.data.shape[1:] == (64, 64) and len(block) >= 1
            numbers.extend(block.frame_numbers.tolist())
            indices.extend(block.indices.tolist())
            assert np.all(block.timestamp_bof <= block.timestamp_eof)
            block.release()
    assert stream.state is StreamState.COMPLETE
    assert numbers == list(range(1, 201)) and indices == list(range(200))


def test_get_block_hands_out_the_ring_itself_until_released(camera):
    with Stream(camera, pump="native") as stream:
        block = stream.get_block(GENEROUS, max_frames=5)
        assert 1 <= len(block) <= 5 and not block.data.flags.owndata
        time.sleep(0.05)
        later = stream.get_block(GENEROUS)
        assert later.frame_numbers[0] == block.frame_numbers[-1] + 1
        block.release()
        later.release()
    assert stream.stats().frames_lost == 0


@pytest.mark.parametrize("pump", ["native", "python"])
def test_block_consumers_receive_every_frame_once_and_frame_consumers_too(camera, pump):
    seen_blocks, seen_frames, other = [], [], []

    def blocks(block):
        seen_blocks.extend(block.frame_numbers.tolist())
        block.release()

    def second(block):
        other.extend(block.frame_numbers.tolist())
        block.release()

    stream = Stream(camera, max_frames=300, pump=pump)
    stream.add_block_consumer(blocks)
    stream.add_block_consumer(second)
    stream.add_consumer(lambda frame: seen_frames.append(frame.frame_number))
    stream.start()
    assert stream.wait(GENEROUS) is StreamState.COMPLETE
    assert seen_blocks == other == seen_frames == list(range(1, 301))
    assert stream.stats().frames_lost == 0


def test_frame_consumers_may_keep_frames(camera):
    kept = []
    stream = Stream(camera, max_frames=100, pump="native")
    stream.add_consumer(kept.append)
    stream.start()
    assert stream.wait(GENEROUS) is StreamState.COMPLETE
    assert [f.frame_number for f in kept] == list(range(1, 101))
    # each kept frame still holds its own pixels: nothing was reused under it
    addresses = {f.data.ctypes.data for f in kept}
    assert len(addresses) == 100


def test_a_block_consumer_that_raises_fails_the_stream_and_its_slots_come_back(camera):
    def broken(block):
        raise RuntimeError("consumer bug")

    stream = Stream(camera, pump="native")
    stream.add_block_consumer(broken)
    stream.start()
    with pytest.raises(Exception, match="consumer bug"):
        stream.wait(GENEROUS)
    assert stream.state is StreamState.FAILED
    assert stream._run.loop.pump.counters().ring_used == 0


def test_a_consumer_pausing_longer_than_the_sdk_buffer_after_keeping_up_loses_nothing(camera):
    """The host ring, not the SDK buffer, absorbs a long pause of the consumer.

    The consumer first keeps up (the ring reuses its first slots), then stops
    for about four times what the SDK buffer holds, as a busy interpreter does. The
    ring used to wrap early to its first slots, which left the pump only the
    slots released before the pause: the SDK buffer overflowed (hundreds of
    frames lost) with gigabytes of ring unused. The pages the pause walked
    through are given back to the kernel once the consumer caught up.
    """
    camera.roi = (0, 0, 128, 64)  # 16 kB frames: the first 2 MiB of ring are ~127 slots
    numbers: list[int] = []

    def consume(frame) -> None:
        numbers.append(frame.frame_number)
        if len(numbers) == 100:
            time.sleep(2.0)  # ~1,200 frames against an SDK buffer of ~300

    stream = Stream(camera, max_frames=2000, buffer_seconds=0.5)
    stream.add_consumer(consume)
    stream.start()
    try:
        stream.wait(GENEROUS)
        stats = stream.stats()
        counters = stream._run.loop.pump.counters()
    finally:
        stream.stop()
    assert stats.buffer_frames * 3 < 1200
    assert stats.frames_lost == 0 and stats.frames_dropped == 0
    assert numbers == list(range(1, 2001))
    assert counters.ring_peak > stats.buffer_frames  # the ring held what the SDK buffer could not
    assert counters.ring_trimmed_bytes > 0


def test_a_full_host_ring_pauses_the_drain_and_loss_is_counted_by_framenr(camera):
    """A consumer holding every slot: the SDK buffer wraps, its overwritten frames are lost."""
    stream = Stream(camera, pump="native", queue_size=4, buffer_seconds=0, min_buffer_frames=16)
    stream.start()
    held = stream.get_block(GENEROUS)
    time.sleep(0.3)  # ~180 frames against 4 ring slots and a 16-frame SDK buffer
    held.release()
    numbers = []
    while len(numbers) < 100:
        block = stream.get_block(GENEROUS)
        numbers.extend(block.frame_numbers.tolist())
        block.release()
    stream.stop()
    stats = stream.stats()
    assert stats.frames_lost > 0 and set(stats.lost_by_reason) == {"overwritten"}
    top = numbers[-1]
    lost = {n for n in stats.lost_frame_numbers if n <= top}
    assert not lost & set(numbers)


def test_the_ring_is_sized_from_the_memory_budget(camera, monkeypatch):
    monkeypatch.setenv("PVCAM_HOST_MEMORY_BUDGET", "256M")
    with Stream(camera, pump="native") as stream:
        assert stream.get(GENEROUS) is not None
        pump = stream._run.loop.pump
        sdk_bytes = stream.stats().buffer_frames * stream.stats().frame_bytes
        # frames carry their metadata headers (on by default): a slot holds the whole frame
        assert pump.ring_frames == (256 * 1024 ** 2 - sdk_bytes) // stream.stats().frame_bytes
        assert stream.stats().frame_bytes > 64 * 64 * 2
        # lazily touched: a consumer that keeps up costs a few slots, not the budget
        assert pump.counters().ring_touched_bytes < 64 * 8192


def test_plan_ring_frames_prefers_an_explicit_queue_size_and_refuses_tiny_budgets():
    assert plan_ring_frames(1000, sdk_ring_bytes=0, queue_size=7, host_ring_bytes=None) == 7
    assert plan_ring_frames(1000, sdk_ring_bytes=0, queue_size=None, host_ring_bytes=10_500) == 10
    with pytest.raises(ValidationError):
        plan_ring_frames(1000, sdk_ring_bytes=0, queue_size=None, host_ring_bytes=1500)


def test_stop_salvages_into_the_ring_and_get_drains_it(camera):
    stream = Stream(camera, pump="native")
    stream.start()
    assert stream.get(GENEROUS) is not None
    stream._run.loop.pump.pause()  # frames wait in the SDK buffer
    time.sleep(0.05)
    stream.stop()
    rest = []
    while (frame := stream.get(0)) is not None:
        rest.append(frame.frame_number)
    stats = stream.stats()
    assert len(rest) > 5 and rest == list(range(2, 2 + len(rest)))
    assert stats.frames_lost == 0 and stats.frames_delivered == 1 + len(rest)


def _gil_holder(stop: threading.Event, hold: float, period: float) -> None:
    """Hold the GIL ``hold`` s of every ``period`` s: a C call made through PyDLL keeps it."""
    usleep = ctypes.PyDLL(None).usleep
    usleep.argtypes = [ctypes.c_uint]
    while not stop.is_set():
        usleep(int(hold * 1e6))
        stop.wait(period - hold)


@pytest.mark.slow
@pytest.mark.parametrize("use_callbacks", [True, False], ids=["callbacks", "polling"])
def test_holding_the_gil_300_ms_every_second_loses_nothing(camera, use_callbacks):
    """The native pump needs no interpreter: while Python is stuck, frames go to the ring."""
    camera.exposure_time = 0.0002  # a few kHz on the small ROI
    stop = threading.Event()
    holder = threading.Thread(target=_gil_holder, args=(stop, 0.3, 1.0), name="gil-holder")
    # An SDK buffer of 0.2 s cannot absorb a 0.3 s hold by itself (the Python
    # pump loses frames here); the pump keeps draining it into the host ring.
    stream = Stream(camera, pump="native", use_callbacks=use_callbacks, buffer_seconds=0.2)
    numbers = []
    stream.start()
    holder.start()
    try:
        deadline = time.monotonic() + 3.5  # three holds
        while time.monotonic() < deadline:
            block = stream.get_block(GENEROUS)
            numbers.extend(block.frame_numbers.tolist())
            block.release()
    finally:
        stop.set()
        holder.join()
        stream.stop()
    stats = stream.stats()
    assert stats.frames_lost == 0 and stats.frames_dropped == 0 and stats.overruns == 0
    assert numbers == list(range(1, len(numbers) + 1))
    assert stats.frames_delivered >= len(numbers) > 1000


@pytest.fixture
def small_bursts(monkeypatch):
    """Let bursts of a few MB take the zero-copy path (the real threshold is 256 MiB)."""
    from ophyd_pvcam.engine.stream import nativeloop
    monkeypatch.setattr(nativeloop, "BURST_MIN_BYTES", 1024 ** 2)


def test_a_burst_that_fits_the_budget_is_captured_in_place(camera, small_bursts):
    with Stream(camera, max_frames=300, pump="native", buffer_seconds=0.1) as stream:
        assert stream.wait(GENEROUS) is StreamState.COMPLETE
        loop = stream._run.loop
        assert loop.zero_copy and stream.stats().buffer_frames == 300 + 300 // 4
        numbers = []
        while (block := stream.get_block(0)) is not None:
            # the frames are where the camera wrote them: views into the SDK buffer
            start, end = loop.ring.address, loop.ring.address + loop.ring.nbytes
            assert start <= block.data.ctypes.data < end
            numbers.extend(block.frame_numbers.tolist())
            block.release()
    assert numbers == list(range(1, 301))
    assert stream.stats().frames_lost == 0 and loop.pump.counters().copy_seconds < 0.01


def test_a_burst_keeps_its_frames_after_the_stream_ended(camera, small_bursts):
    with Stream(camera, max_frames=200, pump="native", buffer_seconds=0.1) as stream:
        stream.wait(GENEROUS)
    block = stream.get_block(0)  # the acquisition is stopped; the buffer lives on
    assert block is not None and block.frame_numbers[0] == 1
    total = block.data.astype(np.int64).sum()  # readable: still mapped
    assert total >= 0
    block.release()


def test_skipped_framenrs_in_a_burst_are_gaps_and_never_delivered(camera, faults, small_bursts):
    faults("drop_every=7")
    with Stream(camera, max_frames=200, pump="native", buffer_seconds=0.1) as stream:
        stream.wait(GENEROUS)
        numbers = []
        while (block := stream.get_block(0)) is not None:
            numbers.extend(block.frame_numbers.tolist())
            block.release()
    stats = stream.stats()
    assert numbers == [n for n in range(1, numbers[-1] + 1) if n % 7][:200]
    assert stats.lost_by_reason == {"gap": len(stats.lost_frame_numbers)}
    assert set(stats.lost_frame_numbers) == set(range(7, numbers[-1], 7))


@pytest.fixture
def slow_in_place(monkeypatch):
    """Let the small ROI's few MB/s take the in-place path (the real threshold is 256 MiB/s)."""
    monkeypatch.setattr("ophyd_pvcam.engine.stream.nativeloop.INPLACE_MIN_RATE", 0)


def _in_ring(loop, block) -> bool:
    """True when the block's pixels lie in the SDK's circular buffer (no copy)."""
    address = block.data.ctypes.data
    return loop.ring.address <= address < loop.ring.address + loop.ring.nbytes


@pytest.mark.parametrize("metadata", [False, True], ids=["pixels", "metadata"])
@pytest.mark.parametrize("use_callbacks", [True, False], ids=["callbacks", "polling"])
def test_a_continuous_stream_hands_frames_out_in_place(camera, use_callbacks, metadata,
                                                       slow_in_place):
    stream = Stream(camera, pump="native", use_callbacks=use_callbacks, buffer_seconds=1.0,
                    metadata=metadata)
    stream.start()
    try:
        loop = stream._run.loop
        assert loop.pump.inplace  # a 1 s SDK buffer: frames stay where the camera wrote them
        numbers = []
        while len(numbers) < 300:
            block = stream.get_block(GENEROUS)
            assert _in_ring(loop, block)
            # With metadata the slot starts with the frame and region headers
            # (one region, no extended metadata): the pixels follow them.
            headers = loop.ring.frame_bytes - block.data[0].nbytes
            assert headers == (80 if metadata else 0)
            assert block.data.ctypes.data == (loop.ring.slot_address(int(block.frame_numbers[0]))
                                              + headers)
            numbers.extend(block.frame_numbers.tolist())
            block.release()
    finally:
        stream.stop()
    stats = stream.stats()
    assert numbers == list(range(1, len(numbers) + 1))
    assert stats.frames_lost == 0
    counters = loop.pump.counters()
    assert counters.frames_inplace >= 300 and counters.held_overwritten == 0


def test_a_short_sdk_buffer_copies_every_frame_as_before(camera, slow_in_place):
    with Stream(camera, pump="native", buffer_seconds=0.1, max_frames=50) as stream:
        loop = stream._run.loop
        assert not loop.pump.inplace
        block = stream.get_block(GENEROUS)
        assert not _in_ring(loop, block)
        block.release()


def test_a_slow_stream_copies_every_frame_as_before(camera):
    with Stream(camera, pump="native", max_frames=50) as stream:  # a few MB/s
        loop = stream._run.loop
        assert not loop.pump.inplace
        block = stream.get_block(GENEROUS)
        assert not _in_ring(loop, block)
        block.release()


def test_a_block_held_across_stop_stays_valid_and_counts_nothing_lost(camera, frame_stamp,
                                                                     slow_in_place):
    stream = Stream(camera, pump="native", buffer_seconds=1.0)
    stream.start()
    held = stream.get_block(GENEROUS, max_frames=4)
    numbers = held.frame_numbers.tolist()
    assert _in_ring(stream._run.loop, held)
    stream.stop()  # the run ends while the consumer still holds SDK memory
    pixels = np.ascontiguousarray(held.data.reshape(len(held), -1)).view(np.uint8)
    assert [int(row[:4].view("<u4")[0]) for row in pixels] == numbers
    held.release()
    rest = []
    while (block := stream.get_block(0)) is not None:
        rest.extend(block.frame_numbers.tolist())
        block.release()
    stats = stream.stats()
    assert stats.frames_lost == 0
    assert numbers + rest == list(range(1, len(numbers) + len(rest) + 1))
