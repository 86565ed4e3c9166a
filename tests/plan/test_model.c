/* plan power models: training on small synthetic runs, every method's
 * output, determinism, and the model file (round trip, corrupted and
 * other-version files refused). */
#define _POSIX_C_SOURCE 200809L
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

/* Two labels x four batch sizes; per-GPU power level rises with log2(batch),
 * AR(1) noise, and every 7th second a 2-s burst 60 W higher (a second state). */
static hr_plan_traceset_t *synth_set(void)
{
  hr_plan_traceset_t *s = calloc(1, sizeof *s);
  s->n = 8;
  s->tr = calloc(s->n, sizeof *s->tr);
  hr_plan_rng_t r;
  hr_plan_rng_seed(&r, 99);
  for (size_t i = 0; i < s->n; i++) {
    hr_plan_trace_t *t = &s->tr[i];
    snprintf(t->model, sizeof t->model, "%s", i < 4 ? "small" : "big");
    t->num_gpus = i < 4 ? 1 : 4;
    t->max_num_seqs = 8 << (i % 4);
    t->dt_s = 0.1;
    t->n = 1200;
    t->p_w = malloc(t->n * sizeof *t->p_w);
    double level = 300.0 + 40.0 * (double)(i % 4) + (i < 4 ? 0.0 : 20.0), x = 0.0;
    for (size_t k = 0; k < t->n; k++) {
      x = 0.6 * x + 8.0 * hr_plan_rng_normal(&r);
      double burst = (k / 10) % 7 < 2 ? 60.0 : 0.0;
      t->p_w[k] = t->num_gpus * (level + burst + x);
    }
  }
  return s;
}

/* CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), written here
 * independently of the library's. */
static uint32_t crc32_ieee(const char *p, size_t n)
{
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= (unsigned char)p[i];
    for (int b = 0; b < 8; b++)
      c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}

static hr_plan_train_cfg_t small_cfg(void)
{
  hr_plan_train_cfg_t c;
  hr_plan_train_cfg_init(&c);
  c.k_min = 1;
  c.k_max = 4;
  c.gmm_max_points = 800;
  c.em_iters = 25;
  c.clf_epochs = 300;
  /* A smaller BiGRU trained harder than the paper's recipe, so that the
   * test takes a second, not minutes. */
  c.bigru_hidden = 12;
  c.bigru_epochs = 40;
  c.bigru_window = 64;
  c.bigru_lr = 5e-3;
  return c;
}

static double mean(const double *x, size_t n)
{
  double s = 0;
  for (size_t i = 0; i < n; i++)
    s += x[i];
  return s / (double)n;
}

