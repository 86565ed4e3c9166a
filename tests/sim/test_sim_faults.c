/* Fault events of the simulator (docs/sim.md): a meter that freezes, a meter
 * reporting garbage, a utility outage with a generator's rating and ramp.
 * The agent must survive them: no trip, its caps falling back to safe values
 * (held, not raised, while it cannot trust the readings), and during the
 * outage the site within the generator's rating and ramp, checked from the
 * time series at every millisecond, not from the simulator's own counters.
 * The uncontrolled run of the same outage must trip the generator (the test
 * can fail). Malformed event fields are refused with file, line and field. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "headroom/lease.h"
#include "headroom/sim.h"
#include "simtest.h"

/* A rack of two 8-GPU servers (415 V, three-phase), a 40-A rack breaker
 * (28.7 kW: never near its limit here), the site rated 100 A. */
static const char *make_tree(void)
{
  return simtest_rack16("");
}

typedef struct series {
  double t_s[40000], p_w[40000];
  size_t n;
} series_t;

static void on_sample(void *user, const hr_sim_sample_t *smp)
{
  series_t *s = user;
  if (s->n < 40000) {
    s->t_s[s->n] = smp->t_s;
    s->p_w[s->n] = smp->site_p_w;
    s->n++;
  }
}

typedef struct capwatch {
  double t0_s, t1_s;   /* the fault's window */
  size_t first, end;   /* the leaves under it */
  double before_w[16]; /* each leaf's cap when the fault began */
  int raised;          /* a cap of a faulty leaf raised inside the window */
  double min_w;        /* the lowest cap of a faulty leaf inside the window */
} capwatch_t;

static void on_decision(void *user, const hr_agent_decision_t *d)
{
  capwatch_t *w = user;
  double t = (double)d->t_ns * 1e-9;
  if (d->leaf < w->first || d->leaf >= w->end || d->leaf >= 16)
    return;
  if (t < w->t0_s)
    w->before_w[d->leaf] = d->cap_w;
  else if (t < w->t1_s) {
    if (d->cap_w > w->before_w[d->leaf] + 1e-9)
      w->raised = 1;
    if (!(d->cap_w >= w->min_w))
      w->min_w = d->cap_w;
  }
}

/* hr_agent_cfg_t.stuck_ns for run() (-1: the policy's). */
static int64_t g_stuck_ns = -1;

/* The scenario text (tree: t.yaml) on make_tree()'s rack under policy
 * (stuck_ns overridden when stuck_ns >= 0): a simulator ready to step, its
 * tree in *t_out (destroyed by the caller after the simulator). */
static hr_sim_t *sim_open(const char *text, const char *policy, int64_t stuck_ns, hr_tree_t **t_out)
{
  hr_scenario_t sc;
  hr_diag_t e;
  int rc = hr_scenario_load_buffer(text, strlen(text), "s.yaml", ".", &sc, &e);
  if (rc != HR_OK)
    print_message("%s:%ld: %s: %s\n", e.source, e.line, e.field, e.message);
  assert_int_equal(rc, HR_OK);
  const char *tt = make_tree();
  hr_tree_t *t = NULL;
  assert_int_equal(hr_tree_load_buffer(tt, strlen(tt), "t.yaml", &t, &e), HR_OK);
  hr_agent_cfg_t ac;
  assert_int_equal(hr_sim_policy_cfg(policy, &ac), HR_OK);
  if (stuck_ns >= 0)
    ac.stuck_ns = stuck_ns;
  hr_sim_t *s = NULL;
  assert_int_equal(hr_sim_create(&sc, t, &ac, &s, &e), HR_OK);
  hr_scenario_free(&sc);
  *t_out = t;
  return s;
}

static void run(const char *policy, const char *events, const char *work, double dur_s,
                hr_sim_result_t *r, series_t *ser, capwatch_t *cw, hr_tree_t **tree_out,
                hr_sim_t **sim_out)
{
  char text[4096];
  snprintf(text, sizeof text,
           "version: 1\ntree: t.yaml\nduration_s: %g\nsample_s: 0.001\nworkloads:\n%s"
           "events:\n%s",
           dur_s, work, events);
  hr_tree_t *t = NULL;
  hr_sim_t *s = sim_open(text, policy, g_stuck_ns, &t);
  if (cw)
    hr_agent_set_callback(hr_sim_agent(s), on_decision, cw);
  assert_int_equal(hr_sim_run(s, ser ? on_sample : NULL, ser), HR_OK);
  assert_int_equal(hr_sim_result(s, r), HR_OK);
  *tree_out = t;
  *sim_out = s;
}

