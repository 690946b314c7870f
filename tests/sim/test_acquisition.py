"""Continuous and sequence acquisition exactly per reference 7.2, 7.4-7.6."""
from __future__ import annotations

import time
from ctypes import byref, c_int16, c_uint32, c_void_p

import numpy as np
import pytest
from simabi import (
    CIRC_NO_OVERWRITE, CIRC_NONE, CIRC_OVERWRITE, EXPOSURE_IN_PROGRESS, EXT_TRIG_EDGE_RISING, EXT_TRIG_INTERNAL,
    EXT_TRIG_SOFTWARE_EDGE, EXT_TRIG_SOFTWARE_FIRST, FRAME_AVAILABLE, READOUT_COMPLETE, READOUT_IN_PROGRESS,
    READOUT_NOT_ACTIVE, RGN, abort, frame_numbers, make_buffer, run_cont, start_cont,
)


def test_frames_are_placed_at_n_minus_one_mod_capacity(cam):
    lib, h = cam
    buf, fb = run_cont(lib, h, 20, capacity=8)
    latest = lib.cont_status(h)[3].FrameNr
    nrs = frame_numbers(buf, fb)
    for slot, nr in enumerate(nrs):
        assert (nr - 1) % 8 == slot
        assert latest - 8 < nr <= latest


def test_pixels_are_offset_noise_plus_a_spot_with_framenr_stamped(cam):
    lib, h = cam
    fb = lib.setup_seq(h, 3, (0, 255, 1, 0, 255, 1), exposure=1) // 3
    buf = make_buffer(3 * fb)
    lib.call("pl_exp_start_seq", c_int16(h), c_void_p(buf.ctypes.data))
    _wait_seq_done(lib, h)
    frames = buf.view(np.uint16).reshape(3, 256, 256)
    assert list(frames[:, 0, 0]) == [1, 2, 3] and list(frames[:, 0, 1]) == [0, 0, 0]
    background = np.median(frames[0])
    assert 90 <= background <= 110
    assert frames[0].max() > 10000                   # the spot
    assert not np.array_equal(frames[0, 1:], frames[1, 1:])   # noise and spot move
    assert frames.max() < 2 ** 16


def _snap(lib, h, frames=1, region=(0, 255, 1, 0, 255, 1)):
    fb = lib.setup_seq(h, frames, region, exposure=1) // frames
    buf = make_buffer(frames * fb)
    lib.call("pl_exp_start_seq", c_int16(h), c_void_p(buf.ctypes.data))
    _wait_seq_done(lib, h)
    lib.call("pl_exp_finish_seq", c_int16(h), c_void_p(buf.ctypes.data), c_int16(0))
    return buf.view(np.uint16).reshape(frames, region[4] - region[3] + 1, region[1] - region[0] + 1)


def test_no_pixel_carries_the_frame_number_by_default(pvcam):
    lib = pvcam("prime-bsi", stamp=None)
    h = lib.open()
    frames = _snap(lib, h, 3)
    # Offset ~100 ADU with ~3 ADU of noise: no pixel falls to a counter's 0..3.
    assert frames.min() > 60
    assert [int(f[0, 0]) | (int(f[0, 1]) << 16) for f in frames] != [1, 2, 3]
    assert 90 <= np.median(frames[:, 0, :8]) <= 110     # the first pixels are background


def test_two_snaps_differ_in_their_noise(pvcam):
    lib = pvcam("prime-bsi", stamp=None)
    h = lib.open()
    first, second = _snap(lib, h)[0], _snap(lib, h)[0]
    # The spot moves with FrameNr only, so frame 1 of both has it in the same
    # place: a difference anywhere comes from the noise.
    assert not np.array_equal(first, second)
    corner = (slice(0, 32), slice(0, 32))                # far from the spot's circle
    assert (first[corner] != second[corner]).mean() > 0.5


def test_eight_bit_port_delivers_uint8_frames(pvcam):
    lib = pvcam("kinetix")
    h = lib.open()
    lib.set(h, "READOUT_PORT", 1)
    lib.set(h, "EXP_RES", 1)
    buf, fb = run_cont(lib, h, 300, capacity=16, region=(0, 63, 1, 0, 63, 1))
    assert fb == 64 * 64
    nrs = frame_numbers(buf, fb)
    assert len(set(nrs.tolist())) == 16
    assert np.median(buf.reshape(16, -1)[:, 8:]) < 40


