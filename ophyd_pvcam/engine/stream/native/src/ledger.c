/*
 * ledger.c - what the SDK's callback thread touches (the EOF callback and
 * its per-FrameNr table) and the loss records the pump keeps for Python.
 *
 * The EOF callback runs on the SDK's thread: it stores the frame's
 * FRAME_INFO in a table indexed by FrameNr, raises the latest FrameNr and
 * the counters (atomics), and signals the pump only when the pump sleeps.
 * It never copies pixels, never calls the SDK and never runs Python.
 *
 * A FrameNr is "signalled" when its table entry holds that number.  The
 * table has at least twice the SDK buffer's capacity, so an entry is
 * reused only for a frame whose slot the camera has overwritten anyway.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pump.h"

int64_t pvp_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

double pvp_wall_time(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int pvp_cbinfo_open(pvp_pump *p, uint64_t sdk_frames)
{
    uint64_t size = 64;
    while (size < 2 * sdk_frames + 64)
        size <<= 1;
    p->cbinfo = calloc(size, sizeof *p->cbinfo);
    if (p->cbinfo == NULL)
        return ENOMEM;
    p->cb_mask = size - 1;
    return 0;
}

/* Only while no acquisition runs (no callback can arrive). */
void pvp_cbinfo_reset(pvp_pump *p)
{
    memset(p->cbinfo, 0, (p->cb_mask + 1) * sizeof *p->cbinfo);
    __atomic_store_n(&p->cb_latest, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&p->cb_count, 0, __ATOMIC_SEQ_CST);
}

int pvp_cbinfo_lookup(pvp_pump *p, int64_t frame_nr, pvp_cbinfo *out)
{
    pvp_cbinfo *e = &p->cbinfo[(uint64_t)frame_nr & p->cb_mask];
    if (__atomic_load_n(&e->frame_nr, __ATOMIC_ACQUIRE) != frame_nr)
        return 0;
    out->eof = __atomic_load_n(&e->eof, __ATOMIC_RELAXED);
    out->bof = __atomic_load_n(&e->bof, __ATOMIC_RELAXED);
    out->readout = __atomic_load_n(&e->readout, __ATOMIC_RELAXED);
    out->frame_nr = frame_nr;
    /* overwritten meanwhile by a frame a whole table later: not this frame's info */
    return __atomic_load_n(&e->frame_nr, __ATOMIC_ACQUIRE) == frame_nr;
}

/* Runs on the SDK's callback thread.  Exported: the caller may register it
 * itself (pl_cam_register_callback_ex3 with the pump as context). */
PVP_EXPORT void pvp_eof_callback(const pvp_frame_info *info, void *context)
{
    pvp_pump *p = context;
    if (p == NULL || p->cbinfo == NULL)
        return;  /* not attached: no acquisition can be running */
    int64_t latest = __atomic_load_n(&p->cb_latest, __ATOMIC_SEQ_CST);
    int64_t nr = info != NULL ? info->frame_nr : latest + 1;
    if (nr > 0) {
        pvp_cbinfo *e = &p->cbinfo[(uint64_t)nr & p->cb_mask];
        __atomic_store_n(&e->frame_nr, 0, __ATOMIC_RELEASE);
        if (info != NULL) {
            __atomic_store_n(&e->eof, info->timestamp_eof, __ATOMIC_RELAXED);
            __atomic_store_n(&e->bof, info->timestamp_bof, __ATOMIC_RELAXED);
            __atomic_store_n(&e->readout, (int64_t)info->readout_time, __ATOMIC_RELAXED);
        }
        __atomic_store_n(&e->frame_nr, nr, __ATOMIC_RELEASE);
    }
    if (nr > latest)
        __atomic_store_n(&p->cb_latest, nr, __ATOMIC_SEQ_CST);
    else
        __atomic_add_fetch(&p->cb_duplicates, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&p->cb_count, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&p->cb_total, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&p->cb_last_ns, pvp_now_ns(), __ATOMIC_RELAXED);
    /* Only a sleeping pump needs the signal: it sets pump_waiting before it
     * reads cb_latest, so either it sees the new number or we see the flag. */
    if (__atomic_load_n(&p->pump_waiting, __ATOMIC_SEQ_CST)) {
        pthread_mutex_lock(&p->mtx);
        pthread_cond_signal(&p->work_cond);
        pthread_mutex_unlock(&p->mtx);
    }
}

/* Under mtx.  Returns 0, or -1 when the queue is full (nothing recorded). */
int pvp_record_loss(pvp_pump *p, int64_t first, int64_t last, int reason)
{
    if (last < first)
        return 0;
    if (p->loss_count > 0) {
        pvp_loss *prev = &p->losses[(p->loss_head + p->loss_count - 1) % PVP_LOSS_QUEUE];
        if (prev->reason == reason && prev->last + 1 == first) {
            prev->last = last;
            goto counted;
        }
    }
    if (p->loss_count == PVP_LOSS_QUEUE)
        return -1;
    pvp_loss *rec = &p->losses[(p->loss_head + p->loss_count) % PVP_LOSS_QUEUE];
    rec->first = first;
    rec->last = last;
    rec->reason = reason;
    rec->pad = 0;
    p->loss_count++;
counted:
    p->lost_by_reason[reason] += last - first + 1;
    if (p->pending_lost == 0)
        p->pending_reason = reason;
    p->pending_lost += last - first + 1;
    p->events |= PVP_EV_LOSS;
    pthread_cond_broadcast(&p->event_cond);
    return 0;
}

int pvp_pop_losses_locked(pvp_pump *p, pvp_loss *out, int max)
{
    int n = 0;
    while (n < max && p->loss_count > 0) {
        out[n++] = p->losses[p->loss_head];
        p->loss_head = (p->loss_head + 1) % PVP_LOSS_QUEUE;
        p->loss_count--;
    }
    if (p->loss_count == 0)
        p->events &= ~PVP_EV_LOSS;
    if (p->room_waiting)
        pthread_cond_broadcast(&p->work_cond);  /* a pump waiting for queue room */
    return n;
}

void pvp_hist_record(pvp_histograms *h, int which, int64_t value)
{
    int index;
    if (value < 8) {
        if (value < 0)
            value = 0;
        index = (int)value;
    } else {
        int bits = 64 - __builtin_clzll((unsigned long long)value);
        index = ((bits - 2) << 2) | (int)((value >> (bits - 3)) & 3);
        if (index >= PVP_HIST_BINS)
            index = PVP_HIST_BINS - 1;
    }
    h->counts[which][index]++;
    h->total[which] += value;
    if (value > h->maximum[which])
        h->maximum[which] = value;
}
