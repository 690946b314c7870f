"""Numeric constants of the PVCAM 3.10 C API: parameter ids, attributes, enums, error names.

Values follow the vendor header ``pvcam.h`` of PVCAM 3.10.2.5 (see
``/work/shared/pvcam-reference.md`` sections 5 and 6). Every name here is a plain
``int`` with the header's spelling, so code reads like the vendor documentation;
a few groups are also offered as :class:`enum.IntEnum` classes (``ParamType``,
``Attribute``, ``ImageStatus``, ...) for readable log messages.

The parameter ids and type codes are defined in :mod:`.param_ids` and re-exported
here, so ``constants.PARAM_EXPOSURE_TIME`` is the one spelling callers need.
"""
from __future__ import annotations

from enum import IntEnum
from typing import Iterable

# PARAM_*, TYPE_*, CLASS* and param_id()/encoded_type() live in their own table module.
from .param_ids import *  # noqa: F401,F403
from .param_ids import encoded_type, param_id  # noqa: F401

# ---------------------------------------------------------------------------
# Sizes and limits
# ---------------------------------------------------------------------------
MAX_CAM = 16
CAM_NAME_LEN = 32
PARAM_NAME_LEN = 32  # deprecated in the header, kept for completeness
ERROR_MSG_LEN = 255
CCD_NAME_LEN = 17
MAX_ALPHA_SER_NUM_LEN = 32
MAX_PP_NAME_LEN = 32
MAX_SYSTEM_NAME_LEN = 32
MAX_VENDOR_NAME_LEN = 32
MAX_PRODUCT_NAME_LEN = 32
MAX_CAM_PART_NUM_LEN = 32
MAX_GAIN_NAME_LEN = 32
MAX_SPDTAB_NAME_LEN = 32
MAX_CAM_SYSTEMS_INFO_LEN = 1024
PP_MAX_PARAMETERS_PER_FEATURE = 10
PL_MD_FRAME_SIGNATURE = 5328208  # "PMQ\0" little-endian, first uns32 of a metadata frame
PL_MD_EXT_TAGS_MAX_SUPPORTED = 255

PV_FAIL = 0
PV_OK = 1

# ---------------------------------------------------------------------------
# Attributes (pl_get_param's int16 attribute) and access
# ---------------------------------------------------------------------------
ATTR_CURRENT = 0
ATTR_COUNT = 1
ATTR_TYPE = 2
ATTR_MIN = 3
ATTR_MAX = 4
ATTR_DEFAULT = 5
ATTR_INCREMENT = 6
ATTR_ACCESS = 7
ATTR_AVAIL = 8
ATTR_LIVE = 9

ACC_READ_ONLY = 1
ACC_READ_WRITE = 2
ACC_EXIST_CHECK_ONLY = 3
ACC_WRITE_ONLY = 4

OPEN_EXCLUSIVE = 0

# ---------------------------------------------------------------------------
# Exposure (trigger) modes and expose-out modes; setup's exp_mode = trigger | expose-out
# ---------------------------------------------------------------------------
TIMED_MODE = 0
STROBED_MODE = 1
BULB_MODE = 2
TRIGGER_FIRST_MODE = 3
FLASH_MODE = 4
VARIABLE_TIMED_MODE = 5
INT_STROBE_MODE = 6
MAX_EXPOSE_MODE = 7
EXT_TRIG_INTERNAL = (7 + 0) << 8
EXT_TRIG_TRIG_FIRST = (7 + 1) << 8
EXT_TRIG_EDGE_RISING = (7 + 2) << 8
EXT_TRIG_LEVEL = (7 + 3) << 8
EXT_TRIG_SOFTWARE_FIRST = (7 + 4) << 8
EXT_TRIG_SOFTWARE_EDGE = (7 + 5) << 8
EXT_TRIG_LEVEL_OVERLAP = (7 + 6) << 8
EXT_TRIG_LEVEL_PULSED = (7 + 7) << 8

EXPOSE_OUT_FIRST_ROW = 0
EXPOSE_OUT_ALL_ROWS = 1
EXPOSE_OUT_ANY_ROW = 2
EXPOSE_OUT_ROLLING_SHUTTER = 3
EXPOSE_OUT_LINE_TRIGGER = 4
EXPOSE_OUT_GLOBAL_SHUTTER = 5
MAX_EXPOSE_OUT_MODE = 6

