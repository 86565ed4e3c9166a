/* plan module: configurations described by what is known before they run
 * (parameters, precision, tensor parallelism, GPU), a regression of the
 * copula model's tables on those descriptors, and calibration of a
 * prediction on a few minutes of measured power. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "headroom/plan_desc.h"
#include "headroom/plan_gpu.h"
#include "plan/plan_model_int.h"

/* ------------------------------------------------------------- tables */

/* The GPU table is plan_gpu.c's (hr_plan_gpu_at: TDP from NVIDIA's data
 * sheets, idle as a typical loaded-but-unused draw, sources there), so that a
 * descriptor and `plan site --gpu-type` cannot disagree on a GPU's power.
 * The name is matched case-insensitively ("H100" as well as "h100"), as the
 * descriptors files and --gpu have always accepted. */
int hr_plan_gpu_lookup(const char *name, double *tdp_w, double *idle_w)
{
  if (!name || !tdp_w || !idle_w)
    return HR_ERR_INVALID_ARG;
  const hr_plan_gpu_t *g;
  for (size_t i = 0; (g = hr_plan_gpu_at(i)) != NULL; i++) {
    size_t k = 0;
    while (name[k] && tolower((unsigned char)name[k]) == (unsigned char)g->name[k])
      k++;
    if (!name[k] && !g->name[k]) {
      *tdp_w = g->tdp_w;
      *idle_w = g->idle_w;
      return HR_OK;
    }
  }
  return HR_ERR_NOT_FOUND;
}

/* The shared data's configurations (Llama 3.1 model card parameter counts).
 * The 405B runs on 8 x 80 GB cannot hold BF16 weights (811 GB), so they are
 * taken as FP8; the 8B and 70B runs as BF16. */
static const struct {
  const char *label;
  double params_b, bits;
  int gpus;
} known[] = {
    {"Llama-3.1-8B", 8.03, 16.0, 1},
    {"Llama-3.1-70B", 70.6, 16.0, 4},
    {"Llama-3.1-405B", 405.9, 8.0, 8},
};

int hr_plan_desc_known_gpus(const char *label)
{
  for (size_t i = 0; label && i < sizeof known / sizeof known[0]; i++)
    if (strcmp(label, known[i].label) == 0)
      return known[i].gpus;
  return 0;
}

double hr_plan_model_dt(const hr_plan_model_t *m)
{
  return m ? m->train_dt_s : 0.0;
}

int hr_plan_desc_known(const char *label, int num_gpus, hr_plan_desc_t *d)
{
  if (!label || !d || num_gpus < 0)
    return HR_ERR_INVALID_ARG;
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (strcmp(label, known[i].label) == 0) {
      d->params_b = d->active_params_b = known[i].params_b;
      d->tp = num_gpus ? num_gpus : known[i].gpus;
      d->precision_bits = known[i].bits;
      return hr_plan_gpu_lookup("h100", &d->tdp_w, &d->idle_w);
    }
  return HR_ERR_NOT_FOUND;
}

void hr_plan_desc_cfg_init(hr_plan_desc_cfg_t *cfg)
{
  if (!cfg)
    return;
  cfg->terms = HR_PLAN_DF_DEFAULT;
  cfg->ridge = 1.0;
  cfg->kernel = 1.0;
}

static int desc_ok(const hr_plan_desc_t *d)
{
  return d && d->params_b > 0.0 && d->params_b < 1e6 && d->active_params_b > 0.0 &&
         d->active_params_b <= d->params_b && d->tp >= 1 && d->tp <= 4096 &&
         d->precision_bits >= 1.0 && d->precision_bits <= 64.0 && d->tdp_w > 0.0 &&
         d->tdp_w <= HR__PLAN_MAX_GPU_W && d->idle_w >= 0.0 && d->idle_w < d->tdp_w;
}

/* ---------------------------------------------------------- regression */

#define NT 8 /* regression columns, intercept excluded */

/* The terms of (d, batch): x[c] for the columns the mask selects, with
 * tag[c] the HR_PLAN_DF_* bit each column belongs to.  Returns the count. */
