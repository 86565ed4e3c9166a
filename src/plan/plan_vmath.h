/* plan module: scalar building blocks of the vectorised draws (the copula's
 * normals in plan_generate.c, the replicas' arrivals and lengths in
 * plan_draw.c).  Static inline so that each HR__CLONES_V4 clone of a
 * `#pragma omp simd` loop vectorises them; bit operations and IEEE
 * arithmetic only (no FMA contraction under -std=c11), so every clone gives
 * the same bits. */
#ifndef HR_PLAN_VMATH_H
#define HR_PLAN_VMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* xoshiro256** exactly as hr_plan_rng_u64 (plan_util.c), here so it inlines. */
static inline uint64_t xo_u64(uint64_t *s)
{
  uint64_t x = s[1] * 5, out = ((x << 7) | (x >> 57)) * 9, t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = (s[3] << 45) | (s[3] >> 19);
  return out;
}

static inline double xo_uniform(uint64_t *s)
{
  return ((double)(xo_u64(s) >> 11) + 0.5) *
         (1.0 / 9007199254740992.0); /* as hr_plan_rng_uniform */
}

/* log(u) for a positive normal double: u = m 2^k with m in (sqrt(1/2),
 * sqrt(2)], log m = 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.172, by its
 * series to s^21 (the next term is below 1e-18 of the result).  Exponent and
 * mantissa by bit operations only (k as a double through 2^52 + e), so that
 * every clone vectorises it. */
static inline double bm_log(double u)
{
  uint64_t b, eb, mb;
  memcpy(&b, &u, sizeof b);
  eb = 0x4330000000000000ull | (b >> 52); /* 2^52 + biased exponent */
  mb = (b & 0x000fffffffffffffull) | 0x3ff0000000000000ull;
  double e, mm;
  memcpy(&e, &eb, sizeof e);
  memcpy(&mm, &mb, sizeof mm);
  double k = (e - 4503599627370496.0) - 1023.0;
  int big = mm > M_SQRT2;
  mm = big ? 0.5 * mm : mm;
  k = big ? k + 1.0 : k;
  double f = mm - 1.0, s = f / (2.0 + f), z = s * s;
  double p = 1.0 / 21.0;
  p = p * z + 1.0 / 19.0;
  p = p * z + 1.0 / 17.0;
  p = p * z + 1.0 / 15.0;
  p = p * z + 1.0 / 13.0;
  p = p * z + 1.0 / 11.0;
  p = p * z + 1.0 / 9.0;
  p = p * z + 1.0 / 7.0;
  p = p * z + 1.0 / 5.0;
  p = p * z + 1.0 / 3.0;
  return k * M_LN2 + (2.0 * s + 2.0 * s * (z * p));
}

/* cos and sin of 2 pi u for u in [0, 1]: q quarter turns (round to nearest
 * by the 1.5 2^52 trick, exact for 0 <= 4u <= 4) and the rest x = (4u - q)
 * pi / 2 in [-pi/4, pi/4], by Taylor series to x^17 and x^18 (truncation
 * below 1e-18). */
static inline void bm_sincos(double u, double *c, double *s)
{
  double t = 4.0 * u, q = (t + 6755399441055744.0) - 6755399441055744.0;
  double x = (t - q) * M_PI_2, x2 = x * x;
  double sp = -1.0 / 355687428096000.0;
  sp = sp * x2 + 1.0 / 1307674368000.0;
  sp = sp * x2 - 1.0 / 6227020800.0;
  sp = sp * x2 + 1.0 / 39916800.0;
  sp = sp * x2 - 1.0 / 362880.0;
  sp = sp * x2 + 1.0 / 5040.0;
  sp = sp * x2 - 1.0 / 120.0;
  sp = sp * x2 + 1.0 / 6.0;
  double cp = 1.0 / 6402373705728000.0;
  cp = cp * x2 - 1.0 / 20922789888000.0;
  cp = cp * x2 + 1.0 / 87178291200.0;
  cp = cp * x2 - 1.0 / 479001600.0;
  cp = cp * x2 + 1.0 / 3628800.0;
  cp = cp * x2 - 1.0 / 40320.0;
  cp = cp * x2 + 1.0 / 720.0;
  cp = cp * x2 - 1.0 / 24.0;
  cp = cp * x2 + 0.5;
  double sv = x - x * (x2 * sp), cv = 1.0 - x2 * cp;
  /* Quarter turns qi (0..4): cos, sin of (qi + x / (pi / 2)) quarter turns. */
  int qi = (int)q;
  double c0 = qi & 1 ? sv : cv, s0 = qi & 1 ? cv : sv;
  *c = (qi + 1) & 2 ? -c0 : c0;
  *s = qi & 2 ? -s0 : s0;
}

