/*
 * pump.h - the native frame pump of ophyd-pvcam (libpvcam_pump.so).
 *
 * The pump drains a running PVCAM continuous acquisition without Python:
 * its EOF callback only counts and notes the frame's FRAME_INFO; its own
 * thread ("pvcam-pump") takes every available frame out of the SDK's
 * circular buffer (get oldest -> copy into the host ring -> unlock) and
 * writes one ledger row per frame.  Python takes contiguous runs of ring
 * slots in one call that waits without the GIL.  In place (inplace.c) a
 * frame is not copied at all while the consumer keeps up: its ledger row
 * points at the SDK buffer slot the camera wrote, proven intact at take and
 * at release.  Wake-ups are per batch: the pump gathers frames for
 * coalesce_ns after a drain, readers are woken once per batch.
 *
 * The library never links libpvcam: every SDK function is a pointer the
 * caller passes in (taken from the caller's own handle on the library), so
 * the same build works on the vendor's library and on the simulator.
 *
 * Files by concern: ring.c (host ring + ledger storage), ledger.c (callback
 * table, loss records), drain.c (the pump thread), inplace.c (continuous zero
 * copy), api.c (exported calls).
 */
#ifndef OPHYD_PVCAM_PUMP_H
#define OPHYD_PVCAM_PUMP_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define PVP_EXPORT __attribute__((visibility("default")))

/* ---- the slice of the PVCAM ABI the pump uses (reference section 3/4) ---- */
typedef struct pvp_frame_info {
    uint32_t guid_f1;
    uint16_t guid_f2, guid_f3;
    uint8_t guid_f4[8];
    int16_t hcam;
    int32_t frame_nr;
    int64_t timestamp_eof;
    int32_t readout_time;
    int64_t timestamp_bof;
} pvp_frame_info;

typedef uint16_t (*pvp_get_oldest_fn)(int16_t hcam, void **frame);
typedef uint16_t (*pvp_unlock_fn)(int16_t hcam);
typedef uint16_t (*pvp_check_cont_ex_fn)(int16_t hcam, int16_t *status, uint32_t *bytes,
                                         uint32_t *buffer_cnt, pvp_frame_info *info);
typedef uint16_t (*pvp_register_fn)(int16_t hcam, int32_t event, void *callback, void *context);
typedef uint16_t (*pvp_deregister_fn)(int16_t hcam, int32_t event);
typedef int16_t (*pvp_error_code_fn)(void);

/* The SDK functions, as addresses from the caller's handle on libpvcam. */
typedef struct pvp_sdk {
    pvp_get_oldest_fn get_oldest_frame;
    pvp_unlock_fn unlock_oldest_frame;
    pvp_check_cont_ex_fn check_cont_status_ex;
    pvp_register_fn register_callback_ex3;
    pvp_deregister_fn deregister_callback;
    pvp_error_code_fn error_code;
} pvp_sdk;

/* How the pump is configured (fixed for its life). */
typedef struct pvp_config {
    int16_t hcam;
    int32_t use_callbacks;   /* 1: wake on EOF callbacks; 0: poll check_cont_status_ex */
    int32_t overwrite_mode;  /* 1: CIRC_OVERWRITE (skip overwritten slots); 0: NO_OVERWRITE */
    int32_t drop_when_full;  /* 1: a full host ring drops frames (counted); 0: stop draining */
    uint8_t *sdk_buffer;     /* the circular buffer given to pl_exp_start_cont */
    uint64_t sdk_frames;     /* its capacity in frames */
    uint64_t frame_bytes;
    uint64_t ring_frames;    /* host ring capacity in frames */
    int64_t max_frames;      /* complete after this many delivered frames; 0 = no limit */
    int64_t poll_interval_ns;    /* polling: between status checks */
    int64_t safety_interval_ns;  /* callbacks: status check after this long without one */
    int64_t refresh_ns;          /* polling: re-read status during a long drain */
    int32_t lag_margin;          /* frames before a full SDK ring where status is asked */
    int32_t metadata_frame_nr;   /* 1: frames start with a PVCAM md_frame_header */
    int32_t zero_copy;           /* 1: the SDK buffer is the ring (a burst that never wraps):
                                  * frame n is published in place, slot (n - 1) % sdk_frames */
    int32_t inplace;             /* 1: continuous zero copy: a frame is handed out where the
                                  * camera wrote it while the consumer keeps up (see inplace.c),
                                  * copied into the host ring otherwise */
    int64_t coalesce_ns;         /* callbacks: after a drain that took frames, gather this long
                                  * before the next (one wake-up per batch, not per frame) */
} pvp_config;