static int terms(const hr_plan_desc_t *d, double batch, unsigned mask, double *x, unsigned *tag)
{
  int c = 0;
  double lp = log(d->active_params_b / d->tp);
  double lb = mask & HR_PLAN_DF_BPG ? log2(fmax(batch, 1.0) / d->tp) : log2(fmax(batch, 1.0));
  if (mask & HR_PLAN_DF_PARAMS) {
    tag[c] = HR_PLAN_DF_PARAMS;
    x[c++] = lp;
  }
  if (mask & HR_PLAN_DF_TP) {
    tag[c] = HR_PLAN_DF_TP;
    x[c++] = log((double)d->tp);
  }
  tag[c] = HR_PLAN_DF_BATCH; /* the batch terms are always there */
  x[c++] = lb;
  tag[c] = HR_PLAN_DF_BATCH;
  x[c++] = lb * lb;
  if (mask & HR_PLAN_DF_INTERACT) {
    tag[c] = HR_PLAN_DF_INTERACT;
    x[c++] = lp * lb;
  }
  if (mask & HR_PLAN_DF_PRECISION) {
    tag[c] = HR_PLAN_DF_PRECISION;
    x[c++] = log2(d->precision_bits);
  }
  if (mask & HR_PLAN_DF_MOE) {
    tag[c] = HR_PLAN_DF_MOE;
    x[c++] = log(d->params_b / d->active_params_b);
  }
  return c;
}

/* Solves the p x p system A b = y (A symmetric positive definite after the
 * ridge) for nr right-hand sides by Gaussian elimination with partial
 * pivoting; A and y are overwritten.  -1 when A is singular. */
static int solve(double *a, int p, double *y, int nr)
{
  for (int k = 0; k < p; k++) {
    int piv = k;
    for (int i = k + 1; i < p; i++)
      if (fabs(a[i * p + k]) > fabs(a[piv * p + k]))
        piv = i;
    if (!(fabs(a[piv * p + k]) > 1e-300))
      return -1;
    if (piv != k) {
      for (int j = 0; j < p; j++) {
        double t = a[k * p + j];
        a[k * p + j] = a[piv * p + j];
        a[piv * p + j] = t;
      }
      for (int r = 0; r < nr; r++) {
        double t = y[k * nr + r];
        y[k * nr + r] = y[piv * nr + r];
        y[piv * nr + r] = t;
      }
    }
    for (int i = k + 1; i < p; i++) {
      double f = a[i * p + k] / a[k * p + k];
      for (int j = k; j < p; j++)
        a[i * p + j] -= f * a[k * p + j];
      for (int r = 0; r < nr; r++)
        y[i * nr + r] -= f * y[k * nr + r];
    }
  }
  for (int k = p - 1; k >= 0; k--)
    for (int r = 0; r < nr; r++) {
      double s = y[k * nr + r];
      for (int j = k + 1; j < p; j++)
        s -= a[k * p + j] * y[j * nr + r];
      y[k * nr + r] = s / a[k * p + k];
    }
  return 0;
}

/* Linear interpolation of a label's table rows in log2 batch, clamped at
 * the trained ends: the lower row and the upper row's weight. */
static int row_at(const group_t *g, double b, double *w)
{
  double lb = log2(fmax(b, 1.0));
  *w = 0.0;
  if (g->nb == 1 || lb <= log2(g->batch[0]))
    return 0;
  if (lb >= log2(g->batch[g->nb - 1])) {
    *w = 1.0;
    return g->nb - 2;
  }
  int j = 0;
  while (j + 2 < g->nb && lb > log2(g->batch[j + 1]))
    j++;
  *w = (lb - log2(g->batch[j])) / (log2(g->batch[j + 1]) - log2(g->batch[j]));
  return j;
}

static const group_t *label_group(const hr_plan_model_t *m, const char *label)
{
  for (int i = 0; i < m->ng; i++)
    if (strcmp(m->gr[i].label, label) == 0)
      return &m->gr[i];
  return NULL;
}

