/* Harmonics and interharmonics (IEC 61000-4-7 Ed.2 + A1:2008, as IEC
 * 61000-4-30 Class A uses them) and IEEE 1459-2010 powers over each
 * 10/12-cycle basic interval.
 *
 * Synchronisation: the basic interval is bounded by fundamental zero
 * crossings of the reference channel (meter.c), so it spans n_cycles
 * periods of the measured fundamental.  At 8000 Hz and 59.5 Hz that is
 * 1613.4 samples, not an integer, and cutting it to whole samples would
 * leave up to 0.031 % synchronisation error, past the ±0.03 % IEC 61000-4-7
 * allows.  So the window is resampled: n_points values at positions
 * pos0 + j * len / n_points (j < n_points) from a Kaiser-windowed sinc
 * interpolator; bin k of their DFT is then k / window, and harmonic h sits
 * exactly in bin n_cycles * h.  n_points is a power of two at least the
 * window's sample count at the lowest tracked frequency, so the resampling
 * always raises the rate and needs no anti-alias filter of its own. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "fft.h"
#include "atan2_poly.h"
#include "harmonics_int.h"
#include "meter_int.h"

/* Interpolation kernel: sinc(d) * Kaiser(d / HW), |d| < HW samples, cutoff
 * at the input's Nyquist frequency.  The bands that matter: a passband up to
 * 0.40 fs (h50 of 60.5 Hz and its interharmonic group, 51 * 60.5 Hz, at 8 kHz
 * is 0.386 fs) and the images of that band, from 0.60 fs up, which the
 * resampling folds back onto the used bins.  With 32 taps and beta = 9 the
 * kernel's continuous frequency response stays within 2.8e-5 of 1 over the
 * passband and below 2.7e-5 over the image band (0.6 to 3 fs; evaluated
 * numerically by scripts/harm_kernel_response.py), against 1.7e-5 and
 * 2.0e-5 for the 48 taps used before: far inside IEC 61000-4-7 Class I
 * (5 % of reading, 0.05 % of nominal).  Polyphase: the taps of KERNEL_L
 * fractional delays are tabulated (row p: delay p / KERNEL_L, plus row
 * KERNEL_L), and a point between rows takes the linear mix of the two rows
 * (table error about 5e-6). */
#define HW 16
#define NT (2 * HW)
#define KERNEL_BETA 9.0
#define KERNEL_L 512
#define PEND_MAX 4

/* Lanes of a resampled point: the ring's frame slot. */
#define NL HR__SLOT

typedef struct pend {
  double pos0, len;
  int n_cycles;
  uint32_t flags;
} pend_t;

struct hr__harm {
  int n_pts, nch, ncyc, kmax;
  float *poly;         /* (KERNEL_L + 1) rows of NT taps */
  float *y;            /* resampled window: n_pts points of NL lanes */
  float *xr, *xi;      /* spectra: kmax + 1 bins of NL lanes (raw DFT values) */
  double *pw;          /* squared RMS of each bin, kmax + 1 bins of NL lanes */
  double gram[NL][NL]; /* sum over the window of y_a * y_b */
  /* Squared groupings of every lane (see groups()), orders 0..H_MAX. */
  double sg2[HR_HARM_H_MAX + 1][NL], g2[HR_HARM_H_MAX + 1][NL];
  double ig2[HR_HARM_H_MAX + 1][NL], isg2[HR_HARM_H_MAX + 1][NL];
  hr__fft8_t *fft;
  pend_t pend[PEND_MAX];
  int n_pend;
  hr_harm_t out;
};

static double bessel_i0(double x)
{
  /* Power series: converges fast for the beta used here. */
  double sum = 1.0, term = 1.0, q = x * x / 4.0;
  for (int k = 1; k < 60; k++) {
    term *= q / ((double)k * k);
    sum += term;
    if (term < sum * 1e-17)
      break;
  }
  return sum;
}

static double f_min_hz(const hr_meter_cfg_t *cfg)
{
  return cfg->f_nom_hz * (1.0 - cfg->track_pct / 100.0);
}

static int cycles_of(const hr_meter_cfg_t *cfg)
{
  return cfg->f_nom_hz == 50.0 ? 10 : 12;
}

double hr__harm_ring_need(const hr_meter_cfg_t *cfg)
{
  double per = cfg->fs_hz / f_min_hz(cfg);
  return 1.1 * cycles_of(cfg) * per + 2.0 * HW + 2.0 * per + 1024.0;
}

