"""Helpers for the simulator tests: a thin ctypes view of libpvcam.so.2.

The simulator is tested through its C ABI directly (not through
ophyd_pvcam.sdk, which sits above it), exactly as a vendor-SDK program sees it.
"""
from __future__ import annotations

import ctypes
import time
from ctypes import POINTER, Structure, byref, c_char_p, c_int16, c_int32, c_int64, c_uint16
from ctypes import c_uint32, c_uint64, c_void_p, create_string_buffer

import numpy as np

from ophyd_pvcam import sim

# ---- ABI constants used by the tests (reference sections 5 and 6) ----
ATTR_CURRENT, ATTR_COUNT, ATTR_TYPE, ATTR_MIN, ATTR_MAX = 0, 1, 2, 3, 4
ATTR_DEFAULT, ATTR_INCREMENT, ATTR_ACCESS, ATTR_AVAIL, ATTR_LIVE = 5, 6, 7, 8, 9
TYPE_INT16, TYPE_FLT64, TYPE_UNS16, TYPE_UNS32, TYPE_UNS64 = 1, 4, 6, 7, 8
TYPE_ENUM, TYPE_BOOLEAN, TYPE_CHAR_PTR, TYPE_INT64, TYPE_RGN_TYPE = 9, 11, 13, 16, 20
ACC_READ_ONLY, ACC_READ_WRITE, ACC_EXIST_CHECK_ONLY, ACC_WRITE_ONLY = 1, 2, 3, 4
EXT_TRIG_INTERNAL, EXT_TRIG_TRIG_FIRST, EXT_TRIG_EDGE_RISING = 1792, 2048, 2304
EXT_TRIG_SOFTWARE_FIRST, EXT_TRIG_SOFTWARE_EDGE = 2816, 3072
CIRC_NONE, CIRC_OVERWRITE, CIRC_NO_OVERWRITE = 0, 1, 2
READOUT_NOT_ACTIVE, EXPOSURE_IN_PROGRESS, READOUT_IN_PROGRESS, FRAME_AVAILABLE = 0, 1, 2, 3
READOUT_COMPLETE = 3
PL_CALLBACK_BOF, PL_CALLBACK_EOF, PL_CALLBACK_CAM_REMOVED = 0, 1, 3
EXP_RES_ONE_MILLISEC, EXP_RES_ONE_MICROSEC, EXP_RES_ONE_SEC = 0, 1, 2
CCS_HALT = 1


def pid(type_code: int, cls: int, n: int) -> int:
    """Encode a parameter id as the vendor header does."""
    return (type_code << 24) | (cls << 16) | n


PARAM = {
    "DD_VERSION": pid(6, 0, 2),
    "CAM_INTERFACE_TYPE": pid(9, 0, 10),
    "CHIP_NAME": pid(13, 2, 129),
    "SYSTEM_NAME": pid(13, 2, 130),
    "VENDOR_NAME": pid(13, 2, 131),
    "PRODUCT_NAME": pid(13, 2, 132),
    "HEAD_SER_NUM_ALPHA": pid(13, 2, 533),
    "CAM_FW_VERSION": pid(6, 2, 532),
    "SER_SIZE": pid(6, 2, 58),
    "PAR_SIZE": pid(6, 2, 57),
    "PIX_SER_SIZE": pid(6, 2, 62),
    "PIX_PAR_SIZE": pid(6, 2, 63),
    "FWELL_CAPACITY": pid(7, 2, 506),
    "BIT_DEPTH": pid(1, 2, 511),
    "BIT_DEPTH_HOST": pid(1, 2, 551),
    "GAIN_INDEX": pid(1, 2, 512),
    "SPDTAB_INDEX": pid(1, 2, 513),
    "GAIN_NAME": pid(13, 2, 514),
    "SPDTAB_NAME": pid(13, 2, 515),
    "READOUT_PORT": pid(9, 2, 247),
    "PIX_TIME": pid(6, 2, 516),
    "IMAGE_FORMAT": pid(9, 2, 248),
    "IMAGE_FORMAT_HOST": pid(9, 2, 552),
    "COLOR_MODE": pid(9, 2, 504),
    "TEMP": pid(1, 2, 525),
    "TEMP_SETPOINT": pid(1, 2, 526),
    "FAN_SPEED_SETPOINT": pid(9, 2, 710),
    "READOUT_TIME": pid(4, 2, 179),
    "CLEARING_TIME": pid(16, 2, 180),
    "POST_TRIGGER_DELAY": pid(16, 2, 181),
    "PRE_TRIGGER_DELAY": pid(16, 2, 182),
    "CLEAR_CYCLES": pid(6, 2, 97),
    "CLEAR_MODE": pid(9, 2, 523),
    "FRAME_CAPABLE": pid(11, 2, 509),
    "PMODE": pid(9, 2, 524),
    "EXPOSURE_MODE": pid(9, 2, 535),
    "EXPOSE_OUT_MODE": pid(9, 2, 560),
    "ADC_OFFSET": pid(1, 2, 195),
    "EXP_RES": pid(9, 3, 2),
    "EXP_RES_INDEX": pid(6, 3, 4),
    "EXPOSURE_TIME": pid(8, 3, 8),
    "CIRC_BUFFER": pid(11, 3, 299),
    "FRAME_BUFFER_SIZE": pid(8, 3, 300),
    "BINNING_SER": pid(9, 3, 165),
    "BINNING_PAR": pid(9, 3, 166),
    "METADATA_ENABLED": pid(11, 3, 168),
    "ROI_COUNT": pid(6, 3, 169),
    "ROI": pid(20, 3, 1),
    "SCAN_LINE_TIME": pid(16, 3, 254),
    "METADATA_RESET_TIMESTAMP": pid(11, 3, 176),
    "SCAN_MODE": pid(9, 3, 250),
    "SCAN_DIRECTION": pid(9, 3, 251),
    "SCAN_DIRECTION_RESET": pid(11, 3, 252),
    "SCAN_LINE_DELAY": pid(6, 3, 253),
    "SCAN_WIDTH": pid(6, 3, 255),
    "SMART_STREAM_MODE_ENABLED": pid(11, 2, 700),
    "SMART_STREAM_MODE": pid(6, 2, 701),
    "SMART_STREAM_EXP_PARAMS": pid(14, 2, 702),
}


