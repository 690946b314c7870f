"""Tests of ophyd_pvcam.sdk._convert: buffers, regions and range checks."""
from __future__ import annotations

import ctypes
import mmap

import numpy as np
import pytest

from ophyd_pvcam.sdk import types as T
from ophyd_pvcam.sdk._convert import buffer_address, check_range, region_array
from ophyd_pvcam.sdk.errors import AcquisitionSetupError, ValueRejectedError


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


def test_read_only_or_strided_memory_is_refused():
    frozen = np.zeros(8, dtype=np.uint16)
    frozen.flags.writeable = False
    with pytest.raises(TypeError, match="writable"):
        buffer_address(frozen)
    with pytest.raises(TypeError, match="contiguous"):
        buffer_address(np.zeros((4, 4), dtype=np.uint16)[:, ::2])
    with pytest.raises(TypeError):
        buffer_address(b"immutable bytes")
    with pytest.raises(TypeError):
        buffer_address("not memory")


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
