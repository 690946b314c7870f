"""A stream run's state, parts and statistics snapshot (ophyd_pvcam/engine/stream/run.py)."""
from __future__ import annotations

import pytest

from ophyd_pvcam.engine.stream.options import StreamOptions
from ophyd_pvcam.engine.stream.run import StreamState, build_run, snapshot_stats


@pytest.mark.parametrize("state, ended", [
    (StreamState.IDLE, False), (StreamState.RUNNING, False), (StreamState.COMPLETE, True),
    (StreamState.STOPPED, True), (StreamState.STALLED, True), (StreamState.FAILED, True),
])
def test_only_the_final_states_are_ended(state, ended):
    assert state.ended is ended


@pytest.mark.parametrize("use_callbacks", [True, False])
def test_stats_before_the_first_run_are_empty_and_say_whether_gaps_are_detectable(use_callbacks):
    stats = snapshot_stats(None, camera="cam0", state=StreamState.IDLE,
                           use_callbacks=use_callbacks)
    assert (stats.camera, stats.state, stats.frames_retrieved) == ("cam0", "IDLE", 0)
    assert stats.use_callbacks is use_callbacks and stats.gaps_detectable is use_callbacks


def test_a_built_run_wires_its_parts_and_opens_nothing(bsi):
    delivered = []
    options = StreamOptions(queue_size=4, stall_count=2, max_recoveries=1)
    run = build_run(bsi, bsi.acquisition_settings(), options, (delivered.append,),
                    lambda run, frame: True)
    assert run.dispatching and run.consumers == (delivered.append,)
    assert run.loop.health is run.health and run.loop.stats is run.stats
    assert (run.health.stall_count, run.health.max_recoveries) == (2, 1)
    assert run.health.camera == bsi.name
    assert not bsi.acquiring and run.loop_thread is None and not run.finished.is_set()
    stats = snapshot_stats(run, camera=bsi.name, state=StreamState.IDLE, use_callbacks=True)
    assert (stats.frames_signalled, stats.frames_delivered, stats.buffer_frames) == (0, 0, 0)
