/* The study reports' line charts, drawn with cairo (anti-aliased lines,
 * real fonts through fontconfig) onto an image surface for the PNG and an
 * SVG surface for the SVG: one drawing routine, so the two files show the
 * same chart.  The input checks are ours: cairo would draw NaN or a
 * coordinate of 1e300 as garbage rather than refuse it. */
#include <cairo-svg.h>
#include <cairo.h>
#include <errno.h>
#include <fontconfig/fontconfig.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "headroom/error.h"
#include "report_chart.h"

enum {
  W = HR__CHART_W,
  H = HR__CHART_H,
  ML = HR__CHART_ML,
  MR = HR__CHART_MR,
  MT = HR__CHART_MT,
  MB = HR__CHART_MB,
  PW = W - ML - MR, /* plot width and height, pixels */
  PH = H - MT - MB
};

#define INK 0x202020u
#define GRID 0xe0e0e0u
#define FONT "sans-serif" /* fontconfig picks the system's (DejaVu Sans on Debian) */

const uint32_t hr__chart_colors[HR__CHART_NCOLORS] = {0x1f77b4, 0xd62728, 0x2ca02c, 0xff7f0e,
                                                      0x9467bd, 0x8c564b, 0xe377c2, 0x7f7f7f};

/* ---- axes, ticks, reduction ---------------------------------------------- */

/* A "nice" tick step near range / 5: 1, 2 or 5 times a power of ten. */
static double tick_step(double range)
{
  double raw = range / 5.0, p = pow(10.0, floor(log10(raw))), r = raw / p;
  return (r < 1.5 ? 1.0 : r < 3.5 ? 2.0 : r < 7.5 ? 5.0 : 10.0) * p;
}

int hr__chart_axes_fit(const double *x, const double *const *y, int nseries, size_t n,
                       hr__chart_axes_t *a)
{
  if (!x || !y || !a || nseries < 1 || n < 2)
    return HR_ERR_INVALID_ARG;
  /* Every x, not only the ends: an interior NaN or infinity, or one far
   * outside [x0, x1], would reach the renderer as a coordinate it cannot
   * represent. */
  for (size_t i = 0; i < n; i++)
    if (!isfinite(x[i]) || (i > 0 && x[i] < x[i - 1]))
      return HR_ERR_INVALID_ARG;
  double x0 = x[0], x1 = x[n - 1], y0 = INFINITY, y1 = -INFINITY;
  for (int k = 0; k < nseries; k++) {
    if (!y[k])
      return HR_ERR_INVALID_ARG;
    for (size_t i = 0; i < n; i++)
      if (isfinite(y[k][i])) {
        y0 = fmin(y0, y[k][i]);
        y1 = fmax(y1, y[k][i]);
      }
  }
  if (!isfinite(y0) || !(x1 > x0) || !isfinite(x1 - x0))
    return HR_ERR_INVALID_ARG;
  if (y1 - y0 < 1e-9 * (fabs(y1) + 1.0)) {
    y0 -= 0.5 * (fabs(y0) + 1.0) * 0.1;
    y1 += 0.5 * (fabs(y1) + 1.0) * 0.1;
  }
  double pad = HR__CHART_PAD * (y1 - y0);
  a->x0 = x0;
  a->x1 = x1;
  a->y0 = y0 - pad;
  a->y1 = y1 + pad;
  /* Values near DBL_MAX: a span that overflows maps every point to 0 or NaN. */
  if (!isfinite(a->y1 - a->y0))
    return HR_ERR_INVALID_ARG;
  a->xstep = tick_step(a->x1 - a->x0);
  a->ystep = tick_step(a->y1 - a->y0);
  return HR_OK;
}

int hr__chart_ticks(double lo, double hi, double step, double *v)
{
  /* A span near the smallest denormal gives a step of 0 (or NaN). */
  if (!(step > 0.0) || !isfinite(step))
    return 0;
  double first = ceil(lo / step) * step, tol = 1e-9 * step;
  int k = 0;
  for (int i = 0; i < HR__CHART_MAX_TICKS && k < HR__CHART_MAX_TICKS; i++) {
    double t = first + (double)i * step;
    if (!isfinite(t) || t > hi + tol)
      break;
    /* Rounding can put a tick just outside the axis; a step below half an
     * ulp gives the same tick again. */
    if (t < lo - tol || (k > 0 && t == v[k - 1]))
      continue;
    v[k++] = t;
  }
  return k;
}

