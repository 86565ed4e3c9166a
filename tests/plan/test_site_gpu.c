/* plan facility: GPU types and serving speeds from a model's description
 * (against the closed forms, computed here from the datasheet figures),
 * replicas per server (--tp), idle and TDP adaptation, the node trace (its
 * servers sum to the site) and thread-count independence of every result. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "headroom/plan.h"
#include "headroom/plan_desc.h"
#include "headroom/plan_gpu.h"
#include "plantest.h"

static int close_rel(double a, double b, double tol)
{
  return fabs(a - b) <= tol * fmax(fabs(a), fabs(b));
}

static void test_gpu_table(void **state)
{
  (void)state;
  const hr_plan_gpu_t *h = hr_plan_gpu_find("h100"), *a = hr_plan_gpu_find("a100");
  assert_non_null(h);
  assert_non_null(a);
  assert_null(hr_plan_gpu_find("h100x"));
  assert_null(hr_plan_gpu_find(NULL));
  /* NVIDIA datasheets: H100 SXM 700 W, 3.35 TB/s, 989 TFLOP/s dense BF16;
   * A100 SXM 80GB 400 W, 2039 GB/s, 312 TFLOP/s, no FP8. */
  assert_true(h->tdp_w == 700.0 && close_rel(h->hbm_b_per_s, 3.35e12, 1e-9));
  assert_true(close_rel(h->bf16_flop_per_s, 989e12, 1e-3));
  assert_true(a->tdp_w == 400.0 && a->fp8_flop_per_s == 0.0);
  assert_true(h->idle_w > a->idle_w); /* the 120 W against 80 W */
  size_t n = 0;
  for (; hr_plan_gpu_at(n); n++) {
    const hr_plan_gpu_t *g = hr_plan_gpu_at(n);
    assert_ptr_equal(hr_plan_gpu_find(g->name), g);
    assert_true(g->idle_w > 0.0 && g->idle_w < g->tdp_w);
  }
  assert_true(n >= 4);
}

/* One GPU table (issue 17): the descriptors' hr_plan_gpu_lookup answers every
 * name of hr_plan_gpu_at, in any case, with that entry's TDP and idle, and
 * nothing else. */
static void test_lookup_is_the_table(void **state)
{
  (void)state;
  const hr_plan_gpu_t *g;
  for (size_t i = 0; (g = hr_plan_gpu_at(i)) != NULL; i++) {
    double tdp = -1.0, idle = -1.0;
    assert_int_equal(hr_plan_gpu_lookup(g->name, &tdp, &idle), HR_OK);
    assert_true(tdp == g->tdp_w && idle == g->idle_w);
    char up[32];
    size_t k = 0;
    for (; g->name[k] && k + 1 < sizeof up; k++)
      up[k] = (char)(g->name[k] >= 'a' && g->name[k] <= 'z' ? g->name[k] - 'a' + 'A' : g->name[k]);
    up[k] = '\0';
    tdp = idle = -1.0;
    assert_int_equal(hr_plan_gpu_lookup(up, &tdp, &idle), HR_OK);
    assert_true(tdp == g->tdp_w && idle == g->idle_w);
  }
  /* The figures the descriptors always used: H100 and H200 SXM 700/120 W,
   * A100 SXM 400/80 W. */
  double tdp, idle;
  assert_int_equal(hr_plan_gpu_lookup("H200", &tdp, &idle), HR_OK);
  assert_true(tdp == 700.0 && idle == 120.0);
  assert_int_equal(hr_plan_gpu_lookup("a100", &tdp, &idle), HR_OK);
  assert_true(tdp == 400.0 && idle == 80.0);
  assert_int_equal(hr_plan_gpu_lookup("l40s", &tdp, &idle), HR_OK);
  assert_true(tdp == 350.0);
  assert_int_equal(hr_plan_gpu_lookup("h10", &tdp, &idle), HR_ERR_NOT_FOUND);
  assert_int_equal(hr_plan_gpu_lookup("h1000", &tdp, &idle), HR_ERR_NOT_FOUND);
  assert_int_equal(hr_plan_gpu_lookup("", &tdp, &idle), HR_ERR_NOT_FOUND);
  assert_int_equal(hr_plan_gpu_lookup(NULL, &tdp, &idle), HR_ERR_INVALID_ARG);
}

