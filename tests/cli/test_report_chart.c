/* The study charts (src/cli/report_chart.c): what a chart contains.
 *
 * PNG: the file decodes (read back through cairo's PNG loader), has the
 * promised size, and data land on the pixels the axis mapping says: a line
 * where it should be, white where nothing is drawn, a one-sample spike kept
 * by the per-column reduction, a gap at NaN.  Lines are anti-aliased, so
 * "the series' colour" means the pixels the 2-pixel pen covers fully, which
 * cairo paints in exactly that colour.
 *
 * SVG: well-formed XML by Python's parser (tests/cli/svgcheck.py), and the
 * series line's points are the data's points mapped to the plot.
 *
 * Hostile input, from the fuzzers' findings (fuzz/reproducers/,
 * docs/fuzzing.md): a NaN, infinite or out-of-order x anywhere is refused
 * with HR_ERR_INVALID_ARG and writes nothing (svg-infinite-interior-x,
 * png-unsorted-x-long-line); tick loops end however small the x span is
 * against its values or however close to DBL_MAX they are
 * (svg-tick-loop-tiny-x-span, svg-tick-loop-x-near-dbl-max); titles and
 * names with control characters or stray bytes still draw, and the SVG
 * stays well-formed. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, popen */
#include <cairo.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "headroom/error.h"
#include "report_chart.h"

#define W HR__CHART_W
#define H HR__CHART_H
#define ML HR__CHART_ML
#define MT HR__CHART_MT
#define PW (HR__CHART_W - HR__CHART_ML - HR__CHART_MR)
#define PH (HR__CHART_H - HR__CHART_MT - HR__CHART_MB)

static char dir[256];

static const char *in_dir(const char *name)
{
  static char p[2][512];
  static int k;
  k ^= 1;
  snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
  return p[k];
}

static int setup(void **state)
{
  (void)state;
  snprintf(dir, sizeof dir, "/tmp/hr_test_report_chart_XXXXXX");
  /* The old tick loops never ended: a hang must fail, not stall ctest. */
  alarm(60);
  return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
  (void)state;
  remove(in_dir("c.png"));
  remove(in_dir("c.svg"));
  rmdir(dir);
  alarm(0);
  return 0;
}

/* ---- PNG ----------------------------------------------------------------- */

typedef struct img {
  cairo_surface_t *sf;
  const unsigned char *data;
  int w, h, stride;
} img_t;

/* Reads path back; sf is NULL when it does not decode. */
static img_t read_png(const char *path)
{
  img_t im = {cairo_image_surface_create_from_png(path), NULL, 0, 0, 0};
  if (cairo_surface_status(im.sf) != CAIRO_STATUS_SUCCESS) {
    cairo_surface_destroy(im.sf);
    im.sf = NULL;
    return im;
  }
  cairo_surface_flush(im.sf);
  im.data = cairo_image_surface_get_data(im.sf);
  im.w = cairo_image_surface_get_width(im.sf);
  im.h = cairo_image_surface_get_height(im.sf);
  im.stride = cairo_image_surface_get_stride(im.sf);
  return im;
}

static uint32_t px(const img_t *im, int x, int y)
{
  uint32_t v;
  memcpy(&v, im->data + (size_t)y * (size_t)im->stride + 4 * (size_t)x, sizeof v);
  return v & 0xffffffu; /* cairo's RGB24/ARGB32: 0x(AA)RRGGBB in a native word */
}

/* Whether colour col (exactly) is within d pixels of (x, y). */
static int near(const img_t *im, int x, int y, int d, uint32_t col)
{
  for (int j = y - d; j <= y + d; j++)
    for (int i = x - d; i <= x + d; i++)
      if (i >= 0 && i < im->w && j >= 0 && j < im->h && px(im, i, j) == col)
        return 1;
  return 0;
}

static int map_x(const hr__chart_axes_t *a, double v)
{
  return (int)lround(ML + (v - a->x0) / (a->x1 - a->x0) * (PW - 1));
}

static int map_y(const hr__chart_axes_t *a, double v)
{
  return (int)lround(MT + PH - 1 - (v - a->y0) / (a->y1 - a->y0) * (PH - 1));
}

