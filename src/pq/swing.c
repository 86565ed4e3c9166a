/* Power-swing analytics on the meter's 1-ms total power series (swing.h):
 * per window a power-envelope spectrum, the dominant oscillation, the
 * energy per band and the largest ramp rates, with limit events.  Everything
 * is sized at creation; the 1-ms path allocates nothing. */
#include "swing_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fft.h"
#include "meter_int.h"

#define N_LIMITS (HR_SWING_MAX_RAMPS + HR_SWING_MAX_BANDS)

typedef struct sw_win {
  int n; /* ticks in the window */
  hr__fft_t *fft;
  double *x, *re, *im, *spec;      /* n, n/2+1, n/2+1, n/2+1 values */
  int64_t j0;                      /* first tick of the window being filled */
  uint32_t flags;                  /* OR of its ticks' flags */
  double ramp[HR_SWING_MAX_RAMPS]; /* largest |ramp| so far, signed */
} sw_win_t;

typedef struct sw_limit {
  int active;
  int64_t start_ns;
  double extreme;
} sw_limit_t;

struct hr__swing_stage {
  hr_swing_cfg_t cfg;
  sw_win_t w[HR_SWING_MAX_WINDOWS];
  int longest; /* the window the band limits are checked on */
  int ramp_n[HR_SWING_MAX_RAMPS];
  double *ring; /* the 1-ms series, tick j at ring[j & mask] */
  uint32_t mask;
  int64_t j;            /* ticks seen: the next tick is number j */
  int64_t startup_last; /* last tick flagged HR_FLAG_STARTUP, -1 if none */
  double last_pos;      /* position of the last tick (sample units) */
  sw_limit_t lim[N_LIMITS];
};

/* ---- configuration ------------------------------------------------------- */

/* Whole milliseconds in s, or -1 when s is not a whole number of them. */
static long whole_ms(double s)
{
  double ms = s * 1000.0;
  if (!isfinite(ms) || ms < 0.5 || ms > 1e9)
    return -1;
  long k = lround(ms);
  return fabs(ms - (double)k) <= 1e-6 * fmax(1.0, ms) ? k : -1;
}

static int smooth_235(long n)
{
  static const int p[3] = {2, 3, 5};
  for (int k = 0; k < 3; k++)
    while (n % p[k] == 0)
      n /= p[k];
  return n == 1;
}

void hr__swing_cfg_defaults(hr_swing_cfg_t *c)
{
  memset(c, 0, sizeof *c);
  c->n_windows = 2;
  c->window_s[0] = 0.125;
  c->window_s[1] = 10.0;
  /* The oscillation bands of "Power Stabilization for AI Training
   * Datacenters" (arXiv 2508.14318, ../shared/reference/orchestration.md). */
  c->n_bands = 2;
  c->band_lo_hz[0] = 0.1;
  c->band_hi_hz[0] = 2.0;
  c->band_lo_hz[1] = 3.0;
  c->band_hi_hz[1] = 30.0;
  c->n_ramps = 1;
  c->ramp_window_s[0] = 1.0;
  c->hysteresis_pct = 10.0;
}

#define CHECK(cond, field, ...)                                                                    \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      return hr__diag_fail(diag, HR_ERR_RANGE, 0, 0, field, __VA_ARGS__);                          \
  } while (0)

