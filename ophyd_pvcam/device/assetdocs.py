"""The two kinds of asset documents that point into a detector's frame file.

:class:`StreamDocuments` (``asset_docs="stream"``, the default)
    ``StreamResource`` (mimetype ``application/x-hdf5``, dataset
    ``/entry/data/data``) once, then one ``StreamDatum`` per new range of
    events; with per-frame keys, one more ``StreamResource`` per chosen
    per-frame dataset, over the same indices. What TiledWriter ingests.
:class:`LegacyDocuments` (``asset_docs="legacy"``)
    ``Resource`` (spec ``PVCAM_HDF5``) and one ``Datum`` per event
    (``{"point_number": i}``), for ``bluesky.plans.fly`` and Mongo-backed
    databroker.

Both only describe events the caller says are complete (flushed to the
file); :class:`~ophyd_pvcam.device.writer.AssetWriter` holds one of them per
staging and serialises the calls.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Optional

import numpy as np

from ophyd_pvcam.storage.documents import LegacyAssetComposer, StreamAssetComposer

__all__ = ["StreamDocuments", "LegacyDocuments"]


class StreamDocuments:
    """``StreamResource``/``StreamDatum`` documents of the image and chosen per-frame fields.

    Parameters
    ----------
    image_key : str
        The image data key.
    path : pathlib.Path
        The frame file.
    frame_shape : tuple of int
    dtype : numpy dtype-like
    per_frame_keys : mapping
        Per-frame field -> data key, documented next to the image.
    region_keys : mapping, optional
        Data key -> ``(dataset, (h, w))`` of each further region of multi-ROI
        frames (regions 2, 3, ...), each with its own StreamResource over the
        image's indices.
    """

    def __init__(self, image_key: str, path: Path, frame_shape: tuple[int, int], dtype: Any,
                 per_frame_keys: Mapping[str, str],
                 region_keys: Optional[Mapping[str, tuple[str, tuple[int, int]]]] = None):
        self._image = StreamAssetComposer(image_key, path, frame_shape, np.dtype(dtype))
        self._per_frame = [StreamAssetComposer(key, path, shape, np.dtype(dtype), dataset=dataset)
                           for key, (dataset, shape) in (region_keys or {}).items()]
        self._per_frame += [StreamAssetComposer.per_frame(key, path, field)
                            for field, key in per_frame_keys.items()]
        #: True once a ``stream_resource`` was produced (the file is now referenced).
        self.resource_sent = False

    @property
    def events_documented(self) -> int:
        """Events the ``stream_datum`` documents so far cover."""
        return self._image.frames_emitted

    def collect(self, stop: int) -> list[tuple[str, dict]]:
        """Return the documents for the events up to ``stop`` (exclusive) not yet documented.

        The image's documents come first, then those of each per-frame field.

        Parameters
        ----------
        stop : int
            Complete events available.

        Returns
        -------
        list of (str, dict)
        """
        stop = max(stop, self._image.frames_emitted)
        docs: list[tuple[str, dict]] = []
        for composer in (self._image, *self._per_frame):
            datums = composer.datums(stop)
            if datums and not self.resource_sent:
                docs.append(("stream_resource", composer.resource_doc()))
            docs.extend(("stream_datum", doc) for doc in datums)
        if docs:
            self.resource_sent = True
        return docs


class LegacyDocuments:
    """``Resource``/``Datum`` documents, one datum per event (one frame per event).

    Parameters
    ----------
    path : pathlib.Path
        The frame file.
    """

    def __init__(self, path: Path):
        self._composer = LegacyAssetComposer(path)
        #: True once the ``resource`` was produced.
        self.resource_sent = False
        # Datums made but not yet yielded, and fly-scan events awaiting collect().
        self._datums: dict[int, dict[str, Any]] = {}
        self._datums_pending: list[dict[str, Any]] = []
        self._pending_events: list[int] = []

    @property
    def started(self) -> bool:
        """True once a datum was made (the event shape is then fixed)."""
        return bool(self._datums)

    def datum_id(self, point: int) -> str:
        """Return (creating it on first use) the datum id of event ``point``.

        Parameters
        ----------
        point : int

        Returns
        -------
        str
        """
        datum = self._datums.get(point)
        if datum is None:
            datum = self._composer.datum(point)
            self._datums[point] = datum
            self._datums_pending.append(datum)
        return datum["datum_id"]

    def add_events(self, complete: int) -> None:
        """Make datums for every complete event (of ``complete``) without one; remember them.

        Parameters
        ----------
        complete : int
            Complete events in the file.
        """
        for point in range(max(self._datums, default=-1) + 1, complete):
            self.datum_id(point)
            self._pending_events.append(point)

    def collect(self) -> list[tuple[str, dict]]:
        """Return the ``resource`` (first time) and every ``datum`` not yet returned.

        Returns
        -------
        list of (str, dict)
        """
        pending, self._datums_pending = self._datums_pending, []
        docs: list[tuple[str, dict]] = []
        if pending and not self.resource_sent:
            docs.append(("resource", self._composer.resource_doc()))
            self.resource_sent = True
        docs.extend(("datum", datum) for datum in pending)
        return docs

    def take_pending_events(self) -> list[tuple[int, str]]:
        """Take the events :meth:`add_events` made, as ``(event index, datum id)``, oldest first.

        Returns
        -------
        list of (int, str)
        """
        points, self._pending_events = self._pending_events, []
        return [(point, self._datums[point]["datum_id"]) for point in points]