static void test_line_where_expected(void **state)
{
  (void)state;
  enum { N = 101 };
  double x[N], up[N], flat[N];
  for (int i = 0; i < N; i++) {
    x[i] = i * 0.1;          /* 0 .. 10 */
    up[i] = 100.0 + 5.0 * i; /* 100 .. 600, a straight line */
    flat[i] = 300.0;
  }
  const double *ys[2] = {up, flat};
  const char *nm[2] = {"rising", "flat"};
  assert_int_equal(
      hr__chart_png_write(in_dir("c.png"), "Test chart", "time [s]", "power [W]", x, ys, nm, 2, N),
      HR_OK);
  img_t im = read_png(in_dir("c.png"));
  assert_non_null(im.sf);
  assert_int_equal(im.w, W);
  assert_int_equal(im.h, H);
  hr__chart_axes_t a;
  assert_int_equal(hr__chart_axes_fit(x, ys, 2, N, &a), HR_OK);
  /* The padding puts the extremes 5 % of the span inside the frame. */
  assert_true(fabs(a.y0 - 75.0) < 1e-9 && fabs(a.y1 - 625.0) < 1e-9);
  uint32_t c0 = hr__chart_colors[0], c1 = hr__chart_colors[1];
  /* Every 5th sample of the rising line, except where the flat series
   * (drawn after it) crosses at 300 W. */
  int hits = 0, want = 0;
  for (int i = 0; i < N; i += 5)
    if (i != 40) {
      want++;
      hits += near(&im, map_x(&a, x[i]), map_y(&a, up[i]), 1, c0);
    }
  assert_int_equal(hits, want);
  /* The flat series: a horizontal line at 300 W, its colour nowhere else in
   * the middle column (anti-aliasing blurs it by a pixel at most). */
  int yf = map_y(&a, 300.0);
  for (int xx = ML + 10; xx < ML + PW - 10; xx += 37)
    assert_true(px(&im, xx, yf) == c1);
  for (int yy = MT + 5; yy < MT + PH - 5; yy++)
    if (abs(yy - yf) > 1) {
      uint32_t v = px(&im, ML + PW / 2, yy);
      assert_true(v != c1);
      /* Away from both lines only white or a grid line. */
      if (abs(yy - map_y(&a, 100.0 + 5.0 * 50)) > 3)
        assert_true(v == 0xffffff || v == 0xe0e0e0);
    }
  /* Below the rising line near the left edge only grid or white. */
  uint32_t v = px(&im, map_x(&a, 1.0), map_y(&a, 500.0));
  assert_true(v == 0xffffff || v == 0xe0e0e0);
  /* Ink of the title above the plot, none in a blank corner. */
  int ink = 0, corner = 0;
  for (int yy = 8; yy < 30; yy++)
    for (int xx = ML; xx < ML + 120; xx++) {
      uint32_t c = px(&im, xx, yy);
      ink += (c >> 16 & 0xff) < 0x80 && (c >> 8 & 0xff) < 0x80 && (c & 0xff) < 0x80;
    }
  for (int yy = 0; yy < 6; yy++)
    for (int xx = W - 60; xx < W; xx++)
      corner += px(&im, xx, yy) != 0xffffff;
  assert_true(ink > 50);
  assert_int_equal(corner, 0);
  /* Legend swatches above the plot, in the series' colours. */
  assert_true(near(&im, ML + 9, 41, 1, c0));
  int sw1 = 0;
  for (int xx = ML + 30; xx < W; xx++)
    sw1 += px(&im, xx, 41) == c1;
  assert_true(sw1 >= 15);
  cairo_surface_destroy(im.sf);
}

static void test_spike_and_gap(void **state)
{
  (void)state;
  /* 100 000 samples on ~800 columns: a single 1-sample spike must still
   * reach its pixel row; a NaN run leaves a gap. */
  size_t n = 100000;
  double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
  assert_non_null(x);
  assert_non_null(y);
  for (size_t i = 0; i < n; i++) {
    x[i] = (double)i;
    y[i] = 10.0 + sin((double)i * 0.001);
  }
  y[54321] = 50.0;
  for (size_t i = 20000; i < 30000; i++)
    y[i] = NAN;
  const double *ys[1] = {y};
  assert_int_equal(hr__chart_png_write(in_dir("c.png"), "spike", "x", "y", x, ys, NULL, 1, n),
                   HR_OK);
  img_t im = read_png(in_dir("c.png"));
  assert_non_null(im.sf);
  hr__chart_axes_t a;
  assert_int_equal(hr__chart_axes_fit(x, ys, 1, n, &a), HR_OK);
  uint32_t c0 = hr__chart_colors[0];
  assert_true(near(&im, map_x(&a, 54321.0), map_y(&a, 50.0), 2, c0));
  /* In the gap the column holds only white and grid (no line, and no
   * anti-aliased fringe of one). */
  for (int yy = MT; yy < MT + PH; yy++) {
    uint32_t v = px(&im, map_x(&a, 25000.0), yy);
    assert_true(v == 0xffffff || v == 0xe0e0e0);
  }
  int outside = 0;
  for (int yy = MT; yy < MT + PH; yy++)
    outside += px(&im, map_x(&a, 15000.0), yy) == c0;
  assert_true(outside > 0);
  cairo_surface_destroy(im.sf);
  free(x);
  free(y);
}

