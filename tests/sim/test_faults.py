"""Opt-in fault injection (PVCAM_SIM_FAULTS / pvcam_sim_set_faults) and its grammar."""
from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import time
from ctypes import byref, c_int16, c_int32, c_uint32, c_void_p

import numpy as np
import pytest
from simabi import (
    CIRC_NO_OVERWRITE, CIRC_OVERWRITE, EOF_CALLBACK, EXPOSURE_IN_PROGRESS, EXT_TRIG_EDGE_RISING, EXT_TRIG_INTERNAL,
    EXT_TRIG_SOFTWARE_EDGE, EXT_TRIG_SOFTWARE_FIRST, PL_CALLBACK_CAM_REMOVED, PL_CALLBACK_EOF, READOUT_IN_PROGRESS,
    abort, frame_numbers, start_cont,
)

from ophyd_pvcam import sim
from ophyd_pvcam.sdk.errors import PVCAMError

QUIET_S = 0.15   # long enough for dozens of 64x64 frames (each ~1.3 ms)


def _stalls_at(lib, h, n, capacity=16):
    """Start, wait for frame n, make sure nothing follows; return (buffer, fb, status)."""
    fb = lib.setup_cont(h)
    buf = start_cont(lib, h, fb, capacity)
    try:
        lib.wait_latest(h, n)
        time.sleep(QUIET_S)
        status, _, _, fi = lib.cont_status(h)
        assert fi.FrameNr == n
        lib.latest(h)                         # consume, so status is the driver's own
        status = lib.cont_status(h)[0]
    finally:
        abort(lib, h)
    return buf, fb, status


def test_faults_are_off_by_default(pvcam):
    lib = pvcam()
    assert sim.get_faults() == ""
    h = lib.open()
    fb = lib.setup_cont(h)
    buf = start_cont(lib, h, fb, 4)
    try:
        lib.wait_latest(h, 40)
    finally:
        abort(lib, h)
    del buf


def test_get_faults_returns_the_canonical_spec(lib):
    try:
        sim.set_faults(" drop_every=3 ,stall_after=5, rereg_corrupts ")
        assert sim.get_faults() == "rereg_corrupts,stall_after=5,drop_every=3"
        sim.set_faults({"slow_readout": 2.5, "seed": 7, "reject_circ_overwrite": True, "rereg_corrupts": False})
        assert sim.get_faults() == "reject_circ_overwrite,slow_readout=2.5,seed=7"
        sim.set_faults("")
        assert sim.get_faults() == ""
    finally:
        sim.set_faults(None)


@pytest.mark.parametrize("spec,needle", [
    ("bogus", "unknown fault 'bogus'"), ("stall_after=-1", "invalid value"), ("drop_every=1", "invalid value"),
    ("intermittent_stall=2", "invalid value"), ("slow_readout=0", "invalid value"), ("stall_after", "invalid"),
    ("rereg_corrupts=maybe", "invalid value")])
def test_invalid_fault_specs_fail_164_with_a_readable_message_and_keep_the_old_faults(lib, spec, needle):
    try:
        sim.set_faults("stall_after=9")
        with pytest.raises(sim.SimulatorConfigError, match=needle) as info:
            sim.set_faults(spec)
        assert info.value.code == 164
        assert info.value.message.startswith("Invalid value (PL_ERR_VALUE_INVALID) - ")
        assert info.value.call == "pvcam_sim_set_faults" and isinstance(info.value, PVCAMError)
        assert sim.get_faults() == "stall_after=9"
    finally:
        sim.set_faults(None)


@pytest.mark.parametrize("mode", [EXT_TRIG_INTERNAL, EXT_TRIG_INTERNAL | 3, EXT_TRIG_EDGE_RISING,
                                  EXT_TRIG_SOFTWARE_FIRST | 1, EXT_TRIG_SOFTWARE_EDGE])
def test_reject_circ_overwrite_fails_start_with_185_for_every_mode(pvcam, mode):
    lib = pvcam(faults="reject_circ_overwrite")
    h = lib.open()
    fb = lib.setup_cont(h, mode=mode, buffer_mode=CIRC_OVERWRITE)
    buf = ctypes.create_string_buffer(fb * 4)
    assert lib.fails("pl_exp_start_cont", c_int16(h), buf, c_uint32(fb * 4)) == 185
    lib.setup_cont(h, mode=mode, buffer_mode=CIRC_NO_OVERWRITE)
    lib.call("pl_exp_start_cont", c_int16(h), buf, c_uint32(fb * 4))
    abort(lib, h)


