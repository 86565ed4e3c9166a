/* Cost of the synchrophasor stage (HR_REC_PHASOR), on one core.
 *
 * usage: bench_phasor [SECONDS [REPEATS]]   (default 20 s of signal, best of 7)
 *
 * 1. Meter: a 3P4W signal with measured neutral (7 channels, 8000 Hz,
 *    60.2 Hz, odd harmonics), pushed in 10-ms blocks, with every record of
 *    HR_RECMASK_ALL (baseline) and with HR_REC_PHASOR added at 60 reports/s
 *    (P class, then M class), the runs alternating in this process; best of
 *    REPEATS each.  The extra time over the number of reports times 7
 *    channels is the stage's cost per channel-frame (one channel of one
 *    report, frequency and ROCOF and the positive sequences included).
 * 2. Baselines in the same process, on the same samples at the same report
 *    times: a plain one-cycle DFT phasor (133 samples, libm cos/sin per
 *    sample, the way a textbook estimator is written), and the same DFT
 *    with a precomputed cos/sin table (the cheapest one-cycle phasor there
 *    is, no frequency, no ROCOF); µs per channel-frame.
 * The goal: a tenth of the ~20 µs per channel-frame a public
 * C estimator (SynchroPMU, P class at about 8 kHz) needs, i.e. 2 µs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "headroom/pq.h"

static void count(const hr_record_t *rec, void *user)
{
  long long *n = user;
  if (rec->kind == HR_REC_PHASOR)
    (*n)++;
}

static double meter_run(const float *x, size_t frames, const hr_meter_cfg_t *cfg, long long *n_rep)
{
  *n_rep = 0;
  return bench_meter_run(x, frames, 7, cfg, count, n_rep, 0);
}

/* One-cycle DFT phasors of every channel at every report (60/s), libm
 * cos/sin per sample (table = NULL) or from the table; returns a checksum
 * so the work is not optimised away. */
static double dft_run(const float *x, size_t frames, double fs, int fps, const double *ctab,
                      const double *stab, int n, double *secs, long long *n_rep)
{
  double sum = 0.0;
  *n_rep = 0;
  double t0 = bench_now_s();
  for (long long r = 1;; r++) {
    size_t centre = (size_t)llround((double)r * fs / fps);
    if (centre + (size_t)n / 2 + 1 >= frames)
      break;
    size_t k0 = centre - (size_t)n / 2;
    for (int c = 0; c < 7; c++) {
      double re = 0.0, im = 0.0;
      for (int k = 0; k < n; k++) {
        double v = x[(k0 + (size_t)k) * 7 + (size_t)c];
        double co, si;
        if (ctab) {
          co = ctab[k];
          si = stab[k];
        } else {
          double a = 2.0 * M_PI * (double)k / n;
          co = cos(a);
          si = sin(a);
        }
        re += v * co;
        im -= v * si;
      }
      sum += M_SQRT2 / n * hypot(re, im);
    }
    (*n_rep)++;
  }
  *secs = bench_now_s() - t0;
  return sum;
}

int main(int argc, char **argv)
{
  double seconds = argc > 1 ? atof(argv[1]) : 20.0;
  int repeats = argc > 2 ? atoi(argv[2]) : 7;
  if (seconds < 1.0 || repeats < 1) {
    fprintf(stderr, "usage: bench_phasor [SECONDS>=1 [REPEATS>=1]]\n");
    return 2;
  }
  const double fs = 8000.0, f = 60.2;
  const int fps = 60;
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
      for (int h = 1; h <= 15; h += 2) {
        u += 230 * M_SQRT2 / (h * h) * sin(h * ph);
        i += 100 * M_SQRT2 / h * sin(h * (ph - 0.3));
      }
      x[k * 7 + p] = (float)u;
      x[k * 7 + 3 + p] = (float)i;
      in -= i;
    }
    x[k * 7 + 6] = (float)in;
  }
  hr_meter_cfg_t base, pcl, mcl;
  hr_meter_cfg_init(&base, fs, 60.0, 230.0, HR_LAYOUT_3P4W);
  base.has_in = 1;
  pcl = base;
  pcl.records |= HR_RECMASK(HR_REC_PHASOR);
  pcl.phasor_rate_fps = fps;
  pcl.phasor_class = HR_PHASOR_P;
  mcl = pcl;
  mcl.phasor_class = HR_PHASOR_M;
  double tb = 1e30, tp = 1e30, tm = 1e30, td = 1e30, tt = 1e30;
  long long np = 0, nm = 0, nd = 0, n_base;
  const int n = (int)llround(fs / 60.0); /* 133: one nominal cycle */
  double *ctab = malloc((size_t)n * sizeof *ctab), *stab = malloc((size_t)n * sizeof *stab);
  if (!ctab || !stab)
    return 1;
  for (int k = 0; k < n; k++) {
    ctab[k] = cos(2.0 * M_PI * k / n);
    stab[k] = sin(2.0 * M_PI * k / n);
  }
  double check = 0.0;
  for (int r = 0; r < repeats; r++) {
    double a = meter_run(x, frames, &base, &n_base);
    double b = meter_run(x, frames, &pcl, &np);
    double c = meter_run(x, frames, &mcl, &nm);
    double d, e;
    check += dft_run(x, frames, fs, fps, NULL, NULL, n, &d, &nd);
    check += dft_run(x, frames, fs, fps, ctab, stab, n, &e, &nd);
    tb = a < tb ? a : tb;
    tp = b < tp ? b : tp;
    tm = c < tm ? c : tm;
    td = d < td ? d : td;
    tt = e < tt ? e : tt;
  }
  double samples = (double)frames * 7;
  double us_p = (tp - tb) / ((double)np * 7) * 1e6, us_m = (tm - tb) / ((double)nm * 7) * 1e6;
  double us_d = td / ((double)nd * 7) * 1e6, us_t = tt / ((double)nd * 7) * 1e6;
  printf("meter all records:            %.3g samples/s\n", samples / tb);
  printf("meter + phasor P, %d fps:     %.3g samples/s (%lld reports)\n", fps, samples / tp, np);
  printf("meter + phasor M, %d fps:     %.3g samples/s (%lld reports)\n", fps, samples / tm, nm);
  printf("phasor P per channel-frame:   %.3f us\n", us_p);
  printf("phasor M per channel-frame:   %.3f us\n", us_m);
  printf("plain 1-cycle DFT (libm):     %.3f us per channel-frame (checksum %.6g)\n", us_d, check);
  printf("1-cycle DFT, table:           %.3f us per channel-frame\n", us_t);
  printf("ratio P / plain DFT:          %.3f\n", us_p / us_d);
  printf("ratio P / table DFT:          %.3f\n", us_p / us_t);
  printf("P stage share of one core per 8 kHz 7-channel meter: %.2f %%\n",
         100.0 * (tp - tb) / seconds);
  free(ctab);
  free(stab);
  free(x);
  return 0;
}
