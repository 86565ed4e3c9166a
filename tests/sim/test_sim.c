/* The simulator against independent references: a breaker's trip time
 * computed by hand from the trip unit's published long-time model
 * (docs/tree.md), and scenario files refused with file, line and field. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "headroom/sim.h"
#include "sim/sim_int.h"

static const char TREE[] =
    "version: 1\n"
    "nodes:\n"
    "  - {id: site, kind: utility, parent: null, voltage_v: 415, phases: 3, rating_a: 100}\n"
    "  - {id: rack, kind: rack, parent: site,\n"
    "     device: {type: trip_unit, curve: LI, in_a: 10, tr_s: 8, ii: 10}}\n"
    "  - {id: srv, kind: server, parent: rack}\n"
    "  - {id: g0, kind: gpu, parent: srv, rating_w: 700}\n"
    "  - {id: g1, kind: gpu, parent: srv, rating_w: 700}\n"
    "  - {id: g2, kind: gpu, parent: srv, rating_w: 700}\n"
    "  - {id: g3, kind: gpu, parent: srv, rating_w: 700}\n"
    "  - {id: g4, kind: gpu, parent: srv, rating_w: 700}\n"
    "  - {id: g5, kind: gpu, parent: srv, rating_w: 700}\n"
    "  - {id: g6, kind: gpu, parent: srv, rating_w: 700}\n"
    "  - {id: g7, kind: gpu, parent: srv, rating_w: 700}\n";

/* 8 GPUs at 700 W with no control: 5600 W / (sqrt 3 x 415 V) = 7.791 A on a
 * 4 A trip unit (Ir = In, k = 1.1, tr = 8 s), x = I / Ir = 1.948.  From cold,
 *   tau = tr / ln(36 / (36 - k^2)),  t = tau ln(x^2 / (x^2 - k^2)). */
static void test_trip_time(void **st)
{
  (void)st;
  char tree[sizeof TREE + 16];
  memcpy(tree, TREE, sizeof TREE);
  char *p = strstr(tree, "in_a: 10");
  memcpy(p, "in_a: 4 ", 8); /* x = 7.791 / 4 = 1.948 */
  hr_tree_t *t = NULL;
  hr_diag_t e;
  assert_int_equal(hr_tree_load_buffer(tree, strlen(tree), "t.yaml", &t, &e), HR_OK);
  hr_scenario_t sc;
  hr_scenario_init(&sc);
  sc.duration_s = 100;
  sc.gpus = 8;
  hr_workload_t w;
  memset(&w, 0, sizeof w);
  w.kind = HR_WORK_BATCH;
  w.gpu_first = 0;
  w.gpu_end = 8;
  w.power_w = 700;
  sc.work = &w;
  sc.n_work = 1;
  hr_agent_cfg_t ac;
  assert_int_equal(hr_sim_policy_cfg("none", &ac), HR_OK);
  hr_sim_t *s = NULL;
  hr_diag_t why;
  /* The floors (8 x 210 W) exceed this tiny breaker's budget, so the agent's
   * lease layer refuses the tree; the uncontrolled run needs no leases, but
   * the agent builds them anyway: expect the refusal, then use a floor of 0. */
  int rc = hr_sim_create(&sc, t, &ac, &s, &why);
  if (rc != HR_OK) {
    ac.lease.gpu_floor_frac = 0.0;
    rc = hr_sim_create(&sc, t, &ac, &s, &why);
  }
  assert_int_equal(rc, HR_OK);
  assert_int_equal(hr_sim_run(s, NULL, NULL), HR_OK);
  hr_sim_result_t r;
  assert_int_equal(hr_sim_result(s, &r), HR_OK);
  assert_int_equal(r.trips, 1);
  size_t rack;
  assert_int_equal(hr_tree_find(t, "rack", &rack), HR_OK);
  double x = 5600.0 / (sqrt(3.0) * 415.0) / 4.0, k2 = 1.1 * 1.1;
  double tau = 8.0 / log(36.0 / (36.0 - k2));
  double want = tau * log(x * x / (x * x - k2));
  /* The GPUs start idle and slew to 700 W in about 8 ms. */
  print_message("trip at %.4f s, hand-computed %.4f s\n", r.nodes[rack].trip_t_s, want);
  assert_true(fabs(r.nodes[rack].trip_t_s - want) < 0.02 + 1e-3 * want);
  assert_int_equal(r.nodes[rack].trip_elem, HR_ELEM_L);
  /* After the trip the rack's GPUs are unpowered: the work stops. */
  assert_true(r.work_frac < want / 100.0 + 0.01 && r.work_frac > want / 100.0 - 0.01);
  hr_sim_destroy(s);
  hr_tree_destroy(t);
}

