"""Tests of the binding's frame-metadata calls (ophyd_pvcam.sdk._metadata) against the simulator.

The simulator never produces metadata (PARAM_METADATA_ENABLED is read-only FALSE),
so decoding a real acquired frame must fail with 192 PL_ERR_METADATA_INVALID, and
NULL arguments with 153 PL_ERR_NULL_POINTER; the structure helpers work for real.
"""
from __future__ import annotations

import ctypes

import numpy as np
import pytest

from ophyd_pvcam.sdk import constants as C
from ophyd_pvcam.sdk import errors as E
from ophyd_pvcam.sdk.types import md_frame

SMALL_ROI = (0, 63, 1, 0, 31, 1)  # 64 x 32 uint16 pixels


@pytest.fixture
def acquired_frame(library, camera, wait_for, frame_stamp):
    """One frame of real simulator data, without metadata headers."""
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


# ------------------------------------------------------------------ structures
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


# ------------------------------------------------------------------ decoding
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


# ------------------------------------------------------------------ recompose, extended
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


def test_reading_extended_metadata_from_plain_bytes_fails_with_192(library):
    with pytest.raises(E.SDKError) as info:
        library.md_read_extended(bytearray(16))
    _assert_sdk_error(info, 192, "pl_md_read_extended")
    with pytest.raises(E.SDKError) as info:
        library.md_read_extended(None)
    _assert_sdk_error(info, 153, "pl_md_read_extended")
