"""ctypes declarations of ``libpvcam_pump.so`` (mirrors ``src/pump.h``).

Private to :mod:`ophyd_pvcam.engine.stream.native`. The structures must match the C
layout exactly; :func:`load_pump_library` checks the sizes the library reports.
"""
from __future__ import annotations

import ctypes
import threading
from ctypes import (POINTER, Structure, c_double, c_int, c_int16, c_int32, c_int64, c_size_t,
                    c_uint64, c_void_p)
from pathlib import Path
from typing import Optional

from ophyd_pvcam.engine.errors import AcquisitionError

LIBRARY_NAME = "libpvcam_pump.so"
#: The ABI version this wrapper speaks (``pvp_version()``).
ABI_VERSION = 3

#: Loss reasons, by the index the C ledger uses.
REASONS = ("gap", "overwritten", "dropped")

EV_LOSS, EV_OVERRUN, EV_ERROR, EV_COMPLETE = 1, 2, 4, 8
EV_REMOVED, EV_STOP, EV_WOKEN, EV_PROGRESS = 16, 32, 64, 128

#: ``error_call`` values: which SDK call halted the pump.
ERROR_CALLS = {1: "pl_exp_get_oldest_frame", 2: "pl_exp_unlock_oldest_frame",
               3: "pl_exp_check_cont_status_ex", 4: "pl_exp_get_oldest_frame (address)"}


class Sdk(Structure):
    """``pvp_sdk``: the SDK function addresses."""

    _fields_ = [("get_oldest_frame", c_void_p), ("unlock_oldest_frame", c_void_p),
                ("check_cont_status_ex", c_void_p), ("register_callback_ex3", c_void_p),
                ("deregister_callback", c_void_p), ("error_code", c_void_p)]


class Config(Structure):
    """``pvp_config``."""

    _fields_ = [("hcam", c_int16), ("use_callbacks", c_int32), ("overwrite_mode", c_int32),
                ("drop_when_full", c_int32), ("sdk_buffer", c_void_p), ("sdk_frames", c_uint64),
                ("frame_bytes", c_uint64), ("ring_frames", c_uint64), ("max_frames", c_int64),
                ("poll_interval_ns", c_int64), ("safety_interval_ns", c_int64),
                ("refresh_ns", c_int64), ("lag_margin", c_int32),
                ("metadata_frame_nr", c_int32), ("zero_copy", c_int32), ("inplace", c_int32),
                ("coalesce_ns", c_int64)]

#: ``pvp_attach`` modes: copy every frame, zero copy (a burst), in place (continuous).
MODE_COPY, MODE_ZERO_COPY, MODE_INPLACE = 0, 1, 2


class Loss(Structure):
    """``pvp_loss``: SDK FrameNr ``first..last`` lost for ``reason``."""

    _fields_ = [("first", c_int64), ("last", c_int64), ("reason", c_int32), ("pad", c_int32)]


class Counters(Structure):
    """``pvp_counters``: see ``src/pump.h`` for each field."""

    _fields_ = [(name, c_int64) for name in (
        "consumed", "signalled_latest", "polled_latest", "callbacks", "callbacks_total",
        "callback_duplicates", "callbacks_missed", "frames_retrieved", "frames_delivered")]
    _fields_ += [("lost_by_reason", c_int64 * len(REASONS))]
    _fields_ += [(name, c_int64) for name in (
        "wakeups", "max_batch", "last_frame_ns", "ring_used", "ring_peak", "ring_frames",
        "ring_touched_bytes", "error_code", "error_call", "halted", "ended", "copy_ns_total",
        "drain_ns_total", "pending_lost", "exhausted", "frames_inplace", "frames_copied",
        "held_overwritten", "untaken_overwritten", "ring_trimmed_bytes")]


HIST_BINS = 160
#: Histogram order of ``pvp_histograms`` (names as in ``stats.TIMING_NAMES``).
HISTOGRAMS = ("callback_to_wake", "wake_to_retrieved", "copy", "unlock")


class Histograms(Structure):
    """``pvp_histograms``: per-frame timings binned like ``stats.LogHistogram``."""

    _fields_ = [("counts", (c_int64 * HIST_BINS) * len(HISTOGRAMS)),
                ("total", c_int64 * len(HISTOGRAMS)), ("maximum", c_int64 * len(HISTOGRAMS))]


