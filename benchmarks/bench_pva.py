"""Frames to a viewer: PVAccess (``--pva``, NTNDArray) against Channel Access monitors.

One server (``python -m ophyd_pvcam.ioc --pva``, simulated Prime BSI) per
frame size, acquiring continuously (1 ms exposure). Its CA preview is set to
carry whole frames (``--preview-size`` = the frame side, ``--preview-rate``
1000 Hz, so ``image1:ArrayData`` is the full frame, published by the CA
server's paced task) and ``pva1:Image`` publishes every frame it can. A
client counts, for ``--seconds``, the updates it receives:

* **CA**: a pyepics (libca) monitor on ``image1:ArrayData``;
* **PVA**: a p4p monitor on ``pva1:Image``.

The transports are measured one after the other, interleaved within every
repetition (``--reps``, medians reported); both producers run all the time,
so each transport is measured with the other's server-side cost present.
The baseline is the camera's own rate in the same window
(``cam1:ArrayCounter_RBV``): every rate is also printed as a ratio to it,
and the last column is PVA / CA. Nothing passes or fails. The load average
is printed: other processes on the machine change the numbers.

Usage::

    python benchmarks/bench_pva.py               # 2048x2048 and 512x512, 3 x 4 s each
    python benchmarks/bench_pva.py --quick       # 1 x 2 s each
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import IocServer, configure_loopback, load_average  # noqa: E402

SIZES = (2048, 512)


def _caput(name: str, value: Any) -> None:
    import epics

    if not epics.caput(name, value, wait=True, timeout=30):
        raise RuntimeError(f"caput {name} {value!r} failed")


def count_ca(prefix: str, seconds: float) -> int:
    """Updates of ``image1:ArrayData`` a pyepics monitor receives in ``seconds``."""
    import epics

    updates = [0]

    def on_update(**_kw: Any) -> None:
        updates[0] += 1

    pv = epics.PV(prefix + "image1:ArrayData", auto_monitor=True, callback=on_update)
    if not pv.wait_for_connection(30):
        raise RuntimeError("image1:ArrayData did not connect")
    time.sleep(0.5)                      # let the first (current-value) update pass
    start = updates[0]
    time.sleep(seconds)
    received = updates[0] - start
    pv.clear_callbacks()
    pv.disconnect()
    return received


def count_pva(context: Any, prefix: str, seconds: float) -> int:
    """Updates of ``pva1:Image`` a p4p monitor receives in ``seconds``."""
    updates = [0]

    def on_update(_value: Any) -> None:
        updates[0] += 1

    subscription = context.monitor(prefix + "pva1:Image", on_update)
    time.sleep(0.5)
    start = updates[0]
    time.sleep(seconds)
    received = updates[0] - start
    subscription.close()
    return received


def camera_frames(prefix: str) -> int:
    import epics

    return int(epics.caget(prefix + "cam1:ArrayCounter_RBV", timeout=10))


def measure(side: int, reps: int, seconds: float) -> dict[str, Any]:
    from p4p.client.thread import Context

    prefix = f"BPVA{side}:"
    with tempfile.TemporaryDirectory(prefix="bench-pva-") as root:
        server = IocServer(prefix, Path(root), ["--preview-size", str(side),
                                                "--preview-rate", "1000", "--pva"])
        try:
            offset = (2048 - side) // 2
            for name, value in (("MinX", offset), ("MinY", offset), ("SizeX", side),
                                ("SizeY", side), ("AcquireTime", 0.001),
                                ("ImageMode", "Continuous")):
                _caput(f"{prefix}cam1:{name}", value)
            import epics
            epics.caput(prefix + "cam1:Acquire", 1)           # no wait: continuous
            time.sleep(1.0)
            rates: dict[str, list[float]] = {"camera": [], "ca": [], "pva": []}
            with Context("pva") as context:
                for _ in range(reps):
                    for transport in ("ca", "pva"):
                        before, t0 = camera_frames(prefix), time.monotonic()
                        received = count_ca(prefix, seconds) if transport == "ca" else \
                            count_pva(context, prefix, seconds)
                        frames, elapsed = camera_frames(prefix) - before, time.monotonic() - t0
                        rates[transport].append(received / seconds)
                        rates["camera"].append(frames / elapsed)
            _caput(prefix + "cam1:Acquire", 0)
        finally:
            server.stop()
    return {key: statistics.median(values) for key, values in rates.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--quick", action="store_true", help="1 repetition of 2 s per size")
    args = parser.parse_args()
    if args.quick:
        args.reps, args.seconds = 1, 2.0
    configure_loopback(pva=True)
    print(f"load average before: {load_average()}; "
          f"{args.reps} x {args.seconds:g} s per transport, medians")
    rows = []
    for side in SIZES:
        result = measure(side, args.reps, args.seconds)
        rows.append((side, result))
    print()
    print("| frame | MB/frame | camera fps | CA monitor fps (x camera) | "
          "PVA fps (x camera) | PVA / CA |")
    print("|---|---|---|---|---|---|")
    for side, r in rows:
        megabytes = side * side * 2 / 1e6
        ratio = r["pva"] / r["ca"] if r["ca"] else float("inf")
        camera = r["camera"] or float("nan")      # a camera that made no frame: no ratio
        print(f"| {side}x{side} | {megabytes:.1f} | {r['camera']:.0f} | "
              f"{r['ca']:.0f} ({r['ca'] / camera:.2f}) | "
              f"{r['pva']:.0f} ({r['pva'] / camera:.2f}) | {ratio:.2f} |")
    print(f"\nload average after: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
