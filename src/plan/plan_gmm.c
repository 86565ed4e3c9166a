/* plan module: one-dimensional Gaussian mixtures by EM, K chosen by BIC. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plan/plan_gmm.h"

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* One EM run for k components; returns the final log-likelihood. r is
 * scratch of n * k responsibilities. */
static double em(const double *x, const double *sorted, size_t n, int k, int iters,
                 double var_floor, double *w, double *mu, double *sd, double *r)
{
  double lo = sorted[0], hi = sorted[n - 1];
  for (int j = 0; j < k; j++) {
    /* Start at evenly spaced quantiles: deterministic, and every component
     * starts inside the data. */
    mu[j] = sorted[(size_t)(((double)j + 0.5) / k * (double)n)];
    sd[j] = fmax((hi - lo) / (2.0 * k), sqrt(var_floor));
    w[j] = 1.0 / k;
  }
  double ll = -INFINITY;
  for (int it = 0; it < iters; it++) {
    ll = 0.0;
    for (size_t i = 0; i < n; i++) {
      double *ri = r + i * (size_t)k, m = -INFINITY;
      for (int j = 0; j < k; j++) {
        double z = (x[i] - mu[j]) / sd[j];
        ri[j] = log(w[j]) - log(sd[j]) - 0.5 * z * z;
        m = fmax(m, ri[j]);
      }
      double s = 0.0;
      for (int j = 0; j < k; j++) {
        ri[j] = exp(ri[j] - m);
        s += ri[j];
      }
      for (int j = 0; j < k; j++)
        ri[j] /= s;
      ll += m + log(s) - 0.5 * log(2.0 * M_PI);
    }
    for (int j = 0; j < k; j++) {
      double s = 0.0, sx = 0.0;
      for (size_t i = 0; i < n; i++) {
        s += r[i * (size_t)k + j];
        sx += r[i * (size_t)k + j] * x[i];
      }
      if (s < 1e-9) { /* an empty component: park it on the mean, tiny weight */
        w[j] = 1e-9;
        continue;
      }
      mu[j] = sx / s;
      double sv = 0.0;
      for (size_t i = 0; i < n; i++)
        sv += r[i * (size_t)k + j] * (x[i] - mu[j]) * (x[i] - mu[j]);
      sd[j] = sqrt(sv / s + var_floor);
      w[j] = s / (double)n;
    }
  }
  return ll;
}

int hr__plan_gmm_fit(const double *x, size_t n, int k_min, int k_max, int iters, hr__plan_gmm_t *g)
{
  if (!x || n < 2 || k_min < 1 || k_max < k_min || k_max > HR__PLAN_KMAX || iters < 1)
    return HR_ERR_INVALID_ARG;
  double *sorted = malloc(n * sizeof *sorted);
  double *r = malloc(n * (size_t)k_max * sizeof *r);
  if (!sorted || !r) {
    free(sorted);
    free(r);
    return HR_ERR_NOMEM;
  }
  memcpy(sorted, x, n * sizeof *x);
  qsort(sorted, n, sizeof *sorted, cmp_double);
  double m = 0.0, v = 0.0;
  for (size_t i = 0; i < n; i++)
    m += x[i];
  m /= (double)n;
  for (size_t i = 0; i < n; i++)
    v += (x[i] - m) * (x[i] - m);
  v /= (double)n;
  /* The floor keeps a component from collapsing onto repeated values; it is
   * far below any power fluctuation that matters (1e-4 of the variance). */
  double floor_v = 1e-4 * v + 1e-6;
  double best = INFINITY;
  for (int k = k_min; k <= k_max; k++) {
    double w[HR__PLAN_KMAX], mu[HR__PLAN_KMAX], sd[HR__PLAN_KMAX];
    double ll = em(x, sorted, n, k, iters, floor_v, w, mu, sd, r);
    double bic = -2.0 * ll + (3.0 * k - 1.0) * log((double)n);
    if (bic < best) {
      best = bic;
      g->k = k;
      g->bic = bic;
      /* Sort components by mean so labels are ordered by power level. */
      int idx[HR__PLAN_KMAX];
      for (int j = 0; j < k; j++)
        idx[j] = j;
      for (int a = 1; a < k; a++)
        for (int b = a; b > 0 && mu[idx[b]] < mu[idx[b - 1]]; b--) {
          int t = idx[b];
          idx[b] = idx[b - 1];
          idx[b - 1] = t;
        }
      for (int j = 0; j < k; j++) {
        g->w[j] = w[idx[j]];
        g->mu[j] = mu[idx[j]];
        g->sd[j] = sd[idx[j]];
      }
    }
  }
  free(sorted);
  free(r);
  return HR_OK;
}

int hr__plan_gmm_label(const hr__plan_gmm_t *g, double x)
{
  int best = 0;
  double bl = -INFINITY;
  for (int j = 0; j < g->k; j++) {
    double z = (x - g->mu[j]) / g->sd[j];
    double l = log(g->w[j]) - log(g->sd[j]) - 0.5 * z * z;
    if (l > bl) {
      bl = l;
      best = j;
    }
  }
  return best;
}
