"""Tests of ophyd_pvcam.sdk.types: C layouts of the reference's section 4, conversions."""
from __future__ import annotations

import ctypes

import pytest

from ophyd_pvcam.sdk import constants as C
from ophyd_pvcam.sdk import types as T
from ophyd_pvcam.sdk.errors import ArgumentError, ValueRejectedError


def _offsets(struct):
    return {name: getattr(struct, name).offset for name, *_ in struct._fields_}


def test_rgn_type_is_six_uns16_in_header_order():
    assert ctypes.sizeof(T.RGN_TYPE) == 12
    assert ctypes.alignment(T.RGN_TYPE) == 2
    assert _offsets(T.RGN_TYPE) == {"s1": 0, "s2": 2, "sbin": 4, "p1": 6, "p2": 8, "pbin": 10}


def test_frame_info_guid_layout():
    assert ctypes.sizeof(T.PVCAM_FRAME_INFO_GUID) == 16
    assert _offsets(T.PVCAM_FRAME_INFO_GUID) == {"f1": 0, "f2": 4, "f3": 6, "f4": 8}


def test_frame_info_is_48_bytes_with_reference_offsets():
    assert ctypes.sizeof(T.FRAME_INFO) == 48
    assert ctypes.alignment(T.FRAME_INFO) == 8
    assert _offsets(T.FRAME_INFO) == {
        "FrameInfoGUID": 0, "hCam": 16, "FrameNr": 20, "TimeStamp": 24,
        "ReadoutTime": 32, "TimeStampBOF": 40}


def test_smart_stream_type_has_padding_before_pointer():
    assert ctypes.sizeof(T.SMART_STREAM_TYPE) == 16
    assert _offsets(T.SMART_STREAM_TYPE) == {"entries": 0, "params": 8}


def test_metadata_headers_are_packed_to_reference_offsets():
    assert ctypes.sizeof(T.md_frame_header) == 48
    offsets = _offsets(T.md_frame_header)
    assert offsets["version"] == 4 and offsets["frameNr"] == 5 and offsets["roiCount"] == 9
    assert offsets["timestampBOF"] == 11 and offsets["timestampEOF"] == 15
    assert offsets["timestampResNs"] == 19 and offsets["exposureTime"] == 23
    assert offsets["exposureTimeResNs"] == 27 and offsets["roiTimestampResNs"] == 31
    assert offsets["bitDepth"] == 35 and offsets["colorMask"] == 36 and offsets["flags"] == 37
    assert offsets["extendedMdSize"] == 38 and offsets["imageFormat"] == 40
    assert offsets["imageCompression"] == 41
    assert ctypes.sizeof(T.md_frame_header_v3) == 48
    assert ctypes.sizeof(T.md_frame_roi_header) == 32
    roi = _offsets(T.md_frame_roi_header)
    assert roi["roi"] == 10 and roi["roiDataSize"] == 25


def test_metadata_helper_structs_have_natural_alignment_sizes():
    assert ctypes.sizeof(T.md_frame_roi) == 40
    assert ctypes.sizeof(T.md_frame) == 48
    frame = _offsets(T.md_frame)
    assert frame == {"header": 0, "extMdData": 8, "extMdDataSize": 16, "impliedRoi": 18,
                     "roiArray": 32, "roiCapacity": 40, "roiCount": 42}
    assert ctypes.sizeof(T.md_ext_item_collection) == 6128


def test_rgn_type_from_tuple_and_copy():
    region = T.RGN_TYPE.from_any((0, 63, 2, 10, 41, 2))
    assert region.as_tuple() == (0, 63, 2, 10, 41, 2)
    assert (region.width, region.height) == (32, 16)
    copy = T.RGN_TYPE.from_any(region)
    copy.s1 = 5
    assert region.s1 == 0  # a copy, not an alias
    assert region == (0, 63, 2, 10, 41, 2)
    assert "sbin=2" in repr(region)


