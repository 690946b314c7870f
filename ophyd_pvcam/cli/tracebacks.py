"""One diagnosis per exception display in the ``ophyd-pvcam shell`` profile.

A failed acquisition reaches the prompt as bluesky's ``FailedStatus``, raised
``from`` the engine's error (e.g. :class:`~ophyd_pvcam.engine.errors.StallError`).
IPython shows that chain: first the cause with its full diagnosis, then
``FailedStatus`` whose message is the status's repr, which also names the
error, since the stop document's ``reason`` (``str(FailedStatus)``) has no
other place for it. On screen that is the same diagnosis twice.

:func:`install` registers an IPython exception handler that shows the same
chained traceback with the repeated text in the ``FailedStatus`` line replaced
by a pointer to the cause above. Only the display changes: the exception
object, its ``args`` and ``__cause__``, and the stop document are untouched.
"""
from __future__ import annotations

from typing import Any, Optional

__all__ = ["install", "without_repeated_cause"]


def without_repeated_cause(error: BaseException) -> Optional[str]:
    """Return ``str(error)`` with the text of its ``__cause__`` replaced by a pointer.

    Parameters
    ----------
    error : BaseException
        An exception raised ``from`` another one.

    Returns
    -------
    str or None
        The shortened message, e.g. ``"FrameProgressStatus(..., error=StallError
        (its diagnosis is shown above))"``; ``None`` when ``error`` has no cause
        or its message does not repeat the cause's.

    Examples
    --------
    >>> try:
    ...     try:
    ...         raise ValueError("camera stalled after frame 3")
    ...     except ValueError as cause:
    ...         raise RuntimeError(f"status failed: ValueError: {cause}") from cause
    ... except RuntimeError as error:
    ...     print(without_repeated_cause(error))
    status failed: ValueError (its diagnosis is shown above)
    """
    cause = error.__cause__
    if cause is None:
        return None
    text, cause_text = str(error), str(cause)
    if not cause_text or cause_text not in text:
        return None
    name = type(cause).__name__
    pointer = f"{name} (its diagnosis is shown above)"
    if f"{name}: {cause_text}" in text:
        return text.replace(f"{name}: {cause_text}", pointer)
    return text.replace(cause_text, f"({pointer})")


def _show_diagnosis_once(shell: Any, etype: type, value: BaseException, tb: Any,
                         tb_offset: Optional[int] = None) -> list[str]:
    # IPython's custom exception hook: run_code discards what it returns, so it shows the
    # traceback itself (through showtraceback, which never calls this hook again).
    short = without_repeated_cause(value)
    saved = value.args
    if short is not None:
        value.args = (short,)
    try:
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
    finally:
        value.args = saved
    return []


def install(shell: Any = None) -> bool:
    """Show a failed status's diagnosis once per exception display in IPython.

    Parameters
    ----------
    shell : IPython.core.interactiveshell.InteractiveShell, optional
        The shell to install into (default: the running one).

    Returns
    -------
    bool
        ``False`` when there is no IPython shell (e.g. the profile's startup
        files loaded by bluesky-queueserver), ``True`` once installed.
    """
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return False
        shell = get_ipython()
    if shell is None:
        return False
    from bluesky.utils import FailedStatus

    shell.set_custom_exc((FailedStatus,), _show_diagnosis_once)
    return True
