/* plan module, power models: what training, generation and the model file
 * share (not installed).  plan_model.c holds the helpers declared here,
 * plan_train.c the training, plan_generate.c the generation and
 * plan_model_file.c the versioned text file. */
#ifndef HEADROOM_PLAN_MODEL_INT_H
#define HEADROOM_PLAN_MODEL_INT_H

#include "plan/plan_gmm.h"
#include "plan/plan_gru.h"
#include "plan/plan_int.h"

#define NBMAX 32 /* training batch sizes per group */
#define LUTMAX 64
/* What the LUT loader takes (plan.h, hr_plan_train_cfg_t.lut_csv): an
 * average_power ratio of TDP in [0, 10] (0: no power measured) and a
 * batch_size in [0, 1e9], so that LUT power stays finite and the model file
 * (numbers up to 1e12) reads back what training wrote. */
#define HR__PLAN_LUT_MAX_RATIO 10.0
/* Per-GPU powers a model holds (tdp_w_per_gpu, idle_w_per_gpu) [W]: what
 * the model file reads back, so training refuses what it could not save. */
#define HR__PLAN_MAX_GPU_W 1e5
#define HR__PLAN_LUT_MAX_BATCH 1e9
#define NFEAT 3        /* classifier features: 1, a, a^2 */
#define AR_MIN_PHI 0.3 /* below this the paper's model draws in-state iid */
#define ZLAGS 50       /* lags of the latent Gaussian process (copula method) */
#define NQ 257         /* quantile-table points per batch (copula method) */

typedef struct group {
  char label[64];
  hr__plan_gmm_t g;
  double phi[HR__PLAN_KMAX];
  double p_lo, p_hi; /* per-GPU clamp [W] */
  double mean_w;     /* per-GPU training mean [W] */
  double a_mu, a_sd; /* normalisation of log2(1 + A) */
  double a_lo, a_hi; /* the networks' A is clamped to this range; a_hi = 0:
                      * [batch[0], batch[nb-1]] (fixed-batch training) */
  double clf[HR__PLAN_KMAX][NFEAT];
  int gru_h; /* 0: the softmax classifier clf drives the paper method */
  double gru_w[3 * HR__PLAN_GRU_HMAX * (HR__PLAN_GRU_NIN + HR__PLAN_GRU_HMAX + 2) +
               HR__PLAN_KMAX * (HR__PLAN_GRU_HMAX + 1)];
  int bigru_h; /* 0: no BiGRU (the paper method is then unsupported) */
  double bigru_w[2 * 3 * HR__PLAN_BIGRU_HMAX * (HR__PLAN_GRU_NIN + HR__PLAN_BIGRU_HMAX + 2) +
                 HR__PLAN_KMAX * (2 * HR__PLAN_BIGRU_HMAX + 1)];
  int nb;
  double batch[NBMAX];
  double occ[NBMAX][HR__PLAN_KMAX];
  double trans[NBMAX][HR__PLAN_KMAX * HR__PLAN_KMAX];
  double acfz[NBMAX][ZLAGS]; /* ACF of the runs' normal scores, lags 1..ZLAGS */
  double qtab[NBMAX][NQ];    /* per-GPU power [W] at u = i / (NQ - 1) of the batch's mixture */
  int copula_only;           /* a group predicted from descriptors (plan_desc.c): no GMM states,
                              * only the copula tables (and mean_w) are filled */
} group_t;

struct hr_plan_model {
  double tdp_w_per_gpu;
  double idle_w_per_gpu; /* power of a GPU with no request [W] (not in the traces) */
  double train_dt_s;     /* step of the training traces [s] */
  int nlut;
  double lut_b[LUTMAX], lut_r[LUTMAX]; /* batch size, average-power ratio of TDP */
  int ng;
  group_t *gr; /* the pooled group, if any, has label "*" */
};

int hr__plan_per_gpu_key(const group_t *g);
double hr__plan_run_key(const group_t *g, const hr_plan_trace_t *t);
double hr__plan_feat_a(const group_t *g, double active);
void hr__plan_softmax_probs(const group_t *g, double a, double *p);
int hr__plan_cmp_double(const void *x, const void *y);
double hr__plan_q_of_z(const double *qtab, double z);
/* The copula tables of plan_train.c: the quantile table of x[0..n) (sorted
 * in place), and the latent Gaussian ACF whose transform through qtab has the
 * power ACF target (NORTA). */
int hr__plan_build_qtab(double *qtab, double *x, size_t n);
void hr__plan_norta_latent(const double *qtab, const double *target, double *latent);
/* hr_plan_model_generate_dt with a choice of copula generator: copula_ref
 * 1 runs the scalar one of before issue 17's speed work (libm Box-Muller),
 * kept as the baseline of bench_plan_site and the tests' reference; 0 the
 * vectorised one (plan_generate.c).  Same draws up to rounding. */
int hr__plan_model_generate_ex(const hr_plan_model_t *m, hr_plan_method_t method, const char *model,
                               int num_gpus, const double *active, size_t n, double dt_s,
                               uint64_t seed, int copula_ref, double *p_w);
/* The first n normals of the copula generator's stream for seed (the
 * vectorised Box-Muller; tests compare them with libm's). */
void hr__plan_bm_normals(uint64_t seed, double *out, size_t n);

#endif
