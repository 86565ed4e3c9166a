/* Generator: exact signal content, determinism and configuration checks. */
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
  assert_int_equal(hr_gen_create(cfg, &g), HR_OK);
  assert_non_null(g);
  return g;
}

static float *gen_block(const hr_gen_cfg_t *cfg, size_t n, int *n_ch)
{
  hr_gen_t *g = make(cfg);
  *n_ch = hr_gen_n_channels(g);
  float *x = malloc(n * (size_t)*n_ch * sizeof *x);
  assert_non_null(x);
  assert_int_equal(hr_gen_fill(g, x, n), HR_OK);
  hr_gen_destroy(g);
  return x;
}

static double rms(const float *x, size_t n, int n_ch, int ch)
{
  double s = 0;
  for (size_t k = 0; k < n; k++)
    s += (double)x[k * n_ch + ch] * x[k * n_ch + ch];
  return sqrt(s / n);
}

/* A configuration that exercises every component at once. */
static void everything(hr_gen_cfg_t *c)
{
  hr_gen_cfg_init(c);
  c->has_in = 1;
  c->t0_ns = 1700000000123456789LL;
  c->f_hz = 59.7;
  c->ramp_hz_per_s = 0.8;
  c->ramp_start_s = 0.3;
  c->ramp_stop_s = 1.1;
  c->am_kx = 0.1;
  c->am_f_hz = 1.5;
  c->pm_ka_rad = 0.1;
  c->pm_f_hz = 2.5;
  hr_gen_cfg_add_amp_step(c, 0.7, 10);
  hr_gen_cfg_add_phase_step(c, 0.9, -10);
  hr_gen_cfg_set_harmonic(c, HR_GEN_U, 3, 5, 30);
  hr_gen_cfg_set_harmonic(c, HR_GEN_U, 5, 4, 0);
  hr_gen_cfg_set_harmonic(c, HR_GEN_I, 5, 20, 45);
  hr_gen_cfg_add_interharmonic(c, HR_GEN_U, 175, 2, 10);
  hr_gen_cfg_add_interharmonic(c, HR_GEN_I, 333.3, 1, 0);
  hr_gen_event_t dip = {HR_GEN_EVENT_DIP, 0.5, 0.2, 40, HR_GEN_PHASE_B, 0.01};
  hr_gen_cfg_add_event(c, &dip);
  hr_gen_event_t swell = {HR_GEN_EVENT_SWELL, 1.2, 0.3, 115, HR_GEN_PHASE_ALL, 0};
  hr_gen_cfg_add_event(c, &swell);
  c->u_noise_pct = 0.5;
  c->i_noise_pct = 1;
  c->u_dc_pct = 0.2;
  c->i_dc_pct = -0.3;
  c->pf = 0.85;
}

/* RMS over a whole number of cycles equals sqrt(sum of squares) of the
 * configured components: 60 cycles at 60 Hz are exactly 8000 samples. */
static void rms_matches_sum_of_squares(void **state)
{
  (void)state;
  hr_gen_cfg_t c;
  hr_gen_cfg_init(&c);
  c.u_v = 230;
  c.i_a = 50;
  hr_gen_cfg_set_harmonic(&c, HR_GEN_U, 3, 10, 20);
  hr_gen_cfg_set_harmonic(&c, HR_GEN_U, 5, 5, -70);
  hr_gen_cfg_set_harmonic(&c, HR_GEN_U, 7, 3, 180);
  hr_gen_cfg_set_harmonic(&c, HR_GEN_I, 11, 8, 0);
  int n_ch;
  const size_t n = 8000;
  float *x = gen_block(&c, n, &n_ch);
  assert_int_equal(n_ch, 6);
  double u_true = 230 * sqrt(1 + 0.01 + 0.0025 + 0.0009);
  double i_true = 50 * sqrt(1 + 0.0064);
  for (int ch = 0; ch < 3; ch++) {
    assert_near(rms(x, n, n_ch, ch), u_true, u_true * 1e-6);
    assert_near(rms(x, n, n_ch, 3 + ch), i_true, i_true * 1e-6);
  }
  free(x);
}

