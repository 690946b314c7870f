"""Tests of frame metadata in the binding (ophyd_pvcam.sdk._metadata).

Two readers of one layout: the library's ``pl_md_*`` calls (through
:class:`~ophyd_pvcam.sdk.binding.PVCAMLibrary`) and the pure-Python
:func:`~ophyd_pvcam.sdk.decode_frame_metadata`. Both are checked against frames
built by hand here, byte by byte at the offsets of reference section 4 (never with
the decoder's own struct formats), for every header version; then against frames
the simulator acquires with ``PARAM_METADATA_ENABLED`` on, on every model.
"""
from __future__ import annotations

import ctypes
import struct

import numpy as np
import pytest

from ophyd_pvcam import sim
from ophyd_pvcam.sdk import constants as C
from ophyd_pvcam.sdk import decode_frame_metadata
from ophyd_pvcam.sdk import errors as E
from ophyd_pvcam.sdk.types import md_frame

SMALL_ROI = (0, 63, 1, 0, 31, 1)  # 64 x 32 uint16 pixels
SIGNATURE = 5328208


# ------------------------------------------------------------------ hand-built frames
def frame_header(version, frame_nr, roi_count, *, bof, eof, exposure, ts_res=1000, exp_res=1000,
                 roi_res=1000, bit_depth=16, color=0, flags=0, ext=b"", image_format=0, compression=0):
    """48 bytes at the reference's offsets; v3 puts 64-bit ps at 11/19/27, v1/v2 32-bit units."""
    head = bytearray(48)
    struct.pack_into("<I", head, 0, SIGNATURE)
    head[4] = version
    struct.pack_into("<I", head, 5, frame_nr)
    struct.pack_into("<H", head, 9, roi_count)
    if version == 3:
        struct.pack_into("<Q", head, 11, bof)
        struct.pack_into("<Q", head, 19, eof)
        struct.pack_into("<Q", head, 27, exposure)
    else:
        for offset, value in ((11, bof), (15, eof), (19, ts_res), (23, exposure), (27, exp_res),
                              (31, roi_res)):
            struct.pack_into("<I", head, offset, value)
    head[35], head[36], head[37] = bit_depth, color, flags
    struct.pack_into("<H", head, 38, len(ext))
    if version >= 2:
        head[40], head[41] = image_format, compression
    return bytes(head) + ext


def roi_header(number, region, *, data_size, flags=0, ext=b"", bor=0, eor=0):
    """32 bytes: roiNr @0, BOR @2, EOR @6, rgn_type @10, flags @22, ext size @23, size @25."""
    head = bytearray(32)
    struct.pack_into("<HII", head, 0, number, bor, eor)
    struct.pack_into("<6H", head, 10, *region)
    head[22] = flags
    struct.pack_into("<H", head, 23, len(ext))
    struct.pack_into("<I", head, 25, data_size)
    return bytes(head) + ext


