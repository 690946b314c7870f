"""What the EPICS server costs: preview throughput, trigger latency vs the in-process device.

Two measurements, each the median of several repetitions in the same run
(nothing passes or fails):

1. **Preview to an ophyd client.** A server (``python -m ophyd_pvcam.ioc``,
   simulated Prime BSI, whole 2048x2048 sensor, continuous acquisition) with
   ``--preview-size`` 256 and 512; the client subscribes to
   ``image1:ArrayData`` through ophyd and counts the updates it receives for a
   few seconds at several preview rates (``image1:MinCallbackTime``). Reported:
   previews/s delivered, MB/s, and the ratio to the rate asked for (capped by
   the camera's own frame rate, ``cam1:ArrayRate_RBV``).
2. **Acquire put -> completion.** ``trigger().wait()`` of
   :class:`~ophyd_pvcam.ioc.client.RemotePVCAMDetector` (put ``Acquire`` with
   completion, server acquires and flushes the file, client checks the
   outcome) against :class:`~ophyd_pvcam.device.detector.PVCAMDetector` in
   this process for the same frames, triggers interleaved. Reported: median
   seconds of each and their ratio (remote / in-process).

Usage::

    python benchmarks/bench_ioc.py            # full
    python benchmarks/bench_ioc.py --quick    # short check
    python benchmarks/bench_ioc.py --layer pyepics
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Optional

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import IocServer, configure_loopback, load_average  # noqa: E402


def preview_args(preview_size: int) -> list[str]:
    """The server's preview options: ``preview_size`` square, 5 Hz until a client asks more."""
    return ["--preview-size", str(preview_size), "--preview-rate", "5"]


def preview_rates(prefix: str, preview_size: int, rates: list[float], seconds: float,
                  reps: int) -> list[dict[str, Any]]:
    """Measure preview updates delivered to an ophyd subscription."""
    from ophyd_pvcam.ioc.client import RemotePVCAMDetector

    det = RemotePVCAMDetector(prefix, name=f"p{preview_size}")
    det.wait_for_connection(timeout=30)
    det.roi.set(None).wait(30)
    det.exposure_time.set(0.001).wait(10)
    det.cam.image_mode.set("Continuous").wait(10)
    received: list[float] = []
    token = det.preview.array_data.subscribe(lambda **kw: received.append(time.monotonic()),
                                             run=False)
    done = threading.Event()
    det.cam.acquire.put(1, use_complete=True, callback=lambda *a, **k: done.set())
    rows = []
    try:
        time.sleep(1.0)  # let the camera reach its rate
        time.sleep(1.5)  # ArrayRate_RBV is a rate over the server's last status period
        camera_fps = float(det.cam.array_rate.get(use_monitor=False)) or float("inf")
        for rate in rates:
            det.preview.min_callback_time.set(1.0 / rate).wait(10)
            delivered = []
            for _ in range(reps):
                time.sleep(0.3)
                received.clear()
                start = time.monotonic()
                time.sleep(seconds)
                count = sum(1 for stamp in received if stamp >= start)
                delivered.append(count / seconds)
            fps = statistics.median(delivered)
            megabytes = fps * preview_size * preview_size * 2 / 1e6
            rows.append({"size": preview_size, "asked": rate, "camera_fps": camera_fps,
                         "fps": fps, "MB/s": megabytes,
                         "ratio": fps / min(rate, camera_fps)})
    finally:
        det.cam.acquire.put(0)
        done.wait(30)
        det.preview.array_data.unsubscribe(token)
        det.destroy()
    return rows


def trigger_latency(prefix: str, frames: int, exposure: float, reps: int,
                    local_root: Path) -> dict[str, Any]:
    """Median trigger().wait() of the remote and the in-process detector, interleaved."""
    from ophyd_pvcam.device.detector import PVCAMDetector
    from ophyd_pvcam.ioc.client import RemotePVCAMDetector

    remote = RemotePVCAMDetector(prefix, name="remote")
    remote.wait_for_connection(timeout=30)
    local = PVCAMDetector("local", write_path=local_root, library="sim")
    timings: dict[str, list[float]] = {"remote": [], "local": []}
    try:
        for det in (remote, local):
            det.roi.set((0, 0, 256, 256)).wait(30)
            det.exposure_time.set(exposure).wait(10)
            det.frames_per_trigger.put(frames)
            det.stage()
        for det in (remote, local):      # warm-up, untimed
            det.trigger().wait(120)
            det.read()
        for _ in range(reps):
            for key, det in (("remote", remote), ("local", local)):
                start = time.perf_counter()
                det.trigger().wait(120)
                timings[key].append(time.perf_counter() - start)
                det.read()
    finally:
        for det in (remote, local):
            if getattr(det, "_armed", False):
                det.unstage()
        remote.destroy()
        local.close()
    medians = {key: statistics.median(values) for key, values in timings.items()}
    return {"frames": frames, "exposure": exposure, **medians,
            "ratio": medians["remote"] / medians["local"]}


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short run")
    parser.add_argument("--layer", default="caproto", choices=("caproto", "pyepics"))
    args = parser.parse_args(argv)
    configure_loopback()
    import ophyd

    ophyd.set_cl(args.layer)
    reps = 3 if args.quick else 7
    seconds = 1.0 if args.quick else 3.0
    rates = [5.0, 20.0] if args.quick else [5.0, 20.0, 50.0, 100.0]
    latency_cases = [(10, 0.001)] if args.quick else [(1, 0.001), (10, 0.001), (100, 0.001),
                                                      (10, 0.02)]
    print(f"ophyd control layer: {args.layer}; medians of {reps} repetitions; "
          f"load average before: {load_average()}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        preview_rows = []
        for size in (256, 512):
            server = IocServer(f"B{size}:", root / f"s{size}", preview_args(size))
            try:
                preview_rows += preview_rates(f"B{size}:", size, rates, seconds, reps)
            finally:
                server.stop()
        print("\npreview image1:ArrayData -> ophyd subscription (whole 2048x2048 sensor)")
        print(f"{'size':>6} {'asked Hz':>9} {'camera fps':>11} {'got /s':>8} {'MB/s':>7} "
              f"{'got/asked':>9}")
        for row in preview_rows:
            print(f"{row['size']:>6} {row['asked']:>9.0f} {row['camera_fps']:>11.1f} "
                  f"{row['fps']:>8.1f} {row['MB/s']:>7.2f} {row['ratio']:>9.2f}")
        server = IocServer("BT:", root / "latency", preview_args(256))
        try:
            latency = [trigger_latency("BT:", frames, exposure, reps, root / "local")
                       for frames, exposure in latency_cases]
        finally:
            server.stop()
        print("\nAcquire put -> completion vs in-process trigger (256x256, file written)")
        print(f"{'frames':>7} {'exposure':>9} {'remote s':>9} {'local s':>9} {'ratio':>7}")
        for row in latency:
            print(f"{row['frames']:>7} {row['exposure']:>9.3f} {row['remote']:>9.4f} "
                  f"{row['local']:>9.4f} {row['ratio']:>7.2f}")
    print(f"\nload average after: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
