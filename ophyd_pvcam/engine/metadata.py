"""PVCAM frame metadata, decoded a block of frames at a time with numpy.

With ``PARAM_METADATA_ENABLED`` on, every frame the camera writes starts with
an ``md_frame_header`` (48 bytes), then, per region, an ``md_frame_roi_header``
(32 bytes), optional extended metadata and the region's pixels (reference
section 4). The frame path moves blocks of ``n`` raw frames; this module turns
such a block into what consumers want without a Python object per frame:

* :class:`FrameLayout` is where each region's pixels are, found through the
  headers of one frame (``ophyd_pvcam.sdk.decode_frame_metadata``, the Python
  ``pl_md_frame_decode``) and then **checked against every frame of each
  block** with vectorised comparisons over strided structured views of the
  headers (:func:`validate_layout`): a frame whose headers say anything else
  (another region, another extended-metadata size) is decoded on its own, never
  read at an assumed offset;
* :class:`BlockMetadata` holds the header fields of the block's frames as
  arrays: the camera's FrameNr, BOF/EOF timestamps in the camera's clock
  (``timestamp_bof``/``timestamp_eof`` in ticks of ``timestamp_resolution_ps``:
  the header's ``timestampResNs`` for versions 1 and 2, one picosecond for
  version 3) and the exposure of each frame;
* :class:`MetadataDecoder` applies both to the blocks (and frames) of one
  stream run, hands on ``(n, height, width)`` pixel views of the first region
  (``FrameBlock.data``, as without metadata) and every region's views
  (``FrameBlock.rois``), and removes slots whose header is not the frame the
  engine expected there (a FrameNr the camera skipped leaves its slot stale; in
  polling mode this is the only way to see it), counting them lost.
"""
from __future__ import annotations

import struct
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional, Sequence

import numpy as np

from ophyd_pvcam.engine.errors import AcquisitionError
from ophyd_pvcam.engine.frame import Frame
from ophyd_pvcam.engine.frameblock import LEDGER_FIELDS, FrameBlock
from ophyd_pvcam.sdk import SDKError, decode_frame_metadata
from ophyd_pvcam.sdk import constants as C

__all__ = [
    "HEADER_DTYPE",
    "HEADER_V3_DTYPE",
    "ROI_HEADER_DTYPE",
    "METADATA_FIELDS",
    "FrameLayout",
    "BlockMetadata",
    "MetadataBlock",
    "MetadataDecoder",
    "header_view",
    "validate_layout",
    "decode_block",
    "header_frame_number",
    "stack_frames",
]

_U2, _U4, _U8 = "<u2", "<u4", "<u8"
_LEAD = [("signature", _U4), ("version", "u1"), ("frame_nr", _U4), ("roi_count", _U2)]
_TAIL = [("bit_depth", "u1"), ("color_mask", "u1"), ("flags", "u1"), ("ext_size", _U2),
         ("image_format", "u1"), ("compression", "u1"), ("reserved", "V6")]

#: ``md_frame_header`` versions 1 and 2 (packed, 48 bytes): 32-bit times with resolutions.
HEADER_DTYPE = np.dtype(_LEAD + [("bof", _U4), ("eof", _U4), ("ts_res_ns", _U4),
                                 ("exposure", _U4), ("exp_res_ns", _U4),
                                 ("roi_ts_res_ns", _U4)] + _TAIL)
#: ``md_frame_header_v3`` (packed, 48 bytes): 64-bit picosecond times.
HEADER_V3_DTYPE = np.dtype(_LEAD + [("bof", _U8), ("eof", _U8), ("exposure", _U8)] + _TAIL)
#: ``md_frame_roi_header`` (packed, 32 bytes).
ROI_HEADER_DTYPE = np.dtype([("roi_nr", _U2), ("bor", _U4), ("eor", _U4), ("s1", _U2),
                             ("s2", _U2), ("sbin", _U2), ("p1", _U2), ("p2", _U2),
                             ("pbin", _U2), ("flags", "u1"), ("ext_size", _U2),
                             ("data_size", _U4), ("reserved", "V3")])
assert HEADER_DTYPE.itemsize == HEADER_V3_DTYPE.itemsize == 48
assert ROI_HEADER_DTYPE.itemsize == 32

