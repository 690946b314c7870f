"""The in-process detector's asset documents for a file the server writes.

:class:`RemoteAssetWriter` reuses :class:`~ophyd_pvcam.device.writer.AssetWriter`'s
document logic over a file the *server* writes, through its public hooks
(:meth:`~ophyd_pvcam.device.writer.AssetWriter.adopt`,
:meth:`~ophyd_pvcam.device.writer.AssetWriter.extend_frame_times`): the frame
count comes from ``HDF1:NumWritten_RBV`` (frames flushed), so the documents
are the same and never point past what a reader can see.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Optional

from ophyd_pvcam.device.writer import AssetWriter

__all__ = ["RemoteAssetWriter", "RemoteFile"]


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
        self._remote: Optional[RemoteFile] = None

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
        remote = RemoteFile()
        adopted = self.adopt(remote, path, frame_shape, dtype, mode=mode)
        self._remote = remote
        return adopted

    def record_written(self, count: int, when: Optional[float] = None) -> None:
        """Note that the server's file now holds ``count`` readable frames.

        Parameters
        ----------
        count : int
        when : float, optional
            Time of the observation (default now).
        """
        remote = self._remote
        if remote is None or not self.is_open or count <= remote.frames_written:
            return
        self.extend_frame_times(count, time.time() if when is None else when)
        remote.advance(count)


class RemoteFile:
    """A :class:`~ophyd_pvcam.device.assetfile.FrameFileWriter` for a file the server writes.

    Its ``frames_written`` is the server's flushed-frame count, advanced by
    :meth:`RemoteAssetWriter.record_written`.
    """

    def __init__(self) -> None:
        self.frames_written = 0
        self.error: Optional[Exception] = None
        self._lock = threading.Lock()

    def advance(self, count: int) -> None:
        """Note that the file holds ``count`` frames (never goes back).

        Parameters
        ----------
        count : int
        """
        with self._lock:
            self.frames_written = max(self.frames_written, int(count))

    def flush(self, timeout: Optional[float] = None) -> int:
        return self.frames_written

    def close(self, timeout: Optional[float] = None) -> int:
        return self.frames_written

    def submit(self, frame: Any) -> None:
        raise RuntimeError("frames of a remote detector are written by its server")

    def submit_block(self, block: Any, on_written: Any = None) -> None:
        raise RuntimeError("frames of a remote detector are written by its server")
