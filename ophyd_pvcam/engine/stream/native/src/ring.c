/*
 * ring.c - the host frame ring: one anonymous mapping of ring_frames slots
 * plus one mapping for the per-slot ledger columns.
 *
 * The mappings are MAP_NORESERVE and touched lazily, so a ring sized to the
 * whole memory budget costs only what is written.  Slots are handed out in
 * order (head), taken by Python in contiguous runs (taken) and freed in order
 * once released (tail); a run released out of order waits until the runs
 * before it are released.  Whenever the ring is empty the next frame goes to
 * slot 0 again: a consumer that keeps up reuses the same few slots (and
 * pages) instead of walking the whole budget.
 *
 * A ring that is not empty never wraps before its end: every slot of the
 * budget stays usable for a consumer that falls behind (an early wrap to
 * slot 0 left only the slots released before it until the consumer caught up
 * again, so one long pause of the consumer overflowed the SDK buffer with
 * gigabytes of ring unused).  What the walk costs in resident memory is given
 * back behind the tail instead (pvp_ring_trim_plan / pvp_ring_trim_apply).
 *
 * Not thread-safe by itself: the caller holds the pump's mutex, except for
 * the frame copy into a slot that only the writer owns until publish, and
 * the madvise of slots the writer planned to trim.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "pump.h"

static void *map_lazy(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

int pvp_ring_open(pvp_ring *r, uint64_t frames, uint64_t frame_bytes, uint8_t *external)
{
    memset(r, 0, sizeof *r);
    if (frames < 1 || frame_bytes < 1)
        return EINVAL;
    r->frames = frames;
    r->limit = frames;
    r->frame_bytes = frame_bytes;
    r->data_bytes = (size_t)(frames * frame_bytes);
    r->external = external != NULL;
    r->data = external != NULL ? external : map_lazy(r->data_bytes);
    if (r->data == NULL)
        return errno ? errno : ENOMEM;
    /* 8 eight-byte columns and 2 one-byte columns per slot */
    r->ledger_bytes = (size_t)frames * (8 * 8 + 2);
    r->ledger_map = map_lazy(r->ledger_bytes);
    if (r->ledger_map == NULL) {
        int err = errno ? errno : ENOMEM;
        if (!r->external)
            munmap(r->data, r->data_bytes);
        r->data = NULL;
        return err;
    }
    uint8_t *p = r->ledger_map;
    r->frame_numbers = (int64_t *)p;  p += frames * 8;
    r->timestamp_bof = (int64_t *)p;  p += frames * 8;
    r->timestamp_eof = (int64_t *)p;  p += frames * 8;
    r->readout_time = (int64_t *)p;   p += frames * 8;
    r->host_time = (double *)p;       p += frames * 8;
    r->lost_before = (int64_t *)p;    p += frames * 8;
    r->index = (int64_t *)p;          p += frames * 8;
    r->sdk_seq = (int64_t *)p;        p += frames * 8;
    r->reason = p;                    p += frames;
    r->released = p;
    return 0;
}

void pvp_ring_close(pvp_ring *r)
{
    if (r->data != NULL && !r->external)
        munmap(r->data, r->data_bytes);
    if (r->ledger_map != NULL)
        munmap(r->ledger_map, r->ledger_bytes);
    memset(r, 0, sizeof *r);
}

int pvp_ring_full(const pvp_ring *r)
{
    return r->head - r->tail >= r->limit;
}

int pvp_ring_full_hard(const pvp_ring *r)
{
    return r->head - r->tail >= r->frames;
}

/* Slots that stay resident: what a consumer keeping up cycles through. */
static uint64_t warm_slots(const pvp_ring *r)
{
    /* small enough that a consumer keeping up cycles through cache-warm memory */
    uint64_t slots = (2u << 20) / r->frame_bytes;
    return slots < 4 ? 4 : slots;
}

uint64_t pvp_ring_next_slot(pvp_ring *r)
{
    if (r->external)
        return r->head % r->frames;
    uint64_t slot = r->head % r->frames;
    if (r->head == r->tail && slot != 0) {
        /* empty: start over at slot 0 (keeps the resident set small) */
        uint64_t next = (r->head / r->frames + 1) * r->frames;  /* sequence of the next slot 0 */
        r->head = r->taken = r->tail = next;
    }
    return r->head % r->frames;
}

/* Slots [a, b) as page-aligned bytes inside them (partial pages stay). */
static void add_range(const pvp_ring *r, pvp_trim *t, uint64_t a, uint64_t b)
{
    uint64_t lo = warm_slots(r), hi = r->resident;
    if (a < lo)
        a = lo;
    if (b > hi)
        b = hi;
    if (a >= b || t->count >= 2)
        return;
    const uint64_t page = 4096;
    uint64_t start = (a * r->frame_bytes + page - 1) / page * page;
    uint64_t end = b * r->frame_bytes / page * page;
    if (end <= start)
        return;
    t->offset[t->count] = start;
    t->length[t->count] = end - start;
    t->count++;
}

