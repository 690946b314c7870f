"""FrameProgressStatus: per-frame progress for bluesky's progress bars, failure carrying the error."""
from __future__ import annotations

import pytest
from bluesky.utils import TerminalProgressBar
from ophyd import Device

from ophyd_pvcam.device.status import FrameProgressStatus
from ophyd_pvcam.engine.errors import StallError


@pytest.fixture
def device() -> Device:
    return Device(name="cam")


def _recorder():
    calls: list[dict] = []
    return calls, lambda **kwargs: calls.append(kwargs)


def test_watch_reports_every_new_frame_with_the_keys_a_progress_bar_needs(device):
    status = FrameProgressStatus(device, target=5)
    calls, watcher = _recorder()
    status.watch(watcher)
    for frames in range(1, 6):
        status.update(frames)
    status.set_finished()
    status.wait(5)
    assert [c["current"] for c in calls] == [0, 1, 2, 3, 4, 5, 5]
    assert {(c["initial"], c["target"], c["name"], c["unit"]) for c in calls} == {(0, 5, "cam", "frames")}
    # ophyd convention: fraction is the fraction *remaining*.
    assert [c["fraction"] for c in calls[:6]] == pytest.approx([1.0, 0.8, 0.6, 0.4, 0.2, 0.0])
    assert all(c["time_elapsed"] >= 0 for c in calls)
    assert calls[0]["time_remaining"] is None      # no rate before the first frame
    assert calls[5]["time_remaining"] == 0.0


def test_progress_is_relative_to_the_initial_count(device):
    status = FrameProgressStatus(device, target=110, initial=100)
    calls, watcher = _recorder()
    status.watch(watcher)
    status.update(105)
    assert (calls[-1]["current"], calls[-1]["initial"], calls[-1]["target"]) == (105, 100, 110)
    assert calls[-1]["fraction"] == pytest.approx(0.5)


def test_repeated_or_lower_counts_are_not_reported_again(device):
    status = FrameProgressStatus(device, target=10)
    calls, watcher = _recorder()
    status.watch(watcher)
    status.update(3)
    status.update(3)
    status.update(2)
    assert [c["current"] for c in calls] == [0, 3]
    assert status.current == 3


def test_unbounded_status_reports_counts_without_target_or_fraction(device):
    status = FrameProgressStatus(device, target=None)
    calls, watcher = _recorder()
    status.watch(watcher)
    status.update(7)
    assert status.target is None
    assert (calls[-1]["current"], calls[-1]["target"], calls[-1]["fraction"]) == (7, None, None)


def test_a_failing_watcher_does_not_stop_the_updates(device):
    status = FrameProgressStatus(device, target=3)
    calls, good = _recorder()

    def bad(**kwargs):
        raise RuntimeError("broken progress bar")

    status.watch(bad)
    status.watch(good)
    status.update(1)
    assert calls[-1]["current"] == 1


def test_failure_carries_the_error_and_names_it_in_the_repr(device):
    status = FrameProgressStatus(device, target=4)
    status.update(2)
    error = StallError("camera stalled after frame 2", {"last_frame": 2})
    status.set_exception(error)
    with pytest.raises(StallError):
        status.wait(5)
    assert status.done and not status.success
    assert status.exception() is error
    # bluesky copies repr(status) into the stop document's "reason".
    assert "StallError" in repr(status) and "stalled after frame 2" in repr(status)
    assert "2/4" in repr(status)


def test_terminal_progress_bar_draws_a_real_bar_from_the_watch_values(device, capsys):
    status = FrameProgressStatus(device, target=5)
    bar = TerminalProgressBar([status], delay_draw=0)
    status.update(3)
    assert "60%" in bar.meters[0] and "3.0/5.0" in bar.meters[0]
    assert "frames" in bar.meters[0]
    status.set_finished()
    status.wait(5)
    bar.clear()
