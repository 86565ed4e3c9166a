/* The time-current chart of `headroom lease check --svg`: what a protection
 * engineer reads.  Log-log axes, current as a multiple of each device's
 * rating against time; one trip curve per device (hr_device_trip_time, from
 * cold), the orchestration loop's latency and the latest time to trip the
 * loop can still act on (latency / rule), the overload levels checked. */
#ifndef HR_CLI_TCC_H
#define HR_CLI_TCC_H

#include "headroom/protect.h"

typedef struct cli_tcc_dev {
  const char *id; /* node id, for the legend */
  const hr_device_cfg_t *cfg;
  double rated_a; /* the 1x of the current axis */
} cli_tcc_dev_t;

/* Writes the chart as SVG to path ("-": standard output).  0, or -1 after
 * printing "PREFIX: PATH: why" on stderr. */
int cli_tcc_svg(const char *path, const char *prefix, const char *title, const cli_tcc_dev_t *devs,
                int n_devs, double loop_s, double rule, const double *levels, int n_levels);

#endif
