"""The caproto asyncio server: one :class:`CameraIOC` per camera, one process for all.

Start it with ``python -m ophyd_pvcam.ioc``, ``ophyd-pvcam ioc`` or
:func:`run_server`::

    python -m ophyd_pvcam.ioc --prefix PVCAM: --write-root /data/frames

Each camera gets ``<prefix>cam1:``, ``<prefix>HDF1:`` and ``<prefix>image1:``
(see :mod:`~ophyd_pvcam.ioc.server.cam`, :mod:`~ophyd_pvcam.ioc.server.hdf`, :mod:`~ophyd_pvcam.ioc.server.image`). With several cameras the
prefixes are ``<prefix>{i}:`` (i = 1, 2, ...) unless given per camera as
``NAME=PREFIX``, or the prefix contains ``{i}``.

Network: the server binds only to ``interfaces`` (default 127.0.0.1) and
sends beacons only there: unless the caller set ``EPICS_CAS_BEACON_ADDR_LIST``
/ ``EPICS_CAS_AUTO_BEACON_ADDR_LIST``, they are set to the interfaces and
``NO`` (caproto would otherwise beacon to 255.255.255.255). The TCP/UDP
port is ``EPICS_CAS_SERVER_PORT`` (or ``EPICS_CA_SERVER_PORT``, default 5064).
Once every socket is bound the server prints one line,
``IOC READY <prefix> [<prefix> ...]``, on stdout.
"""
from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any, Optional, Sequence

from caproto.asyncio.server import Context
from caproto.server import SubGroup

from ophyd_pvcam import sdk
from ophyd_pvcam.engine.camera import camera_names, resolve_library
from ophyd_pvcam.engine.camera.session import session
from ophyd_pvcam.storage.paths import default_root

from .cam import CamGroup
from .core.driver import CameraDriver
from .hdf import HDF5Group
from .image import image_group_class
from .stats import StatsGroup
from .records import DriverGroup

__all__ = ["CameraIOC", "build_iocs", "camera_prefixes", "run_server", "serve", "main",
           "start_pva",
           "READY_LINE", "configure_network"]

logger = logging.getLogger(__name__)

#: First word of the readiness line printed once the sockets are bound.
READY_LINE = "IOC READY"


def camera_ioc_class(preview_size: int) -> type:
    """Build the top-level group class (the preview size fixes ``ArrayData``'s length).

    Parameters
    ----------
    preview_size : int

    Returns
    -------
    type
        A subclass of :class:`CameraIOC`.
    """
    return type("CameraIOC", (CameraIOC,), {
        "image": SubGroup(image_group_class(preview_size), prefix="image1:"),
        "__module__": __name__,
    })


