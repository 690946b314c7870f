"""HDF5FrameWriter: real h5py, real threads, real child processes."""
from __future__ import annotations

import os
import signal
import threading

import h5py
import hdf5plugin  # noqa: F401 - registers the compression filters for the readers below
import numpy as np
import pytest

from ophyd_pvcam.engine.errors import ValidationError
from ophyd_pvcam.engine.frame import Frame
from ophyd_pvcam.engine.frameblock import FrameBlock
from ophyd_pvcam.sdk.errors import PVCAMError
from ophyd_pvcam.storage.errors import FrameMismatchError, StorageError, WriterStateError
from ophyd_pvcam.storage.hdf5 import HDF5FrameWriter
from ophyd_pvcam.storage.layout import DATA_PATH, METADATA_GROUP, PER_FRAME_FIELDS
from ophyd_pvcam.storage.recovery import clear_swmr_flags

SHAPE = (48, 64)


@pytest.mark.parametrize("compression", [None, "bitshuffle-lz4", "blosc"])
@pytest.mark.parametrize("dtype", ["uint16", "uint8"])
def test_frames_round_trip_bit_exact(tmp_path, make_frame, compression, dtype):
    path = tmp_path / "run.h5"
    frames = [make_frame(i, SHAPE, dtype) for i in range(37)]
    with HDF5FrameWriter(path, SHAPE, dtype, compression=compression) as writer:
        for frame in frames:
            writer.submit(frame)
    assert writer.frames_written == 37
    with h5py.File(path, "r") as h5file:
        data = h5file[DATA_PATH]
        assert data.shape == (37, *SHAPE)
        assert data.dtype == np.dtype(dtype)
        assert data.chunks == (1, *SHAPE)
        assert data.maxshape == (None, *SHAPE)
        np.testing.assert_array_equal(data[:], np.stack([f.data for f in frames]))


@pytest.mark.parametrize("compression", ["bitshuffle-lz4", "blosc"])
def test_compressed_file_uses_the_plugin_filter_and_is_smaller(tmp_path, make_frame, compression):
    # Smooth frames (constant + small noise) so compression has something to find.
    rng = np.random.default_rng(1)
    path = tmp_path / "run.h5"
    with HDF5FrameWriter(path, SHAPE, "uint16", compression=compression) as writer:
        for i in range(20):
            frame = make_frame(i)
            frame.data = (100 + rng.poisson(3, SHAPE)).astype(np.uint16)
            writer.submit(frame)
    with h5py.File(path, "r") as h5file:
        data = h5file[DATA_PATH]
        filter_ids = {int(k) for k in data._filters}
        assert filter_ids & {hdf5plugin.BSHUF_ID, hdf5plugin.BLOSC_ID}
        assert data.id.get_storage_size() < 20 * data[0].nbytes / 2


def test_per_frame_metadata_is_stored_for_every_frame(tmp_path, make_frame):
    path = tmp_path / "run.h5"
    frames = [make_frame(i) for i in range(21)]
    with HDF5FrameWriter(path, SHAPE, "uint16") as writer:
        for frame in frames:
            writer.submit(frame)
    with h5py.File(path, "r") as h5file:
        group = h5file[METADATA_GROUP]
        for name in PER_FRAME_FIELDS:
            expected = np.array([getattr(f, name) for f in frames])
            np.testing.assert_array_equal(group[name][:], expected)
            assert group[name].dtype == np.dtype(PER_FRAME_FIELDS[name][0])


def test_camera_configuration_is_stored_as_attributes_of_the_detector_group(tmp_path):
    path = tmp_path / "run.h5"
    attributes = {"exposure_time": 0.01, "readout_port": "Sensitivity", "roi": (0, 0, 64, 48),
                  "gain": {"index": 1, "name": "HDR"}, "trigger": None}
    with HDF5FrameWriter(path, SHAPE, "uint16", attributes=attributes):
        pass
    with h5py.File(path, "r") as h5file:
        attrs = h5file[METADATA_GROUP].attrs
        assert attrs["exposure_time"] == 0.01
        assert attrs["readout_port"] == "Sensitivity"
        np.testing.assert_array_equal(attrs["roi"], [0, 0, 64, 48])
        assert attrs["gain"] == '{"index": 1, "name": "HDR"}'
        assert attrs["trigger"] == "null"


