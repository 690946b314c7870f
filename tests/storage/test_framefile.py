"""FrameFile: blocks appended with one pass of chunk writes, metadata once per flush, exact lengths."""
from __future__ import annotations

import h5py
import hdf5plugin
import numpy as np
import pytest

from ophyd_pvcam.engine.frameblock import FrameBlock
from ophyd_pvcam.storage.framefile import MIN_RESERVE, FrameFile
from ophyd_pvcam.storage.layout import DATA_PATH, METADATA_GROUP, PER_FRAME_FIELDS

from .conftest import pixels

SHAPE = (48, 64)


def make_block(first: int, count: int, shape=SHAPE, dtype="uint16") -> FrameBlock:
    """Frames ``first .. first+count-1`` with distinct pixels and ledger values."""
    index = np.arange(first, first + count)
    return FrameBlock(np.stack([pixels(i, shape, dtype) for i in index]),
                      frame_numbers=index + 1, timestamp_bof=1000 + 50 * index,
                      timestamp_eof=1040 + 50 * index, readout_time=37 + index,
                      host_time=1.7e9 + 0.005 * index, lost_before=index % 3,
                      first_index=first)


def expected_ledger(count: int) -> dict[str, np.ndarray]:
    """What ``make_block``/``make_frame`` put in each per-frame dataset for frames 0..count-1."""
    index = np.arange(count)
    return {"frame_number": index + 1, "timestamp_bof": 1000 + 50 * index,
            "timestamp_eof": 1040 + 50 * index, "readout_time": 37 + index,
            "host_time": 1.7e9 + 0.005 * index, "lost_before": index % 3}


def lengths(path) -> dict[str, int]:
    """Rows of the frame dataset and of every per-frame dataset, as a SWMR reader sees them."""
    with h5py.File(path, "r", swmr=True) as h5file:
        found = {"data": h5file[DATA_PATH].shape[0]}
        found.update({name: h5file[METADATA_GROUP][name].shape[0] for name in PER_FRAME_FIELDS})
    return found


@pytest.mark.parametrize("compression", [None, "bitshuffle-lz4", "blosc"])
def test_appended_blocks_read_back_identical_pixels_and_ledger(tmp_path, compression):
    path = tmp_path / "run.h5"
    frame_file = FrameFile(path, SHAPE, np.uint16, compression=compression)
    for first, count in [(0, 5), (5, 1), (6, 30)]:
        frame_file.append_block(make_block(first, count))
    frame_file.close()
    with h5py.File(path, "r") as h5file:
        np.testing.assert_array_equal(h5file[DATA_PATH][:], np.stack([pixels(i) for i in range(36)]))
        for name, values in expected_ledger(36).items():
            np.testing.assert_array_equal(h5file[METADATA_GROUP][name][:], values)


def test_every_dataset_has_exactly_the_flushed_length_after_each_flush(tmp_path):
    path = tmp_path / "run.h5"
    frame_file = FrameFile(path, SHAPE, np.uint16)
    try:
        frame_file.append_block(make_block(0, 7))
        # Between flushes the frame dataset holds the reserve, the metadata nothing yet.
        assert lengths(path)["data"] >= 7
        assert frame_file.flush() == 7
        assert set(lengths(path).values()) == {7}
        frame_file.append_block(make_block(7, 3))
        frame_file.append_block(make_block(10, 2))
        assert frame_file.flush() == 12
        assert set(lengths(path).values()) == {12}
        assert frame_file.flush() == 12           # nothing new: no change
        assert set(lengths(path).values()) == {12}
    finally:
        frame_file.close()


