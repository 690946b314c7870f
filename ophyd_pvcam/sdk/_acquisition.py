"""Acquisition calls of :class:`~ophyd_pvcam.sdk.binding.PVCAMLibrary` (``pl_exp_*``).

A mixin: it relies on the core class for ``_call``/``_raise``, ``_lock`` and the
per-camera ``_buffers`` / ``_setup_bytes`` tables. The library writes into the
caller's memory asynchronously, so every started acquisition keeps its buffer
object referenced here until it is finished, stopped, aborted or the camera closed.
"""
from __future__ import annotations

from ctypes import byref, c_int16, c_uint32, c_void_p
from typing import Optional, Sequence, Union

from . import constants as C
from ._convert import BufferLike, buffer_address, check_range, region_array
from .errors import BufferSizeError, SDKError
from .types import FRAME_INFO, FrameInfo, RegionLike

__all__ = ["AcquisitionCalls"]


class AcquisitionCalls:
    """Sequence, circular-buffer and trigger calls (mixed into ``PVCAMLibrary``)."""

    _buffers: dict
    _setup_bytes: dict

    def _attach_buffer(self, hcam: int, buffer: BufferLike, size: Optional[int], call: str,
                       required: Optional[int]) -> tuple[int, int]:
        """Resolve a buffer, check its size, and keep it alive while the library writes."""
        try:
            address, known = buffer_address(buffer, call)
        except TypeError as exc:
            raise BufferSizeError(str(exc), None, call) from exc
        if size is None:
            size = known if known is not None else (required or 0)
        if known is not None and size > known:
            raise BufferSizeError(
                f"size {size} exceeds the {known}-byte buffer given", None, call)
        if required is not None and size < required:
            raise BufferSizeError(
                f"the acquisition needs {required} bytes but the buffer has {size}", None, call)
        if address == 0:
            raise BufferSizeError("a frame buffer is required (got NULL)", None, call)
        with self._lock:
            self._buffers[hcam] = buffer
        return address, size

    def _remember_setup(self, hcam: int, nbytes: int) -> int:
        """Record the bytes a setup requires (the next start checks its buffer against them)."""
        with self._lock:
            self._setup_bytes[hcam] = nbytes
        return nbytes

    def _release_buffer(self, hcam: int) -> None:
        with self._lock:
            self._buffers.pop(hcam, None)

    def _start_into(self, call: str, hcam: int, buffer: BufferLike, size: Optional[int],
                    pass_size: bool) -> None:
        """Attach ``buffer`` and start ``call`` into it; drop the buffer if the start fails."""
        address, size = self._attach_buffer(hcam, buffer, size, call, self._setup_bytes.get(hcam))
        try:
            if pass_size:
                self._call(call, hcam, address,
                           check_range(size, 0, 2**32 - 1, "buffer size", call))
            else:
                self._call(call, hcam, address)
        except SDKError:
            self._release_buffer(hcam)
            raise

    def _call_releasing(self, call: str, hcam: int, *args: object) -> None:
        """Make an ending call; the buffer reference goes whether or not it succeeds."""
        try:
            self._call(call, hcam, *args)
        finally:
            self._release_buffer(hcam)

    def _frame_getter(self, call: str, hcam: int,
                      with_info: bool) -> Union[int, tuple[int, FrameInfo]]:
        """Run a ``pl_exp_get_*_frame[_ex]`` call; return the address (and FrameInfo).

        Not used by :meth:`exp_get_oldest_frame`: that one is per-frame and calls
        its pre-bound function directly.
        """
        address = c_void_p()
        if not with_info:
            self._call(call, hcam, byref(address))
            return address.value or 0
        info = FRAME_INFO()
        self._call(call, hcam, byref(address), byref(info))
        return address.value or 0, FrameInfo.from_struct(info)

    # ------------------------------------------------------------------ sequences
    def exp_setup_seq(self, hcam: int, exp_total: int,
                      regions: Union[RegionLike, Sequence[RegionLike]],
                      exp_mode: int, exposure: int) -> int:
        """Prepare a sequence of ``exp_total`` frames (``pl_exp_setup_seq``).

        Parameters
        ----------
        hcam : int
            Camera handle.
        exp_total : int
            Frames in the sequence (1..65535; 0 is passed through and the library
            answers 191).
        regions : RGN_TYPE, 6-tuple, or sequence of those
            The acquisition regions.
        exp_mode : int
            Extended trigger mode OR expose-out mode (e.g. ``EXT_TRIG_INTERNAL``).
        exposure : int
            Exposure in ``PARAM_EXP_RES`` units.

        Returns
        -------
        int
            Bytes of the whole sequence.

        Raises
        ------
        AcquisitionSetupError
            If ``regions`` is empty or malformed, or the library refuses the region,
            binning or mode (181-184), or ``exp_total`` is 0 (191).
        ValueRejectedError
            If a number does not fit its C type, or the exposure is out of range (187).
        SDKError
            Any other library error.
        """
        call = "pl_exp_setup_seq"
        count, array = region_array(regions, call)
        exp_bytes = c_uint32()
        self._call(call, hcam, check_range(exp_total, 0, 0xFFFF, "exp_total", call), count, array,
                   check_range(exp_mode, -32768, 32767, "exp_mode", call),
                   check_range(exposure, 0, 2**32 - 1, "exposure", call), byref(exp_bytes))
        return self._remember_setup(hcam, exp_bytes.value)

    def exp_start_seq(self, hcam: int, buffer: BufferLike) -> None:
        """Start the prepared sequence into ``buffer`` (``pl_exp_start_seq``).

        Parameters
        ----------
        hcam : int
            Camera handle.
        buffer : numpy.ndarray, ctypes object, writable buffer or int
            At least the size :meth:`exp_setup_seq` returned; kept referenced until
            :meth:`exp_finish_seq`, :meth:`exp_abort` or close.

        Raises
        ------
        BufferSizeError
            If the buffer is unusable, NULL or smaller than the sequence.
        SDKError
            The library's error (e.g. ``ConfigurationInvalidError`` 185 without a
            valid setup).
        """
        self._start_into("pl_exp_start_seq", hcam, buffer, None, False)

    def exp_check_status(self, hcam: int) -> tuple[int, int]:
        """Return ``(status, bytes_arrived)`` of a sequence (``pl_exp_check_status``).

        Parameters
        ----------
        hcam : int
            Camera handle.

        Returns
        -------
        status : int
            ``READOUT_COMPLETE`` when the sequence is done, else ``EXPOSURE_IN_PROGRESS``,
            ``READOUT_IN_PROGRESS``, ``READOUT_NOT_ACTIVE`` or ``READOUT_FAILED``.
        bytes_arrived : int
            Bytes of the sequence written so far.

        Raises
        ------
        SDKError
            The library's error.
        """
        status = c_int16()
        arrived = c_uint32()
        self._call("pl_exp_check_status", hcam, byref(status), byref(arrived))
        return status.value, arrived.value

    def exp_finish_seq(self, hcam: int, buffer: BufferLike = None) -> None:
        """Finish a sequence and release its buffer (``pl_exp_finish_seq``).

        Parameters
        ----------
        hcam : int
            Camera handle.
        buffer : numpy.ndarray, ctypes object, writable buffer, int or None, optional
            The buffer given to :meth:`exp_start_seq`. The binding drops its
            reference even if the call fails.

        Raises
        ------
        ArgumentError
            If ``buffer`` is not usable memory.
        SDKError
            The library's error.
        """
        address, _ = buffer_address(buffer, "pl_exp_finish_seq")
        self._call_releasing("pl_exp_finish_seq", hcam, address, 0)

    # ------------------------------------------------------------------ continuous
    def exp_setup_cont(self, hcam: int, regions: Union[RegionLike, Sequence[RegionLike]],
                       exp_mode: int, exposure: int, buffer_mode: int) -> int:
        """Prepare a circular-buffer acquisition (``pl_exp_setup_cont``).

        Parameters
        ----------
        hcam : int
            Camera handle.
        regions : RGN_TYPE, 6-tuple, or sequence of those
            The acquisition regions.
        exp_mode : int
            Extended trigger mode OR expose-out mode.
        exposure : int
            Exposure in ``PARAM_EXP_RES`` units.
        buffer_mode : int
            ``CIRC_OVERWRITE`` or ``CIRC_NO_OVERWRITE``.

        Returns
        -------
        int
            Bytes of ONE frame; the buffer given to :meth:`exp_start_cont` must be a
            non-zero multiple of it.

        Raises
        ------
        AcquisitionSetupError
            If ``regions`` is empty or malformed, or the library refuses the region,
            binning, trigger or buffer mode (181-184).
        ValueRejectedError
            If a number does not fit its C type, or the exposure is out of range (187).
        SDKError
            Any other library error.
        """
        call = "pl_exp_setup_cont"
        count, array = region_array(regions, call)
        frame_bytes = c_uint32()
        self._call(call, hcam, count, array,
                   check_range(exp_mode, -32768, 32767, "exp_mode", call),
                   check_range(exposure, 0, 2**32 - 1, "exposure", call), byref(frame_bytes),
                   check_range(buffer_mode, -32768, 32767, "buffer_mode", call))
        return self._remember_setup(hcam, frame_bytes.value)

    def exp_start_cont(self, hcam: int, buffer: BufferLike, size: Optional[int] = None) -> None:
        """Start the circular acquisition into ``buffer`` (``pl_exp_start_cont``).

        Parameters
        ----------
        hcam : int
            Camera handle.
        buffer : numpy.ndarray, ctypes object, writable buffer or int
            The circular buffer; referenced until stop/abort/close.
        size : int, optional
            Bytes to use; default the whole buffer (required for a raw address).

        Raises
        ------
        BufferSizeError
            If the buffer is unusable or NULL, ``size`` exceeds it or is below one frame
            (checked here), or is not a multiple of the frame size (171, the library).
        SDKError
            The library's error (e.g. ``ConfigurationInvalidError`` 185 without a
            valid setup).
        """
        self._start_into("pl_exp_start_cont", hcam, buffer, size, True)

    def exp_check_cont_status(self, hcam: int) -> tuple[int, int, int]:
        """Return ``(status, bytes_arrived, buffer_cnt)`` (``pl_exp_check_cont_status``).

        Parameters
        ----------
        hcam : int
            Camera handle.

        Returns
        -------
        status : int
            ``FRAME_AVAILABLE`` whenever an unconsumed frame exists, else
            ``EXPOSURE_IN_PROGRESS``, ``READOUT_IN_PROGRESS``, ``READOUT_NOT_ACTIVE``
            or ``READOUT_FAILED``.
        bytes_arrived : int
            Bytes of the current frame received.
        buffer_cnt : int
            Passes through the circular buffer (latest FrameNr // capacity).

        Raises
        ------
        SDKError
            The library's error.
        """
        status = c_int16()
        arrived = c_uint32()
        passes = c_uint32()
        if not self._check_cont(hcam, byref(status), byref(arrived), byref(passes)):
            self._raise("pl_exp_check_cont_status")
        return status.value, arrived.value, passes.value

    def exp_check_cont_status_ex(self, hcam: int) -> tuple[int, int, int, FrameInfo]:
        """:meth:`exp_check_cont_status` plus the latest :class:`FrameInfo` (``..._status_ex``).

        Parameters
        ----------
        hcam : int
            Camera handle.

        Returns
        -------
        status, bytes_arrived, buffer_cnt : int
            As for :meth:`exp_check_cont_status`.
        info : FrameInfo
            The latest frame's information (``frame_number`` 0 before the first frame).

        Raises
        ------
        SDKError
            The library's error.
        """
        status = c_int16()
        arrived = c_uint32()
        passes = c_uint32()
        info = FRAME_INFO()
        self._call("pl_exp_check_cont_status_ex", hcam, byref(status), byref(arrived),
                   byref(passes), byref(info))
        return status.value, arrived.value, passes.value, FrameInfo.from_struct(info)

    def exp_get_oldest_frame(self, hcam: int) -> int:
        """Return the address of the oldest unconsumed frame (``pl_exp_get_oldest_frame``).

        Does not consume it: call :meth:`exp_unlock_oldest_frame` after copying.

        Parameters
        ----------
        hcam : int
            Camera handle.

        Returns
        -------
        int
            Address of the frame inside the circular buffer.

        Raises
        ------
        DataNotAvailableError
            If no unconsumed frame exists yet (169).
        BufferOverrunError
            In ``CIRC_NO_OVERWRITE`` mode, when the consumer fell a buffer behind (173).
        SDKError
            Any other library error (``AcquisitionSetupError`` 184 when nothing runs).
        """
        address = c_void_p()
        if not self._get_oldest(hcam, byref(address)):
            self._raise("pl_exp_get_oldest_frame")
        return address.value or 0

    def exp_get_oldest_frame_ex(self, hcam: int) -> tuple[int, FrameInfo]:
        """Return ``(address, FrameInfo)`` of the oldest frame (``pl_exp_get_oldest_frame_ex``).

        The 3.10 library fills the *latest* frame's info here; do not use its
        frame number to identify the returned frame.

        Parameters
        ----------
        hcam : int
            Camera handle.

        Returns
        -------
        address : int
            Address of the oldest unconsumed frame.
        info : FrameInfo
            What the library reports (the latest frame's information on 3.10).

        Raises
        ------
        DataNotAvailableError
            If no unconsumed frame exists yet (169).
        SDKError
            Any other library error.
        """
        return self._frame_getter("pl_exp_get_oldest_frame_ex", hcam, True)

    def exp_get_latest_frame(self, hcam: int) -> int:
        """Return the newest frame's address, consuming all up to it (``pl_exp_get_latest_frame``).

        Parameters
        ----------
        hcam : int
            Camera handle.

        Returns
        -------
        int
            Address of the frame inside the acquisition buffer.

        Raises
        ------
        DataNotAvailableError
            If no frame has arrived yet (169).
        SDKError
            Any other library error.
        """
        return self._frame_getter("pl_exp_get_latest_frame", hcam, False)

    def exp_get_latest_frame_ex(self, hcam: int) -> tuple[int, FrameInfo]:
        """Return ``(address, FrameInfo)`` of the newest frame (``pl_exp_get_latest_frame_ex``).

        Parameters
        ----------
        hcam : int
            Camera handle.

        Returns
        -------
        address : int
            Address of the frame inside the acquisition buffer.
        info : FrameInfo
            The frame's information.

        Raises
        ------
        DataNotAvailableError
            If no frame has arrived yet (169).
        SDKError
            Any other library error.
        """
        return self._frame_getter("pl_exp_get_latest_frame_ex", hcam, True)

    def exp_unlock_oldest_frame(self, hcam: int) -> None:
        """Mark the oldest frame consumed (``pl_exp_unlock_oldest_frame``).

        Parameters
        ----------
        hcam : int
            Camera handle.

        Raises
        ------
        SDKError
            The library's error.
        """
        if not self._unlock_oldest(hcam):
            self._raise("pl_exp_unlock_oldest_frame")

    def exp_stop_cont(self, hcam: int, cam_state: int = C.CCS_HALT) -> None:
        """Stop a circular acquisition (``pl_exp_stop_cont``) and release its buffer.

        Parameters
        ----------
        hcam : int
            Camera handle.
        cam_state : int, optional
            ``CCS_*`` state to leave the camera in; default ``CCS_HALT``.

        Raises
        ------
        SDKError
            The library's error (the binding drops its buffer reference anyway).
        """
        self._call_releasing("pl_exp_stop_cont", hcam, cam_state)

    def exp_abort(self, hcam: int, cam_state: int = C.CCS_HALT) -> None:
        """Abort any acquisition (``pl_exp_abort``; harmless when idle) and release its buffer.

        Parameters
        ----------
        hcam : int
            Camera handle.
        cam_state : int, optional
            ``CCS_*`` state to leave the camera in; default ``CCS_HALT``.

        Raises
        ------
        SDKError
            The library's error; the binding drops its buffer reference anyway.
        """
        self._call_releasing("pl_exp_abort", hcam, cam_state)

    def exp_trigger(self, hcam: int) -> int:
        """Send a software trigger (``pl_exp_trigger``).

        Parameters
        ----------
        hcam : int
            Camera handle of an acquisition set up with ``EXT_TRIG_SOFTWARE_*``.

        Returns
        -------
        int
            ``PL_SW_TRIG_STATUS_TRIGGERED`` (0) or ``PL_SW_TRIG_STATUS_IGNORED`` (1,
            the camera was busy exposing).

        Raises
        ------
        NotImplementedBySDKError
            If the library predates PVCAM 2.5 and lacks ``pl_exp_trigger``.
        SDKError
            The library's error (``AcquisitionSetupError`` 184 when nothing runs).
        """
        flags = c_uint32(0)
        self._call("pl_exp_trigger", hcam, byref(flags), 0)
        return flags.value
