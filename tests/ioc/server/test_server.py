"""The caproto server (ophyd_pvcam/ioc/server/ and its record groups), over Channel Access."""
from __future__ import annotations

import os
import threading

import h5py
import numpy as np
import psutil
import pytest
from ophyd import EpicsSignal, EpicsSignalRO
from ophyd.utils.epics_pvs import AlarmSeverity

from ophyd_pvcam.ioc.server import READY_LINE, camera_prefixes, configure_network

pytestmark = pytest.mark.ioc

P = "PVT:"


_SIGNALS: dict = {}


def pv(name: str, *, string: bool = False, write: bool = False):
    """A connected signal on the session server's record ``name`` (one per name and kind)."""
    key = (name, string, write)
    if key not in _SIGNALS:
        _SIGNALS[key] = _connect(name, string=string, write=write)
    return _SIGNALS[key]


def _connect(name: str, *, string: bool, write: bool):
    if write:
        signal = EpicsSignal(P + name, name=name.replace(":", "_"), string=string)
    else:
        signal = EpicsSignalRO(P + name, name=name.replace(":", "_"), string=string)
    signal.wait_for_connection(timeout=10)
    return signal


def put_and_wait(name: str, value, *, string: bool = False, timeout: float = 30.0) -> None:
    """Put with completion and wait for the server's answer."""
    done = threading.Event()
    pv(name, string=string, write=True).put(value, use_complete=True,
                                            callback=lambda *a, **k: done.set())
    assert done.wait(timeout), f"put {name}={value!r} did not complete"


def test_readiness_line_names_the_prefix(ioc):
    assert ioc.ready_line == f"{READY_LINE} {P}"


def test_identity_and_pvcam_driver_records_report_the_camera(ioc, det):
    assert pv("cam1:Model_RBV", string=True).get() == "Prime BSI"
    assert pv("cam1:Manufacturer_RBV", string=True).get() == "Teledyne Photometrics"
    assert pv("cam1:ChipName_RBV", string=True).get() == "GS2020BSI"
    assert pv("cam1:SerialNumber_RBV", string=True).get() == "A19G204008"
    assert pv("cam1:HeadSerNum_RBV", string=True).get() == "A19G204008"
    assert (pv("cam1:MaxSizeX_RBV").get(), pv("cam1:MaxSizeY_RBV").get()) == (2048, 2048)
    assert pv("cam1:ChipWidth_RBV").get() == 2048
    assert pv("cam1:BitDepth_RBV").get() > 0
    assert pv("cam1:PixelTime_RBV").get() > 0
    assert pv("cam1:NumSpeedTableEntries_RBV").get() >= 1
    assert pv("cam1:MaxGainIndex_RBV").get() >= 1
    assert pv("cam1:DataType_RBV", string=True).get() == "UInt16"
    assert pv("cam1:DataType_RBV.DISA").get() == 0
    assert -100 < pv("cam1:MeasuredTemperature_RBV").get() < 50
    assert pv("HDF1:PluginType_RBV", string=True).get().startswith("NDFileHDF5")
    assert pv("image1:PluginType_RBV", string=True).get() == "NDPluginStdArrays"
    assert pv("HDF1:NDArrayPort_RBV", string=True).get() == pv("cam1:PortName_RBV",
                                                                  string=True).get()


def test_parameters_the_camera_lacks_have_no_record(ioc, det):
    # The simulated Prime BSI has no PARAM_PCI_FW_VERSION / PARAM_PREMASK.
    for name in ("cam1:PCIFWVers_RBV", "cam1:PreMask_RBV"):
        signal = EpicsSignalRO(P + name, name="missing")
        with pytest.raises(TimeoutError):
            signal.wait_for_connection(timeout=1.0)
        signal.destroy()


def test_refused_put_keeps_the_value_raises_an_alarm_and_explains(ioc, det):
    before = pv("cam1:AcquireTime_RBV").get()
    put_and_wait("cam1:AcquireTime", -1.0)
    assert pv("cam1:AcquireTime_RBV").get() == before
    setpoint = pv("cam1:AcquireTime", write=True)
    setpoint.get(form="time")
    assert setpoint.alarm_severity == AlarmSeverity.MAJOR
    assert "AcquireTime refused" in pv("cam1:StatusMessage_RBV", string=True).get()
    put_and_wait("cam1:AcquireTime", 0.005)
    setpoint.get(form="time")
    assert setpoint.alarm_severity == AlarmSeverity.NO_ALARM


