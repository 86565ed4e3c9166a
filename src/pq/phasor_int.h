/* The meter's synchrophasor stage (phasor.c): the hooks meter.c calls. */
#ifndef HR_PQ_PHASOR_INT_H
#define HR_PQ_PHASOR_INT_H

#include <stdint.h>

#include "headroom/pq.h"

typedef struct hr__pmu hr__pmu_t;

/* Checks the phasor settings of cfg (rate for the nominal frequency, class).
 * Returns HR_OK or HR_ERR_RANGE with diag filled. */
int hr__pmu_cfg_check(const hr_meter_cfg_t *cfg, hr_diag_t *diag);

/* Frames of history the sample ring must hold for the stage: the widest
 * window plus the frequency step either side, and a chunk of slack. */
double hr__pmu_ring_need(const hr_meter_cfg_t *cfg);

/* Creates the stage for meter m (layout, rate and ring known).  Returns
 * HR_OK or HR_ERR_NOMEM.  *out is owned by the meter. */
int hr__pmu_create(const hr_meter_t *m, hr__pmu_t **out);
void hr__pmu_destroy(hr__pmu_t *p);
void hr__pmu_reset(const hr_meter_t *m, hr__pmu_t *p);

/* First frame count at which the next report can be computed (its samples
 * are all in). */
int64_t hr__pmu_due(const hr__pmu_t *p);

/* Computes and emits the next report (call when m->n >= hr__pmu_due). */
void hr__pmu_report(hr_meter_t *m);

#endif
