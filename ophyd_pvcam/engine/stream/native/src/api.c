/*
 * api.c - the exported calls of libpvcam_pump.so (prefix pvp_).
 *
 * Life of a pump: pvp_create -> pvp_register_eof (callback mode) -> the
 * caller starts the acquisition -> pvp_start (thread) -> pvp_take /
 * pvp_release from readers, pvp_wait_event from the supervisor ->
 * pvp_pause + the caller stops the SDK -> pvp_salvage -> pvp_finish ->
 * pvp_deregister_eof -> pvp_request_stop + pvp_join -> pvp_destroy once
 * no reader holds ring memory.  Calls that wait (pvp_take, pvp_wait_event,
 * pvp_pause) are meant to be called without the GIL (ctypes releases it).
 * Return values: 0 or a positive errno for setup calls; SDK error codes
 * for the SDK calls; counts otherwise (documented per call).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pump.h"

#define PVP_VERSION 3

PVP_EXPORT int pvp_version(void)
{
    return PVP_VERSION;
}

int pvp_attach(pvp_pump *p, uint8_t *sdk_buffer, uint64_t sdk_frames, uint64_t frame_bytes,
               uint64_t ring_frames, int32_t zero_copy);
int pvp_destroy(pvp_pump *p);

PVP_EXPORT size_t pvp_counters_size(void)
{
    return sizeof(pvp_counters);
}

PVP_EXPORT size_t pvp_config_size(void)
{
    return sizeof(pvp_config);
}

static void abs_deadline(struct timespec *ts, double seconds)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    double whole = (double)(int64_t)seconds;
    ts->tv_sec += (time_t)whole;
    ts->tv_nsec += (long)((seconds - whole) * 1e9);
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static int init_cond(pthread_cond_t *cond)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(cond, &attr);
    pthread_condattr_destroy(&attr);
    return rc;
}

PVP_EXPORT int pvp_create(const pvp_sdk *sdk, const pvp_config *cfg, pvp_pump **out)
{
    *out = NULL;
    if (sdk == NULL || cfg == NULL || sdk->get_oldest_frame == NULL
            || sdk->unlock_oldest_frame == NULL || sdk->check_cont_status_ex == NULL
            || sdk->error_code == NULL)
        return EINVAL;
    pvp_pump *p = calloc(1, sizeof *p);
    if (p == NULL)
        return ENOMEM;
    p->sdk = *sdk;
    p->cfg = *cfg;
    if (p->cfg.poll_interval_ns < 1000)
        p->cfg.poll_interval_ns = 1000;
    if (p->cfg.safety_interval_ns < 1000000)
        p->cfg.safety_interval_ns = 1000000;
    if (p->cfg.refresh_ns < 1000)
        p->cfg.refresh_ns = 1000;
    pthread_mutex_init(&p->mtx, NULL);
    init_cond(&p->work_cond);
    init_cond(&p->data_cond);
    init_cond(&p->event_cond);
    p->pending_reason = 255;
    if (cfg->sdk_buffer != NULL) {
        int rc = pvp_attach(p, cfg->sdk_buffer, cfg->sdk_frames, cfg->frame_bytes,
                            cfg->ring_frames, cfg->zero_copy ? 1 : cfg->inplace ? 2 : 0);
        if (rc) {
            pvp_destroy(p);
            return rc;
        }
    }
    *out = p;
    return 0;
}

/* Give the pump its SDK buffer and host ring (before pvp_start; again only
 * while stopped, e.g. when a buffer-mode fallback changed the frame size).
 * mode: 0 copy every frame into the host ring; 1 zero copy (a burst: the SDK
 * buffer is the ring); 2 in place (continuous zero copy, see inplace.c). */
