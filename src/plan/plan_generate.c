/* plan module: generating power traces from a trained model. */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "plan/plan_model_int.h"
#include "plan/plan_vmath.h"

/* ----------------------------------------------------------- generation */

static const group_t *find_group(const hr_plan_model_t *m, const char *label)
{
  const group_t *pooled = NULL;
  for (int g = 0; g < m->ng; g++) {
    if (label && strcmp(m->gr[g].label, label) == 0)
      return &m->gr[g];
    if (strcmp(m->gr[g].label, "*") == 0 || hr__plan_per_gpu_key(&m->gr[g]))
      pooled = &m->gr[g];
  }
  return pooled;
}

int hr_plan_model_states(const hr_plan_model_t *m, const char *model)
{
  const group_t *g = m ? find_group(m, model) : NULL;
  return g ? g->g.k : 0;
}

const char *hr_plan_model_label(const hr_plan_model_t *m, size_t i)
{
  for (int g = 0; m && g < m->ng; g++) {
    if (strcmp(m->gr[g].label, "*") == 0 || hr__plan_per_gpu_key(&m->gr[g]))
      continue;
    if (i-- == 0)
      return m->gr[g].label;
  }
  return NULL;
}

/* Position of batch size b among the group's batches: lower index and the
 * weight of the upper neighbour, interpolating in log2 and clamping at the
 * ends. */
static int batch_pos(const double *bs, int nb, double b, double *w)
{
  double lb = log2(fmax(b, 1.0));
  if (nb == 1 || lb <= log2(bs[0])) {
    *w = 0.0;
    return 0;
  }
  if (lb >= log2(bs[nb - 1])) {
    *w = 1.0;
    return nb - 2;
  }
  int j = 0;
  while (j + 2 < nb && lb > log2(bs[j + 1]))
    j++;
  *w = (lb - log2(bs[j])) / (log2(bs[j + 1]) - log2(bs[j]));
  return j;
}

/* batch_pos with the batches' log2 given (lbs[i] = log2(bs[i])): the same
 * result, one log2 instead of up to nb + 2. */
static inline __attribute__((always_inline)) int batch_pos_log2(const double *lbs, int nb, double b,
                                                                double *w)
{
  /* log2(fmax(b, 1)) without the call for a partly idle bin (b <= 1): C11
   * F.10.3.10 (IEC 60559) gives log2(1) = +0. */
  double lb = b > 1.0 ? log2(b) : 0.0;
  if (nb == 1 || lb <= lbs[0]) {
    *w = 0.0;
    return 0;
  }
  if (lb >= lbs[nb - 1]) {
    *w = 1.0;
    return nb - 2;
  }
  int j = 0;
  while (j + 2 < nb && lb > lbs[j + 1])
    j++;
  *w = (lb - lbs[j]) / (lbs[j + 1] - lbs[j]);
  return j;
}

static int draw(hr_plan_rng_t *r, const double *p, int k)
{
  double u = hr_plan_rng_uniform(r), c = 0.0;
  for (int j = 0; j < k - 1; j++) {
    c += p[j];
    if (u < c)
      return j;
  }
  return k - 1;
}

/* Levinson-Durbin: AR coefficients phi[0..p) and innovation variance of a
 * unit-variance process with autocorrelation r[0..p) at lags 1..p.  Stops at
 * the order where the recursion would leave the stationary region, so any
 * input gives a stable filter. */
static int levinson(const double *r, int p, double *phi, double *var)
{
  double a[ZLAGS] = {0}, tmp[ZLAGS];
  double e = 1.0;
  int m = 0;
  for (; m < p; m++) {
    double acc = r[m];
    for (int i = 0; i < m; i++)
      acc -= a[i] * r[m - 1 - i];
    double kap = acc / e;
    if (!(fabs(kap) < 0.999))
      break;
    for (int i = 0; i < m; i++)
      tmp[i] = a[i] - kap * a[m - 1 - i];
    memcpy(a, tmp, (size_t)m * sizeof a[0]);
    a[m] = kap;
    e *= 1.0 - kap * kap;
  }
  memcpy(phi, a, (size_t)p * sizeof a[0]);
  *var = e;
  return m;
}