class CameraIOC(DriverGroup):
    """All records of one camera: ``cam1:``, ``HDF1:``, ``Stats1:`` and ``image1:``.

    Parameters
    ----------
    prefix : str
        Record name prefix, e.g. ``"PVCAM:"``.
    driver : CameraDriver
        The open camera.
    **kwargs
        Passed to :class:`caproto.server.PVGroup`.

    Attributes
    ----------
    settings_executor : concurrent.futures.ThreadPoolExecutor
        One thread (``pvcam-ioc-<camera>-settings``) for SDK calls of puts.
    acquisition_executor : concurrent.futures.ThreadPoolExecutor
        One thread (``pvcam-ioc-<camera>-acquire``) that runs acquisitions.
    """

    cam = SubGroup(CamGroup, prefix="cam1:")
    hdf = SubGroup(HDF5Group, prefix="HDF1:")
    stats = SubGroup(StatsGroup, prefix="Stats1:")

    def __init__(self, prefix: str, *, driver: CameraDriver, **kwargs: Any):
        self._driver = driver
        self.settings_executor = concurrent.futures.ThreadPoolExecutor(
            1, thread_name_prefix=f"pvcam-ioc-{driver.name}-settings")
        self.acquisition_executor = concurrent.futures.ThreadPoolExecutor(
            1, thread_name_prefix=f"pvcam-ioc-{driver.name}-acquire")
        super().__init__(prefix, **kwargs)

    @property
    def driver(self) -> CameraDriver:
        """The camera's driver."""
        return self._driver

    async def initialize(self) -> None:
        """Load the camera's values, menus and limits into the records.

        Records the camera cannot answer are removed from :attr:`pvdb`.
        Call before serving (no client can see half-initialised records).
        """
        cam: Any = self.cam
        initial = await self.call(cam.initial_values)
        for name, labels in initial["menus"].items():
            record = cam.pvdb.get(cam.prefix + name)
            if record is not None and labels:
                await record.write_metadata(enum_strings=list(labels))
        await cam.apply_values(initial["values"])
        for name in initial["missing"]:
            self.pvdb.pop(cam.prefix + name, None)
        if not self.driver.simulated:
            for name in ("SimFaults", "SimFaults_RBV"):
                self.pvdb.pop(cam.prefix + name, None)
        await self.hdf.initialize()
        await self.image.initialize()
        await cam.publish_status()
        logger.info("%s: serving %s (%d records)", self.prefix, self.driver.name, len(self.pvdb))

    async def refresh_plugins(self) -> None:
        """Publish the HDF5 capture state and the plugins' array counters."""
        await self.hdf.refresh()
        await self.image.refresh_array()

    def close(self) -> None:
        """Stop acquiring, close the file and the camera, join the executor threads."""
        try:
            self.driver.close()
        finally:
            self.settings_executor.shutdown(wait=True)
            self.acquisition_executor.shutdown(wait=True)


def camera_prefixes(prefix: str, camera_specs: Sequence[str]) -> list[tuple[str, str]]:
    """Pair camera names with record prefixes.

    Parameters
    ----------
    prefix : str
        Common prefix. With one camera it is used as is; with several,
        ``{i}`` in it is replaced by the 1-based camera number, otherwise
        ``<prefix><i>:`` is used.
    camera_specs : sequence of str
        Camera names, each optionally ``NAME=PREFIX`` to choose its prefix.

    Returns
    -------
    list of (str, str)
        ``(camera name, prefix)`` pairs.

    Raises
    ------
    ValueError
        When two cameras would share a prefix or a name.
    """
    pairs = []
    for index, spec in enumerate(camera_specs, start=1):
        name, _, explicit = str(spec).partition("=")
        if explicit:
            chosen = explicit
        elif "{i}" in prefix:
            chosen = prefix.replace("{i}", str(index))
        elif len(camera_specs) == 1:
            chosen = prefix
        else:
            chosen = f"{prefix}{index}:"
        pairs.append((name.strip(), chosen))
    names = [n for n, _ in pairs]
    prefixes = [p for _, p in pairs]
    if len(set(names)) != len(names) or len(set(prefixes)) != len(prefixes):
        raise ValueError(f"cameras and prefixes must be unique, got {pairs}")
    return pairs


def configure_network(interfaces: Sequence[str]) -> dict[str, str]:
    """Keep beacons on the served interfaces unless the environment says otherwise.

    Parameters
    ----------
    interfaces : sequence of str
        Addresses the server binds to.

    Returns
    -------
    dict
        The variables set in ``os.environ`` by this call.
    """
    changed = {}
    if "EPICS_CAS_BEACON_ADDR_LIST" not in os.environ and \
            "EPICS_CAS_AUTO_BEACON_ADDR_LIST" not in os.environ and \
            not any(i in ("0.0.0.0", "") for i in interfaces):
        changed = {"EPICS_CAS_BEACON_ADDR_LIST": " ".join(interfaces),
                   "EPICS_CAS_AUTO_BEACON_ADDR_LIST": "NO"}
    if "EPICS_CAS_INTF_ADDR_LIST" not in os.environ:
        changed["EPICS_CAS_INTF_ADDR_LIST"] = " ".join(interfaces)
    os.environ.update(changed)
    return changed


