/* The power-swing stage (swing.h) in C: configuration checks with the field
 * named, the FFT interface on odd lengths against a direct DFT, records that
 * do not depend on push block sizes or on the pull queue, the spectrum's
 * Parseval sum, limit events closed by hr_meter_finish, and reset.  The
 * measurement values themselves are checked against NumPy in
 * test_swing_oracle.py. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "headroom/pq.h"
#include "pq/fft.h"

static void cfg_base(hr_meter_cfg_t *cfg)
{
  hr_meter_cfg_init(cfg, 8000.0, 60.0, 230.0, HR_LAYOUT_3P4W);
  cfg->records = HR_RECMASK(HR_REC_SWING) | HR_RECMASK(HR_REC_EVENT);
}

static void refused(const hr_meter_cfg_t *cfg, const char *field)
{
  hr_diag_t d;
  assert_int_equal(hr_meter_cfg_check(cfg, &d), HR_ERR_RANGE);
  assert_string_equal(d.field, field);
}

static void cfg_checks(void **state)
{
  (void)state;
  hr_meter_cfg_t cfg, c;
  cfg_base(&cfg);
  assert_int_equal(hr_meter_cfg_check(&cfg, NULL), HR_OK);
  c = cfg;
  c.swing.window_s[0] = 0.127; /* 127 ms: prime */
  refused(&c, "swing.window_s[0]");
  c = cfg;
  c.swing.window_s[1] = 0.1; /* below 125 ms */
  refused(&c, "swing.window_s[1]");
  c = cfg;
  c.swing.window_s[1] = 1.0005; /* not whole ms */
  refused(&c, "swing.window_s[1]");
  c = cfg;
  c.swing.n_windows = 0;
  refused(&c, "swing.n_windows");
  c = cfg;
  c.swing.n_bands = HR_SWING_MAX_BANDS + 1;
  refused(&c, "swing.n_bands");
  c = cfg;
  c.swing.band_lo_hz[1] = 40.0; /* above hi */
  refused(&c, "swing.band_lo_hz[1]");
  c = cfg;
  c.swing.band_limit_w[0] = -1.0;
  refused(&c, "swing.band_limit_w[0]");
  c = cfg;
  c.swing.ramp_window_s[0] = 0.0004;
  refused(&c, "swing.ramp_window_s[0]");
  c = cfg;
  c.swing.ramp_limit_w_per_s[0] = NAN;
  refused(&c, "swing.ramp_limit_w_per_s[0]");
  c = cfg;
  c.swing.hysteresis_pct = 100.0;
  refused(&c, "swing.hysteresis_pct");
  /* Without HR_REC_SWING the block is not looked at. */
  c.records = HR_RECMASK_ALL;
  assert_int_equal(hr_meter_cfg_check(&c, NULL), HR_OK);
}

/* hr__fft_real on odd and even lengths against the DFT's definition. */
static void fft_odd_lengths(void **state)
{
  (void)state;
  static const int ns[] = {9, 15, 125, 250, 375};
  for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++) {
    int n = ns[t], nk = n / 2 + 1;
    double *x = malloc(sizeof *x * (size_t)n), *re = malloc(sizeof *re * (size_t)nk),
           *im = malloc(sizeof *im * (size_t)nk);
    assert_non_null(x);
    assert_non_null(re);
    assert_non_null(im);
    for (int j = 0; j < n; j++)
      x[j] = sin(0.37 * j * j + 1.0) + 0.25 * cos(2 * M_PI * 3.0 * j / n);
    hr__fft_t *f = hr__fft_create(n);
    assert_non_null(f);
    hr__fft_real(f, x, nk, re, im);
    for (int k = 0; k < nk; k++) {
      long double a = 0, b = 0;
      for (int j = 0; j < n; j++) {
        long double ph = -2.0L * M_PI * (long double)j * k / n;
        a += x[j] * cosl(ph);
        b += x[j] * sinl(ph);
      }
      /* float transform: about 1e-7 of the input's scale times log n */
      assert_true(fabs(re[k] - (double)a) < 1e-5 * n);
      assert_true(fabs(im[k] - (double)b) < 1e-5 * n);
    }
    hr__fft_destroy(f);
    free(x);
    free(re);
    free(im);
  }
  assert_null(hr__fft_create(1));
}

