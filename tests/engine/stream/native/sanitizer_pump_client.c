/*
 * sanitizer_pump_client.c - runs the native frame pump on the simulator,
 * both built with the same sanitizer (see test_build.py): callbacks and
 * polling, both buffer modes, a full host ring, an overrun with a restart,
 * faults (skipped FrameNrs), salvage after stop, frames in place (a block
 * held while the camera laps the buffer, one held across stop and salvage,
 * frames a stuck reader left copied out), and destruction.  Any
 * sanitizer report, or a nonzero exit, fails the test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pump.h"

typedef unsigned short rs_bool;
typedef struct { uint16_t s1, s2, sbin, p1, p2, pbin; } rgn_type;

rs_bool pl_pvcam_init(void);
rs_bool pl_pvcam_uninit(void);
rs_bool pl_cam_get_name(int16_t, char *);
rs_bool pl_cam_open(char *, int16_t *, int16_t);
rs_bool pl_cam_close(int16_t);
rs_bool pl_exp_setup_cont(int16_t, uint16_t, const rgn_type *, int16_t, uint32_t, uint32_t *,
                          int16_t);
rs_bool pl_exp_start_cont(int16_t, void *, uint32_t);
rs_bool pl_exp_stop_cont(int16_t, int16_t);
rs_bool pl_exp_check_cont_status_ex(int16_t, int16_t *, uint32_t *, uint32_t *, pvp_frame_info *);
rs_bool pl_exp_get_oldest_frame(int16_t, void **);
rs_bool pl_exp_unlock_oldest_frame(int16_t);
rs_bool pl_cam_register_callback_ex3(int16_t, int32_t, void *, void *);
rs_bool pl_cam_deregister_callback(int16_t, int32_t);
int16_t pl_error_code(void);
rs_bool pvcam_sim_set_faults(const char *);

/* exported by libpvcam_pump.so */
int pvp_create(const pvp_sdk *, const pvp_config *, pvp_pump **);
int pvp_register_eof(pvp_pump *, int32_t);
int pvp_deregister_eof(pvp_pump *, int32_t);
int pvp_start(pvp_pump *);
int pvp_pause(pvp_pump *, double);
void pvp_resume(pvp_pump *);
void pvp_new_epoch(pvp_pump *, int64_t, int64_t);
int64_t pvp_salvage_frames(pvp_pump *, int64_t);
void pvp_finish(pvp_pump *);
void pvp_sdk_stopped(pvp_pump *, int64_t, int32_t);
int64_t pvp_take(pvp_pump *, double, int64_t, uint64_t *);
int pvp_release(pvp_pump *, uint64_t, uint64_t);
int pvp_wait_event(pvp_pump *, double);
int pvp_pop_losses(pvp_pump *, pvp_loss *, int);
void pvp_get_counters(pvp_pump *, pvp_counters *);
int pvp_destroy(pvp_pump *);

static int failures;
#define CHECK(cond)                                                           \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "%s:%d check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                       \
        }                                                                     \
    } while (0)

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Most frames one pvp_take asks for (0: all available), and the ring bytes
 * the last run gave back to the kernel. */
static uint64_t take_limit = 7;
static int64_t last_trimmed;

