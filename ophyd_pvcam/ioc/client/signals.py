"""Signals of :class:`~ophyd_pvcam.ioc.client.detector.RemotePVCAMDetector` that talk to the server.

:class:`CheckedSignal`
    An areaDetector ``X``/``X_RBV`` pair whose ``set()`` puts with completion
    and then compares the read-back with what was asked. The server refuses a
    bad value by leaving the record unchanged (the put itself completes), so a
    mismatch means "refused": the status fails with
    :class:`RemoteSettingError` carrying the server's ``StatusMessage_RBV``
    (or ``WriteMessage``). A put that never completes fails at the timeout.
    This is what makes refusals visible through both ophyd control layers:
    ophyd's caproto layer drops the server's put-failure answers and its
    pyepics layer reports them as successes (../shared/caproto-remote.md §2).
:class:`RegionSignal`, :class:`PairSignal`, :class:`SensorSignal`
    Composite values (``roi``, ``binning``, ``sensor_size``, ``sensor``)
    built from several records, named like the in-process detector's.
"""
from __future__ import annotations

import logging
import math
import threading
import time
from functools import reduce
from typing import Any, Callable, Optional, Sequence

import numpy as np
from ophyd import EpicsSignal, Signal
from ophyd.status import Status

from ophyd_pvcam.engine.errors import ValidationError

__all__ = [
    "CheckedSignal",
    "RegionSignal",
    "PairSignal",
    "SensorSignal",
    "RemoteSettingError",
    "engine_name",
    "menu_label",
]

logger = logging.getLogger(__name__)

#: Default seconds a setting put may take (completion + read-back check).
PUT_TIMEOUT = 10.0


class RemoteSettingError(ValidationError):
    """The server refused a setting (its message says why) or did not confirm it in time."""


def engine_name(label: Any) -> Any:
    """Menu label -> engine name: ``"Software edge"`` -> ``"software_edge"``.

    Parameters
    ----------
    label : object
        Non-strings pass through.

    Returns
    -------
    object
    """
    return label.strip().lower().replace(" ", "_") if isinstance(label, str) else label


def menu_label(name: Any) -> Any:
    """Engine name -> menu label: ``"software_edge"`` -> ``"Software edge"``.

    Parameters
    ----------
    name : object
        Non-strings pass through.

    Returns
    -------
    object
    """
    return name.replace("_", " ").capitalize() if isinstance(name, str) else name


def _same(requested: Any, actual: Any) -> bool:
    if isinstance(requested, str) or isinstance(actual, str):
        return str(requested) == str(actual)
    try:
        return bool(np.isclose(float(requested), float(actual), rtol=1e-6, atol=1e-12))
    except (TypeError, ValueError):
        return requested == actual


def _resolve(root: Any, dotted: str) -> Any:
    return reduce(getattr, dotted.split("."), root)


def run_check(signal: Signal, func: Callable[[], None], *, kind: str = "check") -> None:
    """Run ``func`` off the CA callback thread (blocking CA calls are not allowed there).

    Uses the root device's worker (``_submit(kind, func)``) when it has one,
    else a short named thread. ``kind`` "check" is for read-back checks,
    "task" for work that itself waits for checks (a sequence of puts), so
    the two never wait for each other on one worker.

    Parameters
    ----------
    signal : ophyd.Signal
        The signal whose root may provide ``_submit``.
    func : callable
    kind : {"check", "task"}
    """
    submit = getattr(signal.root, "_submit", None)
    if submit is not None:
        submit(kind, func)
        return
    thread = threading.Thread(target=func, name=f"{signal.name}-{kind}", daemon=True)
    thread.start()


