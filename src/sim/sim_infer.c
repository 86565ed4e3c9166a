/* LLM inference workloads of the simulator (docs/sim.md, "Inference").
 *
 * Workload -> serving states -> power, as the planner does it (src/plan):
 * the requests of each replica come from the planner's workload generator
 * (hr_plan_workload_generate: Poisson or diurnal arrivals, prompt and output
 * lengths near the Azure conversation trace), and each replica serves them
 * with the planner's serving rules (hr_plan_serve_run: vLLM continuous
 * batching, decodes first, then prefill tokens up to the iteration's token
 * budget, FIFO admission while fewer than max_num_seqs run; its iteration
 * time and defaults, Llama-3.1-70B on 4 x H100), but stepped online so that
 * caps and admission limits act while it runs.
 *
 * Power: each GPU of a replica draws the measured mean per-GPU power of
 * Llama-3.1-70B on 4 x H100 at the running batch (ML.ENERGY Benchmark v3,
 * via gpu2grid/openg2g: ../shared/data/power/h100-inference, the means of
 * the fixed-batch traces; tests/sim/test_sim_infer.c recomputes them from
 * the files), interpolated in log2 of the batch and made non-decreasing; a
 * replica with nothing running idles.
 *
 * Under a cap below that power the iteration slows: its prefill part
 * (compute bound) by x^-gamma_pre and its decode part (memory bound) by
 * x^-gamma, x = (cap - idle) / (power - idle).  gamma_pre = 0.647 puts the
 * prefill 1.3 x slower at a cap of 70 % of a 700-W TDP when it would draw
 * the TDP: the power-capped H100 of Splitwise (Patel et al., ISCA 2024;
 * ../shared/data/power/splitwise-lut, h100-80gb-pcap against h100-80gb:
 * prompt time x 1.30, token time x 1.00 on every row); the 70 % cap level
 * is the paper's, not in the file [M].  The decode part keeps the training
 * model's gamma (1/3, [M]): Splitwise shows no token slowdown under its cap,
 * which the model gives whenever the cap is above the decode's draw.
 *
 * Under a clock lock (docs/sim.md, "Clock locks") power and iteration time
 * follow hr__infer_clock_w and hr__infer_slow below. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "headroom/plan.h"
#include "sim/sim_int.h"

/* Llama-3.1-70B, 4 x H100, mean per-GPU power [W] at max_num_seqs (the
 * fixed-batch runs hold that many sequences). */
static const double PB_N[] = {8, 16, 32, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048};
static const double PB_W[] = {441.5, 451.2, 449.1, 500.1, 525.8, 545.8, 574.1,
                              588.9, 586.4, 622.8, 633.4, 636.2, 673.6, 669.3};
#define PB_LEN (sizeof PB_N / sizeof PB_N[0])

double hr__infer_power_w(double batch, double idle_w)
{
  if (!(batch > 0.0))
    return idle_w;
  /* Below the smallest measured batch its level holds (as the planner's
   * state models do); in between, log2 interpolation; non-decreasing. */
  double lb = log2(batch < PB_N[0] ? PB_N[0] : batch), mono[PB_LEN];
  for (size_t k = 0; k < PB_LEN; k++)
    mono[k] = k && mono[k - 1] > PB_W[k] ? mono[k - 1] : PB_W[k];
  if (lb >= log2(PB_N[PB_LEN - 1]))
    return mono[PB_LEN - 1];
  size_t j = 0;
  while (j + 2 < PB_LEN && lb > log2(PB_N[j + 1]))
    j++;
  double w = (lb - log2(PB_N[j])) / (log2(PB_N[j + 1]) - log2(PB_N[j]));
  return mono[j] + w * (mono[j + 1] - mono[j]);
}

#define GAMMA_PRE 0.647 /* ln 1.3 / ln(630 / 420): Splitwise's capped prefill */

double hr__infer_clock_w(double p_w, double idle_w, const hr__infer_clock_t *ck)
{
  if (!ck || !(ck->r < 1.0) || !(p_w > idle_w))
    return p_w;
  return idle_w + (p_w - idle_w) * pow(ck->r, ck->power_exp);
}

