"""PVCAMHDF5Handler and metadata readers, alone and behind databroker / Tiled."""
from __future__ import annotations

import importlib.metadata
import time

import event_model
import numpy as np
import pytest

from ophyd_pvcam.storage.documents import LegacyAssetComposer, StreamAssetComposer
from ophyd_pvcam.storage.errors import FrameNotAvailableError, StorageError
from ophyd_pvcam.storage.handler import PVCAMHDF5Handler, read_frame_metadata
from ophyd_pvcam.storage.hdf5 import HDF5FrameWriter
from ophyd_pvcam.storage.layout import PER_FRAME_FIELDS

SHAPE = (48, 64)


@pytest.fixture
def frame_file(tmp_path, make_frame):
    """A closed file with 10 bitshuffle-compressed frames (the handler must load the plugin)."""
    path = tmp_path / "cam_uid.h5"
    with HDF5FrameWriter(path, SHAPE, "uint16", compression="bitshuffle-lz4") as writer:
        for i in range(10):
            writer.submit(make_frame(i))
    return path


def test_point_number_returns_that_frame_with_the_descriptor_shape(frame_file, make_frame):
    handler = PVCAMHDF5Handler(str(frame_file), dataset="/entry/data/data")
    for i in (0, 3, 9):
        frame = handler(point_number=i)
        assert frame.shape == SHAPE
        np.testing.assert_array_equal(frame, make_frame(i).data)
    np.testing.assert_array_equal(handler(frame=4), make_frame(4).data)
    handler.close()


def test_indices_return_stacks_in_the_order_asked(frame_file, make_frame):
    handler = PVCAMHDF5Handler(frame_file)
    expected = np.stack([make_frame(i).data for i in range(10)])
    np.testing.assert_array_equal(handler(indices={"start": 2, "stop": 5}), expected[2:5])
    np.testing.assert_array_equal(handler(indices=slice(7, None)), expected[7:])
    np.testing.assert_array_equal(handler(indices=[5, 1, 5]), expected[[5, 1, 5]])
    assert handler(indices=[]).shape == (0, *SHAPE)


def test_frames_not_in_the_file_raise_frame_not_available(frame_file):
    handler = PVCAMHDF5Handler(frame_file)
    with pytest.raises(FrameNotAvailableError):
        handler(point_number=10)
    with pytest.raises(FrameNotAvailableError):
        handler(indices={"start": 8, "stop": 12})
    with pytest.raises(FrameNotAvailableError):
        handler(indices=[1, 10])
    with pytest.raises(IndexError):  # also a plain IndexError for generic callers
        handler(point_number=-1)


def test_exactly_one_kind_of_index_is_required(frame_file):
    handler = PVCAMHDF5Handler(frame_file)
    with pytest.raises(StorageError):
        handler()
    with pytest.raises(StorageError):
        handler(point_number=1, frame=1)


def test_unknown_resource_kwargs_and_missing_dataset_are_reported(frame_file):
    with pytest.raises(StorageError, match="frame_per_point"):
        PVCAMHDF5Handler(frame_file, frame_per_point=1)
    with pytest.raises(StorageError, match="no dataset"):
        PVCAMHDF5Handler(frame_file, dataset="/entry/nothing")(point_number=0)


def test_handler_sees_frames_appended_after_it_opened_the_file(tmp_path, make_frame):
    path = tmp_path / "live.h5"
    with HDF5FrameWriter(path, SHAPE, "uint16") as writer:
        writer.submit(make_frame(0))
        writer.flush()
        handler = PVCAMHDF5Handler(path)
        np.testing.assert_array_equal(handler(point_number=0), make_frame(0).data)
        with pytest.raises(FrameNotAvailableError):
            handler(point_number=1)
        writer.submit(make_frame(1))
        writer.flush()
        np.testing.assert_array_equal(handler(point_number=1), make_frame(1).data)
        handler.close()


def test_handler_offers_only_flushed_frames_not_the_writers_reserve(tmp_path, make_frame):
    """Between flushes the frame dataset holds reserved rows; the handler does not serve them."""
    from ophyd_pvcam.engine.frameblock import FrameBlock
    from ophyd_pvcam.storage.framefile import FrameFile

    path = tmp_path / "reserve.h5"
    frame_file = FrameFile(path, SHAPE, np.uint16)
    try:
        frames = [make_frame(i) for i in range(3)]
        frame_file.append_block(FrameBlock(np.stack([f.data for f in frames]),
                                           frame_numbers=[1, 2, 3]))
        frame_file.flush()
        frame_file.append_block(FrameBlock(make_frame(3).data[None], frame_numbers=[4]))
        handler = PVCAMHDF5Handler(path)
        np.testing.assert_array_equal(handler(indices=slice(0, 3)), np.stack([f.data for f in frames]))
        with pytest.raises(FrameNotAvailableError):
            handler(point_number=3)            # stored, not flushed
        with pytest.raises(FrameNotAvailableError):
            handler(point_number=100)          # inside the reserve: never written
        frame_file.flush()
        np.testing.assert_array_equal(handler(point_number=3), make_frame(3).data)
        handler.close()
    finally:
        frame_file.close()


