/* Generator: the AI-rack load (profile, power, steps, harmonics, behaviour
 * in dips). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gen_test.h"
#include "headroom/error.h"
#include "headroom/gen.h"

static hr_gen_t *make(const hr_gen_cfg_t *cfg)
{
  hr_gen_t *g = NULL;
  hr_diag_t e;
  int rc = hr_gen_cfg_check(cfg, &e);
  if (rc != HR_OK)
    fail_msg("config: %s", e.message);
  assert_int_equal(hr_gen_create(cfg, &g), HR_OK);
  return g;
}

static void rack_cfg(hr_gen_cfg_t *c)
{
  hr_gen_cfg_init(c);
  assert_int_equal(hr_gen_cfg_preset(c, "ai-rack", NULL), HR_OK);
}

/* The profile's levels follow from the rack's parameters. */
static void profile_levels(void **state)
{
  (void)state;
  hr_gen_cfg_t c;
  rack_cfg(&c);
  hr_gen_t *g = make(&c);
  const double idle = 8 * (8 * 100 + 1500), busy = 8 * (8 * 700 + 1500),
               comm = 8 * (8 * 125 + 1500);
  assert_near(idle, 18400, 0);
  assert_near(busy, 56800, 0);
  assert_near(comm, 20000, 0);
  assert_near(hr_gen_demand_w(g, 0.2), idle, 1e-9);
  assert_near(hr_gen_demand_w(g, 0.5 + 0.5), busy, 1e-9);           /* compute, it 0 */
  assert_near(hr_gen_demand_w(g, 0.5 + 1.2), comm, 1e-9);           /* comm, it 0 */
  assert_near(hr_gen_demand_w(g, 0.5 + 4 * 1.4 + 0.3), busy, 1e-9); /* it 4 */
  assert_near(hr_gen_demand_w(g, 0.5 + 7.0 + 1.0), idle, 1e-9);     /* checkpoint */
  assert_near(hr_gen_demand_w(g, 0.5 + 9.0 + 0.5), busy, 1e-9);     /* next block */
  assert_near(hr_gen_demand_w(g, 0.5 + 9.0 * 100 + 1.2), comm, 1e-9);
  /* The synchronized step is about 65 % of the rack's peak power. */
  double step = (busy - comm) / busy;
  assert_true(step > 0.6 && step < 0.7);
  /* Full-load current: 56.8 kW over three 277 V phases. */
  assert_near(hr_gen_i_nom_a(g), 56800 / (3 * 277.0), 1e-9);
  hr_gen_destroy(g);
}

/* Mean of sum(v*i) over 3 cycles (400 samples at 8 kHz, 60 Hz) equals the
 * profile's demand wherever the demand is flat over the window, within
 * 0.01 % (float32 samples), harmonics in both voltage and current
 * included. */
static void cycle_power_matches_profile(void **state)
{
  (void)state;
  hr_gen_cfg_t c;
  rack_cfg(&c);
  hr_gen_t *g = make(&c);
  const size_t n = 80000, w = 400;
  float *x = malloc(n * 6 * sizeof *x);
  assert_int_equal(hr_gen_fill(g, x, n), HR_OK);
  int checked = 0;
  for (size_t s = 0; s + w <= n; s += w / 2) {
    double d0 = hr_gen_power_w(g, (int64_t)s), d1 = hr_gen_power_w(g, (int64_t)(s + w - 1));
    double dm = hr_gen_power_w(g, (int64_t)(s + w / 2));
    if (fabs(d0 - d1) > 1e-9 || fabs(d0 - dm) > 1e-9)
      continue; /* a step inside the window */
    double p = 0;
    for (size_t k = s; k < s + w; k++)
      for (int q = 0; q < 3; q++)
        p += (double)x[k * 6 + q] * x[k * 6 + 3 + q];
    p /= w;
    hr_gen_truth_t t;
    hr_gen_truth(g, (int64_t)s, &t);
    assert_near(t.p_w, t.demand_w, 1e-9 * t.demand_w);
    assert_near(p, t.demand_w, 1e-4 * t.demand_w);
    checked++;
  }
  assert_true(checked > 300);
  hr_gen_destroy(g);
  free(x);
}