/* Clock locks: the firmware meets a power cap by lowering the clock, so the
 * capped prefill of Splitwise (time x 1.30 at x = 420 / 630 of the power
 * above idle) is a clock model's prefill at r = 1 / 1.3 if prefill time goes
 * as 1 / r (compute bound): power above idle ~ r^(1 / 0.647) = r^1.546,
 * the default clock_power_exp, which makes a cap and the lock that draws the
 * same power slow a prefill alike.  Decode is memory bound: its time goes as
 * r^-clock_decode_exp, 0.1 by default [M] ("decode barely slows": on an
 * RTX PRO 6000 a 2842 -> 180 MHz lock cost 1-6 % latency, decode 77-91 % of
 * the time, Maliakel et al., arXiv 2501.08219; on an H200 decode draws
 * 137-300 W and clock locks recover up to 32 % of its energy at minimal
 * throughput loss, Ma et al., arXiv 2605.11999).  A cap below the locked
 * clock's power slows the iteration further as a cap does, from that power. */
double hr__infer_slow(double t_dec_s, double t_pre_s, double pw_w, double cap_w, double idle_w,
                      double gamma, const hr__infer_clock_t *ck)
{
  double td = t_dec_s, tp = t_pre_s;
  int locked = ck && ck->r < 1.0;
  if (locked) {
    pw_w = hr__infer_clock_w(pw_w, idle_w, ck);
    td = t_dec_s * pow(ck->r, -ck->decode_exp);
    tp = t_pre_s / ck->r;
  }
  if (cap_w < pw_w) {
    double x = (cap_w - idle_w) / (pw_w - idle_w);
    if (x < 1e-3)
      x = 1e-3;
    return (td * pow(x, -gamma) + tp * pow(x, -GAMMA_PRE)) / (t_dec_s + t_pre_s);
  }
  return locked ? (td + tp) / (t_dec_s + t_pre_s) : 1.0;
}

typedef struct seq {
  size_t req;
  int32_t pre_left, out_left, chunk; /* prompt tokens left, output tokens left, this iteration's
                                        prefill chunk */
  double last_tok_s;                 /* time of its last token (NAN before the first) */
} seq_t;

typedef struct replica {
  hr_plan_workload_t *wl;   /* owned */
  size_t arrived, admitted; /* requests [0, arrived) have arrived; [admitted, arrived) wait */
  seq_t *run;
  int n_run;
  int n_dec;      /* decoding sequences in the present iteration */
  double t_end_s; /* end of the present iteration; NAN: idle */
  double slow;    /* the present iteration's time factor (1 uncapped) */
} replica_t;

struct hr__infer {
  hr_plan_serve_cfg_t sv;
  size_t n_rep;
  replica_t *rep;
  hr__lathist_t *ttft, *tbt;
  hr__lathist_t *ttft2, *tbt2; /* a second pair (hr__infer_also), or NULL */
  uint64_t tokens, completed, requests;
  double ttft_sum_s;
  uint64_t ttft_n;
};

void hr__infer_destroy(hr__infer_t *f)
{
  if (!f)
    return;
  for (size_t r = 0; f->rep && r < f->n_rep; r++) {
    hr_plan_workload_destroy(f->rep[r].wl);
    free(f->rep[r].run);
  }
  free(f->rep);
  free(f);
}

int hr__infer_create(const hr_workload_t *w, double duration_s, hr__lathist_t *ttft,
                     hr__lathist_t *tbt, hr__infer_t **out)
{
  *out = NULL;
  int n_gpu = w->gpu_end - w->gpu_first;
  if (w->gpus_per_replica < 1 || n_gpu % w->gpus_per_replica)
    return HR_ERR_RANGE;
  hr__infer_t *f = calloc(1, sizeof *f);
  if (!f)
    return HR_ERR_NOMEM;
  hr_plan_serve_cfg_init(&f->sv);
  f->sv.max_num_seqs = w->max_num_seqs;
  f->ttft = ttft;
  f->tbt = tbt;
  f->n_rep = (size_t)(n_gpu / w->gpus_per_replica);
  f->rep = calloc(f->n_rep, sizeof *f->rep);
  if (!f->rep) {
    hr__infer_destroy(f);
    return HR_ERR_NOMEM;
  }
  for (size_t r = 0; r < f->n_rep; r++) {
    hr_plan_gen_cfg_t g;
    hr_plan_gen_cfg_init(&g);
    g.duration_s = duration_s;
    g.seed = w->seed * 1000003u + r;
    if (w->max_rate_per_s > 0.0) {
      g.arrival = HR_PLAN_ARRIVAL_DIURNAL;
      g.min_rate_per_s = w->min_rate_per_s;
      g.max_rate_per_s = w->max_rate_per_s;
      g.period_s = w->diurnal_period_s;
      g.peak_t_s = w->peak_t_s;
    } else {
      g.rate_per_s = w->rate_per_s;
    }
    g.max_requests = HR__INFER_MAX_REQUESTS;
    replica_t *p = &f->rep[r];
    int rc = hr_plan_workload_generate(&g, &p->wl);
    p->run = calloc((size_t)f->sv.max_num_seqs, sizeof *p->run);
    if (rc != HR_OK || !p->run) {
      hr__infer_destroy(f);
      return rc != HR_OK ? rc : HR_ERR_NOMEM;
    }
    p->t_end_s = NAN;
    p->slow = 1.0;
    f->requests += p->wl->n;
  }
  *out = f;
  return HR_OK;
}

