/* Benchmark: one simulated day of a facility at 0.25 s with the copula
 * power model, run three times in this process: the baseline (the scalar
 * copula generator of before, one worker thread), the vectorised generator
 * on one thread, and on every online CPU.  It prints the times, their
 * ratios, the cost per server-step, checks that the two vectorised runs are
 * the same to the bit (racks are summed in rack order whatever the threads)
 * and that the scalar and vectorised generators agree to rounding (they
 * draw the same uniforms).  The goal is a 10,000-server day in at most 60 s
 * on a 2-core machine.
 *
 *   bench_plan_site [DATA_DIR] [HOURS] [SERVERS]
 *
 * DATA_DIR is the shared data folder (default ../shared/data): the model is
 * trained on its h100-inference traces first (not timed; copula and the
 * other fast methods only).  SERVERS (default 240, the paper's 10 x 6 x 4)
 * must be a multiple of 24 (4 servers per rack, 6 racks per row); the
 * diurnal workload keeps the paper facility's load per server (20-90
 * requests/s over 240 servers). */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "headroom/plan.h"

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double cpu_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
  const char *data = argc > 1 ? argv[1] : "../shared/data";
  double hours = argc > 2 ? strtod(argv[2], NULL) : 24.0;
  long servers = argc > 3 ? strtol(argv[3], NULL, 10) : 240;
  if (!(hours > 0.0) || hours > 24.0 * 366) {
    fprintf(stderr, "bench_plan_site: HOURS must be in (0, 8784]\n");
    return 2;
  }
  if (servers < 24 || servers % 24 != 0 || servers > 240000) {
    fprintf(stderr, "bench_plan_site: SERVERS must be a multiple of 24 in [24, 240000]\n");
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
  tc.bigru_hidden = 0; /* the paper's BiGRU takes minutes and is not used here */
  hr_plan_model_t *m;
  if ((rc = hr_plan_model_train(set, NULL, &tc, &m, &e)) != HR_OK) {
    fprintf(stderr, "bench_plan_site: train: %s\n", hr_strerror(rc));
    return 1;
  }
  double scale = (double)servers / 240.0;
  hr_plan_gen_cfg_t g;
  hr_plan_gen_cfg_init(&g);
  g.arrival = HR_PLAN_ARRIVAL_DIURNAL;
  g.duration_s = hours * 3600.0;
  g.min_rate_per_s = 20.0 * scale; /* ~0.1-0.4 requests/s per server */
  g.max_rate_per_s = 90.0 * scale;
  hr_plan_workload_t *w;
  if ((rc = hr_plan_workload_generate(&g, &w)) != HR_OK) {
    fprintf(stderr, "bench_plan_site: workload: %s\n", hr_strerror(rc));
    return 1;
  }
  hr_plan_site_cfg_t sc;
  hr_plan_site_cfg_init(&sc);
  sc.rows = (int)(servers / 24);
  sc.racks_1s = 0; /* what `plan site` keeps */
  /* Three runs: the scalar copula generator of before (issue 17's speed
   * work) on one thread, the vectorised one on one thread, and the
   * vectorised one on every online CPU. */
  hr_plan_site_t *s[3] = {NULL, NULL, NULL};
  double wall[3], cpu[3];
  for (int k = 0; k < 3; k++) {
    sc.copula_ref = k == 0;
    sc.threads = k < 2 ? 1 : 0;
    double t0 = now_s(), c0 = cpu_s();
    if ((rc = hr_plan_site_run(m, &sc, w, g.duration_s, &s[k])) != HR_OK) {
      fprintf(stderr, "bench_plan_site: site: %s\n", hr_strerror(rc));
      return 1;
    }
    wall[k] = now_s() - t0;
    cpu[k] = cpu_s() - c0;
  }
  int same = memcmp(s[1]->it_w, s[2]->it_w, s[1]->n * sizeof s[1]->it_w[0]) == 0 &&
             memcmp(s[1]->row_w, s[2]->row_w, (size_t)s[1]->nrows * s[1]->n1 * sizeof(double)) == 0;
  /* The two generators draw the same uniforms and differ by rounding only
   * (a few ulps in each normal): the site series agree to far below a watt. */
  double dmax = 0.0;
  for (size_t i = 0; i < s[0]->n; i++) {
    double d = fabs(s[0]->it_w[i] - s[1]->it_w[i]) / fabs(s[0]->it_w[i]);
    dmax = d > dmax ? d : dmax;
  }
  int agree = dmax < 1e-9;
  hr_plan_utility_t u, u0;
  hr_plan_utility_compute(s[2]->it_w, s[2]->n, s[2]->dt_s, &u);
  hr_plan_utility_compute(s[0]->it_w, s[0]->n, s[0]->dt_s, &u0);
  double steps = (double)servers * (double)s[2]->n;
  printf("bench_plan_site: %.1f h, %ld servers, %zu requests, %zu steps/server at %.2f s\n", hours,
         servers, w->n, s[2]->n, s[2]->dt_s);
  printf("  peak IT %.4f kW, mean %.4f kW (scalar generator: %.4f kW, %.4f kW); largest "
         "relative difference %.1e: %s\n",
         u.peak_w / 1e3, u.mean_w / 1e3, u0.peak_w / 1e3, u0.mean_w / 1e3, dmax,
         agree ? "agree" : "DIFFER");
  printf("  baseline: scalar generator, 1 thread : %8.2f s wall, %8.2f s CPU, %6.1f ns CPU per "
         "server-step\n",
         wall[0], cpu[0], 1e9 * cpu[0] / steps);
  printf("  vectorised generator, 1 thread      : %8.2f s wall, %8.2f s CPU, %6.1f ns CPU per "
         "server-step; CPU ratio %.2fx\n",
         wall[1], cpu[1], 1e9 * cpu[1] / steps, cpu[0] / cpu[1]);
  printf("  vectorised generator, all online CPUs: %8.2f s wall, %8.2f s CPU; wall ratio to 1 "
         "thread %.2fx; results %s\n",
         wall[2], cpu[2], wall[1] / wall[2], same ? "identical" : "DIFFER");
  printf("  a 10,000-server day at this CPU cost: %.0f s of CPU (goal <= 60 s wall on 2 cores)\n",
         cpu[1] / steps * 10000.0 * 345600.0);
  for (int k = 0; k < 3; k++)
    hr_plan_site_destroy(s[k]);
  hr_plan_workload_destroy(w);
  hr_plan_model_destroy(m);
  hr_plan_traceset_destroy(set);
  return same && agree ? 0 : 1;
}
