/* plan measured traces: the h100-inference set loads with the shape the data
 * catalog gives; a broken trace file is refused with its name and line. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "headroom/plan.h"

static void test_shared_set(void **state)
{
  (void)state;
  hr_plan_traceset_t *s;
  hr_diag_t e = {0};
  int rc = hr_plan_traceset_load(HR_SHARED_DATA "/power/h100-inference", &s, &e);
  if (rc == HR_ERR_IO)
    skip(); /* shared data not present */
  if (rc != HR_OK) {
    print_error("%s\n", e.message);
    fail();
  }
  assert_int_equal(s->n, 36);
  size_t rows_min = SIZE_MAX, rows_max = 0;
  for (size_t i = 0; i < s->n; i++) {
    const hr_plan_trace_t *t = &s->tr[i];
    rows_min = t->n < rows_min ? t->n : rows_min;
    rows_max = t->n > rows_max ? t->n : rows_max;
    double hi = 0;
    for (size_t k = 0; k < t->n; k++)
      hi = fmax(hi, t->p_w[k]);
    if (strcmp(t->model, "Llama-3.1-8B") == 0) {
      assert_int_equal(t->num_gpus, 1);
      assert_true(hi > 800 && hi < 920);
    }
  }
  assert_int_equal(rows_min, 410);
  assert_int_equal(rows_max, 15913);
  hr_plan_traceset_destroy(s);
}

static void write_file(const char *path, const char *text)
{
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void test_bad_trace(void **state)
{
  (void)state;
  char dir[] = "/tmp/hr_plan_traces_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char p1[128], p2[128];
  snprintf(p1, sizeof p1, "%s/traces_summary.csv", dir);
  snprintf(p2, sizeof p2, "%s/a.csv", dir);
  write_file(p1, "model_label,num_gpus,max_num_seqs,trace_file\nM,1,8,a.csv\n");
  write_file(p2, "relative_time_s,power_total_W\n0.0,100\n0.1,1x0\n");
  hr_plan_traceset_t *s = NULL;
  hr_diag_t e = {0};
  assert_int_equal(hr_plan_traceset_load(dir, &s, &e), HR_ERR_PARSE);
  assert_null(s);
  assert_int_equal(e.line, 3);
  assert_int_equal(e.column, 2);
  assert_non_null(strstr(e.message, "a.csv: power_total_W"));
  write_file(p2, "relative_time_s,power_total_W\n0.0,100\n0.1,110\n0.2,120\n");
  assert_int_equal(hr_plan_traceset_load(dir, &s, &e), HR_OK);
  assert_int_equal(s->n, 1);
  assert_int_equal(s->tr[0].n, 3);
  assert_true(s->tr[0].p_w[2] == 120.0);
  hr_plan_traceset_destroy(s);
  unlink(p1);
  unlink(p2);
  rmdir(dir);
}

int main(void)
{
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_shared_set),
                                     cmocka_unit_test(test_bad_trace)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
