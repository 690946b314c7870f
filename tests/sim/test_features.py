"""Optional camera features: embedded metadata, multiple ROIs, smart streaming,
programmable scan and the settings that may change during an acquisition.

Frames are read here with a few struct reads at the offsets of reference
section 4 (frame header: frameNr @5, roiCount @9, v1/v2 exposure @23 in units of
the uns32 @27, v3 exposure @27 in ps; ROI header: rgn_type @10, roiDataSize @25).
"""
from __future__ import annotations

import struct
import time
from ctypes import c_int16, c_uint32, c_void_p

import numpy as np
import pytest
from simabi import (
    ACC_READ_ONLY, ACC_READ_WRITE, ACC_WRITE_ONLY, ATTR_ACCESS, ATTR_AVAIL, ATTR_CURRENT, ATTR_LIVE, ATTR_MAX,
    CIRC_OVERWRITE, EXP_RES_ONE_MILLISEC, abort, make_buffer, start_cont,
)

MODELS = ("prime-bsi", "prime-bsi-express", "kinetix", "prime-95b")
VERSION = {"prime-bsi": 2, "prime-bsi-express": 2, "kinetix": 3, "prime-95b": 1}


def header(frame: np.ndarray) -> dict:
    raw = frame.tobytes()
    version = raw[4]
    frame_nr, roi_count = struct.unpack_from("<IH", raw, 5)
    if version == 3:
        bof_ps, eof_ps, exposure_ps = struct.unpack_from("<QQQ", raw, 11)
    else:
        bof, eof, ts_res, exposure, exp_res = struct.unpack_from("<5I", raw, 11)
        bof_ps, eof_ps, exposure_ps = bof * ts_res * 1000, eof * ts_res * 1000, exposure * exp_res * 1000
    return {"signature": struct.unpack_from("<I", raw, 0)[0], "version": version, "frame_nr": frame_nr,
            "roi_count": roi_count, "bof_ps": bof_ps, "eof_ps": eof_ps, "exposure_ps": exposure_ps}