/* A(t) is a time average over the bin: below one active request the server
 * was idle for part of it, so the bin's power is the time-weighted mix of
 * idle (which the traces lack: idle_w_per_gpu is an input) and busy power.
 * From one request up, the smallest trained batch's level holds. */
static double idle_blend(const hr_plan_model_t *m, double a, double busy)
{
  a = fmax(a, 0.0);
  return m->idle_w_per_gpu + a * (busy - m->idle_w_per_gpu);
}

#define NW 16 /* interpolation weights are rounded to 1/NW for the AR cache */

/* Latent ACF of batch j at lags of dt_s, from the training lags (steps of
 * train_dt_s) by linear interpolation; beyond the trained lags it is 0. */
static void scaled_acf(const group_t *g, int j, double ratio, double *acf)
{
  for (int l = 0; l < ZLAGS; l++) {
    double x = (l + 1) * ratio; /* in training lags */
    if (x <= 1.0)
      acf[l] = 1.0 + (g->acfz[j][0] - 1.0) * x;
    else if (x < ZLAGS) {
      int i = (int)x;
      acf[l] = g->acfz[j][i - 1] + (x - i) * (g->acfz[j][i] - g->acfz[j][i - 1]);
    } else
      acf[l] = x == ZLAGS ? g->acfz[j][ZLAGS - 1] : 0.0;
  }
}

typedef struct ar_set {
  double phi[ZLAGS], sd;
  int order, ready;
} ar_set_t;

/* The standard normal CDF on a grid of step 1/PHI_PER over [-PHI_Z,
 * PHI_Z], read by cubic Hermite interpolation with the exact derivative (the
 * density): the error is below 1e-8, and erfc per sample was a sixth of a
 * site run. */
#define PHI_Z 8.5
#define PHI_PER 32
#define PHI_N 545 /* 2 PHI_Z PHI_PER + 1 */

typedef struct phi_tab {
  double p[PHI_N], d[PHI_N]; /* Phi and its density at the grid points */
} phi_tab_t;

static void phi_init(phi_tab_t *t)
{
  for (int i = 0; i < PHI_N; i++) {
    double z = -PHI_Z + (double)i / PHI_PER;
    t->p[i] = 0.5 * erfc(-z / M_SQRT2);
    t->d[i] = exp(-0.5 * z * z) / sqrt(2.0 * M_PI);
  }
}

/* always_inline: called from the generator's target clones, which GCC does
 * not inline a default-target function into by itself. */
static inline __attribute__((always_inline)) double phi_of(const phi_tab_t *t, double z)
{
  double x = (z + PHI_Z) * PHI_PER;
  /* Both range checks on the double, before the conversion: (int)x of a
   * value outside int's range is undefined (C11 6.3.1.4p1), and a huge
   * latent z gives one.  x < PHI_N - 1 is what (int)x < PHI_N - 1 was for
   * x > 0, so the table is read for the same x as before. */
  if (!(x > 0.0 && x < PHI_N - 1))
    return 0.5 * erfc(-z / M_SQRT2); /* the far tails (and NaN) exactly */
  int i = (int)x;
  double u = x - i, h = 1.0 / PHI_PER, u2 = u * u, u3 = u2 * u;
  return (2 * u3 - 3 * u2 + 1) * t->p[i] + (u3 - 2 * u2 + u) * h * t->d[i] +
         (-2 * u3 + 3 * u2) * t->p[i + 1] + (u3 - u2) * h * t->d[i + 1];
}

