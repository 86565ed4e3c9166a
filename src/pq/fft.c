/* The engine's FFT on KissFFT's real transform (see fft.h for the choice);
 * an odd length goes through KissFFT's complex transform. */
#include "fft.h"

#include <stdlib.h>

#include <kiss_fftr.h>

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
