/*
 * params.c - the parameter table: one descriptor per simulated parameter,
 * with getters that compute every attribute from the camera's settings, so
 * dependent parameters (port -> speed -> pixel time, bit depth, gains; ROI
 * and binning -> frame bytes -> readout time) always agree.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "param_table.h"

/* Regions of the last setup, or the PARAM_ROI region before any setup. */
static const rgn_type *cur_regions(const sim_camera *cam, int *n)
{
    if (cam->acq.setup_valid) {
        *n = cam->acq.rgn_total;
        return cam->acq.rgns;
    }
    *n = 1;
    return &cam->s.roi;
}

/* ------------------------------------------------------- value builders */

static void num(pval *v, int64_t cur, int64_t min, int64_t max, int64_t def, int64_t inc)
{
    v->cur = cur;
    v->min = min;
    v->max = max;
    v->def = def;
    v->inc = inc;
}

static void konst(pval *v, int64_t value)
{
    num(v, value, value, value, value, 0);
}

static void item(pval *v, int32 value, const char *name)
{
    if (v->nitems < SIM_MAX_ENUM) {
        v->values[v->nitems] = value;
        v->names[v->nitems] = name;
        v->nitems++;
    }
}

static void enum_done(pval *v, int32 cur, int32 def)
{
    int64_t lo = v->values[0], hi = v->values[0];
    for (int i = 1; i < v->nitems; i++) {
        if (v->values[i] < lo)
            lo = v->values[i];
        if (v->values[i] > hi)
            hi = v->values[i];
    }
    num(v, cur, lo, hi, def, 1);
}

static int enum_has(const pval *v, int64_t value)
{
    for (int i = 0; i < v->nitems; i++)
        if (v->values[i] == value)
            return 1;
    return 0;
}

static int in_range(const pval *v, int64_t value)
{
    if (value < v->min || value > v->max)
        return 0;
    if (v->inc > 1 && (value - v->min) % v->inc != 0)
        return 0;
    return 1;
}

void sim_pval_num(pval *v, int64_t cur, int64_t min, int64_t max, int64_t def, int64_t inc)
{
    num(v, cur, min, max, def, inc);
}

void sim_pval_item(pval *v, int32 value, const char *name) { item(v, value, name); }

void sim_pval_enum_done(pval *v, int32 cur, int32 def) { enum_done(v, cur, def); }

/* ------------------------------------------------------------ identity */

static void g_chip(sim_camera *c, pval *v) { v->str = c->model->chip_name; }
static void g_system(sim_camera *c, pval *v) { v->str = c->model->system_name; }
static void g_vendor(sim_camera *c, pval *v) { (void)c; v->str = "Teledyne Photometrics"; }
static void g_product(sim_camera *c, pval *v) { v->str = c->model->product_name; }
static void g_part(sim_camera *c, pval *v) { v->str = c->model->part_number; }
static void g_serial(sim_camera *c, pval *v) { v->str = c->serial; }
static void g_fw(sim_camera *c, pval *v) { konst(v, c->model->fw_version); }
static void g_dd(sim_camera *c, pval *v) { (void)c; konst(v, 0x03A2); }   /* 3.10.2 in MMmn nibbles */

static void g_ifc(sim_camera *c, pval *v)
{
    item(v, c->model->interface_type, c->model->interface_name);
    enum_done(v, c->model->interface_type, c->model->interface_type);
}

/* ------------------------------------------------------------- sensor */

static void g_ser(sim_camera *c, pval *v) { konst(v, c->model->ser_size); }
static void g_par(sim_camera *c, pval *v) { konst(v, c->model->par_size); }
static void g_pix(sim_camera *c, pval *v) { konst(v, c->model->pix_size_nm); }
static void g_fwell(sim_camera *c, pval *v) { konst(v, sim_cur_gain(c)->full_well); }
static void g_bitdepth(sim_camera *c, pval *v) { konst(v, sim_cur_gain(c)->bit_depth); }
static void g_pixtime(sim_camera *c, pval *v) { konst(v, sim_cur_speed(c)->pix_time_ns); }
static void g_adc_offset(sim_camera *c, pval *v) { konst(v, c->model->adc_offset); }
static void g_true(sim_camera *c, pval *v) { (void)c; konst(v, 1); v->min = 0; v->inc = 1; }

