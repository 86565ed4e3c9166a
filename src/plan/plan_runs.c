/* plan module: request-driven measured runs (power at any cadence plus a
 * request log or a serving engine's running counter), resampled to one grid
 * so that the trace carries the active-request feature A(t). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/core.h"
#include "headroom/plan_desc.h"
#include "plan/plan_int.h"

#define RUNS_DEFAULT_DT_S 0.25 /* the paper's bin */

/* Integral of the piecewise-linear interpolant over [t_s[0], x) for x in
 * [t_s[i], t_s[i+1]]: cum[i] (integral up to t_s[i]) plus the trapezoid. */
static double lin_integral_to(const double *t_s, const double *x, const double *cum, size_t n,
                              size_t *i, double at)
{
  while (*i + 2 < n && t_s[*i + 1] <= at)
    (*i)++;
  size_t k = *i;
  double h = at - t_s[k], w = t_s[k + 1] - t_s[k];
  double xa = x[k] + (x[k + 1] - x[k]) * (h / w);
  return cum[k] + 0.5 * (x[k] + xa) * h;
}

int hr_plan_resample_linear(const double *t_s, const double *x, size_t n, double dt_s, double *out,
                            size_t nbins)
{
  if (!t_s || !x || (!out && nbins) || n < 2 || !(dt_s > 0.0) || !isfinite(dt_s))
    return HR_ERR_INVALID_ARG;
  for (size_t i = 0; i < n; i++)
    if (!isfinite(t_s[i]) || !isfinite(x[i]) || (i && !(t_s[i] > t_s[i - 1])))
      return HR_ERR_INVALID_ARG;
  /* The last bin must end inside the data (a small tolerance for the float
   * sum of the bin edges). */
  if (t_s[0] + (double)nbins * dt_s > t_s[n - 1] + 1e-9 * fmax(1.0, fabs(t_s[n - 1])))
    return HR_ERR_INVALID_ARG;
  double *cum = malloc(n * sizeof *cum);
  if (!cum)
    return HR_ERR_NOMEM;
  cum[0] = 0.0;
  for (size_t i = 1; i < n; i++)
    cum[i] = cum[i - 1] + 0.5 * (x[i] + x[i - 1]) * (t_s[i] - t_s[i - 1]);
  size_t i = 0;
  double prev = 0.0;
  for (size_t k = 0; k < nbins; k++) {
    double end = fmin(t_s[0] + (double)(k + 1) * dt_s, t_s[n - 1]);
    double c = lin_integral_to(t_s, x, cum, n, &i, end);
    out[k] = (c - prev) / dt_s;
    prev = c;
  }
  free(cum);
  return HR_OK;
}

int hr_plan_resample_step(const double *t_s, const double *v, size_t n, double t0_s, double dt_s,
                          double *out, size_t nbins)
{
  if (!t_s || !v || (!out && nbins) || n == 0 || !(dt_s > 0.0) || !isfinite(dt_s) ||
      !isfinite(t0_s))
    return HR_ERR_INVALID_ARG;
  for (size_t i = 0; i < n; i++)
    if (!isfinite(t_s[i]) || !isfinite(v[i]) || (i && t_s[i] < t_s[i - 1]))
      return HR_ERR_INVALID_ARG;
  size_t i = 0; /* v[i] holds on [t_s[i], t_s[i+1]) */
  for (size_t k = 0; k < nbins; k++) {
    double a = t0_s + (double)k * dt_s, b = a + dt_s, acc = 0.0, at = a;
    while (i + 1 < n && t_s[i + 1] <= a)
      i++;
    /* v[j] holds from `at` to the next change time or the bin's end;
     * before t_s[0] the first value holds. */
    for (size_t j = i;; j++) {
      double until = j + 1 < n && t_s[j + 1] < b ? t_s[j + 1] : b;
      acc += v[j] * (until - at);
      at = until;
      if (until >= b)
        break;
    }
    out[k] = acc / dt_s;
  }
  return HR_OK;
}

/* +1 at an arrival, -1 at an end: the count in flight is the running sum of
 * the sorted events, integrated per bin. */
