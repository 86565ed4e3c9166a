/* The IEC 61000-4-15 (Ed. 2.0) flickermeter: see include/headroom/flicker.h
 * and docs/measurements.md. */
#include "headroom/flicker.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "flicker_int.h"
#include "headroom/pq.h"
#include "meter_int.h"

#define DEC_RATE_HZ 1600.0  /* blocks 2-4 run at fs / floor(fs / DEC_RATE_HZ) */
#define CLASS_RATE_HZ 100.0 /* Pinst classification rate (the standard asks >= 50 Hz) */
/* Settling: for WARM_S the reference settles and the chain is fed 0; the
 * input then ramps up over RAMP_S (a switched-on fluctuation would ring the
 * weighting filter); Pinst counts from SETTLE_S on. */
#define WARM_S 2.0
#define RAMP_S 1.0
#define SETTLE_S 5.0
#define ADAPT_TAU_S 60.0 /* block 1: first-order filter of the mean square */
#define SMOOTH_TAU_S 0.3 /* block 4: first-order sliding mean, 300 ms */

/* Block 5 classifier: log classes from CLS_MIN to CLS_MIN * 10^CLS_DECADES,
 * CLS_PER_DEC per decade; class 0 holds [0, CLS_MIN), the last class
 * everything from the top edge up. */
#define CLS_MIN 1e-4
#define CLS_DECADES 8
#define CLS_PER_DEC 512
#define N_CLS (CLS_DECADES * CLS_PER_DEC + 2)

/* One second-order section, direct form II transposed. */
typedef struct biquad {
  double b0, b1, b2, a1, a2;
} biquad_t;

enum { SEC_HP, SEC_LP1, SEC_LP2, SEC_LP3, SEC_W1, SEC_W2, SEC_SMOOTH, N_SEC };

/* Blocks 1-4 run on LANES channels side by side (the unused ones on zeros),
 * so the compiler can keep them in vector registers. */
#define LANES 4

typedef struct chan {
  double pinst_max; /* largest Pinst in the current interval */
  uint32_t *hist;   /* N_CLS counts */
  double plt_sum3;  /* sum of Pst^3 in the current 2-h interval */
} chan_t;

struct hr_flicker {
  hr_flicker_cfg_t cfg;
  int nch;
  int dec;       /* D: frames per decimated value */
  double fs_d;   /* fs / D */
  int cls_every; /* decimated values per classified Pinst */
  int64_t n_warm, n_ramp, n_settle;
  double a_adapt_min;
  double scale; /* block 4 scale: Pinst = scale * smoothed square */
  biquad_t sec[N_SEC];
  int64_t fs_mhz;

  hr_flicker_pinst_cb cb;
  void *cb_user;

  /* Running state. */
  int64_t k;   /* frames consumed */
  int dec_pos; /* frames in the current decimation block */
  int64_t nd;  /* decimated values so far */
  int cls_pos;
  uint64_t n_cls; /* classified Pinst in the current interval */
  int64_t itv_start_ns;
  int64_t next_b_k; /* first frame of the next interval */
  uint32_t itv_flags;
  int64_t plt_start_ns;
  int plt_n;
  uint32_t plt_flags;
  hr_flicker_result_t out[2];
  int n_out, out_pos;
  chan_t ch[HR_MAX_U];
  uint32_t *hist_mem;
  /* Blocks 1-4, per lane (channel). */
  double acc[LANES]; /* sum of x^2 over the current decimation block */
  double ref[LANES]; /* block 1 reference mean square */
  double st[N_SEC][2][LANES];
  double pinst[LANES]; /* the latest Pinst */
};

/* ---- filter design --------------------------------------------------------- */

/* Bilinear transform (s = c (1 - 1/z)/(1 + 1/z), c = 2 fs) of the analog
 * section (b0 + b1 s + b2 s^2) / (a0 + a1 s + a2 s^2). */
static biquad_t bilinear(double b0, double b1, double b2, double a0, double a1, double a2,
                         double fs)
{
  const double c = 2.0 * fs, c2 = c * c;
  const double B0 = b0 + b1 * c + b2 * c2, B1 = 2.0 * b0 - 2.0 * b2 * c2,
               B2 = b0 - b1 * c + b2 * c2;
  const double A0 = a0 + a1 * c + a2 * c2, A1 = 2.0 * a0 - 2.0 * a2 * c2,
               A2 = a0 - a1 * c + a2 * c2;
  return (biquad_t){B0 / A0, B1 / A0, B2 / A0, A1 / A0, A2 / A0};
}

