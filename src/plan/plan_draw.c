/* plan module: a replica's arrivals and lengths drawn in blocks with the
 * vectorised polynomial log, cos and exp of plan_vmath.h (issue 17's
 * facility day, where libm's log, cos and exp per request were a fifth of
 * the time).
 *
 * The streams are read exactly as hr_plan_workload_generate reads them (two
 * xoshiro256** streams, arrivals and lengths; per proposal the gap's
 * uniform, then for diurnal the thinning's; per request the prompt's
 * Box-Muller pair, then the output's, or one 64-bit word for lengths_from),
 * and every decision is taken in the same order: only the transcendental
 * functions differ, by a few ulps, so a decision (a thinning test, the
 * rounding of a length) can differ only when a value lies within those
 * ulps of its threshold.  tests/plan/test_draw.c bounds the functions'
 * errors against libm and compares the workloads. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "plan/plan_int.h"
#include "plan/plan_vmath.h"

#define DRAW_BLOCK 256

/* gap[i] = -log(u[i]) / lam, as hr_plan_workload_generate's
 * -log(hr_plan_rng_uniform(&ra)) / lam_max. */
HR__CLONES_V4 static void draw_gaps(const double *restrict u, int n, double lam,
                                    double *restrict gap)
{
#pragma omp simd
  for (int i = 0; i < n; i++)
    gap[i] = -bm_log(u[i]) / lam;
}

/* c[i] = cos(2 pi (t[i] - peak) / period) where that turn count is below
 * 2^50 in magnitude; ok[i] = 0 where it is not (the caller uses libm). */
HR__CLONES_V4 static void draw_cos(const double *restrict t, int n, double peak, double period,
                                   double *restrict c, int *restrict ok)
{
#pragma omp simd
  for (int i = 0; i < n; i++) {
    double x = (t[i] - peak) / period;
    int fine = fabs(x) < 1125899906842624.0; /* 2^50 */
    ok[i] = fine;
    c[i] = vm_cos_turns(fine ? x : 0.0);
  }
}

/* x[i] = exp(mu + sd z) with z = sqrt(-2 log u1) cos(2 pi u2), as
 * lognormal_count's exp(mu + sd * hr_plan_rng_normal(r)); y[i] keeps the
 * exponent before clamping to vm_exp's range (the caller maps a NaN to 1,
 * as lognormal_count does). */
HR__CLONES_V4 static void draw_lognormal(const double *restrict u1, const double *restrict u2,
                                         int n, double mu, double sd, double *restrict y,
                                         double *restrict x)
{
#pragma omp simd
  for (int i = 0; i < n; i++) {
    double z = sqrt(-2.0 * bm_log(u1[i])) * vm_cos_turns(u2[i]);
    double v = mu + sd * z;
    y[i] = v;
    v = v > 700.0 ? 700.0 : v;
    v = v < -700.0 ? -700.0 : v;
    x[i] = vm_exp(v == v ? v : 0.0);
  }
}

/* lognormal_count of plan_workload.c from x = exp(...) and its exponent y. */
static int32_t count_of(double y, double x, int32_t max)
{
  if (y != y || !(x >= 1.0))
    return 1;
  if (x >= (double)max)
    return max;
  return (int32_t)lround(x);
}

typedef struct len_buf {
  uint64_t s[4];
  int pos, len;
  double u[4][DRAW_BLOCK], y[2][DRAW_BLOCK], x[2][DRAW_BLOCK];
} len_buf_t;

/* The next DRAW_BLOCK requests' lognormal lengths: per request the prompt's
 * u1, u2, then the output's u1, u2, as two lognormal_count calls read them. */
static void len_fill(len_buf_t *b, const hr_plan_gen_cfg_t *cfg)
{
  for (int i = 0; i < DRAW_BLOCK; i++)
    for (int k = 0; k < 4; k++)
      b->u[k][i] = xo_uniform(b->s);
  draw_lognormal(b->u[0], b->u[1], DRAW_BLOCK, cfg->in_log_mean, cfg->in_log_sd, b->y[0], b->x[0]);
  draw_lognormal(b->u[2], b->u[3], DRAW_BLOCK, cfg->out_log_mean, cfg->out_log_sd, b->y[1],
                 b->x[1]);
  b->pos = 0;
  b->len = DRAW_BLOCK;
}

typedef struct arr_buf {
  double ug[DRAW_BLOCK], uth[DRAW_BLOCK], gap[DRAW_BLOCK], t[DRAW_BLOCK], c[DRAW_BLOCK];
  int ok[DRAW_BLOCK];
} arr_buf_t;

