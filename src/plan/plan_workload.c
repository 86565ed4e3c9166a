/* plan module: workloads (request lists) from CSV and JSON Lines traces
 * (read with libcsv and jansson) and from generators. */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>
#include <jansson.h>

#include "core/core.h"
#include "plan/plan_int.h"

void hr_plan_workload_destroy(hr_plan_workload_t *w)
{
  if (!w)
    return;
  free(w->req);
  free(w);
}

static int push(hr_plan_workload_t *w, size_t *cap, const hr_plan_request_t *r)
{
  if (w->n == *cap) {
    size_t nc = *cap ? *cap * 2 : 1024;
    hr_plan_request_t *p = realloc(w->req, nc * sizeof *p);
    if (!p)
      return HR_ERR_NOMEM;
    w->req = p;
    *cap = nc;
  }
  w->req[w->n++] = *r;
  return HR_OK;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil), exact for every year in int range we accept. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static int digits(const char *s, int n, int *v)
{
  int x = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return 0;
    x = x * 10 + (s[i] - '0');
  }
  *v = x;
  return 1;
}

/* "YYYY-MM-DD hh:mm:ss[.f...][Z]" (or 'T' between date and time) into whole
 * seconds since the epoch and a fraction in [0, 1).  Returns 1 on success. */
static int parse_datetime(const char *s, int64_t *sec, double *frac)
{
  while (*s == ' ' || *s == '\t')
    s++;
  int Y, M, D, h, mi, se;
  if (strlen(s) < 19 || !digits(s, 4, &Y) || s[4] != '-' || !digits(s + 5, 2, &M) || s[7] != '-' ||
      !digits(s + 8, 2, &D) || (s[10] != ' ' && s[10] != 'T') || !digits(s + 11, 2, &h) ||
      s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &se))
    return 0;
  if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || mi > 59 || se > 60)
    return 0;
  const char *p = s + 19;
  double f = 0.0, scale = 0.1;
  if (*p == '.') {
    p++;
    if (*p < '0' || *p > '9')
      return 0;
    while (*p >= '0' && *p <= '9') {
      f += (*p - '0') * scale;
      scale *= 0.1;
      p++;
    }
  }
  if (*p == 'Z')
    p++;
  while (*p == ' ' || *p == '\t')
    p++;
  if (*p != '\0')
    return 0;
  *sec = days_from_civil(Y, M, D) * 86400 + h * 3600 + mi * 60 + se;
  *frac = f;
  return 1;
}

static int is_blank(const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
      return 0;
  return 1;
}

static int parse_count(const char *s, int32_t *v)
{
  long x;
  int rc = hr__plan_parse_long(s, &x);
  if (rc == HR_ERR_PARSE)
    return HR_ERR_PARSE;
  if (rc != HR_OK || x < 0 || x > INT32_MAX)
    return HR_ERR_RANGE;
  *v = (int32_t)x;
  return HR_OK;
}

/* ---- CSV: libcsv splits the fields (RFC 4180 quoting: a quoted header such
 * as "TIMESTAMP", quoted fields with commas or line breaks, CRLF); the rows
 * are checked here.  The parser is fed one physical line at a time so that
 * an error names the line a row ends on. */

#define CSV_MAX_FIELDS 4096

typedef struct csv_state {
  const hr_plan_csv_map_t *map;
  hr_plan_workload_t *w;
  hr_diag_t *err;
  size_t cap;
  long line; /* the physical line being fed */
  int rc;    /* the first error; the callbacks do nothing after it */
  int header_done;
  int col[3], need;
  int datetime; /* decided by the first row */
  int64_t sec0;
  double frac0, prev;
  /* the row being read */
  char **f;
  size_t *flen;
  int nf, fcap;
} csv_state_t;

