/* plan workloads: Azure CSV replay with located errors, column mapping,
 * seeded generators (Poisson, bursty, diurnal) and length fitting. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "headroom/plan.h"

static int parse(const char *csv, const hr_plan_csv_map_t *map, hr_plan_workload_t **w,
                 hr_diag_t *e)
{
  memset(e, 0, sizeof *e);
  return hr_plan_workload_parse_csv(csv, strlen(csv), map, w, e);
}

static void test_azure_ok(void **state)
{
  (void)state;
  const char *csv = "TIMESTAMP,ContextTokens,GeneratedTokens\r\n"
                    "2023-11-16 18:15:46.6805900,374,44\r\n"
                    "2023-11-16 18:15:47.1805900,10,0\r\n"
                    "2023-11-17 00:00:00,5,6\r\n\r\n";
  hr_plan_workload_t *w;
  hr_diag_t e;
  assert_int_equal(parse(csv, NULL, &w, &e), HR_OK);
  assert_int_equal(w->n, 3);
  assert_true(fabs(w->req[1].t_s - 0.5) < 1e-9);
  /* 18:15:46.68059 to midnight: 5 h 44 min 13.31941 s. */
  assert_true(fabs(w->req[2].t_s - (5 * 3600 + 44 * 60 + 13.31941)) < 1e-6);
  assert_int_equal(w->req[0].in_tokens, 374);
  assert_int_equal(w->req[1].out_tokens, 0);
  /* 2023-11-16 18:15:46 UTC is 1700158546 s after the epoch. */
  assert_true(fabs(w->t0_epoch_s - 1700158546.68059) < 1e-5);
  hr_plan_workload_destroy(w);
}

static void test_mapping(void **state)
{
  (void)state;
  const char *csv = "Timestamp,Model,Request tokens,Response tokens\n"
                    "0,ChatGPT,10,20\n1500,GPT-4,30,40\n";
  hr_plan_csv_map_t map = {"Timestamp", "Request tokens", "Response tokens", 1e-3};
  hr_plan_workload_t *w;
  hr_diag_t e;
  assert_int_equal(parse(csv, &map, &w, &e), HR_OK);
  assert_int_equal(w->n, 2);
  assert_true(fabs(w->req[1].t_s - 1.5) < 1e-12);
  assert_int_equal(w->req[1].out_tokens, 40);
  hr_plan_workload_destroy(w);
}

typedef struct bad_case {
  const char *csv;
  int rc;
  long line;
  int col;
  const char *needle;
} bad_case_t;

static void test_bad_input(void **state)
{
  (void)state;
  static const bad_case_t cases[] = {
      {"TIMESTAMP,ContextTokens\n2023-11-16 18:15:46.1,3\n", HR_ERR_PARSE, 1, 0, "GeneratedTokens"},
      {"TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.1,3,4\n"
       "2023-11-16 18:15:45.1,3,4\n",
       HR_ERR_RANGE, 3, 1, "unsorted"},
      {"TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.1,3,4\n"
       "2023-11-16 18:15:46.1,3,4\n",
       HR_ERR_RANGE, 3, 1, "duplicate"},
      {"TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.1,3,4\n"
       "2023-11-16 18:15:47.1,-3,4\n",
       HR_ERR_RANGE, 3, 2, "negative"},
      {"TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.1,3,x4\n", HR_ERR_PARSE, 2, 3,
       "not an integer"},
      {"TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.1,3,4\nabc,3,4\n",
       HR_ERR_PARSE, 3, 1, "date-time"},
      {"TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.1,3\n", HR_ERR_PARSE, 2, 3,
       "fields"},
      {"", HR_ERR_PARSE, 1, 0, "empty"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    hr_plan_workload_t *w = (hr_plan_workload_t *)1;
    hr_diag_t e;
    int rc = parse(cases[k].csv, NULL, &w, &e);
    if (rc != cases[k].rc || e.line != cases[k].line || e.column != cases[k].col ||
        !strstr(e.message, cases[k].needle)) {
      print_error("case %zu: rc %d line %ld col %ld '%s'\n", k, rc, e.line, e.column, e.message);
      fail();
    }
    assert_null(w);
  }
}

static void test_jsonl(void **state)
{
  (void)state;
  const char *ok = "{\"timestamp\": 0, \"input_length\": 6758, \"output_length\": 500, "
                   "\"hash_ids\": [1, 2, {\"x\": \"a,}\"}]}\n"
                   "\n{\"output_length\":7,\"timestamp\":3000,\"input_length\":10}\n";
  hr_plan_csv_map_t map = {"timestamp", "input_length", "output_length", 1e-3};
  hr_plan_workload_t *w;
  hr_diag_t e = {0};
  assert_int_equal(hr_plan_workload_parse_jsonl(ok, strlen(ok), &map, &w, &e), HR_OK);
  assert_int_equal(w->n, 2);
  assert_true(fabs(w->req[1].t_s - 3.0) < 1e-12);
  assert_int_equal(w->req[0].in_tokens, 6758);
  assert_int_equal(w->req[1].out_tokens, 7);
  hr_plan_workload_destroy(w);
  static const struct {
    const char *text;
    int rc;
    long line;
    int col;
  } bad[] = {
      {"{\"timestamp\": 0, \"input_length\": -5, \"output_length\": 1}\n", HR_ERR_RANGE, 1, 34},
      {"{\"timestamp\": 0, \"input_length\": 5}\n", HR_ERR_PARSE, 1, 0},
      {"{\"timestamp\": 5, \"input_length\": 5, \"output_length\": 1}\n"
       "{\"timestamp\": 4, \"input_length\": 5, \"output_length\": 1}\n",
       HR_ERR_RANGE, 2, 15},
      {"{\"timestamp\": 0, \"input_length\": \"x\", \"output_length\": 1}\n", HR_ERR_PARSE, 1, 34},
      {"[1, 2]\n", HR_ERR_PARSE, 1, 1},
      {"{\"timestamp\": 0, \"input_length\": 5 \"output_length\": 1}\n", HR_ERR_PARSE, 1, 36},
  };
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    int rc = hr_plan_workload_parse_jsonl(bad[k].text, strlen(bad[k].text), &map, &w, &e);
    if (rc != bad[k].rc || e.line != bad[k].line || e.column != bad[k].col) {
      print_error("jsonl case %zu: rc %d line %ld col %ld '%s'\n", k, rc, e.line, e.column,
                  e.message);
      fail();
    }
  }
}

