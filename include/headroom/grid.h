/* headroom: grid-facing limits at the site connection, monitored.
 *
 * Utilities limit how fast a large load may change (ramp rate over a window)
 * and how much power oscillation it may put on the grid in given frequency
 * bands (forced oscillations between about 0.1 and 30 Hz excite
 * inter-area and local modes).  A monitor is fed the site's power at a fixed
 * step and reports the ramp rate, the oscillation amplitude per band and
 * which limits (from the tree's `grid` keys, include/headroom/tree.h) are
 * exceeded.  Nothing is allocated after create. */
#ifndef HEADROOM_GRID_H
#define HEADROOM_GRID_H

#include <stdint.h>

#include "headroom/error.h"
#include "headroom/export.h"
#include "headroom/tree.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
  HR_GRID_VIOL_RAMP = 1u << 0, /* ramp rate above max_ramp_w_per_s */
  HR_GRID_VIOL_MAX = 1u << 1,  /* power above max_p_w */
  HR_GRID_VIOL_MIN = 1u << 2,  /* power below min_p_w */
  HR_GRID_VIOL_BAND0 = 1u << 3 /* band k: HR_GRID_VIOL_BAND0 << k */
};

typedef struct hr_grid_status {
  double p_w;                           /* the sample just pushed [W] */
  double ramp_w_per_s;                  /* |P(t) - P(t - window)| / window [W/s] */
  double band_amp_w[HR_GRID_MAX_BANDS]; /* oscillation amplitude per band [W] */
  unsigned violations;                  /* HR_GRID_VIOL_* bits */
  int settled;                          /* 0 while the windows are still filling */
} hr_grid_status_t;

typedef struct hr_grid_monitor hr_grid_monitor_t;

/* Creates a monitor for the limits lim (copied) and a power series sampled
 * every dt_s seconds (1e-4 <= dt_s <= 1; every band's f_hi_hz must be below
 * 0.4 / dt_s).  Returns HR_OK, HR_ERR_INVALID_ARG, HR_ERR_RANGE, HR_ERR_NOMEM. */
HR_API int hr_grid_monitor_create(const hr_grid_limits_t *lim, double dt_s,
                                  hr_grid_monitor_t **out);
HR_API void hr_grid_monitor_destroy(hr_grid_monitor_t *m);

/* Adds the next sample [W] and fills *out (may be NULL). */
HR_API void hr_grid_monitor_push(hr_grid_monitor_t *m, double p_w, hr_grid_status_t *out);

#ifdef __cplusplus
}
#endif
#endif
