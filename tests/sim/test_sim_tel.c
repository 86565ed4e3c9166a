/* The simulator's sampled GPU telemetry (gpu.telemetry_period_ms and
 * telemetry_window_ms; docs/sim.md, "Telemetry").
 *
 * Against an independent computation from the GPUs' power, step by step: a
 * training job (iterations of 0.5 s, ramps, a restart) on the 16-GPU rack,
 * 100-ms samples of 25-ms windows (an H100's sensor) at a 1-ms step, then
 * 30-ms samples of whole windows at a 0.5-ms step (the period not a
 * multiple of the iteration).  At every step the reading must carry the
 * last multiple of the period at or before it as its time, and as its value
 * the mean of the GPU's power over the window's steps before that time (the
 * dither's 0 to 10 mW below it, rounded to 1 mW); before the first sample,
 * the idle power at time 0.  The lease policy under that telemetry must not
 * take the GPUs for lost (its staleness limit follows the period) nor trip.
 */
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
#include "simtest.h"

static const char SC[] =
    "version: 1\ntree: unused.yaml\nduration_s: 4\n"
    "workloads:\n"
    "  - {kind: training, gpus: [0, 16], period_s: 0.5, compute_frac: 0.6, compute_w: 700,\n"
    "     comm_w: 250, ramp_s: 0.3, start_s: 0.2, restarts: [2.0], restart_s: 0.4}\n";

/* SC on the 16-GPU rack at step_ms with the given telemetry, under policy;
 * t and sc are the caller's to free with the simulator. */
static hr_sim_t *tel_sim(const char *policy, double step_ms, double per_ms, double win_ms,
                         hr_tree_t **t, hr_scenario_t *sc)
{
  hr_diag_t e;
  const char *tt = simtest_rack16("");
  assert_int_equal(hr_tree_load_buffer(tt, strlen(tt), "t.yaml", t, &e), HR_OK);
  assert_int_equal(hr_scenario_load_buffer(SC, strlen(SC), "s.yaml", ".", sc, &e), HR_OK);
  sc->step_ms = step_ms;
  sc->gpu.telemetry_period_ms = per_ms;
  sc->gpu.telemetry_window_ms = win_ms;
  hr_agent_cfg_t ac;
  assert_int_equal(hr_sim_policy_cfg(policy, &ac), HR_OK);
  hr_sim_t *s = NULL;
  if (hr_sim_create(sc, *t, &ac, &s, &e) != HR_OK)
    fail_msg("create: %s: %s", e.field, e.message);
  return s;
}

