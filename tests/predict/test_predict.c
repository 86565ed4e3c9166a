/* Peak prediction: precision and recall of "the next 50 ms exceeds X" on a
 * generated AI training load (headroom's AI-rack generator: compute and
 * communication phases, checkpoint pauses, 8-ms steps, jitter) and on the
 * measured H100 inference traces in ../shared/data/power/h100-inference
 * (0.1-s samples, so the horizon is the next sample).  The draft claims 85 %;
 * the predictor is compared with persistence (no forecast) on the same data. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "headroom/gen.h"
#include "headroom/predict.h"

static void print_score(const char *what, const hr_predict_score_t *s)
{
  printf("  %-34s precision %.4f  recall %.4f  onsets caught %.4f (%lld)\n", what, s->precision,
         s->recall, s->onset_recall, (long long)s->onsets);
}

static void generated_training_load(void **state)
{
  (void)state;
  hr_gen_cfg_t g;
  hr_gen_cfg_init(&g);
  double seconds = 0;
  assert_int_equal(hr_gen_cfg_preset(&g, "ai-rack", &seconds), HR_OK);
  g.rack.jitter_pct = 5.0;
  hr_gen_t *gen;
  assert_int_equal(hr_gen_create(&g, &gen), HR_OK);
  const size_t n = 240000; /* 240 s at 1 ms */
  double *x = malloc(n * sizeof *x), lo = INFINITY, hi = -INFINITY;
  for (size_t k = 0; k < n; k++) {
    x[k] = hr_gen_demand_w(gen, (double)k * 1e-3);
    lo = fmin(lo, x[k]);
    hi = fmax(hi, x[k]);
  }
  double thr = 0.5 * (lo + hi);
  hr_predict_cfg_t c;
  hr_predict_cfg_init(&c, 1e-3);
  hr_predict_score_t pers, pred;
  c.period_hint_s = -1.0; /* persistence plus margin, no schedule */
  assert_int_equal(hr_predict_evaluate(&c, x, n, thr, 20.0, &pers), HR_OK);
  c.period_hint_s = 0.0; /* period found from the history */
  assert_int_equal(hr_predict_evaluate(&c, x, n, thr, 20.0, &pred), HR_OK);
  printf("generated training load, threshold %.0f W:\n", thr);
  print_score("persistence + margin", &pers);
  print_score("schedule-aware (period detected)", &pred);
  assert_true(pred.precision >= 0.85 && pred.recall >= 0.85);
  assert_true(pred.onset_recall >= 0.85);
  assert_true(pred.onset_recall > pers.onset_recall + 0.5);
  hr_predictor_t *p;
  assert_int_equal(hr_predictor_create(&c, &p), HR_OK);
  for (size_t k = 0; k < 60000; k++)
    hr_predictor_push(p, x[k]);
  printf("  detected period %.3f s\n", hr_predictor_period_s(p));
  assert_true(hr_predictor_period_s(p) > 1.0);
  hr_predictor_destroy(p);
  free(x);
  hr_gen_destroy(gen);
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void measured_inference_traces(void **state)
{
  (void)state;
  char path[1024];
  snprintf(path, sizeof path, "%s/power/h100-inference/traces_summary.csv", HR_SHARED_DATA);
  FILE *sum = fopen(path, "r");
  if (!sum) {
    printf("SKIPPED: %s not found (this clone has no ../shared/data)\n", path);
    skip();
  }
  char line[512];
  hr_predict_score_t tot_p = {0}, tot_q = {0};
  int traces = 0;
  assert_non_null(fgets(line, sizeof line, sum)); /* header */
  while (fgets(line, sizeof line, sum)) {
    char *file = strrchr(line, ',');
    assert_non_null(file);
    file[strcspn(file, "\r\n")] = '\0';
    snprintf(path, sizeof path, "%s/power/h100-inference/%s", HR_SHARED_DATA, file + 1);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t cap = 1 << 15, n = 0;
    double *x = malloc(cap * sizeof *x), t;
    char hdr[256];
    assert_non_null(fgets(hdr, sizeof hdr, f));
    while (n < cap && fscanf(f, "%lf,%lf", &t, &x[n]) == 2)
      n++;
    fclose(f);
    double *s = malloc(n * sizeof *s);
    memcpy(s, x, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_double);
    double thr = s[(size_t)(0.9 * (double)n)]; /* each trace's 90th percentile */
    free(s);
    hr_predict_cfg_t c;
    hr_predict_cfg_init(&c, 0.1);
    hr_predict_score_t a, b;
    c.period_hint_s = -1.0;
    c.quantile = 0.5;
    assert_int_equal(hr_predict_evaluate(&c, x, n, thr, 5.0, &a), HR_OK);
    c.period_hint_s = 0.0;
    assert_int_equal(hr_predict_evaluate(&c, x, n, thr, 5.0, &b), HR_OK);
    tot_p.tp += a.tp, tot_p.fp += a.fp, tot_p.fn += a.fn, tot_p.onsets += a.onsets;
    tot_p.onsets_caught += a.onsets_caught;
    tot_q.tp += b.tp, tot_q.fp += b.fp, tot_q.fn += b.fn, tot_q.onsets += b.onsets;
    tot_q.onsets_caught += b.onsets_caught;
    traces++;
    free(x);
  }
  fclose(sum);
  hr_predict_score_t *all[2] = {&tot_p, &tot_q};
  for (int k = 0; k < 2; k++) {
    hr_predict_score_t *s = all[k];
    s->precision = (double)s->tp / (double)(s->tp + s->fp);
    s->recall = (double)s->tp / (double)(s->tp + s->fn);
    s->onset_recall = (double)s->onsets_caught / (double)s->onsets;
  }
  printf("measured H100 inference, %d traces, threshold = each trace's p90, next 0.1 s:\n", traces);
  print_score("persistence + margin", &tot_p);
  print_score("schedule-aware (period detected)", &tot_q);
  assert_int_equal(traces, 36);
  /* These fixed-batch runs have no schedule to learn and their 0.1-s
   * fluctuations are close to white for the small models (lag-1
   * autocorrelation 0.1-0.3): nothing reaches 85 % here.  The test pins the
   * figures docs/predict.md reports, so that a regression shows. */
  assert_true(tot_q.recall >= 0.45 && tot_q.precision >= 0.42);
  assert_true(tot_p.recall >= 0.45 && tot_p.precision >= 0.45);
}

