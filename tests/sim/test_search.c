#define _POSIX_C_SOURCE 200809L /* mkdtemp */
/* The capacity search against independent references: the spread order
 * written out by hand, static derating's count from the breakers' ratings by
 * formula, and the bisection against a linear scan of every count. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "headroom/sim.h"
#include "sim/sim_int.h"

/* The tree in yaml, which must load. */
static hr_tree_t *load_tree(const char *yaml)
{
  hr_tree_t *t = NULL;
  hr_diag_t e;
  assert_int_equal(hr_tree_load_buffer(yaml, strlen(yaml), "t.yaml", &t, &e), HR_OK);
  return t;
}

static const char TREE2x3[] = "version: 1\n"
                              "nodes:\n"
                              "  - {id: site, kind: utility, parent: null, voltage_v: 415, "
                              "phases: 3, rating_a: 100}\n"
                              "  - {id: r0, kind: rack, parent: site}\n"
                              "  - {id: r1, kind: rack, parent: site}\n"
                              "  - {id: s00, kind: server, parent: r0}\n"
                              "  - {id: g000, kind: gpu, parent: s00, rating_w: 700}\n"
                              "  - {id: g001, kind: gpu, parent: s00, rating_w: 700}\n"
                              "  - {id: s01, kind: server, parent: r0}\n"
                              "  - {id: g010, kind: gpu, parent: s01, rating_w: 700}\n"
                              "  - {id: g011, kind: gpu, parent: s01, rating_w: 700}\n"
                              "  - {id: s02, kind: server, parent: r0}\n"
                              "  - {id: g020, kind: gpu, parent: s02, rating_w: 700}\n"
                              "  - {id: g021, kind: gpu, parent: s02, rating_w: 700}\n"
                              "  - {id: s10, kind: server, parent: r1}\n"
                              "  - {id: g100, kind: gpu, parent: s10, rating_w: 700}\n"
                              "  - {id: g101, kind: gpu, parent: s10, rating_w: 700}\n"
                              "  - {id: s11, kind: server, parent: r1}\n"
                              "  - {id: g110, kind: gpu, parent: s11, rating_w: 700}\n"
                              "  - {id: g111, kind: gpu, parent: s11, rating_w: 700}\n";

/* Servers round robin over the racks, a server's GPUs together; the rack
 * with fewer servers simply runs out. */
static void test_spread_order(void **st)
{
  (void)st;
  hr_tree_t *t = load_tree(TREE2x3);
  int32_t order[10];
  assert_int_equal(hr__sim_spread_order(t, order, 10), HR_OK);
  static const char *want[10] = {"g000", "g001", "g100", "g101", "g010",
                                 "g011", "g110", "g111", "g020", "g021"};
  for (int k = 0; k < 10; k++)
    assert_string_equal(hr_tree_node(t, (size_t)order[k])->id, want[k]);
  /* A wrong slot count is refused, not half written. */
  assert_int_equal(hr__sim_spread_order(t, order, 9), HR_ERR_STATE);
  hr_tree_destroy(t);
}

/* scenarios/trees/row-4x10.yaml: a 200 A row and four 63 A racks at 415 V,
 * 10 servers x 8 GPUs each.  Nameplate planning at 70 %: the count is the
 * largest G whose GPUs fit every breaker, written out from the ratings. */
static int expect_static(int spread, double frac, double pf)
{
  const double row_w = sqrt(3.0) * 415.0 * 200.0, rack_w = sqrt(3.0) * 415.0 * 63.0;
  int per_rack[4] = {0, 0, 0, 0}, best = 0;
  for (int g = 1; g <= 320; g++) {
    int server = (g - 1) / 8; /* the server the g-th GPU sits in, in fill order */
    int rack = spread ? server % 4 : server / 10;
    per_rack[rack]++;
    if (g * 700.0 / pf > frac * row_w || per_rack[rack] * 700.0 / pf > frac * rack_w)
      break;
    best = g;
  }
  return best;
}

static void test_static_count(void **st)
{
  (void)st;
  hr_tree_t *t = NULL;
  hr_diag_t e;
  assert_int_equal(hr_tree_load_file(HR_SOURCE_DIR "/scenarios/trees/row-4x10.yaml", &t, &e),
                   HR_OK);
  hr_scenario_t sc;
  hr_scenario_init(&sc);
  const double fr[3] = {0.7, 0.6, 1.0};
  for (int spread = 0; spread < 2; spread++)
    for (int f = 0; f < 3; f++) {
      sc.populate = spread ? HR_POP_SPREAD : HR_POP_TREE;
      int got = -1;
      assert_int_equal(hr_sim_static_count(&sc, t, fr[f], &got), HR_OK);
      assert_int_equal(got, expect_static(spread, fr[f], 1.0));
    }
  /* At a told power factor every GPU counts 700 / pf volt-amperes: the
   * supplies' lowest, or budget_pf when given. */
  sc.supply.n_pf = 2;
  sc.supply.pf_load[0] = 0.1;
  sc.supply.pf[0] = 0.85;
  sc.supply.pf_load[1] = 1.0;
  sc.supply.pf[1] = 0.98;
  for (int spread = 0; spread < 2; spread++) {
    sc.populate = spread ? HR_POP_SPREAD : HR_POP_TREE;
    int got = -1;
    sc.supply.budget_pf = 0.0;
    assert_int_equal(hr_sim_static_count(&sc, t, 0.7, &got), HR_OK);
    assert_int_equal(got, expect_static(spread, 0.7, 0.85));
    assert_true(got < expect_static(spread, 0.7, 1.0));
    sc.supply.budget_pf = 0.95;
    assert_int_equal(hr_sim_static_count(&sc, t, 0.7, &got), HR_OK);
    assert_int_equal(got, expect_static(spread, 0.7, 0.95));
  }
  sc.supply.n_pf = 0;
  sc.supply.budget_pf = 0.0;
  /* The row binds when spread (143 of 700 W in 100.6 kW), a rack when
   * filled rack by rack (45 in 31.7 kW). */
  sc.populate = HR_POP_SPREAD;
  int got = 0;
  hr_sim_static_count(&sc, t, 0.7, &got);
  assert_int_equal(got, 143);
  sc.populate = HR_POP_TREE;
  hr_sim_static_count(&sc, t, 0.7, &got);
  assert_int_equal(got, 45);
  hr_tree_destroy(t);
  /* A rating in watts stays watts: a rack rated 5.6 kW (no current rating)
   * holds 8 GPUs of 700 W at PF 0.5 as at PF 1; rated 12 A at 415 V
   * (8.63 kVA) it holds 8 at PF 1 and 6 at PF 0.5 (4.31 kW). */
  static const char *const racks[2] = {"rating_w: 5600", "rating_a: 12"};
  const int want[2][2] = {{8, 8}, {8, 6}};
  for (int r = 0; r < 2; r++) {
    char tt[2048];
    int n = snprintf(tt, sizeof tt,
                     "version: 1\nnodes:\n"
                     "  - {id: site, kind: utility, parent: null, voltage_v: 415, phases: 3, "
                     "rating_a: 400}\n"
                     "  - {id: rack, kind: rack, parent: site, %s}\n"
                     "  - {id: s0, kind: server, parent: rack}\n",
                     racks[r]);
    for (int g = 0; g < 8; g++)
      n += snprintf(tt + n, sizeof tt - (size_t)n,
                    "  - {id: g%d, kind: gpu, parent: s0, rating_w: 700}\n", g);
    assert_int_equal(hr_tree_load_buffer(tt, strlen(tt), "r.yaml", &t, &e), HR_OK);
    for (int k = 0; k < 2; k++) {
      sc.supply.budget_pf = k ? 0.5 : 0.0;
      int cnt = -1;
      assert_int_equal(hr_sim_static_count(&sc, t, 1.0, &cnt), HR_OK);
      print_message("rack %s, told PF %.1f: %d GPUs\n", racks[r], k ? 0.5 : 1.0, cnt);
      assert_int_equal(cnt, want[r][k]);
    }
    hr_tree_destroy(t);
  }
  /* Base loads and supply losses (docs/sim.md, "Base load and supply
   * losses"): 4 servers of 8 slots under a 40-A rack (0.7 x 28.75 kW); a
   * server's base counts once its first GPU is in, and everything through
   * the supplies at the told efficiency: the largest N with (700 N + base x
   * ceil(N / 8)) / eff <= 0.7 x capacity, written out here. */
  char tt[8192];
  int n = snprintf(tt, sizeof tt,
                   "version: 1\nnodes:\n"
                   "  - {id: site, kind: utility, parent: null, voltage_v: 415, phases: 3, "
                   "rating_a: 400}\n"
                   "  - {id: rack, kind: rack, parent: site, rating_a: 40}\n");
  for (int sv = 0; sv < 4; sv++) {
    n += snprintf(tt + n, sizeof tt - (size_t)n, "  - {id: s%d, kind: server, parent: rack}\n", sv);
    for (int g = 0; g < 8; g++)
      n += snprintf(tt + n, sizeof tt - (size_t)n,
                    "  - {id: g%d_%d, kind: gpu, parent: s%d, rating_w: 700}\n", sv, g, sv);
  }
  assert_int_equal(hr_tree_load_buffer(tt, strlen(tt), "b.yaml", &t, &e), HR_OK);
  hr_scenario_init(&sc);
  const double cap = 0.7 * 40 * 415 * 1.7320508075688772;
  const double bases[3] = {0.0, 2000.0, 2000.0}, effs[3] = {0.9, 0.0, 0.9};
  for (int c = 0; c < 3; c++) {
    sc.supply.base_w = bases[c];
    sc.supply.n_eff = effs[c] > 0.0 ? 1 : 0;
    sc.supply.eff_load[0] = 1.0;
    sc.supply.eff[0] = effs[c];
    double eff = effs[c] > 0.0 ? effs[c] : 1.0;
    int want_n = 0;
    for (int k = 1; k <= 32; k++)
      if ((700.0 * k + bases[c] * ((k + 7) / 8)) / eff <= cap)
        want_n = k;
    int cnt = -1;
    assert_int_equal(hr_sim_static_count(&sc, t, 0.7, &cnt), HR_OK);
    print_message("base %.0f W, efficiency %.2f: %d GPUs (want %d)\n", bases[c], eff, cnt, want_n);
    assert_int_equal(cnt, want_n);
  }
  /* the planner plans with the base it is told */
  int told0 = -1, plain = -1;
  sc.supply.budget_base_w = 0.0;
  assert_int_equal(hr_sim_static_count(&sc, t, 0.7, &told0), HR_OK);
  sc.supply.base_w = 0.0;
  sc.supply.budget_base_w = -1.0;
  assert_int_equal(hr_sim_static_count(&sc, t, 0.7, &plain), HR_OK);
  assert_int_equal(told0, plain);
  hr_tree_destroy(t);
}

