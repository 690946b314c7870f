"""Tests of ophyd_pvcam/cli/stream.py: frames to HDF5, progress, and a stall's exit status."""
import h5py
import numpy as np
import pytest

from ophyd_pvcam import sim
from ophyd_pvcam.cli import EXIT_STALL, main


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