def build_iocs(prefix: str, camera_names_: Optional[Sequence[str]], write_root: Any, *,
               library: Any = None, preview_size: int = 256,
               preview_rate: float = 5.0) -> list[CameraIOC]:
    """Open the cameras and build their record groups.

    Parameters
    ----------
    prefix : str
        See :func:`camera_prefixes`.
    camera_names_ : sequence of str
        SDK camera names (optionally ``NAME=PREFIX``); empty: every camera found.
    write_root : path-like or None
        Directory all files go under (each camera's ``FilePath`` must stay
        inside it); None: :func:`ophyd_pvcam.storage.paths.default_root`.
    library : PVCAMLibrary, path-like or "sim", optional
        The SDK binding, a library path, or ``"sim"`` for the bundled
        simulator. Default: :func:`ophyd_pvcam.sdk.load`'s choice
        (``PVCAM_LIBRARY``).
    preview_size : int
        Largest side of the preview.
    preview_rate : float
        Largest preview rate [Hz].

    Returns
    -------
    list of CameraIOC
        Opened; call :meth:`CameraIOC.close` on each when done.
    """
    lib = resolve_library(library)
    root = Path(write_root).expanduser() if write_root is not None else default_root()
    specs = list(camera_names_ or [])
    if not specs:
        with session(lib):
            specs = camera_names(lib)
    ioc_class = camera_ioc_class(preview_size)
    iocs: list[CameraIOC] = []
    try:
        for name, camera_prefix in camera_prefixes(prefix, specs):
            driver = CameraDriver(name, lib, write_root=root,
                                  preview_size=preview_size, preview_rate=preview_rate)
            driver.open()
            iocs.append(ioc_class(camera_prefix, driver=driver))
    except BaseException:
        for ioc in iocs:
            ioc.close()
        raise
    return iocs




async def serve(iocs: Sequence[CameraIOC], interfaces: Sequence[str],
                ready: Optional[Any] = None) -> None:
    """Initialise the records and serve them until cancelled.

    Parameters
    ----------
    iocs : sequence of CameraIOC
    interfaces : sequence of str
        Addresses to bind.
    ready : callable, optional
        Called (no arguments) once the sockets are bound; default prints
        the readiness line.
    """
    pvdb: dict[str, Any] = {}
    for ioc in iocs:
        await ioc.initialize()
        pvdb.update(ioc.pvdb)
    context = Context(pvdb, list(interfaces))

    async def on_bound(async_lib: Any) -> None:
        if ready is not None:
            ready()
        else:
            # The readiness line is the process's interface to whoever started it.
            print(f"{READY_LINE} {' '.join(ioc.prefix for ioc in iocs)}", flush=True)

    await context.run(startup_hook=on_bound)


def run_server(prefix: str, camera_names: Optional[Sequence[str]], write_root: Any,
               interfaces: Sequence[str] = ("127.0.0.1",), library: Any = None,
               preview_size: int = 256, preview_rate: float = 5.0, pva: bool = False) -> None:
    """Serve cameras until SIGINT/SIGTERM, then close everything.

    Parameters
    ----------
    prefix : str
        Record prefix (see :func:`camera_prefixes`).
    camera_names : sequence of str
        SDK camera names (optionally ``NAME=PREFIX``); empty: every camera.
    write_root : path-like or None
        Directory all frame files go under (None: the storage default).
    interfaces : sequence of str
        Addresses to bind (and beacon to).
    library : PVCAMLibrary, path-like or "sim", optional
        The SDK to use (see :func:`build_iocs`).
    preview_size : int
        Largest side of the ``image1:`` preview.
    preview_rate : float
        Largest preview rate [Hz].
    pva : bool
        Also publish every frame as NTNDArray at ``<prefix>pva1:Image`` over
        PVAccess (:mod:`~ophyd_pvcam.ioc.server.pva`; needs p4p), on the same interfaces.
    """
    configure_network(interfaces)
    _quiet_loopback_beacons()
    iocs = build_iocs(prefix, camera_names, write_root, library=library,
                      preview_size=preview_size, preview_rate=preview_rate)
    pva_server = None
    try:
        if pva:
            pva_server = start_pva(iocs, interfaces)
        asyncio.run(_serve_until_signalled(iocs, interfaces))
    finally:
        if pva_server is not None:
            pva_server.close()
        errors = []
        for ioc in iocs:
            try:
                ioc.close()
            except Exception as exc:  # noqa: BLE001 - close the others, then report
                errors.append(exc)
                logger.error("closing %s failed: %s", ioc.prefix, exc)
        if errors:
            raise errors[0]


