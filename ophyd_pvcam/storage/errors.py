"""Errors raised by the storage layer (all subclasses of :class:`PVCAMError`)."""
from __future__ import annotations

from ophyd_pvcam.sdk.errors import PVCAMError

__all__ = ["StorageError", "FrameMismatchError", "FrameNotAvailableError", "WriterStateError"]


class StorageError(PVCAMError):
    """Writing or reading a frame file failed.

    Errors raised inside the writer thread are stored and re-raised, as this
    class, from the next ``submit``/``flush``/``close`` call; the original
    exception is the ``__cause__``.
    """


class FrameMismatchError(StorageError, ValueError):
    """A submitted frame's shape or dtype differs from the file's dataset."""


class FrameNotAvailableError(StorageError, IndexError):
    """A reader asked for a frame index the file does not (yet) hold."""


class WriterStateError(StorageError):
    """A writer method was called in the wrong state (before start, after close)."""