static int predict_body(const hr_plan_model_t *m, const char *const *labels,
                        const hr_plan_desc_t *descs, size_t n, const hr_plan_desc_cfg_t *cfg,
                        const hr_plan_desc_t *target, const char *out_label, hr_plan_model_t **out,
                        hr_plan_desc_report_t *rep, hr_diag_t *err)
{
  if (!m || !labels || !descs || n == 0 || !target || !out_label || !out)
    return HR_ERR_INVALID_ARG;
  *out = NULL;
  hr_plan_desc_cfg_t dc;
  hr_plan_desc_cfg_init(&dc);
  if (cfg)
    dc = *cfg;
  if (!(dc.ridge >= 0.0) || !(dc.kernel > 0.0) || !desc_ok(target)) {
    hr__plan_err(err, 0, 0, "%s",
                 !desc_ok(target) ? "target descriptor out of range" : "ridge >= 0 and kernel > 0");
    return HR_ERR_INVALID_ARG;
  }
  const group_t **gs = calloc(n, sizeof *gs);
  if (!gs)
    return HR_ERR_NOMEM;
  size_t np = 0;
  for (size_t l = 0; l < n; l++) {
    if (!labels[l] || !desc_ok(&descs[l])) {
      free(gs);
      hr__plan_err(err, 0, 0, "descriptor %zu (%s) out of range", l, labels[l] ? labels[l] : "?");
      return HR_ERR_INVALID_ARG;
    }
    if (!(gs[l] = label_group(m, labels[l])) || gs[l]->copula_only) {
      hr__plan_err(err, 0, 0, "the model has no trained group '%s'", labels[l]);
      free(gs);
      return HR_ERR_NOT_FOUND;
    }
    np += (size_t)gs[l]->nb;
  }
  /* Design matrix X (np x nt) and targets Y (np x NQ): quantile levels as a
   * fraction of the GPU's (tdp - idle) above its idle. */
  double *X = malloc(np * NT * sizeof *X), *Y = malloc(np * NQ * sizeof *Y);
  hr_plan_model_t *pm = calloc(1, sizeof *pm);
  if (pm)
    pm->gr = calloc(1, sizeof *pm->gr);
  if (!X || !Y || !pm || !pm->gr) {
    free(gs);
    free(X);
    free(Y);
    hr_plan_model_destroy(pm);
    return HR_ERR_NOMEM;
  }
  unsigned tag[NT];
  int nt = 0;
  size_t p = 0;
  for (size_t l = 0; l < n; l++)
    for (int j = 0; j < gs[l]->nb; j++, p++) {
      nt = terms(&descs[l], gs[l]->batch[j], dc.terms, X + p * NT, tag);
      double span = descs[l].tdp_w - descs[l].idle_w;
      for (int i = 0; i < NQ; i++)
        Y[p * NQ + i] = (gs[l]->qtab[j][i] - descs[l].idle_w) / span;
    }
  /* Standardise; a column constant over the training points carries no
   * information and is dropped (its slope is 0). */
  double mu[NT], sd[NT], lo[NT], hi[NT];
  int use[NT];
  for (int c = 0; c < nt; c++) {
    double s = 0.0, ss = 0.0;
    lo[c] = INFINITY;
    hi[c] = -INFINITY;
    for (p = 0; p < np; p++) {
      s += X[p * NT + c];
      lo[c] = fmin(lo[c], X[p * NT + c]);
      hi[c] = fmax(hi[c], X[p * NT + c]);
    }
    mu[c] = s / (double)np;
    for (p = 0; p < np; p++)
      ss += (X[p * NT + c] - mu[c]) * (X[p * NT + c] - mu[c]);
    sd[c] = sqrt(ss / (double)np);
    use[c] = sd[c] > 1e-9 * fmax(1.0, fabs(mu[c]));
  }
  int map[NT], q = 0;
  for (int c = 0; c < nt; c++)
    if (use[c])
      map[q++] = c;
  /* Ridge normal equations on the standardised, centred columns: the
   * intercept is the mean of Y and is not penalised. */
  double A[NT * NT] = {0}, *B = calloc((size_t)(q ? q : 1) * NQ, sizeof *B), ym[NQ] = {0};
  if (!B) {
    free(gs);
    free(X);
    free(Y);
    hr_plan_model_destroy(pm);
    return HR_ERR_NOMEM;
  }
  for (p = 0; p < np; p++)
    for (int i = 0; i < NQ; i++)
      ym[i] += Y[p * NQ + i] / (double)np;
  for (p = 0; p < np; p++) {
    double z[NT];
    for (int a = 0; a < q; a++)
      z[a] = (X[p * NT + map[a]] - mu[map[a]]) / sd[map[a]];
    for (int a = 0; a < q; a++) {
      for (int b = 0; b < q; b++)
        A[a * q + b] += z[a] * z[b];
      for (int i = 0; i < NQ; i++)
        B[a * NQ + i] += z[a] * (Y[p * NQ + i] - ym[i]);
    }
  }
  for (int a = 0; a < q; a++)
    A[a * q + a] += dc.ridge * (double)np;
  int rc = HR_OK;
  if (q && solve(A, q, B, NQ) != 0) {
    hr__plan_err(err, 0, 0, "the descriptor regression is singular (set a ridge > 0)");
    rc = HR_ERR_INVALID_ARG;
    goto done;
  }
  /* In-sample R^2 over every point and quantile. */
  double ssr = 0.0, sst = 0.0;
  for (p = 0; p < np; p++)
    for (int i = 0; i < NQ; i++) {
      double f = ym[i];
      for (int a = 0; a < q; a++)
        f += B[a * NQ + i] * (X[p * NT + map[a]] - mu[map[a]]) / sd[map[a]];
      ssr += (Y[p * NQ + i] - f) * (Y[p * NQ + i] - f);
      sst += (Y[p * NQ + i] - ym[i]) * (Y[p * NQ + i] - ym[i]);
    }
  /* The output grid: every training batch, sorted, distinct. */
  group_t *g = &pm->gr[0];
  snprintf(g->label, sizeof g->label, "%s", out_label);
  g->copula_only = 1;
  for (size_t l = 0; l < n; l++)
    for (int j = 0; j < gs[l]->nb; j++) {
      double b = gs[l]->batch[j];
      int dup = 0;
      for (int k = 0; k < g->nb && !dup; k++)
        dup = g->batch[k] == b;
      if (dup)
        continue;
      if (g->nb == NBMAX) {
        hr__plan_err(err, 0, 0, "more than %d distinct training batch sizes", NBMAX);
        rc = HR_ERR_RANGE;
        goto done;
      }
      g->batch[g->nb++] = b;
    }
  qsort(g->batch, (size_t)g->nb, sizeof g->batch[0], hr__plan_cmp_double);
  /* Kernel weights of the training configurations for the autocorrelation:
   * the standardised distance over the non-batch terms. */
  double *wl = malloc(n * sizeof *wl), dmin = INFINITY, wsum = 0.0;
  if (!wl) {
    rc = HR_ERR_NOMEM;
    goto done;
  }
  double xt[NT];
  unsigned tt[NT];
  terms(target, 1.0, dc.terms, xt, tt);
  for (size_t l = 0; l < n; l++) {
    double xl[NT], d2 = 0.0;
    terms(&descs[l], 1.0, dc.terms, xl, tt);
    for (int c = 0; c < nt; c++)
      if (use[c] && tag[c] != HR_PLAN_DF_BATCH && tag[c] != HR_PLAN_DF_INTERACT)
        d2 += (xt[c] - xl[c]) * (xt[c] - xl[c]) / (sd[c] * sd[c]);
    dmin = fmin(dmin, sqrt(d2));
    wl[l] = exp(-0.5 * d2 / (dc.kernel * dc.kernel));
    wsum += wl[l];
  }
  if (!(wsum > 0.0)) /* far from all: equal weights */
    for (size_t l = 0; l < n; l++)
      wl[l] = 1.0, wsum = (double)n;
  double span = target->tdp_w - target->idle_w, msum = 0.0;
  g->p_lo = INFINITY;
  g->p_hi = -INFINITY;
  for (int j = 0; j < g->nb; j++) {
    double x[NT];
    terms(target, g->batch[j], dc.terms, x, tt);
    for (int i = 0; i < NQ; i++) {
      double f = ym[i];
      for (int a = 0; a < q; a++)
        f += B[a * NQ + i] * (x[map[a]] - mu[map[a]]) / sd[map[a]];
      g->qtab[j][i] = fmax(0.0, target->idle_w + span * f);
    }
    /* Rearrangement: sorting the predicted quantiles gives a monotone
     * quantile function no farther from the truth (Chernozhukov,
     * Fernandez-Val and Galichon 2010). */
    qsort(g->qtab[j], NQ, sizeof g->qtab[j][0], hr__plan_cmp_double);
    double mj = 0.0;
    for (int i = 0; i < NQ; i++)
      mj += g->qtab[j][i] / NQ;
    msum += mj;
    g->p_lo = fmin(g->p_lo, g->qtab[j][0]);
    g->p_hi = fmax(g->p_hi, g->qtab[j][NQ - 1]);
    for (int l = 0; l < ZLAGS; l++)
      g->acfz[j][l] = 0.0;
    for (size_t l = 0; l < n; l++) {
      double w;
      int r = row_at(gs[l], g->batch[j], &w);
      int r1 = gs[l]->nb > 1 ? r + 1 : r;
      for (int k = 0; k < ZLAGS; k++)
        g->acfz[j][k] += wl[l] / wsum * ((1.0 - w) * gs[l]->acfz[r][k] + w * gs[l]->acfz[r1][k]);
    }
  }
  g->mean_w = msum / g->nb;
  g->a_sd = 1.0;
  pm->ng = 1;
  pm->tdp_w_per_gpu = target->tdp_w;
  pm->idle_w_per_gpu = target->idle_w;
  pm->train_dt_s = m->train_dt_s;
  if (rep) {
    memset(rep, 0, sizeof *rep);
    rep->configs = (int)n;
    rep->points = (int)np;
    rep->distance = dmin;
    rep->r2_in_sample = sst > 0.0 ? 1.0 - ssr / sst : NAN;
    for (int c = 0; c < nt; c++) {
      if (tag[c] == HR_PLAN_DF_BATCH || tag[c] == HR_PLAN_DF_INTERACT)
        continue;
      if (!use[c]) {
        if (fabs(xt[c] - mu[c]) > 1e-9 * fmax(1.0, fabs(mu[c])))
          rep->not_varied |= tag[c];
        continue;
      }
      double ex = fmax(0.0, fmax(xt[c] - hi[c], lo[c] - xt[c])) / (hi[c] - lo[c]);
      rep->outside = fmax(rep->outside, ex);
    }
  }
  free(wl);
  *out = pm;
  pm = NULL;
done:
  free(gs);
  free(X);
  free(Y);
  free(B);
  hr_plan_model_destroy(pm);
  return rc;
}

