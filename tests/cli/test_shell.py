"""Tests of ophyd_pvcam/cli/shell.py and the IPython profile it starts."""
import os
import subprocess
import sys
from pathlib import Path

from ophyd_pvcam.cli.shell import profile_dir

REPO = Path(__file__).resolve().parents[2]


def run_profile(args, tmp_path, extra_env=None):
    env = {**os.environ, "PVCAM_LIBRARY": "sim", "PVCAM_DATA_DIR": str(tmp_path / "data"),
           "IPYTHONDIR": str(tmp_path / "ipython"), "MPLBACKEND": "Agg", **(extra_env or {})}
    env.pop("DISPLAY", None)
    return subprocess.run(args, capture_output=True, text=True, timeout=300, env=env, cwd=REPO)


def test_profile_folder_has_the_startup_files():
    names = sorted(p.name for p in (profile_dir() / "startup").glob("*.py"))
    assert names == ["00-runengine.py", "10-camera.py", "20-plans.py"]
    assert (REPO / "profile").resolve() == profile_dir()


def test_ophyd_pvcam_shell_starts_the_profile_and_runs_a_count(tmp_path):
    code = ("(uid,) = RE(count([cam], 2)); "
            "frames = db[uid].v3['primary']['cam_image'].read(); "
            "print('FRAMES', frames.shape[0], type(cam).__name__)")
    result = run_profile([sys.executable, "-m", "ophyd_pvcam.cli", "shell", "--", "--no-banner",
                          "--colors=NoColor", "-c", code], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FRAMES 2 PVCAMDetector" in result.stdout
    assert "the simulated camera" in result.stdout  # the profile says which camera it chose


def test_ipython_profile_dir_starts_the_same_profile(tmp_path):
    result = run_profile([sys.executable, "-m", "IPython", "--profile-dir=profile", "--no-banner",
                          "--colors=NoColor", "-c", "print('PLANS', callable(dark_frames), callable(fly_stream))"],
                         tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PLANS True True" in result.stdout


def test_shell_keeps_ipython_history_out_of_the_package(tmp_path):
    def snapshot():
        return {p: p.stat().st_mtime_ns for p in profile_dir().rglob("*") if p.is_file()}

    before = snapshot()
    result = run_profile([sys.executable, "-m", "ophyd_pvcam.cli", "shell", "--", "--no-banner",
                          "-c", "print('OK')"], tmp_path)
    assert result.returncode == 0, result.stderr
    user_profile = tmp_path / "ipython" / "profile_ophyd_pvcam"
    assert sorted(p.name for p in (user_profile / "startup").glob("*.py")) == [
        "00-runengine.py", "10-camera.py", "20-plans.py"]
    assert snapshot() == before  # nothing written into the package's profile folder


def test_the_profile_exposure_series_with_several_frames_per_point_reads_back(tmp_path):
    # The profile follows runs and records per-frame fields: several frames per point must work.
    code = ("uids = [RE(exposure_series(cam, (0.001, 0.002), frames_per_point=3))[0] "
            "for _ in range(2)]; "
            "frames = db[uids[-1]].v3['primary']['cam_image'].read(); "
            "print('SERIES', frames.shape[:2])")
    result = run_profile([sys.executable, "-m", "ophyd_pvcam.cli", "shell", "--", "--no-banner",
                          "--colors=NoColor", "-c", code], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SERIES (2, 3)" in result.stdout, result.stdout + result.stderr
