/* Supply losses and base loads in the lease budgets (hr_budget_cfg_t.eff,
 * hr_lease_sys_set_overhead; docs/lease.md, "Supply losses and base load"),
 * against the arithmetic written out: a node's limits are its conductors'
 * x eff less the overheads at and below it, in total and per conductor, and
 * what a rebalance grants stays within them. */
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

/* A 415-V rack of 63 A (continuous 0.8 x 63 x 415 x sqrt 3 = 36.23 kW, a
 * third on each conductor), feeding a single-phase server on phase A and a
 * three-phase server, four 700-W GPUs each; a dual-corded server under two
 * PDUs, one on each feed. */
static const char TREE[] =
    "version: 1\n"
    "redundancy: 2n\n"
    "nodes:\n"
    "  - {id: site, kind: utility, parent: null, feed: a, voltage_v: 415, phases: 3,\n"
    "     rating_a: 400}\n"
    "  - {id: site-b, kind: utility, parent: null, feed: b, voltage_v: 415, phases: 3,\n"
    "     rating_a: 400}\n"
    "  - {id: rack, kind: rack, parent: site, rating_a: 63}\n"
    "  - {id: s1, kind: server, parent: rack, phases: 1, phase: a}\n"
    "  - {id: s1g0, kind: gpu, parent: s1, rating_w: 700}\n"
    "  - {id: s1g1, kind: gpu, parent: s1, rating_w: 700}\n"
    "  - {id: s1g2, kind: gpu, parent: s1, rating_w: 700}\n"
    "  - {id: s1g3, kind: gpu, parent: s1, rating_w: 700}\n"
    "  - {id: s3, kind: server, parent: rack}\n"
    "  - {id: s3g0, kind: gpu, parent: s3, rating_w: 700}\n"
    "  - {id: s3g1, kind: gpu, parent: s3, rating_w: 700}\n"
    "  - {id: s3g2, kind: gpu, parent: s3, rating_w: 700}\n"
    "  - {id: s3g3, kind: gpu, parent: s3, rating_w: 700}\n"
    "  - {id: pa, kind: pdu, parent: site, rating_a: 32}\n"
    "  - {id: pb, kind: pdu, parent: site-b, rating_a: 32}\n"
    "  - {id: d, kind: server, parent: pa, parent_b: pb}\n"
    "  - {id: dg0, kind: gpu, parent: d, rating_w: 700}\n"
    "  - {id: dg1, kind: gpu, parent: d, rating_w: 700}\n";

#define SQRT3 1.7320508075688772

static hr_tree_t *tree_new(void)
{
  return bt_tree(TREE, sizeof TREE - 1, "overhead.yaml");
}

static hr_lease_sys_t *sys_new(const hr_tree_t *t, double eff)
{
  hr_lease_cfg_t c;
  assert_int_equal(hr_lease_cfg_init(&c), HR_OK);
  c.budget.eff = eff;
  c.expiry_fallback = HR_EXPIRY_SAFE_SHARE;
  hr_lease_sys_t *s = NULL;
  assert_int_equal(hr_lease_sys_create(t, &c, &s, NULL), HR_OK);
  return s;
}

/* eff alone scales every limit of a node with children; a GPU's own
 * rating is untouched. */
