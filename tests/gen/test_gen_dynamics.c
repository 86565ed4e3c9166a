/* Generator: dips, swells, interruptions, steps, ramps and modulation against
 * the formulas of IEC 61000-4-30 / IEEE C37.118.1 test conditions. */
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

static float *gen_block(const hr_gen_cfg_t *cfg, size_t n, int *n_ch)
{
  hr_gen_t *g = NULL;
  assert_int_equal(hr_gen_create(cfg, &g), HR_OK);
  *n_ch = hr_gen_n_channels(g);
  float *x = malloc(n * (size_t)*n_ch * sizeof *x);
  assert_non_null(x);
  assert_int_equal(hr_gen_fill(g, x, n), HR_OK);
  hr_gen_destroy(g);
  return x;
}

/* Inside the dip the selected phase is exactly residual * the undisturbed
 * waveform, from the first sample at or after the start to the last sample
 * before the end; everything else is bit-identical to the undisturbed run. */
static void dip_is_sample_exact(void **state)
{
  (void)state;
  hr_gen_cfg_t c;
  hr_gen_cfg_init(&c);
  hr_gen_cfg_set_harmonic(&c, HR_GEN_U, 5, 8, 0);
  hr_gen_cfg_add_interharmonic(&c, HR_GEN_U, 175, 2, 0);
  const size_t n = 8000;
  int n_ch;
  float *ref = gen_block(&c, n, &n_ch);
  hr_gen_event_t ev = {HR_GEN_EVENT_DIP, 0.5, 0.1, 40, HR_GEN_PHASE_B, 0};
  assert_int_equal(hr_gen_cfg_add_event(&c, &ev), HR_OK);
  float *x = gen_block(&c, n, &n_ch);
  for (size_t k = 0; k < n; k++) {
    int inside = k >= 4000 && k < 4800; /* 0.5 s and 0.6 s at 8 kHz */
    for (int ch = 0; ch < n_ch; ch++) {
      float a = x[k * n_ch + ch], b = ref[k * n_ch + ch];
      int scaled = inside && (ch == 1 || ch == 4); /* ub, and ib of the linear load */
      if (scaled)
        assert_near(a, 0.4 * b, 1e-6 * 400);
      else
        assert_true(a == b);
    }
  }
  hr_gen_t *g = NULL;
  assert_int_equal(hr_gen_create(&c, &g), HR_OK);
  hr_gen_truth_t t;
  hr_gen_truth(g, 3999, &t);
  assert_near(t.u_rms_v[1], 277, 1e-9);
  hr_gen_truth(g, 4000, &t);
  assert_near(t.u_rms_v[1], 0.4 * 277, 1e-9);
  assert_near(t.u_env[1], 0.4, 1e-15);
  assert_near(t.u_rms_v[0], 277, 1e-9);
  hr_gen_truth(g, 4799, &t);
  assert_near(t.u_env[1], 0.4, 1e-15);
  hr_gen_truth(g, 4800, &t);
  assert_near(t.u_env[1], 1.0, 0);
  hr_gen_destroy(g);
  free(ref);
  free(x);
}

/* A start time between samples takes effect at the next sample. */
static void event_between_samples(void **state)
{
  (void)state;
  hr_gen_cfg_t c;
  hr_gen_cfg_init(&c);
  hr_gen_event_t ev = {HR_GEN_EVENT_INTERRUPTION, 0.10001, 0.05, 0, HR_GEN_PHASE_ALL, 0};
  hr_gen_cfg_add_event(&c, &ev);
  hr_gen_t *g = NULL;
  assert_int_equal(hr_gen_create(&c, &g), HR_OK);
  hr_gen_truth_t t;
  hr_gen_truth(g, 800, &t); /* 0.1 s < 0.10001 s */
  assert_near(t.u_env[0], 1, 0);
  hr_gen_truth(g, 801, &t);
  assert_near(t.u_env[0], 0, 0);
  assert_near(t.p_w, 0, 1e-9);
  hr_gen_destroy(g);
}

/* Swells multiply; a ramped event moves linearly; overlapping events
 * multiply. */