def test_circ_overwrite_silently_overwrites(cam):
    lib, h = cam
    fb = lib.setup_cont(h, buffer_mode=CIRC_OVERWRITE)
    _buffer = start_cont(lib, h, fb, 4)
    try:
        lib.wait_latest(h, 12)
        addr, fi = lib.latest(h)
        assert fi.FrameNr >= 12
        lib.oldest(h)
    finally:
        abort(lib, h)


def test_no_overwrite_overrun_makes_every_getter_fail_173_until_restart(cam):
    lib, h = cam
    fb = lib.setup_cont(h, buffer_mode=CIRC_NO_OVERWRITE)
    buf = start_cont(lib, h, fb, 4)
    try:
        lib.wait_latest(h, 6)          # c = 0, capacity 4: 0 + 4 < 6
        addr = c_void_p()
        assert lib.fails("pl_exp_get_oldest_frame", c_int16(h), byref(addr)) == 173
        assert lib.fails("pl_exp_get_latest_frame", c_int16(h), byref(addr)) == 173
        assert lib.fails("pl_exp_get_oldest_frame", c_int16(h), byref(addr)) == 173
        nrs = frame_numbers(buf, fb)   # ... while frames kept being overwritten
        assert nrs.max() >= 6
    finally:
        abort(lib, h)
    fb = lib.setup_cont(h, buffer_mode=CIRC_NO_OVERWRITE, exposure=60_000)
    buf = start_cont(lib, h, fb, 4)
    try:                               # after restart the counters are fresh: no data yet, no overrun
        assert lib.fails("pl_exp_get_oldest_frame", c_int16(h), byref(addr)) == 169
    finally:
        abort(lib, h)


def test_oldest_plus_unlock_walks_frames_in_order(pvcam):
    lib = pvcam("prime-bsi")
    h = lib.open()
    fb = lib.setup_cont(h, buffer_mode=CIRC_NO_OVERWRITE, exposure=20)
    buf = start_cont(lib, h, fb, 64)
    base = buf.ctypes.data
    try:
        lib.wait_latest(h, 3)
        for expected in (1, 2, 3):
            addr, fi = lib.oldest(h)
            assert addr == base + (expected - 1) * fb
            assert int(np.frombuffer(buf[(expected - 1) * fb:(expected - 1) * fb + 4], "<u4")[0]) == expected
            assert fi.FrameNr >= expected   # quirk: the latest frame's info, not the oldest's
            lib.call("pl_exp_unlock_oldest_frame", c_int16(h))
    finally:
        abort(lib, h)


def test_get_oldest_frame_ex_fills_the_latest_frames_info(cam):
    lib, h = cam
    fb = lib.setup_cont(h, buffer_mode=CIRC_OVERWRITE, exposure=5)
    _buffer = start_cont(lib, h, fb, 64)
    try:
        lib.wait_latest(h, 3)
        abort(lib, h)                   # freeze the counters
        _, fi = lib.oldest(h)
        st, _, _, latest = lib.cont_status(h)
        assert fi.FrameNr == latest.FrameNr >= 3
    finally:
        abort(lib, h)


def test_latest_frame_marks_everything_consumed(cam):
    lib, h = cam
    fb = lib.setup_cont(h, buffer_mode=CIRC_OVERWRITE, exposure=5)
    buf = start_cont(lib, h, fb, 8)
    try:
        lib.wait_latest(h, 3)
        addr, fi = lib.latest(h)
        assert addr == buf.ctypes.data + ((fi.FrameNr - 1) % 8) * fb
        oldest, _ = lib.oldest(h)
        assert oldest == buf.ctypes.data + (fi.FrameNr % 8) * fb   # frame c + 1
    finally:
        abort(lib, h)


def test_cont_status_reports_frame_available_and_times_through_the_buffer(cam):
    lib, h = cam
    fb = lib.setup_cont(h)
    _buffer = start_cont(lib, h, fb, 4)
    try:
        lib.wait_latest(h, 10)
        abort(lib, h)
    finally:
        abort(lib, h)
    st, nbytes, cnt, fi = lib.cont_status(h)
    n = fi.FrameNr
    assert st == READOUT_NOT_ACTIVE           # stopped
    assert cnt == n // 4 and nbytes == (n % 4) * fb


