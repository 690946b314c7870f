"""Per-stream statistics: frame counters and cheap timing histograms.

The field report's first recommendation was instrumentation: measure the
callback -> wake -> retrieve -> copy -> unlock cycle of every frame. Doing that
in the frame loop must cost almost nothing, so :class:`LogHistogram` records a
sample with a handful of integer operations (``int.bit_length``, a shift, a
mask, a list increment) into log-spaced bins: 4 bins per power of two, i.e.
every bin is at most 25 % wide, from 1 ns to about 18 minutes.

Only the frame-loop thread records; other threads read through
:meth:`StatsRecorder.snapshot`, which copies the counters (under the GIL a
list copy is consistent enough for monitoring: a snapshot may lag a frame).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

__all__ = [
    "LogHistogram",
    "HistogramSnapshot",
    "StatsRecorder",
    "StreamStats",
    "TIMING_NAMES",
    "bin_index",
    "bin_bounds",
]

# Sub-bins per octave = 2**_SUB_BITS.
_SUB_BITS = 2
_SUB = 1 << _SUB_BITS
_SUB_MASK = _SUB - 1
#: Number of bins; values beyond the last bin's lower bound (2**40 ns ~ 18 min) land in it.
N_BINS = _SUB * 40

#: The timing histograms every stream keeps, in the order of one frame's life.
TIMING_NAMES: tuple[str, ...] = ("callback_to_wake", "wake_to_retrieved", "copy", "unlock")


def bin_index(value: int) -> int:
    """Return the histogram bin of a non-negative integer sample.

    Values below 8 have a bin each; above, each power of two is split into 4
    equal bins (so a bin is at most 25 % wide).

    Parameters
    ----------
    value : int
        The sample (negative values count as 0).

    Returns
    -------
    int
        Bin index in ``range(N_BINS)``.
    """
    if value < 8:
        return value if value > 0 else 0
    bits = value.bit_length()
    index = ((bits - _SUB_BITS) << _SUB_BITS) | ((value >> (bits - _SUB_BITS - 1)) & _SUB_MASK)
    return index if index < N_BINS else N_BINS - 1


def bin_bounds(index: int) -> tuple[int, int]:
    """Return the ``[lower, upper)`` range of values that fall in bin ``index``.

    Parameters
    ----------
    index : int
        A bin index from :func:`bin_index`.

    Returns
    -------
    tuple of int
        ``(lower, upper)``; ``upper`` of the last bin is the lower bound of
        the (non-existent) next bin, although larger values are clamped into it.
    """
    def lower(i: int) -> int:
        if i < _SUB * 2:
            return i
        bits = (i >> _SUB_BITS) + _SUB_BITS
        return (_SUB | (i & _SUB_MASK)) << (bits - _SUB_BITS - 1)

    return lower(index), lower(index + 1)


class LogHistogram:
    """A log-binned histogram of integer samples (durations in ns, typically).

    Parameters
    ----------
    name : str
        What is measured, e.g. ``"copy"``.
    unit : str
        Unit of the samples, ``"ns"`` by default.

    Notes
    -----
    :meth:`record` is meant for a hot loop on a single thread: no locks, no
    floats, no allocation.
    """

    __slots__ = ("name", "unit", "counts", "total", "maximum")

    def __init__(self, name: str, unit: str = "ns") -> None:
        self.name = name
        self.unit = unit
        self.counts = [0] * N_BINS
        self.total = 0
        self.maximum = 0

    def record(self, value: int) -> None:
        """Add one sample.

        Parameters
        ----------
        value : int
            The sample; negative values (clock quirks) are recorded as 0.
        """
        if value < 8:
            if value < 0:
                value = 0
            self.counts[value] += 1
        else:
            bits = value.bit_length()
            index = ((bits - 2) << 2) | ((value >> (bits - 3)) & 3)
            self.counts[index if index < N_BINS else N_BINS - 1] += 1
        self.total += value
        if value > self.maximum:
            self.maximum = value

    def reset(self) -> None:
        """Forget every sample."""
        self.counts = [0] * N_BINS
        self.total = 0
        self.maximum = 0

    def snapshot(self) -> "HistogramSnapshot":
        """Return an immutable copy of the current contents.

        Returns
        -------
        HistogramSnapshot
        """
        counts = list(self.counts)
        bins = tuple((*bin_bounds(i), c) for i, c in enumerate(counts) if c)
        return HistogramSnapshot(self.name, self.unit, sum(counts), self.total, self.maximum, bins)


@dataclass(frozen=True)
class HistogramSnapshot:
    """The contents of a :class:`LogHistogram` at one moment.

    Attributes
    ----------
    name : str
        What was measured.
    unit : str
        Unit of the samples.
    count : int
        Number of samples.
    total : int
        Sum of the samples (exact).
    maximum : int
        Largest sample (exact).
    bins : tuple of (int, int, int)
        ``(lower, upper, count)`` of every non-empty bin, ascending.
    """

    name: str
    unit: str
    count: int
    total: int
    maximum: int
    bins: tuple[tuple[int, int, int], ...]

    @property
    def mean(self) -> float:
        """Mean sample (exact), 0.0 when empty."""
        return self.total / self.count if self.count else 0.0

    def percentile(self, q: float) -> float:
        """Estimate the ``q``-th percentile (0..100) from the bins.

        Interpolates linearly inside the bin that holds the rank, so the
        error is below the bin width (<= 25 % of the value).

        Parameters
        ----------
        q : float
            Percentile in [0, 100].

        Returns
        -------
        float
            0.0 when the histogram is empty.
        """
        if not self.count:
            return 0.0
        rank = max(0.0, min(100.0, q)) / 100.0 * self.count
        seen = 0
        for lower, upper, count in self.bins:
            if seen + count >= rank:
                fraction = (rank - seen) / count if count else 0.0
                return min(lower + fraction * (upper - lower), float(self.maximum))
            seen += count
        return float(self.maximum)

    def summary(self) -> dict[str, float]:
        """Return count, mean, p50, p99 and max as a plain mapping.

        Returns
        -------
        dict
        """
        return {"count": self.count, "mean": self.mean, "p50": self.percentile(50),
                "p99": self.percentile(99), "max": float(self.maximum)}

    def __str__(self) -> str:
        if not self.count:
            return f"{self.name}: no samples"
        scale, unit = (1e3, "us") if self.unit == "ns" else (1.0, self.unit)
        return (f"{self.name}: n={self.count} mean={self.mean / scale:.1f}{unit} "
                f"p50={self.percentile(50) / scale:.1f}{unit} "
                f"p99={self.percentile(99) / scale:.1f}{unit} max={self.maximum / scale:.1f}{unit}")


class StatsRecorder:
    """The mutable counters and histograms of one stream run.

    Written by the frame-loop thread (``frames_signalled`` by the SDK
    callback through the stream), read by anyone through the stream's
    ``stats()``.

    Attributes
    ----------
    frames_retrieved : int
        Frames copied out of the SDK buffer.
    frames_delivered : int
        Frames handed to the consumers or the output queue.
    frames_dropped : int
        Frames retrieved but dropped because the consumer was slower
        (``overflow="drop"``).
    overruns : int
        Times the SDK reported a buffer overrun (error 173).
    restarts : int
        Acquisition restarts (overrun restarts and stall recoveries).
    callbacks_missed : int
        Frames found in the SDK buffer without a matching EOF callback.
    wakeups : int
        Frame-loop wake-ups that retrieved at least one frame.
    max_batch : int
        Most frames retrieved in one wake-up.
    histograms : dict of str to LogHistogram
        One per name in :data:`TIMING_NAMES`.
    """

    def __init__(self) -> None:
        self.frames_retrieved = 0
        self.frames_delivered = 0
        self.frames_dropped = 0
        self.overruns = 0
        self.restarts = 0
        self.callbacks_missed = 0
        self.wakeups = 0
        self.max_batch = 0
        self.histograms = {name: LogHistogram(name) for name in TIMING_NAMES}
        self.started_monotonic: Optional[float] = None
        self.first_frame_monotonic: Optional[float] = None
        self.last_frame_monotonic: Optional[float] = None

    def mark_started(self, now: Optional[float] = None) -> None:
        """Record the start of the run (``time.monotonic()`` by default).

        Parameters
        ----------
        now : float, optional
            Monotonic time of the start.
        """
        self.started_monotonic = time.monotonic() if now is None else now

    def mark_delivered(self, now: float) -> None:
        """Count one delivered frame at monotonic time ``now``.

        Parameters
        ----------
        now : float
            Monotonic time of the delivery.
        """
        self.frames_delivered += 1
        if self.first_frame_monotonic is None:
            self.first_frame_monotonic = now
        self.last_frame_monotonic = now

    def mark_batch(self, frames: int) -> None:
        """Count one wake-up of the frame loop that retrieved ``frames`` (> 0) frames.

        Parameters
        ----------
        frames : int
            Frames retrieved between this wake-up and the next wait.
        """
        self.wakeups += 1
        if frames > self.max_batch:
            self.max_batch = frames

    def rate(self) -> float:
        """Delivered frames per second between the first and the last delivery.

        Returns
        -------
        float
            0.0 with fewer than two frames.
        """
        first, last = self.first_frame_monotonic, self.last_frame_monotonic
        if first is None or last is None or last <= first or self.frames_delivered < 2:
            return 0.0
        return (self.frames_delivered - 1) / (last - first)

    def timings(self) -> dict[str, HistogramSnapshot]:
        """Snapshot every timing histogram.

        Returns
        -------
        dict of str to HistogramSnapshot
        """
        return {name: hist.snapshot() for name, hist in self.histograms.items()}


@dataclass(frozen=True)
class StreamStats:
    """A snapshot of one stream run's statistics.

    Attributes
    ----------
    camera : str
        Camera name.
    state : str
        Stream state name when the snapshot was taken.
    buffer_mode : str
        ``"CIRC_OVERWRITE"``, ``"CIRC_NO_OVERWRITE"`` or ``""`` before start.
    use_callbacks : bool
        Whether EOF callbacks woke the frame loop (else polling).
    gaps_detectable : bool
        Whether a FrameNr the camera skipped is detected and counted lost
        (``"gap"``). True with EOF callbacks, which carry every frame's
        number. False when polling: the SDK then reports only the latest
        FrameNr, so a skipped frame's slot, holding whatever an earlier frame
        left there, is delivered under the skipped number and not counted.
        Overwritten slots and overruns are detected in both modes.
    buffer_frames : int
        Capacity of the SDK circular buffer in frames.
    frame_bytes : int
        Bytes of one frame as reported by the setup call.
    elapsed_s : float
        Seconds since the run started (to its end, once ended).
    frames_signalled : int
        EOF callbacks received (0 when polling).
    frames_retrieved : int
        Frames copied out of the SDK buffer.
    frames_delivered : int
        Frames handed to consumers / the output queue.
    frames_lost : int
        Frames the camera produced that never reached the engine (FrameNr
        gaps, overwritten slots, overruns, restarts).
    frames_dropped : int
        Frames retrieved but dropped for a slow consumer (``overflow="drop"``).
    lost_frame_numbers : tuple of int
        The stream frame numbers of the lost frames, at most
        ``lost_numbers_cap`` of them (``frames_lost`` is always exact).
    dropped_frame_numbers : tuple of int
        The same for dropped frames.
    overruns : int
        SDK buffer overruns (error 173) survived by restarting.
    recoveries : int
        Stall recoveries (``max_recoveries``).
    restarts : int
        All acquisition restarts (overruns + recoveries).
    callbacks_missed : int
        Frames found in the SDK buffer without their EOF callback.
    wakeups : int
        Frame-loop wake-ups that retrieved at least one frame;
        ``frames_retrieved / wakeups`` is the mean batch drained per wake-up
        (frames salvaged after a stop are retrieved outside any wake-up).
    max_batch : int
        Most frames retrieved in a single wake-up.
    frames_pending_at_stop : int
        Frames the SDK held, not yet retrieved, when the run was stopped
        (not losses: the acquisition was ended on purpose).
    lost_by_reason : mapping of str to int
        ``frames_lost`` split by cause: ``"gap"`` (FrameNr skipped by the
        camera), ``"overwritten"`` (slot reused before it was read),
        ``"overrun"`` (error 173 restart), ``"stall"`` (recovery restart).
    discontinuities : tuple
        :class:`~ophyd_pvcam.engine.stream.health.Discontinuity` records, one per restart.
    rate_fps : float
        Delivered frames per second between the first and the last delivery.
    consecutive_timeouts : int
        Stall timeouts in a row since the last frame (a stall is declared at
        ``stall_count``).
    timings : mapping of str to HistogramSnapshot
        The :data:`TIMING_NAMES` histograms.
    """

    camera: str = ""
    state: str = "IDLE"
    buffer_mode: str = ""
    use_callbacks: bool = True
    gaps_detectable: bool = True
    buffer_frames: int = 0
    frame_bytes: int = 0
    elapsed_s: float = 0.0
    frames_signalled: int = 0
    frames_retrieved: int = 0
    frames_delivered: int = 0
    frames_lost: int = 0
    frames_dropped: int = 0
    lost_frame_numbers: tuple[int, ...] = ()
    dropped_frame_numbers: tuple[int, ...] = ()
    overruns: int = 0
    recoveries: int = 0
    restarts: int = 0
    callbacks_missed: int = 0
    wakeups: int = 0
    max_batch: int = 0
    frames_pending_at_stop: int = 0
    lost_by_reason: Mapping[str, int] = field(default_factory=dict)
    discontinuities: tuple[Any, ...] = ()
    rate_fps: float = 0.0
    consecutive_timeouts: int = 0
    timings: Mapping[str, HistogramSnapshot] = field(default_factory=dict)

    def _losses(self) -> str:
        # "lost" counts every frame that never reached the consumer, by cause; the
        # consumer queue's own drops (overflow="drop") are one of the causes, named
        # only when they happened, so "dropped 0" never sits next to "lost 16".
        causes = {**{k: v for k, v in self.lost_by_reason.items() if v}}
        if self.frames_dropped:
            causes["dropped by a slow consumer"] = self.frames_dropped
        detail = ", ".join(f"{reason} {count}" for reason, count in causes.items())
        total = self.frames_lost + self.frames_dropped
        return f"lost {total}" + (f" ({detail})" if detail else "")

    def summary(self) -> str:
        """One readable paragraph: counts, rate, losses and the timing medians.

        Returns
        -------
        str
        """
        text = (f"{self.camera or 'camera'} [{self.state}] {self.buffer_mode or '-'}, "
                f"{'callbacks' if self.use_callbacks else 'polling'}"
                f"{'' if self.gaps_detectable else ' (skipped FrameNrs undetectable)'}, "
                f"buffer {self.buffer_frames} frames: "
                f"signalled {self.frames_signalled}, retrieved {self.frames_retrieved}, "
                f"delivered {self.frames_delivered}, {self._losses()}, overruns {self.overruns}, "
                f"recoveries {self.recoveries}, {self.rate_fps:.1f} fps while delivering, "
                f"{self.elapsed_s:.2f} s in all")
        timings = "; ".join(str(h) for h in self.timings.values() if h.count)
        return f"{text}. {timings}" if timings else text
