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
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cli_util.h"
#include "cmd_plan_desc.h"
#include "report_chart.h"
#include "headroom/plan.h"
#include "headroom/plan_desc.h"
#include "headroom/plan_gpu.h"

#ifndef HR_PLAN_DEFAULT_DATA
#define HR_PLAN_DEFAULT_DATA "../shared/data"
#endif

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

static void report_load_error(const char *path, int rc, const hr_diag_t *e)
{
  if (e->source[0]) { /* the file at fault is named (a request-driven run's) */
    char msg[1024];
    hr_diag_format(e, msg, sizeof msg);
    fprintf(stderr, "%s (%s)\n", msg, hr_err_name(rc));
    return;
  }
  if (e->line > 0 && e->column > 0)
    fprintf(stderr, "%s:%ld:%ld: %s (%s)\n", path, e->line, e->column, e->message, hr_err_name(rc));
  else if (e->line > 0)
    fprintf(stderr, "%s:%ld: %s (%s)\n", path, e->line, e->message, hr_err_name(rc));
  else
    fprintf(stderr, "%s: %s (%s)\n", path, e->message[0] ? e->message : hr_strerror(rc),
            hr_err_name(rc));
}

/* The output files of the studies (site, provision, oversub --out-dir) and
 * of fidelity (--csv, --dump): every failure names the file and the
 * system's reason on stderr, so that a full disk or an unwritable folder is
 * told apart from a bad option. */
static FILE *study_open(const char *path)
{
  FILE *f = fopen(path, "w");
  if (!f)
    fprintf(stderr, "%s: cannot create: %s\n", path, strerror(errno));
  return f;
}

/* Closes an output file; 1 when every write reached it, else 0 with the
 * file and the reason on stderr.  The error flag counts: a buffer that
 * failed to flush before the close is a lost write even when the close
 * succeeds; the flush repeats such a write, so errno is its reason. */
static int study_close(FILE *f, const char *path)
{
  errno = 0;
  int bad = fflush(f) != 0 || ferror(f) != 0, e = errno;
  if (fclose(f) != 0 && !bad) {
    bad = 1;
    e = errno;
  }
  if (bad)
    fprintf(stderr, "headroom plan: %s: write failed: %s\n", path,
            e ? strerror(e) : "an earlier write failed");
  return !bad;
}

/* -------------------------------------------------------------- options */

/* Every subcommand's options are a table of cli_opt_t (cli_opt.h), parsed by
 * the command line's one parser: --help, missing values, numbers, ranges
 * (docs/plan.md lists them) and unknown options are treated the same way
 * everywhere, and a refusal names the option and its range with exit 2
 * before any work. */
#define MAX_OPTS 72

/* Table rows, short: name, destination, value placeholder, help[, range]. */
#define OSTR(n, d, a, h)                                                                           \
  {                                                                                                \
    .name = (n), .kind = CLI_STR, .dst = (d), .arg = (a), .help = (h)                              \
  }
#define OFLAG(n, d, h)                                                                             \
  {                                                                                                \
    .name = (n), .kind = CLI_FLAG, .dst = (d), .help = (h)                                         \
  }
#define OU64(n, d, a, h)                                                                           \
  {                                                                                                \
    .name = (n), .kind = CLI_U64, .dst = (d), .arg = (a), .help = (h)                              \
  }
#define ODBL(n, d, a, h, lo, hi)                                                                   \
  {                                                                                                \
    .name = (n), .kind = CLI_DBL, .dst = (d), .arg = (a), .help = (h), CLI_RANGE(lo, hi)           \
  }
#define ODBL_GT(n, d, a, h, lo, hi)                                                                \
  {                                                                                                \
    .name = (n), .kind = CLI_DBL, .dst = (d), .arg = (a), .help = (h), CLI_RANGE_GT(lo, hi)        \
  }
#define OINT(n, d, a, h, lo, hi)                                                                   \
  {                                                                                                \
    .name = (n), .kind = CLI_INT, .dst = (d), .arg = (a), .help = (h), CLI_RANGE(lo, hi)           \
  }

/* Parses argv of `headroom plan SUB` against t[0..n).  Operands go to
 * pos[0..*npos) (at most maxpos).  Returns CLI_GO_ON or the exit status. */
static int plan_parse(const char *sub, const char *usage, const char *about, const cli_opt_t *t,
                      int n, int argc, char **argv, const char **pos, int maxpos, int *npos)
{
  char prog[64];
  snprintf(prog, sizeof prog, "headroom plan %s", sub);
  const cli_spec_t spec = {.prog = prog,
                           .usage = usage,
                           .about = about,
                           .opts = t,
                           .n_opts = n,
                           .max_operands = maxpos,
                           .epilog = "Other plan subcommands: workload, metrics, train, fidelity, "
                                     "generate,\nsite, provision, oversub (headroom plan --help); "
                                     "docs/plan.md."};
  return cli_parse(&spec, argc, argv, pos, npos);
}

/* Index of the power-model method called name, or -1. */
static int method_of(const char *name)
{
  for (int k = 0; k < HR_PLAN_METHOD_COUNT_; k++)
    if (strcmp(name, hr_plan_method_name((hr_plan_method_t)k)) == 0)
      return k;
  return -1;
}

/* Loads a model file; 0, or 1 after saying why. */
static int load_model(const char *path, hr_plan_model_t **m)
{
  hr_diag_t e = {0};
  int rc = hr_plan_model_load(path, m, &e);
  if (rc != HR_OK) {
    report_load_error(path, rc, &e);
    return 1;
  }
  return 0;
}

/* ------------------------------------------------------------- workload */

/* The options that say where requests come from, shared by `workload` and
 * the studies: a trace to replay (--csv, --map) or a generator. */
typedef struct wl_args {
  const char *csv, *map, *lengths, *arrival, *trace_format;
  int rate_given, seed_given;
  hr_plan_gen_cfg_t gen;
} wl_args_t;

/* Sets the defaults and appends the options to t; returns how many. */
static int wl_opts(cli_opt_t *t, wl_args_t *a)
{
  memset(a, 0, sizeof *a);
  hr_plan_gen_cfg_init(&a->gen);
  const cli_opt_t o[] = {
      {.kind = CLI_SECTION, .help = "workload (a trace to replay, or a generator)"},
      OSTR("--csv", &a->csv, "FILE",
           "request trace to replay, - for standard input: CSV (Azure\n"
           "format by default), JSON Lines when FILE ends in .jsonl"),
      OSTR("--trace-format", &a->trace_format, "auto|csv|jsonl",
           "format of --csv and --lengths-from (default auto: by the name)"),
      OSTR("--map", &a->map, "TIME,IN,OUT[,UNIT_S]", "the trace's column (key) names, time unit"),
      OSTR("--lengths-from", &a->lengths, "FILE",
           "generated requests draw (prompt, output) lengths from FILE"),
      OSTR("--arrival", &a->arrival, "poisson|bursty|diurnal", "arrival process (default poisson)"),
      {.name = "--rate",
       .kind = CLI_DBL,
       .dst = &a->gen.rate_per_s,
       .given = &a->rate_given,
       .arg = "R",
       .help = "mean arrival rate [1/s]",
       CLI_RANGE_GT(0, HR_PLAN_MAX_RATE_PER_S)},
      ODBL("--cv", &a->gen.burst_cv, "C", "bursty: coefficient of variation of the gaps", 1,
           HR_PLAN_MAX_BURST_CV),
      ODBL("--min-rate", &a->gen.min_rate_per_s, "R", "diurnal: lowest rate [1/s]", 0,
           HR_PLAN_MAX_RATE_PER_S),
      ODBL_GT("--max-rate", &a->gen.max_rate_per_s, "R", "diurnal: highest rate [1/s]", 0,
              HR_PLAN_MAX_RATE_PER_S),
      ODBL_GT("--period", &a->gen.period_s, "S", "diurnal: period [s]", 0, HR_PLAN_MAX_SECONDS),
      ODBL("--peak", &a->gen.peak_t_s, "S", "diurnal: time of the peak [s]", 0,
           HR_PLAN_MAX_SECONDS),
      {.name = "--seed",
       .kind = CLI_U64,
       .dst = &a->gen.seed,
       .given = &a->seed_given,
       .arg = "N",
       .help = "random seed (default 1)"},
  };
  memcpy(t, o, sizeof o);
  return (int)(sizeof o / sizeof o[0]);
}