static void test_refusals(void **state)
{
  (void)state;
  const char *path = in_dir("c.png");
  double x[3] = {0, 1, 2}, y[3] = {1, 2, 3}, nan3[3] = {NAN, NAN, NAN};
  const double *ys[1] = {y}, *yn[1] = {nan3};
  assert_int_equal(hr__chart_png_write(NULL, "t", "x", "y", x, ys, NULL, 1, 3), HR_ERR_INVALID_ARG);
  assert_int_equal(hr__chart_png_write(path, "t", "x", "y", x, ys, NULL, 1, 1), HR_ERR_INVALID_ARG);
  assert_int_equal(hr__chart_png_write(path, "t", "x", "y", x, yn, NULL, 1, 3), HR_ERR_INVALID_ARG);
  assert_int_equal(hr__chart_png_write(path, "t", "x", "y", x, ys, NULL, 0, 3), HR_ERR_INVALID_ARG);
  assert_int_equal(hr__chart_png_write(path, "t", "x", "y", NULL, ys, NULL, 1, 3),
                   HR_ERR_INVALID_ARG);
  assert_int_equal(access(path, F_OK), -1);
  /* Write failures: HR_ERR_IO with errno saying why, and no file left. */
  errno = 0;
  assert_int_equal(hr__chart_png_write("/nonexistent-dir/x.png", "t", "x", "y", x, ys, NULL, 1, 3),
                   HR_ERR_IO);
  assert_int_equal(errno, ENOENT);
  errno = 0;
  assert_int_equal(hr__chart_svg_write("/nonexistent-dir/x.svg", "t", "x", "y", x, ys, NULL, 1, 3),
                   HR_ERR_IO);
  assert_int_equal(errno, ENOENT);
  if (access("/dev/full", W_OK) == 0) {
    errno = 0;
    assert_int_equal(hr__chart_png_write("/dev/full", "t", "x", "y", x, ys, NULL, 1, 3), HR_ERR_IO);
    assert_int_equal(errno, ENOSPC);
    errno = 0;
    assert_int_equal(hr__chart_svg_write("/dev/full", "t", "x", "y", x, ys, NULL, 1, 3), HR_ERR_IO);
    assert_int_equal(errno, ENOSPC);
    /* A failed chart is removed, but never a device. */
    struct stat st;
    assert_int_equal(stat("/dev/full", &st), 0);
    assert_true(S_ISCHR(st.st_mode));
  }
  /* A flat series and odd bytes in labels still draw. */
  double flat[3] = {5, 5, 5};
  const double *yf[1] = {flat};
  assert_int_equal(hr__chart_png_write(path, "t\xc3\xa9", "x\n", "y", x, yf, NULL, 1, 3), HR_OK);
  img_t im = read_png(path);
  assert_non_null(im.sf);
  cairo_surface_destroy(im.sf);
}

/* ---- SVG ----------------------------------------------------------------- */

/* Runs tests/cli/svgcheck.py on path: 0 and its output (the series lines)
 * in out when Python parses the file, -1 when it does not. */
static int svgcheck(const char *path, char *out, size_t cap)
{
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "%s %s/tests/cli/svgcheck.py '%s'", HR_PYTHON, HR_SOURCE_DIR, path);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  size_t k = 0, got;
  while (k + 1 < cap && (got = fread(out + k, 1, cap - 1 - k, p)) > 0)
    k += got;
  out[k] = '\0';
  return pclose(p) == 0 ? 0 : -1;
}