void hr__harm_destroy(hr__harm_t *h)
{
  if (!h)
    return;
  hr__fft8_destroy(h->fft);
  free(h->poly);
  free(h->y);
  free(h->xr);
  free(h->xi);
  free(h->pw);
  free(h);
}

static void *alloc64(size_t bytes)
{
  return aligned_alloc(64, (bytes + 63) / 64 * 64);
}

/* The kernel at offset d (|d| < HW), from its closed form. */
static double kernel(double d, double i0b)
{
  double r = d / HW;
  if (r <= -1.0 || r >= 1.0)
    return 0.0;
  double w = bessel_i0(KERNEL_BETA * sqrt(1.0 - r * r)) / i0b;
  double s = d == 0.0 ? 1.0 : sin(M_PI * d) / (M_PI * d);
  return s * w;
}

int hr__harm_create(const hr_meter_t *m, hr__harm_t **out)
{
  *out = NULL;
  hr__harm_t *h = calloc(1, sizeof *h);
  if (!h)
    return HR_ERR_NOMEM;
  h->nch = m->nch;
  h->ncyc = cycles_of(&m->cfg);
  /* Bins up to the interharmonic group above order HR_HARM_H_MAX. */
  h->kmax = h->ncyc * (HR_HARM_H_MAX + 1);
  double win_max = h->ncyc * m->fs / f_min_hz(&m->cfg);
  int n = 256;
  while (n < win_max || n < 2 * (h->kmax + 1))
    n <<= 1;
  h->n_pts = n;
  size_t nk = (size_t)h->kmax + 1;
  h->poly = alloc64(sizeof(float) * (KERNEL_L + 1) * NT);
  h->y = alloc64(sizeof(float) * (size_t)n * NL);
  h->xr = alloc64(sizeof(float) * nk * NL);
  h->xi = alloc64(sizeof(float) * nk * NL);
  h->pw = alloc64(sizeof(double) * nk * NL);
  h->fft = hr__fft8_create(n);
  if (!h->poly || !h->y || !h->xr || !h->xi || !h->pw || !h->fft) {
    hr__harm_destroy(h);
    return HR_ERR_NOMEM;
  }
  /* Row p, tap t: the weight of sample i0 - HW + 1 + t for a point at
   * i0 + p / KERNEL_L, i.e. the kernel at p / KERNEL_L + HW - 1 - t. */
  const double i0b = bessel_i0(KERNEL_BETA);
  for (int p = 0; p <= KERNEL_L; p++)
    for (int t = 0; t < NT; t++)
      h->poly[(size_t)p * NT + (size_t)t] =
          (float)kernel((double)p / KERNEL_L + (double)(HW - 1 - t), i0b);
  *out = h;
  return HR_OK;
}

void hr__harm_reset(hr__harm_t *h)
{
  if (h)
    h->n_pend = 0;
}

/* GCC vector types: one value per lane, kept in registers (an array of
 * lanes indexed in loops went through memory on every tap). */
typedef float v8f __attribute__((vector_size(NL * sizeof(float))));
typedef double v8d __attribute__((vector_size(NL * sizeof(double))));

/* The window resampled to n_pts points of NL lanes (h->y), and the Gram
 * matrix of the lanes over it (every time-domain sum the stage needs: RMS,
 * active power, line-to-line RMS, is a combination of its entries).  Taps
 * before the stream's first sample count as 0.  Float sums of 32 taps (error
 * about 1e-7 of the signal); the Gram sums in double. */
/* The frame at or before position x (i0) and the two polyphase rows around
 * its fractional part, with the mix between them (fr). */
static inline void locate(const hr__harm_t *h, double x, int64_t *i0, const float **r0,
                          const float **r1, float *fr)
{
  const double fl = floor(x);
  *i0 = (int64_t)fl;
  const double a = (x - fl) * KERNEL_L;
  int p = (int)a;
  if (p >= KERNEL_L)
    p = KERNEL_L - 1;
  *fr = (float)(a - p);
  *r0 = h->poly + (size_t)p * NT;
  *r1 = *r0 + NT;
}

/* Contracted to fused multiply-adds where the clone has them (x86-64-v4):
 * one rounding instead of two, and half the instructions of the tap loop. */
