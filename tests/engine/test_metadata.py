"""Batch decoding of PVCAM frame metadata, and what streams do with it."""
from __future__ import annotations

import struct

import numpy as np
import pytest

from ophyd_pvcam.engine.camera.camera import Camera
from ophyd_pvcam.engine.errors import ValidationError
from ophyd_pvcam.engine.frameblock import FrameBlock
from ophyd_pvcam.engine.metadata import (BlockMetadata, FrameLayout, MetadataBlock,
                                         MetadataDecoder, decode_block, header_frame_number,
                                         stack_frames, validate_layout)
from ophyd_pvcam.engine.camera.sequence import acquire_sequence
from ophyd_pvcam.engine.stream.delivery import END
from ophyd_pvcam.engine.stream.stream import Stream, StreamState

SIGNATURE = 5328208
GENEROUS = 30.0


# ------------------------------------------------------------ hand-built frames (reference §4)
def roi_header(number, region, data_size, ext=0, flags=0, bor=0, eor=0):
    return struct.pack("<HII6HBHI3x", number, bor, eor, *region, flags, ext, data_size)


def header_v2(frame_nr, rois, *, bof, eof, ts_res, exposure, exp_res, ext=0, version=2):
    return struct.pack("<IBIH6I3BH2B6x", SIGNATURE, version, frame_nr, rois, bof, eof, ts_res,
                       exposure, exp_res, 0, 16, 0, 0, ext, 0, 0)


def header_v3(frame_nr, rois, *, bof_ps, eof_ps, exposure_ps, ext=0):
    return struct.pack("<IBIH3Q3BH2B6x", SIGNATURE, 3, frame_nr, rois, bof_ps, eof_ps,
                       exposure_ps, 16, 0, 0, ext, 0, 0)


def pixels(shape, seed):
    return (np.arange(shape[0] * shape[1], dtype=np.uint16).reshape(shape) + seed)


