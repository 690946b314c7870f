"""Tests of ophyd_pvcam.engine.stream.framesignal: what the EOF callback records, called through ctypes."""
import ctypes
import threading

from ophyd_pvcam.engine.stream.framesignal import FrameSignal
from ophyd_pvcam.sdk.types import FRAME_INFO


def fire(callback, number, eof=0, bof=0):
    """Call a ctypes callback object the way the SDK does (FRAME_INFO*, context)."""
    info = FRAME_INFO()
    info.FrameNr = number
    info.TimeStamp = eof
    info.TimeStampBOF = bof
    callback(ctypes.pointer(info), None)


def test_eof_records_count_latest_and_per_frame_info():
    signal = FrameSignal()
    for n in (1, 2, 3):
        fire(signal.eof_callback, n, eof=10 * n, bof=10 * n - 5)
    assert signal.count == 3 and signal.total == 3 and signal.latest == 3
    assert list(signal.infos) == [(1, 10, 5, 0), (2, 20, 15, 0), (3, 30, 25, 0)]
    assert not signal.gaps and signal.last_ns > 0


def test_a_framenr_gap_is_noted_before_latest_moves():
    signal = FrameSignal()
    fire(signal.eof_callback, 1)
    fire(signal.eof_callback, 4)
    assert list(signal.gaps) == [(2, 3)] and signal.latest == 4


def test_duplicates_and_late_numbers_do_not_move_latest():
    signal = FrameSignal()
    fire(signal.eof_callback, 5)
    fire(signal.eof_callback, 5)
    assert signal.latest == 5 and signal.duplicates == 1


def test_the_callback_wakes_a_waiter_that_announced_it_waits():
    signal = FrameSignal()
    woke = []

    def waiter():  # the frame loop's protocol: announce, then check, then wait
        with signal.cond:
            signal.waiting = True
            woke.append(signal.cond.wait_for(lambda: signal.latest > 0, 10))
            signal.waiting = False

    thread = threading.Thread(target=waiter)
    thread.start()
    fire(signal.eof_callback, 1)
    thread.join(10)
    assert woke == [True]


def test_an_exception_in_the_callback_is_stored_not_raised():
    signal = FrameSignal()
    signal.infos = None  # makes the callback body fail
    fire(signal.eof_callback, 1)
    assert isinstance(signal.error, AttributeError)


def test_removal_notice_records_the_last_frame_number():
    signal = FrameSignal()
    fire(signal.removed_callback, 10)
    assert signal.removed and signal.removed_at == 10


def test_reset_epoch_forgets_the_previous_acquisition():
    signal = FrameSignal()
    fire(signal.eof_callback, 1)
    fire(signal.eof_callback, 3)
    signal.reset_epoch()
    assert signal.latest == 0 and signal.count == 0 and not signal.gaps and not signal.infos
    assert signal.total == 2


def test_stop_request_wakes_and_flags():
    signal = FrameSignal()
    signal.request_stop()
    assert signal.stop_requested
