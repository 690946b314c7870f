"""Writer defaults: the queue's share of the host memory budget and the encoder thread count."""
from __future__ import annotations

import os

from ophyd_pvcam.engine.budget import host_memory_budget
from ophyd_pvcam.storage.writeropts import (QUEUE_SHARE, WriterStats, default_encoder_threads,
                                            default_queue_bytes)


def test_the_default_queue_is_a_share_of_the_configured_budget(monkeypatch):
    monkeypatch.setenv("PVCAM_HOST_MEMORY_BUDGET", "1G")
    assert default_queue_bytes() == int(2 ** 30 * QUEUE_SHARE)
    monkeypatch.delenv("PVCAM_HOST_MEMORY_BUDGET")
    assert default_queue_bytes() == int(host_memory_budget() * QUEUE_SHARE)
    assert 0 < QUEUE_SHARE < 1


def test_encoder_threads_default_to_the_cpus_at_most_four():
    assert default_encoder_threads() == max(1, min(4, os.cpu_count() or 1))


def test_stats_start_at_zero():
    stats = WriterStats()
    assert all(value == 0 for value in vars(stats).values())
