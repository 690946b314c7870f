"""Tests of ophyd_pvcam/ioc/server/records.py: record groups take any legal EPICS prefix literally."""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import threading
from pathlib import Path

import h5py
import pytest
from bluesky import RunEngine
from bluesky import plans as bp
from ophyd import Component as Cpt
from ophyd.areadetector import DetectorBase, SingleTrigger
from ophyd.areadetector.cam import PvcamDetectorCam
from ophyd.areadetector.filestore_mixins import FileStoreHDF5IterativeWrite
from ophyd.areadetector.plugins import HDF5Plugin

from ophyd_pvcam.ioc.server.records import literal_prefix

from ..conftest import READY_TIMEOUT, SECOND_SERVER_PORT

README = Path(__file__).resolve().parents[3] / "README.md"


def readme_ioc_command() -> list[str]:
    """The README's ``ophyd-pvcam ioc ...`` line, split as a POSIX shell would."""
    (line,) = re.findall(r"`(ophyd-pvcam ioc [^`]*--write-root[^`]*)`", README.read_text())
    return shlex.split(line)


def test_literal_prefix_survives_any_number_of_format_passes():
    prefix = "XF:31ID1-ES{Det:PVCAM}"
    assert literal_prefix(prefix).format() == prefix
    assert (literal_prefix(prefix) + "cam1:").format() == prefix + "cam1:"


class StockHDF5(HDF5Plugin, FileStoreHDF5IterativeWrite):
    """ophyd's HDF5 plugin with its stock file-store mixin, unchanged."""


class StockPvcam(SingleTrigger, DetectorBase):
    cam = Cpt(PvcamDetectorCam, "cam1:")
    hdf1 = Cpt(StockHDF5, "HDF1:", write_path_template="/")


@pytest.mark.ioc
def test_the_readme_ioc_line_serves_a_brace_prefix_to_ophyds_stock_classes(tmp_path):
    words = readme_ioc_command()
    assert words[:2] == ["ophyd-pvcam", "ioc"]
    prefix = words[words.index("--prefix") + 1]
    assert "{" in prefix  # the NSLS-II convention the README shows
    # As written, except the write root (the README's /data is the camera host's disk).
    words[words.index("--write-root") + 1] = str(tmp_path)
    env = {**os.environ, "PVCAM_LIBRARY": "sim", "PVCAM_SIM_CAMERAS": "prime-bsi",
           "EPICS_CAS_SERVER_PORT": str(SECOND_SERVER_PORT),
           "EPICS_CA_SERVER_PORT": str(SECOND_SERVER_PORT), "PYTHONUNBUFFERED": "1"}
    env.pop("PVCAM_SIM_FAULTS", None)
    server = subprocess.Popen([sys.executable, "-m", "ophyd_pvcam.cli", *words[1:]], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    ready = threading.Event()

    def drain() -> None:
        assert server.stdout is not None
        for line in server.stdout:
            lines.append(line)
            if line.startswith("IOC READY"):
                ready.set()
        ready.set()

    reader = threading.Thread(target=drain, name="readme-ioc-drain", daemon=True)
    reader.start()
    stock = None
    try:
        assert ready.wait(READY_TIMEOUT) and f"IOC READY {prefix}\n" in lines, "".join(lines)
        stock = StockPvcam(prefix, name="stock")
        stock.hdf1.write_path_template = str(tmp_path) + "/"
        stock.wait_for_connection(timeout=30)
        assert stock.cam.chip_name.get() == "GS2020BSI"
        stock.cam.acquire_time.set(0.01).wait(10)
        stock.cam.num_images.set(1).wait(10)
        RE = RunEngine({})
        RE(bp.count([stock], 2))
        with h5py.File(stock.hdf1.full_file_name.get(), "r") as handle:
            assert handle["/entry/data/data"].shape[0] == 2
        # ... and so does our own client, with the same prefix.
        from ophyd_pvcam.ioc.client import RemotePVCAMDetector

        remote = RemotePVCAMDetector(prefix, name="remote")
        try:
            remote.wait_for_connection(timeout=30)
            assert remote.sensor.get().startswith("Prime BSI")
        finally:
            remote.destroy()
    finally:
        if stock is not None:
            stock.destroy()
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)
        reader.join(10)