int hr__swing_cfg_check(const hr_meter_cfg_t *cfg, hr_diag_t *diag)
{
  const hr_swing_cfg_t *c = &cfg->swing;
  char f[48];
  CHECK(c->n_windows >= 1 && c->n_windows <= HR_SWING_MAX_WINDOWS, "swing.n_windows",
        "from 1 to %d spectrum windows (got %d)", HR_SWING_MAX_WINDOWS, c->n_windows);
  for (int k = 0; k < c->n_windows; k++) {
    snprintf(f, sizeof f, "swing.window_s[%d]", k);
    long n = whole_ms(c->window_s[k]);
    CHECK(n >= 0 && c->window_s[k] >= HR_SWING_WINDOW_MIN_S - 1e-12 &&
              c->window_s[k] <= HR_SWING_WINDOW_MAX_S,
          f, "must be a whole number of ms from %g to %g s (got %g)", HR_SWING_WINDOW_MIN_S,
          HR_SWING_WINDOW_MAX_S, c->window_s[k]);
    CHECK(smooth_235(n), f,
          "%ld ms has a prime factor above 5 (the FFT would be slow); use e.g. 125, 250, "
          "1000, 10000 ms",
          n);
  }
  CHECK(c->n_bands >= 0 && c->n_bands <= HR_SWING_MAX_BANDS, "swing.n_bands",
        "from 0 to %d bands (got %d)", HR_SWING_MAX_BANDS, c->n_bands);
  for (int b = 0; b < c->n_bands; b++) {
    snprintf(f, sizeof f, "swing.band_lo_hz[%d]", b);
    CHECK(c->band_lo_hz[b] >= 0.0 && c->band_lo_hz[b] < c->band_hi_hz[b] &&
              c->band_hi_hz[b] <= 500.0,
          f, "a band needs 0 <= lo < hi <= 500 Hz (got %g to %g)", c->band_lo_hz[b],
          c->band_hi_hz[b]);
    snprintf(f, sizeof f, "swing.band_limit_w[%d]", b);
    CHECK(c->band_limit_w[b] >= 0.0 && isfinite(c->band_limit_w[b]), f,
          "must be a finite power >= 0 W, 0 for none (got %g)", c->band_limit_w[b]);
  }
  CHECK(c->n_ramps >= 0 && c->n_ramps <= HR_SWING_MAX_RAMPS, "swing.n_ramps",
        "from 0 to %d ramp windows (got %d)", HR_SWING_MAX_RAMPS, c->n_ramps);
  for (int r = 0; r < c->n_ramps; r++) {
    snprintf(f, sizeof f, "swing.ramp_window_s[%d]", r);
    CHECK(whole_ms(c->ramp_window_s[r]) >= 1 && c->ramp_window_s[r] <= HR_SWING_WINDOW_MAX_S, f,
          "must be a whole number of ms from 0.001 to %g s (got %g)", HR_SWING_WINDOW_MAX_S,
          c->ramp_window_s[r]);
    snprintf(f, sizeof f, "swing.ramp_limit_w_per_s[%d]", r);
    CHECK(c->ramp_limit_w_per_s[r] >= 0.0 && isfinite(c->ramp_limit_w_per_s[r]), f,
          "must be a finite rate >= 0 W/s, 0 for none (got %g)", c->ramp_limit_w_per_s[r]);
  }
  CHECK(c->hysteresis_pct >= 0.0 && c->hysteresis_pct < 100.0, "swing.hysteresis_pct",
        "must be >= 0 and below 100 (got %g)", c->hysteresis_pct);
  return HR_OK;
}

/* ---- create / destroy ---------------------------------------------------- */

void hr__swing_stage_destroy(hr__swing_stage_t *s)
{
  if (!s)
    return;
  for (int k = 0; k < HR_SWING_MAX_WINDOWS; k++) {
    sw_win_t *w = &s->w[k];
    hr__fft_destroy(w->fft);
    free(w->x);
    free(w->re);
    free(w->im);
    free(w->spec);
  }
  free(s->ring);
  free(s);
}

