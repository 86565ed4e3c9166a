/* Synchrophasors, frequency and ROCOF (IEEE C37.118.1-2011 with
 * C37.118.1a-2014), see include/headroom/phasor.h for the method.
 *
 * Positions are fractional sample indices of the stream (frame 0 at 0).
 * Whole second S of the sample clock lies at position
 * (S * 1e9 - t0_ns) * fs_mhz / 1e12, kept exactly as q + r / 1e12 (int64
 * q, 0 <= r < 1e12) and advanced by fs a second, so reports stay aligned
 * to the second however long the stream runs.  Report n of second S lies
 * at that position plus n * fs / rate.
 *
 * A report's filter sum covers the samples within hw of its centre c.  The
 * demodulation phase is taken relative to c and the phase of the reference
 * at c (2 pi f0 (n / rate + delta / fs), f0 an integer so whole seconds
 * drop out) is folded into the coefficients; the demodulating cosine and
 * sine (and for M class the sinc's sine and the Hamming window's cosine)
 * come from tables of m = 0, 1, ... samples by angle addition with the
 * first sample's offset, so a report costs one cos/sin (P class; M class
 * two more per evaluation), not one per sample, and the coefficient loops
 * vectorise.  The sums run across the 8 lanes of the ring's frame slots. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "meter_int.h"
#include "atan2_poly.h"
#include "phasor_int.h"

#define CORR_N                                                                                     \
  241 /* magnitude correction table over dF in [-CORR_SPAN, CORR_SPAN] (0.05 Hz                    \
         steps; linear interpolation is within 1e-6 of the response) */
#define CORR_SPAN 6.0

struct hr__pmu {
  int cls;      /* hr_phasor_class_t */
  int fps;      /* reports per second */
  int f0;       /* nominal frequency [Hz], 50 or 60 */
  double fs;    /* sample rate [Hz] */
  double hw;    /* half-width of the (phasor) filter [samples] */
  double hwf;   /* half-width of the frequency path's filter [samples]: P class hw;
                   M class hw - h, so that its evaluations at c +/- h reach no
                   further than c +/- hw (the reporting latency stays hw) */
  double reach; /* how far a report reads either side of its centre [samples] */
  double h;     /* frequency step: half a nominal cycle [samples] */
  double w0;    /* 2 pi f0 / fs [rad/sample] */
  double wc;    /* M class: the phasor sinc's cut-off 2 pi (2 Ffr) / fs [rad/sample] */
  double wcf;   /* M class: the frequency path's narrower cut-off [rad/sample] */
  double f_lim; /* the class's frequency range either side of f0 [Hz] */
  int64_t fs_mhz;
  /* Position of the current second: q + r / 1e12 samples. */
  int64_t sec; /* the second S [s since the epoch] */
  int64_t q, r;
  int n;                 /* report number within the second */
  int64_t base;          /* floor of the report's position */
  double frac;           /* report position - base, in [0, 1) */
  int64_t due;           /* frames needed before the report can be computed */
  double corr[CORR_N];   /* 1 / filter response at dF = -CORR_SPAN + k * step */
  double *ca, *cb;       /* one evaluation's coefficients, 2 hw + 4 each */
  double *tr, *ti;       /* e^{-j w0 m}, m = 0 .. 2 hw + 3 */
  double *ts[2], *tc[2]; /* M class: sin and cos of wc m (phasor filter, [0]) and of
                            wcf m (frequency filter, [1]) */
  double *hs[2], *hc[2]; /* M class: sin and cos of pi m / hw ([0]) and pi m / hwf ([1]) */
  double corr_step;
  int wide; /* the AVX-512F sums (dot8_wide) */
};

static const int rates50[] = {10, 25, 50};
static const int rates60[] = {10, 12, 15, 20, 30, 60};

int hr__pmu_cfg_check(const hr_meter_cfg_t *cfg, hr_diag_t *diag)
{
  const int *r = cfg->f_nom_hz == 50.0 ? rates50 : rates60;
  int nr = cfg->f_nom_hz == 50.0 ? (int)HR__COUNT(rates50) : (int)HR__COUNT(rates60);
  int ok = 0;
  for (int k = 0; k < nr; k++)
    ok |= cfg->phasor_rate_fps == r[k];
  if (!ok)
    return hr__diag_fail(diag, HR_ERR_RANGE, 0, 0, "phasor_rate_fps",
                         "must be a C37.118.1 reporting rate for %g Hz (%s; got %d)", cfg->f_nom_hz,
                         cfg->f_nom_hz == 50.0 ? "10, 25 or 50" : "10, 12, 15, 20, 30 or 60",
                         cfg->phasor_rate_fps);
  if (cfg->phasor_class != HR_PHASOR_P && cfg->phasor_class != HR_PHASOR_M)
    return hr__diag_fail(diag, HR_ERR_RANGE, 0, 0, "phasor_class",
                         "must be HR_PHASOR_P (1) or HR_PHASOR_M (2) (got %d)", cfg->phasor_class);
  return HR_OK;
}