def test_the_reserve_is_trimmed_at_close_and_resizes_are_few(tmp_path):
    path = tmp_path / "run.h5"
    frame_file = FrameFile(path, SHAPE, np.uint16)
    for first in range(0, 1000, 10):
        frame_file.append_block(make_block(first, 10))
    # 100 blocks, one growth step (the minimum reserve covers them all).
    assert frame_file.resizes == 1
    frame_file.close()
    assert frame_file.resizes == 2                # plus the trim
    assert set(lengths(path).values()) == {1000}
    # Growth doubles past the reserve.
    path2 = tmp_path / "grow.h5"
    frame_file = FrameFile(path2, (4, 4), np.uint16)
    for first in range(0, 3 * MIN_RESERVE, MIN_RESERVE // 2):
        frame_file.append_block(make_block(first, MIN_RESERVE // 2, shape=(4, 4)))
    assert frame_file.resizes == 3                # 1024, 2048, 4096
    frame_file.close()
    assert set(lengths(path2).values()) == {3 * MIN_RESERVE}


def test_the_block_can_be_reused_as_soon_as_append_block_returns(tmp_path):
    """Pixels are in the file and the ledger copied: the ring may overwrite the block."""
    path = tmp_path / "run.h5"
    frame_file = FrameFile(path, SHAPE, np.uint16, compression="bitshuffle-lz4")
    block = make_block(0, 4)
    frame_file.append_block(block)
    block.data[:] = 0xDEAD
    block.frame_numbers[:] = -1
    block.host_time[:] = 0.0
    frame_file.close()
    with h5py.File(path, "r") as h5file:
        np.testing.assert_array_equal(h5file[DATA_PATH][:], np.stack([pixels(i) for i in range(4)]))
        np.testing.assert_array_equal(h5file[METADATA_GROUP]["frame_number"][:], [1, 2, 3, 4])
        np.testing.assert_array_equal(h5file[METADATA_GROUP]["host_time"][:],
                                      expected_ledger(4)["host_time"])


def test_frames_and_blocks_mix_in_submission_order(tmp_path, make_frame):
    path = tmp_path / "run.h5"
    frame_file = FrameFile(path, SHAPE, np.uint16)
    frame_file.append([make_frame(0), make_frame(1)])
    frame_file.append_block(make_block(2, 3))
    frame_file.append([make_frame(5)])
    frame_file.flush()
    frame_file.append_block(make_block(6, 2))
    frame_file.close()
    with h5py.File(path, "r") as h5file:
        np.testing.assert_array_equal(h5file[DATA_PATH][:], np.stack([pixels(i) for i in range(8)]))
        for name, values in expected_ledger(8).items():
            np.testing.assert_array_equal(h5file[METADATA_GROUP][name][:], values)


def test_a_strided_block_is_written_correctly(tmp_path):
    path = tmp_path / "run.h5"
    wide = make_block(0, 6, shape=(48, 128))
    strided = FrameBlock(wide.data[:, :, ::2], frame_numbers=wide.frame_numbers)
    assert not strided.data.flags.c_contiguous
    frame_file = FrameFile(path, SHAPE, np.uint16)
    frame_file.append_block(strided)
    frame_file.close()
    with h5py.File(path, "r") as h5file:
        np.testing.assert_array_equal(h5file[DATA_PATH][:], wide.data[:, :, ::2])


def test_a_filter_without_a_codec_is_applied_by_hdf5_in_one_write(tmp_path):
    path = tmp_path / "run.h5"
    frame_file = FrameFile(path, SHAPE, np.uint16, compression=hdf5plugin.Zstd())
    assert frame_file.codec is None
    frame_file.append_block(make_block(0, 9))
    frame_file.close()
    with h5py.File(path, "r") as h5file:
        np.testing.assert_array_equal(h5file[DATA_PATH][:], np.stack([pixels(i) for i in range(9)]))


def test_counters_give_pixel_and_stored_chunk_bytes(tmp_path):
    frame_file = FrameFile(tmp_path / "run.h5", SHAPE, np.uint16, compression="bitshuffle-lz4")
    smooth = FrameBlock(np.full((10, *SHAPE), 100, np.uint16), frame_numbers=np.arange(1, 11))
    frame_file.append_block(smooth)
    assert frame_file.frames_stored == 10 and frame_file.frames_flushed == 0
    assert frame_file.bytes_stored == smooth.data.nbytes
    assert 0 < frame_file.chunk_bytes_stored < smooth.data.nbytes / 10
    frame_file.close()
    assert frame_file.frames_flushed == 10 and frame_file.closed


def test_batches_encoded_ahead_are_written_in_order(tmp_path):
    """Several batches compress in the encoder threads at once; append_encoded keeps their order."""
    from concurrent.futures import ThreadPoolExecutor

    path = tmp_path / "run.h5"
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="test-encoder") as encoder:
        frame_file = FrameFile(path, SHAPE, np.uint16, compression="blosc", encoder=encoder,
                               encoder_threads=2)
        blocks = [make_block(first, count) for first, count in [(0, 1), (1, 1), (2, 5), (7, 1)]]
        started = [(frame_file.encode(b.data), frame_file.block_ledger(b)) for b in blocks]
        for encoded, ledger in started:
            frame_file.append_encoded(encoded, ledger)
        frame_file.close()
    with h5py.File(path, "r") as h5file:
        np.testing.assert_array_equal(h5file[DATA_PATH][:], np.stack([pixels(i) for i in range(8)]))
        np.testing.assert_array_equal(h5file[METADATA_GROUP]["frame_number"][:], np.arange(1, 9))


# -- frame metadata and several regions -------------------------------------------------
def metadata_block(first: int, count: int, rois=((8, 16), (4, 4))) -> "MetadataBlock":
    """Frames with decoded metadata: exposures cycling 1, 2, 3 ms, v3-like picosecond ticks."""
    from ophyd_pvcam.engine.metadata import BlockMetadata, MetadataBlock

    index = np.arange(first, first + count)
    plain = make_block(first, count)
    meta = BlockMetadata(camera_frame_numbers=index + 1, timestamp_bof=10_000 * index,
                         timestamp_eof=10_000 * index + 4_000,
                         timestamp_resolution_ps=np.ones(count, dtype=np.int64),
                         exposure_time=1_000_000_000 * (1 + index % 3),
                         exposure_resolution_ps=np.ones(count, dtype=np.int64))
    extra = [np.stack([pixels(i + 100 * (k - 1), shape) for i in index]) for k, shape in
             enumerate(rois, start=2)]
    return MetadataBlock(plain.data, metadata=meta, rois=[plain.data, *extra],
                         first_index=first, frame_numbers=plain.frame_numbers,
                         lost_before=plain.lost_before)


def test_the_ledger_holds_each_frames_exposure_and_camera_clock_under_nexus_names(tmp_path):
    path = tmp_path / "run.h5"
    frame_file = FrameFile(path, SHAPE, np.uint16, roi_shapes=[(8, 16), (4, 4)])
    frame_file.append_block(metadata_block(0, 4))
    frame_file.append_block(metadata_block(4, 3))
    frame_file.close()
    with h5py.File(path, "r") as h5file:
        group = h5file[METADATA_GROUP]
        assert list(group["count_time"][:]) == pytest.approx([1e-3, 2e-3, 3e-3] * 2 + [1e-3])
        assert group["count_time"].attrs["units"] == "s"
        assert list(group["camera_frame_number"][:]) == list(range(1, 8))
        assert list(group["timestamp_eof_camera"][:]) == [10_000 * i + 4_000 for i in range(7)]
        assert set(group["timestamp_resolution"][:]) == {1}
        assert group["timestamp_resolution"].attrs["units"] == "ps"
        roi3 = h5file["/entry/data/roi3"]
        assert roi3.shape == (7, 4, 4)
        np.testing.assert_array_equal(roi3[5], pixels(5 + 200, (4, 4)))
        np.testing.assert_array_equal(h5file["/entry/data/roi2"][6], pixels(6 + 100, (8, 16)))


def test_frames_without_metadata_say_so_in_the_ledger(tmp_path):
    path = tmp_path / "run.h5"
    frame_file = FrameFile(path, SHAPE, np.uint16)
    frame_file.append_block(make_block(0, 3))
    frame_file.close()
    with h5py.File(path, "r") as h5file:
        assert np.isnan(h5file[METADATA_GROUP]["count_time"][:]).all()
        assert list(h5file[METADATA_GROUP]["camera_frame_number"][:]) == [0, 0, 0]


def test_a_block_with_another_number_of_regions_is_refused_before_it_is_written(tmp_path):
    from ophyd_pvcam.storage.errors import FrameMismatchError

    path = tmp_path / "run.h5"
    frame_file = FrameFile(path, SHAPE, np.uint16, roi_shapes=[(8, 16)])
    with pytest.raises(FrameMismatchError, match="2 region"):
        frame_file.append_block(metadata_block(0, 2))
    with pytest.raises(FrameMismatchError):
        frame_file.append_block(make_block(0, 2))
    assert frame_file.frames_stored == 0
    frame_file.close()


def test_frames_set_aside_take_their_other_regions_along(tmp_path):
    from ophyd_pvcam.storage.layout import set_aside_frames

    path = tmp_path / "run.h5"
    frame_file = FrameFile(path, SHAPE, np.uint16, roi_shapes=[(8, 16), (4, 4)])
    frame_file.append_block(metadata_block(0, 5))
    frame_file.close()
    assert set_aside_frames(path, 3) == 2
    with h5py.File(path, "r") as h5file:
        assert h5file["/entry/data/roi2"].shape[0] == 3
        np.testing.assert_array_equal(h5file["/entry/unassigned/roi3"][1], pixels(4 + 200, (4, 4)))