int hr_plan_desc_predict(const hr_plan_model_t *m, const char *const *labels,
                         const hr_plan_desc_t *descs, size_t n, const hr_plan_desc_cfg_t *cfg,
                         const hr_plan_desc_t *target, const char *out_label, hr_plan_model_t **out,
                         hr_plan_desc_report_t *rep, hr_diag_t *err)
{
  hr__diag_begin(err, NULL);
  int rc = predict_body(m, labels, descs, n, cfg, target, out_label, out, rep, err);
  if (err && rc != HR_OK)
    err->code = rc;
  return rc;
}

double hr_plan_desc_quantile(const hr_plan_model_t *m, const char *label, double b, double u)
{
  const group_t *g = m && label ? label_group(m, label) : NULL;
  if (!g || !(u >= 0.0 && u <= 1.0) || !(b >= 0.0))
    return NAN;
  double w, pos = u * (NQ - 1);
  int r = row_at(g, b, &w), r1 = g->nb > 1 ? r + 1 : r, qi = (int)pos;
  if (qi >= NQ - 1)
    qi = NQ - 2;
  double f = pos - qi;
  double xa = g->qtab[r][qi] + f * (g->qtab[r][qi + 1] - g->qtab[r][qi]);
  double xb = g->qtab[r1][qi] + f * (g->qtab[r1][qi + 1] - g->qtab[r1][qi]);
  return (1.0 - w) * xa + w * xb;
}