typedef struct ev {
  double t;
  double d;
} ev_t;

static int cmp_ev(const void *x, const void *y)
{
  const ev_t *a = x, *b = y;
  return (a->t > b->t) - (a->t < b->t);
}

int hr_plan_active_from_intervals(const double *arr_s, const double *end_s, size_t n, double t0_s,
                                  double dt_s, double *active, size_t nbins)
{
  if ((!arr_s || !end_s) && n)
    return HR_ERR_INVALID_ARG;
  if ((!active && nbins) || !(dt_s > 0.0) || !isfinite(dt_s) || !isfinite(t0_s))
    return HR_ERR_INVALID_ARG;
  for (size_t i = 0; i < n; i++)
    if (!isfinite(arr_s[i]) || !isfinite(end_s[i]) || end_s[i] < arr_s[i])
      return HR_ERR_INVALID_ARG;
  ev_t *e = malloc((2 * n + 1) * sizeof *e);
  if (!e)
    return HR_ERR_NOMEM;
  for (size_t i = 0; i < n; i++) {
    e[2 * i] = (ev_t){arr_s[i], 1.0};
    e[2 * i + 1] = (ev_t){end_s[i], -1.0};
  }
  qsort(e, 2 * n, sizeof *e, cmp_ev);
  size_t q = 0;
  double cnt = 0.0;
  while (q < 2 * n && e[q].t <= t0_s)
    cnt += e[q++].d;
  for (size_t k = 0; k < nbins; k++) {
    double a = t0_s + (double)k * dt_s, b = a + dt_s, at = a, acc = 0.0;
    while (q < 2 * n && e[q].t < b) {
      acc += cnt * (e[q].t - at);
      at = e[q].t;
      cnt += e[q++].d;
    }
    acc += cnt * (b - at);
    active[k] = acc / dt_s;
  }
  free(e);
  return HR_OK;
}

/* --------------------------------------------------------------- loader */

/* A column of numbers read whole: grows by doubling. */
typedef struct col {
  double *v;
  size_t n, cap;
} col_t;

static int col_push(col_t *c, double x)
{
  if (c->n == c->cap) {
    size_t nc = c->cap ? 2 * c->cap : 1024;
    double *q = realloc(c->v, nc * sizeof *q);
    if (!q)
      return HR_ERR_NOMEM;
    c->v = q;
    c->cap = nc;
  }
  c->v[c->n++] = x;
  return HR_OK;
}

/* Reads the named columns of a CSV file (req[k] = 1: must be present) into
 * cols; *have says which optional ones were.  Each value must be a finite
 * number >= 0; the first column (time) strictly increasing when strict = 1,
 * non-decreasing when 2. */
static int read_cols(const char *path, const char *const *names, const int *req, int nc,
                     col_t *cols, int *have, int strict, hr_diag_t *err)
{
  char *buf;
  size_t len;
  int rc = hr__plan_read_file(path, &buf, &len);
  if (rc != HR_OK) {
    hr__plan_err(err, 0, 0, "%s: cannot read the file", path);
    return rc;
  }
  hr__plan_csv_t c;
  hr__plan_csv_init(&c, buf, len, path, err);
  int idx[8];
  rc = hr__plan_csv_next(&c);
  if (rc < 0)
    goto done;
  for (int k = 0; k < nc; k++) {
    idx[k] = rc == 1 ? hr__plan_csv_find(&c, names[k]) : -1;
    have[k] = idx[k] >= 0;
    if (req[k] && idx[k] < 0) {
      hr__plan_err(err, 1, 0, "%s: missing column '%s' in the header", path, names[k]);
      rc = HR_ERR_PARSE;
      goto done;
    }
  }
  while ((rc = hr__plan_csv_next(&c)) == 1) {
    for (int k = 0; k < nc; k++) {
      if (!have[k])
        continue;
      double x;
      if (c.nf <= idx[k] || hr__plan_parse_double(c.f[idx[k]], &x) != HR_OK || !isfinite(x) ||
          x < 0.0) {
        hr__plan_err(err, c.line, idx[k] + 1, "%s: %s: not a finite number >= 0", path, names[k]);
        rc = HR_ERR_PARSE;
        goto done;
      }
      if (k == 0 && cols[0].n &&
          (strict == 1 ? !(x > cols[0].v[cols[0].n - 1]) : x < cols[0].v[cols[0].n - 1])) {
        hr__plan_err(err, c.line, idx[k] + 1, "%s: %s: times must %s", path, names[k],
                     strict == 1 ? "increase strictly" : "not decrease");
        rc = HR_ERR_PARSE;
        goto done;
      }
      if ((rc = col_push(&cols[k], x)) != HR_OK) {
        hr__plan_err(err, 0, 0, "%s: out of memory", path);
        goto done;
      }
    }
  }
  if (rc == 0)
    rc = HR_OK;
done:
  hr__plan_csv_free(&c);
  free(buf);
  return rc;
}

