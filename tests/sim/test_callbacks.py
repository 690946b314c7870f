"""EOF/BOF callbacks: thread, FRAME_INFO, registration semantics (reference 7.3)."""
from __future__ import annotations

import ctypes
import threading
import time
from ctypes import POINTER, byref, c_int16, c_int32, c_void_p

import pytest
from simabi import EOF_CALLBACK, FRAME_INFO, PL_CALLBACK_BOF, PL_CALLBACK_EOF, abort, start_cont

_libc = ctypes.CDLL(None)
_libc.pthread_self.restype = ctypes.c_ulong
_libc.pthread_getname_np.argtypes = [ctypes.c_ulong, ctypes.c_char_p, ctypes.c_size_t]


def _thread_name() -> str:
    buf = ctypes.create_string_buffer(32)
    _libc.pthread_getname_np(_libc.pthread_self(), buf, 32)
    return buf.value.decode()


class Recorder:
    """Collects callback invocations; keeps the ctypes function alive."""

    def __init__(self) -> None:
        self.infos: list[tuple[int, int, int, int, int]] = []
        self.threads: set[str] = set()
        self.contexts: set[int] = set()
        self.event = threading.Event()
        self.fn = EOF_CALLBACK(self)

    def __call__(self, info_ptr, ctx) -> None:
        fi = info_ptr.contents
        self.infos.append((fi.hCam, fi.FrameNr, fi.TimeStamp, fi.TimeStampBOF, fi.ReadoutTime))
        self.threads.add(_thread_name())
        self.contexts.add(ctx or 0)
        self.event.set()

    def wait(self, count: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.infos) < count:
            assert time.monotonic() < deadline, f"only {len(self.infos)} callbacks"
            time.sleep(0.002)


def register(lib, h, event, rec, ctx=None):
    lib.call("pl_cam_register_callback_ex3", c_int16(h), c_int32(event), rec.fn, c_void_p(ctx))


def test_eof_callbacks_deliver_every_frame_in_order_from_a_named_library_thread(cam):
    lib, h = cam
    rec = Recorder()
    register(lib, h, PL_CALLBACK_EOF, rec, ctx=1234)
    fb = lib.setup_cont(h, exposure=2)
    buf = start_cont(lib, h, fb, 4)
    try:
        rec.wait(10)
    finally:
        abort(lib, h)
    nrs = [i[1] for i in rec.infos]
    assert nrs == list(range(1, len(nrs) + 1))
    assert all(i[0] == h for i in rec.infos)
    assert all(i[2] >= i[3] and i[4] == i[2] - i[3] for i in rec.infos)
    assert rec.threads == {f"pvcam-cb-{h}"}
    assert rec.contexts == {1234}
    del buf


def test_no_callback_fires_after_abort_returns(cam):
    lib, h = cam
    rec = Recorder()
    register(lib, h, PL_CALLBACK_EOF, rec)
    fb = lib.setup_cont(h)
    buf = start_cont(lib, h, fb, 4)
    rec.wait(3)
    abort(lib, h)
    count = len(rec.infos)
    time.sleep(0.05)
    assert len(rec.infos) == count
    del buf


def test_bof_precedes_eof_for_each_frame(cam):
    lib, h = cam
    order = []
    bof = EOF_CALLBACK(lambda p, c: order.append(("bof", p.contents.FrameNr)))
    eof = EOF_CALLBACK(lambda p, c: order.append(("eof", p.contents.FrameNr)))
    lib.call("pl_cam_register_callback_ex3", c_int16(h), c_int32(PL_CALLBACK_BOF), bof, None)
    lib.call("pl_cam_register_callback_ex3", c_int16(h), c_int32(PL_CALLBACK_EOF), eof, None)
    fb = lib.setup_cont(h, exposure=2)
    buf = start_cont(lib, h, fb, 4)
    try:
        # The frames being in the buffer does not mean their callbacks have run
        # yet (the library's callback thread may not have been scheduled on a
        # loaded machine): wait for four callbacks, bounded.
        lib.wait_latest(h, 4)
        deadline = time.monotonic() + 10.0
        while len(order) < 4:
            assert time.monotonic() < deadline, f"only {len(order)} callbacks: {order}"
            time.sleep(0.002)
    finally:
        abort(lib, h)
    assert order[:4] == [("bof", 1), ("eof", 1), ("bof", 2), ("eof", 2)]
    del buf


def test_legacy_registration_variants_are_called_with_their_signatures(cam):
    lib, h = cam
    seen = {}
    plain = ctypes.CFUNCTYPE(None)(lambda: seen.setdefault("plain", True))
    ex = ctypes.CFUNCTYPE(None, c_void_p)(lambda ctx: seen.setdefault("ex", ctx))
    ex2 = ctypes.CFUNCTYPE(None, POINTER(FRAME_INFO))(lambda p: seen.setdefault("ex2", p.contents.FrameNr))
    for fn, args in ((lib.pl_cam_register_callback, (plain,)),
                     (lib.pl_cam_register_callback_ex, (ex, c_void_p(77))),
                     (lib.pl_cam_register_callback_ex2, (ex2,))):
        fb = lib.setup_cont(h, exposure=1)
        assert fn(c_int16(h), c_int32(PL_CALLBACK_EOF), *args)
        buf = start_cont(lib, h, fb, 4)
        try:
            lib.wait_latest(h, 3)
            time.sleep(0.02)
        finally:
            abort(lib, h)
        del buf
    assert seen == {"plain": True, "ex": 77, "ex2": 1}


