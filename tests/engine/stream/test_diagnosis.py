"""Tests of ophyd_pvcam.engine.stream.diagnosis: the stall diagnosis text, status names, restart records."""
import dataclasses

import pytest

from ophyd_pvcam.engine.stream.diagnosis import Discontinuity, describe_stall, status_name
from ophyd_pvcam.engine.stream.health import Decision, HealthMonitor


def monitor(**kwargs):
    kwargs.setdefault("stall_timeout", 2.0)
    kwargs.setdefault("camera", "pvcamUSB_0")
    mon = HealthMonitor(**kwargs)
    mon.start(0.0)
    return mon


@pytest.mark.parametrize("context, phrase", [
    (dict(sdk_status=4), "READOUT_FAILED"),
    (dict(sdk_status=0), "no longer running"),
    (dict(sdk_status=3, buffer_fill=2, buffer_frames=8), "2 unretrieved frame(s)"),
    (dict(sdk_status=1, frames_signalled=5, sdk_latest_frame=9, use_callbacks=True),
     "EOF callbacks stopped: the SDK counted frames up to FrameNr 9, the last frame the "
     "callbacks brought was FrameNr 1"),
])
def test_diagnosis_names_the_side_that_stopped(context, phrase):
    mon = monitor(stall_timeout=0.5, stall_count=1)
    mon.frame_retrieved(1, 0.1)
    assert mon.poll(1.0) is Decision.STALL
    message = describe_stall(mon.diagnostics(1.0, **context))
    assert phrase in message
    assert "after frame 1" in message


def test_polling_diagnosis_does_not_mention_callback_counts():
    mon = monitor(stall_timeout=0.5, stall_count=1)
    message = str(mon.stall_error(1.0, use_callbacks=False, frames_signalled=0))
    assert "polling (no callbacks)" in message


def test_status_names():
    assert status_name(1) == "EXPOSURE_IN_PROGRESS"
    assert status_name(None) == "unknown"
    assert status_name(42) == "STATUS_42"


def test_diagnosis_of_a_bare_snapshot_says_before_the_first_frame():
    message = describe_stall({"camera": "cam0", "stall_timeout": 1.0, "consecutive_timeouts": 2,
                              "sdk_status": 5, "use_callbacks": False})
    assert message.startswith("Camera cam0 stalled: no frame for 0.00 s before the first frame")
    assert "SDK status ACQUISITION_IN_PROGRESS" in message
    assert "the SDK frame counter did not move before the first frame" in message


def test_discontinuity_is_an_immutable_record():
    record = Discontinuity("overrun", 11, 10, 2, 5.0)
    assert (record.reason, record.first_frame, record.frames_lost) == ("overrun", 11, 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.frames_lost = 0  # type: ignore[misc]


def test_dropped_frames_before_a_stall_are_not_taken_for_stopped_callbacks():
    # drop_every=3, stall_after=10: FrameNr 3, 6, 9 never arrive, 7 callbacks for FrameNr 10.
    mon = monitor(stall_timeout=0.5, stall_count=1)
    for number in (1, 2, 4, 5, 7, 8, 10):
        mon.frame_retrieved(number, 0.1)
    assert mon.poll(1.0) is Decision.STALL
    message = describe_stall(mon.diagnostics(1.0, sdk_status=1, frames_signalled=7,
                                             sdk_latest_frame=10, use_callbacks=True))
    assert "EOF callbacks stopped" not in message
    assert "The camera stopped producing frames" in message
    assert "after frame 10" in message


def test_a_real_stall_after_dropped_frames_is_explained_as_the_camera_stopping(bsi):
    from ophyd_pvcam import sim
    from ophyd_pvcam.engine.errors import StallError
    from ophyd_pvcam.engine.stream.stream import Stream

    sim.set_faults("drop_every=3,stall_after=10")
    stream = Stream(bsi, stall_timeout=0.2, stall_count=2)
    stream.start()
    with pytest.raises(StallError) as info:
        for _frame in stream:
            pass
    assert "EOF callbacks stopped" not in str(info.value)
    assert "camera stopped producing frames" in str(info.value)
