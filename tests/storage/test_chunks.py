"""Chunk codecs: the bytes HDF5's own filter would store, made outside HDF5 without the GIL."""
from __future__ import annotations

import sys
import threading

import h5py
import hdf5plugin
import numpy as np
import pytest

from ophyd_pvcam.storage.chunks import (BitshuffleLZ4Chunks, BloscChunks, RawChunks,
                                        chunk_codec, frames_contiguous)

SHAPE = (48, 64)

FILTERS = {
    "bitshuffle-lz4": lambda: hdf5plugin.Bitshuffle(cname="lz4"),
    "blosc-lz4-shuffle": lambda: hdf5plugin.Blosc(cname="lz4", clevel=5,
                                                  shuffle=hdf5plugin.Blosc.SHUFFLE),
    "blosc-zstd-bitshuffle": lambda: hdf5plugin.Blosc(cname="zstd", clevel=7,
                                                      shuffle=hdf5plugin.Blosc.BITSHUFFLE),
}


def _frames(count: int, shape=SHAPE, dtype="uint16") -> np.ndarray:
    rng = np.random.default_rng(7)
    return (100 + rng.poisson(4, (count, *shape))).astype(dtype)


def _dataset(h5file: h5py.File, name: str, dtype="uint16", shape=SHAPE, **filters):
    return h5file.create_dataset(name, shape=(0, *shape), maxshape=(None, *shape),
                                 chunks=(1, *shape), dtype=dtype, **filters)


@pytest.mark.parametrize("dtype", ["uint16", "uint8"])
@pytest.mark.parametrize("name", sorted(FILTERS))
def test_encoded_chunks_are_the_bytes_the_hdf5_filter_stores(tmp_path, name, dtype):
    frames = _frames(6, dtype=dtype)
    with h5py.File(tmp_path / "chunks.h5", "w") as h5file:
        ours = _dataset(h5file, "ours", dtype, **FILTERS[name]())
        reference = _dataset(h5file, "reference", dtype, **FILTERS[name]())
        codec = chunk_codec(ours)
        assert codec is not None and codec.releases_gil
        ours.resize(len(frames), axis=0)
        for index, chunk in enumerate(codec.encode(frames)):
            ours.id.write_direct_chunk((index, 0, 0), chunk)
        reference.resize(len(frames), axis=0)
        reference[:] = frames      # HDF5 runs the filter itself
        # Readers decode our chunks with the ordinary filter...
        np.testing.assert_array_equal(ours[:], frames)
        # ...and they are the very bytes the filter produced.
        for index in range(len(frames)):
            mask, ours_bytes = ours.id.read_direct_chunk((index, 0, 0))
            _, reference_bytes = reference.id.read_direct_chunk((index, 0, 0))
            assert mask == 0
            assert ours_bytes == reference_bytes


def test_incompressible_frames_still_round_trip(tmp_path):
    rng = np.random.default_rng(3)
    frames = rng.integers(0, 65536, (3, *SHAPE), dtype=np.uint16)
    with h5py.File(tmp_path / "noise.h5", "w") as h5file:
        for name, make in FILTERS.items():
            dataset = _dataset(h5file, name, **make())
            dataset.resize(len(frames), axis=0)
            for index, chunk in enumerate(chunk_codec(dataset).encode(frames)):
                dataset.id.write_direct_chunk((index, 0, 0), chunk)
            np.testing.assert_array_equal(dataset[:], frames)


def test_codec_choice_follows_the_dataset_pipeline(tmp_path):
    with h5py.File(tmp_path / "choice.h5", "w") as h5file:
        assert isinstance(chunk_codec(_dataset(h5file, "raw")), RawChunks)
        assert isinstance(chunk_codec(_dataset(h5file, "bshuf", **FILTERS["bitshuffle-lz4"]())),
                          BitshuffleLZ4Chunks)
        assert isinstance(chunk_codec(_dataset(h5file, "blosc", **FILTERS["blosc-lz4-shuffle"]())),
                          BloscChunks)
        # Filters without a codec here are left to HDF5.
        assert chunk_codec(_dataset(h5file, "zstd", **hdf5plugin.Zstd())) is None
        assert chunk_codec(_dataset(h5file, "gzip", compression="gzip")) is None
        assert chunk_codec(_dataset(h5file, "two", shuffle=True, compression="lzf")) is None
        # Not one frame per chunk: HDF5 too.
        several = h5file.create_dataset("several", shape=(0, *SHAPE), maxshape=(None, *SHAPE),
                                        chunks=(2, *SHAPE), dtype="uint16")
        assert chunk_codec(several) is None


