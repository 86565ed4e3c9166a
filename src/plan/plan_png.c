/* plan module: the study charts as PNG (what the issue asks for; SVG is
 * written too).  The chart is rendered into an RGB raster here, with the
 * 5x7 font of plan_font.c, and only the encoding is left to libpng. */
#include <errno.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan/plan_int.h"

enum {
  W = HR__PLAN_PNG_W,
  H = HR__PLAN_PNG_H,
  ML = HR__PLAN_PNG_ML,
  MR = HR__PLAN_PNG_MR,
  MT = HR__PLAN_PNG_MT,
  MB = HR__PLAN_PNG_MB,
  PW = W - ML - MR, /* plot width and height, pixels */
  PH = H - MT - MB
};

#define INK 0x202020u
#define GRID 0xe0e0e0u

typedef struct canvas {
  unsigned char *rgb; /* W x H, row-major */
  int x0, y0, x1, y1; /* clip rectangle, [x0, x1) x [y0, y1) */
} canvas_t;

static void put(canvas_t *c, int x, int y, uint32_t col)
{
  if (x < c->x0 || x >= c->x1 || y < c->y0 || y >= c->y1)
    return;
  unsigned char *p = c->rgb + 3 * ((size_t)y * W + (size_t)x);
  p[0] = (unsigned char)(col >> 16);
  p[1] = (unsigned char)(col >> 8);
  p[2] = (unsigned char)col;
}

static void fill(canvas_t *c, int x, int y, int w, int h, uint32_t col)
{
  for (int j = y; j < y + h; j++)
    for (int i = x; i < x + w; i++)
      put(c, i, j, col);
}

/* Bresenham with a square pen of `pen` pixels (its top-left on the line),
 * so lines stay the series' exact colour: no blending to test around. */
static void line(canvas_t *c, int xa, int ya, int xb, int yb, int pen, uint32_t col)
{
  int dx = abs(xb - xa), sx = xa < xb ? 1 : -1, dy = -abs(yb - ya), sy = ya < yb ? 1 : -1;
  int err = dx + dy;
  for (;;) {
    fill(c, xa, ya, pen, pen, col);
    if (xa == xb && ya == yb)
      break;
    int e2 = 2 * err;
    if (e2 >= dy) {
      err += dy;
      xa += sx;
    }
    if (e2 <= dx) {
      err += dx;
      ya += sy;
    }
  }
}

/* A series segment between pixel positions (xa, ya) and (xb, yb), cut to
 * the clip rectangle (Liang-Barsky) before it is rasterised: the line
 * costs what its visible part does, however far outside an end lies, and
 * no coordinate beyond int reaches lround. */
static void clipped_line(canvas_t *c, double xa, double ya, double xb, double yb, uint32_t col)
{
  /* The pen is 2 pixels with its top-left on the line: half a pixel of
   * slack on each side keeps the rounded end points where they were. */
  double lo_x = c->x0 - 0.5, hi_x = c->x1 - 0.5, lo_y = c->y0 - 0.5, hi_y = c->y1 - 0.5;
  double dx = xb - xa, dy = yb - ya, t0 = 0.0, t1 = 1.0;
  const double p[4] = {-dx, dx, -dy, dy};
  const double q[4] = {xa - lo_x, hi_x - xa, ya - lo_y, hi_y - ya};
  for (int i = 0; i < 4; i++) {
    if (p[i] == 0.0) {
      if (q[i] < 0.0)
        return; /* parallel to this edge and outside it */
      continue;
    }
    double r = q[i] / p[i];
    if (p[i] < 0.0) {
      if (r > t1)
        return;
      if (r > t0)
        t0 = r;
    } else {
      if (r < t0)
        return;
      if (r < t1)
        t1 = r;
    }
  }
  if (!(t0 <= t1)) /* NaN from an infinite end: nothing to draw */
    return;
  line(c, (int)lround(xa + t0 * dx), (int)lround(ya + t0 * dy), (int)lround(xa + t1 * dx),
       (int)lround(ya + t1 * dy), 2, col);
}

/* Text in the 5x7 font, `scale` pixels per font pixel, 6 x scale per
 * character; (x, y) is the top-left.  vertical: reads bottom to top with
 * (x, y) the bottom-left.  Characters outside ASCII 32..126 draw as '?'. */
static void text(canvas_t *c, int x, int y, const char *s, int scale, int vertical, uint32_t col)
{
  for (; s && *s; s++) {
    int ch = (unsigned char)*s;
    const unsigned char *g = hr__plan_font5x7[(ch >= 32 && ch <= 126 ? ch : '?') - 32];
    for (int r = 0; r < 7; r++)
      for (int k = 0; k < 5; k++)
        if (g[r] & (0x10 >> k)) {
          if (vertical)
            fill(c, x + r * scale, y - (k + 1) * scale, scale, scale, col);
          else
            fill(c, x + k * scale, y + r * scale, scale, scale, col);
        }
    if (vertical)
      y -= 6 * scale;
    else
      x += 6 * scale;
  }
}

static int text_w(const char *s, int scale)
{
  size_t n = s ? strlen(s) : 0;
  return n ? (int)n * 6 * scale - scale : 0;
}

