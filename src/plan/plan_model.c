/* plan module: power models (baselines and compositional), the parts that
 * training, generation and the model file share: method names, the model's
 * lifetime and the feature and table helpers.
 *
 * All power is modelled per GPU and scaled by the GPU count of the replica
 * generated, so a model trained on 1-, 4- and 8-GPU replicas can be pooled
 * for a label it has not seen. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan/plan_model_int.h"

static const char *const method_names[HR_PLAN_METHOD_COUNT_] = {
    "tdp", "mean", "lut", "paper", "markov", "copula", "paper-gru16"};

const char *hr_plan_method_name(hr_plan_method_t method)
{
  return (int)method >= 0 && method < HR_PLAN_METHOD_COUNT_ ? method_names[method] : "?";
}

void hr_plan_model_destroy(hr_plan_model_t *m)
{
  if (!m)
    return;
  free(m->gr);
  free(m);
}

/* The pooled group "*\/gpu" keys every table on the load per GPU,
 * max_num_seqs / num_gpus (sequences each GPU holds under tensor
 * parallelism), so a configuration it has not seen is placed by what each
 * of its GPUs carries; every other group keys on max_num_seqs. */
int hr__plan_per_gpu_key(const group_t *g)
{
  return strcmp(g->label, "*/gpu") == 0;
}

double hr__plan_run_key(const group_t *g, const hr_plan_trace_t *t)
{
  return hr__plan_per_gpu_key(g) ? (double)t->max_num_seqs / t->num_gpus : (double)t->max_num_seqs;
}

double hr__plan_feat_a(const group_t *g, double active)
{
  return (log2(1.0 + fmax(active, 0.0)) - g->a_mu) / g->a_sd;
}

void hr__plan_softmax_probs(const group_t *g, double a, double *p)
{
  double x[NFEAT] = {1.0, a, a * a}, mx = -INFINITY;
  for (int j = 0; j < g->g.k; j++) {
    p[j] = 0.0;
    for (int f = 0; f < NFEAT; f++)
      p[j] += g->clf[j][f] * x[f];
    mx = fmax(mx, p[j]);
  }
  double s = 0.0;
  for (int j = 0; j < g->g.k; j++) {
    p[j] = exp(p[j] - mx);
    s += p[j];
  }
  for (int j = 0; j < g->g.k; j++)
    p[j] /= s;
}

int hr__plan_cmp_double(const void *x, const void *y)
{
  double a = *(const double *)x, b = *(const double *)y;
  return (a > b) - (a < b);
}

/* g(z) = Q(Phi(z)): the latent Gaussian mapped to power through a quantile
 * table. */
double hr__plan_q_of_z(const double *qtab, double z)
{
  double pos = 0.5 * erfc(-z / M_SQRT2) * (NQ - 1);
  int qi = (int)pos;
  if (qi >= NQ - 1)
    return qtab[NQ - 1];
  return qtab[qi] + (pos - qi) * (qtab[qi + 1] - qtab[qi]);
}
