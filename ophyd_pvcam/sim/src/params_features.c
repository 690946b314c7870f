/*
 * params_features.c - parameters of the optional camera features: embedded
 * metadata, programmable scan, S.M.A.R.T. streaming, and the settings a
 * model lets change during an acquisition (ATTR_LIVE: the ROI and the
 * exposure time).  Which model has which feature is in models.c and
 * ../profiles.md.
 */
#include <math.h>
#include <string.h>

#include "param_table.h"

#define RO ACC_READ_ONLY
#define RW ACC_READ_WRITE

static int a_prog_scan(const sim_camera *c) { return c->model->has_prog_scan; }
static int a_smart(const sim_camera *c) { return c->model->has_smart_stream; }
static int live_roi(const sim_camera *c) { return c->model->has_live_roi; }
static uns16 access_live(const sim_camera *c) { return c->model->has_live_roi ? RW : RO; }
static int running(const sim_camera *c) { return c->acq.state == ACQ_RUNNING; }

/* ------------------------------------------------------------ metadata */

static void g_metadata(sim_camera *c, pval *v) { sim_pval_num(v, c->s.metadata, 0, 1, 0, 1); }

static int s_metadata(sim_camera *c, int64_t value, const void *raw)
{
    (void)raw;
    c->s.metadata = value != 0;
    return 0;
}

/* Write-only: TRUE restarts the camera clock the headers' timestamps count. */
static void g_md_reset(sim_camera *c, pval *v) { (void)c; sim_pval_num(v, 0, 0, 1, 0, 1); }

static int s_md_reset(sim_camera *c, int64_t value, const void *raw)
{
    (void)raw;
    if (value)
        c->s.md_epoch_ns = sim_now_ns();
    return 0;
}

/* --------------------------------------------------- programmable scan */

static void g_scan_mode(sim_camera *c, pval *v)
{
    sim_pval_item(v, PL_SCAN_MODE_AUTO, "Auto");
    sim_pval_item(v, PL_SCAN_MODE_PROGRAMMABLE_LINE_DELAY, "Line Delay");
    sim_pval_item(v, PL_SCAN_MODE_PROGRAMMABLE_SCAN_WIDTH, "Scan Width");
    sim_pval_enum_done(v, c->s.scan_mode, PL_SCAN_MODE_AUTO);
}

static int s_scan_mode(sim_camera *c, int64_t value, const void *raw)
{
    (void)raw;
    c->s.scan_mode = (int32)value;
    return 0;
}

static void g_scan_dir(sim_camera *c, pval *v)
{
    sim_pval_item(v, PL_SCAN_DIRECTION_DOWN, "Down");
    sim_pval_item(v, PL_SCAN_DIRECTION_UP, "Up");
    sim_pval_item(v, PL_SCAN_DIRECTION_DOWN_UP, "Down/Up Alternate");
    sim_pval_enum_done(v, c->s.scan_direction, PL_SCAN_DIRECTION_DOWN);
}

static int s_scan_dir(sim_camera *c, int64_t value, const void *raw)
{
    (void)raw;
    c->s.scan_direction = (int32)value;
    return 0;
}

static void g_scan_dir_reset(sim_camera *c, pval *v) { sim_pval_num(v, c->s.scan_direction_reset, 0, 1, 1, 1); }

static int s_scan_dir_reset(sim_camera *c, int64_t value, const void *raw)
{
    (void)raw;
    c->s.scan_direction_reset = value != 0;
    return 0;
}

/* Line delay in native line times, 0..1000 [choice]. */
static void g_scan_delay(sim_camera *c, pval *v) { sim_pval_num(v, c->s.scan_line_delay, 0, 1000, 0, 1); }

static int s_scan_delay(sim_camera *c, int64_t value, const void *raw)
{
    (void)raw;
    c->s.scan_line_delay = (uns16)value;
    return 0;
}

/* Scan width in rows (the rolling shutter's width), 0 = automatic. */
static void g_scan_width(sim_camera *c, pval *v)
{
    sim_pval_num(v, c->s.scan_width, 0, c->model->par_size, 0, 1);
}

static int s_scan_width(sim_camera *c, int64_t value, const void *raw)
{
    (void)raw;
    c->s.scan_width = (uns16)value;
    return 0;
}

static void g_line_time(sim_camera *c, pval *v)
{
    int64_t t = (int64_t)llround(sim_line_time_ns(c));
    sim_pval_num(v, t, t, t, t, 0);
}

/* --------------------------------------------------- smart streaming */

static void g_smart_enabled(sim_camera *c, pval *v) { sim_pval_num(v, c->s.smart_enabled, 0, 1, 0, 1); }