static void g_cooling(sim_camera *c, pval *v)
{
    (void)c;
    item(v, NORMAL_COOL, "Normal");
    enum_done(v, NORMAL_COOL, NORMAL_COOL);
}

static void g_image_format(sim_camera *c, pval *v)
{
    int fmt = sim_cur_port(c)->image_format;
    item(v, fmt, fmt == PL_IMAGE_FORMAT_MONO8 ? "Monochrome 8bpp" : "Monochrome 16bpp");
    enum_done(v, fmt, fmt);
}

static int a_never(const sim_camera *c) { (void)c; return 0; }

static void g_unavailable_enum(sim_camera *c, pval *v)
{
    (void)c;
    item(v, 0, "None");
    enum_done(v, 0, 0);
}

static void g_unavailable_num(sim_camera *c, pval *v) { (void)c; konst(v, 0); }

/* ------------------------------------------------ port / speed / gain */

static void g_port(sim_camera *c, pval *v)
{
    for (int i = 0; i < c->model->nports; i++)
        item(v, c->model->ports[i].value, c->model->ports[i].name);
    enum_done(v, sim_cur_port(c)->value, c->model->ports[0].value);
}

static int s_port(sim_camera *c, int64_t value, const void *raw)
{
    (void)raw;
    for (int i = 0; i < c->model->nports; i++) {
        if (c->model->ports[i].value == value) {
            c->s.port_idx = i;
            c->s.speed_idx = 0;   /* the port's default speed [infer, reference 7.1] */
            c->s.gain_idx = 1;
            return 0;
        }
    }
    return PL_ERR_VALUE_INVALID;
}

static void g_spdtab(sim_camera *c, pval *v)
{
    num(v, c->s.speed_idx, 0, sim_cur_port(c)->nspeeds - 1, 0, 1);
}

static int s_spdtab(sim_camera *c, int64_t value, const void *raw)
{
    (void)raw;
    c->s.speed_idx = (int)value;
    c->s.gain_idx = 1;   /* a new speed resets the gain to its first entry [hdr] */
    return 0;
}

static void g_spdname(sim_camera *c, pval *v) { v->str = sim_cur_speed(c)->name; }

static void g_gain(sim_camera *c, pval *v)
{
    num(v, c->s.gain_idx, 1, sim_cur_speed(c)->ngains, 1, 1);
}

static int s_gain(sim_camera *c, int64_t value, const void *raw)
{
    (void)raw;
    c->s.gain_idx = (int)value;
    return 0;
}

static void g_gainname(sim_camera *c, pval *v) { v->str = sim_cur_gain(c)->name; }

/* ----------------------------------------------------------- cooling */

static void g_temp(sim_camera *c, pval *v)
{
    int16 t = sim_temperature(c);
    num(v, t, -5000, 5000, c->model->temp_default, 1);
}

static void g_setpoint(sim_camera *c, pval *v)
{
    num(v, c->s.temp_setpoint, c->model->temp_min, c->model->temp_max, c->model->temp_default, 1);
}

static int s_setpoint(sim_camera *c, int64_t value, const void *raw)
{
    (void)raw;
    c->s.temp_from = sim_temperature(c);
    c->s.temp_t0_ns = sim_now_ns();
    c->s.temp_setpoint = (int16)value;
    return 0;
}

static void g_fan(sim_camera *c, pval *v)
{
    item(v, FAN_SPEED_HIGH, "High");
    item(v, FAN_SPEED_MEDIUM, "Medium");
    item(v, FAN_SPEED_LOW, "Low");
    item(v, FAN_SPEED_OFF, "Off");
    enum_done(v, c->s.fan, FAN_SPEED_HIGH);
}