def test_status_is_frame_available_while_unconsumed_frames_exist(cam):
    lib, h = cam
    fb = lib.setup_cont(h, exposure=10)
    _buffer = start_cont(lib, h, fb, 4)
    try:
        lib.wait_latest(h, 1)
        assert lib.cont_status(h)[0] == FRAME_AVAILABLE
        lib.latest(h)
        st = lib.cont_status(h)
        assert st[0] in (FRAME_AVAILABLE, EXPOSURE_IN_PROGRESS, READOUT_IN_PROGRESS)
    finally:
        abort(lib, h)


def test_getters_before_the_first_frame_fail_169(cam):
    lib, h = cam
    fb = lib.setup_cont(h, exposure=60_000)   # one minute: nothing arrives during the test
    _buffer = start_cont(lib, h, fb, 2)
    try:
        addr = c_void_p()
        assert lib.fails("pl_exp_get_latest_frame", c_int16(h), byref(addr)) == 169
        assert lib.fails("pl_exp_get_oldest_frame", c_int16(h), byref(addr)) == 169
        assert lib.cont_status(h)[0] == EXPOSURE_IN_PROGRESS
    finally:
        abort(lib, h)


def test_cont_status_without_a_buffer_fails_171(cam):
    lib, h = cam
    st, nb, cnt = c_int16(), c_uint32(), c_uint32()
    assert lib.fails("pl_exp_check_cont_status", c_int16(h), byref(st), byref(nb), byref(cnt)) == 171
    lib.setup_cont(h)
    assert lib.fails("pl_exp_check_cont_status", c_int16(h), byref(st), byref(nb), byref(cnt)) == 171


@pytest.mark.parametrize("size_frames", [0, 1.5])
def test_buffer_size_not_a_frame_multiple_fails_171(cam, size_frames):
    lib, h = cam
    fb = lib.setup_cont(h)
    buf = make_buffer(2 * fb)
    assert lib.fails("pl_exp_start_cont", c_int16(h), c_void_p(buf.ctypes.data),
                     c_uint32(int(size_frames * fb))) == 171


def test_start_cont_without_continuous_setup_fails_185(cam):
    lib, h = cam
    buf = make_buffer(8192 * 4)
    assert lib.fails("pl_exp_start_cont", c_int16(h), c_void_p(buf.ctypes.data), c_uint32(8192)) == 185
    lib.setup_seq(h, 1)
    assert lib.fails("pl_exp_start_cont", c_int16(h), c_void_p(buf.ctypes.data), c_uint32(8192)) == 185


def test_start_cont_after_circ_none_setup_fails_185(cam):
    lib, h = cam
    fb = lib.setup_cont(h, buffer_mode=CIRC_NONE)
    buf = make_buffer(fb * 2)
    assert lib.fails("pl_exp_start_cont", c_int16(h), c_void_p(buf.ctypes.data), c_uint32(buf.nbytes)) == 185


def test_failed_setup_leaves_no_valid_setup(cam):
    lib, h = cam
    fb = lib.setup_cont(h)
    r = RGN(0, 4000, 1, 0, 63, 1)
    assert lib.fails("pl_exp_setup_cont", c_int16(h), 1, byref(r), c_int16(EXT_TRIG_INTERNAL), c_uint32(0),
                     byref(c_uint32()), c_int16(CIRC_OVERWRITE)) == 181
    buf = make_buffer(fb * 2)
    assert lib.fails("pl_exp_start_cont", c_int16(h), c_void_p(buf.ctypes.data), c_uint32(buf.nbytes)) == 185


def test_changing_a_setting_after_setup_requires_a_new_setup(cam):
    lib, h = cam
    fb = lib.setup_cont(h)
    lib.set(h, "SPDTAB_INDEX", 0)            # unchanged value: setup stays valid
    lib.set(h, "TEMP_SETPOINT", -1500)       # not an acquisition setting
    buf = start_cont(lib, h, fb, 2)
    abort(lib, h)
    lib.set(h, "SPDTAB_INDEX", 1)
    assert lib.fails("pl_exp_start_cont", c_int16(h), c_void_p(buf.ctypes.data), c_uint32(buf.nbytes)) == 185
    lib.setup_cont(h)
    buf = start_cont(lib, h, fb, 2)
    abort(lib, h)