/* Four servers of two 700-W GPUs under the node "rack" (the trees below
 * differ only above it). */
#define RACK_4X2                                                                                   \
  "  - {id: s0, kind: server, parent: rack}\n"                                                     \
  "  - {id: g0, kind: gpu, parent: s0, rating_w: 700}\n"                                           \
  "  - {id: g1, kind: gpu, parent: s0, rating_w: 700}\n"                                           \
  "  - {id: s1, kind: server, parent: rack}\n"                                                     \
  "  - {id: g2, kind: gpu, parent: s1, rating_w: 700}\n"                                           \
  "  - {id: g3, kind: gpu, parent: s1, rating_w: 700}\n"                                           \
  "  - {id: s2, kind: server, parent: rack}\n"                                                     \
  "  - {id: g4, kind: gpu, parent: s2, rating_w: 700}\n"                                           \
  "  - {id: g5, kind: gpu, parent: s2, rating_w: 700}\n"                                           \
  "  - {id: s3, kind: server, parent: rack}\n"                                                     \
  "  - {id: g6, kind: gpu, parent: s3, rating_w: 700}\n"                                           \
  "  - {id: g7, kind: gpu, parent: s3, rating_w: 700}\n"

/* One rack, 4 A trip unit, 8 GPUs at 700 W without control: 0.974 A each, so
 * five or more exceed the 4.4 A pickup and trip within the run. */
static const char TREE8[] =
    "version: 1\n"
    "nodes:\n"
    "  - {id: site, kind: utility, parent: null, voltage_v: 415, "
    "phases: 3, rating_a: 100}\n"
    "  - {id: rack, kind: rack, parent: site,\n"
    "     device: {type: trip_unit, curve: LI, in_a: 4, tr_s: 8, ii: 10}}\n" RACK_4X2;

/* The trials' scenario: batch work at 700 W on all 8 GPUs from start_s,
 * 10-ms steps, 10-s samples; w is the workload sc points to. */
static void batch_scenario(hr_scenario_t *sc, hr_workload_t *w, double dur_s, double start_s)
{
  hr_scenario_init(sc);
  sc->duration_s = dur_s;
  sc->step_ms = 10;
  sc->sample_s = 10;
  sc->gpus = 8;
  memset(w, 0, sizeof *w);
  w->kind = HR_WORK_BATCH;
  w->gpu_first = 0;
  w->gpu_end = 8;
  w->power_w = 700;
  w->start_s = start_s;
  sc->work = w;
  sc->n_work = 1;
}

/* One direct run of sc with its workload w cut to the first g GPUs: the
 * references below read each count's result from it, not from the search. */
static void direct_run(const hr_scenario_t *sc, const hr_workload_t *w, const hr_tree_t *t,
                       const hr_agent_cfg_t *ac, int g, hr_sim_result_t *r)
{
  hr_scenario_t one = *sc;
  hr_workload_t wg = *w;
  wg.gpu_end = g;
  one.work = &wg;
  one.gpus = g;
  hr_sim_t *s = NULL;
  hr_diag_t e;
  assert_int_equal(hr_sim_create(&one, t, ac, &s, &e), HR_OK);
  assert_int_equal(hr_sim_run(s, NULL, NULL), HR_OK);
  assert_int_equal(hr_sim_result(s, r), HR_OK);
  hr_sim_destroy(s);
}

static int seen;
static int count_trial(void *user, const hr_sim_trial_t *t)
{
  (void)user;
  (void)t;
  seen++;
  return 0;
}

static void test_search_matches_scan(void **st)
{
  (void)st;
  hr_tree_t *t = load_tree(TREE8);
  hr_diag_t e;
  hr_scenario_t sc;
  hr_workload_t w;
  batch_scenario(&sc, &w, 600.0, 0.0);
  hr_agent_cfg_t ac;
  assert_int_equal(hr_sim_policy_cfg("none", &ac), HR_OK);
  /* The reference: every count, one by one. */
  int scan = 0;
  for (int g = 1; g <= 8; g++) {
    hr_sim_result_t r;
    direct_run(&sc, &w, t, &ac, g, &r);
    if (r.trips == 0 && r.work_frac >= 0.99)
      scan = g;
  }
  assert_int_equal(scan, 4); /* 5 x 0.974 A = 4.87 A > 4.4 A trips in ~400 s */
  hr_sim_search_cfg_t cfg;
  assert_int_equal(hr_sim_search_cfg_init(&cfg), HR_OK);
  cfg.on_trial = count_trial;
  hr_sim_search_result_t res;
  seen = 0;
  assert_int_equal(hr_sim_search(&sc, t, &ac, &cfg, &res, &e), HR_OK);
  assert_int_equal(res.gpus, scan);
  assert_true(res.bracketed);
  assert_int_equal((int)res.n_trials, seen);
  assert_true(res.n_trials <= 5); /* bisection over 8 counts: 2 ends + 3 */
  /* Static derating at 70 % of the 4 A unit (2.011 kW): two GPUs. */
  assert_int_equal(res.gpus_static, (int)floor(0.7 * sqrt(3.0) * 415.0 * 4.0 / 700.0));
  assert_true(fabs(res.recovered - (4.0 / res.gpus_static - 1.0)) < 1e-12);
  hr_sim_search_result_free(&res);
  /* Step 2: only even counts. */
  cfg.step = 2;
  cfg.gpus_lo = 2;
  assert_int_equal(hr_sim_search(&sc, t, &ac, &cfg, &res, &e), HR_OK);
  assert_int_equal(res.gpus, 4);
  for (size_t k = 0; k < res.n_trials; k++)
    assert_int_equal(res.trials[k].gpus % 2, 0);
  hr_sim_search_result_free(&res);
  /* Out of range settings are refused, naming the setting. */
  cfg.gpus_hi = 9;
  assert_int_equal(hr_sim_search(&sc, t, &ac, &cfg, &res, &e), HR_ERR_RANGE);
  assert_string_equal(e.field, "gpus");
  cfg.gpus_hi = -1;
  cfg.max_loss = 1.0;
  assert_int_equal(hr_sim_search(&sc, t, &ac, &cfg, &res, &e), HR_ERR_RANGE);
  assert_string_equal(e.field, "max_loss");
  hr_tree_destroy(t);
}