def test_rereg_corrupts_stops_frames_and_callbacks_after_five_frames(pvcam):
    lib = pvcam(faults="rereg_corrupts")
    h = lib.open()
    seen = []
    fn = EOF_CALLBACK(lambda p, c: seen.append(p.contents.FrameNr))
    for _ in range(2):   # the second registration replaces the first one: corruption
        lib.call("pl_cam_register_callback_ex3", c_int16(h), c_int32(PL_CALLBACK_EOF), fn, None)
    buf, fb, status = _stalls_at(lib, h, 5)
    assert seen == [1, 2, 3, 4, 5]
    assert status in (EXPOSURE_IN_PROGRESS, READOUT_IN_PROGRESS)
    fb = lib.setup_cont(h)                   # only the next acquisition is affected
    _buffer = start_cont(lib, h, fb, 4)
    try:
        lib.wait_latest(h, 20)
    finally:
        abort(lib, h)


def test_rereg_after_deregister_does_not_corrupt(pvcam):
    lib = pvcam(faults="rereg_corrupts")
    h = lib.open()
    fn = EOF_CALLBACK(lambda p, c: None)
    lib.call("pl_cam_register_callback_ex3", c_int16(h), c_int32(PL_CALLBACK_EOF), fn, None)
    lib.call("pl_cam_deregister_callback", c_int16(h), c_int32(PL_CALLBACK_EOF))
    lib.call("pl_cam_register_callback_ex3", c_int16(h), c_int32(PL_CALLBACK_EOF), fn, None)
    fb = lib.setup_cont(h)
    buf = start_cont(lib, h, fb, 4)
    try:
        lib.wait_latest(h, 20)
    finally:
        abort(lib, h)
    del buf


def test_stall_after_stops_frames_while_status_claims_progress(pvcam):
    lib = pvcam(faults="stall_after=7")
    h = lib.open()
    buf, fb, status = _stalls_at(lib, h, 7)
    assert status in (EXPOSURE_IN_PROGRESS, READOUT_IN_PROGRESS)
    assert sorted(frame_numbers(buf, fb))[-7:] == list(range(1, 8))