static int s_fan(sim_camera *c, int64_t value, const void *raw)
{
    (void)raw;
    c->s.fan = (int32)value;
    return 0;
}

/* ---------------------------------------------------------- clearing */

static void g_clear_mode(sim_camera *c, pval *v)
{
    item(v, CLEAR_AUTO, "Auto");
    item(v, CLEAR_PRE_EXPOSURE, "Pre-Exposure");
    item(v, CLEAR_PRE_SEQUENCE, "Pre-Sequence");
    enum_done(v, c->s.clear_mode, CLEAR_PRE_SEQUENCE);
}

static int s_clear_mode(sim_camera *c, int64_t value, const void *raw)
{
    (void)raw;
    c->s.clear_mode = (int32)value;
    return 0;
}

static void g_clear_cycles(sim_camera *c, pval *v) { num(v, c->s.clear_cycles, 0, 16, 2, 1); }

static int s_clear_cycles(sim_camera *c, int64_t value, const void *raw)
{
    (void)raw;
    c->s.clear_cycles = (uns16)value;
    return 0;
}

static void g_pmode(sim_camera *c, pval *v)
{
    item(v, PMODE_NORMAL, "Normal");
    item(v, PMODE_FT, "Frame Transfer");
    enum_done(v, c->s.pmode, PMODE_NORMAL);
}

static int s_pmode(sim_camera *c, int64_t value, const void *raw)
{
    (void)raw;
    c->s.pmode = (int32)value;
    return 0;
}

/* ---------------------------------------------------- trigger modes */

static void g_exp_mode(sim_camera *c, pval *v)
{
    item(v, EXT_TRIG_INTERNAL, "Internal Trigger");
    item(v, EXT_TRIG_TRIG_FIRST, "Trigger First");
    item(v, EXT_TRIG_EDGE_RISING, "Edge Trigger");
    item(v, EXT_TRIG_LEVEL, "Level Trigger");
    item(v, EXT_TRIG_SOFTWARE_FIRST, "Software Trigger First");
    item(v, EXT_TRIG_SOFTWARE_EDGE, "Software Trigger Edge");
    item(v, EXT_TRIG_LEVEL_OVERLAP, "Level Trigger Overlap");
    enum_done(v, c->s.exposure_mode, EXT_TRIG_INTERNAL);
}

static void g_expose_out(sim_camera *c, pval *v)
{
    item(v, EXPOSE_OUT_FIRST_ROW, "First Row");
    item(v, EXPOSE_OUT_ALL_ROWS, "All Rows");
    item(v, EXPOSE_OUT_ANY_ROW, "Any Row");
    item(v, EXPOSE_OUT_ROLLING_SHUTTER, "Rolling Shutter");
    enum_done(v, c->s.expose_out_mode, EXPOSE_OUT_FIRST_ROW);
}

/* ---------------------------------------------------------- exposure */

static void exp_res_items(const sim_camera *c, pval *v)
{
    item(v, EXP_RES_ONE_MILLISEC, "One Millisecond");
    item(v, EXP_RES_ONE_MICROSEC, "One Microsecond");
    if (c->model->has_exp_res_seconds)
        item(v, EXP_RES_ONE_SEC, "One Second");
}

static void g_exp_res(sim_camera *c, pval *v)
{
    exp_res_items(c, v);
    enum_done(v, c->s.exp_res, c->model->exp_res_default);
}

static int s_exp_res(sim_camera *c, int64_t value, const void *raw)
{
    (void)raw;
    c->s.exp_res = (int)value;
    return 0;
}

static void g_exp_res_index(sim_camera *c, pval *v)
{
    pval items;
    memset(&items, 0, sizeof items);
    exp_res_items(c, &items);
    int cur = 0, def = 0;
    for (int i = 0; i < items.nitems; i++) {
        if (items.values[i] == c->s.exp_res)
            cur = i;
        if (items.values[i] == c->model->exp_res_default)
            def = i;
    }
    num(v, cur, 0, items.nitems - 1, def, 1);
}