def pixels(region, fill, dtype=np.uint16):
    s1, s2, sbin, p1, p2, pbin = region
    return np.full(((p2 - p1 + 1) // pbin, (s2 - s1 + 1) // sbin), fill, dtype).tobytes()


REGION_A = (10, 13, 1, 20, 22, 1)    # 4 x 3
REGION_B = (30, 35, 2, 40, 43, 2)    # 3 x 2 after 2x2 binning


def two_roi_frame(version):
    """A two-ROI frame with frame and ROI extended metadata; v1 leaves roiDataSize 0."""
    a, b = pixels(REGION_A, 7), pixels(REGION_B, 9)
    size_a, size_b = (len(a), len(b)) if version >= 2 else (0, 0)
    if version == 3:
        head = frame_header(3, 42, 2, bof=5_000_000_000_123, eof=5_000_020_000_456,
                            exposure=10_000_000_789, ext=b"\x00\x01\x02\x03\x04", image_format=0)
    else:
        head = frame_header(version, 42, 2, bof=5_000, eof=5_020, exposure=10, ts_res=1000,
                            exp_res=1_000_000, roi_res=1000, ext=b"\x00\x01\x02\x03\x04")
    return (head + roi_header(1, REGION_A, data_size=size_a, ext=b"\xAA\xBB\xCC", bor=1, eor=2) + a
            + roi_header(2, REGION_B, data_size=size_b) + b)


# ------------------------------------------------------------------ Python decoder
@pytest.mark.parametrize("version", [1, 2, 3])
def test_python_decoder_reads_every_header_version_of_a_hand_built_frame(version):
    raw = two_roi_frame(version)
    md = decode_frame_metadata(raw)
    assert (md.version, md.frame_number, len(md.rois), md.frame_size) == (version, 42, 2, len(raw))
    if version == 3:
        assert (md.timestamp_bof_ps, md.timestamp_eof_ps, md.exposure_time_ps) == (
            5_000_000_000_123, 5_000_020_000_456, 10_000_000_789)   # beyond 32 bits, exact
        assert md.timestamp_resolution_ns == md.exposure_resolution_ns == 0
    else:
        # 5000 us, 5020 us, 10 ms, in picoseconds
        assert (md.timestamp_bof_ps, md.timestamp_eof_ps, md.exposure_time_ps) == (
            5_000_000_000, 5_020_000_000, 10_000_000_000)
        assert (md.timestamp_resolution_ns, md.exposure_resolution_ns,
                md.roi_timestamp_resolution_ns) == (1000, 1_000_000, 1000)
    assert (md.extended_offset, md.extended_size) == (48, 5)
    first, second = md.rois
    assert first.number == 1 and first.region == REGION_A and first.shape == (3, 4)
    assert (first.extended_offset, first.extended_size) == (48 + 5 + 32, 3)
    assert (first.data_offset, first.data_size) == (48 + 5 + 32 + 3, 24)   # derived on v1
    assert (first.timestamp_bor, first.timestamp_eor) == (1, 2)
    assert second.region == REGION_B and second.shape == (2, 3)
    assert second.data_offset == first.data_offset + 24 + 32 and second.data_size == 12
    for roi, fill in ((first, 7), (second, 9)):
        image = np.frombuffer(raw, np.uint16, roi.data_size // 2, roi.data_offset).reshape(roi.shape)
        assert (image == fill).all()
    assert md.implied_region == (10, 35, 1, 20, 43, 1)
    assert md.bytes_per_pixel == 2


def test_version_1_implies_mono16_and_version_2_reports_its_format():
    assert decode_frame_metadata(two_roi_frame(1)).image_format == C.PL_IMAGE_FORMAT_MONO16
    eight_bit = (frame_header(2, 1, 1, bof=0, eof=0, exposure=0, bit_depth=8, image_format=2)
                 + roi_header(1, REGION_A, data_size=12) + pixels(REGION_A, 3, np.uint8))
    md = decode_frame_metadata(eight_bit)
    assert md.image_format == C.PL_IMAGE_FORMAT_MONO8 and md.bytes_per_pixel == 1
    assert md.rois[0].data_size == 12


def test_invalid_rois_are_left_out_and_header_only_rois_have_no_pixels():
    raw = (frame_header(2, 3, 3, bof=0, eof=0, exposure=0)
           + roi_header(1, REGION_A, data_size=24, flags=C.PL_MD_ROI_FLAG_INVALID) + pixels(REGION_A, 1)
           + roi_header(2, REGION_B, data_size=0, flags=C.PL_MD_ROI_FLAG_HEADER_ONLY)
           + roi_header(3, REGION_B, data_size=12) + pixels(REGION_B, 5))
    md = decode_frame_metadata(raw)
    assert [roi.number for roi in md.rois] == [2, 3]
    assert md.rois[0].data_size == 0 and md.rois[1].data_size == 12


@pytest.mark.parametrize("damage, reason", [
    (lambda raw: raw[:40], "48-byte"),
    (lambda raw: b"PMQ!" + raw[4:], "signature"),
    (lambda raw: raw[:4] + b"\x07" + raw[5:], "version 7"),
    (lambda raw: raw[:-1], "run past"),
    (lambda raw: raw[:9] + b"\x00\x00" + raw[11:], "no ROI"),
])
def test_python_decoder_refuses_damaged_frames_with_192(damage, reason):
    with pytest.raises(E.SDKError, match=reason) as info:
        decode_frame_metadata(damage(two_roi_frame(2)))
    assert (info.value.code, info.value.call) == (192, "decode_frame_metadata")


def test_python_decoder_accepts_arrays_and_a_size_and_refuses_non_buffers():
    raw = two_roi_frame(3)
    padded = np.frombuffer(raw + bytes(100), np.uint8)
    assert decode_frame_metadata(padded, len(raw)).frame_size == len(raw)
    with pytest.raises(E.BufferSizeError):
        decode_frame_metadata(raw, len(raw) + 1)
    with pytest.raises(E.ArgumentError):
        decode_frame_metadata(12345)


# ------------------------------------------------------------------ the library's decoder
@pytest.mark.parametrize("version", [1, 2, 3])
def test_library_decoder_agrees_with_the_python_one_on_hand_built_frames(library, version):
    raw = np.frombuffer(two_roi_frame(version), np.uint8).copy()
    base = raw.ctypes.data
    frame = library.md_create_frame_struct_cont(4)
    try:
        library.md_frame_decode(frame, raw)
        decoded, md = frame.contents, decode_frame_metadata(raw)
        assert ctypes.addressof(decoded.header.contents) == base
        assert decoded.header.contents.frameNr == 42 and decoded.roiCount == 2
        assert (decoded.extMdData - base, decoded.extMdDataSize) == (md.extended_offset, 5)
        assert tuple(decoded.impliedRoi.as_tuple()) == md.implied_region
        for i, roi in enumerate(md.rois):
            got = decoded.roiArray[i]
            assert (got.data - base, got.dataSize) == (roi.data_offset, roi.data_size)
            assert (got.extMdDataSize, got.header.contents.roiNr) == (roi.extended_size, roi.number)
    finally:
        library.md_release_frame_struct(frame)


def test_library_decode_needs_room_for_every_roi(library):
    raw = np.frombuffer(two_roi_frame(2), np.uint8).copy()
    frame = library.md_create_frame_struct_cont(1)
    try:
        with pytest.raises(E.SDKError) as info:
            library.md_frame_decode(frame, raw)
        assert info.value.code == 192
    finally:
        library.md_release_frame_struct(frame)


def test_frame_struct_from_a_frame_is_sized_by_its_roi_count(library):
    raw = np.frombuffer(two_roi_frame(3), np.uint8).copy()
    frame = library.md_create_frame_struct(raw)
    try:
        assert (frame.contents.roiCapacity, frame.contents.roiCount) == (2, 0)  # empty until decoded
        library.md_frame_decode(frame, raw)
        assert frame.contents.roiCount == 2
    finally:
        library.md_release_frame_struct(frame)


def test_recompose_places_each_roi_relative_to_the_implied_roi(library):
    raw = np.frombuffer(two_roi_frame(2), np.uint8).copy()
    frame = library.md_create_frame_struct_cont(2)
    try:
        library.md_frame_decode(frame, raw)
        # Implied ROI (10..35, 20..43) at binning 1: 26 x 24 pixels, plus an offset of (1, 2).
        image = np.zeros((26, 28), np.uint16)
        library.md_frame_recompose(image, 1, 2, 28, 26, frame)
        assert (image[2:5, 1:5] == 7).all()               # REGION_A at (0, 0) of the implied ROI
        assert (image[2 + 20:2 + 22, 1 + 20:1 + 23] == 9).all()   # REGION_B: (20, 20) / binning 1
        assert int(image.astype(bool).sum()) == 12 + 6
        with pytest.raises(E.SDKError) as info:
            library.md_frame_recompose(np.zeros((10, 10), np.uint16), 0, 0, 10, 10, frame)
        assert info.value.code == 172
    finally:
        library.md_release_frame_struct(frame)


def test_extended_metadata_items_are_read_by_tag(library):
    block = bytes([C.PL_MD_EXT_TAG_PARTICLE_ID]) + struct.pack("<I", 77) + \
        bytes([C.PL_MD_EXT_TAG_PARTICLE_M0]) + struct.pack("<I", 5)
    data = (ctypes.c_uint8 * len(block)).from_buffer_copy(block)
    items = library.md_read_extended(data)
    assert items.count == 2
    assert items.list[0].tagInfo.contents.tag == C.PL_MD_EXT_TAG_PARTICLE_ID
    assert ctypes.c_uint32.from_address(items.list[0].value).value == 77
    assert items.map[C.PL_MD_EXT_TAG_PARTICLE_M0].contents.tagInfo.contents.size == 4


def test_extended_metadata_with_an_unknown_tag_or_a_cut_value_fails_with_192(library):
    for block in (bytearray([0xFF, 0, 0, 0, 0]), bytearray([C.PL_MD_EXT_TAG_PARTICLE_M2, 1, 2])):
        with pytest.raises(E.SDKError) as info:
            library.md_read_extended(block)
        _assert_sdk_error(info, 192, "pl_md_read_extended")
    with pytest.raises(E.SDKError) as info:
        library.md_read_extended(None)
    _assert_sdk_error(info, 153, "pl_md_read_extended")


# ------------------------------------------------------------------ acquired frames
EXPECTED_VERSION = {"prime-bsi": 2, "prime-bsi-express": 2, "kinetix": 3, "prime-95b": 1}


@pytest.mark.parametrize("model", sim.MODELS)
def test_acquired_frames_carry_the_models_header_and_exp_bytes_includes_it(
        init_library, wait_for, model):
    library = init_library(model)
    camera = library.cam_open(library.cam_get_name(0))
    try:
        library.set_param(camera, C.PARAM_EXP_RES, C.EXP_RES_ONE_MILLISEC)
        plain = library.exp_setup_seq(camera, 1, SMALL_ROI, C.EXT_TRIG_INTERNAL, 1)
        library.set_param(camera, C.PARAM_METADATA_ENABLED, True)
        assert library.get_param(camera, C.PARAM_METADATA_ENABLED) is True
        total = library.exp_setup_seq(camera, 3, SMALL_ROI, C.EXT_TRIG_INTERNAL, 2)
        frame_bytes = total // 3
        assert frame_bytes == plain + 48 + 32
        frames = np.zeros(total, dtype=np.uint8)
        library.exp_start_seq(camera, frames)
        wait_for(lambda: library.exp_check_status(camera)[0] == C.READOUT_COMPLETE, "3 frames")
        library.exp_finish_seq(camera, frames)
        decoded = [decode_frame_metadata(frames[i * frame_bytes:(i + 1) * frame_bytes])
                   for i in range(3)]
        assert [md.frame_number for md in decoded] == [1, 2, 3]
        assert {md.version for md in decoded} == {EXPECTED_VERSION[model]}
        assert all(md.rois[0].region == SMALL_ROI and md.rois[0].data_offset == 80 for md in decoded)
        assert all(md.exposure_time_ps == 2 * 10 ** 9 for md in decoded)   # 2 ms
        assert decoded[0].timestamp_eof_ps > decoded[0].timestamp_bof_ps
        assert decoded[1].timestamp_bof_ps > decoded[0].timestamp_bof_ps
        assert decoded[0].bit_depth == library.get_param(camera, C.PARAM_BIT_DEPTH)
        pixels_of_first = frames[80:80 + decoded[0].rois[0].data_size].view(
            np.uint8 if decoded[0].bytes_per_pixel == 1 else np.uint16)
        assert pixels_of_first.min() > 0   # the sensor's offset, not a header or counter
    finally:
        library.cam_close(camera)


def test_acquired_extended_metadata_is_found_by_both_decoders(init_library, wait_for):
    library = init_library("prime-bsi")
    sim.set_faults("md_extended=3")
    camera = library.cam_open(library.cam_get_name(0))
    try:
        library.set_param(camera, C.PARAM_METADATA_ENABLED, True)
        total = library.exp_setup_seq(camera, 1, SMALL_ROI, C.EXT_TRIG_INTERNAL, 1)
        frame = np.zeros(total, dtype=np.uint8)
        library.exp_start_seq(camera, frame)
        wait_for(lambda: library.exp_check_status(camera)[0] == C.READOUT_COMPLETE, "one frame")
        library.exp_finish_seq(camera, frame)
    finally:
        library.cam_close(camera)
    md = decode_frame_metadata(frame)
    assert (md.extended_offset, md.extended_size) == (48, 15)
    (roi,) = md.rois
    assert (roi.extended_size, roi.data_offset) == (15, 48 + 15 + 32 + 15)
    decoded = library.md_create_frame_struct(frame)
    try:
        library.md_frame_decode(decoded, frame)
        assert decoded.contents.roiArray[0].data - frame.ctypes.data == roi.data_offset
        items = library.md_read_extended(decoded.contents.extMdData, decoded.contents.extMdDataSize)
        assert items.count == 3
        assert ctypes.c_uint32.from_address(items.list[2].value).value == 1   # particle id = FrameNr
    finally:
        library.md_release_frame_struct(decoded)


def test_metadata_off_again_gives_plain_frames(library, camera):
    library.set_param(camera, C.PARAM_METADATA_ENABLED, True)
    with_headers = library.exp_setup_seq(camera, 1, SMALL_ROI, C.EXT_TRIG_INTERNAL, 1)
    library.set_param(camera, C.PARAM_METADATA_ENABLED, False)
    assert library.exp_setup_seq(camera, 1, SMALL_ROI, C.EXT_TRIG_INTERNAL, 1) == with_headers - 80


# ------------------------------------------------------------------ frames without metadata
@pytest.fixture
def acquired_frame(library, camera, wait_for, frame_stamp):
    """One frame of real simulator data, without metadata headers (the stamp shows it is a frame)."""
    total = library.exp_setup_seq(camera, 1, SMALL_ROI, C.EXT_TRIG_INTERNAL, 1)
    frame = np.zeros(total, dtype=np.uint8)
    library.exp_start_seq(camera, frame)
    wait_for(lambda: library.exp_check_status(camera)[0] == C.READOUT_COMPLETE, "one frame")
    library.exp_finish_seq(camera, frame)
    assert frame.view(np.uint32)[0] == 1  # really a frame: FrameNr stamped at the start
    return frame


def _assert_sdk_error(info, code, call):
    error = info.value
    assert type(error) is E.SDKError  # no more specific class for 153 or 192
    assert (error.code, error.call) == (code, call)
    assert C.error_name(code) in error.message


def test_frame_struct_for_rois_is_allocated_empty_and_released(library):
    frame = library.md_create_frame_struct_cont(3)
    assert isinstance(frame, ctypes.POINTER(md_frame)) and frame
    contents = frame.contents
    assert (contents.roiCapacity, contents.roiCount) == (3, 0)
    assert not contents.header and contents.roiArray  # ROI array allocated, nothing decoded
    library.md_release_frame_struct(frame)
    assert not frame  # the binding nulls the caller's pointer


def test_releasing_a_frame_struct_twice_gets_the_null_pointer_error_not_a_double_free(library):
    frame = library.md_create_frame_struct_cont(1)
    library.md_release_frame_struct(frame)
    with pytest.raises(E.SDKError) as info:
        library.md_release_frame_struct(frame)
    _assert_sdk_error(info, 153, "pl_md_release_frame_struct")


def test_frame_struct_for_zero_rois_is_refused_by_the_library_with_164(library):
    with pytest.raises(E.ValueRejectedError) as info:
        library.md_create_frame_struct_cont(0)
    assert (info.value.code, info.value.call) == (164, "pl_md_create_frame_struct_cont")


def test_roi_count_beyond_uns16_is_refused_before_the_call(library):
    with pytest.raises(E.ValueRejectedError) as info:
        library.md_create_frame_struct_cont(70000)
    assert info.value.code is None and info.value.call == "pl_md_create_frame_struct_cont"


def test_release_refuses_anything_but_a_frame_pointer(library):
    with pytest.raises(E.ArgumentError) as info:
        library.md_release_frame_struct(md_frame())  # Python-owned: freeing it would crash
    assert isinstance(info.value, TypeError)
    assert info.value.call == "pl_md_release_frame_struct" and info.value.code is None


def test_frame_struct_from_a_frame_without_metadata_fails_with_192(library, acquired_frame):
    with pytest.raises(E.SDKError) as info:
        library.md_create_frame_struct(acquired_frame)
    _assert_sdk_error(info, 192, "pl_md_create_frame_struct")


def test_decoding_a_frame_without_metadata_fails_with_192(library, acquired_frame):
    frame = library.md_create_frame_struct_cont(1)
    try:
        with pytest.raises(E.SDKError) as info:
            library.md_frame_decode(frame, acquired_frame)
        _assert_sdk_error(info, 192, "pl_md_frame_decode")
        assert "Invalid frame metadata" in str(info.value)
    finally:
        library.md_release_frame_struct(frame)


def test_decode_accepts_a_python_owned_md_frame_and_passes_it_as_a_pointer(
        library, acquired_frame):
    # A NULL destination gets 153; a real structure gets past that check to 192.
    with pytest.raises(E.SDKError) as info:
        library.md_frame_decode(ctypes.POINTER(md_frame)(), acquired_frame)
    _assert_sdk_error(info, 153, "pl_md_frame_decode")
    with pytest.raises(E.SDKError) as info:
        library.md_frame_decode(md_frame(), acquired_frame)
    _assert_sdk_error(info, 192, "pl_md_frame_decode")


def test_decode_of_a_null_buffer_fails_with_153(library):
    with pytest.raises(E.SDKError) as info:
        library.md_frame_decode(md_frame(), None)
    _assert_sdk_error(info, 153, "pl_md_frame_decode")


def test_decode_refuses_wrong_frame_type_and_raw_address_without_size(library, acquired_frame):
    with pytest.raises(E.ArgumentError, match="md_frame"):
        library.md_frame_decode(object(), acquired_frame)
    with pytest.raises(E.ArgumentError, match="explicit size") as info:
        library.md_frame_decode(md_frame(), acquired_frame.ctypes.data)
    assert info.value.call == "pl_md_frame_decode"
    with pytest.raises(E.BufferSizeError):
        library.md_frame_decode(md_frame(), acquired_frame, acquired_frame.nbytes + 1)


def test_raw_address_with_size_reaches_the_library(library, acquired_frame):
    with pytest.raises(E.SDKError) as info:
        library.md_frame_decode(md_frame(), acquired_frame.ctypes.data, acquired_frame.nbytes)
    _assert_sdk_error(info, 192, "pl_md_frame_decode")


def test_recomposing_an_undecoded_frame_fails_with_192(library):
    image = np.zeros((32, 64), dtype=np.uint16)
    with pytest.raises(E.SDKError) as info:
        library.md_frame_recompose(image, 0, 0, 64, 32, md_frame())
    _assert_sdk_error(info, 192, "pl_md_frame_recompose")


def test_recompose_refuses_a_destination_smaller_than_one_byte_per_pixel(library):
    with pytest.raises(E.BufferSizeError) as info:
        library.md_frame_recompose(bytearray(100), 0, 0, 64, 32, md_frame())
    assert info.value.code is None and info.value.call == "pl_md_frame_recompose"
    with pytest.raises(E.ValueRejectedError):
        library.md_frame_recompose(bytearray(100), 70000, 0, 1, 1, md_frame())
