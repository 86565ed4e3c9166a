/* The control agent (src/loop/agent.c) against independent expectations:
 * the static baseline's caps from the GPU rating, lease caps that grow from
 * the floor by probing and never exceed what the lease layer grants, the
 * telemetry-loss fallback, determinism (same inputs and clock, same
 * decisions), and the agent's fast forms against its straightforward ones
 * (hr__agent_set_plain: the same decisions, bit for bit). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "headroom/loop.h"
#include "loop/agent_int.h"

/* One server of 4 GPUs (700 W each) under a rack on a 32 A, 415 V breaker. */
static const char TREE[] =
    "version: 1\n"
    "nodes:\n"
    "  - {id: site, kind: utility, parent: null, voltage_v: 415, phases: 3, rating_a: 100}\n"
    "  - {id: rack, kind: rack, parent: site,\n"
    "     device: {type: trip_unit, curve: LI, in_a: 32, tr_s: 8, ii: 10}}\n"
    "  - {id: srv, kind: server, parent: rack}\n"
    "  - {id: g0, kind: gpu, parent: srv, rating_w: 700}\n"
    "  - {id: g1, kind: gpu, parent: srv, rating_w: 700}\n"
    "  - {id: g2, kind: gpu, parent: srv, rating_w: 700}\n"
    "  - {id: g3, kind: gpu, parent: srv, rating_w: 700}\n";

typedef struct rec {
  size_t n;
  hr_agent_decision_t d[4096];
} rec_t;

static void on_dec(void *user, const hr_agent_decision_t *d)
{
  rec_t *r = user;
  if (r->n < 4096)
    r->d[r->n++] = *d;
}

static hr_tree_t *load(void)
{
  hr_tree_t *t = NULL;
  hr_diag_t e;
  assert_int_equal(hr_tree_load_buffer(TREE, sizeof TREE - 1, "t.yaml", &t, &e), HR_OK);
  return t;
}

/* Four simulated GPUs, one for each of TREE's leaves. */
static hr_actuator_t *sim4(void)
{
  hr_actuator_t *act = NULL;
  hr_simgpu_cfg_t g;
  hr_simgpu_cfg_init(&g, 4);
  assert_int_equal(hr_simgpu_create(&g, &act), HR_OK);
  return act;
}

/* TREE, its four simulated GPUs and a manual clock that reads now. */
typedef struct rig {
  hr_tree_t *t;
  hr_actuator_t *act;
  int64_t now;
  hr_clock_t clk;
} rig_t;

static void rig_open(rig_t *rig)
{
  rig->t = load();
  rig->act = sim4();
  rig->now = 0;
  hr_clock_manual(&rig->clk, &rig->now);
}

static void rig_close(rig_t *rig)
{
  hr_actuator_destroy(rig->act);
  hr_tree_destroy(rig->t);
}

/* Every GPU's reading at rig->now pushed to the agent. */
static void push_readings(hr_agent_t *a, const rig_t *rig)
{
  for (size_t k = 0; k < 4; k++) {
    hr_act_reading_t rd;
    assert_int_equal(hr_actuator_read(rig->act, (int)k, HR_POWER_DEFAULT, rig->now, &rd), HR_OK);
    assert_int_equal(hr_agent_push_power(a, k, rd.p_w, rig->now), HR_OK);
  }
}

/* The lease policy with 10-W tokens at every tier: a grant is its floor plus
 * whole tokens, so with the preset's 1-kW rack token 4 x 700 W (floor
 * 840 W) could only be granted as 1840 W or 2840 W, never the 2800 W the
 * GPUs want. */
static void lease_cfg_10w(hr_agent_cfg_t *c)
{
  hr_agent_cfg_init(c, HR_LOOP_LEASE);
  for (int k = 0; k < HR_TIER_COUNT; k++)
    c->lease.tier[k].token_w = 10.0;
}

static void test_static_caps(void **st)
{
  (void)st;
  rig_t rig;
  rig_open(&rig);
  hr_agent_cfg_t c;
  hr_agent_cfg_init(&c, HR_LOOP_STATIC);
  c.static_frac = 0.6;
  hr_agent_t *a;
  assert_int_equal(hr_agent_create(rig.t, 0, rig.act, &rig.clk, NULL, &c, &a), HR_OK);
  assert_int_equal(hr_agent_leaf_count(a), 4);
  rec_t *r = calloc(1, sizeof *r);
  hr_agent_set_callback(a, on_dec, r);
  for (int k = 0; k < 3000; k++) {
    rig.now = (int64_t)k * 1000000;
    assert_int_equal(hr_agent_step(a, NULL), HR_OK);
  }
  /* Once, 0.6 x 700 W = 420 W for each GPU, and the device enforces it after
   * its 5-ms delay. */
  assert_int_equal(r->n, 4);
  for (size_t k = 0; k < 4; k++) {
    assert_true(fabs(r->d[k].cap_w - 420.0) < 1e-9);
    assert_int_equal(r->d[k].why, HR_WHY_STATIC);
    hr_act_reading_t rd;
    assert_int_equal(hr_actuator_read(rig.act, (int)k, HR_POWER_DEFAULT, rig.now, &rd), HR_OK);
    assert_true(fabs(rd.cap_w - 420.0) < 1e-9);
  }
  free(r);
  hr_agent_destroy(a);
  rig_close(&rig);
}

/* Lease policy, GPUs demanding 700 W each: the rack's continuous limit is
 * 0.8 x 32 A x 415 V x sqrt 3 = 18.40 kW, far above 4 x 700 W, so the caps
 * must climb from the floor (0.3 x 700 = 210 W) to the full 700 W by
 * probing, every cap within the lease granted at that time. */
