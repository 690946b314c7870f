/*
 * faults.c - opt-in fault injection and the simulator's own configuration
 * (which cameras exist), exported as pvcam_sim_* (version node PVCAM_SIM_1.0).
 *
 * Fault grammar: comma-separated items, whitespace ignored, "" clears all:
 *   reject_circ_overwrite[=0|1]  setup_cont(CIRC_OVERWRITE) succeeds, start_cont fails 185
 *   rereg_corrupts[=0|1]         registering an EOF handler over an existing one makes
 *                                the next acquisition stop after 5 frames
 *   stall_after=N                frames and callbacks stop after N frames (N >= 0)
 *   intermittent_stall=P         each acquisition stalls after 4-8 frames with probability P
 *   drop_every=N                 every Nth FrameNr is skipped (N >= 2)
 *   drop_callback_every=N        every Nth frame is delivered without its EOF callback (N >= 2)
 *   md_extended=K                metadata frames carry K extended-metadata items in the frame
 *                                header and in every ROI header (1 <= K <= 50), from the next setup
 *   unplug_after=N               camera removed after N frames (N >= 0)
 *   slow_readout=F               readout F times slower (F > 0)
 *   seed=S                       seed of the random generator (reproducible intermittent_stall)
 * The test stamp (FrameNr in the first pixel bytes, off by default) is a
 * separate switch: PVCAM_SIM_FRAME_STAMP / pvcam_sim_set_frame_stamp.
 * Values set through the API win over the environment: PVCAM_SIM_FAULTS and
 * PVCAM_SIM_CAMERAS are read at pl_pvcam_init only while no value set through
 * the corresponding pvcam_sim_set_* function is in force; passing NULL to it
 * clears that value (no faults now; the environment again from the next init).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

static pthread_mutex_t g_cfg_mtx = PTHREAD_MUTEX_INITIALIZER;
static sim_faults g_faults = {0, 0, -1, 0.0, 0, 0, 0, -1, 1.0, 0, 0};
static int g_faults_from_api;
static uint64_t g_rng = 0x9E3779B97F4A7C15ULL;
static char g_cameras_csv[512] = "prime-bsi";
static int g_cameras_from_api;
/* Test stamp: FrameNr little-endian in the first 4 pixel bytes of every frame.
 * Off by default (a real camera never puts a counter in its pixels); on with
 * PVCAM_SIM_FRAME_STAMP=1 at init or pvcam_sim_set_frame_stamp(1). */
static int g_frame_stamp;
static int g_frame_stamp_from_api;

static void faults_reset(sim_faults *f)
{
    f->reject_circ_overwrite = 0;
    f->rereg_corrupts = 0;
    f->stall_after = -1;
    f->intermittent_stall = 0.0;
    f->drop_every = 0;
    f->drop_callback_every = 0;
    f->md_extended = 0;
    f->unplug_after = -1;
    f->slow_readout = 1.0;
    f->seed = 0;
    f->has_seed = 0;
}

static int parse_long(const char *s, long min, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < min)
        return -1;
    *out = v;
    return 0;
}

static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

static int parse_flag(const char *value, int *out)
{
    if (value == NULL || strcmp(value, "1") == 0 || strcmp(value, "true") == 0 || strcmp(value, "on") == 0) {
        *out = 1;
        return 0;
    }
    if (strcmp(value, "0") == 0 || strcmp(value, "false") == 0 || strcmp(value, "off") == 0) {
        *out = 0;
        return 0;
    }
    return -1;
}

