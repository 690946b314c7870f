"""Tests of ophyd_pvcam.engine.stream.ringsource: shared blocks and the host ring's reader."""
import numpy as np

from ophyd_pvcam.engine.frameblock import FrameBlock
from ophyd_pvcam.engine.stream.ringsource import share_block


def block_with_release(calls):
    return FrameBlock(np.zeros((3, 2, 2), np.uint16), frame_numbers=[1, 2, 3],
                      release=lambda: calls.append(1))


def test_a_shared_block_is_released_once_after_every_holder_released_it():
    calls = []
    original = block_with_release(calls)
    shares = share_block(original, 3)
    assert len(shares) == 3 and all(s.data is original.data for s in shares)
    shares[0].release()
    shares[1].release()
    shares[1].release()  # a holder releasing twice counts once
    assert calls == [] and not original.released
    shares[2].release()
    assert calls == [1] and original.released


def test_one_holder_gets_the_block_itself():
    calls = []
    original = block_with_release(calls)
    assert share_block(original, 1) == [original]
