/* Budgets from protection and feed state, against hand-computed values from
 * the example trees (docs/lease.md shows the arithmetic). */
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
#include "lease/lease_int.h"

/* The diagnostic as the one line hr_diag_format makes (a static buffer). */
static const char *dtext(const hr_diag_t *d)
{
  static char text[1024];
  hr_diag_format(d, text, sizeof text);
  return text;
}

#define SQRT3 1.7320508075688772

static hr_tree_t *load(const char *name)
{
  char path[512];
  snprintf(path, sizeof path, "%s/examples/trees/%s", HR_SOURCE_DIR, name);
  hr_tree_t *t = NULL;
  hr_diag_t e;
  if (hr_tree_load_file(path, &t, &e) != HR_OK) {
    print_error("%s\n", dtext(&e));
    fail();
  }
  return t;
}

static const hr_tree_node_t *node(const hr_tree_t *t, const char *id)
{
  size_t k = 0;
  assert_int_equal(hr_tree_find(t, id, &k), HR_OK);
  return hr_tree_node(t, k);
}

static void near(double got, double want, double rel)
{
  if (!(fabs(got - want) <= rel * fabs(want))) {
    print_error("got %.9g want %.9g\n", got, want);
    fail();
  }
}

/* Branch A1: 800 A LSI at 600 V.  Continuous 80 % of 800 x 600 x sqrt 3 =
 * 665.1 kW, below the file's 640 kW budget, so 640 kW; burst capped by the
 * file's 680 kW; instantaneous 0.85 x min(Isd 4800, Ii 9600) A = 4080 A =
 * 4.240 MW. */
static void test_branch_a1(void **st)
{
  (void)st;
  hr_tree_t *t = load("rack-zone-a1.yaml");
  hr_budget_cfg_t c;
  hr_budget_cfg_init(&c);
  hr_budget_t b;
  assert_int_equal(hr_budget_node(node(t, "branch-a1"), NULL, &c, -1, &b), HR_OK);
  near(b.cont_w, 640e3, 1e-12);
  near(b.burst_w, 680e3, 1e-12);
  near(b.inst_w, 0.85 * 4800 * 600 * SQRT3, 1e-9);
  near(b.limit_w, 640e3, 1e-12);
  near(b.phase_w[1], 640e3 / 3, 1e-12);

  /* Main A1: 3000 A LSIG, no file budget: 0.8 x 3000 x 600 x sqrt 3. */
  assert_int_equal(hr_budget_node(node(t, "main-a1"), NULL, &c, -1, &b), HR_OK);
  near(b.cont_w, 0.8 * 3000 * 600 * SQRT3, 1e-12);
  near(b.inst_w, 0.85 * 12000 * 600 * SQRT3, 1e-9);
  /* 100 %-rated: the continuous limit is the full rating. */
  assert_int_equal(hr_budget_node(node(t, "main-a1"), NULL, &c, 1, &b), HR_OK);
  near(b.cont_w, 3000 * 600 * SQRT3, 1e-12);
  /* Cold 10 s burst of the main: the long-time image is first order with
   * tau = tr / -ln(1 - k^2/36), so t(6 Ir) = tr (docs/tree.md); state fraction after 10 s at x =
   * I/Ir is x^2 (1 - exp(-10/tau)) / k^2 = 0.85. */
  double k2 = 1.1 * 1.1, tau = 12.0 / -log1p(-k2 / 36.0);
  double x = sqrt(0.85 * k2 / (1.0 - exp(-10.0 / tau)));
  double i_burst = x * 3000.0;
  /* x = 6.1 here: 18.3 kA is above Isd = 4 x 3000 A, so the short-time
   * element (definite 0.3 s) bounds the burst at Isd instead. */
  assert_true(i_burst > 12000.0);
  near(b.burst_w, 12000.0 * 600 * SQRT3, 1e-6);
  /* Branch A1 cold, without the file's 680 kW cap: L alone (tau = 36 x 8 / k^2)
   * gives x = 5.0, 4.0 kA, below Isd = 4.8 kA. */
  tau = 8.0 / -log1p(-k2 / 36.0);
  x = sqrt(0.85 * k2 / (1.0 - exp(-10.0 / tau)));
  hr_tree_node_t br = *node(t, "branch-a1");
  br.burst_w = 0.0;
  assert_int_equal(hr_budget_node(&br, NULL, &c, -1, &b), HR_OK);
  near(b.burst_w, x * 800.0 * 600 * SQRT3, 1e-5);

  /* Rack fuse: 132 kW rating is below 160 A x 600 V x sqrt 3; 80 % of it. */
  assert_int_equal(hr_budget_node(node(t, "rack-a1-01"), NULL, &c, -1, &b), HR_OK);
  near(b.cont_w, 0.8 * 132e3, 1e-12);
  assert_true(b.inst_w < INFINITY && b.inst_w > b.cont_w);
  /* A GPU has no device: no burst or instantaneous limit. */
  assert_int_equal(hr_budget_node(node(t, "gpu-a1-01-01-0"), NULL, &c, -1, &b), HR_OK);
  near(b.limit_w, 0.8 * 1200, 1e-12);
  assert_true(isinf(b.burst_w) && isinf(b.inst_w));

  /* At a power factor below 1 a current rating allows pf x its volt-amperes,
   * a rating in watts its watts: the GPU keeps 0.8 x 1200 W; the rack fuse's
   * 160 A x 600 V x sqrt 3 x 0.7 = 116.4 kW now binds below its 132 kW; the
   * main's 3000 A are 0.7 x its volt-amperes. */
  c.pf = 0.7;
  assert_int_equal(hr_budget_node(node(t, "gpu-a1-01-01-0"), NULL, &c, -1, &b), HR_OK);
  near(b.cont_w, 0.8 * 1200, 1e-12);
  assert_int_equal(hr_budget_node(node(t, "rack-a1-01"), NULL, &c, -1, &b), HR_OK);
  near(b.cont_w, 0.8 * 160 * 600 * SQRT3 * 0.7, 1e-12);
  c.pf = 0.95;
  assert_int_equal(hr_budget_node(node(t, "rack-a1-01"), NULL, &c, -1, &b), HR_OK);
  near(b.cont_w, 0.8 * 132e3, 1e-12); /* 158 kW: the watts rating binds again */
  c.pf = 0.7;
  assert_int_equal(hr_budget_node(node(t, "main-a1"), NULL, &c, -1, &b), HR_OK);
  near(b.cont_w, 0.8 * 3000 * 600 * SQRT3 * 0.7, 1e-12);
  hr_tree_destroy(t);
}