/* A square power swing (2.5 Hz, 40 % to 100 %) on a 3P4W load. */
static float *swing_frames(size_t n)
{
  float *x = malloc(n * 6 * sizeof *x);
  assert_non_null(x);
  for (size_t k = 0; k < n; k++) {
    double t = (double)k / 8000.0;
    double env = fmod(t * 2.5, 1.0) < 0.5 ? 1.0 : 0.4;
    for (int p = 0; p < 3; p++) {
      double ph = 2 * M_PI * 60.0 * t - 2 * M_PI * p / 3;
      x[k * 6 + p] = (float)(230 * M_SQRT2 * sin(ph));
      x[k * 6 + 3 + p] = (float)(100 * env * M_SQRT2 * sin(ph));
    }
  }
  return x;
}

typedef struct collect {
  hr_record_t recs[256];
  double parseval[256]; /* sum of the spectrum's squares (callback only) */
  int n;
} collect_t;

static void on_record(const hr_record_t *rec, void *user)
{
  collect_t *c = user;
  assert_true(c->n < 256);
  hr_record_t *r = &c->recs[c->n];
  memset(r, 0, sizeof *r);
  memcpy(r, rec,
         offsetof(hr_record_t, u) +
             (rec->kind == HR_REC_SWING ? sizeof rec->u.swing : sizeof rec->u.event));
  c->parseval[c->n] = -1.0;
  if (rec->kind == HR_REC_SWING) {
    assert_non_null(rec->u.swing.spectrum_w);
    double s = 0.0;
    for (int k = 0; k < rec->u.swing.n_bins; k++)
      s += rec->u.swing.spectrum_w[k] * rec->u.swing.spectrum_w[k];
    c->parseval[c->n] = s;
    r->u.swing.spectrum_w = NULL;
  }
  c->n++;
}

static void run(const hr_meter_cfg_t *cfg, const float *x, size_t n, size_t block, collect_t *c)
{
  hr_meter_t *m;
  assert_int_equal(hr_meter_create(cfg, &m), HR_OK);
  hr_meter_set_callback(m, on_record, c);
  c->n = 0;
  for (size_t k = 0; k < n; k += block)
    assert_int_equal(hr_meter_push(m, x + k * 6, n - k < block ? n - k : block, NULL), HR_OK);
  hr_meter_finish(m);
  hr_meter_destroy(m);
}

/* A pulled record, stored as on_record stores one. */
static void keep(collect_t *c, const hr_record_t *rec)
{
  assert_true(c->n < 256);
  if (rec->kind == HR_REC_SWING)
    assert_null(rec->u.swing.spectrum_w);
  hr_record_t *r = &c->recs[c->n++];
  memset(r, 0, sizeof *r);
  memcpy(r, rec,
         offsetof(hr_record_t, u) +
             (rec->kind == HR_REC_SWING ? sizeof rec->u.swing : sizeof rec->u.event));
}

static void same_records(const collect_t *a, const collect_t *b)
{
  assert_int_equal(a->n, b->n);
  for (int k = 0; k < a->n; k++)
    assert_memory_equal(&a->recs[k], &b->recs[k], sizeof a->recs[k]);
}

