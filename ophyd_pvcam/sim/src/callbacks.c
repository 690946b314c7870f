/*
 * callbacks.c - one notification thread per open camera ("pvcam-cb-<h>")
 * and pl_cam_register_callback* / pl_cam_deregister_callback.
 *
 * The producer never blocks on this thread: it posts events into a bounded
 * queue (the oldest event is dropped if a slow callback lets SIM_CB_QUEUE
 * events pile up; FrameNr gaps then tell the client).  Register, deregister
 * and stop wait until no callback runs, as the vendor library does; from the
 * callback thread itself they do not wait (the vendor would deadlock there).
 * No camera lock is held while waiting, so callbacks may call any pl_ function.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "sim_internal.h"

typedef void (*cb_plain_fn)(void);
typedef void (*cb_ex_fn)(void *);
typedef void (*cb_ex2_fn)(const FRAME_INFO *);
typedef void (*cb_ex3_fn)(const FRAME_INFO *, void *);

static void invoke(const sim_handler *h, const FRAME_INFO *info)
{
    switch (h->flavor) {
    case SIM_CB_PLAIN:
        ((cb_plain_fn)h->fn)();
        break;
    case SIM_CB_EX:
        ((cb_ex_fn)h->fn)(h->ctx);
        break;
    case SIM_CB_EX2:
        ((cb_ex2_fn)h->fn)(info);
        break;
    case SIM_CB_EX3:
        ((cb_ex3_fn)h->fn)(info, h->ctx);
        break;
    default:
        break;
    }
}

/* Most events one wake-up of the callback thread takes from the queue. */
#define CB_GROUP 64

static void *cb_main(void *arg)
{
    sim_camera *cam = arg;
    sim_cbthread *t = &cam->cb;
    struct {
        sim_handler h;
        FRAME_INFO info;
    } group[CB_GROUP];
    pthread_mutex_lock(&t->mtx);
    for (;;) {
        while (!t->quit && (t->count == 0 || t->waiters > 0))
            pthread_cond_wait(&t->cond, &t->mtx);
        if (t->quit)
            break;
        /* Every queued event in one go (in order, each with the handler registered
         * when it is taken): one lock round trip per group of events, not per event.
         * Register/deregister wait for the whole group, as for a single callback. */
        int taken = 0;
        while (t->count > 0 && taken < CB_GROUP) {
            sim_event *ev = &t->queue[t->head];
            t->head = (t->head + 1) % SIM_CB_QUEUE;
            t->count--;
            sim_handler h = t->handlers[ev->event];
            if (h.flavor == SIM_CB_NONE)
                continue;
            group[taken].h = h;
            group[taken].info = ev->info;
            taken++;
        }
        if (taken == 0)
            continue;
        t->in_callback = 1;
        pthread_mutex_unlock(&t->mtx);
        for (int i = 0; i < taken; i++)
            invoke(&group[i].h, &group[i].info);
        pthread_mutex_lock(&t->mtx);
        t->in_callback = 0;
        pthread_cond_broadcast(&t->idle_cond);
    }
    t->in_callback = 0;
    pthread_cond_broadcast(&t->idle_cond);
    pthread_mutex_unlock(&t->mtx);
    return NULL;
}

int sim_cb_start(sim_camera *cam)
{
    sim_cbthread *t = &cam->cb;
    pthread_mutex_lock(&t->mtx);
    t->quit = 0;
    t->in_callback = 0;
    t->waiters = 0;
    t->head = t->count = 0;
    t->dropped = 0;
    memset(t->handlers, 0, sizeof t->handlers);
    int rc = pthread_create(&t->thread, NULL, cb_main, cam);
    if (rc == 0) {
        char name[16];
        snprintf(name, sizeof name, "pvcam-cb-%d", cam->index);
        pthread_setname_np(t->thread, name);
        t->running = 1;
    }
    pthread_mutex_unlock(&t->mtx);
    return rc;
}

int sim_cb_is_callback_thread(sim_camera *cam)
{
    return cam->cb.running && pthread_equal(pthread_self(), cam->cb.thread);
}

void sim_cb_stop(sim_camera *cam)
{
    sim_cbthread *t = &cam->cb;
    pthread_mutex_lock(&t->mtx);
    if (!t->running) {
        pthread_mutex_unlock(&t->mtx);
        return;
    }
    int self = pthread_equal(pthread_self(), t->thread);
    t->quit = 1;
    t->running = 0;
    t->count = 0;
    memset(t->handlers, 0, sizeof t->handlers);
    pthread_t th = t->thread;
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->mtx);
    if (self)
        pthread_detach(th);   /* closed from inside a callback: the thread ends when it returns */
    else
        pthread_join(th, NULL);
}