def test_reregistration_replaces_the_handler(cam):
    lib, h = cam
    first, second = Recorder(), Recorder()
    register(lib, h, PL_CALLBACK_EOF, first)
    register(lib, h, PL_CALLBACK_EOF, second)
    fb = lib.setup_cont(h, exposure=1)
    buf = start_cont(lib, h, fb, 4)
    try:
        second.wait(5)
    finally:
        abort(lib, h)
    assert first.infos == []
    assert [i[1] for i in second.infos][:5] == [1, 2, 3, 4, 5]   # no fault: nothing stops
    del buf


def test_deregistered_handler_is_not_called(cam):
    lib, h = cam
    rec = Recorder()
    register(lib, h, PL_CALLBACK_EOF, rec)
    lib.call("pl_cam_deregister_callback", c_int16(h), c_int32(PL_CALLBACK_EOF))
    fb = lib.setup_cont(h)
    buf = start_cont(lib, h, fb, 4)
    try:
        lib.wait_latest(h, 5)
    finally:
        abort(lib, h)
    assert rec.infos == []
    del buf


def test_callback_may_fetch_the_latest_frame_like_pyvcam(cam):
    lib, h = cam
    got = []

    def handler(p, ctx):
        addr, fi = c_void_p(), FRAME_INFO()
        ok = lib.pl_exp_get_latest_frame_ex(c_int16(p.contents.hCam), byref(addr), byref(fi))
        got.append((ok, fi.FrameNr >= p.contents.FrameNr, addr.value))

    fn = EOF_CALLBACK(handler)
    lib.call("pl_cam_register_callback_ex3", c_int16(h), c_int32(PL_CALLBACK_EOF), fn, None)
    fb = lib.setup_cont(h, exposure=1)
    buf = start_cont(lib, h, fb, 4)
    try:
        lib.wait_latest(h, 5)
        time.sleep(0.02)
    finally:
        abort(lib, h)
    assert got and all(ok and newer for ok, newer, _ in got)
    assert {a for _, _, a in got} <= {buf.ctypes.data + i * fb for i in range(4)}


def test_abort_from_inside_a_callback_does_not_deadlock(cam):
    lib, h = cam
    done = threading.Event()

    def handler(p, ctx):
        if p.contents.FrameNr == 2:
            lib.pl_exp_abort(c_int16(h), c_int16(1))
            done.set()

    fn = EOF_CALLBACK(handler)
    lib.call("pl_cam_register_callback_ex3", c_int16(h), c_int32(PL_CALLBACK_EOF), fn, None)
    fb = lib.setup_cont(h, exposure=1)
    buf = start_cont(lib, h, fb, 4)
    assert done.wait(10)
    abort(lib, h)
    del buf


def test_register_waits_for_a_running_callback(cam):
    lib, h = cam
    inside, release, finished = threading.Event(), threading.Event(), []

    def slow(p, ctx):
        if p.contents.FrameNr == 1:
            inside.set()
            release.wait(5)
            finished.append(time.monotonic())

    fn = EOF_CALLBACK(slow)
    lib.call("pl_cam_register_callback_ex3", c_int16(h), c_int32(PL_CALLBACK_EOF), fn, None)
    fb = lib.setup_cont(h, exposure=1)
    buf = start_cont(lib, h, fb, 4)
    try:
        assert inside.wait(10)
        threading.Timer(0.05, release.set).start()
        lib.call("pl_cam_deregister_callback", c_int16(h), c_int32(PL_CALLBACK_EOF))
        returned = time.monotonic()
        assert finished and finished[0] <= returned    # the callback ended before deregister returned
    finally:
        release.set()
        abort(lib, h)
    del buf


@pytest.mark.parametrize("event,code", [(2, 155), (4, 155), (5, 164), (-1, 164)])
def test_unsupported_events_are_rejected(cam, event, code):
    lib, h = cam
    rec = Recorder()
    assert lib.fails("pl_cam_register_callback_ex3", c_int16(h), c_int32(event), rec.fn, None) == code


def test_null_callback_fails_153(cam):
    lib, h = cam
    assert lib.fails("pl_cam_register_callback_ex3", c_int16(h), c_int32(1), None, None) == 153


def test_frame_info_struct_helpers_allocate_48_zeroed_bytes(lib):
    p = POINTER(FRAME_INFO)()
    lib.call("pl_create_frame_info_struct", byref(p))
    assert ctypes.string_at(p, 48) == bytes(48)
    lib.call("pl_release_frame_info_struct", p)


def test_sequence_reports_complete_only_after_every_eof_callback_ran(cam):
    lib, h = cam
    seen = []

    def slow(p, ctx):
        time.sleep(0.01)
        seen.append(p.contents.FrameNr)

    fn = EOF_CALLBACK(slow)
    lib.call("pl_cam_register_callback_ex3", c_int16(h), c_int32(PL_CALLBACK_EOF), fn, None)
    total = lib.setup_seq(h, 5)
    buf = ctypes.create_string_buffer(total)
    lib.call("pl_exp_start_seq", c_int16(h), buf)
    deadline = time.monotonic() + 10
    while lib.seq_status(h)[0] != 3:
        assert time.monotonic() < deadline
        time.sleep(0.001)
    assert seen == [1, 2, 3, 4, 5]
    lib.call("pl_exp_finish_seq", c_int16(h), buf, c_int16(0))
