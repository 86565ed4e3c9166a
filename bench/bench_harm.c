/* Cost of the harmonics stage (HR_REC_HARM) and of its FFT, and meters per
 * core with harmonics, synchrophasors and power-swing analytics all on.
 *
 * usage: bench_harm [SECONDS [REPEATS]]   (default 20 s of signal, best of 7)
 *
 * 1. FFT, 2048 real points, ns per real channel: the engine's
 *    (src/pq/fft.c hr__fft8_real: our own float FFT that transforms the 8
 *    lanes of the meter's frame slots at once) against Debian's KissFFT
 *    (kiss_fftr, float, one channel a call: hr__fft_real, what the stage
 *    used before) and a radix-2 double FFT of two real channels at once.
 * 2. Meter: a 3P4W signal with measured neutral (7 channels, 8000 Hz,
 *    60.2 Hz, harmonics up to h49), pushed in 10-ms blocks, on one core,
 *    five configurations alternating in this process, best of REPEATS each:
 *    every record of HR_RECMASK_ALL (baseline), the same plus HR_REC_HARM,
 *    plus HR_REC_PHASOR (P class, default 60 reports/s), plus HR_REC_SWING
 *    (its defaults), and plus all three.  Prints each stage's cost over the
 *    baseline (harmonics per channel-window: one channel of one 12-cycle
 *    window), and meters per core with everything on: seconds of one
 *    meter's signal per second of one core. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "headroom/pq.h"
#include "pq/fft.h"

static void count(const hr_record_t *rec, void *user)
{
  long long *n = user;
  if (rec->kind == HR_REC_HARM)
    (*n)++;
}

static double min_d(double a, double b)
{
  return a < b ? a : b;
}

/* This thread's CPU time: on a machine shared with other builds the wall
 * clock counts the time the thread waited for a core, this clock does not
 * (caches and the core's other hyperthread are still shared). */
static double cpu_now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* bench_meter_run's loop (10-ms blocks, no finish), timed in CPU time. */
static double meter_run(const float *x, size_t frames, const hr_meter_cfg_t *cfg, long long *n_harm)
{
  *n_harm = 0;
  hr_meter_t *m;
  if (hr_meter_create(cfg, &m) != HR_OK)
    exit(1);
  hr_meter_set_callback(m, count, n_harm);
  double t0 = cpu_now_s();
  for (size_t k = 0; k < frames; k += 80) {
    size_t b = frames - k < 80 ? frames - k : 80;
    hr_meter_push(m, x + k * 7, b, NULL);
  }
  double dt = cpu_now_s() - t0;
  hr_meter_destroy(m);
  return dt;
}

/* The candidate the engine's FFT was chosen against: an iterative radix-2
 * decimation-in-time complex FFT in double, precomputed twiddles and
 * bit-reversal table; two real channels per transform (z = a + i b). */
typedef struct own_fft own_fft_t;
static void own_destroy(own_fft_t *f);

struct own_fft {
  int n;
  int *rev;     /* bit-reversed index of each index */
  double *w_re; /* twiddles exp(-2 pi i k / n), k < n/2 */
  double *w_im;
};

