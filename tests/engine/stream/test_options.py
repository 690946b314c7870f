"""Tests of ophyd_pvcam.engine.stream.options: stream options are validated before the camera is touched."""
import pytest

from ophyd_pvcam.engine.errors import ValidationError
from ophyd_pvcam.engine.stream.options import MAX_POLL_INTERVAL, MIN_POLL_INTERVAL, StreamOptions
from ophyd_pvcam.sdk import constants as C


def test_defaults_follow_the_contract():
    opts = StreamOptions()
    assert opts.forced_mode is None and opts.use_callbacks is True
    assert opts.buffer_seconds == 1.0 and opts.min_buffer_frames == 8
    assert opts.stall_count == 3 and opts.max_recoveries == 0
    # queue_size: issue 9 sizes the native pump's host ring from the memory budget, so
    # the default is None; the Python pump's queue keeps its 64 frames.
    assert opts.queue_size is None and opts.python_queue_size == 64
    assert opts.overflow == "block" and opts.max_frames is None
    assert opts.pump == "auto" and opts.host_ring_bytes is None


def test_pump_choice_is_validated_and_auto_means_native_when_built():
    from ophyd_pvcam.engine.stream.native import is_available
    assert StreamOptions(pump="python").native is False
    assert StreamOptions(pump="auto").native is is_available()
    assert StreamOptions(pump="native").native is True  # built in this checkout
    with pytest.raises(ValidationError):
        StreamOptions(pump="cython")


def test_stall_timeout_defaults_to_two_seconds_or_ten_frame_periods():
    assert StreamOptions().stall_timeout_for(0.01) == 2.0
    assert StreamOptions().stall_timeout_for(1.0) == 10.0
    assert StreamOptions(stall_timeout=0.3).stall_timeout_for(1.0) == 0.3


def test_poll_interval_is_half_a_frame_period_within_bounds():
    assert StreamOptions().poll_interval_for(0.004) == 0.002
    assert StreamOptions().poll_interval_for(0.0001) == MIN_POLL_INTERVAL
    assert StreamOptions().poll_interval_for(1.0) == MAX_POLL_INTERVAL
    assert StreamOptions(poll_interval=0.05).poll_interval_for(1.0) == 0.05


def test_forced_mode_is_parsed():
    assert StreamOptions(buffer_mode="no_overwrite").forced_mode == C.CIRC_NO_OVERWRITE


@pytest.mark.parametrize("kwargs", [
    dict(buffer_mode="ring"), dict(buffer_seconds=-1), dict(buffer_seconds=float("nan")),
    dict(min_buffer_frames=1), dict(memory_budget=0), dict(stall_timeout=0),
    dict(stall_count=0), dict(max_recoveries=-1), dict(queue_size=0), dict(overflow="oldest"),
    dict(max_frames=0), dict(max_frames=2.5), dict(poll_interval=-1), dict(stall_count=True),
    dict(lost_numbers_cap=-1), dict(host_ring_bytes=0),
])
def test_invalid_options_are_refused(kwargs):
    with pytest.raises(ValidationError):
        StreamOptions(**kwargs)
