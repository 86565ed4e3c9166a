/* The one FFT the measurement engine uses (harmonics.c), behind an interface
 * that lets it be swapped: an in-place complex radix-2 transform in double
 * precision.  Chosen over Debian's libkissfft (float only) by the benchmark
 * in bench/bench_harm.c (docs/performance.md). */
#ifndef HR_PQ_FFT_H
#define HR_PQ_FFT_H

typedef struct hr__fft hr__fft_t;

/* Plans a transform of n points, n a power of two, 2 <= n <= 1 << 20.
 * Returns NULL when n is not one or memory is short.  The plan owns its
 * tables; release with hr__fft_destroy (NULL allowed). */
hr__fft_t *hr__fft_create(int n);
void hr__fft_destroy(hr__fft_t *f);

/* Forward transform X_k = sum_j x_j exp(-2 pi i j k / n), in place on the
 * split arrays re[n], im[n] (borrowed for the call).  Allocates nothing. */
void hr__fft_forward(const hr__fft_t *f, double *re, double *im);

#endif
