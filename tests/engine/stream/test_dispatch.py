"""Tests of ophyd_pvcam.engine.stream.dispatch: batches for block consumers of the Python pump."""
import numpy as np

from ophyd_pvcam.engine.stream.delivery import END, FrameQueue
from ophyd_pvcam.engine.stream.dispatch import gather
from ophyd_pvcam.engine.frame import Frame


def frame(i):
    return Frame(i + 1, np.full((2, 2), i, np.uint16), index=i)


def test_gather_takes_every_ready_frame_as_one_block_and_keeps_the_end():
    queue = FrameQueue(10)
    for i in range(4):
        queue.put(frame(i))
    queue.close()
    block = gather(queue, 1.0, None)
    assert block.frame_numbers.tolist() == [1, 2, 3, 4] and block.indices.tolist() == [0, 1, 2, 3]
    assert gather(queue, 0, None) is END


def test_gather_respects_max_frames_and_times_out_empty():
    queue = FrameQueue(10)
    for i in range(5):
        queue.put(frame(i))
    assert len(gather(queue, 1.0, 2)) == 2
    assert len(gather(queue, 1.0, None)) == 3
    assert gather(queue, 0.01, None) is None
