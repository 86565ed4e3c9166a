/* The planner's library on hostile numbers: every call ends, and values that
 * are not finite or beyond their documented range are refused where they
 * enter (docs/plan.md, "Limits"). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "headroom/plan.h"

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* A NaN made the KS merge loop forever (it compares false with all). */
static void ks_refuses_non_finite(void **state)
{
  (void)state;
  double a[4] = {1, 2, 3, 4}, b[4] = {1, NAN, 3, 4}, c[4] = {1, 2, INFINITY, 4}, ks = -1;
  assert_int_equal(hr_plan_ks(a, 4, b, 4, &ks), HR_ERR_INVALID_ARG);
  assert_int_equal(hr_plan_ks(b, 4, a, 4, &ks), HR_ERR_INVALID_ARG);
  assert_int_equal(hr_plan_ks(a, 4, c, 4, &ks), HR_ERR_INVALID_ARG);
  assert_int_equal(hr_plan_ks(a, 4, a, 4, &ks), HR_OK);
  assert_true(ks == 0.0);
}

static void fidelity_refuses_non_finite(void **state)
{
  (void)state;
  double gt[8] = {1, 2, 3, 4, 5, 6, 7, 8}, gen[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  const double *a = gt, *b = gen;
  size_t n = 8;
  hr_plan_fidelity_t f;
  gen[5] = NAN;
  assert_int_equal(hr_plan_fidelity_compute(&a, &b, &n, 1, 0.1, 1.0, &f), HR_ERR_INVALID_ARG);
  gen[5] = 6;
  gt[0] = -INFINITY;
  assert_int_equal(hr_plan_fidelity_compute(&a, &b, &n, 1, 0.1, 1.0, &f), HR_ERR_INVALID_ARG);
  gt[0] = 1;
  assert_int_equal(hr_plan_fidelity_compute(&a, &b, &n, 1, 0.1, 1.0, &f), HR_OK);
}

/* --cv 1e8 never finished (draws grow as cv^2); beyond HR_PLAN_MAX_BURST_CV
 * it is refused, and at the limit it is quick. */
static void bursty_cv_is_bounded(void **state)
{
  (void)state;
  hr_plan_gen_cfg_t c;
  hr_plan_gen_cfg_init(&c);
  c.arrival = HR_PLAN_ARRIVAL_BURSTY;
  c.rate_per_s = 1;
  c.duration_s = 10;
  c.burst_cv = 1e8;
  hr_plan_workload_t *w = NULL;
  assert_int_equal(hr_plan_workload_generate(&c, &w), HR_ERR_RANGE);
  assert_null(w);
  c.burst_cv = HR_PLAN_MAX_BURST_CV;
  c.rate_per_s = 1000;
  double t0 = now_s();
  assert_int_equal(hr_plan_workload_generate(&c, &w), HR_OK);
  assert_true(now_s() - t0 < 2.0);
  hr_plan_workload_destroy(w);
  /* Proposals (rate x duration) are bounded too. */
  c.rate_per_s = HR_PLAN_MAX_RATE_PER_S;
  c.duration_s = 1e4;
  assert_int_equal(hr_plan_workload_generate(&c, &w), HR_ERR_RANGE);
  c.rate_per_s = 2 * HR_PLAN_MAX_RATE_PER_S;
  c.duration_s = 1;
  assert_int_equal(hr_plan_workload_generate(&c, &w), HR_ERR_RANGE);
}

/* Times of +-1e308 made span_s infinite. */
static void workload_times_are_bounded(void **state)
{
  (void)state;
  const char *csv = "TIMESTAMP,ContextTokens,GeneratedTokens\n-1e308,10,10\n1e308,10,10\n";
  hr_plan_workload_t *w = NULL;
  hr_diag_t e = {0};
  assert_int_equal(hr_plan_workload_parse_csv(csv, strlen(csv), NULL, &w, &e), HR_ERR_RANGE);
  assert_null(w);
  assert_int_equal(e.line, 3);
  assert_non_null(strstr(e.message, "beyond"));
  const char *ok = "TIMESTAMP,ContextTokens,GeneratedTokens\n1e9,10,10\n1.5e9,10,10\n";
  assert_int_equal(hr_plan_workload_parse_csv(ok, strlen(ok), NULL, &w, &e), HR_OK);
  hr_plan_workload_destroy(w);
}

static uint32_t crc32_of(const char *p, size_t n)
{
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= (unsigned char)p[i];
    for (int k = 0; k < 8; k++)
      c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return c ^ 0xFFFFFFFFu;
}

/* A model file with a valid checksum around the given header values. */
static int parse_model(const char *tdp, const char *idle, hr_plan_model_t **m, hr_diag_t *e)
{
  char buf[512];
  int n = snprintf(buf, sizeof buf,
                   "headroom-plan-model %d\ntdp_w_per_gpu %s\nidle_w_per_gpu %s train_dt_s 0.1\n"
                   "lut 0\ngroups 0\n",
                   HR_PLAN_MODEL_VERSION, tdp, idle);
  n +=
      snprintf(buf + n, sizeof buf - (size_t)n, "crc32 %08x\n", (unsigned)crc32_of(buf, (size_t)n));
  return hr_plan_model_parse(buf, (size_t)n, m, e);
}

/* tdp_w_per_gpu inf with a valid checksum printed inf for every sample. */
static void model_values_are_checked(void **state)
{
  (void)state;
  hr_plan_model_t *m = NULL;
  hr_diag_t e = {0};
  assert_int_equal(parse_model("inf", "60", &m, &e), HR_ERR_RANGE);
  assert_null(m);
  assert_int_equal(e.line, 2);
  assert_non_null(strstr(e.message, "tdp_w_per_gpu"));
  assert_int_equal(parse_model("1e300", "60", &m, &e), HR_ERR_RANGE);
  assert_int_equal(parse_model("700", "nan", &m, &e), HR_ERR_RANGE);
  assert_int_equal(parse_model("700", "60", &m, &e), HR_OK);
  double active[3] = {1, 1, 1}, p[3];
  assert_int_equal(hr_plan_model_generate(m, HR_PLAN_TDP, "any", 8, active, 3, 1, p), HR_OK);
  assert_true(p[0] == 5600.0);
  hr_plan_model_destroy(m);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(ks_refuses_non_finite),    cmocka_unit_test(fidelity_refuses_non_finite),
      cmocka_unit_test(bursty_cv_is_bounded),     cmocka_unit_test(workload_times_are_bounded),
      cmocka_unit_test(model_values_are_checked),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
