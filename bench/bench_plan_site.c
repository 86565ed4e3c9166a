/* Benchmark: one simulated day of a facility at 0.25 s with the copula
 * power model, run twice in this process: with one worker thread (the
 * baseline) and with every online CPU.  It prints both times, their ratio,
 * the cost per server-step, and checks that the two results are the same
 * to the bit (racks are summed in rack order whatever the threads).  The
 * goal is a 10,000-server day in at most 60 s on a 2-core machine.
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
  hr_plan_site_t *s[2] = {NULL, NULL};
  double wall[2], cpu[2];
  for (int k = 0; k < 2; k++) {
    sc.threads = k == 0 ? 1 : 0; /* baseline: one thread; then every CPU */
    double t0 = now_s(), c0 = cpu_s();
    if ((rc = hr_plan_site_run(m, &sc, w, g.duration_s, &s[k])) != HR_OK) {
      fprintf(stderr, "bench_plan_site: site: %s\n", hr_strerror(rc));
      return 1;
    }
    wall[k] = now_s() - t0;
    cpu[k] = cpu_s() - c0;
  }
  int same = memcmp(s[0]->it_w, s[1]->it_w, s[0]->n * sizeof s[0]->it_w[0]) == 0 &&
             memcmp(s[0]->row_w, s[1]->row_w, (size_t)s[0]->nrows * s[0]->n1 * sizeof(double)) == 0;
  hr_plan_utility_t u;
  hr_plan_utility_compute(s[1]->it_w, s[1]->n, s[1]->dt_s, &u);
  double steps = (double)servers * (double)s[1]->n;
  printf("bench_plan_site: %.1f h, %ld servers, %zu requests, %zu steps/server at %.2f s; peak IT "
         "%.1f kW, mean %.1f kW\n",
         hours, servers, w->n, s[1]->n, s[1]->dt_s, u.peak_w / 1e3, u.mean_w / 1e3);
  printf("  baseline, 1 thread : %8.2f s wall, %8.2f s CPU, %6.1f ns CPU per server-step\n",
         wall[0], cpu[0], 1e9 * cpu[0] / steps);
  printf("  all online CPUs    : %8.2f s wall, %8.2f s CPU; wall ratio %.2fx; results %s\n",
         wall[1], cpu[1], wall[0] / wall[1], same ? "identical" : "DIFFER");
  printf("  a 10,000-server day at this CPU cost: %.0f s of CPU (goal <= 60 s wall on 2 cores)\n",
         cpu[0] / steps * 10000.0 * 345600.0);
  hr_plan_site_destroy(s[0]);
  hr_plan_site_destroy(s[1]);
  hr_plan_workload_destroy(w);
  hr_plan_model_destroy(m);
  hr_plan_traceset_destroy(set);
  return same ? 0 : 1;
}