int hr__swing_stage_create(const hr_meter_cfg_t *cfg, hr__swing_stage_t **out)
{
  *out = NULL;
  hr__swing_stage_t *s = calloc(1, sizeof *s);
  if (!s)
    return HR_ERR_NOMEM;
  s->cfg = cfg->swing;
  long need = 2;
  for (int k = 0; k < s->cfg.n_windows; k++) {
    sw_win_t *w = &s->w[k];
    w->n = (int)whole_ms(s->cfg.window_s[k]);
    size_t nb = (size_t)w->n / 2 + 1;
    w->fft = hr__fft_create(w->n);
    w->x = malloc(sizeof *w->x * (size_t)w->n);
    w->re = malloc(sizeof *w->re * nb);
    w->im = malloc(sizeof *w->im * nb);
    w->spec = malloc(sizeof *w->spec * nb);
    if (!w->fft || !w->x || !w->re || !w->im || !w->spec) {
      hr__swing_stage_destroy(s);
      return HR_ERR_NOMEM;
    }
    /* Touch every page now, not on the sample path. */
    memset(w->x, 0, sizeof *w->x * (size_t)w->n);
    memset(w->re, 0, sizeof *w->re * nb);
    memset(w->im, 0, sizeof *w->im * nb);
    memset(w->spec, 0, sizeof *w->spec * nb);
    double warm[2] = {0.0, 0.0};
    hr__fft_real(w->fft, w->x, 1, warm, warm + 1);
    if (w->n > need)
      need = w->n;
    if (w->n > s->w[s->longest].n)
      s->longest = k;
  }
  for (int r = 0; r < s->cfg.n_ramps; r++) {
    s->ramp_n[r] = (int)whole_ms(s->cfg.ramp_window_s[r]);
    if (s->ramp_n[r] + 1 > need)
      need = s->ramp_n[r] + 1;
  }
  uint32_t len = 2;
  while (len < (uint32_t)need)
    len <<= 1;
  s->mask = len - 1;
  s->ring = malloc(sizeof *s->ring * len);
  if (!s->ring) {
    hr__swing_stage_destroy(s);
    return HR_ERR_NOMEM;
  }
  memset(s->ring, 0, sizeof *s->ring * len);
  hr__swing_stage_reset(s);
  *out = s;
  return HR_OK;
}

void hr__swing_stage_reset(hr__swing_stage_t *s)
{
  if (!s)
    return;
  s->j = 0;
  s->startup_last = -1;
  s->last_pos = 0.0;
  for (int k = 0; k < s->cfg.n_windows; k++) {
    s->w[k].j0 = 0;
    s->w[k].flags = 0;
    memset(s->w[k].ramp, 0, sizeof s->w[k].ramp);
  }
  memset(s->lim, 0, sizeof s->lim);
}

/* ---- limits -------------------------------------------------------------- */

static void emit_limit(hr_meter_t *m, int index, int ended, double now_pos, int64_t start_ns,
                       int64_t end_ns, double extreme, double limit, uint32_t flags)
{
  hr_record_t rec;
  hr__meter_rec_init(m, &rec, HR_REC_EVENT);
  rec.flags = flags;
  rec.t_ns = hr__meter_t_ns(m, now_pos);
  hr_event_rec_t *e = &rec.u.event;
  e->type = HR_EVT_SWING_LIMIT;
  e->ended = ended;
  e->start_ns = start_ns;
  e->duration_ns = ended ? (end_ns > start_ns ? end_ns - start_ns : 0) : 0;
  e->extreme = extreme;
  e->depth_pct = limit > 0.0 ? extreme / limit * 100.0 : 0.0;
  e->from = limit;
  e->alarm_index = index;
  hr__meter_emit(m, &rec);
}

/* Limit li (index: its event's alarm_index) sees value v >= 0 at at_ns
 * (INT64_MIN: the time of now_pos, found only when needed), decided at now_pos.  Starts above
 * limit, ends at or below limit * (1 - hysteresis). */
static void limit_update(hr_meter_t *m, hr__swing_stage_t *s, int li, int index, double v,
                         double limit, int64_t at_ns, double now_pos)
{
  sw_limit_t *l = &s->lim[li];
  if (!l->active) {
    if (v > limit) {
      if (at_ns == INT64_MIN)
        at_ns = hr__meter_t_ns(m, now_pos);
      l->active = 1;
      l->start_ns = at_ns;
      l->extreme = v;
      emit_limit(m, index, 0, now_pos, at_ns, 0, v, limit, 0);
    }
    return;
  }
  if (v > l->extreme)
    l->extreme = v;
  if (v <= limit * (1.0 - s->cfg.hysteresis_pct / 100.0)) {
    if (at_ns == INT64_MIN)
      at_ns = hr__meter_t_ns(m, now_pos);
    emit_limit(m, index, 1, now_pos, l->start_ns, at_ns, l->extreme, limit, 0);
    l->active = 0;
  }
}