def test_raw_chunks_are_the_frames_without_a_copy():
    frames = _frames(3)
    chunks = RawChunks().encode(frames)
    assert len(chunks) == 3
    assert all(np.shares_memory(chunk, frames) for chunk in chunks)


def _frames_between_headers(frames: np.ndarray, header_bytes: int = 80) -> np.ndarray:
    """The frames as a view that skips a header before each (frames read in place with metadata)."""
    count, frame_bytes = len(frames), frames[0].nbytes
    raw = np.zeros((count, header_bytes + frame_bytes), dtype=np.uint8)
    raw[:, header_bytes:] = frames.reshape(count, -1).view(np.uint8)
    return raw[:, header_bytes:].view(frames.dtype).reshape(frames.shape)


def test_frames_that_are_each_contiguous_are_chunks_where_they_lie():
    frames = _frames(3)
    apart = _frames_between_headers(frames)
    assert not apart.flags.c_contiguous and frames_contiguous(apart)
    assert not frames_contiguous(frames[:, :, ::2])
    chunks = RawChunks().encode(apart)
    assert all(np.shares_memory(chunk, apart) for chunk in chunks)
    np.testing.assert_array_equal(np.stack(chunks), frames)


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_compressed_chunks_of_frames_between_headers_are_those_of_the_frames(tmp_path, name):
    frames = _frames(4)
    with h5py.File(tmp_path / "chunks.h5", "w") as h5file:
        codec = chunk_codec(_dataset(h5file, "ours", **FILTERS[name]()))
        assert [bytes(c) for c in codec.encode(_frames_between_headers(frames))] == [
            bytes(c) for c in codec.encode(frames)]


@pytest.mark.parametrize("name", ["bitshuffle-lz4", "blosc-lz4-shuffle"])
def test_encoding_releases_the_gil(tmp_path, name):
    """The encoder thread lets another thread run *while* it compresses.

    With a switch interval of 1000 s the interpreter never takes the GIL from
    a running thread: the main thread can only run while the encoder thread
    releases it voluntarily. The encoder loop stops as soon as the main thread
    has run; had the compression held the GIL, the main thread could not run
    before the loop ended, and all iterations would complete.
    """
    with h5py.File(tmp_path / "gil.h5", "w") as h5file:
        codec = chunk_codec(_dataset(h5file, "d", shape=(512, 512), **FILTERS[name]()))
    frames = _frames(4, shape=(512, 512))
    iterations = 500
    main_ran: list[bool] = []
    started = threading.Event()
    done: dict[str, int] = {}

    def encode_until_main_runs() -> None:
        started.set()
        for i in range(iterations):
            if main_ran:
                done["iterations"] = i
                return
            codec.encode(frames)
        done["iterations"] = iterations

    previous = sys.getswitchinterval()
    sys.setswitchinterval(1000.0)
    try:
        worker = threading.Thread(target=encode_until_main_runs, name="gil-probe-encoder")
        worker.start()
        started.wait()
        main_ran.append(True)
        worker.join()
    finally:
        sys.setswitchinterval(previous)
    assert done["iterations"] < iterations


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_a_list_of_frames_encodes_like_the_stacked_array(tmp_path, name):
    """The per-frame path hands frames as a list: same chunks, no stacked copy."""
    frames = _frames(5)
    with h5py.File(tmp_path / "list.h5", "w") as h5file:
        codec = chunk_codec(_dataset(h5file, "d", **FILTERS[name]()))
    from_array = [bytes(chunk) for chunk in codec.encode(frames)]
    from_list = [bytes(chunk) for chunk in codec.encode([frame for frame in frames])]
    assert from_list == from_array
    # A strided frame is made contiguous first.
    wide = np.repeat(frames, 2, axis=2)
    assert [bytes(c) for c in codec.encode([f[:, ::2] for f in wide])] == from_array
