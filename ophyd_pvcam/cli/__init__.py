"""The ``ophyd-pvcam`` command.

Subcommands: ``list``, ``info``, ``snap``, ``stream``, ``demo``, ``ioc``,
``shell``, ``sim env`` and ``qserver init``. ``--sim MODEL`` on any of them selects a simulated
camera of that model; errors print as one readable line (a traceback only
with ``--debug``) and set a non-zero exit status.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from typing import Optional, Sequence

__all__ = ["main", "build_parser", "EXIT_ERROR", "EXIT_STALL", "EXIT_USAGE", "EXIT_FRAMES_LOST"]

# The exit statuses live in their own module: the subcommands use them and this
# module imports the subcommands, so defining them here would be an import circle.
from ophyd_pvcam.cli.exitcodes import EXIT_ERROR, EXIT_FRAMES_LOST, EXIT_STALL, EXIT_USAGE

SIM_MODELS = ("prime-bsi", "prime-bsi-express", "kinetix", "prime-95b")


def _add_common(parser: argparse.ArgumentParser) -> None:
    # Defaults are SUPPRESSed so that an option given before the subcommand
    # (ophyd-pvcam --sim kinetix list) is not reset by the subcommand's parser.
    group = parser.add_argument_group("camera selection")
    group.add_argument("--sim", metavar="MODEL", choices=SIM_MODELS, default=argparse.SUPPRESS,
                       help="use the simulated camera of this model "
                            f"({', '.join(SIM_MODELS)}) instead of the PVCAM SDK")
    group.add_argument("--library", metavar="PATH", default=argparse.SUPPRESS,
                       help="path of the PVCAM library to load (default: $PVCAM_LIBRARY, "
                            "then the SDK's install locations)")
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="log at DEBUG level and show tracebacks for errors")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``ophyd-pvcam`` command."""
    from ophyd_pvcam.cli import cameras, demo, ioc, qserver, shell, simenv, stream

    parser = argparse.ArgumentParser(
        prog="ophyd-pvcam",
        description="Teledyne Photometrics PVCAM cameras for bluesky: inspect, acquire, "
                    "stream to HDF5, serve over EPICS.")
    _add_common(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    for module in (cameras, stream, demo, ioc, shell, simenv, qserver):
        module.register(commands, _add_common)
    return parser


def _configure_environment(args: argparse.Namespace) -> None:
    # The SDK loader and the simulator read these when the library is first
    # loaded, which happens only after argument parsing.
    if getattr(args, "sim", None):
        os.environ["PVCAM_LIBRARY"] = "sim"
        os.environ["PVCAM_SIM_CAMERAS"] = args.sim
    if getattr(args, "library", None):
        os.environ["PVCAM_LIBRARY"] = args.library


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the ``ophyd-pvcam`` command and return its exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name (default: ``sys.argv[1:]``).
    """
    from ophyd_pvcam.sdk.errors import PVCAMError

    parser = build_parser()
    args = parser.parse_args(argv)
    for option, default in (("sim", None), ("library", None), ("debug", False)):
        if not hasattr(args, option):
            setattr(args, option, default)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not args.debug:
        # tiled's in-process client warns about a starlette deprecation we cannot act on.
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    _configure_environment(args)
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print("ophyd-pvcam: interrupted", file=sys.stderr)
        return 130
    except (PVCAMError, ValueError, OSError, LookupError) as exc:
        if args.debug:
            raise
        message = _one_line(exc)
        from ophyd_pvcam.sdk.errors import LibraryNotFoundError

        if isinstance(exc, LibraryNotFoundError) and not args.sim:
            message += (f" Without a camera: ophyd-pvcam {args.command} --sim MODEL "
                        f"({', '.join(SIM_MODELS)}).")
        print(f"ophyd-pvcam {args.command}: error: {message}", file=sys.stderr)
        from ophyd_pvcam.engine.errors import FramesLostError, StallError

        if isinstance(exc, FramesLostError):
            return EXIT_FRAMES_LOST
        return EXIT_STALL if isinstance(exc, StallError) else EXIT_ERROR


def _one_line(exc: BaseException) -> str:
    """Fold a (possibly multi-line) error message into one line."""
    text = str(exc) or type(exc).__name__
    parts = [line.strip().lstrip("- ").strip() for line in text.splitlines()]
    return "; ".join(part for part in parts if part).replace(":;", ":")
