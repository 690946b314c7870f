"""ByteQueue: a FIFO bounded by the bytes it holds (until done) and optionally by frames."""
from __future__ import annotations

import queue
import threading

import pytest

from ophyd_pvcam.storage.bytequeue import ByteQueue


def test_items_come_out_in_order_with_their_byte_counts():
    fifo = ByteQueue(max_bytes=100)
    assert fifo.put("a", 10) and fifo.put("b", 20, frames=3)
    fifo.put_control("stop")
    assert [fifo.get(timeout=0) for _ in range(3)] == [("a", 10), ("b", 20), ("stop", 0)]
    with pytest.raises(queue.Empty):
        fifo.get(timeout=0)


def test_bytes_stay_counted_until_done_so_the_bound_covers_items_being_written():
    fifo = ByteQueue(max_bytes=100)
    assert fifo.put("a", 60)
    item, nbytes = fifo.get(timeout=0)
    assert fifo.bytes == 60
    # Taken but not done: a 50-byte item does not fit next to it.
    assert not fifo.put("b", 50, timeout=0.05)
    fifo.done(nbytes)
    assert fifo.bytes == 0
    assert fifo.put("b", 50, timeout=0)
    assert fifo.bytes_high_water == 60


def test_a_full_queue_makes_put_wait_until_room_is_made():
    fifo = ByteQueue(max_bytes=100)
    fifo.put("a", 80)
    returned = threading.Event()

    def put_big() -> None:
        fifo.put("b", 80)
        returned.set()

    producer = threading.Thread(target=put_big, name="bytequeue-producer")
    producer.start()
    assert not returned.wait(0.1)        # still full
    _, nbytes = fifo.get(timeout=0)
    fifo.done(nbytes)
    producer.join(60)
    assert returned.is_set()
    assert fifo.get(timeout=0) == ("b", 80)


def test_an_item_bigger_than_the_bound_fits_an_empty_queue_only():
    fifo = ByteQueue(max_bytes=100)
    assert fifo.put("huge", 1000, timeout=0)
    assert not fifo.put("small", 1, timeout=0)
    _, nbytes = fifo.get(timeout=0)
    fifo.done(nbytes)
    assert fifo.put("small", 1, timeout=0)


def test_the_frame_bound_counts_frames_waiting_not_taken():
    fifo = ByteQueue(max_bytes=10 ** 9, max_frames=2)
    assert fifo.put("a", 1) and fifo.put("b", 1)
    assert not fifo.put("c", 1, timeout=0)
    fifo.get(timeout=0)                  # taken: no longer waiting, bytes still held
    assert fifo.frames == 1
    assert fifo.put("c", 1, timeout=0)


def test_control_items_never_wait():
    fifo = ByteQueue(max_bytes=10)
    fifo.put("a", 10)
    fifo.put_control("flush")
    assert len(fifo) == 2 and fifo.bytes == 10


@pytest.mark.parametrize("kwargs", [dict(max_bytes=0), dict(max_bytes=10, max_frames=0)])
def test_bounds_must_be_positive(kwargs):
    with pytest.raises(ValueError):
        ByteQueue(**kwargs)
