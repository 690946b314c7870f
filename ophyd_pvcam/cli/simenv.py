"""``ophyd-pvcam sim env``: the shell exports that make any PVCAM program use the simulator."""
from __future__ import annotations

import argparse
import shlex
from typing import Any, Callable


def register(commands: Any, add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add the ``sim`` command group to ``commands``."""
    sim = commands.add_parser("sim", help="the simulated camera library")
    sim_commands = sim.add_subparsers(dest="sim_command", metavar="SUBCOMMAND")
    sim_commands.required = True
    env = sim_commands.add_parser(
        "env", help="print exports that make vendor-SDK programs load the simulated libpvcam.so.2",
        description="Print shell exports; use as: eval \"$(ophyd-pvcam sim env)\"")
    env.add_argument("--cameras", metavar="MODELS",
                     help="comma-separated simulated models to export as PVCAM_SIM_CAMERAS")
    env.add_argument("--faults", metavar="SPEC", help="fault spec to export as PVCAM_SIM_FAULTS")
    add_common(env)
    env.set_defaults(handler=run_env)


def run_env(args: argparse.Namespace) -> int:
    """Print ``export NAME=value`` lines for the simulator.

    ``LD_LIBRARY_PATH`` is prepended to by the shell that evaluates the
    line (``${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}``), so the vendor's or the
    user's own library folders stay on the path after the simulator's.
    """
    from ophyd_pvcam import sim

    exports = dict(sim.environment())
    del exports["LD_LIBRARY_PATH"]
    print(f"export LD_LIBRARY_PATH={shlex.quote(str(sim.library_dir()))}"
          '"${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"')
    cameras = args.cameras or args.sim
    if cameras:
        exports["PVCAM_SIM_CAMERAS"] = cameras
    if args.faults:
        exports["PVCAM_SIM_FAULTS"] = args.faults
    for name, value in exports.items():
        print(f"export {name}={shlex.quote(value)}")
    return 0