class RGN(Structure):
    _fields_ = [(n, c_uint16) for n in ("s1", "s2", "sbin", "p1", "p2", "pbin")]


class GUID(Structure):
    _fields_ = [("f1", c_uint32), ("f2", c_uint16), ("f3", c_uint16), ("f4", ctypes.c_uint8 * 8)]


class FRAME_INFO(Structure):
    _fields_ = [("FrameInfoGUID", GUID), ("hCam", c_int16), ("FrameNr", c_int32), ("TimeStamp", c_int64),
                ("ReadoutTime", c_int32), ("TimeStampBOF", c_int64)]


class SMART_STREAM(Structure):
    _fields_ = [("entries", c_uint16), ("params", POINTER(c_uint32))]


EOF_CALLBACK = ctypes.CFUNCTYPE(None, POINTER(FRAME_INFO), c_void_p)

_CTYPE_OF = {TYPE_INT16: ctypes.c_int16, TYPE_UNS16: c_uint16, TYPE_UNS32: c_uint32, TYPE_UNS64: c_uint64,
             TYPE_ENUM: c_int32, TYPE_BOOLEAN: c_uint16, TYPE_INT64: c_int64, TYPE_FLT64: ctypes.c_double}


class PVCAMCallError(Exception):
    """A PVCAM call failed; carries the error code and message."""

    def __init__(self, call: str, code: int, message: str) -> None:
        super().__init__(f"{call}: [{code}] {message}")
        self.call, self.code, self.message = call, code, message


