"""Streaming engine benchmark: zero-loss rate, CPU per frame, copy bandwidth, stop latency.

Run::

    python benchmarks/bench_stream.py            # full (~11 min on 2 cores)
    python benchmarks/bench_stream.py --quick    # ~2.5 min
    python benchmarks/bench_stream.py --only stop   # one part: rates, copy or stop

What is measured (never pass/fail; ratios against baselines measured in the same run):

1. For several ROI heights of a simulated Kinetix on its 8-bit "Speed" port
   (0.625 us per row, so small ROIs run at tens of kHz), the highest camera
   frame rate each consumer sustains with zero lost frames: the camera starts
   at its fastest (exposure 0) and the rate is halved until a run loses
   nothing. Consumers: our Stream with EOF callbacks, our Stream polling, and
   PyVCAM's live mode (``cam.start_live(); cam.poll_frame()``), the peer
   baseline, on the same simulated camera with the same circular-buffer size.
   Loss is judged from the FrameNr the simulator stamps into every frame, so
   it is measured the same way for both (PyVCAM reports none itself).
   Both get a 0.25 s ring and every run lasts at least 4 rings, so a rate
   that is not sustained overflows the ring rather than hiding in it.
2. Engine CPU per frame at a rate both sustain (or the lowest rate tried): on-CPU time of the whole
   process minus the simulator's producer thread ("pvcam-acq-*"), from
   /proc/self/task/*/schedstat, divided by frames.
3. Copy-out bandwidth: the median of the engine's own "copy" histogram on
   full 2048 x 2048 16-bit frames (Prime BSI), as a fraction of numpy's
   ``copyto`` between 8 MB arrays (cold sources) in the same process.
4. ``Stream.stop()`` latency: median and max over N start/stop cycles with
   frames flowing (the consumer keeping up, or paused so a backlog waits in
   the ring and the queue), with callbacks and polling, against one frame
   period of the camera measured in the same run from its own EOF timestamps.
   stop() returns once the acquisition is stopped, the completed frames are
   salvaged, the callbacks deregistered, the ring unmapped and the threads
   joined.

Each measurement runs in a fresh subprocess (PyVCAM loads libpvcam.so.2 through
the dynamic loader, so its subprocess gets LD_LIBRARY_PATH=sim.library_dir());
medians over ``--reps`` repetitions.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any, Optional

MAX_LEVELS = 6
#: Circular buffer of every consumer, in seconds of frames at the camera's rate.
RING_SECONDS = 0.25
#: A run lasts at least this many times the ring.
RING_PASSES = 4


# ---------------------------------------------------------------------------- worker side
def _cpu_ns() -> tuple[int, int]:
    """(on-CPU ns of every thread of this process, of which the simulator's producer)."""
    total = producer = 0
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/schedstat") as fh:
                ns = int(fh.read().split()[0])
            with open(f"/proc/self/task/{tid}/comm") as fh:
                comm = fh.read().strip()
        except OSError:  # the thread ended meanwhile
            continue
        total += ns
        if comm.startswith("pvcam-acq"):
            producer += ns
    return total, producer


def _stamp(array: Any) -> int:
    """The FrameNr the simulator wrote into the first 4 bytes of a frame."""
    return int.from_bytes(array.reshape(-1).view("uint8")[:4].tobytes(), "little")


def _result(stamps: list[int], t_first: float, t_last: float, cpu0: tuple[int, int],
            cpu1: tuple[int, int], extra: dict) -> dict:
    frames = len(stamps)
    produced = max(stamps) if stamps else 0
    distinct = len(set(stamps))
    engine_cpu = (cpu1[0] - cpu0[0]) - (cpu1[1] - cpu0[1])
    return {
        "frames": frames,
        "lost": produced - distinct,
        "corrupt": frames - distinct,  # duplicates: a slot read twice or overwritten
        "fps": (frames - 1) / (t_last - t_first) if frames > 1 and t_last > t_first else 0.0,
        "cpu_us_per_frame": engine_cpu / 1e3 / max(1, frames),
        **extra,
    }


def _configure(camera: Any, spec: dict) -> None:
    camera.readout_port = spec["port"]
    camera.roi = tuple(spec["roi"])
    camera.exposure_time = spec["exposure_us"] * 1e-6


def worker_ours(spec: dict) -> dict:
    """Stream spec["frames"] frames with our engine; report rate, loss, CPU."""
    from ophyd_pvcam.engine.camera import Camera
    from ophyd_pvcam.engine.stream import Stream
    from ophyd_pvcam.sdk import load

    with Camera.open(library=load(simulated=True)) as camera:
        _configure(camera, spec)
        stream = Stream(camera, use_callbacks=spec["callbacks"],
                        buffer_seconds=spec["buffer_seconds"],
                        memory_budget=spec.get("memory_budget"))
        stream.start()
        stamps: list[int] = []
        first = stream.get(30)
        t_first = time.perf_counter()
        cpu0 = _cpu_ns()
        stamps.append(_stamp(first.data))
        stream.release(first)
        t_last = t_first
        for _ in range(spec["frames"] - 1):
            frame = stream.get(30)
            if frame is None:
                break
            t_last = time.perf_counter()
            stamps.append(_stamp(frame.data))
            stream.release(frame)
        cpu1 = _cpu_ns()
        stream.stop()
        stats = stream.stats()
        copy = stats.timings["copy"]
        extra = {"engine_lost": stats.frames_lost, "buffer_frames": stats.buffer_frames,
                 "copy_p50_ns": copy.percentile(50), "frame_bytes": stats.frame_bytes}
    # Frame numbers of our stream are stamps (no restart happens without faults).
    return _result(stamps, t_first, t_last, cpu0, cpu1, extra)


def worker_pyvcam(spec: dict) -> dict:
    """Stream spec["frames"] frames with PyVCAM's live mode on the simulator."""
    from pyvcam import constants as const
    from pyvcam import pvc
    from pyvcam.camera import Camera

    pvc.init_pvcam()
    cam = next(Camera.detect_camera())
    cam.open()
    try:
        cam.readout_port = spec["port"]  # by name; PyVCAM then switches to 8-bit pixels
        cam.exp_res = const.EXP_RES_ONE_MICROSEC
        s1, p1, w, h = spec["roi"]
        cam.set_roi(s1, p1, w, h)
        cam.start_live(exp_time=int(spec["exposure_us"]),
                       buffer_frame_count=int(spec["buffer_frames"]))
        stamps = []
        frame, _, _ = cam.poll_frame()
        t_first = time.perf_counter()
        cpu0 = _cpu_ns()
        stamps.append(_stamp(frame["pixel_data"]))
        t_last = t_first
        for _ in range(spec["frames"] - 1):
            frame, _, _ = cam.poll_frame(timeout_ms=30000)
            t_last = time.perf_counter()
            stamps.append(_stamp(frame["pixel_data"]))
        cpu1 = _cpu_ns()
        cam.finish()
    finally:
        cam.close()
        pvc.uninit_pvcam()
    return _result(stamps, t_first, t_last, cpu0, cpu1, {})


def worker_copy(spec: dict) -> dict:
    """Engine copy bandwidth on full frames vs numpy copyto in the same process."""
    import numpy as np

    from ophyd_pvcam.engine.camera import Camera
    from ophyd_pvcam.engine.stream import Stream
    from ophyd_pvcam.sdk import load

    with Camera.open(library=load(simulated=True)) as camera:
        camera.exposure_time = 0.0
        with Stream(camera, max_frames=spec["frames"]) as stream:
            for frame in stream:
                stream.release(frame)
        stats = stream.stats()
    nbytes = stats.frame_bytes
    engine_ns = stats.timings["copy"].percentile(50)
    sources = [np.random.default_rng(i).integers(0, 4096, nbytes // 2, dtype=np.uint16)
               for i in range(8)]
    dst = np.empty_like(sources[0])
    times = []
    for i in range(max(40, spec["frames"])):
        src = sources[i % len(sources)]  # rotate: a source is not in cache, like a fresh frame
        t0 = time.perf_counter_ns()
        np.copyto(dst, src)
        times.append(time.perf_counter_ns() - t0)
    numpy_ns = statistics.median(times)
    return {"frame_bytes": nbytes, "engine_copy_ns": engine_ns, "numpy_copy_ns": numpy_ns,
            "engine_GBps": nbytes / engine_ns if engine_ns else 0.0,
            "numpy_GBps": nbytes / numpy_ns, "lost": stats.frames_lost}


def worker_stop(spec: dict) -> dict:
    """stop() latency over spec["cycles"] start/stop cycles, and the camera's frame period."""
    from ophyd_pvcam.engine.camera import Camera
    from ophyd_pvcam.engine.stream import Stream
    from ophyd_pvcam.sdk import load

    with Camera.open(library=load(simulated=True)) as camera:
        camera.roi = tuple(spec["roi"])
        camera.exposure_time = spec["exposure_s"]
        # Baseline: the camera's frame period from its own EOF timestamps (100 us units).
        with Stream(camera, max_frames=spec["period_frames"]) as stream:
            stamps = [frame.timestamp_eof for frame in stream]
        period_s = (stamps[-1] - stamps[0]) * 1e-4 / (len(stamps) - 1)
        latencies = []
        handed_after = []  # frames still handed out after stop(): the backlog it kept
        for _ in range(spec["cycles"]):
            stream = Stream(camera, use_callbacks=spec["callbacks"], queue_size=8)
            stream.start()
            for _ in range(3):  # frames are flowing
                stream.release(stream.get(30))
            if spec["backlog_s"]:
                time.sleep(spec["backlog_s"])  # the consumer pauses: frames wait for it
            t0 = time.perf_counter()
            stream.stop()
            latencies.append(time.perf_counter() - t0)
            count = 0
            while (frame := stream.get(0)) is not None:
                stream.release(frame)
                count += 1
            handed_after.append(count)
    return {"period_s": period_s, "median_s": statistics.median(latencies),
            "max_s": max(latencies), "after_median": statistics.median(handed_after)}


WORKERS = {"ours": worker_ours, "pyvcam": worker_pyvcam, "copy": worker_copy,
           "stop": worker_stop}


# ---------------------------------------------------------------------------- parent side
def run_worker(kind: str, spec: dict, model: str) -> dict:
    from ophyd_pvcam import sim

    # Loss is judged from the simulator's opt-in FrameNr pixel stamp.
    env = {**os.environ, **sim.environment(), "PVCAM_SIM_CAMERAS": model, "PVCAM_SIM_FRAME_STAMP": "1"}
    env.pop("PVCAM_SIM_FAULTS", None)
    proc = subprocess.run([sys.executable, __file__, "--worker", kind, json.dumps(spec)],
                          capture_output=True, text=True, env=env, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} worker failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def readout_seconds(model: str, port: str, roi: tuple) -> tuple[float, int]:
    """The camera's fastest frame period for this ROI, and our ring size at that rate."""
    code = ("import json; from ophyd_pvcam.sdk import load; "
            "from ophyd_pvcam.engine.camera import Camera; "
            "from ophyd_pvcam.engine.buffers import plan_buffer_frames\n"
            "with Camera.open(library=load(simulated=True)) as c:\n"
            f"    c.readout_port = {port!r}; c.roi = {tuple(roi)!r}; c.exposure_time = 0.0\n"
            "    s = c.acquisition_settings()\n"
            "    print(json.dumps([s.frame_period_s, s.frame_bytes]))")
    from ophyd_pvcam import sim
    # Loss is judged from the simulator's opt-in FrameNr pixel stamp.
    env = {**os.environ, **sim.environment(), "PVCAM_SIM_CAMERAS": model, "PVCAM_SIM_FRAME_STAMP": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True, timeout=120).stdout
    period, frame_bytes = json.loads(out.strip().splitlines()[-1])
    return period, frame_bytes


def median_result(results: list[dict]) -> dict:
    keys = [k for k, v in results[0].items() if isinstance(v, (int, float))]
    return {k: statistics.median(r[k] for r in results) for k in keys}


def measure(kind: str, callbacks: Optional[bool], roi: tuple, level: int, base_period: float,
            args: argparse.Namespace, cache: dict) -> dict:
    key = (kind, callbacks, roi, level)
    if key in cache:
        return cache[key]
    from ophyd_pvcam.engine.buffers import plan_buffer_frames

    period = base_period * 2 ** level
    exposure_us = round((period - base_period) * 1e6)
    # Same ring for both consumers; a run lasts at least RING_PASSES rings, so a rate
    # the consumer cannot sustain overflows the ring instead of hiding in it.
    ring = plan_buffer_frames(args.frame_bytes[roi], period, buffer_seconds=RING_SECONDS)
    frames = int(min(args.max_frames, max(args.min_frames, RING_PASSES * ring,
                                          args.seconds / period)))
    spec = {"port": "Speed", "roi": list(roi), "exposure_us": exposure_us, "frames": frames,
            "callbacks": callbacks, "buffer_frames": ring, "buffer_seconds": RING_SECONDS}
    results = [run_worker(kind, spec, "kinetix") for _ in range(args.reps)]
    summary = median_result(results)
    summary["camera_fps"] = 1.0 / period
    summary["any_loss"] = any(r["lost"] or r["corrupt"] for r in results)
    cache[key] = summary
    return summary


def zero_loss_level(kind: str, callbacks: Optional[bool], roi: tuple, base_period: float,
                    args: argparse.Namespace, cache: dict) -> int:
    for level in range(MAX_LEVELS + 1):
        if not measure(kind, callbacks, roi, level, base_period, args, cache)["any_loss"]:
            return level
    return MAX_LEVELS + 1


#: stop() latency configurations on the Prime BSI: label, ROI, exposure (s), backlog pause (s).
STOP_CONFIGS = (
    ("64x64 1 ms", (0, 0, 64, 64), 0.001, 0.0),
    ("64x64 1 ms backlog", (0, 0, 64, 64), 0.001, 0.05),
    ("512x512 10 ms", (0, 0, 512, 512), 0.010, 0.0),
    ("2048x2048 0 ms", (0, 0, 2048, 2048), 0.0, 0.0),
)


def bench_stop(args: argparse.Namespace) -> None:
    """Print the stop() latency table (medians over reps of the per-worker median and max)."""
    cycles = 10 if args.quick else 30
    print(f"\nstop() latency: {cycles} start/stop cycles per run (a third at full frame), "
          f"median over {args.reps} run(s) of each run's median and max; frames flowing at "
          f"stop; period = the camera's, from its EOF timestamps; frames after = frames still "
          f"handed out after stop() returned (queue + salvaged backlog)")
    print(f"{'config':>20} {'mode':>9} {'period ms':>9} {'median ms':>9} {'max ms':>8} "
          f"{'median/period':>13} {'max/period':>10} {'frames after':>12}")
    for label, roi, exposure, backlog in STOP_CONFIGS:
        full = roi[2] * roi[3] >= 2048 * 2048
        for callbacks in (True, False):
            spec = {"roi": list(roi), "exposure_s": exposure, "callbacks": callbacks,
                    "cycles": max(4, cycles // 3) if full else cycles, "backlog_s": backlog,
                    "period_frames": 20 if full else 50}
            runs = [run_worker("stop", spec, "prime-bsi") for _ in range(args.reps)]
            period = statistics.median(r["period_s"] for r in runs)
            median = statistics.median(r["median_s"] for r in runs)
            worst = statistics.median(r["max_s"] for r in runs)
            after = statistics.median(r["after_median"] for r in runs)
            print(f"{label:>20} {'callbacks' if callbacks else 'polling':>9} "
                  f"{period * 1e3:>9.2f} {median * 1e3:>9.2f} {worst * 1e3:>8.2f} "
                  f"{median / period:>13.2f} {worst / period:>10.2f} {after:>12.0f}")


def bench_rates(args: argparse.Namespace) -> None:
    """Print the zero-loss rate and CPU table against PyVCAM."""
    args.seconds = 1.0 if args.quick else 2.0
    args.min_frames, args.max_frames = 200, (120_000 if args.quick else 400_000)
    heights = (16, 256, 3200) if args.quick else (8, 32, 128, 512, 3200)
    rois = [(0, 0, 3200, h) for h in heights]
    consumers = [("ours", True, "ours-callbacks"), ("ours", False, "ours-polling"),
                 ("pyvcam", None, "pyvcam-live")]
    cache: dict = {}
    args.frame_bytes = {}
    print(f"bench_stream: {args.reps} rep(s), ~{args.seconds:.0f} s per run, Kinetix 'Speed' "
          f"port (8-bit), rate halved until zero loss\n")
    header = (f"{'ROI':>10} {'cam max fps':>11} | " + " | ".join(
        f"{label:>26}" for _, _, label in consumers))
    print(header)
    print(f"{'':>10} {'':>11} | " + " | ".join(f"{'0-loss fps':>10} {'us CPU/frame':>15}"
                                               for _ in consumers))
    summary_rows = []
    for roi in rois:
        base_period, frame_bytes = readout_seconds("kinetix", "Speed", roi)
        args.frame_bytes[roi] = frame_bytes
        levels = {label: zero_loss_level(kind, cb, roi, base_period, args, cache)
                  for kind, cb, label in consumers}
        common = max(levels.values())
        cells = []
        row = {"roi": f"{roi[2]}x{roi[3]}", "camera_max_fps": 1 / base_period}
        for kind, cb, label in consumers:
            level = levels[label]
            zero_fps = (1 / (base_period * 2 ** level)) if level <= MAX_LEVELS else 0.0
            at_common = measure(kind, cb, roi, min(common, MAX_LEVELS), base_period, args, cache)
            cells.append(f"{zero_fps:>10.0f} {at_common['cpu_us_per_frame']:>15.1f}")
            row[label] = {"zero_loss_fps": zero_fps,
                          "cpu_us_per_frame_at_common_rate": at_common["cpu_us_per_frame"],
                          "delivered_fps_at_common_rate": at_common["fps"],
                          "lost_at_max_rate": measure(kind, cb, roi, 0, base_period, args,
                                                      cache)["lost"]}
        print(f"{row['roi']:>10} {row['camera_max_fps']:>11.0f} | " + " | ".join(cells))
        summary_rows.append(row)

    print("\nratios ours/peer (zero-loss rate: higher is better; CPU per frame: lower is better)")
    for row in summary_rows:
        peer = row["pyvcam-live"]
        for label in ("ours-callbacks", "ours-polling"):
            ours = row[label]
            rate_ratio = (ours["zero_loss_fps"] / peer["zero_loss_fps"]
                          if peer["zero_loss_fps"] else float("inf"))
            cpu_ratio = (ours["cpu_us_per_frame_at_common_rate"]
                         / peer["cpu_us_per_frame_at_common_rate"])
            print(f"  {row['roi']:>10} {label:>15}: zero-loss rate x{rate_ratio:.2f}, "
                  f"CPU/frame x{cpu_ratio:.2f}; lost at camera max: ours "
                  f"{ours['lost_at_max_rate']:.0f}, peer {peer['lost_at_max_rate']:.0f}")


def bench_copy(args: argparse.Namespace) -> None:
    """Print the copy-out bandwidth against numpy's copyto."""
    copies = [run_worker("copy", {"frames": 30 if args.quick else 60}, "prime-bsi")
              for _ in range(args.reps)]
    copy = median_result(copies)
    print(f"\ncopy-out, 2048x2048 uint16 ({copy['frame_bytes'] / 1e6:.1f} MB): engine "
          f"{copy['engine_GBps']:.2f} GB/s (p50 {copy['engine_copy_ns'] / 1e3:.0f} us), numpy "
          f"copyto {copy['numpy_GBps']:.2f} GB/s -> {copy['engine_GBps'] / copy['numpy_GBps']:.2f} "
          f"of numpy memcpy")


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer ROIs, reps and seconds")
    parser.add_argument("--reps", type=int, default=None)
    parser.add_argument("--only", choices=("rates", "copy", "stop"), default=None,
                        help="run one part only")
    parser.add_argument("--worker", nargs=2, metavar=("KIND", "SPEC"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        kind, spec = args.worker
        print(json.dumps(WORKERS[kind](json.loads(spec))))
        return

    args.reps = args.reps or (1 if args.quick else 3)
    if args.only in (None, "rates"):
        bench_rates(args)
    if args.only in (None, "copy"):
        bench_copy(args)
    if args.only in (None, "stop"):
        bench_stop(args)


if __name__ == "__main__":
    main()
