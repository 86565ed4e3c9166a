/* plan serving simulator and facility aggregation: hand-computed
 * iteration timing, the batch limit, chunked prefill, Little's law, the
 * aggregation sums and the utility statistics. */
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
#include "plantest.h"

static hr_plan_serve_cfg_t simple_cfg(void)
{
  hr_plan_serve_cfg_t c;
  hr_plan_serve_cfg_init(&c);
  c.prefill_tok_per_s = 10000.0;
  c.step_s = 0.025;
  c.step_per_seq_s = 0.0;
  c.max_batched_tokens = 4096;
  return c;
}

static void test_one_request(void **state)
{
  (void)state;
  hr_plan_serve_cfg_t c = simple_cfg();
  hr_plan_request_t r = {1.0, 1000, 10};
  double act[40], wait[40];
  hr_plan_serve_stats_t st;
  assert_int_equal(hr_plan_serve_run(&c, &r, 1, 0.05, 40, act, wait, &st), HR_OK);
  /* Prefill: 0.025 + 1000 / 10000 = 0.125 s; then 9 decode steps of 25 ms. */
  assert_int_equal(st.completed, 1);
  assert_true(fabs(st.mean_ttft_s - 0.125) < 1e-9);
  assert_true(fabs(st.mean_e2e_s - 0.35) < 1e-9);
  double integral = 0;
  for (int b = 0; b < 40; b++)
    integral += act[b] * 0.05;
  assert_true(fabs(integral - 0.35) < 1e-9);
  assert_true(fabs(act[19]) < 1e-9 && fabs(act[20] - 1.0) < 1e-9 && fabs(act[26] - 1.0) < 1e-9 &&
              fabs(act[27]) < 1e-9);
}

static void test_chunking(void **state)
{
  (void)state;
  hr_plan_serve_cfg_t c = simple_cfg();
  hr_plan_request_t r = {0.0, 10000, 1};
  double act[10];
  hr_plan_serve_stats_t a, b;
  assert_int_equal(hr_plan_serve_run(&c, &r, 1, 0.5, 10, act, NULL, &a), HR_OK);
  c.chunked_prefill = 0;
  assert_int_equal(hr_plan_serve_run(&c, &r, 1, 0.5, 10, act, NULL, &b), HR_OK);
  /* 10000 tokens in chunks of 4096: three iterations, so two more step
   * overheads than the unchunked prompt, which runs alone. */
  assert_true(fabs(a.mean_ttft_s - (3 * 0.025 + 1.0)) < 1e-9);
  assert_true(fabs(b.mean_ttft_s - (0.025 + 1.0)) < 1e-9);
  hr_plan_request_t bad[2] = {{2.0, 5, 5}, {1.0, 5, 5}};
  assert_int_equal(hr_plan_serve_run(&c, bad, 2, 0.5, 10, act, NULL, NULL), HR_ERR_INVALID_ARG);
  bad[1].t_s = NAN;
  assert_int_equal(hr_plan_serve_run(&c, bad, 2, 0.5, 10, act, NULL, NULL), HR_ERR_INVALID_ARG);
}

static void test_batch_limit_and_little(void **state)
{
  (void)state;
  hr_plan_gen_cfg_t g;
  hr_plan_gen_cfg_init(&g);
  g.duration_s = 300.0;
  g.rate_per_s = 3.0;
  g.out_log_mean = log(40.0);
  g.in_log_mean = log(500.0);
  g.seed = 3;
  hr_plan_workload_t *w;
  assert_int_equal(hr_plan_workload_generate(&g, &w), HR_OK);
  hr_plan_serve_cfg_t c = simple_cfg();
  c.step_per_seq_s = 0.0005;
  size_t nb = 4000; /* 400 s at 0.1 s: everything finishes */
  double *act = malloc(nb * sizeof *act), *wait = malloc(nb * sizeof *wait);
  hr_plan_serve_stats_t st;
  assert_int_equal(hr_plan_serve_run(&c, w->req, w->n, 0.1, nb, act, wait, &st), HR_OK);
  assert_int_equal(st.completed, w->n);
  double integral = 0, qint = 0;
  for (size_t b = 0; b < nb; b++) {
    integral += act[b] * 0.1;
    qint += wait[b] * 0.1;
  }
  /* Little's law: time in service summed over requests = integral of A. */
  double in_service = st.mean_e2e_s * (double)st.completed - qint;
  assert_true(fabs(integral - in_service) < 1e-6 * integral + 1e-6);
  /* A tight batch limit queues requests and is never exceeded. */
  c.max_num_seqs = 2;
  assert_int_equal(hr_plan_serve_run(&c, w->req, w->n, 0.1, nb, act, wait, &st), HR_OK);
  double amax = 0;
  for (size_t b = 0; b < nb; b++)
    amax = fmax(amax, act[b]);
  assert_true(amax <= 2.0 + 1e-9);
  assert_true(st.max_waiting >= 1.0);
  free(act);
  free(wait);
  hr_plan_workload_destroy(w);
}

