"""ophyd_pvcam/engine/stream/native/pump.py: the C frame pump on the simulator."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from ophyd_pvcam.engine.stream.delivery import END
from ophyd_pvcam.engine.errors import AcquisitionError, ValidationError
from ophyd_pvcam.engine.stream.native import FramePump, PumpEvents, is_available, library_path
from ophyd_pvcam.sdk import constants as C

GENEROUS = 30.0


def take_all(pump, count, max_frames=None):
    """Take blocks until ``count`` frames arrived; returns owning copies, releases the views."""
    blocks = []
    got = 0
    deadline = time.monotonic() + GENEROUS
    while got < count and time.monotonic() < deadline:
        block = pump.take(timeout=1.0, max_frames=max_frames)
        if block is None or block is END:
            continue
        blocks.append(block.retain())
        got += len(block)
        block.release()
    return blocks


def numbers(blocks):
    return np.concatenate([b.frame_numbers for b in blocks]) if blocks else np.array([])


def test_the_library_is_built_and_found():
    assert is_available()
    assert library_path().name == "libpvcam_pump.so" and library_path().is_file()


@pytest.mark.parametrize("use_callbacks", [True, False], ids=["callbacks", "polling"])
def test_every_frame_arrives_in_order_with_its_ledger(acquisition, use_callbacks):
    acq = acquisition(use_callbacks=use_callbacks, poll_interval=0.0005)
    acq.start()
    blocks = take_all(acq.pump, 200)
    got = numbers(blocks)
    assert list(got[:200]) == list(range(1, 201))
    indices = np.concatenate([b.indices for b in blocks])
    assert list(indices[:200]) == list(range(200))
    assert all(b.lost == 0 for b in blocks)
    assert all(b.data.shape[1:] == (32, 64) for b in blocks)
    host = np.concatenate([b.host_time for b in blocks])
    assert np.all(np.diff(host) >= 0) and abs(host[-1] - time.time()) < GENEROUS
    eof = np.concatenate([b.timestamp_eof for b in blocks])
    if use_callbacks:  # the camera's timestamps come with the callbacks only
        assert np.all(np.diff(eof) > 0)
    else:
        assert not eof.any()
    counters = acq.pump.counters()
    assert counters.frames_delivered >= 200
    assert counters.lost_by_reason == {"gap": 0, "overwritten": 0, "dropped": 0}
    assert counters.callbacks_total > 0 if use_callbacks else counters.callbacks_total == 0


def test_pixels_are_the_frames_the_sdk_wrote(frame_stamp, acquisition, camera):
    acq = acquisition()
    acq.start()
    blocks = take_all(acq.pump, 20)
    for block in blocks:
        for frame_number, pixels in zip(block.frame_numbers, block.data):
            stamped = int(np.ascontiguousarray(pixels).view(np.uint8).ravel()[:4].view("<u4")[0])
            assert stamped == frame_number


def test_take_returns_a_contiguous_view_and_release_gives_slots_back(acquisition):
    acq = acquisition(ring_frames=8, sdk_frames=256)
    acq.start()
    block = acq.pump.take(timeout=GENEROUS, max_frames=3)
    assert block is not None and 1 <= len(block) <= 3
    assert not block.data.flags.owndata  # a view into the host ring
    time.sleep(0.1)  # the ring (8) fills while we hold the block
    assert acq.pump.counters().ring_used == 8
    block.release()
    with pytest.raises(AcquisitionError):
        acq.pump._block(0, 1).release()  # never taken: refused, nothing freed
    rest = take_all(acq.pump, 50)
    assert list(numbers(rest)[:50]) == list(range(len(block) + 1, len(block) + 51))


def test_a_full_ring_pauses_the_drain_and_overwritten_frames_are_counted_exactly(acquisition):
    acq = acquisition(ring_frames=4, sdk_frames=16)
    acq.start()
    first = acq.pump.take(timeout=GENEROUS, max_frames=1)
    time.sleep(0.3)  # ~270 frames: the ring (4) and the SDK buffer (16) overflow
    assert acq.pump.counters().ring_used == 4  # full: the pump waits, the SDK buffer wraps
    first_number = int(first.frame_numbers[0])
    first.release()  # its ledger row is reused from here on
    blocks = take_all(acq.pump, 100)
    assert acq.pump.counters().lost_by_reason["overwritten"] > 0  # counted once it drains
    got = np.concatenate([[first_number], numbers(blocks)])
    lost = acq.pump.pop_losses()
    lost_numbers = {n for a, b, reason in lost for n in range(a, b + 1)}
    assert all(reason == "overwritten" for _, _, reason in lost)
    # every FrameNr up to the last one taken is either delivered or counted lost, never both
    top = int(got[-1])
    assert set(got.tolist()) | {n for n in lost_numbers if n <= top} == set(range(1, top + 1))
    assert not set(got.tolist()) & lost_numbers
    lost_before = np.concatenate([b.lost_before for b in blocks])
    assert lost_before.sum() == len({n for n in lost_numbers if n <= top})


def test_drop_when_full_counts_dropped_frames(acquisition):
    acq = acquisition(ring_frames=4, sdk_frames=64, drop_when_full=True)
    acq.start()
    time.sleep(0.2)
    counters = acq.pump.counters()
    assert counters.ring_used == 4 and counters.lost_by_reason["dropped"] > 0
    assert counters.lost_by_reason["overwritten"] == 0
    assert all(r == "dropped" for _, _, r in acq.pump.pop_losses())


def test_skipped_framenrs_are_gaps_with_callbacks(acquisition, faults):
    faults("drop_every=5")
    acq = acquisition()
    acq.start()
    blocks = take_all(acq.pump, 40)
    got = numbers(blocks)
    assert all(n % 5 for n in got)
    top = int(got[-1])
    losses = acq.pump.pop_losses()
    assert [(a, b, r) for a, b, r in losses if b <= top] == [
        (n, n, "gap") for n in range(5, top, 5)]
    lost_before = np.concatenate([b.lost_before for b in blocks])
    assert list(lost_before) == [1 if n % 5 == 1 and n > 5 else 0 for n in got]


def test_overrun_halts_the_pump_and_a_restart_continues_the_numbering(acquisition):
    acq = acquisition(ring_frames=2, sdk_frames=8, mode=int(C.CIRC_NO_OVERWRITE))
    acq.start()
    held = acq.pump.take(timeout=GENEROUS, max_frames=2)
    time.sleep(0.2)  # the host ring is full: the SDK buffer (8) overruns meanwhile
    held.release()  # the pump drains again and meets error 173
    deadline = time.monotonic() + GENEROUS
    events = 0
    while not events & PumpEvents.OVERRUN and time.monotonic() < deadline:
        events |= acq.pump.wait_event(0.5)
    assert events & PumpEvents.OVERRUN
    counters = acq.pump.counters()
    assert counters.halted and counters.error_code == 173
    assert isinstance(acq.pump.halt_error(), Exception)
    while (block := acq.pump.take(timeout=0)) is not None:  # what the ring held
        block.release()
    pending = acq.pump.counters().pending_lost  # lost before the overrun, not yet reported
    acq.restart(offset=1000, lost=5)
    live = acq.pump.take(timeout=GENEROUS, max_frames=1)
    assert live.frame_numbers[0] == 1001 and live.lost_before[0] == pending + 5
    assert acq.pump.loss_reasons(live)[0] == ("restart" if not pending else "overwritten")
    live.release()
    blocks = take_all(acq.pump, 10)
    got = numbers(blocks)  # 2 host slots, 8 SDK slots: a loaded machine may lose more here
    assert got[0] >= 1002 and np.all(np.diff(got) > 0)


def test_stop_salvages_completed_frames_and_finish_ends_readers(acquisition):
    acq = acquisition(ring_frames=512, sdk_frames=256)
    acq.start()
    take_all(acq.pump, 5)
    acq.pump.pause()
    time.sleep(0.05)  # ~45 frames wait in the SDK buffer
    latest = acq.stop_sdk()
    assert acq.pump.salvage(latest) > 10
    acq.pump.finish()
    rest = []
    while True:
        block = acq.pump.take(timeout=GENEROUS)
        if block is END:
            break
        rest.append(block.retain())
        block.release()
    assert rest and int(numbers(rest)[-1]) == latest
    assert acq.pump.take(timeout=0) is END


def test_max_frames_completes(acquisition):
    acq = acquisition(max_frames=30)
    acq.start()
    deadline = time.monotonic() + GENEROUS
    events = 0
    while not events & PumpEvents.COMPLETE and time.monotonic() < deadline:
        events |= acq.pump.wait_event(0.5)
    assert events & PumpEvents.COMPLETE
    assert acq.pump.counters().frames_delivered == 30
    assert len(numbers(take_all(acq.pump, 30))) == 30


def test_take_waits_without_the_gil(acquisition):
    acq = acquisition()  # not started: no frame will come
    ticks = []
    stop = threading.Event()

    def count():
        while not stop.is_set():
            ticks.append(1)
            time.sleep(0.001)

    thread = threading.Thread(target=count)
    thread.start()
    assert acq.pump.take(timeout=0.3) is None
    stop.set()
    thread.join()
    assert len(ticks) > 50  # the other thread ran while take() waited


def test_the_ring_restarts_at_slot_zero_when_empty(acquisition):
    acq = acquisition(ring_frames=10_000)
    acq.start()
    take_all(acq.pump, 300, max_frames=1)
    counters = acq.pump.counters()
    # the consumer kept up: only a few slots were ever written, not 300
    assert counters.ring_touched_bytes < 300 * acq.frame_bytes


def test_inconsistent_sizes_are_refused(camera):
    with pytest.raises(ValidationError):
        FramePump(camera.library, camera.handle, sdk_buffer=4096, sdk_frames=4, frame_bytes=100,
                  frame_shape=(10, 10), dtype=np.uint16, ring_frames=4)