static size_t check_sampling(double step_ms, double per_ms, double win_ms)
{
  hr_tree_t *t = NULL;
  hr_scenario_t sc;
  hr_sim_t *s = tel_sim("none", step_ms, per_ms, win_ms, &t, &sc);
  const size_t node = hr_agent_leaf_node(hr_sim_agent(s), 0);
  const int64_t step_ns = (int64_t)llround(step_ms * 1e6), per_ns = (int64_t)llround(per_ms * 1e6);
  const int64_t win_ns = win_ms > 0 ? (int64_t)llround(win_ms * 1e6) : per_ns;
  const size_t n_steps = (size_t)llround(sc.duration_s * 1e3 / step_ms);
  double *p = calloc(n_steps, sizeof *p); /* GPU 0's power over step i */
  assert_non_null(p);
  size_t checked = 0, moving = 0, sensitive = 0;
  double worst = 0.0;
  for (size_t i = 0; i < n_steps; i++) {
    const int64_t now = (int64_t)i * step_ns;
    hr_act_reading_t rd;
    assert_int_equal(hr__sim_reading(s, 0, &rd), HR_OK);
    /* The reference: the last sample at or before now, the mean of the
     * steps in the window before it (idle before the first sample). */
    int64_t tj = now / per_ns * per_ns;
    double want = sc.gpu.idle_w;
    if (tj > 0) {
      size_t hi = (size_t)(tj / step_ns), lo = (size_t)((tj - win_ns) / step_ns);
      double sum = 0.0;
      for (size_t j = lo; j < hi; j++)
        sum += p[j];
      want = sum / (double)(hi - lo);
      /* A window one step early would read otherwise here (so the check
       * tells the window's place, not only its length). */
      if (lo > 0 && fabs((sum - p[hi - 1] + p[lo - 1]) / (double)(hi - lo) - want) > 0.05 &&
          now == tj)
        sensitive++;
    } else {
      tj = 0;
    }
    assert_int_equal(rd.t_ns, tj);
    double d = want - rd.p_w;
    if (!(d >= -0.0005 && d <= 0.0105))
      fail_msg("t %.4f s: reading %.6f W, the window's mean %.6f W", (double)now * 1e-9, rd.p_w,
               want);
    worst = fmax(worst, fabs(d));
    checked++;
    assert_int_equal(hr_sim_step(s), HR_OK);
    assert_int_equal(hr_sim_node_state(s, node, &p[i], NULL), HR_OK);
    if (i > 0 && p[i] != p[i - 1])
      moving++;
  }
  print_message("step %.1f ms, samples every %.0f ms of %.0f-ms windows: %zu readings within "
                "%.4f W of the window means; GPU 0's power moved in %zu steps; %zu samples "
                "whose window one step early reads otherwise\n",
                step_ms, per_ms, (double)win_ns * 1e-6, checked, worst, moving, sensitive);
  assert_true(moving > 300); /* transitions, not a steady load */
  free(p);
  hr_sim_destroy(s);
  hr_scenario_free(&sc);
  hr_tree_destroy(t);
  return sensitive;
}

static void test_sampled_readings(void **st)
{
  (void)st;
  size_t n = check_sampling(1.0, 100.0, 25.0);
  n += check_sampling(0.5, 30.0, 0.0);
  n += check_sampling(1.0, 7.0, 3.0);
  assert_true(n >= 10);
}

/* Unsynchronized samples (gpu.telemetry_async): every GPU's reading at
 * every step carries a time on its own phase of the period (the same phase
 * throughout, a whole step, at most a period old), and its window's mean of
 * that GPU's power before that time; the 16 GPUs' phases are not one. */