void hr__swing_stage_finish(hr_meter_t *m)
{
  hr__swing_stage_t *s = m->swing_stage;
  if (!s)
    return;
  int64_t end_ns = hr__meter_t_ns(m, s->last_pos);
  for (int li = 0; li < N_LIMITS; li++) {
    sw_limit_t *l = &s->lim[li];
    if (!l->active)
      continue;
    int ramp = li < HR_SWING_MAX_RAMPS;
    int b = li - HR_SWING_MAX_RAMPS;
    emit_limit(m, ramp ? li : HR_SWING_BAND_LIMIT0 + b, 1, s->last_pos, l->start_ns, end_ns,
               l->extreme, ramp ? s->cfg.ramp_limit_w_per_s[li] : s->cfg.band_limit_w[b],
               HR_FLAG_OPEN);
    l->active = 0;
  }
}

/* ---- one window ---------------------------------------------------------- */

/* X_k of the window's DFT for any -n/2 <= k <= n (conjugate symmetry: X_{-k}
 * and X_{n-k} are conj(X_k); hann_sq reads k = -1 when the peak is bin 1,
 * fuzz/reproducers/meter-swing-hann-bin-0). */
static void bin_at(const sw_win_t *w, int k, double *re, double *im)
{
  if (k < 0) {
    *re = w->re[-k];
    *im = -w->im[-k];
  } else if (k <= w->n / 2) {
    *re = w->re[k];
    *im = w->im[k];
  } else {
    *re = w->re[w->n - k];
    *im = -w->im[w->n - k];
  }
}

/* |H_k|^2 of the periodic-Hann-windowed DFT, from the rectangular one:
 * H_k = X_k / 2 - (X_{k-1} + X_{k+1}) / 4. */
static double hann_sq(const sw_win_t *w, int k)
{
  double a, b, c, d, e, f;
  bin_at(w, k - 1, &a, &b);
  bin_at(w, k, &c, &d);
  bin_at(w, k + 1, &e, &f);
  double re = 0.5 * c - 0.25 * (a + e), im = 0.5 * d - 0.25 * (b + f);
  return re * re + im * im;
}

