"""The server against ophyd's stock areaDetector classes, and several cameras and servers."""
from __future__ import annotations

import h5py
import numpy as np
import pytest
from bluesky import RunEngine
from bluesky import plans as bp
from ophyd import Component as Cpt
from ophyd.areadetector import DetectorBase, SingleTrigger
from ophyd.areadetector.cam import PvcamDetectorCam
from ophyd.areadetector.filestore_mixins import FileStoreHDF5IterativeWrite
from ophyd.areadetector.plugins import HDF5Plugin, ImagePlugin

from ophyd_pvcam.ioc.client import RemotePVCAMDetector

pytestmark = pytest.mark.ioc


class StockHDF5(HDF5Plugin, FileStoreHDF5IterativeWrite):
    """ophyd's HDF5 plugin with its stock file-store mixin, unchanged."""


def stock_detector(prefix: str, write_path: str) -> DetectorBase:
    class StockPvcam(SingleTrigger, DetectorBase):
        cam = Cpt(PvcamDetectorCam, "cam1:")
        hdf1 = Cpt(StockHDF5, "HDF1:", write_path_template=write_path)
        image1 = Cpt(ImagePlugin, "image1:")

    detector = StockPvcam(prefix, name="stock")
    detector.wait_for_connection(timeout=30)
    detector.hdf1.kind = "normal"      # ophyd leaves file plugins out of read() by default
    return detector


def test_stock_single_trigger_detector_counts_and_databroker_reads_the_frames(ioc, det,
                                                                             ioc_root):
    import databroker

    det.exposure_time.set(0.05).wait(10)   # see the report: SingleTrigger races fast detectors
    (ioc_root / "stock").mkdir(exist_ok=True)
    stock = stock_detector("PVT:", str(ioc_root / "stock") + "/")
    try:
        assert stock.cam.chip_name.get() == "GS2020BSI"
        assert stock.cam.max_gain_index.get() >= 1
        stock.cam.num_images.set(1).wait(10)     # frames per trigger (stock leaves it alone)
        db = databroker.temp()
        RE = RunEngine({})
        RE.subscribe(db.insert)
        uid, = RE(bp.count([stock], 3))
        header = db[uid]
        resource = next(doc for name, doc in header.documents() if name == "resource")
        assert resource["spec"] == "AD_HDF5"
        frames = [np.asarray(frame) for frame in header.data("stock_image")]
        assert [f.shape for f in frames] == [(1, 64, 128)] * 3
        assert frames[0].dtype == np.uint16
        assert [int(f[0, 0, 0]) for f in frames] == [1, 1, 1]   # FrameNr of a 1-frame acquisition
    finally:
        stock.destroy()


def test_stock_image_plugin_shows_the_preview(ioc, det, wait_until):
    stock = stock_detector("PVT:", "/tmp/")
    try:
        det.stage()
        try:
            det.trigger().wait(30)
        finally:
            det.unstage()
        assert wait_until(lambda: stock.image1.array_counter.get() > 0)
        assert stock.image1.plugin_type.get() == "NDPluginStdArrays"
        assert stock.image1.array_size.get()[1:] == (64, 128)
    finally:
        stock.destroy()


def _remote(prefix: str, name: str) -> RemotePVCAMDetector:
    detector = RemotePVCAMDetector(prefix, name=name)
    detector.wait_for_connection(timeout=30)
    detector.roi.set((0, 0, 96, 48)).wait(20)
    detector.exposure_time.set(0.005).wait(10)
    return detector


def test_one_process_serves_two_cameras(start_ioc):
    server = start_ioc("TWO{i}:", cameras="prime-bsi,kinetix")
    assert server.ready_line == "IOC READY TWO1: TWO2:"
    first, second = _remote("TWO1:", "first"), _remote("TWO2:", "second")
    try:
        assert first.sensor.get().startswith("Prime BSI")
        assert second.sensor.get().startswith("Kinetix")
        RE = RunEngine({})
        RE(bp.count([first, second], 3))
        for detector in (first, second):
            with h5py.File(detector.file_path, "r") as handle:
                assert handle["/entry/data/data"].shape == (3, 48, 96)
        assert first.file_path != second.file_path
    finally:
        first.destroy()
        second.destroy()


def test_two_server_processes_serve_one_run(ioc, det, start_ioc):
    start_ioc("PB:")
    other = _remote("PB:", "other")
    try:
        RE = RunEngine({})
        RE(bp.count([det, other], 2))
        for detector, shape in ((det, (2, 64, 128)), (other, (2, 48, 96))):
            with h5py.File(detector.file_path, "r") as handle:
                assert handle["/entry/data/data"].shape == shape
    finally:
        other.destroy()
