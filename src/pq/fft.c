/* Iterative radix-2 decimation-in-time FFT with precomputed twiddles and
 * bit-reversal table (see fft.h for why not a library). */
#include "fft.h"

#include <math.h>
#include <stdlib.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

struct hr__fft {
  int n;
  int *rev;     /* bit-reversed index of each index */
  double *w_re; /* twiddles exp(-2 pi i k / n), k < n/2 */
  double *w_im;
};

hr__fft_t *hr__fft_create(int n)
{
  if (n < 2 || n > (1 << 20) || (n & (n - 1)) != 0)
    return NULL;
  hr__fft_t *f = calloc(1, sizeof *f);
  if (!f)
    return NULL;
  f->n = n;
  f->rev = malloc(sizeof *f->rev * (size_t)n);
  f->w_re = malloc(sizeof *f->w_re * (size_t)(n / 2));
  f->w_im = malloc(sizeof *f->w_im * (size_t)(n / 2));
  if (!f->rev || !f->w_re || !f->w_im) {
    hr__fft_destroy(f);
    return NULL;
  }
  int bits = 0;
  while ((1 << bits) < n)
    bits++;
  for (int i = 0; i < n; i++) {
    int r = 0;
    for (int b = 0; b < bits; b++)
      r |= ((i >> b) & 1) << (bits - 1 - b);
    f->rev[i] = r;
  }
  /* Each twiddle from its own cos/sin, not by recurrence: no error growth. */
  for (int k = 0; k < n / 2; k++) {
    double a = -2.0 * M_PI * (double)k / (double)n;
    f->w_re[k] = cos(a);
    f->w_im[k] = sin(a);
  }
  return f;
}

void hr__fft_destroy(hr__fft_t *f)
{
  if (!f)
    return;
  free(f->rev);
  free(f->w_re);
  free(f->w_im);
  free(f);
}

void hr__fft_forward(const hr__fft_t *f, double *re, double *im)
{
  const int n = f->n;
  for (int i = 0; i < n; i++) {
    int r = f->rev[i];
    if (r > i) {
      double t = re[i];
      re[i] = re[r];
      re[r] = t;
      t = im[i];
      im[i] = im[r];
      im[r] = t;
    }
  }
  for (int len = 2; len <= n; len <<= 1) {
    const int half = len >> 1, stride = n / len;
    for (int s = 0; s < n; s += len) {
      for (int j = 0; j < half; j++) {
        const double wr = f->w_re[j * stride], wi = f->w_im[j * stride];
        const int a = s + j, b = a + half;
        const double tr = re[b] * wr - im[b] * wi;
        const double ti = re[b] * wi + im[b] * wr;
        re[b] = re[a] - tr;
        im[b] = im[a] - ti;
        re[a] += tr;
        im[a] += ti;
      }
    }
  }
}