def test_file_is_in_swmr_mode_while_writing_and_an_in_process_reader_sees_it_grow(tmp_path, make_frame):
    path = tmp_path / "run.h5"
    with HDF5FrameWriter(path, SHAPE, "uint16") as writer:
        for i in range(4):
            writer.submit(make_frame(i))
        assert writer.flush() == 4
        with h5py.File(path, "r", swmr=True) as reader:
            data = reader[DATA_PATH]
            assert data.shape[0] == 4
            for i in range(4, 9):
                writer.submit(make_frame(i))
            writer.flush()
            data.refresh()
            assert data.shape[0] == 9
            np.testing.assert_array_equal(data[8], make_frame(8).data)


_SWMR_READER = """
import sys, h5py, hashlib
f = h5py.File(sys.argv[1], "r", swmr=True)
d = f["/entry/data/data"]
for line in sys.stdin:
    d.refresh()
    print(d.shape[0], hashlib.sha1(d[:].tobytes()).hexdigest(), flush=True)
"""


def test_another_process_reads_the_file_in_swmr_mode_while_the_writer_runs(tmp_path, make_frame,
                                                                           spawn_python):
    import hashlib

    path = tmp_path / "run.h5"
    frames = [make_frame(i) for i in range(12)]
    writer = HDF5FrameWriter(path, SHAPE, "uint16").start()
    try:
        for frame in frames[:5]:
            writer.submit(frame)
        writer.flush()
        reader = spawn_python(_SWMR_READER, str(path))
        reader.stdin.write("read\n")
        reader.stdin.flush()
        count, digest = reader.stdout.readline().split()
        assert int(count) == 5
        assert digest == hashlib.sha1(np.stack([f.data for f in frames[:5]]).tobytes()).hexdigest()

        for frame in frames[5:]:
            writer.submit(frame)
        writer.flush()
        reader.stdin.write("read\n")
        reader.stdin.flush()
        count, digest = reader.stdout.readline().split()
        assert int(count) == 12
        assert digest == hashlib.sha1(np.stack([f.data for f in frames]).tobytes()).hexdigest()
        assert writer.running
    finally:
        writer.close()


_KILLED_WRITER = """
import sys, time
import numpy as np
from ophyd_pvcam.engine.frame import Frame
from ophyd_pvcam.storage.hdf5 import HDF5FrameWriter

def pixels(index, shape=(48, 64)):
    count = shape[0] * shape[1]
    values = (np.arange(count, dtype=np.uint64) * 2654435761 + index * 40503) % 65536
    return values.astype(np.uint16).reshape(shape)

writer = HDF5FrameWriter(sys.argv[1], (48, 64), "uint16", compression=sys.argv[2] or None,
                         flush_interval=0.02).start()
reported = 0
index = 0
while True:
    writer.submit(Frame(frame_number=index + 1, data=pixels(index), index=index))
    index += 1
    time.sleep(0.002)
    if writer.frames_written != reported:
        reported = writer.frames_written
        print(reported, flush=True)
"""


@pytest.mark.parametrize("compression", ["", "bitshuffle-lz4"])
def test_killed_writer_process_leaves_a_readable_file_with_every_flushed_frame(
        tmp_path, frame_pixels, spawn_python, compression):
    path = tmp_path / "run.h5"
    child = spawn_python(_KILLED_WRITER, str(path), compression)
    reported = 0
    while reported < 30:
        line = child.stdout.readline()
        assert line, f"writer child ended early: {child.stderr.read()}"
        reported = int(line)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL

    with h5py.File(path, "r", swmr=True) as h5file:
        data = h5file[DATA_PATH]
        count = data.shape[0]
        assert count >= reported
        # Every flushed frame is intact (later ones may not have reached the disk).
        for i in range(reported):
            np.testing.assert_array_equal(data[i], frame_pixels(i))
        np.testing.assert_array_equal(h5file[METADATA_GROUP]["frame_number"][:reported],
                                      np.arange(1, reported + 1))

    # The killed writer's marks keep non-SWMR readers out until cleared.
    with pytest.raises(OSError):
        h5py.File(path, "r")
    assert clear_swmr_flags(path) is True
    with h5py.File(path, "r") as h5file:
        np.testing.assert_array_equal(h5file[DATA_PATH][reported - 1], frame_pixels(reported - 1))


