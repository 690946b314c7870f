"""The ``HDF1:`` records: NDFileHDF5 as ophyd's ``HDF5Plugin`` and its file-store mixins use it.

What ``FileStoreHDF5IterativeWrite`` touches is served with areaDetector's
behaviour (:mod:`~ophyd_pvcam.ioc.server.core.capture`): ``FilePath``/``FileName``/``FileTemplate``/
``FileNumber``, ``AutoIncrement``, ``AutoSave``, ``FileWriteMode``,
``NumCapture``, ``Capture`` (``Capture_RBV`` goes to Capture only after
``FileNumber_RBV`` and ``FullFileName_RBV`` are updated), ``NumCaptured_RBV``,
``FullFileName_RBV``, ``FilePathExists_RBV``, ``CreateDirectory``, and ours:
``NumWritten_RBV`` (frames flushed, i.e. readable) and ``WriteRoot_RBV``,
``EnableCallbacks``, ``ArrayCounter`` and the array sizes (always non-zero,
so ophyd's "unprimed plugin" check passes without a warm-up frame).

The HDF5 tuning records ophyd reads as configuration (chunking, flush
count, ...) hold the values our writer uses and refuse any other value:
the file layout is fixed (``/entry/data/data``, one frame per chunk).

For ophyd-async's ``NDFileHDF5IO`` (ADCore names and menus):
``NumCaptured_RBV`` counts frames the open file holds, as ADCore's (written,
not necessarily flushed; ``NumWritten_RBV`` counts flushed ones);
``FlushNow`` flushes the open file and completes when it is readable;
``QueueSize`` is honoured (the writer queue of the next file);
``SWMRMode`` (On), ``LazyOpen`` (Yes), ``PositionMode`` (Off),
``ChunkSizeAuto`` (Yes) and ``XMLFileName`` ("") hold the one value our
writer implements and refuse the other with a message; ``Compression`` has
ADCore's spelling (``Blosc``, ``BSLZ4``, ...; None, Blosc and BSLZ4 are
written); ``ArraySize0``/``ArraySize1``, ``ArraySizeX/Y/Z_RBV``,
``NDAttributesFile``, ``ADCoreVersion_RBV`` and ``DriverVersion_RBV`` as
:mod:`~ophyd_pvcam.ioc.server.adcore_records` says.
"""
from __future__ import annotations

import logging
from typing import Any, Callable

from caproto import ChannelType
from caproto.server import pvproperty

from ophyd_pvcam.sdk.errors import PVCAMError

from .adcore_records import NDArrayBaseRecords, driver_version
from .core.capture import COMPRESSIONS, DEFAULT_QUEUE_SIZE, DEFAULT_TEMPLATE, WRITE_MODES, CaptureFile
from .records import (
    COLOR_MODES,
    DATA_TYPES,
    DISABLE_ENABLE,
    MESSAGE_LENGTH,
    NO_YES,
    accept,
    enum_value,
    long_string,
    readback,
    refuse,
    setting,
    update,
)

__all__ = ["HDF5Group", "PluginRecords"]

logger = logging.getLogger(__name__)

CAPTURE_MENU = ("Done", "Capture")
WRITE_MENU = ("Done", "Write")
WRITE_STATUS = ("Write OK", "Write error")

# Fixed HDF5 tuning records: name -> value our writer uses.
_FIXED = {
    "BoundaryAlign": 0, "BoundaryThreshold": 65536, "DataBitsOffset": 0,
    "ExtraDimSizeX": 1, "ExtraDimSizeY": 1, "ExtraDimSizeN": 1, "NumDataBits": 0,
    "NumExtraDims": 0, "NumFramesChunks": 1, "NumFramesFlush": 0, "SZipNumPixels": 16,
    "ZLevel": 6, "StoreAttr": "Yes", "StorePerform": "No", "DeleteDriverFile": "No",
    "FileFormat": "HDF5", "NDArrayAddress": 0, "DroppedArrays": 0, "ReadFile": "Done",
    "WriteFile": "Done",
}
_FIXED_MENUS = {"StoreAttr": NO_YES, "StorePerform": NO_YES, "DeleteDriverFile": NO_YES,
                "FileFormat": ("HDF5",), "ReadFile": ("Done", "Read"), "WriteFile": WRITE_MENU}


def _fixed_put(name: str) -> Callable:
    async def put(group: "PluginRecords", instance: Any, value: Any) -> Any:
        value = enum_value(instance, value)
        if value != instance.value:
            await refuse(instance, group.write_message,
                         f"{name} refused: fixed at {instance.value!r} by ophyd-pvcam's writer")
        await accept(instance)
        return value
    return put


