"""Tests of ophyd_pvcam.engine.stream.health: the stall / frame-loss state machine, replayed without hardware.

Time is an argument of every event, so each scenario below is a deterministic
script of what the frame loop would report.
"""
import pytest

from ophyd_pvcam.engine.errors import StallError, ValidationError
from ophyd_pvcam.engine.stream.health import (
    Decision,
    HealthMonitor,
    default_stall_timeout,
)


def monitor(**kwargs):
    kwargs.setdefault("stall_timeout", 2.0)
    kwargs.setdefault("camera", "pvcamUSB_0")
    mon = HealthMonitor(**kwargs)
    mon.start(0.0)
    return mon


def test_default_stall_timeout_is_two_seconds_or_ten_frame_periods():
    assert default_stall_timeout(0.01) == 2.0
    assert default_stall_timeout(0.5) == 5.0
    assert default_stall_timeout(None) == 2.0
    assert default_stall_timeout(0.0) == 2.0


def test_contiguous_frames_are_numbered_like_the_sdk_and_nothing_is_lost():
    mon = monitor()
    numbers = [mon.frame_retrieved(n, 0.1 * n) for n in range(1, 6)]
    assert numbers == [1, 2, 3, 4, 5]
    assert mon.frames_lost == 0 and mon.take_lost_before() == 0
    assert mon.next_sdk_frame == 6


def test_framenr_gap_counts_exactly_the_missing_numbers():
    mon = monitor()
    mon.frame_retrieved(1, 0.1)
    mon.frame_retrieved(2, 0.2)
    assert mon.frame_retrieved(5, 0.3) == 5
    assert mon.lost_frame_numbers == (3, 4)
    assert mon.lost_by_reason == {"gap": 2}
    assert mon.take_lost_before() == 2
    assert mon.take_lost_before() == 0


def test_frame_retrieved_twice_is_refused():
    mon = monitor()
    mon.frame_retrieved(1, 0.1)
    with pytest.raises(ValueError, match="out of order"):
        mon.frame_retrieved(1, 0.2)


def test_field_report_scenario_four_frames_then_silence_becomes_a_stall():
    mon = monitor(stall_timeout=2.0, stall_count=3)
    for n in range(1, 5):
        mon.frame_retrieved(n, 0.1 * n)
    assert mon.poll(1.0) is Decision.WAIT
    assert mon.deadline == pytest.approx(2.4)
    assert mon.poll(2.5) is Decision.TIMEOUT
    assert mon.poll(3.0) is Decision.WAIT
    assert mon.poll(4.6) is Decision.TIMEOUT
    assert mon.poll(6.7) is Decision.STALL
    error = mon.stall_error(6.7, frames_signalled=4, frames_delivered=4, sdk_status=2,
                            buffer_frames=16, buffer_fill=0, buffer_mode="CIRC_NO_OVERWRITE",
                            use_callbacks=True, sdk_latest_frame=4)
    assert isinstance(error, StallError)
    assert "after frame 4" in str(error)
    assert "pvcamUSB_0" in str(error)
    diag = error.diagnostics
    assert diag["last_frame_number"] == 4
    assert diag["frames_signalled"] == 4 and diag["frames_retrieved"] == 4
    assert diag["frames_delivered"] == 4
    assert diag["sdk_status_name"] == "READOUT_IN_PROGRESS"
    assert diag["seconds_since_last_frame"] == pytest.approx(6.3)
    assert diag["stall_timeout"] == 2.0 and diag["stall_count"] == 3
    assert diag["buffer_mode"] == "CIRC_NO_OVERWRITE" and diag["camera"] == "pvcamUSB_0"
    assert "camera stopped producing frames" in str(error)


def test_a_frame_resets_the_consecutive_timeouts():
    mon = monitor(stall_timeout=1.0, stall_count=2)
    assert mon.poll(1.0) is Decision.TIMEOUT
    mon.frame_retrieved(1, 1.5)
    assert mon.consecutive_timeouts == 0
    assert mon.poll(2.6) is Decision.TIMEOUT
    assert mon.poll(3.6) is Decision.STALL