def test_frames_written_counts_only_flushed_frames(tmp_path, make_frame, wait_until):
    path = tmp_path / "run.h5"
    writer = HDF5FrameWriter(path, SHAPE, "uint16", flush_interval=3600).start()
    try:
        for i in range(3):
            writer.submit(make_frame(i))
        wait_until(lambda: writer.stats().frames_stored == 3, what="3 frames stored")
        assert writer.frames_written == 0
        assert writer.flush() == 3
        assert writer.frames_written == 3
    finally:
        assert writer.close() == 3


def test_writer_flushes_by_itself_after_flush_interval(tmp_path, make_frame, wait_until):
    path = tmp_path / "run.h5"
    writer = HDF5FrameWriter(path, SHAPE, "uint16", flush_interval=0.05).start()
    try:
        for i in range(5):
            writer.submit(make_frame(i))
        wait_until(lambda: writer.frames_written == 5, what="interval flush")
        with h5py.File(path, "r", swmr=True) as reader:
            assert reader[DATA_PATH].shape[0] == 5
    finally:
        writer.close()


class _GatedFrame(Frame):
    """A frame whose metadata read blocks the writer thread until ``gate`` is set.

    It stalls the writer at a known point, so the queue fills deterministically.
    """

    entered: threading.Event
    gate: threading.Event

    @property
    def frame_number(self) -> int:
        self.entered.set()
        self.gate.wait()
        return self._frame_number

    @frame_number.setter
    def frame_number(self, value: int) -> None:
        self._frame_number = value


def test_submit_blocks_while_the_queue_is_full_then_proceeds(tmp_path, make_frame):
    path = tmp_path / "run.h5"
    writer = HDF5FrameWriter(path, SHAPE, "uint16", queue_size=2).start()
    gated = _GatedFrame(frame_number=1, data=make_frame(0).data)
    gated.entered, gated.gate = threading.Event(), threading.Event()
    try:
        writer.submit(gated)
        assert gated.entered.wait(60), "writer never reached the gated frame"
        writer.submit(make_frame(1))
        writer.submit(make_frame(2))
        # The queue (2 frames) is full and the writer is held: a bounded wait gives up.
        with pytest.raises(StorageError, match="stayed full"):
            writer.submit(make_frame(3), timeout=0.2)
        assert writer.stats().blocked_submits == 1

        blocked = threading.Thread(target=writer.submit, args=(make_frame(3),), name="blocked-submit")
        blocked.start()
        gated.gate.set()
        blocked.join(60)
        assert not blocked.is_alive()
    finally:
        gated.gate.set()
        count = writer.close()
    assert count == 4
    with h5py.File(path, "r") as h5file:
        np.testing.assert_array_equal(h5file[METADATA_GROUP]["frame_number"][:], [1, 2, 3, 4])
        np.testing.assert_array_equal(h5file[DATA_PATH][3], make_frame(3).data)


def test_flush_and_close_with_a_timeout_give_up_while_the_writer_is_held_then_succeed(
        tmp_path, make_frame):
    path = tmp_path / "run.h5"
    writer = HDF5FrameWriter(path, SHAPE, "uint16").start()
    gated = _GatedFrame(frame_number=1, data=make_frame(0).data)
    gated.entered, gated.gate = threading.Event(), threading.Event()
    try:
        writer.submit(gated)
        assert gated.entered.wait(60), "writer never reached the gated frame"
        with pytest.raises(StorageError, match="did not finish"):
            writer.flush(timeout=0.2)
        with pytest.raises(StorageError, match="did not finish"):
            writer.close(timeout=0.2)
        assert writer.running
    finally:
        gated.gate.set()
    assert writer.close() == 1
    assert not writer.running
    stats = writer.stats()
    assert (stats.frames_submitted, stats.frames_stored, stats.frames_written) == (1, 1, 1)
    assert stats.bytes_stored == make_frame(0).data.nbytes