static void run_lease(rec_t *r, int lose_telemetry, double *final_cap, hr_mode_t *mode_end)
{
  rig_t rig;
  rig_open(&rig);
  hr_agent_cfg_t c;
  lease_cfg_10w(&c);
  hr_agent_t *a;
  assert_int_equal(hr_agent_create(rig.t, 0, rig.act, &rig.clk, NULL, &c, &a), HR_OK);
  hr_agent_set_callback(a, on_dec, r);
  for (int k = 0; k < 4; k++)
    assert_int_equal(hr_simgpu_set_demand(rig.act, k, 700.0, 0), HR_OK);
  hr_lease_sys_t *sys = hr_agent_lease_sys(a);
  for (int s = 0; s < 4000; s++) {
    rig.now = (int64_t)s * 1000000;
    int lost = lose_telemetry && s >= 2000;
    if (!lost)
      push_readings(a, &rig);
    assert_int_equal(hr_agent_step(a, NULL), HR_OK);
    for (size_t k = 0; k < 4; k++) {
      double cap = hr_agent_cap_w(a, k);
      if (!isnan(cap))
        assert_true(cap <= hr_lease_sys_cap_w(sys, hr_agent_leaf_node(a, k), rig.now) + 1e-9);
    }
  }
  hr_agent_stats_t st;
  assert_int_equal(hr_agent_stats(a, &st), HR_OK);
  assert_int_equal(st.lease_clamps, 0);
  assert_int_equal(st.cap_errors, 0);
  assert_true(st.lat_n > 0 && st.lat_p99_s >= st.lat_p50_s);
  *final_cap = hr_agent_cap_w(a, 0);
  *mode_end = hr_lease_sys_mode(sys);
  hr_agent_destroy(a);
  rig_close(&rig);
}

static void test_lease_climbs(void **st)
{
  (void)st;
  rec_t *r = calloc(1, sizeof *r);
  double cap;
  hr_mode_t mode;
  run_lease(r, 0, &cap, &mode);
  assert_true(r->n > 4);
  assert_true(fabs(r->d[0].cap_w - 210.0) < 1e-9); /* the first cap is the floor */
  assert_true(fabs(cap - 700.0) < 1e-9);
  assert_int_equal(mode, HR_MODE_NORMAL);
  free(r);
}

/* A stopped coordinator (the server, the GPUs' grantor) with the agent
 * setting caps through the actuator: one GPU lease time later the caps the
 * agent applies are each GPU's expiry fallback, min(its last grant, its
 * static safe share) with lease.expiry_fallback = HR_EXPIRY_SAFE_SHARE (the
 * headroom presets), its floor (210 W) without: the same lease-system value
 * the simulator uses, read back from the actuator. */
static double run_stop(int fallback, double *safe_w)
{
  hr_tree_t *t = load();
  hr_actuator_t *act;
  hr_simgpu_cfg_t g;
  hr_simgpu_cfg_init(&g, 4);
  assert_int_equal(hr_simgpu_create(&g, &act), HR_OK);
  int64_t now = 0;
  hr_clock_t clk;
  hr_clock_manual(&clk, &now);
  hr_agent_cfg_t c;
  hr_agent_cfg_init(&c, HR_LOOP_LEASE);
  for (int k = 0; k < HR_TIER_COUNT; k++)
    c.lease.tier[k].token_w = 10.0;
  c.lease.expiry_fallback = fallback;
  hr_agent_t *a;
  assert_int_equal(hr_agent_create(t, 0, act, &clk, NULL, &c, &a), HR_OK);
  for (int k = 0; k < 4; k++)
    assert_int_equal(hr_simgpu_set_demand(act, k, 700.0, 0), HR_OK);
  hr_lease_sys_t *sys = hr_agent_lease_sys(a);
  size_t srv = 0;
  assert_int_equal(hr_tree_find(t, "srv", &srv), HR_OK);
  double last = NAN;
  for (int s = 0; s < 4000; s++) {
    now = (int64_t)s * 1000000;
    if (s == 2000) {
      last = hr_lease_sys_cap_w(sys, hr_agent_leaf_node(a, 0), now);
      assert_int_equal(hr_lease_sys_set_running(sys, srv, 0, now), HR_OK);
    }
    for (size_t k = 0; k < 4; k++) {
      hr_act_reading_t rd;
      assert_int_equal(hr_actuator_read(act, (int)k, HR_POWER_DEFAULT, now, &rd), HR_OK);
      assert_int_equal(hr_agent_push_power(a, k, rd.p_w, now), HR_OK);
    }
    assert_int_equal(hr_agent_step(a, NULL), HR_OK);
  }
  assert_true(fabs(last - 700.0) < 1e-9); /* climbed to the demand before the stop */
  assert_int_equal(hr_lease_sys_safe_share(sys, hr_agent_leaf_node(a, 0), safe_w, NULL), HR_OK);
  double cap = hr_agent_cap_w(a, 0);
  /* what the actuator holds is what the agent set */
  hr_act_reading_t rd;
  assert_int_equal(hr_actuator_read(act, 0, HR_POWER_DEFAULT, now, &rd), HR_OK);
  assert_true(rd.p_w <= cap + 1e-9);
  assert_true(fabs(cap - hr_lease_sys_cap_w(sys, hr_agent_leaf_node(a, 0), now)) < 1e-9);
  hr_agent_stats_t st;
  assert_int_equal(hr_agent_stats(a, &st), HR_OK);
  assert_int_equal(st.lease_clamps, 0);
  hr_agent_destroy(a);
  hr_actuator_destroy(act);
  hr_tree_destroy(t);
  return cap;
}

static void test_coordinator_stop_fallback(void **st)
{
  (void)st;
  double safe = NAN;
  double cap = run_stop(HR_EXPIRY_SAFE_SHARE, &safe);
  double want = safe < 700.0 ? safe : 700.0;
  assert_true(want > 210.0);
  assert_true(fabs(cap - want) < 1e-9);
  assert_true(fabs(run_stop(HR_EXPIRY_FLOOR, &safe) - 210.0) < 1e-9);
}

static void test_telemetry_loss(void **st)
{
  (void)st;
  rec_t *r = calloc(1, sizeof *r);
  double cap;
  hr_mode_t mode;
  run_lease(r, 1, &cap, &mode);
  /* Readings stop at 2 s: the agent enters degraded mode (no growth, budgets
   * x 0.9) and never raises a cap afterwards. */
  assert_int_equal(mode, HR_MODE_DEGRADED);
  for (size_t k = 0; k < r->n; k++)
    if (r->d[k].t_ns >= 2100000000 && !isnan(r->d[k].prev_cap_w))
      assert_true(r->d[k].cap_w <= r->d[k].prev_cap_w + 1e-9);
  free(r);
}

static void test_deterministic(void **st)
{
  (void)st;
  rec_t *r1 = calloc(1, sizeof *r1), *r2 = calloc(1, sizeof *r2);
  double c1, c2;
  hr_mode_t m1, m2;
  run_lease(r1, 0, &c1, &m1);
  run_lease(r2, 0, &c2, &m2);
  assert_int_equal(r1->n, r2->n);
  for (size_t k = 0; k < r1->n; k++) {
    assert_int_equal(r1->d[k].t_ns, r2->d[k].t_ns);
    assert_int_equal(r1->d[k].leaf, r2->d[k].leaf);
    assert_true(r1->d[k].cap_w == r2->d[k].cap_w);
  }
  free(r1);
  free(r2);
}

