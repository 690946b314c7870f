"""Frames and blocks out of the native pump's host ring: :class:`RingReader`.

The stream's consumer side when the native pump is the frame path. It
stands where :class:`~ophyd_pvcam.engine.stream.delivery.FrameQueue` stands for
the Python pump (same ``get``/``interrupt``/``close``), and adds
:meth:`RingReader.get_block`, which hands out the ring's memory itself.

``get()`` returns a :class:`~ophyd_pvcam.engine.frame.Frame` that owns its
pixels (copied from the ring into a pooled array, so
:meth:`Stream.release <ophyd_pvcam.engine.stream.stream.Stream.release>` can
recycle it), one frame per take so its slot goes back at once.
``get_frames()`` hands out every ready frame as ring views that hold their
slot until dropped (the consumer dispatcher uses it). ``get_block()`` returns the pump's
:class:`~ophyd_pvcam.engine.frameblock.FrameBlock` (a view into the ring:
release it).
"""
from __future__ import annotations

import collections
import threading
import time
from typing import Any, Callable, Optional

import numpy as np

from ophyd_pvcam.engine.stream.buffers import FramePool
from ophyd_pvcam.engine.stream.delivery import END
from ophyd_pvcam.engine.frame import Frame
from ophyd_pvcam.engine.frameblock import FrameBlock
from ophyd_pvcam.engine.metadata import MetadataBlock, MetadataDecoder, stack_frames

__all__ = ["PREVIEW_INTERVAL", "RingReader", "share_block"]

#: Seconds between copies of a block's last frame for ``Stream.latest_frame``
#: (frames returned by ``get()`` are always the latest; blocks are views).
PREVIEW_INTERVAL = 0.1


def share_block(block: FrameBlock, holders: int) -> list[FrameBlock]:
    """``holders`` blocks over the same memory; ``block`` is released once all are.

    Parameters
    ----------
    block : FrameBlock
    holders : int
        >= 1.

    Returns
    -------
    list of FrameBlock
    """
    if holders == 1:
        return [block]
    remaining = [holders]
    lock = threading.Lock()

    def release_one() -> None:
        with lock:
            remaining[0] -= 1
            last = remaining[0] == 0
        if last:
            block.release()

    ledger = dict(frame_numbers=block.frame_numbers,
                  timestamp_bof=block.timestamp_bof, timestamp_eof=block.timestamp_eof,
                  readout_time=block.readout_time, host_time=block.host_time,
                  lost_before=block.lost_before, first_index=block.first_index,
                  release=release_one)
    if block.metadata is not None:
        return [MetadataBlock(block.data, metadata=block.metadata, rois=block.rois, **ledger)
                for _ in range(holders)]
    return [FrameBlock(block.data, **ledger) for _ in range(holders)]


