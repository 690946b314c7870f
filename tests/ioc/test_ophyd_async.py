"""ophyd-async's stock detectors against our IOC, in a pytest process of their own.

ophyd-async reaches Channel Access through aioca, whose libca context is
process-global and keeps the EPICS environment it was created with: in the
suite's one process, a context created by an earlier test (other ports, other
address lists) leaves the stock classes unable to find the session server.
So the cases (``ophyd_async_cases.py``, collected only when named) run in a
fresh process, as the pyepics variant of the client tests does.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.ioc

HERE = Path(__file__).resolve().parent


def _run_cases(marker: str, server_log: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(HERE / "ophyd_async_cases.py"), "-q",
         "-p", "no:cacheprovider", "-m", marker],
        env={**os.environ, "IOC_TEST_LOG": str(server_log)}, capture_output=True, text=True,
        timeout=1800, cwd=HERE.parents[1], check=False)
    # the session server's log (its stream statistics say why frames did not come)
    server = server_log.read_text()[-4000:] if server_log.exists() else "(no server log)"
    assert result.returncode == 0, (result.stdout[-6000:] + result.stderr[-2000:]
                                    + "\n--- server ---\n" + server)
    assert " passed" in result.stdout and " failed" not in result.stdout, result.stdout[-2000:]


def test_stock_ophyd_async_detectors_connect_count_and_read_back_from_our_ioc(tmp_path):
    _run_cases("not slow", tmp_path / "server.log")


@pytest.mark.slow
def test_stock_ophyd_async_detectors_fly_1000_frames_against_our_ioc(tmp_path):
    _run_cases("slow", tmp_path / "server.log")