static int s_smart_enabled(sim_camera *c, int64_t value, const void *raw)
{
    (void)raw;
    c->s.smart_enabled = value != 0;
    return 0;
}

static void g_smart_mode(sim_camera *c, pval *v)
{
    sim_pval_num(v, c->s.smart_mode, SMTMODE_ARBITRARY_ALL, SMTMODE_ARBITRARY_ALL, SMTMODE_ARBITRARY_ALL, 1);
}

static int s_smart_mode(sim_camera *c, int64_t value, const void *raw)
{
    (void)raw;
    c->s.smart_mode = (uns16)value;
    return 0;
}

static void g_smart_exp(sim_camera *c, pval *v) { sim_pval_num(v, c->s.smart_count, 0, SIM_MAX_SMART, 0, 1); }

/* ATTR_MAX reports SIM_MAX_SMART entries but a set takes at most one fewer:
 * PyVCAM's tests record this as a known bug of the cameras ("report 16 but
 * accept 15 values only"), so the simulator has it too. */
static int s_smart_exp(sim_camera *c, int64_t value, const void *raw)
{
    (void)value;
    const smart_stream_type *ss = raw;
    if (ss->entries > SIM_MAX_SMART - 1)
        return PL_ERR_VALUE_OUT_OF_RANGE;
    if (ss->entries > 0 && ss->params == NULL)
        return PL_ERR_NULL_POINTER;
    for (uns16 i = 0; i < ss->entries; i++)
        c->s.smart_exp[i] = ss->params[i];
    c->s.smart_count = ss->entries;
    return 0;
}

/* The caller's struct: `entries` is its capacity on entry (PyVCAM sets it from
 * ATTR_MAX).  Only CURRENT writes values, and only that many; the other
 * attributes set `entries` alone and never touch `params`, which PyVCAM has
 * not allocated when it asks for ATTR_MAX. */
int sim_smart_get(const sim_camera *cam, int16 attr, smart_stream_type *out)
{
    switch (attr) {
    case ATTR_CURRENT: {
        uns16 n = cam->s.smart_count;
        if (n > out->entries)
            n = out->entries;
        if (n > 0 && out->params == NULL)
            return PL_ERR_NULL_POINTER;
        for (uns16 i = 0; i < n; i++)
            out->params[i] = cam->s.smart_exp[i];
        out->entries = n;
        return 0;
    }
    case ATTR_MAX:
        out->entries = SIM_MAX_SMART;
        return 0;
    case ATTR_MIN:
    case ATTR_DEFAULT:
    case ATTR_INCREMENT:
        out->entries = 0;
        return 0;
    default:
        return PL_ERR_ATTRIBUTE_NOT_AVAILABLE;
    }
}

/* ------------------------------------------- live ROI, live exposure */

/* The region of the last setup (the first of several), or the PARAM_ROI
 * value before any setup. */
static void g_roi(sim_camera *c, pval *v) { v->rgn = c->acq.setup_valid ? c->acq.rgns[0] : c->s.roi; }

static int rgn_equal(const rgn_type *a, const rgn_type *b)
{
    return a->s1 == b->s1 && a->s2 == b->s2 && a->sbin == b->sbin && a->p1 == b->p1 && a->p2 == b->p2 &&
           a->pbin == b->pbin;
}

static size_t rgn_pixels(const rgn_type *r)
{
    return (size_t)((r->s2 - r->s1 + 1) / r->sbin) * (size_t)((r->p2 - r->p1 + 1) / r->pbin);
}

/* Models without live ROI: PARAM_ROI is the region used before any setup.
 * Models with it: outside an acquisition only the current region may be
 * written back (anything else fails 184); during one, the first region moves
 * or shrinks for the following frames: same binning, no more pixels than the
 * setup's first region, and the metadata's ROI header reports it. */
static int s_roi(sim_camera *c, int64_t value, const void *raw)
{
    (void)value;
    const rgn_type *r = raw;
    const sim_model *m = c->model;
    if (r->s1 > r->s2 || r->p1 > r->p2 || r->s2 >= m->ser_size || r->p2 >= m->par_size || r->sbin == 0 ||
        r->pbin == 0)
        return PL_ERR_REGION_INVALID;
    if (!m->has_live_roi) {
        c->s.roi = *r;
        return 0;
    }
    pval cur;
    memset(&cur, 0, sizeof cur);
    g_roi(c, &cur);
    if (rgn_equal(r, &cur.rgn))
        return 0;
    if (!running(c))
        return PL_ERR_STATE_INVALID;   /* live ROI applies to a running acquisition only */
    sim_acq *a = &c->acq;
    if (r->sbin != a->rgns[0].sbin || r->pbin != a->rgns[0].pbin)
        return PL_ERR_BINNING_INVALID;
    if (rgn_pixels(r) > a->rgn0_pixels)
        return PL_ERR_REGION_INVALID;   /* the frame's size is fixed at setup */
    a->rgns[0] = *r;
    a->md.roi_hdr[0].roi = *r;
    if (a->md.version >= 2)
        a->md.roi_hdr[0].roiDataSize = (uns32)(rgn_pixels(r) * (size_t)a->bpp);
    return 0;
}

