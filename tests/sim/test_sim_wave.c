/* The simulator's waveform path against its fast path.
 *
 * On the waveform path the metered nodes' power and currents reach the agent
 * through synthesised 8-kHz waveforms and the real meter engine (pq.h);
 * on the fast path the agent sums its GPUs' readings.  At power factor 1
 * without losses both see the same power, so the two runs must take the
 * same decisions.  "The same", and why it cannot be bit-identical:
 *
 *  - the meter's power is the one-cycle (20 ms at 50 Hz) sliding mean of
 *    the instantaneous power, its currents half-cycle RMS values: a step in
 *    the samples shows fully only a cycle later, so a step-triggered
 *    decision may come later, by up to one control period (10 ms here);
 *  - the meter's float samples and windowing move the measured power by
 *    parts in 1e6, which can move a lease grant across a token (10 W).
 *
 * So: the same trips (the same devices, trip times within one control
 * period); every GPU's cap at every millisecond within CAP_TOL_W of the
 * other run's cap somewhere within one control period of that time (both
 * ways); the work done within 0.5 %; and the meters' records really fed
 * the agent (their count).
 *
 * The lease policy runs here without its peak predictor: its caps swing by
 * a token each period while a raised cap is still slewing in (a known
 * behaviour of the lease policy, docs/sim.md), and the predictor, fed the
 * meter's one-cycle mean instead of the instantaneous sum, fires a few ms
 * apart, which sends that swing another way; the runs then differ by more
 * than a token (measured: work 0.767 fast vs 0.870 waveform over 4 s). */
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

/* One rack of two 8-GPU servers.  The rack breaker (16 A at 415 V: 11.5 kW,
 * continuous 80 %: 9.2 kW) is below the 11.2 kW the GPUs want, so the lease
 * policy caps them; `IN_A` is replaced for the trip case. */
static const char TREE[] =
    "version: 1\n"
    "nodes:\n"
    "  - {id: site, kind: utility, parent: null, voltage_v: 415, phases: 3, "
    "rating_a: 100}\n"
    "  - {id: rack, kind: rack, parent: site,\n"
    "     device: {type: trip_unit, curve: LI, in_a: IN_A, tr_s: TR_S, ii: 10}}\n"
    "  - {id: s0, kind: server, parent: rack}\n"
    "  - {id: s1, kind: server, parent: rack}\n";

/* The caps in force per ms and leaf, from the decision callback. */
typedef struct rec {
  size_t n_leaves, n_ms;
  float *cap; /* n_ms x n_leaves: the last cap sent at or before that ms */
  double *dec_t;
  size_t n_dec, cap_dec;
  int64_t step_ns;
  double *cur; /* per leaf, running */
  int64_t last_ms;
} rec_t;

static void fill_to(rec_t *r, int64_t ms)
{
  for (; r->last_ms < ms && r->last_ms < (int64_t)r->n_ms; r->last_ms++)
    for (size_t k = 0; k < r->n_leaves; k++)
      r->cap[(size_t)r->last_ms * r->n_leaves + k] = (float)r->cur[k];
}

static void on_decision(void *user, const hr_agent_decision_t *d)
{
  rec_t *r = user;
  fill_to(r, d->t_ns / 1000000);
  if (d->err == HR_OK)
    r->cur[d->leaf] = d->cap_w;
  if (r->n_dec == 0 || r->dec_t[r->n_dec - 1] != (double)d->t_ns * 1e-9) {
    if (r->n_dec < r->cap_dec)
      r->dec_t[r->n_dec++] = (double)d->t_ns * 1e-9;
  }
}

static char *make_tree(int in_a, int tr_s)
{
  static char buf[4096];
  const char *p = strstr(TREE, "IN_A"), *q = strstr(TREE, "TR_S");
  size_t len = (size_t)snprintf(buf, sizeof buf, "%.*s%d%.*s%d%s", (int)(p - TREE), TREE, in_a,
                                (int)(q - p - 4), p + 4, tr_s, q + 4);
  for (int s = 0; s < 2; s++)
    for (int g = 0; g < 8; g++)
      len += (size_t)snprintf(buf + len, sizeof buf - len,
                              "  - {id: g%d%d, kind: gpu, parent: s%d, rating_w: 700}\n", s, g, s);
  return buf;
}

