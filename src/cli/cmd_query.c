/* headroom query: reads a device's stored series over a time range at one
 * resolution, or its events, from a measurement store (docs/store.md,
 * docs/cli.md), as JSON Lines or CSV.
 *
 *   headroom query STORE.db --device ID [--res 200ms|3s|10min] [--events]
 *                  [--from T] [--to T] [--csv]
 *
 * T is an RFC 3339 time in UTC ("2026-01-01T00:00:00Z", fractions allowed)
 * or integer nanoseconds since the epoch. */
#define _GNU_SOURCE /* timegm */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "cli_util.h"
#include "headroom/store.h"
#include "headroom/wire.h"

/* RFC 3339 in UTC (Z or +00:00) or decimal ns; 0 on success. */
static int parse_time(const char *s, int64_t *out)
{
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (end != s && *end == '\0' && errno == 0) {
    *out = v;
    return 0;
  }
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  int n = 0;
  if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
             &tm.tm_min, &tm.tm_sec, &n) != 6)
    return -1;
  const char *p = s + n;
  int64_t frac_ns = 0;
  if (*p == '.') {
    int digits = 0;
    for (p++; *p >= '0' && *p <= '9'; p++, digits++)
      if (digits < 9)
        frac_ns = frac_ns * 10 + (*p - '0');
    if (digits == 0)
      return -1;
    for (; digits < 9; digits++)
      frac_ns *= 10;
  }
  if (strcmp(p, "Z") != 0 && strcmp(p, "+00:00") != 0)
    return -1;
  if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
      tm.tm_min > 59 || tm.tm_sec > 60)
    return -1;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  time_t secs = timegm(&tm);
  /* int64 ns reach from 1677 to 2262. */
  if (secs < -9223372036LL || secs > 9223372035LL)
    return -1;
  *out = (int64_t)secs * 1000000000LL + frac_ns;
  return 0;
}

typedef struct q {
  int csv;
  uint64_t n;
} q_t;

static void num(FILE *f, double v, int csv)
{
  if (isfinite(v))
    fprintf(f, "%.9g", v);
  else if (!csv)
    fputs("null", f);
}

static int on_row(const hr_store_row_t *r, void *user)
{
  q_t *q = user;
  char t[40];
  hr_time_rfc3339(r->t_ns, t, sizeof t);
  if (q->csv) {
    printf("%s,%lld,%lld,%u,", t, (long long)r->t_ns, (long long)r->dur_ns, (unsigned)r->flags);
    num(stdout, r->freq_hz, 1);
    for (int k = 0; k < HR_MAX_U; k++)
      putchar(','), num(stdout, r->u_rms_v[k], 1);
    for (int k = 0; k < HR_MAX_I; k++)
      putchar(','), num(stdout, r->i_rms_a[k], 1);
    for (int k = 0; k < 3; k++)
      putchar(','), num(stdout, r->p_w[k], 1);
    putchar(','), num(stdout, r->p_total_w, 1);
    putchar(','), num(stdout, r->s_eff_va, 1);
    putchar(','), num(stdout, r->pf_total, 1);
    putchar('\n');
  } else {
    printf("{\"t\":\"%s\",\"t_ns\":%lld,\"dur_ns\":%lld,\"flags\":%u,\"freq_hz\":", t,
           (long long)r->t_ns, (long long)r->dur_ns, (unsigned)r->flags);
    num(stdout, r->freq_hz, 0);
    printf(",\"u_rms_v\":[");
    for (int k = 0; k < HR_MAX_U; k++)
      printf("%s", k ? "," : ""), num(stdout, r->u_rms_v[k], 0);
    printf("],\"i_rms_a\":[");
    for (int k = 0; k < HR_MAX_I; k++)
      printf("%s", k ? "," : ""), num(stdout, r->i_rms_a[k], 0);
    printf("],\"p_w\":[");
    for (int k = 0; k < 3; k++)
      printf("%s", k ? "," : ""), num(stdout, r->p_w[k], 0);
    printf("],\"p_total_w\":");
    num(stdout, r->p_total_w, 0);
    printf(",\"s_eff_va\":");
    num(stdout, r->s_eff_va, 0);
    printf(",\"pf_total\":");
    num(stdout, r->pf_total, 0);
    printf("}\n");
  }
  q->n++;
  return 0;
}

static int on_event(const hr_store_event_t *e, void *user)
{
  q_t *q = user;
  char t[40];
  hr_time_rfc3339(e->start_ns, t, sizeof t);
  const char *type = hr_event_type_name((hr_event_type_t)e->type);
  if (q->csv) {
    printf("%s,%lld,%lld,%s,%d,%u,", t, (long long)e->start_ns, (long long)e->duration_ns, type,
           e->ended, e->channels);
    num(stdout, e->extreme, 1);
    putchar(',');
    num(stdout, e->depth_pct, 1);
    printf(",%u\n", (unsigned)e->flags);
  } else {
    printf("{\"start\":\"%s\",\"start_ns\":%lld,\"duration_ns\":%lld,\"type\":\"%s\","
           "\"ended\":%d,\"channels\":%u,\"extreme\":",
           t, (long long)e->start_ns, (long long)e->duration_ns, type, e->ended, e->channels);
    num(stdout, e->extreme, 0);
    printf(",\"depth_pct\":");
    num(stdout, e->depth_pct, 0);
    printf(",\"flags\":%u}\n", (unsigned)e->flags);
  }
  q->n++;
  return 0;
}

