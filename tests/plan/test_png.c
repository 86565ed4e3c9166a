/* plan PNG charts: files decode (read back through libpng), have the size
 * and colours the writer promises, and data land on the pixels the axis
 * mapping says: a line where it should be, white where nothing is drawn, a
 * one-sample spike kept by the per-column reduction, gaps at NaN. */
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "headroom/plan.h"
#include "plan/plan_int.h"

#define W HR__PLAN_PNG_W
#define H HR__PLAN_PNG_H
#define ML HR__PLAN_PNG_ML
#define MT HR__PLAN_PNG_MT
#define PW (HR__PLAN_PNG_W - HR__PLAN_PNG_ML - HR__PLAN_PNG_MR)
#define PH (HR__PLAN_PNG_H - HR__PLAN_PNG_MT - HR__PLAN_PNG_MB)

static char path[256];

static int setup(void **state)
{
  (void)state;
  snprintf(path, sizeof path, "/tmp/hr_test_png_%ld.png", (long)getpid());
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  remove(path);
  return 0;
}

/* Reads path back as RGB; NULL when it does not decode. */
static unsigned char *read_png(unsigned *w, unsigned *h)
{
  png_image img;
  memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&img, path))
    return NULL;
  img.format = PNG_FORMAT_RGB;
  unsigned char *buf = malloc(PNG_IMAGE_SIZE(img));
  if (!buf || !png_image_finish_read(&img, NULL, buf, 0, NULL)) {
    free(buf);
    png_image_free(&img);
    return NULL;
  }
  *w = img.width;
  *h = img.height;
  return buf;
}

static uint32_t px(const unsigned char *rgb, int x, int y)
{
  const unsigned char *p = rgb + 3 * ((size_t)y * W + (size_t)x);
  return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

/* Whether colour col is within d pixels of (x, y). */
static int near(const unsigned char *rgb, int x, int y, int d, uint32_t col)
{
  for (int j = y - d; j <= y + d; j++)
    for (int i = x - d; i <= x + d; i++)
      if (i >= 0 && i < W && j >= 0 && j < H && px(rgb, i, j) == col)
        return 1;
  return 0;
}

static int map_x(const hr__plan_axes_t *a, double v)
{
  return (int)lround(ML + (v - a->x0) / (a->x1 - a->x0) * (PW - 1));
}

static int map_y(const hr__plan_axes_t *a, double v)
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
  assert_int_equal(hr_plan_png_write(path, "Test chart", "time [s]", "power [W]", x, ys, nm, 2, N),
                   HR_OK);
  unsigned w, h;
  unsigned char *rgb = read_png(&w, &h);
  assert_non_null(rgb);
  assert_int_equal(w, W);
  assert_int_equal(h, H);
  hr__plan_axes_t a;
  assert_int_equal(hr__plan_axes_fit(x, ys, 2, N, &a), HR_OK);
  /* The padding puts the extremes 5 % of the span inside the frame. */
  assert_true(fabs(a.y0 - 75.0) < 1e-9 && fabs(a.y1 - 625.0) < 1e-9);
  uint32_t c0 = hr__plan_chart_colors[0], c1 = hr__plan_chart_colors[1];
  /* Every 5th sample of the rising line, except where the flat series
   * (drawn after it) crosses at 300 W. */
  int hits = 0, want = 0;
  for (int i = 0; i < N; i += 5)
    if (i != 40) {
      want++;
      hits += near(rgb, map_x(&a, x[i]), map_y(&a, up[i]), 1, c0);
    }
  assert_int_equal(hits, want);
  /* The flat series: a horizontal line at 300 W, nothing of it elsewhere. */
  int yf = map_y(&a, 300.0);
  for (int xx = ML + 10; xx < ML + PW - 10; xx += 37)
    assert_true(near(rgb, xx, yf, 1, c1));
  for (int yy = MT + 5; yy < MT + PH - 5; yy += 3)
    if (abs(yy - yf) > 3)
      assert_false(px(rgb, ML + PW / 2, yy) == c1);
  /* Below the rising line near the left edge only grid or white. */
  uint32_t v = px(rgb, map_x(&a, 1.0), map_y(&a, 500.0));
  assert_true(v == 0xffffff || v == 0xe0e0e0);
  /* Ink of the title and the legend above the plot, none in a blank corner. */
  int ink = 0, corner = 0;
  for (int yy = 8; yy < 26; yy++)
    for (int xx = ML; xx < ML + 120; xx++)
      ink += px(rgb, xx, yy) == 0x202020;
  for (int yy = 0; yy < 8; yy++)
    for (int xx = W - 60; xx < W; xx++)
      corner += px(rgb, xx, yy) != 0xffffff;
  assert_true(ink > 50);
  assert_int_equal(corner, 0);
  assert_true(near(rgb, ML + 9, 41, 1, c0)); /* legend swatch of series 0 */
  free(rgb);
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
  assert_int_equal(hr_plan_png_write(path, "spike", "x", "y", x, ys, NULL, 1, n), HR_OK);
  unsigned w, h;
  unsigned char *rgb = read_png(&w, &h);
  assert_non_null(rgb);
  hr__plan_axes_t a;
  assert_int_equal(hr__plan_axes_fit(x, ys, 1, n, &a), HR_OK);
  uint32_t c0 = hr__plan_chart_colors[0];
  assert_true(near(rgb, map_x(&a, 54321.0), map_y(&a, 50.0), 2, c0));
  int in_gap = 0;
  for (int yy = MT; yy < MT + PH; yy++)
    in_gap += px(rgb, map_x(&a, 25000.0), yy) == c0;
  assert_int_equal(in_gap, 0);
  int outside = 0;
  for (int yy = MT; yy < MT + PH; yy++)
    outside += px(rgb, map_x(&a, 15000.0), yy) == c0;
  assert_true(outside > 0);
  free(rgb);
  free(x);
  free(y);
}

static void test_refusals(void **state)
{
  (void)state;
  double x[3] = {0, 1, 2}, y[3] = {1, 2, 3}, nan3[3] = {NAN, NAN, NAN};
  const double *ys[1] = {y}, *yn[1] = {nan3};
  assert_int_equal(hr_plan_png_write(NULL, "t", "x", "y", x, ys, NULL, 1, 3), HR_ERR_INVALID_ARG);
  assert_int_equal(hr_plan_png_write(path, "t", "x", "y", x, ys, NULL, 1, 1), HR_ERR_INVALID_ARG);
  assert_int_equal(hr_plan_png_write(path, "t", "x", "y", x, yn, NULL, 1, 3), HR_ERR_INVALID_ARG);
  assert_int_equal(hr_plan_png_write(path, "t", "x", "y", x, ys, NULL, 0, 3), HR_ERR_INVALID_ARG);
  assert_int_equal(hr_plan_png_write("/nonexistent-dir/x.png", "t", "x", "y", x, ys, NULL, 1, 3),
                   HR_ERR_IO);
  /* A flat series and odd bytes in labels still draw. */
  double flat[3] = {5, 5, 5};
  const double *yf[1] = {flat};
  assert_int_equal(hr_plan_png_write(path, "t\xc3\xa9", "x\n", "y", x, yf, NULL, 1, 3), HR_OK);
  unsigned w, h;
  unsigned char *rgb = read_png(&w, &h);
  assert_non_null(rgb);
  free(rgb);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_line_where_expected, setup, teardown),
      cmocka_unit_test_setup_teardown(test_spike_and_gap, setup, teardown),
      cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