static const char WORK16[] = "  - {kind: batch, gpus: [0, 16], power_w: 600}\n";

/* Garbage readings (NaN, inf, negative, 1e7 W) from server 0's GPUs from
 * 2 s to 4 s: every one refused, no cap of those GPUs raised while they
 * report garbage, no trip, and the work of the clean server untouched. */
static void test_meter_garbage(void **st)
{
  (void)st;
  capwatch_t cw = {.t0_s = 2.0, .t1_s = 4.0, .first = 0, .end = 8};
  hr_sim_result_t r;
  hr_tree_t *t;
  hr_sim_t *s;
  run("headroom", "  - {kind: meter_garbage, node: srv0, at_s: 2, duration_s: 2}\n", WORK16, 6.0,
      &r, NULL, &cw, &t, &s);
  print_message("garbage: bad readings %llu, trips %u, work %.4f\n",
                (unsigned long long)r.agent.bad_readings, r.trips, r.work_frac);
  /* 8 GPUs x 2000 steps, every reading refused. */
  assert_int_equal(r.agent.bad_readings, 8 * 2000);
  assert_int_equal(r.trips, 0);
  assert_false(cw.raised);
  assert_int_equal(r.agent.lease_clamps, 0);
  hr_sim_destroy(s);
  hr_tree_destroy(t);
}

/* A frozen meter repeats its last sample: the agent sees it age, enters
 * degraded mode and holds the frozen GPUs' caps; no trip.  The frozen
 * readings were taken at 1 s, during the start of a workload that then
 * rises: a trusting agent would lower those caps to the stale value. */
static void test_meter_freeze(void **st)
{
  (void)st;
  {
    /* Stepped by hand: at 2 s (1 s into the freeze) the lease system is in
     * degraded mode; it stays there for stable_ns (10 s) after the freeze
     * ends (lease.h) and is back to normal at 13.5 s. */
    static const char text[] = "version: 1\ntree: t.yaml\nduration_s: 14\nworkloads:\n"
                               "  - {kind: batch, gpus: [0, 16], power_w: 600}\nevents:\n"
                               "  - {kind: meter_freeze, node: srv0, at_s: 1, duration_s: 2}\n";
    hr_tree_t *t = NULL;
    hr_sim_t *s = sim_open(text, "headroom", -1, &t);
    hr_lease_sys_t *sys = hr_agent_lease_sys(hr_sim_agent(s));
    for (int k = 0; k < 990; k++)
      assert_int_equal(hr_sim_step(s), HR_OK);
    assert_int_equal(hr_lease_sys_mode(sys), HR_MODE_NORMAL);
    for (int k = 990; k < 2000; k++)
      assert_int_equal(hr_sim_step(s), HR_OK);
    assert_int_equal(hr_lease_sys_mode(sys), HR_MODE_DEGRADED);
    for (int k = 2000; k < 12500; k++)
      assert_int_equal(hr_sim_step(s), HR_OK);
    assert_int_equal(hr_lease_sys_mode(sys), HR_MODE_DEGRADED);
    for (int k = 12500; k < 13500; k++)
      assert_int_equal(hr_sim_step(s), HR_OK);
    assert_int_equal(hr_lease_sys_mode(sys), HR_MODE_NORMAL);
    hr_sim_destroy(s);
    hr_tree_destroy(t);
  }
  capwatch_t cw = {.t0_s = 1.0, .t1_s = 3.0, .first = 0, .end = 8, .min_w = INFINITY};
  hr_sim_result_t r;
  hr_tree_t *t;
  hr_sim_t *s;
  run("headroom", "  - {kind: meter_freeze, node: srv0, at_s: 1, duration_s: 2}\n",
      "  - {kind: training, gpus: [0, 16], period_s: 1, compute_frac: 0.7, compute_w: 650,\n"
      "     comm_w: 300, ramp_s: 2}\n",
      5.0, &r, NULL, &cw, &t, &s);
  print_message("freeze: trips %u, work %.4f, bad %llu, lowest cap of a frozen GPU %.1f W\n",
                r.trips, r.work_frac, (unsigned long long)r.agent.bad_readings, cw.min_w);
  assert_int_equal(r.trips, 0);
  assert_false(cw.raised);
  assert_int_equal(r.agent.bad_readings, 0); /* frozen, not garbage: they only went stale */
  hr_sim_destroy(s);
  hr_tree_destroy(t);
}

