"""ctypes mirrors of the PVCAM 3.10 structures, callback types and parameter value types.

Layouts are those of the vendor header on x86_64 Linux (reference section 4):
``RGN_TYPE`` 12 bytes, ``FRAME_INFO`` 48 bytes (GUID @0, hCam @16, FrameNr @20,
TimeStamp @24, ReadoutTime @32, TimeStampBOF @40), the frame-metadata headers packed
to one byte. The tests check every size and offset.

``FRAME_INFO`` pointers handed to a callback are valid only during the call, so
:class:`FrameInfo` offers an immutable Python copy.
"""
from __future__ import annotations

import ctypes
import sys
from ctypes import (
    POINTER,
    Structure,
    c_char_p,
    c_double,
    c_float,
    c_int8,
    c_int16,
    c_int32,
    c_int64,
    c_uint8,
    c_uint16,
    c_uint32,
    c_uint64,
    c_void_p,
)
from dataclasses import dataclass
from typing import Optional, Sequence, Union

from . import constants as C
from .errors import ArgumentError, ValueRejectedError

__all__ = [
    "rs_bool",
    "RGN_TYPE",
    "PVCAM_FRAME_INFO_GUID",
    "FRAME_INFO",
    "SMART_STREAM_TYPE",
    "md_frame_header",
    "md_frame_header_v3",
    "md_frame_roi_header",
    "md_ext_item_info",
    "md_ext_item",
    "md_ext_item_collection",
    "md_frame_roi",
    "md_frame",
    "FUNCTYPE",
    "EOF_CALLBACK",
    "LEGACY_CALLBACK",
    "LEGACY_CONTEXT_CALLBACK",
    "LEGACY_FRAME_INFO_CALLBACK",
    "FrameInfo",
    "RoiMetadata",
    "FrameMetadata",
    "RegionLike",
    "TYPE_CTYPES",
    "TYPE_SIZES",
    "INTEGER_RANGES",
    "FRAME_INFO_GUID_2_6",
]

#: ``rs_bool``, the status every ``pl_*`` call returns (``PV_OK`` = 1, ``PV_FAIL`` = 0).
#: It is 16-bit in ``master.h``: a wider ``restype`` would read garbage high bits.
rs_bool = c_uint16

# Name carried as ``call`` by the errors of RGN_TYPE.from_any (no SDK call is involved).
_FROM_ANY = "RGN_TYPE.from_any"


class RGN_TYPE(Structure):
    """``rgn_type``: one acquisition region, inclusive sensor coordinates and binning.

    Image width = (s2 - s1 + 1) // sbin, height = (p2 - p1 + 1) // pbin.
    """

    _fields_ = [
        ("s1", c_uint16),
        ("s2", c_uint16),
        ("sbin", c_uint16),
        ("p1", c_uint16),
        ("p2", c_uint16),
        ("pbin", c_uint16),
    ]

    @classmethod
    def from_any(cls, region: "RegionLike") -> "RGN_TYPE":
        """Build a region from an ``RGN_TYPE`` (copied) or a ``(s1, s2, sbin, p1, p2, pbin)`` tuple.

        Parameters
        ----------
        region : RGN_TYPE or sequence of 6 int
            The region.

        Returns
        -------
        RGN_TYPE
            A new structure.

        Raises
        ------
        ValueRejectedError
            If a tuple does not have six values in ``0..65535`` (also a ``ValueError``).
        ArgumentError
            If ``region`` is not a sequence of integers (also a ``TypeError``).
        """
        if isinstance(region, RGN_TYPE):
            return cls(*region.as_tuple())
        try:
            values = tuple(int(v) for v in region)
        except TypeError:
            raise ArgumentError(
                f"a region is an RGN_TYPE or 6 integers, got {region!r}", None, _FROM_ANY) from None
        except ValueError:
            raise ValueRejectedError(
                f"region values must be integers, got {region!r}", None, _FROM_ANY) from None
        if len(values) != 6:
            raise ValueRejectedError(
                f"a region needs 6 values (s1, s2, sbin, p1, p2, pbin), got {values!r}",
                None, _FROM_ANY)
        if any(not 0 <= v <= 0xFFFF for v in values):
            raise ValueRejectedError(
                f"region values must be in 0..65535, got {values!r}", None, _FROM_ANY)
        return cls(*values)

    def as_tuple(self) -> tuple[int, int, int, int, int, int]:
        """Return ``(s1, s2, sbin, p1, p2, pbin)``."""
        return (self.s1, self.s2, self.sbin, self.p1, self.p2, self.pbin)

    @property
    def width(self) -> int:
        """Image width in (binned) pixels."""
        return (self.s2 - self.s1 + 1) // max(self.sbin, 1)

    @property
    def height(self) -> int:
        """Image height in (binned) pixels."""
        return (self.p2 - self.p1 + 1) // max(self.pbin, 1)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RGN_TYPE):
            return self.as_tuple() == other.as_tuple()
        if isinstance(other, tuple):
            return self.as_tuple() == other
        return NotImplemented

    __hash__ = None  # mutable structure

    def __repr__(self) -> str:
        return "RGN_TYPE(s1={}, s2={}, sbin={}, p1={}, p2={}, pbin={})".format(*self.as_tuple())


