"""Step-scan benchmark of the device: count points per second and trigger latency by mechanism.

Run::

    python benchmarks/bench_device.py            # full (~2.5 min on 2 cores)
    python benchmarks/bench_device.py --quick    # ~40 s
    python benchmarks/bench_device.py --json out.json

What is measured (never pass/fail; ratios against a baseline measured in the same run):

1. A real RunEngine runs ``bluesky.plans.count([cam], N)`` on the simulated
   Prime BSI for each configuration (ROI 64 x 64 with 1 ms exposure and
   512 x 512 with 2 ms, each with ``frames_per_trigger`` 1 and 10) and each
   trigger mechanism, interleaved within every repetition. ``trigger`` is
   wrapped to record when the RunEngine called it and when its status
   finished: *per point* is the median gap between consecutive trigger calls
   (the whole step: trigger, wait, read, event, asset documents), *latency*
   the median time from trigger call to status done (frames flushed to the
   file). Medians of ``--reps`` repetitions; every run is checked (frames in
   the file, lost frames).
2. Baseline: the camera's own frame period, measured from the EOF
   timestamps of a free-running stream in the same run; ``period x
   frames_per_trigger`` is the physical lower bound of one point, and every
   per-point time and latency is printed as a ratio to it. The RunEngine's
   own cost of a point is measured with ``ophyd.sim.det`` (``RE floor``).
3. Mechanism floor without RunEngine or device (``--no-engine`` skips it):
   N frames per point from the engine straight into an HDF5FrameWriter and a
   flush, including a persistent stream in ``software_edge`` trigger mode that
   is started once and triggered per frame (what a "software-triggered
   stream" would cost; the device does not use it: one FrameNr sequence
   across points, and a stall detector that would fire between points).
4. Capabilities (``--no-checks`` skips them): per mechanism, a count on a
   camera that skips every 4th FrameNr (are the losses reported, is any
   garbage frame written?), a stall (which error, how soon) and an unstage
   while a trigger waits on a stalled camera (how long it blocks).

Trigger mechanisms of the device (swapped through ``controller.make_factory``):

``stream-1s``
    One engine Stream per trigger with the engine's default circular buffer
    of one second of frames (the path before this benchmark).
``sequence``
    ``acquire_sequence`` per trigger on a thread, frames to the file through
    its consumer, its per-frame timeout translated into a StallError
    (a prototype defined here: it cannot be stopped before its timeout, sees
    no skipped FrameNr and records no frame timestamps).
``stream-fit-late``
    One engine Stream per trigger with a circular buffer of the trigger's
    frames plus headroom (``ophyd_pvcam.device.streams.fitted_ring_frames``),
    the status finishing after the stream stopped.
``stream-fit``
    The same, the status finishing as soon as the frames are flushed while
    the stream stops (``Acquisition.finish_before_stop``): the device's default.

``sequence`` also finishes before its ``pl_exp_finish_seq``. In the
mechanism floor (3.), ``stream-fit`` and ``stream-1s`` wait for the stop.
"""
from __future__ import annotations

import argparse
import functools
import json
import logging
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Optional

#: (ROI side, exposure [s], frames_per_trigger)
CONFIGS = [(64, 0.001, 1), (64, 0.001, 10), (512, 0.002, 1), (512, 0.002, 10)]


