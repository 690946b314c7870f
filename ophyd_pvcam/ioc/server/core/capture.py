"""The server's NDFileHDF5 behaviour: file names, capture state, and the HDF5 writer.

:class:`CaptureFile` holds what the ``HDF1:`` records configure and turns
frames into files with :class:`~ophyd_pvcam.storage.hdf5.HDF5FrameWriter`,
following areaDetector's NDPluginFile rules as ophyd's
``FileStoreHDF5IterativeWrite`` relies on them:

* ``FullFileName = FileTemplate % (FilePath, FileName, FileNumber)`` (the C
  ``printf`` template, e.g. ``"%s%s_%6.6d.h5"``, works with Python's ``%``);
* Stream and Capture modes: ``Capture=1`` names the file (and increments
  ``FileNumber`` when ``AutoIncrement`` is Yes); the file is created at the
  first frame (its shape and pixel type are known then) and frames append
  until ``Capture=0`` or ``NumCapture`` frames (0 = unlimited);
* Single mode: every frame goes to its own file when ``AutoSave`` is Yes.

Every path is confined to the server's write root: a ``FilePath`` outside it
is refused, and so is a template or name that would lead out of it. The file
is created through a directory handle opened from the write root without
following symbolic links, so a directory swapped for a link between
``Capture=1`` and the first frame cannot lead the file out of the root. Files
are never overwritten. Frames are flushed at the end of each acquisition, so
``NumCaptured_RBV`` then counts frames a reader can see.

Thread safety: frames arrive on the engine's delivery thread, record puts on
the server's executor threads; one lock guards the state.
"""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any, Optional, TypeVar

import numpy as np

from ophyd_pvcam.engine.errors import ValidationError
from ophyd_pvcam.engine.frame import Frame
from ophyd_pvcam.storage.hdf5 import HDF5FrameWriter

from .capture_state import (
    COMPRESSIONS,
    DEFAULT_TEMPLATE,
    WRITE_MODES,
    WRITER_COMPRESSION,
    CaptureState,
    check_file_name,
    check_file_template,
    check_path_length,
    format_template,
    inside_root,
    non_negative_int,
)

__all__ = ["CaptureFile", "CaptureState", "DEFAULT_QUEUE_SIZE", "WRITE_MODES", "COMPRESSIONS", "DEFAULT_TEMPLATE",
           "format_template"]

logger = logging.getLogger(__name__)

# Longest wait for the writer at the end of an acquisition or capture.
_FLUSH_TIMEOUT_S = 60.0
#: Frames the writer queue holds before the delivery thread waits (``QueueSize``).
DEFAULT_QUEUE_SIZE = 256
# Largest QueueSize: 1 Mi frames (the queue holds references, the frames'
# memory comes from the engine's budget).
_MAX_QUEUE_SIZE = 1 << 20
# Longest time a written frame waits unflushed (NumWritten_RBV's pace).
_FLUSH_INTERVAL_S = 0.2

_Value = TypeVar("_Value")


def _through_handle(directory: int, path: Path) -> Path:
    """The name of ``path``'s file inside the open ``directory`` handle.

    On Linux ``/proc/self/fd/<n>`` is the directory the handle holds, not a
    path walked again: opening ``<that>/<name>`` cannot be redirected by a
    link swapped in above it, and HDF5's exclusive create ("w-", ``O_EXCL``)
    refuses a link at the name itself.
    """
    proc = Path(f"/proc/self/fd/{directory}")
    return proc / path.name if proc.is_dir() else path


