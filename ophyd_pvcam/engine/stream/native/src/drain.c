/*
 * drain.c - the pump thread ("pvcam-pump"): wake on EOF callbacks or a poll
 * interval, then take EVERY available frame out of the SDK's circular
 * buffer: get oldest -> copy into the host ring -> unlock, one ledger row
 * per frame.  Also the salvage of completed frames after the SDK stopped.
 *
 * Frames are numbered with the consumer counter c the pump mirrors from the
 * SDK (pl_exp_get_oldest_frame_ex reports the *latest* frame's info,
 * reference 7.2), as the Python frame loop does.  Loss is counted exactly,
 * by FrameNr:
 *   gap          a FrameNr no callback announced although a later one was
 *                (callback mode; checked against the frame metadata when
 *                frames carry it, so a frame that is in the buffer is drained)
 *   overwritten  the camera overwrote (or may be overwriting) the slot
 *   dropped      drop_when_full and the host ring was full
 * A full host ring otherwise stops the draining: frames wait in the SDK
 * buffer, and what the camera then overwrites (or error 173) is counted.
 * Error 173, 180 and any other SDK error halt the pump and raise an event
 * for the supervisor, which restarts, salvages or fails the stream.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <time.h>

#include "pump.h"

#define ERR_DATA_NOT_AVAILABLE 169
#define ERR_BUFFER_OVERRUN 173
#define ERR_DEVICE_REMOVED 180

enum { CALL_GET_OLDEST = 1, CALL_UNLOCK = 2, CALL_STATUS = 3, CALL_ADDRESS = 4 };

static void set_c(pvp_pump *p, int64_t n)
{
    __atomic_store_n(&p->c, n, __ATOMIC_RELEASE);
}

static void bump(int64_t *counter, int64_t by)
{
    __atomic_add_fetch(counter, by, __ATOMIC_RELAXED);
}

static int flag(const int *f)
{
    return __atomic_load_n(f, __ATOMIC_ACQUIRE);
}

/* Under mtx: halt with an event and the SDK code that caused it. */
static void halt_locked(pvp_pump *p, int code, int call)
{
    p->halted = 1;
    p->error_code = code;
    p->error_call = call;
    if (code == ERR_BUFFER_OVERRUN)
        p->events |= PVP_EV_OVERRUN;
    else if (code == ERR_DEVICE_REMOVED)
        p->events |= PVP_EV_REMOVED;
    else
        p->events |= PVP_EV_ERROR;
    pthread_cond_broadcast(&p->event_cond);
}

static void halt(pvp_pump *p, int code, int call)
{
    pthread_mutex_lock(&p->mtx);
    halt_locked(p, code, call);
    pthread_mutex_unlock(&p->mtx);
}

static int sdk_code(pvp_pump *p)
{
    int code = p->sdk.error_code ? p->sdk.error_code() : 0;
    return code ? code : -1;
}

/* The SDK's latest complete FrameNr (check_cont_status_ex); 0 on success. */
static int sdk_latest(pvp_pump *p, int64_t *latest)
{
    int16_t status = 0;
    uint32_t bytes = 0, passes = 0;
    pvp_frame_info info;
    memset(&info, 0, sizeof info);
    if (!p->sdk.check_cont_status_ex(p->cfg.hcam, &status, &bytes, &passes, &info))
        return sdk_code(p);
    p->status_ns = pvp_now_ns();
    *latest = info.frame_nr;
    pthread_mutex_lock(&p->mtx);
    if (info.frame_nr > p->polled_latest)
        __atomic_store_n(&p->polled_latest, (int64_t)info.frame_nr, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&p->mtx);
    return 0;
}

static int64_t cb_latest(pvp_pump *p)
{
    return __atomic_load_n(&p->cb_latest, __ATOMIC_SEQ_CST);
}

