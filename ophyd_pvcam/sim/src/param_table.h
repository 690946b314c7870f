/*
 * param_table.h - the parameter descriptor shared by params.c (the table)
 * and param_api.c (pl_get_param and friends).
 */
#ifndef OPHYD_PVCAM_SIM_PARAM_TABLE_H
#define OPHYD_PVCAM_SIM_PARAM_TABLE_H

#include "sim_internal.h"

#define SIM_MAX_ENUM 16

/* All attribute values of one parameter, computed on demand. Integers of
 * every width travel as int64 and are narrowed to the real type on output. */
typedef struct pval {
    int64_t cur, min, max, def, inc;
    double fcur, fmin, fmax, fdef, finc;   /* TYPE_FLT64 */
    const char *str;                        /* TYPE_CHAR_PTR */
    char strbuf[64];
    rgn_type rgn;                           /* TYPE_RGN_TYPE */
    int nitems;                             /* TYPE_ENUM */
    int32 values[SIM_MAX_ENUM];
    const char *names[SIM_MAX_ENUM];
} pval;

typedef struct pdesc {
    uns32 id;
    const char *name;
    uns16 type;            /* real type (may differ from the id's encoding) */
    uns16 access;
    rs_bool live;
    int invalidates_setup; /* changing it makes start_* fail 185 until a new setup */
    int (*avail)(const sim_camera *cam);           /* NULL = always */
    void (*get)(sim_camera *cam, pval *v);         /* fills every attribute */
    int (*set)(sim_camera *cam, int64_t value, const void *raw);   /* 0 or error code */
    int (*is_live)(const sim_camera *cam);         /* NULL = the `live` field; else per model */
    uns16 (*access_of)(const sim_camera *cam);     /* NULL = the `access` field; else per model */
} pdesc;

const pdesc *sim_param_find(uns32 id);
uns16 sim_param_access(const pdesc *d, const sim_camera *cam);
rs_bool sim_param_live(const pdesc *d, const sim_camera *cam);

/* value builders shared by params.c and params_features.c */
void sim_pval_num(pval *v, int64_t cur, int64_t min, int64_t max, int64_t def, int64_t inc);
void sim_pval_item(pval *v, int32 value, const char *name);
void sim_pval_enum_done(pval *v, int32 cur, int32 def);

/* params_features.c: metadata, programmable scan, smart streaming, live settings */
extern const pdesc sim_feature_params[];
extern const size_t sim_feature_param_count;
/* TYPE_SMART_STREAM_TYPE_PTR: attr CURRENT/MIN/MAX/DEFAULT/INCREMENT into a
 * caller's smart_stream_type (params sized by its entries). 0 or error code. */
int sim_smart_get(const sim_camera *cam, int16 attr, smart_stream_type *out);
int sim_param_validate(const pdesc *d, const pval *v, int64_t value);

#endif