/* Loss reasons (index into lost_by_reason). */
enum { PVP_LOST_GAP = 0, PVP_LOST_OVERWRITTEN = 1, PVP_LOST_DROPPED = 2, PVP_REASONS = 3 };
/* Ledger-only reason: frames a restart of the acquisition lost (counted by the caller). */
#define PVP_LOST_RESTART 3

/* Events the supervisor (Python) is woken for; a bit mask. */
enum {
    PVP_EV_LOSS = 1,        /* loss records are waiting in the queue */
    PVP_EV_OVERRUN = 2,     /* error 173: the pump halted; restart the acquisition */
    PVP_EV_ERROR = 4,       /* another SDK error: the pump halted (see error_code) */
    PVP_EV_COMPLETE = 8,    /* max_frames delivered: the pump halted */
    PVP_EV_REMOVED = 16,    /* error 180 from a frame call: the pump halted */
    PVP_EV_STOP = 32,       /* stop requested */
    PVP_EV_WOKEN = 64,      /* pvp_wake() was called */
    PVP_EV_PROGRESS = 128   /* (returned only) frames were drained since the last call */
};

/* One loss record: SDK FrameNr range first..last, all lost for one reason. */
typedef struct pvp_loss {
    int64_t first;
    int64_t last;
    int32_t reason;
    int32_t pad;
} pvp_loss;

/* Counters, copied out by pvp_get_counters. */
typedef struct pvp_counters {
    int64_t consumed;            /* SDK FrameNr of the last frame taken from the SDK (c) */
    int64_t signalled_latest;    /* highest FrameNr an EOF callback announced */
    int64_t polled_latest;       /* highest FrameNr check_cont_status_ex reported */
    int64_t callbacks;           /* EOF callbacks in this epoch */
    int64_t callbacks_total;     /* EOF callbacks of the pump's life */
    int64_t callback_duplicates;
    int64_t callbacks_missed;    /* frames drained although their callback never came */
    int64_t frames_retrieved;    /* copied out of the SDK buffer (pump's life) */
    int64_t frames_delivered;    /* published into the host ring (pump's life) */
    int64_t lost_by_reason[PVP_REASONS];
    int64_t wakeups;             /* drains that retrieved at least one frame */
    int64_t max_batch;
    int64_t last_frame_ns;       /* CLOCK_MONOTONIC of the last retrieved frame (0: none) */
    int64_t ring_used;           /* slots not yet released */
    int64_t ring_peak;           /* most slots in use at once */
    int64_t ring_frames;
    int64_t ring_touched_bytes;  /* high-water mark of ring bytes ever written */
    int64_t error_code;          /* the SDK error that halted the pump (0: none) */
    int64_t error_call;          /* 1 get_oldest, 2 unlock, 3 check_cont_status_ex, 4 address */
    int64_t halted;              /* 1 while the pump waits for resume after an event */
    int64_t ended;               /* 1 once pvp_finish ran: no more frames will come */
    int64_t copy_ns_total;       /* time spent copying frames */
    int64_t drain_ns_total;      /* time spent draining (SDK calls + copies) */
    int64_t pending_lost;        /* losses not yet attached to a delivered frame */
    int64_t exhausted;           /* zero copy: the burst buffer was used up before max_frames */
    int64_t frames_inplace;      /* in place: frames published in the SDK buffer, not copied */
    int64_t frames_copied;       /* in place: frames copied into the host ring (consumer behind) */
    int64_t held_overwritten;    /* in place: frames the camera overwrote after they were handed
                                  * out, before their release (counted lost, "overwritten") */
    int64_t untaken_overwritten; /* in place: published frames overwritten before a reader took
                                  * them (never handed out; counted lost, "overwritten") */
    int64_t ring_trimmed_bytes;  /* ring bytes given back to the kernel behind the reader */
} pvp_counters;

/* Timing histograms, binned like ophyd_pvcam.engine.stream.stats.LogHistogram:
 * values < 8 have a bin each, above each power of two has 4 bins. */
#define PVP_HIST_BINS 160
enum { PVP_H_CALLBACK_TO_WAKE = 0, PVP_H_WAKE_TO_RETRIEVED = 1, PVP_H_COPY = 2, PVP_H_UNLOCK = 3,
       PVP_HISTOGRAMS = 4 };
typedef struct pvp_histograms {
    int64_t counts[PVP_HISTOGRAMS][PVP_HIST_BINS];
    int64_t total[PVP_HISTOGRAMS];
    int64_t maximum[PVP_HISTOGRAMS];
} pvp_histograms;

/* ---- internal ---- */
#define PVP_LOSS_QUEUE 4096
#define PVP_EPOCHS 16