PVP_EXPORT int pvp_attach(pvp_pump *p, uint8_t *sdk_buffer, uint64_t sdk_frames,
                          uint64_t frame_bytes, uint64_t ring_frames, int32_t zero_copy)
{
    if (p->thread_started)
        return EBUSY;
    if (sdk_buffer == NULL || sdk_frames < 1 || frame_bytes < 1 || ring_frames < 1)
        return EINVAL;
    pvp_ring_close(&p->ring);
    free(p->cbinfo);
    p->cbinfo = NULL;
    p->cfg.sdk_buffer = sdk_buffer;
    p->cfg.sdk_frames = sdk_frames;
    p->cfg.frame_bytes = frame_bytes;
    p->cfg.ring_frames = ring_frames;
    p->cfg.zero_copy = zero_copy == 1;
    p->cfg.inplace = zero_copy == 2;
    if (p->cfg.zero_copy)
        ring_frames = sdk_frames;  /* the SDK buffer is the ring */
    p->cfg.ring_frames = ring_frames;
    /* A few slots beyond the drain's bound take the frames salvaged at stop, as the
     * Python queue takes them beyond its bound: a stop never strands completed frames
     * because a slow reader filled the ring. */
    uint64_t slots = p->cfg.zero_copy ? ring_frames : ring_frames + PVP_SALVAGE_SLOTS;
    int rc = pvp_ring_open(&p->ring, slots, frame_bytes, p->cfg.zero_copy ? sdk_buffer : NULL);
    if (rc)
        return rc;
    p->ring.limit = ring_frames;
    p->ring.sdk_frames = sdk_frames;
    p->ip_scan = 0;
    p->rescue_scan = 0;
    pvp_inplace_reset(p);
    rc = pvp_cbinfo_open(p, sdk_frames);
    if (rc) {
        pvp_ring_close(&p->ring);
        return rc;
    }
    return 0;
}

/* Whether the EOF callback (pvp_eof_callback with this pump as context) is
 * registered with the SDK, when the caller registered it itself. */
PVP_EXPORT void pvp_mark_eof_registered(pvp_pump *p, int32_t registered)
{
    p->eof_registered = registered ? 1 : 0;
}

/* Registers the pump's own EOF callback; returns 0 or the SDK's error code. */
PVP_EXPORT int pvp_register_eof(pvp_pump *p, int32_t event)
{
    if (p->sdk.register_callback_ex3 == NULL)
        return -1;
    if (!p->sdk.register_callback_ex3(p->cfg.hcam, event, (void *)pvp_eof_callback, p)) {
        int code = p->sdk.error_code();
        return code ? code : -1;
    }
    p->eof_registered = 1;
    return 0;
}

PVP_EXPORT int pvp_deregister_eof(pvp_pump *p, int32_t event)
{
    if (!p->eof_registered)
        return 0;
    if (p->sdk.deregister_callback == NULL)
        return -1;
    if (!p->sdk.deregister_callback(p->cfg.hcam, event)) {
        int code = p->sdk.error_code();
        return code ? code : -1;
    }
    p->eof_registered = 0;
    return 0;
}

PVP_EXPORT int pvp_start(pvp_pump *p)
{
    if (p->thread_started)
        return EBUSY;
    if (p->ring.data == NULL)
        return EINVAL;  /* not attached */
    int rc = pthread_create(&p->thread, NULL, pvp_thread_main, p);
    if (rc == 0)
        p->thread_started = 1;
    return rc;
}

PVP_EXPORT void pvp_request_stop(pvp_pump *p)
{
    pthread_mutex_lock(&p->mtx);
    __atomic_store_n(&p->stop, 1, __ATOMIC_RELEASE);
    p->events |= PVP_EV_STOP;
    if (p->deferred_count > 0)  /* never silent: unknown position, counted lost */
        pvp_check_deferred_locked(p, pvp_camera_seq_locked(p));
    pthread_cond_broadcast(&p->work_cond);
    pthread_cond_broadcast(&p->event_cond);
    pthread_cond_broadcast(&p->data_cond);
    pthread_mutex_unlock(&p->mtx);
}

PVP_EXPORT void pvp_wake(pvp_pump *p)
{
    pthread_mutex_lock(&p->mtx);
    p->events |= PVP_EV_WOKEN;
    pthread_cond_broadcast(&p->event_cond);
    pthread_cond_broadcast(&p->work_cond);
    pthread_mutex_unlock(&p->mtx);
}

PVP_EXPORT int pvp_join(pvp_pump *p)
{
    if (!p->thread_started)
        return 0;
    int rc = pthread_join(p->thread, NULL);
    p->thread_started = 0;
    return rc;
}

/* Park the pump thread (no SDK call in flight).  Returns 0, or ETIMEDOUT. */
PVP_EXPORT int pvp_pause(pvp_pump *p, double timeout_s)
{
    struct timespec ts;
    abs_deadline(&ts, timeout_s);
    pthread_mutex_lock(&p->mtx);
    __atomic_store_n(&p->pause, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&p->work_cond);
    int rc = 0;
    /* parked, and no reader inside an SDK status call (inplace.c) */
    while (((p->thread_started && !p->parked) || p->sdk_users > 0) && rc == 0)
        rc = pthread_cond_timedwait(&p->event_cond, &p->mtx, &ts);
    int parked = (!p->thread_started || p->parked) && p->sdk_users == 0;
    pthread_mutex_unlock(&p->mtx);
    return parked ? 0 : ETIMEDOUT;
}

