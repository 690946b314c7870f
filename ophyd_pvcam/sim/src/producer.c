/*
 * producer.c - the acquisition thread ("pvcam-acq-<h>"): one per running
 * acquisition, it writes frames into the caller's buffer at the camera's
 * rate and publishes them (counters + BOF/EOF events).
 *
 * Timing uses absolute deadlines: frame n's exposure starts at
 * t_start + (n-1) * period in free run, so a late wake-up never slows the
 * average rate: every frame already due is produced at once (catch-up loop)
 * and the thread sleeps only when it is ahead (clock_nanosleep TIMER_ABSTIME
 * for short waits, a condition wait for long ones so stop is prompt).
 * cam->mtx is released while sleeping and while writing pixels.  Above
 * 10 kHz the frames that complete within 100 us are handed over together
 * (one wake-up per group; every frame keeps its own timestamps).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/prctl.h>

#include "sim_internal.h"

#define SHORT_SLEEP_NS 2000000ULL
/* Frames faster than one per COALESCE_NS are handed over in groups (see the loop). */
#define COALESCE_NS 100000.0

static struct timespec to_timespec(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000ULL), (long)(ns % 1000000000ULL)};
    return ts;
}

static long64 to_units(uint64_t t_ns)
{
    return (long64)((t_ns - g_epoch_ns) / 100000ULL);   /* 100 us */
}

/* Sleeps until deadline_ns with cam->mtx held on entry and exit.  Returns
 * early (nonzero) when a stop was requested. */
static int sleep_until(sim_camera *cam, uint64_t deadline_ns)
{
    sim_acq *a = &cam->acq;
    for (;;) {
        if (a->stop)
            return 1;
        uint64_t now = sim_now_ns();
        if (now >= deadline_ns)
            return 0;
        if (deadline_ns - now > SHORT_SLEEP_NS) {
            struct timespec ts = to_timespec(deadline_ns - SHORT_SLEEP_NS / 2);
            pthread_cond_timedwait(&a->cond, &cam->mtx, &ts);
        } else {
            struct timespec ts = to_timespec(deadline_ns);
            pthread_mutex_unlock(&cam->mtx);
            while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
                ;
            pthread_mutex_lock(&cam->mtx);
        }
    }
}

/* Blocks until stop (stall faults, external triggers that never come). */
static void wait_for_stop(sim_camera *cam)
{
    while (!cam->acq.stop)
        pthread_cond_wait(&cam->acq.cond, &cam->mtx);
}

static int needs_trigger(const sim_acq *a, int32 n)
{
    switch (a->exp_mode) {
    case EXT_TRIG_SOFTWARE_FIRST:
        return n == 0;
    case EXT_TRIG_SOFTWARE_EDGE:
        return 1;
    default:
        return 0;
    }
}

static int is_external(const sim_acq *a)
{
    return a->exp_mode == EXT_TRIG_TRIG_FIRST || a->exp_mode == EXT_TRIG_EDGE_RISING ||
           a->exp_mode == EXT_TRIG_LEVEL || a->exp_mode == EXT_TRIG_LEVEL_OVERLAP;
}

static void remove_camera(sim_camera *cam)
{
    sim_acq *a = &cam->acq;
    cam->removed = 1;
    FRAME_INFO info = a->latest_info;
    info.hCam = (int16)cam->index;
    pthread_mutex_unlock(&cam->mtx);
    sim_cb_post(cam, PL_CALLBACK_CAM_REMOVED, &info);
    pthread_mutex_lock(&cam->mtx);
}

