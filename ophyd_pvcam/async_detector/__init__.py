"""ophyd-async in process: a PVCAM camera as a ``StandardDetector``, without EPICS.

:class:`PVCAMAsyncDetector` is an ``ophyd_async.core.StandardDetector`` built
from ophyd-async's three logics on our engine and storage:

:class:`PVCAMTriggerLogic`
    ``prepare(TriggerInfo)``: trigger mode, exposure, deadtime, frame count.
:class:`PVCAMAcquireLogic`
    The controller: arms the camera with an engine stream and maps
    ``exposure_timeout`` onto its stall detection.
:class:`PVCAMDataLogic`
    The writer: owns the HDF5 files and emits StreamResource/StreamDatum
    for the frames flushed to them.
:class:`PVCAMPathProvider`
    Where the files go.

Importing this package needs ophyd-async (``pip install 'ophyd-pvcam[async]'``)
but no EPICS: no Channel Access library is loaded. The ophyd v1
:class:`~ophyd_pvcam.device.detector.PVCAMDetector` is unchanged and writes the
same files. See ``docs/howto/ophyd-async-in-process.md``.
"""
from ._acquire_logic import PVCAMAcquireLogic
from ._arm_plan import ArmPlan
from ._data_logic import FRAME_DATASET, PVCAMDataLogic
from ._detector import PVCAMAsyncDetector
from ._path_provider import PVCAMPathProvider
from ._trigger_logic import PVCAMTriggerLogic

__all__ = ["PVCAMAsyncDetector", "PVCAMTriggerLogic", "PVCAMAcquireLogic", "PVCAMDataLogic",
           "PVCAMPathProvider", "ArmPlan", "FRAME_DATASET"]