_P = c_void_p
_SIGNATURES = {
    "pvp_version": (c_int, []),
    "pvp_counters_size": (c_size_t, []),
    "pvp_config_size": (c_size_t, []),
    "pvp_histograms_size": (c_size_t, []),
    "pvp_get_histograms": (None, [_P, POINTER(Histograms)]),
    "pvp_create": (c_int, [POINTER(Sdk), POINTER(Config), POINTER(c_void_p)]),
    "pvp_attach": (c_int, [_P, c_void_p, c_uint64, c_uint64, c_uint64, c_int32]),
    "pvp_mark_eof_registered": (None, [_P, c_int32]),
    "pvp_register_eof": (c_int, [_P, c_int32]),
    "pvp_deregister_eof": (c_int, [_P, c_int32]),
    "pvp_start": (c_int, [_P]),
    "pvp_request_stop": (None, [_P]),
    "pvp_wake": (None, [_P]),
    "pvp_join": (c_int, [_P]),
    "pvp_pause": (c_int, [_P, c_double]),
    "pvp_resume": (None, [_P]),
    "pvp_new_epoch": (None, [_P, c_int64, c_int64]),
    "pvp_note_latest": (None, [_P, c_int64]),
    "pvp_set_overwrite_mode": (None, [_P, c_int32]),
    "pvp_set_metadata": (None, [_P, c_int32]),
    "pvp_salvage_frames": (c_int64, [_P, c_int64]),
    "pvp_finish": (None, [_P]),
    "pvp_take": (c_int64, [_P, c_double, c_int64, POINTER(c_uint64)]),
    "pvp_release": (c_int, [_P, c_uint64, c_uint64]),
    "pvp_wait_event": (c_int, [_P, c_double]),
    "pvp_pop_losses": (c_int, [_P, POINTER(Loss), c_int]),
    "pvp_get_counters": (None, [_P, POINTER(Counters)]),
    "pvp_ring_columns": (None, [_P] + [POINTER(c_void_p)] * 10),
    "pvp_sdk_stopped": (None, [_P, c_int64, c_int32]),
    "pvp_destroy": (c_int, [_P]),
}

_loaded: dict[str, ctypes.CDLL] = {}
_load_lock = threading.Lock()


def default_library_path() -> Path:
    """Where ``build.py`` puts the library in the source tree."""
    return Path(__file__).resolve().parent / "lib" / LIBRARY_NAME


def load_pump_library(path: Optional[Path] = None) -> ctypes.CDLL:
    """Load (once per file) and declare the pump library.

    Raises
    ------
    AcquisitionError
        When the file is missing, does not load, or speaks another ABI.
    """
    target = Path(path) if path is not None else default_library_path()
    key = str(target.resolve()) if target.exists() else str(target)
    with _load_lock:
        lib = _loaded.get(key)
        if lib is not None:
            return lib
        if not target.is_file():
            raise AcquisitionError(
                f"the native frame pump is not built ({target} is missing); run "
                f"`pip install -e .` or `python ophyd_pvcam/engine/stream/native/build.py`, "
                f"or use pump='python'", None, "FramePump")
        try:
            lib = ctypes.CDLL(str(target))
        except OSError as exc:
            raise AcquisitionError(f"cannot load the native frame pump {target}: {exc}",
                                   None, "FramePump") from exc
        for name, (restype, argtypes) in _SIGNATURES.items():
            try:
                function = getattr(lib, name)
            except AttributeError:
                raise AcquisitionError(f"{target} lacks {name}: it is older than this package; "
                                       f"rebuild it (python ophyd_pvcam/engine/stream/native/build.py)",
                                       None, "FramePump") from None
            function.restype = restype
            function.argtypes = argtypes
        if (lib.pvp_version() != ABI_VERSION or lib.pvp_counters_size() != ctypes.sizeof(Counters)
                or lib.pvp_config_size() != ctypes.sizeof(Config)
                or lib.pvp_histograms_size() != ctypes.sizeof(Histograms)):
            raise AcquisitionError(
                f"{target} speaks pump ABI {lib.pvp_version()} (counters "
                f"{lib.pvp_counters_size()} B, config {lib.pvp_config_size()} B); this package "
                f"expects ABI {ABI_VERSION} ({ctypes.sizeof(Counters)} B, "
                f"{ctypes.sizeof(Config)} B): rebuild it", None, "FramePump")
        _loaded[key] = lib
        return lib


def column(address: int, ctype: type, count: int, owner: object):
    """A ctypes array over ``count`` items at ``address`` that keeps ``owner`` alive."""
    array = (ctype * count).from_address(address)
    array._owner = owner  # numpy views of it keep the pump (and its memory) alive
    return array


__all__: list[str] = []
