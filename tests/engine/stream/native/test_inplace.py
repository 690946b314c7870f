"""ophyd_pvcam/engine/stream/native/src/inplace.c via FramePump(inplace=True): continuous zero copy.

Frames are handed out where the camera wrote them (the SDK's circular buffer)
while the consumer keeps up; the camera overwrites a slot whether or not its
frame was unlocked (reference 7.2), so what it reached before a release is
counted lost, exactly, and untaken frames a stuck reader would lose are copied
out by the pump.
"""
from __future__ import annotations

import time

import numpy as np
import pytest

from ophyd_pvcam.engine.stream.delivery import END

GENEROUS = 30.0


def wait_for(predicate, what: str) -> None:
    """Wait (generously) until ``predicate()``; fail naming ``what`` otherwise."""
    deadline = time.monotonic() + GENEROUS
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.005)


def stamps(block) -> list[int]:
    """The FrameNr the simulator's test stamp wrote into each frame's first 4 bytes."""
    raw = np.ascontiguousarray(block.data.reshape(len(block), -1)).view(np.uint8)
    return [int(row[:4].view("<u4")[0]) for row in raw]


#: Exposure of the tests on 16- and 32-frame buffers: the pump copies a frame out of
#: its slot once the camera is a quarter buffer past it (a reader it deems stuck), so
#: at the fixture's ~900 fps a test thread that took 5 ms too long to take its block
#: (a loaded machine) got copies instead of frames in place.  At 40 fps a quarter
#: buffer is 100 ms or more.
SLOW_EXPOSURE = 0.025


def in_sdk_buffer(acq, block) -> bool:
    """True when the block's pixels lie in the SDK's circular buffer, at the frames' slots."""
    address = block.data.ctypes.data
    first = int(block.frame_numbers[0])
    return address == acq.sdk_ring.slot_address(first)


@pytest.mark.parametrize("use_callbacks", [True, False], ids=["callbacks", "polling"])
def test_frames_in_place_are_the_sdk_buffer_slots_the_camera_wrote(frame_stamp, acquisition,
                                                                  use_callbacks):
    acq = acquisition(sdk_frames=512, ring_frames=512, inplace=True,
                      use_callbacks=use_callbacks, poll_interval=0.0005)
    acq.start()
    got = []
    while len(got) < 300:
        block = acq.pump.take(timeout=GENEROUS)
        assert block is not None and block is not END
        assert in_sdk_buffer(acq, block)  # no copy: the SDK's own memory
        assert stamps(block) == block.frame_numbers.tolist()
        got.extend(block.frame_numbers.tolist())
        block.release()
    assert got == list(range(1, len(got) + 1))
    counters = acq.pump.counters()
    assert counters.frames_inplace >= 300 and counters.frames_copied == 0
    assert counters.held_overwritten == 0 and counters.untaken_overwritten == 0
    assert sum(counters.lost_by_reason.values()) == 0


def test_held_frames_the_camera_overwrites_are_counted_lost_exactly(frame_stamp, acquisition,
                                                                    camera):
    camera.exposure_time = SLOW_EXPOSURE
    acq = acquisition(sdk_frames=32, ring_frames=4096, inplace=True)
    acq.start()
    held = acq.pump.take(timeout=GENEROUS, max_frames=4)
    assert in_sdk_buffer(acq, held)
    first, last = int(held.frame_numbers[0]), int(held.frame_numbers[-1])
    # the camera laps the 32-frame buffer while the block is held
    wait_for(lambda: acq.pump.counters().signalled_latest >= last + 32 + 8, "two laps")
    while (other := acq.pump.take(timeout=0)) is not None:  # later frames flow meanwhile
        other.release()
    before = acq.pump.counters()
    acq.pump.pop_losses()
    held.release()
    after = acq.pump.counters()
    assert after.held_overwritten - before.held_overwritten == len(held)
    assert (after.lost_by_reason["overwritten"] - before.lost_by_reason["overwritten"]
            == len(held))
    assert (first, last, "overwritten") in acq.pump.pop_losses()