static void test_async_readings(void **st)
{
  (void)st;
  enum { N = 16 };
  hr_tree_t *t = NULL;
  hr_scenario_t sc;
  hr_diag_t e;
  const char *tt = simtest_rack16("");
  assert_int_equal(hr_tree_load_buffer(tt, strlen(tt), "t.yaml", &t, &e), HR_OK);
  assert_int_equal(hr_scenario_load_buffer(SC, strlen(SC), "s.yaml", ".", &sc, &e), HR_OK);
  sc.gpu.telemetry_period_ms = 100;
  sc.gpu.telemetry_window_ms = 25;
  sc.gpu.telemetry_async = 1;
  hr_agent_cfg_t ac;
  assert_int_equal(hr_sim_policy_cfg("none", &ac), HR_OK);
  hr_sim_t *s = NULL;
  if (hr_sim_create(&sc, t, &ac, &s, &e) != HR_OK)
    fail_msg("create: %s: %s", e.field, e.message);
  const int64_t step_ns = 1000000, per_ns = 100000000, win_ns = 25000000;
  const size_t n_steps = (size_t)llround(sc.duration_s * 1e3);
  double *p = calloc(n_steps * N, sizeof *p); /* GPU g's power over step i: p[i * N + g] */
  assert_non_null(p);
  int64_t phase[N];
  for (int g = 0; g < N; g++)
    phase[g] = -1;
  size_t checked = 0;
  double worst = 0.0;
  for (size_t i = 0; i < n_steps; i++) {
    const int64_t now = (int64_t)i * step_ns;
    for (int g = 0; g < N; g++) {
      hr_act_reading_t rd;
      assert_int_equal(hr__sim_reading(s, g, &rd), HR_OK);
      double want = sc.gpu.idle_w;
      if (rd.t_ns > 0) {
        if (phase[g] < 0)
          phase[g] = rd.t_ns % per_ns;
        assert_int_equal(rd.t_ns % per_ns, phase[g]);
        assert_int_equal(rd.t_ns % step_ns, 0);
        assert_true(rd.t_ns <= now && now - rd.t_ns < per_ns);
        /* (a first sample sooner than a window after the start: the steps
         * there were) */
        size_t hi = (size_t)(rd.t_ns / step_ns),
               lo = rd.t_ns > win_ns ? (size_t)((rd.t_ns - win_ns) / step_ns) : 0;
        double sum = 0.0;
        for (size_t j = lo; j < hi; j++)
          sum += p[j * N + (size_t)g];
        want = sum / (double)(hi - lo);
      } else {
        /* no sample yet: the idle power at time 0, and not past its phase */
        assert_int_equal(rd.t_ns, 0);
        assert_true(now <= per_ns);
      }
      double d = want - rd.p_w;
      if (!(d >= -0.0005 && d <= 0.0105))
        fail_msg("GPU %d, t %.4f s: reading %.6f W at %.4f s, the window's mean %.6f W", g,
                 (double)now * 1e-9, rd.p_w, (double)rd.t_ns * 1e-9, want);
      worst = fmax(worst, fabs(d));
      checked++;
    }
    assert_int_equal(hr_sim_step(s), HR_OK);
    for (int g = 0; g < N; g++)
      assert_int_equal(hr_sim_node_state(s, hr_agent_leaf_node(hr_sim_agent(s), (size_t)g),
                                         &p[i * N + (size_t)g], NULL),
                       HR_OK);
  }
  int distinct = 0;
  for (int g = 0; g < N; g++) {
    int seen = 0;
    for (int h = 0; h < g; h++)
      seen |= phase[h] == phase[g];
    distinct += !seen;
    assert_true(phase[g] >= 0);
  }
  print_message("unsynchronized 100-ms samples of 25-ms windows: %zu readings within %.4f W of "
                "their windows' means; %d distinct phases among %d GPUs\n",
                checked, worst, distinct, N);
  assert_true(distinct >= 8);
  free(p);
  hr_sim_destroy(s);
  hr_scenario_free(&sc);
  hr_tree_destroy(t);
}

/* The lease policy on 100-ms samples: no telemetry loss (the lease system
 * stays in normal mode), no trip, no clamp, and caps set.  Nothing binds
 * (11.2 kW under a 28.7-kW rack), so a cap falls only when the policy's
 * demand (the peak of its readings) falls below it: after a rise the first
 * sample that can show it may fall in a communication phase.  Before the
 * agent held a leaf whose reading predates its cap's rise (settle_ns), the
 * next decisions read the old sample and undid every rise: 112 falls, work
 * 0.926; holding the bare cap, 32 falls and 0.952 (the tokens' rounding);
 * with the probe share 16 falls and 0.999 (1-ms telemetry: the figures
 * printed). */
static void on_cap(void *user, const hr_agent_decision_t *d)
{
  size_t *falls = user;
  if (!isnan(d->prev_cap_w) && d->cap_w < d->prev_cap_w)
    (*falls)++;
}

