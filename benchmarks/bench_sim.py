"""Does the simulated camera keep its own promised frame rate?

For every model and every readout port / speed, full frame at a 1 ms exposure
(0.1 ms on Kinetix), and for a small ROI on the fastest port, this measures the frames
the simulator produced per second in steady state (``check_cont_status_ex``'s
latest FrameNr read twice, after a warm-up) against the rate the model
itself promises (1 / (exposure + PARAM_READOUT_TIME) after setup), plus the
CPU the library used (process CPU time over wall time; the consumer side only
sleeps). Ratios against the promise in the same run, median of several
repetitions; nothing here passes or fails.

Run: ``python benchmarks/bench_sim.py`` (``--quick`` for a short check).
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from ophyd_pvcam import sim
from ophyd_pvcam.engine import Camera
from ophyd_pvcam.sdk import constants as C
from ophyd_pvcam.sdk import load


#: Vendor-quoted full-frame rates (fps at negligible exposure) by model and port name or bit depth,
#: from ../shared/pvcam-reference.md sections 8 and 10 (Prime 95B figures unverified there).
VENDOR_RATED = {
    ("prime-bsi", 16): 43.5, ("prime-bsi", 12): 95.0, ("prime-bsi", 11): 95.0,
    ("prime-bsi-express", 16): 43.5, ("prime-bsi-express", 12): 43.5, ("prime-bsi-express", 11): 94.5,
    ("kinetix", "Sensitivity"): 88.0, ("kinetix", "Speed"): 500.0,
    ("kinetix", "Dynamic Range"): 83.0, ("kinetix", "Sub-Electron"): 5.0,
    ("prime-95b", 16): 41.0, ("prime-95b", 12): 82.0,
}


def _latest(lib, handle) -> int:
    return lib.exp_check_cont_status_ex(handle)[3].frame_number


def measure(camera: Camera, seconds: float, buffer_frames: int = 16) -> tuple[float, float, float]:
    """Return (produced fps, promised fps, CPU fraction) of one continuous acquisition.

    The rate is steady state: frames produced between two status reads taken
    after a warm-up (the first frame, or 0.2 s), so start-up cost is left out.
    """
    lib = camera.library
    settings = camera.acquisition_settings()
    frame_bytes = lib.exp_setup_cont(camera.handle, settings.regions, settings.exp_mode,
                                     settings.exposure, C.CIRC_OVERWRITE)
    readout_us = lib.get_param(camera.handle, C.PARAM_READOUT_TIME)
    promised = 1.0 / (settings.exposure_seconds + readout_us * 1e-6)
    buffer = np.zeros(frame_bytes * buffer_frames, dtype=np.uint8)
    lib.exp_start_cont(camera.handle, buffer, buffer.nbytes)
    try:
        warmup_end = time.perf_counter() + max(0.2, 2.0 / promised)
        while time.perf_counter() < warmup_end or _latest(lib, camera.handle) == 0:
            time.sleep(0.01)
        first, cpu0, wall0 = _latest(lib, camera.handle), time.process_time(), time.perf_counter()
        time.sleep(max(seconds, 3.0 / promised))
        last, wall, cpu = _latest(lib, camera.handle), time.perf_counter(), time.process_time()
    finally:
        lib.exp_stop_cont(camera.handle)
    return (last - first) / (wall - wall0), promised, (cpu - cpu0) / (wall - wall0)


def cases(camera: Camera, quick: bool):
    """Yield (label, configure) for every port/speed at full frame."""
    table = camera.port_speed_gain_table()
    for port, entry in table.items():
        for speed in entry["speeds"][: 1 if quick else None]:
            def configure(port=port, speed=speed["index"]):
                camera.readout_port = port
                camera.speed_index = speed
                camera.roi = None
            yield (f"{port} / speed {speed['index']} ({speed.get('bit_depth', '?')}-bit)", configure,
                   (port, speed.get("bit_depth")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repetition of 0.5 s per case")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=1.5)
    args = parser.parse_args()
    reps, seconds = (1, 0.5) if args.quick else (args.reps, args.seconds)

    load(simulated=True)
    print(f"{'model':18} {'mode':42} {'promised':>10} {'produced':>10} {'ratio':>6} "
          f"{'vendor':>8} {'vs vendor':>9} {'CPU':>6}")
    for model in sim.MODELS:
        sim.set_cameras(model)
        with Camera.open(library=load(simulated=True)) as camera:
            camera.exposure_time = 1e-3 if model != "kinetix" else 1e-4
            runs = list(cases(camera, args.quick))
            if model == "kinetix":
                def small_roi(camera=camera):
                    camera.readout_port = "Speed"
                    camera.roi = (0, 0, 64, 64)
                    camera.exposure_time = 1e-6
                runs.append(("Speed port, 64 x 64 ROI, 1 us", small_roi, (None, None)))
            for label, configure, (port, bits) in runs:
                configure()
                results = [measure(camera, seconds) for _ in range(reps)]
                produced = statistics.median(r[0] for r in results)
                promised = statistics.median(r[1] for r in results)
                cpu = statistics.median(r[2] for r in results)
                rated = (VENDOR_RATED.get((model, port)) or VENDOR_RATED.get((model, bits))
                         if port is not None else None)
                # The vendor's figure is at negligible exposure: add ours to compare like with like.
                vendor = 1.0 / (1.0 / rated + camera.exposure_time) if rated else None
                vendor_text = (f"{vendor:8.1f} {produced / vendor:9.3f}" if vendor
                               else f"{'-':>8} {'-':>9}")
                print(f"{model:18} {label:42} {promised:10.1f} {produced:10.1f} "
                      f"{produced / promised:6.3f} {vendor_text} {cpu:6.1%}")
    sim.set_cameras(None)


if __name__ == "__main__":
    main()