#: A region as the binding accepts it: an :class:`RGN_TYPE` or a
#: ``(s1, s2, sbin, p1, p2, pbin)`` sequence of integers (inclusive sensor coordinates).
RegionLike = Union[RGN_TYPE, Sequence[int]]


class PVCAM_FRAME_INFO_GUID(Structure):
    """16-byte GUID at the start of ``FRAME_INFO`` (left zero by the 3.10 library)."""

    _fields_ = [
        ("f1", c_uint32),
        ("f2", c_uint16),
        ("f3", c_uint16),
        ("f4", c_uint8 * 8),
    ]


#: The GUID value the old PVCAM 2.6 header defined as ``FRAME_INFO_ID`` (history only).
FRAME_INFO_GUID_2_6 = (0xD9D321FC, 0xA233, 0x4272, (0x89, 0x7E, 0x42, 0xEC, 0x15, 0xDA, 0x0D, 0xD6))


class FRAME_INFO(Structure):
    """Per-frame information filled by the library (48 bytes, align 8).

    ``FrameNr`` is 1-based and restarts with every acquisition; timestamps are in
    units of 100 µs.
    """

    _fields_ = [
        ("FrameInfoGUID", PVCAM_FRAME_INFO_GUID),
        ("hCam", c_int16),
        ("FrameNr", c_int32),
        ("TimeStamp", c_int64),
        ("ReadoutTime", c_int32),
        ("TimeStampBOF", c_int64),
    ]


class SMART_STREAM_TYPE(Structure):
    """``smart_stream_type``: a count and a pointer to that many uns32 exposure values."""

    _fields_ = [
        ("entries", c_uint16),
        ("params", POINTER(c_uint32)),
    ]


# Both header versions share these leading and trailing fields at the same offsets
# (a reader finds ``version`` before knowing which layout applies); only the timing
# fields between them differ.
_MD_HEADER_LEAD = [
    ("signature", c_uint32),
    ("version", c_uint8),
    ("frameNr", c_uint32),
    ("roiCount", c_uint16),
]
_MD_HEADER_TAIL = [
    ("bitDepth", c_uint8),
    ("colorMask", c_uint8),
    ("flags", c_uint8),
    ("extendedMdSize", c_uint16),
    ("imageFormat", c_uint8),
    ("imageCompression", c_uint8),
    ("_reserved", c_uint8 * 6),
]


class md_frame_header(Structure):
    """Frame metadata header (48 bytes, packed) that precedes each frame when metadata is on."""

    _pack_ = 1
    _fields_ = _MD_HEADER_LEAD + [
        ("timestampBOF", c_uint32),
        ("timestampEOF", c_uint32),
        ("timestampResNs", c_uint32),
        ("exposureTime", c_uint32),
        ("exposureTimeResNs", c_uint32),
        ("roiTimestampResNs", c_uint32),
    ] + _MD_HEADER_TAIL


class md_frame_header_v3(Structure):
    """Version-3 frame metadata header: 64-bit picosecond timestamps (48 bytes, packed)."""

    _pack_ = 1
    _fields_ = _MD_HEADER_LEAD + [
        ("timestampBOF", c_uint64),
        ("timestampEOF", c_uint64),
        ("exposureTime", c_uint64),
    ] + _MD_HEADER_TAIL


