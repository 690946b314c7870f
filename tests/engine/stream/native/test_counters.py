"""ophyd_pvcam/engine/stream/native/counters.py: the pump's counters and event bits."""
from ophyd_pvcam.engine.stream.native import _abi
from ophyd_pvcam.engine.stream.native.counters import LOSS_REASONS, PumpCounters, PumpEvents


def test_counters_convert_units_and_name_reasons():
    raw = _abi.Counters(consumed=7, frames_delivered=6, last_frame_ns=2_500_000_000,
                        copy_ns_total=1_000_000, error_call=3, halted=1)
    raw.lost_by_reason[1] = 2
    counters = PumpCounters(raw)
    assert counters.consumed == 7 and counters.frames_delivered == 6
    assert counters.last_frame_monotonic == 2.5 and counters.copy_seconds == 0.001
    assert counters.lost_by_reason == {"gap": 0, "overwritten": 2, "dropped": 0}
    assert counters.error_call == "pl_exp_check_cont_status_ex" and counters.halted
    assert LOSS_REASONS == ("gap", "overwritten", "dropped")


def test_halting_events_are_the_ones_that_need_a_resume():
    assert PumpEvents.HALTING == (PumpEvents.OVERRUN | PumpEvents.ERROR | PumpEvents.COMPLETE
                                  | PumpEvents.REMOVED)
    assert not PumpEvents.HALTING & (PumpEvents.LOSS | PumpEvents.PROGRESS)