__attribute__((optimize("fp-contract=fast"))) HR__CLONES_V4 static void
resample(const hr_meter_t *m, hr__harm_t *h, double pos0, double len)
{
  const int n = h->n_pts;
  const double step = len / n;
  const uint32_t mask = m->mask;
  /* Gram rows by name: an array of them indexed in a loop lived in memory. */
  v8d g0 = {0}, g1 = {0}, g2 = {0}, g3 = {0}, g4 = {0}, g5 = {0}, g6 = {0}, g7 = {0};
  /* One resampled point into h->y and the Gram sums. */
#define HR__POINT_DONE(jj, yv)                                                                     \
  do {                                                                                             \
    const v8f y_ = (yv);                                                                           \
    memcpy(h->y + (size_t)(jj)*NL, &y_, sizeof y_);                                                \
    const v8d yd = __builtin_convertvector(y_, v8d);                                               \
    g0 += yd[0] * yd;                                                                              \
    g1 += yd[1] * yd;                                                                              \
    g2 += yd[2] * yd;                                                                              \
    g3 += yd[3] * yd;                                                                              \
    g4 += yd[4] * yd;                                                                              \
    g5 += yd[5] * yd;                                                                              \
    g6 += yd[6] * yd;                                                                              \
    g7 += yd[7] * yd;                                                                              \
  } while (0)
  int j = 0;
  while (j < n) {
    int64_t i0;
    const float *r0, *r1;
    float fr;
    locate(h, pos0 + j * step, &i0, &r0, &r1, &fr);
    const int64_t k0 = i0 - HW + 1;
    const uint32_t s0 = (uint32_t)k0 & mask;
    int64_t i0b = 0;
    const float *r0b = NULL, *r1b = NULL;
    float frb = 0.0f;
    if (j + 1 < n)
      locate(h, pos0 + (j + 1) * step, &i0b, &r0b, &r1b, &frb);
    const int64_t dk = i0b - i0;
    if (j + 1 < n && (dk == 0 || dk == 1) && k0 >= 0 &&
        (uint64_t)s0 + NT + 1 <= (uint64_t)mask + 1) {
      /* Two points whose taps start dk = 0 or 1 frames apart (the step is
       * below one sample): each frame is loaded once for both, the second
       * point's taps shifted by dk (zero-padded to NT + 1). */
      float wa[NT + 1], wb[NT + 1];
      wa[NT] = 0.0f;
      wb[0] = wb[NT] = 0.0f;
#pragma omp simd
      for (int t = 0; t < NT; t++)
        wa[t] = r0[t] + fr * (r1[t] - r0[t]);
      float *wbs = wb + dk;
#pragma omp simd
      for (int t = 0; t < NT; t++)
        wbs[t] = r0b[t] + frb * (r1b[t] - r0b[t]);
      const float *s = m->fr + (size_t)s0 * NL;
      v8f a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, b0 = {0}, b1 = {0}, b2 = {0}, b3 = {0};
      for (int t = 0; t < NT; t += 4) {
        v8f f0, f1, f2, f3;
        memcpy(&f0, s + (size_t)t * NL, sizeof f0);
        memcpy(&f1, s + (size_t)(t + 1) * NL, sizeof f1);
        memcpy(&f2, s + (size_t)(t + 2) * NL, sizeof f2);
        memcpy(&f3, s + (size_t)(t + 3) * NL, sizeof f3);
        a0 += wa[t] * f0;
        a1 += wa[t + 1] * f1;
        a2 += wa[t + 2] * f2;
        a3 += wa[t + 3] * f3;
        b0 += wb[t] * f0;
        b1 += wb[t + 1] * f1;
        b2 += wb[t + 2] * f2;
        b3 += wb[t + 3] * f3;
      }
      if (dk == 1) {
        v8f f0;
        memcpy(&f0, s + (size_t)NT * NL, sizeof f0);
        b0 += wb[NT] * f0;
      }
      HR__POINT_DONE(j, (a0 + a1) + (a2 + a3));
      HR__POINT_DONE(j + 1, (b0 + b1) + (b2 + b3));
      j += 2;
      continue;
    }
    float w[NT];
#pragma omp simd
    for (int t = 0; t < NT; t++)
      w[t] = r0[t] + fr * (r1[t] - r0[t]);
    v8f acc0 = {0}, acc1 = {0}, acc2 = {0}, acc3 = {0};
    if (k0 >= 0 && (uint64_t)s0 + NT <= (uint64_t)mask + 1) {
      /* The taps' frames are contiguous in the ring: four sums, so the
       * adds do not wait on each other. */
      const float *s = m->fr + (size_t)s0 * NL;
      for (int t = 0; t < NT; t += 4) {
        v8f f0, f1, f2, f3;
        memcpy(&f0, s + (size_t)t * NL, sizeof f0);
        memcpy(&f1, s + (size_t)(t + 1) * NL, sizeof f1);
        memcpy(&f2, s + (size_t)(t + 2) * NL, sizeof f2);
        memcpy(&f3, s + (size_t)(t + 3) * NL, sizeof f3);
        acc0 += w[t] * f0;
        acc1 += w[t + 1] * f1;
        acc2 += w[t + 2] * f2;
        acc3 += w[t + 3] * f3;
      }
    } else {
      for (int t = k0 < 0 ? (int)(-k0 < NT ? -k0 : NT) : 0; t < NT; t++) {
        v8f f0;
        memcpy(&f0, m->fr + (size_t)((uint32_t)(k0 + t) & mask) * NL, sizeof f0);
        acc0 += w[t] * f0;
      }
    }
    HR__POINT_DONE(j, (acc0 + acc1) + (acc2 + acc3));
    j++;
  }
#undef HR__POINT_DONE
  const v8d *rows[NL] = {&g0, &g1, &g2, &g3, &g4, &g5, &g6, &g7};
  for (int a = 0; a < NL; a++)
    for (int b2 = 0; b2 < NL; b2++)
      h->gram[a][b2] = (*rows[a])[b2];
}