void hr__infer_also(hr__infer_t *f, hr__lathist_t *ttft, hr__lathist_t *tbt)
{
  f->ttft2 = ttft;
  f->tbt2 = tbt;
}

size_t hr__infer_replicas(const hr__infer_t *f)
{
  return f ? f->n_rep : 0;
}

/* The largest batch whose power fits under cap_w, at least the smallest
 * measured batch: the measurements give no lower power below it, so a
 * smaller batch would cost throughput and save nothing (the cap throttles
 * the rest). */
static int admit_limit(double cap_w, double idle_w, int max_seqs, const hr__infer_clock_t *ck)
{
  if (hr__infer_clock_w(hr__infer_power_w(max_seqs, idle_w), idle_w, ck) <= cap_w)
    return max_seqs;
  int lo = (int)PB_N[0] < max_seqs ? (int)PB_N[0] : max_seqs, hi = max_seqs;
  if (hr__infer_clock_w(hr__infer_power_w(lo, idle_w), idle_w, ck) > cap_w)
    return lo;
  while (hi - lo > 1) {
    int mid = lo + (hi - lo) / 2;
    if (hr__infer_clock_w(hr__infer_power_w(mid, idle_w), idle_w, ck) <= cap_w)
      lo = mid;
    else
      hi = mid;
  }
  return lo;
}

/* Ends the present iteration at t: tokens out, first tokens, completions. */
static void finish_iter(hr__infer_t *f, replica_t *p, double t)
{
  int w = 0;
  for (int q = 0; q < p->n_run; q++) {
    seq_t *s = &p->run[q];
    int emits = 0;
    if (s->chunk > 0) {
      s->pre_left -= s->chunk;
      s->chunk = 0;
      if (s->pre_left <= 0) {
        /* The prompt is done: the first token comes with it. */
        hr__lathist_add(f->ttft, t - p->wl->req[s->req].t_s);
        if (f->ttft2)
          hr__lathist_add(f->ttft2, t - p->wl->req[s->req].t_s);
        f->ttft_sum_s += t - p->wl->req[s->req].t_s;
        f->ttft_n++;
        emits = 1;
      }
    } else if (s->pre_left <= 0) {
      hr__lathist_add(f->tbt, t - s->last_tok_s);
      if (f->tbt2)
        hr__lathist_add(f->tbt2, t - s->last_tok_s);
      emits = 1;
    }
    if (emits) {
      s->last_tok_s = t;
      s->out_left--;
      f->tokens++;
    }
    if (s->pre_left <= 0 && s->out_left <= 0) {
      f->completed++;
      continue;
    }
    p->run[w++] = *s;
  }
  p->n_run = w;
  p->t_end_s = NAN;
}

