/* Cost of the paper method's networks: the BiGRU-64 (method paper) against
 * the 16-unit unidirectional GRU (paper-gru16) in the same process, thread
 * CPU time.  Training: one Adam update on a window (BPTT), per step of the
 * window; generation: the logits of a moving input, per step.
 * usage: bench_plan_gru [REPEATS=5] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "headroom/plan.h"
#include "plan/plan_gru.h"

enum { K = 10, N = 4096, WIN = 128 };

static double cpu_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
  int reps = argc > 1 ? atoi(argv[1]) : 5;
  if (reps < 1)
    reps = 1;
  static double x[N * 2], lg[N * K];
  static int y[N];
  hr_plan_rng_t r;
  hr_plan_rng_seed(&r, 1);
  for (int t = 0; t < N; t++) { /* a moving A(t): a random walk, and its step */
    x[2 * t] = (t ? x[2 * t - 2] : 0.0) + 0.1 * hr_plan_rng_normal(&r);
    x[2 * t + 1] = t ? x[2 * t] - x[2 * t - 2] : 0.0;
    y[t] = (int)(hr_plan_rng_u64(&r) % K);
  }
  size_t nb = hr__plan_bigru_nparams(64, K), ng = hr__plan_gru_nparams(16, K);
  double *wb = malloc(nb * sizeof *wb), *wg = malloc(ng * sizeof *wg);
  hr__plan_bigru_init(wb, 64, K, &r);
  hr__plan_gru_init(wg, 16, K, &r);
  double best[4] = {1e30, 1e30, 1e30, 1e30};
  for (int rep = 0; rep < reps; rep++) {
    /* Training: 20 updates of WIN steps each, val tails off (val 0). */
    hr__plan_bigru_recipe_t rc = {1, WIN, 1, 1e-4, 1.0, 0.0};
    hr__plan_gru_seq_t sub[20];
    for (int i = 0; i < 20; i++)
      sub[i] = (hr__plan_gru_seq_t){x + (size_t)i * WIN * 2, y + (size_t)i * WIN, WIN};
    double t0 = cpu_s();
    hr__plan_bigru_train(wb, 64, K, sub, 20, &rc, 3, NULL);
    double t1 = cpu_s();
    /* The unidirectional trainer: 20 windows of WIN steps (no burn-in at
     * the start of each sequence). */
    hr__plan_gru_train(wg, 16, K, sub, 20, 1, WIN, 1, 0.01, 3);
    double t2 = cpu_s();
    hr__plan_bigru_logits(wb, 64, K, x, N, lg);
    double t3 = cpu_s();
    double hs[16] = {0};
    for (int t = 0; t < N; t++)
      hr__plan_gru_step(wg, 16, K, x + 2 * t, hs, lg + (size_t)t * K);
    double t4 = cpu_s();
    double v[4] = {(t1 - t0) / (20.0 * WIN), (t2 - t1) / (20.0 * WIN), (t3 - t2) / N,
                   (t4 - t3) / N};
    for (int i = 0; i < 4; i++)
      best[i] = v[i] < best[i] ? v[i] : best[i];
  }
  printf("train_step_us bigru64=%.3f gru16=%.3f ratio=%.1f\n", 1e6 * best[0], 1e6 * best[1],
         best[0] / best[1]);
  printf("gen_step_us   bigru64=%.3f gru16=%.3f ratio=%.1f\n", 1e6 * best[2], 1e6 * best[3],
         best[2] / best[3]);
  printf("params        bigru64=%zu gru16=%zu (K=%d)\n", nb, ng, K);
  free(wb);
  free(wg);
  return 0;
}