/* The trial's load sustained: TREE8 for 30 s only, too short for any count
 * to trip (8 GPUs, 7.79 A = 1.95 In, take 238 s x ln(3.79 / 2.58) = 92 s
 * from cold: tau = 36 tr / k^2, orchestration.md §3.2), so a search that
 * looked at trips alone would host all 8.  A trial passes only if its
 * heaviest minute, sustained, stays below the unit's ultimate tripping
 * current k x Ir = 1.1 x 4 A: the answer is the largest g with
 * g x 700 W / (3 x 415 V / sqrt 3) < 4.4 A, written out here. */
static void test_search_sustained(void **st)
{
  (void)st;
  hr_tree_t *t = load_tree(TREE8);
  hr_diag_t e;
  hr_scenario_t sc;
  hr_workload_t w;
  batch_scenario(&sc, &w, 30.0, 0.0);
  hr_agent_cfg_t ac;
  assert_int_equal(hr_sim_policy_cfg("none", &ac), HR_OK);
  const double i_gpu = 700.0 / (3.0 * 415.0 / sqrt(3.0)), i_trip = 1.1 * 4.0;
  int want = 0;
  while ((want + 1) * i_gpu < i_trip)
    want++;
  assert_int_equal(want, 4);
  hr_sim_search_cfg_t cfg;
  assert_int_equal(hr_sim_search_cfg_init(&cfg), HR_OK);
  hr_sim_search_result_t res;
  assert_int_equal(hr_sim_search(&sc, t, &ac, &cfg, &res, &e), HR_OK);
  assert_int_equal(res.gpus, want);
  int saw8 = 0, saw4 = 0;
  for (size_t k = 0; k < res.n_trials; k++) {
    const hr_sim_trial_t *tr = &res.trials[k];
    assert_int_equal(tr->trips, 0); /* nothing trips within 30 s */
    /* The load is constant after the first steps: its RMS is g x i_gpu. */
    double ratio = tr->gpus * i_gpu / i_trip;
    print_message("sustained: %d GPUs: %.5f (closed form %.5f) -> %s\n", tr->gpus, tr->max_sustain,
                  ratio, tr->ok ? "ok" : "fails");
    assert_true(fabs(tr->max_sustain - ratio) < 2e-3 * ratio);
    assert_int_equal(tr->ok, ratio < 1.0);
    saw8 += tr->gpus == 8;
    saw4 += tr->gpus == 4;
  }
  assert_true(saw8 && saw4);
  hr_sim_search_result_free(&res);
  hr_tree_destroy(t);
}

/* A few GPUs in a big row under the lease policy: every coordinator rounds
 * its grant down to a token, and the empty slots must neither hold floors
 * nor dilute the throttled GPUs' probes, or the caps stay near their floors
 * (before the fix: 210 W caps, work 0.70 for 8 GPUs wanting 700 W in a row
 * rated for 115 kW). */
static void test_few_gpus_grow(void **st)
{
  (void)st;
  hr_tree_t *t = NULL;
  hr_diag_t e;
  assert_int_equal(hr_tree_load_file(HR_SOURCE_DIR "/scenarios/trees/row-4x10.yaml", &t, &e),
                   HR_OK);
  hr_scenario_t sc;
  hr_scenario_init(&sc);
  sc.duration_s = 30;
  sc.gpus = 8;
  hr_workload_t w;
  memset(&w, 0, sizeof w);
  w.kind = HR_WORK_BATCH;
  w.gpu_first = 0;
  w.gpu_end = 8;
  w.power_w = 650;
  sc.work = &w;
  sc.n_work = 1;
  hr_agent_cfg_t ac;
  assert_int_equal(hr_sim_policy_cfg("headroom", &ac), HR_OK);
  hr_sim_t *s = NULL;
  assert_int_equal(hr_sim_create(&sc, t, &ac, &s, &e), HR_OK);
  assert_int_equal(hr_sim_run(s, NULL, NULL), HR_OK);
  hr_sim_result_t r;
  assert_int_equal(hr_sim_result(s, &r), HR_OK);
  assert_int_equal(r.trips, 0);
  assert_true(r.work_frac > 0.99);
  /* Tree order: the agent's first 8 leaves are the populated GPUs. */
  for (size_t d = 0; d < 8; d++)
    assert_true(hr_agent_cap_w(hr_sim_agent(s), d) >= 650.0);
  hr_sim_destroy(s);
  hr_tree_destroy(t);
}

/* ---- the grid criterion and the contingencies ------------------------------------ */

/* One rack of 8 GPUs (4 servers x 2) under a site whose grid ramp limit is
 * 2 kW/s over a 1-s window; no protective device binds (rating 100 A). */
static const char TREE_RAMP[] = "version: 1\n"
                                "nodes:\n"
                                "  - {id: site, kind: utility, parent: null, voltage_v: 415, "
                                "phases: 3, rating_a: 100,\n"
                                "     grid: {max_ramp_kw_per_s: 2, ramp_window_s: 1}}\n"
                                "  - {id: rack, kind: rack, parent: site}\n" RACK_4X2;

/* n GPUs that step together by dP within a step move the site by n dP
 * within one ramp window, so the largest count within the limit is the
 * largest n with n dP / window <= limit: written out here. */
static int ramp_closed_form(double dp_w)
{
  const double limit_w_per_s = 2000.0, window_s = 1.0;
  int n = 0;
  while (n < 8 && (n + 1) * dp_w / window_s <= limit_w_per_s)
    n++;
  return n;
}

static void ramp_search(hr_scenario_t *sc, const hr_tree_t *t, int grid, int rises_only,
                        hr_sim_search_result_t *res)
{
  hr_agent_cfg_t ac;
  assert_int_equal(hr_sim_policy_cfg("none", &ac), HR_OK);
  hr_sim_search_cfg_t cfg;
  assert_int_equal(hr_sim_search_cfg_init(&cfg), HR_OK);
  assert_int_equal(cfg.grid_limits, 1); /* on by default */
  cfg.grid_limits = grid;
  cfg.ramp_rises_only = rises_only;
  hr_diag_t e;
  assert_int_equal(hr_sim_search(sc, t, &ac, &cfg, res, &e), HR_OK);
  assert_true(res->bracketed);
}

/* A rise: batch work at 700 W starts on every GPU at 2 s (from idle, 70 W:
 * 630 W each); a fall: training at 700 W in both phases after a 4-s start
 * ramp (158 W/s per GPU, within the limit for all 8), every GPU back at idle
 * from a restart at 6 s to the end (630 W each).  Both bind at
 * floor(2000 / 630) = 3 GPUs; a search that counts rises only hosts all 8
 * in the fall, and without the grid criterion both host 8 (nothing trips,
 * nothing is capped). */
static void test_search_ramp_limit(void **st)
{
  (void)st;
  hr_tree_t *t = load_tree(TREE_RAMP);
  hr_scenario_t sc;
  hr_scenario_init(&sc);
  sc.duration_s = 10;
  sc.gpus = 8;
  const int want = ramp_closed_form(700.0 - sc.gpu.idle_w);
  assert_int_equal(want, 3);
  hr_workload_t w;
  memset(&w, 0, sizeof w);
  w.kind = HR_WORK_BATCH;
  w.gpu_end = 8;
  w.power_w = 700;
  w.start_s = 2;
  sc.work = &w;
  sc.n_work = 1;
  hr_sim_search_result_t res;
  for (int rises_only = 0; rises_only < 2; rises_only++) {
    ramp_search(&sc, t, 1, rises_only, &res);
    assert_int_equal(res.gpus, want);
    for (size_t k = 0; k < res.n_trials; k++) {
      const hr_sim_trial_t *tr = &res.trials[k];
      print_message("rise: %d GPUs: ramp %.3f s (up %.3f, down %.3f) -> %s\n", tr->gpus,
                    tr->ramp_viol_s, tr->ramp_up_s, tr->ramp_down_s, tr->ok ? "ok" : "fails");
      assert_true(tr->ramp_down_s == 0.0);
      assert_true(fabs(tr->ramp_up_s - tr->ramp_viol_s) < 1e-9);
      /* Over the limit, a step shows for the whole window less its slew. */
      if (tr->gpus > want) {
        assert_true(tr->ramp_up_s > 0.9 && tr->ramp_up_s < 1.01);
        assert_int_equal(tr->fail, HR_SIM_FAIL_RAMP);
      } else {
        assert_true(tr->ramp_viol_s == 0.0);
      }
    }
    hr_sim_search_result_free(&res);
  }
  ramp_search(&sc, t, 0, 0, &res);
  assert_int_equal(res.gpus, 8);
  hr_sim_search_result_free(&res);

  memset(&w, 0, sizeof w);
  w.kind = HR_WORK_TRAINING;
  w.gpu_end = 8;
  w.period_s = 1;
  w.compute_frac = 0.7;
  w.compute_w = w.comm_w = 700;
  w.ramp_s = 4;
  w.restart_at_s[0] = 6;
  w.n_restarts = 1;
  w.restart_s = 100;
  ramp_search(&sc, t, 1, 0, &res);
  assert_int_equal(res.gpus, want);
  for (size_t k = 0; k < res.n_trials; k++) {
    const hr_sim_trial_t *tr = &res.trials[k];
    print_message("fall: %d GPUs: ramp %.3f s (up %.3f, down %.3f) -> %s\n", tr->gpus,
                  tr->ramp_viol_s, tr->ramp_up_s, tr->ramp_down_s, tr->ok ? "ok" : "fails");
    assert_true(tr->ramp_up_s == 0.0);
    if (tr->gpus > want)
      assert_true(tr->ramp_down_s > 0.9 && tr->ramp_down_s < 1.01);
  }
  hr_sim_search_result_free(&res);
  ramp_search(&sc, t, 1, 1, &res);
  assert_int_equal(res.gpus, 8);
  hr_sim_search_result_free(&res);
  ramp_search(&sc, t, 0, 0, &res);
  assert_int_equal(res.gpus, 8);
  hr_sim_search_result_free(&res);
  hr_tree_destroy(t);
}

