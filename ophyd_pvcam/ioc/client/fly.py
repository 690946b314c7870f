"""Fly scans of :class:`~ophyd_pvcam.ioc.client.detector.RemotePVCAMDetector` (kickoff/complete/collect).

:class:`FlyMixin` holds what the server changes in the fly half of
:class:`~ophyd_pvcam.device.assets.AssetDetectorMixin` (which provides
``prepare`` and ``kickoff``): the kickoff status is done once the server
reports Acquire, ``complete`` ends an unbounded fly by putting ``Acquire`` = 0 and
returns the fly's progress status, ``collect`` yields legacy events, and
``pause``/``resume`` stop and restart the server's acquisition of the
remaining frames in the same file.
"""
from __future__ import annotations

import threading
from typing import Any, Iterator, Optional

from ophyd.status import DeviceStatus, Status

from ophyd_pvcam.device.status import FrameProgressStatus

from .records import end_status as _end

__all__ = ["FlyMixin"]


class FlyMixin:
    """kickoff's hooks, complete/collect/pause/resume over the server (mixed into the detector)."""

    def describe_collect(self) -> dict[str, Any]:
        """Describe the fly-scan data (as PVCAMDetector's).

        Returns
        -------
        dict
        """
        if self._armed:
            self._declared = True
        keys = {self.image.name: self._image_key(1)}
        return keys if self.asset_docs.get() == "stream" else {"primary": keys}

    def _new_kickoff_status(self) -> DeviceStatus:
        """Kickoff fails unless the server reports Acquire within ``put_timeout``."""
        return DeviceStatus(self, timeout=self.put_timeout)

    def _finish_kickoff(self, kickoff_status: DeviceStatus, fly_status: Status) -> None:
        """Kickoff is done when the server reports Acquire (or the fly already ended)."""
        settling = threading.Lock()
        settled: list[bool] = []

        def settle(error: Optional[BaseException] = None) -> None:
            # Called from the CA monitor thread and from the fly's callbacks;
            # ophyd marks a status done only after set_finished() returned.
            with settling:
                if settled or kickoff_status.done:
                    return
                settled.append(True)
                if error is not None:
                    kickoff_status.set_exception(error)
                else:
                    kickoff_status.set_finished()

        def acquiring(value: Any = None, **kwargs: Any) -> None:
            if value in (1, "Acquire"):
                settle()

        def fly_ended(status: Status) -> None:
            settle(None if status.success else status.exception())

        token = self.cam.acquire_rbv.subscribe(acquiring, run=True)
        kickoff_status.add_callback(lambda status: self.cam.acquire_rbv.unsubscribe(token))
        fly_status.add_callback(fly_ended)

    def complete(self) -> FrameProgressStatus:
        """Finish the fly; done when its frames are in the server's file.

        With ``stream_length`` 0 this stops the server's acquisition.

        Returns
        -------
        FrameProgressStatus
        """
        run = self._flying_acquisition()
        if run.target is None and not run.done:
            self.cam.acquire.put(0)
        return run.status

    def collect(self) -> Iterator[dict[str, Any]]:
        """Yield one event per newly documented frame (legacy mode).

        Yields
        ------
        dict
        """
        key = self.image.name
        for point, datum_id in self._assets.pending_events():
            stamp = self._assets.frame_time(point)
            yield {"time": stamp, "data": {key: datum_id}, "timestamps": {key: stamp},
                   "filled": {key: False}}

    def pause(self) -> None:
        """RunEngine pause: a fly stops acquiring until :meth:`resume` (same file)."""
        run = self._run
        if self._mode == "fly" and run is not None and not run.done:
            run.paused = True
            self.cam.acquire.put(0)

    def resume(self) -> None:
        """RunEngine resume: a paused fly acquires its remaining frames."""
        run = self._run
        if self._mode != "fly" or run is None or not run.paused or run.done:
            return
        run.paused = False
        remaining = None
        if run.target:
            remaining = run.initial + run.target - self._assets.frames_written
            if remaining <= 0:
                _end(run.status, None)
                return
        try:
            self._configure(remaining)
            self._put_acquire(run)
        except Exception as exc:  # noqa: BLE001 - reported through the status
            _end(run.status, exc)
