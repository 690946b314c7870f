"""CameraController on the simulator: library resolution, arming, the acquisition factory hook."""
from __future__ import annotations

import pytest

from ophyd_pvcam import sdk
from ophyd_pvcam.device.streams import stream_factory
from ophyd_pvcam.device.controller import CameraController, roi_tuple
from ophyd_pvcam.engine.stream.buffers import plan_buffer_frames
from ophyd_pvcam.engine.errors import ValidationError
from ophyd_pvcam.engine.camera.roi import Region


def test_controller_opens_the_camera_from_the_word_sim(library):
    controller = CameraController("c", None, "sim")
    try:
        assert controller.camera.library is sdk.load(simulated=True)
    finally:
        controller.close()


def test_roi_tuple_is_x_y_width_height():
    assert roi_tuple(Region(1, 2, 30, 40)) == (1, 2, 30, 40)


def test_detector_exposes_its_controller_with_the_open_camera(cam):
    assert isinstance(cam.controller, CameraController)
    assert cam.controller.camera is cam.camera
    assert cam.controller.source == "PVCAM:pvcamUSB_0"


def test_start_refuses_frames_the_armed_file_cannot_hold(cam):
    cam.stage()
    try:
        cam.camera.roi = (0, 0, 32, 32)   # behind the detector's back: the file holds 64 x 32
        with pytest.raises(ValidationError, match="unstage and stage again"):
            cam.trigger()
    finally:
        cam.unstage()
        cam.camera.roi = (0, 0, 64, 32)


def test_make_factory_defaults_to_stream_factory_and_a_replacement_builds_every_stream(cam):
    controller = cam.controller
    assert controller.make_factory is stream_factory
    calls: list[tuple[dict, object]] = []

    def recording_factory(camera, **options):
        make = stream_factory(camera, fit_buffer=False, **options)

        def build(max_frames):
            calls.append((options, max_frames))
            return make(max_frames)
        return build

    controller.make_factory = recording_factory
    cam.frames_per_trigger.put(3)
    cam.stall_count.put(4)
    cam.stage()
    try:
        for _ in range(2):
            cam.trigger().wait(30)
            cam.read()
    finally:
        cam.unstage()
    assert [max_frames for _, max_frames in calls] == [3, 3]
    options = calls[0][0]
    assert options["stall_count"] == 4 and options["buffer_mode"] == cam.buffer_mode.get()
    stats = cam.acquisition.stream_stats[-1]
    settings = cam.camera.acquisition_settings()
    assert stats.buffer_frames == plan_buffer_frames(settings.frame_bytes,
                                                     settings.frame_period_s)


def test_back_to_back_triggers_each_start_once_the_previous_stream_ended(cam):
    # A trigger's status finishes as soon as its frames are flushed, while its
    # stream may still be stopping: the next trigger must wait for its end.
    previous_running: list[bool] = []

    def checking_factory(camera, **options):
        make = stream_factory(camera, **options)

        def build(max_frames):
            previous = cam.acquisition       # replaced only once this one started
            previous_running.append(previous is not None and not previous.stream.state.ended)
            return make(max_frames)
        return build

    cam.controller.make_factory = checking_factory
    cam.stage()
    try:
        for _ in range(20):
            cam.trigger().wait(30)
            cam.read()
    finally:
        cam.unstage()
    assert previous_running == [False] * 20
    assert not cam.camera.acquiring
