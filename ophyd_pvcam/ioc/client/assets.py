"""The in-process detector's asset documents for a file the server writes.

:class:`RemoteAssetWriter` reuses :class:`~ophyd_pvcam.device.writer.AssetWriter`'s
document logic over a file the *server* writes: the frame count comes from
``HDF1:NumWritten_RBV`` (frames flushed), so the documents are the same and
never point past what a reader can see.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Optional

from ophyd_pvcam.device.writer import AssetWriter

__all__ = ["RemoteAssetWriter"]


class RemoteAssetWriter(AssetWriter):
    """:class:`~ophyd_pvcam.device.writer.AssetWriter`'s documents for a file the server writes.

    Instead of creating the file, :meth:`open_remote` adopts the server's
    file; :meth:`record_written` feeds it the server's flushed-frame count
    (``HDF1:NumWritten_RBV``), and the inherited methods produce exactly the
    in-process detector's documents. Frame times are the client's times of
    observing each count (the server does not publish per-frame times).

    Parameters
    ----------
    device_name : str
    image_key : str
    """

    def __init__(self, device_name: str, image_key: str):
        super().__init__(device_name, image_key, None)

    def open_remote(self, path: Path, frame_shape: tuple[int, int], dtype: Any, *,
                    mode: str) -> Path:
        """Adopt the server's file and reset the document state.

        Parameters
        ----------
        path : pathlib.Path
            The file as the client (and the catalog) can read it.
        frame_shape : tuple of int
        dtype : numpy dtype-like
        mode : {"stream", "legacy"}

        Returns
        -------
        pathlib.Path
        """
        with self._lock:
            if self._file is not None:
                raise RuntimeError(f"{self.device_name}: a file is already open ({self._path})")
            self._reset_documents(mode, frame_shape, dtype)
            self._file = _RemoteFile()
            self._path = Path(path)
            self._closed_frames = 0
            self._frame_times = []
        return self._path

    def record_written(self, count: int, when: Optional[float] = None) -> None:
        """Note that the server's file now holds ``count`` readable frames.

        Parameters
        ----------
        count : int
        when : float, optional
            Time of the observation (default now).
        """
        with self._lock:
            remote = self._file
            if not isinstance(remote, _RemoteFile) or count <= remote.frames_written:
                return
            stamp = time.time() if when is None else when
            self._frame_times.extend([stamp] * (count - len(self._frame_times)))
            remote.frames_written = int(count)


class _RemoteFile:
    """The part of HDF5FrameWriter's interface AssetWriter uses, for a server's file."""

    def __init__(self) -> None:
        self.frames_written = 0
        self.error: Optional[Exception] = None

    def flush(self, timeout: Optional[float] = None) -> int:
        return self.frames_written

    def close(self, timeout: Optional[float] = None) -> int:
        return self.frames_written

    def submit(self, frame: Any) -> None:
        raise RuntimeError("frames of a remote detector are written by its server")