/* Analog cut-off pre-warped so the digital filter has it at f_hz. */
static double warp(double f_hz, double fs)
{
  return 2.0 * fs * tan(M_PI * f_hz / fs);
}

/* Lamp-eye-brain weighting filter constants, IEC 61000-4-15 §4.4 (Block 3). */
typedef struct lamp {
  double k, lambda, w1, w2, w3, w4;
} lamp_t;

static lamp_t lamp_model(int lamp_v)
{
  const double tp = 2.0 * M_PI;
  if (lamp_v == 120)
    return (lamp_t){1.6357,        tp * 4.167375, tp * 9.077169,
                    tp * 2.939902, tp * 1.394468, tp * 17.31512};
  return (lamp_t){1.74802, tp * 4.05981, tp * 9.15494, tp * 2.27979, tp * 1.22535, tp * 21.9};
}

static void design_weighting(const lamp_t *l, double fs, biquad_t *w1, biquad_t *w2)
{
  /* K w1 s (1 + s/w2) / (s^2 + 2 lambda s + w1^2) and 1 / ((1 + s/w3)(1 + s/w4)). */
  *w1 = bilinear(0.0, l->k * l->w1, l->k * l->w1 / l->w2, l->w1 * l->w1, 2.0 * l->lambda, 1.0, fs);
  *w2 = bilinear(1.0, 0.0, 0.0, 1.0, 1.0 / l->w3 + 1.0 / l->w4, 1.0 / (l->w3 * l->w4), fs);
}

static void design(hr_flicker_t *f)
{
  const double fs = f->fs_d;
  /* High-pass, first order, -3 dB at 0.05 Hz: s / (s + wc). */
  double wc = warp(0.05, fs);
  f->sec[SEC_HP] = bilinear(0.0, 1.0 / wc, 0.0, 1.0, 1.0 / wc, 0.0, fs);
  /* Butterworth low-pass, 6th order: three sections with Q = 1 / (2 sin((2k-1) pi / 12)). */
  double fc = f->cfg.f_nom_hz == 60.0 ? 42.0 : 35.0;
  wc = warp(fc, fs);
  for (int k = 1; k <= 3; k++) {
    double q = 1.0 / (2.0 * sin((2 * k - 1) * M_PI / 12.0));
    f->sec[SEC_LP1 + k - 1] = bilinear(1.0, 0.0, 0.0, 1.0, 1.0 / (q * wc), 1.0 / (wc * wc), fs);
  }
  lamp_t l = lamp_model(f->cfg.lamp_v);
  design_weighting(&l, fs, &f->sec[SEC_W1], &f->sec[SEC_W2]);
  /* Block 4: first-order low-pass, time constant 300 ms: 1 / (1 + s tau). */
  f->sec[SEC_SMOOTH] = bilinear(1.0, 0.0, 0.0, 1.0, SMOOTH_TAU_S, 0.0, fs);
}

/* |H(e^{j 2 pi f / fs})| of one section. */
static double sec_gain(const biquad_t *s, double f_hz, double fs)
{
  double w = 2.0 * M_PI * f_hz / fs;
  double cr = cos(w), ci = -sin(w), c2r = cos(2 * w), c2i = -sin(2 * w);
  double nr = s->b0 + s->b1 * cr + s->b2 * c2r, ni = s->b1 * ci + s->b2 * c2i;
  double dr = 1.0 + s->a1 * cr + s->a2 * c2r, di = s->a1 * ci + s->a2 * c2i;
  return sqrt((nr * nr + ni * ni) / (dr * dr + di * di));
}

/* Block 4 scale: a sinusoidal fluctuation of dV/V = 0.25 % at 8.8 Hz makes
 * y = u^2/ref - 1 a sine of amplitude 0.0025; through the chain (with the
 * 230 V lamp, IEC 61000-4-15 Table 1a's reference point) its square has the
 * mean A^2/2 and, after the 300 ms filter, the 17.6 Hz ripple g A^2/2: the
 * largest Pinst is scale * A^2/2 * (1 + g) = 1. */
