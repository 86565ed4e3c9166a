/* The meter's flicker stage (flicker.c): the hooks meter.c calls. */
#ifndef HR_PQ_FLICKER_INT_H
#define HR_PQ_FLICKER_INT_H

#include <stddef.h>

#include "headroom/flicker.h"
#include "headroom/pq.h"

/* Creates the flickermeter for meter m's voltage channels (m's
 * configuration: rate, nominal frequency, t0_ns, flicker_lamp_v).
 * Returns HR_OK or HR_ERR_NOMEM; *out is owned by the meter. */
int hr__flicker_create(const hr_meter_t *m, hr_flicker_t **out);

/* The n frames of x (the caller's interleaved frames, voltages first) the
 * meter has just consumed: fed to the flickermeter; finished Pst and Plt
 * values are emitted as HR_REC_FLICKER records (at most 2 per call). */
void hr__flicker_feed(hr_meter_t *m, const float *x, size_t n);

/* hr_meter_finish: closes the open interval early (flagged) and emits it. */
void hr__flicker_finish(hr_meter_t *m);

#endif
