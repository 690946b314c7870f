/*
 * readout.c - what the application reads back during and after an
 * acquisition: check_status / check_cont_status[_ex], the frame getters and
 * unlock_oldest_frame (reference 7.2).  Frame n lives at ((n-1) mod capacity)
 * * frame_bytes; `consumed` is the counter c of the reference.
 */
#include <math.h>

#include "sim_internal.h"

/* ------------------------------------------------------------- status */

static int16 driver_status(sim_camera *cam)
{
    const sim_acq *a = &cam->acq;
    switch (a->state) {
    case ACQ_RUNNING: {
        if (a->waiting_trigger)
            return EXPOSURE_IN_PROGRESS;
        uint64_t now = sim_now_ns();
        if (a->stalled) {
            /* keep pretending: the phase of a free-running camera */
            uint64_t phase = (uint64_t)fmod((double)(now - a->t_start_ns), a->period_ns);
            return phase < (uint64_t)a->exposure_ns ? EXPOSURE_IN_PROGRESS : READOUT_IN_PROGRESS;
        }
        return now < a->cur_bof_ns ? EXPOSURE_IN_PROGRESS : READOUT_IN_PROGRESS;
    }
    case ACQ_DONE:
        /* Complete once every frame's callbacks have run, so a client that
         * polls for completion has also seen all its EOF callbacks. */
        return sim_cb_drained(cam) ? READOUT_COMPLETE : READOUT_IN_PROGRESS;
    default:
        return READOUT_NOT_ACTIVE;
    }
}

static int has_buffer(const sim_acq *a)
{
    return a->buffer != NULL && (a->state == ACQ_RUNNING || a->state == ACQ_DONE || a->state == ACQ_STOPPED);
}

PV_EXPORT rs_bool pl_exp_check_status(int16 hcam, int16 *status, uns32 *bytes_arrived)
{
    sim_clear_error();
    if (status == NULL || bytes_arrived == NULL)
        return sim_fail(PL_ERR_NULL_POINTER);
    sim_camera *cam = sim_cam_lock(hcam);
    if (!cam)
        return PV_FAIL;
    sim_acq *a = &cam->acq;
    *status = driver_status(cam);
    if (has_buffer(a) && a->kind == ACQ_KIND_SEQ)
        *bytes_arrived = (uns32)a->latest_nr * a->frame_bytes;
    else if (has_buffer(a))
        *bytes_arrived = (uns32)(a->latest_nr % a->capacity) * a->frame_bytes;
    else
        *bytes_arrived = 0;
    sim_cam_unlock(cam);
    return PV_OK;
}

static rs_bool cont_status(int16 hcam, int16 *status, uns32 *bytes, uns32 *buffer_cnt, FRAME_INFO *info,
                           int want_info)
{
    sim_clear_error();
    if (status == NULL || bytes == NULL || buffer_cnt == NULL || (want_info && info == NULL))
        return sim_fail(PL_ERR_NULL_POINTER);
    sim_camera *cam = sim_cam_lock(hcam);
    if (!cam)
        return PV_FAIL;
    sim_acq *a = &cam->acq;
    int rc = 0;
    if (!has_buffer(a) || a->kind != ACQ_KIND_CONT) {
        rc = PL_ERR_BUFFER_SIZE_INVALID;   /* "Zero frames in buffer": nothing configured */
    } else {
        *status = driver_status(cam);
        if (a->state == ACQ_RUNNING && a->latest_nr > a->consumed)
            *status = FRAME_AVAILABLE;
        *bytes = (uns32)(a->latest_nr % a->capacity) * a->frame_bytes;
        *buffer_cnt = (uns32)a->latest_nr / a->capacity;
        if (want_info)
            *info = a->latest_info;
    }
    sim_cam_unlock(cam);
    return rc ? sim_fail((int16)rc) : PV_OK;
}

PV_EXPORT rs_bool pl_exp_check_cont_status(int16 hcam, int16 *status, uns32 *bytes_arrived, uns32 *buffer_cnt)
{
    return cont_status(hcam, status, bytes_arrived, buffer_cnt, NULL, 0);
}

PV_EXPORT rs_bool pl_exp_check_cont_status_ex(int16 hcam, int16 *status, uns32 *byte_cnt, uns32 *buffer_cnt,
                                              FRAME_INFO *frame_info)
{
    return cont_status(hcam, status, byte_cnt, buffer_cnt, frame_info, 1);
}

/* ------------------------------------------------------------ getters */

static int overrun(const sim_acq *a)
{
    return a->buffer_mode == CIRC_NO_OVERWRITE && a->consumed + (int64_t)a->capacity < a->latest_nr;
}

static rs_bool get_frame(int16 hcam, void **frame, FRAME_INFO *info, int want_info, int latest)
{
    sim_clear_error();
    if (frame == NULL || (want_info && info == NULL))
        return sim_fail(PL_ERR_NULL_POINTER);
    sim_camera *cam = sim_cam_lock(hcam);
    if (!cam)
        return PV_FAIL;
    sim_acq *a = &cam->acq;
    int rc = 0;
    if (!has_buffer(a)) {
        rc = PL_ERR_STATE_INVALID;
    } else {
        /* get_oldest_frame_ex fills the LATEST frame's info (3.10 quirk) */
        if (want_info)
            *info = a->latest_info;
        if (a->latest_nr == 0) {
            rc = PL_ERR_DATA_NOT_AVAILABLE_YET;
        } else if (overrun(a)) {
            rc = PL_ERR_BUFFER_OVERRUN;
        } else if (latest) {
            *frame = a->buffer + (size_t)((uint32_t)(a->latest_nr - 1) % a->capacity) * a->frame_bytes;
            a->consumed = a->latest_nr;
        } else {
            *frame = a->buffer + (size_t)((uint64_t)a->consumed % a->capacity) * a->frame_bytes;
        }
    }
    sim_cam_unlock(cam);
    return rc ? sim_fail((int16)rc) : PV_OK;
}

PV_EXPORT rs_bool pl_exp_get_latest_frame(int16 hcam, void **frame)
{
    return get_frame(hcam, frame, NULL, 0, 1);
}

PV_EXPORT rs_bool pl_exp_get_latest_frame_ex(int16 hcam, void **frame, FRAME_INFO *frame_info)
{
    return get_frame(hcam, frame, frame_info, 1, 1);
}

PV_EXPORT rs_bool pl_exp_get_oldest_frame(int16 hcam, void **frame)
{
    return get_frame(hcam, frame, NULL, 0, 0);
}

PV_EXPORT rs_bool pl_exp_get_oldest_frame_ex(int16 hcam, void **frame, FRAME_INFO *frame_info)
{
    return get_frame(hcam, frame, frame_info, 1, 0);
}

PV_EXPORT rs_bool pl_exp_unlock_oldest_frame(int16 hcam)
{
    sim_clear_error();
    sim_camera *cam = sim_cam_lock(hcam);
    if (!cam)
        return PV_FAIL;
    cam->acq.consumed += 1;   /* no range check, as in 3.10 */
    sim_cam_unlock(cam);
    return PV_OK;
}

