"""bluesky plans that keep every captured frame, even when a stream fails.

:func:`fly_stream` is the fly scan for stream-mode detectors (StreamResource /
StreamDatum documents), which ``bluesky.plans.fly`` cannot drive: that plan
neither stages the detectors nor declares their stream.
"""
from __future__ import annotations

import logging
from typing import Any, Generator, Mapping, Optional, Sequence

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
from bluesky.utils import Msg

from ophyd_pvcam.engine.errors import ValidationError

__all__ = ["fly_stream", "SUMMARY_STREAM"]

logger = logging.getLogger(__name__)

#: Name of the one-event stream recording each detector's frame counts at the end.
SUMMARY_STREAM = "summary"


def fly_stream(detectors: Sequence[Any], num_frames: Optional[int] = None, *,
               md: Optional[Mapping[str, Any]] = None,
               flush_period: float = 0.5) -> Generator[Msg, Any, str]:
    """Stream frames from detectors into one run, registering them as they are written.

    Stages the detectors, opens a run, declares the ``primary`` stream
    (``collect=True``), kicks the detectors off and collects their asset
    documents every ``flush_period`` seconds until they complete. If a stream
    fails (a stall, a lost camera, a pause turned abort), every frame written
    before the failure is still collected and registered, then the error is
    re-raised (bluesky reports it as ``FailedStatus`` with the engine's error,
    e.g. ``StallError``, as ``__cause__``). At the end a ``summary`` stream
    records each detector's ``frames_written`` and ``frames_lost``.
    ``RE.halt()`` ends it quietly: nothing more is collected or recorded
    (halt skips cleanup), the detectors are unstaged and their file closed.

    Parameters
    ----------
    detectors : sequence of PVCAMDetector
        Stream-capable detectors (``kickoff``/``complete``/``collect_asset_docs``).
    num_frames : int, optional
        Frames per detector for this run (``prepare(num_frames)``); default:
        each detector's ``stream_length`` (0 stops at once at ``complete``).
    md : mapping, optional
        Extra run metadata.
    flush_period : float
        Seconds between collections while the detectors acquire.

    Returns
    -------
    str
        The run uid.

    Examples
    --------
    >>> RE(fly_stream([cam], 1000))       # doctest: +SKIP
    """
    detectors = list(detectors)
    if not detectors:
        raise ValidationError("fly_stream needs at least one detector", None, "fly_stream")
    _md = {
        "plan_name": "fly_stream",
        "detectors": [det.name for det in detectors],
        "num_points": num_frames,
        "plan_args": {"detectors": list(map(repr, detectors)), "num_frames": num_frames,
                      "flush_period": flush_period},
        "hints": {},
    }
    _md.update(md or {})

    @bpp.stage_decorator(detectors)
    @bpp.run_decorator(md=_md)
    def inner() -> Generator[Msg, Any, None]:
        if num_frames is not None:
            for det in detectors:
                yield from bps.prepare(det, num_frames, wait=True)
        yield from bps.declare_stream(*detectors, name="primary", collect=True)
        halted = False
        try:
            yield from bps.kickoff_all(*detectors, wait=True)
            # A pause rewinds to here: the detectors stop acquiring while paused
            # and acquire their remaining frames after resume.
            yield from bps.checkpoint()
            yield from bps.collect_while_completing(detectors, detectors,
                                                    flush_period=flush_period,
                                                    stream_name="primary")
        except GeneratorExit:
            # RE.halt() (PlanHalt) or the plan being closed: a generator may not
            # yield any more. Unstaging (the RunEngine's cleanup of staged devices)
            # stops the detectors and keeps their frames in the file.
            halted = True
            raise
        except BaseException:
            # Register every frame captured before the failure, then re-raise:
            # stop the detectors still acquiring (an abort), which puts their
            # last frames into the file, and collect once more.
            try:
                for det in detectors:
                    yield from bps.stop(det)
                yield from bps.collect(*detectors, name="primary")
            except Exception:  # noqa: BLE001 - the original failure is what must propagate
                logger.exception("fly_stream: the final collect after a failure failed")
            raise
        finally:
            if not halted:
                yield from _summary(detectors)

    return (yield from inner())


def _summary(detectors: Sequence[Any]) -> Generator[Msg, Any, None]:
    """Record each detector's frame counts in the ``summary`` stream (one event)."""
    yield from bps.create(name=SUMMARY_STREAM)
    for det in detectors:
        for signal in (getattr(det, "frames_written", None), getattr(det, "frames_lost", None)):
            if signal is not None:
                yield from bps.read(signal)
    yield from bps.save()
