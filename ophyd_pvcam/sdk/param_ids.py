"""PVCAM parameter ids (``PARAM_*``) and the data-type codes they encode.

Part of :mod:`ophyd_pvcam.sdk.constants` (which re-exports every name here); kept in
its own module because the 123 ids of the 3.10 header are one long table.

Ids are computed as the header does: ``(type << 24) + (class << 16) + number``
("TTCCxxxx"). The type encoded in an id is sometimes wrong (``PARAM_READOUT_TIME``
says FLT64 but is UNS32), so the binding always asks the library for ``ATTR_TYPE``.
"""
from __future__ import annotations

# ---------------------------------------------------------------------------
# Data types (values of ATTR_TYPE)
# ---------------------------------------------------------------------------
TYPE_INT16 = 1
TYPE_INT32 = 2
TYPE_FLT64 = 4
TYPE_UNS8 = 5
TYPE_UNS16 = 6
TYPE_UNS32 = 7
TYPE_UNS64 = 8
TYPE_ENUM = 9
TYPE_BOOLEAN = 11
TYPE_INT8 = 12
TYPE_CHAR_PTR = 13
TYPE_VOID_PTR = 14
TYPE_VOID_PTR_PTR = 15
TYPE_INT64 = 16
TYPE_SMART_STREAM_TYPE = 17
TYPE_SMART_STREAM_TYPE_PTR = 18
TYPE_FLT32 = 19
TYPE_RGN_TYPE = 20
TYPE_RGN_TYPE_PTR = 21
TYPE_RGN_LIST_TYPE = 22
TYPE_RGN_LIST_TYPE_PTR = 23

# Parameter classes
CLASS0 = 0  # camera communication
CLASS2 = 2  # configuration / setup
CLASS3 = 3  # data acquisition


def param_id(type_code: int, param_class: int, number: int) -> int:
    """Encode a parameter id the way ``pvcam.h`` does.

    Parameters
    ----------
    type_code : int
        A ``TYPE_*`` value (the type the header encodes, not always the real one).
    param_class : int
        ``CLASS0``, ``CLASS2`` or ``CLASS3``.
    number : int
        The parameter number within its class (0..65535).

    Returns
    -------
    int
        ``(type_code << 24) + (param_class << 16) + number``.
    """
    return (type_code << 24) + (param_class << 16) + number


def encoded_type(pid: int) -> int:
    """Return the ``TYPE_*`` code encoded in the top byte of parameter id ``pid``.

    Parameters
    ----------
    pid : int
        A parameter id.

    Returns
    -------
    int
        The encoded type; query ``ATTR_TYPE`` for the real one.
    """
    return (pid >> 24) & 0xFF


# ---------------------------------------------------------------------------
# Parameter ids: class 0, camera communication
# ---------------------------------------------------------------------------
PARAM_DD_INFO_LENGTH = param_id(TYPE_INT16, CLASS0, 1)
PARAM_DD_VERSION = param_id(TYPE_UNS16, CLASS0, 2)
PARAM_DD_RETRIES = param_id(TYPE_UNS16, CLASS0, 3)
PARAM_DD_TIMEOUT = param_id(TYPE_UNS16, CLASS0, 4)
PARAM_DD_INFO = param_id(TYPE_CHAR_PTR, CLASS0, 5)
PARAM_CAM_INTERFACE_TYPE = param_id(TYPE_ENUM, CLASS0, 10)
PARAM_CAM_INTERFACE_MODE = param_id(TYPE_ENUM, CLASS0, 11)