static double block4_scale(const hr_flicker_t *f)
{
  const double fs = f->fs_d, fm = 8.8;
  biquad_t w1, w2;
  lamp_t l = lamp_model(230);
  design_weighting(&l, fs, &w1, &w2);
  double g = sec_gain(&f->sec[SEC_HP], fm, fs) * sec_gain(&w1, fm, fs) * sec_gain(&w2, fm, fs);
  for (int k = SEC_LP1; k <= SEC_LP3; k++)
    g *= sec_gain(&f->sec[k], fm, fs);
  /* The decimation's D-sample mean. */
  double x = M_PI * fm / f->cfg.fs_hz;
  g *= f->dec > 1 ? fabs(sin(x * f->dec) / (f->dec * sin(x))) : 1.0;
  double a = 0.0025 * g;
  double ripple = sec_gain(&f->sec[SEC_SMOOTH], 2.0 * fm, fs);
  return 2.0 / (a * a * (1.0 + ripple));
}

/* ---- configuration ------------------------------------------------------- */

#define CHECK(cond, code, field, ...)                                                              \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      return hr__diag_fail(diag, code, 0, 0, field, __VA_ARGS__);                                  \
  } while (0)

void hr_flicker_cfg_init(hr_flicker_cfg_t *cfg, double fs_hz, double f_nom_hz, int lamp_v,
                         int n_chan)
{
  if (!cfg)
    return;
  memset(cfg, 0, sizeof *cfg);
  cfg->fs_hz = fs_hz;
  cfg->f_nom_hz = f_nom_hz;
  cfg->lamp_v = lamp_v;
  cfg->n_chan = n_chan;
}

int hr_flicker_cfg_check(const hr_flicker_cfg_t *cfg, hr_diag_t *diag)
{
  hr__diag_begin(diag, NULL);
  CHECK(cfg != NULL, HR_ERR_INVALID_ARG, NULL, "configuration is NULL");
  CHECK(cfg->fs_hz >= 2000.0 && cfg->fs_hz <= 50000.0, HR_ERR_RANGE, "fs_hz",
        "the sample rate must be between 2000 and 50000 Hz (got %g)", cfg->fs_hz);
  CHECK(fabs(cfg->fs_hz * 1000.0 - llround(cfg->fs_hz * 1000.0)) < 1e-6, HR_ERR_RANGE, "fs_hz",
        "the sample rate must be a multiple of 0.001 Hz (got %.9g)", cfg->fs_hz);
  CHECK(cfg->f_nom_hz == 50.0 || cfg->f_nom_hz == 60.0, HR_ERR_RANGE, "f_nom_hz",
        "the nominal frequency must be 50 or 60 Hz (got %g)", cfg->f_nom_hz);
  CHECK(cfg->lamp_v == 230 || cfg->lamp_v == 120, HR_ERR_RANGE, "lamp_v",
        "the lamp model must be 230 or 120 V (got %d)", cfg->lamp_v);
  CHECK(cfg->n_chan >= 1 && cfg->n_chan <= HR_MAX_U, HR_ERR_RANGE, "n_chan",
        "must be between 1 and %d (got %d)", HR_MAX_U, cfg->n_chan);
  CHECK(cfg->t0_ns > INT64_MIN, HR_ERR_RANGE, "t0_ns", "must be above INT64_MIN (got %lld)",
        (long long)cfg->t0_ns);
  return HR_OK;
}

/* The start of the interval of length len that holds t (a multiple of len
 * since the epoch), or INT64_MIN when that lies below the int64 range. */
static int64_t interval_of(int64_t t, int64_t len)
{
  __int128 q = t / len;
  if (t % len != 0 && t < 0)
    q -= 1;
  __int128 s = q * len;
  return s < INT64_MIN ? INT64_MIN : (int64_t)s;
}