/* The AR set of batch position (j, wi): built on first use. */
static ar_set_t *ar_get(const hr_plan_model_t *m, const group_t *g, ar_set_t *cache, int j, int wi,
                        double ratio)
{
  ar_set_t *ar = &cache[j * (NW + 1) + wi];
  if (!ar->ready) {
    /* A convex mix of two valid ACFs is a valid ACF, so the AR filter of
     * an interpolated configuration is stable (Levinson stops otherwise). */
    double x0[ZLAGS], x1[ZLAGS], acf[ZLAGS], var;
    scaled_acf(g, j, ratio, x0);
    scaled_acf(g, g->nb > 1 ? j + 1 : j, ratio, x1);
    for (int l = 0; l < ZLAGS; l++)
      acf[l] = (1.0 - (double)wi / NW) * x0[l] + (double)wi / NW * x1[l];
    ar->order = levinson(acf, ZLAGS, ar->phi, &var);
    ar->sd = sqrt(var);
    ar->ready = 1;
  }
  return ar;
}

/* The copula's per-step output: power [W] of latent z at batch position
 * (j, j1, w) with active count a (idle bins are handled by the caller). */
static inline __attribute__((always_inline)) double copula_out(const hr_plan_model_t *m,
                                                               const group_t *g,
                                                               const phi_tab_t *pt, int j, int j1,
                                                               double w, double a, double z)
{
  double pos = phi_of(pt, z) * (NQ - 1);
  int qi = (int)pos;
  if (qi >= NQ - 1)
    qi = NQ - 2;
  double f = pos - qi;
  double xa = g->qtab[j][qi] + f * (g->qtab[j][qi + 1] - g->qtab[j][qi]);
  double xb = g->qtab[j1][qi] + f * (g->qtab[j1][qi + 1] - g->qtab[j1][qi]);
  /* Quantile (displacement) interpolation between neighbouring batch
   * sizes: a level that moves with the batch moves, rather than splitting
   * into two bumps as a mixture would. */
  double x = (1 - w) * xa + w * xb;
  if (a < 1.0) /* busy part of the bin only; see idle_blend */
    x = idle_blend(m, a, x);
  return x;
}

/* ---- the copula generator (issue 17: a 10,000-server day in a minute) ----
 * Per step: a normal draw, the 50-tap AR filter on the latent, the normal
 * CDF and two quantile reads.  The draws come from the replica's xoshiro256**
 * stream in the same order as before (u1, u2 per Box-Muller pair, the cosine
 * normal first), but 128 pairs at a time through a polynomial log and
 * sincos that the compiler vectorises (8 pairs a register with AVX-512);
 * they differ from libm's by a few ulps.  The AR sum leaves the two newest
 * lags out of its vector part, so that the step-to-step dependency is two
 * multiply-adds rather than the whole 50-tap sum. */

#define BM_PAIRS 128

typedef struct bm_buf {
  uint64_t s[4]; /* the replica's xoshiro256** state */
  int pos, len;
  double u1[BM_PAIRS], u2[BM_PAIRS], c[BM_PAIRS], s2[BM_PAIRS], e[2 * BM_PAIRS];
} bm_buf_t;

HR__CLONES_V4 static void bm_pairs(const double *restrict u1, const double *restrict u2, int np,
                                   double *restrict c, double *restrict s)
{
#pragma omp simd
  for (int i = 0; i < np; i++) {
    double rad = sqrt(-2.0 * bm_log(u1[i]));
    bm_sincos(u2[i], c + i, s + i);
    c[i] *= rad;
    s[i] *= rad;
  }
}

/* The next BM_PAIRS pairs of normals, in the order hr_plan_rng-based
 * Box-Muller gave them: rad cos first, then rad sin. */
static void bm_fill(bm_buf_t *b)
{
  for (int i = 0; i < BM_PAIRS; i++) {
    b->u1[i] = xo_uniform(b->s);
    b->u2[i] = xo_uniform(b->s);
  }
  bm_pairs(b->u1, b->u2, BM_PAIRS, b->c, b->s2);
  for (int i = 0; i < BM_PAIRS; i++) {
    b->e[2 * i] = b->c[i];
    b->e[2 * i + 1] = b->s2[i];
  }
  b->pos = 0;
  b->len = 2 * BM_PAIRS;
}

