"""The record of one delivered frame, shared by the engine, storage and device layers."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

__all__ = ["Frame"]


@dataclass
class Frame:
    """One frame as it leaves the engine.

    Attributes
    ----------
    frame_number : int
        The SDK's 1-based ``FrameNr`` within the acquisition (after stream
        recoveries, the engine keeps numbering monotonic; see ``discontinuity``).
    data : numpy.ndarray
        The pixels, shape ``(height, width)``, owned by the receiver (a copy
        out of the SDK buffer; pooled buffers are released with ``release``).
    timestamp_bof : int
        Beginning-of-frame timestamp from ``FRAME_INFO`` (units of 100 us).
    timestamp_eof : int
        End-of-frame timestamp from ``FRAME_INFO`` (units of 100 us).
    readout_time : int
        ``FRAME_INFO.ReadoutTime`` as reported by the SDK.
    host_time : float
        ``time.time()`` when the engine copied the frame out of the SDK buffer.
    index : int
        0-based position of this frame among the frames delivered by this
        acquisition (what files and documents index by).
    lost_before : int
        Frames lost (FrameNr gap) immediately before this one.
    metadata : BlockMetadata or None
        The frame's decoded PVCAM metadata header (a one-frame
        :class:`~ophyd_pvcam.engine.metadata.BlockMetadata`) when the stream
        runs with frame metadata; None otherwise.
    rois : tuple of numpy.ndarray or None
        Every region's pixels when the frame carried metadata (``data`` is
        ``rois[0]``); None otherwise.
    """

    frame_number: int
    data: np.ndarray
    timestamp_bof: int = 0
    timestamp_eof: int = 0
    readout_time: int = 0
    host_time: float = 0.0
    index: int = 0
    lost_before: int = 0
    metadata: Optional[Any] = None
    rois: Optional[tuple] = None

    # -- the frame's own metadata header (PARAM_METADATA_ENABLED), per-frame file fields --
    @property
    def count_time(self) -> float:
        """Exposure of this frame in seconds, from its metadata header (NaN without one)."""
        return float("nan") if self.metadata is None else float(self.metadata.exposure_seconds[0])

    @property
    def camera_frame_number(self) -> int:
        """The header's ``frameNr`` (restarts at 1 with each acquisition; 0 without metadata)."""
        return 0 if self.metadata is None else int(self.metadata.camera_frame_numbers[0])

    @property
    def timestamp_bof_camera(self) -> int:
        """Beginning of frame on the camera's clock, in ticks of :attr:`timestamp_resolution`."""
        return 0 if self.metadata is None else int(self.metadata.timestamp_bof[0])

    @property
    def timestamp_eof_camera(self) -> int:
        """End of frame on the camera's clock, in ticks of :attr:`timestamp_resolution`."""
        return 0 if self.metadata is None else int(self.metadata.timestamp_eof[0])

    @property
    def timestamp_resolution(self) -> int:
        """Picoseconds per camera-clock tick (0 without metadata)."""
        return 0 if self.metadata is None else int(self.metadata.timestamp_resolution_ps[0])