/* The waveform is exactly sqrt2*U*cos(2 pi f t + phi_k): check sample values
 * against the formula, phase order a, b = -120, c = +120 deg. */
static void samples_match_formula(void **state)
{
  (void)state;
  hr_gen_cfg_t c;
  hr_gen_cfg_init(&c);
  c.f_hz = 61.3;
  c.load = HR_GEN_LOAD_LINEAR;
  c.pf = 0.8;
  c.pf_leading = 1;
  int n_ch;
  const size_t n = 3000;
  float *x = gen_block(&c, n, &n_ch);
  const double ph[3] = {0, -2 * PI / 3, 2 * PI / 3};
  double psi = acos(0.8);
  for (size_t k = 0; k < n; k++) {
    double th = 2 * PI * 61.3 * k / 8000.0;
    for (int p = 0; p < 3; p++) {
      assert_near(x[k * n_ch + p], sqrt(2) * 277 * cos(th + ph[p]), 1e-3);
      assert_near(x[k * n_ch + 3 + p], sqrt(2) * 100 * cos(th + ph[p] + psi), 1e-3);
    }
  }
  free(x);
}

/* Mean of the sum of v*i over whole cycles equals the truth power, which
 * equals the IEEE 1459 sum of P1 and P5 computed here by hand. */
static void mean_vi_equals_truth_power(void **state)
{
  (void)state;
  hr_gen_cfg_t c;
  hr_gen_cfg_init(&c);
  c.pf = 0.8;
  hr_gen_cfg_set_harmonic(&c, HR_GEN_U, 5, 6, 30);
  hr_gen_cfg_set_harmonic(&c, HR_GEN_I, 5, 25, -40);
  hr_gen_cfg_set_harmonic(&c, HR_GEN_I, 7, 10, 0); /* no voltage h7: no power */
  int n_ch;
  const size_t n = 8000;
  float *x = gen_block(&c, n, &n_ch);
  double p = 0;
  for (size_t k = 0; k < n; k++)
    for (int q = 0; q < 3; q++)
      p += (double)x[k * n_ch + q] * x[k * n_ch + 3 + q];
  p /= n;
  double psi = -acos(0.8);
  /* h5 of the current is referenced to 5*(theta + psi). */
  double p_hand = 3 * (277 * 100 * 0.8 +
                       277 * 0.06 * 100 * 0.25 * cos(30 * PI / 180 - (5 * psi - 40 * PI / 180)));
  hr_gen_t *g = make(&c);
  double p_truth = hr_gen_power_w(g, 1234);
  hr_gen_truth_t t;
  assert_int_equal(hr_gen_truth(g, 1234, &t), HR_OK);
  assert_near(p_truth, p_hand, 1e-6 * p_hand);
  assert_near(p, p_hand, 1e-5 * p_hand);
  assert_near(t.q1_var, 3 * 277 * 100 * 0.6, 1e-6 * 3 * 277 * 100);
  assert_near(t.u_rms_v[1], 277, 1e-9);
  assert_near(t.i_ang_rad[0], psi, 1e-9);
  hr_gen_destroy(g);
  free(x);
}

/* 3P3W: channels are line-to-line (u_v is L-L), line currents sum to zero,
 * and the two-wattmeter power equals the truth. */