static void test_bad_args(void **st)
{
  (void)st;
  hr_tree_t *t = load();
  int64_t now = 0;
  hr_clock_t clk;
  hr_clock_manual(&clk, &now);
  hr_agent_cfg_t c;
  hr_agent_cfg_init(&c, HR_LOOP_LEASE);
  hr_agent_t *a = NULL;
  /* A lease policy needs an actuator. */
  assert_int_equal(hr_agent_create(t, 0, NULL, &clk, NULL, &c, &a), HR_ERR_INVALID_ARG);
  /* Leases shorter than two periods could expire before renewal. */
  c.lease.tier[HR_TIER_GPU].ttl_ns = c.period_ns;
  hr_actuator_t *act;
  hr_simgpu_cfg_t g;
  hr_simgpu_cfg_init(&g, 2); /* also too few devices */
  assert_int_equal(hr_simgpu_create(&g, &act), HR_OK);
  assert_int_equal(hr_agent_create(t, 0, act, &clk, NULL, &c, &a), HR_ERR_RANGE);
  hr_agent_cfg_init(&c, HR_LOOP_LEASE);
  assert_int_equal(hr_agent_create(t, 0, act, &clk, NULL, &c, &a), HR_ERR_RANGE);
  hr_agent_cfg_init(&c, HR_LOOP_NONE);
  assert_int_equal(hr_agent_create(t, 0, NULL, &clk, NULL, &c, &a), HR_OK);
  assert_int_equal(hr_agent_push_power(a, 0, NAN, 0), HR_ERR_RANGE);
  assert_int_equal(hr_agent_push_power(a, 9, 1.0, 0), HR_ERR_INVALID_ARG);
  now = 10;
  assert_int_equal(hr_agent_step(a, NULL), HR_OK);
  now = 5; /* the clock went backwards */
  assert_int_equal(hr_agent_step(a, NULL), HR_ERR_STATE);
  hr_agent_destroy(a);
  hr_actuator_destroy(act);
  hr_tree_destroy(t);
}

/* The band controller's hold is kept in int64 nanoseconds: a finite but
 * huge band_hold_s (1e300 s, or 1e10 s, past int64's 9.2e9 s) is refused at
 * creation; it was accepted and converted with undefined behaviour. */
static void test_band_hold_range(void **st)
{
  (void)st;
  rig_t rig;
  rig_open(&rig);
  hr_agent_cfg_t c;
  const double holds[] = {1e300, 1e10, -1.0, NAN, INFINITY, 0.0, 60.0, 1e7};
  const int want[] = {HR_ERR_RANGE, HR_ERR_RANGE, HR_ERR_RANGE, HR_ERR_RANGE,
                      HR_ERR_RANGE, HR_OK,        HR_OK,        HR_OK};
  for (size_t k = 0; k < sizeof holds / sizeof holds[0]; k++) {
    hr_agent_cfg_init(&c, HR_LOOP_LEASE); /* as --policy headroom-band */
    c.smooth_floor_frac = 0.2;
    c.smooth_ramp_w_per_s = 1000.0;
    c.band_ctl = 1;
    c.band_hold_s = holds[k];
    hr_agent_t *a = NULL;
    assert_int_equal(hr_agent_create(rig.t, 0, rig.act, &rig.clk, NULL, &c, &a), want[k]);
    hr_agent_destroy(a);
  }
  rig_close(&rig);
}

/* A declared want (hr_agent_push_want) grows a lease before the GPU draws
 * it: every GPU draws 300 W; GPU 0 declares 600 W.  After 3 s its cap is at
 * least 600 W, GPU 1's (no declaration) below 400 W.  Then a supply limit
 * of 1.2 kW keeps the sum of the caps at most 1.2 kW; cleared, GPU 0 is
 * back at its want.  Garbage readings and wants are refused and counted. */
static void test_want_and_supply(void **st)
{
  (void)st;
  rig_t rig;
  rig_open(&rig);
  hr_agent_cfg_t c;
  lease_cfg_10w(&c);
  hr_agent_t *a;
  assert_int_equal(hr_agent_create(rig.t, 0, rig.act, &rig.clk, NULL, &c, &a), HR_OK);
  for (int k = 0; k < 4; k++)
    assert_int_equal(hr_simgpu_set_demand(rig.act, k, 300.0, 0), HR_OK);
  assert_int_equal(hr_agent_push_want(a, 0, NAN, 0), HR_ERR_RANGE);
  assert_int_equal(hr_agent_push_want(a, 0, -1.0, 0), HR_ERR_RANGE);
  assert_int_equal(hr_agent_push_power(a, 1, 1e7, 0), HR_ERR_RANGE); /* > 2 x 700 W */
  assert_int_equal(hr_agent_push_power(a, 1, INFINITY, 0), HR_ERR_RANGE);
  double sum_lim = 0.0;
  for (int s = 0; s < 9000; s++) {
    rig.now = (int64_t)s * 1000000;
    if (s == 3000) {
      assert_true(hr_agent_cap_w(a, 0) >= 600.0);
      assert_true(hr_agent_cap_w(a, 1) < 400.0);
      assert_int_equal(hr_agent_set_supply(a, 1200.0, 100.0, rig.now), HR_OK);
    }
    if (s == 6000)
      assert_int_equal(hr_agent_set_supply(a, INFINITY, 0.0, rig.now), HR_OK);
    push_readings(a, &rig);
    assert_int_equal(hr_agent_push_want(a, 0, 600.0, rig.now), HR_OK);
    assert_int_equal(hr_agent_step(a, NULL), HR_OK);
    if (s >= 3001 && s < 6000) {
      double sum = 0.0;
      for (size_t k = 0; k < 4; k++)
        sum += hr_agent_cap_w(a, k);
      if (sum > sum_lim)
        sum_lim = sum;
    }
  }
  hr_agent_stats_t stt;
  assert_int_equal(hr_agent_stats(a, &stt), HR_OK);
  print_message("caps under the 1.2-kW supply limit: highest sum %.1f W; after it GPU 0 %.1f W; "
                "bad readings %llu\n",
                sum_lim, hr_agent_cap_w(a, 0), (unsigned long long)stt.bad_readings);
  assert_true(sum_lim <= 1200.0 + 1e-6);
  assert_true(stt.supply_clamps > 0);
  assert_true(hr_agent_cap_w(a, 0) >= 600.0);
  assert_int_equal(stt.bad_readings, 2);
  hr_agent_destroy(a);
  rig_close(&rig);
}

