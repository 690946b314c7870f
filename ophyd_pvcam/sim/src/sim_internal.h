/*
 * sim_internal.h - state shared between the simulator's C files.
 *
 * Locking rules (they keep callbacks, which may call back into the library,
 * free of deadlocks):
 *   - cam->mtx guards settings and the acquisition counters.  It is held
 *     only for short critical sections and NEVER while joining a thread or
 *     waiting for the callback thread.
 *   - cam->cb.mtx guards the callback queue and handlers.  The callback
 *     thread drops it while a user callback runs.
 *   - g_lib_mtx guards init/uninit and the camera table; per-camera calls
 *     take it only to look a handle up.
 * Lock order: g_lib_mtx -> cam->mtx -> cam->cb.mtx.
 */
#ifndef OPHYD_PVCAM_SIM_INTERNAL_H
#define OPHYD_PVCAM_SIM_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "pvcam_abi.h"

/* ---- error codes (reference section 6) ---- */
enum {
    PL_ERR_NONE = 0,
    PL_ERR_UNKNOWN = 150,
    PL_ERR_INSUFFICIENT_RESOURCES = 152,
    PL_ERR_NULL_POINTER = 153,
    PL_ERR_NOT_AVAILABLE = 154,
    PL_ERR_NOT_IMPLEMENTED = 155,
    PL_ERR_ACCESS_DENIED = 156,
    PL_ERR_LIBRARY_NOT_INITIALIZED = 157,
    PL_ERR_LIBRARY_ALREADY_INITIALIZED = 158,
    PL_ERR_PARAMETER_UNKNOWN = 159,
    PL_ERR_PARAMETER_NOT_AVAILABLE = 160,
    PL_ERR_PARAMETER_NOT_ENUM = 161,
    PL_ERR_ATTRIBUTE_UNKNOWN = 162,
    PL_ERR_ATTRIBUTE_NOT_AVAILABLE = 163,
    PL_ERR_VALUE_INVALID = 164,
    PL_ERR_VALUE_OUT_OF_RANGE = 165,
    PL_ERR_DATA_NOT_AVAILABLE_YET = 169,
    PL_ERR_BUFFER_SIZE_INVALID = 171,
    PL_ERR_BUFFER_TOO_SMALL = 172,
    PL_ERR_BUFFER_OVERRUN = 173,
    PL_ERR_DEVICE_HANDLE_INVALID = 175,
    PL_ERR_DEVICE_NAME_UNKNOWN = 176,
    PL_ERR_DEVICE_NOT_OPEN = 177,
    PL_ERR_DEVICE_ALREADY_OPEN = 178,
    PL_ERR_DEVICE_REMOVED = 180,
    PL_ERR_REGION_INVALID = 181,
    PL_ERR_BINNING_INVALID = 182,
    PL_ERR_MODE_INVALID = 183,
    PL_ERR_STATE_INVALID = 184,
    PL_ERR_CONFIGURATION_INVALID = 185,
    PL_ERR_INDEX_OUT_OF_RANGE = 186,
    PL_ERR_EXPOSURE_OUT_OF_RANGE = 187,
    PL_ERR_ACQUISITION_SETUP_REQUIRED = 188,
    PL_ERR_TOO_MANY_FRAMES = 190,
    PL_ERR_ZERO_FRAMES = 191,
    PL_ERR_METADATA_INVALID = 192
};

