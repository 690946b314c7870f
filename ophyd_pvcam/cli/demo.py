"""``ophyd-pvcam demo``: the main job, end to end on the simulated camera.

Counts and flies through a real RunEngine, writes HDF5 frame files, stores
the runs in the embedded local catalog, reads every frame back from the
catalog, checks each frame's stamped frame number, prints a summary table and
saves a PNG of a frame.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ophyd_pvcam.cli.exitcodes import EXIT_ERROR
from ophyd_pvcam.cli.options import check_output, positive_int, positive_seconds, table



def register(commands: Any, add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add the ``demo`` command to ``commands``."""
    parser = commands.add_parser(
        "demo", help="count and fly on the simulated camera, into the local catalog and back",
        description="Run a count and a fly scan on a simulated camera (default prime-bsi) through a "
                    "bluesky RunEngine, store them in the embedded local catalog, read every frame "
                    "back, and print a summary and the path of a PNG preview.")
    parser.add_argument("--data-dir", metavar="DIR",
                        help="catalog and frame folder (default: $PVCAM_DATA_DIR or the per-user data dir)")
    parser.add_argument("--count", type=positive_int, default=5, metavar="N",
                        help="points of the count scan (default 5)")
    parser.add_argument("--fly-frames", type=positive_int, default=500, metavar="N",
                        help="frames of the fly scan (default 500)")
    parser.add_argument("--exposure", type=positive_seconds, default=0.002, metavar="SECONDS",
                        help="exposure time (default 0.002 s)")
    parser.add_argument("--roi-size", type=positive_int, default=512, metavar="PIXELS",
                        help="side of the centred square ROI (default 512)")
    parser.add_argument("--png", metavar="PATH", help="where to save the frame preview "
                        "(default: <data-dir>/demo-frame.png)")
    parser.add_argument("--no-progress", action="store_true", help="do not draw progress bars")
    add_common(parser)
    parser.set_defaults(handler=run)


def _frame_numbers(run: Any) -> np.ndarray:
    """Per-frame FrameNr of a run, read back from the catalog (``cam_frame_number``)."""
    return np.asarray(run.v3["primary"]["cam_frame_number"].read()).reshape(-1).astype(np.int64)


def run(args: argparse.Namespace) -> int:
    """Run the demo; exit 1 if any frame read back is missing or out of order."""
    if args.png:
        # Checked before acquiring: a PNG that cannot be written should not cost two scans.
        check_output(Path(args.png), overwrite=True)
    if not args.library and os.environ.get("PVCAM_LIBRARY") != "sim":
        # The demo is for the simulator; --library opts into a real camera.
        os.environ["PVCAM_LIBRARY"] = "sim"
        os.environ.setdefault("PVCAM_SIM_CAMERAS", args.sim or "prime-bsi")

    from bluesky import RunEngine
    from bluesky.plans import count
    from bluesky.utils import ProgressBarManager

    from ophyd_pvcam import catalog
    from ophyd_pvcam.device.detector import PVCAMDetector
    from ophyd_pvcam.plans import fly_stream
    from ophyd_pvcam.preview import write_png

    data_dir = Path(args.data_dir).expanduser().resolve() if args.data_dir else catalog.default_path()
    print(f"catalog and frames: {data_dir}")
    client = catalog.local(data_dir)
    run_engine = RunEngine({})
    run_engine.subscribe(catalog.writer(client))
    if not args.no_progress and sys.stdout.isatty():  # tqdm's bars are cursor escapes
        run_engine.waiting_hook = ProgressBarManager()

    cam = PVCAMDetector("cam", write_path=catalog.frames_dir(data_dir))
    try:
        cam.follow_runs(run_engine)
        cam.record_per_frame()
        width, height = cam.camera.sensor_size
        side = min(args.roi_size, width, height)
        cam.roi.set(((width - side) // 2, (height - side) // 2, side, side)).wait(10)
        cam.exposure_time.set(args.exposure).wait(10)
        print(f"camera: {cam.camera.info.product} {cam.camera.name}, ROI {side} x {side}, "
              f"exposure {args.exposure * 1e3:g} ms")

        started = time.monotonic()
        (count_uid,) = run_engine(count([cam], args.count))
        count_seconds = time.monotonic() - started
        started = time.monotonic()
        (fly_uid,) = run_engine(fly_stream([cam], num_frames=args.fly_frames))
        fly_seconds = time.monotonic() - started
    finally:
        cam.close()

    rows, problems, preview_frame = [], [], None
    for plan, uid, expected, seconds in (("count", count_uid, args.count, count_seconds),
                                         ("fly_stream", fly_uid, args.fly_frames, fly_seconds)):
        run = client[uid]
        frames = run.v3["primary"]["cam_image"].read()
        numbers = _frame_numbers(run)
        # Each count point is a separate acquisition (FrameNr restarts at 1);
        # a fly scan is one acquisition numbered 1..N.
        in_order = bool(np.all(numbers == 1)) if plan == "count" else bool(
            np.array_equal(numbers, np.arange(1, len(numbers) + 1)))
        if len(frames) != expected or not in_order:
            problems.append(f"{plan}: {len(frames)} of {expected} frames read back, "
                            f"frame numbers {'in order' if in_order else 'out of order'}")
        lost = _frames_lost(run)
        rows.append([plan, uid[:8], str(len(frames)), f"{frames.shape[1]} x {frames.shape[2]}",
                     str(frames.dtype), str(lost), f"{len(frames) / seconds:.0f}",
                     "yes" if in_order else "NO"])
        preview_frame = frames[-1]

    print()
    print(table(rows, ["PLAN", "RUN", "FRAMES", "SHAPE", "DTYPE", "LOST", "FRAMES/S", "VERIFIED"]))
    png = Path(args.png) if args.png else data_dir / "demo-frame.png"
    write_png(preview_frame, png)
    print(f"\nframe preview: {png}")
    print(f"read the runs back with: ophyd_pvcam.catalog.local({str(data_dir)!r})[{fly_uid[:8]!r}]")
    if problems:
        for problem in problems:
            print(f"ophyd-pvcam demo: error: {problem}")
        return EXIT_ERROR
    return 0


def _frames_lost(run: Any) -> int:
    """Frames lost in a run: the per-frame ``cam_lost_before`` read back from the catalog."""
    return int(np.asarray(run.v3["primary"]["cam_lost_before"].read()).sum())