@pytest.mark.parametrize("value", [1e300, 1e-9])
def test_stall_timeout_outside_its_range_is_refused(ioc, det, value):
    before = pv("cam1:StallTimeout_RBV").get()
    put_and_wait("cam1:StallTimeout", value)
    assert pv("cam1:StallTimeout_RBV").get() == before
    assert "StallTimeout refused" in pv("cam1:StatusMessage_RBV", string=True).get()


def test_roi_put_outside_the_sensor_is_refused_whole(ioc, det):
    put_and_wait("cam1:MinX", 2000)          # 2000 + 128 > 2048
    assert pv("cam1:MinX_RBV").get() == 0
    assert pv("cam1:ArraySizeX_RBV").get() == 128
    assert "MinX refused" in pv("cam1:StatusMessage_RBV", string=True).get()


def test_binning_divides_the_array_size(ioc, det):
    put_and_wait("cam1:BinX", 2)
    put_and_wait("cam1:BinY", 2)
    assert (pv("cam1:ArraySizeX_RBV").get(), pv("cam1:ArraySizeY_RBV").get()) == (64, 32)
    assert (pv("HDF1:ArraySize0_RBV").get(), pv("HDF1:ArraySize1_RBV").get()) == (64, 32)


def test_file_path_outside_the_write_root_is_refused(ioc, det, ioc_root, tmp_path):
    before = pv("HDF1:FilePath_RBV", string=True).get()
    put_and_wait("HDF1:FilePath", str(tmp_path), string=True)
    assert pv("HDF1:FilePath_RBV", string=True).get() == before
    assert "outside the server's write root" in pv("HDF1:WriteMessage", string=True).get()
    put_and_wait("HDF1:FilePath", str(ioc_root / ".." / ".." / "etc"), string=True)
    assert pv("HDF1:FilePath_RBV", string=True).get() == before


def test_acquire_completes_when_the_acquisition_ends(ioc, det):
    put_and_wait("cam1:ImageMode", "Multiple", string=True)
    put_and_wait("cam1:NumImages", 7)
    counter = pv("cam1:ArrayCounter_RBV").get()
    put_and_wait("cam1:Acquire", 1)
    assert pv("cam1:NumImagesCounter_RBV").get() == 7
    assert pv("cam1:ArrayCounter_RBV").get() == counter + 7
    assert pv("cam1:DetectorState_RBV", string=True).get() == "Idle"
    assert pv("cam1:Acquire_RBV").get() == 0
    assert pv("cam1:StatusMessage_RBV", string=True).get().startswith("Acquisition complete")


def test_acquire_zero_stops_a_continuous_acquisition(ioc, det, wait_until):
    put_and_wait("cam1:ImageMode", "Continuous", string=True)
    done = threading.Event()
    pv("cam1:Acquire", write=True).put(1, use_complete=True, callback=lambda *a, **k: done.set())
    assert wait_until(lambda: pv("cam1:NumImagesCounter_RBV").get() >= 3)
    assert not done.is_set()
    pv("cam1:Acquire", write=True).put(0)
    assert done.wait(30)
    assert pv("cam1:DetectorState_RBV", string=True).get() == "Idle"
    assert pv("cam1:StatusMessage_RBV", string=True).get().startswith("Acquisition stopped")


def test_settings_are_refused_while_acquiring(ioc, det, wait_until):
    put_and_wait("cam1:ImageMode", "Continuous", string=True)
    done = threading.Event()
    pv("cam1:Acquire", write=True).put(1, use_complete=True, callback=lambda *a, **k: done.set())
    try:
        assert wait_until(lambda: pv("cam1:DetectorState_RBV", string=True).get() == "Acquire")
        put_and_wait("cam1:SizeX", 64)
        assert pv("cam1:SizeX_RBV").get() == 128
        assert "acquiring" in pv("cam1:StatusMessage_RBV", string=True).get()
    finally:
        pv("cam1:Acquire", write=True).put(0)
        assert done.wait(30)