void *sim_producer_main(void *arg)
{
    sim_camera *cam = arg;
    sim_acq *a = &cam->acq;
    prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);   /* 1 us: keep high-rate deadlines tight */
    pthread_mutex_lock(&cam->mtx);
    const double readout_ns = a->readout_ns * a->faults.slow_readout;
    uint64_t next_start = a->t_start_ns;
    int32 n = 0;   /* last FrameNr assigned */
    /* Free-run schedule: frame k starts at base_ns + (k - base_n) * period.
     * A new period (smart streaming, a live exposure change, a software
     * trigger) rebases it at the frame where it takes effect. */
    uint64_t base_ns = a->t_start_ns;
    int32 base_n = 0;
    double base_period = -1.0;
    for (;;) {
        if (a->stop)
            break;
        if (a->kind == ACQ_KIND_SEQ && n >= a->exp_total) {
            a->state = ACQ_DONE;
            break;
        }
        if (a->stall_at >= 0 && n >= a->stall_at) {
            a->stalled = 1;   /* status keeps reporting progress; nothing arrives */
            wait_for_stop(cam);
            break;
        }
        if (a->faults.unplug_after >= 0 && n >= a->faults.unplug_after) {
            remove_camera(cam);
            wait_for_stop(cam);
            break;
        }
        if (is_external(a)) {
            a->waiting_trigger = 1;   /* no trigger source is wired to a simulator */
            wait_for_stop(cam);
            break;
        }
        double exposure_ns = a->vtm ? cam->s.exp_time_vtm * a->exp_unit_ns : a->exposure_ns;
        if (a->smart)
            exposure_ns = a->smart_exp[(uint32_t)n % (uint32_t)a->smart_count] * a->exp_unit_ns;
        if (needs_trigger(a, n)) {
            a->waiting_trigger = 1;
            while (!a->stop && a->pending_triggers == 0)
                pthread_cond_wait(&a->cond, &cam->mtx);
            if (a->stop)
                break;
            a->pending_triggers--;
            a->waiting_trigger = 0;
            next_start = a->trigger_time_ns > a->prev_free_ns ? a->trigger_time_ns : a->prev_free_ns;
            if (a->exp_mode == EXT_TRIG_SOFTWARE_FIRST)
                a->t_start_ns = next_start;   /* free run from the trigger on */
            base_period = -1.0;
        }
        uint64_t exp_start = next_start + (uint64_t)a->clear_frame_ns;
        uint64_t bof = exp_start + (uint64_t)exposure_ns;
        uint64_t eof = bof + (uint64_t)readout_ns;
        a->cur_exp_start_ns = exp_start;
        a->cur_bof_ns = bof;
        a->cur_eof_ns = eof;
        a->last_exposure_end_ns = bof;
        double period = a->overlap ? fmax(exposure_ns, readout_ns) : exposure_ns + readout_ns;
        period += a->clear_frame_ns;
        if (period < 1.0)
            period = 1.0;
        a->period_ns = period;
        if (period != base_period) {
            base_ns = next_start;
            base_n = n;
            base_period = period;
        }
        a->prev_free_ns = a->overlap ? bof : eof;
        if (a->exp_mode == EXT_TRIG_SOFTWARE_EDGE)
            next_start = 0;   /* set by the next trigger */
        else
            next_start = base_ns + (uint64_t)llround((double)(n + 1 - base_n) * period);
        /* Above SIM_COALESCE_HZ frames are handed over in groups, as a frame grabber's
         * DMA completions are: a wake-up waits for the frames that complete within the
         * next COALESCE_NS (each keeps its own timestamps), so the producer and the
         * callback thread wake once per group, not once per frame. */
        uint64_t wake = eof;
        if (period < COALESCE_NS && sim_now_ns() < eof)
            wake = eof + (uint64_t)(COALESCE_NS - period);
        if (sleep_until(cam, wake))
            break;
        n++;
        a->produced = n;
        if (a->faults.drop_every > 0 && n % a->faults.drop_every == 0)
            continue;   /* this FrameNr is lost: nothing written, nothing published */
        FRAME_INFO info;
        memset(&info, 0, sizeof info);
        info.hCam = (int16)cam->index;
        info.FrameNr = n;
        info.TimeStampBOF = to_units(bof);
        info.TimeStamp = to_units(eof);
        info.ReadoutTime = (int32)(info.TimeStamp - info.TimeStampBOF);
        uint32_t slot = (uint32_t)((uint32_t)(n - 1) % a->capacity);
        uint8_t *dst = a->buffer + (size_t)slot * a->frame_bytes;
        pthread_mutex_unlock(&cam->mtx);
        sim_cb_post(cam, PL_CALLBACK_BOF, &info);
        if (a->incremental)
            sim_frame_write_incremental(&cam->content, dst, (uint32_t)n, a->noise_seed, a->frame_stamp,
                                        &a->slots[slot]);
        else
            sim_frame_write_full(&cam->content, dst, (uint32_t)n, a->noise_seed, a->frame_stamp, NULL);
        pthread_mutex_lock(&cam->mtx);
        /* headers under the lock: a live ROI may change them meanwhile */
        sim_md_write(&a->md, dst, (uint32_t)n, exp_start, eof, exposure_ns);
        a->latest_nr = n;
        a->latest_info = info;
        pthread_mutex_unlock(&cam->mtx);
        /* drop_callback_every: the frame is complete and published, only its
         * EOF notification is lost (a lost callback, not a lost frame). */
        if (!(a->faults.drop_callback_every > 0 && n % a->faults.drop_callback_every == 0))
            sim_cb_post(cam, PL_CALLBACK_EOF, &info);
        pthread_mutex_lock(&cam->mtx);
    }
    pthread_mutex_unlock(&cam->mtx);
    return NULL;
}
