"""Fixtures for the native pump tests: an SDK acquisition the pump drains.

The pump is tested on its own here, without the Stream: :class:`Acquisition`
does the few SDK calls around it (setup, start, stop) that the stream's run
control does in production.
"""
from __future__ import annotations

from typing import Callable, Iterator, Optional

import pytest

from ophyd_pvcam.engine.stream.buffers import CircularBuffer
from ophyd_pvcam.engine.camera.camera import Camera
from ophyd_pvcam.engine.stream.native import FramePump
from ophyd_pvcam.sdk import constants as C


class Acquisition:
    """A continuous acquisition on ``camera`` with a pump attached (not started)."""

    def __init__(self, camera: Camera, *, sdk_frames: int, ring_frames: int,
                 mode: int = int(C.CIRC_OVERWRITE), **pump_options) -> None:
        self.camera = camera
        self.lib = camera.library
        self.handle = camera.handle
        self.settings = camera.acquisition_settings()
        self.mode = mode
        self.frame_bytes = self.lib.exp_setup_cont(self.handle, self.settings.regions,
                                                   self.settings.exp_mode,
                                                   self.settings.exposure, mode)
        self.sdk_ring = CircularBuffer(self.frame_bytes, sdk_frames)
        self.pump = FramePump(self.lib, self.handle, sdk_buffer=self.sdk_ring.address,
                              sdk_frames=sdk_frames, frame_bytes=self.frame_bytes,
                              frame_shape=self.settings.frame_shape, dtype=self.settings.dtype,
                              ring_frames=ring_frames,
                              overwrite_mode=mode == int(C.CIRC_OVERWRITE), **pump_options)
        if self.pump.inplace:  # views of frames in place keep the SDK buffer alive
            self.pump.keep(self.sdk_ring)
        self.running = False

    def start(self) -> None:
        if self.pump.use_callbacks:
            self.pump.register_eof()
        self.lib.exp_start_cont(self.handle, self.sdk_ring.address, self.sdk_ring.nbytes)
        self.running = True
        self.pump.start()

    def stop_sdk(self) -> int:
        """Pause the pump, stop the SDK; return the SDK's latest FrameNr."""
        self.pump.pause()
        self.lib.exp_stop_cont(self.handle, int(C.CCS_HALT))
        latest = self.lib.exp_check_cont_status_ex(self.handle)[3].frame_number
        self.pump.sdk_stopped(latest)
        self.running = False
        return latest

    def restart(self, offset: int, lost: int = 0) -> None:
        """Stop (pump paused), new epoch, setup and start again, resume."""
        self.pump.pause()
        self.lib.exp_stop_cont(self.handle, int(C.CCS_HALT))
        self.pump.sdk_stopped(self.lib.exp_check_cont_status_ex(self.handle)[3].frame_number)
        self.pump.new_epoch(offset, lost)
        self.lib.exp_setup_cont(self.handle, self.settings.regions, self.settings.exp_mode,
                                self.settings.exposure, self.mode)
        self.lib.exp_start_cont(self.handle, self.sdk_ring.address, self.sdk_ring.nbytes)
        self.pump.resume()

    def close(self) -> None:
        if self.running:
            self.stop_sdk()
        self.pump.finish()
        self.pump.deregister_eof()
        self.pump.close()
        if not self.pump.inplace:  # in place the pump's views own it (freed with the last)
            self.sdk_ring.close()


@pytest.fixture
def camera(library) -> Iterator[Camera]:
    """A simulated Prime BSI, 64 x 32 ROI, 1 ms exposure (~900 fps)."""
    with Camera.open(library=library) as cam:
        cam.exposure_time = 0.001
        cam.roi = (0, 0, 64, 32)
        yield cam


@pytest.fixture
def acquisition(camera) -> Iterator[Callable[..., Acquisition]]:
    """Factory of :class:`Acquisition` objects, closed at the end of the test."""
    made: list[Acquisition] = []

    def make(sdk_frames: int = 64, ring_frames: int = 256,
             mode: Optional[int] = None, **options) -> Acquisition:
        acq = Acquisition(camera, sdk_frames=sdk_frames, ring_frames=ring_frames,
                          mode=int(C.CIRC_OVERWRITE) if mode is None else mode, **options)
        made.append(acq)
        return acq

    yield make
    for acq in made:
        acq.close()
