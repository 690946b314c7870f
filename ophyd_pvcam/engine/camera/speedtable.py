"""The port -> speed -> gain table of a camera, built by walking the parameters.

PVCAM has no call that lists readout modes: a client selects each port, each
speed of that port and each gain of that speed in turn and reads the names,
pixel time and bit depth that follow the selection. This module does that walk
(port first, then speed, then gain: selecting a port resets the speed, selecting
a speed resets the gain) and restores the original selection afterwards.
"""
from __future__ import annotations

import logging
from typing import Any, Optional

from ophyd_pvcam.engine.camera.parameters import ParameterTable

__all__ = ["build_port_speed_gain_table"]

logger = logging.getLogger(__name__)


def _read(parameters: ParameterTable, key: str, default: Any = None) -> Any:
    param = parameters.get(key)
    if param is None or not param.readable:
        return default
    return param.get()


def _index_range(parameters: ParameterTable, key: str) -> Optional[range]:
    param = parameters.get(key)
    if param is None or not param.readable:
        return None
    return range(int(param.min), int(param.max) + 1)


def build_port_speed_gain_table(parameters: ParameterTable) -> dict[str, dict]:
    """Walk every port, speed and gain of a camera.

    Parameters
    ----------
    parameters : ParameterTable
        The camera's parameters (the camera must be idle).

    Returns
    -------
    dict
        ``{port_name: {"value": int, "speeds": [{"index": int, "name": str,
        "pixel_time_ns": int or None, "bit_depth": int or None, "gains":
        [{"index": int, "name": str, "bit_depth": int or None}]}]}}``.
        Speeds without ``PARAM_SPDTAB_NAME`` are named ``"Speed_<i>"``, gains
        without ``PARAM_GAIN_NAME`` ``"Gain_<i>"``; a camera without
        ``PARAM_READOUT_PORT`` has one port named ``"default"``.
    """
    port_param = parameters.get("readout_port")
    speed_param = parameters.get("spdtab_index")
    gain_param = parameters.get("gain_index")
    ports = port_param.enum_items if port_param is not None else {"default": None}
    original = (_read(parameters, "readout_port"), _read(parameters, "spdtab_index"),
                _read(parameters, "gain_index"))
    table: dict[str, dict] = {}
    try:
        for port_name, port_value in ports.items():
            if port_value is not None and port_param is not None and port_param.writable:
                port_param.set(port_value)
            speeds = []
            speed_indices = (_index_range(parameters, "spdtab_index")
                             or [_read(parameters, "spdtab_index", 0)])
            for speed in speed_indices:
                if speed_param is not None and speed_param.writable:
                    speed_param.set(speed)
                entry = {
                    "index": int(speed),
                    "name": str(_read(parameters, "spdtab_name", f"Speed_{speed}")),
                    "pixel_time_ns": _read(parameters, "pix_time"),
                    "bit_depth": _read(parameters, "bit_depth"),
                    "gains": [],
                }
                gain_indices = (_index_range(parameters, "gain_index")
                                or [_read(parameters, "gain_index", 1)])
                for gain in gain_indices:
                    if gain_param is not None and gain_param.writable:
                        gain_param.set(gain)
                    entry["gains"].append({
                        "index": int(gain),
                        "name": str(_read(parameters, "gain_name", f"Gain_{gain}")),
                        "bit_depth": _read(parameters, "bit_depth"),
                    })
                speeds.append(entry)
            table[port_name] = {"value": port_value, "speeds": speeds}
    finally:
        # Restore in dependency order: port resets speed, speed resets gain.
        for param, value in zip((port_param, speed_param, gain_param), original):
            if param is not None and value is not None and param.writable:
                param.set(value)
    logger.debug("port/speed/gain table: %s", table)
    return table
