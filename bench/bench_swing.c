/* Cost of the power-swing stage (HR_REC_SWING) per 1-ms sample, as a ratio to
 * the whole engine's cost for the same millisecond of signal, on one core.
 *
 * usage: bench_swing [SECONDS [REPEATS]]   (default 20 s of signal, best of 7)
 *
 * A 3P4W signal (6 channels, 8000 Hz, 60 Hz) whose currents follow a
 * training-like square power swing (2 Hz, duty 0.6, 40 % to 100 %) is pushed
 * in 10-ms blocks, best of REPEATS, alternating in this process:
 *   base:  every record of HR_RECMASK_ALL (the 1-ms series included);
 *   swing: the same plus HR_REC_SWING with its defaults (125-ms and 10-s
 *          windows, bands 0.1-2 and 3-30 Hz, 1-s ramp) and a 50-ms ramp,
 *          with band and ramp limits set (checked, never reached).
 * The stage alone: hr__swing_stage_ms on the same number of 1-ms values
 * (the series the meter made), best of REPEATS.  Prints ns per 1-ms sample
 * for the engine (base time / ticks), for the stage alone and for the
 * difference of the two meter runs, and the ratios stage / engine. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "headroom/pq.h"
#include "pq/meter_int.h"
#include "pq/swing_int.h"

typedef struct tally {
  long long swing;
  double *p; /* the 1-ms series, when collected */
  size_t n, cap;
} tally_t;

static void count(const hr_record_t *rec, void *user)
{
  tally_t *t = user;
  if (rec->kind == HR_REC_SWING)
    t->swing++;
  if (rec->kind == HR_REC_MS && t->p && t->n < t->cap)
    t->p[t->n++] = rec->u.ms.p_total_w;
}

static double meter_run(const float *x, size_t frames, const hr_meter_cfg_t *cfg, tally_t *t)
{
  return bench_meter_run(x, frames, 6, cfg, count, t, 0);
}

int main(int argc, char **argv)
{
  double seconds = argc > 1 ? atof(argv[1]) : 20.0;
  int repeats = argc > 2 ? atoi(argv[2]) : 7;
  if (seconds < 11.0 || repeats < 1) {
    fprintf(stderr, "usage: bench_swing [SECONDS>=11 [REPEATS>=1]]\n");
    return 2;
  }
  const double fs = 8000.0, f = 60.0;
  size_t frames = (size_t)(seconds * fs);
  float *x = malloc(frames * 6 * sizeof *x);
  if (!x)
    return 1;
  for (size_t k = 0; k < frames; k++) {
    double t = (double)k / fs;
    double env = fmod(t * 2.0, 1.0) < 0.6 ? 1.0 : 0.4;
    for (int p = 0; p < 3; p++) {
      double ph = 2 * M_PI * f * t - 2 * M_PI * p / 3;
      x[k * 6 + p] = (float)(230 * M_SQRT2 * sin(ph));
      x[k * 6 + 3 + p] = (float)(170 * env * M_SQRT2 * sin(ph - 0.1));
    }
  }
  hr_meter_cfg_t base, sw;
  hr_meter_cfg_init(&base, fs, f, 230.0, HR_LAYOUT_3P4W);
  sw = base;
  sw.records |= HR_RECMASK(HR_REC_SWING);
  sw.swing.n_ramps = 2;
  sw.swing.ramp_window_s[1] = 0.05;
  sw.swing.ramp_limit_w_per_s[0] = sw.swing.ramp_limit_w_per_s[1] = 1e12;
  sw.swing.band_limit_w[0] = sw.swing.band_limit_w[1] = 1e12;

  /* The 1-ms series, for the stage alone. */
  tally_t ser = {0, NULL, 0, (size_t)(seconds * 1000.0) + 16};
  ser.p = malloc(sizeof *ser.p * ser.cap);
  if (!ser.p)
    return 1;
  meter_run(x, frames, &base, &ser);
  size_t ticks = ser.n;

  double tb = 1e30, ts = 1e30, ta = 1e30;
  long long n_sw = 0;
  for (int r = 0; r < repeats; r++) {
    tally_t a = {0}, b = {0};
    double ra = meter_run(x, frames, &base, &a);
    double rb = meter_run(x, frames, &sw, &b);
    tb = ra < tb ? ra : tb;
    ts = rb < ts ? rb : ts;
    n_sw = b.swing;

    /* The stage alone on the same values. */
    hr_meter_t *m;
    if (hr_meter_create(&sw, &m) != HR_OK)
      return 1;
    tally_t c = {0};
    hr_meter_set_callback(m, count, &c);
    const double step = fs / 1000.0;
    double t0 = bench_now_s();
    for (size_t j = 0; j < ticks; j++)
      hr__swing_stage_ms(m, (double)(j + 1) * step, ser.p[j], 0);
    double dt = bench_now_s() - t0;
    ta = dt < ta ? dt : ta;
    hr_meter_destroy(m);
  }
  double samples = (double)frames * 6;
  double eng = tb / (double)ticks * 1e9, alone = ta / (double)ticks * 1e9,
         diff = (ts - tb) / (double)ticks * 1e9;
  printf("1-ms samples: %zu (%.0f s of 8-kHz 3P4W signal), %lld swing records\n", ticks, seconds,
         n_sw);
  printf("meter all records:            %.3g samples/s\n", samples / tb);
  printf("meter all records + swing:    %.3g samples/s\n", samples / ts);
  printf("engine per 1-ms sample:       %.0f ns (8 frames x 6 channels)\n", eng);
  printf("swing stage alone per 1-ms sample: %.1f ns = %.3f x the engine\n", alone, alone / eng);
  printf("swing run - base run per 1-ms sample: %.1f ns = %.3f x the engine\n", diff, diff / eng);
  free(ser.p);
  free(x);
  return 0;
}