class CheckedSignal(EpicsSignal):
    """``X``/``X_RBV`` with a ``set()`` that confirms the server took the value.

    Parameters
    ----------
    write_pv : str
        The setpoint record (``X``); the read-back is ``X_RBV``.
    message : str
        Dotted attribute path, from the root device, of the signal holding
        the server's explanation (``"cam.status_message"``).
    to_server, from_server : callable, optional
        Convert values on the way out / in (e.g. menu labels).
    put_timeout : float
        Seconds before an unconfirmed ``set()`` fails.
    **kwargs
        Passed to :class:`ophyd.EpicsSignal` (``string``, ``kind``, ...).
    """

    def __init__(self, write_pv: str, *, message: str = "cam.status_message",
                 to_server: Optional[Callable[[Any], Any]] = None,
                 from_server: Optional[Callable[[Any], Any]] = None,
                 put_timeout: float = PUT_TIMEOUT, **kwargs: Any):
        self._message_attr = message
        self._to_server = to_server or (lambda value: value)
        self._from_server = from_server or (lambda value: value)
        self.put_timeout = float(put_timeout)
        #: ``guard(signal, value)`` raises to refuse a change in the device's state.
        self._guard: Optional[Callable[[Any, Any], None]] = None
        super().__init__(read_pv=write_pv + "_RBV", write_pv=write_pv, **kwargs)

    def get(self, **kwargs: Any) -> Any:
        """Return the read-back (converted).

        Parameters
        ----------
        **kwargs
            Passed to :meth:`ophyd.EpicsSignal.get`.

        Returns
        -------
        object
        """
        return self._from_server(super().get(**kwargs))

    def server_message(self) -> str:
        """The server's latest explanation (``StatusMessage_RBV`` or ``WriteMessage``)."""
        try:
            return str(_resolve(self.root, self._message_attr).get(use_monitor=False))
        except Exception as exc:  # noqa: BLE001 - the message is a courtesy
            return f"(message unavailable: {exc})"

    def set(self, value: Any, *, timeout: Optional[float] = None,
            settle_time: Optional[float] = None) -> Status:
        """Put ``value`` with completion, then confirm the read-back.

        Parameters
        ----------
        value : object
            In client units (converted by ``to_server``).
        timeout : float, optional
            Default :attr:`put_timeout`.
        settle_time : float, optional
            Passed to the status.

        Returns
        -------
        ophyd.status.Status
            Fails with :class:`RemoteSettingError` (server's message) when the
            value was refused, with ``StatusTimeoutError`` when unconfirmed.
        """
        status = Status(self, timeout=timeout if timeout is not None else self.put_timeout,
                        settle_time=settle_time)
        if _guarded(self, value, status):
            return status
        wanted = self._to_server(value)
        choices = self.enum_strs
        if choices and isinstance(wanted, str) and wanted not in choices:
            status.set_exception(RemoteSettingError(
                f"{self.name}: {value!r} is not one of {', '.join(map(repr, choices))}",
                None, self.name))
            return status

        def check() -> None:
            try:
                actual = super(CheckedSignal, self).get(use_monitor=False)
                if _same(wanted, actual):
                    status.set_finished()
                else:
                    status.set_exception(RemoteSettingError(
                        f"{self.name}: the server kept {self._from_server(actual)!r} instead "
                        f"of {value!r}: {self.server_message()}", None, self.name))
            except Exception as exc:  # noqa: BLE001 - handed to the caller through the status
                if not status.done:
                    status.set_exception(exc)

        def put_done(*args: Any, **kwargs: Any) -> None:
            run_check(self, check)

        try:
            self.put(wanted, use_complete=True, callback=put_done)
        except Exception as exc:  # noqa: BLE001 - handed to the caller through the status
            error = RemoteSettingError(f"{self.name}: putting {value!r} failed: {exc}", None,
                                       self.name)
            error.__cause__ = exc
            status.set_exception(error)
        return status


class _Composite(Signal):
    """A value computed from other signals: read it before describing it."""

    def describe(self) -> dict[str, dict[str, Any]]:
        """Describe the current value (read first: ophyd infers dtype and shape from it).

        Returns
        -------
        dict
        """
        self.get()
        return super().describe()


class RegionSignal(_Composite):
    """``roi``: ``(x, y, width, height)`` over ``MinX``/``MinY``/``SizeX``/``SizeY``.

    ``set`` moves the origin to 0 first, then sets the size, then the origin,
    so no intermediate region leaves the sensor; ``None`` means the whole sensor.

    Parameters
    ----------
    parts : sequence of str
        Dotted paths (from the root) of the x, y, width and height signals.
    sensor : sequence of str
        Dotted paths of the sensor width and height signals.
    **kwargs
        Passed to :class:`ophyd.Signal`.
    """

    def __init__(self, *, parts: Sequence[str], sensor: Sequence[str], **kwargs: Any):
        self._parts = tuple(parts)
        self._sensor = tuple(sensor)
        super().__init__(value=None, **kwargs)

    def _signals(self, paths: Sequence[str]) -> list[Any]:
        return [_resolve(self.root, path) for path in paths]

    def get(self, **kwargs: Any) -> tuple[int, ...]:
        """Return the region (read from the server).

        Returns
        -------
        tuple of int
        """
        return _remember(self, tuple(int(signal.get()) for signal in self._signals(self._parts)))

    def put(self, value: Any, **kwargs: Any) -> None:
        """Set the region and wait (raises :class:`RemoteSettingError` when refused).

        Parameters
        ----------
        value : tuple of int or None
        """
        self.set(value).wait()

    def set(self, value: Any, **kwargs: Any) -> Status:
        """Set the region (see the class docstring).

        Parameters
        ----------
        value : (x, y, width, height) or None

        Returns
        -------
        ophyd.status.Status
        """
        refused = Status(self)
        if _guarded(self, value, refused):
            return refused
        x_signal, y_signal, width_signal, height_signal = self._signals(self._parts)
        if value is None:
            width, height = (int(s.get()) for s in self._signals(self._sensor))
            value = (0, 0, width, height)
        x, y, width, height = (int(v) for v in value)
        steps = [(x_signal, 0), (y_signal, 0), (width_signal, width), (height_signal, height),
                 (x_signal, x), (y_signal, y)]
        return _sequence(self, steps)