typedef struct outcome {
  rec_t r;
  hr_sim_result_t res;
  unsigned trips;
  int rack_tripped;
  double rack_trip_s;
  double work_frac;
  uint64_t records;
} outcome_t;

static void run(const char *tree_text, const char *policy, int predictor, int waveforms,
                double dur_s, outcome_t *o)
{
  hr_tree_t *t = NULL;
  hr_diag_t e;
  assert_int_equal(hr_tree_load_buffer(tree_text, strlen(tree_text), "t.yaml", &t, &e), HR_OK);
  static const char SC[] = "version: 1\n"
                           "tree: unused.yaml\n"
                           "metered: [server, rack]\n"
                           "workloads:\n"
                           "  - {kind: training, gpus: [0, 16], period_s: 0.5, compute_frac: 0.6,\n"
                           "     compute_w: 700, comm_w: 250, ramp_s: 0.3, start_s: 0.2,\n"
                           "     restarts: [2.0], restart_s: 0.4}\n";
  hr_scenario_t sc;
  assert_int_equal(hr_scenario_load_buffer(SC, strlen(SC), "s.yaml", ".", &sc, &e), HR_OK);
  sc.duration_s = dur_s;
  sc.waveforms = waveforms;
  hr_agent_cfg_t ac;
  assert_int_equal(hr_sim_policy_cfg(policy, &ac), HR_OK);
  if (!predictor)
    ac.use_predictor = 0;
  hr_sim_t *s = NULL;
  int rc = hr_sim_create(&sc, t, &ac, &s, &e);
  if (rc != HR_OK)
    fail_msg("create: %s: %s", e.field, e.message);
  memset(o, 0, sizeof *o);
  rec_t *r = &o->r;
  r->n_leaves = 16;
  r->n_ms = (size_t)llround(dur_s * 1e3);
  r->cap = calloc(r->n_ms * r->n_leaves, sizeof *r->cap);
  r->cur = calloc(r->n_leaves, sizeof *r->cur);
  r->cap_dec = 1u << 20;
  r->dec_t = calloc(r->cap_dec, sizeof *r->dec_t);
  assert_non_null(r->cap);
  assert_non_null(r->cur);
  assert_non_null(r->dec_t);
  for (size_t k = 0; k < r->n_leaves; k++)
    r->cur[k] = sc.gpu.cap_max_w;
  hr_agent_set_callback(hr_sim_agent(s), on_decision, r);
  assert_int_equal(hr_sim_run(s, NULL, NULL), HR_OK);
  fill_to(r, (int64_t)r->n_ms);
  assert_int_equal(hr_sim_result(s, &o->res), HR_OK);
  o->trips = o->res.trips;
  size_t rack;
  assert_int_equal(hr_tree_find(t, "rack", &rack), HR_OK);
  o->rack_tripped = o->res.nodes[rack].tripped;
  o->rack_trip_s = o->res.nodes[rack].trip_t_s;
  o->work_frac = o->res.work_frac;
  o->records = o->res.meter_records;
  hr_sim_destroy(s);
  hr_scenario_free(&sc);
  hr_tree_destroy(t);
}

static void done(outcome_t *o)
{
  free(o->r.cap);
  free(o->r.cur);
  free(o->r.dec_t);
}

/* Largest distance [W] of a's cap from b's caps within +-win_ms, over every
 * ms and leaf. */
static double cap_distance(const rec_t *a, const rec_t *b, int64_t win_ms)
{
  double worst = 0.0;
  for (size_t k = 0; k < a->n_leaves; k++)
    for (int64_t m = 0; m < (int64_t)a->n_ms; m++) {
      double v = a->cap[(size_t)m * a->n_leaves + k], best = INFINITY;
      int64_t lo = m - win_ms < 0 ? 0 : m - win_ms;
      int64_t hi = m + win_ms >= (int64_t)b->n_ms ? (int64_t)b->n_ms - 1 : m + win_ms;
      for (int64_t j = lo; j <= hi && best > 0.0; j++) {
        double d = fabs(v - b->cap[(size_t)j * b->n_leaves + k]);
        if (d < best)
          best = d;
      }
      if (best > worst)
        worst = best;
    }
  return worst;
}

/* Caps and tokens: the GPU tier's token is 10 W (docs/loop.md); a grant one
 * or two tokens apart is the measured power differing by parts in 1e6 at a
 * rounding edge. */