/* Let the pump drain again; clears the halting events. */
PVP_EXPORT void pvp_resume(pvp_pump *p)
{
    pthread_mutex_lock(&p->mtx);
    __atomic_store_n(&p->pause, 0, __ATOMIC_RELEASE);
    p->halted = 0;
    p->error_code = 0;
    p->error_call = 0;
    p->events &= ~(PVP_EV_OVERRUN | PVP_EV_ERROR | PVP_EV_REMOVED | PVP_EV_COMPLETE);
    p->stopped_known = 0;
    if (p->deferred_count > 0)  /* paused without a stop: the camera's position now */
        pvp_check_deferred_locked(p, pvp_camera_seq_locked(p));
    pthread_cond_broadcast(&p->work_cond);
    pthread_cond_broadcast(&p->event_cond);  /* readers waiting to read the SDK's status */
    pthread_mutex_unlock(&p->mtx);
}

/* The SDK is stopped (pump paused); latest is its last FrameNr (known: 1), or
 * unknown (0: frames held in place are then counted lost at release, as they
 * cannot be proven intact).  Wakes readers that wait to check frames in place. */
PVP_EXPORT void pvp_sdk_stopped(pvp_pump *p, int64_t latest, int32_t known)
{
    pthread_mutex_lock(&p->mtx);
    p->stopped_known = 1;
    p->stopped_latest = known ? latest : INT64_MAX / 4;
    if (p->deferred_count > 0)
        pvp_check_deferred_locked(p, pvp_camera_seq_locked(p));
    pthread_cond_broadcast(&p->event_cond);
    pthread_mutex_unlock(&p->mtx);
}

/* Parked, acquisition stopped, before the next start: FrameNr restarts at 1.
 * Stream numbers continue at offset + 1; `lost` frames (counted by the
 * caller) are added to the next frame's lost_before. */
PVP_EXPORT void pvp_new_epoch(pvp_pump *p, int64_t offset, int64_t lost)
{
    pthread_mutex_lock(&p->mtx);
    pvp_cbinfo_reset(p);
    __atomic_store_n(&p->c, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&p->polled_latest, 0, __ATOMIC_RELEASE);
    p->status_ns = 0;
    if (p->cfg.inplace)
        pvp_inplace_new_epoch(p);
    p->offset = offset;
    /* zero copy: the next epoch's FrameNr 1 is written into slot 0 again */
    p->epoch_seq = (p->ring.head / (p->ring.frames ? p->ring.frames : 1) + 1) * p->ring.frames;
    if (lost > 0) {
        if (p->pending_lost == 0)
            p->pending_reason = PVP_LOST_RESTART;
        p->pending_lost += lost;
    }
    pthread_mutex_unlock(&p->mtx);
}

/* The buffer mode that started (before pvp_start): 1 CIRC_OVERWRITE, 0 NO_OVERWRITE. */
PVP_EXPORT void pvp_set_overwrite_mode(pvp_pump *p, int32_t overwrite)
{
    pthread_mutex_lock(&p->mtx);
    p->cfg.overwrite_mode = overwrite ? 1 : 0;
    pthread_mutex_unlock(&p->mtx);
}

/* Frames start with a PVCAM md_frame_header (before pvp_start). */
PVP_EXPORT void pvp_set_metadata(pvp_pump *p, int32_t metadata)
{
    pthread_mutex_lock(&p->mtx);
    p->cfg.metadata_frame_nr = metadata ? 1 : 0;
    pthread_mutex_unlock(&p->mtx);
}

/* Raise the drain limit to `latest` (a FrameNr the caller read from the SDK). */
PVP_EXPORT void pvp_note_latest(pvp_pump *p, int64_t latest)
{
    pthread_mutex_lock(&p->mtx);
    if (latest > p->polled_latest)
        __atomic_store_n(&p->polled_latest, latest, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&p->work_cond);
    pthread_mutex_unlock(&p->mtx);
}

/* Parked and SDK stopped: see drain.c.  Returns frames salvaged. */
PVP_EXPORT int64_t pvp_salvage_frames(pvp_pump *p, int64_t newest)
{
    return pvp_salvage(p, newest);
}

