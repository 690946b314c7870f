"""bluesky plans that keep every captured frame, even when a stream fails, and name every loss.

:func:`fly_stream` is the fly scan for stream-mode detectors (StreamResource /
StreamDatum documents), which ``bluesky.plans.fly`` cannot drive: that plan
neither stages the detectors nor declares their stream.

:func:`report_losses` puts the frames lost into the stop document's
``reason`` (``"cam: 12 frame(s) lost"``), whatever the loss policy: with
``on_loss="fail"`` the run fails (``exit_status="fail"``, the reason naming
:class:`~ophyd_pvcam.engine.errors.FramesLostError`), with ``"record"`` it
ends ``"success"`` and the reason says what was lost. :func:`fly_stream`
applies it; for other plans, add it to the RunEngine's preprocessors (the
profile does): ``RE.preprocessors.append(report_losses)``.

:func:`preflight` is the plan stub of the pre-flight budget: it returns a
detector's :class:`~ophyd_pvcam.engine.preflight.Prediction`.

The signatures are evaluated at definition time (no ``from __future__ import
annotations``) and type detectors with bluesky's protocols: bluesky-queueserver
reads them to validate a queued plan and to turn a device name (``"cam"``)
into the device, which it does only for parameters typed as devices.
"""
import logging
from typing import Any, Callable, Generator, Iterable, Mapping, Optional, Sequence

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
from bluesky.protocols import Flyable, Readable
from bluesky.utils import Msg

from ophyd_pvcam.engine.errors import ValidationError

__all__ = ["fly_stream", "SUMMARY_STREAM", "report_losses", "loss_reason", "preflight"]

logger = logging.getLogger(__name__)

#: Name of the one-event stream recording each detector's frame counts at the end.
SUMMARY_STREAM = "summary"


def fly_stream(detectors: Sequence[Flyable], num_frames: Optional[int] = None, *,
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
    records each detector's ``frames_written`` and ``frames_lost``, and the
    stop document's ``reason`` names any loss (:func:`report_losses`). Each
    detector's pre-flight prediction is logged (``ophyd_pvcam.plans``, INFO)
    before it is kicked off; the detector itself warns about or refuses a
    predicted loss (its ``on_predicted_loss``).
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
        for det in detectors:
            if callable(getattr(det, "preflight", None)):
                # Logged only: the detector warns about (or refuses) a predicted loss itself.
                yield from preflight(det, num_frames if num_frames is not None
                                     else det.stream_length.get(), announce=logger.info)
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

    return (yield from report_losses(inner(), detectors))


def _summary(detectors: Sequence[Any]) -> Generator[Msg, Any, None]:
    """Record each detector's frame counts in the ``summary`` stream (one event)."""
    yield from bps.create(name=SUMMARY_STREAM)
    for det in detectors:
        for signal in (getattr(det, "frames_written", None), getattr(det, "frames_lost", None)):
            if signal is not None:
                yield from bps.read(signal)
    yield from bps.save()


def loss_reason(detectors: Iterable[Any]) -> str:
    """The loss of each detector as one text: ``"cam: 12 frame(s) lost"`` (``""`` when none).

    Parameters
    ----------
    detectors : iterable of devices
        Devices with a ``frames_lost`` signal (others are skipped).

    Returns
    -------
    str
    """
    parts = []
    for det in detectors:
        signal = getattr(det, "frames_lost", None)
        lost = int(signal.get() or 0) if signal is not None else 0
        if lost:
            written = getattr(det, "frames_written", None)
            kept = f", {int(written.get())} written" if written is not None else ""
            parts.append(f"{det.name}: {lost} frame(s) lost{kept}")
    return "; ".join(parts)


# Messages whose object is a detector taking part in the run.
_DETECTOR_COMMANDS = frozenset({"stage", "trigger", "kickoff", "complete", "collect"})


def report_losses(plan: Iterable[Msg], detectors: Optional[Sequence[Any]] = None
                  ) -> Generator[Msg, Any, Any]:
    """Name the frames lost in the reason of every stop document of ``plan``.

    ``close_run`` messages get ``reason`` = their own reason (a failure's)
    followed by :func:`loss_reason`; the exit status is left as it is (a
    run with ``on_loss="record"`` that lost frames still ends "success",
    its reason saying what was lost). Applying it twice (the profile's
    preprocessor around :func:`fly_stream`) names each loss once.

    Parameters
    ----------
    plan : iterable of Msg
    detectors : sequence, optional
        Devices to report; default: every device with a ``frames_lost``
        signal that the plan stages, triggers, kicks off or collects.

    Returns
    -------
    object
        The plan's return value.

    Examples
    --------
    >>> RE(report_losses(bp.count([cam], 10)))             # doctest: +SKIP
    >>> RE.preprocessors.append(report_losses)             # every plan  # doctest: +SKIP
    """
    seen: dict[int, Any] = {id(det): det for det in detectors or ()}
    discover = detectors is None

    def mutate(msg: Msg) -> Msg:
        if discover and msg.command in _DETECTOR_COMMANDS and msg.obj is not None:
            if getattr(msg.obj, "frames_lost", None) is not None:
                seen.setdefault(id(msg.obj), msg.obj)
        if msg.command != "close_run":
            return msg
        losses = loss_reason(seen.values())
        reason = msg.kwargs.get("reason") or ""
        if not losses or losses in reason:
            return msg
        kwargs = dict(msg.kwargs, reason=f"{reason}; {losses}" if reason else losses)
        return msg._replace(kwargs=kwargs)

    return (yield from bpp.msg_mutator(plan, mutate))


def preflight(detector: Readable, num_frames: Optional[int] = None, *,
              announce: Optional[Callable[[str], Any]] = None
              ) -> Generator[Msg, Any, Any]:
    """Plan stub: the pre-flight prediction of ``num_frames`` frames of ``detector``.

    Parameters
    ----------
    detector : PVCAMDetector
    num_frames : int, optional
        Frames of the run; None (or 0) for an open-ended one.
    announce : callable, optional
        Called with ``"<name>: <prediction>"`` (e.g. ``print``); default: log
        it (INFO when loss-free, WARNING when not).

    Returns
    -------
    Prediction
        ``prediction.fits``, ``.loss_free_frames``, ``.remedy``, ...

    Examples
    --------
    >>> prediction = yield from preflight(cam, 1000)       # doctest: +SKIP
    """
    yield from bps.null()
    prediction = detector.preflight(num_frames or None)
    text = f"{detector.name}: {prediction}"
    if announce is not None:
        announce(text)
    else:
        logger.log(logging.INFO if prediction.fits else logging.WARNING, "%s", text)
    return prediction