/* --------------------------------------------------------- calibration */

static group_t *desc_group(hr_plan_model_t *m, const char *label)
{
  for (int i = 0; m && label && i < m->ng; i++)
    if (strcmp(m->gr[i].label, label) == 0)
      return &m->gr[i];
  return NULL;
}

static void affine_levels(group_t *g, double a, double b)
{
  g->p_lo = INFINITY;
  g->p_hi = -INFINITY;
  double msum = 0.0;
  for (int j = 0; j < g->nb; j++) {
    double mj = 0.0;
    for (int i = 0; i < NQ; i++) {
      g->qtab[j][i] = fmax(0.0, a + b * g->qtab[j][i]);
      mj += g->qtab[j][i] / NQ;
    }
    msum += mj;
    g->p_lo = fmin(g->p_lo, g->qtab[j][0]);
    g->p_hi = fmax(g->p_hi, g->qtab[j][NQ - 1]);
  }
  g->mean_w = msum / g->nb;
}

#define CAL_PRIOR_S 300.0 /* seconds of measurement that weigh as much as the prediction's ACF */
#define CAL_MAX_SEG 64

static void mean_sd(const double *q, double *mean, double *sd)
{
  double s = 0.0, ss = 0.0;
  for (int i = 0; i < NQ; i++)
    s += q[i] / NQ;
  for (int i = 0; i < NQ; i++)
    ss += (q[i] - s) * (q[i] - s) / NQ;
  *mean = s;
  *sd = sqrt(ss);
}

