"""Tests of ophyd_pvcam/cli/stream.py: frames to HDF5, progress, and a stall's exit status."""
import h5py
import numpy as np
import pytest

from ophyd_pvcam import sim
from ophyd_pvcam.cli import EXIT_ERROR, EXIT_FRAMES_LOST, EXIT_STALL, main


# Frames are judged by the FrameNr in the simulator's opt-in pixel stamp.
pytestmark = pytest.mark.usefixtures("frame_stamp")


def stamped_numbers(frames):
    flat = frames.reshape(frames.shape[0], -1)
    return flat[:, 0].astype(np.int64) | (flat[:, 1].astype(np.int64) << 16)


def test_stream_writes_every_frame_in_order_with_progress(in_tmp, capsys):
    assert main(["stream", "--sim", "kinetix", "--frames", "300", "--roi", "0,0,64,32",
                 "--exposure", "0.0005", "-o", "s.h5"]) == 0
    with h5py.File(in_tmp / "s.h5", "r") as handle:
        frames = handle["/entry/data/data"][:]
    assert frames.shape == (300, 32, 64)
    np.testing.assert_array_equal(stamped_numbers(frames), np.arange(1, 301))
    captured = capsys.readouterr()
    assert "300/300 frames" in captured.err
    assert "lost 0" in captured.err
    assert "300 frames written" in captured.out


def test_stream_on_a_stalling_camera_exits_3_with_the_diagnosis_and_keeps_the_frames(in_tmp, capsys):
    sim.set_faults("stall_after=5")
    code = main(["stream", "--sim", "prime-bsi", "--frames", "50", "--roi", "0,0,64,32",
                 "--exposure", "0.001", "--stall-timeout", "0.2", "--stall-count", "2", "-o", "st.h5"])
    assert code == EXIT_STALL
    err = capsys.readouterr().err
    assert "error:" in err and "5" in err
    with h5py.File(in_tmp / "st.h5", "r") as handle:
        frames = handle["/entry/data/data"][:]
    np.testing.assert_array_equal(stamped_numbers(frames), np.arange(1, 6))


def test_stream_preview_writes_pngs_headless(in_tmp, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert main(["stream", "--sim", "prime-bsi", "--frames", "20", "--roi", "0,0,64,64",
                 "--exposure", "0.005", "--preview", "pv", "-o", "p.h5"]) == 0
    assert (in_tmp / "pv" / "latest.png").read_bytes().startswith(b"\x89PNG")


def test_stream_prints_the_pre_flight_prediction_before_starting(in_tmp, capsys):
    assert main(["stream", "--sim", "prime-bsi", "--frames", "10", "--roi", "0,0,64,32",
                 "--exposure", "0.001", "-o", "pf.h5"]) == 0
    out = capsys.readouterr().out
    preflight = out.index("pre-flight: predicted loss-free: loss-free for")
    assert preflight < out.index("pf.h5: 10 frames written")
    assert "of the 10 requested (32x64 uint16" in out


def test_stream_refuses_a_predicted_loss_at_rated_speed_with_the_frames_that_fit(
        in_tmp, capsys, monkeypatch):
    # Prime BSI full frame at its rated 46.5 fps into a 100 MB/s sink with a 2 GiB budget.
    monkeypatch.setenv("PVCAM_SINK_RATE", "100e6")
    monkeypatch.setenv("PVCAM_HOST_MEMORY_BUDGET", "2G")
    code = main(["stream", "--sim", "prime-bsi", "--frames", "1000", "--roi", "0,0,2048,2048",
                 "--exposure", "0.000001", "--refuse-predicted-loss", "-o", "big.h5"])
    assert code == EXIT_ERROR
    captured = capsys.readouterr()
    assert "pre-flight: predicted loss: loss-free for 344 frames / 7.4 s" in captured.out
    (line,) = [line for line in captured.err.splitlines() if "error:" in line]
    assert "loss-free for 344 frames" in line and "remedy:" in line
    assert not (in_tmp / "big.h5").exists()



def test_stream_that_lost_frames_exits_4_with_one_line_saying_how_many(in_tmp, capsys):
    sim.set_faults("drop_every=10")
    code = main(["stream", "--sim", "prime-bsi", "--frames", "50", "--roi", "0,0,64,32",
                 "--exposure", "0.001", "-o", "lost.h5"])
    assert code == EXIT_FRAMES_LOST
    lines = [line for line in capsys.readouterr().err.splitlines() if "frame(s) lost" in line]
    assert lines == ["ophyd-pvcam stream: 5 frame(s) lost (counted in the file's lost_before); "
                     "50 written"]
    with h5py.File(in_tmp / "lost.h5", "r") as handle:
        assert len(handle["/entry/data/data"]) == 50


def test_stream_on_loss_fail_stops_at_the_first_lost_frame_and_keeps_the_frames(in_tmp, capsys):
    sim.set_faults("drop_every=10")
    code = main(["stream", "--sim", "prime-bsi", "--frames", "50", "--roi", "0,0,64,32",
                 "--exposure", "0.001", "--on-loss", "fail", "-o", "fail.h5"])
    assert code == EXIT_FRAMES_LOST
    (line,) = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert "1 frame(s) lost before FrameNr 11 (the first was FrameNr 10)" in line
    with h5py.File(in_tmp / "fail.h5", "r") as handle:
        frames = handle["/entry/data/data"][:]
    numbers = stamped_numbers(frames)
    assert list(numbers[:10]) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 11]


