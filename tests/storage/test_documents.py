"""documents: StreamResource/StreamDatum and Resource/Datum that point at a frame file."""
from __future__ import annotations

import event_model
import pytest

from ophyd_pvcam.storage.documents import LegacyAssetComposer, StreamAssetComposer, data_key
from ophyd_pvcam.storage.errors import StorageError


def test_stream_resource_points_at_the_file_and_dataset(tmp_path):
    path = tmp_path / "cam_uid.h5"
    composer = StreamAssetComposer("cam_image", path, (48, 64), "uint16")
    doc = composer.resource_doc()
    event_model.schema_validators[event_model.DocumentNames.stream_resource].validate(doc)
    assert doc["mimetype"] == "application/x-hdf5"
    assert doc["uri"] == f"file://localhost{path}"
    assert doc["data_key"] == "cam_image"
    assert doc["parameters"] == {"dataset": "/entry/data/data", "chunk_shape": [1, 48, 64],
                                 "swmr": True}
    assert composer.resource_doc() is doc


def test_one_stream_datum_per_new_range_of_frames(tmp_path):
    composer = StreamAssetComposer("cam_image", tmp_path / "f.h5", (48, 64), "uint16")
    resource_uid = composer.resource_doc()["uid"]
    first = composer.datums(4)
    assert [d["indices"] for d in first] == [{"start": 0, "stop": 4}]
    assert first[0]["stream_resource"] == resource_uid
    assert composer.datums(4) == []
    second = composer.datums(11)
    assert [d["indices"] for d in second] == [{"start": 4, "stop": 11}]
    assert second[0]["uid"] != first[0]["uid"]
    assert composer.frames_emitted == 11
    with pytest.raises(StorageError):
        composer.datums(10)


def test_stream_data_key_describes_one_frame_per_event(tmp_path):
    composer = StreamAssetComposer("cam_image", tmp_path / "f.h5", (48, 64), "uint16")
    assert composer.data_key("PVCAM:pvcamUSB_0") == {
        "source": "PVCAM:pvcamUSB_0", "dtype": "array", "shape": [48, 64],
        "dtype_numpy": "<u2", "external": "STREAM:"}


def test_legacy_resource_uses_the_pvcam_spec_and_no_frame_per_point(tmp_path):
    path = tmp_path / "2024" / "cam_uid.h5"
    composer = LegacyAssetComposer(path, root=tmp_path)
    doc = composer.resource_doc()
    assert doc["spec"] == "PVCAM_HDF5"
    assert doc["resource_kwargs"] == {"dataset": "/entry/data/data"}
    assert doc["root"] == tmp_path.as_posix()
    assert doc["resource_path"] == "2024/cam_uid.h5"


def test_legacy_root_defaults_to_the_filesystem_root(tmp_path):
    doc = LegacyAssetComposer(tmp_path / "f.h5").resource_doc()
    assert doc["root"] + doc["resource_path"] == (tmp_path / "f.h5").as_posix()


def test_legacy_path_outside_root_is_refused(tmp_path):
    with pytest.raises(StorageError):
        LegacyAssetComposer(tmp_path / "f.h5", root=tmp_path / "elsewhere")


def test_legacy_datums_are_one_per_frame_with_point_numbers(tmp_path):
    composer = LegacyAssetComposer(tmp_path / "f.h5")
    resource_uid = composer.resource_doc()["uid"]
    docs = composer.datums(3)
    assert [d["datum_kwargs"] for d in docs] == [{"point_number": i} for i in range(3)]
    assert all(d["resource"] == resource_uid for d in docs)
    assert len({d["datum_id"] for d in docs}) == 3
    assert [d["datum_kwargs"]["point_number"] for d in composer.datums(5)] == [3, 4]
    assert composer.datums(5) == []


def test_data_key_helper_for_filestore():
    assert data_key("src", (2, 3), "uint8", external="FILESTORE:")["dtype_numpy"] == "|u1"


def test_per_frame_stream_resource_points_at_the_metadata_dataset_as_stored(tmp_path):
    import h5py
    import numpy as np

    from ophyd_pvcam.storage.layout import create_layout

    path = tmp_path / "f.h5"
    with h5py.File(path, "w") as h5:
        _, per_frame = create_layout(h5, (48, 64), np.dtype("uint16"))
        stored_chunks = list(per_frame["lost_before"].chunks)
    composer = StreamAssetComposer.per_frame("cam_lost_before", path, "lost_before")
    doc = composer.resource_doc()
    event_model.schema_validators[event_model.DocumentNames.stream_resource].validate(doc)
    assert doc["uri"] == f"file://localhost{path}"
    assert doc["data_key"] == "cam_lost_before"
    assert doc["parameters"] == {"dataset": "/entry/instrument/pvcam/lost_before",
                                 "chunk_shape": stored_chunks, "swmr": True}
    assert [d["indices"] for d in composer.datums(5)] == [{"start": 0, "stop": 5}]


def test_per_frame_data_key_is_a_scalar_per_frame_with_the_dataset_dtype():
    from ophyd_pvcam.storage.documents import per_frame_data_key

    assert per_frame_data_key("PVCAM:x", "frame_number") == {
        "source": "PVCAM:x", "dtype": "integer", "shape": [], "dtype_numpy": "<i8",
        "external": "STREAM:"}
    stamp = per_frame_data_key("PVCAM:x", "timestamp_bof", frames_per_event=3)
    assert stamp["shape"] == [3] and stamp["dtype"] == "array" and stamp["units"] == "100 us"
    assert per_frame_data_key("PVCAM:x", "host_time")["dtype"] == "number"


def test_unknown_per_frame_field_is_refused(tmp_path):
    from ophyd_pvcam.storage.documents import per_frame_data_key

    with pytest.raises(StorageError, match="no_such_field"):
        per_frame_data_key("PVCAM:x", "no_such_field")
    with pytest.raises(StorageError, match="no_such_field"):
        StreamAssetComposer.per_frame("cam_x", tmp_path / "f.h5", "no_such_field")