def test_stall_sets_error_state_diagnosis_and_counter_and_the_server_recovers(ioc, det):
    stalls = pv("cam1:Stalls_RBV").get()
    put_and_wait("cam1:SimFaults", "stall_after=2", string=True)
    put_and_wait("cam1:StallTimeout", 0.1)
    put_and_wait("cam1:ImageMode", "Multiple", string=True)
    put_and_wait("cam1:NumImages", 10)
    put_and_wait("cam1:Acquire", 1)
    assert pv("cam1:DetectorState_RBV", string=True).get() == "Error"
    assert pv("cam1:StatusMessage_RBV", string=True).get().startswith("STALL:")
    assert "last_frame_number: 2" in pv("cam1:LastError_RBV", string=True).get()
    assert pv("cam1:Stalls_RBV").get() == stalls + 1
    put_and_wait("cam1:SimFaults", "", string=True)
    put_and_wait("cam1:Acquire", 1)
    assert pv("cam1:DetectorState_RBV", string=True).get() == "Idle"
    assert pv("cam1:NumImagesCounter_RBV").get() == 10


def test_on_loss_fail_ends_the_acquisition_at_the_first_lost_frame_in_error(ioc, det):
    assert pv("cam1:OnLoss_RBV", string=True).get() == "record"
    assert pv("cam1:OnPredictedLoss_RBV", string=True).get() == "warn"
    put_and_wait("cam1:OnLoss", "fail", string=True)
    assert pv("cam1:OnLoss_RBV", string=True).get() == "fail"
    put_and_wait("cam1:SimFaults", "drop_every=5", string=True)
    put_and_wait("cam1:ImageMode", "Multiple", string=True)
    put_and_wait("cam1:NumImages", 200)
    try:
        put_and_wait("cam1:Acquire", 1)
        message = pv("cam1:StatusMessage_RBV", string=True).get()
    finally:
        put_and_wait("cam1:SimFaults", "", string=True)
    assert pv("cam1:DetectorState_RBV", string=True).get() == "Error"
    assert message.startswith("LOST: pvcamUSB_0: ") and "(the first was FrameNr 5)" in message
    assert "first_lost_frame: 5" in pv("cam1:LastError_RBV", string=True).get()
    assert pv("cam1:NumImagesCounter_RBV").get() < 200
    put_and_wait("cam1:OnLoss", "record", string=True)
    put_and_wait("cam1:Acquire", 1)
    assert pv("cam1:DetectorState_RBV", string=True).get() == "Idle"


def test_camera_removal_is_reported_and_the_next_acquire_reopens_it(ioc, det):
    removals = pv("cam1:Removals_RBV").get()
    put_and_wait("cam1:SimFaults", "unplug_after=1", string=True)
    put_and_wait("cam1:ImageMode", "Multiple", string=True)
    put_and_wait("cam1:NumImages", 5)
    put_and_wait("cam1:Acquire", 1)
    assert pv("cam1:DetectorState_RBV", string=True).get() == "Error"
    assert pv("cam1:StatusMessage_RBV", string=True).get().startswith("REMOVED:")
    assert pv("cam1:Removals_RBV").get() == removals + 1
    assert pv("cam1:Connected_RBV", string=True).get() == "No"
    put_and_wait("cam1:SimFaults", "", string=True)
    put_and_wait("cam1:Acquire", 1)
    assert pv("cam1:DetectorState_RBV", string=True).get() == "Idle"
    assert pv("cam1:Connected_RBV", string=True).get() == "Yes"
    assert pv("cam1:NumImagesCounter_RBV").get() == 5
    # Settings made before the removal were re-applied to the reopened camera.
    assert pv("cam1:ArraySizeX_RBV").get() == 128


