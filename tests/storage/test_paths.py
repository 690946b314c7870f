"""paths: one file per run and device, date folders, templates that stay under the root."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ophyd_pvcam.engine.errors import ValidationError
from ophyd_pvcam.storage.paths import DEFAULT_TEMPLATE, default_root, make_file_path

WHEN = dt.datetime(2024, 3, 7, 14, 5, 9)


def test_default_template_puts_files_in_date_folders_named_by_device_and_run(tmp_path):
    path = make_file_path(tmp_path, run_uid="3f2a-77", device="cam", when=WHEN)
    assert path == tmp_path.resolve() / "2024" / "03" / "07" / "cam_3f2a-77.h5"
    assert make_file_path(tmp_path, DEFAULT_TEMPLATE, run_uid="3f2a-77", device="cam", when=WHEN) == path


def test_different_runs_and_devices_get_different_files(tmp_path):
    paths = {make_file_path(tmp_path, run_uid=uid, device=dev, when=WHEN)
             for uid in ("a", "b") for dev in ("cam1", "cam2")}
    assert len(paths) == 4


def test_custom_template_fields_and_format_specs(tmp_path):
    path = make_file_path(tmp_path, "{device}/{date:%Y%m%d-%H%M%S}_{run_uid:.4}.h5",
                          run_uid="abcdef", device="cam", when=WHEN)
    assert path == tmp_path.resolve() / "cam" / "20240307-140509_abcd.h5"


def test_device_names_are_made_safe_for_file_names(tmp_path):
    path = make_file_path(tmp_path, "{device}.h5", run_uid="u", device="det/a b:1")
    assert path.parent == tmp_path.resolve()
    assert path.name == "det_a_b_1.h5"


def test_root_none_uses_the_data_dir_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("PVCAM_DATA_DIR", str(tmp_path / "data"))
    assert default_root() == tmp_path / "data" / "frames"
    path = make_file_path(None, run_uid="u", device="cam", when=WHEN)
    assert path == (tmp_path / "data" / "frames").resolve() / "2024" / "03" / "07" / "cam_u.h5"


def test_default_root_without_environment_is_the_per_user_data_dir(monkeypatch):
    monkeypatch.delenv("PVCAM_DATA_DIR", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    assert default_root() == Path.home() / ".local" / "share" / "ophyd-pvcam" / "frames"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")
    assert default_root() == Path.home() / ".local" / "share" / "ophyd-pvcam" / "frames"


def test_default_root_follows_xdg_data_home(tmp_path, monkeypatch):
    monkeypatch.delenv("PVCAM_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_root() == tmp_path / "ophyd-pvcam" / "frames"


def test_default_root_is_the_default_catalogs_frames_directory(tmp_path, monkeypatch):
    from ophyd_pvcam import catalog

    for env in ({"PVCAM_DATA_DIR": str(tmp_path / "d")}, {"XDG_DATA_HOME": str(tmp_path / "x")}, {}):
        monkeypatch.delenv("PVCAM_DATA_DIR", raising=False)
        monkeypatch.delenv("XDG_DATA_HOME", raising=False)
        monkeypatch.setenv("HOME", str(tmp_path / "home"))
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        assert default_root() == catalog.default_path() / "frames"


@pytest.mark.parametrize("template", [
    "{unknown}.h5", "{date:%Y}/{0}.h5", "/abs/{run_uid}.h5", "../{run_uid}.h5", "{device}/", "",
])
def test_bad_templates_are_refused(tmp_path, template):
    with pytest.raises(ValidationError):
        make_file_path(tmp_path, template, run_uid="u", device="cam")


def test_names_that_clean_to_nothing_are_refused(tmp_path):
    with pytest.raises(ValidationError):
        make_file_path(tmp_path, run_uid="u", device="///")
