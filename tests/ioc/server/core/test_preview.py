"""The preview slot (ophyd_pvcam/ioc/server/core/preview.py): decimation and rate limiting."""
from __future__ import annotations

import numpy as np
import pytest

from ophyd_pvcam.engine.errors import ValidationError
from ophyd_pvcam.engine.frame import Frame
from ophyd_pvcam.ioc.server.core.preview import PreviewSlot


def test_a_full_frame_is_decimated_to_the_preview_size():
    slot = PreviewSlot(256, 5.0)
    data = np.arange(2048 * 2048, dtype=np.uint32).reshape(2048, 2048).astype(np.uint16)
    slot.offer(Frame(frame_number=1, data=data))
    preview = slot.take()
    assert preview.stride == 8
    assert preview.data.shape == (256, 256)
    assert preview.data[1, 1] == data[8, 8]
    assert preview.data.flags.c_contiguous


def test_frames_faster_than_the_rate_give_one_preview_each_interval():
    slot = PreviewSlot(64, 0.5)                # one preview per 2 s
    for number in range(1, 50):
        slot.offer(Frame(frame_number=number, data=np.zeros((32, 32), np.uint16)))
    first = slot.take()
    assert first.frame_number == 1
    assert slot.take() is None                 # nothing new until the interval passed


def test_the_rate_must_be_positive():
    with pytest.raises(ValidationError):
        PreviewSlot(64, 0.0)
    with pytest.raises(ValidationError):
        PreviewSlot(64, 1.0).set_rate(-1.0)
