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
                    returns a FrameBlock whose data is a view into the ring,
                    or (in place) into the SDK's own circular buffer
    supervisor:     wait_event(): losses, overrun (173), removal (180), errors, completion

The host ring is one lazily touched mapping of ``ring_frames`` slots (sized
by the caller from :func:`~ophyd_pvcam.engine.budget.host_memory_budget`).
When it is full the pump stops draining (frames wait in the SDK buffer, and
what the camera then overwrites is counted by FrameNr), or, with
``drop_when_full``, drops and counts the newest frames.

In place (``inplace=True``, continuous zero copy) a frame is not copied while
the consumer keeps up: its block is a view of the SDK buffer slot the camera
wrote. The SDK's lock would not protect it (the camera overwrites slot
``(n - 1) % capacity`` with frame ``n + capacity`` whether or not ``n`` was
unlocked; CIRC_NO_OVERWRITE only reports it afterwards), so the pump proves
by sequence numbers that each frame was intact from publication to release:
frames the camera reached before a reader took them are dropped from the
block and counted lost, frames it reached while they were held are counted
lost at their release (``held_overwritten``). When the consumer falls more
than half the SDK buffer behind, frames are copied into the host ring again
(``frames_copied``) until it catches up.
"""
from __future__ import annotations

import ctypes
import math
from ctypes import byref, c_void_p
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from ophyd_pvcam.engine.errors import AcquisitionError, ValidationError
from ophyd_pvcam.engine.stream.native import _abi
from ophyd_pvcam.engine.stream.native.counters import LOSS_REASONS, PumpCounters, PumpEvents
from ophyd_pvcam.engine.stream.native.views import RingViews, _PumpMemory
from ophyd_pvcam.sdk import constants as C
from ophyd_pvcam.sdk.errors import error_class_for_code
from ophyd_pvcam.sdk.types import EOF_CALLBACK

__all__ = ["FramePump", "PumpCounters", "PumpEvents", "LOSS_REASONS", "check_available",
           "is_available", "library_path"]

_LOSS_BATCH = 512
_SALVAGE_SLOTS = 16


def library_path() -> Path:
    """Where the built pump library is expected.

    Returns
    -------
    pathlib.Path
        ``ophyd_pvcam/engine/stream/native/lib/libpvcam_pump.so``.
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


def _address(function: Any) -> int:
    return ctypes.cast(function, c_void_p).value or 0


class FramePump(RingViews):
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
    inplace : bool
        Continuous zero copy (see the module notes): frames stay in the SDK
        buffer while the consumer keeps up. Give the buffer to :meth:`keep`,
        and call :meth:`sdk_stopped` after every stop of the SDK.
    coalesce : float
        Callbacks: seconds the pump gathers frames after a drain before the
        next one (0: wake on every callback). Bounds the added latency.
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
                 zero_copy: bool = False, inplace: bool = False, coalesce: float = 0.0,
                 path: Optional[Union[str, Path]] = None) -> None:
        self._lib = _abi.load_pump_library(Path(path) if path is not None else None)
        self.zero_copy = bool(zero_copy)
        self.inplace = bool(inplace) and not self.zero_copy
        self.sdk_frames = 0
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
            zero_copy=int(self.zero_copy), inplace=int(self.inplace),
            coalesce_ns=int(max(0.0, float(coalesce)) * 1e9))
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
               zero_copy: Optional[bool] = None, inplace: Optional[bool] = None) -> None:
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
        inplace : bool, optional
            Change the pump's ``inplace`` mode (ignored with ``zero_copy``).

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
        if inplace is not None:
            self.inplace = bool(inplace)
        self.inplace = self.inplace and not self.zero_copy
        mode = (_abi.MODE_ZERO_COPY if self.zero_copy else
                _abi.MODE_INPLACE if self.inplace else _abi.MODE_COPY)
        rc = self._lib.pvp_attach(self._ptr, int(sdk_buffer), int(sdk_frames), int(frame_bytes),
                                  int(ring_frames), mode)
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
        self.sdk_frames = int(sdk_frames)
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

    def sdk_stopped(self, latest: Optional[int]) -> None:
        """The SDK was stopped (pump paused): its last complete FrameNr, if known.

        In place, a reader that takes or releases frames while the pump is
        paused waits for this (or :meth:`resume`) to prove its frames intact;
        with ``latest`` None, frames held in place are counted lost at their
        release (they cannot be proven intact). Call it after every stop of
        the SDK; harmless without ``inplace``.

        Parameters
        ----------
        latest : int or None
        """
        self._lib.pvp_sdk_stopped(self._ptr, int(latest or 0), int(latest is not None))

    def finish(self) -> None:
        """No more frames will come: readers get :data:`~ophyd_pvcam.engine.stream.delivery.END`."""
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

        Binned like :class:`~ophyd_pvcam.engine.stream.stats.LogHistogram`
        (names of :data:`~ophyd_pvcam.engine.stream.stats.TIMING_NAMES`).

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