/* The lease policy with the preset's tokens (a leaf's probe is the largest
 * of 10 W, 100 W / the server's active GPUs and 1 kW / the rack's): GPUs
 * whose readings drop to 0 W and come back in a changing pattern, and one
 * whose readings stop for a while, so the active leaves (and the probes)
 * change from decision to decision, and stay the same between.  The plain
 * agent also rebalances its leases in full every time; the fast one skips
 * the rebalances that would only renew them (most of them here). */
static void run_active(int plain, rec_t *r)
{
  rig_t rig;
  rig_open(&rig);
  hr_agent_cfg_t c;
  hr_agent_cfg_init(&c, HR_LOOP_LEASE);
  hr_agent_t *a;
  assert_int_equal(hr_agent_create(rig.t, 0, rig.act, &rig.clk, NULL, &c, &a), HR_OK);
  hr__agent_set_plain(a, plain);
  hr_agent_set_callback(a, on_dec, r);
  for (int k = 0; k < 4; k++)
    assert_int_equal(hr_simgpu_set_demand(rig.act, k, 700.0, 0), HR_OK);
  for (int s = 0; s < 6000; s++) {
    rig.now = (int64_t)s * 1000000;
    for (size_t k = 0; k < 4; k++) {
      if (k == 2 && s >= 3000 && s < 3400)
        continue; /* no reading: stale after stale_ns */
      hr_act_reading_t rd;
      assert_int_equal(hr_actuator_read(rig.act, (int)k, HR_POWER_DEFAULT, rig.now, &rd), HR_OK);
      double p = ((size_t)(s / 170) + k) % 3 == 0 ? 0.0 : rd.p_w;
      assert_int_equal(hr_agent_push_power(a, k, p, rig.now), HR_OK);
    }
    assert_int_equal(hr_agent_step(a, NULL), HR_OK);
  }
  hr_agent_destroy(a);
  rig_close(&rig);
}

static int same_f64(double x, double y)
{
  return memcmp(&x, &y, sizeof x) == 0;
}

static void test_plain_forms_agree(void **st)
{
  (void)st;
  rec_t *fast = calloc(1, sizeof *fast), *plain = calloc(1, sizeof *plain);
  assert_non_null(fast);
  assert_non_null(plain);
  run_active(0, fast);
  run_active(1, plain);
  print_message("decisions that set caps: %zu\n", fast->n);
  assert_true(fast->n > 4 && fast->n < 4096);
  assert_int_equal(fast->n, plain->n);
  for (size_t j = 0; j < fast->n; j++) {
    const hr_agent_decision_t *x = &fast->d[j], *y = &plain->d[j];
    assert_true(x->t_ns == y->t_ns && x->leaf == y->leaf && x->node == y->node);
    assert_true(same_f64(x->cap_w, y->cap_w) && same_f64(x->prev_cap_w, y->prev_cap_w) &&
                same_f64(x->p_w, y->p_w));
    assert_true(x->why == y->why && x->err == y->err);
  }
  free(fast);
  free(plain);
}

/* A stuck reading (hr_agent_cfg_t.stuck_ns, here 250 ms): GPU 0's value
 * sticks at 123.456 W with fresh times from 2 s.  Accepted up to exactly
 * 250 ms after it first came (t - t0 <= stuck_ns), refused from the next
 * millisecond on (counted), and the lease system is then in degraded mode:
 * no cap rises while it lasts, although the GPUs want more.  Readings that
 * move by 1 mW (GPU 2), a true 0 W (GPU 3) and the simulated GPUs' own
 * dithered telemetry are never flagged.  A negative stuck_ns is refused; 0
 * turns the check off. */
static void test_stuck_reading(void **st)
{
  (void)st;
  hr_agent_cfg_t c;
  lease_cfg_10w(&c);
  assert_int_equal(c.stuck_ns, 3000000000); /* the default: 3 s (docs/loop.md) */
  rig_t rig;
  rig_open(&rig);
  hr_agent_t *a = NULL;
  c.stuck_ns = -1;
  assert_int_equal(hr_agent_create(rig.t, 0, rig.act, &rig.clk, NULL, &c, &a), HR_ERR_RANGE);
  c.stuck_ns = 250000000;
  assert_int_equal(hr_agent_create(rig.t, 0, rig.act, &rig.clk, NULL, &c, &a), HR_OK);
  hr_lease_sys_t *sys = hr_agent_lease_sys(a);
  for (int k = 0; k < 4; k++)
    assert_int_equal(hr_simgpu_set_demand(rig.act, k, 400.0, 0), HR_OK);
  double cap_at_w[4] = {0};
  int raised = 0;
  for (int s = 0; s < 3000; s++) {
    rig.now = (int64_t)s * 1000000;
    if (s == 2100)
      for (int k = 0; k < 4; k++) /* the work wants more while GPU 0 reads low */
        assert_int_equal(hr_simgpu_set_demand(rig.act, k, 700.0, rig.now), HR_OK);
    for (size_t k = 0; k < 2; k++) {
      hr_act_reading_t rd;
      assert_int_equal(hr_actuator_read(rig.act, (int)k, HR_POWER_DEFAULT, rig.now, &rd), HR_OK);
      double p = k == 0 && s >= 2000 ? 123.456 : rd.p_w;
      int want = k == 0 && s > 2250 ? HR_ERR_RANGE : HR_OK;
      assert_int_equal(hr_agent_push_power(a, k, p, rig.now), want);
    }
    assert_int_equal(hr_agent_push_power(a, 2, 400.0 + 1e-3 * (s & 1), rig.now), HR_OK);
    assert_int_equal(hr_agent_push_power(a, 3, 0.0, rig.now), HR_OK);
    assert_int_equal(hr_agent_step(a, NULL), HR_OK);
    hr_mode_t mode = hr_lease_sys_mode(sys);
    assert_int_equal(mode, s > 2250 ? HR_MODE_DEGRADED : HR_MODE_NORMAL);
    if (s == 2250)
      for (size_t k = 0; k < 4; k++)
        cap_at_w[k] = hr_agent_cap_w(a, k);
    if (s > 2250)
      for (size_t k = 0; k < 4; k++)
        if (hr_agent_cap_w(a, k) > cap_at_w[k] + 1e-9)
          raised = 1;
  }
  hr_agent_stats_t stt;
  assert_int_equal(hr_agent_stats(a, &stt), HR_OK);
  print_message("stuck: %llu readings refused, caps at detection %.1f %.1f %.1f %.1f W\n",
                (unsigned long long)stt.stuck_readings, cap_at_w[0], cap_at_w[1], cap_at_w[2],
                cap_at_w[3]);
  assert_int_equal(stt.stuck_readings, 3000 - 2251);
  assert_int_equal(stt.bad_readings, 0);
  assert_false(raised);
  /* A new value is taken at once. */
  rig.now += 1000000;
  assert_int_equal(hr_agent_push_power(a, 0, 123.457, rig.now), HR_OK);
  /* After a gap longer than stale_ns (a frozen meter's old sample, then a
   * fresh one equal to it) the clock starts again: 250 ms more are taken. */
  int64_t t1 = rig.now + 2000000000;
  for (int64_t d = 0; d <= 251; d++)
    assert_int_equal(hr_agent_push_power(a, 0, 123.457, t1 + d * 1000000),
                     d <= 250 ? HR_OK : HR_ERR_RANGE);
  /* Times before the sample clock's 0 are refused, uncounted (the reading
   * paths' differences of times then cannot overflow). */
  hr_agent_stats_t s0, s1;
  assert_int_equal(hr_agent_stats(a, &s0), HR_OK);
  assert_int_equal(hr_agent_push_power(a, 0, 300.0, -1), HR_ERR_RANGE);
  assert_int_equal(hr_agent_push_power(a, 0, 300.0, INT64_MIN + 1), HR_ERR_RANGE);
  assert_int_equal(hr_agent_push_power(a, 0, 300.0, INT64_MAX), HR_OK);
  assert_int_equal(hr_agent_stats(a, &s1), HR_OK);
  assert_true(s1.bad_readings == s0.bad_readings && s1.stuck_readings == s0.stuck_readings);
  hr_agent_destroy(a);
  /* Off: the same value for 3 s is taken. */
  c.stuck_ns = 0;
  assert_int_equal(hr_agent_create(rig.t, 0, rig.act, &rig.clk, NULL, &c, &a), HR_OK);
  for (int s = 0; s < 3000; s++)
    assert_int_equal(hr_agent_push_power(a, 0, 123.456, (int64_t)s * 1000000), HR_OK);
  hr_agent_destroy(a);
  rig_close(&rig);
}

