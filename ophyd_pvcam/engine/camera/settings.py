"""What one acquisition needs from the camera, and the pure rules that produce it.

:class:`AcquisitionSettings` is the frozen snapshot a sequence or a stream hands
to ``pl_exp_setup_seq`` / ``pl_exp_setup_cont``. The functions here hold the
decisions that do not need the SDK: which exposure resolution expresses a time,
the names of trigger and expose-out modes, the pixel type of an image format and
the frame-period estimate. :class:`~ophyd_pvcam.engine.camera.camera.Camera` applies
them to a real camera.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from ophyd_pvcam.engine.errors import ValidationError
from ophyd_pvcam.sdk import constants as C

__all__ = [
    "AcquisitionSettings",
    "EXPOSURE_RESOLUTION_SECONDS",
    "EXPOSURE_RESOLUTION_NAMES",
    "LONG_EXPOSURE_SECONDS",
    "EXPOSURE_MODE_VALUES",
    "EXPOSE_OUT_MODE_VALUES",
    "exposure_candidates",
    "dtype_for_image_format",
    "estimate_readout_seconds",
    "is_extended_mode",
    "check_exposure_seconds",
]

#: Seconds per unit of each ``PARAM_EXP_RES`` value.
EXPOSURE_RESOLUTION_SECONDS: dict[int, float] = {
    int(C.EXP_RES_ONE_MICROSEC): 1e-6,
    int(C.EXP_RES_ONE_MILLISEC): 1e-3,
    int(C.EXP_RES_ONE_SEC): 1.0,
}

#: Short names of the exposure resolutions (for messages and ``Camera.exposure_resolution``).
EXPOSURE_RESOLUTION_NAMES: dict[int, str] = {
    int(C.EXP_RES_ONE_MICROSEC): "us",
    int(C.EXP_RES_ONE_MILLISEC): "ms",
    int(C.EXP_RES_ONE_SEC): "s",
}

#: Whole-second exposures at least this long use ``EXP_RES_ONE_SEC`` when the
#: camera offers it (a "long" exposure); shorter whole-millisecond ones use ms.
LONG_EXPOSURE_SECONDS = 60.0

# Quantisation tolerated when a time is expressed in a coarser unit because the
# finer ones do not fit the camera's range: 0.1 % of the requested time.
_MAX_RELATIVE_ROUNDING = 1e-3

#: Pythonic trigger-mode names -> the ``exp_mode`` value used in setup calls.
#: The extended modes (``EXT_TRIG_*``) are what current cameras report; the
#: legacy ones are kept for older cameras that report them instead.
EXPOSURE_MODE_VALUES: dict[str, int] = {
    "internal": int(C.EXT_TRIG_INTERNAL),
    "trigger_first": int(C.EXT_TRIG_TRIG_FIRST),
    "edge_rising": int(C.EXT_TRIG_EDGE_RISING),
    "level": int(C.EXT_TRIG_LEVEL),
    "software_first": int(C.EXT_TRIG_SOFTWARE_FIRST),
    "software_edge": int(C.EXT_TRIG_SOFTWARE_EDGE),
    "level_overlap": int(C.EXT_TRIG_LEVEL_OVERLAP),
    "level_pulsed": int(C.EXT_TRIG_LEVEL_PULSED),
    "timed": int(C.TIMED_MODE),
    "strobed": int(C.STROBED_MODE),
    "bulb": int(C.BULB_MODE),
    "legacy_trigger_first": int(C.TRIGGER_FIRST_MODE),
    "variable_timed": int(C.VARIABLE_TIMED_MODE),
}

#: Pythonic expose-out names -> ``PL_EXPOSE_OUT_MODES`` value (low byte of exp_mode).
EXPOSE_OUT_MODE_VALUES: dict[str, int] = {
    "first_row": int(C.EXPOSE_OUT_FIRST_ROW),
    "all_rows": int(C.EXPOSE_OUT_ALL_ROWS),
    "any_row": int(C.EXPOSE_OUT_ANY_ROW),
    "rolling_shutter": int(C.EXPOSE_OUT_ROLLING_SHUTTER),
    "line_trigger": int(C.EXPOSE_OUT_LINE_TRIGGER),
    "global_shutter": int(C.EXPOSE_OUT_GLOBAL_SHUTTER),
}

_EIGHT_BIT_FORMATS = {int(C.PL_IMAGE_FORMAT_MONO8), int(C.PL_IMAGE_FORMAT_BAYER8)}
_THIRTY_TWO_BIT_FORMATS = {int(C.PL_IMAGE_FORMAT_MONO32), int(C.PL_IMAGE_FORMAT_BAYER32)}


@dataclass(frozen=True)
class AcquisitionSettings:
    """Everything a setup call needs, captured at one moment.

    Attributes
    ----------
    regions : tuple of tuple of int
        ``(s1, s2, sbin, p1, p2, pbin)`` per region (inclusive sensor
        coordinates), in the order passed to the setup call.
    exp_mode : int
        The ``exp_mode`` argument of the setup call: trigger mode OR-ed with the
        expose-out mode (when the camera has one).
    exposure : int
        Exposure in units of ``exposure_resolution`` (the setup argument).
    exposure_seconds : float
        The same exposure in seconds.
    frame_shape : tuple of int
        ``(height, width)`` of one frame in pixels, after binning.
    dtype : numpy.dtype
        Pixel type: ``uint8`` for 8-bit image formats, else ``uint16``.
    readout_time_s : float
        Estimated readout time of one frame (see :func:`estimate_readout_seconds`).
    frame_period_s : float
        Estimated time between frames in a free-running acquisition:
        ``exposure_seconds + readout_time_s`` (rolling-shutter cameras that
        overlap exposure and readout are faster; the estimate is an upper
        bound meant for timeouts and buffer sizing, not for timing).
    exposure_resolution : int
        The ``PARAM_EXP_RES`` value ``exposure`` is expressed in.
    exposure_mode : str
        Name of the trigger mode (key of :data:`EXPOSURE_MODE_VALUES` or the
        camera's own name for a mode the engine has no name for).
    expose_out_mode : str or None
        Name of the expose-out mode, ``None`` when the camera has none.
    """

    regions: tuple[tuple[int, int, int, int, int, int], ...]
    exp_mode: int
    exposure: int
    exposure_seconds: float
    frame_shape: tuple[int, int]
    dtype: np.dtype
    readout_time_s: float
    frame_period_s: float
    exposure_resolution: int = int(C.EXP_RES_ONE_MILLISEC)
    exposure_mode: str = "internal"
    expose_out_mode: Optional[str] = None

    @property
    def frame_bytes(self) -> int:
        """Bytes of one frame's pixels (without metadata)."""
        height, width = self.frame_shape
        return height * width * np.dtype(self.dtype).itemsize


def is_extended_mode(exp_mode: int) -> bool:
    """Tell whether ``exp_mode`` is an extended (``EXT_TRIG_*``) trigger mode.

    Parameters
    ----------
    exp_mode : int
        A trigger-mode value.

    Returns
    -------
    bool
        True for ``EXT_TRIG_INTERNAL`` and above; only those take an
        expose-out mode in their low byte.
    """
    return int(exp_mode) >= int(C.EXT_TRIG_INTERNAL)


def _whole_units(seconds: float, unit: float) -> Optional[int]:
    """Return ``seconds / unit`` if it is (within float noise) a whole number."""
    count = round(seconds / unit)
    if abs(seconds / unit - count) < 1e-6:
        return int(count)
    return None


def exposure_candidates(seconds: float, available: Sequence[int]) -> list[tuple[int, int]]:
    """Rank the ways of expressing an exposure time on a camera.

    The rule (the camera then accepts the first candidate inside the
    ``PARAM_EXPOSURE_TIME`` range of its resolution):

    1. preferred: a whole number of seconds of at least
       :data:`LONG_EXPOSURE_SECONDS` -> seconds; otherwise a whole number of
       milliseconds -> milliseconds; otherwise (sub-millisecond detail)
       -> microseconds;
    2. then every other available resolution that expresses the time exactly,
       finest first;
    3. then the remaining ones, finest first, rounded to the nearest unit, but
       only when that changes the time by at most 0.1 %.

    Parameters
    ----------
    seconds : float
        Requested exposure, >= 0.
    available : sequence of int
        ``PARAM_EXP_RES`` values the camera offers (``EXP_RES_*``).

    Returns
    -------
    list of (int, int)
        ``(resolution, count)`` pairs, best first; empty when no resolution
        can express the time.
    """
    known = [res for res in available if res in EXPOSURE_RESOLUTION_SECONDS]
    finest_first = sorted(known, key=lambda res: EXPOSURE_RESOLUTION_SECONDS[res])
    exact: dict[int, int] = {}
    for res in finest_first:
        count = _whole_units(seconds, EXPOSURE_RESOLUTION_SECONDS[res])
        if count is not None:
            exact[res] = count

    if seconds >= LONG_EXPOSURE_SECONDS and int(C.EXP_RES_ONE_SEC) in exact:
        preferred = int(C.EXP_RES_ONE_SEC)
    elif int(C.EXP_RES_ONE_MILLISEC) in exact and seconds >= 1e-3:
        preferred = int(C.EXP_RES_ONE_MILLISEC)
    elif int(C.EXP_RES_ONE_MICROSEC) in known:
        preferred = int(C.EXP_RES_ONE_MICROSEC)
    else:
        preferred = None

    ranked: list[tuple[int, int]] = []
    if preferred is not None:
        unit = EXPOSURE_RESOLUTION_SECONDS[preferred]
        count = exact.get(preferred, round(seconds / unit))
        if preferred in exact or _rounding_ok(seconds, count * unit):
            ranked.append((preferred, int(count)))
    for res in finest_first:
        if res in exact and all(res != r for r, _ in ranked):
            ranked.append((res, exact[res]))
    for res in finest_first:
        if all(res != r for r, _ in ranked):
            count = round(seconds / EXPOSURE_RESOLUTION_SECONDS[res])
            if _rounding_ok(seconds, count * EXPOSURE_RESOLUTION_SECONDS[res]):
                ranked.append((res, int(count)))
    return ranked


def _rounding_ok(requested: float, expressed: float) -> bool:
    if requested == 0:
        return expressed == 0
    return abs(expressed - requested) <= _MAX_RELATIVE_ROUNDING * requested


def dtype_for_image_format(image_format: Optional[int]) -> np.dtype:
    """Return the numpy pixel type of a ``PARAM_IMAGE_FORMAT`` value.

    Parameters
    ----------
    image_format : int or None
        ``PL_IMAGE_FORMAT_*`` value; ``None`` when the camera does not report
        one (then pixels are 16-bit, as on every PVCAM camera without the
        parameter).

    Returns
    -------
    numpy.dtype
        ``uint8`` for MONO8/BAYER8, ``uint32`` for MONO32/BAYER32, else ``uint16``.
    """
    if image_format is not None and int(image_format) in _EIGHT_BIT_FORMATS:
        return np.dtype(np.uint8)
    if image_format is not None and int(image_format) in _THIRTY_TWO_BIT_FORMATS:
        return np.dtype(np.uint32)
    return np.dtype(np.uint16)


def estimate_readout_seconds(rows: int, *, line_time_ns: Optional[float] = None,
                             pixel_time_ns: Optional[float] = None,
                             line_pixels: Optional[int] = None) -> float:
    """Estimate the readout time of one frame.

    A rolling-shutter sensor reads a frame row by row, so readout = rows read
    x line time. The line time is ``PARAM_SCAN_LINE_TIME`` when the camera
    reports it; otherwise ``PARAM_PIX_TIME`` x pixels per line, which
    over-estimates sensors that read several columns in parallel (fine for a
    timeout). Binning reduces the rows read, so ``rows`` is the binned height.

    Parameters
    ----------
    rows : int
        Rows read per frame (binned region height).
    line_time_ns : float, optional
        Time per row in ns.
    pixel_time_ns : float, optional
        Time per pixel in ns (used when ``line_time_ns`` is missing or 0).
    line_pixels : int, optional
        Pixels per row (the sensor width) for the pixel-time estimate.

    Returns
    -------
    float
        Seconds; 0.0 when neither timing is known.
    """
    if line_time_ns and line_time_ns > 0:
        return rows * float(line_time_ns) * 1e-9
    if pixel_time_ns and pixel_time_ns > 0 and line_pixels:
        return rows * float(pixel_time_ns) * int(line_pixels) * 1e-9
    return 0.0


def check_exposure_seconds(seconds: object) -> float:
    """Return ``seconds`` as a float, refusing non-numbers, NaN and negatives.

    Parameters
    ----------
    seconds : object
        The requested exposure.

    Returns
    -------
    float

    Raises
    ------
    ValidationError
        When the value is not a finite number >= 0.
    """
    if isinstance(seconds, (bool, np.bool_)) or not isinstance(seconds, (int, float, np.number)):
        raise ValidationError(f"exposure_time must be a number of seconds, got {seconds!r}",
                              None, "exposure_time")
    value = float(seconds)
    if not math.isfinite(value) or value < 0:
        raise ValidationError(f"exposure_time must be a finite number >= 0 s, got {seconds!r}",
                              None, "exposure_time")
    return value
