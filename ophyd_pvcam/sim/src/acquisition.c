/*
 * acquisition.c - setup, start, status, frame getters, stop (reference 7.2,
 * 7.4-7.6).  Frame n (1-based FrameNr) lives at ((n-1) mod capacity) *
 * frame_bytes; `latest` is the newest completed frame and `consumed` the
 * counter c of the reference, reset at every start.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sim_internal.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define FULL_COPY_LIMIT_BPS 1.0e9   /* above this, reuse slot content (see frames.c) */

/* ------------------------------------------------------------ stopping */

void sim_acq_stop(sim_camera *cam, int new_state)
{
    sim_acq *a = &cam->acq;
    while (a->thread_alive) {
        if (a->joining) {
            pthread_cond_wait(&a->cond, &cam->mtx);
            continue;
        }
        a->stop = 1;
        a->joining = 1;
        pthread_cond_broadcast(&a->cond);
        pthread_t th = a->thread;
        pthread_mutex_unlock(&cam->mtx);
        pthread_join(th, NULL);
        pthread_mutex_lock(&cam->mtx);
        a->joining = 0;
        a->thread_alive = 0;
        pthread_cond_broadcast(&a->cond);
    }
    if (a->state == ACQ_RUNNING || a->state == ACQ_DONE || new_state == ACQ_NONE || new_state == ACQ_SETUP)
        a->state = new_state;
    /* No callback may run after abort/stop returns (unless we are the callback). */
    pthread_mutex_unlock(&cam->mtx);
    sim_cb_flush_and_wait(cam);
    pthread_mutex_lock(&cam->mtx);
}

void sim_acq_release(sim_camera *cam)
{
    free(cam->acq.slots);
    cam->acq.slots = NULL;
    cam->acq.buffer = NULL;
}

/* -------------------------------------------------------------- setup */

static int rgn_overlap(const rgn_type *a, const rgn_type *b)
{
    return !(a->s2 < b->s1 || b->s2 < a->s1 || a->p2 < b->p1 || b->p2 < a->p1);
}

static int binning_allowed(const sim_model *m, int b)
{
    for (int i = 0; i < m->nbinnings; i++)
        if (m->binnings[i] == b)
            return 1;
    return 0;
}

/* Splits exp_mode into trigger mode and expose-out mode; legacy modes map to
 * their extended equivalents.  Returns 0 or PL_ERR_MODE_INVALID. */
static int decode_mode(int16 exp_mode, int *trigger, int *expose_out, int *vtm)
{
    int v = (uns16)exp_mode;
    *vtm = 0;
    if (v < 256) {
        *expose_out = EXPOSE_OUT_FIRST_ROW;
        switch (v) {
        case TIMED_MODE:
            *trigger = EXT_TRIG_INTERNAL;
            return 0;
        case VARIABLE_TIMED_MODE:
            *trigger = EXT_TRIG_INTERNAL;
            *vtm = 1;
            return 0;
        case TRIGGER_FIRST_MODE:
            *trigger = EXT_TRIG_TRIG_FIRST;
            return 0;
        case STROBED_MODE:
            *trigger = EXT_TRIG_EDGE_RISING;
            return 0;
        case BULB_MODE:
            *trigger = EXT_TRIG_LEVEL;
            return 0;
        default:
            return PL_ERR_MODE_INVALID;
        }
    }
    *trigger = v & 0xFF00;
    *expose_out = v & 0xFF;
    switch (*trigger) {
    case EXT_TRIG_INTERNAL:
    case EXT_TRIG_TRIG_FIRST:
    case EXT_TRIG_EDGE_RISING:
    case EXT_TRIG_LEVEL:
    case EXT_TRIG_SOFTWARE_FIRST:
    case EXT_TRIG_SOFTWARE_EDGE:
    case EXT_TRIG_LEVEL_OVERLAP:
        break;
    default:
        return PL_ERR_MODE_INVALID;
    }
    return *expose_out <= EXPOSE_OUT_ROLLING_SHUTTER ? 0 : PL_ERR_MODE_INVALID;
}