void hr__plan_bm_normals(uint64_t seed, double *out, size_t n)
{
  hr_plan_rng_t r;
  hr_plan_rng_seed(&r, seed);
  bm_buf_t b;
  memcpy(b.s, r.s, sizeof b.s);
  b.pos = b.len = 0;
  for (size_t i = 0; i < n; i++) {
    if (b.pos == b.len)
      bm_fill(&b);
    out[i] = b.e[b.pos++];
  }
}

/* The vector part of the AR sum: lags AR_SPLIT..ZLAGS - 1 in 8-wide partial
 * sums (a GCC vector: one AVX-512 register, or two AVX2 or four SSE2 ones;
 * element-wise IEEE operations, so every clone gives the same bits). */
#define AR_SPLIT 2
#define AR_VB ((ZLAGS - AR_SPLIT) / 8)
_Static_assert(AR_SPLIT + 8 * AR_VB == ZLAGS, "the AR vector part covers lags AR_SPLIT..ZLAGS-1");
typedef double hr__v8d __attribute__((vector_size(64)));

HR__CLONES_V4 static void copula_loop(const hr_plan_model_t *m, const group_t *g, double ng,
                                      const double *active, const double *key, size_t n,
                                      double ratio, ar_set_t *cache, const phi_tab_t *pt,
                                      bm_buf_t *bm, double *p_w)
{
  int nb = g->nb, j = 0, j1 = 0;
  double kprev = NAN, w = 0.0, idle_w = ng * m->idle_w_per_gpu, lbs[NBMAX];
  for (int i = 0; i < nb; i++)
    lbs[i] = log2(g->batch[i]);
  const ar_set_t *ar = NULL;
  /* The latent history twice over: zb[h .. h + ZLAGS) is z at lags 1..ZLAGS
   * with no shifting (each z is written at h and h + ZLAGS). */
  double zb[2 * ZLAGS] = {0};
  int h = 0;
  for (size_t t = 0, burn = 256; t < n; burn ? burn-- : t++) {
    if (!(key[t] == kprev)) { /* the same key as the step before: same position */
      kprev = key[t];
      j = nb > 1 ? batch_pos_log2(lbs, nb, kprev, &w) : 0;
      j1 = nb > 1 ? j + 1 : j;
      ar = ar_get(m, g, cache, j, (int)lround(w * NW), ratio);
    }
    if (bm->pos == bm->len)
      bm_fill(bm);
    double e = bm->e[bm->pos++];
    const double *zh = zb + h, *phi = ar->phi; /* phi is 0 past the filter's order */
    hr__v8d v = {0};
    for (int b = 0; b < AR_VB; b++) {
      hr__v8d x, y;
      memcpy(&x, phi + AR_SPLIT + 8 * b, sizeof x);
      memcpy(&y, zh + AR_SPLIT + 8 * b, sizeof y);
      v += x * y;
    }
    double acc = ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
    for (int i = AR_SPLIT - 1; i >= 0; i--)
      acc += phi[i] * zh[i];
    double z = ar->sd * e + acc;
    h = h ? h - 1 : ZLAGS - 1;
    zb[h] = zb[h + ZLAGS] = z;
    if (burn)
      continue; /* let the filter reach its stationary variance */
    double a = active[t];
    /* idle all the bin: idle_blend gives the idle power whatever x */
    p_w[t] = a > 0.0 ? ng * copula_out(m, g, pt, j, j1, w, a, z) : idle_w;
  }
}