def test_recovery_restarts_numbering_monotonically_and_records_a_discontinuity():
    mon = monitor(stall_timeout=1.0, stall_count=1, max_recoveries=1)
    for n in range(1, 6):
        mon.frame_retrieved(n, 0.01 * n)
    assert mon.poll(1.1) is Decision.RECOVER
    record = mon.restart("stall", sdk_last_frame=5, now=1.2)
    assert record.first_frame == 6 and record.frames_lost == 0 and record.reason == "stall"
    assert mon.recoveries == 1
    assert mon.frame_retrieved(1, 1.3) == 6
    assert mon.frame_retrieved(2, 1.4) == 7
    assert mon.poll(2.5) is Decision.STALL
    assert mon.discontinuities == (record,)


def test_overrun_restart_counts_unretrieved_frames_as_lost():
    mon = monitor()
    for n in range(1, 11):
        mon.frame_retrieved(n, 0.01 * n)
    record = mon.restart("overrun", sdk_last_frame=40, now=1.0)
    assert record.frames_lost == 30 and record.first_frame == 41
    assert mon.lost_frame_numbers == tuple(range(11, 41))
    assert mon.lost_by_reason == {"overrun": 30}
    assert mon.recoveries == 0
    assert mon.frame_retrieved(1, 1.1) == 41
    assert mon.take_lost_before() == 30


def test_restart_without_frames_still_moves_numbering_past_known_frames():
    mon = monitor()
    mon.restart("stall", sdk_last_frame=0, now=1.0)
    assert mon.frame_retrieved(1, 1.1) == 1


def test_explicit_loss_advances_the_expected_frame():
    mon = monitor()
    mon.frame_retrieved(1, 0.1)
    assert mon.frames_lost_sdk(2, 3, "overwritten") == 2
    assert mon.frame_retrieved(4, 0.2) == 4
    assert mon.lost_frame_numbers == (2, 3)
    assert mon.frames_lost_sdk(1, 3, "overwritten") == 0


def test_lost_numbers_are_capped_but_the_count_is_exact():
    mon = monitor(lost_numbers_cap=5)
    mon.frame_retrieved(1, 0.1)
    mon.frame_retrieved(100, 0.2)
    assert mon.frames_lost == 98
    assert mon.lost_frame_numbers == (2, 3, 4, 5, 6)


def test_dropped_frames_are_counted_separately_and_feed_lost_before():
    mon = monitor()
    mon.frame_retrieved(1, 0.1)
    mon.frame_dropped(1)
    mon.frame_retrieved(2, 0.2)
    assert mon.frames_dropped == 1 and mon.frames_lost == 0
    assert mon.dropped_frame_numbers == (1,)
    assert mon.take_lost_before() == 1


def test_stall_before_any_frame_says_so():
    mon = monitor(stall_timeout=0.5, stall_count=1)
    assert mon.poll(0.6) is Decision.STALL
    assert "before the first frame" in str(mon.stall_error(0.6))


@pytest.mark.parametrize("kwargs", [dict(stall_timeout=0), dict(stall_timeout=1, stall_count=0),
                                    dict(stall_timeout=1, max_recoveries=-1)])
def test_invalid_settings_are_refused(kwargs):
    with pytest.raises(ValidationError):
        HealthMonitor(**kwargs)


def test_a_native_pump_reports_batches_and_exact_loss_ranges():
    mon = HealthMonitor(stall_timeout=1.0)
    mon.start(0.0)
    mon.frames_retrieved_batch(4, 4, 0.5)  # frames 1..4
    mon.frames_lost_reported(5, 6, "gap")
    mon.frames_retrieved_batch(9, 3, 0.6)  # 7..9
    mon.frames_lost_reported(10, 10, "overwritten")  # reported after frame 11 was retrieved
    mon.frames_retrieved_batch(11, 1, 0.7)
    assert mon.frames_retrieved == 8 and mon.frames_lost == 3
    assert mon.lost_frame_numbers == (5, 6, 10)
    assert mon.lost_by_reason == {"gap": 2, "overwritten": 1}
    assert mon.last_frame_number == 11 and mon.next_sdk_frame == 12
    assert mon.deadline == 1.7  # the last frame reset the stall clock
    mon.frames_dropped_reported(12, 14)
    assert mon.frames_dropped == 3 and mon.dropped_frame_numbers == (12, 13, 14)
