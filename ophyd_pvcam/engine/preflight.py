"""Pre-flight budget: will a run be loss-free, predicted from the settings before arming.

A camera produces ``frame_bytes / frame_period`` bytes per second. The sink
(the disk the file goes to) drains ``sink_rate x compression_ratio`` of them;
when it drains less, the difference piles up in host RAM, which holds
``ram_budget`` bytes (:func:`ophyd_pvcam.engine.budget.host_memory_budget`)
before the camera's ring is overwritten and frames are lost. The disk itself
holds ``free_disk x compression_ratio / frame_bytes`` frames. So the number
of frames a run captures without loss is::

    ram frames  = ram_budget / (frame_bytes - sink_rate x ratio x frame_period)
                  (unbounded when the sink keeps up)
    disk frames = free_disk x ratio / frame_bytes
    loss-free   = min(ram frames, disk frames)

:func:`predict` computes this, and when the requested run does not fit, the
remedies: the compression ratio needed, a narrower ROI (columns cost bytes
but not readout time on a rolling-shutter sensor, so the frame rate stays),
a lower frame rate, a larger RAM budget for a burst, or fewer frames. It is a
pure function of numbers: the device and the command line feed it the
camera's settings, the measured sink rate and the free disk space
(:mod:`ophyd_pvcam.storage.sink`).

The frame rate is the settings' estimate, exposure + readout
(:attr:`~ophyd_pvcam.engine.camera.settings.AcquisitionSettings.frame_period_s`),
the rate of a free-running camera; an external trigger can only be slower.
The host's CPU is not in the model: a pipeline that cannot keep up with the
camera loses frames even with a fast disk.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from ophyd_pvcam.engine.budget import ENV_VAR as MEMORY_BUDGET_ENV
from ophyd_pvcam.engine.budget import physical_memory
from ophyd_pvcam.engine.errors import ValidationError
from ophyd_pvcam.engine.camera import AcquisitionSettings

__all__ = ["Prediction", "predict", "format_bytes"]

# A burst remedy is offered only when the RAM it needs leaves this share of
# physical memory to everything else.
_MAX_BURST_SHARE = 0.8


def format_bytes(count: float) -> str:
    """Bytes as a short binary-prefixed text: ``8.0 MiB``, ``1.5 GiB``, ``512 B``.

    Parameters
    ----------
    count : float
        Bytes (a rate in bytes per second reads the same, with ``/s`` appended by the caller).

    Returns
    -------
    str
    """
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Prediction:
    """What a run will do to the frame path, predicted before it starts.

    ``str(prediction)`` is the message shown to the user, e.g.
    ``"predicted loss: loss-free for 344 frames / 7.4 s of the 1000 requested
    (2048x2048 uint16 at 46.5 fps = 372.0 MiB/s; sink 95.4 MiB/s; ...);
    remedy: compression of at least 2.9:1; or ...; or at most 344 frames"``.

    Attributes
    ----------
    frame_shape : tuple of int
        ``(height, width)`` of one frame.
    dtype : str
        Pixel type (``"uint16"``).
    frame_bytes : int
        Bytes of one frame.
    frame_rate_hz : float
        Frames per second the camera produces (its free-running estimate).
    bytes_per_s : float
        Bytes per second into the host: ``frame_bytes x frame_rate_hz``.
    sink_bytes_per_s : float
        Bytes per second the sink sustains (on-disk bytes, after compression).
    sink_source : str
        Where that rate comes from (``"PVCAM_SINK_RATE"``, ``"measured"``, ...).
    ram_budget_bytes : int
        Host memory that may hold frames waiting for the sink.
    disk_free_bytes : int or None
        Free space at the destination; None when unknown (not a limit).
    buffer_bytes : int
        What holds the backlog in front of the limit: the RAM budget, or a
        smaller buffer when the limit lies before the host's RAM (the SDK's
        ring when frames were overwritten in it: ``buffer_name``).
    buffer_name : str
        Name of that buffer in the message (``"RAM budget"``).
    compression_ratio : float
        Expected ratio of raw to stored bytes (1.0: uncompressed).
    num_frames : int or None
        Frames requested; None for an open-ended run.
    loss_free_frames : int or None
        Frames captured before the first predicted loss; None: no limit.
    fits : bool
        True when the requested run is predicted loss-free (an open-ended
        run: when the sink keeps up with the camera).
    limit : str or None
        What bounds ``loss_free_frames``: ``"sink"`` (the RAM budget fills
        because the sink is slower than the camera), ``"disk"`` (free
        space), or None.
    remedies : tuple of str
        Changes that would make the run fit (empty when it fits).
    """

    frame_shape: tuple[int, int]
    dtype: str
    frame_bytes: int
    frame_rate_hz: float
    bytes_per_s: float
    sink_bytes_per_s: float
    ram_budget_bytes: int
    disk_free_bytes: Optional[int]
    num_frames: Optional[int]
    loss_free_frames: Optional[int]
    fits: bool
    limit: Optional[str] = None
    remedies: tuple[str, ...] = field(default_factory=tuple)
    compression_ratio: float = 1.0
    sink_source: str = ""
    buffer_bytes: int = 0
    buffer_name: str = "RAM budget"

    @property
    def loss_free_seconds(self) -> Optional[float]:
        """Seconds of acquisition before the first predicted loss; None: no limit."""
        if self.loss_free_frames is None:
            return None
        return self.loss_free_frames / self.frame_rate_hz if self.frame_rate_hz > 0 else math.inf

    @property
    def remedy(self) -> str:
        """The remedies as one text (``""`` when the run fits)."""
        return "; or ".join(self.remedies)

    @property
    def frames_that_fit(self) -> Optional[int]:
        """Alias of :attr:`loss_free_frames`: frames that fit before a loss (None: any number)."""
        return self.loss_free_frames

    def loss_free_text(self) -> str:
        """``"loss-free for N frames / T s"`` (or ``"for any number of frames"``)."""
        if self.loss_free_frames is None:
            return "loss-free for any number of frames"
        until = " (then the disk is full)" if self.limit == "disk" else ""
        return (f"loss-free for {self.loss_free_frames} frames / "
                f"{_seconds(self.loss_free_seconds)}{until}")

    def __str__(self) -> str:
        height, width = self.frame_shape
        verdict = "predicted loss-free" if self.fits else "predicted loss"
        requested = (f"of the {self.num_frames} requested" if self.num_frames is not None
                     else "of an open-ended run")
        compression = (f", compressed {self.compression_ratio:g}:1"
                       if self.compression_ratio != 1.0 else "")
        source = f" ({self.sink_source})" if self.sink_source else ""
        disk = ("" if self.disk_free_bytes is None
                else f"; {format_bytes(self.disk_free_bytes)} free on disk")
        text = (f"{verdict}: {self.loss_free_text()} {requested} ({height}x{width} "
                f"{self.dtype} at {self.frame_rate_hz:.1f} fps = "
                f"{format_bytes(self.bytes_per_s)}/s{compression}; sink "
                f"{format_bytes(self.sink_bytes_per_s)}/s{source}; {self.buffer_name} "
                f"{format_bytes(self.buffer_bytes)}{disk})")
        if self.remedies:
            text += f"; remedy: {self.remedy}"
        return text


def _seconds(value: Optional[float]) -> str:
    if value is None or not math.isfinite(value):
        return "unlimited"
    return f"{value:.1f} s" if value < 3600 else f"{value / 3600:.1f} h"


def predict(settings: AcquisitionSettings, num_frames: Optional[int] = None, *,
            sink_bytes_per_s: float, ram_budget_bytes: int,
            disk_free_bytes: Optional[int] = None, compression_ratio: float = 1.0,
            sink_source: str = "", buffer_bytes: Optional[int] = None,
            buffer_name: str = "RAM budget") -> Prediction:
    """Predict whether ``num_frames`` frames with ``settings`` arrive without loss.

    Parameters
    ----------
    settings : AcquisitionSettings
        Frame shape, pixel type and frame period (exposure + readout).
    num_frames : int, optional
        Frames requested; None (or 0) for an open-ended run.
    sink_bytes_per_s : float
        Sustained write rate of the destination, bytes per second (> 0).
    ram_budget_bytes : int
        Host memory that may hold frames waiting for the sink.
    disk_free_bytes : int, optional
        Free space at the destination; None when unknown.
    compression_ratio : float
        Expected raw : stored ratio (>= 1 means smaller files; 1.0 uncompressed).
    sink_source : str
        Where ``sink_bytes_per_s`` comes from (shown in the message).
    buffer_bytes : int, optional
        Bytes that hold the backlog when that is not the RAM budget: a limit
        before the host's RAM (frames overwritten in the SDK's ring) has only
        the ring in front of it. A burst to RAM is then no remedy.
    buffer_name : str
        Name of that buffer in the message.

    Returns
    -------
    Prediction

    Raises
    ------
    ValidationError
        For a non-positive sink rate, compression ratio or frame period, or
        a negative budget, disk space or frame count.
    """
    if not sink_bytes_per_s > 0:
        raise ValidationError(f"the sink rate must be positive, got {sink_bytes_per_s!r}",
                              None, "preflight")
    if not compression_ratio > 0:
        raise ValidationError(f"the compression ratio must be positive, got "
                              f"{compression_ratio!r}", None, "preflight")
    if ram_budget_bytes < 0 or (disk_free_bytes is not None and disk_free_bytes < 0):
        raise ValidationError("the RAM budget and the free disk space cannot be negative",
                              None, "preflight")
    if num_frames is not None and num_frames < 0:
        raise ValidationError(f"num_frames must be >= 0, got {num_frames!r}", None, "preflight")
    period = float(settings.frame_period_s)
    if not period > 0:
        raise ValidationError(f"cannot predict without a frame period (got {period!r} s)",
                              None, "preflight")
    wanted = int(num_frames) if num_frames else None
    frame_bytes = int(settings.frame_bytes)
    drained_per_frame = sink_bytes_per_s * compression_ratio * period   # raw bytes per frame
    deficit = frame_bytes - drained_per_frame                            # backlog growth per frame

    buffer = int(ram_budget_bytes if buffer_bytes is None else buffer_bytes)
    ram_frames: Optional[int] = None
    if frame_bytes > buffer:
        ram_frames = 0
    elif deficit > 0:
        ram_frames = int(buffer // deficit)
    disk_frames: Optional[int] = None
    if disk_free_bytes is not None:
        disk_frames = int(disk_free_bytes * compression_ratio // frame_bytes)

    loss_free, limit = ram_frames, ("sink" if ram_frames is not None else None)
    if disk_frames is not None and (loss_free is None or disk_frames < loss_free):
        loss_free, limit = disk_frames, "disk"
    if wanted is not None:
        fits = loss_free is None or wanted <= loss_free
    else:
        fits = ram_frames is None   # the sink keeps up; a full disk ends the run, it loses nothing
    remedies: tuple[str, ...] = ()
    if not fits:
        remedies = _remedies(settings, wanted, loss_free, frame_bytes, period,
                             sink_bytes_per_s, compression_ratio, buffer,
                             disk_free_bytes, ram_frames, disk_frames,
                             burst=buffer_bytes is None)
    return Prediction(
        frame_shape=tuple(settings.frame_shape), dtype=str(np.dtype(settings.dtype)),
        frame_bytes=frame_bytes, frame_rate_hz=1.0 / period, bytes_per_s=frame_bytes / period,
        sink_bytes_per_s=float(sink_bytes_per_s), ram_budget_bytes=int(ram_budget_bytes),
        disk_free_bytes=None if disk_free_bytes is None else int(disk_free_bytes),
        num_frames=wanted, loss_free_frames=loss_free, fits=fits, limit=limit,
        remedies=remedies, compression_ratio=float(compression_ratio), sink_source=sink_source,
        buffer_bytes=buffer, buffer_name=buffer_name)


def _remedies(settings: AcquisitionSettings, wanted: Optional[int], loss_free: Optional[int],
              frame_bytes: int, period: float, sink: float, ratio: float, budget: int,
              disk_free: Optional[int], ram_frames: Optional[int],
              disk_frames: Optional[int], *, burst: bool = True) -> tuple[str, ...]:
    """The changes that make a run fit, most direct first."""
    height, width = settings.frame_shape
    pixel_bytes = np.dtype(settings.dtype).itemsize
    sink_limited = ram_frames is not None and (wanted is None or wanted > ram_frames)
    disk_limited = disk_frames is not None and wanted is not None and wanted > disk_frames
    # Raw bytes of a frame that would fit, at the same frame rate.
    allowed = math.inf
    if sink_limited:
        allowed = sink * ratio * period + (budget / wanted if wanted else 0.0)
    if disk_limited:
        allowed = min(allowed, disk_free * ratio / wanted)
    remedies = []

    # Compression: the ratio at which both the sink and the disk keep up.
    needed_ratio = 1.0
    if sink_limited:
        needed_ratio = (frame_bytes / (sink * period) if wanted is None
                        else (wanted * frame_bytes - budget) / (sink * wanted * period))
    if disk_limited:
        needed_ratio = max(needed_ratio, wanted * frame_bytes / disk_free)
    if needed_ratio > ratio:
        # Rounded up, so that the ratio shown is enough.
        remedies.append(f"compression of at least {math.ceil(needed_ratio * 10) / 10:.1f}:1 (e.g. bitshuffle-lz4, "
                        f"if the data compresses that well)")
    # A narrower ROI: the same rows (so the same readout time and frame rate), fewer columns.
    columns = int(allowed // (height * pixel_bytes)) if math.isfinite(allowed) else width
    if 1 <= columns < width:
        remedies.append(f"a ROI at most {columns} px wide at this height ({height} rows) and "
                        f"frame rate")
    # A lower frame rate: a longer exposure (the sink alone limits the rate).
    if sink_limited and not disk_limited:
        slowest_period = (frame_bytes - (budget / wanted if wanted else 0.0)) / (sink * ratio)
        if slowest_period > period:
            exposure = slowest_period - settings.readout_time_s
            fps = math.floor(10.0 / slowest_period) / 10
            remedies.append(f"a frame rate of at most {fps:.1f} fps "
                            f"(exposure >= {math.ceil(exposure * 1e4) / 10:.1f} ms)")
    # A burst to RAM: a budget holding the backlog of the whole run.
    if burst and sink_limited and not disk_limited and wanted is not None:
        backlog = wanted * (frame_bytes - sink * ratio * period) + frame_bytes
        if backlog <= _MAX_BURST_SHARE * physical_memory():
            remedies.append(f"a burst to RAM: {MEMORY_BUDGET_ENV}={math.ceil(backlog / 1024 ** 2)}M "
                            f"(now {format_bytes(budget)}) holds all {wanted} frames")
    if disk_limited:
        remedies.append(f"{format_bytes(wanted * frame_bytes / ratio - disk_free)} more free "
                        f"disk space at the destination")
    if wanted is not None and loss_free:
        remedies.append(f"at most {loss_free} frames")
    elif wanted is None and ram_frames:
        remedies.append(f"a bounded run of at most {ram_frames} frames")
    return tuple(remedies)