/* A scripted reading of leaf k at step s (1 ms): moving values, a value
 * stuck past stuck_ns (leaf 0 from 100 ms, and again after a change),
 * garbage in turn (NaN, infinite, negative, above read_max_w: leaf 1, every
 * 7th step; from 300 ms a stuck value between them, which garbage must not
 * reset), a true 0 W held (leaf 2 from 200 ms) and a value that returns
 * after a few changes (leaf 3). */
static double script_w(size_t k, int s)
{
  switch (k) {
  case 0:
    return s < 100 ? 300.0 + s : (s < 180 ? 222.125 : (s < 185 ? 500.0 + s : 333.0));
  case 1:
    if (s % 7 == 3) {
      static const double garb[4] = {NAN, INFINITY, -250.0, 1e7};
      return garb[(s / 7) & 3];
    }
    return s < 300 ? 400.0 + 0.001 * (s % 3) : 401.5; /* then stuck between the garbage */
  case 2:
    return s < 200 ? 350.0 + 0.5 * s : 0.0;
  default:
    return s % 50 < 45 ? 610.0 : 600.0 + s;
  }
}

typedef struct script {
  int s;
} script_t;

static int script_fn(void *ctx, size_t n, int64_t t_ns, double *p_w)
{
  (void)t_ns;
  const script_t *sc = ctx;
  for (size_t k = 0; k < n; k++)
    p_w[k] = script_w(k, sc->s);
  return 1;
}

/* The agent's reading pass for the simulator's powers (hr__agent_set_power_fn:
 * the vectorised pass, src/loop/agent.c read_pass_at) against the same
 * readings pushed one at a time (hr_agent_push_power: take_power, the
 * reference), with the stuck check at 30 ms: every cap, the stuck and bad
 * reading counts and the lease mode equal at every step. */
static void test_power_fn_agrees(void **st)
{
  (void)st;
  rig_t rig;
  rig_open(&rig);
  hr_actuator_t *act_b = sim4();
  hr_agent_cfg_t c;
  lease_cfg_10w(&c);
  c.stuck_ns = 30000000;
  hr_agent_t *a = NULL, *b = NULL;
  assert_int_equal(hr_agent_create(rig.t, 0, rig.act, &rig.clk, NULL, &c, &a), HR_OK);
  hr_tree_t *tree_b = load();
  assert_int_equal(hr_agent_create(tree_b, 0, act_b, &rig.clk, NULL, &c, &b), HR_OK);
  script_t sc = {0};
  hr__agent_set_power_fn(a, script_fn, &sc);
  assert_int_equal(hr_agent_set_read_actuator(a, 1), HR_OK); /* reads: here the script */
  for (sc.s = 0; sc.s < 600; sc.s++) {
    rig.now = (int64_t)sc.s * 1000000;
    for (size_t k = 0; k < 4; k++)
      (void)hr_agent_push_power(b, k, script_w(k, sc.s), rig.now);
    assert_int_equal(hr_agent_step(b, NULL), HR_OK);
    assert_int_equal(hr_agent_step(a, NULL), HR_OK);
    for (size_t k = 0; k < 4; k++)
      if (!same_f64(hr_agent_cap_w(a, k), hr_agent_cap_w(b, k)))
        fail_msg("step %d, leaf %zu: cap %.17g against %.17g", sc.s, k, hr_agent_cap_w(a, k),
                 hr_agent_cap_w(b, k));
    hr_agent_stats_t sa, sb;
    assert_int_equal(hr_agent_stats(a, &sa), HR_OK);
    assert_int_equal(hr_agent_stats(b, &sb), HR_OK);
    assert_int_equal(sa.stuck_readings, sb.stuck_readings);
    assert_int_equal(sa.bad_readings, sb.bad_readings);
    assert_int_equal(hr_lease_sys_mode(hr_agent_lease_sys(a)),
                     hr_lease_sys_mode(hr_agent_lease_sys(b)));
  }
  hr_agent_stats_t sa;
  assert_int_equal(hr_agent_stats(a, &sa), HR_OK);
  print_message("power_fn: %llu stuck, %llu bad readings\n", (unsigned long long)sa.stuck_readings,
                (unsigned long long)sa.bad_readings);
  assert_true(sa.stuck_readings > 100 && sa.bad_readings > 50); /* both paths exercised */
  hr_agent_destroy(a);
  hr_agent_destroy(b);
  hr_actuator_destroy(act_b);
  hr_tree_destroy(tree_b);
  rig_close(&rig);
}

