/* Benchmark: one simulated day of the paper's 240-server facility (10 rows x
 * 6 racks x 4 servers, 8 GPUs each) at 0.25 s with the copula power model.
 * The goal is at most 60 s on a 2-core machine.
 *
 *   bench_plan_site [DATA_DIR] [HOURS]
 *
 * DATA_DIR is the shared data folder (default ../shared/data): the model is
 * trained on its h100-inference traces first (not timed). */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "headroom/plan.h"

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
  const char *data = argc > 1 ? argv[1] : "../shared/data";
  double hours = argc > 2 ? strtod(argv[2], NULL) : 24.0;
  if (!(hours > 0.0) || hours > 24.0 * 366) {
    fprintf(stderr, "bench_plan_site: HOURS must be in (0, 8784]\n");
    return 2;
  }
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/power/h100-inference", data);
  hr_plan_traceset_t *set;
  hr_diag_t e = {0};
  int rc = hr_plan_traceset_load(dir, &set, &e);
  if (rc != HR_OK) {
    fprintf(stderr, "bench_plan_site: %s: %s\n", dir, e.message);
    return 1;
  }
  hr_plan_train_cfg_t tc;
  hr_plan_train_cfg_init(&tc);
  hr_plan_model_t *m;
  if ((rc = hr_plan_model_train(set, NULL, &tc, &m, &e)) != HR_OK) {
    fprintf(stderr, "bench_plan_site: train: %s\n", hr_strerror(rc));
    return 1;
  }
  hr_plan_gen_cfg_t g;
  hr_plan_gen_cfg_init(&g);
  g.arrival = HR_PLAN_ARRIVAL_DIURNAL;
  g.duration_s = hours * 3600.0;
  g.min_rate_per_s = 20.0; /* ~0.1-0.4 requests/s per server */
  g.max_rate_per_s = 90.0;
  hr_plan_workload_t *w;
  if ((rc = hr_plan_workload_generate(&g, &w)) != HR_OK) {
    fprintf(stderr, "bench_plan_site: workload: %s\n", hr_strerror(rc));
    return 1;
  }
  hr_plan_site_cfg_t sc;
  hr_plan_site_cfg_init(&sc);
  double t0 = now_s();
  hr_plan_site_t *s;
  if ((rc = hr_plan_site_run(m, &sc, w, g.duration_s, &s)) != HR_OK) {
    fprintf(stderr, "bench_plan_site: site: %s\n", hr_strerror(rc));
    return 1;
  }
  double el = now_s() - t0;
  hr_plan_utility_t u;
  hr_plan_utility_compute(s->it_w, s->n, s->dt_s, &u);
  printf("bench_plan_site: %.1f h, 240 servers, %zu requests, %zu samples/server at %.2f s: "
         "%.2f s (goal <= 60 s for 24 h); peak IT %.1f kW, mean %.1f kW\n",
         hours, w->n, s->n, s->dt_s, el, u.peak_w / 1e3, u.mean_w / 1e3);
  hr_plan_site_destroy(s);
  hr_plan_workload_destroy(w);
  hr_plan_model_destroy(m);
  hr_plan_traceset_destroy(set);
  return 0;
}
