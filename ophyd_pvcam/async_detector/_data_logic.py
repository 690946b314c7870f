"""The writer: owns the HDF5 files and describes them as StreamResource/StreamDatum."""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np
from ophyd_async.core import (
    DetectorDataLogic,
    PathProvider,
    StreamableDataProvider,
    StreamResourceDataProvider,
    StreamResourceInfo,
    soft_signal_r_and_setter,
)

from ophyd_pvcam.engine.camera import Camera
from ophyd_pvcam.storage.hdf5 import HDF5FrameWriter

from ._arm_plan import ArmPlan

logger = logging.getLogger(__name__)

#: Dataset of the frames in every file (as the other faces write it).
FRAME_DATASET = "/entry/data/data"
# How often the frame counter follows the writer [s].
_PROGRESS_PERIOD = 0.02
# Longest wait for the writer when a file closes [s].
_CLOSE_TIMEOUT = 60.0


class PVCAMDataLogic(DetectorDataLogic):
    """ophyd-async data logic on :class:`~ophyd_pvcam.storage.hdf5.HDF5FrameWriter`.

    ``prepare_unbounded`` opens a new file (named by the path provider) for
    the frame shape and pixel type the camera is set to, and returns a
    :class:`ophyd_async.core.StreamResourceDataProvider` whose
    ``collections_written_signal`` counts frames *flushed* to it: every
    StreamDatum points only at frames a reader (Tiled) can see. ``stop``
    closes the file.

    Parameters
    ----------
    camera : Camera
    plan : ArmPlan
        Its ``sink`` and ``on_end`` are pointed at the open file.
    path_provider : ophyd_async.core.PathProvider
        Directory and file name (without ``.h5``) per file.
    compression : {None, "blosc", "bitshuffle-lz4"}
        See :class:`~ophyd_pvcam.storage.hdf5.HDF5FrameWriter`.
    flush_interval : float
        Longest time [s] a frame waits unflushed while frames stream in.
    attributes : callable, optional
        ``attributes() -> mapping`` stored in ``/entry/instrument/pvcam``.
    """

    def __init__(self, camera: Camera, plan: ArmPlan, path_provider: PathProvider, *,
                 compression: Optional[str] = None, flush_interval: float = 0.1,
                 attributes: Optional[Callable[[], dict[str, Any]]] = None) -> None:
        self.camera = camera
        self.plan = plan
        self.path_provider = path_provider
        self.compression = compression
        self.flush_interval = flush_interval
        self.attributes = attributes
        self._writer: Optional[HDF5FrameWriter] = None
        self._progress: Optional[asyncio.Task] = None
        self._last_path: Optional[Path] = None

    @property
    def path(self) -> Optional[Path]:
        """The open (or last) file."""
        return self._last_path

    async def prepare_unbounded(self, datakey_name: str) -> StreamableDataProvider:
        """Open a new file for the camera's current frames and describe it.

        Parameters
        ----------
        datakey_name : str
            The detector's data key (its name).

        Returns
        -------
        ophyd_async.core.StreamResourceDataProvider
        """
        await self.stop()
        path_info = self.path_provider(datakey_name)
        path = Path(path_info.directory_path) / f"{path_info.filename}.h5"
        settings = self.camera.acquisition_settings()
        attributes = self.attributes() if self.attributes is not None else None
        writer = HDF5FrameWriter(path, settings.frame_shape, settings.dtype,
                                 compression=self.compression,
                                 flush_interval=self.flush_interval, attributes=attributes)
        await asyncio.to_thread(writer.start)
        self._writer, self._last_path = writer, path
        written, set_written = soft_signal_r_and_setter(int, 0,
                                                        name=f"{datakey_name}-frames_written")
        self._progress = asyncio.create_task(self._follow(writer, set_written),
                                             name=f"pvcam-progress-{datakey_name}")
        self.plan.sink = writer.submit
        self.plan.on_end = self._flush_on_stream_end
        height, width = settings.frame_shape
        resource = StreamResourceInfo(
            data_key=datakey_name, shape=(height, width), chunk_shape=(1, height, width),
            dtype_numpy=np.dtype(settings.dtype).str, parameters={"dataset": FRAME_DATASET},
            source=f"PVCAM:{self.camera.name}")
        return StreamResourceDataProvider(uri=path.as_uri(), resources=[resource],
                                          mimetype="application/x-hdf5",
                                          collections_written_signal=written)

    def _flush_on_stream_end(self) -> None:
        writer = self._writer
        if writer is not None and writer.running:
            writer.flush(_CLOSE_TIMEOUT)

    async def _follow(self, writer: HDF5FrameWriter, set_written: Callable[[int], None]) -> None:
        # Poll rather than call back per frame: the count changes once per
        # flush (a batch), and soft signals must be set on the event loop.
        last = 0
        while True:
            count = writer.frames_written
            if count != last:
                set_written(count)
                last = count
            if not writer.running:
                return
            await asyncio.sleep(_PROGRESS_PERIOD)

    async def stop(self) -> None:
        """Close the open file (every frame flushed) and stop following it."""
        writer, self._writer = self._writer, None
        self.plan.sink = None
        self.plan.on_end = None
        if writer is not None:
            frames = await asyncio.to_thread(writer.close, _CLOSE_TIMEOUT)
            logger.info("%s: closed %s with %d frames", self.camera.name, writer.path, frames)
        progress, self._progress = self._progress, None
        if progress is not None:
            await asyncio.wait_for(progress, _PROGRESS_PERIOD * 50)

    def get_hinted_fields(self, datakey_name: str) -> Sequence[str]:
        """The image is the detector's hinted field."""
        return [datakey_name]