static void csv_field(void *data, size_t len, void *user)
{
  csv_state_t *st = user;
  if (st->rc != HR_OK)
    return;
  if (st->nf == CSV_MAX_FIELDS) {
    hr__plan_err(st->err, st->line, 0, "more than %d fields", CSV_MAX_FIELDS);
    st->rc = HR_ERR_PARSE;
    return;
  }
  if (memchr(data ? data : "", '\0', data ? len : 0)) {
    hr__plan_err(st->err, st->line, st->nf + 1, "a NUL byte in a field");
    st->rc = HR_ERR_PARSE;
    return;
  }
  if (st->nf == st->fcap) {
    int nc = st->fcap ? 2 * st->fcap : 16;
    char **f = realloc(st->f, (size_t)nc * sizeof *f);
    size_t *fl = f ? realloc(st->flen, (size_t)nc * sizeof *fl) : NULL;
    if (f)
      st->f = f;
    if (!f || !fl) {
      st->rc = HR_ERR_NOMEM;
      hr__plan_err(st->err, st->line, 0, "out of memory");
      return;
    }
    st->flen = fl;
    for (int k = st->fcap; k < nc; k++)
      st->f[k] = NULL;
    st->fcap = nc;
  }
  char *copy = malloc(len + 1);
  if (!copy) {
    st->rc = HR_ERR_NOMEM;
    hr__plan_err(st->err, st->line, 0, "out of memory");
    return;
  }
  if (len)
    memcpy(copy, data, len);
  copy[len] = '\0';
  free(st->f[st->nf]);
  st->f[st->nf] = copy;
  st->flen[st->nf++] = len;
}

/* One data row into a request; HR_OK or the error (st->err set). */
static int csv_row(csv_state_t *st)
{
  const char *const names[3] = {st->map->time_col, st->map->in_col, st->map->out_col};
  hr_plan_workload_t *w = st->w;
  if (st->nf < st->need) {
    hr__plan_err(st->err, st->line, st->nf + 1, "row has %d fields, the header needs %d", st->nf,
                 st->need);
    return HR_ERR_PARSE;
  }
  hr_plan_request_t r;
  const char *ts = st->f[st->col[0]];
  int64_t sec;
  double frac, t;
  if (st->datetime < 0)
    st->datetime = parse_datetime(ts, &sec, &frac);
  if (st->datetime) {
    if (!parse_datetime(ts, &sec, &frac)) {
      hr__plan_err(st->err, st->line, st->col[0] + 1, "%s: not a date-time 'YYYY-MM-DD hh:mm:ss.f'",
                   names[0]);
      return HR_ERR_PARSE;
    }
    if (w->n == 0) {
      st->sec0 = sec;
      st->frac0 = frac;
      w->t0_epoch_s = (double)sec + frac;
    }
    t = (double)(sec - st->sec0) + (frac - st->frac0);
  } else {
    double x;
    if (hr__plan_parse_double(ts, &x) != HR_OK) {
      hr__plan_err(st->err, st->line, st->col[0] + 1, "%s: not a number or date-time", names[0]);
      return HR_ERR_PARSE;
    }
    if (w->n == 0)
      w->t0_epoch_s = x;
    t = (x - w->t0_epoch_s) * st->map->time_unit_s;
  }
  /* Times far apart (1e308 then -1e308) would make spans infinite. */
  if (!(fabs(t) <= HR_PLAN_MAX_SECONDS)) {
    hr__plan_err(st->err, st->line, st->col[0] + 1, "%s: %g s from the first row, beyond %g s",
                 names[0], t, HR_PLAN_MAX_SECONDS);
    return HR_ERR_RANGE;
  }
  if (!(t > st->prev)) {
    hr__plan_err(st->err, st->line, st->col[0] + 1, "%s: %s timestamp (not after the previous row)",
                 names[0], t == st->prev ? "duplicate" : "unsorted");
    return HR_ERR_RANGE;
  }
  st->prev = t;
  r.t_s = t;
  for (int k = 1; k < 3; k++) {
    int32_t v;
    int e = parse_count(st->f[st->col[k]], &v);
    if (e != HR_OK) {
      hr__plan_err(st->err, st->line, st->col[k] + 1, "%s: %s", names[k],
                   e == HR_ERR_PARSE ? "not an integer" : "negative or too large count");
      return e;
    }
    if (k == 1)
      r.in_tokens = v;
    else
      r.out_tokens = v;
  }
  if (push(w, &st->cap, &r) != HR_OK) {
    hr__plan_err(st->err, st->line, 0, "out of memory");
    return HR_ERR_NOMEM;
  }
  return HR_OK;
}

