"""The writer's defaults and counters: queue share of the memory budget, encoder threads, stats."""
from __future__ import annotations

import os
from dataclasses import dataclass

from ophyd_pvcam.engine.budget import host_memory_budget

__all__ = ["QUEUE_SHARE", "default_queue_bytes", "default_encoder_threads", "WriterStats"]

#: Share of the host memory budget the writer queue may hold by default; the
#: engine's host frame ring is sized from the rest.
QUEUE_SHARE = 0.25


def default_queue_bytes() -> int:
    """Bytes the writer queue holds by default: :data:`QUEUE_SHARE` of the budget.

    Returns
    -------
    int
        ``QUEUE_SHARE * host_memory_budget()``.
    """
    return int(host_memory_budget() * QUEUE_SHARE)


def default_encoder_threads() -> int:
    """Compression threads by default: one per CPU, at most 4.

    Returns
    -------
    int
    """
    return max(1, min(4, os.cpu_count() or 1))


@dataclass
class WriterStats:
    """Counters of one writer (a snapshot).

    Attributes
    ----------
    frames_submitted : int
        Frames accepted by ``submit`` and ``submit_block``.
    blocks_submitted : int
        Blocks accepted by ``submit_block``.
    frames_stored : int
        Frames handed to HDF5 (flushed or not).
    frames_written : int
        Frames flushed to the file.
    bytes_stored : int
        Pixel bytes handed to HDF5 (before compression).
    chunk_bytes_stored : int
        Bytes of the chunks stored (after compression).
    flushes : int
        Number of file flushes.
    queue_high_water : int
        Largest number of items waiting in the queue seen by a submit.
    queue_bytes_high_water : int
        Largest number of bytes the queue held.
    blocked_submits : int
        Submits that found the queue full and had to wait.
    """

    frames_submitted: int = 0
    blocks_submitted: int = 0
    frames_stored: int = 0
    frames_written: int = 0
    bytes_stored: int = 0
    chunk_bytes_stored: int = 0
    flushes: int = 0
    queue_high_water: int = 0
    queue_bytes_high_water: int = 0
    blocked_submits: int = 0
