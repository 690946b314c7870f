"""Read frames back from a PVCAM frame file: the databroker handler and helpers.

:class:`PVCAMHDF5Handler` follows the event_model ``Filler`` handler contract
and is registered for the Resource spec ``PVCAM_HDF5`` through the
``databroker.handlers`` entry point. It opens the file lazily in SWMR read
mode and refreshes the dataset before every read, so it reads a file that is
still being written, or one left behind by a killed writer.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

import h5py
import numpy as np

from .errors import FrameNotAvailableError, StorageError
from .layout import DATA_PATH, METADATA_GROUP, PER_FRAME_FIELDS

__all__ = ["SPEC", "PVCAMHDF5Handler", "read_frame_metadata", "open_frame_file"]

#: The Resource ``spec`` this handler is registered for.
SPEC = "PVCAM_HDF5"


def open_frame_file(path: Union[str, os.PathLike]) -> h5py.File:
    """Open a frame file for reading, whether or not a writer still has it open.

    Parameters
    ----------
    path : path-like
        The file.

    Returns
    -------
    h5py.File
        Opened read-only in SWMR mode (works for closed files too). Compressed
        datasets need ``hdf5plugin``, which is imported here.

    Raises
    ------
    StorageError
        If the file cannot be opened.
    """
    # Registers the compression filters with HDF5 so compressed frames decode.
    import hdf5plugin  # noqa: F401

    try:
        return h5py.File(path, "r", swmr=True)
    except OSError as exc:
        raise StorageError(f"cannot open {path}: {exc}", call="open_frame_file") from exc


def read_frame_metadata(
    path: Union[str, os.PathLike],
    start: Optional[int] = None,
    stop: Optional[int] = None,
) -> dict[str, np.ndarray]:
    """Read the per-frame metadata (frame numbers, timestamps, ...) of a frame file.

    Parameters
    ----------
    path : path-like
        The file.
    start, stop : int, optional
        Frame index range (Python slice semantics); default all frames.

    Returns
    -------
    dict
        Field name (see :data:`~ophyd_pvcam.storage.layout.PER_FRAME_FIELDS`)
        -> 1-D array, all of the same length. Only frames whose every field
        has been written are included (a live file may be mid-update).
    """
    with open_frame_file(path) as h5file:
        return _read_metadata(h5file, start, stop)


def _read_metadata(h5file: h5py.File, start: Optional[int], stop: Optional[int]) -> dict[str, np.ndarray]:
    group = h5file[METADATA_GROUP]
    datasets = {}
    for name in PER_FRAME_FIELDS:
        dataset = group[name]
        dataset.refresh()
        datasets[name] = dataset
    complete = min(len(d) for d in datasets.values())
    window = slice(start, stop).indices(complete)
    return {name: d[window[0]:window[1]] for name, d in datasets.items()}


class PVCAMHDF5Handler:
    """Handler (databroker / event_model ``Filler``) for the ``PVCAM_HDF5`` Resource spec.

    Parameters
    ----------
    filename : path-like
        The frame file (the Filler passes ``root + resource_path``).
    dataset : str
        HDF5 path of the frame dataset (Resource ``resource_kwargs["dataset"]``).
    **kwargs
        Any other resource kwarg is refused with :class:`StorageError` (e.g.
        ``frame_per_point``, which this spec does not use), so a Resource
        meant for another handler fails loudly instead of reading wrong shapes.

    Notes
    -----
    Datum kwargs: ``point_number`` (or its alias ``frame``) selects one frame
    and returns shape ``(H, W)``, the descriptor's shape; ``indices`` (a
    sequence of ints, a ``slice`` or a ``{"start", "stop"}`` mapping) returns
    ``(N, H, W)``.
    """

    specs = {SPEC}

    def __init__(self, filename: Union[str, os.PathLike], dataset: str = DATA_PATH, **kwargs: Any):
        if kwargs:
            raise StorageError(f"unexpected resource_kwargs {sorted(kwargs)} for spec {SPEC}",
                               call="PVCAMHDF5Handler")
        self._filename = Path(filename)
        self._dataset_path = dataset
        self._file: Optional[h5py.File] = None
        self._dataset: Optional[h5py.Dataset] = None
        self._numbers: Optional[h5py.Dataset] = None

    @property
    def filename(self) -> Path:
        """The frame file."""
        return self._filename

    def _open(self) -> h5py.Dataset:
        if self._dataset is None:
            self._file = open_frame_file(self._filename)
            try:
                self._dataset = self._file[self._dataset_path]
            except KeyError as exc:
                self.close()
                raise StorageError(f"{self._filename} has no dataset {self._dataset_path}",
                                   call="PVCAMHDF5Handler") from exc
            # The writer extends the per-frame datasets at each flush only,
            # while the frame dataset may hold reserved rows in between.
            numbers = self._file.get(f"{METADATA_GROUP}/frame_number")
            self._numbers = numbers if isinstance(numbers, h5py.Dataset) else None
        # A writer may have appended frames since the last read.
        self._dataset.refresh()
        if self._numbers is not None:
            self._numbers.refresh()
        return self._dataset

    def _frame_count(self, dataset: h5py.Dataset) -> int:
        """Frames a reader may use: those the writer has flushed (data and metadata)."""
        count = dataset.shape[0]
        if self._numbers is not None:
            count = min(count, self._numbers.shape[0])
        return count

    def __call__(
        self,
        point_number: Optional[int] = None,
        frame: Optional[int] = None,
        indices: Union[Sequence[int], slice, Mapping[str, int], None] = None,
    ) -> np.ndarray:
        """Return one frame (``point_number``/``frame``) or several (``indices``).

        Parameters
        ----------
        point_number : int, optional
            0-based frame index in the file.
        frame : int, optional
            Same as ``point_number`` (the name TiledWriter also understands).
        indices : sequence of int, slice or mapping, optional
            Several frames; a mapping is ``{"start": a, "stop": b}``.

        Returns
        -------
        numpy.ndarray
            ``(H, W)`` for one frame, ``(N, H, W)`` for ``indices``.

        Raises
        ------
        FrameNotAvailableError
            If a requested index is not in the file (yet).
        StorageError
            If no index was given, or more than one kind.
        """
        given = [v is not None for v in (point_number, frame, indices)]
        if sum(given) != 1:
            raise StorageError("give exactly one of point_number, frame, indices",
                               call="PVCAMHDF5Handler")
        dataset = self._open()
        count = self._frame_count(dataset)
        if indices is None:
            index = int(point_number if point_number is not None else frame)
            if not 0 <= index < count:
                raise FrameNotAvailableError(
                    f"frame {index} is not in {self._filename} ({count} frames)",
                    call="PVCAMHDF5Handler")
            return dataset[index]
        if isinstance(indices, Mapping):
            indices = slice(int(indices["start"]), int(indices["stop"]))
        if isinstance(indices, slice):
            start, stop, step = indices.indices(max(count, indices.stop or 0))
            if stop > count:
                raise FrameNotAvailableError(
                    f"frames up to {stop} requested, {self._filename} holds {count}",
                    call="PVCAMHDF5Handler")
            return dataset[start:stop:step]
        wanted = np.asarray(indices, dtype=np.int64)
        if wanted.size and (wanted.min() < 0 or wanted.max() >= count):
            raise FrameNotAvailableError(
                f"frames {wanted.min()}..{wanted.max()} requested, {self._filename} holds {count}",
                call="PVCAMHDF5Handler")
        # h5py fancy indexing needs increasing unique indices; read those, then reorder.
        unique, inverse = np.unique(wanted, return_inverse=True)
        return dataset[unique][inverse] if unique.size else np.empty(
            (0, *dataset.shape[1:]), dataset.dtype)

    def frame_metadata(self, start: Optional[int] = None, stop: Optional[int] = None) -> dict[str, np.ndarray]:
        """Return the per-frame metadata of this file (see :func:`read_frame_metadata`).

        Parameters
        ----------
        start, stop : int, optional
            Frame index range.

        Returns
        -------
        dict
            Field name -> 1-D array.
        """
        self._open()
        return _read_metadata(self._file, start, stop)

    def get_file_list(self, datum_kwarg_gen: Iterable[Mapping[str, Any]]) -> list[str]:
        """Return the files behind a set of datums (always this one file).

        Parameters
        ----------
        datum_kwarg_gen : iterable of mapping
            Datum kwargs (unused: every datum of a Resource is in the same file).

        Returns
        -------
        list of str
            ``[filename]``.
        """
        return [str(self._filename)]

    def close(self) -> None:
        """Close the file (reopened on the next read)."""
        if self._file is not None:
            self._file.close()
        self._file = None
        self._dataset = None
        self._numbers = None

    def __repr__(self) -> str:
        return f"<PVCAMHDF5Handler {self._filename}:{self._dataset_path}>"
