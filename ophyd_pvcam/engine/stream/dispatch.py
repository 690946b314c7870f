"""The dispatcher side of a stream: frames and blocks handed to consumers.

Run by :class:`~ophyd_pvcam.engine.stream.stream.Stream`'s ``pvcam-dispatch-<camera>``
thread. ``call(run, consumer, item)`` calls one consumer and returns False
when it raised (the stream then fails, loudly; see
``Stream._consumer_failed``).

Python pump (:func:`dispatch_frames`): frames come from the run's
:class:`~ophyd_pvcam.engine.stream.delivery.FrameQueue`; frame consumers get each
frame, block consumers every frame that was ready at once, as one owning
:class:`~ophyd_pvcam.engine.frameblock.FrameBlock`.

Native pump (:func:`dispatch_blocks`): one take from the host ring per batch.
Without block consumers the frames are ring views that each hold their slot
(dropped, the slot goes back); with block consumers the block is shared
(:func:`~ophyd_pvcam.engine.stream.ringsource.share_block`) and frame consumers get
pooled copies.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

from ophyd_pvcam.engine.stream.delivery import END
from ophyd_pvcam.engine.metadata import stack_frames
from ophyd_pvcam.engine.stream.ringsource import share_block

__all__ = ["BLOCK_BATCH", "dispatch_blocks", "dispatch_frames", "gather"]

#: Python pump: most frames one block for a block consumer gathers.
BLOCK_BATCH = 256

_Call = Callable[[Any, Callable, Any], bool]


def gather(queue: Any, timeout: Optional[float], max_frames: Optional[int]) -> Any:
    """Python pump: the first frame (waiting up to ``timeout``) and every ready one after it.

    Parameters
    ----------
    queue : FrameQueue
    timeout : float or None
    max_frames : int or None

    Returns
    -------
    FrameBlock, None or END
    """
    first = queue.get(timeout)
    if first is None or first is END:
        return first
    frames = [first]
    while max_frames is None or len(frames) < max_frames:
        more = queue.get(0)
        if more is None:
            break
        if more is END:  # END stays: the next get() sees it again
            break
        frames.append(more)
    return stack_frames(frames)


def dispatch_frames(run: Any, call: _Call) -> None:
    """Python pump: until the queue ends, hand frames (and blocks) to the run's consumers.

    Parameters
    ----------
    run : StreamRun
    call : callable
        ``call(run, consumer, item) -> bool``.
    """
    queue = run.queue
    ended = False
    while not ended:
        frame = queue.get(None)
        if frame is END:
            break
        batch = [frame]
        if run.block_consumers:
            while len(batch) < BLOCK_BATCH:
                more = queue.get(0)
                if more is None:
                    break
                if more is END:
                    ended = True
                    break
                batch.append(more)
        for frame in batch:
            for consumer in run.consumers:
                call(run, consumer, frame)
        if run.block_consumers:
            block = stack_frames(batch)
            for consumer in run.block_consumers:
                call(run, consumer, block)


def _dispatch_views(run: Any, call: _Call, frames: list) -> None:
    """Hand ring-view frames on, dropping each reference as soon as it was handed on."""
    frames.reverse()
    while frames:
        frame = frames.pop()
        for consumer in run.consumers:
            call(run, consumer, frame)
    # the last reference to each view went with it: its slot is back in the ring


def dispatch_blocks(run: Any, call: _Call) -> None:
    """Native pump: until the ring ends, hand blocks and frames to the run's consumers.

    Parameters
    ----------
    run : StreamRun
    call : callable
        ``call(run, consumer, item) -> bool``.
    """
    reader = run.queue
    while True:
        if not run.block_consumers:
            frames = reader.get_frames(None)
            if frames is END:
                break
            _dispatch_views(run, call, frames or [])
            continue
        block = reader.get_block(None)
        if block is END:
            break
        if block is None:
            continue
        block_consumers = run.block_consumers
        try:
            # Owning copies in pooled arrays (Stream.release recycles them): a frame
            # consumer may keep frame.data.
            frames = reader.copy_frames(block) if run.consumers else ()
        finally:
            if not block_consumers:
                block.release()
        for frame in frames:
            for consumer in run.consumers:
                call(run, consumer, frame)
        for consumer, share in zip(block_consumers, share_block(block, len(block_consumers))):
            if not call(run, consumer, share):
                share.release()  # a consumer that failed cannot be trusted to
