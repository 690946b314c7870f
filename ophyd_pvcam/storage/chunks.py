"""Encode frames into finished HDF5 chunks outside HDF5, so compression runs in parallel.

HDF5 runs a dataset's filters inside ``H5Dwrite``, one chunk after the other,
under h5py's global lock: compression then uses one core and serialises with
every other HDF5 call. A :class:`ChunkCodec` instead produces the bytes the
filter *would* have stored for a chunk, by calling the compression library
that ``hdf5plugin`` ships (the same shared object HDF5 loads as the filter),
through :mod:`ctypes`, which releases the GIL for the duration of the call.
The writer encodes a block's frames in worker threads and stores the results
with ``write_direct_chunk``; readers decode them with the ordinary filter.

Codecs exist for the layout's chunking, one frame per chunk, and for a filter
pipeline of exactly one of:

``hdf5plugin.Bitshuffle`` with LZ4 (filter 32008)
    Chunk = 8-byte big-endian uncompressed size, 4-byte big-endian block size
    in bytes, then ``bshuf_compress_lz4`` output (bitshuffle's HDF5 filter
    format).
``hdf5plugin.Blosc`` (filter 32001)
    Chunk = one c-blosc 1 buffer (``blosc_compress_ctx``, the thread-safe
    entry point), with the filter's ``clevel``, ``shuffle`` and compressor.

For anything else :func:`chunk_codec` returns ``None`` and the writer lets
HDF5 apply the pipeline itself (one ``H5Dwrite`` per block).
"""
from __future__ import annotations

import ctypes
import glob
import logging
import os
import struct
from typing import Optional, Sequence

import h5py
import numpy as np

__all__ = ["ChunkCodec", "RawChunks", "BitshuffleLZ4Chunks", "BloscChunks", "chunk_codec",
           "frames_contiguous",
           "BSHUF_FILTER_ID", "BLOSC_FILTER_ID"]

logger = logging.getLogger(__name__)

#: HDF5 filter id of bitshuffle (registered with The HDF Group).
BSHUF_FILTER_ID = 32008
#: HDF5 filter id of blosc (c-blosc 1).
BLOSC_FILTER_ID = 32001
# Bitshuffle filter option cd_values[4] meaning "LZ4 after the shuffle".
_BSHUF_LZ4 = 2
# c-blosc 1: the output buffer may exceed the input by this much (stored uncompressed).
_BLOSC_MAX_OVERHEAD = 16


class ChunkCodec:
    """Turns frames into the stored bytes of their chunks (one frame per chunk).

    Attributes
    ----------
    name : str
        What the codec does (for logs and benchmarks).
    releases_gil : bool
        True when :meth:`encode` spends its time in C with the GIL released,
        so encoding in worker threads runs in parallel.
    """

    name = "raw"
    releases_gil = False

    def encode(self, frames: "np.ndarray | Sequence[np.ndarray]") -> list:
        """Encode ``frames`` (``(k, H, W)``, or ``k`` frames ``(H, W)``) into ``k`` chunk buffers.

        Parameters
        ----------
        frames : numpy.ndarray or sequence of numpy.ndarray
            Frames of the dataset's dtype (copied only if not C-contiguous).

        Returns
        -------
        list of buffer
            One bytes-like object per frame, ready for ``write_direct_chunk``.
        """
        raise NotImplementedError


class RawChunks(ChunkCodec):
    """Uncompressed: a chunk is the frame's bytes (nothing to encode)."""

    name = "raw"
    releases_gil = False

    def encode(self, frames: "np.ndarray | Sequence[np.ndarray]") -> list:
        """Return one contiguous view per frame (no copy)."""
        if isinstance(frames, np.ndarray) and not frames_contiguous(frames):
            return list(np.ascontiguousarray(frames))
        return [np.ascontiguousarray(frame) for frame in frames]


def frames_contiguous(frames: np.ndarray) -> bool:
    """True when every frame of a ``(k, H, W)`` array is contiguous bytes.

    The frames themselves may lie apart: frames read in place from the SDK's
    buffer with metadata are separated by their headers, and each is still
    one chunk's bytes as it is (no copy needed).
    """
    item = frames.itemsize
    return (frames.ndim == 3 and frames.strides[2] == item
            and (frames.shape[1] <= 1 or frames.strides[1] == frames.shape[2] * item))