/* The spectrum of every lane, bins 0..kmax, and each bin's squared RMS
 * (k >= 1: 2 |X_k|^2 / n^2). */
HR__CLONES_V4 static void spectra(hr__harm_t *h)
{
  const int n = h->n_pts, nk = h->kmax + 1;
  hr__fft8_real(h->fft, h->y, nk, h->xr, h->xi);
  const double s = 2.0 / ((double)n * n);
  for (size_t i = 0; i < (size_t)nk * NL; i++) {
    double re = h->xr[i], im = h->xi[i];
    h->pw[i] = s * (re * re + im * im);
  }
}

/* Squared RMS of bin k (k >= 1) of channel c. */
static inline double bin_sq(const hr__harm_t *h, int c, int k)
{
  return h->pw[(size_t)k * NL + (size_t)c];
}

/* RMS phasor of bin k of channel c (cosine reference at the window start). */
static inline void bin_phasor(const hr__harm_t *h, int c, int k, double *re, double *im)
{
  size_t o = (size_t)k * NL + (size_t)c;
  double s = M_SQRT2 / h->n_pts;
  *re = s * h->xr[o];
  *im = s * h->xi[o];
}

static double sqrt0(double x)
{
  return x > 0.0 ? sqrt(x) : 0.0;
}

/* Mean over the window of y_a * y_b (lanes a, b). */
static double mean_ab(const hr__harm_t *h, int a, int b)
{
  return h->gram[a][b] / h->n_pts;
}

/* Adds bins k0..k1 of every lane into acc, in order of k. */
static inline void add_bins(const hr__harm_t *h, int k0, int k1, double *restrict acc)
{
  for (int k = k0; k <= k1; k++) {
    const double *p = h->pw + (size_t)k * NL;
#pragma omp simd
    for (int l = 0; l < NL; l++)
      acc[l] += p[l];
  }
}

/* IEC 61000-4-7 groupings of every lane's bins (k = ncyc * n), squared:
 *   subgroup            G_sg,n^2 = sum_{i=-1..1} C_{k+i}^2
 *   group (50 Hz)       G_g,n^2 = C_{k-5}^2/2 + sum_{i=-4..4} C_{k+i}^2 + C_{k+5}^2/2
 *                       (60 Hz: +-6 halves, +-5 whole)
 *   interharmonic group all bins strictly between orders n and n + 1
 *   centred subgroup    the same without the bin next to each harmonic.
 * All lanes at once (the bins are stored lane by lane). */
HR__CLONES_V4 static void groups(hr__harm_t *h)
{
  const int nc = h->ncyc, half = nc / 2;
  for (int l = 0; l < NL; l++)
    h->sg2[0][l] = h->g2[0][l] = 0.0;
  for (int n = 1; n <= HR_HARM_H_MAX; n++) {
    const int k = nc * n;
    double *sg = h->sg2[n], *g = h->g2[n];
    const double *lo = h->pw + (size_t)(k - half) * NL, *hi = h->pw + (size_t)(k + half) * NL;
    for (int l = 0; l < NL; l++)
      sg[l] = g[l] = 0.0;
    add_bins(h, k - 1, k + 1, sg);
    add_bins(h, k - half + 1, k + half - 1, g);
#pragma omp simd
    for (int l = 0; l < NL; l++)
      g[l] += 0.5 * (lo[l] + hi[l]);
  }
  for (int n = 0; n <= HR_HARM_H_MAX; n++) {
    const int k = nc * n;
    for (int l = 0; l < NL; l++)
      h->ig2[n][l] = h->isg2[n][l] = 0.0;
    add_bins(h, k + 1, k + nc - 1, h->ig2[n]);
    add_bins(h, k + 2, k + nc - 2, h->isg2[n]);
  }
}