@pytest.mark.parametrize("region,code", [
    ((0, 2048, 1, 0, 63, 1), 181), ((10, 5, 1, 0, 63, 1), 181), ((0, 63, 3, 0, 63, 3), 182),
    ((0, 63, 2, 0, 63, 1), 182), ((0, 0, 2, 0, 0, 2), 181)])
def test_invalid_regions_are_rejected(cam, region, code):
    lib, h = cam
    r = RGN(*region)
    assert lib.fails("pl_exp_setup_cont", c_int16(h), 1, byref(r), c_int16(EXT_TRIG_INTERNAL), c_uint32(0),
                     byref(c_uint32()), c_int16(CIRC_OVERWRITE)) == code


def test_invalid_modes_and_exposures_are_rejected(cam):
    lib, h = cam
    r = RGN(0, 63, 1, 0, 63, 1)
    for mode in (0x0F00, EXT_TRIG_INTERNAL | 6, 7):
        assert lib.fails("pl_exp_setup_cont", c_int16(h), 1, byref(r), c_int16(mode), c_uint32(0),
                         byref(c_uint32()), c_int16(CIRC_OVERWRITE)) == 183
    assert lib.fails("pl_exp_setup_cont", c_int16(h), 1, byref(r), c_int16(EXT_TRIG_INTERNAL), c_uint32(0),
                     byref(c_uint32()), c_int16(7)) == 183
    assert lib.fails("pl_exp_setup_cont", c_int16(h), 1, byref(r), c_int16(EXT_TRIG_INTERNAL),
                     c_uint32(3_600_001), byref(c_uint32()), c_int16(CIRC_OVERWRITE)) == 187


def test_legacy_timed_mode_runs_as_internal_trigger(cam):
    lib, h = cam
    buf, fb = run_cont(lib, h, 3, capacity=4, exposure=1)
    assert lib.get(h, "EXPOSURE_MODE") == EXT_TRIG_INTERNAL


def test_timestamps_follow_exposure_plus_readout(cam):
    """TimeStamps (100 us units) advance by exposure + readout: a schedule, not a stopwatch."""
    lib, h = cam
    lib.set(h, "CLEAR_MODE", 0)
    fb = lib.setup_cont(h, (0, 2047, 1, 0, 1023, 1), exposure=10)   # 10 ms + 1024 rows
    readout_us = lib.get(h, "READOUT_TIME")
    _buffer = start_cont(lib, h, fb, 4)
    infos = []
    try:
        for n in (2, 3):
            infos.append(lib.wait_latest(h, n))
    finally:
        abort(lib, h)
    a, b = infos[0], infos[1]
    period_units = (10_000 + readout_us) / 100
    if b.FrameNr == a.FrameNr + 1:
        assert b.TimeStamp - a.TimeStamp == pytest.approx(period_units, abs=1)
    assert a.TimeStamp - a.TimeStampBOF == pytest.approx(readout_us / 100, abs=1)
    assert a.ReadoutTime == a.TimeStamp - a.TimeStampBOF
    assert a.hCam == h