/* A utility outage from 2 s to 14 s: a 8-kW generator taking at most
 * 2 kW/s.  Server 0 runs 600-W batch work throughout; server 1's starts at
 * 3 s (a 4.2-kW step).  With headroom the site stays within 8 kW (+ one
 * GPU's slew step) and rises at most 2 kW over any second inside the
 * outage; uncontrolled, the 9.6 kW exceed the generator for its 5-s
 * overload time and it trips. */
static void test_utility_outage(void **st)
{
  (void)st;
  for (int small = 0; small < 2; small++) {
    /* Stepped by hand: the transfer switch's alarm reaches the lease system
     * as HR_EVENT_UTILITY_LOSS with every reading fresh, and the generator's
     * rating as the site's supply.  A 50-kW generator holds the GPUs'
     * floors: normal mode throughout, and the caps rise for the batch work
     * that starts at 1.5 s.  A 3-kW one cannot (16 x 210 W of floors): the
     * lease system refuses it, and the loss is degraded mode from the
     * outage's first step (1 s) to stable_ns (10 s) after its end (3 s),
     * with no cap rising in it. */
    static const char fmt[] =
        "version: 1\ntree: t.yaml\nduration_s: 14\nworkloads:\n"
        "  - {kind: batch, gpus: [0, 16], power_w: 600, start_s: 1.5}\nevents:\n"
        "  - {kind: utility_outage, at_s: 1, duration_s: 2, gen_kw: %d, ramp_kw_per_s: 50}\n";
    char text[sizeof fmt + 16];
    snprintf(text, sizeof text, fmt, small ? 3 : 50);
    hr_tree_t *t = NULL;
    hr_sim_t *s = sim_open(text, "headroom", -1, &t);
    capwatch_t cw = {.t0_s = 1.0, .t1_s = 12.999, .first = 0, .end = 16, .min_w = INFINITY};
    hr_agent_set_callback(hr_sim_agent(s), on_decision, &cw);
    hr_lease_sys_t *sys = hr_agent_lease_sys(hr_sim_agent(s));
    for (int k = 0; k < 1000; k++)
      assert_int_equal(hr_sim_step(s), HR_OK);
    assert_int_equal(hr_lease_sys_mode(sys), HR_MODE_NORMAL);
    assert_int_equal(hr_sim_step(s), HR_OK); /* the step at 1 s */
    const hr_mode_t in_outage = small ? HR_MODE_DEGRADED : HR_MODE_NORMAL;
    assert_int_equal(hr_lease_sys_mode(sys), in_outage);
    assert_true(hr_lease_sys_events(sys) & HR_EVENT_UTILITY_LOSS);
    if (small)
      assert_true(isinf(hr_lease_sys_supply_w(sys, 0)));
    else
      /* (one token of the root's children's tier above it: the envelope
       * holds the rating itself) */
      assert_true(hr_lease_sys_supply_w(sys, 0) > 50e3 &&
                  hr_lease_sys_supply_w(sys, 0) <= 50e3 + 1000.0);
    for (int k = 1001; k < 12999; k++) {
      assert_int_equal(hr_sim_step(s), HR_OK);
      if (k < 3000)
        assert_int_equal(hr_lease_sys_mode(sys), in_outage);
    }
    assert_int_equal(hr_lease_sys_mode(sys), in_outage);
    for (int k = 12999; k < 13100; k++)
      assert_int_equal(hr_sim_step(s), HR_OK);
    assert_int_equal(hr_lease_sys_mode(sys), HR_MODE_NORMAL);
    assert_true(isinf(hr_lease_sys_supply_w(sys, 0))); /* the utility is back */
    /* The batch work starting at 1.5 s wanted more: caps rose for it under
     * the 50-kW generator, none under the refused one. */
    assert_int_equal(cw.raised, !small);
    hr_sim_destroy(s);
    hr_tree_destroy(t);
  }
  static const char ev[] =
      "  - {kind: utility_outage, at_s: 2, duration_s: 12, gen_kw: 8, ramp_kw_per_s: 2}\n";
  static const char wk[] = "  - {kind: batch, gpus: [0, 8], power_w: 600}\n"
                           "  - {kind: batch, gpus: [8, 16], power_w: 600, start_s: 3}\n";
  series_t *ser = calloc(1, sizeof *ser);
  assert_non_null(ser);
  hr_sim_result_t r;
  hr_tree_t *t;
  hr_sim_t *s;
  run("headroom", ev, wk, 16.0, &r, ser, NULL, &t, &s);
  double worst_over = -INFINITY, worst_rise = -INFINITY;
  for (size_t k = 0; k < ser->n; k++) {
    double tk = ser->t_s[k];
    if (tk <= 2.01 || tk > 14.0)
      continue; /* the agent's first decision takes effect after the actuation delay */
    if (ser->p_w[k] - 8000.0 > worst_over)
      worst_over = ser->p_w[k] - 8000.0;
    /* The rise over the last second (samples every 1 ms), from the outage's start. */
    for (size_t j = k; j-- > 0 && ser->t_s[j] >= tk - 1.0 - 1e-9;)
      if (ser->t_s[j] >= 2.0 && ser->p_w[k] - ser->p_w[j] > worst_rise)
        worst_rise = ser->p_w[k] - ser->p_w[j];
  }
  print_message("outage, headroom: trips %u, gen trips %u, over %.1f W, 1-s rise %.1f W, "
                "ramp viol %.3f s, clamps %llu, work %.4f\n",
                r.trips, r.gen_trips, worst_over, worst_rise, r.gen_ramp_viol_s,
                (unsigned long long)r.agent.supply_clamps, r.work_frac);
  assert_int_equal(r.trips, 0);
  assert_int_equal(r.gen_trips, 0);
  assert_true(worst_over <= 1e-6);
  /* The envelope rises 2 kW/s from the lowest draw of the last second or
   * two; the 8 idle GPUs' jump from 70 W to their lowest cap (200 W, which
   * no cap can prevent) is 1.04 kW, within one second's ramp here. */
  assert_true(worst_rise <= 2000.0 + 1.0);
  assert_true(r.gen_ramp_viol_s == 0.0);
  assert_true(r.agent.supply_clamps > 0);
  assert_true(r.work_frac < 1.0); /* the generator could not carry all of it */
  hr_sim_destroy(s);
  hr_tree_destroy(t);

  memset(ser, 0, sizeof *ser);
  run("none", ev, wk, 16.0, &r, NULL, NULL, &t, &s);
  print_message("outage, none: trips %u, gen trips %u, over %.2f s, ramp viol %.3f s\n", r.trips,
                r.gen_trips, r.gen_over_s, r.gen_ramp_viol_s);
  assert_int_equal(r.gen_trips, 1);
  assert_true(r.gen_ramp_viol_s > 0.0);
  hr_sim_destroy(s);
  hr_tree_destroy(t);
  free(ser);
}