/* Highest FrameNr the pump may drain up to. */
static int64_t drain_limit(pvp_pump *p)
{
    int64_t polled = __atomic_load_n(&p->polled_latest, __ATOMIC_ACQUIRE);
    if (!p->cfg.use_callbacks)
        return polled;
    int64_t signalled = cb_latest(p);
    if (polled <= signalled)
        return signalled;
    /* Frames the status reports beyond the last callback are drained without
     * theirs only once callbacks have been quiet for the safety interval: a
     * FrameNr the camera skipped must be seen as the gap its neighbour's
     * callback reveals, not drained as a frame (the polling blind spot). */
    int64_t last_cb = __atomic_load_n(&p->cb_last_ns, __ATOMIC_RELAXED);
    if (pvp_now_ns() - last_cb < p->cfg.safety_interval_ns)
        return signalled;
    return polled;
}

static int signalled(pvp_pump *p, int64_t n, pvp_cbinfo *info)
{
    return pvp_cbinfo_lookup(p, n, info);
}

/* Frames carrying PVCAM metadata say their own FrameNr (md_frame_header, offset 5). */
static int metadata_says(pvp_pump *p, const uint8_t *frame, int64_t n)
{
    if (!p->cfg.metadata_frame_nr || p->cfg.frame_bytes < 9)
        return 0;
    uint32_t signature, nr;
    memcpy(&signature, frame, 4);
    memcpy(&nr, frame + 5, 4);
    return signature == 5328208u && (int64_t)nr == n;
}

/* Under mtx: write slot's ledger row and publish it.  seq >= 0: the frame stays
 * in place in the SDK buffer (sequence seq, see inplace.c).  Returns 1 when complete. */
static int publish_locked(pvp_pump *p, uint64_t slot, int64_t n, const pvp_cbinfo *info,
                          int64_t t_ns, int64_t seq)
{
    pvp_ring *r = &p->ring;
    uint64_t zseq = 0;
    if (p->cfg.zero_copy) {
        zseq = p->epoch_seq + (uint64_t)(n - 1);
        slot = zseq % r->frames;
    }
    r->frame_numbers[slot] = p->offset + n;
    r->timestamp_bof[slot] = info ? info->bof : 0;
    r->timestamp_eof[slot] = info ? info->eof : 0;
    r->readout_time[slot] = info ? info->readout : 0;
    r->host_time[slot] = pvp_wall_time();
    r->lost_before[slot] = p->pending_lost;
    r->reason[slot] = p->pending_lost ? (uint8_t)p->pending_reason : 255;
    r->index[slot] = p->frames_delivered;
    r->sdk_seq[slot] = seq;
    p->pending_lost = 0;
    if (p->cfg.zero_copy) {
        pvp_ring_publish_at(r, zseq);
    } else {
        if (seq < 0)
            pvp_ring_wrote(r, slot);  /* its pixels were copied into the slot */
        pvp_ring_publish(r);
    }
    p->frames_delivered++;
    if (seq >= 0)
        p->frames_inplace++;
    p->last_frame_ns = t_ns;
    /* readers are woken once per batch of frames, not per frame */
    if (++p->unsignalled >= 128)
        pvp_signal_readers_locked(p);
    if (p->cfg.max_frames > 0 && p->frames_delivered >= p->cfg.max_frames) {
        pvp_signal_readers_locked(p);
        p->halted = 1;
        p->events |= PVP_EV_COMPLETE;
        pthread_cond_broadcast(&p->event_cond);
        return 1;
    }
    return 0;
}

static int loss(pvp_pump *p, int64_t first, int64_t last, int reason)
{
    pthread_mutex_lock(&p->mtx);
    int rc = pvp_record_loss(p, first, last, reason);
    pthread_mutex_unlock(&p->mtx);
    return rc;
}

/* Unlock SDK frames first..last unread (only advances the SDK's counter). */
static int skip(pvp_pump *p, int64_t first, int64_t last, int reason)
{
    for (int64_t i = first; i <= last; i++) {
        if (!p->sdk.unlock_oldest_frame(p->cfg.hcam)) {
            halt(p, sdk_code(p), CALL_UNLOCK);
            return -1;
        }
        set_c(p, i);
    }
    loss(p, first, last, reason);
    return 0;
}

