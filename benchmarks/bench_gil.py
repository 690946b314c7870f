"""A busy interpreter against the frame path: hold the GIL 300 ms of every second.

Run::

    python benchmarks/bench_gil.py            # 3 reps of 10 s
    python benchmarks/bench_gil.py --quick    # 1 rep of 5 s

A thread holds the GIL for 300 ms of every second (one long C call made
through ``ctypes.PyDLL``, like a long h5py, numpy or sqlite call) while a
simulated Kinetix streams 64 x 64 on its "Speed" port at its maximum,
25 kHz. The consumer takes blocks (``get_block`` + ``release``). Measured,
for the native pump and, as the baseline in the same run, the Python pump:
frames delivered, frames lost (the stream's count, from FrameNr, checked
against the FrameNrs the consumer received) and the largest block. Medians
of ``--reps`` runs, each in a fresh subprocess; load average printed.
Never pass/fail.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HOLD_S = 0.3
PERIOD_S = 1.0


def _loadavg() -> float:
    with open("/proc/loadavg") as fh:
        return float(fh.read().split()[0])


def worker(spec: dict) -> dict:
    """One stream with a GIL holder; prints a JSON result."""
    import ctypes
    import threading

    import numpy as np

    from ophyd_pvcam.engine.camera.camera import Camera
    from ophyd_pvcam.engine.stream.stream import Stream
    from ophyd_pvcam.sdk import load

    stop = threading.Event()
    holds = []

    def hold_the_gil() -> None:
        usleep = ctypes.PyDLL(None).usleep  # PyDLL: the GIL stays held during the call
        usleep.argtypes = [ctypes.c_uint]
        while not stop.wait(PERIOD_S - HOLD_S):
            t0 = time.perf_counter()
            usleep(int(HOLD_S * 1e6))
            holds.append(time.perf_counter() - t0)

    with Camera.open(library=load(simulated=True)) as camera:
        camera.readout_port = "Speed"
        camera.roi = (0, 0, 64, 64)
        camera.exposure_time = 0.0
        fps = 1.0 / camera.acquisition_settings().frame_period_s
        stream = Stream(camera, pump=spec["pump"], use_callbacks=spec["callbacks"])
        holder = threading.Thread(target=hold_the_gil, name="gil-holder", daemon=True)
        stream.start()
        holder.start()
        chunks, biggest = [], 0
        deadline = time.monotonic() + spec["seconds"]
        while time.monotonic() < deadline:
            block = stream.get_block(30)
            if block is None:
                break
            chunks.append(block.frame_numbers.copy())
            biggest = max(biggest, len(block))
            block.release()
        stop.set()
        holder.join()
        stream.stop()
        stats = stream.stats()
    numbers = np.concatenate(chunks)
    span = int(numbers.max() - numbers.min() + 1)
    return {"camera_fps": fps, "frames": len(numbers), "lost": stats.frames_lost,
            "missing_framenrs": span - len(np.unique(numbers)), "max_block": biggest,
            "holds": len(holds), "hold_s": statistics.median(holds) if holds else 0.0,
            "rate": stats.rate_fps, "load": _loadavg()}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--reps", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return
    from ophyd_pvcam import sim

    reps = args.reps or (1 if args.quick else 3)
    seconds = args.seconds or (5.0 if args.quick else 10.0)
    env = {**os.environ, **sim.environment(), "PVCAM_SIM_CAMERAS": "kinetix"}
    env.pop("PVCAM_SIM_FAULTS", None)
    print(f"bench_gil: GIL held {HOLD_S * 1e3:.0f} ms of every {PERIOD_S:.0f} s; Kinetix 'Speed' "
          f"port 64x64 at its maximum; {seconds:.0f} s per run, {reps} rep(s), median (worst "
          f"rep for losses); load average {_loadavg():.2f} at start")
    print(f"{'pump':>8} {'wake':>9} | {'cam fps':>8} {'frames':>9} {'lost':>7} {'missing':>7} "
          f"{'max block':>9} {'holds':>5} {'hold ms':>7} {'load':>5}")
    for pump, callbacks in (("native", True), ("native", False), ("python", True)):
        runs = []
        for _ in range(reps):
            spec = {"pump": pump, "callbacks": callbacks, "seconds": seconds}
            proc = subprocess.run([sys.executable, __file__, "--worker", json.dumps(spec)],
                                  capture_output=True, text=True, env=env, timeout=600)
            if proc.returncode != 0:
                raise RuntimeError(proc.stderr[-2000:])
            runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print(f"{pump:>8} {'callbacks' if callbacks else 'polling':>9} | {med['camera_fps']:>8.0f} "
              f"{med['frames']:>9.0f} {max(r['lost'] for r in runs):>7} "
              f"{max(r['missing_framenrs'] for r in runs):>7} {med['max_block']:>9.0f} "
              f"{med['holds']:>5.0f} {med['hold_s'] * 1e3:>7.0f} {med['load']:>5.2f}")


if __name__ == "__main__":
    main()
