"""Reference-counted SDK initialisation (ophyd_pvcam/engine/camera/session.py)."""
from __future__ import annotations

import threading

import pytest

from ophyd_pvcam import sim
from ophyd_pvcam.engine.camera.camera import Camera, list_cameras
from ophyd_pvcam.engine.camera.session import acquire_session, release_session, session, session_count
from ophyd_pvcam.engine.errors import AcquisitionError
from ophyd_pvcam.sdk.errors import AlreadyInitializedError


def sdk_is_initialised(library) -> bool:
    """Probe with a second pl_pvcam_init: 158 means initialised; success means it was not."""
    try:
        library.pvcam_init()
    except AlreadyInitializedError:
        return True
    library.pvcam_uninit()
    return False


def test_first_acquire_initialises_and_last_release_uninitialises(library):
    assert not sdk_is_initialised(library)
    acquire_session(library)
    acquire_session(library)
    assert session_count(library) == 2
    assert sdk_is_initialised(library)
    release_session(library)
    assert sdk_is_initialised(library)
    release_session(library)
    assert session_count(library) == 0
    assert not sdk_is_initialised(library)


def test_release_without_acquire_is_an_error(library):
    with pytest.raises(AcquisitionError):
        release_session(library)


def test_session_context_manager_releases_on_error(library):
    with pytest.raises(KeyError):
        with session(library):
            assert sdk_is_initialised(library)
            raise KeyError("boom")
    assert session_count(library) == 0
    assert not sdk_is_initialised(library)


def test_foreign_initialisation_is_refused_and_not_counted(library):
    library.pvcam_init()
    try:
        with pytest.raises(AlreadyInitializedError):
            acquire_session(library)
        assert session_count(library) == 0
    finally:
        library.pvcam_uninit()


def test_two_cameras_of_two_models_share_one_init(library):
    sim.set_cameras(["prime-bsi", "kinetix"])
    first = Camera.open("pvcamUSB_0", library=library)
    second = Camera.open("pvcamUSB_1", library=library)
    try:
        assert first.info.product != second.info.product
        assert session_count(library) == 2
        assert sdk_is_initialised(library)
        first.close()
        assert sdk_is_initialised(library)
    finally:
        first.close()
        second.close()
    assert session_count(library) == 0
    assert not sdk_is_initialised(library)


def test_list_cameras_leaves_the_sdk_uninitialised(library):
    sim.set_cameras(["prime-bsi", "prime-95b"])
    assert len(list_cameras(library)) == 2
    assert not sdk_is_initialised(library)


def test_concurrent_acquire_release_keeps_an_exact_count(library):
    errors = []
    start = threading.Barrier(8)

    def worker():
        try:
            start.wait()
            for _ in range(50):
                acquire_session(library)
                release_session(library)
        except Exception as exc:  # collected for the assertion below
            errors.append(exc)

    acquire_session(library)  # keep one reference so the SDK stays up meanwhile
    threads = [threading.Thread(target=worker, name=f"session-worker-{i}") for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert session_count(library) == 1
    release_session(library)
    assert not sdk_is_initialised(library)


def test_concurrent_first_acquires_initialise_once(library):
    errors = []
    start = threading.Barrier(6)

    def worker():
        try:
            start.wait()
            acquire_session(library)
        except Exception as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, name=f"session-first-{i}") for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        assert session_count(library) == 6
    finally:
        for _ in range(session_count(library)):
            release_session(library)
    assert not sdk_is_initialised(library)