#define CAP_TOL_W 20.0

static void compare(const char *policy, int predictor, int in_a, int tr_s, double dur_s,
                    int64_t period_ms, int expect_trip)
{
  outcome_t f, w;
  const char *tree = make_tree(in_a, tr_s);
  run(tree, policy, predictor, 0, dur_s, &f);
  run(tree, policy, predictor, 1, dur_s, &w);
  /* The meters ran and fed the agent: half-cycle, cycle and 1-ms records of
   * three meters for the whole run; on the fast path their stand-ins, the
   * 1-ms and cycle records. */
  double want_f = 3.0 * (1000.0 + 50.0) * dur_s;
  assert_true((double)f.records > 0.95 * want_f && (double)f.records < 1.05 * want_f);
  assert_false(f.res.waveforms);
  assert_int_equal(f.res.n_meters, 3);
  assert_true(w.res.waveforms);
  assert_int_equal(w.res.n_meters, 3);
  double want = 3.0 * (1000.0 + 100.0 + 50.0) * dur_s;
  assert_true((double)w.records > 0.95 * want && (double)w.records < 1.05 * want);

  assert_int_equal(f.trips, w.trips);
  assert_int_equal(f.rack_tripped, w.rack_tripped);
  assert_int_equal(f.rack_tripped, expect_trip);
  if (expect_trip)
    assert_true(fabs(f.rack_trip_s - w.rack_trip_s) <= (double)period_ms * 1e-3);
  double d_fw = cap_distance(&f.r, &w.r, period_ms);
  double d_wf = cap_distance(&w.r, &f.r, period_ms);
  print_message("%s: decisions fast %zu, waveform %zu; cap distance within %lld ms: %.1f / %.1f "
                "W; work %.5f / %.5f; trips %u / %u\n",
                policy, f.r.n_dec, w.r.n_dec, (long long)period_ms, d_fw, d_wf, f.work_frac,
                w.work_frac, f.trips, w.trips);
  assert_true(d_fw <= CAP_TOL_W);
  assert_true(d_wf <= CAP_TOL_W);
  assert_true(fabs(f.work_frac - w.work_frac) <= 0.005);
  /* The decisions happen at the same times, give or take one period: the
   * first cap change of each run within one period of the other's. */
  if (f.r.n_dec && w.r.n_dec)
    assert_true(fabs(f.r.dec_t[0] - w.r.dec_t[0]) <= (double)period_ms * 1e-3);
  done(&f);
  done(&w);
}

/* headroom's leases (10-ms period, step detection) under the rack's limit,
 * through a start ramp, iterations and a synchronized restart. */
static void test_same_decisions_lease(void **st)
{
  (void)st;
  compare("headroom", 0, 16, 8, 4.0, 10, 0);
}

/* Thunderbolt-like multiplicative decrease reads the nodes' measured power
 * directly (the metered rack and servers): 1-s period. */
static void test_same_decisions_mult_decrease(void **st)
{
  (void)st;
  compare("thunderbolt", 1, 16, 8, 4.0, 1000, 0);
}

/* No control on a rack breaker set too low (6 A, tr 1 s: about 8 kW mean
 * load is x = 1.9 on its long-time element, tripping after ~10 s): both paths
 * trip it, at the same time (the real devices see the same physics). */
static void test_same_trip(void **st)
{
  (void)st;
  compare("none", 1, 6, 1, 15.0, 10, 1);
}

