"""RemoteAssetWriter (ophyd_pvcam/ioc/client/assets.py): a server's file, documented through AssetWriter's public hooks."""
from __future__ import annotations

import numpy as np
import pytest

from ophyd_pvcam.ioc.client.assets import RemoteAssetWriter

SHAPE = (8, 16)


def test_the_server_files_frames_get_documents_only_once_the_server_reports_them(tmp_path):
    writer = RemoteAssetWriter("cam", "cam_image")
    path = writer.open_remote(tmp_path / "server.h5", SHAPE, np.uint16, mode="stream")
    assert writer.is_open and path == tmp_path / "server.h5"
    assert list(writer.collect_stream_docs()) == []          # nothing flushed yet
    writer.record_written(3, when=5.0)
    writer.record_written(2, when=6.0)                       # a stale count changes nothing
    docs = list(writer.collect_stream_docs())
    assert [name for name, _ in docs] == ["stream_resource", "stream_datum"]
    assert docs[1][1]["indices"] == {"start": 0, "stop": 3}
    assert [writer.frame_time(i) for i in range(3)] == [5.0, 5.0, 5.0]
    assert writer.close() == 3 and not writer.is_open
    writer.record_written(9)                                 # after close: ignored
    assert writer.frames_written == 3


def test_a_second_remote_file_is_refused_while_one_is_open_and_the_first_keeps_counting(tmp_path):
    writer = RemoteAssetWriter("cam", "cam_image")
    writer.open_remote(tmp_path / "first.h5", SHAPE, np.uint16, mode="legacy")
    with pytest.raises(RuntimeError, match="already open"):
        writer.open_remote(tmp_path / "second.h5", SHAPE, np.uint16, mode="legacy")
    writer.record_written(2, when=1.0)
    assert writer.path == tmp_path / "first.h5" and writer.get_index() == 2
    assert writer.latest_datum() == (writer.datum_id(1), 1.0)