static void three_wire_is_line_to_line(void **state)
{
  (void)state;
  hr_gen_cfg_t c;
  hr_gen_cfg_init(&c);
  c.layout = HR_LAYOUT_3P3W;
  c.u_v = 480;
  c.pf = 0.9;
  hr_gen_cfg_set_harmonic(&c, HR_GEN_I, 3, 30, 0); /* zero-sequence: cannot flow */
  hr_gen_cfg_set_harmonic(&c, HR_GEN_I, 5, 10, 0);
  int n_ch;
  const size_t n = 8000;
  float *x = gen_block(&c, n, &n_ch);
  assert_int_equal(n_ch, 6);
  double p = 0;
  for (size_t k = 0; k < n; k++) {
    const float *f = &x[k * n_ch];
    assert_near((double)f[3] + f[4] + f[5], 0, 1e-4);
    /* uab*ia - ubc*ic: two-wattmeter method with b as the common line. */
    p += (double)f[0] * f[3] - (double)f[1] * f[5];
  }
  p /= n;
  for (int ch = 0; ch < 3; ch++)
    assert_near(rms(x, n, n_ch, ch), 480, 480 * 1e-6);
  /* The triplen was removed: ia RMS holds only h1 and h5. */
  assert_near(rms(x, n, n_ch, 3), 100 * sqrt(1 + 0.01), 1e-4);
  hr_gen_t *g = make(&c);
  hr_gen_truth_t t;
  assert_int_equal(hr_gen_truth(g, 100, &t), HR_OK);
  assert_near(t.p_w, sqrt(3) * 480 * 100 * 0.9, 1e-3);
  assert_near(p, t.p_w, 1e-5 * t.p_w);
  assert_near(t.u_rms_v[0], 480, 1e-9);
  /* uab leads ua by 30 degrees. */
  assert_near(t.u_ang_rad[0], PI / 6, 1e-12);
  hr_gen_destroy(g);
  free(x);
}

static void neutral_is_sum_of_phases(void **state)
{
  (void)state;
  hr_gen_cfg_t c;
  hr_gen_cfg_init(&c);
  c.has_in = 1;
  hr_gen_cfg_set_harmonic(&c, HR_GEN_I, 3, 20, 0);
  int n_ch;
  const size_t n = 8000;
  float *x = gen_block(&c, n, &n_ch);
  assert_int_equal(n_ch, 7);
  /* Balanced fundamentals cancel; the triplens add: in = 3 * 20 A. */
  assert_near(rms(x, n, n_ch, 6), 60, 1e-3);
  free(x);
}

/* Any chunking gives the same bits as one fill, and seeking lands on the
 * same samples. */
static void check_block_size_independent(const hr_gen_cfg_t *cfg)
{
  hr_gen_cfg_t c = *cfg;
  const size_t n = 12000;
  int n_ch;
  float *one = gen_block(&c, n, &n_ch);
  float *chunked = malloc(n * n_ch * sizeof *chunked);
  static const size_t sizes[] = {1, 7, 1000};
  for (unsigned s = 0; s < 3; s++) {
    hr_gen_t *g = make(&c);
    memset(chunked, 0, n * n_ch * sizeof *chunked);
    for (size_t done = 0; done < n;) {
      size_t m = n - done < sizes[s] ? n - done : sizes[s];
      assert_int_equal(hr_gen_fill(g, chunked + done * n_ch, m), HR_OK);
      done += m;
    }
    assert_int_equal(hr_gen_tell(g), (int64_t)n);
    assert_memory_equal(one, chunked, n * n_ch * sizeof *one);
    hr_gen_destroy(g);
  }
  hr_gen_t *g = make(&c);
  assert_int_equal(hr_gen_seek(g, 5555), HR_OK);
  assert_int_equal(hr_gen_fill(g, chunked, 100), HR_OK);
  assert_memory_equal(one + 5555 * n_ch, chunked, 100 * n_ch * sizeof *one);
  assert_int_equal(hr_gen_fill(g, chunked, 0), HR_OK);
  assert_int_equal(hr_gen_fill(NULL, chunked, 1), HR_ERR_INVALID_ARG);
  assert_int_equal(hr_gen_fill(g, NULL, 1), HR_ERR_INVALID_ARG);
  assert_int_equal(hr_gen_seek(g, -1), HR_ERR_INVALID_ARG);
  hr_gen_destroy(g);
  free(one);
  free(chunked);
}

