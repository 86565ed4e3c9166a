/* A supply in place of the utility (hr_lease_sys_set_supply; docs/lease.md,
 * "A supply in place of the utility"), against the arithmetic written out:
 * a root's limit is min(its device's, the supply x eff) less the overheads,
 * what the leases hold follows it at once and in every rebalance, by
 * priority; a utility loss is degraded mode unless every root's supply is
 * known; a supply that cannot hold the floors is refused, changing nothing. */
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

#include "budgettest.h"

/* A 415-V, 400-A site (continuous 0.8 x 400 x 415 x sqrt 3 = 230 kW: never
 * binding here) over two servers of four 700-W GPUs; a second tree with a
 * second root (feed b) and a dual-corded server under both. */
static const char TREE1[] =
    "version: 1\n"
    "nodes:\n"
    "  - {id: site, kind: utility, parent: null, voltage_v: 415, phases: 3,\n"
    "     rating_a: 400}\n"
    "  - {id: s1, kind: server, parent: site}\n"
    "  - {id: s1g0, kind: gpu, parent: s1, rating_w: 700}\n"
    "  - {id: s1g1, kind: gpu, parent: s1, rating_w: 700}\n"
    "  - {id: s1g2, kind: gpu, parent: s1, rating_w: 700}\n"
    "  - {id: s1g3, kind: gpu, parent: s1, rating_w: 700}\n"
    "  - {id: s2, kind: server, parent: site}\n"
    "  - {id: s2g0, kind: gpu, parent: s2, rating_w: 700}\n"
    "  - {id: s2g1, kind: gpu, parent: s2, rating_w: 700}\n"
    "  - {id: s2g2, kind: gpu, parent: s2, rating_w: 700}\n"
    "  - {id: s2g3, kind: gpu, parent: s2, rating_w: 700}\n";

static const char TREE2[] =
    "version: 1\n"
    "redundancy: 2n\n"
    "nodes:\n"
    "  - {id: site, kind: utility, parent: null, feed: a, voltage_v: 415,\n"
    "     phases: 3, rating_a: 400}\n"
    "  - {id: site-b, kind: utility, parent: null, feed: b, voltage_v: 415,\n"
    "     phases: 3, rating_a: 400}\n"
    "  - {id: d, kind: server, parent: site, parent_b: site-b}\n"
    "  - {id: dg0, kind: gpu, parent: d, rating_w: 700}\n"
    "  - {id: dg1, kind: gpu, parent: d, rating_w: 700}\n";

#define MS 1000000LL

static void is_inf(double got)
{
  if (!(isinf(got) && got > 0.0)) {
    print_error("got %.9g want +inf\n", got);
    fail();
  }
}

static hr_lease_sys_t *sys_new(const hr_tree_t *t, double eff)
{
  hr_lease_cfg_t c;
  assert_int_equal(hr_lease_cfg_init(&c), HR_OK);
  c.budget.eff = eff;
  hr_lease_sys_t *s = NULL;
  assert_int_equal(hr_lease_sys_create(t, &c, &s, NULL), HR_OK);
  return s;
}

/* The caps of the GPUs under node `under` (every GPU when under is SIZE_MAX) at t. */
static double gpu_sum(const hr_tree_t *t, const hr_lease_sys_t *s, size_t under, int64_t t_ns)
{
  double sum = 0.0;
  for (size_t k = 0; k < hr_tree_count(t); k++) {
    const hr_tree_node_t *nd = hr_tree_node(t, k);
    if (nd->n_children == 0 && (under == SIZE_MAX || (size_t)nd->parent == under))
      sum += hr_lease_sys_cap_w(s, k, t_ns);
  }
  return sum;
}

static void rebalance_all(const hr_tree_t *t, hr_lease_sys_t *s, double want_w, int64_t t_ns)
{
  double dem[16] = {0};
  assert_true(hr_tree_count(t) <= 16);
  for (size_t k = 0; k < hr_tree_count(t); k++)
    dem[k] = hr_tree_node(t, k)->n_children ? 0.0 : want_w;
  assert_int_equal(hr_lease_sys_rebalance(s, dem, t_ns), HR_OK);
}

/* The limit: min(device, supply x eff) less the overheads; the grants cut
 * at once and held to it by every rebalance; cleared, the limit and the
 * grants come back. */