static int gen_copula(const hr_plan_model_t *m, const group_t *g, double ng, const double *active,
                      const double *key, size_t n, double dt_s, hr_plan_rng_t *r, double *p_w)
{
  ar_set_t *cache = calloc((size_t)g->nb * (NW + 1), sizeof *cache);
  phi_tab_t *pt = malloc(sizeof *pt);
  bm_buf_t *bm = malloc(sizeof *bm);
  if (!cache || !pt || !bm) {
    free(cache);
    free(pt);
    free(bm);
    return HR_ERR_NOMEM;
  }
  phi_init(pt);
  memcpy(bm->s, r->s, sizeof bm->s);
  bm->pos = bm->len = 0;
  copula_loop(m, g, ng, active, key, n, dt_s / m->train_dt_s, cache, pt, bm, p_w);
  free(cache);
  free(pt);
  free(bm);
  return HR_OK;
}

/* The copula generator as it was before issue 17's speed work (libm
 * Box-Muller, one AR sum in eight partial sums): the reference that
 * bench_plan_site and tests/plan compare the one above with (same
 * distribution; draws that differ by rounding). */
static int gen_copula_ref(const hr_plan_model_t *m, const group_t *g, double ng,
                          const double *active, const double *key, size_t n, double dt_s,
                          hr_plan_rng_t *r, double *p_w)
{
  int nb = g->nb;
  ar_set_t *cache = calloc((size_t)nb * (NW + 1), sizeof *cache);
  phi_tab_t *pt = malloc(sizeof *pt);
  if (!cache || !pt) {
    free(cache);
    free(pt);
    return HR_ERR_NOMEM;
  }
  phi_init(pt);
  /* Box-Muller gives normals in pairs: the second is kept for the next step. */
  double spare = 0.0, kprev = NAN, wprev = 0.0;
  int have_spare = 0, jprev = 0;
  /* The latent history twice over: zb[h .. h + ZLAGS) is z at lags 1..ZLAGS
   * with no shifting (each z is written at h and h + ZLAGS). */
  double ratio = dt_s / m->train_dt_s, zb[2 * ZLAGS] = {0};
  int h = 0;
  for (size_t t = 0, burn = 256; t < n; burn ? burn-- : t++) {
    double a = active[t];
    if (!(key[t] == kprev)) { /* the same key as the step before: same position (no log2) */
      kprev = key[t];
      jprev = nb > 1 ? batch_pos(g->batch, nb, kprev, &wprev) : 0;
    }
    double w = wprev;
    int j = jprev;
    int wi = (int)lround(w * NW), j1 = nb > 1 ? j + 1 : j;
    ar_set_t *ar = &cache[j * (NW + 1) + wi];
    if (!ar->ready) {
      /* A convex mix of two valid ACFs is a valid ACF, so the AR filter of
       * an interpolated configuration is stable (Levinson stops otherwise). */
      double x0[ZLAGS], x1[ZLAGS], acf[ZLAGS], var;
      scaled_acf(g, j, ratio, x0);
      scaled_acf(g, j1, ratio, x1);
      for (int l = 0; l < ZLAGS; l++)
        acf[l] = (1.0 - (double)wi / NW) * x0[l] + (double)wi / NW * x1[l];
      ar->order = levinson(acf, ZLAGS, ar->phi, &var);
      ar->sd = sqrt(var);
      ar->ready = 1;
    }
    /* Eight partial sums instead of one chain of dependent multiply-adds:
     * the filter's latency was most of a site run's time. */
    const double *zh = zb + h, *phi = ar->phi;
    double a8[8] = {0};
    int order = ar->order, i = 0;
    for (; i + 8 <= order; i += 8)
      for (int l = 0; l < 8; l++)
        a8[l] += phi[i + l] * zh[i + l];
    for (; i < order; i++)
      a8[0] += phi[i] * zh[i];
    double acc = ((a8[0] + a8[1]) + (a8[2] + a8[3])) + ((a8[4] + a8[5]) + (a8[6] + a8[7]));
    double e;
    if (have_spare) {
      e = spare;
      have_spare = 0;
    } else {
      double u1 = hr_plan_rng_uniform(r), u2 = hr_plan_rng_uniform(r);
      double rad = sqrt(-2.0 * log(u1)), ang = 2.0 * M_PI * u2;
      e = rad * cos(ang);
      spare = rad * sin(ang);
      have_spare = 1;
    }
    double z = ar->sd * e + acc;
    h = h ? h - 1 : ZLAGS - 1;
    zb[h] = zb[h + ZLAGS] = z;
    if (burn)
      continue;       /* let the filter reach its stationary variance */
    if (!(a > 0.0)) { /* idle all the bin: idle_blend gives the idle power whatever x */
      p_w[t] = ng * m->idle_w_per_gpu;
      continue;
    }
    double pos = phi_of(pt, z) * (NQ - 1);
    int qi = (int)pos;
    if (qi >= NQ - 1)
      qi = NQ - 2;
    double f = pos - qi;
    double xa = g->qtab[j][qi] + f * (g->qtab[j][qi + 1] - g->qtab[j][qi]);
    double xb = g->qtab[j1][qi] + f * (g->qtab[j1][qi + 1] - g->qtab[j1][qi]);
    /* Quantile (displacement) interpolation between neighbouring batch
     * sizes: a level that moves with the batch moves, rather than splitting
     * into two bumps as a mixture would. */
    double x = (1 - w) * xa + w * xb;
    if (a < 1.0) /* busy part of the bin only; see idle_blend */
      x = idle_blend(m, a, x);
    p_w[t] = ng * x;
  }
  free(cache);
  free(pt);
  return HR_OK;
}

