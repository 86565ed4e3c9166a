/* headroom capture: list, inspect, export (CSV) and convert COMTRADE captures. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "cli_opt.h"
#include "cli_util.h"
#include "headroom/comtrade.h"
#include "headroom/error.h"
#include "headroom/wire.h"

static void warn_text(FILE *to, const hr_ct_info_t *d)
{
  static const char *const names[] = {
      "dat-short",   "dat-long",    "trailing-bytes", "latin-1",        "cff-markers",
      "no-timecode", "sub-padding", "missing-values", "sample-numbers", "line-frequency"};
  for (unsigned k = 0; k < sizeof names / sizeof names[0]; k++)
    if (d->warnings & (1u << k))
      fprintf(to, " %s", names[k]);
}

/* A recording whose CFG or DAT is standard input ("-") is read whole and
 * parsed from memory: hr_ct_read finds a DAT beside its CFG by name, which a
 * pipe has not, so --dat must then name it (a CFF has no separate DAT and is
 * read from a file only). */
static int read_stdio(const char *path, const char *dat, hr_ct_rec_t **rec, hr_ct_info_t *info,
                      hr_diag_t *d)
{
  char *cfg_text = NULL, *dat_bytes = NULL;
  size_t cfg_len = 0, dat_len = 0;
  memset(info, 0, sizeof *info);
  memset(d, 0, sizeof *d);
  if (!dat) /* refused by parse() already */
    return d->code = HR_ERR_INVALID_ARG;
  if (cli_read_all(path, &cfg_text, &cfg_len) != 0 ||
      cli_read_all(dat, &dat_bytes, &dat_len) != 0) {
    const char *which = cfg_text ? dat : path;
    snprintf(d->source, sizeof d->source, "%s", cli_is_stdio(which) ? "stdin" : which);
    snprintf(d->message, sizeof d->message, "%s", strerror(errno));
    d->code = HR_ERR_IO;
    free(cfg_text);
    return HR_ERR_IO;
  }
  hr_ct_cfg_t cfg;
  int rc = hr_ct_cfg_parse(cfg_text, cfg_len, cli_is_stdio(path) ? "stdin" : path, &cfg, info, d);
  if (rc == HR_OK) {
    hr_ct_info_t di;
    rc = hr_ct_dat_parse(&cfg, cfg.format, dat_bytes, dat_len, cli_is_stdio(dat) ? "stdin" : dat,
                         rec, &di, d);
    /* The same facts hr_ct_read gives: the CFG's declared count, the DAT's rest. */
    info->warnings |= di.warnings;
    info->found_samples = di.found_samples;
    info->trailing_bytes = di.trailing_bytes;
    info->missing_values = di.missing_values;
    hr_ct_cfg_free(&cfg);
  }
  free(cfg_text);
  free(dat_bytes);
  return rc;
}

/* Prints a reader error in the one format of the project. */
static void print_diag(const hr_diag_t *d)
{
  char text[1024];
  hr_diag_format(d, text, sizeof text);
  fprintf(stderr, "headroom capture: %s\n", text);
}

static int load(const char *path, const char *dat, hr_ct_rec_t **rec, hr_ct_info_t *info)
{
  hr_diag_t d;
  int rc = cli_is_stdio(path) || cli_is_stdio(dat) ? read_stdio(path, dat, rec, info, &d)
                                                   : hr_ct_read(path, dat, rec, info, &d);
  if (rc != HR_OK) {
    print_diag(&d);
    return 1;
  }
  if (info->warnings & (HR_CT_WARN_DAT_SHORT | HR_CT_WARN_DAT_LONG))
    fprintf(stderr,
            "headroom capture: %s: the CFG declares %" PRId64 " samples, the DAT holds %" PRId64
            "\n",
            path, info->declared_samples, info->found_samples);
  return 0;
}