static void free_cols(col_t *c, int n)
{
  for (int k = 0; k < n; k++)
    free(c[k].v);
}

/* Fills t->p_w and t->active of one run from its two files. */
static int load_run(const char *ppath, const char *apath, double dt_s, hr_plan_trace_t *t,
                    hr_diag_t *err)
{
  static const char *const pn[2] = {"t_s", "power_w"};
  static const int preq[2] = {1, 1};
  col_t pc[2] = {{0}}, ac[4] = {{0}};
  int have[4], rc = read_cols(ppath, pn, preq, 2, pc, have, 1, err);
  if (rc != HR_OK)
    goto done;
  if (pc[0].n < 2 || !(pc[0].v[pc[0].n - 1] - pc[0].v[0] >= dt_s)) {
    hr__plan_err(err, 0, 0, "%s: fewer than 2 samples, or shorter than one %g-s bin", ppath, dt_s);
    rc = HR_ERR_PARSE;
    goto done;
  }
  double t0 = pc[0].v[0], span = pc[0].v[pc[0].n - 1] - t0;
  double nbd = floor(span / dt_s + 1e-9); /* checked before any conversion */
  if (!(nbd >= 2.0 && nbd <= HR_PLAN_RUNS_MAX_BINS)) {
    hr__plan_err(err, 0, 0, "%s: %.3g bins of %g s (2 to %.0f: a run spans too long)", ppath, nbd,
                 dt_s, (double)HR_PLAN_RUNS_MAX_BINS);
    rc = HR_ERR_RANGE;
    goto done;
  }
  size_t nb = (size_t)nbd;
  t->p_w = malloc(nb * sizeof *t->p_w);
  t->active = malloc(nb * sizeof *t->active);
  if (!t->p_w || !t->active) {
    rc = HR_ERR_NOMEM;
    hr__plan_err(err, 0, 0, "%s: out of memory", ppath);
    goto done;
  }
  t->n = nb;
  t->dt_s = dt_s;
  if ((rc = hr_plan_resample_linear(pc[0].v, pc[1].v, pc[0].n, dt_s, t->p_w, nb)) != HR_OK) {
    hr__plan_err(err, 0, 0, "%s: cannot resample", ppath);
    goto done;
  }
  for (size_t k = 0; k < nb; k++) /* samples >= 0: a negative mean is rounding */
    t->p_w[k] = fmax(0.0, t->p_w[k]);
  /* The activity file: a request log or counters, told by the header. */
  static const char *const rn[4] = {"t_s", "in_tokens", "out_tokens", "end_s"};
  static const char *const cn[2] = {"t_s", "running"};
  char *buf;
  size_t len;
  if ((rc = hr__plan_read_file(apath, &buf, &len)) != HR_OK) {
    hr__plan_err(err, 0, 0, "%s: cannot read the file", apath);
    goto done;
  }
  hr__plan_csv_t c;
  hr__plan_csv_init(&c, buf, len, apath, err);
  rc = hr__plan_csv_next(&c);
  int is_counter = rc == 1 && hr__plan_csv_find(&c, "running") >= 0;
  int is_log = rc == 1 && hr__plan_csv_find(&c, "in_tokens") >= 0;
  hr__plan_csv_free(&c);
  free(buf);
  if (rc < 0)
    goto done;
  if (!is_counter && !is_log) {
    hr__plan_err(err, 1, 0,
                 "%s: neither a request log (t_s,in_tokens,out_tokens[,end_s]) nor counters "
                 "(t_s,running[,waiting])",
                 apath);
    rc = HR_ERR_PARSE;
    goto done;
  }
  if (is_counter) {
    static const int creq[2] = {1, 1};
    if ((rc = read_cols(apath, cn, creq, 2, ac, have, 2, err)) != HR_OK)
      goto done;
    if (ac[0].n == 0) {
      hr__plan_err(err, 2, 0, "%s: no counter rows", apath);
      rc = HR_ERR_PARSE;
      goto done;
    }
    if ((rc = hr_plan_resample_step(ac[0].v, ac[1].v, ac[0].n, t0, dt_s, t->active, nb)) != HR_OK)
      hr__plan_err(err, 0, 0, "%s: cannot resample the counters", apath);
    goto done;
  }
  static const int rreq[4] = {1, 1, 1, 0};
  if ((rc = read_cols(apath, rn, rreq, 4, ac, have, 2, err)) != HR_OK)
    goto done;
  size_t nr = ac[0].n;
  if (have[3]) {
    for (size_t i = 0; i < nr; i++)
      if (ac[3].v[i] < ac[0].v[i]) {
        /* Line = row + 2: the header is line 1 and blank lines are not
         * expected in a log. */
        hr__plan_err(err, (long)i + 2, 4, "%s: end_s: before the arrival t_s", apath);
        rc = HR_ERR_PARSE;
        goto done;
      }
    if ((rc = hr_plan_active_from_intervals(ac[0].v, ac[3].v, nr, t0, dt_s, t->active, nb)) !=
        HR_OK)
      hr__plan_err(err, 0, 0, "%s: cannot count the requests in flight", apath);
    goto done;
  }
  /* Arrivals only: the serving simulator schedules them at the run's batch
   * limit, on a grid that starts at or before the first arrival and lines
   * up with the power bins. */
  double first = nr ? ac[0].v[0] : t0, pred = first < t0 ? ceil((t0 - first) / dt_s) : 0.0;
  if (!(pred + (double)nb <= HR_PLAN_RUNS_MAX_BINS)) {
    hr__plan_err(err, 2, 1, "%s: t_s: the log starts %g s before the power (at most %.0f bins)",
                 apath, t0 - first, (double)HR_PLAN_RUNS_MAX_BINS);
    rc = HR_ERR_RANGE;
    goto done;
  }
  size_t pre = (size_t)pred;
  double start = t0 - (double)pre * dt_s;
  hr_plan_request_t *req = malloc((nr ? nr : 1) * sizeof *req);
  double *a = malloc((pre + nb) * sizeof *a);
  if (!req || !a) {
    free(req);
    free(a);
    rc = HR_ERR_NOMEM;
    hr__plan_err(err, 0, 0, "%s: out of memory", apath);
    goto done;
  }
  for (size_t i = 0; i < nr; i++) {
    req[i].t_s = fmax(0.0, ac[0].v[i] - start);
    if (ac[1].v[i] > 2147483647.0 || ac[2].v[i] > 2147483647.0 || ac[1].v[i] != floor(ac[1].v[i]) ||
        ac[2].v[i] != floor(ac[2].v[i])) {
      hr__plan_err(err, (long)i + 2, 0, "%s: token counts must be whole numbers below 2^31", apath);
      free(req);
      free(a);
      rc = HR_ERR_PARSE;
      goto done;
    }
    req[i].in_tokens = (int32_t)ac[1].v[i];
    req[i].out_tokens = (int32_t)ac[2].v[i];
  }
  hr_plan_serve_cfg_t sc;
  hr_plan_serve_cfg_init(&sc);
  sc.max_num_seqs = t->max_num_seqs;
  rc = hr_plan_serve_run(&sc, req, nr, dt_s, pre + nb, a, NULL, NULL);
  if (rc == HR_OK)
    memcpy(t->active, a + pre, nb * sizeof *a);
  else
    hr__plan_err(err, 0, 0, "%s: the serving simulator refused the log", apath);
  free(req);
  free(a);
done:
  free_cols(pc, 2);
  free_cols(ac, 4);
  return rc;
}