# ---------------------------------------------------------------------------
# Parameter ids: class 2, configuration and setup
# ---------------------------------------------------------------------------
PARAM_ADC_OFFSET = param_id(TYPE_INT16, CLASS2, 195)
PARAM_CHIP_NAME = param_id(TYPE_CHAR_PTR, CLASS2, 129)
PARAM_SYSTEM_NAME = param_id(TYPE_CHAR_PTR, CLASS2, 130)
PARAM_VENDOR_NAME = param_id(TYPE_CHAR_PTR, CLASS2, 131)
PARAM_PRODUCT_NAME = param_id(TYPE_CHAR_PTR, CLASS2, 132)
PARAM_CAMERA_PART_NUMBER = param_id(TYPE_CHAR_PTR, CLASS2, 133)
PARAM_COOLING_MODE = param_id(TYPE_ENUM, CLASS2, 214)
PARAM_PREAMP_DELAY = param_id(TYPE_UNS16, CLASS2, 502)
PARAM_COLOR_MODE = param_id(TYPE_ENUM, CLASS2, 504)
PARAM_MPP_CAPABLE = param_id(TYPE_ENUM, CLASS2, 224)
PARAM_PREAMP_OFF_CONTROL = param_id(TYPE_UNS32, CLASS2, 507)
# sensor geometry
PARAM_PREMASK = param_id(TYPE_UNS16, CLASS2, 53)
PARAM_PRESCAN = param_id(TYPE_UNS16, CLASS2, 55)
PARAM_POSTMASK = param_id(TYPE_UNS16, CLASS2, 54)
PARAM_POSTSCAN = param_id(TYPE_UNS16, CLASS2, 56)
PARAM_PIX_PAR_DIST = param_id(TYPE_UNS16, CLASS2, 500)
PARAM_PIX_PAR_SIZE = param_id(TYPE_UNS16, CLASS2, 63)
PARAM_PIX_SER_DIST = param_id(TYPE_UNS16, CLASS2, 501)
PARAM_PIX_SER_SIZE = param_id(TYPE_UNS16, CLASS2, 62)
PARAM_SUMMING_WELL = param_id(TYPE_BOOLEAN, CLASS2, 505)
PARAM_FWELL_CAPACITY = param_id(TYPE_UNS32, CLASS2, 506)
PARAM_PAR_SIZE = param_id(TYPE_UNS16, CLASS2, 57)
PARAM_SER_SIZE = param_id(TYPE_UNS16, CLASS2, 58)
PARAM_ACCUM_CAPABLE = param_id(TYPE_BOOLEAN, CLASS2, 538)
PARAM_FLASH_DWNLD_CAPABLE = param_id(TYPE_BOOLEAN, CLASS2, 539)
# timing (valid after pl_exp_setup_*); READOUT_TIME's real type is UNS32 (µs)
PARAM_READOUT_TIME = param_id(TYPE_FLT64, CLASS2, 179)
PARAM_CLEARING_TIME = param_id(TYPE_INT64, CLASS2, 180)
PARAM_POST_TRIGGER_DELAY = param_id(TYPE_INT64, CLASS2, 181)
PARAM_PRE_TRIGGER_DELAY = param_id(TYPE_INT64, CLASS2, 182)
# camera
PARAM_CLEAR_CYCLES = param_id(TYPE_UNS16, CLASS2, 97)
PARAM_CLEAR_MODE = param_id(TYPE_ENUM, CLASS2, 523)
PARAM_FRAME_CAPABLE = param_id(TYPE_BOOLEAN, CLASS2, 509)
PARAM_PMODE = param_id(TYPE_ENUM, CLASS2, 524)
PARAM_TEMP = param_id(TYPE_INT16, CLASS2, 525)  # 1/100 °C
PARAM_TEMP_SETPOINT = param_id(TYPE_INT16, CLASS2, 526)  # 1/100 °C
PARAM_CAM_FW_VERSION = param_id(TYPE_UNS16, CLASS2, 532)
PARAM_HEAD_SER_NUM_ALPHA = param_id(TYPE_CHAR_PTR, CLASS2, 533)
PARAM_PCI_FW_VERSION = param_id(TYPE_UNS16, CLASS2, 534)
PARAM_FAN_SPEED_SETPOINT = param_id(TYPE_ENUM, CLASS2, 710)
PARAM_CAM_SYSTEMS_INFO = param_id(TYPE_CHAR_PTR, CLASS2, 536)
PARAM_EXPOSURE_MODE = param_id(TYPE_ENUM, CLASS2, 535)  # read-only: set through setup
PARAM_EXPOSE_OUT_MODE = param_id(TYPE_ENUM, CLASS2, 560)  # read-only: set through setup
# speed table and pixel format
PARAM_BIT_DEPTH = param_id(TYPE_INT16, CLASS2, 511)
PARAM_BIT_DEPTH_HOST = param_id(TYPE_INT16, CLASS2, 551)
PARAM_IMAGE_FORMAT = param_id(TYPE_ENUM, CLASS2, 248)
PARAM_IMAGE_FORMAT_HOST = param_id(TYPE_ENUM, CLASS2, 552)
PARAM_IMAGE_COMPRESSION = param_id(TYPE_ENUM, CLASS2, 249)
PARAM_IMAGE_COMPRESSION_HOST = param_id(TYPE_ENUM, CLASS2, 253)
PARAM_HOST_FRAME_ROTATE = param_id(TYPE_ENUM, CLASS2, 256)
PARAM_FRAME_ROTATE = PARAM_HOST_FRAME_ROTATE  # header alias
PARAM_HOST_FRAME_FLIP = param_id(TYPE_ENUM, CLASS2, 257)
PARAM_FRAME_FLIP = PARAM_HOST_FRAME_FLIP  # header alias
PARAM_HOST_FRAME_SUMMING_ENABLED = param_id(TYPE_BOOLEAN, CLASS2, 258)
PARAM_HOST_FRAME_SUMMING_COUNT = param_id(TYPE_UNS32, CLASS2, 259)
PARAM_HOST_FRAME_SUMMING_FORMAT = param_id(TYPE_ENUM, CLASS2, 260)
PARAM_HOST_FRAME_DECOMPRESSION_ENABLED = param_id(TYPE_BOOLEAN, CLASS2, 261)
PARAM_GAIN_INDEX = param_id(TYPE_INT16, CLASS2, 512)
PARAM_SPDTAB_INDEX = param_id(TYPE_INT16, CLASS2, 513)
PARAM_GAIN_NAME = param_id(TYPE_CHAR_PTR, CLASS2, 514)
PARAM_SPDTAB_NAME = param_id(TYPE_CHAR_PTR, CLASS2, 515)
PARAM_READOUT_PORT = param_id(TYPE_ENUM, CLASS2, 247)
PARAM_PIX_TIME = param_id(TYPE_UNS16, CLASS2, 516)
# shutter and I/O
PARAM_SHTR_CLOSE_DELAY = param_id(TYPE_UNS16, CLASS2, 519)
PARAM_SHTR_OPEN_DELAY = param_id(TYPE_UNS16, CLASS2, 520)
PARAM_SHTR_OPEN_MODE = param_id(TYPE_ENUM, CLASS2, 521)
PARAM_SHTR_STATUS = param_id(TYPE_ENUM, CLASS2, 522)
PARAM_IO_ADDR = param_id(TYPE_UNS16, CLASS2, 527)
PARAM_IO_TYPE = param_id(TYPE_ENUM, CLASS2, 528)
PARAM_IO_DIRECTION = param_id(TYPE_ENUM, CLASS2, 529)
PARAM_IO_STATE = param_id(TYPE_FLT64, CLASS2, 530)
PARAM_IO_BITDEPTH = param_id(TYPE_UNS16, CLASS2, 531)
# gain multiplication (EMCCD)
PARAM_GAIN_MULT_FACTOR = param_id(TYPE_UNS16, CLASS2, 537)
PARAM_GAIN_MULT_ENABLE = param_id(TYPE_BOOLEAN, CLASS2, 541)
# post-processing; PP_FEAT_ID and PP_PARAM_ID are really UNS32
PARAM_PP_FEAT_NAME = param_id(TYPE_CHAR_PTR, CLASS2, 542)
PARAM_PP_INDEX = param_id(TYPE_INT16, CLASS2, 543)
PARAM_ACTUAL_GAIN = param_id(TYPE_UNS16, CLASS2, 544)
PARAM_PP_PARAM_INDEX = param_id(TYPE_INT16, CLASS2, 545)
PARAM_PP_PARAM_NAME = param_id(TYPE_CHAR_PTR, CLASS2, 546)
PARAM_PP_PARAM = param_id(TYPE_UNS32, CLASS2, 547)
PARAM_READ_NOISE = param_id(TYPE_UNS16, CLASS2, 548)
PARAM_PP_FEAT_ID = param_id(TYPE_UNS16, CLASS2, 549)
PARAM_PP_PARAM_ID = param_id(TYPE_UNS16, CLASS2, 550)
# S.M.A.R.T. streaming; the *_PARAMS are really SMART_STREAM_TYPE_PTR
PARAM_SMART_STREAM_MODE_ENABLED = param_id(TYPE_BOOLEAN, CLASS2, 700)
PARAM_SMART_STREAM_MODE = param_id(TYPE_UNS16, CLASS2, 701)
PARAM_SMART_STREAM_EXP_PARAMS = param_id(TYPE_VOID_PTR, CLASS2, 702)
PARAM_SMART_STREAM_DLY_PARAMS = param_id(TYPE_VOID_PTR, CLASS2, 703)

