/* Benchmark of the closed-loop simulator on one core (docs/performance.md).
 *
 * usage: bench_sim [SECONDS=20] [REPEATS=3] [fast|models]
 * (fast: the 1,024-GPU rows only, without the waveform rack; models: the
 * lease policy alone, plain and with each optional model in turn)
 *
 * A row of 16 racks x 8 servers x 8 GPUs (1,024 GPUs, 415 V, the
 * make_row_tree.py layout) runs synchronous training (0.5-s iterations,
 * 700 W / 250 W, a restart) for SECONDS of simulated time at 1-ms steps:
 *   baseline  a plain loop over the same 1,024 GPUs that does only the
 *             per-GPU work no simulator can skip (demand of the job, power
 *             slewing toward min(demand, cap), the sum): what "as fast as
 *             the GPUs can be stepped" means on this machine;
 *   fast none / fast headroom   the simulator's fast path with no control,
 *             and with the lease policy (agent, leases, devices, grid); the
 *             lease policy also with every rebalance in full (the exact skip
 *             off, hr__sim_set_lease_plain), run alternately with it: the
 *             skip's ratio in the same process;
 *   wave rack  one rack of 8 metered servers (64 GPUs) on the waveform
 *             path (8-kHz waveforms through the meter engine), headroom
 *             policy, against real time and against the same rack on the
 *             fast path.
 *   models    the lease policy on the row as above, then with the supplies'
 *             power factor (supply: pf curve; docs/sim.md "Power factor") and
 *             with sampled GPU telemetry (100-ms samples of 25-ms windows;
 *             "Telemetry") and with servers' base loads and supply losses
 *             ("Base load and supply losses"), and with sampled telemetry and
 *             the site metered (the fast path's stand-in meter, whose troughs
 *             the envelopes take: docs/loop.md), run alternately: each
 *             model's cost as a ratio to the plain run in the same process.
 * Prints best-of-REPEATS ns per GPU-step (thread CPU time), the ratio to the
 * baseline, and the time one hour of 1,024 GPUs would take on one core (the
 * goal: < 60 s), and
 * the waveform run's end-to-end control-loop latency p50/p99/max. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "headroom/sim.h"
#include "sim/sim_int.h"

/* This thread's CPU time: on a machine shared with other jobs the wall clock
 * counts the time the run waits for a core (the figures moved by 2x). */
static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The make_row_tree.py layout, racks x servers x 8 GPUs. */
static char *row_tree(int racks, int servers, int row_a)
{
  size_t cap = 256 + (size_t)racks * (160 + (size_t)servers * (64 + 8 * 64));
  char *t = malloc(cap);
  if (!t)
    exit(1);
  size_t n = (size_t)snprintf(
      t, cap,
      "version: 1\nnodes:\n"
      "  - {id: site, kind: utility, parent: null, voltage_v: 415, phases: 3, rating_a: %d,\n"
      "     grid: {max_ramp_kw_per_s: 100, ramp_window_s: 1}}\n"
      "  - {id: row, kind: branch, parent: site,\n"
      "     device: {type: trip_unit, curve: LSI, in_a: %d, tr_s: 12, isd: 6, tsd_s: 0.2, "
      "ii: 10}}\n",
      2 * row_a, row_a);
  for (int r = 0; r < racks; r++) {
    n += (size_t)snprintf(t + n, cap - n,
                          "  - {id: rack-%d, kind: rack, parent: row,\n"
                          "     device: {type: trip_unit, curve: LI, in_a: 63, tr_s: 8, ii: 10}}\n",
                          r);
    for (int s = 0; s < servers; s++) {
      n += (size_t)snprintf(t + n, cap - n, "  - {id: srv-%d-%d, kind: server, parent: rack-%d}\n",
                            r, s, r);
      for (int g = 0; g < 8; g++)
        n += (size_t)snprintf(
            t + n, cap - n, "  - {id: gpu-%d-%d-%d, kind: gpu, parent: srv-%d-%d, rating_w: 700}\n",
            r, s, g, r, s);
    }
  }
  return t;
}

static hr_sim_result_t last_res;

/* Optional scenario lines of the models mode ("" for none). */
static const char *sc_extra = "";