static void csv_end_row(int c, void *user)
{
  csv_state_t *st = user;
  (void)c;
  if (st->rc != HR_OK)
    return;
  if (!st->header_done) {
    const char *const names[3] = {st->map->time_col, st->map->in_col, st->map->out_col};
    st->need = 0;
    for (int k = 0; k < 3; k++) {
      st->col[k] = -1;
      for (int j = 0; j < st->nf && st->col[k] < 0; j++)
        if (strcmp(st->f[j], names[k]) == 0)
          st->col[k] = j;
      if (st->col[k] < 0) {
        hr__plan_err(st->err, st->line, 0, "missing column '%s' in the header", names[k]);
        st->rc = HR_ERR_PARSE;
        return;
      }
      if (st->col[k] + 1 > st->need)
        st->need = st->col[k] + 1;
    }
    st->header_done = 1;
  } else {
    st->rc = csv_row(st);
  }
  st->nf = 0;
}

static int workload_parse_csv_body(const char *buf, size_t len, const hr_plan_csv_map_t *map,
                                   hr_plan_workload_t **out, hr_diag_t *err)
{
  static const hr_plan_csv_map_t azure = {"TIMESTAMP", "ContextTokens", "GeneratedTokens", 1.0};
  if (!out || (!buf && len))
    return HR_ERR_INVALID_ARG;
  *out = NULL;
  if (!map)
    map = &azure;
  if (!map->time_col || !map->in_col || !map->out_col || !(map->time_unit_s > 0.0) ||
      !isfinite(map->time_unit_s))
    return HR_ERR_INVALID_ARG;
  csv_state_t st;
  memset(&st, 0, sizeof st);
  st.map = map;
  st.err = err;
  st.datetime = -1;
  st.prev = -INFINITY;
  st.w = calloc(1, sizeof *st.w);
  struct csv_parser p;
  if (!st.w || csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0) {
    free(st.w);
    return HR_ERR_NOMEM;
  }
  size_t pos = 0;
  while (pos < len && st.rc == HR_OK) {
    const char *s = buf + pos;
    const char *nl = memchr(s, '\n', len - pos);
    size_t n = nl ? (size_t)(nl - s) + 1 : len - pos;
    st.line++;
    if (csv_parse(&p, s, n, csv_field, csv_end_row, &st) != n && st.rc == HR_OK) {
      hr__plan_err(err, st.line, st.nf + 1, "%s", csv_strerror(csv_error(&p)));
      st.rc = HR_ERR_PARSE;
    }
    pos += n;
  }
  if (st.rc == HR_OK && csv_fini(&p, csv_field, csv_end_row, &st) != 0 && st.rc == HR_OK) {
    hr__plan_err(err, st.line, st.nf + 1, "%s", csv_strerror(csv_error(&p)));
    st.rc = HR_ERR_PARSE;
  }
  if (st.rc == HR_OK && !st.header_done) {
    hr__plan_err(err, 1, 0, "empty file: no header line");
    st.rc = HR_ERR_PARSE;
  }
  csv_free(&p);
  for (int k = 0; k < st.fcap; k++)
    free(st.f[k]);
  free(st.f);
  free(st.flen);
  if (st.rc != HR_OK) {
    hr_plan_workload_destroy(st.w);
    return st.rc;
  }
  *out = st.w;
  return HR_OK;
}

static int workload_load_csv_body(const char *path, const hr_plan_csv_map_t *map,
                                  hr_plan_workload_t **out, hr_diag_t *err)
{
  if (!path || !out)
    return HR_ERR_INVALID_ARG;
  char *buf;
  size_t len;
  int rc = hr__plan_read_file(path, &buf, &len);
  if (rc != HR_OK) {
    hr__plan_err(err, 0, 0, "cannot read the file");
    return rc;
  }
  rc = hr_plan_workload_parse_csv(buf, len, map, out, err);
  free(buf);
  return rc;
}

/* ---------------------------------------------------------- generators */