static void info_json(const hr_ct_rec_t *r, const hr_ct_info_t *d, const char *t0, const char *tt)
{
  const hr_ct_cfg_t *c = &r->cfg;
  printf("{\"station\":");
  cli_json_str(stdout, c->station);
  printf(",\"device\":");
  cli_json_str(stdout, c->rec_dev_id);
  printf(",\"revision\":%d,\"format\":\"%s\",\"analog\":%d,\"digital\":%d,", c->rev_year,
         hr_ct_format_name(c->format), c->n_analog, c->n_digital);
  cli_json_num(stdout, "line_freq_hz", c->line_freq_hz, 1);
  printf("\"rates\":[");
  for (int k = 0; k < c->n_rates; k++) {
    printf("%s{", k ? "," : "");
    cli_json_num(stdout, "samp_hz", c->rates[k].samp_hz, 1);
    printf("\"end_sample\":%" PRId64 "}", c->rates[k].end_sample);
  }
  printf("],\"start\":\"%s\",\"trigger\":\"%s\",\"samples\":%" PRId64 ",\"cfg_samples\":%" PRId64
         ",",
         t0, tt, r->n_samples, c->end_sample);
  cli_json_num(stdout, "timemult", c->timemult, 1);
  printf("\"warnings\":%u,\"channels\":[", d->warnings);
  for (int k = 0; k < c->n_analog; k++) {
    const hr_ct_analog_t *a = &c->analog[k];
    printf("%s{\"kind\":\"analog\",\"id\":", k ? "," : "");
    cli_json_str(stdout, a->id);
    printf(",\"ph\":");
    cli_json_str(stdout, a->ph);
    printf(",\"unit\":");
    cli_json_str(stdout, a->unit);
    printf(",");
    cli_json_num(stdout, "a", a->a, 1);
    cli_json_num(stdout, "b", a->b, 1);
    cli_json_num(stdout, "primary", a->primary, 1);
    cli_json_num(stdout, "secondary", a->secondary, 1);
    printf("\"ps\":\"%c\"}", a->ps == 'P' || a->ps == 'p' ? 'P' : 'S');
  }
  for (int k = 0; k < c->n_digital; k++) {
    printf("%s{\"kind\":\"digital\",\"id\":", k || c->n_analog ? "," : "");
    cli_json_str(stdout, c->digital[k].id);
    printf(",\"normal\":%d}", c->digital[k].normal);
  }
  printf("]}\n");
}

static int do_info(const char *path, const char *dat, int json)
{
  hr_ct_rec_t *r;
  hr_ct_info_t d;
  if (load(path, dat, &r, &d))
    return 1;
  const hr_ct_cfg_t *c = &r->cfg;
  char t0[40], tt[40];
  hr_time_rfc3339(c->start_ns, t0, sizeof t0);
  hr_time_rfc3339(c->trigger_ns, tt, sizeof tt);
  if (json) {
    info_json(r, &d, t0, tt);
    hr_ct_rec_destroy(r);
    return 0;
  }
  printf("station      %s\ndevice       %s\nrevision     %d\nformat       %s\n", c->station,
         c->rec_dev_id, c->rev_year, hr_ct_format_name(c->format));
  printf("channels     %d analog, %d digital\nline freq    %g Hz\n", c->n_analog, c->n_digital,
         c->line_freq_hz);
  for (int k = 0; k < c->n_rates; k++)
    printf("rate %-2d      %g Hz to sample %" PRId64 "\n", k + 1, c->rates[k].samp_hz,
           c->rates[k].end_sample);
  printf("start        %s\ntrigger      %s\nsamples      %" PRId64 " (CFG: %" PRId64 ")\n", t0, tt,
         r->n_samples, c->end_sample);
  printf("timemult     %g\nwarnings    ", c->timemult);
  warn_text(stdout, &d);
  printf("%s\n", d.warnings ? "" : " none");
  for (int k = 0; k < c->n_analog; k++) {
    const hr_ct_analog_t *a = &c->analog[k];
    printf("A%-4d %-24s ph=%-3s unit=%-4s a=%.10g b=%.10g %g/%g %c\n", k + 1, a->id, a->ph, a->unit,
           a->a, a->b, a->primary, a->secondary, a->ps);
  }
  for (int k = 0; k < c->n_digital; k++)
    printf("D%-4d %-24s normal=%d\n", k + 1, c->digital[k].id, c->digital[k].normal);
  hr_ct_rec_destroy(r);
  return 0;
}