def test_capture_writes_acquired_frames_to_the_named_file(ioc, det, ioc_root):
    folder = ioc_root / "capture"
    folder.mkdir(exist_ok=True)
    put_and_wait("HDF1:FilePath", str(folder), string=True)
    put_and_wait("HDF1:FileName", "frames", string=True)
    put_and_wait("HDF1:FileTemplate", "%s%s_%3.3d.h5", string=True)
    put_and_wait("HDF1:FileNumber", 7)
    put_and_wait("HDF1:AutoIncrement", "Yes", string=True)
    put_and_wait("HDF1:FileWriteMode", "Stream", string=True)
    put_and_wait("HDF1:Capture", 1)
    expected = f"{folder}/frames_007.h5"
    assert pv("HDF1:FullFileName_RBV", string=True).get() == expected
    assert pv("HDF1:FileNumber_RBV").get() == 8
    put_and_wait("cam1:ImageMode", "Multiple", string=True)
    put_and_wait("cam1:NumImages", 4)
    put_and_wait("cam1:Acquire", 1)
    assert pv("HDF1:NumWritten_RBV").get() == 4
    put_and_wait("HDF1:Capture", 0)
    assert pv("HDF1:Capture_RBV").get() == 0
    with h5py.File(expected, "r") as handle:
        data = handle["/entry/data/data"]
        assert data.shape == (4, 64, 128)
        assert list(data[:, 0, 0]) == [1, 2, 3, 4]   # FrameNr stamped by the simulator


def test_num_capture_ends_the_capture_by_itself(ioc, det, ioc_root, wait_until):
    put_and_wait("HDF1:FilePath", str(ioc_root), string=True)
    put_and_wait("HDF1:FileName", "limited", string=True)
    put_and_wait("HDF1:NumCapture", 3)
    put_and_wait("HDF1:Capture", 1)
    name = pv("HDF1:FullFileName_RBV", string=True).get()
    put_and_wait("cam1:ImageMode", "Multiple", string=True)
    put_and_wait("cam1:NumImages", 6)
    put_and_wait("cam1:Acquire", 1)
    put_and_wait("HDF1:NumCapture", 0)
    assert wait_until(lambda: pv("HDF1:Capture_RBV").get() == 0)
    with h5py.File(name, "r") as handle:
        assert handle["/entry/data/data"].shape[0] == 3


def test_an_existing_file_is_never_overwritten(ioc, det, ioc_root):
    put_and_wait("HDF1:FilePath", str(ioc_root), string=True)
    put_and_wait("HDF1:FileName", "once", string=True)
    put_and_wait("HDF1:FileTemplate", "%s%s.h5", string=True)
    (ioc_root / "once.h5").write_bytes(b"precious")
    put_and_wait("HDF1:Capture", 1)
    assert pv("HDF1:Capture_RBV").get() == 0
    assert "never overwritten" in pv("HDF1:WriteMessage", string=True).get()
    assert (ioc_root / "once.h5").read_bytes() == b"precious"


def test_a_name_too_long_for_the_file_system_is_refused_with_a_message(ioc, det, ioc_root):
    put_and_wait("HDF1:FilePath", str(ioc_root), string=True)
    put_and_wait("HDF1:FileTemplate", "%s%s_%6.6d.h5", string=True)
    put_and_wait("HDF1:FileName", "n" * 300, string=True)
    assert pv("HDF1:FileName_RBV", string=True).get() != "n" * 300
    assert "too long" in pv("HDF1:WriteMessage", string=True).get()
    put_and_wait("HDF1:FileName", "n" * 250, string=True)   # fits; the formatted name does not
    put_and_wait("HDF1:Capture", 1)                          # answered: refused
    assert pv("HDF1:Capture_RBV").get() == 0
    assert "too long" in pv("HDF1:WriteMessage", string=True).get()
    setpoint = pv("HDF1:Capture", write=True)
    setpoint.get(form="time")
    assert setpoint.alarm_severity == AlarmSeverity.MAJOR
    put_and_wait("HDF1:FileName", "pvcam", string=True)


def test_a_template_asking_for_a_huge_width_is_refused_at_once(ioc, det):
    before = pv("HDF1:FileTemplate_RBV", string=True).get()
    put_and_wait("HDF1:FileTemplate", "%s%s%2147483647d", string=True)
    assert pv("HDF1:FileTemplate_RBV", string=True).get() == before
    assert "over the limit" in pv("HDF1:WriteMessage", string=True).get()
    assert psutil.Process(ioc.pid).memory_info().rss < 1 << 30