static void swell_and_ramped_event(void **state)
{
  (void)state;
  hr_gen_cfg_t c;
  hr_gen_cfg_init(&c);
  hr_gen_event_t sw = {HR_GEN_EVENT_SWELL, 0.2, 0.2, 120, HR_GEN_PHASE_ALL, 0.02};
  hr_gen_event_t dip = {HR_GEN_EVENT_DIP, 0.3, 0.05, 50, HR_GEN_PHASE_C, 0};
  hr_gen_cfg_add_event(&c, &sw);
  hr_gen_cfg_add_event(&c, &dip);
  hr_gen_t *g = NULL;
  assert_int_equal(hr_gen_create(&c, &g), HR_OK);
  hr_gen_truth_t t;
  hr_gen_truth(g, 1600 + 80, &t); /* 10 ms into the 20 ms ramp: halfway */
  assert_near(t.u_env[0], 1.1, 1e-12);
  hr_gen_truth(g, 2000, &t);
  assert_near(t.u_env[0], 1.2, 1e-12);
  hr_gen_truth(g, 2500, &t);
  assert_near(t.u_env[2], 0.6, 1e-12);
  assert_near(t.u_env[1], 1.2, 1e-12);
  hr_gen_truth(g, 3200 + 40, &t); /* 5 ms into the 20 ms recovery */
  assert_near(t.u_env[0], 1.15, 1e-12);
  hr_gen_truth(g, 3200 + 160, &t);
  assert_near(t.u_env[0], 1.0, 0);
  hr_gen_destroy(g);
}

/* IEEE C37.118.1 step test: x = Xm[1 + kx f1(t)] cos(w0 t + ka f1(t)). */
static void magnitude_and_phase_steps(void **state)
{
  (void)state;
  hr_gen_cfg_t c;
  hr_gen_cfg_init(&c);
  assert_int_equal(hr_gen_cfg_preset(&c, "step", NULL), HR_OK);
  const size_t n = 24000;
  int n_ch;
  float *x = gen_block(&c, n, &n_ch);
  for (size_t k = 0; k < n; k++) {
    double kx = k >= 8000 ? 0.1 : 0, ka = k >= 16000 ? 10 * PI / 180 : 0;
    double want = sqrt(2) * 277 * (1 + kx) * cos(2 * PI * 60 * k / 8000.0 + ka);
    assert_near(x[k * n_ch], want, 2e-3);
  }
  hr_gen_t *g = NULL;
  assert_int_equal(hr_gen_create(&c, &g), HR_OK);
  hr_gen_truth_t t;
  hr_gen_truth(g, 20000, &t);
  assert_near(t.u_rms_v[0], 277 * 1.1, 1e-9);
  assert_near(t.u_ang_rad[0], 10 * PI / 180, 1e-9);
  assert_near(t.i_ang_rad[0], 10 * PI / 180, 1e-9);
  hr_gen_destroy(g);
  free(x);
}

/* IEEE C37.118.1 ramp: f = f0 + Rf t, phase continuous; the samples follow
 * cos(2 pi (f0 t + Rf (t - t1)^2 / 2)) and the truth frequency follows f. */
static void frequency_ramp(void **state)
{
  (void)state;
  hr_gen_cfg_t c;
  hr_gen_cfg_init(&c);
  assert_int_equal(hr_gen_cfg_preset(&c, "ramp", NULL), HR_OK);
  const size_t n = 40000;
  int n_ch;
  float *x = gen_block(&c, n, &n_ch);
  for (size_t k = 0; k < n; k += 3) {
    double t = k / 8000.0, q;
    if (t < 0.5)
      q = 0;
    else if (t < 4.5)
      q = 0.5 * (t - 0.5) * (t - 0.5);
    else
      q = 8 + 4 * (t - 4.5);
    double want = sqrt(2) * 277 * cos(2 * PI * (58 * t + q));
    assert_near(x[k * n_ch], want, 5e-3);
  }
  hr_gen_t *g = NULL;
  assert_int_equal(hr_gen_create(&c, &g), HR_OK);
  hr_gen_truth_t t;
  hr_gen_truth(g, 2000, &t);
  assert_near(t.f_hz, 58, 1e-12);
  assert_near(t.rocof_hz_per_s, 0, 0);
  hr_gen_truth(g, 20000, &t); /* 2.5 s */
  assert_near(t.f_hz, 60, 1e-12);
  assert_near(t.rocof_hz_per_s, 1, 0);
  hr_gen_truth(g, 39000, &t);
  assert_near(t.f_hz, 62, 1e-12);
  /* Consistency: the truth angle advances at 2 pi (f - f_nom). */
  hr_gen_truth_t a, b;
  hr_gen_truth(g, 12000, &a);
  hr_gen_truth(g, 12001, &b);
  double d = remainder(b.u_ang_rad[0] - a.u_ang_rad[0], 2 * PI) * 8000 / (2 * PI);
  assert_near(d + 60, 0.5 * (a.f_hz + b.f_hz), 1e-6);
  hr_gen_destroy(g);
  free(x);
}

