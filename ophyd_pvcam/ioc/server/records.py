"""Small builders for the caproto records of the PVCAM server.

areaDetector pairs most settings as ``X`` (written by clients) and ``X_RBV``
(what the driver actually applied); :func:`setting` and :func:`readback` make
those two :class:`caproto.server.pvproperty` objects with one call each, and
:func:`refuse` / :func:`accept` implement the server's put policy:

* a refused put (:class:`~ophyd_pvcam.engine.errors.ValidationError` or any
  other :class:`~ophyd_pvcam.sdk.errors.PVCAMError`) leaves the record
  unchanged (``SkipWrite``), raises a WRITE/MAJOR alarm on it and writes the
  reason into ``StatusMessage_RBV``. The CA put itself *completes normally*:
  ophyd's caproto layer never reports a failed put (it waits for its
  timeout) and its pyepics layer reports success, so clients detect the
  refusal from the unchanged read-back instead (see ../shared/caproto-remote.md
  §2 and :mod:`ophyd_pvcam.ioc.client`);
* an accepted put clears that alarm.

Strings longer than 40 characters (paths, messages) are CHAR waveforms, as in
areaDetector (ophyd reads them with ``string=True``).
"""
from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, Optional, Sequence

import numpy as np
from caproto import AlarmSeverity, AlarmStatus, ChannelType, SkipWrite
from caproto.server import PVGroup, pvproperty

__all__ = [
    "LONG_STRING",
    "MESSAGE_LENGTH",
    "setting",
    "readback",
    "long_string",
    "enum_value",
    "refuse",
    "accept",
    "fit",
    "update",
    "DriverGroup",
    "literal_prefix",
    "NO_YES",
    "DISABLE_ENABLE",
    "DATA_TYPES",
    "COLOR_MODES",
    "DETECTOR_STATES",
]

#: Length of the CHAR waveforms holding paths and file names.
LONG_STRING = 1024
#: Length of ``StatusMessage_RBV`` / ``WriteMessage`` (areaDetector uses 256).
MESSAGE_LENGTH = 256

#: areaDetector's two-state menus.
NO_YES = ("No", "Yes")
DISABLE_ENABLE = ("Disable", "Enable")
#: ``NDDataType_t`` of ADCore 3 (``DataType``/``DataType_RBV``).
DATA_TYPES = ("Int8", "UInt8", "Int16", "UInt16", "Int32", "UInt32", "Int64", "UInt64",
              "Float32", "Float64")
#: ``NDColorMode_t``.
COLOR_MODES = ("Mono", "Bayer", "RGB1", "RGB2", "RGB3", "YUV444", "YUV422", "YUV421")
#: ``ADStatus`` (``DetectorState_RBV``).
DETECTOR_STATES = ("Idle", "Acquire", "Readout", "Correct", "Saving", "Aborting", "Error",
                   "Waiting", "Initializing", "Disconnected", "Aborted")

Putter = Callable[[Any, Any, Any], Awaitable[Any]]


def _kwargs(value: Any, dtype: Any, enum_strings: Optional[Sequence[str]],
            max_length: Optional[int], units: Optional[str], precision: Optional[int],
            record: Optional[str], doc: Optional[str]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"value": value}
    if dtype is str:
        # caproto maps ``str`` to a CHAR waveform; short texts are DBR_STRING,
        # which every client reads as a string.
        dtype = ChannelType.STRING
    if enum_strings is not None:
        kwargs.update(dtype=ChannelType.ENUM, enum_strings=tuple(enum_strings))
    elif dtype is not None:
        kwargs["dtype"] = dtype
    if dtype is ChannelType.CHAR:
        # A CHAR waveform, as areaDetector's long strings (ophyd reads it with
        # string=True); report_as_string would cap it at 40 characters.
        kwargs.update(max_length=max_length or LONG_STRING, string_encoding="latin-1")
    elif max_length is not None:
        kwargs["max_length"] = max_length
    if units is not None:
        kwargs["units"] = units
    if precision is not None:
        kwargs["precision"] = precision
    if record is not None:
        kwargs["record"] = record
    if doc is not None:
        kwargs["doc"] = doc
    return kwargs