static void block_size_independent(void **state)
{
  (void)state;
  hr_gen_cfg_t c;
  everything(&c);
  check_block_size_independent(&c);
  /* The AI rack with jitter, a step inside the block and a deep dip. */
  hr_gen_cfg_init(&c);
  c.fs_hz = 4000;
  c.has_in = 1;
  assert_int_equal(hr_gen_cfg_preset(&c, "ai-rack", NULL), HR_OK);
  c.rack.jitter_pct = 3;
  c.rack.start_s = 0.2;
  c.rack.compute_s = 0.7;
  c.rack.comm_s = 0.3;
  c.rack.iters_per_checkpoint = 2;
  c.rack.checkpoint_s = 0.5;
  c.i_noise_pct = 0.2;
  hr_gen_event_t dip = {HR_GEN_EVENT_DIP, 1.3, 0.2, 30, HR_GEN_PHASE_A, 0};
  hr_gen_cfg_add_event(&c, &dip);
  check_block_size_independent(&c);
}

static void seeds(void **state)
{
  (void)state;
  hr_gen_cfg_t c;
  everything(&c);
  const size_t n = 4000;
  int n_ch;
  float *a = gen_block(&c, n, &n_ch);
  float *b = gen_block(&c, n, &n_ch);
  assert_memory_equal(a, b, n * n_ch * sizeof *a);
  c.seed = 2;
  float *d = gen_block(&c, n, &n_ch);
  size_t differ = 0;
  for (size_t k = 0; k < n * n_ch; k++)
    differ += a[k] != d[k];
  assert_true(differ > n * n_ch * 9 / 10);
  /* Without noise the seed does not matter. */
  c.u_noise_pct = c.i_noise_pct = 0;
  float *e = gen_block(&c, n, &n_ch);
  c.seed = 77;
  float *f = gen_block(&c, n, &n_ch);
  assert_memory_equal(e, f, n * n_ch * sizeof *e);
  free(a);
  free(b);
  free(d);
  free(e);
  free(f);
}

/* Noise has the configured standard deviation and no mean; the DC offset is
 * a fraction of the nominal peak. */
static void noise_and_dc_levels(void **state)
{
  (void)state;
  hr_gen_cfg_t c;
  hr_gen_cfg_init(&c);
  const size_t n = 80000;
  int n_ch;
  float *clean = gen_block(&c, n, &n_ch);
  c.u_noise_pct = 1.0;
  c.i_noise_pct = 2.0;
  float *noisy = gen_block(&c, n, &n_ch);
  for (int ch = 0; ch < n_ch; ch++) {
    double s = 0, s2 = 0;
    for (size_t k = 0; k < n; k++) {
      double d = (double)noisy[k * n_ch + ch] - clean[k * n_ch + ch];
      s += d;
      s2 += d * d;
    }
    double mean = s / n, sd = sqrt(s2 / n - mean * mean);
    double want = ch < 3 ? 2.77 : 2.0;
    assert_near(sd, want, 0.02 * want); /* 80000 draws: +-0.5 % (1 sigma) */
    assert_near(mean, 0, 4 * want / sqrt(n));
  }
  c.u_noise_pct = c.i_noise_pct = 0;
  c.u_dc_pct = 1;
  c.i_dc_pct = -2;
  float *dc = gen_block(&c, 8000, &n_ch);
  for (int ch = 0; ch < n_ch; ch++) {
    double s = 0;
    for (size_t k = 0; k < 8000; k++)
      s += dc[k * n_ch + ch];
    double want = ch < 3 ? 0.01 * sqrt(2) * 277 : -0.02 * sqrt(2) * 100;
    assert_near(s / 8000, want, 1e-4);
  }
  free(clean);
  free(noisy);
  free(dc);
}

/* The phase is referenced to absolute time: at t0 the sample is
 * sqrt2*U*cos(2 pi f t0), computed here with integer arithmetic. */