class md_frame_roi_header(Structure):
    """ROI metadata header (32 bytes, packed) that precedes each ROI's pixels."""

    _pack_ = 1
    _fields_ = [
        ("roiNr", c_uint16),
        ("timestampBOR", c_uint32),
        ("timestampEOR", c_uint32),
        ("roi", RGN_TYPE),
        ("flags", c_uint8),
        ("extendedMdSize", c_uint16),
        ("roiDataSize", c_uint32),
        ("_reserved", c_uint8 * 3),
    ]


class md_ext_item_info(Structure):
    """Description of one extended-metadata tag."""

    _fields_ = [
        ("tag", c_int32),  # PL_MD_EXT_TAGS, a C enum (int)
        ("type", c_uint16),
        ("size", c_uint16),
        ("name", c_char_p),
    ]


class md_ext_item(Structure):
    """One decoded extended-metadata item."""

    _fields_ = [
        ("tagInfo", POINTER(md_ext_item_info)),
        ("value", c_void_p),
    ]


class md_ext_item_collection(Structure):
    """Output of ``pl_md_read_extended`` (6128 bytes)."""

    _fields_ = [
        ("list", md_ext_item * C.PL_MD_EXT_TAGS_MAX_SUPPORTED),
        ("map", POINTER(md_ext_item) * C.PL_MD_EXT_TAGS_MAX_SUPPORTED),
        ("count", c_uint16),
    ]


class md_frame_roi(Structure):
    """Decoded ROI: pointers into the frame buffer (40 bytes)."""

    _fields_ = [
        ("header", POINTER(md_frame_roi_header)),
        ("data", c_void_p),
        ("dataSize", c_uint32),
        ("extMdData", c_void_p),
        ("extMdDataSize", c_uint16),
    ]


class md_frame(Structure):
    """Decoded frame: pointers into the frame buffer plus an ROI array (48 bytes)."""

    _fields_ = [
        ("header", POINTER(md_frame_header)),
        ("extMdData", c_void_p),
        ("extMdDataSize", c_uint16),
        ("impliedRoi", RGN_TYPE),
        ("roiArray", POINTER(md_frame_roi)),
        ("roiCapacity", c_uint16),
        ("roiCount", c_uint16),
    ]


# ---------------------------------------------------------------------------
# Callback function types. PV_DECL is __stdcall only on Windows; cdecl elsewhere.
# ---------------------------------------------------------------------------
#: Factory of the library's callback types: ``ctypes.WINFUNCTYPE`` (``__stdcall``) on
#: Windows, ``ctypes.CFUNCTYPE`` (cdecl) elsewhere.
FUNCTYPE = ctypes.WINFUNCTYPE if sys.platform == "win32" else ctypes.CFUNCTYPE

#: Callback type of ``pl_cam_register_callback_ex3``:
#: ``void cb(const FRAME_INFO* pFrameInfo, void* pContext)``.
#:
#: Wrap a Python function ``f(info_pointer, context)`` as ``EOF_CALLBACK(f)`` and pass it to
#: :meth:`~ophyd_pvcam.sdk.binding.PVCAMLibrary.register_callback`. It runs on the library's
#: own thread; ``info_pointer`` is a ``POINTER(FRAME_INFO)`` valid only during the call
#: (copy it with :meth:`FrameInfo.from_struct`), ``context`` the registered ``void*`` as an
#: int or ``None``. Keep a reference to the wrapper while it is registered.
EOF_CALLBACK = FUNCTYPE(None, POINTER(FRAME_INFO), c_void_p)

#: Callback type of the deprecated ``pl_cam_register_callback``: ``void cb(void)``.
#:
#: The handler learns only that the event happened; use it with
#: :meth:`~ophyd_pvcam.sdk.binding.PVCAMLibrary.register_legacy_callback`.
LEGACY_CALLBACK = FUNCTYPE(None)

#: Callback type of the deprecated ``pl_cam_register_callback_ex``: ``void cb(void* context)``.
#:
#: ``context`` is the registered ``void*`` (an int or ``None``); use it with
#: :meth:`~ophyd_pvcam.sdk.binding.PVCAMLibrary.register_legacy_callback_ex`.
LEGACY_CONTEXT_CALLBACK = FUNCTYPE(None, c_void_p)

