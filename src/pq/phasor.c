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
 * drop out) is applied once per report; the demodulating cosine and sine
 * (and for M class the sinc's sine and the Hamming window's cosine) come
 * from tables of m = 0, 1, ... samples by angle addition with the first
 * sample's offset, so a report costs a few cos/sin calls per evaluation,
 * not one per sample, and the coefficient loops vectorise. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "meter_int.h"
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
  size_t nc = (size_t)(2.0 * half_width(cfg)) + 4;
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

/* sum_k x[k][l] (a_k + j b_k) over n consecutive ring slots from slot i0
 * (no wrap), lanes l < 8 (all) or l < 4 (the voltages, for the frequency
 * path); the flags of those samples ORed into *fl.  Vectorised across the
 * lanes (HR__CLONES_512: 8 doubles a register with AVX-512). */
HR__CLONES_512 static void dot8(const float *fr, const uint16_t *fring, uint32_t i0, int64_t n,
                                const double *a, const double *b, double *ar, double *ai,
                                uint16_t *fl)
{
  double sr[HR__SLOT] = {0}, si[HR__SLOT] = {0};
  uint16_t f = 0;
  for (int64_t k = 0; k < n; k++) {
    const float *x = fr + (size_t)(i0 + (uint32_t)k) * HR__SLOT;
    const double ak = a[k], bk = b[k];
    for (int l = 0; l < HR__SLOT; l++) {
      sr[l] += (double)x[l] * ak;
      si[l] += (double)x[l] * bk;
    }
    f |= fring[i0 + (uint32_t)k];
  }
  for (int l = 0; l < HR__SLOT; l++) {
    ar[l] += sr[l];
    ai[l] += si[l];
  }
  *fl |= f;
}

HR__CLONES_512 static void dot4(const float *fr, const uint16_t *fring, uint32_t i0, int64_t n,
                                const double *a, const double *b, double *ar, double *ai,
                                uint16_t *fl)
{
  double sr[4] = {0}, si[4] = {0};
  uint16_t f = 0;
  for (int64_t k = 0; k < n; k++) {
    const float *x = fr + (size_t)(i0 + (uint32_t)k) * HR__SLOT;
    const double ak = a[k], bk = b[k];
    for (int l = 0; l < 4; l++) {
      sr[l] += (double)x[l] * ak;
      si[l] += (double)x[l] * bk;
    }
    f |= fring[i0 + (uint32_t)k];
  }
  for (int l = 0; l < 4; l++) {
    ar[l] += sr[l];
    ai[l] += si[l];
  }
  *fl |= f;
}

/* P-class coefficients of one evaluation: (a + j b)_m = W(m + d0)
 * e^{-j w0 (m + d0)}, the demodulation from the table e^{-j w0 m} times
 * z = e^{-j w0 d0}; returns the sum of the weights.  Cloned like the sums
 * so the loop vectorises where the CPU allows. */
HR__CLONES_512 static double coef_p(int64_t n, double d0, double inv_hw, double zr, double zi,
                                    const double *tr, const double *ti, double *ca, double *cb)
{
  double gs = 0.0;
  for (int64_t k = 0; k < n; k++) {
    double w = 1.0 - fabs((double)k + d0) * inv_hw;
    w = w < 0.0 ? 0.0 : w;
    ca[k] = w * (zr * tr[k] - zi * ti[k]);
    cb[k] = w * (zr * ti[k] + zi * tr[k]);
    gs += w;
  }
  return gs;
}

/* M-class coefficients: W(d) = sin(wc d)/(wc d) (0.54 + 0.46 cos(pi d/hw)),
 * d = m + d0, with sin(wc d) and cos(pi d / hw) by angle addition from the
 * tables (c0, s0: cos and sin of wc d0; hc0, hs0: of pi d0 / hw). */
