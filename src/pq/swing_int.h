/* The meter's power-swing stage (swing.c, swing.h): the hooks meter.c calls. */
#ifndef HR_PQ_SWING_INT_H
#define HR_PQ_SWING_INT_H

#include <stdint.h>

#include "core/core.h"
#include "headroom/pq.h"

typedef struct hr__swing_stage hr__swing_stage_t;

/* The defaults documented in swing.h. */
void hr__swing_cfg_defaults(hr_swing_cfg_t *c);

/* Checks cfg->swing (field names "swing.window_s[1]" ...). */
int hr__swing_cfg_check(const hr_meter_cfg_t *cfg, hr_diag_t *diag);

/* Creates the stage for a checked configuration with HR_REC_SWING asked
 * for.  Returns HR_OK or HR_ERR_NOMEM; *out is owned by the meter. */
int hr__swing_stage_create(const hr_meter_cfg_t *cfg, hr__swing_stage_t **out);
void hr__swing_stage_destroy(hr__swing_stage_t *s);
void hr__swing_stage_reset(hr__swing_stage_t *s);

/* One value of the 1-ms series: p_w at tick position pos (fractional
 * samples) with the tick's record flags.  Emits the window records and
 * limit events that fall due; allocates nothing. */
void hr__swing_stage_ms(hr_meter_t *m, double pos, double p_w, uint32_t flags);

/* Ends the stage's open limit events (HR_FLAG_OPEN) at its last tick. */
void hr__swing_stage_finish(hr_meter_t *m);

#endif