static void test_speeds_closed_form(void **state)
{
  (void)state;
  const hr_plan_gpu_t *h = hr_plan_gpu_find("h100");
  hr_plan_llm_t l;
  hr_plan_llm_init(&l);
  hr_plan_serve_cfg_t c;
  hr_plan_serve_cfg_init(&c);
  c.max_num_seqs = 77; /* kept */
  l.params_b = 8.0;
  l.active_params_b = 8.0;
  l.kv_b_per_token = 131072.0;
  l.ctx_tokens = 1000.0;
  assert_int_equal(hr_plan_serve_speeds(h, &l, &c), HR_OK);
  double bw = 3.35e12 * 0.7, fl = 989.4e12 * 0.5;
  assert_true(close_rel(c.step_s, 16e9 / bw, 1e-12));
  assert_true(close_rel(c.step_per_seq_s, 131072.0 * 1000.0 / bw + 16e9 / fl, 1e-12));
  assert_true(close_rel(c.prefill_tok_per_s, fl / 16e9, 1e-12));
  assert_int_equal(c.max_num_seqs, 77);
  /* Sanity against published serving figures (docs/plan.md): an 8B model
   * on one H100 decodes a step in ~6-8 ms; 70B on 4 x H100 in 12-25 ms,
   * with prefill of the order of 10^4 tokens/s. */
  assert_true(c.step_s > 5e-3 && c.step_s < 9e-3);
  l.params_b = l.active_params_b = 70.0;
  l.tp = 4;
  l.kv_b_per_token = 0.0; /* the fit */
  assert_int_equal(hr_plan_serve_speeds(h, &l, &c), HR_OK);
  assert_true(close_rel(c.step_s, 140e9 / (4 * bw), 1e-12));
  assert_true(c.step_s > 12e-3 && c.step_s < 25e-3);
  assert_true(close_rel(c.prefill_tok_per_s, 4 * fl / 140e9, 1e-12));
  assert_true(c.prefill_tok_per_s > 8e3 && c.prefill_tok_per_s < 3e4);
  assert_true(close_rel(c.step_per_seq_s,
                        hr_plan_kv_bytes_per_token(70.0) * 1000.0 / (4 * bw) + 140e9 / (4 * fl),
                        1e-12));
  /* Mixture of experts: weights read in full, FLOPs on the active part. */
  l.params_b = 46.7;
  l.active_params_b = 12.9;
  l.tp = 2;
  assert_int_equal(hr_plan_serve_speeds(h, &l, &c), HR_OK);
  assert_true(close_rel(c.step_s, 93.4e9 / (2 * bw), 1e-12));
  assert_true(close_rel(c.prefill_tok_per_s, 2 * fl / 25.8e9, 1e-12));
  /* FP8: one byte per weight and twice the FLOP/s on an H100; an A100 has
   * no FP8 tensor cores, so its FLOP/s stay BF16's. */
  l.params_b = l.active_params_b = 8.0;
  l.tp = 1;
  l.precision = HR_PLAN_FP8;
  assert_int_equal(hr_plan_serve_speeds(h, &l, &c), HR_OK);
  assert_true(close_rel(c.step_s, 8e9 / bw, 1e-12));
  assert_true(close_rel(c.prefill_tok_per_s, 1978.9e12 * 0.5 / 16e9, 1e-12));
  const hr_plan_gpu_t *a = hr_plan_gpu_find("a100");
  assert_int_equal(hr_plan_serve_speeds(a, &l, &c), HR_OK);
  assert_true(close_rel(c.step_s, 8e9 / (2.039e12 * 0.7), 1e-12));
  assert_true(close_rel(c.prefill_tok_per_s, 312e12 * 0.5 / 16e9, 1e-12));
  /* The KV fit: Llama-3.1 8B, 70B, 405B have 128, 320, 504 KiB per token. */
  assert_true(close_rel(hr_plan_kv_bytes_per_token(8.0), 131072.0, 1e-12));
  assert_true(close_rel(hr_plan_kv_bytes_per_token(70.0), 327680.0, 1e-12));
  assert_true(close_rel(hr_plan_kv_bytes_per_token(405.0), 516096.0, 1e-12));
  /* Between anchors: the geometric interpolation, e.g. at sqrt(8 x 70). */
  assert_true(
      close_rel(hr_plan_kv_bytes_per_token(sqrt(8.0 * 70.0)), sqrt(131072.0 * 327680.0), 1e-12));
  assert_true(hr_plan_kv_bytes_per_token(1.0) < 131072.0);
  assert_true(hr_plan_kv_bytes_per_token(1000.0) > 516096.0);
  assert_true(isnan(hr_plan_kv_bytes_per_token(0.0)));
  /* Refused: active above total, tp 0, MFU above 1. */
  l.active_params_b = 9.0;
  assert_int_equal(hr_plan_serve_speeds(h, &l, &c), HR_ERR_INVALID_ARG);
  l.active_params_b = 8.0;
  l.tp = 0;
  assert_int_equal(hr_plan_serve_speeds(h, &l, &c), HR_ERR_INVALID_ARG);
  l.tp = 1;
  l.mfu = 1.5;
  assert_int_equal(hr_plan_serve_speeds(h, &l, &c), HR_ERR_INVALID_ARG);
  assert_int_equal(hr_plan_serve_speeds(NULL, &l, &c), HR_ERR_INVALID_ARG);
}

