"""Streaming engine benchmark: the native frame pump against PyVCAM, burst to RAM, copy, stop.

Run::

    python benchmarks/bench_stream.py                 # everything (~15 min on 2 cores)
    python benchmarks/bench_stream.py --quick         # 1 rep, shorter runs
    python benchmarks/bench_stream.py --only rates    # one part: rates, burst, copy or stop

What is measured (never pass/fail; ratios against a baseline measured in the same run,
medians of ``--reps`` repetitions, the machine's load average printed with every table):

1. rates: for each ROI of a simulated Kinetix on its 8-bit "Speed" port (0.625 us per
   row: 3200x16 runs at 100 kHz), the camera at its maximum rate (exposure 0) for
   ``--seconds`` (10 s by default), drained by (a) our Stream with the native pump
   (``get_block`` + ``release``, EOF callbacks) and (b) PyVCAM's live mode
   (``start_live`` + ``poll_frame``), the peer baseline, with the same circular-buffer
   size in frames (ours, at the default ``buffer_seconds=1``, hands frames out in place
   from it, without a copy: its size is capped at half the host memory budget and 4 GiB,
   and PyVCAM gets exactly as many frames). Loss is judged by FrameNr: ours from the ledger's frame numbers (FRAME_INFO,
   and the stream's own loss count); PyVCAM's ``poll_frame`` gives no FrameNr (its
   ``frame_count`` is its own counter), so its frames are identified by the FrameNr
   the simulator stamps into their first bytes (``PVCAM_SIM_FRAME_STAMP=1``). Engine CPU per frame: on-CPU time of the whole process minus
   the simulator's producer thread ("pvcam-acq-*"), from /proc/self/task/*/schedstat,
   divided by the frames the consumer received.
2. burst: 300 Kinetix full frames (8-bit, 10 MB each) at the camera's 500 fps into the
   host ring while the consumer does nothing, then drained: frames lost, and the peak
   RSS (VmHWM) against the host memory budget (PVCAM_HOST_MEMORY_BUDGET, set to 4G).
3. copy: the pump's copy-out bandwidth on 2048x2048 16-bit frames (its "copy"
   histogram) as a fraction of numpy's ``copyto`` in the same process.
4. stop: ``Stream.stop()`` latency with frames flowing, against the camera's frame period.

Each measurement runs in a fresh subprocess (PyVCAM loads libpvcam.so.2 through the
dynamic loader, so its subprocess gets LD_LIBRARY_PATH=sim.library_dir()).
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

#: Circular buffer of every consumer, in seconds of frames at the camera's rate (the
#: stream's default; its size in frames is then given to PyVCAM too, see bench_rates).
RING_SECONDS = 1.0


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


def _loadavg() -> float:
    with open("/proc/loadavg") as fh:
        return float(fh.read().split()[0])


def _peak_rss() -> int:
    """VmHWM of this process in bytes."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def _result(numbers: "Any", t_first: float, t_last: float, cpu0: tuple[int, int],
            cpu1: tuple[int, int], extra: dict) -> dict:
    """Loss and CPU from the FrameNrs the consumer received (ledger / FRAME_INFO)."""
    import numpy as np

    numbers = np.asarray(numbers, dtype=np.int64)
    frames = len(numbers)
    distinct = len(np.unique(numbers)) if frames else 0
    span = int(numbers.max() - numbers.min() + 1) if frames else 0
    engine_cpu = (cpu1[0] - cpu0[0]) - (cpu1[1] - cpu0[1])
    return {
        "frames": frames,
        "lost": span - distinct,  # FrameNrs the camera produced in the run but never arrived
        "corrupt": frames - distinct,  # a FrameNr twice: a slot read twice
        "fps": (frames - 1) / (t_last - t_first) if frames > 1 and t_last > t_first else 0.0,
        "cpu_us_per_frame": engine_cpu / 1e3 / max(1, frames),
        "load": _loadavg(),
        **extra,
    }


def _configure(camera: Any, spec: dict) -> None:
    camera.readout_port = spec["port"]
    camera.roi = tuple(spec["roi"])
    camera.exposure_time = spec["exposure_us"] * 1e-6


