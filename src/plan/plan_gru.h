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

#endif