static void test_svg_points_match_data(void **state)
{
  (void)state;
  /* Points no three of which are collinear (cairo merges collinear
   * segments), fewer than the plot's columns (so none is reduced away). */
  enum { N = 300 };
  double x[N], y[N];
  for (int i = 0; i < N; i++) {
    x[i] = 2.0 * i;
    y[i] = 1000.0 + 300.0 * sin(0.05 * i) + 40.0 * cos(0.7 * i);
  }
  y[100] = NAN; /* a break: the line is two paths' worth of points */
  const double *ys[1] = {y};
  const char *nm[1] = {"power"};
  assert_int_equal(hr__chart_svg_write(in_dir("c.svg"), "SVG <test> & \"chart\"", "time [s]",
                                       "power [W]", x, ys, nm, 1, N),
                   HR_OK);
  static char out[1 << 20];
  assert_int_equal(svgcheck(in_dir("c.svg"), out, sizeof out), 0);
  hr__chart_axes_t a;
  assert_int_equal(hr__chart_axes_fit(x, ys, 1, N, &a), HR_OK);
  char want_col[8];
  snprintf(want_col, sizeof want_col, "%06x", (unsigned)hr__chart_colors[0]);
  /* One line of output, the series: colour, then points in data order,
   * NaN skipped; each the pixel centre of its data point. */
  assert_int_equal(strncmp(out, want_col, 6), 0);
  assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1);
  const char *s = out + 6;
  int i = 0, pts = 0;
  double px, py;
  int used;
  while (sscanf(s, " %lf,%lf%n", &px, &py, &used) == 2) {
    s += used;
    if (i == 100)
      i++;
    assert_true(i < N);
    double wx = ML + (x[i] - a.x0) / (a.x1 - a.x0) * (PW - 1) + 0.5;
    double wy = MT + PH - 1 - (y[i] - a.y0) / (a.y1 - a.y0) * (PH - 1) + 0.5;
    /* cairo keeps coordinates in 24.8 fixed point: 1/256 pixel. */
    if (fabs(px - wx) > 0.01 || fabs(py - wy) > 0.01)
      fail_msg("point %d: (%.4f, %.4f), data at (%.4f, %.4f)", i, px, py, wx, wy);
    i++;
    pts++;
  }
  assert_int_equal(pts, N - 1);
}

static void test_chart_bad_x_refused(void **state)
{
  (void)state;
  double y[4] = {1, 2, 3, 4};
  const double *ys[1] = {y};
  const double bad[][4] = {
      {0, INFINITY, 2, 3},       /* interior infinity: was written as "inf" */
      {0, NAN, 2, 3},            /* interior NaN */
      {0, -INFINITY, 2, 3},      /* interior -inf */
      {0, 1e12, 2, 3},           /* out of order, far outside [x0, x1]: a PNG line of 1e11 pixels */
      {0, 2, 1, 3},              /* out of order */
      {-DBL_MAX, 0, 1, DBL_MAX}, /* a span that overflows */
  };
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    assert_int_equal(hr__chart_svg_write(in_dir("c.svg"), "t", "x", "y", bad[k], ys, NULL, 1, 4),
                     HR_ERR_INVALID_ARG);
    assert_int_equal(access(in_dir("c.svg"), F_OK), -1); /* nothing written */
    assert_int_equal(hr__chart_png_write(in_dir("c.png"), "t", "x", "y", bad[k], ys, NULL, 1, 4),
                     HR_ERR_INVALID_ARG);
    assert_int_equal(access(in_dir("c.png"), F_OK), -1);
  }
  /* y values whose padded span overflows. */
  double x[2] = {0, 1}, yb[2] = {-DBL_MAX, DBL_MAX};
  const double *ysb[1] = {yb};
  assert_int_equal(hr__chart_svg_write(in_dir("c.svg"), "t", "x", "y", x, ysb, NULL, 1, 2),
                   HR_ERR_INVALID_ARG);
  /* Equal neighbouring x (a CDF's ties) are fine; a NaN y is a gap. */
  double xt[4] = {0, 1, 1, 2}, yn[4] = {1, NAN, 2, 3};
  const double *ysn[1] = {yn};
  assert_int_equal(hr__chart_svg_write(in_dir("c.svg"), "t", "x", "y", xt, ysn, NULL, 1, 4), HR_OK);
  assert_int_equal(hr__chart_png_write(in_dir("c.png"), "t", "x", "y", xt, ysn, NULL, 1, 4), HR_OK);
}

/* Both charts of (x, y) written and sane: the SVG parses and holds no
 * non-finite number, the PNG decodes. */
static void both_sane(const double *x, const double *y, size_t n)
{
  const double *ys[1] = {y};
  const char *nm[1] = {"s"};
  assert_int_equal(hr__chart_svg_write(in_dir("c.svg"), "t", "x", "y", x, ys, nm, 1, n), HR_OK);
  static char out[1 << 16];
  assert_int_equal(svgcheck(in_dir("c.svg"), out, sizeof out), 0);
  assert_null(strstr(out, "nan"));
  assert_null(strstr(out, "inf"));
  assert_int_equal(hr__chart_png_write(in_dir("c.png"), "t", "x", "y", x, ys, nm, 1, n), HR_OK);
  img_t im = read_png(in_dir("c.png"));
  assert_non_null(im.sf);
  cairo_surface_destroy(im.sf);
}