static hr_plan_model_t *tiny_model(void)
{
  hr_plan_train_cfg_t c = plantest_train_cfg(100);
  c.bigru_hidden = 0; /* not used here */
  c.gru_epochs = 2;
  return plantest_model(600, 0.1, 1, 0.0, 1.0, 10.0, &c);
}

/* Every result is the same whatever the thread count: racks are summed in
 * rack order. */
static void test_threads_deterministic(void **state)
{
  (void)state;
  hr_plan_model_t *m = tiny_model();
  hr_plan_workload_t *w = plantest_workload(3.0, 90.0);
  hr_plan_site_cfg_t c = plantest_site(2, 3, 2);
  c.node_servers = 3;
  hr_plan_site_t *s[3];
  for (int t = 0; t < 3; t++) {
    c.threads = t + 1;
    assert_int_equal(hr_plan_site_run(m, &c, w, 90.0, &s[t]), HR_OK);
  }
  for (int t = 1; t < 3; t++) {
    assert_memory_equal(s[0]->it_w, s[t]->it_w, s[0]->n * sizeof(double));
    assert_memory_equal(s[0]->row_w, s[t]->row_w, (size_t)s[0]->nrows * s[0]->n1 * sizeof(double));
    assert_memory_equal(s[0]->rack_w, s[t]->rack_w,
                        (size_t)s[0]->nracks * s[0]->n1 * sizeof(double));
    assert_memory_equal(s[0]->node_w, s[t]->node_w, 3 * s[0]->n * sizeof(double));
    assert_true(s[0]->serve.completed == s[t]->serve.completed);
    assert_memory_equal(&s[0]->serve.mean_ttft_s, &s[t]->serve.mean_ttft_s, sizeof(double));
  }
  for (int t = 0; t < 3; t++)
    hr_plan_site_destroy(s[t]);
  hr_plan_workload_destroy(w);
  hr_plan_model_destroy(m);
}

/* Arrivals generated per replica (hr_plan_site_run_gen): the same results
 * whatever the thread count; the total request count is Poisson with mean
 * the integral of the rate (rate x T; diurnal over one whole period: (min +
 * max) / 2 x T), checked within six standard deviations; bursty arrivals
 * are refused. */
static void test_gen_per_replica(void **state)
{
  (void)state;
  hr_plan_model_t *m = tiny_model();
  hr_plan_site_cfg_t c = plantest_site(2, 3, 2);
  c.node_servers = 3;
  hr_plan_gen_cfg_t g;
  hr_plan_gen_cfg_init(&g);
  g.duration_s = 90.0;
  g.rate_per_s = 20.0;
  g.seed = 7;
  hr_plan_site_t *s[3];
  for (int t = 0; t < 3; t++) {
    c.threads = t + 1;
    assert_int_equal(hr_plan_site_run_gen(m, &c, &g, 90.0, &s[t]), HR_OK);
  }
  double mean = 20.0 * 90.0;
  assert_true(fabs((double)s[0]->requests - mean) < 6.0 * sqrt(mean));
  assert_true(s[0]->serve.admitted <= s[0]->requests && s[0]->serve.completed > 0);
  for (int t = 1; t < 3; t++) {
    assert_true(s[t]->requests == s[0]->requests);
    assert_memory_equal(s[0]->it_w, s[t]->it_w, s[0]->n * sizeof(double));
    assert_memory_equal(s[0]->row_w, s[t]->row_w, (size_t)s[0]->nrows * s[0]->n1 * sizeof(double));
    assert_memory_equal(s[0]->rack_w, s[t]->rack_w,
                        (size_t)s[0]->nracks * s[0]->n1 * sizeof(double));
    assert_memory_equal(s[0]->node_w, s[t]->node_w, 3 * s[0]->n * sizeof(double));
    assert_true(s[0]->serve.completed == s[t]->serve.completed);
  }
  /* Another seed draws other arrivals. */
  g.seed = 8;
  hr_plan_site_t *o;
  assert_int_equal(hr_plan_site_run_gen(m, &c, &g, 90.0, &o), HR_OK);
  assert_true(o->requests != s[0]->requests ||
              memcmp(o->it_w, s[0]->it_w, o->n * sizeof(double)) != 0);
  hr_plan_site_destroy(o);
  for (int t = 0; t < 3; t++)
    hr_plan_site_destroy(s[t]);
  g.arrival = HR_PLAN_ARRIVAL_DIURNAL;
  g.min_rate_per_s = 2.0;
  g.max_rate_per_s = 20.0;
  g.period_s = 90.0;
  g.peak_t_s = 30.0;
  assert_int_equal(hr_plan_site_run_gen(m, &c, &g, 90.0, &o), HR_OK);
  mean = 0.5 * (2.0 + 20.0) * 90.0;
  assert_true(fabs((double)o->requests - mean) < 6.0 * sqrt(mean));
  hr_plan_site_destroy(o);
  g.arrival = HR_PLAN_ARRIVAL_BURSTY;
  assert_int_equal(hr_plan_site_run_gen(m, &c, &g, 90.0, &o), HR_ERR_UNSUPPORTED);
  g.arrival = HR_PLAN_ARRIVAL_POISSON;
  g.rate_per_s = 2e6;
  assert_int_equal(hr_plan_site_run_gen(m, &c, &g, 90.0, &o), HR_ERR_RANGE);
  assert_int_equal(hr_plan_site_run_gen(m, &c, NULL, 90.0, &o), HR_ERR_INVALID_ARG);
  assert_int_equal(hr_plan_site_run(m, &c, NULL, 90.0, &o), HR_ERR_INVALID_ARG);
  hr_plan_model_destroy(m);
}

