"""The sink's sustained write rate: configured, or measured once per filesystem and cached.

The pre-flight budget (:mod:`ophyd_pvcam.engine.preflight`) compares the
camera's bytes per second with what the destination sustains. That rate is:

1. ``PVCAM_SINK_RATE`` when set: bytes per second, with an optional
   ``K``/``M``/``G``/``T`` suffix (powers of 1024) and an optional ``B/s``
   (``"400M"``, ``"1.5G"``, ``"250e6"``); or
2. measured once: the median of :data:`MEASURE_PASSES` timed writes of a
   temporary file in the destination directory (each :data:`MEASURE_BYTES`
   at most, a quarter of the free space at most, :data:`MEASURE_MAX_SECONDS`
   at most, ``fsync`` included so the page cache does not flatter the disk),
   removed at once. On a loaded machine single writes vary several-fold
   (156 to 1055 MiB/s in three consecutive 64 MiB writes here); the median
   of three is what a run meets most of the time. The result is kept per
   filesystem (every directory of one disk shares it) in memory and in
   ``<data dir>/sink-rates.json``, and measured again after
   :data:`CACHE_MAX_AGE_S`.

The measurement is of the disk, not of the host's frame path (the copy out
of the SDK, the HDF5 writer, a simulated camera rendering its frames on the
same cores). Where the CPU is the limit, a run shows it: frames overwritten
in the SDK's buffer before the host read them. :func:`note_frame_path_rate`
keeps what such a run delivered (per frame size, for
:data:`OBSERVED_MAX_AGE_S`, in the same cache file), and :func:`sink_rate`
of that frame size then answers the lower of the disk's rate and the
observed one (source ``"observed"``). A later run that delivers more without
loss forgets the observation. ``PVCAM_SINK_RATE``, when set, is used as it is
and nothing is observed.
"""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

from ophyd_pvcam.engine.errors import ValidationError
from ophyd_pvcam.engine.preflight import format_bytes

from .errors import StorageError
from .paths import default_data_dir

__all__ = ["SINK_RATE_ENV", "MEASURE_PASSES", "MEASURE_BYTES", "MEASURE_MAX_SECONDS", "CACHE_MAX_AGE_S",
           "CACHE_FILE_NAME", "SinkRate", "parse_rate", "configured_sink_rate",
           "existing_directory", "filesystem_root", "free_disk_bytes", "measure_write_rate",
           "sink_rate", "forget_sink_rates", "cache_path", "OBSERVED_MAX_AGE_S",
           "note_frame_path_rate", "observed_frame_path_rate"]

logger = logging.getLogger(__name__)

#: Environment variable that sets the sink rate (bytes per second).
SINK_RATE_ENV = "PVCAM_SINK_RATE"
#: Timed writes per measurement; the median is kept.
MEASURE_PASSES = 3
#: Most bytes one timed write writes.
MEASURE_BYTES = 64 * 1024 ** 2
#: Longest a measurement writes before it stops and divides what it wrote.
MEASURE_MAX_SECONDS = 1.0
#: A cached measurement older than this (seconds) is measured again.
CACHE_MAX_AGE_S = 7 * 24 * 3600.0
#: An observed frame-path rate older than this (seconds) is forgotten.
OBSERVED_MAX_AGE_S = 24 * 3600.0
#: Name of the cache file in the data directory.
CACHE_FILE_NAME = "sink-rates.json"

_BLOCK = 4 * 1024 ** 2
_MIN_FREE = 4 * _BLOCK
_SUFFIXES = {"": 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4}
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?(?:e\d+)?)\s*([KMGT]?)(?:I?B)?(?:/S)?\s*$", re.IGNORECASE)

_lock = threading.Lock()
_measured: dict[str, "SinkRate"] = {}
_observed: dict[str, Optional["SinkRate"]] = {}   # None: looked up, nothing observed


@dataclass(frozen=True)
class SinkRate:
    """A sink's sustained write rate and where it comes from.

    Attributes
    ----------
    bytes_per_s : float
        Sustained write rate.
    source : str
        ``"PVCAM_SINK_RATE"`` (configured), ``"measured"`` (by this process)
        or ``"cached"`` (read from the cache file).
    directory : pathlib.Path or None
        Where it was measured; None when configured.
    measured_at : float or None
        ``time.time()`` of the measurement; None when configured.
    """

    bytes_per_s: float
    source: str
    directory: Optional[Path] = None
    measured_at: Optional[float] = None

    def __str__(self) -> str:
        where = f" in {self.directory}" if self.directory is not None else ""
        return f"{format_bytes(self.bytes_per_s)}/s ({self.source}{where})"


def parse_rate(text: str) -> float:
    """Bytes per second meant by ``text``: ``"400M"``, ``"1.5GB/s"``, ``"250e6"``.

    Raises
    ------
    ValidationError
        For anything else, or zero.
    """
    match = _RATE.match(str(text))
    if not match:
        raise ValidationError(f"{SINK_RATE_ENV}={text!r} is not a rate: use bytes per second "
                              f"with an optional K/M/G/T suffix (e.g. 400M)", None, "sink_rate")
    value = float(match.group(1)) * _SUFFIXES[match.group(2).upper()]
    if not value > 0:
        raise ValidationError(f"{SINK_RATE_ENV}={text!r}: the rate must be positive", None,
                              "sink_rate")
    return value