PL_SW_TRIG_STATUS_TRIGGERED = 0
PL_SW_TRIG_STATUS_IGNORED = 1

EXP_RES_ONE_MILLISEC = 0
EXP_RES_ONE_MICROSEC = 1
EXP_RES_ONE_SEC = 2

# ---------------------------------------------------------------------------
# Acquisition: circular buffer modes, statuses, abort modes, callbacks
# ---------------------------------------------------------------------------
CIRC_NONE = 0
CIRC_OVERWRITE = 1
CIRC_NO_OVERWRITE = 2

READOUT_NOT_ACTIVE = 0
EXPOSURE_IN_PROGRESS = 1
READOUT_IN_PROGRESS = 2
READOUT_COMPLETE = 3
FRAME_AVAILABLE = 3
READOUT_FAILED = 4
ACQUISITION_IN_PROGRESS = 5  # deprecated, never reported
MAX_CAMERA_STATUS = 6

CCS_NO_CHANGE = 0
CCS_HALT = 1
CCS_HALT_CLOSE_SHTR = 2
CCS_CLEAR = 3
CCS_CLEAR_CLOSE_SHTR = 4
CCS_OPEN_SHTR = 5
CCS_CLEAR_OPEN_SHTR = 6

PL_CALLBACK_BOF = 0
PL_CALLBACK_EOF = 1
PL_CALLBACK_CHECK_CAMS = 2
PL_CALLBACK_CAM_REMOVED = 3
PL_CALLBACK_CAM_RESUMED = 4
PL_CALLBACK_MAX = 5

NO_FRAME_IRQS = 0
BEGIN_FRAME_IRQS = 1
END_FRAME_IRQS = 2
BEGIN_END_FRAME_IRQS = 3

# ---------------------------------------------------------------------------
# Camera configuration enums
# ---------------------------------------------------------------------------
CLEAR_NEVER = 0
CLEAR_AUTO = 0
CLEAR_PRE_EXPOSURE = 1
CLEAR_PRE_SEQUENCE = 2
CLEAR_POST_SEQUENCE = 3
CLEAR_PRE_POST_SEQUENCE = 4
CLEAR_PRE_EXPOSURE_POST_SEQ = 5
CLEAR_GLOBAL_RESET = 6
MAX_CLEAR_MODE = 7

PMODE_NORMAL = 0
PMODE_FT = 1
PMODE_MPP = 2
PMODE_FT_MPP = 3
PMODE_ALT_NORMAL = 4
PMODE_ALT_FT = 5
PMODE_ALT_MPP = 6
PMODE_ALT_FT_MPP = 7

READOUT_PORT_0 = 0
READOUT_PORT_1 = 1
READOUT_PORT_2 = 2
READOUT_PORT_3 = 3

FAN_SPEED_HIGH = 0
FAN_SPEED_MEDIUM = 1
FAN_SPEED_LOW = 2
FAN_SPEED_OFF = 3

NORMAL_COOL = 0
CRYO_COOL = 1
NO_COOL = 2

MPP_UNKNOWN = 0
MPP_ALWAYS_OFF = 1
MPP_ALWAYS_ON = 2
MPP_SELECTABLE = 3

SHTR_FAULT = 0
SHTR_OPENING = 1
SHTR_OPEN = 2
SHTR_CLOSING = 3
SHTR_CLOSED = 4
SHTR_UNKNOWN = 5

OPEN_NEVER = 0
OPEN_PRE_EXPOSURE = 1
OPEN_PRE_SEQUENCE = 2
OPEN_PRE_TRIGGER = 3
OPEN_NO_CHANGE = 4

COLOR_NONE = 0
COLOR_RESERVED = 1
COLOR_RGGB = 2
COLOR_GRBG = 3
COLOR_GBRG = 4
COLOR_BGGR = 5

