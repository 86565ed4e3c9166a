/* plan module: continuous-batching serving simulator.
 *
 * Decoding sequences all advance one token per iteration, so a sequence's
 * finish is a fixed iteration count: a min-heap of finish counts replaces a
 * walk over the running set, and stretches with no prefill work and no
 * admissible arrival are advanced in one step. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plan/plan_int.h"

int hr_plan_serve_cfg_init(hr_plan_serve_cfg_t *c)
{
  if (!c)
    return HR_ERR_INVALID_ARG;
  c->max_num_seqs = 256;
  c->max_batched_tokens = 8192;
  c->chunked_prefill = 1;
  c->prefill_tok_per_s = 12000.0;
  c->step_s = 0.025;
  c->step_per_seq_s = 0.00005;
  return HR_OK;
}

typedef struct heap_item {
  uint64_t finish; /* decode-iteration count at which the last token is out */
  double t_arr_s;
} heap_item_t;

static void heap_push(heap_item_t *h, size_t *n, heap_item_t x)
{
  size_t i = (*n)++;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (h[p].finish <= x.finish)
      break;
    h[i] = h[p];
    i = p;
  }
  h[i] = x;
}

static heap_item_t heap_pop(heap_item_t *h, size_t *n)
{
  heap_item_t top = h[0], x = h[--(*n)];
  if (*n == 0)
    return top;
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= *n)
      break;
    if (c + 1 < *n && h[c + 1].finish < h[c].finish)
      c++;
    if (x.finish <= h[c].finish)
      break;
    h[i] = h[c];
    i = c;
  }
  h[i] = x;
  return top;
}

typedef struct pf_item {
  int64_t rem; /* prompt tokens still to prefill */
  int32_t out; /* output tokens */
  double t_arr_s;
} pf_item_t;

/* x / dt, as x * inv when inv = 1 / dt is exact (dt a power of two: the
 * same correctly rounded quotient without a division's latency). */
static inline double per_dt(double x, double dt, double inv)
{
  return inv != 0.0 ? x * inv : x / dt;
}

/* 1 when x / d (d > 0) rounds to at least kd, an integral double, so that
 * ceil(x / d) < kd cannot hold: found without the division's latency.  If x
 * >= kd d exactly, the rounded quotient is >= kd (rounding is monotone and
 * kd is a double); kd d rounded, times 1 + 2^-50 rounded, exceeds kd d, so
 * the test below implies it.  A NaN or an overflow answers 0 (divide). */
static inline int quot_at_least(double x, double d, double kd)
{
  return x >= kd * d * (1.0 + 0x1p-50);
}

/* Adds value v over [t0, t1) to per-bin time averages.  inv: 1 / dt when
 * dt is a power of two, else 0 (see per_dt). */
static void accumulate(double *bins, size_t nb, double dt, double inv, double t0, double t1,
                       double v)
{
  if (!bins || v == 0.0 || !(t1 > t0))
    return;
  if (t0 < 0.0)
    t0 = 0.0;
  double end = (double)nb * dt;
  if (t0 >= end)
    return;
  if (t1 > end)
    t1 = end;
  size_t b = (size_t)per_dt(t0, dt, inv);
  if (b < nb && t0 < t1) {
    double be = (double)(b + 1) * dt, seg = (t1 < be ? t1 : be) - t0;
    bins[b] += per_dt(v * seg, dt, inv);
    t0 += seg;
    b++;
  }
  /* Whole bins, each the loop below would do with t0 = b dt: the same
   * arithmetic without its step-to-step chain through t0.  Once t0 is
   * b dt (b >= 1), be - t0 is exact (Sterbenz: t0 <= be <= 2 t0), so the
   * t0 += seg below gives be exactly and the next bin starts at (b + 1) dt
   * again; at b = 0 it starts at 0 and be - 0 is exact too. */
  if (t0 == (double)b * dt) {
    for (; b < nb; b++) {
      double bs = (double)b * dt, be = (double)(b + 1) * dt;
      if (!(be <= t1))
        break;
      double seg = be - bs;
      bins[b] += per_dt(v * seg, dt, inv);
    }
    t0 = (double)b * dt;
  }
  while (b < nb && t0 < t1) {
    double be = (double)(b + 1) * dt, seg = (t1 < be ? t1 : be) - t0;
    bins[b] += per_dt(v * seg, dt, inv);
    t0 += seg;
    b++;
  }
}

