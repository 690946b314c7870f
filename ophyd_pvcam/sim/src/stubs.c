/*
 * stubs.c - the rest of the export table: FRAME_INFO allocation,
 * post-processing reset, IO scripts (frame metadata is in metadata.c), the
 * undocumented internal commands
 * (155) and a working pvcam_event_* implementation (their prototypes are not
 * public; nothing known calls them).
 */
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

static rs_bool check_handle(int16 hcam)
{
    sim_camera *cam = sim_cam_lock(hcam);
    if (!cam)
        return PV_FAIL;
    sim_cam_unlock(cam);
    return PV_OK;
}

PV_EXPORT rs_bool pl_pp_reset(int16 hcam)
{
    sim_clear_error();
    return check_handle(hcam);   /* no post-processing features to reset */
}

/* 3.10 simply calloc()s the struct; the GUID stays zero (reference 4). */
PV_EXPORT rs_bool pl_create_frame_info_struct(FRAME_INFO **new_frame)
{
    sim_clear_error();
    if (new_frame == NULL)
        return sim_fail(PL_ERR_NULL_POINTER);
    *new_frame = calloc(1, sizeof(FRAME_INFO));
    return *new_frame ? PV_OK : sim_fail(PL_ERR_INSUFFICIENT_RESOURCES);
}

PV_EXPORT rs_bool pl_release_frame_info_struct(FRAME_INFO *frame_to_delete)
{
    sim_clear_error();
    if (frame_to_delete == NULL)
        return sim_fail(PL_ERR_NULL_POINTER);
    free(frame_to_delete);
    return PV_OK;
}

PV_EXPORT rs_bool pl_io_script_control(int16 hcam, uns16 addr, flt64 state, uns32 location)
{
    (void)addr;
    (void)state;
    (void)location;
    sim_clear_error();
    if (!check_handle(hcam))
        return PV_FAIL;
    return sim_fail(PL_ERR_NOT_IMPLEMENTED);
}

PV_EXPORT rs_bool pl_io_clear_script_control(int16 hcam)
{
    sim_clear_error();
    return check_handle(hcam);
}

/* ---- undocumented internal commands ---- */

PV_EXPORT rs_bool pl_internal_bridge_command(int16 hcam, void *cmd, uns32 cmd_size, void *reply, uns32 reply_size)
{
    (void)hcam;
    (void)cmd;
    (void)cmd_size;
    (void)reply;
    (void)reply_size;
    sim_clear_error();
    return sim_fail(PL_ERR_NOT_IMPLEMENTED);
}

PV_EXPORT rs_bool pl_internal_cam_write_read_passthrough(int16 hcam, uns16 wlen, uns8 *wbuf, uns16 rlen, uns8 *rbuf)
{
    (void)hcam;
    (void)wlen;
    (void)wbuf;
    (void)rlen;
    (void)rbuf;
    sim_clear_error();
    return sim_fail(PL_ERR_NOT_IMPLEMENTED);
}

PV_EXPORT rs_bool pl_internal_cam_diag_command(int16 hcam, void *cmd, uns32 cmd_size, void *reply, uns32 reply_size)
{
    (void)hcam;
    (void)cmd;
    (void)cmd_size;
    (void)reply;
    (void)reply_size;
    sim_clear_error();
    return sim_fail(PL_ERR_NOT_IMPLEMENTED);
}

/* ---- events: a manual-reset event on a mutex and a monotonic condition ---- */

typedef struct sim_pv_event {
    pthread_mutex_t mtx;
    pthread_cond_t cond;
    int signaled;
} sim_pv_event;

PV_EXPORT void *pvcam_event_create(void)
{
    sim_pv_event *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_mutex_init(&e->mtx, NULL);
    pthread_cond_init(&e->cond, &attr);
    pthread_condattr_destroy(&attr);
    return e;
}

PV_EXPORT void pvcam_event_destroy(void *event)
{
    sim_pv_event *e = event;
    if (!e)
        return;
    pthread_mutex_destroy(&e->mtx);
    pthread_cond_destroy(&e->cond);
    free(e);
}

PV_EXPORT const char *pvcam_event_name(void *event)
{
    return event ? "pvcam-sim-event" : "";
}

PV_EXPORT rs_bool pvcam_event_reset(void *event)
{
    sim_pv_event *e = event;
    if (!e)
        return PV_FAIL;
    pthread_mutex_lock(&e->mtx);
    e->signaled = 0;
    pthread_mutex_unlock(&e->mtx);
    return PV_OK;
}

PV_EXPORT rs_bool pvcam_event_set(void *event)
{
    sim_pv_event *e = event;
    if (!e)
        return PV_FAIL;
    pthread_mutex_lock(&e->mtx);
    e->signaled = 1;
    pthread_cond_broadcast(&e->cond);
    pthread_mutex_unlock(&e->mtx);
    return PV_OK;
}

PV_EXPORT rs_bool pvcam_event_wait_single(void *event, uns32 timeout_ms)
{
    sim_pv_event *e = event;
    if (!e)
        return PV_FAIL;
    uint64_t deadline = sim_now_ns() + (uint64_t)timeout_ms * 1000000ULL;
    struct timespec ts = {(time_t)(deadline / 1000000000ULL), (long)(deadline % 1000000000ULL)};
    pthread_mutex_lock(&e->mtx);
    int rc = 0;
    while (!e->signaled && rc == 0)
        rc = pthread_cond_timedwait(&e->cond, &e->mtx, &ts);
    int ok = e->signaled;
    pthread_mutex_unlock(&e->mtx);
    return ok ? PV_OK : PV_FAIL;
}
