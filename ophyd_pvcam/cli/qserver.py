"""``ophyd-pvcam qserver init DIR``: lay out the beamline profile for bluesky-queueserver.

``start-re-manager`` runs a profile's startup files in a worker process. Its
pure-Python worker takes any startup directory (``--startup-dir``), but the
IPython-kernel worker (``--use-ipython-kernel=ON``) accepts only an IPython
profile, ``<ipython dir>/profile_<name>/startup``, and by default the manager
writes ``existing_plans_and_devices.yaml`` next to the startup files, which
must not be inside the installed package. ``init`` copies the shipped profile
(startup files and ``user_group_permissions.yaml``) into such a layout under
``DIR``, which both workers accept, and prints the command lines that start
the manager on it with every socket on 127.0.0.1.
"""
from __future__ import annotations

import argparse
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

__all__ = ["PROFILE_NAME", "PERMISSIONS_FILE", "EXISTING_PLANS_FILE", "QserverLayout",
           "init_layout", "manager_command", "register"]

#: Name of the IPython profile ``init`` lays out (``profile_<name>``).
PROFILE_NAME = "ophyd_pvcam"
#: The permissions file queueserver looks for in the startup directory.
PERMISSIONS_FILE = "user_group_permissions.yaml"
#: The file where the manager records the plans and devices it found.
EXISTING_PLANS_FILE = "existing_plans_and_devices.yaml"

# The manager's defaults (tcp://*:60615, tcp://*:60625) listen on every interface.
_DEFAULT_CONTROL_PORT = 60615
_DEFAULT_INFO_PORT = 60625


@dataclass(frozen=True)
class QserverLayout:
    """Where ``init`` put the profile for bluesky-queueserver.

    Attributes
    ----------
    ipython_dir : pathlib.Path
        The folder given to ``init``: pass it as ``--ipython-dir``.
    profile_name : str
        Pass it as ``--startup-profile``.
    startup_dir : pathlib.Path
        ``<ipython_dir>/profile_<profile_name>/startup``: the startup files and
        the permissions file (``--startup-dir`` for the Python worker).
    existing_plans_file : pathlib.Path
        Where the manager writes the plans and devices it found
        (``--existing-plans-devices``).
    """

    ipython_dir: Path
    profile_name: str
    startup_dir: Path
    existing_plans_file: Path


def _shipped_profile_files() -> list[Path]:
    from ophyd_pvcam.cli.shell import profile_dir

    startup = profile_dir() / "startup"
    files = sorted(startup.glob("*.py")) + [startup / PERMISSIONS_FILE]
    missing = [str(path) for path in files if not path.is_file()]
    if missing:
        raise FileNotFoundError(f"the shipped profile is incomplete, missing: {', '.join(missing)}")
    return files


def init_layout(directory: "str | Path", *, profile_name: str = PROFILE_NAME,
                overwrite: bool = False) -> QserverLayout:
    """Copy the shipped profile into ``<directory>/profile_<profile_name>/startup``.

    Parameters
    ----------
    directory : str or path-like
        The IPython folder to lay out (created if missing).
    profile_name : str, optional
        The profile's name (letters, digits, ``_`` and ``-``).
    overwrite : bool, optional
        Replace files that exist and differ from the shipped ones (a user's
        edits); by default they are an error and nothing is written.

    Returns
    -------
    QserverLayout
        The paths to give ``start-re-manager``.

    Raises
    ------
    ValidationError
        If ``profile_name`` is not a plain name.
    FileExistsError
        If a file differs from the shipped one and ``overwrite`` is false.
    OSError
        If the folder cannot be written.
    """
    from ophyd_pvcam.engine.errors import ValidationError

    if not profile_name or not all(ch.isalnum() or ch in "_-" for ch in profile_name):
        raise ValidationError(f"profile name must be letters, digits, '_' or '-', "
                              f"not {profile_name!r}", call="qserver init")
    ipython_dir = Path(directory).expanduser().resolve()
    startup = ipython_dir / f"profile_{profile_name}" / "startup"
    sources = _shipped_profile_files()
    changed = [startup / src.name for src in sources
               if (startup / src.name).exists()
               and (startup / src.name).read_bytes() != src.read_bytes()]
    if changed and not overwrite:
        raise FileExistsError(f"{len(changed)} file(s) differ from the shipped profile (edited?): "
                              f"{', '.join(str(p) for p in changed)}; pass --force to replace them")
    startup.mkdir(parents=True, exist_ok=True)
    for source in sources:
        target = startup / source.name
        if not target.exists() or target.read_bytes() != source.read_bytes():
            target.write_bytes(source.read_bytes())
    return QserverLayout(ipython_dir, profile_name, startup, startup / EXISTING_PLANS_FILE)


