"""Conversions between Python objects and C arguments shared by the binding's calls.

Kept apart from :mod:`.binding` so each module has one job: here, turning buffers,
regions and integers into values ctypes can pass without silent truncation.
"""
from __future__ import annotations

import ctypes
from ctypes import c_char
from typing import Any, Optional, Sequence, Union

from .errors import AcquisitionSetupError, ValueRejectedError
from .types import RGN_TYPE, RegionLike

__all__ = ["BufferLike", "buffer_address", "region_array", "check_range"]

#: Anything the acquisition calls accept as pixel memory.
BufferLike = Union[int, None, ctypes.Array, ctypes.Structure, Any]

_CTYPES_INSTANCES = (ctypes.Array, ctypes.Structure, ctypes.Union, ctypes._SimpleCData)


def buffer_address(buffer: BufferLike) -> tuple[int, Optional[int]]:
    """Return ``(address, size_in_bytes)`` of pixel memory given in any supported form.

    Parameters
    ----------
    buffer : numpy.ndarray, ctypes object, writable buffer, int or None
        An object exposing ``__array_interface__`` (numpy arrays; must be writable
        and C-contiguous), a ctypes instance, any writable buffer-protocol object
        (``bytearray``, ``mmap``), a raw address, or ``None`` (NULL).

    Returns
    -------
    address : int
        The start address (0 for ``None``).
    size : int or None
        Size in bytes, or ``None`` for a raw address whose size is unknown.

    Raises
    ------
    TypeError
        If the object is read-only, not contiguous or not a memory object.
    """
    if buffer is None:
        return 0, None
    if isinstance(buffer, int):
        return buffer, None
    if isinstance(buffer, _CTYPES_INSTANCES):
        return ctypes.addressof(buffer), ctypes.sizeof(buffer)
    interface = getattr(buffer, "__array_interface__", None)
    if interface is not None:
        address, readonly = interface["data"]
        if readonly:
            raise TypeError("the frame buffer must be writable")
        flags = getattr(buffer, "flags", None)
        if flags is not None and not flags["C_CONTIGUOUS"]:
            raise TypeError("the frame buffer must be C-contiguous")
        return int(address), int(buffer.nbytes)
    try:
        view = memoryview(buffer)
    except TypeError:
        raise TypeError(f"cannot use {type(buffer).__name__} as a frame buffer") from None
    with view:
        if view.readonly or not view.c_contiguous:
            raise TypeError("the frame buffer must be writable and contiguous")
        size = view.nbytes
    if size == 0:
        return 0, 0
    return ctypes.addressof(c_char.from_buffer(buffer)), size


def region_array(regions: Union[RegionLike, Sequence[RegionLike]], call: str) -> tuple[int, Any]:
    """Convert regions to the ``(rgn_total, rgn_array)`` pair of the setup calls.

    Parameters
    ----------
    regions : RGN_TYPE, 6-tuple, or sequence of those
        One region given bare, or several.
    call : str
        The SDK call being prepared (for the error).

    Returns
    -------
    count : int
        Number of regions.
    array : ctypes array of RGN_TYPE
        The regions in C layout.

    Raises
    ------
    AcquisitionSetupError
        If there is no region or a region is malformed.
    """
    if isinstance(regions, RGN_TYPE):
        items = [regions]
    else:
        items = list(regions)
        if items and all(isinstance(v, int) for v in items):  # a single 6-tuple
            items = [items]
    if not items:
        raise AcquisitionSetupError("at least one region is required", None, call)
    if len(items) > 0xFFFF:
        raise AcquisitionSetupError(f"too many regions ({len(items)})", None, call)
    try:
        array = (RGN_TYPE * len(items))(*(RGN_TYPE.from_any(r) for r in items))
    except (TypeError, ValueError) as exc:
        raise AcquisitionSetupError(f"invalid region: {exc}", None, call) from exc
    return len(items), array


def check_range(value: int, low: int, high: int, what: str, call: str) -> int:
    """Return ``int(value)`` if it lies in ``low..high``; ctypes would truncate it silently.

    Parameters
    ----------
    value : int
        The value.
    low, high : int
        Inclusive bounds of the C type.
    what : str
        Name of the value, for the message.
    call : str
        The SDK call the value is for.

    Returns
    -------
    int
        The value.

    Raises
    ------
    ValueRejectedError
        If it does not fit.
    """
    value = int(value)
    if not low <= value <= high:
        raise ValueRejectedError(f"{what} {value} is outside {low}..{high}", None, call)
    return value