int cmd_query(int argc, char **argv)
{
  const char *device = NULL, *res_s = "200ms", *from_s = NULL, *to_s = NULL;
  int events = 0, csv = 0, json = 0;
  const cli_opt_t opts[] = {
      {.name = "--device",
       .kind = CLI_STR,
       .dst = &device,
       .arg = "ID",
       .help = "the device (meter --device-id; required)"},
      {.name = "--res",
       .kind = CLI_STR,
       .dst = &res_s,
       .arg = "200ms|3s|10min",
       .help = "resolution of the series (default 200ms)"},
      {.name = "--events",
       .kind = CLI_FLAG,
       .dst = &events,
       .help = "the events (by start time) instead of the series"},
      {.name = "--from",
       .kind = CLI_STR,
       .dst = &from_s,
       .arg = "T",
       .help = "start of the range, included: RFC 3339 UTC or ns (default: all)"},
      {.name = "--to",
       .kind = CLI_STR,
       .dst = &to_s,
       .arg = "T",
       .help = "end of the range, excluded (default: all)"},
      {.name = "--csv", .kind = CLI_FLAG, .dst = &csv, .help = "CSV with a header line"},
      {.name = "--json",
       .kind = CLI_FLAG,
       .dst = &json,
       .help = "JSON Lines (the default; accepted for uniformity)"},
  };
  const cli_spec_t spec = {
      .prog = "headroom query",
      .usage = "STORE.db --device ID [options]",
      .about = "A device's stored series at one resolution, or its events, in a time range,\n"
               "from a store written by headroom meter --store: a SQLite file, or a\n"
               "PostgreSQL database (postgresql://... or \"host=... dbname=...\").\n"
               "JSON Lines (missing values null) or CSV (missing values empty).",
      .epilog = "Exit status: 0 (also for an empty range), 1 when the store cannot be read\n"
                "or holds no such device, 2 for bad usage.",
      .opts = opts,
      .n_opts = (int)(sizeof opts / sizeof opts[0]),
      .max_operands = 1,
  };
  const char *pos[1];
  int n_pos = 0;
  int rc = cli_parse(&spec, argc, argv, pos, &n_pos);
  if (rc != CLI_GO_ON)
    return rc;
  if (n_pos == 0)
    return cli_bad(&spec, NULL, "no store given (see headroom query --help)");
  if (!device)
    return cli_bad(&spec, "--device", "required: the device to read");
  if (csv && json)
    return cli_bad(&spec, "--csv", "and --json exclude each other");
  hr_store_res_t res;
  if (hr_store_res_parse(res_s, &res) != HR_OK)
    return cli_bad(&spec, "--res", "'%s' is not one of 200ms, 3s, 10min", res_s);
  int64_t t0 = INT64_MIN, t1 = INT64_MAX;
  if (from_s && parse_time(from_s, &t0) != 0)
    return cli_bad(&spec, "--from", "'%s' is not an RFC 3339 UTC time (1677..2262) or ns", from_s);
  if (to_s && parse_time(to_s, &t1) != 0)
    return cli_bad(&spec, "--to", "'%s' is not an RFC 3339 UTC time (1677..2262) or ns", to_s);
  /* Opening creates a missing store: a query must not. */
  struct stat st;
  if (!hr_store_target_is_pg(pos[0])) {
    /* errno only when stat failed: a folder left a stale ENOENT from
     * earlier calls ("No such file or directory"). */
    int st_rc = stat(pos[0], &st);
    if (st_rc != 0 || !S_ISREG(st.st_mode)) {
      fprintf(stderr, "headroom query: %s: %s\n", pos[0],
              st_rc != 0            ? strerror(errno)
              : S_ISDIR(st.st_mode) ? "is a directory, not a store file"
                                    : "not a regular file");
      return 1;
    }
  }
  hr_store_cfg_t cfg;
  hr_store_cfg_init(&cfg, pos[0]);
  cfg.read_only = 1; /* a query changes nothing, and makes no store of another file */
  hr_store_t *s = NULL;
  if ((rc = hr_store_open(&cfg, &s)) != HR_OK) {
    fprintf(stderr, "headroom query: %s: %s (not a headroom store?)\n", pos[0], hr_strerror(rc));
    return 1;
  }
  q_t q = {csv, 0};
  if (csv && events)
    printf("start,start_ns,duration_ns,type,ended,channels,extreme,depth_pct,flags\n");
  else if (csv)
    printf("t,t_ns,dur_ns,flags,freq_hz,u1_v,u2_v,u3_v,i1_a,i2_a,i3_a,in_a,p1_w,p2_w,p3_w,"
           "p_total_w,s_eff_va,pf_total\n");
  rc = events ? hr_store_query_events(s, device, t0, t1, on_event, &q)
              : hr_store_query_rows(s, device, res, t0, t1, on_row, &q);
  int crc = hr_store_close(s);
  if (rc == HR_ERR_NOT_FOUND) {
    fprintf(stderr, "headroom query: %s: no device '%s'\n", pos[0], device);
    return 1;
  }
  if (rc != HR_OK || crc != HR_OK) {
    fprintf(stderr, "headroom query: %s: %s\n", pos[0], hr_strerror(rc != HR_OK ? rc : crc));
    return 1;
  }
  return 0;
}
