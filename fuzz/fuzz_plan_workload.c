/* libFuzzer harness for the workload generator's parameters
 * (hr_plan_workload_generate, hr_plan_workload_fit_lengths) and the serving
 * simulator that consumes its output (hr_plan_serve_run).
 *
 * The input fills hr_plan_gen_cfg_t field by field (each double a special
 * value -- NaN, infinities, 1e308, denormals, -0 -- a multiple of a typical
 * value, or raw bits), optionally a lengths_from workload, then a serving
 * configuration.  The request cap is kept below 5000, the proposals drawn
 * (rate x duration) to a million and the serving run below 2000 bins so that
 * every input is quick; everything else is free.
 *
 * Checks: a refused configuration gives HR_ERR_INVALID_ARG or HR_ERR_RANGE
 * and no workload; a workload has at most max_requests requests at strictly
 * increasing times in (0, duration), token counts in [1, max] (or taken
 * from lengths_from), and is the same for the same configuration; fitted
 * lengths are finite; the simulator's trajectory is finite, >= 0, and never
 * has more running sequences than max_num_seqs. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "headroom/plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void serve(hr_fz_t *f, const hr_plan_workload_t *w)
{
  hr_plan_serve_cfg_t sc;
  hr_plan_serve_cfg_init(&sc);
  uint8_t what = hr_fz_u8(f);
  if (what & 1)
    sc.max_num_seqs = (int)hr_fz_range(f, -2, 4096);
  if (what & 2)
    sc.max_batched_tokens = (int)hr_fz_range(f, -2, 1 << 20);
  if (what & 4)
    sc.chunked_prefill = hr_fz_u8(f) & 1;
  if (what & 8)
    sc.prefill_tok_per_s = hr_fz_double(f, 12000.0);
  if (what & 16) {
    sc.step_s = hr_fz_double(f, 0.025);
    if (sc.step_s > 0.0 && sc.step_s < 1e-4)
      sc.step_s = 1e-4; /* keeps a run's iteration count bounded */
  }
  if (what & 32)
    sc.step_per_seq_s = hr_fz_double(f, 5e-5);
  double dt = what & 64 ? hr_fz_double(f, 1.0) : 1.0;
  size_t nbins = 1 + (size_t)hr_fz_range(f, 0, 1999);
  if (dt > 0.0 && dt * (double)nbins > 1e5)
    dt = 1e5 / (double)nbins;
  double *active = malloc(nbins * sizeof *active), *waiting = malloc(nbins * sizeof *waiting);
  if (!active || !waiting)
    abort();
  hr_plan_serve_stats_t st;
  int rc = hr_plan_serve_run(&sc, w->req, w->n, dt, nbins, active, waiting, &st);
  if (rc == HR_OK) {
    for (size_t b = 0; b < nbins; b++)
      if (!(active[b] >= 0.0 && active[b] <= sc.max_num_seqs + 1e-9) || !(waiting[b] >= 0.0) ||
          !isfinite(waiting[b]))
        abort();
    if (st.completed > st.admitted || st.admitted > w->n)
      abort();
  } else if (rc != HR_ERR_INVALID_ARG) {
    abort();
  }
  free(active);
  free(waiting);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  hr_fz_t f = hr_fz_init(data, size);
  hr_plan_gen_cfg_t cfg;
  hr_plan_gen_cfg_init(&cfg);
  cfg.arrival = (hr_plan_arrival_t)hr_fz_range(&f, -1, 3);
  uint32_t mask = hr_fz_u32(&f);
  if (mask & 1)
    cfg.duration_s = hr_fz_double(&f, 60.0);
  else
    cfg.duration_s = 60.0;
  if (mask & 2)
    cfg.rate_per_s = hr_fz_double(&f, 2.0);
  if (mask & 4)
    cfg.burst_cv = hr_fz_double(&f, 2.0);
  if (mask & 8)
    cfg.min_rate_per_s = hr_fz_double(&f, 0.5);
  if (mask & 16)
    cfg.max_rate_per_s = hr_fz_double(&f, 4.0);
  if (mask & 32)
    cfg.period_s = hr_fz_double(&f, 30.0);
  if (mask & 64)
    cfg.peak_t_s = hr_fz_double(&f, 10.0);
  if (mask & 128)
    cfg.in_log_mean = hr_fz_double(&f, 7.0);
  if (mask & 256)
    cfg.in_log_sd = hr_fz_double(&f, 1.0);
  if (mask & 512)
    cfg.out_log_mean = hr_fz_double(&f, 5.0);
  if (mask & 1024)
    cfg.out_log_sd = hr_fz_double(&f, 1.0);
  if (mask & 2048)
    cfg.max_in_tokens = (int32_t)hr_fz_u32(&f);
  if (mask & 4096)
    cfg.max_out_tokens = (int32_t)hr_fz_u32(&f);
  cfg.seed = hr_fz_u64(&f);
  cfg.max_requests = (size_t)hr_fz_range(&f, 0, 4999);
  hr_plan_workload_t from = {0};
  hr_plan_request_t reqs[8];
  if (mask & 8192) {
    from.n = (size_t)hr_fz_range(&f, 0, 8);
    for (size_t i = 0; i < from.n; i++)
      reqs[i] = (hr_plan_request_t){(double)i, (int32_t)hr_fz_u32(&f) % 100000,
                                    (int32_t)hr_fz_u32(&f) % 100000};
    from.req = reqs;
    cfg.lengths_from = &from;
  }

  /* The generator draws up to rate x duration proposals (HR_PLAN_MAX_ARRIVALS,
   * 1e9: tens of seconds); thinning and sub-resolution gaps drop most of
   * them for some inputs, so the request cap alone does not keep a run
   * short.  A million proposals is plenty to reach every branch. */
  double lam = cfg.arrival == HR_PLAN_ARRIVAL_DIURNAL ? cfg.max_rate_per_s : cfg.rate_per_s;
  if (lam * cfg.duration_s > 1e6 && cfg.duration_s > 0.0 && lam > 0.0 && isfinite(lam) &&
      lam <= HR_PLAN_MAX_RATE_PER_S)
    cfg.duration_s = 1e6 / lam;

  hr_plan_workload_t *w = NULL, *w2 = NULL;
  int rc = hr_plan_workload_generate(&cfg, &w);
  if (rc != HR_OK) {
    if (w || (rc != HR_ERR_INVALID_ARG && rc != HR_ERR_RANGE))
      abort();
    return 0;
  }
  if (w->n > cfg.max_requests)
    abort();
  for (size_t i = 0; i < w->n; i++) {
    const hr_plan_request_t *r = &w->req[i];
    if (!(r->t_s >= 0.0 && r->t_s < cfg.duration_s) || (i && !(r->t_s > w->req[i - 1].t_s)))
      abort();
    if (cfg.lengths_from) {
      int found = 0;
      for (size_t k = 0; k < from.n && !found; k++)
        found = from.req[k].in_tokens == r->in_tokens && from.req[k].out_tokens == r->out_tokens;
      if (!found)
        abort();
    } else if (r->in_tokens < 1 || r->in_tokens > cfg.max_in_tokens || r->out_tokens < 1 ||
               r->out_tokens > cfg.max_out_tokens) {
      abort();
    }
  }
  if (hr_plan_workload_generate(&cfg, &w2) != HR_OK || w2->n != w->n ||
      (w->n && memcmp(w->req, w2->req, w->n * sizeof *w->req) != 0))
    abort();
  hr_plan_workload_destroy(w2);
  hr_plan_gen_cfg_t fit = cfg;
  rc = hr_plan_workload_fit_lengths(w, &fit);
  if (w->n == 0 ? rc != HR_ERR_INVALID_ARG
                : rc != HR_OK || !isfinite(fit.in_log_mean) || !isfinite(fit.in_log_sd) ||
                      !isfinite(fit.out_log_mean) || !isfinite(fit.out_log_sd) ||
                      fit.in_log_sd < 0.0 || fit.out_log_sd < 0.0)
    abort();
  serve(&f, w);
  hr_plan_workload_destroy(w);
  return 0;
}
