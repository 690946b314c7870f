"""AssetWriter: the frame file and the stream documents of the image and the per-frame fields."""
from __future__ import annotations

import numpy as np
import pytest

from ophyd_pvcam.device.writer import PER_FRAME_KEYS, AssetWriter
from ophyd_pvcam.engine.frame import Frame
from ophyd_pvcam.storage.errors import StorageError

SHAPE = (8, 16)


def _frame(index: int) -> Frame:
    return Frame(frame_number=index + 1, data=np.full(SHAPE, index, dtype=np.uint16),
                 host_time=1.0 + index, index=index)


def _writer(tmp_path, **kwargs) -> AssetWriter:
    return AssetWriter("cam", "cam_image", tmp_path, flush_interval=0.01, **kwargs)


def _write(writer: AssetWriter, count: int) -> None:
    first = writer.frames_written
    for index in range(first, first + count):
        writer.submit(_frame(index))
    writer.flush(10)


def test_per_frame_fields_get_their_own_resources_and_the_image_indices(tmp_path):
    keys = {"lost_before": "cam_lost_before", "frame_number": "cam_frame_number"}
    writer = _writer(tmp_path, per_frame_keys=keys)
    writer.open(SHAPE, np.uint16)
    try:
        _write(writer, 3)
        first = list(writer.collect_stream_docs())
        _write(writer, 2)
        second = list(writer.collect_stream_docs())
    finally:
        writer.close(10)
    resources = [doc for name, doc in first if name == "stream_resource"]
    assert [doc["data_key"] for doc in resources] == ["cam_image", "cam_lost_before",
                                                      "cam_frame_number"]
    assert {doc["uri"] for doc in resources} == {f"file://localhost{writer.path}"}
    assert [doc["parameters"]["dataset"] for doc in resources[1:]] == [
        "/entry/instrument/pvcam/lost_before", "/entry/instrument/pvcam/frame_number"]
    by_resource = {doc["uid"]: doc["data_key"] for doc in resources}
    for docs, indices in ((first, {"start": 0, "stop": 3}), (second, {"start": 3, "stop": 5})):
        datums = [doc for name, doc in docs if name == "stream_datum"]
        documented = sorted(by_resource[d["stream_resource"]] for d in datums)
        assert documented == sorted(by_resource.values())
        assert all(d["indices"] == indices for d in datums)
    assert [name for name, _ in second] == ["stream_datum"] * 3


def test_collect_index_limits_every_key_alike(tmp_path):
    writer = _writer(tmp_path, per_frame_keys={"lost_before": "cam_lost_before"})
    writer.open(SHAPE, np.uint16)
    try:
        _write(writer, 4)
        docs = list(writer.collect_stream_docs(2))
    finally:
        writer.close(10)
    assert [d["indices"] for name, d in docs if name == "stream_datum"] == [
        {"start": 0, "stop": 2}] * 2


def test_without_per_frame_keys_only_the_image_is_documented(tmp_path):
    writer = _writer(tmp_path)
    writer.open(SHAPE, np.uint16)
    try:
        _write(writer, 2)
        docs = list(writer.collect_stream_docs())
    finally:
        writer.close(10)
    assert [(name, doc.get("data_key")) for name, doc in docs] == [
        ("stream_resource", "cam_image"), ("stream_datum", None)]
    assert writer.per_frame_data_keys("PVCAM:x") == {}


def test_per_frame_data_keys_follow_frames_per_event(tmp_path):
    writer = _writer(tmp_path, per_frame_keys={f: f"cam_{f}" for f in PER_FRAME_KEYS})
    one = writer.per_frame_data_keys("PVCAM:x")
    assert set(one) == {f"cam_{f}" for f in PER_FRAME_KEYS}
    assert all(key["shape"] == [] and key["external"] == "STREAM:" for key in one.values())
    assert writer.per_frame_data_keys("PVCAM:x", 4)["cam_lost_before"]["shape"] == [4]


def test_per_frame_keys_are_refused_for_unknown_fields_and_while_a_file_is_open(tmp_path):
    with pytest.raises(StorageError):
        _writer(tmp_path, per_frame_keys={"bogus": "cam_bogus"})
    writer = _writer(tmp_path)
    writer.open(SHAPE, np.uint16)
    try:
        with pytest.raises(RuntimeError, match="file is open"):
            writer.set_per_frame_keys({"lost_before": "cam_lost_before"})
    finally:
        writer.close(10)
    writer.set_per_frame_keys({"lost_before": "cam_lost_before"})
    assert writer.per_frame_keys == {"lost_before": "cam_lost_before"}


def test_submitted_blocks_are_documented_and_timed_like_frames_and_released_once_written(
        tmp_path):
    from ophyd_pvcam.engine.frameblock import FrameBlock

    writer = _writer(tmp_path)
    writer.open(SHAPE, np.uint16, run_uid="blocks")
    released: list[int] = []
    try:
        writer.submit(_frame(0))
        block = FrameBlock(np.stack([np.full(SHAPE, i, np.uint16) for i in (1, 2, 3)]),
                           frame_numbers=[2, 3, 4], host_time=[2.0, 3.0, 4.0], first_index=1,
                           release=lambda: released.append(1))
        writer.submit_block(block, on_written=block.release)
        assert writer.flush(10) == 4
        assert released == [1]
        assert [writer.frame_time(i) for i in range(4)] == [1.0, 2.0, 3.0, 4.0]
        docs = list(writer.collect_stream_docs())
        datum = [doc for name, doc in docs if name == "stream_datum"][0]
        assert (datum["indices"]["start"], datum["indices"]["stop"]) == (0, 4)
    finally:
        writer.close()


def test_stream_datums_follow_collects_not_frames(tmp_path):
    """A fly's documents cost per collect: one StreamDatum per key, whatever the frame count."""
    from ophyd_pvcam.engine.frameblock import FrameBlock

    writer = _writer(tmp_path, per_frame_keys={"frame_number": "cam_frame_number"})
    writer.open(SHAPE, np.uint16, run_uid="many")
    try:
        for first in range(0, 5000, 500):
            numbers = np.arange(first + 1, first + 501)
            writer.submit_block(FrameBlock(np.zeros((500, *SHAPE), np.uint16),
                                           frame_numbers=numbers, host_time=numbers * 1e-3,
                                           first_index=first))
        assert writer.flush(30) == 5000
        docs = list(writer.collect_stream_docs())
        assert [name for name, _ in docs].count("stream_datum") == 2      # image + one field
        assert all(doc["indices"] == {"start": 0, "stop": 5000}
                   for name, doc in docs if name == "stream_datum")
    finally:
        writer.close()


def test_close_moves_the_frames_of_no_event_and_counts_them(tmp_path):
    writer = _writer(tmp_path)
    writer.open(SHAPE, np.uint16)
    writer.set_frames_per_event(2)
    _write(writer, 5)
    list(writer.collect_stream_docs())        # two events documented
    assert writer.close(10) == 4
    assert writer.frames_set_aside == 1 and writer.get_index() == 2