static void test_train_generate(void **state)
{
  (void)state;
  hr_plan_traceset_t *s = synth_set();
  hr_plan_train_cfg_t cfg = small_cfg();
  hr_plan_model_t *m;
  hr_diag_t e = {0};
  assert_int_equal(hr_plan_model_train(s, NULL, &cfg, &m, &e), HR_OK);
  assert_true(hr_plan_model_states(m, "small") >= 2); /* the bursts are a state */
  const hr_plan_trace_t *t = &s->tr[5];               /* big, batch 16 */
  size_t n = t->n;
  double *a = malloc(n * sizeof *a), *p = malloc(n * sizeof *p), *q = malloc(n * sizeof *q);
  for (size_t i = 0; i < n; i++)
    a[i] = t->max_num_seqs;
  assert_int_equal(hr_plan_model_generate(m, HR_PLAN_TDP, t->model, 4, a, n, 1, p), HR_OK);
  assert_true(p[0] == 2800.0 && p[n - 1] == 2800.0);
  assert_int_equal(hr_plan_model_generate(m, HR_PLAN_LUT, t->model, 4, a, n, 1, p),
                   HR_ERR_UNSUPPORTED); /* no LUT file given */
  double gt = mean(t->p_w, n);
  for (int meth = HR_PLAN_MEAN; meth < HR_PLAN_METHOD_COUNT_; meth++) {
    if (meth == HR_PLAN_LUT)
      continue;
    assert_int_equal(hr_plan_model_generate(m, meth, t->model, 4, a, n, 7, p), HR_OK);
    assert_int_equal(hr_plan_model_generate(m, meth, t->model, 4, a, n, 7, q), HR_OK);
    assert_memory_equal(p, q, n * sizeof *p); /* deterministic */
    double err = fabs(mean(p, n) - gt) / gt;
    if (meth != HR_PLAN_MEAN && err > 0.03) {
      print_error("%s: mean %g vs %g\n", hr_plan_method_name(meth), mean(p, n), gt);
      fail();
    }
    hr_plan_fidelity_t f;
    const double *x = t->p_w, *y = p;
    assert_int_equal(hr_plan_fidelity_compute(&x, &y, &n, 1, 0.1, 1.0, &f), HR_OK);
    if (meth == HR_PLAN_COPULA && (f.ks > 0.1 || !(f.acf_r2 > 0.8))) {
      print_error("copula: ks %g acf_r2 %g\n", f.ks, f.acf_r2);
      fail();
    }
  }
  a[3] = NAN; /* a bad workload is refused, not indexed with */
  assert_int_equal(hr_plan_model_generate(m, HR_PLAN_COPULA, "big", 4, a, n, 1, p),
                   HR_ERR_INVALID_ARG);
  a[3] = -1.0;
  assert_int_equal(hr_plan_model_generate(m, HR_PLAN_PAPER, "big", 4, a, n, 1, p),
                   HR_ERR_INVALID_ARG);
  a[3] = t->max_num_seqs;
  /* Unknown labels go to the pooled group; without one they are refused. */
  assert_int_equal(hr_plan_model_generate(m, HR_PLAN_COPULA, "other", 2, a, n, 1, p), HR_OK);
  hr_plan_model_destroy(m);
  cfg.pooled = 0;
  unsigned char use[8] = {1, 1, 0, 1, 1, 1, 1, 1};
  assert_int_equal(hr_plan_model_train(s, use, &cfg, &m, &e), HR_OK);
  assert_int_equal(hr_plan_model_generate(m, HR_PLAN_PAPER, "other", 2, a, n, 1, p),
                   HR_ERR_NOT_FOUND);
  /* The held-out batch (small/32) lies between 16 and 64: interpolated. */
  for (size_t i = 0; i < n; i++)
    a[i] = 32;
  assert_int_equal(hr_plan_model_generate(m, HR_PLAN_COPULA, "small", 1, a, n, 3, p), HR_OK);
  double g2 = mean(s->tr[2].p_w, n);
  assert_true(fabs(mean(p, n) - g2) / g2 < 0.05);
  hr_plan_model_destroy(m);
  memset(use, 0, sizeof use);
  assert_int_equal(hr_plan_model_train(s, use, &cfg, &m, &e), HR_ERR_INVALID_ARG);
  free(a);
  free(p);
  free(q);
  hr_plan_traceset_destroy(s);
}

static char *slurp(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  b[n] = '\0';
  *len = (size_t)n;
  return b;
}

