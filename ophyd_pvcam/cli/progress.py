"""Progress bars for the ``ophyd-pvcam shell`` profile that log lines cannot land on.

bluesky's ``TerminalProgressBar`` draws its meters itself, so a log record
written to the terminal while a bar is shown lands on the bar's line (a
warning glued to, or overwriting, a meter). :class:`TqdmProgressBar` draws one
real ``tqdm`` bar per status and, while any bar is shown, routes the records
of the root logger's console handlers through ``tqdm.write``, which clears the
bars, prints the record on a line of its own and redraws them.

Bars are cursor escapes: the profile uses them only when stdout is a terminal.
"""
from __future__ import annotations

import logging
import sys
import threading
from functools import partial
from typing import Any, Iterable, Optional

from bluesky.utils import ProgressBarBase, ProgressBarManager
from tqdm import tqdm

__all__ = ["BarSafeHandler", "TqdmProgressBar", "progress_bar_manager"]


class BarSafeHandler(logging.Handler):
    """Write another handler's records through ``tqdm.write`` (above any bar).

    Parameters
    ----------
    original : logging.StreamHandler
        The console handler replaced while bars are shown: its level,
        formatter, filters and stream are used.
    """

    def __init__(self, original: logging.StreamHandler):
        super().__init__(original.level)
        self.original = original
        self.setFormatter(original.formatter)
        self.filters = list(original.filters)

    def emit(self, record: logging.LogRecord) -> None:
        """Format ``record`` as the original handler would and write it above the bars."""
        try:
            tqdm.write(self.format(record), file=self.original.stream)
        except Exception:  # noqa: BLE001 - logging's contract: report, never raise into the caller
            self.handleError(record)


def _is_console(handler: logging.Handler) -> bool:
    return (isinstance(handler, logging.StreamHandler)
            and getattr(handler, "stream", None) in (sys.stdout, sys.stderr))


class _Redirect:
    """Swap the root logger's console handlers for :class:`BarSafeHandler` while bars exist."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._saved: Optional[list[logging.Handler]] = None

    def acquire(self) -> None:
        with self._lock:
            self._users += 1
            if self._users > 1:
                return
            root = logging.getLogger()
            self._saved = list(root.handlers)
            consoles = [h for h in root.handlers if _is_console(h)]
            if not root.handlers and logging.lastResort is not None:
                # No handler configured: logging would print WARNING and above to
                # stderr through its last resort; do the same, above the bars.
                consoles = [logging.lastResort]
            root.handlers = ([h for h in root.handlers if not _is_console(h)]
                             + [BarSafeHandler(h) for h in consoles])

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0 and self._saved is not None:
                logging.getLogger().handlers = self._saved
                self._saved = None


_redirect = _Redirect()


class TqdmProgressBar(ProgressBarBase):
    """One ``tqdm`` bar per status object, with log records written above them.

    A ``progress_bar`` factory for bluesky's ``ProgressBarManager``: the
    RunEngine's ``waiting_hook`` creates one for the statuses it waits on and
    calls :meth:`clear` when they are done.

    Parameters
    ----------
    status_objs : iterable
        Statuses; those with a ``watch`` method that are not done get a bar.
    delay_draw : float
        Seconds before a bar is first drawn, so quick waits (a motor move)
        do not flash a bar (bluesky's default, 0.2 s).
    file : file-like, optional
        Where bars are drawn (default: ``sys.stdout``).
    """

    def __init__(self, status_objs: Iterable[Any], delay_draw: float = 0.2,
                 file: Any = None):
        self._lock = threading.RLock()
        self._file = file if file is not None else sys.stdout
        self._delay = delay_draw
        self._bars: list[tqdm] = []
        self._closed = False
        _redirect.acquire()
        for status in status_objs:
            if hasattr(status, "watch") and not status.done:
                with self._lock:
                    position = len(self._bars)
                    self._bars.append(tqdm(total=None, position=position, leave=False,
                                           file=self._file, delay=delay_draw,
                                           dynamic_ncols=True))
                status.watch(partial(self.update, position))

    def update(self, pos: int, *, name: Optional[str] = None, current: Any = None,
               initial: Any = None, target: Any = None, unit: str = "units",
               precision: Any = None, fraction: Any = None,
               time_elapsed: Optional[float] = None,
               time_remaining: Optional[float] = None) -> None:
        """Move bar ``pos`` to the status's latest progress (a ``watch`` callback).

        Scalar progress (frames) moves the bar; anything else leaves a
        counter without a total ("In progress"). tqdm throttles redraws, so a
        fast status costs a comparison per call.
        """
        with self._lock:
            if self._closed:
                return
            bar = self._bars[pos]
            if name is not None and bar.desc != name:
                bar.set_description_str(name, refresh=False)
            if unit and bar.unit != unit:
                bar.unit = unit
            if isinstance(current, (int, float)) and isinstance(initial, (int, float)):
                total = target - initial if isinstance(target, (int, float)) else None
                if total is not None and bar.total != total:
                    bar.total = total
                done = current - initial
                if total is not None:
                    done = min(max(done, 0), total)
                if done > bar.n:
                    bar.update(done - bar.n)

    def clear(self) -> None:
        """Remove the bars (last first) and give the console handlers back."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            bars, self._bars = self._bars, []
        for bar in reversed(bars):
            bar.close()
        _redirect.release()


def progress_bar_manager(delay_draw: float = 0.2) -> ProgressBarManager:
    """Return a ``RunEngine.waiting_hook`` drawing :class:`TqdmProgressBar` bars.

    Parameters
    ----------
    delay_draw : float
        Seconds before a bar is first drawn.

    Examples
    --------
    >>> RE.waiting_hook = progress_bar_manager()   # doctest: +SKIP
    """
    return ProgressBarManager(partial(TqdmProgressBar, delay_draw=delay_draw))
