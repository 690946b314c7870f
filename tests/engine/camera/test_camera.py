"""Camera lifecycle and typed settings (ophyd_pvcam/engine/camera/camera.py)."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from ophyd_pvcam import sim
from ophyd_pvcam.engine.camera.camera import Camera
from ophyd_pvcam.engine.errors import AcquisitionError, CameraNotFoundError, ValidationError
from ophyd_pvcam.engine.camera.session import session_count
from ophyd_pvcam.sdk import constants as C
from ophyd_pvcam.sdk.types import EOF_CALLBACK


def test_open_without_a_name_opens_the_first_camera(library):
    sim.set_cameras(["prime-95b", "prime-bsi"])
    with Camera.open(library=library) as cam:
        assert cam.name == "pvcamUSB_0"
        assert cam.info.product == "Prime 95B"


def test_open_by_name(library):
    sim.set_cameras(["prime-95b", "prime-bsi"])
    with Camera.open("pvcamUSB_1", library=library) as cam:
        assert cam.info.product == "Prime BSI"


def test_unknown_name_lists_the_available_cameras_and_releases_the_sdk(library):
    sim.set_cameras(["prime-bsi", "kinetix"])
    with pytest.raises(CameraNotFoundError, match="pvcamUSB_0, pvcamUSB_1"):
        Camera.open("nope", library=library)
    assert session_count(library) == 0


def test_context_manager_closes_and_close_is_idempotent(library):
    with Camera.open(library=library) as cam:
        assert not cam.closed
    assert cam.closed
    assert session_count(library) == 0
    cam.close()
    assert cam.closed


def test_close_stops_a_running_acquisition_and_its_callbacks(library):
    cam = Camera.open(library=library)
    cam.roi = (0, 0, 32, 16)
    cam.exposure_time = 0.001
    calls = []
    callback = EOF_CALLBACK(lambda info, context: calls.append(info.contents.FrameNr))
    cam.register_callback(C.PL_CALLBACK_EOF, callback)
    settings = cam.acquisition_settings()
    frame_bytes = cam.library.exp_setup_cont(cam.handle, settings.regions, settings.exp_mode,
                                             settings.exposure, C.CIRC_OVERWRITE)
    buffer = np.zeros(frame_bytes * 4, np.uint8)
    cam.library.exp_start_cont(cam.handle, buffer)
    for _ in range(1000):
        if calls:
            break
        threading.Event().wait(0.01)
    assert calls, "the simulator delivered no frame"
    cam.close()
    seen = len(calls)
    threading.Event().wait(0.1)
    assert len(calls) == seen
    # Reopening works: the camera was left idle and closed.
    with Camera.open(library=library) as again:
        again.roi = (0, 0, 32, 16)
        assert again.snap().shape == (16, 32)


def test_close_hooks_run_before_the_camera_closes(library):
    cam = Camera.open(library=library)
    seen = []
    cam.add_close_hook(lambda: seen.append(cam.library.get_param(cam.handle, C.PARAM_SER_SIZE)))
    cam.close()
    assert seen == [2048]


def test_a_close_hook_may_deregister_its_callback(library):
    cam = Camera.open(library=library)
    callback = EOF_CALLBACK(lambda info, context: None)
    cam.register_callback(C.PL_CALLBACK_EOF, callback)
    cam.add_close_hook(lambda: cam.deregister_callback(C.PL_CALLBACK_EOF))
    cam.close()
    assert cam.closed
    cam.deregister_callback(C.PL_CALLBACK_EOF)  # after close: nothing left to do


def test_callbacks_are_registered_and_deregistered_through_the_camera(bsi):
    calls = []
    called = threading.Event()

    def on_eof(info, context) -> None:
        calls.append(info.contents.FrameNr)
        called.set()

    callback = EOF_CALLBACK(on_eof)
    bsi.register_callback(C.PL_CALLBACK_EOF, callback)
    bsi.snap()
    # The callback runs on the SDK's thread: snap() may return (the status says the
    # readout is complete) just before it does.
    assert called.wait(30), "no EOF callback"
    assert calls == [1]
    bsi.deregister_callback(C.PL_CALLBACK_EOF)
    bsi.snap()
    time.sleep(0.2)  # room for a callback that should not come
    assert calls == [1]


def test_sensor_size_is_width_height(model_camera):
    library, handle = model_camera.library, model_camera.handle
    assert model_camera.sensor_size == (library.get_param(handle, C.PARAM_SER_SIZE),
                                        library.get_param(handle, C.PARAM_PAR_SIZE))


def test_acquisition_settings_snapshot(bsi):
    settings = bsi.acquisition_settings()
    assert settings.regions == ((0, 63, 1, 0, 31, 1),)
    assert settings.frame_shape == (32, 64)
    assert settings.dtype == np.uint16
    assert settings.frame_bytes == 32 * 64 * 2
    assert settings.exposure_seconds == 0.001
    assert settings.readout_time_s > 0
    assert settings.frame_period_s == pytest.approx(0.001 + settings.readout_time_s)


def test_readout_estimate_scales_with_the_binned_rows(bsi):
    full = bsi.acquisition_settings().readout_time_s
    bsi.set_roi((0, 0, 64, 32), 2)
    assert bsi.acquisition_settings().readout_time_s == pytest.approx(full / 2)


def test_eight_bit_port_gives_uint8_frames(kinetix):
    kinetix.readout_port = "Speed"
    kinetix.roi = (0, 0, 64, 32)
    kinetix.exposure_time = 0.001
    assert kinetix.acquisition_settings().dtype == np.uint8
    frame = kinetix.snap()
    assert frame.dtype == np.uint8 and frame.shape == (32, 64)
    kinetix.readout_port = "Dynamic Range"
    assert kinetix.acquisition_settings().dtype == np.uint16


def test_settings_refuse_changes_while_acquiring(bsi):
    bsi.begin_acquisition("test")
    try:
        for attribute, value in (("exposure_time", 0.002), ("roi", None), ("binning", 2),
                                 ("exposure_mode", "software_edge")):
            with pytest.raises(ValidationError, match="acquiring"):
                setattr(bsi, attribute, value)
    finally:
        bsi.end_acquisition()
    assert bsi.exposure_time == 0.001


def test_closed_camera_refuses_to_acquire(library):
    cam = Camera.open(library=library)
    cam.close()
    with pytest.raises(AcquisitionError, match="closed"):
        cam.acquisition_settings()
    with pytest.raises(AcquisitionError, match="closed"):
        cam.snap()