PL_IMAGE_FORMAT_MONO16 = 0
PL_IMAGE_FORMAT_BAYER16 = 1
PL_IMAGE_FORMAT_MONO8 = 2
PL_IMAGE_FORMAT_BAYER8 = 3
PL_IMAGE_FORMAT_MONO24 = 4
PL_IMAGE_FORMAT_BAYER24 = 5
PL_IMAGE_FORMAT_RGB24 = 6
PL_IMAGE_FORMAT_RGB48 = 7
PL_IMAGE_FORMAT_RGB72 = 8
PL_IMAGE_FORMAT_MONO32 = 9
PL_IMAGE_FORMAT_BAYER32 = 10
PL_IMAGE_FORMAT_RGB96 = 11

PL_IMAGE_COMPRESSION_NONE = 0
PL_IMAGE_COMPRESSION_RESERVED8 = 8
PL_IMAGE_COMPRESSION_BITPACK9 = 9
PL_IMAGE_COMPRESSION_BITPACK10 = 10
PL_IMAGE_COMPRESSION_BITPACK11 = 11
PL_IMAGE_COMPRESSION_BITPACK12 = 12
PL_IMAGE_COMPRESSION_BITPACK13 = 13
PL_IMAGE_COMPRESSION_BITPACK14 = 14
PL_IMAGE_COMPRESSION_BITPACK15 = 15
PL_IMAGE_COMPRESSION_RESERVED16 = 16
PL_IMAGE_COMPRESSION_BITPACK17 = 17
PL_IMAGE_COMPRESSION_BITPACK18 = 18
PL_IMAGE_COMPRESSION_RESERVED24 = 24
PL_IMAGE_COMPRESSION_RESERVED32 = 32

PL_FRAME_ROTATE_MODE_NONE = 0
PL_FRAME_ROTATE_MODE_90CW = 1
PL_FRAME_ROTATE_MODE_180CW = 2
PL_FRAME_ROTATE_MODE_270CW = 3
PL_FRAME_FLIP_MODE_NONE = 0
PL_FRAME_FLIP_MODE_X = 1
PL_FRAME_FLIP_MODE_Y = 2
PL_FRAME_FLIP_MODE_XY = 3
PL_FRAME_SUMMING_FORMAT_16_BIT = 0
PL_FRAME_SUMMING_FORMAT_24_BIT = 1
PL_FRAME_SUMMING_FORMAT_32_BIT = 2

PL_SCAN_MODE_AUTO = 0
PL_SCAN_MODE_PROGRAMMABLE_LINE_DELAY = 1
PL_SCAN_MODE_PROGRAMMABLE_SCAN_WIDTH = 2
PL_SCAN_DIRECTION_DOWN = 0
PL_SCAN_DIRECTION_UP = 1
PL_SCAN_DIRECTION_DOWN_UP = 2
PL_CENTROIDS_MODE_LOCATE = 0
PL_CENTROIDS_MODE_TRACK = 1
PL_CENTROIDS_MODE_BLOB = 2
PL_FRAME_DELIVERY_MODE_MAX_FPS = 0
PL_FRAME_DELIVERY_MODE_CONSTANT_INTERVALS = 1
PL_TRIGTAB_SIGNAL_EXPOSE_OUT = 0
SMTMODE_ARBITRARY_ALL = 0
SMTMODE_MAX = 1

IO_TYPE_TTL = 0
IO_TYPE_DAC = 1
IO_DIR_INPUT = 0
IO_DIR_OUTPUT = 1
IO_DIR_INPUT_OUTPUT = 2

SCR_PRE_OPEN_SHTR = 0
SCR_POST_OPEN_SHTR = 1
SCR_PRE_FLASH = 2
SCR_POST_FLASH = 3
SCR_PRE_INTEGRATE = 4
SCR_POST_INTEGRATE = 5
SCR_PRE_READOUT = 6
SCR_POST_READOUT = 7
SCR_PRE_CLOSE_SHTR = 8
SCR_POST_CLOSE_SHTR = 9

