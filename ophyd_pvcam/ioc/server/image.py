"""The ``image1:`` records: a decimated, rate-limited preview (NDPluginStdArrays names).

Full frames do not travel over Channel Access (that is what ``HDF1:`` files
are for): ``ArrayData`` holds every ``stride``-th row and column of the
newest frame, at most ``--preview-size`` pixels a side, published at most
``--preview-rate`` times per second (``MinCallbackTime`` = 1/rate, settable).
The publishing task sleeps between previews, it never spins: caproto drops
nearly every update of a producer that only yields with ``sleep(0)``
(../shared/caproto-remote.md §1).

``ArrayData`` is DBR_SHORT (CA has no unsigned 16-bit type); clients view it
as ``uint16`` (``DataType_RBV`` says which). ``ArraySize0_RBV``/``ArraySize1_RBV``
give the preview's width/height and ``Decimation_RBV`` the stride.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

import numpy as np
from caproto import ChannelType
from caproto.server import pvproperty

from ophyd_pvcam.sdk.errors import PVCAMError

from .cam import dtype_label
from .hdf import PluginRecords
from .records import readback, refuse, update

__all__ = ["ImageGroup", "image_group_class"]

logger = logging.getLogger(__name__)

# Backlog of queued preview updates per subscriber: a slow client gets the
# newest previews, not an ever-growing queue of stale ones.
_PREVIEW_BACKLOG = 2
# Polls of the preview slot per preview interval, and the shortest poll period [s].
_POLLS_PER_INTERVAL = 4
_MIN_POLL_S = 0.005


class _ImageRecords(PluginRecords):
    """Preview records; :func:`image_group_class` sizes ``ArrayData``."""

    _plugin_type = "NDPluginStdArrays"
    _port = "IMAGE1"

    min_callback_time = pvproperty(name="MinCallbackTime", value=0.2, units="s", precision=3)
    min_callback_time_rbv = readback("MinCallbackTime_RBV", 0.2, units="s", precision=3)
    decimation = readback("Decimation_RBV", 1)

    @min_callback_time.putter
    async def min_callback_time(self, instance: Any, value: Any) -> float:
        """Set the preview interval (1/rate, > 0)."""
        try:
            rate = self.driver.preview.set_rate(1.0 / float(value)) if float(value) > 0 else None
        except (PVCAMError, ValueError, ZeroDivisionError, OverflowError) as exc:
            rate, reason = None, str(exc)
        else:
            reason = "must be > 0"
        if rate is None:
            await refuse(instance, self.write_message, f"MinCallbackTime refused: {reason}")
        await update(self.min_callback_time_rbv, float(value))
        return float(value)

    async def initialize(self) -> None:
        """Publish the identity and the preview interval."""
        await super().initialize()
        interval = self.driver.preview.interval
        await update(self.min_callback_time, interval)
        await update(self.min_callback_time_rbv, interval)

    async def publish_loop(self) -> None:
        """Publish the newest preview every ``MinCallbackTime`` (paced)."""
        slot = self.driver.preview
        while True:
            # The slot itself limits previews to the rate; polling it a few
            # times per interval keeps its clock and ours from beating (a
            # poll just before each preview would halve the rate).
            await asyncio.sleep(max(_MIN_POLL_S, slot.interval / _POLLS_PER_INTERVAL))
            preview = slot.take()
            if preview is None or not self.plugin_enabled():
                continue
            data = preview.data
            if data.dtype.itemsize > 2:
                data = np.clip(data, 0, 0xFFFF).astype(np.uint16)
            flat = data.astype(np.uint16, copy=False).view(np.int16).ravel()
            height, width = data.shape
            await update(self.array_size0, width)
            await update(self.array_size1, height)
            await update(self.decimation, preview.stride)
            await update(self.data_type, dtype_label(preview.data.dtype))
            await update(self.unique_id, preview.frame_number)
            await self.array_data.write(flat, verify_value=False)
            await update(self.array_counter_rbv, self.array_counter_rbv.value + 1)

    async def refresh_array(self) -> None:
        # The preview's own geometry is published with each preview.
        """Nothing: the preview's geometry is published with each preview."""
        return None


def image_group_class(preview_size: int) -> type:
    """Build the image group class with ``ArrayData`` sized for ``preview_size``.

    Parameters
    ----------
    preview_size : int
        Largest preview side in pixels.

    Returns
    -------
    type
        A PVGroup class.
    """
    async def start_publishing(group: Any, instance: Any, async_lib: Any) -> None:
        await group.publish_loop()

    array_data = pvproperty(name="ArrayData", value=[0], dtype=ChannelType.INT,
                            max_length=int(preview_size) ** 2, read_only=True,
                            startup=start_publishing,
                            max_subscription_backlog=_PREVIEW_BACKLOG)
    return type("ImageGroup", (_ImageRecords,), {
        "array_data": array_data,
        "__doc__": "The ``image1:`` preview records of one camera (see the module docstring).",
        "__module__": __name__,
    })


#: The default-size (256 pixels) image group.
ImageGroup = image_group_class(256)
