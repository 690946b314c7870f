/*
 * metadata.c - embedded frame metadata (PARAM_METADATA_ENABLED, reference 4):
 * the layout the producer writes and the pl_md_* calls that read it back.
 *
 * With metadata on, a frame is
 *     md_frame_header (48 B) [frame ext. metadata]
 *     { md_frame_roi_header (32 B) [ROI ext. metadata] pixels } per region
 * and exp_bytes covers all of it.  Version 1 and 2 headers carry 32-bit
 * timestamps and exposure in the units their *ResNs fields give; version 3
 * carries 64-bit picoseconds.  roiDataSize and imageFormat are version-2
 * additions: a version-1 frame leaves them 0 and the decoder derives the
 * region's size from its rgn_type and the bit depth.  The simulated cameras
 * have no centroiding, so they write no extended metadata unless the
 * md_extended=K option asks for K items per block (frame: particle ids =
 * FrameNr, ROI: M0 = roiNr), which moves every ROI and its pixels, as a real
 * camera's extended metadata does.
 *
 * Header times are the camera's clock: ns since open (or since
 * PARAM_METADATA_RESET_TIMESTAMP).  BOF is the start of the exposure, EOF the
 * end of the readout [infer: the public header only says "beginning/end of
 * frame"].  Version 1/2 headers count in microseconds [choice].
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

#define MD_TIMESTAMP_RES_NS 1000u   /* v1/v2 timestampResNs and roiTimestampResNs [choice] */
#define EXT_ITEM_BYTES 5u            /* one tag byte + a 4-byte value (see pl_md_read_extended) */

/* ------------------------------------------------------------ layout */

uint64_t sim_md_layout_frame(sim_md_layout *md, const rgn_type *rgns, int n, int bpp, int bit_depth,
                             int image_format, size_t *offsets, size_t *pixels)
{
    uns16 ext = (uns16)(md->enabled ? (unsigned)md->ext_items * EXT_ITEM_BYTES : 0u);
    uint64_t at = md->enabled ? sizeof(md_frame_header) + ext : 0;
    md->nroi = n;
    for (int i = 0; i < n; i++) {
        pixels[i] = (size_t)((rgns[i].s2 - rgns[i].s1 + 1) / rgns[i].sbin) *
                    (size_t)((rgns[i].p2 - rgns[i].p1 + 1) / rgns[i].pbin);
        uint64_t bytes = (uint64_t)pixels[i] * (uint64_t)bpp;
        if (md->enabled) {
            md_frame_roi_header *r = &md->roi_hdr[i];
            memset(r, 0, sizeof *r);
            r->roiNr = (uns16)(i + 1);
            r->roi = rgns[i];
            r->roiDataSize = md->version >= 2 ? (uns32)bytes : 0;
            r->extendedMdSize = ext;
            md->roi_hdr_off[i] = (size_t)at;
            at += sizeof(md_frame_roi_header) + ext;
        }
        offsets[i] = (size_t)at;
        at += bytes;
    }
    if (!md->enabled)
        return at;
    if (md->version >= 3) {
        md_frame_header_v3 *h = &md->frame_hdr_v3;
        memset(h, 0, sizeof *h);
        h->signature = PL_MD_FRAME_SIGNATURE;
        h->version = (uns8)md->version;
        h->roiCount = (uns16)n;
        h->bitDepth = (uns8)bit_depth;
        h->colorMask = COLOR_NONE;
        h->imageFormat = (uns8)image_format;
        h->imageCompression = PL_IMAGE_COMPRESSION_NONE;
        h->extendedMdSize = ext;
    } else {
        md_frame_header *h = &md->frame_hdr;
        memset(h, 0, sizeof *h);
        h->signature = PL_MD_FRAME_SIGNATURE;
        h->version = (uns8)md->version;
        h->roiCount = (uns16)n;
        h->timestampResNs = MD_TIMESTAMP_RES_NS;
        h->exposureTimeResNs = (uns32)md->exposure_res_ns;
        h->roiTimestampResNs = MD_TIMESTAMP_RES_NS;
        h->bitDepth = (uns8)bit_depth;
        h->colorMask = COLOR_NONE;
        if (md->version >= 2) {
            h->imageFormat = (uns8)image_format;
            h->imageCompression = PL_IMAGE_COMPRESSION_NONE;
        }
        h->extendedMdSize = ext;
    }
    return at;
}

