/* plan module: facility aggregation (server -> rack -> row -> site) and
 * utility-facing statistics. */
#define _POSIX_C_SOURCE 200809L /* sysconf(_SC_NPROCESSORS_ONLN) */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plan/plan_model_int.h"

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
  c->tp = 0;
  c->gpu_idle_w = -1.0;
  c->gpu_tdp_w = 0.0;
  c->racks_1s = 1;
  return HR_OK;
}

void hr_plan_site_destroy(hr_plan_site_t *s)
{
  if (!s)
    return;
  free(s->it_w);
  free(s->row_w);
  free(s->rack_w);
  free(s->node_w);
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

/* One facility run shared by its workers.  Racks are handed out in order
 * (next_rack) and added to the site, row and rack series strictly in rack
 * order (next_commit), so every sum is taken in the same order whatever the
 * thread count or timing. */
typedef struct site_job {
  const hr_plan_model_t *m;
  const hr_plan_site_cfg_t *cfg;
  const hr_plan_request_t *req; /* the workload's requests */
  const hr_plan_gen_cfg_t *gen; /* non-NULL: each replica's arrivals are generated here */
  const uint32_t *idx;          /* request indices grouped by replica, in time order */
  const size_t *end;            /* end[k]: end of replica k's indices; start end[k - 1] */
  size_t n, n1, per1, maxreq;   /* maxreq: most requests of one replica */
  int tp, rps;                  /* GPUs per replica, replicas per server */
  int adapt;                    /* 1: idle or TDP differ from the model's */
  double k_tdp, idle0_w, idle1_w;
  hr_plan_site_t *s;
  double ttft_sum, e2e_sum;
  size_t requests; /* requests generated (gen), summed in rack order */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int next_rack, next_commit, rc;
} site_job_t;

/* Power of a replica on other GPUs than the model's: the model's per-GPU
 * power p scales by k = TDP ratio (power as a fraction of TDP, the
 * Splitwise LUT's convention), and the idle share of a partly idle bin (1 -
 * A for A < 1, see idle_blend in plan_generate.c) moves from the model's
 * idle power to the new one.  Since the model's bin is idle0 + A (busy -
 * idle0), the new one idle1 + A (k busy - idle1) is k p + (1 - A)(idle1 - k
 * idle0) per GPU; TDP, mean and LUT powers have no idle share. */
static void adapt_power(const site_job_t *j, const double *active, double *p)
{
  double ng = (double)j->tp, k = j->k_tdp, d = ng * (j->idle1_w - k * j->idle0_w);
  int blend = j->cfg->method != HR_PLAN_TDP && j->cfg->method != HR_PLAN_MEAN &&
              j->cfg->method != HR_PLAN_LUT;
  for (size_t i = 0; i < j->n; i++) {
    double idle = blend && active[i] < 1.0 ? 1.0 - active[i] : 0.0;
    p[i] = k * p[i] + idle * d;
  }
}

typedef struct rack_acc {
  double *active, *p, *srv, *rack, *blk;
  hr_plan_request_t *req;  /* one replica's requests */
  hr_plan_request_t *gbuf; /* a generated replica's requests (hr__plan_workload_draw) */
  size_t gcap;
  hr_plan_serve_stats_t st;
  double ttft_sum, e2e_sum;
  size_t requests;
} rack_acc_t;

/* Replica k's share of a generated workload.  Assigning each request of a
 * Poisson process (constant or time-varying rate) to one of nrep replicas
 * uniformly and independently splits it into nrep independent Poisson
 * processes of rate lambda(t) / nrep (the thinning or colouring theorem,
 * Kingman, Poisson Processes, 1993, s. 5.1), so each replica's arrivals can
 * be drawn on their own, from a seed of their own, when the rack is
 * simulated: memory holds one replica's requests per worker, not the day's.
 * A gamma renewal process (bursty) does not split that way, so it is not
 * offered here.  The lengths keep the generator's model. */
static void replica_gen_cfg(const site_job_t *j, size_t k, hr_plan_gen_cfg_t *out)
{
  hr_plan_gen_cfg_t g = *j->gen;
  double nrep = (double)j->s->nracks * (double)j->cfg->servers_per_rack * (double)j->rps;
  g.rate_per_s /= nrep;
  g.min_rate_per_s /= nrep;
  g.max_rate_per_s /= nrep;
  /* A seed per replica, independent of the threads: the replica's index
   * times an odd constant, mixed into the seed and scrambled by MurmurHash3's
   * 64-bit finaliser (a bijection).  Without the scramble, seeds a multiple
   * of splitmix64's increment apart would give replicas shifted copies of
   * each other's xoshiro state words (hr_plan_rng_seed seeds by splitmix64). */
  uint64_t z = j->gen->seed ^ (0xd1b54a32d192ed03ull * ((uint64_t)k + 1));
  z ^= z >> 33;
  z *= 0xff51afd7ed558ccdull;
  z ^= z >> 33;
  z *= 0xc4ceb9fe1a85ec53ull;
  z ^= z >> 33;
  g.seed = z;
  *out = g;
}

static int rack_run(site_job_t *j, int rack, rack_acc_t *a)
{
  const hr_plan_site_cfg_t *cfg = j->cfg;
  size_t n = j->n;
  memset(&a->st, 0, sizeof a->st);
  a->ttft_sum = a->e2e_sum = 0.0;
  a->requests = 0;
  for (int sv = 0; sv < cfg->servers_per_rack; sv++) {
    int server = rack * cfg->servers_per_rack + sv;
    /* The sums of before (srv = non-GPU power, srv += each replica's p, rack
     * = 0 then rack += each srv) in fewer passes over the series, with the
     * same roundings: srv = non_gpu_w + p for the first replica, and a
     * server of one replica not kept for the node trace goes straight
     * into the rack; 0.0 + x keeps the bits of the zeroed rack's first add. */
    double ngw = cfg->non_gpu_w;
    int direct = j->rps == 1 && server >= j->s->n_node;
    for (int rp = 0; rp < j->rps; rp++) {
      size_t k = (size_t)server * (size_t)j->rps + (size_t)rp;
      hr_plan_serve_stats_t st;
      int rc;
      if (j->gen && cfg->copula_ref) {
        /* The baseline: libm's log, cos and exp per request. */
        hr_plan_gen_cfg_t g;
        hr_plan_workload_t *w = NULL;
        replica_gen_cfg(j, k, &g);
        if ((rc = hr_plan_workload_generate(&g, &w)) != HR_OK)
          return rc;
        a->requests += w->n;
        rc = hr_plan_serve_run(&cfg->serve, w->req, w->n, cfg->dt_s, n, a->active, NULL, &st);
        hr_plan_workload_destroy(w);
      } else if (j->gen) {
        hr_plan_gen_cfg_t g;
        size_t nr = 0;
        replica_gen_cfg(j, k, &g);
        if ((rc = hr__plan_workload_draw(&g, &a->gbuf, &a->gcap, &nr)) != HR_OK)
          return rc;
        a->requests += nr;
        rc = hr_plan_serve_run(&cfg->serve, a->gbuf, nr, cfg->dt_s, n, a->active, NULL, &st);
      } else {
        size_t b = k ? j->end[k - 1] : 0, e = j->end[k];
        for (size_t q = b; q < e; q++)
          a->req[q - b] = j->req[j->idx[q]];
        rc = hr_plan_serve_run(&cfg->serve, a->req, e - b, cfg->dt_s, n, a->active, NULL, &st);
      }
      if (rc != HR_OK)
        return rc;
      a->st.admitted += st.admitted;
      a->st.completed += st.completed;
      if (st.completed) {
        a->ttft_sum += st.mean_ttft_s * (double)st.completed;
        a->e2e_sum += st.mean_e2e_s * (double)st.completed;
      }
      if (st.max_waiting > a->st.max_waiting)
        a->st.max_waiting = st.max_waiting;
      rc =
          hr__plan_model_generate_ex(j->m, cfg->method, cfg->model, j->tp, a->active, n, cfg->dt_s,
                                     cfg->seed * 1000003u + (uint64_t)k + 1, cfg->copula_ref, a->p);
      if (rc != HR_OK)
        return rc;
      if (j->adapt)
        adapt_power(j, a->active, a->p);
      const double *p = a->p;
      double *srv = a->srv, *rk = a->rack;
      if (direct && sv == 0)
        for (size_t i = 0; i < n; i++)
          rk[i] = 0.0 + (ngw + p[i]);
      else if (direct)
        for (size_t i = 0; i < n; i++)
          rk[i] += ngw + p[i];
      else if (rp == 0)
        for (size_t i = 0; i < n; i++)
          srv[i] = ngw + p[i];
      else
        for (size_t i = 0; i < n; i++)
          srv[i] += p[i];
    }
    if (direct)
      continue;
    if (server < j->s->n_node)
      memcpy(j->s->node_w + (size_t)server * n, a->srv, n * sizeof *a->srv);
    if (sv == 0)
      for (size_t i = 0; i < n; i++)
        a->rack[i] = 0.0 + a->srv[i];
    else
      for (size_t i = 0; i < n; i++)
        a->rack[i] += a->srv[i];
  }
  return HR_OK;
}

/* Adds rack `rack` (a->rack at dt_s) to the site, its row and its 1-s rack
 * series; called in rack order under the job's lock. */
static void rack_commit(site_job_t *j, int rack, rack_acc_t *a)
{
  hr_plan_site_t *s = j->s;
  for (size_t i = 0; i < j->n; i++)
    s->it_w[i] += a->rack[i];
  hr_plan_block_mean(a->rack, j->n, j->per1, a->blk);
  double *rw = s->row_w + (size_t)(rack / j->cfg->racks_per_row) * j->n1;
  for (size_t i = 0; i < j->n1; i++)
    rw[i] += a->blk[i];
  if (s->rack_w)
    memcpy(s->rack_w + (size_t)rack * j->n1, a->blk, j->n1 * sizeof *a->blk);
  s->serve.admitted += a->st.admitted;
  s->serve.completed += a->st.completed;
  if (a->st.max_waiting > s->serve.max_waiting)
    s->serve.max_waiting = a->st.max_waiting;
  j->ttft_sum += a->ttft_sum;
  j->e2e_sum += a->e2e_sum;
  j->requests += a->requests;
}

static void *site_worker(void *arg)
{
  site_job_t *j = arg;
  size_t n = j->n;
  rack_acc_t a = {0};
  a.active = malloc(n * sizeof *a.active);
  a.p = malloc(n * sizeof *a.p);
  a.srv = malloc(n * sizeof *a.srv);
  a.rack = malloc(n * sizeof *a.rack);
  a.blk = malloc(j->n1 * sizeof *a.blk);
  a.req = malloc((j->maxreq ? j->maxreq : 1) * sizeof *a.req);
  int rc = a.active && a.p && a.srv && a.rack && a.blk && a.req ? HR_OK : HR_ERR_NOMEM;
  for (;;) {
    pthread_mutex_lock(&j->mu);
    if (rc != HR_OK && j->rc == HR_OK)
      j->rc = rc;
    if (j->rc != HR_OK || j->next_rack >= j->s->nracks) {
      pthread_cond_broadcast(&j->cv);
      pthread_mutex_unlock(&j->mu);
      break;
    }
    int rack = j->next_rack++;
    pthread_mutex_unlock(&j->mu);
    rc = rack_run(j, rack, &a);
    pthread_mutex_lock(&j->mu);
    while (j->rc == HR_OK && rc == HR_OK && j->next_commit != rack)
      pthread_cond_wait(&j->cv, &j->mu);
    if (rc == HR_OK && j->rc == HR_OK) {
      rack_commit(j, rack, &a);
      j->next_commit++;
    }
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
  }
  free(a.active);
  free(a.p);
  free(a.srv);
  free(a.rack);
  free(a.blk);
  free(a.req);
  free(a.gbuf);
  return NULL;
}

/* The facility run of hr_plan_site_run (w) or hr_plan_site_run_gen (gen):
 * exactly one of w and gen is non-NULL. */
static int site_run(const hr_plan_model_t *m, const hr_plan_site_cfg_t *cfg,
                    const hr_plan_workload_t *w, const hr_plan_gen_cfg_t *gen, double duration_s,
                    hr_plan_site_t **out)
{
  if (!m || !cfg || !w == !gen || !out || cfg->rows < 1 || cfg->racks_per_row < 1 ||
      cfg->servers_per_rack < 1 || cfg->gpus_per_server < 1 || !(cfg->non_gpu_w >= 0.0) ||
      !(cfg->pue >= 1.0) || !(cfg->dt_s > 0.0) || !(duration_s >= cfg->dt_s) ||
      duration_s / cfg->dt_s > HR_PLAN_SITE_MAX_STEPS ||
      (double)cfg->rows * cfg->racks_per_row * cfg->servers_per_rack > HR_PLAN_SITE_MAX_SERVERS ||
      cfg->tp < 0 || (cfg->tp > 0 && cfg->gpus_per_server % cfg->tp != 0) || cfg->threads < 0 ||
      !(cfg->gpu_idle_w < 1e5) || !(cfg->gpu_tdp_w < 1e5) || cfg->node_servers < 0 ||
      (double)cfg->node_servers > (double)cfg->rows * cfg->racks_per_row * cfg->servers_per_rack)
    return HR_ERR_INVALID_ARG;
  *out = NULL;
  int nracks = cfg->rows * cfg->racks_per_row, nsrv = nracks * cfg->servers_per_rack;
  int tp = cfg->tp ? cfg->tp : cfg->gpus_per_server, rps = cfg->gpus_per_server / tp;
  size_t nreq = w ? w->n : 0;
  if ((double)nsrv * rps > (double)UINT32_MAX || (double)nreq > (double)UINT32_MAX)
    return HR_ERR_INVALID_ARG;
  size_t nrep = (size_t)nsrv * (size_t)rps;
  size_t n = (size_t)floor(duration_s / cfg->dt_s + 1e-9);
  /* 1-s means need a whole number of steps per second; otherwise the rack
   * and row series use the nearest block length. */
  size_t per1 = (size_t)lround(1.0 / cfg->dt_s);
  if (per1 < 1)
    per1 = 1;
  size_t n1 = (n + per1 - 1) / per1;
  site_job_t j = {0};
  hr_plan_site_t *s = calloc(1, sizeof *s);
  size_t *end = calloc(w ? nrep + 1 : 1, sizeof *end);
  uint32_t *who = malloc((nreq ? nreq : 1) * sizeof *who);
  uint32_t *idx = malloc((nreq ? nreq : 1) * sizeof *idx);
  int rc = HR_ERR_NOMEM;
  if (!s || !end || !who || !idx)
    goto fail;
  s->dt_s = cfg->dt_s;
  s->n = n;
  s->n1 = n1;
  s->nrows = cfg->rows;
  s->nracks = nracks;
  s->pue = cfg->pue;
  s->n_node = cfg->node_servers;
  s->it_w = calloc(n, sizeof *s->it_w);
  s->row_w = calloc((size_t)cfg->rows * n1, sizeof *s->row_w);
  if (!s->it_w || !s->row_w)
    goto fail;
  if (cfg->racks_1s && !(s->rack_w = calloc((size_t)nracks * n1, sizeof *s->rack_w)))
    goto fail;
  if (s->n_node && !(s->node_w = malloc((size_t)s->n_node * n * sizeof *s->node_w)))
    goto fail;
  /* Counting sort of request indices by replica keeps each replica's list
   * in time order. */
  hr_plan_rng_t r;
  hr_plan_rng_seed(&r, cfg->seed);
  for (size_t i = 0; i < nreq; i++) {
    who[i] = (uint32_t)(hr_plan_rng_u64(&r) % (uint64_t)nrep);
    end[who[i] + 1]++;
  }
  for (size_t k = 0; w && k < nrep; k++) {
    j.maxreq = end[k + 1] > j.maxreq ? end[k + 1] : j.maxreq;
    end[k + 1] += end[k];
  }
  for (size_t i = 0; i < nreq; i++)
    idx[end[who[i]]++] = (uint32_t)i;
  free(who);
  who = NULL;
  /* end[k] is now the end of replica k's list; its start is end[k - 1]. */
  j.m = m;
  j.cfg = cfg;
  j.gen = gen;
  j.req = w ? w->req : NULL;
  j.idx = idx;
  j.end = end;
  j.n = n;
  j.n1 = n1;
  j.per1 = per1;
  j.tp = tp;
  j.rps = rps;
  j.s = s;
  j.idle0_w = m->idle_w_per_gpu;
  j.idle1_w = cfg->gpu_idle_w >= 0.0 ? cfg->gpu_idle_w : m->idle_w_per_gpu;
  j.k_tdp = cfg->gpu_tdp_w > 0.0 ? cfg->gpu_tdp_w / m->tdp_w_per_gpu : 1.0;
  j.adapt = j.k_tdp != 1.0 || j.idle1_w != j.idle0_w;
  int nth = cfg->threads;
  if (nth == 0) {
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    nth = c > 0 ? (int)(c < 64 ? c : 64) : 1;
  }
  if (nth > nracks)
    nth = nracks;
  pthread_t *th = malloc((size_t)nth * sizeof *th);
  if (!th)
    goto fail;
  pthread_mutex_init(&j.mu, NULL);
  pthread_cond_init(&j.cv, NULL);
  int started = 0;
  for (; started < nth - 1; started++)
    if (pthread_create(&th[started], NULL, site_worker, &j) != 0)
      break; /* fewer helpers: the calling thread still does the rest */
  site_worker(&j);
  for (int t = 0; t < started; t++)
    pthread_join(th[t], NULL);
  free(th);
  pthread_mutex_destroy(&j.mu);
  pthread_cond_destroy(&j.cv);
  if ((rc = j.rc) != HR_OK)
    goto fail;
  s->serve.mean_ttft_s = s->serve.completed ? j.ttft_sum / (double)s->serve.completed : NAN;
  s->serve.mean_e2e_s = s->serve.completed ? j.e2e_sum / (double)s->serve.completed : NAN;
  s->requests = w ? w->n : j.requests;
  *out = s;
  s = NULL;
fail:
  hr_plan_site_destroy(s);
  free(end);
  free(who);
  free(idx);
  return rc;
}

int hr_plan_site_run(const hr_plan_model_t *m, const hr_plan_site_cfg_t *cfg,
                     const hr_plan_workload_t *w, double duration_s, hr_plan_site_t **out)
{
  return w ? site_run(m, cfg, w, NULL, duration_s, out) : HR_ERR_INVALID_ARG;
}

int hr_plan_site_run_gen(const hr_plan_model_t *m, const hr_plan_site_cfg_t *cfg,
                         const hr_plan_gen_cfg_t *gen, double duration_s, hr_plan_site_t **out)
{
  if (!gen)
    return HR_ERR_INVALID_ARG;
  if (gen->arrival == HR_PLAN_ARRIVAL_BURSTY)
    return HR_ERR_UNSUPPORTED;
  /* The limits hr_plan_workload_generate puts on the whole workload, checked
   * on it here since each replica sees only its share. */
  double lam = gen->arrival == HR_PLAN_ARRIVAL_DIURNAL ? gen->max_rate_per_s : gen->rate_per_s;
  if (!(lam <= HR_PLAN_MAX_RATE_PER_S) || lam * gen->duration_s > HR_PLAN_MAX_ARRIVALS)
    return HR_ERR_RANGE;
  return site_run(m, cfg, NULL, gen, duration_s, out);
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