/* A small model with a short BiGRU: these tests are about serving. */
static hr_plan_model_t *tiny_model(void)
{
  hr_plan_train_cfg_t c = plantest_train_cfg(100);
  c.bigru_hidden = 8;
  c.bigru_epochs = 3;
  c.bigru_window = 64;
  return plantest_model(600, 0.1, 1, 0.0, 1.0, 10.0, &c);
}

static void test_site(void **state)
{
  (void)state;
  hr_plan_model_t *m = tiny_model();
  hr_plan_workload_t *w = plantest_workload(2.0, 120.0);
  hr_plan_site_cfg_t c = plantest_site(2, 2, 2);
  c.method = HR_PLAN_TDP;
  hr_plan_site_t *s;
  assert_int_equal(hr_plan_site_run(m, &c, w, 120.0, &s), HR_OK);
  assert_int_equal(s->n, 480);
  assert_int_equal(s->n1, 120);
  assert_true(fabs(s->it_w[17] - 8 * (8 * 700.0 + 1000.0)) < 1e-6);
  hr_plan_site_destroy(s);
  c.method = HR_PLAN_COPULA;
  hr_plan_site_t *s2;
  assert_int_equal(hr_plan_site_run(m, &c, w, 120.0, &s), HR_OK);
  assert_int_equal(hr_plan_site_run(m, &c, w, 120.0, &s2), HR_OK);
  assert_memory_equal(s->it_w, s2->it_w, s->n * sizeof s->it_w[0]); /* deterministic */
  assert_true(s->serve.completed <= s->serve.admitted && s->serve.admitted <= w->n);
  assert_true((double)s->serve.completed > 0.9 * (double)w->n); /* light load */
  /* Rows sum their racks; the site's 1-s means are the sum of the rows. */
  for (size_t i = 0; i < s->n1; i++) {
    double rows = 0, racks = 0, site = 0;
    for (int r = 0; r < s->nrows; r++)
      rows += s->row_w[(size_t)r * s->n1 + i];
    for (int r = 0; r < s->nracks; r++)
      racks += s->rack_w[(size_t)r * s->n1 + i];
    for (int k = 0; k < 4; k++)
      site += s->it_w[i * 4 + (size_t)k] / 4.0;
    assert_true(fabs(rows - racks) < 1e-6 * rows);
    assert_true(fabs(rows - site) < 1e-6 * rows);
    /* Power stays between idle and the trained busy level per server. */
    assert_true(site > 8 * (8 * 80.0 + 1000.0) && site < 8 * (8 * 560.0 + 1000.0));
  }
  hr_plan_site_destroy(s);
  hr_plan_site_destroy(s2);
  hr_plan_workload_destroy(w);
  hr_plan_model_destroy(m);
}

static void test_utility(void **state)
{
  (void)state;
  size_t n = 7200;
  double *p = malloc(n * sizeof *p);
  for (size_t i = 0; i < n; i++)
    p[i] = i < 3600 ? 100.0 : 200.0;
  hr_plan_utility_t u;
  assert_int_equal(hr_plan_utility_compute(p, n, 1.0, &u), HR_OK);
  assert_true(u.peak_w == 200.0 && u.mean_w == 150.0);
  assert_true(fabs(u.load_factor - 0.75) < 1e-12);
  assert_true(fabs(u.peak_to_average - 4.0 / 3.0) < 1e-12);
  assert_true(u.peak_15min_w == 200.0);
  assert_true(fabs(u.max_ramp_15min_w_per_h - 400.0) < 1e-9);
  assert_true(fabs(u.max_ramp_1s_w_per_s - 100.0) < 1e-9);
  free(p);
}

static void test_oversub(void **state)
{
  (void)state;
  double racks[3][4] = {{1, 1, 1, 1}, {2, 2, 2, 2}, {3, 3, 3, 5}};
  hr_plan_oversub_t o;
  assert_int_equal(hr_plan_oversub_sample(&racks[0][0], 3, 4, 3, 10, 5.5, 1, &o), HR_OK);
  assert_true(o.peak_max_w == 8.0 && o.peak_p05_w == 8.0 && o.exceed_prob == 1.0);
  assert_int_equal(hr_plan_oversub_sample(&racks[0][0], 3, 4, 1, 3000, 4.0, 1, &o), HR_OK);
  /* One rack: peaks 1, 2 or 5 with equal chance. */
  assert_true(fabs(o.peak_mean_w - 8.0 / 3.0) < 0.15);
  assert_true(fabs(o.exceed_prob - 1.0 / 3.0) < 0.04);
  assert_int_equal(hr_plan_oversub_sample(&racks[0][0], 3, 4, 4, 10, 5.0, 1, &o),
                   HR_ERR_INVALID_ARG);
}