static void test_model_file(void **state)
{
  (void)state;
  hr_plan_traceset_t *s = synth_set();
  hr_plan_train_cfg_t cfg = small_cfg();
  char lut[256];
  snprintf(lut, sizeof lut, "%s/power/splitwise-lut/perf_model.csv", HR_SHARED_DATA);
  if (access(lut, R_OK) == 0)
    cfg.lut_csv = lut;
  hr_plan_model_t *m, *m2;
  hr_diag_t e = {0};
  assert_int_equal(hr_plan_model_train(s, NULL, &cfg, &m, &e), HR_OK);
  char path[] = "/tmp/hr_plan_model_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  assert_int_equal(hr_plan_model_save(m, path), HR_OK);
  assert_int_equal(hr_plan_model_load(path, &m2, &e), HR_OK);
  size_t n = 500;
  double a[500], p[500], q[500];
  for (size_t i = 0; i < n; i++)
    a[i] = 8.0 + (double)(i % 100); /* a varying workload too */
  for (int meth = 0; meth < HR_PLAN_METHOD_COUNT_; meth++) {
    int r1 = hr_plan_model_generate(m, meth, "big", 4, a, n, 5, p);
    int r2 = hr_plan_model_generate(m2, meth, "big", 4, a, n, 5, q);
    assert_int_equal(r1, r2);
    if (r1 == HR_OK)
      assert_memory_equal(p, q, sizeof p); /* %.17g round-trips every double */
  }
  hr_plan_model_destroy(m2);

  size_t len;
  char *buf = slurp(path, &len);
  /* One changed digit in the body: the checksum catches it. */
  char *bad = malloc(len);
  memcpy(bad, buf, len);
  char *dig = strstr(bad, "states ");
  assert_non_null(dig);
  dig[9] = dig[9] == '1' ? '2' : '1';
  assert_int_equal(hr_plan_model_parse(bad, len, &m2, &e), HR_ERR_PARSE);
  assert_non_null(strstr(e.message, "corrupted"));
  /* Truncated file: the checksum line is gone. */
  assert_int_equal(hr_plan_model_parse(buf, len / 2, &m2, &e), HR_ERR_PARSE);
  /* Another format version is refused before anything else is read. */
  memcpy(bad, buf, len);
  char *v = strchr(bad, ' ');
  v[1] = '9';
  assert_int_equal(hr_plan_model_parse(bad, len, &m2, &e), HR_ERR_UNSUPPORTED);
  assert_non_null(strstr(e.message, "version 9"));
  assert_int_equal(hr_plan_model_parse("hello\n", 6, &m2, &e), HR_ERR_PARSE);
  assert_non_null(strstr(e.message, "not a headroom plan model"));
  /* A version-1 file (before the BiGRU: no "bigru", "arange" lines) still loads; its
   * paper method is unsupported and the rest generate as before. */
  {
    char *v1 = malloc(len + 1);
    size_t o = 0;
    for (const char *l = buf; l < buf + len;) {
      const char *nl = memchr(l, '\n', (size_t)(buf + len - l));
      size_t ll = nl ? (size_t)(nl - l) + 1 : (size_t)(buf + len - l);
      static int skip = 0;
      if (strncmp(l, "arange ", 7) == 0)
        skip = 0; /* version 2's input range line */
      else if (strncmp(l, "bigru ", 6) == 0)
        skip = atoi(l + 6) > 0 ? -1 : 0; /* its parameter lines follow */
      else if (skip == -1 && (l[0] == '-' || (l[0] >= '0' && l[0] <= '9')))
        ;
      else if (strncmp(l, "crc32 ", 6) != 0) {
        skip = 0;
        memcpy(v1 + o, l, ll);
        o += ll;
      }
      l += ll;
    }
    char *sp = strchr(v1, ' ');
    assert_int_equal(sp[1], '2');
    sp[1] = '1';
    char tailbuf[32];
    int tn = snprintf(tailbuf, sizeof tailbuf, "crc32 %08x\n", (unsigned)crc32_ieee(v1, o));
    v1 = realloc(v1, o + (size_t)tn + 1);
    memcpy(v1 + o, tailbuf, (size_t)tn + 1);
    assert_int_equal(hr_plan_model_parse(v1, o + (size_t)tn, &m2, &e), HR_OK);
    assert_int_equal(hr_plan_model_generate(m2, HR_PLAN_PAPER, "big", 4, a, n, 5, q),
                     HR_ERR_UNSUPPORTED);
    assert_int_equal(hr_plan_model_generate(m, HR_PLAN_PAPER_GRU16, "big", 4, a, n, 5, p), HR_OK);
    assert_int_equal(hr_plan_model_generate(m2, HR_PLAN_PAPER_GRU16, "big", 4, a, n, 5, q), HR_OK);
    assert_memory_equal(p, q, sizeof p);
    hr_plan_model_destroy(m2);
    free(v1);
  }
  free(bad);
  free(buf);
  unlink(path);
  hr_plan_model_destroy(m);
  hr_plan_traceset_destroy(s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_train_generate),
                                     cmocka_unit_test(test_model_file)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
