"""``ophyd-pvcam list``, ``info`` and ``snap``: looking at cameras and taking one frame."""
from __future__ import annotations

import argparse
import datetime
import time
from pathlib import Path
from typing import Any, Callable

from ophyd_pvcam.cli.options import (add_acquisition_options, apply_acquisition_options,
                                     check_output, open_camera, remove_for_overwrite, table)


def register(commands: Any, add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``list``, ``info`` and ``snap`` to ``commands``."""
    listing = commands.add_parser("list", help="list cameras: name, model, sensor, serial, firmware")
    add_common(listing)
    listing.set_defaults(handler=run_list)

    info = commands.add_parser("info", help="every parameter of a camera, and its port/speed/gain table")
    info.add_argument("camera", nargs="?", help="camera name (default: the first camera)")
    add_common(info)
    info.set_defaults(handler=run_info)

    snap = commands.add_parser("snap", help="acquire one frame to HDF5 (or TIFF) and a PNG preview")
    snap.add_argument("--camera", help="camera name (default: the first camera)")
    snap.add_argument("--output", "-o", metavar="PATH",
                      help="frame file (default: snap_<camera>_<time>.h5 in the current folder)")
    snap.add_argument("--tiff", action="store_true", help="write a TIFF instead of HDF5")
    snap.add_argument("--overwrite", action="store_true",
                      help="replace an existing frame file and preview (default: refuse)")
    add_acquisition_options(snap)
    add_common(snap)
    snap.set_defaults(handler=run_snap)




def run_list(args: argparse.Namespace) -> int:
    """Print one line per camera."""
    from ophyd_pvcam.engine import list_cameras

    cameras = list_cameras()
    if not cameras:
        print("no cameras found")
        return 1
    rows = [[c.name, c.product, f"{c.sensor_size[0]} x {c.sensor_size[1]}", c.chip, c.serial, c.firmware]
            for c in cameras]
    print(table(rows, ["NAME", "MODEL", "SENSOR", "CHIP", "SERIAL", "FIRMWARE"]))
    return 0


#: Parameters the SDK reports in scaled integers: (divisor, unit) for showing them.
_SCALED = {"temp": (100, "degC"), "temp_setpoint": (100, "degC")}


def _scaled(name: str, value: Any) -> str:
    """``value`` in its physical unit (temperatures come in 1/100 degC: -1999 is -19.99 degC)."""
    divisor, unit = _SCALED[name]
    return f"{value / divisor:.2f} {unit}"


def _describe_range(param: Any) -> str:
    if param.is_enum:
        return ", ".join(f"{name}={value}" for name, value in param.enum_items.items())
    try:
        low, high, step = param.min, param.max, param.increment
    except Exception:  # noqa: BLE001 - some parameters have no range attributes
        return ""
    if low is None and high is None:
        return ""
    if param.name in _SCALED and low is not None and high is not None:
        return f"{_scaled(param.name, low)} .. {_scaled(param.name, high)}"
    return f"{low} .. {high}" + (f" step {step}" if step not in (None, 0, 1) else "")


def run_info(args: argparse.Namespace) -> int:
    """Print every available parameter, then the port/speed/gain table."""
    from ophyd_pvcam.sdk.errors import PVCAMError

    with open_camera(args.camera) as camera:
        info = camera.info
        print(f"{info.name}: {info.product} ({info.chip}), serial {info.serial}, firmware {info.firmware}, "
              f"sensor {info.sensor_size[0]} x {info.sensor_size[1]}")
        rows = []
        for name in sorted(camera.parameters):
            param = camera.parameters[name]
            try:
                value = param.get() if param.readable else "(write-only)"
                if param.is_enum and param.readable:
                    value = f"{param.enum_name(value)} ({value})"
                elif name in _SCALED and param.readable:
                    value = f"{_scaled(name, value)} ({value})"
            except PVCAMError as exc:
                value = f"(unreadable: error {exc.code})"
            access = "rw" if param.writable and param.readable else ("r" if param.readable else "w")
            rows.append([name, str(value), param.type_name, access, _describe_range(param)])
        print()
        print(table(rows, ["PARAMETER", "VALUE", "TYPE", "ACCESS", "RANGE / CHOICES"]))
        print()
        rows = []
        for port, entry in camera.port_speed_gain_table().items():
            for speed in entry["speeds"]:
                for gain in speed["gains"]:
                    rows.append([port, str(speed["index"]), str(speed.get("name", "")),
                                 str(speed.get("pixel_time_ns", "")), str(gain["index"]),
                                 str(gain.get("name", "")), str(gain.get("bit_depth", speed.get("bit_depth", "")))])
        print(table(rows, ["PORT", "SPEED", "SPEED NAME", "PIXEL TIME [ns]", "GAIN", "GAIN NAME", "BITS"]))
    return 0


def run_snap(args: argparse.Namespace) -> int:
    """Acquire one frame; write it to HDF5 or TIFF, plus a PNG preview beside it."""
    from ophyd_pvcam.engine.frame import Frame
    from ophyd_pvcam.preview import write_png

    if args.output:
        check_output(Path(args.output), overwrite=args.overwrite)
        check_output(Path(args.output).with_suffix(".png"), overwrite=args.overwrite)
    with open_camera(args.camera) as camera:
        apply_acquisition_options(camera, args)
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        suffix = ".tif" if args.tiff else ".h5"
        output = Path(args.output) if args.output else Path(f"snap_{camera.name}_{stamp}{suffix}")
        # Both files are checked before the frame is taken: a refusal costs no exposure.
        check_output(output, overwrite=args.overwrite,
                     needed_bytes=camera.acquisition_settings().frame_bytes)
        check_output(output.with_suffix(".png"), overwrite=args.overwrite)
        pixels = camera.snap()
        if args.overwrite:
            remove_for_overwrite(output)
        if args.tiff:
            from ophyd_pvcam.storage.tiff import write_tiff

            write_tiff(pixels, output, description=f"ophyd-pvcam snap {camera.name} {camera.info.product}")
        else:
            from ophyd_pvcam.storage.hdf5 import HDF5FrameWriter

            writer = HDF5FrameWriter(output, pixels.shape, pixels.dtype,
                                     attributes={"camera": camera.name, "model": camera.info.product})
            writer.start()
            writer.submit(Frame(frame_number=1, data=pixels, host_time=time.time()))
            writer.close()
        png = write_png(pixels, output.with_suffix(".png"))
    print(f"{output}  ({pixels.shape[1]} x {pixels.shape[0]} {pixels.dtype}, "
          f"min {int(pixels.min())}, max {int(pixels.max())}, mean {float(pixels.mean()):.1f})")
    print(f"{png}  (preview)")
    return 0


