"""The tables behind the ``cam1:`` records: settings pairs and parameter read-backs.

:data:`CAM_SETTINGS` maps each ``X``/``X_RBV`` pair onto a driver setting;
:data:`PARAMETER_RECORDS` maps read-only records onto camera parameters
(``ChipName_RBV`` -> ``PARAM_CHIP_NAME``, ...). :func:`setting_records` and
:func:`parameter_records` turn them into caproto pvproperties for
:class:`~ophyd_pvcam.ioc.server.cam.CamGroup`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np
from caproto.server import pvproperty

from ophyd_pvcam.storage.preflight import LOSS_POLICIES, PREDICTED_LOSS_POLICIES

from .records import DISABLE_ENABLE, readback, setting
from .core.settings import BUFFER_MODES, IMAGE_MODES

__all__ = ["SettingSpec", "CAM_SETTINGS", "ADKINETIX_TRIGGER_MODES", "OTHER_TRIGGER_MODE",
           "READOUT_PORT_INDICES", "ADCORE_VERSION", "PARAMETER_RECORDS", "DYNAMIC_PARAMETERS",
           "DRIVER_KEYS", "TEMPERATURE_RECORDS", "dtype_label", "format_parameter",
           "setting_records", "parameter_records"]


@dataclass(frozen=True)
class SettingSpec:
    """How an ``X``/``X_RBV`` pair maps onto a driver setting.

    Attributes
    ----------
    pv : str
        Record name of the setpoint.
    key : str
        Driver key (:data:`~ophyd_pvcam.ioc.server.core.driver.SETTING_KEYS`).
    value : object
        Initial value.
    menu : tuple of str or None
        Fixed menu; ``()`` for a menu built from the camera at start-up.
    index : bool
        The driver takes the menu index (a flag) rather than the label.
    kwargs : dict
        More :func:`~ophyd_pvcam.ioc.server.records.setting` keywords (units, precision, dtype).
    """

    pv: str
    key: str
    value: Any
    menu: Optional[tuple] = None
    index: bool = False
    kwargs: Optional[dict] = None


#: Every cam1: setting pair.
CAM_SETTINGS = (
    SettingSpec("AcquireTime", "exposure_time", 0.01, kwargs=dict(units="s", precision=6)),
    SettingSpec("AcquirePeriod", "acquire_period", 0.0, kwargs=dict(units="s", precision=6)),
    SettingSpec("ImageMode", "image_mode", "Single", menu=IMAGE_MODES),
    SettingSpec("NumImages", "num_images", 1),
    SettingSpec("NumExposures", "num_exposures", 1),
    # The camera's full exposure-mode menu; ``TriggerMode`` (ADKinetix's three
    # names, see :data:`ADKINETIX_TRIGGER_MODES`) maps onto the same setting.
    SettingSpec("ExposureMode", "trigger_mode", "Internal", menu=()),
    SettingSpec("MinX", "min_x", 0),
    SettingSpec("MinY", "min_y", 0),
    SettingSpec("SizeX", "size_x", 1),
    SettingSpec("SizeY", "size_y", 1),
    SettingSpec("BinX", "bin_x", 1),
    SettingSpec("BinY", "bin_y", 1),
    SettingSpec("ArrayCounter", "array_counter", 0),
    SettingSpec("ArrayCallbacks", "array_callbacks", "Enable", menu=DISABLE_ENABLE, index=True),
    SettingSpec("Temperature", "temperature_setpoint", 0.0,
                kwargs=dict(units="C", precision=2)),
    SettingSpec("SetTemperature", "temperature_setpoint", 0.0,
                kwargs=dict(units="C", precision=2)),
    SettingSpec("SpeedTableIndex", "speed_index", 0),
    SettingSpec("GainIndex", "gain_index", 1),
    SettingSpec("ReadoutPort", "readout_port", "", menu=()),
    SettingSpec("ClearMode", "clear_mode", "", menu=()),
    SettingSpec("FanSpeed", "fan_speed", "", menu=()),
    SettingSpec("ExposeOutMode", "expose_out_mode", "", menu=()),
    SettingSpec("TriggerEdge", "edge_trigger", "", menu=()),
    SettingSpec("OpenDelay", "shutter_open_delay", 0),
    SettingSpec("CloseDelay", "shutter_close_delay", 0),
    SettingSpec("BufferMode", "buffer_mode", "Auto", menu=tuple(BUFFER_MODES)),
    SettingSpec("StallTimeout", "stall_timeout", 0.0, kwargs=dict(units="s", precision=3)),
    SettingSpec("StallCount", "stall_count", 3),
    SettingSpec("MaxRecoveries", "max_recoveries", 0),
    # The loss policies of the in-process detector (ophyd_pvcam.storage.preflight),
    # with its value names as the menus.
    SettingSpec("OnLoss", "on_loss", "record", menu=LOSS_POLICIES),
    SettingSpec("OnPredictedLoss", "on_predicted_loss", "warn", menu=PREDICTED_LOSS_POLICIES),
    # DBR_STRING, not a CHAR waveform: caproto's server cannot take an empty
    # string written to a CHAR waveform, and "" is how faults are cleared.
    SettingSpec("SimFaults", "sim_faults", "", kwargs=dict(dtype=str)),
)

#: ADKinetix's ``TriggerMode`` menu -> our engine's exposure-mode names (what
#: ophyd-async's ``KinetixDetector`` writes: internal, external edge, external gate).
ADKINETIX_TRIGGER_MODES = {"Internal": "internal", "Rising Edge": "edge_rising",
                           "Exp. Gate": "level"}
#: ``TriggerMode_RBV`` when the camera runs an exposure mode outside ADKinetix's three
#: (set through ``ExposureMode``, e.g. software triggers).
OTHER_TRIGGER_MODE = "Other"
#: ADKinetix's ``ReadoutPortIdx`` menu: ``"N"`` selects the camera's N-th readout port.
READOUT_PORT_INDICES = ("1", "2", "3", "4")
#: The ADCore release whose record set (names, types, menus) the server follows,
#: published as ``ADCoreVersion_RBV``.
ADCORE_VERSION = "3.12.1"

#: Read-only records backed by a camera parameter: record -> (parameter, attribute, scale).
PARAMETER_RECORDS = {
    "ChipName_RBV": ("chip_name", "value", None),
    "HeadSerNum_RBV": ("head_ser_num_alpha", "value", None),
    "SerialNum_RBV": ("head_ser_num_alpha", "value", None),
    "FullWellCapacity_RBV": ("fwell_capacity", "value", None),
    "FrameTransferCapable_RBV": ("frame_capable", "value", int),
    "PixelParallelSize_RBV": ("pix_par_size", "value", None),
    "PixelSerialSize_RBV": ("pix_ser_size", "value", None),
    "PixelParallelDist_RBV": ("pix_par_dist", "value", None),
    "PixelSerialDist_RBV": ("pix_ser_dist", "value", None),
    "PreMask_RBV": ("premask", "value", None),
    "PostMask_RBV": ("postmask", "value", None),
    "PreScan_RBV": ("prescan", "value", None),
    "PostScan_RBV": ("postscan", "value", None),
    "NumSerialPixels_RBV": ("ser_size", "value", None),
    "NumParallelPixels_RBV": ("par_size", "value", None),
    "ChipWidth_RBV": ("ser_size", "value", None),
    "ChipHeight_RBV": ("par_size", "value", None),
    "CameraFirmwareVers_RBV": ("cam_fw_version", "value", "version"),
    "DevDrvVers_RBV": ("dd_version", "value", "ddversion"),
    "PCIFWVers_RBV": ("pci_fw_version", "value", "version"),
    "MinSetTemperature": ("temp_setpoint", "min", 0.01),
    "MaxSetTemperature": ("temp_setpoint", "max", 0.01),
    "MinShutterOpenDelay_RBV": ("shtr_open_delay", "min", None),
    "MaxShutterOpenDelay_RBV": ("shtr_open_delay", "max", None),
    "MinShutterCloseDelay_RBV": ("shtr_close_delay", "min", None),
    "MaxShutterCloseDelay_RBV": ("shtr_close_delay", "max", None),
    "MaxGainIndex_RBV": ("gain_index", "max", None),
    "BitDepth_RBV": ("bit_depth", "value", None),
    "PixelTime_RBV": ("pix_time", "value", None),
    "SpeedName_RBV": ("spdtab_name", "value", None),
    "GainName_RBV": ("gain_name", "value", None),
    "MeasuredTemperature_RBV": ("temp", "value", 0.01),
    "TemperatureActual": ("temp", "value", 0.01),
}
# Of those, the ones that change with port / speed / gain (re-read after puts).
DYNAMIC_PARAMETERS = ("MaxGainIndex_RBV", "BitDepth_RBV", "PixelTime_RBV", "SpeedName_RBV",
                       "GainName_RBV", "MinSetTemperature", "MaxSetTemperature")
# Settings kept by the driver (readable while the camera acquires).
DRIVER_KEYS = ("image_mode", "num_images", "acquire_period", "num_exposures", "buffer_mode",
                "stall_timeout", "stall_count", "max_recoveries", "array_callbacks", "sim_faults",
                "on_loss", "on_predicted_loss")
TEMPERATURE_RECORDS = ("MeasuredTemperature_RBV", "TemperatureActual")
_STRING_RECORDS = ("ChipName_RBV", "HeadSerNum_RBV", "SerialNum_RBV", "SpeedName_RBV",
                   "GainName_RBV")


def dtype_label(dtype: Any) -> str:
    """``NDDataType`` label of a numpy dtype (``uint16`` -> ``"UInt16"``).

    Parameters
    ----------
    dtype : numpy dtype-like

    Returns
    -------
    str
    """
    name = np.dtype(dtype).name
    return {"uint8": "UInt8", "int8": "Int8", "uint16": "UInt16", "int16": "Int16",
            "uint32": "UInt32", "int32": "Int32", "uint64": "UInt64", "int64": "Int64",
            "float32": "Float32", "float64": "Float64"}[name]


def format_parameter(value: Any, how: Any) -> Any:
    """Turn a parameter value into its record value (versions, 1/100 C, flags)."""
    if how is None or value is None:
        return value
    if how == "version":      # 0xMMmm
        return f"{int(value) >> 8}.{int(value) & 0xFF}"
    if how == "ddversion":    # MMmn nibbles
        number = int(value)
        return f"{number >> 8}.{(number >> 4) & 0xF}.{number & 0xF}"
    if how is int:
        return int(value)
    return round(float(value) * how, 4)


def _setting_put(spec: SettingSpec) -> Callable:
    async def put(group: Any, instance: Any, value: Any) -> Any:
        return await group.put_setting(instance, spec, value)
    return put


def setting_records() -> dict[str, pvproperty]:
    """The pvproperties of :data:`CAM_SETTINGS` (``X`` and ``X_RBV``)."""
    records: dict[str, pvproperty] = {}
    for spec in CAM_SETTINGS:
        kwargs = dict(spec.kwargs or {})
        if spec.menu is not None:
            # caproto needs a valid initial menu; start-up replaces camera menus.
            menu = spec.menu or (spec.value or "-",)
            kwargs["enum_strings"] = menu
        value = spec.value if spec.menu is None else (spec.value or kwargs["enum_strings"][0])
        attr = _attr(spec.pv)
        records[attr] = setting(spec.pv, value, put=_setting_put(spec), **kwargs)
        records[attr + "_rbv"] = readback(spec.pv + "_RBV", value, **kwargs)
    return records


def parameter_records() -> dict[str, pvproperty]:
    """The read-only records of :data:`PARAMETER_RECORDS`."""
    records: dict[str, pvproperty] = {}
    for name, (_parameter, _attribute, how) in PARAMETER_RECORDS.items():
        if how in ("version", "ddversion") or name in _STRING_RECORDS:
            records[_attr(name)] = readback(name, "", dtype=str)
        elif isinstance(how, float):
            records[_attr(name)] = readback(name, 0.0, units="C", precision=2)
        else:
            records[_attr(name)] = readback(name, 0)
    return records


def _attr(pv: str) -> str:
    return "".join(("_" + c.lower()) if c.isupper() else c for c in pv).lstrip("_")