/* M class: Annex C's M-class filter, a Hamming-windowed sinc
 * sin(2 pi (2 Ffr) t) / (2 pi (2 Ffr) t) (0.54 + 0.46 cos(pi t / T)),
 * |t| < T, with the filter reference frequency Ffr and the order N of
 * C37.118.1-2011 Table C.1 (kept as Table D.1 of IEC/IEEE 60255-118-1:2018),
 * N counted at a reference sample rate of 960 Hz (60-Hz systems) and 1 kHz
 * (50-Hz systems).  The window's length in time is N / (reference rate), so
 * T = N / (2 ref_hz); at the meter's rate the weights are taken as a
 * function of time (fs need not divide anything).
 *
 * Source of the values: we could not read the standard itself.  Ffr and N
 * are those of a public reproduction, pnnl/OEDISI ieeeClass.py (commit
 * a64f0f7941c96d7d3a8621e911599454a56ef160, "From Annex D.7, Table D.1" of
 * IEC/IEEE 60255-118-1:2018), which also gives 100/s and 120/s (optional
 * rates we do not offer).  That file applies N at whatever rate it is run
 * at; the reference rates are this project's reading of the standard's
 * example, not checked against its text.  Only the rates the meter accepts
 * are listed. */
typedef struct m_filter {
  int f0;        /* nominal frequency [Hz] */
  int fps;       /* reporting rate */
  double ffr_hz; /* filter reference frequency Ffr [Hz] */
  int order;     /* filter order N at ref_hz */
  double ref_hz; /* the table's reference sample rate [Hz] */
} m_filter_t;

static const m_filter_t m_table[] = {
    {50, 10, 1.779, 806, 1000.0}, {50, 25, 4.355, 338, 1000.0}, {50, 50, 7.75, 142, 1000.0},
    {60, 10, 1.78, 968, 960.0},   {60, 12, 2.125, 816, 960.0},  {60, 15, 2.64, 662, 960.0},
    {60, 20, 3.5, 502, 960.0},    {60, 30, 5.02, 306, 960.0},   {60, 60, 8.19, 164, 960.0},
};

/* The table's row for (f0, fps); hr__pmu_cfg_check admits only rates that
 * have one, so the fallback (the last row) is never used. */
static const m_filter_t *m_row(double f0, int fps)
{
  for (size_t k = 0; k < HR__COUNT(m_table); k++)
    if (m_table[k].f0 == (int)f0 && m_table[k].fps == fps)
      return &m_table[k];
  return &m_table[HR__COUNT(m_table) - 1];
}

/* Half the window, T [s]. */
static double m_half_s(double f0, int fps)
{
  const m_filter_t *r = m_row(f0, fps);
  return 0.5 * r->order / r->ref_hz;
}

/* The phasor sinc's cut-off, 2 Ffr [Hz]. */
static double m_cut_hz(double f0, int fps)
{
  return 2.0 * m_row(f0, fps)->ffr_hz;
}

/* M class frequency and ROCOF come from phasors through a second filter of
 * our own (not Annex C's): a sinc with 0.7 of the phasor filter's cut-off
 * under a Hann window (0.5 + 0.5 cos) half a nominal cycle shorter either
 * side.  Shorter, so that its evaluations at t +/- h (h half a cycle) read
 * no sample the phasor filter does not: the reporting latency is the
 * phasor window's half-length T.  Hann, because it falls to 0 at the
 * window's edge: a Hamming edge (0.08) enters and leaves the sampled sum
 * in steps that differ between t - h, t and t + h when fs/f0 is no
 * integer, which put 0.17 Hz/s into the steady-state ROCOF at 45 Hz (fs
 * 7680, 50/s; the limit is 0.1).  Narrower, because the phasor filter
 * passes up to 0.047 beyond rate/2 (50 Hz, 10/s) and a 10 % out-of-band
 * interharmonic would move the frequency past Table 4's 0.01 Hz; this one
 * passes at most 0.007 there (8 kHz), and 0.66 to 0.90 at min(rate/5, 5 Hz)
 * (the modulation limit). */
static double m_cut_f_hz(double f0, int fps)
{
  return 0.7 * m_cut_hz(f0, fps);
}

static double half_width(const hr_meter_cfg_t *cfg)
{
  if (cfg->phasor_class == HR_PHASOR_M)
    return m_half_s(cfg->f_nom_hz, cfg->phasor_rate_fps) * cfg->fs_hz;
  return cfg->fs_hz / cfg->f_nom_hz;
}

double hr__pmu_ring_need(const hr_meter_cfg_t *cfg)
{
  return 2.0 * (half_width(cfg) + 0.5 * cfg->fs_hz / cfg->f_nom_hz) + 16.0;
}

/* The filter weight at d samples from the centre (the continuous-time
 * filter; the sums below compute the same by rotation). */
static double weight(const hr__pmu_t *p, double d)
{
  if (fabs(d) >= p->hw)
    return 0.0;
  if (p->cls == HR_PHASOR_P)
    return 1.0 - fabs(d) / p->hw;
  double x = p->wc * d; /* the phasor filter */
  double s = fabs(x) < 1e-12 ? 1.0 : sin(x) / x;
  return s * (0.54 + 0.46 * cos(M_PI * d / p->hw));
}

/* Response of the sampled filter to a demodulated tone at dF [Hz], centre
 * on a sample (off-sample centres differ by the aliasing terms, below
 * 1e-5 at these rates). */
