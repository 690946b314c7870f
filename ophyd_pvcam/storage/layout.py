"""The NeXus layout of a PVCAM frame file: names, compression choices, creation.

One file holds one acquisition of one camera::

    /                              NX_class=NXroot, default="entry"
    /entry                         NX_class=NXentry, default="data"
    /entry/data                    NX_class=NXdata, signal="data"
    /entry/data/data               (N, H, W) frames, chunk (1, H, W), maxshape (None, H, W)
    /entry/data/roi<k>             (N, h, w) region k (2, 3, ...) of multi-ROI frames
                                   (region 1 is ``data``); see roi_dataset_path
    /entry/instrument              NX_class=NXinstrument
    /entry/instrument/pvcam        NX_class=NXdetector; camera configuration as attributes
    /entry/instrument/pvcam/<f>    (N,) per-frame metadata, one value per frame (PER_FRAME_FIELDS)
    /entry/unassigned              only when frames belong to no event (see set_aside_frames):
    /entry/unassigned/data         (M, H, W) those frames, in acquisition order
    /entry/unassigned/<f>          (M,) their per-frame metadata

The writer (:mod:`.hdf5`) creates it and the handler (:mod:`.handler`) reads
it; both take the names from here so they cannot drift apart.

Lengths: after every flush of the writer, and in a closed file, the frame
dataset and every per-frame dataset have exactly N rows. Between flushes the
frame dataset may be longer (rows reserved ahead, see :mod:`.framefile`) and
the per-frame datasets shorter; a reader of a live file (or of one left by a
killed writer) uses the per-frame datasets' length, as the handler does.
"""
from __future__ import annotations

import datetime as _dt
import enum
import json
import logging
import os
from typing import Any, Mapping, Optional, Sequence, Union

import h5py
import numpy as np

from ophyd_pvcam.engine.errors import ValidationError

__all__ = [
    "DATA_PATH",
    "METADATA_GROUP",
    "UNASSIGNED_GROUP",
    "UNASSIGNED_DATA_PATH",
    "PER_FRAME_FIELDS",
    "METADATA_FIELD_DEFAULTS",
    "PER_FRAME_CHUNK",
    "COMPRESSIONS",
    "compression_options",
    "create_layout",
    "set_aside_frames",
    "attribute_value",
    "roi_dataset_path",
]

logger = logging.getLogger(__name__)

#: HDF5 path of the frame dataset (what documents and the handler point at).
DATA_PATH = "/entry/data/data"
#: HDF5 group holding the per-frame datasets and the camera configuration attributes.
METADATA_GROUP = "/entry/instrument/pvcam"
def roi_dataset_path(number: int) -> str:
    """HDF5 path of region ``number``'s frames (1-based; region 1 is :data:`DATA_PATH`).

    Parameters
    ----------
    number : int
        Region number, as in the frame's ``md_frame_roi_header`` order.
    """
    return DATA_PATH if int(number) == 1 else f"/entry/data/roi{int(number)}"


#: HDF5 group of the frames that belong to no event (an interrupted point), and their metadata.
UNASSIGNED_GROUP = "/entry/unassigned"
#: HDF5 path of those frames.
UNASSIGNED_DATA_PATH = f"{UNASSIGNED_GROUP}/data"

#: Per-frame datasets: name -> (dtype, units, description). Each is (N,) and
#: grows with the frame dataset; values come from the matching ``Frame`` field.
PER_FRAME_FIELDS: Mapping[str, tuple[str, str, str]] = {
    "frame_number": ("<i8", "", "SDK FrameNr (1-based, monotonic across stream recoveries)"),
    "timestamp_bof": ("<i8", "100 us", "beginning-of-frame timestamp from FRAME_INFO"),
    "timestamp_eof": ("<i8", "100 us", "end-of-frame timestamp from FRAME_INFO"),
    "readout_time": ("<i8", "", "FRAME_INFO.ReadoutTime as reported by the SDK"),
    "host_time": ("<f8", "s", "POSIX time when the frame was copied out of the SDK buffer"),
    "lost_before": ("<i8", "", "frames lost (FrameNr gap) immediately before this one"),
    # From the frame's own PVCAM metadata header (PARAM_METADATA_ENABLED); 0 (count_time:
    # NaN) for frames acquired without metadata.
    "count_time": ("<f8", "s", "exposure of this frame from its metadata header "
                               "(NXdetector count_time; varies with smart streaming)"),
    "camera_frame_number": ("<i8", "", "frameNr of the frame's metadata header (restarts at 1 "
                                       "with each acquisition start)"),
    "timestamp_bof_camera": ("<i8", "", "beginning of frame on the camera's clock, in ticks "
                                        "of timestamp_resolution (metadata header)"),
    "timestamp_eof_camera": ("<i8", "", "end of frame on the camera's clock, in ticks of "
                                        "timestamp_resolution (metadata header)"),
    "timestamp_resolution": ("<i8", "ps", "duration of one camera-clock tick (timestampResNs "
                                          "of header v1/v2; 1 ps for header v3)"),
}

