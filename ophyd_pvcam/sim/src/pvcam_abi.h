/*
 * pvcam_abi.h - the PVCAM 3.x ABI as the simulator implements it.
 *
 * Restated in our own words from docs/ and /work/shared/pvcam-reference.md
 * (sections 2-5): primitive types, structures, the constants the simulator
 * uses and the prototypes of the 61 exported vendor functions.  Nothing here
 * is copied from the vendor header; sizes and offsets were checked against
 * the reference tables (rgn_type 12 bytes, FRAME_INFO 48 bytes).
 */
#ifndef OPHYD_PVCAM_SIM_PVCAM_ABI_H
#define OPHYD_PVCAM_SIM_PVCAM_ABI_H

#include <stddef.h>

#define PV_EXPORT __attribute__((visibility("default")))

/* ---- primitive types (master.h sizes on x86_64 Linux) ---- */
typedef unsigned short rs_bool;
typedef signed char int8;
typedef unsigned char uns8;
typedef short int16;
typedef unsigned short uns16;
typedef int int32;
typedef unsigned int uns32;
typedef long long long64;
typedef unsigned long long ulong64;
typedef float flt32;
typedef double flt64;

#define PV_FAIL 0
#define PV_OK 1

/* ---- limits ---- */
#define MAX_CAM 16
#define CAM_NAME_LEN 32
#define ERROR_MSG_LEN 255
#define CCD_NAME_LEN 17
#define MAX_ALPHA_SER_NUM_LEN 32
#define MAX_NAME_LEN_32 32

/* ---- structures ---- */
typedef struct rgn_type {
    uns16 s1, s2, sbin, p1, p2, pbin;
} rgn_type;

typedef struct PVCAM_FRAME_INFO_GUID {
    uns32 f1;
    uns16 f2;
    uns16 f3;
    uns8 f4[8];
} PVCAM_FRAME_INFO_GUID;

typedef struct FRAME_INFO {
    PVCAM_FRAME_INFO_GUID FrameInfoGUID;
    int16 hCam;
    int32 FrameNr;
    long64 TimeStamp;
    int32 ReadoutTime;
    long64 TimeStampBOF;
} FRAME_INFO;

typedef struct smart_stream_type {
    uns16 entries;
    uns32 *params;
} smart_stream_type;

/* Frame metadata (reference 4): packed, little-endian, in the frame buffer. */
#define PL_MD_FRAME_SIGNATURE 5328208u   /* "PMQ\0" */
enum { PL_MD_FRAME_FLAG_ROI_TS_SUPPORTED = 0x01 };
enum { PL_MD_ROI_FLAG_INVALID = 0x01, PL_MD_ROI_FLAG_HEADER_ONLY = 0x02 };
#define PL_MD_EXT_TAGS_MAX_SUPPORTED 255
enum { PL_MD_EXT_TAG_PARTICLE_ID = 0, PL_MD_EXT_TAG_PARTICLE_M0 = 1, PL_MD_EXT_TAG_PARTICLE_M2 = 2,
       PL_MD_EXT_TAG_MAX = 3 };

#pragma pack(push, 1)
typedef struct md_frame_header {         /* versions 1 and 2 */
    uns32 signature;
    uns8 version;
    uns32 frameNr;
    uns16 roiCount;
    uns32 timestampBOF;
    uns32 timestampEOF;
    uns32 timestampResNs;
    uns32 exposureTime;
    uns32 exposureTimeResNs;
    uns32 roiTimestampResNs;
    uns8 bitDepth;
    uns8 colorMask;
    uns8 flags;
    uns16 extendedMdSize;
    uns8 imageFormat;                    /* version 2 and later */
    uns8 imageCompression;
    uns8 _reserved[6];
} md_frame_header;

typedef struct md_frame_header_v3 {      /* 64-bit picosecond times */
    uns32 signature;
    uns8 version;
    uns32 frameNr;
    uns16 roiCount;
    ulong64 timestampBOF;
    ulong64 timestampEOF;
    ulong64 exposureTime;
    uns8 bitDepth;
    uns8 colorMask;
    uns8 flags;
    uns16 extendedMdSize;
    uns8 imageFormat;
    uns8 imageCompression;
    uns8 _reserved[6];
} md_frame_header_v3;

