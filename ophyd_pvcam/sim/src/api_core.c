/*
 * api_core.c - library lifecycle, camera list, open/close and handle lookup.
 *
 * The camera table is static (MAX_CAM slots) so a handle lookup never needs
 * the global lock: callbacks that call back into the library only ever take
 * their camera's own mutex.  A handle is the camera's index.
 */
#include <stdio.h>
#include <string.h>

#include "sim_internal.h"

pthread_mutex_t g_lib_mtx = PTHREAD_MUTEX_INITIALIZER;
int g_initialized;
int g_cam_count;
sim_camera g_cams[MAX_CAM];
uint64_t g_epoch_ns;

static pthread_once_t g_once = PTHREAD_ONCE_INIT;

uint64_t sim_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void init_cond_monotonic(pthread_cond_t *c)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(c, &attr);
    pthread_condattr_destroy(&attr);
}

static void init_tables(void)
{
    for (int i = 0; i < MAX_CAM; i++) {
        sim_camera *c = &g_cams[i];
        c->index = i;
        pthread_mutex_init(&c->mtx, NULL);
        pthread_mutex_init(&c->cb.mtx, NULL);
        init_cond_monotonic(&c->cb.cond);
        init_cond_monotonic(&c->cb.idle_cond);
        init_cond_monotonic(&c->acq.cond);
    }
}

int sim_lib_check(void)
{
    pthread_once(&g_once, init_tables);
    if (!__atomic_load_n(&g_initialized, __ATOMIC_ACQUIRE)) {
        sim_fail(PL_ERR_LIBRARY_NOT_INITIALIZED);
        return -1;
    }
    return 0;
}

static sim_camera *lock_handle(int16 hcam, int allow_removed)
{
    if (sim_lib_check() != 0)
        return NULL;
    if (hcam < 0 || hcam >= MAX_CAM) {
        sim_fail(PL_ERR_DEVICE_HANDLE_INVALID);
        return NULL;
    }
    sim_camera *cam = &g_cams[hcam];
    pthread_mutex_lock(&cam->mtx);
    if (!cam->open) {
        pthread_mutex_unlock(&cam->mtx);
        sim_fail(PL_ERR_DEVICE_HANDLE_INVALID);
        return NULL;
    }
    if (cam->removed && !allow_removed) {
        pthread_mutex_unlock(&cam->mtx);
        sim_fail(PL_ERR_DEVICE_REMOVED);
        return NULL;
    }
    return cam;
}

sim_camera *sim_cam_lock(int16 hcam)
{
    return lock_handle(hcam, 0);
}

sim_camera *sim_cam_lock_any(int16 hcam)
{
    return lock_handle(hcam, 1);
}

void sim_cam_unlock(sim_camera *cam)
{
    pthread_mutex_unlock(&cam->mtx);
}

PV_EXPORT rs_bool pl_pvcam_get_ver(uns16 *pvcam_version)
{
    sim_clear_error();
    if (pvcam_version == NULL)
        return sim_fail(PL_ERR_NULL_POINTER);
    /* (v>>8).(v>>4 & 0xF).(v & 0xF) = 3.10.2, like the SDK we mirror. */
    *pvcam_version = 0x03A2;
    return PV_OK;
}

PV_EXPORT rs_bool pl_pvcam_init(void)
{
    sim_clear_error();
    pthread_once(&g_once, init_tables);
    pthread_mutex_lock(&g_lib_mtx);
    if (g_initialized) {
        pthread_mutex_unlock(&g_lib_mtx);
        return sim_fail(PL_ERR_LIBRARY_ALREADY_INITIALIZED);
    }
    char keys[MAX_CAM][32];
    int count = 0;
    if (sim_faults_load_env() != 0 || sim_cameras_load(keys, &count) != 0) {
        pthread_mutex_unlock(&g_lib_mtx);
        return PV_FAIL;   /* error and detail already set */
    }
    g_epoch_ns = sim_now_ns();
    for (int i = 0; i < MAX_CAM; i++) {
        sim_camera *c = &g_cams[i];
        pthread_mutex_lock(&c->mtx);
        c->exists = i < count;
        c->open = 0;
        c->removed = 0;
        c->rereg_armed = 0;
        c->model = c->exists ? sim_find_model(keys[i], strlen(keys[i])) : NULL;
        snprintf(c->name, sizeof c->name, "pvcamUSB_%d", i);
        if (c->model)
            snprintf(c->serial, sizeof c->serial, c->model->serial_fmt, c->model->serial_base + i);
        pthread_mutex_unlock(&c->mtx);
    }
    g_cam_count = count;
    __atomic_store_n(&g_initialized, 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&g_lib_mtx);
    return PV_OK;
}

/* Stops everything the camera runs and marks it closed.  Called with
 * g_lib_mtx held but not cam->mtx. */
