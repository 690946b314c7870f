# RunEngine, catalog, live table/plots and progress bars.
import logging
import os
import sys

from bluesky import RunEngine
from bluesky.callbacks.best_effort import BestEffortCallback
from bluesky.utils import ProgressBarManager

import ophyd_pvcam.catalog

# Warnings (lost frames, stalls) show; the per-run INFO lines would interleave with
# the LiveTable. For them: logging.getLogger("ophyd_pvcam").setLevel("INFO").
logging.getLogger("ophyd_pvcam").setLevel(logging.WARNING)

RE = RunEngine({})


def _run_aborted_without_traceback(record):
    # IPython shows the exception that ended the plan; the RunEngine's "Run aborted"
    # log would print the same traceback (and the stall diagnosis) once more.
    if record.getMessage() == "Run aborted":
        record.exc_info, record.exc_text = None, None
        record.msg, record.args = "Run aborted (the error follows)", ()
    return True


RE.log.logger.addFilter(_run_aborted_without_traceback)
_uri = os.environ.get("PVCAM_CATALOG_URI")
if _uri:
    from tiled.client import from_uri

    db = from_uri(_uri, api_key=os.environ.get("PVCAM_CATALOG_API_KEY"))
    print(f"catalog: Tiled server {_uri}")
else:
    db = ophyd_pvcam.catalog.local()
    print(f"catalog: embedded local catalog in {ophyd_pvcam.catalog.default_path()}")
RE.subscribe(ophyd_pvcam.catalog.writer(db))

bec = BestEffortCallback()
if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    bec.disable_plots()
RE.subscribe(bec)
if sys.stdout.isatty():  # tqdm's bars are cursor escapes: only for a terminal
    RE.waiting_hook = ProgressBarManager()