/* Phase angle [deg] of harmonic n = 1..H_MAX of lane c against n times the
 * reference's fundamental angle, wrapped to (-180, 180] (0 where the bin is
 * exactly 0).  atan2 without libm, so that the loop vectorises
 * (hr__atan2_poly, atan2_poly.h: within 1e-12 rad). */
/* No trapping math: nothing here reads floating-point exception flags, and
 * without the flag GCC will not if-convert the selects below. */
__attribute__((optimize("no-trapping-math"))) HR__CLONES_V4 static void
phases(const hr__harm_t *h, int c, double ref_deg, double *out)
{
  const int nc = h->ncyc;
  double xs[HR_HARM_H_MAX + 1], ys[HR_HARM_H_MAX + 1];
  for (int n = 1; n <= HR_HARM_H_MAX; n++) {
    const size_t o = (size_t)(nc * n) * NL + (size_t)c;
    xs[n] = h->xr[o];
    ys[n] = h->xi[o];
  }
  /* No division under a condition: the loop stays free of branches. */
#pragma omp simd
  for (int n = 1; n <= HR_HARM_H_MAX; n++) {
    const double x = xs[n], y = ys[n];
    const double r = hr__atan2_poly(y, x);
    double d = r * (180.0 / M_PI) - n * ref_deg;
    d -= 360.0 * floor(d / 360.0 + 0.5);
    const double du = d + 360.0, dd = d - 360.0;
    d = d <= -180.0 ? du : d;
    d = d > 180.0 ? dd : d;
    const double ax = fabs(x), ay = fabs(y);
    out[n] = (ax > ay ? ax : ay) > 0.0 ? d : 0.0;
  }
}

/* One channel's record from the groupings (groups() first). */
static void channel(const hr__harm_t *h, int c, hr_harm_chan_t *o, double ref_deg)
{
  o->rms = sqrt0(mean_ab(h, c, c));
  o->dc = h->xr[c] / h->n_pts;
  o->sg[0] = o->g[0] = o->bin[0] = o->phase_deg[0] = 0.0;
  for (int n = 1; n <= HR_HARM_H_MAX; n++) {
    int k = h->ncyc * n;
    o->sg[n] = sqrt(h->sg2[n][c]);
    o->g[n] = sqrt(h->g2[n][c]);
    o->bin[n] = sqrt(bin_sq(h, c, k));
  }
  phases(h, c, ref_deg, o->phase_deg);
  for (int n = 0; n <= HR_HARM_H_MAX; n++) {
    o->ig[n] = sqrt(h->ig2[n][c]);
    o->isg[n] = sqrt(h->isg2[n][c]);
  }
  double s_sg = 0.0, s_g = 0.0;
  for (int n = 2; n <= HR_HARM_H_MAX; n++) {
    s_sg += o->sg[n] * o->sg[n];
    s_g += o->g[n] * o->g[n];
  }
  o->thd_pct = o->sg[1] > 0.0 ? 100.0 * sqrt(s_sg) / o->sg[1] : 0.0;
  o->thdg_pct = o->g[1] > 0.0 ? 100.0 * sqrt(s_g) / o->g[1] : 0.0;
}

static double ratio(double a, double b)
{
  return b > 0.0 ? a / b : 0.0;
}

typedef struct cplx {
  double re, im;
} cplx_t;

static cplx_t c_add(cplx_t a, cplx_t b)
{
  return (cplx_t){a.re + b.re, a.im + b.im};
}

static cplx_t c_sub(cplx_t a, cplx_t b)
{
  return (cplx_t){a.re - b.re, a.im - b.im};
}

static cplx_t c_scale(cplx_t a, double s)
{
  return (cplx_t){a.re * s, a.im * s};
}

static cplx_t c_mul(cplx_t a, cplx_t b)
{
  return (cplx_t){a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re};
}

static double c_abs(cplx_t a)
{
  return hypot(a.re, a.im);
}

static cplx_t fund(const hr__harm_t *h, int c)
{
  cplx_t z;
  bin_phasor(h, c, h->ncyc, &z.re, &z.im);
  return z;
}

/* Phase voltages: the channel itself, or for 3P3W the artificial star
 * point (u_a = (u_ab - u_ca)/3, ...), as meter.c measures per-phase power. */
