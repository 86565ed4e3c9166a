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
#include "headroom/comtrade.h"
#include "headroom/error.h"
#include "headroom/wire.h"

static void usage(FILE *to)
{
  fprintf(to,
          "usage: headroom capture list DIR\n"
          "       headroom capture info FILE.cfg|FILE.cff [--dat FILE.dat]\n"
          "       headroom capture export FILE.cfg|FILE.cff [--dat FILE.dat] [--raw] [-o OUT.csv]\n"
          "       headroom capture convert IN.cfg|IN.cff OUTBASE [--format ascii|binary|binary32|"
          "float32] [--cff] [--ns]\n"
          "\n"
          "list     one line per capture in DIR (name, start, trigger, samples, rate, channels)\n"
          "info     the CFG header and what the reader tolerated (warnings)\n"
          "export   CSV: sample number, raw timestamp, time [ns], analog values in their units\n"
          "         (--raw: the raw codes), digital states; missing values are empty\n"
          "convert  rewrite as COMTRADE 2013 (default FLOAT32, CFG+DAT; --cff one file;\n"
          "         --ns 9-digit dates); integer formats rescale channels that do not fit\n");
}

static void warn_text(FILE *to, const hr_ct_diag_t *d)
{
  static const char *const names[] = {"dat-short",  "dat-long",      "trailing-bytes",
                                      "latin-1",    "cff-markers",   "no-timecode",
                                      "sub-padding", "missing-values", "sample-numbers",
                                      "line-frequency"};
  for (unsigned k = 0; k < sizeof names / sizeof names[0]; k++)
    if (d->warnings & (1u << k))
      fprintf(to, " %s", names[k]);
}

static int load(const char *path, const char *dat, hr_ct_rec_t **rec, hr_ct_diag_t *d)
{
  int rc = hr_ct_read(path, dat, rec, d);
  if (rc != HR_OK) {
    fprintf(stderr, "headroom capture: %s\n", d->message[0] ? d->message : hr_strerror(rc));
    return 1;
  }
  if (d->warnings & (HR_CT_WARN_DAT_SHORT | HR_CT_WARN_DAT_LONG))
    fprintf(stderr, "headroom capture: %s: the CFG declares %" PRId64 " samples, the DAT holds %"
            PRId64 "\n", path, d->declared_samples, d->found_samples);
  return 0;
}

static int do_info(const char *path, const char *dat)
{
  hr_ct_rec_t *r;
  hr_ct_diag_t d;
  if (load(path, dat, &r, &d))
    return 1;
  const hr_ct_cfg_t *c = &r->cfg;
  char t0[40], tt[40];
  hr_time_rfc3339(c->start_ns, t0, sizeof t0);
  hr_time_rfc3339(c->trigger_ns, tt, sizeof tt);
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
    printf("A%-4d %-24s ph=%-3s unit=%-4s a=%.10g b=%.10g %g/%g %c\n", k + 1, a->id, a->ph,
           a->unit, a->a, a->b, a->primary, a->secondary, a->ps);
  }
  for (int k = 0; k < c->n_digital; k++)
    printf("D%-4d %-24s normal=%d\n", k + 1, c->digital[k].id, c->digital[k].normal);
  hr_ct_rec_destroy(r);
  return 0;
}

static int do_export(const char *path, const char *dat, int raw, const char *out)
{
  hr_ct_rec_t *r;
  hr_ct_diag_t d;
  if (load(path, dat, &r, &d))
    return 1;
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
  hr_ct_diag_t d;
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

static int do_list(const char *dir)
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
  printf("name,start,trigger,samples,rate_hz,analog,digital,format\n");
  for (size_t k = 0; k < n; k++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, names[k]);
    hr_ct_rec_t *r;
    hr_ct_diag_t d;
    if (hr_ct_read(path, NULL, &r, &d) != HR_OK) {
      fprintf(stderr, "headroom capture: %s\n", d.message);
      bad = 1;
    } else {
      char t0[40], tt[40];
      hr_time_rfc3339(r->cfg.start_ns, t0, sizeof t0);
      hr_time_rfc3339(r->cfg.trigger_ns, tt, sizeof tt);
      printf("%s,%s,%s,%" PRId64 ",%g,%d,%d,%s\n", names[k], t0, tt, r->n_samples,
             hr_ct_rate_hz(r, 0), r->cfg.n_analog, r->cfg.n_digital,
             hr_ct_format_name(r->cfg.format));
      hr_ct_rec_destroy(r);
    }
    free(names[k]);
  }
  free(names);
  return bad;
}

int cmd_capture(int argc, char **argv)
{
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const char *verb = argv[1], *dat = NULL, *out = NULL;
  const char *pos[2] = {NULL, NULL};
  int npos = 0, raw = 0, cff = 0, ns = 0;
  hr_ct_format_t fmt = HR_CT_FLOAT32;
  for (int k = 2; k < argc; k++) {
    if (strcmp(argv[k], "--dat") == 0 && k + 1 < argc)
      dat = argv[++k];
    else if (strcmp(argv[k], "-o") == 0 && k + 1 < argc)
      out = argv[++k];
    else if (strcmp(argv[k], "--raw") == 0)
      raw = 1;
    else if (strcmp(argv[k], "--cff") == 0)
      cff = 1;
    else if (strcmp(argv[k], "--ns") == 0)
      ns = 1;
    else if (strcmp(argv[k], "--format") == 0 && k + 1 < argc) {
      if (hr_ct_format_parse(argv[++k], &fmt) != HR_OK) {
        fprintf(stderr, "headroom capture: unknown format '%s'\n", argv[k]);
        return 2;
      }
    } else if (argv[k][0] == '-' && argv[k][1]) {
      fprintf(stderr, "headroom capture: unknown option '%s'\n", argv[k]);
      return 2;
    } else if (npos < 2)
      pos[npos++] = argv[k];
    else {
      usage(stderr);
      return 2;
    }
  }
  if (strcmp(verb, "list") == 0 && npos == 1)
    return do_list(pos[0]);
  if (strcmp(verb, "info") == 0 && npos == 1)
    return do_info(pos[0], dat);
  if (strcmp(verb, "export") == 0 && npos == 1)
    return do_export(pos[0], dat, raw, out);
  if (strcmp(verb, "convert") == 0 && npos == 2)
    return do_convert(pos[0], dat, pos[1], fmt, cff, ns);
  usage(stderr);
  return 2;
}
