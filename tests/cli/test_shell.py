"""Tests of ophyd_pvcam/cli/shell.py and the IPython profile it starts."""
import ast
import configparser
import importlib.metadata
import os
import re
import shutil
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


def package_profile_entries():
    """Every file and folder under the package's profile/, with its modification time."""
    return {p: p.stat().st_mtime_ns for p in profile_dir().rglob("*")}


def test_ipython_profile_dir_starts_the_same_profile(tmp_path):
    # A copy of profile/ (what docs/howto/profile.md's `ipython --profile-dir=profile` starts):
    # IPython writes history, log/, pid/, security/ and startup/README into its profile folder,
    # which must not be the package's.
    copy = tmp_path / "profile"
    shutil.copytree(profile_dir(), copy)
    before = package_profile_entries()
    result = run_profile([sys.executable, "-m", "IPython", f"--profile-dir={copy}", "--no-banner",
                          "--colors=NoColor", "-c", "print('PLANS', callable(dark_frames), callable(fly_stream))"],
                         tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PLANS True True" in result.stdout
    assert package_profile_entries() == before


def test_package_profile_holds_only_the_readme_and_the_startup_files():
    # What IPython would leave there: history.sqlite, log/, pid/, security/, startup/README.
    extra = [str(p.relative_to(profile_dir())) for p in profile_dir().rglob("*")
             if "__pycache__" not in p.parts and p.name != "README.md" and p.name != "startup"
             and not (p.parent.name == "startup" and p.suffix == ".py")
             and p.name != "user_group_permissions.yaml"]   # shipped for bluesky-queueserver
    assert extra == []
    assert (profile_dir() / "README.md").is_file()


def _top_level_imports(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_everything_the_shell_and_profile_import_is_installed_by_the_readmes_first_command():
    # The README's first command is `pip install .`: only install_requires, no extras.
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    required = {re.split(r"[<>=!~\[; ]", line.strip())[0].lower().replace("_", "-")
                for line in config["options"]["install_requires"].splitlines() if line.strip()}
    sources = [(REPO / "ophyd_pvcam" / "cli" / "shell.py").read_text()]
    sources += [path.read_text() for path in sorted((profile_dir() / "startup").glob("*.py"))]
    modules = set().union(*(_top_level_imports(text) for text in sources))
    modules -= set(sys.stdlib_module_names) | {"ophyd_pvcam", "__future__"}
    providers = importlib.metadata.packages_distributions()
    missing = {module: providers.get(module) for module in modules
               if not {name.lower().replace("_", "-") for name in providers.get(module, [])} & required}
    assert "IPython" in modules
    assert not missing, f"imported by the shell or profile but not in install_requires: {missing}"


def test_what_the_profile_needs_at_run_time_is_installed_by_the_readmes_first_command():
    # Imported lazily by the libraries the profile uses, so the import walk above misses
    # them: bluesky's PersistentDict needs zict (only in bluesky's dev extra), the bars tqdm.
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    required = {re.split(r"[<>=!~\[; ]", line.strip())[0].lower()
                for line in config["options"]["install_requires"].splitlines() if line.strip()}
    startup = (profile_dir() / "startup" / "00-runengine.py").read_text()
    assert "PersistentDict" in startup and "zict" in required
    assert "progress_bar_manager" in startup and "tqdm" in required


def test_shell_keeps_ipython_history_out_of_the_package(tmp_path):
    before = package_profile_entries()
    result = run_profile([sys.executable, "-m", "ophyd_pvcam.cli", "shell", "--", "--no-banner",
                          "-c", "print('OK')"], tmp_path)
    assert result.returncode == 0, result.stderr
    user_profile = tmp_path / "ipython" / "profile_ophyd_pvcam"
    assert sorted(p.name for p in (user_profile / "startup").glob("*.py")) == [
        "00-runengine.py", "10-camera.py", "20-plans.py"]
    assert package_profile_entries() == before  # nothing written into the package's profile folder


def test_profile_says_in_full_why_it_chose_the_simulator(tmp_path):
    env = {**os.environ, "PVCAM_DATA_DIR": str(tmp_path / "data"), "MPLBACKEND": "Agg",
           "PVCAM_LIBRARY": str(tmp_path / "no-such-libpvcam.so.2")}
    env.pop("DISPLAY", None)
    # An explicit library that is missing fails the load; the profile falls back to the simulator.
    result = subprocess.run([sys.executable, "-m", "ophyd_pvcam.cli", "shell", "--", "--no-banner",
                             "--colors=NoColor", "-c", "print('OK')"],
                            capture_output=True, text=True, timeout=300, env=env, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("cam: ")]
    assert "the simulated camera (no PVCAM library found; tried " in line
    assert "no-such-libpvcam.so.2" in line and line.endswith(")")


def test_a_scan_in_the_shell_prints_the_live_table_without_log_noise(tmp_path):
    code = ("from ophyd.sim import motor; from bluesky.plans import scan; "
            "cam.roi.set((0, 0, 64, 64)).wait(10); "
            "RE(count([cam], 2)); RE(scan([cam], motor, 0, 1, 3)); RE(fly_stream([cam], num_frames=20))")
    result = run_profile([sys.executable, "-m", "ophyd_pvcam.cli", "shell", "--", "--no-banner",
                          "--colors=NoColor", "-c", code], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "generator scan" in result.stdout and "|   seq_num |" in result.stdout
    output = result.stdout + result.stderr
    assert [line for line in output.splitlines() if line.startswith("INFO ")] == []
    assert "Tiled version" not in output
    assert "StarletteDeprecationWarning" not in output and "httpx" not in output
    # stdout is a pipe: no tqdm bars and no cursor escapes.
    assert "\x1b[" not in output and "frames/s" not in output


def test_profile_plans_print_the_prediction_and_stop_documents_name_the_loss(tmp_path):
    code = ("(uid,) = RE(fly_stream([cam], 30)); "
            "print('REASON', db[uid].metadata['stop']['reason'])")
    result = run_profile([sys.executable, "-m", "ophyd_pvcam.cli", "shell", "--", "--no-banner",
                          "--colors=NoColor", "-c", "cam.roi.put((0, 0, 64, 32)); " + code],
                         tmp_path, {"PVCAM_SIM_FAULTS": "drop_every=5"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "cam: predicted loss-free: loss-free for" in result.stdout
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("REASON")]
    assert "frame(s) lost, 30 written" in line and line.startswith("REASON cam: ")


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


def test_a_stall_in_the_shell_is_reported_by_the_exception_not_repeated_by_logs(tmp_path):
    code = ("cam.roi.set((0, 0, 64, 64)).wait(10); cam.stall_timeout.set(0.2).wait(10); "
            "RE(fly_stream([cam], num_frames=50))")
    result = run_profile([sys.executable, "-m", "ophyd_pvcam.cli", "shell", "--", "--no-banner",
                          "--colors=NoColor", "-c", code], tmp_path,
                         {"PVCAM_SIM_FAULTS": "stall_after=5"})
    assert "StallError: stream failed: Camera pvcamUSB_0 stalled" in result.stdout
    # The logs warn of the timeouts and say the run aborted; the diagnosis is the exception's.
    assert "consecutive waits" not in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert "Run aborted (the error follows)" in result.stderr


def test_a_stalled_count_in_the_shell_shows_the_diagnosis_once_and_the_stop_reason_keeps_it(tmp_path):
    # IPython shows the chain StallError -> FailedStatus; the status's repr (the stop
    # document's reason) names the error too: on screen the diagnosis appears once.
    code = ("cam.roi.set((0, 0, 64, 64)).wait(10); cam.stall_timeout.set(0.2).wait(10)\n"
            "cam.frames_per_trigger.set(10).wait(10)\n"
            "try:\n"
            "    RE(count([cam], 3))\n"
            "finally:\n"
            "    print('REASON', db[-1].metadata['stop']['reason'])\n")
    result = run_profile([sys.executable, "-m", "ophyd_pvcam.cli", "shell", "--", "--no-banner",
                          "--colors=NoColor", "-c", code], tmp_path,
                         {"PVCAM_SIM_FAULTS": "stall_after=3"})
    assert result.returncode != 0
    output = result.stdout + result.stderr
    diagnosis = "The camera stopped producing frames"
    (reason,) = [line for line in result.stdout.splitlines() if line.startswith("REASON")]
    assert diagnosis in reason and "StallError" in reason  # the document keeps the diagnosis
    shown = output.replace(reason, "")
    assert shown.count(diagnosis) == 1, shown
    assert shown.count("Camera pvcamUSB_0 stalled: no frame for") == 1, shown
    assert "StallError: stream failed: Camera pvcamUSB_0 stalled" in result.stdout
    (failed,) = [line for line in result.stdout.splitlines() if line.startswith("FailedStatus: ")]
    assert "frames=3/10" in failed and "error=StallError (its diagnosis is shown above)" in failed