/* Waveforms need metered nodes, whole samples per step, and known nodes. */
static void test_refusals(void **st)
{
  (void)st;
  const char *tree = make_tree(16, 8);
  hr_tree_t *t = NULL;
  hr_diag_t e;
  assert_int_equal(hr_tree_load_buffer(tree, strlen(tree), "t.yaml", &t, &e), HR_OK);
  hr_agent_cfg_t ac;
  hr_sim_policy_cfg("headroom", &ac);
  hr_scenario_t sc;
  const char *bad[] = {
      "version: 1\ntree: x\nwaveforms: true\n",
      "version: 1\ntree: x\nwaveforms: true\nmetered: [s0]\nstep_ms: 0.1\nwave_fs_hz: 4000\n",
      "version: 1\ntree: x\nwaveforms: true\nmetered: [s0, nosuch]\n",
  };
  const char *field[] = {"waveforms", "step_ms", "metered"};
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    assert_int_equal(hr_scenario_load_buffer(bad[k], strlen(bad[k]), "s.yaml", ".", &sc, &e),
                     HR_OK);
    hr_sim_t *s = NULL;
    assert_int_equal(hr_sim_create(&sc, t, &ac, &s, &e), HR_ERR_RANGE);
    assert_null(s);
    assert_string_equal(e.field, field[k]);
    hr_scenario_free(&sc);
  }
  const char *parse_bad[] = {
      "version: 1\ntree: x\nwaveforms: yes\n", "version: 1\ntree: x\nline_hz: 55\n",
      "version: 1\ntree: x\nwave_fs_hz: 8000.5\n", "version: 1\ntree: x\nmetered: {a: b}\n"};
  for (size_t k = 0; k < sizeof parse_bad / sizeof parse_bad[0]; k++)
    assert_int_not_equal(
        hr_scenario_load_buffer(parse_bad[k], strlen(parse_bad[k]), "s.yaml", ".", &sc, &e), HR_OK);
  hr_tree_destroy(t);
}

/* The meters' power reaches the agent as the node's power: a three-phase
 * server with unbalanced phases (1, 2, 3 kW) and a line-to-line server
 * (1.5 kW on a-b), both metered, nothing else read.  After the meters have
 * settled, the agent's power of the tree is their sum, 7.5 kW, within the
 * float samples' precision; an error in the synthesised voltage or current
 * (a phase, a sqrt 2, the L-L split) shows here. */
static void meter_feed(int waveforms)
{
  static const char T[] =
      "version: 1\nnodes:\n"
      "  - {id: site, kind: utility, parent: null, voltage_v: 415, phases: 3, rating_a: 100}\n"
      "  - {id: s0, kind: server, parent: site}\n"
      "  - {id: s1, kind: server, parent: site, phases: 1, phase: ab}\n"
      "  - {id: g0, kind: gpu, parent: s0, rating_w: 700}\n"
      "  - {id: g1, kind: gpu, parent: s1, rating_w: 700}\n";
  hr_tree_t *t = NULL;
  hr_diag_t e;
  assert_int_equal(hr_tree_load_buffer(T, strlen(T), "t.yaml", &t, &e), HR_OK);
  int64_t now = 0;
  hr_clock_t clk;
  hr_clock_manual(&clk, &now);
  hr_agent_cfg_t ac;
  hr_agent_cfg_init(&ac, HR_LOOP_NONE);
  hr_agent_t *a = NULL;
  assert_int_equal(hr_agent_create(t, HR_AGENT_WHOLE_TREE, NULL, &clk, NULL, &ac, &a), HR_OK);
  hr_scenario_t sc;
  hr_scenario_init(&sc);
  char ids[2][64] = {"s0", "s1"};
  sc.metered = ids;
  sc.n_metered = 2;
  sc.waveforms = waveforms;
  hr__simwave_t *w = NULL;
  assert_int_equal(hr__simwave_create(&sc, t, a, 1000000, &w, &e), HR_OK);
  assert_int_equal(hr__simwave_meters(w), 2);
  size_t s0, s1;
  hr_tree_find(t, "s0", &s0);
  hr_tree_find(t, "s1", &s1);
  double ph[5 * 3] = {0};
  unsigned char up[5] = {1, 1, 1, 1, 1};
  ph[3 * s0] = 1000.0;
  ph[3 * s0 + 1] = 2000.0;
  ph[3 * s0 + 2] = 3000.0;
  ph[3 * s1] = ph[3 * s1 + 1] = 1500.0 / sqrt(3.0); /* as the simulator splits an a-b load */
  hr_agent_step_info_t info;
  for (int k = 0; k < 300; k++) {
    assert_int_equal(hr__simwave_push(w, ph, NULL, up, now), HR_OK);
    now += 1000000;
    assert_int_equal(hr_agent_step(a, &info), HR_OK);
  }
  print_message("agent's tree power from the meters (%s): %.4f W (want 7500)\n",
                waveforms ? "waveforms" : "the fast path's", info.node_p_w);
  assert_true(fabs(info.node_p_w - 7500.0) < 7500.0 * 1e-4);
  /* Samples must follow one another. */
  assert_int_equal(hr__simwave_push(w, ph, NULL, up, now + 1000000), HR_ERR_STATE);
  /* Unpowered: the agent's view of the nodes falls to 0 (the engine's meters
   * see no current; the fast path's read 0 W). */
  memset(up, 0, sizeof up);
  for (int k = 0; k < 300; k++) {
    assert_int_equal(hr__simwave_push(w, ph, NULL, up, now), HR_OK);
    now += 1000000;
    assert_int_equal(hr_agent_step(a, &info), HR_OK);
  }
  assert_true(info.node_p_w == 0.0);
  hr__simwave_destroy(w);
  hr_agent_destroy(a);
  hr_tree_destroy(t);
}