class CaptureFile:
    """NDFileHDF5 semantics over :class:`~ophyd_pvcam.storage.hdf5.HDF5FrameWriter`.

    Parameters
    ----------
    write_root : path-like
        Every file goes under this directory (created if missing).
    device : str
        Name used in the writer's thread names and messages.
    attributes : callable, optional
        ``attributes() -> mapping`` of camera configuration stored in each file.

    Notes
    -----
    Each ``set_*`` method applies one ``HDF1:`` record: it checks the value,
    stores it and returns it as stored; a refused value raises
    :class:`~ophyd_pvcam.engine.errors.ValidationError` naming the record.
    """

    def __init__(self, write_root: "os.PathLike[str] | str", device: str = "pvcam",
                 attributes: Any = None):
        self.write_root = Path(write_root).expanduser().resolve()
        self.write_root.mkdir(parents=True, exist_ok=True)
        self.device = device
        self._attributes = attributes
        self._lock = threading.RLock()
        self.file_path = str(self.write_root) + os.sep
        self.file_name = device
        self.file_template = DEFAULT_TEMPLATE
        self.auto_increment = True
        self.auto_save = True
        self.write_mode = "Stream"
        self.num_capture = 0
        self.create_directory = 0
        self.compression = "None"
        self.enabled = True
        self.queue_size = DEFAULT_QUEUE_SIZE
        self._state = CaptureState(file_path_exists=True)
        self._writer: Optional[HDF5FrameWriter] = None
        self._pending: Optional[Path] = None

    # ------------------------------------------------------------ settings
    def set_file_path(self, value: str) -> str:
        """Set ``FilePath`` (must lie inside the write root).

        Parameters
        ----------
        value : str
            A directory; relative paths are taken relative to the write root.

        Returns
        -------
        str
            The path as stored (with a trailing separator, as areaDetector).

        Raises
        ------
        ValidationError
            Outside the write root, or empty.
        """
        text = str(value).strip()
        if not text:
            raise ValidationError("FilePath is empty", None, "FilePath")
        check_path_length(text, "FilePath")
        given = Path(text) if os.path.isabs(text) else self.write_root / text
        resolved = inside_root(self.write_root, given, "FilePath")
        # Keep the caller's spelling (ophyd compares FilePath_RBV with what it
        # wrote); only the check above resolves symbolic links.
        stored = os.path.normpath(str(given.expanduser())).rstrip(os.sep) + os.sep
        with self._lock:
            self.file_path = stored
            exists = resolved.is_dir()
            if not exists and self.create_directory != 0:
                exists = self._make_directory(resolved)
            self._state = replace(self._state, file_path_exists=exists)
        return stored

    def set_file_name(self, value: str) -> str:
        """Set ``FileName`` (no path separators; see :func:`.check_file_name`)."""
        return self._store("file_name", check_file_name(value))

    def set_file_template(self, value: str) -> str:
        """Set ``FileTemplate``, a printf template of (path, name, number).

        E.g. ``"%s%s_%6.6d.h5"``; refused when it does not format
        (:func:`~ophyd_pvcam.ioc.server.core.capture_state.check_file_template`).
        """
        return self._store("file_template", check_file_template(value))

    def set_file_number(self, value: int) -> int:
        """Set ``FileNumber`` (an integer >= 0)."""
        number = non_negative_int(value, "FileNumber")
        with self._lock:
            self._state = replace(self._state, file_number=number)
        return number

    def set_num_capture(self, value: int) -> int:
        """Set ``NumCapture`` (an integer >= 0; 0 = unlimited)."""
        return self._store("num_capture", non_negative_int(value, "NumCapture"))

    def set_write_mode(self, value: str) -> str:
        """Set ``FileWriteMode`` (Single, Capture or Stream; not while capturing)."""
        if value not in WRITE_MODES:
            raise ValidationError(f"FileWriteMode {value!r} is not one of {WRITE_MODES}",
                                  None, "FileWriteMode")
        return self._store("write_mode", value, fixed_while_capturing="FileWriteMode")

    def set_compression(self, value: str) -> str:
        """Set ``Compression`` (None, Blosc or BSLZ4; not while capturing)."""
        if value not in WRITER_COMPRESSION:
            raise ValidationError(f"Compression {value!r} is not supported; choose one of "
                                  f"{', '.join(WRITER_COMPRESSION)}", None, "Compression")
        return self._store("compression", value, fixed_while_capturing="Compression")

    def set_queue_size(self, value: int) -> int:
        """Set ``QueueSize``: frames queued for the writer thread (1..1048576; not while capturing).

        Parameters
        ----------
        value : int

        Returns
        -------
        int
            The size the next file's writer uses.
        """
        number = non_negative_int(value, "QueueSize")
        if not 1 <= number <= _MAX_QUEUE_SIZE:
            raise ValidationError(f"QueueSize must be in 1..{_MAX_QUEUE_SIZE}, got {number}",
                                  None, "QueueSize")
        return self._store("queue_size", number, fixed_while_capturing="QueueSize")

    def set_flag(self, name: str, value: bool) -> bool:
        """Set ``AutoIncrement``, ``AutoSave`` or ``EnableCallbacks``.

        Parameters
        ----------
        name : {"auto_increment", "auto_save", "enabled"}
        value : bool
        """
        if name not in ("auto_increment", "auto_save", "enabled"):
            raise ValidationError(f"unknown flag {name!r}", None, "CaptureFile")
        return self._store(name, bool(value))

    def set_create_directory(self, value: int) -> int:
        """Set ``CreateDirectory`` (0: never; otherwise create missing directories in the root)."""
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ValidationError(f"CreateDirectory takes an integer, got {value!r}",
                                  None, "CreateDirectory") from None
        return self._store("create_directory", number)

    # ------------------------------------------------------------- capture
    def state(self) -> CaptureState:
        """Return the current :class:`CaptureState`."""
        with self._lock:
            if self._writer is not None:
                self._state = replace(self._state, num_written=self._writer.frames_written)
                # NumCaptured_RBV counts as ADCore's: frames the file holds
                # (written; FlushNow makes them readable), not frames still
                # queued for the writer thread. The submitted count stays in
                # _state for the NumCapture limit.
                stored = self._writer.stats().frames_stored
                return replace(self._state, num_captured=min(self._state.num_captured,
                                                             max(stored, self._state.num_written)))
            return self._state

    def start_capture(self) -> CaptureState:
        """``Capture=1``: name the next file (Capture/Stream modes).

        Returns
        -------
        CaptureState

        Raises
        ------
        ValidationError
            In Single mode, when already capturing, when the directory is
            missing (and ``CreateDirectory`` is 0), when the name leads out of
            the write root or the file exists.
        """
        with self._lock:
            if self.write_mode == "Single":
                raise ValidationError("Capture is for the Capture and Stream modes; in Single "
                                      "mode each frame is written when AutoSave is Yes",
                                      None, "Capture")
            if self._state.capturing:
                raise ValidationError("already capturing", None, "Capture")
            path, name = self._next_path("Capture")
            self._pending = path
            self._state = replace(self._state, capturing=True, file_number=self._next_number(),
                                  full_file_name=name, num_captured=0, num_written=0,
                                  write_error="", frame_shape=None)
            logger.info("%s: capture to %s", self.device, path)
            return self._state

    def stop_capture(self) -> CaptureState:
        """``Capture=0``: close the file (waits for the writer to flush).

        Returns
        -------
        CaptureState
        """
        with self._lock:
            writer, self._writer, self._pending = self._writer, None, None
            self._state = replace(self._state, capturing=False, frame_shape=None)
        if writer is not None:
            self._close_writer(writer)
        return self.state()

    def check_frame(self, frame_shape: tuple[int, int], dtype: Any) -> None:
        """Refuse an acquisition whose frames would not fit the open file.

        Parameters
        ----------
        frame_shape : tuple of int
            ``(height, width)`` of the coming frames.
        dtype : numpy dtype-like

        Raises
        ------
        ValidationError
            When a file is open with another shape or pixel type.
        """
        with self._lock:
            writer = self._writer
            if writer is None or not self.enabled:
                return
            if tuple(writer.frame_shape) != tuple(frame_shape) or writer.dtype != np.dtype(dtype):
                raise ValidationError(
                    f"frames of {frame_shape[1]}x{frame_shape[0]} {np.dtype(dtype)} do not fit "
                    f"{writer.path.name} ({writer.frame_shape[1]}x{writer.frame_shape[0]} "
                    f"{writer.dtype}); end the capture (Capture=0) first", None, "Acquire")

    def submit(self, frame: Frame) -> None:
        """Write one frame according to the mode (called on the engine's delivery thread).

        Errors of the writer are recorded in the state (``WriteStatus``) and
        end the capture; they are not raised into the engine.

        Parameters
        ----------
        frame : Frame
        """
        with self._lock:
            if not self.enabled:
                return
            if self.write_mode == "Single":
                if self.auto_save:
                    self._write_single(frame)
                return
            if not self._state.capturing:
                return
            try:
                if self._writer is None:
                    self._writer = self._open(self._pending, frame)
                self._writer.submit(frame)
            except Exception as exc:  # noqa: BLE001 - reported through WriteStatus, capture ends
                self._fail(exc)
                return
            captured = self._state.num_captured + 1
            self._state = replace(self._state, num_captured=captured)
            done = self.num_capture and captured >= self.num_capture
        if done:
            logger.info("%s: NumCapture=%d reached", self.device, self.num_capture)
            self.stop_capture()

    def flush(self) -> CaptureState:
        """Flush the open file so every submitted frame is readable.

        Returns
        -------
        CaptureState
        """
        with self._lock:
            writer = self._writer
        if writer is not None:
            try:
                writer.flush(_FLUSH_TIMEOUT_S)
            except Exception as exc:  # noqa: BLE001 - reported through WriteStatus
                with self._lock:
                    self._fail(exc)
        return self.state()

    def close(self) -> None:
        """Close any open file (server shutdown)."""
        self.stop_capture()

    # ------------------------------------------------------------- helpers
    def _store(self, attribute: str, value: _Value, *, fixed_while_capturing: str = "") -> _Value:
        """Set a checked setting under the lock and return it.

        ``fixed_while_capturing`` names the record when the setting is
        refused during a capture.
        """
        with self._lock:
            if fixed_while_capturing:
                self._check_not_capturing(fixed_while_capturing)
            setattr(self, attribute, value)
        return value

    def _next_number(self) -> int:
        """``FileNumber`` after naming a file: advanced when ``AutoIncrement`` is Yes."""
        return self._state.file_number + (1 if self.auto_increment else 0)

    def _make_directory(self, path: Path) -> bool:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            logger.warning("%s: cannot create %s: %s", self.device, path, exc)
            return False
        return True

    def _next_path(self, what: str) -> tuple[Path, str]:
        """The file the current settings name: (resolved path, name as formatted).

        Checked to lie in the write root and not to exist; its directory is
        created when ``CreateDirectory`` allows.
        """
        try:
            name = format_template(self.file_template, self.file_path, self.file_name,
                                   self._state.file_number)
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"FileTemplate {self.file_template!r} failed: {exc}",
                                  None, what) from None
        check_path_length(name, "FullFileName")
        path = inside_root(self.write_root,
                           Path(name) if os.path.isabs(name) else self.write_root / name,
                           "FullFileName")
        if not path.parent.is_dir() and self.create_directory != 0:
            self._make_directory(path.parent)
        # As areaDetector: a missing directory does not refuse Capture (ophyd
        # checks FilePathExists_RBV after staging and raises); the first
        # frame then fails to open the file (WriteStatus).
        self._state = replace(self._state, file_path_exists=path.parent.is_dir())
        if path.exists():
            raise ValidationError(f"{name!r} exists; files are never overwritten "
                                  "(change FileName or FileNumber)", None, what)
        return path, name

    def _open(self, path: Optional[Path], frame: Frame) -> HDF5FrameWriter:
        if path is None:
            raise ValidationError("no file named for this capture", None, "Capture")
        if not path.parent.is_dir():
            raise ValidationError(f"directory {str(path.parent)!r} does not exist (set "
                                  "CreateDirectory to create it)", None, "FilePath")
        attributes = self._attributes() if callable(self._attributes) else None
        # The path was checked at Capture=1; a directory under the root may have
        # become a symbolic link since. Walk to the file's directory again without
        # following links and create the file through that directory handle.
        directory = self._open_directory_in_root(path.parent)
        try:
            writer = HDF5FrameWriter(_through_handle(directory, path), frame.data.shape,
                                     frame.data.dtype,
                                     compression=WRITER_COMPRESSION[self.compression],
                                     queue_size=self.queue_size,
                                     flush_interval=_FLUSH_INTERVAL_S, attributes=attributes)
            writer.start()    # returns once the file exists (created "w-", no link followed)
        finally:
            os.close(directory)
        self._state = replace(self._state, frame_shape=tuple(frame.data.shape))
        return writer

    def _open_directory_in_root(self, directory: Path) -> int:
        """Open ``directory`` component by component from the write root, following no link.

        Returns
        -------
        int
            A directory file descriptor (the caller closes it).

        Raises
        ------
        ValidationError
            When a component is (now) a symbolic link or not a directory, or
            the directory is not under the write root.
        """
        try:
            parts = directory.relative_to(self.write_root).parts
        except ValueError:
            raise ValidationError(f"{str(directory)!r} is outside the server's write root "
                                  f"{str(self.write_root)!r}", None, "FullFileName") from None
        flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
        handle = os.open(self.write_root, flags)
        try:
            for part in parts:
                try:
                    inner = os.open(part, flags, dir_fd=handle)
                except OSError as exc:
                    raise ValidationError(
                        f"{str(directory)!r} cannot be opened inside the write root: {part!r} "
                        f"is a symbolic link or not a directory ({os.strerror(exc.errno)}); "
                        "files are only written inside the write root", None,
                        "FullFileName") from None
                os.close(handle)
                handle = inner
        except BaseException:
            os.close(handle)
            raise
        return handle

    def _write_single(self, frame: Frame) -> None:
        try:
            path, name = self._next_path("AutoSave")
            writer = self._open(path, frame)
            writer.submit(frame)
            writer.close(_FLUSH_TIMEOUT_S)
        except Exception as exc:  # noqa: BLE001 - reported through WriteStatus
            self._fail(exc)
            return
        self._state = replace(self._state, file_number=self._next_number(), full_file_name=name,
                              num_captured=self._state.num_captured + 1,
                              num_written=self._state.num_written + 1, frame_shape=None)

    def _record_error(self, exc: BaseException, **changes: Any) -> None:
        """Log a writer error and publish it as ``WriteStatus`` (lock held)."""
        message = f"HDF5 writing failed: {exc}"
        logger.error("%s: %s", self.device, message)
        self._state = replace(self._state, write_error=message, **changes)

    def _fail(self, exc: BaseException) -> None:
        """Record a write error and end the capture (lock held)."""
        writer, self._writer, self._pending = self._writer, None, None
        self._record_error(exc, capturing=False, frame_shape=None)
        if writer is not None:
            try:
                writer.close(_FLUSH_TIMEOUT_S)
            except Exception as close_exc:  # noqa: BLE001 - the first error is what counts
                logger.error("%s: closing %s after the error also failed: %s", self.device,
                             writer.path.name, close_exc)

    def _close_writer(self, writer: HDF5FrameWriter) -> None:
        try:
            frames = writer.close(_FLUSH_TIMEOUT_S)
        except Exception as exc:  # noqa: BLE001 - reported through WriteStatus
            with self._lock:
                self._record_error(exc)
            return
        # writer.path names the file through its directory handle: only the name is meaningful.
        logger.info("%s: closed %s with %d frames", self.device, writer.path.name, frames)
        with self._lock:
            self._state = replace(self._state, num_captured=frames, num_written=frames)

    def _check_not_capturing(self, what: str) -> None:
        if self._state.capturing:
            raise ValidationError(f"cannot change {what} while capturing", None, what)