size_t hr__chart_reduce(const double *y, size_t n, size_t buckets, size_t *idx)
{
  size_t k = 0;
  if (buckets == 0)
    return 0;
  if (n <= buckets) {
    for (size_t i = 0; i < n; i++)
      idx[k++] = i;
    return k;
  }
  for (size_t b = 0; b < buckets; b++) {
    /* Bucket b covers [b n / B, (b + 1) n / B): equal runs, none empty. */
    size_t s = b * n / buckets, e = (b + 1) * n / buckets, imin = s, imax = s;
    for (size_t i = s; i < e; i++) {
      if (y[i] < y[imin] || !isfinite(y[imin]))
        imin = i;
      if (y[i] > y[imax] || !isfinite(y[imax]))
        imax = i;
    }
    idx[k++] = imin < imax ? imin : imax;
    if (imin != imax)
      idx[k++] = imin < imax ? imax : imin;
  }
  return k;
}

/* ---- text ------------------------------------------------------------------ */

/* Length of the well-formed UTF-8 sequence at s if it encodes a character
 * (not a surrogate, U+FFFE/U+FFFF or beyond U+10FFFF, no overlong form),
 * else 0.  s[0] >= 0x80. */
static size_t utf8_len(const unsigned char *s)
{
  size_t n;
  uint32_t cp;
  if (s[0] >= 0xc2 && s[0] <= 0xdf) {
    n = 2;
    cp = s[0] & 0x1fu;
  } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
    n = 3;
    cp = s[0] & 0x0fu;
  } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
    n = 4;
    cp = s[0] & 0x07u;
  } else {
    return 0;
  }
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xc0) != 0x80) /* the terminating NUL stops here too */
      return 0;
    cp = cp << 6 | (s[i] & 0x3fu);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
      (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff)
    return 0;
  return n;
}

/* Copies str into out (HR__CHART_TEXT_MAX + 1 bytes) as one line of valid
 * UTF-8: cairo puts the context into an error state for a string that is
 * not UTF-8, and a control character has no glyph.  Tabs and line breaks
 * become spaces, other control characters and stray bytes '?'; the copy
 * stops at a whole character. */
static const char *clean_text(const char *str, char *out)
{
  const unsigned char *s = (const unsigned char *)str;
  size_t k = 0;
  while (s && *s) {
    size_t len = 1;
    char c = (char)*s;
    if (*s >= 0x80) {
      len = utf8_len(s);
      if (len == 0) {
        len = 1;
        c = '?';
      }
    } else if (*s == '\t' || *s == '\n' || *s == '\r') {
      c = ' ';
    } else if (*s < 0x20 || *s == 0x7f) {
      c = '?';
    }
    if (k + (len > 1 ? len : 1) > HR__CHART_TEXT_MAX)
      break;
    if (len > 1)
      memcpy(out + k, s, len);
    else
      out[k] = c;
    k += len;
    s += len;
  }
  out[k] = '\0';
  return out;
}

static void set_rgb(cairo_t *cr, uint32_t c)
{
  cairo_set_source_rgb(cr, (c >> 16 & 0xff) / 255.0, (c >> 8 & 0xff) / 255.0, (c & 0xff) / 255.0);
}

/* Draws s with its reference point at (x, y) (on the baseline), moved left
 * by `align` times its advance: 0 left, 0.5 centred, 1 right-aligned. */
static void text_at(cairo_t *cr, double x, double y, const char *s, double align)
{
  char buf[HR__CHART_TEXT_MAX + 1];
  cairo_text_extents_t e;
  clean_text(s, buf);
  cairo_text_extents(cr, buf, &e);
  cairo_move_to(cr, x - align * e.x_advance, y);
  cairo_show_text(cr, buf);
}

static double text_advance(cairo_t *cr, const char *s)
{
  char buf[HR__CHART_TEXT_MAX + 1];
  cairo_text_extents_t e;
  cairo_text_extents(cr, clean_text(s, buf), &e);
  return e.x_advance;
}

/* A tick label: %g, with values within rounding of zero shown as 0. */
static void tick_label(char *buf, size_t cap, double v, double step)
{
  if (fabs(v) < 1e-9 * step)
    v = 0.0;
  snprintf(buf, cap, "%g", v);
}

/* ---- the chart --------------------------------------------------------------- */

/* Pixel centres of data values: integer positions are pixel edges in
 * cairo, so +0.5 puts a 1-pixel grid line on one column instead of
 * smearing it over two. */
static double map_x(const hr__chart_axes_t *a, double v)
{
  return ML + (v - a->x0) / (a->x1 - a->x0) * (PW - 1) + 0.5;
}

static double map_y(const hr__chart_axes_t *a, double v)
{
  return MT + PH - 1 - (v - a->y0) / (a->y1 - a->y0) * (PH - 1) + 0.5;
}