int hr_plan_gen_cfg_init(hr_plan_gen_cfg_t *cfg)
{
  if (!cfg)
    return HR_ERR_INVALID_ARG;
  memset(cfg, 0, sizeof *cfg);
  cfg->arrival = HR_PLAN_ARRIVAL_POISSON;
  cfg->duration_s = 3600.0;
  cfg->rate_per_s = 1.0;
  cfg->burst_cv = 3.0;
  cfg->min_rate_per_s = 0.2;
  cfg->max_rate_per_s = 1.0;
  cfg->period_s = 86400.0;
  cfg->peak_t_s = 14.0 * 3600.0;
  cfg->in_log_mean = log(1020.0);
  cfg->in_log_sd = 1.0;
  cfg->out_log_mean = log(129.0);
  cfg->out_log_sd = 1.0;
  cfg->max_in_tokens = 32768;
  cfg->max_out_tokens = 8192;
  cfg->seed = 1;
  cfg->max_requests = (size_t)100000000;
  return HR_OK;
}

static int32_t lognormal_count(hr_plan_rng_t *r, double mu, double sd, int32_t max)
{
  double x = exp(mu + sd * hr_plan_rng_normal(r));
  if (!(x >= 1.0))
    return 1;
  if (x >= (double)max)
    return max;
  return (int32_t)lround(x);
}

int hr_plan_workload_generate(const hr_plan_gen_cfg_t *cfg, hr_plan_workload_t **out)
{
  if (!cfg || !out || !(cfg->duration_s > 0.0) || !(cfg->duration_s <= HR_PLAN_MAX_SECONDS) ||
      cfg->max_in_tokens < 1 || cfg->max_out_tokens < 1 || cfg->max_requests == 0 ||
      (cfg->lengths_from && cfg->lengths_from->n == 0))
    return HR_ERR_INVALID_ARG;
  double lam_max; /* the rate used to propose arrivals */
  switch (cfg->arrival) {
  case HR_PLAN_ARRIVAL_POISSON:
    if (!(cfg->rate_per_s > 0.0))
      return HR_ERR_INVALID_ARG;
    lam_max = cfg->rate_per_s;
    break;
  case HR_PLAN_ARRIVAL_BURSTY:
    if (!(cfg->rate_per_s > 0.0) || !(cfg->burst_cv >= 1.0))
      return HR_ERR_INVALID_ARG;
    /* The draws per request grow as cv^2 (most gaps round to 0): bound it. */
    if (!(cfg->burst_cv <= HR_PLAN_MAX_BURST_CV))
      return HR_ERR_RANGE;
    lam_max = cfg->rate_per_s;
    break;
  case HR_PLAN_ARRIVAL_DIURNAL:
    if (!(cfg->min_rate_per_s >= 0.0) || !(cfg->max_rate_per_s >= cfg->min_rate_per_s) ||
        !(cfg->max_rate_per_s > 0.0) || !(cfg->period_s > 0.0) || !isfinite(cfg->peak_t_s))
      return HR_ERR_INVALID_ARG;
    if (!(cfg->period_s <= HR_PLAN_MAX_SECONDS))
      return HR_ERR_RANGE;
    lam_max = cfg->max_rate_per_s;
    break;
  default:
    return HR_ERR_INVALID_ARG;
  }
  if (!(lam_max <= HR_PLAN_MAX_RATE_PER_S) || lam_max * cfg->duration_s > HR_PLAN_MAX_ARRIVALS)
    return HR_ERR_RANGE;
  hr_plan_workload_t *w = calloc(1, sizeof *w);
  if (!w)
    return HR_ERR_NOMEM;
  size_t cap = 0;
  /* Two streams: arrival times and lengths do not disturb each other, so
   * changing the length model keeps the same arrival instants. */
  hr_plan_rng_t ra, rl;
  hr_plan_rng_seed(&ra, cfg->seed);
  hr_plan_rng_seed(&rl, cfg->seed ^ 0x5bd1e9955bd1e995ull);
  double shape = 1.0 / (cfg->burst_cv * cfg->burst_cv);
  double t = 0.0;
  for (;;) {
    if (cfg->arrival == HR_PLAN_ARRIVAL_BURSTY) {
      /* A gamma draw that underflows to 0 over a rate so small that
       * shape * rate underflows too would make the gap 0/0. */
      double g = hr_plan_rng_gamma(&ra, shape);
      if (g > 0.0)
        t += g / (shape * lam_max);
    } else {
      t += -log(hr_plan_rng_uniform(&ra)) / lam_max;
    }
    if (!(t < cfg->duration_s))
      break; /* also ends on a NaN time rather than looping */
    if (cfg->arrival == HR_PLAN_ARRIVAL_DIURNAL) {
      /* Lewis-Shedler thinning of a rate max at the peak, min half a period
       * away: lam(t) = min + (max - min) (1 + cos(2 pi (t - peak) / T)) / 2. */
      double ph = 2.0 * M_PI * (t - cfg->peak_t_s) / cfg->period_s;
      double lam =
          cfg->min_rate_per_s + (cfg->max_rate_per_s - cfg->min_rate_per_s) * 0.5 * (1.0 + cos(ph));
      if (hr_plan_rng_uniform(&ra) * lam_max > lam)
        continue;
    }
    if (w->n > 0 && !(t > w->req[w->n - 1].t_s))
      continue; /* a zero gap below double resolution: keep times strictly increasing */
    if (w->n == cfg->max_requests) {
      hr_plan_workload_destroy(w);
      return HR_ERR_RANGE;
    }
    hr_plan_request_t r = {t, 0, 0};
    if (cfg->lengths_from) {
      size_t k = (size_t)(hr_plan_rng_u64(&rl) % cfg->lengths_from->n);
      r.in_tokens = cfg->lengths_from->req[k].in_tokens;
      r.out_tokens = cfg->lengths_from->req[k].out_tokens;
    } else {
      r.in_tokens = lognormal_count(&rl, cfg->in_log_mean, cfg->in_log_sd, cfg->max_in_tokens);
      r.out_tokens = lognormal_count(&rl, cfg->out_log_mean, cfg->out_log_sd, cfg->max_out_tokens);
    }
    if (push(w, &cap, &r) != HR_OK) {
      hr_plan_workload_destroy(w);
      return HR_ERR_NOMEM;
    }
  }
  *out = w;
  return HR_OK;
}

