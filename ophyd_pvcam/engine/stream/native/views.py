"""Ring views of the native pump: what :class:`~ophyd_pvcam.engine.stream.native.FramePump` hands out.

:class:`RingViews` (a base of ``FramePump``) maps the pump's host ring and
ledger columns as numpy arrays and turns a taken run of slots into a
:class:`~ophyd_pvcam.engine.frameblock.FrameBlock` (released as one) or into
:class:`~ophyd_pvcam.engine.frame.Frame` views that each hold their slot.
Every view keeps the C pump alive through a small owner object, never through
the ``FramePump`` itself: no reference cycle runs through ctypes objects,
which the garbage collector cannot break.
"""
from __future__ import annotations

import ctypes
import weakref
from ctypes import byref, c_double, c_int64, c_uint8, c_uint64, c_void_p
from typing import Any, Optional, Union

import numpy as np

from ophyd_pvcam.engine.stream.delivery import END
from ophyd_pvcam.engine.errors import AcquisitionError
from ophyd_pvcam.engine.frame import Frame
from ophyd_pvcam.engine.frameblock import FrameBlock
from ophyd_pvcam.engine.stream.native import _abi
from ophyd_pvcam.engine.stream.native.counters import LOSS_REASONS

__all__ = ["RingViews"]

# How long one GIL-free wait in take() lasts when the caller waits without a
# timeout: short enough for Ctrl-C to be seen between waits.
_WAIT_SLICE = 0.25


def _destroy(lib: ctypes.CDLL, handle: int) -> None:
    # EBUSY (callback still registered) keeps the memory: safe, never a crash.
    lib.pvp_destroy(handle)


class _SlotRef:
    """One ring slot held by one frame view; given back on release or collection."""

    __slots__ = ("memory", "lib", "ptr", "seq", "held")

    def __init__(self, memory: "_PumpMemory", lib: ctypes.CDLL, ptr: int, seq: int) -> None:
        self.memory = memory  # the C pump lives while a slot is held
        self.lib = lib
        self.ptr = ptr
        self.seq = seq
        self.held = True

    def release(self) -> bool:
        if not self.held:
            return False
        self.held = False
        return self.lib.pvp_release(self.ptr, self.seq, 1) == 0

    def __del__(self) -> None:
        if self.held:
            self.held = False
            self.lib.pvp_release(self.ptr, self.seq, 1)


class _PumpMemory:
    """Owns the C pump; destroyed when neither the FramePump nor a ring view needs it.

    Ring views reference this object, not the :class:`FramePump`, so no
    reference cycle runs through ctypes objects (which the garbage collector
    cannot break).
    """

    __slots__ = ("__weakref__", "pointer", "kept")

    def __init__(self, lib: ctypes.CDLL, pointer: int) -> None:
        self.pointer = pointer
        self.kept: Any = None  # zero copy: the SDK buffer the ring views point into
        weakref.finalize(self, _destroy, lib, pointer)