static void draw(cairo_t *cr, const hr__chart_axes_t *a, const char *title, const char *xlabel,
                 const char *ylabel, const double *x, const double *const *y,
                 const char *const *names, int nseries, size_t n, size_t *idx)
{
  char buf[64];
  set_rgb(cr, 0xffffff);
  cairo_paint(cr);
  cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, 11.0);
  cairo_set_line_width(cr, 1.0);
  /* Grid, ticks and tick labels; grid lines on whole pixels so they stay
   * crisp. */
  double tv[HR__CHART_MAX_TICKS];
  int nt = hr__chart_ticks(a->x0, a->x1, a->xstep, tv);
  for (int i = 0; i < nt; i++) {
    double px = floor(map_x(a, tv[i])) + 0.5;
    set_rgb(cr, GRID);
    cairo_move_to(cr, px, MT);
    cairo_line_to(cr, px, MT + PH);
    cairo_stroke(cr);
    set_rgb(cr, INK);
    cairo_move_to(cr, px, MT + PH);
    cairo_line_to(cr, px, MT + PH + 5);
    cairo_stroke(cr);
    tick_label(buf, sizeof buf, tv[i], a->xstep);
    text_at(cr, px, MT + PH + 18, buf, 0.5);
  }
  nt = hr__chart_ticks(a->y0, a->y1, a->ystep, tv);
  for (int i = 0; i < nt; i++) {
    double py = floor(map_y(a, tv[i])) + 0.5;
    set_rgb(cr, GRID);
    cairo_move_to(cr, ML, py);
    cairo_line_to(cr, ML + PW, py);
    cairo_stroke(cr);
    set_rgb(cr, INK);
    cairo_move_to(cr, ML - 5, py);
    cairo_line_to(cr, ML, py);
    cairo_stroke(cr);
    tick_label(buf, sizeof buf, tv[i], a->ystep);
    text_at(cr, ML - 8, py + 4, buf, 1.0);
  }
  /* Frame, one pixel outside the plot. */
  cairo_rectangle(cr, ML - 0.5, MT - 0.5, PW + 1, PH + 1);
  cairo_stroke(cr);
  /* Axis labels, the title, and the legend in one row above the plot
   * (outside it, so it never hides data). */
  cairo_set_font_size(cr, 12.0);
  text_at(cr, ML + PW / 2.0, H - 10, xlabel, 0.5);
  cairo_save(cr);
  cairo_translate(cr, 22, MT + PH / 2.0);
  cairo_rotate(cr, -M_PI / 2);
  text_at(cr, 0, 0, ylabel, 0.5);
  cairo_restore(cr);
  cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
  cairo_set_font_size(cr, 16.0);
  text_at(cr, ML, 26, title, 0.0);
  cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, 11.0);
  double lx = ML;
  for (int k = 0; k < nseries && names && lx < W; k++) {
    if (!names[k])
      continue;
    set_rgb(cr, hr__chart_colors[k % HR__CHART_NCOLORS]);
    cairo_rectangle(cr, lx, 40, 18, 3);
    cairo_fill(cr);
    set_rgb(cr, INK);
    text_at(cr, lx + 23, 45, names[k], 0.0);
    lx += 23 + text_advance(cr, names[k]) + 16;
  }
  /* Series, clipped to the plot; a non-finite value breaks the line.  A
   * point that starts a line is drawn as a zero-length segment, which the
   * round cap turns into a dot, so an isolated sample still shows. */
  cairo_save(cr);
  cairo_rectangle(cr, ML, MT, PW, PH);
  cairo_clip(cr);
  cairo_set_line_width(cr, 2.0);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
  for (int k = 0; k < nseries; k++) {
    size_t m = hr__chart_reduce(y[k], n, PW, idx);
    int have = 0;
    for (size_t j = 0; j < m; j++) {
      double v = y[k][idx[j]];
      if (!isfinite(v)) {
        have = 0;
        continue;
      }
      double px = map_x(a, x[idx[j]]), py = map_y(a, v);
      if (!have)
        cairo_move_to(cr, px, py);
      cairo_line_to(cr, px, py);
      have = 1;
    }
    set_rgb(cr, hr__chart_colors[k % HR__CHART_NCOLORS]);
    cairo_stroke(cr);
  }
  cairo_restore(cr);
}

/* ---- output ------------------------------------------------------------------ */

/* Where cairo's output goes: every write checked, the first failure's
 * errno kept for the caller (cairo reports only "write error"). */
typedef struct sink {
  FILE *f;
  int err;
} sink_t;

static cairo_status_t sink_write(void *closure, const unsigned char *data, unsigned int len)
{
  sink_t *s = closure;
  if (s->err)
    return CAIRO_STATUS_WRITE_ERROR;
  errno = 0;
  if (fwrite(data, 1, len, s->f) != len) {
    s->err = errno ? errno : EIO;
    return CAIRO_STATUS_WRITE_ERROR;
  }
  return CAIRO_STATUS_SUCCESS;
}

static int from_cairo(cairo_status_t st)
{
  if (st == CAIRO_STATUS_SUCCESS)
    return HR_OK;
  /* Anything but memory is a failure to produce the file. */
  return st == CAIRO_STATUS_NO_MEMORY ? HR_ERR_NOMEM : HR_ERR_IO;
}