int hr_plan_model_generate(const hr_plan_model_t *m, hr_plan_method_t method, const char *model,
                           int num_gpus, const double *active, size_t n, uint64_t seed, double *p_w)
{
  if (!m)
    return HR_ERR_INVALID_ARG;
  return hr_plan_model_generate_dt(m, method, model, num_gpus, active, n, m->train_dt_s, seed, p_w);
}

static int gen_states(const hr_plan_model_t *m, const group_t *g, hr_plan_method_t method,
                      double ng, const double *active, const double *key, size_t n,
                      hr_plan_rng_t *rp, double *p_w);

int hr_plan_model_generate_dt(const hr_plan_model_t *m, hr_plan_method_t method, const char *model,
                              int num_gpus, const double *active, size_t n, double dt_s,
                              uint64_t seed, double *p_w)
{
  return hr__plan_model_generate_ex(m, method, model, num_gpus, active, n, dt_s, seed, 0, p_w);
}

int hr__plan_model_generate_ex(const hr_plan_model_t *m, hr_plan_method_t method, const char *model,
                               int num_gpus, const double *active, size_t n, double dt_s,
                               uint64_t seed, int copula_ref, double *p_w)
{
  if (!m || !active || !p_w || num_gpus < 1 || method < 0 || method >= HR_PLAN_METHOD_COUNT_ ||
      !(dt_s > 0.0))
    return HR_ERR_INVALID_ARG;
  for (size_t t = 0; t < n; t++)
    if (!(active[t] >= 0.0 && active[t] < 1e12)) /* also rejects NaN */
      return HR_ERR_INVALID_ARG;
  const group_t *g = find_group(m, model);
  if (method != HR_PLAN_TDP && method != HR_PLAN_LUT && !g)
    return HR_ERR_NOT_FOUND;
  if (method == HR_PLAN_PAPER && g->bigru_h == 0)
    return HR_ERR_UNSUPPORTED; /* trained without it, or a version-1 file */
  /* A group predicted from descriptors holds the copula tables only. */
  if (g && g->copula_only && method != HR_PLAN_TDP && method != HR_PLAN_MEAN &&
      method != HR_PLAN_COPULA && method != HR_PLAN_LUT)
    return HR_ERR_UNSUPPORTED;
  hr_plan_rng_t r;
  hr_plan_rng_seed(&r, seed);
  double ng = (double)num_gpus;
  switch (method) {
  case HR_PLAN_TDP:
    for (size_t t = 0; t < n; t++)
      p_w[t] = ng * m->tdp_w_per_gpu;
    return HR_OK;
  case HR_PLAN_MEAN:
    for (size_t t = 0; t < n; t++)
      p_w[t] = ng * g->mean_w;
    return HR_OK;
  case HR_PLAN_LUT:
    if (m->nlut == 0)
      return HR_ERR_UNSUPPORTED;
    for (size_t t = 0; t < n; t++) {
      double w = 0.0;
      int j = m->nlut > 1 ? batch_pos(m->lut_b, m->nlut, active[t], &w) : 0;
      double ratio = m->nlut > 1 ? (1 - w) * m->lut_r[j] + w * m->lut_r[j + 1] : m->lut_r[0];
      p_w[t] = ng * m->tdp_w_per_gpu * ratio;
    }
    return HR_OK;
  default:
    break;
  }
  /* The tables' key: the active count, or the count per GPU for a
   * per-GPU-keyed group (the idle blend still uses the count itself). */
  double *kbuf = NULL;
  const double *key = active;
  if (hr__plan_per_gpu_key(g)) {
    if (!(kbuf = malloc((n ? n : 1) * sizeof *kbuf)))
      return HR_ERR_NOMEM;
    for (size_t t = 0; t < n; t++)
      kbuf[t] = active[t] / ng;
    key = kbuf;
  }
  int rc = method != HR_PLAN_COPULA ? gen_states(m, g, method, ng, active, key, n, &r, p_w)
           : copula_ref             ? gen_copula_ref(m, g, ng, active, key, n, dt_s, &r, p_w)
                                    : gen_copula(m, g, ng, active, key, n, dt_s, &r, p_w);
  free(kbuf);
  return rc;
}

