/*
 * settings.c - the camera's current selection and the quantities derived
 * from it (speed-table entry, bytes per pixel, readout and clearing times,
 * sensor temperature), shared by the parameter table and the acquisition.
 */
#include <math.h>
#include <string.h>

#include "sim_internal.h"

const sim_port *sim_cur_port(const sim_camera *cam)
{
    return &cam->model->ports[cam->s.port_idx];
}

const sim_speed *sim_cur_speed(const sim_camera *cam)
{
    return &sim_cur_port(cam)->speeds[cam->s.speed_idx];
}

const sim_gain *sim_cur_gain(const sim_camera *cam)
{
    return &sim_cur_speed(cam)->gains[cam->s.gain_idx - 1];
}

int sim_bytes_per_pixel(const sim_camera *cam)
{
    return sim_cur_port(cam)->image_format == PL_IMAGE_FORMAT_MONO8 ? 1 : 2;
}

double sim_exp_unit_ns(int exp_res)
{
    switch (exp_res) {
    case EXP_RES_ONE_MICROSEC:
        return 1e3;
    case EXP_RES_ONE_SEC:
        return 1e9;
    default:
        return 1e6;
    }
}

/* Clearing one sensor takes 1/16 of a full readout per cycle [infer]. */
double sim_clear_time_ns(const sim_camera *cam)
{
    if (cam->s.clear_mode == CLEAR_AUTO)
        return 0.0;
    return cam->s.clear_cycles * cam->model->par_size * sim_cur_speed(cam)->line_time_ns / 16.0;
}

/* Rolling readout covers the rows from the first to the last region row;
 * parallel binning divides the rows read. */
double sim_readout_ns_for(const sim_camera *cam, const rgn_type *rgns, int n)
{
    int p1 = rgns[0].p1, p2 = rgns[0].p2;
    for (int i = 1; i < n; i++) {
        if (rgns[i].p1 < p1)
            p1 = rgns[i].p1;
        if (rgns[i].p2 > p2)
            p2 = rgns[i].p2;
    }
    int pbin = rgns[0].pbin ? rgns[0].pbin : 1;
    int rows = (p2 - p1 + 1) / pbin;
    if (rows < 1)
        rows = 1;
    return rows * sim_line_time_ns(cam);
}

/* Programmable scan, line-delay mode: each unit of PARAM_SCAN_LINE_DELAY
 * adds one native line time [infer: the public header gives no unit].  The
 * other modes keep the native line time. */
double sim_line_time_ns(const sim_camera *cam)
{
    double native = sim_cur_speed(cam)->line_time_ns;
    if (cam->model->has_prog_scan && cam->s.scan_mode == PL_SCAN_MODE_PROGRAMMABLE_LINE_DELAY)
        return native * (1.0 + cam->s.scan_line_delay);
    return native;
}

/* Sensor temperature approaches the setpoint exponentially (tau 2 s), with a
 * small deterministic ripple so consecutive reads differ. */
int16 sim_temperature(sim_camera *cam)
{
    double t = (double)(sim_now_ns() - cam->s.temp_t0_ns) / 1e9;
    double sp = cam->s.temp_setpoint;
    double temp = sp + (cam->s.temp_from - sp) * exp(-t / 2.0);
    long step = (long)(sim_now_ns() / 250000000ULL);
    temp += (double)((step * 7) % 5 - 2);
    return (int16)lrint(temp);
}

void sim_settings_defaults(sim_camera *cam)
{
    const sim_model *m = cam->model;
    sim_settings *s = &cam->s;
    memset(s, 0, sizeof *s);
    s->port_idx = 0;
    s->speed_idx = 0;
    s->gain_idx = 1;
    s->exp_res = m->exp_res_default;
    s->clear_mode = CLEAR_PRE_SEQUENCE;
    s->clear_cycles = 2;
    s->pmode = PMODE_NORMAL;
    s->temp_setpoint = m->temp_default;
    s->temp_from = m->temp_default;   /* cameras are opened already cooled */
    s->temp_t0_ns = sim_now_ns();
    s->fan = FAN_SPEED_HIGH;
    s->exp_time_vtm = 10;
    s->binning_ser = 1;
    s->binning_par = 1;
    s->roi = (rgn_type){0, (uns16)(m->ser_size - 1), 1, 0, (uns16)(m->par_size - 1), 1};
    s->metadata = 0;          /* cameras open with metadata off */
    s->md_epoch_ns = sim_now_ns();
    s->scan_mode = PL_SCAN_MODE_AUTO;
    s->scan_direction = PL_SCAN_DIRECTION_DOWN;
    s->scan_line_delay = 0;
    s->scan_width = 0;
    s->smart_enabled = 0;
    s->smart_mode = SMTMODE_ARBITRARY_ALL;
    s->smart_count = 0;
    s->exposure_mode = EXT_TRIG_INTERNAL;
    s->expose_out_mode = EXPOSE_OUT_FIRST_ROW;
}

