"""ADCore records that ophyd-async's areaDetector classes declare, for ``cam1:`` and ``HDF1:``.

ophyd-async (``ophyd_async.epics.adcore``: ``ADBaseIO``, ``NDFileHDF5IO``;
``ophyd_async.epics.adkinetix``) connects every record its classes declare,
with ADCore's names, types and menus. This module holds the ones whose
meaning is fixed by how this server works, as mixins of the record groups:

``NDAttributesFile`` (both groups)
    ADCore reads NDAttributes (extra per-frame values) from this XML file or
    string. This server attaches none; the camera configuration goes into
    every file (``/entry/instrument/pvcam``) instead. ``""`` is accepted,
    anything else refused with a message.
``ADCoreVersion_RBV`` / ``DriverVersion_RBV``
    The ADCore release whose record set is followed
    (:data:`~ophyd_pvcam.ioc.server.cam_tables.ADCORE_VERSION`) and ophyd-pvcam's version.
``WaitForPlugins`` (``cam1:``)
    ADCore: with Yes, ``Acquire`` completes only after the plugins processed
    every frame. Here ``Acquire`` always completes after the ``HDF1:`` file
    holds (and has flushed) every frame of the acquisition, so Yes is what
    happens anyway; No is accepted and stored, and changes nothing.

The HDF5 writer's own switches (``SWMRMode``, ``LazyOpen``, ``PositionMode``,
``XMLFileName``, ``ChunkSizeAuto``, ``QueueSize``, ``FlushNow``) are in
:mod:`~ophyd_pvcam.ioc.server.hdf`.
"""
from __future__ import annotations

from typing import Any

from caproto import ChannelType
from caproto.server import pvproperty

import ophyd_pvcam

from .cam_tables import ADCORE_VERSION
from .records import NO_YES, DriverGroup, accept, enum_value, long_string, readback, refuse

__all__ = ["NDArrayBaseRecords", "WaitForPluginsRecord", "NDATTRIBUTES_REFUSAL", "driver_version"]

#: Why a non-empty ``NDAttributesFile`` is refused.
NDATTRIBUTES_REFUSAL = ("NDAttributesFile refused: this server attaches no NDAttributes; "
                        "the camera configuration is stored in /entry/instrument/pvcam "
                        "of every file")


async def _put_ndattributes_file(group: "NDArrayBaseRecords", instance: Any, value: Any) -> str:
    text = str(value or "").strip()
    if text:
        await refuse(instance, group.message_record(), NDATTRIBUTES_REFUSAL)
    await accept(instance)
    return ""


class NDArrayBaseRecords(DriverGroup):
    """``NDAttributesFile`` and the version read-backs (NDArrayBase.template).

    Sub-classes name their message record with :meth:`message_record`.
    """

    nd_attributes_file = long_string("NDAttributesFile", "", put=_put_ndattributes_file,
                                     doc="only '' is accepted (no NDAttributes)")
    ad_core_version = readback("ADCoreVersion_RBV", ADCORE_VERSION, dtype=str,
                               doc="ADCore release whose records are served")

    def message_record(self) -> Any:
        """The record refusals are explained in (``StatusMessage_RBV`` or ``WriteMessage``)."""
        raise NotImplementedError(type(self).__name__)


class WaitForPluginsRecord(DriverGroup):
    """``WaitForPlugins`` of ADBase (accepted; see the module docstring)."""

    wait_for_plugins = pvproperty(name="WaitForPlugins", value="No", dtype=ChannelType.ENUM,
                                  enum_strings=NO_YES, record="bo",
                                  doc="Acquire always waits for the HDF1: file")

    @wait_for_plugins.putter
    async def wait_for_plugins(self, instance: Any, value: Any) -> str:
        """Store the flag (Acquire waits for the file in either case)."""
        value = enum_value(instance, value)
        if value not in NO_YES:
            await refuse(instance, self.message_record(), f"WaitForPlugins refused: {value!r}")
        await accept(instance)
        return value


def driver_version() -> str:
    """``DriverVersion_RBV`` text: ``"ophyd-pvcam <version>"``."""
    return f"ophyd-pvcam {ophyd_pvcam.__version__}"
