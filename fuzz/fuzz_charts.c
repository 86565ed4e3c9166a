/* libFuzzer harness for the command's chart writers (hr__chart_svg_write,
 * hr__chart_png_write in src/cli/report_chart.c, drawn with cairo) and the
 * study statistics the charts and reports show
 * (hr_plan_utility_compute, hr_plan_oversub_sample, hr_plan_block_mean).
 *
 * Input: byte 0 the number of series (1..4, or 0 for a bad count), byte 1
 * the number of points (0..255), then the title, axis labels and series
 * names (NUL-terminated strings, any bytes), then x and every series
 * (doubles: NaN, infinities, 1e308, denormals, -0, raw bits, or steps of an
 * ordinary ramp).
 *
 * Checks: a refused chart gives HR_ERR_INVALID_ARG (or HR_ERR_NOMEM) and
 * leaves no file behind; an accepted one is a complete SVG (an XML
 * declaration, ends with </svg>, never prints "nan" or "inf", every other
 * '<' opens a tag, no control characters) and a PNG with its signature and
 * 900 x 500 header; a write takes well under a second of CPU.  A chart whose x holds a
 * NaN, an infinity or a decrease is refused by both writers; the finite x
 * are then sorted and the chart written again, so that drawing is fuzzed.  The statistics never
 * crash; for finite series the oversubscription quantiles are ordered and the exceedance
 * probability is in [0, 1]. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "headroom/plan.h"
#include "report_chart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* CPU time of this thread [s]: a drawing loop that runs away shows in it, a
 * loaded machine does not (the wall clock tripped the check at 1 s under
 * load on an input that takes 0.1 s). */
static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static char *take_str(hr_fz_t *f, char *buf, size_t cap)
{
  size_t k = 0;
  while (hr_fz_left(f)) {
    uint8_t c = hr_fz_u8(f);
    if (c == 0)
      break;
    if (k + 1 < cap)
      buf[k++] = (char)c;
  }
  buf[k] = '\0';
  return buf;
}

static char *slurp(const char *path, size_t *n)
{
  FILE *fp = fopen(path, "rb");
  if (!fp)
    return NULL;
  size_t cap = 1 << 16, k = 0;
  char *b = malloc(cap);
  for (size_t got; b && (got = fread(b + k, 1, cap - k - 1, fp)) > 0;) {
    k += got;
    if (k + 1 == cap) {
      char *p = realloc(b, cap * 2);
      if (!p)
        abort();
      b = p;
      cap *= 2;
    }
  }
  fclose(fp);
  if (b)
    b[k] = '\0';
  *n = k;
  return b;
}

static void check_svg(const char *path)
{
  size_t n;
  char *s = slurp(path, &n);
  if (!s)
    abort();
  const char *end = "</svg>\n";
  if (n < strlen(end) || strcmp(s + n - strlen(end), end) != 0)
    abort();
  /* cairo's SVG surface starts with the XML declaration, the only '<' not
   * followed by a tag name. */
  const char *decl = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  if (strncmp(s, decl, strlen(decl)) != 0)
    abort();
  int in_tag = 0;
  for (size_t i = strlen(decl); i < n; i++) {
    if (s[i] == '<') {
      if (in_tag || !(s[i + 1] == '/' || (s[i + 1] >= 'a' && s[i + 1] <= 'z')))
        abort();
      in_tag = 1;
    } else if (s[i] == '>') {
      in_tag = 0;
    } else if (in_tag && (strncmp(s + i, "nan", 3) == 0 || strncmp(s + i, "inf", 3) == 0)) {
      /* A non-finite coordinate (tags hold only the writer's numbers; a
       * non-finite x is refused: fuzz/reproducers/svg-infinite-interior-x). */
      abort();
    }
    /* Control characters would make the file ill-formed XML (cairo draws
     * the labels as outlines, but a glyph name or a stray byte must not
     * leak into the file). */
    if ((unsigned char)s[i] < 0x20 && s[i] != '\n' && s[i] != '\t' && s[i] != '\r')
      abort();
  }
  free(s);
}

static void check_png(const char *path)
{
  static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  size_t n;
  unsigned char *s = (unsigned char *)slurp(path, &n);
  if (!s || n < 24 || memcmp(s, sig, 8) != 0 || memcmp(s + 12, "IHDR", 4) != 0)
    abort();
  unsigned w = (unsigned)s[16] << 24 | (unsigned)s[17] << 16 | (unsigned)s[18] << 8 | s[19];
  unsigned h = (unsigned)s[20] << 24 | (unsigned)s[21] << 16 | (unsigned)s[22] << 8 | s[23];
  if (w != 900 || h != 500)
    abort();
  free(s);
}

