/* plan: a replica's arrivals and lengths drawn in blocks with vectorised
 * polynomials (hr__plan_workload_draw, issue 17's facility day) against
 * hr_plan_workload_generate, which draws the same streams with libm; the
 * polynomial exp and cos against libm; and the facility run with the new
 * draws and fused server sums against its baseline path. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "headroom/plan.h"
#include "plan/plan_int.h"
#include "plan/plan_model_int.h"
#include "plan/plan_vmath.h"
#include "plantest.h"

static void test_exp_matches_libm(void **state)
{
  (void)state;
  hr_plan_rng_t r;
  hr_plan_rng_seed(&r, 5);
  double emax = 0.0;
  for (int i = 0; i < 2000000; i++) {
    /* the whole clamped range, then the lengths' range (log 1..32768 and
     * beyond), then the grid of k ln 2 +- a little where k changes */
    double y = i < 500000    ? -700.0 + 1400.0 * hr_plan_rng_uniform(&r)
               : i < 1500000 ? -5.0 + 25.0 * hr_plan_rng_uniform(&r)
                             : (double)(i % 2000 - 1000) * M_LN2 * 0.5 +
                                   1e-9 * (hr_plan_rng_uniform(&r) - 0.5);
    if (y > 700.0 || y < -700.0)
      continue;
    double a = vm_exp(y), b = exp(y);
    emax = fmax(emax, fabs(a - b) / b);
  }
  /* a few ulps (2^-52 = 2.2e-16); measured 2.2e-16 (4 million draws) */
  assert_true(emax < 1e-15);
  assert_true(vm_exp(0.0) == 1.0);
}

static void test_cos_turns_matches_libm(void **state)
{
  (void)state;
  hr_plan_rng_t r;
  hr_plan_rng_seed(&r, 6);
  double emax = 0.0;
  for (int i = 0; i < 2000000; i++) {
    double x = i % 2 ? 2.0 * hr_plan_rng_uniform(&r) - 1.0
                     : 2e6 * (hr_plan_rng_uniform(&r) - 0.5); /* turns */
    /* libm on the exactly reduced turn (|x - n| <= 1/2, so 2 pi (x - n)
     * rounds by at most an ulp of pi): the reference */
    double rr = x - nearbyint(x), b = cos(2.0 * M_PI * rr);
    emax = fmax(emax, fabs(vm_cos_turns(x) - b));
  }
  assert_true(emax < 2e-15); /* measured 3.3e-16 (4 million draws) */
  assert_true(vm_cos_turns(0.0) == 1.0);
  assert_true(fabs(vm_cos_turns(0.5) + 1.0) < 1e-16);
  assert_true(fabs(vm_cos_turns(-0.25)) < 1e-16);
}

/* hr__plan_workload_draw against hr_plan_workload_generate on cfg: the same
 * requests, times within rounding (a time is a sum of gaps, each within a
 * few ulps of libm's). */
static void compare(const hr_plan_gen_cfg_t *g, hr_plan_request_t **buf, size_t *cap)
{
  hr_plan_workload_t *w;
  assert_int_equal(hr_plan_workload_generate(g, &w), HR_OK);
  size_t n = 12345;
  assert_int_equal(hr__plan_workload_draw(g, buf, cap, &n), HR_OK);
  assert_int_equal(n, w->n);
  assert_true(n > 100);
  double dmax = 0.0;
  for (size_t i = 0; i < n; i++) {
    assert_int_equal((*buf)[i].in_tokens, w->req[i].in_tokens);
    assert_int_equal((*buf)[i].out_tokens, w->req[i].out_tokens);
    dmax = fmax(dmax, fabs((*buf)[i].t_s - w->req[i].t_s) / w->req[i].t_s);
    if (i)
      assert_true((*buf)[i].t_s > (*buf)[i - 1].t_s);
  }
  assert_true(dmax < 1e-13);
  hr_plan_workload_destroy(w);
}