def test_stream_says_size_and_destination_before_starting(in_tmp, capsys):
    assert main(["stream", "--sim", "prime-bsi", "--frames", "10", "--roi", "0,0,64,32",
                 "--exposure", "0.001", "-o", "s.h5"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    # 10 frames x 64 x 32 pixels x 2 bytes
    assert first == f"streaming 10 frames of 64 x 32 uint16 (41.0 kB) to {in_tmp / 's.h5'}"


def test_stream_refuses_an_existing_file_before_acquiring(in_tmp, capsys):
    (in_tmp / "s.h5").write_bytes(b"precious")
    assert main(["stream", "--sim", "prime-bsi", "--frames", "5", "--roi", "0,0,64,32",
                 "-o", "s.h5"]) == 1
    captured = capsys.readouterr()
    assert captured.err.strip() == (f"ophyd-pvcam stream: error: {in_tmp / 's.h5'} exists already "
                                    "(--overwrite replaces it)")
    assert (in_tmp / "s.h5").read_bytes() == b"precious"
    assert main(["stream", "--sim", "prime-bsi", "--frames", "5", "--roi", "0,0,64,32",
                 "--exposure", "0.001", "-o", "s.h5", "--overwrite"]) == 0
    with h5py.File(in_tmp / "s.h5", "r") as handle:
        assert handle["/entry/data/data"].shape == (5, 32, 64)


def test_stream_larger_than_the_free_space_refuses_before_acquiring(in_tmp, capsys):
    # Full frame, 10^8 frames: hundreds of TB, more than any test disk holds. Should the
    # check be missing, the camera unplugs after 20 frames instead of filling the disk.
    sim.set_faults("unplug_after=20")
    assert main(["stream", "--sim", "prime-bsi", "--frames", "100000000", "-o", "big.h5"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "big.h5 needs 838.9 TB but" in err and "free" in err
    assert not (in_tmp / "big.h5").exists()


def test_stall_warnings_start_their_own_line_and_the_diagnosis_is_printed_once(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root), "PVCAM_SIM_FAULTS": "stall_after=5"}
    result = subprocess.run(
        [sys.executable, "-m", "ophyd_pvcam.cli", "stream", "--sim", "prime-bsi", "--frames", "50",
         "--roi", "0,0,64,32", "--exposure", "0.001", "--stall-timeout", "0.2", "-o", "st.h5"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == EXIT_STALL, result.stderr
    lines = result.stderr.split("\n")
    warnings = [line for line in lines if "WARNING" in line]
    assert warnings and all(line.startswith("WARNING ") for line in warnings), lines
    output = result.stdout + result.stderr
    assert output.count("consecutive waits") == 1, output
    assert "ERROR" not in output and "Traceback" not in output