HR__CLONES_512 static double coef_m(int64_t n, double d0, double wc, double c0, double s0,
                                    double wa, double hc0, double hs0, double zr, double zi,
                                    const double *ts, const double *tc, const double *hs,
                                    const double *hc, const double *tr, const double *ti,
                                    double *ca, double *cb)
{
  double gs = 0.0;
  for (int64_t k = 0; k < n; k++) {
    double x = wc * ((double)k + d0);
    double sn = ts[k] * c0 + tc[k] * s0;
    int at0 = fabs(x) < 1e-9; /* the sinc's centre: 1 */
    double w = (at0 ? 1.0 : sn) / (at0 ? 1.0 : x) * (wa + (1.0 - wa) * (hc[k] * hc0 - hs[k] * hs0));
    ca[k] = w * (zr * tr[k] - zi * ti[k]);
    cb[k] = w * (zr * ti[k] + zi * tr[k]);
    gs += w;
  }
  return gs;
}

/* Filter sums at centre base + c (c a small offset): re + j im =
 * sum_k x_k w(k - c') e^{-j w0 (k - c')}, c' the centre, for lanes < 8
 * (all8) or < 4; *g the sum of the weights; phasor: the phasor filter
 * (else the frequency path's, which in M class is narrower and shorter).
 * ORs the samples' flags into *flags. */
static void eval(const hr_meter_t *m, hr__pmu_t *p, int64_t base, double c, int phasor, int all8,
                 double *re, double *im, double *g, uint32_t *flags)
{
  const double hw = phasor ? p->hw : p->hwf;
  int64_t k0 = (int64_t)ceil(c - hw), k1 = (int64_t)floor(c + hw);
  const int64_t n = k1 - k0 + 1;
  double d0 = (double)k0 - c;
  double *ca = p->ca, *cb = p->cb;
  /* The coefficients: demodulation e^{-j w0 d} = e^{-j w0 d0} e^{-j w0 m}. */
  const double zr = cos(p->w0 * d0), zi = -sin(p->w0 * d0);
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

static double deg(double re, double im)
{
  double a = atan2(im, re) * (180.0 / M_PI);
  return a <= -180.0 ? a + 360.0 : a;
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
  for (int e = 0; e < ne; e++)
    eval(m, p, p->base, p->frac + (e == 3 ? 0 : e - 1) * p->h, e == 3, e == ep, re[e], im[e], &g[e],
         &flags);
  double th[3];
  const int nu = m->nu, n3 = m->n_phase == 3;
  /* The reference phase of sample k is w0 (k - position of S); with the
   * centre at report position + delta that is w0 (k - centre) (the sums)
   * plus 2 pi f0 n / rate + w0 delta (mod 2 pi, f0 an integer). */
  const double ref = 2.0 * M_PI * (double)((int64_t)p->n * p->f0 % p->fps) / p->fps;
  for (int e = 0; e < ne; e++) {
    double rr = ref + (e == 3 ? 0 : e - 1) * p->w0 * p->h;
    double cr = cos(rr), ci = -sin(rr), s = M_SQRT2 / g[e];
    const int nl = e == ep ? m->nch : nu; /* the frequency path has the voltages only */
    for (int l = 0; l < nl; l++) {
      double a = re[e][l], b = im[e][l];
      re[e][l] = s * (a * cr - b * ci);
      im[e][l] = s * (a * ci + b * cr);
    }
  }
  for (int e = 0; e < 3; e++) {
    double vr, vi;
    if (n3)
      pos_seq(re[e], im[e], 0, &vr, &vi);
    else
      vr = re[e][0], vi = im[e][0];
    th[e] = atan2(vi, vr);
  }
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
    o->u_mag_v[c] = corr * hypot(re[ep][c], im[ep][c]);
    o->u_ang_deg[c] = deg(re[ep][c], im[ep][c]);
  }
  for (int c = 0; c < m->ni; c++) {
    o->i_mag_a[c] = corr * hypot(re[ep][nu + c], im[ep][nu + c]);
    o->i_ang_deg[c] = deg(re[ep][nu + c], im[ep][nu + c]);
  }
  if (n3) {
    double vr, vi;
    pos_seq(re[ep], im[ep], 0, &vr, &vi);
    o->u_pos_mag_v = corr * hypot(vr, vi);
    o->u_pos_ang_deg = deg(vr, vi);
    pos_seq(re[ep], im[ep], nu, &vr, &vi);
    o->i_pos_mag_a = corr * hypot(vr, vi);
    o->i_pos_ang_deg = deg(vr, vi);
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