# ---------------------------------------------------------------------------- sequence prototype
class SequenceRun:
    """A Stream look-alike that runs one ``acquire_sequence`` on a named thread.

    Implements what :class:`ophyd_pvcam.device.acquisition.Acquisition` uses
    of a Stream: ``add_consumer``, ``add_done_callback``, ``start``, ``stop``,
    ``state``, ``error``, ``stats()``.

    Parameters
    ----------
    camera : Camera
    max_frames : int
        Frames of the sequence.
    timeout : float
        Longest wait for each frame; exceeding it ends the run STALLED.
    """

    def __init__(self, camera: Any, max_frames: int, timeout: float) -> None:
        from ophyd_pvcam.engine.stream.stream import StreamState

        self.camera = camera
        self.max_frames = int(max_frames)
        self.timeout = float(timeout)
        self.state = StreamState.IDLE
        self.error: Optional[BaseException] = None
        self._consumers: list[Callable[[Any], None]] = []
        self._done: list[Callable[[Any], None]] = []
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._delivered = 0

    def add_consumer(self, consumer: Callable[[Any], None]) -> None:
        """Call ``consumer(frame)`` for every frame (on the sequence thread)."""
        self._consumers.append(consumer)

    def add_done_callback(self, callback: Callable[[Any], None]) -> None:
        """Call ``callback(self)`` once the sequence ended."""
        self._done.append(callback)

    def start(self) -> None:
        """Start the sequence thread."""
        from ophyd_pvcam.engine.stream.stream import StreamState

        self.state = StreamState.RUNNING
        self._thread = threading.Thread(target=self._run, name=f"pvcam-seq-{self.camera.name}",
                                        daemon=True)
        self._thread.start()

    def _deliver(self, frame: Any) -> None:
        if self._stop.is_set():
            raise _Stopped()
        for consumer in self._consumers:
            consumer(frame)
        self._delivered += 1

    def _run(self) -> None:
        from ophyd_pvcam.engine.errors import AcquisitionTimeoutError, StallError
        from ophyd_pvcam.engine.camera.sequence import acquire_sequence
        from ophyd_pvcam.engine.stream.stream import StreamState

        try:
            acquire_sequence(self.camera, self.max_frames, timeout=self.timeout,
                             consumer=self._deliver)
            self.state = StreamState.COMPLETE
        except _Stopped:
            self.state = StreamState.STOPPED
        except AcquisitionTimeoutError as exc:
            diagnostics = {"camera": self.camera.name, "frames_delivered": self._delivered,
                           "timeout_s": self.timeout}
            self.error = StallError(f"{self.camera.name}: no frame for {self.timeout:.3g} s after "
                                    f"{self._delivered} frame(s) ({exc})", diagnostics,
                                    "acquire_sequence")
            self.state = StreamState.STALLED
        except BaseException as exc:  # noqa: BLE001 - reported through the state, like a Stream
            self.error = exc
            self.state = StreamState.FAILED
        for callback in self._done:
            callback(self)

    def stop(self) -> None:
        """Ask the sequence to end at its next frame and join its thread."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def stats(self) -> Any:
        """Counters the Acquisition reads (a sequence counts no lost frames)."""
        return SimpleNamespace(frames_lost=0, callbacks_missed=0)


class _Stopped(Exception):
    """Raised from the consumer to abort a sequence on stop()."""


def sequence_factory(camera: Any, *, buffer_mode: str = "auto",
                     stall_timeout: Optional[float] = None, stall_count: int = 3) -> Callable:
    """A ``make_factory`` replacement producing :class:`SequenceRun` objects.

    The per-frame timeout is ``stall_timeout x stall_count`` (the time after
    which a stream declares a stall); ``buffer_mode`` has no meaning here.
    """
    from ophyd_pvcam.engine.stream.health import default_stall_timeout

    def make(max_frames: Optional[int]) -> SequenceRun:
        period = camera.acquisition_settings().frame_period_s
        timeout = (stall_timeout or default_stall_timeout(period)) * stall_count
        return SequenceRun(camera, max_frames, timeout)
    return make


def mechanisms() -> dict[str, tuple[Callable, bool]]:
    """Name -> (``make_factory``, ``Acquisition.finish_before_stop``) of every mechanism."""
    from ophyd_pvcam.device.streams import stream_factory

    return {
        "stream-1s": (functools.partial(stream_factory, fit_buffer=False), False),
        "sequence": (sequence_factory, True),
        "stream-fit-late": (stream_factory, False),
        "stream-fit": (stream_factory, True),
    }


def use_mechanism(det: Any, name: str) -> None:
    """Make ``det`` trigger with mechanism ``name``."""
    from ophyd_pvcam.device.acquisition import Acquisition

    factory, early = mechanisms()[name]
    det.controller.make_factory = factory
    Acquisition.finish_before_stop = early


# ---------------------------------------------------------------------------- measurements
def frame_period(camera: Any, frames: int = 60) -> float:
    """The camera's real frame period [s]: mean EOF-timestamp gap of a free-running stream."""
    from ophyd_pvcam.engine.stream.stream import Stream

    stamps: list[int] = []
    with Stream(camera, max_frames=frames) as stream:
        for frame in stream:
            stamps.append(frame.timestamp_eof)
            stream.release(frame)
    return (stamps[-1] - stamps[0]) * 1e-4 / (len(stamps) - 1)


