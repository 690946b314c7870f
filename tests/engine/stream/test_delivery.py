"""Tests of ophyd_pvcam.engine.stream.delivery: the bounded frame queue and its overflow policies."""
import threading
import time

import pytest

from ophyd_pvcam.engine.stream.delivery import END, FrameQueue
from ophyd_pvcam.engine.errors import ValidationError


def test_frames_come_out_in_order():
    queue = FrameQueue(4)
    for i in range(3):
        assert queue.put(i)
    assert [queue.get(0) for _ in range(3)] == [0, 1, 2]
    assert queue.get(0) is None


def test_drop_policy_refuses_the_newest_frame_when_full():
    queue = FrameQueue(2, "drop")
    assert [queue.put(i) for i in range(4)] == [True, True, False, False]
    assert len(queue) == 2 and queue.get(0) == 0


def test_block_policy_waits_for_room():
    queue = FrameQueue(1, "block")
    queue.put("a")
    done = threading.Event()
    thread = threading.Thread(target=lambda: (queue.put("b"), done.set()))
    thread.start()
    assert not done.wait(0.05)
    assert queue.get(1) == "a"
    thread.join(10)
    assert done.is_set() and queue.get(0) == "b"


def test_interrupt_releases_a_blocked_put_without_losing_its_frame():
    queue = FrameQueue(1, "block")
    queue.put("a")
    thread = threading.Thread(target=queue.put, args=("b",))
    thread.start()
    time.sleep(0.02)
    queue.interrupt()
    thread.join(10)
    assert not thread.is_alive()
    assert [queue.get(0), queue.get(0)] == ["a", "b"]


def test_close_hands_out_remaining_frames_then_end():
    queue = FrameQueue(3)
    queue.put(1)
    queue.close()
    assert queue.closed
    assert queue.get(0) == 1
    assert queue.get(0) is END and queue.get(None) is END


def test_close_wakes_a_waiting_reader():
    queue = FrameQueue(3)
    result = []
    thread = threading.Thread(target=lambda: result.append(queue.get(None)))
    thread.start()
    time.sleep(0.02)
    queue.close()
    thread.join(10)
    assert result == [END]


@pytest.mark.parametrize("kwargs", [dict(maxsize=0), dict(maxsize=2, overflow="oldest")])
def test_invalid_queue_settings_are_refused(kwargs):
    with pytest.raises(ValidationError):
        FrameQueue(**kwargs)
