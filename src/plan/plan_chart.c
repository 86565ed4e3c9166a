/* plan module: what the SVG and PNG line charts share: axis ranges, tick
 * steps, series colours and the min/max reduction of long series. */
#include <math.h>

#include "plan/plan_int.h"

const uint32_t hr__plan_chart_colors[HR__PLAN_CHART_NCOLORS] = {
    0x1f77b4, 0xd62728, 0x2ca02c, 0xff7f0e, 0x9467bd, 0x8c564b, 0xe377c2, 0x7f7f7f};

/* A "nice" tick step near range / 5: 1, 2 or 5 times a power of ten. */
static double tick_step(double range)
{
  double raw = range / 5.0, p = pow(10.0, floor(log10(raw))), r = raw / p;
  return (r < 1.5 ? 1.0 : r < 3.5 ? 2.0 : r < 7.5 ? 5.0 : 10.0) * p;
}

int hr__plan_axes_fit(const double *x, const double *const *y, int nseries, size_t n,
                      hr__plan_axes_t *a)
{
  if (!x || !y || !a || nseries < 1 || n < 2)
    return HR_ERR_INVALID_ARG;
  /* Every x, not only the ends: an interior NaN or infinity was written into
   * the SVG, and one far outside [x0, x1] made the PNG writer draw a line of
   * hundreds of millions of pixels. */
  for (size_t i = 0; i < n; i++)
    if (!isfinite(x[i]) || (i > 0 && x[i] < x[i - 1]))
      return HR_ERR_INVALID_ARG;
  double x0 = x[0], x1 = x[n - 1], y0 = INFINITY, y1 = -INFINITY;
  for (int k = 0; k < nseries; k++) {
    if (!y[k])
      return HR_ERR_INVALID_ARG;
    for (size_t i = 0; i < n; i++)
      if (isfinite(y[k][i])) {
        y0 = fmin(y0, y[k][i]);
        y1 = fmax(y1, y[k][i]);
      }
  }
  if (!isfinite(y0) || !(x1 > x0) || !isfinite(x1 - x0))
    return HR_ERR_INVALID_ARG;
  if (y1 - y0 < 1e-9 * (fabs(y1) + 1.0)) {
    y0 -= 0.5 * (fabs(y0) + 1.0) * 0.1;
    y1 += 0.5 * (fabs(y1) + 1.0) * 0.1;
  }
  double pad = HR__PLAN_CHART_PAD * (y1 - y0);
  a->x0 = x0;
  a->x1 = x1;
  a->y0 = y0 - pad;
  a->y1 = y1 + pad;
  /* Values near DBL_MAX: a span that overflows maps every point to 0 or NaN. */
  if (!isfinite(a->y1 - a->y0))
    return HR_ERR_INVALID_ARG;
  a->xstep = tick_step(a->x1 - a->x0);
  a->ystep = tick_step(a->y1 - a->y0);
  return HR_OK;
}

int hr__plan_chart_ticks(double lo, double hi, double step, double *v)
{
  /* A span near the smallest denormal gives a step of 0 (or NaN). */
  if (!(step > 0.0) || !isfinite(step))
    return 0;
  double first = ceil(lo / step) * step, tol = 1e-9 * step;
  int k = 0;
  for (int i = 0; i < HR__PLAN_CHART_MAX_TICKS && k < HR__PLAN_CHART_MAX_TICKS; i++) {
    double t = first + (double)i * step;
    if (!isfinite(t) || t > hi + tol)
      break;
    /* Rounding can put a tick just outside the axis; a step below half an
     * ulp gives the same tick again. */
    if (t < lo - tol || (k > 0 && t == v[k - 1]))
      continue;
    v[k++] = t;
  }
  return k;
}

size_t hr__plan_chart_reduce(const double *y, size_t n, size_t buckets, size_t *idx)
{
  size_t k = 0;
  if (buckets == 0)
    return 0;
  if (n <= buckets) {
    for (size_t i = 0; i < n; i++)
      idx[k++] = i;
    return k;
  }
  for (size_t b = 0; b < buckets; b++) {
    /* Bucket b covers [b n / B, (b + 1) n / B): equal runs, none empty. */
    size_t s = b * n / buckets, e = (b + 1) * n / buckets, imin = s, imax = s;
    for (size_t i = s; i < e; i++) {
      if (y[i] < y[imin] || !isfinite(y[imin]))
        imin = i;
      if (y[i] > y[imax] || !isfinite(y[imax]))
        imax = i;
    }
    idx[k++] = imin < imax ? imin : imax;
    if (imin != imax)
      idx[k++] = imin < imax ? imax : imin;
  }
  return k;
}
