/* headroom plan: power-trace generation for LLM inference (docs/plan.md).
 *
 *   headroom plan workload  [--csv FILE [--map T,IN,OUT[,UNIT_S]] | --arrival ...]
 *   headroom plan metrics   [--dt S] [--ramp-dt S] GT GEN [GT GEN ...]
 *   headroom plan train     --data DIR --out MODEL [--lut CSV]
 *   headroom plan fidelity  [--data DIR] [--lut CSV] [--split batch|model|both] [--seed N]
 *
 * Errors name the file, line and column; exit codes as in cli.h. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "headroom/plan.h"

#ifndef HR_PLAN_DEFAULT_DATA
#define HR_PLAN_DEFAULT_DATA "../shared/data"
#endif

static void usage(FILE *to)
{
  fprintf(to,
          "usage: headroom plan <subcommand> [options]\n\n"
          "subcommands:\n"
          "  workload  load a request trace or generate one; print a summary or --out CSV\n"
          "            --csv FILE [--map TIME,IN,OUT[,UNIT_S]]   replay (Azure format by default)\n"
          "            --arrival poisson|bursty|diurnal --rate R --seconds S [--cv C]\n"
          "            [--min-rate R --max-rate R --period S --peak S] [--seed N]\n"
          "            [--lengths-from FILE] [--out FILE]\n"
          "  metrics   fidelity metrics of generated vs measured series (one value per line)\n"
          "            [--dt S (0.1)] [--ramp-dt S (1)] GT GEN [GT GEN ...]; prints JSON\n"
          "  train     --data DIR --out MODEL [--lut CSV] [--seed N]: fit all power models\n"
          "  fidelity  [--data DIR] [--lut CSV] [--split batch|model|both] [--seed N]\n"
          "            [--model-file MODEL]: the held-out fidelity table of every method\n"
          "  generate  --model-file MODEL --model LABEL --gpus G --batch B --seconds S\n"
          "            [--method NAME] [--seed N]: one replica's power at 0.1 s as CSV\n");
}

static int parse_num(const char *opt, const char *s, double *v)
{
  char *end;
  errno = 0;
  double x = strtod(s, &end);
  if (end == s || *end != '\0' || errno == ERANGE || !isfinite(x)) {
    fprintf(stderr, "headroom plan: %s: not a number: '%s'\n", opt, s);
    return 0;
  }
  *v = x;
  return 1;
}

static void report_load_error(const char *path, int rc, const hr_plan_error_t *e)
{
  if (e->line > 0 && e->column > 0)
    fprintf(stderr, "%s:%ld:%d: %s (%s)\n", path, e->line, e->column, e->text, hr_err_name(rc));
  else if (e->line > 0)
    fprintf(stderr, "%s:%ld: %s (%s)\n", path, e->line, e->text, hr_err_name(rc));
  else
    fprintf(stderr, "%s: %s (%s)\n", path, e->text[0] ? e->text : hr_strerror(rc),
            hr_err_name(rc));
}

/* ------------------------------------------------------------- workload */

static int split_map(char *s, hr_plan_csv_map_t *m)
{
  char *f[4] = {0};
  int n = 0;
  for (char *p = s; n < 4;) {
    f[n++] = p;
    char *c = strchr(p, ',');
    if (!c)
      break;
    *c = '\0';
    p = c + 1;
  }
  if (n < 3)
    return 0;
  m->time_col = f[0];
  m->in_col = f[1];
  m->out_col = f[2];
  m->time_unit_s = 1.0;
  if (n == 4 && !parse_num("--map", f[3], &m->time_unit_s))
    return 0;
  return m->time_unit_s > 0.0;
}

