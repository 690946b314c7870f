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
} pdesc;

const pdesc *sim_param_find(uns32 id);
int sim_param_validate(const pdesc *d, const pval *v, int64_t value);

#endif
