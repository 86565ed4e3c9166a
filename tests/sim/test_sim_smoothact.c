/* GPU power smoothing goes through the actuator (docs/sim.md, "GPU power
 * smoothing"): the simulator applies only the profile the agent sent with
 * hr_actuator_set_smoothing, after the actuation delay, and a GPU that
 * refuses the call (as NVML refuses a process without the right) runs
 * without smoothing while the agent keeps measuring and capping it.  The
 * ramp-down hysteresis of the profile holds a fall for its time. */
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

#define N_GPU 16
#define MAX_S 20000

typedef struct series {
  double t_s[MAX_S], p_w[MAX_S], floors_w[MAX_S], demand_w[MAX_S];
  size_t n;
} series_t;

static void on_sample(void *user, const hr_sim_sample_t *smp)
{
  series_t *s = user;
  if (s->n < MAX_S) {
    s->t_s[s->n] = smp->t_s;
    s->p_w[s->n] = smp->site_p_w;
    s->floors_w[s->n] = smp->floors_w;
    s->demand_w[s->n] = smp->demand_w;
    s->n++;
  }
}

/* 16 GPUs in training (700 W compute, 300 W communication, 1-s iterations,
 * no start ramp) for dur_s, sampled every millisecond. */
static hr_sim_t *make(const hr_agent_cfg_t *ac, double dur_s, hr_tree_t **tree_out)
{
  char text[1024];
  snprintf(text, sizeof text,
           "version: 1\ntree: t.yaml\nduration_s: %g\nsample_s: 0.001\nworkloads:\n"
           "  - {kind: training, gpus: [0, 16], period_s: 1, compute_frac: 0.7,\n"
           "     compute_w: 700, comm_w: 300, ramp_s: 0}\nevents: []\n",
           dur_s);
  hr_scenario_t sc;
  hr_diag_t e;
  int rc = hr_scenario_load_buffer(text, strlen(text), "s.yaml", ".", &sc, &e);
  if (rc != HR_OK)
    print_message("%s:%ld: %s: %s\n", e.source, e.line, e.field, e.message);
  assert_int_equal(rc, HR_OK);
  const char *tt = simtest_rack16("");
  hr_tree_t *t = NULL;
  assert_int_equal(hr_tree_load_buffer(tt, strlen(tt), "t.yaml", &t, &e), HR_OK);
  hr_sim_t *s = NULL;
  assert_int_equal(hr_sim_create(&sc, t, ac, &s, &e), HR_OK);
  hr_scenario_free(&sc);
  *tree_out = t;
  return s;
}

static void run(const hr_agent_cfg_t *ac, double dur_s, const int *deny, size_t n_deny,
                series_t *ser, hr_sim_result_t *r, char *err, size_t err_len)
{
  hr_tree_t *t;
  hr_sim_t *s = make(ac, dur_s, &t);
  for (size_t k = 0; k < n_deny; k++)
    hr__sim_deny_smoothing(s, deny[k]);
  memset(ser, 0, sizeof *ser);
  assert_int_equal(hr_sim_run(s, on_sample, ser), HR_OK);
  assert_int_equal(hr_sim_result(s, r), HR_OK);
  if (err)
    snprintf(err, err_len, "%s", hr_agent_smoothing_error(hr_sim_agent(s)));
  hr_sim_destroy(s);
  hr_tree_destroy(t);
}

/* The profile (floor 350 W, 1 kW/s) is in force only from the actuation
 * delay (5 ms) after the agent's first step: before it the floors in force
 * are 0 and the GPUs rise at their own slew (80 W/ms), after it at most
 * 1 W/ms each.  A run whose GPUs all refuse the call is the same, bit for
 * bit, as one whose agent never asks for smoothing: the simulator applies
 * nothing of the policy's profile by itself. */