def timed_count(RE: Any, det: Any, points: int) -> dict[str, Any]:
    """Run ``count([det], points)``; return per-point gap, latency, totals."""
    import bluesky.plans as bp

    calls: list[float] = []
    dones: list[float] = []
    original = det.trigger

    def trigger() -> Any:
        calls.append(time.perf_counter())
        status = original()
        status.add_callback(lambda _status: dones.append(time.perf_counter()))
        return status

    det.trigger = trigger
    try:
        started = time.perf_counter()
        RE(bp.count([det], points))
        total = time.perf_counter() - started
    finally:
        del det.trigger
    gaps = [b - a for a, b in zip(calls, calls[1:])]
    return {"per_point": statistics.median(gaps) if gaps else total,
            "latency": statistics.median(d - c for c, d in zip(calls, dones)) if dones else None,
            "total": total}


def check_file(det: Any, expected: int) -> int:
    """Frames in the detector's last file (must equal ``expected``)."""
    import h5py

    from ophyd_pvcam.storage.layout import DATA_PATH

    with h5py.File(det.file_path, "r", swmr=True) as h5:
        frames = h5[DATA_PATH].shape[0]
    if frames != expected:
        raise RuntimeError(f"{det.file_path}: {frames} frames, expected {expected}")
    return frames


def bench_device(args: argparse.Namespace, workdir: Path) -> list[dict[str, Any]]:
    """RunEngine count per configuration and mechanism; medians over repetitions."""
    from bluesky import RunEngine
    from ophyd.sim import det as sim_det

    from ophyd_pvcam.device.detector import PVCAMDetector

    RE = RunEngine({})
    floor = [timed_count(RE, sim_det, args.points)["per_point"] for _ in range(args.reps)]
    rows = [{"config": "RE floor (ophyd.sim.det)", "mechanism": "-",
             "per_point": statistics.median(floor)}]
    det = PVCAMDetector("cam", library="sim", write_path=workdir / "frames")
    try:
        for side, exposure, per_trigger in CONFIGS:
            det.roi.set((0, 0, side, side)).wait(10)
            det.exposure_time.set(exposure).wait(10)
            det.frames_per_trigger.put(per_trigger)
            period = frame_period(det.camera)
            results: dict[str, list[dict]] = {name: [] for name in mechanisms()}
            lost = {name: 0 for name in mechanisms()}
            for _ in range(args.reps):
                for name in mechanisms():
                    use_mechanism(det, name)
                    results[name].append(timed_count(RE, det, args.points))
                    check_file(det, args.points * per_trigger)
                    lost[name] += det.frames_lost.get()
            use_mechanism(det, "stream-fit")
            bound = period * per_trigger
            for name, runs in results.items():
                per_point = statistics.median(r["per_point"] for r in runs)
                latency = statistics.median(r["latency"] for r in runs)
                total = statistics.median(r["total"] for r in runs)
                rows.append({
                    "config": f"{side}x{side} {exposure * 1e3:g} ms x{per_trigger}",
                    "mechanism": name, "frame_period": period, "bound": bound,
                    "per_point": per_point, "latency": latency,
                    "points_per_s": 1.0 / per_point, "per_point_ratio": per_point / bound,
                    "latency_ratio": latency / bound,
                    "run_overhead": total - args.points * per_point, "frames_lost": lost[name],
                })
            print(f"  done: {side}x{side} x{per_trigger} (frame period {period * 1e3:.2f} ms)",
                  file=sys.stderr)
    finally:
        det.close()
    return rows


