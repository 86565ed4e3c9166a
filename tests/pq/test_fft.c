/* The harmonics stage's 8-lane FFT (src/pq/fft.c, hr__fft8_real) against a
 * direct DFT in long double, independent of any FFT: every lane a different
 * signal (random values, a pure tone on an exact bin, a constant, zeros), so
 * that a lane mix-up, a wrong bin or a wrong sign shows. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pq/fft.h"

#define LANES 8

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static double uniform(void)
{
  /* xorshift64*: reproducible, no libc rand state. */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (double)((rng_state * 0x2545f4914f6cdd1dU) >> 11) / 9007199254740992.0 - 0.5;
}

static void check_n(int n)
{
  const int nk = n / 2 + 1;
  float *x = malloc(sizeof(float) * LANES * (size_t)n);
  float *re = malloc(sizeof(float) * LANES * (size_t)nk),
        *im = malloc(sizeof(float) * LANES * (size_t)nk);
  assert_non_null(x);
  assert_non_null(re);
  assert_non_null(im);
  for (int j = 0; j < n; j++)
    for (int l = 0; l < LANES; l++) {
      double v;
      if (l == 5)
        v = 3.0 * cos(2.0 * M_PI * 3.0 * j / n + 0.7); /* bin 3 only */
      else if (l == 6)
        v = -1.25; /* bin 0 only */
      else if (l == 7)
        v = 0.0;
      else
        v = 1000.0 * uniform();
      x[(size_t)j * LANES + (size_t)l] = (float)v;
    }
  /* exp(-2 pi i m / n) from cosl/sinl once per m. */
  long double *cs = malloc(sizeof(long double) * (size_t)n),
              *sn = malloc(sizeof(long double) * (size_t)n);
  assert_non_null(cs);
  assert_non_null(sn);
  for (int m = 0; m < n; m++) {
    cs[m] = cosl(-2.0L * (long double)M_PI * m / n);
    sn[m] = sinl(-2.0L * (long double)M_PI * m / n);
  }
  hr__fft8_t *f = hr__fft8_create(n);
  assert_non_null(f);
  hr__fft8_real(f, x, nk, re, im);
  for (int l = 0; l < LANES; l++) {
    double peak = 0.0, worst = 0.0;
    for (int k = 0; k < nk; k++) {
      long double sr = 0.0L, si = 0.0L;
      for (int j = 0; j < n; j++) {
        const size_t m = (size_t)((int64_t)j * k % n);
        sr += x[(size_t)j * LANES + (size_t)l] * cs[m];
        si += x[(size_t)j * LANES + (size_t)l] * sn[m];
      }
      double er = re[(size_t)k * LANES + (size_t)l] - (double)sr;
      double ei = im[(size_t)k * LANES + (size_t)l] - (double)si;
      worst = fmax(worst, hypot(er, ei));
      peak = fmax(peak, hypot((double)sr, (double)si));
    }
    /* Float arithmetic: about log2(n) roundings of 6e-8 on the largest bin;
     * 1e-5 of it leaves a wide margin and still catches any wrong term. */
    if (peak > 0.0)
      assert_true(worst <= 1e-5 * peak);
    else
      assert_true(worst == 0.0);
  }
  /* The tone: 3 n / 2 at bin 3 (3 * (n / 2) * exp(0.7 i)), the constant
   * -1.25 n at bin 0. */
  if (n >= 8) {
    double a = 1.5 * n;
    assert_true(fabs(re[3 * LANES + 5] - a * cos(0.7)) <= 1e-5 * a);
    assert_true(fabs(im[3 * LANES + 5] - a * sin(0.7)) <= 1e-5 * a);
    assert_true(fabs(re[6] + 1.25 * n) <= 1e-5 * 1.25 * n);
  }
  hr__fft8_destroy(f);
  free(cs);
  free(sn);
  free(x);
  free(re);
  free(im);
}

static void against_direct_dft(void **state)
{
  (void)state;
  for (int n = 4; n <= 2048; n *= 2)
    check_n(n);
}

static void bad_lengths(void **state)
{
  (void)state;
  assert_null(hr__fft8_create(2));
  assert_null(hr__fft8_create(96));
  assert_null(hr__fft8_create(1 << 23));
  hr__fft8_destroy(NULL);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(against_direct_dft),
      cmocka_unit_test(bad_lengths),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