#: Per-frame fields taken from the frame's metadata header, and the value each has
#: without metadata.
METADATA_FIELD_DEFAULTS: Mapping[str, float] = {
    "count_time": float("nan"),
    "camera_frame_number": 0,
    "timestamp_bof_camera": 0,
    "timestamp_eof_camera": 0,
    "timestamp_resolution": 0,
}

#: Chunk length of the per-frame datasets. They are tiny; chunks of this many
#: values keep the chunk-index updates per flush few without wasting space on
#: short runs (documents state it as the StreamResource ``chunk_shape``).
PER_FRAME_CHUNK = 4096

#: Accepted names for ``compression`` (``None`` means uncompressed).
COMPRESSIONS = ("none", "bitshuffle-lz4", "blosc")


def compression_options(compression: Union[str, Mapping[str, Any], None]) -> dict[str, Any]:
    """Translate a compression name into ``h5py.Group.create_dataset`` keywords.

    Parameters
    ----------
    compression : str, mapping or None
        ``None`` or ``"none"``: uncompressed (frames are written with direct
        chunk writes). ``"bitshuffle-lz4"``: ``hdf5plugin.Bitshuffle(cname="lz4")``.
        ``"blosc"``: ``hdf5plugin.Blosc(cname="lz4", clevel=5, shuffle=SHUFFLE)``.
        A mapping (e.g. any ``hdf5plugin`` filter object) is passed through
        unchanged, for filters not listed here.

    Returns
    -------
    dict
        Keywords (``compression``, ``compression_opts``) for ``create_dataset``;
        empty for uncompressed.

    Raises
    ------
    ValidationError
        For an unknown name.
    """
    if compression is None:
        return {}
    if isinstance(compression, Mapping):
        return dict(compression)
    name = str(compression).lower()
    if name == "none":
        return {}
    # hdf5plugin registers the filters with HDF5 on import; import it only
    # when a compressed file is asked for.
    import hdf5plugin

    if name == "bitshuffle-lz4":
        return dict(hdf5plugin.Bitshuffle(cname="lz4"))
    if name == "blosc":
        # Byte shuffle groups the high and low bytes of uint16 pixels, which
        # is what makes camera frames compress; lz4 keeps it fast.
        return dict(hdf5plugin.Blosc(cname="lz4", clevel=5, shuffle=hdf5plugin.Blosc.SHUFFLE))
    raise ValidationError(
        f"unknown compression {compression!r}; choose one of {', '.join(COMPRESSIONS)} "
        "or pass an hdf5plugin filter object",
        call="HDF5FrameWriter",
    )


def attribute_value(value: Any) -> Any:
    """Convert a configuration value into something HDF5 can store as an attribute.

    Numbers, booleans, strings and numeric arrays (or lists of numbers) are
    stored as they are; enums by name; datetimes as ISO 8601 strings;
    everything else (mappings, ``None``, mixed lists) as a JSON string.

    Parameters
    ----------
    value : object
        The value to store.

    Returns
    -------
    object
        A value ``h5py`` accepts for ``attrs[name] = value``.
    """
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, (bool, np.bool_, int, float, np.integer, np.floating, str, bytes)):
        return value
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    if isinstance(value, (list, tuple, np.ndarray)):
        array = np.asarray(value) if not isinstance(value, np.ndarray) else value
        if array.dtype.kind in "biuf" and array.size > 0:
            return array
    return json.dumps(value, default=str)