# ---------------------------------------------------------------------------- capability checks
def _stamps(path: Path) -> list[int]:
    import h5py
    import numpy as np

    from ophyd_pvcam.storage.layout import DATA_PATH

    with h5py.File(path, "r", swmr=True) as h5:
        frames = np.ascontiguousarray(h5[DATA_PATH][()])
    flat = frames.reshape(len(frames), -1).view(np.uint8)
    return [int.from_bytes(row[:4].tobytes(), "little") for row in flat]


def check_mechanisms(workdir: Path) -> list[dict[str, Any]]:
    """What each mechanism does with dropped frames, a stall, and an unstage during a stall."""
    import bluesky.plans as bp
    from bluesky import RunEngine
    from bluesky.utils import FailedStatus

    from ophyd_pvcam import sim
    from ophyd_pvcam.device.detector import PVCAMDetector

    RE = RunEngine({})
    rows = []
    det = PVCAMDetector("cam", library="sim", write_path=workdir / "checks")
    # The failures below are provoked: keep their tracebacks off the terminal.
    quiet = [logging.getLogger(name) for name in ("bluesky", "ophyd_pvcam")]
    levels = [logger.level for logger in quiet]
    for logger in quiet:
        logger.setLevel(logging.CRITICAL)
    try:
        det.roi.set((0, 0, 64, 64)).wait(10)
        det.exposure_time.set(0.001).wait(10)
        for name in mechanisms():
            use_mechanism(det, name)
            row: dict[str, Any] = {"mechanism": name}
            # 1. The camera skips every 4th FrameNr: are the gaps counted, is the file clean?
            sim.set_faults("drop_every=4")
            det.frames_per_trigger.put(12)
            try:
                RE(bp.count([det], 2))
                row["drop_outcome"] = "ok"
            except FailedStatus as exc:
                row["drop_outcome"] = type(exc.__cause__).__name__
            stamps = _stamps(det.file_path)
            row["lost_reported"] = det.frames_lost.get()
            # FrameNr restarts at 1 each point: within a point it must only increase.
            row["bad_frames_in_file"] = sum(
                1 for i, n in enumerate(stamps)
                if n == 0 or (i % 12 and n <= stamps[i - 1]))
            # 2. The camera stalls after 2 of 5 frames (stall_timeout 0.2 s x 3).
            sim.set_faults("stall_after=2")
            det.frames_per_trigger.put(5)
            det.stall_timeout.put(0.2)
            started = time.perf_counter()
            try:
                RE(bp.count([det], 1))
                row["stall_error"] = "none"
            except FailedStatus as exc:
                cause = exc.__cause__
                row["stall_error"] = type(cause).__name__
                row["stall_diagnostics"] = len(getattr(cause, "diagnostics", {}) or {})
            row["stall_s"] = time.perf_counter() - started
            # 3. Unstage while a trigger waits on a camera that never delivers.
            sim.set_faults("stall_after=0")
            det.stall_timeout.put(1.0)
            det.stage()
            det.trigger()
            time.sleep(0.1)
            started = time.perf_counter()
            det.unstage()
            row["unstage_in_stall_s"] = time.perf_counter() - started
            det.stall_timeout.put(0.0)
            sim.set_faults("")
            rows.append(row)
    finally:
        sim.set_faults("")
        use_mechanism(det, "stream-fit")
        det.close()
        for logger, level in zip(quiet, levels):
            logger.setLevel(level)
    return rows


def print_checks(rows: list[dict[str, Any]]) -> None:
    """The capability table."""
    print("\ncapabilities (count on 64x64; faults from the simulator):")
    print(f"{'mechanism':<15} {'drop_every=4: count':>20} {'lost reported':>14} "
          f"{'bad frames in file':>19} {'stall -> error':>24} {'after s':>8} "
          f"{'unstage in stall s':>19}")
    for row in rows:
        error = f"{row['stall_error']}({row.get('stall_diagnostics', 0)} keys)"
        print(f"{row['mechanism']:<15} {row['drop_outcome']:>20} {row['lost_reported']:>14} "
              f"{row['bad_frames_in_file']:>19} {error:>24} {row['stall_s']:>8.2f} "
              f"{row['unstage_in_stall_s']:>19.2f}")
    print("  (stall_timeout 0.2 s x stall_count 3 = 0.6 s; during the unstage check 1.0 s x 3)")