/* No more frames will come: readers get -1 once the ring is empty. */
PVP_EXPORT void pvp_finish(pvp_pump *p)
{
    pthread_mutex_lock(&p->mtx);
    p->ended = 1;
    if (p->deferred_count > 0)
        pvp_check_deferred_locked(p, pvp_camera_seq_locked(p));
    pthread_cond_broadcast(&p->data_cond);
    pthread_cond_broadcast(&p->event_cond);
    pthread_mutex_unlock(&p->mtx);
}

/* Wait up to timeout_s (< 0: forever) for >= 1 frame; take up to max_frames
 * consecutive slots.  Returns the count (0: timeout, -1: ended and empty);
 * *start_seq is the run's sequence number (slot = seq % ring_frames). */
PVP_EXPORT int64_t pvp_take(pvp_pump *p, double timeout_s, int64_t max_frames,
                            uint64_t *start_seq)
{
    struct timespec ts;
    if (timeout_s >= 0)
        abs_deadline(&ts, timeout_s);
    pthread_mutex_lock(&p->mtx);
    uint64_t start = 0;
    uint64_t avail = 0;
    int rc = 0;
    for (;;) {
        avail = pvp_ring_available(&p->ring, &start);
        if (avail > 0 && p->cfg.inplace && p->ring.sdk_seq[start % p->ring.frames] >= 0) {
            if (max_frames > 0 && avail > (uint64_t)max_frames)
                avail = (uint64_t)max_frames;
            /* frames the camera reached before they were taken are dropped, counted */
            if (!pvp_take_validate_locked(p, start, &avail))
                continue;
        }
        if (avail > 0)
            break;
        if (p->ended || rc == ETIMEDOUT) {
            int ended = p->ended;
            pthread_mutex_unlock(&p->mtx);
            return ended ? -1 : 0;
        }
        p->readers_waiting++;
        if (timeout_s >= 0)
            rc = pthread_cond_timedwait(&p->data_cond, &p->mtx, &ts);
        else
            pthread_cond_wait(&p->data_cond, &p->mtx);
        p->readers_waiting--;
        p->data_signalled = 0;
    }
    if (max_frames > 0 && avail > (uint64_t)max_frames)
        avail = (uint64_t)max_frames;
    for (uint64_t i = 0; i < avail; i++)  /* delivery index: frames dropped before never count */
        p->ring.index[(start + i) % p->ring.frames] = p->taken_index++;
    pvp_ring_take(&p->ring, avail);
    pthread_mutex_unlock(&p->mtx);
    *start_seq = start;
    return (int64_t)avail;
}

/* Give slots start_seq .. start_seq + count - 1 back.  0, or -1 if they were
 * not taken or were released already. */
PVP_EXPORT int pvp_release(pvp_pump *p, uint64_t start_seq, uint64_t count)
{
    pthread_mutex_lock(&p->mtx);
    pvp_ring *r = &p->ring;
    int rc = -1;
    int valid = count > 0 && start_seq >= r->tail && start_seq + count <= r->taken;
    for (uint64_t i = 0; valid && i < count; i++)
        valid = !r->released[(start_seq + i) % r->frames];
    if (valid) {
        /* in place: frames the camera reached while they were held are counted lost */
        pvp_release_validate_locked(p, start_seq, count);
        int was_full = pvp_ring_full(r);
        rc = pvp_ring_release(r, start_seq, count);
        if (rc == 0 && (p->room_waiting || (was_full && p->pump_waiting)))
            pthread_cond_broadcast(&p->work_cond);  /* the pump waits for a free slot */
    }
    pthread_mutex_unlock(&p->mtx);
    return rc;
}

/* Wait up to timeout_s for an event (see PVP_EV_*); returns the pending
 * events, plus PVP_EV_PROGRESS when frames were drained since the last call.
 * PVP_EV_WOKEN is cleared by returning it. */
PVP_EXPORT int pvp_wait_event(pvp_pump *p, double timeout_s)
{
    struct timespec ts;
    abs_deadline(&ts, timeout_s);
    pthread_mutex_lock(&p->mtx);
    int rc = 0;
    while (p->events == 0 && rc == 0)
        rc = pthread_cond_timedwait(&p->event_cond, &p->mtx, &ts);
    int events = p->events;
    p->events &= ~PVP_EV_WOKEN;
    int64_t retrieved = __atomic_load_n(&p->frames_retrieved, __ATOMIC_RELAXED);
    if (retrieved != p->last_progress_seen) {
        p->last_progress_seen = retrieved;
        events |= PVP_EV_PROGRESS;
    }
    pthread_mutex_unlock(&p->mtx);
    return events;
}

