"""AssetFile (ophyd_pvcam/device/assetfile.py): one staging's frame file, created or adopted."""
from __future__ import annotations

import h5py
import numpy as np
import pytest

from ophyd_pvcam.device.assetfile import AssetFile
from ophyd_pvcam.engine.frame import Frame

SHAPE = (4, 6)


def _frame(index: int) -> Frame:
    return Frame(frame_number=index + 1, data=np.full(SHAPE, index, dtype=np.uint16),
                 host_time=10.0 + index, index=index)


def test_a_created_file_holds_the_submitted_frames_and_their_times_after_close(tmp_path):
    file = AssetFile("cam")
    path = file.create(tmp_path / "a.h5", SHAPE, np.uint16, flush_interval=0.01)
    for index in range(3):
        file.submit(_frame(index))
    assert file.flush(10) == 3
    assert file.close(10) == 3 and not file.is_open and file.close() == 3   # idempotent
    assert [file.frame_time(i) for i in range(3)] == [10.0, 11.0, 12.0]
    assert file.last_frame is not None and file.last_frame.frame_number == 3
    with h5py.File(path, "r") as h5:
        assert h5["/entry/data/data"].shape == (3, *SHAPE)


def test_frames_beyond_the_documented_ones_are_set_aside_and_no_longer_counted(tmp_path):
    file = AssetFile("cam")
    path = file.create(tmp_path / "b.h5", SHAPE, np.uint16, flush_interval=0.01)
    for index in range(5):
        file.submit(_frame(index))
    file.close(10)
    assert file.set_aside(3) == 3 and file.frames_set_aside == 2 and file.frames_written == 3
    with h5py.File(path, "r") as h5:
        assert h5["/entry/data/data"].shape == (3, *SHAPE)


def test_a_second_file_is_refused_while_one_is_open(tmp_path):
    file = AssetFile("cam")
    file.create(tmp_path / "c.h5", SHAPE, np.uint16)
    try:
        with pytest.raises(RuntimeError, match="already open"):
            file.create(tmp_path / "d.h5", SHAPE, np.uint16)
    finally:
        file.close(10)
