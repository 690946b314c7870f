"""Frame metadata: what decoding the headers costs, in a block and in a stream.

Run::

    python benchmarks/bench_metadata.py            # ~1 min on 2 cores
    python benchmarks/bench_metadata.py --reps 7 --seconds 4

What is measured (never pass/fail; medians of ``--reps`` repetitions, the machine's load
average printed with every table, each figure against a baseline of the same run):

1. decode: ``decode_block`` on blocks of 1, 16 and 256 raw frames (Prime BSI layout,
   64x64 pixels, version-2 headers; the layout known, as the run's decoder keeps it), and
   ``MetadataDecoder.frame`` one frame at a time (the Python pump's path), in
   microseconds per frame, against the baseline of
   the SDK's per-frame Python decoder ``ophyd_pvcam.sdk.decode_frame_metadata`` (one call
   per frame, what a decoder without batching does).
2. stream: a simulated Kinetix at its maximum rate (exposure 0, 8-bit "Speed" port,
   3200 x 16 ROI) drained by ``Stream.get_block`` + ``release`` (native pump) for
   ``--seconds``, with metadata on against metadata off (the baseline): frames received
   per second, frames lost, engine CPU per frame is not separated from the simulator's
   here (see bench_stream.py for that).
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from ophyd_pvcam import sim
from ophyd_pvcam.engine.camera.camera import Camera
from ophyd_pvcam.engine.frame import Frame
from ophyd_pvcam.engine.metadata import MetadataDecoder, decode_block
from ophyd_pvcam.engine.stream.stream import Stream
from ophyd_pvcam.sdk import decode_frame_metadata


def _raw_frames(count: int) -> np.ndarray:
    """``count`` raw metadata frames as the simulated Prime BSI writes them (64x64)."""
    sim.set_cameras("prime-bsi")
    with Camera.open() as cam:
        cam.roi = (0, 0, 64, 64)
        cam.exposure_time = 0.001
        with Stream(cam, max_frames=count) as stream:
            block = None
            frames = []
            while sum(len(f) for f in frames) < count:
                block = stream._run.queue.loop.pump.take(10.0, count)  # raw, undecoded
                frames.append(np.array(block.data))
                block.release()
    return np.concatenate(frames)[:count]


def bench_decode(reps: int) -> list[tuple[str, float, float]]:
    raw = _raw_frames(256)
    rows = []
    base = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for frame in raw:
            decode_frame_metadata(frame)
        base.append((time.perf_counter() - t0) / len(raw) * 1e6)
    baseline = statistics.median(base)
    rows.append(("per-frame decode_frame_metadata (baseline)", baseline, 1.0))
    # The layout found once, as MetadataDecoder keeps it between blocks.
    layout = decode_block(raw[:1], np.uint16)[3]
    for size in (1, 16, 256):
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            for start in range(0, len(raw), size):
                decode_block(raw[start:start + size], np.uint16, layout)
            times.append((time.perf_counter() - t0) / len(raw) * 1e6)
        median = statistics.median(times)
        rows.append((f"decode_block, blocks of {size}", median, median / baseline))
    # The Python pump's path: one Frame at a time through the run's decoder.
    decoder = MetadataDecoder(np.uint16)
    times = []
    for _ in range(reps):
        frames = [Frame(i + 1, np.array(raw[i])) for i in range(len(raw))]
        t0 = time.perf_counter()
        for frame in frames:
            decoder.frame(frame)
        times.append((time.perf_counter() - t0) / len(raw) * 1e6)
    median = statistics.median(times)
    rows.append(("MetadataDecoder.frame (Python pump, per frame)", median, median / baseline))
    return rows


def _stream_rate(metadata: bool, seconds: float) -> tuple[float, int]:
    sim.set_cameras("kinetix")
    with Camera.open() as cam:
        cam.readout_port = "Speed"
        cam.roi = (0, 0, 3200, 16)
        cam.exposure_time = 0
        received = 0
        stream = Stream(cam, pump="native", metadata=metadata, buffer_seconds=0.25)
        stream.start()
        t0 = time.monotonic()
        while time.monotonic() - t0 < seconds:
            block = stream.get_block(1.0)
            if block is not None:
                received += len(block)
                block.release()
        elapsed = time.monotonic() - t0
        stream.stop()
        while (block := stream.get_block(0)) is not None:
            block.release()
        lost = stream.stats().frames_lost
    return received / elapsed, lost


def bench_stream(reps: int, seconds: float) -> list[tuple[str, float, float, float]]:
    results: dict[bool, list[tuple[float, int]]] = {False: [], True: []}
    for _ in range(reps):
        for metadata in (False, True):  # interleaved: the machine's noise hits both
            results[metadata].append(_stream_rate(metadata, seconds))
    base = statistics.median(r for r, _ in results[False])
    rows = []
    for metadata, label in ((False, "metadata off (baseline)"), (True, "metadata on")):
        rate = statistics.median(r for r, _ in results[metadata])
        lost = statistics.median(lost for _, lost in results[metadata])
        rows.append((label, rate, rate / base, lost))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    rows = bench_decode(args.reps)
    print(f"\n1. decode, us per frame, median of {args.reps} (load {os.getloadavg()[0]:.2f})")
    print(f"{'':48s} {'us/frame':>9s} {'x baseline':>11s}")
    for label, value, ratio in rows:
        print(f"{label:48s} {value:9.2f} {ratio:11.3f}")
    stream_rows = bench_stream(args.reps, args.seconds)
    print(f"\n2. stream, Kinetix 3200x16 Speed port at max rate, {args.seconds:g} s, median of "
          f"{args.reps} (load {os.getloadavg()[0]:.2f})")
    print(f"{'':28s} {'frames/s':>10s} {'x baseline':>11s} {'lost':>8s}")
    for label, rate, ratio, lost in stream_rows:
        print(f"{label:28s} {rate:10.0f} {ratio:11.3f} {lost:8.0f}")
    print(f"\nload average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