/* Events the agent is told of (hr_agent_set_events): a utility outage's
 * HR_EVENT_UTILITY_LOSS with every reading fresh puts the lease system in
 * degraded mode at the next step (the agent's own events, none here, do not
 * overwrite it), and no cap rises while it lasts although the GPUs then want
 * 700 W; cleared, the mode is back to normal stable_ns (10 s) later and the
 * caps grow again. */
static void test_told_events(void **st)
{
  (void)st;
  rig_t rig;
  rig_open(&rig);
  hr_agent_cfg_t c;
  lease_cfg_10w(&c);
  hr_agent_t *a = NULL;
  assert_int_equal(hr_agent_create(rig.t, 0, rig.act, &rig.clk, NULL, &c, &a), HR_OK);
  assert_int_equal(hr_agent_set_events(NULL, 0), HR_ERR_INVALID_ARG);
  assert_int_equal(hr_agent_set_events(a, HR_EVENT_CLAMP), HR_ERR_INVALID_ARG);
  hr_lease_sys_t *sys = hr_agent_lease_sys(a);
  for (int k = 0; k < 4; k++)
    assert_int_equal(hr_simgpu_set_demand(rig.act, k, 300.0, 0), HR_OK);
  double cap0_w[4] = {0};
  int raised = 0;
  for (int s = 0; s < 14500; s++) {
    rig.now = (int64_t)s * 1000000;
    if (s == 1000)
      assert_int_equal(hr_agent_set_events(a, HR_EVENT_UTILITY_LOSS), HR_OK);
    if (s == 1500)
      for (int k = 0; k < 4; k++)
        assert_int_equal(hr_simgpu_set_demand(rig.act, k, 700.0, rig.now), HR_OK);
    if (s == 4000)
      assert_int_equal(hr_agent_set_events(a, 0u), HR_OK);
    push_readings(a, &rig);
    assert_int_equal(hr_agent_step(a, NULL), HR_OK);
    hr_mode_t mode = hr_lease_sys_mode(sys);
    if (s < 1000)
      assert_int_equal(mode, HR_MODE_NORMAL);
    else if (s < 14000)
      assert_int_equal(mode, HR_MODE_DEGRADED);
    if (s == 1000)
      for (size_t k = 0; k < 4; k++)
        cap0_w[k] = hr_agent_cap_w(a, k);
    if (s > 1000 && s < 14000)
      for (size_t k = 0; k < 4; k++)
        if (hr_agent_cap_w(a, k) > cap0_w[k] + 1e-9)
          raised = 1;
  }
  print_message("told utility loss: caps held at %.1f W (GPU 0) for 13 s, %.1f W 0.5 s after\n",
                cap0_w[0], hr_agent_cap_w(a, 0));
  assert_false(raised);
  assert_int_equal(hr_lease_sys_mode(sys), HR_MODE_NORMAL);
  assert_true(hr_agent_cap_w(a, 0) > cap0_w[0] + 1.0);
  hr_agent_destroy(a);
  rig_close(&rig);
}

/* A utility loss told with the generator's figures (hr_agent_set_supply,
 * then hr_agent_set_events): the lease system holds the rating as the
 * site's supply and stays in normal mode, so the caps grow for the GPUs'
 * new demand up to the rating, and never past it.  A rating below the
 * floors is refused and takes the earlier one with it (degraded); the
 * outage's end told in order leaves no degraded spell; readings blind to
 * troughs (sampled) and a policy deciding every 3 s keep the loss
 * degraded. */
static void test_told_supply(void **st)
{
  (void)st;
  rig_t rig;
  rig_open(&rig);
  hr_agent_cfg_t c;
  lease_cfg_10w(&c);
  hr_agent_t *a = NULL;
  assert_int_equal(hr_agent_create(rig.t, 0, rig.act, &rig.clk, NULL, &c, &a), HR_OK);
  hr_lease_sys_t *sys = hr_agent_lease_sys(a);
  for (int k = 0; k < 4; k++)
    assert_int_equal(hr_simgpu_set_demand(rig.act, k, 300.0, 0), HR_OK);
  double sum0 = 0.0, top = 0.0, sum = 0.0;
  for (int s = 0; s < 8000; s++) {
    rig.now = (int64_t)s * 1000000;
    if (s == 1000) {
      assert_int_equal(hr_agent_set_supply(a, 2000.0, 1000.0, rig.now), HR_OK);
      assert_int_equal(hr_agent_set_events(a, HR_EVENT_UTILITY_LOSS), HR_OK);
      /* one token of the rack's tier (10 W here) above the rating: the
       * envelope holds the rating itself (loop.h) */
      assert_true(hr_lease_sys_supply_w(sys, 0) == 2010.0);
    }
    if (s == 1500)
      for (int k = 0; k < 4; k++)
        assert_int_equal(hr_simgpu_set_demand(rig.act, k, 700.0, rig.now), HR_OK);
    push_readings(a, &rig);
    assert_int_equal(hr_agent_step(a, NULL), HR_OK);
    assert_int_equal(hr_lease_sys_mode(sys), HR_MODE_NORMAL);
    sum = 0.0;
    for (size_t k = 0; k < 4; k++)
      sum += hr_agent_cap_w(a, k);
    if (s == 1000)
      sum0 = sum;
    if (s >= 1000 && sum > top)
      top = sum;
  }
  print_message("told utility loss with a 2-kW supply: caps %.1f W -> %.1f W (highest %.1f W)\n",
                sum0, sum, top);
  assert_true(top <= 2000.0 * (1 + 1e-12));
  assert_true(sum > sum0 + 500.0);
  assert_true(sum > 2000.0 - 4 * 10.0 - 1e-6);
  /* a smaller generator below the floors (4 x 210 W): refused, the larger
   * one gone with it, so the loss is degraded mode at the next step */
  assert_int_equal(hr_agent_set_supply(a, 500.0, 1000.0, rig.now), HR_ERR_RANGE);
  assert_true(isinf(hr_lease_sys_supply_w(sys, 0)));
  rig.now += 1000000;
  push_readings(a, &rig);
  assert_int_equal(hr_agent_step(a, NULL), HR_OK);
  assert_int_equal(hr_lease_sys_mode(sys), HR_MODE_DEGRADED);
  hr_agent_destroy(a);

  /* the outage's end in the documented order (the alarm, then the supply):
   * normal mode at once, no degraded spell after it */
  assert_int_equal(hr_agent_create(rig.t, 0, rig.act, &rig.clk, NULL, &c, &a), HR_OK);
  sys = hr_agent_lease_sys(a);
  for (int s = 0; s < 3000; s++) {
    rig.now = (int64_t)(8000 + s) * 1000000;
    if (s == 1000) {
      assert_int_equal(hr_agent_set_supply(a, 2000.0, 1000.0, rig.now), HR_OK);
      assert_int_equal(hr_agent_set_events(a, HR_EVENT_UTILITY_LOSS), HR_OK);
    }
    if (s == 2000) {
      assert_int_equal(hr_agent_set_events(a, 0u), HR_OK);
      assert_int_equal(hr_agent_set_supply(a, INFINITY, 0.0, rig.now), HR_OK);
      assert_true(isinf(hr_lease_sys_supply_w(sys, 0)));
    }
    push_readings(a, &rig);
    assert_int_equal(hr_agent_step(a, NULL), HR_OK);
    assert_int_equal(hr_lease_sys_mode(sys), HR_MODE_NORMAL);
  }
  hr_agent_destroy(a);

  /* blind to troughs (readings that are 25-ms window means, whether a
   * meter reports or not), and decisions 3 s apart (lease-3band): the
   * leases get no supply and the loss is degraded mode */
  hr_agent_cfg_t c3;
  hr_agent_cfg_init(&c3, HR_LOOP_THREE_BAND);
  assert_int_equal(hr_agent_create(rig.t, 0, rig.act, &rig.clk, NULL, &c3, &a), HR_OK);
  assert_int_equal(hr_agent_set_supply(a, 2000.0, 1000.0, rig.now), HR_OK);
  assert_true(isinf(hr_lease_sys_supply_w(hr_agent_lease_sys(a), 0)));
  hr_agent_destroy(a);
  c.tel_window_ns = 25000000;
  assert_int_equal(hr_agent_create(rig.t, 0, rig.act, &rig.clk, NULL, &c, &a), HR_OK);
  sys = hr_agent_lease_sys(a);
  for (int s = 0; s < 1200; s++) {
    rig.now = (int64_t)(12000 + s) * 1000000;
    if (s == 1000) {
      assert_int_equal(hr_agent_set_supply(a, 2000.0, 1000.0, rig.now), HR_OK);
      assert_int_equal(hr_agent_set_events(a, HR_EVENT_UTILITY_LOSS), HR_OK);
      assert_true(isinf(hr_lease_sys_supply_w(sys, 0)));
    }
    push_readings(a, &rig);
    assert_int_equal(hr_agent_step(a, NULL), HR_OK);
  }
  assert_int_equal(hr_lease_sys_mode(sys), HR_MODE_DEGRADED);
  hr_agent_destroy(a);
  rig_close(&rig);
}