static void test_profile_through_actuator(void **st)
{
  (void)st;
  series_t *ser = calloc(1, sizeof *ser), *ref = calloc(1, sizeof *ref);
  assert_non_null(ser);
  assert_non_null(ref);
  hr_agent_cfg_t ac;
  assert_int_equal(hr_sim_policy_cfg("headroom-smooth", &ac), HR_OK);
  hr_sim_result_t r;
  run(&ac, 3.0, NULL, 0, ser, &r, NULL, 0);
  assert_int_equal(r.agent.smooth_sets, N_GPU);
  assert_int_equal(r.agent.smooth_errors, 0);
  assert_int_equal(r.agent.last_smooth_err, HR_OK);
  size_t k_on = ser->n;
  double rise_before = 0.0, rise_after = 0.0;
  for (size_t k = 0; k < ser->n; k++) {
    if (ser->floors_w[k] > 0.0 && k_on == ser->n)
      k_on = k;
    if (k > 0) {
      double d = ser->p_w[k] - ser->p_w[k - 1];
      if (k < k_on && d > rise_before)
        rise_before = d;
      if (k > k_on && d > rise_after)
        rise_after = d;
    }
  }
  assert_true(k_on < ser->n);
  print_message("profile in force from %.3f s (floors %.0f W); largest 1-ms rise before %.1f W, "
                "after %.1f W\n",
                ser->t_s[k_on], ser->floors_w[k_on], rise_before, rise_after);
  /* The first step is at 0; the profile is in force in the step that
   * contains 5 ms, whose sample is stamped at its end. */
  assert_true(ser->t_s[k_on] >= 0.005 - 1e-9 && ser->t_s[k_on] <= 0.006 + 1e-9);
  for (size_t k = k_on; k < ser->n; k++)
    assert_true(ser->floors_w[k] == N_GPU * 350.0);
  assert_true(rise_before > N_GPU * 50.0);
  assert_true(rise_after <= N_GPU * 1.0 + 1e-6);

  /* Every GPU refuses: no floor, no ramp, identical to no smoothing. */
  static const int all[N_GPU] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  char err[256];
  run(&ac, 3.0, all, N_GPU, ser, &r, err, sizeof err);
  assert_int_equal(r.agent.smooth_errors, N_GPU);
  assert_int_equal(r.agent.last_smooth_err, HR_ERR_STATE);
  assert_non_null(strstr(err, "simulated GPU 0"));
  assert_non_null(strstr(err, "not permitted"));
  hr_agent_cfg_t off = ac;
  off.smooth_floor_frac = 0.0;
  off.smooth_ramp_w_per_s = 0.0;
  hr_sim_result_t r0;
  run(&off, 3.0, NULL, 0, ref, &r0, NULL, 0);
  assert_int_equal(r0.agent.smooth_sets, 0);
  assert_int_equal(ser->n, ref->n);
  for (size_t k = 0; k < ser->n; k++) {
    assert_true(ser->floors_w[k] == 0.0);
    assert_memory_equal(&ser->p_w[k], &ref->p_w[k], sizeof(double));
  }
  assert_memory_equal(&r.energy_j, &r0.energy_j, sizeof(double));
  assert_memory_equal(&r.work_frac, &r0.work_frac, sizeof(double));
  free(ser);
  free(ref);
}

typedef struct leafwatch {
  size_t leaf;
  unsigned n;     /* decisions for the leaf */
  double p_min_w; /* the lowest reading they carried */
} leafwatch_t;

static void on_decision(void *user, const hr_agent_decision_t *d)
{
  leafwatch_t *w = user;
  if (d->leaf == w->leaf) {
    w->n++;
    if (d->p_w < w->p_min_w)
      w->p_min_w = d->p_w;
  }
}

/* GPU 3 refuses its profile (permission): the agent says so (counted, the
 * actuator's message naming the GPU kept), keeps reading and capping it
 * (its decisions carry its readings), and it runs without smoothing: from
 * 1 s on it falls to its communication power (300 W) in every trough while
 * GPU 4 is held at the 350-W floor. */
static void test_refused_gpu_runs_unsmoothed(void **st)
{
  (void)st;
  hr_agent_cfg_t ac;
  assert_int_equal(hr_sim_policy_cfg("headroom-smooth", &ac), HR_OK);
  hr_tree_t *t;
  hr_sim_t *s = make(&ac, 6.0, &t);
  hr__sim_deny_smoothing(s, 3);
  hr_agent_t *a = hr_sim_agent(s);
  leafwatch_t lw = {3, 0, INFINITY};
  hr_agent_set_callback(a, on_decision, &lw);
  size_t n3 = hr_agent_leaf_node(a, 3), n4 = hr_agent_leaf_node(a, 4);
  double lo3 = INFINITY, lo4 = INFINITY;
  int rc;
  for (int k = 0; (rc = hr_sim_step(s)) == HR_OK; k++) {
    if (k < 1000)
      continue;
    double p3, p4;
    assert_int_equal(hr_sim_node_state(s, n3, &p3, NULL), HR_OK);
    assert_int_equal(hr_sim_node_state(s, n4, &p4, NULL), HR_OK);
    if (p3 < lo3)
      lo3 = p3;
    if (p4 < lo4)
      lo4 = p4;
  }
  assert_int_equal(rc, HR_ERR_EOF);
  hr_agent_stats_t stt;
  assert_int_equal(hr_agent_stats(a, &stt), HR_OK);
  const char *msg = hr_agent_smoothing_error(a);
  print_message("refused: %llu of %llu (%s); after 1 s lowest power GPU 3 %.1f W, GPU 4 %.1f W; "
                "GPU 3: %u cap decisions, lowest reading %.1f W\n",
                (unsigned long long)stt.smooth_errors, (unsigned long long)stt.smooth_sets, msg,
                lo3, lo4, lw.n, lw.p_min_w);
  assert_int_equal(stt.smooth_sets, N_GPU);
  assert_int_equal(stt.smooth_errors, 1);
  assert_int_equal(stt.last_smooth_err, HR_ERR_STATE);
  assert_non_null(strstr(msg, "simulated GPU 3"));
  assert_non_null(strstr(msg, "not permitted"));
  assert_int_equal(stt.cap_errors, 0);
  assert_int_equal(stt.bad_readings, 0);
  assert_true(lw.n > 0);
  assert_true(lw.p_min_w > 0.0);
  assert_true(lo3 <= 300.0 + 1e-6);
  assert_true(lo4 >= 350.0 - 1e-6);
  hr_sim_destroy(s);
  hr_tree_destroy(t);
}

