"""Regenerate the README's pictures from a real run on the simulated camera.

``python docs/images/make_readme_images.py`` runs a fly scan through a
RunEngine with bluesky's ProgressBarManager, captures what the progress bar
drew, and saves

* ``docs/images/frame.png``: a frame read back from the local catalog;
* ``docs/images/progress.png``: the progress bar's last drawn line, rendered
  as a terminal would show it.
"""
import contextlib
import io
import os
import re
import tempfile
from pathlib import Path

import numpy as np

os.environ.setdefault("PVCAM_LIBRARY", "sim")
os.environ.setdefault("MPLBACKEND", "Agg")

HERE = Path(__file__).resolve().parent


def main() -> None:
    import matplotlib.pyplot as plt
    from bluesky import RunEngine
    from bluesky.utils import ProgressBarManager

    from ophyd_pvcam import catalog
    from ophyd_pvcam.device.detector import PVCAMDetector
    from ophyd_pvcam.plans import fly_stream
    from ophyd_pvcam.preview import write_png

    with tempfile.TemporaryDirectory() as folder:
        client = catalog.local(folder)
        run_engine = RunEngine({})
        run_engine.subscribe(catalog.writer(client))
        run_engine.waiting_hook = ProgressBarManager()
        cam = PVCAMDetector("cam", write_path=catalog.frames_dir(folder))
        try:
            cam.follow_runs(run_engine)
            cam.roi.set((512, 512, 1024, 1024)).wait(10)
            cam.exposure_time.set(0.005).wait(10)
            captured = io.StringIO()
            with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
                (uid,) = run_engine(fly_stream([cam], num_frames=300))
        finally:
            cam.close()
        frames = client[uid].v3["primary"]["cam_image"].read()
        frame = frames[-1]
        # Background at the 1st percentile, the simulator's Gaussian spot unclipped.
        write_png(frame, HERE / "frame.png", limits=(float(np.percentile(frame, 1)), float(frame.max())))
        catalog.close(folder)

    lines = [re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", part).rstrip()
             for part in re.split(r"[\r\n]", captured.getvalue())]
    bars = [line for line in lines if "frames/s" in line and "100%" in line]
    text = bars[-1] if bars else lines[-1]
    figure = plt.figure(figsize=(len(text) * 0.085 + 0.4, 0.45), dpi=150)
    figure.patch.set_facecolor("#1e1e1e")
    figure.text(0.01, 0.5, text, family="monospace", fontsize=9, color="#e0e0e0", va="center")
    figure.savefig(HERE / "progress.png", facecolor=figure.get_facecolor())
    print(f"wrote {HERE / 'frame.png'} and {HERE / 'progress.png'}: {text!r}")


if __name__ == "__main__":
    main()