static void absolute_time_reference(void **state)
{
  (void)state;
  hr_gen_cfg_t c;
  hr_gen_cfg_init(&c);
  c.t0_ns = 1700000000987654321LL;
  int n_ch;
  float *x = gen_block(&c, 8000, &n_ch);
  int64_t rest = c.t0_ns % 1000000000LL;
  double cyc = (double)((rest * 60) % 1000000000LL) / 1e9;
  for (int k = 0; k < 8000; k += 97) {
    double want = sqrt(2) * 277 * cos(2 * PI * (cyc + 60.0 * k / 8000));
    assert_near(x[k * n_ch], want, 2e-3);
  }
  hr_gen_t *g = make(&c);
  hr_gen_truth_t t;
  assert_int_equal(hr_gen_truth(g, 4321, &t), HR_OK);
  assert_near(t.u_ang_rad[0], 0, 1e-9); /* on-nominal: fixed phasor */
  assert_near(t.u_ang_rad[1], -2 * PI / 3, 1e-9);
  assert_true(t.t_ns == c.t0_ns + 540125000LL);
  hr_gen_destroy(g);
  free(x);
}

static void channel_names(void **state)
{
  (void)state;
  hr_gen_cfg_t c;
  hr_gen_cfg_init(&c);
  c.has_in = 1;
  hr_gen_t *g = make(&c);
  assert_string_equal(hr_gen_channel_name(g, 0), "ua_v");
  assert_string_equal(hr_gen_channel_name(g, 6), "in_a");
  assert_null(hr_gen_channel_name(g, 7));
  hr_gen_destroy(g);
  c.layout = HR_LAYOUT_3P3W;
  g = make(&c);
  assert_int_equal(hr_gen_n_channels(g), 6);
  assert_string_equal(hr_gen_channel_name(g, 1), "ubc_v");
  hr_gen_destroy(g);
  c.layout = HR_LAYOUT_1P2W;
  g = make(&c);
  assert_int_equal(hr_gen_n_channels(g), 2);
  assert_string_equal(hr_gen_channel_name(g, 1), "i1_a");
  hr_gen_destroy(g);
}

static void expect_bad(const hr_gen_cfg_t *c, int code, const char *field)
{
  hr_diag_t e;
  assert_int_equal(hr_gen_cfg_check(c, &e), code);
  assert_int_equal(e.code, code);
  /* field: the member; a list entry adds its index ("events[2]"). */
  if (field) {
    size_t n = strcspn(e.field, "[");
    assert_int_equal(n, strlen(field));
    assert_memory_equal(e.field, field, n);
  }
  assert_true(strlen(e.message) > 0);
  hr_gen_t *g = (hr_gen_t *)&e; /* must be overwritten with NULL */
  assert_int_equal(hr_gen_create(c, &g), code);
  assert_null(g);
}