def _fixed_records(names: Any) -> dict[str, pvproperty]:
    records = {}
    for name in names:
        value = _FIXED[name]
        menu = _FIXED_MENUS.get(name)
        kwargs = {"enum_strings": menu} if menu else {}
        attr = "fixed_" + name.lower()
        records[attr] = setting(name, value, put=_fixed_put(name), **kwargs)
        records[attr + "_rbv"] = readback(name + "_RBV", value, **kwargs)
    return records


def _fixed_switch(name: str, value: str, menu: tuple[str, str], reason: str) -> dict[str, Any]:
    """A ``name``/``name_RBV`` pair that holds ``value`` and refuses the other with ``reason``."""
    async def put(group: "PluginRecords", instance: Any, given: Any) -> Any:
        given = enum_value(instance, given)
        if given != value:
            await refuse(instance, group.write_message, f"{name} refused: {reason}")
        await accept(instance)
        return given
    attr = "switch_" + name.lower()
    return {attr: setting(name, value, put=put, enum_strings=menu),
            attr + "_rbv": readback(name + "_RBV", value, enum_strings=menu)}


#: NDFileHDF5 switches whose ADCore meaning is fixed by our writer:
#: record -> (held value, menu, why the other value is refused).
_FIXED_SWITCHES = {
    "SWMRMode": ("On", ("Off", "On"),
                 "every file is written in SWMR mode (readers may open it while it grows)"),
    "LazyOpen": ("Yes", NO_YES,
                 "the file is always created at the first frame (its shape is known then)"),
    "PositionMode": ("Off", ("Off", "On"),
                     "frames are appended in arrival order; positions would need "
                     "NDAttributes, which this server does not attach"),
    "ChunkSizeAuto": ("Yes", NO_YES, "chunks are always one whole frame (/entry/data/data)"),
}


