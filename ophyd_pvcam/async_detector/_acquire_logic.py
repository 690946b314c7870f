"""The controller: arms the camera with an engine stream, and reports how the stream ended."""
from __future__ import annotations

import asyncio
import logging
from typing import Optional

from ophyd_async.core import DetectorAcquireLogic

from ophyd_pvcam.engine.camera import Camera
from ophyd_pvcam.engine.errors import AcquisitionError
from ophyd_pvcam.engine.stream import Stream, StreamState

from ._arm_plan import ArmPlan

logger = logging.getLogger(__name__)

# Share of TriggerInfo.exposure_timeout the engine's stall detection may use:
# the stall must be declared (with its diagnosis) before ophyd-async's own
# timeout on the frame counter fires with a bare TimeoutError.
_STALL_SHARE = 0.8


class PVCAMAcquireLogic(DetectorAcquireLogic):
    """Start, watch and stop engine :class:`~ophyd_pvcam.engine.stream.stream.Stream` runs.

    Each ``start_acquiring`` starts one stream of ``plan.frames`` frames (or
    until stopped) whose frames go to ``plan.sink``. ``exposure_timeout`` is
    mapped onto the engine's stall detection: ``stall_count`` consecutive
    waits of ``0.8 * exposure_timeout / stall_count`` without a frame end the
    stream in ``STALLED`` with the engine's
    :class:`~ophyd_pvcam.engine.errors.StallError` and its diagnosis, which
    :attr:`failure` then holds (the detector fails ``trigger``/``complete``
    with it).

    Parameters
    ----------
    camera : Camera
    plan : ArmPlan
    stall_count : int
        Consecutive stall timeouts that make a stall.
    buffer_mode : {"auto", "overwrite", "no_overwrite"}
        Circular-buffer mode of the streams.
    queue_size : int
        Frames between the engine's frame loop and the file writer.
    """

    def __init__(self, camera: Camera, plan: ArmPlan, *, stall_count: int = 3,
                 buffer_mode: str = "auto", queue_size: int = 64) -> None:
        self.camera = camera
        self.plan = plan
        self.stall_count = stall_count
        self.buffer_mode = buffer_mode
        self.queue_size = queue_size
        self._stream: Optional[Stream] = None
        self._ended: Optional[asyncio.Future] = None
        self._failure: Optional[asyncio.Future] = None

    @property
    def stream(self) -> Optional[Stream]:
        """The stream of the current (or last) arm."""
        return self._stream

    @property
    def failure(self) -> Optional[asyncio.Future]:
        """Resolves with the error that ended the current arm's stream; never on success."""
        return self._failure

    def stall_timeout(self) -> float:
        """Seconds without a frame that count as one stall timeout (from ``exposure_timeout``)."""
        return _STALL_SHARE * self.plan.exposure_timeout / self.stall_count

    async def start_acquiring(self) -> None:
        """Start a stream of ``plan.frames`` frames into ``plan.sink``.

        Raises
        ------
        AcquisitionError
            When no file is open to take the frames.
        PVCAMError
            When the camera cannot start.
        """
        if self.plan.sink is None:
            raise AcquisitionError("no file is open for the frames (prepare first)", None,
                                   "start_acquiring")
        await self._join_previous()
        loop = asyncio.get_running_loop()
        ended: asyncio.Future = loop.create_future()
        failure: asyncio.Future = loop.create_future()
        stream = Stream(self.camera, buffer_mode=self.buffer_mode,
                        stall_timeout=self.stall_timeout(), stall_count=self.stall_count,
                        queue_size=self.queue_size, max_frames=self.plan.frames)
        stream.add_consumer(self.plan.sink)

        on_end = self.plan.on_end

        def on_done(done: Stream) -> None:   # a stream thread: hand over to the loop
            error = done.error
            if on_end is not None:
                try:
                    on_end()
                except Exception as exc:  # noqa: BLE001 - handed to the loop as the failure
                    logger.error("%s: finishing the file failed: %s", self.camera.name, exc)
                    error = error or exc
            loop.call_soon_threadsafe(self._ended_with, ended, failure, done.state, error)

        stream.add_done_callback(on_done)
        self._stream, self._ended, self._failure = stream, ended, failure
        await asyncio.to_thread(stream.start)

    @staticmethod
    def _ended_with(ended: asyncio.Future, failure: asyncio.Future, state: StreamState,
                    error: Optional[BaseException]) -> None:
        if error is not None and not failure.done():
            failure.set_exception(error)
            # Retrieved by whoever awaits it; mark it seen so an unawaited
            # failure (a stream stopped by unstage) is not logged as lost.
            failure.exception()
        if not ended.done():
            ended.set_result(state)

    async def wait_for_idle(self) -> None:
        """Wait until the stream ended and every frame reached the sink; raise its error."""
        if self._ended is None:
            return
        await self._ended
        if self._failure is not None and self._failure.done():
            raise self._failure.exception()

    async def ensure_stopped(self) -> None:
        """Stop the stream (if any) and join its threads."""
        stream = self._stream
        if stream is not None:
            await asyncio.to_thread(stream.stop)

    async def _join_previous(self) -> None:
        stream = self._stream
        if stream is not None and stream.state is StreamState.RUNNING:
            await asyncio.to_thread(stream.stop)