def worker_ours(spec: dict) -> dict:
    """Stream for spec["seconds"] with the native pump; report rate, loss, CPU."""
    import numpy as np

    from ophyd_pvcam.engine.camera.camera import Camera
    from ophyd_pvcam.engine.stream.stream import Stream
    from ophyd_pvcam.sdk import load

    with Camera.open(library=load(simulated=True)) as camera:
        _configure(camera, spec)
        stream = Stream(camera, use_callbacks=spec["callbacks"], pump=spec["pump"],
                        buffer_seconds=spec["buffer_seconds"])
        stream.start()
        chunks = []
        first = stream.get_block(30)
        t_first = time.perf_counter()
        cpu0 = _cpu_ns()
        chunks.append(first.frame_numbers.copy())
        first.release()
        t_last = t_first
        deadline = t_first + spec["seconds"]
        while t_last < deadline:
            block = stream.get_block(30)
            if block is None:
                break
            t_last = time.perf_counter()
            chunks.append(block.frame_numbers.copy())
            block.release()
        cpu1 = _cpu_ns()
        stream.stop()
        stats = stream.stats()
        pump = stream._run.loop.pump.counters()  # noqa: SLF001 (a benchmark may look inside)
        extra = {"engine_lost": stats.frames_lost, "buffer_frames": stats.buffer_frames,
                 "frame_bytes": stats.frame_bytes, "max_batch": stats.max_batch,
                 "inplace": pump.frames_inplace, "copied": pump.frames_copied,
                 "gap_lost": stats.lost_by_reason.get("gap", 0)}
    return _result(np.concatenate(chunks), t_first, t_last, cpu0, cpu1, extra)


def _stamp(array: Any) -> int:
    """The FrameNr the simulator stamps into a frame's first 4 bytes.

    Only for PyVCAM: ``poll_frame`` gives no FrameNr (its ``frame_count`` is its
    own counter), so its frames are identified by the simulator's stamp
    (``PVCAM_SIM_FRAME_STAMP=1`` where the stamp is opt-in).
    """
    return int.from_bytes(array.reshape(-1).view("uint8")[:4].tobytes(), "little")


def worker_pyvcam(spec: dict) -> dict:
    """PyVCAM's live mode on the simulator for spec["seconds"]; FrameNr from the stamp."""
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
        numbers = []
        frame, _, _ = cam.poll_frame()
        t_first = time.perf_counter()
        cpu0 = _cpu_ns()
        numbers.append(_stamp(frame["pixel_data"]))
        t_last = t_first
        deadline = t_first + spec["seconds"]
        while t_last < deadline:
            frame, _, _ = cam.poll_frame(timeout_ms=30000)
            t_last = time.perf_counter()
            numbers.append(_stamp(frame["pixel_data"]))
        cpu1 = _cpu_ns()
        cam.finish()
    finally:
        cam.close()
        pvc.uninit_pvcam()
    return _result(numbers, t_first, t_last, cpu0, cpu1, {})


def worker_burst(spec: dict) -> dict:
    """spec["frames"] full frames into the host ring with an idle consumer, then drained."""
    import numpy as np

    from ophyd_pvcam.engine.budget import host_memory_budget
    from ophyd_pvcam.engine.camera.camera import Camera
    from ophyd_pvcam.engine.stream.stream import Stream, StreamState
    from ophyd_pvcam.sdk import load

    rss_before = _peak_rss()
    with Camera.open(library=load(simulated=True)) as camera:
        _configure(camera, spec)
        fps = 1.0 / camera.acquisition_settings().frame_period_s
        stream = Stream(camera, max_frames=spec["frames"], pump="native")
        t0 = time.perf_counter()
        stream.start()  # allocates (and faults in) the burst buffer: the arm time
        t_armed = time.perf_counter() - t0
        state = stream.wait(120)  # the consumer is busy elsewhere: everything goes to RAM
        numbers, eofs, hosts = [], [], []
        while (block := stream.get_block(0)) is not None:
            numbers.append(block.frame_numbers.copy())
            eofs.append(block.timestamp_eof.copy())
            hosts.append(block.host_time.copy())
            block.release()
        stats = stream.stats()
        ring = stream._run.loop.pump.counters()  # noqa: SLF001 (a benchmark may look inside)
    got = np.concatenate(numbers) if numbers else np.array([], np.int64)
    eof = np.concatenate(eofs) if eofs else np.zeros(2)
    host = np.concatenate(hosts) if hosts else np.zeros(2)
    # the camera's own rate (EOF timestamps, 100 us units) and the rate frames reached the ring
    cam_rate = (len(eof) - 1) / ((eof[-1] - eof[0]) * 1e-4) if eof[-1] > eof[0] else 0.0
    ring_rate = (len(host) - 1) / (host[-1] - host[0]) if host[-1] > host[0] else 0.0
    return {"frames": len(got), "lost": stats.frames_lost, "arm_s": t_armed,
            "eof_fps": cam_rate, "ring_fps": ring_rate,
            "contiguous": bool(len(got) and np.array_equal(got, np.arange(1, len(got) + 1))),
            "complete": state is StreamState.COMPLETE, "camera_fps": fps,
            "frame_bytes": stats.frame_bytes,
            "budget": host_memory_budget(), "peak_rss": _peak_rss(), "rss_before": rss_before,
            "ring_peak_frames": ring.ring_peak, "sdk_ring_bytes": stats.buffer_frames
            * stats.frame_bytes, "load": _loadavg()}