static void bad_configuration(void **state)
{
  (void)state;
  hr_predict_cfg_t c;
  hr_predict_cfg_init(&c, 0.0);
  hr_predictor_t *p = (hr_predictor_t *)&c;
  assert_int_equal(hr_predictor_create(&c, &p), HR_ERR_RANGE);
  assert_null(p);
  hr_predict_cfg_init(&c, 1e-3);
  c.quantile = 1.5;
  assert_int_equal(hr_predictor_create(&c, &p), HR_ERR_RANGE);
  hr_predict_cfg_init(&c, 1e-3);
  c.history_s = 0.1;
  assert_int_equal(hr_predictor_create(&c, &p), HR_ERR_RANGE);
}

/* A period given up front (period_hint_s) before one period of samples has
 * come: the stretch one period ago does not exist yet, so the forecast is
 * the one without a seasonal term, sample for sample (before the fix the
 * ring was read at negative indices: ASan's heap-buffer-overflow); from one
 * period on the seasonal term joins (its learned margin then differs, so
 * the forecasts part ways). */
static void period_hint_before_one_period(void **state)
{
  (void)state;
  hr_predict_cfg_t c;
  hr_predict_cfg_init(&c, 0.01);
  c.horizon_s = 0.5;
  c.period_hint_s = 1.0; /* 100 samples; the horizon 50 */
  hr_predictor_t *a, *b;
  assert_int_equal(hr_predictor_create(&c, &a), HR_OK);
  c.period_hint_s = -1.0;
  assert_int_equal(hr_predictor_create(&c, &b), HR_OK);
  int differ = 0;
  for (int k = 0; k < 300; k++) {
    double x = k % 100 < 70 ? 700.0 : 300.0; /* a 1-s iteration */
    double fa = hr_predictor_push(a, x), fb = hr_predictor_push(b, x);
    if (k < 99)
      assert_true(fa == fb);
    differ += fa != fb;
  }
  assert_true(differ > 0); /* the seasonal term did act once it could */
  hr_predictor_destroy(a);
  hr_predictor_destroy(b);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(generated_training_load),
      cmocka_unit_test(measured_inference_traces),
      cmocka_unit_test(bad_configuration),
      cmocka_unit_test(period_hint_before_one_period),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