/* w[k] = weight(k), k = 0 .. floor(hw): the taps the response sums. */
static double response(const hr__pmu_t *p, const double *w, double df)
{
  /* cos(2 pi df k / fs) by rotation from k = 0 outwards (the filter is
   * symmetric): no libm call per tap, so an M-class table at 50 kHz (42,000
   * taps) costs milliseconds at create. */
  double s = w[0], g = s;
  const double a = 2.0 * M_PI * df / p->fs, cr = cos(a), ci = sin(a);
  double zr = 1.0, zi = 0.0;
  int64_t k1 = (int64_t)floor(p->hw);
  for (int64_t k = 1; k <= k1; k++) {
    double t = zr * cr - zi * ci;
    zi = zr * ci + zi * cr;
    zr = t;
    s += 2.0 * w[k] * zr;
    g += 2.0 * w[k];
  }
  return s / g;
}

static void schedule(hr__pmu_t *p)
{
  /* Position of report n: q + (r / 1e12 + n fs / rate). */
  double off = (double)p->r * 1e-12 + (double)p->n * (double)p->fs_mhz / (1000.0 * p->fps);
  double fl = floor(off);
  p->base = p->q + (int64_t)fl;
  p->frac = off - fl;
  /* The last sample read: centre + reach. */
  p->due = p->base + (int64_t)floor(p->frac + p->reach) + 2;
}

static void next(hr__pmu_t *p)
{
  if (++p->n < p->fps) {
    schedule(p);
    return;
  }
  p->n = 0;
  p->sec++;
  int64_t a = p->fs_mhz * 1000000000LL; /* one second in 1e-12 samples */
  p->r += a % 1000000000000LL;
  p->q += a / 1000000000000LL + p->r / 1000000000000LL;
  p->r %= 1000000000000LL;
  schedule(p);
}

void hr__pmu_reset(const hr_meter_t *m, hr__pmu_t *p)
{
  if (!p)
    return;
  int64_t t0 = m->cfg.t0_ns;
  int64_t s = t0 / 1000000000LL;
  if (s * 1000000000LL > t0)
    s--;
  p->sec = s;
  /* (S * 1e9 - t0) * fs_mhz in 1e-12 samples: |.| < 1e9 * 5e7. */
  int64_t a = (s * 1000000000LL - t0) * p->fs_mhz;
  int64_t q = a / 1000000000000LL, r = a % 1000000000000LL;
  if (r < 0) {
    r += 1000000000000LL;
    q--;
  }
  p->q = q;
  p->r = r;
  p->n = 0;
  schedule(p);
  /* Skip the reports whose window starts before the stream. */
  while ((double)p->base + p->frac - p->reach < 0.0)
    next(p);
}

int hr__pmu_create(const hr_meter_t *m, hr__pmu_t **out)
{
  hr__pmu_t *p = calloc(1, sizeof *p);
  if (!p)
    return HR_ERR_NOMEM;
  const hr_meter_cfg_t *cfg = &m->cfg;
  /* Whole steps of 8 for coef_p. */
  size_t nc = ((size_t)(2.0 * half_width(cfg)) + 4 + 7) / 8 * 8;
  p->ca = malloc(nc * sizeof *p->ca);
  p->cb = malloc(nc * sizeof *p->cb);
  p->tr = malloc(nc * sizeof *p->tr);
  p->ti = malloc(nc * sizeof *p->ti);
  int bad = !p->ca || !p->cb || !p->tr || !p->ti;
  if (cfg->phasor_class == HR_PHASOR_M) {
    for (int q = 0; q < 2; q++) {
      p->ts[q] = malloc(nc * sizeof *p->ts[q]);
      p->tc[q] = malloc(nc * sizeof *p->tc[q]);
      bad |= !p->ts[q] || !p->tc[q];
    }
    for (int q = 0; q < 2; q++) {
      p->hs[q] = malloc(nc * sizeof *p->hs[q]);
      p->hc[q] = malloc(nc * sizeof *p->hc[q]);
      bad |= !p->hs[q] || !p->hc[q];
    }
  }
  if (bad) {
    hr__pmu_destroy(p);
    return HR_ERR_NOMEM;
  }
  p->cls = cfg->phasor_class;
  p->wide = HR__HAVE_AVX512F();
  p->fps = cfg->phasor_rate_fps;
  p->f0 = (int)cfg->f_nom_hz;
  p->fs = m->fs;
  p->fs_mhz = m->fs_mhz;
  p->hw = half_width(cfg);
  p->h = 0.5 * m->fs / cfg->f_nom_hz;
  p->hwf = p->cls == HR_PHASOR_M ? p->hw - p->h : p->hw;
  p->reach = fmax(p->hw, p->h + p->hwf);
  p->w0 = 2.0 * M_PI * cfg->f_nom_hz / m->fs;
  p->wc = 2.0 * M_PI * m_cut_hz(cfg->f_nom_hz, p->fps) / m->fs;
  p->wcf = 2.0 * M_PI * m_cut_f_hz(cfg->f_nom_hz, p->fps) / m->fs;
  for (size_t k = 0; k < nc; k++) {
    p->tr[k] = cos(p->w0 * (double)k);
    p->ti[k] = -sin(p->w0 * (double)k);
    if (p->cls == HR_PHASOR_M) {
      p->ts[0][k] = sin(p->wc * (double)k);
      p->tc[0][k] = cos(p->wc * (double)k);
      p->ts[1][k] = sin(p->wcf * (double)k);
      p->tc[1][k] = cos(p->wcf * (double)k);
      p->hs[0][k] = sin(M_PI * (double)k / p->hw);
      p->hc[0][k] = cos(M_PI * (double)k / p->hw);
      p->hs[1][k] = sin(M_PI * (double)k / p->hwf);
      p->hc[1][k] = cos(M_PI * (double)k / p->hwf);
    }
  }
  /* C37.118.1 Table 3: P class f0 +/- 2 Hz; M class +/- 5 Hz (Fs >= 25),
   * +/- Fs/5 (10 <= Fs < 25). */
  p->f_lim = p->cls == HR_PHASOR_P ? 2.0 : p->fps >= 25 ? 5.0 : p->fps / 5.0;
  p->corr_step = 2.0 * CORR_SPAN / (CORR_N - 1);
  /* The taps into the coefficient scratch (nc > hw + 1 entries). */
  for (int64_t k = 0; k <= (int64_t)floor(p->hw); k++)
    p->ca[k] = weight(p, (double)k);
  for (int k = 0; k < CORR_N; k++)
    p->corr[k] = 1.0 / response(p, p->ca, -CORR_SPAN + k * p->corr_step);
  *out = p;
  hr__pmu_reset(m, p);
  return HR_OK;
}

