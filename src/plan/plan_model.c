/* plan module: power models (baselines and compositional), training,
 * generation, and the versioned model file.
 *
 * All power is modelled per GPU and scaled by the GPU count of the replica
 * generated, so a model trained on 1-, 4- and 8-GPU replicas can be pooled
 * for a label it has not seen. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan/plan_gmm.h"
#include "plan/plan_gru.h"
#include "plan/plan_int.h"

#define NBMAX 32   /* training batch sizes per group */
#define LUTMAX 64
#define NFEAT 3    /* classifier features: 1, a, a^2 */
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
  double clf[HR__PLAN_KMAX][NFEAT];
  int gru_h; /* 0: the softmax classifier clf drives the paper method */
  double gru_w[3 * HR__PLAN_GRU_HMAX * (HR__PLAN_GRU_NIN + HR__PLAN_GRU_HMAX + 2) +
               HR__PLAN_KMAX * (HR__PLAN_GRU_HMAX + 1)];
  int nb;
  double batch[NBMAX];
  double occ[NBMAX][HR__PLAN_KMAX];
  double trans[NBMAX][HR__PLAN_KMAX * HR__PLAN_KMAX];
  double acfz[NBMAX][ZLAGS]; /* ACF of the runs' normal scores, lags 1..ZLAGS */
  double qtab[NBMAX][NQ];    /* per-GPU power [W] at u = i / (NQ - 1) of the batch's mixture */
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

static const char *const method_names[HR_PLAN_METHOD_COUNT_] = {"tdp",   "mean",   "lut",
                                                                "paper", "markov", "copula"};

const char *hr_plan_method_name(int method)
{
  return method >= 0 && method < HR_PLAN_METHOD_COUNT_ ? method_names[method] : "?";
}