class PluginRecords(NDArrayBaseRecords):
    """NDPluginBase records shared by the HDF5 and image plugins.

    Sub-classes set ``_plugin_type`` and ``_port`` and may override
    :meth:`plugin_enabled`.
    """

    _plugin_type = "NDPluginBase"
    _port = "PLUGIN"

    plugin_type = readback("PluginType_RBV", "", dtype=str)
    port_name = readback("PortName_RBV", "", dtype=str)
    nd_array_port = pvproperty(name="NDArrayPort", value="PVCAM1", dtype=ChannelType.STRING)
    nd_array_port_rbv = readback("NDArrayPort_RBV", "PVCAM1", dtype=str)
    enable = pvproperty(name="EnableCallbacks", value="Enable", dtype=ChannelType.ENUM,
                        enum_strings=DISABLE_ENABLE)
    enable_rbv = readback("EnableCallbacks_RBV", "Enable", enum_strings=DISABLE_ENABLE)
    blocking = pvproperty(name="BlockingCallbacks", value="No", dtype=ChannelType.ENUM,
                          enum_strings=NO_YES)
    blocking_rbv = readback("BlockingCallbacks_RBV", "No", enum_strings=NO_YES)
    array_counter = pvproperty(name="ArrayCounter", value=0)
    array_counter_rbv = readback("ArrayCounter_RBV", 0)
    array_size0 = readback("ArraySize0_RBV", 0)
    array_size1 = readback("ArraySize1_RBV", 0)
    array_size2 = readback("ArraySize2_RBV", 0)
    ndimensions = readback("NDimensions_RBV", 2)
    dimensions = readback("Dimensions_RBV", 0)
    data_type = readback("DataType_RBV", "UInt16", enum_strings=DATA_TYPES, record="mbbi")
    color_mode = readback("ColorMode_RBV", "Mono", enum_strings=COLOR_MODES)
    unique_id = readback("UniqueId_RBV", 0)
    time_stamp = readback("TimeStamp_RBV", 0.0)
    write_message = long_string("WriteMessage", "", max_length=MESSAGE_LENGTH)
    # NDArrayBase records ophyd-async declares for every plugin.
    array_size_x = readback("ArraySizeX_RBV", 0)
    array_size_y = readback("ArraySizeY_RBV", 0)
    array_size_z = readback("ArraySizeZ_RBV", 0)
    driver_version = readback("DriverVersion_RBV", driver_version(), dtype=str)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._counter_base = 0

    def message_record(self) -> Any:
        """``WriteMessage``: where refusals are explained."""
        return self.write_message

    @nd_array_port.putter
    async def nd_array_port(self, instance: Any, value: Any) -> str:
        """Accept only the camera's port (the one source of frames)."""
        source = self.ioc.cam.port_name.value
        if value != source:
            await refuse(instance, self.write_message,
                         f"NDArrayPort refused: the only source is {source!r}")
        await accept(instance)
        await update(self.nd_array_port_rbv, value)
        return value

    @enable.putter
    async def enable(self, instance: Any, value: Any) -> str:
        """Enable or disable the plugin (the HDF5 plugin then ignores frames)."""
        value = enum_value(instance, value)
        await self.set_enabled(value == "Enable")
        await update(self.enable_rbv, value)
        return value

    @blocking.putter
    async def blocking(self, instance: Any, value: Any) -> str:
        # Frames reach the plugins on the engine's delivery thread, never the
        # camera's: blocking or not makes no difference here. Accepted for
        # ophyd, which stages BlockingCallbacks=Yes.
        """Accept and store BlockingCallbacks (no effect: see the comment)."""
        value = enum_value(instance, value)
        await update(self.blocking_rbv, value)
        return value

    @array_counter.putter
    async def array_counter(self, instance: Any, value: Any) -> int:
        """Reset (or set) the plugin's frame counter."""
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = -1
        if number < 0:
            await refuse(instance, self.write_message, f"ArrayCounter refused: {value!r}")
        self._counter_base = self.driver.status().array_counter - number
        await update(self.array_counter_rbv, number)
        return number

    async def set_enabled(self, enabled: bool) -> None:
        """React to ``EnableCallbacks`` (overridden by plugins that act on it)."""

    def plugin_enabled(self) -> bool:
        """True when the plugin receives frames."""
        return self.enable_rbv.value == "Enable"

    async def initialize(self) -> None:
        """Publish the fixed identity of the plugin."""
        await update(self.plugin_type, self._plugin_type)
        await update(self.port_name, self._port)
        source = self.ioc.cam.port_name.value
        await update(self.nd_array_port, source)
        await update(self.nd_array_port_rbv, source)

    async def refresh_array(self) -> None:
        """Copy the frame geometry and counter from the camera records."""
        cam = self.ioc.cam
        await update(self.array_size0, cam.array_size_x.value)
        await update(self.array_size1, cam.array_size_y.value)
        await update(self.array_size_x, cam.array_size_x.value)
        await update(self.array_size_y, cam.array_size_y.value)
        await update(self.data_type, cam.data_type_rbv.value)
        if self.plugin_enabled():
            count = self.driver.status().array_counter - self._counter_base
            await update(self.array_counter_rbv, max(0, count))
            await update(self.unique_id, self.driver.status().array_counter)


def _capture_put(method: str, record: str) -> Callable:
    async def put(group: "_HDF5Records", instance: Any, value: Any) -> Any:
        return await group.put_capture(instance, method, record, value)
    return put


async def _put_xml_file_name(group: "_HDF5Records", instance: Any, value: Any) -> str:
    return await group.put_xml_file_name(instance, value)


