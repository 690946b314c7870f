"""Memory for streaming: the SDK's circular buffer and a pool of frame arrays.

The application owns the circular buffer PVCAM writes into (reference §7.2):
``pl_exp_setup_cont`` reports the bytes of one frame, we allocate N of them
and pass pointer and size to ``pl_exp_start_cont``. :class:`CircularBuffer`
is an anonymous ``mmap`` (page-aligned by construction, zero-filled lazily,
returned to the OS by ``munmap`` when closed) that is allocated once per
stream and closed only after the SDK stopped writing into it.

Frames leave that buffer by copy into arrays from a :class:`FramePool`: a
bounded set of recycled arrays, so the steady state touches no fresh pages.
"""
from __future__ import annotations

import ctypes
import logging
import math
import mmap
import threading
from typing import Optional, Sequence

import numpy as np

from ophyd_pvcam.engine.errors import ValidationError

__all__ = [
    "PAGE_SIZE",
    "MAX_BUFFER_BYTES",
    "DEFAULT_MEMORY_BUDGET",
    "plan_buffer_frames",
    "CircularBuffer",
    "FramePool",
]

logger = logging.getLogger(__name__)

#: Size of a memory page; the circular buffer starts on a page boundary.
PAGE_SIZE: int = mmap.PAGESIZE
#: ``pl_exp_start_cont`` takes the buffer size as ``uns32``: the whole buffer must be below 4 GiB.
MAX_BUFFER_BYTES: int = 2**32 - 1
#: Default cap on the circular buffer when the caller gives no ``memory_budget``: 1 GiB.
DEFAULT_MEMORY_BUDGET: int = 1 << 30


def plan_buffer_frames(frame_bytes: int, frame_period_s: float, *, buffer_seconds: float = 1.0,
                       min_frames: int = 8, memory_budget: Optional[int] = None) -> int:
    """Choose how many frames the SDK circular buffer holds.

    Enough frames for ``buffer_seconds`` of acquisition at the expected frame
    rate, at least ``min_frames``, then capped by ``memory_budget`` and by the
    ``uns32`` size limit of ``pl_exp_start_cont``.

    Parameters
    ----------
    frame_bytes : int
        Bytes of one frame (from the setup call).
    frame_period_s : float
        Expected seconds between frames (0 or less: unknown, use ``min_frames``).
    buffer_seconds : float
        Seconds of frames the buffer should absorb while the consumer lags.
    min_frames : int
        Lower bound (>= 2).
    memory_budget : int, optional
        Maximum bytes for the buffer; :data:`DEFAULT_MEMORY_BUDGET` when None.

    Returns
    -------
    int
        The frame count.

    Raises
    ------
    ValidationError
        When ``min_frames`` frames do not fit the budget or the 4 GiB limit.
    """
    if frame_bytes <= 0:
        raise ValidationError(f"frame size must be positive, got {frame_bytes} bytes",
                              None, "plan_buffer_frames")
    if min_frames < 2:
        raise ValidationError(f"min_buffer_frames must be >= 2, got {min_frames}",
                              None, "plan_buffer_frames")
    if buffer_seconds < 0 or not math.isfinite(buffer_seconds):
        raise ValidationError(f"buffer_seconds must be a finite number >= 0, got {buffer_seconds}",
                              None, "plan_buffer_frames")
    budget = DEFAULT_MEMORY_BUDGET if memory_budget is None else int(memory_budget)
    wanted = min_frames
    if frame_period_s and frame_period_s > 0:
        wanted = max(min_frames, math.ceil(buffer_seconds / frame_period_s))
    limit = min(budget, MAX_BUFFER_BYTES) // frame_bytes
    if limit < min_frames:
        raise ValidationError(
            f"a circular buffer of {min_frames} frames of {frame_bytes} bytes does not fit "
            f"the memory budget ({budget} bytes) and the 4 GiB limit of pl_exp_start_cont; "
            f"raise memory_budget, lower min_buffer_frames or use a smaller ROI",
            None, "plan_buffer_frames")
    frames = min(wanted, limit)
    if frames < wanted:
        logger.info("circular buffer capped at %d frames (%.2f s at %.1f fps) by the memory "
                    "budget of %d bytes", frames, frames * frame_period_s,
                    1.0 / frame_period_s if frame_period_s > 0 else 0.0, budget)
    return frames


