/*
 * sanitizer_client.c - drives the simulator through init, parameters,
 * sequence, continuous (both buffer modes, callbacks calling back into the
 * library), software trigger, faults, frame metadata with several regions,
 * smart streaming and live settings, and uninit with acquisitions running.
 * Built with the same sanitizer as the library by test_sanitizer.py; any
 * report from the sanitizer (or a nonzero exit) fails the test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef unsigned short rs_bool;
typedef short int16;
typedef unsigned short uns16;
typedef int int32;
typedef unsigned int uns32;
typedef struct { uns16 s1, s2, sbin, p1, p2, pbin; } rgn_type;
typedef struct {
    unsigned char guid[16];
    int16 hCam;
    int32 FrameNr;
    long long TimeStamp;
    int32 ReadoutTime;
    long long TimeStampBOF;
} FRAME_INFO;
typedef struct { uns16 entries; uns32 *params; } smart_stream_type;

rs_bool pl_pvcam_init(void);
rs_bool pl_pvcam_uninit(void);
rs_bool pl_cam_get_total(int16 *);
rs_bool pl_cam_get_name(int16, char *);
rs_bool pl_cam_open(char *, int16 *, int16);
rs_bool pl_cam_close(int16);
rs_bool pl_get_param(int16, uns32, int16, void *);
rs_bool pl_set_param(int16, uns32, void *);
rs_bool pl_get_enum_param(int16, uns32, uns32, int32 *, char *, uns32);
rs_bool pl_enum_str_length(int16, uns32, uns32, uns32 *);
rs_bool pl_exp_setup_seq(int16, uns16, uns16, const rgn_type *, int16, uns32, uns32 *);
rs_bool pl_exp_start_seq(int16, void *);
rs_bool pl_exp_check_status(int16, int16 *, uns32 *);
rs_bool pl_exp_finish_seq(int16, void *, int16);
rs_bool pl_exp_setup_cont(int16, uns16, const rgn_type *, int16, uns32, uns32 *, int16);
rs_bool pl_exp_start_cont(int16, void *, uns32);
rs_bool pl_exp_check_cont_status_ex(int16, int16 *, uns32 *, uns32 *, FRAME_INFO *);
rs_bool pl_exp_get_latest_frame_ex(int16, void **, FRAME_INFO *);
rs_bool pl_exp_get_oldest_frame_ex(int16, void **, FRAME_INFO *);
rs_bool pl_exp_unlock_oldest_frame(int16);
rs_bool pl_exp_abort(int16, int16);
rs_bool pl_exp_stop_cont(int16, int16);
rs_bool pl_exp_trigger(int16, uns32 *, uns32);
rs_bool pl_cam_register_callback_ex3(int16, int32, void *, void *);
rs_bool pl_cam_deregister_callback(int16, int32);
rs_bool pl_create_frame_info_struct(FRAME_INFO **);
rs_bool pl_release_frame_info_struct(FRAME_INFO *);
rs_bool pl_create_smart_stream_struct(smart_stream_type **, uns16);
rs_bool pl_release_smart_stream_struct(smart_stream_type **);
rs_bool pl_md_create_frame_struct_cont(void **, uns16);
rs_bool pl_md_create_frame_struct(void **, void *, uns32);
rs_bool pl_md_frame_decode(void *, void *, uns32);
rs_bool pl_md_frame_recompose(void *, uns16, uns16, uns16, uns16, void *);
rs_bool pl_md_read_extended(void *, void *, uns32);
rs_bool pl_md_release_frame_struct(void *);
int16 pl_error_code(void);
rs_bool pl_error_message(int16, char *);
rs_bool pvcam_sim_set_cameras(const char *);
rs_bool pvcam_sim_set_faults(const char *);

#define PARAM_READOUT_PORT 0x090200F7u
#define PARAM_EXP_RES 0x09030002u
#define PARAM_TEMP 0x0102020Du
#define PARAM_CHIP_NAME 0x0D020081u
#define PARAM_FRAME_BUFFER_SIZE 0x0803012Cu
#define PARAM_METADATA_ENABLED 0x0B0300A8u
#define PARAM_SMART_STREAM_MODE_ENABLED 0x0B0202BCu
#define PARAM_SMART_STREAM_EXP_PARAMS 0x0E0202BEu
#define PARAM_EXPOSURE_TIME 0x08030008u
#define PARAM_ROI 0x14030001u

static int failures;

#define CHECK(call)                                                                   \
    do {                                                                              \
        if (!(call)) {                                                                \
            char msg[256];                                                            \
            pl_error_message(pl_error_code(), msg);                                   \
            fprintf(stderr, "%s:%d %s failed: %s\n", __FILE__, __LINE__, #call, msg); \
            failures++;                                                               \
        }                                                                             \
    } while (0)

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void on_eof(const FRAME_INFO *fi, void *ctx)
{
    void *addr;
    FRAME_INFO latest;
    pl_exp_get_latest_frame_ex(fi->hCam, &addr, &latest);
    (*(int *)ctx)++;
}

static void wait_frames(int16 h, int n)
{
    for (int i = 0; i < 5000; i++) {
        int16 st;
        uns32 b, c;
        FRAME_INFO fi;
        if (pl_exp_check_cont_status_ex(h, &st, &b, &c, &fi) && fi.FrameNr >= n)
            return;
        sleep_ms(1);
    }
    fprintf(stderr, "timeout waiting for frame %d\n", n);
    failures++;
}

/* Wait until a sequence's status is READOUT_COMPLETE (3). */
static void wait_sequence(int16 h)
{
    for (int i = 0; i < 5000; i++) {
        int16 st;
        uns32 arrived;
        CHECK(pl_exp_check_status(h, &st, &arrived));
        if (st == 3)
            return;
        sleep_ms(1);
    }
    fprintf(stderr, "timeout waiting for the sequence of camera %d\n", h);
    failures++;
}

