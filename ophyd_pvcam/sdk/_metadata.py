"""Frame-metadata calls of :class:`~ophyd_pvcam.sdk.binding.PVCAMLibrary` (``pl_md_*``).

With ``PARAM_METADATA_ENABLED`` on, every frame in the buffer starts with an
``md_frame_header`` and each ROI with an ``md_frame_roi_header``; these calls find
the pixels (decode), put ROIs back into one image (recompose) and read extended
metadata. Each method is one C call that raises the matching
:class:`~ophyd_pvcam.sdk.errors.SDKError` on ``PV_FAIL`` (192
``PL_ERR_METADATA_INVALID`` for a frame without valid metadata — always the case
on the simulator, which never produces metadata).

Decoded structures point INTO the frame buffer: keep the buffer alive, and do not
let the library overwrite it, while reading them. A mixin relying on the core
class for ``_call`` and on :class:`~._extras.ExtraCalls` for ``_release_struct``.
"""
from __future__ import annotations

from ctypes import POINTER, byref
from typing import Any, Optional

from ._convert import (
    BufferLike,
    buffer_address,
    check_range,
    require_instance,
    sized_buffer,
)
from .errors import BufferSizeError
from .types import md_ext_item_collection, md_frame

__all__ = ["MetadataCalls"]

_MD_FRAME_P = POINTER(md_frame)
_FRAME_EXPECTED = "the frame must be an md_frame or a POINTER(md_frame)"


def _frame_argument(frame: Any, call: str) -> Any:
    """Return what ctypes passes as ``md_frame*``: the pointer itself, or a reference."""
    if isinstance(frame, md_frame):
        return byref(frame)
    return require_instance(frame, _MD_FRAME_P, _FRAME_EXPECTED, call)