/* 2N example: the rack PDU (32 A, 415 V three-phase) has a per-phase limit of
 * a third of 0.8 x 32 x 415 x sqrt 3; a single-phase server is one phase. */
static void test_2n_small(void **st)
{
  (void)st;
  hr_tree_t *t = load("2n-small.yaml");
  hr_budget_cfg_t c;
  hr_budget_cfg_init(&c);
  hr_budget_t b;
  assert_int_equal(hr_budget_node(node(t, "rpdu-a1"), NULL, &c, -1, &b), HR_OK);
  near(b.cont_w, 0.8 * 32 * 415 * SQRT3, 1e-12);
  near(b.phase_w[0], 0.8 * 32 * 415 * SQRT3 / 3, 1e-12);
  assert_int_equal(hr_budget_node(node(t, "ups-a"), NULL, &c, -1, &b), HR_OK);
  near(b.cont_w, 0.8 * 500e3, 1e-12);
  assert_int_equal(hr_budget_node(node(t, "srv-1"), NULL, &c, -1, &b), HR_OK);
  near(b.cont_w, 2400, 1e-12);
  assert_true(isinf(b.phase_w[1]));

  /* In the lease system a dual-corded server counts in full against both
   * rack PDUs; losing feed a leaves feed b's limits as they were and zeroes
   * feed a's. */
  hr_lease_cfg_t lc;
  hr_lease_cfg_init(&lc);
  hr_lease_sys_t *s = NULL;
  assert_int_equal(hr_lease_sys_create(t, &lc, &s, NULL), HR_OK);
  size_t a1, b1, s1;
  hr_tree_find(t, "rpdu-a1", &a1);
  hr_tree_find(t, "rpdu-b1", &b1);
  hr_tree_find(t, "srv-1", &s1);
  double lim_b = hr_lease_sys_budget(s, b1)->limit_w;
  assert_int_equal(hr_lease_sys_set_feed_lost(s, HR_FEED_A, 0), HR_OK);
  assert_true(hr_lease_sys_budget(s, a1)->limit_w == 0.0);
  near(hr_lease_sys_budget(s, b1)->limit_w, lim_b, 1e-12);
  assert_int_equal(hr_lease_sys_mode(s), HR_MODE_PROTECTION);
  hr_lease_sys_destroy(s);
  hr_tree_destroy(t);
}

/* The burst allowance follows the thermal state: after a long overload the
 * allowance is smaller, and the predicted state at the allowance is the
 * margin. */