class Lib:
    """Minimal ctypes access to the simulator for tests."""

    def __init__(self) -> None:
        self.raw = ctypes.CDLL(str(sim.library_path()))
        self.raw.pl_error_code.restype = c_int16
        self.raw.pvcam_sim_set_cameras.argtypes = [c_char_p]
        self.raw.pvcam_sim_set_faults.argtypes = [c_char_p]

    def __getattr__(self, name: str):
        fn = getattr(self.raw, name)
        if name.startswith("pl_") and name != "pl_error_code":
            fn.restype = c_uint16
        return fn

    def error_code(self) -> int:
        return self.raw.pl_error_code()

    def message(self, code: int) -> str:
        buf = create_string_buffer(256)
        self.raw.pl_error_message(c_int16(code), buf)
        return buf.value.decode()

    def call(self, name: str, *args) -> None:
        """Call pl_<name>; raise PVCAMCallError on PV_FAIL."""
        fn = getattr(self, name)
        if not fn(*args):
            code = self.error_code()
            raise PVCAMCallError(name, code, self.message(code))

    def fails(self, name: str, *args) -> int:
        """Call pl_<name> expecting PV_FAIL; return the error code."""
        fn = getattr(self, name)
        assert not fn(*args), f"{name} unexpectedly succeeded"
        return self.error_code()

    # ---- convenience ----
    def open(self, name: str = "pvcamUSB_0") -> int:
        h = c_int16()
        self.call("pl_cam_open", name.encode(), byref(h), c_int16(0))
        return h.value

    def attr(self, h: int, param: str, attr: int = ATTR_CURRENT):
        """Read one attribute, typed by ATTR_TYPE."""
        p = PARAM[param]
        if attr == ATTR_AVAIL or attr == ATTR_LIVE:
            v = c_uint16()
            self.call("pl_get_param", c_int16(h), c_uint32(p), c_int16(attr), byref(v))
            return bool(v.value)
        if attr in (ATTR_TYPE, ATTR_ACCESS):
            v = c_uint16()
            self.call("pl_get_param", c_int16(h), c_uint32(p), c_int16(attr), byref(v))
            return v.value
        if attr == ATTR_COUNT:
            v = c_uint32()
            self.call("pl_get_param", c_int16(h), c_uint32(p), c_int16(attr), byref(v))
            return v.value
        t = self.attr(h, param, ATTR_TYPE)
        if t == TYPE_CHAR_PTR:
            buf = create_string_buffer(256)
            self.call("pl_get_param", c_int16(h), c_uint32(p), c_int16(attr), buf)
            return buf.value.decode()
        if t == TYPE_RGN_TYPE:
            r = RGN()
            self.call("pl_get_param", c_int16(h), c_uint32(p), c_int16(attr), byref(r))
            return (r.s1, r.s2, r.sbin, r.p1, r.p2, r.pbin)
        v = _CTYPE_OF[t]()
        self.call("pl_get_param", c_int16(h), c_uint32(p), c_int16(attr), byref(v))
        return v.value

    def get(self, h: int, param: str):
        return self.attr(h, param, ATTR_CURRENT)

    def set_region(self, h: int, region) -> None:
        r = RGN(*region)
        self.call("pl_set_param", c_int16(h), c_uint32(PARAM["ROI"]), byref(r))

    def smart_exposures(self, h: int, attr: int = ATTR_CURRENT, capacity: int = 16) -> list[int]:
        """PARAM_SMART_STREAM_EXP_PARAMS into a caller-allocated smart_stream_type."""
        values = (c_uint32 * capacity)()
        ss = SMART_STREAM(capacity, values)
        self.call("pl_get_param", c_int16(h), c_uint32(PARAM["SMART_STREAM_EXP_PARAMS"]), c_int16(attr), byref(ss))
        return [values[i] for i in range(ss.entries)] if attr == ATTR_CURRENT else [0] * ss.entries

    def set_smart_exposures(self, h: int, exposures) -> int:
        """Set PARAM_SMART_STREAM_EXP_PARAMS; returns 0 or the error code."""
        values = (c_uint32 * max(1, len(exposures)))(*exposures)
        ss = SMART_STREAM(len(exposures), values)
        ok = self.raw.pl_set_param(c_int16(h), c_uint32(PARAM["SMART_STREAM_EXP_PARAMS"]), byref(ss))
        return 0 if ok & 0xFFFF else self.error_code()

    def set(self, h: int, param: str, value) -> None:
        t = self.attr(h, param, ATTR_TYPE)
        v = _CTYPE_OF[t](value)
        self.call("pl_set_param", c_int16(h), c_uint32(PARAM[param]), byref(v))

    def set_fails(self, h: int, param: str, value) -> int:
        t = self.attr(h, param, ATTR_TYPE)
        v = _CTYPE_OF[t](value)
        return self.fails("pl_set_param", c_int16(h), c_uint32(PARAM[param]), byref(v))

    def enum(self, h: int, param: str) -> list[tuple[int, str]]:
        items = []
        for i in range(self.attr(h, param, ATTR_COUNT)):
            n = c_uint32()
            self.call("pl_enum_str_length", c_int16(h), c_uint32(PARAM[param]), c_uint32(i), byref(n))
            buf = create_string_buffer(n.value)
            v = c_int32()
            self.call("pl_get_enum_param", c_int16(h), c_uint32(PARAM[param]), c_uint32(i), byref(v), buf,
                      c_uint32(n.value))
            items.append((v.value, buf.value.decode()))
        return items

    def setup_cont(self, h: int, region=(0, 63, 1, 0, 63, 1), mode: int = EXT_TRIG_INTERNAL, exposure: int = 0,
                   buffer_mode: int = CIRC_OVERWRITE) -> int:
        regions = [region] if isinstance(region[0], int) else list(region)
        arr = (RGN * len(regions))(*[RGN(*r) for r in regions])
        nbytes = c_uint32()
        self.call("pl_exp_setup_cont", c_int16(h), c_uint16(len(regions)), arr, c_int16(mode), c_uint32(exposure),
                  byref(nbytes), c_int16(buffer_mode))
        return nbytes.value

    def setup_seq(self, h: int, frames: int, region=(0, 63, 1, 0, 63, 1), mode: int = EXT_TRIG_INTERNAL,
                  exposure: int = 0) -> int:
        regions = [region] if isinstance(region[0], int) else list(region)
        arr = (RGN * len(regions))(*[RGN(*r) for r in regions])
        nbytes = c_uint32()
        self.call("pl_exp_setup_seq", c_int16(h), c_uint16(frames), c_uint16(len(regions)), arr, c_int16(mode),
                  c_uint32(exposure), byref(nbytes))
        return nbytes.value

    def cont_status(self, h: int) -> tuple[int, int, int, FRAME_INFO]:
        st, nb, cnt, fi = c_int16(), c_uint32(), c_uint32(), FRAME_INFO()
        self.call("pl_exp_check_cont_status_ex", c_int16(h), byref(st), byref(nb), byref(cnt), byref(fi))
        return st.value, nb.value, cnt.value, fi

    def seq_status(self, h: int) -> tuple[int, int]:
        st, nb = c_int16(), c_uint32()
        self.call("pl_exp_check_status", c_int16(h), byref(st), byref(nb))
        return st.value, nb.value

    def latest(self, h: int) -> tuple[int, FRAME_INFO]:
        addr, fi = c_void_p(), FRAME_INFO()
        self.call("pl_exp_get_latest_frame_ex", c_int16(h), byref(addr), byref(fi))
        return addr.value, fi

    def oldest(self, h: int) -> tuple[int, FRAME_INFO]:
        addr, fi = c_void_p(), FRAME_INFO()
        self.call("pl_exp_get_oldest_frame_ex", c_int16(h), byref(addr), byref(fi))
        return addr.value, fi

    def wait_latest(self, h: int, frame_nr: int, timeout: float = 10.0) -> FRAME_INFO:
        """Poll check_cont_status_ex until the newest FrameNr reaches frame_nr."""
        deadline = time.monotonic() + timeout
        while True:
            fi = self.cont_status(h)[3]
            if fi.FrameNr >= frame_nr:
                return fi
            if time.monotonic() > deadline:
                raise TimeoutError(f"FrameNr {fi.FrameNr} never reached {frame_nr}")
            time.sleep(0.002)


