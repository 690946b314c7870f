"""Tests of ophyd_pvcam.engine.stream.frameloop: the frame loop drains every available frame per wake-up.

Driven through a :class:`~ophyd_pvcam.engine.stream.stream.Stream` on the simulated
camera (a real libpvcam.so.2); frames are checked against the FrameNr the
simulator stamps into their first 4 bytes.
"""
import time

import pytest

from ophyd_pvcam.engine.stream.stream import Stream, StreamState

# A run that should take well under a second may take this long on a loaded 2-core CI box.
GENEROUS = 60.0


@pytest.mark.parametrize("use_callbacks", [True, False], ids=["callbacks", "polling"])
def test_frames_that_pile_up_are_drained_several_per_wakeup_in_order(bsi, stamp, use_callbacks):
    """A consumer that pauses makes frames pile up in the SDK ring; one wake-up takes them all.

    With a one-frame queue, the frame loop blocks handing on a frame while the
    consumer pauses; the ~600 fps camera meanwhile fills the ring. Draining
    one frame per wake-up would show ``wakeups == frames_retrieved``.
    """
    stream = Stream(bsi, max_frames=80, queue_size=1, overflow="block",
                    use_callbacks=use_callbacks)
    stream.start()
    frames = []
    while (frame := stream.get(GENEROUS)) is not None:
        frames.append(frame)
        if frame.frame_number % 20 == 0:
            time.sleep(0.03)  # ~18 frame periods: a backlog forms, far below the 1 s ring
    assert stream.state is StreamState.COMPLETE
    stats = stream.stats()
    assert [f.frame_number for f in frames] == list(range(1, 81))
    assert all(stamp(f.data) == f.frame_number for f in frames)
    assert stats.frames_lost == 0 and stats.frames_retrieved == 80
    assert stats.max_batch > 1
    assert 1 <= stats.wakeups < stats.frames_retrieved