/* The node trace holds every server at dt_s: servers sum to the site at
 * every step, and a rack's servers to its 1-s means. */
static void test_node_trace_sums(void **state)
{
  (void)state;
  hr_plan_model_t *m = tiny_model();
  hr_plan_workload_t *w = plantest_workload(3.0, 60.0);
  hr_plan_site_cfg_t c = plantest_site(2, 3, 2);
  c.node_servers = c.rows * c.racks_per_row * c.servers_per_rack;
  c.threads = 2;
  hr_plan_site_t *s;
  assert_int_equal(hr_plan_site_run(m, &c, w, 60.0, &s), HR_OK);
  assert_int_equal(s->n_node, 12);
  for (size_t i = 0; i < s->n; i++) {
    double sum = 0.0;
    for (int k = 0; k < s->n_node; k++) {
      double p = s->node_w[(size_t)k * s->n + i];
      /* Between all-idle and the trained busy level (< 560 W per GPU). */
      assert_true(p >= c.non_gpu_w + 8 * 89.999 && p < c.non_gpu_w + 8 * 560.0);
      sum += p;
    }
    assert_true(close_rel(sum, s->it_w[i], 1e-12));
  }
  size_t per1 = 4; /* 1 s at 0.25 s */
  for (int r = 0; r < s->nracks; r++)
    for (size_t b = 0; b < s->n1; b++) {
      double sum = 0.0;
      for (int k = r * 2; k < r * 2 + 2; k++)
        for (size_t i = b * per1; i < (b + 1) * per1; i++)
          sum += s->node_w[(size_t)k * s->n + i] / (double)per1;
      assert_true(close_rel(sum, s->rack_w[(size_t)r * s->n1 + b], 1e-12));
    }
  /* Refused: more node servers than the site has. */
  hr_plan_site_t *bad = NULL;
  c.node_servers = 13;
  assert_int_equal(hr_plan_site_run(m, &c, w, 60.0, &bad), HR_ERR_INVALID_ARG);
  assert_null(bad);
  hr_plan_site_destroy(s);
  hr_plan_workload_destroy(w);
  hr_plan_model_destroy(m);
}