static void blocks_pull_finish_reset(void **state)
{
  (void)state;
  const size_t n = 8000 * 3;
  float *x = swing_frames(n);
  hr_meter_cfg_t cfg;
  cfg_base(&cfg);
  cfg.swing.n_windows = 2;
  cfg.swing.window_s[0] = 0.125;
  cfg.swing.window_s[1] = 1.0;
  cfg.swing.ramp_window_s[0] = 0.05;
  cfg.swing.ramp_limit_w_per_s[0] = 1e9; /* never */
  cfg.swing.band_limit_w[0] = 1.0;       /* 0.1-2 Hz: on at once, open at the end */
  static collect_t a, b;
  run(&cfg, x, n, n, &a);
  /* 23 windows of 125 ms and 2 of 1 s (the third needs the tick at 3 s); a
   * band event starts at the second 1-s window (the first has the startup)
   * and is closed by finish. */
  int n_sw = 0, n_start = 0, n_open = 0;
  for (int k = 0; k < a.n; k++) {
    const hr_record_t *r = &a.recs[k];
    if (r->kind == HR_REC_SWING) {
      n_sw++;
      double v = r->u.swing.swing_rms_w * r->u.swing.swing_rms_w;
      assert_true(fabs(a.parseval[k] - v) <= 1e-5 * v + 1e-6);
      assert_int_equal(r->u.swing.n_bins, (int)(r->dur_ns / 1000000) / 2 + 1);
    } else {
      assert_int_equal(r->u.event.type, HR_EVT_SWING_LIMIT);
      assert_int_equal(r->u.event.alarm_index, HR_SWING_BAND_LIMIT0);
      n_start += !r->u.event.ended;
      n_open += r->u.event.ended && (r->flags & HR_FLAG_OPEN);
    }
  }
  assert_int_equal(n_sw, 23 + 2);
  assert_int_equal(n_start, 1);
  assert_int_equal(n_open, 1);

  static const size_t blocks[] = {1, 7, 160, 4096};
  for (size_t t = 0; t < sizeof blocks / sizeof blocks[0]; t++) {
    run(&cfg, x, n, blocks[t], &b);
    same_records(&a, &b);
  }

  /* The pull queue gives the same records without the spectrum; after a
   * reset the meter starts over. */
  hr_meter_t *m;
  assert_int_equal(hr_meter_create(&cfg, &m), HR_OK);
  for (int pass = 0; pass < 2; pass++) {
    b.n = 0;
    size_t k = 0;
    hr_record_t rec;
    while (k < n) {
      size_t done = 0;
      hr_meter_push(m, x + k * 6, n - k, &done);
      k += done;
      while (hr_meter_pull(m, &rec))
        keep(&b, &rec);
    }
    assert_int_equal(hr_meter_finish(m), HR_OK);
    while (hr_meter_pull(m, &rec))
      keep(&b, &rec);
    same_records(&a, &b);
    hr_meter_reset(m);
  }
  hr_meter_destroy(m);
  free(x);
}

/* The dominant oscillation in bin 1 (fuzz/reproducers/meter-swing-hann-bin-0:
 * its left neighbour is bin 0, whose Hann value needs X_{-1} = conj(X_1)): a
 * sinusoidal swing of exactly 1 Hz in 1-s windows gives 1 Hz and its
 * amplitude times the one-cycle boxcar's gain sinc(1/60). */
static void peak_at_bin_1(void **state)
{
  (void)state;
  const size_t n = 8000 * 4;
  float *x = malloc(n * 6 * sizeof *x);
  assert_non_null(x);
  const double p0 = 3 * 230.0 * 100.0, a = 0.3 * p0; /* W */
  for (size_t k = 0; k < n; k++) {
    double t = (double)k / 8000.0;
    double env = 1.0 + a / p0 * sin(2 * M_PI * 1.0 * t + 0.7);
    for (int p = 0; p < 3; p++) {
      double ph = 2 * M_PI * 60.0 * t - 2 * M_PI * p / 3;
      x[k * 6 + p] = (float)(230 * M_SQRT2 * sin(ph));
      x[k * 6 + 3 + p] = (float)(100 * env * M_SQRT2 * sin(ph));
    }
  }
  hr_meter_cfg_t cfg;
  cfg_base(&cfg);
  cfg.swing.n_windows = 1;
  cfg.swing.window_s[0] = 1.0;
  static collect_t c;
  run(&cfg, x, n, 8000, &c);
  const double gain = sin(M_PI / 60.0) / (M_PI / 60.0);
  int seen = 0;
  for (int k = 0; k < c.n; k++) {
    const hr_record_t *r = &c.recs[k];
    if (r->kind != HR_REC_SWING || (r->flags & HR_FLAG_STARTUP))
      continue;
    seen++;
    assert_true(fabs(r->u.swing.dom_freq_hz - 1.0) < 1e-3);
    assert_true(fabs(r->u.swing.dom_amp_w - a * gain) < 1e-3 * a);
  }
  assert_int_equal(seen, 2);
  free(x);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(cfg_checks),
      cmocka_unit_test(fft_odd_lengths),
      cmocka_unit_test(blocks_pull_finish_reset),
      cmocka_unit_test(peak_at_bin_1),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
