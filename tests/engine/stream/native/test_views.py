"""ophyd_pvcam/engine/stream/native/views.py: ring views that hold their slots."""
from __future__ import annotations

import gc
import time

from ophyd_pvcam.engine.stream.native import FramePump

GENEROUS = 30.0


def test_frames_from_take_frames_hold_their_slot_until_dropped(acquisition):
    acq = acquisition(ring_frames=16, sdk_frames=256)
    acq.start()
    time.sleep(0.05)  # ~45 frames wait in the ring
    frames = None
    deadline = time.monotonic() + GENEROUS
    while not frames and time.monotonic() < deadline:
        frames = acq.pump.take_frames(timeout=1.0, max_frames=4)
    assert len(frames) == 4 and frames[0].frame_number == 1
    assert not frames[0].data.flags.owndata
    held = acq.pump.counters().ring_used
    assert held >= len(frames)
    keep = frames[0].data[::2]  # a view of a view still holds the slot
    kept_number = frames[0].frame_number
    assert FramePump.release_frame(frames[1]) and not FramePump.release_frame(frames[1])
    del frames
    gc.collect()
    assert acq.pump.counters().ring_used >= 1 and keep.shape[0] >= 1 and kept_number == 1
    del keep
    gc.collect()
    time.sleep(0.05)
    block = acq.pump.take(timeout=GENEROUS)
    assert block.frame_numbers[0] > 4
    block.release()


def test_loss_reasons_name_what_each_frame_lost_before_it(acquisition, faults):
    faults("drop_every=5")
    acq = acquisition()
    acq.start()
    reasons, numbers = [], []
    deadline = time.monotonic() + GENEROUS
    while len(numbers) < 12 and time.monotonic() < deadline:
        block = acq.pump.take(timeout=1.0)
        if block is None:
            continue
        reasons.extend(acq.pump.loss_reasons(block))
        numbers.extend(block.frame_numbers.tolist())
        block.release()
    assert [r for n, r in zip(numbers, reasons) if n == 6] == ["gap"]
    assert all(r is None for n, r in zip(numbers, reasons) if n % 5 != 1 or n == 1)