/* Idle power and TDP of another GPU, and replicas of tp GPUs. */
static void test_gpu_adapt_and_tp(void **state)
{
  (void)state;
  hr_plan_model_t *m = tiny_model(); /* trained with idle 90 W, TDP 700 W */
  hr_plan_workload_t *w = plantest_workload(3.0, 60.0), *none = plantest_workload(3.0, 60.0);
  none->n = 0; /* no requests: every GPU idles all the time */
  hr_plan_site_cfg_t c = plantest_site(2, 3, 2);
  int nsrv = 12;
  hr_plan_site_t *s, *s2;
  /* No requests: each server draws non-GPU + 8 x the idle power given. */
  c.gpu_idle_w = 123.0;
  assert_int_equal(hr_plan_site_run(m, &c, none, 60.0, &s), HR_OK);
  for (size_t i = 0; i < s->n; i++)
    assert_true(close_rel(s->it_w[i], nsrv * (1000.0 + 8 * 123.0), 1e-12));
  hr_plan_site_destroy(s);
  /* TDP twice the model's and idle twice the model's: every GPU's power
   * doubles exactly (k p + (1 - A)(idle1 - k idle0) with idle1 = k idle0). */
  c.gpu_idle_w = -1.0;
  assert_int_equal(hr_plan_site_run(m, &c, w, 60.0, &s), HR_OK);
  c.gpu_idle_w = 180.0;
  c.gpu_tdp_w = 1400.0;
  assert_int_equal(hr_plan_site_run(m, &c, w, 60.0, &s2), HR_OK);
  for (size_t i = 0; i < s->n; i++)
    assert_true(close_rel(s2->it_w[i] - nsrv * 1000.0, 2.0 * (s->it_w[i] - nsrv * 1000.0), 1e-9));
  hr_plan_site_destroy(s2);
  /* Idle moved by +30 W alone: each server gains between 0 (busy all the
   * bin) and 8 x 30 W (idle all of it); busy bins are unchanged. */
  c.gpu_idle_w = 120.0;
  c.gpu_tdp_w = 0.0;
  c.node_servers = nsrv;
  hr_plan_site_t *s0;
  c.gpu_idle_w = -1.0;
  assert_int_equal(hr_plan_site_run(m, &c, w, 60.0, &s0), HR_OK);
  c.gpu_idle_w = 120.0;
  assert_int_equal(hr_plan_site_run(m, &c, w, 60.0, &s2), HR_OK);
  int saw_busy = 0, saw_idle = 0;
  for (size_t i = 0; i < s0->n * (size_t)nsrv; i++) {
    double d = s2->node_w[i] - s0->node_w[i];
    assert_true(d >= -1e-9 && d <= 8 * 30.0 + 1e-9);
    saw_busy += fabs(d) < 1e-9;
    saw_idle += fabs(d - 240.0) < 1e-9;
  }
  assert_true(saw_busy > 0 && saw_idle > 0);
  hr_plan_site_destroy(s0);
  hr_plan_site_destroy(s2);
  hr_plan_site_destroy(s);
  /* TDP method: the nameplate of the GPU given. */
  c = plantest_site(2, 3, 2);
  c.method = HR_PLAN_TDP;
  c.gpu_tdp_w = 400.0;
  assert_int_equal(hr_plan_site_run(m, &c, w, 60.0, &s), HR_OK);
  assert_true(close_rel(s->it_w[5], nsrv * (1000.0 + 8 * 400.0), 1e-12));
  hr_plan_site_destroy(s);
  /* oversub's nameplate uses the GPU's TDP; its draws need the rack series
   * even when the caller asked for none. */
  c.racks_1s = 0;
  hr_plan_oversub_study_t *o = NULL;
  assert_int_equal(hr_plan_oversub_study_run(m, &c, w, 60.0, 50e3, 20, NULL, NULL, &o), HR_OK);
  assert_true(close_rel(o->rack_nameplate_w, 2 * (8 * 400.0 + 1000.0), 1e-12));
  assert_true(o->n_rows == 6 && o->racks_by_nameplate == (int)floor(50e3 / 8400.0));
  hr_plan_oversub_study_destroy(o);
  /* tp 2: four replicas per server share its requests; all are assigned. */
  c = plantest_site(2, 3, 2);
  c.tp = 2;
  c.serve.step_s = 0.005;
  assert_int_equal(hr_plan_site_run(m, &c, w, 60.0, &s), HR_OK);
  assert_true(s->serve.admitted <= w->n && s->serve.admitted + 20 >= w->n);
  hr_plan_site_destroy(s);
  c.tp = 3; /* does not divide 8 */
  assert_int_equal(hr_plan_site_run(m, &c, w, 60.0, &s), HR_ERR_INVALID_ARG);
  none->n = w->n;
  hr_plan_workload_destroy(none);
  hr_plan_workload_destroy(w);
  hr_plan_model_destroy(m);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_gpu_table),          cmocka_unit_test(test_lookup_is_the_table),
      cmocka_unit_test(test_speeds_closed_form), cmocka_unit_test(test_threads_deterministic),
      cmocka_unit_test(test_gen_per_replica),    cmocka_unit_test(test_node_trace_sums),
      cmocka_unit_test(test_gpu_adapt_and_tp)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
