/*
 * smart_stream.c - the smart_stream_type helper structs of S.M.A.R.T.
 * streaming.  The feature itself: PARAM_SMART_STREAM_* in params_features.c
 * (the list of exposures), acquisition.c (copied at setup) and producer.c
 * (frame n is exposed for entry (n-1) mod entries).
 */
#include <stdlib.h>

#include "sim_internal.h"

PV_EXPORT rs_bool pl_create_smart_stream_struct(smart_stream_type **array, uns16 entries)
{
    sim_clear_error();
    if (array == NULL)
        return sim_fail(PL_ERR_NULL_POINTER);
    if (entries == 0)
        return sim_fail(PL_ERR_VALUE_INVALID);
    smart_stream_type *s = calloc(1, sizeof *s);
    uns32 *params = calloc(entries, sizeof *params);
    if (!s || !params) {
        free(s);
        free(params);
        return sim_fail(PL_ERR_INSUFFICIENT_RESOURCES);
    }
    s->entries = entries;
    s->params = params;
    *array = s;
    return PV_OK;
}

PV_EXPORT rs_bool pl_release_smart_stream_struct(smart_stream_type **array)
{
    sim_clear_error();
    if (array == NULL || *array == NULL)
        return sim_fail(PL_ERR_NULL_POINTER);
    free((*array)->params);
    free(*array);
    *array = NULL;
    return PV_OK;
}