def configured_sink_rate() -> Optional[SinkRate]:
    """The rate set by ``PVCAM_SINK_RATE``, or None when it is not set."""
    text = os.environ.get(SINK_RATE_ENV, "").strip()
    if not text:
        return None
    return SinkRate(parse_rate(text), SINK_RATE_ENV)


def existing_directory(path: Union[str, os.PathLike]) -> Path:
    """The nearest existing directory at or above ``path`` (the destination may not exist yet).

    Parameters
    ----------
    path : path-like

    Returns
    -------
    pathlib.Path
        Absolute.
    """
    current = Path(path).expanduser().absolute()
    while not current.is_dir() and current != current.parent:
        current = current.parent
    return current


def filesystem_root(path: Union[str, os.PathLike]) -> Path:
    """The mount point of the filesystem holding ``path`` (the key of the cache).

    Parameters
    ----------
    path : path-like

    Returns
    -------
    pathlib.Path
    """
    current = existing_directory(path).resolve()
    device = current.stat().st_dev
    while current != current.parent and current.parent.stat().st_dev == device:
        current = current.parent
    return current


def free_disk_bytes(path: Union[str, os.PathLike]) -> int:
    """Bytes free for this user at ``path`` (or its nearest existing parent).

    Parameters
    ----------
    path : path-like

    Returns
    -------
    int
    """
    return int(shutil.disk_usage(existing_directory(path)).free)


