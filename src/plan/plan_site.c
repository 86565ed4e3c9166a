/* plan module: facility aggregation (server -> rack -> row -> site) and
 * utility-facing statistics. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plan/plan_int.h"

int hr_plan_site_cfg_init(hr_plan_site_cfg_t *c)
{
  if (!c)
    return HR_ERR_INVALID_ARG;
  memset(c, 0, sizeof *c);
  c->rows = 10;
  c->racks_per_row = 6;
  c->servers_per_rack = 4;
  c->gpus_per_server = 8;
  c->non_gpu_w = 1000.0;
  c->pue = 1.3;
  c->dt_s = 0.25;
  c->model = "Llama-3.1-70B";
  c->method = HR_PLAN_COPULA;
  hr_plan_serve_cfg_init(&c->serve);
  c->seed = 42;
  return HR_OK;
}

void hr_plan_site_destroy(hr_plan_site_t *s)
{
  if (!s)
    return;
  free(s->it_w);
  free(s->row_w);
  free(s->rack_w);
  free(s);
}

size_t hr_plan_block_mean(const double *x, size_t n, size_t m, double *out)
{
  if (m == 0)
    return 0;
  size_t k = 0;
  for (size_t i = 0; i < n; i += m, k++) {
    size_t e = i + m < n ? i + m : n;
    double s = 0.0;
    for (size_t j = i; j < e; j++)
      s += x[j];
    out[k] = s / (double)(e - i);
  }
  return k;
}

int hr_plan_site_run(const hr_plan_model_t *m, const hr_plan_site_cfg_t *cfg,
                     const hr_plan_workload_t *w, double duration_s, hr_plan_site_t **out)
{
  if (!m || !cfg || !w || !out || cfg->rows < 1 || cfg->racks_per_row < 1 ||
      cfg->servers_per_rack < 1 || cfg->gpus_per_server < 1 || !(cfg->non_gpu_w >= 0.0) ||
      !(cfg->pue >= 1.0) || !(cfg->dt_s > 0.0) || !(duration_s >= cfg->dt_s) ||
      duration_s / cfg->dt_s > HR_PLAN_SITE_MAX_STEPS ||
      (double)cfg->rows * cfg->racks_per_row * cfg->servers_per_rack > HR_PLAN_SITE_MAX_SERVERS)
    return HR_ERR_INVALID_ARG;
  *out = NULL;
  int nracks = cfg->rows * cfg->racks_per_row, nsrv = nracks * cfg->servers_per_rack;
  size_t n = (size_t)floor(duration_s / cfg->dt_s + 1e-9);
  /* 1-s means need a whole number of steps per second; otherwise the rack
   * and row series use the nearest block length. */
  size_t per1 = (size_t)lround(1.0 / cfg->dt_s);
  if (per1 < 1)
    per1 = 1;
  size_t n1 = (n + per1 - 1) / per1;
  hr_plan_site_t *s = calloc(1, sizeof *s);
  size_t *cnt = calloc((size_t)nsrv + 1, sizeof *cnt);
  uint32_t *who = malloc((w->n ? w->n : 1) * sizeof *who);
  hr_plan_request_t *byserver = malloc((w->n ? w->n : 1) * sizeof *byserver);
  double *active = malloc(n * sizeof *active), *p = malloc(n * sizeof *p);
  double *blk = malloc(n1 * sizeof *blk);
  int rc = HR_ERR_NOMEM;
  if (!s || !cnt || !who || !byserver || !active || !p || !blk)
    goto fail;
  s->dt_s = cfg->dt_s;
  s->n = n;
  s->n1 = n1;
  s->nrows = cfg->rows;
  s->nracks = nracks;
  s->pue = cfg->pue;
  s->it_w = calloc(n, sizeof *s->it_w);
  s->row_w = calloc((size_t)cfg->rows * n1, sizeof *s->row_w);
  s->rack_w = calloc((size_t)nracks * n1, sizeof *s->rack_w);
  if (!s->it_w || !s->row_w || !s->rack_w)
    goto fail;
  /* Counting sort of requests by server keeps each server's list in time
   * order. */
  hr_plan_rng_t r;
  hr_plan_rng_seed(&r, cfg->seed);
  for (size_t i = 0; i < w->n; i++) {
    who[i] = (uint32_t)(hr_plan_rng_u64(&r) % (uint64_t)nsrv);
    cnt[who[i] + 1]++;
  }
  for (int k = 0; k < nsrv; k++)
    cnt[k + 1] += cnt[k];
  for (size_t i = 0; i < w->n; i++)
    byserver[cnt[who[i]]++] = w->req[i];
  /* cnt[k] is now the end of server k's list; its start is cnt[k - 1]. */
  double ttft_sum = 0.0, e2e_sum = 0.0;
  for (int k = 0; k < nsrv; k++) {
    size_t b = k ? cnt[k - 1] : 0, e = cnt[k];
    hr_plan_serve_stats_t st;
    if ((rc = hr_plan_serve_run(&cfg->serve, byserver + b, e - b, cfg->dt_s, n, active, NULL,
                                &st)) != HR_OK)
      goto fail;
    s->serve.admitted += st.admitted;
    s->serve.completed += st.completed;
    if (st.completed) {
      ttft_sum += st.mean_ttft_s * (double)st.completed;
      e2e_sum += st.mean_e2e_s * (double)st.completed;
    }
    if (st.max_waiting > s->serve.max_waiting)
      s->serve.max_waiting = st.max_waiting;
    rc = hr_plan_model_generate_dt(m, cfg->method, cfg->model, cfg->gpus_per_server, active, n,
                                   cfg->dt_s, cfg->seed * 1000003u + (uint64_t)k + 1, p);
    if (rc != HR_OK)
      goto fail;
    for (size_t i = 0; i < n; i++) {
      p[i] += cfg->non_gpu_w;
      s->it_w[i] += p[i];
    }
    int rack = k / cfg->servers_per_rack, row = rack / cfg->racks_per_row;
    hr_plan_block_mean(p, n, per1, blk);
    double *rk = s->rack_w + (size_t)rack * n1, *rw = s->row_w + (size_t)row * n1;
    for (size_t i = 0; i < n1; i++) {
      rk[i] += blk[i];
      rw[i] += blk[i];
    }
  }
  s->serve.mean_ttft_s = s->serve.completed ? ttft_sum / (double)s->serve.completed : NAN;
  s->serve.mean_e2e_s = s->serve.completed ? e2e_sum / (double)s->serve.completed : NAN;
  rc = HR_OK;
  *out = s;
  s = NULL;
