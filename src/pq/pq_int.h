/* Internals of the measurement engine shared between its files. */
#ifndef HR_PQ_INT_H
#define HR_PQ_INT_H

#include <stdint.h>

#include "headroom/pq.h"

/* ---- zero-crossing filter (zc_filter.c) ----------------------------------- */

/* One biquad section, direct form I, double precision. */
typedef struct hr__biquad {
  double b0, b1, b2, a1, a2;
  double x1, x2, y1, y2;
} hr__biquad_t;

#define HR__ZC_SECTIONS 3

/* Band-pass used to find fundamental zero crossings, run on means of dec
 * input samples (about 1 kHz): a 2nd-order Butterworth high-pass at f_nom/4
 * (removes DC offset and sub-harmonics) followed by a 4th-order Butterworth
 * low-pass at 1.25 f_nom (attenuates h3 by ~30 dB). */
#define HR__ZC_DELAY_N 1024 /* points of the tabulated delay */

typedef struct hr__zc_filter {
  hr__biquad_t s[HR__ZC_SECTIONS];
  double fs_hz; /* input rate */
  int dec;      /* input samples per filtered sample, >= 1 */
  /* The delay tabulated over the tracking range [tab_f0_hz, tab_f0_hz +
   * (HR__ZC_DELAY_N - 1) * tab_df_hz]: it is needed at every crossing, and
   * the exact form costs complex exponentials and divisions. */
  double tab_f0_hz, tab_df_hz;
  double delay_tab[HR__ZC_DELAY_N];
} hr__zc_filter_t;

void hr__zc_filter_init(hr__zc_filter_t *f, double fs_hz, double f_nom_hz);
void hr__zc_filter_reset(hr__zc_filter_t *f);
/* Delay of a crossing found on the decimated, filtered signal at decimated
 * position j (scaled by dec) behind the input's crossing at freq_hz, in
 * input samples: dec times the band-pass phase delay minus the half block
 * by which a block mean is centred before its end. */
double hr__zc_filter_delay_samples(const hr__zc_filter_t *f, double freq_hz);
/* Tabulates the delay over [f_lo_hz, f_hi_hz] (0 < f_lo_hz < f_hi_hz). */
void hr__zc_filter_tabulate(hr__zc_filter_t *f, double f_lo_hz, double f_hi_hz);
/* hr__zc_filter_delay_samples from the table, linearly interpolated (the
 * delay's curvature keeps the error below 10 ns at every rate and tracking range);
 * outside the table, the exact value. */
double hr__zc_filter_delay_fast(const hr__zc_filter_t *f, double freq_hz);
/* Magnitude response at freq_hz. */
double hr__zc_filter_gain(const hr__zc_filter_t *f, double freq_hz);

/* ---- swing detector (events.c) ---------------------------------------------- */

/* Detects a swing of more than thr within window_s on a sampled series and
 * follows it to its end.  Capacity is fixed at init. */
typedef struct hr__swing {
  double thr;
  double window_s;
  int cap;     /* ring capacity in points, a power of two */
  int mask;    /* cap - 1 */
  double *t_s; /* ring of times [s], owned by the meter's arena */
  double *x;   /* ring of values */
  int head, count;
  int imin, imax;   /* ring slots of the window's extremes */
  int *dmin, *dmax; /* monotonic deques of ring slots (ascending minima, descending maxima) */
  int dmin_h, dmin_n, dmax_h, dmax_n;
  int active; /* 0 idle, +1 rising swing, -1 falling swing */
  double t_from, x_from, t_ext, x_ext;
  unsigned channels;
} hr__swing_t;

/* ---- alarm with hysteresis (events.c) ------------------------------------------ */
typedef struct hr__alarm {
  hr_alarm_cfg_t cfg;
  int active;
  int64_t start_ns;
  double extreme;
} hr__alarm_t;

#endif