# ---------------------------------------------------------------------------
# Parameter ids: class 3, data acquisition
# ---------------------------------------------------------------------------
PARAM_EXP_TIME = param_id(TYPE_UNS16, CLASS3, 1)  # VARIABLE_TIMED_MODE exposure only
PARAM_EXP_RES = param_id(TYPE_ENUM, CLASS3, 2)
PARAM_EXP_RES_INDEX = param_id(TYPE_UNS16, CLASS3, 4)
PARAM_EXPOSURE_TIME = param_id(TYPE_UNS64, CLASS3, 8)
PARAM_BOF_EOF_ENABLE = param_id(TYPE_ENUM, CLASS3, 5)
PARAM_BOF_EOF_COUNT = param_id(TYPE_UNS32, CLASS3, 6)
PARAM_BOF_EOF_CLR = param_id(TYPE_BOOLEAN, CLASS3, 7)
PARAM_CIRC_BUFFER = param_id(TYPE_BOOLEAN, CLASS3, 299)
PARAM_FRAME_BUFFER_SIZE = param_id(TYPE_UNS64, CLASS3, 300)
PARAM_BINNING_SER = param_id(TYPE_ENUM, CLASS3, 165)
PARAM_BINNING_PAR = param_id(TYPE_ENUM, CLASS3, 166)
PARAM_METADATA_ENABLED = param_id(TYPE_BOOLEAN, CLASS3, 168)
PARAM_METADATA_RESET_TIMESTAMP = param_id(TYPE_BOOLEAN, CLASS3, 176)
PARAM_ROI_COUNT = param_id(TYPE_UNS16, CLASS3, 169)
PARAM_ROI = param_id(TYPE_RGN_TYPE, CLASS3, 1)
PARAM_CENTROIDS_ENABLED = param_id(TYPE_BOOLEAN, CLASS3, 170)
PARAM_CENTROIDS_RADIUS = param_id(TYPE_UNS16, CLASS3, 171)
PARAM_CENTROIDS_COUNT = param_id(TYPE_UNS16, CLASS3, 172)
PARAM_CENTROIDS_MODE = param_id(TYPE_ENUM, CLASS3, 173)
PARAM_CENTROIDS_BG_COUNT = param_id(TYPE_ENUM, CLASS3, 174)
PARAM_CENTROIDS_THRESHOLD = param_id(TYPE_UNS32, CLASS3, 175)
PARAM_TRIGTAB_SIGNAL = param_id(TYPE_ENUM, CLASS3, 180)
PARAM_LAST_MUXED_SIGNAL = param_id(TYPE_UNS8, CLASS3, 181)
PARAM_FRAME_DELIVERY_MODE = param_id(TYPE_ENUM, CLASS3, 400)
PARAM_SCAN_MODE = param_id(TYPE_ENUM, CLASS3, 250)
PARAM_SCAN_DIRECTION = param_id(TYPE_ENUM, CLASS3, 251)
PARAM_SCAN_DIRECTION_RESET = param_id(TYPE_BOOLEAN, CLASS3, 252)
PARAM_SCAN_LINE_DELAY = param_id(TYPE_UNS16, CLASS3, 253)
PARAM_SCAN_LINE_TIME = param_id(TYPE_INT64, CLASS3, 254)  # ns
PARAM_SCAN_WIDTH = param_id(TYPE_UNS16, CLASS3, 255)


__all__ = [name for name in dict(globals()) if name.startswith(("PARAM_", "TYPE_", "CLASS"))]
__all__ += ["param_id", "encoded_type"]
