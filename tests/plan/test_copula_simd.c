/* plan: the vectorised copula generator (issue 17's speed work) against
 * references it must reproduce to rounding: its normals against Box-Muller
 * written here with libm's log, cos and sin on the same xoshiro256**
 * uniforms; generated power and a facility run against the scalar generator
 * of before (hr__plan_model_generate_ex with copula_ref = 1). */
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
#include "plan/plan_model_int.h"
#include "plantest.h"

/* Box-Muller in pairs from hr_plan_rng_uniform, the cosine normal first:
 * the order the copula generator has always consumed its stream in. */
static void ref_normals(uint64_t seed, double *out, size_t n)
{
  hr_plan_rng_t r;
  hr_plan_rng_seed(&r, seed);
  for (size_t i = 0; i < n; i += 2) {
    double u1 = hr_plan_rng_uniform(&r), u2 = hr_plan_rng_uniform(&r);
    double rad = sqrt(-2.0 * log(u1)), ang = 2.0 * M_PI * u2;
    out[i] = rad * cos(ang);
    if (i + 1 < n)
      out[i + 1] = rad * sin(ang);
  }
}

static void test_normals_match_libm(void **state)
{
  (void)state;
  const size_t n = 400001; /* odd: the last pair is cut */
  double *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
  assert_non_null(a);
  assert_non_null(b);
  const uint64_t seeds[] = {1, 42, 0x8000000000000005ull, 1000003u * 42u + 7u};
  for (size_t k = 0; k < sizeof seeds / sizeof seeds[0]; k++) {
    hr__plan_bm_normals(seeds[k], a, n);
    ref_normals(seeds[k], b, n);
    double dmax = 0.0, s1 = 0.0, s2 = 0.0;
    for (size_t i = 0; i < n; i++) {
      /* libm rounds 2 pi u2 before its cos and sin (up to 7e-16 of angle)
       * and its log and sin each to within an ulp: a few 1e-16 times the
       * radius (below 7 here) apart. */
      dmax = fmax(dmax, fabs(a[i] - b[i]) / fmax(1.0, fabs(b[i])));
      s1 += a[i];
      s2 += a[i] * a[i];
    }
    assert_true(dmax < 1e-14);
    /* Moments of N(0, 1) for 400,001 draws: mean within 5 standard errors
     * (5 / sqrt(n) = 0.0079), variance within 5 (5 sqrt(2 / n) = 0.011). */
    double mean = s1 / (double)n, var = s2 / (double)n - mean * mean;
    assert_true(fabs(mean) < 0.0079);
    assert_true(fabs(var - 1.0) < 0.011);
  }
  free(a);
  free(b);
}

/* Two fixed-batch "runs" of per-GPU power around 300 and 450 W with AR(1)
 * noise, so the copula has an autocorrelation to fit. */
static hr_plan_model_t *small_model(void)
{
  hr_plan_train_cfg_t c = plantest_train_cfg(50);
  return plantest_model(2000, 0.25, 3, 0.9, 0.44, 20.0, &c);
}

static void test_generate_matches_scalar(void **state)
{
  (void)state;
  hr_plan_model_t *m = small_model();
  const size_t n = 6000;
  double *act = malloc(n * sizeof *act), *p0 = malloc(n * sizeof *p0), *p1 = malloc(n * sizeof *p1);
  assert_non_null(act);
  assert_non_null(p0);
  assert_non_null(p1);
  /* Idle, a partly idle bin, long constant stretches and a random walk over
   * and past the trained batch sizes (8 and 64). */
  hr_plan_rng_t r;
  hr_plan_rng_seed(&r, 9);
  double a = 20.0;
  for (size_t t = 0; t < n; t++) {
    if (t < 500)
      act[t] = 0.0;
    else if (t < 700)
      act[t] = 0.3;
    else if (t < 2000)
      act[t] = t < 1300 ? 8.0 : 64.0;
    else {
      a = fmin(120.0, fmax(0.0, a + (double)(int)(hr_plan_rng_u64(&r) % 7) - 3.0));
      act[t] = a;
    }
  }
  const double dts[] = {0.25, 0.1, 1.0};
  const int gpus[] = {2, 8};
  size_t busy = 0;
  for (int d = 0; d < 3; d++)
    for (int gi = 0; gi < 2; gi++)
      for (uint64_t seed = 1; seed <= 3; seed++) {
        assert_int_equal(hr__plan_model_generate_ex(m, HR_PLAN_COPULA, "m", gpus[gi], act, n,
                                                    dts[d], seed, 1, p0),
                         HR_OK);
        assert_int_equal(hr__plan_model_generate_ex(m, HR_PLAN_COPULA, "m", gpus[gi], act, n,
                                                    dts[d], seed, 0, p1),
                         HR_OK);
        for (size_t t = 0; t < n; t++) {
          if (act[t] == 0.0) {
            assert_true(p0[t] == p1[t]); /* idle power, exactly */
            continue;
          }
          busy++;
          assert_true(fabs(p1[t] - p0[t]) <= 1e-9 * fabs(p0[t]));
        }
        /* the public entry point is the vectorised generator */
        assert_int_equal(
            hr_plan_model_generate_dt(m, HR_PLAN_COPULA, "m", gpus[gi], act, n, dts[d], seed, p0),
            HR_OK);
        assert_memory_equal(p0, p1, n * sizeof *p0);
      }
  size_t nbusy = 0; /* every busy bin was compared (the walk may touch 0) */
  for (size_t t = 0; t < n; t++)
    nbusy += act[t] > 0.0;
  assert_true(nbusy > n / 2 && busy == 18 * nbusy);
  free(act);
  free(p0);
  free(p1);
  hr_plan_model_destroy(m);
}

static void test_site_matches_scalar(void **state)
{
  (void)state;
  hr_plan_model_t *m = small_model();
  const double dur_s = 600.0;
  hr_plan_workload_t *w = plantest_workload(3.0, dur_s);
  hr_plan_site_cfg_t c = plantest_site(2, 3, 2);
  c.gpus_per_server = 4;
  c.tp = 2;
  hr_plan_site_t *s[3];
  for (int k = 0; k < 3; k++) {
    c.copula_ref = k == 0;
    c.threads = k == 2 ? 3 : 1;
    assert_int_equal(hr_plan_site_run(m, &c, w, dur_s, &s[k]), HR_OK);
  }
  for (size_t i = 0; i < s[0]->n; i++)
    assert_true(fabs(s[1]->it_w[i] - s[0]->it_w[i]) <= 1e-9 * s[0]->it_w[i]);
  assert_memory_equal(s[1]->it_w, s[2]->it_w, s[1]->n * sizeof s[1]->it_w[0]);
  assert_memory_equal(s[1]->row_w, s[2]->row_w, (size_t)s[1]->nrows * s[1]->n1 * sizeof(double));
  for (int k = 0; k < 3; k++)
    hr_plan_site_destroy(s[k]);
  hr_plan_workload_destroy(w);
  hr_plan_model_destroy(m);
}

int main(void)
{
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_normals_match_libm),
                                     cmocka_unit_test(test_generate_matches_scalar),
                                     cmocka_unit_test(test_site_matches_scalar)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