static void close_camera(sim_camera *cam)
{
    pthread_mutex_lock(&cam->mtx);
    sim_acq_stop(cam, ACQ_NONE);
    sim_acq_release(cam);
    cam->acq.setup_valid = 0;
    cam->open = 0;
    pthread_mutex_unlock(&cam->mtx);
    sim_cb_stop(cam);
    pthread_mutex_lock(&cam->mtx);
    sim_content_free(&cam->content);
    pthread_mutex_unlock(&cam->mtx);
}

PV_EXPORT rs_bool pl_pvcam_uninit(void)
{
    sim_clear_error();
    pthread_once(&g_once, init_tables);
    pthread_mutex_lock(&g_lib_mtx);
    if (!g_initialized) {
        pthread_mutex_unlock(&g_lib_mtx);
        return sim_fail(PL_ERR_LIBRARY_NOT_INITIALIZED);
    }
    for (int i = 0; i < MAX_CAM; i++) {
        if (g_cams[i].open)
            close_camera(&g_cams[i]);
    }
    __atomic_store_n(&g_initialized, 0, __ATOMIC_RELEASE);
    g_cam_count = 0;
    pthread_mutex_unlock(&g_lib_mtx);
    return PV_OK;
}

PV_EXPORT rs_bool pl_cam_get_total(int16 *totl_cams)
{
    sim_clear_error();
    if (sim_lib_check() != 0)
        return PV_FAIL;
    if (totl_cams == NULL)
        return sim_fail(PL_ERR_NULL_POINTER);
    *totl_cams = (int16)g_cam_count;
    return PV_OK;
}

PV_EXPORT rs_bool pl_cam_get_name(int16 cam_num, char *camera_name)
{
    sim_clear_error();
    if (sim_lib_check() != 0)
        return PV_FAIL;
    if (camera_name == NULL)
        return sim_fail(PL_ERR_NULL_POINTER);
    if (cam_num < 0 || cam_num >= g_cam_count)
        return sim_fail(PL_ERR_INDEX_OUT_OF_RANGE);
    snprintf(camera_name, CAM_NAME_LEN, "%s", g_cams[cam_num].name);
    return PV_OK;
}

PV_EXPORT rs_bool pl_cam_open(char *camera_name, int16 *hcam, int16 o_mode)
{
    sim_clear_error();
    if (sim_lib_check() != 0)
        return PV_FAIL;
    if (camera_name == NULL || hcam == NULL)
        return sim_fail(PL_ERR_NULL_POINTER);
    if (o_mode != OPEN_EXCLUSIVE)
        return sim_fail(PL_ERR_MODE_INVALID);
    pthread_mutex_lock(&g_lib_mtx);
    sim_camera *cam = NULL;
    for (int i = 0; i < g_cam_count; i++) {
        if (strncmp(g_cams[i].name, camera_name, CAM_NAME_LEN) == 0)
            cam = &g_cams[i];
    }
    int rc = 0;
    if (!g_initialized)
        rc = PL_ERR_LIBRARY_NOT_INITIALIZED;
    else if (cam == NULL)
        rc = PL_ERR_DEVICE_NAME_UNKNOWN;
    else if (cam->open)
        rc = PL_ERR_DEVICE_ALREADY_OPEN;
    else if (cam->removed)
        rc = PL_ERR_DEVICE_REMOVED;
    if (rc == 0) {
        pthread_mutex_lock(&cam->mtx);
        sim_settings_defaults(cam);
        memset(cam->cb.handlers, 0, sizeof cam->cb.handlers);
        cam->acq.state = ACQ_NONE;
        cam->acq.setup_valid = 0;
        cam->acq.script_stale = 0;
        cam->acq.latest_nr = 0;
        cam->rereg_armed = 0;
        pthread_mutex_unlock(&cam->mtx);
        if (sim_cb_start(cam) != 0) {
            rc = PL_ERR_INSUFFICIENT_RESOURCES;
        } else {
            pthread_mutex_lock(&cam->mtx);
            cam->open = 1;
            pthread_mutex_unlock(&cam->mtx);
            *hcam = (int16)cam->index;
        }
    }
    pthread_mutex_unlock(&g_lib_mtx);
    return rc ? sim_fail((int16)rc) : PV_OK;
}

PV_EXPORT rs_bool pl_cam_close(int16 hcam)
{
    sim_clear_error();
    sim_camera *cam = sim_cam_lock_any(hcam);   /* a removed camera can still be closed */
    if (!cam)
        return PV_FAIL;
    sim_cam_unlock(cam);
    pthread_mutex_lock(&g_lib_mtx);
    if (cam->open)
        close_camera(cam);
    pthread_mutex_unlock(&g_lib_mtx);
    return PV_OK;
}
