"""The in-process ophyd-async detector: a StandardDetector on our engine and HDF5 writer."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, Optional

from ophyd_async.core import (
    AsyncStatus,
    PathProvider,
    StandardDetector,
    TriggerInfo,
    WatchableAsyncStatus,
    WatcherUpdate,
    soft_signal_r_and_setter,
)

from ophyd_pvcam.engine.camera import Camera, resolve_library

from ._acquire_logic import PVCAMAcquireLogic
from ._arm_plan import ArmPlan
from ._data_logic import PVCAMDataLogic
from ._path_provider import PVCAMPathProvider
from ._trigger_logic import PVCAMTriggerLogic

# How often a waiting trigger/complete looks for its arm's failure [s].
_RECHECK_S = 0.05


class PVCAMAsyncDetector(StandardDetector):
    """A PVCAM camera as an ophyd-async ``StandardDetector``, in this process (no EPICS).

    The camera is an engine :class:`~ophyd_pvcam.engine.camera.camera.Camera`; frames
    go through engine streams (every frame delivered or its loss counted,
    stalls diagnosed) into :class:`~ophyd_pvcam.storage.hdf5.HDF5FrameWriter`
    files, the same files :class:`~ophyd_pvcam.device.detector.PVCAMDetector`
    writes. ``prepare(TriggerInfo)`` takes every field: ``trigger`` (internal,
    or the camera's edge/level modes), ``livetime``, ``deadtime``,
    ``number_of_events`` (0: until stopped), ``collections_per_event`` and
    ``exposure_timeout`` (mapped onto the engine's stall detection: a camera
    that stops sending frames fails ``trigger``/``complete`` within it, with
    the engine's :class:`~ophyd_pvcam.engine.errors.StallError` and its
    diagnosis).

    Parameters
    ----------
    camera_name : str, optional
        SDK camera name (the first camera when omitted). Ignored when
        ``camera`` is given.
    path_provider : ophyd_async.core.PathProvider, optional
        Where files go; default :class:`PVCAMPathProvider` (the storage
        default directory, UUID names).
    camera : Camera, optional
        An open camera to use instead of opening one (the detector then does
        not close it).
    library : PVCAMLibrary, path-like, "sim" or None
        See :func:`ophyd_pvcam.engine.camera.discovery.resolve_library`.
    name : str
        Device name: the data key of the frames.
    edge_mode, level_mode : str
        The camera's exposure modes for ``EXTERNAL_EDGE`` / ``EXTERNAL_LEVEL``.
    stall_count : int
        Consecutive stall timeouts (each ``0.8 * exposure_timeout / stall_count``) that
        make a stall.
    compression : {None, "blosc", "bitshuffle-lz4"}
        HDF5 compression of the frames.

    Attributes
    ----------
    camera : Camera
    exposure_time, exposure_mode, camera_model : SignalR
        Configuration read back after each ``prepare`` (``read_configuration``).

    Examples
    --------
    >>> det = PVCAMAsyncDetector(library="sim", name="cam")   # doctest: +SKIP
    >>> RE(bp.count([det], 3))                                  # doctest: +SKIP
    """

    def __init__(self, camera_name: Optional[str] = None,
                 path_provider: Optional[PathProvider] = None, *,
                 camera: Optional[Camera] = None, library: Any = None, name: str = "",
                 edge_mode: str = "edge_rising", level_mode: str = "level",
                 stall_count: int = 3, compression: Optional[str] = None) -> None:
        self._owns_camera = camera is None
        self.camera = camera if camera is not None else \
            Camera.open(camera_name, library=resolve_library(library))
        self.arm_plan = ArmPlan()
        self.path_provider = path_provider or PVCAMPathProvider()
        self.trigger_logic = PVCAMTriggerLogic(self.camera, self.arm_plan, edge_mode=edge_mode,
                                               level_mode=level_mode)
        self.acquire_logic = PVCAMAcquireLogic(self.camera, self.arm_plan,
                                               stall_count=stall_count)
        self.data_logic = PVCAMDataLogic(self.camera, self.arm_plan, self.path_provider,
                                         compression=compression,
                                         attributes=self._file_attributes)
        self.exposure_time, self._set_exposure_time = soft_signal_r_and_setter(
            float, self.camera.exposure_time, units="s")
        self.exposure_mode, self._set_exposure_mode = soft_signal_r_and_setter(
            str, self.camera.exposure_mode)
        self.camera_model, _ = soft_signal_r_and_setter(str, self.camera.info.product)
        self.add_detector_logics(self.trigger_logic, self.acquire_logic, self.data_logic)
        self.add_config_signals(self.exposure_time, self.exposure_mode, self.camera_model)
        super().__init__(name=name)

    def close(self) -> None:
        """Close the camera (when this detector opened it); idempotent."""
        if self._owns_camera and not self.camera.closed:
            self.camera.close()

    def _file_attributes(self) -> dict[str, Any]:
        camera = self.camera
        info = camera.info
        return {"camera_name": camera.name, "product": info.product, "serial": info.serial,
                "chip": info.chip, "firmware": info.firmware,
                "exposure_time": camera.exposure_time, "trigger_mode": camera.exposure_mode,
                "roi": [camera.roi.x, camera.roi.y, camera.roi.width, camera.roi.height],
                "binning": list(camera.binning)}

    @AsyncStatus.wrap
    async def prepare(self, value: TriggerInfo) -> None:
        """Set the camera up for ``value`` (see the class docstring), then open the file.

        Parameters
        ----------
        value : ophyd_async.core.TriggerInfo
        """
        self.arm_plan.exposure_timeout = value.exposure_timeout
        await super().prepare(value)
        self._set_exposure_time(self.camera.exposure_time)
        self._set_exposure_mode(self.camera.exposure_mode)

    @WatchableAsyncStatus.wrap
    async def trigger(self) -> AsyncIterator[WatcherUpdate[int]]:
        """Take one event's frames; fails with the stream's error (e.g. a stall)."""
        # The arm starts inside the status: a failure already there is an
        # earlier arm's, not this one's.
        earlier = self.acquire_logic.failure
        async for update in self._until_stream_fails(super().trigger(), ignore=earlier):
            yield update

    @WatchableAsyncStatus.wrap
    async def complete(self) -> AsyncIterator[WatcherUpdate[int]]:
        """Wait for the kicked-off frames; fails with the stream's error (e.g. a stall)."""
        async for update in self._until_stream_fails(super().complete()):
            yield update

    async def _until_stream_fails(self, status: WatchableAsyncStatus,
                                  ignore: Optional[asyncio.Future] = None
                                  ) -> AsyncIterator[WatcherUpdate[int]]:
        """Relay ``status``'s progress; raise the stream's error as soon as it fails.

        ``ignore`` is an earlier arm's failure future, which does not count.
        """
        updates: asyncio.Queue = asyncio.Queue()
        status.watch(lambda **fields: updates.put_nowait(WatcherUpdate(**fields)))
        getter = asyncio.ensure_future(updates.get())
        try:
            while True:
                failure = self.acquire_logic.failure
                if failure is ignore:
                    failure = None   # this arm's stream has not started yet
                waiters = {status.task, getter} | ({failure} if failure is not None else set())
                # Re-check every _RECHECK_S: the arm's failure future appears
                # once its stream started, after this wait began.
                done, _ = await asyncio.wait(waiters, timeout=_RECHECK_S,
                                             return_when=asyncio.FIRST_COMPLETED)
                if failure is not None and failure.done() and not status.task.done():
                    status.task.cancel()
                    raise failure.exception()
                if getter in done:
                    yield getter.result()
                    getter = asyncio.ensure_future(updates.get())
                    continue
                if status.task in done:
                    while not updates.empty():
                        yield updates.get_nowait()
                    await status
                    return
        finally:
            getter.cancel()