void hr__pmu_destroy(hr__pmu_t *p)
{
  if (p) {
    free(p->ca);
    free(p->cb);
    free(p->tr);
    free(p->ti);
    for (int q = 0; q < 2; q++) {
      free(p->ts[q]);
      free(p->tc[q]);
      free(p->hs[q]);
      free(p->hc[q]);
    }
  }
  free(p);
}

int64_t hr__pmu_due(const hr__pmu_t *p)
{
  return p->due;
}

/* GCC vector types, one value per lane (as in harmonics.c: kept in
 * registers; arrays of lanes indexed in loops went through memory). */
typedef float v8f __attribute__((vector_size(8 * sizeof(float))));
typedef double v8d __attribute__((vector_size(8 * sizeof(double))));
typedef int64_t v8l __attribute__((vector_size(8 * sizeof(int64_t))));
typedef float v4f __attribute__((vector_size(4 * sizeof(float))));
typedef double v4d __attribute__((vector_size(4 * sizeof(double))));

/* The flags of n ring slots from i0 (no wrap) ORed, four at a time in
 * 64-bit words, two chains (at -O2 GCC 12 left the plain loop one flag a
 * step: a third of the time of the 4-lane sums; a 16-lane vector went
 * through the stack). */
static uint16_t or_flags(const uint16_t *fring, uint32_t i0, int64_t n)
{
  const uint16_t *f = fring + i0;
  uint64_t a = 0, b = 0;
  int64_t k = 0;
  for (; k + 8 <= n; k += 8) {
    uint64_t t, u;
    memcpy(&t, f + k, sizeof t);
    memcpy(&u, f + k + 4, sizeof u);
    a |= t;
    b |= u;
  }
  a |= b;
  uint16_t o = (uint16_t)(a | a >> 16 | a >> 32 | a >> 48);
  for (; k < n; k++)
    o |= f[k];
  return o;
}

/* sum_k x[k][l] (a_k + j b_k) over n consecutive ring slots from slot i0
 * (no wrap), lanes l < 8 (all); the flags of those samples ORed into *fl.
 * Vectorised across the lanes (HR__CLONES_512: 8 doubles a register with
 * AVX-512), four samples a step into four pairs of sums: one pair carried
 * a chain of dependent adds, one sample per add latency. */
HR__CLONES_512 static void dot8(const float *fr, const uint16_t *fring, uint32_t i0, int64_t n,
                                const double *a, const double *b, double *ar, double *ai,
                                uint16_t *fl)
{
  const float *x = fr + (size_t)i0 * HR__SLOT;
  v8d r0 = {0}, r1 = {0}, r2 = {0}, r3 = {0}, q0 = {0}, q1 = {0}, q2 = {0}, q3 = {0};
  int64_t k = 0;
  for (; k + 4 <= n; k += 4) {
    v8f f0, f1, f2, f3;
    memcpy(&f0, x + (size_t)k * HR__SLOT, sizeof f0);
    memcpy(&f1, x + (size_t)(k + 1) * HR__SLOT, sizeof f1);
    memcpy(&f2, x + (size_t)(k + 2) * HR__SLOT, sizeof f2);
    memcpy(&f3, x + (size_t)(k + 3) * HR__SLOT, sizeof f3);
    const v8d x0 = __builtin_convertvector(f0, v8d), x1 = __builtin_convertvector(f1, v8d);
    const v8d x2 = __builtin_convertvector(f2, v8d), x3 = __builtin_convertvector(f3, v8d);
    r0 += x0 * a[k];
    q0 += x0 * b[k];
    r1 += x1 * a[k + 1];
    q1 += x1 * b[k + 1];
    r2 += x2 * a[k + 2];
    q2 += x2 * b[k + 2];
    r3 += x3 * a[k + 3];
    q3 += x3 * b[k + 3];
  }
  for (; k < n; k++) {
    v8f f0;
    memcpy(&f0, x + (size_t)k * HR__SLOT, sizeof f0);
    const v8d x0 = __builtin_convertvector(f0, v8d);
    r0 += x0 * a[k];
    q0 += x0 * b[k];
  }
  const v8d r = (r0 + r1) + (r2 + r3), q = (q0 + q1) + (q2 + q3);
  for (int l = 0; l < HR__SLOT; l++) {
    ar[l] += r[l];
    ai[l] += q[l];
  }
  *fl |= or_flags(fring, i0, n);
}

