"""Finite acquisitions (ophyd_pvcam/engine/camera/sequence.py)."""
from __future__ import annotations

import numpy as np
import pytest

from ophyd_pvcam import sim
from ophyd_pvcam.engine.errors import (AcquisitionError, AcquisitionTimeoutError,
                                       CameraRemovedError, ValidationError)
from ophyd_pvcam.engine.frame import Frame
from ophyd_pvcam.engine.camera.sequence import (MAX_FRAMES_PER_SEQUENCE, acquire_sequence,
                                         default_frame_timeout, plan_chunks)
from ophyd_pvcam.engine.camera.session import session_count


def test_plan_chunks_respects_the_frame_and_byte_limits():
    assert plan_chunks(10, 4096) == [10]
    assert plan_chunks(70000, 8) == [MAX_FRAMES_PER_SEQUENCE, 70000 - MAX_FRAMES_PER_SEQUENCE]
    assert plan_chunks(131070, 8) == [MAX_FRAMES_PER_SEQUENCE] * 2
    assert plan_chunks(10, 1000, max_bytes=3000) == [3, 3, 3, 1]
    with pytest.raises(ValidationError):
        plan_chunks(1, 5000, max_bytes=4096)


def test_default_timeout_is_generous(bsi):
    settings = bsi.acquisition_settings()
    assert default_frame_timeout(settings) >= 5 + 3 * settings.frame_period_s


def test_snap_returns_one_stamped_frame(bsi, stamp):
    frame = bsi.snap()
    assert frame.shape == (32, 64) and frame.dtype == np.uint16
    assert stamp(frame) == 1
    assert not bsi.acquiring


def test_snap_on_every_model(model_camera, stamp):
    model_camera.roi = (0, 0, 32, 16)
    model_camera.exposure_time = 0.001
    frame = model_camera.snap()
    assert frame.shape == (16, 32)
    assert stamp(frame) == 1


def test_ten_frames_arrive_in_order(bsi, stamp):
    frames = acquire_sequence(bsi, 10)
    assert frames.shape == (10, 32, 64)
    assert [stamp(f) for f in frames] == list(range(1, 11))


def test_two_snaps_differ_in_their_noise_and_no_pixel_is_a_counter(bsi):
    first, second = bsi.snap(), bsi.snap()   # both FrameNr 1: only the noise can differ
    assert not np.array_equal(first, second)
    assert min(first.min(), second.min()) > 50   # nothing below the ~100 ADU offset


def test_frames_carry_image_content_beyond_the_stamp(bsi):
    frame = bsi.snap()
    # The simulator's offset is ~100 ADU; the stamp only occupies pixels 0 and 1.
    assert 50 < np.median(frame) < 5000


def test_consumer_receives_frames_one_by_one(bsi, stamp):
    received: list[Frame] = []
    assert acquire_sequence(bsi, 10, consumer=received.append) is None
    assert [f.frame_number for f in received] == list(range(1, 11))
    assert [f.index for f in received] == list(range(10))
    assert [stamp(f.data) for f in received] == list(range(1, 11))
    assert all(f.data.shape == (32, 64) and f.host_time > 0 for f in received)
    # Each frame owns its pixels.
    assert not np.shares_memory(received[0].data, received[1].data)


def test_software_edge_sequence_triggers_every_frame(bsi, stamp):
    frames = acquire_sequence(bsi, 5, trigger="software_edge", timeout=5)
    assert [stamp(f) for f in frames] == [1, 2, 3, 4, 5]
    assert bsi.exposure_mode == "internal"  # the override was for that sequence only


def test_software_first_sequence_needs_one_trigger(bsi, stamp):
    bsi.exposure_mode = "software_first"
    frames = acquire_sequence(bsi, 4, timeout=5)
    assert [stamp(f) for f in frames] == [1, 2, 3, 4]


def test_missing_external_trigger_times_out_and_leaves_the_camera_idle(bsi, stamp):
    with pytest.raises(AcquisitionTimeoutError, match="no frame"):
        acquire_sequence(bsi, 3, trigger="edge_rising", timeout=0.3)
    assert not bsi.acquiring
    assert stamp(bsi.snap()) == 1


