"""The README's commands and its IPython snippet, read from README.md and run as written.

The commands run through bash with ``ophyd-pvcam`` defined as this checkout's
``python -m ophyd_pvcam.cli`` (the installed script may point at another
copy); nothing else is changed. The ``ioc`` line is run by
tests/ioc/server/test_records.py, with ophyd's stock classes connecting to it.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import h5py
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def code_block(heading: str, language: str = "") -> str:
    """The first fenced block (```language) after the line ``heading``."""
    text = README.read_text()
    start = text.index(heading + "\n")
    match = re.compile(r"^```" + language + r"\n(.*?)^```", re.S | re.M).search(text, start)
    assert match, f"no ```{language} block after {heading!r} in README.md"
    return match.group(1)


def environment(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PVCAM_DATA_DIR": str(tmp_path / "data"),
           "MPLBACKEND": "Agg"}
    for name in ("PVCAM_LIBRARY", "PVCAM_SIM_CAMERAS", "PVCAM_SIM_FAULTS", "DISPLAY"):
        env.pop(name, None)
    return env


COMMANDS = [line for line in code_block("## No camera needed: the simulator").splitlines()
            if line.strip()]


@pytest.mark.parametrize("line", COMMANDS, ids=lambda line: line.split("#")[0][:60])
def test_readme_command_without_a_camera_runs_as_written(line, tmp_path):
    command, _, comment = line.partition("  # ")
    expected = re.match(r"exit status (\d+)", comment)
    script = f'ophyd-pvcam() {{ {sys.executable} -m ophyd_pvcam.cli "$@"; }}\n{command}\n'
    result = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=environment(tmp_path),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == (int(expected.group(1)) if expected else 0), result.stderr
    assert "Traceback" not in result.stderr
    if expected:
        # The failure is one line, said once.
        assert [l for l in result.stderr.splitlines() if "error:" in l] == [
            result.stderr.strip().splitlines()[-1]]
    for output in re.findall(r"-o (\S+)", command):
        with h5py.File(tmp_path / output, "r") as handle:
            assert handle["/entry/data/data"].shape[0] >= 1


def test_readme_ipython_snippet_runs_as_written_and_reads_lazily(tmp_path):
    snippet = code_block("## First steps in IPython", "python")
    env = {**environment(tmp_path), "PVCAM_LIBRARY": "sim"}  # as the README starts IPython
    checks = ("\nprint('SHAPES', frames.shape, first.shape, every_tenth.shape)"
              "\nprint('SIZE', sum(p.stat().st_size for p in "
              "ophyd_pvcam.catalog.frames_dir().rglob('*.h5')))\n")
    result = subprocess.run([sys.executable, "-c", snippet + checks], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SHAPES (100, 256, 256) (256, 256) (10, 256, 256)" in result.stdout
    (size,) = [int(line.split()[1]) for line in result.stdout.splitlines() if line.startswith("SIZE ")]
    assert size < 20e6  # the README promises a few MB: 103 frames of 128 kB
    assert "Traceback" not in result.stderr and "Tiled version" not in result.stdout + result.stderr