/* Every message of this file starts with the file at fault ("PATH: ...");
 * the diagnostic's source takes it, so that hr_diag_format gives
 * "PATH:LINE:COLUMN: ..." with the line and column of that file. */
static void move_source(hr_diag_t *err)
{
  if (!err || err->source[0])
    return;
  char *sep = strstr(err->message, ": ");
  size_t k = sep ? (size_t)(sep - err->message) : 0;
  if (!sep || k == 0 || k >= sizeof err->source)
    return;
  memcpy(err->source, err->message, k);
  err->source[k] = '\0';
  memmove(err->message, sep + 2, strlen(sep + 2) + 1);
}

int hr_plan_power_load(const char *path, double dt_s, double **p_w, size_t *n, hr_diag_t *err)
{
  hr__diag_begin(err, NULL);
  if (!path || !p_w || !n || !(dt_s > 0.0) || !(dt_s <= 3600.0))
    return HR_ERR_INVALID_ARG;
  *p_w = NULL;
  *n = 0;
  static const char *const pn[2] = {"t_s", "power_w"};
  static const int preq[2] = {1, 1};
  col_t pc[2] = {{0}};
  int have[2], rc = read_cols(path, pn, preq, 2, pc, have, 1, err);
  if (rc == HR_OK && (pc[0].n < 2 || !(pc[0].v[pc[0].n - 1] - pc[0].v[0] >= 2.0 * dt_s))) {
    hr__plan_err(err, 0, 0, "%s: fewer than 2 samples, or shorter than two %g-s bins", path, dt_s);
    rc = HR_ERR_PARSE;
  }
  size_t nb = 0;
  if (rc == HR_OK) {
    double nbd = floor((pc[0].v[pc[0].n - 1] - pc[0].v[0]) / dt_s + 1e-9);
    if (!(nbd <= HR_PLAN_RUNS_MAX_BINS)) {
      hr__plan_err(err, 0, 0, "%s: %.3g bins of %g s (at most %.0f)", path, nbd, dt_s,
                   (double)HR_PLAN_RUNS_MAX_BINS);
      rc = HR_ERR_RANGE;
    } else if (!(*p_w = malloc((size_t)nbd * sizeof **p_w))) {
      hr__plan_err(err, 0, 0, "%s: out of memory", path);
      rc = HR_ERR_NOMEM;
    } else {
      nb = (size_t)nbd;
    }
  }
  if (rc == HR_OK &&
      (rc = hr_plan_resample_linear(pc[0].v, pc[1].v, pc[0].n, dt_s, *p_w, nb)) != HR_OK)
    hr__plan_err(err, 0, 0, "%s: cannot resample", path);
  if (rc == HR_OK) {
    *n = nb;
    for (size_t k = 0; k < nb; k++) /* samples >= 0: a negative mean is rounding */
      (*p_w)[k] = fmax(0.0, (*p_w)[k]);
  }
  if (rc != HR_OK) {
    free(*p_w);
    *p_w = NULL;
    if (err)
      err->code = rc;
    move_source(err);
  }
  free_cols(pc, 2);
  return rc;
}