typedef struct md_frame_roi_header {
    uns16 roiNr;
    uns32 timestampBOR;
    uns32 timestampEOR;
    rgn_type roi;
    uns8 flags;
    uns16 extendedMdSize;
    uns32 roiDataSize;                   /* version 2 and later */
    uns8 _reserved[3];
} md_frame_roi_header;
#pragma pack(pop)

typedef struct md_frame_roi {
    md_frame_roi_header *header;
    void *data;
    uns32 dataSize;
    void *extMdData;
    uns16 extMdDataSize;
} md_frame_roi;

typedef struct md_frame {
    md_frame_header *header;
    void *extMdData;
    uns16 extMdDataSize;
    rgn_type impliedRoi;
    md_frame_roi *roiArray;
    uns16 roiCapacity;
    uns16 roiCount;
} md_frame;

typedef struct md_ext_item_info {
    int tag;                             /* PL_MD_EXT_TAGS */
    uns16 type;
    uns16 size;
    const char *name;
} md_ext_item_info;

typedef struct md_ext_item {
    const md_ext_item_info *tagInfo;
    void *value;
} md_ext_item;

typedef struct md_ext_item_collection {
    md_ext_item list[PL_MD_EXT_TAGS_MAX_SUPPORTED];
    md_ext_item *map[PL_MD_EXT_TAGS_MAX_SUPPORTED];
    uns16 count;
} md_ext_item_collection;

_Static_assert(sizeof(rgn_type) == 12, "rgn_type layout");
_Static_assert(sizeof(FRAME_INFO) == 48, "FRAME_INFO layout");
_Static_assert(offsetof(FRAME_INFO, FrameNr) == 20, "FRAME_INFO.FrameNr");
_Static_assert(offsetof(FRAME_INFO, TimeStampBOF) == 40, "FRAME_INFO.TimeStampBOF");
_Static_assert(sizeof(smart_stream_type) == 16, "smart_stream_type layout");
_Static_assert(sizeof(md_frame) == 48, "md_frame layout");
_Static_assert(sizeof(md_frame_roi) == 40, "md_frame_roi layout");
_Static_assert(sizeof(md_frame_header) == 48, "md_frame_header layout");
_Static_assert(offsetof(md_frame_header, frameNr) == 5, "md_frame_header.frameNr");
_Static_assert(offsetof(md_frame_header, timestampBOF) == 11, "md_frame_header.timestampBOF");
_Static_assert(offsetof(md_frame_header, roiTimestampResNs) == 31, "md_frame_header.roiTimestampResNs");
_Static_assert(offsetof(md_frame_header, extendedMdSize) == 38, "md_frame_header.extendedMdSize");
_Static_assert(offsetof(md_frame_header, imageFormat) == 40, "md_frame_header.imageFormat");
_Static_assert(sizeof(md_frame_header_v3) == 48, "md_frame_header_v3 layout");
_Static_assert(offsetof(md_frame_header_v3, exposureTime) == 27, "md_frame_header_v3.exposureTime");
_Static_assert(offsetof(md_frame_header_v3, bitDepth) == 35, "md_frame_header_v3.bitDepth");
_Static_assert(sizeof(md_frame_roi_header) == 32, "md_frame_roi_header layout");
_Static_assert(offsetof(md_frame_roi_header, roi) == 10, "md_frame_roi_header.roi");
_Static_assert(offsetof(md_frame_roi_header, roiDataSize) == 25, "md_frame_roi_header.roiDataSize");
_Static_assert(offsetof(md_frame, impliedRoi) == 18, "md_frame.impliedRoi");
_Static_assert(offsetof(md_frame, roiArray) == 32, "md_frame.roiArray");
_Static_assert(sizeof(md_ext_item_collection) == 6128, "md_ext_item_collection layout");

