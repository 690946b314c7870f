"""``ophyd-pvcam shell``: IPython with the beamline profile shipped in ``profile/``."""
from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any, Callable, Optional


def profile_dir() -> Path:
    """Return the IPython profile folder shipped in the package (``profile/`` in a clone links to it)."""
    folder = Path(__file__).resolve().parents[1] / "profile"
    if not (folder / "startup").is_dir():
        raise FileNotFoundError(f"the ophyd-pvcam IPython profile is missing from {folder}")
    return folder


def user_profile_dir() -> Path:
    """Return the IPython profile ``ophyd-pvcam shell`` starts: ``<ipython dir>/profile_ophyd_pvcam``.

    The packaged startup files are copied there at each start, so IPython's
    history and logs go to the user's IPython folder, never into the
    installed package. Files a user adds to that startup folder are kept.
    """
    from IPython.paths import get_ipython_dir

    return Path(get_ipython_dir()) / "profile_ophyd_pvcam"


def _sync_profile() -> Path:
    target = user_profile_dir()
    (target / "startup").mkdir(parents=True, exist_ok=True)
    for source in sorted((profile_dir() / "startup").glob("*.py")):
        destination = target / "startup" / source.name
        text = source.read_text()
        if not destination.exists() or destination.read_text() != text:
            destination.write_text(text)
    return target


def register(commands: Any, add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add the ``shell`` command to ``commands``."""
    parser = commands.add_parser("shell", help="start IPython with the ophyd-pvcam beamline profile")
    parser.add_argument("--data-dir", metavar="DIR",
                        help="catalog and frame folder (default: $PVCAM_DATA_DIR or the per-user data dir)")
    parser.add_argument("ipython_args", nargs=argparse.REMAINDER,
                        help="further arguments passed to IPython (after --)")
    add_common(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, ipython_args: Optional[list[str]] = None) -> int:
    """Start IPython on the profile folder, forwarding extra arguments."""
    from IPython import start_ipython

    if args.data_dir:
        os.environ["PVCAM_DATA_DIR"] = str(Path(args.data_dir).expanduser().resolve())
    extra = list(ipython_args if ipython_args is not None else args.ipython_args)
    if extra and extra[0] == "--":
        extra = extra[1:]
    start_ipython(argv=[f"--profile-dir={_sync_profile()}", *extra])
    return 0
