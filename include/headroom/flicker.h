/* headroom: the IEC 61000-4-15 flickermeter (Ed. 2.0, 2010).
 *
 * One flickermeter object follows 1 to HR_MAX_U voltage channels sampled at
 * fs_hz and gives, per channel, the instantaneous flicker sensation Pinst,
 * the short-term severity Pst over every 10-minute interval of the sample
 * clock (aligned to multiples of 600 s since the epoch, like the other
 * 10-minute values) and the long-term severity Plt over every 2-hour
 * interval (multiples of 7200 s).
 *
 * The blocks (docs/measurements.md, "Flicker"):
 *   1  input adaptation: the signal's mean square, followed by a first-order
 *      filter with a 1-min time constant, is the reference level (the first
 *      5 s of a stream settle the meter: no Pinst is counted);
 *   2  squaring demodulator: u^2 / reference;
 *   3  weighting filters: first-order 0.05 Hz high-pass, 6th-order
 *      Butterworth low-pass (35 Hz in 50 Hz systems, 42 Hz in 60 Hz
 *      systems), and the lamp-eye-brain weighting filter
 *        K w1 s / (s^2 + 2 lambda s + w1^2) * (1 + s/w2) / ((1 + s/w3)(1 + s/w4))
 *      with the standard's constants for the 230 V / 60 W and 120 V / 60 W
 *      lamps;
 *   4  squaring and a first-order low-pass with a 300 ms time constant,
 *      scaled so that a sinusoidal 8.8 Hz fluctuation of dV/V = 0.25 % gives
 *      a largest Pinst of 1 with the 230 V lamp (IEC 61000-4-15 Table 1a);
 *   5  statistics: Pinst sampled at 100 Hz and classified in 4096
 *      logarithmic classes from 1e-4 to 1e4; Pst from the smoothed
 *      percentiles P0.1, P1s, P3s, P10s, P50s; Plt = cube root of the mean
 *      of the Pst values cubed.
 *
 * Blocks 2-4 run on the mean square of every D samples (D = floor(fs/1600),
 * at least 1), which keeps the 0.05-42 Hz band exact to 0.1 % and costs a
 * multiply-add per sample.  Nothing is allocated after create. */
#ifndef HEADROOM_FLICKER_H
#define HEADROOM_FLICKER_H

#include <stddef.h>
#include <stdint.h>

#include "headroom/error.h"
#include "headroom/export.h"
#include "headroom/layout.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Pst interval and Plt interval [ns]. */
#define HR_FLICKER_PST_NS INT64_C(600000000000)
#define HR_FLICKER_PLT_NS INT64_C(7200000000000)

typedef struct hr_flicker_cfg {
  double fs_hz;    /* sample rate [Hz], 2000 <= fs_hz <= 50000 */
  double f_nom_hz; /* nominal system frequency, 50 or 60 (selects the 35/42 Hz low-pass) */
  int lamp_v;      /* lamp model: 230 or 120 [V] */
  int n_chan;      /* voltage channels, 1 <= n_chan <= HR_MAX_U */
  int64_t t0_ns;   /* time of the first sample [ns since the epoch], > INT64_MIN; an
                      interval that would start below the int64 range starts at
                      INT64_MIN, one that would end beyond it never ends */
} hr_flicker_cfg_t;

/* One result: a Pst (10 min) or a Plt (2 h) per channel.  t_ns, dur_ns: the
 * interval (a Pst of an interval the stream started inside, or shortened by
 * the end of the stream, covers only part of it and is flagged). */
typedef struct hr_flicker_rec {
  int plt;                    /* 0: Pst over 10 min; 1: Plt over 2 h */
  int lamp_v;                 /* 230 or 120 */
  int n_pst;                  /* Plt: the Pst values it is made of (12 when complete) */
  double p[HR_MAX_U];         /* Pst or Plt per channel (dimensionless) */
  double pinst_max[HR_MAX_U]; /* Pst: the largest Pinst in the interval */
  /* Pst: the smoothed percentiles (Pinst levels exceeded that % of the
   * time), IEC 61000-4-15 §4.7.2: P0.1, P1s, P3s, P10s, P50s */
  double p0_1[HR_MAX_U], p1s[HR_MAX_U], p3s[HR_MAX_U], p10s[HR_MAX_U], p50s[HR_MAX_U];
} hr_flicker_rec_t;

/* A finished interval as hr_flicker_take gives it. */
typedef struct hr_flicker_result {
  int64_t t_ns, dur_ns; /* interval start and length [ns] */
  uint32_t flags;       /* HR_FLAG_STARTUP (pq.h): the interval was not measured whole
                           (the stream started inside it, the filters were settling, or,
                           for Plt, fewer than 12 Pst); HR_FLAG_BAD_SAMPLE: a non-finite
                           sample was counted as 0; in meter records also HR_FLAG_EVENT:
                           the interval overlapped a dip, swell or interruption as the
                           meter detected it (IEC 61000-4-30 §4.7) */
  int n_chan;
  hr_flicker_rec_t rec;
} hr_flicker_result_t;

/* Called with every classified Pinst sample (100 a second), one value per
 * channel; t_ns is the sample clock's time of that value.  Valid only
 * during the call. */
typedef void (*hr_flicker_pinst_cb)(int64_t t_ns, const double *pinst, int n_chan, void *user);

typedef struct hr_flicker hr_flicker_t;

/* Fills cfg: the given values, t0_ns = 0. */
HR_API void hr_flicker_cfg_init(hr_flicker_cfg_t *cfg, double fs_hz, double f_nom_hz, int lamp_v,
                                int n_chan);

/* Checks a configuration: HR_OK or HR_ERR_RANGE, with the field and the rule
 * in diag (may be NULL). */
HR_API int hr_flicker_cfg_check(const hr_flicker_cfg_t *cfg, hr_diag_t *diag);

/* Creates a flickermeter; *out is owned by the caller (hr_flicker_destroy).
 * Errors: as hr_flicker_cfg_check, HR_ERR_NOMEM. */
HR_API int hr_flicker_create(const hr_flicker_cfg_t *cfg, hr_flicker_t **out);
HR_API void hr_flicker_destroy(hr_flicker_t *f);
/* Back to the state right after create. */
HR_API void hr_flicker_reset(hr_flicker_t *f);

HR_API void hr_flicker_set_pinst_cb(hr_flicker_t *f, hr_flicker_pinst_cb cb, void *user);

/* Consumes up to n frames; channel c of frame k is x[k * stride + c]
 * (stride >= n_chan).  Stops after a frame that closes a 10-minute interval,
 * whose results hr_flicker_take then gives.  Returns the frames consumed. */
HR_API size_t hr_flicker_push(hr_flicker_t *f, const float *x, size_t stride, size_t n);

/* Takes the next finished result (a Pst, then a Plt when the same frame
 * closed a 2-hour interval).  Returns 1 when there was one, else 0. */
HR_API int hr_flicker_take(hr_flicker_t *f, hr_flicker_result_t *out);

/* Ends the stream: closes the current 10-minute interval (and 2-hour one)
 * early, flagged HR_FLAG_STARTUP, when it holds any classified Pinst. */
HR_API void hr_flicker_finish(hr_flicker_t *f);

/* Pst from the five smoothed percentiles (IEC 61000-4-15 §4.7.2). */
HR_API double hr_flicker_pst(double p0_1, double p1s, double p3s, double p10s, double p50s);

#ifdef __cplusplus
}
#endif
#endif