def test_a_block_released_in_time_loses_nothing_and_releases_in_any_order(frame_stamp,
                                                                          acquisition):
    acq = acquisition(sdk_frames=2048, ring_frames=4096, inplace=True)
    acq.start()
    a = acq.pump.take(timeout=GENEROUS, max_frames=3)
    b = acq.pump.take(timeout=GENEROUS, max_frames=3)
    a_numbers, b_numbers = a.frame_numbers.tolist(), b.frame_numbers.tolist()
    assert b_numbers[0] == a_numbers[-1] + 1
    b.release()  # out of order: a's slots still held
    assert stamps(a) == a_numbers and a.frame_numbers.tolist() == a_numbers
    a.release()
    got = []
    while len(got) < 50:
        block = acq.pump.take(timeout=GENEROUS)
        got.extend(block.frame_numbers.tolist())
        block.release()
    assert got[0] == b_numbers[-1] + 1 and np.all(np.diff(got) == 1)
    counters = acq.pump.counters()
    assert counters.held_overwritten == 0 and sum(counters.lost_by_reason.values()) == 0
    assert counters.ring_used <= counters.frames_delivered  # the tail passed a and b


def test_frames_a_stuck_reader_left_are_copied_out_before_the_camera_comes_back(frame_stamp,
                                                                               acquisition):
    acq = acquisition(sdk_frames=64, ring_frames=4096, inplace=True)
    acq.start()
    # nobody takes for three laps of the SDK buffer
    wait_for(lambda: acq.pump.counters().signalled_latest >= 3 * 64, "three laps")
    got, copied = [], 0
    while len(got) < 150:
        block = acq.pump.take(timeout=GENEROUS)
        assert stamps(block) == block.frame_numbers.tolist()  # intact, wherever they are
        copied += 0 if in_sdk_buffer(acq, block) else len(block)
        got.extend(block.frame_numbers.tolist())
        block.release()
    counters = acq.pump.counters()
    assert got[:150] == list(range(1, 151))  # nothing lost
    assert copied >= 64 and counters.frames_copied >= copied
    assert sum(counters.lost_by_reason.values()) == 0


def test_a_block_held_across_stop_stays_readable_and_is_checked_against_the_last_frame(
        frame_stamp, acquisition):
    acq = acquisition(sdk_frames=1024, ring_frames=4096, inplace=True)
    acq.start()
    held = acq.pump.take(timeout=GENEROUS, max_frames=5)
    numbers = held.frame_numbers.tolist()
    latest = acq.stop_sdk()  # pause, stop, tell the pump the last FrameNr
    acq.pump.salvage(latest)
    acq.pump.finish()
    acq.pump.deregister_eof()
    acq.pump.close()  # the thread is gone; the block still holds the buffer
    assert stamps(held) == numbers
    held.release()  # checked against the stopped camera: intact
    counters = acq.pump.counters()
    assert counters.held_overwritten == 0
    while (block := acq.pump.take(timeout=0)) not in (None, END):
        assert stamps(block) == block.frame_numbers.tolist()
        block.release()


def test_a_release_while_paused_never_waits_and_is_checked_at_the_stop(frame_stamp,
                                                                       acquisition,
                                                                       camera):
    camera.exposure_time = SLOW_EXPOSURE
    acq = acquisition(sdk_frames=16, ring_frames=4096, inplace=True)
    acq.start()
    held = acq.pump.take(timeout=GENEROUS, max_frames=3)
    last = int(held.frame_numbers[-1])
    acq.pump.pause()  # as the supervisor does before it stops the SDK: the camera runs on
    wait_for(lambda: acq.pump.counters().signalled_latest >= last + 16 + 4, "a lap")
    held.release()  # returns at once (it may run in a finalizer on the supervisor's thread)
    assert acq.pump.counters().held_overwritten == 0  # not known yet
    latest = acq.stop_sdk()  # the SDK's last FrameNr: the deferred check runs
    assert latest >= last + 16
    assert acq.pump.counters().held_overwritten == len(held)


def test_restart_while_frames_are_held_checks_them_across_epochs(frame_stamp, acquisition,
                                                                 camera):
    camera.exposure_time = SLOW_EXPOSURE
    acq = acquisition(sdk_frames=16, ring_frames=4096, inplace=True)
    acq.start()
    held = acq.pump.take(timeout=GENEROUS, max_frames=3)
    last = int(held.frame_numbers[-1])
    acq.restart(offset=1000)  # the new epoch writes from slot 0 again
    wait_for(lambda: acq.pump.counters().signalled_latest >= 16 + 4, "a lap of the new epoch")
    held.release()
    counters = acq.pump.counters()
    assert counters.held_overwritten == len(held)  # the new epoch wrote over their slots
    assert last < 16