/* --map TIME,IN,OUT[,UNIT_S] into m; the names point into buf. */
static int split_map(const char *s, char *buf, size_t cap, hr_plan_csv_map_t *m)
{
  char *f[4] = {0};
  int n = 0;
  if (strlen(s) >= cap)
    return 0;
  memcpy(buf, s, strlen(s) + 1);
  for (char *p = buf; n < 4;) {
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

/* Loads a trace: path "-" is standard input; fmt auto (by the name: .jsonl
 * is JSON Lines), csv or jsonl.  HR_OK or the library's error, with e set. */
static int wl_load(const char *path, const char *fmt, const hr_plan_csv_map_t *map,
                   hr_plan_workload_t **w, hr_diag_t *e)
{
  static const hr_plan_csv_map_t mooncake = {"timestamp", "input_length", "output_length", 1e-3};
  size_t n = strlen(path);
  int jsonl = fmt && strcmp(fmt, "auto") != 0 ? strcmp(fmt, "jsonl") == 0
                                              : n >= 6 && strcmp(path + n - 6, ".jsonl") == 0;
  if (!cli_is_stdio(path) && (!fmt || strcmp(fmt, "auto") == 0))
    return hr_plan_workload_load(path, map, w, e);
  char *buf = NULL;
  size_t len = 0;
  if (cli_read_all(path, &buf, &len) != 0) {
    memset(e, 0, sizeof *e);
    e->code = HR_ERR_IO;
    snprintf(e->source, sizeof e->source, "%s", path);
    snprintf(e->message, sizeof e->message, "cannot read: %s", strerror(errno));
    return HR_ERR_IO;
  }
  int rc = jsonl ? hr_plan_workload_parse_jsonl(buf, len, map ? map : &mooncake, w, e)
                 : hr_plan_workload_parse_csv(buf, len, map, w, e);
  free(buf);
  return rc;
}

static int wl_gen_cfg(const char *sub, wl_args_t *a, double duration_s, const hr_plan_csv_map_t *mp,
                      hr_plan_workload_t **src);

/* Replays --csv (with --map), or generates duration_s of requests (lengths
 * bootstrapped from --lengths-from, read with --map, when given) into *w.
 * Returns 0, or the exit status after saying why.  With keep non-NULL, generated
 * Poisson or diurnal arrivals are not drawn: *w stays NULL, a->gen is ready
 * for hr_plan_site_run_gen, and *keep holds what a->gen.lengths_from borrows
 * (NULL without --lengths-from; the caller destroys it). */
static int wl_get_ex(const char *sub, wl_args_t *a, double duration_s, hr_plan_workload_t **w,
                     hr_plan_workload_t **keep)
{
  char buf[1024];
  hr_plan_csv_map_t map, *mp = NULL;
  hr_diag_t e = {0};
  int rc;
  *w = NULL;
  if (a->trace_format && strcmp(a->trace_format, "auto") != 0 &&
      strcmp(a->trace_format, "csv") != 0 && strcmp(a->trace_format, "jsonl") != 0) {
    fprintf(stderr, "headroom plan %s: --trace-format: auto, csv or jsonl, got '%s'\n", sub,
            a->trace_format);
    return 2;
  }
  if (a->csv && a->lengths && cli_is_stdio(a->csv) && cli_is_stdio(a->lengths)) {
    fprintf(stderr,
            "headroom plan %s: --csv and --lengths-from cannot both read standard "
            "input\n",
            sub);
    return 2;
  }
  if (a->map) {
    if (!split_map(a->map, buf, sizeof buf, &map)) {
      fprintf(stderr, "headroom plan %s: --map TIME,IN,OUT[,UNIT_S]\n", sub);
      return 2;
    }
    mp = &map;
  }
  if (a->csv) {
    if ((rc = wl_load(a->csv, a->trace_format, mp, w, &e)) != HR_OK) {
      report_load_error(cli_is_stdio(a->csv) ? "stdin" : a->csv, rc, &e);
      return 1;
    }
    return 0;
  }
  hr_plan_workload_t *src = NULL;
  if ((rc = wl_gen_cfg(sub, a, duration_s, mp, &src)) != 0)
    return rc;
  if (keep && a->gen.arrival != HR_PLAN_ARRIVAL_BURSTY) {
    *keep = src;
    return 0;
  }
  rc = hr_plan_workload_generate(&a->gen, w);
  a->gen.lengths_from = NULL;
  hr_plan_workload_destroy(src);
  if (rc != HR_OK) {
    fprintf(stderr, "headroom plan %s: workload: %s\n", sub, hr_strerror(rc));
    return rc == HR_ERR_INVALID_ARG ? 2 : 1;
  }
  return 0;
}

/* The generator settings of a (arrival, duration, the lengths of
 * --lengths-from, loaded into *src: a->gen.lengths_from borrows it, and the
 * caller destroys it after the last draw); 0, or 1/2 after a message. */
static int wl_gen_cfg(const char *sub, wl_args_t *a, double duration_s, const hr_plan_csv_map_t *mp,
                      hr_plan_workload_t **src)
{
  hr_diag_t e = {0};
  int rc;
  *src = NULL;
  if (a->arrival) {
    if (strcmp(a->arrival, "poisson") == 0)
      a->gen.arrival = HR_PLAN_ARRIVAL_POISSON;
    else if (strcmp(a->arrival, "bursty") == 0)
      a->gen.arrival = HR_PLAN_ARRIVAL_BURSTY;
    else if (strcmp(a->arrival, "diurnal") == 0)
      a->gen.arrival = HR_PLAN_ARRIVAL_DIURNAL;
    else {
      fprintf(stderr, "headroom plan %s: --arrival: poisson, bursty or diurnal\n", sub);
      return 2;
    }
  }
  a->gen.duration_s = duration_s;
  double lam =
      a->gen.arrival == HR_PLAN_ARRIVAL_DIURNAL ? a->gen.max_rate_per_s : a->gen.rate_per_s;
  if (lam * duration_s > HR_PLAN_MAX_ARRIVALS) {
    fprintf(stderr, "headroom plan %s: --%s x the duration: %.3g arrivals to draw, at most %.0e\n",
            sub, a->gen.arrival == HR_PLAN_ARRIVAL_DIURNAL ? "max-rate" : "rate", lam * duration_s,
            HR_PLAN_MAX_ARRIVALS);
    return 2;
  }
  if (a->lengths) {
    /* Bootstrap (prompt, output) pairs from a trace, keeping their
     * correlation. */
    if ((rc = wl_load(a->lengths, a->trace_format, mp, src, &e)) != HR_OK) {
      report_load_error(cli_is_stdio(a->lengths) ? "stdin" : a->lengths, rc, &e);
      return 1;
    }
    a->gen.lengths_from = *src;
  }
  return 0;
}

static int wl_get(const char *sub, wl_args_t *a, double duration_s, hr_plan_workload_t **w)
{
  return wl_get_ex(sub, a, duration_s, w, NULL);
}

/* The JSON writers print a number that is not finite as null: JSON has no
 * inf or NaN, and every reader knows null (docs/formats.md). */
static void json_num(FILE *f, const char *key, double v, int comma)
{
  if (isfinite(v))
    fprintf(f, "\"%s\":%.12g%s", key, v, comma ? "," : "");
  else
    fprintf(f, "\"%s\":null%s", key, comma ? "," : "");
}

/* A JSON string: quotes, backslashes and control characters escaped. */
static void json_str(FILE *f, const char *v)
{
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
    if (*p == '"' || *p == '\\')
      fprintf(f, "\\%c", *p);
    else if (*p < 0x20)
      fprintf(f, "\\u%04x", *p);
    else
      fputc(*p, f);
  }
  fputc('"', f);
}

/* "key":v with prec decimals, or "key":null when v is not finite. */
static void json_fixed(FILE *f, const char *key, double v, int prec, int comma)
{
  if (isfinite(v))
    fprintf(f, "\"%s\":%.*f%s", key, prec, v, comma ? "," : "");
  else
    fprintf(f, "\"%s\":null%s", key, comma ? "," : "");
}

static int cmd_workload(int argc, char **argv)
{
  wl_args_t a;
  cli_opt_t t[MAX_OPTS];
  const char *out = NULL;
  int json = 1;
  int n = wl_opts(t, &a);
  t[n++] = (cli_opt_t){.kind = CLI_SECTION, .help = "output"};
  t[n++] = (cli_opt_t)ODBL_GT("--seconds", &a.gen.duration_s, "S", "generated duration [s]", 0,
                              HR_PLAN_MAX_SECONDS);
  t[n++] = (cli_opt_t)OSTR("--out", &out, "FILE",
                           "write the requests as CSV to FILE (- standard output: the\n"
                           "summary then goes to standard error)");
  t[n++] = (cli_opt_t)OFLAG("--json", &json, "the summary as JSON (the default and only form)");
  int rc = plan_parse("workload", "[--csv FILE|- [--map ...] | --arrival ...] [options]",
                      "Loads a request trace or generates one; prints a JSON summary, or the\n"
                      "requests as CSV with --out.",
                      t, n, argc, argv, NULL, 0, NULL);
  if (rc != CLI_GO_ON)
    return rc;
  hr_plan_workload_t *w;
  if ((rc = wl_get("workload", &a, a.gen.duration_s, &w)) != 0)
    return rc;
  if (out) {
    FILE *f = strcmp(out, "-") == 0 ? stdout : fopen(out, "w");
    if (!f) {
      fprintf(stderr, "headroom plan workload: --out %s: %s\n", out, strerror(errno));
      rc = 1;
      goto done;
    }
    fprintf(f, "t_s,in_tokens,out_tokens\n");
    for (size_t i = 0; i < w->n; i++)
      fprintf(f, "%.6f,%d,%d\n", w->req[i].t_s, (int)w->req[i].in_tokens,
              (int)w->req[i].out_tokens);
    /* Standard output is checked once, in main(). */
    if (f != stdout && cli_close_out(f, "headroom plan workload: --out", out) != 0) {
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
  FILE *js = out && strcmp(out, "-") == 0 ? stderr : stdout;
  fprintf(js, "{\"requests\":%zu,", w->n);
  json_fixed(js, "span_s", span, 6, 1);
  json_fixed(js, "rate_per_s", span > 0 ? (double)(w->n - 1) / span : 0.0, 6, 1);
  json_fixed(js, "mean_in_tokens", w->n ? si / (double)w->n : 0.0, 3, 1);
  json_fixed(js, "mean_out_tokens", w->n ? so / (double)w->n : 0.0, 3, 0);
  fprintf(js, "}\n");
  rc = 0;
done:
  hr_plan_workload_destroy(w);
  return rc;
}

/* -------------------------------------------------------------- metrics */

/* Reads one number per line (the last comma-separated field, so a
 * two-column CSV with a header works too). */
static int read_series(const char *path, double **out, size_t *n)
{
  int in = cli_is_stdio(path);
  FILE *f = in ? stdin : fopen(path, "r");
  if (!f) {
    fprintf(stderr, "%s: cannot read: %s\n", path, strerror(errno));
    return 0;
  }
  if (in)
    path = "stdin";
  /* getline: a line of any length is one value (a fixed buffer would split
   * a long line into several numbers, silently). */
  char *line = NULL;
  size_t line_cap = 0, cap = 0, k = 0;
  ssize_t got;
  long ln = 0;
  double *v = NULL;
  int ok = 1;
  while (ok && (got = getline(&line, &line_cap, f)) >= 0) {
    ln++;
    if (memchr(line, '\0', (size_t)got)) {
      fprintf(stderr, "%s:%ld: a NUL byte in the line\n", path, ln);
      ok = 0;
      break;
    }
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
      ok = 0;
      break;
    }
    /* NaN, inf and overflowing values have no place in a power series (and
     * no ECDF): refused where they are read.  (Underflow to a denormal or 0
     * is a finite value and kept.) */
    if (!isfinite(x)) {
      fprintf(stderr, "%s:%ld: not a finite number: %.*s\n", path, ln,
              (int)(strcspn(s, "\r\n") > 64 ? 64 : strcspn(s, "\r\n")), s);
      ok = 0;
      break;
    }
    if (k == cap) {
      cap = cap ? cap * 2 : 1024;
      double *p = realloc(v, cap * sizeof *p);
      if (!p) {
        fprintf(stderr, "%s:%ld: out of memory\n", path, ln);
        ok = 0;
        break;
      }
      v = p;
    }
    v[k++] = x;
  }
  if (ok && ferror(f)) {
    fprintf(stderr, "%s: read error: %s\n", path, strerror(errno));
    ok = 0;
  }
  free(line);
  if (!in)
    fclose(f);
  if (!ok) {
    free(v);
    return 0;
  }
  *out = v;
  *n = k;
  return 1;
}

static int cmd_metrics(int argc, char **argv)
{
  double dt = 0.1, ramp_dt = 1.0;
  const char *files[256];
  int nf = 0;
  int json = 1;
  const cli_opt_t t[] = {
      ODBL("--dt", &dt, "S", "sample step of the series [s] (default 0.1)", 1e-3, 86400),
      ODBL("--ramp-dt", &ramp_dt, "S", "window of the ramp rates [s] (default 1)", 1e-3, 86400),
      OFLAG("--json", &json, "JSON output (the default and only form)"),
  };
  int st = plan_parse("metrics", "[options] GT GEN [GT GEN ...]",
                      "Fidelity metrics of generated (GEN) vs measured (GT) series: one value per\n"
                      "line, or the last column of a CSV with a header; - reads standard input\n"
                      "(once).  Prints one JSON object.",
                      t, (int)(sizeof t / sizeof t[0]), argc, argv, files, 256, &nf);
  if (st != CLI_GO_ON)
    return st;
  if (nf == 0 || nf % 2 != 0) {
    fprintf(stderr, "headroom plan metrics: give pairs of files: GT GEN [GT GEN ...]\n");
    return 2;
  }
  int n_stdin = 0;
  for (int k = 0; k < nf; k++)
    n_stdin += cli_is_stdio(files[k]);
  if (n_stdin > 1) {
    fprintf(stderr, "headroom plan metrics: standard input (-) can be read once only\n");
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

/* ---------------------------------------------------- training, shared */

static const char *data_dir(const char *given)
{
  if (given)
    return given;
  const char *env = getenv("HR_SHARED_DATA");
  return env && *env ? env : HR_PLAN_DEFAULT_DATA;
}

/* What `train` and `fidelity` share: the data folder, the LUT, the seed,
 * the measured traces and the training configuration. */
typedef struct train_ctx {
  const char *data, *lut;
  const char *runs; /* --runs: request-driven runs instead of the H100 folder */
  uint64_t seed;
  char tdir[4096], lpath[4096];
  hr_plan_traceset_t *set;
  hr_plan_train_cfg_t cfg;
  int bigru_epochs, bigru_hidden; /* -1: the library's defaults */
} train_ctx_t;

/* --bigru-epochs, --bigru-hidden onto a training configuration. */
static void bigru_apply(const train_ctx_t *c, hr_plan_train_cfg_t *cfg)
{
  if (c->bigru_epochs >= 0)
    cfg->bigru_epochs = c->bigru_epochs;
  if (c->bigru_hidden >= 0)
    cfg->bigru_hidden = c->bigru_hidden;
}

static int train_opts(cli_opt_t *t, train_ctx_t *c)
{
  memset(c, 0, sizeof *c);
  c->seed = 1;
  c->bigru_epochs = c->bigru_hidden = -1;
  const cli_opt_t o[] = {
      OSTR("--data", &c->data, "DIR",
           "shared data folder (default $HR_SHARED_DATA, else\n" HR_PLAN_DEFAULT_DATA ")"),
      OSTR("--lut", &c->lut, "CSV", "Splitwise performance table (default under DIR)"),
      OSTR("--runs", &c->runs, "PATH",
           "train on request-driven runs instead: a manifest CSV or a folder\n"
           "with runs.csv (power + request log or counters; docs/plan.md)"),
      OU64("--seed", &c->seed, "N", "random seed (default 1)"),
      OINT("--bigru-epochs", &c->bigru_epochs, "N",
           "most epochs of the paper method's BiGRU (default 500, early\n"
           "stopping on the validation tails; 0: left at its initialisation)",
           0, 100000),
      OINT("--bigru-hidden", &c->bigru_hidden, "H",
           "BiGRU units per direction (default 64, the paper's; 0: no BiGRU,\n"
           "method paper then unsupported)",
           0, 64),
  };
  memcpy(t, o, sizeof o);
  return (int)(sizeof o / sizeof o[0]);
}

/* Loads DATA/power/h100-inference and sets up the training configuration
 * (--lut, else the Splitwise table under DATA).  0, or 1 after saying why. */
static int train_load(train_ctx_t *c)
{
  const char *d = data_dir(c->data);
  snprintf(c->tdir, sizeof c->tdir, "%s/power/h100-inference", d);
  if (!c->lut) {
    snprintf(c->lpath, sizeof c->lpath, "%s/power/splitwise-lut/perf_model.csv", d);
    c->lut = c->lpath;
  }
  if (c->runs)
    snprintf(c->tdir, sizeof c->tdir, "%s", c->runs);
  hr_diag_t e = {0};
  int rc = c->runs ? hr_plan_runs_load(c->runs, 0.0, &c->set, &e)
                   : hr_plan_traceset_load(c->tdir, &c->set, &e);
  if (rc != HR_OK) {
    report_load_error(c->tdir, rc, &e);
    c->set = NULL;
    return 1;
  }
  hr_plan_train_cfg_init(&c->cfg);
  c->cfg.lut_csv = c->lut;
  c->cfg.seed = c->seed;
  bigru_apply(c, &c->cfg);
  return 0;
}

/* Whether run i is the first of its model label in the set. */
static int first_of_label(const hr_plan_traceset_t *set, size_t i)
{
  for (size_t j = 0; j < i; j++)
    if (strcmp(set->tr[j].model, set->tr[i].model) == 0)
      return 0;
  return 1;
}

/* "3.1-70B/SUFFIX" for "Llama-3.1-70B": the table's held-out column (the
 * whole label: labels that share a prefix must stay apart). */
static void held_name(char *buf, size_t cap, const char *model, const char *suffix)
{
  snprintf(buf, cap, "%s/%s", model + (strncmp(model, "Llama-", 6) ? 0 : 6), suffix);
}

/* ------------------------------------------------------------- fidelity */

/* Results of one method on one held-out set, kept for the summary rows. */
typedef struct fold_out {
  const double **gt;
  double **gen;
  size_t *len;
  size_t m, cap; /* no fixed cap on runs: grown as they come */
} fold_out_t;

/* Appends one run; 0 when out of memory. */
static int fold_push(fold_out_t *a, const double *gt, double *gen, size_t len)
{
  if (a->m == a->cap) {
    size_t cap = a->cap ? 2 * a->cap : 64;
    const double **g = realloc(a->gt, cap * sizeof *g);
    if (!g)
      return 0;
    a->gt = g;
    double **h = realloc(a->gen, cap * sizeof *h);
    if (!h)
      return 0;
    a->gen = h;
    size_t *l = realloc(a->len, cap * sizeof *l);
    if (!l)
      return 0;
    a->len = l;
    a->cap = cap;
  }
  a->gt[a->m] = gt;
  a->gen[a->m] = gen;
  a->len[a->m++] = len;
  return 1;
}

static void fold_free(fold_out_t *a)
{
  free(a->gt);
  free(a->gen);
  free(a->len);
  memset(a, 0, sizeof *a);
}

/* One held-out run's results, made in parallel and printed in order. */
typedef struct run_out {
  int rc;
  int have[HR_PLAN_METHOD_COUNT_];
  hr_plan_fidelity_t f[HR_PLAN_METHOD_COUNT_];
  double *gen[HR_PLAN_METHOD_COUNT_];
  hr_diag_t e;
} run_out_t;

/* --seeds N: every row's metrics summed over the seeds, printed at the end
 * as mean and sample standard deviation (a fidelity figure is a property of
 * the method, not of one seed). */
#define FID_METRICS 10
static const char *const fid_metric_names[FID_METRICS] = {"energy_err_pct",
                                                          "energy_err_median_pct",
                                                          "acf_r2",
                                                          "ks",
                                                          "nrmse",
                                                          "p95_err_pct",
                                                          "p99_err_pct",
                                                          "ramp_max_gt_w_per_s",
                                                          "ramp_max_gen_w_per_s",
                                                          "ramp_p99_err_pct"};

typedef struct agg_row {
  char *split, *held, *method;
  int n;
  double sum[FID_METRICS], sumsq[FID_METRICS];
} agg_row_t;

typedef struct agg {
  agg_row_t *v;
  size_t n, cap;
  int nomem;
} agg_t;

typedef struct fid_out {
  FILE *csv;
  int json;
  agg_t *agg; /* when set, rows are summed here instead of printed */
} fid_out_t;

static void fid_metrics(const hr_plan_fidelity_t *f, double *x)
{
  const double v[FID_METRICS] = {f->energy_err_pct,
                                 f->energy_err_median_pct,
                                 f->acf_r2,
                                 f->ks,
                                 f->nrmse,
                                 f->p95_err_pct,
                                 f->p99_err_pct,
                                 f->ramp_gt_w_per_s,
                                 f->ramp_gen_w_per_s,
                                 f->ramp_p99_err_pct};
  memcpy(x, v, sizeof v);
}

static void agg_add(agg_t *a, const char *split, const char *held, const char *method,
                    const hr_plan_fidelity_t *f)
{
  agg_row_t *r = NULL;
  for (size_t i = 0; i < a->n && !r; i++)
    if (!strcmp(a->v[i].split, split) && !strcmp(a->v[i].held, held) &&
        !strcmp(a->v[i].method, method))
      r = &a->v[i];
  if (!r) {
    if (a->n == a->cap) {
      size_t cap = a->cap ? 2 * a->cap : 64;
      agg_row_t *v = realloc(a->v, cap * sizeof *v);
      if (!v) {
        a->nomem = 1;
        return;
      }
      a->v = v;
      a->cap = cap;
    }
    r = &a->v[a->n];
    memset(r, 0, sizeof *r);
    r->split = strdup(split);
    r->held = strdup(held);
    r->method = strdup(method);
    if (!r->split || !r->held || !r->method) {
      free(r->split);
      free(r->held);
      free(r->method);
      a->nomem = 1;
      return;
    }
    a->n++;
  }
  double x[FID_METRICS];
  fid_metrics(f, x);
  r->n++;
  for (int k = 0; k < FID_METRICS; k++) {
    r->sum[k] += x[k];
    r->sumsq[k] += x[k] * x[k];
  }
}

static void agg_stats(const agg_row_t *r, int k, double *mean, double *sd)
{
  *mean = r->sum[k] / r->n;
  double var = r->n > 1 ? (r->sumsq[k] - r->n * *mean * *mean) / (r->n - 1) : 0.0;
  *sd = isnan(var) ? NAN : sqrt(fmax(var, 0.0));
}

/* The rows of --seeds N: mean and standard deviation of every metric. */
static void agg_print(const agg_t *a, FILE *csv, int json, int seeds)
{
  if (!json)
    printf("%-6s %-22s %-11s %15s %15s %15s %15s\n", "split", "held_out", "method", "dE_% mean+-sd",
           "acf_r2 mean+-sd", "ks mean+-sd", "dE_med mean+-sd");
  if (csv) {
    fprintf(csv, "split,held_out,method,seeds");
    for (int k = 0; k < FID_METRICS; k++)
      fprintf(csv, ",%s_mean,%s_sd", fid_metric_names[k], fid_metric_names[k]);
    fprintf(csv, "\n");
  }
  for (size_t i = 0; i < a->n; i++) {
    const agg_row_t *r = &a->v[i];
    double m[FID_METRICS], sd[FID_METRICS];
    for (int k = 0; k < FID_METRICS; k++)
      agg_stats(r, k, &m[k], &sd[k]);
    if (json) {
      printf("{\"split\":\"%s\",\"held_out\":", r->split);
      json_str(stdout, r->held);
      printf(",\"method\":\"%s\",\"seeds\":%d", r->method, seeds);
      for (int k = 0; k < FID_METRICS; k++) {
        printf(",\"%s\":{", fid_metric_names[k]);
        json_num(stdout, "mean", m[k], 1);
        json_num(stdout, "sd", sd[k], 0);
        printf("}");
      }
      printf("}\n");
    } else {
      printf("%-6s %-22s %-11s %7.2f+-%-6.2f %7.3f+-%-6.3f %7.3f+-%-6.3f %7.2f+-%-6.2f\n", r->split,
             r->held, r->method, m[0], sd[0], m[2], sd[2], m[3], sd[3], m[1], sd[1]);
    }
    if (csv) {
      fprintf(csv, "%s,%s,%s,%d", r->split, r->held, r->method, seeds);
      for (int k = 0; k < FID_METRICS; k++)
        fprintf(csv, ",%.6g,%.6g", m[k], sd[k]);
      fprintf(csv, "\n");
    }
  }
}

static void agg_free(agg_t *a)
{
  for (size_t i = 0; i < a->n; i++) {
    free(a->v[i].split);
    free(a->v[i].held);
    free(a->v[i].method);
  }
  free(a->v);
  memset(a, 0, sizeof *a);
}

static void print_row(const fid_out_t *o, const char *split, const char *held, const char *method,
                      const hr_plan_fidelity_t *f)
{
  if (o->agg) {
    agg_add(o->agg, split, held, method, f);
    return;
  }
  if (o->json) {
    printf("{\"split\":\"%s\",\"held_out\":\"%s\",\"method\":\"%s\",", split, held, method);
    json_num(stdout, "energy_err_pct", f->energy_err_pct, 1);
    json_num(stdout, "energy_err_median_pct", f->energy_err_median_pct, 1);
    json_num(stdout, "acf_r2", f->acf_r2, 1);
    json_num(stdout, "ks", f->ks, 1);
    json_num(stdout, "nrmse", f->nrmse, 1);
    json_num(stdout, "p95_err_pct", f->p95_err_pct, 1);
    json_num(stdout, "p99_err_pct", f->p99_err_pct, 1);
    json_num(stdout, "ramp_max_gt_w_per_s", f->ramp_gt_w_per_s, 1);
    json_num(stdout, "ramp_max_gen_w_per_s", f->ramp_gen_w_per_s, 1);
    json_num(stdout, "ramp_p99_err_pct", f->ramp_p99_err_pct, 0);
    printf("}\n");
  } else {
    char acf[32];
    if (isfinite(f->acf_r2))
      snprintf(acf, sizeof acf, "%8.3f", f->acf_r2);
    else
      snprintf(acf, sizeof acf, "%8s", "---");
    printf("%-6s %-22s %-11s %9.2f %s %7.3f %7.3f %8.2f %8.2f %9.1f\n", split, held, method,
           f->energy_err_pct, acf, f->ks, f->nrmse, f->p95_err_pct, f->p99_err_pct,
           f->ramp_p99_err_pct);
  }
  if (o->csv)
    fprintf(o->csv, "%s,%s,%s,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g\n", split, held,
            method, f->energy_err_pct, f->energy_err_median_pct, f->acf_r2, f->ks, f->nrmse,
            f->p95_err_pct, f->p99_err_pct, f->ramp_gt_w_per_s, f->ramp_gen_w_per_s,
            f->ramp_p99_err_pct);
}

static const char *dump_dir; /* --dump: write every generated series there */

/* 1, or 0 after saying which file could not be written. */
static int dump_series(const char *split, const hr_plan_trace_t *t, const char *method,
                       const double *x)
{
  char path[4096];
  snprintf(path, sizeof path, "%s/%s_%s_g%d_b%d_%s.txt", dump_dir, split, t->model, t->num_gpus,
           t->max_num_seqs, method);
  FILE *f = fopen(path, "w");
  if (!f) {
    fprintf(stderr, "headroom plan fidelity: --dump %s: %s\n", path, strerror(errno));
    return 0;
  }
  for (size_t i = 0; i < t->n; i++)
    fprintf(f, "%.3f\n", x[i]);
  return study_close(f, path);
}

/* Generates every method for held-out trace t with model m into *r (no
 * output but the --dump files, so folds can run side by side). */
static void eval_trace(const hr_plan_model_t *m, const hr_plan_trace_t *t, const char *split,
                       uint64_t seed, run_out_t *r)
{
  double *active = malloc(t->n * sizeof *active);
  r->rc = active ? HR_OK : HR_ERR_NOMEM;
  if (!active)
    return;
  /* A fixed-batch steady-state run: the server holds max_num_seqs requests
   * throughout (docs/plan.md); a request-driven run carries its own A(t). */
  for (size_t i = 0; i < t->n; i++)
    active[i] = t->active ? t->active[i] : t->max_num_seqs;
  for (int meth = 0; meth < HR_PLAN_METHOD_COUNT_ && r->rc == HR_OK; meth++) {
    double *gen = malloc(t->n * sizeof *gen);
    if (!gen) {
      r->rc = HR_ERR_NOMEM;
      break;
    }
    int rc =
        hr_plan_model_generate_dt(m, meth, t->model, t->num_gpus, active, t->n, t->dt_s, seed, gen);
    if (rc == HR_ERR_UNSUPPORTED) { /* no LUT given */
      free(gen);
      continue;
    }
    const double *a = t->p_w, *b = gen;
    if (rc == HR_OK)
      rc = hr_plan_fidelity_compute(&a, &b, &t->n, 1, t->dt_s, 1.0, &r->f[meth]);
    if (rc == HR_OK && dump_dir && !dump_series(split, t, hr_plan_method_name(meth), gen))
      rc = HR_ERR_IO;
    if (rc != HR_OK) {
      free(gen);
      r->rc = rc;
      break;
    }
    r->have[meth] = 1;
    r->gen[meth] = gen;
  }
  free(active);
}

/* Prints run i's rows and moves its series into acc[method] (which then
 * owns them). */
static void emit_run(const fid_out_t *o, const hr_plan_trace_t *t, const char *split, run_out_t *r,
                     fold_out_t *acc)
{
  char held[600], bs[32];
  snprintf(bs, sizeof bs, "g%d-b%d", t->num_gpus, t->max_num_seqs);
  held_name(held, sizeof held, t->model, bs);
  for (int meth = 0; meth < HR_PLAN_METHOD_COUNT_; meth++) {
    if (!r->have[meth])
      continue;
    print_row(o, split, held, hr_plan_method_name(meth), &r->f[meth]);
    if (!fold_push(&acc[meth], t->p_w, r->gen[meth], t->n)) {
      free(r->gen[meth]);
      r->rc = HR_ERR_NOMEM;
    }
    r->gen[meth] = NULL;
    r->have[meth] = 0;
  }
}

static void free_runs(run_out_t *runs, size_t n)
{
  for (size_t i = 0; runs && i < n; i++)
    for (int meth = 0; meth < HR_PLAN_METHOD_COUNT_; meth++)
      free(runs[i].gen[meth]);
  free(runs);
}

static int summarize(const fid_out_t *out, fold_out_t *acc, const char *split, const char *held)
{
  int rc = HR_OK;
  for (int meth = 0; meth < HR_PLAN_METHOD_COUNT_; meth++) {
    fold_out_t *o = &acc[meth];
    if (o->m == 0)
      continue;
    hr_plan_fidelity_t f;
    rc = hr_plan_fidelity_compute((const double *const *)o->gt, (const double *const *)o->gen,
                                  o->len, o->m, 0.1, 1.0, &f);
    if (rc != HR_OK)
      break;
    print_row(out, split, held, hr_plan_method_name(meth), &f);
  }
  return rc;
}

static void clear_acc(fold_out_t *acc)
{
  for (int meth = 0; meth < HR_PLAN_METHOD_COUNT_; meth++) {
    for (size_t k = 0; k < acc[meth].m; k++)
      free(acc[meth].gen[k]);
    acc[meth].m = 0;
  }
}

/* Progress of the folds on standard error, when it is a terminal. */
static void progress(int tty, const char *split, int done, int total)
{
  if (!tty)
    return;
  fprintf(stderr, "\rheadroom plan fidelity: %s split, %d of %d folds trained", split, done, total);
  if (done == total)
    fputc('\n', stderr);
  fflush(stderr);
}

/* Leave-one-batch-size-out: train on every other run (the held-out model's
 * other batch sizes included), test on the left-out run.  The folds run in
 * parallel (OpenMP); the rows come out in set order. */
static int split_batch(const hr_plan_traceset_t *set, hr_plan_train_cfg_t cfg, const fid_out_t *out,
                       fold_out_t *acc, hr_diag_t *e, int tty)
{
  const long n = (long)set->n;
  run_out_t *runs = calloc(set->n ? set->n : 1, sizeof *runs);
  unsigned char *use = malloc(set->n * set->n + 1);
  if (!runs || !use) {
    free(runs);
    free(use);
    return HR_ERR_NOMEM;
  }
  cfg.pooled = 0;
  int done = 0;
#pragma omp parallel for schedule(dynamic, 1)
  for (long i = 0; i < n; i++) {
    unsigned char *u = use + (size_t)i * set->n;
    for (long j = 0; j < n; j++)
      u[j] = j != i;
    hr_plan_model_t *m = NULL;
    runs[i].rc = hr_plan_model_train(set, u, &cfg, &m, &runs[i].e);
    if (runs[i].rc == HR_OK)
      eval_trace(m, &set->tr[i], "batch", cfg.seed + (uint64_t)i, &runs[i]);
    hr_plan_model_destroy(m);
#pragma omp critical(hr_fidelity_progress)
    progress(tty, "batch", ++done, (int)n);
  }
  int rc = HR_OK;
  for (long i = 0; i < n && rc == HR_OK; i++) {
    if ((rc = runs[i].rc) != HR_OK)
      *e = runs[i].e;
    else if (emit_run(out, &set->tr[i], "batch", &runs[i], acc), (rc = runs[i].rc) != HR_OK)
      break;
  }
  free_runs(runs, set->n);
  free(use);
  if (rc != HR_OK)
    return rc;
  /* Per-model summaries: acc holds one entry per run, in set order. */
  for (size_t i = 0; i < set->n && rc == HR_OK; i++) {
    if (!first_of_label(set, i))
      continue;
    fold_out_t sub[HR_PLAN_METHOD_COUNT_];
    memset(sub, 0, sizeof sub);
    for (int meth = 0; meth < HR_PLAN_METHOD_COUNT_ && rc == HR_OK; meth++)
      for (size_t k = 0; k < acc[meth].m && k < set->n && rc == HR_OK; k++)
        if (strcmp(set->tr[k].model, set->tr[i].model) == 0 &&
            !fold_push(&sub[meth], acc[meth].gt[k], acc[meth].gen[k], acc[meth].len[k]))
          rc = HR_ERR_NOMEM;
    char held[600];
    held_name(held, sizeof held, set->tr[i].model, "ALL");
    if (rc == HR_OK)
      rc = summarize(out, sub, "batch", held);
    for (int meth = 0; meth < HR_PLAN_METHOD_COUNT_; meth++)
      fold_free(&sub[meth]);
  }
  if (rc == HR_OK)
    rc = summarize(out, acc, "batch", "ALL");
  clear_acc(acc);
  return rc;
}

/* Leave-one-model-out: the held-out label is generated from the pooled
 * group of the other models; one fold per label, in parallel. */
static int split_model(const hr_plan_traceset_t *set, hr_plan_train_cfg_t cfg, int pool_mode,
                       const fid_out_t *out, fold_out_t *acc, hr_diag_t *e, int tty)
{
  size_t nl = 0;
  size_t *first = malloc((set->n ? set->n : 1) * sizeof *first);
  run_out_t *runs = calloc(set->n ? set->n : 1, sizeof *runs);
  hr_diag_t *fold_e = calloc(set->n ? set->n : 1, sizeof *fold_e);
  int *fold_rc = calloc(set->n ? set->n : 1, sizeof *fold_rc);
  unsigned char *use = malloc(set->n * set->n + 1);
  if (!first || !runs || !fold_e || !fold_rc || !use) {
    free(first);
    free(runs);
    free(fold_e);
    free(fold_rc);
    free(use);
    return HR_ERR_NOMEM;
  }
  for (size_t i = 0; i < set->n; i++)
    if (first_of_label(set, i))
      first[nl++] = i;
  cfg.pooled = pool_mode;
  int done = 0;
#pragma omp parallel for schedule(dynamic, 1)
  for (long l = 0; l < (long)nl; l++) {
    size_t i = first[l];
    unsigned char *u = use + (size_t)l * set->n;
    for (size_t j = 0; j < set->n; j++)
      u[j] = strcmp(set->tr[j].model, set->tr[i].model) != 0;
    hr_plan_model_t *m = NULL;
    fold_rc[l] = hr_plan_model_train(set, u, &cfg, &m, &fold_e[l]);
    for (size_t j = 0; j < set->n && fold_rc[l] == HR_OK; j++)
      if (!u[j]) {
        eval_trace(m, &set->tr[j], "model", cfg.seed + j, &runs[j]);
        fold_rc[l] = runs[j].rc;
      }
    hr_plan_model_destroy(m);
#pragma omp critical(hr_fidelity_progress)
    progress(tty, "model", ++done, (int)nl);
  }
  int rc = HR_OK;
  for (size_t l = 0; l < nl && rc == HR_OK; l++) {
    if ((rc = fold_rc[l]) != HR_OK) {
      *e = fold_e[l];
      break;
    }
    for (size_t j = 0; j < set->n && rc == HR_OK; j++)
      if (strcmp(set->tr[j].model, set->tr[first[l]].model) == 0) {
        emit_run(out, &set->tr[j], "model", &runs[j], acc);
        rc = runs[j].rc;
      }
  }
  if (rc == HR_OK)
    rc = summarize(out, acc, "model", "ALL");
  clear_acc(acc);
  free_runs(runs, set->n);
  free(first);
  free(fold_e);
  free(fold_rc);
  free(use);
  return rc;
}

/* --train DIR --test DIR: one model trained on every run of DIR (pooled as
 * --pool says, so labels the training folder lacks are generated from the
 * pooled group), scored on every run of the test folder. */
static int split_folders(const hr_plan_traceset_t *train, const hr_plan_traceset_t *test,
                         hr_plan_train_cfg_t cfg, int pool_mode, const fid_out_t *out,
                         fold_out_t *acc, hr_diag_t *e)
{
  unsigned char *use = malloc(train->n ? train->n : 1);
  run_out_t *runs = calloc(test->n ? test->n : 1, sizeof *runs);
  if (!use || !runs) {
    free(use);
    free(runs);
    return HR_ERR_NOMEM;
  }
  memset(use, 1, train->n);
  cfg.pooled = pool_mode;
  hr_plan_model_t *m = NULL;
  int rc = hr_plan_model_train(train, use, &cfg, &m, e);
  if (rc == HR_OK) {
#pragma omp parallel for schedule(dynamic, 1)
    for (long j = 0; j < (long)test->n; j++)
      eval_trace(m, &test->tr[j], "test", cfg.seed + (uint64_t)j, &runs[j]);
    for (size_t j = 0; j < test->n && rc == HR_OK; j++) {
      if ((rc = runs[j].rc) != HR_OK) {
        snprintf(e->message, sizeof e->message, "%s on %d GPUs at batch %d", test->tr[j].model,
                 test->tr[j].num_gpus, test->tr[j].max_num_seqs);
        break;
      }
      emit_run(out, &test->tr[j], "test", &runs[j], acc);
      rc = runs[j].rc;
    }
  }
  if (rc == HR_OK)
    rc = summarize(out, acc, "test", "ALL");
  clear_acc(acc);
  hr_plan_model_destroy(m);
  free_runs(runs, test->n);
  free(use);
  return rc;
}

static int cmd_fidelity(int argc, char **argv)
{
  train_ctx_t c;
  cli_opt_t t[MAX_OPTS];
  const char *split = "both", *csvp = NULL, *only = NULL, *pool = "batch";
  int fast = 0, json = 0;
  int n = train_opts(t, &c);
  t[n++] = (cli_opt_t)OSTR("--split", &split, "batch|model|both",
                           "leave one batch size out, one model out, or both (default)");
  t[n++] = (cli_opt_t)OSTR("--csv", &csvp, "FILE", "also write the table as CSV to FILE");
  t[n++] = (cli_opt_t)OSTR("--dump", &dump_dir, "DIR", "write every generated series to DIR");
  t[n++] = (cli_opt_t)OSTR("--only", &only, "LABEL,...", "keep the runs of these model labels");
  t[n++] = (cli_opt_t)OINT("--fast", &fast, "0|1", "smaller training (smoke tests)", 0, 1);
  t[n++] = (cli_opt_t)OSTR("--pool", &pool, "batch|gpu",
                           "key of the pooled model of the model split (default batch)");
  t[n++] = (cli_opt_t)OFLAG("--json", &json, "JSON Lines rows instead of the text table");
  const char *train_dir = NULL, *test_dir = NULL;
  int seeds = 1;
  t[n++] = (cli_opt_t)OINT("--seeds", &seeds, "N",
                           "run with seeds SEED..SEED+N-1 and give every metric's mean and\n"
                           "standard deviation (default 1: one seed, the plain table)",
                           1, 1000);
  t[n++] = (cli_opt_t)OSTR("--train", &train_dir, "DIR",
                           "train on every run of DIR (a traces_summary.csv and its traces,\n"
                           "or request-driven runs: a runs.csv manifest or a folder with one)");
  t[n++] = (cli_opt_t)OSTR("--test", &test_dir, "DIR",
                           "score on every run of DIR (with --train; instead of --split)");
  int rc = plan_parse("fidelity", "[options]",
                      "The held-out fidelity table of every power model on the measured H100\n"
                      "traces.  Progress goes to standard error when it is a terminal.",
                      t, n, argc, argv, NULL, 0, NULL);
  if (rc != CLI_GO_ON)
    return rc;
  int do_b = strcmp(split, "batch") == 0 || strcmp(split, "both") == 0;
  int do_m = strcmp(split, "model") == 0 || strcmp(split, "both") == 0;
  if (!do_b && !do_m) {
    fprintf(stderr, "headroom plan fidelity: --split batch|model|both\n");
    return 2;
  }
  int pool_mode = strcmp(pool, "gpu") == 0 ? 2 : strcmp(pool, "batch") == 0 ? 1 : 0;
  if (!pool_mode) {
    fprintf(stderr, "headroom plan fidelity: --pool gpu|batch\n");
    return 2;
  }
  if (!train_dir != !test_dir) {
    fprintf(stderr, "headroom plan fidelity: --train DIR and --test DIR go together\n");
    return 2;
  }
  if (train_dir) {
    snprintf(c.tdir, sizeof c.tdir, "%s", train_dir);
    if (!c.lut) {
      snprintf(c.lpath, sizeof c.lpath, "%s/power/splitwise-lut/perf_model.csv", data_dir(c.data));
      c.lut = c.lpath;
    }
    hr_diag_t le = {0};
    hr_plan_traceset_t *train = NULL, *test = NULL;
    if ((rc = hr_plan_traceset_load_any(train_dir, &train, &le)) != HR_OK) {
      report_load_error(train_dir, rc, &le);
      return 1;
    }
    if ((rc = hr_plan_traceset_load_any(test_dir, &test, &le)) != HR_OK) {
      report_load_error(test_dir, rc, &le);
      hr_plan_traceset_destroy(train);
      return 1;
    }
    hr_plan_train_cfg_t tcfg;
    hr_plan_train_cfg_init(&tcfg);
    tcfg.lut_csv = c.lut;
    tcfg.seed = c.seed;
    if (fast) {
      tcfg.k_max = 6;
      tcfg.gmm_max_points = 1500;
      tcfg.em_iters = 30;
      tcfg.gru_epochs = 3;
      tcfg.gru_windows = 4;
      tcfg.bigru_epochs = 4;
      tcfg.bigru_window = 64;
    }
    bigru_apply(&c, &tcfg);
    fid_out_t fo = {NULL, json, NULL};
    if (csvp && !(fo.csv = fopen(csvp, "w")))
      fprintf(stderr, "headroom plan fidelity: --csv %s: %s\n", csvp, strerror(errno));
    else if (fo.csv)
      fprintf(fo.csv, "split,held_out,method,energy_err_pct,energy_err_median_pct,acf_r2,ks,"
                      "nrmse,p95_err_pct,p99_err_pct,ramp_max_gt_w_per_s,ramp_max_gen_w_per_s,"
                      "ramp_p99_err_pct\n");
    static fold_out_t tacc[HR_PLAN_METHOD_COUNT_];
    hr_diag_t te = {0};
    rc = csvp && !fo.csv ? HR_ERR_IO : HR_OK;
    if (rc == HR_OK && !json) {
      printf("# fidelity of a model trained on %s, scored on %s (0.1 s; ACF lags 1-50; ramps "
             "on 1 s means)\n",
             train_dir, test_dir);
      printf("%-6s %-22s %-11s %9s %8s %7s %7s %8s %8s %9s\n", "split", "held_out", "method",
             "dE_%", "acf_r2", "ks", "nrmse", "p95_%", "p99_%", "rampP99%");
    }
    if (rc == HR_OK)
      rc = split_folders(train, test, tcfg, pool_mode, &fo, tacc, &te);
    for (int meth = 0; meth < HR_PLAN_METHOD_COUNT_; meth++)
      fold_free(&tacc[meth]);
    if (rc != HR_OK && rc != HR_ERR_IO)
      fprintf(stderr, "headroom plan fidelity: %s%s%s\n", hr_strerror(rc),
              te.message[0] ? ": " : "", te.message);
    if (fo.csv && !study_close(fo.csv, csvp) && rc == HR_OK)
      rc = HR_ERR_IO;
    hr_plan_traceset_destroy(train);
    hr_plan_traceset_destroy(test);
    return rc == HR_OK ? 0 : 1;
  }
  if (train_load(&c) != 0)
    return 1;
  hr_plan_traceset_t *set = c.set;
  hr_plan_train_cfg_t cfg = c.cfg;
  hr_diag_t e = {0};
  if (only) {
    /* --only L1,L2: keep the runs of these model labels. */
    size_t keep = 0, ol = strlen(only);
    for (size_t i = 0; i < set->n; i++) {
      size_t ml = strlen(set->tr[i].model);
      const char *hit = strstr(only, set->tr[i].model);
      int match = 0;
      for (; hit && !match; hit = strstr(hit + 1, set->tr[i].model))
        match = (hit == only || hit[-1] == ',') && (hit + ml == only + ol || hit[ml] == ',');
      if (match)
        set->tr[keep++] = set->tr[i];
      else {
        free(set->tr[i].p_w);
        free(set->tr[i].active); /* a request-driven run's (--runs) */
      }
    }
    set->n = keep;
    if (keep == 0) {
      fprintf(stderr, "headroom plan fidelity: --only %s matches no run\n", only);
      hr_plan_traceset_destroy(set);
      return 2;
    }
  }
  fid_out_t out = {NULL, json, NULL};
  if (csvp) {
    if (!(out.csv = fopen(csvp, "w"))) {
      fprintf(stderr, "headroom plan fidelity: --csv %s: %s\n", csvp, strerror(errno));
      hr_plan_traceset_destroy(set);
      return 1;
    }
    if (seeds == 1)
      fprintf(out.csv, "split,held_out,method,energy_err_pct,energy_err_median_pct,acf_r2,ks,"
                       "nrmse,p95_err_pct,p99_err_pct,ramp_max_gt_w_per_s,ramp_max_gen_w_per_s,"
                       "ramp_p99_err_pct\n");
  }
  if (fast) { /* smaller training for smoke tests: fewer states, EM and GRU steps */
    cfg.k_max = 6;
    cfg.gmm_max_points = 1500;
    cfg.em_iters = 30;
    cfg.gru_epochs = 3;
    cfg.gru_windows = 4;
    cfg.bigru_epochs = 4;
    cfg.bigru_window = 64;
    bigru_apply(&c, &cfg);
  }
  static fold_out_t acc[HR_PLAN_METHOD_COUNT_];
  const int tty = isatty(2);
  agg_t agg = {0};
  if (seeds > 1)
    out.agg = &agg;
  if (!json) {
    printf("# held-out fidelity on %s (%g s; ACF lags 1-50; ramps on 1 s means)", c.tdir,
           set->n ? set->tr[0].dt_s : 0.1);
    if (seeds > 1)
      printf("; mean and standard deviation over seeds %llu..%llu", (unsigned long long)cfg.seed,
             (unsigned long long)(cfg.seed + (uint64_t)seeds - 1));
    printf("\n");
    if (seeds == 1)
      printf("%-6s %-22s %-11s %9s %8s %7s %7s %8s %8s %9s\n", "split", "held_out", "method",
             "dE_%", "acf_r2", "ks", "nrmse", "p95_%", "p99_%", "rampP99%");
  }
  rc = HR_OK;
  const uint64_t seed0 = cfg.seed;
  /* A stop signal ends the run between two splits or seeds (a split's folds
   * are library calls in parallel and run to their end): the rows made so
   * far are printed, the files closed, and the exit is 128 + the signal. */
  cli_stop_catch(0);
  int signo = 0;
  for (int sd = 0; sd < seeds && rc == HR_OK && !(signo = cli_stop_requested()); sd++) {
    cfg.seed = seed0 + (uint64_t)sd;
    if (do_b)
      rc = split_batch(set, cfg, &out, acc, &e, tty);
    if (rc == HR_OK && do_m && !(signo = cli_stop_requested()))
      rc = split_model(set, cfg, pool_mode, &out, acc, &e, tty);
    if (rc == HR_OK && agg.nomem)
      rc = HR_ERR_NOMEM;
    if (signo)
      break;
  }
  if (rc == HR_OK && seeds > 1)
    agg_print(&agg, out.csv, json, seeds);
  agg_free(&agg);
  clear_acc(acc);
  for (int meth = 0; meth < HR_PLAN_METHOD_COUNT_; meth++)
    fold_free(&acc[meth]);
  if (rc != HR_OK)
    fprintf(stderr, "headroom plan fidelity: %s%s%s\n", hr_strerror(rc), e.message[0] ? ": " : "",
            e.message);
  if (out.csv && !study_close(out.csv, csvp) && rc == HR_OK)
    rc = HR_ERR_IO;
  hr_plan_traceset_destroy(set);
  if (signo && rc == HR_OK) {
    fflush(stdout);
    fprintf(stderr,
            "headroom plan fidelity: stopped by signal %d; the rows above are the "
            "finished splits\n",
            signo);
    return cli_stop_status(signo);
  }
  return rc == HR_OK ? 0 : 1;
}

/* ---------------------------------------------------------- train, generate */

static int cmd_train(int argc, char **argv)
{
  train_ctx_t c;
  cli_opt_t t[MAX_OPTS];
  const char *out = NULL, *exclude = NULL;
  int json = 0;
  int n = train_opts(t, &c);
  t[n++] = (cli_opt_t)OSTR("--out", &out, "MODEL", "the model file to write (required)");
  t[n++] = (cli_opt_t)OSTR("--exclude", &exclude, "LABEL[/BATCH]",
                           "leave these runs out of the training");
  t[n++] = (cli_opt_t)OFLAG("--json", &json, "print a JSON summary of the training");
  const char *pool = "batch";
  t[n++] = (cli_opt_t)OSTR("--pool", &pool, "none|batch|gpu",
                           "the pooled group for unseen models: keyed on batch size (default),\n"
                           "on batch size per GPU, or none");
  int rc = plan_parse("train", "--out MODEL [options]",
                      "Fits every power model on the measured traces and writes the model file.", t,
                      n, argc, argv, NULL, 0, NULL);
  if (rc != CLI_GO_ON)
    return rc;
  if (!out) {
    fprintf(stderr, "headroom plan train: --out MODEL is required\n");
    return 2;
  }
  int pool_mode = strcmp(pool, "gpu") == 0     ? 2
                  : strcmp(pool, "batch") == 0 ? 1
                  : strcmp(pool, "none") == 0  ? 0
                                               : -1;
  if (pool_mode < 0) {
    fprintf(stderr, "headroom plan train: --pool none|batch|gpu, got '%s'\n", pool);
    return 2;
  }
  /* --exclude LABEL[/BATCH]: leave runs out (to keep a held-out set). */
  char lab[128] = "";
  int batch = 0;
  if (exclude) {
    snprintf(lab, sizeof lab, "%s", exclude);
    char *sl = strchr(lab, '/');
    if (sl) {
      *sl = '\0';
      /* A batch that is not a whole number >= 1 would silently become 0,
       * "every batch of the label". */
      if (cli_int(sl + 1, &batch) != 0 || batch < 1) {
        fprintf(stderr,
                "headroom plan train: --exclude LABEL[/BATCH]: BATCH is a whole number "
                ">= 1, got '%s'\n",
                sl + 1);
        return 2;
      }
    }
  }
  if (train_load(&c) != 0)
    return 1;
  unsigned char *use = malloc(c.set->n);
  if (!use) {
    hr_plan_traceset_destroy(c.set);
    return 1;
  }
  for (size_t j = 0; j < c.set->n; j++)
    use[j] = !(exclude && strcmp(c.set->tr[j].model, lab) == 0 &&
               (batch == 0 || batch == c.set->tr[j].max_num_seqs));
  hr_plan_model_t *m = NULL;
  hr_diag_t e = {0};
  c.cfg.pooled = pool_mode;
  rc = hr_plan_model_train(c.set, use, &c.cfg, &m, &e);
  if (rc == HR_OK && (rc = hr_plan_model_save(m, out)) != HR_OK) {
    fprintf(stderr, "%s: cannot write the model (%s)\n", out, hr_strerror(rc));
  } else if (rc == HR_OK && json) {
    size_t used = 0;
    for (size_t j = 0; j < c.set->n; j++)
      used += use[j] != 0;
    printf("{\"model_file\":");
    json_str(stdout, out);
    printf(",\"traces\":");
    json_str(stdout, c.tdir);
    printf(",\"lut\":");
    json_str(stdout, c.lut);
    printf(",\"runs\":%zu,\"runs_used\":%zu,\"runs_excluded\":%zu,\"seed\":%llu,\"methods\":[",
           c.set->n, used, c.set->n - used, (unsigned long long)c.seed);
    for (int k = 0; k < HR_PLAN_METHOD_COUNT_; k++)
      printf("%s\"%s\"", k ? "," : "", hr_plan_method_name((hr_plan_method_t)k));
    printf("]}\n");
  } else if (rc != HR_OK)
    fprintf(stderr, "headroom plan train: %s%s%s\n", hr_strerror(rc), e.message[0] ? ": " : "",
            e.message);
  hr_plan_model_destroy(m);
  free(use);
  hr_plan_traceset_destroy(c.set);
  return rc == HR_OK ? 0 : 1;
}

static int cmd_generate(int argc, char **argv)
{
  const char *mf = NULL, *label = NULL, *method = "markov";
  double seconds = 60;
  int gpus = 1;
  double batch = 1;
  uint64_t seed = 1;
  int json = 0, pooled = 0;
  plan_desc_args_t da;
  plan_desc_args_init(&da);
  int method_given = 0;
  const cli_opt_t t[] = {
      OSTR("--model-file", &mf, "MODEL", "model file from plan train (required)"),
      OSTR("--model", &label, "LABEL", "model label (Llama-3.1-8B, ...); one the file holds"),
      OFLAG("--pooled", &pooled, "use the pooled group (a model the file has not seen)"),
      OSTR("--method", &method, "NAME",
           "tdp|mean|lut|paper|paper-gru16|markov|copula (default\nmarkov)"),
      OINT("--gpus", &gpus, "G", "GPUs of the replica (default 1)", 1, 1e6),
      ODBL("--batch", &batch, "B", "requests in flight (default 1)", 0, 1e6),
      ODBL_GT("--seconds", &seconds, "S", "length [s] (default 60)", 0, 1e7),
      OU64("--seed", &seed, "N", "random seed (default 1)"),
      OFLAG("--json", &json, "JSON Lines {\"t_s\",\"power_w\"} instead of CSV"),
      {.kind = CLI_SECTION,
       .help = "A configuration not in the model file (docs/plan.md "
               "\"Descriptors\"; method copula):"},
      ODBL_GT("--params-b", &da.params_b, "P",
              "total parameters [10^9]: asks for the descriptor path", 0, 1e6),
      ODBL_GT("--active-params-b", &da.active_b, "A",
              "parameters active per token [10^9] (default P: dense)", 0, 1e6),
      OINT("--tp", &da.tp, "N", "tensor-parallel degree (default --gpus)", 1, 4096),
      OSTR("--gpu", &da.gpu, "NAME",
           "GPU type, any case: h100 (default), h100-pcie, h200, a100, a100-pcie, l40s"),
      ODBL("--precision-bits", &da.precision_bits, "B", "bits per weight (default 16)", 1, 64),
      ODBL("--tdp-w", &da.tdp_w, "W", "GPU nameplate [W] (default: the GPU table's)", 1, 1e5),
      ODBL("--idle-w", &da.idle_w, "W", "GPU idle power [W] (default: the GPU table's)", 0, 1e5),
      OSTR("--descriptors", &da.descriptors, "CSV",
           "descriptors of the model file's labels (model_label,params_b,\n"
           "active_params_b,tp,precision_bits,gpu); the Llama-3.1 ones are built in"),
      OSTR("--calibrate", &da.calibrate, "CSV[,CSV...]",
           "measured power of the configuration (t_s,power_w, any cadence)"),
      ODBL("--calibrate-minutes", &da.cal_minutes, "M",
           "use only M minutes in all, split evenly over the files (default\n"
           "all)",
           0, 1e6),
      OSTR("--calibrate-batch", &da.cal_batch, "B[,B...]",
           "batch limit of each calibration file (default --batch)"),
      OSTR("--calibrate-levels", &da.cal_levels, "IDLE,FULL[,BATCH]",
           "idle and full-load power per GPU [W] (full load: the median at\n"
           "BATCH, default the largest trained), instead of (or before) a trace"),
  };
  int rc = plan_parse("generate", "--model-file MODEL --model LABEL [options]",
                      "One replica's power at the model's step (0.1 s for the H100 traces),\n"
                      "as CSV (t_s,power_total_W).  SIGTERM,\n"
                      "SIGINT and SIGHUP end the output on a whole row (exit 128 + the signal).",
                      t, (int)(sizeof t / sizeof t[0]), argc, argv, NULL, 0, NULL);
  if (rc != CLI_GO_ON)
    return rc;
  int desc = da.params_b > 0.0;
  if (!desc && (da.active_b > 0.0 || da.tp > 0 || da.descriptors || da.calibrate || da.cal_levels ||
                strcmp(da.gpu, "h100") != 0)) {
    fprintf(stderr, "headroom plan generate: the descriptor options need --params-b P\n");
    return 2;
  }
  if (desc && (label || pooled)) {
    fprintf(stderr, "headroom plan generate: --params-b describes the configuration: no --model "
                    "or --pooled with it\n");
    return 2;
  }
  for (int k = 1; k < argc; k++)
    method_given =
        method_given || strcmp(argv[k], "--method") == 0 || strncmp(argv[k], "--method=", 9) == 0;
  if (desc && !method_given)
    method = "copula";
  if (desc && strcmp(method, "copula") != 0 && strcmp(method, "tdp") != 0 &&
      strcmp(method, "mean") != 0) {
    fprintf(stderr,
            "headroom plan generate: --params-b: the descriptor path serves --method "
            "copula (and tdp, mean), not %s\n",
            method);
    return 2;
  }
  if (desc && da.tp > 0 && gpus != da.tp) {
    int gpus_given = 0;
    for (int k = 1; k < argc; k++)
      gpus_given =
          gpus_given || strcmp(argv[k], "--gpus") == 0 || strncmp(argv[k], "--gpus=", 7) == 0;
    if (gpus_given) {
      fprintf(stderr,
              "headroom plan generate: --tp %d and --gpus %d: one replica spans its "
              "tensor-parallel GPUs\n",
              da.tp, gpus);
      return 2;
    }
    gpus = da.tp;
  }
  int meth = method_of(method);
  if (!mf || meth < 0 || gpus < 1 || batch < 0 || !(seconds > 0) || seconds > 1e7 ||
      (label && pooled)) {
    fprintf(stderr,
            "headroom plan generate: --model-file MODEL [--method tdp|mean|lut|paper|paper-gru16|"
            "markov|copula] --model LABEL|--pooled --gpus G --batch B --seconds S\n");
    return 2;
  }
  hr_plan_model_t *m;
  if (load_model(mf, &m) != 0)
    return 1;
  if (desc) {
    hr_plan_model_t *pm = NULL;
    int drc = plan_desc_model(m, mf, &da, gpus, batch, "descriptor", &pm);
    hr_plan_model_destroy(m);
    if (drc != 0)
      return drc;
    m = pm;
    label = "descriptor";
  }
  /* An unknown label used to fall back to the pooled group silently: a
   * typo gave another model's power.  The pooled group is asked for. */
  int known = 0;
  for (size_t k = 0; label && !pooled && hr_plan_model_label(m, k); k++)
    known = known || strcmp(hr_plan_model_label(m, k), label) == 0;
  /* A file without groups (a TDP-only model) has no labels to check. */
  if (!hr_plan_model_label(m, 0) && hr_plan_model_states(m, NULL) == 0)
    known = 1;
  if (!pooled && !known) {
    fprintf(stderr,
            "headroom plan generate: --model %s: %s; the labels %s holds:", label ? label : "",
            label ? "not in the model file" : "required (or --pooled)", mf);
    for (size_t k = 0; hr_plan_model_label(m, k); k++)
      fprintf(stderr, "%s %s", k ? "," : "", hr_plan_model_label(m, k));
    fprintf(stderr, "%s\n",
            hr_plan_model_states(m, NULL) > 0
                ? "; --pooled uses the pooled group for a model it has not seen"
                : "");
    hr_plan_model_destroy(m);
    return 2;
  }
  if (pooled && hr_plan_model_states(m, NULL) == 0) {
    fprintf(stderr,
            "headroom plan generate: --pooled: %s has no pooled group (train with --pool)\n", mf);
    hr_plan_model_destroy(m);
    return 2;
  }
  if (pooled)
    label = NULL;
  /* The model's own step: 0.1 s for the H100 traces, 0.25 s for a model
   * trained on request-driven runs (--runs). */
  const double step = hr_plan_model_dt(m) > 0.0 ? hr_plan_model_dt(m) : 0.1;
  const int tdig = fabs(step - 0.1) < 1e-12 ? 1 : 3; /* the 0.1-s output as it always was */
  size_t n = (size_t)llround(seconds / step);
  double *a = malloc(n * sizeof *a), *p = malloc(n * sizeof *p);
  if (!a || !p) {
    rc = HR_ERR_NOMEM;
  } else {
    for (size_t i = 0; i < n; i++)
      a[i] = batch;
    rc = hr_plan_model_generate(m, meth, label, gpus, a, n, seed, p);
  }
  /* The writing is what takes long (10^8 lines at most): a stop signal ends
   * it on a whole line.  The generation before is one library call. */
  int signo = 0;
  size_t i = 0;
  if (rc == HR_OK) {
    cli_stop_catch(0);
    if (!json)
      printf("t_s,power_total_W\n");
    for (; i < n && !(i % 4096 == 0 && (signo = cli_stop_requested())); i++) {
      if (json)
        printf("{\"t_s\":%.*f,\"power_w\":%.3f}\n", tdig, (double)i * step, p[i]);
      else
        printf("%.*f,%.3f\n", tdig, (double)i * step, p[i]);
    }
  } else {
    if (rc == HR_ERR_UNSUPPORTED && meth == HR_PLAN_PAPER)
      fprintf(stderr,
              "headroom plan generate: --method paper: %s has no BiGRU (trained with "
              "--bigru-hidden 0, or a version-1 file); retrain, or use --method paper-gru16\n",
              mf);
    else if (rc == HR_ERR_UNSUPPORTED && meth == HR_PLAN_LUT)
      fprintf(stderr, "headroom plan generate: --method lut: %s has no LUT (train with --lut)\n",
              mf);
    else
      fprintf(stderr, "headroom plan generate: %s\n", hr_strerror(rc));
  }
  free(a);
  free(p);
  hr_plan_model_destroy(m);
  if (signo) {
    fprintf(stderr, "headroom plan generate: stopped by signal %d after %zu of %zu rows\n", signo,
            i, n);
    return cli_stop_status(signo);
  }
  return rc == HR_OK ? 0 : 1;
}

/* ------------------------------------------------------------------ site */

/* Writes one chart as DIR/STEM.png (what the reports show) and
 * DIR/STEM.svg (scalable, for editing).  HR_OK, or the first error with
 * the file and the reason on stderr. */
static int write_chart(const char *dir, const char *stem, const char *title, const char *xlabel,
                       const char *ylabel, const double *x, const double *const *y,
                       const char *const *names, int nseries, size_t n)
{
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.png", dir, stem);
  int rc = hr__chart_png_write(path, title, xlabel, ylabel, x, y, names, nseries, n);
  if (rc != HR_OK) {
    /* The chart writers leave errno saying why for HR_ERR_IO (report_chart.h). */
    fprintf(stderr, "%s: cannot write: %s\n", path,
            rc == HR_ERR_IO ? strerror(errno) : hr_strerror(rc));
    return rc;
  }
  snprintf(path, sizeof path, "%s/%s.svg", dir, stem);
  rc = hr__chart_svg_write(path, title, xlabel, ylabel, x, y, names, nseries, n);
  if (rc != HR_OK)
    fprintf(stderr, "%s: cannot write: %s\n", path,
            rc == HR_ERR_IO ? strerror(errno) : hr_strerror(rc));
  return rc;
}

static int write_report(const char *dir, const hr_plan_site_t *s, const hr_plan_site_cfg_t *cfg,
                        const hr_plan_utility_t *u, double dur)
{
  char path[4096];
  snprintf(path, sizeof path, "%s/report.md", dir);
  FILE *f = study_open(path);
  if (!f)
    return 0;
  fprintf(f,
          "# Facility power study\n\n"
          "%d rows x %d racks x %d servers (%d GPUs each, %s, method %s), %.0f W non-GPU per "
          "server, PUE %.2f, step %.3g s, %.2f h, %zu requests.\n\n",
          cfg->rows, cfg->racks_per_row, cfg->servers_per_rack, cfg->gpus_per_server, cfg->model,
          hr_plan_method_name(cfg->method), cfg->non_gpu_w, cfg->pue, cfg->dt_s, dur / 3600.0,
          s->requests);
  fprintf(f, "| quantity | value |\n|---|---|\n");
  fprintf(f, "| peak facility power | %.1f kW |\n", u->peak_w * cfg->pue / 1e3);
  fprintf(f, "| mean facility power | %.1f kW |\n", u->mean_w * cfg->pue / 1e3);
  fprintf(f, "| highest 15-min demand | %.1f kW |\n", u->peak_15min_w * cfg->pue / 1e3);
  fprintf(f, "| load factor (mean/peak) | %.3f |\n", u->load_factor);
  fprintf(f, "| peak-to-average | %.3f |\n", u->peak_to_average);
  fprintf(f, "| max 15-min ramp | %.1f kW/h |\n", u->max_ramp_15min_w_per_h * cfg->pue / 1e3);
  fprintf(f, "| max 1-s ramp | %.1f kW/s |\n", u->max_ramp_1s_w_per_s * cfg->pue / 1e3);
  fprintf(f, "| requests completed | %zu of %zu |\n", s->serve.completed, s->requests);
  fprintf(f, "| mean TTFT / end-to-end | %.3f s / %.3f s |\n", s->serve.mean_ttft_s,
          s->serve.mean_e2e_s);
  fprintf(f, "| nameplate (GPU TDP 700 W + non-GPU) | %.1f kW |\n",
          (double)cfg->rows * cfg->racks_per_row * cfg->servers_per_rack *
              (cfg->gpus_per_server * 700.0 + cfg->non_gpu_w) * cfg->pue / 1e3);
  fprintf(f, "\n![facility power](site.png)\n\n![load-duration curve](ldc.png)\n\n"
             "Files: `site_1s.csv` (IT and facility power, 1-s means), `site_15min.csv`, "
             "`rows_1s.csv`, `ldc_15min.csv` (load-duration curve); the charts as PNG and as "
             "SVG (`site.svg`, `ldc.svg`).\n");
  return study_close(f, path);
}

static int write_series(const char *dir, const char *name, const char *header, const double *x,
                        size_t n, double step_s, double scale2)
{
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = study_open(path);
  if (!f)
    return 0;
  fprintf(f, "%s\n", header);
  for (size_t i = 0; i < n; i++)
    if (scale2 > 0)
      fprintf(f, "%.3f,%.1f,%.1f\n", (double)i * step_s, x[i], x[i] * scale2);
    else
      fprintf(f, "%.3f,%.1f\n", (double)i * step_s, x[i]);
  return study_close(f, path);
}

static int cmp_desc(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x < y) - (x > y);
}

enum { SITE_RUN, SITE_PROVISION, SITE_OVERSUB };

/* --json of provision and oversub: their tables as JSON Lines. */
static int study_json;
static int study_signo; /* the stop signal that ended a study early, or 0 */

static int provision(const hr_plan_model_t *m, hr_plan_site_cfg_t cfg, const hr_plan_workload_t *w,
                     double dur, const char *dir);
static int oversub(const hr_plan_model_t *m, const hr_plan_site_cfg_t *cfg,
                   const hr_plan_workload_t *w, double dur, double cap_kw, int samples,
                   const char *dir);

static int cmd_site(int argc, char **argv, int mode)
{
  const char *sub = mode == SITE_PROVISION ? "provision"
                    : mode == SITE_OVERSUB ? "oversub"
                                           : "site";
  const char *mf = NULL, *dir = NULL, *method = "copula", *gpu_type = NULL, *precision = "bf16";
  const char *node_trace = NULL;
  double hours = 0.0, cap_kw = 600.0, step_ms = NAN, step_per_seq_ms = NAN, prefill_tps = NAN;
  double idle_w = NAN, tdp_w = NAN, params_b = NAN, active_b = NAN, kv_kib = NAN, ctx = NAN;
  int samples = 200, node_k = 0, whole = 0;
  hr_plan_site_cfg_t cfg;
  hr_plan_site_cfg_init(&cfg);
  hr_plan_llm_t llm;
  hr_plan_llm_init(&llm);
  wl_args_t a;
  int json = mode == SITE_RUN;
  cli_opt_t t[MAX_OPTS];
  int n = wl_opts(t, &a);
  const cli_opt_t o[] = {
      {.kind = CLI_SECTION, .help = "facility"},
      OSTR("--model-file", &mf, "MODEL", "model file from plan train (required)"),
      OSTR("--model", &cfg.model, "LABEL", "model label the servers run"),
      OSTR("--method", &method, "NAME", "power model (default copula)"),
      ODBL_GT("--hours", &hours, "H", "length [h] (default: the trace's, else 1)", 0, 8760),
      OINT("--rows", &cfg.rows, "N", "rows (default 10)", 1, HR_PLAN_SITE_MAX_SERVERS),
      OINT("--racks", &cfg.racks_per_row, "N", "racks per row (default 6)", 1,
           HR_PLAN_SITE_MAX_SERVERS),
      OINT("--servers", &cfg.servers_per_rack, "N", "servers per rack (default 4)", 1,
           HR_PLAN_SITE_MAX_SERVERS),
      OINT("--gpus", &cfg.gpus_per_server, "N", "GPUs per server (default 8)", 1, 1024),
      ODBL("--non-gpu", &cfg.non_gpu_w, "W", "non-GPU power per server (default 1000)", 0, 1e6),
      ODBL("--pue", &cfg.pue, "X", "power usage effectiveness (default 1.3)", 1, 10),
      ODBL("--dt", &cfg.dt_s, "S", "simulation step [s] (default 0.25)", 0.01, 3600),
      OSTR("--gpu-type", &gpu_type, "NAME",
           "GPU: h100, h100-pcie, h200, a100, a100-pcie, l40s (its TDP, idle power and\n"
           "speeds; default: the model's TDP and idle power, H100 speeds)"),
      ODBL("--idle-w", &idle_w, "W", "idle power per GPU (default: --gpu-type's, else the model's)",
           0, 1e5),
      ODBL_GT("--tdp-w", &tdp_w, "W",
              "TDP per GPU; busy power scales by it / the model's (default: --gpu-type's)", 0, 1e5),
      OINT("--tp", &cfg.tp, "N",
           "GPUs per replica (tensor parallel), divides --gpus (default --gpus)", 1, 1024),
      OINT("--threads", &cfg.threads, "N", "worker threads (default: the online CPUs)", 1, 1024),
      OSTR("--node-trace", &node_trace, "FILE",
           "write server power at --dt for the first --node-trace-servers servers"),
      OINT("--node-trace-servers", &node_k, "K",
           "servers in the node trace (default 1; with --out-dir alone: node_trace.csv)", 1,
           HR_PLAN_SITE_MAX_SERVERS),
      {.kind = CLI_SECTION, .help = "serving"},
      OINT("--max-seqs", &cfg.serve.max_num_seqs, "N", "requests in flight per server", 1, 1e6),
      OINT("--max-tokens", &cfg.serve.max_batched_tokens, "N", "tokens per step", 1, 1e9),
      {.name = "--no-chunked",
       .kind = CLI_CLEAR,
       .dst = &cfg.serve.chunked_prefill,
       .help = "no chunked prefill"},
      ODBL_GT("--prefill-tps", &prefill_tps, "R", "prefill tokens per second", 0, 1e9),
      ODBL_GT("--step-ms", &step_ms, "MS", "decode step time [ms]", 0, 1e5),
      ODBL("--step-per-seq-ms", &step_per_seq_ms, "MS", "decode step time per sequence [ms]", 0,
           1e5),
      ODBL_GT("--params-b", &params_b, "B",
              "model parameters [1e9]: derive the three speeds above from it (docs/plan.md)", 0,
              1e6),
      ODBL_GT("--active-params-b", &active_b, "B",
              "parameters per token [1e9] of a mixture of experts (default --params-b)", 0, 1e6),
      OSTR("--precision", &precision, "bf16|fp8", "weight precision (default bf16)"),
      ODBL_GT("--mfu", &llm.mfu, "X", "achieved share of tensor FLOP/s (default 0.5)", 0, 1),
      ODBL_GT("--mbu", &llm.mbu, "X", "achieved share of HBM bandwidth (default 0.7)", 0, 1),
      ODBL_GT("--kv-kib-per-token", &kv_kib, "K",
              "KV cache per context token [KiB] (default: a Llama-3.1 fit)", 0, 1e9),
      ODBL("--ctx-tokens", &ctx, "N",
           "mean context of a decoding sequence (default: the workload's prompt + output/2)", 0,
           1e9),
      {.kind = CLI_SECTION, .help = "study"},
      ODBL_GT("--row-capacity-kw", &cap_kw, "KW", "oversub: row capacity, IT power (default 600)",
              0, 1e9),
      OINT("--samples", &samples, "N", "oversub: draws per rack count (default 200)", 1, 1e6),
      OSTR("--out-dir", &dir, "DIR", "write the CSVs, report.md and the charts to DIR"),
      OFLAG("--json", &json,
            mode == SITE_RUN ? "JSON summary (the default)"
                             : "JSON Lines instead of the text table"),
      OFLAG("--whole-workload", &whole,
            "site: generate the whole workload, then assign its requests to replicas\n"
            "(memory grows with them); the default for poisson and diurnal draws each\n"
            "replica's arrivals on the fly"),
  };
  memcpy(t + n, o, sizeof o);
  n += (int)(sizeof o / sizeof o[0]);
  static const char *const about[] = {
      "Facility power from a workload: utility statistics as JSON; CSVs and report.md in\n"
      "--out-dir.",
      "The same facility under every power model: peak, mean, 15-min peak, peak/average,\n"
      "load factor, 15-min ramp (provision.csv in --out-dir).",
      "Racks per row by nameplate vs by generated traces (oversub.csv in --out-dir).",
  };
  int rc = plan_parse(sub, "--model-file MODEL (--csv TRACE | --arrival A --rate R) [options]",
                      about[mode], t, n, argc, argv, NULL, 0, NULL);
  if (rc != CLI_GO_ON)
    return rc;
  if ((double)cfg.rows * cfg.racks_per_row * cfg.servers_per_rack > HR_PLAN_SITE_MAX_SERVERS) {
    fprintf(stderr, "headroom plan %s: --rows x --racks x --servers: %.0f servers, at most %d\n",
            sub, (double)cfg.rows * cfg.racks_per_row * cfg.servers_per_rack,
            HR_PLAN_SITE_MAX_SERVERS);
    return 2;
  }
  const hr_plan_gpu_t *gpu = NULL;
  if (gpu_type && !(gpu = hr_plan_gpu_find(gpu_type))) {
    fprintf(stderr, "headroom plan %s: --gpu-type %s: unknown; known:", sub, gpu_type);
    for (size_t i = 0; hr_plan_gpu_at(i); i++)
      fprintf(stderr, " %s", hr_plan_gpu_at(i)->name);
    fprintf(stderr, "\n");
    return 2;
  }
  if (strcmp(precision, "bf16") != 0 && strcmp(precision, "fp8") != 0) {
    fprintf(stderr, "headroom plan %s: --precision %s: bf16 or fp8\n", sub, precision);
    return 2;
  }
  llm.precision = strcmp(precision, "fp8") == 0 ? HR_PLAN_FP8 : HR_PLAN_BF16;
  if (cfg.tp > 0 && cfg.gpus_per_server % cfg.tp != 0) {
    fprintf(stderr, "headroom plan %s: --tp %d does not divide --gpus %d\n", sub, cfg.tp,
            cfg.gpus_per_server);
    return 2;
  }
  if (isfinite(active_b) && !isfinite(params_b)) {
    fprintf(stderr, "headroom plan %s: --active-params-b needs --params-b\n", sub);
    return 2;
  }
  if (isfinite(active_b) && active_b > params_b) {
    fprintf(stderr, "headroom plan %s: --active-params-b %g exceeds --params-b %g\n", sub, active_b,
            params_b);
    return 2;
  }
  cfg.gpu_idle_w = isfinite(idle_w) ? idle_w : gpu ? gpu->idle_w : -1.0;
  cfg.gpu_tdp_w = isfinite(tdp_w) ? tdp_w : gpu ? gpu->tdp_w : 0.0;
  if (node_trace || node_k > 0) {
    if (mode != SITE_RUN) {
      fprintf(stderr, "headroom plan %s: --node-trace and --node-trace-servers are for plan site\n",
              sub);
      return 2;
    }
    if (!node_trace && !dir) {
      fprintf(stderr, "headroom plan %s: --node-trace-servers needs --node-trace or --out-dir\n",
              sub);
      return 2;
    }
    if (node_k == 0)
      node_k = 1;
    if ((double)node_k > (double)cfg.rows * cfg.racks_per_row * cfg.servers_per_rack) {
      fprintf(stderr, "headroom plan %s: --node-trace-servers %d: the site has %.0f servers\n", sub,
              node_k, (double)cfg.rows * cfg.racks_per_row * cfg.servers_per_rack);
      return 2;
    }
    cfg.node_servers = node_k;
  }
  if (a.seed_given)
    cfg.seed = a.gen.seed; /* one seed for the workload and the facility */
  int use_gen = a.arrival || a.rate_given;
  cfg.method = method_of(method);
  if (!mf || cfg.method < 0 || (!a.csv && !use_gen) || (a.csv && use_gen)) {
    fprintf(stderr,
            "headroom plan %s: --model-file MODEL and one of --csv TRACE or "
            "--arrival/--rate are required\n",
            sub);
    return 2;
  }
  /* The output folder is made if it is missing (its parent must exist). */
  if (dir && mkdir(dir, 0777) != 0 && errno != EEXIST) {
    fprintf(stderr, "headroom plan %s: --out-dir %s: %s\n", sub, dir, strerror(errno));
    return 1;
  }
  if (whole && mode != SITE_RUN) {
    fprintf(stderr, "headroom plan %s: --whole-workload is for plan site\n", sub);
    return 2;
  }
  hr_plan_model_t *m = NULL;
  hr_plan_workload_t *w = NULL, *keep = NULL;
  hr_plan_site_t *s = NULL;
  if (load_model(mf, &m) != 0)
    return 1;
  /* `plan site` draws generated Poisson and diurnal arrivals replica by
   * replica (hr_plan_site_run_gen): memory does not grow with the request
   * count.  The studies run the same workload many times and keep it. */
  if ((rc = wl_get_ex(sub, &a, hours > 0 ? hours * 3600.0 : 3600.0, &w,
                      mode == SITE_RUN && !whole ? &keep : NULL)) != 0) {
    hr_plan_model_destroy(m);
    return rc;
  }
  int stream = w == NULL;

  /* Serving speeds: derived from the model's description when it is given
   * (hr_plan_serve_speeds), then what the user set by hand wins. */
  if (isfinite(params_b)) {
    llm.params_b = params_b;
    llm.active_params_b = isfinite(active_b) ? active_b : params_b;
    llm.tp = cfg.tp ? cfg.tp : cfg.gpus_per_server;
    llm.kv_b_per_token = isfinite(kv_kib) ? kv_kib * 1024.0 : 0.0;
    if (isfinite(ctx)) {
      llm.ctx_tokens = ctx;
    } else if (stream) {
      /* The mean over the lengths model, from 100,000 draws of it (the
       * lengths are drawn from a stream of their own, whatever the
       * arrival times). */
      hr_plan_gen_cfg_t g = a.gen;
      g.arrival = HR_PLAN_ARRIVAL_POISSON;
      g.rate_per_s = 1e5 / g.duration_s;
      hr_plan_workload_t *pilot = NULL;
      if (hr_plan_workload_generate(&g, &pilot) == HR_OK && pilot->n) {
        double sum = 0.0;
        for (size_t i = 0; i < pilot->n; i++)
          sum += (double)pilot->req[i].in_tokens + 0.5 * (double)pilot->req[i].out_tokens;
        llm.ctx_tokens = sum / (double)pilot->n;
      }
      hr_plan_workload_destroy(pilot);
    } else if (w->n) {
      double sum = 0.0;
      for (size_t i = 0; i < w->n; i++)
        sum += (double)w->req[i].in_tokens + 0.5 * (double)w->req[i].out_tokens;
      llm.ctx_tokens = sum / (double)w->n;
    }
    if ((rc = hr_plan_serve_speeds(gpu ? gpu : hr_plan_gpu_find("h100"), &llm, &cfg.serve)) !=
        HR_OK) {
      fprintf(stderr, "headroom plan %s: serving speeds from --params-b: %s\n", sub,
              hr_strerror(rc));
      hr_plan_workload_destroy(w);
      hr_plan_workload_destroy(keep);
      hr_plan_model_destroy(m);
      return 2;
    }
  }
  if (isfinite(prefill_tps))
    cfg.serve.prefill_tok_per_s = prefill_tps;
  if (isfinite(step_ms))
    cfg.serve.step_s = step_ms / 1e3;
  if (isfinite(step_per_seq_ms))
    cfg.serve.step_per_seq_s = step_per_seq_ms / 1e3;

  /* Without --hours: the workload and a minute to drain it (generated on
   * the fly: the generator's 3600 s and that minute). */
  double dur = hours > 0 ? hours * 3600.0
               : stream  ? a.gen.duration_s + 60.0
                         : (w->n ? ceil(w->req[w->n - 1].t_s + 60.0) : 3600.0);
  if (dur / cfg.dt_s > HR_PLAN_SITE_MAX_STEPS) {
    fprintf(stderr,
            "headroom plan %s: --hours/--dt: %.4g h in steps of %g s is %.3g steps, at "
            "most %.0e (a longer --dt, or fewer --hours)\n",
            sub, dur / 3600.0, cfg.dt_s, dur / cfg.dt_s, HR_PLAN_SITE_MAX_STEPS);
    hr_plan_workload_destroy(w);
    hr_plan_workload_destroy(keep);
    hr_plan_model_destroy(m);
    return 2;
  }
  study_json = json;
  study_signo = 0;
  /* The studies run one power model or rack count after another: a stop
   * signal ends them between two, with the files of those done written. */
  if (mode != SITE_RUN)
    cli_stop_catch(0);
  if (mode == SITE_PROVISION) {
    rc = provision(m, cfg, w, dur, dir);
    goto done;
  }
  if (mode == SITE_OVERSUB) {
    rc = samples >= 1 && samples <= 1e6 && cap_kw > 0
             ? oversub(m, &cfg, w, dur, cap_kw, (int)samples, dir)
             : HR_ERR_INVALID_ARG;
    goto done;
  }
  cfg.racks_1s = 0; /* `site` writes rows and the site, never racks: memory stays flat */
  rc = stream ? hr_plan_site_run_gen(m, &cfg, &a.gen, dur, &s)
              : hr_plan_site_run(m, &cfg, w, dur, &s);
  if (rc != HR_OK) {
    fprintf(stderr, "headroom plan site: %s\n", hr_strerror(rc));
    goto done;
  }
  hr_plan_utility_t u;
  if ((rc = hr_plan_utility_compute(s->it_w, s->n, s->dt_s, &u)) != HR_OK)
    goto done;
  /* Statistics that need two 15-min blocks are NaN on shorter runs: null
   * in the JSON. */
  double kw = cfg.pue / 1e3;
  printf("{\"servers\":%d,\"hours\":%.3f,\"requests\":%zu,\"completed\":%zu,",
         cfg.rows * cfg.racks_per_row * cfg.servers_per_rack, dur / 3600.0, s->requests,
         s->serve.completed);
  json_fixed(stdout, "peak_facility_kw", u.peak_w * kw, 2, 1);
  json_fixed(stdout, "mean_facility_kw", u.mean_w * kw, 2, 1);
  json_fixed(stdout, "peak_15min_kw", u.peak_15min_w * kw, 2, 1);
  json_fixed(stdout, "load_factor", u.load_factor, 4, 1);
  json_fixed(stdout, "peak_to_average", u.peak_to_average, 4, 1);
  json_fixed(stdout, "max_ramp_15min_kw_per_h", u.max_ramp_15min_w_per_h * kw, 2, 1);
  json_fixed(stdout, "max_ramp_1s_kw_per_s", u.max_ramp_1s_w_per_s * kw, 3, 1);
  json_fixed(stdout, "mean_ttft_s", s->serve.mean_ttft_s, 4, 1);
  printf("\"tp\":%d,", cfg.tp ? cfg.tp : cfg.gpus_per_server);
  json_fixed(stdout, "prefill_tps", cfg.serve.prefill_tok_per_s, 1, 1);
  json_fixed(stdout, "step_ms", cfg.serve.step_s * 1e3, 4, 1);
  json_fixed(stdout, "step_per_seq_ms", cfg.serve.step_per_seq_s * 1e3, 5, 0);
  printf("}\n");
  if (s->n_node) {
    char path[4096];
    if (node_trace)
      snprintf(path, sizeof path, "%s", node_trace);
    else
      snprintf(path, sizeof path, "%s/node_trace.csv", dir);
    FILE *f = study_open(path);
    if (f) {
      fprintf(f, "t_s");
      for (int k = 0; k < s->n_node; k++)
        fprintf(f, ",server%d_w", k);
      fprintf(f, "\n");
      for (size_t i = 0; i < s->n; i++) {
        fprintf(f, "%.3f", (double)i * s->dt_s);
        for (int k = 0; k < s->n_node; k++)
          fprintf(f, ",%.2f", s->node_w[(size_t)k * s->n + i]);
        fprintf(f, "\n");
      }
    }
    if (!f || !study_close(f, path)) {
      rc = HR_ERR_IO; /* named where it failed */
      goto done;
    }
  }
  if (dir) {
    size_t per1 = (size_t)lround(1.0 / s->dt_s), per15 = (size_t)lround(900.0 / s->dt_s);
    per1 = per1 ? per1 : 1;
    per15 = per15 ? per15 : 1;
    double *b = malloc((s->n / per1 + 2) * sizeof *b);
    int ok = b != NULL;
    if (ok) {
      size_t k = hr_plan_block_mean(s->it_w, s->n, per1, b);
      ok = write_series(dir, "site_1s.csv", "t_s,it_w,facility_w", b, k, per1 * s->dt_s, cfg.pue);
      k = hr_plan_block_mean(s->it_w, s->n, per15, b);
      ok = ok && write_series(dir, "site_15min.csv", "t_s,it_w,facility_w", b, k, per15 * s->dt_s,
                              cfg.pue);
      qsort(b, k, sizeof *b, cmp_desc);
      char path[4096];
      snprintf(path, sizeof path, "%s/ldc_15min.csv", dir);
      FILE *f = ok ? study_open(path) : NULL;
      if (f) {
        fprintf(f, "rank,exceedance,facility_w\n");
        for (size_t i = 0; i < k; i++)
          fprintf(f, "%zu,%.6f,%.1f\n", i + 1, (double)(i + 1) / (double)k, b[i] * cfg.pue);
        ok = study_close(f, path);
      } else {
        ok = 0;
      }
      snprintf(path, sizeof path, "%s/rows_1s.csv", dir);
      f = ok ? study_open(path) : NULL;
      if (f) {
        fprintf(f, "t_s");
        for (int r = 0; r < s->nrows; r++)
          fprintf(f, ",row%d_w", r);
        fprintf(f, "\n");
        for (size_t i = 0; i < s->n1; i++) {
          fprintf(f, "%zu", i);
          for (int r = 0; r < s->nrows; r++)
            fprintf(f, ",%.1f", s->row_w[(size_t)r * s->n1 + i]);
          fprintf(f, "\n");
        }
        ok = study_close(f, path);
      } else {
        ok = 0;
      }
      if (ok) {
        /* Plots: facility power (1-s means) over time, and the 15-min LDC. */
        size_t k1 = hr_plan_block_mean(s->it_w, s->n, per1, b);
        double *tx = malloc((k1 > k ? k1 : k) * sizeof *tx);
        ok = tx != NULL;
        if (!ok)
          fprintf(stderr, "%s: cannot write the charts: %s\n", dir, hr_strerror(HR_ERR_NOMEM));
        if (ok) {
          for (size_t i = 0; i < k1; i++) {
            tx[i] = (double)i * per1 * s->dt_s / 3600.0;
            b[i] *= cfg.pue / 1e3;
          }
          const double *ys[1] = {b};
          const char *nm[1] = {"facility"};
          ok = k1 < 2 || write_chart(dir, "site", "Facility power, 1-s means", "time [h]",
                                     "power [kW]", tx, ys, nm, 1, k1) == HR_OK;
          k = hr_plan_block_mean(s->it_w, s->n, per15, b);
          qsort(b, k, sizeof *b, cmp_desc);
          for (size_t i = 0; i < k; i++) {
            tx[i] = 100.0 * (double)(i + 1) / (double)k;
            b[i] *= cfg.pue / 1e3;
          }
          ok = ok &&
               (k < 2 || write_chart(dir, "ldc", "Load-duration curve, 15-min demand",
                                     "time exceeded [%]", "power [kW]", tx, ys, nm, 1, k) == HR_OK);
          free(tx);
        }
      }
      /* The report last: one that looks complete means every file is. */
      ok = ok && write_report(dir, s, &cfg, &u, dur);
    } else {
      fprintf(stderr, "%s: cannot write the study files: %s\n", dir, hr_strerror(HR_ERR_NOMEM));
    }
    free(b);
    if (!ok)
      rc = HR_ERR_IO; /* the failing file was named where it failed */
  }
done:
  hr_plan_site_destroy(s);
  hr_plan_workload_destroy(w);
  hr_plan_workload_destroy(keep);
  hr_plan_model_destroy(m);
  if (study_signo) {
    fprintf(stderr, "headroom plan %s: stopped by signal %d\n", sub, study_signo);
    return cli_stop_status(study_signo);
  }
  return rc == HR_OK ? 0 : 1;
}

/* Provisioning: the same workload and facility under every power model. */
/* The studies' stop test: a signal caught by cli_stop_catch. */
static int study_stop(void *user)
{
  (void)user;
  return (study_signo = cli_stop_requested()) != 0;
}

static int provision(const hr_plan_model_t *m, hr_plan_site_cfg_t cfg, const hr_plan_workload_t *w,
                     double dur, const char *dir)
{
  hr_plan_provision_t *p = NULL;
  int rc = hr_plan_provision_run(m, &cfg, w, dur, study_stop, NULL, &p);
  if (rc != HR_OK) {
    fprintf(stderr, "headroom plan provision: %s\n", hr_strerror(rc));
    return rc;
  }
  FILE *csv = NULL, *md = NULL;
  char csv_path[4096], md_path[4096];
  if (dir) {
    snprintf(csv_path, sizeof csv_path, "%s/provision.csv", dir);
    snprintf(md_path, sizeof md_path, "%s/report.md", dir);
    csv = study_open(csv_path);
    md = csv ? study_open(md_path) : NULL;
    if (!csv || !md) {
      if (csv)
        fclose(csv);
      hr_plan_provision_destroy(p);
      return HR_ERR_IO;
    }
    fprintf(csv, "method,peak_facility_kw,mean_facility_kw,peak_15min_kw,peak_to_average,"
                 "load_factor,max_ramp_15min_kw_per_h,max_ramp_1s_kw_per_s\n");
    fprintf(md,
            "# Provisioning study\n\n%d servers (%s, %d GPUs, %.0f W non-GPU), PUE %.2f, "
            "%.2f h, %zu requests; the same workload under every power model.\n\n"
            "| method | peak kW | mean kW | 15-min peak kW | peak/avg | load factor | "
            "max 15-min ramp kW/h |\n|---|---|---|---|---|---|---|\n",
            cfg.rows * cfg.racks_per_row * cfg.servers_per_rack, cfg.model, cfg.gpus_per_server,
            cfg.non_gpu_w, cfg.pue, dur / 3600.0, w->n);
  }
  if (!study_json)
    printf("%-11s %10s %10s %12s %9s %8s %14s\n", "method", "peak_kW", "mean_kW", "peak15_kW",
           "peak/avg", "LF", "ramp15_kW/h");
  const double k = p->pue / 1e3; /* IT W -> facility kW */
  double *series[HR_PLAN_METHOD_COUNT_] = {0};
  const char *names[HR_PLAN_METHOD_COUNT_];
  int ns = 0;
  size_t nmin = 0;
  for (size_t i = 0; i < p->n_rows; i++) {
    const hr_plan_provision_row_t *r = &p->rows[i];
    const hr_plan_utility_t *u = &r->it;
    const char *name = hr_plan_method_name(r->method);
    if (study_json) {
      printf("{\"method\":\"%s\",", name);
      json_fixed(stdout, "peak_facility_kw", u->peak_w * k, 3, 1);
      json_fixed(stdout, "mean_facility_kw", u->mean_w * k, 3, 1);
      json_fixed(stdout, "peak_15min_kw", u->peak_15min_w * k, 3, 1);
      json_fixed(stdout, "peak_to_average", u->peak_to_average, 5, 1);
      json_fixed(stdout, "load_factor", u->load_factor, 5, 1);
      json_fixed(stdout, "max_ramp_15min_kw_per_h", u->max_ramp_15min_w_per_h * k, 3, 1);
      json_fixed(stdout, "max_ramp_1s_kw_per_s", u->max_ramp_1s_w_per_s * k, 4, 0);
      printf("}\n");
    } else {
      printf("%-11s %10.1f %10.1f %12.1f %9.3f %8.3f %14.1f\n", name, u->peak_w * k, u->mean_w * k,
             u->peak_15min_w * k, u->peak_to_average, u->load_factor,
             u->max_ramp_15min_w_per_h * k);
    }
    if (csv)
      fprintf(csv, "%s,%.3f,%.3f,%.3f,%.5f,%.5f,%.3f,%.4f\n", name, u->peak_w * k, u->mean_w * k,
              u->peak_15min_w * k, u->peak_to_average, u->load_factor,
              u->max_ramp_15min_w_per_h * k, u->max_ramp_1s_w_per_s * k);
    if (md)
      fprintf(md, "| %s | %.1f | %.1f | %.1f | %.3f | %.3f | %.1f |\n", name, u->peak_w * k,
              u->mean_w * k, u->peak_15min_w * k, u->peak_to_average, u->load_factor,
              u->max_ramp_15min_w_per_h * k);
    /* The chart shows facility kW: scaled in place (the study is ours). */
    for (size_t j = 0; j < r->n_1min; j++)
      r->it_1min_w[j] *= k;
    series[ns] = r->it_1min_w;
    names[ns++] = name;
    nmin = r->n_1min;
  }
  if (dir && ns > 0 && nmin >= 2) {
    double *tx = malloc(nmin * sizeof *tx);
    if (tx) {
      for (size_t i = 0; i < nmin; i++)
        tx[i] = (double)i / 60.0;
      rc = write_chart(dir, "provision", "Facility power by power model, 1-min means", "time [h]",
                       "power [kW]", tx, (const double *const *)series, names, ns, nmin);
      free(tx);
    } else {
      fprintf(stderr, "%s: cannot write the chart: %s\n", dir, hr_strerror(HR_ERR_NOMEM));
      rc = HR_ERR_NOMEM;
    }
  }
  hr_plan_provision_destroy(p);
  /* Both closed even when one fails, and the report's closing paragraph
   * only once the table and the chart it links are written, so a report
   * that looks complete is. */
  if (csv && !study_close(csv, csv_path) && rc == HR_OK)
    rc = HR_ERR_IO;
  if (md && rc == HR_OK)
    fprintf(md, "\n![facility power by model](provision.png)\n\n`provision.csv` holds the "
                "table; `provision.svg` is the chart as SVG.\n");
  if (md && !study_close(md, md_path) && rc == HR_OK)
    rc = HR_ERR_IO;
  return rc;
}

/* Oversubscription: how many racks a row of cap_kw can hold by nameplate
 * and by generated traces. */
static int oversub(const hr_plan_model_t *m, const hr_plan_site_cfg_t *cfg,
                   const hr_plan_workload_t *w, double dur, double cap_kw, int samples,
                   const char *dir)
{
  hr_plan_oversub_study_t *o = NULL;
  int rc = hr_plan_oversub_study_run(m, cfg, w, dur, cap_kw * 1e3, samples, study_stop, NULL, &o);
  if (rc != HR_OK) {
    fprintf(stderr, "headroom plan oversub: %s\n", hr_strerror(rc));
    return rc;
  }
  const double rack_plate_kw = o->rack_nameplate_w / 1e3;
  FILE *csv = NULL;
  char path[4096], csv_path[4096];
  if (dir) {
    snprintf(csv_path, sizeof csv_path, "%s/oversub.csv", dir);
    if (!(csv = study_open(csv_path))) {
      hr_plan_oversub_study_destroy(o);
      return HR_ERR_IO;
    }
    fprintf(csv, "method,n_racks,n_samples,peak_mean_kw,peak_p05_kw,peak_p50_kw,peak_p95_kw,"
                 "peak_max_kw,exceed_prob\n");
  }
  if (!study_json)
    printf("%7s %10s %10s %10s %10s %8s\n", "n_racks", "mean_kW", "p50_kW", "p95_kW", "max_kW",
           "P(exc)");
  const size_t nr = (size_t)o->n_rows;
  double *pl = calloc(4 * (nr ? nr : 1), sizeof *pl); /* n, p50, p95, capacity */
  if (!pl) {
    if (csv)
      fclose(csv);
    hr_plan_oversub_study_destroy(o);
    fprintf(stderr, "headroom plan oversub: %s\n", hr_strerror(HR_ERR_NOMEM));
    return HR_ERR_NOMEM;
  }
  const char *meth = hr_plan_method_name(cfg->method);
  for (size_t i = 0; i < nr; i++) {
    const hr_plan_oversub_row_t *r = &o->rows[i];
    const hr_plan_oversub_t *q = &r->peak;
    pl[i] = r->n_racks;
    pl[nr + i] = q->peak_p50_w / 1e3;
    pl[2 * nr + i] = q->peak_p95_w / 1e3;
    pl[3 * nr + i] = cap_kw;
    if (study_json) {
      printf("{\"method\":\"%s\",\"n_racks\":%d,\"n_samples\":%d,", meth, r->n_racks, samples);
      json_fixed(stdout, "peak_mean_kw", q->peak_mean_w / 1e3, 3, 1);
      json_fixed(stdout, "peak_p05_kw", q->peak_p05_w / 1e3, 3, 1);
      json_fixed(stdout, "peak_p50_kw", q->peak_p50_w / 1e3, 3, 1);
      json_fixed(stdout, "peak_p95_kw", q->peak_p95_w / 1e3, 3, 1);
      json_fixed(stdout, "peak_max_kw", q->peak_max_w / 1e3, 3, 1);
      json_fixed(stdout, "exceed_prob", q->exceed_prob, 4, 0);
      printf("}\n");
    } else {
      printf("%7d %10.1f %10.1f %10.1f %10.1f %8.3f\n", r->n_racks, q->peak_mean_w / 1e3,
             q->peak_p50_w / 1e3, q->peak_p95_w / 1e3, q->peak_max_w / 1e3, q->exceed_prob);
    }
    if (csv)
      fprintf(csv, "%s,%d,%d,%.3f,%.3f,%.3f,%.3f,%.3f,%.4f\n", meth, r->n_racks, samples,
              q->peak_mean_w / 1e3, q->peak_p05_w / 1e3, q->peak_p50_w / 1e3, q->peak_p95_w / 1e3,
              q->peak_max_w / 1e3, q->exceed_prob);
  }
  if (study_json) {
    printf("{\"summary\":true,\"method\":\"%s\",", meth);
    json_fixed(stdout, "row_capacity_kw", cap_kw, 3, 1);
    json_fixed(stdout, "rack_nameplate_kw", rack_plate_kw, 3, 1);
    printf("\"racks_by_nameplate\":%d,\"racks_by_trace_p95\":%d,\"racks_by_trace_no_exceed\":%d,"
           "\"n_samples\":%d,\"racks_generated\":%d}\n",
           o->racks_by_nameplate, o->racks_by_trace_p95, o->racks_by_trace_no_exceed, samples,
           o->racks_generated);
  } else {
    printf("# row capacity %.0f kW (IT): %d racks by nameplate (%.1f kW/rack); by traces: %d "
           "with p95 peak within, %d never exceeding in %d draws (of %d racks generated)\n",
           cap_kw, o->racks_by_nameplate, rack_plate_kw, o->racks_by_trace_p95,
           o->racks_by_trace_no_exceed, samples, o->racks_generated);
  }
  /* The table and the chart first, the report last: a report that looks
   * complete (it links both) means every file was written. */
  if (csv && !study_close(csv, csv_path) && rc == HR_OK)
    rc = HR_ERR_IO;
  if (dir && rc == HR_OK && nr >= 2) {
    const double *ys[3] = {pl + nr, pl + 2 * nr, pl + 3 * nr};
    const char *nm[3] = {"peak p50", "peak p95", "row capacity"};
    rc = write_chart(dir, "oversub", "Row peak (1-s) vs racks drawn", "racks", "power [kW]", pl, ys,
                     nm, 3, nr);
  }
  if (dir && rc == HR_OK) {
    snprintf(path, sizeof path, "%s/report.md", dir);
    FILE *md = study_open(path);
    if (md) {
      fprintf(md,
              "# Oversubscription study\n\nRow capacity %.0f kW (IT power, 1-s means). "
              "Rack nameplate %.1f kW (%d servers x (%d x 700 W + %.0f W)).\n\n"
              "| sizing | racks per row |\n|---|---|\n| nameplate | %d |\n"
              "| traces (%s), p95 of the peak within capacity | %d |\n"
              "| traces (%s), no draw exceeding | %d |\n\n"
              "Racks are drawn without replacement from the %d generated racks, %d draws per "
              "count; a count equal to the racks generated has a single possible draw. "
              "`oversub.csv` holds the peak quantiles per count.\n\n"
              "![row peak vs racks](oversub.png)\n\n`oversub.svg` is the chart as SVG.\n",
              cap_kw, rack_plate_kw, cfg->servers_per_rack, cfg->gpus_per_server, cfg->non_gpu_w,
              o->racks_by_nameplate, meth, o->racks_by_trace_p95, meth, o->racks_by_trace_no_exceed,
              o->racks_generated, samples);
      if (!study_close(md, path))
        rc = HR_ERR_IO;
    } else {
      rc = HR_ERR_IO;
    }
  }
  free(pl);
  hr_plan_oversub_study_destroy(o);
  return rc;
}

static int cmd_site_run(int argc, char **argv)
{
  return cmd_site(argc, argv, SITE_RUN);
}

static int cmd_provision(int argc, char **argv)
{
  return cmd_site(argc, argv, SITE_PROVISION);
}

static int cmd_oversub(int argc, char **argv)
{
  return cmd_site(argc, argv, SITE_OVERSUB);
}

int cmd_plan(int argc, char **argv)
{
  static const cli_cmd_t subs[] = {
      {"workload", cmd_workload, "load a request trace or generate one; a summary or --out CSV"},
      {"metrics", cmd_metrics, "fidelity metrics of generated vs measured series (JSON)"},
      {"train", cmd_train, "fit all power models on the measured traces into a model file"},
      {"fidelity", cmd_fidelity, "the held-out fidelity table of every power model"},
      {"generate", cmd_generate, "one replica's power at 0.1 s as CSV"},
      {"descriptors", cmd_plan_descriptors,
       "leave-one-model-out table of the descriptor path and its calibration"},
      {"site", cmd_site_run, "facility power from a workload: utility statistics, report"},
      {"provision", cmd_provision, "the same facility under every power model"},
      {"oversub", cmd_oversub, "racks per row by nameplate vs by generated traces"},
  };
  return cli_dispatch("headroom plan", "Power-trace generation for LLM inference (docs/plan.md).",
                      subs, (int)(sizeof subs / sizeof subs[0]), argc, argv);
}
