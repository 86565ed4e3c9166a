/* plan module: fidelity metrics, computed as the paper computes them
 * (energy error per trace, ACF R^2 on the mean ACF, KS on pooled samples),
 * plus NRMSE, tail-quantile errors and ramp statistics. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plan/plan_int.h"

double hr_plan_energy_error_pct(const double *gt, const double *gen, size_t n)
{
  double a = 0.0, b = 0.0;
  for (size_t i = 0; i < n; i++) {
    a += gt[i];
    b += gen[i];
  }
  if (a == 0.0)
    return NAN;
  return 100.0 * fabs(b - a) / fabs(a);
}

void hr_plan_acf(const double *x, size_t n, int nlags, double *acf)
{
  for (int k = 0; k < nlags; k++)
    acf[k] = NAN;
  if (nlags < 1 || n <= (size_t)nlags)
    return;
  double m = 0.0;
  for (size_t i = 0; i < n; i++)
    m += x[i];
  m /= (double)n;
  double c0 = 0.0;
  for (size_t i = 0; i < n; i++)
    c0 += (x[i] - m) * (x[i] - m);
  /* Relative test: a constant series can leave rounding residue in c0. */
  if (!(c0 > 1e-24 * (double)n * (m * m + 1.0)))
    return;
  for (int k = 1; k <= nlags; k++) {
    double c = 0.0;
    for (size_t i = 0; i + (size_t)k < n; i++)
      c += (x[i] - m) * (x[i + (size_t)k] - m);
    acf[k - 1] = c / c0;
  }
}