/* Parses spec into *out.  Returns 0, or fails via sim_fail_detail (164). */
static int faults_parse(const char *spec, sim_faults *out)
{
    char buf[512];
    faults_reset(out);
    if (spec == NULL)
        return 0;
    /* strip all whitespace */
    size_t n = 0;
    for (const char *p = spec; *p; p++) {
        if (!isspace((unsigned char)*p)) {
            if (n + 1 >= sizeof buf) {
                sim_fail_detail(PL_ERR_VALUE_INVALID, "fault spec too long");
                return -1;
            }
            buf[n++] = *p;
        }
    }
    buf[n] = '\0';
    char *save = NULL;
    for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *value = strchr(item, '=');
        if (value)
            *value++ = '\0';
        int bad = 0;
        if (strcmp(item, "reject_circ_overwrite") == 0) {
            bad = parse_flag(value, &out->reject_circ_overwrite);
        } else if (strcmp(item, "rereg_corrupts") == 0) {
            bad = parse_flag(value, &out->rereg_corrupts);
        } else if (strcmp(item, "stall_after") == 0) {
            bad = !value || parse_long(value, 0, &out->stall_after);
        } else if (strcmp(item, "intermittent_stall") == 0) {
            bad = !value || parse_double(value, &out->intermittent_stall) || out->intermittent_stall < 0.0 ||
                  out->intermittent_stall > 1.0;
        } else if (strcmp(item, "drop_every") == 0) {
            bad = !value || parse_long(value, 2, &out->drop_every);
        } else if (strcmp(item, "drop_callback_every") == 0) {
            bad = !value || parse_long(value, 2, &out->drop_callback_every);
        } else if (strcmp(item, "md_extended") == 0) {
            bad = !value || parse_long(value, 1, &out->md_extended) || out->md_extended > 50;
        } else if (strcmp(item, "unplug_after") == 0) {
            bad = !value || parse_long(value, 0, &out->unplug_after);
        } else if (strcmp(item, "slow_readout") == 0) {
            bad = !value || parse_double(value, &out->slow_readout) || !(out->slow_readout > 0.0) ||
                  out->slow_readout > 1e6;
        } else if (strcmp(item, "seed") == 0) {
            char *end;
            errno = 0;
            out->seed = value ? strtoull(value, &end, 10) : 0;
            bad = !value || errno || end == value || *end != '\0';
            out->has_seed = 1;
        } else {
            sim_fail_detail(PL_ERR_VALUE_INVALID,
                            "unknown fault '%s' (known: reject_circ_overwrite, rereg_corrupts, stall_after, "
                            "intermittent_stall, drop_every, drop_callback_every, md_extended, unplug_after, "
                            "slow_readout, seed)",
                            item);
            return -1;
        }
        if (bad) {
            sim_fail_detail(PL_ERR_VALUE_INVALID, "invalid value '%s' for fault '%s'", value ? value : "", item);
            return -1;
        }
    }
    return 0;
}

static void faults_format(const sim_faults *f, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
#define APPEND(...)                                                              \
    do {                                                                         \
        if (n < len) {                                                           \
            int w = snprintf(buf + n, len - n, "%s", n ? "," : "");              \
            n += (size_t)(w > 0 ? w : 0);                                        \
        }                                                                        \
        if (n < len) {                                                           \
            int w = snprintf(buf + n, len - n, __VA_ARGS__);                     \
            n += (size_t)(w > 0 ? w : 0);                                        \
        }                                                                        \
    } while (0)
    if (f->reject_circ_overwrite)
        APPEND("reject_circ_overwrite");
    if (f->rereg_corrupts)
        APPEND("rereg_corrupts");
    if (f->stall_after >= 0)
        APPEND("stall_after=%ld", f->stall_after);
    if (f->intermittent_stall > 0.0)
        APPEND("intermittent_stall=%g", f->intermittent_stall);
    if (f->drop_every > 0)
        APPEND("drop_every=%ld", f->drop_every);
    if (f->drop_callback_every > 0)
        APPEND("drop_callback_every=%ld", f->drop_callback_every);
    if (f->md_extended > 0)
        APPEND("md_extended=%ld", f->md_extended);
    if (f->unplug_after >= 0)
        APPEND("unplug_after=%ld", f->unplug_after);
    if (f->slow_readout != 1.0)
        APPEND("slow_readout=%g", f->slow_readout);
    if (f->has_seed)
        APPEND("seed=%llu", f->seed);
#undef APPEND
}

static void apply_faults(const sim_faults *f)
{
    g_faults = *f;
    if (f->has_seed)
        g_rng = f->seed ^ 0x9E3779B97F4A7C15ULL;
}

void sim_faults_snapshot(sim_faults *out)
{
    pthread_mutex_lock(&g_cfg_mtx);
    *out = g_faults;
    pthread_mutex_unlock(&g_cfg_mtx);
}

int sim_faults_load_env(void)
{
    int rc = 0;
    pthread_mutex_lock(&g_cfg_mtx);
    if (!g_frame_stamp_from_api) {
        const char *env = getenv("PVCAM_SIM_FRAME_STAMP");
        int on = 0;
        if (env && *env && parse_flag(env, &on) != 0) {
            sim_fail_detail(PL_ERR_VALUE_INVALID, "PVCAM_SIM_FRAME_STAMP must be 0/1/true/false/on/off, not '%s'",
                            env);
            rc = PL_ERR_VALUE_INVALID;
        }
        g_frame_stamp = on;
    }
    if (!g_faults_from_api) {
        sim_faults f;
        if (faults_parse(getenv("PVCAM_SIM_FAULTS"), &f) == 0)
            apply_faults(&f);
        else
            rc = PL_ERR_VALUE_INVALID;
    }
    pthread_mutex_unlock(&g_cfg_mtx);
    return rc;
}

