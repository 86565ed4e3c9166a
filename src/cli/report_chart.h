/* The study reports' line charts (report_chart.c): drawn with cairo, written
 * as PNG (what report.md embeds) and SVG (scalable).  Private to the
 * command: the library computes the studies, the command presents them, so
 * libheadroom links neither cairo nor libpng. */
#ifndef HR_CLI_REPORT_CHART_H
#define HR_CLI_REPORT_CHART_H

#include <stddef.h>
#include <stdint.h>

/* Writes a line chart: nseries series y[k][0..n) against x[0..n), with a
 * grid, "nice" ticks, a title, axis labels (the y label rotated) and a
 * legend row above the plot (so it never hides data).  Series are 2-pixel
 * anti-aliased lines in fixed colours, each reduced to the min and max of
 * every pixel column so a one-sample peak is always drawn; a non-finite y
 * breaks its line.  Strings are borrowed; tabs and line breaks become
 * spaces, other control characters and bytes that are not UTF-8 '?', and
 * each is cut to HR__CHART_TEXT_MAX bytes (the labels are one line).
 *
 * HR_ERR_INVALID_ARG (nothing written) when path, x or y is NULL,
 * nseries < 1, n < 2, any x is NaN or infinite, x decreases anywhere or
 * x[n-1] <= x[0], no y is finite, or the x or y span overflows a double;
 * HR_ERR_NOMEM; HR_ERR_IO with errno saying why. */
int hr__chart_png_write(const char *path, const char *title, const char *xlabel, const char *ylabel,
                        const double *x, const double *const *y, const char *const *names,
                        int nseries, size_t n);

/* The same chart, same geometry, as SVG (cairo's SVG surface: text is
 * drawn as glyph outlines, so the file looks the same without the fonts). */
int hr__chart_svg_write(const char *path, const char *title, const char *xlabel, const char *ylabel,
                        const double *x, const double *const *y, const char *const *names,
                        int nseries, size_t n);

/* ---- what the writers share, and what the tests map data with ---------- */

/* Data ranges of a chart and its tick steps: x from the first to the last
 * x; y from the finite minimum to the maximum of every series, padded by
 * HR__CHART_PAD of the span on each side (a flat series gets a span of
 * 10 % of its level, or 0.1, so it is drawn mid-plot). */
typedef struct hr__chart_axes {
  double x0, x1, y0, y1;
  double xstep, ystep; /* 1, 2 or 5 times a power of ten, near span / 5 */
} hr__chart_axes_t;

#define HR__CHART_PAD 0.05

/* HR_ERR_INVALID_ARG as for the writers above.  So every x and every
 * finite y of an accepted chart lies within the axes. */
int hr__chart_axes_fit(const double *x, const double *const *y, int nseries, size_t n,
                       hr__chart_axes_t *a);

/* Most ticks an axis gets: near span / step is about 5 to 11. */
#define HR__CHART_MAX_TICKS 32

/* The tick values of an axis [lo, hi], multiples of step, ascending, into
 * v[0..HR__CHART_MAX_TICKS); returns how many.  Bounded by the count, not
 * by `v += step` reaching hi: a step below half an ulp of the values never
 * moves v, and a bound near DBL_MAX overflows. */
int hr__chart_ticks(double lo, double hi, double step, double *v);

/* Reduces y[0..n) to the indices of the minimum and the maximum of each of
 * `buckets` equal runs, in time order, so peaks survive any reduction.  idx
 * has room for 2 * buckets; returns how many were written (every index when
 * n <= buckets). */
size_t hr__chart_reduce(const double *y, size_t n, size_t buckets, size_t *idx);

/* Geometry in pixels (PNG) or CSS pixels (SVG): the plot spans
 * [ML, W - MR) x [MT, H - MB), its frame drawn one pixel outside.  Data
 * value v maps to the centre of pixel column
 * ML + (v - x0) / (x1 - x0) * (PW - 1), and of row
 * MT + PH - 1 - (v - y0) / (y1 - y0) * (PH - 1).  The legend row lies at
 * y = 38..44, above the plot.  Tests map data to pixels with these. */
#define HR__CHART_W 900
#define HR__CHART_H 500
#define HR__CHART_ML 78
#define HR__CHART_MR 24
#define HR__CHART_MT 56
#define HR__CHART_MB 48

/* Longest label drawn, bytes (a title or legend entry is one short line). */
#define HR__CHART_TEXT_MAX 200

/* Series colours, as 0xRRGGBB, in series order (repeating). */
#define HR__CHART_NCOLORS 8
extern const uint32_t hr__chart_colors[HR__CHART_NCOLORS];

#endif
