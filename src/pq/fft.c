/* The engine's FFT on KissFFT's real transform (see fft.h for the choice);
 * an odd length goes through KissFFT's complex transform. */
#include "fft.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <kiss_fftr.h>

#include "core/core.h"

struct hr__fft {
  int n;
  kiss_fftr_cfg cfg; /* n even */
  kiss_fft_cfg ccfg; /* n odd */
  kiss_fft_scalar *in;
  kiss_fft_cpx *cin; /* n odd: the input as complex values */
  kiss_fft_cpx *out;
};

hr__fft_t *hr__fft_create(int n)
{
  if (n < 2 || n > (1 << 22))
    return NULL;
  hr__fft_t *f = calloc(1, sizeof *f);
  if (!f)
    return NULL;
  f->n = n;
  int ok;
  if (n % 2 == 0) {
    f->cfg = kiss_fftr_alloc(n, 0, NULL, NULL);
    f->in = malloc(sizeof *f->in * (size_t)n);
    f->out = malloc(sizeof *f->out * (size_t)(n / 2 + 1));
    ok = f->cfg && f->in && f->out;
  } else {
    f->ccfg = kiss_fft_alloc(n, 0, NULL, NULL);
    f->cin = malloc(sizeof *f->cin * (size_t)n);
    f->out = malloc(sizeof *f->out * (size_t)n);
    ok = f->ccfg && f->cin && f->out;
  }
  if (!ok) {
    hr__fft_destroy(f);
    return NULL;
  }
  return f;
}

void hr__fft_destroy(hr__fft_t *f)
{
  if (!f)
    return;
  kiss_fftr_free(f->cfg);
  kiss_fft_free(f->ccfg);
  free(f->in);
  free(f->cin);
  free(f->out);
  free(f);
}

void hr__fft_real(hr__fft_t *f, const double *x, int nk, double *re, double *im)
{
  if (f->n % 2 != 0) {
    for (int j = 0; j < f->n; j++) {
      f->cin[j].r = (kiss_fft_scalar)x[j];
      f->cin[j].i = 0;
    }
    kiss_fft(f->ccfg, f->cin, f->out);
  } else {
    for (int j = 0; j < f->n; j++)
      f->in[j] = (kiss_fft_scalar)x[j];
    kiss_fftr(f->cfg, f->in, f->out);
  }
  for (int k = 0; k < nk; k++) {
    re[k] = f->out[k].r;
    im[k] = f->out[k].i;
  }
}

/* ---- eight lanes at once (hr__fft8_real) ------------------------------- */

#define LANES 8

struct hr__fft8 {
  int n, m;             /* real points; complex points m = n / 2 */
  int *rev;             /* bit-reversed index of each of the m indices */
  float *tw_re, *tw_im; /* exp(-2 pi i k / n), k <= n / 2 */
  float *zr, *zi;       /* m elements of LANES floats each */
};

hr__fft8_t *hr__fft8_create(int n)
{
  if (n < 4 || n > (1 << 22) || (n & (n - 1)) != 0)
    return NULL;
  hr__fft8_t *f = calloc(1, sizeof *f);
  if (!f)
    return NULL;
  f->n = n;
  f->m = n / 2;
  const size_t nt = (size_t)n / 2 + 1, nz = (size_t)f->m * LANES;
  f->rev = malloc(sizeof *f->rev * (size_t)f->m);
  f->tw_re = malloc(sizeof *f->tw_re * nt);
  f->tw_im = malloc(sizeof *f->tw_im * nt);
  /* 64-byte rows: one element is a 32-byte vector, never split. */
  f->zr = aligned_alloc(64, (sizeof(float) * nz + 63) / 64 * 64);
  f->zi = aligned_alloc(64, (sizeof(float) * nz + 63) / 64 * 64);
  if (!f->rev || !f->tw_re || !f->tw_im || !f->zr || !f->zi) {
    hr__fft8_destroy(f);
    return NULL;
  }
  int bits = 0;
  while ((1 << bits) < f->m)
    bits++;
  for (int i = 0; i < f->m; i++) {
    int r = 0;
    for (int b = 0; b < bits; b++)
      r |= ((i >> b) & 1) << (bits - 1 - b);
    f->rev[i] = r;
  }
  /* Each twiddle from its own cos/sin in double, then rounded once: no
   * recurrence, so no error growth with n. */
  for (size_t k = 0; k < nt; k++) {
    double a = -2.0 * M_PI * (double)k / (double)n;
    f->tw_re[k] = (float)cos(a);
    f->tw_im[k] = (float)sin(a);
  }
  return f;
}

void hr__fft8_destroy(hr__fft8_t *f)
{
  if (!f)
    return;
  free(f->rev);
  free(f->tw_re);
  free(f->tw_im);
  free(f->zr);
  free(f->zi);
  free(f);
}

/* The lane loops are 8 floats: one AVX register in the AVX2 and AVX-512
 * clones, two SSE registers in the baseline.  Contracted to fused
 * multiply-adds where the clone has them (x86-64-v4). */