def setting(name: str, value: Any, *, put: Putter, dtype: Any = None,
            enum_strings: Optional[Sequence[str]] = None, max_length: Optional[int] = None,
            units: Optional[str] = None, precision: Optional[int] = None,
            record: Optional[str] = None, doc: Optional[str] = None) -> pvproperty:
    """Make a writable record (the ``X`` of an ``X``/``X_RBV`` pair).

    Parameters
    ----------
    name : str
        Record name without prefix, e.g. ``"AcquireTime"``.
    value : object
        Initial value (replaced from the camera at start-up).
    put : coroutine function
        ``put(group, instance, value)``; must return the value to store (or
        raise ``SkipWrite``).
    dtype : ChannelType or type, optional
        ``ChannelType.CHAR`` makes a long-string waveform.
    enum_strings : sequence of str, optional
        Makes an ENUM record.
    max_length, units, precision, record, doc
        Passed to :class:`~caproto.server.pvproperty`.

    Returns
    -------
    caproto.server.pvproperty
    """
    return pvproperty(name=name, put=put, **_kwargs(value, dtype, enum_strings, max_length,
                                                     units, precision, record, doc))


def readback(name: str, value: Any, *, dtype: Any = None,
             enum_strings: Optional[Sequence[str]] = None, max_length: Optional[int] = None,
             units: Optional[str] = None, precision: Optional[int] = None,
             record: Optional[str] = None, doc: Optional[str] = None) -> pvproperty:
    """Make a read-only record (an ``_RBV`` or a status value).

    Parameters
    ----------
    name : str
        Record name without prefix, e.g. ``"AcquireTime_RBV"``.
    value : object
        Initial value.
    dtype, enum_strings, max_length, units, precision, record, doc
        As for :func:`setting`.

    Returns
    -------
    caproto.server.pvproperty
    """
    return pvproperty(name=name, read_only=True,
                      **_kwargs(value, dtype, enum_strings, max_length, units, precision,
                                record, doc))


def long_string(name: str, value: str = "", *, put: Optional[Putter] = None,
                max_length: int = LONG_STRING, doc: Optional[str] = None) -> pvproperty:
    """Make a CHAR-waveform string record (read-only unless ``put`` is given).

    Parameters
    ----------
    name : str
        Record name.
    value : str
        Initial text.
    put : coroutine function, optional
        Putter; ``None`` makes the record read-only.
    max_length : int
        Capacity in bytes.
    doc : str, optional

    Returns
    -------
    caproto.server.pvproperty
    """
    if put is None:
        return readback(name, value, dtype=ChannelType.CHAR, max_length=max_length, doc=doc)
    return setting(name, value, put=put, dtype=ChannelType.CHAR, max_length=max_length, doc=doc)


def enum_value(instance: Any, value: Any) -> Any:
    """Return the enum string for a value written to an ENUM record.

    caproto hands putters the string when a client writes DBR_STRING (the
    caproto client, ``ophyd.set_cl('caproto')``) but the index when it writes
    DBR_ENUM (pyepics); putters work with strings.

    Parameters
    ----------
    instance : caproto ChannelData
        The record being written.
    value : object
        The written value.

    Returns
    -------
    object
        The enum string when ``instance`` is an ENUM record and ``value`` an
        in-range index; ``value`` unchanged otherwise.
    """
    strings = getattr(instance, "enum_strings", None)
    if strings and not isinstance(value, str):
        try:
            index = int(value)
        except (TypeError, ValueError):
            return value
        if 0 <= index < len(strings):
            return strings[index]
    return value


async def refuse(instance: Any, message_record: Any, message: str) -> None:
    """Refuse a put: alarm on the record, reason in the message record, value unchanged.

    Parameters
    ----------
    instance : caproto ChannelData
        The record whose put is refused.
    message_record : caproto ChannelData
        ``StatusMessage_RBV`` (or ``WriteMessage``).
    message : str
        Why (truncated to the record's capacity).

    Raises
    ------
    caproto.SkipWrite
        Always: caproto then stores nothing and completes the put.
    """
    await instance.alarm.write(status=AlarmStatus.WRITE, severity=AlarmSeverity.MAJOR_ALARM)
    await message_record.write(fit(message, message_record))
    raise SkipWrite()


