"""Status objects of :class:`~ophyd_pvcam.device.detector.PVCAMDetector`.

:class:`FrameProgressStatus` is an ophyd :class:`~ophyd.status.DeviceStatus`
that counts frames. Its :meth:`~FrameProgressStatus.watch` callbacks receive
``current``, ``initial``, ``target``, ``name``, ``unit``, ``precision``,
``fraction`` (the fraction *remaining*, by ophyd convention),
``time_elapsed`` and ``time_remaining`` every time the count changes, which is
what bluesky's ``ProgressBarManager`` needs to draw a live bar
(plain ``DeviceStatus.watch`` only ever reports the name).

A failed acquisition ends the status with :meth:`~ophyd.status.StatusBase.set_exception`
and the engine's error (e.g. :class:`~ophyd_pvcam.engine.errors.StallError`),
which bluesky re-raises as ``FailedStatus`` with that error as ``__cause__``.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Optional

from ophyd.status import DeviceStatus

__all__ = ["FrameProgressStatus"]

logger = logging.getLogger(__name__)


class FrameProgressStatus(DeviceStatus):
    """A DeviceStatus that reports frame-count progress to its watchers.

    Parameters
    ----------
    device : ophyd.Device
        The detector (its ``name`` labels the progress bar; its ``stop`` is
        called on failure unless ``call_stop_on_failure=False``).
    target : int or None
        Frames expected. ``None`` (or 0) means unbounded, e.g. a stream that
        runs until stopped: watchers then get ``target=None`` and bluesky
        shows "In progress" instead of a bar.
    initial : int
        The count progress starts from (0 for a fresh acquisition).
    unit : str
        Unit shown by the progress bar.
    label : str, optional
        Name shown in the bar; defaults to the device's name.
    **kwargs
        Passed to :class:`~ophyd.status.DeviceStatus` (``timeout``,
        ``settle_time``, ``call_stop_on_failure``).

    Examples
    --------
    >>> status = FrameProgressStatus(det, target=5)       # doctest: +SKIP
    >>> status.watch(lambda **kw: print(kw["current"]))   # doctest: +SKIP
    >>> status.update(1)                                   # doctest: +SKIP
    1
    """

    def __init__(self, device: Any, target: Optional[int], *, initial: int = 0,
                 unit: str = "frames", label: Optional[str] = None, **kwargs: Any):
        self._target = int(target) if target else None
        self._initial = int(initial)
        self._current = int(initial)
        self._unit = unit
        self._label = label
        self._start_time = time.time()
        self._progress_lock = threading.Lock()
        super().__init__(device, **kwargs)

    # -- read-only state ---------------------------------------------------
    @property
    def target(self) -> Optional[int]:
        """Frames expected, or ``None`` when unbounded."""
        return self._target

    @property
    def initial(self) -> int:
        """Count at which progress started."""
        return self._initial

    @property
    def current(self) -> int:
        """Latest count reported through :meth:`update`."""
        return self._current

    @property
    def label(self) -> str:
        """Name shown to watchers (the label given, else the device's name)."""
        if self._label:
            return self._label
        return self.device.name if self.device is not None else ""

    # -- progress ----------------------------------------------------------
    def progress(self) -> dict[str, Any]:
        """Return the keyword arguments watchers receive for the current count.

        Returns
        -------
        dict
            ``name``, ``current``, ``initial``, ``target``, ``unit``,
            ``precision`` (0: frames are whole), ``fraction`` (remaining, 0..1,
            ``None`` when unbounded), ``time_elapsed`` [s] and
            ``time_remaining`` [s] (extrapolated from the rate so far;
            ``None`` until a frame has arrived or when unbounded).
        """
        now = time.time()
        elapsed = now - self._start_time
        current = self._current
        target = self._target
        fraction: Optional[float] = None
        remaining: Optional[float] = None
        if target is not None:
            span = target - self._initial
            done = min(max(current - self._initial, 0), span) if span > 0 else span
            fraction = 1.0 - done / span if span > 0 else 0.0
            if done > 0:
                remaining = elapsed / done * (span - done)
            elif span == 0:
                remaining = 0.0
        return dict(name=self.label, current=current, initial=self._initial, target=target,
                    unit=self._unit, precision=0, fraction=fraction,
                    time_elapsed=elapsed, time_remaining=remaining)

    def update(self, current: int) -> None:
        """Record a new frame count and notify the watchers.

        Counts never go backwards; a repeated count is not re-reported, so
        calling this from a polling loop costs nothing between frames.
        Watcher exceptions are logged, never propagated into the caller
        (an acquisition thread).

        Parameters
        ----------
        current : int
            Frames done so far (including ``initial``).
        """
        with self._progress_lock:
            if current <= self._current or self.done:
                return
            self._current = int(current)
            kwargs = self.progress()
            watchers = list(self._watchers)
        self._notify(watchers, kwargs)

    def watch(self, func: Callable[..., Any]) -> None:
        """Subscribe to progress: ``func(**kwargs)`` now and at every new count.

        Parameters
        ----------
        func : callable
            Called with the keywords of :meth:`progress`.
        """
        with self._progress_lock:
            self._watchers.append(func)
            kwargs = self.progress()
        self._notify([func], kwargs)

    def _settled(self) -> None:
        # ophyd's DeviceStatus reports only the name here (dropping the bar);
        # report the final count instead, as it is: a failed acquisition shows
        # how far it got.
        with self._progress_lock:
            kwargs = self.progress()
            watchers = list(self._watchers)
        self._notify(watchers, kwargs)

    def _notify(self, watchers: list[Callable[..., Any]], kwargs: dict[str, Any]) -> None:
        for watcher in watchers:
            try:
                watcher(**kwargs)
            except Exception:  # noqa: BLE001 - a broken progress bar must not stop an acquisition
                logger.exception("progress watcher %r of %s failed", watcher, self.label)

    def __str__(self) -> str:
        # bluesky puts repr(status) into the stop document's "reason": name the
        # error there, since the document has no other place for it.
        target = "unbounded" if self._target is None else self._target
        error = ""
        if self.done and self._exception is not None:
            error = f", error={type(self._exception).__name__}: {self._exception}"
        return (f"{type(self).__name__}(device={self.label}, frames={self._current}/{target}, "
                f"done={self.done}, success={self.success}{error})")

    __repr__ = __str__