@pytest.mark.parametrize("bad", [(0, 1, 1), (0, 1, 1, 0, 1, 1, 7), (0, 70000, 1, 0, 1, 1),
                                 (-1, 1, 1, 0, 1, 1)])
def test_rgn_type_rejects_malformed_tuples_with_value_rejected_error(bad):
    with pytest.raises(ValueRejectedError) as info:
        T.RGN_TYPE.from_any(bad)
    assert isinstance(info.value, ValueError)  # ``except ValueError`` keeps working
    assert (info.value.code, info.value.call) == (None, "RGN_TYPE.from_any")


def test_rgn_type_rejects_non_integer_values_with_value_rejected_error():
    with pytest.raises(ValueRejectedError, match="integers"):
        T.RGN_TYPE.from_any(("a", 1, 1, 0, 1, 1))


@pytest.mark.parametrize("bad", [None, 5, (0, 1, 1, None, 1, 1)])
def test_rgn_type_rejects_non_sequences_with_argument_error(bad):
    with pytest.raises(ArgumentError, match="RGN_TYPE or 6 integers") as info:
        T.RGN_TYPE.from_any(bad)
    assert isinstance(info.value, TypeError)


def test_frame_info_copy_from_struct_and_pointer():
    info = T.FRAME_INFO(hCam=3, FrameNr=17, TimeStamp=12345, ReadoutTime=99, TimeStampBOF=12300)
    expected = T.FrameInfo(camera_handle=3, frame_number=17, timestamp=12345,
                           timestamp_bof=12300, readout_time=99)
    assert T.FrameInfo.from_struct(info) == expected
    assert T.FrameInfo.from_struct(ctypes.pointer(info)) == expected
    with pytest.raises(AttributeError):  # frozen
        expected.frame_number = 1


def test_eof_callback_signature_takes_frame_info_pointer_and_context():
    assert T.EOF_CALLBACK._restype_ is None
    assert T.EOF_CALLBACK._argtypes_ == (ctypes.POINTER(T.FRAME_INFO), ctypes.c_void_p)
    seen = []
    callback = T.EOF_CALLBACK(lambda p, ctx: seen.append((p.contents.FrameNr, ctx)))
    info = T.FRAME_INFO(FrameNr=4)
    callback(ctypes.pointer(info), 77)
    assert seen == [(4, 77)]


@pytest.mark.parametrize("name, argtypes", [
    ("LEGACY_CALLBACK", ()),
    ("LEGACY_CONTEXT_CALLBACK", (ctypes.c_void_p,)),
    ("LEGACY_FRAME_INFO_CALLBACK", (ctypes.POINTER(T.FRAME_INFO),)),
])
def test_legacy_callback_types_match_the_deprecated_prototypes(name, argtypes):
    callback_type = getattr(T, name)
    assert callback_type._restype_ is None and callback_type._argtypes_ == argtypes


def test_type_sizes_follow_master_h():
    assert T.TYPE_SIZES[C.TYPE_BOOLEAN] == 2  # rs_bool is 16-bit
    assert T.TYPE_SIZES[C.TYPE_ENUM] == 4  # enums travel as int32
    assert T.TYPE_SIZES[C.TYPE_UNS64] == 8 and T.TYPE_SIZES[C.TYPE_INT64] == 8
    assert T.TYPE_SIZES[C.TYPE_INT8] == 1 and T.TYPE_SIZES[C.TYPE_UNS16] == 2
    assert T.TYPE_SIZES[C.TYPE_FLT32] == 4 and T.TYPE_SIZES[C.TYPE_FLT64] == 8
    assert T.TYPE_SIZES[C.TYPE_RGN_TYPE] == 12
    assert T.TYPE_CTYPES[C.TYPE_CHAR_PTR] is None  # sized by ATTR_COUNT at run time
    assert T.INTEGER_RANGES[C.TYPE_UNS16] == (0, 65535)
    assert T.INTEGER_RANGES[C.TYPE_INT16] == (-32768, 32767)