static void stats(const double *const *y, int ns, size_t n, hr_fz_t *f)
{
  for (int k = 0; k < ns; k++) {
    hr_plan_utility_t u;
    int rc = hr_plan_utility_compute(y[k], n, 0.25, &u);
    if (rc != HR_OK && rc != HR_ERR_INVALID_ARG)
      abort();
  }
  /* The series as racks (row-major, n samples each). */
  if (n == 0)
    return;
  double *racks = malloc((size_t)ns * n * sizeof *racks);
  if (!racks)
    abort();
  int fin = 1;
  for (int k = 0; k < ns; k++) {
    memcpy(racks + (size_t)k * n, y[k], n * sizeof *racks);
    for (size_t i = 0; i < n; i++)
      fin = fin && isfinite(y[k][i]);
  }
  int draw = (int)hr_fz_range(f, 0, ns + 1);
  int samples = (int)hr_fz_range(f, 0, 64);
  double cap = hr_fz_double(f, 1000.0);
  hr_plan_oversub_t o;
  int rc = hr_plan_oversub_sample(racks, ns, n, draw, samples, cap, 7, &o);
  if (rc == HR_OK) {
    if (fin && (!(o.peak_p05_w <= o.peak_p50_w && o.peak_p50_w <= o.peak_p95_w &&
                  o.peak_p95_w <= o.peak_max_w) ||
                !(o.exceed_prob >= 0.0 && o.exceed_prob <= 1.0)))
      abort();
  } else if (rc != HR_ERR_INVALID_ARG) {
    abort();
  }
  double *bm = malloc((n + 1) * sizeof *bm);
  if (!bm)
    abort();
  size_t m = 1 + (size_t)hr_fz_range(f, 0, 9);
  if (hr_plan_block_mean(y[0], n, m, bm) != (n + m - 1) / m &&
      hr_plan_block_mean(y[0], n, m, bm) != n / m)
    abort();
  free(bm);
  free(racks);
}

static int cmp_double(const void *a, const void *b)
{
  double u = *(const double *)a, v = *(const double *)b;
  return (u > v) - (u < v);
}

/* Both writers on one chart, and what their results must be. */
static void charts(const char *title, const char *xl, const char *yl, const double *x,
                   const double *const *y, const char *const *nm, int ns, size_t n)
{
  int x_finite = 1;
  for (size_t i = 0; i < n; i++)
    x_finite = x_finite && isfinite(x[i]);
  if (getenv("HR_FUZZ_VERBOSE") && n > 0)
    fprintf(stderr, "n %zu series %d x[0] %.17g x[n-1] %.17g\n", n, ns, x[0], x[n - 1]);
  const char *dir = hr_fz_tmpdir();
  char svg[256], png[256];
  snprintf(svg, sizeof svg, "%s/c.svg", dir);
  snprintf(png, sizeof png, "%s/c.png", dir);
  unlink(svg);
  unlink(png);
  double t0 = now_s();
  int rs = hr__chart_svg_write(svg, title, xl, yl, x, y, nm, ns, n);
  int rp = hr__chart_png_write(png, title, xl, yl, x, y, nm, ns, n);
  if (now_s() - t0 > 1.0)
    abort();
  /* Any x NaN, infinite or out of order is refused by both writers (an
   * interior one was written as "inf", or drew a line of hundreds of
   * millions of pixels: fuzz/reproducers/svg-infinite-interior-x,
   * png-unsorted-x-long-line). */
  int x_sorted = 1;
  for (size_t i = 1; i < n; i++)
    x_sorted = x_sorted && !(x[i] < x[i - 1]);
  if ((!x_finite || !x_sorted) && (rs != HR_ERR_INVALID_ARG || rp != HR_ERR_INVALID_ARG))
    abort();
  if (rs == HR_OK)
    check_svg(svg);
  else if (rs != HR_ERR_INVALID_ARG || access(svg, F_OK) == 0)
    abort();
  if (rp == HR_OK)
    check_png(png);
  else if ((rp != HR_ERR_INVALID_ARG && rp != HR_ERR_NOMEM) || access(png, F_OK) == 0)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  hr_fz_t f = hr_fz_init(data, size);
  int ns = hr_fz_u8(&f) % 5;
  size_t n = hr_fz_u8(&f);
  char title[128], xl[64], yl[64], names[4][32];
  take_str(&f, title, sizeof title);
  take_str(&f, xl, sizeof xl);
  take_str(&f, yl, sizeof yl);
  const char *nm[4];
  for (int k = 0; k < 4; k++)
    nm[k] = take_str(&f, names[k], sizeof names[k]);
  double x[256], yv[4][256];
  const double *y[4] = {yv[0], yv[1], yv[2], yv[3]};
  for (size_t i = 0; i < n; i++)
    x[i] = hr_fz_left(&f) ? hr_fz_double(&f, (double)i) : (double)i;
  for (int k = 0; k < 4; k++)
    for (size_t i = 0; i < n; i++)
      yv[k][i] = hr_fz_left(&f) ? hr_fz_double(&f, 1000.0) : 1000.0 + (double)(i % 17) * k;

  charts(title, xl, yl, x, y, nm, ns, n);
  /* Unsorted x are refused, so the drawing is fuzzed with the finite x
   * sorted as well. */
  double fx[256], xs[256];
  size_t nf = 0;
  for (size_t i = 0; i < n; i++)
    if (isfinite(x[i]))
      fx[nf++] = x[i];
  qsort(fx, nf, sizeof fx[0], cmp_double);
  for (size_t i = 0, k = 0; i < n; i++)
    xs[i] = isfinite(x[i]) ? fx[k++] : x[i];
  if (memcmp(xs, x, n * sizeof x[0]) != 0)
    charts(title, xl, yl, xs, y, nm, ns, n);
  if (ns > 0)
    stats(y, ns, n, &f);
  return 0;
}
