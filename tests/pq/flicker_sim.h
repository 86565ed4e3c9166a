/* Shared by the flicker tests: modulated test voltages through the
 * flickermeter (hr_flicker_t), measured the way IEC 61000-4-15 Ed. 2.0
 * states its test conditions. */
#ifndef HR_TESTS_FLICKER_SIM_H
#define HR_TESTS_FLICKER_SIM_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "headroom/flicker.h"
#include "headroom/pq.h"

#define FLK_BLOCK 4096

/* u(t) = sqrt(2) U (1 + dvv/200 m(t)) sin(2 pi f t), with m a sine of fm
 * (rect = 0) or a square wave of fm (rect = 1, changes where the sine
 * crosses zero), from sample k0 on; one channel.  The carrier comes from a
 * rotation recurrence, re-anchored every block. */
typedef struct flk_gen {
  double fs, f, fm, dvv, u_rms;
  int rect;
  int64_t k;
} flk_gen_t;

static void flk_gen_fill(flk_gen_t *g, float *x, size_t n)
{
  double w = 2.0 * M_PI * g->f / g->fs, wm = 2.0 * M_PI * g->fm / g->fs;
  double t = (double)g->k;
  double c = cos(w * t), s = sin(w * t), cw = cos(w), sw = sin(w);
  double cm = cos(wm * t + 0.1), sm = sin(wm * t + 0.1), cwm = cos(wm), swm = sin(wm);
  double a = M_SQRT2 * g->u_rms, d = g->dvv / 200.0;
  for (size_t j = 0; j < n; j++) {
    double m = g->rect ? (sm >= 0.0 ? 1.0 : -1.0) : sm;
    x[j] = (float)(a * (1.0 + d * m) * s);
    double c2 = c * cw - s * sw, s2 = s * cw + c * sw;
    c = c2;
    s = s2;
    double cm2 = cm * cwm - sm * swm, sm2 = sm * cwm + cm * swm;
    cm = cm2;
    sm = sm2;
  }
  g->k += (int64_t)n;
}

/* Runs seconds of signal through f, feeding every result to out (may be
 * NULL) until n_out are stored; returns how many were seen. */
static int flk_run(hr_flicker_t *f, flk_gen_t *g, double seconds, hr_flicker_result_t *out,
                   int n_out)
{
  static float buf[FLK_BLOCK];
  int64_t n = (int64_t)llround(seconds * g->fs);
  int seen = 0;
  while (n > 0) {
    size_t len = n < FLK_BLOCK ? (size_t)n : FLK_BLOCK;
    flk_gen_fill(g, buf, len);
    size_t off = 0;
    while (off < len) {
      off += hr_flicker_push(f, buf + off, 1, len - off);
      hr_flicker_result_t r;
      while (hr_flicker_take(f, &r)) {
        if (out && seen < n_out)
          out[seen] = r;
        seen++;
      }
    }
    n -= (int64_t)len;
  }
  return seen;
}

/* The largest Pinst of a steady fluctuation: settle_s of signal, then the
 * largest Pinst over meas_s (hr_flicker_finish closes each part). */
static double flk_pinst_max(int lamp_v, double f_sys, double fs, int rect, double fm, double dvv)
{
  hr_flicker_cfg_t cfg;
  hr_flicker_cfg_init(&cfg, fs, f_sys, lamp_v, 1);
  hr_flicker_t *f = NULL;
  if (hr_flicker_create(&cfg, &f) != HR_OK)
    return NAN;
  flk_gen_t g = {fs, f_sys, fm, dvv, lamp_v, rect, 0};
  hr_flicker_result_t r;
  flk_run(f, &g, 20.0, NULL, 0);
  hr_flicker_finish(f);
  while (hr_flicker_take(f, &r))
    ;
  flk_run(f, &g, 20.0, NULL, 0);
  hr_flicker_finish(f);
  double mx = NAN;
  while (hr_flicker_take(f, &r))
    if (!r.rec.plt)
      mx = r.rec.pinst_max[0];
  hr_flicker_destroy(f);
  return mx;
}

/* Pst of a rectangular fluctuation of cpm changes per minute over one whole
 * 10-minute interval (the stream starts 30 s before it). */
static double flk_pst_rect(int lamp_v, double f_sys, double fs, double cpm, double dvv)
{
  hr_flicker_cfg_t cfg;
  hr_flicker_cfg_init(&cfg, fs, f_sys, lamp_v, 1);
  cfg.t0_ns = 6 * HR_FLICKER_PST_NS - INT64_C(30000000000);
  hr_flicker_t *f = NULL;
  if (hr_flicker_create(&cfg, &f) != HR_OK)
    return NAN;
  flk_gen_t g = {fs, f_sys, cpm / 120.0, dvv, lamp_v, 1, 0};
  hr_flicker_result_t r[4];
  int n = flk_run(f, &g, 630.5, r, 4);
  hr_flicker_destroy(f);
  /* r[0]: the partial first interval (flagged); r[1]: the whole one. */
  if (n < 2 || !(r[0].flags & HR_FLAG_STARTUP) || r[1].flags != 0 || r[1].rec.plt ||
      r[1].dur_ns != HR_FLICKER_PST_NS)
    return NAN;
  return r[1].rec.p[0];
}

#endif