# Interface types: upper bits = class flag, low byte = revision
PL_CAM_IFC_TYPE_UNKNOWN = 0
PL_CAM_IFC_TYPE_1394 = 0x100
PL_CAM_IFC_TYPE_1394_A = 0x101
PL_CAM_IFC_TYPE_1394_B = 0x102
PL_CAM_IFC_TYPE_USB = 0x200
PL_CAM_IFC_TYPE_USB_1_1 = 0x201
PL_CAM_IFC_TYPE_USB_2_0 = 0x202
PL_CAM_IFC_TYPE_USB_3_0 = 0x203
PL_CAM_IFC_TYPE_USB_3_1 = 0x204
PL_CAM_IFC_TYPE_PCI = 0x400
PL_CAM_IFC_TYPE_PCI_LVDS = 0x401
PL_CAM_IFC_TYPE_PCIE = 0x800
PL_CAM_IFC_TYPE_PCIE_LVDS = 0x801
PL_CAM_IFC_TYPE_PCIE_X1 = 0x802
PL_CAM_IFC_TYPE_PCIE_X4 = 0x803
PL_CAM_IFC_TYPE_PCIE_X8 = 0x804
PL_CAM_IFC_TYPE_VIRTUAL = 0x1000
PL_CAM_IFC_TYPE_ETHERNET = 0x2000
PL_CAM_IFC_MODE_UNSUPPORTED = 0
PL_CAM_IFC_MODE_CONTROL_ONLY = 1
PL_CAM_IFC_MODE_IMAGING = 2

# Frame metadata flags and extended tags
PL_MD_FRAME_FLAG_ROI_TS_SUPPORTED = 0x01
PL_MD_ROI_FLAG_INVALID = 0x01
PL_MD_ROI_FLAG_HEADER_ONLY = 0x02
PL_MD_EXT_TAG_PARTICLE_ID = 0
PL_MD_EXT_TAG_PARTICLE_M0 = 1
PL_MD_EXT_TAG_PARTICLE_M2 = 2
PL_MD_EXT_TAG_MAX = 3

# ---------------------------------------------------------------------------
# Error code names (the 3.10 library's own table; reference section 6)
# ---------------------------------------------------------------------------
ERROR_NAMES: dict[int, str] = {
    0: "PL_ERR_NONE",
    1: "PL_ERR_BC_STATUS_INVALID_BLOCK_NUM",
    2: "PL_ERR_BC_UNSUPPORTED_TARGET",
    3: "PL_ERR_BC_INVALID_TARGET",
    4: "PL_ERR_BC_TIMEOUT",
    5: "PL_ERR_BC_INVALID_OPCODE",
    6: "PL_ERR_BC_INVALID_LENGTH",
    7: "PL_ERR_BC_INVALID_PARAMETER",
    8: "PL_ERR_BC_INVALID_CAM_SPEED",
    9: "PL_ERR_BC_NO_MEMORY",
    10: "PL_ERR_BC_LOCK_FAILED",
    11: "PL_ERR_BC_CHANNEL_USED",
    12: "PL_ERR_BC_INVALID_CHANNEL",
    13: "PL_ERR_BC_NO_ISO_CHANNEL",
    14: "PL_ERR_BC_NO_ISO_BANDWIDTH",
    15: "PL_ERR_BC_INVALID_SPEED",
    16: "PL_ERR_BC_UNKNOWN_ERROR",
    17: "PL_ERR_BC_PROGRAMMING_FAILED",
    18: "PL_ERR_BC_PARAMETER_PERMISSION",
    129: "PL_ERR_BC_PENDING",
    150: "PL_ERR_UNKNOWN",
    151: "PL_ERR_INSTALLATION_CORRUPTED",
    152: "PL_ERR_INSUFFICIENT_RESOURCES",
    153: "PL_ERR_NULL_POINTER",
    154: "PL_ERR_NOT_AVAILABLE",
    155: "PL_ERR_NOT_IMPLEMENTED",
    156: "PL_ERR_ACCESS_DENIED",
    157: "PL_ERR_LIBRARY_NOT_INITIALIZED",
    158: "PL_ERR_LIBRARY_ALREADY_INITIALIZED",
    159: "PL_ERR_PARAMETER_UNKNOWN",
    160: "PL_ERR_PARAMETER_NOT_AVAILABLE",
    161: "PL_ERR_PARAMETER_NOT_ENUM",
    162: "PL_ERR_ATTRIBUTE_UNKNOWN",
    163: "PL_ERR_ATTRIBUTE_NOT_AVAILABLE",
    164: "PL_ERR_VALUE_INVALID",
    165: "PL_ERR_VALUE_OUT_OF_RANGE",
    166: "PL_ERR_VALUE_SET_FAILED",
    167: "PL_ERR_VALUE_REFUSED_BY_DEVICE",
    168: "PL_ERR_DATA_INVALID",
    169: "PL_ERR_DATA_NOT_AVAILABLE_YET",
    170: "PL_ERR_DATA_PROCESSING_FAILED",
    171: "PL_ERR_BUFFER_SIZE_INVALID",
    172: "PL_ERR_BUFFER_TOO_SMALL",
    173: "PL_ERR_BUFFER_OVERRUN",
    174: "PL_ERR_BUFFER_MALFORMED",
    175: "PL_ERR_DEVICE_HANDLE_INVALID",
    176: "PL_ERR_DEVICE_NAME_UNKNOWN",
    177: "PL_ERR_DEVICE_NOT_OPEN",
    178: "PL_ERR_DEVICE_ALREADY_OPEN",
    179: "PL_ERR_DEVICE_CONFIGURATION_INVALID",
    180: "PL_ERR_DEVICE_REMOVED",
    181: "PL_ERR_REGION_INVALID",
    182: "PL_ERR_BINNING_INVALID",
    183: "PL_ERR_MODE_INVALID",
    184: "PL_ERR_STATE_INVALID",
    185: "PL_ERR_CONFIGURATION_INVALID",
    186: "PL_ERR_INDEX_OUT_OF_RANGE",
    187: "PL_ERR_EXPOSURE_OUT_OF_RANGE",
    188: "PL_ERR_ACQUISITION_SETUP_REQUIRED",
    189: "PL_ERR_NO_SPEED_AVAILABLE",
    190: "PL_ERR_TOO_MANY_FRAMES",
    191: "PL_ERR_ZERO_FRAMES",
    192: "PL_ERR_METADATA_INVALID",
    193: "PL_ERR_DDI_LIBRARY_INCOMPATIBLE",
    194: "PL_ERR_DDI_DRIVER_INITIALIZATION_FAILED",
    195: "PL_ERR_DDI_DEVICE_OPEN_FAILED",
    196: "PL_ERR_DDI_DEVICE_CLOSE_FAILED",
    197: "PL_ERR_DDI_DEVICE_READ_FAILED",
    198: "PL_ERR_DDI_DEVICE_WRITE_FAILED",
    199: "PL_ERR_DDI_DEVICE_IOCTL_FAILED",
    200: "PL_ERR_DDI_EVENT_WAIT_FAILED",
    201: "PL_ERR_DDI_EVENT_RESET_FAILED",
    202: "PL_ERR_DDI_EVENT_SET_FAILED",
    203: "PL_ERR_DDI_EVENT_WAIT_TIMEOUT",
}
# Module-level PL_ERR_* names, generated from the table so the two cannot disagree.
globals().update({name: code for code, name in ERROR_NAMES.items()})