/* A run released while the pump was paused, checked once the SDK's position is known. */
#define PVP_DEFERRED 1024
typedef struct pvp_deferred {
    int64_t first_seq;     /* SDK sequence of its first frame */
    int64_t first_number;  /* stream number of its first frame (consecutive) */
    int64_t count;
} pvp_deferred;

/* One acquisition epoch (start to stop) in SDK sequence numbers. */
typedef struct pvp_epoch {
    int64_t start;   /* sequence of FrameNr 1 (a multiple of sdk_frames) */
    int64_t end;     /* the sequence the camera was writing when it stopped (open: INT64_MAX) */
} pvp_epoch;

typedef struct pvp_cbinfo {
    int64_t frame_nr;   /* written last (release); readers check it first and after */
    int64_t eof, bof;
    int64_t readout;
} pvp_cbinfo;

typedef struct pvp_ring {
    uint8_t *data;            /* ring_frames x frame_bytes, mmap'ed, touched lazily */
    size_t data_bytes;
    uint8_t *ledger_map;      /* one mapping for every ledger column */
    size_t ledger_bytes;
    int64_t *frame_numbers, *timestamp_bof, *timestamp_eof, *readout_time;
    double *host_time;
    int64_t *lost_before, *index;
    int64_t *sdk_seq;         /* in place: the frame's SDK sequence (slot = seq % sdk_frames);
                               * -1: its pixels are in this ring's own slot */
    uint8_t *reason;          /* why lost_before > 0 (first reason seen), or 255 */
    uint8_t *released;        /* per slot: 1 once given back, until the tail passes it */
    uint64_t frames, frame_bytes;
    uint64_t sdk_frames;      /* in place: the SDK buffer's capacity (runs never wrap it) */
    uint64_t limit;           /* slots the drain may fill; the rest are for salvage at stop */
    uint64_t head;            /* slots written (monotonic) */
    uint64_t taken;           /* slots handed to Python (monotonic) */
    uint64_t tail;            /* slots free up to here (monotonic) */
    uint64_t peak;
    uint64_t touched;         /* highest slot ever written + 1 */
    uint64_t resident;        /* highest slot written since it was last trimmed + 1 */
    uint64_t trimmed_to;      /* seqs below this were given back (or reused) */
    uint64_t trimmed_bytes;   /* bytes given back to the kernel (madvise), in all */
    int external;             /* data is the SDK buffer (zero copy): not ours to unmap */
} pvp_ring;

typedef struct pvp_pump {
    pvp_sdk sdk;
    pvp_config cfg;
    pvp_ring ring;

    pthread_mutex_t mtx;
    pthread_cond_t work_cond;    /* pump thread waits here (callbacks, room, resume) */
    pthread_cond_t data_cond;    /* readers wait here for frames */
    pthread_cond_t event_cond;   /* supervisor waits here for events; pause acks */
    pthread_t thread;
    int thread_started;

    /* callback side (written by the SDK's thread) */
    pvp_cbinfo *cbinfo;          /* indexed by FrameNr & cb_mask */
    uint64_t cb_mask;
    int64_t cb_latest;           /* atomic */
    int64_t cb_count, cb_total, cb_duplicates;   /* atomic */
    int64_t cb_last_ns;          /* atomic */
    int pump_waiting;            /* atomic: the pump thread sleeps on work_cond */
    int eof_registered;

    /* pump thread state (under mtx unless noted) */
    int64_t c;                   /* pump thread only while running */
    int64_t polled_latest;
    int64_t status_ns;
    int64_t offset;              /* stream number = offset + FrameNr */
    int64_t pending_lost;
    int pending_reason;
    int stop, pause, parked, halted, ended, resume_gen;
    int events;
    int readers_waiting;
    int64_t error_code, error_call;
    int64_t last_progress_seen;
    pvp_loss losses[PVP_LOSS_QUEUE];
    int loss_head, loss_count;

    /* counters */
    int64_t callbacks_missed, frames_retrieved, frames_delivered;
    int64_t lost_by_reason[PVP_REASONS];
    int64_t wakeups, max_batch, last_frame_ns;
    int64_t copy_ns_total, drain_ns_total;
    pvp_histograms hist;         /* written by the pump thread under mtx */
    int64_t wake_ns;             /* when the pump thread last woke */
    int64_t cb_seen_ns;          /* the callback time already counted in callback_to_wake */
    uint64_t epoch_seq;          /* zero copy: ring sequence of FrameNr 1 in this epoch */
    int exhausted;               /* zero copy: the burst buffer is used up (halted) */

    /* in place (inplace.c): SDK sequence numbers.  FrameNr n of the current
     * epoch is sequence sdk_epoch + n - 1 (sdk_epoch a multiple of sdk_frames,
     * so the slot is (n - 1) % sdk_frames); the camera writing FrameNr m means
     * sequence sdk_epoch + m - 1 is being overwritten into its slot. */
    pvp_epoch epochs[PVP_EPOCHS]; /* the last epochs, [start, end] sequences written */
    int epoch_count;             /* epochs recorded (the current one is the last) */
    int64_t sdk_users;           /* readers inside an SDK status call (pause waits for 0) */
    int stopped_known;           /* the SDK is stopped and stopped_latest is its last FrameNr */
    int64_t stopped_latest;
    uint64_t ip_scan;            /* ring sequence of the oldest unreleased in-place frame */
    uint64_t rescue_scan;        /* ring sequence where the rescue of untaken frames looks */
    int room_waiting;            /* the pump waits for a released slot */
    int data_signalled;          /* readers were woken and did not run yet */
    int64_t unsignalled;         /* frames published since readers were last woken */
    int64_t frames_inplace, frames_copied, held_overwritten, untaken_overwritten;
    int64_t taken_index;         /* delivery index of the next frame a reader takes */
    pvp_deferred deferred[PVP_DEFERRED];  /* released while paused (never waits: a release
                                            * may run in a finalizer on any thread) */
    int deferred_count;
} pvp_pump;

