/*
 * frames.c - frame content: precomputed once per setup, then copied and
 * stamped per frame so even 20,000 frames/s cost little.
 *
 * Content: a background pool (ADC offset + read/shot-like noise) slightly
 * larger than a frame; frame n copies it from a pixel offset drawn from the
 * acquisition's noise seed and n (so noise changes frame to frame and from
 * one acquisition to the next), region by region into the frame layout
 * (with metadata on, each region's pixels follow its header), adds a
 * Gaussian spot that moves on a circle in the first region and, only when
 * the opt-in test stamp is on, writes FrameNr little-endian into the first 4
 * pixel bytes.  When full copies would exceed the memory bandwidth the
 * producer switches to incremental writes for slots it already filled in
 * this acquisition: restore the old spot patch, draw the new one, stamp.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

void sim_content_free(sim_content *c)
{
    free(c->pool);
    free(c->kernel);
    memset(c, 0, sizeof *c);
}

int sim_content_prepare(sim_content *c, size_t frame_pixels, int bpp, int bit_depth, int offset, int roi_w,
                        int roi_h)
{
    if (c->pool && c->frame_pixels == frame_pixels && c->bpp == bpp && c->key_bitdepth == bit_depth &&
        c->key_offset == offset && c->roi_w == roi_w && c->roi_h == roi_h)
        return 0;
    sim_content_free(c);
    size_t pool_pixels = frame_pixels + SIM_POOL_EXTRA;
    c->pool = malloc(pool_pixels * (size_t)bpp);
    int min_side = roi_w < roi_h ? roi_w : roi_h;
    double sigma = min_side / 50.0;
    if (sigma < 1.5)
        sigma = 1.5;
    int radius = (int)ceil(3.0 * sigma);
    if (radius > 24)
        radius = 24;
    if (radius > min_side / 2)
        radius = min_side / 2;
    /* The patch is bounded (it is redrawn every frame); shrink the spot to
     * fit it rather than truncate it into a square. */
    if (sigma > radius / 3.0)
        sigma = radius / 3.0;
    int side = 2 * radius + 1;
    c->kernel = malloc((size_t)side * (size_t)side * sizeof(float));
    if (!c->pool || !c->kernel) {
        sim_content_free(c);
        return -1;
    }
    c->pool_pixels = pool_pixels;
    c->frame_pixels = frame_pixels;
    c->bpp = bpp;
    c->max_value = (1 << bit_depth) - 1;
    c->key_bitdepth = bit_depth;
    c->key_offset = offset;
    c->roi_w = roi_w;
    c->roi_h = roi_h;
    c->spot_radius = radius;
    double amplitude = 0.4 * c->max_value;
    for (int dy = -radius; dy <= radius; dy++)
        for (int dx = -radius; dx <= radius; dx++)
            c->kernel[(dy + radius) * side + (dx + radius)] =
                (float)(amplitude * exp(-(dx * dx + dy * dy) / (2.0 * sigma * sigma)));
    /* Noise: sum of four uniform bytes is near-Gaussian (sigma ~ 3 ADU
     * around the offset for 16-bit, ~1 ADU for 8-bit). */
    uint64_t state = 0x2545F4914F6CDD1DULL ^ (uint64_t)frame_pixels;
    int spread = bpp == 1 ? 1 : 4;
    for (size_t i = 0; i < pool_pixels; i++) {
        uint64_t r = xorshift(&state);
        int sum = (int)(r & 0xFF) + (int)((r >> 8) & 0xFF) + (int)((r >> 16) & 0xFF) + (int)((r >> 24) & 0xFF);
        int v = offset + ((sum - 510) * spread) / 128;
        if ((r >> 40) % 50000 == 0)
            v += c->max_value / 4;   /* a few hot pixels */
        if (v < 0)
            v = 0;
        if (v > c->max_value)
            v = c->max_value;
        if (bpp == 1)
            c->pool[i] = (uint8_t)v;
        else
            ((uint16_t *)c->pool)[i] = (uint16_t)v;
    }
    return 0;
}

static void spot_center(const sim_content *c, uint32_t n, int32 *x, int32 *y)
{
    double phase = 2.0 * M_PI * (double)(n % 200) / 200.0;
    *x = (int32)(c->roi_w / 2 + (c->roi_w / 4) * cos(phase));
    *y = (int32)(c->roi_h / 2 + (c->roi_h / 4) * sin(phase));
}