static void write_ext(uint8_t *at, int items, uns8 tag, uint32_t value)
{
    for (int i = 0; i < items; i++, at += EXT_ITEM_BYTES) {
        at[0] = tag;
        memcpy(at + 1, &value, sizeof value);
    }
}

void sim_md_write(const sim_md_layout *md, uint8_t *frame, uint32_t frame_nr, uint64_t bof_ns, uint64_t eof_ns,
                  double exposure_ns)
{
    if (!md->enabled)
        return;
    uint64_t bof = bof_ns > md->epoch_ns ? bof_ns - md->epoch_ns : 0;
    uint64_t eof = eof_ns > md->epoch_ns ? eof_ns - md->epoch_ns : 0;
    if (md->version >= 3) {
        md_frame_header_v3 h = md->frame_hdr_v3;
        h.frameNr = frame_nr;
        h.timestampBOF = bof * 1000ULL;
        h.timestampEOF = eof * 1000ULL;
        h.exposureTime = (ulong64)llround(exposure_ns * 1000.0);
        memcpy(frame, &h, sizeof h);
    } else {
        md_frame_header h = md->frame_hdr;
        h.frameNr = frame_nr;
        h.timestampBOF = (uns32)(bof / MD_TIMESTAMP_RES_NS);
        h.timestampEOF = (uns32)(eof / MD_TIMESTAMP_RES_NS);
        h.exposureTime = (uns32)llround(exposure_ns / md->exposure_res_ns);
        memcpy(frame, &h, sizeof h);
    }
    write_ext(frame + sizeof(md_frame_header), md->ext_items, PL_MD_EXT_TAG_PARTICLE_ID, frame_nr);
    for (int i = 0; i < md->nroi; i++) {
        memcpy(frame + md->roi_hdr_off[i], &md->roi_hdr[i], sizeof md->roi_hdr[i]);
        write_ext(frame + md->roi_hdr_off[i] + sizeof(md_frame_roi_header), md->ext_items, PL_MD_EXT_TAG_PARTICLE_M0,
                  md->roi_hdr[i].roiNr);
    }
}

/* ------------------------------------------------- decoding (pl_md_*) */

/* Header checks shared by decode and create: 0 or an error code. */
static int check_header(const void *buf, uns32 size, md_frame_header *out)
{
    if (size < sizeof(md_frame_header))
        return PL_ERR_METADATA_INVALID;
    memcpy(out, buf, sizeof *out);
    if (out->signature != PL_MD_FRAME_SIGNATURE || out->version < 1 || out->version > 3 || out->roiCount == 0)
        return PL_ERR_METADATA_INVALID;
    return 0;
}

static uns32 bytes_per_pixel(const md_frame_header *h)
{
    if (h->version >= 2)
        return h->imageFormat == PL_IMAGE_FORMAT_MONO8 ? 1u : 2u;
    return h->bitDepth <= 8 ? 1u : 2u;
}