/* Waits (with t->mtx held) until no callback runs; not from the callback thread. */
static void wait_idle_locked(sim_cbthread *t)
{
    if (pthread_equal(pthread_self(), t->thread))
        return;
    t->waiters++;
    while (t->in_callback)
        pthread_cond_wait(&t->idle_cond, &t->mtx);
    t->waiters--;
}

int sim_cb_drained(sim_camera *cam)
{
    sim_cbthread *t = &cam->cb;
    pthread_mutex_lock(&t->mtx);
    int self = t->running && pthread_equal(pthread_self(), t->thread);
    int drained = t->count == 0 && (!t->in_callback || self);
    pthread_mutex_unlock(&t->mtx);
    return drained;
}

void sim_cb_post(sim_camera *cam, int32 event, const FRAME_INFO *info)
{
    sim_cbthread *t = &cam->cb;
    pthread_mutex_lock(&t->mtx);
    if (t->running && t->handlers[event].flavor != SIM_CB_NONE) {
        if (t->count == SIM_CB_QUEUE) {
            t->head = (t->head + 1) % SIM_CB_QUEUE;
            t->count--;
            t->dropped++;
        }
        sim_event *ev = &t->queue[(t->head + t->count) % SIM_CB_QUEUE];
        ev->event = event;
        ev->info = *info;
        t->count++;
        pthread_cond_signal(&t->cond);
    }
    pthread_mutex_unlock(&t->mtx);
}

void sim_cb_flush_and_wait(sim_camera *cam)
{
    sim_cbthread *t = &cam->cb;
    pthread_mutex_lock(&t->mtx);
    t->count = 0;
    if (t->running)
        wait_idle_locked(t);
    pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->mtx);
}

static rs_bool do_register(int16 hcam, int32 event, void *fn, void *ctx, int flavor)
{
    sim_clear_error();
    sim_camera *cam = sim_cam_lock(hcam);
    if (!cam)
        return PV_FAIL;
    sim_cam_unlock(cam);
    if (fn == NULL && flavor != SIM_CB_NONE)
        return sim_fail(PL_ERR_NULL_POINTER);
    if (event < 0 || event >= PL_CALLBACK_MAX)
        return sim_fail(PL_ERR_VALUE_INVALID);
    if (event == PL_CALLBACK_CHECK_CAMS || event == PL_CALLBACK_CAM_RESUMED)
        return sim_fail(PL_ERR_NOT_IMPLEMENTED);
    sim_cbthread *t = &cam->cb;
    pthread_mutex_lock(&t->mtx);
    wait_idle_locked(t);
    int replaced = t->handlers[event].flavor != SIM_CB_NONE && flavor != SIM_CB_NONE;
    t->handlers[event].flavor = flavor;
    t->handlers[event].fn = fn;
    t->handlers[event].ctx = ctx;
    pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->mtx);
    if (replaced && event == PL_CALLBACK_EOF) {
        sim_faults f;
        sim_faults_snapshot(&f);
        if (f.rereg_corrupts) {
            pthread_mutex_lock(&cam->mtx);
            cam->rereg_armed = 1;
            pthread_mutex_unlock(&cam->mtx);
        }
    }
    return PV_OK;
}

PV_EXPORT rs_bool pl_cam_register_callback(int16 hcam, int32 callback_event, void *callback)
{
    return do_register(hcam, callback_event, callback, NULL, SIM_CB_PLAIN);
}

PV_EXPORT rs_bool pl_cam_register_callback_ex(int16 hcam, int32 callback_event, void *callback, void *context)
{
    return do_register(hcam, callback_event, callback, context, SIM_CB_EX);
}

PV_EXPORT rs_bool pl_cam_register_callback_ex2(int16 hcam, int32 callback_event, void *callback)
{
    return do_register(hcam, callback_event, callback, NULL, SIM_CB_EX2);
}

PV_EXPORT rs_bool pl_cam_register_callback_ex3(int16 hcam, int32 callback_event, void *callback, void *context)
{
    return do_register(hcam, callback_event, callback, context, SIM_CB_EX3);
}

PV_EXPORT rs_bool pl_cam_deregister_callback(int16 hcam, int32 callback_event)
{
    return do_register(hcam, callback_event, NULL, NULL, SIM_CB_NONE);
}
