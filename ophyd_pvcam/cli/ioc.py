"""``ophyd-pvcam ioc``: serve cameras over EPICS Channel Access (see :mod:`ophyd_pvcam.ioc`)."""
from __future__ import annotations

import argparse
from typing import Any, Callable


def register(commands: Any, add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add the ``ioc`` command to ``commands``."""
    parser = commands.add_parser(
        "ioc", help="serve PVCAM cameras over EPICS with areaDetector record names",
        description="Run a caproto Channel Access server for one or more cameras. "
                    "Binds to loopback unless --interfaces says otherwise.")
    parser.add_argument("--prefix", required=True, help="PV prefix, e.g. 'XF:31ID1-ES{PVCAM}'")
    parser.add_argument("--camera", action="append", dest="cameras", metavar="NAME",
                        help="camera to serve, NAME or NAME=PREFIX (repeat for several; default: every camera)")
    parser.add_argument("--write-root", metavar="DIR",
                        help="folder under which clients may write HDF5 files (default: the frames folder of the data dir)")
    parser.add_argument("--interfaces", nargs="+", default=["127.0.0.1"], metavar="ADDR",
                        help="addresses to bind and beacon on (default: 127.0.0.1)")
    parser.add_argument("--preview-size", type=int, default=256, metavar="PIXELS",
                        help="longest side of the decimated preview image (default 256)")
    parser.add_argument("--preview-rate", type=float, default=5.0, metavar="HZ",
                        help="preview updates per second at most (default 5)")
    parser.add_argument("--pva", action="store_true",
                        help="also publish full frames as NTNDArray at <prefix>pva1:Image over "
                             "PVAccess, on the same interfaces (needs p4p)")
    add_common(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the server until interrupted."""
    from ophyd_pvcam.ioc.server import run_server

    run_server(args.prefix, args.cameras, args.write_root, interfaces=tuple(args.interfaces),
               preview_size=args.preview_size, preview_rate=args.preview_rate, pva=args.pva)
    return 0
