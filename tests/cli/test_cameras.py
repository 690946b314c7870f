"""Tests of ophyd_pvcam/cli/cameras.py: list, info and snap on the simulated cameras."""
import struct

import h5py
import numpy as np

from ophyd_pvcam.cli import EXIT_ERROR, main


def test_list_shows_every_simulated_camera_with_model_sensor_and_serial(monkeypatch, capsys):
    monkeypatch.setenv("PVCAM_LIBRARY", "sim")
    monkeypatch.setenv("PVCAM_SIM_CAMERAS", "kinetix,prime-95b")
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "MODEL", "SENSOR", "CHIP", "SERIAL", "FIRMWARE"]
    rows = [line for line in lines[2:] if line.strip()]
    assert [row.split()[0] for row in rows] == ["pvcamUSB_0", "pvcamUSB_1"]
    assert "Kinetix" in rows[0] and "3200 x 3200" in rows[0]
    assert "1200 x 1200" in rows[1]


def test_info_prints_parameters_with_ranges_and_the_speed_table(capsys):
    assert main(["info", "--sim", "kinetix"]) == 0
    out = capsys.readouterr().out
    assert "readout_port" in out and "exposure_time" in out
    assert "PORT" in out and "PIXEL TIME [ns]" in out
    # Every Kinetix port from the vendor's table appears in the speed table.
    for port in ("Sensitivity", "Speed", "Dynamic Range", "Sub-Electron"):
        assert port in out


def test_info_on_an_unknown_camera_is_a_one_line_error_listing_the_real_ones(capsys):
    assert main(["info", "pvcamUSB_9", "--sim", "prime-bsi"]) == EXIT_ERROR
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "pvcamUSB_9" in err and "pvcamUSB_0" in err


def test_snap_writes_one_stamped_frame_to_hdf5_and_a_png(in_tmp, capsys, frame_stamp):
    assert main(["snap", "--sim", "prime-bsi", "--roi", "0,0,128,64", "--exposure", "0.002",
                 "-o", "one.h5"]) == 0
    with h5py.File(in_tmp / "one.h5", "r") as handle:
        data = handle["/entry/data/data"]
        assert data.shape == (1, 64, 128)
        frame = data[0]
    assert int(frame[0, 0]) | (int(frame[0, 1]) << 16) == 1  # the simulator stamps FrameNr 1
    assert (in_tmp / "one.png").read_bytes().startswith(b"\x89PNG")
    assert "one.h5" in capsys.readouterr().out


def test_snap_tiff_stores_the_same_pixels(in_tmp, frame_stamp):
    assert main(["snap", "--sim", "prime-95b", "--roi", "8,8,32,16", "--tiff", "-o", "one.tif"]) == 0
    raw = (in_tmp / "one.tif").read_bytes()
    assert raw[:4] == b"II*\x00"
    (ifd_offset,) = struct.unpack("<I", raw[4:8])
    (count,) = struct.unpack("<H", raw[ifd_offset:ifd_offset + 2])
    tags = {}
    for i in range(count):
        tag, kind, n, value = struct.unpack("<HHII", raw[ifd_offset + 2 + 12 * i: ifd_offset + 14 + 12 * i])
        tags[tag] = value & 0xFFFF if kind == 3 else value
    assert (tags[256], tags[257], tags[258]) == (32, 16, 16)
    pixels = np.frombuffer(raw[tags[273]:tags[273] + tags[279]], dtype="<u2").reshape(16, 32)
    assert int(pixels[0, 0]) | (int(pixels[0, 1]) << 16) == 1