/* Without harmonics a balanced rack's instantaneous three-phase power is
 * constant within a cycle, so every sample's sum(v*i) is the demand: the
 * step from communication to compute rises 10-90 % in 8 ms. */
static void step_rise_time(void **state)
{
  (void)state;
  hr_gen_cfg_t c;
  rack_cfg(&c);
  c.n_u_harm = 0;
  c.n_i_harm = 0;
  hr_gen_t *g = make(&c);
  const double fs = 8000;
  /* Iteration 1 starts computing at 0.5 + 1.4 = 1.9 s, after comm. */
  const int64_t n0 = (int64_t)(1.85 * fs), n1 = (int64_t)(1.95 * fs);
  const size_t n = (size_t)(n1 - n0);
  float *x = malloc(n * 6 * sizeof *x);
  assert_int_equal(hr_gen_seek(g, n0), HR_OK);
  assert_int_equal(hr_gen_fill(g, x, n), HR_OK);
  const double lo = 20000, hi = 56800;
  double t10 = -1, t90 = -1;
  for (size_t k = 0; k < n; k++) {
    double p = 0;
    for (int q = 0; q < 3; q++)
      p += (double)x[k * 6 + q] * x[k * 6 + 3 + q];
    assert_near(p, hr_gen_power_w(g, n0 + (int64_t)k), 2e-6 * hi);
    double t = (n0 + (double)k) / fs;
    if (t10 < 0 && p >= lo + 0.1 * (hi - lo))
      t10 = t;
    if (t90 < 0 && p >= lo + 0.9 * (hi - lo))
      t90 = t;
  }
  assert_true(t10 > 1.9 && t90 > t10);
  /* Sample-quantised: within one sample period of 8 ms. */
  assert_near(t90 - t10, 0.008, 1.0 / fs + 1e-9);
  /* The change starts exactly at the boundary. */
  assert_near(hr_gen_demand_w(g, 1.9), lo, 1e-9);
  assert_true(hr_gen_demand_w(g, 1.9 + 1e-4) > lo);
  assert_near(hr_gen_demand_w(g, 1.9 + 0.008 / 0.5903), hi, 0.01 * hi);
  hr_gen_destroy(g);
  free(x);
}

/* Magnitudes of DFT bins over exactly 10 cycles. */
static double bin_rms(const float *x, size_t n, int stride, int ch, double cycles_per_n)
{
  double re = 0, im = 0;
  for (size_t k = 0; k < n; k++) {
    double a = 2 * PI * cycles_per_n * k / n;
    re += x[k * stride + ch] * cos(a);
    im -= x[k * stride + ch] * sin(a);
  }
  return sqrt(2.0) * hypot(re, im) / n;
}

static double thd_i(hr_gen_t *g, double t_s)
{
  /* 7680 Hz: 128 samples per cycle, so 10 cycles put every harmonic on a bin. */
  const size_t n = 1280;
  float *x = malloc(n * 6 * sizeof *x);
  hr_gen_seek(g, (int64_t)(t_s * 7680));
  hr_gen_fill(g, x, n);
  double i1 = bin_rms(x, n, 6, 3, 10), s = 0;
  for (int h = 2; h <= 50; h++) {
    double ih = bin_rms(x, n, 6, 3, 10.0 * h);
    s += ih * ih;
  }
  free(x);
  return sqrt(s) / i1;
}

static void current_harmonics(void **state)
{
  (void)state;
  hr_gen_cfg_t c;
  rack_cfg(&c);
  c.fs_hz = 7680;
  hr_gen_t *g = make(&c);
  double full = thd_i(g, 0.5 + 0.3); /* compute */
  double idle = thd_i(g, 0.5 + 7.5); /* checkpoint */
  /* Full-load spectrum sqrt(sum c_h^2) = 7.35 %; the fundamental is a bit
   * more than the full-load current (leading var), so slightly less. */
  assert_true(full > 0.05 && full < 0.15);
  assert_near(full, 0.0735, 0.002);
  assert_true(idle > 1.8 * full);
  hr_gen_destroy(g);
}