static cplx_t v_fund(const hr_meter_t *m, const hr__harm_t *h, int p)
{
  if (m->cfg.layout != HR_LAYOUT_3P3W)
    return fund(h, p);
  return c_scale(c_sub(fund(h, p), fund(h, (p + 2) % 3)), 1.0 / 3.0);
}

/* IEEE 1459-2010 §3.1 (single phase) for phase p. */
static void phase_1459(const hr_meter_t *m, const hr__harm_t *h, int p, hr_p1459_phase_t *o)
{
  const int ci = m->nu + p;
  double vv, vi;
  if (m->cfg.layout != HR_LAYOUT_3P3W) {
    vv = mean_ab(h, p, p);
    vi = mean_ab(h, p, ci);
  } else {
    /* v = (u_p - u_q) / 3 expanded over the Gram entries. */
    const int q = (p + 2) % 3;
    vv = (mean_ab(h, p, p) + mean_ab(h, q, q) - 2.0 * mean_ab(h, p, q)) / 9.0;
    vi = (mean_ab(h, p, ci) - mean_ab(h, q, ci)) / 3.0;
  }
  o->v = sqrt0(vv);
  o->i = sqrt0(mean_ab(h, ci, ci));
  o->p = vi;
  cplx_t v1 = v_fund(m, h, p), i1 = fund(h, m->nu + p);
  o->v1 = c_abs(v1);
  o->i1 = c_abs(i1);
  /* V1 I1* = V1 I1 (cos theta1 + j sin theta1), theta1 = angle(V1) - angle(I1). */
  cplx_t s1 = c_mul(v1, (cplx_t){i1.re, -i1.im});
  o->p1 = s1.re;
  o->q1 = s1.im;
  o->vh = sqrt0(o->v * o->v - o->v1 * o->v1);
  o->ih = sqrt0(o->i * o->i - o->i1 * o->i1);
  o->ph = o->p - o->p1;
  o->s = o->v * o->i;
  o->s1 = o->v1 * o->i1;
  o->sn = sqrt0(o->s * o->s - o->s1 * o->s1);
  o->d_i = o->v1 * o->ih;
  o->d_v = o->vh * o->i1;
  o->s_h = o->vh * o->ih;
  o->d_h = sqrt0(o->s_h * o->s_h - o->ph * o->ph);
  o->pf = ratio(o->p, o->s);
  o->pf1 = ratio(o->p1, o->s1);
  o->thd_v = ratio(o->vh, o->v1);
  o->thd_i = ratio(o->ih, o->i1);
}

/* Symmetrical components (Fortescue) of three phasors: a = exp(j 120 deg). */
static void sym(const cplx_t *x, cplx_t *pos, cplx_t *neg, cplx_t *zero)
{
  const cplx_t a = {-0.5, 0.5 * sqrt(3.0)}, a2 = {-0.5, -0.5 * sqrt(3.0)};
  *zero = c_scale(c_add(c_add(x[0], x[1]), x[2]), 1.0 / 3.0);
  *pos = c_scale(c_add(c_add(x[0], c_mul(a, x[1])), c_mul(a2, x[2])), 1.0 / 3.0);
  *neg = c_scale(c_add(c_add(x[0], c_mul(a2, x[1])), c_mul(a, x[2])), 1.0 / 3.0);
}

/* IEEE 1459-2010 §3.2 (three phase): effective quantities, positive
 * sequence and unbalance power; IEC 61000-4-30 §5.7 unbalance ratios. */