class RingViews:
    """Numpy views of the host ring and its ledger (mixed into ``FramePump``).

    Expects ``_lib``, ``_ptr``, ``_memory``, ``_slots_mapped``, ``frame_bytes``,
    ``frame_shape`` and ``dtype`` on the instance.
    """

    _lib: Any
    _ptr: int
    _memory: "_PumpMemory"
    _slots_mapped: int
    inplace: bool
    sdk_buffer: int
    sdk_frames: int
    frame_bytes: int
    frame_shape: tuple[int, ...]
    dtype: np.dtype

    def _columns(self) -> None:
        lib, ptr, frames = self._lib, self._ptr, self._slots_mapped
        addresses = [c_void_p() for _ in range(10)]
        lib.pvp_ring_columns(ptr, *[byref(a) for a in addresses])
        data, numbers, bof, eof, readout, host, lost, index, reason, sdk_seq = (
            a.value for a in addresses)
        owner = self._memory
        raw = _abi.column(data, c_uint8, frames * self.frame_bytes, owner)
        self._data = np.frombuffer(raw, dtype=self.dtype).reshape((frames,) + self.frame_shape)
        self._frame_numbers = np.frombuffer(_abi.column(numbers, c_int64, frames, owner), np.int64)
        self._bof = np.frombuffer(_abi.column(bof, c_int64, frames, owner), np.int64)
        self._eof = np.frombuffer(_abi.column(eof, c_int64, frames, owner), np.int64)
        self._readout = np.frombuffer(_abi.column(readout, c_int64, frames, owner), np.int64)
        self._host = np.frombuffer(_abi.column(host, c_double, frames, owner), np.float64)
        self._lost = np.frombuffer(_abi.column(lost, c_int64, frames, owner), np.int64)
        self._index = np.frombuffer(_abi.column(index, c_int64, frames, owner), np.int64)
        self._reason = np.frombuffer(_abi.column(reason, c_uint8, frames, owner), np.uint8)
        self._sdk_seq = np.frombuffer(_abi.column(sdk_seq, c_int64, frames, owner), np.int64)
        self._sdk_data: Optional[np.ndarray] = None
        if self.inplace:  # frames in place are views of the SDK's buffer (kept by the owner)
            raw = _abi.column(self.sdk_buffer, c_uint8, self.sdk_frames * self.frame_bytes, owner)
            self._sdk_data = np.frombuffer(raw, dtype=self.dtype).reshape(
                (self.sdk_frames,) + self.frame_shape)

    def _pixels(self, first: int, count: int) -> np.ndarray:
        """Pixels of ledger rows first..first+count-1 (one memory: a run never mixes)."""
        seq = int(self._sdk_seq[first])
        if seq >= 0 and self._sdk_data is not None:
            slot = seq % self.sdk_frames
            return self._sdk_data[slot:slot + count]
        return self._data[first:first + count]

    # ------------------------------------------------------------------ readers
    def take(self, timeout: Optional[float] = None,
             max_frames: Optional[int] = None) -> Union[FrameBlock, None, Any]:
        """Wait for >= 1 frame and take a contiguous run of them, GIL released.

        Parameters
        ----------
        timeout : float, optional
            Seconds; None waits until frames come or the pump finished.
        max_frames : int, optional
            At most this many frames (default: every contiguous ready frame).

        Returns
        -------
        FrameBlock, None or END
            A block whose ``data`` is a view into the host ring, valid until
            its :meth:`~ophyd_pvcam.engine.frameblock.FrameBlock.release`
            (which gives the slots back; a block that is never released
            keeps its slots); None on timeout;
            :data:`~ophyd_pvcam.engine.stream.delivery.END` once :meth:`finish` ran
            and every frame was taken.
        """
        taken = self._take_raw(timeout, max_frames)
        if taken is None or taken is END:
            return taken
        return self._block(*taken)

    def _take_raw(self, timeout: Optional[float], max_frames: Optional[int]) -> Any:
        start = c_uint64()
        limit = int(max_frames) if max_frames else 0
        if timeout is None:
            while True:
                count = self._lib.pvp_take(self._ptr, _WAIT_SLICE, limit, byref(start))
                if count:
                    break
        else:
            count = self._lib.pvp_take(self._ptr, max(0.0, float(timeout)), limit, byref(start))
        if count == 0:
            return None
        if count < 0:
            return END
        return start.value, int(count)

    def _block(self, seq: int, count: int) -> FrameBlock:
        first = seq % self._slots_mapped
        rows = slice(first, first + count)
        lib, ptr = self._lib, self._ptr

        def release() -> None:
            if lib.pvp_release(ptr, seq, count):
                raise AcquisitionError(f"ring slots {seq}..{seq + count - 1} were not taken "
                                       f"or were released already", None, "pvp_release")

        block = FrameBlock(self._pixels(first, count), frame_numbers=self._frame_numbers[rows],
                          timestamp_bof=self._bof[rows], timestamp_eof=self._eof[rows],
                          readout_time=self._readout[rows], host_time=self._host[rows],
                          lost_before=self._lost[rows], first_index=int(self._index[first]),
                          release=release)
        return block

    def take_frames(self, timeout: Optional[float] = None,
                    max_frames: Optional[int] = None) -> Union[list[Frame], None, Any]:
        """Like :meth:`take`, as frames that each hold their own ring slot.

        Each frame's ``data`` is a view into the ring whose slot is given
        back when nothing refers to that view any more, or on
        :meth:`release_frame`. No pixel is copied: what a consumer keeps
        stays in the ring (within the memory budget), what it drops is
        reused at once.

        Parameters
        ----------
        timeout : float, optional
        max_frames : int, optional

        Returns
        -------
        list of Frame, None or END
        """
        taken = self._take_raw(timeout, max_frames)
        if taken is None or taken is END:
            return taken
        seq, count = taken
        first = seq % self._slots_mapped
        rows = slice(first, first + count)
        ledger = zip(self._frame_numbers[rows].tolist(), self._bof[rows].tolist(),
                     self._eof[rows].tolist(), self._readout[rows].tolist(),
                     self._host[rows].tolist(), self._index[rows].tolist(),
                     self._lost[rows].tolist())
        address = self._pixels(first, count).ctypes.data
        nbytes, dtype, shape = self.frame_bytes, self.dtype, self.frame_shape
        memory, lib, ptr = self._memory, self._lib, self._ptr
        frames = []
        for i, (number, bof, eof, readout, host, index, lost) in enumerate(ledger):
            raw = _abi.column(address + i * nbytes, c_uint8, nbytes,
                              _SlotRef(memory, lib, ptr, seq + i))
            frames.append(Frame(number, np.frombuffer(raw, dtype=dtype).reshape(shape), bof,
                                eof, readout, host, index, lost))
        return frames

    @staticmethod
    def release_frame(frame: Frame) -> bool:
        """Give a frame's ring slot back now (a frame from :meth:`frame_views`).

        Parameters
        ----------
        frame : Frame

        Returns
        -------
        bool
            False when the frame does not hold a slot (or gave it back already).
        """
        base = getattr(frame.data, "base", None)
        for _ in range(8):  # ndarray views chain up to the ctypes buffer that holds the slot
            if base is None:
                break
            owner = getattr(base, "_owner", None)
            if isinstance(owner, _SlotRef):
                return owner.release()
            base = getattr(base, "base", None)
        return False

    def loss_reasons(self, block: FrameBlock) -> list[Optional[str]]:
        """The reason of each frame's ``lost_before`` in a block (None where 0).

        Parameters
        ----------
        block : FrameBlock
            A block from :meth:`take` that was not released yet.

        Returns
        -------
        list of str or None
        """
        reasons = LOSS_REASONS + ("restart",)
        return [reasons[min(int(code), len(reasons) - 1)] if lost else None
                for lost, code in zip(block.lost_before, self._reason_rows(block))]

    def _reason_rows(self, block: FrameBlock) -> np.ndarray:
        base = self._frame_numbers.ctypes.data
        offset = (block.frame_numbers.ctypes.data - base) // 8
        return self._reason[offset:offset + len(block)]