/* The generator's overload clock does not restart on a dip (docs/sim.md,
 * utility_outage): 16 GPUs in 1-s training iterations, 0.7 s at 700 W
 * (11.2 kW) and 0.3 s at 300 W (4.8 kW), on an 8-kW generator with a 5-s
 * overload time, uncontrolled.  No single overload lasts 5 s, so a clock
 * that restarts at every dip never trips it; the integral form (IEEE
 * C37.112, orchestration.md §3.1) with the dependent-time reset
 * t_r / (1 - M^2), t_r = overload_s, gains 0.7 - 0.3 x (1 - 0.6^2) = 0.508
 * s a cycle and trips in the tenth.  The test recomputes the accumulator
 * from the 1-ms series of site power and checks that it reaches 5 s when
 * the site goes dark. */
static void test_generator_dips(void **st)
{
  (void)st;
  static const char ev[] = "  - {kind: utility_outage, at_s: 1, duration_s: 40, gen_kw: 8, "
                           "ramp_kw_per_s: 1000, overload_s: 5}\n";
  static const char wk[] = "  - {kind: training, gpus: [0, 16], period_s: 1.0, compute_frac: 0.7, "
                           "compute_w: 700, comm_w: 300}\n";
  series_t *ser = calloc(1, sizeof *ser);
  assert_non_null(ser);
  hr_sim_result_t r;
  hr_tree_t *t;
  hr_sim_t *s;
  run("none", ev, wk, 30.0, &r, ser, NULL, &t, &s);
  double acc = 0.0, run_s = 0.0, longest = 0.0, t_dark = NAN, t_full = NAN;
  for (size_t k = 1; k < ser->n; k++) {
    double tk = ser->t_s[k], dt = tk - ser->t_s[k - 1], p = ser->p_w[k];
    if (tk <= 1.0 + 1e-9)
      continue;
    if (p <= 0.0) {
      t_dark = tk;
      break;
    }
    if (p > 8000.0) {
      acc += dt;
      run_s += dt;
      if (run_s > longest)
        longest = run_s;
    } else {
      acc = fmax(0.0, acc - dt * (1.0 - (p / 8000.0) * (p / 8000.0)));
      run_s = 0.0;
    }
    if (isnan(t_full) && acc >= 5.0)
      t_full = tk;
  }
  print_message("generator dips: gen trips %u, longest overload %.3f s, accumulator reaches 5 s "
                "at %.3f s, site dark at %.3f s\n",
                r.gen_trips, longest, t_full, t_dark);
  assert_true(longest < 1.0); /* a restarting clock would never trip */
  assert_int_equal(r.gen_trips, 1);
  /* Dark: unpowered GPUs fall to 0 W at their slew (80 W/ms: 700 W in
   * 8.75 ms), so the series reaches 0 W up to 10 ms after the trip. */
  assert_true(t_dark >= t_full && t_dark - t_full <= 0.010);
  assert_true(t_dark > 1.0 + 9.0 && t_dark < 1.0 + 11.0); /* the tenth cycle */
  hr_sim_destroy(s);
  hr_tree_destroy(t);
  free(ser);
}

