/* The continuous limit on the mean power (hr_budget_cfg_t.cont_window_s)
 * against its closed form: after a constant power P for N steps of dt the
 * exponential mean is m = P (1 - e^(-N dt / tau)), and the node may draw
 * m + (cont - m) / (1 - e^(-w / tau)) for the next burst window w. */
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

static const char TREE[] =
    "version: 1\n"
    "nodes:\n"
    "  - {id: site, kind: utility, parent: null, voltage_v: 415, phases: 3, rating_a: 400}\n"
    "  - {id: rack, kind: rack, parent: site,\n"
    "     device: {type: trip_unit, curve: LI, in_a: 32, tr_s: 8, ii: 10}}\n"
    "  - {id: srv, kind: server, parent: rack}\n"
    "  - {id: g0, kind: gpu, parent: srv, rating_w: 700}\n";

static const double SQ3 = 1.7320508075688772;

static void run(double window_s, double p_w, int steps, double *cont_w, double *limit_w,
                double *burst_w)
{
  hr_tree_t *t = NULL;
  hr_diag_t e;
  assert_int_equal(hr_tree_load_buffer(TREE, sizeof TREE - 1, "t.yaml", &t, &e), HR_OK);
  hr_lease_cfg_t c;
  assert_int_equal(hr_lease_cfg_init(&c), HR_OK);
  c.budget.cont_window_s = window_s;
  hr_lease_sys_t *s = NULL;
  assert_int_equal(hr_lease_sys_create(t, &c, &s, NULL), HR_OK);
  size_t rack;
  assert_int_equal(hr_tree_find(t, "rack", &rack), HR_OK);
  double i_a = p_w / (SQ3 * 415.0);
  for (int k = 0; k < steps; k++)
    assert_int_equal(hr_lease_sys_observe(s, rack, i_a, 1.0), HR_OK);
  assert_int_equal(hr_lease_sys_update_budgets(s, (int64_t)steps * 1000000000), HR_OK);
  const hr_budget_t *b = hr_lease_sys_budget(s, rack);
  *cont_w = b->cont_w;
  *limit_w = b->limit_w;
  *burst_w = b->burst_w;
  hr_lease_sys_destroy(s);
  hr_tree_destroy(t);
}

static void test_closed_form(void **st)
{
  (void)st;
  const double cont = 0.8 * 32.0 * 415.0 * SQ3; /* 18.40 kW */
  const double tau = 100.0, w = 10.0, f = 1.0 - exp(-w / tau);
  double c, l, b;
  /* 10 kW for 300 s: the mean is 10 kW x (1 - e^-3). */
  run(tau, 10000.0, 300, &c, &l, &b);
  double m = 10000.0 * (1.0 - exp(-300.0 / tau));
  double want = m + (cont - m) / f;
  assert_true(fabs(c - want) < 1e-9 * want);
  assert_true(l <= c && l <= b); /* the thermal burst still bounds it */
  assert_true(l > cont);         /* a burst above the instantaneous 80 % */
  /* 25 kW for 2000 s: the mean is above the limit, so the node must draw
   * less than the limit to bring it down (here: nothing at all). */
  run(tau, 25000.0, 2000, &c, &l, &b);
  m = 25000.0 * (1.0 - exp(-2000.0 / tau));
  want = m + (cont - m) / f;
  assert_true(want < 0.0);
  assert_true(c == 0.0 && l == 0.0);
  /* A mean just below the limit: a little above it for the next window. */
  run(tau, 0.99 * cont, 3000, &c, &l, &b);
  m = 0.99 * cont * (1.0 - exp(-3000.0 / tau));
  want = m + (cont - m) / f;
  assert_true(fabs(c - want) < 1e-9 * want);
  assert_true(c > cont && c < 1.2 * cont);
}

/* Off by default: the continuous limit bounds every instant. */
static void test_default_instantaneous(void **st)
{
  (void)st;
  const double cont = 0.8 * 32.0 * 415.0 * SQ3;
  double c, l, b;
  run(0.0, 10000.0, 300, &c, &l, &b);
  assert_true(fabs(c - cont) < 1e-9 * cont);
  assert_true(l <= cont * (1 + 1e-12));
  /* Out of range is refused. */
  hr_lease_cfg_t cfg;
  hr_lease_cfg_init(&cfg);
  cfg.budget.cont_window_s = -1.0;
  hr_tree_t *t = NULL;
  hr_diag_t e;
  assert_int_equal(hr_tree_load_buffer(TREE, sizeof TREE - 1, "t.yaml", &t, &e), HR_OK);
  hr_lease_sys_t *s = NULL;
  assert_int_equal(hr_lease_sys_create(t, &cfg, &s, NULL), HR_ERR_RANGE);
  hr_tree_destroy(t);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_closed_form),
      cmocka_unit_test(test_default_instantaneous),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