static void test_meter_feed(void **st)
{
  (void)st;
  meter_feed(1);
  meter_feed(0);
}

/* Meter faults on the waveform path: the same rack, only server s0 metered
 * (or, for reference, only s1), 600-W batch work on all 16 GPUs, and a fault
 * on node s0.  The fault acts on s0's GPUs' telemetry (8 GPUs) and, on the
 * waveform path, on the meters at or below s0.  Garbage from 1 s to 2 s: the
 * agent refuses the 8 GPUs' 8,000 readings in both runs and, with s0
 * metered, every record of s0's meter in that second too (its 1-ms power,
 * about 1,000 records, and its half-cycle and cycle currents, 100 and 50).
 * Stuck from 1 s to 3 s: the GPUs' readings are refused from 2.001 s
 * (8 x 999, a few more: below) in both runs and, with s0 metered, the meter's 1-ms power about
 * 1,000 more (from 1 s after its last good record; stuck_ns 1 s here).  Frozen from 1 s to 3 s:
 * nothing new from s0's meter, whose records age; nothing refused.  No trip
 * in any run. */
static void run_fault(const char *metered, const char *event, hr_sim_result_t *r)
{
  hr_tree_t *t = NULL;
  hr_diag_t e;
  const char *tt = make_tree(40, 8);
  assert_int_equal(hr_tree_load_buffer(tt, strlen(tt), "t.yaml", &t, &e), HR_OK);
  char text[1024];
  snprintf(text, sizeof text,
           "version: 1\ntree: unused.yaml\nduration_s: 4\nwaveforms: true\nmetered: [%s]\n"
           "workloads:\n  - {kind: batch, gpus: [0, 16], power_w: 600}\nevents:\n  - %s\n",
           metered, event);
  hr_scenario_t sc;
  assert_int_equal(hr_scenario_load_buffer(text, strlen(text), "s.yaml", ".", &sc, &e), HR_OK);
  hr_agent_cfg_t ac;
  assert_int_equal(hr_sim_policy_cfg("headroom", &ac), HR_OK);
  ac.stuck_ns = 1000000000; /* 1 s (the default is 3 s), to fit the 4-s run */
  hr_sim_t *s = NULL;
  int rc = hr_sim_create(&sc, t, &ac, &s, &e);
  if (rc != HR_OK)
    fail_msg("create: %s: %s", e.field, e.message);
  assert_int_equal(hr_sim_run(s, NULL, NULL), HR_OK);
  assert_int_equal(hr_sim_result(s, r), HR_OK);
  assert_true(r->waveforms && r->meter_records > 0);
  assert_int_equal(r->trips, 0);
  hr_sim_destroy(s);
  hr_scenario_free(&sc);
  hr_tree_destroy(t);
}