static int cmd_workload(int argc, char **argv)
{
  const char *csv = NULL, *out = NULL, *lengths = NULL;
  char *mapstr = NULL;
  hr_plan_gen_cfg_t cfg;
  hr_plan_gen_cfg_default(&cfg);
  for (int i = 1; i < argc; i++) {
    const char *o = argv[i];
    if (strcmp(o, "--help") == 0) {
      usage(stdout);
      return 0;
    }
    if (i + 1 >= argc) {
      fprintf(stderr, "headroom plan workload: unknown option or missing value: %s\n", o);
      return 2;
    }
    const char *v = argv[++i];
    double x = 0;
    if (strcmp(o, "--csv") == 0)
      csv = v;
    else if (strcmp(o, "--map") == 0)
      mapstr = argv[i];
    else if (strcmp(o, "--out") == 0)
      out = v;
    else if (strcmp(o, "--lengths-from") == 0)
      lengths = v;
    else if (strcmp(o, "--arrival") == 0) {
      if (strcmp(v, "poisson") == 0)
        cfg.arrival = HR_PLAN_ARRIVAL_POISSON;
      else if (strcmp(v, "bursty") == 0)
        cfg.arrival = HR_PLAN_ARRIVAL_BURSTY;
      else if (strcmp(v, "diurnal") == 0)
        cfg.arrival = HR_PLAN_ARRIVAL_DIURNAL;
      else {
        fprintf(stderr, "headroom plan workload: --arrival: poisson, bursty or diurnal\n");
        return 2;
      }
    } else if (!parse_num(o, v, &x))
      return 2;
    else if (strcmp(o, "--rate") == 0)
      cfg.rate_per_s = x;
    else if (strcmp(o, "--seconds") == 0)
      cfg.duration_s = x;
    else if (strcmp(o, "--cv") == 0)
      cfg.burst_cv = x;
    else if (strcmp(o, "--min-rate") == 0)
      cfg.min_rate_per_s = x;
    else if (strcmp(o, "--max-rate") == 0)
      cfg.max_rate_per_s = x;
    else if (strcmp(o, "--period") == 0)
      cfg.period_s = x;
    else if (strcmp(o, "--peak") == 0)
      cfg.peak_t_s = x;
    else if (strcmp(o, "--seed") == 0)
      cfg.seed = (uint64_t)x;
    else {
      fprintf(stderr, "headroom plan workload: unknown option %s\n", o);
      return 2;
    }
  }
  hr_plan_csv_map_t map, *mp = NULL;
  if (mapstr) {
    if (!split_map(mapstr, &map)) {
      fprintf(stderr, "headroom plan workload: --map TIME,IN,OUT[,UNIT_S]\n");
      return 2;
    }
    mp = &map;
  }
  hr_plan_workload_t *w = NULL, *src = NULL;
  hr_plan_error_t e = {0};
  int rc;
  if (csv) {
    if ((rc = hr_plan_workload_load_csv(csv, mp, &w, &e)) != HR_OK) {
      report_load_error(csv, rc, &e);
      return 1;
    }
  } else {
    if (lengths) {
      if ((rc = hr_plan_workload_load_csv(lengths, mp, &src, &e)) != HR_OK) {
        report_load_error(lengths, rc, &e);
        return 1;
      }
      cfg.lengths_from = src;
    }
    rc = hr_plan_workload_generate(&cfg, &w);
    if (rc != HR_OK) {
      fprintf(stderr, "headroom plan workload: %s\n", hr_strerror(rc));
      hr_plan_workload_destroy(src);
      return rc == HR_ERR_INVALID_ARG ? 2 : 1;
    }
  }
  if (out) {
    FILE *f = strcmp(out, "-") == 0 ? stdout : fopen(out, "w");
    if (!f) {
      fprintf(stderr, "%s: cannot write\n", out);
      rc = 1;
      goto done;
    }
    fprintf(f, "t_s,in_tokens,out_tokens\n");
    for (size_t i = 0; i < w->n; i++)
      fprintf(f, "%.6f,%d,%d\n", w->req[i].t_s, (int)w->req[i].in_tokens,
              (int)w->req[i].out_tokens);
    if (f != stdout && fclose(f) != 0) {
      fprintf(stderr, "%s: write failed\n", out);
      rc = 1;
      goto done;
    }
  }
  double span = w->n ? w->req[w->n - 1].t_s : 0.0;
  double si = 0, so = 0;
  for (size_t i = 0; i < w->n; i++) {
    si += w->req[i].in_tokens;
    so += w->req[i].out_tokens;
  }
  fprintf(out && strcmp(out, "-") == 0 ? stderr : stdout,
          "{\"requests\":%zu,\"span_s\":%.6f,\"rate_per_s\":%.6f,\"mean_in_tokens\":%.3f,"
          "\"mean_out_tokens\":%.3f}\n",
          w->n, span, span > 0 ? (double)(w->n - 1) / span : 0.0, w->n ? si / (double)w->n : 0.0,
          w->n ? so / (double)w->n : 0.0);
  rc = 0;
done:
  hr_plan_workload_destroy(w);
  hr_plan_workload_destroy(src);
  return rc;
}

/* -------------------------------------------------------------- metrics */

/* Reads one number per line (the last comma-separated field, so a
 * two-column CSV with a header works too). */
