"""FrameBlock: the batch of frames the hot path moves."""
import threading

import numpy as np
import pytest

from ophyd_pvcam.engine import Frame, FrameBlock


def _frames(n, first_index=0, shape=(4, 3)):
    return [Frame(frame_number=10 + i, data=np.full(shape, i, np.uint16), timestamp_bof=100 * i,
                  timestamp_eof=100 * i + 5, readout_time=7, host_time=1000.0 + i,
                  index=first_index + i, lost_before=(2 if i == 1 else 0)) for i in range(n)]


def test_from_frames_stacks_pixels_and_ledger():
    block = FrameBlock.from_frames(_frames(3, first_index=5))
    assert block.data.shape == (3, 4, 3)
    assert block.frame_shape == (4, 3)
    assert block.frame_numbers.tolist() == [10, 11, 12]
    assert block.timestamp_eof.tolist() == [5, 105, 205]
    assert block.host_time.dtype == np.float64
    assert block.indices.tolist() == [5, 6, 7]
    assert block.lost == 2


def test_frames_round_trip_to_the_same_records():
    frames = _frames(3, first_index=2)
    back = list(FrameBlock.from_frames(frames).frames())
    for a, b in zip(frames, back):
        assert (a.frame_number, a.index, a.lost_before, a.timestamp_bof, a.host_time) == \
            (b.frame_number, b.index, b.lost_before, b.timestamp_bof, b.host_time)
        assert np.array_equal(a.data, b.data)


def test_from_frames_refuses_non_consecutive_indices():
    frames = _frames(3)
    frames[2].index = 7
    with pytest.raises(ValueError, match="not consecutive"):
        FrameBlock.from_frames(frames)


def test_ledger_length_must_match_data():
    with pytest.raises(ValueError, match="frame_numbers"):
        FrameBlock(np.zeros((3, 2, 2)), frame_numbers=[1, 2])
    with pytest.raises(ValueError, match="height, width"):
        FrameBlock(np.zeros((2, 2)), frame_numbers=[1, 2])


def test_release_calls_the_owner_exactly_once_across_threads():
    calls = []
    block = FrameBlock(np.zeros((2, 2, 2)), frame_numbers=[1, 2], release=lambda: calls.append(1))
    threads = [threading.Thread(target=block.release, name=f"release-{i}") for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == [1]
    assert block.released


def test_retain_copies_so_the_owner_may_reuse_its_memory():
    ring = np.arange(2 * 2 * 2, dtype=np.uint16).reshape(2, 2, 2)
    block = FrameBlock(ring, frame_numbers=[1, 2], first_index=4)
    kept = block.retain()
    ring[:] = 0
    assert kept.data.sum() == sum(range(8))
    assert kept.first_index == 4


def test_split_keeps_indices_and_ledger_on_both_sides():
    block = FrameBlock.from_frames(_frames(5, first_index=3))
    head, tail = block.split(2)
    assert head.indices.tolist() == [3, 4] and tail.indices.tolist() == [5, 6, 7]
    assert tail.frame_numbers.tolist() == [12, 13, 14]
    assert head.lost == 2 and tail.lost == 0
    with pytest.raises(ValueError):
        block.split(6)


def test_context_manager_releases():
    calls = []
    with FrameBlock(np.zeros((1, 2, 2)), frame_numbers=[1], release=lambda: calls.append(1)):
        pass
    assert calls == [1]