/* ---- parameter value types (ATTR_TYPE) ---- */
enum {
    TYPE_INT16 = 1, TYPE_INT32 = 2, TYPE_FLT64 = 4, TYPE_UNS8 = 5, TYPE_UNS16 = 6,
    TYPE_UNS32 = 7, TYPE_UNS64 = 8, TYPE_ENUM = 9, TYPE_BOOLEAN = 11, TYPE_INT8 = 12,
    TYPE_CHAR_PTR = 13, TYPE_VOID_PTR = 14, TYPE_VOID_PTR_PTR = 15, TYPE_INT64 = 16,
    TYPE_SMART_STREAM_TYPE = 17, TYPE_SMART_STREAM_TYPE_PTR = 18, TYPE_FLT32 = 19,
    TYPE_RGN_TYPE = 20, TYPE_RGN_TYPE_PTR = 21, TYPE_RGN_LIST_TYPE = 22,
    TYPE_RGN_LIST_TYPE_PTR = 23
};

/* ---- attributes ---- */
enum {
    ATTR_CURRENT = 0, ATTR_COUNT = 1, ATTR_TYPE = 2, ATTR_MIN = 3, ATTR_MAX = 4,
    ATTR_DEFAULT = 5, ATTR_INCREMENT = 6, ATTR_ACCESS = 7, ATTR_AVAIL = 8, ATTR_LIVE = 9
};
enum { ACC_READ_ONLY = 1, ACC_READ_WRITE = 2, ACC_EXIST_CHECK_ONLY = 3, ACC_WRITE_ONLY = 4 };

/* ---- exposure and expose-out modes ---- */
enum {
    TIMED_MODE = 0, STROBED_MODE = 1, BULB_MODE = 2, TRIGGER_FIRST_MODE = 3,
    FLASH_MODE = 4, VARIABLE_TIMED_MODE = 5, INT_STROBE_MODE = 6, MAX_EXPOSE_MODE = 7,
    EXT_TRIG_INTERNAL = (7 + 0) << 8, EXT_TRIG_TRIG_FIRST = (7 + 1) << 8,
    EXT_TRIG_EDGE_RISING = (7 + 2) << 8, EXT_TRIG_LEVEL = (7 + 3) << 8,
    EXT_TRIG_SOFTWARE_FIRST = (7 + 4) << 8, EXT_TRIG_SOFTWARE_EDGE = (7 + 5) << 8,
    EXT_TRIG_LEVEL_OVERLAP = (7 + 6) << 8, EXT_TRIG_LEVEL_PULSED = (7 + 7) << 8
};
enum {
    EXPOSE_OUT_FIRST_ROW = 0, EXPOSE_OUT_ALL_ROWS = 1, EXPOSE_OUT_ANY_ROW = 2,
    EXPOSE_OUT_ROLLING_SHUTTER = 3, EXPOSE_OUT_LINE_TRIGGER = 4,
    EXPOSE_OUT_GLOBAL_SHUTTER = 5, MAX_EXPOSE_OUT_MODE = 6
};
enum { PL_SW_TRIG_STATUS_TRIGGERED = 0, PL_SW_TRIG_STATUS_IGNORED = 1 };

/* ---- buffers, statuses, abort modes, callbacks ---- */
enum { CIRC_NONE = 0, CIRC_OVERWRITE = 1, CIRC_NO_OVERWRITE = 2 };
enum {
    READOUT_NOT_ACTIVE = 0, EXPOSURE_IN_PROGRESS = 1, READOUT_IN_PROGRESS = 2,
    READOUT_COMPLETE = 3, FRAME_AVAILABLE = 3, READOUT_FAILED = 4
};
enum { CCS_NO_CHANGE = 0, CCS_HALT = 1, CCS_CLEAR_OPEN_SHTR = 6 };
enum {
    PL_CALLBACK_BOF = 0, PL_CALLBACK_EOF = 1, PL_CALLBACK_CHECK_CAMS = 2,
    PL_CALLBACK_CAM_REMOVED = 3, PL_CALLBACK_CAM_RESUMED = 4, PL_CALLBACK_MAX = 5
};
enum { OPEN_EXCLUSIVE = 0 };

