"""The bluesky documents that point at a frame file.

Two flavours, one file layout:

* :class:`StreamAssetComposer` -- ``StreamResource``/``StreamDatum``
  (``mimetype="application/x-hdf5"``): what TiledWriter ingests without any
  Python handler. One StreamDatum covers every frame that became readable
  since the previous one, never one per frame.
  :meth:`StreamAssetComposer.per_frame` points one at a per-frame metadata
  dataset (``/entry/instrument/pvcam/<field>``, e.g. ``lost_before``), so
  the catalog reads it per frame next to the image.
* :class:`LegacyAssetComposer` -- ``Resource``/``Datum`` with spec
  ``PVCAM_HDF5`` (read by :class:`~ophyd_pvcam.storage.handler.PVCAMHDF5Handler`),
  for ``bluesky.plans.fly``, Mongo-backed databroker and ``databroker.temp()``.
  Image only: the handler reads the frame dataset.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import numpy as np
from event_model import compose_resource, compose_stream_resource

from .errors import StorageError
from .handler import SPEC
# The per-frame datasets' chunk length is a layout detail; documents must state it as stored.
from .layout import DATA_PATH, METADATA_GROUP, PER_FRAME_CHUNK, PER_FRAME_FIELDS

__all__ = ["HDF5_MIMETYPE", "StreamAssetComposer", "LegacyAssetComposer", "data_key",
           "per_frame_data_key"]

#: Mimetype of frame files in StreamResource documents.
HDF5_MIMETYPE = "application/x-hdf5"


def data_key(
    source: str,
    frame_shape: tuple[int, ...],
    dtype: Any,
    *,
    external: str = "STREAM:",
) -> dict[str, Any]:
    """Describe the image (or a per-frame) field of a descriptor (one entry of ``describe()``).

    Parameters
    ----------
    source : str
        Where the data comes from, e.g. ``"PVCAM:pvcamUSB_0"``.
    frame_shape : tuple of int
        ``(height, width)``; the descriptor shape is per event, i.e. one frame.
        ``()`` for a per-frame scalar.
    dtype : numpy dtype-like
        Pixel type.
    external : str
        ``"STREAM:"`` for StreamResource documents, ``"FILESTORE:"`` for
        Resource/Datum.

    Returns
    -------
    dict
        ``{"source", "dtype", "shape": [H, W], "dtype_numpy", "external"}``;
        ``dtype`` is ``"array"``, or ``"integer"``/``"number"`` for shape ``[]``.
    """
    shape = [int(n) for n in frame_shape]
    numpy_dtype = np.dtype(dtype)
    if shape:
        kind = "array"
    else:
        kind = "integer" if numpy_dtype.kind in "iu" else "number"
    return {
        "source": source,
        "dtype": kind,
        "shape": shape,
        "dtype_numpy": numpy_dtype.str,
        "external": external,
    }


def per_frame_data_key(source: str, field: str, *, frames_per_event: int = 1) -> dict[str, Any]:
    """Describe one per-frame metadata field (stream mode only).

    Parameters
    ----------
    source : str
        Where the data comes from, e.g. ``"PVCAM:pvcamUSB_0"``.
    field : str
        One of :data:`~ophyd_pvcam.storage.layout.PER_FRAME_FIELDS`.
    frames_per_event : int
        Frames per event: shape ``[]`` for 1, ``[n]`` otherwise.

    Returns
    -------
    dict
        The DataKey (``external="STREAM:"``, ``dtype_numpy`` of the dataset,
        ``units`` when the layout gives some).

    Raises
    ------
    StorageError
        For a field the layout does not have.
    """
    if field not in PER_FRAME_FIELDS:
        raise StorageError(f"unknown per-frame field {field!r}; known: {sorted(PER_FRAME_FIELDS)}",
                           call="per_frame_data_key")
    field_dtype, units, _ = PER_FRAME_FIELDS[field]
    shape = () if int(frames_per_event) == 1 else (int(frames_per_event),)
    key = data_key(source, shape, field_dtype, external="STREAM:")
    if units:
        key["units"] = units
    return key


def _uri(path: Path) -> str:
    return "file://localhost" + path.as_posix()


class StreamAssetComposer:
    """Compose the StreamResource and StreamDatum documents of one frame file.

    Parameters
    ----------
    data_key : str
        The descriptor key of the image (e.g. ``"cam_image"``).
    path : path-like
        The frame file (made absolute).
    frame_shape : tuple of int
        ``(height, width)`` (``()`` for a per-frame scalar).
    dtype : numpy dtype-like
        Pixel type.
    dataset : str
        HDF5 path of the frames.
    chunk_shape : sequence of int, optional
        The dataset's chunks as stored; default ``[1, *frame_shape]`` (one
        frame per chunk, the frame dataset's layout).

    Examples
    --------
    >>> composer = StreamAssetComposer("cam_image", "/data/run.h5", (64, 80), "uint16")
    >>> composer.resource_doc()["parameters"]["chunk_shape"]
    [1, 64, 80]
    >>> [d["indices"] for d in composer.datums(3)]
    [{'start': 0, 'stop': 3}]
    >>> composer.datums(3)
    []
    """

    def __init__(
        self,
        data_key: str,
        path: Union[str, os.PathLike],
        frame_shape: tuple[int, ...],
        dtype: Any,
        *,
        dataset: str = DATA_PATH,
        chunk_shape: Optional[Sequence[int]] = None,
    ):
        self._path = Path(path).absolute()
        self._frame_shape = tuple(int(n) for n in frame_shape)
        self._dtype = np.dtype(dtype)
        chunks = [1, *self._frame_shape] if chunk_shape is None else [int(n) for n in chunk_shape]
        self._bundle = compose_stream_resource(
            mimetype=HDF5_MIMETYPE,
            uri=_uri(self._path),
            data_key=data_key,
            parameters={
                "dataset": dataset,
                "chunk_shape": chunks,
                "swmr": True,
            },
        )
        self._emitted = 0

    @classmethod
    def per_frame(cls, data_key: str, path: Union[str, os.PathLike],
                  field: str) -> "StreamAssetComposer":
        """Compose the documents of one per-frame metadata dataset of the file.

        Parameters
        ----------
        data_key : str
            The descriptor key (e.g. ``"cam_lost_before"``).
        path : path-like
            The frame file.
        field : str
            One of :data:`~ophyd_pvcam.storage.layout.PER_FRAME_FIELDS`; the
            dataset is ``/entry/instrument/pvcam/<field>``.

        Returns
        -------
        StreamAssetComposer
            Its datums take the same indices as the image's.

        Raises
        ------
        StorageError
            For a field the layout does not have.
        """
        if field not in PER_FRAME_FIELDS:
            raise StorageError(f"unknown per-frame field {field!r}; known: "
                               f"{sorted(PER_FRAME_FIELDS)}", call="StreamAssetComposer.per_frame")
        return cls(data_key, path, (), PER_FRAME_FIELDS[field][0],
                   dataset=f"{METADATA_GROUP}/{field}", chunk_shape=[PER_FRAME_CHUNK])

    @property
    def frames_emitted(self) -> int:
        """Frames covered by the StreamDatum documents composed so far."""
        return self._emitted

    def resource_doc(self) -> dict[str, Any]:
        """Return the StreamResource document (the same one on every call).

        Returns
        -------
        dict
            ``run_start`` is left for the RunEngine to fill in.
        """
        return self._bundle.stream_resource_doc

    def datums(self, up_to_index: int) -> list[dict[str, Any]]:
        """Compose the StreamDatum for the frames ``[frames_emitted, up_to_index)``.

        Parameters
        ----------
        up_to_index : int
            Number of frames readable in the file now (e.g. the writer's
            ``frames_written``).

        Returns
        -------
        list of dict
            One StreamDatum, or none if there are no new frames. ``seq_nums``
            and ``descriptor`` are filled in by the RunEngine.

        Raises
        ------
        StorageError
            If ``up_to_index`` is smaller than what was already emitted.
        """
        up_to_index = int(up_to_index)
        if up_to_index < self._emitted:
            raise StorageError(f"frame count went back from {self._emitted} to {up_to_index}",
                               call="StreamAssetComposer.datums")
        if up_to_index == self._emitted:
            return []
        doc = self._bundle.compose_stream_datum(
            indices={"start": self._emitted, "stop": up_to_index})
        self._emitted = up_to_index
        return [doc]

    def data_key(self, source: str) -> dict[str, Any]:
        """Describe the image field for ``describe()`` (see :func:`data_key`).

        Parameters
        ----------
        source : str
            The ``source`` entry.

        Returns
        -------
        dict
            The DataKey, with ``external="STREAM:"``.
        """
        return data_key(source, self._frame_shape, self._dtype, external="STREAM:")


class LegacyAssetComposer:
    """Compose the Resource and Datum documents (spec ``PVCAM_HDF5``) of one frame file.

    Parameters
    ----------
    path : path-like
        The frame file (made absolute).
    root : path-like, optional
        The part of ``path`` that may move (databroker ``root_map``); the
        Resource then holds ``root`` and the path relative to it. Default
        ``"/"``.
    dataset : str
        HDF5 path of the frames.

    Notes
    -----
    Resource/Datum needs one Datum per frame: that is the format, which is
    why :class:`StreamAssetComposer` is preferred. ``resource_kwargs`` has no
    ``frame_per_point`` so each datum reads back as ``(H, W)``.
    """

    def __init__(
        self,
        path: Union[str, os.PathLike],
        *,
        root: Union[str, os.PathLike, None] = None,
        dataset: str = DATA_PATH,
    ):
        self._path = Path(path).absolute()
        root_path = Path(root).absolute() if root is not None else Path(self._path.anchor)
        try:
            relative = self._path.relative_to(root_path)
        except ValueError as exc:
            raise StorageError(f"{self._path} is not under root {root_path}",
                               call="LegacyAssetComposer") from exc
        self._bundle = compose_resource(
            spec=SPEC,
            root=root_path.as_posix(),
            resource_path=relative.as_posix(),
            resource_kwargs={"dataset": dataset},
        )
        self._emitted = 0

    @property
    def frames_emitted(self) -> int:
        """Frames covered by the Datum documents composed so far."""
        return self._emitted

    def resource_doc(self) -> dict[str, Any]:
        """Return the Resource document (the same one on every call).

        Returns
        -------
        dict
            ``run_start`` is left for the RunEngine to fill in.
        """
        return self._bundle.resource_doc

    def datum(self, point_number: int) -> dict[str, Any]:
        """Compose the Datum of one frame.

        Parameters
        ----------
        point_number : int
            0-based frame index in the file.

        Returns
        -------
        dict
            The Datum; its ``datum_id`` is what ``read()`` reports for the image.
        """
        doc = self._bundle.compose_datum(datum_kwargs={"point_number": int(point_number)})
        self._emitted = max(self._emitted, int(point_number) + 1)
        return doc

    def datums(self, up_to_index: int) -> list[dict[str, Any]]:
        """Compose one Datum per frame in ``[frames_emitted, up_to_index)``.

        Parameters
        ----------
        up_to_index : int
            Number of frames readable in the file now.

        Returns
        -------
        list of dict
            The new Datum documents, in frame order.
        """
        return [self.datum(i) for i in range(self._emitted, int(up_to_index))]

    def data_key(self, source: str, frame_shape: tuple[int, int], dtype: Any) -> dict[str, Any]:
        """Describe the image field for ``describe()`` (``external="FILESTORE:"``).

        Parameters
        ----------
        source : str
            The ``source`` entry.
        frame_shape : tuple of int
            ``(height, width)``.
        dtype : numpy dtype-like
            Pixel type.

        Returns
        -------
        dict
            The DataKey.
        """
        return data_key(source, frame_shape, dtype, external="FILESTORE:")