static void test_meter_faults(void **st)
{
  (void)st;
  hr_sim_result_t r0, r1;
  run_fault("s1", "{kind: meter_garbage, node: s0, at_s: 1, duration_s: 1}", &r1);
  run_fault("s0", "{kind: meter_garbage, node: s0, at_s: 1, duration_s: 1}", &r0);
  print_message("garbage: refused %llu with s1 metered, %llu with s0 metered\n",
                (unsigned long long)r1.agent.bad_readings,
                (unsigned long long)r0.agent.bad_readings);
  assert_int_equal(r1.agent.bad_readings, 8000);
  assert_true(r0.agent.bad_readings >= 8000 + 1140 && r0.agent.bad_readings <= 8000 + 1160);
  run_fault("s1", "{kind: meter_stuck, node: s0, at_s: 1, duration_s: 2}", &r1);
  run_fault("s0", "{kind: meter_stuck, node: s0, at_s: 1, duration_s: 2}", &r0);
  print_message("stuck: refused %llu with s1 metered, %llu with s0 metered\n",
                (unsigned long long)r1.agent.stuck_readings,
                (unsigned long long)r0.agent.stuck_readings);
  /* A GPU's dithered reading just before the fault equals the stuck value
   * one time in eleven (hr__tel_reading_w), and its clock then starts a
   * millisecond earlier: a few more than 8 x 999. */
  assert_true(r1.agent.stuck_readings >= 8 * 999 && r1.agent.stuck_readings <= 8 * 999 + 8 * 3);
  assert_true(r0.agent.stuck_readings >= r1.agent.stuck_readings + 990 &&
              r0.agent.stuck_readings <= r1.agent.stuck_readings + 1001);
  assert_int_equal(r0.agent.bad_readings + r1.agent.bad_readings, 0);
  run_fault("s0", "{kind: meter_freeze, node: s0, at_s: 1, duration_s: 2}", &r0);
  print_message("freeze: refused %llu garbage, %llu stuck\n",
                (unsigned long long)r0.agent.bad_readings,
                (unsigned long long)r0.agent.stuck_readings);
  assert_int_equal(r0.agent.bad_readings + r0.agent.stuck_readings, 0);
}

/* The metered supplies at a power factor below 1: two servers at 600 and
 * 150 W per GPU (load 0.857 and 0.214 of 8 x 700 W), PF from the curve
 * [[0.1, 0.8], [0.5, 0.95], [1, 0.99]], under policy none.  Each meter's
 * last cycle must give the PF and current computed here: a server's PF
 * interpolated from the curve, its current per phase S / 3 / U_ln with S =
 * P / PF; the rack's the phasor sum of the two (P / |P + jQ|, Q = P
 * tan(acos PF)), which differs from the arithmetic sum of the servers'
 * volt-amperes by more than the tolerance.  The meter engine (IEEE 1459 Se)
 * measures what the simulator synthesised: a check of the samples' phase,
 * not of the meter. */
static double pf_at(double x)
{
  static const double ld[3] = {0.1, 0.5, 1.0}, pf[3] = {0.80, 0.95, 0.99};
  if (x <= ld[0])
    return pf[0];
  for (int i = 1; i < 3; i++)
    if (x < ld[i])
      return pf[i - 1] + (x - ld[i - 1]) / (ld[i] - ld[i - 1]) * (pf[i] - pf[i - 1]);
  return pf[2];
}

/* The two servers at 600 and 150 W per GPU under policy none, run whole:
 * the rack rated in_a, dur_s long, metered as `metered`; t, sc and the
 * simulator are the caller's to free. */
static hr_sim_t *pf_run_sup(int in_a, double dur_s, const char *metered, int waveforms,
                            const char *extra, hr_tree_t **t, hr_scenario_t *sc);

static hr_sim_t *pf_run(int in_a, double dur_s, const char *metered, int waveforms, hr_tree_t **t,
                        hr_scenario_t *sc)
{
  return pf_run_sup(in_a, dur_s, metered, waveforms, "", t, sc);
}

/* pf_run with extra supply keys (", base_w: ..."). */
static hr_sim_t *pf_run_sup(int in_a, double dur_s, const char *metered, int waveforms,
                            const char *extra, hr_tree_t **t, hr_scenario_t *sc)
{
  const char *tt = make_tree(in_a, 8);
  hr_diag_t e;
  assert_int_equal(hr_tree_load_buffer(tt, strlen(tt), "t.yaml", t, &e), HR_OK);
  char text[512];
  snprintf(text, sizeof text,
           "version: 1\ntree: unused.yaml\nduration_s: %g\nmetered: %s\n"
           "supply: {pf: [[0.1, 0.80], [0.5, 0.95], [1.0, 0.99]]%s}\n"
           "workloads:\n"
           "  - {kind: batch, gpus: [0, 8], power_w: 600}\n"
           "  - {kind: batch, gpus: [8, 16], power_w: 150}\n",
           dur_s, metered, extra);
  assert_int_equal(hr_scenario_load_buffer(text, strlen(text), "s.yaml", ".", sc, &e), HR_OK);
  sc->waveforms = waveforms;
  hr_agent_cfg_t ac;
  assert_int_equal(hr_sim_policy_cfg("none", &ac), HR_OK);
  hr_sim_t *s = NULL;
  assert_int_equal(hr_sim_create(sc, *t, &ac, &s, &e), HR_OK);
  assert_int_equal(hr_sim_run(s, NULL, NULL), HR_OK);
  return s;
}