static void window_done(hr_meter_t *m, hr__swing_stage_t *s, int wi, double pos)
{
  sw_win_t *w = &s->w[wi];
  const int n = w->n, nb = n / 2 + 1;
  const hr_swing_cfg_t *c = &s->cfg;
  double sum = 0.0, lo = INFINITY, hi = -INFINITY;
  for (int i = 0; i < n; i++) {
    double v = s->ring[(uint32_t)(w->j0 + i) & s->mask];
    w->x[i] = v;
    sum += v;
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
  }
  const double mean = sum / n;
  double sq = 0.0;
  for (int i = 0; i < n; i++) {
    w->x[i] -= mean;
    sq += w->x[i] * w->x[i];
  }
  hr__fft_real(w->fft, w->x, nb, w->re, w->im);
  /* RMS per bin: one-sided, so that the squares sum to the variance. */
  const double inv_n = 1.0 / n;
  for (int k = 0; k < nb; k++) {
    double a = sqrt(w->re[k] * w->re[k] + w->im[k] * w->im[k]) * inv_n;
    w->spec[k] = (k == 0 || 2 * k == n) ? a : M_SQRT2 * a;
  }

  hr_record_t rec;
  hr__meter_rec_init(m, &rec, HR_REC_SWING);
  rec.t_ns = m->cfg.t0_ns + w->j0 * 1000000;
  rec.dur_ns = (int64_t)n * 1000000;
  rec.flags = w->flags;
  hr_swing_rec_t *r = &rec.u.swing;
  const double df = 1000.0 / n;
  r->window = wi;
  r->bin_hz = df;
  r->p_mean_w = mean;
  r->p_min_w = lo;
  r->p_max_w = hi;
  r->swing_rms_w = sqrt(sq * inv_n);

  /* Dominant oscillation: the largest Hann bin, refined by the two-bin
   * interpolation of the Hann window (|W(d)| proportional to
   * sinc(d) / (1 - d^2), so the larger neighbour over the peak is r = (1 +
   * d) / (2 - d)). */
  const int kmax = (n - 1) / 2;
  int kp = 0;
  double hp = 0.0;
  for (int k = 1; k <= kmax; k++) {
    double h = hann_sq(w, k);
    if (h > hp) {
      hp = h;
      kp = k;
    }
  }
  if (kp > 0 && hp > 0.0) {
    hp = sqrt(hp);
    double hl = sqrt(hann_sq(w, kp - 1)), hr = sqrt(hann_sq(w, kp + 1));
    /* At bin 1 the lower neighbour, bin 0, also holds the Hann leakage of
     * the negative-frequency image (H_0 = -Re(X_1)/2 for a tone on bin 1):
     * interpolate towards bin 2 only. */
    int side = kp == 1 || hr >= hl ? 1 : -1;
    double ratio = (side > 0 ? hr : hl) / hp;
    double d = (2.0 * ratio - 1.0) / (1.0 + ratio);
    d = d < 0.0 ? 0.0 : d > 0.5 ? 0.5 : d;
    double sinc = d > 0.0 ? sin(M_PI * d) / (M_PI * d) : 1.0;
    r->dom_freq_hz = (kp + side * d) * df;
    r->dom_amp_w = 4.0 * hp * inv_n * (1.0 - d * d) / sinc;
  }

  r->n_bands = c->n_bands;
  for (int b = 0; b < c->n_bands; b++) {
    /* Bins lo <= k df <= hi, with a relative slack for rounding. */
    int k0 = (int)ceil(c->band_lo_hz[b] / df - 1e-9);
    int k1 = (int)floor(c->band_hi_hz[b] / df + 1e-9);
    if (k1 > nb - 1)
      k1 = nb - 1;
    double e = 0.0;
    for (int k = k0; k <= k1; k++)
      e += w->spec[k] * w->spec[k];
    r->band_rms_w[b] = sqrt(e);
  }
  r->n_ramps = c->n_ramps;
  for (int q = 0; q < c->n_ramps; q++)
    r->ramp_w_per_s[q] = w->ramp[q];
  r->n_bins = nb;
  r->spectrum_w = m->cb ? w->spec : NULL;
  hr__meter_emit(m, &rec);

  /* Band limits on the longest window, once the series is past startup. */
  if (wi == s->longest && !(w->flags & HR_FLAG_STARTUP))
    for (int b = 0; b < c->n_bands; b++)
      if (c->band_limit_w[b] > 0.0)
        limit_update(m, s, HR_SWING_MAX_RAMPS + b, HR_SWING_BAND_LIMIT0 + b, r->band_rms_w[b],
                     c->band_limit_w[b], rec.t_ns, pos);
}

/* ---- the 1-ms path ------------------------------------------------------- */

void hr__swing_stage_ms(hr_meter_t *m, double pos, double p_w, uint32_t flags)
{
  hr__swing_stage_t *s = m->swing_stage;
  const int64_t j = s->j++;
  s->ring[(uint32_t)j & s->mask] = p_w;
  s->last_pos = pos;
  if (flags & HR_FLAG_STARTUP)
    s->startup_last = j;
  const hr_swing_cfg_t *c = &s->cfg;
  for (int q = 0; q < c->n_ramps; q++) {
    const int64_t jb = j - s->ramp_n[q];
    /* A ramp needs both ends past the startup (a partial first cycle). */
    if (jb < 0 || jb <= s->startup_last)
      continue;
    double ramp = (p_w - s->ring[(uint32_t)jb & s->mask]) * 1000.0 / s->ramp_n[q];
    for (int k = 0; k < c->n_windows; k++)
      if (fabs(ramp) > fabs(s->w[k].ramp[q]))
        s->w[k].ramp[q] = ramp;
    if (c->ramp_limit_w_per_s[q] > 0.0)
      limit_update(m, s, q, q, fabs(ramp), c->ramp_limit_w_per_s[q], INT64_MIN, pos);
  }
  for (int k = 0; k < c->n_windows; k++) {
    sw_win_t *w = &s->w[k];
    w->flags |= flags;
    if (j + 1 - w->j0 == w->n) {
      window_done(m, s, k, pos);
      w->j0 = j + 1;
      w->flags = 0;
      memset(w->ramp, 0, sizeof w->ramp);
    }
  }
}