def test_a_missing_directory_is_created_only_when_allowed(ioc, det, ioc_root):
    put_and_wait("HDF1:CreateDirectory", 0)
    missing = ioc_root / "missing" / "deeper"
    put_and_wait("HDF1:FilePath", str(missing), string=True)
    assert pv("HDF1:FilePathExists_RBV", string=True).get() == "No"
    put_and_wait("HDF1:FileName", "nowhere", string=True)
    put_and_wait("HDF1:Capture", 1)             # accepted, as areaDetector does
    put_and_wait("cam1:ImageMode", "Single", string=True)
    put_and_wait("cam1:Acquire", 1)
    assert pv("HDF1:WriteStatus", string=True).get() == "Write error"
    assert "does not exist" in pv("HDF1:WriteMessage", string=True).get()
    assert not missing.exists()
    put_and_wait("HDF1:CreateDirectory", -3)
    put_and_wait("HDF1:FilePath", str(missing), string=True)
    assert missing.is_dir()
    assert pv("HDF1:FilePathExists_RBV", string=True).get() == "Yes"


def test_preview_is_decimated_and_slower_than_the_camera(ioc, det, wait_until):
    det.roi.set(None).wait(30)                 # the whole 2048 x 2048 sensor
    put_and_wait("cam1:ImageMode", "Continuous", string=True)
    previews = pv("image1:ArrayCounter_RBV")
    frames_before, previews_before = pv("cam1:ArrayCounter_RBV").get(), previews.get()
    done = threading.Event()
    pv("cam1:Acquire", write=True).put(1, use_complete=True, callback=lambda *a, **k: done.set())
    try:
        assert wait_until(lambda: previews.get() >= previews_before + 2)
        assert wait_until(lambda: pv("cam1:ArrayCounter_RBV").get() >= frames_before + 20)
    finally:
        pv("cam1:Acquire", write=True).put(0)
        assert done.wait(30)
    frames = pv("cam1:ArrayCounter_RBV").get() - frames_before
    shown = previews.get() - previews_before
    assert 0 < shown < frames / 2
    assert (pv("image1:ArraySize0_RBV").get(), pv("image1:ArraySize1_RBV").get()) == (256, 256)
    assert pv("image1:Decimation_RBV").get() == 8
    image = np.asarray(pv("image1:ArrayData").get(), dtype=np.int16).view(np.uint16)
    assert image.size == 256 * 256
    assert 0 < image[1:].mean() < 65535


def test_the_server_listens_only_on_loopback(ioc):
    addresses = {conn.laddr.ip for conn in psutil.Process(ioc.pid).net_connections(kind="inet")}
    assert addresses == {"127.0.0.1"}


def test_beacons_default_to_the_served_interfaces(monkeypatch):
    for name in ("EPICS_CAS_BEACON_ADDR_LIST", "EPICS_CAS_AUTO_BEACON_ADDR_LIST",
                 "EPICS_CAS_INTF_ADDR_LIST"):
        monkeypatch.delenv(name, raising=False)
    changed = configure_network(["127.0.0.1"])
    assert changed == {"EPICS_CAS_BEACON_ADDR_LIST": "127.0.0.1",
                       "EPICS_CAS_AUTO_BEACON_ADDR_LIST": "NO",
                       "EPICS_CAS_INTF_ADDR_LIST": "127.0.0.1"}
    assert os.environ["EPICS_CAS_AUTO_BEACON_ADDR_LIST"] == "NO"


def test_beacon_settings_of_the_user_are_kept(monkeypatch):
    monkeypatch.setenv("EPICS_CAS_BEACON_ADDR_LIST", "10.0.0.255")
    monkeypatch.setenv("EPICS_CAS_INTF_ADDR_LIST", "127.0.0.1")
    assert configure_network(["127.0.0.1"]) == {}
    assert os.environ["EPICS_CAS_BEACON_ADDR_LIST"] == "10.0.0.255"


def test_camera_prefixes_number_several_cameras():
    assert camera_prefixes("X:", ["a"]) == [("a", "X:")]
    assert camera_prefixes("X:", ["a", "b"]) == [("a", "X:1:"), ("b", "X:2:")]
    assert camera_prefixes("X{i}:", ["a", "b"]) == [("a", "X1:"), ("b", "X2:")]
    assert camera_prefixes("X:", ["a=A:", "b"]) == [("a", "A:"), ("b", "X:2:")]
    with pytest.raises(ValueError):
        camera_prefixes("X:", ["a=S:", "b=S:"])


def test_terminate_closes_the_camera_and_exits_cleanly(start_ioc):
    server = start_ioc("TERM:")
    assert server.stop() == 0
    assert "closed pvcamUSB_0" in server.output()