__attribute__((optimize("fp-contract=fast"))) HR__CLONES_V4 static void
fft8_core(hr__fft8_t *f, const float *x, int nk, float *re, float *im)
{
  const int m = f->m, n = f->n;
  float *restrict zr = f->zr, *restrict zi = f->zi;
  /* z_j = x_2j + i x_2j+1 in bit-reversed order (decimation in time), with
   * the first stage (twiddle 1) on the way: for j < m/2, rev(j) is even and
   * rev(j + m/2) = rev(j) + 1, so z_j and z_(j+m/2) form that stage's pair. */
  const int mh = m / 2;
  for (int j = 0; j < mh; j++) {
    const float *a = x + (size_t)(2 * j) * LANES, *b = x + (size_t)(2 * (j + mh)) * LANES;
    float *dr = zr + (size_t)f->rev[j] * LANES, *di = zi + (size_t)f->rev[j] * LANES;
#pragma omp simd
    for (int l = 0; l < LANES; l++) {
      dr[l] = a[l] + b[l];
      di[l] = a[LANES + l] + b[LANES + l];
      dr[LANES + l] = a[l] - b[l];
      di[LANES + l] = a[LANES + l] - b[LANES + l];
    }
  }
  /* Two radix-2 stages per pass where two are left (spans q = len / 2 and
   * 2q over blocks of 4q): the same butterflies, half the loads and stores.
   * Stage one pairs (x0, x1) and (x2, x3) with W_2q^j; stage two (x0, x2)
   * with W_4q^j and (x1, x3) with W_4q^(j+q) = -i W_4q^j. */
  int len = 4;
  for (; 2 * len <= m; len <<= 2) {
    const int q = len >> 1, s1 = n / len, s2 = n / (2 * len);
    for (int s = 0; s < m; s += 4 * q) {
      for (int j = 0; j < q; j++) {
        const float w1r = f->tw_re[(size_t)j * s1], w1i = f->tw_im[(size_t)j * s1];
        const float w2r = f->tw_re[(size_t)j * s2], w2i = f->tw_im[(size_t)j * s2];
        float *r0 = zr + (size_t)(s + j) * LANES, *i0 = zi + (size_t)(s + j) * LANES;
        float *r1 = r0 + (size_t)q * LANES, *i1 = i0 + (size_t)q * LANES;
        float *r2 = r1 + (size_t)q * LANES, *i2 = i1 + (size_t)q * LANES;
        float *r3 = r2 + (size_t)q * LANES, *i3 = i2 + (size_t)q * LANES;
#pragma omp simd
        for (int l = 0; l < LANES; l++) {
          const float tr = r1[l] * w1r - i1[l] * w1i, ti = r1[l] * w1i + i1[l] * w1r;
          const float ur = r3[l] * w1r - i3[l] * w1i, ui = r3[l] * w1i + i3[l] * w1r;
          const float a0r = r0[l] + tr, a0i = i0[l] + ti, a1r = r0[l] - tr, a1i = i0[l] - ti;
          const float a2r = r2[l] + ur, a2i = i2[l] + ui, a3r = r2[l] - ur, a3i = i2[l] - ui;
          const float vr = a2r * w2r - a2i * w2i, vi = a2r * w2i + a2i * w2r;
          /* (a3 * w2) * -i */
          const float pr = a3r * w2i + a3i * w2r, pi = -(a3r * w2r - a3i * w2i);
          r0[l] = a0r + vr;
          i0[l] = a0i + vi;
          r2[l] = a0r - vr;
          i2[l] = a0i - vi;
          r1[l] = a1r + pr;
          i1[l] = a1i + pi;
          r3[l] = a1r - pr;
          i3[l] = a1i - pi;
        }
      }
    }
  }
  for (; len <= m; len <<= 1) {
    const int half = len >> 1, stride = n / len;
    for (int s = 0; s < m; s += len) {
      for (int j = 0; j < half; j++) {
        const float wr = f->tw_re[(size_t)j * stride], wi = f->tw_im[(size_t)j * stride];
        float *ar = zr + (size_t)(s + j) * LANES, *ai = zi + (size_t)(s + j) * LANES;
        float *br = ar + (size_t)half * LANES, *bi = ai + (size_t)half * LANES;
#pragma omp simd
        for (int l = 0; l < LANES; l++) {
          float tr = br[l] * wr - bi[l] * wi;
          float ti = br[l] * wi + bi[l] * wr;
          br[l] = ar[l] - tr;
          bi[l] = ai[l] - ti;
          ar[l] += tr;
          ai[l] += ti;
        }
      }
    }
  }
  /* X_k = E_k + W^k O_k with E_k = (Z_k + conj Z_(m-k)) / 2 and O_k =
   * (Z_k - conj Z_(m-k)) / 2i, indices mod m, W = exp(-2 pi i / n). */
  for (int k = 0; k < nk; k++) {
    const int ka = k & (m - 1), kb = (m - k) & (m - 1);
    const float *pr = zr + (size_t)ka * LANES, *pi = zi + (size_t)ka * LANES;
    const float *qr = zr + (size_t)kb * LANES, *qi = zi + (size_t)kb * LANES;
    const float wr = f->tw_re[k], wi = f->tw_im[k];
    float *xr = re + (size_t)k * LANES, *xi = im + (size_t)k * LANES;
#pragma omp simd
    for (int l = 0; l < LANES; l++) {
      float er = 0.5f * (pr[l] + qr[l]), ei = 0.5f * (pi[l] - qi[l]);
      float orr = 0.5f * (pi[l] + qi[l]), oi = -0.5f * (pr[l] - qr[l]);
      xr[l] = er + wr * orr - wi * oi;
      xi[l] = ei + wr * oi + wi * orr;
    }
  }
}

void hr__fft8_real(hr__fft8_t *f, const float *x, int nk, float *re, float *im)
{
  fft8_core(f, x, nk, re, im);
}