/* ring.c */
int pvp_ring_open(pvp_ring *r, uint64_t frames, uint64_t frame_bytes, uint8_t *external);
void pvp_ring_publish_at(pvp_ring *r, uint64_t seq);  /* zero copy: skipped slots are gaps */
void pvp_ring_close(pvp_ring *r);
int pvp_ring_full(const pvp_ring *r);       /* the drain's bound (limit) */
int pvp_ring_full_hard(const pvp_ring *r);  /* every slot in use */
#define PVP_SALVAGE_SLOTS 16
uint64_t pvp_ring_next_slot(pvp_ring *r);  /* slot the next frame goes to (resets when empty) */
/* Pages of released slots beyond the warm ones go back to the kernel once
 * PVP_TRIM_BYTES of them accumulated: planned under the mutex, applied
 * (madvise) outside it by the pump thread, the ring's only writer. */
#define PVP_TRIM_BYTES (8u << 20)
typedef struct pvp_trim {
    int count;
    uint64_t offset[2], length[2];
} pvp_trim;
void pvp_ring_trim_plan(pvp_ring *r, pvp_trim *t);
void pvp_ring_trim_apply(const pvp_ring *r, const pvp_trim *t);
void pvp_ring_wrote(pvp_ring *r, uint64_t slot);  /* pixels copied into slot: it is resident */
void pvp_ring_publish(pvp_ring *r);
uint64_t pvp_ring_available(pvp_ring *r, uint64_t *start_slot);
void pvp_ring_take(pvp_ring *r, uint64_t count);
int pvp_ring_release(pvp_ring *r, uint64_t start_slot, uint64_t count);

/* ledger.c */
int pvp_cbinfo_open(pvp_pump *p, uint64_t sdk_frames);
void pvp_cbinfo_reset(pvp_pump *p);
int pvp_cbinfo_lookup(pvp_pump *p, int64_t frame_nr, pvp_cbinfo *out);
PVP_EXPORT void pvp_eof_callback(const pvp_frame_info *info, void *context);
int pvp_record_loss(pvp_pump *p, int64_t first, int64_t last, int reason);  /* under mtx */
int pvp_pop_losses_locked(pvp_pump *p, pvp_loss *out, int max);
int64_t pvp_now_ns(void);
void pvp_hist_record(pvp_histograms *h, int which, int64_t value);
double pvp_wall_time(void);

/* inplace.c */
void pvp_inplace_reset(pvp_pump *p);
void pvp_inplace_new_epoch(pvp_pump *p);
int64_t pvp_inplace_seq(const pvp_pump *p, int64_t frame_nr);
int pvp_inplace_choose(pvp_pump *p, int64_t seq);                 /* under mtx */
int64_t pvp_camera_seq_locked(pvp_pump *p);                        /* under mtx; may unlock */
uint64_t pvp_overwritten_prefix(const pvp_pump *p, int64_t first_seq, uint64_t count,
                                int64_t camera_seq);
int pvp_take_validate_locked(pvp_pump *p, uint64_t start, uint64_t *count);
void pvp_inplace_rescue_locked(pvp_pump *p, int64_t newest);
void pvp_release_validate_locked(pvp_pump *p, uint64_t start, uint64_t count);
void pvp_signal_readers_locked(pvp_pump *p);
void pvp_check_deferred_locked(pvp_pump *p, int64_t camera_seq);

/* drain.c */
void *pvp_thread_main(void *arg);
int64_t pvp_salvage(pvp_pump *p, int64_t newest);

#endif