/* Stops a study after `left` steps (hr_plan_stop_fn). */
static int stop_after(void *user)
{
  int *left = user;
  return (*left)-- <= 0;
}

/* The studies (src/plan/plan_study.c) against the lower-level calls they are
 * made of: every provision row is what hr_plan_site_run and
 * hr_plan_utility_compute give for its method, its 1-min series the block
 * means; the oversubscription sizing is recomputed from the rows. */
static void test_studies(void **state)
{
  (void)state;
  hr_plan_model_t *m = tiny_model();
  hr_plan_workload_t *w = plantest_workload(2.0, 180.0);
  hr_plan_site_cfg_t c = plantest_site(2, 3, 2);
  hr_plan_provision_t *p;
  assert_int_equal(hr_plan_provision_run(m, &c, w, 180.0, NULL, NULL, &p), HR_OK);
  assert_true(p->n_rows >= 5 && !p->stopped); /* LUT needs a table: left out */
  for (size_t i = 0; i < p->n_rows; i++) {
    hr_plan_site_cfg_t c1 = c;
    c1.method = p->rows[i].method;
    hr_plan_site_t *s;
    assert_int_equal(hr_plan_site_run(m, &c1, w, 180.0, &s), HR_OK);
    hr_plan_utility_t u;
    assert_int_equal(hr_plan_utility_compute(s->it_w, s->n, s->dt_s, &u), HR_OK);
    assert_memory_equal(&u, &p->rows[i].it, sizeof u);
    size_t per = (size_t)lround(60.0 / s->dt_s);
    assert_int_equal(p->rows[i].n_1min, s->n / per);
    for (size_t k = 0; k < p->rows[i].n_1min; k++) {
      double sum = 0.0;
      for (size_t j = 0; j < per; j++)
        sum += s->it_w[k * per + j];
      assert_true(fabs(p->rows[i].it_1min_w[k] - sum / (double)per) <= 1e-9 * sum);
    }
    hr_plan_site_destroy(s);
  }
  hr_plan_provision_destroy(p);
  int left = 2;
  assert_int_equal(hr_plan_provision_run(m, &c, w, 180.0, stop_after, &left, &p), HR_OK);
  assert_true(p->stopped && p->n_rows <= 2);
  hr_plan_provision_destroy(p);

  c.method = HR_PLAN_COPULA;
  const double cap_w = 2.5 * 2 * (8 * 700.0 + 1000.0); /* two and a half racks' nameplate */
  hr_plan_oversub_study_t *o;
  assert_int_equal(hr_plan_oversub_study_run(m, &c, w, 180.0, cap_w, 50, NULL, NULL, &o), HR_OK);
  assert_int_equal(o->racks_generated, 6);
  assert_int_equal(o->n_rows, 6);
  assert_true(o->rack_nameplate_w == 2 * (8 * 700.0 + 1000.0));
  assert_int_equal(o->racks_by_nameplate, 2);
  int p95 = 0, none = 0;
  for (int i = 0; i < o->n_rows; i++) {
    assert_int_equal(o->rows[i].n_racks, i + 1);
    if (o->rows[i].peak.peak_p95_w <= cap_w)
      p95 = i + 1;
    if (o->rows[i].peak.exceed_prob == 0.0)
      none = i + 1;
    if (i > 0) /* more racks, a higher median peak */
      assert_true(o->rows[i].peak.peak_p50_w >= o->rows[i - 1].peak.peak_p50_w);
  }
  assert_int_equal(o->racks_by_trace_p95, p95);
  assert_int_equal(o->racks_by_trace_no_exceed, none);
  assert_true(p95 >= o->racks_by_nameplate); /* traces never below nameplate */
  hr_plan_oversub_study_destroy(o);
  assert_int_equal(hr_plan_oversub_study_run(m, &c, w, 180.0, 0.0, 50, NULL, NULL, &o),
                   HR_ERR_INVALID_ARG);
  assert_null(o);
  hr_plan_workload_destroy(w);
  hr_plan_model_destroy(m);
}

int main(void)
{
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_one_request),
                                     cmocka_unit_test(test_chunking),
                                     cmocka_unit_test(test_batch_limit_and_little),
                                     cmocka_unit_test(test_site),
                                     cmocka_unit_test(test_utility),
                                     cmocka_unit_test(test_oversub),
                                     cmocka_unit_test(test_studies)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