static void test_supply_limit(void **st)
{
  (void)st;
  hr_tree_t *t = bt_tree(TREE1, sizeof TREE1 - 1, "supply.yaml");
  const double eff = 0.9;
  hr_lease_sys_t *s = sys_new(t, eff);
  const size_t site = bt_idx(t, "site"), s1 = bt_idx(t, "s1"), s2 = bt_idx(t, "s2");
  const size_t srv[2] = {s1, s2};
  const double base[2] = {400.0, 400.0};
  assert_int_equal(hr_lease_sys_set_overhead(s, srv, base, 2, 0), HR_OK);
  const double lim0 = hr_lease_sys_budget(s, site)->limit_w;
  bt_near(lim0, 0.9 * 0.8 * 400 * 415 * 1.7320508075688772 - 800.0, 1e-6);
  is_inf(hr_lease_sys_supply_w(s, site));
  int64_t now = 1 * MS;
  rebalance_all(t, s, 700.0, now);
  bt_near(gpu_sum(t, s, SIZE_MAX, now), 8 * 510.0, 1e-9);

  /* a 4-kW generator: 4000 x 0.9 - 800 = 2800 W for the GPUs, at once */
  now += MS;
  assert_int_equal(hr_lease_sys_set_supply(s, site, 4000.0, now), HR_OK);
  bt_near(hr_lease_sys_supply_w(s, site), 4000.0, 0.0);
  const double lim = 4000.0 * eff - 800.0;
  bt_near(hr_lease_sys_budget(s, site)->limit_w, lim, 1e-9);
  bt_near(hr_lease_sys_avail_w(s, site, now), lim, 1e-9);
  assert_true(gpu_sum(t, s, SIZE_MAX, now) <= lim * (1 + 1e-12));
  /* the conductors keep their device's limits (a generator is rated in kW) */
  bt_near(hr_lease_sys_budget(s, site)->phase_w[0],
          (0.9 * 0.8 * 400 * 415 * 1.7320508075688772) / 3.0 - 800.0 / 3.0, 1e-6);
  double g = 0.0;
  for (int r = 0; r < 5; r++) {
    now += 100 * MS;
    rebalance_all(t, s, 700.0, now);
    g = hr_lease_sys_cap_w(s, s1, now) + hr_lease_sys_cap_w(s, s2, now);
    assert_true(g <= lim * (1 + 1e-12));
    assert_true(g > lim - 1000.0); /* within a token of the server tier of it */
  }
  print_message("supply 4 kW at eff 0.9 with 800 W of base: the servers hold %.1f W of %.1f W\n", g,
                lim);
  /* the safe share follows the supply too */
  double safe = 0.0;
  assert_int_equal(hr_lease_sys_safe_share(s, site, &safe, NULL), HR_OK);
  assert_true(safe <= lim * (1 + 1e-12));
  /* a rating above the device's changes nothing */
  now += MS;
  assert_int_equal(hr_lease_sys_set_supply(s, site, 1e9, now), HR_OK);
  bt_near(hr_lease_sys_budget(s, site)->limit_w, lim0, 1e-6);
  /* cleared: the grants grow back */
  assert_int_equal(hr_lease_sys_set_supply(s, site, INFINITY, now), HR_OK);
  is_inf(hr_lease_sys_supply_w(s, site));
  bt_near(hr_lease_sys_budget(s, site)->limit_w, lim0, 1e-6);
  for (int r = 0; r < 40; r++) {
    now += 100 * MS;
    rebalance_all(t, s, 700.0, now);
  }
  bt_near(gpu_sum(t, s, SIZE_MAX, now), 8 * 510.0, 1e-6);
  hr_lease_sys_destroy(s);
  hr_tree_destroy(t);
}

/* Under a binding supply the grants follow the lease policy (strict
 * priority by default): the high-priority server's GPUs get what they get
 * without the supply (510 W each: 0.8 x 700 W in 100-W tokens above the
 * 210-W floors), the other's stay at their floors (servers take 1-kW
 * tokens); without priorities the two share alike.  The
 * envelope alone would have cut both in proportion. */