static double run_lease(double per_ms, double win_ms, size_t *falls)
{
  hr_tree_t *t = NULL;
  hr_scenario_t sc;
  hr_sim_t *s = tel_sim("headroom", 1.0, per_ms, win_ms, &t, &sc);
  *falls = 0;
  hr_agent_set_callback(hr_sim_agent(s), on_cap, falls);
  int degraded = 0;
  while (hr_sim_step(s) == HR_OK)
    degraded |= hr_lease_sys_mode(hr_agent_lease_sys(hr_sim_agent(s))) != HR_MODE_NORMAL;
  hr_sim_result_t r;
  assert_int_equal(hr_sim_result(s, &r), HR_OK);
  print_message("headroom on %s telemetry: work %.4f, trips %u, clamps %llu, caps set %llu "
                "(%zu falls), degraded %d\n",
                per_ms > 0 ? "100-ms" : "1-ms", r.work_frac, r.trips,
                (unsigned long long)r.agent.lease_clamps, (unsigned long long)r.agent.caps_set,
                *falls, degraded);
  assert_int_equal(degraded, 0);
  assert_int_equal(r.trips, 0);
  assert_int_equal(r.agent.lease_clamps, 0);
  assert_true(r.agent.caps_set > 0);
  hr_sim_destroy(s);
  hr_scenario_free(&sc);
  hr_tree_destroy(t);
  return r.work_frac;
}

static void test_lease_on_samples(void **st)
{
  (void)st;
  size_t f1, f100;
  double w1 = run_lease(0, 0, &f1), w100 = run_lease(100, 25, &f100);
  assert_true(f100 < 25);
  assert_true(w100 > w1 - 0.01);
}

static void test_refused(void **st)
{
  (void)st;
  hr_diag_t e;
  hr_scenario_t sc;
  static const char win[] = "version: 1\ntree: x.yaml\ngpu: {telemetry_period_ms: 20, "
                            "telemetry_window_ms: 30}\n";
  assert_int_equal(hr_scenario_load_buffer(win, sizeof win - 1, "s.yaml", ".", &sc, &e),
                   HR_ERR_RANGE);
  assert_string_equal(e.field, "gpu.telemetry_window_ms");
  assert_int_equal(e.line, 3);
  static const char lone[] = "version: 1\ntree: x.yaml\ngpu: {telemetry_window_ms: 5}\n";
  assert_int_equal(hr_scenario_load_buffer(lone, sizeof lone - 1, "s.yaml", ".", &sc, &e),
                   HR_ERR_RANGE);
  assert_string_equal(e.field, "gpu.telemetry_window_ms");
  assert_non_null(strstr(e.message, "needs a sample period"));
  static const char asy[] = "version: 1\ntree: x.yaml\ngpu: {telemetry_async: true}\n";
  assert_int_equal(hr_scenario_load_buffer(asy, sizeof asy - 1, "s.yaml", ".", &sc, &e),
                   HR_ERR_RANGE);
  assert_string_equal(e.field, "gpu.telemetry_async");
  static const char asy2[] =
      "version: 1\ntree: x.yaml\ngpu: {telemetry_period_ms: 100, telemetry_async: yes}\n";
  assert_int_equal(hr_scenario_load_buffer(asy2, sizeof asy2 - 1, "s.yaml", ".", &sc, &e),
                   HR_ERR_PARSE);
  assert_string_equal(e.field, "gpu.telemetry_async");
  assert_int_equal(e.line, 3);
  /* Not whole steps: refused when the simulator is made. */
  hr_tree_t *t = NULL;
  const char *tt = simtest_rack16("");
  assert_int_equal(hr_tree_load_buffer(tt, strlen(tt), "t.yaml", &t, &e), HR_OK);
  assert_int_equal(hr_scenario_load_buffer(SC, strlen(SC), "s.yaml", ".", &sc, &e), HR_OK);
  sc.gpu.telemetry_period_ms = 2.5;
  hr_agent_cfg_t ac;
  assert_int_equal(hr_sim_policy_cfg("none", &ac), HR_OK);
  hr_sim_t *s = NULL;
  assert_int_equal(hr_sim_create(&sc, t, &ac, &s, &e), HR_ERR_RANGE);
  assert_string_equal(e.field, "gpu.telemetry_period_ms");
  assert_null(s);
  hr_scenario_free(&sc);
  hr_tree_destroy(t);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sampled_readings), cmocka_unit_test(test_async_readings),
      cmocka_unit_test(test_lease_on_samples), cmocka_unit_test(test_refused)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
