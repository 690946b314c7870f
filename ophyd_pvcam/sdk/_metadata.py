"""Frame-metadata calls of :class:`~ophyd_pvcam.sdk.binding.PVCAMLibrary` (``pl_md_*``).

With ``PARAM_METADATA_ENABLED`` on, every frame in the buffer starts with an
``md_frame_header`` and each ROI with an ``md_frame_roi_header``; these calls find
the pixels (decode), put ROIs back into one image (recompose) and read extended
metadata. Each method is one C call that raises the matching
:class:`~ophyd_pvcam.sdk.errors.SDKError` on ``PV_FAIL`` (192
``PL_ERR_METADATA_INVALID`` for a frame without valid metadata).

:func:`decode_frame_metadata` reads the same layout in Python, without the
library: it needs no camera, no loaded SDK and no ``md_frame`` structure, and
returns plain numbers (offsets into the frame rather than pointers).

Decoded structures point INTO the frame buffer: keep the buffer alive, and do not
let the library overwrite it, while reading them. A mixin relying on the core
class for ``_call`` and on :class:`~._extras.ExtraCalls` for ``_release_struct``.
"""
from __future__ import annotations

import struct
from ctypes import POINTER, byref
from typing import Any, Optional

from ._convert import (
    BufferLike,
    buffer_address,
    check_range,
    require_instance,
    sized_buffer,
)
from . import constants as C
from .errors import ArgumentError, BufferSizeError, SDKError
from .types import FrameMetadata, RoiMetadata, md_ext_item_collection, md_frame

__all__ = ["MetadataCalls", "decode_frame_metadata"]

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


# Packed little-endian layouts (reference section 4, vendor header 3.10).
_HEADER_LEAD = struct.Struct("<IBIH")                  # signature, version, frameNr, roiCount
_HEADER_V1 = struct.Struct("<IBIH6I3BH2B6x")           # v1/v2: 32-bit times with resolutions
_HEADER_V3 = struct.Struct("<IBIH3Q3BH2B6x")           # v3: 64-bit picoseconds
_ROI_HEADER = struct.Struct("<HII6HBHI3x")
_DECODE = "decode_frame_metadata"
assert _HEADER_V1.size == _HEADER_V3.size == 48 and _ROI_HEADER.size == 32


def _invalid(reason: str) -> SDKError:
    return SDKError(f"Invalid frame metadata (PL_ERR_METADATA_INVALID): {reason}",
                    192, _DECODE)


