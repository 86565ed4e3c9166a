/* A tripped protective device carries nothing, like a lost feed: its node
 * and what hangs below it only through it are dead (limit 0, floors not
 * owed, leases revoked) until it is reclosed.  Before, a trip dropped the
 * device's limit to 0 while the floors below it were still owed, so the next
 * rebalance's post-condition clamped (fuzz/reproducers/lease-rebalance-clamp;
 * the minimal case below: 2 clamps of the rack's 30 kW floor).  Each case
 * runs the fast rebalance and the reference form side by side, and they must
 * agree bit for bit. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pairtest.h"

#include "headroom/lease.h"
#include "lease/lease_int.h"

#define MS 1000000LL
#define SEC 1000000000LL

/* A 600 V LSI root breaker (400 A: 416 kVA) over one 100 kW rack (a leaf:
 * its floor is 30 % of its rating, 30 kW), and a sibling rack behind a
 * breaker of its own. */
static const char *TREE =
    "version: 1\nname: trip\nnodes:\n"
    "  - {id: root, kind: switchgear, parent: null, voltage_v: 600, phases: 3,\n"
    "     device: {type: trip_unit, curve: LSI, in_a: 400, tr_s: 8, isd: 6, tsd_s: 0.2, ii: 12}}\n"
    "  - {id: rack, kind: rack, parent: root, rating_kw: 100}\n";

static const char *TREE2 =
    "version: 1\nname: trip2\nnodes:\n"
    "  - {id: root, kind: switchgear, parent: null, voltage_v: 600, phases: 3,\n"
    "     device: {type: trip_unit, curve: LSI, in_a: 400, tr_s: 8, isd: 6, tsd_s: 0.2, ii: 12}}\n"
    "  - {id: ra, kind: rack, parent: root, rating_kw: 100,\n"
    "     device: {type: trip_unit, curve: LSI, in_a: 160, tr_s: 8, isd: 6, tsd_s: 0.2, ii: 12}}\n"
    "  - {id: sa, kind: server, parent: ra, rating_kw: 20}\n"
    "  - {id: sb, kind: server, parent: ra, rating_kw: 20}\n"
    "  - {id: rb, kind: rack, parent: root, rating_kw: 100}\n";

static void observe(fx_t *f, size_t k, double i_a, double dt_s, int64_t t)
{
  for (int j = 0; j < 2; j++) {
    assert_int_equal(hr_lease_sys_observe(f->s[j], k, i_a, dt_s), HR_OK);
    assert_int_equal(hr_lease_sys_update_budgets(f->s[j], t), HR_OK);
  }
}

static void reclose(fx_t *f, size_t k, int64_t t)
{
  for (int j = 0; j < 2; j++)
    assert_int_equal(hr_lease_sys_reclose(f->s[j], k, t), HR_OK);
}

static int tripped(const fx_t *f, size_t k)
{
  hr_device_status_t st;
  assert_int_equal(hr_lease_sys_device_status(f->s[0], k, &st), HR_OK);
  return st.tripped;
}

/* The table's minimal case: the root breaker trips under 100 kA for 1 s. */
static void test_root_trip(void **st)
{
  (void)st;
  fx_t f;
  open_fx(&f, TREE, "trip.yaml");
  size_t root = node(&f, "root"), rack = node(&f, "rack");
  int64_t t = SEC;
  for (int i = 0; i < 50; i++)
    rebalance(&f, t += 100 * MS);
  double before = hr_lease_sys_cap_w(f.s[0], rack, t);
  assert_true(before > 30000.0); /* well above its floor */

  observe(&f, root, 100000.0, 1.0, t += 100 * MS);
  assert_true(tripped(&f, root));
  for (int j = 0; j < 2; j++) {
    assert_true(hr_lease_sys_budget(f.s[j], root)->limit_w == 0.0);
    assert_true(hr_lease_sys_budget(f.s[j], rack)->limit_w == 0.0);
    /* The rack's lease is revoked: it ends now, and the rack holds nothing. */
    assert_true(hr_lease_sys_lease(f.s[j], rack)->expiry_ns <= t);
    assert_true(hr_lease_sys_cap_w(f.s[j], rack, t) == 0.0);
  }
  rebalance(&f, t += 10 * MS);
  rebalance(&f, t += 100 * MS);
  for (int j = 0; j < 2; j++) {
    assert_true(hr_lease_sys_cap_w(f.s[j], rack, t) == 0.0);
    assert_int_equal(hr_lease_sys_request(f.s[j], rack, 50000.0, t, NULL), HR_ERR_STATE);
  }
  /* Budgets applied again leave the revoked lease as it is. */
  observe(&f, root, 0.0, 1.0, t += 100 * MS);
  rebalance(&f, t += 10 * MS);

  /* Reclosed, the rack gets power again: its floor at once, then more. */
  reclose(&f, root, t += 100 * MS);
  assert_false(tripped(&f, root));
  for (int j = 0; j < 2; j++) {
    assert_true(hr_lease_sys_budget(f.s[j], rack)->limit_w > 30000.0);
    assert_true(hr_lease_sys_cap_w(f.s[j], rack, t) >= 30000.0);
  }
  for (int i = 0; i < 200; i++)
    rebalance(&f, t += 100 * MS);
  assert_true(hr_lease_sys_cap_w(f.s[0], rack, t) > 30000.0);
  assert_true(hr_lease_sys_cap_w(f.s[0], rack, t) >= 0.99 * before);
  close_fx(&f);
}

/* A rack breaker trips: its rack and servers are dead, its sibling keeps
 * its power and may take the room; the root's floor still fits. */
static void test_branch_trip(void **st)
{
  (void)st;
  fx_t f;
  open_fx(&f, TREE2, "trip.yaml");
  size_t ra = node(&f, "ra"), rb = node(&f, "rb"), sa = node(&f, "sa"), sb = node(&f, "sb");
  int64_t t = SEC;
  for (int i = 0; i < 50; i++)
    rebalance(&f, t += 100 * MS);
  double rb_before = hr_lease_sys_cap_w(f.s[0], rb, t);
  assert_true(hr_lease_sys_cap_w(f.s[0], sa, t) > 0.0);

  observe(&f, ra, 50000.0, 1.0, t += 100 * MS);
  assert_true(tripped(&f, ra));
  for (int i = 0; i < 50; i++)
    rebalance(&f, t += 100 * MS);
  for (int j = 0; j < 2; j++) {
    assert_true(hr_lease_sys_cap_w(f.s[j], ra, t) == 0.0);
    assert_true(hr_lease_sys_cap_w(f.s[j], sa, t) == 0.0);
    assert_true(hr_lease_sys_cap_w(f.s[j], sb, t) == 0.0);
    assert_true(hr_lease_sys_budget(f.s[j], sa)->limit_w == 0.0);
    assert_true(hr_lease_sys_cap_w(f.s[j], rb, t) >= rb_before);
    assert_int_equal(hr_lease_sys_mode(f.s[j]), HR_MODE_NORMAL);
  }

  reclose(&f, ra, t += 100 * MS);
  for (int i = 0; i < 100; i++)
    rebalance(&f, t += 100 * MS);
  for (int j = 0; j < 2; j++) {
    assert_true(hr_lease_sys_cap_w(f.s[j], sa, t) > 0.0);
    assert_true(hr_lease_sys_cap_w(f.s[j], ra, t) > 0.0);
  }
  close_fx(&f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_root_trip),
      cmocka_unit_test(test_branch_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