static void test_chart_tick_loops_end(void **state)
{
  (void)state;
  /* x from 1e20 to the next double: the step (2000) is below half an ulp
   * (8192), so `v += step` never moved. */
  double x[2] = {1e20, nextafter(1e20, INFINITY)}, y[2] = {1, 2};
  both_sane(x, y, 2);
  /* x up to DBL_MAX: the loop's bound x1 + 1e-9 step overflowed to inf,
   * and so did the last tick. */
  double xm[2] = {1e308, DBL_MAX};
  both_sane(xm, y, 2);
  /* The same for y (a flat series near DBL_MAX is refused: its padded span
   * overflows; one a little lower is drawn). */
  double yf[2] = {1e307, 1e307}, yt[2] = {1e20, nextafter(1e20, INFINITY)};
  both_sane(x, yf, 2);
  both_sane(xm, yt, 2);
}

static void test_chart_ticks_bounded(void **state)
{
  (void)state;
  double v[HR__CHART_MAX_TICKS];
  /* An ordinary axis: 0, 2, ..., 10. */
  int n = hr__chart_ticks(0.0, 10.0, 2.0, v);
  assert_int_equal(n, 6);
  assert_true(v[0] == 0.0 && v[5] == 10.0);
  /* A step below an ulp: one tick, not an endless run of equal ones. */
  n = hr__chart_ticks(1e20, nextafter(1e20, INFINITY), 2000.0, v);
  assert_true(n >= 0 && n <= 2);
  /* Near DBL_MAX: every tick finite. */
  n = hr__chart_ticks(1e308, DBL_MAX, 2e307, v);
  assert_true(n >= 1 && n <= HR__CHART_MAX_TICKS);
  for (int i = 0; i < n; i++)
    assert_true(isfinite(v[i]) && v[i] >= 1e308);
  /* Degenerate steps give none. */
  assert_int_equal(hr__chart_ticks(0.0, 1.0, 0.0, v), 0);
  assert_int_equal(hr__chart_ticks(0.0, 1.0, NAN, v), 0);
  assert_int_equal(hr__chart_ticks(0.0, 1.0, INFINITY, v), 0);
}

static void test_chart_strings(void **state)
{
  (void)state;
  double x[3] = {0, 1, 2}, y[3] = {1, 3, 2};
  const double *ys[1] = {y};
  /* Control characters, markup, stray bytes, a surrogate, a euro sign, and
   * a title far longer than a line: cairo refuses a string that is not
   * UTF-8 (the chart would fail), so each reaches it cleaned. */
  char longt[4096];
  memset(longt, 'W', sizeof longt - 1);
  longt[sizeof longt - 1] = '\0';
  longt[HR__CHART_TEXT_MAX - 1] = '\xe2'; /* a character cut by the limit */
  longt[HR__CHART_TEXT_MAX] = '\x82';
  longt[HR__CHART_TEXT_MAX + 1] = '\xac';
  const char *titles[] = {"a\x01"
                          "b\x1b[31m<c>&\"d\"\tz\r\n\x7f",
                          longt, "", NULL};
  const char *nm[1] = {"n\xff\xc3(\xed\xa0\x80\xe2\x82\xac"};
  for (size_t k = 0; k < sizeof titles / sizeof titles[0]; k++) {
    assert_int_equal(
        hr__chart_svg_write(in_dir("c.svg"), titles[k], titles[k], "\xc3", x, ys, nm, 1, 3), HR_OK);
    static char out[1 << 16];
    assert_int_equal(svgcheck(in_dir("c.svg"), out, sizeof out), 0);
    assert_int_equal(
        hr__chart_png_write(in_dir("c.png"), titles[k], titles[k], "\xc3", x, ys, nm, 1, 3), HR_OK);
    img_t im = read_png(in_dir("c.png"));
    assert_non_null(im.sf);
    cairo_surface_destroy(im.sf);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_line_where_expected, setup, teardown),
      cmocka_unit_test_setup_teardown(test_spike_and_gap, setup, teardown),
      cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
      cmocka_unit_test_setup_teardown(test_svg_points_match_data, setup, teardown),
      cmocka_unit_test_setup_teardown(test_chart_bad_x_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_chart_tick_loops_end, setup, teardown),
      cmocka_unit_test_setup_teardown(test_chart_ticks_bounded, setup, teardown),
      cmocka_unit_test_setup_teardown(test_chart_strings, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