/* IEEE C37.118.1 bandwidth test:
 * x = Xm[1 + kx cos(w t)] cos(w0 t + ka cos(w t - pi)). */
static void modulation(void **state)
{
  (void)state;
  hr_gen_cfg_t c;
  hr_gen_cfg_init(&c);
  c.am_kx = 0.1;
  c.am_f_hz = 2;
  c.pm_ka_rad = 0.1;
  c.pm_f_hz = 2;
  const size_t n = 8000;
  int n_ch;
  float *x = gen_block(&c, n, &n_ch);
  for (size_t k = 0; k < n; k++) {
    double t = k / 8000.0, w = 2 * PI * 2;
    double want =
        sqrt(2) * 277 * (1 + 0.1 * cos(w * t)) * cos(2 * PI * 60 * t + 0.1 * cos(w * t - PI));
    assert_near(x[k * n_ch], want, 2e-3);
  }
  hr_gen_t *g = NULL;
  assert_int_equal(hr_gen_create(&c, &g), HR_OK);
  for (int64_t k = 100; k < 8000; k += 700) {
    hr_gen_truth_t a, b;
    hr_gen_truth(g, k, &a);
    hr_gen_truth(g, k + 1, &b);
    double t = k / 8000.0, w = 2 * PI * 2;
    assert_near(a.u_rms_v[0], 277 * (1 + 0.1 * cos(w * t)), 1e-9);
    assert_near(a.u_ang_rad[0], 0.1 * cos(w * t - PI), 1e-9);
    /* Frequency = nominal + d(angle)/dt / 2 pi, checked by finite difference. */
    double f_fd = 60 + (b.u_ang_rad[0] - a.u_ang_rad[0]) * 8000 / (2 * PI);
    assert_near(f_fd, 0.5 * (a.f_hz + b.f_hz), 1e-5);
    double rocof_fd = (b.f_hz - a.f_hz) * 8000;
    assert_near(rocof_fd, 0.5 * (a.rocof_hz_per_s + b.rocof_hz_per_s), 1e-3);
  }
  hr_gen_destroy(g);
  free(x);
}

/* Off-nominal frequency: the truth phasor rotates at 2 pi (f - f_nom). */
static void off_nominal_phasor(void **state)
{
  (void)state;
  hr_gen_cfg_t c;
  hr_gen_cfg_init(&c);
  c.f_hz = 60.5;
  c.t0_ns = 1000000000LL * 1700000000LL;
  hr_gen_t *g = NULL;
  assert_int_equal(hr_gen_create(&c, &g), HR_OK);
  for (int64_t k = 0; k < 80000; k += 4321) {
    hr_gen_truth_t t;
    hr_gen_truth(g, k, &t);
    /* t0 is a whole second and 0.5 Hz * whole seconds is a whole or half
     * cycle: 1.7e9 s * 0.5 Hz = 8.5e8 cycles, whole. */
    double want = remainder(2 * PI * 0.5 * k / 8000.0, 2 * PI);
    assert_near(remainder(t.u_ang_rad[0] - want, 2 * PI), 0, 1e-8);
    assert_near(t.f_hz, 60.5, 0);
  }
  hr_gen_destroy(g);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(dip_is_sample_exact),    cmocka_unit_test(event_between_samples),
      cmocka_unit_test(swell_and_ramped_event), cmocka_unit_test(magnitude_and_phase_steps),
      cmocka_unit_test(frequency_ramp),         cmocka_unit_test(modulation),
      cmocka_unit_test(off_nominal_phasor),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