def test_writer_thread_error_is_raised_from_submit_flush_and_close(tmp_path, make_frame, wait_until):
    path = tmp_path / "run.h5"
    writer = HDF5FrameWriter(path, SHAPE, "uint16").start()
    for i in range(3):
        writer.submit(make_frame(i))
    writer.flush()
    bad = make_frame(3)
    bad.frame_number = "not a number"  # fails when the writer converts the metadata
    writer.submit(bad)
    wait_until(lambda: writer.error is not None, what="writer error")
    assert isinstance(writer.error, StorageError)
    assert isinstance(writer.error, PVCAMError)
    assert isinstance(writer.error.__cause__, ValueError)
    with pytest.raises(StorageError):
        writer.submit(make_frame(4))
    with pytest.raises(StorageError):
        writer.flush()
    with pytest.raises(StorageError) as raised:
        writer.close()
    assert raised.value is writer.error
    assert not writer.running
    # The frames flushed before the failure are still in the (closed) file.
    with h5py.File(path, "r") as h5file:
        np.testing.assert_array_equal(h5file[DATA_PATH][2], make_frame(2).data)


def test_failed_writer_keeps_draining_so_a_blocked_submit_returns(tmp_path, make_frame, wait_until):
    path = tmp_path / "run.h5"
    writer = HDF5FrameWriter(path, SHAPE, "uint16", queue_size=1).start()
    bad = make_frame(0)
    bad.frame_number = "not a number"
    writer.submit(bad)
    wait_until(lambda: writer.error is not None, what="writer error")
    # Many submits against a 1-frame queue: each raises instead of blocking.
    for i in range(5):
        with pytest.raises(StorageError):
            writer.submit(make_frame(i))
    with pytest.raises(StorageError):
        writer.close()


def test_start_refuses_to_overwrite_an_existing_file(tmp_path):
    path = tmp_path / "run.h5"
    path.write_bytes(b"previous acquisition")
    writer = HDF5FrameWriter(path, SHAPE, "uint16")
    with pytest.raises(StorageError, match="creating the file"):
        writer.start()
    assert path.read_bytes() == b"previous acquisition"
    assert not writer.running
    with pytest.raises(StorageError):
        writer.close()


def test_start_creates_missing_parent_directories(tmp_path):
    path = tmp_path / "2024" / "01" / "02" / "cam_uid.h5"
    with HDF5FrameWriter(path, SHAPE, "uint16"):
        pass
    assert path.is_file()


def test_submit_rejects_frames_of_another_shape_or_dtype(tmp_path, make_frame):
    with HDF5FrameWriter(tmp_path / "run.h5", SHAPE, "uint16") as writer:
        with pytest.raises(FrameMismatchError):
            writer.submit(make_frame(0, (SHAPE[0], SHAPE[1] + 1)))
        with pytest.raises(FrameMismatchError):
            writer.submit(make_frame(0, SHAPE, "uint8"))
        writer.submit(make_frame(0))
    assert writer.frames_written == 1


def test_submit_before_start_and_after_close_raise(tmp_path, make_frame):
    writer = HDF5FrameWriter(tmp_path / "run.h5", SHAPE, "uint16")
    with pytest.raises(WriterStateError):
        writer.submit(make_frame(0))
    writer.start()
    writer.submit(make_frame(0))
    assert writer.close() == 1
    assert writer.close() == 1  # idempotent
    with pytest.raises(WriterStateError):
        writer.submit(make_frame(1))
    with pytest.raises(WriterStateError):
        writer.start()


def test_close_drains_every_queued_frame(tmp_path, make_frame):
    path = tmp_path / "run.h5"
    writer = HDF5FrameWriter(path, SHAPE, "uint16", queue_size=500, flush_interval=3600).start()
    for i in range(300):
        writer.submit(make_frame(i))
    assert writer.close() == 300
    with h5py.File(path, "r") as h5file:
        np.testing.assert_array_equal(h5file[METADATA_GROUP]["frame_number"][:], np.arange(1, 301))


def test_writer_thread_is_named_and_joined_by_close(tmp_path):
    writer = HDF5FrameWriter(tmp_path / "run.h5", SHAPE, "uint16").start()
    names = [t.name for t in threading.enumerate()]
    assert "pvcam-hdf5-writer[run.h5]" in names
    writer.close()
    assert "pvcam-hdf5-writer[run.h5]" not in [t.name for t in threading.enumerate()]


def test_unknown_compression_is_refused_before_anything_is_created(tmp_path):
    with pytest.raises(ValidationError, match="unknown compression"):
        HDF5FrameWriter(tmp_path / "run.h5", SHAPE, "uint16", compression="zip")
    assert not (tmp_path / "run.h5").exists()