static int read_series(const char *path, double **out, size_t *n)
{
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "%s: cannot read\n", path);
    return 0;
  }
  char line[512];
  size_t cap = 0, k = 0;
  long ln = 0;
  double *v = NULL;
  while (fgets(line, sizeof line, f)) {
    ln++;
    char *s = strrchr(line, ',');
    s = s ? s + 1 : line;
    char *end;
    double x = strtod(s, &end);
    while (*end == ' ' || *end == '\r' || *end == '\n' || *end == '\t')
      end++;
    if (end == s || *end != '\0') {
      if (ln == 1)
        continue; /* a header */
      fprintf(stderr, "%s:%ld: not a number\n", path, ln);
      free(v);
      fclose(f);
      return 0;
    }
    if (k == cap) {
      cap = cap ? cap * 2 : 1024;
      double *p = realloc(v, cap * sizeof *p);
      if (!p) {
        free(v);
        fclose(f);
        return 0;
      }
      v = p;
    }
    v[k++] = x;
  }
  fclose(f);
  *out = v;
  *n = k;
  return 1;
}

static void json_num(FILE *f, const char *key, double v, int comma)
{
  if (isfinite(v))
    fprintf(f, "\"%s\":%.12g%s", key, v, comma ? "," : "");
  else
    fprintf(f, "\"%s\":null%s", key, comma ? "," : "");
}

static int cmd_metrics(int argc, char **argv)
{
  double dt = 0.1, ramp_dt = 1.0;
  const char *files[256];
  int nf = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--dt") == 0 && i + 1 < argc) {
      if (!parse_num("--dt", argv[++i], &dt))
        return 2;
    } else if (strcmp(argv[i], "--ramp-dt") == 0 && i + 1 < argc) {
      if (!parse_num("--ramp-dt", argv[++i], &ramp_dt))
        return 2;
    } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
      fprintf(stderr, "headroom plan metrics: unknown option %s\n", argv[i]);
      return 2;
    } else if (nf < 256) {
      files[nf++] = argv[i];
    }
  }
  if (nf == 0 || nf % 2 != 0) {
    fprintf(stderr, "headroom plan metrics: give pairs of files: GT GEN [GT GEN ...]\n");
    return 2;
  }
  size_t m = (size_t)nf / 2;
  double *gt[128] = {0}, *gen[128] = {0};
  size_t len[128];
  int rc = 1;
  for (size_t k = 0; k < m; k++) {
    size_t na, nb;
    if (!read_series(files[2 * k], &gt[k], &na) || !read_series(files[2 * k + 1], &gen[k], &nb))
      goto done;
    len[k] = na < nb ? na : nb;
  }
  hr_plan_fidelity_t fd;
  int e = hr_plan_fidelity_compute((const double *const *)gt, (const double *const *)gen, len, m,
                                   dt, ramp_dt, &fd);
  if (e != HR_OK) {
    fprintf(stderr, "headroom plan metrics: %s\n", hr_strerror(e));
    rc = e == HR_ERR_INVALID_ARG ? 2 : 1;
    goto done;
  }
  printf("{");
  json_num(stdout, "energy_err_pct", fd.energy_err_pct, 1);
  json_num(stdout, "acf_r2", fd.acf_r2, 1);
  json_num(stdout, "ks", fd.ks, 1);
  json_num(stdout, "nrmse", fd.nrmse, 1);
  json_num(stdout, "p95_err_pct", fd.p95_err_pct, 1);
  json_num(stdout, "p99_err_pct", fd.p99_err_pct, 1);
  json_num(stdout, "ramp_gt_w_per_s", fd.ramp_gt_w_per_s, 1);
  json_num(stdout, "ramp_gen_w_per_s", fd.ramp_gen_w_per_s, 1);
  json_num(stdout, "ramp_p99_err_pct", fd.ramp_p99_err_pct, 1);
  printf("\"acf_gt\":[");
  for (size_t k = 0; k < m; k++) {
    double a[HR_PLAN_ACF_LAGS];
    hr_plan_acf(gt[k], len[k], HR_PLAN_ACF_LAGS, a);
    printf("%s[", k ? "," : "");
    for (int j = 0; j < HR_PLAN_ACF_LAGS; j++)
      printf(isfinite(a[j]) ? "%s%.12g" : "%snull", j ? "," : "", a[j]);
    printf("]");
  }
  printf("]}\n");
  rc = 0;
done:
  for (size_t k = 0; k < m; k++) {
    free(gt[k]);
    free(gen[k]);
  }
  return rc;
}

int cmd_plan(int argc, char **argv)
{
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const char *sub = argv[1];
  if (strcmp(sub, "workload") == 0)
    return cmd_workload(argc - 1, argv + 1);
  if (strcmp(sub, "metrics") == 0)
    return cmd_metrics(argc - 1, argv + 1);
  fprintf(stderr, "headroom plan: unknown subcommand '%s'\n", sub);
  usage(stderr);
  return 2;
}