/* ---- other enums used by parameters ---- */
enum { EXP_RES_ONE_MILLISEC = 0, EXP_RES_ONE_MICROSEC = 1, EXP_RES_ONE_SEC = 2 };
enum { CLEAR_NEVER = 0, CLEAR_AUTO = 0, CLEAR_PRE_EXPOSURE = 1, CLEAR_PRE_SEQUENCE = 2 };
enum { PMODE_NORMAL = 0, PMODE_FT = 1 };
enum { FAN_SPEED_HIGH = 0, FAN_SPEED_MEDIUM = 1, FAN_SPEED_LOW = 2, FAN_SPEED_OFF = 3 };
enum { NORMAL_COOL = 0, CRYO_COOL = 1, NO_COOL = 2 };
enum { PL_IMAGE_FORMAT_MONO16 = 0, PL_IMAGE_FORMAT_MONO8 = 2 };
enum { PL_IMAGE_COMPRESSION_NONE = 0 };
enum { COLOR_NONE = 0 };
enum { PL_SCAN_MODE_AUTO = 0, PL_SCAN_MODE_PROGRAMMABLE_LINE_DELAY = 1, PL_SCAN_MODE_PROGRAMMABLE_SCAN_WIDTH = 2 };
enum { PL_SCAN_DIRECTION_DOWN = 0, PL_SCAN_DIRECTION_UP = 1, PL_SCAN_DIRECTION_DOWN_UP = 2 };
enum { SMTMODE_ARBITRARY_ALL = 0 };
enum {
    PL_CAM_IFC_TYPE_USB_3_0 = 0x203, PL_CAM_IFC_TYPE_PCIE_X4 = 0x803
};

