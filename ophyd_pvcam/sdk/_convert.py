"""Conversions between Python objects and C arguments shared by the binding's calls.

Kept apart from :mod:`.binding` so each module has one job: here, turning buffers,
regions and integers into values ctypes can pass without silent truncation.
"""
from __future__ import annotations

import ctypes
from ctypes import c_char
from typing import Any, Optional, Sequence, Union

from .errors import (
    AcquisitionSetupError,
    ArgumentError,
    BufferSizeError,
    ValueRejectedError,
)
from .types import RGN_TYPE, RegionLike

__all__ = ["BufferLike", "buffer_address", "sized_buffer", "region_array", "check_range",
           "require_instance"]

#: Anything the acquisition calls accept as pixel memory: a numpy array, a ctypes
#: object, a writable buffer-protocol object, a raw address (int) or ``None`` (NULL).
BufferLike = Union[int, None, ctypes.Array, ctypes.Structure, Any]

_CTYPES_INSTANCES = (ctypes.Array, ctypes.Structure, ctypes.Union, ctypes._SimpleCData)


def buffer_address(buffer: BufferLike, call: Optional[str] = None) -> tuple[int, Optional[int]]:
    """Return ``(address, size_in_bytes)`` of pixel memory given in any supported form.

    Parameters
    ----------
    buffer : numpy.ndarray, ctypes object, writable buffer, int or None
        An object exposing ``__array_interface__`` (numpy arrays; must be writable
        and C-contiguous), a ctypes instance, any writable buffer-protocol object
        (``bytearray``, ``mmap``), a raw address, or ``None`` (NULL).
    call : str, optional
        The SDK call the buffer is for, carried by the error.

    Returns
    -------
    address : int
        The start address (0 for ``None``).
    size : int or None
        Size in bytes, or ``None`` for a raw address whose size is unknown.

    Raises
    ------
    ArgumentError
        If the object is read-only, not contiguous or not a memory object (an
        :class:`~ophyd_pvcam.sdk.errors.PVCAMError` that is also a ``TypeError``).
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
            raise ArgumentError("the frame buffer must be writable", None, call)
        flags = getattr(buffer, "flags", None)
        if flags is not None and not flags["C_CONTIGUOUS"]:
            raise ArgumentError("the frame buffer must be C-contiguous", None, call)
        return int(address), int(buffer.nbytes)
    try:
        view = memoryview(buffer)
    except TypeError:
        raise ArgumentError(
            f"cannot use {type(buffer).__name__} as a frame buffer", None, call) from None
    with view:
        if view.readonly or not view.c_contiguous:
            raise ArgumentError("the frame buffer must be writable and contiguous", None, call)
        size = view.nbytes
    if size == 0:
        return 0, 0
    return ctypes.addressof(c_char.from_buffer(buffer)), size


def sized_buffer(buffer: BufferLike, size: Optional[int], call: str) -> tuple[int, int]:
    """Return ``(address, size)`` of memory handed to a call that takes a pointer and a length.

    Parameters
    ----------
    buffer : numpy.ndarray, ctypes object, writable buffer, int or None
        As for :func:`buffer_address`; ``None`` passes NULL (the library reports it).
    size : int or None
        Bytes to pass; default the whole buffer. Required with a raw address.
    call : str
        The SDK call being prepared (for the error).

    Returns
    -------
    address : int
        Start address (0 for ``None``).
    size : int
        Bytes, checked to fit the uns32 length argument and the buffer.

    Raises
    ------
    ArgumentError
        If the memory is unusable, or a raw address comes without a size.
    BufferSizeError
        If ``size`` exceeds the buffer.
    ValueRejectedError
        If ``size`` does not fit an uns32.
    """
    address, known = buffer_address(buffer, call)
    if size is None:
        if known is None and address:
            raise ArgumentError("a raw address needs an explicit size", None, call)
        size = known or 0
    size = check_range(size, 0, 2**32 - 1, "buffer size", call)
    if known is not None and size > known:
        raise BufferSizeError(f"size {size} exceeds the {known}-byte buffer given", None, call)
    return address, size


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


def require_instance(value: Any, expected: type, what: str, call: str) -> Any:
    """Return ``value`` if it is an instance of ``expected``; refuse it before ctypes sees it.

    A callback of the wrong C signature or a pointer to the wrong structure would
    corrupt memory rather than fail, so the binding checks the ctypes type first.

    Parameters
    ----------
    value : object
        The argument.
    expected : type
        The ctypes type it must be, e.g. ``types.LEGACY_CALLBACK`` or ``POINTER(FRAME_INFO)``.
    what : str
        The expectation in words, for the message, e.g.
        ``"the callback must be a types.LEGACY_CALLBACK"`` (ctypes' own type names
        such as ``CFunctionType`` or ``LP_FRAME_INFO`` would mean little to a reader).
    call : str
        The SDK call the argument is for.

    Returns
    -------
    object
        ``value`` unchanged.

    Raises
    ------
    ArgumentError
        If ``value`` is not an ``expected`` instance.
    """
    if not isinstance(value, expected):
        raise ArgumentError(f"{what}, got {type(value).__name__}", None, call)
    return value
