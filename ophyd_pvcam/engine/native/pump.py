"""The native frame pump: :class:`FramePump`, a C thread that drains the SDK.

The pump is a small C library of ours (``libpvcam_pump.so``, built at
install next to the simulator). It drives the SDK through the same loaded
``libpvcam`` the binding uses: Python hands it the addresses of
``pl_exp_get_oldest_frame``, ``pl_exp_unlock_oldest_frame``,
``pl_exp_check_cont_status_ex``, ``pl_cam_register_callback_ex3``,
``pl_cam_deregister_callback`` and ``pl_error_code`` taken from its own
ctypes handle, so it runs on the vendor library and the simulator alike.

What runs where::

    SDK thread:     EOF callback (C) -- FRAME_INFO into a table, counter, condition
    "pvcam-pump":   wake (callback or poll interval), drain EVERY frame:
                    get oldest -> copy into the host ring -> unlock, one ledger row each
    reader:         take(): one call, GIL released, waits for >= 1 frame and
                    returns a FrameBlock whose data is a view into the ring
    supervisor:     wait_event(): losses, overrun (173), removal (180), errors, completion

The host ring is one lazily touched mapping of ``ring_frames`` slots (sized
by the caller from :func:`~ophyd_pvcam.engine.budget.host_memory_budget`).
When it is full the pump stops draining (frames wait in the SDK buffer, and
what the camera then overwrites is counted by FrameNr), or, with
``drop_when_full``, drops and counts the newest frames.
"""
from __future__ import annotations

import ctypes
import math
import threading
import weakref
from ctypes import byref, c_double, c_int64, c_uint8, c_uint64, c_void_p
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from ophyd_pvcam.engine.delivery import END
from ophyd_pvcam.engine.errors import AcquisitionError, ValidationError
from ophyd_pvcam.engine.frame import Frame
from ophyd_pvcam.engine.frameblock import FrameBlock
from ophyd_pvcam.engine.native import _abi
from ophyd_pvcam.sdk import constants as C
from ophyd_pvcam.sdk.errors import error_class_for_code
from ophyd_pvcam.sdk.types import EOF_CALLBACK

__all__ = ["FramePump", "PumpCounters", "PumpEvents", "LOSS_REASONS", "check_available",
           "is_available", "library_path"]

#: Loss reasons of the C ledger, as the stream statistics name them.
LOSS_REASONS = _abi.REASONS

# How long one GIL-free wait in take()/wait_event() lasts when the caller waits
# without a timeout: short enough for Ctrl-C to be seen between waits.
_WAIT_SLICE = 0.25
_LOSS_BATCH = 512
_SALVAGE_SLOTS = 16


def library_path() -> Path:
    """Where the built pump library is expected.

    Returns
    -------
    pathlib.Path
        ``ophyd_pvcam/engine/native/lib/libpvcam_pump.so``.
    """
    return _abi.default_library_path()


def check_available() -> None:
    """Raise the reason the pump library cannot be used, if any.

    Raises
    ------
    AcquisitionError
        The library is not built, does not load, or speaks another ABI.
    """
    _abi.load_pump_library()


def is_available() -> bool:
    """True when the pump library is built and loads with the expected ABI.

    Returns
    -------
    bool
    """
    try:
        _abi.load_pump_library()
    except AcquisitionError:
        return False
    return True


class PumpEvents:
    """Bits returned by :meth:`FramePump.wait_event`."""

    #: Loss records wait in the queue (:meth:`FramePump.pop_losses`).
    LOSS = _abi.EV_LOSS
    #: Error 173 (CIRC_NO_OVERWRITE overrun): the pump halted; restart, then resume.
    OVERRUN = _abi.EV_OVERRUN
    #: Another SDK error halted the pump (:meth:`FramePump.halt_error`).
    ERROR = _abi.EV_ERROR
    #: ``max_frames`` frames were delivered: the pump halted.
    COMPLETE = _abi.EV_COMPLETE
    #: Error 180 from a frame call: the camera is gone; the pump halted.
    REMOVED = _abi.EV_REMOVED
    #: :meth:`FramePump.request_stop` was called.
    STOP = _abi.EV_STOP
    #: :meth:`FramePump.wake` was called.
    WOKEN = _abi.EV_WOKEN
    #: Frames were drained since the previous :meth:`FramePump.wait_event`.
    PROGRESS = _abi.EV_PROGRESS
    #: Events after which the pump waits for :meth:`FramePump.resume`.
    HALTING = OVERRUN | ERROR | COMPLETE | REMOVED