static int validate_regions(const sim_camera *cam, uns16 n, const rgn_type *r, size_t *pixels)
{
    const sim_model *m = cam->model;
    if (n == 0 || n > SIM_MAX_REGIONS || n > sim_cur_port(cam)->max_rois)
        return PL_ERR_REGION_INVALID;
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        if (r[i].s1 > r[i].s2 || r[i].p1 > r[i].p2 || r[i].s2 >= m->ser_size || r[i].p2 >= m->par_size)
            return PL_ERR_REGION_INVALID;
        if (r[i].sbin != r[i].pbin || !binning_allowed(m, r[i].sbin) || r[i].sbin != r[0].sbin)
            return PL_ERR_BINNING_INVALID;
        size_t w = (size_t)(r[i].s2 - r[i].s1 + 1) / r[i].sbin;
        size_t h = (size_t)(r[i].p2 - r[i].p1 + 1) / r[i].pbin;
        if (w == 0 || h == 0)
            return PL_ERR_REGION_INVALID;
        for (int j = 0; j < i; j++)
            if (rgn_overlap(&r[i], &r[j]))
                return PL_ERR_REGION_INVALID;
        total += w * h;
    }
    *pixels = total;
    return 0;
}

static rs_bool do_setup(int16 hcam, int kind, uns16 exp_total, uns16 rgn_total, const rgn_type *rgns,
                        int16 exp_mode, uns32 exposure, uns32 *exp_bytes, int16 buffer_mode)
{
    sim_clear_error();
    sim_camera *cam = sim_cam_lock(hcam);
    if (!cam)
        return PV_FAIL;
    sim_acq *a = &cam->acq;
    int rc = 0;
    /* setup first aborts whatever runs; a failed setup leaves no valid setup */
    sim_acq_stop(cam, ACQ_NONE);
    a->setup_valid = 0;
    a->state = ACQ_NONE;
    size_t pixels = 0;
    int trigger = 0, expose_out = 0, vtm = 0;
    if (rgns == NULL || exp_bytes == NULL)
        rc = PL_ERR_NULL_POINTER;
    else if (kind == ACQ_KIND_SEQ && exp_total == 0)
        rc = PL_ERR_ZERO_FRAMES;
    else if ((rc = validate_regions(cam, rgn_total, rgns, &pixels)) != 0)
        ;
    else if ((rc = decode_mode(exp_mode, &trigger, &expose_out, &vtm)) != 0)
        ;
    else if (kind == ACQ_KIND_CONT && buffer_mode != CIRC_NONE && buffer_mode != CIRC_OVERWRITE &&
             buffer_mode != CIRC_NO_OVERWRITE)
        rc = PL_ERR_MODE_INVALID;
    else if ((double)exposure * sim_exp_unit_ns(cam->s.exp_res) > 3600e9)
        rc = PL_ERR_EXPOSURE_OUT_OF_RANGE;
    int bpp = sim_bytes_per_pixel(cam);
    size_t offs[SIM_MAX_REGIONS], npix[SIM_MAX_REGIONS];
    sim_md_layout md;
    memset(&md, 0, sizeof md);
    md.enabled = cam->s.metadata;
    md.version = cam->model->md_version;
    md.epoch_ns = cam->s.md_epoch_ns;
    sim_faults setup_faults;
    sim_faults_snapshot(&setup_faults);
    md.ext_items = (int)setup_faults.md_extended;
    md.exposure_res_ns = sim_exp_unit_ns(cam->s.exp_res);
    uint64_t frame_bytes = 0;
    if (rc == 0)
        frame_bytes = sim_md_layout_frame(&md, rgns, rgn_total, bpp, sim_cur_gain(cam)->bit_depth,
                                          sim_cur_port(cam)->image_format, offs, npix);
    if (rc == 0 && (frame_bytes > 0xFFFFFFFFULL ||
                    (kind == ACQ_KIND_SEQ && frame_bytes * exp_total > 0xFFFFFFFFULL)))
        rc = PL_ERR_TOO_MANY_FRAMES;
    if (rc == 0) {
        int roi_w = (rgns[0].s2 - rgns[0].s1 + 1) / rgns[0].sbin;
        int roi_h = (rgns[0].p2 - rgns[0].p1 + 1) / rgns[0].pbin;
        int offset = bpp == 1 ? 10 : cam->model->adc_offset;
        if (sim_content_prepare(&cam->content, pixels, bpp, sim_cur_gain(cam)->bit_depth, offset, roi_w, roi_h) != 0)
            rc = PL_ERR_INSUFFICIENT_RESOURCES;
        else
            sim_content_set_layout(&cam->content, rgn_total, offs, npix);
    }
    if (rc == 0) {
        a->kind = kind;
        a->exp_total = kind == ACQ_KIND_SEQ ? exp_total : 0;
        a->buffer_mode = kind == ACQ_KIND_SEQ ? CIRC_NONE : buffer_mode;
        a->rgn_total = rgn_total;
        memcpy(a->rgns, rgns, sizeof(rgn_type) * rgn_total);
        a->exp_mode = trigger;
        a->expose_out = expose_out;
        a->vtm = vtm;
        a->exposure = exposure;
        a->exp_unit_ns = sim_exp_unit_ns(cam->s.exp_res);
        a->exposure_ns = exposure * a->exp_unit_ns;
        a->readout_ns = sim_readout_ns_for(cam, rgns, rgn_total);
        double clear = sim_clear_time_ns(cam);
        a->clear_ns = cam->s.clear_mode == CLEAR_PRE_SEQUENCE ? clear : 0.0;
        a->clear_frame_ns = cam->s.clear_mode == CLEAR_PRE_EXPOSURE ? clear : 0.0;
        a->overlap = cam->s.pmode == PMODE_FT;
        a->frame_bytes = (uns32)frame_bytes;
        a->md = md;
        a->rgn0_pixels = npix[0];
        /* S.M.A.R.T. streaming: frame n is exposed for entry (n-1) mod count,
         * in the resolution of this setup; the setup's own exposure is unused. */
        a->smart = cam->model->has_smart_stream && cam->s.smart_enabled && cam->s.smart_count > 0;
        a->smart_count = a->smart ? cam->s.smart_count : 0;
        memcpy(a->smart_exp, cam->s.smart_exp, sizeof a->smart_exp);
        a->frame_pixels = pixels;
        a->bpp = bpp;
        a->latest_nr = 0;
        a->consumed = 0;
        memset(&a->latest_info, 0, sizeof a->latest_info);
        a->setup_valid = 1;
        a->script_stale = 0;
        a->state = ACQ_SETUP;
        cam->s.exposure_mode = trigger;
        cam->s.expose_out_mode = expose_out;
        cam->s.roi = rgns[0];
        *exp_bytes = (uns32)(kind == ACQ_KIND_SEQ ? frame_bytes * exp_total : frame_bytes);
    }
    sim_cam_unlock(cam);
    return rc ? sim_fail((int16)rc) : PV_OK;
}

