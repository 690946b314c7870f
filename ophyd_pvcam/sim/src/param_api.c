/*
 * param_api.c - pl_get_param, pl_set_param, pl_get_enum_param and
 * pl_enum_str_length on top of the descriptor table in params.c.
 *
 * ATTR_AVAIL never fails for a valid handle, even for ids we do not know
 * (PyVCAM relies on it); ATTR_TYPE and ATTR_ACCESS succeed for unavailable
 * and unknown ids too (reference 3, argument notes).
 */
#include <string.h>

#include "param_table.h"

static int valid_type_code(unsigned t)
{
    return (t >= 1 && t <= 23 && t != 3 && t != 10);
}

static int unknown_param_error(uns32 id)
{
    unsigned type = id >> 24, cls = (id >> 16) & 0xFF;
    return (valid_type_code(type) && (cls == 0 || cls == 2 || cls == 3)) ? PL_ERR_PARAMETER_NOT_AVAILABLE
                                                                         : PL_ERR_PARAMETER_UNKNOWN;
}

static void write_int(uns16 type, int64_t value, void *out)
{
    switch (type) {
    case TYPE_INT8:
        *(int8 *)out = (int8)value;
        break;
    case TYPE_UNS8:
        *(uns8 *)out = (uns8)value;
        break;
    case TYPE_INT16:
        *(int16 *)out = (int16)value;
        break;
    case TYPE_UNS16:
    case TYPE_BOOLEAN:
        *(uns16 *)out = (uns16)value;
        break;
    case TYPE_INT32:
    case TYPE_ENUM:
        *(int32 *)out = (int32)value;
        break;
    case TYPE_UNS32:
        *(uns32 *)out = (uns32)value;
        break;
    case TYPE_INT64:
        *(long64 *)out = (long64)value;
        break;
    case TYPE_UNS64:
        *(ulong64 *)out = (ulong64)value;
        break;
    case TYPE_FLT64:
        *(flt64 *)out = (flt64)value;
        break;
    case TYPE_FLT32:
        *(flt32 *)out = (flt32)value;
        break;
    default:
        break;
    }
}

static int64_t read_int(uns16 type, const void *in)
{
    switch (type) {
    case TYPE_INT8:
        return *(const int8 *)in;
    case TYPE_UNS8:
        return *(const uns8 *)in;
    case TYPE_INT16:
        return *(const int16 *)in;
    case TYPE_UNS16:
    case TYPE_BOOLEAN:
        return *(const uns16 *)in;
    case TYPE_INT32:
    case TYPE_ENUM:
        return *(const int32 *)in;
    case TYPE_UNS32:
        return *(const uns32 *)in;
    case TYPE_INT64:
        return *(const long64 *)in;
    case TYPE_UNS64:
        return (int64_t) * (const ulong64 *)in;
    default:
        return 0;
    }
}

static int is_available(const pdesc *d, const sim_camera *cam)
{
    return d != NULL && (d->avail == NULL || d->avail(cam));
}

static uns32 count_of(const pdesc *d, const pval *v)
{
    switch (d->type) {
    case TYPE_ENUM:
        return (uns32)v->nitems;
    case TYPE_CHAR_PTR:
        return (uns32)strlen(v->str ? v->str : "") + 1;
    case TYPE_RGN_TYPE:
        return 1;
    default:
        if (v->inc <= 0)
            return 1;
        int64_t n = (v->max - v->min) / v->inc + 1;
        return n > 0xFFFFFFFFLL ? 0xFFFFFFFFu : (uns32)n;
    }
}

PV_EXPORT rs_bool pl_get_param(int16 hcam, uns32 param_id, int16 param_attribute, void *param_value)
{
    sim_clear_error();
    if (param_value == NULL)
        return sim_fail(PL_ERR_NULL_POINTER);
    if (param_attribute < ATTR_CURRENT || param_attribute > ATTR_LIVE)
        return sim_fail(PL_ERR_ATTRIBUTE_UNKNOWN);
    sim_camera *cam = sim_cam_lock(hcam);
    if (!cam)
        return PV_FAIL;
    const pdesc *d = sim_param_find(param_id);
    int avail = is_available(d, cam);
    int rc = 0;
    switch (param_attribute) {
    case ATTR_AVAIL:
        *(rs_bool *)param_value = (rs_bool)(avail ? 1 : 0);
        break;
    case ATTR_TYPE:
        *(uns16 *)param_value = d ? d->type : (uns16)(param_id >> 24);
        break;
    case ATTR_ACCESS:
        *(uns16 *)param_value = avail ? sim_param_access(d, cam) : (uns16)ACC_EXIST_CHECK_ONLY;
        break;
    case ATTR_LIVE:
        if (!avail)
            rc = d ? PL_ERR_PARAMETER_NOT_AVAILABLE : unknown_param_error(param_id);
        else
            *(rs_bool *)param_value = sim_param_live(d, cam);
        break;
    default: {
        if (!avail) {
            rc = d ? PL_ERR_PARAMETER_NOT_AVAILABLE : unknown_param_error(param_id);
            break;
        }
        if (sim_param_access(d, cam) == ACC_WRITE_ONLY && param_attribute != ATTR_COUNT) {
            rc = PL_ERR_ACCESS_DENIED;   /* e.g. PARAM_METADATA_RESET_TIMESTAMP */
            break;
        }
        if (d->type == TYPE_SMART_STREAM_TYPE_PTR && param_attribute != ATTR_COUNT) {
            rc = sim_smart_get(cam, param_attribute, param_value);
            break;
        }
        pval v;
        memset(&v, 0, sizeof v);
        d->get(cam, &v);
        if (param_attribute == ATTR_COUNT) {
            *(uns32 *)param_value = count_of(d, &v);
        } else if (d->type == TYPE_CHAR_PTR) {
            if (param_attribute != ATTR_CURRENT && param_attribute != ATTR_DEFAULT) {
                rc = PL_ERR_ATTRIBUTE_NOT_AVAILABLE;
                break;
            }
            const char *s = v.str ? v.str : "";
            memcpy(param_value, s, strlen(s) + 1);
        } else if (d->type == TYPE_RGN_TYPE) {
            if (param_attribute != ATTR_CURRENT && param_attribute != ATTR_DEFAULT) {
                rc = PL_ERR_ATTRIBUTE_NOT_AVAILABLE;
                break;
            }
            memcpy(param_value, &v.rgn, sizeof v.rgn);
        } else {
            int64_t x = 0;
            switch (param_attribute) {
            case ATTR_CURRENT:
                x = v.cur;
                break;
            case ATTR_MIN:
                x = v.min;
                break;
            case ATTR_MAX:
                x = v.max;
                break;
            case ATTR_DEFAULT:
                x = v.def;
                break;
            case ATTR_INCREMENT:
                x = v.inc;
                break;
            default:
                break;
            }
            write_int(d->type, x, param_value);
        }
        break;
    }
    }
    sim_cam_unlock(cam);
    return rc ? sim_fail((int16)rc) : PV_OK;
}

