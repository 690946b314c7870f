"""End-to-end fly benchmark: RunEngine -> PVCAMDetector -> HDF5 -> embedded catalog.

Run::

    python benchmarks/bench_fly.py                 # 3 repetitions of each case
    python benchmarks/bench_fly.py --reps 5 --frames 20000

What is measured (never pass/fail; the baseline is the camera's own rate in
the same run):

* ``kinetix-speed-64``: ``fly_stream`` of ``--frames`` frames (default
  20,000) at 64 x 64 on the simulated Kinetix's "Speed" port at its maximum
  rate (exposure 0: the sensor's line time sets ~25 kHz), into an embedded
  catalog (``ophyd_pvcam.catalog.local``). After the run the frames are read
  back from the catalog and counted, and the detector's ``frames_lost`` and
  the run's stop ``reason`` are printed.
* ``kinetix-burst``: a 300-frame Kinetix full-frame (3200 x 3200) fly at
  its 500 fps, peak RSS of the process against the host memory budget
  (``PVCAM_HOST_MEMORY_BUDGET``, 4G here).

Columns: frames read back from the catalog, frames lost (the detector's
count), the time of the whole ``RE(fly_stream(...))`` call (staging, kickoff,
collects, unstage) over the camera's own
time for the frames (``x camera``: 1.0 is "as fast as the camera"), CPU
seconds of the process per frame, peak RSS, and the machine's load. Every
repetition runs in its own process (a fresh simulator and catalog).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time


def worker(spec: dict) -> dict:
    """One fly in this process; returns the measurements."""
    import numpy as np
    from bluesky import RunEngine

    from ophyd_pvcam import catalog
    from ophyd_pvcam.device.detector import PVCAMDetector
    from ophyd_pvcam.plans import fly_stream

    root = spec["dir"]
    cam = PVCAMDetector("cam", write_path=os.path.join(root, "frames"), library="sim")
    try:
        cam.readout_port.put(spec["port"])
        cam.roi.put(tuple(spec["roi"]))
        cam.exposure_time.put(spec["exposure"])
        db = catalog.local(os.path.join(root, "catalog"), readable_storage=[cam.write_path])
        RE = RunEngine({})
        RE.subscribe(catalog.writer(db))
        cpu0, wall0 = time.process_time(), time.monotonic()
        (uid,) = RE(fly_stream([cam], num_frames=spec["frames"]))
        wall, cpu = time.monotonic() - wall0, time.process_time() - cpu0
        run = db[uid]
        images = run.primary["cam_image"]
        read_back = int(images.shape[0])
        last = np.asarray(images[read_back - 1])
        lost = int(cam.frames_lost.get())
        reason = run.metadata["stop"].get("reason", "")
        rate = float(cam.camera.acquisition_settings().frame_rate) if hasattr(
            cam.camera.acquisition_settings(), "frame_rate") else None
        catalog.close(os.path.join(root, "catalog"))
    finally:
        cam.close()
    return {"read_back": read_back, "lost": lost, "wall": wall, "cpu": cpu,
            "rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2,
            "reason": reason, "rate": rate, "last_shape": list(last.shape)}


CASES = {
    "kinetix-speed-64": {"port": "Speed", "roi": (0, 0, 64, 64), "exposure": 0.0,
                         "camera_fps": 25000.0},
    "kinetix-burst": {"port": "Speed", "roi": (0, 0, 3200, 3200), "exposure": 0.0,
                      "camera_fps": 500.0, "frames": 300},
}


def run_case(name: str, frames: int) -> dict:
    from ophyd_pvcam import sim

    case = dict(CASES[name])
    frames = case.pop("frames", frames)
    with tempfile.TemporaryDirectory(prefix="bench_fly_") as tmp:
        spec = {**case, "frames": frames, "dir": tmp}
        env = {**os.environ, **sim.environment(), "PVCAM_SIM_CAMERAS": "kinetix",
               "PVCAM_HOST_MEMORY_BUDGET": os.environ.get("PVCAM_HOST_MEMORY_BUDGET", "4G")}
        env.pop("PVCAM_SIM_FAULTS", None)
        proc = subprocess.run([sys.executable, __file__, "--worker", json.dumps(spec)],
                              capture_output=True, text=True, env=env, timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"{name} worker failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["frames"] = frames
    result["camera_s"] = frames / case["camera_fps"]
    result["load"] = os.getloadavg()[0]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--frames", type=int, default=20000)
    parser.add_argument("--only", choices=sorted(CASES))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return
    print(f"bench_fly: {os.cpu_count()} cores, load {os.getloadavg()}, "
          f"{time.strftime('%Y-%m-%d %H:%M:%S')}")
    print(f"| case | rep | frames | read back | lost | s | x camera | us CPU/frame "
          f"| peak RSS GiB | load | stop reason |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in ([args.only] if args.only else list(CASES)):
        results = []
        for rep in range(args.reps):
            r = run_case(name, args.frames)
            results.append(r)
            print(f"| {name} | {rep + 1} | {r['frames']} | {r['read_back']} | {r['lost']} "
                  f"| {r['wall']:.2f} | {r['wall'] / r['camera_s']:.2f} "
                  f"| {r['cpu'] / r['frames'] * 1e6:.1f} | {r['rss_gib']:.2f} | {r['load']:.2f} "
                  f"| {r['reason'] or '-'} |", flush=True)
        med = lambda key: statistics.median(r[key] for r in results)  # noqa: E731
        print(f"| {name} | median | {results[0]['frames']} | {med('read_back'):.0f} "
              f"| {med('lost'):.0f} | {med('wall'):.2f} "
              f"| {statistics.median(r['wall'] / r['camera_s'] for r in results):.2f} "
              f"| {statistics.median(r['cpu'] / r['frames'] * 1e6 for r in results):.1f} "
              f"| {med('rss_gib'):.2f} | {os.getloadavg()[0]:.2f} | |", flush=True)


if __name__ == "__main__":
    main()
