"""Options shared by the acquiring subcommands, validated before the camera is touched."""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Optional


def _roi(text: str) -> tuple[int, int, int, int]:
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4 or min(values) < 0 or values[2] == 0 or values[3] == 0:
        raise argparse.ArgumentTypeError(f"ROI must be X,Y,WIDTH,HEIGHT with positive size, got {text!r}")
    return values  # type: ignore[return-value]


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text!r}")
    return value


def table(rows: list[list[str]], header: list[str]) -> str:
    """Format ``rows`` under ``header`` as left-aligned columns with a rule line."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    return "\n".join("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip()
                     for row in [header, ["-" * w for w in widths], *rows])


def positive_seconds(text: str) -> float:
    """argparse type: a time in seconds, > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds (e.g. 0.01), got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
    return value


def add_acquisition_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--exposure``, ``--roi``, ``--binning`` and ``--port/--speed/--gain``."""
    group = parser.add_argument_group("acquisition settings")
    group.add_argument("--exposure", type=positive_seconds, metavar="SECONDS",
                       help="exposure time in seconds (default: the camera's current one)")
    group.add_argument("--roi", type=_roi, metavar="X,Y,W,H", help="region of interest in sensor pixels")
    group.add_argument("--binning", type=int, metavar="N", help="N x N binning")
    group.add_argument("--port", metavar="NAME", help="readout port name or value")
    group.add_argument("--speed", type=int, metavar="INDEX", help="speed table index")
    group.add_argument("--gain", type=int, metavar="INDEX", help="gain index")


def apply_acquisition_options(camera: Any, args: argparse.Namespace) -> None:
    """Apply the acquisition options to an open camera (each validated by the engine)."""
    if getattr(args, "port", None) is not None:
        camera.readout_port = int(args.port) if args.port.isdigit() else args.port
    if getattr(args, "speed", None) is not None:
        camera.speed_index = args.speed
    if getattr(args, "gain", None) is not None:
        camera.gain_index = args.gain
    if getattr(args, "exposure", None) is not None:
        camera.exposure_time = args.exposure
    roi = getattr(args, "roi", None)
    binning = getattr(args, "binning", None)
    if roi is not None or binning is not None:
        camera.set_roi(roi if roi is not None else camera.roi, binning)


def open_camera(name: Optional[str]) -> Any:
    """Open camera ``name`` (the first camera when ``None``) as a context manager."""
    from ophyd_pvcam.engine import Camera

    return Camera.open(name)


def human_bytes(count: float) -> str:
    """``count`` bytes as a short decimal size: ``'16.8 GB'``."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(count) < 1000 or unit == "TB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    raise AssertionError("unreachable")


def check_output(path: Path, *, overwrite: bool = False, needed_bytes: int = 0) -> Path:
    """Refuse, before anything is acquired, an output file the command could not write.

    Parameters
    ----------
    path : Path
        The file to be written.
    overwrite : bool
        Replace an existing file (``--overwrite``) instead of refusing it.
    needed_bytes : int
        Bytes the file will take; refused when the file system has less free.

    Returns
    -------
    Path
        ``path``, absolute.

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is false.
    FileNotFoundError
        Its folder does not exist (it is not created: a typo should not make folders).
    PermissionError
        Its folder cannot be written (permissions or a read-only file system).
    OSError
        Not enough free space.
    """
    path = Path(path).expanduser().absolute()
    folder = path.parent
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; give a file name")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists already (--overwrite replaces it)")
    if not folder.is_dir():
        raise FileNotFoundError(f"folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise PermissionError(f"folder {folder} is not writable")
    try:
        # os.access says yes to root even on a read-only file system's folders; a probe does not.
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise PermissionError(f"cannot write in {folder}: {exc.strerror or exc}") from None
    free = shutil.disk_usage(folder).free
    if needed_bytes > free:
        raise OSError(f"{path} needs {human_bytes(needed_bytes)} but {folder} has "
                      f"{human_bytes(free)} free")
    return path


def remove_for_overwrite(path: Path) -> None:
    """Delete ``path`` if it exists (the writers refuse an existing file; ``--overwrite`` asked)."""
    if path.exists():
        os.remove(path)