/* ---- parameter ids: (TYPE << 24) | (CLASS << 16) | n ---- */
#define PV_PARAM(type, cls, n) ((uns32)(((uns32)(type) << 24) | ((uns32)(cls) << 16) | (uns32)(n)))
#define PARAM_DD_VERSION PV_PARAM(TYPE_UNS16, 0, 2)
#define PARAM_CAM_INTERFACE_TYPE PV_PARAM(TYPE_ENUM, 0, 10)
#define PARAM_CHIP_NAME PV_PARAM(TYPE_CHAR_PTR, 2, 129)
#define PARAM_SYSTEM_NAME PV_PARAM(TYPE_CHAR_PTR, 2, 130)
#define PARAM_VENDOR_NAME PV_PARAM(TYPE_CHAR_PTR, 2, 131)
#define PARAM_PRODUCT_NAME PV_PARAM(TYPE_CHAR_PTR, 2, 132)
#define PARAM_CAMERA_PART_NUMBER PV_PARAM(TYPE_CHAR_PTR, 2, 133)
#define PARAM_HEAD_SER_NUM_ALPHA PV_PARAM(TYPE_CHAR_PTR, 2, 533)
#define PARAM_CAM_FW_VERSION PV_PARAM(TYPE_UNS16, 2, 532)
#define PARAM_SER_SIZE PV_PARAM(TYPE_UNS16, 2, 58)
#define PARAM_PAR_SIZE PV_PARAM(TYPE_UNS16, 2, 57)
#define PARAM_PIX_SER_SIZE PV_PARAM(TYPE_UNS16, 2, 62)
#define PARAM_PIX_PAR_SIZE PV_PARAM(TYPE_UNS16, 2, 63)
#define PARAM_PIX_SER_DIST PV_PARAM(TYPE_UNS16, 2, 501)
#define PARAM_PIX_PAR_DIST PV_PARAM(TYPE_UNS16, 2, 500)
#define PARAM_FWELL_CAPACITY PV_PARAM(TYPE_UNS32, 2, 506)
#define PARAM_BIT_DEPTH PV_PARAM(TYPE_INT16, 2, 511)
#define PARAM_BIT_DEPTH_HOST PV_PARAM(TYPE_INT16, 2, 551)
#define PARAM_GAIN_INDEX PV_PARAM(TYPE_INT16, 2, 512)
#define PARAM_SPDTAB_INDEX PV_PARAM(TYPE_INT16, 2, 513)
#define PARAM_GAIN_NAME PV_PARAM(TYPE_CHAR_PTR, 2, 514)
#define PARAM_SPDTAB_NAME PV_PARAM(TYPE_CHAR_PTR, 2, 515)
#define PARAM_READOUT_PORT PV_PARAM(TYPE_ENUM, 2, 247)
#define PARAM_PIX_TIME PV_PARAM(TYPE_UNS16, 2, 516)
#define PARAM_IMAGE_FORMAT PV_PARAM(TYPE_ENUM, 2, 248)
#define PARAM_IMAGE_FORMAT_HOST PV_PARAM(TYPE_ENUM, 2, 552)
#define PARAM_COLOR_MODE PV_PARAM(TYPE_ENUM, 2, 504)
#define PARAM_COOLING_MODE PV_PARAM(TYPE_ENUM, 2, 214)
#define PARAM_TEMP PV_PARAM(TYPE_INT16, 2, 525)
#define PARAM_TEMP_SETPOINT PV_PARAM(TYPE_INT16, 2, 526)
#define PARAM_FAN_SPEED_SETPOINT PV_PARAM(TYPE_ENUM, 2, 710)
/* The id encodes FLT64 but the value is really UNS32 (vendor quirk). */
#define PARAM_READOUT_TIME PV_PARAM(TYPE_FLT64, 2, 179)
#define PARAM_CLEARING_TIME PV_PARAM(TYPE_INT64, 2, 180)
#define PARAM_POST_TRIGGER_DELAY PV_PARAM(TYPE_INT64, 2, 181)
#define PARAM_PRE_TRIGGER_DELAY PV_PARAM(TYPE_INT64, 2, 182)
#define PARAM_CLEAR_CYCLES PV_PARAM(TYPE_UNS16, 2, 97)
#define PARAM_CLEAR_MODE PV_PARAM(TYPE_ENUM, 2, 523)
#define PARAM_FRAME_CAPABLE PV_PARAM(TYPE_BOOLEAN, 2, 509)
#define PARAM_PMODE PV_PARAM(TYPE_ENUM, 2, 524)
#define PARAM_EXPOSURE_MODE PV_PARAM(TYPE_ENUM, 2, 535)
#define PARAM_EXPOSE_OUT_MODE PV_PARAM(TYPE_ENUM, 2, 560)
#define PARAM_ADC_OFFSET PV_PARAM(TYPE_INT16, 2, 195)
#define PARAM_PP_INDEX PV_PARAM(TYPE_INT16, 2, 543)
#define PARAM_EXP_TIME PV_PARAM(TYPE_UNS16, 3, 1)
#define PARAM_EXP_RES PV_PARAM(TYPE_ENUM, 3, 2)
#define PARAM_EXP_RES_INDEX PV_PARAM(TYPE_UNS16, 3, 4)
#define PARAM_EXPOSURE_TIME PV_PARAM(TYPE_UNS64, 3, 8)
#define PARAM_CIRC_BUFFER PV_PARAM(TYPE_BOOLEAN, 3, 299)
#define PARAM_FRAME_BUFFER_SIZE PV_PARAM(TYPE_UNS64, 3, 300)
#define PARAM_BINNING_SER PV_PARAM(TYPE_ENUM, 3, 165)
#define PARAM_BINNING_PAR PV_PARAM(TYPE_ENUM, 3, 166)
#define PARAM_METADATA_ENABLED PV_PARAM(TYPE_BOOLEAN, 3, 168)
#define PARAM_ROI_COUNT PV_PARAM(TYPE_UNS16, 3, 169)
#define PARAM_ROI PV_PARAM(TYPE_RGN_TYPE, 3, 1)
#define PARAM_SCAN_LINE_TIME PV_PARAM(TYPE_INT64, 3, 254)
#define PARAM_METADATA_RESET_TIMESTAMP PV_PARAM(TYPE_BOOLEAN, 3, 176)
#define PARAM_SCAN_MODE PV_PARAM(TYPE_ENUM, 3, 250)
#define PARAM_SCAN_DIRECTION PV_PARAM(TYPE_ENUM, 3, 251)
#define PARAM_SCAN_DIRECTION_RESET PV_PARAM(TYPE_BOOLEAN, 3, 252)
#define PARAM_SCAN_LINE_DELAY PV_PARAM(TYPE_UNS16, 3, 253)
#define PARAM_SCAN_WIDTH PV_PARAM(TYPE_UNS16, 3, 255)
#define PARAM_SMART_STREAM_MODE_ENABLED PV_PARAM(TYPE_BOOLEAN, 2, 700)
#define PARAM_SMART_STREAM_MODE PV_PARAM(TYPE_UNS16, 2, 701)
/* The id encodes VOID_PTR but the value is really a smart_stream_type* (vendor quirk). */
#define PARAM_SMART_STREAM_EXP_PARAMS PV_PARAM(TYPE_VOID_PTR, 2, 702)
#define PARAM_SMART_STREAM_DLY_PARAMS PV_PARAM(TYPE_VOID_PTR, 2, 703)