int hr_plan_serve_run(const hr_plan_serve_cfg_t *cfg, const hr_plan_request_t *req, size_t nreq,
                      double dt_s, size_t nbins, double *active, double *waiting,
                      hr_plan_serve_stats_t *stats)
{
  if (!cfg || (!req && nreq) || !active || !(dt_s > 0.0) || nbins == 0 || cfg->max_num_seqs < 1 ||
      cfg->max_batched_tokens < 1 || !(cfg->prefill_tok_per_s > 0.0) || !(cfg->step_s > 0.0) ||
      !(cfg->step_per_seq_s >= 0.0))
    return HR_ERR_INVALID_ARG;
  for (size_t i = 0; i < nreq; i++) /* finite, >= 0, in time order; counts >= 0 */
    if (!(req[i].t_s >= 0.0 && req[i].t_s < 1e15) || (i && req[i].t_s < req[i - 1].t_s) ||
        req[i].in_tokens < 0 || req[i].out_tokens < 0)
      return HR_ERR_INVALID_ARG;
  size_t cap = (size_t)cfg->max_num_seqs;
  heap_item_t *heap = malloc(cap * sizeof *heap);
  pf_item_t *pf = malloc(cap * sizeof *pf); /* ring buffer */
  if (!heap || !pf) {
    free(heap);
    free(pf);
    return HR_ERR_NOMEM;
  }
  memset(active, 0, nbins * sizeof *active);
  if (waiting)
    memset(waiting, 0, nbins * sizeof *waiting);
  int e2;
  double inv_dt =
      frexp(dt_s, &e2) == 0.5 && dt_s >= 0x1p-1000 && dt_s <= 0x1p1000 ? 1.0 / dt_s : 0.0;
  hr_plan_serve_stats_t st = {0};
  double sum_ttft = 0.0, sum_e2e = 0.0;
  size_t nh = 0, pf_head = 0, npf = 0, arr = 0, adm = 0, nttft = 0;
  uint64_t iters = 0;
  double t = 0.0, end = (double)nbins * dt_s;
  while (t < end) {
    while (arr < nreq && req[arr].t_s <= t)
      arr++;
    while (adm < arr && nh + npf < cap) {
      pf_item_t it = {req[adm].in_tokens > 0 ? req[adm].in_tokens : 1, req[adm].out_tokens,
                      req[adm].t_s};
      pf[(pf_head + npf++) % cap] = it;
      /* Queueing time is booked exactly, arrival to admission. */
      accumulate(waiting, nbins, dt_s, inv_dt, req[adm].t_s, t, 1.0);
      adm++;
      st.admitted++;
    }
    double nwait = (double)(arr - adm);
    if (nwait > st.max_waiting)
      st.max_waiting = nwait;
    size_t nrun = nh + npf;
    if (nrun == 0) {
      if (arr >= nreq)
        break;
      t = req[arr].t_s; /* idle until the next arrival */
      continue;
    }
    double ndec = (double)nh, dur1 = cfg->step_s + cfg->step_per_seq_s * ndec;
    int64_t budget = (int64_t)cfg->max_batched_tokens - (int64_t)nh;
    if (npf == 0 || budget <= 0) {
      /* Decode only: identical iterations until a sequence finishes, an
       * arrival can be admitted, or the horizon. */
      uint64_t k = nh ? heap[0].finish - iters : 1;
      if (arr < nreq && nrun < cap && !quot_at_least(req[arr].t_s - t, dur1, (double)k)) {
        double ka = ceil((req[arr].t_s - t) / dur1);
        if (ka < 1.0)
          ka = 1.0;
        if (ka < (double)k)
          k = (uint64_t)ka;
      }
      if (!quot_at_least(end - t, dur1, (double)k)) {
        double kh = ceil((end - t) / dur1);
        if (kh < (double)k)
          k = kh < 1.0 ? 1 : (uint64_t)kh;
      }
      if (npf > 0 && k > 1)
        k = 1; /* prefill is waiting for budget: re-plan every iteration */
      double t1 = t + (double)k * dur1;
      accumulate(active, nbins, dt_s, inv_dt, t, t1, (double)nrun);
      t = t1;
      iters += k;
    } else {
      int64_t ptok = 0;
      size_t done = 0; /* prefills completing this iteration (from the head) */
      for (size_t q = 0; q < npf && budget > 0; q++) {
        pf_item_t *it = &pf[(pf_head + q) % cap];
        int64_t take;
        if (cfg->chunked_prefill)
          take = it->rem < budget ? it->rem : budget;
        else if (it->rem <= budget || (ptok == 0 && nh == 0))
          take = it->rem; /* an oversized prompt runs alone */
        else
          break;
        it->rem -= take;
        ptok += take;
        budget -= take;
        if (it->rem > 0)
          break;
        done++;
      }
      double dur = dur1 + (double)ptok / cfg->prefill_tok_per_s;
      accumulate(active, nbins, dt_s, inv_dt, t, t + dur, (double)nrun);
      t += dur;
      iters++;
      for (size_t q = 0; q < done; q++) {
        pf_item_t it = pf[pf_head];
        pf_head = (pf_head + 1) % cap;
        npf--;
        sum_ttft += t - it.t_arr_s;
        nttft++;
        if (it.out <= 1) {
          st.completed++;
          sum_e2e += t - it.t_arr_s;
        } else {
          heap_item_t h = {iters + (uint64_t)(it.out - 1), it.t_arr_s};
          heap_push(heap, &nh, h);
        }
      }
    }
    while (nh > 0 && heap[0].finish <= iters) {
      heap_item_t h = heap_pop(heap, &nh);
      st.completed++;
      sum_e2e += t - h.t_arr_s;
    }
  }
  for (size_t i = adm; i < nreq && req[i].t_s < end; i++)
    accumulate(waiting, nbins, dt_s, inv_dt, req[i].t_s, end, 1.0); /* never admitted */
  st.mean_ttft_s = nttft ? sum_ttft / (double)nttft : NAN;
  st.mean_e2e_s = st.completed ? sum_e2e / (double)st.completed : NAN;
  if (stats)
    *stats = st;
  free(heap);
  free(pf);
  return HR_OK;
}
