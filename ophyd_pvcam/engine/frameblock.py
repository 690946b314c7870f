"""A batch of consecutive delivered frames: the unit the hot path moves.

One :class:`FrameBlock` carries ``n`` frames as one ``(n, height, width)``
array plus one ledger array per field of :class:`~ophyd_pvcam.engine.frame.Frame`.
Moving blocks instead of frames is what keeps the frame path free of
per-frame Python work: a writer appends a block with one dataset write per
field, a consumer computes statistics with one numpy call, and the engine
hands over as many frames as are ready in one call.

The pixels may be a view into memory the engine owns (its host frame ring);
the block is then valid until :meth:`FrameBlock.release` is called, which
gives the memory back. A receiver that keeps pixels beyond that takes
:meth:`FrameBlock.retain` (an independent copy) first.
"""
from __future__ import annotations

import threading
from typing import Callable, Iterator, Optional, Sequence

import numpy as np

from ophyd_pvcam.engine.frame import Frame

__all__ = ["FrameBlock"]

#: Ledger fields, their dtypes, and the :class:`Frame` attribute each mirrors.
LEDGER_FIELDS: tuple[tuple[str, type], ...] = (
    ("frame_numbers", np.int64),
    ("timestamp_bof", np.int64),
    ("timestamp_eof", np.int64),
    ("readout_time", np.int64),
    ("host_time", np.float64),
    ("lost_before", np.int64),
)