_STREAMING_CHILD = """
import sys, time
from ophyd_pvcam import sdk, sim
from ophyd_pvcam.engine.camera.camera import Camera
from ophyd_pvcam.engine.stream.stream import Stream
from ophyd_pvcam.storage.hdf5 import HDF5FrameWriter

sim.set_frame_stamp(True)   # the parent judges the pixels by the FrameNr stamp
camera = Camera.open(library=sdk.load(simulated=True))
camera.roi = (0, 0, 64, 32)
camera.exposure_time = 0.002
settings = camera.acquisition_settings()
writer = HDF5FrameWriter(sys.argv[1], settings.frame_shape, settings.dtype, flush_interval=0.02,
                         attributes={"camera": camera.name}).start()
stream = Stream(camera)
stream.add_consumer(writer.submit)
stream.start()
reported = 0
while True:
    time.sleep(0.005)
    if writer.frames_written != reported:
        reported = writer.frames_written
        print(reported, flush=True)
"""


def test_killing_a_process_that_streams_a_simulated_camera_keeps_every_flushed_frame(
        tmp_path, spawn_python):
    path = tmp_path / "stream.h5"
    child = spawn_python(_STREAMING_CHILD, str(path))
    reported = 0
    while reported < 40:
        line = child.stdout.readline()
        assert line, f"streaming child ended early: {child.stderr.read()}"
        reported = int(line)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)

    with h5py.File(path, "r", swmr=True) as h5file:
        data = h5file[DATA_PATH][:reported]
        numbers = h5file[METADATA_GROUP]["frame_number"][:reported]
        assert h5file[METADATA_GROUP].attrs["camera"] == "pvcamUSB_0"
    # The simulator stamps FrameNr into the first 4 bytes of every frame (opt-in): the
    # pixels on disk belong to the frame numbers recorded beside them.
    stamped = data[:, 0, 0].astype(np.int64) | (data[:, 0, 1].astype(np.int64) << 16)
    np.testing.assert_array_equal(stamped, numbers)
    assert numbers[0] >= 1 and np.all(np.diff(numbers) > 0)


# -- blocks ----------------------------------------------------------------------

def _block(first: int, count: int, shape=SHAPE) -> FrameBlock:
    from .test_framefile import make_block

    return make_block(first, count, shape)


@pytest.mark.parametrize("compression", [None, "bitshuffle-lz4", "blosc"])
def test_submitted_blocks_read_back_identical_pixels_and_ledger(tmp_path, frame_pixels,
                                                                 compression):
    from .test_framefile import expected_ledger

    path = tmp_path / "run.h5"
    with HDF5FrameWriter(path, SHAPE, "uint16", compression=compression) as writer:
        for first, count in [(0, 10), (10, 1), (11, 25)]:
            writer.submit_block(_block(first, count))
    assert writer.frames_written == 36
    stats = writer.stats()
    assert (stats.frames_submitted, stats.blocks_submitted, stats.frames_stored) == (36, 3, 36)
    with h5py.File(path, "r") as h5file:
        np.testing.assert_array_equal(h5file[DATA_PATH][:],
                                      np.stack([frame_pixels(i) for i in range(36)]))
        for name, values in expected_ledger(36).items():
            np.testing.assert_array_equal(h5file[METADATA_GROUP][name][:], values)


def test_on_written_runs_once_per_block_on_the_writer_thread_after_its_pixels_are_stored(
        tmp_path, frame_pixels):
    """After on_written the writer never reads the block: the ring may overwrite it."""
    path = tmp_path / "run.h5"
    calls: list[tuple[int, str]] = []
    blocks = [_block(5 * k, 5) for k in range(6)]

    def written(block: FrameBlock) -> None:
        calls.append((int(block.frame_numbers[0]), threading.current_thread().name))
        block.data[:] = 0xBEEF          # what reusing ring memory would do
        block.frame_numbers[:] = -1
        block.release()

    with HDF5FrameWriter(path, SHAPE, "uint16", compression="bitshuffle-lz4") as writer:
        for block in blocks:
            writer.submit_block(block, on_written=lambda b=block: written(b))
        writer.flush()
        assert [first for first, _ in calls] == [1, 6, 11, 16, 21, 26]
    assert {name for _, name in calls} == {"pvcam-hdf5-writer[run.h5]"}
    assert all(block.released for block in blocks)
    with h5py.File(path, "r") as h5file:
        np.testing.assert_array_equal(h5file[DATA_PATH][:],
                                      np.stack([frame_pixels(i) for i in range(30)]))
        np.testing.assert_array_equal(h5file[METADATA_GROUP]["frame_number"][:],
                                      np.arange(1, 31))


