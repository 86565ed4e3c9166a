/* plan GRU classifier: the BPTT gradient against central differences, and
 * training that learns a state distribution that depends on the feature. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "headroom/plan.h"
#include "plan/plan_gru.h"

static void test_gradient(void **state)
{
  (void)state;
  enum { H = 3, K = 4, T = 6 };
  size_t np = hr__plan_gru_nparams(H, K);
  double *w = malloc(np * sizeof *w), *g = calloc(np, sizeof *g), *d = calloc(np, sizeof *d);
  double scratch[6 * H * T], x[T * 2];
  int y[T];
  hr_plan_rng_t r;
  hr_plan_rng_seed(&r, 5);
  hr__plan_gru_init(w, H, K, &r);
  for (size_t i = 0; i < np; i++)
    w[i] *= 3.0; /* larger weights: saturating gates are exercised too */
  for (int t = 0; t < T; t++) {
    x[2 * t] = hr_plan_rng_normal(&r);
    x[2 * t + 1] = hr_plan_rng_normal(&r);
    y[t] = (int)(hr_plan_rng_u64(&r) % K);
  }
  hr__plan_gru_loss_grad(w, H, K, x, y, T, g, scratch);
  double worst = 0.0;
  for (size_t i = 0; i < np; i++) {
    double keep = w[i], e = 1e-6;
    w[i] = keep + e;
    double lp = hr__plan_gru_loss_grad(w, H, K, x, y, T, d, scratch);
    w[i] = keep - e;
    double lm = hr__plan_gru_loss_grad(w, H, K, x, y, T, d, scratch);
    w[i] = keep;
    double num = (lp - lm) / (2 * e);
    double rel = fabs(num - g[i]) / fmax(1e-6, fabs(num) + fabs(g[i]));
    worst = fmax(worst, rel);
  }
  if (worst > 1e-5) {
    print_error("worst relative gradient error %g\n", worst);
    fail();
  }
  free(w);
  free(g);
  free(d);
}

static void test_learns(void **state)
{
  (void)state;
  /* Two runs: feature -1 -> mostly state 0, feature +1 -> mostly state 2. */
  enum { H = 8, K = 3, N = 400 };
  static double x[2][N * 2];
  static int y[2][N];
  hr_plan_rng_t r;
  hr_plan_rng_seed(&r, 9);
  for (int s = 0; s < 2; s++)
    for (int t = 0; t < N; t++) {
      x[s][2 * t] = s ? 1.0 : -1.0;
      x[s][2 * t + 1] = 0.0;
      double u = hr_plan_rng_uniform(&r);
      y[s][t] = s ? (u < 0.8 ? 2 : 1) : (u < 0.8 ? 0 : 1);
    }
  hr__plan_gru_seq_t seq[2] = {{x[0], y[0], N}, {x[1], y[1], N}};
  size_t np = hr__plan_gru_nparams(H, K);
  double *w = malloc(np * sizeof *w);
  hr__plan_gru_init(w, H, K, &r);
  assert_int_equal(hr__plan_gru_train(w, H, K, seq, 2, 30, 32, 4, 0.02, 1), HR_OK);
  for (int s = 0; s < 2; s++) {
    double hs[H] = {0}, lg[K], p[K];
    for (int t = 0; t < 50; t++)
      hr__plan_gru_step(w, H, K, x[s], hs, lg);
    double mx = fmax(lg[0], fmax(lg[1], lg[2])), sum = 0;
    for (int c = 0; c < K; c++)
      sum += (p[c] = exp(lg[c] - mx));
    double want = p[s ? 2 : 0] / sum;
    if (!(want > 0.65 && want < 0.92)) {
      print_error("run %d: p(main state) %g, expected near 0.8\n", s, want);
      fail();
    }
  }
  free(w);
}

/* The bidirectional network's BPTT (both directions, the shared output
 * layer) against central differences of its own loss. */
