/* plan module: hostile input to the CSV loaders, from the fuzzers'
 * findings (fuzz/reproducers/, docs/fuzzing.md).  (The charts' hostile
 * input is tested with the charts, tests/cli/test_report_chart.c.)
 *
 * Loaders: a NUL byte or more than 64 fields in a trace-set or LUT line
 * fails with a located message (traceset-parse-error-without-message,
 * lut-parse-error-without-message); a LUT ratio out of [0, 10] is refused
 * where it is read (lut-huge-ratio-infinite-power). */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "headroom/plan.h"
#include "plan/plan_int.h"

static char dir[256];

static int setup(void **state)
{
  (void)state;
  snprintf(dir, sizeof dir, "/tmp/hr_test_plan_inputs_XXXXXX");
  /* A loader that loops must fail the test, not stall ctest. */
  alarm(60);
  return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
  (void)state;
  static const char *names[] = {"traces_summary.csv", "a.csv", "lut.csv"};
  char p[512];
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    snprintf(p, sizeof p, "%s/%s", dir, names[i]);
    remove(p);
  }
  rmdir(dir);
  alarm(0);
  return 0;
}

static const char *in_dir(const char *name)
{
  static char p[2][512];
  static int k;
  k ^= 1;
  snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
  return p[k];
}

static void write_bytes(const char *path, const char *data, size_t n)
{
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, n, f), n);
  assert_int_equal(fclose(f), 0);
}

/* ---- loaders ------------------------------------------------------------- */

/* A located parse error whose message names `file`. */
static void assert_located(int rc, const hr_diag_t *e, const char *file, long line)
{
  assert_int_equal(rc, HR_ERR_PARSE);
  assert_int_equal(e->code, HR_ERR_PARSE);
  assert_int_equal(e->line, line);
  assert_true(e->column > 0);
  assert_true(e->message[0] != '\0');
  assert_non_null(strstr(e->message, file));
}

static const char summary_head[] = "model_label,num_gpus,max_num_seqs,trace_file\n";

static void test_traceset_errors_located(void **state)
{
  (void)state;
  hr_plan_traceset_t *s = NULL;
  hr_diag_t e;
  /* A NUL byte in a row of the summary. */
  char buf[512];
  int k = snprintf(buf, sizeof buf, "%sm,1,8,a.c", summary_head);
  buf[k++] = '\0';
  k += snprintf(buf + k, sizeof buf - (size_t)k, "sv\n");
  write_bytes(in_dir("traces_summary.csv"), buf, (size_t)k);
  int rc = hr_plan_traceset_load(dir, &s, &e);
  assert_null(s);
  assert_located(rc, &e, "traces_summary.csv", 2);
  assert_int_equal(e.column, 10);
  assert_non_null(strstr(e.message, "NUL"));
  /* More than 64 fields in the header. */
  k = 0;
  for (int i = 0; i < 70; i++)
    k += snprintf(buf + k, sizeof buf - (size_t)k, "%sc%d", i ? "," : "", i);
  buf[k++] = '\n';
  write_bytes(in_dir("traces_summary.csv"), buf, (size_t)k);
  rc = hr_plan_traceset_load(dir, &s, &e);
  assert_null(s);
  assert_located(rc, &e, "traces_summary.csv", 1);
  assert_non_null(strstr(e.message, "64 fields"));
  /* A NUL byte in a trace file: its name, its line. */
  k = snprintf(buf, sizeof buf, "%sm,1,8,a.csv\n", summary_head);
  write_bytes(in_dir("traces_summary.csv"), buf, (size_t)k);
  k = snprintf(buf, sizeof buf, "relative_time_s,power_total_W\n0.0,100\n0.1,1");
  buf[k++] = '\0';
  k += snprintf(buf + k, sizeof buf - (size_t)k, "0\n");
  write_bytes(in_dir("a.csv"), buf, (size_t)k);
  rc = hr_plan_traceset_load(dir, &s, &e);
  assert_null(s);
  assert_located(rc, &e, "a.csv", 3);
}

/* Trains a tiny model with lut.csv holding `text` (n bytes). */
static int train_with_lut(const char *text, size_t n, hr_diag_t *e)
{
  static double pw[2][128];
  hr_plan_trace_t tr[2];
  for (int k = 0; k < 2; k++) {
    memset(&tr[k], 0, sizeof tr[k]);
    snprintf(tr[k].model, sizeof tr[k].model, "m");
    tr[k].num_gpus = 1;
    tr[k].max_num_seqs = 8 << (3 * k);
    tr[k].dt_s = 0.1;
    tr[k].n = 128;
    tr[k].p_w = pw[k];
    for (int i = 0; i < 128; i++)
      pw[k][i] = 300.0 + 200.0 * k + 40.0 * sin(0.3 * i) + (i % 7);
  }
  hr_plan_traceset_t set = {tr, 2};
  write_bytes(in_dir("lut.csv"), text, n);
  hr_plan_train_cfg_t cfg;
  hr_plan_train_cfg_init(&cfg);
  cfg.k_min = cfg.k_max = 1;
  cfg.gmm_max_points = 100;
  cfg.em_iters = 1;
  cfg.clf_epochs = 1;
  cfg.gru_hidden = 0;
  cfg.gru_epochs = 0;
  cfg.pooled = 0;
  cfg.lut_csv = in_dir("lut.csv");
  hr_plan_model_t *m = NULL;
  int rc = hr_plan_model_train(&set, NULL, &cfg, &m, e);
  if (rc == HR_OK) {
    /* What the model file reads back, and finite LUT power. */
    double a[3] = {1, 8, 64}, p[3];
    assert_int_equal(hr_plan_model_generate(m, HR_PLAN_LUT, "m", 8, a, 3, 1, p), HR_OK);
    for (int i = 0; i < 3; i++)
      assert_true(isfinite(p[i]) && p[i] >= 0.0);
  } else {
    assert_null(m);
  }
  hr_plan_model_destroy(m);
  return rc;
}

