"""Parameter access of :class:`~ophyd_pvcam.sdk.binding.PVCAMLibrary` (``pl_get_param`` & co.).

A mixin: it relies on the core class for ``_call`` (call + raise on PV_FAIL), ``_lock``
and the ``_types`` cache of real parameter types.
"""
from __future__ import annotations

import ctypes
from ctypes import byref, c_int32, c_uint16, c_uint32
from typing import Any

from . import constants as C
from ._convert import check_range
from .errors import NotImplementedBySDKError, ValueRejectedError
from .types import INTEGER_RANGES, RGN_TYPE, SMART_STREAM_TYPE, TYPE_CTYPES

__all__ = ["ParameterCalls"]

# Strings come back NUL-terminated in buffers whose size the library reports; a floor
# protects against a camera that under-reports ATTR_COUNT (an overrun would corrupt memory).
_MIN_STRING_BUFFER = 256

_INTEGER_TYPES = frozenset(INTEGER_RANGES)
_FLOAT_TYPES = frozenset({C.TYPE_FLT32, C.TYPE_FLT64})


class ParameterCalls:
    """Typed reads and writes of camera parameters (mixed into ``PVCAMLibrary``)."""

    _types: dict

    def _raw_get(self, hcam: int, pid: int, attr: int, value: Any) -> None:
        self._call("pl_get_param", hcam, pid, attr, byref(value))

    def _read_uint(self, hcam: int, pid: int, attr: int, ctype: Any = c_uint16) -> int:
        """Read an unsigned attribute whose C type is fixed by the attribute, not the parameter."""
        value = ctype()
        self._raw_get(hcam, pid, attr, value)
        return value.value

    def param_type(self, hcam: int, pid: int) -> int:
        """Return the real ``TYPE_*`` of a parameter (``ATTR_TYPE``, cached per camera).

        Parameters
        ----------
        hcam : int
            Camera handle.
        pid : int
            Parameter id.

        Returns
        -------
        int
            A ``TYPE_*`` code.

        Raises
        ------
        SDKError
            The library's error (e.g. ``DeviceError`` 175 for a bad handle).
        """
        key = (hcam, pid)
        cached = self._types.get(key)
        if cached is not None:
            return cached
        ptype = self._read_uint(hcam, pid, C.ATTR_TYPE)
        with self._lock:
            self._types[key] = ptype
        return ptype

    def param_available(self, hcam: int, pid: int) -> bool:
        """Return ``ATTR_AVAIL`` of a parameter (never fails for a valid handle).

        Parameters
        ----------
        hcam : int
            Camera handle.
        pid : int
            Parameter id; unknown ids are reported unavailable, not refused.

        Returns
        -------
        bool
            ``True`` if the camera supports the parameter.

        Raises
        ------
        SDKError
            The library's error (e.g. ``DeviceError`` 175 for a bad handle).
        """
        return bool(self._read_uint(hcam, pid, C.ATTR_AVAIL))

    def get_param(self, hcam: int, pid: int, attr: int = C.ATTR_CURRENT) -> Any:
        """Read one attribute of a parameter, typed by its real ``ATTR_TYPE``.

        Parameters
        ----------
        hcam : int
            Camera handle.
        pid : int
            Parameter id (``constants.PARAM_*``).
        attr : int, optional
            ``ATTR_*``; default ``ATTR_CURRENT``.

        Returns
        -------
        int, float, bool, str, RGN_TYPE or tuple of int
            ``ATTR_TYPE``/``ATTR_ACCESS``/``ATTR_COUNT`` give int, ``ATTR_AVAIL``/``ATTR_LIVE``
            give bool. Other attributes follow the parameter type: integers and enum
            values (not indices) give int, ``TYPE_BOOLEAN`` bool, floats float,
            ``TYPE_CHAR_PTR`` str, ``TYPE_RGN_TYPE`` an :class:`RGN_TYPE`, S.M.A.R.T.
            stream parameters a tuple of uns32 values.

        Raises
        ------
        SDKError
            The library's error (e.g. ``ParameterError`` 160 for an unavailable parameter).
        """
        if attr in (C.ATTR_TYPE, C.ATTR_ACCESS):
            return self._read_uint(hcam, pid, attr)
        if attr in (C.ATTR_AVAIL, C.ATTR_LIVE):
            return bool(self._read_uint(hcam, pid, attr))
        if attr == C.ATTR_COUNT:
            return self._read_uint(hcam, pid, attr, c_uint32)
        ptype = self.param_type(hcam, pid)
        if ptype == C.TYPE_CHAR_PTR:
            size = max(self.get_param(hcam, pid, C.ATTR_COUNT), _MIN_STRING_BUFFER)
            buffer = ctypes.create_string_buffer(size)
            self._call("pl_get_param", hcam, pid, attr, buffer)
            return buffer.value.decode("utf-8", "replace")
        if ptype in (C.TYPE_SMART_STREAM_TYPE, C.TYPE_SMART_STREAM_TYPE_PTR):
            return self._get_smart_stream(hcam, pid, attr)
        ctype = TYPE_CTYPES.get(ptype)
        if ctype is None or ptype in (C.TYPE_VOID_PTR, C.TYPE_VOID_PTR_PTR):
            raise NotImplementedBySDKError(
                f"{C.parameter_name(pid)} has type {ptype}, which the binding cannot read",
                None, "pl_get_param")
        value = ctype()
        self._raw_get(hcam, pid, attr, value)
        if ptype in (C.TYPE_RGN_TYPE, C.TYPE_RGN_TYPE_PTR):
            return value
        if ptype == C.TYPE_BOOLEAN:
            return bool(value.value)
        return value.value

    def _get_smart_stream(self, hcam: int, pid: int, attr: int) -> tuple[int, ...]:
        # The library fills a caller-allocated array whose capacity ATTR_MAX reports.
        capacity = SMART_STREAM_TYPE()
        self._raw_get(hcam, pid, C.ATTR_MAX, capacity)
        entries = int(capacity.entries)
        items = (c_uint32 * max(entries, 1))()
        stream = SMART_STREAM_TYPE(entries, ctypes.cast(items, ctypes.POINTER(c_uint32)))
        self._raw_get(hcam, pid, attr, stream)
        return tuple(items[i] for i in range(min(stream.entries, entries)))

    def set_param(self, hcam: int, pid: int, value: Any) -> None:
        """Write a parameter, converting ``value`` to its real type (``pl_set_param``).

        Parameters
        ----------
        hcam : int
            Camera handle.
        pid : int
            Parameter id.
        value : int, float, bool, str, RGN_TYPE, 6-tuple or sequence of int
            The new value: an enum *value* (not index) for enums, a region for
            ``TYPE_RGN_TYPE``, a sequence of uns32 for S.M.A.R.T. streams.

        Raises
        ------
        ValueRejectedError
            If the value does not fit the type (checked before the call, since ctypes
            would truncate silently) or the camera refuses it.
        SDKError
            Any other library error.
        """
        call = "pl_set_param"
        ptype = self.param_type(hcam, pid)
        keep_alive = None
        if ptype == C.TYPE_CHAR_PTR:
            c_value: Any = ctypes.create_string_buffer(str(value).encode("utf-8"))
        elif ptype == C.TYPE_BOOLEAN:
            c_value = c_uint16(1 if value else 0)
        elif ptype in _INTEGER_TYPES:
            if isinstance(value, float) and not value.is_integer():
                raise ValueRejectedError(
                    f"{C.parameter_name(pid)} needs an integer, got {value!r}", None, call)
            low, high = INTEGER_RANGES[ptype]
            c_value = TYPE_CTYPES[ptype](check_range(value, low, high,
                                                      C.parameter_name(pid), call))
        elif ptype in _FLOAT_TYPES:
            c_value = TYPE_CTYPES[ptype](float(value))
        elif ptype in (C.TYPE_RGN_TYPE, C.TYPE_RGN_TYPE_PTR):
            try:
                c_value = RGN_TYPE.from_any(value)
            except (TypeError, ValueError) as exc:
                raise ValueRejectedError(str(exc), None, call) from exc
        elif ptype in (C.TYPE_SMART_STREAM_TYPE, C.TYPE_SMART_STREAM_TYPE_PTR):
            numbers = [check_range(v, 0, 2**32 - 1, "S.M.A.R.T. value", call) for v in value]
            keep_alive = (c_uint32 * max(len(numbers), 1))(*numbers)
            c_value = SMART_STREAM_TYPE(len(numbers),
                                        ctypes.cast(keep_alive, ctypes.POINTER(c_uint32)))
        else:
            raise NotImplementedBySDKError(
                f"{C.parameter_name(pid)} has type {ptype}, which the binding cannot write",
                None, call)
        self._call(call, hcam, pid, byref(c_value))
        del keep_alive

    def get_enum_param(self, hcam: int, pid: int, index: int) -> tuple[int, str]:
        """Return ``(value, description)`` of enum item ``index`` (``pl_get_enum_param``).

        Parameters
        ----------
        hcam : int
            Camera handle.
        pid : int
            Id of an enum parameter.
        index : int
            0 .. ``ATTR_COUNT - 1``.

        Returns
        -------
        tuple of (int, str)
            The item's value and its text.

        Raises
        ------
        ValueRejectedError
            If ``index`` does not fit an uns32.
        SDKError
            The library's error (e.g. ``ValueRejectedError`` 186 for an index past
            the last item, ``ParameterError`` 161 for a parameter that is not an enum).
        """
        index = check_range(index, 0, 2**32 - 1, "enum index", "pl_enum_str_length")
        length = c_uint32()
        self._call("pl_enum_str_length", hcam, pid, index, byref(length))
        size = max(int(length.value), 1)
        text = ctypes.create_string_buffer(size)
        value = c_int32()
        self._call("pl_get_enum_param", hcam, pid, index, byref(value), text, size)
        return value.value, text.value.decode("utf-8", "replace")

    def enum_items(self, hcam: int, pid: int) -> list[tuple[int, str]]:
        """Return every ``(value, description)`` of an enum parameter, in index order.

        Parameters
        ----------
        hcam : int
            Camera handle.
        pid : int
            Id of an enum parameter.

        Returns
        -------
        list of tuple of (int, str)
            One :meth:`get_enum_param` result per index ``0 .. ATTR_COUNT - 1``.

        Raises
        ------
        SDKError
            The library's error (e.g. ``ParameterError`` 161 for a parameter that is
            not an enum, 160 for an unavailable one).
        """
        count = self.get_param(hcam, pid, C.ATTR_COUNT)
        return [self.get_enum_param(hcam, pid, i) for i in range(count)]