/* The same over lanes l < 4 (the voltages, for the frequency path). */
HR__CLONES_512 static void dot4(const float *fr, const uint16_t *fring, uint32_t i0, int64_t n,
                                const double *a, const double *b, double *ar, double *ai,
                                uint16_t *fl)
{
  const float *x = fr + (size_t)i0 * HR__SLOT;
  v4d r0 = {0}, r1 = {0}, r2 = {0}, r3 = {0}, q0 = {0}, q1 = {0}, q2 = {0}, q3 = {0};
  int64_t k = 0;
  for (; k + 4 <= n; k += 4) {
    v4f f0, f1, f2, f3;
    memcpy(&f0, x + (size_t)k * HR__SLOT, sizeof f0);
    memcpy(&f1, x + (size_t)(k + 1) * HR__SLOT, sizeof f1);
    memcpy(&f2, x + (size_t)(k + 2) * HR__SLOT, sizeof f2);
    memcpy(&f3, x + (size_t)(k + 3) * HR__SLOT, sizeof f3);
    const v4d x0 = __builtin_convertvector(f0, v4d), x1 = __builtin_convertvector(f1, v4d);
    const v4d x2 = __builtin_convertvector(f2, v4d), x3 = __builtin_convertvector(f3, v4d);
    r0 += x0 * a[k];
    q0 += x0 * b[k];
    r1 += x1 * a[k + 1];
    q1 += x1 * b[k + 1];
    r2 += x2 * a[k + 2];
    q2 += x2 * b[k + 2];
    r3 += x3 * a[k + 3];
    q3 += x3 * b[k + 3];
  }
  for (; k < n; k++) {
    v4f f0;
    memcpy(&f0, x + (size_t)k * HR__SLOT, sizeof f0);
    const v4d x0 = __builtin_convertvector(f0, v4d);
    r0 += x0 * a[k];
    q0 += x0 * b[k];
  }
  const v4d r = (r0 + r1) + (r2 + r3), q = (q0 + q1) + (q2 + q3);
  for (int l = 0; l < 4; l++) {
    ar[l] += r[l];
    ai[l] += q[l];
  }
  *fl |= or_flags(fring, i0, n);
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(HR_NO_CLONES)
/* dot8 with AVX-512F (HR__TARGET_512, chosen at creation by
 * HR__HAVE_AVX512F(), as meter.c's wide window sums): the widening as one
 * vcvtps2pd ymm -> zmm (GCC 12 splits a generic 8-float to 8-double
 * conversion into halves joined by shuffles, and a 4-float one went through
 * the stack), and multiply-adds fused (one rounding instead of two).  It
 * also serves the 4-lane evaluations: a 4-lane form with two samples a
 * register (lanes 0-3 of samples k and k + 1, each coefficient broadcast
 * to a half) measured slower than this, its broadcasts and inserts queueing
 * on the shuffle units. */
#define HAVE_WIDE_DOT 1
#define WIDEN8(a) ((v8d)__builtin_ia32_cvtps2pd512_mask((a), (v8d){0}, (unsigned char)0xff, 4))

__attribute__((optimize("fp-contract=fast"))) HR__TARGET_512 static void
dot8_wide(const float *fr, const uint16_t *fring, uint32_t i0, int64_t n, const double *a,
          const double *b, double *ar, double *ai, uint16_t *fl)
{
  const float *x = fr + (size_t)i0 * HR__SLOT;
  v8d r0 = {0}, r1 = {0}, r2 = {0}, r3 = {0}, q0 = {0}, q1 = {0}, q2 = {0}, q3 = {0};
  int64_t k = 0;
  for (; k + 4 <= n; k += 4) {
    v8f f0, f1, f2, f3;
    memcpy(&f0, x + (size_t)k * HR__SLOT, sizeof f0);
    memcpy(&f1, x + (size_t)(k + 1) * HR__SLOT, sizeof f1);
    memcpy(&f2, x + (size_t)(k + 2) * HR__SLOT, sizeof f2);
    memcpy(&f3, x + (size_t)(k + 3) * HR__SLOT, sizeof f3);
    const v8d x0 = WIDEN8(f0), x1 = WIDEN8(f1), x2 = WIDEN8(f2), x3 = WIDEN8(f3);
    r0 += x0 * a[k];
    q0 += x0 * b[k];
    r1 += x1 * a[k + 1];
    q1 += x1 * b[k + 1];
    r2 += x2 * a[k + 2];
    q2 += x2 * b[k + 2];
    r3 += x3 * a[k + 3];
    q3 += x3 * b[k + 3];
  }
  for (; k < n; k++) {
    v8f f0;
    memcpy(&f0, x + (size_t)k * HR__SLOT, sizeof f0);
    const v8d x0 = WIDEN8(f0);
    r0 += x0 * a[k];
    q0 += x0 * b[k];
  }
  const v8d r = (r0 + r1) + (r2 + r3), q = (q0 + q1) + (q2 + q3);
  for (int l = 0; l < HR__SLOT; l++) {
    ar[l] += r[l];
    ai[l] += q[l];
  }
  *fl |= or_flags(fring, i0, n);
}

#endif

/* P-class coefficients of one evaluation: (a + j b)_m = W(m + d0)
 * e^{-j w0 (m + d0)}, the demodulation from the table e^{-j w0 m} times
 * z = e^{-j w0 d0}; returns the sum of the weights.  Eight taps a step as
 * vectors (the weights' sum in eight partial sums: as one scalar chain it
 * kept the loop from vectorising and cost more than the filter sums).
 * Writes and reads whole steps of 8: the tables and ca, cb hold n rounded
 * up to 8; taps past n get weight 0. */
HR__CLONES_512 static double coef_p(int64_t n, double d0, double inv_hw, double zr, double zi,
                                    const double *tr, const double *ti, double *ca, double *cb)
{
  /* 8 ones then 8 zeros: from offset 8 - r, the first r taps of a step. */
  static const double keep[16] = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0};
  const v8d iota = {0, 1, 2, 3, 4, 5, 6, 7};
  const v8l abs_mask = {INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX,
                        INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX};
  v8d gs = {0};
  for (int64_t k = 0; k < n; k += 8) {
    /* (double)k + iota is exact, so d is the scalar form's (double)m + d0. */
    const v8d d = ((double)k + iota) + d0;
    v8d w = 1.0 - (v8d)((v8l)d & abs_mask) * inv_hw;
    /* max(w, 0) as (w + |w|) / 2, exact for either sign (no compares: with
     * AVX-512F alone GCC 12 turns a lane compare into scalar code), and 0
     * past the last tap. */
    w = (w + (v8d)((v8l)w & abs_mask)) * 0.5;
    v8d kp;
    memcpy(&kp, keep + 8 - (n - k < 8 ? n - k : 8), sizeof kp);
    w *= kp;
    v8d t_r, t_i;
    memcpy(&t_r, tr + k, sizeof t_r);
    memcpy(&t_i, ti + k, sizeof t_i);
    const v8d a = w * (zr * t_r - zi * t_i), b = w * (zr * t_i + zi * t_r);
    memcpy(ca + k, &a, sizeof a);
    memcpy(cb + k, &b, sizeof b);
    gs += w;
  }
  return ((gs[0] + gs[1]) + (gs[2] + gs[3])) + ((gs[4] + gs[5]) + (gs[6] + gs[7]));
}

