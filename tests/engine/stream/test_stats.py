"""Tests of ophyd_pvcam.engine.stream.stats: log-binned histograms and the stream statistics record."""
import random

import pytest

from ophyd_pvcam.engine.stream.stats import (
    N_BINS,
    TIMING_NAMES,
    LogHistogram,
    StatsRecorder,
    StreamStats,
    bin_bounds,
    bin_index,
)


def test_every_value_falls_inside_the_bounds_of_its_bin():
    rng = random.Random(1)
    values = list(range(0, 300)) + [rng.randrange(1, 2**40) for _ in range(5000)]
    for value in values:
        lower, upper = bin_bounds(bin_index(value))
        assert lower <= value < upper, value


def test_bins_are_contiguous_and_at_most_a_quarter_wide():
    for index in range(N_BINS - 1):
        lower, upper = bin_bounds(index)
        assert bin_bounds(index + 1)[0] == upper
        if lower >= 8:
            assert (upper - lower) / lower <= 0.25


def test_record_inlines_the_same_binning_as_bin_index():
    rng = random.Random(2)
    hist = LogHistogram("x")
    for _ in range(2000):
        value = rng.randrange(0, 2**36)
        before = list(hist.counts)
        hist.record(value)
        changed = [i for i, (a, b) in enumerate(zip(before, hist.counts)) if a != b]
        assert changed == [bin_index(value)]


def test_histogram_keeps_exact_count_total_and_maximum():
    hist = LogHistogram("copy")
    samples = [5, 100, 1000, 12345, 7]
    for value in samples:
        hist.record(value)
    snap = hist.snapshot()
    assert snap.count == len(samples)
    assert snap.total == sum(samples)
    assert snap.maximum == max(samples)
    assert snap.mean == pytest.approx(sum(samples) / len(samples))
    assert sum(count for _, _, count in snap.bins) == len(samples)


def test_negative_samples_count_as_zero_and_huge_ones_land_in_the_last_bin():
    hist = LogHistogram("clock")
    hist.record(-5)
    hist.record(2**60)
    assert hist.counts[0] == 1
    assert hist.counts[N_BINS - 1] == 1


def test_percentiles_are_within_one_bin_of_the_exact_value():
    rng = random.Random(3)
    samples = sorted(int(rng.lognormvariate(10, 1)) for _ in range(20000))
    hist = LogHistogram("wake")
    for value in samples:
        hist.record(value)
    snap = hist.snapshot()
    for q in (10, 50, 90, 99):
        exact = samples[min(len(samples) - 1, int(q / 100 * len(samples)))]
        assert abs(snap.percentile(q) - exact) <= 0.25 * exact + 1


def test_empty_histogram_reports_zeros_and_says_so():
    snap = LogHistogram("unlock").snapshot()
    assert snap.count == 0 and snap.mean == 0.0 and snap.percentile(50) == 0.0
    assert "no samples" in str(snap)


def test_reset_forgets_samples():
    hist = LogHistogram("x")
    hist.record(1000)
    hist.reset()
    assert hist.snapshot().count == 0 and hist.maximum == 0


def test_recorder_rate_counts_intervals_between_first_and_last_delivery():
    rec = StatsRecorder()
    for i in range(11):
        rec.mark_delivered(100.0 + i * 0.01)
    assert rec.frames_delivered == 11
    assert rec.rate() == pytest.approx(100.0)


def test_recorder_has_one_histogram_per_timing_name():
    rec = StatsRecorder()
    assert tuple(rec.timings()) == TIMING_NAMES
    assert rec.rate() == 0.0


def test_stream_stats_summary_names_counts_and_timings():
    rec = StatsRecorder()
    rec.histograms["copy"].record(2500)
    stats = StreamStats(camera="pvcamUSB_0", state="RUNNING", buffer_mode="CIRC_OVERWRITE",
                        frames_signalled=10, frames_retrieved=9, frames_delivered=9,
                        frames_lost=1, timings=rec.timings())
    text = stats.summary()
    assert "pvcamUSB_0" in text and "lost 1" in text and "delivered 9" in text
    assert "copy: n=1" in text


def test_summary_counts_every_missing_frame_as_lost_with_its_causes():
    stats = StreamStats(frames_delivered=84, frames_lost=16, lost_by_reason={"overwritten": 16})
    assert "lost 16 (overwritten 16)," in stats.summary()
    assert "dropped" not in stats.summary()
    stats = StreamStats(frames_lost=16, frames_dropped=2, lost_by_reason={"overwritten": 10, "gap": 6})
    assert "lost 18 (overwritten 10, gap 6, dropped by a slow consumer 2)," in stats.summary()
    assert "lost 0," in StreamStats().summary()