def _wait_seq_done(lib, h, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        st, nbytes = lib.seq_status(h)
        if st == READOUT_COMPLETE:
            return nbytes
        assert time.monotonic() < deadline, f"sequence never completed (status {st})"
        time.sleep(0.002)


def test_sequence_fills_the_buffer_and_completes(cam):
    lib, h = cam
    total = lib.setup_seq(h, 25, exposure=1)
    fb = total // 25
    assert lib.seq_status(h)[0] == READOUT_NOT_ACTIVE
    buf = make_buffer(total)
    lib.call("pl_exp_start_seq", c_int16(h), c_void_p(buf.ctypes.data))
    assert _wait_seq_done(lib, h) == total
    assert list(frame_numbers(buf, fb)) == list(range(1, 26))
    assert lib.seq_status(h)[0] == READOUT_COMPLETE     # stays complete until finish (PyVCAM quirk)
    _, fi = lib.latest(h)
    assert fi.FrameNr == 25
    lib.call("pl_exp_finish_seq", c_int16(h), c_void_p(buf.ctypes.data), c_int16(0))
    assert lib.seq_status(h)[0] == READOUT_NOT_ACTIVE
    lib.call("pl_exp_start_seq", c_int16(h), c_void_p(buf.ctypes.data))   # setup survives finish
    _wait_seq_done(lib, h)
    lib.call("pl_exp_finish_seq", c_int16(h), c_void_p(buf.ctypes.data), c_int16(0))


def test_sequence_of_multiple_regions_concatenates_them(cam):
    lib, h = cam
    regions = [(0, 31, 1, 0, 15, 1), (100, 163, 1, 200, 231, 1)]
    total = lib.setup_seq(h, 2, regions)
    assert total == 2 * (32 * 16 + 64 * 32) * 2
    assert lib.get(h, "ROI_COUNT") == 2


def test_maximum_sequence_length_is_accepted(cam):
    lib, h = cam
    assert lib.setup_seq(h, 65535, (0, 7, 1, 0, 7, 1)) == 65535 * 128


def test_software_trigger_edge_makes_one_frame_per_trigger(cam):
    lib, h = cam
    fb = lib.setup_cont(h, mode=EXT_TRIG_SOFTWARE_EDGE, exposure=1)
    _buffer = start_cont(lib, h, fb, 4)
    try:
        time.sleep(0.05)
        assert lib.cont_status(h)[3].FrameNr == 0
        for n in (1, 2, 3):
            flags = c_uint32(0)
            lib.call("pl_exp_trigger", c_int16(h), byref(flags), c_uint32(0))
            assert flags.value == 0     # TRIGGERED
            lib.wait_latest(h, n)
        time.sleep(0.05)
        assert lib.cont_status(h)[3].FrameNr == 3
    finally:
        abort(lib, h)


def test_software_trigger_during_exposure_is_ignored(cam):
    lib, h = cam
    fb = lib.setup_cont(h, mode=EXT_TRIG_SOFTWARE_EDGE, exposure=60_000)
    _buffer = start_cont(lib, h, fb, 4)
    try:
        first, second = c_uint32(0), c_uint32(0)
        lib.call("pl_exp_trigger", c_int16(h), byref(first), c_uint32(0))
        lib.call("pl_exp_trigger", c_int16(h), byref(second), c_uint32(0))
        assert (first.value, second.value) == (0, 1)
    finally:
        abort(lib, h)


def test_software_trigger_first_starts_free_running(cam):
    lib, h = cam
    fb = lib.setup_cont(h, mode=EXT_TRIG_SOFTWARE_FIRST, exposure=1)
    _buffer = start_cont(lib, h, fb, 4)
    try:
        time.sleep(0.05)
        assert lib.cont_status(h)[3].FrameNr == 0
        flags = c_uint32(0)
        lib.call("pl_exp_trigger", c_int16(h), byref(flags), c_uint32(0))
        assert flags.value == 0
        lib.wait_latest(h, 5)
        lib.call("pl_exp_trigger", c_int16(h), byref(flags), c_uint32(0))
        assert flags.value == 1
    finally:
        abort(lib, h)


def test_trigger_outside_software_modes_fails(cam):
    lib, h = cam
    flags = c_uint32()
    assert lib.fails("pl_exp_trigger", c_int16(h), byref(flags), c_uint32(0)) == 184
    fb = lib.setup_cont(h, exposure=5)
    _buffer = start_cont(lib, h, fb, 2)
    try:
        assert lib.fails("pl_exp_trigger", c_int16(h), byref(flags), c_uint32(0)) == 183
    finally:
        abort(lib, h)


def test_external_trigger_modes_wait_forever(cam):
    lib, h = cam
    fb = lib.setup_cont(h, mode=EXT_TRIG_EDGE_RISING)
    _buffer = start_cont(lib, h, fb, 2)
    try:
        time.sleep(0.1)
        st, _, _, fi = lib.cont_status(h)
        assert (st, fi.FrameNr) == (EXPOSURE_IN_PROGRESS, 0)
    finally:
        abort(lib, h)


def test_abort_when_idle_is_harmless_and_stop_reports_not_active(cam):
    lib, h = cam
    abort(lib, h)
    lib.call("pl_exp_stop_cont", c_int16(h), c_int16(1))
    buf, fb = run_cont(lib, h, 3)
    abort(lib, h)
    assert lib.cont_status(h)[0] == READOUT_NOT_ACTIVE


def test_setup_aborts_a_running_acquisition(cam):
    lib, h = cam
    fb = lib.setup_cont(h)
    _buffer = start_cont(lib, h, fb, 4)
    lib.wait_latest(h, 2)
    lib.setup_cont(h)
    st, nb = lib.seq_status(h)
    assert st == READOUT_NOT_ACTIVE
