/* Cost of the IEC 61000-4-15 flickermeter (HR_REC_FLICKER), on one core.
 *
 * usage: bench_flicker [SECONDS [REPEATS]]   (default 60 s of signal, best of 7)
 *
 * A 3P4W signal with measured neutral (7 channels, 8000 Hz, 50 Hz, 230 V,
 * a 39/min rectangular and an 8.8 Hz sinusoidal voltage fluctuation, 3rd
 * and 5th harmonics) is generated in process and pushed in 10-ms blocks
 * through, alternating in this process, best of REPEATS each:
 *   base:     the meter with every record of HR_RECMASK_ALL;
 *   +flicker: the same with HR_REC_FLICKER (3 voltage channels);
 *   alone:    the flickermeter by itself (hr_flicker_push) on the same frames.
 * Prints ns per frame and per sample of each, and the flicker stage's cost
 * as a ratio to the whole engine's. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "headroom/flicker.h"
#include "bench_util.h"
#include "headroom/pq.h"

#define NCH 7
#define BLOCK 80

static void count(const hr_record_t *rec, void *user)
{
  long long *n = user;
  if (rec->kind == HR_REC_FLICKER)
    (*n)++;
}

static double meter_run(const float *x, size_t frames, const hr_meter_cfg_t *cfg, long long *n_flk)
{
  *n_flk = 0;
  return bench_meter_run(x, frames, NCH, cfg, count, n_flk, 1);
}

static double alone_run(const float *x, size_t frames, double fs, double *pst)
{
  hr_flicker_cfg_t cfg;
  hr_flicker_cfg_init(&cfg, fs, 50.0, 230, 3);
  hr_flicker_t *f;
  if (hr_flicker_create(&cfg, &f) != HR_OK)
    exit(1);
  double t0 = bench_now_s();
  for (size_t k = 0; k < frames; k += BLOCK) {
    size_t b = frames - k < BLOCK ? frames - k : BLOCK, done = 0;
    while (done < b)
      done += hr_flicker_push(f, x + (k + done) * NCH, NCH, b - done);
  }
  hr_flicker_finish(f);
  double dt = bench_now_s() - t0;
  hr_flicker_result_t r;
  while (hr_flicker_take(f, &r))
    if (!r.rec.plt)
      *pst = r.rec.p[0];
  hr_flicker_destroy(f);
  return dt;
}

int main(int argc, char **argv)
{
  double seconds = argc > 1 ? atof(argv[1]) : 60.0;
  int repeats = argc > 2 ? atoi(argv[2]) : 7;
  if (!(seconds > 0.0) || repeats < 1) {
    fprintf(stderr, "usage: bench_flicker [SECONDS [REPEATS]]\n");
    return 2;
  }
  const double fs = 8000.0, f = 50.0;
  size_t frames = (size_t)(seconds * fs);
  float *x = malloc(sizeof(float) * frames * NCH);
  if (!x)
    return 1;
  for (size_t k = 0; k < frames; k++) {
    double t = (double)k / fs;
    double env =
        1.0 + 0.00447 * (sin(2 * M_PI * 0.325 * t) >= 0 ? 1 : -1) + 0.001 * sin(2 * M_PI * 8.8 * t);
    double in = 0.0;
    for (int p = 0; p < 3; p++) {
      double ph = 2 * M_PI * f * t - 2 * M_PI * p / 3;
      double u = 230 * M_SQRT2 * env * (sin(ph) + 0.03 * sin(3 * ph) + 0.02 * sin(5 * ph));
      double i = 100 * M_SQRT2 * (sin(ph - 0.3) + 0.2 * sin(5 * (ph - 0.3)));
      x[k * NCH + p] = (float)u;
      x[k * NCH + 3 + p] = (float)i;
      in -= i;
    }
    x[k * NCH + 6] = (float)in;
  }
  hr_meter_cfg_t base, flk;
  hr_meter_cfg_init(&base, fs, f, 230.0, HR_LAYOUT_3P4W);
  base.has_in = 1;
  flk = base;
  flk.records |= HR_RECMASK(HR_REC_FLICKER);
  double tb = 1e30, tf = 1e30, ta = 1e30, pst = NAN;
  long long nf = 0, n_base;
  for (int r = 0; r < repeats; r++) {
    double a = meter_run(x, frames, &base, &n_base);
    double b = meter_run(x, frames, &flk, &nf);
    double c = alone_run(x, frames, fs, &pst);
    tb = a < tb ? a : tb;
    tf = b < tf ? b : tf;
    ta = c < ta ? c : ta;
  }
  double samples = (double)frames * NCH;
  printf("meter all records:            %.3g samples/s, %.2f ns/frame\n", samples / tb,
         tb / (double)frames * 1e9);
  printf("meter all records + flicker:  %.3g samples/s, %.2f ns/frame (%lld flicker records)\n",
         samples / tf, tf / (double)frames * 1e9, nf);
  printf("flickermeter alone (3 ch):    %.2f ns/frame, %.2f ns/voltage sample (Pst %.3f)\n",
         ta / (double)frames * 1e9, ta / (double)frames / 3.0 * 1e9, pst);
  printf("ratio (+flicker)/base time:   %.3f\n", tf / tb);
  printf("ratio alone/base time:        %.3f\n", ta / tb);
  free(x);
  return 0;
}