class RingReader:
    """Reader of one run's host ring (see the module notes).

    Parameters
    ----------
    loop : NativeFrameLoop
        The run's loop; its ``pump`` and ``pool`` exist once it is open.
    on_frames : callable, optional
        Called with the last frame of what a ``get``/``get_block`` returned
        (the stream keeps it as ``latest_frame``).
    """

    def __init__(self, loop: Any, on_frames: Optional[Callable[[Frame], None]] = None,
                 decoder: Optional[MetadataDecoder] = None) -> None:
        self.loop = loop
        self.decoder = decoder
        #: Pixel-shaped arrays for the copies of metadata frames (``Stream.release``).
        self.pixel_pool: Optional[FramePool] = None
        self._pending: collections.deque = collections.deque()
        self._lock = threading.Lock()
        self._on_frames = on_frames
        self._closed = False
        self._latest_at = -1e9

    def __len__(self) -> int:
        pump = self.loop.pump
        return len(self._pending) + (pump.counters().ring_used if pump is not None else 0)

    @property
    def closed(self) -> bool:
        """True once the run's frame loop ended (frames may still wait in the ring)."""
        return self._closed

    def get(self, timeout: Optional[float] = None) -> Any:
        """The next frame, None on timeout, END once the run ended and all were taken.

        Parameters
        ----------
        timeout : float, optional

        Returns
        -------
        Frame, None or END
        """
        with self._lock:
            if self._pending:
                return self._pending.popleft()
            # One frame per take: a slot goes back as soon as its frame is copied,
            # so the ring's bound is the consumer's lag, as with the Python queue.
            while True:
                block = self.loop.pump.take(timeout, 1)
                if block is None or block is END:
                    return block
                if self.decoder is None:
                    break
                try:  # one frame: the decoder's one-frame path, then its pixels copied out
                    frames = [f for f in map(self.decoder.frame, block.frames())
                              if f is not None]
                    frames = self._copy_pixels(frames)
                finally:
                    block.release()
                if frames:
                    break  # else the slot held no frame (counted lost): take the next
            if self.decoder is None:
                try:
                    frames = self.copy_frames(block)
                finally:
                    block.release()
            first = frames[0]
            self._pending.extend(frames[1:])
        if self._on_frames is not None:
            self._on_frames(frames[-1])
        return first

    def copy_frames(self, block: FrameBlock) -> list[Frame]:
        """The block's frames, each copied into an array of the run's pool.

        Parameters
        ----------
        block : FrameBlock

        Returns
        -------
        list of Frame
            Frames that own their pixels (give them back with ``Stream.release``).
        """
        if block.metadata is not None:  # pixel views of raw frames: copy the pixels
            return self._copy_pixels(list(block.frames()))
        pool = self.loop.pool
        frames = []
        for frame in block.frames():
            array = pool.acquire()
            np.copyto(array, frame.data)
            frame.data = array
            frames.append(frame)
        return frames

    def _copy_pixels(self, frames: list[Frame]) -> list[Frame]:
        """Decoded frames (views of raw frames) given pixels of their own, pooled."""
        if not frames:
            return frames
        shape, dtype = frames[0].data.shape, frames[0].data.dtype
        pool = self.pixel_pool
        if pool is None or pool.shape != shape or pool.dtype != dtype:
            pool = self.pixel_pool = FramePool(shape, dtype, self.loop.pool.capacity)
        for frame in frames:
            array = pool.acquire()
            np.copyto(array, frame.data)
            frame.data = array
            frame.rois = (array,) + tuple(np.array(r) for r in frame.rois[1:])
        return frames

    def get_frames(self, timeout: Optional[float] = None) -> Any:
        """Every ready frame as ring views holding their slots (see ``FramePump.take_frames``).

        Parameters
        ----------
        timeout : float, optional

        Returns
        -------
        list of Frame, None or END
        """
        with self._lock:
            if self._pending:
                frames = list(self._pending)
                self._pending.clear()
                return frames
            frames = self.loop.pump.take_frames(timeout)
            if self.decoder is not None and frames and frames is not END:
                # one batch decode; each frame keeps a pixel view of its own slot
                frames = self.decoder.frames(frames)
        if frames and frames is not END and self._on_frames is not None:
            now = time.monotonic()
            if now - self._latest_at >= PREVIEW_INTERVAL:
                self._latest_at = now
                last = frames[-1]
                self._on_frames(Frame(last.frame_number, np.array(last.data), last.timestamp_bof,
                                      last.timestamp_eof, last.readout_time, last.host_time,
                                      last.index, last.lost_before))
        return frames

    def get_block(self, timeout: Optional[float] = None,
                  max_frames: Optional[int] = None) -> Any:
        """The next frames as one block (a ring view: release it), None, or END.

        Frames a ``get()`` already took out of the ring come first, as an
        owning block.

        Parameters
        ----------
        timeout : float, optional
        max_frames : int, optional

        Returns
        -------
        FrameBlock, None or END
        """
        with self._lock:
            if self._pending:
                count = len(self._pending) if not max_frames else min(max_frames,
                                                                     len(self._pending))
                frames = [self._pending.popleft() for _ in range(count)]
                return stack_frames(frames)
            block = self.loop.pump.take(timeout, max_frames)
            if block is not None and block is not END:
                block = self._decoded(block)
        if block is not None and block is not END:
            self._note_latest(block)
        return block

    def _decoded(self, block: FrameBlock) -> Optional[FrameBlock]:
        """The block with its metadata decoded (None: no slot of it held a frame)."""
        if self.decoder is None:
            return block
        try:
            return self.decoder.decode(block)
        except BaseException:
            block.release()
            raise

    def _note_latest(self, block: FrameBlock) -> None:
        """Copy the block's last frame for ``latest_frame``, at most every PREVIEW_INTERVAL."""
        now = time.monotonic()
        if self._on_frames is None or now - self._latest_at < PREVIEW_INTERVAL:
            return
        self._latest_at = now
        i = len(block) - 1
        self._on_frames(Frame(frame_number=int(block.frame_numbers[i]),
                              data=np.array(block.data[i]),
                              timestamp_bof=int(block.timestamp_bof[i]),
                              timestamp_eof=int(block.timestamp_eof[i]),
                              readout_time=int(block.readout_time[i]),
                              host_time=float(block.host_time[i]),
                              index=block.first_index + i,
                              lost_before=int(block.lost_before[i])))

    def interrupt(self) -> None:
        """Nothing to interrupt: the pump never blocks on a reader."""

    def close(self) -> None:
        """The run ended: readers get END once the ring is empty."""
        self._closed = True
        pump = self.loop.pump
        if pump is not None:
            pump.finish()