int hr_plan_workload_fit_lengths(const hr_plan_workload_t *w, hr_plan_gen_cfg_t *cfg)
{
  if (!w || !cfg || w->n == 0)
    return HR_ERR_INVALID_ARG;
  double s[2] = {0, 0}, ss[2] = {0, 0};
  for (size_t i = 0; i < w->n; i++) {
    double a = log(w->req[i].in_tokens > 1 ? (double)w->req[i].in_tokens : 1.0);
    double b = log(w->req[i].out_tokens > 1 ? (double)w->req[i].out_tokens : 1.0);
    s[0] += a;
    s[1] += b;
    ss[0] += a * a;
    ss[1] += b * b;
  }
  double n = (double)w->n;
  cfg->in_log_mean = s[0] / n;
  cfg->out_log_mean = s[1] / n;
  cfg->in_log_sd = sqrt(fmax(0.0, ss[0] / n - cfg->in_log_mean * cfg->in_log_mean));
  cfg->out_log_sd = sqrt(fmax(0.0, ss[1] / n - cfg->out_log_mean * cfg->out_log_mean));
  return HR_OK;
}

/* ---------------------------------------------------------- JSON Lines */

/* ---- JSON Lines: jansson parses each line (escapes decoded, numbers of any
 * JSON form, values of any length); the members are checked here. */

/* The 1-based column of the value of top-level member key in the raw line
 * s[0..n), or 0 when it cannot be found as written (an escaped key): only
 * for messages. */
static int value_column(const char *s, size_t n, const char *key)
{
  size_t kl = strlen(key);
  for (size_t i = 0; i + kl + 2 <= n; i++) {
    if (s[i] != '"' || memcmp(s + i + 1, key, kl) != 0 || s[i + kl + 1] != '"')
      continue;
    size_t j = i + kl + 2;
    while (j < n && (s[j] == ' ' || s[j] == '\t'))
      j++;
    if (j >= n || s[j] != ':')
      continue;
    j++;
    while (j < n && (s[j] == ' ' || s[j] == '\t'))
      j++;
    return (int)(j + 1);
  }
  return 0;
}

/* jansson reports the byte just after the token it stopped at; the column
 * of the token's start (1-based) is what a reader looks for. */