/* Copies (restore) or draws (draw=1) the spot patch at (cx, cy). */
static void patch(const sim_content *c, uint8_t *dst, uint32_t pool_off, int32 cx, int32 cy, int draw)
{
    int r = c->spot_radius, side = 2 * r + 1;
    for (int dy = -r; dy <= r; dy++) {
        int y = cy + dy;
        if (y < 0 || y >= c->roi_h)
            continue;
        int x0 = cx - r, x1 = cx + r;
        if (x0 < 0)
            x0 = 0;
        if (x1 >= c->roi_w)
            x1 = c->roi_w - 1;
        if (x0 > x1)
            continue;
        size_t row = (size_t)y * (size_t)c->roi_w;
        if (!draw) {
            memcpy(dst + (row + (size_t)x0) * (size_t)c->bpp, c->pool + (pool_off + row + (size_t)x0) * (size_t)c->bpp,
                   (size_t)(x1 - x0 + 1) * (size_t)c->bpp);
            continue;
        }
        const float *k = c->kernel + (dy + r) * side;
        for (int x = x0; x <= x1; x++) {
            size_t i = row + (size_t)x;
            int v;
            if (c->bpp == 1)
                v = c->pool[pool_off + i];
            else
                v = ((const uint16_t *)c->pool)[pool_off + i];
            v += (int)k[x - cx + r];
            if (v > c->max_value)
                v = c->max_value;
            if (c->bpp == 1)
                dst[i] = (uint8_t)v;
            else
                ((uint16_t *)dst)[i] = (uint16_t)v;
        }
    }
}

void sim_content_set_layout(sim_content *c, int nseg, const size_t *offsets, const size_t *pixels)
{
    c->nseg = nseg;
    for (int i = 0; i < nseg; i++) {
        c->seg_off[i] = offsets[i];
        c->seg_pixels[i] = pixels[i];
    }
}

static void stamp(const sim_content *c, uint8_t *dst, uint32_t frame_nr)
{
    size_t bytes = c->seg_pixels[0] * (size_t)c->bpp;
    uint8_t le[4] = {(uint8_t)frame_nr, (uint8_t)(frame_nr >> 8), (uint8_t)(frame_nr >> 16),
                     (uint8_t)(frame_nr >> 24)};
    memcpy(dst, le, bytes < 4 ? bytes : 4);
}

/* Pool offset of frame n: the seed moves every frame of an acquisition by
 * the same amount, so frame n of two acquisitions never shares its noise
 * when their seeds differ modulo the pool margin (see acquisition.c). */
static uint32_t noise_offset(uint32_t frame_nr, uint64_t noise_seed)
{
    return (uint32_t)(((uint64_t)frame_nr * 2654435761ULL + noise_seed) % SIM_POOL_EXTRA);
}

void sim_frame_write_full(const sim_content *c, uint8_t *frame, uint32_t frame_nr, uint64_t noise_seed,
                          int with_stamp, sim_slot *slot)
{
    uint32_t off = noise_offset(frame_nr, noise_seed);
    size_t done = 0;
    for (int i = 0; i < c->nseg; i++) {
        memcpy(frame + c->seg_off[i], c->pool + ((size_t)off + done) * (size_t)c->bpp,
               c->seg_pixels[i] * (size_t)c->bpp);
        done += c->seg_pixels[i];
    }
    uint8_t *dst = frame + c->seg_off[0];
    int32 x, y;
    spot_center(c, frame_nr, &x, &y);
    patch(c, dst, off, x, y, 1);
    if (with_stamp)
        stamp(c, dst, frame_nr);
    if (slot) {
        slot->spot_x = x;
        slot->spot_y = y;
        slot->pool_off = off;
    }
}

void sim_frame_write_incremental(const sim_content *c, uint8_t *frame, uint32_t frame_nr, uint64_t noise_seed,
                                 int with_stamp, sim_slot *slot)
{
    if (slot->spot_x < 0) {
        sim_frame_write_full(c, frame, frame_nr, noise_seed, with_stamp, slot);
        return;
    }
    uint8_t *dst = frame + c->seg_off[0];
    int32 x, y;
    spot_center(c, frame_nr, &x, &y);
    patch(c, dst, slot->pool_off, slot->spot_x, slot->spot_y, 0);
    patch(c, dst, slot->pool_off, x, y, 1);
    if (with_stamp)
        stamp(c, dst, frame_nr);
    slot->spot_x = x;
    slot->spot_y = y;
}
