/* The shared layer (src/core): numbers that ignore the host's locale (with a
 * comma-decimal locale set, a model file and JSON records round-trip
 * unchanged), the growable buffer, the bounded file reader, the diagnostic
 * formatter and the enum name tables. */
#define _POSIX_C_SOURCE 200809L
#include <locale.h>
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

#include "core/core.h"
#include "headroom/plan.h"
#include "headroom/wire.h"

/* A comma-decimal locale; the test fails (it does not skip) without one:
 * scripts/install-deps.sh generates de_DE.UTF-8. */
static void comma_locale(void)
{
  static const char *const names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8"};
  const char *got = NULL;
  for (size_t k = 0; k < HR__COUNT(names) && !got; k++)
    got = setlocale(LC_ALL, names[k]);
  if (!got)
    fail_msg("no comma-decimal locale installed (run scripts/install-deps.sh)");
  char probe[16];
  snprintf(probe, sizeof probe, "%.1f", 1.5);
  assert_string_equal(probe, "1,5"); /* the locale really is in force */
}

static void c_locale(void)
{
  setlocale(LC_ALL, "C");
}

static void numbers_ignore_the_locale(void **state)
{
  (void)state;
  comma_locale();
  char b[48];
  assert_int_equal(hr__num_format(b, sizeof b, 17, 0.1), 19);
  assert_string_equal(b, "0.10000000000000001");
  hr__num_format(b, sizeof b, 10, -1234.5e-20);
  assert_string_equal(b, "-1.2345e-17");
  hr__num_format(b, sizeof b, 10, 42.0);
  assert_string_equal(b, "42");
  hr__num_format(b, sizeof b, 10, INFINITY);
  assert_string_equal(b, "inf");
  char *end;
  assert_true(hr__num_parse("2.5 x", &end) == 2.5);
  assert_string_equal(end, " x");
  assert_true(hr__num_parse("2,5", &end) == 2.0); /* a comma ends the number */
  assert_string_equal(end, ",5");
  assert_true(hr__num_parsef("0.25", &end) == 0.25f);
  c_locale();
}

/* Two labels, small runs: enough for every method to train. */
static hr_plan_traceset_t *synth_set(void)
{
  hr_plan_traceset_t *s = calloc(1, sizeof *s);
  s->n = 4;
  s->tr = calloc(s->n, sizeof *s->tr);
  hr_plan_rng_t r;
  hr_plan_rng_seed(&r, 7);
  for (size_t i = 0; i < s->n; i++) {
    hr_plan_trace_t *t = &s->tr[i];
    snprintf(t->model, sizeof t->model, "%s", i < 2 ? "small" : "big");
    t->num_gpus = 1;
    t->max_num_seqs = 8 << (i % 2);
    t->dt_s = 0.1;
    t->n = 600;
    t->p_w = malloc(t->n * sizeof *t->p_w);
    double x = 0.0;
    for (size_t k = 0; k < t->n; k++) {
      x = 0.6 * x + 8.0 * hr_plan_rng_normal(&r);
      t->p_w[k] = 300.0 + 40.0 * (double)i + ((k / 10) % 7 < 2 ? 60.0 : 0.0) + x;
    }
  }
  return s;
}

static char *slurp(const char *path, size_t *n)
{
  char *p = NULL;
  assert_int_equal(hr__file_read(path, 1 << 26, &p, n, NULL), HR_OK);
  return p;
}

static void model_file_round_trips_in_a_comma_locale(void **state)
{
  (void)state;
  hr_plan_traceset_t *s = synth_set();
  hr_plan_train_cfg_t cfg;
  hr_plan_train_cfg_init(&cfg);
  cfg.k_max = 3;
  cfg.gmm_max_points = 400;
  cfg.em_iters = 10;
  cfg.clf_epochs = 50;
  cfg.gru_epochs = 1;
  hr_plan_model_t *m = NULL;
  assert_int_equal(hr_plan_model_train(s, NULL, &cfg, &m, NULL), HR_OK);
  char p1[] = "/tmp/hr_core_model1_XXXXXX", p2[] = "/tmp/hr_core_model2_XXXXXX";
  close(mkstemp(p1));
  close(mkstemp(p2));
  assert_int_equal(hr_plan_model_save(m, p1), HR_OK); /* "C" locale */
  comma_locale();
  hr_plan_model_t *back = NULL;
  hr_diag_t d;
  int rc = hr_plan_model_load(p1, &back, &d);
  if (rc != HR_OK) {
    char text[1024];
    hr_diag_format(&d, text, sizeof text);
    fail_msg("load in a comma locale: %s", text);
  }
  assert_int_equal(hr_plan_model_save(back, p2), HR_OK);
  size_t n1, n2;
  char *a = slurp(p1, &n1), *b = slurp(p2, &n2);
  assert_int_equal(n1, n2);
  assert_memory_equal(a, b, n1);
  /* and the same numbers generate the same power */
  double act[64], x[64], y[64];
  for (int i = 0; i < 64; i++)
    act[i] = 8;
  assert_int_equal(hr_plan_model_generate(m, HR_PLAN_COPULA, "small", 1, act, 64, 3, x), HR_OK);
  assert_int_equal(hr_plan_model_generate(back, HR_PLAN_COPULA, "small", 1, act, 64, 3, y), HR_OK);
  assert_memory_equal(x, y, sizeof x);
  c_locale();
  free(a);
  free(b);
  unlink(p1);
  unlink(p2);
  hr_plan_model_destroy(m);
  hr_plan_model_destroy(back);
  hr_plan_traceset_destroy(s);
}

