/* The meter's aggregation stage (agg.c): IEC 61000-4-30 §4.5 150/180-cycle
 * and 10-min values from the 10/12-cycle ones.  The hooks meter.c calls. */
#ifndef HR_PQ_AGG_INT_H
#define HR_PQ_AGG_INT_H

#include <stdint.h>

#include "meter_int.h"

typedef struct hr__agg hr__agg_t;

/* The 10-min clock interval of the UTC clock [ns]. */
#define HR__AGG_10MIN_NS INT64_C(600000000000)

/* The first 10-min tick strictly after t_ns (INT64_MAX when there is none
 * inside int64). */
int64_t hr__agg_next_tick(int64_t t_ns);

/* Creates the stage when cfg.records asks for HR_REC_AGG150 or
 * HR_REC_AGG10MIN (*out = NULL otherwise).  Errors: HR_ERR_NOMEM. */
int hr__agg_create(const hr_meter_t *m, hr__agg_t **out);
void hr__agg_destroy(hr__agg_t *a);
void hr__agg_reset(hr__agg_t *a);
/* After every 10/12-cycle value: rec is its HR_REC_INTERVAL record (built
 * whether or not that kind is emitted). */
void hr__agg_interval(hr_meter_t *m, const hr_record_t *rec);

#endif
