/* Helpers shared by the facility tests (test_draw.c, test_copula_simd.c,
 * test_serve_site.c, test_site_gpu.c): a small trained model, a Poisson
 * workload and a small site.  Include after <cmocka.h>. */
#ifndef HR_TESTS_PLANTEST_H
#define HR_TESTS_PLANTEST_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "headroom/plan.h"

/* The training set-up the small models share; the caller adds what its
 * tests need (a BiGRU, GRU epochs). */
static inline hr_plan_train_cfg_t plantest_train_cfg(int clf_epochs)
{
  hr_plan_train_cfg_t c;
  hr_plan_train_cfg_init(&c);
  c.k_max = 3;
  c.gmm_max_points = 400;
  c.em_iters = 20;
  c.clf_epochs = clf_epochs;
  c.bigru_hidden = 0;
  return c;
}

/* Two fixed-batch "runs" of model "m" on 2 GPUs (max_num_seqs 8 and 64) of
 * per-GPU power around 300 and 450 W: n samples dt_s apart each, the noise
 * x_i = ar x_{i-1} + innov N(0, 1) (hr_plan_rng seeded seed, run 0's samples
 * drawn first) added as sd_w x_i W, trained with c.  Training reads the
 * traces and keeps none of them. */
static inline hr_plan_model_t *plantest_model(size_t n, double dt_s, uint64_t seed, double ar,
                                              double innov, double sd_w,
                                              const hr_plan_train_cfg_t *c)
{
  hr_plan_trace_t tr[2];
  memset(tr, 0, sizeof tr);
  double *p = malloc(2 * n * sizeof *p);
  assert_non_null(p);
  hr_plan_rng_t r;
  hr_plan_rng_seed(&r, seed);
  for (int k = 0; k < 2; k++) {
    snprintf(tr[k].model, sizeof tr[k].model, "m");
    tr[k].num_gpus = 2;
    tr[k].max_num_seqs = k ? 64 : 8;
    tr[k].dt_s = dt_s;
    tr[k].n = n;
    tr[k].p_w = p + (size_t)k * n;
    double x = 0.0;
    for (size_t i = 0; i < n; i++) {
      x = ar * x + innov * hr_plan_rng_normal(&r);
      tr[k].p_w[i] = 2.0 * (300.0 + 150.0 * k + sd_w * x);
    }
  }
  hr_plan_traceset_t s = {0};
  s.tr = tr;
  s.n = 2;
  hr_plan_model_t *m;
  assert_int_equal(hr_plan_model_train(&s, NULL, c, &m, NULL), HR_OK);
  free(p);
  return m;
}

/* Poisson arrivals at rate_per_s for dur_s, the generator's defaults
 * otherwise. */
static inline hr_plan_workload_t *plantest_workload(double rate_per_s, double dur_s)
{
  hr_plan_gen_cfg_t g;
  hr_plan_gen_cfg_init(&g);
  g.duration_s = dur_s;
  g.rate_per_s = rate_per_s;
  hr_plan_workload_t *w;
  assert_int_equal(hr_plan_workload_generate(&g, &w), HR_OK);
  return w;
}

/* A site of rows x racks_per_row x servers_per_rack serving model "m", the
 * defaults otherwise. */
static inline hr_plan_site_cfg_t plantest_site(int rows, int racks_per_row, int servers_per_rack)
{
  hr_plan_site_cfg_t c;
  hr_plan_site_cfg_init(&c);
  c.rows = rows;
  c.racks_per_row = racks_per_row;
  c.servers_per_rack = servers_per_rack;
  c.model = "m";
  return c;
}

#endif
