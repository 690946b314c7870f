"""Tests of ophyd_pvcam.sdk._convert: buffers, regions and range checks."""
from __future__ import annotations

import ctypes
import mmap

import numpy as np
import pytest

from ophyd_pvcam.sdk import types as T
from ophyd_pvcam.sdk._convert import (
    buffer_address,
    check_range,
    region_array,
    require_instance,
    sized_buffer,
)
from ophyd_pvcam.sdk.errors import (
    AcquisitionSetupError,
    ArgumentError,
    BufferSizeError,
    PVCAMError,
    ValueRejectedError,
)


def test_numpy_array_gives_its_data_pointer_and_nbytes():
    array = np.zeros((4, 8), dtype=np.uint16)
    assert buffer_address(array) == (array.ctypes.data, 64)


def test_ctypes_objects_give_addressof_and_sizeof():
    raw = (ctypes.c_uint8 * 100)()
    assert buffer_address(raw) == (ctypes.addressof(raw), 100)
    region = T.RGN_TYPE()
    assert buffer_address(region) == (ctypes.addressof(region), 12)
    scalar = ctypes.c_int32()
    assert buffer_address(scalar) == (ctypes.addressof(scalar), 4)


def test_writable_buffer_protocol_objects_are_accepted():
    data = bytearray(32)
    address, size = buffer_address(data)
    assert size == 32
    ctypes.memset(address, 7, 1)
    assert data[0] == 7
    with mmap.mmap(-1, 4096) as mapped:
        address, size = buffer_address(mapped)
        assert size == 4096 and address != 0
        del address  # the exported pointer must not outlive the mapping


def test_raw_address_and_none_pass_through_with_unknown_size():
    assert buffer_address(12345) == (12345, None)
    assert buffer_address(None) == (0, None)


def test_read_only_or_strided_memory_is_refused_with_an_argument_error():
    frozen = np.zeros(8, dtype=np.uint16)
    frozen.flags.writeable = False
    with pytest.raises(ArgumentError, match="writable") as info:
        buffer_address(frozen, "pl_exp_start_cont")
    assert (info.value.code, info.value.call) == (None, "pl_exp_start_cont")
    with pytest.raises(ArgumentError, match="contiguous"):
        buffer_address(np.zeros((4, 4), dtype=np.uint16)[:, ::2])
    with pytest.raises(ArgumentError):
        buffer_address(b"immutable bytes")
    with pytest.raises(ArgumentError, match="cannot use str"):
        buffer_address("not memory")


def test_argument_errors_are_still_type_errors_and_pvcam_errors():
    with pytest.raises(TypeError):  # code written against plain Python conventions
        buffer_address("not memory")
    assert issubclass(ArgumentError, PVCAMError)


def test_sized_buffer_defaults_to_the_whole_buffer_and_checks_an_explicit_size():
    data = bytearray(64)
    address, size = sized_buffer(data, None, "pl_md_frame_decode")
    assert size == 64 and address == buffer_address(data)[0]
    assert sized_buffer(data, 16, "x")[1] == 16
    with pytest.raises(BufferSizeError, match="65 exceeds the 64-byte buffer") as info:
        sized_buffer(data, 65, "pl_md_frame_decode")
    assert info.value.call == "pl_md_frame_decode"
    with pytest.raises(ValueRejectedError):
        sized_buffer(12345, 2**32, "x")


def test_sized_buffer_needs_a_size_with_a_raw_address_but_not_with_null():
    assert sized_buffer(12345, 8, "x") == (12345, 8)
    with pytest.raises(ArgumentError, match="explicit size"):
        sized_buffer(12345, None, "x")
    assert sized_buffer(None, None, "x") == (0, 0)  # NULL goes to the library, which reports it


def test_require_instance_returns_the_value_or_names_the_expectation():
    value = ctypes.c_int16(3)
    assert require_instance(value, ctypes.c_int16, "must be int16", "pl_x") is value
    with pytest.raises(ArgumentError, match="must be int16, got c_ubyte") as info:
        require_instance(ctypes.c_uint8(3), ctypes.c_int16, "must be int16", "pl_x")
    assert info.value.call == "pl_x"


def test_region_array_accepts_one_bare_region_or_several():
    count, array = region_array((0, 9, 1, 0, 4, 1), "pl_exp_setup_seq")
    assert count == 1 and array[0].as_tuple() == (0, 9, 1, 0, 4, 1)
    count, array = region_array(T.RGN_TYPE(0, 9, 1, 0, 4, 1), "pl_exp_setup_seq")
    assert count == 1
    count, array = region_array([(0, 9, 1, 0, 4, 1), T.RGN_TYPE(10, 19, 1, 0, 4, 1)], "x")
    assert count == 2 and array[1].s1 == 10
    assert ctypes.sizeof(array) == 24


def test_region_array_rejects_empty_and_malformed_regions():
    with pytest.raises(AcquisitionSetupError, match="at least one region"):
        region_array([], "pl_exp_setup_seq")
    with pytest.raises(AcquisitionSetupError, match="invalid region") as info:
        region_array([(0, 9, 1)], "pl_exp_setup_cont")
    assert info.value.call == "pl_exp_setup_cont" and info.value.code is None


def test_check_range_refuses_values_ctypes_would_truncate():
    assert check_range(65535, 0, 65535, "exp_total", "pl_exp_setup_seq") == 65535
    with pytest.raises(ValueRejectedError, match="exp_total 70000 is outside 0..65535"):
        check_range(70000, 0, 65535, "exp_total", "pl_exp_setup_seq")
    with pytest.raises(ValueRejectedError):
        check_range(-1, 0, 10, "x", "y")