def test_get_file_list_names_the_one_file(frame_file):
    handler = PVCAMHDF5Handler(frame_file)
    assert handler.get_file_list([{"point_number": 0}, {"point_number": 1}]) == [str(frame_file)]


def test_close_releases_the_file_and_the_next_read_reopens_it(frame_file, make_frame):
    handler = PVCAMHDF5Handler(frame_file)
    handler(point_number=0)
    handler.close()
    handler.close()
    np.testing.assert_array_equal(handler(point_number=2), make_frame(2).data)
    handler.close()


def test_per_frame_metadata_reads_back(frame_file, make_frame):
    metadata = read_frame_metadata(frame_file)
    assert set(metadata) == set(PER_FRAME_FIELDS)
    for name in PER_FRAME_FIELDS:
        np.testing.assert_array_equal(metadata[name], [getattr(make_frame(i), name) for i in range(10)])
    window = read_frame_metadata(frame_file, 2, 4)
    np.testing.assert_array_equal(window["frame_number"], [3, 4])
    handler = PVCAMHDF5Handler(frame_file)
    np.testing.assert_array_equal(handler.frame_metadata(8)["timestamp_eof"],
                                  [make_frame(8).timestamp_eof, make_frame(9).timestamp_eof])


def test_handler_is_registered_under_the_databroker_entry_point():
    entry_points = importlib.metadata.entry_points(group="databroker.handlers")
    (entry,) = [e for e in entry_points if e.name == "PVCAM_HDF5"]
    assert entry.load() is PVCAMHDF5Handler


@pytest.mark.slow
def test_databroker_temp_reads_frames_through_the_entry_point(frame_file, make_frame):
    import databroker

    db = databroker.temp()
    run = event_model.compose_run()
    composer = LegacyAssetComposer(frame_file)
    descriptor = run.compose_descriptor(
        name="primary", data_keys={"cam_image": composer.data_key("PVCAM:sim", SHAPE, "uint16")})
    db.insert("start", run.start_doc)
    db.insert("descriptor", descriptor.descriptor_doc)
    db.insert("resource", {**composer.resource_doc(), "run_start": run.start_doc["uid"]})
    for seq_num, datum in enumerate(composer.datums(10), start=1):
        db.insert("datum", datum)
        db.insert("event", descriptor.compose_event(
            data={"cam_image": datum["datum_id"]}, timestamps={"cam_image": time.time()},
            filled={"cam_image": False}, seq_num=seq_num))
    db.insert("stop", run.compose_stop())

    images = list(db[run.start_doc["uid"]].data("cam_image"))
    assert len(images) == 10
    for i, image in enumerate(images):
        np.testing.assert_array_equal(np.asarray(image), make_frame(i).data)


@pytest.mark.slow
def test_tiled_ingests_stream_documents_of_a_file_still_being_written(tmp_path, make_frame):
    # TiledWriter + embedded SQLite catalog: no Python handler, Tiled's HDF5
    # adapter reads the file (in SWMR mode) from the StreamResource.
    import tiled.catalog
    import tiled.client
    import tiled.server.app
    from bluesky_tiled_plugins import TiledWriter

    frames_dir = tmp_path / "frames"
    catalog = tiled.catalog.from_uri(
        f"sqlite:///{tmp_path}/catalog.db",
        writable_storage=[f"{tmp_path}/data", f"duckdb:///{tmp_path}/tables.duckdb"],
        readable_storage=[str(frames_dir)], init_if_not_exists=True,
        specs=[{"name": "CatalogOfBlueskyRuns", "version": "3.0"}])
    client = tiled.client.from_context(
        tiled.client.Context.from_app(tiled.server.app.build_app(catalog)))
    tiled_writer = TiledWriter(client, batch_size=1)

    path = frames_dir / "cam_run.h5"
    composer = StreamAssetComposer("cam_image", path, SHAPE, "uint16")
    run = event_model.compose_run()
    descriptor = run.compose_descriptor(
        name="primary", data_keys={"cam_image": composer.data_key("PVCAM:sim")})
    tiled_writer("start", run.start_doc)
    tiled_writer("descriptor", descriptor.descriptor_doc)
    tiled_writer("stream_resource", {**composer.resource_doc(), "run_start": run.start_doc["uid"]})
    uid = run.start_doc["uid"]

    def publish(writer):
        # What a device's collect_asset_docs does (the RunEngine fills seq_nums/descriptor).
        for datum in composer.datums(writer.frames_written):
            indices = datum["indices"]
            tiled_writer("stream_datum", {
                **datum, "descriptor": descriptor.descriptor_doc["uid"],
                "seq_nums": {"start": indices["start"] + 1, "stop": indices["stop"] + 1}})

    with HDF5FrameWriter(path, SHAPE, "uint16") as writer:
        for i in range(3):
            writer.submit(make_frame(i))
        writer.flush()
        publish(writer)
        live = client[uid]["primary"]["cam_image"].read()
        np.testing.assert_array_equal(live, np.stack([make_frame(i).data for i in range(3)]))
        for i in range(3, 7):
            writer.submit(make_frame(i))
        writer.flush()
        publish(writer)
    tiled_writer("stop", run.compose_stop())
    frames = client[uid]["primary"]["cam_image"].read()
    np.testing.assert_array_equal(frames, np.stack([make_frame(i).data for i in range(7)]))