def test_every_dataset_has_exactly_frames_written_rows_after_each_flush(tmp_path):
    from .test_framefile import lengths

    path = tmp_path / "run.h5"
    with HDF5FrameWriter(path, SHAPE, "uint16", flush_interval=3600) as writer:
        expected = 0
        for count in (3, 17, 1, 40):
            writer.submit_block(_block(expected, count))
            expected += count
            assert writer.flush() == expected
            assert set(lengths(path).values()) == {expected}
    assert set(lengths(path).values()) == {expected}


def test_compression_runs_in_named_encoder_threads_joined_by_close(tmp_path):
    path = tmp_path / "run.h5"
    seen: list[set] = []

    def look() -> None:
        seen.append({t.name for t in threading.enumerate()})

    writer = HDF5FrameWriter(path, (256, 256), "uint16", compression="blosc",
                             encoder_threads=2).start()
    writer.submit_block(_block(0, 8, (256, 256)), on_written=look)
    writer.flush()
    encoders = {name for name in seen[0] if name.startswith("pvcam-hdf5-encoder[run.h5]")}
    assert len(encoders) == 2
    writer.close()
    assert not encoders & {t.name for t in threading.enumerate()}


def test_a_full_byte_bounded_queue_makes_submit_block_wait_or_time_out(tmp_path, frame_pixels):
    path = tmp_path / "run.h5"
    block_bytes = _block(0, 4).data.nbytes
    # Room for two 4-frame blocks; a frame count bound would not stop them.
    writer = HDF5FrameWriter(path, SHAPE, "uint16", queue_bytes=2 * block_bytes).start()
    entered, gate = threading.Event(), threading.Event()

    def hold_the_writer() -> None:
        entered.set()
        gate.wait()

    try:
        writer.submit_block(_block(0, 4), on_written=hold_the_writer)
        assert entered.wait(60), "writer never wrote the first block"
        writer.submit_block(_block(4, 4))
        writer.submit_block(_block(8, 4))
        with pytest.raises(StorageError, match="stayed full") as raised:
            writer.submit_block(_block(12, 4), timeout=0.2)
        assert raised.value.call == "submit_block"
        assert f"{2 * block_bytes} bytes" in str(raised.value)
        # A single frame does not fit either: the bound is in bytes, whatever the item.
        with pytest.raises(StorageError, match="stayed full"):
            writer.submit(Frame(frame_number=13, data=frame_pixels(12), index=12), timeout=0.2)
        assert writer.stats().blocked_submits == 2

        blocked = threading.Thread(target=writer.submit_block, args=(_block(12, 4),),
                                   name="blocked-submit-block")
        blocked.start()
        gate.set()
        blocked.join(60)
        assert not blocked.is_alive()
    finally:
        gate.set()
        count = writer.close()
    assert count == 16
    assert writer.stats().queue_bytes_high_water == 2 * block_bytes
    with h5py.File(path, "r") as h5file:
        np.testing.assert_array_equal(h5file[METADATA_GROUP]["frame_number"][:], np.arange(1, 17))