int hr__plan_workload_draw(const hr_plan_gen_cfg_t *cfg, hr_plan_request_t **buf, size_t *cap,
                           size_t *nout)
{
  if (!cfg || !buf || !cap || !nout || !(cfg->duration_s > 0.0) ||
      !(cfg->duration_s <= HR_PLAN_MAX_SECONDS) || cfg->max_in_tokens < 1 ||
      cfg->max_out_tokens < 1 || cfg->max_requests == 0 ||
      (cfg->lengths_from && cfg->lengths_from->n == 0))
    return HR_ERR_INVALID_ARG;
  /* The checks of hr_plan_workload_generate, for the two processes drawn here. */
  int diurnal = cfg->arrival == HR_PLAN_ARRIVAL_DIURNAL;
  double lam_max;
  if (cfg->arrival == HR_PLAN_ARRIVAL_POISSON) {
    if (!(cfg->rate_per_s > 0.0))
      return HR_ERR_INVALID_ARG;
    lam_max = cfg->rate_per_s;
  } else if (diurnal) {
    if (!(cfg->min_rate_per_s >= 0.0) || !(cfg->max_rate_per_s >= cfg->min_rate_per_s) ||
        !(cfg->max_rate_per_s > 0.0) || !(cfg->period_s > 0.0) || !isfinite(cfg->peak_t_s))
      return HR_ERR_INVALID_ARG;
    if (!(cfg->period_s <= HR_PLAN_MAX_SECONDS))
      return HR_ERR_RANGE;
    lam_max = cfg->max_rate_per_s;
  } else {
    return HR_ERR_UNSUPPORTED; /* bursty: gamma gaps, drawn by hr_plan_workload_generate */
  }
  if (!(lam_max <= HR_PLAN_MAX_RATE_PER_S) || lam_max * cfg->duration_s > HR_PLAN_MAX_ARRIVALS)
    return HR_ERR_RANGE;
  arr_buf_t *a = malloc(sizeof *a);
  len_buf_t *l = malloc(sizeof *l);
  if (!a || !l) {
    free(a);
    free(l);
    return HR_ERR_NOMEM;
  }
  hr_plan_rng_t ra, rl;
  hr_plan_rng_seed(&ra, cfg->seed);
  hr_plan_rng_seed(&rl, cfg->seed ^ 0x5bd1e9955bd1e995ull);
  memcpy(l->s, rl.s, sizeof l->s);
  l->pos = l->len = 0;
  size_t n = 0;
  int rc = HR_OK, done = 0;
  double t = 0.0;
  while (!done) {
    for (int i = 0; i < DRAW_BLOCK; i++) {
      a->ug[i] = xo_uniform(ra.s);
      if (diurnal)
        a->uth[i] = xo_uniform(ra.s);
    }
    draw_gaps(a->ug, DRAW_BLOCK, lam_max, a->gap);
    for (int i = 0; i < DRAW_BLOCK; i++) {
      t += a->gap[i];
      a->t[i] = t;
    }
    if (diurnal)
      draw_cos(a->t, DRAW_BLOCK, cfg->peak_t_s, cfg->period_s, a->c, a->ok);
    for (int i = 0; i < DRAW_BLOCK; i++) {
      double ti = a->t[i];
      if (!(ti < cfg->duration_s)) {
        done = 1; /* also ends on a NaN time rather than looping */
        break;
      }
      if (diurnal) {
        double c = a->ok[i] ? a->c[i] : cos(2.0 * M_PI * (ti - cfg->peak_t_s) / cfg->period_s);
        double lam =
            cfg->min_rate_per_s + (cfg->max_rate_per_s - cfg->min_rate_per_s) * 0.5 * (1.0 + c);
        if (a->uth[i] * lam_max > lam)
          continue;
      }
      if (n > 0 && !(ti > (*buf)[n - 1].t_s))
        continue; /* a zero gap below double resolution: keep times strictly increasing */
      if (n == cfg->max_requests) {
        rc = HR_ERR_RANGE;
        done = 1;
        break;
      }
      if (n == *cap) {
        size_t nc = *cap ? *cap * 2 : 1024;
        hr_plan_request_t *p = realloc(*buf, nc * sizeof *p);
        if (!p) {
          rc = HR_ERR_NOMEM;
          done = 1;
          break;
        }
        *buf = p;
        *cap = nc;
      }
      hr_plan_request_t r = {ti, 0, 0};
      if (cfg->lengths_from) {
        size_t k = (size_t)(xo_u64(l->s) % cfg->lengths_from->n);
        r.in_tokens = cfg->lengths_from->req[k].in_tokens;
        r.out_tokens = cfg->lengths_from->req[k].out_tokens;
      } else {
        if (l->pos == l->len)
          len_fill(l, cfg);
        int p = l->pos++;
        r.in_tokens = count_of(l->y[0][p], l->x[0][p], cfg->max_in_tokens);
        r.out_tokens = count_of(l->y[1][p], l->x[1][p], cfg->max_out_tokens);
      }
      (*buf)[n++] = r;
    }
  }
  free(a);
  free(l);
  *nout = rc == HR_OK ? n : 0;
  return rc;
}