/* Starts an iteration at t when there is work; returns 1 if one started. */
static int start_iter(hr__infer_t *f, replica_t *p, double t, double cap_w, int admit,
                      double idle_w, double gamma, const hr__infer_clock_t *ck)
{
  while (p->arrived < p->wl->n && p->wl->req[p->arrived].t_s <= t)
    p->arrived++;
  int lim = admit ? admit_limit(cap_w, idle_w, f->sv.max_num_seqs, ck) : f->sv.max_num_seqs;
  while (p->admitted < p->arrived && p->n_run < lim) {
    const hr_plan_request_t *rq = &p->wl->req[p->admitted];
    seq_t *s = &p->run[p->n_run++];
    s->req = p->admitted++;
    s->pre_left = rq->in_tokens > 0 ? rq->in_tokens : 1;
    s->out_left = rq->out_tokens > 0 ? rq->out_tokens : 1;
    s->chunk = 0;
    s->last_tok_s = NAN;
  }
  if (p->n_run == 0)
    return 0;
  /* vLLM's order: every decode one token, then prefill up to the budget. */
  int n_dec = 0;
  for (int q = 0; q < p->n_run; q++)
    n_dec += p->run[q].pre_left <= 0;
  int budget = f->sv.max_batched_tokens - n_dec, pre = 0;
  for (int q = 0; q < p->n_run && budget > 0; q++) {
    seq_t *s = &p->run[q];
    if (s->pre_left <= 0)
      continue;
    int c = s->pre_left < budget ? s->pre_left : budget;
    if (!f->sv.chunked_prefill && c < s->pre_left) {
      if (pre > 0)
        break; /* a whole prompt that does not fit waits (alone if it exceeds the budget) */
      c = s->pre_left;
    }
    s->chunk = c;
    pre += c;
    budget -= c;
  }
  p->n_dec = n_dec;
  double t_dec = f->sv.step_s + f->sv.step_per_seq_s * n_dec;
  double t_pre = pre / f->sv.prefill_tok_per_s;
  double slow =
      hr__infer_slow(t_dec, t_pre, hr__infer_power_w(p->n_run, idle_w), cap_w, idle_w, gamma, ck);
  p->slow = slow;
  p->t_end_s = t + (t_dec + t_pre) * slow;
  return 1;
}

void hr__infer_step(hr__infer_t *f, size_t r, double t0, double t1, double cap_w, int powered,
                    int admit, double idle_w, double gamma, const hr__infer_clock_t *ck,
                    hr__infer_out_t *o)
{
  replica_t *p = &f->rep[r];
  double busy = 0.0, slow_t = 0.0, n_t = 0.0;
  if (!powered) {
    /* A replica without power stalls: its iteration resumes when power
     * returns (its end moves with the outage). */
    if (!isnan(p->t_end_s))
      p->t_end_s += t1 - t0;
    o->demand_w = 0.0;
    o->speed = 0.0;
    o->busy = !isnan(p->t_end_s);
    o->busy_s = o->busy ? t1 - t0 : 0.0;
  } else {
    double t = t0;
    while (t < t1) {
      if (isnan(p->t_end_s) && !start_iter(f, p, t, cap_w, admit, idle_w, gamma, ck)) {
        /* Idle until the next arrival. */
        double nx = p->arrived < p->wl->n ? p->wl->req[p->arrived].t_s : INFINITY;
        if (nx >= t1)
          break;
        t = nx;
        continue;
      }
      double e = p->t_end_s < t1 ? p->t_end_s : t1;
      busy += e - t;
      slow_t += (e - t) / p->slow;
      n_t += (e - t) * p->n_run;
      t = e;
      if (p->t_end_s <= t1)
        finish_iter(f, p, p->t_end_s);
    }
    double dt = t1 - t0;
    double n_mean = n_t / dt; /* time-averaged running batch over the step */
    o->busy = busy > 0.0;
    o->speed = busy > 0.0 ? slow_t / busy : 1.0;
    /* The power of the mean batch over the busy part, idle for the rest. */
    o->demand_w =
        busy > 0.0 ? (busy / dt) * hr__infer_clock_w(hr__infer_power_w(n_mean * dt / busy, idle_w),
                                                     idle_w, ck) +
                         (1.0 - busy / dt) * idle_w
                   : idle_w;
    o->busy_s = busy;
  }
  /* What the replica wants: every waiting request admitted. */
  size_t arr = p->arrived;
  while (arr < p->wl->n && p->wl->req[arr].t_s <= t1)
    arr++;
  double want_n = (double)p->n_run + (double)(arr - p->admitted);
  if (want_n > f->sv.max_num_seqs)
    want_n = f->sv.max_num_seqs;
  o->want_w = hr__infer_clock_w(hr__infer_power_w(want_n, idle_w), idle_w, ck);
}

double hr__infer_mean_ttft_s(const hr__infer_t *f)
{
  return f->ttft_n ? f->ttft_sum_s / (double)f->ttft_n : NAN;
}

const hr_plan_workload_t *hr__infer_requests(const hr__infer_t *f, size_t r)
{
  return r < f->n_rep ? f->rep[r].wl : NULL;
}

void hr__infer_totals(const hr__infer_t *f, uint64_t *requests, uint64_t *completed,
                      uint64_t *tokens)
{
  *requests += f->requests;
  *completed += f->completed;
  *tokens += f->tokens;
}