/* Position of log2 b among the sorted segment batches: lower index and the
 * upper one's weight, held beyond the ends. */
static int seg_at(const double *lb, int ns, double b, double *w)
{
  double x = log2(fmax(b, 1.0));
  *w = 0.0;
  if (ns == 1 || x <= lb[0])
    return 0;
  if (x >= lb[ns - 1]) {
    *w = 1.0;
    return ns - 2;
  }
  int k = 0;
  while (k + 2 < ns && x > lb[k + 1])
    k++;
  *w = lb[k + 1] > lb[k] ? (x - lb[k]) / (lb[k + 1] - lb[k]) : 0.0;
  return k;
}

int hr_plan_desc_calibrate(hr_plan_model_t *m, const char *label, const double *const *p_w,
                           const size_t *n, const double *batch, size_t nseg, double dt_s,
                           int num_gpus)
{
  if (!m || !p_w || !n || !batch || nseg == 0 || nseg > CAL_MAX_SEG || !(dt_s > 0.0) ||
      num_gpus < 1)
    return HR_ERR_INVALID_ARG;
  group_t *g = desc_group(m, label);
  if (!g)
    return HR_ERR_NOT_FOUND;
  /* Per segment, sorted by batch: log2 batch, level and spread ratios, its
   * latent ACF and weight. */
  double lb[CAL_MAX_SEG], r[CAL_MAX_SEG], sr[CAL_MAX_SEG], lam[CAL_MAX_SEG];
  double acf[CAL_MAX_SEG][ZLAGS];
  int ord[CAL_MAX_SEG];
  for (size_t k = 0; k < nseg; k++) {
    if (!p_w[k] || n[k] < 100 || !(batch[k] >= 0.0))
      return HR_ERR_INVALID_ARG;
    ord[k] = (int)k;
  }
  for (size_t a = 1; a < nseg; a++)
    for (size_t b = a; b > 0 && batch[ord[b]] < batch[ord[b - 1]]; b--) {
      int t = ord[b];
      ord[b] = ord[b - 1];
      ord[b - 1] = t;
    }
  double idle = m->idle_w_per_gpu;
  int at_step = fabs(dt_s - m->train_dt_s) < 1e-9 * fmax(1.0, m->train_dt_s);
  for (size_t k = 0; k < nseg; k++) {
    const double *p = p_w[ord[k]];
    size_t nk = n[ord[k]];
    double *x = malloc(nk * sizeof *x), qm[NQ], qp[NQ];
    if (!x)
      return HR_ERR_NOMEM;
    for (size_t i = 0; i < nk; i++) {
      if (!isfinite(p[i]) || p[i] < 0.0) {
        free(x);
        return HR_ERR_INVALID_ARG;
      }
      x[i] = p[i] / num_gpus;
    }
    hr_plan_acf(x, nk, ZLAGS, acf[k]); /* before the sort below */
    hr__plan_build_qtab(qm, x, nk);
    free(x);
    double w;
    int j = row_at(g, batch[ord[k]], &w), j1 = g->nb > 1 ? j + 1 : j;
    for (int i = 0; i < NQ; i++)
      qp[i] = (1.0 - w) * g->qtab[j][i] + w * g->qtab[j1][i];
    double mm, sm, mp, sp;
    mean_sd(qm, &mm, &sm);
    mean_sd(qp, &mp, &sp);
    lb[k] = log2(fmax(batch[ord[k]], 1.0));
    r[k] = mp - idle > 1e-3 ? fmin(4.0, fmax(0.25, (mm - idle) / (mp - idle))) : 1.0;
    sr[k] = sp > 1e-6 ? fmin(4.0, fmax(0.25, sm / sp)) : 1.0;
    double tk = (double)nk * dt_s;
    lam[k] = tk / (tk + CAL_PRIOR_S);
    int ok = at_step;
    for (int l = 0; l < ZLAGS && ok; l++)
      ok = isfinite(acf[k][l]);
    if (!ok) {
      lam[k] = 0.0;
      memset(acf[k], 0, sizeof acf[k]);
    }
    /* The latent ACF through the measured marginal itself. */
    if (ok) {
      double lat[ZLAGS];
      hr__plan_norta_latent(qm, acf[k], lat);
      memcpy(acf[k], lat, sizeof lat);
    }
  }
  int ns = (int)nseg;
  g->p_lo = INFINITY;
  g->p_hi = -INFINITY;
  double msum = 0.0;
  for (int j = 0; j < g->nb; j++) {
    double w, mj, sj;
    int k = seg_at(lb, ns, g->batch[j], &w), k1 = ns > 1 ? k + 1 : k;
    double rj = (1.0 - w) * r[k] + w * r[k1], sj_r = (1.0 - w) * sr[k] + w * sr[k1];
    mean_sd(g->qtab[j], &mj, &sj);
    double mnew = 0.0;
    for (int i = 0; i < NQ; i++) {
      g->qtab[j][i] = fmax(0.0, idle + (mj - idle) * rj + sj_r * (g->qtab[j][i] - mj));
      mnew += g->qtab[j][i] / NQ;
    }
    msum += mnew;
    g->p_lo = fmin(g->p_lo, g->qtab[j][0]);
    g->p_hi = fmax(g->p_hi, g->qtab[j][NQ - 1]);
    /* A convex mix of latent ACFs (each a valid one, or the AR fit stops
     * where it is not) keeps the filter stable. */
    double lk = (1.0 - w) * lam[k], lk1 = w * lam[k1];
    for (int l = 0; l < ZLAGS; l++)
      g->acfz[j][l] = (1.0 - lk - lk1) * g->acfz[j][l] + lk * acf[k][l] + lk1 * acf[k1][l];
  }
  g->mean_w = msum / g->nb;
  return HR_OK;
}

int hr_plan_desc_calibrate_levels(hr_plan_model_t *m, const char *label, double idle_w,
                                  double full_w, double full_batch)
{
  if (!m || !(idle_w >= 0.0) || !(full_w > idle_w) || !(full_w <= HR__PLAN_MAX_GPU_W) ||
      !isfinite(full_batch))
    return HR_ERR_INVALID_ARG;
  group_t *g = desc_group(m, label);
  if (!g)
    return HR_ERR_NOT_FOUND;
  double i0 = m->idle_w_per_gpu, w;
  double b = full_batch > 0.0 ? full_batch : g->batch[g->nb - 1];
  int j = row_at(g, b, &w), j1 = g->nb > 1 ? j + 1 : j;
  double f0 = (1.0 - w) * g->qtab[j][NQ / 2] + w * g->qtab[j1][NQ / 2];
  if (!(f0 > i0))
    return HR_ERR_INVALID_ARG;
  double k = (full_w - idle_w) / (f0 - i0);
  affine_levels(g, idle_w - k * i0, k);
  m->idle_w_per_gpu = idle_w;
  return HR_OK;
}