static hr_record_t ms_rec(int64_t t_ns, double p_w)
{
  hr_record_t r;
  memset(&r, 0, sizeof r);
  r.kind = HR_REC_MS;
  r.t_ns = t_ns - 1000000;
  r.dur_ns = 1000000;
  r.n_u = r.n_i = 3;
  r.u.ms.p_total_w = p_w;
  return r;
}

/* A meter's records: on the server (node 2) garbage (below -1 % of its
 * highest credible power, NaN, above
 * 2 x 4 x 700 W, a negative or absurd current) is refused and counted.  On
 * the site (node 0) the meter's 1-ms power stands for the node's power while
 * fresh (1,000 W, not the GPUs' sum); a value stuck for longer than stuck_ns
 * (250 ms) is refused and the GPUs' readings stand in for the meter from the
 * next step. */
static void test_meter_records(void **st)
{
  (void)st;
  rig_t rig;
  rig_open(&rig);
  hr_agent_cfg_t c;
  lease_cfg_10w(&c);
  c.stuck_ns = 250000000;
  hr_agent_t *a = NULL;
  assert_int_equal(hr_agent_create(rig.t, 0, rig.act, &rig.clk, NULL, &c, &a), HR_OK);
  for (int k = 0; k < 4; k++)
    assert_int_equal(hr_simgpu_set_demand(rig.act, k, 300.0, 0), HR_OK);
  hr_record_t g = ms_rec(1000000, -1.0); /* no-load noise: within -1 % of 5,600 W */
  assert_int_equal(hr_agent_push_record(a, 2, &g), HR_OK);
  g.u.ms.p_total_w = -250.0;
  assert_int_equal(hr_agent_push_record(a, 2, &g), HR_ERR_RANGE);
  g.u.ms.p_total_w = NAN;
  assert_int_equal(hr_agent_push_record(a, 2, &g), HR_ERR_RANGE);
  g.u.ms.p_total_w = 5600.5; /* above 2 x 4 x 700 W */
  assert_int_equal(hr_agent_push_record(a, 2, &g), HR_ERR_RANGE);
  g.u.ms.p_total_w = 5600.0;
  assert_int_equal(hr_agent_push_record(a, 2, &g), HR_OK);
  /* Times off the sample clock: a negative start or length, an end past
   * INT64_MAX. */
  hr_record_t bt = g;
  bt.t_ns = -1;
  assert_int_equal(hr_agent_push_record(a, 2, &bt), HR_ERR_RANGE);
  bt = g;
  bt.dur_ns = -1;
  assert_int_equal(hr_agent_push_record(a, 2, &bt), HR_ERR_RANGE);
  bt = g;
  bt.t_ns = INT64_MAX - bt.dur_ns + 1;
  assert_int_equal(hr_agent_push_record(a, 2, &bt), HR_ERR_RANGE);
  g.kind = HR_REC_CYCLE;
  g.u.cycle.i_rms_a[0] = 1.0;
  g.u.cycle.i_rms_a[1] = -1.0;
  assert_int_equal(hr_agent_push_record(a, 2, &g), HR_ERR_RANGE);
  g.u.cycle.i_rms_a[1] = 1e6;
  assert_int_equal(hr_agent_push_record(a, 2, &g), HR_ERR_RANGE);
  hr_agent_stats_t stt;
  assert_int_equal(hr_agent_stats(a, &stt), HR_OK);
  assert_int_equal(stt.bad_readings, 5);
  for (int s = 1; s < 1000; s++) {
    rig.now = (int64_t)s * 1000000;
    double sum_w = 0.0;
    for (size_t k = 0; k < 4; k++) {
      hr_act_reading_t rd;
      assert_int_equal(hr_actuator_read(rig.act, (int)k, HR_POWER_DEFAULT, rig.now, &rd), HR_OK);
      assert_int_equal(hr_agent_push_power(a, k, rd.p_w, rig.now), HR_OK);
      sum_w += rd.p_w;
    }
    hr_record_t r = ms_rec(rig.now, 1000.0);
    int want = s > 1 + 250 ? HR_ERR_RANGE : HR_OK;
    assert_int_equal(hr_agent_push_record(a, 0, &r), want);
    hr_agent_step_info_t info;
    assert_int_equal(hr_agent_step(a, &info), HR_OK);
    if (s > 100 && s <= 251)
      assert_true(info.node_p_w == 1000.0);
    if (s > 251) /* the GPUs' own readings */
      assert_true(fabs(info.node_p_w - sum_w) < 1e-6);
  }
  assert_int_equal(hr_agent_stats(a, &stt), HR_OK);
  assert_int_equal(stt.stuck_readings, 999 - 251);
  hr_agent_destroy(a);
  rig_close(&rig);
}

