"""The stream: continuous acquisition that delivers every frame or reports its loss.

Modules
-------
``stream``, ``run``, ``options``
    :class:`Stream` (the public face), one run of it, and its validated options.
``native``, ``nativeloop``, ``dispatch``, ``ringsource``
    The native C frame pump and the loop that serves it; blocks handed to consumers.
``frameloop``, ``runcontrol``, ``framesignal``
    The Python frame path: the EOF callback's signal, the drain loop and the
    start/stop/recovery control both paths share.
``buffers``, ``bufmode``, ``delivery``
    The SDK's circular buffer (size, mode and its fallback) and the consumer queues.
``health``, ``diagnosis``
    The stall state machine and the diagnosis a stall ends with.
``stats``, ``framestats``
    :class:`StreamStats` and per-frame statistics.

Public names
------------
:class:`Stream`, :class:`StreamState`, :class:`StreamStats`,
:func:`plan_buffer_frames`, :data:`BUFFER_MODE_NAMES`, :func:`frame_statistics`,
:data:`STALL_TIMEOUT_RANGE`, :data:`STALL_COUNT_RANGE`.
"""
from ophyd_pvcam.engine.stream.buffers import plan_buffer_frames
from ophyd_pvcam.engine.stream.bufmode import BUFFER_MODE_NAMES
from ophyd_pvcam.engine.stream.framestats import frame_statistics
from ophyd_pvcam.engine.stream.health import STALL_COUNT_RANGE, STALL_TIMEOUT_RANGE
from ophyd_pvcam.engine.stream.stats import StreamStats
from ophyd_pvcam.engine.stream.stream import Stream, StreamState

__all__ = [
    "Stream",
    "StreamState",
    "StreamStats",
    "plan_buffer_frames",
    "BUFFER_MODE_NAMES",
    "frame_statistics",
    "STALL_TIMEOUT_RANGE",
    "STALL_COUNT_RANGE",
]
