/* Inference workloads of the simulator (src/sim/sim_infer.c) against
 * independent references:
 *  - the power model against the measurements it comes from: the mean of
 *    every Llama-3.1-70B fixed-batch trace of ../shared/data/power/
 *    h100-inference, read here from the files (made non-decreasing, as the
 *    model states);
 *  - the online serving model, uncapped, against the planner's offline
 *    serving simulator (hr_plan_serve_run) on the same requests: the same
 *    completed requests and mean time to first token;
 *  - admission shaping keeps the replica's power within the cap, and
 *    without it the same load exceeds the cap (the test can fail). */
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
#include "sim/sim_int.h"

static void test_power_table(void **st)
{
  (void)st;
  char path[2048];
  snprintf(path, sizeof path, "%s/power/h100-inference/traces_summary.csv", HR_SHARED_DATA);
  FILE *f = fopen(path, "r");
  if (!f) {
    print_message("no %s: skipped\n", path);
    skip();
  }
  char line[1024];
  double run_max = 0.0;
  int n = 0;
  assert_non_null(fgets(line, sizeof line, f)); /* header */
  /* Rows are in batch order per model (checked: each batch above the last). */
  double last_b = 0.0;
  while (fgets(line, sizeof line, f)) {
    char model[64], file[512];
    int gpus, b;
    if (sscanf(line, "%63[^,],%d,%d,%511s", model, &gpus, &b, file) != 4 ||
        strcmp(model, "Llama-3.1-70B") != 0)
      continue;
    assert_true(b > last_b);
    last_b = b;
    char tp[2048];
    snprintf(tp, sizeof tp, "%s/power/h100-inference/%s", HR_SHARED_DATA, file);
    FILE *g = fopen(tp, "r");
    assert_non_null(g);
    char l2[256];
    double sum = 0.0;
    long cnt = 0;
    assert_non_null(fgets(l2, sizeof l2, g));
    while (fgets(l2, sizeof l2, g)) {
      double tt, p;
      if (sscanf(l2, "%lf,%lf", &tt, &p) == 2) {
        sum += p;
        cnt++;
      }
    }
    fclose(g);
    double mean = sum / (double)cnt / gpus;
    if (mean > run_max)
      run_max = mean;
    double model_w = hr__infer_power_w(b, 70.0);
    print_message("batch %4d: data %.2f W/GPU (non-decreasing %.2f), model %.2f\n", b, mean,
                  run_max, model_w);
    assert_true(fabs(model_w - run_max) < 0.06); /* the table keeps one decimal */
    n++;
  }
  fclose(f);
  assert_int_equal(n, 14);
  assert_true(hr__infer_power_w(0, 70.0) == 70.0);
  assert_true(hr__infer_power_w(3, 70.0) == hr__infer_power_w(8, 70.0));
}

static hr_workload_t one_replica(double rate)
{
  hr_workload_t w;
  memset(&w, 0, sizeof w);
  w.kind = HR_WORK_INFERENCE;
  w.gpu_first = 0;
  w.gpu_end = 4;
  w.gpus_per_replica = 4;
  w.max_num_seqs = 256;
  w.rate_per_s = rate;
  w.seed = 7;
  return w;
}