PV_EXPORT rs_bool pl_set_param(int16 hcam, uns32 param_id, void *param_value)
{
    sim_clear_error();
    if (param_value == NULL)
        return sim_fail(PL_ERR_NULL_POINTER);
    sim_camera *cam = sim_cam_lock(hcam);
    if (!cam)
        return PV_FAIL;
    const pdesc *d = sim_param_find(param_id);
    int rc = 0;
    if (!is_available(d, cam)) {
        rc = d ? PL_ERR_PARAMETER_NOT_AVAILABLE : unknown_param_error(param_id);
    } else if (sim_param_access(d, cam) != ACC_READ_WRITE && sim_param_access(d, cam) != ACC_WRITE_ONLY) {
        rc = PL_ERR_ACCESS_DENIED;
    } else {
        pval v;
        memset(&v, 0, sizeof v);
        d->get(cam, &v);
        int64_t value = read_int(d->type, param_value);
        rc = sim_param_validate(d, &v, value);
        int changed = d->type == TYPE_SMART_STREAM_TYPE_PTR || value != v.cur;
        if (rc == 0)
            rc = d->set(cam, value, param_value);
        /* A changed acquisition setting invalidates the generated camera
         * script: start_* fails 185 until the next setup (reference 6). */
        if (rc == 0 && changed && d->invalidates_setup && cam->acq.state != ACQ_RUNNING)
            cam->acq.script_stale = 1;
    }
    sim_cam_unlock(cam);
    return rc ? sim_fail((int16)rc) : PV_OK;
}

/* Shared by the two enum calls: looks the item up under the camera lock. */
static int enum_lookup(int16 hcam, uns32 param_id, uns32 index, int32 *value, char *desc, uns32 length,
                       uns32 *str_len)
{
    sim_camera *cam = sim_cam_lock(hcam);
    if (!cam)
        return -1;
    const pdesc *d = sim_param_find(param_id);
    int rc = 0;
    if (!is_available(d, cam)) {
        rc = d ? PL_ERR_PARAMETER_NOT_AVAILABLE : unknown_param_error(param_id);
    } else if (d->type != TYPE_ENUM) {
        rc = PL_ERR_PARAMETER_NOT_ENUM;
    } else {
        pval v;
        memset(&v, 0, sizeof v);
        d->get(cam, &v);
        if (index >= (uns32)v.nitems) {
            rc = PL_ERR_INDEX_OUT_OF_RANGE;
        } else {
            const char *name = v.names[index];
            if (value)
                *value = v.values[index];
            if (desc && length > 0) {
                size_t n = strlen(name);
                if (n >= length)
                    n = length - 1;
                memcpy(desc, name, n);
                desc[n] = '\0';
            }
            if (str_len)
                *str_len = (uns32)strlen(name) + 1;
        }
    }
    sim_cam_unlock(cam);
    if (rc) {
        sim_fail((int16)rc);
        return -1;
    }
    return 0;
}

PV_EXPORT rs_bool pl_get_enum_param(int16 hcam, uns32 param_id, uns32 index, int32 *value, char *desc,
                                    uns32 length)
{
    sim_clear_error();
    if (value == NULL)
        return sim_fail(PL_ERR_NULL_POINTER);
    return enum_lookup(hcam, param_id, index, value, desc, length, NULL) == 0 ? PV_OK : PV_FAIL;
}

PV_EXPORT rs_bool pl_enum_str_length(int16 hcam, uns32 param_id, uns32 index, uns32 *length)
{
    sim_clear_error();
    if (length == NULL)
        return sim_fail(PL_ERR_NULL_POINTER);
    return enum_lookup(hcam, param_id, index, NULL, NULL, 0, length) == 0 ? PV_OK : PV_FAIL;
}