def error_name(code: int) -> str:
    """Return the library's symbolic name of error ``code``.

    Parameters
    ----------
    code : int
        A ``pl_error_code()`` value.

    Returns
    -------
    str
        E.g. ``"PL_ERR_CONFIGURATION_INVALID"``; ``"UNKNOWN"`` for codes the
        3.10 library does not define (it prints those as ``<UNKNOWN>``).
    """
    return ERROR_NAMES.get(int(code), "UNKNOWN")


# ---------------------------------------------------------------------------
# Lookup tables and IntEnum views
# ---------------------------------------------------------------------------
def _names_with_prefix(prefix: str, exclude: Iterable[str] = ()) -> dict[str, int]:
    """Collect module-level integer constants whose name starts with ``prefix``."""
    skip = set(exclude)
    return {
        name: value
        for name, value in globals().items()
        if name.startswith(prefix) and name not in skip and isinstance(value, int)
        and not isinstance(value, bool)
    }


#: Every ``PARAM_*`` id of the 3.10 header, by name (aliases included, ``PARAM_NAME_LEN`` not).
PARAMETERS: dict[str, int] = _names_with_prefix("PARAM_", exclude=("PARAM_NAME_LEN",))

#: Parameter id -> header name (the canonical name wins over the FRAME_ROTATE/FLIP aliases).
PARAMETER_NAMES: dict[int, str] = {}
for _name, _pid in PARAMETERS.items():
    PARAMETER_NAMES.setdefault(_pid, _name)
del _name, _pid


