/*
 * inplace.c - continuous zero copy: frames handed out where the camera wrote
 * them, in the SDK's circular buffer, with the loss ledger kept exact.
 *
 * The SDK's lock is no protection: frame n lies in slot (n - 1) % capacity
 * and the camera overwrites that slot with frame n + capacity whether or not
 * n was unlocked (reference 7.2: CIRC_NO_OVERWRITE only *reports* the overrun,
 * with error 173, on the next getter).  So the pump keeps get_oldest/unlock in
 * step with its drain as before and instead proves, by sequence numbers, that
 * a frame in place was never overwritten while anyone could read it:
 *
 *   sequence   FrameNr n of the current epoch is s = sdk_epoch + n - 1; every
 *              epoch (start to stop of the SDK) starts at a multiple of the
 *              capacity, so slot = s % capacity in every epoch;
 *   camera     the camera writing FrameNr m is writing sequence
 *              sdk_epoch + m - 1; with m = latest + 1 from the SDK's status
 *              (or the last FrameNr after a stop) that is an upper bound of
 *              what it has touched at the time of the call;
 *   overwritten  s is overwritten once a later sequence of the same slot was
 *              (being) written: s + capacity within its own epoch, or
 *              start_f + s % capacity within a later epoch f.
 *
 * A frame is published in place only while the consumer keeps up (the oldest
 * frame it has not released is less than half the SDK buffer behind);
 * otherwise it is copied into the host ring as before, and counted.  Frames
 * in place that no reader took within a quarter of the buffer are copied into
 * their host ring slots by the pump (a stuck reader), so a frame handed out in
 * place has at least three quarters of the buffer's time before the camera
 * comes back to its slot.  When a
 * reader takes an in-place run, the frames the camera already reached are
 * dropped from it (lost, "overwritten", never handed out); when it releases
 * the run, frames the camera reached meanwhile are counted lost too
 * ("overwritten", and held_overwritten: their pixels were handed out and
 * cannot be trusted).  Both checks read the SDK's status in the reader's
 * thread; while the pump is paused (the supervisor stops or restarts the SDK)
 * they wait for the SDK's final FrameNr (pvp_sdk_stopped) or the resume.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <string.h>

#include "pump.h"

void pvp_inplace_reset(pvp_pump *p)
{
    memset(p->epochs, 0, sizeof p->epochs);
    p->epochs[0].start = 0;
    p->epochs[0].end = INT64_MAX;
    p->epoch_count = 1;
    p->stopped_known = 0;
    p->stopped_latest = 0;
}

static pvp_epoch *current(pvp_pump *p)
{
    return &p->epochs[(p->epoch_count - 1) % PVP_EPOCHS];
}

static const pvp_epoch *epoch_at(const pvp_pump *p, int index)
{
    return &p->epochs[index % PVP_EPOCHS];
}

int64_t pvp_inplace_seq(const pvp_pump *p, int64_t frame_nr)
{
    return epoch_at(p, p->epoch_count - 1)->start + frame_nr - 1;
}

/* Under mtx, pump parked and SDK stopped: close the epoch, open the next one. */
void pvp_inplace_new_epoch(pvp_pump *p)
{
    pvp_epoch *e = current(p);
    int64_t cap = (int64_t)p->cfg.sdk_frames;
    int64_t newest = p->stopped_known ? p->stopped_latest : INT64_MAX / 4;
    int64_t seen = __atomic_load_n(&p->c, __ATOMIC_ACQUIRE);
    if (newest < seen)
        newest = seen;
    e->end = e->start + newest;  /* FrameNr newest + 1 may have been begun */
    int64_t next = (e->end / cap + 1) * cap;
    p->epoch_count++;
    pvp_epoch *n = current(p);
    n->start = next;
    n->end = INT64_MAX;
    p->stopped_known = 0;
}

/* Under mtx: the sequence the camera may be writing now (an upper bound);
 * INT64_MAX when it cannot be known (SDK error; stopped without a FrameNr).
 * May drop and retake mtx (the SDK's status call, or a wait while paused). */
int64_t pvp_camera_seq_locked(pvp_pump *p)
{
    for (;;) {
        if (p->stopped_known)
            return current(p)->start + p->stopped_latest;
        if (!p->pause && !p->stop && !p->ended) {
            p->sdk_users++;
            int64_t start = current(p)->start;  /* no new epoch while sdk_users > 0 */
            pthread_mutex_unlock(&p->mtx);
            int16_t status = 0;
            uint32_t bytes = 0, passes = 0;
            pvp_frame_info info;
            memset(&info, 0, sizeof info);
            int ok = p->sdk.check_cont_status_ex(p->cfg.hcam, &status, &bytes, &passes, &info);
            pthread_mutex_lock(&p->mtx);
            p->sdk_users--;
            if (p->pause)
                pthread_cond_broadcast(&p->event_cond);
            if (!ok)
                return INT64_MAX;
            if (info.frame_nr > p->polled_latest)
                __atomic_store_n(&p->polled_latest, (int64_t)info.frame_nr, __ATOMIC_RELEASE);
            return start + info.frame_nr;
        }
        if (p->stop || p->ended)
            return INT64_MAX;
        pthread_cond_wait(&p->event_cond, &p->mtx);  /* resume, stop or pvp_sdk_stopped */
    }
}