def frame_v2(frame_nr, regions, *, ext=b"", roi_ext=b"", version=2):
    """One frame: header, extended metadata, then per region its header, ext md, pixels."""
    parts = [header_v2(frame_nr, len(regions), bof=10 * frame_nr, eof=10 * frame_nr + 5,
                       ts_res=100000, exposure=frame_nr, exp_res=1000000, ext=len(ext),
                       version=version), ext]
    for k, region in enumerate(regions):
        s1, s2, sbin, p1, p2, pbin = region
        shape = ((p2 - p1 + 1) // pbin, (s2 - s1 + 1) // sbin)
        data = pixels(shape, 1000 * k + frame_nr).tobytes()
        parts += [roi_header(k + 1, region, len(data), ext=len(roi_ext)), roi_ext, data]
    return b"".join(parts)


REGIONS = ((0, 7, 1, 0, 3, 1), (20, 23, 1, 10, 11, 1))


def block_of(frames):
    raw = np.frombuffer(b"".join(frames), dtype=np.uint8).reshape(len(frames), 1, -1)
    return raw


def test_version_2_headers_of_a_block_decode_to_arrays_in_the_cameras_clock():
    raw = block_of([frame_v2(n, REGIONS) for n in (1, 2, 3)])
    valid, meta, rois, layout = decode_block(raw, np.uint16)
    assert valid.all() and layout.version == 2
    assert list(meta.camera_frame_numbers) == [1, 2, 3]
    assert list(meta.timestamp_bof) == [10, 20, 30] and list(meta.timestamp_eof) == [15, 25, 35]
    assert set(meta.timestamp_resolution_ps) == {100_000_000}  # 100 us ticks
    assert list(meta.exposure_seconds) == pytest.approx([1e-3, 2e-3, 3e-3])
    assert [r[0].shape for r in rois] == [(3, 4, 8), (3, 2, 4)]
    assert np.array_equal(rois[0][0][1], pixels((4, 8), 2))
    assert np.array_equal(rois[1][0][2], pixels((2, 4), 1003))
    assert meta.regions == REGIONS


def test_version_1_headers_derive_each_regions_size_from_its_region():
    raw = block_of([frame_v2(n, REGIONS[:1], version=1) for n in (4, 5)])
    valid, meta, rois, layout = decode_block(raw, np.uint16)
    assert layout.version == 1 and list(meta.camera_frame_numbers) == [4, 5]
    assert np.array_equal(rois[0][0][0], pixels((4, 8), 4))


def test_version_3_headers_count_in_picoseconds():
    data = pixels((4, 8), 7).tobytes()
    one = (header_v3(9, 1, bof_ps=123_456_789, eof_ps=223_456_789, exposure_ps=5_000_000_000)
           + roi_header(1, REGIONS[0], len(data)) + data)
    valid, meta, rois, layout = decode_block(block_of([one]), np.uint16)
    assert layout.version == 3
    assert meta.timestamp_bof[0] == 123_456_789 and meta.timestamp_resolution_ps[0] == 1
    assert meta.timestamp_eof_ps[0] == 223_456_789
    assert meta.exposure_seconds[0] == pytest.approx(5e-3)
    assert np.array_equal(rois[0][0][0], pixels((4, 8), 7))


def test_pixels_are_found_through_extended_metadata_never_at_an_assumed_offset():
    raw = block_of([frame_v2(n, REGIONS, ext=b"\x01\x02\x03", roi_ext=b"\xff" * 5)
                    for n in (1, 2)])
    valid, meta, rois, layout = decode_block(raw, np.uint16)
    assert layout.extended_size == 3 and layout.roi_extended == (5, 5)
    assert layout.data_offsets[0] == 48 + 3 + 32 + 5
    assert np.array_equal(rois[0][0][1], pixels((4, 8), 2))
    assert np.array_equal(rois[1][0][0], pixels((2, 4), 1001))


def test_a_block_whose_frames_change_layout_is_decoded_run_by_run():
    frames = [frame_v2(1, REGIONS[:1]), frame_v2(2, REGIONS[:1], ext=b"\x00\x00")]
    # the same byte length, so one block: pad the first frame at its end
    frames[0] += b"\x00" * (len(frames[1]) - len(frames[0]))
    layout = FrameLayout.from_frame(np.frombuffer(frames[0], dtype=np.uint8))
    raw = block_of(frames)
    assert list(validate_layout(raw.reshape(2, -1), layout)) == [True, False]
    valid, meta, rois, found = decode_block(raw, np.uint16, layout)
    assert valid.all() and found.extended_size == 2
    assert np.array_equal(np.concatenate(rois[0])[1], pixels((4, 8), 2))


def test_a_slot_without_a_header_is_not_a_frame():
    good = frame_v2(1, REGIONS[:1])
    raw = block_of([good, b"\x00" * len(good)])
    valid, meta, rois, layout = decode_block(raw, np.uint16)
    assert list(valid) == [True, False] and len(meta) == 1
    assert header_frame_number(raw[1]) == -1 and header_frame_number(raw[0]) == 1


def test_the_decoder_drops_stale_slots_counts_them_and_carries_the_loss_forward():
    skipped = []
    decoder = MetadataDecoder(np.uint16,
                              on_skipped=lambda numbers, why: skipped.append((list(numbers), why)))
    # the camera skipped FrameNr 19: its slot still holds frame 3, one 16-slot lap earlier
    frames = [frame_v2(n, REGIONS) for n in (17, 18, 3, 20)]
    block = FrameBlock(block_of(frames), frame_numbers=[17, 18, 19, 20])
    decoded = decoder.decode(block)
    assert isinstance(decoded, MetadataBlock)
    assert list(decoded.frame_numbers) == [17, 18, 20] and list(decoded.lost_before) == [0, 0, 1]
    assert skipped == [([19], "gap")] and decoder.frames_skipped == 1
    # a block that ends on a stale slot hands its loss to the next block's first frame
    # (first_index: where the pump put each block among the slots it took)
    tail = decoder.decode(FrameBlock(block_of([frame_v2(21, REGIONS), frame_v2(6, REGIONS)]),
                                     frame_numbers=[21, 22], first_index=4))
    nxt = decoder.decode(FrameBlock(block_of([frame_v2(23, REGIONS)]), frame_numbers=[23],
                                    first_index=6))
    assert list(tail.lost_before) == [0] and list(nxt.lost_before) == [1]
    # removed slots are not delivered: the delivery indices close up over them
    assert (list(decoded.indices), list(tail.indices), list(nxt.indices)) == ([0, 1, 2], [3], [4])
    # a slot that already holds a later frame (n + 16): overwritten before it was read
    decoder.decode(FrameBlock(block_of([frame_v2(40, REGIONS)]), frame_numbers=[24],
                              first_index=7))
    assert skipped[-1] == ([24], "overwritten")
    assert decoded.data.shape == (3, 4, 8) and decoded.rois[1].shape == (3, 2, 4)
    assert decoded.regions == REGIONS


def test_a_restart_starts_a_new_epoch_of_header_framenrs():
    decoder = MetadataDecoder(np.uint16, epoch_offsets=lambda: (0, 10))
    block = FrameBlock(block_of([frame_v2(10, REGIONS[:1]), frame_v2(1, REGIONS[:1])]),
                       frame_numbers=[10, 11])
    assert list(decoder.decode(block).frame_numbers) == [10, 11]


def test_split_retain_and_stacking_keep_the_metadata():
    decoder = MetadataDecoder(np.uint16)
    block = decoder.decode(FrameBlock(block_of([frame_v2(n, REGIONS) for n in (1, 2, 3)]),
                                      frame_numbers=[1, 2, 3]))
    head, tail = block.split(1)
    assert list(tail.metadata.camera_frame_numbers) == [2, 3] and tail.rois[1].shape[0] == 2
    kept = block.retain()
    assert isinstance(kept, MetadataBlock) and kept.regions == REGIONS
    frames = list(block.frames())
    assert frames[2].metadata.camera_frame_numbers[0] == 3 and len(frames[2].rois) == 2
    again = stack_frames(frames)
    assert isinstance(again, MetadataBlock)
    assert list(again.metadata.camera_frame_numbers) == [1, 2, 3]
    assert np.array_equal(again.rois[1], block.rois[1])


def test_block_metadata_selects_and_concatenates():
    meta = BlockMetadata(*(np.arange(4) for _ in range(6)), regions=REGIONS)
    assert list(meta.select(slice(1, 3)).exposure_time) == [1, 2]
    both = BlockMetadata.concatenate([meta, meta.row(3)])
    assert len(both) == 5 and both.regions == REGIONS


# ------------------------------------------------------------ streams on the simulator
@pytest.fixture
def camera(library, faults):
    with Camera.open(library=library) as cam:
        cam.exposure_time = 0.001
        cam.roi = (0, 0, 64, 32)
        yield cam


def test_metadata_is_on_by_default_where_the_camera_has_it(model_camera):
    assert model_camera.metadata_available and model_camera.metadata


@pytest.mark.parametrize("pump", ["native", "python"])
def test_stream_frames_carry_the_header_and_plain_pixels(camera, pump):
    with Stream(camera, max_frames=10, pump=pump) as stream:
        frames = list(stream)
    assert [int(f.metadata.camera_frame_numbers[0]) for f in frames] == list(range(1, 11))
    assert all(f.data.shape == (32, 64) for f in frames)
    assert all(f.metadata.exposure_seconds[0] == pytest.approx(0.001) for f in frames)
    eofs = [int(f.metadata.timestamp_eof[0]) for f in frames]
    assert eofs == sorted(eofs) and eofs[-1] > eofs[0]


@pytest.mark.parametrize("pump", ["native", "python"])
def test_stream_blocks_carry_metadata(camera, pump):
    with Stream(camera, max_frames=20, pump=pump) as stream:
        blocks = []
        while sum(map(len, blocks)) < 20:
            block = stream.get_block(GENEROUS)
            assert block is not None
            blocks.append(block.retain())
            block.release()
    assert all(isinstance(b, MetadataBlock) and b.data.shape[1:] == (32, 64) for b in blocks)
    numbers = np.concatenate([b.metadata.camera_frame_numbers for b in blocks])
    assert list(numbers) == list(range(1, 21))


def test_metadata_off_gives_frames_without_headers(camera):
    with Stream(camera, max_frames=5, metadata=False) as stream:
        frames = list(stream)
    assert all(f.metadata is None and f.data.shape == (32, 64) for f in frames)
    assert camera.parameters["metadata_enabled"].get() is False


@pytest.mark.parametrize("pump", ["native", "python"])
def test_a_lost_callback_is_no_lost_frame_when_the_header_says_the_frame_is_there(
        camera, faults, pump):
    faults("drop_callback_every=5")
    with Stream(camera, max_frames=40, pump=pump) as stream:
        frames = list(stream)
    stats = stream.stats()
    assert stream.state is StreamState.COMPLETE
    assert [f.frame_number for f in frames] == list(range(1, 41))
    assert [int(f.metadata.camera_frame_numbers[0]) for f in frames] == list(range(1, 41))
    assert stats.frames_lost == 0 and stats.callbacks_missed >= 7


@pytest.mark.parametrize("pump", ["native", "python"])
def test_polling_reports_the_framenrs_the_camera_skipped(camera, faults, pump):
    faults("drop_every=7")
    camera.exposure_time = 0.005  # the ring never overflows: only the skipped ones are lost
    with Stream(camera, max_frames=60, pump=pump, use_callbacks=False, buffer_seconds=0,
                min_buffer_frames=16) as stream:
        frames = list(stream)
    stats = stream.stats()
    delivered = [f.frame_number for f in frames]
    last = delivered[-1]
    assert stats.gaps_detectable
    assert [n for n in stats.lost_frame_numbers if n <= last] == list(range(7, last, 7))
    assert stats.lost_by_reason == {"gap": len(stats.lost_frame_numbers)}
    assert delivered == [n for n in range(1, last + 1) if n % 7]
    assert [int(f.metadata.camera_frame_numbers[0]) for f in frames] == delivered
    assert all(f.lost_before == (1 if f.frame_number % 7 == 1 and f.frame_number > 7 else 0)
               for f in frames)
    assert stats.frames_delivered == len(frames)


@pytest.mark.parametrize("pump", ["native", "python"])
def test_blocks_stay_consecutive_in_delivery_index_when_skipped_framenrs_are_removed(
        camera, faults, pump):
    # A removed slot is lost, not delivered: the frames after it take the next
    # delivery index, so blocks (get_block) stack without a hole.
    faults("drop_every=7")
    camera.exposure_time = 0.005
    with Stream(camera, max_frames=60, pump=pump, use_callbacks=False, buffer_seconds=0,
                min_buffer_frames=16) as stream:
        indices, numbers = [], []
        while (block := stream.get_block(GENEROUS)) is not None and block is not END:
            indices.extend(block.indices.tolist())
            numbers.extend(block.frame_numbers.tolist())
            block.release()
    assert numbers == [n for n in range(1, numbers[-1] + 1) if n % 7]
    assert indices == list(range(len(numbers)))
    assert stream.stats().frames_delivered == len(numbers)


def test_sequences_turn_metadata_off_and_refuse_several_regions(camera):
    camera.parameters["metadata_enabled"].set(True)
    assert acquire_sequence(camera, 2).shape == (2, 32, 64)
    assert camera.parameters["metadata_enabled"].get() is False
    camera.rois = [(0, 0, 64, 32), (100, 100, 16, 8)]
    with pytest.raises(ValidationError, match="one region"):
        acquire_sequence(camera, 2)


# ------------------------------------------------------------ several regions, smart streaming
def test_several_regions_stream_with_one_array_per_region(camera):
    camera.rois = [(0, 0, 64, 32), (100, 100, 16, 8), (200, 0, 8, 8)]
    with Stream(camera, max_frames=6) as stream:
        frames = list(stream)
    assert [tuple(r.shape for r in f.rois) for f in frames[:1]] == [((32, 64), (8, 16), (8, 8))]
    assert all(f.data.shape == (32, 64) for f in frames)
    assert frames[0].metadata.regions[1] == (100, 115, 1, 100, 107, 1)


@pytest.mark.parametrize("rois, message", [
    ([(0, 0, 64, 32), (32, 16, 64, 32)], "overlap"),
    ([(0, 0, 64, 32), (2040, 0, 64, 32)], "beyond"),
    ([(i * 10, 0, 8, 8) for i in range(16)], "at most 15"),
    ([], "non-empty"),
])
def test_bad_regions_are_refused_before_anything_starts(camera, rois, message):
    with pytest.raises(ValidationError, match=message):
        camera.rois = rois
    assert camera.rois == ((camera.roi),)


def test_kinetix_takes_several_regions_only_on_its_dynamic_range_port(open_model):
    kinetix = open_model("kinetix")
    two = [(0, 0, 64, 32), (100, 100, 16, 8)]
    with pytest.raises(ValidationError, match="at most 1"):
        kinetix.rois = two
    kinetix.readout_port = "Dynamic Range"
    kinetix.rois = two
    assert len(kinetix.rois) == 2


def test_smart_streaming_cycles_exposures_frame_by_frame(camera):
    camera.smart_stream_exposures = [0.001, 0.002, 0.003]
    with Stream(camera, max_frames=9) as stream:
        frames = list(stream)
    seen = [round(float(f.metadata.exposure_seconds[0]), 6) for f in frames]
    assert seen == [0.001, 0.002, 0.003] * 3
    camera.smart_stream_exposures = ()
    with Stream(camera, max_frames=3) as stream:
        assert {round(float(f.metadata.exposure_seconds[0]), 6) for f in stream} == {0.001}


def test_smart_streaming_refuses_exposures_the_camera_cannot_express(camera):
    with pytest.raises(ValidationError):
        camera.smart_stream_exposures = [0.001, -1.0]
    with pytest.raises(ValidationError, match="cannot be expressed"):
        camera.smart_stream_exposures = [1e-7]
    assert camera.smart_stream_exposures == ()