/* M-class coefficients: W(d) = sin(wc d)/(wc d) (0.54 + 0.46 cos(pi d/hw)),
 * d = m + d0, with sin(wc d) and cos(pi d / hw) by angle addition from the
 * tables (c0, s0: cos and sin of wc d0; hc0, hs0: of pi d0 / hw).  Eight
 * taps a step as coef_p, and like it without lane compares: the sinc's
 * centre (|wc d| < 1e-9, where it is 1) is picked by the sign of the
 * difference of the bit patterns (|x| and 1e-9 order as their patterns). */
HR__CLONES_512 static double coef_m(int64_t n, double d0, double wc, double c0, double s0,
                                    double wa, double hc0, double hs0, double zr, double zi,
                                    const double *ts, const double *tc, const double *hs,
                                    const double *hc, const double *tr, const double *ti,
                                    double *ca, double *cb)
{
  static const double keep[16] = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0};
  const v8d iota = {0, 1, 2, 3, 4, 5, 6, 7};
  const v8l abs_mask = {INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX,
                        INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX};
  const double tiny = 1e-9, one = 1.0;
  int64_t tiny_bits, one_bits;
  memcpy(&tiny_bits, &tiny, sizeof tiny_bits);
  memcpy(&one_bits, &one, sizeof one_bits);
  v8d gs = {0};
  for (int64_t k = 0; k < n; k += 8) {
    const v8d x = wc * (((double)k + iota) + d0);
    v8d t_s, t_c, h_s, h_c, t_r, t_i, kp;
    memcpy(&t_s, ts + k, sizeof t_s);
    memcpy(&t_c, tc + k, sizeof t_c);
    memcpy(&h_s, hs + k, sizeof h_s);
    memcpy(&h_c, hc + k, sizeof h_c);
    memcpy(&t_r, tr + k, sizeof t_r);
    memcpy(&t_i, ti + k, sizeof t_i);
    memcpy(&kp, keep + 8 - (n - k < 8 ? n - k : 8), sizeof kp);
    const v8d sn = t_s * c0 + t_c * s0;
    /* All ones where |x| < 1e-9 (the centre: 1 / 1), else 0 (sn / x). */
    const v8l at0 = (((v8l)x & abs_mask) - tiny_bits) >> 63;
    const v8d num = (v8d)(((v8l)sn & ~at0) | (one_bits & at0));
    const v8d den = (v8d)(((v8l)x & ~at0) | (one_bits & at0));
    const v8d w = num / den * (wa + (1.0 - wa) * (h_c * hc0 - h_s * hs0)) * kp;
    const v8d a = w * (zr * t_r - zi * t_i), b = w * (zr * t_i + zi * t_r);
    memcpy(ca + k, &a, sizeof a);
    memcpy(cb + k, &b, sizeof b);
    gs += w;
  }
  return ((gs[0] + gs[1]) + (gs[2] + gs[3])) + ((gs[4] + gs[5]) + (gs[6] + gs[7]));
}

/* The taps of an evaluation at centre base + c: k0 .. k0 + n - 1 (relative
 * to base), those within the half-width of the phasor filter (phasor) or of
 * the frequency path's. */
static void span(const hr__pmu_t *p, double c, int phasor, int64_t *k0, int64_t *n)
{
  const double hw = phasor ? p->hw : p->hwf;
  *k0 = (int64_t)ceil(c - hw);
  *n = (int64_t)floor(c + hw) - *k0 + 1;
}

