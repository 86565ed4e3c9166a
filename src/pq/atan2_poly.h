/* atan2 without libm, for loops that must vectorise (the harmonics' phase
 * angles, the synchrophasors' angles): libm's atan2 is a call per value and
 * keeps the loop scalar.
 *
 * Octant reduction to a = min/max in [0, 1]; above tan(pi/12) the identity
 * atan a = pi/6 + atan((a - 1/sqrt 3) / (1 + a/sqrt 3)) brings the argument
 * to |z| <= tan(pi/12) = 0.268, where the odd Taylor series to z^17 is exact
 * to its next term, 0.268^19/19 < 1e-12 rad.  Both sides of every choice are
 * computed first: selects, not branches.  No division under a condition.
 * The callers carry optimize("no-trapping-math") (nothing reads the
 * floating-point exception flags; GCC if-converts the selects only without
 * it), and so does this function, so that it inlines into them. */
#ifndef HR_PQ_ATAN2_POLY_H
#define HR_PQ_ATAN2_POLY_H

#include <math.h>

/* atan2(y, x) [rad] in [-pi, pi]; 0 where x = y = 0. */
__attribute__((optimize("no-trapping-math"), always_inline)) static inline double
hr__atan2_poly(double y, double x)
{
  const double t12 = 0.26794919243112270, k3 = 0.57735026918962576; /* tan(pi/12), 1/sqrt 3 */
  const double ax = fabs(x), ay = fabs(y);
  const double mx = ax > ay ? ax : ay, mn = ax > ay ? ay : ax;
  const double a = mn / (mx > 0.0 ? mx : 1.0);
  const int big = a > t12;
  const double zb = (a - k3) / (1.0 + a * k3);
  const double z = big ? zb : a;
  const double z2 = z * z;
  double r = -1.0 / 15.0 + z2 * (1.0 / 17.0);
  r = 1.0 / 13.0 + z2 * r;
  r = -1.0 / 11.0 + z2 * r;
  r = 1.0 / 9.0 + z2 * r;
  r = -1.0 / 7.0 + z2 * r;
  r = 1.0 / 5.0 + z2 * r;
  r = -1.0 / 3.0 + z2 * r;
  r = z + z * z2 * r;
  const double r6 = r + M_PI / 6.0;
  r = big ? r6 : r;
  const double r2 = M_PI / 2.0 - r;
  r = ay > ax ? r2 : r;
  const double rp = M_PI - r;
  r = x < 0.0 ? rp : r;
  const double rn = -r;
  r = y < 0.0 ? rn : r;
  return mx > 0.0 ? r : 0.0;
}

#endif