static void invalid_configs_rejected(void **state)
{
  (void)state;
  hr_gen_cfg_t c;
  hr_gen_cfg_init(&c);
  assert_int_equal(hr_gen_cfg_check(&c, NULL), HR_OK);
  assert_int_equal(hr_gen_cfg_check(NULL, NULL), HR_ERR_INVALID_ARG);
  assert_int_equal(hr_gen_create(&c, NULL), HR_ERR_INVALID_ARG);

  c.fs_hz = 0;
  expect_bad(&c, HR_ERR_INVALID_ARG, "fs_hz");
  c.fs_hz = -8000;
  expect_bad(&c, HR_ERR_INVALID_ARG, "fs_hz");
  c.fs_hz = NAN;
  expect_bad(&c, HR_ERR_INVALID_ARG, "fs_hz");
  hr_gen_cfg_init(&c);
  c.f_hz = 4000;
  expect_bad(&c, HR_ERR_RANGE, "f_hz");
  hr_gen_cfg_init(&c);
  c.layout = (hr_layout_t)9;
  expect_bad(&c, HR_ERR_INVALID_ARG, "layout");
  hr_gen_cfg_init(&c);
  c.u_v = -1;
  expect_bad(&c, HR_ERR_INVALID_ARG, "u_v");

  /* Harmonic 67 at 60 Hz is 4020 Hz, above the 4000 Hz Nyquist. */
  hr_gen_cfg_init(&c);
  hr_gen_cfg_set_harmonic(&c, HR_GEN_U, 5, 3, 0);
  hr_gen_cfg_set_harmonic(&c, HR_GEN_U, 67, 1, 0);
  hr_diag_t e;
  assert_int_equal(hr_gen_cfg_check(&c, &e), HR_ERR_RANGE);
  assert_string_equal(e.field, "u_harm[1]");
  c.u_harm[1].order = 66; /* 3960 Hz: fine, until a ramp pushes it up */
  assert_int_equal(hr_gen_cfg_check(&c, NULL), HR_OK);
  c.ramp_hz_per_s = 1;
  c.ramp_start_s = 0;
  c.ramp_stop_s = 2;
  expect_bad(&c, HR_ERR_RANGE, "u_harm");
  hr_gen_cfg_init(&c);
  hr_gen_cfg_set_harmonic(&c, HR_GEN_I, 1, 3, 0);
  expect_bad(&c, HR_ERR_INVALID_ARG, "i_harm");
  hr_gen_cfg_init(&c);
  c.n_u_harm = 2;
  c.u_harm[0] = (hr_gen_harmonic_t){3, 1, 0};
  c.u_harm[1] = (hr_gen_harmonic_t){3, 2, 0};
  expect_bad(&c, HR_ERR_INVALID_ARG, "u_harm");
  c.n_u_harm = HR_GEN_MAX_HARM + 1;
  expect_bad(&c, HR_ERR_RANGE, "u_harm");
  hr_gen_cfg_init(&c);
  hr_gen_cfg_add_interharmonic(&c, HR_GEN_U, 4500, 1, 0);
  expect_bad(&c, HR_ERR_RANGE, "u_iharm");

  /* Events. */
  hr_gen_cfg_init(&c);
  hr_gen_event_t ev = {HR_GEN_EVENT_DIP, 1.0, -0.1, 50, HR_GEN_PHASE_ALL, 0};
  hr_gen_cfg_add_event(&c, &ev);
  expect_bad(&c, HR_ERR_INVALID_ARG, "events");
  c.events[0].duration_s = 0.1;
  c.events[0].start_s = -1;
  expect_bad(&c, HR_ERR_INVALID_ARG, "events");
  c.events[0].start_s = 1;
  c.events[0].residual_pct = 120; /* a dip above 100 % */
  expect_bad(&c, HR_ERR_RANGE, "events");
  c.events[0].kind = HR_GEN_EVENT_INTERRUPTION;
  c.events[0].residual_pct = 30;
  expect_bad(&c, HR_ERR_RANGE, "events");
  c.events[0].residual_pct = 0;
  c.events[0].phases = 0;
  expect_bad(&c, HR_ERR_INVALID_ARG, "events");
  c.events[0].phases = HR_GEN_PHASE_A;
  c.events[0].kind = (hr_gen_event_kind_t)0;
  expect_bad(&c, HR_ERR_INVALID_ARG, "events");
  c.events[0].kind = HR_GEN_EVENT_DIP;
  c.events[0].ramp_s = 0.2;
  expect_bad(&c, HR_ERR_RANGE, "events");
  c.events[0].ramp_s = 0.05;
  assert_int_equal(hr_gen_cfg_check(&c, NULL), HR_OK);

  /* Ramps, modulation, steps, measurement effects. */
  hr_gen_cfg_init(&c);
  c.ramp_hz_per_s = 1;
  c.ramp_start_s = 2;
  c.ramp_stop_s = 1;
  expect_bad(&c, HR_ERR_INVALID_ARG, "ramp");
  c.ramp_stop_s = 100; /* 60 + 98 Hz: fine */
  assert_int_equal(hr_gen_cfg_check(&c, NULL), HR_OK);
  c.ramp_hz_per_s = -1; /* 60 - 98 Hz: below zero */
  expect_bad(&c, HR_ERR_RANGE, "ramp");
  hr_gen_cfg_init(&c);
  c.am_kx = 1.5;
  expect_bad(&c, HR_ERR_RANGE, "am");
  hr_gen_cfg_init(&c);
  c.pf = 1.2;
  expect_bad(&c, HR_ERR_RANGE, "pf");
  hr_gen_cfg_init(&c);
  hr_gen_cfg_add_amp_step(&c, -1, 10);
  expect_bad(&c, HR_ERR_INVALID_ARG, "amp_steps");
  hr_gen_cfg_init(&c);
  c.u_noise_pct = -1;
  expect_bad(&c, HR_ERR_RANGE, "u_noise_pct");
  hr_gen_cfg_init(&c);
  c.load = (hr_gen_load_t)7;
  expect_bad(&c, HR_ERR_INVALID_ARG, "load");

  /* List helpers report a full list. */
  hr_gen_cfg_init(&c);
  for (int k = 0; k < HR_GEN_MAX_HARM; k++)
    assert_int_equal(hr_gen_cfg_set_harmonic(&c, HR_GEN_U, k + 2, 0.1, 0), HR_OK);
  assert_int_equal(hr_gen_cfg_set_harmonic(&c, HR_GEN_U, 99, 0.1, 0), HR_ERR_RANGE);
  assert_int_equal(hr_gen_cfg_set_harmonic(&c, HR_GEN_U, 2, 0.5, 0), HR_OK); /* replace */
  assert_near(c.u_harm[0].pct, 0.5, 0);
}

