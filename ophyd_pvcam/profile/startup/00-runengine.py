# RunEngine, catalog, live table/plots and progress bars.
import logging
import os
import sys

from bluesky import RunEngine
from bluesky.callbacks.best_effort import BestEffortCallback
from bluesky.utils import PersistentDict

import ophyd_pvcam.catalog
import ophyd_pvcam.cli.tracebacks
from ophyd_pvcam.cli.progress import progress_bar_manager
from ophyd_pvcam.engine.errors import ValidationError

# Warnings (lost frames, stalls) show; the per-run INFO lines would interleave with
# the LiveTable. For them: logging.getLogger("ophyd_pvcam").setLevel("INFO").
logging.getLogger("ophyd_pvcam").setLevel(logging.WARNING)

# RE.md persists under the data directory, so scan_id keeps counting up across
# sessions and queueserver environment opens (catalog[scan_id] stays unique).
_metadata_dir = ophyd_pvcam.catalog.default_path() / "runengine-metadata"
_metadata_dir.mkdir(parents=True, exist_ok=True)
RE = RunEngine(PersistentDict(str(_metadata_dir)))


def _run_aborted_without_traceback(record):
    # IPython shows the exception that ended the plan; the RunEngine's "Run aborted"
    # log would print the same traceback (and the stall diagnosis) once more.
    if record.getMessage() == "Run aborted":
        record.exc_info, record.exc_text = None, None
        record.msg, record.args = "Run aborted (the error follows)", ()
    return True


RE.log.logger.addFilter(_run_aborted_without_traceback)
# A failed status's message names the error (the stop document's reason needs it), and
# IPython shows that error as its cause just above: show the diagnosis once.
ophyd_pvcam.cli.tracebacks.install()
_uri = os.environ.get("PVCAM_CATALOG_URI")
_port = os.environ.get("PVCAM_CATALOG_PORT")
if _uri:
    from tiled.client import from_uri

    db = from_uri(_uri, api_key=os.environ.get("PVCAM_CATALOG_API_KEY"))
    print(f"catalog: Tiled server {_uri}")
elif _port:
    if not _port.isdigit():
        raise ValidationError(f"PVCAM_CATALOG_PORT must be a TCP port number, not {_port!r}",
                              call="profile 00-runengine.py")
    # Serve the embedded catalog on 127.0.0.1 so other processes read runs
    # while this one (e.g. a queueserver worker) holds it: catalog.connect_shared().
    catalog_server = ophyd_pvcam.catalog.share(
        port=int(_port),
        api_key=os.environ.get("PVCAM_CATALOG_API_KEY") or None)
    db = catalog_server.client()
    print(f"catalog: embedded local catalog in {catalog_server.path}, "
          f"served at {catalog_server.uri}")
else:
    db = ophyd_pvcam.catalog.local()
    print(f"catalog: embedded local catalog in {ophyd_pvcam.catalog.default_path()}")
RE.subscribe(ophyd_pvcam.catalog.writer(db))

bec = BestEffortCallback()
if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    bec.disable_plots()
RE.subscribe(bec)
if sys.stdout.isatty():  # tqdm's bars are cursor escapes: only for a terminal
    RE.waiting_hook = progress_bar_manager()  # log records print above the bars, not on them