/* One acquisition drained by a pump; returns frames taken. */
static int64_t run(int16_t h, int mode, int callbacks, uint64_t sdk_frames, uint64_t ring_frames,
                   int hold_ms, int restart, int zero_copy, int inplace)
{
    rgn_type roi = {0, 63, 1, 0, 31, 1};
    uint32_t fb = 0;
    CHECK(pl_exp_setup_cont(h, 1, &roi, 1792, 1, &fb, (int16_t)mode));
    uint8_t *sdk_buffer = calloc(sdk_frames, fb);
    pvp_sdk sdk = {pl_exp_get_oldest_frame, pl_exp_unlock_oldest_frame,
                   pl_exp_check_cont_status_ex, pl_cam_register_callback_ex3,
                   pl_cam_deregister_callback, pl_error_code};
    pvp_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.hcam = h;
    cfg.use_callbacks = callbacks;
    cfg.overwrite_mode = mode == 1;
    cfg.sdk_buffer = sdk_buffer;
    cfg.sdk_frames = sdk_frames;
    cfg.frame_bytes = fb;
    cfg.ring_frames = ring_frames;
    cfg.poll_interval_ns = 500000;
    cfg.safety_interval_ns = 50000000;
    cfg.refresh_ns = 100000;
    cfg.lag_margin = 4;
    cfg.zero_copy = zero_copy;
    cfg.inplace = inplace;
    cfg.coalesce_ns = inplace ? 1000000 : 0;
    cfg.max_frames = zero_copy ? (int64_t)sdk_frames / 2 : 0;  /* a burst that fits */
    pvp_pump *p = NULL;
    CHECK(pvp_create(&sdk, &cfg, &p) == 0);
    if (p == NULL)
        return 0;
    if (callbacks)
        CHECK(pvp_register_eof(p, 1) == 0);
    CHECK(pl_exp_start_cont(h, sdk_buffer, (uint32_t)(sdk_frames * fb)));
    CHECK(pvp_start(p) == 0);
    int64_t taken = 0;
    uint64_t held_seq = 0;
    int64_t held = 0;
    for (int i = 0; i < 200; i++) {
        uint64_t seq;
        int64_t n = pvp_take(p, 0.01, take_limit, &seq);
        if (n > 0 && inplace && held == 0) {
            held_seq = seq;  /* kept across everything below, released after the stop */
            held = n;
            taken += n;
            continue;
        }
        if (n > 0) {
            if (hold_ms && i == 5)
                sleep_ms(hold_ms);  /* the ring fills, the SDK buffer wraps */
            CHECK(pvp_release(p, seq, (uint64_t)n) == 0);
            taken += n;
        }
        int ev = pvp_wait_event(p, 0);
        pvp_loss losses[64];
        pvp_pop_losses(p, losses, 64);
        if ((ev & PVP_EV_OVERRUN) && restart) {
            CHECK(pvp_pause(p, 5.0) == 0);
            CHECK(pl_exp_stop_cont(h, 0));
            pvp_new_epoch(p, 1000, 0);
            CHECK(pl_exp_setup_cont(h, 1, &roi, 1792, 1, &fb, (int16_t)mode));
            CHECK(pl_exp_start_cont(h, sdk_buffer, (uint32_t)(sdk_frames * fb)));
            pvp_resume(p);
        }
    }
    CHECK(pvp_pause(p, 5.0) == 0);
    pvp_frame_info info;
    int16_t st;
    uint32_t b, c;
    memset(&info, 0, sizeof info);
    CHECK(pl_exp_check_cont_status_ex(h, &st, &b, &c, &info));
    CHECK(pl_exp_stop_cont(h, 0));
    pvp_sdk_stopped(p, info.frame_nr, 1);
    pvp_salvage_frames(p, info.frame_nr);
    pvp_finish(p);
    if (held) {
        /* the held frames, read where they are (the SDK buffer, or the host ring
         * when the pump copied them out for a stuck reader) */
        int64_t s0 = p->ring.sdk_seq[held_seq % p->ring.frames];
        const uint8_t *pixels = s0 >= 0 ? sdk_buffer + (uint64_t)s0 % sdk_frames * fb
                                        : p->ring.data + held_seq % p->ring.frames * fb;
        unsigned sum = 0;
        for (uint64_t k = 0; k < (uint64_t)held * fb; k++)
            sum += pixels[k];
        CHECK(sum > 0);
        CHECK(pvp_release(p, held_seq, (uint64_t)held) == 0);
        CHECK(pvp_release(p, held_seq, (uint64_t)held) != 0);  /* twice: refused */
    }
    for (;;) {
        uint64_t seq;
        int64_t n = pvp_take(p, 0.5, 0, &seq);
        if (n <= 0)
            break;
        CHECK(pvp_release(p, seq, (uint64_t)n) == 0);
        taken += n;
    }
    pvp_counters counters;
    pvp_get_counters(p, &counters);
    CHECK(counters.frames_delivered == taken);
    last_trimmed = counters.ring_trimmed_bytes;
    if (callbacks)
        CHECK(pvp_destroy(p) != 0);  /* refused while the callback is registered */
    CHECK(pvp_deregister_eof(p, 1) == 0);
    CHECK(pvp_destroy(p) == 0);
    free(sdk_buffer);
    printf("mode %d callbacks %d: %lld frames\n", mode, callbacks, (long long)taken);
    return taken;
}

int main(void)
{
    int16_t h;
    char name[32];
    CHECK(pvcam_sim_set_faults(""));
    CHECK(pl_pvcam_init());
    CHECK(pl_cam_get_name(0, name));
    CHECK(pl_cam_open(name, &h, 0));
    CHECK(run(h, 1, 1, 64, 256, 0, 0, 0, 0) > 0);
    CHECK(run(h, 1, 0, 64, 256, 0, 0, 0, 0) > 0);
    CHECK(run(h, 1, 1, 16, 4, 100, 0, 0, 0) > 0);   /* full ring, overwritten frames */
    CHECK(run(h, 2, 1, 8, 2, 100, 1, 0, 0) > 0);    /* overrun and restart */
    CHECK(run(h, 2, 0, 8, 2, 100, 1, 0, 0) > 0);
    CHECK(run(h, 1, 1, 4096, 1, 0, 0, 1, 0) > 0);   /* zero-copy burst */
    CHECK(run(h, 1, 1, 64, 4096, 0, 0, 0, 0) > 0);  /* a ring larger than the SDK buffer */
    take_limit = 0;  /* a reader stopped 3 s walks the ring; caught up, its pages are trimmed */
    CHECK(run(h, 1, 1, 4096, 8192, 3000, 0, 0, 0) > 0);
    CHECK(last_trimmed > 0);
    take_limit = 7;
    CHECK(run(h, 1, 1, 256, 4096, 0, 0, 0, 1) > 0); /* in place, a block held to the end */
    CHECK(run(h, 1, 0, 256, 4096, 0, 0, 0, 1) > 0); /* in place, polling */
    CHECK(run(h, 1, 1, 32, 4096, 100, 0, 0, 1) > 0); /* in place: laps while held, rescues */
    CHECK(run(h, 2, 1, 16, 8, 100, 1, 0, 1) > 0);   /* in place: overrun, restart */
    CHECK(pvcam_sim_set_faults("drop_every=3"));
    CHECK(run(h, 1, 1, 64, 256, 0, 0, 0, 0) > 0);   /* gaps */
    CHECK(run(h, 1, 1, 4096, 1, 0, 0, 1, 0) > 0);   /* gaps in a zero-copy burst */
    CHECK(run(h, 1, 1, 64, 4096, 0, 0, 0, 1) > 0);  /* gaps in place */
    CHECK(pvcam_sim_set_faults(""));
    CHECK(pl_cam_close(h));
    CHECK(pl_pvcam_uninit());
    printf("client done: %d failures\n", failures);
    return failures ? 1 : 0;
}