/* 2N: 6 dual-corded servers of 2 GPUs, each feed a 5-A trip unit.  With
 * both feeds up each carries half of every GPU, so the sustained criterion
 * binds at the largest n with n x I_gpu / 2 < 1.1 x 5 A; with the loss of
 * feed b one unit carries every GPU in full: n x I_gpu < 5.5 A.  I_gpu =
 * 700 W / (3 x 415 V / sqrt 3), balanced over the three phases. */
static const char TREE_2N[] =
    "version: 1\n"
    "redundancy: 2n\n"
    "nodes:\n"
    "  - {id: ups-a, kind: ups, parent: null, feed: a, voltage_v: 415, phases: 3, rating_a: 100}\n"
    "  - {id: brk-a, kind: branch, parent: ups-a,\n"
    "     device: {type: trip_unit, curve: LI, in_a: 5, tr_s: 8, ii: 10}}\n"
    "  - {id: ups-b, kind: ups, parent: null, feed: b, voltage_v: 415, phases: 3, rating_a: 100}\n"
    "  - {id: brk-b, kind: branch, parent: ups-b,\n"
    "     device: {type: trip_unit, curve: LI, in_a: 5, tr_s: 8, ii: 10}}\n"
    "  - {id: s0, kind: server, parent: brk-a, parent_b: brk-b}\n"
    "  - {id: g00, kind: gpu, parent: s0, rating_w: 700}\n"
    "  - {id: g01, kind: gpu, parent: s0, rating_w: 700}\n"
    "  - {id: s1, kind: server, parent: brk-a, parent_b: brk-b}\n"
    "  - {id: g10, kind: gpu, parent: s1, rating_w: 700}\n"
    "  - {id: g11, kind: gpu, parent: s1, rating_w: 700}\n"
    "  - {id: s2, kind: server, parent: brk-a, parent_b: brk-b}\n"
    "  - {id: g20, kind: gpu, parent: s2, rating_w: 700}\n"
    "  - {id: g21, kind: gpu, parent: s2, rating_w: 700}\n"
    "  - {id: s3, kind: server, parent: brk-a, parent_b: brk-b}\n"
    "  - {id: g30, kind: gpu, parent: s3, rating_w: 700}\n"
    "  - {id: g31, kind: gpu, parent: s3, rating_w: 700}\n"
    "  - {id: s4, kind: server, parent: brk-a, parent_b: brk-b}\n"
    "  - {id: g40, kind: gpu, parent: s4, rating_w: 700}\n"
    "  - {id: g41, kind: gpu, parent: s4, rating_w: 700}\n"
    "  - {id: s5, kind: server, parent: brk-a, parent_b: brk-b}\n"
    "  - {id: g50, kind: gpu, parent: s5, rating_w: 700}\n"
    "  - {id: g51, kind: gpu, parent: s5, rating_w: 700}\n";

static void test_search_feed_loss_contingency(void **st)
{
  (void)st;
  hr_tree_t *t = load_tree(TREE_2N);
  hr_diag_t e;
  /* The scenario and its contingency as a file would give them. */
  static const char SCEN[] = "version: 1\n"
                             "tree: t.yaml\n"
                             "duration_s: 120\n"
                             "step_ms: 10\n"
                             "sample_s: 10\n"
                             "gpus: 12\n"
                             "workloads:\n"
                             "  - {kind: batch, gpus: [0, 12], power_w: 700}\n"
                             "contingencies:\n"
                             "  - {kind: feed_loss, feed: b, at_s: 1}\n";
  hr_scenario_t sc;
  assert_int_equal(hr_scenario_load_buffer(SCEN, strlen(SCEN), "s.yaml", ".", &sc, &e), HR_OK);
  assert_int_equal((int)sc.n_contingencies, 1);
  assert_int_equal((int)sc.n_events, 0);
  assert_int_equal(sc.contingencies[0].kind, HR_SIM_FEED_LOSS);
  const double i_gpu = 700.0 / (3.0 * 415.0 / sqrt(3.0)), i_trip = 1.1 * 5.0;
  int both = 0, one = 0;
  while (both < 12 && (both + 1) * i_gpu / 2.0 < i_trip)
    both++;
  while (one < 12 && (one + 1) * i_gpu < i_trip)
    one++;
  assert_int_equal(both, 11);
  assert_int_equal(one, 5);
  hr_agent_cfg_t ac;
  assert_int_equal(hr_sim_policy_cfg("none", &ac), HR_OK);
  hr_sim_search_cfg_t cfg;
  assert_int_equal(hr_sim_search_cfg_init(&cfg), HR_OK);
  hr_sim_search_result_t res;
  assert_int_equal(hr_sim_search(&sc, t, &ac, &cfg, &res, &e), HR_OK);
  assert_int_equal(res.gpus, one);
  int saw_cont_fail = 0;
  for (size_t k = 0; k < res.n_trials; k++) {
    const hr_sim_trial_t *tr = &res.trials[k];
    print_message("2n: %d GPUs: base sustain %.4f (%.4f), contingency run %d sustain %.4f "
                  "(%.4f) -> %s\n",
                  tr->gpus, tr->max_sustain, tr->gpus * i_gpu / 2.0 / i_trip, tr->cont_run,
                  tr->cont_max_sustain, tr->gpus * i_gpu / i_trip, tr->ok ? "ok" : "fails");
    assert_true(fabs(tr->max_sustain - tr->gpus * i_gpu / 2.0 / i_trip) < 2e-3 * tr->max_sustain);
    if (tr->cont_run) {
      assert_true(fabs(tr->cont_max_sustain - tr->gpus * i_gpu / i_trip) <
                  2e-3 * tr->cont_max_sustain);
      if (tr->gpus > one) {
        assert_true(tr->fail & HR_SIM_FAIL_CONT);
        assert_int_equal(tr->cont_failed, 0);
        saw_cont_fail = 1;
      }
    }
  }
  assert_true(saw_cont_fail);
  hr_sim_search_result_free(&res);
  /* Without the contingency, both feeds share the load. */
  size_t nc = sc.n_contingencies;
  sc.n_contingencies = 0;
  assert_int_equal(hr_sim_search(&sc, t, &ac, &cfg, &res, &e), HR_OK);
  assert_int_equal(res.gpus, both);
  hr_sim_search_result_free(&res);
  sc.n_contingencies = nc;
  hr_scenario_free(&sc);
  hr_tree_destroy(t);
}