static int do_export(const char *path, const char *dat, int raw, const char *out)
{
  hr_ct_rec_t *r;
  hr_ct_info_t d;
  if (load(path, dat, &r, &d))
    return 1;
  if (cli_is_stdio(out))
    out = NULL;
  FILE *fo = out ? fopen(out, "w") : stdout;
  if (!fo) {
    fprintf(stderr, "headroom capture: %s: %s\n", out, strerror(errno));
    hr_ct_rec_destroy(r);
    return 1;
  }
  const hr_ct_cfg_t *c = &r->cfg;
  fprintf(fo, "n,timestamp,t_ns");
  for (int k = 0; k < c->n_analog; k++)
    fprintf(fo, ",%s%s%s", c->analog[k].id, raw ? "" : " [", raw ? "" : c->analog[k].unit),
        fprintf(fo, "%s", raw ? "" : "]");
  for (int k = 0; k < c->n_digital; k++)
    fprintf(fo, ",%s", c->digital[k].id);
  fputc('\n', fo);
  size_t na = (size_t)c->n_analog, nd = (size_t)c->n_digital;
  for (int64_t k = 0; k < r->n_samples; k++) {
    fprintf(fo, "%" PRId64 ",", r->sample_num[k]);
    if (r->timestamp[k] != HR_CT_NO_TIME)
      fprintf(fo, "%" PRId64, r->timestamp[k]);
    int64_t t = hr_ct_time_ns(r, k);
    if (t != INT64_MIN)
      fprintf(fo, ",%" PRId64, t);
    else
      fputc(',', fo);
    for (size_t a = 0; a < na; a++) {
      double v = raw ? r->raw[(size_t)k * na + a] : hr_ct_value(r, (int)a, k);
      if (isnan(v))
        fputc(',', fo);
      else
        fprintf(fo, ",%.17g", v);
    }
    for (size_t b = 0; b < nd; b++)
      fprintf(fo, ",%d", r->digital[(size_t)k * nd + b]);
    fputc('\n', fo);
  }
  int bad = ferror(fo);
  if (out)
    bad |= fclose(fo) != 0;
  else
    bad |= fflush(fo) != 0;
  hr_ct_rec_destroy(r);
  if (bad) {
    fprintf(stderr, "headroom capture: write error\n");
    return 1;
  }
  return 0;
}

static int do_convert(const char *in, const char *dat, const char *base, hr_ct_format_t fmt,
                      int cff, int ns)
{
  hr_ct_rec_t *r;
  hr_ct_info_t d;
  if (load(in, dat, &r, &d))
    return 1;
  /* Timestamps follow the date precision (§7.4.9): µs <-> ns. */
  int from9 = r->cfg.frac_digits > 6, to9 = ns;
  for (int64_t k = 0; k < r->n_samples && from9 != to9; k++)
    if (r->timestamp[k] != HR_CT_NO_TIME)
      r->timestamp[k] = to9 ? r->timestamp[k] * 1000 : r->timestamp[k] / 1000;
  /* Binary DATs hold unsigned timestamps: shift a negative axis (1991 files
   * count from the trigger) so it starts at 0; times are relative to the
   * first sample, so hr_ct_time_ns is unchanged. */
  int64_t lo = 0;
  for (int64_t k = 0; k < r->n_samples; k++)
    if (r->timestamp[k] != HR_CT_NO_TIME && r->timestamp[k] < lo)
      lo = r->timestamp[k];
  for (int64_t k = 0; k < r->n_samples && fmt != HR_CT_ASCII && lo < 0; k++)
    if (r->timestamp[k] != HR_CT_NO_TIME)
      r->timestamp[k] -= lo;
  int rc = hr_ct_rec_quantize(r, fmt);
  hr_ct_write_opts_t o = {.format = fmt, .cff = cff, .frac_digits = ns ? 9 : 6};
  if (rc == HR_OK)
    rc = hr_ct_write(r, base, &o);
  hr_ct_rec_destroy(r);
  if (rc != HR_OK) {
    fprintf(stderr, "headroom capture: writing %s: %s\n", base, hr_strerror(rc));
    return 1;
  }
  return 0;
}