static void test_against_offline(void **st)
{
  (void)st;
  const double dur = 300.0, dt = 1e-3;
  hr_workload_t w = one_replica(3.0);
  hr__lathist_t ttft = {0}, tbt = {0};
  hr__infer_t *f = NULL;
  assert_int_equal(hr__infer_create(&w, dur, &ttft, &tbt, &f), HR_OK);
  hr__infer_out_t o;
  size_t steps = (size_t)llround(dur / dt);
  for (size_t k = 0; k < steps; k++)
    hr__infer_step(f, 0, (double)k * dt, (double)(k + 1) * dt, 700.0, 1, 0, 70.0, 1.0 / 3.0, NULL,
                   &o);
  uint64_t req = 0, done = 0, tok = 0;
  hr__infer_totals(f, &req, &done, &tok);
  const hr_plan_workload_t *wl = hr__infer_requests(f, 0);
  hr_plan_serve_cfg_t sv;
  hr_plan_serve_cfg_init(&sv);
  size_t nb = (size_t)dur;
  double *act = calloc(nb, sizeof *act);
  assert_non_null(act);
  hr_plan_serve_stats_t ss;
  assert_int_equal(hr_plan_serve_run(&sv, wl->req, wl->n, 1.0, nb, act, NULL, &ss), HR_OK);
  double mine = hr__infer_mean_ttft_s(f);
  print_message("%llu requests: completed online %llu, offline %zu; mean TTFT online %.6f s, "
                "offline %.6f s; TTFT p50 %.3f s, TBT p50 %.1f ms\n",
                (unsigned long long)req, (unsigned long long)done, ss.completed, mine,
                ss.mean_ttft_s, hr__lathist_quantile(&ttft, 0.5),
                1e3 * hr__lathist_quantile(&tbt, 0.5));
  assert_true(done > 500);
  assert_true(llabs((long long)done - (long long)ss.completed) <= 1);
  assert_true(fabs(mine - ss.mean_ttft_s) <= 1e-3 * ss.mean_ttft_s);
  free(act);
  hr__infer_destroy(f);
}

static void test_admission(void **st)
{
  (void)st;
  const double dur = 120.0, dt = 1e-3, cap = hr__infer_power_w(64, 70.0);
  double worst[2] = {0.0, 0.0};
  uint64_t done[2] = {0, 0};
  for (int admit = 0; admit < 2; admit++) {
    hr_workload_t w = one_replica(8.0); /* more than the replica serves: the queue grows */
    hr__lathist_t ttft = {0}, tbt = {0};
    hr__infer_t *f = NULL;
    assert_int_equal(hr__infer_create(&w, dur, &ttft, &tbt, &f), HR_OK);
    hr__infer_out_t o;
    for (size_t k = 0; k < (size_t)llround(dur / dt); k++) {
      hr__infer_step(f, 0, (double)k * dt, (double)(k + 1) * dt, cap, 1, admit, 70.0, 1.0 / 3.0,
                     NULL, &o);
      if (o.demand_w > worst[admit])
        worst[admit] = o.demand_w;
      if (admit)
        assert_true(o.want_w >= o.demand_w - 1e-9);
    }
    uint64_t req = 0, tok = 0;
    hr__infer_totals(f, &req, &done[admit], &tok);
    print_message("admit %d: highest demand %.1f W against a cap of %.1f W, completed %llu, "
                  "TBT p50 %.1f ms\n",
                  admit, worst[admit], cap, (unsigned long long)done[admit],
                  1e3 * hr__lathist_quantile(&tbt, 0.5));
    hr__infer_destroy(f);
  }
  assert_true(worst[1] <= cap + 1e-9);
  assert_true(worst[0] > cap + 10.0);
}

/* Clock locks (docs/sim.md, "Clock locks"): power and iteration time at a
 * locked clock against the model's closed forms. */