static const char lut_head[] = "model,hardware,prompt_size,batch_size,token_size,peak_power,"
                               "average_power,prompt_time,token_time,e2e_time,tensor_parallel\n";

static void test_lut_errors_located(void **state)
{
  (void)state;
  hr_diag_t e;
  char buf[1024];
  /* A good LUT trains. */
  int k = snprintf(buf, sizeof buf,
                   "%sllama2-70b,a100-80gb,512,8,128,1.0,0.5,1,1,1,8\n"
                   "llama2-70b,a100-80gb,512,16,128,1.0,0.6,1,1,1,8\n",
                   lut_head);
  assert_int_equal(train_with_lut(buf, (size_t)k, &e), HR_OK);
  /* A NUL byte in a row. */
  k = snprintf(buf, sizeof buf, "%sllama2-70b,a100", lut_head);
  buf[k++] = '\0';
  k += snprintf(buf + k, sizeof buf - (size_t)k, ",512,8,128,1.0,0.5,1,1,1,8\n");
  assert_located(train_with_lut(buf, (size_t)k, &e), &e, "lut.csv", 2);
  assert_int_equal(e.column, 16);
  /* More than 64 fields in a row. */
  k = snprintf(buf, sizeof buf, "%s", lut_head);
  for (int i = 0; i < 80; i++)
    k += snprintf(buf + k, sizeof buf - (size_t)k, "%s1", i ? "," : "");
  buf[k++] = '\n';
  assert_located(train_with_lut(buf, (size_t)k, &e), &e, "lut.csv", 2);
  assert_int_equal(e.column, 129); /* where the 65th field starts */
  /* Ratios out of [0, 10] and batch sizes out of [0, 1e9], where they are
   * read: 1e308 gave infinite LUT power. */
  static const char *rows[] = {
      "llama2-70b,a100-80gb,512,8,128,1.0,1e308,1,1,1,8\n",
      "llama2-70b,a100-80gb,512,8,128,1.0,10.5,1,1,1,8\n",
      "llama2-70b,a100-80gb,512,8,128,1.0,-0.5,1,1,1,8\n",
      "h100,h100,512,8,128,1.0,1e308,1,1,1,2\n", /* a row not selected is read too */
      "llama2-70b,a100-80gb,512,1e300,128,1.0,0.5,1,1,1,8\n",
  };
  static const int cols[] = {7, 7, 7, 7, 4};
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    k = snprintf(buf, sizeof buf, "%sllama2-70b,a100-80gb,512,16,128,1.0,0.6,1,1,1,8\n%s", lut_head,
                 rows[i]);
    int rc = train_with_lut(buf, (size_t)k, &e);
    assert_int_equal(rc, HR_ERR_RANGE);
    assert_int_equal(e.line, 3);
    assert_int_equal(e.column, cols[i]);
    assert_non_null(strstr(e.message, "lut.csv"));
    assert_non_null(strstr(e.message, cols[i] == 7 ? "average_power" : "batch_size"));
  }
  /* The top of the range is taken. */
  k = snprintf(buf, sizeof buf, "%sllama2-70b,a100-80gb,512,8,128,1.0,10,1,1,1,8\n", lut_head);
  assert_int_equal(train_with_lut(buf, (size_t)k, &e), HR_OK);
}

/* Training refuses per-GPU powers the model file would refuse on reading
 * back (the same class as the LUT's ratio: a model that cannot be saved). */
static void test_train_power_range(void **state)
{
  (void)state;
  static double pw[64];
  for (int i = 0; i < 64; i++)
    pw[i] = 300.0 + (i % 5);
  hr_plan_trace_t tr = {.num_gpus = 1, .max_num_seqs = 8, .dt_s = 0.1, .n = 64, .p_w = pw};
  snprintf(tr.model, sizeof tr.model, "m");
  hr_plan_traceset_t set = {&tr, 1};
  hr_plan_train_cfg_t cfg;
  hr_plan_model_t *m = NULL;
  const double tdp[] = {1e5 + 1, 1e308}, idle[] = {1e6, INFINITY};
  for (int i = 0; i < 2; i++) {
    hr_plan_train_cfg_init(&cfg);
    cfg.tdp_w_per_gpu = tdp[i];
    assert_int_equal(hr_plan_model_train(&set, NULL, &cfg, &m, NULL), HR_ERR_INVALID_ARG);
    assert_null(m);
    hr_plan_train_cfg_init(&cfg);
    cfg.idle_w_per_gpu = idle[i];
    assert_int_equal(hr_plan_model_train(&set, NULL, &cfg, &m, NULL), HR_ERR_INVALID_ARG);
    assert_null(m);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_traceset_errors_located, setup, teardown),
      cmocka_unit_test_setup_teardown(test_lut_errors_located, setup, teardown),
      cmocka_unit_test(test_train_power_range),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