void pvp_ring_trim_plan(pvp_ring *r, pvp_trim *t)
{
    t->count = 0;
    if (r->external || r->frames == 0)
        return;
    const uint64_t n = r->frames;
    /* Released frames whose slots no later frame took: seqs from..to-1 (a slot
     * of seq s is reused by seq s + n, so nothing before head - n qualifies). */
    uint64_t from = r->trimmed_to;
    if (r->head >= n && r->head - n > from)
        from = r->head - n;
    uint64_t to = r->tail;
    if (to <= from || (to - from) * r->frame_bytes < PVP_TRIM_BYTES)
        return;
    r->trimmed_to = to;
    if (to - from >= n) {
        add_range(r, t, 0, n);
    } else {
        uint64_t a = from % n, b = to % n;
        if (a < b) {
            add_range(r, t, a, b);
        } else {
            add_range(r, t, a, n);
            add_range(r, t, 0, b);
        }
    }
    /* Resident now: the warm slots and the slots in use (tail..head-1). */
    uint64_t keep = warm_slots(r);
    if (r->head > r->tail) {
        uint64_t first = r->tail % n, last = (r->head - 1) % n;
        if (r->head - r->tail >= n || last < first)
            keep = r->resident;  /* in use across the end: everything up to it stays */
        else if (last + 1 > keep)
            keep = last + 1;
    }
    if (keep < r->resident)
        r->resident = keep;
    for (int i = 0; i < t->count; i++)
        r->trimmed_bytes += t->length[i];
}

void pvp_ring_trim_apply(const pvp_ring *r, const pvp_trim *t)
{
    for (int i = 0; i < t->count; i++)
        madvise(r->data + t->offset[i], t->length[i], MADV_DONTNEED);
}

void pvp_ring_wrote(pvp_ring *r, uint64_t slot)
{
    if (slot + 1 > r->resident)
        r->resident = slot + 1;
}

void pvp_ring_publish(pvp_ring *r)
{
    uint64_t slot = r->head % r->frames;
    if (slot + 1 > r->touched)
        r->touched = slot + 1;
    r->head++;
    if (r->head - r->tail > r->peak)
        r->peak = r->head - r->tail;
}

void pvp_ring_publish_at(pvp_ring *r, uint64_t seq)
{
    /* slots before seq that no frame filled (FrameNrs lost in place): marked
     * released and without a frame, so readers skip them and the tail passes */
    while (r->head < seq) {
        uint64_t slot = r->head % r->frames;
        r->frame_numbers[slot] = -1;
        r->sdk_seq[slot] = -1;
        r->released[slot] = 1;
        r->head++;
    }
    pvp_ring_publish(r);
}

uint64_t pvp_ring_available(pvp_ring *r, uint64_t *start)
{
    *start = 0;
    if (r->frames == 0)
        return 0;  /* not attached */
    while (r->taken < r->head && r->frame_numbers[r->taken % r->frames] < 0)
        r->taken++;  /* a slot without a frame (skipped: a zero-copy gap) */
    while (r->tail < r->taken && r->released[r->tail % r->frames]) {
        r->released[r->tail % r->frames] = 0;
        r->tail++;
    }
    uint64_t count = r->head - r->taken;
    uint64_t to_end = r->frames - r->taken % r->frames;
    if (count > to_end)
        count = to_end;
    /* One run is one memory: frames of this ring, or consecutive frames in place
     * in the SDK buffer that do not wrap its end (see inplace.c). */
    const uint64_t first = r->taken % r->frames;
    const int64_t seq0 = r->sdk_seq[first];
    for (uint64_t i = 1; i < count; i++) {
        uint64_t slot = (r->taken + i) % r->frames;
        int64_t seq = r->sdk_seq[slot];
        if (r->frame_numbers[slot] < 0 || (seq < 0) != (seq0 < 0)
                || (seq0 >= 0 && (seq != seq0 + (int64_t)i
                                  || (uint64_t)seq % r->sdk_frames == 0))) {
            count = i;
            break;
        }
    }
    *start = r->taken;
    return count;
}

void pvp_ring_take(pvp_ring *r, uint64_t count)
{
    r->taken += count;
}

int pvp_ring_release(pvp_ring *r, uint64_t start, uint64_t count)
{
    if (start < r->tail || start + count > r->taken)
        return -1;
    for (uint64_t i = 0; i < count; i++)
        if (r->released[(start + i) % r->frames])
            return -1;  /* released twice */
    for (uint64_t i = 0; i < count; i++)
        r->released[(start + i) % r->frames] = 1;
    while (r->tail < r->taken && r->released[r->tail % r->frames]) {
        r->released[r->tail % r->frames] = 0;
        r->tail++;
    }
    return 0;
}