async def accept(instance: Any) -> None:
    """Clear the WRITE alarm a previous refused put left on ``instance``.

    Parameters
    ----------
    instance : caproto ChannelData
    """
    if instance.alarm.severity != AlarmSeverity.NO_ALARM:
        await instance.alarm.write(status=AlarmStatus.NO_ALARM,
                                   severity=AlarmSeverity.NO_ALARM)


def fit(text: str, record: Any) -> str:
    """Return ``text`` shortened to fit a CHAR waveform ``record`` (keeping room for a NUL).

    Parameters
    ----------
    text : str
    record : caproto ChannelData

    Returns
    -------
    str
    """
    capacity = getattr(record, "max_length", None) or MESSAGE_LENGTH
    encoded = str(text).encode("latin-1", "replace")
    if len(encoded) < capacity:
        return encoded.decode("latin-1")
    return encoded[:capacity - 4].decode("latin-1") + "..."


async def update(record: Any, value: Any, **metadata: Any) -> bool:
    """Write ``value`` to a record only if it changed (no putter is run).

    Parameters
    ----------
    record : caproto ChannelData
    value : object
    **metadata
        E.g. ``status``/``severity`` (always written when given).

    Returns
    -------
    bool
        True when something was written.
    """
    if getattr(record, "max_length", 1) > 1 and isinstance(value, str) and \
            record.data_type is ChannelType.CHAR:
        value = fit(value, record)
    current = record.value
    same = (np.array_equal(current, value) if isinstance(value, np.ndarray)
            else _same(current, value))
    if same and not metadata:
        return False
    await record.write(value, verify_value=False, **metadata)
    return True


def _same(current: Any, value: Any) -> bool:
    if isinstance(current, float) or isinstance(value, float):
        try:
            return float(current) == float(value)
        except (TypeError, ValueError):
            return False
    return current == value


def literal_prefix(prefix: str) -> str:
    """Escape ``prefix`` so that caproto's macro expansion (``str.format``) returns it unchanged.

    Parameters
    ----------
    prefix : str
        A record name prefix, e.g. ``"XF:31ID{PVCAM}"``.

    Returns
    -------
    str
        ``prefix`` with ``{`` and ``}`` doubled.
    """
    return prefix.replace("{", "{{").replace("}", "}}")


class DriverGroup(PVGroup):
    """Base of the record groups of one camera: access to its driver and executors.

    The top-level group (:class:`~ophyd_pvcam.ioc.server.CameraIOC`) owns the
    :class:`~ophyd_pvcam.ioc.server.core.driver.CameraDriver`; sub-groups reach it
    through their parent.

    The prefix is taken literally: any legal EPICS name, braces included
    (the NSLS-II style ``XF:31ID{PVCAM}``). caproto runs ``str.format`` on
    every group's prefix (its macro expansion) and prepends the parent's
    already expanded prefix to each sub-group's, so one level of escaping is
    not enough; each group therefore escapes its own prefix and the groups
    use no macros.
    """

    def __init__(self, prefix: str, *args: Any, macros: Optional[dict] = None, **kwargs: Any):
        if macros:
            raise ValueError(f"the PVCAM record groups take no macros, got {macros!r}")
        super().__init__(literal_prefix(prefix), *args, macros={}, **kwargs)

    @property
    def ioc(self) -> Any:
        """The top-level :class:`~ophyd_pvcam.ioc.server.CameraIOC`."""
        group = self
        while getattr(group, "parent", None) is not None:
            group = group.parent
        return group

    @property
    def driver(self) -> Any:
        """The camera's :class:`~ophyd_pvcam.ioc.server.core.driver.CameraDriver`."""
        return self.ioc.driver

    async def call(self, func: Callable[..., Any], *args: Any) -> Any:
        """Run a blocking driver call on the camera's settings thread.

        Parameters
        ----------
        func : callable
        *args

        Returns
        -------
        object
            ``func(*args)``.
        """
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.ioc.settings_executor, func, *args)