static void test_supply_priority(void **st)
{
  (void)st;
  hr_tree_t *t = bt_tree(TREE1, sizeof TREE1 - 1, "supply.yaml");
  const size_t site = bt_idx(t, "site"), s1 = bt_idx(t, "s1"), s2 = bt_idx(t, "s2");
  for (int prio = 0; prio < 2; prio++) {
    hr_lease_sys_t *s = sys_new(t, 1.0);
    if (prio)
      for (size_t k = 0; k < hr_tree_count(t); k++)
        if (k == s2 || (size_t)hr_tree_node(t, k)->parent == s2)
          assert_int_equal(hr_lease_sys_set_priority(s, k, 1), HR_OK);
    int64_t now = MS;
    assert_int_equal(hr_lease_sys_set_supply(s, site, 4000.0, now), HR_OK);
    for (int r = 0; r < 20; r++) {
      now += 100 * MS;
      rebalance_all(t, s, 700.0, now);
    }
    const double a = gpu_sum(t, s, s1, now), b = gpu_sum(t, s, s2, now);
    print_message("supply 4 kW, %s: server 1 %.1f W, server 2 %.1f W\n",
                  prio ? "server 2 first" : "no priorities", a, b);
    if (prio) {
      bt_near(b, 4 * 510.0, 1e-6);
      bt_near(a, 4 * 210.0, 1e-6);
    } else {
      bt_near(a, b, 1e-6); /* max-min fair within the priority class */
    }
    assert_true(hr_lease_sys_cap_w(s, s1, now) + hr_lease_sys_cap_w(s, s2, now) <= 4000.0);
    hr_lease_sys_destroy(s);
  }
  hr_tree_destroy(t);
}

/* The mode: a utility loss without a supply is degraded (no growth,
 * budgets x degraded_frac); with every root's supply it is left normal and
 * the leases grow within the rating; a supply cleared while the loss lasts
 * is degraded at once. */
static void test_supply_mode(void **st)
{
  (void)st;
  hr_tree_t *t = bt_tree(TREE1, sizeof TREE1 - 1, "supply.yaml");
  hr_lease_sys_t *s = sys_new(t, 1.0);
  const size_t site = bt_idx(t, "site");
  int64_t now = MS;
  rebalance_all(t, s, 300.0, now);
  const double g0 = gpu_sum(t, s, SIZE_MAX, now);
  assert_int_equal(hr_lease_sys_set_events(s, HR_EVENT_UTILITY_LOSS, now), HR_OK);
  assert_int_equal(hr_lease_sys_mode(s), HR_MODE_DEGRADED);
  for (int r = 0; r < 5; r++) {
    now += 100 * MS;
    rebalance_all(t, s, 700.0, now);
  }
  bt_near(gpu_sum(t, s, SIZE_MAX, now), g0, 1e-9); /* frozen */
  assert_int_equal(hr_lease_sys_set_events(s, 0, now), HR_OK);
  now += 11000 * MS;
  assert_int_equal(hr_lease_sys_set_events(s, 0, now), HR_OK);
  assert_int_equal(hr_lease_sys_mode(s), HR_MODE_NORMAL);
  rebalance_all(t, s, 300.0, now);

  /* the supply first, then the loss: normal, and growth within the rating */
  now += MS;
  assert_int_equal(hr_lease_sys_set_supply(s, site, 5000.0, now), HR_OK);
  assert_int_equal(hr_lease_sys_set_events(s, HR_EVENT_UTILITY_LOSS, now), HR_OK);
  assert_int_equal(hr_lease_sys_mode(s), HR_MODE_NORMAL);
  assert_true(hr_lease_sys_events(s) & HR_EVENT_UTILITY_LOSS);
  for (int r = 0; r < 20; r++) {
    now += 100 * MS;
    rebalance_all(t, s, 700.0, now);
    assert_true(gpu_sum(t, s, SIZE_MAX, now) <= 5000.0 * (1 + 1e-12));
  }
  print_message("told utility loss with a 5-kW supply: the GPUs' caps %.1f W -> %.1f W\n", g0,
                gpu_sum(t, s, SIZE_MAX, now));
  assert_true(gpu_sum(t, s, SIZE_MAX, now) > g0 + 1000.0);
  /* other events still mean degraded */
  assert_int_equal(hr_lease_sys_set_events(s, HR_EVENT_UTILITY_LOSS | HR_EVENT_TELEMETRY_LOSS, now),
                   HR_OK);
  assert_int_equal(hr_lease_sys_mode(s), HR_MODE_DEGRADED);
  now += 11000 * MS;
  assert_int_equal(hr_lease_sys_set_events(s, HR_EVENT_UTILITY_LOSS, now), HR_OK);
  now += 11000 * MS;
  assert_int_equal(hr_lease_sys_set_events(s, HR_EVENT_UTILITY_LOSS, now), HR_OK);
  assert_int_equal(hr_lease_sys_mode(s), HR_MODE_NORMAL);
  /* cleared while the utility is still lost: degraded at once, budgets cut */
  now += MS;
  assert_int_equal(hr_lease_sys_set_supply(s, site, INFINITY, now), HR_OK);
  assert_int_equal(hr_lease_sys_mode(s), HR_MODE_DEGRADED);
  hr_lease_cfg_t c;
  hr_lease_cfg_init(&c);
  bt_near(hr_lease_sys_avail_w(s, site, now),
          c.degraded_frac * hr_lease_sys_budget(s, site)->limit_w, 1e-6);

  /* the loss first, then the supply: degraded until stable_ns after the
   * events last changed */
  hr_lease_sys_destroy(s);
  s = sys_new(t, 1.0);
  now = MS;
  assert_int_equal(hr_lease_sys_set_events(s, HR_EVENT_UTILITY_LOSS, now), HR_OK);
  assert_int_equal(hr_lease_sys_mode(s), HR_MODE_DEGRADED);
  assert_int_equal(hr_lease_sys_set_supply(s, site, 5000.0, now + MS), HR_OK);
  assert_int_equal(hr_lease_sys_mode(s), HR_MODE_DEGRADED);
  assert_int_equal(hr_lease_sys_set_events(s, HR_EVENT_UTILITY_LOSS, now + 10001 * MS), HR_OK);
  assert_int_equal(hr_lease_sys_mode(s), HR_MODE_NORMAL);
  hr_lease_sys_destroy(s);
  hr_tree_destroy(t);
}