static void test_clock_closed_form(void **st)
{
  (void)st;
  const double kap = 1.0 / 0.647, a = 0.1, r = 0.8;
  const hr__infer_clock_t ck = {r, kap, a}, one = {1.0, kap, a};
  /* Power above idle x r^kappa; unlocked, below idle or NULL: unchanged. */
  assert_true(fabs(hr__infer_clock_w(588.9, 70.0, &ck) - (70.0 + 518.9 * exp(kap * log(r)))) <
              1e-9);
  assert_true(hr__infer_clock_w(588.9, 70.0, &one) == 588.9);
  assert_true(hr__infer_clock_w(588.9, 70.0, NULL) == 588.9);
  assert_true(hr__infer_clock_w(50.0, 70.0, &ck) == 50.0);
  /* An uncapped iteration: decode x r^-a, prefill x 1/r. */
  const double td = 0.0378, tp = 0.21;
  double want = (td / exp(a * log(r)) + tp / r) / (td + tp);
  assert_true(fabs(hr__infer_slow(td, tp, 588.9, 700.0, 70.0, 1.0 / 3.0, &ck) - want) < 1e-12);
  assert_true(hr__infer_slow(td, tp, 588.9, 700.0, 70.0, 1.0 / 3.0, &one) == 1.0);
  /* A cap below the locked clock's power slows it further, from that power. */
  double pc = 70.0 + 518.9 * exp(kap * log(r)), x = (300.0 - 70.0) / (pc - 70.0);
  want = (td / exp(a * log(r)) * pow(x, -1.0 / 3.0) + tp / r * pow(x, -0.647)) / (td + tp);
  assert_true(fabs(hr__infer_slow(td, tp, 588.9, 300.0, 70.0, 1.0 / 3.0, &ck) - want) < 1e-12);
  /* The calibration: a prefill capped at a lock's power is slowed as the
   * lock slows it (Splitwise's capped prefill read as a clock). */
  for (double q = 0.5; q < 1.0; q += 0.1) {
    const hr__infer_clock_t cq = {q, kap, a};
    double cap = hr__infer_clock_w(700.0, 70.0, &cq);
    double s_cap = hr__infer_slow(0.0, 1.0, 700.0, cap, 70.0, 1.0 / 3.0, NULL);
    double s_clk = hr__infer_slow(0.0, 1.0, 700.0, 700.0, 70.0, 1.0 / 3.0, &cq);
    assert_true(fabs(s_cap - 1.0 / q) < 1e-9 && fabs(s_clk - 1.0 / q) < 1e-9);
  }
}

/* A replica under a lock serves as the planner's offline serving does with
 * its decode step times x r^-a and its prefill rate x r (an independent
 * implementation of the same serving rules). */
static void test_clock_against_offline(void **st)
{
  (void)st;
  const double dur = 300.0, dt = 1e-3, r = 0.7, a = 0.1;
  const hr__infer_clock_t ck = {r, 1.0 / 0.647, a};
  hr_workload_t w = one_replica(3.0);
  hr__lathist_t ttft = {0}, tbt = {0};
  hr__infer_t *f = NULL;
  assert_int_equal(hr__infer_create(&w, dur, &ttft, &tbt, &f), HR_OK);
  hr__infer_out_t o;
  double hi_w = 0.0;
  size_t steps = (size_t)llround(dur / dt);
  for (size_t k = 0; k < steps; k++) {
    hr__infer_step(f, 0, (double)k * dt, (double)(k + 1) * dt, 700.0, 1, 0, 70.0, 1.0 / 3.0, &ck,
                   &o);
    if (o.demand_w > hi_w)
      hi_w = o.demand_w;
  }
  uint64_t req = 0, done = 0, tok = 0;
  hr__infer_totals(f, &req, &done, &tok);
  const hr_plan_workload_t *wl = hr__infer_requests(f, 0);
  hr_plan_serve_cfg_t sv;
  hr_plan_serve_cfg_init(&sv);
  sv.step_s *= pow(r, -a);
  sv.step_per_seq_s *= pow(r, -a);
  sv.prefill_tok_per_s *= r;
  size_t nb = (size_t)dur;
  double *act = calloc(nb, sizeof *act);
  assert_non_null(act);
  hr_plan_serve_stats_t ss;
  assert_int_equal(hr_plan_serve_run(&sv, wl->req, wl->n, 1.0, nb, act, NULL, &ss), HR_OK);
  double mine = hr__infer_mean_ttft_s(f);
  print_message("locked at %.2f: completed online %llu, offline %zu; mean TTFT online %.6f s, "
                "offline %.6f s; highest demand %.1f W\n",
                r, (unsigned long long)done, ss.completed, mine, ss.mean_ttft_s, hi_w);
  assert_true(done > 500);
  assert_true(llabs((long long)done - (long long)ss.completed) <= 1);
  assert_true(fabs(mine - ss.mean_ttft_s) <= 1e-3 * ss.mean_ttft_s);
  /* Its power never above the locked clock's at the largest batch. */
  assert_true(hi_w <= hr__infer_clock_w(hr__infer_power_w(256, 70.0), 70.0, &ck) + 1e-9);
  free(act);
  hr__infer_destroy(f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_power_table), cmocka_unit_test(test_against_offline),
      cmocka_unit_test(test_admission), cmocka_unit_test(test_clock_closed_form),
      cmocka_unit_test(test_clock_against_offline)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