def _frame_addresses(frames: "np.ndarray | Sequence[np.ndarray]") -> tuple[list[int], list]:
    """Start address of each frame's bytes, and the arrays that keep them alive.

    A ``(k, H, W)`` array costs one address computation per frame; a list of
    frames (the per-frame submit path) is not stacked into a copy, nor is an
    array whose frames are each contiguous (:func:`frames_contiguous`).
    """
    if isinstance(frames, np.ndarray):
        if not frames_contiguous(frames):
            frames = np.ascontiguousarray(frames)
        base, step = frames.ctypes.data, frames.strides[0]
        return [base + i * step for i in range(len(frames))], [frames]
    kept = [np.ascontiguousarray(frame) for frame in frames]
    return [frame.ctypes.data for frame in kept], kept


def _plugin_library(stem: str, exclude: Sequence[str] = ()) -> Optional[ctypes.CDLL]:
    """Load hdf5plugin's shared object ``lib<stem>*`` (the one HDF5 loads as the filter)."""
    import hdf5plugin

    for filename in sorted(glob.glob(os.path.join(hdf5plugin.PLUGIN_PATH, f"lib{stem}*"))):
        base = os.path.basename(filename)
        if any(base.startswith(f"lib{other}") for other in exclude):
            continue
        try:
            return ctypes.CDLL(filename)
        except OSError:  # pragma: no cover - a broken install: HDF5 applies the filter
            logger.warning("cannot load %s; HDF5 will apply the filter itself", filename,
                           exc_info=True)
            return None
    return None


class BitshuffleLZ4Chunks(ChunkCodec):
    """Bitshuffle + LZ4 chunks, byte-identical in format to the HDF5 filter's.

    Parameters
    ----------
    library : ctypes.CDLL
        hdf5plugin's bitshuffle filter library (exports ``bshuf_compress_lz4``).
    elem_size : int
        Bytes per pixel.
    block_size : int
        Bitshuffle block size in elements; 0 for the library's default.
    frame_bytes : int
        Bytes of one frame.
    """

    name = "bitshuffle-lz4"
    releases_gil = True

    def __init__(self, library: ctypes.CDLL, elem_size: int, block_size: int, frame_bytes: int):
        self._compress = library.bshuf_compress_lz4
        self._compress.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t,
                                   ctypes.c_size_t, ctypes.c_size_t]
        self._compress.restype = ctypes.c_int64
        bound = library.bshuf_compress_lz4_bound
        bound.argtypes = [ctypes.c_size_t, ctypes.c_size_t, ctypes.c_size_t]
        bound.restype = ctypes.c_size_t
        default_block = library.bshuf_default_block_size
        default_block.argtypes = [ctypes.c_size_t]
        default_block.restype = ctypes.c_size_t
        self._elem_size = int(elem_size)
        self._elements = int(frame_bytes) // self._elem_size
        self._block_size = int(block_size) or int(default_block(self._elem_size))
        self._header = np.frombuffer(
            struct.pack(">QI", int(frame_bytes), self._block_size * self._elem_size), np.uint8)
        self._stride = 12 + int(bound(self._elements, self._elem_size, self._block_size))

    def encode(self, frames: "np.ndarray | Sequence[np.ndarray]") -> list:
        """Compress each frame into one chunk (GIL released inside each call)."""
        sources, _kept = _frame_addresses(frames)
        count = len(sources)
        out = np.empty(count * self._stride, dtype=np.uint8)
        base = out.ctypes.data
        compress, stride, header = self._compress, self._stride, self._header
        chunks = []
        for i, source in enumerate(sources):
            offset = i * stride
            written = compress(source, base + offset + 12, self._elements,
                               self._elem_size, self._block_size)
            if written < 0:
                raise RuntimeError(f"bshuf_compress_lz4 failed with code {written}")
            out[offset:offset + 12] = header
            chunks.append(out[offset:offset + 12 + written])
        return chunks