/* Exposure limits: 0 .. 1 hour in the current resolution; the value is the
 * setup's.  Where the model allows it, a write during an acquisition sets the
 * exposure of the following frames (and, between acquisitions, of the next
 * start without a new setup). */
static void g_exposure_time(sim_camera *c, pval *v)
{
    int64_t max = (int64_t)(3600e9 / sim_exp_unit_ns(c->s.exp_res));
    int64_t cur = c->acq.setup_valid ? c->acq.exposure : 0;
    sim_pval_num(v, cur, 0, max, 0, 1);
}

static int s_exposure_time(sim_camera *c, int64_t value, const void *raw)
{
    (void)raw;
    sim_acq *a = &c->acq;
    if (!a->setup_valid)
        return PL_ERR_ACQUISITION_SETUP_REQUIRED;
    a->exposure = (uns32)value;
    a->exposure_ns = (double)value * a->exp_unit_ns;
    return 0;
}

/* ---------------------------------------------------------------- table */

const pdesc sim_feature_params[] = {
    {PARAM_METADATA_ENABLED, "PARAM_METADATA_ENABLED", TYPE_BOOLEAN, RW, 0, 1, NULL, g_metadata, s_metadata, NULL,
     NULL},
    {PARAM_METADATA_RESET_TIMESTAMP, "PARAM_METADATA_RESET_TIMESTAMP", TYPE_BOOLEAN, ACC_WRITE_ONLY, 1, 0, NULL,
     g_md_reset, s_md_reset, NULL, NULL},
    {PARAM_ROI, "PARAM_ROI", TYPE_RGN_TYPE, RW, 0, 0, NULL, g_roi, s_roi, live_roi, NULL},
    {PARAM_EXPOSURE_TIME, "PARAM_EXPOSURE_TIME", TYPE_UNS64, RO, 0, 0, NULL, g_exposure_time, s_exposure_time,
     live_roi, access_live},
    {PARAM_SCAN_MODE, "PARAM_SCAN_MODE", TYPE_ENUM, RW, 0, 1, a_prog_scan, g_scan_mode, s_scan_mode, NULL, NULL},
    {PARAM_SCAN_DIRECTION, "PARAM_SCAN_DIRECTION", TYPE_ENUM, RW, 0, 1, a_prog_scan, g_scan_dir, s_scan_dir, NULL,
     NULL},
    {PARAM_SCAN_DIRECTION_RESET, "PARAM_SCAN_DIRECTION_RESET", TYPE_BOOLEAN, RW, 0, 1, a_prog_scan,
     g_scan_dir_reset, s_scan_dir_reset, NULL, NULL},
    {PARAM_SCAN_LINE_DELAY, "PARAM_SCAN_LINE_DELAY", TYPE_UNS16, RW, 0, 1, a_prog_scan, g_scan_delay, s_scan_delay,
     NULL, NULL},
    {PARAM_SCAN_WIDTH, "PARAM_SCAN_WIDTH", TYPE_UNS16, RW, 0, 1, a_prog_scan, g_scan_width, s_scan_width, NULL,
     NULL},
    {PARAM_SCAN_LINE_TIME, "PARAM_SCAN_LINE_TIME", TYPE_INT64, RO, 0, 0, NULL, g_line_time, NULL, NULL, NULL},
    {PARAM_SMART_STREAM_MODE_ENABLED, "PARAM_SMART_STREAM_MODE_ENABLED", TYPE_BOOLEAN, RW, 0, 1, a_smart,
     g_smart_enabled, s_smart_enabled, NULL, NULL},
    {PARAM_SMART_STREAM_MODE, "PARAM_SMART_STREAM_MODE", TYPE_UNS16, RW, 0, 1, a_smart, g_smart_mode, s_smart_mode,
     NULL, NULL},
    {PARAM_SMART_STREAM_EXP_PARAMS, "PARAM_SMART_STREAM_EXP_PARAMS", TYPE_SMART_STREAM_TYPE_PTR, RW, 0, 1, a_smart,
     g_smart_exp, s_smart_exp, NULL, NULL},
};

const size_t sim_feature_param_count = sizeof sim_feature_params / sizeof sim_feature_params[0];