/* Contingency files: the same event syntax, errors naming the list. */
static void test_contingency_files(void **st)
{
  (void)st;
  char dir[] = "/tmp/hr_cont_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char good[256], bad[256], other[256];
  snprintf(good, sizeof good, "%s/good.yaml", dir);
  snprintf(bad, sizeof bad, "%s/bad.yaml", dir);
  snprintf(other, sizeof other, "%s/other.yaml", dir);
  FILE *f = fopen(good, "w");
  assert_non_null(f);
  fputs("version: 1\ncontingencies:\n  - {kind: feed_loss, feed: a, at_s: 10}\n"
        "  - {kind: utility_outage, at_s: 5, duration_s: 30, gen_kw: 90, ramp_kw_per_s: 30}\n",
        f);
  fclose(f);
  f = fopen(bad, "w");
  assert_non_null(f);
  fputs("version: 1\ncontingencies:\n  - {kind: feed_loss, feed: a, at_s: 10, gen_kw: 3}\n", f);
  fclose(f);
  f = fopen(other, "w");
  assert_non_null(f);
  fputs("version: 1\ntree: t.yaml\ncontingencies: []\n", f);
  fclose(f);
  hr_scenario_t sc;
  hr_scenario_init(&sc);
  hr_diag_t e;
  assert_int_equal(hr_scenario_add_contingencies_file(&sc, good, &e), HR_OK);
  assert_int_equal(hr_scenario_add_contingencies_file(&sc, good, &e), HR_OK);
  assert_int_equal((int)sc.n_contingencies, 4);
  assert_int_equal(sc.contingencies[3].kind, HR_SIM_UTILITY_OUTAGE);
  assert_true(sc.contingencies[3].gen_kw == 90.0);
  assert_int_equal(hr_scenario_add_contingencies_file(&sc, bad, &e), HR_ERR_PARSE);
  assert_string_equal(e.field, "contingencies[0]");
  assert_int_equal(e.line, 3);
  assert_int_equal((int)sc.n_contingencies, 4); /* unchanged */
  assert_int_equal(hr_scenario_add_contingencies_file(&sc, other, &e), HR_ERR_PARSE);
  assert_non_null(strstr(e.message, "unknown key 'tree'"));
  hr_scenario_free(&sc);
  remove(good);
  remove(bad);
  remove(other);
  rmdir(dir);
}

/* The papers' own criteria (Dynamo: how much of the time capping acts;
 * POLCA: a latency SLO).  TREE8C: TREE8 with an 8-A unit, whose continuous
 * limit (the NEC 80 % rule, lease.h) is 0.8 x 8 A x 415 V x sqrt 3 =
 * 4600.6 W; POLCA's T1 is 0.8 of it, 3680.5 W. */
static const char TREE8C[] =
    "version: 1\n"
    "nodes:\n"
    "  - {id: site, kind: utility, parent: null, voltage_v: 415, "
    "phases: 3, rating_a: 100}\n"
    "  - {id: rack, kind: rack, parent: site,\n"
    "     device: {type: trip_unit, curve: LI, in_a: 8, tr_s: 8, ii: 10}}\n"
    "  - {id: s0, kind: server, parent: rack}\n"
    "  - {id: g0, kind: gpu, parent: s0, rating_w: 700}\n"
    "  - {id: g1, kind: gpu, parent: s0, rating_w: 700}\n"
    "  - {id: g2, kind: gpu, parent: s0, rating_w: 700}\n"
    "  - {id: g3, kind: gpu, parent: s0, rating_w: 700}\n"
    "  - {id: s1, kind: server, parent: rack}\n"
    "  - {id: g4, kind: gpu, parent: s1, rating_w: 700}\n"
    "  - {id: g5, kind: gpu, parent: s1, rating_w: 700}\n"
    "  - {id: g6, kind: gpu, parent: s1, rating_w: 700}\n"
    "  - {id: g7, kind: gpu, parent: s1, rating_w: 700}\n";

/* Capped time.  (1) static70 caps every GPU at 490 W from t = 0; batch work
 * at 700 W that starts at 5 s of 20 s runs capped for 15 s: capped_frac =
 * 0.75 at every count, so at most 80 % passes every count and at most 70 %
 * none.  (2) POLCA caps the (low-priority) GPUs once the rack draws more
 * than T1: with n GPUs at 700 W that is n x 700 W > 3680.5 W, so with at
 * most 1 % of the time capped the search answers the largest n with
 * n x 700 W <= 0.64 x 8 A x 415 V x sqrt 3, 5; without the criterion (and
 * with the loss criterion off) every count up to the unit's ultimate
 * tripping current, n x I_gpu < 1.1 x 8 A: all 8. */
static void test_search_capped_time(void **st)
{
  (void)st;
  hr_tree_t *t = load_tree(TREE8C);
  hr_diag_t e;
  hr_scenario_t sc;
  hr_workload_t w;
  hr_agent_cfg_t ac;
  hr_sim_search_cfg_t cfg;
  hr_sim_search_result_t res;
  batch_scenario(&sc, &w, 20.0, 5.0);
  assert_int_equal(hr_sim_policy_cfg("static70", &ac), HR_OK);
  assert_int_equal(hr_sim_search_cfg_init(&cfg), HR_OK);
  cfg.max_loss = 0.99;
  cfg.grid_limits = 0;
  cfg.max_capped_frac = 0.80;
  assert_int_equal(hr_sim_search(&sc, t, &ac, &cfg, &res, &e), HR_OK);
  assert_int_equal(res.gpus, 8);
  for (size_t k = 0; k < res.n_trials; k++)
    assert_true(fabs(res.trials[k].capped_frac - 0.75) < 1e-3);
  hr_sim_search_result_free(&res);
  cfg.max_capped_frac = 0.70;
  assert_int_equal(hr_sim_search(&sc, t, &ac, &cfg, &res, &e), HR_OK);
  assert_int_equal(res.gpus, 0);
  assert_true(res.n_trials >= 1);
  assert_int_equal(res.trials[0].fail, HR_SIM_FAIL_CAPPED);
  hr_sim_search_result_free(&res);

  batch_scenario(&sc, &w, 20.0, 0.0);
  assert_int_equal(hr_sim_policy_cfg("polca", &ac), HR_OK);
  const double t1_w = 0.8 * 0.8 * 8.0 * 415.0 * sqrt(3.0);
  const double i_gpu = 700.0 / (3.0 * 415.0 / sqrt(3.0)), i_trip = 1.1 * 8.0;
  int want = 0, want_free = 0;
  while ((want + 1) * 700.0 <= t1_w)
    want++;
  while (want_free < 8 && (want_free + 1) * i_gpu < i_trip)
    want_free++;
  assert_int_equal(want, 5);
  assert_int_equal(want_free, 8);
  cfg.max_capped_frac = 1.0; /* off */
  assert_int_equal(hr_sim_search(&sc, t, &ac, &cfg, &res, &e), HR_OK);
  assert_int_equal(res.gpus, want_free);
  hr_sim_search_result_free(&res);
  cfg.max_capped_frac = 0.01;
  assert_int_equal(hr_sim_search(&sc, t, &ac, &cfg, &res, &e), HR_OK);
  assert_int_equal(res.gpus, want);
  for (size_t k = 0; k < res.n_trials; k++) {
    const hr_sim_trial_t *tr = &res.trials[k];
    print_message("capped: %d GPUs: capped %.4f of the time -> %s\n", tr->gpus, tr->capped_frac,
                  tr->ok ? "ok" : "fails");
    if (tr->gpus * 700.0 <= t1_w)
      assert_true(tr->capped_frac == 0.0 && tr->ok);
    else
      assert_true(tr->capped_frac > 0.1 && tr->fail == HR_SIM_FAIL_CAPPED);
  }
  hr_sim_search_result_free(&res);
  /* Out of range: named. */
  cfg.max_capped_frac = 1.5;
  assert_int_equal(hr_sim_search(&sc, t, &ac, &cfg, &res, &e), HR_ERR_RANGE);
  assert_string_equal(e.field, "max_capped_frac");
  cfg.max_capped_frac = 1.0;
  cfg.max_ttft_p99_s = 0.0;
  assert_int_equal(hr_sim_search(&sc, t, &ac, &cfg, &res, &e), HR_ERR_RANGE);
  assert_string_equal(e.field, "max_ttft_p99_s");
  hr_tree_destroy(t);
}

/* The latency SLO against a scan: two replicas of 4 GPUs on TREE8C under
 * POLCA, serving more than they can; with 8 GPUs the rack passes T1 and
 * every GPU is capped, which slows prefill and raises the TTFT p99.  The
 * reference runs each count directly and reads its p99; the search with the
 * SLO set at the 4-GPU p99 must answer 4 (8 fails on the SLO alone), and 8
 * with no SLO. */
