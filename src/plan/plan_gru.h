/* plan module: a small GRU classifier from workload features to power state
 * (private).  Parameters are one contiguous array, laid out as
 *   Wi[3H][NIN], Wh[3H][H], bi[3H], bh[3H], Wo[K][H], bo[K]
 * with gate order r, z, n, and the PyTorch cell equations:
 *   r = s(Wi_r x + bi_r + Wh_r h + bh_r),  z = s(Wi_z x + bi_z + Wh_z h + bh_z),
 *   n = tanh(Wi_n x + bi_n + r * (Wh_n h + bh_n)),  h' = (1 - z) n + z h,
 *   logits = Wo h' + bo. */
#ifndef HR_PLAN_GRU_H
#define HR_PLAN_GRU_H

#include <stddef.h>

#include "headroom/plan.h"

#define HR__PLAN_GRU_NIN 2 /* [A_norm, dA_norm] */
#define HR__PLAN_GRU_HMAX 32

size_t hr__plan_gru_nparams(int h, int k);
/* Uniform(-1/sqrt(h), 1/sqrt(h)) initialisation, as PyTorch does. */
void hr__plan_gru_init(double *w, int h, int k, hr_plan_rng_t *r);
/* One step: hstate (h values) is updated in place; logits (k) written. */
void hr__plan_gru_step(const double *w, int h, int k, const double *x, double *hstate,
                       double *logits);
/* Cross-entropy summed over a sequence x[T][NIN], labels y[T] (0..k-1),
 * from a zero state; adds d(loss)/dw into grad.  scratch holds 6 h T
 * doubles.  Returns the summed loss. */
double hr__plan_gru_loss_grad(const double *w, int h, int k, const double *x, const int *y, int T,
                              double *grad, double *scratch);

/* The same from a start state h0 (NULL: zero), writing the final state to
 * h_end (may be NULL, may equal h0); no gradient flows into h0 (truncated
 * BPTT). */
double hr__plan_gru_loss_grad_from(const double *w, int h, int k, const double *x, const int *y,
                                   int T, const double *h0, double *h_end, double *grad,
                                   double *scratch);

/* One training sequence: n steps of features and labels (borrowed). */
typedef struct hr__plan_gru_seq {
  const double *x; /* n x NIN */
  const int *y;
  size_t n;
} hr__plan_gru_seq_t;

/* Stateful truncated BPTT: per sequence and epoch, windows_per_seq
 * consecutive windows of `window` steps from a random start (seeded), the
 * state carried across windows after a forward burn-in; Adam (lr), gradient
 * norm clipped to 1.  w must be initialised.  HR_ERR_NOMEM,
 * HR_ERR_INVALID_ARG. */
int hr__plan_gru_train(double *w, int h, int k, const hr__plan_gru_seq_t *seq, size_t nseq,
                       int epochs, int window, int windows_per_seq, double lr, uint64_t seed);

/* ------------------------------------------------- bidirectional GRU
 * The paper's network (archive/gmm_bigru_v1 of grantwilkins/powertrace-sim):
 * nn.GRU(2, H, bidirectional=True) + Linear(2H, K).  Parameters, one array:
 *   forward direction  Wi[3H][NIN], Wh[3H][H], bi[3H], bh[3H]
 *   backward direction the same
 *   Wo[K][2H] (columns: forward h, then backward h), bo[K]
 * The forward direction reads x[0..T), the backward one x[T-1..0]; the
 * logits of step t use the forward state after x[t] and the backward state
 * after x[t] (PyTorch's output concatenation). */
#define HR__PLAN_BIGRU_HMAX 64

size_t hr__plan_bigru_nparams(int h, int k);
/* Uniform(-1/sqrt(h), 1/sqrt(h)), as PyTorch initialises GRU and Linear
 * (Linear's bound is 1/sqrt(2h); the GRU bound is used for all). */
void hr__plan_bigru_init(double *w, int h, int k, hr_plan_rng_t *r);
/* Logits of every step of x[T][NIN] into logits[T][k] (caller-owned).
 * Under a constant input a direction's state converges; once a step moves
 * it by less than 1e-7 its contribution is reused until the input changes
 * (as the unidirectional generator does), so long constant stretches cost
 * little. */
void hr__plan_bigru_logits(const double *w, int h, int k, const double *x, size_t T,
                           double *logits);
/* Cross-entropy summed over x[T][NIN], labels y[T] (0..k-1), adding
 * d(loss)/dw into grad; scratch holds 12 h T doubles.  Full BPTT over the
 * sequence in both directions.  Returns the summed loss. */
double hr__plan_bigru_loss_grad(const double *w, int h, int k, const double *x, const int *y, int T,
                                double *grad, double *scratch);

/* The training recipe (docs/plan.md, "The paper's BiGRU"). */
typedef struct hr__plan_bigru_recipe {
  int epochs;      /* at most this many epochs (paper: 500) */
  int window;      /* sequence length per update [steps] (paper: whole runs) */
  int patience;    /* early stop after this many epochs without a better
                    * validation loss; the best weights are kept */
  double lr;       /* Adam learning rate (paper: 1e-4) */
  double clip;     /* gradient-norm clip (paper: 1.0) */
  double val_frac; /* tail of each run held for validation (paper: 20 % split) */
} hr__plan_bigru_recipe_t;

/* What a training did. */
typedef struct hr__plan_bigru_log {
  int epochs_run, best_epoch;
  double best_val_loss; /* mean cross-entropy per step on the validation tails */
  long updates;
} hr__plan_bigru_log_t;

/* Trains w (initialised) on the sequences: per epoch, one window of
 * rc->window steps from a random start in the training part (first
 * 1 - val_frac) of every run, in shuffled order, one Adam update per window
 * (batch 1), gradient norm clipped; after each epoch the mean cross-entropy
 * on the validation tails (up to 4 windows per run) decides early stopping.
 * log may be NULL.  HR_ERR_INVALID_ARG, HR_ERR_NOMEM. */
int hr__plan_bigru_train(double *w, int h, int k, const hr__plan_gru_seq_t *seq, size_t nseq,
                         const hr__plan_bigru_recipe_t *rc, uint64_t seed,
                         hr__plan_bigru_log_t *log);

#endif