def test_snap_with_a_roi_outside_the_sensor_fails_before_acquiring(in_tmp, capsys):
    assert main(["snap", "--sim", "prime-bsi", "--roi", "2000,0,128,64", "-o", "bad.h5"]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert "ROI" in err or "region" in err.lower()
    assert not (in_tmp / "bad.h5").exists()


def test_malformed_roi_is_a_usage_error(capsys):
    import pytest

    with pytest.raises(SystemExit) as exit_info:
        main(["snap", "--sim", "prime-bsi", "--roi", "1,2,3"])
    assert exit_info.value.code == 2
    assert "X,Y,WIDTH,HEIGHT" in capsys.readouterr().err


SNAP = ["snap", "--sim", "prime-bsi", "--roi", "0,0,32,16", "--exposure", "0.001"]


def one_line_error(capsys, command):
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"ophyd-pvcam {command}: error: ")
    return err


def test_snap_refuses_an_existing_hdf5_file_unless_overwrite(in_tmp, capsys):
    assert main([*SNAP, "-o", "one.h5"]) == 0
    before = (in_tmp / "one.h5").read_bytes()
    capsys.readouterr()
    assert main([*SNAP, "-o", "one.h5"]) == EXIT_ERROR
    assert "one.h5 exists already (--overwrite replaces it)" in one_line_error(capsys, "snap")
    assert (in_tmp / "one.h5").read_bytes() == before
    assert main([*SNAP, "-o", "one.h5", "--overwrite"]) == 0
    with h5py.File(in_tmp / "one.h5", "r") as handle:
        assert handle["/entry/data/data"].shape == (1, 16, 32)


def test_snap_tiff_refuses_an_existing_file_like_hdf5(in_tmp, capsys):
    (in_tmp / "one.tif").write_bytes(b"precious")
    assert main([*SNAP, "--tiff", "-o", "one.tif"]) == EXIT_ERROR
    assert "one.tif exists already (--overwrite replaces it)" in one_line_error(capsys, "snap")
    assert (in_tmp / "one.tif").read_bytes() == b"precious"
    assert main([*SNAP, "--tiff", "-o", "one.tif", "--overwrite"]) == 0
    assert (in_tmp / "one.tif").read_bytes()[:4] == b"II*\x00"


def test_snap_into_a_missing_folder_refuses_and_creates_nothing(in_tmp, capsys):
    assert main([*SNAP, "-o", str(in_tmp / "nonexistent_dir" / "x.h5")]) == EXIT_ERROR
    assert "nonexistent_dir does not exist" in one_line_error(capsys, "snap")
    assert not (in_tmp / "nonexistent_dir").exists()


def test_snap_into_a_folder_nobody_may_write_is_one_line(capsys):
    # /proc/self refuses new files even to root (a chmod-ed folder would not stop root).
    assert main([*SNAP, "-o", "/proc/self/x.h5"]) == EXIT_ERROR
    assert "/proc/self" in one_line_error(capsys, "snap")


def test_a_malformed_exposure_is_a_readable_usage_error(capsys):
    import pytest

    with pytest.raises(SystemExit) as exit_info:
        main([*SNAP[:-2], "--exposure", "abc"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --exposure: must be a number of seconds (e.g. 0.01), got 'abc'" in err
    assert "_positive_float" not in err


def test_info_shows_temperatures_in_degrees_celsius(capsys):
    # The SDK reports PARAM_TEMP in 1/100 degC: a raw -1999 is -19.99 degC.
    assert main(["info", "--sim", "prime-bsi"]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.strip()}
    celsius, unit, raw = rows["temp"].split()[1:4]
    assert unit == "degC" and float(celsius) == int(raw.strip("()")) / 100
    assert -25 < float(celsius) < -15  # the simulated sensor is cooled to about -20 degC
    assert "-50.00 degC .. 50.00 degC" in rows["temp"]
    assert rows["temp_setpoint"].split()[1:3] == ["-20.00", "degC"]


def test_a_writer_failure_is_one_line_without_the_writers_traceback(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    # A dangling link passes the checks (no file there) but the HDF5 writer cannot create it.
    (tmp_path / "link.h5").symlink_to(tmp_path / "missing" / "target.h5")
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-m", "ophyd_pvcam.cli", *SNAP, "-o", "link.h5"],
                            cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(root)},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == EXIT_ERROR
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("ophyd-pvcam snap: error: HDF5FrameWriter failed: creating the file")
