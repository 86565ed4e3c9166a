/* The meter's harmonics stage (harmonics.c): the hooks meter.c calls. */
#ifndef HR_PQ_HARMONICS_INT_H
#define HR_PQ_HARMONICS_INT_H

#include <stdint.h>

#include "headroom/pq.h"

typedef struct hr__harm hr__harm_t;

/* Frames of history the sample ring must hold for the harmonics stage: the
 * longest 10/12-cycle window at the lowest tracked frequency, the
 * interpolation kernel either side, and the wait for the samples after it. */
double hr__harm_ring_need(const hr_meter_cfg_t *cfg);

/* Creates the stage for meter m (which must already know its layout, rate
 * and ring).  Returns HR_OK, or HR_ERR_NOMEM.  *out is owned by the meter. */
int hr__harm_create(const hr_meter_t *m, hr__harm_t **out);
void hr__harm_destroy(hr__harm_t *h);
void hr__harm_reset(hr__harm_t *h);

/* A 10/12-cycle interval [pos0, pos0 + len) (fractional sample positions)
 * of n_cycles cycles ended with these record flags: queued, measured and
 * emitted as HR_REC_HARM once the samples after it are in (now, or at a
 * later hr__harm_poll). */
void hr__harm_interval(hr_meter_t *m, double pos0, double len, int n_cycles, uint32_t flags);

/* Measures the queued windows whose samples are all in (frames < m->n). */
void hr__harm_poll(hr_meter_t *m);

#endif