fail:
  hr_plan_site_destroy(s);
  free(cnt);
  free(who);
  free(byserver);
  free(active);
  free(p);
  free(blk);
  return rc;
}

int hr_plan_utility_compute(const double *p_w, size_t n, double dt_s, hr_plan_utility_t *u)
{
  if (!p_w || !u || n == 0 || !(dt_s > 0.0))
    return HR_ERR_INVALID_ARG;
  double peak = p_w[0], sum = 0.0;
  for (size_t i = 0; i < n; i++) {
    peak = fmax(peak, p_w[i]);
    sum += p_w[i];
  }
  u->peak_w = peak;
  u->mean_w = sum / (double)n;
  u->load_factor = peak > 0.0 ? u->mean_w / peak : NAN;
  u->peak_to_average = u->mean_w > 0.0 ? peak / u->mean_w : NAN;
  size_t m15 = (size_t)lround(900.0 / dt_s), m1 = (size_t)lround(1.0 / dt_s);
  if (m15 < 1)
    m15 = 1;
  if (m1 < 1)
    m1 = 1;
  double *b = malloc((n / m1 + 2) * sizeof *b);
  if (!b)
    return HR_ERR_NOMEM;
  /* 15-minute demand: only whole intervals count, as a utility meter bills. */
  size_t nb = n / m15;
  u->peak_15min_w = NAN;
  u->max_ramp_15min_w_per_h = NAN;
  if (nb > 0) {
    hr_plan_block_mean(p_w, nb * m15, m15, b);
    u->peak_15min_w = b[0];
    for (size_t i = 1; i < nb; i++) {
      u->peak_15min_w = fmax(u->peak_15min_w, b[i]);
      double r = fabs(b[i] - b[i - 1]) * 4.0; /* per 15 min -> per hour */
      u->max_ramp_15min_w_per_h = i == 1 ? r : fmax(u->max_ramp_15min_w_per_h, r);
    }
  }
  size_t whole = (n / m1) * m1;
  size_t n1 = whole > 0 ? hr_plan_block_mean(p_w, whole, m1, b) : 0;
  u->max_ramp_1s_w_per_s = NAN;
  for (size_t i = 1; i < n1; i++) {
    double r = fabs(b[i] - b[i - 1]) / ((double)m1 * dt_s);
    u->max_ramp_1s_w_per_s = i == 1 ? r : fmax(u->max_ramp_1s_w_per_s, r);
  }
  free(b);
  return HR_OK;
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int hr_plan_oversub_sample(const double *rack_w, int nracks, size_t n1, int n, int samples,
                           double cap_w, uint64_t seed, hr_plan_oversub_t *out)
{
  if (!rack_w || !out || nracks < 1 || n1 == 0 || n < 1 || n > nracks || samples < 1 ||
      !(cap_w > 0.0))
    return HR_ERR_INVALID_ARG;
  int *perm = malloc((size_t)nracks * sizeof *perm);
  double *sum = malloc(n1 * sizeof *sum), *peaks = malloc((size_t)samples * sizeof *peaks);
  if (!perm || !sum || !peaks) {
    free(perm);
    free(sum);
    free(peaks);
    return HR_ERR_NOMEM;
  }
  hr_plan_rng_t r;
  hr_plan_rng_seed(&r, seed);
  int over = 0;
  double tot = 0.0;
  for (int sidx = 0; sidx < samples; sidx++) {
    for (int i = 0; i < nracks; i++)
      perm[i] = i;
    /* Partial Fisher-Yates: the first n entries are a uniform draw without
     * replacement. */
    for (int i = 0; i < n; i++) {
      int j = i + (int)(hr_plan_rng_u64(&r) % (uint64_t)(nracks - i));
      int t = perm[i];
      perm[i] = perm[j];
      perm[j] = t;
    }
    memset(sum, 0, n1 * sizeof *sum);
    for (int i = 0; i < n; i++) {
      const double *x = rack_w + (size_t)perm[i] * n1;
      for (size_t k = 0; k < n1; k++)
        sum[k] += x[k];
    }
    double pk = sum[0];
    for (size_t k = 1; k < n1; k++)
      pk = fmax(pk, sum[k]);
    peaks[sidx] = pk;
    tot += pk;
    over += pk > cap_w;
  }
  qsort(peaks, (size_t)samples, sizeof *peaks, cmp_double);
  out->peak_mean_w = tot / samples;
  out->peak_p05_w = hr_plan_quantile_sorted(peaks, (size_t)samples, 0.05);
  out->peak_p50_w = hr_plan_quantile_sorted(peaks, (size_t)samples, 0.50);
  out->peak_p95_w = hr_plan_quantile_sorted(peaks, (size_t)samples, 0.95);
  out->peak_max_w = peaks[samples - 1];
  out->exceed_prob = (double)over / samples;
  free(perm);
  free(sum);
  free(peaks);
  return HR_OK;
}