# ---------------------------------------------------------------------------- engine floor
def _software_trigger(camera: Any) -> None:
    from ophyd_pvcam.sdk import constants as C

    while True:
        with camera.lock:
            flags = camera.library.exp_trigger(camera.handle)
        if flags == int(C.PL_SW_TRIG_STATUS_TRIGGERED):
            return
        time.sleep(0.0002)  # the camera ignores triggers while it exposes


def bench_engine(args: argparse.Namespace, workdir: Path) -> list[dict[str, Any]]:
    """Per point without RunEngine/device: N frames into an HDF5FrameWriter + flush."""
    from ophyd_pvcam.device.streams import fitted_ring_frames
    from ophyd_pvcam.engine.camera.camera import Camera
    from ophyd_pvcam.engine.camera.sequence import acquire_sequence
    from ophyd_pvcam.engine.stream.stream import Stream
    from ophyd_pvcam.sdk import load
    from ophyd_pvcam.storage.hdf5 import HDF5FrameWriter

    rows = []
    with Camera.open(library=load(simulated=True)) as camera:
        for side, exposure, per_trigger in CONFIGS:
            camera.roi = (0, 0, side, side)
            camera.exposure_time = exposure
            camera.exposure_mode = "internal"
            period = frame_period(camera)
            settings = camera.acquisition_settings()
            ring = fitted_ring_frames(per_trigger, settings.frame_bytes, settings.frame_period_s)
            path = workdir / f"engine_{side}_{per_trigger}.h5"
            writer = HDF5FrameWriter(path, settings.frame_shape, settings.dtype,
                                     flush_interval=0.2).start()

            def stream_point(**options: Any) -> None:
                stream = Stream(camera, max_frames=per_trigger, **options)
                stream.add_consumer(writer.submit)
                stream.start()
                stream.wait()
                stream.stop()
                writer.flush()

            def sequence_point() -> None:
                acquire_sequence(camera, per_trigger, consumer=writer.submit)
                writer.flush()

            points: dict[str, Callable[[], None]] = {
                "stream-1s": stream_point,
                "stream-fit": functools.partial(stream_point, buffer_seconds=0.0,
                                                min_buffer_frames=ring or 8),
                "sequence": sequence_point,
            }
            timings: dict[str, list[float]] = {name: [] for name in points}
            timings["sw-trigger stream"] = []
            for _ in range(args.reps):
                for name, point in points.items():
                    for _ in range(args.points):
                        started = time.perf_counter()
                        point()
                        timings[name].append(time.perf_counter() - started)
                timings["sw-trigger stream"].extend(_software_points(camera, writer, per_trigger,
                                                                     args.points))
            writer.close()
            bound = period * per_trigger
            for name, values in timings.items():
                median = statistics.median(values)
                rows.append({"config": f"{side}x{side} {exposure * 1e3:g} ms x{per_trigger}",
                             "mechanism": name, "bound": bound, "per_point": median,
                             "per_point_ratio": median / bound})
            print(f"  done (engine): {side}x{side} x{per_trigger}", file=sys.stderr)
    return rows


def _software_points(camera: Any, writer: Any, per_trigger: int, points: int) -> list[float]:
    """Points of a stream started once in software_edge mode, ``per_trigger`` triggers each."""
    from ophyd_pvcam.engine.stream.stream import Stream

    arrived = threading.Semaphore(0)

    def consume(frame: Any) -> None:
        writer.submit(frame)
        arrived.release()

    camera.exposure_mode = "software_edge"
    stream = Stream(camera, stall_timeout=30.0)
    stream.add_consumer(consume)
    stream.start()
    values = []
    try:
        for _ in range(points):
            started = time.perf_counter()
            for _ in range(per_trigger):
                _software_trigger(camera)
            for _ in range(per_trigger):
                if not arrived.acquire(timeout=10):
                    raise RuntimeError("software-triggered frame did not arrive")
            writer.flush()
            values.append(time.perf_counter() - started)
    finally:
        stream.stop()
        camera.exposure_mode = "internal"
    return values