static int overwritten(const pvp_pump *p, int64_t s, int64_t camera_seq)
{
    const int64_t cap = (int64_t)p->cfg.sdk_frames;
    int last = p->epoch_count - 1;
    int first = last - (PVP_EPOCHS - 1) > 0 ? last - (PVP_EPOCHS - 1) : 0;
    int own = -1;
    for (int i = last; i >= first; i--)
        if (epoch_at(p, i)->start <= s) {
            own = i;
            break;
        }
    if (own < 0)
        return 1;  /* older than the epochs remembered: cannot be proven intact */
    for (int i = own; i <= last; i++) {
        int64_t end = i == last ? camera_seq : epoch_at(p, i)->end;
        int64_t next = i == own ? s + cap : epoch_at(p, i)->start + s % cap;
        if (next <= end)
            return 1;
    }
    return 0;
}

/* Frames at the start of the run [first_seq, first_seq + count) that the camera
 * overwrote (or is overwriting): a prefix, since the run is consecutive. */
uint64_t pvp_overwritten_prefix(const pvp_pump *p, int64_t first_seq, uint64_t count,
                                int64_t camera_seq)
{
    uint64_t lo = 0, hi = count;  /* overwritten(first_seq + i) is true for i < answer */
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (overwritten(p, first_seq + (int64_t)mid, camera_seq))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Under mtx: should the frame of sequence seq stay in place? */
int pvp_inplace_choose(pvp_pump *p, int64_t seq)
{
    pvp_ring *r = &p->ring;
    if (p->ip_scan < r->tail)
        p->ip_scan = r->tail;
    while (p->ip_scan < r->head && r->sdk_seq[p->ip_scan % r->frames] < 0)
        p->ip_scan++;
    if (p->ip_scan >= r->head)
        return 1;  /* nothing held in place */
    int64_t oldest = r->sdk_seq[p->ip_scan % r->frames];
    return seq - oldest < (int64_t)(p->cfg.sdk_frames / 2);
}

/* Record SDK frames lost after they were published (no lost_before: they are
 * not "before" any frame; they were, or would have been, delivered). */
static void record_published_loss(pvp_pump *p, int64_t first_number, int64_t last_number)
{
    int64_t pending = p->pending_lost;
    int reason = p->pending_reason;
    /* loss records are SDK FrameNrs of the current epoch: stream - offset */
    if (pvp_record_loss(p, first_number - p->offset, last_number - p->offset,
                        PVP_LOST_OVERWRITTEN) == 0) {
        p->pending_lost = pending;
        p->pending_reason = reason;
    }
}

static void record_runs(pvp_pump *p, uint64_t start, uint64_t count)
{
    pvp_ring *r = &p->ring;
    uint64_t i = 0;
    while (i < count) {
        int64_t first = r->frame_numbers[(start + i) % r->frames];
        uint64_t j = i + 1;
        while (j < count && r->frame_numbers[(start + j) % r->frames] == first + (int64_t)(j - i))
            j++;
        record_published_loss(p, first, first + (int64_t)(j - i) - 1);
        i = j;
    }
}

/* Under mtx: ring sequences [start, start + count) are frames in place that
 * will never be handed out (the camera reached them): no frame, counted lost. */
static void drop_locked(pvp_pump *p, uint64_t start, uint64_t count)
{
    pvp_ring *r = &p->ring;
    record_runs(p, start, count);
    for (uint64_t i = 0; i < count; i++) {
        uint64_t slot = (start + i) % r->frames;
        r->frame_numbers[slot] = -1;  /* no frame: readers skip it, the tail passes it */
        r->sdk_seq[slot] = -1;
        r->released[slot] = 1;
    }
    p->untaken_overwritten += (int64_t)count;
    p->frames_delivered -= (int64_t)count;
}

/* Under mtx, a reader about to take the in-place run of *count frames at ring
 * sequence start: drops the frames the camera reached.  Returns 1 when the run
 * may be handed out as it is (*count possibly lowered), 0 when the ring changed
 * meanwhile and the caller must look again. */
int pvp_take_validate_locked(pvp_pump *p, uint64_t start, uint64_t *count)
{
    pvp_ring *r = &p->ring;
    int64_t first_seq = r->sdk_seq[start % r->frames];
    int64_t camera = pvp_camera_seq_locked(p);  /* may drop mtx */
    uint64_t again = 0;
    uint64_t avail = pvp_ring_available(r, &again);
    if (again != start || r->sdk_seq[start % r->frames] != first_seq)
        return 0;  /* taken by another reader, or copied by the pump meanwhile */
    if (avail < *count)
        *count = avail;
    uint64_t lost = pvp_overwritten_prefix(p, first_seq, *count, camera);
    if (lost == 0)
        return 1;
    drop_locked(p, start, lost);
    return 0;
}

/* Under mtx, pump thread, newest the highest FrameNr known to exist: frames in
 * place that no reader took yet and that are a quarter of the SDK buffer old
 * are copied into their host ring slots (the reader is stuck:
 * they would be overwritten before it comes).  The SDK's status after the copy
 * tells which copies the camera tore meanwhile: dropped, counted lost. */
void pvp_inplace_rescue_locked(pvp_pump *p, int64_t newest)
{
    pvp_ring *r = &p->ring;
    const int64_t cap = (int64_t)p->cfg.sdk_frames;
    const uint64_t fb = r->frame_bytes;
    int64_t camera = pvp_inplace_seq(p, newest + 1);
    if (p->rescue_scan < r->taken)
        p->rescue_scan = r->taken;
    uint64_t first = p->rescue_scan, t = first;
    while (t < r->head) {
        uint64_t slot = t % r->frames;
        int64_t s = r->sdk_seq[slot];
        if (r->frame_numbers[slot] >= 0 && s >= 0) {
            if (s + cap / 4 > camera)
                break;  /* young enough: the reader has time */
            memcpy(r->data + slot * fb, p->cfg.sdk_buffer + (uint64_t)(s % cap) * fb, fb);
            if (slot + 1 > r->touched)
                r->touched = slot + 1;
            pvp_ring_wrote(r, slot);
        }
        t++;
    }
    if (t == first)
        return;
    /* mtx stays held (readers must not take half-copied frames); the SDK's status
     * call never waits for our callback while the pump runs (pump_waiting is 0) */
    int16_t status = 0;
    uint32_t bytes = 0, passes = 0;
    pvp_frame_info info;
    memset(&info, 0, sizeof info);
    int64_t after = p->sdk.check_cont_status_ex(p->cfg.hcam, &status, &bytes, &passes, &info)
                    ? pvp_inplace_seq(p, (int64_t)info.frame_nr + 1) : INT64_MAX;
    for (uint64_t i = first; i < t; i++) {
        uint64_t slot = i % r->frames;
        int64_t s = r->sdk_seq[slot];
        if (r->frame_numbers[slot] < 0 || s < 0)
            continue;
        if (overwritten(p, s, after))
            drop_locked(p, i, 1);  /* torn while copied */
        else {
            r->sdk_seq[slot] = -1;  /* now in the host ring */
            p->frames_copied++;
            p->frames_inplace--;
        }
    }
    p->rescue_scan = t;
}

static void count_held(pvp_pump *p, int64_t first_number, int64_t lost)
{
    record_published_loss(p, first_number, first_number + lost - 1);
    p->held_overwritten += lost;
}

/* Under mtx, before ring sequences [start, start + count) are released: the
 * in-place frames among them that the camera reached while they were held are
 * counted lost (held_overwritten).  Never waits: while the pump is paused and
 * the SDK's last FrameNr is not known yet, the run is checked later
 * (pvp_check_deferred_locked: at pvp_sdk_stopped, pvp_resume or the end). */
void pvp_release_validate_locked(pvp_pump *p, uint64_t start, uint64_t count)
{
    pvp_ring *r = &p->ring;
    if (!p->cfg.inplace || r->sdk_seq[start % r->frames] < 0)
        return;  /* runs are homogeneous: copied frames need no check */
    int64_t first_seq = r->sdk_seq[start % r->frames];
    int64_t first_number = r->frame_numbers[start % r->frames];
    if (p->pause && !p->stopped_known && !p->stop && !p->ended
            && p->deferred_count < PVP_DEFERRED) {
        pvp_deferred *d = &p->deferred[p->deferred_count++];
        d->first_seq = first_seq;
        d->first_number = first_number;
        d->count = (int64_t)count;
        return;
    }
    int64_t camera = pvp_camera_seq_locked(p);
    uint64_t lost = pvp_overwritten_prefix(p, first_seq, count, camera);
    if (lost > 0)
        count_held(p, first_number, (int64_t)lost);
}

/* Under mtx: check the runs released while paused against camera_seq. */
void pvp_check_deferred_locked(pvp_pump *p, int64_t camera_seq)
{
    for (int i = 0; i < p->deferred_count; i++) {
        pvp_deferred *d = &p->deferred[i];
        uint64_t lost = pvp_overwritten_prefix(p, d->first_seq, (uint64_t)d->count, camera_seq);
        if (lost > 0)
            count_held(p, d->first_number, (int64_t)lost);
    }
    p->deferred_count = 0;
}

/* Under mtx: wake readers once for what was published since they last ran. */
void pvp_signal_readers_locked(pvp_pump *p)
{
    if (p->readers_waiting && !p->data_signalled && p->unsignalled > 0) {
        pthread_cond_broadcast(&p->data_cond);
        p->data_signalled = 1;
    }
    p->unsignalled = 0;
}