/* Filter sums at centre base + c (c a small offset) over taps k0 .. k0 + n
 * - 1 (span()): re + j im = sum_k x_k w(k - c') e^{-j w0 (k - c')} e^{-j rr},
 * c' the centre, for lanes < 8 (all8) or < 4; (zr, zi) = e^{-j (w0 d0 +
 * rr)}, d0 = k0 - c, the demodulation's phase at the first tap with the
 * report's reference rotation rr folded in; *g the sum of the weights;
 * phasor: the phasor filter (else the frequency path's, which in M class is
 * narrower and shorter).  ORs the samples' flags into *flags. */
static void eval(const hr_meter_t *m, hr__pmu_t *p, int64_t base, double c, int64_t k0, int64_t n,
                 double zr, double zi, int phasor, int all8, double *re, double *im, double *g,
                 uint32_t *flags)
{
  const double hw = phasor ? p->hw : p->hwf;
  double d0 = (double)k0 - c;
  double *ca = p->ca, *cb = p->cb;
  /* The coefficients: demodulation e^{-j w0 d} = e^{-j w0 d0} e^{-j w0 m}. */
  double gs;
  if (p->cls == HR_PHASOR_P) {
    gs = coef_p(n, d0, 1.0 / hw, zr, zi, p->tr, p->ti, ca, cb);
  } else {
    const int q = phasor ? 0 : 1;
    const double wc = phasor ? p->wc : p->wcf, wh = M_PI / hw;
    gs = coef_m(n, d0, wc, cos(wc * d0), sin(wc * d0), phasor ? 0.54 : 0.5, cos(wh * d0),
                sin(wh * d0), zr, zi, p->ts[q], p->tc[q], p->hs[q], p->hc[q], p->tr, p->ti, ca, cb);
  }
  /* The samples, in at most two runs of ring slots. */
  memset(re, 0, sizeof(double) * HR__SLOT);
  memset(im, 0, sizeof(double) * HR__SLOT);
  uint16_t fl = 0;
  uint32_t i0 = (uint32_t)(base + k0) & m->mask;
  int64_t first = (int64_t)m->ring_len - i0 < n ? (int64_t)m->ring_len - i0 : n;
  void (*dot)(const float *, const uint16_t *, uint32_t, int64_t, const double *, const double *,
              double *, double *, uint16_t *) = all8 ? dot8 : dot4;
#ifdef HAVE_WIDE_DOT
  /* With AVX-512 the 4-lane sums cost about as much as the 8-lane ones
   * (the frame slots are 8 lanes either way), and dot8_wide is the cheaper
   * of the two: every evaluation takes all lanes. */
  if (p->wide)
    dot = dot8_wide;
#endif
  dot(m->fr, m->fring, i0, first, ca, cb, re, im, &fl);
  if (first < n)
    dot(m->fr, m->fring, 0, n - first, ca + first, cb + first, re, im, &fl);
  *g = gs;
  *flags |= fl & (HR_FLAG_BAD_SAMPLE | HR_FLAG_CLIPPED);
}

static double wrap_pi(double a)
{
  return a - 2.0 * M_PI * floor((a + M_PI) / (2.0 * M_PI));
}

/* Positive sequence (x0 + a x1 + a^2 x2) / 3, a = e^{j 2 pi / 3}. */
static void pos_seq(const double *re, const double *im, int c0, double *pr, double *pi)
{
  const double ar = -0.5, ai = 0.8660254037844386;
  *pr = (re[c0] + ar * re[c0 + 1] - ai * im[c0 + 1] + ar * re[c0 + 2] + ai * im[c0 + 2]) / 3.0;
  *pi = (im[c0] + ar * im[c0 + 1] + ai * re[c0 + 1] + ar * im[c0 + 2] - ai * re[c0 + 2]) / 3.0;
}

/* Angles atan2(y[k], x[k]) [rad], k < n, without libm (a report needs a
 * dozen; as libm calls they cost about as much as the filter sums):
 * hr__atan2_poly (atan2_poly.h), within 1e-12 rad (1e-11 Hz of frequency through the half-cycle
 * difference below, 1e-8 Hz/s of ROCOF; C37.118.1's limits are 0.005 Hz and 0.01 Hz/s).  0 where x
 * = y = 0.  No trapping math: nothing reads the exception flags, and GCC if-converts the selects
 * only without it. */
__attribute__((optimize("no-trapping-math"))) HR__CLONES_512 static void
angles(int n, const double *xs, const double *ys, double *out)
{
#pragma omp simd
  for (int k = 0; k < n; k++)
    out[k] = hr__atan2_poly(ys[k], xs[k]);
}

/* An angle [rad] in degrees, in (-180, 180]. */
static double deg(double a_rad)
{
  double a = a_rad * (180.0 / M_PI);
  return a <= -180.0 ? a + 360.0 : a;
}

/* |re + j im|: sqrt of the sum of squares rather than libm's hypot (3 times
 * faster; the values are volts and amperes, far from overflow). */
static double mag(double re, double im)
{
  return sqrt(re * re + im * im);
}