static int s_exp_res_index(sim_camera *c, int64_t value, const void *raw)
{
    (void)raw;
    pval items;
    memset(&items, 0, sizeof items);
    exp_res_items(c, &items);
    c->s.exp_res = items.values[value];
    return 0;
}


static void g_exp_time_vtm(sim_camera *c, pval *v) { num(v, c->s.exp_time_vtm, 0, 65535, 10, 1); }

static int s_exp_time_vtm(sim_camera *c, int64_t value, const void *raw)
{
    (void)raw;
    c->s.exp_time_vtm = (uns16)value;
    return 0;
}

/* ------------------------------------------------------ ROI, binning */

static void binning_items(const sim_camera *c, pval *v)
{
    static const char *names[] = {"1x1", "2x2", "3x3", "4x4", "5x5", "6x6", "7x7", "8x8"};
    for (int i = 0; i < c->model->nbinnings; i++) {
        int b = c->model->binnings[i];
        item(v, b, (b >= 1 && b <= 8) ? names[b - 1] : "?");
    }
}

static void g_bin_ser(sim_camera *c, pval *v)
{
    binning_items(c, v);
    enum_done(v, c->s.binning_ser, 1);
}

static void g_bin_par(sim_camera *c, pval *v)
{
    binning_items(c, v);
    enum_done(v, c->s.binning_par, 1);
}

static int s_bin_ser(sim_camera *c, int64_t value, const void *raw)
{
    (void)raw;
    c->s.binning_ser = (int32)value;
    return 0;
}

static int s_bin_par(sim_camera *c, int64_t value, const void *raw)
{
    (void)raw;
    c->s.binning_par = (int32)value;
    return 0;
}

static void g_roi_count(sim_camera *c, pval *v)
{
    int n = c->acq.setup_valid ? c->acq.rgn_total : 1;
    num(v, n, 1, sim_cur_port(c)->max_rois, 1, 1);
}



/* ------------------------------------------------- timing, buffers */

static void g_readout_time(sim_camera *c, pval *v)
{
    int n;
    const rgn_type *r = cur_regions(c, &n);
    konst(v, (int64_t)llround(sim_readout_ns_for(c, r, n) / 1e3));   /* us */
}

static void g_clearing_time(sim_camera *c, pval *v) { konst(v, (int64_t)llround(sim_clear_time_ns(c))); }

static void g_pre_trigger(sim_camera *c, pval *v)
{
    konst(v, c->s.clear_mode == CLEAR_PRE_EXPOSURE ? (int64_t)llround(sim_clear_time_ns(c)) : 0);
}

static void g_post_trigger(sim_camera *c, pval *v)
{
    int n;
    const rgn_type *r = cur_regions(c, &n);
    konst(v, (int64_t)llround(sim_readout_ns_for(c, r, n)));
}


static int a_after_setup(const sim_camera *c) { return c->acq.setup_valid; }

/* Sequences: every attribute is the whole sequence.  Circular: default is
 * about one second of frames (at least one), max ~4 GiB in whole frames. */
static void g_frame_buffer(sim_camera *c, pval *v)
{
    const sim_acq *a = &c->acq;
    int64_t fb = a->frame_bytes;
    if (a->kind == ACQ_KIND_SEQ) {
        konst(v, fb * a->exp_total);
        v->inc = fb;
        return;
    }
    double period_ns = a->overlap ? fmax(a->exposure_ns, a->readout_ns) : a->exposure_ns + a->readout_ns;
    period_ns += a->clear_frame_ns;
    if (period_ns < 1.0)
        period_ns = 1.0;
    int64_t max_frames = 0xFFFFFFFFLL / fb;
    int64_t frames = (int64_t)ceil(1e9 / period_ns);
    if (frames < 1)
        frames = 1;
    if (frames > max_frames)
        frames = max_frames;
    num(v, frames * fb, fb, max_frames * fb, frames * fb, fb);
}

