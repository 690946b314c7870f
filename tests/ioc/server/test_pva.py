"""Frames over PVAccess: ``ophyd-pvcam ioc --pva`` publishes NTNDArray at ``<prefix>pva1:Image``."""
from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest
from ophyd import EpicsSignal, EpicsSignalRO
from p4p.client.thread import Context

pytestmark = pytest.mark.ioc

PREFIX = "PVP:"
WIDTH, HEIGHT = 96, 40
FRAMES = 12


def put(name: str, value: Any) -> None:
    signal = EpicsSignal(PREFIX + name, name=name.replace(":", "_"))
    signal.wait_for_connection(timeout=30)
    signal.put(value, wait=True, timeout=60)
    signal.destroy()


class Received:
    """NTNDArray updates of a p4p monitor, in arrival order."""

    def __init__(self) -> None:
        self.frames: list[Any] = []
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)

    def __call__(self, value: Any) -> None:
        with self.arrived:
            self.frames.append(value)
            self.arrived.notify_all()

    def wait_for(self, predicate: Any, timeout: float = 30.0) -> bool:
        with self.arrived:
            return self.arrived.wait_for(lambda: predicate(self.frames), timeout)


@pytest.fixture
def pva_ioc(start_ioc: Any) -> Any:
    return start_ioc(PREFIX, extra_args=["--pva"])


def test_a_p4p_client_receives_every_frame_as_ntndarray_with_shape_dtype_and_unique_id(pva_ioc):
    for name, value in (("cam1:MinX", 0), ("cam1:MinY", 0), ("cam1:SizeX", WIDTH),
                        ("cam1:SizeY", HEIGHT), ("cam1:AcquireTime", 0.02),
                        ("cam1:ImageMode", "Multiple"), ("cam1:NumImages", FRAMES)):
        put(name, value)
    received = Received()
    with Context("pva") as context:
        subscription = context.monitor(PREFIX + "pva1:Image", received)
        try:
            # The first update is the image before any frame (1 x 1).
            assert received.wait_for(lambda frames: len(frames) >= 1)
            put("cam1:Acquire", 1)   # completes when the acquisition ended
            counter = EpicsSignalRO(PREFIX + "cam1:ArrayCounter_RBV", name="counter")
            counter.wait_for_connection(timeout=30)
            last = counter.get()
            ok = received.wait_for(lambda frames: frames[-1].raw.uniqueId == last)
            assert ok, (last, [(f.shape, f.raw.uniqueId) for f in received.frames])
        finally:
            subscription.close()
    frames = [f for f in received.frames if f.raw.uniqueId > 0]
    ids = [int(f.raw.uniqueId) for f in frames]
    assert ids == sorted(set(ids))              # increasing, none repeated
    assert ids[-1] == last == FRAMES
    # 50 frames/s into an idle client on loopback: the slot never had to skip.
    assert ids == list(range(1, FRAMES + 1))
    for frame in frames:
        assert frame.shape == (HEIGHT, WIDTH)
        assert frame.dtype == np.uint16
        assert [d.size for d in frame.raw.dimension] == [WIDTH, HEIGHT]
        # The simulator stamps the frame number in pixel 0.
        assert int(frame[0, 0]) == int(frame.raw.uniqueId)


def test_pva_is_opt_in(ioc, pva_ioc):
    assert any("PVA: serving PVP:pva1:Image" in line for line in pva_ioc.lines)
    assert not any("PVA: serving" in line for line in ioc.lines)