/* cos(2 pi x) for |x| < 2^50 (the caller checks): x less its nearest
 * integer r (round to nearest by the 1.5 2^52 trick, exact below 2^51, so
 * x - r in [-1/2, 1/2] is exact), then as bm_sincos with quarter turns
 * qi in -2..2 (the two's-complement bit tests below hold for negative qi:
 * cos(-pi/2 + y) = sin y, cos(-pi + y) = -cos y). */
static inline double vm_cos_turns(double x)
{
  double r = x - ((x + 6755399441055744.0) - 6755399441055744.0);
  double t = 4.0 * r, q = (t + 6755399441055744.0) - 6755399441055744.0;
  double y = (t - q) * M_PI_2, y2 = y * y;
  double sp = -1.0 / 355687428096000.0;
  sp = sp * y2 + 1.0 / 1307674368000.0;
  sp = sp * y2 - 1.0 / 6227020800.0;
  sp = sp * y2 + 1.0 / 39916800.0;
  sp = sp * y2 - 1.0 / 362880.0;
  sp = sp * y2 + 1.0 / 5040.0;
  sp = sp * y2 - 1.0 / 120.0;
  sp = sp * y2 + 1.0 / 6.0;
  double cp = 1.0 / 6402373705728000.0;
  cp = cp * y2 - 1.0 / 20922789888000.0;
  cp = cp * y2 + 1.0 / 87178291200.0;
  cp = cp * y2 - 1.0 / 479001600.0;
  cp = cp * y2 + 1.0 / 3628800.0;
  cp = cp * y2 - 1.0 / 40320.0;
  cp = cp * y2 + 1.0 / 720.0;
  cp = cp * y2 - 1.0 / 24.0;
  cp = cp * y2 + 0.5;
  double sv = y - y * (y2 * sp), cv = 1.0 - y2 * cp;
  int qi = (int)q;
  double c0 = qi & 1 ? sv : cv;
  return (qi + 1) & 2 ? -c0 : c0;
}

/* exp(y) for y in [-700, 700] (the caller clamps): y = k ln2 + r with k the
 * nearest integer to y / ln2 (1.5 2^52 trick; k from the sum's low bits),
 * r by Cody and Waite's two-part ln2 (the high part has 32 bits, so k ln2hi
 * is exact for |k| < 2^21), |r| <= 0.347, e^r by its Taylor series to r^13
 * (the next term is below 5e-18 of the result), times 2^k built in the
 * exponent field (k + 1023 in 13..2033: a normal double). */
static inline double vm_exp(double y)
{
  double sh = y * 1.4426950408889634 + 6755399441055744.0, kd = sh - 6755399441055744.0;
  uint64_t sb;
  memcpy(&sb, &sh, sizeof sb);
  int64_t k = (int64_t)(sb - 0x4338000000000000ull);
  double r = (y - kd * 6.93147180369123816490e-01) - kd * 1.90821492927058770002e-10;
  double p = 1.0 / 6227020800.0;
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  uint64_t eb = (uint64_t)(k + 1023) << 52;
  double sc;
  memcpy(&sc, &eb, sizeof sc);
  return p * sc;
}

#endif
