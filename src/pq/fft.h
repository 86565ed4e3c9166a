/* The measurement engine's FFT interface (harmonics.c, swing.c), behind which
 * the transform can be swapped.  Two entry points:
 * - hr__fft_real: one real signal of any length, on Debian's KissFFT
 *   (libkissfft-dev, BSD-3-Clause, kiss_fftr in float); the swing stage.
 * - hr__fft8_real: eight real signals of a power-of-two length at once, our
 *   own; the harmonics stage.  bench/bench_harm.c times it against KissFFT
 *   on the same 8 channels (docs/performance.md: 4-7 times faster per
 *   channel), which is the rule for using our own.
 * Both in float: error about 1e-7 of the largest component, far below the
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

/* Eight real signals at once, one per lane (the harmonics stage: the meter's
 * frame slots hold 8 lanes, one per channel).  Our own transform, not
 * KissFFT: a radix-2 complex FFT of n/2 points whose every element is an
 * 8-lane vector, so each butterfly works on all channels with no shuffles,
 * and the n real points ride in it as z_j = x_2j + i x_2j+1 (the standard
 * real-from-half-length-complex split).  bench/bench_harm.c times it against
 * KissFFT's kiss_fftr over the same 8 channels (docs/performance.md). */
typedef struct hr__fft8 hr__fft8_t;

/* Plans n real points per lane, n a power of two, 4 <= n <= 1 << 22.
 * Returns NULL when n is not valid or memory is short.  One plan serves one
 * thread (it owns its work buffers); hr__fft8_destroy takes NULL. */
hr__fft8_t *hr__fft8_create(int n);
void hr__fft8_destroy(hr__fft8_t *f);

/* For each lane l < 8: X_k = sum_j x[8 j + l] exp(-2 pi i j k / n), k < nk
 * (nk <= n/2 + 1), into re[8 k + l], im[8 k + l].  x (8 n floats) is read,
 * re/im (8 nk floats each) written; all borrowed for the call.  Allocates
 * nothing. */
void hr__fft8_real(hr__fft8_t *f, const float *x, int nk, float *re, float *im);

#endif