def measure_write_rate(directory: Union[str, os.PathLike], *, size: int = MEASURE_BYTES,
                       max_seconds: float = MEASURE_MAX_SECONDS) -> float:
    """Time a write of up to ``size`` bytes (and its ``fsync``) into ``directory``.

    The temporary file (``.pvcam-sink-*.tmp``) is removed before returning,
    also when writing fails. Incompressible bytes are written, so a
    compressing filesystem is not flattered.

    Parameters
    ----------
    directory : path-like
        The destination (its nearest existing parent is used).
    size : int
        Most bytes written (at least one 4 MiB block); also at most a
        quarter of the free space.
    max_seconds : float
        Stop writing after this long (the rate is what was written so far).

    Returns
    -------
    float
        Bytes per second.

    Raises
    ------
    StorageError
        When the directory cannot be written or has less than 16 MiB free.
    """
    where = existing_directory(directory)
    free = free_disk_bytes(where)
    if free < _MIN_FREE:
        raise StorageError(f"{where}: only {format_bytes(free)} free; the sink rate cannot be "
                           f"measured (set {SINK_RATE_ENV})", None, "measure_write_rate")
    size = max(_BLOCK, min(int(size), free // 4))
    block = os.urandom(min(_BLOCK, size))
    try:
        handle, name = tempfile.mkstemp(prefix=".pvcam-sink-", suffix=".tmp", dir=where)
    except OSError as exc:
        raise StorageError(f"cannot measure the sink rate in {where}: {exc}", None,
                           "measure_write_rate") from exc
    written = 0
    try:
        started = time.perf_counter()
        while written < size:
            written += os.write(handle, block[:min(len(block), size - written)])
            if time.perf_counter() - started > max_seconds:
                break
        os.fsync(handle)
        elapsed = time.perf_counter() - started
    except OSError as exc:
        raise StorageError(f"cannot measure the sink rate in {where}: {exc}", None,
                           "measure_write_rate") from exc
    finally:
        os.close(handle)
        os.unlink(name)
    return written / max(elapsed, 1e-9)


def cache_path() -> Path:
    """The cache file of measured rates: ``<data dir>/sink-rates.json``."""
    return default_data_dir() / CACHE_FILE_NAME


def _read_cache(path: Path) -> dict:
    try:
        with open(path, encoding="utf-8") as stream:
            content = json.load(stream)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        logger.warning("ignoring the unreadable sink-rate cache %s: %s", path, exc)
        return {}
    return content if isinstance(content, dict) else {}


def _write_cache(path: Path, key: str, rate: Optional[SinkRate]) -> None:
    """Store (or, with ``rate`` None, remove) one entry of the cache file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        content = _read_cache(path)
        if rate is None:
            if content.pop(key, None) is None:
                return
        else:
            content[key] = {"bytes_per_s": rate.bytes_per_s, "measured_at": rate.measured_at,
                            "directory": str(rate.directory)}
        partial = path.with_name(path.name + f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(content, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(partial, path)
    except OSError as exc:
        # The rate is known for this process; only a later process pays a new measurement.
        logger.warning("could not cache the sink rate in %s: %s", path, exc)


def _cached_entry(entry: object, now: float, max_age: float = CACHE_MAX_AGE_S,
                  source: str = "cached") -> Optional[SinkRate]:
    if not isinstance(entry, dict):
        return None
    try:
        rate, when = float(entry["bytes_per_s"]), float(entry["measured_at"])
        directory = Path(str(entry.get("directory", "")))
    except (KeyError, TypeError, ValueError):
        return None
    if not rate > 0 or now - when > max_age or when > now:
        return None
    return SinkRate(rate, source, directory, when)


def _frame_size_key(frame_bytes: int) -> str:
    # Per-frame costs make the host's bytes per second depend on the frame
    # size; frames within a factor of two share an observation.
    return f"frame-path:{int(frame_bytes).bit_length()}"


def note_frame_path_rate(directory: Union[str, os.PathLike], frame_bytes: int,
                         delivered_bytes_per_s: float, *, host_lost: int) -> None:
    """Keep (or forget) what a finished run's frame path sustained at this frame size.

    Parameters
    ----------
    directory : path-like
        Where its frames went.
    frame_bytes : int
        Bytes of one of its frames.
    delivered_bytes_per_s : float
        Bytes per second it delivered while delivering.
    host_lost : int
        Frames it lost because the host fell behind (overwritten in the
        SDK's buffer, overruns); frames the camera skipped do not count.
        With losses the rate is an upper bound of the frame path, kept; a
        run without them that delivered more forgets a lower bound.
    """
    if configured_sink_rate() is not None or not delivered_bytes_per_s > 0:
        return
    key = _frame_size_key(frame_bytes)
    if host_lost <= 0:
        # The common case, at the end of every trigger: compare in memory only.
        known = observed_frame_path_rate(frame_bytes)
        if known is not None and delivered_bytes_per_s > known.bytes_per_s:
            with _lock:
                _observed[key] = None
                _write_cache(cache_path(), key, None)
        return
    observed = SinkRate(float(delivered_bytes_per_s), "observed", existing_directory(directory),
                        time.time())
    logger.warning("the frame path sustained only %s/s at %s frames (%d frame(s) overwritten "
                   "before they were read); later pre-flight predictions of this frame size "
                   "use it", format_bytes(delivered_bytes_per_s), format_bytes(frame_bytes),
                   host_lost)
    with _lock:
        _observed[key] = observed
        _write_cache(cache_path(), key, observed)


def observed_frame_path_rate(frame_bytes: int) -> Optional[SinkRate]:
    """The rate a recent lossy run of this frame size sustained, or None (see the module notes)."""
    key = _frame_size_key(frame_bytes)
    with _lock:
        if key not in _observed:
            # Read once per process and frame size: every trigger asks.
            _observed[key] = _cached_entry(_read_cache(cache_path()).get(key), time.time(),
                                           OBSERVED_MAX_AGE_S, "observed")
        known = _observed[key]
    if known is not None and time.time() - float(known.measured_at or 0) > OBSERVED_MAX_AGE_S:
        return None
    return known


def sink_rate(directory: Union[str, os.PathLike], *, refresh: bool = False,
              frame_bytes: Optional[int] = None) -> SinkRate:
    """The sustained write rate of the sink at ``directory``.

    ``PVCAM_SINK_RATE`` when set; else this process's measurement of the
    directory's filesystem; else the cache file's, unless older than
    :data:`CACHE_MAX_AGE_S`; else the median of :data:`MEASURE_PASSES`
    new :func:`measure_write_rate` calls, cached.

    Parameters
    ----------
    directory : path-like
        Where the frames go (it need not exist yet).
    refresh : bool
        Measure again even when a measurement is known.
    frame_bytes : int, optional
        Bytes of the frames to come: the answer is then at most what a
        recent run of that frame size sustained when it lost frames
        (:func:`observed_frame_path_rate`).

    Returns
    -------
    SinkRate

    Raises
    ------
    ValidationError
        For a malformed ``PVCAM_SINK_RATE``.
    StorageError
        When a measurement is needed and fails.
    """
    configured = configured_sink_rate()
    if configured is not None:
        return configured
    key = str(filesystem_root(directory))
    with _lock:
        found = None if refresh else _measured.get(key)
        cache = cache_path()
        if found is None and not refresh:
            found = _cached_entry(_read_cache(cache).get(key), time.time())
        if found is None:
            where = existing_directory(directory)
            rates = sorted(measure_write_rate(where, size=MEASURE_BYTES)
                           for _ in range(MEASURE_PASSES))
            rate = rates[len(rates) // 2]
            found = SinkRate(rate, "measured", where, time.time())
            logger.info("sink at %s sustains %s/s (measured; cached in %s)", where,
                        format_bytes(rate), cache)
            _write_cache(cache, key, found)
        _measured[key] = found
    if frame_bytes:
        observed = observed_frame_path_rate(frame_bytes)
        if observed is not None and observed.bytes_per_s < found.bytes_per_s:
            return observed
    return found


def forget_sink_rates() -> None:
    """Forget this process's measurements (the cache file stays); the next call looks again."""
    with _lock:
        _measured.clear()
        _observed.clear()