static void system_1459(const hr_meter_t *m, const hr__harm_t *h, hr_harm_t *r)
{
  hr_p1459_sys_t *s = &r->sys;
  memset(s, 0, sizeof *s);
  if (r->n_phase == 1) {
    const hr_p1459_phase_t *a = &r->ph[0];
    s->ve = a->v;
    s->ie = a->i;
    s->ve1 = a->v1;
    s->ie1 = a->i1;
    s->veh = a->vh;
    s->ieh = a->ih;
    s->p = a->p;
    s->p1 = a->p1;
    s->se = a->s;
    s->se1 = a->s1;
    s->sen = a->sn;
    s->de_i = a->d_i;
    s->de_v = a->d_v;
    s->se_h = a->s_h;
    s->p1_pos = a->p1;
    s->q1_pos = a->q1;
    s->s1_pos = a->s1;
    s->pf = a->pf;
    s->pf1_pos = a->pf1;
    s->harm_pollution = ratio(a->sn, a->s1);
    s->v_pos = a->v1;
    s->i_pos = a->i1;
    return;
  }
  cplx_t v1[3], i1[3];
  double ii2 = 0.0, ii12 = 0.0;
  for (int p = 0; p < 3; p++) {
    v1[p] = v_fund(m, h, p);
    i1[p] = fund(h, m->nu + p);
    s->p += r->ph[p].p;
    s->p1 += r->ph[p].p1;
    ii2 += r->ph[p].i * r->ph[p].i;
    ii12 += r->ph[p].i1 * r->ph[p].i1;
  }
  double ve2, ve12;
  if (m->cfg.layout == HR_LAYOUT_3P4W) {
    /* IEEE 1459-2010 §3.2.2.5, four-wire (rho = 1): the neutral counts. */
    const int cn = m->nu + 3;
    double in2 = mean_ab(h, cn, cn);
    double in12 = c_abs(fund(h, cn)) * c_abs(fund(h, cn));
    ii2 += in2;
    ii12 += in12;
    double vll2 = 0.0, vll12 = 0.0, vln2 = 0.0, vln12 = 0.0;
    for (int p = 0; p < 3; p++) {
      int q = (p + 1) % 3;
      double d2 = mean_ab(h, p, p) + mean_ab(h, q, q) - 2.0 * mean_ab(h, p, q);
      vll2 += d2 > 0.0 ? d2 : 0.0;
      double dl = c_abs(c_sub(v1[p], v1[q]));
      vll12 += dl * dl;
      vln2 += r->ph[p].v * r->ph[p].v;
      vln12 += r->ph[p].v1 * r->ph[p].v1;
    }
    ve2 = (3.0 * vln2 + vll2) / 18.0;
    ve12 = (3.0 * vln12 + vll12) / 18.0;
  } else {
    /* IEEE 1459-2010 §3.2.2.5, three-wire: from the line-to-line channels. */
    ve2 = ve12 = 0.0;
    for (int p = 0; p < 3; p++) {
      ve2 += mean_ab(h, p, p);
      double a = c_abs(fund(h, p));
      ve12 += a * a;
    }
    ve2 /= 9.0;
    ve12 /= 9.0;
  }
  s->ve = sqrt(ve2);
  s->ie = sqrt(ii2 / 3.0);
  s->ve1 = sqrt(ve12);
  s->ie1 = sqrt(ii12 / 3.0);
  s->veh = sqrt0(ve2 - ve12);
  s->ieh = sqrt0(ii2 / 3.0 - ii12 / 3.0);
  s->se = 3.0 * s->ve * s->ie;
  s->se1 = 3.0 * s->ve1 * s->ie1;
  s->sen = sqrt0(s->se * s->se - s->se1 * s->se1);
  s->de_i = 3.0 * s->ve1 * s->ieh;
  s->de_v = 3.0 * s->veh * s->ie1;
  s->se_h = 3.0 * s->veh * s->ieh;
  cplx_t vp, vn, v0, ip, in, i0;
  sym(v1, &vp, &vn, &v0);
  sym(i1, &ip, &in, &i0);
  cplx_t sp = c_mul(vp, (cplx_t){ip.re, -ip.im});
  s->p1_pos = 3.0 * sp.re;
  s->q1_pos = 3.0 * sp.im;
  s->s1_pos = 3.0 * c_abs(vp) * c_abs(ip);
  s->su1 = sqrt0(s->se1 * s->se1 - s->s1_pos * s->s1_pos);
  s->pf = ratio(s->p, s->se);
  s->pf1_pos = ratio(s->p1_pos, s->s1_pos);
  s->harm_pollution = ratio(s->sen, s->se1);
  s->v_pos = c_abs(vp);
  s->v_neg = c_abs(vn);
  s->v_zero = c_abs(v0);
  s->i_pos = c_abs(ip);
  s->i_neg = c_abs(in);
  s->i_zero = c_abs(i0);
  s->u2_pct = 100.0 * ratio(s->v_neg, s->v_pos);
  s->u0_pct = 100.0 * ratio(s->v_zero, s->v_pos);
  s->i2_pct = 100.0 * ratio(s->i_neg, s->i_pos);
  s->i0_pct = 100.0 * ratio(s->i_zero, s->i_pos);
}

