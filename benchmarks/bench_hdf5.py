"""HDF5 frame-writer throughput against a raw sequential write of the same bytes.

For full Prime BSI (2048x2048) and Kinetix (3200x3200) uint16 frames this
measures, in the same run and interleaved repetition by repetition:

* ``raw``: ``open(...).write(frame)`` for every frame (the baseline),
* ``hdf5``: :class:`ophyd_pvcam.storage.HDF5FrameWriter`, uncompressed
  (direct chunk writes, SWMR, per-frame metadata), start to close,
* ``bitshuffle-lz4`` and ``blosc``: the same writer with compression.

Each number is the median of several repetitions (the page cache is synced,
untimed, before each one); the table gives MB/s of
pixel data ingested (median, and the slowest-fastest range: disks in virtual
machines are noisy), the ratio of medians to ``raw`` and the on-disk size
relative to the raw bytes.
Frames are synthetic but realistic (offset ~100 ADU, Poisson shot noise, a
Gaussian spot), so compression ratios mean something. Nothing passes or fails.

Usage::

    python benchmarks/bench_hdf5.py            # full: 7 repetitions, ~0.5 GB per write
    python benchmarks/bench_hdf5.py --quick    # fast check
    python benchmarks/bench_hdf5.py --fsync    # include fsync (disk-bound numbers)
    python benchmarks/bench_hdf5.py --dir /dev/shm   # tmpfs: CPU cost only, no disk
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ophyd_pvcam.engine.frame import Frame  # noqa: E402
from ophyd_pvcam.storage.hdf5 import HDF5FrameWriter  # noqa: E402

CAMERAS = {"Prime BSI": (2048, 2048), "Kinetix": (3200, 3200)}
COMPRESSIONS = ("bitshuffle-lz4", "blosc")
_DISTINCT_FRAMES = 4  # cycled, so consecutive frames differ without generating each one


def synthetic_frames(shape: tuple[int, int], count: int, seed: int = 0) -> list[np.ndarray]:
    """Return ``count`` realistic uint16 frames: offset + shot noise + a moving spot."""
    rng = np.random.default_rng(seed)
    height, width = shape
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    frames = []
    for i in range(count):
        cy, cx = height * (0.3 + 0.1 * i), width * (0.4 + 0.05 * i)
        spot = 3000.0 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (0.02 * width) ** 2))
        photons = rng.poisson(8.0 + spot)
        read_noise = rng.normal(0.0, 1.5, shape)
        frames.append(np.clip(100 + photons + read_noise, 0, 65535).astype(np.uint16))
    return frames


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def time_raw(path: Path, frames: list[np.ndarray], n: int, fsync: bool) -> float:
    """Seconds to write ``n`` frames as one sequential raw file."""
    start = time.perf_counter()
    with open(path, "wb") as stream:
        for i in range(n):
            stream.write(frames[i % len(frames)])
    if fsync:
        _fsync(path)
    return time.perf_counter() - start


def time_writer(path: Path, frames: list[np.ndarray], n: int, fsync: bool,
                compression: str | None) -> float:
    """Seconds from ``start`` to ``close`` of an HDF5FrameWriter given ``n`` frames."""
    shape = frames[0].shape
    records = [Frame(frame_number=i + 1, data=frames[i % len(frames)], index=i,
                     timestamp_bof=10 * i, timestamp_eof=10 * i + 5, host_time=time.time())
               for i in range(n)]
    start = time.perf_counter()
    writer = HDF5FrameWriter(path, shape, np.uint16, compression=compression, queue_size=16).start()
    for record in records:
        writer.submit(record)
    written = writer.close()
    if fsync:
        _fsync(path)
    elapsed = time.perf_counter() - start
    if written != n:
        raise RuntimeError(f"writer wrote {written} of {n} frames")
    return elapsed


def run(args: argparse.Namespace) -> list[dict]:
    """Measure every camera and method; return one row per (camera, method)."""
    workdir = Path(tempfile.mkdtemp(prefix="bench_hdf5_", dir=args.dir))
    rows = []
    try:
        for camera, shape in CAMERAS.items():
            frames = synthetic_frames(shape, _DISTINCT_FRAMES)
            frame_mb = frames[0].nbytes / 1e6
            n = max(2, int(args.megabytes / frame_mb))
            methods = {"raw": None, "hdf5": None, **{c: c for c in COMPRESSIONS}}
            times: dict[str, list[float]] = {m: [] for m in methods}
            sizes: dict[str, int] = {}
            names = list(methods)
            # Repetition -1 is an untimed warm-up (page cache, allocator, plugin loading).
            for rep in range(-1, args.repeats):
                # Rotate the order each repetition so no method always runs
                # right after the same other one (file deletion, writeback).
                order = names[rep % len(names):] + names[:rep % len(names)]
                for method in order:
                    compression = methods[method]
                    path = workdir / f"{method}_{rep}.bin"
                    # Start every measurement with no dirty pages, so one
                    # method does not pay for the previous one's writeback.
                    os.sync()
                    if method == "raw":
                        elapsed = time_raw(path, frames, n, args.fsync)
                    else:
                        elapsed = time_writer(path, frames, n, args.fsync, compression)
                    if rep >= 0:
                        times[method].append(elapsed)
                    sizes[method] = path.stat().st_size
                    path.unlink()
            raw_bytes = n * frames[0].nbytes
            raw_median = statistics.median(times["raw"])
            for method in methods:
                median = statistics.median(times[method])
                rows.append({
                    "camera": camera, "shape": f"{shape[0]}x{shape[1]}", "method": method,
                    "frames": n, "median_s": median, "mb_s": raw_bytes / median / 1e6,
                    "fps": n / median, "vs_raw": raw_median / median,
                    "mb_s_min": raw_bytes / max(times[method]) / 1e6,
                    "mb_s_max": raw_bytes / min(times[method]) / 1e6,
                    "size_ratio": sizes[method] / raw_bytes,
                })
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return rows


def print_table(rows: list[dict], args: argparse.Namespace) -> None:
    """Print the results as a fixed-width table."""
    print(f"HDF5 writer vs raw sequential write; median of {args.repeats} repetitions, "
          f"~{args.megabytes:.0f} MB per write, fsync={'on' if args.fsync else 'off'}, "
          f"{os.cpu_count()} CPUs")
    header = (f"{'camera':<10} {'frame':>9} {'method':<15} {'frames':>6} {'median s':>9} "
              f"{'MB/s':>8} {'MB/s range':>12} {'frames/s':>9} {'x raw':>6} {'size/raw':>9}")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['camera']:<10} {r['shape']:>9} {r['method']:<15} {r['frames']:>6} "
              f"{r['median_s']:>9.3f} {r['mb_s']:>8.0f} "
              f"{r['mb_s_min']:>5.0f}-{r['mb_s_max']:<6.0f} {r['fps']:>9.1f} {r['vs_raw']:>6.2f} "
              f"{r['size_ratio']:>9.3f}")


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run, print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 repetitions of ~100 MB")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--megabytes", type=float, default=500.0, help="pixel data per write")
    parser.add_argument("--fsync", action="store_true", help="fsync before stopping the clock")
    parser.add_argument("--dir", default=None, help="directory for the files (default: TMPDIR)")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.megabytes = 3, 100.0
    print_table(run(args), args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