def make_buffer(nbytes: int) -> np.ndarray:
    """A page-aligned uint8 buffer of nbytes."""
    raw = np.zeros(nbytes + 4096, np.uint8)
    off = (-raw.ctypes.data) % 4096
    return raw[off:off + nbytes]


def frame_numbers(buf: np.ndarray, frame_bytes: int) -> np.ndarray:
    """FrameNr stamped into the first 4 bytes of each frame slot of buf."""
    return buf.reshape(-1, frame_bytes)[:, :4].copy().view("<u4")[:, 0]


def run_cont(lib: Lib, h: int, frames_wanted: int, *, capacity: int = 8, region=(0, 63, 1, 0, 63, 1),
             buffer_mode: int = CIRC_OVERWRITE, exposure: int = 0) -> tuple[np.ndarray, int]:
    """Start a continuous acquisition, wait for frames_wanted frames, abort; return (buffer, frame_bytes)."""
    fb = lib.setup_cont(h, region, exposure=exposure, buffer_mode=buffer_mode)
    buf = make_buffer(fb * capacity)
    lib.call("pl_exp_start_cont", c_int16(h), c_void_p(buf.ctypes.data), c_uint32(buf.nbytes))
    try:
        lib.wait_latest(h, frames_wanted)
    finally:
        lib.call("pl_exp_abort", c_int16(h), c_int16(CCS_HALT))
    return buf, fb


def start_cont(lib: Lib, h: int, fb: int, capacity: int) -> np.ndarray:
    """Start a continuous acquisition into a new buffer of capacity frames.

    The caller must keep the returned buffer referenced until the acquisition
    stops: the camera writes into it (tests bind it to ``_buffer`` for that).
    """
    buf = make_buffer(fb * capacity)
    lib.call("pl_exp_start_cont", c_int16(h), c_void_p(buf.ctypes.data), c_uint32(buf.nbytes))
    return buf


def abort(lib: Lib, h: int) -> None:
    lib.call("pl_exp_abort", c_int16(h), c_int16(CCS_HALT))