#: Callback type of the deprecated ``pl_cam_register_callback_ex2``:
#: ``void cb(const FRAME_INFO* pFrameInfo)``.
#:
#: The ``POINTER(FRAME_INFO)`` is valid only during the call; use it with
#: :meth:`~ophyd_pvcam.sdk.binding.PVCAMLibrary.register_legacy_callback_ex2`.
LEGACY_FRAME_INFO_CALLBACK = FUNCTYPE(None, POINTER(FRAME_INFO))


@dataclass(frozen=True)
class FrameInfo:
    """An immutable copy of a ``FRAME_INFO``.

    Attributes
    ----------
    camera_handle : int
        ``hCam`` of the camera that produced the frame.
    frame_number : int
        1-based frame counter of the current acquisition (0 = no frame yet).
    timestamp : int
        End-of-frame timestamp, 100 µs units.
    timestamp_bof : int
        Beginning-of-frame timestamp, 100 µs units.
    readout_time : int
        Readout time as reported by the library (may be 0 on fast sCMOS).
    """

    camera_handle: int
    frame_number: int
    timestamp: int
    timestamp_bof: int
    readout_time: int

    @classmethod
    def from_struct(cls, info: FRAME_INFO) -> "FrameInfo":
        """Copy a ``FRAME_INFO`` (or the target of a ``POINTER(FRAME_INFO)``).

        Parameters
        ----------
        info : FRAME_INFO or POINTER(FRAME_INFO)
            The structure; a pointer is dereferenced.

        Returns
        -------
        FrameInfo
            The copy.
        """
        if hasattr(info, "contents"):  # a POINTER(FRAME_INFO), e.g. a callback argument
            info = info.contents
        return cls(
            camera_handle=info.hCam,
            frame_number=info.FrameNr,
            timestamp=info.TimeStamp,
            timestamp_bof=info.TimeStampBOF,
            readout_time=info.ReadoutTime,
        )


@dataclass(frozen=True)
class RoiMetadata:
    """One region of a metadata-carrying frame, decoded from its ``md_frame_roi_header``.

    Offsets count bytes from the start of the frame (its ``md_frame_header``), so
    the pixels of region ``r`` of a frame in ``buffer`` are
    ``buffer[r.data_offset:r.data_offset + r.data_size]``.

    Attributes
    ----------
    number : int
        ``roiNr``, 1-based within the frame.
    region : tuple of int
        ``(s1, s2, sbin, p1, p2, pbin)`` in sensor coordinates, inclusive.
    flags : int
        ``PL_MD_ROI_FLAG_*`` bits.
    timestamp_bor, timestamp_eor : int
        Beginning/end of the region's readout, in the frame header's
        ``roi_timestamp_resolution_ns`` units (0 when the camera does not report them).
    data_offset, data_size : int
        Where the region's pixels are, and how many bytes they take.
    extended_offset, extended_size : int
        The region's extended-metadata block (size 0 when there is none).
    """

    number: int
    region: tuple[int, int, int, int, int, int]
    flags: int
    timestamp_bor: int
    timestamp_eor: int
    data_offset: int
    data_size: int
    extended_offset: int
    extended_size: int

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, columns)`` of the region's image after binning."""
        s1, s2, sbin, p1, p2, pbin = self.region
        return (p2 - p1 + 1) // pbin, (s2 - s1 + 1) // sbin