# ---------------------------------------------------------------------------- report
def print_device(rows: list[dict[str, Any]]) -> None:
    """The device table and its ratios."""
    floor = rows[0]
    print(f"RunEngine floor: {floor['per_point'] * 1e3:.2f} ms per point with ophyd.sim.det\n")
    print(f"{'config':<22} {'mechanism':<15} {'points/s':>9} {'ms/point':>9} {'latency ms':>11} "
          f"{'bound ms':>9} {'point/bound':>12} {'lat/bound':>10} {'run ovh ms':>11} {'lost':>5}")
    for row in rows[1:]:
        print(f"{row['config']:<22} {row['mechanism']:<15} {row['points_per_s']:>9.1f} "
              f"{row['per_point'] * 1e3:>9.2f} {row['latency'] * 1e3:>11.2f} "
              f"{row['bound'] * 1e3:>9.2f} {row['per_point_ratio']:>12.2f} "
              f"{row['latency_ratio']:>10.2f} {row['run_overhead'] * 1e3:>11.1f} "
              f"{row['frames_lost']:>5}")
    print("\nspeed-up of each mechanism over stream-1s (per point, higher is better):")
    by_config: dict[str, dict[str, dict]] = {}
    for row in rows[1:]:
        by_config.setdefault(row["config"], {})[row["mechanism"]] = row
    for config, mechs in by_config.items():
        base = mechs["stream-1s"]["per_point"]
        cells = ", ".join(f"{name} x{base / row['per_point']:.2f}" for name, row in mechs.items()
                          if name != "stream-1s")
        print(f"  {config:<22} {cells}")


def print_engine(rows: list[dict[str, Any]]) -> None:
    """The engine-floor table."""
    print("\nmechanism floor without RunEngine/device (frames -> HDF5FrameWriter -> flush):")
    print(f"{'config':<22} {'mechanism':<18} {'ms/point':>9} {'bound ms':>9} {'point/bound':>12}")
    for row in rows:
        print(f"{row['config']:<22} {row['mechanism']:<18} {row['per_point'] * 1e3:>9.2f} "
              f"{row['bound'] * 1e3:>9.2f} {row['per_point_ratio']:>12.2f}")


def main(argv: Optional[list[str]] = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer points and repetitions")
    parser.add_argument("--reps", type=int, help="repetitions (default 5, quick 3)")
    parser.add_argument("--points", type=int, help="count points per run (default 20, quick 8)")
    parser.add_argument("--no-engine", dest="engine", action="store_false",
                        help="skip the mechanism floor without RunEngine")
    parser.add_argument("--no-checks", dest="checks", action="store_false",
                        help="skip the capability checks (faults)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    args.reps = args.reps or (3 if args.quick else 5)
    args.points = args.points or (8 if args.quick else 20)
    # Engine warnings (lost frames, missed callbacks) stay visible on stderr.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    from ophyd_pvcam import sim

    sim.set_cameras("prime-bsi")
    sim.set_faults("")
    sim.set_frame_stamp(True)   # the loss checks read FrameNr from the opt-in pixel stamp
    print(f"bench_device: {args.reps} rep(s) x count of {args.points} points, simulated Prime BSI",
          file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="bench_device_") as tmp:
        device_rows = bench_device(args, Path(tmp))
        engine_rows = bench_engine(args, Path(tmp)) if args.engine else []
        check_rows = check_mechanisms(Path(tmp)) if args.checks else []
    print_device(device_rows)
    if engine_rows:
        print_engine(engine_rows)
    if check_rows:
        print_checks(check_rows)
    if args.json:
        args.json.write_text(json.dumps({"device": device_rows, "engine": engine_rows,
                                         "checks": check_rows}, indent=1))


if __name__ == "__main__":
    main()
