/* plan module: minimal SVG line charts for the study reports (no library
 * needed to view them: any browser renders SVG). */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan/plan_int.h"

#define W 800.0
#define H 450.0
#define ML 80.0
#define MR 20.0
#define MT 40.0
#define MB 55.0
#define BUCKETS 1000

/* Length of the well-formed UTF-8 sequence at s if it encodes a character
 * XML 1.0 allows, else 0 (stray or truncated bytes, overlong forms,
 * surrogates, U+FFFE/U+FFFF, beyond U+10FFFF).  s[0] >= 0x80. */
static size_t utf8_xml_len(const unsigned char *s)
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

/* Writes s as XML character data.  Markup characters are escaped; what no
 * XML 1.0 document may hold (control characters, bytes that are not UTF-8)
 * becomes '?', as the PNG's font draws it, and a tab or line break a space
 * (the labels are one line), so the file stays well-formed whatever the
 * caller's strings hold. */
static void text_esc(FILE *f, const char *str)
{
  const unsigned char *s = (const unsigned char *)str;
  while (s && *s) {
    unsigned c = *s;
    if (c >= 0x80) {
      size_t n = utf8_xml_len(s);
      if (n == 0) {
        fputc('?', f);
        s++;
      } else {
        fwrite(s, 1, n, f);
        s += n;
      }
      continue;
    }
    if (c == '<')
      fputs("&lt;", f);
    else if (c == '>')
      fputs("&gt;", f);
    else if (c == '&')
      fputs("&amp;", f);
    else if (c == '"')
      fputs("&quot;", f);
    else if (c == '\t' || c == '\n' || c == '\r')
      fputc(' ', f);
    else if (c < 0x20 || c == 0x7f)
      fputc('?', f);
    else
      fputc((int)c, f);
    s++;
  }
}

int hr_plan_svg_write(const char *path, const char *title, const char *xlabel, const char *ylabel,
                      const double *x, const double *const *y, const char *const *names,
                      int nseries, size_t n)
{
  hr__plan_axes_t a;
  if (!path)
    return HR_ERR_INVALID_ARG;
  int rc = hr__plan_axes_fit(x, y, nseries, n, &a);
  if (rc != HR_OK)
    return rc;
  size_t *idx = malloc(2 * (size_t)BUCKETS * sizeof *idx);
  if (!idx)
    return HR_ERR_NOMEM;
  double x0 = a.x0, x1 = a.x1, y0 = a.y0, y1 = a.y1;
  FILE *f = fopen(path, "w");
  if (!f) {
    int e = errno; /* the caller reports why (plan.h) */
    free(idx);
    errno = e;
    return HR_ERR_IO;
  }
#define PX(v) (ML + ((v) - x0) / (x1 - x0) * (W - ML - MR))
#define PY(v) (H - MB - ((v) - y0) / (y1 - y0) * (H - MT - MB))
  fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
             "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" "
             "fill=\"white\"/>\n<text x=\"%.0f\" y=\"24\" font-size=\"15\">",
          W, H, ML);
  text_esc(f, title);
  fprintf(f, "</text>\n");
  /* Ticks and grid. */
  double tv[HR__PLAN_CHART_MAX_TICKS];
  int nt = hr__plan_chart_ticks(x0, x1, a.xstep, tv);
  for (int i = 0; i < nt; i++) {
    double v = tv[i];
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
               "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n",
            PX(v), MT, PX(v), H - MB, PX(v), H - MB + 16, v);
  }
  nt = hr__plan_chart_ticks(y0, y1, a.ystep, tv);
  for (int i = 0; i < nt; i++) {
    double v = tv[i];
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
               "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
            ML, PY(v), W - MR, PY(v), ML - 6, PY(v) + 4, v);
  }
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
  for (int k = 0; k < nseries; k++) {
    char col[8];
    snprintf(col, sizeof col, "#%06x", (unsigned)hr__plan_chart_colors[k % HR__PLAN_CHART_NCOLORS]);
    fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.2\" points=\"", col);
    size_t m = hr__plan_chart_reduce(y[k], n, BUCKETS, idx);
    for (size_t j = 0; j < m; j++)
      if (isfinite(y[k][idx[j]]))
        fprintf(f, "%.1f,%.1f ", PX(x[idx[j]]), PY(y[k][idx[j]]));
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
  free(idx);
  /* A write that failed before the close leaves only the error flag; the
   * flush repeats a failed write of the buffer, so errno says why. */
  int bad = fflush(f) != 0 || ferror(f) != 0, e = errno;
  if (fclose(f) != 0 && !bad) {
    bad = 1;
    e = errno;
  }
  errno = e;
  return bad ? HR_ERR_IO : HR_OK;
}