/* headroom-smooth: GPU power smoothing (floor 50 % of 700 W, ramps 1 kW/s
 * per GPU).  16 GPUs in training (700 W compute, 300 W communication, 1-s
 * iterations) after a 2-s start ramp: with smoothing the site never falls
 * below 16 x 350 W while the job runs and moves at most 16 x 1 W per
 * millisecond; the plain lease policy swings 16 x 400 W within tens of
 * milliseconds (the test can fail). */
static void test_smoothing(void **st)
{
  (void)st;
  static const char wk[] = "  - {kind: training, gpus: [0, 16], period_s: 1, compute_frac: 0.7,\n"
                           "     compute_w: 700, comm_w: 300, ramp_s: 2}\n";
  series_t *ser = calloc(1, sizeof *ser);
  assert_non_null(ser);
  double lo[2], step[2], work[2];
  for (int sm = 0; sm < 2; sm++) {
    memset(ser, 0, sizeof *ser);
    hr_sim_result_t r;
    hr_tree_t *t;
    hr_sim_t *s;
    run(sm ? "headroom-smooth" : "headroom", "  []\n", wk, 10.0, &r, ser, NULL, &t, &s);
    lo[sm] = INFINITY;
    step[sm] = 0.0;
    for (size_t k = 1; k < ser->n; k++) {
      if (ser->t_s[k] < 3.0)
        continue;
      if (ser->p_w[k] < lo[sm])
        lo[sm] = ser->p_w[k];
      double d = fabs(ser->p_w[k] - ser->p_w[k - 1]);
      if (d > step[sm])
        step[sm] = d;
    }
    work[sm] = r.work_frac;
    assert_int_equal(r.trips, 0);
    hr_sim_destroy(s);
    hr_tree_destroy(t);
  }
  print_message("lowest site power after 3 s: %.1f W plain, %.1f W smoothed; largest 1-ms step "
                "%.1f W plain, %.1f W smoothed; work %.4f plain, %.4f smoothed\n",
                lo[0], lo[1], step[0], step[1], work[0], work[1]);
  assert_true(lo[1] >= 16 * 350.0 - 1e-6);
  assert_true(step[1] <= 16 * 1.0 + 1e-6);
  assert_true(lo[0] < 16 * 310.0);
  assert_true(step[0] > 16 * 50.0);
  assert_true(work[1] < work[0]); /* the ramp holds the compute phase below its demand */
  free(ser);
}