static own_fft_t *own_create(int n)
{
  if (n < 2 || n > (1 << 20) || (n & (n - 1)) != 0)
    return NULL;
  own_fft_t *f = calloc(1, sizeof *f);
  if (!f)
    return NULL;
  f->n = n;
  f->rev = malloc(sizeof *f->rev * (size_t)n);
  f->w_re = malloc(sizeof *f->w_re * (size_t)(n / 2));
  f->w_im = malloc(sizeof *f->w_im * (size_t)(n / 2));
  if (!f->rev || !f->w_re || !f->w_im) {
    own_destroy(f);
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

static void own_destroy(own_fft_t *f)
{
  if (!f)
    return;
  free(f->rev);
  free(f->w_re);
  free(f->w_im);
  free(f);
}

static void own_forward(const own_fft_t *f, double *re, double *im)
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

static void bench_fft(int repeats)
{
  const int n = 2048, iters = 2000, nk = n / 2 + 1;
  double *re = malloc(sizeof(double) * n), *im = malloc(sizeof(double) * n);
  double *src_re = malloc(sizeof(double) * n), *src_im = malloc(sizeof(double) * n);
  own_fft_t *o = own_create(n);
  hr__fft_t *f = hr__fft_create(n);
  hr__fft8_t *f8 = hr__fft8_create(n);
  float *x8 = malloc(sizeof(float) * 8 * n), *re8 = malloc(sizeof(float) * 8 * nk),
        *im8 = malloc(sizeof(float) * 8 * nk);
  double *chan = malloc(sizeof(double) * 8 * n);
  if (!re || !im || !src_re || !src_im || !o || !f || !f8 || !x8 || !re8 || !im8 || !chan)
    exit(1);
  for (int j = 0; j < n; j++) {
    src_re[j] = sin(0.01 * j);
    src_im[j] = cos(0.02 * j);
    for (int l = 0; l < 8; l++) {
      x8[j * 8 + l] = (float)sin(0.01 * (l + 1) * j + l);
      chan[(size_t)l * n + (size_t)j] = x8[j * 8 + l];
    }
  }
  double best_o = 1e30, best_k = 1e30, best_8 = 1e30, best_k8 = 1e30;
  for (int r = 0; r < repeats; r++) {
    double t0 = cpu_now_s();
    for (int it = 0; it < iters; it++) {
      memcpy(re, src_re, sizeof(double) * n);
      memcpy(im, src_im, sizeof(double) * n);
      own_forward(o, re, im);
    }
    double t1 = cpu_now_s();
    /* The engine's: one real channel per call, bins 0..n/2 copied out. */
    for (int it = 0; it < iters; it++)
      hr__fft_real(f, src_re, nk, re, im);
    double t2 = cpu_now_s();
    /* The same 8 channels: KissFFT one at a time, and the 8-lane FFT. */
    for (int it = 0; it < iters / 8; it++)
      for (int l = 0; l < 8; l++)
        hr__fft_real(f, chan + (size_t)l * n, nk, re, im);
    double t3 = cpu_now_s();
    for (int it = 0; it < iters / 8; it++)
      hr__fft8_real(f8, x8, nk, re8, im8);
    double t4 = cpu_now_s();
    best_o = min_d(best_o, t1 - t0);
    best_k = min_d(best_k, t2 - t1);
    best_k8 = min_d(best_k8, t3 - t2);
    best_8 = min_d(best_8, t4 - t3);
  }
  /* The two agree (a check that the timed code is the right code). */
  double err = 0.0, mag = 0.0;
  for (int l = 0; l < 8; l++) {
    hr__fft_real(f, chan + (size_t)l * n, nk, re, im);
    for (int k = 0; k < nk; k++) {
      err = fmax(err, fabs(re[k] - re8[k * 8 + l]) + fabs(im[k] - im8[k * 8 + l]));
      mag = fmax(mag, fabs(re[k]) + fabs(im[k]));
    }
  }
  printf("fft radix-2 double (2 real channels per transform), N=%d: %.0f ns per channel\n", n,
         best_o / iters / 2 * 1e9);
  printf("fft KissFFT kiss_fftr float (1 channel), N=%d:            %.0f ns per channel\n", n,
         best_k / iters * 1e9);
  printf("fft ratio radix-2 double/KissFFT: %.2f\n", (best_o / 2) / best_k);
  printf("fft KissFFT, 8 channels one by one:     %.0f ns per channel\n",
         best_k8 / (iters / 8) / 8 * 1e9);
  printf("fft engine hr__fft8_real, 8 lanes at once: %.0f ns per channel\n",
         best_8 / (iters / 8) / 8 * 1e9);
  printf("fft ratio KissFFT/fft8: %.2f (largest difference %.2g of the largest bin)\n",
         best_k8 / best_8, err / mag);
  hr__fft8_destroy(f8);
  free(x8);
  free(re8);
  free(im8);
  free(chan);
  own_destroy(o);
  hr__fft_destroy(f);
  free(re);
  free(im);
  free(src_re);
  free(src_im);
}

int main(int argc, char **argv)
{
  double seconds = argc > 1 ? atof(argv[1]) : 20.0;
  int repeats = argc > 2 ? atoi(argv[2]) : 7;
  if (seconds < 1.0 || repeats < 1) {
    fprintf(stderr, "usage: bench_harm [SECONDS>=1 [REPEATS>=1]]\n");
    return 2;
  }
  bench_fft(repeats);

  const double fs = 8000.0, f = 60.2;
  size_t frames = (size_t)(seconds * fs);
  float *x = malloc(frames * 7 * sizeof *x);
  if (!x)
    return 1;
  for (size_t k = 0; k < frames; k++) {
    double t = (double)k / fs;
    double in = 0.0;
    for (int p = 0; p < 3; p++) {
      double ph = 2 * M_PI * f * t - 2 * M_PI * p / 3;
      double u = 0.0, i = 0.0;
      for (int h = 1; h <= 49; h += 2) {
        u += 230 * M_SQRT2 / (h * h) * sin(h * ph);
        i += 100 * M_SQRT2 / h * sin(h * (ph - 0.3));
      }
      x[k * 7 + p] = (float)u;
      x[k * 7 + 3 + p] = (float)i;
      in -= i;
    }
    x[k * 7 + 6] = (float)in;
  }
  hr_meter_cfg_t base, harm, pha, swi, all;
  hr_meter_cfg_init(&base, fs, 60.0, 230.0, HR_LAYOUT_3P4W);
  base.has_in = 1;
  harm = pha = swi = all = base;
  harm.records |= HR_RECMASK(HR_REC_HARM);
  pha.records |= HR_RECMASK(HR_REC_PHASOR);
  swi.records |= HR_RECMASK(HR_REC_SWING);
  all.records |= HR_RECMASK(HR_REC_HARM) | HR_RECMASK(HR_REC_PHASOR) | HR_RECMASK(HR_REC_SWING);
  double tb = 1e30, th = 1e30, tp = 1e30, ts = 1e30, ta = 1e30;
  long long nh = 0, n_other;
  for (int r = 0; r < repeats; r++) {
    tb = min_d(tb, meter_run(x, frames, &base, &n_other));
    th = min_d(th, meter_run(x, frames, &harm, &nh));
    tp = min_d(tp, meter_run(x, frames, &pha, &n_other));
    ts = min_d(ts, meter_run(x, frames, &swi, &n_other));
    ta = min_d(ta, meter_run(x, frames, &all, &n_other));
  }
  double samples = (double)frames * 7;
  printf("meter all records:          %.3g samples/s\n", samples / tb);
  printf("meter all records + harm:   %.3g samples/s (%lld windows)\n", samples / th, nh);
  printf("ratio harm/base time:       %.2f\n", th / tb);
  printf("harm cost per channel-window: %.2f us (%.4f %% of one core per 8 kHz 7-channel meter)\n",
         (th - tb) / ((double)nh * 7) * 1e6, 100.0 * (th - tb) / seconds);
  printf("per second of one meter's signal, us of one core:\n");
  printf("  base %.1f  harm %+.1f  phasor %+.1f  swing %+.1f  all %.1f (sum of parts %.1f)\n",
         tb / seconds * 1e6, (th - tb) / seconds * 1e6, (tp - tb) / seconds * 1e6,
         (ts - tb) / seconds * 1e6, ta / seconds * 1e6,
         (tb + (th - tb) + (tp - tb) + (ts - tb)) / seconds * 1e6);
  printf("meter all records + harm + phasor + swing: %.3g samples/s, ratio to base time %.2f\n",
         samples / ta, ta / tb);
  printf("meters per core, everything on: %.0f (8 kHz 3P4W with neutral, 7 channels; "
         "base alone %.0f; goal 2000)\n",
         seconds / ta, seconds / tb);
  free(x);
  return 0;
}