PVP_EXPORT int pvp_pop_losses(pvp_pump *p, pvp_loss *out, int max)
{
    pthread_mutex_lock(&p->mtx);
    int n = pvp_pop_losses_locked(p, out, max);
    pthread_mutex_unlock(&p->mtx);
    return n;
}

PVP_EXPORT void pvp_get_counters(pvp_pump *p, pvp_counters *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&p->mtx);
    out->consumed = __atomic_load_n(&p->c, __ATOMIC_ACQUIRE);
    out->signalled_latest = __atomic_load_n(&p->cb_latest, __ATOMIC_SEQ_CST);
    out->polled_latest = __atomic_load_n(&p->polled_latest, __ATOMIC_ACQUIRE);
    out->callbacks = __atomic_load_n(&p->cb_count, __ATOMIC_RELAXED);
    out->callbacks_total = __atomic_load_n(&p->cb_total, __ATOMIC_RELAXED);
    out->callback_duplicates = __atomic_load_n(&p->cb_duplicates, __ATOMIC_RELAXED);
    out->callbacks_missed = __atomic_load_n(&p->callbacks_missed, __ATOMIC_RELAXED);
    out->frames_retrieved = __atomic_load_n(&p->frames_retrieved, __ATOMIC_RELAXED);
    out->frames_delivered = p->frames_delivered;
    for (int i = 0; i < PVP_REASONS; i++)
        out->lost_by_reason[i] = p->lost_by_reason[i];
    out->wakeups = p->wakeups;
    out->max_batch = p->max_batch;
    out->last_frame_ns = p->last_frame_ns;
    out->ring_used = (int64_t)(p->ring.head - p->ring.tail);
    out->ring_peak = (int64_t)p->ring.peak;
    out->ring_frames = (int64_t)p->ring.limit;
    out->ring_touched_bytes = (int64_t)(p->ring.touched * p->ring.frame_bytes);
    out->error_code = p->error_code;
    out->error_call = p->error_call;
    out->halted = p->halted;
    out->ended = p->ended;
    out->copy_ns_total = __atomic_load_n(&p->copy_ns_total, __ATOMIC_RELAXED);
    out->drain_ns_total = p->drain_ns_total;
    out->pending_lost = p->pending_lost;
    out->exhausted = p->exhausted;
    out->frames_inplace = p->frames_inplace;
    out->frames_copied = p->frames_copied;
    out->held_overwritten = p->held_overwritten;
    out->untaken_overwritten = p->untaken_overwritten;
    out->ring_trimmed_bytes = (int64_t)p->ring.trimmed_bytes;
    pthread_mutex_unlock(&p->mtx);
}

PVP_EXPORT size_t pvp_histograms_size(void)
{
    return sizeof(pvp_histograms);
}

PVP_EXPORT void pvp_get_histograms(pvp_pump *p, pvp_histograms *out)
{
    pthread_mutex_lock(&p->mtx);
    *out = p->hist;
    pthread_mutex_unlock(&p->mtx);
}

/* Addresses of the ring and its ledger columns, for zero-copy views. */
PVP_EXPORT void pvp_ring_columns(pvp_pump *p, void **data, int64_t **frame_numbers,
                                 int64_t **timestamp_bof, int64_t **timestamp_eof,
                                 int64_t **readout_time, double **host_time,
                                 int64_t **lost_before, int64_t **index, uint8_t **reason,
                                 int64_t **sdk_seq)
{
    *sdk_seq = p->ring.sdk_seq;
    *data = p->ring.data;
    *frame_numbers = p->ring.frame_numbers;
    *timestamp_bof = p->ring.timestamp_bof;
    *timestamp_eof = p->ring.timestamp_eof;
    *readout_time = p->ring.readout_time;
    *host_time = p->ring.host_time;
    *lost_before = p->ring.lost_before;
    *index = p->ring.index;
    *reason = p->ring.reason;
}

/* Stop and join the thread, then free everything.  The EOF callback must be
 * deregistered first (returns EBUSY, and frees nothing, otherwise). */
PVP_EXPORT int pvp_destroy(pvp_pump *p)
{
    if (p == NULL)
        return 0;
    if (p->eof_registered)
        return EBUSY;
    pvp_request_stop(p);
    pvp_join(p);
    pvp_ring_close(&p->ring);
    free(p->cbinfo);
    p->cbinfo = NULL;
    pthread_cond_destroy(&p->work_cond);
    pthread_cond_destroy(&p->data_cond);
    pthread_cond_destroy(&p->event_cond);
    pthread_mutex_destroy(&p->mtx);
    free(p);
    return 0;
}