static void test_burst_thermal(void **st)
{
  (void)st;
  hr_tree_t *t = load("rack-zone-a1.yaml");
  const hr_tree_node_t *m = node(t, "main-a1");
  hr_device_t *d = NULL;
  assert_int_equal(hr_device_create(m->device, &d), HR_OK);
  hr_budget_cfg_t c;
  hr_budget_cfg_init(&c);
  hr_budget_t cold, hot;
  assert_int_equal(hr_budget_node(m, d, &c, -1, &cold), HR_OK);
  assert_int_equal(hr_device_step(d, 3200.0, 600.0), HR_OK); /* 107 % for 10 min */
  assert_int_equal(hr_budget_node(m, d, &c, -1, &hot), HR_OK);
  assert_true(hot.burst_w < cold.burst_w);
  double i = hr_tree_node_current_a(m, hot.burst_w);
  near(hr__device_predict_state(d, i, c.burst_window_s), 0.85, 1e-5);
  assert_true(hr__device_predict_state(d, i * 1.001, c.burst_window_s) > 0.85);
  hr_device_destroy(d);
  hr_tree_destroy(t);
}

static void test_bad_cfg(void **st)
{
  (void)st;
  hr_tree_t *t = load("rack-zone-a1.yaml");
  hr_budget_cfg_t c;
  hr_budget_cfg_init(&c);
  hr_budget_t b;
  c.burst_margin = 1.0;
  assert_int_equal(hr_budget_node(node(t, "main-a1"), NULL, &c, -1, &b), HR_ERR_RANGE);
  assert_int_equal(hr_budget_node(NULL, NULL, &c, -1, &b), HR_ERR_INVALID_ARG);
  hr_tree_destroy(t);
}

/* hr_budget_node's burst search, written out as it was before the search
 * reused one scratch copy (budget.c, predict_in): a bisection of
 * hr__device_predict_state between 0 and the withstand current. */
static double burst_ref_a(const hr_device_t *dev, double t_s, double margin)
{
  if (hr_device_tripped(dev))
    return 0.0;
  if (hr__device_predict_state(dev, 0.0, t_s) > margin)
    return 0.0;
  double hi = hr_device_withstand_a(dev, t_s);
  if (!isfinite(hi))
    return INFINITY;
  double lo = 0.0;
  hi *= 1.0 + 1e-9;
  for (int k = 0; k < 60 && hi - lo > 1e-7 * hi; k++) {
    double mid = 0.5 * (lo + hi);
    if (hr__device_predict_state(dev, mid, t_s) <= margin)
      lo = mid;
    else
      hi = mid;
  }
  return lo;
}

/* The burst budget of every device of the example trees, cold, warmed at
 * 0.5-1.3 times the current that trips it in a minute, after a trip and
 * reclosed, equals the reference search's bit for bit (the search's scratch
 * copy and its step caches change no value). */
static void test_burst_same_as_ref(void **st)
{
  (void)st;
  const char *trees[] = {"rack-zone-a1.yaml", "2n-small.yaml", "site-zones.yaml"};
  size_t checked = 0;
  for (size_t f = 0; f < sizeof trees / sizeof trees[0]; f++) {
    hr_tree_t *t = load(trees[f]);
    for (size_t u = 0; u < hr_tree_count(t); u++) {
      const hr_tree_node_t *m = hr_tree_node(t, u);
      if (!m->device)
        continue;
      hr_device_t *d = NULL;
      assert_int_equal(hr_device_create(m->device, &d), HR_OK);
      hr_budget_cfg_t c;
      hr_budget_cfg_init(&c);
      double i60 = hr_device_withstand_a(d, 60.0);
      const double mult[] = {0.0, 0.5, 0.9, 1.05, 1.3, 20.0, 0.2};
      for (size_t j = 0; j < sizeof mult / sizeof mult[0]; j++) {
        if (j > 0 && isfinite(i60)) {
          assert_int_equal(hr_device_step(d, mult[j] * i60, 20.0), HR_OK);
          if (hr_device_tripped(d)) {
            hr_budget_t b;
            assert_int_equal(hr_budget_node(m, d, &c, -1, &b), HR_OK);
            assert_true(b.burst_w == 0.0 || (m->burst_w > 0.0 && b.burst_w == m->burst_w));
            hr_device_reclose(d);
          }
        }
        hr_budget_t b;
        assert_int_equal(hr_budget_node(m, d, &c, -1, &b), HR_OK);
        double ib = burst_ref_a(d, c.burst_window_s, c.burst_margin);
        double want = isfinite(ib) ? hr_budget_power_w(m, ib, c.pf) : INFINITY;
        if (m->burst_w > 0.0 && m->burst_w < want)
          want = m->burst_w;
        if (memcmp(&b.burst_w, &want, sizeof want) != 0) {
          print_error("%s node %zu step %zu: burst %.17g want %.17g\n", trees[f], u, j, b.burst_w,
                      want);
          fail();
        }
        checked++;
      }
      hr_device_destroy(d);
    }
    hr_tree_destroy(t);
  }
  assert_true(checked >= 20);
}