static void test_pf_meters(void **st)
{
  (void)st;
  hr_tree_t *t = NULL;
  hr_scenario_t sc;
  hr_sim_t *s = pf_run(63, 1.0, "[server, rack]", 1, &t, &sc);
  const double u_ln = 415.0 / sqrt(3.0);
  double p[2] = {4800.0, 1200.0}, q[2], sv[2], pf[2];
  for (int k = 0; k < 2; k++) {
    pf[k] = pf_at(p[k] / 5600.0);
    sv[k] = p[k] / pf[k];
    q[k] = sqrt(sv[k] * sv[k] - p[k] * p[k]);
  }
  const double s_rack = hypot(p[0] + p[1], q[0] + q[1]);
  hr__simwave_t *w = hr__sim_wave(s);
  assert_non_null(w);
  assert_int_equal(hr__simwave_meters(w), 3);
  int seen = 0;
  for (size_t i = 0; i < 3; i++) {
    hr_record_t rec;
    assert_int_equal(hr__simwave_last_cycle(w, i, &rec), HR_OK);
    const char *id = hr_tree_node(t, hr__simwave_meter_node(w, i))->id;
    double want_p, want_s;
    if (!strcmp(id, "rack")) {
      want_p = p[0] + p[1];
      want_s = s_rack;
    } else {
      int k = id[1] - '0';
      want_p = p[k];
      want_s = sv[k];
    }
    const hr_cycle_rec_t *c = &rec.u.cycle;
    print_message("%s: P %.2f W (want %.2f), PF %.5f (want %.5f), I %.4f %.4f %.4f A (want "
                  "%.4f)\n",
                  id, c->p_total_w, want_p, c->pf_total, want_p / want_s, c->i_rms_a[0],
                  c->i_rms_a[1], c->i_rms_a[2], want_s / 3.0 / u_ln);
    assert_true(fabs(c->p_total_w - want_p) < 1e-3 * want_p);
    assert_true(fabs(c->pf_total - want_p / want_s) < 5e-4);
    for (int ph = 0; ph < 3; ph++)
      assert_true(fabs(c->i_rms_a[ph] - want_s / 3.0 / u_ln) < 1e-3 * want_s / 3.0 / u_ln);
    seen |= 1 << (id[0] == 'r' ? 2 : id[1] - '0');
  }
  assert_int_equal(seen, 7);
  /* The rack's phasor sum is not the servers' arithmetic one. */
  assert_true((sv[0] + sv[1]) / s_rack - 1.0 > 5e-3);
  hr_sim_destroy(s);
  hr_scenario_free(&sc);
  hr_tree_destroy(t);
}

/* Where metering pays at a power factor below 1: the agent's image of the
 * rack breaker without a meter counts the GPUs' watts at the told PF (the
 * curve's lowest, 0.8: conservative), with the rack metered the meter's
 * measured current (the true one), on the waveform path and from the fast
 * path's stand-in meter alike.  Loads at 600 and 150 W per GPU under policy
 * none for 20 s (8.7 A on a 16-A rack: it warms without tripping): the
 * unmetered image must run hotter than the breaker itself, the metered ones
 * must follow the breaker within 2 % of its state, closer than the
 * unmetered one. */
static double rack_images(const char *metered, int waveforms, double *real)
{
  hr_tree_t *t = NULL;
  hr_scenario_t sc;
  hr_sim_t *s = pf_run(16, 20.0, metered, waveforms, &t, &sc);
  size_t rack;
  assert_int_equal(hr_tree_find(t, "rack", &rack), HR_OK);
  assert_int_equal(hr_sim_node_state(s, rack, NULL, real), HR_OK);
  hr_device_status_t ds;
  assert_int_equal(hr_lease_sys_device_status(hr_agent_lease_sys(hr_sim_agent(s)), rack, &ds),
                   HR_OK);
  hr_sim_destroy(s);
  hr_scenario_free(&sc);
  hr_tree_destroy(t);
  return ds.thermal;
}