void hr_plan_train_cfg_default(hr_plan_train_cfg_t *cfg)
{
  memset(cfg, 0, sizeof *cfg);
  cfg->tdp_w_per_gpu = 700.0;
  cfg->idle_w_per_gpu = 90.0;
  cfg->k_min = 2;
  cfg->k_max = 10;
  cfg->gmm_max_points = 4000;
  cfg->em_iters = 60;
  cfg->clf_epochs = 1500;
  cfg->gru_hidden = 16;
  cfg->gru_epochs = 12;
  cfg->gru_window = 64;
  cfg->gru_windows = 8;
  cfg->lut_csv = NULL;
  cfg->seed = 1;
  cfg->pooled = 1;
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
static int per_gpu_key(const group_t *g)
{
  return strcmp(g->label, "*/gpu") == 0;
}

static double run_key(const group_t *g, const hr_plan_trace_t *t)
{
  return per_gpu_key(g) ? (double)t->max_num_seqs / t->num_gpus : (double)t->max_num_seqs;
}

static double feat_a(const group_t *g, double active)
{
  return (log2(1.0 + fmax(active, 0.0)) - g->a_mu) / g->a_sd;
}

static void softmax_probs(const group_t *g, double a, double *p)
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

static int cmp_double(const void *x, const void *y)
{
  double a = *(const double *)x, b = *(const double *)y;
  return (a > b) - (a < b);
}

/* Quantile table of the per-GPU power of the runs x[0..n) of one batch
 * size: the configuration's empirical marginal, linear interpolation
 * between order statistics (NumPy's default). */
static int build_qtab(double *qtab, double *x, size_t n)
{
  qsort(x, n, sizeof *x, cmp_double);
  for (int q = 0; q < NQ; q++)
    qtab[q] = hr_plan_quantile_sorted(x, n, (double)q / (NQ - 1));
  return HR_OK;
}

/* g(z) = Q(Phi(z)): the latent Gaussian mapped to power through a quantile
 * table. */
static double q_of_z(const double *qtab, double z)
{
  double pos = 0.5 * erfc(-z / M_SQRT2) * (NQ - 1);
  int qi = (int)pos;
  if (qi >= NQ - 1)
    return qtab[NQ - 1];
  return qtab[qi] + (pos - qi) * (qtab[qi + 1] - qtab[qi]);
}

/* Turns a target power autocorrelation into the latent Gaussian one that
 * gives it after the marginal transform (NORTA: a skewed marginal weakens
 * correlation, so the latent process must be more correlated).  The map
 * rho_z -> rho_x is computed by quadrature on a grid and inverted by linear
 * interpolation; it is monotone. */
static void norta_latent(const double *qtab, const double *target, double *latent)
{
  enum { NG = 61, NR = 40 };
  double z[NG], wz[NG], g[NG], sw = 0.0, mu = 0.0, m2 = 0.0;
  for (int i = 0; i < NG; i++) {
    z[i] = -6.0 + 12.0 * i / (NG - 1);
    wz[i] = exp(-0.5 * z[i] * z[i]);
    sw += wz[i];
  }
  for (int i = 0; i < NG; i++) {
    wz[i] /= sw;
    g[i] = q_of_z(qtab, z[i]);
    mu += wz[i] * g[i];
  }
  for (int i = 0; i < NG; i++)
    m2 += wz[i] * (g[i] - mu) * (g[i] - mu);
  double rz[NR], rx[NR];
  for (int r = 0; r < NR; r++) {
    rz[r] = -0.95 + 1.95 * r / (NR - 1);
    double c = sqrt(fmax(0.0, 1.0 - rz[r] * rz[r])), e = 0.0;
    for (int i = 0; i < NG; i++)
      for (int j = 0; j < NG; j++)
        e += wz[i] * wz[j] * (g[i] - mu) * (q_of_z(qtab, rz[r] * z[i] + c * z[j]) - mu);
    rx[r] = m2 > 0.0 ? e / m2 : rz[r];
  }
  for (int l = 0; l < ZLAGS; l++) {
    double t = target[l];
    if (t <= rx[0]) {
      latent[l] = rz[0];
      continue;
    }
    if (t >= rx[NR - 1]) {
      latent[l] = rz[NR - 1];
      continue;
    }
    int r = 0;
    while (r + 2 < NR && rx[r + 1] < t)
      r++;
    double d = rx[r + 1] - rx[r];
    latent[l] = d > 0.0 ? rz[r] + (rz[r + 1] - rz[r]) * (t - rx[r]) / d : rz[r];
  }
}

/* ------------------------------------------------------------ training */

/* Fits the softmax classifier from features to state by Adam on the
 * cross-entropy, each training run weighted equally.  The fixed-batch runs
 * have one feature value per run, so the target of a run is its state
 * occupancy. */
static void train_classifier(group_t *g, const double *a, int epochs)
{
  int k = g->g.k;
  double mo[HR__PLAN_KMAX][NFEAT] = {{0}}, ve[HR__PLAN_KMAX][NFEAT] = {{0}};
  memset(g->clf, 0, sizeof g->clf);
  const double lr = 0.05, b1 = 0.9, b2 = 0.999;
  for (int ep = 1; ep <= epochs; ep++) {
    double grad[HR__PLAN_KMAX][NFEAT] = {{0}};
    for (int b = 0; b < g->nb; b++) {
      double p[HR__PLAN_KMAX], x[NFEAT] = {1.0, a[b], a[b] * a[b]};
      softmax_probs(g, a[b], p);
      for (int j = 0; j < k; j++)
        for (int f = 0; f < NFEAT; f++)
          grad[j][f] += (p[j] - g->occ[b][j]) * x[f] / g->nb;
    }
    for (int j = 0; j < k; j++)
      for (int f = 0; f < NFEAT; f++) {
        mo[j][f] = b1 * mo[j][f] + (1 - b1) * grad[j][f];
        ve[j][f] = b2 * ve[j][f] + (1 - b2) * grad[j][f] * grad[j][f];
        double mh = mo[j][f] / (1 - pow(b1, ep)), vh = ve[j][f] / (1 - pow(b2, ep));
        g->clf[j][f] -= lr * mh / (sqrt(vh) + 1e-8);
      }
  }
}

/* Trains the group's GRU on every run's (features, GMM label) sequence.  A
 * fixed-batch run has A(t) = max_num_seqs throughout, so its features are
 * [A_norm, 0]; the GRU still sees the label dynamics of each run. */
static int train_gru(group_t *g, const hr_plan_traceset_t *set, const size_t *idx, size_t nt,
                     const hr_plan_train_cfg_t *cfg)
{
  hr__plan_gru_seq_t *seq = calloc(nt, sizeof *seq);
  double **xs = calloc(nt, sizeof *xs);
  int **ys = calloc(nt, sizeof *ys);
  int rc = HR_ERR_NOMEM;
  if (!seq || !xs || !ys)
    goto done;
  for (size_t i = 0; i < nt; i++) {
    const hr_plan_trace_t *t = &set->tr[idx[i]];
    xs[i] = malloc(t->n * HR__PLAN_GRU_NIN * sizeof *xs[i]);
    ys[i] = malloc(t->n * sizeof *ys[i]);
    if (!xs[i] || !ys[i])
      goto done;
    double a = feat_a(g, run_key(g, t));
    for (size_t s = 0; s < t->n; s++) {
      xs[i][s * HR__PLAN_GRU_NIN] = a;
      xs[i][s * HR__PLAN_GRU_NIN + 1] = 0.0;
      ys[i][s] = hr__plan_gmm_label(&g->g, t->p_w[s] / t->num_gpus);
    }
    seq[i].x = xs[i];
    seq[i].y = ys[i];
    seq[i].n = t->n;
  }
  hr_plan_rng_t r;
  hr_plan_rng_seed(&r, cfg->seed);
  hr__plan_gru_init(g->gru_w, g->gru_h, g->g.k, &r);
  rc = hr__plan_gru_train(g->gru_w, g->gru_h, g->g.k, seq, nt, cfg->gru_epochs, cfg->gru_window,
                          cfg->gru_windows, 0.01, cfg->seed + 1);
done:
  for (size_t i = 0; xs && ys && i < nt; i++) {
    free(xs[i]);
    free(ys[i]);
  }
  free(xs);
  free(ys);
  free(seq);
  return rc;
}

/* Trains one group on the traces idx[0..nt) (already filtered). */
static int train_group(group_t *g, const hr_plan_traceset_t *set, const size_t *idx, size_t nt,
                       const hr_plan_train_cfg_t *cfg)
{
  size_t total = 0;
  for (size_t i = 0; i < nt; i++)
    total += set->tr[idx[i]].n;
  size_t stride = total / cfg->gmm_max_points + 1;
  size_t ns = 0;
  double *sub = malloc((total / stride + nt + 1) * sizeof *sub);
  if (!sub)
    return HR_ERR_NOMEM;
  double sum = 0.0, lo = INFINITY, hi = -INFINITY;
  size_t pos = 0;
  for (size_t i = 0; i < nt; i++) {
    const hr_plan_trace_t *t = &set->tr[idx[i]];
    for (size_t s = 0; s < t->n; s++, pos++) {
      double p = t->p_w[s] / t->num_gpus;
      sum += p;
      lo = fmin(lo, p);
      hi = fmax(hi, p);
      if (pos % stride == 0)
        sub[ns++] = p;
    }
  }
  g->mean_w = sum / (double)total;
  double pad = 0.05 * (hi - lo);
  g->p_lo = lo - pad;
  g->p_hi = hi + pad;
  int rc = hr__plan_gmm_fit(sub, ns, cfg->k_min, cfg->k_max, cfg->em_iters, &g->g);
  free(sub);
  if (rc != HR_OK)
    return rc;
  int k = g->g.k;
  /* Batches: one entry per distinct max_num_seqs, runs of the same batch
   * merged; sorted ascending for interpolation. */
  g->nb = 0;
  double num[HR__PLAN_KMAX] = {0}, den[HR__PLAN_KMAX] = {0};
  typedef double row_t[HR__PLAN_KMAX * HR__PLAN_KMAX];
  row_t *cnt = calloc(NBMAX, sizeof *cnt);
  if (!cnt)
    return HR_ERR_NOMEM;
  memset(g->occ, 0, sizeof g->occ);
  for (size_t i = 0; i < nt; i++) {
    const hr_plan_trace_t *t = &set->tr[idx[i]];
    int b = 0;
    while (b < g->nb && g->batch[b] != run_key(g, t))
      b++;
    if (b == g->nb) {
      if (g->nb == NBMAX) {
        free(cnt);
        return HR_ERR_RANGE;
      }
      g->batch[g->nb++] = run_key(g, t);
    }
    int prev = -1, run = 0;
    double occ[HR__PLAN_KMAX] = {0};
    /* Per-run AR(1) sums use pairs inside runs of one state of length >= 5,
     * as the paper estimates phi. */
    double rx[4096];
    int nrx = 0;
    for (size_t s = 0; s <= t->n; s++) {
      double p = s < t->n ? t->p_w[s] / t->num_gpus : 0.0;
      int l = s < t->n ? hr__plan_gmm_label(&g->g, p) : -1;
      if (l != prev || nrx == (int)(sizeof rx / sizeof rx[0])) {
        if (prev >= 0 && run >= 5)
          for (int q = 1; q < nrx; q++) {
            num[prev] += (rx[q] - g->g.mu[prev]) * (rx[q - 1] - g->g.mu[prev]);
            den[prev] += (rx[q - 1] - g->g.mu[prev]) * (rx[q - 1] - g->g.mu[prev]);
          }
        run = 0;
        nrx = 0;
      }
      if (l < 0)
        break;
      if (prev >= 0)
        cnt[b][prev * k + l] += 1.0;
      occ[l] += 1.0;
      rx[nrx++] = p;
      run++;
      prev = l;
    }
    for (int j = 0; j < k; j++)
      g->occ[b][j] += occ[j] / (double)t->n;
  }
  /* Sort the batches (insertion sort moving their rows along). */
  for (int a = 1; a < g->nb; a++)
    for (int b = a; b > 0 && g->batch[b] < g->batch[b - 1]; b--) {
      double tb = g->batch[b];
      g->batch[b] = g->batch[b - 1];
      g->batch[b - 1] = tb;
      double to[HR__PLAN_KMAX];
      memcpy(to, g->occ[b], sizeof to);
      memcpy(g->occ[b], g->occ[b - 1], sizeof to);
      memcpy(g->occ[b - 1], to, sizeof to);
      row_t tc;
      memcpy(tc, cnt[b], sizeof tc);
      memcpy(cnt[b], cnt[b - 1], sizeof tc);
      memcpy(cnt[b - 1], tc, sizeof tc);
    }
  for (int b = 0; b < g->nb; b++) {
    double s = 0.0;
    for (int j = 0; j < k; j++)
      s += g->occ[b][j];
    for (int j = 0; j < k; j++)
      g->occ[b][j] /= s;
    for (int j = 0; j < k; j++) {
      double row = 0.0;
      for (int l = 0; l < k; l++)
        row += cnt[b][j * k + l];
      for (int l = 0; l < k; l++)
        /* A state never left in this batch jumps to the batch's occupancy;
         * otherwise a little of the occupancy is mixed in so every row is a
         * proper distribution. */
        g->trans[b][j * k + l] = row > 0.0 ? (cnt[b][j * k + l] + 0.5 * g->occ[b][l]) / (row + 0.5)
                                           : g->occ[b][l];
    }
  }
  free(cnt);
  int nacf[NBMAX] = {0};
  memset(g->acfz, 0, sizeof g->acfz);
  for (size_t i = 0; i < nt; i++) {
    const hr_plan_trace_t *t = &set->tr[idx[i]];
    int b = 0;
    while (b < g->nb && g->batch[b] != run_key(g, t))
      b++;
    double acf[ZLAGS];
    hr_plan_acf(t->p_w, t->n, ZLAGS, acf);
    for (int l = 0; l < ZLAGS; l++)
      g->acfz[b][l] += isnan(acf[l]) ? 0.0 : acf[l];
    nacf[b]++;
  }
  double *pool = malloc(total * sizeof *pool);
  if (!pool)
    return HR_ERR_NOMEM;
  for (int b = 0; b < g->nb; b++) {
    for (int l = 0; l < ZLAGS; l++)
      g->acfz[b][l] /= nacf[b];
    size_t np = 0;
    for (size_t i = 0; i < nt; i++) {
      const hr_plan_trace_t *t = &set->tr[idx[i]];
      if (run_key(g, t) == g->batch[b])
        for (size_t q = 0; q < t->n; q++)
          pool[np++] = t->p_w[q] / t->num_gpus;
    }
    build_qtab(g->qtab[b], pool, np);
    double target[ZLAGS];
    memcpy(target, g->acfz[b], sizeof target);
    norta_latent(g->qtab[b], target, g->acfz[b]);
  }
  free(pool);
  for (int j = 0; j < k; j++)
    g->phi[j] = den[j] > 0.0 ? fmin(0.99, fmax(0.0, num[j] / den[j])) : 0.0;
  /* Feature normalisation over the training runs (one value per batch). */
  double ma = 0.0, va = 0.0, a[NBMAX];
  for (int b = 0; b < g->nb; b++) {
    a[b] = log2(1.0 + g->batch[b]);
    ma += a[b];
  }
  ma /= g->nb;
  for (int b = 0; b < g->nb; b++)
    va += (a[b] - ma) * (a[b] - ma);
  g->a_mu = ma;
  g->a_sd = g->nb > 1 ? sqrt(va / g->nb) : 1.0;
  for (int b = 0; b < g->nb; b++)
    a[b] = (a[b] - g->a_mu) / g->a_sd;
  train_classifier(g, a, cfg->clf_epochs);
  g->gru_h = cfg->gru_hidden;
  if (g->gru_h > 0)
    return train_gru(g, set, idx, nt, cfg);
  return HR_OK;
}


/* The Splitwise LUT: median average-power ratio by batch size over the
 * llama2-70b, a100-80gb, TP8 rows that carry power (0.0 is missing). */
static int load_lut(hr_plan_model_t *m, const char *path, hr_plan_error_t *err)
{
  char *buf;
  size_t len;
  int rc = hr__plan_read_file(path, &buf, &len);
  if (rc != HR_OK) {
    hr__plan_err(err, 0, 0, "%s: cannot read the LUT file", path);
    return rc;
  }
  hr__plan_csv_t c;
  hr__plan_csv_init(&c, buf, len);
  static const char *names[5] = {"model", "hardware", "batch_size", "average_power",
                                 "tensor_parallel"};
  int col[5];
  rc = hr__plan_csv_next(&c);
  for (int k = 0; k < 5; k++) {
    col[k] = rc == 1 ? hr__plan_csv_find(&c, names[k]) : -1;
    if (col[k] < 0) {
      hr__plan_err(err, 1, 0, "%s: missing column '%s'", path, names[k]);
      rc = HR_ERR_PARSE;
      goto done;
    }
  }
  double vals[LUTMAX][64];
  int nv[LUTMAX] = {0};
  m->nlut = 0;
  while ((rc = hr__plan_csv_next(&c)) == 1) {
    int bad = -1;
    for (int k = 0; k < 5; k++)
      if (c.nf <= col[k])
        bad = k;
    double bs = 0, ap = 0, tp = 0;
    if (bad < 0 && hr__plan_parse_double(c.f[col[2]], &bs) != HR_OK)
      bad = 2;
    if (bad < 0 && hr__plan_parse_double(c.f[col[3]], &ap) != HR_OK)
      bad = 3;
    if (bad < 0 && hr__plan_parse_double(c.f[col[4]], &tp) != HR_OK)
      bad = 4;
    if (bad >= 0) {
      hr__plan_err(err, c.line, bad < c.nf ? col[bad] + 1 : 0, "%s: %s: missing or bad value",
                   path, names[bad]);
      rc = HR_ERR_PARSE;
      goto done;
    }
    if (strcmp(c.f[col[0]], "llama2-70b") != 0 || strcmp(c.f[col[1]], "a100-80gb") != 0 ||
        tp != 8.0 || !(ap > 0.0) || !(bs >= 1.0))
      continue;
    int b = 0;
    while (b < m->nlut && m->lut_b[b] != bs)
      b++;
    if (b == m->nlut) {
      if (m->nlut == LUTMAX)
        continue;
      m->lut_b[m->nlut++] = bs;
    }
    if (nv[b] < 64)
      vals[b][nv[b]++] = ap;
  }
  if (rc < 0)
    goto done;
  if (m->nlut == 0) {
    hr__plan_err(err, 0, 0, "%s: no llama2-70b a100-80gb TP8 rows with power", path);
    rc = HR_ERR_PARSE;
    goto done;
  }
  for (int b = 0; b < m->nlut; b++) {
    qsort(vals[b], (size_t)nv[b], sizeof vals[b][0], cmp_double);
    m->lut_r[b] = hr_plan_quantile_sorted(vals[b], (size_t)nv[b], 0.5);
  }
  for (int a = 1; a < m->nlut; a++)
    for (int b = a; b > 0 && m->lut_b[b] < m->lut_b[b - 1]; b--) {
      double t = m->lut_b[b];
      m->lut_b[b] = m->lut_b[b - 1];
      m->lut_b[b - 1] = t;
      t = m->lut_r[b];
      m->lut_r[b] = m->lut_r[b - 1];
      m->lut_r[b - 1] = t;
    }
  rc = HR_OK;
done:
  hr__plan_csv_free(&c);
  free(buf);
  return rc;
}

int hr_plan_model_train(const hr_plan_traceset_t *set, const unsigned char *use,
                        const hr_plan_train_cfg_t *cfg, hr_plan_model_t **out,
                        hr_plan_error_t *err)
{
  if (!set || !cfg || !out || !(cfg->tdp_w_per_gpu > 0.0) || cfg->k_min < 1 ||
      cfg->k_max < cfg->k_min || cfg->k_max > HR__PLAN_KMAX || cfg->gmm_max_points < 100 ||
      cfg->em_iters < 1 || cfg->clf_epochs < 1 || !(cfg->idle_w_per_gpu >= 0.0) ||
      cfg->gru_hidden < 0 || cfg->gru_hidden > HR__PLAN_GRU_HMAX || cfg->gru_epochs < 0 ||
      cfg->gru_window < 1 || cfg->gru_windows < 1)
    return HR_ERR_INVALID_ARG;
  *out = NULL;
  size_t *idx = malloc((set->n + 1) * sizeof *idx);
  hr_plan_model_t *m = calloc(1, sizeof *m);
  if (m)
    m->gr = calloc(set->n + 1, sizeof *m->gr);
  if (!idx || !m || !m->gr) {
    free(idx);
    hr_plan_model_destroy(m);
    return HR_ERR_NOMEM;
  }
  m->tdp_w_per_gpu = cfg->tdp_w_per_gpu;
  m->idle_w_per_gpu = cfg->idle_w_per_gpu;
  m->train_dt_s = 0.0;
  for (size_t i = 0; i < set->n && m->train_dt_s == 0.0; i++)
    if ((!use || use[i]) && set->tr[i].dt_s > 0.0)
      m->train_dt_s = set->tr[i].dt_s;
  if (m->train_dt_s == 0.0)
    m->train_dt_s = 0.1;
  int rc = HR_OK;
  if (cfg->lut_csv && (rc = load_lut(m, cfg->lut_csv, err)) != HR_OK)
    goto fail;
  size_t nall = 0;
  for (size_t i = 0; i < set->n; i++)
    if ((!use || use[i]) && set->tr[i].n >= 2 && set->tr[i].num_gpus >= 1)
      nall++;
  if (nall == 0) {
    rc = HR_ERR_INVALID_ARG;
    hr__plan_err(err, 0, 0, "no training traces selected");
    goto fail;
  }
  /* One group per label, in first-seen order. */
  for (size_t i = 0; i < set->n; i++) {
    if ((use && !use[i]) || set->tr[i].n < 2)
      continue;
    int seen = 0;
    for (int g = 0; g < m->ng && !seen; g++)
      seen = strcmp(m->gr[g].label, set->tr[i].model) == 0;
    if (seen)
      continue;
    size_t nt = 0;
    for (size_t j = i; j < set->n; j++)
      if ((!use || use[j]) && set->tr[j].n >= 2 && strcmp(set->tr[j].model, set->tr[i].model) == 0)
        idx[nt++] = j;
    group_t *g = &m->gr[m->ng++];
    snprintf(g->label, sizeof g->label, "%s", set->tr[i].model);
    if ((rc = train_group(g, set, idx, nt, cfg)) != HR_OK)
      goto fail;
  }
  if (cfg->pooled) {
    size_t nt = 0;
    for (size_t j = 0; j < set->n; j++)
      if ((!use || use[j]) && set->tr[j].n >= 2)
        idx[nt++] = j;
    group_t *g = &m->gr[m->ng++];
    snprintf(g->label, sizeof g->label, "%s", cfg->pooled == 2 ? "*/gpu" : "*");
    if ((rc = train_group(g, set, idx, nt, cfg)) != HR_OK)
      goto fail;
  }
  free(idx);
  *out = m;
  return HR_OK;
fail:
  free(idx);
  hr_plan_model_destroy(m);
  return rc;
}

/* ----------------------------------------------------------- generation */

static const group_t *find_group(const hr_plan_model_t *m, const char *label)
{
  const group_t *pooled = NULL;
  for (int g = 0; g < m->ng; g++) {
    if (label && strcmp(m->gr[g].label, label) == 0)
      return &m->gr[g];
    if (strcmp(m->gr[g].label, "*") == 0 || per_gpu_key(&m->gr[g]))
      pooled = &m->gr[g];
  }
  return pooled;
}

int hr_plan_model_states(const hr_plan_model_t *m, const char *model)
{
  const group_t *g = m ? find_group(m, model) : NULL;
  return g ? g->g.k : 0;
}

/* Position of batch size b among the group's batches: lower index and the
 * weight of the upper neighbour, interpolating in log2 and clamping at the
 * ends. */
static int batch_pos(const double *bs, int nb, double b, double *w)
{
  double lb = log2(fmax(b, 1.0));
  if (nb == 1 || lb <= log2(bs[0])) {
    *w = 0.0;
    return 0;
  }
  if (lb >= log2(bs[nb - 1])) {
    *w = 1.0;
    return nb - 2;
  }
  int j = 0;
  while (j + 2 < nb && lb > log2(bs[j + 1]))
    j++;
  *w = (lb - log2(bs[j])) / (log2(bs[j + 1]) - log2(bs[j]));
  return j;
}

static int draw(hr_plan_rng_t *r, const double *p, int k)
{
  double u = hr_plan_rng_uniform(r), c = 0.0;
  for (int j = 0; j < k - 1; j++) {
    c += p[j];
    if (u < c)
      return j;
  }
  return k - 1;
}

/* Levinson-Durbin: AR coefficients phi[0..p) and innovation variance of a
 * unit-variance process with autocorrelation r[0..p) at lags 1..p.  Stops at
 * the order where the recursion would leave the stationary region, so any
 * input gives a stable filter. */
static int levinson(const double *r, int p, double *phi, double *var)
{
  double a[ZLAGS] = {0}, tmp[ZLAGS];
  double e = 1.0;
  int m = 0;
  for (; m < p; m++) {
    double acc = r[m];
    for (int i = 0; i < m; i++)
      acc -= a[i] * r[m - 1 - i];
    double kap = acc / e;
    if (!(fabs(kap) < 0.999))
      break;
    for (int i = 0; i < m; i++)
      tmp[i] = a[i] - kap * a[m - 1 - i];
    memcpy(a, tmp, (size_t)m * sizeof a[0]);
    a[m] = kap;
    e *= 1.0 - kap * kap;
  }
  memcpy(phi, a, (size_t)p * sizeof a[0]);
  *var = e;
  return m;
}

/* A(t) is a time average over the bin: below one active request the server
 * was idle for part of it, so the bin's power is the time-weighted mix of
 * idle (which the traces lack: idle_w_per_gpu is an input) and busy power.
 * From one request up, the smallest trained batch's level holds. */
static double idle_blend(const hr_plan_model_t *m, double a, double busy)
{
  a = fmax(a, 0.0);
  return m->idle_w_per_gpu + a * (busy - m->idle_w_per_gpu);
}

#define NW 16 /* interpolation weights are rounded to 1/NW for the AR cache */

/* Latent ACF of batch j at lags of dt_s, from the training lags (steps of
 * train_dt_s) by linear interpolation; beyond the trained lags it is 0. */
static void scaled_acf(const group_t *g, int j, double ratio, double *acf)
{
  for (int l = 0; l < ZLAGS; l++) {
    double x = (l + 1) * ratio; /* in training lags */
    if (x <= 1.0)
      acf[l] = 1.0 + (g->acfz[j][0] - 1.0) * x;
    else if (x < ZLAGS) {
      int i = (int)x;
      acf[l] = g->acfz[j][i - 1] + (x - i) * (g->acfz[j][i] - g->acfz[j][i - 1]);
    } else
      acf[l] = x == ZLAGS ? g->acfz[j][ZLAGS - 1] : 0.0;
  }
}

typedef struct ar_set {
  double phi[ZLAGS], sd;
  int order, ready;
} ar_set_t;

static int gen_copula(const hr_plan_model_t *m, const group_t *g, double ng, const double *active,
                      const double *key, size_t n, double dt_s, hr_plan_rng_t *r, double *p_w)
{
  int nb = g->nb;
  ar_set_t *cache = calloc((size_t)nb * (NW + 1), sizeof *cache);
  if (!cache)
    return HR_ERR_NOMEM;
  double ratio = dt_s / m->train_dt_s, zh[ZLAGS] = {0};
  for (size_t t = 0, burn = 256; t < n; burn ? burn-- : t++) {
    double a = active[t], w = 0.0;
    int j = nb > 1 ? batch_pos(g->batch, nb, key[t], &w) : 0;
    int wi = (int)lround(w * NW), j1 = nb > 1 ? j + 1 : j;
    ar_set_t *ar = &cache[j * (NW + 1) + wi];
    if (!ar->ready) {
      /* A convex mix of two valid ACFs is a valid ACF, so the AR filter of
       * an interpolated configuration is stable (Levinson stops otherwise). */
      double x0[ZLAGS], x1[ZLAGS], acf[ZLAGS], var;
      scaled_acf(g, j, ratio, x0);
      scaled_acf(g, j1, ratio, x1);
      for (int l = 0; l < ZLAGS; l++)
        acf[l] = (1.0 - (double)wi / NW) * x0[l] + (double)wi / NW * x1[l];
      ar->order = levinson(acf, ZLAGS, ar->phi, &var);
      ar->sd = sqrt(var);
      ar->ready = 1;
    }
    double z = ar->sd * hr_plan_rng_normal(r);
    for (int i = 0; i < ar->order; i++)
      z += ar->phi[i] * zh[i];
    memmove(zh + 1, zh, (ZLAGS - 1) * sizeof zh[0]);
    zh[0] = z;
    if (burn)
      continue; /* let the filter reach its stationary variance */
    double pos = 0.5 * erfc(-z / M_SQRT2) * (NQ - 1);
    int qi = (int)pos;
    if (qi >= NQ - 1)
      qi = NQ - 2;
    double f = pos - qi;
    double xa = g->qtab[j][qi] + f * (g->qtab[j][qi + 1] - g->qtab[j][qi]);
    double xb = g->qtab[j1][qi] + f * (g->qtab[j1][qi + 1] - g->qtab[j1][qi]);
    /* Quantile (displacement) interpolation between neighbouring batch
     * sizes: a level that moves with the batch moves, rather than splitting
     * into two bumps as a mixture would. */
    double x = (1 - w) * xa + w * xb;
    if (a < 1.0) /* busy part of the bin only; see idle_blend */
      x = idle_blend(m, a, x);
    p_w[t] = ng * x;
  }
  free(cache);
  return HR_OK;
}

int hr_plan_model_generate(const hr_plan_model_t *m, int method, const char *model, int num_gpus,
                           const double *active, size_t n, uint64_t seed, double *p_w)
{
  if (!m)
    return HR_ERR_INVALID_ARG;
  return hr_plan_model_generate_dt(m, method, model, num_gpus, active, n, m->train_dt_s, seed,
                                   p_w);
}

static int gen_states(const hr_plan_model_t *m, const group_t *g, int method, double ng,
                      const double *active, const double *key, size_t n, hr_plan_rng_t *rp,
                      double *p_w);

int hr_plan_model_generate_dt(const hr_plan_model_t *m, int method, const char *model,
                              int num_gpus, const double *active, size_t n, double dt_s,
                              uint64_t seed, double *p_w)
{
  if (!m || !active || !p_w || num_gpus < 1 || method < 0 || method >= HR_PLAN_METHOD_COUNT_ ||
      !(dt_s > 0.0))
    return HR_ERR_INVALID_ARG;
  for (size_t t = 0; t < n; t++)
    if (!(active[t] >= 0.0 && active[t] < 1e12)) /* also rejects NaN */
      return HR_ERR_INVALID_ARG;
  const group_t *g = find_group(m, model);
  if (method != HR_PLAN_TDP && method != HR_PLAN_LUT && !g)
    return HR_ERR_NOT_FOUND;
  hr_plan_rng_t r;
  hr_plan_rng_seed(&r, seed);
  double ng = (double)num_gpus;
  switch (method) {
  case HR_PLAN_TDP:
    for (size_t t = 0; t < n; t++)
      p_w[t] = ng * m->tdp_w_per_gpu;
    return HR_OK;
  case HR_PLAN_MEAN:
    for (size_t t = 0; t < n; t++)
      p_w[t] = ng * g->mean_w;
    return HR_OK;
  case HR_PLAN_LUT:
    if (m->nlut == 0)
      return HR_ERR_UNSUPPORTED;
    for (size_t t = 0; t < n; t++) {
      double w = 0.0;
      int j = m->nlut > 1 ? batch_pos(m->lut_b, m->nlut, active[t], &w) : 0;
      double ratio = m->nlut > 1 ? (1 - w) * m->lut_r[j] + w * m->lut_r[j + 1] : m->lut_r[0];
      p_w[t] = ng * m->tdp_w_per_gpu * ratio;
    }
    return HR_OK;
  default:
    break;
  }
  /* The tables' key: the active count, or the count per GPU for a
   * per-GPU-keyed group (the idle blend still uses the count itself). */
  double *kbuf = NULL;
  const double *key = active;
  if (per_gpu_key(g)) {
    if (!(kbuf = malloc((n ? n : 1) * sizeof *kbuf)))
      return HR_ERR_NOMEM;
    for (size_t t = 0; t < n; t++)
      kbuf[t] = active[t] / ng;
    key = kbuf;
  }
  int rc = method == HR_PLAN_COPULA ? gen_copula(m, g, ng, active, key, n, dt_s, &r, p_w)
                                    : gen_states(m, g, method, ng, active, key, n, &r, p_w);
  free(kbuf);
  return rc;
}

/* The paper and Markov methods: a state per step, then its emission. */
static int gen_states(const hr_plan_model_t *m, const group_t *g, int method, double ng,
                      const double *active, const double *key, size_t n, hr_plan_rng_t *rp,
                      double *p_w)
{
  hr_plan_rng_t r = *rp;
  int k = g->g.k;
  double prev = NAN, hs[HR__PLAN_GRU_HMAX] = {0}, pg[HR__PLAN_KMAX] = {0};
  double a_prev = 0.0, x_prev[HR__PLAN_GRU_NIN] = {0};
  int s = -1, gru_settled = 0;
  for (size_t t = 0; t < n; t++) {
    double p[HR__PLAN_KMAX];
    int use_ar;
    if (method == HR_PLAN_PAPER) {
      /* The classifier saw batch sizes batch[0]..batch[nb-1] only: outside
       * that range its input is clamped (as the other methods clamp), rather
       * than extrapolated. */
      double ac = fmin(fmax(key[t], g->batch[0]), g->batch[g->nb - 1]);
      double a = feat_a(g, ac);
      if (g->gru_h > 0) {
        /* dA_norm: the step of the clamped log2(1 + A); 0 in every training
         * run, so it is not rescaled. */
        double x[HR__PLAN_GRU_NIN] = {a, t ? a - a_prev : 0.0};
        if (!(gru_settled && x[0] == x_prev[0] && x[1] == x_prev[1])) {
          double h0[HR__PLAN_GRU_HMAX], mx = -INFINITY, sum = 0.0, dmax = 0.0;
          memcpy(h0, hs, sizeof h0);
          hr__plan_gru_step(g->gru_w, g->gru_h, k, x, hs, pg);
          for (int l = 0; l < g->gru_h; l++)
            dmax = fmax(dmax, fabs(hs[l] - h0[l]));
          /* Under a constant input the state converges; once it moves by
           * less than 1e-7 (probabilities then move by about as little) the
           * output is reused until the input changes. */
          gru_settled = dmax < 1e-7;
          for (int l = 0; l < k; l++)
            mx = fmax(mx, pg[l]);
          for (int l = 0; l < k; l++)
            sum += (pg[l] = exp(pg[l] - mx));
          for (int l = 0; l < k; l++)
            pg[l] /= sum;
          x_prev[0] = x[0];
          x_prev[1] = x[1];
        }
        memcpy(p, pg, (size_t)k * sizeof p[0]);
      } else {
        softmax_probs(g, a, p);
      }
      a_prev = a;
      s = draw(&r, p, k);
      use_ar = g->phi[s] >= AR_MIN_PHI;
    } else {
      double w = 0.0;
      int j = g->nb > 1 ? batch_pos(g->batch, g->nb, key[t], &w) : 0;
      if (g->nb == 1)
        w = 0.0;
      const double *lo = s < 0 ? g->occ[j] : &g->trans[j][s * k];
      const double *hi = g->nb > 1 ? (s < 0 ? g->occ[j + 1] : &g->trans[j + 1][s * k]) : lo;
      for (int l = 0; l < k; l++)
        p[l] = (1 - w) * lo[l] + w * hi[l];
      s = draw(&r, p, k);
      use_ar = 0; /* the chain carries the memory (measured: AR on top overshoots it) */
    }
    double mu = g->g.mu[s], sd = g->g.sd[s], phi = g->phi[s], x;
    double z = hr_plan_rng_normal(&r);
    if (use_ar && !isnan(prev))
      x = mu + phi * (prev - mu) + sd * sqrt(1.0 - phi * phi) * z;
    else
      x = mu + sd * z;
    x = fmin(g->p_hi, fmax(g->p_lo, x));
    prev = x;
    if (active[t] < 1.0)
      x = idle_blend(m, active[t], x);
    p_w[t] = ng * x;
  }
  return HR_OK;
}

/* ------------------------------------------------------------ model file */

#define MAGIC "headroom-plan-model"

typedef struct sbuf {
  char *p;
  size_t n, cap;
  int oom;
} sbuf_t;

static void sb_printf(sbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(sbuf_t *b, const char *fmt, ...)
{
  if (b->oom)
    return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    if (k < 0) {
      b->oom = 1;
      return;
    }
    if ((size_t)k < b->cap - b->n) {
      b->n += (size_t)k;
      return;
    }
    size_t nc = (b->cap + (size_t)k + 1) * 2;
    char *q = realloc(b->p, nc);
    if (!q) {
      b->oom = 1;
      return;
    }
    b->p = q;
    b->cap = nc;
  }
}

int hr_plan_model_save(const hr_plan_model_t *m, const char *path)
{
  if (!m || !path)
    return HR_ERR_INVALID_ARG;
  sbuf_t b = {malloc(4096), 0, 4096, 0};
  if (!b.p)
    return HR_ERR_NOMEM;
  b.p[0] = '\0';
  sb_printf(&b, "%s %d\n", MAGIC, HR_PLAN_MODEL_VERSION);
  sb_printf(&b, "tdp_w_per_gpu %.17g\nidle_w_per_gpu %.17g train_dt_s %.17g\nlut %d\n",
            m->tdp_w_per_gpu, m->idle_w_per_gpu, m->train_dt_s, m->nlut);
  for (int i = 0; i < m->nlut; i++)
    sb_printf(&b, "%.17g %.17g\n", m->lut_b[i], m->lut_r[i]);
  sb_printf(&b, "groups %d\n", m->ng);
  for (int gi = 0; gi < m->ng; gi++) {
    const group_t *g = &m->gr[gi];
    int k = g->g.k;
    sb_printf(&b, "group %s\nstates %d\n", g->label, k);
    for (int j = 0; j < k; j++)
      sb_printf(&b, "%.17g %.17g %.17g %.17g\n", g->g.w[j], g->g.mu[j], g->g.sd[j], g->phi[j]);
    sb_printf(&b, "%.17g %.17g %.17g %.17g %.17g %.17g\n", g->g.bic, g->p_lo, g->p_hi, g->mean_w,
              g->a_mu, g->a_sd);
    for (int j = 0; j < k; j++)
      sb_printf(&b, "%.17g %.17g %.17g\n", g->clf[j][0], g->clf[j][1], g->clf[j][2]);
    sb_printf(&b, "gru %d\n", g->gru_h);
    if (g->gru_h > 0) {
      size_t np = hr__plan_gru_nparams(g->gru_h, k);
      for (size_t i = 0; i < np; i++)
        sb_printf(&b, i ? " %.17g" : "%.17g", g->gru_w[i]);
      sb_printf(&b, "\n");
    }
    sb_printf(&b, "batches %d\n", g->nb);
    for (int i = 0; i < g->nb; i++) {
      sb_printf(&b, "%.17g", g->batch[i]);
      for (int j = 0; j < k; j++)
        sb_printf(&b, " %.17g", g->occ[i][j]);
      for (int j = 0; j < k * k; j++)
        sb_printf(&b, " %.17g", g->trans[i][j]);
      for (int j = 0; j < ZLAGS; j++)
        sb_printf(&b, " %.17g", g->acfz[i][j]);
      for (int j = 0; j < NQ; j++)
        sb_printf(&b, " %.17g", g->qtab[i][j]);
      sb_printf(&b, "\n");
    }
  }
  if (!b.oom)
    sb_printf(&b, "crc32 %08x\n", (unsigned)hr__plan_crc32(b.p, b.n));
  if (b.oom) {
    free(b.p);
    return HR_ERR_NOMEM;
  }
  FILE *f = fopen(path, "wb");
  int rc = HR_OK;
  if (!f || fwrite(b.p, 1, b.n, f) != b.n)
    rc = HR_ERR_IO;
  if (f && fclose(f) != 0)
    rc = HR_ERR_IO;
  free(b.p);
  return rc;
}

/* A cursor over the model text: whole lines, numbers parsed strictly. */
typedef struct mcur {
  const char *p, *end;
  long line;
  char buf[1 << 17];
} mcur_t;

static int next_line(mcur_t *c)
{
  if (c->p >= c->end)
    return 0;
  const char *nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
  size_t n = nl ? (size_t)(nl - c->p) : (size_t)(c->end - c->p);
  if (n >= sizeof c->buf)
    return 0;
  memcpy(c->buf, c->p, n);
  c->buf[n] = '\0';
  c->p += n + (nl ? 1 : 0);
  c->line++;
  return 1;
}

/* No number a trained model holds (watts, weights, probabilities, BIC) comes
 * near this; a larger one is a damaged or hand-made file, and would make
 * generated power overflow to infinity. */
#define MODEL_MAX_ABS 1e12
/* Per-GPU power [W] and the training step [s] a model file may state. */
#define MODEL_MAX_GPU_W 1e5
#define MODEL_MAX_DT_S 3600.0

/* Parses exactly cnt numbers from the current line. */
static int nums(mcur_t *c, double *v, int cnt)
{
  if (!next_line(c))
    return 0;
  char *s = c->buf;
  for (int i = 0; i < cnt; i++) {
    char *e;
    v[i] = strtod(s, &e);
    if (e == s || !(fabs(v[i]) <= MODEL_MAX_ABS)) /* also refuses inf and NaN */
      return 0;
    s = e;
  }
  while (*s == ' ')
    s++;
  return *s == '\0';
}

static int keyed_int(mcur_t *c, const char *key, int lo, int hi, int *v)
{
  if (!next_line(c))
    return 0;
  size_t kl = strlen(key);
  if (strncmp(c->buf, key, kl) != 0 || c->buf[kl] != ' ')
    return 0;
  char *e;
  long x = strtol(c->buf + kl + 1, &e, 10);
  if (*e != '\0' || x < lo || x > hi)
    return 0;
  *v = (int)x;
  return 1;
}

int hr_plan_model_parse(const char *buf, size_t len, hr_plan_model_t **out, hr_plan_error_t *err)
{
  if (!buf || !out)
    return HR_ERR_INVALID_ARG;
  *out = NULL;
  mcur_t *c = malloc(sizeof *c);
  if (!c)
    return HR_ERR_NOMEM;
  c->p = buf;
  c->end = buf + len;
  c->line = 0;
  int version;
  if (!keyed_int(c, MAGIC, 0, 1 << 30, &version)) {
    hr__plan_err(err, 1, 0, "not a headroom plan model file");
    free(c);
    return HR_ERR_PARSE;
  }
  if (version != HR_PLAN_MODEL_VERSION) {
    hr__plan_err(err, 1, 0, "model file version %d; this build reads version %d (retrain or "
                            "use a matching headroom)",
                 version, HR_PLAN_MODEL_VERSION);
    free(c);
    return HR_ERR_UNSUPPORTED;
  }
  /* The checksum line is the last one and covers every byte before it. */
  size_t body = len;
  while (body > 0 && (buf[body - 1] == '\n' || buf[body - 1] == '\r'))
    body--;
  while (body > 0 && buf[body - 1] != '\n')
    body--;
  unsigned want;
  char tail[32] = {0};
  size_t tl = len - body < sizeof tail - 1 ? len - body : sizeof tail - 1;
  memcpy(tail, buf + body, tl);
  if (sscanf(tail, "crc32 %8x", &want) != 1 || hr__plan_crc32(buf, body) != want) {
    hr__plan_err(err, 0, 0, "model file is corrupted (checksum mismatch or missing)");
    free(c);
    return HR_ERR_PARSE;
  }
  c->end = buf + body;
  hr_plan_model_t *m = calloc(1, sizeof *m);
  int rc = HR_ERR_PARSE;
  double v[8];
  if (!m)
    goto oom;
  if (!next_line(c) || sscanf(c->buf, "tdp_w_per_gpu %lf", &m->tdp_w_per_gpu) != 1)
    goto bad;
  /* The checksum only proves the file is what was written; the values are
   * checked like any input (an infinite TDP would print inf samples). */
  if (!(m->tdp_w_per_gpu > 0 && m->tdp_w_per_gpu <= MODEL_MAX_GPU_W)) {
    hr__plan_err(err, c->line, 0, "tdp_w_per_gpu %g: outside (0, %g] W", m->tdp_w_per_gpu,
                 MODEL_MAX_GPU_W);
    goto bad_range;
  }
  if (!next_line(c) ||
      sscanf(c->buf, "idle_w_per_gpu %lf train_dt_s %lf", &m->idle_w_per_gpu, &m->train_dt_s) != 2)
    goto bad;
  if (!(m->idle_w_per_gpu >= 0 && m->idle_w_per_gpu <= MODEL_MAX_GPU_W) ||
      !(m->train_dt_s > 0 && m->train_dt_s <= MODEL_MAX_DT_S)) {
    hr__plan_err(err, c->line, 0,
                 "idle_w_per_gpu %g, train_dt_s %g: need 0 <= idle <= %g W and 0 < dt <= %g s",
                 m->idle_w_per_gpu, m->train_dt_s, MODEL_MAX_GPU_W, MODEL_MAX_DT_S);
    goto bad_range;
  }
  if (!keyed_int(c, "lut", 0, LUTMAX, &m->nlut))
    goto bad;
  for (int i = 0; i < m->nlut; i++) {
    if (!nums(c, v, 2) || !(v[0] >= 1.0) || (i > 0 && !(v[0] > m->lut_b[i - 1])))
      goto bad;
    m->lut_b[i] = v[0];
    m->lut_r[i] = v[1];
  }
  if (!keyed_int(c, "groups", 0, 4096, &m->ng))
    goto bad;
  m->gr = calloc((size_t)m->ng + 1, sizeof *m->gr);
  if (!m->gr)
    goto oom;
  for (int gi = 0; gi < m->ng; gi++) {
    group_t *g = &m->gr[gi];
    int k;
    if (!next_line(c) || strncmp(c->buf, "group ", 6) != 0 || strlen(c->buf + 6) >= sizeof g->label ||
        c->buf[6] == '\0')
      goto bad;
    snprintf(g->label, sizeof g->label, "%s", c->buf + 6);
    if (!keyed_int(c, "states", 1, HR__PLAN_KMAX, &k))
      goto bad;
    g->g.k = k;
    for (int j = 0; j < k; j++) {
      if (!nums(c, v, 4) || !(v[0] > 0) || !(v[2] > 0) || !(v[3] >= 0 && v[3] < 1))
        goto bad;
      g->g.w[j] = v[0];
      g->g.mu[j] = v[1];
      g->g.sd[j] = v[2];
      g->phi[j] = v[3];
    }
    if (!nums(c, v, 6) || !(v[2] >= v[1]) || !(v[5] > 0))
      goto bad;
    g->g.bic = v[0];
    g->p_lo = v[1];
    g->p_hi = v[2];
    g->mean_w = v[3];
    g->a_mu = v[4];
    g->a_sd = v[5];
    for (int j = 0; j < k; j++) {
      if (!nums(c, v, 3))
        goto bad;
      memcpy(g->clf[j], v, 3 * sizeof v[0]);
    }
    if (!keyed_int(c, "gru", 0, HR__PLAN_GRU_HMAX, &g->gru_h))
      goto bad;
    if (g->gru_h > 0 && !nums(c, g->gru_w, (int)hr__plan_gru_nparams(g->gru_h, k)))
      goto bad;
    if (!keyed_int(c, "batches", 1, NBMAX, &g->nb))
      goto bad;
    double row[1 + HR__PLAN_KMAX + HR__PLAN_KMAX * HR__PLAN_KMAX + ZLAGS + NQ];
    for (int i = 0; i < g->nb; i++) {
      if (!nums(c, row, 1 + k + k * k + ZLAGS + NQ) || !(row[0] >= 1.0) ||
          (i > 0 && !(row[0] > g->batch[i - 1])))
        goto bad;
      g->batch[i] = row[0];
      for (int j = 0; j < k + k * k; j++)
        if (!(row[1 + j] >= 0.0 && row[1 + j] <= 1.0 + 1e-9))
          goto bad;
      memcpy(g->occ[i], row + 1, (size_t)k * sizeof row[0]);
      memcpy(g->trans[i], row + 1 + k, (size_t)(k * k) * sizeof row[0]);
      const double *az = row + 1 + k + k * k, *qt = az + ZLAGS;
      for (int j = 0; j < ZLAGS; j++)
        if (!(fabs(az[j]) <= 1.0))
          goto bad;
      for (int j = 0; j < NQ; j++)
        if (j > 0 && !(qt[j] >= qt[j - 1]))
          goto bad; /* a quantile table must not decrease */
      memcpy(g->acfz[i], az, ZLAGS * sizeof az[0]);
      memcpy(g->qtab[i], qt, NQ * sizeof qt[0]);
    }
  }
  if (next_line(c))
    goto bad; /* trailing lines before the checksum */
  free(c);
  *out = m;
  return HR_OK;
bad:
  hr__plan_err(err, c->line, 0, "malformed model file (or a number beyond %g)", MODEL_MAX_ABS);
  free(c);
  hr_plan_model_destroy(m);
  return rc;
bad_range:
  free(c);
  hr_plan_model_destroy(m);
  return HR_ERR_RANGE;
oom:
  free(c);
  hr_plan_model_destroy(m);
  return HR_ERR_NOMEM;
}

int hr_plan_model_load(const char *path, hr_plan_model_t **out, hr_plan_error_t *err)
{
  if (!path || !out)
    return HR_ERR_INVALID_ARG;
  char *buf;
  size_t len;
  int rc = hr__plan_read_file(path, &buf, &len);
  if (rc != HR_OK) {
    hr__plan_err(err, 0, 0, "cannot read the model file");
    return rc;
  }
  rc = hr_plan_model_parse(buf, len, out, err);
  free(buf);
  return rc;
}
