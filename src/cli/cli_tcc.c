/* The time-current chart of lease check (cli_tcc.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli_opt.h"
#include "cli_tcc.h"
#include "cli_util.h"

/* Plot area and axes: decades of current multiples and of seconds. */
enum { W = 900, H = 640, ML = 80, MR = 220, MT = 50, MB = 60 };
static const double X_LO = 0.8, X_HI = 1000.0; /* x rated */
static const double T_LO = 1e-3, T_HI = 1e5;   /* s */

static double px(double m)
{
  return ML + (log10(m) - log10(X_LO)) / (log10(X_HI) - log10(X_LO)) * (W - ML - MR);
}

static double py(double t)
{
  return H - MB - (log10(t) - log10(T_LO)) / (log10(T_HI) - log10(T_LO)) * (H - MT - MB);
}

static void text_escaped(FILE *f, const char *s)
{
  for (; *s; s++) {
    switch (*s) {
    case '<':
      fputs("&lt;", f);
      break;
    case '>':
      fputs("&gt;", f);
      break;
    case '&':
      fputs("&amp;", f);
      break;
    case '"':
      fputs("&quot;", f);
      break;
    default:
      fputc(*s, f);
      break;
    }
  }
}

static const char *const colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
                                     "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"};

int cli_tcc_svg(const char *path, const char *prefix, const char *title, const cli_tcc_dev_t *devs,
                int n_devs, double loop_s, double rule, const double *levels, int n_levels)
{
  FILE *f = cli_is_stdio(path) ? stdout : fopen(path, "w");
  if (!f) {
    fprintf(stderr, "%s: %s: %s\n", prefix, path, strerror(errno));
    return -1;
  }
  fprintf(f,
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
          "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n",
          W, H, W, H);
  fprintf(f, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", W, H);
  fprintf(f, "<text x=\"%d\" y=\"24\" font-size=\"15\">", ML);
  text_escaped(f, title);
  fprintf(f, "</text>\n");
  /* Grid: decades, with the 2x and 5x lines lighter. */
  for (double d = 1.0; d <= X_HI; d *= 10)
    for (int k = 1; k <= 9; k++) {
      double m = d * k;
      if (m < X_LO || m > X_HI)
        continue;
      fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\"/>\n", px(m), MT,
              px(m), H - MB, k == 1 ? "#bbb" : "#eee");
      if (k == 1 || k == 2 || k == 5)
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>\n", px(m),
                H - MB + 16, m);
    }
  for (double t = T_LO; t <= T_HI * 1.0001; t *= 10) {
    fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#bbb\"/>\n", ML, py(t),
            W - MR, py(t));
    fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g s</text>\n", ML - 6, py(t) + 4, t);
  }
  fprintf(f,
          "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
          "stroke=\"black\"/>\n",
          ML, MT, W - ML - MR, H - MT - MB);
  fprintf(f,
          "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">current, multiple of the "
          "device rating</text>\n",
          (ML + W - MR) / 2, H - 18);
  fprintf(f,
          "<text transform=\"translate(18 %d) rotate(-90)\" text-anchor=\"middle\">time "
          "to trip from cold</text>\n",
          (MT + H - MB) / 2);
  /* The overload levels checked. */
  for (int j = 0; j < n_levels; j++) {
    if (levels[j] < X_LO || levels[j] > X_HI)
      continue;
    fprintf(f,
            "<line class=\"level\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
            "stroke=\"#555\" stroke-dasharray=\"2 4\"/>\n",
            px(levels[j]), MT, px(levels[j]), H - MB);
    fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" fill=\"#555\">%gx</text>\n",
            px(levels[j]), MT - 4, levels[j]);
  }
  /* The loop: its latency, and the latest time to trip it can act on. */
  const double t_act = rule > 0 ? loop_s / rule : loop_s;
  if (loop_s >= T_LO && loop_s <= T_HI)
    fprintf(f,
            "<line class=\"loop\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
            "stroke=\"black\" stroke-width=\"2\"/>\n"
            "<text x=\"%d\" y=\"%.1f\">loop %.0f ms</text>\n",
            ML, py(loop_s), W - MR, py(loop_s), W - MR + 6, py(loop_s) + 4, loop_s * 1e3);
  if (t_act >= T_LO && t_act <= T_HI && t_act != loop_s)
    fprintf(f,
            "<line class=\"act\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
            "stroke=\"black\" stroke-dasharray=\"8 4\"/>\n"
            "<text x=\"%d\" y=\"%.1f\">loop / %.2f = %.0f ms</text>\n",
            ML, py(t_act), W - MR, py(t_act), W - MR + 6, py(t_act) + 4, rule, t_act * 1e3);
  /* One trip curve per device, sampled on a log grid of currents; a point
   * off the chart or that never trips ends a segment. */
  for (int d = 0; d < n_devs; d++) {
    const char *c = colors[d % (int)(sizeof colors / sizeof colors[0])];
    int open = 0;
    for (int k = 0; k <= 400; k++) {
      double m = X_LO * pow(X_HI / X_LO, k / 400.0);
      double t = hr_device_trip_time(devs[d].cfg, m * devs[d].rated_a);
      int in = isfinite(t) && t >= T_LO && t <= T_HI;
      if (in && !open) {
        fprintf(f,
                "<polyline class=\"curve\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
                "points=\"",
                c);
        open = 1;
      } else if (!in && open) {
        fprintf(f, "\"/>\n");
        open = 0;
      }
      if (in)
        fprintf(f, "%.1f,%.1f ", px(m), py(t));
    }
    if (open)
      fprintf(f, "\"/>\n");
    int ly = MT + 40 + 18 * d;
    fprintf(f,
            "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" "
            "stroke-width=\"2\"/>\n<text x=\"%d\" y=\"%d\">",
            W - MR + 6, ly, W - MR + 26, ly, c, W - MR + 30, ly + 4);
    text_escaped(f, devs[d].id);
    fprintf(f, "</text>\n");
  }
  fprintf(f, "</svg>\n");
  if (f == stdout)
    return ferror(f) ? -1 : 0; /* checked again, with its reason, in main() */
  return cli_close_out(f, prefix, path);
}