void hr__pmu_report(hr_meter_t *m)
{
  hr__pmu_t *p = m->pmu;
  hr_record_t rec;
  hr__meter_rec_init(m, &rec, HR_REC_PHASOR);
  hr_phasor_rec_t *o = &rec.u.phasor;
  uint32_t flags = 0;
  /* Evaluations at c - h, c, c + h (for the frequency), and for M class the
   * phasor filter at c (index 3). */
  double re[4][HR__SLOT], im[4][HR__SLOT], g[4];
  const int mc = p->cls == HR_PHASOR_M, ne = mc ? 4 : 3, ep = mc ? 3 : 1;
  const int nu = m->nu, n3 = m->n_phase == 3;
  /* The reference phase of sample k is w0 (k - position of S); with the
   * centre c' at report position + delta that is w0 (k - c') (the sums)
   * plus rr = 2 pi f0 n / rate + w0 delta (mod 2 pi, f0 an integer).  With
   * delta = frac + o h (o = -1, 0, 1, evaluation e at c - h, c, c + h) and
   * d0 = k0 - c', an evaluation's phase at its first tap, w0 d0 + rr, is
   * w0 (k0 - frac) + 2 pi f0 n / rate: one cos/sin a report, for e = 1, and
   * the others by the table e^{-j w0 m} (k0 differs by about h). */
  const double ref = 2.0 * M_PI * (double)((int64_t)p->n * p->f0 % p->fps) / p->fps;
  int64_t k0[4], nk[4];
  for (int e = 0; e < ne; e++)
    span(p, p->frac + (e == 3 ? 0 : e - 1) * p->h, e == 3, &k0[e], &nk[e]);
  const double a1 = p->w0 * ((double)k0[1] - p->frac) + ref;
  const double z1r = cos(a1), z1i = -sin(a1);
  for (int e = 0; e < ne; e++) {
    const int64_t dk = k0[e] - k0[1], ak = dk < 0 ? -dk : dk;
    const double tr = p->tr[ak], ti = dk < 0 ? -p->ti[ak] : p->ti[ak];
    eval(m, p, p->base, p->frac + (e == 3 ? 0 : e - 1) * p->h, k0[e], nk[e], z1r * tr - z1i * ti,
         z1r * ti + z1i * tr, e == 3, e == ep, re[e], im[e], &g[e], &flags);
  }
  for (int e = 0; e < ne; e++) {
    const double s = M_SQRT2 / g[e];
    const int nl = e == ep ? m->nch : nu; /* the frequency path has the voltages only */
    for (int l = 0; l < nl; l++) {
      re[e][l] *= s;
      im[e][l] *= s;
    }
  }
  /* Every angle of the report in one pass: the positive sequence (or the
   * single phase) at c - h, c, c + h for the frequency, then each channel
   * and the two positive sequences of the phasor evaluation. */
  double ax[3 + 2 * HR__SLOT + 2], ay[3 + 2 * HR__SLOT + 2], an[3 + 2 * HR__SLOT + 2];
  for (int e = 0; e < 3; e++) {
    if (n3)
      pos_seq(re[e], im[e], 0, &ax[e], &ay[e]);
    else
      ax[e] = re[e][0], ay[e] = im[e][0];
  }
  int na = 3;
  for (int c = 0; c < nu + m->ni; c++, na++)
    ax[na] = re[ep][c], ay[na] = im[ep][c];
  const int i_pos = na;
  if (n3) {
    pos_seq(re[ep], im[ep], 0, &ax[na], &ay[na]);
    pos_seq(re[ep], im[ep], nu, &ax[na + 1], &ay[na + 1]);
    na += 2;
  }
  angles(na, ax, ay, an);
  const double *th = an;
  const double hs = p->h / p->fs; /* [s] */
  double df = wrap_pi(th[2] - th[0]) / (4.0 * M_PI * hs);
  o->freq_hz = p->f0 + df;
  o->rocof_hz_per_s = (wrap_pi(th[2] - th[1]) - wrap_pi(th[1] - th[0])) / (2.0 * M_PI * hs * hs);
  /* Magnitude correction for the filter's response at dF (table, linear). */
  double x = (fmin(fmax(df, -CORR_SPAN), CORR_SPAN) + CORR_SPAN) / p->corr_step;
  int k = (int)x;
  if (k >= CORR_N - 1)
    k = CORR_N - 2;
  double corr = p->corr[k] + (x - k) * (p->corr[k + 1] - p->corr[k]);
  for (int c = 0; c < nu; c++) {
    o->u_mag_v[c] = corr * mag(re[ep][c], im[ep][c]);
    o->u_ang_deg[c] = deg(an[3 + c]);
  }
  for (int c = 0; c < m->ni; c++) {
    o->i_mag_a[c] = corr * mag(re[ep][nu + c], im[ep][nu + c]);
    o->i_ang_deg[c] = deg(an[3 + nu + c]);
  }
  if (n3) {
    o->u_pos_mag_v = corr * mag(ax[i_pos], ay[i_pos]);
    o->u_pos_ang_deg = deg(an[i_pos]);
    o->i_pos_mag_a = corr * mag(ax[i_pos + 1], ay[i_pos + 1]);
    o->i_pos_ang_deg = deg(an[i_pos + 1]);
  }
  o->rate_fps = p->fps;
  o->pclass = p->cls;
  if (fabs(df) > p->f_lim)
    flags |= HR_FLAG_FREQ_RANGE;
  rec.flags = flags;
  rec.t_ns = p->sec * 1000000000LL + llround((double)p->n * 1e9 / p->fps);
  rec.dur_ns = llround(2.0 * p->hw / p->fs * 1e9);
  hr__meter_emit(m, &rec);
  next(p);
}