double hr_plan_acf_r2(const double *acf_gt, const double *acf_gen, int nlags)
{
  if (nlags < 1)
    return NAN;
  double m = 0.0;
  for (int k = 0; k < nlags; k++) {
    if (isnan(acf_gt[k]) || isnan(acf_gen[k]))
      return NAN;
    m += acf_gt[k];
  }
  m /= nlags;
  double res = 0.0, tot = 0.0;
  for (int k = 0; k < nlags; k++) {
    res += (acf_gt[k] - acf_gen[k]) * (acf_gt[k] - acf_gen[k]);
    tot += (acf_gt[k] - m) * (acf_gt[k] - m);
  }
  return tot > 0.0 ? 1.0 - res / tot : NAN;
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Callers pass finite values only (all_finite); a NaN would compare false
 * with everything.  The loop still ends whatever it is given: each pass
 * moves i or j, or stops. */
static double ks_sorted(const double *a, size_t na, const double *b, size_t nb)
{
  size_t i = 0, j = 0;
  double d = 0.0;
  while (i < na && j < nb) {
    /* Step past every copy of the smallest remaining value on both sides
     * before comparing the ECDFs, so ties are counted as SciPy counts them. */
    double v = a[i] < b[j] ? a[i] : b[j];
    size_t i0 = i, j0 = j;
    while (i < na && a[i] <= v)
      i++;
    while (j < nb && b[j] <= v)
      j++;
    if (i == i0 && j == j0)
      break;
    double e = fabs((double)i / (double)na - (double)j / (double)nb);
    if (e > d)
      d = e;
  }
  return d;
}

static int all_finite(const double *x, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (!isfinite(x[i]))
      return 0;
  return 1;
}

int hr_plan_ks(const double *a, size_t na, const double *b, size_t nb, double *ks)
{
  if (!a || !b || !ks || na == 0 || nb == 0 || !all_finite(a, na) || !all_finite(b, nb))
    return HR_ERR_INVALID_ARG;
  double *sa = malloc(na * sizeof *sa), *sb = malloc(nb * sizeof *sb);
  if (!sa || !sb) {
    free(sa);
    free(sb);
    return HR_ERR_NOMEM;
  }
  memcpy(sa, a, na * sizeof *sa);
  memcpy(sb, b, nb * sizeof *sb);
  qsort(sa, na, sizeof *sa, cmp_double);
  qsort(sb, nb, sizeof *sb, cmp_double);
  *ks = ks_sorted(sa, na, sb, nb);
  free(sa);
  free(sb);
  return HR_OK;
}

double hr_plan_quantile_sorted(const double *x, size_t n, double q)
{
  if (n == 0)
    return NAN;
  double h = q * (double)(n - 1);
  if (h <= 0.0)
    return x[0];
  size_t lo = (size_t)floor(h);
  if (lo >= n - 1)
    return x[n - 1];
  double f = h - (double)lo;
  return x[lo] + f * (x[lo + 1] - x[lo]);
}

/* |dP/dt| of block means over blocks of m samples, appended to out. */
static size_t ramps(const double *x, size_t n, size_t m, double dt_s, double *out)
{
  size_t nb = n / m, k = 0;
  double prev = 0.0;
  for (size_t b = 0; b < nb; b++) {
    double s = 0.0;
    for (size_t i = 0; i < m; i++)
      s += x[b * m + i];
    s /= (double)m;
    if (b > 0)
      out[k++] = fabs(s - prev) / ((double)m * dt_s);
    prev = s;
  }
  return k;
}

int hr_plan_fidelity_compute(const double *const *gt, const double *const *gen, const size_t *len,
                             size_t m, double dt_s, double ramp_dt_s, hr_plan_fidelity_t *out)
{
  if (!gt || !gen || !len || !out || m == 0 || !(dt_s > 0.0) || !(ramp_dt_s >= dt_s * 0.999))
    return HR_ERR_INVALID_ARG;
  size_t total = 0;
  for (size_t k = 0; k < m; k++) {
    if (len[k] < 2 || !gt[k] || !gen[k] || !all_finite(gt[k], len[k]) ||
        !all_finite(gen[k], len[k]))
      return HR_ERR_INVALID_ARG;
    total += len[k];
  }
  size_t bm = (size_t)llround(ramp_dt_s / dt_s);
  if (bm < 1)
    bm = 1;
  double *pa = malloc(total * sizeof *pa), *pb = malloc(total * sizeof *pb);
  double *ra = malloc(total * sizeof *ra), *rb = malloc(total * sizeof *rb);
  double *ea = malloc(m * sizeof *ea); /* per-trace energy errors, for the median */
  if (!pa || !pb || !ra || !rb || !ea) {
    free(pa);
    free(pb);
    free(ra);
    free(rb);
    free(ea);
    return HR_ERR_NOMEM;
  }
  double acf_a[HR_PLAN_ACF_LAGS] = {0}, acf_b[HR_PLAN_ACF_LAGS] = {0};
  double e_sum = 0.0, nrmse_sum = 0.0;
  size_t pos = 0, nra = 0, nrb = 0, n_acf = 0;
  int acf_nan = 0;
  for (size_t k = 0; k < m; k++) {
    const double *a = gt[k], *b = gen[k];
    size_t n = len[k];
    ea[k] = hr_plan_energy_error_pct(a, b, n);
    e_sum += ea[k];
    double lo = a[0], hi = a[0], se = 0.0;
    for (size_t i = 0; i < n; i++) {
      lo = fmin(lo, a[i]);
      hi = fmax(hi, a[i]);
      se += (a[i] - b[i]) * (a[i] - b[i]);
    }
    nrmse_sum += hi > lo ? sqrt(se / (double)n) / (hi - lo) : NAN;
    memcpy(pa + pos, a, n * sizeof *a);
    memcpy(pb + pos, b, n * sizeof *b);
    pos += n;
    if (n > HR_PLAN_ACF_LAGS) {
      double x[HR_PLAN_ACF_LAGS], y[HR_PLAN_ACF_LAGS];
      hr_plan_acf(a, n, HR_PLAN_ACF_LAGS, x);
      hr_plan_acf(b, n, HR_PLAN_ACF_LAGS, y);
      for (int j = 0; j < HR_PLAN_ACF_LAGS; j++) {
        acf_a[j] += x[j];
        acf_b[j] += y[j];
        if (isnan(x[j]) || isnan(y[j]))
          acf_nan = 1;
      }
      n_acf++;
    }
    nra += ramps(a, n, bm, dt_s, ra + nra);
    nrb += ramps(b, n, bm, dt_s, rb + nrb);
  }
  out->energy_err_pct = e_sum / (double)m;
  qsort(ea, m, sizeof *ea, cmp_double);
  out->energy_err_median_pct = hr_plan_quantile_sorted(ea, m, 0.5);
  free(ea);
  out->nrmse = nrmse_sum / (double)m;
  if (n_acf == 0 || acf_nan) {
    out->acf_r2 = NAN;
  } else {
    for (int j = 0; j < HR_PLAN_ACF_LAGS; j++) {
      acf_a[j] /= (double)n_acf;
      acf_b[j] /= (double)n_acf;
    }
    out->acf_r2 = hr_plan_acf_r2(acf_a, acf_b, HR_PLAN_ACF_LAGS);
  }
  qsort(pa, total, sizeof *pa, cmp_double);
  qsort(pb, total, sizeof *pb, cmp_double);
  out->ks = ks_sorted(pa, total, pb, total);
  double a95 = hr_plan_quantile_sorted(pa, total, 0.95),
         b95 = hr_plan_quantile_sorted(pb, total, 0.95);
  double a99 = hr_plan_quantile_sorted(pa, total, 0.99),
         b99 = hr_plan_quantile_sorted(pb, total, 0.99);
  out->p95_err_pct = 100.0 * fabs(b95 - a95) / fabs(a95);
  out->p99_err_pct = 100.0 * fabs(b99 - a99) / fabs(a99);
  out->ramp_gt_w_per_s = out->ramp_gen_w_per_s = out->ramp_p99_err_pct = NAN;
  if (nra > 0 && nrb > 0) {
    qsort(ra, nra, sizeof *ra, cmp_double);
    qsort(rb, nrb, sizeof *rb, cmp_double);
    out->ramp_gt_w_per_s = ra[nra - 1];
    out->ramp_gen_w_per_s = rb[nrb - 1];
    double qa = hr_plan_quantile_sorted(ra, nra, 0.99), qb = hr_plan_quantile_sorted(rb, nrb, 0.99);
    out->ramp_p99_err_pct = qa > 0.0 ? 100.0 * fabs(qb - qa) / qa : NAN;
  }
  free(pa);
  free(pb);
  free(ra);
  free(rb);
  return HR_OK;
}