/* Data from other tools: a quoted CSV header and quoted fields (a comma, a
 * line break inside quotes); JSON numbers in any form, escaped keys, long
 * values; a string is not a count. */
static void test_real_readers(void **state)
{
  (void)state;
  const char *csv = "\"TIMESTAMP\",\"Note\",\"ContextTokens\",\"GeneratedTokens\"\r\n"
                    "0,\"a, b\",\"10\",20\r\n1.5,\"two\nlines\",30,40\r\n"
                    "2.5,x,\"1\"\"\",4\r\n";
  hr_plan_workload_t *w = NULL;
  hr_diag_t e = {0};
  assert_int_equal(hr_plan_workload_parse_csv(csv, strlen(csv) - 16, NULL, &w, &e), HR_OK);
  assert_int_equal(w->n, 2);
  assert_int_equal(w->req[0].in_tokens, 10);
  assert_int_equal(w->req[1].out_tokens, 40);
  hr_plan_workload_destroy(w);
  /* 1" is not an integer: line 5 (the quoted line break counts), field 3. */
  assert_int_equal(hr_plan_workload_parse_csv(csv, strlen(csv), NULL, &w, &e), HR_ERR_PARSE);
  assert_int_equal(e.line, 5);
  assert_int_equal(e.column, 3);
  char jl[512];
  snprintf(
      jl, sizeof jl,
      "{\"timestamp\": 1e1, \"input_length\": 1e1, \"output_length\": 5.0, \"x\": \"%0100d\"}\n"
      "{\"time\\u0073tamp\": 2000, \"input_length\": 3, \"output_length\": 4}\n",
      7);
  hr_plan_csv_map_t map = {"timestamp", "input_length", "output_length", 1e-3};
  assert_int_equal(hr_plan_workload_parse_jsonl(jl, strlen(jl), &map, &w, &e), HR_OK);
  assert_int_equal(w->n, 2);
  assert_int_equal(w->req[0].in_tokens, 10);
  assert_true(fabs(w->req[1].t_s - 1.99) < 1e-12);
  hr_plan_workload_destroy(w);
  const char *str = "{\"timestamp\": 0, \"input_length\": \"12\", \"output_length\": 1}\n";
  assert_int_equal(hr_plan_workload_parse_jsonl(str, strlen(str), &map, &w, &e), HR_ERR_PARSE);
  assert_non_null(strstr(e.message, "a string"));
  assert_int_equal(e.column, 34);
  const char *frac = "{\"timestamp\": 0, \"input_length\": 1.5, \"output_length\": 1}\n";
  assert_int_equal(hr_plan_workload_parse_jsonl(frac, strlen(frac), &map, &w, &e), HR_ERR_PARSE);
}

static void test_shared_azure(void **state)
{
  (void)state;
  char path[512];
  snprintf(path, sizeof path, "%s/workloads/azure-llm-2023/AzureLLMInferenceTrace_code.csv",
           HR_SHARED_DATA);
  FILE *f = fopen(path, "r");
  if (!f)
    skip();
  fclose(f);
  hr_plan_workload_t *w;
  hr_diag_t e;
  assert_int_equal(hr_plan_workload_load_csv(path, NULL, &w, &e), HR_OK);
  assert_int_equal(w->n, 8819);
  assert_int_equal(w->req[0].in_tokens, 4808);
  /* Span 18:17:03.97996 - 19:14:19.93 per the data catalog. */
  assert_true(fabs(w->req[w->n - 1].t_s - 3435.95) < 0.05);
  hr_plan_gen_cfg_t cfg;
  hr_plan_gen_cfg_init(&cfg);
  assert_int_equal(hr_plan_workload_fit_lengths(w, &cfg), HR_OK);
  assert_true(fabs(exp(cfg.in_log_mean) - 1469.0) < 700.0); /* geometric mean near the median */
  hr_plan_workload_destroy(w);
}