static int has_ext(const char *name, const char *ext)
{
  size_t n = strlen(name), e = strlen(ext);
  return n > e && strcasecmp(name + n - e, ext) == 0;
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int do_list(const char *dir, int json)
{
  DIR *dp = opendir(dir);
  if (!dp) {
    fprintf(stderr, "headroom capture: %s: %s\n", dir, strerror(errno));
    return 1;
  }
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *e;
  while ((e = readdir(dp)) != NULL) {
    if (!has_ext(e->d_name, ".cfg") && !has_ext(e->d_name, ".cff"))
      continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 64;
      char **nn = realloc(names, cap * sizeof *nn);
      if (!nn)
        break;
      names = nn;
    }
    names[n] = strdup(e->d_name);
    if (names[n])
      n++;
  }
  closedir(dp);
  if (n)
    qsort(names, n, sizeof *names, cmp_str);
  int bad = 0;
  if (!json)
    printf("name,start,trigger,samples,rate_hz,analog,digital,format\n");
  for (size_t k = 0; k < n; k++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, names[k]);
    hr_ct_rec_t *r;
    hr_diag_t d;
    if (hr_ct_read(path, NULL, &r, NULL, &d) != HR_OK) {
      print_diag(&d);
      bad = 1;
    } else {
      char t0[40], tt[40];
      hr_time_rfc3339(r->cfg.start_ns, t0, sizeof t0);
      hr_time_rfc3339(r->cfg.trigger_ns, tt, sizeof tt);
      if (json) {
        printf("{\"name\":");
        cli_json_str(stdout, names[k]);
        printf(",\"start\":\"%s\",\"trigger\":\"%s\",\"samples\":%" PRId64 ",", t0, tt,
               r->n_samples);
        cli_json_num(stdout, "rate_hz", hr_ct_rate_hz(r, 0), 1);
        printf("\"analog\":%d,\"digital\":%d,\"format\":\"%s\"}\n", r->cfg.n_analog,
               r->cfg.n_digital, hr_ct_format_name(r->cfg.format));
      } else {
        printf("%s,%s,%s,%" PRId64 ",%g,%d,%d,%s\n", names[k], t0, tt, r->n_samples,
               hr_ct_rate_hz(r, 0), r->cfg.n_analog, r->cfg.n_digital,
               hr_ct_format_name(r->cfg.format));
      }
      hr_ct_rec_destroy(r);
    }
    free(names[k]);
  }
  free(names);
  return bad;
}

/* ---- the subcommands: one option table each ---------------------------- */

#define DAT_OPT(where)                                                                             \
  {                                                                                                \
    .name = "--dat", .kind = CLI_STR, .dst = (where), .arg = "FILE.dat",                           \
    .help = "the DAT, when it is not the CFG's name with .dat (- reads standard input)"            \
  }

/* Parses argv against opts; the operands go to pos[0..want).  dat: where
 * --dat went, or NULL for a subcommand without it.  CLI_GO_ON, or the exit
 * status. */
static int parse(const char *prog, const char *usage, const char *about, const cli_opt_t *opts,
                 int n_opts, int want, int argc, char **argv, const char **pos,
                 const char *const *dat)
{
  const cli_spec_t spec = {.prog = prog,
                           .usage = usage,
                           .about = about,
                           .opts = opts,
                           .n_opts = n_opts,
                           .max_operands = want};
  int n = 0;
  int rc = cli_parse(&spec, argc, argv, pos, &n);
  if (rc != CLI_GO_ON)
    return rc;
  if (n < want)
    return cli_bad(&spec, NULL, "expected %d operand%s: %s (see %s --help)", want,
                   want == 1 ? "" : "s", usage, prog);
  /* A pipe has no name to find the DAT beside, and one input is one stream. */
  if (dat && cli_is_stdio(pos[0]) && (!*dat || cli_is_stdio(*dat)))
    return cli_bad(&spec, "--dat", "must name the DAT file when the CFG is standard input");
  return CLI_GO_ON;
}

static int cap_list(int argc, char **argv)
{
  const char *pos[1];
  int json = 0;
  const cli_opt_t opts[] = {{.name = "--json",
                             .kind = CLI_FLAG,
                             .dst = &json,
                             .help = "one JSON object per recording instead of CSV"}};
  int rc = parse("headroom capture list", "DIR",
                 "One CSV line per .cfg/.cff in DIR: name, start, trigger, samples, rate,\n"
                 "channels, DAT format.  A file that does not read is reported (exit 1).",
                 opts, 1, 1, argc, argv, pos, NULL);
  return rc != CLI_GO_ON ? rc : do_list(pos[0], json);
}

