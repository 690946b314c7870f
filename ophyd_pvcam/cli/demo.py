"""``ophyd-pvcam demo``: the main job, placeholder until the device lands."""
from __future__ import annotations

import argparse
from typing import Any, Callable


def register(commands: Any, add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add the ``demo`` command to ``commands``."""
    parser = commands.add_parser("demo", help="count and fly on the simulated camera into the local catalog")
    add_common(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Not yet implemented."""
    raise NotImplementedError("demo")