static int token_column(const char *s, size_t n, size_t end)
{
  if (end > n)
    end = n;
  size_t i = end;
  if (i > 0 && s[i - 1] == '"') {
    for (i--; i > 0 && s[i - 1] != '"'; i--)
      ;
    i = i > 0 ? i - 1 : 0;
  } else {
    while (i > 0 && (isalnum((unsigned char)s[i - 1]) || strchr("+-.", s[i - 1])))
      i--;
    if (i == end && i > 0)
      i--; /* a one-character token: a bracket, a colon, a comma */
  }
  return (int)i + 1;
}

/* A token count from a JSON value: an integer, or a number with an integral
 * value (1e1 is 10).  HR_OK, HR_ERR_PARSE (not a number: a string "12" is
 * refused, not guessed at), HR_ERR_RANGE (negative or >= 2^31). */
static int json_count(const json_t *v, int32_t *out)
{
  double x;
  if (json_is_integer(v)) {
    json_int_t i = json_integer_value(v);
    if (i < 0 || i > INT32_MAX)
      return HR_ERR_RANGE;
    *out = (int32_t)i;
    return HR_OK;
  }
  if (!json_is_real(v))
    return HR_ERR_PARSE;
  x = json_real_value(v);
  if (x != floor(x))
    return HR_ERR_PARSE;
  if (x < 0 || x > INT32_MAX)
    return HR_ERR_RANGE;
  *out = (int32_t)x;
  return HR_OK;
}

static int workload_parse_jsonl_body(const char *buf, size_t len, const hr_plan_csv_map_t *map,
                                     hr_plan_workload_t **out, hr_diag_t *err)
{
  if (!out || !map || (!buf && len) || !map->time_col || !map->in_col || !map->out_col ||
      !(map->time_unit_s > 0.0) || !isfinite(map->time_unit_s))
    return HR_ERR_INVALID_ARG;
  *out = NULL;
  hr_plan_workload_t *w = calloc(1, sizeof *w);
  if (!w)
    return HR_ERR_NOMEM;
  const char *const keys[3] = {map->time_col, map->in_col, map->out_col};
  size_t cap = 0, pos = 0;
  long line = 0;
  int datetime = -1, rc = HR_OK;
  int64_t sec0 = 0;
  double frac0 = 0.0, prev = -INFINITY;
  json_t *obj = NULL;
  while (pos < len) {
    const char *s = buf + pos;
    const char *nl = memchr(s, '\n', len - pos);
    size_t n = nl ? (size_t)(nl - s) : len - pos;
    pos += n + (nl ? 1 : 0);
    line++;
    if (is_blank(s, n))
      continue;
    json_error_t je;
    obj = json_loadb(s, n, JSON_REJECT_DUPLICATES, &je);
    if (!obj) {
      hr__plan_err(err, line, token_column(s, n, je.position), "not a JSON object: %s", je.text);
      rc = HR_ERR_PARSE;
      goto fail;
    }
    if (!json_is_object(obj)) {
      size_t i = 0;
      while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
      hr__plan_err(err, line, (int)i + 1, "not a JSON object");
      rc = HR_ERR_PARSE;
      goto fail;
    }
    json_t *val[3];
    for (int k = 0; k < 3; k++)
      if (!(val[k] = json_object_get(obj, keys[k]))) {
        hr__plan_err(err, line, 0, "missing key '%s'", keys[k]);
        rc = HR_ERR_PARSE;
        goto fail;
      }
    hr_plan_request_t r;
    int64_t sec;
    double frac, t;
    const char *ts = json_is_string(val[0]) ? json_string_value(val[0]) : NULL;
    if (datetime < 0)
      datetime = ts != NULL;
    if (datetime && ts && parse_datetime(ts, &sec, &frac)) {
      if (w->n == 0) {
        sec0 = sec;
        frac0 = frac;
        w->t0_epoch_s = (double)sec + frac;
      }
      t = (double)(sec - sec0) + (frac - frac0);
    } else if (!datetime && json_is_number(val[0])) {
      double x = json_number_value(val[0]);
      if (w->n == 0)
        w->t0_epoch_s = x;
      t = (x - w->t0_epoch_s) * map->time_unit_s;
    } else {
      hr__plan_err(err, line, value_column(s, n, keys[0]), "%s: not %s", keys[0],
                   datetime ? "a date-time string 'YYYY-MM-DD hh:mm:ss.f'" : "a number");
      rc = HR_ERR_PARSE;
      goto fail;
    }
    if (!(fabs(t) <= HR_PLAN_MAX_SECONDS)) {
      hr__plan_err(err, line, value_column(s, n, keys[0]),
                   "%s: %g s from the first line, beyond %g s", keys[0], t, HR_PLAN_MAX_SECONDS);
      rc = HR_ERR_RANGE;
      goto fail;
    }
    if (!(t > prev)) {
      hr__plan_err(err, line, value_column(s, n, keys[0]),
                   "%s: %s timestamp (not after the previous line)", keys[0],
                   t == prev ? "duplicate" : "unsorted");
      rc = HR_ERR_RANGE;
      goto fail;
    }
    prev = t;
    r.t_s = t;
    for (int k = 1; k < 3; k++) {
      int32_t v;
      int pe = json_count(val[k], &v);
      if (pe != HR_OK) {
        hr__plan_err(err, line, value_column(s, n, keys[k]), "%s: %s", keys[k],
                     pe == HR_ERR_RANGE       ? "negative or too large count"
                     : json_is_string(val[k]) ? "not an integer (a string)"
                                              : "not an integer");
        rc = pe;
        goto fail;
      }
      if (k == 1)
        r.in_tokens = v;
      else
        r.out_tokens = v;
    }
    json_decref(obj);
    obj = NULL;
    if ((rc = push(w, &cap, &r)) != HR_OK) {
      hr__plan_err(err, line, 0, "out of memory");
      goto fail;
    }
  }
  *out = w;
  return HR_OK;
fail:
  json_decref(obj);
  hr_plan_workload_destroy(w);
  return rc;
}