static void test_search_slo(void **st)
{
  (void)st;
  hr_tree_t *t = load_tree(TREE8C);
  hr_diag_t e;
  hr_scenario_t sc;
  hr_scenario_init(&sc);
  sc.duration_s = 60;
  sc.step_ms = 1;
  sc.sample_s = 10;
  sc.gpus = 8;
  hr_workload_t w;
  memset(&w, 0, sizeof w);
  w.kind = HR_WORK_INFERENCE;
  w.gpu_first = 0;
  w.gpu_end = 8;
  w.gpus_per_replica = 4;
  w.max_num_seqs = 256;
  w.rate_per_s = 6.0;
  w.seed = 7;
  sc.work = &w;
  sc.n_work = 1;
  hr_agent_cfg_t ac;
  assert_int_equal(hr_sim_policy_cfg("polca", &ac), HR_OK);
  double p99[2];
  for (int i = 0; i < 2; i++) {
    int g = 4 * (i + 1);
    hr_sim_result_t r;
    direct_run(&sc, &w, t, &ac, g, &r);
    p99[i] = r.ttft_p99_s;
    print_message("slo: %d GPUs: TTFT p99 %.4f s, capped %.3f, trips %u\n", g, p99[i],
                  r.capped_s / r.t_s, r.trips);
    assert_int_equal(r.trips, 0);
  }
  assert_true(p99[1] > p99[0]);
  hr_sim_search_cfg_t cfg;
  assert_int_equal(hr_sim_search_cfg_init(&cfg), HR_OK);
  cfg.max_loss = 0.99;
  cfg.grid_limits = 0;
  cfg.step = 4;
  cfg.gpus_lo = 4;
  hr_sim_search_result_t res;
  assert_int_equal(hr_sim_search(&sc, t, &ac, &cfg, &res, &e), HR_OK);
  assert_int_equal(res.gpus, 8);
  hr_sim_search_result_free(&res);
  cfg.max_ttft_p99_s = p99[0];
  assert_int_equal(hr_sim_search(&sc, t, &ac, &cfg, &res, &e), HR_OK);
  assert_int_equal(res.gpus, 4);
  for (size_t k = 0; k < res.n_trials; k++) {
    const hr_sim_trial_t *tr = &res.trials[k];
    assert_true(tr->ttft_p99_s == p99[tr->gpus / 4 - 1]); /* the same run */
    assert_int_equal(tr->fail, tr->gpus == 8 ? HR_SIM_FAIL_SLO : 0u);
  }
  hr_sim_search_result_free(&res);
  hr_tree_destroy(t);
}

/* Provisioned power as a hard limit: uncontrolled batch work at 700 W on
 * TREE8C, whose 8-A unit's continuous limit is 0.8 x 8 A x 415 V x sqrt 3 =
 * 4600.6 W.  A count over it spends the whole run above it, one at or under
 * it none of it, so with at most 1 s above it the search answers the largest
 * n with n x 700 W <= 4600.6 W, 6; without the criterion all 8 (n x I_gpu <
 * 1.1 x 8 A). */
static void test_search_over_cont(void **st)
{
  (void)st;
  hr_tree_t *t = load_tree(TREE8C);
  hr_diag_t e;
  hr_scenario_t sc;
  hr_workload_t w;
  batch_scenario(&sc, &w, 20.0, 0.0);
  hr_agent_cfg_t ac;
  assert_int_equal(hr_sim_policy_cfg("none", &ac), HR_OK);
  const double cont_w = 0.8 * 8.0 * 415.0 * sqrt(3.0);
  int want = 0;
  while ((want + 1) * 700.0 <= cont_w)
    want++;
  assert_int_equal(want, 6);
  hr_sim_search_cfg_t cfg;
  assert_int_equal(hr_sim_search_cfg_init(&cfg), HR_OK);
  cfg.grid_limits = 0;
  hr_sim_search_result_t res;
  assert_int_equal(hr_sim_search(&sc, t, &ac, &cfg, &res, &e), HR_OK);
  assert_int_equal(res.gpus, 8);
  hr_sim_search_result_free(&res);
  cfg.max_over_cont_s = 1.0;
  assert_int_equal(hr_sim_search(&sc, t, &ac, &cfg, &res, &e), HR_OK);
  assert_int_equal(res.gpus, want);
  for (size_t k = 0; k < res.n_trials; k++) {
    const hr_sim_trial_t *tr = &res.trials[k];
    print_message("over: %d GPUs: %.3f s above the continuous limit -> %s\n", tr->gpus,
                  tr->over_cont_s, tr->ok ? "ok" : "fails");
    if (tr->gpus * 700.0 <= cont_w) {
      assert_true(tr->over_cont_s == 0.0 && tr->ok);
    } else {
      /* Above it from the first steps' ramp (80 W/ms) to the end. */
      assert_true(fabs(tr->over_cont_s - 20.0) < 0.05);
      assert_int_equal(tr->fail, HR_SIM_FAIL_OVER);
    }
  }
  hr_sim_search_result_free(&res);
  cfg.max_over_cont_s = -1.0;
  assert_int_equal(hr_sim_search(&sc, t, &ac, &cfg, &res, &e), HR_ERR_RANGE);
  assert_string_equal(e.field, "max_over_cont_s");
  hr_tree_destroy(t);
}

/* ---- non-monotone counts (docs/sim.md, "Non-monotone counts") ---------------- */

/* Two racks of four GPU slots filled rack by rack (populate: tree); only r0
 * has a trip unit (1.6 A: ultimate 1.1 x 1.6 A = 1.76 A).  The scenario's 8
 * GPUs run a light workload (100 W) on its first half and a heavy one
 * (700 W) on its second; at a count g the search scales them to [0, g/2)
 * and [g/2, g) (integer division, hr_sim_search), so as g grows the heavy
 * GPUs first fill r0 and then move on to r1: r0's load, and with it the
 * verdict, is not monotone in g. */
static const char TREE_NM[] =
    "version: 1\n"
    "nodes:\n"
    "  - {id: site, kind: utility, parent: null, voltage_v: 415, phases: 3, rating_a: 100}\n"
    "  - {id: r0, kind: rack, parent: site,\n"
    "     device: {type: trip_unit, curve: LI, in_a: 1.6, tr_s: 8, ii: 10}}\n"
    "  - {id: r1, kind: rack, parent: site}\n"
    "  - {id: g00, kind: gpu, parent: r0, rating_w: 700}\n"
    "  - {id: g01, kind: gpu, parent: r0, rating_w: 700}\n"
    "  - {id: g02, kind: gpu, parent: r0, rating_w: 700}\n"
    "  - {id: g03, kind: gpu, parent: r0, rating_w: 700}\n"
    "  - {id: g10, kind: gpu, parent: r1, rating_w: 700}\n"
    "  - {id: g11, kind: gpu, parent: r1, rating_w: 700}\n"
    "  - {id: g12, kind: gpu, parent: r1, rating_w: 700}\n"
    "  - {id: g13, kind: gpu, parent: r1, rating_w: 700}\n";

/* r0's load [W] at g GPUs, written out from the scaling rule. */
static double nm_r0_w(int g)
{
  double p = 0.0;
  for (int j = 0; j < g && j < 4; j++)
    p += j < g * 4 / 8 ? 100.0 : 700.0;
  return p;
}