/* Every budget and lease of a system, compared bit for bit with another's. */
static void same_sys(const hr_lease_sys_t *a, const hr_lease_sys_t *b, size_t n, int64_t t)
{
  for (size_t k = 0; k < n; k++) {
    const hr_budget_t *ba = hr_lease_sys_budget(a, k), *bb = hr_lease_sys_budget(b, k);
    assert_memory_equal(ba, bb, sizeof *ba);
    const hr_lease_t *la = hr_lease_sys_lease(a, k), *lb = hr_lease_sys_lease(b, k);
    if (la && lb) {
      hr_lease_t ca = *la, cb = *lb; /* each call refreshes its own view */
      assert_memory_equal(&ca, &cb, sizeof ca);
    } else {
      assert_true(!la && !lb);
    }
    double ca = hr_lease_sys_cap_w(a, k, t), cb = hr_lease_sys_cap_w(b, k, t);
    assert_memory_equal(&ca, &cb, sizeof ca);
  }
}

/* hr_lease_sys_set_rated_100_many gives what one hr_lease_sys_set_rated_100
 * per node gives, at set-up and between rebalances (ratings that raise
 * limits), and refuses a node out of range without changing anything. */
static void test_rated_many(void **st)
{
  (void)st;
  const char *trees[] = {"rack-zone-a1.yaml", "2n-small.yaml", "site-zones.yaml"};
  for (size_t f = 0; f < sizeof trees / sizeof trees[0]; f++) {
    hr_tree_t *t = load(trees[f]);
    size_t n = hr_tree_count(t), n_leaf = 0;
    size_t *leaves = malloc(n * sizeof *leaves);
    double *dem = malloc(n * sizeof *dem);
    assert_non_null(leaves);
    assert_non_null(dem);
    for (size_t u = 0; u < n; u++) {
      dem[u] = 0.0;
      if (hr_tree_node(t, u)->n_children == 0) {
        leaves[n_leaf++] = u;
        dem[u] = 400.0 + 37.0 * (double)(u % 11);
      }
    }
    for (int when = 0; when < 2; when++) {
      hr_lease_cfg_t cfg;
      hr_lease_cfg_init(&cfg);
      hr_lease_sys_t *one = NULL, *many = NULL;
      assert_int_equal(hr_lease_sys_create(t, &cfg, &one, NULL), HR_OK);
      assert_int_equal(hr_lease_sys_create(t, &cfg, &many, NULL), HR_OK);
      int64_t t0 = 0;
      if (when == 1) {
        /* Leases granted first: the ratings then apply to running grants. */
        assert_int_equal(hr_lease_sys_rebalance(one, dem, 0), HR_OK);
        assert_int_equal(hr_lease_sys_rebalance(many, dem, 0), HR_OK);
        t0 = 1000000000;
      }
      for (size_t j = 0; j < n_leaf; j++)
        assert_int_equal(hr_lease_sys_set_rated_100(one, leaves[j], 1, t0), HR_OK);
      size_t bad[2] = {leaves[0], n};
      assert_int_equal(hr_lease_sys_set_rated_100_many(many, bad, 2, 1, t0), HR_ERR_INVALID_ARG);
      assert_int_equal(hr_lease_sys_set_rated_100_many(many, leaves, n_leaf, 1, t0), HR_OK);
      same_sys(one, many, n, t0);
      /* And what follows from them: a rebalance a second later. */
      assert_int_equal(hr_lease_sys_rebalance(one, dem, t0 + 1000000000), HR_OK);
      assert_int_equal(hr_lease_sys_rebalance(many, dem, t0 + 1000000000), HR_OK);
      same_sys(one, many, n, t0 + 1000000000);
      hr_lease_sys_destroy(one);
      hr_lease_sys_destroy(many);
    }
    free(leaves);
    free(dem);
    hr_tree_destroy(t);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_branch_a1),         cmocka_unit_test(test_2n_small),
      cmocka_unit_test(test_burst_thermal),     cmocka_unit_test(test_bad_cfg),
      cmocka_unit_test(test_burst_same_as_ref), cmocka_unit_test(test_rated_many),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
