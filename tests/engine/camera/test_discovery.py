"""Camera discovery (ophyd_pvcam/engine/camera/discovery.py)."""
from __future__ import annotations

from ophyd_pvcam import sim
from ophyd_pvcam.engine.camera.camera import Camera
from ophyd_pvcam.engine.camera.discovery import list_cameras
from ophyd_pvcam.engine.camera.session import session_count
from ophyd_pvcam.sdk import constants as C


PRODUCTS = {"prime-bsi": "Prime BSI", "prime-bsi-express": "Prime BSI Express",
            "kinetix": "Kinetix", "prime-95b": "Prime 95B"}
SENSORS = {"prime-bsi": (2048, 2048), "prime-bsi-express": (2048, 2048),
           "kinetix": (3200, 3200), "prime-95b": (1200, 1200)}


def test_list_cameras_describes_every_simulated_model(library):
    sim.set_cameras(list(sim.MODELS))
    infos = list_cameras(library)
    assert [info.name for info in infos] == [f"pvcamUSB_{i}" for i in range(len(sim.MODELS))]
    for info, model in zip(infos, sim.MODELS):
        assert info.product == info.model == PRODUCTS[model]
        assert info.sensor_size == SENSORS[model]
        assert info.chip and info.serial
        assert info.firmware.count(".") == 1
    assert len({info.serial for info in infos}) == len(infos)
    assert session_count(library) == 0


def test_list_cameras_includes_a_camera_open_in_this_process(library):
    sim.set_cameras(["prime-bsi", "kinetix"])
    with Camera.open("pvcamUSB_1", library=library) as cam:
        infos = list_cameras(library)
        assert [info.product for info in infos] == ["Prime BSI", "Kinetix"]
        assert infos[1] == cam.info
        assert session_count(library) == 1


def test_firmware_is_major_dot_minor(bsi):
    raw = bsi.library.get_param(bsi.handle, C.PARAM_CAM_FW_VERSION)
    assert bsi.info.firmware == f"{raw >> 8}.{raw & 0xFF}"


def test_resolve_library_accepts_sim_a_path_or_a_binding():
    from ophyd_pvcam import sdk
    from ophyd_pvcam.engine.camera.discovery import resolve_library
    from ophyd_pvcam.sim import library_path

    simulated = sdk.load(simulated=True)
    assert resolve_library("sim") is simulated
    assert resolve_library(library_path()) is simulated
    assert resolve_library(str(library_path())) is simulated
    assert resolve_library(simulated) is simulated


def test_camera_open_accepts_the_word_sim():
    from ophyd_pvcam.engine import Camera

    with Camera.open(library="sim") as camera:
        assert camera.name == "pvcamUSB_0"