/* Closes the sink's file, and removes it when anything failed so no
 * truncated chart is left behind, but only a regular file: the path may
 * name a device (/dev/full in the tests, /dev/stdout), which must stay.
 * errno says why for HR_ERR_IO. */
static int sink_close(sink_t *s, const char *path, int rc)
{
  struct stat st;
  int regular = fstat(fileno(s->f), &st) == 0 && S_ISREG(st.st_mode);
  errno = 0;
  if (fflush(s->f) != 0 || ferror(s->f)) {
    if (!s->err)
      s->err = errno ? errno : EIO;
  }
  if (fclose(s->f) != 0 && !s->err)
    s->err = errno ? errno : EIO;
  if (rc == HR_OK && s->err)
    rc = HR_ERR_IO;
  if (rc != HR_OK && regular)
    remove(path);
  errno = rc == HR_ERR_IO ? (s->err ? s->err : EIO) : 0;
  return rc;
}

/* cairo and fontconfig keep fonts, patterns and their configuration in
 * process-wide caches, some of it reachable only from inside them, which a
 * leak checker (the sanitizer build, the fuzz harness) reports at exit.
 * Emptied at exit, after the last chart: every cairo object is gone by
 * then, which cairo_debug_reset_static_data requires. */
static void release_caches(void)
{
  cairo_debug_reset_static_data();
  FcFini();
}

static void register_release(void)
{
  atexit(release_caches);
}

/* Checks the inputs and allocates the reduction's index buffer: the part
 * both writers do before they touch the file. */
static int prepare(const char *path, const double *x, const double *const *y, int nseries, size_t n,
                   hr__chart_axes_t *a, size_t **idx)
{
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  if (!path)
    return HR_ERR_INVALID_ARG;
  int rc = hr__chart_axes_fit(x, y, nseries, n, a);
  if (rc != HR_OK)
    return rc;
  pthread_once(&once, register_release);
  *idx = malloc(2 * (size_t)PW * sizeof **idx);
  return *idx ? HR_OK : HR_ERR_NOMEM;
}

int hr__chart_png_write(const char *path, const char *title, const char *xlabel, const char *ylabel,
                        const double *x, const double *const *y, const char *const *names,
                        int nseries, size_t n)
{
  hr__chart_axes_t a;
  size_t *idx = NULL;
  int rc = prepare(path, x, y, nseries, n, &a, &idx);
  if (rc != HR_OK)
    return rc;
  /* Drawn in memory first: nothing is written for a chart that fails. */
  cairo_surface_t *sf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
  cairo_t *cr = cairo_create(sf);
  if (cairo_status(cr) == CAIRO_STATUS_SUCCESS)
    draw(cr, &a, title, xlabel, ylabel, x, y, names, nseries, n, idx);
  rc = from_cairo(cairo_status(cr));
  cairo_destroy(cr);
  free(idx);
  if (rc == HR_OK) {
    sink_t s = {fopen(path, "wb"), 0};
    if (!s.f) {
      int e = errno;
      cairo_surface_destroy(sf);
      errno = e;
      return HR_ERR_IO;
    }
    rc = from_cairo(cairo_surface_write_to_png_stream(sf, sink_write, &s));
    rc = sink_close(&s, path, rc);
  }
  int e = errno;
  cairo_surface_destroy(sf);
  errno = e;
  return rc;
}

int hr__chart_svg_write(const char *path, const char *title, const char *xlabel, const char *ylabel,
                        const double *x, const double *const *y, const char *const *names,
                        int nseries, size_t n)
{
  hr__chart_axes_t a;
  size_t *idx = NULL;
  int rc = prepare(path, x, y, nseries, n, &a, &idx);
  if (rc != HR_OK)
    return rc;
  sink_t s = {fopen(path, "wb"), 0};
  if (!s.f) {
    int e = errno;
    free(idx);
    errno = e;
    return HR_ERR_IO;
  }
  /* The SVG surface streams as it goes and on finish; a failed write is
   * kept in the surface's status and the sink's errno. */
  cairo_surface_t *sf = cairo_svg_surface_create_for_stream(sink_write, &s, W, H);
  cairo_svg_surface_set_document_unit(sf, CAIRO_SVG_UNIT_PX);
  cairo_t *cr = cairo_create(sf);
  if (cairo_status(cr) == CAIRO_STATUS_SUCCESS)
    draw(cr, &a, title, xlabel, ylabel, x, y, names, nseries, n, idx);
  rc = from_cairo(cairo_status(cr));
  cairo_destroy(cr);
  cairo_surface_finish(sf);
  if (rc == HR_OK)
    rc = from_cairo(cairo_surface_status(sf));
  cairo_surface_destroy(sf);
  free(idx);
  return sink_close(&s, path, rc);
}