static double run_sim(const char *tree_text, int gpus, const char *policy, int waveforms,
                      double dur_s, int repeats, int no_skip)
{
  hr_tree_t *t = NULL;
  hr_diag_t e;
  if (hr_tree_load_buffer(tree_text, strlen(tree_text), "bench.yaml", &t, &e) != HR_OK) {
    fprintf(stderr, "tree: %s: %s\n", e.field, e.message);
    exit(1);
  }
  char sc_text[1024];
  /* (the servers metered on the waveform path only: on the fast path
   * metered nodes have their stand-in meters, docs/sim.md) */
  snprintf(sc_text, sizeof sc_text,
           "version: 1\ntree: unused\n%s%s"
           "workloads:\n"
           "  - {kind: training, gpus: [0, %d], period_s: 0.5, compute_frac: 0.6, compute_w: 700,\n"
           "     comm_w: 250, ramp_s: 2, restarts: [%g], restart_s: 1}\n",
           waveforms ? "metered: [server]\n" : "", sc_extra, gpus, dur_s / 2);
  double best = 1e30;
  for (int r = 0; r < repeats; r++) {
    hr_scenario_t sc;
    if (hr_scenario_load_buffer(sc_text, strlen(sc_text), "bench", ".", &sc, &e) != HR_OK)
      exit(1);
    sc.duration_s = dur_s;
    sc.waveforms = waveforms;
    hr_agent_cfg_t ac;
    hr_sim_policy_cfg(policy, &ac);
    hr_sim_t *s = NULL;
    if (hr_sim_create(&sc, t, &ac, &s, &e) != HR_OK) {
      fprintf(stderr, "sim: %s: %s\n", e.field, e.message);
      exit(1);
    }
    if (no_skip)
      hr__sim_set_lease_plain(s, 1);
    double t0 = now_s();
    if (hr_sim_run(s, NULL, NULL) != HR_OK)
      exit(1);
    double dt = now_s() - t0;
    best = dt < best ? dt : best;
    hr_sim_result(s, &last_res);
    hr_sim_destroy(s);
    hr_scenario_free(&sc);
  }
  hr_tree_destroy(t);
  return best;
}

/* The plain loop: what stepping the GPUs costs by itself. */
static double run_baseline(int gpus, double dur_s, int repeats, double *sink)
{
  double *p = malloc((size_t)gpus * sizeof *p), *cap = malloc((size_t)gpus * sizeof *cap);
  if (!p || !cap)
    exit(1);
  double best = 1e30;
  long steps = (long)(dur_s * 1e3);
  for (int r = 0; r < repeats; r++) {
    for (int k = 0; k < gpus; k++) {
      p[k] = 70.0;
      cap[k] = 600.0 + (double)(k % 7);
    }
    double acc = 0.0, phi = 0.0;
    double t0 = now_s();
    for (long i = 0; i < steps; i++) {
      phi += 1e-3;
      if (phi >= 0.5)
        phi -= 0.5;
      double d = phi < 0.3 ? 700.0 : 250.0, site = 0.0;
      for (int k = 0; k < gpus; k++) {
        double tg = d < cap[k] ? d : cap[k], x = p[k];
        x = tg > x ? (x + 80.0 < tg ? x + 80.0 : tg) : (x - 80.0 > tg ? x - 80.0 : tg);
        p[k] = x;
        site += x;
      }
      acc += site;
    }
    double dt = now_s() - t0;
    *sink += acc;
    best = dt < best ? dt : best;
  }
  free(p);
  free(cap);
  return best;
}