PV_EXPORT rs_bool pl_exp_setup_seq(int16 hcam, uns16 exp_total, uns16 rgn_total, const rgn_type *rgn_array,
                                   int16 exp_mode, uns32 exposure_time, uns32 *exp_bytes)
{
    return do_setup(hcam, ACQ_KIND_SEQ, exp_total, rgn_total, rgn_array, exp_mode, exposure_time, exp_bytes,
                    CIRC_NONE);
}

PV_EXPORT rs_bool pl_exp_setup_cont(int16 hcam, uns16 rgn_total, const rgn_type *rgn_array, int16 exp_mode,
                                    uns32 exposure_time, uns32 *exp_bytes, int16 buffer_mode)
{
    return do_setup(hcam, ACQ_KIND_CONT, 0, rgn_total, rgn_array, exp_mode, exposure_time, exp_bytes, buffer_mode);
}

/* -------------------------------------------------------------- start */

/* The vendor library locks the caller's buffer for DMA at start, which faults
 * every page in.  Doing the same here (contents untouched) keeps page faults
 * out of the producer, which would otherwise miss the rate on its first lap
 * through a freshly allocated multi-GB buffer.  Best effort: old kernels
 * reject the advice and the producer then faults pages in as it goes. */
static void prefault(void *buffer, size_t bytes)
{
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t start = ((uintptr_t)buffer + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
    uintptr_t end = ((uintptr_t)buffer + bytes) & ~((uintptr_t)page - 1);
    if (end > start)
        (void)madvise((void *)start, end - start, MADV_POPULATE_WRITE);
}

/* Successive acquisitions (of any camera in the process) step the pool offset
 * by an odd amount below the pool margin, so frame n of one acquisition never
 * has the noise of frame n of the previous one.  The process-specific start
 * keeps two processes from producing identical noise. */
static uint64_t next_noise_seed(void)
{
    static uint64_t serial;
    static int started;
    static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&mtx);
    if (!started) {
        serial = (sim_now_ns() ^ ((uint64_t)getpid() << 20)) % SIM_POOL_EXTRA;
        started = 1;
    }
    serial += 1031;
    uint64_t seed = serial;
    pthread_mutex_unlock(&mtx);
    return seed;
}

