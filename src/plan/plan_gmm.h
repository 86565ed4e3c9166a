/* plan module: one-dimensional Gaussian mixture (private). */
#ifndef HR_PLAN_GMM_H
#define HR_PLAN_GMM_H

#include <stddef.h>

#include "headroom/error.h"

#define HR__PLAN_KMAX 16

typedef struct hr__plan_gmm {
  int k;
  double w[HR__PLAN_KMAX], mu[HR__PLAN_KMAX], sd[HR__PLAN_KMAX]; /* sorted by mu */
  double bic;
} hr__plan_gmm_t;

/* Fits K = k_min..k_max components by EM (iters iterations each, quantile
 * start) to x[0..n) and keeps the lowest BIC.  HR_ERR_INVALID_ARG,
 * HR_ERR_NOMEM. */
int hr__plan_gmm_fit(const double *x, size_t n, int k_min, int k_max, int iters, hr__plan_gmm_t *g);
/* The most probable component of x. */
int hr__plan_gmm_label(const hr__plan_gmm_t *g, double x);

#endif