static void test_scenario_errors(void **st)
{
  (void)st;
  hr_scenario_t sc;
  hr_diag_t e;
  static const char bad1[] = "version: 1\ntree: x.yaml\nduration_s: -5\n";
  assert_int_equal(hr_scenario_load_buffer(bad1, sizeof bad1 - 1, "s.yaml", ".", &sc, &e),
                   HR_ERR_RANGE);
  assert_int_equal(e.line, 3);
  assert_string_equal(e.field, "duration_s");
  static const char bad2[] = "version: 1\ntree: x.yaml\nworkloads:\n  - {kind: training, gpus: [0, "
                             "4],\n     period_z: 1}\n";
  assert_int_equal(hr_scenario_load_buffer(bad2, sizeof bad2 - 1, "s.yaml", ".", &sc, &e),
                   HR_ERR_PARSE);
  assert_int_equal(e.line, 5);
  assert_string_equal(e.field, "workloads[0]");
  char text[1024];
  hr_diag_format(&e, text, sizeof text);
  assert_non_null(strstr(text, "s.yaml:5:"));
  static const char bad3[] = "version: 1\nduration_s: 5\n";
  assert_int_equal(hr_scenario_load_buffer(bad3, sizeof bad3 - 1, "s.yaml", ".", &sc, &e),
                   HR_ERR_PARSE);
  assert_string_equal(e.field, "tree");
  static const char ok[] =
      "version: 1\ntree: trees/x.yaml\nevents:\n  - {kind: feed_loss, feed: b, at_s: 3}\n";
  assert_int_equal(hr_scenario_load_buffer(ok, sizeof ok - 1, "s.yaml", "/d", &sc, &e), HR_OK);
  assert_string_equal(sc.tree_path, "/d/trees/x.yaml");
  assert_int_equal(sc.n_events, 1);
  assert_int_equal(sc.events[0].feed, HR_FEED_B);
  /* The clock model's defaults (docs/sim.md, "Clock locks"). */
  assert_true(sc.gpu.clock_max_mhz == 1980.0 &&
              fabs(sc.gpu.clock_power_exp - 1.0 / 0.647) < 1e-12 && sc.gpu.clock_decode_exp == 0.1);
  hr_scenario_free(&sc);
  static const char clk[] = "version: 1\ntree: x.yaml\ngpu: {clock_max_mhz: 1410, "
                            "clock_power_exp: 2, clock_decode_exp: 0}\n";
  assert_int_equal(hr_scenario_load_buffer(clk, sizeof clk - 1, "s.yaml", ".", &sc, &e), HR_OK);
  assert_true(sc.gpu.clock_max_mhz == 1410.0 && sc.gpu.clock_power_exp == 2.0 &&
              sc.gpu.clock_decode_exp == 0.0);
  hr_scenario_free(&sc);
  static const char bad4[] = "version: 1\ntree: x.yaml\ngpu: {clock_power_exp: 0}\n";
  assert_int_equal(hr_scenario_load_buffer(bad4, sizeof bad4 - 1, "s.yaml", ".", &sc, &e),
                   HR_ERR_RANGE);
  assert_string_equal(e.field, "gpu.clock_power_exp");
  /* The supplies' power factor: one value, or a curve. */
  static const char pf1[] = "version: 1\ntree: x.yaml\nsupply: {pf: 0.93, budget_pf: 0.9}\n";
  assert_int_equal(hr_scenario_load_buffer(pf1, sizeof pf1 - 1, "s.yaml", ".", &sc, &e), HR_OK);
  assert_true(sc.supply.n_pf == 1 && sc.supply.pf[0] == 0.93 && sc.supply.budget_pf == 0.9);
  hr_scenario_free(&sc);
  static const char pf2[] = "version: 1\ntree: x.yaml\nsupply:\n  pf: [[0.1, 0.8], [0.5, "
                            "0.95], [1, 0.99]]\n";
  assert_int_equal(hr_scenario_load_buffer(pf2, sizeof pf2 - 1, "s.yaml", ".", &sc, &e), HR_OK);
  assert_true(sc.supply.n_pf == 3 && sc.supply.pf_load[1] == 0.5 && sc.supply.pf[2] == 0.99 &&
              sc.supply.budget_pf == 0.0);
  hr_scenario_free(&sc);
  static const struct {
    const char *text, *field;
    int code;
    long line, column;
  } bad_pf[] = {
      {"version: 1\ntree: x.yaml\nsupply: {pf: 1.2}\n", "supply.pf", HR_ERR_RANGE, 3, 14},
      {"version: 1\ntree: x.yaml\nsupply: {pf: 0}\n", "supply.pf", HR_ERR_RANGE, 3, 14},
      {"version: 1\ntree: x.yaml\nsupply: {pf: [[0.5, 0.9], [0.5, 0.95]]}\n", "supply.pf[1]",
       HR_ERR_RANGE, 3, 28},
      {"version: 1\ntree: x.yaml\nsupply: {pf: [[0.5, 0.9], [0.7]]}\n", "supply.pf[1]",
       HR_ERR_PARSE, 3, 27},
      {"version: 1\ntree: x.yaml\nsupply: {pf: [[0.5, .nan]]}\n", "supply.pf[0]", HR_ERR_PARSE, 3,
       21},
      {"version: 1\ntree: x.yaml\nsupply: {pf: []}\n", "supply.pf", HR_ERR_RANGE, 3, 14},
      {"version: 1\ntree: x.yaml\nsupply: {pf: {a: 1}}\n", "supply.pf", HR_ERR_PARSE, 3, 14},
      {"version: 1\ntree: x.yaml\nsupply: {budget_pf: 1.5}\n", "supply.budget_pf", HR_ERR_RANGE, 3,
       21},
      {"version: 1\ntree: x.yaml\nsupply: {pff: 1}\n", "supply", HR_ERR_PARSE, 3, 10},
      /* the supplies sharing a server, the moving base, the ramps' efficiency */
      {"version: 1\ntree: x.yaml\nsupply: {psus: 2}\n", "supply.psu_w", HR_ERR_PARSE, 3, 9},
      {"version: 1\ntree: x.yaml\nsupply: {psu_w: 3000}\n", "supply.psus", HR_ERR_PARSE, 3, 9},
      {"version: 1\ntree: x.yaml\nsupply: {psus: 65, psu_w: 3000}\n", "supply.psus", HR_ERR_RANGE,
       3, 16},
      {"version: 1\ntree: x.yaml\nsupply: {base_busy_w: -1}\n", "supply.base_busy_w", HR_ERR_RANGE,
       3, 23},
      {"version: 1\ntree: x.yaml\nsupply: {base_tau_s: .inf}\n", "supply.base_tau_s", HR_ERR_PARSE,
       3, 22},
      {"version: 1\ntree: x.yaml\nsupply: {budget_eff_ramp: 0.05}\n", "supply.budget_eff_ramp",
       HR_ERR_RANGE, 3, 27},
      {"version: 1\ntree: x.yaml\nsupply: 0.9\n", "supply", HR_ERR_PARSE, 3, 9},
  };
  for (size_t k = 0; k < sizeof bad_pf / sizeof bad_pf[0]; k++) {
    memset(&e, 0, sizeof e);
    int rc =
        hr_scenario_load_buffer(bad_pf[k].text, strlen(bad_pf[k].text), "s.yaml", ".", &sc, &e);
    print_message("%s -> %s:%ld:%ld: %s: %s\n", bad_pf[k].text + 24, e.source, e.line, e.column,
                  e.field, e.message);
    assert_int_equal(rc, bad_pf[k].code);
    assert_string_equal(e.field, bad_pf[k].field);
    assert_int_equal(e.line, bad_pf[k].line);
    assert_int_equal(e.column, bad_pf[k].column);
  }
  /* A range's bounds are written out whole (not 4.29497e+09). */
  static const char seed[] = "version: 1\ntree: x.yaml\ntelemetry_seed: 4294967296\n";
  assert_int_equal(hr_scenario_load_buffer(seed, sizeof seed - 1, "s.yaml", ".", &sc, &e),
                   HR_ERR_RANGE);
  assert_string_equal(e.message, "4294967296 is outside 0..4294967295");
  /* A curve of more points than HR_SIM_PF_POINTS_MAX is refused, not cut. */
  char big[4096];
  int n = snprintf(big, sizeof big, "version: 1\ntree: x.yaml\nsupply: {pf: [");
  for (int k = 0; k <= HR_SIM_PF_POINTS_MAX; k++)
    n += snprintf(big + n, sizeof big - (size_t)n, "%s[%d, 0.9]", k ? ", " : "", k);
  snprintf(big + n, sizeof big - (size_t)n, "]}\n");
  assert_int_equal(hr_scenario_load_buffer(big, strlen(big), "s.yaml", ".", &sc, &e), HR_ERR_RANGE);
  assert_string_equal(e.field, "supply.pf");
  assert_non_null(strstr(e.message, "33 points"));
  /* Every shipped scenario loads. */
  static const char *files[] = {"sync-restart.yaml",
                                "checkpoint-storm.yaml",
                                "telemetry-loss.yaml",
                                "diurnal-inference.yaml",
                                "mixed-training-inference.yaml",
                                "feed-loss-2n.yaml",
                                "meter-freeze.yaml",
                                "meter-garbage.yaml",
                                "meter-stuck.yaml",
                                "coordinator-crash.yaml",
                                "utility-outage.yaml",
                                "grid-oscillation.yaml"};
  for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
    char path[1024];
    snprintf(path, sizeof path, "%s/scenarios/%s", HR_SOURCE_DIR, files[k]);
    assert_int_equal(hr_scenario_load_file(path, &sc, &e), HR_OK);
    hr_scenario_free(&sc);
  }
}