static int cap_info(int argc, char **argv)
{
  const char *dat = NULL, *pos[1];
  int json = 0;
  const cli_opt_t opts[] = {DAT_OPT(&dat),
                            {.name = "--json",
                             .kind = CLI_FLAG,
                             .dst = &json,
                             .help = "one JSON object instead of the text"}};
  int rc = parse("headroom capture info", "FILE.cfg|FILE.cff|- [--dat FILE.dat]",
                 "The CFG header, the channels and what the reader tolerated (warnings).\n"
                 "FILE - reads the CFG from standard input; --dat then names the DAT.",
                 opts, (int)(sizeof opts / sizeof opts[0]), 1, argc, argv, pos, &dat);
  return rc != CLI_GO_ON ? rc : do_info(pos[0], dat, json);
}

static int cap_export(int argc, char **argv)
{
  const char *dat = NULL, *out = NULL, *pos[1];
  int raw = 0;
  const cli_opt_t opts[] = {
      DAT_OPT(&dat),
      {.name = "--raw",
       .kind = CLI_FLAG,
       .dst = &raw,
       .help = "the raw codes instead of the values in their units"},
      {.name = "--out",
       .short_name = 'o',
       .kind = CLI_STR,
       .dst = &out,
       .arg = "OUT.csv",
       .help = "write the CSV to OUT.csv (default and -: standard output)"},
  };
  int rc = parse("headroom capture export", "FILE.cfg|FILE.cff|- [options]",
                 "CSV: sample number, raw timestamp, time [ns], analog values in their units,\n"
                 "digital states; missing values are empty.  FILE - reads the CFG from\n"
                 "standard input; --dat then names the DAT.",
                 opts, (int)(sizeof opts / sizeof opts[0]), 1, argc, argv, pos, &dat);
  return rc != CLI_GO_ON ? rc : do_export(pos[0], dat, raw, out);
}

static int cap_convert(int argc, char **argv)
{
  const char *dat = NULL, *fmt_s = "float32", *pos[2];
  int cff = 0, ns = 0;
  const cli_opt_t opts[] = {
      DAT_OPT(&dat),
      {.name = "--format",
       .kind = CLI_STR,
       .dst = &fmt_s,
       .arg = "ascii|binary|binary32|float32",
       .help = "the DAT format written (default float32)"},
      {.name = "--cff", .kind = CLI_FLAG, .dst = &cff, .help = "one .cff file instead of CFG+DAT"},
      {.name = "--ns",
       .kind = CLI_FLAG,
       .dst = &ns,
       .help = "9-digit (nanosecond) dates and timestamps"},
  };
  const char *usage = "IN.cfg|IN.cff|- OUTBASE [options]";
  const cli_spec_t spec = {.prog = "headroom capture convert", .usage = usage};
  int rc = parse(spec.prog, usage,
                 "Rewrites a recording as COMTRADE 2013; integer formats rescale channels\n"
                 "that do not fit.  IN - reads the CFG from standard input; --dat then names\n"
                 "the DAT.",
                 opts, (int)(sizeof opts / sizeof opts[0]), 2, argc, argv, pos, &dat);
  if (rc != CLI_GO_ON)
    return rc;
  hr_ct_format_t fmt;
  if (hr_ct_format_parse(fmt_s, &fmt) != HR_OK)
    return cli_bad(&spec, "--format",
                   "unknown format '%s' (one of ascii, binary, binary32, "
                   "float32)",
                   fmt_s);
  return do_convert(pos[0], dat, pos[1], fmt, cff, ns);
}

int cmd_capture(int argc, char **argv)
{
  static const cli_cmd_t subs[] = {
      {"list", cap_list, "one line per capture in DIR (name, start, trigger, samples, rate)"},
      {"info", cap_info, "the CFG header and what the reader tolerated (warnings)"},
      {"export", cap_export, "CSV of the samples, in their units or raw codes"},
      {"convert", cap_convert, "rewrite as COMTRADE 2013 (CFG+DAT or CFF, any DAT format)"},
  };
  return cli_dispatch("headroom capture", "COMTRADE captures: list, inspect, export, convert.",
                      subs, (int)(sizeof subs / sizeof subs[0]), argc, argv);
}