/* a + b for b > 0, INT64_MAX when it would not fit. */
static int64_t add_sat(int64_t a, int64_t b)
{
  return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* First frame at or after time t_ns (INT64_MAX: never). */
static int64_t frame_at(const hr_flicker_t *f, int64_t t_ns)
{
  if (t_ns == INT64_MAX)
    return INT64_MAX;
  __int128 num = ((__int128)t_ns - f->cfg.t0_ns) * f->fs_mhz;
  const __int128 den = (__int128)1000000000000LL;
  if (num <= 0)
    return 0;
  __int128 k = (num + den - 1) / den;
  return k > INT64_MAX ? INT64_MAX : (int64_t)k;
}

static int64_t frame_time(const hr_flicker_t *f, int64_t k)
{
  __int128 t = (__int128)f->cfg.t0_ns + (__int128)k * 1000000000000LL / f->fs_mhz;
  return t > INT64_MAX ? INT64_MAX : (int64_t)t;
}

int hr_flicker_create(const hr_flicker_cfg_t *cfg, hr_flicker_t **out)
{
  if (!out)
    return HR_ERR_INVALID_ARG;
  *out = NULL;
  int rc = hr_flicker_cfg_check(cfg, NULL);
  if (rc != HR_OK)
    return rc;
  hr_flicker_t *f = calloc(1, sizeof *f);
  uint32_t *hist = calloc((size_t)cfg->n_chan * N_CLS, sizeof *hist);
  if (!f || !hist) {
    free(f);
    free(hist);
    return HR_ERR_NOMEM;
  }
  f->cfg = *cfg;
  f->nch = cfg->n_chan;
  f->hist_mem = hist;
  for (int c = 0; c < f->nch; c++)
    f->ch[c].hist = hist + (size_t)c * N_CLS;
  f->fs_mhz = llround(cfg->fs_hz * 1000.0);
  f->dec = (int)floor(cfg->fs_hz / DEC_RATE_HZ);
  if (f->dec < 1)
    f->dec = 1;
  f->fs_d = cfg->fs_hz / f->dec;
  f->cls_every = (int)lround(f->fs_d / CLASS_RATE_HZ);
  if (f->cls_every < 1)
    f->cls_every = 1;
  f->n_warm = llround(WARM_S * f->fs_d);
  f->n_ramp = llround(RAMP_S * f->fs_d);
  f->n_settle = llround(SETTLE_S * f->fs_d);
  f->a_adapt_min = 1.0 / (ADAPT_TAU_S * f->fs_d);
  design(f);
  f->scale = block4_scale(f);
  hr_flicker_reset(f);
  *out = f;
  return HR_OK;
}

void hr_flicker_destroy(hr_flicker_t *f)
{
  if (!f)
    return;
  free(f->hist_mem);
  free(f);
}

void hr_flicker_set_pinst_cb(hr_flicker_t *f, hr_flicker_pinst_cb cb, void *user)
{
  if (!f)
    return;
  f->cb = cb;
  f->cb_user = user;
}

static void start_interval(hr_flicker_t *f, int64_t start_ns)
{
  f->itv_start_ns = start_ns;
  f->next_b_k = frame_at(f, add_sat(start_ns, HR_FLICKER_PST_NS));
  f->n_cls = 0;
  f->itv_flags = f->nd < f->n_settle ? HR_FLAG_STARTUP : 0u;
  for (int c = 0; c < f->nch; c++) {
    memset(f->ch[c].hist, 0, N_CLS * sizeof(uint32_t));
    f->ch[c].pinst_max = 0.0;
  }
}

static void start_plt(hr_flicker_t *f, int64_t start_ns)
{
  f->plt_start_ns = start_ns;
  f->plt_n = 0;
  f->plt_flags = 0;
  for (int c = 0; c < f->nch; c++)
    f->ch[c].plt_sum3 = 0.0;
}

void hr_flicker_reset(hr_flicker_t *f)
{
  if (!f)
    return;
  f->k = 0;
  f->dec_pos = 0;
  f->nd = 0;
  f->cls_pos = 0;
  f->n_out = f->out_pos = 0;
  memset(f->acc, 0, sizeof f->acc);
  memset(f->ref, 0, sizeof f->ref);
  memset(f->st, 0, sizeof f->st);
  memset(f->pinst, 0, sizeof f->pinst);
  int64_t s0 = interval_of(f->cfg.t0_ns, HR_FLICKER_PST_NS);
  start_interval(f, s0);
  if (s0 != f->cfg.t0_ns)
    f->itv_flags |= HR_FLAG_STARTUP;
  int64_t p0 = interval_of(f->cfg.t0_ns, HR_FLICKER_PLT_NS);
  start_plt(f, p0);
  if (p0 != f->cfg.t0_ns)
    f->plt_flags |= HR_FLAG_STARTUP;
}

/* ---- block 5 ------------------------------------------------------------- */

static inline int classify(double p)
{
  if (!(p >= CLS_MIN))
    return 0;
  int k = 1 + (int)((log10(p) + 4.0) * CLS_PER_DEC);
  return k < N_CLS - 1 ? k : N_CLS - 1;
}

/* Lower and upper edge of class k (the top class is given a width of one
 * class; it only holds Pinst beyond 1e4). */
static double class_lo(int k)
{
  return k == 0 ? 0.0 : CLS_MIN * pow(10.0, (double)(k - 1) / CLS_PER_DEC);
}

/* The Pinst level exceeded pct % of the time: the class where the count
 * from the top reaches pct % of n, interpolated inside the class (linearly
 * in log Pinst; linearly in class 0). */
static double percentile(const uint32_t *hist, uint64_t n, double pct)
{
  double target = pct / 100.0 * (double)n, above = 0.0;
  for (int k = N_CLS - 1; k >= 0; k--) {
    double h = hist[k];
    if (above + h >= target && h > 0) {
      double frac = (target - above) / h; /* the part of the class above the level */
      double lo = class_lo(k), hi = class_lo(k + 1);
      if (k == 0)
        return hi - frac * (hi - lo);
      return exp(log(hi) - frac * (log(hi) - log(lo)));
    }
    above += h;
  }
  return 0.0;
}

double hr_flicker_pst(double p0_1, double p1s, double p3s, double p10s, double p50s)
{
  /* IEC 61000-4-15 §4.7.2 */
  double s = 0.0314 * p0_1 + 0.0525 * p1s + 0.0657 * p3s + 0.28 * p10s + 0.08 * p50s;
  return sqrt(s > 0.0 ? s : 0.0);
}

static void close_plt(hr_flicker_t *f, int64_t end_ns)
{
  int64_t plt_end = add_sat(f->plt_start_ns, HR_FLICKER_PLT_NS);
  hr_flicker_result_t *q = &f->out[f->n_out++];
  memset(q, 0, sizeof *q);
  q->t_ns = f->plt_start_ns;
  q->dur_ns = (end_ns < plt_end ? end_ns : plt_end) - f->plt_start_ns;
  q->flags = f->plt_flags & (HR_FLAG_STARTUP | HR_FLAG_BAD_SAMPLE | HR_FLAG_EVENT);
  if (f->plt_n < (int)(HR_FLICKER_PLT_NS / HR_FLICKER_PST_NS))
    q->flags |= HR_FLAG_STARTUP;
  q->n_chan = f->nch;
  q->rec.plt = 1;
  q->rec.lamp_v = f->cfg.lamp_v;
  q->rec.n_pst = f->plt_n;
  /* IEC 61000-4-15 §4.7.3: Plt = cbrt(sum Pst^3 / N). */
  for (int c = 0; c < f->nch; c++)
    q->rec.p[c] = f->plt_n > 0 ? cbrt(f->ch[c].plt_sum3 / f->plt_n) : NAN;
  if (end_ns < plt_end) {
    /* Closed early (finish): the rest of this 2-h interval starts afresh. */
    start_plt(f, interval_of(end_ns, HR_FLICKER_PLT_NS));
    f->plt_flags |= HR_FLAG_STARTUP;
  } else {
    start_plt(f, plt_end);
  }
}

static void close_interval(hr_flicker_t *f, int64_t end_ns, int early)
{
  hr_flicker_result_t *r = &f->out[f->n_out++];
  memset(r, 0, sizeof *r);
  r->t_ns = f->itv_start_ns;
  r->dur_ns = end_ns - f->itv_start_ns;
  r->flags = f->itv_flags | (early ? HR_FLAG_STARTUP : 0u);
  r->n_chan = f->nch;
  r->rec.lamp_v = f->cfg.lamp_v;
  for (int c = 0; c < f->nch; c++) {
    const uint32_t *h = f->ch[c].hist;
    uint64_t n = f->n_cls;
    double p01 = percentile(h, n, 0.1);
    /* IEC 61000-4-15 §4.7.2: the smoothed percentiles. */
    double p1s = (percentile(h, n, 0.7) + percentile(h, n, 1.0) + percentile(h, n, 1.5)) / 3.0;
    double p3s = (percentile(h, n, 2.2) + percentile(h, n, 3.0) + percentile(h, n, 4.0)) / 3.0;
    double p10s = (percentile(h, n, 6.0) + percentile(h, n, 8.0) + percentile(h, n, 10.0) +
                   percentile(h, n, 13.0) + percentile(h, n, 17.0)) /
                  5.0;
    double p50s = (percentile(h, n, 30.0) + percentile(h, n, 50.0) + percentile(h, n, 80.0)) / 3.0;
    r->rec.p[c] = hr_flicker_pst(p01, p1s, p3s, p10s, p50s);
    r->rec.pinst_max[c] = f->ch[c].pinst_max;
    r->rec.p0_1[c] = p01;
    r->rec.p1s[c] = p1s;
    r->rec.p3s[c] = p3s;
    r->rec.p10s[c] = p10s;
    r->rec.p50s[c] = p50s;
  }
  if (f->n_cls == 0) {
    /* Nothing classified (all settling): no value. */
    for (int c = 0; c < f->nch; c++)
      r->rec.p[c] = NAN;
  } else {
    for (int c = 0; c < f->nch; c++)
      f->ch[c].plt_sum3 += r->rec.p[c] * r->rec.p[c] * r->rec.p[c];
    f->plt_n++;
    f->plt_flags |= r->flags;
  }
  /* Plt when the 2-h interval ends here (IEC 61000-4-15 §4.7.3). */
  if (end_ns >= add_sat(f->plt_start_ns, HR_FLICKER_PLT_NS) || (early && f->plt_n > 0))
    close_plt(f, end_ns);
}

/* ---- the sample path ------------------------------------------------------ */

/* One decimated value: blocks 1-4 on every channel, then block 5.  With
 * AVX2 the four lanes of each step are one instruction (no FMA: the same
 * results on every machine). */
HR__CLONES_256 static void decimated(hr_flicker_t *f)
{
  const double inv_d = 1.0 / f->dec, scale = f->scale;
  const int warm = f->nd < f->n_settle;
  double on = (double)(f->nd - f->n_warm) / (double)f->n_ramp;
  on = on < 0.0 ? 0.0 : on > 1.0 ? 1.0 : on;
  f->nd++;
  double a = 1.0 / (double)f->nd;
  if (a < f->a_adapt_min)
    a = f->a_adapt_min;
  double y[LANES];
  for (int c = 0; c < LANES; c++) {
    double ms = f->acc[c] * inv_d;
    f->acc[c] = 0.0;
    /* Block 1: the reference level, the mean square through a first-order
     * filter (its cumulative mean until that is longer than the time
     * constant). */
    f->ref[c] += a * (ms - f->ref[c]);
    /* Block 2: squaring demodulator, normalised; the constant part is
     * removed here (the high-pass would remove it, slowly).  Nothing goes
     * in while the reference settles. */
    double r = f->ref[c] > 0.0 ? f->ref[c] : 1.0;
    y[c] = on * (ms / r - 1.0);
  }
  /* Block 3, then block 4's square and 300 ms mean. */
  for (int k = SEC_HP; k <= SEC_SMOOTH; k++) {
    const biquad_t q = f->sec[k];
    double *s0 = f->st[k][0], *s1 = f->st[k][1];
    if (k == SEC_SMOOTH)
      for (int c = 0; c < LANES; c++)
        y[c] *= y[c];
    for (int c = 0; c < LANES; c++) {
      double o = q.b0 * y[c] + s0[c];
      s0[c] = q.b1 * y[c] - q.a1 * o + s1[c];
      s1[c] = q.b2 * y[c] - q.a2 * o;
      y[c] = o;
    }
  }
  for (int c = 0; c < LANES; c++)
    f->pinst[c] = scale * y[c];
  if (!warm)
    for (int c = 0; c < f->nch; c++)
      if (f->pinst[c] > f->ch[c].pinst_max)
        f->ch[c].pinst_max = f->pinst[c];
  if (warm)
    return;
  if (++f->cls_pos < f->cls_every)
    return;
  f->cls_pos = 0;
  double pv[HR_MAX_U];
  for (int c = 0; c < f->nch; c++) {
    pv[c] = f->pinst[c];
    f->ch[c].hist[classify(pv[c])]++;
  }
  f->n_cls++;
  if (f->cb)
    f->cb(frame_time(f, f->k), pv, f->nch, f->cb_user);
}

size_t hr_flicker_push(hr_flicker_t *f, const float *x, size_t stride, size_t n)
{
  if (!f || !x || n == 0 || stride < (size_t)f->nch)
    return 0;
  /* A call after a closing frame first hands on what it left. */
  if (f->out_pos >= f->n_out)
    f->n_out = f->out_pos = 0;
  size_t done = 0;
  const int nch = f->nch;
  while (done < n) {
    int64_t left_itv = f->next_b_k - f->k;
    size_t seg = n - done;
    if ((int64_t)seg > left_itv)
      seg = (size_t)left_itv;
    int bad = 0;
    const int64_t k0 = f->k;
    size_t j = 0;
    while (j < seg) {
      size_t run = seg - j, room = (size_t)(f->dec - f->dec_pos);
      if (run > room)
        run = room;
      const float *fr = x + (done + j) * stride;
      for (int c = 0; c < nch; c++) {
        double acc = f->acc[c];
        for (size_t i = 0; i < run; i++) {
          float v = fr[i * stride + (size_t)c];
          if (!(fabsf(v) <= FLT_MAX)) {
            v = 0.0f;
            bad = 1;
          }
          acc += (double)v * v;
        }
        f->acc[c] = acc;
      }
      j += run;
      f->dec_pos += (int)run;
      if (f->dec_pos == f->dec) {
        f->dec_pos = 0;
        f->k = k0 + (int64_t)j; /* the frames consumed so far (decimated's clock) */
        decimated(f);
      }
    }
    if (bad)
      f->itv_flags |= HR_FLAG_BAD_SAMPLE;
    f->k = k0 + (int64_t)seg;
    done += seg;
    if (f->k == f->next_b_k) {
      int64_t end = add_sat(f->itv_start_ns, HR_FLICKER_PST_NS);
      close_interval(f, end, 0);
      start_interval(f, end);
      break;
    }
  }
  return done;
}

int hr_flicker_take(hr_flicker_t *f, hr_flicker_result_t *out)
{
  if (!f || f->out_pos >= f->n_out)
    return 0;
  if (out)
    *out = f->out[f->out_pos];
  f->out_pos++;
  return 1;
}

void hr_flicker_finish(hr_flicker_t *f)
{
  if (!f)
    return;
  if (f->out_pos >= f->n_out)
    f->n_out = f->out_pos = 0;
  int64_t end = frame_time(f, f->k);
  if (f->n_cls > 0) {
    close_interval(f, end, 1);
    start_interval(f, interval_of(end, HR_FLICKER_PST_NS));
    f->itv_flags |= HR_FLAG_STARTUP;
  } else if (f->plt_n > 0) {
    close_plt(f, end);
  }
}

/* ---- the meter's stage ----------------------------------------------------- */

int hr__flicker_create(const hr_meter_t *m, hr_flicker_t **out)
{
  hr_flicker_cfg_t cfg;
  hr_flicker_cfg_init(&cfg, m->cfg.fs_hz, m->cfg.f_nom_hz, m->cfg.flicker_lamp_v, m->nu);
  cfg.t0_ns = m->cfg.t0_ns;
  return hr_flicker_create(&cfg, out);
}

static void emit_results(hr_meter_t *m)
{
  hr_flicker_result_t r;
  while (hr_flicker_take(m->flicker, &r)) {
    hr_record_t rec;
    hr__meter_rec_init(m, &rec, HR_REC_FLICKER);
    rec.t_ns = r.t_ns;
    rec.dur_ns = r.dur_ns;
    rec.flags = r.flags;
    rec.u.flicker = r.rec;
    hr__meter_emit(m, &rec);
  }
}

void hr__flicker_feed(hr_meter_t *m, const float *x, size_t n)
{
  const size_t stride = (size_t)m->nch_in;
  size_t k = 0;
  /* IEC 61000-4-30 §4.7: a value over an interval that overlaps a dip,
   * swell or interruption is flagged.  meter.c feeds the frames between its
   * steps, and the event state only changes at steps every block size
   * shares: these frames are all in or all out of the (detected) event. */
  const int in_event = m->dip.active || m->swell.active || m->intr.active;
  while (k < n) {
    if (in_event)
      m->flicker->itv_flags |= HR_FLAG_EVENT;
    k += hr_flicker_push(m->flicker, x + k * stride, stride, n - k);
    emit_results(m);
  }
}

void hr__flicker_finish(hr_meter_t *m)
{
  hr_flicker_finish(m->flicker);
  emit_results(m);
}