def start_pva(iocs: Sequence[CameraIOC], interfaces: Sequence[str]) -> Any:
    """Serve every camera's frames at ``<prefix>pva1:Image`` (NTNDArray over PVAccess).

    Parameters
    ----------
    iocs : sequence of CameraIOC
    interfaces : sequence of str

    Returns
    -------
    PVAImageServer
        Close it when done.
    """
    from .pva import PVAImageServer   # p4p is optional: imported only with --pva

    server = PVAImageServer([(ioc.prefix, ioc.driver.name) for ioc in iocs], interfaces)
    for ioc in iocs:
        ioc.driver.frame_listeners.append(server.publishers[ioc.prefix].offer)
    return server


async def _serve_until_signalled(iocs: Sequence[CameraIOC], interfaces: Sequence[str]) -> None:
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(serve(iocs, interfaces))
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        logger.info("server stopped")


class _LoopbackBeaconFilter(logging.Filter):
    """Drop caproto's "Failed to send beacon" tracebacks when nobody listens (harmless).

    Beacons are UDP datagrams; with no CA repeater on the beacon port the
    kernel answers "connection refused", which caproto logs with a full
    traceback every beacon period. Other beacon errors pass.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Drop connection-refused beacon tracebacks; pass every other record."""
        if record.getMessage().startswith("Failed to send beacon") and record.exc_info:
            cause = record.exc_info[1]
            while cause is not None:
                if isinstance(cause, ConnectionRefusedError):
                    return False
                cause = cause.__cause__ or cause.__context__
        return True


def _quiet_loopback_beacons() -> None:
    for name in ("caproto.ctx", "caproto"):
        logging.getLogger(name).addFilter(_LoopbackBeaconFilter())


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line of ``python -m ophyd_pvcam.ioc``.

    Parameters
    ----------
    argv : sequence of str, optional

    Returns
    -------
    argparse.Namespace
    """
    parser = argparse.ArgumentParser(
        prog="python -m ophyd_pvcam.ioc",
        description="Serve PVCAM cameras over EPICS Channel Access with areaDetector names.")
    parser.add_argument("--prefix", default="PVCAM:",
                        help="record prefix; with several cameras <prefix><i>: or {i} in it")
    parser.add_argument("--camera", action="append", default=[], metavar="NAME[=PREFIX]",
                        help="SDK camera name (repeat for several; default: every camera)")
    parser.add_argument("--write-root", required=True,
                        help="directory all frame files go under (FilePath must stay inside)")
    parser.add_argument("--interface", action="append", default=[], metavar="ADDRESS",
                        help="address to bind (repeat; default 127.0.0.1)")
    parser.add_argument("--simulated", action="store_true",
                        help="use the simulated camera library")
    parser.add_argument("--library", help="path of libpvcam.so.2 to load")
    parser.add_argument("--preview-size", type=int, default=256,
                        help="largest side of the image1: preview in pixels (default 256)")
    parser.add_argument("--preview-rate", type=float, default=5.0,
                        help="largest preview rate in Hz (default 5)")
    parser.add_argument("--pva", action="store_true",
                        help="also publish full frames as NTNDArray at <prefix>pva1:Image "
                             "over PVAccess (needs p4p)")
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``python -m ophyd_pvcam.ioc`` and ``ophyd-pvcam ioc``.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status.
    """
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    library = sdk.load(args.library, simulated=args.simulated) \
        if (args.library or args.simulated) else None
    run_server(args.prefix, args.camera, args.write_root,
               interfaces=tuple(args.interface) or ("127.0.0.1",), library=library,
               preview_size=args.preview_size, preview_rate=args.preview_rate, pva=args.pva)
    return 0