static void test_search_scan_nonmonotone(void **st)
{
  (void)st;
  hr_tree_t *t = load_tree(TREE_NM);
  hr_diag_t e;
  hr_scenario_t sc;
  hr_workload_t w[2];
  batch_scenario(&sc, &w[0], 30.0, 0.0);
  sc.populate = HR_POP_TREE;
  w[0].gpu_end = 4;
  w[0].power_w = 100;
  w[1] = w[0];
  w[1].gpu_first = 4;
  w[1].gpu_end = 8;
  w[1].power_w = 700;
  sc.work = w;
  sc.n_work = 2;
  hr_agent_cfg_t ac;
  assert_int_equal(hr_sim_policy_cfg("none", &ac), HR_OK);
  /* The closed form: a count passes when r0's RMS current, balanced over
   * three phases, stays below 1.76 A; nothing trips within 30 s (1,600 W,
   * 1.39 Ir, takes 234 s x ln(1.94 / 0.72) = 230 s from cold). */
  const double i_per_w = 1.0 / (3.0 * 415.0 / sqrt(3.0)), i_trip = 1.1 * 1.6;
  int want_prefix = 0, want_max = 0, want_fails_below = 0, ok_at[9] = {0};
  for (int g = 1; g <= 8; g++) {
    ok_at[g] = nm_r0_w(g) * i_per_w < i_trip;
    if (ok_at[g])
      want_max = g;
  }
  while (want_prefix < 8 && ok_at[want_prefix + 1])
    want_prefix++;
  for (int g = 1; g < want_max; g++)
    want_fails_below += !ok_at[g];
  /* P P F F F P P P: the prefix is 2, 8 passes again. */
  assert_int_equal(want_prefix, 2);
  assert_int_equal(want_max, 8);
  assert_int_equal(want_fails_below, 3);
  hr_sim_search_cfg_t cfg;
  assert_int_equal(hr_sim_search_cfg_init(&cfg), HR_OK);
  hr_sim_search_result_t res;
  /* Bisection tries the top count first, sees it pass, and answers 8: a
   * count whose fill-up passed through three failing counts. */
  assert_int_equal(hr_sim_search(&sc, t, &ac, &cfg, &res, &e), HR_OK);
  assert_int_equal(res.gpus, 8);
  assert_int_equal(res.monotone, -1);
  hr_sim_search_result_free(&res);
  cfg.scan = 1;
  assert_int_equal(hr_sim_search(&sc, t, &ac, &cfg, &res, &e), HR_OK);
  assert_int_equal((int)res.n_trials, 8);
  for (size_t k = 0; k < res.n_trials; k++) {
    const hr_sim_trial_t *tr = &res.trials[k];
    double ratio = nm_r0_w(tr->gpus) * i_per_w / i_trip;
    print_message("scan: %d GPUs: r0 %.0f W, sustained %.5f (closed form %.5f) -> %s\n", tr->gpus,
                  nm_r0_w(tr->gpus), tr->max_sustain, ratio, tr->ok ? "ok" : "fails");
    assert_int_equal(tr->gpus, (int)k + 1);
    assert_int_equal(tr->trips, 0);
    assert_true(fabs(tr->max_sustain - ratio) < 2e-3 * ratio);
    assert_int_equal(tr->ok, ok_at[tr->gpus]);
  }
  assert_int_equal(res.gpus, want_prefix);
  assert_int_equal(res.gpus_max_pass, want_max);
  assert_int_equal(res.n_fail_below, want_fails_below);
  assert_int_equal(res.monotone, 0);
  assert_true(res.bracketed);
  hr_sim_search_result_free(&res);
  /* A monotone case (TREE8, the 4-A unit trips from five GPUs): the scan
   * agrees with bisection and says so. */
  hr_tree_t *t8 = load_tree(TREE8);
  hr_scenario_t sc8;
  hr_workload_t w8;
  batch_scenario(&sc8, &w8, 30.0, 0.0);
  assert_int_equal(hr_sim_search(&sc8, t8, &ac, &cfg, &res, &e), HR_OK);
  assert_int_equal(res.gpus, 4);
  assert_int_equal(res.gpus_max_pass, 4);
  assert_int_equal(res.n_fail_below, 0);
  assert_int_equal(res.monotone, 1);
  assert_int_equal((int)res.n_trials, 8);
  hr_sim_search_result_free(&res);
  hr_tree_destroy(t8);
  hr_tree_destroy(t);
}

/* ---- contingencies held for the long-time band ------------------------------ */

/* TREE_2N's 5-A trip units (tr 8 s, k 1.1): the thermal image's time
 * constant tau = tr / -ln(1 - k^2 / 36) (protect.c calibrates the cold trip
 * at 6 Ir to tr).  Batch work at 700 W on 8 GPUs, feed b lost at 10 s for
 * good: brk-a then carries I = 8 x I_gpu = 7.79 A = 1.56 Ir, from the image
 * theta0 = (I / 2 / Ir)^2 (1 - exp(-10 / tau)) the half load left, and trips
 * after tau ln((x^2 - theta0) / (x^2 - k^2)), x = I / Ir: 161 s, past the
 * minute the scenario runs after the fault (the I^2t asymptote
 * tr (6 Ir / I)^2 gives 118 s, also past it). */
static const char SCEN_2N_LONG[] = "version: 1\n"
                                   "tree: t.yaml\n"
                                   "duration_s: 70\n"
                                   "step_ms: 10\n"
                                   "sample_s: 10\n"
                                   "gpus: 12\n"
                                   "workloads:\n"
                                   "  - {kind: batch, gpus: [0, 12], power_w: 700}\n"
                                   "contingencies:\n"
                                   "  - {kind: feed_loss, feed: b, at_s: 10}\n";

static void test_search_cont_long_band(void **st)
{
  (void)st;
  hr_tree_t *t = load_tree(TREE_2N);
  hr_diag_t e;
  hr_scenario_t sc;
  assert_int_equal(
      hr_scenario_load_buffer(SCEN_2N_LONG, strlen(SCEN_2N_LONG), "s.yaml", ".", &sc, &e), HR_OK);
  const double k2 = 1.1 * 1.1, tau = 8.0 / -log1p(-k2 / 36.0);
  const double i_gpu = 700.0 / (3.0 * 415.0 / sqrt(3.0)), ir = 5.0, at = 10.0;
  const int g = 8;
  double x = g * i_gpu / ir, xh = x / 2.0;
  double th0 = xh * xh * -expm1(-at / tau);
  double t_trip = at + tau * log((x * x - th0) / (x * x - k2));
  print_message("long band: tau %.3f s, trip expected at %.2f s (%.1f s after the fault; I^2t "
                "%.1f s)\n",
                tau, t_trip, t_trip - at, 8.0 * 36.0 / (x * x));
  assert_true(t_trip - at > 60.0 && t_trip < at + 3.0 * tau);
  hr_agent_cfg_t ac;
  assert_int_equal(hr_sim_policy_cfg("none", &ac), HR_OK);
  hr_sim_search_cfg_t cfg;
  assert_int_equal(hr_sim_search_cfg_init(&cfg), HR_OK);
  cfg.gpus_lo = cfg.gpus_hi = g;
  hr_sim_search_result_t res;
  /* The earlier run length: no trip in the 60 s after the fault (only the
   * sustained-minute projection fails it). */
  cfg.cont_settle_tau = 0.0;
  assert_int_equal(hr_sim_search(&sc, t, &ac, &cfg, &res, &e), HR_OK);
  assert_int_equal((int)res.n_trials, 1);
  assert_true(fabs(res.tau_max_s - tau) < 1e-9 * tau);
  assert_int_equal(res.trials[0].cont_run, 1);
  assert_int_equal(res.trials[0].cont_trips, 0);
  assert_true(res.trials[0].cont_t_s == 70.0);
  assert_true(res.trials[0].cont_max_sustain > 1.0);
  hr_sim_search_result_free(&res);
  /* The new rule: run 3 tau after the fault; the trip shows. */
  cfg.cont_settle_tau = 3.0;
  assert_int_equal(hr_sim_search(&sc, t, &ac, &cfg, &res, &e), HR_OK);
  const hr_sim_trial_t *tr = &res.trials[0];
  assert_true(fabs(tr->cont_t_s - (at + 3.0 * tau)) < 1e-9 * tr->cont_t_s);
  assert_int_equal(tr->cont_trips, 1);
  assert_true(tr->fail & HR_SIM_FAIL_CONT);
  assert_int_equal(res.gpus, 0);
  hr_sim_search_result_free(&res);
  /* When it trips, from a direct run of the same contingency. */
  hr_scenario_t one = sc;
  one.gpus = g;
  hr_workload_t wl = sc.work[0];
  wl.gpu_end = g * wl.gpu_end / 12;
  one.work = &wl;
  one.events = sc.contingencies;
  one.n_events = 1;
  one.duration_s = at + 3.0 * tau;
  hr_sim_t *s = NULL;
  assert_int_equal(hr_sim_create(&one, t, &ac, &s, &e), HR_OK);
  assert_int_equal(hr_sim_run(s, NULL, NULL), HR_OK);
  hr_sim_result_t r;
  assert_int_equal(hr_sim_result(s, &r), HR_OK);
  double seen_t = NAN;
  for (size_t k = 0; k < r.n_nodes; k++)
    if (r.nodes[k].tripped)
      seen_t = r.nodes[k].trip_t_s;
  print_message("long band: tripped at %.2f s (closed form %.2f s)\n", seen_t, t_trip);
  assert_int_equal(r.trips, 1);
  assert_true(fabs(seen_t - t_trip) < 0.5); /* 10-ms steps, the GPUs' first slew */
  hr_sim_destroy(s);
  /* A bound on the run's length below the trip hides it again; the load
   * then stands uncut in the last window, which fails the projection. */
  cfg.cont_max_s = 120.0;
  assert_int_equal(hr_sim_search(&sc, t, &ac, &cfg, &res, &e), HR_OK);
  assert_true(res.trials[0].cont_t_s == 120.0);
  assert_int_equal(res.trials[0].cont_trips, 0);
  assert_true(res.trials[0].cont_end_sustain > 1.0);
  assert_true(res.trials[0].fail & HR_SIM_FAIL_CONT);
  hr_sim_search_result_free(&res);
  cfg.cont_max_s = -1.0;
  assert_int_equal(hr_sim_search(&sc, t, &ac, &cfg, &res, &e), HR_ERR_RANGE);
  assert_string_equal(e.field, "cont_max_s");
  hr_scenario_free(&sc);
  hr_tree_destroy(t);
}