static void test_eff(void **st)
{
  (void)st;
  hr_tree_t *t = tree_new();
  hr_lease_sys_t *s1 = sys_new(t, 1.0), *s9 = sys_new(t, 0.9);
  const size_t rack = bt_idx(t, "rack"), g = bt_idx(t, "s1g0");
  const double cont = 0.8 * 63 * 415 * SQRT3;
  bt_near(hr_lease_sys_budget(s1, rack)->cont_w, cont, 1e-6);
  bt_near(hr_lease_sys_budget(s9, rack)->cont_w, 0.9 * cont, 1e-6);
  bt_near(hr_lease_sys_budget(s9, rack)->limit_w, 0.9 * hr_lease_sys_budget(s1, rack)->limit_w,
          1e-6);
  for (int q = 0; q < 3; q++)
    bt_near(hr_lease_sys_budget(s9, rack)->phase_w[q], 0.9 * cont / 3.0, 1e-6);
  bt_near(hr_lease_sys_budget(s9, g)->limit_w, hr_lease_sys_budget(s1, g)->limit_w, 0.0);
  /* out of range: refused at creation */
  hr_lease_cfg_t c;
  hr_lease_cfg_init(&c);
  hr_lease_sys_t *bad = NULL;
  const double effs[] = {0.0, -0.1, 1.0000001, NAN};
  for (size_t j = 0; j < sizeof effs / sizeof *effs; j++) {
    c.budget.eff = effs[j];
    assert_int_equal(hr_lease_sys_create(t, &c, &bad, NULL), HR_ERR_RANGE);
    assert_null(bad);
  }
  /* the marginal efficiency for the ramps: 0 (eff) or up to 1 */
  const double ramps[] = {-0.1, 1.0000001, NAN};
  c.budget.eff = 0.9;
  for (size_t j = 0; j < sizeof ramps / sizeof *ramps; j++) {
    c.budget.eff_ramp = ramps[j];
    assert_int_equal(hr_lease_sys_create(t, &c, &bad, NULL), HR_ERR_RANGE);
    assert_null(bad);
  }
  c.budget.eff_ramp = 0.7;
  assert_int_equal(hr_lease_sys_create(t, &c, &bad, NULL), HR_OK);
  hr_lease_sys_destroy(bad);
  /* the base's rise per watt: 0..100 */
  const double rhos[] = {-0.1, 1.1e6, NAN};
  for (size_t j = 0; j < sizeof rhos / sizeof *rhos; j++) {
    c.budget.base_per_w = rhos[j];
    bad = NULL;
    assert_int_equal(hr_lease_sys_create(t, &c, &bad, NULL), HR_ERR_RANGE);
    assert_null(bad);
  }
  hr_lease_sys_destroy(s1);
  hr_lease_sys_destroy(s9);
  hr_tree_destroy(t);
}

/* Overheads: the sums, the limits in total and per conductor, the safe
 * shares, and a rebalance under full demand within them. */