/* Two roots: the loss stays degraded until both hold a supply. */
static void test_supply_two_roots(void **st)
{
  (void)st;
  hr_tree_t *t = bt_tree(TREE2, sizeof TREE2 - 1, "supply.yaml");
  hr_lease_sys_t *s = sys_new(t, 1.0);
  const size_t a = bt_idx(t, "site"), b = bt_idx(t, "site-b");
  int64_t now = MS;
  assert_int_equal(hr_lease_sys_set_supply(s, a, 1000.0, now), HR_OK);
  assert_int_equal(hr_lease_sys_set_events(s, HR_EVENT_UTILITY_LOSS, now), HR_OK);
  assert_int_equal(hr_lease_sys_mode(s), HR_MODE_DEGRADED);
  assert_int_equal(hr_lease_sys_set_supply(s, b, 1000.0, now + 10001 * MS), HR_OK);
  assert_int_equal(hr_lease_sys_mode(s), HR_MODE_NORMAL);
  /* a dual-corded load counts in full on both sides: each side's rating
   * bounds all of it */
  for (int r = 0; r < 10; r++)
    rebalance_all(t, s, 700.0, now + (10002 + 100 * r) * MS);
  const int64_t t1 = now + 11000 * MS;
  assert_true(gpu_sum(t, s, SIZE_MAX, t1) <= 1000.0 * (1 + 1e-12));
  hr_lease_sys_destroy(s);
  hr_tree_destroy(t);
}

/* Refusals: bad arguments; a rating the floors (8 x 210 W) do not fit
 * under, which changes nothing (the loss then stays degraded). */
