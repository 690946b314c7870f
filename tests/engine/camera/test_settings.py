"""Pure acquisition-settings rules (ophyd_pvcam/engine/camera/settings.py)."""
from __future__ import annotations

import numpy as np
import pytest

from ophyd_pvcam.engine.errors import ValidationError
from ophyd_pvcam.engine.camera.settings import (EXPOSE_OUT_MODE_VALUES, EXPOSURE_MODE_VALUES,
                                         LONG_EXPOSURE_SECONDS, AcquisitionSettings,
                                         check_exposure_seconds, dtype_for_image_format,
                                         estimate_readout_seconds, exposure_candidates,
                                         is_extended_mode)
from ophyd_pvcam.sdk import constants as C

MS, US, SEC = C.EXP_RES_ONE_MILLISEC, C.EXP_RES_ONE_MICROSEC, C.EXP_RES_ONE_SEC
ALL = [MS, US, SEC]


def test_whole_milliseconds_prefer_ms():
    assert exposure_candidates(0.01, ALL)[0] == (MS, 10)
    assert exposure_candidates(2.5, ALL)[0] == (MS, 2500)


def test_sub_millisecond_detail_prefers_us():
    assert exposure_candidates(0.0005, ALL)[0] == (US, 500)
    assert exposure_candidates(0.0123456, ALL)[0] == (US, 12346)
    assert exposure_candidates(0.0, ALL)[0] == (US, 0)


def test_long_whole_seconds_prefer_seconds_if_offered():
    assert exposure_candidates(LONG_EXPOSURE_SECONDS, ALL)[0] == (SEC, 60)
    assert exposure_candidates(LONG_EXPOSURE_SECONDS, [MS, US])[0] == (MS, 60000)
    assert exposure_candidates(LONG_EXPOSURE_SECONDS + 0.5, ALL)[0] == (MS, 60500)


def test_fallbacks_are_exact_first_then_finely_rounded():
    assert exposure_candidates(0.01, ALL) == [(MS, 10), (US, 10000)]
    assert exposure_candidates(120, ALL) == [(SEC, 120), (US, 120_000_000), (MS, 120_000)]
    # ms-only camera: 1/30 s is 33.33 ms; rounding to 33 ms changes it by 1 % -> refused.
    assert exposure_candidates(1 / 30, [MS]) == []
    # ...but 1.0004 s rounds to 1000 ms within 0.1 %.
    assert exposure_candidates(1.0004, [MS]) == [(MS, 1000)]


def test_exposure_seconds_are_checked():
    assert check_exposure_seconds(1) == 1.0
    assert check_exposure_seconds(np.float32(0.5)) == 0.5
    for bad in (-0.1, float("nan"), float("inf"), "1", None, True):
        with pytest.raises(ValidationError):
            check_exposure_seconds(bad)


def test_eight_bit_formats_give_uint8():
    assert dtype_for_image_format(C.PL_IMAGE_FORMAT_MONO8) == np.uint8
    assert dtype_for_image_format(C.PL_IMAGE_FORMAT_BAYER8) == np.uint8
    assert dtype_for_image_format(C.PL_IMAGE_FORMAT_MONO16) == np.uint16
    assert dtype_for_image_format(None) == np.uint16


def test_readout_estimate_prefers_the_line_time():
    assert estimate_readout_seconds(100, line_time_ns=10_000) == pytest.approx(1e-3)
    assert estimate_readout_seconds(100, line_time_ns=0, pixel_time_ns=10,
                                    line_pixels=1000) == pytest.approx(1e-3)
    assert estimate_readout_seconds(100) == 0.0


def test_mode_tables_match_the_sdk_constants():
    assert EXPOSURE_MODE_VALUES["software_edge"] == C.EXT_TRIG_SOFTWARE_EDGE
    assert EXPOSURE_MODE_VALUES["internal"] == C.EXT_TRIG_INTERNAL
    assert EXPOSE_OUT_MODE_VALUES["rolling_shutter"] == C.EXPOSE_OUT_ROLLING_SHUTTER
    assert len(set(EXPOSURE_MODE_VALUES.values())) == len(EXPOSURE_MODE_VALUES)
    assert is_extended_mode(C.EXT_TRIG_INTERNAL) and not is_extended_mode(C.TIMED_MODE)


def test_frame_bytes_follow_shape_and_dtype():
    settings = AcquisitionSettings(regions=((0, 63, 1, 0, 31, 1),), exp_mode=1792, exposure=1,
                                   exposure_seconds=1e-3, frame_shape=(32, 64),
                                   dtype=np.dtype(np.uint8), readout_time_s=0.0,
                                   frame_period_s=1e-3)
    assert settings.frame_bytes == 32 * 64