/* A meter current refused as garbage drops the meter's last good current:
 * while the meter's 1-ms power stays fresh, the rack's device then sees the
 * current derived from its power, as with no current records at all (agent
 * B), not the last good 20 A (agent C keeps it, and its device heats more). */
static void test_meter_current_dropped(void **st)
{
  (void)st;
  rig_t rig;
  rig_open(&rig);
  hr_agent_cfg_t c;
  lease_cfg_10w(&c);
  hr_agent_t *ag[3] = {NULL, NULL, NULL};
  for (int k = 0; k < 3; k++)
    assert_int_equal(hr_agent_create(rig.t, 0, rig.act, &rig.clk, NULL, &c, &ag[k]), HR_OK);
  for (int s = 1; s <= 2000; s++) {
    rig.now = (int64_t)s * 1000000;
    for (int k = 0; k < 3; k++) {
      for (size_t g = 0; g < 4; g++)
        assert_int_equal(hr_agent_push_power(ag[k], g, 300.0, rig.now), HR_OK);
      hr_record_t m = ms_rec(rig.now, 1200.0);
      assert_int_equal(hr_agent_push_record(ag[k], 1, &m), HR_OK);
    }
    if (s == 1) {
      hr_record_t cy = ms_rec(rig.now, 0.0);
      cy.kind = HR_REC_CYCLE;
      cy.u.cycle.i_rms_a[0] = cy.u.cycle.i_rms_a[1] = cy.u.cycle.i_rms_a[2] = 20.0;
      assert_int_equal(hr_agent_push_record(ag[0], 1, &cy), HR_OK);
      assert_int_equal(hr_agent_push_record(ag[2], 1, &cy), HR_OK);
      cy.u.cycle.i_rms_a[1] = -1.0; /* garbage, for A only */
      assert_int_equal(hr_agent_push_record(ag[0], 1, &cy), HR_ERR_RANGE);
    }
    for (int k = 0; k < 3; k++)
      assert_int_equal(hr_agent_step(ag[k], NULL), HR_OK);
  }
  hr_device_status_t ds[3];
  for (int k = 0; k < 3; k++)
    assert_int_equal(hr_lease_sys_device_status(hr_agent_lease_sys(ag[k]), 1, &ds[k]), HR_OK);
  print_message("rack thermal state: after the garbage %.6g, no current %.6g, held 20 A %.6g\n",
                ds[0].thermal, ds[1].thermal, ds[2].thermal);
  assert_true(ds[0].thermal == ds[1].thermal);
  assert_true(ds[2].thermal > ds[1].thermal);
  for (int k = 0; k < 3; k++)
    hr_agent_destroy(ag[k]);
  rig_close(&rig);
}

/* A power without a metered current counts at the budgets' power factor:
 * four GPUs reading 300 W at PF 0.5 carry the current of 2400 VA, as four
 * reading 600 W at PF 1 do (the rack's thermal image the same, bit for
 * bit), and more than four reading 300 W at PF 1.  Fails when the agent
 * takes the current of the watts alone. */
static void test_budget_pf_current(void **st)
{
  (void)st;
  rig_t rig;
  rig_open(&rig);
  hr_agent_cfg_t c[3];
  const double pf[3] = {0.5, 1.0, 1.0}, p_w[3] = {300.0, 600.0, 300.0};
  hr_agent_t *ag[3] = {NULL, NULL, NULL};
  for (int k = 0; k < 3; k++) {
    lease_cfg_10w(&c[k]);
    c[k].lease.budget.pf = pf[k];
    assert_int_equal(hr_agent_create(rig.t, 0, rig.act, &rig.clk, NULL, &c[k], &ag[k]), HR_OK);
  }
  for (int s = 1; s <= 2000; s++) {
    rig.now = (int64_t)s * 1000000;
    for (int k = 0; k < 3; k++) {
      for (size_t g = 0; g < 4; g++)
        assert_int_equal(hr_agent_push_power(ag[k], g, p_w[k], rig.now), HR_OK);
      assert_int_equal(hr_agent_step(ag[k], NULL), HR_OK);
    }
  }
  hr_device_status_t ds[3];
  for (int k = 0; k < 3; k++)
    assert_int_equal(hr_lease_sys_device_status(hr_agent_lease_sys(ag[k]), 1, &ds[k]), HR_OK);
  print_message("rack thermal state: 1200 W at PF 0.5 %.6g, 2400 W at PF 1 %.6g, 1200 W at PF 1 "
                "%.6g\n",
                ds[0].thermal, ds[1].thermal, ds[2].thermal);
  assert_true(ds[0].thermal == ds[1].thermal);
  assert_true(ds[0].thermal > ds[2].thermal);
  for (int k = 0; k < 3; k++)
    hr_agent_destroy(ag[k]);
  rig_close(&rig);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_static_caps),
      cmocka_unit_test(test_lease_climbs),
      cmocka_unit_test(test_telemetry_loss),
      cmocka_unit_test(test_deterministic),
      cmocka_unit_test(test_bad_args),
      cmocka_unit_test(test_want_and_supply),
      cmocka_unit_test(test_plain_forms_agree),
      cmocka_unit_test(test_band_hold_range),
      cmocka_unit_test(test_coordinator_stop_fallback),
      cmocka_unit_test(test_stuck_reading),
      cmocka_unit_test(test_power_fn_agrees),
      cmocka_unit_test(test_meter_current_dropped),
      cmocka_unit_test(test_budget_pf_current),
      cmocka_unit_test(test_told_events),
      cmocka_unit_test(test_told_supply),
      cmocka_unit_test(test_meter_records),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