static void measure(hr_meter_t *m, const pend_t *w)
{
  hr__harm_t *h = m->harm;
  resample(m, h, w->pos0, w->len);
  spectra(h);
  groups(h);
  hr_harm_t *r = &h->out;
  r->n_cycles = w->n_cycles;
  r->n_points = h->n_pts;
  r->h_max = HR_HARM_H_MAX;
  r->freq_hz = w->n_cycles / (w->len / m->fs);
  r->n_u = m->nu;
  r->n_i = m->ni;
  r->n_phase = m->n_phase;
  cplx_t ref = fund(h, m->cfg.ref_channel);
  double ref_deg = atan2(ref.im, ref.re) * 180.0 / M_PI;
  for (int c = 0; c < m->nu; c++)
    channel(h, c, &r->u[c], ref_deg);
  for (int c = 0; c < m->ni; c++) {
    channel(h, m->nu + c, &r->i[c], ref_deg);
    double s = 0.0;
    for (int n = 2; n <= HR_HARM_H_MAX; n++)
      s += r->i[c].sg[n] * r->i[c].sg[n];
    /* IEEE 519: total demand distortion against the maximum demand current. */
    r->tdd_pct[c] = m->cfg.harm_i_demand_a > 0.0 ? 100.0 * sqrt(s) / m->cfg.harm_i_demand_a : 0.0;
  }
  for (int p = 0; p < m->n_phase; p++)
    phase_1459(m, h, p, &r->ph[p]);
  system_1459(m, h, r);

  hr_record_t rec;
  hr__meter_rec_init(m, &rec, HR_REC_HARM);
  rec.t_ns = hr__meter_t_ns(m, w->pos0);
  rec.dur_ns = hr__meter_t_ns(m, w->pos0 + w->len) - rec.t_ns;
  rec.flags = w->flags;
  hr_harm_rec_t *y = &rec.u.harm;
  y->n_cycles = r->n_cycles;
  y->h_max = r->h_max;
  y->freq_hz = r->freq_hz;
  static const int orders[3] = {3, 5, 7};
  for (int c = 0; c < m->nu; c++) {
    y->u_thd_pct[c] = r->u[c].thd_pct;
    for (int k = 0; k < 3; k++)
      y->u_h_v[c][k] = r->u[c].sg[orders[k]];
  }
  for (int c = 0; c < m->ni; c++) {
    y->i_thd_pct[c] = r->i[c].thd_pct;
    y->i_tdd_pct[c] = r->tdd_pct[c];
    for (int k = 0; k < 3; k++)
      y->i_h_a[c][k] = r->i[c].sg[orders[k]];
  }
  const hr_p1459_sys_t *s = &r->sys;
  y->p_w = s->p;
  y->p1_pos_w = s->p1_pos;
  y->q1_pos_var = s->q1_pos;
  y->s1_pos_va = s->s1_pos;
  y->s_eff_va = s->se;
  y->s_eff1_va = s->se1;
  y->s_effn_va = s->sen;
  y->s_u1_va = s->su1;
  y->pf = s->pf;
  y->pf1_pos = s->pf1_pos;
  y->u2_pct = s->u2_pct;
  y->u0_pct = s->u0_pct;
  y->i2_pct = s->i2_pct;
  y->i0_pct = s->i0_pct;
  /* The pull queue copies records: a pointer into the meter would dangle. */
  y->detail = m->cb ? r : NULL;
  hr__meter_emit(m, &rec);
}

void hr__harm_poll(hr_meter_t *m)
{
  hr__harm_t *h = m->harm;
  while (h->n_pend > 0) {
    const pend_t *w = &h->pend[0];
    /* The last point's kernel reaches HW samples past the window's end. */
    int64_t last = (int64_t)floor(w->pos0 + w->len) + HW;
    if (last >= m->n)
      return;
    /* A window older than the ring (only after the tracking broke down,
     * when the interval can be far longer than 10/12 cycles) cannot be
     * resampled: it gets no record. */
    int64_t first = (int64_t)floor(w->pos0) - HW + 1;
    if (first >= m->n - (int64_t)m->ring_len + 1024)
      measure(m, w);
    memmove(&h->pend[0], &h->pend[1], sizeof(pend_t) * (size_t)(h->n_pend - 1));
    h->n_pend--;
  }
}

void hr__harm_interval(hr_meter_t *m, double pos0, double len, int n_cycles, uint32_t flags)
{
  hr__harm_t *h = m->harm;
  /* Polled every half cycle, a window waits less than one: the queue only
   * fills if that stops, and then the oldest window is dropped. */
  if (h->n_pend == PEND_MAX) {
    memmove(&h->pend[0], &h->pend[1], sizeof(pend_t) * (PEND_MAX - 1));
    h->n_pend--;
  }
  h->pend[h->n_pend++] = (pend_t){pos0, len, n_cycles, flags};
  hr__harm_poll(m);
}