class PumpCounters:
    """A snapshot of the pump's counters (:meth:`FramePump.counters`).

    Attributes
    ----------
    consumed : int
        SDK FrameNr of the last frame taken from the SDK buffer (the SDK's
        consumer counter, mirrored).
    signalled_latest, polled_latest : int
        Highest FrameNr announced by an EOF callback / by the SDK's status.
    callbacks, callbacks_total, callback_duplicates, callbacks_missed : int
        EOF callbacks this epoch / in the pump's life / repeated FrameNrs /
        frames drained although their callback never came.
    frames_retrieved, frames_delivered : int
        Frames copied out of the SDK buffer / published into the host ring.
    lost_by_reason : dict of str to int
        Frames the pump counted lost, by reason (``LOSS_REASONS``).
    wakeups, max_batch : int
        Drains that took at least one frame, and the most frames one took.
    last_frame_monotonic : float or None
        ``time.monotonic()`` of the last retrieved frame.
    ring_used, ring_peak, ring_frames, ring_touched_bytes : int
        Host ring slots in use now / at most / in all, and the bytes of it
        ever written (what the ring costs in resident memory at most).
    error_code, error_call : int, str
        The SDK error that halted the pump and the call that failed.
    halted, ended : bool
    copy_seconds, drain_seconds : float
        Time the pump spent copying frames / draining in total.
    pending_lost : int
        Losses not yet attached to a delivered frame's ``lost_before``.
    exhausted : bool
        Zero copy: the burst buffer was used up (FrameNrs the camera skipped
        take slots too) before ``max_frames`` frames; the pump halted.
    """

    __slots__ = ("consumed", "signalled_latest", "polled_latest", "callbacks",
                 "callbacks_total", "callback_duplicates", "callbacks_missed",
                 "frames_retrieved", "frames_delivered", "lost_by_reason", "wakeups",
                 "max_batch", "last_frame_monotonic", "ring_used", "ring_peak", "ring_frames",
                 "ring_touched_bytes", "error_code", "error_call", "halted", "ended",
                 "copy_seconds", "drain_seconds", "pending_lost", "exhausted")

    def __init__(self, raw: _abi.Counters) -> None:
        for name in ("consumed", "signalled_latest", "polled_latest", "callbacks",
                     "callbacks_total", "callback_duplicates", "callbacks_missed",
                     "frames_retrieved", "frames_delivered", "wakeups", "max_batch",
                     "ring_used", "ring_peak", "ring_frames", "ring_touched_bytes",
                     "error_code", "pending_lost"):
            setattr(self, name, int(getattr(raw, name)))
        self.lost_by_reason = {reason: int(raw.lost_by_reason[i])
                               for i, reason in enumerate(LOSS_REASONS)}
        self.last_frame_monotonic = raw.last_frame_ns / 1e9 if raw.last_frame_ns else None
        self.error_call = _abi.ERROR_CALLS.get(int(raw.error_call), "")
        self.halted = bool(raw.halted)
        self.exhausted = bool(raw.exhausted)
        self.ended = bool(raw.ended)
        self.copy_seconds = raw.copy_ns_total / 1e9
        self.drain_seconds = raw.drain_ns_total / 1e9

    def __repr__(self) -> str:
        return (f"<PumpCounters consumed {self.consumed}, delivered {self.frames_delivered}, "
                f"lost {self.lost_by_reason}, ring {self.ring_used}/{self.ring_frames}>")


def _address(function: Any) -> int:
    return ctypes.cast(function, c_void_p).value or 0


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


