/* plan module: private helpers shared by its files. */
#ifndef HR_PLAN_INT_H
#define HR_PLAN_INT_H

#include <stddef.h>
#include <stdint.h>

#include "headroom/plan.h"

#define HR__PLAN_MAX_FIELDS 64

/* A line-by-line CSV cursor over a borrowed buffer.  No quoting: fields are
 * split at commas, surrounding blanks kept (callers trim).  The fields point
 * into a private copy of the current line, valid until the next call. */
typedef struct hr__plan_csv {
  const char *buf;
  size_t len, pos;
  long line; /* 1-based number of the current line */
  char *copy;
  size_t copy_cap;
  int nf;
  char *f[HR__PLAN_MAX_FIELDS];
  const char *src; /* prefix of the cursor's own messages ("PATH: "), or NULL */
  hr_diag_t *err;  /* where the cursor's own errors are described, or NULL */
} hr__plan_csv_t;

/* src (borrowed, may be NULL) names the input in the messages the cursor
 * writes into err (may be NULL) itself. */
void hr__plan_csv_init(hr__plan_csv_t *c, const char *buf, size_t len, const char *src,
                       hr_diag_t *err);
/* Advances to the next non-blank line and splits it.  Returns 1 with a line,
 * 0 at the end, HR_ERR_NOMEM or HR_ERR_PARSE (a NUL byte in the line, or
 * more than HR__PLAN_MAX_FIELDS fields).  Every error is described in the
 * cursor's err, HR_ERR_PARSE with the line and column, so a caller passes it
 * on as it is. */
int hr__plan_csv_next(hr__plan_csv_t *c);
void hr__plan_csv_free(hr__plan_csv_t *c);
/* Index of a header field equal to name (blanks trimmed), or -1. */
int hr__plan_csv_find(const hr__plan_csv_t *c, const char *name);

/* Strict number parsers: the whole field (blanks trimmed) must be used. */
int hr__plan_parse_double(const char *s, double *v);
int hr__plan_parse_long(const char *s, long *v);

/* Reads a whole file into a new NUL-terminated buffer (*len excludes the
 * NUL).  HR_ERR_IO, HR_ERR_NOMEM. */
int hr__plan_read_file(const char *path, char **buf, size_t *len);

void hr__plan_err(hr_diag_t *e, long line, long col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* CRC-32 (IEEE 802.3, reflected, as zlib computes it). */
uint32_t hr__plan_crc32(const void *data, size_t n);

/* ---- line charts (plan_chart.c, shared by plan_svg.c and plan_png.c) ---- */

/* Data ranges of a chart and its tick steps: x from the first to the last
 * x; y from the finite minimum to the maximum of every series, padded by
 * HR__PLAN_CHART_PAD of the span on each side (a flat series gets a span of
 * 10 % of its level, or 0.1, so it is drawn mid-plot). */
typedef struct hr__plan_axes {
  double x0, x1, y0, y1;
  double xstep, ystep; /* 1, 2 or 5 times a power of ten, near span / 5 */
} hr__plan_axes_t;

#define HR__PLAN_CHART_PAD 0.05

/* HR_ERR_INVALID_ARG when nseries < 1, n < 2, an x is not finite, x
 * decreases anywhere or does not increase overall, no y is finite, or an
 * axis span (padded) overflows a double.  So every x and every finite y of
 * an accepted chart lies within the axes. */
int hr__plan_axes_fit(const double *x, const double *const *y, int nseries, size_t n,
                      hr__plan_axes_t *a);

/* Most ticks an axis gets: near span / step is about 5 to 11. */
#define HR__PLAN_CHART_MAX_TICKS 32

/* The tick values of an axis [lo, hi], multiples of step, ascending, into
 * v[0..HR__PLAN_CHART_MAX_TICKS); returns how many.  Bounded by the count,
 * not by `v += step` reaching hi: a step below half an ulp of the values
 * never moves v, and a bound near DBL_MAX overflows. */
int hr__plan_chart_ticks(double lo, double hi, double step, double *v);

/* Reduces y[0..n) to the indices of the minimum and the maximum of each of
 * `buckets` equal runs, in time order, so peaks survive any reduction.  idx
 * has room for 2 * buckets; returns how many were written (every index when
 * n <= buckets). */
size_t hr__plan_chart_reduce(const double *y, size_t n, size_t buckets, size_t *idx);

/* PNG geometry (pixels): the plot frame spans [ML, W - MR) x [MT, H - MB);
 * its outer border is drawn one pixel outside.  Tests map data to pixels
 * with these. */
#define HR__PLAN_PNG_W 900
#define HR__PLAN_PNG_H 500
#define HR__PLAN_PNG_ML 78
#define HR__PLAN_PNG_MR 24
#define HR__PLAN_PNG_MT 56
#define HR__PLAN_PNG_MB 48

/* Series colours of both chart writers, as 0xRRGGBB. */
#define HR__PLAN_CHART_NCOLORS 8
extern const uint32_t hr__plan_chart_colors[HR__PLAN_CHART_NCOLORS];

/* The 5x7 font of the PNG charts (plan_font.c, generated). */
extern const unsigned char hr__plan_font5x7[95][7];

#endif