static void test_overhead_limits(void **st)
{
  (void)st;
  hr_tree_t *t = tree_new();
  const double eff = 0.92, b1 = 1500.0, b3 = 2400.0, bd = 900.0;
  hr_lease_sys_t *ref = sys_new(t, eff), *s = sys_new(t, eff);
  const size_t rack = bt_idx(t, "rack"), site = bt_idx(t, "site"), pa = bt_idx(t, "pa"),
               pb = bt_idx(t, "pb");
  const size_t nodes[3] = {bt_idx(t, "s1"), bt_idx(t, "s3"), bt_idx(t, "d")};
  const double base[3] = {b1, b3, bd};
  assert_int_equal(hr_lease_sys_set_overhead(s, nodes, base, 3, 0), HR_OK);
  bt_near(hr_lease_sys_overhead_w(s, rack), b1 + b3, 0.0);
  bt_near(hr_lease_sys_overhead_w(s, nodes[0]), b1, 0.0);
  /* a dual-corded server's in full on each side */
  bt_near(hr_lease_sys_overhead_w(s, pa), bd, 0.0);
  bt_near(hr_lease_sys_overhead_w(s, pb), bd, 0.0);
  bt_near(hr_lease_sys_overhead_w(s, site), b1 + b3 + bd, 0.0);
  bt_near(hr_lease_sys_overhead_w(s, bt_idx(t, "site-b")), bd, 0.0);
  bt_near(hr_lease_sys_overhead_w(ref, rack), 0.0, 0.0);
  const hr_budget_t *r0 = hr_lease_sys_budget(ref, rack), *r = hr_lease_sys_budget(s, rack);
  bt_near(r->limit_w, r0->limit_w - (b1 + b3), 1e-6);
  bt_near(r->cont_w, r0->cont_w - (b1 + b3), 1e-6);
  /* per conductor: the phase-A server's on A, the three-phase one's a third each */
  bt_near(r->phase_w[0], r0->phase_w[0] - b1 - b3 / 3.0, 1e-6);
  bt_near(r->phase_w[1], r0->phase_w[1] - b3 / 3.0, 1e-6);
  bt_near(r->phase_w[2], r0->phase_w[2] - b3 / 3.0, 1e-6);
  /* a PDU feeding the dual-corded server alone */
  const hr_budget_t *p0 = hr_lease_sys_budget(ref, pa), *p = hr_lease_sys_budget(s, pa);
  bt_near(p->limit_w, p0->limit_w - bd, 1e-6);
  bt_near(p->phase_w[0], p0->phase_w[0] - bd / 3.0, 1e-6); /* three-phase, as d is */
  /* the static safe share falls with the limit */
  double sh0 = 0, sh = 0;
  assert_int_equal(hr_lease_sys_safe_share(ref, rack, &sh0, NULL), HR_OK);
  assert_int_equal(hr_lease_sys_safe_share(s, rack, &sh, NULL), HR_OK);
  bt_near(sh, sh0 - (b1 + b3), 1e-6);

  /* Full demand: every GPU asks 700 W; the rack has room for all 8. */
  size_t nn = hr_tree_count(t);
  double *dem = calloc(nn, sizeof *dem);
  assert_non_null(dem);
  for (size_t k = 0; k < nn; k++)
    dem[k] = hr_tree_node(t, k)->n_children ? 0.0 : 700.0;
  assert_int_equal(hr_lease_sys_rebalance(s, dem, 1000000), HR_OK);
  double sum = 0.0, ph[3] = {0, 0, 0};
  for (size_t k = 0; k < nn; k++) {
    const hr_tree_node_t *x = hr_tree_node(t, k);
    if (x->n_children || (x->parent != (int32_t)nodes[0] && x->parent != (int32_t)nodes[1]))
      continue;
    double cap = hr_lease_sys_cap_w(s, k, 1000000);
    sum += cap;
    if (x->parent == (int32_t)nodes[0])
      ph[0] += cap;
    else
      for (int q = 0; q < 3; q++)
        ph[q] += cap / 3.0;
  }
  /* (the servers' grants in whole 1-kW tokens above their floors) */
  assert_true(sum > 0.0);
  assert_true(sum <= r->limit_w);
  for (int q = 0; q < 3; q++)
    assert_true(ph[q] <= r->phase_w[q] + 1e-6);
  free(dem);
  hr_lease_sys_destroy(ref);
  hr_lease_sys_destroy(s);
  hr_tree_destroy(t);
}

/* The physics the limits stand for: at full grant the rack's conductors
 * carry (GPUs + base) / eff, which must stay within eff's view of the rating
 * on every conductor; and a base that leaves the floors no room is refused
 * with nothing changed. */