/* The supplies' lowest marginal efficiency (what the ramp envelopes take,
 * docs/loop.md "Supply limit") against a numerical derivative: the input
 * per watt of output is x / eff(x) in units of the supply's rating, eff
 * linear between the points and held beyond them; d(out)/d(in) is the
 * inverse of its slope, sampled every 1e-5 of load fraction from 0 to 2. */
static double lin(const double *xs, const double *ys, int n, double x)
{
  if (x <= xs[0])
    return ys[0];
  for (int i = 1; i < n; i++)
    if (x <= xs[i])
      return ys[i - 1] + (ys[i] - ys[i - 1]) * (x - xs[i - 1]) / (xs[i] - xs[i - 1]);
  return ys[n - 1];
}

static void test_marginal_eff(void **state)
{
  (void)state;
  static const double curves[][4][2] = {
      {{0.1, 0.90}, {0.2, 0.94}, {0.5, 0.96}, {1.0, 0.91}}, /* 80 PLUS Titanium */
      {{0.4, 0.96}, {1.0, 0.85}, {0, 0}, {0, 0}},
      {{0.1, 0.85}, {0.5, 0.94}, {1.0, 0.92}, {0, 0}},
      {{0.2, 0.80}, {0.9, 0.95}, {0, 0}, {0, 0}}, /* rising: the lowest efficiency */
  };
  static const int npts[] = {4, 2, 3, 2};
  for (size_t c = 0; c < sizeof npts / sizeof *npts; c++) {
    hr_sim_supply_cfg_t u;
    memset(&u, 0, sizeof u);
    u.n_eff = npts[c];
    for (int i = 0; i < npts[c]; i++) {
      u.eff_load[i] = curves[c][i][0];
      u.eff[i] = curves[c][i][1];
    }
    double lo = INFINITY, hi = 0.0;
    const double h = 1e-5;
    for (double x = h; x < 2.0; x += h) {
      double in0 = (x - h) / lin(u.eff_load, u.eff, u.n_eff, x - h),
             in1 = x / lin(u.eff_load, u.eff, u.n_eff, x);
      lo = fmin(lo, h / (in1 - in0));
      hi = fmax(hi, h / (in1 - in0));
    }
    double got = hr__sim_marginal_eff(&u), got_hi = hr__sim_marginal_eff_max(&u);
    print_message("curve %zu: marginal efficiency %.5f..%.5f, numerical %.5f..%.5f\n", c, got,
                  got_hi, lo, hi);
    assert_true(fabs(got - lo) < 2e-4);
    assert_true(fabs(got_hi - hi) < 2e-4);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_trip_time),
                                     cmocka_unit_test(test_scenario_errors),
                                     cmocka_unit_test(test_marginal_eff)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