static int launch(sim_camera *cam, void *buffer, uns32 capacity)
{
    sim_acq *a = &cam->acq;
    sim_faults_snapshot(&a->faults);
    a->buffer = buffer;
    a->capacity = capacity;
    prefault(buffer, (size_t)capacity * a->frame_bytes);
    a->stall_at = a->faults.stall_after;
    if (a->faults.intermittent_stall > 0.0) {
        double u = (double)(sim_faults_next_random() >> 11) / 9007199254740992.0;
        long k = 4 + (long)(sim_faults_next_random() % 5);
        if (u < a->faults.intermittent_stall && (a->stall_at < 0 || k < a->stall_at))
            a->stall_at = k;
    }
    if (cam->rereg_armed) {
        cam->rereg_armed = 0;
        if (a->stall_at < 0 || a->stall_at > 5)
            a->stall_at = 5;
    }
    a->latest_nr = 0;
    memset(&a->latest_info, 0, sizeof a->latest_info);
    a->consumed = 0;
    a->produced = 0;
    a->frame_stamp = sim_frame_stamp_enabled();
    a->noise_seed = next_noise_seed();
    a->stalled = 0;
    a->stop = 0;
    a->pending_triggers = 0;
    a->waiting_trigger = 0;
    a->last_exposure_end_ns = 0;
    a->first_trigger_seen = 0;
    double period = a->overlap ? fmax(a->exposure_ns, a->readout_ns) : a->exposure_ns + a->readout_ns;
    period += a->clear_frame_ns;
    a->period_ns = period < 1.0 ? 1.0 : period;
    free(a->slots);
    a->slots = NULL;
    a->incremental = 0;
    if (a->kind == ACQ_KIND_CONT && a->frame_bytes / (a->period_ns * 1e-9) > FULL_COPY_LIMIT_BPS) {
        a->slots = malloc(sizeof(sim_slot) * capacity);
        if (a->slots) {
            /* Each slot gets the full content of the first frame it will hold, now,
             * before the clock starts (the same bytes that frame's full write would
             * produce): the first lap through a large buffer then costs the
             * producer no more than the later ones, whose writes are incremental. */
            for (uns32 i = 0; i < capacity; i++)
                sim_frame_write_full(&cam->content, (uint8_t *)buffer + (size_t)i * a->frame_bytes,
                                     i + 1, a->noise_seed, a->frame_stamp, &a->slots[i]);
            a->incremental = 1;
        }
    }
    uint64_t now = sim_now_ns();
    a->t_start_ns = now + (uint64_t)a->clear_ns;
    a->prev_free_ns = a->t_start_ns;
    a->cur_exp_start_ns = a->t_start_ns;
    a->cur_bof_ns = a->t_start_ns + (uint64_t)a->exposure_ns;
    a->cur_eof_ns = a->cur_bof_ns + (uint64_t)a->readout_ns;
    if (pthread_create(&a->thread, NULL, sim_producer_main, cam) != 0)
        return PL_ERR_INSUFFICIENT_RESOURCES;
    char name[16];
    snprintf(name, sizeof name, "pvcam-acq-%d", cam->index);
    pthread_setname_np(a->thread, name);
    a->thread_alive = 1;
    a->state = ACQ_RUNNING;
    return 0;
}

PV_EXPORT rs_bool pl_exp_start_seq(int16 hcam, void *pixel_stream)
{
    sim_clear_error();
    sim_camera *cam = sim_cam_lock(hcam);
    if (!cam)
        return PV_FAIL;
    sim_acq *a = &cam->acq;
    int rc = 0;
    if (pixel_stream == NULL)
        rc = PL_ERR_NULL_POINTER;
    else if (!a->setup_valid || a->kind != ACQ_KIND_SEQ || a->script_stale)
        rc = PL_ERR_CONFIGURATION_INVALID;
    else if (a->state == ACQ_RUNNING)
        rc = PL_ERR_STATE_INVALID;
    if (rc == 0) {
        sim_acq_stop(cam, ACQ_SETUP);   /* joins a finished sequence's thread */
        rc = launch(cam, pixel_stream, a->exp_total);
    }
    sim_cam_unlock(cam);
    return rc ? sim_fail((int16)rc) : PV_OK;
}