/* ---- exported vendor functions (61) ---- */
PV_EXPORT rs_bool pl_pvcam_get_ver(uns16 *pvcam_version);
PV_EXPORT rs_bool pl_pvcam_init(void);
PV_EXPORT rs_bool pl_pvcam_uninit(void);
PV_EXPORT rs_bool pl_cam_get_total(int16 *totl_cams);
PV_EXPORT rs_bool pl_cam_get_name(int16 cam_num, char *camera_name);
PV_EXPORT rs_bool pl_cam_open(char *camera_name, int16 *hcam, int16 o_mode);
PV_EXPORT rs_bool pl_cam_close(int16 hcam);
PV_EXPORT rs_bool pl_cam_register_callback(int16 hcam, int32 callback_event, void *callback);
PV_EXPORT rs_bool pl_cam_register_callback_ex(int16 hcam, int32 callback_event, void *callback, void *context);
PV_EXPORT rs_bool pl_cam_register_callback_ex2(int16 hcam, int32 callback_event, void *callback);
PV_EXPORT rs_bool pl_cam_register_callback_ex3(int16 hcam, int32 callback_event, void *callback, void *context);
PV_EXPORT rs_bool pl_cam_deregister_callback(int16 hcam, int32 callback_event);
PV_EXPORT int16 pl_error_code(void);
PV_EXPORT rs_bool pl_error_message(int16 err_code, char *msg);
PV_EXPORT rs_bool pl_get_param(int16 hcam, uns32 param_id, int16 param_attribute, void *param_value);
PV_EXPORT rs_bool pl_set_param(int16 hcam, uns32 param_id, void *param_value);
PV_EXPORT rs_bool pl_get_enum_param(int16 hcam, uns32 param_id, uns32 index, int32 *value, char *desc, uns32 length);
PV_EXPORT rs_bool pl_enum_str_length(int16 hcam, uns32 param_id, uns32 index, uns32 *length);
PV_EXPORT rs_bool pl_pp_reset(int16 hcam);
PV_EXPORT rs_bool pl_create_smart_stream_struct(smart_stream_type **array, uns16 entries);
PV_EXPORT rs_bool pl_release_smart_stream_struct(smart_stream_type **array);
PV_EXPORT rs_bool pl_create_frame_info_struct(FRAME_INFO **new_frame);
PV_EXPORT rs_bool pl_release_frame_info_struct(FRAME_INFO *frame_to_delete);
PV_EXPORT rs_bool pl_exp_setup_seq(int16 hcam, uns16 exp_total, uns16 rgn_total, const rgn_type *rgn_array,
                                   int16 exp_mode, uns32 exposure_time, uns32 *exp_bytes);
PV_EXPORT rs_bool pl_exp_start_seq(int16 hcam, void *pixel_stream);
PV_EXPORT rs_bool pl_exp_setup_cont(int16 hcam, uns16 rgn_total, const rgn_type *rgn_array, int16 exp_mode,
                                    uns32 exposure_time, uns32 *exp_bytes, int16 buffer_mode);