def test_a_block_bigger_than_the_queue_is_accepted_by_an_empty_queue(tmp_path):
    path = tmp_path / "run.h5"
    block = _block(0, 10)
    with HDF5FrameWriter(path, SHAPE, "uint16", queue_bytes=block.data.nbytes // 4) as writer:
        writer.submit_block(block, timeout=5)
    assert writer.frames_written == 10


def test_frames_and_blocks_are_written_in_submission_order(tmp_path, make_frame, frame_pixels):
    path = tmp_path / "run.h5"
    with HDF5FrameWriter(path, SHAPE, "uint16") as writer:
        writer.submit(make_frame(0))
        writer.submit(make_frame(1))
        writer.submit_block(_block(2, 3))
        writer.submit(make_frame(5))
        writer.flush()
        writer.submit_block(_block(6, 2))
        writer.submit(make_frame(8))
    with h5py.File(path, "r") as h5file:
        np.testing.assert_array_equal(h5file[METADATA_GROUP]["frame_number"][:], np.arange(1, 10))
        np.testing.assert_array_equal(h5file[DATA_PATH][:],
                                      np.stack([frame_pixels(i) for i in range(9)]))


def test_submit_block_rejects_blocks_of_another_shape_or_dtype(tmp_path):
    with HDF5FrameWriter(tmp_path / "run.h5", SHAPE, "uint16") as writer:
        with pytest.raises(FrameMismatchError):
            writer.submit_block(_block(0, 2, (SHAPE[0], SHAPE[1] + 1)))
        with pytest.raises(FrameMismatchError):
            writer.submit_block(FrameBlock(np.zeros((2, *SHAPE), np.uint8),
                                           frame_numbers=[1, 2]))
    assert writer.frames_written == 0


def test_an_error_in_on_written_fails_the_writer_and_is_raised_by_the_next_call(
        tmp_path, wait_until):
    path = tmp_path / "run.h5"
    writer = HDF5FrameWriter(path, SHAPE, "uint16").start()

    def broken() -> None:
        raise KeyError("ring slot")

    writer.submit_block(_block(0, 3), on_written=broken)
    wait_until(lambda: writer.error is not None, what="writer error")
    assert isinstance(writer.error.__cause__, KeyError)
    with pytest.raises(StorageError) as raised:
        writer.submit_block(_block(3, 3))
    assert raised.value is writer.error
    with pytest.raises(StorageError):
        writer.close()
    # The block's pixels were stored before the callback failed: they are kept.
    with h5py.File(path, "r") as h5file:
        assert h5file[DATA_PATH].shape[0] == 3


def test_the_default_queue_holds_a_share_of_the_host_memory_budget(tmp_path, monkeypatch):
    from ophyd_pvcam.storage.hdf5 import QUEUE_SHARE

    monkeypatch.setenv("PVCAM_HOST_MEMORY_BUDGET", "256M")
    writer = HDF5FrameWriter(tmp_path / "run.h5", SHAPE, "uint16")
    assert writer.queue_bytes == int(256 * 2 ** 20 * QUEUE_SHARE)
    assert HDF5FrameWriter(tmp_path / "b.h5", SHAPE, "uint16", queue_bytes=1000).queue_bytes == 1000
    with pytest.raises(ValidationError):
        HDF5FrameWriter(tmp_path / "c.h5", SHAPE, "uint16", queue_bytes=0)


def test_a_steady_flow_of_blocks_is_still_flushed_between_passes(tmp_path, monkeypatch):
    """The writer never stays in one pass while blocks keep coming: flushes happen in between."""
    import ophyd_pvcam.storage.hdf5 as hdf5_module

    block_bytes = _block(0, 4).data.nbytes
    monkeypatch.setattr(hdf5_module, "_MAX_BATCH_BYTES", 2 * block_bytes)
    path = tmp_path / "run.h5"
    writer = HDF5FrameWriter(path, SHAPE, "uint16", flush_interval=0).start()
    entered, gate = threading.Event(), threading.Event()
    written_at_callback: list[int] = []

    def first() -> None:
        entered.set()
        gate.wait()
        written_at_callback.append(writer.frames_written)

    try:
        writer.submit_block(_block(0, 4), on_written=first)
        assert entered.wait(60)
        for k in range(1, 6):       # all queued while the writer is held
            writer.submit_block(_block(4 * k, 4),
                                on_written=lambda: written_at_callback.append(writer.frames_written))
        gate.set()
    finally:
        gate.set()
        assert writer.close() == 24
    # Passes of two blocks, each followed by a flush: later callbacks see earlier flushes.
    assert written_at_callback == [0, 0, 8, 8, 16, 16]


@pytest.mark.parametrize("compression", ["bitshuffle-lz4", "blosc"])
def test_one_frame_blocks_compressed_ahead_keep_their_order(tmp_path, frame_pixels, compression):
    path = tmp_path / "run.h5"
    order: list[int] = []
    with HDF5FrameWriter(path, SHAPE, "uint16", compression=compression,
                         encoder_threads=2) as writer:
        for i in range(40):
            block = _block(i, 1)
            writer.submit_block(block, on_written=lambda n=i: order.append(n))
    assert order == list(range(40))
    with h5py.File(path, "r") as h5file:
        np.testing.assert_array_equal(h5file[DATA_PATH][:],
                                      np.stack([frame_pixels(i) for i in range(40)]))
        np.testing.assert_array_equal(h5file[METADATA_GROUP]["frame_number"][:], np.arange(1, 41))