static int decode(md_frame *f, uint8_t *buf, uns32 size)
{
    md_frame_header h;
    int rc = check_header(buf, size, &h);
    if (rc)
        return rc;
    if (h.roiCount > f->roiCapacity || f->roiArray == NULL)
        return PL_ERR_METADATA_INVALID;   /* the structure cannot hold every ROI */
    const uint8_t *end = buf + size;
    uint8_t *p = buf + sizeof(md_frame_header);
    if (p + h.extendedMdSize > end)
        return PL_ERR_METADATA_INVALID;
    f->header = (md_frame_header *)buf;
    f->extMdData = h.extendedMdSize ? p : NULL;
    f->extMdDataSize = h.extendedMdSize;
    p += h.extendedMdSize;
    uns16 found = 0;
    rgn_type implied = {0, 0, 1, 0, 0, 1};
    for (uns16 i = 0; i < h.roiCount; i++) {
        if (p + sizeof(md_frame_roi_header) > end)
            return PL_ERR_METADATA_INVALID;
        md_frame_roi_header r;
        memcpy(&r, p, sizeof r);
        uint8_t *ext = p + sizeof r;
        uint8_t *data = ext + r.extendedMdSize;
        uns32 data_size = 0;
        if (!(r.flags & PL_MD_ROI_FLAG_HEADER_ONLY)) {
            if (r.roi.sbin == 0 || r.roi.pbin == 0 || r.roi.s2 < r.roi.s1 || r.roi.p2 < r.roi.p1)
                return PL_ERR_METADATA_INVALID;
            data_size = h.version >= 2 ? r.roiDataSize
                                       : (uns32)((r.roi.s2 - r.roi.s1 + 1) / r.roi.sbin) *
                                             (uns32)((r.roi.p2 - r.roi.p1 + 1) / r.roi.pbin) * bytes_per_pixel(&h);
        }
        if (data > end || (size_t)(end - data) < data_size)
            return PL_ERR_METADATA_INVALID;
        if (!(r.flags & PL_MD_ROI_FLAG_INVALID)) {
            md_frame_roi *out = &f->roiArray[found];
            out->header = (md_frame_roi_header *)p;
            out->data = data_size ? data : NULL;
            out->dataSize = data_size;
            out->extMdData = r.extendedMdSize ? ext : NULL;
            out->extMdDataSize = r.extendedMdSize;
            if (found == 0) {
                implied = r.roi;
            } else {
                if (r.roi.s1 < implied.s1)
                    implied.s1 = r.roi.s1;
                if (r.roi.s2 > implied.s2)
                    implied.s2 = r.roi.s2;
                if (r.roi.p1 < implied.p1)
                    implied.p1 = r.roi.p1;
                if (r.roi.p2 > implied.p2)
                    implied.p2 = r.roi.p2;
            }
            found++;
        }
        p = data + data_size;
    }
    f->impliedRoi = implied;
    f->roiCount = found;
    return 0;
}

PV_EXPORT rs_bool pl_md_frame_decode(md_frame *pDstFrame, void *pSrcBuf, uns32 srcBufSize)
{
    sim_clear_error();
    if (pDstFrame == NULL || pSrcBuf == NULL)
        return sim_fail(PL_ERR_NULL_POINTER);
    int rc = decode(pDstFrame, pSrcBuf, srcBufSize);
    return rc ? sim_fail((int16)rc) : PV_OK;
}

static rs_bool create(md_frame **pFrame, uns16 capacity)
{
    md_frame *f = calloc(1, sizeof *f);
    md_frame_roi *rois = calloc(capacity, sizeof *rois);
    if (!f || !rois) {
        free(f);
        free(rois);
        return sim_fail(PL_ERR_INSUFFICIENT_RESOURCES);
    }
    f->roiArray = rois;
    f->roiCapacity = capacity;
    *pFrame = f;
    return PV_OK;
}

PV_EXPORT rs_bool pl_md_create_frame_struct_cont(md_frame **pFrame, uns16 roiCount)
{
    sim_clear_error();
    if (pFrame == NULL)
        return sim_fail(PL_ERR_NULL_POINTER);
    if (roiCount == 0)
        return sim_fail(PL_ERR_VALUE_INVALID);
    return create(pFrame, roiCount);
}

/* Sized from the frame's header; empty until pl_md_frame_decode fills it. */
PV_EXPORT rs_bool pl_md_create_frame_struct(md_frame **pFrame, void *pSrcBuf, uns32 srcBufSize)
{
    sim_clear_error();
    if (pFrame == NULL || pSrcBuf == NULL)
        return sim_fail(PL_ERR_NULL_POINTER);
    md_frame_header h;
    int rc = check_header(pSrcBuf, srcBufSize, &h);
    if (rc)
        return sim_fail((int16)rc);
    return create(pFrame, h.roiCount);
}

PV_EXPORT rs_bool pl_md_release_frame_struct(md_frame *pFrame)
{
    sim_clear_error();
    if (pFrame == NULL)
        return sim_fail(PL_ERR_NULL_POINTER);
    free(pFrame->roiArray);
    free(pFrame);
    return PV_OK;
}

/* Copies every ROI of a decoded frame to its place relative to the implied
 * ROI, shifted by (offX, offY) pixels, into a dstWidth x dstHeight image of
 * the frame's pixel size.  Black-filling is the caller's job (vendor doc). */