static void test_bigru_gradient(void **state)
{
  (void)state;
  enum { H = 4, K = 5, T = 9 };
  size_t np = hr__plan_bigru_nparams(H, K);
  assert_int_equal(np, 2 * (3 * H * 2 + 3 * H * H + 6 * H) + K * 2 * H + K);
  double *w = malloc(np * sizeof *w), *g = calloc(np, sizeof *g), *d = calloc(np, sizeof *d);
  double scratch[12 * H * T], x[T * 2], lg[T * K];
  int y[T];
  hr_plan_rng_t r;
  hr_plan_rng_seed(&r, 7);
  hr__plan_bigru_init(w, H, K, &r);
  for (size_t i = 0; i < np; i++)
    w[i] *= 3.0;
  for (int t = 0; t < T; t++) {
    x[2 * t] = hr_plan_rng_normal(&r);
    x[2 * t + 1] = hr_plan_rng_normal(&r);
    y[t] = (int)(hr_plan_rng_u64(&r) % K);
  }
  double l0 = hr__plan_bigru_loss_grad(w, H, K, x, y, T, g, scratch);
  /* The generation path's logits give the same loss. */
  hr__plan_bigru_logits(w, H, K, x, T, lg);
  double l1 = 0.0;
  for (int t = 0; t < T; t++) {
    double mx = -INFINITY, s = 0.0;
    for (int c = 0; c < K; c++)
      mx = fmax(mx, lg[t * K + c]);
    for (int c = 0; c < K; c++)
      s += exp(lg[t * K + c] - mx);
    l1 += log(s) + mx - lg[t * K + y[t]];
  }
  assert_true(fabs(l0 - l1) < 1e-9 * fabs(l0));
  double worst = 0.0;
  for (size_t i = 0; i < np; i++) {
    double keep = w[i], e = 1e-5; /* rounding, not truncation, limits 1e-6 here */
    w[i] = keep + e;
    double lp = hr__plan_bigru_loss_grad(w, H, K, x, y, T, d, scratch);
    w[i] = keep - e;
    double lm = hr__plan_bigru_loss_grad(w, H, K, x, y, T, d, scratch);
    w[i] = keep;
    double num = (lp - lm) / (2 * e);
    double rel = fabs(num - g[i]) / fmax(1e-6, fabs(num) + fabs(g[i]));
    worst = fmax(worst, rel);
  }
  if (worst > 1e-5) {
    print_error("bigru: worst relative gradient error %g\n", worst);
    fail();
  }
  free(w);
  free(g);
  free(d);
}

/* A label that depends on the next step's input: only the backward
 * direction can know it, so a trained BiGRU must reach it (a causal model
 * scores at most the 50 % of a coin on such a label). */
static void test_bigru_learns_future(void **state)
{
  (void)state;
  enum { H = 8, K = 2, N = 600, S = 4 };
  static double x[S][N * 2];
  static int y[S][N];
  hr_plan_rng_t r;
  hr_plan_rng_seed(&r, 11);
  for (int s = 0; s < S; s++) {
    for (int t = 0; t < N; t++) {
      x[s][2 * t] = hr_plan_rng_uniform(&r) < 0.5 ? -1.0 : 1.0;
      x[s][2 * t + 1] = t ? x[s][2 * t] - x[s][2 * t - 2] : 0.0;
    }
    for (int t = 0; t < N; t++)
      y[s][t] = t + 1 < N ? x[s][2 * (t + 1)] > 0 : 0;
  }
  hr__plan_gru_seq_t seq[S];
  for (int s = 0; s < S; s++)
    seq[s] = (hr__plan_gru_seq_t){x[s], y[s], N};
  size_t np = hr__plan_bigru_nparams(H, K);
  double *w = malloc(np * sizeof *w), *lg = malloc(N * K * sizeof *lg);
  hr__plan_bigru_init(w, H, K, &r);
  hr__plan_bigru_recipe_t rc = {300, 32, 300, 1e-2, 1.0, 0.2};
  hr__plan_bigru_log_t log;
  assert_int_equal(hr__plan_bigru_train(w, H, K, seq, S, &rc, 3, &log), HR_OK);
  assert_true(log.epochs_run >= 1 && log.best_epoch >= 1 && log.updates > 0);
  /* Scored on a fresh sequence. */
  static double xt[N * 2];
  for (int t = 0; t < N; t++) {
    xt[2 * t] = hr_plan_rng_uniform(&r) < 0.5 ? -1.0 : 1.0;
    xt[2 * t + 1] = t ? xt[2 * t] - xt[2 * t - 2] : 0.0;
  }
  hr__plan_bigru_logits(w, H, K, xt, N, lg);
  int hit = 0;
  for (int t = 0; t + 1 < N; t++)
    hit += (lg[t * K + 1] > lg[t * K]) == (xt[2 * (t + 1)] > 0);
  double acc = hit / (double)(N - 1);
  if (!(acc > 0.9)) {
    print_error("bigru: accuracy on the next step's sign %g (val loss %g, %d epochs)\n", acc,
                log.best_val_loss, log.epochs_run);
    fail();
  }
  free(w);
  free(lg);
}

int main(void)
{
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_gradient), cmocka_unit_test(test_learns),
                                     cmocka_unit_test(test_bigru_gradient),
                                     cmocka_unit_test(test_bigru_learns_future)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