PV_EXPORT rs_bool pl_exp_start_cont(int16 hcam, void *pixel_stream, uns32 size);
PV_EXPORT rs_bool pl_exp_trigger(int16 hcam, uns32 *flags, uns32 value);
PV_EXPORT rs_bool pl_exp_check_status(int16 hcam, int16 *status, uns32 *bytes_arrived);
PV_EXPORT rs_bool pl_exp_check_cont_status(int16 hcam, int16 *status, uns32 *bytes_arrived, uns32 *buffer_cnt);
PV_EXPORT rs_bool pl_exp_check_cont_status_ex(int16 hcam, int16 *status, uns32 *byte_cnt, uns32 *buffer_cnt,
                                              FRAME_INFO *frame_info);
PV_EXPORT rs_bool pl_exp_get_latest_frame(int16 hcam, void **frame);
PV_EXPORT rs_bool pl_exp_get_latest_frame_ex(int16 hcam, void **frame, FRAME_INFO *frame_info);
PV_EXPORT rs_bool pl_exp_get_oldest_frame(int16 hcam, void **frame);
PV_EXPORT rs_bool pl_exp_get_oldest_frame_ex(int16 hcam, void **frame, FRAME_INFO *frame_info);
PV_EXPORT rs_bool pl_exp_unlock_oldest_frame(int16 hcam);
PV_EXPORT rs_bool pl_exp_stop_cont(int16 hcam, int16 cam_state);
PV_EXPORT rs_bool pl_exp_abort(int16 hcam, int16 cam_state);
PV_EXPORT rs_bool pl_exp_finish_seq(int16 hcam, void *pixel_stream, int16 hbuf);
PV_EXPORT rs_bool pl_io_script_control(int16 hcam, uns16 addr, flt64 state, uns32 location);
PV_EXPORT rs_bool pl_io_clear_script_control(int16 hcam);
PV_EXPORT rs_bool pl_md_frame_decode(md_frame *pDstFrame, void *pSrcBuf, uns32 srcBufSize);
PV_EXPORT rs_bool pl_md_frame_recompose(void *pDstBuf, uns16 offX, uns16 offY, uns16 dstWidth, uns16 dstHeight,
                                        md_frame *pSrcFrame);
PV_EXPORT rs_bool pl_md_create_frame_struct_cont(md_frame **pFrame, uns16 roiCount);
PV_EXPORT rs_bool pl_md_create_frame_struct(md_frame **pFrame, void *pSrcBuf, uns32 srcBufSize);
PV_EXPORT rs_bool pl_md_release_frame_struct(md_frame *pFrame);
PV_EXPORT rs_bool pl_md_read_extended(md_ext_item_collection *pOutput, void *pExtMdPtr, uns32 extMdSize);
/* Exported by the vendor library without a public prototype; ours are stubs. */
PV_EXPORT rs_bool pl_internal_bridge_command(int16 hcam, void *cmd, uns32 cmd_size, void *reply, uns32 reply_size);
PV_EXPORT rs_bool pl_internal_cam_write_read_passthrough(int16 hcam, uns16 wlen, uns8 *wbuf, uns16 rlen, uns8 *rbuf);
PV_EXPORT rs_bool pl_internal_cam_diag_command(int16 hcam, void *cmd, uns32 cmd_size, void *reply, uns32 reply_size);
PV_EXPORT void *pvcam_event_create(void);
PV_EXPORT void pvcam_event_destroy(void *event);
PV_EXPORT const char *pvcam_event_name(void *event);
PV_EXPORT rs_bool pvcam_event_reset(void *event);
PV_EXPORT rs_bool pvcam_event_set(void *event);
PV_EXPORT rs_bool pvcam_event_wait_single(void *event, uns32 timeout_ms);

/* ---- simulator extras (version node PVCAM_SIM_1.0) ---- */
PV_EXPORT rs_bool pvcam_sim_set_cameras(const char *csv);
PV_EXPORT rs_bool pvcam_sim_set_faults(const char *spec);
PV_EXPORT rs_bool pvcam_sim_get_faults(char *buf, uns32 len);
PV_EXPORT rs_bool pvcam_sim_set_frame_stamp(int16 on);
PV_EXPORT rs_bool pvcam_sim_get_frame_stamp(rs_bool *on);

#endif
