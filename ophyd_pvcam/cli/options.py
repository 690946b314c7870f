"""Options shared by the acquiring subcommands, validated before the camera is touched."""
from __future__ import annotations

import argparse
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
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text!r}")
    return value


def table(rows: list[list[str]], header: list[str]) -> str:
    """Format ``rows`` under ``header`` as left-aligned columns with a rule line."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    return "\n".join("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip()
                     for row in [header, ["-" * w for w in widths], *rows])


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
    return value


def add_acquisition_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--exposure``, ``--roi``, ``--binning`` and ``--port/--speed/--gain``."""
    group = parser.add_argument_group("acquisition settings")
    group.add_argument("--exposure", type=_positive_float, metavar="SECONDS",
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