/* Ramp-down hysteresis (NVML's RAMP_DOWN_HYSTERESIS, ms): when the demand
 * falls (compute to communication), the site's power stays where it was
 * for the hysteresis, then falls at the ramp.  Without hysteresis it falls
 * at once.  Checked at every demand fall after the first second. */
static void test_hysteresis(void **st)
{
  (void)st;
  series_t *ser = calloc(1, sizeof *ser);
  assert_non_null(ser);
  for (int h = 0; h < 2; h++) {
    hr_agent_cfg_t ac;
    assert_int_equal(hr_sim_policy_cfg("headroom-smooth", &ac), HR_OK);
    ac.smooth_hyst_ms = h ? 100.0 : 0.0;
    hr_sim_result_t r;
    run(&ac, 5.0, NULL, 0, ser, &r, NULL, 0);
    int falls = 0;
    for (size_t k = 1000; k + 150 < ser->n; k++) {
      if (!(ser->demand_w[k] < ser->demand_w[k - 1] - N_GPU * 300.0))
        continue;
      falls++;
      double p0 = ser->p_w[k - 1], p50 = ser->p_w[k + 50], p150 = ser->p_w[k + 150];
      print_message("hysteresis %3.0f ms: demand falls at %.3f s; site %.1f W, +50 ms %.1f W, "
                    "+150 ms %.1f W\n",
                    ac.smooth_hyst_ms, ser->t_s[k], p0, p50, p150);
      /* 16 GPUs falling at 1 W/ms each: 50 ms of ramp (to one step) is
       * 16 x 50 W; with the hysteresis, 50 ms of the 150 ms are ramp. */
      if (h) {
        assert_true(p50 == p0);
        assert_true(fabs(p150 - (p0 - N_GPU * 50.0)) <= N_GPU * 1.0 + 1e-6);
      } else {
        assert_true(fabs(p50 - (p0 - N_GPU * 50.0)) <= N_GPU * 1.0 + 1e-6);
      }
    }
    assert_true(falls >= 3);
  }
  free(ser);
}

/* Smoothing settings a profile cannot carry are refused when the agent is
 * made: a floor without a ramp, a ramp without a floor, a bad hysteresis. */
static void test_bad_profile_settings(void **st)
{
  (void)st;
  for (int c = 0; c < 4; c++) {
    hr_agent_cfg_t ac;
    assert_int_equal(hr_sim_policy_cfg("headroom-smooth", &ac), HR_OK);
    if (c == 0)
      ac.smooth_ramp_w_per_s = 0.0;
    else if (c == 1)
      ac.smooth_floor_frac = 0.0;
    else if (c == 2)
      ac.smooth_hyst_ms = -1.0;
    else
      ac.smooth_hyst_ms = INFINITY;
    static const char text[] = "version: 1\ntree: t.yaml\nduration_s: 1\nworkloads: []\n";
    hr_scenario_t sc;
    hr_diag_t e;
    assert_int_equal(hr_scenario_load_buffer(text, strlen(text), "s.yaml", ".", &sc, &e), HR_OK);
    const char *tt = simtest_rack16("");
    hr_tree_t *t = NULL;
    assert_int_equal(hr_tree_load_buffer(tt, strlen(tt), "t.yaml", &t, &e), HR_OK);
    hr_sim_t *s = NULL;
    assert_int_equal(hr_sim_create(&sc, t, &ac, &s, &e), HR_ERR_RANGE);
    assert_null(s);
    hr_scenario_free(&sc);
    hr_tree_destroy(t);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_profile_through_actuator),
      cmocka_unit_test(test_refused_gpu_runs_unsmoothed),
      cmocka_unit_test(test_hysteresis),
      cmocka_unit_test(test_bad_profile_settings),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