def rois(frame: np.ndarray, count: int, bytes_per_pixel: int = 2) -> list[tuple[tuple, int, int]]:
    """(region, data offset, data size) of each ROI, walking the ROI headers."""
    raw, at, out = frame.tobytes(), 48, []
    for _ in range(count):
        region = struct.unpack_from("<6H", raw, at + 10)
        size = struct.unpack_from("<I", raw, at + 25)[0]
        if raw[4] == 1:   # roiDataSize is a version-2 addition
            s1, s2, sbin, p1, p2, pbin = region
            size = ((s2 - s1 + 1) // sbin) * ((p2 - p1 + 1) // pbin) * bytes_per_pixel
        out.append((region, at + 32, size))
        at += 32 + size
    return out


def acquire_seq(lib, h, frames: int, regions, exposure: int = 1) -> tuple[np.ndarray, int]:
    total = lib.setup_seq(h, frames, regions, exposure=exposure)
    buf = make_buffer(total)
    lib.call("pl_exp_start_seq", c_int16(h), c_void_p(buf.ctypes.data))
    deadline = time.monotonic() + 30
    while lib.seq_status(h)[0] != 3:
        assert time.monotonic() < deadline, "sequence never completed"
        time.sleep(0.002)
    lib.call("pl_exp_finish_seq", c_int16(h), c_void_p(buf.ctypes.data), c_int16(0))
    return buf.reshape(frames, -1), total // frames


@pytest.fixture(params=MODELS)
def model_cam(request, pvcam):
    lib = pvcam(request.param, stamp=None)
    return request.param, lib, lib.open()


# ------------------------------------------------------------------ metadata
def test_metadata_frames_carry_the_models_header_version_and_numbers(model_cam):
    model, lib, h = model_cam
    lib.set(h, "EXP_RES", EXP_RES_ONE_MILLISEC)
    lib.set(h, "METADATA_ENABLED", 1)
    frames, fb = acquire_seq(lib, h, 4, (0, 63, 1, 0, 31, 1), exposure=3)
    bpp = 1 if lib.get(h, "BIT_DEPTH") == 8 else 2
    assert fb == 48 + 32 + 64 * 32 * bpp
    headers = [header(f) for f in frames]
    assert [hd["frame_nr"] for hd in headers] == [1, 2, 3, 4]
    assert {hd["signature"] for hd in headers} == {5328208}
    assert {hd["version"] for hd in headers} == {VERSION[model]}
    assert {hd["exposure_ps"] for hd in headers} == {3 * 10 ** 9}
    bofs = [hd["bof_ps"] for hd in headers]
    assert bofs == sorted(bofs) and all(hd["eof_ps"] > hd["bof_ps"] for hd in headers)
    ((region, offset, size),) = rois(frames[0], 1, bpp)
    assert region == (0, 63, 1, 0, 31, 1) and (offset, size) == (80, 64 * 32 * bpp)


def test_continuous_metadata_frames_sit_at_n_minus_one_mod_capacity(pvcam):
    lib = pvcam("prime-bsi", stamp=None)
    h = lib.open()
    lib.set(h, "METADATA_ENABLED", 1)
    fb = lib.setup_cont(h, (0, 31, 1, 0, 15, 1), buffer_mode=CIRC_OVERWRITE)
    buf = start_cont(lib, h, fb, 4)
    try:
        lib.wait_latest(h, 10)
    finally:
        abort(lib, h)
    numbers = [header(slot)["frame_nr"] for slot in buf.reshape(4, fb)]
    assert all((n - 1) % 4 == slot for slot, n in enumerate(numbers))


def test_metadata_timestamp_reset_is_write_only_and_restarts_the_camera_clock(pvcam):
    lib = pvcam("kinetix", stamp=None)
    h = lib.open()
    assert lib.attr(h, "METADATA_RESET_TIMESTAMP", ATTR_ACCESS) == ACC_WRITE_ONLY
    assert lib.fails("pl_get_param", c_int16(h), c_uint32(0x0B0300B0), c_int16(ATTR_CURRENT),
                     c_void_p(make_buffer(8).ctypes.data)) == 156
    lib.set(h, "METADATA_ENABLED", 1)
    time.sleep(0.3)
    before = header(acquire_seq(lib, h, 1, (0, 31, 1, 0, 15, 1))[0][0])["bof_ps"]
    lib.set(h, "METADATA_RESET_TIMESTAMP", 1)
    after = header(acquire_seq(lib, h, 1, (0, 31, 1, 0, 15, 1))[0][0])["bof_ps"]
    assert before > 0.3e12 > after


def test_extended_metadata_option_moves_every_roi_behind_its_blocks(pvcam):
    lib = pvcam("prime-bsi", faults="md_extended=2", stamp=None)
    h = lib.open()
    lib.set(h, "METADATA_ENABLED", 1)
    regions = [(0, 31, 1, 0, 15, 1), (100, 131, 1, 100, 115, 1)]
    frames, fb = acquire_seq(lib, h, 2, regions)
    assert fb == 48 + 10 + 2 * (32 + 10 + 32 * 16 * 2)
    raw = frames[1].tobytes()
    assert struct.unpack_from("<H", raw, 38)[0] == 10                      # frame block size
    assert raw[48] == 0 and struct.unpack_from("<I", raw, 49)[0] == 2       # particle id = FrameNr
    first_roi = 48 + 10
    assert struct.unpack_from("<H", raw, first_roi + 23)[0] == 10           # ROI block size
    assert raw[first_roi + 32] == 1 and struct.unpack_from("<I", raw, first_roi + 33)[0] == 1   # M0 = roiNr
    pixels = frames[1][first_roi + 42:first_roi + 42 + 32 * 16 * 2].view(np.uint16)
    assert 90 <= np.median(pixels) <= 110


# ------------------------------------------------------------------ multiple ROIs
THREE = [(0, 249, 1, 0, 249, 1), (300, 599, 1, 100, 599, 1), (650, 949, 1, 300, 499, 1)]


def test_three_rois_each_get_a_header_and_their_pixels(pvcam):
    lib = pvcam("prime-bsi", stamp=None)
    h = lib.open()
    assert lib.attr(h, "ROI_COUNT", ATTR_MAX) == 15
    lib.set(h, "METADATA_ENABLED", 1)
    frames, fb = acquire_seq(lib, h, 2, THREE)
    sizes = [250 * 250 * 2, 300 * 500 * 2, 300 * 200 * 2]
    assert fb == 48 + 3 * 32 + sum(sizes)
    assert header(frames[1])["roi_count"] == 3 and lib.get(h, "ROI_COUNT") == 3
    found = rois(frames[1], 3)
    assert [r for r, _, _ in found] == THREE and [s for _, _, s in found] == sizes
    for _, offset, size in found:
        pixels = frames[1][offset:offset + size].view(np.uint16)
        assert 90 <= np.median(pixels) <= 110     # background of every region, no header bytes


def test_kinetix_takes_several_rois_only_on_its_dynamic_range_port(pvcam):
    lib = pvcam("kinetix", stamp=None)
    h = lib.open()
    assert lib.attr(h, "ROI_COUNT", ATTR_MAX) == 1
    regions = [(0, 63, 1, 0, 63, 1), (100, 163, 1, 100, 163, 1)]
    with pytest.raises(Exception) as info:
        lib.setup_seq(h, 1, regions)
    assert info.value.code == 181
    lib.set(h, "READOUT_PORT", 2)   # "Dynamic Range"
    assert lib.attr(h, "ROI_COUNT", ATTR_MAX) == 15
    assert lib.setup_seq(h, 1, regions) == 2 * 64 * 64 * 2


# ------------------------------------------------------------------ smart streaming
def test_smart_streaming_cycles_the_exposure_frame_by_frame(pvcam):
    lib = pvcam("prime-bsi", stamp=None)
    h = lib.open()
    assert lib.attr(h, "SMART_STREAM_MODE_ENABLED", ATTR_AVAIL) is True
    assert lib.attr(h, "SMART_STREAM_EXP_PARAMS", ATTR_ACCESS) == ACC_READ_WRITE
    assert len(lib.smart_exposures(h, ATTR_MAX)) == 16
    assert lib.set_smart_exposures(h, list(range(16))) == 165   # 16 reported, 15 accepted (vendor quirk)
    assert lib.set_smart_exposures(h, [2, 5, 9]) == 0
    assert lib.smart_exposures(h) == [2, 5, 9]
    lib.set(h, "SMART_STREAM_MODE_ENABLED", 1)
    lib.set(h, "METADATA_ENABLED", 1)
    frames, _ = acquire_seq(lib, h, 7, (0, 31, 1, 0, 15, 1), exposure=50)   # 50 ms is ignored
    headers = [header(f) for f in frames]
    assert [hd["exposure_ps"] // 10 ** 9 for hd in headers] == [2, 5, 9, 2, 5, 9, 2]
    # each frame starts when the previous one (exposure + readout) is done
    starts = [hd["bof_ps"] for hd in headers]
    gaps_ms = np.diff(starts) / 1e9
    readout_ms = (headers[0]["eof_ps"] - headers[0]["bof_ps"]) / 1e9 - 2
    np.testing.assert_allclose(gaps_ms, np.array([2, 5, 9, 2, 5, 9]) + readout_ms, atol=0.01)


def test_smart_streaming_off_uses_the_setup_exposure(pvcam):
    lib = pvcam("prime-bsi", stamp=None)
    h = lib.open()
    lib.set_smart_exposures(h, [2, 5])
    lib.set(h, "METADATA_ENABLED", 1)
    frames, _ = acquire_seq(lib, h, 2, (0, 31, 1, 0, 15, 1), exposure=3)
    assert [header(f)["exposure_ps"] for f in frames] == [3 * 10 ** 9] * 2


# ------------------------------------------------------------------ live settings
@pytest.mark.parametrize("model, live", [("prime-bsi", False), ("prime-bsi-express", True), ("kinetix", True),
                                         ("prime-95b", False)])
def test_roi_and_exposure_are_live_where_the_model_allows_it(pvcam, model, live):
    lib = pvcam(model, stamp=None)
    h = lib.open()
    assert lib.attr(h, "ROI", ATTR_LIVE) is live
    assert lib.attr(h, "EXPOSURE_TIME", ATTR_LIVE) is live
    assert lib.attr(h, "EXPOSURE_TIME", ATTR_ACCESS) == (ACC_READ_WRITE if live else ACC_READ_ONLY)
    assert lib.attr(h, "TEMP", ATTR_LIVE) is True


def test_live_exposure_change_applies_to_the_following_frames(pvcam):
    lib = pvcam("kinetix", stamp=None)
    h = lib.open()
    lib.set(h, "METADATA_ENABLED", 1)
    # 1024 slots of ~2 ms: the frames before the change stay in the buffer for 2 s.
    fb = lib.setup_cont(h, (0, 31, 1, 0, 15, 1), exposure=2, buffer_mode=CIRC_OVERWRITE)
    buf = start_cont(lib, h, fb, 1024)
    try:
        lib.wait_latest(h, 3)
        lib.set(h, "EXPOSURE_TIME", 7)
        changed_after = lib.cont_status(h)[3].FrameNr
        lib.wait_latest(h, changed_after + 4)
    finally:
        abort(lib, h)
    headers = {hd["frame_nr"]: hd for hd in (header(f) for f in buf.reshape(1024, fb)) if hd["frame_nr"]}
    before = max(n for n in headers if n <= changed_after)
    assert headers[before]["exposure_ps"] == 2 * 10 ** 9
    assert headers[changed_after + 3]["exposure_ps"] == 7 * 10 ** 9
    assert lib.get(h, "EXPOSURE_TIME") == 7


def test_live_roi_refuses_a_new_region_while_idle_and_takes_it_while_running(pvcam):
    lib = pvcam("kinetix", stamp=None)
    h = lib.open()
    full = (0, 3199, 1, 0, 3199, 1)
    lib.set(h, "METADATA_ENABLED", 1)
    lib.setup_cont(h, (0, 63, 1, 0, 63, 1), exposure=1, buffer_mode=CIRC_OVERWRITE)
    current = lib.get(h, "ROI")
    lib.set_region(h, current)                               # the same region: always fine
    with pytest.raises(Exception) as info:
        lib.set_region(h, (0, 63, 1, 0, 31, 1))
    assert info.value.code == 184                            # a new one only during acquisition
    fb = lib.setup_cont(h, (0, 63, 1, 0, 63, 1), exposure=1, buffer_mode=CIRC_OVERWRITE)
    buf = start_cont(lib, h, fb, 2048)   # ~1.2 ms frames: 2.5 s of them stay in the buffer
    try:
        lib.wait_latest(h, 2)
        with pytest.raises(Exception) as info:
            lib.set_region(h, full)                          # more pixels than the frame holds
        assert info.value.code == 181
        lib.set_region(h, (0, 63, 1, 0, 31, 1))             # upper half
        moved_after = lib.cont_status(h)[3].FrameNr
        lib.wait_latest(h, moved_after + 3)
    finally:
        abort(lib, h)
    assert lib.get(h, "ROI") == (0, 63, 1, 0, 31, 1)
    slots = {header(f)["frame_nr"]: f for f in buf.reshape(2048, fb)}
    before = max(n for n in slots if 0 < n <= moved_after)
    assert rois(slots[before], 1)[0][:1] == ((0, 63, 1, 0, 63, 1),)
    region, _, size = rois(slots[moved_after + 2], 1)[0]
    assert region == (0, 63, 1, 0, 31, 1) and size == 64 * 32 * 2


# ------------------------------------------------------------------ programmable scan
@pytest.mark.parametrize("model, has", [("prime-bsi", False), ("prime-bsi-express", True), ("kinetix", True),
                                        ("prime-95b", True)])
def test_programmable_scan_exists_where_the_model_has_it(pvcam, model, has):
    lib = pvcam(model, stamp=None)
    h = lib.open()
    for name in ("SCAN_MODE", "SCAN_DIRECTION", "SCAN_DIRECTION_RESET", "SCAN_LINE_DELAY", "SCAN_WIDTH"):
        assert lib.attr(h, name, ATTR_AVAIL) is has, name
    assert lib.attr(h, "SCAN_LINE_TIME", ATTR_AVAIL) is True


def test_line_delay_mode_stretches_the_line_time_and_the_readout(pvcam):
    lib = pvcam("prime-bsi-express", stamp=None)
    h = lib.open()
    assert [name for _, name in lib.enum(h, "SCAN_MODE")] == ["Auto", "Line Delay", "Scan Width"]
    native_line, native_readout = lib.get(h, "SCAN_LINE_TIME"), lib.get(h, "READOUT_TIME")
    lib.set(h, "SCAN_LINE_DELAY", 3)
    assert lib.get(h, "SCAN_LINE_TIME") == native_line      # only in line-delay mode
    lib.set(h, "SCAN_MODE", 1)
    lib.set(h, "SCAN_DIRECTION", 1)
    assert lib.get(h, "SCAN_LINE_TIME") == pytest.approx(4 * native_line, abs=1)
    assert lib.get(h, "READOUT_TIME") == pytest.approx(4 * native_readout, rel=0.01)
    lib.set(h, "SCAN_MODE", 2)
    lib.set(h, "SCAN_WIDTH", 10)
    assert (lib.get(h, "SCAN_WIDTH"), lib.get(h, "SCAN_LINE_TIME")) == (10, native_line)