# The same headers for the one-frame fast path (struct is faster than numpy for one record).
_HEAD_V12 = struct.Struct("<IBIH6I3BH2B6x")
_HEAD_V3 = struct.Struct("<IBIH3Q3BH2B6x")
#: Bytes 10..29 of an ``md_frame_roi_header``: region, flags, extendedMdSize, roiDataSize.
_ROI_STATIC = slice(10, 29)

#: Per-frame fields of :class:`BlockMetadata` and their dtypes.
METADATA_FIELDS: tuple[tuple[str, type], ...] = (
    ("camera_frame_numbers", np.int64),
    ("timestamp_bof", np.int64),
    ("timestamp_eof", np.int64),
    ("timestamp_resolution_ps", np.int64),
    ("exposure_time", np.int64),
    ("exposure_resolution_ps", np.int64),
)


@dataclass(frozen=True)
class FrameLayout:
    """Where the parts of one metadata frame are (found through its headers).

    Attributes
    ----------
    version : int
        ``md_frame_header`` version (1, 2 or 3).
    frame_bytes : int
        Bytes of one frame in the buffer (headers included).
    extended_size : int
        Bytes of the frame's extended metadata.
    roi_offsets : tuple of int
        Byte offset of each region's ``md_frame_roi_header``.
    roi_extended : tuple of int
        Extended-metadata bytes of each region.
    data_offsets : tuple of int
        Byte offset of each region's pixels.
    data_sizes : tuple of int
        Bytes of each region's pixels.
    regions : tuple of tuple of int
        ``(s1, s2, sbin, p1, p2, pbin)`` of each region.
    """

    version: int
    frame_bytes: int
    extended_size: int
    roi_offsets: tuple[int, ...]
    roi_extended: tuple[int, ...]
    data_offsets: tuple[int, ...]
    data_sizes: tuple[int, ...]
    regions: tuple[tuple[int, int, int, int, int, int], ...]

    @classmethod
    def from_frame(cls, frame: Any) -> "FrameLayout":
        """The layout of one raw frame, decoded through its headers.

        Parameters
        ----------
        frame : buffer
            One frame as the camera wrote it (any contiguous buffer).

        Raises
        ------
        SDKError
            Code 192 when the frame carries no valid metadata.
        """
        raw = np.ascontiguousarray(frame).view(np.uint8).reshape(-1)
        md = decode_frame_metadata(raw)
        roi_offsets = tuple(r.extended_offset - ROI_HEADER_DTYPE.itemsize for r in md.rois)
        return cls(version=md.version, frame_bytes=len(raw), extended_size=md.extended_size,
                   roi_offsets=roi_offsets,
                   roi_extended=tuple(r.extended_size for r in md.rois),
                   data_offsets=tuple(r.data_offset for r in md.rois),
                   data_sizes=tuple(r.data_size for r in md.rois),
                   regions=tuple(tuple(r.region) for r in md.rois))

    @property
    def shapes(self) -> tuple[tuple[int, int], ...]:
        """``(height, width)`` of each region after binning."""
        return tuple(((p2 - p1 + 1) // pb, (s2 - s1 + 1) // sb)
                     for s1, s2, sb, p1, p2, pb in self.regions)

    @property
    def header_dtype(self) -> np.dtype:
        """The structured dtype of this layout's ``md_frame_header``."""
        return HEADER_V3_DTYPE if self.version == 3 else HEADER_DTYPE


@dataclass
class BlockMetadata:
    """The header fields of ``n`` frames, one array per field (length ``n``).

    Attributes
    ----------
    camera_frame_numbers : numpy.ndarray
        The header's ``frameNr`` (1-based, reset by each acquisition start).
    timestamp_bof, timestamp_eof : numpy.ndarray
        Beginning and end of each frame on the camera's clock, in ticks of
        ``timestamp_resolution_ps``.
    timestamp_resolution_ps : numpy.ndarray
        Picoseconds per timestamp tick (``timestampResNs`` x 1000 for header
        versions 1 and 2, 1 for version 3).
    exposure_time : numpy.ndarray
        The exposure of each frame in ticks of ``exposure_resolution_ps``.
    exposure_resolution_ps : numpy.ndarray
        Picoseconds per exposure tick.
    regions : tuple of tuple of int
        ``(s1, s2, sbin, p1, p2, pbin)`` of each region of these frames.
    """

    camera_frame_numbers: np.ndarray
    timestamp_bof: np.ndarray
    timestamp_eof: np.ndarray
    timestamp_resolution_ps: np.ndarray
    exposure_time: np.ndarray
    exposure_resolution_ps: np.ndarray
    regions: tuple = ()

    def __len__(self) -> int:
        return len(self.camera_frame_numbers)

    @property
    def exposure_seconds(self) -> np.ndarray:
        """Exposure of each frame in seconds (``float64``)."""
        return self.exposure_time * (self.exposure_resolution_ps * 1e-12)

    @property
    def timestamp_bof_ps(self) -> np.ndarray:
        """BOF timestamps in picoseconds of the camera's clock."""
        return self.timestamp_bof * self.timestamp_resolution_ps

    @property
    def timestamp_eof_ps(self) -> np.ndarray:
        """EOF timestamps in picoseconds of the camera's clock."""
        return self.timestamp_eof * self.timestamp_resolution_ps

    def row(self, index: int) -> "BlockMetadata":
        """Frame ``index`` alone, as one-element views of these arrays (no copy)."""
        rows = slice(index, index + 1)
        return BlockMetadata(self.camera_frame_numbers[rows], self.timestamp_bof[rows],
                             self.timestamp_eof[rows], self.timestamp_resolution_ps[rows],
                             self.exposure_time[rows], self.exposure_resolution_ps[rows],
                             self.regions)

    def select(self, rows: Any) -> "BlockMetadata":
        """The fields of the chosen rows (a slice, mask or index array), as copies."""
        return BlockMetadata(regions=self.regions,
                             **{name: np.array(getattr(self, name)[rows], copy=True)
                                for name, _ in METADATA_FIELDS})

    @classmethod
    def concatenate(cls, parts: Sequence["BlockMetadata"]) -> "BlockMetadata":
        """Join the fields of several blocks, in order."""
        return cls(regions=parts[0].regions if parts else (),
                   **{name: np.concatenate([getattr(p, name) for p in parts]).astype(dtype)
                      for name, dtype in METADATA_FIELDS})


class MetadataBlock(FrameBlock):
    """A :class:`FrameBlock` whose frames carried PVCAM metadata.

    ``data`` are the pixels of the first region, ``(n, height, width)`` as
    for any block; ``rois`` holds every region's ``(n, h, w)`` pixels (views
    into the same memory as ``data``, valid until :meth:`release`) and
    ``metadata`` the decoded headers.
    """

    __slots__ = ("metadata", "rois")

    def __init__(self, data: np.ndarray, *, metadata: BlockMetadata,
                 rois: Sequence[np.ndarray], **ledger: Any) -> None:
        super().__init__(data, **ledger)
        if len(metadata) != len(data):
            raise ValueError(f"metadata for {len(metadata)} frames, data for {len(data)}")
        self.metadata = metadata
        self.rois = tuple(rois)

    @property
    def regions(self) -> tuple:  # type: ignore[override]
        """``(s1, s2, sbin, p1, p2, pbin)`` of each region."""
        return self.metadata.regions

    def frames(self) -> Iterator[Frame]:
        """Yield one :class:`Frame` per row, with its ``metadata`` and ``rois``."""
        for i, frame in enumerate(super().frames()):
            frame.metadata = self.metadata.row(i)
            frame.rois = tuple(r[i] for r in self.rois)
            yield frame

    def _copy(self, rows: slice) -> "MetadataBlock":
        start = rows.indices(len(self))[0]
        rois = tuple(np.array(r[rows], copy=True) for r in self.rois)
        return MetadataBlock(rois[0], metadata=self.metadata.select(rows), rois=rois,
                             first_index=self.first_index + start,
                             **{name: np.array(getattr(self, name)[rows], copy=True)
                                for name, _ in LEDGER_FIELDS})


def _as_bytes(data: np.ndarray) -> np.ndarray:
    """``(n, frame_bytes)`` uint8 view of a block of raw frames (no copy)."""
    n = len(data)
    flat = data.reshape(n, -1)
    return flat.view(np.uint8) if flat.dtype != np.uint8 else flat


def header_view(raw: np.ndarray, offset: int, dtype: np.dtype) -> np.ndarray:
    """A structured view of one header of every frame of a block (no copy).

    Parameters
    ----------
    raw : numpy.ndarray
        ``(n, frame_bytes)`` uint8 rows, each row's bytes contiguous.
    offset : int
        Byte offset of the header within a frame.
    dtype : numpy.dtype
        The header's structured dtype.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` records (unaligned reads are fine for numpy).
    """
    return raw[:, offset:offset + dtype.itemsize].view(dtype)[:, 0]


def validate_layout(raw: np.ndarray, layout: FrameLayout) -> np.ndarray:
    """Which frames of a block have exactly ``layout`` (vectorised over the block).

    Parameters
    ----------
    raw : numpy.ndarray
        ``(n, frame_bytes)`` uint8.
    layout : FrameLayout

    Returns
    -------
    numpy.ndarray
        ``(n,)`` bool: True where the signature, version, region count,
        extended-metadata sizes, every region header (region, flags, data
        size) agree with the layout.
    """
    head = header_view(raw, 0, layout.header_dtype)
    ok = ((head["signature"] == C.PL_MD_FRAME_SIGNATURE) & (head["version"] == layout.version)
          & (head["roi_count"] == len(layout.regions)) & (head["ext_size"] == layout.extended_size))
    for i, at in enumerate(layout.roi_offsets):
        roi = header_view(raw, at, ROI_HEADER_DTYPE)
        s1, s2, sbin, p1, p2, pbin = layout.regions[i]
        ok &= ((roi["s1"] == s1) & (roi["s2"] == s2) & (roi["sbin"] == sbin) & (roi["p1"] == p1)
               & (roi["p2"] == p2) & (roi["pbin"] == pbin)
               & (roi["ext_size"] == layout.roi_extended[i])
               & ((roi["flags"] & (C.PL_MD_ROI_FLAG_INVALID | C.PL_MD_ROI_FLAG_HEADER_ONLY)) == 0))
        if layout.version >= 2:
            ok &= roi["data_size"] == layout.data_sizes[i]
    return ok


def _fields(head: np.ndarray, version: int, regions: tuple = ()) -> BlockMetadata:
    """The :class:`BlockMetadata` of a structured header array."""
    n = len(head)
    if version == 3:
        ts_res = np.ones(n, dtype=np.int64)
        exp_res = np.ones(n, dtype=np.int64)
    else:
        ts_res = head["ts_res_ns"].astype(np.int64) * 1000
        exp_res = head["exp_res_ns"].astype(np.int64) * 1000
    return BlockMetadata(camera_frame_numbers=head["frame_nr"].astype(np.int64),
                         timestamp_bof=head["bof"].astype(np.int64),
                         timestamp_eof=head["eof"].astype(np.int64),
                         timestamp_resolution_ps=ts_res,
                         exposure_time=head["exposure"].astype(np.int64),
                         exposure_resolution_ps=exp_res, regions=regions)


def _pixels(raw: np.ndarray, layout: FrameLayout, dtype: np.dtype) -> list[np.ndarray]:
    """``(n, h, w)`` views of every region's pixels (no copy)."""
    n = len(raw)
    out = []
    for at, size, (h, w) in zip(layout.data_offsets, layout.data_sizes, layout.shapes):
        if size != h * w * dtype.itemsize:
            raise AcquisitionError(f"a region of {h}x{w} {dtype} pixels holds {size} bytes in "
                                   f"the frame's metadata", None, "decode_block")
        out.append(raw[:, at:at + size].view(dtype).reshape(n, h, w))
    return out


def decode_block(data: np.ndarray, dtype: Any,
                 layout: Optional[FrameLayout] = None
                 ) -> tuple[np.ndarray, BlockMetadata, list[list[np.ndarray]], FrameLayout]:
    """Decode a block of raw metadata frames.

    Parameters
    ----------
    data : numpy.ndarray
        ``(n, ...)`` raw frames, one row per frame (any dtype; rows contiguous).
    dtype : numpy.dtype
        Pixel type.
    layout : FrameLayout, optional
        The layout expected (from an earlier block); found from the first
        valid frame when None or when no frame has it.

    Returns
    -------
    valid : numpy.ndarray
        ``(n,)`` bool: frames that carry a valid header.
    metadata : BlockMetadata
        Fields of the valid frames.
    rois : list of list of numpy.ndarray
        Per region, the pixel arrays of the valid frames, as contiguous
        ``(k, h, w)`` parts in frame order (one part, a view, when every
        valid frame has the same layout).
    layout : FrameLayout
        The layout of the valid frames (the last one found).

    Raises
    ------
    AcquisitionError
        When the valid frames change their number of regions or their shapes
        within a block (the consumer could not stack them).
    """
    dtype = np.dtype(dtype)
    raw = _as_bytes(data)
    n = len(raw)
    signature = header_view(raw, 0, HEADER_DTYPE)["signature"]
    valid = signature == C.PL_MD_FRAME_SIGNATURE
    if layout is None or layout.frame_bytes != raw.shape[1]:
        layout = None
    same = validate_layout(raw, layout) if layout is not None else np.zeros(n, dtype=bool)
    if valid.any() and not same[valid].all():
        return _decode_mixed(raw, dtype, valid, same, layout)
    rows = np.flatnonzero(valid)
    if layout is None:  # no valid frame at all
        return valid, _fields(np.zeros(0, dtype=HEADER_DTYPE), 1), [], _EMPTY_LAYOUT
    whole = len(rows) == n
    part = raw if whole else raw[rows]
    head = header_view(part, 0, layout.header_dtype)
    return valid, _fields(head, layout.version, layout.regions), [[p] for p in _pixels(part, layout, dtype)], layout


_EMPTY_LAYOUT = FrameLayout(1, 0, 0, (), (), (), (), ())


def _decode_mixed(raw: np.ndarray, dtype: np.dtype, valid: np.ndarray, same: np.ndarray,
                  layout: Optional[FrameLayout]
                  ) -> tuple[np.ndarray, BlockMetadata, list[list[np.ndarray]], FrameLayout]:
    """Slow path: frames whose headers differ from the expected layout, one run at a time."""
    metas: list[BlockMetadata] = []
    rois: Optional[list[list[np.ndarray]]] = None
    shapes = None
    valid = valid.copy()
    i, n = 0, len(raw)
    while i < n:
        if not valid[i]:
            i += 1
            continue
        if layout is None or not same[i]:
            try:
                layout = FrameLayout.from_frame(raw[i])
            except SDKError:
                valid[i] = False  # a signature but no decodable frame: not a frame
                i += 1
                continue
            same = validate_layout(raw, layout)
            if not same[i]:
                valid[i] = False
                i += 1
                continue
        j = i
        while j < n and valid[j] and same[j]:
            j += 1
        part = raw[i:j]
        if shapes is None:
            shapes = layout.shapes
            rois = [[] for _ in shapes]
        elif layout.shapes != shapes:
            raise AcquisitionError(f"the frames' regions changed within one block, from "
                                   f"{shapes} to {layout.shapes}", None, "decode_block")
        metas.append(_fields(header_view(part, 0, layout.header_dtype), layout.version,
                             layout.regions))
        for k, pixels in enumerate(_pixels(part, layout, dtype)):
            rois[k].append(pixels)
        i = j
    if not metas:
        return valid, _fields(np.zeros(0, dtype=HEADER_DTYPE), 1), [], _EMPTY_LAYOUT
    return valid, BlockMetadata.concatenate(metas), rois or [], layout


class MetadataDecoder:
    """Decodes the metadata frames of one stream run (see the module notes).

    Parameters
    ----------
    dtype : numpy.dtype
        Pixel type.
    epoch_offsets : callable, optional
        Returns the stream frame numbers that precede FrameNr 1 of each
        acquisition of the run so far (0 and, per restart, the
        discontinuity's ``first_frame - 1``). A frame is what the engine
        expected in its slot when ``stream number - header FrameNr`` is one
        of them; default ``(0,)``.
    on_skipped : callable, optional
        ``on_skipped(stream_numbers, reason)`` with the stream frame numbers of
        slots whose header is not their frame (counted lost by the caller):
        reason ``"gap"`` when the slot holds an older frame or none (the
        camera skipped that FrameNr), ``"overwritten"`` when it already holds
        a later one (the frame was overwritten before it was read).

    Attributes
    ----------
    layout : FrameLayout or None
        The layout of the last decoded frames.
    frames_skipped : int
        Slots removed so far because their frame never came.
    """

    def __init__(self, dtype: Any, *,
                 epoch_offsets: Optional[Callable[[], Sequence[int]]] = None,
                 on_skipped: Optional[Callable[[np.ndarray, str], None]] = None) -> None:
        self.dtype = np.dtype(dtype)
        self._epoch_offsets = epoch_offsets or (lambda: (0,))
        self._on_skipped = on_skipped
        self.layout: Optional[FrameLayout] = None
        self.frames_skipped = 0
        self._carry = 0
        self._lock = threading.Lock()
        # One-frame fast path: the static bytes of each region header of the layout.
        self._templates: tuple[tuple[int, bytes], ...] = ()

    def decode(self, block: FrameBlock) -> Optional[MetadataBlock]:
        """Decode a block of raw frames into a :class:`MetadataBlock`.

        The returned block shares the raw block's memory (views) and its
        release; frames whose slot held something other than the expected
        frame are left out and counted in the next frame's ``lost_before``.

        Parameters
        ----------
        block : FrameBlock
            Raw frames (``data`` of shape ``(n, frame_elements)``).

        Returns
        -------
        MetadataBlock or None
            None when no frame of the block is a frame (the raw block is then
            released).
        """
        # Removed slots are lost, not delivered: later frames' delivery indices
        # close up over them (the pump and the frame loop counted them).
        first_index = block.first_index - self.frames_skipped
        with self._lock:
            valid, meta, rois, layout = decode_block(block.data, self.dtype, self.layout)
            if len(meta) and layout is not self.layout:
                self.layout = layout
                row = _as_bytes(block.data)[int(np.argmax(valid))]
                self._templates = tuple((at, row[at:at + ROI_HEADER_DTYPE.itemsize]
                                         [_ROI_STATIC].tobytes()) for at in layout.roi_offsets)
        offsets = np.asarray(tuple(self._epoch_offsets()), dtype=np.int64)
        numbers = np.asarray(block.frame_numbers, dtype=np.int64)
        if len(meta) == len(block) and len(rois) and all(len(parts) == 1 for parts in rois):
            # The common case, checked in a few array operations: every slot
            # holds the frame expected there, all of one epoch.
            shift = numbers - meta.camera_frame_numbers
            if shift[0] == shift[-1] and bool(np.any(offsets == shift[0])) \
                    and not np.any(shift != shift[0]):
                return self._whole(block, meta, [parts[0] for parts in rois], first_index)
        expected = valid.copy()
        if len(meta):
            expected[valid] = np.isin(numbers[valid] - meta.camera_frame_numbers, offsets)
        if not expected.all():
            keep = expected[valid]
            headers = np.zeros(len(block), dtype=np.int64)
            headers[valid] = meta.camera_frame_numbers
            self._skipped(numbers, headers, valid, expected, offsets)
            meta = meta.select(keep)
            rois = [[np.concatenate(parts)[keep]] for parts in rois] if len(keep) else rois
        kept = np.flatnonzero(expected)
        if not len(kept):
            self._carry += len(block) + int(np.sum(block.lost_before))
            block.release()
            return None
        lost = _carry_losses(block.lost_before, expected)
        # removed rows before this block's first frame, and after its last, move on too
        lost[0] += self._carry
        tail = slice(int(kept[-1]) + 1, None)
        self._carry = int(len(block) - kept[-1] - 1 + np.sum(block.lost_before[tail]))
        pixels = [parts[0] if len(parts) == 1 else np.concatenate(parts) for parts in rois]
        ledger = {name: getattr(block, name)[kept] for name, _ in LEDGER_FIELDS}
        ledger["lost_before"] = lost
        return MetadataBlock(pixels[0], metadata=meta, rois=pixels, first_index=first_index,
                             release=block.release, **ledger)

    def _whole(self, block: FrameBlock, meta: BlockMetadata, pixels: list[np.ndarray],
               first_index: int) -> MetadataBlock:
        """The decoded block when every row is its expected frame (nothing removed)."""
        lost = block.lost_before
        if self._carry:
            lost = lost.copy()
            lost[0] += self._carry
            self._carry = 0
        return MetadataBlock(pixels[0], metadata=meta, rois=pixels, first_index=first_index,
                             release=block.release, frame_numbers=block.frame_numbers,
                             timestamp_bof=block.timestamp_bof, timestamp_eof=block.timestamp_eof,
                             readout_time=block.readout_time, host_time=block.host_time,
                             lost_before=lost)

    def frame(self, frame: Frame) -> Optional[Frame]:
        """Decode one raw frame in place: ``data`` becomes the first region's pixels.

        Header fields go to ``frame.metadata`` (a one-frame
        :class:`BlockMetadata`) and every region's pixels to ``frame.rois``.

        Returns
        -------
        Frame or None
            None when the slot did not hold the expected frame (counted).
        """
        fast = self._frame_fast(frame)
        if fast is not None:
            return fast
        raw = frame.data
        block = FrameBlock(raw.reshape(1, 1, -1), frame_numbers=[frame.frame_number],
                           lost_before=[frame.lost_before], first_index=frame.index)
        decoded = self.decode(block)  # carries the losses of dropped slots forward
        if decoded is None:
            return None
        frame.lost_before = int(decoded.lost_before[0])
        frame.index = decoded.first_index
        frame.data = decoded.data[0]
        frame.metadata = decoded.metadata  # type: ignore[attr-defined]
        frame.rois = tuple(r[0] for r in decoded.rois)  # type: ignore[attr-defined]
        return frame

    def _frame_fast(self, frame: Frame) -> Optional[Frame]:
        """One frame of the known layout, checked with struct (None: take the general path)."""
        layout = self.layout
        raw = frame.data
        if layout is None or raw.nbytes != layout.frame_bytes or not raw.flags.c_contiguous:
            return None
        own = raw.reshape(-1).view(np.uint8)
        view = memoryview(own)
        v3 = layout.version == 3
        head = (_HEAD_V3 if v3 else _HEAD_V12).unpack_from(view, 0)
        ext = head[10] if v3 else head[13]
        if (head[0] != C.PL_MD_FRAME_SIGNATURE or head[1] != layout.version
                or head[3] != len(layout.regions) or ext != layout.extended_size
                or frame.frame_number - head[2] not in tuple(self._epoch_offsets())):
            return None
        for at, template in self._templates:
            if view[at + 10:at + 29] != template:
                return None
        if v3:
            bof, eof, exposure, ts_res, exp_res = head[4], head[5], head[6], 1, 1
        else:
            bof, eof, exposure = head[4], head[5], head[7]
            ts_res, exp_res = head[6] * 1000, head[8] * 1000
        frame.metadata = BlockMetadata(*(np.array([v], dtype=np.int64) for v in
                                         (head[2], bof, eof, ts_res, exposure, exp_res)),
                                       regions=layout.regions)
        dtype = self.dtype
        frame.rois = tuple(own[at:at + size].view(dtype).reshape(shape) for at, size, shape
                           in zip(layout.data_offsets, layout.data_sizes, layout.shapes))
        frame.data = frame.rois[0]
        frame.index -= self.frames_skipped
        if self._carry:
            frame.lost_before += self._carry
            self._carry = 0
        return frame

    def frames(self, frames: list[Frame]) -> list[Frame]:
        """Decode frames that are views of consecutive raw slots, in one batch.

        The native pump's ring views (``FramePump.take_frames``) lie back to back
        in memory: their headers are read and checked through one strided view
        over them, and each frame's ``data`` becomes a view of its own slot (so
        it keeps holding that slot, zero copy). Frames not laid out so, or of
        another layout, go through :meth:`frame` one by one.

        Parameters
        ----------
        frames : list of Frame
            Raw frames, consecutive in delivery.

        Returns
        -------
        list of Frame
            The frames that held the frame expected in their slot, decoded.
        """
        n = len(frames)
        if not n:
            return frames
        first = frames[0].data
        nbytes = first.nbytes
        start = first.__array_interface__["data"][0]
        layout = self.layout
        if (layout is None or layout.frame_bytes != nbytes
                or any(f.data.__array_interface__["data"][0] != start + i * nbytes
                       or f.data.nbytes != nbytes for i, f in enumerate(frames))):
            return [f for f in map(self.frame, frames) if f is not None]
        raw = np.lib.stride_tricks.as_strided(first.reshape(-1).view(np.uint8),
                                              shape=(n, nbytes), strides=(nbytes, 1),
                                              writeable=False)
        if not validate_layout(raw, layout).all():
            return [f for f in map(self.frame, frames) if f is not None]
        meta = _fields(header_view(raw, 0, layout.header_dtype), layout.version, layout.regions)
        numbers = np.fromiter((f.frame_number for f in frames), dtype=np.int64, count=n)
        offsets = np.asarray(tuple(self._epoch_offsets()), dtype=np.int64)
        expected = np.isin(numbers - meta.camera_frame_numbers, offsets)
        removed = self.frames_skipped  # before this batch; grows as rows of it are removed
        if not expected.all():
            self._skipped(numbers, meta.camera_frame_numbers, np.ones(n, dtype=bool), expected,
                          offsets)
        places = tuple(zip(layout.data_offsets, layout.data_sizes, layout.shapes))
        dtype = self.dtype
        out = []
        for i, frame in enumerate(frames):
            if not expected[i]:
                self._carry += 1 + frame.lost_before
                removed += 1
                continue
            frame.index -= removed
            own = frame.data.reshape(-1).view(np.uint8)
            rois = tuple(own[at:at + size].view(dtype).reshape(shape)
                         for at, size, shape in places)
            frame.data = rois[0]
            frame.rois = rois
            frame.metadata = meta.row(i)
            if self._carry:
                frame.lost_before += self._carry
                self._carry = 0
            out.append(frame)
        return out

    def _skipped(self, numbers: np.ndarray, headers: np.ndarray, valid: np.ndarray,
                 expected: np.ndarray, offsets: np.ndarray) -> None:
        """Count the unexpected rows, each as a gap or as overwritten (see ``on_skipped``)."""
        offsets = np.sort(offsets)
        epoch = offsets[np.maximum(np.searchsorted(offsets, numbers, side="left") - 1, 0)]
        newer = valid & (headers > numbers - epoch)  # the slot already holds a later frame
        self.frames_skipped += int(np.count_nonzero(~expected))
        if self._on_skipped is None:
            return
        for reason, rows in (("gap", ~expected & ~newer), ("overwritten", ~expected & newer)):
            if rows.any():
                self._on_skipped(numbers[rows], reason)


def _carry_losses(lost_before: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """``lost_before`` of the kept rows, each adding the removed rows just before it."""
    lost = np.asarray(lost_before, dtype=np.int64)
    # cumulative removed rows before each kept row, minus those before the previous kept row
    removed = np.cumsum(~kept)
    rows = np.flatnonzero(kept)
    before = removed[rows] - np.concatenate(([0], removed[rows[:-1]])) if len(rows) else rows
    carried = lost[rows] + before
    # losses recorded on removed rows move to the next kept row too
    if (~kept).any():
        lost_cum = np.cumsum(np.where(kept, 0, lost))
        moved = lost_cum[rows] - np.concatenate(([0], lost_cum[rows[:-1]])) if len(rows) else rows
        carried = carried + moved
    return carried


def header_frame_number(frame: np.ndarray) -> int:
    """The header's FrameNr of one raw frame, -1 when it carries no metadata header.

    Parameters
    ----------
    frame : numpy.ndarray
        One raw frame (any dtype; at least 9 bytes).
    """
    raw = frame.reshape(-1).view(np.uint8)
    if len(raw) < HEADER_DTYPE.itemsize:
        return -1
    head = raw[:HEADER_DTYPE.itemsize].view(HEADER_DTYPE)[0]
    if int(head["signature"]) != C.PL_MD_FRAME_SIGNATURE:
        return -1
    return int(head["frame_nr"])


def stack_frames(frames: Sequence[Frame]) -> FrameBlock:
    """Stack consecutive frames into one owning block, keeping decoded metadata.

    Like :meth:`FrameBlock.from_frames`; frames that carry ``metadata`` (all
    of them or none) give a :class:`MetadataBlock`.

    Parameters
    ----------
    frames : sequence of Frame
    """
    block = FrameBlock.from_frames(frames)
    if frames[0].metadata is None:
        return block
    rois = tuple(np.stack([f.rois[k] for f in frames]) for k in range(len(frames[0].rois)))
    return MetadataBlock(block.data, metadata=BlockMetadata.concatenate([f.metadata for f in frames]),
                         rois=rois, first_index=block.first_index,
                         **{name: getattr(block, name) for name, _ in LEDGER_FIELDS})