/* errors.c: the last error is thread-local, like errno. */
rs_bool sim_fail(int16 code);
rs_bool sim_fail_detail(int16 code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sim_clear_error(void);

/* ---- models (models.c) ---- */
#define SIM_MAX_GAINS 4
#define SIM_MAX_SPEEDS 3
#define SIM_MAX_PORTS 4
#define SIM_MAX_BINNINGS 4

typedef struct sim_gain {
    const char *name;
    int16 bit_depth;
    uns32 full_well;   /* e- */
} sim_gain;

typedef struct sim_speed {
    const char *name;
    uns16 pix_time_ns;
    double line_time_ns;   /* rolling-readout time per sensor row */
    int ngains;            /* gain indices are 1..ngains */
    sim_gain gains[SIM_MAX_GAINS];
} sim_speed;

typedef struct sim_port {
    const char *name;
    int32 value;
    int image_format;      /* PL_IMAGE_FORMAT_MONO8 / _MONO16 */
    uns16 max_rois;
    int nspeeds;
    sim_speed speeds[SIM_MAX_SPEEDS];
} sim_port;

typedef struct sim_model {
    const char *key;           /* "prime-bsi" */
    const char *product_name;
    const char *system_name;
    const char *chip_name;
    const char *part_number;
    const char *serial_fmt;    /* printf format taking the camera index */
    int serial_base;
    uns16 fw_version;
    int32 interface_type;
    const char *interface_name;
    uns16 ser_size, par_size;
    uns16 pix_size_nm;
    int16 temp_min, temp_max, temp_default;  /* 1/100 degC */
    int16 adc_offset;
    int nports;
    sim_port ports[SIM_MAX_PORTS];
    int nbinnings;
    int32 binnings[SIM_MAX_BINNINGS];         /* symmetric NxN factors */
    int exp_res_default;                      /* EXP_RES_* the camera opens with */
    int has_exp_res_seconds;
    int md_version;                           /* md_frame_header version (1..3) */
    int has_prog_scan;                        /* PARAM_SCAN_MODE and friends */
    int has_smart_stream;                     /* PARAM_SMART_STREAM_* */
    int has_live_roi;                         /* PARAM_ROI and PARAM_EXPOSURE_TIME live */
} sim_model;

extern const sim_model *const sim_models[];
extern const int sim_model_count;
const sim_model *sim_find_model(const char *key, size_t len);

/* ---- faults (faults.c) ---- */
typedef struct sim_faults {
    int reject_circ_overwrite;
    int rereg_corrupts;
    long stall_after;          /* -1 = off */
    double intermittent_stall; /* probability, 0 = off */
    long drop_every;           /* 0 = off */
    long drop_callback_every;  /* 0 = off: every Nth frame arrives without its EOF callback */
    long md_extended;          /* 0 = off: extended-metadata items per frame and per ROI */
    long unplug_after;         /* -1 = off */
    double slow_readout;       /* 1.0 = off */
    unsigned long long seed;
    int has_seed;
} sim_faults;

void sim_faults_snapshot(sim_faults *out);
int sim_faults_load_env(void);   /* at init; returns 0 or an error code */
uint64_t sim_faults_next_random(void);
int sim_cameras_load(char keys[MAX_CAM][32], int *count);  /* at init */
int sim_frame_stamp_enabled(void);

/* ---- callbacks (callbacks.c) ---- */
enum { SIM_CB_NONE = 0, SIM_CB_PLAIN, SIM_CB_EX, SIM_CB_EX2, SIM_CB_EX3 };
#define SIM_CB_QUEUE 1024

typedef struct sim_handler {
    int flavor;
    void *fn;
    void *ctx;
} sim_handler;

typedef struct sim_event {
    int32 event;
    FRAME_INFO info;
} sim_event;

typedef struct sim_cbthread {
    pthread_mutex_t mtx;
    pthread_cond_t cond;        /* work arrived / state changed */
    pthread_cond_t idle_cond;   /* in_callback dropped / registrations done */
    pthread_t thread;
    int running;                /* thread exists */
    int quit;
    int in_callback;
    int waiters;                /* register/deregister/flush waiting for idle */
    sim_handler handlers[PL_CALLBACK_MAX];
    sim_event queue[SIM_CB_QUEUE];
    unsigned head, count;
    unsigned long dropped;
} sim_cbthread;

struct sim_camera;
int sim_cb_start(struct sim_camera *cam);
void sim_cb_stop(struct sim_camera *cam);
void sim_cb_post(struct sim_camera *cam, int32 event, const FRAME_INFO *info);
void sim_cb_flush_and_wait(struct sim_camera *cam);
int sim_cb_is_callback_thread(struct sim_camera *cam);
/* 1 when no event is queued and no callback runs (other than the caller's own). */
int sim_cb_drained(struct sim_camera *cam);

/* ---- frames (frames.c) ---- */
#define SIM_MAX_REGIONS 16
typedef struct sim_content {
    uint8_t *pool;            /* background pixels, frame + extra */
    size_t pool_pixels;
    size_t frame_pixels;
    int bpp;                  /* bytes per pixel: 1 or 2 */
    int max_value;
    int spot_radius;
    float *kernel;            /* (2R+1)^2 Gaussian amplitudes */
    int roi_w, roi_h;         /* first region's image size, for the spot */
    /* frame layout: region i's pixels start seg_off[i] bytes into the frame */
    int nseg;
    size_t seg_off[SIM_MAX_REGIONS];
    size_t seg_pixels[SIM_MAX_REGIONS];
    /* key of the cached content */
    uns32 key_bytes;
    int key_bitdepth;
    int key_offset;
    int key_w, key_h;
} sim_content;

#define SIM_POOL_EXTRA 4096

int sim_content_prepare(sim_content *c, size_t frame_pixels, int bpp, int bit_depth, int offset, int roi_w,
                        int roi_h);
void sim_content_free(sim_content *c);
/* slot state for incremental writing */
typedef struct sim_slot {
    int32 spot_x, spot_y;     /* -1: slot not yet written in this acquisition */
    uint32_t pool_off;
} sim_slot;
void sim_content_set_layout(sim_content *c, int nseg, const size_t *offsets, const size_t *pixels);
void sim_frame_write_full(const sim_content *c, uint8_t *frame, uint32_t frame_nr, uint64_t noise_seed,
                          int with_stamp, sim_slot *slot);
void sim_frame_write_incremental(const sim_content *c, uint8_t *frame, uint32_t frame_nr, uint64_t noise_seed,
                                 int with_stamp, sim_slot *slot);

/* ---- frame metadata (metadata.c) ---- */
#define SIM_MAX_SMART 16   /* smart-streaming exposures per cycle (ATTR_MAX) [choice] */

typedef struct sim_md_layout {
    int enabled;
    int version;
    int nroi;
    size_t roi_hdr_off[SIM_MAX_REGIONS];
    md_frame_roi_header roi_hdr[SIM_MAX_REGIONS];
    md_frame_header frame_hdr;      /* v1/v2 template; v3 uses frame_hdr_v3 */
    md_frame_header_v3 frame_hdr_v3;
    uint64_t epoch_ns;              /* camera clock zero (open, or METADATA_RESET_TIMESTAMP) */
    int ext_items;                  /* md_extended: items in each extended-metadata block */
    double exposure_res_ns;         /* v1/v2 exposureTimeResNs */
} sim_md_layout;

/* Lays out one frame: headers (if enabled) and each region's pixels.  Fills
 * offsets[i] (bytes into the frame of region i's pixels) and returns the
 * frame's size in bytes. */
uint64_t sim_md_layout_frame(sim_md_layout *md, const rgn_type *rgns, int n, int bpp, int bit_depth,
                             int image_format, size_t *offsets, size_t *pixels);
/* Writes the headers of one frame; times on the monotonic clock in ns. */
void sim_md_write(const sim_md_layout *md, uint8_t *frame, uint32_t frame_nr, uint64_t bof_ns, uint64_t eof_ns,
                  double exposure_ns);

/* ---- cameras and acquisitions ---- */
enum { ACQ_NONE = 0, ACQ_SETUP, ACQ_RUNNING, ACQ_DONE, ACQ_STOPPED };
enum { ACQ_KIND_SEQ = 1, ACQ_KIND_CONT = 2 };

typedef struct sim_acq {
    /* from setup */
    int state;
    int kind;
    int setup_valid;          /* setup succeeded; start_cont checks it (185) */
    int script_stale;         /* a setting changed after setup: start fails 185 */
    int buffer_mode;
    uns16 exp_total;
    int rgn_total;
    rgn_type rgns[SIM_MAX_REGIONS];
    int exp_mode;             /* extended trigger mode after legacy mapping */
    int expose_out;
    uns32 exposure;           /* in setup units */
    double exposure_ns;
    double readout_ns;
    double clear_ns;          /* before first frame */
    double clear_frame_ns;    /* before each frame (pre-exposure clear) */
    int overlap;              /* PMODE_FT: exposure overlaps readout */
    uns32 frame_bytes;
    size_t frame_pixels;
    int bpp;
    /* from start */
    uint8_t *buffer;
    uns32 capacity;           /* frames */
    uint64_t t_start_ns;
    sim_faults faults;
    long stall_at;            /* -1 = none, else stop producing after this FrameNr */
    int corrupt;              /* rereg fault armed for this acquisition */
    /* counters (guarded by cam->mtx) */
    int32 latest_nr;          /* newest completed FrameNr (0 = none yet) */
    FRAME_INFO latest_info;
    int64_t consumed;         /* c in reference 7.2 */
    int stalled;
    int waiting_trigger;      /* software/external trigger wait */
    uint64_t pending_triggers;
    int first_trigger_seen;   /* EXT_TRIG_SOFTWARE_FIRST: later triggers are ignored */
    uint64_t last_exposure_end_ns;
    uint64_t next_exposure_start_ns;
    int32 produced;           /* frames whose FrameNr was assigned (incl. dropped) */
    int vtm;                  /* VARIABLE_TIMED_MODE: exposure from PARAM_EXP_TIME at start */
    double exp_unit_ns;       /* EXP_RES unit at setup */
    uint64_t trigger_time_ns; /* time of the pending software trigger */
    uint64_t cur_exp_start_ns, cur_bof_ns, cur_eof_ns;  /* frame in progress, for status */
    uint64_t prev_free_ns;    /* when the sensor can start the next exposure */
    double period_ns;
    /* producer thread */
    pthread_t thread;
    int thread_alive;         /* created and not yet joined */
    int stop;
    int joining;              /* someone is joining the thread */
    pthread_cond_t cond;      /* wakes the producer (stop, trigger) and joiners */
    sim_slot *slots;
    int incremental;
    uint64_t noise_seed;      /* per acquisition: noise differs between acquisitions */
    sim_md_layout md;         /* frame metadata of this setup */
    size_t rgn0_pixels;       /* first region's pixels at setup (bound for a live ROI) */
    int smart;                /* smart streaming: exposure of frame n from smart_exp */
    int smart_count;
    uns32 smart_exp[SIM_MAX_SMART];   /* in EXP_RES units at setup */
    int frame_stamp;          /* opt-in test stamp, snapshot at start */
} sim_acq;

typedef struct sim_settings {
    int port_idx;             /* index into model->ports */
    int speed_idx;
    int gain_idx;             /* 1-based */
    int exp_res;              /* EXP_RES_* value */
    int32 clear_mode;
    uns16 clear_cycles;
    int32 pmode;
    int16 temp_setpoint;
    int32 fan;
    uns16 exp_time_vtm;
    int32 binning_ser, binning_par;
    rgn_type roi;             /* PARAM_ROI */
    int32 exposure_mode;      /* current (last setup) */
    int32 expose_out_mode;
    int metadata;             /* PARAM_METADATA_ENABLED */
    uint64_t md_epoch_ns;     /* metadata clock zero */
    int32 scan_mode, scan_direction;
    int scan_direction_reset;
    uns16 scan_line_delay, scan_width;
    int smart_enabled;        /* PARAM_SMART_STREAM_MODE_ENABLED */
    uns16 smart_mode;
    uns16 smart_count;        /* PARAM_SMART_STREAM_EXP_PARAMS */
    uns32 smart_exp[SIM_MAX_SMART];
    /* temperature model */
    uint64_t temp_t0_ns;
    double temp_from;
} sim_settings;

typedef struct sim_camera {
    int index;
    char name[CAM_NAME_LEN];
    const sim_model *model;
    char serial[MAX_ALPHA_SER_NUM_LEN];
    int exists;               /* listed at init */
    int open;
    int removed;              /* unplug fault fired */
    pthread_mutex_t mtx;
    sim_settings s;
    sim_acq acq;
    sim_content content;
    sim_cbthread cb;
    int rereg_armed;          /* re-registration happened with rereg_corrupts on */
} sim_camera;

extern pthread_mutex_t g_lib_mtx;
extern int g_initialized;
extern int g_cam_count;
extern sim_camera g_cams[MAX_CAM];
extern uint64_t g_epoch_ns;

uint64_t sim_now_ns(void);
/* Look up an open camera and lock it; on failure sets the error and returns NULL. */
sim_camera *sim_cam_lock(int16 hcam);
/* Like sim_cam_lock but does not fail on a removed camera (for close/abort). */
sim_camera *sim_cam_lock_any(int16 hcam);
void sim_cam_unlock(sim_camera *cam);
int sim_lib_check(void);   /* 0 if initialized, else sets 157 */

/* params.c */
void sim_settings_defaults(sim_camera *cam);
const sim_port *sim_cur_port(const sim_camera *cam);
const sim_speed *sim_cur_speed(const sim_camera *cam);
const sim_gain *sim_cur_gain(const sim_camera *cam);
int sim_bytes_per_pixel(const sim_camera *cam);
double sim_exp_unit_ns(int exp_res);
double sim_clear_time_ns(const sim_camera *cam);
double sim_readout_ns_for(const sim_camera *cam, const rgn_type *rgns, int n);
double sim_line_time_ns(const sim_camera *cam);
int16 sim_temperature(sim_camera *cam);

/* acquisition.c */
void sim_acq_stop(sim_camera *cam, int new_state);  /* called with cam->mtx held; drops and retakes it */
void sim_acq_release(sim_camera *cam);              /* free slots etc. (mtx held) */
void *sim_producer_main(void *arg);                 /* producer.c */

#endif
