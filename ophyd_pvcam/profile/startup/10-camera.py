# `cam`: a real camera when the PVCAM SDK finds one, else the simulated camera.
import os

from ophyd_pvcam import PVCAMDetector
from ophyd_pvcam.engine import list_cameras
from ophyd_pvcam.sdk import load
from ophyd_pvcam.sdk.errors import PVCAMError


def _one_line(exc):
    # The library error lists every place tried, one per line, then how to install.
    text = str(exc)
    tried = [line.strip()[2:] for line in text.splitlines() if line.strip().startswith("- ")]
    if tried:
        return "no PVCAM library found; tried " + "; ".join(tried)
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def _choose_library():
    if os.environ.get("PVCAM_LIBRARY", "").lower() == "sim":
        return load(simulated=True), "the simulated camera (PVCAM_LIBRARY=sim)"
    try:
        library = load()
        if list_cameras(library):
            return library, f"a real camera through {library.path}"
        reason = f"{library.path} found no camera"
    except PVCAMError as exc:
        reason = _one_line(exc)
    return load(simulated=True), f"the simulated camera ({reason})"


_library, _which = _choose_library()
cam = PVCAMDetector("cam", library=_library)
cam.follow_runs(RE)  # frame files named after the run that wrote them
cam.record_per_frame()  # frame numbers and losses readable per frame from the catalog
print(f"cam: {cam.camera.info.product} {cam.camera.name} - {_which}")