static int reject_overwrite_fault(void)
{
    sim_faults f;
    sim_faults_snapshot(&f);
    return f.reject_circ_overwrite;
}

PV_EXPORT rs_bool pl_exp_start_cont(int16 hcam, void *pixel_stream, uns32 size)
{
    sim_clear_error();
    sim_camera *cam = sim_cam_lock(hcam);
    if (!cam)
        return PV_FAIL;
    sim_acq *a = &cam->acq;
    int rc = 0;
    if (pixel_stream == NULL)
        rc = PL_ERR_NULL_POINTER;
    /* 185: "Continuous mode not enabled" / "Script not valid" (reference 6);
     * CIRC_NONE passed to setup_cont lands here too (vendor quirk). */
    else if (!a->setup_valid || a->kind != ACQ_KIND_CONT || a->script_stale || a->buffer_mode == CIRC_NONE)
        rc = PL_ERR_CONFIGURATION_INVALID;
    else if (a->buffer_mode == CIRC_OVERWRITE && reject_overwrite_fault())
        rc = PL_ERR_CONFIGURATION_INVALID;   /* fault: the field report's Prime BSI */
    else if (size == 0 || size % a->frame_bytes != 0)
        rc = PL_ERR_BUFFER_SIZE_INVALID;
    else if (a->state == ACQ_RUNNING)
        rc = PL_ERR_STATE_INVALID;
    if (rc == 0)
        rc = launch(cam, pixel_stream, size / a->frame_bytes);
    sim_cam_unlock(cam);
    return rc ? sim_fail((int16)rc) : PV_OK;
}

/* ----------------------------------------------------------- stopping */

static rs_bool stop_with(int16 hcam, int new_state)
{
    sim_clear_error();
    sim_camera *cam = sim_cam_lock_any(hcam);
    if (!cam)
        return PV_FAIL;
    int removed = cam->removed;
    sim_acq_stop(cam, new_state);
    sim_cam_unlock(cam);
    return removed ? sim_fail(PL_ERR_DEVICE_REMOVED) : PV_OK;
}

PV_EXPORT rs_bool pl_exp_stop_cont(int16 hcam, int16 cam_state)
{
    (void)cam_state;   /* CCS_* only matter for shutters, which sCMOS lack */
    return stop_with(hcam, ACQ_STOPPED);
}

PV_EXPORT rs_bool pl_exp_abort(int16 hcam, int16 cam_state)
{
    (void)cam_state;
    return stop_with(hcam, ACQ_STOPPED);
}

PV_EXPORT rs_bool pl_exp_finish_seq(int16 hcam, void *pixel_stream, int16 hbuf)
{
    (void)pixel_stream;
    (void)hbuf;
    return stop_with(hcam, ACQ_SETUP);
}

/* ---------------------------------------------------- software trigger */

PV_EXPORT rs_bool pl_exp_trigger(int16 hcam, uns32 *flags, uns32 value)
{
    (void)value;
    sim_clear_error();
    if (flags == NULL)
        return sim_fail(PL_ERR_NULL_POINTER);
    sim_camera *cam = sim_cam_lock(hcam);
    if (!cam)
        return PV_FAIL;
    sim_acq *a = &cam->acq;
    int rc = 0;
    if (a->state != ACQ_RUNNING) {
        rc = PL_ERR_STATE_INVALID;
    } else if (a->exp_mode != EXT_TRIG_SOFTWARE_FIRST && a->exp_mode != EXT_TRIG_SOFTWARE_EDGE) {
        rc = PL_ERR_MODE_INVALID;
    } else {
        uint64_t now = sim_now_ns();
        int accept;
        if (a->exp_mode == EXT_TRIG_SOFTWARE_FIRST)
            accept = !a->first_trigger_seen;
        else
            accept = a->pending_triggers == 0 && (a->waiting_trigger || now >= a->last_exposure_end_ns);
        if (accept) {
            a->first_trigger_seen = 1;
            a->pending_triggers++;
            a->trigger_time_ns = now;
            pthread_cond_broadcast(&a->cond);
            *flags = PL_SW_TRIG_STATUS_TRIGGERED;
        } else {
            *flags = PL_SW_TRIG_STATUS_IGNORED;   /* exposure already in progress */
        }
    }
    sim_cam_unlock(cam);
    return rc ? sim_fail((int16)rc) : PV_OK;
}