class _HDF5Records(PluginRecords):
    """NDFileHDF5 records (the fixed tuning records are added below)."""

    _plugin_type = "NDFileHDF5"
    _port = "FileHDF1"

    file_path = long_string("FilePath", "", put=_capture_put("set_file_path", "FilePath"))
    file_path_rbv = long_string("FilePath_RBV", "")
    write_root = long_string("WriteRoot_RBV", "", doc="the server's write root (FilePath "
                                                       "must lie inside)")
    file_path_exists = readback("FilePathExists_RBV", "Yes", enum_strings=NO_YES)
    file_name = long_string("FileName", "", put=_capture_put("set_file_name", "FileName"))
    file_name_rbv = long_string("FileName_RBV", "")
    file_template = long_string("FileTemplate", DEFAULT_TEMPLATE,
                                put=_capture_put("set_file_template", "FileTemplate"))
    file_template_rbv = long_string("FileTemplate_RBV", DEFAULT_TEMPLATE)
    file_number = setting("FileNumber", 0, put=_capture_put("set_file_number", "FileNumber"))
    file_number_rbv = readback("FileNumber_RBV", 0)
    auto_increment = setting("AutoIncrement", "Yes", enum_strings=NO_YES,
                             put=_capture_put("auto_increment", "AutoIncrement"))
    auto_increment_rbv = readback("AutoIncrement_RBV", "Yes", enum_strings=NO_YES)
    auto_save = setting("AutoSave", "Yes", enum_strings=NO_YES,
                        put=_capture_put("auto_save", "AutoSave"))
    auto_save_rbv = readback("AutoSave_RBV", "Yes", enum_strings=NO_YES)
    file_write_mode = setting("FileWriteMode", "Stream", enum_strings=WRITE_MODES,
                              put=_capture_put("set_write_mode", "FileWriteMode"))
    file_write_mode_rbv = readback("FileWriteMode_RBV", "Stream", enum_strings=WRITE_MODES)
    num_capture = setting("NumCapture", 0, put=_capture_put("set_num_capture", "NumCapture"))
    num_capture_rbv = readback("NumCapture_RBV", 0)
    num_captured = readback("NumCaptured_RBV", 0)
    num_written = readback("NumWritten_RBV", 0, doc="frames flushed to the file (readable)")
    compression = setting("Compression", "None", enum_strings=COMPRESSIONS,
                          put=_capture_put("set_compression", "Compression"))
    compression_rbv = readback("Compression_RBV", "None", enum_strings=COMPRESSIONS)
    create_directory = setting("CreateDirectory", 0,
                               put=_capture_put("set_create_directory", "CreateDirectory"))
    create_directory_rbv = readback("CreateDirectory_RBV", 0)
    capture = pvproperty(name="Capture", value="Done", dtype=ChannelType.ENUM,
                         enum_strings=CAPTURE_MENU)
    capture_rbv = readback("Capture_RBV", "Done", enum_strings=CAPTURE_MENU)
    full_file_name = long_string("FullFileName_RBV", "")
    write_status = readback("WriteStatus", "Write OK", enum_strings=WRITE_STATUS)
    num_col_chunks = setting("NumColChunks", 0, put=_fixed_put("NumColChunks"))
    num_col_chunks_rbv = readback("NumColChunks_RBV", 0)
    num_row_chunks = setting("NumRowChunks", 0, put=_fixed_put("NumRowChunks"))
    num_row_chunks_rbv = readback("NumRowChunks_RBV", 0)
    io_speed = readback("IOSpeed", 0.0)
    run_time = readback("RunTime", 0.0)
    extra_dim_name_x = readback("ExtraDimNameX_RBV", "", dtype=str)
    extra_dim_name_y = readback("ExtraDimNameY_RBV", "", dtype=str)
    extra_dim_name_n = readback("ExtraDimNameN_RBV", "", dtype=str)
    # NDFile / NDFileHDF5 / NDPluginBase records ophyd-async's NDFileHDF5IO declares.
    file_array_size0 = readback("ArraySize0", 0, doc="frame width (NDFile.template)")
    file_array_size1 = readback("ArraySize1", 0, doc="frame height (NDFile.template)")
    flush_now = pvproperty(name="FlushNow", value="Done", dtype=ChannelType.ENUM,
                           enum_strings=("Done", "Flush"), record="bo",
                           doc="1: flush the open file; the put completes when flushed")
    queue_size = setting("QueueSize", DEFAULT_QUEUE_SIZE,
                         put=_capture_put("set_queue_size", "QueueSize"),
                         doc="frames queued for the writer thread (next file)")
    queue_size_rbv = readback("QueueSize_RBV", DEFAULT_QUEUE_SIZE)
    xml_file_name = long_string("XMLFileName", "", doc="only '' (the fixed NeXus layout)",
                                put=_put_xml_file_name)
    xml_file_name_rbv = long_string("XMLFileName_RBV", "")

    @flush_now.putter
    async def flush_now(self, instance: Any, value: Any) -> str:
        """1: write and flush every frame handed to the open file, then complete (as ADCore)."""
        value = enum_value(instance, value)
        if value in ("Flush", 1):
            await self.call(self.capture_file.flush)
            await self.refresh()
        return "Done"

    async def put_xml_file_name(self, instance: Any, value: Any) -> str:
        """Accept only ``""``: the file layout is fixed (no XML layout file)."""
        if str(value or "").strip():
            await refuse(instance, self.write_message,
                         "XMLFileName refused: the file layout is fixed (/entry/data/data, "
                         "/entry/instrument/pvcam); no XML layout file is read")
        await accept(instance)
        return ""

    @property
    def capture_file(self) -> CaptureFile:
        """The driver's :class:`~ophyd_pvcam.ioc.server.core.capture.CaptureFile`."""
        return self.driver.capture

    async def put_capture(self, instance: Any, method: str, record: str, value: Any) -> Any:
        """Apply a file setting through :class:`~ophyd_pvcam.ioc.server.core.capture.CaptureFile`, or refuse it whole.

        Parameters
        ----------
        instance : caproto ChannelData
        method : str
            A ``CaptureFile.set_*`` method, or a flag name for ``set_flag``.
        record : str
            The record name (for messages).
        value : object

        Returns
        -------
        object
            The stored value.
        """
        value = enum_value(instance, value)
        capture = self.capture_file
        if method in ("auto_increment", "auto_save"):
            call, args = capture.set_flag, (method, value == "Yes")
        else:
            call, args = getattr(capture, method), (value,)
        try:
            stored = await self.call(call, *args)
        except Exception as exc:  # noqa: BLE001 - every put answers: refused with the reason
            await self._refuse_failed(instance, record, exc)
        await accept(instance)
        if isinstance(stored, bool):
            stored = "Yes" if stored else "No"
        rbv = self.pvdb.get(instance.pvname + "_RBV")
        if rbv is not None:
            await update(rbv, stored)
        await self.refresh()
        return stored

    async def _refuse_failed(self, instance: Any, record: str, exc: Exception) -> None:
        """Refuse a put whose call raised: alarm, ``WriteMessage``; never an unanswered put.

        A :class:`PVCAMError` is a refusal by rule; anything else (an
        ``OSError`` from the file system) is unexpected and logged in full.
        """
        if not isinstance(exc, PVCAMError):
            logger.error("%s put failed unexpectedly", record, exc_info=exc)
        await refuse(instance, self.write_message, f"{record} refused: {exc}")

    @capture.putter
    async def capture(self, instance: Any, value: Any) -> str:
        """1: name the next file and start capturing; 0: close the file."""
        value = enum_value(instance, value)
        if value in ("Capture", 1):
            try:
                await self.call(self.capture_file.start_capture)
            except Exception as exc:  # noqa: BLE001 - every put answers: refused with the reason
                await self.refresh()
                await self._refuse_failed(instance, "Capture", exc)
            await accept(instance)
            await update(self.write_message, "")
            await self.refresh()   # Capture_RBV last: FileNumber/FullFileName first
            return "Capture"
        try:
            await self.call(self.capture_file.stop_capture)
        except Exception as exc:  # noqa: BLE001 - every put answers: refused with the reason
            await self.refresh()
            await self._refuse_failed(instance, "Capture", exc)
        await self.refresh()
        return "Done"

    async def set_enabled(self, enabled: bool) -> None:
        """Tell the capture file whether frames reach it."""
        await self.call(self.capture_file.set_flag, "enabled", enabled)

    async def initialize(self) -> None:
        """Publish the identity, the write root and the file settings."""
        await super().initialize()
        capture = self.capture_file
        for record, value in ((self.write_root, str(capture.write_root)),
                              (self.file_path, capture.file_path),
                              (self.file_path_rbv, capture.file_path),
                              (self.file_name, capture.file_name),
                              (self.file_name_rbv, capture.file_name)):
            await update(record, value)
        await self.refresh()

    async def refresh(self) -> None:
        """Publish the capture state (no SDK call; safe from the status loop)."""
        await self.refresh_array()
        cam = self.ioc.cam
        for record in (self.num_col_chunks, self.num_col_chunks_rbv):
            await update(record, cam.array_size_x.value)
        for record in (self.num_row_chunks, self.num_row_chunks_rbv):
            await update(record, cam.array_size_y.value)
        await update(self.file_array_size0, cam.array_size_x.value)
        await update(self.file_array_size1, cam.array_size_y.value)
        state = self.capture_file.state()
        await update(self.file_number_rbv, state.file_number)
        await update(self.full_file_name, state.full_file_name)
        await update(self.num_captured, state.num_captured)
        await update(self.num_written, state.num_written)
        await update(self.file_path_exists, "Yes" if state.file_path_exists else "No")
        if state.write_error:
            await update(self.write_status, "Write error")
            await update(self.write_message, state.write_error)
        else:
            await update(self.write_status, "Write OK")
        flag = "Capture" if state.capturing else "Done"
        if not state.capturing:
            await update(self.capture, "Done")
        await update(self.capture_rbv, flag)


HDF5Group = type("HDF5Group", (_HDF5Records,), {
    **_fixed_records(_FIXED),
    **{attr: record for name, (value, menu, reason) in _FIXED_SWITCHES.items()
       for attr, record in _fixed_switch(name, value, menu, reason).items()},
    "__doc__": "The ``HDF1:`` records of one camera (see the module docstring).",
    "__module__": __name__,
})