class FrameBlock:
    """``n`` consecutive delivered frames with their per-frame ledger.

    Parameters
    ----------
    data : numpy.ndarray
        Pixels, shape ``(n, height, width)``.
    frame_numbers, timestamp_bof, timestamp_eof, readout_time, lost_before : array_like
        Per-frame ledger (``int64``, length ``n``), same meaning as the
        :class:`~ophyd_pvcam.engine.frame.Frame` attributes of the same
        (singular) name; ``frame_numbers`` is ``Frame.frame_number``.
    host_time : array_like
        ``time.time()`` when each frame left the SDK buffer (``float64``).
    first_index : int
        0-based delivery index of the first frame (``Frame.index``); the
        block's frames are ``first_index .. first_index + n - 1``.
    release : callable, optional
        Called once, by the first :meth:`release`, to give the memory behind
        ``data`` back to its owner. ``None`` when the block owns its arrays.

    Notes
    -----
    Thread-safe release: any thread may call :meth:`release`; the callback
    runs exactly once.
    """

    __slots__ = ("data", "frame_numbers", "timestamp_bof", "timestamp_eof",
                 "readout_time", "host_time", "lost_before", "first_index",
                 "_release", "_release_lock", "_released")

    #: Decoded PVCAM frame headers and every region's pixels: None here, set by
    #: :class:`~ophyd_pvcam.engine.metadata.MetadataBlock` (frames with metadata).
    metadata = None
    rois = None
    regions = None

    def __init__(self, data: np.ndarray, *, frame_numbers: Sequence[int],
                 timestamp_bof: Optional[Sequence[int]] = None,
                 timestamp_eof: Optional[Sequence[int]] = None,
                 readout_time: Optional[Sequence[int]] = None,
                 host_time: Optional[Sequence[float]] = None,
                 lost_before: Optional[Sequence[int]] = None,
                 first_index: int = 0,
                 release: Optional[Callable[[], None]] = None) -> None:
        if np.ndim(data) != 3:
            raise ValueError(f"FrameBlock data must be (n, height, width), got shape "
                             f"{np.shape(data)}")
        n = len(data)
        given = {"frame_numbers": frame_numbers, "timestamp_bof": timestamp_bof,
                 "timestamp_eof": timestamp_eof, "readout_time": readout_time,
                 "host_time": host_time, "lost_before": lost_before}
        self.data = data
        for name, dtype in LEDGER_FIELDS:
            value = given[name]
            column = (np.zeros(n, dtype=dtype) if value is None
                      else np.asarray(value, dtype=dtype))
            if column.shape != (n,):
                raise ValueError(f"FrameBlock {name} has shape {column.shape}; "
                                 f"expected ({n},) to match data")
            setattr(self, name, column)
        if first_index < 0:
            raise ValueError(f"FrameBlock first_index must be >= 0, got {first_index}")
        self.first_index = int(first_index)
        self._release = release
        self._release_lock = threading.Lock()
        self._released = False

    @classmethod
    def from_frames(cls, frames: Sequence[Frame]) -> "FrameBlock":
        """Stack consecutive :class:`Frame` records into one owning block.

        Parameters
        ----------
        frames : sequence of Frame
            At least one frame, consecutive in delivery index, same shape.
        """
        if not frames:
            raise ValueError("FrameBlock.from_frames needs at least one frame")
        first = frames[0].index
        for offset, frame in enumerate(frames):
            if frame.index != first + offset:
                raise ValueError(f"frames are not consecutive: index {frame.index} at "
                                 f"position {offset} after first index {first}")
        return cls(np.stack([f.data for f in frames]),
                   frame_numbers=[f.frame_number for f in frames],
                   timestamp_bof=[f.timestamp_bof for f in frames],
                   timestamp_eof=[f.timestamp_eof for f in frames],
                   readout_time=[f.readout_time for f in frames],
                   host_time=[f.host_time for f in frames],
                   lost_before=[f.lost_before for f in frames],
                   first_index=first)

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        n = len(self)
        span = (f"frames {self.frame_numbers[0]}..{self.frame_numbers[-1]}" if n else "empty")
        return (f"<FrameBlock {n} x {self.data.shape[1:]} {self.data.dtype} {span}, "
                f"index {self.first_index}, lost {self.lost}"
                f"{', released' if self._released else ''}>")

    @property
    def frame_shape(self) -> tuple[int, int]:
        """``(height, width)`` of every frame in the block."""
        return (int(self.data.shape[1]), int(self.data.shape[2]))

    @property
    def indices(self) -> np.ndarray:
        """0-based delivery index of each frame (``int64``)."""
        return np.arange(self.first_index, self.first_index + len(self), dtype=np.int64)

    @property
    def lost(self) -> int:
        """Frames lost immediately before the block's frames, summed."""
        return int(self.lost_before.sum())

    @property
    def released(self) -> bool:
        """True once :meth:`release` ran (``data`` may then be reused)."""
        return self._released

    def frames(self) -> Iterator[Frame]:
        """Yield one :class:`Frame` per row; ``data`` are views valid until release."""
        for i in range(len(self)):
            yield Frame(frame_number=int(self.frame_numbers[i]), data=self.data[i],
                        timestamp_bof=int(self.timestamp_bof[i]),
                        timestamp_eof=int(self.timestamp_eof[i]),
                        readout_time=int(self.readout_time[i]),
                        host_time=float(self.host_time[i]),
                        index=self.first_index + i,
                        lost_before=int(self.lost_before[i]))

    def split(self, count: int) -> tuple["FrameBlock", "FrameBlock"]:
        """The first ``count`` frames and the rest, as two owning copies.

        Used where a block straddles a boundary (an event, a file); the
        original is left untouched (release it separately).
        """
        if not 0 <= count <= len(self):
            raise ValueError(f"split at {count} is outside 0..{len(self)}")
        head, tail = self._copy(slice(0, count)), self._copy(slice(count, None))
        return head, tail

    def retain(self) -> "FrameBlock":
        """An independent copy that owns its arrays (no release needed)."""
        return self._copy(slice(None))

    def _copy(self, rows: slice) -> "FrameBlock":
        start = rows.indices(len(self))[0]
        return FrameBlock(np.array(self.data[rows], copy=True),
                          first_index=self.first_index + start,
                          **{name: np.array(getattr(self, name)[rows], copy=True)
                             for name, _ in LEDGER_FIELDS})

    def release(self) -> None:
        """Give the pixel memory back to its owner (idempotent, thread-safe)."""
        with self._release_lock:
            if self._released:
                return
            self._released = True
            callback, self._release = self._release, None
        if callback is not None:
            callback()

    def __enter__(self) -> "FrameBlock":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()