static int workload_load_body(const char *path, const hr_plan_csv_map_t *map,
                              hr_plan_workload_t **out, hr_diag_t *err)
{
  if (!path || !out)
    return HR_ERR_INVALID_ARG;
  size_t n = strlen(path);
  if (n < 6 || strcmp(path + n - 6, ".jsonl") != 0)
    return hr_plan_workload_load_csv(path, map, out, err);
  static const hr_plan_csv_map_t mooncake = {"timestamp", "input_length", "output_length", 1e-3};
  char *buf;
  size_t len;
  int rc = hr__plan_read_file(path, &buf, &len);
  if (rc != HR_OK) {
    hr__plan_err(err, 0, 0, "cannot read the file");
    return rc;
  }
  rc = hr_plan_workload_parse_jsonl(buf, len, map ? map : &mooncake, out, err);
  free(buf);
  return rc;
}

/* Clears *err on entry and records the returned code in it (error.h). */
int hr_plan_workload_parse_csv(const char *buf, size_t len, const hr_plan_csv_map_t *map,
                               hr_plan_workload_t **out, hr_diag_t *err)
{
  hr__diag_begin(err, NULL);
  int rc = workload_parse_csv_body(buf, len, map, out, err);
  if (err && rc != HR_OK)
    err->code = rc;
  return rc;
}

/* Clears *err on entry and records the returned code in it (error.h). */
int hr_plan_workload_load_csv(const char *path, const hr_plan_csv_map_t *map,
                              hr_plan_workload_t **out, hr_diag_t *err)
{
  hr__diag_begin(err, NULL);
  int rc = workload_load_csv_body(path, map, out, err);
  if (err && rc != HR_OK)
    err->code = rc;
  return rc;
}

/* Clears *err on entry and records the returned code in it (error.h). */
int hr_plan_workload_parse_jsonl(const char *buf, size_t len, const hr_plan_csv_map_t *map,
                                 hr_plan_workload_t **out, hr_diag_t *err)
{
  hr__diag_begin(err, NULL);
  int rc = workload_parse_jsonl_body(buf, len, map, out, err);
  if (err && rc != HR_OK)
    err->code = rc;
  return rc;
}

/* Clears *err on entry and records the returned code in it (error.h). */
int hr_plan_workload_load(const char *path, const hr_plan_csv_map_t *map, hr_plan_workload_t **out,
                          hr_diag_t *err)
{
  hr__diag_begin(err, NULL);
  int rc = workload_load_body(path, map, out, err);
  if (err && rc != HR_OK)
    err->code = rc;
  return rc;
}