def create_layout(
    h5file: h5py.File,
    frame_shape: tuple[int, int],
    dtype: np.dtype,
    *,
    compression: Union[str, Mapping[str, Any], None] = None,
    attributes: Optional[Mapping[str, Any]] = None,
    roi_shapes: Sequence[tuple[int, int]] = (),
) -> tuple[h5py.Dataset, dict[str, h5py.Dataset]]:
    """Create the groups, the empty frame dataset and the per-frame datasets.

    Must run before SWMR mode is switched on: SWMR forbids creating objects
    and attributes.

    Parameters
    ----------
    h5file : h5py.File
        A file open for writing, still empty.
    frame_shape : tuple of int
        ``(height, width)`` of every frame.
    dtype : numpy.dtype
        Pixel type.
    compression : str, mapping or None
        See :func:`compression_options`.
    attributes : mapping, optional
        Camera configuration, stored as attributes of ``/entry/instrument/pvcam``
        (converted by :func:`attribute_value`).
    roi_shapes : sequence of (int, int)
        ``(h, w)`` of regions 2, 3, ... of multi-ROI frames: one more frame
        dataset each (:func:`roi_dataset_path`), created like ``data``.

    Returns
    -------
    data : h5py.Dataset
        ``/entry/data/data``.
    per_frame : dict
        Name -> dataset for each of :data:`PER_FRAME_FIELDS`, and
        ``"@roi<k>"`` -> the dataset of region ``k`` for each extra region.
    """
    height, width = (int(n) for n in frame_shape)
    h5file.attrs["NX_class"] = "NXroot"
    h5file.attrs["default"] = "entry"
    h5file.attrs["creator"] = "ophyd-pvcam"
    h5file.attrs["file_time"] = _dt.datetime.now().astimezone().isoformat()
    h5file.attrs["HDF5_Version"] = h5py.version.hdf5_version
    h5file.attrs["h5py_version"] = h5py.version.version

    entry = h5file.create_group("entry")
    entry.attrs["NX_class"] = "NXentry"
    entry.attrs["default"] = "data"

    data_group = entry.create_group("data")
    data_group.attrs["NX_class"] = "NXdata"
    data_group.attrs["signal"] = "data"
    data = data_group.create_dataset(
        "data",
        shape=(0, height, width),
        maxshape=(None, height, width),
        chunks=(1, height, width),
        dtype=dtype,
        **compression_options(compression),
    )
    # NeXus: tells viewers (silx, h5web) the last two axes form an image.
    data.attrs["interpretation"] = "image"
    rois = {}
    for number, (h, w) in enumerate(roi_shapes, start=2):
        roi = data_group.create_dataset(
            roi_dataset_path(number).rsplit("/", 1)[1], shape=(0, int(h), int(w)),
            maxshape=(None, int(h), int(w)), chunks=(1, int(h), int(w)), dtype=dtype,
            **compression_options(compression))
        roi.attrs["interpretation"] = "image"
        roi.attrs["long_name"] = f"region {number} of each frame"
        rois[f"@roi{number}"] = roi
    if rois:
        data_group.attrs["auxiliary_signals"] = [k[1:] for k in rois]

    instrument = entry.create_group("instrument")
    instrument.attrs["NX_class"] = "NXinstrument"
    pvcam = instrument.create_group("pvcam")
    pvcam.attrs["NX_class"] = "NXdetector"
    per_frame = {}
    for name, (field_dtype, units, description) in PER_FRAME_FIELDS.items():
        dataset = pvcam.create_dataset(
            name, shape=(0,), maxshape=(None,), chunks=(PER_FRAME_CHUNK,), dtype=field_dtype
        )
        if units:
            dataset.attrs["units"] = units
        dataset.attrs["long_name"] = description
        per_frame[name] = dataset
    # The frames also appear under the detector, as NeXus expects of NXdetector.
    pvcam["data"] = data
    per_frame.update(rois)

    for key, value in (attributes or {}).items():
        if key in pvcam.attrs:
            raise ValidationError(f"attribute {key!r} clashes with a layout attribute",
                                  call="HDF5FrameWriter")
        pvcam.attrs[str(key)] = attribute_value(value)
    return data, per_frame


def set_aside_frames(path: Union[str, "os.PathLike[str]"], keep: int) -> int:
    """Move the frames after the first ``keep`` into :data:`UNASSIGNED_GROUP`.

    A run's StreamResource covers the whole frame dataset, and a reader
    reshapes it to ``(events, frames per event, H, W)``: frames that belong to
    no event (the start of a point interrupted by a stall, an unplug or
    ``RE.stop()``) would make the whole run unreadable. They are kept, with
    their per-frame metadata, in ``/entry/unassigned`` (``data`` and one
    dataset per :data:`PER_FRAME_FIELDS` entry), and ``/entry/data/data`` and
    the per-frame datasets are cut to ``keep`` frames.

    Parameters
    ----------
    path : path-like
        A frame file made by :func:`create_layout`, closed by its writer.
    keep : int
        Frames that stay in the frame dataset (those the documents cover).

    Returns
    -------
    int
        Frames moved (0: the file is left untouched).
    """
    keep = max(0, int(keep))
    with h5py.File(path, "r+") as h5file:
        data = h5file[DATA_PATH]
        total = int(data.shape[0])
        if total <= keep:
            return 0
        group = h5file.require_group(UNASSIGNED_GROUP)
        group.attrs["NX_class"] = "NXcollection"
        group.attrs["description"] = ("frames that belong to no event of the run "
                                      "(an interrupted point), in acquisition order")
        group.attrs["first_frame_index"] = keep
        frames = data[keep:total]
        group.create_dataset("data", data=frames, chunks=(1, *frames.shape[1:]))
        data.resize(keep, axis=0)
        for name in PER_FRAME_FIELDS:
            if f"{METADATA_GROUP}/{name}" not in h5file:  # a file from before the field
                continue
            dataset = h5file[f"{METADATA_GROUP}/{name}"]
            group.create_dataset(name, data=dataset[keep:])
            dataset.resize(min(keep, dataset.shape[0]), axis=0)
        number = 2
        while roi_dataset_path(number) in h5file:
            roi = h5file[roi_dataset_path(number)]
            rows = roi[keep:]
            group.create_dataset(f"roi{number}", data=rows, chunks=(1, *rows.shape[1:]))
            roi.resize(min(keep, roi.shape[0]), axis=0)
            number += 1
    logger.warning("%s: %d frame(s) after frame %d belong to no event; moved to %s",
                   path, total - keep, keep, UNASSIGNED_GROUP)
    return total - keep
