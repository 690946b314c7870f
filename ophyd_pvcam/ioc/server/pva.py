"""Full frames over PVAccess: ``<prefix>pva1:Image`` as NTNDArray (areaDetector's NDPluginPva).

Channel Access carries the decimated ``image1:`` preview; PVAccess carries
whole frames, as areaDetector's NDPluginPva does, to ophyd-async's ``pva``
backend, Phoebus/CS-Studio image widgets, ``pvget``/``pvmonitor`` and other
NTNDArray viewers. Opt-in: ``ophyd-pvcam ioc --pva`` (p4p must be installed:
``pip install 'ophyd-pvcam[pva]'``).

Each frame is published with ``uniqueId`` = the camera's ``ArrayCounter``
(as NDPluginPva copies NDArray's ``uniqueId``), ``dimension`` = (width,
height) and the frame's pixel type (``ushortValue`` for 16-bit frames).

Delivery policy: the engine's delivery thread only leaves each frame in a
one-frame slot; a named publisher thread per camera posts the newest frame.
A viewer slower than the camera therefore gets the newest frames, never a
growing backlog, and never slows the file writer; frames the publisher did
not post are counted (:attr:`PVAImagePublisher.skipped`).

Network: like the CA server, loopback only unless told otherwise. Unless the
caller set them, :func:`configure_pva_network` sets ``EPICS_PVAS_INTF_ADDR_LIST``
and ``EPICS_PVAS_BEACON_ADDR_LIST`` to the served interfaces and
``EPICS_PVAS_AUTO_BEACON_ADDR_LIST=NO`` before the server starts.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any, Optional, Sequence

import numpy as np

from ophyd_pvcam.engine.errors import ValidationError
from ophyd_pvcam.engine.frame import Frame

__all__ = ["PVAImagePublisher", "PVAImageServer", "IMAGE_SUFFIX", "configure_pva_network"]

logger = logging.getLogger(__name__)

#: Record name of the image, after the camera's prefix (NDPluginPva's convention).
IMAGE_SUFFIX = "pva1:Image"
# How long the publisher waits for a frame before re-checking for a stop [s].
_WAIT_S = 0.5


def configure_pva_network(interfaces: Sequence[str]) -> dict[str, str]:
    """Keep the PVA server on the served interfaces unless the environment says otherwise.

    Parameters
    ----------
    interfaces : sequence of str
        Addresses the servers bind to (default 127.0.0.1).

    Returns
    -------
    dict
        The variables set in ``os.environ`` by this call.
    """
    changed: dict[str, str] = {}
    wildcard = any(i in ("0.0.0.0", "") for i in interfaces)
    if "EPICS_PVAS_INTF_ADDR_LIST" not in os.environ:
        changed["EPICS_PVAS_INTF_ADDR_LIST"] = " ".join(interfaces)
    if not wildcard and "EPICS_PVAS_BEACON_ADDR_LIST" not in os.environ and \
            "EPICS_PVAS_AUTO_BEACON_ADDR_LIST" not in os.environ:
        changed.update({"EPICS_PVAS_BEACON_ADDR_LIST": " ".join(interfaces),
                        "EPICS_PVAS_AUTO_BEACON_ADDR_LIST": "NO"})
    os.environ.update(changed)
    return changed


def _p4p() -> Any:
    try:
        import p4p.nt
        import p4p.server
        import p4p.server.thread
    except ImportError as exc:
        raise ValidationError("--pva needs p4p: pip install 'ophyd-pvcam[pva]'", None,
                              "pva") from exc
    return p4p


class PVAImagePublisher:
    """One camera's ``pva1:Image``: a one-frame slot and the thread that posts it.

    Parameters
    ----------
    name : str
        The full PV name, e.g. ``"PVCAM:pva1:Image"``.
    camera : str
        Camera name (thread name and messages).
    """

    def __init__(self, name: str, camera: str = "camera") -> None:
        p4p = _p4p()
        self.name = name
        self.camera = camera
        self._nt = p4p.nt.NTNDArray()
        # No nt= on the PV: posts are complete NTNDArray Values (with uniqueId),
        # which SharedPV would otherwise try to wrap a second time.
        self.pv = p4p.server.thread.SharedPV(
            initial=self._nt.wrap(np.zeros((1, 1), dtype=np.uint16)))
        self._condition = threading.Condition()
        self._pending: Optional[tuple[Frame, int]] = None
        self._stopping = False
        self._thread: Optional[threading.Thread] = None
        #: Frames posted.
        self.posted = 0
        #: Frames replaced in the slot before the publisher posted them.
        self.skipped = 0

    def offer(self, frame: Frame, unique_id: int) -> None:
        """Leave ``frame`` for the publisher (engine delivery thread; never blocks on PVA).

        Parameters
        ----------
        frame : Frame
            Its ``data`` must not be reused by the caller afterwards.
        unique_id : int
            The camera's ``ArrayCounter`` for this frame.
        """
        with self._condition:
            if self._pending is not None:
                self.skipped += 1
            self._pending = (frame, int(unique_id))
            self._condition.notify()

    def start(self) -> None:
        """Start the publisher thread."""
        self._thread = threading.Thread(target=self._run, name=f"pvcam-pva-{self.camera}",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop and join the publisher thread (idempotent)."""
        with self._condition:
            self._stopping = True
            self._condition.notify()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        while True:
            with self._condition:
                while self._pending is None and not self._stopping:
                    self._condition.wait(_WAIT_S)
                if self._stopping:
                    return
                frame, unique_id = self._pending
                self._pending = None
            try:
                self.pv.post(self.value(frame, unique_id))
            except Exception as exc:  # noqa: BLE001 - a viewer problem must not end the IOC
                logger.error("%s: posting frame %d failed: %s", self.name, unique_id, exc)
                continue
            self.posted += 1

    def value(self, frame: Frame, unique_id: int) -> Any:
        """The NTNDArray ``Value`` of one frame.

        Parameters
        ----------
        frame : Frame
        unique_id : int

        Returns
        -------
        p4p.Value
        """
        now = time.time()
        value = self._nt.wrap(frame.data, timestamp=now)
        value["uniqueId"] = unique_id
        seconds = int(now)
        value["dataTimeStamp.secondsPastEpoch"] = seconds
        value["dataTimeStamp.nanoseconds"] = int((now - seconds) * 1e9)
        return value


class PVAImageServer:
    """The PVAccess server of every camera's ``pva1:Image``.

    Parameters
    ----------
    cameras : sequence of (str, str)
        ``(record prefix, camera name)`` per camera.
    interfaces : sequence of str
        Addresses to serve (see :func:`configure_pva_network`).

    Attributes
    ----------
    publishers : dict
        ``{prefix: PVAImagePublisher}``.
    """

    def __init__(self, cameras: Sequence[tuple[str, str]],
                 interfaces: Sequence[str] = ("127.0.0.1",)) -> None:
        p4p = _p4p()
        configure_pva_network(interfaces)
        self.publishers = {prefix: PVAImagePublisher(prefix + IMAGE_SUFFIX, camera)
                           for prefix, camera in cameras}
        self._server = p4p.server.Server(providers=[
            {publisher.name: publisher.pv for publisher in self.publishers.values()}])
        for publisher in self.publishers.values():
            publisher.start()
        logger.info("PVA: serving %s", ", ".join(p.name for p in self.publishers.values()))

    def close(self) -> None:
        """Stop the publishers and the server."""
        for publisher in self.publishers.values():
            publisher.stop()
        self._server.stop()