@dataclass(frozen=True)
class FrameMetadata:
    """A decoded ``md_frame_header`` (any version) and its regions.

    Times are converted to picoseconds whatever the header version: version 1
    and 2 headers count in the units their ``*ResNs`` fields give, version 3 in
    picoseconds directly.

    Attributes
    ----------
    version : int
        Header version (1, 2 or 3).
    frame_number : int
        ``frameNr``: 1-based, reset with each acquisition.
    timestamp_bof_ps, timestamp_eof_ps : int
        Beginning and end of the frame on the camera's clock, in picoseconds.
    exposure_time_ps : int
        The frame's exposure, in picoseconds.
    timestamp_resolution_ns : int
        Unit of the header's timestamps in ns (versions 1 and 2); 0 for version 3,
        whose unit is the picosecond.
    exposure_resolution_ns : int
        Resolution of the header's exposure time (0 for version 3).
    roi_timestamp_resolution_ns : int
        Unit of the regions' ``timestamp_bor``/``timestamp_eor`` (0 for version 3).
    bit_depth : int
        Bits per pixel the sensor delivered.
    color_mask : int
        ``COLOR_*`` value (0 = monochrome).
    flags : int
        ``PL_MD_FRAME_FLAG_*`` bits.
    image_format, image_compression : int
        ``PL_IMAGE_FORMAT_*`` and ``PL_IMAGE_COMPRESSION_*`` (version 2 and later;
        version 1 implies MONO16 and no compression).
    extended_offset, extended_size : int
        The frame's extended-metadata block (size 0 when there is none).
    rois : tuple of RoiMetadata
        The valid regions, in order (those flagged ``PL_MD_ROI_FLAG_INVALID`` are
        left out, as ``pl_md_frame_decode`` does).
    frame_size : int
        Bytes from the frame header to the end of the last region.
    """

    version: int
    frame_number: int
    timestamp_bof_ps: int
    timestamp_eof_ps: int
    exposure_time_ps: int
    timestamp_resolution_ns: int
    exposure_resolution_ns: int
    roi_timestamp_resolution_ns: int
    bit_depth: int
    color_mask: int
    flags: int
    image_format: int
    image_compression: int
    extended_offset: int
    extended_size: int
    rois: tuple[RoiMetadata, ...]
    frame_size: int

    @property
    def bytes_per_pixel(self) -> int:
        """1 for 8-bit formats, 2 otherwise (the formats the binding reads)."""
        return 1 if self.image_format in (C.PL_IMAGE_FORMAT_MONO8, C.PL_IMAGE_FORMAT_BAYER8) else 2

    @property
    def implied_region(self) -> tuple[int, int, int, int, int, int]:
        """The smallest region holding every ROI, binning of the first (``impliedRoi``)."""
        regions = [roi.region for roi in self.rois]
        if not regions:
            return (0, 0, 1, 0, 0, 1)
        return (min(r[0] for r in regions), max(r[1] for r in regions), regions[0][2],
                min(r[3] for r in regions), max(r[4] for r in regions), regions[0][5])


# ---------------------------------------------------------------------------
# Parameter value types (ATTR_TYPE code -> ctypes type)
# ---------------------------------------------------------------------------
#: ctypes type of a parameter value by its real ``ATTR_TYPE``. ``TYPE_CHAR_PTR`` is
#: a char array sized by ``ATTR_COUNT``, so it maps to ``None`` here.
TYPE_CTYPES: dict[int, Optional[type]] = {
    C.TYPE_INT8: c_int8,
    C.TYPE_UNS8: c_uint8,
    C.TYPE_INT16: c_int16,
    C.TYPE_UNS16: c_uint16,
    C.TYPE_INT32: c_int32,
    C.TYPE_UNS32: c_uint32,
    C.TYPE_INT64: c_int64,
    C.TYPE_UNS64: c_uint64,
    C.TYPE_FLT32: c_float,
    C.TYPE_FLT64: c_double,
    C.TYPE_ENUM: c_int32,
    C.TYPE_BOOLEAN: rs_bool,
    C.TYPE_CHAR_PTR: None,
    C.TYPE_VOID_PTR: c_void_p,
    C.TYPE_VOID_PTR_PTR: c_void_p,
    C.TYPE_SMART_STREAM_TYPE: SMART_STREAM_TYPE,
    C.TYPE_SMART_STREAM_TYPE_PTR: SMART_STREAM_TYPE,
    C.TYPE_RGN_TYPE: RGN_TYPE,
    C.TYPE_RGN_TYPE_PTR: RGN_TYPE,
}

#: Bytes the caller must provide for one value of each fixed-size type.
TYPE_SIZES: dict[int, int] = {
    code: ctypes.sizeof(ctype) for code, ctype in TYPE_CTYPES.items() if ctype is not None
}

#: Inclusive value range of each integer parameter type.
INTEGER_RANGES: dict[int, tuple[int, int]] = {
    C.TYPE_INT8: (-(2**7), 2**7 - 1),
    C.TYPE_UNS8: (0, 2**8 - 1),
    C.TYPE_INT16: (-(2**15), 2**15 - 1),
    C.TYPE_UNS16: (0, 2**16 - 1),
    C.TYPE_INT32: (-(2**31), 2**31 - 1),
    C.TYPE_ENUM: (-(2**31), 2**31 - 1),
    C.TYPE_UNS32: (0, 2**32 - 1),
    C.TYPE_INT64: (-(2**63), 2**63 - 1),
    C.TYPE_UNS64: (0, 2**64 - 1),
}
