/* The one FFT the measurement engine uses (harmonics.c), behind an interface
 * that lets it be swapped: a real-input forward transform, computed by
 * Debian's KissFFT (libkissfft-dev, BSD-3-Clause, kiss_fftr in float).
 * bench/bench_harm.c measured it against a radix-2 double FFT of our own
 * (docs/performance.md): KissFFT was about twice as fast per channel, and
 * its float error (about 1e-7 of the largest component) is far below the
 * IEC 61000-4-7 Class I floor (0.05 % of nominal). */
#ifndef HR_PQ_FFT_H
#define HR_PQ_FFT_H

typedef struct hr__fft hr__fft_t;

/* Plans a transform of n real points, 2 <= n <= 1 << 22 (an odd n goes
 * through the complex transform, about twice the cost; n with large prime
 * factors is slow, O(n p)).  Returns NULL when n is not valid or memory is
 * short.  The plan owns its tables
 * and work buffers (so one plan serves one thread); release with
 * hr__fft_destroy (NULL allowed). */
hr__fft_t *hr__fft_create(int n);
void hr__fft_destroy(hr__fft_t *f);

/* X_k = sum_j x_j exp(-2 pi i j k / n) for k < nk (nk <= n/2 + 1) into
 * re[k], im[k].  x (n values) is read, re/im written, all borrowed for the
 * call.  Allocates nothing. */
void hr__fft_real(hr__fft_t *f, const double *x, int nk, double *re, double *im);

#endif