static void json_is_the_same_in_a_comma_locale(void **state)
{
  (void)state;
  hr_record_t rec;
  memset(&rec, 0, sizeof rec);
  rec.kind = HR_REC_CYCLE;
  rec.t_ns = 1700000000123456789LL;
  rec.dur_ns = 16666667;
  rec.n_u = 1;
  rec.n_i = 1;
  rec.u.cycle.freq_hz = 59.987654321;
  rec.u.cycle.u_rms_v[0] = 230.25;
  rec.u.cycle.i_rms_a[0] = 0.5;
  rec.u.cycle.p_total_w = -1.5e-7;
  char c[HR_RECORD_JSON_MAX], de[HR_RECORD_JSON_MAX];
  assert_int_equal(hr_record_json(&rec, "m1", c, sizeof c, NULL), HR_OK);
  comma_locale();
  assert_int_equal(hr_record_json(&rec, "m1", de, sizeof de, NULL), HR_OK);
  c_locale();
  assert_string_equal(c, de);
  assert_non_null(strstr(c, "59.98765432"));
  assert_non_null(strstr(c, "230.25"));
  assert_non_null(strstr(c, "-1.5e-07"));
}

static void buffer_grows_and_formats(void **state)
{
  (void)state;
  hr__buf_t b = {0};
  for (int i = 0; i < 1000; i++)
    hr__buf_printf(&b, "%d,", i);
  hr__buf_num(&b, 0.5, 17);
  assert_false(b.nomem);
  assert_int_equal(b.len, strlen(b.p));
  assert_true(strncmp(b.p, "0,1,2,", 6) == 0);
  assert_string_equal(b.p + b.len - 7, "999,0.5");
  char big[600];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  hr__buf_printf(&b, "%s", big); /* longer than the formatter's stack buffer */
  assert_int_equal(b.len, strlen(b.p));
  hr__buf_free(&b);
  assert_null(b.p);
}

static void file_reader_is_bounded(void **state)
{
  (void)state;
  char path[] = "/tmp/hr_core_file_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "0123456789", 10), 10);
  close(fd);
  char *p = NULL;
  size_t n = 0;
  hr_diag_t d;
  hr__diag_begin(&d, path);
  assert_int_equal(hr__file_read(path, 10, &p, &n, &d), HR_OK);
  assert_int_equal(n, 10);
  assert_string_equal(p, "0123456789");
  free(p);
  assert_int_equal(hr__file_read(path, 9, &p, &n, &d), HR_ERR_RANGE);
  assert_null(p);
  assert_string_equal(d.field, "(file)");
  assert_string_equal(d.message, "larger than 9 bytes (10)");
  unlink(path);
  hr__diag_begin(&d, path);
  assert_int_equal(hr__file_read(path, 9, &p, &n, &d), HR_ERR_IO);
  char text[512], want[512];
  hr_diag_format(&d, text, sizeof text);
  snprintf(want, sizeof want, "%s: (file): cannot open: No such file or directory", path);
  assert_string_equal(text, want);
}

static void diag_format_names_file_line_and_field(void **state)
{
  (void)state;
  hr_diag_t d;
  hr__diag_begin(&d, "site.yaml");
  assert_int_equal(
      hr__diag_fail(&d, HR_ERR_RANGE, 12, 7, "nodes[pdu-1].rating_a", "%d is too big", 9),
      HR_ERR_RANGE);
  char t[256];
  int n = hr_diag_format(&d, t, sizeof t);
  assert_string_equal(t, "site.yaml:12:7: nodes[pdu-1].rating_a: 9 is too big");
  assert_int_equal(n, (int)strlen(t));
  assert_int_equal(hr_diag_format(&d, NULL, 0), n); /* length only */
  d.column = 0;
  hr_diag_format(&d, t, sizeof t);
  assert_string_equal(t, "site.yaml:12: nodes[pdu-1].rating_a: 9 is too big");
  d.line = 0;
  d.offset = 4096;
  d.has_offset = 1;
  d.field[0] = '\0';
  hr_diag_format(&d, t, sizeof t);
  assert_string_equal(t, "site.yaml:byte 4096: 9 is too big");
  hr__diag_begin(&d, NULL);
  d.code = HR_ERR_NOMEM;
  hr_diag_format(&d, t, sizeof t);
  assert_string_equal(t, "out of memory");
  assert_int_equal(hr__diag_fail(NULL, HR_ERR_IO, 1, 1, "x", "ignored"), HR_ERR_IO);
  hr_diag_format(NULL, t, sizeof t);
  assert_string_equal(t, "unknown error");
}

static void enum_table_names_and_parses(void **state)
{
  (void)state;
  static const hr__enum_name_t t[] = {{3, "three"}, {1, "one"}};
  assert_string_equal(hr__enum_name(t, HR__COUNT(t), 1, "?"), "one");
  assert_string_equal(hr__enum_name(t, HR__COUNT(t), 2, "?"), "?");
  int v = 0;
  assert_int_equal(hr__enum_parse(t, HR__COUNT(t), "THREE", 1, &v), HR_OK);
  assert_int_equal(v, 3);
  assert_int_equal(hr__enum_parse(t, HR__COUNT(t), "THREE", 0, &v), HR_ERR_PARSE);
  assert_int_equal(hr__enum_parse(t, HR__COUNT(t), NULL, 0, &v), HR_ERR_INVALID_ARG);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(numbers_ignore_the_locale),
      cmocka_unit_test(model_file_round_trips_in_a_comma_locale),
      cmocka_unit_test(json_is_the_same_in_a_comma_locale),
      cmocka_unit_test(buffer_grows_and_formats),
      cmocka_unit_test(file_reader_is_bounded),
      cmocka_unit_test(diag_format_names_file_line_and_field),
      cmocka_unit_test(enum_table_names_and_parses),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
