/* plan module: minimal SVG line charts for the study reports (no library
 * needed to view them: any browser renders SVG). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "plan/plan_int.h"

#define W 800.0
#define H 450.0
#define ML 80.0
#define MR 20.0
#define MT 40.0
#define MB 55.0
#define BUCKETS 1000

static const char *const colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                     "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};

static void text_esc(FILE *f, const char *s)
{
  for (; s && *s; s++) {
    if (*s == '<')
      fputs("&lt;", f);
    else if (*s == '>')
      fputs("&gt;", f);
    else if (*s == '&')
      fputs("&amp;", f);
    else if (*s == '"')
      fputs("&quot;", f);
    else
      fputc(*s, f);
  }
}

/* A "nice" tick step near range / 5: 1, 2 or 5 times a power of ten. */
static double tick_step(double range)
{
  double raw = range / 5.0, p = pow(10.0, floor(log10(raw))), r = raw / p;
  return (r < 1.5 ? 1.0 : r < 3.5 ? 2.0 : r < 7.5 ? 5.0 : 10.0) * p;
}

int hr_plan_svg_write(const char *path, const char *title, const char *xlabel, const char *ylabel,
                      const double *x, const double *const *y, const char *const *names,
                      int nseries, size_t n)
{
  if (!path || !x || !y || nseries < 1 || n < 2)
    return HR_ERR_INVALID_ARG;
  double x0 = x[0], x1 = x[n - 1], y0 = INFINITY, y1 = -INFINITY;
  for (int k = 0; k < nseries; k++)
    for (size_t i = 0; i < n; i++)
      if (isfinite(y[k][i])) {
        y0 = fmin(y0, y[k][i]);
        y1 = fmax(y1, y[k][i]);
      }
  if (!isfinite(y0) || !(x1 > x0))
    return HR_ERR_INVALID_ARG;
  if (y1 - y0 < 1e-9 * (fabs(y1) + 1.0)) {
    y0 -= 0.5 * (fabs(y0) + 1.0) * 0.1;
    y1 += 0.5 * (fabs(y1) + 1.0) * 0.1;
  }
  double pad = 0.05 * (y1 - y0);
  y0 -= pad;
  y1 += pad;
  FILE *f = fopen(path, "w");
  if (!f)
    return HR_ERR_IO;
#define PX(v) (ML + ((v) - x0) / (x1 - x0) * (W - ML - MR))
#define PY(v) (H - MB - ((v) - y0) / (y1 - y0) * (H - MT - MB))
  fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
             "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" "
             "fill=\"white\"/>\n<text x=\"%.0f\" y=\"24\" font-size=\"15\">",
          W, H, ML);
  text_esc(f, title);
  fprintf(f, "</text>\n");
  /* Ticks and grid. */
  double sx = tick_step(x1 - x0), sy = tick_step(y1 - y0);
  for (double v = ceil(x0 / sx) * sx; v <= x1 + 1e-9 * sx; v += sx)
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
               "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n",
            PX(v), MT, PX(v), H - MB, PX(v), H - MB + 16, v);
  for (double v = ceil(y0 / sy) * sy; v <= y1 + 1e-9 * sy; v += sy)
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
               "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
            ML, PY(v), W - MR, PY(v), ML - 6, PY(v) + 4, v);
  fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" "
             "stroke=\"black\"/>\n",
          ML, MT, W - ML - MR, H - MT - MB);
  fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">", (ML + W - MR) / 2, H - 12);
  text_esc(f, xlabel);
  fprintf(f, "</text>\n<text transform=\"translate(18,%.0f) rotate(-90)\" "
             "text-anchor=\"middle\">",
          (MT + H - MB) / 2);
  text_esc(f, ylabel);
  fprintf(f, "</text>\n");
  size_t per = n > BUCKETS ? (n + BUCKETS - 1) / BUCKETS : 1;
  for (int k = 0; k < nseries; k++) {
    const char *col = colors[k % (int)(sizeof colors / sizeof colors[0])];
    fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.2\" points=\"", col);
    for (size_t b = 0; b < n; b += per) {
      size_t e = b + per < n ? b + per : n, imin = b, imax = b;
      for (size_t i = b; i < e; i++) {
        if (y[k][i] < y[k][imin])
          imin = i;
        if (y[k][i] > y[k][imax])
          imax = i;
      }
      size_t first = imin < imax ? imin : imax, second = imin < imax ? imax : imin;
      if (isfinite(y[k][first]))
        fprintf(f, "%.1f,%.1f ", PX(x[first]), PY(y[k][first]));
      if (second != first && isfinite(y[k][second]))
        fprintf(f, "%.1f,%.1f ", PX(x[second]), PY(y[k][second]));
    }
    fprintf(f, "\"/>\n");
    if (names && names[k]) {
      double ly = MT + 16 + 16 * k;
      fprintf(f, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"%s\" "
                 "stroke-width=\"2\"/><text x=\"%.0f\" y=\"%.1f\">",
              W - MR - 150, ly - 4, W - MR - 130, ly - 4, col, W - MR - 125, ly);
      text_esc(f, names[k]);
      fprintf(f, "</text>\n");
    }
  }
#undef PX
#undef PY
  fprintf(f, "</svg>\n");
  return fclose(f) == 0 ? HR_OK : HR_ERR_IO;
}