class CircularBuffer:
    """A page-aligned block of ``frames`` x ``frame_bytes`` bytes for ``pl_exp_start_cont``.

    Parameters
    ----------
    frame_bytes : int
        Bytes of one frame.
    frames : int
        Capacity in frames (>= 1).
    populate : bool
        Fault every page in at allocation (``MAP_POPULATE``) instead of on first
        write; used for a burst buffer that must take frames at the camera's rate.

    Attributes
    ----------
    frame_bytes : int
    frames : int
    nbytes : int
        ``frames * frame_bytes`` (< 4 GiB).
    address : int
        Address of the first byte (a multiple of :data:`PAGE_SIZE`).

    Notes
    -----
    Frame number ``n`` (1-based ``FrameNr``) is written by PVCAM at offset
    ``((n - 1) % frames) * frame_bytes`` (reference §7.2); :meth:`slot_address`
    computes that. No Python buffer export is kept on the mapping, so
    :meth:`close` always succeeds; do not use :meth:`view` arrays after it.
    """

    def __init__(self, frame_bytes: int, frames: int, populate: bool = False) -> None:
        if frame_bytes <= 0 or frames <= 0:
            raise ValidationError(f"invalid circular buffer {frames} x {frame_bytes} bytes",
                                  None, "CircularBuffer")
        nbytes = frame_bytes * frames
        if nbytes > MAX_BUFFER_BYTES:
            raise ValidationError(f"circular buffer of {nbytes} bytes exceeds the 4 GiB limit "
                                  f"of pl_exp_start_cont", None, "CircularBuffer")
        self.frame_bytes = int(frame_bytes)
        self.frames = int(frames)
        self.nbytes = int(nbytes)
        flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
        if populate:
            # Fault every page in now, as PVCAM does when it locks a buffer for DMA:
            # a burst then runs at the camera's rate, not at the page-fault rate.
            flags |= getattr(mmap, "MAP_POPULATE", 0)
        self._map: Optional[mmap.mmap] = mmap.mmap(-1, self.nbytes, flags=flags)
        # Take the address through a temporary ctypes view and drop the view at once:
        # a live export would make mmap.close() raise BufferError.
        probe = (ctypes.c_char * self.nbytes).from_buffer(self._map)
        self.address = ctypes.addressof(probe)
        del probe

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        return self._map is None

    def slot_address(self, frame_number: int) -> int:
        """Address of the slot PVCAM writes frame ``frame_number`` (1-based) into.

        Parameters
        ----------
        frame_number : int
            An SDK ``FrameNr`` (>= 1).

        Returns
        -------
        int
        """
        return self.address + ((frame_number - 1) % self.frames) * self.frame_bytes

    def view(self) -> np.ndarray:
        """Return a ``uint8`` array over the whole buffer (for inspection and tests).

        Returns
        -------
        numpy.ndarray
            Shares memory with the buffer; invalid after :meth:`close`.

        Raises
        ------
        ValidationError
            When the buffer is closed (also a ``ValueError``).
        """
        if self._map is None:
            raise ValidationError("circular buffer is closed", None, "CircularBuffer.view")
        return np.ctypeslib.as_array((ctypes.c_uint8 * self.nbytes).from_address(self.address))

    def close(self) -> None:
        """Release the memory. Idempotent; call only after the SDK stopped writing."""
        mapping, self._map = self._map, None
        if mapping is not None:
            mapping.close()

    def __enter__(self) -> "CircularBuffer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"at 0x{self.address:x}"
        return f"<CircularBuffer {self.frames} x {self.frame_bytes} B {state}>"


class FramePool:
    """Recycled numpy arrays to copy frames into.

    :meth:`acquire` hands out an idle array if there is one and allocates a
    new one otherwise, so the pool never blocks the frame loop; :meth:`release`
    takes an array back while fewer than ``capacity`` are idle. Memory is
    therefore bounded by ``capacity`` idle arrays plus whatever the receivers
    keep.

    Parameters
    ----------
    shape : sequence of int
        Shape of every array.
    dtype : numpy dtype
        Pixel type.
    capacity : int
        Maximum number of idle arrays kept.
    preallocate : int
        Arrays allocated (and touched, so their pages exist) up front.
    """

    def __init__(self, shape: Sequence[int], dtype: np.dtype | type, capacity: int,
                 preallocate: int = 0) -> None:
        self.shape = tuple(int(n) for n in shape)
        self.dtype = np.dtype(dtype)
        self.capacity = max(0, int(capacity))
        self._idle: list[np.ndarray] = []
        self._idle_ids: set[int] = set()  # guards against releasing one array twice
        self._lock = threading.Lock()
        self.allocated = 0
        for _ in range(min(preallocate, self.capacity)):
            array = self._new(touch=True)
            self._idle.append(array)
            self._idle_ids.add(id(array))

    def _new(self, touch: bool = False) -> np.ndarray:
        array = np.empty(self.shape, self.dtype)
        if touch:
            array.fill(0)
        self.allocated += 1
        return array

    @property
    def idle(self) -> int:
        """Number of arrays waiting to be reused."""
        return len(self._idle)

    def acquire(self) -> np.ndarray:
        """Return an array of the pool's shape and dtype (contents undefined).

        Returns
        -------
        numpy.ndarray
        """
        with self._lock:
            if self._idle:
                array = self._idle.pop()
                self._idle_ids.discard(id(array))
                return array
        return self._new()

    def release(self, array: np.ndarray) -> bool:
        """Give an array back for reuse.

        The caller must not use the array afterwards: a later frame will be
        copied into it.

        Parameters
        ----------
        array : numpy.ndarray
            An array obtained from :meth:`acquire` (others of the same shape and
            dtype that own their data are accepted too).

        Returns
        -------
        bool
            True when the array was kept, False when it was not reusable or the
            pool is full (it is then simply left to the garbage collector).
        """
        if (not isinstance(array, np.ndarray) or array.shape != self.shape
                or array.dtype != self.dtype or not array.flags.owndata
                or not array.flags.c_contiguous or not array.flags.writeable):
            return False
        with self._lock:
            if len(self._idle) >= self.capacity:
                return False
            if id(array) in self._idle_ids:
                return False
            self._idle.append(array)
            self._idle_ids.add(id(array))
            return True