static void test_pf_meter_current(void **st)
{
  (void)st;
  double real_f, real_w, real_m;
  double img_f = rack_images("[]", 0, &real_f), img_w = rack_images("[rack]", 1, &real_w),
         img_m = rack_images("[rack]", 0, &real_m);
  print_message("rack thermal state after 20 s: breaker %.6f (fast) %.6f (waveform); agent's "
                "image %.6f unmetered (watts at PF 0.8), %.6f waveform path (metered current), "
                "%.6f fast path's meter\n",
                real_f, real_w, img_f, img_w, img_m);
  assert_true(real_f > 0.01 && real_f < 1.0);
  assert_true(fabs(real_w - real_f) < 1e-3 * real_f); /* the same physics */
  assert_true(real_m == real_f);
  assert_true(img_f > real_f * 1.05);
  assert_true(fabs(img_w - real_w) < 0.02 * real_w);
  assert_true(fabs(img_w - real_w) < fabs(img_f - real_f));
  assert_true(fabs(img_m - real_m) < 0.02 * real_m);
}

/* Base loads and losses on the waveform path (docs/sim.md, "Base load and
 * supply losses"): each server's meter measures its input, (GPUs + base) /
 * eff(x) at PF(x), x = (GPUs + base) / (base + 5600), the curves written
 * out here; the rack's the phasor sum. */
static double eff_at(double x)
{
  static const double xl[3] = {0.1, 0.5, 1.0}, el[3] = {0.85, 0.94, 0.92};
  if (x <= xl[0])
    return el[0];
  for (int i = 1; i < 3; i++)
    if (x < xl[i])
      return el[i - 1] + (x - xl[i - 1]) / (xl[i] - xl[i - 1]) * (el[i] - el[i - 1]);
  return el[2];
}

static void test_base_meters(void **st)
{
  (void)st;
  hr_tree_t *t = NULL;
  hr_scenario_t sc;
  hr_sim_t *s =
      pf_run_sup(63, 1.0, "[server, rack]", 1,
                 ", base_w: 1500, efficiency: [[0.1, 0.85], [0.5, 0.94], [1.0, 0.92]]", &t, &sc);
  const double base = 1500.0, gpus[2] = {4800.0, 1200.0};
  double p[2], q[2], sv[2];
  for (int k = 0; k < 2; k++) {
    double x = (gpus[k] + base) / (base + 5600.0);
    p[k] = (gpus[k] + base) / eff_at(x);
    double pf = pf_at(x);
    sv[k] = p[k] / pf;
    q[k] = sqrt(sv[k] * sv[k] - p[k] * p[k]);
  }
  const double s_rack = hypot(p[0] + p[1], q[0] + q[1]);
  hr__simwave_t *w = hr__sim_wave(s);
  assert_int_equal(hr__simwave_meters(w), 3);
  for (size_t i = 0; i < 3; i++) {
    hr_record_t rec;
    assert_int_equal(hr__simwave_last_cycle(w, i, &rec), HR_OK);
    const char *id = hr_tree_node(t, hr__simwave_meter_node(w, i))->id;
    int rack = !strcmp(id, "rack");
    double want_p = rack ? p[0] + p[1] : p[id[1] - '0'];
    double want_s = rack ? s_rack : sv[id[1] - '0'];
    const hr_cycle_rec_t *c = &rec.u.cycle;
    print_message("%s: P %.2f W (want %.2f; GPUs alone %.0f), PF %.5f (want %.5f)\n", id,
                  c->p_total_w, want_p, rack ? gpus[0] + gpus[1] : gpus[id[1] - '0'], c->pf_total,
                  want_p / want_s);
    assert_true(fabs(c->p_total_w - want_p) < 1e-3 * want_p);
    assert_true(fabs(c->pf_total - want_p / want_s) < 5e-4);
  }
  hr_sim_destroy(s);
  hr_scenario_free(&sc);
  hr_tree_destroy(t);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_same_decisions_lease),
      cmocka_unit_test(test_same_decisions_mult_decrease),
      cmocka_unit_test(test_same_trip),
      cmocka_unit_test(test_refusals),
      cmocka_unit_test(test_meter_feed),
      cmocka_unit_test(test_meter_faults),
      cmocka_unit_test(test_pf_meters),
      cmocka_unit_test(test_pf_meter_current),
      cmocka_unit_test(test_base_meters),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
