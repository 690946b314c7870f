"""Tests of ophyd_pvcam.engine.stream.runcontrol: restarts repeat setup and start, never the registration.

The simulator's ``rereg_corrupts`` fault replays the field report: registering
an EOF callback over an existing one, without deregistering first, makes the
next acquisition stop after 5 frames. Restarts (stall recoveries, overrun
restarts) must therefore keep frames coming past 5 in every acquisition.
Driven through a :class:`~ophyd_pvcam.engine.stream.stream.Stream` on the simulated
camera (a real libpvcam.so.2).
"""
import time

import pytest

from ophyd_pvcam import sim
from ophyd_pvcam.engine.errors import StallError
from ophyd_pvcam.engine.stream.stream import Stream, StreamState
from ophyd_pvcam.sdk import constants as C
from ophyd_pvcam.sdk.types import EOF_CALLBACK

# A run that should take well under a second may take this long on a loaded 2-core CI box.
GENEROUS = 60.0
# With this seed the simulator's intermittent_stall stops its first four acquisitions
# after 7, 7, 8 and 8 frames: all past the 5 at which rereg_corrupts would stop them.
SEED_STALLING_PAST_5 = 20


def acquisition_lengths(stream):
    """Frames each acquisition of a run produced (SDK FrameNr reached), restarts included."""
    stats = stream.stats()
    lengths = [record.sdk_last_frame for record in stats.discontinuities]
    if stream.error is not None:
        lengths.append(stream.error.diagnostics["last_sdk_frame"])
    return lengths


def run_until_stalled(camera):
    """Stream with stall recoveries until the last one; return the stream."""
    stream = Stream(camera, stall_timeout=0.2, stall_count=1, max_recoveries=3)
    stream.start()
    with pytest.raises(StallError):
        stream.wait(GENEROUS)
    return stream


def test_stall_recoveries_never_reregister_so_rereg_corrupts_never_fires(bsi):
    sim.set_faults(f"intermittent_stall=1.0,seed={SEED_STALLING_PAST_5}")
    control = acquisition_lengths(run_until_stalled(bsi))
    sim.set_faults(f"rereg_corrupts,intermittent_stall=1.0,seed={SEED_STALLING_PAST_5}")
    stream = run_until_stalled(bsi)
    lengths = acquisition_lengths(stream)
    assert stream.stats().recoveries == 3
    assert lengths == control  # the fault changed nothing: no acquisition was cut at 5
    assert len(lengths) == 4 and min(lengths) > 5


def test_a_reregistration_would_be_caught_by_this_check(bsi):
    """Positive control: one registration over another does stop the next acquisition at 5."""
    sim.set_faults("rereg_corrupts")
    keep_alive = EOF_CALLBACK(lambda info, context: None)
    bsi.register_callback(int(C.PL_CALLBACK_EOF), keep_alive)  # the stream registers over it
    stream = Stream(bsi, stall_timeout=0.2, stall_count=1)
    stream.start()
    with pytest.raises(StallError, match="after frame 5"):
        stream.wait(GENEROUS)
    assert acquisition_lengths(stream) == [5]


def test_overrun_restarts_never_reregister_so_frames_keep_coming_past_5(bsi):
    sim.set_faults("rereg_corrupts")
    # A cut acquisition (5 frames) could neither overrun an 8-frame ring nor go on:
    # it would stall within a second instead.
    stream = Stream(bsi, buffer_mode="no_overwrite", buffer_seconds=0, min_buffer_frames=8,
                    queue_size=1, overflow="block", stall_timeout=0.5, stall_count=2)
    stream.start()
    frames = []
    while stream.stats().overruns < 3:
        frames.append(stream.get(GENEROUS))
        assert frames[-1] is not None, stream.error
        time.sleep(0.03)  # ~18 frame periods per frame taken: the ring overruns
    last_restart = stream.stats().discontinuities[-1]
    while frames[-1].frame_number < last_restart.first_frame + 5:
        frames.append(stream.get(GENEROUS))  # frame 6 and later of the latest acquisition
        assert frames[-1] is not None, stream.error
    assert stream.stop() is StreamState.STOPPED
    stats = stream.stats()
    assert stats.restarts == stats.overruns >= 3
    assert all(record.reason == "overrun" for record in stats.discontinuities)
    assert all(record.sdk_last_frame > 8 for record in stats.discontinuities)  # ring + 1