static void expect_err(const char *text, int code, long line, const char *field, const char *msg)
{
  hr_scenario_t sc;
  hr_diag_t e;
  assert_int_equal(hr_scenario_load_buffer(text, strlen(text), "s.yaml", ".", &sc, &e), code);
  print_message("%s:%ld:%ld: %s: %s\n", e.source, e.line, e.column, e.field, e.message);
  assert_int_equal(e.line, line);
  assert_string_equal(e.field, field);
  assert_non_null(strstr(e.message, msg));
}

static void test_event_errors(void **st)
{
  (void)st;
  expect_err("version: 1\ntree: x.yaml\nevents:\n  - {kind: meter_melt, at_s: 1}\n", HR_ERR_PARSE,
             4, "events[0].kind", "'meter_stuck'");
  expect_err("version: 1\ntree: x.yaml\nevents:\n  - {kind: utility_outage, at_s: 1,\n"
             "     gen_kw: 500}\n",
             HR_ERR_PARSE, 4, "events[0]", "needs 'gen_kw' and 'ramp_kw_per_s'");
  expect_err("version: 1\ntree: x.yaml\nevents:\n  - {kind: utility_outage, at_s: 1,\n"
             "     gen_kw: 500, ramp_kw_per_s: -3}\n",
             HR_ERR_RANGE, 5, "events[0].ramp_kw_per_s", "outside");
  expect_err("version: 1\ntree: x.yaml\nevents:\n  - {kind: feed_loss, feed: a, at_s: 1,\n"
             "     gen_kw: 500}\n",
             HR_ERR_PARSE, 5, "events[0]", "utility_outage only");
  expect_err("version: 1\ntree: x.yaml\nevents:\n  - {kind: telemetry_loss, at_s: 1,\n"
             "     node: rack}\n",
             HR_ERR_PARSE, 5, "events[0]", "'node' applies");
  expect_err("version: 1\ntree: x.yaml\nevents:\n  - {kind: meter_garbage, at_s: x}\n",
             HR_ERR_PARSE, 4, "events[0].at_s", "not a number");
  expect_err("version: 1\ntree: x.yaml\nevents:\n  - {kind: meter_stuck, at_s: 1,\n"
             "     gen_kw: 5}\n",
             HR_ERR_PARSE, 5, "events[0]", "utility_outage only");
  expect_err("version: 1\ntree: x.yaml\nevents:\n  - {kind: meter_stuck, node: r, feed: a,\n"
             "     at_s: 1}\n",
             HR_ERR_PARSE, 4, "events[0]", "'feed' applies to feed_loss only");
  /* One generator: outages that overlap (the second from inside the first,
   * or one without an end before a later one) are refused; back to back
   * they are taken. */
  expect_err(
      "version: 1\ntree: x.yaml\nevents:\n"
      "  - {kind: utility_outage, at_s: 5, duration_s: 10, gen_kw: 90, ramp_kw_per_s: 30}\n"
      "  - {kind: telemetry_loss, at_s: 6}\n"
      "  - {kind: utility_outage, at_s: 14.9, duration_s: 5, gen_kw: 50, ramp_kw_per_s: 9}\n",
      HR_ERR_PARSE, 6, "events[2].at_s", "overlaps the utility_outage of events[0]");
  expect_err("version: 1\ntree: x.yaml\nevents:\n"
             "  - {kind: utility_outage, at_s: 5, gen_kw: 90, ramp_kw_per_s: 30}\n"
             "  - {kind: utility_outage, at_s: 500, duration_s: 5, gen_kw: 50, ramp_kw_per_s: 9}\n",
             HR_ERR_PARSE, 5, "events[1].at_s", "one generator, one outage at a time");
  {
    static const char ok[] =
        "version: 1\ntree: x.yaml\nevents:\n"
        "  - {kind: utility_outage, at_s: 5, duration_s: 10, gen_kw: 90, ramp_kw_per_s: 30}\n"
        "  - {kind: utility_outage, at_s: 15, duration_s: 5, gen_kw: 50, ramp_kw_per_s: 9}\n";
    hr_scenario_t sc;
    hr_diag_t e;
    assert_int_equal(hr_scenario_load_buffer(ok, strlen(ok), "s.yaml", ".", &sc, &e), HR_OK);
    /* and the simulator refuses an overlap the file could not show (a
     * capacity search's contingency added to the scenario's own outage) */
    sc.events[1].at_s = 14.0;
    const char *tt = make_tree();
    hr_tree_t *t = NULL;
    assert_int_equal(hr_tree_load_buffer(tt, strlen(tt), "t.yaml", &t, &e), HR_OK);
    hr_agent_cfg_t ac;
    assert_int_equal(hr_sim_policy_cfg("headroom", &ac), HR_OK);
    hr_sim_t *s = NULL;
    assert_int_equal(hr_sim_create(&sc, t, &ac, &s, &e), HR_ERR_RANGE);
    assert_null(s);
    assert_string_equal(e.field, "events[].at_s");
    assert_non_null(strstr(e.message, "overlaps utility_outage 0"));
    hr_tree_destroy(t);
    hr_scenario_free(&sc);
  }
  expect_err("version: 1\ntree: x.yaml\ntelemetry_seed: 1.5\n", HR_ERR_PARSE, 3, "telemetry_seed",
             "whole number");
  expect_err("version: 1\ntree: x.yaml\ntelemetry_seed: -1\n", HR_ERR_RANGE, 3, "telemetry_seed",
             "outside");
  /* An unknown node is found when the simulator resolves it against the tree. */
  static const char sc_text[] = "version: 1\ntree: t.yaml\nevents:\n"
                                "  - {kind: meter_stuck, node: nope, at_s: 1}\n";
  hr_scenario_t sc;
  hr_diag_t e;
  assert_int_equal(hr_scenario_load_buffer(sc_text, strlen(sc_text), "s.yaml", ".", &sc, &e),
                   HR_OK);
  const char *tt = make_tree();
  hr_tree_t *t = NULL;
  assert_int_equal(hr_tree_load_buffer(tt, strlen(tt), "t.yaml", &t, &e), HR_OK);
  hr_agent_cfg_t ac;
  hr_sim_policy_cfg("headroom", &ac);
  hr_sim_t *s = NULL;
  assert_int_equal(hr_sim_create(&sc, t, &ac, &s, &e), HR_ERR_RANGE);
  assert_string_equal(e.field, "events[].node");
  hr_scenario_free(&sc);
  hr_tree_destroy(t);
}