/* splitmix64: small, fast, and reproducible from the seed. */
uint64_t sim_faults_next_random(void)
{
    pthread_mutex_lock(&g_cfg_mtx);
    uint64_t z = (g_rng += 0x9E3779B97F4A7C15ULL);
    pthread_mutex_unlock(&g_cfg_mtx);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Parses a comma-separated model list into keys; 0 or fails via sim_fail_detail. */
static int cameras_parse(const char *csv, char keys[MAX_CAM][32], int *count)
{
    int n = 0;
    const char *p = csv;
    while (*p) {
        while (*p && (isspace((unsigned char)*p) || *p == ','))
            p++;
        if (!*p)
            break;
        const char *start = p;
        while (*p && *p != ',')
            p++;
        const char *end = p;
        while (end > start && isspace((unsigned char)end[-1]))
            end--;
        size_t len = (size_t)(end - start);
        const sim_model *m = sim_find_model(start, len);
        if (!m) {
            sim_fail_detail(PL_ERR_VALUE_INVALID,
                            "unknown camera model '%.*s' (known: prime-bsi, prime-bsi-express, kinetix, prime-95b)",
                            (int)(len > 40 ? 40 : len), start);
            return -1;
        }
        if (n >= MAX_CAM) {
            sim_fail_detail(PL_ERR_VALUE_INVALID, "at most %d cameras", MAX_CAM);
            return -1;
        }
        if (keys)
            snprintf(keys[n], 32, "%s", m->key);
        n++;
    }
    *count = n;
    return 0;
}

int sim_cameras_load(char keys[MAX_CAM][32], int *count)
{
    int rc = 0;
    pthread_mutex_lock(&g_cfg_mtx);
    const char *src = g_cameras_csv;
    if (!g_cameras_from_api) {
        const char *env = getenv("PVCAM_SIM_CAMERAS");
        if (env)
            src = env;
    }
    if (cameras_parse(src, keys, count) != 0)
        rc = PL_ERR_VALUE_INVALID;
    pthread_mutex_unlock(&g_cfg_mtx);
    return rc;
}

PV_EXPORT rs_bool pvcam_sim_set_cameras(const char *csv)
{
    sim_clear_error();
    if (csv == NULL) {   /* back to PVCAM_SIM_CAMERAS / the default */
        pthread_mutex_lock(&g_cfg_mtx);
        snprintf(g_cameras_csv, sizeof g_cameras_csv, "%s", "prime-bsi");
        g_cameras_from_api = 0;
        pthread_mutex_unlock(&g_cfg_mtx);
        return PV_OK;
    }
    int count;
    if (strlen(csv) >= sizeof g_cameras_csv)
        return sim_fail_detail(PL_ERR_VALUE_INVALID, "camera list too long");
    if (cameras_parse(csv, NULL, &count) != 0)
        return PV_FAIL;
    pthread_mutex_lock(&g_cfg_mtx);
    snprintf(g_cameras_csv, sizeof g_cameras_csv, "%s", csv);
    g_cameras_from_api = 1;
    pthread_mutex_unlock(&g_cfg_mtx);
    return PV_OK;
}

PV_EXPORT rs_bool pvcam_sim_set_faults(const char *spec)
{
    sim_clear_error();
    sim_faults f;
    int from_api = spec != NULL;   /* NULL: back to PVCAM_SIM_FAULTS at the next init */
    if (faults_parse(spec ? spec : "", &f) != 0)
        return PV_FAIL;
    pthread_mutex_lock(&g_cfg_mtx);
    apply_faults(&f);
    g_faults_from_api = from_api;
    pthread_mutex_unlock(&g_cfg_mtx);
    return PV_OK;
}

PV_EXPORT rs_bool pvcam_sim_get_faults(char *buf, uns32 len)
{
    sim_clear_error();
    if (buf == NULL)
        return sim_fail(PL_ERR_NULL_POINTER);
    char tmp[512];
    sim_faults f;
    sim_faults_snapshot(&f);
    faults_format(&f, tmp, sizeof tmp);
    if (strlen(tmp) + 1 > len)
        return sim_fail(PL_ERR_BUFFER_TOO_SMALL);
    memcpy(buf, tmp, strlen(tmp) + 1);
    return PV_OK;
}

int sim_frame_stamp_enabled(void)
{
    pthread_mutex_lock(&g_cfg_mtx);
    int on = g_frame_stamp;
    pthread_mutex_unlock(&g_cfg_mtx);
    return on;
}

/* on: 1 stamp, 0 no stamp, negative: back to PVCAM_SIM_FRAME_STAMP (read at the
 * next init; no stamp until then).  Takes effect at the next acquisition start. */
PV_EXPORT rs_bool pvcam_sim_set_frame_stamp(int16 on)
{
    sim_clear_error();
    pthread_mutex_lock(&g_cfg_mtx);
    g_frame_stamp = on > 0;
    g_frame_stamp_from_api = on >= 0;
    pthread_mutex_unlock(&g_cfg_mtx);
    return PV_OK;
}

PV_EXPORT rs_bool pvcam_sim_get_frame_stamp(rs_bool *on)
{
    sim_clear_error();
    if (on == NULL)
        return sim_fail(PL_ERR_NULL_POINTER);
    *on = (rs_bool)sim_frame_stamp_enabled();
    return PV_OK;
}