static void test_draw_matches_generate(void **state)
{
  (void)state;
  hr_plan_request_t *buf = NULL;
  size_t cap = 0;
  hr_plan_gen_cfg_t g;
  hr_plan_gen_cfg_init(&g);
  hr_plan_workload_t *from;
  g.duration_s = 200.0;
  g.rate_per_s = 5.0;
  assert_int_equal(hr_plan_workload_generate(&g, &from), HR_OK);
  const uint64_t seeds[] = {1, 42, 0xdeadbeefcafef00dull};
  for (int k = 0; k < 3; k++)
    for (int lf = 0; lf < 2; lf++) {
      hr_plan_gen_cfg_init(&g);
      g.seed = seeds[k];
      g.lengths_from = lf ? from : NULL;
      g.duration_s = 20000.0;
      g.rate_per_s = 2.5;
      compare(&g, &buf, &cap); /* Poisson */
      g.arrival = HR_PLAN_ARRIVAL_DIURNAL;
      g.min_rate_per_s = 0.3;
      g.max_rate_per_s = 4.0;
      g.period_s = 7200.0;
      g.peak_t_s = 1000.0 * (double)k;
      compare(&g, &buf, &cap);
      g.period_s = 0.01; /* many turns per second: the vector cos and libm's */
      g.duration_s = 2000.0;
      compare(&g, &buf, &cap);
      g.duration_s = 20000.0;
      g.in_log_sd = 30.0; /* lengths at both clips and exponents past the clamp */
      g.out_log_sd = 400.0;
      compare(&g, &buf, &cap);
    }
  /* errors as hr_plan_workload_generate's, and bursty is not drawn here */
  size_t n;
  hr_plan_gen_cfg_init(&g);
  g.max_requests = 10;
  assert_int_equal(hr__plan_workload_draw(&g, &buf, &cap, &n), HR_ERR_RANGE);
  hr_plan_workload_t *w;
  assert_int_equal(hr_plan_workload_generate(&g, &w), HR_ERR_RANGE);
  hr_plan_gen_cfg_init(&g);
  g.arrival = HR_PLAN_ARRIVAL_BURSTY;
  assert_int_equal(hr__plan_workload_draw(&g, &buf, &cap, &n), HR_ERR_UNSUPPORTED);
  hr_plan_gen_cfg_init(&g);
  g.rate_per_s = 0.0;
  assert_int_equal(hr__plan_workload_draw(&g, &buf, &cap, &n), HR_ERR_INVALID_ARG);
  hr_plan_gen_cfg_init(&g);
  g.rate_per_s = 2e6;
  assert_int_equal(hr__plan_workload_draw(&g, &buf, &cap, &n), HR_ERR_RANGE);
  free(buf);
  hr_plan_workload_destroy(from);
}

/* Two fixed-batch "runs" around 300 and 450 W per GPU with AR(1) noise (as
 * test_copula_simd.c's). */
static hr_plan_model_t *small_model(void)
{
  hr_plan_train_cfg_t c = plantest_train_cfg(50);
  return plantest_model(2000, 0.25, 3, 0.9, 0.44, 20.0, &c);
}

static void test_site_gen_matches_ref(void **state)
{
  (void)state;
  hr_plan_model_t *m = small_model();
  hr_plan_gen_cfg_t g;
  hr_plan_gen_cfg_init(&g);
  g.arrival = HR_PLAN_ARRIVAL_DIURNAL;
  g.duration_s = 900.0;
  g.min_rate_per_s = 4.0;
  g.max_rate_per_s = 20.0;
  g.period_s = 1800.0;
  hr_plan_site_cfg_t c = plantest_site(2, 3, 3);
  c.gpus_per_server = 4;
  for (int tp = 4; tp >= 2; tp -= 2) {
    c.tp = tp; /* one replica per server (sums straight into the rack), then two */
    hr_plan_site_t *s[4];
    for (int k = 0; k < 4; k++) {
      c.copula_ref = k == 0; /* libm draws and the scalar copula */
      c.threads = k == 2 ? 3 : 1;
      c.node_servers = k == 3 ? 18 : 0; /* every server kept: the srv path */
      assert_int_equal(hr_plan_site_run_gen(m, &c, &g, g.duration_s, &s[k]), HR_OK);
    }
    assert_int_equal(s[1]->requests, s[0]->requests);
    assert_true(s[1]->requests > 10000);
    for (size_t i = 0; i < s[0]->n; i++)
      assert_true(fabs(s[1]->it_w[i] - s[0]->it_w[i]) <= 1e-9 * s[0]->it_w[i]);
    for (int k = 2; k < 4; k++) {
      assert_int_equal(s[k]->requests, s[1]->requests);
      assert_memory_equal(s[1]->it_w, s[k]->it_w, s[1]->n * sizeof s[1]->it_w[0]);
      assert_memory_equal(s[1]->row_w, s[k]->row_w,
                          (size_t)s[1]->nrows * s[1]->n1 * sizeof(double));
      assert_memory_equal(s[1]->rack_w, s[k]->rack_w,
                          (size_t)s[1]->nracks * s[1]->n1 * sizeof(double));
    }
    /* the node trace is each server's power, and the site is the sum of
     * racks of servers in order, to the bit */
    for (size_t i = 0; i < s[3]->n; i++) {
      double it = 0.0;
      for (int rk = 0; rk < 6; rk++) {
        double sum = 0.0;
        for (int sv = 0; sv < 3; sv++)
          sum += s[3]->node_w[(size_t)(rk * 3 + sv) * s[3]->n + i];
        it += sum;
      }
      assert_true(it == s[1]->it_w[i]);
    }
    for (int k = 0; k < 4; k++)
      hr_plan_site_destroy(s[k]);
  }
  hr_plan_model_destroy(m);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_exp_matches_libm), cmocka_unit_test(test_cos_turns_matches_libm),
      cmocka_unit_test(test_draw_matches_generate), cmocka_unit_test(test_site_gen_matches_ref)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