static void test_overhead_binds_and_refusals(void **st)
{
  (void)st;
  static const char small[] =
      "version: 1\n"
      "nodes:\n"
      "  - {id: rack, kind: rack, parent: null, voltage_v: 415, phases: 3, rating_a: 12}\n"
      "  - {id: s, kind: server, parent: rack}\n"
      "  - {id: g0, kind: gpu, parent: s, rating_w: 875}\n"
      "  - {id: g1, kind: gpu, parent: s, rating_w: 875}\n"
      "  - {id: g2, kind: gpu, parent: s, rating_w: 875}\n"
      "  - {id: g3, kind: gpu, parent: s, rating_w: 875}\n"
      "  - {id: g4, kind: gpu, parent: s, rating_w: 875}\n"
      "  - {id: g5, kind: gpu, parent: s, rating_w: 875}\n"
      "  - {id: g6, kind: gpu, parent: s, rating_w: 875}\n"
      "  - {id: g7, kind: gpu, parent: s, rating_w: 875}\n";
  hr_tree_t *t = NULL;
  hr_diag_t e;
  assert_int_equal(hr_tree_load_buffer(small, sizeof small - 1, "small.yaml", &t, &e), HR_OK);
  const double eff = 0.9, base = 2000.0;
  hr_lease_sys_t *s = sys_new(t, eff);
  const size_t srv = bt_idx(t, "s"), rack = bt_idx(t, "rack"), g0 = bt_idx(t, "g0");
  /* a first call refused leaves no overhead behind */
  const double too_much = 5000.0, lim0 = hr_lease_sys_budget(s, rack)->limit_w;
  assert_int_equal(hr_lease_sys_set_overhead(s, &srv, &too_much, 1, 0), HR_ERR_RANGE);
  bt_near(hr_lease_sys_budget(s, rack)->limit_w, lim0, 0.0);
  bt_near(hr_lease_sys_overhead_w(s, rack), 0.0, 0.0);
  assert_int_equal(hr_lease_sys_set_overhead(s, &srv, &base, 1, 0), HR_OK);
  size_t nn = hr_tree_count(t);
  double dem[16];
  for (size_t k = 0; k < nn; k++)
    dem[k] = hr_tree_node(t, k)->n_children ? 0.0 : 700.0;
  int64_t now = 1000000;
  assert_int_equal(hr_lease_sys_rebalance(s, dem, now), HR_OK);
  double gpus = 0.0;
  for (size_t k = 0; k < nn; k++)
    if (!hr_tree_node(t, k)->n_children)
      gpus += hr_lease_sys_cap_w(s, k, now);
  /* the conductors' load at full grant, (GPUs + base) / eff, against the
   * rack's continuous rating 0.8 x 12 A x 415 V x sqrt 3 (a root: no token
   * of its own; GPUs rated 875 W, 700 W continuous) */
  const double cont = 0.8 * 12 * 415 * SQRT3;
  assert_true(gpus < 8 * 700.0); /* the rating binds */
  assert_true((gpus + base) / eff <= cont * (1 + 1e-9));
  /* within one token of the server's tier (1 kW) of it */
  assert_true((gpus + base) / eff > cont - 1000.0 / eff - 1e-6);

  /* refusals: a leaf, a negative, NAN or infinite base; a base that
   * leaves the floors (8 x 262.5 W) no room: HR_ERR_RANGE, nothing changed */
  const double lim = hr_lease_sys_budget(s, rack)->limit_w;
  const double bads[] = {-1.0, NAN, INFINITY};
  for (size_t j = 0; j < 3; j++)
    assert_int_equal(hr_lease_sys_set_overhead(s, &srv, &bads[j], 1, now), HR_ERR_INVALID_ARG);
  assert_int_equal(hr_lease_sys_set_overhead(s, &g0, &base, 1, now), HR_ERR_INVALID_ARG);
  const size_t out_of_range = nn;
  assert_int_equal(hr_lease_sys_set_overhead(s, &out_of_range, &base, 1, now), HR_ERR_INVALID_ARG);
  const double huge = 5000.0;
  assert_int_equal(hr_lease_sys_set_overhead(s, &srv, &huge, 1, now), HR_ERR_RANGE);
  bt_near(hr_lease_sys_budget(s, rack)->limit_w, lim, 0.0);
  bt_near(hr_lease_sys_overhead_w(s, rack), base, 0.0);
  /* and a base set back to 0 gives the limits back */
  const double zero = 0.0;
  assert_int_equal(hr_lease_sys_set_overhead(s, &srv, &zero, 1, now), HR_OK);
  bt_near(hr_lease_sys_budget(s, rack)->limit_w, lim + base, 1e-6);
  assert_true(isnan(hr_lease_sys_overhead_w(s, nn)));
  assert_true(isnan(hr_lease_sys_overhead_w(NULL, 0)));
  hr_lease_sys_destroy(s);
  hr_tree_destroy(t);
}

/* The per-conductor limits bind: a 25-A root rack (no token of its own)
 * over a phase-A server and a three-phase server, GPUs rated 875 W (700 W
 * continuous) all asking 700 W, bases 1.5 and 2.4 kW at eff 0.92.
 * Conductor A may carry 0.8 x 25 A x 240 V = 4.79 kW: its GPUs at most
 * 0.92 x 4.79 - 1.5 - 0.8 = 2.11 kW, where they ask 2.8 + 0.93 kW. */
