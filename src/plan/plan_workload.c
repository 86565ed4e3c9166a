/* plan module: workloads (request lists) from CSV traces and generators. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
  if (strlen(s) < 19 || !digits(s, 4, &Y) || s[4] != '-' || !digits(s + 5, 2, &M) ||
      s[7] != '-' || !digits(s + 8, 2, &D) || (s[10] != ' ' && s[10] != 'T') ||
      !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
      !digits(s + 17, 2, &se))
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
  hr__plan_csv_t c;
  hr__plan_csv_init(&c, buf, len);
  hr_plan_workload_t *w = calloc(1, sizeof *w);
  if (!w)
    return HR_ERR_NOMEM;
  size_t cap = 0;
  int rc = hr__plan_csv_next(&c);
  if (rc <= 0) {
    if (rc == 0) {
      hr__plan_err(err, 1, 0, "empty file: no header line");
      rc = HR_ERR_PARSE;
    } else {
      hr__plan_err(err, c.line, 0, "cannot split the header line");
    }
    goto fail;
  }
  const char *names[3] = {map->time_col, map->in_col, map->out_col};
  int col[3];
  for (int k = 0; k < 3; k++) {
    col[k] = hr__plan_csv_find(&c, names[k]);
    if (col[k] < 0) {
      hr__plan_err(err, c.line, 0, "missing column '%s' in the header", names[k]);
      rc = HR_ERR_PARSE;
      goto fail;
    }
  }
  int need = col[0] > col[1] ? col[0] : col[1];
  need = (need > col[2] ? need : col[2]) + 1;
  int64_t sec0 = 0;
  double frac0 = 0.0, prev = -INFINITY;
  int datetime = -1; /* decided by the first row */
  while ((rc = hr__plan_csv_next(&c)) == 1) {
    if (c.nf < need) {
      hr__plan_err(err, c.line, c.nf + 1, "row has %d fields, the header needs %d", c.nf, need);
      rc = HR_ERR_PARSE;
      goto fail;
    }
    hr_plan_request_t r;
    const char *ts = c.f[col[0]];
    int64_t sec;
    double frac, t;
    if (datetime < 0)
      datetime = parse_datetime(ts, &sec, &frac);
    if (datetime) {
      if (!parse_datetime(ts, &sec, &frac)) {
        hr__plan_err(err, c.line, col[0] + 1, "%s: not a date-time 'YYYY-MM-DD hh:mm:ss.f'",
                     names[0]);
        rc = HR_ERR_PARSE;
        goto fail;
      }
      if (w->n == 0) {
        sec0 = sec;
        frac0 = frac;
        w->t0_epoch_s = (double)sec + frac;
      }
      t = (double)(sec - sec0) + (frac - frac0);
    } else {
      double x;
      if (hr__plan_parse_double(ts, &x) != HR_OK) {
        hr__plan_err(err, c.line, col[0] + 1, "%s: not a number or date-time", names[0]);
        rc = HR_ERR_PARSE;
        goto fail;
      }
      if (w->n == 0)
        w->t0_epoch_s = x;
      t = (x - w->t0_epoch_s) * map->time_unit_s;
    }
    /* Times far apart (1e308 then -1e308) would make spans infinite. */
    if (!(fabs(t) <= HR_PLAN_MAX_SECONDS)) {
      hr__plan_err(err, c.line, col[0] + 1, "%s: %g s from the first row, beyond %g s", names[0],
                   t, HR_PLAN_MAX_SECONDS);
      rc = HR_ERR_RANGE;
      goto fail;
    }
    if (!(t > prev)) {
      hr__plan_err(err, c.line, col[0] + 1, "%s: %s timestamp (not after the previous row)",
                   names[0], t == prev ? "duplicate" : "unsorted");
      rc = HR_ERR_RANGE;
      goto fail;
    }
    prev = t;
    r.t_s = t;
    for (int k = 1; k < 3; k++) {
      int32_t v;
      int e = parse_count(c.f[col[k]], &v);
      if (e != HR_OK) {
        hr__plan_err(err, c.line, col[k] + 1, "%s: %s", names[k],
                     e == HR_ERR_PARSE ? "not an integer" : "negative or too large count");
        rc = e;
        goto fail;
      }
      if (k == 1)
        r.in_tokens = v;
      else
        r.out_tokens = v;
    }
    if ((rc = push(w, &cap, &r)) != HR_OK) {
      hr__plan_err(err, c.line, 0, "out of memory");
      goto fail;
    }
  }
  if (rc < 0) {
    hr__plan_err(err, c.line, 0, rc == HR_ERR_PARSE ? "too many fields or a NUL byte" : "out of memory");
    goto fail;
  }
  hr__plan_csv_free(&c);
  *out = w;
  return HR_OK;
