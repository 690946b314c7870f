"""Tests of ophyd_pvcam.engine.stream.buffers: buffer sizing, the page-aligned ring, the frame pool."""
import numpy as np
import pytest

from ophyd_pvcam.engine.stream.buffers import (
    MAX_BUFFER_BYTES,
    PAGE_SIZE,
    CircularBuffer,
    FramePool,
    plan_buffer_frames,
)
from ophyd_pvcam.engine.errors import ValidationError


def test_plan_holds_at_least_one_second_of_frames():
    assert plan_buffer_frames(1000, 0.01) == 100
    assert plan_buffer_frames(1000, 0.003) == 334


def test_plan_never_goes_below_min_frames():
    assert plan_buffer_frames(1000, 1.0) == 8
    assert plan_buffer_frames(1000, 0.0) == 8
    assert plan_buffer_frames(1000, 1.0, min_frames=20) == 20


def test_plan_scales_with_buffer_seconds():
    assert plan_buffer_frames(1000, 0.01, buffer_seconds=3.0) == 300


def test_plan_is_capped_by_the_memory_budget():
    assert plan_buffer_frames(1_000_000, 0.001, memory_budget=50_000_000) == 50


def test_plan_respects_the_uns32_size_limit_of_start_cont():
    kinetix_8bit = 3200 * 3200
    frames = plan_buffer_frames(kinetix_8bit, 0.002, memory_budget=2**40)
    assert frames * kinetix_8bit <= MAX_BUFFER_BYTES
    assert (frames + 1) * kinetix_8bit > MAX_BUFFER_BYTES


def test_plan_refuses_a_budget_below_min_frames():
    with pytest.raises(ValidationError, match="memory budget"):
        plan_buffer_frames(1_000_000, 0.01, memory_budget=7_000_000)


@pytest.mark.parametrize("kwargs", [dict(frame_bytes=0, frame_period_s=0.1),
                                    dict(frame_bytes=10, frame_period_s=0.1, min_frames=1),
                                    dict(frame_bytes=10, frame_period_s=0.1, buffer_seconds=-1)])
def test_plan_refuses_invalid_arguments(kwargs):
    with pytest.raises(ValidationError):
        plan_buffer_frames(**kwargs)


def test_circular_buffer_is_page_aligned_and_sized():
    with CircularBuffer(1234, 10) as ring:
        assert ring.address % PAGE_SIZE == 0
        assert ring.nbytes == 12340
        assert ring.view().shape == (12340,)


def test_slot_address_wraps_like_pvcam_places_frames():
    with CircularBuffer(100, 4) as ring:
        assert ring.slot_address(1) == ring.address
        assert ring.slot_address(4) == ring.address + 300
        assert ring.slot_address(5) == ring.address
        assert ring.slot_address(10) == ring.address + 100


def test_view_shares_memory_with_the_address_given_to_the_sdk():
    with CircularBuffer(16, 2) as ring:
        view = ring.view()
        view[16:20] = [1, 2, 3, 4]
        raw = np.ctypeslib.as_array((np.ctypeslib.ctypes.c_uint8 * 4).from_address(
            ring.slot_address(2)))
        assert raw.tolist() == [1, 2, 3, 4]
        del view, raw


def test_close_is_idempotent_even_after_a_view_was_taken():
    ring = CircularBuffer(4096, 3)
    view = ring.view()
    del view
    ring.close()
    ring.close()
    assert ring.closed
    with pytest.raises(ValueError):
        ring.view()


def test_circular_buffer_refuses_more_than_4_gib():
    with pytest.raises(ValidationError, match="4 GiB"):
        CircularBuffer(2**31, 2)


def test_pool_reuses_released_arrays():
    pool = FramePool((4, 5), np.uint16, capacity=2)
    first = pool.acquire()
    assert first.shape == (4, 5) and first.dtype == np.uint16
    assert pool.release(first)
    assert pool.acquire() is first
    assert pool.allocated == 1


def test_pool_allocates_instead_of_blocking_when_empty():
    pool = FramePool((2, 2), np.uint8, capacity=1)
    arrays = [pool.acquire() for _ in range(3)]
    assert len({id(a) for a in arrays}) == 3
    assert pool.allocated == 3


def test_pool_keeps_at_most_capacity_idle_arrays():
    pool = FramePool((2, 2), np.uint8, capacity=2)
    arrays = [pool.acquire() for _ in range(4)]
    kept = [pool.release(a) for a in arrays]
    assert kept == [True, True, False, False]
    assert pool.idle == 2


def test_pool_rejects_foreign_shapes_views_and_double_release():
    pool = FramePool((2, 2), np.uint16, capacity=4)
    array = pool.acquire()
    assert not pool.release(np.zeros((3, 2), np.uint16))
    assert not pool.release(np.zeros((2, 2), np.uint8))
    assert not pool.release(np.zeros((4, 2), np.uint16)[::2])
    assert pool.release(array)
    assert not pool.release(array)


def test_pool_preallocates_touched_arrays():
    pool = FramePool((8, 8), np.uint16, capacity=3, preallocate=5)
    assert pool.idle == 3 and pool.allocated == 3