/* Raise *bound to the newest FrameNr the SDK reports; nonzero when the SDK
 * failed (the pump is then halted and the caller stops draining). */
static int raise_to_latest(pvp_pump *p, int64_t *bound)
{
    int64_t q;
    int code = sdk_latest(p, &q);
    if (code) {
        halt(p, code, CALL_STATUS);
        return 1;
    }
    if (q > *bound)
        *bound = q;
    return 0;
}

/* Take every available frame; returns frames retrieved. */
static int64_t drain(pvp_pump *p)
{
    const uint64_t cap = p->cfg.sdk_frames;
    const uint64_t fb = p->cfg.frame_bytes;
    const int polling = !p->cfg.use_callbacks;
    const int64_t margin = p->cfg.lag_margin;
    int64_t limit = drain_limit(p);
    int64_t newest = limit;
    int64_t batch = 0;
    int64_t t_start = pvp_now_ns();

    while (p->c < limit && !flag(&p->stop) && !flag(&p->pause)) {
        int64_t n = p->c + 1;
        pthread_mutex_lock(&p->mtx);
        if (p->cfg.inplace)
            pvp_inplace_rescue_locked(p, newest);  /* a reader stuck: copy what ages */
        int full = !p->cfg.zero_copy && pvp_ring_full(&p->ring);
        int queue_full = p->loss_count >= PVP_LOSS_QUEUE - 1;
        /* No room: wait for the reader within this drain (the SDK buffer holds
         * the frames meanwhile), so frames that piled up still go in one batch. */
        while ((queue_full || (full && !p->cfg.drop_when_full)) && !p->stop && !p->pause) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_nsec += 10000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pvp_signal_readers_locked(p);  /* what is in the ring is theirs meanwhile */
            p->room_waiting = 1;
            pthread_cond_timedwait(&p->work_cond, &p->mtx, &ts);
            p->room_waiting = 0;
            full = !p->cfg.zero_copy && pvp_ring_full(&p->ring);
            queue_full = p->loss_count >= PVP_LOSS_QUEUE - 1;
        }
        int interrupted = p->stop || p->pause;
        /* Zero copy: frame n goes to ring sequence epoch_seq + n - 1.  Beyond the
         * buffer the camera would write over frames still held: the burst ends here. */
        if (!interrupted && p->cfg.zero_copy
                && p->epoch_seq + (uint64_t)(n - 1) - p->ring.tail >= p->ring.frames) {
            p->halted = 1;
            p->exhausted = 1;
            p->events |= PVP_EV_COMPLETE;
            pthread_cond_broadcast(&p->event_cond);
            interrupted = 1;
        }
        pthread_mutex_unlock(&p->mtx);
        if (interrupted)
            break;
        if (polling && pvp_now_ns() - p->status_ns > p->cfg.refresh_ns) {
            if (raise_to_latest(p, &limit))
                break;
        }
        if (limit > newest)
            newest = limit;
        /* Close to a full SDK ring, ask how far the camera really is. */
        int in_zone = newest - n >= (int64_t)cap - margin;
        if (in_zone) {
            if (raise_to_latest(p, &newest))
                break;
            if (p->cfg.overwrite_mode && newest >= n + (int64_t)cap - 1) {
                /* CIRC_OVERWRITE returns overwritten slots without complaint: skip
                 * them and a quarter ring more, or every following copy would be
                 * torn by the writer right behind it. */
                int64_t headroom = cap / 4 > 1 ? (int64_t)(cap / 4) : 1;
                int64_t last = newest - (int64_t)cap + 1 + headroom;
                int64_t bound = limit > n ? limit : n;
                if (last > bound)
                    last = bound;
                if (skip(p, n, last, PVP_LOST_OVERWRITTEN))
                    break;
                if (limit < p->c)
                    limit = p->c;
                continue;
            }
        }
        pvp_cbinfo info;
        int have_info = 0;
        if (!polling) {
            have_info = signalled(p, n, &info);
            int64_t top = cb_latest(p);
            /* The table remembers the last cb_mask + 1 FrameNrs only: further back,
             * a missing entry says nothing (the slot is long overwritten anyway). */
            if (!have_info && n <= top && top - n <= (int64_t)p->cb_mask) {
                /* No callback for n although a later frame's came.  Frame metadata,
                 * when present, tells whether the frame is in the buffer anyway. */
                const uint8_t *slot_ptr = p->cfg.sdk_buffer + ((uint64_t)(n - 1) % cap) * fb;
                if (metadata_says(p, slot_ptr, n)) {
                    bump(&p->callbacks_missed, 1);
                } else {
                    int64_t m = n;
                    pvp_cbinfo probe;
                    while (m + 1 <= top && !signalled(p, m + 1, &probe))
                        m++;
                    if (skip(p, n, m, PVP_LOST_GAP))
                        break;
                    continue;
                }
            } else if (!have_info) {
                /* drainable only because the SDK's status says it is complete */
                bump(&p->callbacks_missed, 1);
            }
        }
        void *address = NULL;
        if (!p->sdk.get_oldest_frame(p->cfg.hcam, &address)) {
            int code = sdk_code(p);
            if (code == ERR_DATA_NOT_AVAILABLE)
                break;  /* announced but not visible yet: next wake */
            halt(p, code, CALL_GET_OLDEST);
            break;
        }
        const uint8_t *src = p->cfg.sdk_buffer + ((uint64_t)(n - 1) % cap) * fb;
        if ((const uint8_t *)address != src) {
            halt(p, -1, CALL_ADDRESS);  /* our numbering is out of step with the SDK */
            break;
        }
        if (full) {  /* drop_when_full: the frame is counted, not copied */
            if (!p->sdk.unlock_oldest_frame(p->cfg.hcam)) {
                halt(p, sdk_code(p), CALL_UNLOCK);
                break;
            }
            set_c(p, n);
            bump(&p->frames_retrieved, 1);
            loss(p, n, n, PVP_LOST_DROPPED);
            continue;
        }
        uint64_t slot = 0;
        int64_t seq = -1;  /* >= 0: the frame stays in place (inplace.c) */
        int copy = !p->cfg.zero_copy;
        if (copy) {
            pthread_mutex_lock(&p->mtx);
            if (p->cfg.inplace) {
                int64_t s = pvp_inplace_seq(p, n);
                if (pvp_inplace_choose(p, s)) {
                    seq = s;
                    copy = 0;
                } else {
                    p->frames_copied++;
                }
            }
            slot = pvp_ring_next_slot(&p->ring);
            pthread_mutex_unlock(&p->mtx);
        }
        int64_t t1 = pvp_now_ns();
        if (copy)
            memcpy(p->ring.data + slot * fb, src, fb);  /* in place: the frame stays put */
        int64_t t2 = pvp_now_ns();
        if (copy)
            bump(&p->copy_ns_total, t2 - t1);
        if (!p->sdk.unlock_oldest_frame(p->cfg.hcam)) {
            halt(p, sdk_code(p), CALL_UNLOCK);
            break;
        }
        int64_t t3 = pvp_now_ns();
        set_c(p, n);
        bump(&p->frames_retrieved, 1);
        batch++;
        /* Did frame n + cap start arriving in this slot while we copied? */
        if (!polling && cb_latest(p) > newest)
            newest = cb_latest(p);
        if (in_zone || newest - n >= (int64_t)cap - margin) {
            if (raise_to_latest(p, &newest))
                break;
        }
        if (newest >= n + (int64_t)cap - 1) {
            loss(p, n, n, PVP_LOST_OVERWRITTEN);
            continue;
        }
        if (!have_info && !polling)
            have_info = signalled(p, n, &info);  /* a late callback */
        pthread_mutex_lock(&p->mtx);
        if (batch == 1)
            pvp_hist_record(&p->hist, PVP_H_WAKE_TO_RETRIEVED, t1 - p->wake_ns);
        if (copy)
            pvp_hist_record(&p->hist, PVP_H_COPY, t2 - t1);
        pvp_hist_record(&p->hist, PVP_H_UNLOCK, t3 - t2);
        int complete = publish_locked(p, slot, n, have_info ? &info : NULL, t2, seq);
        pthread_mutex_unlock(&p->mtx);
        if (complete)
            break;
        if (!polling && cb_latest(p) > limit)
            limit = cb_latest(p);
    }
    pthread_mutex_lock(&p->mtx);
    p->drain_ns_total += pvp_now_ns() - t_start;
    pvp_signal_readers_locked(p);
    if (batch) {
        p->wakeups++;
        if (batch > p->max_batch)
            p->max_batch = batch;
        if (p->pause)
            pthread_cond_broadcast(&p->event_cond);  /* progress, for a waiting pvp_pause */
    }
    pthread_mutex_unlock(&p->mtx);
    return batch;
}

