"""Library/camera lifecycle, several cameras at once, concurrency and shutdown."""
from __future__ import annotations

import threading
from ctypes import byref, c_int16, c_uint32, create_string_buffer

from simabi import EOF_CALLBACK, PL_CALLBACK_EOF, abort, frame_numbers, start_cont


def test_cameras_are_listed_in_order_with_vendor_style_names(pvcam):
    lib = pvcam("kinetix,prime-bsi,prime-95b,prime-bsi-express")
    n = c_int16()
    lib.call("pl_cam_get_total", byref(n))
    names = []
    for i in range(n.value):
        buf = create_string_buffer(32)
        lib.call("pl_cam_get_name", c_int16(i), buf)
        names.append(buf.value.decode())
    assert names == ["pvcamUSB_0", "pvcamUSB_1", "pvcamUSB_2", "pvcamUSB_3"]
    assert lib.fails("pl_cam_get_name", c_int16(4), create_string_buffer(32)) == 186
    products = [lib.get(lib.open(name), "PRODUCT_NAME") for name in names]
    assert products == ["Kinetix", "Prime BSI", "Prime 95B", "Prime BSI Express"]


def test_two_cameras_acquire_independently_at_once(pvcam):
    lib = pvcam("prime-bsi,kinetix")
    a, b = lib.open("pvcamUSB_0"), lib.open("pvcamUSB_1")
    lib.set(b, "READOUT_PORT", 1)
    lib.set(b, "EXP_RES", 1)
    fa = lib.setup_cont(a, (0, 31, 1, 0, 31, 1), exposure=1)
    fb = lib.setup_cont(b, (0, 63, 1, 0, 63, 1))
    assert (fa, fb) == (32 * 32 * 2, 64 * 64)
    ba, _buffer_b = start_cont(lib, a, fa, 4), start_cont(lib, b, fb, 8)
    try:
        lib.wait_latest(a, 5)
        lib.wait_latest(b, 50)
        abort(lib, a)
        # camera b is unaffected by stopping a
        n = lib.cont_status(b)[3].FrameNr
        lib.wait_latest(b, n + 20)
    finally:
        abort(lib, a)
        abort(lib, b)
    assert lib.latest(a)[1].hCam == a and lib.latest(b)[1].hCam == b
    assert len(set(frame_numbers(ba, fa))) == 4


def test_concurrent_calls_from_two_threads_on_two_cameras(pvcam):
    lib = pvcam("prime-bsi,prime-bsi")
    handles = [lib.open("pvcamUSB_0"), lib.open("pvcamUSB_1")]
    errors = []

    def worker(h):
        try:
            for _ in range(15):
                fb = lib.setup_cont(h, (0, 15, 1, 0, 15, 1))
                buf = start_cont(lib, h, fb, 4)
                lib.wait_latest(h, 3)
                for _ in range(20):
                    lib.get(h, "TEMP")
                    lib.latest(h)
                abort(lib, h)
                del buf
        except Exception as exc:   # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(h,)) for h in handles]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    assert errors == []


def test_uninit_stops_running_acquisitions_and_callbacks(pvcam):
    lib = pvcam("prime-bsi,kinetix")
    seen = []
    fn = EOF_CALLBACK(lambda p, c: seen.append(p.contents.FrameNr))
    buffers = []
    for name in ("pvcamUSB_0", "pvcamUSB_1"):
        h = lib.open(name)
        lib.call("pl_cam_register_callback_ex3", c_int16(h), PL_CALLBACK_EOF, fn, None)
        fb = lib.setup_cont(h, (0, 63, 1, 0, 63, 1))
        buffers.append(start_cont(lib, h, fb, 4))
        lib.wait_latest(h, 3)
    lib.call("pl_pvcam_uninit")
    count = len(seen)
    threading.Event().wait(0.05)
    assert len(seen) == count      # threads joined: nothing runs any more
    lib.call("pl_pvcam_init")       # and the library comes back clean
    assert lib.open("pvcamUSB_1") == 1


def test_close_with_a_running_acquisition_stops_it(cam):
    lib, h = cam
    fb = lib.setup_cont(h)
    buf = start_cont(lib, h, fb, 4)
    lib.wait_latest(h, 2)
    lib.call("pl_cam_close", c_int16(h))
    assert lib.open() == h
    assert lib.fails("pl_exp_check_cont_status", c_int16(h), byref(c_int16()), byref(c_uint32()),
                     byref(c_uint32())) == 171
    del buf


def test_reopen_restores_default_settings(cam):
    lib, h = cam
    lib.set(h, "SPDTAB_INDEX", 1)
    lib.call("pl_cam_close", c_int16(h))
    h = lib.open()
    assert lib.get(h, "SPDTAB_INDEX") == 0


def test_many_init_uninit_cycles(pvcam):
    lib = pvcam()
    for _ in range(20):
        h = lib.open()
        fb = lib.setup_cont(h)
        buf = start_cont(lib, h, fb, 2)
        lib.call("pl_pvcam_uninit")
        lib.call("pl_pvcam_init")
        del buf