def parameter_name(pid: int) -> str:
    """Return the header name of parameter id ``pid``, or its hex id if unknown.

    Parameters
    ----------
    pid : int
        A parameter id.

    Returns
    -------
    str
        E.g. ``"PARAM_EXPOSURE_TIME"`` or ``"0x0DEADBEE"``.
    """
    return PARAMETER_NAMES.get(int(pid), f"0x{int(pid):08X}")


ParamType = IntEnum("ParamType", _names_with_prefix("TYPE_"), module=__name__)
ParamType.__doc__ = "Values of ``ATTR_TYPE`` (``TYPE_*``)."
Attribute = IntEnum("Attribute", _names_with_prefix("ATTR_"), module=__name__)
Attribute.__doc__ = "``pl_get_param`` attributes (``ATTR_*``)."
Access = IntEnum("Access", _names_with_prefix("ACC_"), module=__name__)
Access.__doc__ = "Values of ``ATTR_ACCESS`` (``ACC_*``)."
ExposureMode = IntEnum(
    "ExposureMode",
    {
        **_names_with_prefix("EXT_TRIG_"),
        **{n: globals()[n] for n in (
            "TIMED_MODE", "STROBED_MODE", "BULB_MODE", "TRIGGER_FIRST_MODE", "FLASH_MODE",
            "VARIABLE_TIMED_MODE", "INT_STROBE_MODE")},
    },
    module=__name__,
)
ExposureMode.__doc__ = "Legacy and extended exposure (trigger) modes."
ExposeOutMode = IntEnum(
    "ExposeOutMode", _names_with_prefix("EXPOSE_OUT_"), module=__name__)
ExposeOutMode.__doc__ = "Expose-out modes, OR-ed into setup's ``exp_mode``."
CircMode = IntEnum("CircMode", _names_with_prefix("CIRC_"), module=__name__)
CircMode.__doc__ = "Circular buffer modes of ``pl_exp_setup_cont``."
ImageStatus = IntEnum(
    "ImageStatus",
    {n: globals()[n] for n in (
        "READOUT_NOT_ACTIVE", "EXPOSURE_IN_PROGRESS", "READOUT_IN_PROGRESS",
        "READOUT_COMPLETE", "FRAME_AVAILABLE", "READOUT_FAILED", "ACQUISITION_IN_PROGRESS")},
    module=__name__,
)
ImageStatus.__doc__ = (
    "Statuses from the ``pl_exp_check_*status`` calls (FRAME_AVAILABLE aliases READOUT_COMPLETE).")
AbortMode = IntEnum("AbortMode", _names_with_prefix("CCS_"), module=__name__)
AbortMode.__doc__ = "``cam_state`` of ``pl_exp_abort`` / ``pl_exp_stop_cont``."
CallbackEvent = IntEnum(
    "CallbackEvent", _names_with_prefix("PL_CALLBACK_", exclude=("PL_CALLBACK_MAX",)),
    module=__name__)
CallbackEvent.__doc__ = "Events of ``pl_cam_register_callback_ex3``."
ExposureResolution = IntEnum(
    "ExposureResolution", _names_with_prefix("EXP_RES_ONE_"), module=__name__)
ExposureResolution.__doc__ = "Units of the exposure value (``PARAM_EXP_RES``)."
ClearMode = IntEnum(
    "ClearMode", _names_with_prefix("CLEAR_", exclude=("CLEAR_AUTO",)), module=__name__)
ClearMode.__doc__ = "Sensor clearing modes (``PARAM_CLEAR_MODE``; CLEAR_AUTO == CLEAR_NEVER)."
ImageFormat = IntEnum(
    "ImageFormat", _names_with_prefix("PL_IMAGE_FORMAT_"), module=__name__)
ImageFormat.__doc__ = "Pixel container formats (``PARAM_IMAGE_FORMAT``)."
SoftwareTriggerStatus = IntEnum(
    "SoftwareTriggerStatus", _names_with_prefix("PL_SW_TRIG_STATUS_"), module=__name__)
SoftwareTriggerStatus.__doc__ = "Out-flag of ``pl_exp_trigger``."
InterfaceType = IntEnum(
    "InterfaceType", _names_with_prefix("PL_CAM_IFC_TYPE_"), module=__name__)
InterfaceType.__doc__ = "Camera interface types (``PARAM_CAM_INTERFACE_TYPE``)."