/* The same fault under the headroom policy, whose budgets act on the
 * survivor's thermal image: it lets the load stand while the image is cool
 * (the minute after the fault, projected, would trip brk-a: the earlier
 * rule fails the count) and cuts before the image reaches its margin; held
 * for 3 tau it never trips and settles below the ultimate tripping
 * current, so the count passes. */
static void test_search_cont_policy_cuts(void **st)
{
  (void)st;
  hr_tree_t *t = load_tree(TREE_2N);
  hr_diag_t e;
  hr_scenario_t sc;
  assert_int_equal(
      hr_scenario_load_buffer(SCEN_2N_LONG, strlen(SCEN_2N_LONG), "s.yaml", ".", &sc, &e), HR_OK);
  hr_agent_cfg_t ac;
  assert_int_equal(hr_sim_policy_cfg("headroom", &ac), HR_OK);
  hr_sim_search_cfg_t cfg;
  assert_int_equal(hr_sim_search_cfg_init(&cfg), HR_OK);
  cfg.gpus_lo = cfg.gpus_hi = 8;
  hr_sim_search_result_t res;
  cfg.cont_settle_tau = 0.0;
  assert_int_equal(hr_sim_search(&sc, t, &ac, &cfg, &res, &e), HR_OK);
  const hr_sim_trial_t *tr = &res.trials[0];
  print_message("headroom, earlier rule: base %s, contingency trips %u, heaviest minute %.4f, "
                "work %.4f -> %s\n",
                tr->fail & ~(unsigned)HR_SIM_FAIL_CONT ? "fails" : "ok", tr->cont_trips,
                tr->cont_max_sustain, tr->cont_work_frac, tr->ok ? "ok" : "fails");
  assert_int_equal(tr->fail, HR_SIM_FAIL_CONT);
  assert_int_equal(tr->cont_trips, 0);
  assert_true(tr->cont_max_sustain >= 1.0);
  hr_sim_search_result_free(&res);
  cfg.cont_settle_tau = 3.0;
  assert_int_equal(hr_sim_search(&sc, t, &ac, &cfg, &res, &e), HR_OK);
  tr = &res.trials[0];
  print_message("headroom, held 3 tau (%.0f s): trips %u, heaviest minute %.4f, last minute "
                "%.4f, work %.4f -> %s\n",
                tr->cont_t_s, tr->cont_trips, tr->cont_max_sustain, tr->cont_end_sustain,
                tr->cont_work_frac, tr->ok ? "ok" : "fails");
  assert_int_equal(tr->cont_trips, 0);
  assert_true(tr->cont_max_sustain >= 1.0); /* it did let the load stand at first */
  assert_true(tr->cont_end_sustain < 1.0);
  assert_true(tr->ok);
  assert_int_equal(res.gpus, 8);
  hr_sim_search_result_free(&res);
  hr_scenario_free(&sc);
  hr_tree_destroy(t);
}

/* Runs sc (n_work workloads of w) on t under policy pol and returns its result. */
static void run_work(hr_scenario_t *sc, hr_workload_t *w, size_t n_work, const hr_tree_t *t,
                     const char *pol, hr_sim_result_t *r)
{
  hr_agent_cfg_t ac;
  assert_int_equal(hr_sim_policy_cfg(pol, &ac), HR_OK);
  sc->work = w;
  sc->n_work = n_work;
  hr_sim_t *s = NULL;
  hr_diag_t e;
  assert_int_equal(hr_sim_create(sc, t, &ac, &s, &e), HR_OK);
  assert_int_equal(hr_sim_run(s, NULL, NULL), HR_OK);
  assert_int_equal(hr_sim_result(s, r), HR_OK);
  hr_sim_destroy(s);
}

/* The high-priority latency (POLCA's SLO protects those requests): with no
 * control the replicas do not interact, so the high-priority p99s of a run
 * of a priority-0 and a priority-1 workload are those of the priority-1
 * workload run alone; with the priority-0 one alone there are none (NAN).
 * The search with slo_high_only judges them: an SLO that the whole row's
 * p99 fails and the high-priority p99 meets passes. */
static void test_slo_high_priority(void **st)
{
  (void)st;
  hr_tree_t *t = load_tree(TREE8C);
  hr_scenario_t sc;
  hr_scenario_init(&sc);
  sc.duration_s = 60;
  sc.sample_s = 10;
  sc.gpus = 8;
  hr_workload_t w[2];
  memset(w, 0, sizeof w);
  for (int k = 0; k < 2; k++) {
    w[k].kind = HR_WORK_INFERENCE;
    w[k].gpu_first = 4 * k;
    w[k].gpu_end = 4 * k + 4;
    w[k].gpus_per_replica = 4;
    w[k].max_num_seqs = 256;
    w[k].priority = k;
  }
  w[0].rate_per_s = 8.0; /* more than a replica serves: a long TTFT tail */
  w[0].seed = 7;
  w[1].rate_per_s = 2.0;
  w[1].seed = 9;
  hr_sim_result_t both, hi, lo;
  run_work(&sc, w, 2, t, "none", &both);
  run_work(&sc, &w[1], 1, t, "none", &hi);
  run_work(&sc, &w[0], 1, t, "none", &lo);
  print_message("high priority: TTFT p99 %.4f s (alone %.4f s), TBT p99 %.4f s (alone %.4f s); "
                "all: TTFT p99 %.4f s\n",
                both.ttft_hi_p99_s, hi.ttft_p99_s, both.tbt_hi_p99_s, hi.tbt_p99_s,
                both.ttft_p99_s);
  assert_true(both.ttft_hi_p99_s == hi.ttft_p99_s && both.tbt_hi_p99_s == hi.tbt_p99_s);
  assert_true(hi.ttft_hi_p99_s == hi.ttft_p99_s);
  assert_true(isnan(lo.ttft_hi_p99_s) && isnan(lo.tbt_hi_p99_s));
  assert_true(both.ttft_p99_s > both.ttft_hi_p99_s);
  /* The search: an SLO between the two p99s. */
  sc.work = w;
  sc.n_work = 2;
  hr_agent_cfg_t ac;
  assert_int_equal(hr_sim_policy_cfg("none", &ac), HR_OK);
  hr_sim_search_cfg_t cfg;
  assert_int_equal(hr_sim_search_cfg_init(&cfg), HR_OK);
  cfg.max_loss = 0.99;
  cfg.grid_limits = 0;
  cfg.step = 8;
  cfg.gpus_lo = 8;
  cfg.gpus_hi = 8;
  cfg.max_ttft_p99_s = both.ttft_hi_p99_s;
  hr_sim_search_result_t res;
  hr_diag_t e;
  assert_int_equal(hr_sim_search(&sc, t, &ac, &cfg, &res, &e), HR_OK);
  assert_int_equal(res.gpus, 0);
  hr_sim_search_result_free(&res);
  cfg.slo_high_only = 1;
  assert_int_equal(hr_sim_search(&sc, t, &ac, &cfg, &res, &e), HR_OK);
  assert_int_equal(res.gpus, 8);
  assert_true(res.n_trials >= 1 && res.trials[res.n_trials - 1].ttft_p99_s == both.ttft_hi_p99_s);
  hr_sim_search_result_free(&res);
  hr_tree_destroy(t);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_spread_order),
      cmocka_unit_test(test_static_count),
      cmocka_unit_test(test_search_matches_scan),
      cmocka_unit_test(test_search_sustained),
      cmocka_unit_test(test_few_gpus_grow),
      cmocka_unit_test(test_search_ramp_limit),
      cmocka_unit_test(test_search_feed_loss_contingency),
      cmocka_unit_test(test_contingency_files),
      cmocka_unit_test(test_search_capped_time),
      cmocka_unit_test(test_search_slo),
      cmocka_unit_test(test_slo_high_priority),
      cmocka_unit_test(test_search_over_cont),
      cmocka_unit_test(test_search_scan_nonmonotone),
      cmocka_unit_test(test_search_cont_long_band),
      cmocka_unit_test(test_search_cont_policy_cuts),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