/* ---------------------------------------------------------------- table */

#define RO ACC_READ_ONLY
#define RW ACC_READ_WRITE

static const pdesc PARAMS[] = {
    {PARAM_DD_VERSION, "PARAM_DD_VERSION", TYPE_UNS16, RO, 0, 0, NULL, g_dd, NULL, NULL, NULL},
    {PARAM_CAM_INTERFACE_TYPE, "PARAM_CAM_INTERFACE_TYPE", TYPE_ENUM, RO, 0, 0, NULL, g_ifc, NULL, NULL, NULL},
    {PARAM_CHIP_NAME, "PARAM_CHIP_NAME", TYPE_CHAR_PTR, RO, 0, 0, NULL, g_chip, NULL, NULL, NULL},
    {PARAM_SYSTEM_NAME, "PARAM_SYSTEM_NAME", TYPE_CHAR_PTR, RO, 0, 0, NULL, g_system, NULL, NULL, NULL},
    {PARAM_VENDOR_NAME, "PARAM_VENDOR_NAME", TYPE_CHAR_PTR, RO, 0, 0, NULL, g_vendor, NULL, NULL, NULL},
    {PARAM_PRODUCT_NAME, "PARAM_PRODUCT_NAME", TYPE_CHAR_PTR, RO, 0, 0, NULL, g_product, NULL, NULL, NULL},
    {PARAM_CAMERA_PART_NUMBER, "PARAM_CAMERA_PART_NUMBER", TYPE_CHAR_PTR, RO, 0, 0, NULL, g_part, NULL, NULL, NULL},
    {PARAM_HEAD_SER_NUM_ALPHA, "PARAM_HEAD_SER_NUM_ALPHA", TYPE_CHAR_PTR, RO, 0, 0, NULL, g_serial, NULL, NULL, NULL},
    {PARAM_CAM_FW_VERSION, "PARAM_CAM_FW_VERSION", TYPE_UNS16, RO, 0, 0, NULL, g_fw, NULL, NULL, NULL},
    {PARAM_SER_SIZE, "PARAM_SER_SIZE", TYPE_UNS16, RO, 0, 0, NULL, g_ser, NULL, NULL, NULL},
    {PARAM_PAR_SIZE, "PARAM_PAR_SIZE", TYPE_UNS16, RO, 0, 0, NULL, g_par, NULL, NULL, NULL},
    {PARAM_PIX_SER_SIZE, "PARAM_PIX_SER_SIZE", TYPE_UNS16, RO, 0, 0, NULL, g_pix, NULL, NULL, NULL},
    {PARAM_PIX_PAR_SIZE, "PARAM_PIX_PAR_SIZE", TYPE_UNS16, RO, 0, 0, NULL, g_pix, NULL, NULL, NULL},
    {PARAM_PIX_SER_DIST, "PARAM_PIX_SER_DIST", TYPE_UNS16, RO, 0, 0, NULL, g_pix, NULL, NULL, NULL},
    {PARAM_PIX_PAR_DIST, "PARAM_PIX_PAR_DIST", TYPE_UNS16, RO, 0, 0, NULL, g_pix, NULL, NULL, NULL},
    {PARAM_FWELL_CAPACITY, "PARAM_FWELL_CAPACITY", TYPE_UNS32, RO, 0, 0, NULL, g_fwell, NULL, NULL, NULL},
    {PARAM_BIT_DEPTH, "PARAM_BIT_DEPTH", TYPE_INT16, RO, 0, 0, NULL, g_bitdepth, NULL, NULL, NULL},
    {PARAM_BIT_DEPTH_HOST, "PARAM_BIT_DEPTH_HOST", TYPE_INT16, RO, 0, 0, NULL, g_bitdepth, NULL, NULL, NULL},
    {PARAM_READOUT_PORT, "PARAM_READOUT_PORT", TYPE_ENUM, RW, 0, 1, NULL, g_port, s_port, NULL, NULL},
    {PARAM_SPDTAB_INDEX, "PARAM_SPDTAB_INDEX", TYPE_INT16, RW, 0, 1, NULL, g_spdtab, s_spdtab, NULL, NULL},
    {PARAM_SPDTAB_NAME, "PARAM_SPDTAB_NAME", TYPE_CHAR_PTR, RO, 0, 0, NULL, g_spdname, NULL, NULL, NULL},
    {PARAM_PIX_TIME, "PARAM_PIX_TIME", TYPE_UNS16, RO, 0, 0, NULL, g_pixtime, NULL, NULL, NULL},
    {PARAM_GAIN_INDEX, "PARAM_GAIN_INDEX", TYPE_INT16, RW, 0, 1, NULL, g_gain, s_gain, NULL, NULL},
    {PARAM_GAIN_NAME, "PARAM_GAIN_NAME", TYPE_CHAR_PTR, RO, 0, 0, NULL, g_gainname, NULL, NULL, NULL},
    {PARAM_IMAGE_FORMAT, "PARAM_IMAGE_FORMAT", TYPE_ENUM, RO, 0, 0, NULL, g_image_format, NULL, NULL, NULL},
    {PARAM_IMAGE_FORMAT_HOST, "PARAM_IMAGE_FORMAT_HOST", TYPE_ENUM, RO, 0, 0, NULL, g_image_format, NULL, NULL, NULL},
    {PARAM_COLOR_MODE, "PARAM_COLOR_MODE", TYPE_ENUM, RO, 0, 0, a_never, g_unavailable_enum, NULL, NULL, NULL},
    {PARAM_COOLING_MODE, "PARAM_COOLING_MODE", TYPE_ENUM, RO, 0, 0, NULL, g_cooling, NULL, NULL, NULL},
    {PARAM_TEMP, "PARAM_TEMP", TYPE_INT16, RO, 1, 0, NULL, g_temp, NULL, NULL, NULL},
    {PARAM_TEMP_SETPOINT, "PARAM_TEMP_SETPOINT", TYPE_INT16, RW, 0, 0, NULL, g_setpoint, s_setpoint, NULL, NULL},
    {PARAM_FAN_SPEED_SETPOINT, "PARAM_FAN_SPEED_SETPOINT", TYPE_ENUM, RW, 0, 0, NULL, g_fan, s_fan, NULL, NULL},
    {PARAM_READOUT_TIME, "PARAM_READOUT_TIME", TYPE_UNS32, RO, 0, 0, NULL, g_readout_time, NULL, NULL, NULL},
    {PARAM_CLEARING_TIME, "PARAM_CLEARING_TIME", TYPE_INT64, RO, 0, 0, NULL, g_clearing_time, NULL, NULL, NULL},
    {PARAM_PRE_TRIGGER_DELAY, "PARAM_PRE_TRIGGER_DELAY", TYPE_INT64, RO, 0, 0, NULL, g_pre_trigger, NULL, NULL, NULL},
    {PARAM_POST_TRIGGER_DELAY, "PARAM_POST_TRIGGER_DELAY", TYPE_INT64, RO, 0, 0, NULL, g_post_trigger, NULL, NULL, NULL},
    {PARAM_CLEAR_CYCLES, "PARAM_CLEAR_CYCLES", TYPE_UNS16, RW, 0, 1, NULL, g_clear_cycles, s_clear_cycles, NULL, NULL},
    {PARAM_CLEAR_MODE, "PARAM_CLEAR_MODE", TYPE_ENUM, RW, 0, 1, NULL, g_clear_mode, s_clear_mode, NULL, NULL},
    {PARAM_FRAME_CAPABLE, "PARAM_FRAME_CAPABLE", TYPE_BOOLEAN, RO, 0, 0, NULL, g_true, NULL, NULL, NULL},
    {PARAM_PMODE, "PARAM_PMODE", TYPE_ENUM, RW, 0, 1, NULL, g_pmode, s_pmode, NULL, NULL},
    {PARAM_EXPOSURE_MODE, "PARAM_EXPOSURE_MODE", TYPE_ENUM, RO, 0, 0, NULL, g_exp_mode, NULL, NULL, NULL},
    {PARAM_EXPOSE_OUT_MODE, "PARAM_EXPOSE_OUT_MODE", TYPE_ENUM, RO, 0, 0, NULL, g_expose_out, NULL, NULL, NULL},
    {PARAM_ADC_OFFSET, "PARAM_ADC_OFFSET", TYPE_INT16, RO, 0, 0, NULL, g_adc_offset, NULL, NULL, NULL},
    {PARAM_PP_INDEX, "PARAM_PP_INDEX", TYPE_INT16, RW, 0, 0, a_never, g_unavailable_num, NULL, NULL, NULL},
    {PARAM_EXP_TIME, "PARAM_EXP_TIME", TYPE_UNS16, RW, 0, 0, NULL, g_exp_time_vtm, s_exp_time_vtm, NULL, NULL},
    {PARAM_EXP_RES, "PARAM_EXP_RES", TYPE_ENUM, RW, 0, 1, NULL, g_exp_res, s_exp_res, NULL, NULL},
    {PARAM_EXP_RES_INDEX, "PARAM_EXP_RES_INDEX", TYPE_UNS16, RW, 0, 1, NULL, g_exp_res_index, s_exp_res_index, NULL, NULL},
    {PARAM_CIRC_BUFFER, "PARAM_CIRC_BUFFER", TYPE_BOOLEAN, RO, 0, 0, NULL, g_true, NULL, NULL, NULL},
    {PARAM_FRAME_BUFFER_SIZE, "PARAM_FRAME_BUFFER_SIZE", TYPE_UNS64, RO, 0, 0, a_after_setup, g_frame_buffer, NULL, NULL, NULL},
    {PARAM_BINNING_SER, "PARAM_BINNING_SER", TYPE_ENUM, RW, 0, 0, NULL, g_bin_ser, s_bin_ser, NULL, NULL},
    {PARAM_BINNING_PAR, "PARAM_BINNING_PAR", TYPE_ENUM, RW, 0, 0, NULL, g_bin_par, s_bin_par, NULL, NULL},
    {PARAM_ROI_COUNT, "PARAM_ROI_COUNT", TYPE_UNS16, RO, 0, 0, NULL, g_roi_count, NULL, NULL, NULL},
};