static void deadline_after(struct timespec *ts, int64_t ns)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ns / 1000000000LL;
    ts->tv_nsec += ns % 1000000000LL;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Under mtx: is there anything the drain could do now? */
static int has_work_locked(pvp_pump *p)
{
    if (p->loss_count >= PVP_LOSS_QUEUE - 1)
        return 0;
    if (pvp_ring_full(&p->ring) && !p->cfg.drop_when_full)
        return 0;
    return drain_limit(p) > p->c;
}

void *pvp_thread_main(void *arg)
{
    pvp_pump *p = arg;
    pthread_setname_np(pthread_self(), "pvcam-pump");
    int64_t next_poll = 0;
    pthread_mutex_lock(&p->mtx);
    for (;;) {
        if (p->stop)
            break;
        if (p->pause || p->halted) {
            p->parked = 1;
            pthread_cond_broadcast(&p->event_cond);
            while ((p->pause || p->halted) && !p->stop)
                pthread_cond_wait(&p->work_cond, &p->mtx);
            p->parked = 0;
            next_poll = 0;
            continue;
        }
        int64_t now = pvp_now_ns();
        int want_status;
        if (p->cfg.use_callbacks) {
            int64_t last_cb = __atomic_load_n(&p->cb_last_ns, __ATOMIC_RELAXED);
            int64_t last = last_cb > p->status_ns ? last_cb : p->status_ns;
            want_status = now - last >= p->cfg.safety_interval_ns;
        } else {
            want_status = now >= next_poll;
        }
        if (want_status) {
            pthread_mutex_unlock(&p->mtx);
            int64_t q;
            int code = sdk_latest(p, &q);
            if (!p->cfg.use_callbacks)
                next_poll = pvp_now_ns() + p->cfg.poll_interval_ns;
            pthread_mutex_lock(&p->mtx);
            if (code) {
                halt_locked(p, code, CALL_STATUS);
                continue;
            }
            if (p->cfg.use_callbacks && q <= cb_latest(p))
                p->status_ns = pvp_now_ns();
        }
        if (!has_work_locked(p)) {
            int64_t wait_ns = p->cfg.use_callbacks ? p->cfg.safety_interval_ns
                                                   : next_poll - pvp_now_ns();
            if (wait_ns < 20000)
                wait_ns = 20000;
            __atomic_store_n(&p->pump_waiting, 1, __ATOMIC_SEQ_CST);
            if (!has_work_locked(p) && !p->stop && !p->pause && !p->halted) {
                struct timespec ts;
                deadline_after(&ts, wait_ns);
                pthread_cond_timedwait(&p->work_cond, &p->mtx, &ts);
            }
            __atomic_store_n(&p->pump_waiting, 0, __ATOMIC_SEQ_CST);
            continue;
        }
        p->wake_ns = pvp_now_ns();
        int64_t last_cb = __atomic_load_n(&p->cb_last_ns, __ATOMIC_RELAXED);
        if (p->cfg.use_callbacks && last_cb > p->cb_seen_ns) {
            pvp_hist_record(&p->hist, PVP_H_CALLBACK_TO_WAKE, p->wake_ns - last_cb);
            p->cb_seen_ns = last_cb;
        }
        pthread_mutex_unlock(&p->mtx);
        int64_t got = drain(p);
        pthread_mutex_lock(&p->mtx);
        /* Pages the consumer left behind go back to the kernel; this thread is
         * the ring's only writer, so nothing writes them while it madvises. */
        pvp_trim trim;
        pvp_ring_trim_plan(&p->ring, &trim);
        if (trim.count) {
            pthread_mutex_unlock(&p->mtx);
            pvp_ring_trim_apply(&p->ring, &trim);
            pthread_mutex_lock(&p->mtx);
        }
        if (got > 0 && p->cfg.use_callbacks && p->cfg.coalesce_ns > 0) {
            /* Gather frames for one batch: callbacks do not wake the pump meanwhile
             * (pump_waiting stays 0), so a frame costs no wake-up of its own. */
            struct timespec ts;
            deadline_after(&ts, p->cfg.coalesce_ns);
            while (!p->stop && !p->pause && !p->halted
                   && pthread_cond_timedwait(&p->work_cond, &p->mtx, &ts) != ETIMEDOUT)
                ;
        }
    }
    p->parked = 1;
    pthread_cond_broadcast(&p->event_cond);
    pthread_mutex_unlock(&p->mtx);
    return NULL;
}