static void rate_check(const hr_plan_workload_t *w, double expect, double tol)
{
  double r = (double)w->n / 2000.0;
  if (fabs(r - expect) > tol) {
    print_error("rate %g expected %g\n", r, expect);
    fail();
  }
  for (size_t i = 1; i < w->n; i++)
    assert_true(w->req[i].t_s > w->req[i - 1].t_s);
}

static void test_generators(void **state)
{
  (void)state;
  hr_plan_gen_cfg_t cfg;
  hr_plan_gen_cfg_init(&cfg);
  cfg.duration_s = 2000.0;
  cfg.rate_per_s = 5.0;
  cfg.seed = 7;
  hr_plan_workload_t *a, *b;
  assert_int_equal(hr_plan_workload_generate(&cfg, &a), HR_OK);
  assert_int_equal(hr_plan_workload_generate(&cfg, &b), HR_OK);
  assert_int_equal(a->n, b->n);
  assert_memory_equal(a->req, b->req, a->n * sizeof a->req[0]); /* deterministic */
  rate_check(a, 5.0, 5.0 * 4.0 / sqrt(10000.0));
  /* Exponential gaps: CV of the gaps near 1. */
  double s = 0, ss = 0;
  for (size_t i = 1; i < a->n; i++) {
    double g = a->req[i].t_s - a->req[i - 1].t_s;
    s += g;
    ss += g * g;
  }
  double n = (double)(a->n - 1), mean = s / n, cv = sqrt(ss / n - mean * mean) / mean;
  assert_true(fabs(cv - 1.0) < 0.06);
  hr_plan_workload_destroy(b);

  cfg.arrival = HR_PLAN_ARRIVAL_BURSTY;
  cfg.burst_cv = 3.0;
  assert_int_equal(hr_plan_workload_generate(&cfg, &b), HR_OK);
  rate_check(b, 5.0, 1.0);
  s = ss = 0;
  for (size_t i = 1; i < b->n; i++) {
    double g = b->req[i].t_s - b->req[i - 1].t_s;
    s += g;
    ss += g * g;
  }
  n = (double)(b->n - 1);
  mean = s / n;
  cv = sqrt(ss / n - mean * mean) / mean;
  assert_true(cv > 2.4 && cv < 3.6);
  hr_plan_workload_destroy(b);

  cfg.arrival = HR_PLAN_ARRIVAL_DIURNAL;
  cfg.min_rate_per_s = 1.0;
  cfg.max_rate_per_s = 9.0;
  cfg.period_s = 2000.0;
  cfg.peak_t_s = 500.0;
  assert_int_equal(hr_plan_workload_generate(&cfg, &b), HR_OK);
  rate_check(b, 5.0, 0.3); /* the mean of the raised cosine */
  size_t near_peak = 0, near_trough = 0;
  for (size_t i = 0; i < b->n; i++) {
    if (fabs(b->req[i].t_s - 500.0) < 100.0)
      near_peak++;
    if (fabs(b->req[i].t_s - 1500.0) < 100.0)
      near_trough++;
  }
  assert_true(near_peak > 4 * near_trough);
  hr_plan_workload_destroy(b);

  /* Bootstrapped lengths come from the source pairs. */
  cfg.arrival = HR_PLAN_ARRIVAL_POISSON;
  cfg.lengths_from = a;
  assert_int_equal(hr_plan_workload_generate(&cfg, &b), HR_OK);
  for (size_t i = 0; i < b->n; i += 97) {
    int found = 0;
    for (size_t j = 0; j < a->n && !found; j++)
      found = a->req[j].in_tokens == b->req[i].in_tokens &&
              a->req[j].out_tokens == b->req[i].out_tokens;
    assert_true(found);
  }
  hr_plan_workload_destroy(b);
  cfg.max_requests = 10;
  assert_int_equal(hr_plan_workload_generate(&cfg, &b), HR_ERR_RANGE);
  cfg.max_requests = 1000;
  cfg.rate_per_s = -1.0;
  assert_int_equal(hr_plan_workload_generate(&cfg, &b), HR_ERR_INVALID_ARG);
  hr_plan_workload_destroy(a);
}

static void test_rng(void **state)
{
  (void)state;
  hr_plan_rng_t r;
  hr_plan_rng_seed(&r, 42);
  double s = 0, ss = 0, g = 0;
  for (int i = 0; i < 20000; i++) {
    double x = hr_plan_rng_normal(&r);
    s += x;
    ss += x * x;
    g += hr_plan_rng_gamma(&r, 0.5);
  }
  assert_true(fabs(s / 20000) < 0.03);
  assert_true(fabs(ss / 20000 - 1.0) < 0.04);
  assert_true(fabs(g / 20000 - 0.5) < 0.03);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_azure_ok),   cmocka_unit_test(test_mapping),
      cmocka_unit_test(test_jsonl),      cmocka_unit_test(test_real_readers),
      cmocka_unit_test(test_bad_input),  cmocka_unit_test(test_shared_azure),
      cmocka_unit_test(test_generators), cmocka_unit_test(test_rng),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