fail:
  hr__plan_csv_free(&c);
  hr_plan_workload_destroy(w);
  return rc;
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

void hr_plan_gen_cfg_default(hr_plan_gen_cfg_t *cfg)
{
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
    if (cfg->arrival == HR_PLAN_ARRIVAL_BURSTY)
      t += hr_plan_rng_gamma(&ra, shape) / (shape * lam_max);
    else
      t += -log(hr_plan_rng_uniform(&ra)) / lam_max;
    if (t >= cfg->duration_s)
      break;
    if (cfg->arrival == HR_PLAN_ARRIVAL_DIURNAL) {
      /* Lewis-Shedler thinning of a rate max at the peak, min half a period
       * away: lam(t) = min + (max - min) (1 + cos(2 pi (t - peak) / T)) / 2. */
      double ph = 2.0 * M_PI * (t - cfg->peak_t_s) / cfg->period_s;
      double lam = cfg->min_rate_per_s +
                   (cfg->max_rate_per_s - cfg->min_rate_per_s) * 0.5 * (1.0 + cos(ph));
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

/* Skips one JSON value starting at s[*i] (n bytes); returns 0 on a syntax
 * error.  Strings honour escapes; containers are skipped by depth. */
static int skip_value(const char *s, size_t n, size_t *i)
{
  int depth = 0;
  do {
    if (*i >= n)
      return 0;
    char c = s[*i];
    if (c == '"') {
      for ((*i)++; *i < n && s[*i] != '"'; (*i)++)
        if (s[*i] == '\\')
          (*i)++;
      if (*i >= n)
        return 0;
      (*i)++;
    } else if (c == '{' || c == '[') {
      depth++;
      (*i)++;
    } else if (c == '}' || c == ']') {
      if (depth == 0)
        return 0;
      depth--;
      (*i)++;
    } else if (depth > 0) {
      (*i)++;
    } else {
      /* A bare scalar: up to the next delimiter. */
      size_t st = *i;
      while (*i < n && s[*i] != ',' && s[*i] != '}' && s[*i] != ']' && s[*i] != ' ' &&
             s[*i] != '\t')
        (*i)++;
      if (*i == st)
        return 0;
    }
  } while (depth > 0);
  return 1;
}

static void skip_ws(const char *s, size_t n, size_t *i)
{
  while (*i < n && (s[*i] == ' ' || s[*i] == '\t' || s[*i] == '\r'))
    (*i)++;
}

/* Finds the top-level members named in keys[0..3) of the object in line
 * s[0..n); val[k] gets a NUL-terminated copy of the value (string quotes
 * removed, at most cap-1 bytes), col[k] its 1-based column.  Returns 0, or
 * the 1-based column of a syntax error (negative). */
static int json_members(const char *s, size_t n, const char *const keys[3], char val[3][64],
                        int col[3])
{
  size_t i = 0;
  for (int k = 0; k < 3; k++)
    col[k] = 0;
  skip_ws(s, n, &i);
  if (i >= n || s[i] != '{')
    return -(int)(i + 1);
  i++;
  skip_ws(s, n, &i);
  if (i < n && s[i] == '}')
    return 0;
  for (;;) {
    skip_ws(s, n, &i);
    if (i >= n || s[i] != '"')
      return -(int)(i + 1);
    size_t ks = ++i;
    while (i < n && s[i] != '"')
      i += s[i] == '\\' ? 2 : 1;
    if (i >= n)
      return -(int)(ks);
    size_t kl = i - ks;
    i++;
    skip_ws(s, n, &i);
    if (i >= n || s[i] != ':')
      return -(int)(i + 1);
    i++;
    skip_ws(s, n, &i);
    size_t vs = i;
    if (!skip_value(s, n, &i))
      return -(int)(vs + 1);
    for (int k = 0; k < 3; k++)
      if (strlen(keys[k]) == kl && memcmp(keys[k], s + ks, kl) == 0) {
        size_t a = vs, b = i;
        if (b > a && s[a] == '"') {
          a++;
          b--;
        }
        size_t l = b - a < 63 ? b - a : 63;
        memcpy(val[k], s + a, l);
        val[k][l] = '\0';
        col[k] = (int)(vs + 1);
      }
    skip_ws(s, n, &i);
    if (i < n && s[i] == ',') {
      i++;
      continue;
    }
    if (i < n && s[i] == '}')
      return 0;
    return -(int)(i + 1);
  }
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
  while (pos < len) {
    const char *s = buf + pos;
    const char *nl = memchr(s, '\n', len - pos);
    size_t n = nl ? (size_t)(nl - s) : len - pos;
    pos += n + (nl ? 1 : 0);
    line++;
    if (is_blank(s, n))
      continue;
    char val[3][64];
    int col[3];
    int e = memchr(s, '\0', n) ? -1 : json_members(s, n, keys, val, col);
    if (e < 0) {
      hr__plan_err(err, line, -e, "not a JSON object");
      rc = HR_ERR_PARSE;
      goto fail;
    }
    for (int k = 0; k < 3; k++)
      if (!col[k]) {
        hr__plan_err(err, line, 0, "missing key '%s'", keys[k]);
        rc = HR_ERR_PARSE;
        goto fail;
      }
    hr_plan_request_t r;
    int64_t sec;
    double frac, t, x;
    if (datetime < 0)
      datetime = parse_datetime(val[0], &sec, &frac);
    if (datetime && parse_datetime(val[0], &sec, &frac)) {
      if (w->n == 0) {
        sec0 = sec;
        frac0 = frac;
        w->t0_epoch_s = (double)sec + frac;
      }
      t = (double)(sec - sec0) + (frac - frac0);
    } else if (!datetime && hr__plan_parse_double(val[0], &x) == HR_OK) {
      if (w->n == 0)
        w->t0_epoch_s = x;
      t = (x - w->t0_epoch_s) * map->time_unit_s;
    } else {
      hr__plan_err(err, line, col[0], "%s: not a number or date-time", keys[0]);
      rc = HR_ERR_PARSE;
      goto fail;
    }
    if (!(fabs(t) <= HR_PLAN_MAX_SECONDS)) {
      hr__plan_err(err, line, col[0], "%s: %g s from the first line, beyond %g s", keys[0], t,
                   HR_PLAN_MAX_SECONDS);
      rc = HR_ERR_RANGE;
      goto fail;
    }
    if (!(t > prev)) {
      hr__plan_err(err, line, col[0], "%s: %s timestamp (not after the previous line)", keys[0],
                   t == prev ? "duplicate" : "unsorted");
      rc = HR_ERR_RANGE;
      goto fail;
    }
    prev = t;
    r.t_s = t;
    for (int k = 1; k < 3; k++) {
      int32_t v;
      int pe = parse_count(val[k], &v);
      if (pe != HR_OK) {
        hr__plan_err(err, line, col[k], "%s: %s", keys[k],
                     pe == HR_ERR_PARSE ? "not an integer" : "negative or too large count");
        rc = pe;
        goto fail;
      }
      if (k == 1)
        r.in_tokens = v;
      else
        r.out_tokens = v;
    }
    if ((rc = push(w, &cap, &r)) != HR_OK) {
      hr__plan_err(err, line, 0, "out of memory");
      goto fail;
    }
  }
  *out = w;
  return HR_OK;
fail:
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
int hr_plan_workload_load(const char *path, const hr_plan_csv_map_t *map,
                          hr_plan_workload_t **out, hr_diag_t *err)
{
  hr__diag_begin(err, NULL);
  int rc = workload_load_body(path, map, out, err);
  if (err && rc != HR_OK)
    err->code = rc;
  return rc;
}