def worker_copy(spec: dict) -> dict:
    """Engine copy bandwidth on full frames vs numpy copyto in the same process."""
    import numpy as np

    from ophyd_pvcam.engine.camera.camera import Camera
    from ophyd_pvcam.engine.stream.stream import Stream
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
    from ophyd_pvcam.engine.camera.camera import Camera
    from ophyd_pvcam.engine.stream.stream import Stream
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
           "stop": worker_stop, "burst": worker_burst}


# ---------------------------------------------------------------------------- parent side
def run_worker(kind: str, spec: dict, model: str, env_extra: Optional[dict] = None) -> dict:
    from ophyd_pvcam import sim

    # Loss is judged from the simulator's opt-in FrameNr pixel stamp.
    env = {**os.environ, **sim.environment(), "PVCAM_SIM_CAMERAS": model,
           "PVCAM_SIM_FRAME_STAMP": "1", **(env_extra or {})}
    env.pop("PVCAM_SIM_FAULTS", None)
    proc = subprocess.run([sys.executable, __file__, "--worker", kind, json.dumps(spec)],
                          capture_output=True, text=True, env=env, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} worker failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def readout_seconds(model: str, port: str, roi: tuple) -> tuple[float, int]:
    """The camera's fastest frame period for this ROI, and our ring size at that rate."""
    code = ("import json; from ophyd_pvcam.sdk import load; "
            "from ophyd_pvcam.engine.camera.camera import Camera; "
            "from ophyd_pvcam.engine.stream.buffers import plan_buffer_frames\n"
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
    keys = [k for k, v in results[0].items() if isinstance(v, (int, float))
            and not isinstance(v, bool)]
    return {k: statistics.median(r[k] for r in results) for k in keys}


#: The ROIs of the rates table (Kinetix sensor width, the rows that set the rate).
RATE_ROIS = ((0, 0, 3200, 16), (0, 0, 3200, 64), (0, 0, 3200, 256), (0, 0, 3200, 3200))
#: PyVCAM's live mode comparison: ours with the native pump (callbacks), the peer.
CONSUMERS = (("ours", "native", True, "ours-native"), ("pyvcam", None, None, "pyvcam-live"))


def bench_rates(args: argparse.Namespace) -> None:
    """Zero loss at the camera's maximum and CPU per frame, native pump vs PyVCAM."""
    from ophyd_pvcam.engine.stream.buffers import plan_buffer_frames

    rois = RATE_ROIS[::3] + RATE_ROIS[2:3] if args.quick else RATE_ROIS
    print(f"\nrates: Kinetix 'Speed' port (8-bit) at its maximum rate (exposure 0), "
          f"{args.seconds:.0f} s per run, {args.reps} rep(s) (median; the runs alternate "
          f"consumers); loss by FrameNr; load average {_loadavg():.2f} at start")
    print(f"{'ROI':>10} {'cam fps':>8} | {'consumer':>12} {'frames':>9} {'lost':>9} "
          f"{'fps':>8} {'us CPU/frame':>12} {'load':>5}")
    rows = []
    for roi in rois:
        period, frame_bytes = readout_seconds("kinetix", "Speed", roi)
        ring = plan_buffer_frames(frame_bytes, period, buffer_seconds=RING_SECONDS)
        spec = {"port": "Speed", "roi": list(roi), "exposure_us": 0, "seconds": args.seconds,
                "buffer_frames": ring, "buffer_seconds": RING_SECONDS}
        runs: dict[str, list[dict]] = {label: [] for *_, label in CONSUMERS}
        for _ in range(args.reps):
            for kind, pump, callbacks, label in CONSUMERS:
                runs[label].append(run_worker(kind, {**spec, "pump": pump,
                                                     "callbacks": callbacks}, "kinetix"))
                if kind == "ours":  # the peer gets the very SDK buffer size ours used
                    spec = {**spec, "buffer_frames": runs[label][-1]["buffer_frames"]}
        row = {"roi": f"{roi[2]}x{roi[3]}", "camera_fps": 1 / period}
        for *_, label in CONSUMERS:
            m = median_result(runs[label])
            m["worst_lost"] = max(r["lost"] + r["corrupt"] for r in runs[label])
            row[label] = m
            where = (f"  in place {m['inplace'] / max(1, m['inplace'] + m['copied']):.0%}, "
                     f"SDK buffer {spec['buffer_frames']} frames, lost as callback gaps (worst "
                     f"rep) {max(r['gap_lost'] for r in runs[label])}"
                     if "inplace" in m else "")
            print(f"{row['roi']:>10} {row['camera_fps']:>8.0f} | {label:>12} {m['frames']:>9.0f} "
                  f"{m['worst_lost']:>9.0f} {m['fps']:>8.0f} {m['cpu_us_per_frame']:>12.2f} "
                  f"{m['load']:>5.2f}{where}")
        rows.append(row)
    print("\nratios ours-native / pyvcam-live (CPU per frame: lower is better; delivered "
          "fraction = frames received / frames the camera made in the run)")
    for row in rows:
        ours, peer = row["ours-native"], row["pyvcam-live"]
        cpu = ours["cpu_us_per_frame"] / peer["cpu_us_per_frame"]
        share = [r["frames"] / max(1.0, r["frames"] + r["lost"]) for r in (ours, peer)]
        print(f"  {row['roi']:>10}: CPU/frame x{cpu:.2f}; frames lost (worst rep) ours "
              f"{ours['worst_lost']:.0f}, peer {peer['worst_lost']:.0f}; delivered fraction "
              f"ours {share[0]:.4f}, peer {share[1]:.4f}")


def bench_burst(args: argparse.Namespace) -> None:
    """300 Kinetix full frames at 500 fps into the host ring, then drained."""
    budget = "4G"
    spec = {"port": "Speed", "roi": [0, 0, 3200, 3200], "exposure_us": 0, "frames": 300}
    runs = [run_worker("burst", spec, "kinetix", {"PVCAM_HOST_MEMORY_BUDGET": budget})
            for _ in range(args.reps)]
    m = median_result(runs)
    gib = 1024 ** 3
    print(f"\nburst: {spec['frames']} Kinetix full frames (8-bit, {m['frame_bytes'] / 1e6:.1f} "
          f"MB) at the camera's {m['camera_fps']:.0f} fps into the host ring, consumer idle "
          f"until the end; PVCAM_HOST_MEMORY_BUDGET={budget}; {args.reps} rep(s), median")
    print(f"  frames lost (worst rep): {max(r['lost'] for r in runs)}; every frame 1..300 "
          f"read back in order: {all(r['contiguous'] and r['frames'] == 300 for r in runs)}")
    print(f"  rate by the camera's EOF timestamps {m['eof_fps']:.0f} fps, frames into the ring "
          f"{m['ring_fps']:.0f} fps (camera {m['camera_fps']:.0f}); ring peak "
          f"{m['ring_peak_frames']:.0f} frames; arm time (buffer allocated and faulted in) "
          f"{m['arm_s']:.1f} s")
    print(f"  peak RSS {m['peak_rss'] / gib:.2f} GiB vs budget {m['budget'] / gib:.2f} GiB "
          f"(x{m['peak_rss'] / m['budget']:.2f}); of which before streaming "
          f"{m['rss_before'] / gib:.2f} GiB (interpreter, numpy) and the SDK buffer "
          f"{m['sdk_ring_bytes'] / gib:.2f} GiB (inside the budget); load {m['load']:.2f}")


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
    parser.add_argument("--only", choices=("rates", "burst", "copy", "stop"), default=None,
                        help="run one part only")
    parser.add_argument("--seconds", type=float, default=None,
                        help="seconds per rates run (default 10, --quick 3)")
    parser.add_argument("--worker", nargs=2, metavar=("KIND", "SPEC"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        kind, spec = args.worker
        print(json.dumps(WORKERS[kind](json.loads(spec))))
        return

    args.reps = args.reps or (1 if args.quick else 3)
    args.seconds = args.seconds or (3.0 if args.quick else 10.0)
    if args.only in (None, "rates"):
        bench_rates(args)
    if args.only in (None, "burst"):
        bench_burst(args)
    if args.only in (None, "copy"):
        bench_copy(args)
    if args.only in (None, "stop"):
        bench_stop(args)


if __name__ == "__main__":
    main()