class FramePump:
    """The native frame pump of one acquisition (see the module notes).

    Parameters
    ----------
    library : PVCAMLibrary
        The loaded SDK (its ``raw`` ctypes handle gives the function addresses).
    handle : int
        The open camera's handle.
    sdk_buffer, sdk_frames, frame_bytes, frame_shape, dtype, ring_frames : optional
        When ``sdk_buffer`` is given, :meth:`attach` is called with these;
        otherwise call it before :meth:`start`.
    use_callbacks : bool
        Wake on EOF callbacks (the pump registers its own, :meth:`register_eof`)
        or poll ``pl_exp_check_cont_status_ex`` every ``poll_interval``.
    overwrite_mode : bool
        The acquisition runs in CIRC_OVERWRITE (overwritten slots are skipped
        and counted); False for CIRC_NO_OVERWRITE (error 173 halts the pump).
    drop_when_full : bool
        A full host ring drops (and counts) frames instead of pausing the drain.
    max_frames : int, optional
        Halt with :attr:`PumpEvents.COMPLETE` after this many delivered frames.
    poll_interval : float
        Polling: seconds between status checks.
    safety_interval : float
        Callbacks: seconds without a callback after which the SDK's status is
        read (frames whose callbacks never came are then drained anyway).
    refresh_interval : float
        Polling: during a long drain, re-read the status this often.
    lag_margin : int
        Frames before a full SDK buffer at which the SDK's true latest FrameNr
        is asked before a slot is trusted.
    metadata : bool
        Frames start with a PVCAM ``md_frame_header``: a FrameNr without a
        callback is then checked against the frame's own number.
    zero_copy : bool
        The SDK's circular buffer is the ring: frames are published where the
        camera wrote them, never copied. Only for an acquisition that never
        wraps the buffer (a burst of at most ``sdk_frames`` frames): a held
        frame would otherwise be overwritten by the camera. Give the buffer
        to :meth:`keep` so it outlives the ring views.
    path : path-like, optional
        The pump library (default :func:`library_path`).

    Raises
    ------
    AcquisitionError
        When the library is missing or the pump cannot be created.
    ValidationError
        For inconsistent sizes.
    """

    def __init__(self, library: Any, handle: int, *, sdk_buffer: Optional[int] = None,
                 sdk_frames: int = 0, frame_bytes: int = 0,
                 frame_shape: tuple[int, ...] = (), dtype: Any = np.uint16,
                 ring_frames: int = 0, use_callbacks: bool = True, overwrite_mode: bool = True,
                 drop_when_full: bool = False, max_frames: Optional[int] = None,
                 poll_interval: float = 0.001, safety_interval: float = 0.05,
                 refresh_interval: float = 1e-4, lag_margin: int = 4, metadata: bool = False,
                 zero_copy: bool = False, path: Optional[Union[str, Path]] = None) -> None:
        self._lib = _abi.load_pump_library(Path(path) if path is not None else None)
        self.zero_copy = bool(zero_copy)
        self.library = library
        self.handle = int(handle)
        self.use_callbacks = bool(use_callbacks)
        self.frame_bytes = 0
        self.ring_frames = 0
        self._slots_mapped = 0
        self.sdk_buffer = 0
        raw = library.raw
        self._sdk = _abi.Sdk(
            get_oldest_frame=_address(raw.pl_exp_get_oldest_frame),
            unlock_oldest_frame=_address(raw.pl_exp_unlock_oldest_frame),
            check_cont_status_ex=_address(raw.pl_exp_check_cont_status_ex),
            register_callback_ex3=_address(raw.pl_cam_register_callback_ex3),
            deregister_callback=_address(raw.pl_cam_deregister_callback),
            error_code=_address(raw.pl_error_code))
        config = _abi.Config(
            hcam=self.handle, use_callbacks=int(self.use_callbacks),
            overwrite_mode=int(bool(overwrite_mode)), drop_when_full=int(bool(drop_when_full)),
            max_frames=int(max_frames or 0), poll_interval_ns=_ns(poll_interval),
            safety_interval_ns=_ns(safety_interval), refresh_ns=_ns(refresh_interval),
            lag_margin=int(lag_margin), metadata_frame_nr=int(bool(metadata)),
            zero_copy=int(self.zero_copy))
        pointer = c_void_p()
        rc = self._lib.pvp_create(byref(self._sdk), byref(config), byref(pointer))
        if rc != 0:
            raise AcquisitionError(f"cannot create the native frame pump: errno {rc}", None,
                                   "pvp_create")
        self._ptr = pointer.value
        self._memory = _PumpMemory(self._lib, self._ptr)
        self._started = False
        self._joined = False
        self._registered_here = False
        #: The pump's EOF callback as a ctypes function object, to register with
        #: ``context`` (:attr:`context`) when the caller registers it itself.
        self.eof_callback = EOF_CALLBACK(_address(self._lib.pvp_eof_callback))
        if sdk_buffer is not None:
            self.attach(sdk_buffer=sdk_buffer, sdk_frames=sdk_frames, frame_bytes=frame_bytes,
                        frame_shape=frame_shape, dtype=dtype, ring_frames=ring_frames)

    @property
    def context(self) -> int:
        """The ``void*`` context the EOF callback must be registered with (the pump)."""
        return int(self._ptr)

    def attach(self, *, sdk_buffer: int, sdk_frames: int, frame_bytes: int,
               frame_shape: tuple[int, ...], dtype: Any, ring_frames: int,
               zero_copy: Optional[bool] = None) -> None:
        """Give the pump the SDK's circular buffer and allocate the host ring.

        Before :meth:`start`; may be repeated before it (e.g. after a
        buffer-mode fallback changed the frame size).

        Parameters
        ----------
        sdk_buffer : int
            Address of the circular buffer given to ``pl_exp_start_cont``.
        sdk_frames : int
            Its capacity in frames.
        frame_bytes : int
            Bytes of one frame (from the setup call).
        frame_shape : tuple of int
            Shape of one frame's pixels (``(height, width)``, or ``(n,)``).
        dtype : numpy dtype
            Pixel type; ``frame_shape`` x itemsize must equal ``frame_bytes``.
        ring_frames : int
            Host ring capacity in frames (>= 1; ignored in zero copy).
        zero_copy : bool, optional
            Change the pump's ``zero_copy`` mode (see the class parameters).

        Raises
        ------
        ValidationError
            For inconsistent sizes.
        AcquisitionError
            When the ring cannot be mapped or the pump already started.
        """
        dtype = np.dtype(dtype)
        shape = tuple(int(n) for n in frame_shape)
        if int(np.prod(shape)) * dtype.itemsize != int(frame_bytes) or not shape:
            raise ValidationError(f"frame shape {shape} of {dtype} is not {frame_bytes} bytes",
                                  None, "FramePump")
        if int(ring_frames) < 1 or int(sdk_frames) < 1:
            raise ValidationError(f"ring_frames and sdk_frames must be >= 1, got "
                                  f"{ring_frames} and {sdk_frames}", None, "FramePump")
        if zero_copy is not None:
            self.zero_copy = bool(zero_copy)
        rc = self._lib.pvp_attach(self._ptr, int(sdk_buffer), int(sdk_frames), int(frame_bytes),
                                  int(ring_frames), int(self.zero_copy))
        if rc:
            raise AcquisitionError(f"cannot attach the native frame pump ({ring_frames} x "
                                   f"{frame_bytes} B host ring): errno {rc}", None, "pvp_attach")
        self.dtype = dtype
        self.frame_shape = shape
        self.frame_bytes = int(frame_bytes)
        self.ring_frames = int(sdk_frames) if self.zero_copy else int(ring_frames)
        # slots mapped: the ring plus the salvage slots (src/pump.h PVP_SALVAGE_SLOTS)
        self._slots_mapped = self.ring_frames + (0 if self.zero_copy else _SALVAGE_SLOTS)
        self.sdk_buffer = int(sdk_buffer)
        self._columns()

    def keep(self, memory: Any) -> None:
        """Keep ``memory`` (the SDK buffer, in zero copy) alive as long as any ring view.

        Parameters
        ----------
        memory : object
        """
        self._memory.kept = memory

    def mark_eof_registered(self, registered: bool) -> None:
        """Tell the pump whether its callback is registered (when the caller registers it).

        While registered, the pump's memory is never freed (the SDK may call in).

        Parameters
        ----------
        registered : bool
        """
        self._lib.pvp_mark_eof_registered(self._ptr, int(bool(registered)))

    def _columns(self) -> None:
        lib, ptr, frames = self._lib, self._ptr, self._slots_mapped
        addresses = [c_void_p() for _ in range(9)]
        lib.pvp_ring_columns(ptr, *[byref(a) for a in addresses])
        data, numbers, bof, eof, readout, host, lost, index, reason = (
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

    def __repr__(self) -> str:
        return (f"<FramePump camera {self.handle}, ring {self.ring_frames} x "
                f"{self.frame_bytes} B, {'callbacks' if self.use_callbacks else 'polling'}>")

    # ------------------------------------------------------------------ SDK side
    def _raise_sdk(self, code: int, call: str) -> None:
        if code < 0:
            raise AcquisitionError(f"{call} is not available in {self.library}", None, call)
        raise error_class_for_code(code)(self.library.error_message(code), code, call)

    def register_eof(self) -> None:
        """Register the pump's own EOF callback (before the acquisition starts).

        Raises
        ------
        SDKError
            The library's error from ``pl_cam_register_callback_ex3``.
        """
        rc = self._lib.pvp_register_eof(self._ptr, int(C.PL_CALLBACK_EOF))
        if rc:
            self._raise_sdk(rc, "pl_cam_register_callback_ex3")

    def deregister_eof(self) -> None:
        """Deregister the EOF callback (no-op when not registered; never from a callback).

        Raises
        ------
        SDKError
            The library's error from ``pl_cam_deregister_callback``.
        """
        rc = self._lib.pvp_deregister_eof(self._ptr, int(C.PL_CALLBACK_EOF))
        if rc:
            self._raise_sdk(rc, "pl_cam_deregister_callback")

    # ------------------------------------------------------------------ thread
    def start(self) -> None:
        """Start the ``pvcam-pump`` thread (the acquisition should be running).

        Raises
        ------
        AcquisitionError
            When the thread cannot be created or was started before.
        """
        rc = self._lib.pvp_start(self._ptr)
        if rc:
            raise AcquisitionError(f"cannot start the pump thread (errno {rc})", None, "pvp_start")
        self._started = True

    def request_stop(self) -> None:
        """Ask the pump thread to end, and wake every waiter (any thread)."""
        self._lib.pvp_request_stop(self._ptr)

    def wake(self) -> None:
        """Wake :meth:`wait_event` with :attr:`PumpEvents.WOKEN` (any thread)."""
        self._lib.pvp_wake(self._ptr)

    def join(self) -> None:
        """Stop the pump thread and wait for it (idempotent)."""
        if self._started and not self._joined:
            self._lib.pvp_request_stop(self._ptr)
            self._lib.pvp_join(self._ptr)
            self._joined = True

    def pause(self, timeout: float = 5.0) -> None:
        """Park the pump thread: afterwards it makes no SDK call until :meth:`resume`.

        Parameters
        ----------
        timeout : float
            Seconds to wait for the thread to park.

        Raises
        ------
        AcquisitionError
            When it did not park in time.
        """
        if self._lib.pvp_pause(self._ptr, float(timeout)):
            raise AcquisitionError(f"the pump thread did not pause within {timeout} s",
                                   None, "pvp_pause")

    def resume(self) -> None:
        """Let a paused or halted pump drain again (clears the halting events)."""
        self._lib.pvp_resume(self._ptr)

    def new_epoch(self, offset: int, lost: int = 0) -> None:
        """The acquisition was restarted (paused pump): FrameNr starts at 1 again.

        Call after stopping and before starting the SDK again.

        Parameters
        ----------
        offset : int
            Stream frame number = ``offset`` + FrameNr from now on.
        lost : int
            Frames the restart lost (counted by the caller): added to the next
            delivered frame's ``lost_before``.
        """
        self._lib.pvp_new_epoch(self._ptr, int(offset), int(lost))

    def set_metadata(self, metadata: bool) -> None:
        """Whether frames start with a PVCAM ``md_frame_header`` (before :meth:`start`).

        Parameters
        ----------
        metadata : bool
        """
        self._lib.pvp_set_metadata(self._ptr, int(bool(metadata)))

    def set_overwrite_mode(self, overwrite: bool) -> None:
        """Tell the pump the buffer mode that started (before :meth:`start`).

        Parameters
        ----------
        overwrite : bool
            True for CIRC_OVERWRITE, False for CIRC_NO_OVERWRITE.
        """
        self._lib.pvp_set_overwrite_mode(self._ptr, int(bool(overwrite)))

    def note_latest(self, latest: int) -> None:
        """Allow draining up to SDK FrameNr ``latest`` (read from the SDK by the caller).

        Parameters
        ----------
        latest : int
        """
        self._lib.pvp_note_latest(self._ptr, int(latest))

    def salvage(self, newest: int) -> int:
        """Copy completed frames up to ``newest`` straight from the stopped SDK buffer.

        Only with the pump paused and the SDK stopped (or the camera gone).

        Parameters
        ----------
        newest : int
            The highest FrameNr known complete.

        Returns
        -------
        int
            Frames salvaged (the rest of a full host ring stays pending).
        """
        return int(self._lib.pvp_salvage_frames(self._ptr, int(newest)))

    def finish(self) -> None:
        """No more frames will come: readers get :data:`~ophyd_pvcam.engine.delivery.END`."""
        self._lib.pvp_finish(self._ptr)

    # ------------------------------------------------------------------ supervisor
    def wait_event(self, timeout: float) -> int:
        """Wait up to ``timeout`` seconds (GIL released) for an event.

        Parameters
        ----------
        timeout : float

        Returns
        -------
        int
            A :class:`PumpEvents` bit mask (0: nothing happened).
        """
        return int(self._lib.pvp_wait_event(self._ptr, max(0.0, float(timeout))))

    def pop_losses(self) -> list[tuple[int, int, str]]:
        """Take the loss records: ``(first, last, reason)`` SDK FrameNr ranges, in order.

        Returns
        -------
        list of tuple
        """
        out: list[tuple[int, int, str]] = []
        records = (_abi.Loss * _LOSS_BATCH)()
        while True:
            n = self._lib.pvp_pop_losses(self._ptr, records, _LOSS_BATCH)
            out.extend((int(r.first), int(r.last), LOSS_REASONS[r.reason])
                       for r in records[:n])
            if n < _LOSS_BATCH:
                return out

    def counters(self) -> PumpCounters:
        """A consistent snapshot of the pump's counters.

        Returns
        -------
        PumpCounters
        """
        raw = _abi.Counters()
        self._lib.pvp_get_counters(self._ptr, byref(raw))
        return PumpCounters(raw)

    def histograms(self) -> dict[str, tuple[list[int], int, int]]:
        """Per-frame timing histograms: name -> (counts per bin, total ns, max ns).

        Binned like :class:`~ophyd_pvcam.engine.stats.LogHistogram`
        (names of :data:`~ophyd_pvcam.engine.stats.TIMING_NAMES`).

        Returns
        -------
        dict
        """
        raw = _abi.Histograms()
        self._lib.pvp_get_histograms(self._ptr, byref(raw))
        return {name: (list(raw.counts[i]), int(raw.total[i]), int(raw.maximum[i]))
                for i, name in enumerate(_abi.HISTOGRAMS)}

    def halt_error(self) -> Optional[BaseException]:
        """The SDK error that halted the pump, as an exception (None if none).

        Returns
        -------
        SDKError or AcquisitionError or None
        """
        counters = self.counters()
        code, call = counters.error_code, counters.error_call or "pump"
        if code == 0:
            return None
        if code < 0:
            return AcquisitionError(
                f"the SDK returned a frame address other than the slot of FrameNr "
                f"{counters.consumed + 1}: the pump's frame numbering is out of step with "
                f"the SDK", None, call)
        return error_class_for_code(code)(self.library.error_message(code), code, call)

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
            :data:`~ophyd_pvcam.engine.delivery.END` once :meth:`finish` ran
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

        block = FrameBlock(self._data[rows], frame_numbers=self._frame_numbers[rows],
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
        address = self._data.ctypes.data + first * self.frame_bytes
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
        owner = getattr(getattr(frame.data, "base", None), "_owner", None)
        if isinstance(owner, _SlotRef):
            return owner.release()
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

    def close(self) -> None:
        """Stop the thread; the memory goes once nothing refers to the pump.

        The EOF callback must have been deregistered (:meth:`deregister_eof`);
        otherwise the memory is kept (the SDK might still call into it).
        """
        self.join()


def _ns(seconds: float) -> int:
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ValidationError(f"interval must be a positive number of seconds, got {seconds!r}",
                              None, "FramePump")
    return int(seconds * 1e9)
