/* Helpers shared by the simulator's tests: the 16-GPU rack tree that
 * test_sim_band.c and test_sim_faults.c run on. */
#ifndef HR_TESTS_SIMTEST_H
#define HR_TESTS_SIMTEST_H

#include <stdio.h>

/* A rack (40 A trip unit, 28.7 kW, never near its limit) of two servers of
 * eight 700-W GPUs under a 100-A, 415-V site; site_grid is appended to the
 * site's line ("" for none, or ",\n     grid: {...}").  Returns a static
 * buffer, overwritten by the next call. */
static inline const char *simtest_rack16(const char *site_grid)
{
  static char buf[8192];
  int n = snprintf(buf, sizeof buf,
                   "version: 1\nnodes:\n"
                   "  - {id: site, kind: utility, parent: null, voltage_v: 415, phases: 3, "
                   "rating_a: 100%s}\n"
                   "  - {id: rack, kind: rack, parent: site,\n"
                   "     device: {type: trip_unit, curve: LI, in_a: 40, tr_s: 8, ii: 10}}\n",
                   site_grid);
  for (int s = 0; s < 2; s++) {
    n += snprintf(buf + n, sizeof buf - (size_t)n, "  - {id: srv%d, kind: server, parent: rack}\n",
                  s);
    for (int g = 0; g < 8; g++)
      n += snprintf(buf + n, sizeof buf - (size_t)n,
                    "  - {id: g%d_%d, kind: gpu, parent: srv%d, rating_w: 700}\n", s, g, s);
  }
  return buf;
}

#endif
