"""What the ``HDF1:`` read-backs show, and areaDetector's file-name rules.

:class:`CaptureState` is the snapshot :class:`~ophyd_pvcam.ioc.server.core.capture.CaptureFile`
publishes; :func:`format_template` fills a ``FileTemplate`` as C's ``printf``;
:func:`check_file_name`, :func:`check_file_template` and :func:`inside_root`
are the checks that keep every file name inside the server's write root.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from ophyd_pvcam.engine.errors import ValidationError

__all__ = ["CaptureState", "WRITE_MODES", "COMPRESSIONS", "WRITER_COMPRESSION",
           "DEFAULT_TEMPLATE", "format_template", "non_negative_int", "check_file_name",
           "check_file_template", "check_path_length", "inside_root", "NAME_MAX", "PATH_MAX",
           "TEMPLATE_FIELD_MAX"]

#: NDFileHDF5 ``FileWriteMode`` menu.
WRITE_MODES = ("Single", "Capture", "Stream")
#: NDFileHDF5 ``Compression`` menu, spelled as ADCore's (and ophyd-async's strict
#: ``ADCompression``); the writer supports "None", "Blosc" and "BSLZ4".
COMPRESSIONS = ("None", "N-bit", "szip", "zlib", "Blosc", "BSLZ4", "LZ4", "JPEG")
#: Menu label -> :class:`~ophyd_pvcam.storage.hdf5.HDF5FrameWriter` compression.
WRITER_COMPRESSION = {"None": None, "Blosc": "blosc", "BSLZ4": "bitshuffle-lz4"}
#: areaDetector's usual HDF5 template (also what ophyd's FileStoreHDF5 stages).
DEFAULT_TEMPLATE = "%s%s_%6.6d.h5"
#: Longest file or directory name [bytes] the file systems we write to take (Linux NAME_MAX).
NAME_MAX = 255
#: Longest path [bytes] a system call takes (Linux PATH_MAX, with its terminating NUL).
PATH_MAX = 4095
#: Widest field width or precision a ``FileTemplate`` conversion may ask for.
TEMPLATE_FIELD_MAX = NAME_MAX

# One printf conversion as Python's % reads it: %[(key)][flags][width][.precision][length]type.
_CONVERSION = re.compile(r"%(\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d*))?[hlL]?(.?)", re.DOTALL)


@dataclass(frozen=True)
class CaptureState:
    """A snapshot of the capture state, for the read-back records.

    Attributes
    ----------
    capturing : bool
        ``Capture_RBV``.
    file_number : int
        ``FileNumber_RBV`` (the number the *next* file takes).
    full_file_name : str
        ``FullFileName_RBV``: the file being (or last) written.
    num_captured : int
        ``NumCaptured_RBV``: frames handed to the current file.
    num_written : int
        ``NumWritten_RBV``: frames of the current file flushed to disk
        (readable; what documents may point at).
    file_path_exists : bool
        ``FilePathExists_RBV``.
    write_error : str
        Empty when writing is fine, else the writer's error
        (``WriteStatus``/``WriteMessage``).
    frame_shape : tuple of int or None
        ``(height, width)`` of the open file, ``None`` when none is open.
    """

    capturing: bool = False
    file_number: int = 0
    full_file_name: str = ""
    num_captured: int = 0
    num_written: int = 0
    file_path_exists: bool = False
    write_error: str = ""
    frame_shape: Optional[tuple[int, int]] = None


def format_template(template: str, path: str, name: str, number: int) -> str:
    """Fill an areaDetector file template as C's ``printf`` would.

    ``printf`` ignores surplus arguments, so templates that use only the path
    and name (``"%s%s.h5"``) are valid; Python's ``%`` is not that lenient.

    Parameters
    ----------
    template : str
        E.g. ``"%s%s_%6.6d.h5"``.
    path, name : str
    number : int

    Returns
    -------
    str

    Raises
    ------
    ValidationError
        Before formatting, when the template is longer than :data:`PATH_MAX`
        or a conversion asks for a width or precision over
        :data:`TEMPLATE_FIELD_MAX` (or ``*``): formatting it could take
        gigabytes.
    TypeError, ValueError
        When the template takes other conversions (or more than three).
    """
    _check_template_bounds(template)
    arguments: tuple = (path, name, number)
    while True:
        try:
            return template % arguments
        except TypeError as exc:
            if "not all arguments converted" not in str(exc) or not arguments:
                raise
            arguments = arguments[:-1]


def _check_template_bounds(template: str) -> None:
    """Refuse a template whose formatting is not bounded in time and memory (before formatting)."""
    if len(template) > PATH_MAX:
        raise ValidationError(f"FileTemplate is too long: {len(template)} characters, the limit "
                              f"is {PATH_MAX}", None, "FileTemplate")
    for match in _CONVERSION.finditer(template):
        key, width, precision, kind = match.groups()
        if kind == "%" and not (key or width or precision):
            continue
        for part, value in (("width", width), ("precision", precision)):
            if value == "*":
                raise ValidationError(f"FileTemplate {template[:80]!r}: a {part} of '*' is not "
                                      "supported", None, "FileTemplate")
            if value and int(value) > TEMPLATE_FIELD_MAX:
                raise ValidationError(f"FileTemplate {template[:80]!r}: {part} {value[:20]} is "
                                      f"over the limit of {TEMPLATE_FIELD_MAX}", None,
                                      "FileTemplate")


def non_negative_int(value: Any, what: str) -> int:
    """Return ``value`` as an int >= 0 or raise ValidationError naming ``what``."""
    try:
        number = int(value)
        whole = float(value) == number
    except (TypeError, ValueError, OverflowError):
        whole = False
    if isinstance(value, bool) or not whole or number < 0:
        raise ValidationError(f"{what} must be an integer >= 0, got {value!r}", None, what)
    return number


def check_file_name(value: Any) -> str:
    """Return ``value`` as a ``FileName``: no path separator, not ``.`` or ``..``.

    Parameters
    ----------
    value : str

    Returns
    -------
    str

    Raises
    ------
    ValidationError
        When it contains a path separator or is ``.`` or ``..``.
    """
    text = str(value)
    if "/" in text or os.sep in text or text in (".", ".."):
        raise ValidationError(f"FileName {text!r} must not contain a path separator",
                              None, "FileName")
    return check_path_length(text, "FileName")


def check_path_length(text: str, what: str) -> str:
    """Return ``text`` if the file system can take it as a path, else refuse it.

    Parameters
    ----------
    text : str
        A path or a name.
    what : str
        The record named in the error.

    Returns
    -------
    str

    Raises
    ------
    ValidationError
        When a component is longer than :data:`NAME_MAX` bytes or the whole
        longer than :data:`PATH_MAX` bytes (the kernel would answer
        ``ENAMETOOLONG`` only when the file is opened, at the first frame).
    """
    encoded = os.fsencode(text)
    if len(encoded) > PATH_MAX:
        raise ValidationError(f"{what} is too long: {len(encoded)} bytes, the limit is "
                              f"{PATH_MAX}", None, what)
    longest = max(encoded.split(b"/"), key=len, default=b"")
    if len(longest) > NAME_MAX:
        raise ValidationError(f"{what} is too long: a name of {len(longest)} bytes "
                              f"({os.fsdecode(longest[:40])!r}...), the limit is {NAME_MAX}",
                              None, what)
    return text


def check_file_template(value: Any) -> str:
    """Return ``value`` as a ``FileTemplate``: a printf template of (path, name, number).

    Parameters
    ----------
    value : str
        E.g. ``"%s%s_%6.6d.h5"``.

    Returns
    -------
    str

    Raises
    ------
    ValidationError
        When :func:`format_template` fails on it.
    """
    text = str(value)
    try:
        format_template(text, "/path/", "name", 1)
    except ValidationError:
        raise
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"FileTemplate {text!r} must format (path, name, number) like "
            f"{DEFAULT_TEMPLATE!r}: {exc}", None, "FileTemplate") from None
    return text


def inside_root(root: Path, path: Path, what: str) -> Path:
    """Return ``path`` resolved, or refuse it when it lies outside ``root``.

    Parameters
    ----------
    root : pathlib.Path
        The write root, resolved.
    path : pathlib.Path
        Checked after ``~`` expansion and resolving symbolic links and ``..``.
    what : str
        The record named in the error (``FilePath``, ``FullFileName``).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValidationError
        When the resolved path is neither ``root`` nor below it.
    """
    resolved = path.expanduser().resolve()
    if resolved != root and root not in resolved.parents:
        raise ValidationError(f"{what} {str(path)!r} is outside the server's write root "
                              f"{str(root)!r}", None, what)
    return resolved