/* Constant power above the floor, constant impedance below it. */
static void dips_and_constant_power(void **state)
{
  (void)state;
  hr_gen_cfg_t c;
  rack_cfg(&c);
  hr_gen_event_t d85 = {HR_GEN_EVENT_DIP, 0.7, 0.2, 85, HR_GEN_PHASE_ALL, 0};
  hr_gen_event_t d50 = {HR_GEN_EVENT_DIP, 1.1, 0.2, 50, HR_GEN_PHASE_A, 0};
  hr_gen_cfg_add_event(&c, &d85);
  hr_gen_cfg_add_event(&c, &d50);
  hr_gen_t *g = make(&c);
  hr_gen_truth_t before, in85, in50;
  hr_gen_truth(g, (int64_t)(0.65 * 8000), &before);
  hr_gen_truth(g, (int64_t)(0.8 * 8000), &in85);
  hr_gen_truth(g, (int64_t)(1.2 * 8000), &in50);
  assert_near(before.demand_w, 56800, 1e-6);
  assert_near(in85.p_w, 56800, 1e-6);
  assert_near(in85.i_rms_a[0], before.i_rms_a[0] / 0.85, 1e-9);
  /* Phase a at 50 % < 70 %: its third of the power scales with (0.5/0.7)^2. */
  double want = 56800 / 3.0 * (2 + (0.5 / 0.7) * (0.5 / 0.7));
  assert_near(in50.p_w, want, 1e-6 * want);
  hr_gen_destroy(g);
}

static void jitter_and_seed(void **state)
{
  (void)state;
  hr_gen_cfg_t c;
  rack_cfg(&c);
  c.rack.jitter_pct = 5;
  hr_gen_t *a = make(&c);
  c.seed = 99;
  hr_gen_t *b = make(&c);
  int differ = 0;
  for (int it = 0; it < 5; it++) {
    double t = 0.5 + it * 1.4 + 0.5;
    double pa = hr_gen_demand_w(a, t), pb = hr_gen_demand_w(b, t);
    /* GPU power within +-5 %: 8*8*700*0.05 = 2240 W around 56.8 kW. */
    assert_true(fabs(pa - 56800) <= 2240 + 1e-9);
    /* Constant within the phase. */
    assert_near(hr_gen_demand_w(a, t + 0.3), pa, 0);
    differ += pa != pb;
  }
  assert_true(differ >= 4);
  hr_gen_destroy(a);
  hr_gen_destroy(b);
}

static void rack_config_errors(void **state)
{
  (void)state;
  hr_gen_cfg_t c;
  rack_cfg(&c);
  hr_diag_t e;
  c.rack.rise_s = 0.5; /* 0.85 s transitions do not fit the 0.4 s comm phase */
  assert_int_equal(hr_gen_cfg_check(&c, &e), HR_ERR_RANGE);
  assert_string_equal(e.field, "rack.rise_s");
  rack_cfg(&c);
  c.rack.compute_s = -1;
  assert_int_equal(hr_gen_cfg_check(&c, &e), HR_ERR_INVALID_ARG);
  rack_cfg(&c);
  c.rack.n_servers = 0;
  assert_int_equal(hr_gen_cfg_check(&c, &e), HR_ERR_RANGE);
  rack_cfg(&c);
  c.u_v = 0;
  assert_int_equal(hr_gen_cfg_check(&c, &e), HR_ERR_RANGE);
  rack_cfg(&c);
  c.fs_hz = 2000; /* h25 at 1500 Hz is above 1000 Hz Nyquist */
  assert_int_equal(hr_gen_cfg_check(&c, &e), HR_ERR_RANGE);
  assert_true(strncmp(e.field, "i_harm[", 7) == 0);
  /* No communication phase and no checkpoints: compute all the time. */
  rack_cfg(&c);
  c.rack.comm_s = 0;
  c.rack.iters_per_checkpoint = 0;
  hr_gen_t *g = make(&c);
  assert_near(hr_gen_demand_w(g, 3.05), 56800, 1e-9);
  hr_gen_destroy(g);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(profile_levels),          cmocka_unit_test(cycle_power_matches_profile),
      cmocka_unit_test(step_rise_time),          cmocka_unit_test(current_harmonics),
      cmocka_unit_test(dips_and_constant_power), cmocka_unit_test(jitter_and_seed),
      cmocka_unit_test(rack_config_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
