"""The ``cam1:`` records: ADBase, the PVCAM driver's records, and ours.

Names follow areaDetector (``ADBase.template``) and the records
:class:`ophyd.areadetector.cam.PvcamDetectorCam` encodes, so ophyd's stock
classes, CSS screens and :mod:`ophyd_pvcam.ioc.client` all work against them.
Settings come as ``X`` / ``X_RBV`` pairs; each ``X`` put is validated by the
engine and either applied whole or refused (see :mod:`~ophyd_pvcam.ioc.server.records`).

``Acquire`` is a busy record: its put completes when the acquisition ends.
Its end is published in this order -- counters, ``DetectorState_RBV`` (Idle,
or Error after a stall, a removal or a failure) and ``StatusMessage_RBV``,
then ``Acquire_RBV`` = Done -- so a client that sees ``Acquire`` go to 0 reads
final values.

``BinX``/``BinY``: on a camera that lists only paired binnings (1x1, 2x2,
...), a put of one factor sets both (its read-backs show it); otherwise they
are independent. ``MinX``/``SizeX``/... are in unbinned pixels, and a region
that leaves the sensor or does not divide by the binning is refused.

ophyd-async (``ADBaseIO``, ``KinetixDriverIO``): ``UniqueId_RBV``,
``ArraySize0/1/2_RBV``, ``NDAttributesFile``, ``ADCoreVersion_RBV`` and
``WaitForPlugins`` (see :mod:`~ophyd_pvcam.ioc.server.adcore_records`); ``TriggerMode`` has ADKinetix's
menu (``Internal``, ``Rising Edge``, ``Exp. Gate`` -> the camera's ``internal``,
``edge_rising``, ``level`` exposure modes; ``TriggerMode_RBV`` shows ``Other``
for any other mode) and ``ReadoutPortIdx`` selects the camera's N-th readout
port (ADKinetix's ``1``..``4``). ``ExposureMode`` offers every exposure mode of
the camera.

Our additions (not in ADPvCam): ``ExposureMode``, ``ReadoutPort``, ``ClearMode``, ``FanSpeed``,
``ExposeOutMode``, ``BufferMode``, ``StallTimeout``, ``StallCount``, ``MaxRecoveries``, the
loss policies ``OnLoss`` (record, fail) and ``OnPredictedLoss`` (warn, refuse) of the
in-process detector (each with ``_RBV``; see :mod:`~ophyd_pvcam.ioc.server.core.driver`),
``SimFaults`` (simulated camera only), and the read-backs
``LostFrames_RBV``, ``Stalls_RBV``, ``Removals_RBV``, ``Recoveries_RBV``,
``Failures_RBV``, ``FramePeriod_RBV``, ``ReadoutTime_RBV``, ``SpeedName_RBV``,
``GainName_RBV``, ``CameraName_RBV``, ``Connected_RBV`` and ``LastError_RBV``
(the full diagnosis of the last failure).
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Optional

from caproto import AlarmSeverity, AlarmStatus, ChannelType
from caproto.server import pvproperty

import ophyd_pvcam
from ophyd_pvcam.sdk.errors import PVCAMError

from .adcore_records import NDArrayBaseRecords, WaitForPluginsRecord
from .cam_tables import (
    ADKINETIX_TRIGGER_MODES,
    CAM_SETTINGS,
    DRIVER_KEYS,
    DYNAMIC_PARAMETERS,
    OTHER_TRIGGER_MODE,
    PARAMETER_RECORDS,
    READOUT_PORT_INDICES,
    TEMPERATURE_RECORDS,
    SettingSpec,
    dtype_label,
    format_parameter,
    parameter_records,
    setting_records,
)
from .core.driver import AcquisitionResult, CameraDriver
from .records import (
    COLOR_MODES,
    DATA_TYPES,
    DETECTOR_STATES,
    DISABLE_ENABLE,
    MESSAGE_LENGTH,
    accept,
    enum_value,
    fit,
    long_string,
    readback,
    refuse,
    update,
)

__all__ = ["CamGroup", "CAM_SETTINGS", "dtype_label"]

logger = logging.getLogger(__name__)

ACQUIRE_MENU = ("Done", "Acquire")
# How often the status loop publishes counters while acquiring / idle [s].
_ACTIVE_PERIOD = 0.1
_IDLE_PERIOD = 1.0
_TEMPERATURE_PERIOD = 2.0


class _CamRecords(NDArrayBaseRecords, WaitForPluginsRecord):
    """Records with their own logic (the table-driven settings are added below)."""

    acquire = pvproperty(name="Acquire", value="Done", dtype=ChannelType.ENUM,
                         enum_strings=ACQUIRE_MENU, record="bo",
                         doc="Busy record: the put completes when the acquisition ends")
    acquire_rbv = readback("Acquire_RBV", "Done", enum_strings=ACQUIRE_MENU, record="bi")
    detector_state = readback("DetectorState_RBV", "Idle", enum_strings=DETECTOR_STATES,
                              record="mbbi")
    status_message = long_string("StatusMessage_RBV", "Idle", max_length=MESSAGE_LENGTH)
    last_error = long_string("LastError_RBV", "", max_length=4096)
    num_images_counter = readback("NumImagesCounter_RBV", 0)
    num_exposures_counter = readback("NumExposuresCounter_RBV", 0)
    array_rate = readback("ArrayRate_RBV", 0.0, units="Hz", precision=2)
    time_remaining = readback("TimeRemaining_RBV", 0.0, units="s", precision=2)
    lost_frames = readback("LostFrames_RBV", 0)
    stalls = readback("Stalls_RBV", 0)
    removals = readback("Removals_RBV", 0)
    recoveries = readback("Recoveries_RBV", 0)
    failures = readback("Failures_RBV", 0)
    connected = readback("Connected_RBV", "Yes", enum_strings=("No", "Yes"), record="bi")
    initialize = pvproperty(name="Initialize", value=0, doc="1: close, re-initialise, reopen")
    initialize_rbv = readback("Initialize_RBV", 0)

    data_type = pvproperty(name="DataType", value="UInt16", dtype=ChannelType.ENUM,
                           enum_strings=DATA_TYPES, record="mbbo")
    data_type_rbv = readback("DataType_RBV", "UInt16", enum_strings=DATA_TYPES, record="mbbi")
    color_mode = pvproperty(name="ColorMode", value="Mono", dtype=ChannelType.ENUM,
                            enum_strings=COLOR_MODES)
    color_mode_rbv = readback("ColorMode_RBV", "Mono", enum_strings=COLOR_MODES)
    array_size_x = readback("ArraySizeX_RBV", 0)
    array_size_y = readback("ArraySizeY_RBV", 0)
    array_size_z = readback("ArraySizeZ_RBV", 0)
    array_size = readback("ArraySize_RBV", 0)
    max_size_x = readback("MaxSizeX_RBV", 0)
    max_size_y = readback("MaxSizeY_RBV", 0)
    frame_period = readback("FramePeriod_RBV", 0.0, units="s", precision=6)
    readout_time = readback("ReadoutTime_RBV", 0.0, units="s", precision=6)

    manufacturer = readback("Manufacturer_RBV", "Teledyne Photometrics", dtype=str)
    model = readback("Model_RBV", "", dtype=str)
    serial_number = readback("SerialNumber_RBV", "", dtype=str)
    firmware_version = readback("FirmwareVersion_RBV", "", dtype=str)
    sdk_version = readback("SDKVersion_RBV", "", dtype=str)
    driver_version = readback("DriverVersion_RBV", f"ophyd-pvcam {ophyd_pvcam.__version__}",
                              dtype=str)
    pvcam_version = readback("PVCamVers_RBV", "", dtype=str)
    port_name = readback("PortName_RBV", "PVCAM1", dtype=str)
    camera_name = readback("CameraName_RBV", "", dtype=str)
    num_ports = readback("NumPorts_RBV", 0)
    num_speeds = readback("NumSpeedTableEntries_RBV", 0)
    # NDArrayBase / ADKinetix records that ophyd-async's ADBaseIO and
    # KinetixDriverIO declare (see .adcore_records for NDAttributesFile & co).
    unique_id = readback("UniqueId_RBV", 0, doc="number of the newest frame (ArrayCounter)")
    array_size0 = readback("ArraySize0_RBV", 0)
    array_size1 = readback("ArraySize1_RBV", 0)
    array_size2 = readback("ArraySize2_RBV", 0)
    trigger_mode = pvproperty(name="TriggerMode", value="Internal", dtype=ChannelType.ENUM,
                              enum_strings=tuple(ADKINETIX_TRIGGER_MODES), record="mbbo",
                              doc="ADKinetix's menu; ExposureMode has every camera mode")
    trigger_mode_rbv = readback("TriggerMode_RBV", "Internal", record="mbbi",
                                enum_strings=(*ADKINETIX_TRIGGER_MODES, OTHER_TRIGGER_MODE))
    readout_port_idx = pvproperty(name="ReadoutPortIdx", value="1", dtype=ChannelType.ENUM,
                                  enum_strings=READOUT_PORT_INDICES, record="mbbo",
                                  doc="ADKinetix's menu: 'N' is the camera's N-th readout port")
    readout_port_idx_rbv = readback("ReadoutPortIdx_RBV", "1", enum_strings=READOUT_PORT_INDICES,
                                    record="mbbi")

    # ---------------------------------------------------------------- puts
    @acquire.putter
    async def acquire(self, instance: Any, value: Any) -> str:
        """Busy record: start an acquisition and complete when it ends; 0 stops it."""
        value = enum_value(instance, value)
        if value in ("Done", 0):
            if self._acquisition is not None:
                await self.call(self.driver.stop)
            return "Done"
        if self._acquisition is not None:
            # areaDetector: Acquire=1 while busy completes with the running acquisition.
            await asyncio.shield(self._acquisition)
            return "Done"
        loop = asyncio.get_running_loop()
        await instance.write("Acquire", verify_value=False)
        await update(self.num_images_counter, 0)
        await update(self.status_message, "Acquiring")
        await update(self.detector_state, "Acquire")
        await update(self.acquire_rbv, "Acquire")
        self._started = time.monotonic()
        self._acquisition = loop.run_in_executor(self.ioc.acquisition_executor,
                                                 self.driver.acquire)
        try:
            result = await asyncio.shield(self._acquisition)
        finally:
            self._acquisition = None
        await self.publish_result(result)
        await update(self.acquire_rbv, "Done")
        return "Done"

    @initialize.putter
    async def initialize(self, instance: Any, value: Any) -> int:
        """1: close the camera, re-initialise the SDK if no other camera holds it, reopen."""
        if int(value) != 1:
            return 0
        if self._acquisition is not None:
            await refuse(instance, self.status_message, "Initialize refused: acquiring")
        await update(self.detector_state, "Initializing")
        await update(self.initialize_rbv, 1)
        try:
            await self.call(self.driver.reinitialize)
        except PVCAMError as exc:
            await update(self.detector_state, "Error")
            await update(self.status_message, f"Initialize failed: {exc}")
        else:
            await update(self.detector_state, "Idle")
            await update(self.status_message, "Initialized")
            await self.refresh()
        await update(self.initialize_rbv, 0)
        return 0

    @data_type.putter
    async def data_type(self, instance: Any, value: Any) -> str:
        """Accept only the pixel type the camera delivers (it follows port and speed)."""
        value = enum_value(instance, value)
        if value != self.data_type_rbv.value:
            await refuse(instance, self.status_message,
                         f"DataType refused: the pixel type follows the readout port and "
                         f"speed (now {self.data_type_rbv.value})")
        await accept(instance)
        return value

    @color_mode.putter
    async def color_mode(self, instance: Any, value: Any) -> str:
        """Accept only Mono."""
        value = enum_value(instance, value)
        if value != "Mono":
            await refuse(instance, self.status_message,
                         "ColorMode refused: PVCAM cameras served here are monochrome")
        await accept(instance)
        return value

    @trigger_mode.putter
    async def trigger_mode(self, instance: Any, value: Any) -> str:
        """ADKinetix's trigger modes onto the camera's exposure modes (refused if it lacks one)."""
        value = enum_value(instance, value)
        mode = ADKINETIX_TRIGGER_MODES.get(value)
        if mode is None:
            await refuse(instance, self.status_message, f"TriggerMode refused: {value!r} is "
                         f"not one of {', '.join(ADKINETIX_TRIGGER_MODES)}")
        try:
            await self.call(self.driver.apply, "trigger_mode", mode)
        except PVCAMError as exc:
            await refuse(instance, self.status_message, f"TriggerMode refused: {exc}")
        await accept(instance)
        await update(self.status_message, f"TriggerMode = {value}")
        await self.refresh()
        return value

    @readout_port_idx.putter
    async def readout_port_idx(self, instance: Any, value: Any) -> str:
        """Select the camera's N-th readout port (refused when it has fewer)."""
        value = enum_value(instance, value)
        ports = await self.call(self._readout_ports)
        index = READOUT_PORT_INDICES.index(value) if value in READOUT_PORT_INDICES else -1
        if not 0 <= index < max(len(ports), 1):
            await refuse(instance, self.status_message,
                         f"ReadoutPortIdx refused: {self.driver.name} has "
                         f"{max(len(ports), 1)} readout port(s) ({', '.join(ports) or 'one'})")
        if ports:
            try:
                await self.call(self.driver.apply, "readout_port", ports[index])
            except PVCAMError as exc:
                await refuse(instance, self.status_message, f"ReadoutPortIdx refused: {exc}")
        await accept(instance)
        await update(self.status_message, f"ReadoutPortIdx = {value}")
        await self.refresh()
        return value

    def message_record(self) -> Any:
        """``StatusMessage_RBV``: where refusals are explained."""
        return self.status_message

    def _readout_ports(self) -> list[str]:
        driver: CameraDriver = self.driver
        return list(driver.menu("readout_port")) if driver.has_setting("readout_port") else []

    def derived_values(self, values: dict[str, Any]) -> dict[str, Any]:
        """ADKinetix's ``TriggerMode_RBV`` / ``ReadoutPortIdx_RBV`` from our read-backs.

        Parameters
        ----------
        values : dict
            Read-backs just read (``ExposureMode_RBV``, ``ReadoutPort_RBV``).

        Returns
        -------
        dict
            The derived read-backs present in ``values``' sources.
        """
        derived: dict[str, Any] = {}
        mode = values.get("ExposureMode_RBV")
        if isinstance(mode, str) and mode:
            engine = mode.strip().lower().replace(" ", "_")
            names = {name: label for label, name in ADKINETIX_TRIGGER_MODES.items()}
            derived["TriggerMode_RBV"] = names.get(engine, OTHER_TRIGGER_MODE)
        port = values.get("ReadoutPort_RBV")
        if isinstance(port, str):
            ports = self._readout_ports()
            if port in ports and ports.index(port) < len(READOUT_PORT_INDICES):
                derived["ReadoutPortIdx_RBV"] = READOUT_PORT_INDICES[ports.index(port)]
        return derived

    @detector_state.startup
    async def detector_state(self, instance: Any, async_lib: Any) -> None:
        """Start-up hook: run the status loop for the life of the server."""
        await self.status_loop()

    # ------------------------------------------------------------ behaviour
    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._acquisition: Optional[asyncio.Future] = None
        self._started = 0.0

    def record(self, name: str) -> Any:
        """The record called ``name`` (without prefix) in this group."""
        return self.pvdb[self.prefix + name]

    async def put_setting(self, instance: Any, spec: SettingSpec, value: Any) -> Any:
        """Validate and apply one setting; refuse it whole on any engine error.

        Parameters
        ----------
        instance : caproto ChannelData
            The ``X`` record.
        spec : SettingSpec
        value : object

        Returns
        -------
        object
            The applied value (what ``X`` then holds).
        """
        value = enum_value(instance, value)
        driver_value = value
        if spec.index:
            driver_value = instance.enum_strings.index(value) if isinstance(value, str) else value
        elif spec.menu is not None and isinstance(value, str) and \
                value not in instance.enum_strings:
            await refuse(instance, self.status_message,
                         f"{spec.pv} refused: {value!r} is not one of "
                         f"{', '.join(instance.enum_strings)}")
        try:
            applied = await self.call(self.driver.apply, spec.key, driver_value)
        except PVCAMError as exc:
            await refuse(instance, self.status_message, f"{spec.pv} refused: {exc}")
        await accept(instance)
        stored = self._record_value(spec, instance, applied)
        await update(self.status_message, f"{spec.pv} = {stored}")
        await self.refresh()
        return stored

    def _record_value(self, spec: SettingSpec, instance: Any, applied: Any) -> Any:
        if spec.index:
            return instance.enum_strings[int(bool(applied))]
        if isinstance(applied, float):
            return float(applied)
        return applied

    # ------------------------------------------------------------ start-up
    def initial_values(self) -> dict[str, Any]:
        """Read the camera's identity, limits and menus (driver thread).

        Returns
        -------
        dict
            ``{"values": {record: value}, "menus": {record: [labels]},
            "missing": [records the camera cannot answer]}``.
        """
        driver: CameraDriver = self.driver
        camera = driver.camera
        values: dict[str, Any] = {}
        missing: list[str] = []
        info = camera.info
        values.update({
            "Manufacturer_RBV": info.vendor or "Teledyne Photometrics",
            "Model_RBV": info.product, "SerialNumber_RBV": info.serial,
            "FirmwareVersion_RBV": info.firmware, "CameraName_RBV": driver.name,
            "SDKVersion_RBV": driver.library.pvcam_get_ver(),
            "PVCamVers_RBV": driver.library.pvcam_get_ver(),
            "MaxSizeX_RBV": camera.sensor_size[0], "MaxSizeY_RBV": camera.sensor_size[1],
        })
        for name, (parameter, attribute, how) in PARAMETER_RECORDS.items():
            value = driver.parameter(parameter, attribute)
            if value is None:
                missing.append(name)
            else:
                values[name] = format_parameter(value, how)
        ports = driver.parameter("readout_port", "items")
        values["NumPorts_RBV"] = len(ports) if ports else 1
        menus: dict[str, list[str]] = {}
        for spec in CAM_SETTINGS:
            if not driver.has_setting(spec.key):
                missing += [spec.pv, spec.pv + "_RBV"]
                continue
            if spec.menu == ():
                menus[spec.pv] = menus[spec.pv + "_RBV"] = driver.menu(spec.key)
            values[spec.pv] = values[spec.pv + "_RBV"] = self._initial(spec, driver)
        values.update(self.dynamic_values())
        for name, value in self.derived_values(values).items():
            values[name] = value
            if value != OTHER_TRIGGER_MODE:
                values[name[:-len("_RBV")]] = value
        if "ReadoutPortIdx_RBV" not in values:
            values["ReadoutPortIdx"] = values["ReadoutPortIdx_RBV"] = READOUT_PORT_INDICES[0]
        return {"values": values, "menus": menus, "missing": missing}

    @staticmethod
    def _initial(spec: SettingSpec, driver: CameraDriver) -> Any:
        value = driver.read(spec.key)
        if spec.index:
            return (spec.menu or DISABLE_ENABLE)[int(bool(value))]
        return value

    def dynamic_values(self) -> dict[str, Any]:
        """Read-backs that change with other settings (driver thread).

        Returns
        -------
        dict
            ``{record: value}``; camera values only while the camera is open
            and idle (parameters should not be read during an acquisition).
        """
        driver: CameraDriver = self.driver
        values: dict[str, Any] = {}
        for spec in CAM_SETTINGS:
            if spec.key in DRIVER_KEYS and driver.has_setting(spec.key):
                values[spec.pv + "_RBV"] = self._initial(spec, driver)
        if not driver.connected or driver.acquiring:
            return values
        for spec in CAM_SETTINGS:
            if spec.pv + "_RBV" not in values and driver.has_setting(spec.key) and \
                    spec.key != "array_counter":
                values[spec.pv + "_RBV"] = self._initial(spec, driver)
        settings = driver.camera.acquisition_settings()
        height, width = settings.frame_shape
        values.update({
            "ArraySizeX_RBV": width, "ArraySizeY_RBV": height,
            "ArraySize0_RBV": width, "ArraySize1_RBV": height, "ArraySize2_RBV": 0,
            "ArraySize_RBV": settings.frame_bytes, "DataType_RBV": dtype_label(settings.dtype),
            "FramePeriod_RBV": settings.frame_period_s,
            "ReadoutTime_RBV": settings.readout_time_s,
        })
        speeds = driver.parameter("spdtab_index", "max")
        values["NumSpeedTableEntries_RBV"] = int(speeds) + 1 if speeds is not None else 1
        for name in DYNAMIC_PARAMETERS:
            parameter, attribute, how = PARAMETER_RECORDS[name]
            value = driver.parameter(parameter, attribute)
            if value is not None:
                values[name] = format_parameter(value, how)
        values.update(self.derived_values(values))
        return values

    async def apply_values(self, values: dict[str, Any]) -> None:
        """Write ``{record: value}`` to the records that exist (changed ones only)."""
        for name, value in values.items():
            record = self.pvdb.get(self.prefix + name)
            if record is not None:
                await update(record, value)

    async def refresh(self) -> None:
        """Re-read every dynamic read-back from the driver and publish changes."""
        try:
            values = await self.call(self.dynamic_values)
        except PVCAMError as exc:
            logger.warning("%s: refreshing read-backs failed: %s", self.driver.name, exc)
            return
        await self.apply_values(values)
        await self.ioc.refresh_plugins()

    # ------------------------------------------------------------ status
    async def publish_status(self) -> None:
        """Publish the driver's counters (cheap; no SDK call)."""
        status = self.driver.status()
        await update(self.array_counter_rbv, status.array_counter)
        await update(self.unique_id, status.array_counter)
        await update(self.num_images_counter, status.images)
        await update(self.num_exposures_counter, status.images)
        await update(self.lost_frames, status.lost_frames)
        await update(self.stalls, status.stalls)
        await update(self.removals, status.removals)
        await update(self.recoveries, status.recoveries)
        await update(self.failures, status.failures)
        await update(self.connected, "Yes" if status.connected else "No")
        if status.acquiring:
            target = self.driver.max_frames()
            period = self.frame_period.value or 0.0
            remaining = max(0, target - status.images) * period if target else 0.0
            await update(self.time_remaining, round(remaining, 2))
        else:
            await update(self.time_remaining, 0.0)

    async def publish_result(self, result: AcquisitionResult) -> None:
        """Publish how an acquisition ended (before ``Acquire_RBV`` goes to Done).

        Parameters
        ----------
        result : AcquisitionResult
        """
        await self.publish_status()
        await self.ioc.refresh_plugins()
        await self.ioc.stats.publish(result.statistics)
        if result.ok:
            await update(self.status_message, result.message)
            await update(self.detector_state, "Idle", status=AlarmStatus.NO_ALARM,
                         severity=AlarmSeverity.NO_ALARM)
            return
        detail = result.message
        if result.diagnostics:
            detail += "\n" + "\n".join(f"{k}: {v}" for k, v in result.diagnostics.items())
        logger.error("%s: %s", self.driver.name, result.message)
        await update(self.last_error, fit(detail, self.last_error))
        await update(self.status_message, result.message)
        await update(self.detector_state, "Error", status=AlarmStatus.STATE,
                     severity=AlarmSeverity.MAJOR_ALARM)

    async def status_loop(self) -> None:
        """Publish counters, the frame rate and the temperature, paced (never spins)."""
        last_count, last_time = self.driver.status().array_counter, time.monotonic()
        next_temperature = 0.0
        while True:
            acquiring = self._acquisition is not None
            await asyncio.sleep(_ACTIVE_PERIOD if acquiring else _IDLE_PERIOD)
            await self.publish_status()
            await self.ioc.refresh_plugins()
            now = time.monotonic()
            count = self.driver.status().array_counter
            rate = (count - last_count) / (now - last_time) if now > last_time else 0.0
            await update(self.array_rate, round(max(rate, 0.0), 2))
            last_count, last_time = count, now
            if now >= next_temperature:
                next_temperature = now + _TEMPERATURE_PERIOD
                await self._publish_temperature()

    async def _publish_temperature(self) -> None:
        try:
            celsius = await self.call(self.driver.temperature)
        except PVCAMError as exc:
            logger.warning("%s: reading the temperature failed: %s", self.driver.name, exc)
            return
        if celsius is None:
            return
        for name in TEMPERATURE_RECORDS:
            record = self.pvdb.get(self.prefix + name)
            if record is not None:
                await update(record, round(celsius, 2))


CamGroup = type("CamGroup", (_CamRecords,), {
    **setting_records(),
    **parameter_records(),
    "__doc__": "The ``cam1:`` records of one camera (see the module docstring).",
    "__module__": __name__,
})