static void presets_all_valid(void **state)
{
  (void)state;
  int k;
  for (k = 0; hr_gen_preset_name(k); k++) {
    for (int layout = 1; layout <= 3; layout++) {
      hr_gen_cfg_t c;
      hr_gen_cfg_init(&c);
      c.layout = (hr_layout_t)layout;
      c.f_nom_hz = layout == 2 ? 50 : 60;
      double s = 0;
      assert_int_equal(hr_gen_cfg_preset(&c, hr_gen_preset_name(k), &s), HR_OK);
      assert_true(s > 0);
      assert_int_equal((int)c.layout, layout);
      hr_diag_t e;
      int rc = hr_gen_cfg_check(&c, &e);
      if (rc != HR_OK)
        fail_msg("preset %s: %s", hr_gen_preset_name(k), e.message);
      assert_non_null(hr_gen_preset_summary(k));
    }
  }
  assert_true(k >= 10);
  hr_gen_cfg_t c;
  hr_gen_cfg_init(&c);
  assert_int_equal(hr_gen_cfg_preset(&c, "nope", NULL), HR_ERR_NOT_FOUND);
  assert_int_equal(hr_gen_cfg_preset(&c, "iec-freq", NULL), HR_OK);
  assert_near(c.f_hz, 60.5, 0);
  assert_int_equal(c.n_u_harm, 2);
  assert_near(c.u_iharm[0].f_hz, 450, 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(rms_matches_sum_of_squares),
      cmocka_unit_test(samples_match_formula),
      cmocka_unit_test(mean_vi_equals_truth_power),
      cmocka_unit_test(three_wire_is_line_to_line),
      cmocka_unit_test(neutral_is_sum_of_phases),
      cmocka_unit_test(block_size_independent),
      cmocka_unit_test(seeds),
      cmocka_unit_test(noise_and_dc_levels),
      cmocka_unit_test(absolute_time_reference),
      cmocka_unit_test(channel_names),
      cmocka_unit_test(invalid_configs_rejected),
      cmocka_unit_test(presets_all_valid),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