def decode_frame_metadata(frame: BufferLike, size: Optional[int] = None) -> FrameMetadata:
    """Decode the metadata of one frame: its header, its regions and where their pixels are.

    The Python counterpart of ``pl_md_frame_decode``, for frames acquired with
    ``PARAM_METADATA_ENABLED`` on: it checks the signature, reads the header of
    any version (1, 2 or 3), walks the ROI headers and extended-metadata blocks
    and reports every region's pixel offset and size. Times come out in
    picoseconds for every version.

    Parameters
    ----------
    frame : bytes, bytearray, memoryview, numpy.ndarray or ctypes object
        One frame as the library wrote it, headers included (any contiguous
        buffer; an ndarray is read as its raw bytes).
    size : int, optional
        Bytes of the frame; default the whole buffer.

    Returns
    -------
    FrameMetadata
        The header fields and one :class:`~ophyd_pvcam.sdk.types.RoiMetadata` per
        valid region.

    Raises
    ------
    SDKError
        Code 192 (``PL_ERR_METADATA_INVALID``, call ``decode_frame_metadata``) if the
        buffer is too short, the signature or version is wrong, or a region runs past
        the end of the buffer.
    ArgumentError
        If ``frame`` is not a readable buffer.
    """
    try:
        view = memoryview(frame).cast("B")
    except TypeError as error:
        raise ArgumentError(f"the frame must be a readable buffer, not {type(frame).__name__}",
                            None, _DECODE) from error
    if size is not None:
        if size > len(view):
            raise BufferSizeError(f"size {size} exceeds the {len(view)}-byte buffer", None, _DECODE)
        view = view[:size]
    if len(view) < _HEADER_V1.size:
        raise _invalid(f"{len(view)} bytes cannot hold a 48-byte frame header")
    signature, version, frame_number, roi_count = _HEADER_LEAD.unpack_from(view, 0)
    if signature != C.PL_MD_FRAME_SIGNATURE:
        raise _invalid(f"signature 0x{signature:08X}, expected 0x{C.PL_MD_FRAME_SIGNATURE:08X}")
    if version not in (1, 2, 3):
        raise _invalid(f"unknown header version {version}")
    if roi_count == 0:
        raise _invalid("the header reports no ROI")
    if version == 3:
        (_, _, _, _, bof, eof, exposure, bit_depth, color_mask, flags, ext_size, image_format,
         compression) = _HEADER_V3.unpack_from(view, 0)
        resolutions = (0, 0, 0)
    else:
        (_, _, _, _, bof, eof, ts_res, exposure, exp_res, roi_res, bit_depth, color_mask, flags,
         ext_size, image_format, compression) = _HEADER_V1.unpack_from(view, 0)
        resolutions = (ts_res, exp_res, roi_res)
        bof, eof, exposure = bof * ts_res * 1000, eof * ts_res * 1000, exposure * exp_res * 1000
        if version == 1:  # imageFormat/imageCompression are version-2 additions
            image_format, compression = C.PL_IMAGE_FORMAT_MONO16, C.PL_IMAGE_COMPRESSION_NONE
    at = _HEADER_V1.size
    ext_offset = at
    at += ext_size
    if at > len(view):
        raise _invalid("the frame's extended metadata runs past the buffer")
    pixel_bytes = 1 if image_format in (C.PL_IMAGE_FORMAT_MONO8, C.PL_IMAGE_FORMAT_BAYER8) \
        else 2
    rois = []
    for index in range(roi_count):
        if at + _ROI_HEADER.size > len(view):
            raise _invalid(f"ROI {index + 1} of {roi_count}: its header runs past the buffer")
        (number, bor, eor, s1, s2, sbin, p1, p2, pbin, roi_flags, roi_ext,
         data_size) = _ROI_HEADER.unpack_from(view, at)
        roi_ext_offset = at + _ROI_HEADER.size
        data_offset = roi_ext_offset + roi_ext
        if roi_flags & C.PL_MD_ROI_FLAG_HEADER_ONLY:
            data_size = 0
        elif version == 1:  # roiDataSize is a version-2 addition: derive it
            if not sbin or not pbin or s2 < s1 or p2 < p1:
                raise _invalid(f"ROI {index + 1}: malformed region {(s1, s2, sbin, p1, p2, pbin)}")
            data_size = ((s2 - s1 + 1) // sbin) * ((p2 - p1 + 1) // pbin) * pixel_bytes
        if data_offset + data_size > len(view):
            raise _invalid(f"ROI {index + 1} of {roi_count}: {data_size} bytes of pixels at "
                           f"offset {data_offset} run past the {len(view)}-byte buffer")
        if not roi_flags & C.PL_MD_ROI_FLAG_INVALID:
            rois.append(RoiMetadata(number=number, region=(s1, s2, sbin, p1, p2, pbin),
                                    flags=roi_flags, timestamp_bor=bor, timestamp_eor=eor,
                                    data_offset=data_offset, data_size=data_size,
                                    extended_offset=roi_ext_offset, extended_size=roi_ext))
        at = data_offset + data_size
    return FrameMetadata(
        version=version, frame_number=frame_number, timestamp_bof_ps=bof, timestamp_eof_ps=eof,
        exposure_time_ps=exposure, timestamp_resolution_ns=resolutions[0],
        exposure_resolution_ns=resolutions[1], roi_timestamp_resolution_ns=resolutions[2],
        bit_depth=bit_depth, color_mask=color_mask, flags=flags, image_format=image_format,
        image_compression=compression, extended_offset=ext_offset, extended_size=ext_size,
        rois=tuple(rois), frame_size=at)