static int runs_load_body(const char *path, double dt_s, hr_plan_traceset_t **out, hr_diag_t *err)
{
  if (!path || !out || dt_s < 0.0 || !isfinite(dt_s) || dt_s > 3600.0)
    return HR_ERR_INVALID_ARG;
  *out = NULL;
  if (dt_s == 0.0)
    dt_s = RUNS_DEFAULT_DT_S;
  char man[4096], dir[4096];
  struct stat st;
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
    snprintf(man, sizeof man, "%s/runs.csv", path);
    snprintf(dir, sizeof dir, "%s", path);
  } else {
    snprintf(man, sizeof man, "%s", path);
    snprintf(dir, sizeof dir, "%s", path);
    char *sl = strrchr(dir, '/');
    if (sl)
      *sl = '\0';
    else
      snprintf(dir, sizeof dir, ".");
  }
  char *buf;
  size_t len;
  int rc = hr__plan_read_file(man, &buf, &len);
  if (rc != HR_OK) {
    hr__plan_err(err, 0, 0, "%s: cannot read the file", man);
    return rc;
  }
  hr_plan_traceset_t *s = calloc(1, sizeof *s);
  if (!s) {
    free(buf);
    return HR_ERR_NOMEM;
  }
  hr__plan_csv_t c;
  hr__plan_csv_init(&c, buf, len, man, err);
  static const char *const names[5] = {"model_label", "num_gpus", "max_num_seqs", "power_file",
                                       "activity_file"};
  int col[5];
  size_t cap = 0;
  rc = hr__plan_csv_next(&c);
  if (rc < 0)
    goto fail;
  if ((rc = hr__plan_csv_columns(&c, rc, names, 5, col, man)) != HR_OK)
    goto fail;
  while ((rc = hr__plan_csv_next(&c)) == 1) {
    int bad = -1;
    for (int k = 0; k < 5; k++)
      if (c.nf <= col[k] || !c.f[col[k]][0])
        bad = k;
    long g = 0, b = 0;
    if (bad < 0 && (hr__plan_parse_long(c.f[col[1]], &g) != HR_OK || g < 1 || g > 4096))
      bad = 1;
    if (bad < 0 && (hr__plan_parse_long(c.f[col[2]], &b) != HR_OK || b < 1 || b > 1000000))
      bad = 2;
    if (bad >= 0) {
      hr__plan_err(err, c.line, col[bad] + 1, "%s: %s: missing or bad value%s", man, names[bad],
                   bad == 1   ? " (1..4096)"
                   : bad == 2 ? " (1..10^6)"
                              : "");
      rc = HR_ERR_PARSE;
      goto fail;
    }
    if (s->n == cap) {
      size_t nc = cap ? cap * 2 : 16;
      hr_plan_trace_t *q = realloc(s->tr, nc * sizeof *q);
      if (!q) {
        rc = HR_ERR_NOMEM;
        goto fail;
      }
      s->tr = q;
      cap = nc;
    }
    hr_plan_trace_t *t = &s->tr[s->n++];
    memset(t, 0, sizeof *t);
    snprintf(t->model, sizeof t->model, "%s", c.f[col[0]]);
    t->num_gpus = (int)g;
    t->max_num_seqs = (int)b;
    char pp[8200], ap[8200];
    snprintf(pp, sizeof pp, "%s/%s", dir, c.f[col[3]]);
    snprintf(ap, sizeof ap, "%s/%s", dir, c.f[col[4]]);
    if ((rc = load_run(pp, ap, dt_s, t, err)) != HR_OK)
      goto fail;
  }
  if (rc < 0)
    goto fail;
  if (s->n == 0) {
    hr__plan_err(err, 1, 0, "%s: no runs listed", man);
    rc = HR_ERR_PARSE;
    goto fail;
  }
  hr__plan_csv_free(&c);
  free(buf);
  *out = s;
  return HR_OK;
fail:
  hr__plan_csv_free(&c);
  free(buf);
  hr_plan_traceset_destroy(s);
  return rc;
}

int hr_plan_runs_load(const char *path, double dt_s, hr_plan_traceset_t **out, hr_diag_t *err)
{
  hr__diag_begin(err, NULL);
  int rc = runs_load_body(path, dt_s, out, err);
  if (err && rc != HR_OK) {
    err->code = rc;
    move_source(err);
  }
  return rc;
}

int hr_plan_traceset_load_any(const char *path, hr_plan_traceset_t **out, hr_diag_t *err)
{
  if (!path || !out)
    return HR_ERR_INVALID_ARG;
  struct stat st;
  char p[4096];
  int isdir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
  snprintf(p, sizeof p, "%s/runs.csv", path);
  if (!isdir || stat(p, &st) == 0)
    return hr_plan_runs_load(path, 0.0, out, err);
  return hr_plan_traceset_load(path, out, err);
}