class PairSignal(_Composite):
    """A pair of records as one tuple (``binning``: BinX/BinY; ``sensor_size``).

    Parameters
    ----------
    parts : sequence of str
        Dotted paths (from the root) of the two signals.
    read_only : bool
    **kwargs
        Passed to :class:`ophyd.Signal`.
    """

    def __init__(self, *, parts: Sequence[str], read_only: bool = False, **kwargs: Any):
        self._parts = tuple(parts)
        self._read_only = read_only
        super().__init__(value=None, **kwargs)

    def get(self, **kwargs: Any) -> tuple[int, ...]:
        """Return the pair."""
        return _remember(self, tuple(int(_resolve(self.root, p).get()) for p in self._parts))

    def put(self, value: Any, **kwargs: Any) -> None:
        """Set both and wait."""
        self.set(value).wait()

    def set(self, value: Any, **kwargs: Any) -> Status:
        """Set both (an int means the same for both).

        Parameters
        ----------
        value : int or (int, int)

        Returns
        -------
        ophyd.status.Status
        """
        status = Status(self)
        if _guarded(self, value, status):
            return status
        if self._read_only:
            status.set_exception(RemoteSettingError(f"{self.name} is read-only", None,
                                                    self.name))
            return status
        pair = (value, value) if np.isscalar(value) else tuple(value)
        steps = [(_resolve(self.root, p), int(v)) for p, v in zip(self._parts, pair)]
        return _sequence(self, steps)


class SensorSignal(_Composite):
    """``sensor``: ``"<model> (<chip>)"`` from ``Model_RBV`` and ``ChipName_RBV``.

    Parameters
    ----------
    parts : sequence of str
        Dotted paths of the model and chip signals.
    **kwargs
        Passed to :class:`ophyd.Signal`.
    """

    def __init__(self, *, parts: Sequence[str], **kwargs: Any):
        self._parts = tuple(parts)
        super().__init__(value="", **kwargs)

    def get(self, **kwargs: Any) -> str:
        """Return the description."""
        model, chip = (str(_resolve(self.root, p).get()) for p in self._parts)
        return _remember(self, f"{model} ({chip})".strip())

    def put(self, value: Any, **kwargs: Any) -> None:
        """Refuse (read-only)."""
        raise RemoteSettingError(f"{self.name} is read-only", None, self.name)


def _remember(signal: Signal, value: Any) -> Any:
    """Keep the last value read (ophyd's describe() infers dtype and shape from it)."""
    signal._readback = value
    signal._metadata["timestamp"] = time.time()
    return value


def _guarded(signal: Signal, value: Any, status: Status) -> bool:
    """Apply the signal's ``_guard``; on refusal fail ``status`` and return True."""
    guard = getattr(signal, "_guard", None)
    if guard is None:
        return False
    try:
        guard(signal, value)
    except Exception as exc:  # noqa: BLE001 - handed to the caller through the status
        status.set_exception(exc)
        return True
    return False


def _sequence(owner: Signal, steps: list[tuple[Any, Any]]) -> Status:
    """Set signals one after the other (each confirmed) on the root's task worker.

    When a step is refused, the steps already done are undone (newest first)
    so the composite value is never left half-applied; the status fails with
    the refusal.
    """
    status = Status(owner)

    def run() -> None:
        done: list[tuple[Any, Any]] = []
        try:
            for signal, value in steps:
                previous = signal.get(use_monitor=False)
                signal.set(value).wait()
                done.append((signal, previous))
        except Exception as exc:  # noqa: BLE001 - handed to the caller through the status
            for signal, previous in reversed(done):
                try:
                    signal.set(previous).wait()
                except Exception as undo_exc:  # noqa: BLE001 - the refusal is what counts
                    logger.error("%s: could not restore %s to %r: %s", owner.name, signal.name,
                                 previous, undo_exc)
            status.set_exception(exc)
        else:
            status.set_finished()

    run_check(owner, run, kind="task")
    return status


def estimated_timeout(frames: int, period: float, margin: float) -> float:
    """A generous time limit for ``frames`` frames at ``period`` seconds each.

    Parameters
    ----------
    frames : int
    period : float
    margin : float
        Seconds added (connection, setup, file flush).

    Returns
    -------
    float
    """
    return 2.0 * frames * max(period, 0.0) + margin if math.isfinite(period) else margin