/* A stuck meter (meter_stuck): server 0's GPUs report the value they had at
 * 1 s, with fresh times, until 4 s, while a training job's 4-s start ramp
 * raises their real power.  With stuck_ns 1 s (the default is 3 s) every reading
 * from 2.001 s to 3.999 s is refused (8 x 1,999; none of server 1's moving
 * readings), the lease system is degraded and no cap of any GPU rises on
 * the false low values; no trip.  With the check off (stuck_ns 0) the caps
 * do rise in that window (the test can fail). */
static void test_meter_stuck(void **st)
{
  (void)st;
  static const char ev[] = "  - {kind: meter_stuck, node: srv0, at_s: 1, duration_s: 3}\n";
  static const char wk[] =
      "  - {kind: training, gpus: [0, 16], period_s: 1, compute_frac: 0.7, compute_w: 650,\n"
      "     comm_w: 300, ramp_s: 4}\n";
  int raised[2];
  for (int off = 0; off < 2; off++) {
    capwatch_t cw = {.t0_s = 2.0005, .t1_s = 4.0, .first = 0, .end = 16, .min_w = INFINITY};
    hr_sim_result_t r;
    hr_tree_t *t;
    hr_sim_t *s;
    g_stuck_ns = off ? 0 : 1000000000;
    run("headroom", ev, wk, 5.0, &r, NULL, &cw, &t, &s);
    g_stuck_ns = -1;
    print_message("stuck (check %s): refused %llu, caps raised in the window %d, trips %u, "
                  "work %.4f\n",
                  off ? "off" : "on", (unsigned long long)r.agent.stuck_readings, cw.raised,
                  r.trips, r.work_frac);
    raised[off] = cw.raised;
    assert_int_equal(r.trips, 0);
    assert_int_equal(r.agent.bad_readings, 0);
    assert_int_equal(r.agent.stuck_readings, off ? 0 : 8 * 1999);
    hr_sim_destroy(s);
    hr_tree_destroy(t);
  }
  assert_false(raised[0]);
  assert_true(raised[1]);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_event_errors),   cmocka_unit_test(test_meter_garbage),
      cmocka_unit_test(test_meter_freeze),   cmocka_unit_test(test_utility_outage),
      cmocka_unit_test(test_generator_dips), cmocka_unit_test(test_smoothing),
      cmocka_unit_test(test_meter_stuck)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