/* The network input of step t: [A_norm, dA_norm] of the active count
 * clamped to the trained batch range (see gen_states). */
static double net_clamp(const group_t *g, double a)
{
  return g->a_hi > 0.0 ? fmin(fmax(a, g->a_lo), g->a_hi)
                       : fmin(fmax(a, g->batch[0]), g->batch[g->nb - 1]);
}

static void net_input(const group_t *g, const double *key, size_t t, double *x)
{
  double a = hr__plan_feat_a(g, net_clamp(g, key[t]));
  double ap = t ? hr__plan_feat_a(g, net_clamp(g, key[t - 1])) : a;
  x[0] = a;
  x[1] = a - ap;
}

/* The paper and Markov methods: a state per step, then its emission. */
static int gen_states(const hr_plan_model_t *m, const group_t *g, hr_plan_method_t method,
                      double ng, const double *active, const double *key, size_t n,
                      hr_plan_rng_t *rp, double *p_w)
{
  hr_plan_rng_t r = *rp;
  int k = g->g.k;
  /* The BiGRU reads the whole input both ways before any state is drawn:
   * its logits for every step first (n x k doubles). */
  double *blg = NULL;
  if (method == HR_PLAN_PAPER) {
    double *bx = malloc((n ? n : 1) * HR__PLAN_GRU_NIN * sizeof *bx);
    blg = malloc((n ? n : 1) * (size_t)k * sizeof *blg);
    if (!bx || !blg) {
      free(bx);
      free(blg);
      return HR_ERR_NOMEM;
    }
    for (size_t t = 0; t < n; t++)
      net_input(g, key, t, bx + t * HR__PLAN_GRU_NIN);
    hr__plan_bigru_logits(g->bigru_w, g->bigru_h, k, bx, n, blg);
    free(bx);
  }
  double prev = NAN, hs[HR__PLAN_GRU_HMAX] = {0}, pg[HR__PLAN_KMAX] = {0};
  double a_prev = 0.0, x_prev[HR__PLAN_GRU_NIN] = {0};
  int s = -1, gru_settled = 0;
  for (size_t t = 0; t < n; t++) {
    double p[HR__PLAN_KMAX];
    int use_ar;
    if (method == HR_PLAN_PAPER) {
      const double *l = blg + t * (size_t)k;
      double mx = -INFINITY, sum = 0.0;
      for (int c = 0; c < k; c++)
        mx = fmax(mx, l[c]);
      for (int c = 0; c < k; c++)
        sum += (p[c] = exp(l[c] - mx));
      for (int c = 0; c < k; c++)
        p[c] /= sum;
      s = draw(&r, p, k); /* the paper's "stochastic" mode */
      use_ar = g->phi[s] >= AR_MIN_PHI;
    } else if (method == HR_PLAN_PAPER_GRU16) {
      /* The classifier saw batch sizes batch[0]..batch[nb-1] only: outside
       * that range its input is clamped (as the other methods clamp), rather
       * than extrapolated. */
      double ac = net_clamp(g, key[t]);
      double a = hr__plan_feat_a(g, ac);
      if (g->gru_h > 0) {
        /* dA_norm: the step of the clamped log2(1 + A); 0 in every training
         * run, so it is not rescaled. */
        double x[HR__PLAN_GRU_NIN] = {a, t ? a - a_prev : 0.0};
        if (!(gru_settled && x[0] == x_prev[0] && x[1] == x_prev[1])) {
          double h0[HR__PLAN_GRU_HMAX], mx = -INFINITY, sum = 0.0, dmax = 0.0;
          memcpy(h0, hs, sizeof h0);
          hr__plan_gru_step(g->gru_w, g->gru_h, k, x, hs, pg);
          for (int l = 0; l < g->gru_h; l++)
            dmax = fmax(dmax, fabs(hs[l] - h0[l]));
          /* Under a constant input the state converges; once it moves by
           * less than 1e-7 (probabilities then move by about as little) the
           * output is reused until the input changes. */
          gru_settled = dmax < 1e-7;
          for (int l = 0; l < k; l++)
            mx = fmax(mx, pg[l]);
          for (int l = 0; l < k; l++)
            sum += (pg[l] = exp(pg[l] - mx));
          for (int l = 0; l < k; l++)
            pg[l] /= sum;
          x_prev[0] = x[0];
          x_prev[1] = x[1];
        }
        memcpy(p, pg, (size_t)k * sizeof p[0]);
      } else {
        hr__plan_softmax_probs(g, a, p);
      }
      a_prev = a;
      s = draw(&r, p, k);
      use_ar = g->phi[s] >= AR_MIN_PHI;
    } else {
      double w = 0.0;
      int j = g->nb > 1 ? batch_pos(g->batch, g->nb, key[t], &w) : 0;
      if (g->nb == 1)
        w = 0.0;
      const double *lo = s < 0 ? g->occ[j] : &g->trans[j][s * k];
      const double *hi = g->nb > 1 ? (s < 0 ? g->occ[j + 1] : &g->trans[j + 1][s * k]) : lo;
      for (int l = 0; l < k; l++)
        p[l] = (1 - w) * lo[l] + w * hi[l];
      s = draw(&r, p, k);
      use_ar = 0; /* the chain carries the memory (measured: AR on top overshoots it) */
    }
    double mu = g->g.mu[s], sd = g->g.sd[s], phi = g->phi[s], x;
    double z = hr_plan_rng_normal(&r);
    if (use_ar && !isnan(prev))
      x = mu + phi * (prev - mu) + sd * sqrt(1.0 - phi * phi) * z;
    else
      x = mu + sd * z;
    x = fmin(g->p_hi, fmax(g->p_lo, x));
    prev = x;
    if (active[t] < 1.0)
      x = idle_blend(m, active[t], x);
    p_w[t] = ng * x;
  }
  free(blg);
  return HR_OK;
}