int main(void)
{
    CHECK(pvcam_sim_set_cameras("prime-bsi,kinetix"));
    CHECK(pvcam_sim_set_faults(""));
    CHECK(pl_pvcam_init());
    int16 total, h0, h1;
    char name[32];
    CHECK(pl_cam_get_total(&total));
    CHECK(pl_cam_get_name(0, name));
    CHECK(pl_cam_open(name, &h0, 0));
    CHECK(pl_cam_open("pvcamUSB_1", &h1, 0));

    char chip[64];
    CHECK(pl_get_param(h0, PARAM_CHIP_NAME, 0, chip));
    uns32 count = 0;
    CHECK(pl_get_param(h1, PARAM_READOUT_PORT, 1, &count));
    for (uns32 i = 0; i < count; i++) {
        uns32 len;
        int32 v;
        CHECK(pl_enum_str_length(h1, PARAM_READOUT_PORT, i, &len));
        char *desc = malloc(len);
        CHECK(pl_get_enum_param(h1, PARAM_READOUT_PORT, i, &v, desc, len));
        CHECK(pl_get_enum_param(h1, PARAM_READOUT_PORT, i, &v, NULL, 0));
        free(desc);
    }
    int32 port = 1, res = 1;
    CHECK(pl_set_param(h1, PARAM_READOUT_PORT, &port));
    CHECK(pl_set_param(h1, PARAM_EXP_RES, &res));

    /* sequence */
    rgn_type r = {0, 127, 1, 0, 127, 1};
    uns32 bytes;
    CHECK(pl_exp_setup_seq(h0, 5, 1, &r, 1792, 1, &bytes));
    unsigned long long fbs;
    CHECK(pl_get_param(h0, PARAM_FRAME_BUFFER_SIZE, 5, &fbs));
    void *seq = malloc(bytes);
    CHECK(pl_exp_start_seq(h0, seq));
    wait_sequence(h0);
    CHECK(pl_exp_finish_seq(h0, seq, 0));
    free(seq);

    /* continuous, both cameras, callbacks calling back */
    int calls0 = 0, calls1 = 0;
    CHECK(pl_cam_register_callback_ex3(h0, 1, (void *)on_eof, &calls0));
    CHECK(pl_cam_register_callback_ex3(h1, 1, (void *)on_eof, &calls1));
    rgn_type small = {0, 63, 1, 0, 63, 1};
    uns32 fb0, fb1;
    CHECK(pl_exp_setup_cont(h0, 1, &small, 1792, 0, &fb0, 2));
    CHECK(pl_exp_setup_cont(h1, 1, &small, 1792, 0, &fb1, 1));
    void *b0 = malloc(fb0 * 4), *b1 = malloc(fb1 * 16);
    CHECK(pl_exp_start_cont(h0, b0, fb0 * 4));
    CHECK(pl_exp_start_cont(h1, b1, fb1 * 16));
    wait_frames(h0, 3);
    void *addr;
    FRAME_INFO fi;
    for (int i = 0; i < 3; i++) {
        if (pl_exp_get_oldest_frame_ex(h0, &addr, &fi))
            pl_exp_unlock_oldest_frame(h0);
    }
    wait_frames(h1, 200);
    CHECK(pl_exp_stop_cont(h0, 1));
    CHECK(pl_exp_abort(h1, 1));
    CHECK(pl_cam_deregister_callback(h0, 1));

    /* software trigger */
    CHECK(pl_exp_setup_cont(h0, 1, &small, 3072, 1, &fb0, 1));
    CHECK(pl_exp_start_cont(h0, b0, fb0 * 4));
    for (int n = 1; n <= 3; n++) {
        uns32 flags = 0;
        CHECK(pl_exp_trigger(h0, &flags, 0));
        wait_frames(h0, n);
    }
    CHECK(pl_exp_abort(h0, 1));

    /* faults: stall, drop, unplug */
    CHECK(pvcam_sim_set_faults("stall_after=2,drop_every=2"));
    CHECK(pl_exp_setup_cont(h0, 1, &small, 1792, 0, &fb0, 1));
    CHECK(pl_exp_start_cont(h0, b0, fb0 * 4));
    sleep_ms(20);
    CHECK(pl_exp_abort(h0, 1));
    CHECK(pvcam_sim_set_faults("unplug_after=2"));
    CHECK(pl_exp_start_cont(h0, b0, fb0 * 4));
    sleep_ms(20);
    pl_exp_abort(h0, 1);   /* fails with 180 by design */
    CHECK(pl_cam_close(h0));
    CHECK(pvcam_sim_set_faults(NULL));

    /* helper structs */
    FRAME_INFO *pfi;
    CHECK(pl_create_frame_info_struct(&pfi));
    CHECK(pl_release_frame_info_struct(pfi));
    smart_stream_type *ss;
    CHECK(pl_create_smart_stream_struct(&ss, 4));
    CHECK(pl_release_smart_stream_struct(&ss));
    void *md;
    CHECK(pl_md_create_frame_struct_cont(&md, 3));
    CHECK(pl_md_release_frame_struct(md));

    /* metadata, two regions, smart streaming (Kinetix, Dynamic Range port) */
    int32 dynamic_range = 2;
    rs_bool on = 1;
    CHECK(pl_set_param(h1, PARAM_READOUT_PORT, &dynamic_range));
    CHECK(pl_set_param(h1, PARAM_METADATA_ENABLED, &on));
    uns32 exposures[2] = {1, 2};
    smart_stream_type smart = {2, exposures};
    CHECK(pl_set_param(h1, PARAM_SMART_STREAM_EXP_PARAMS, &smart));
    CHECK(pl_set_param(h1, PARAM_SMART_STREAM_MODE_ENABLED, &on));
    uns32 readback[16];
    smart_stream_type got = {16, readback};
    CHECK(pl_get_param(h1, PARAM_SMART_STREAM_EXP_PARAMS, 0, &got));
    rgn_type two[2] = {{0, 63, 1, 0, 31, 1}, {100, 131, 1, 100, 131, 1}};
    uns32 mdbytes;
    CHECK(pl_exp_setup_seq(h1, 4, 2, two, 1792, 1, &mdbytes));
    unsigned char *mdseq = malloc(mdbytes);
    CHECK(pl_exp_start_seq(h1, mdseq));
    wait_sequence(h1);
    CHECK(pl_exp_finish_seq(h1, mdseq, 0));
    uns32 one = mdbytes / 4;
    unsigned short *image = calloc(132u * 132u, sizeof *image);
    for (int i = 0; i < 4; i++) {
        void *decoded;
        CHECK(pl_md_create_frame_struct(&decoded, mdseq + (size_t)i * one, one));
        CHECK(pl_md_frame_decode(decoded, mdseq + (size_t)i * one, one));
        CHECK(pl_md_frame_recompose(image, 0, 0, 132, 132, decoded));
        CHECK(pl_md_release_frame_struct(decoded));
    }
    void *short_frame;
    CHECK(pl_md_create_frame_struct_cont(&short_frame, 2));
    if (pl_md_frame_decode(short_frame, mdseq, one - 1))   /* must fail: cut frame */
        failures++;
    unsigned char ext[5] = {0, 1, 2, 3, 4};
    unsigned char items[6128];
    CHECK(pl_md_read_extended(items, ext, sizeof ext));
    CHECK(pl_md_release_frame_struct(short_frame));
    free(image);
    free(mdseq);
    on = 0;
    CHECK(pl_set_param(h1, PARAM_SMART_STREAM_MODE_ENABLED, &on));

    /* live exposure and live ROI during a continuous acquisition */
    uns32 fbmd;
    CHECK(pl_exp_setup_cont(h1, 1, &small, 1792, 1, &fbmd, 1));
    void *bmd = malloc(fbmd * 16u);
    CHECK(pl_exp_start_cont(h1, bmd, fbmd * 16));
    wait_frames(h1, 3);
    unsigned long long live_exposure = 2;
    CHECK(pl_set_param(h1, PARAM_EXPOSURE_TIME, &live_exposure));
    rgn_type half = {0, 63, 1, 0, 31, 1};
    CHECK(pl_set_param(h1, PARAM_ROI, &half));
    wait_frames(h1, 8);
    CHECK(pl_exp_abort(h1, 1));
    free(bmd);
    on = 0;
    CHECK(pl_set_param(h1, PARAM_METADATA_ENABLED, &on));   /* b1 is sized for plain 8-bit frames */
    CHECK(pl_set_param(h1, PARAM_READOUT_PORT, &port));

    /* uninit with an acquisition and callbacks running */
    CHECK(pl_exp_setup_cont(h1, 1, &small, 1792, 0, &fb1, 1));
    CHECK(pl_exp_start_cont(h1, b1, fb1 * 16));
    wait_frames(h1, 10);
    CHECK(pl_pvcam_uninit());
    free(b0);
    free(b1);
    CHECK(pl_pvcam_init());
    CHECK(pl_pvcam_uninit());
    printf("client done: %d failures, callbacks %d/%d\n", failures, calls0, calls1);
    return failures ? 1 : 0;
}