class MetadataCalls:
    """Decoding of metadata-carrying frames (mixed into ``PVCAMLibrary``)."""

    def md_create_frame_struct_cont(self, roi_count: int) -> Any:
        """Allocate an empty decoded-frame structure for ``roi_count`` ROIs.

        Calls ``pl_md_create_frame_struct_cont``; the result is reused by
        :meth:`md_frame_decode` for every frame of an acquisition.

        Parameters
        ----------
        roi_count : int
            ROI capacity, 1..65535 (the number of regions of the acquisition).

        Returns
        -------
        ctypes.POINTER(md_frame)
            Library-owned; free it with :meth:`md_release_frame_struct`.

        Raises
        ------
        ValueRejectedError
            If ``roi_count`` does not fit an uns16, or is 0 (library error 164).
        SDKError
            Any other library error.
        """
        call = "pl_md_create_frame_struct_cont"
        frame = _MD_FRAME_P()
        self._call(call, byref(frame), check_range(roi_count, 0, 0xFFFF, "roi_count", call))
        return frame

    def md_create_frame_struct(self, buffer: BufferLike, size: Optional[int] = None) -> Any:
        """Allocate a decoded-frame structure sized for the frame in ``buffer``.

        Calls ``pl_md_create_frame_struct``, which reads the ROI count from the
        frame's metadata header.

        Parameters
        ----------
        buffer : numpy.ndarray, ctypes object, writable buffer or int
            One acquired frame, headers included.
        size : int, optional
            Bytes of the frame; default the whole buffer (required for a raw address).

        Returns
        -------
        ctypes.POINTER(md_frame)
            Library-owned; free it with :meth:`md_release_frame_struct`.

        Raises
        ------
        ArgumentError
            If ``buffer`` is not usable memory, or a raw address comes without ``size``.
        BufferSizeError
            If ``size`` exceeds the buffer.
        SDKError
            The library's error: 192 ``PL_ERR_METADATA_INVALID`` if the frame has no
            valid metadata, 153 for a NULL buffer.
        """
        call = "pl_md_create_frame_struct"
        address, size = sized_buffer(buffer, size, call)
        frame = _MD_FRAME_P()
        self._call(call, byref(frame), address or None, size)
        return frame

    def md_release_frame_struct(self, frame: Any) -> None:
        """Free a structure from an ``md_create_frame_struct*`` method.

        Calls ``pl_md_release_frame_struct``. ``frame`` is set to NULL afterwards, so
        releasing it twice fails with 153 instead of freeing twice.

        Parameters
        ----------
        frame : ctypes.POINTER(md_frame)
            The pointer :meth:`md_create_frame_struct_cont` or
            :meth:`md_create_frame_struct` returned.

        Raises
        ------
        ArgumentError
            If ``frame`` is not a ``POINTER(md_frame)``.
        SDKError
            The library's error (153 ``PL_ERR_NULL_POINTER`` for NULL).
        """
        self._release_struct("pl_md_release_frame_struct", frame, _MD_FRAME_P,
                             "the frame must be a POINTER(md_frame)")

    def md_frame_decode(self, frame: Any, buffer: BufferLike, size: Optional[int] = None) -> None:
        """Decode the frame in ``buffer`` into ``frame`` (``pl_md_frame_decode``).

        Parameters
        ----------
        frame : md_frame or ctypes.POINTER(md_frame)
            Destination, normally from :meth:`md_create_frame_struct_cont` with enough
            ROI capacity. Its pointers then lead into ``buffer``.
        buffer : numpy.ndarray, ctypes object, writable buffer or int
            One acquired frame, headers included.
        size : int, optional
            Bytes of the frame; default the whole buffer (required for a raw address).

        Raises
        ------
        ArgumentError
            If ``frame`` or ``buffer`` is of the wrong kind, or a raw address comes
            without ``size``.
        BufferSizeError
            If ``size`` exceeds the buffer.
        SDKError
            The library's error: 192 ``PL_ERR_METADATA_INVALID`` if the frame has no
            valid metadata, 153 for NULL arguments.
        """
        call = "pl_md_frame_decode"
        destination = _frame_argument(frame, call)
        address, size = sized_buffer(buffer, size, call)
        self._call(call, destination, address or None, size)

    def md_frame_recompose(self, destination: BufferLike, offset_x: int, offset_y: int,
                           width: int, height: int, frame: Any) -> None:
        """Copy the ROIs of a decoded frame into one image (``pl_md_frame_recompose``).

        Parameters
        ----------
        destination : numpy.ndarray, ctypes object, writable buffer or int
            The image, ``width`` x ``height`` pixels of the frame's pixel type. The C
            call takes no size, so only the lower bound of one byte per pixel is
            checked (when the size is known).
        offset_x, offset_y : int
            Sensor coordinates of the image's top-left pixel (uns16).
        width, height : int
            Image size in pixels (uns16).
        frame : md_frame or ctypes.POINTER(md_frame)
            A frame decoded by :meth:`md_frame_decode`.

        Raises
        ------
        ArgumentError
            If ``destination`` or ``frame`` is of the wrong kind.
        BufferSizeError
            If ``destination`` is smaller than ``width * height`` bytes.
        ValueRejectedError
            If an offset or size does not fit an uns16.
        SDKError
            The library's error (192 ``PL_ERR_METADATA_INVALID`` for a frame that was
            not decoded, 153 for NULL arguments).
        """
        call = "pl_md_frame_recompose"
        source = _frame_argument(frame, call)
        coordinates = [check_range(value, 0, 0xFFFF, name, call) for name, value in
                       (("offset_x", offset_x), ("offset_y", offset_y),
                        ("width", width), ("height", height))]
        address, known = buffer_address(destination, call)
        if known is not None and known < coordinates[2] * coordinates[3]:
            raise BufferSizeError(
                f"a {width} x {height} image needs at least {width * height} bytes, "
                f"the buffer has {known}", None, call)
        self._call(call, address or None, *coordinates, source)

    def md_read_extended(self, data: BufferLike, size: Optional[int] = None) -> Any:
        """Parse extended metadata (``pl_md_read_extended``).

        Parameters
        ----------
        data : numpy.ndarray, ctypes object, writable buffer or int
            The extended-metadata block, e.g. ``frame.contents.extMdData`` (an address)
            of a decoded frame.
        size : int, optional
            Bytes of the block, e.g. ``extMdDataSize``; required for an address.

        Returns
        -------
        md_ext_item_collection
            ``count`` items whose values point into ``data``.

        Raises
        ------
        ArgumentError
            If ``data`` is not usable memory, or an address comes without ``size``.
        BufferSizeError
            If ``size`` exceeds the buffer.
        SDKError
            The library's error: 192 ``PL_ERR_METADATA_INVALID`` for malformed data,
            153 for NULL.
        """
        call = "pl_md_read_extended"
        address, size = sized_buffer(data, size, call)
        collection = md_ext_item_collection()
        self._call(call, byref(collection), address or None, size)
        return collection