/* The pump is parked and the SDK stopped: copy completed frames straight
 * out of the SDK buffer (frame n lies in slot (n-1) % capacity unless a later
 * frame reused it).  Stops early when the host ring is full (those frames are
 * reported pending at stop).  Returns frames salvaged. */
int64_t pvp_salvage(pvp_pump *p, int64_t newest)
{
    const uint64_t cap = p->cfg.sdk_frames;
    const uint64_t fb = p->cfg.frame_bytes;
    int64_t salvaged = 0;
    int64_t n = p->c + 1;
    pthread_mutex_lock(&p->mtx);
    while (n <= newest && !(p->cfg.max_frames > 0 && p->frames_delivered >= p->cfg.max_frames)) {
        pvp_cbinfo info;
        int have_info = p->cfg.use_callbacks && signalled(p, n, &info);
        const uint8_t *src = p->cfg.sdk_buffer + ((uint64_t)(n - 1) % cap) * fb;
        int64_t top = cb_latest(p);
        if (p->cfg.use_callbacks && !have_info && n <= top && top - n <= (int64_t)p->cb_mask
                && !metadata_says(p, src, n)) {
            int64_t m = n;
            pvp_cbinfo probe;
            while (m + 1 <= newest && m + 1 <= top && !signalled(p, m + 1, &probe))
                m++;
            if (pvp_record_loss(p, n, m, PVP_LOST_GAP))
                break;
            set_c(p, m);
        } else if (n + (int64_t)cap - 1 <= newest) {
            int64_t last = newest - (int64_t)cap + 1;
            if (pvp_record_loss(p, n, last, PVP_LOST_OVERWRITTEN))
                break;
            set_c(p, last);
        } else {
            if (pvp_ring_full_hard(&p->ring))
                break;
            uint64_t slot = 0;
            int64_t seq = -1;
            if (!p->cfg.zero_copy) {
                if (p->cfg.inplace && pvp_inplace_choose(p, pvp_inplace_seq(p, n)))
                    seq = pvp_inplace_seq(p, n);  /* stopped: nothing overwrites it now */
                slot = pvp_ring_next_slot(&p->ring);
                if (seq < 0)
                    memcpy(p->ring.data + slot * fb, src, fb);
                if (seq < 0 && p->cfg.inplace)
                    p->frames_copied++;
            }
            set_c(p, n);
            bump(&p->frames_retrieved, 1);
            salvaged++;
            publish_locked(p, slot, n, have_info ? &info : NULL, pvp_now_ns(), seq);
        }
        n = p->c + 1;
    }
    pvp_signal_readers_locked(p);
    /* completion here is the supervisor's business, not an event to act on */
    p->events &= ~PVP_EV_COMPLETE;
    pthread_mutex_unlock(&p->mtx);
    return salvaged;
}