const pdesc *sim_param_find(uns32 id)
{
    for (size_t i = 0; i < sizeof PARAMS / sizeof PARAMS[0]; i++)
        if (PARAMS[i].id == id)
            return &PARAMS[i];
    for (size_t i = 0; i < sim_feature_param_count; i++)
        if (sim_feature_params[i].id == id)
            return &sim_feature_params[i];
    return NULL;
}

uns16 sim_param_access(const pdesc *d, const sim_camera *cam)
{
    return d->access_of ? d->access_of(cam) : d->access;
}

rs_bool sim_param_live(const pdesc *d, const sim_camera *cam)
{
    return (rs_bool)(d->is_live ? d->is_live(cam) != 0 : d->live);
}

/* Range check shared by pl_set_param: enums by membership, numbers by range. */
int sim_param_validate(const pdesc *d, const pval *v, int64_t value)
{
    if (d->type == TYPE_ENUM)
        return enum_has(v, value) ? 0 : PL_ERR_VALUE_INVALID;
    if (d->type == TYPE_CHAR_PTR || d->type == TYPE_RGN_TYPE || d->type == TYPE_SMART_STREAM_TYPE_PTR)
        return 0;
    return in_range(v, value) ? 0 : PL_ERR_VALUE_OUT_OF_RANGE;
}