class BloscChunks(ChunkCodec):
    """c-blosc 1 chunks, as the ``hdf5plugin.Blosc`` filter stores them.

    Parameters
    ----------
    library : ctypes.CDLL
        hdf5plugin's blosc filter library (exports ``blosc_compress_ctx``).
    typesize : int
        Bytes per pixel.
    clevel, shuffle, compcode : int
        The filter's options (``cd_values[4:7]``).
    frame_bytes : int
        Bytes of one frame.
    """

    name = "blosc"
    releases_gil = True

    def __init__(self, library: ctypes.CDLL, typesize: int, clevel: int, shuffle: int,
                 compcode: int, frame_bytes: int):
        self._compress = library.blosc_compress_ctx
        self._compress.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_size_t, ctypes.c_size_t,
                                   ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t,
                                   ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int]
        self._compress.restype = ctypes.c_int
        to_name = library.blosc_compcode_to_compname
        to_name.argtypes = [ctypes.c_int, ctypes.POINTER(ctypes.c_char_p)]
        to_name.restype = ctypes.c_int
        compname = ctypes.c_char_p()
        if to_name(int(compcode), ctypes.byref(compname)) < 0 or not compname.value:
            raise ValueError(f"blosc compressor code {compcode} is not in this c-blosc build")
        self._compname = compname.value
        self.name = f"blosc-{self._compname.decode()}"
        self._typesize = int(typesize)
        self._clevel = int(clevel)
        self._shuffle = int(shuffle)
        self._frame_bytes = int(frame_bytes)
        self._stride = self._frame_bytes + _BLOSC_MAX_OVERHEAD

    def encode(self, frames: "np.ndarray | Sequence[np.ndarray]") -> list:
        """Compress each frame into one blosc buffer (GIL released inside each call)."""
        sources, _kept = _frame_addresses(frames)
        count = len(sources)
        out = np.empty(count * self._stride, dtype=np.uint8)
        base = out.ctypes.data
        compress, stride, nbytes = self._compress, self._stride, self._frame_bytes
        chunks = []
        for i, source in enumerate(sources):
            offset = i * stride
            # destsize = nbytes + overhead: blosc then always succeeds (it stores
            # an incompressible frame as a copy), so every chunk goes through it.
            written = compress(self._clevel, self._shuffle, self._typesize, nbytes,
                               source, base + offset, stride, self._compname, 0, 1)
            if written <= 0:
                raise RuntimeError(f"blosc_compress_ctx failed with code {written}")
            chunks.append(out[offset:offset + written])
        return chunks


def chunk_codec(dataset: h5py.Dataset) -> Optional[ChunkCodec]:
    """The codec producing ``dataset``'s stored chunks, or ``None`` if HDF5 must filter.

    Parameters
    ----------
    dataset : h5py.Dataset
        A frame dataset of the layout (chunk = one frame).

    Returns
    -------
    ChunkCodec or None
        :class:`RawChunks` for no filter, :class:`BitshuffleLZ4Chunks` or
        :class:`BloscChunks` for those single filters when hdf5plugin's
        library is loadable; ``None`` for any other pipeline, which the
        writer then hands to HDF5 (``dataset[a:b] = block``).
    """
    if dataset.chunks is None or dataset.chunks[0] != 1 or tuple(dataset.chunks[1:]) != tuple(
            dataset.shape[1:]):
        return None
    plist = dataset.id.get_create_plist()
    count = plist.get_nfilters()
    frame_bytes = int(np.prod(dataset.shape[1:])) * dataset.dtype.itemsize
    if count == 0:
        return RawChunks()
    if count != 1:
        return None
    filter_id, _flags, values, _name = plist.get_filter(0)
    values = tuple(int(v) for v in values)
    if filter_id == BSHUF_FILTER_ID and len(values) > 4 and values[4] == _BSHUF_LZ4:
        library = _plugin_library("h5bshuf")
        if library is not None:
            return BitshuffleLZ4Chunks(library, values[2], values[3], frame_bytes)
    elif filter_id == BLOSC_FILTER_ID and len(values) >= 7:
        library = _plugin_library("h5blosc", exclude=("h5blosc2",))
        if library is not None:
            return BloscChunks(library, values[2], values[4], values[5], values[6], frame_bytes)
    return None
