"""NDFileHDF5 rules of the server (ophyd_pvcam/ioc/server/core/capture.py), without a server."""
from __future__ import annotations

import os

import h5py
import numpy as np
import pytest

from ophyd_pvcam.engine.errors import ValidationError
from ophyd_pvcam.engine.frame import Frame
from ophyd_pvcam.ioc.server.core.capture import CaptureFile
from ophyd_pvcam.ioc.server.core.capture_state import format_template


def frame(number: int, shape=(4, 6)) -> Frame:
    data = np.full(shape, number, dtype=np.uint16)
    return Frame(frame_number=number, data=data, index=number - 1)


def test_templates_fill_like_printf_ignoring_surplus_arguments():
    assert format_template("%s%s_%6.6d.h5", "/d/", "f", 3) == "/d/f_000003.h5"
    assert format_template("%s%s.h5", "/d/", "f", 3) == "/d/f.h5"
    with pytest.raises(TypeError):
        format_template("%s%s%s%s.h5", "/d/", "f", 3)


def test_file_paths_outside_the_write_root_are_refused(tmp_path):
    capture = CaptureFile(tmp_path / "root")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    with pytest.raises(ValidationError, match="outside"):
        capture.set_file_path(str(outside))
    with pytest.raises(ValidationError, match="outside"):
        capture.set_file_path(str(tmp_path / "root" / ".." / "elsewhere"))
    os.symlink(outside, tmp_path / "root" / "link")
    with pytest.raises(ValidationError, match="outside"):
        capture.set_file_path(str(tmp_path / "root" / "link"))
    assert capture.set_file_path("sub") == str(tmp_path / "root" / "sub") + os.sep
    with pytest.raises(ValidationError, match="separator"):
        capture.set_file_name("../escape")


def test_a_capture_appends_frames_to_one_file_until_num_capture(tmp_path):
    capture = CaptureFile(tmp_path)
    capture.set_file_name("run")
    capture.set_num_capture(3)
    state = capture.start_capture()
    assert state.full_file_name == f"{tmp_path}/run_000000.h5"
    assert state.file_number == 1
    for number in range(1, 6):
        capture.submit(frame(number))
    assert not capture.state().capturing          # NumCapture reached
    with h5py.File(state.full_file_name, "r") as handle:
        assert list(handle["/entry/data/data"][:, 0, 0]) == [1, 2, 3]


def test_a_frame_of_another_shape_is_refused_while_a_file_is_open(tmp_path):
    capture = CaptureFile(tmp_path)
    capture.start_capture()
    capture.submit(frame(1))
    with pytest.raises(ValidationError, match="do not fit"):
        capture.check_frame((8, 8), np.uint16)
    capture.stop_capture()
    capture.check_frame((8, 8), np.uint16)


def test_files_are_never_overwritten(tmp_path):
    capture = CaptureFile(tmp_path)
    capture.set_file_template("%s%s.h5")
    (tmp_path / "pvcam.h5").write_bytes(b"keep")
    with pytest.raises(ValidationError, match="never overwritten"):
        capture.start_capture()
    assert (tmp_path / "pvcam.h5").read_bytes() == b"keep"


def test_single_mode_writes_one_file_per_frame(tmp_path):
    capture = CaptureFile(tmp_path)
    capture.set_write_mode("Single")
    capture.set_file_name("one")
    with pytest.raises(ValidationError, match="Single"):
        capture.start_capture()
    capture.submit(frame(1))
    capture.submit(frame(2))
    names = sorted(p.name for p in tmp_path.glob("one_*.h5"))
    assert names == ["one_000000.h5", "one_000001.h5"]
    assert capture.state().file_number == 2


def test_a_write_error_ends_the_capture_and_is_reported(tmp_path):
    capture = CaptureFile(tmp_path)
    capture.set_file_path("missing")           # CreateDirectory 0: not created
    state = capture.start_capture()
    assert state.capturing and not state.file_path_exists
    capture.submit(frame(1))
    state = capture.state()
    assert not state.capturing
    assert "does not exist" in state.write_error


def test_names_the_file_system_cannot_take_are_refused_before_capture(tmp_path):
    capture = CaptureFile(tmp_path)
    with pytest.raises(ValidationError, match="too long"):
        capture.set_file_name("n" * 300)
    with pytest.raises(ValidationError, match="too long"):
        capture.set_file_path(str(tmp_path / ("d" * 256)))
    # Each part fits, the formatted name does not: Capture=1 is refused, not crashed.
    capture.set_file_name("n" * 250)
    with pytest.raises(ValidationError, match="too long"):
        capture.start_capture()
    assert not capture.state().capturing
    capture.set_file_name("fine")
    assert capture.start_capture().capturing


@pytest.mark.parametrize("template", ["%s%s%100000000d", "%s%s%.100000000d.h5",
                                      "%s%s%*d.h5", "%s%s_%6.6d.h5" + "x" * 5000])
def test_templates_that_would_format_huge_names_are_refused_before_formatting(template):
    from ophyd_pvcam.ioc.server.core.capture_state import check_file_template

    with pytest.raises(ValidationError, match="FileTemplate"):
        check_file_template(template)
    with pytest.raises(ValidationError, match="FileTemplate"):
        format_template(template, "/d/", "f", 3)


def test_templates_of_reasonable_widths_still_format():
    assert format_template("%s%s_%255.3d.h5", "/d/", "f", 3).endswith("003.h5")
    assert format_template("%s%s%%_%-4d.h5", "/d/", "f", 3) == "/d/f%_3   .h5"


def test_a_directory_swapped_for_a_link_after_capture_puts_no_file_outside_the_root(tmp_path):
    root = tmp_path / "root"
    capture = CaptureFile(root)
    sub = root / "sub"
    sub.mkdir()
    capture.set_file_path(str(sub))
    capture.set_file_name("swapped")
    capture.start_capture()
    outside = tmp_path / "outside"
    outside.mkdir()
    sub.rmdir()
    os.symlink(outside, sub)                  # between the check and the first frame
    capture.submit(frame(1))
    assert list(outside.iterdir()) == []
    state = capture.state()
    assert not state.capturing
    assert "symbolic link" in state.write_error


def test_a_capture_into_a_sub_directory_still_writes_its_file(tmp_path):
    capture = CaptureFile(tmp_path)
    (tmp_path / "a" / "b").mkdir(parents=True)
    capture.set_file_path(str(tmp_path / "a" / "b"))
    capture.set_file_name("deep")
    state = capture.start_capture()
    capture.submit(frame(1))
    capture.stop_capture()
    with h5py.File(state.full_file_name, "r") as handle:
        assert list(handle["/entry/data/data"][:, 0, 0]) == [1]
