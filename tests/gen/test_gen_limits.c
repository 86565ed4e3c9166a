/* The generator's clock: start times outside 0..HR_T0_NS_MAX are refused,
 * and a sample whose time int64 ns cannot hold gives HR_ERR_RANGE instead of
 * a signed overflow (t0_ns = INT64_MAX wrote timestamps in 1677). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "headroom/error.h"
#include "headroom/gen.h"

static void t0_range_is_checked(void **state)
{
  (void)state;
  hr_gen_cfg_t c;
  hr_gen_cfg_default(&c);
  hr_gen_cfg_error_t e;
  c.t0_ns = INT64_MAX;
  assert_int_equal(hr_gen_cfg_check(&c, &e), HR_ERR_RANGE);
  assert_string_equal(e.field, "t0_ns");
  c.t0_ns = -1;
  assert_int_equal(hr_gen_cfg_check(&c, &e), HR_ERR_RANGE);
  hr_gen_t *g = NULL;
  assert_int_equal(hr_gen_create(&c, &g), HR_ERR_RANGE);
  c.t0_ns = HR_T0_NS_MAX;
  assert_int_equal(hr_gen_cfg_check(&c, &e), HR_OK);
}

static void truth_time_never_overflows(void **state)
{
  (void)state;
  hr_gen_cfg_t c;
  hr_gen_cfg_default(&c);
  c.t0_ns = HR_T0_NS_MAX;
  hr_gen_t *g = NULL;
  assert_int_equal(hr_gen_create(&c, &g), HR_OK);
  hr_gen_truth_t t;
  /* One second in: exact. */
  assert_int_equal(hr_gen_truth(g, (int64_t)c.fs_hz, &t), HR_OK);
  assert_true(t.t_ns == HR_T0_NS_MAX + 1000000000LL);
  /* 2^63 - 1 samples at 8 kHz are 3.6 million years: not representable. */
  assert_int_equal(hr_gen_truth(g, INT64_MAX, &t), HR_ERR_RANGE);
  /* 160 years of samples still fit. */
  int64_t n = (int64_t)(160.0 * 365.25 * 86400.0 * c.fs_hz);
  assert_int_equal(hr_gen_truth(g, n, &t), HR_OK);
  assert_true(t.t_ns > HR_T0_NS_MAX);
  hr_gen_destroy(g);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t0_range_is_checked),
      cmocka_unit_test(truth_time_never_overflows),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