def test_consumer_error_aborts_the_sequence_and_propagates(bsi, stamp):
    def consumer(frame):
        if frame.index == 2:
            raise KeyError("consumer failed")

    with pytest.raises(KeyError):
        acquire_sequence(bsi, 50, consumer=consumer)
    assert not bsi.acquiring
    assert [stamp(f) for f in acquire_sequence(bsi, 2)] == [1, 2]


def test_settings_cannot_change_during_a_sequence(bsi):
    attempts = []

    def consumer(frame):
        try:
            bsi.exposure_time = 0.005
        except ValidationError as exc:
            attempts.append(exc)

    acquire_sequence(bsi, 2, consumer=consumer)
    assert len(attempts) == 2
    assert bsi.exposure_time == 0.001


def test_second_acquisition_on_a_busy_camera_is_refused(bsi):
    def consumer(frame):
        with pytest.raises(AcquisitionError, match="already acquiring"):
            acquire_sequence(bsi, 1)

    acquire_sequence(bsi, 1, consumer=consumer)


@pytest.mark.parametrize("count", [0, -1, 2.5, "3", True])
def test_invalid_frame_counts_are_refused(bsi, count):
    with pytest.raises(ValidationError):
        acquire_sequence(bsi, count)


def test_invalid_trigger_is_refused_before_acquiring(bsi):
    with pytest.raises(ValidationError):
        acquire_sequence(bsi, 1, trigger="whenever")
    assert not bsi.acquiring


def test_eight_bit_sequence_is_stamped(kinetix, stamp):
    kinetix.readout_port = "Speed"
    kinetix.roi = (0, 0, 64, 32)
    kinetix.exposure_time = 0.001
    frames = acquire_sequence(kinetix, 3)
    assert frames.dtype == np.uint8
    assert [stamp(f) for f in frames] == [1, 2, 3]


@pytest.mark.slow
def test_seventy_thousand_tiny_frames_chain_sequences(bsi, stamp):
    bsi.roi = (0, 0, 16, 4)
    bsi.exposure_time = 1e-5
    frames = acquire_sequence(bsi, 70000)
    assert frames.shape == (70000, 4, 16)
    stamps = frames.reshape(70000, -1)[:, :2].astype(np.uint32)
    numbers = stamps[:, 0] | (stamps[:, 1] << 16)
    chunks = plan_chunks(70000, bsi.acquisition_settings().frame_bytes)
    expected = np.concatenate([np.arange(1, n + 1, dtype=np.uint32) for n in chunks])
    assert len(chunks) == 2
    np.testing.assert_array_equal(numbers, expected)
    assert stamp(frames[-1]) == chunks[-1]


@pytest.mark.slow
def test_seventy_thousand_frames_to_a_consumer_number_across_chunks(bsi):
    bsi.roi = (0, 0, 16, 4)
    bsi.exposure_time = 1e-5
    numbers = []
    acquire_sequence(bsi, 70000, consumer=lambda f: numbers.append(f.frame_number))
    assert numbers == list(range(1, 70001))


def test_unplugged_camera_raises_camera_removed_and_still_closes(bsi, library):
    sim.set_faults("unplug_after=3")
    received = []
    with pytest.raises(CameraRemovedError):
        acquire_sequence(bsi, 10, timeout=5, consumer=received.append)
    # Frames seen before the removal was noticed are delivered, in order.
    assert [f.frame_number for f in received] == list(range(1, len(received) + 1))
    assert len(received) <= 3
    assert not bsi.acquiring
    bsi.close()
    assert bsi.closed and session_count(library) == 0


def test_stalled_camera_times_out_after_the_frames_it_delivered(bsi, stamp):
    sim.set_faults("stall_after=4")
    received = []
    with pytest.raises(AcquisitionTimeoutError, match="after 4"):
        acquire_sequence(bsi, 10, timeout=0.3, consumer=received.append)
    assert [stamp(f.data) for f in received] == [1, 2, 3, 4]
    sim.set_faults("")
    assert stamp(bsi.snap()) == 1