def test_stall_after_also_stalls_sequences(pvcam):
    lib = pvcam(faults="stall_after=2")
    h = lib.open()
    total = lib.setup_seq(h, 5)
    buf = ctypes.create_string_buffer(total)
    lib.call("pl_exp_start_seq", c_int16(h), buf)
    deadline = time.monotonic() + 10
    while lib.seq_status(h)[1] < 2 * (total // 5):
        assert time.monotonic() < deadline
        time.sleep(0.002)
    time.sleep(QUIET_S)
    status, arrived = lib.seq_status(h)
    assert arrived == 2 * (total // 5)
    assert status in (EXPOSURE_IN_PROGRESS, READOUT_IN_PROGRESS)
    lib.call("pl_exp_finish_seq", c_int16(h), buf, c_int16(0))


def _stall_points(lib, h, runs):
    points = []
    for _ in range(runs):
        fb = lib.setup_cont(h)
        buf = start_cont(lib, h, fb, 16)
        try:
            lib.wait_latest(h, 4)
            time.sleep(QUIET_S)
            points.append(lib.cont_status(h)[3].FrameNr)
        finally:
            abort(lib, h)
        del buf
    return points


def test_intermittent_stall_is_reproducible_with_a_seed(pvcam):
    lib = pvcam(faults="intermittent_stall=1,seed=42")
    h = lib.open()
    first = _stall_points(lib, h, 4)
    assert all(4 <= p <= 8 for p in first)
    sim.set_faults("intermittent_stall=1,seed=42")
    assert _stall_points(lib, h, 4) == first


def test_intermittent_stall_with_probability_zero_never_stalls(pvcam):
    lib = pvcam(faults="intermittent_stall=0,seed=1")
    h = lib.open()
    fb = lib.setup_cont(h)
    buf = start_cont(lib, h, fb, 16)
    try:
        lib.wait_latest(h, 30)
    finally:
        abort(lib, h)
    del buf


def _ten_frame_sequence(lib, h):
    """Run a 10-frame sequence with an EOF callback to completion.

    Returns (FrameNr of each callback, bytes arrived at completion, frame bytes,
    FrameNr of each slot).
    """
    seen = []
    fn = EOF_CALLBACK(lambda p, c: seen.append(p.contents.FrameNr))
    lib.call("pl_cam_register_callback_ex3", c_int16(h), c_int32(PL_CALLBACK_EOF), fn, None)
    fb = lib.setup_seq(h, 10) // 10
    buf = ctypes.create_string_buffer(fb * 10)
    lib.call("pl_exp_start_seq", c_int16(h), buf)
    deadline = time.monotonic() + 10
    while lib.seq_status(h)[0] != 3:
        assert time.monotonic() < deadline
        time.sleep(0.002)
    arrived = lib.seq_status(h)[1]
    lib.call("pl_exp_finish_seq", c_int16(h), buf, c_int16(0))
    nrs = frame_numbers(np.frombuffer(buf, np.uint8)[:fb * 10], fb)
    return seen, arrived, fb, list(nrs)


def test_drop_every_leaves_framenr_gaps_and_unwritten_slots(pvcam):
    lib = pvcam(faults="drop_every=3")
    seen, _, _, nrs = _ten_frame_sequence(lib, lib.open())
    assert seen == [1, 2, 4, 5, 7, 8, 10]
    assert nrs == [1, 2, 0, 4, 5, 0, 7, 8, 0, 10]


def test_drop_callback_every_loses_callbacks_but_not_frames(pvcam):
    lib = pvcam(faults="drop_callback_every=3")
    seen, arrived, fb, nrs = _ten_frame_sequence(lib, lib.open())
    assert arrived == 10 * fb                       # every frame arrived ...
    assert seen == [1, 2, 4, 5, 7, 8, 10]           # ... but not every callback
    assert nrs == list(range(1, 11))
    assert lib.fails("pvcam_sim_set_faults", b"drop_callback_every=1") == 164


def test_unplug_removes_the_camera_until_reinit(pvcam):
    lib = pvcam(faults="unplug_after=3")
    h = lib.open()
    removed = []
    fn = EOF_CALLBACK(lambda p, c: removed.append(p.contents.hCam))
    lib.call("pl_cam_register_callback_ex3", c_int16(h), c_int32(PL_CALLBACK_CAM_REMOVED), fn, None)
    fb = lib.setup_cont(h)
    buf = start_cont(lib, h, fb, 8)
    deadline = time.monotonic() + 10
    while not removed:
        assert time.monotonic() < deadline, "no CAM_REMOVED callback"
        time.sleep(0.002)
    assert removed == [h]
    st, nb, cnt = c_int16(), c_uint32(), c_uint32()
    assert lib.fails("pl_exp_check_cont_status", c_int16(h), byref(st), byref(nb), byref(cnt)) == 180
    assert lib.fails("pl_exp_get_latest_frame", c_int16(h), byref(c_void_p())) == 180
    assert lib.fails("pl_exp_abort", c_int16(h), c_int16(1)) == 180   # stops the thread anyway
    assert sorted(frame_numbers(buf, fb))[-3:] == [1, 2, 3]
    lib.call("pl_cam_close", c_int16(h))
    h2 = c_int16()
    assert lib.fails("pl_cam_open", b"pvcamUSB_0", byref(h2), c_int16(0)) == 180
    lib.call("pl_pvcam_uninit")
    lib.call("pl_pvcam_init")
    assert lib.open() == h


def test_slow_readout_stretches_readout_in_frame_timestamps(pvcam):
    lib = pvcam(faults="slow_readout=4")
    h = lib.open()
    fb = lib.setup_cont(h, (0, 2047, 1, 0, 1023, 1))
    readout_units = lib.get(h, "READOUT_TIME") / 100
    buf = start_cont(lib, h, fb, 2)
    try:
        fi = lib.wait_latest(h, 1)
    finally:
        abort(lib, h)
    assert fi.ReadoutTime == pytest.approx(4 * readout_units, abs=1)
    del buf


def test_faults_change_between_acquisitions(pvcam):
    lib = pvcam()
    h = lib.open()
    sim.set_faults("stall_after=3")
    _stalls_at(lib, h, 3)
    sim.set_faults("")
    fb = lib.setup_cont(h)
    buf = start_cont(lib, h, fb, 4)
    try:
        lib.wait_latest(h, 10)
    finally:
        abort(lib, h)
    del buf


def _run_child(code: str, **env: str) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **env}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full_env, timeout=60)


CHILD = """
import ctypes
from ophyd_pvcam import sim
lib = ctypes.CDLL(str(sim.library_path()))
lib.pl_error_code.restype = ctypes.c_short
ok = lib.pl_pvcam_init()
if not ok:
    buf = ctypes.create_string_buffer(256); lib.pl_error_message(lib.pl_error_code(), buf)
    print("FAIL", lib.pl_error_code(), buf.value.decode())
else:
    n = ctypes.c_short(); lib.pl_cam_get_total(ctypes.byref(n))
    print("OK", n.value, sim.get_faults())
"""


def test_environment_variables_are_read_at_init():
    out = _run_child(CHILD, PVCAM_SIM_CAMERAS="kinetix, prime-95b,prime-bsi", PVCAM_SIM_FAULTS="stall_after=4")
    assert out.stdout.split() == ["OK", "3", "stall_after=4"], out.stderr


def test_default_is_one_prime_bsi_without_faults():
    env = {k: v for k, v in os.environ.items() if not k.startswith("PVCAM_SIM_")}
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, timeout=60)
    assert out.stdout.split() == ["OK", "1"], out.stderr


@pytest.mark.parametrize("var,value,needle", [("PVCAM_SIM_CAMERAS", "prime-bsi,retiga", "unknown camera model"),
                                              ("PVCAM_SIM_FAULTS", "explode", "unknown fault")])
def test_invalid_environment_makes_init_fail_164(var, value, needle):
    out = _run_child(CHILD, **{var: value})
    assert out.stdout.startswith("FAIL 164 Invalid value (PL_ERR_VALUE_INVALID) - "), out.stdout + out.stderr
    assert needle in out.stdout