def manager_command(layout: QserverLayout, *, ipython_kernel: bool = False,
                    redis: str = "127.0.0.1:6379", control_port: int = _DEFAULT_CONTROL_PORT,
                    info_port: int = _DEFAULT_INFO_PORT) -> list[str]:
    """Return the ``start-re-manager`` command line for ``layout``, every socket on 127.0.0.1.

    Parameters
    ----------
    layout : QserverLayout
        From :func:`init_layout`.
    ipython_kernel : bool, optional
        Use the IPython-kernel worker (``--use-ipython-kernel=ON``, the
        profile found by name); else the Python worker on the startup folder.
    redis : str, optional
        ``host:port`` of the Redis server holding the queue.
    control_port, info_port : int, optional
        Ports of the manager's control (requests) and info (console) sockets.

    Returns
    -------
    list of str
        The arguments, program first.
    """
    command = ["start-re-manager",
               f"--zmq-control-addr=tcp://127.0.0.1:{control_port}",
               f"--zmq-info-addr=tcp://127.0.0.1:{info_port}",
               "--zmq-publish-console=ON",
               f"--redis-addr={redis}",
               f"--existing-plans-devices={layout.existing_plans_file}",
               f"--user-group-permissions={layout.startup_dir / PERMISSIONS_FILE}"]
    if ipython_kernel:
        command += ["--use-ipython-kernel=ON", "--ipython-kernel-ip=localhost",
                    f"--ipython-dir={layout.ipython_dir}",
                    f"--startup-profile={layout.profile_name}"]
    else:
        command += [f"--startup-dir={layout.startup_dir}"]
    return command


def register(commands: Any, add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add the ``qserver`` command group to ``commands``."""
    qserver = commands.add_parser("qserver", help="run the beamline profile under bluesky-queueserver")
    qserver_commands = qserver.add_subparsers(dest="qserver_command", metavar="SUBCOMMAND")
    qserver_commands.required = True
    init = qserver_commands.add_parser(
        "init", help="lay out the profile in DIR/profile_ophyd_pvcam/startup for start-re-manager",
        description="Copy the shipped profile (startup files and user_group_permissions.yaml) "
                    "into DIR/profile_<name>/startup, a layout both queueserver workers accept, "
                    "and print the start-re-manager commands for it (sockets on 127.0.0.1).")
    init.add_argument("directory", metavar="DIR", help="IPython folder to lay out (--ipython-dir)")
    init.add_argument("--profile-name", default=PROFILE_NAME, metavar="NAME",
                      help=f"profile name, i.e. DIR/profile_NAME (default: {PROFILE_NAME})")
    init.add_argument("--force", action="store_true",
                      help="replace files that differ from the shipped ones")
    add_common(init)
    init.set_defaults(handler=run_init)


def run_init(args: argparse.Namespace) -> int:
    """Lay out the profile and print how to start the manager on it."""
    layout = init_layout(args.directory, profile_name=args.profile_name, overwrite=args.force)
    print(f"profile for bluesky-queueserver in {layout.startup_dir}")
    print("start Redis on 127.0.0.1, e.g.: redis-server --bind 127.0.0.1 --port 6379")
    print("then the manager with the Python worker:")
    print("  " + shlex.join(manager_command(layout)))
    print("or with the IPython-kernel worker:")
    print("  " + shlex.join(manager_command(layout, ipython_kernel=True)))
    return 0