PV_EXPORT rs_bool pl_md_frame_recompose(void *pDstBuf, uns16 offX, uns16 offY, uns16 dstWidth, uns16 dstHeight,
                                        md_frame *pSrcFrame)
{
    sim_clear_error();
    if (pDstBuf == NULL || pSrcFrame == NULL)
        return sim_fail(PL_ERR_NULL_POINTER);
    if (pSrcFrame->header == NULL || (pSrcFrame->roiCount > 0 && pSrcFrame->roiArray == NULL))
        return sim_fail(PL_ERR_METADATA_INVALID);   /* not decoded */
    md_frame_header h;
    memcpy(&h, pSrcFrame->header, sizeof h);
    uns32 bpp = bytes_per_pixel(&h);
    const rgn_type *imp = &pSrcFrame->impliedRoi;
    uns16 sbin = imp->sbin ? imp->sbin : 1, pbin = imp->pbin ? imp->pbin : 1;
    /* validate every ROI before writing anything */
    for (uns16 i = 0; i < pSrcFrame->roiCount; i++) {
        const md_frame_roi *r = &pSrcFrame->roiArray[i];
        if (r->header == NULL)
            return sim_fail(PL_ERR_METADATA_INVALID);
        if (r->data == NULL)
            continue;
        rgn_type g = r->header->roi;
        size_t w = (size_t)(g.s2 - g.s1 + 1) / g.sbin, hgt = (size_t)(g.p2 - g.p1 + 1) / g.pbin;
        size_t x0 = (size_t)(g.s1 - imp->s1) / sbin + offX, y0 = (size_t)(g.p1 - imp->p1) / pbin + offY;
        if (x0 + w > dstWidth || y0 + hgt > dstHeight || w * hgt * bpp > r->dataSize)
            return sim_fail_detail(PL_ERR_BUFFER_TOO_SMALL, "ROI %u does not fit the %ux%u image at offset (%u, %u)",
                                   (unsigned)i + 1u, (unsigned)dstWidth, (unsigned)dstHeight, (unsigned)offX,
                                   (unsigned)offY);
    }
    for (uns16 i = 0; i < pSrcFrame->roiCount; i++) {
        const md_frame_roi *r = &pSrcFrame->roiArray[i];
        if (r->data == NULL)
            continue;
        rgn_type g = r->header->roi;
        size_t w = (size_t)(g.s2 - g.s1 + 1) / g.sbin, hgt = (size_t)(g.p2 - g.p1 + 1) / g.pbin;
        size_t x0 = (size_t)(g.s1 - imp->s1) / sbin + offX, y0 = (size_t)(g.p1 - imp->p1) / pbin + offY;
        for (size_t y = 0; y < hgt; y++)
            memcpy((uint8_t *)pDstBuf + ((y0 + y) * dstWidth + x0) * bpp, (const uint8_t *)r->data + y * w * bpp,
                   w * bpp);
    }
    return PV_OK;
}

/* Extended metadata: a sequence of items, each a one-byte tag followed by
 * that tag's value (its size from the table below) [infer: the public header
 * gives the tags and the decoded form, not the encoding]. */
static const md_ext_item_info EXT_TAGS[PL_MD_EXT_TAG_MAX] = {
    {PL_MD_EXT_TAG_PARTICLE_ID, TYPE_UNS32, 4, "Particle ID"},
    {PL_MD_EXT_TAG_PARTICLE_M0, TYPE_UNS32, 4, "Particle M0"},
    {PL_MD_EXT_TAG_PARTICLE_M2, TYPE_UNS32, 4, "Particle M2"},
};

PV_EXPORT rs_bool pl_md_read_extended(md_ext_item_collection *pOutput, void *pExtMdPtr, uns32 extMdSize)
{
    sim_clear_error();
    if (pOutput == NULL || pExtMdPtr == NULL)
        return sim_fail(PL_ERR_NULL_POINTER);
    memset(pOutput, 0, sizeof *pOutput);
    uint8_t *p = pExtMdPtr, *end = p + extMdSize;
    uns16 n = 0;
    while (p < end) {
        uns8 tag = *p++;
        if (tag >= PL_MD_EXT_TAG_MAX || (size_t)(end - p) < EXT_TAGS[tag].size || n >= PL_MD_EXT_TAGS_MAX_SUPPORTED) {
            memset(pOutput, 0, sizeof *pOutput);
            return sim_fail(PL_ERR_METADATA_INVALID);
        }
        pOutput->list[n].tagInfo = &EXT_TAGS[tag];
        pOutput->list[n].value = p;
        pOutput->map[tag] = &pOutput->list[n];
        p += EXT_TAGS[tag].size;
        n++;
    }
    pOutput->count = n;
    return PV_OK;
}
