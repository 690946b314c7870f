# Example plans. Each is an ordinary bluesky plan: RE(dark_frames(cam)).
# Device parameters are typed with bluesky's protocols: bluesky-queueserver turns
# a device name ("cam") into the device only for parameters typed as devices.
from typing import Optional, Sequence

import bluesky.plan_stubs as bps
import bluesky.plans as bp
from bluesky.protocols import Flyable, Movable, Readable

from ophyd_pvcam import plans as _pvcam_plans
from ophyd_pvcam.plans import preflight, report_losses  # noqa: F401 - offered at the prompt

# Every run's stop document names the frames its detectors lost (reason).
RE.preprocessors.append(report_losses)  # noqa: F821 - RE comes from 00-runengine.py


def count(detectors: Sequence[Readable], num: Optional[int] = 1, *args, **kwargs):
    """bluesky's ``count``, after printing each camera's pre-flight prediction (one trigger)."""
    for det in detectors:
        if hasattr(det, "preflight"):
            yield from preflight(det, det.frames_per_trigger.get(), announce=print)
    return (yield from bp.count(detectors, num, *args, **kwargs))


def fly_stream(detectors: Sequence[Flyable], num_frames: Optional[int] = None, **kwargs):
    """ophyd_pvcam.plans.fly_stream, after printing each camera's pre-flight prediction."""
    for det in detectors:
        frames = num_frames if num_frames is not None else det.stream_length.get()
        yield from preflight(det, frames, announce=print)
    return (yield from _pvcam_plans.fly_stream(detectors, num_frames, **kwargs))


def dark_frames(detector: Readable, num: int = 10, exposure: Optional[float] = None):
    """Take ``num`` frames (shutter closed by the user) tagged as darks."""
    md = {"purpose": "dark"}
    if exposure is not None:
        yield from bps.mv(detector.exposure_time, exposure)
    return (yield from bp.count([detector], num, md=md))


def exposure_series(detector: Readable, exposures: Sequence[float] = (0.001, 0.01, 0.1),
                    frames_per_point: int = 1):
    """One run stepping the exposure time through ``exposures``."""
    yield from bps.mv(detector.frames_per_trigger, frames_per_point)
    return (yield from bp.list_scan([detector], detector.exposure_time, list(exposures)))


def fly_with_motor(detector: Flyable, motor: Movable, start: float, stop: float,
                   num_frames: int, md: Optional[dict] = None):
    """Move ``motor`` from ``start`` to ``stop`` while streaming ``num_frames`` frames."""
    yield from bps.mv(motor, start)
    yield from bps.abs_set(motor, stop, group="fly-motor")
    uid = yield from fly_stream([detector], num_frames=num_frames, md=md)
    yield from bps.wait(group="fly-motor")
    return uid
