/* The generator's clock: start times outside 0..HR_T0_NS_MAX are refused,
 * and a sample whose time int64 ns cannot hold gives HR_ERR_RANGE instead of
 * a signed overflow (t0_ns = INT64_MAX wrote timestamps in 1677).  The AI
 * rack's profile ends at its horizon (HR_GEN_RACK_MAX_ITERS iterations):
 * later times answer NaN or HR_ERR_RANGE instead of converting a block count
 * beyond int64 (fuzz/reproducers/gen-rack-demand-huge-time). */
#include <math.h>
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
  hr_gen_cfg_init(&c);
  hr_diag_t e;
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
  hr_gen_cfg_init(&c);
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

static hr_gen_t *rack_gen(int iters_per_checkpoint, double fs_hz)
{
  hr_gen_cfg_t c;
  hr_gen_cfg_init(&c);
  assert_int_equal(hr_gen_cfg_preset(&c, "ai-rack", NULL), HR_OK);
  c.rack.iters_per_checkpoint = iters_per_checkpoint;
  c.fs_hz = fs_hz;
  c.n_u_harm = c.n_i_harm = 0; /* harmonics above Nyquist at low rates */
  c.n_u_iharm = c.n_i_iharm = 0;
  hr_gen_t *g = NULL;
  assert_int_equal(hr_gen_create(&c, &g), HR_OK);
  return g;
}

static void rack_demand_beyond_horizon_is_nan(void **state)
{
  (void)state;
  for (int k = 0; k <= 5; k += 5) {
    hr_gen_t *g = rack_gen(k, 8000);
    const hr_gen_rack_t *r = &hr_gen_cfg(g)->rack;
    double end_s = r->start_s + HR_GEN_RACK_MAX_ITERS * (r->compute_s + r->comm_s);
    assert_true(isfinite(hr_gen_demand_w(g, 1e9)));
    assert_true(isfinite(hr_gen_demand_w(g, nextafter(end_s, 0))));
    assert_true(isnan(hr_gen_demand_w(g, end_s)));
    assert_true(isnan(hr_gen_demand_w(g, 1e19)));
    assert_true(isnan(hr_gen_demand_w(g, 1e300)));
    assert_true(isnan(hr_gen_demand_w(g, INFINITY)));
    hr_gen_destroy(g);
  }
}

static void rack_samples_beyond_horizon_are_refused(void **state)
{
  (void)state;
  /* The horizon (1.6e15 s) comes long after t_ns overflows (9.2e9 s): the
   * truth refuses on the clock first, and on the horizon too. */
  const double fs_hz = 1000.0;
  hr_gen_t *g = rack_gen(0, fs_hz);
  hr_gen_truth_t t;
  assert_int_equal(hr_gen_truth(g, INT64_MAX, &t), HR_ERR_RANGE);
  assert_int_equal(hr_gen_truth(g, (int64_t)1e18, &t), HR_ERR_RANGE);
  assert_true(isnan(hr_gen_power_w(g, INT64_MAX)));
  /* The sample path has no clock: it stops at the horizon's last sample. */
  const hr_gen_rack_t *r = &hr_gen_cfg(g)->rack;
  double end_s = r->start_s + HR_GEN_RACK_MAX_ITERS * (r->compute_s + r->comm_s);
  /* The first sample whose time n / fs_hz is at or after the horizon. */
  int64_t n_end = (int64_t)ceil(end_s * fs_hz);
  while ((double)(n_end - 1) / fs_hz >= end_s)
    n_end--;
  while ((double)n_end / fs_hz < end_s)
    n_end++;
  assert_true(n_end > 1000000000000000000LL);
  float buf[8 * 2];
  assert_int_equal(hr_gen_seek(g, n_end - 1), HR_OK);
  assert_int_equal(hr_gen_fill(g, buf, 2), HR_ERR_RANGE);
  assert_int_equal(hr_gen_tell(g), n_end - 1);
  assert_int_equal(hr_gen_fill(g, buf, 1), HR_OK);
  for (int k = 0; k < hr_gen_n_channels(g); k++)
    assert_true(isfinite(buf[k]));
  assert_int_equal(hr_gen_fill(g, buf, 1), HR_ERR_RANGE);
  assert_int_equal(hr_gen_seek(g, INT64_MAX - 1), HR_OK);
  assert_int_equal(hr_gen_fill(g, buf, 1), HR_ERR_RANGE);
  hr_gen_destroy(g);
}

static void rack_compute_phase_has_a_floor(void **state)
{
  (void)state;
  hr_gen_cfg_t c;
  hr_gen_cfg_init(&c);
  assert_int_equal(hr_gen_cfg_preset(&c, "ai-rack", NULL), HR_OK);
  hr_diag_t e;
  c.rack.rise_s = 0;
  c.rack.comm_s = 0;
  c.rack.iters_per_checkpoint = 0;
  c.rack.compute_s = 4.9e-324; /* the horizon would be 5.6e-309 s */
  assert_int_equal(hr_gen_cfg_check(&c, &e), HR_ERR_RANGE);
  assert_string_equal(e.field, "rack.compute_s");
  c.rack.compute_s = HR_GEN_RACK_MIN_COMPUTE_S;
  assert_int_equal(hr_gen_cfg_check(&c, &e), HR_OK);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t0_range_is_checked),
      cmocka_unit_test(truth_time_never_overflows),
      cmocka_unit_test(rack_demand_beyond_horizon_is_nan),
      cmocka_unit_test(rack_samples_beyond_horizon_are_refused),
      cmocka_unit_test(rack_compute_phase_has_a_floor),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