static void test_overhead_conductor_binds(void **st)
{
  (void)st;
  static const char tt[] =
      "version: 1\n"
      "nodes:\n"
      "  - {id: rack, kind: rack, parent: null, voltage_v: 415, phases: 3, rating_a: 25}\n"
      "  - {id: s1, kind: server, parent: rack, phases: 1, phase: a}\n"
      "  - {id: a0, kind: gpu, parent: s1, rating_w: 875}\n"
      "  - {id: a1, kind: gpu, parent: s1, rating_w: 875}\n"
      "  - {id: a2, kind: gpu, parent: s1, rating_w: 875}\n"
      "  - {id: a3, kind: gpu, parent: s1, rating_w: 875}\n"
      "  - {id: s3, kind: server, parent: rack}\n"
      "  - {id: t0, kind: gpu, parent: s3, rating_w: 875}\n"
      "  - {id: t1, kind: gpu, parent: s3, rating_w: 875}\n"
      "  - {id: t2, kind: gpu, parent: s3, rating_w: 875}\n"
      "  - {id: t3, kind: gpu, parent: s3, rating_w: 875}\n";
  hr_tree_t *t = NULL;
  hr_diag_t e;
  assert_int_equal(hr_tree_load_buffer(tt, sizeof tt - 1, "c.yaml", &t, &e), HR_OK);
  const double eff = 0.92, b1 = 1500.0, b3 = 2400.0;
  hr_lease_sys_t *s = sys_new(t, eff);
  const size_t nodes[2] = {bt_idx(t, "s1"), bt_idx(t, "s3")};
  const double base[2] = {b1, b3};
  assert_int_equal(hr_lease_sys_set_overhead(s, nodes, base, 2, 0), HR_OK);
  const size_t nn = hr_tree_count(t);
  double dem[16];
  for (size_t k = 0; k < nn; k++)
    dem[k] = hr_tree_node(t, k)->n_children ? 0.0 : 700.0;
  const int64_t now = 1000000;
  assert_int_equal(hr_lease_sys_rebalance(s, dem, now), HR_OK);
  double ph[3] = {0.0, 0.0, 0.0};
  for (size_t k = 0; k < nn; k++) {
    const hr_tree_node_t *x = hr_tree_node(t, k);
    if (x->n_children)
      continue;
    double cap = hr_lease_sys_cap_w(s, k, now);
    if (x->parent == (int32_t)nodes[0])
      ph[0] += cap;
    else
      for (int q = 0; q < 3; q++)
        ph[q] += cap / 3.0;
  }
  const double cont_q = 0.8 * 25 * 415 / SQRT3; /* one conductor's continuous limit */
  const double room_a = eff * cont_q - b1 - b3 / 3.0;
  print_message("conductor A: GPUs %.1f W (room %.1f W), with the bases through the supplies "
                "%.1f W of %.1f W\n",
                ph[0], room_a, (ph[0] + b1 + b3 / 3.0) / eff, cont_q);
  bt_near(hr_lease_sys_budget(s, bt_idx(t, "rack"))->phase_w[0], room_a, 1e-6);
  assert_true(ph[0] < 2800.0 + 2800.0 / 3.0); /* it binds */
  assert_true(ph[0] <= room_a + 1e-6);
  /* the conductor's load, (GPUs + bases) / eff, within its limit, and
   * within a server's token (1 kW) of it */
  assert_true((ph[0] + b1 + b3 / 3.0) / eff <= cont_q * (1 + 1e-9));
  assert_true(ph[0] > room_a - 1000.0);
  hr_lease_sys_destroy(s);
  hr_tree_destroy(t);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_eff),
      cmocka_unit_test(test_overhead_limits),
      cmocka_unit_test(test_overhead_binds_and_refusals),
      cmocka_unit_test(test_overhead_conductor_binds),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