static void test_supply_refusals(void **st)
{
  (void)st;
  hr_tree_t *t = bt_tree(TREE1, sizeof TREE1 - 1, "supply.yaml");
  hr_lease_sys_t *s = sys_new(t, 1.0);
  const size_t site = bt_idx(t, "site"), s1 = bt_idx(t, "s1"), n = hr_tree_count(t);
  assert_int_equal(hr_lease_sys_set_supply(NULL, site, 1000.0, 0), HR_ERR_INVALID_ARG);
  assert_int_equal(hr_lease_sys_set_supply(s, n, 1000.0, 0), HR_ERR_INVALID_ARG);
  assert_int_equal(hr_lease_sys_set_supply(s, s1, 1000.0, 0), HR_ERR_INVALID_ARG);
  const double bads[] = {0.0, -1.0, NAN, -INFINITY};
  for (size_t j = 0; j < sizeof bads / sizeof *bads; j++)
    assert_int_equal(hr_lease_sys_set_supply(s, site, bads[j], 0), HR_ERR_INVALID_ARG);
  assert_true(isnan(hr_lease_sys_supply_w(s, n)));
  assert_true(isnan(hr_lease_sys_supply_w(NULL, site)));
  /* clearing what was never set */
  assert_int_equal(hr_lease_sys_set_supply(s, site, INFINITY, 0), HR_OK);
  const double lim = hr_lease_sys_budget(s, site)->limit_w;
  double floors = 0.0;
  for (size_t k = 0; k < n; k++)
    if (hr_tree_node(t, k)->n_children == 0)
      floors += hr_lease_sys_lease(s, k)->floor_w;
  bt_near(floors, 8 * 0.3 * 700.0, 1e-6);
  assert_int_equal(hr_lease_sys_set_supply(s, site, floors * 0.99, MS), HR_ERR_RANGE);
  bt_near(hr_lease_sys_budget(s, site)->limit_w, lim, 0.0);
  is_inf(hr_lease_sys_supply_w(s, site));
  assert_int_equal(hr_lease_sys_set_events(s, HR_EVENT_UTILITY_LOSS, MS), HR_OK);
  assert_int_equal(hr_lease_sys_mode(s), HR_MODE_DEGRADED);
  /* at the floors themselves: taken, in degraded mode too (the check is
   * the supply's own, not x degraded_frac) */
  assert_int_equal(hr_lease_sys_set_supply(s, site, floors, 2 * MS), HR_OK);
  bt_near(hr_lease_sys_budget(s, site)->limit_w, floors, 1e-9);
  /* a refusal keeps what was set before (the caller clears it) */
  assert_int_equal(hr_lease_sys_set_supply(s, site, floors * 0.5, 3 * MS), HR_ERR_RANGE);
  bt_near(hr_lease_sys_supply_w(s, site), floors, 0.0);
  hr_lease_sys_destroy(s);

  /* with eff and overheads: the floors against supply x eff - base */
  s = sys_new(t, 0.9);
  const size_t s2 = bt_idx(t, "s2");
  const size_t srv[2] = {s1, s2};
  const double base[2] = {300.0, 300.0};
  assert_int_equal(hr_lease_sys_set_overhead(s, srv, base, 2, 0), HR_OK);
  const double need = (floors + 600.0) / 0.9;
  assert_int_equal(hr_lease_sys_set_supply(s, site, need * 0.999, MS), HR_ERR_RANGE);
  assert_int_equal(hr_lease_sys_set_supply(s, site, need * 1.000001, MS), HR_OK);
  bt_near(hr_lease_sys_budget(s, site)->limit_w, floors, 0.01);
  hr_lease_sys_destroy(s);
  hr_tree_destroy(t);

  /* a dead root (its feed lost) is checked the same: its floors come back
   * with it */
  t = bt_tree(TREE2, sizeof TREE2 - 1, "supply.yaml");
  hr_lease_cfg_t c;
  assert_int_equal(hr_lease_cfg_init(&c), HR_OK);
  c.feed_loss_budgets = 1;
  s = NULL;
  assert_int_equal(hr_lease_sys_create(t, &c, &s, NULL), HR_OK);
  const size_t b = bt_idx(t, "site-b");
  assert_int_equal(hr_lease_sys_set_feed_lost(s, HR_FEED_B, MS), HR_OK);
  assert_int_equal(hr_lease_sys_set_supply(s, b, 2 * 0.3 * 700.0 * 0.99, 2 * MS), HR_ERR_RANGE);
  assert_int_equal(hr_lease_sys_set_supply(s, b, 2 * 0.3 * 700.0 * 1.01, 2 * MS), HR_OK);
  hr_lease_sys_destroy(s);
  hr_tree_destroy(t);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_supply_limit), cmocka_unit_test(test_supply_priority),
      cmocka_unit_test(test_supply_mode), cmocka_unit_test(test_supply_two_roots),
      cmocka_unit_test(test_supply_refusals)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
