"""Frame files: the HDF5 writer, file paths, bluesky documents and the databroker handler.

Public names
------------
:class:`HDF5FrameWriter`
    Appends blocks of frames (:class:`~ophyd_pvcam.engine.frameblock.FrameBlock`,
    ``submit_block``) or single :class:`~ophyd_pvcam.engine.frame.Frame`
    records (``submit``) to one NeXus/HDF5 file per run and device from a
    dedicated thread (SWMR, chunk per frame, optional compression in encoder
    threads, queue bounded in bytes from the host memory budget).
:class:`FrameFile`
    The synchronous, single-thread half of the writer (create, append, flush).
:mod:`.chunks`, :mod:`.bytequeue`
    Chunks compressed outside HDF5 without the GIL; the byte-bounded queue.
:func:`make_file_path`, :func:`default_root`, :data:`DEFAULT_TEMPLATE`
    Where the file goes.
:class:`StreamAssetComposer`, :class:`LegacyAssetComposer`, :func:`data_key`
    The StreamResource/StreamDatum (or Resource/Datum) documents pointing at it.
:class:`PVCAMHDF5Handler`, :func:`read_frame_metadata`, :func:`open_frame_file`
    Reading it back (handler spec ``PVCAM_HDF5``).
:func:`clear_swmr_flags`
    Makes a file left by a killed writer openable by non-SWMR readers.
"""
from __future__ import annotations

from .documents import HDF5_MIMETYPE, LegacyAssetComposer, StreamAssetComposer, data_key
from .errors import FrameMismatchError, FrameNotAvailableError, StorageError, WriterStateError
from .framefile import FrameFile
from .handler import SPEC, PVCAMHDF5Handler, open_frame_file, read_frame_metadata
from .hdf5 import HDF5FrameWriter, WriterStats
from .layout import COMPRESSIONS, DATA_PATH, METADATA_GROUP, PER_FRAME_FIELDS
from .paths import DEFAULT_TEMPLATE, default_root, make_file_path
from .recovery import clear_swmr_flags

__all__ = [
    "HDF5FrameWriter",
    "WriterStats",
    "FrameFile",
    "make_file_path",
    "default_root",
    "DEFAULT_TEMPLATE",
    "StreamAssetComposer",
    "LegacyAssetComposer",
    "data_key",
    "HDF5_MIMETYPE",
    "PVCAMHDF5Handler",
    "SPEC",
    "read_frame_metadata",
    "open_frame_file",
    "clear_swmr_flags",
    "COMPRESSIONS",
    "DATA_PATH",
    "METADATA_GROUP",
    "PER_FRAME_FIELDS",
    "StorageError",
    "FrameMismatchError",
    "FrameNotAvailableError",
    "WriterStateError",
]