int main(int argc, char **argv)
{
  double dur = argc > 1 ? atof(argv[1]) : 20.0;
  int repeats = argc > 2 ? atoi(argv[2]) : 3;
  int fast_only = argc > 3 && strcmp(argv[3], "fast") == 0;
  int models = argc > 3 && strcmp(argv[3], "models") == 0;
  if (!(dur >= 1.0) || repeats < 1 || (argc > 3 && !fast_only && !models)) {
    fprintf(stderr, "usage: bench_sim [SECONDS>=1] [REPEATS>=1] [fast|models]\n");
    return 2;
  }
  const int gpus = 1024;
  char *row = row_tree(16, 8, 2000);
  if (models) {
    /* The plain lease run and each model's, alternately (a shared machine
     * drifts between back-to-back blocks); best of REPEATS each. */
    enum { N_MODELS = 5 };
    static const char *const extra[N_MODELS] = {
        "", "supply: {pf: [[0.1, 0.90], [0.5, 0.96], [1.0, 0.98]]}\n",
        "gpu: {telemetry_period_ms: 100, telemetry_window_ms: 25}\n",
        "supply: {base_w: 1000, efficiency: [[0.1, 0.90], [0.5, 0.96], [1.0, 0.91]]}\n",
        "gpu: {telemetry_period_ms: 100, telemetry_window_ms: 25}\nmetered: [site]\n"};
    static const char *const name[N_MODELS] = {"plain", "power factor", "sampled telemetry",
                                               "base load, losses", "sampled, site meter"};
    double best[N_MODELS] = {1e30, 1e30, 1e30, 1e30, 1e30};
    for (int r = 0; r < repeats; r++)
      for (int m = 0; m < N_MODELS; m++) {
        sc_extra = extra[m];
        double x = run_sim(row, gpus, "headroom", 0, dur, 1, 0);
        best[m] = x < best[m] ? x : best[m];
      }
    printf("bench_sim models: %.0f s simulated at 1 ms, lease policy, 1024 GPUs, best of %d\n", dur,
           repeats);
    for (int m = 0; m < N_MODELS; m++)
      printf("%-18s %7.2f ns/GPU-step  1 h: %7.1f s  ratio to plain %.3f\n", name[m],
             1e9 * best[m] / (dur * 1e3 * gpus), best[m] * 3600.0 / dur, best[m] / best[0]);
    free(row);
    return 0;
  }
  char *rack = row_tree(1, 8, 200);
  double sink = 0.0;
  double steps = dur * 1e3 * gpus;
  double base = run_baseline(gpus, dur, repeats, &sink);
  double none = run_sim(row, gpus, "none", 0, dur, repeats, 0);
  /* The lease policy with the rebalance's exact skip and without it, run
   * alternately (on a shared machine, back-to-back blocks drift apart). */
  double lease = 1e30, full = 1e30;
  for (int r = 0; r < repeats; r++) {
    double a = run_sim(row, gpus, "headroom", 0, dur, 1, 0);
    double b = run_sim(row, gpus, "headroom", 0, dur, 1, 1);
    lease = a < lease ? a : lease;
    full = b < full ? b : full;
  }
  double wave = 0.0, rack_fast = 0.0;
  hr_sim_result_t wres;
  if (!fast_only) {
    wave = run_sim(rack, 64, "headroom", 1, dur, repeats, 0);
    wres = last_res;
    rack_fast = run_sim(rack, 64, "headroom", 0, dur, repeats, 0);
  }
  printf("bench_sim: %.0f s simulated at 1 ms, best of %d (checksum %.3g)\n", dur, repeats, sink);
  printf("baseline      1024 GPUs  %7.2f ns/GPU-step  1 h: %7.1f s\n", 1e9 * base / steps,
         base * 3600.0 / dur);
  printf("fast none     1024 GPUs  %7.2f ns/GPU-step  1 h: %7.1f s  ratio to baseline %.2f\n",
         1e9 * none / steps, none * 3600.0 / dur, none / base);
  printf("fast headroom 1024 GPUs  %7.2f ns/GPU-step  1 h: %7.1f s  ratio to baseline %.2f\n",
         1e9 * lease / steps, lease * 3600.0 / dur, lease / base);
  printf("fast headroom 1024 GPUs  %7.2f ns/GPU-step  1 h: %7.1f s  ratio to baseline %.2f, "
         "every rebalance in full (no skip); skip / no skip %.3f\n",
         1e9 * full / steps, full * 3600.0 / dur, full / base, lease / full);
  if (fast_only) {
    free(row);
    free(rack);
    return 0;
  }
  printf("wave headroom 8 metered servers (64 GPUs): %.1f x real time; %.2f x the fast path's "
         "wall time for the same rack (%.3f s vs %.3f s)\n",
         dur / wave, wave / rack_fast, wave, rack_fast);
  printf("wave end-to-end latency (samples -> meters -> agent -> cap call), last run: %llu "
         "decisions, p50 %.4f ms, p99 %.4f ms, max %.4f ms\n",
         (unsigned long long)wres.e2e_n, 1e3 * wres.e2e_p50_s, 1e3 * wres.e2e_p99_s,
         1e3 * wres.e2e_max_s);
  free(row);
  free(rack);
  return 0;
}