/* A tick label: %g, with values within rounding of zero shown as 0. */
static void tick_label(char *buf, size_t cap, double v, double step)
{
  if (fabs(v) < 1e-9 * step)
    v = 0.0;
  snprintf(buf, cap, "%g", v);
}

static void draw(canvas_t *c, const hr__plan_axes_t *a, const char *title, const char *xlabel,
                 const char *ylabel, const double *x, const double *const *y,
                 const char *const *names, int nseries, size_t n, size_t *idx)
{
  memset(c->rgb, 0xff, (size_t)W * H * 3);
#define PX(v) (ML + ((v) - a->x0) / (a->x1 - a->x0) * (PW - 1))
#define PY(v) (MT + PH - 1 - ((v) - a->y0) / (a->y1 - a->y0) * (PH - 1))
  char buf[64];
  /* Grid and tick labels. */
  double tv[HR__PLAN_CHART_MAX_TICKS];
  int nt = hr__plan_chart_ticks(a->x0, a->x1, a->xstep, tv);
  for (int i = 0; i < nt; i++) {
    double v = tv[i];
    int px = (int)lround(PX(v));
    fill(c, px, MT, 1, PH, GRID);
    fill(c, px, MT + PH, 1, 5, INK);
    tick_label(buf, sizeof buf, v, a->xstep);
    text(c, px - text_w(buf, 1) / 2, MT + PH + 8, buf, 1, 0, INK);
  }
  nt = hr__plan_chart_ticks(a->y0, a->y1, a->ystep, tv);
  for (int i = 0; i < nt; i++) {
    double v = tv[i];
    int py = (int)lround(PY(v));
    fill(c, ML, py, PW, 1, GRID);
    fill(c, ML - 5, py, 5, 1, INK);
    tick_label(buf, sizeof buf, v, a->ystep);
    text(c, ML - 8 - text_w(buf, 1), py - 3, buf, 1, 0, INK);
  }
  /* Frame, one pixel outside the plot. */
  fill(c, ML - 1, MT - 1, PW + 2, 1, INK);
  fill(c, ML - 1, MT + PH, PW + 2, 1, INK);
  fill(c, ML - 1, MT - 1, 1, PH + 2, INK);
  fill(c, ML + PW, MT - 1, 1, PH + 2, INK);
  /* Title, axis labels, and the legend in one row above the plot (outside
   * it, so it never hides data). */
  text(c, ML, 10, title, 2, 0, INK);
  text(c, ML + (PW - text_w(xlabel, 1)) / 2, H - 14, xlabel, 1, 0, INK);
  text(c, 10, MT + (PH + text_w(ylabel, 1)) / 2, ylabel, 1, 1, INK);
  int lx = ML;
  for (int k = 0; k < nseries && names; k++) {
    if (!names[k])
      continue;
    uint32_t col = hr__plan_chart_colors[k % HR__PLAN_CHART_NCOLORS];
    fill(c, lx, 40, 18, 3, col);
    text(c, lx + 22, 38, names[k], 1, 0, INK);
    lx += 22 + text_w(names[k], 1) + 16;
  }
  /* Series, clipped to the plot; a non-finite value breaks the line. */
  c->x0 = ML;
  c->y0 = MT;
  c->x1 = ML + PW;
  c->y1 = MT + PH;
  for (int k = 0; k < nseries; k++) {
    uint32_t col = hr__plan_chart_colors[k % HR__PLAN_CHART_NCOLORS];
    size_t m = hr__plan_chart_reduce(y[k], n, PW, idx);
    int have = 0;
    double px0 = 0.0, py0 = 0.0;
    for (size_t j = 0; j < m; j++) {
      double v = y[k][idx[j]];
      if (!isfinite(v) || !isfinite(x[idx[j]])) {
        have = 0;
        continue;
      }
      double px = PX(x[idx[j]]), py = PY(v);
      clipped_line(c, have ? px0 : px, have ? py0 : py, px, py, col);
      px0 = px;
      py0 = py;
      have = 1;
    }
  }
#undef PX
#undef PY
}

int hr_plan_png_write(const char *path, const char *title, const char *xlabel, const char *ylabel,
                      const double *x, const double *const *y, const char *const *names,
                      int nseries, size_t n)
{
  hr__plan_axes_t a;
  if (!path)
    return HR_ERR_INVALID_ARG;
  int rc = hr__plan_axes_fit(x, y, nseries, n, &a);
  if (rc != HR_OK)
    return rc;
  canvas_t c = {malloc((size_t)W * H * 3), 0, 0, W, H};
  size_t *idx = malloc(2 * (size_t)PW * sizeof *idx);
  if (!c.rgb || !idx) {
    free(c.rgb);
    free(idx);
    return HR_ERR_NOMEM;
  }
  draw(&c, &a, title, xlabel, ylabel, x, y, names, nseries, n, idx);
  free(idx);
  /* libpng's simplified API keeps its messages in the image (it prints
   * nothing), which is what a library needs. */
  png_image img;
  memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  img.width = W;
  img.height = H;
  img.format = PNG_FORMAT_RGB;
  int ok = png_image_write_to_file(&img, path, 0, c.rgb, 0, NULL);
  /* libpng leaves errno as the failed fopen, write or close set it; the
   * caller reports why from it (plan.h). */
  int e = errno;
  png_image_free(&img);
  free(c.rgb);
  errno = e;
  return ok ? HR_OK : HR_ERR_IO;
}
