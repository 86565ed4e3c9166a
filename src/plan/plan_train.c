/* plan module: training the power models on a trace set (every method at
 * once), and the Splitwise LUT of the "lut" baseline. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "plan/plan_model_int.h"

int hr_plan_train_cfg_init(hr_plan_train_cfg_t *cfg)
{
  if (!cfg)
    return HR_ERR_INVALID_ARG;
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
  cfg->bigru_hidden = 64;
  cfg->bigru_epochs = 500;
  cfg->bigru_window = 128;
  cfg->bigru_patience = 10;
  cfg->bigru_lr = 1e-4;
  cfg->bigru_val = 0.2;
  cfg->lut_csv = NULL;
  cfg->lut_model = "llama2-70b";
  cfg->lut_hardware = "a100-80gb";
  cfg->lut_tp = 8;
  cfg->seed = 1;
  cfg->pooled = 1;
  return HR_OK;
}

/* Quantile table of the per-GPU power of the runs x[0..n) of one batch
 * size: the configuration's empirical marginal, linear interpolation
 * between order statistics (NumPy's default). */
int hr__plan_build_qtab(double *qtab, double *x, size_t n)
{
  qsort(x, n, sizeof *x, hr__plan_cmp_double);
  for (int q = 0; q < NQ; q++)
    qtab[q] = hr_plan_quantile_sorted(x, n, (double)q / (NQ - 1));
  return HR_OK;
}
/* Turns a target power autocorrelation into the latent Gaussian one that
 * gives it after the marginal transform (NORTA: a skewed marginal weakens
 * correlation, so the latent process must be more correlated).  The map
 * rho_z -> rho_x is computed by quadrature on a grid and inverted by linear
 * interpolation; it is monotone. */
void hr__plan_norta_latent(const double *qtab, const double *target, double *latent)
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
    g[i] = hr__plan_q_of_z(qtab, z[i]);
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
        e += wz[i] * wz[j] * (g[i] - mu) * (hr__plan_q_of_z(qtab, rz[r] * z[i] + c * z[j]) - mu);
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
      hr__plan_softmax_probs(g, a[b], p);
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

/* Trains the group's networks (the 16-unit GRU of paper-gru16, the BiGRU
 * of paper) on every run's (features, GMM label) sequence.  A fixed-batch
 * run has A(t) = max_num_seqs throughout, so its features are [A_norm, 0];
 * the networks still see the label dynamics of each run. */
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
    double a = hr__plan_feat_a(g, hr__plan_run_key(g, t));
    for (size_t s = 0; s < t->n; s++) {
      if (t->active) { /* request-driven: the input moves */
        double per = hr__plan_per_gpu_key(g) ? 1.0 / t->num_gpus : 1.0;
        a = hr__plan_feat_a(g, t->active[s] * per);
      }
      xs[i][s * HR__PLAN_GRU_NIN] = a;
      xs[i][s * HR__PLAN_GRU_NIN + 1] = s ? a - xs[i][(s - 1) * HR__PLAN_GRU_NIN] : 0.0;
      ys[i][s] = hr__plan_gmm_label(&g->g, t->p_w[s] / t->num_gpus);
    }
    seq[i].x = xs[i];
    seq[i].y = ys[i];
    seq[i].n = t->n;
  }
  hr_plan_rng_t r;
  hr_plan_rng_seed(&r, cfg->seed);
  rc = HR_OK;
  if (g->gru_h > 0) {
    hr__plan_gru_init(g->gru_w, g->gru_h, g->g.k, &r);
    rc = hr__plan_gru_train(g->gru_w, g->gru_h, g->g.k, seq, nt, cfg->gru_epochs, cfg->gru_window,
                            cfg->gru_windows, 0.01, cfg->seed + 1);
  }
  if (rc == HR_OK && g->bigru_h > 0) {
    /* The paper's recipe: Adam at 1e-4, cross-entropy, gradient norm
     * clipped at 1, batch 1, 20 % held for validation, up to 500 epochs
     * (here with early stopping and windows instead of whole runs). */
    hr__plan_bigru_recipe_t rec = {
        cfg->bigru_epochs, cfg->bigru_window, cfg->bigru_patience, cfg->bigru_lr, 1.0,
        cfg->bigru_val};
    hr__plan_bigru_init(g->bigru_w, g->bigru_h, g->g.k, &r);
    hr__plan_bigru_log_t lg;
    rc = hr__plan_bigru_train(g->bigru_w, g->bigru_h, g->g.k, seq, nt, &rec, cfg->seed + 2, &lg);
  }
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
    while (b < g->nb && g->batch[b] != hr__plan_run_key(g, t))
      b++;
    if (b == g->nb) {
      if (g->nb == NBMAX) {
        free(cnt);
        return HR_ERR_RANGE;
      }
      g->batch[g->nb++] = hr__plan_run_key(g, t);
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
        g->trans[b][j * k + l] =
            row > 0.0 ? (cnt[b][j * k + l] + 0.5 * g->occ[b][l]) / (row + 0.5) : g->occ[b][l];
    }
  }
  free(cnt);
  int nacf[NBMAX] = {0};
  memset(g->acfz, 0, sizeof g->acfz);
  for (size_t i = 0; i < nt; i++) {
    const hr_plan_trace_t *t = &set->tr[idx[i]];
    int b = 0;
    while (b < g->nb && g->batch[b] != hr__plan_run_key(g, t))
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
      if (hr__plan_run_key(g, t) == g->batch[b])
        for (size_t q = 0; q < t->n; q++)
          pool[np++] = t->p_w[q] / t->num_gpus;
    }
    hr__plan_build_qtab(g->qtab[b], pool, np);
    double target[ZLAGS];
    memcpy(target, g->acfz[b], sizeof target);
    hr__plan_norta_latent(g->qtab[b], target, g->acfz[b]);
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
  g->a_lo = g->a_hi = 0.0;
  /* Request-driven runs: normalise over every step's log2(1 + A) instead,
   * and clamp the networks' input to the A seen (the paper z-scores A per
   * configuration). */
  double sa = 0.0, saa = 0.0, na = 0.0, alo = INFINITY, ahi = 0.0;
  for (size_t i = 0; i < nt; i++) {
    const hr_plan_trace_t *t = &set->tr[idx[i]];
    for (size_t s = 0; t->active && s < t->n; s++) {
      double av = hr__plan_per_gpu_key(g) ? t->active[s] / t->num_gpus : t->active[s];
      double l = log2(1.0 + av);
      sa += l;
      saa += l * l;
      na += 1.0;
      alo = fmin(alo, av);
      ahi = fmax(ahi, av);
    }
  }
  if (na > 0.0 && ahi > 0.0) {
    g->a_mu = sa / na;
    double var = saa / na - g->a_mu * g->a_mu;
    g->a_sd = var > 1e-12 ? sqrt(var) : 1.0;
    g->a_lo = alo;
    g->a_hi = ahi;
  }
  for (int b = 0; b < g->nb; b++)
    a[b] = (a[b] - g->a_mu) / g->a_sd;
  train_classifier(g, a, cfg->clf_epochs);
  g->gru_h = cfg->gru_hidden;
  g->bigru_h = cfg->bigru_hidden;
  if (g->gru_h > 0 || g->bigru_h > 0)
    return train_gru(g, set, idx, nt, cfg);
  return HR_OK;
}

/* The Splitwise LUT: median average-power ratio by batch size over the rows
 * of the configured model, hardware and tensor parallelism (by default
 * llama2-70b, a100-80gb, TP8) that carry power (0.0 is missing). */
static int load_lut(hr_plan_model_t *m, const hr_plan_train_cfg_t *cfg, hr_diag_t *err)
{
  char *buf;
  size_t len;
  const char *path = cfg->lut_csv;
  int rc = hr__plan_read_file(path, &buf, &len);
  if (rc != HR_OK) {
    hr__plan_err(err, 0, 0, "%s: cannot read the LUT file", path);
    return rc;
  }
  hr__plan_csv_t c;
  hr__plan_csv_init(&c, buf, len, path, err);
  static const char *names[5] = {"model", "hardware", "batch_size", "average_power",
                                 "tensor_parallel"};
  int col[5];
  rc = hr__plan_csv_next(&c);
  /* An allocation failure on the header line is HR_ERR_NOMEM, not a
   * missing column; the cursor described it. */
  if (rc < 0)
    goto done;
  if ((rc = hr__plan_csv_columns(&c, rc, names, 5, col, path)) != HR_OK)
    goto done;
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
      hr__plan_err(err, c.line, bad < c.nf ? col[bad] + 1 : 0, "%s: %s: missing or bad value", path,
                   names[bad]);
      rc = HR_ERR_PARSE;
      goto done;
    }
    /* Refused here, where the numbers are read and can be located: a huge
     * ratio made infinite LUT power, and numbers the model file refuses. */
    if (!(bs >= 0.0 && bs <= HR__PLAN_LUT_MAX_BATCH)) {
      rc = hr__diag_fail(err, HR_ERR_RANGE, c.line, col[2] + 1, names[2],
                         "%s: batch_size %g: outside [0, %g]", path, bs, HR__PLAN_LUT_MAX_BATCH);
      goto done;
    }
    if (!(ap >= 0.0 && ap <= HR__PLAN_LUT_MAX_RATIO)) {
      rc = hr__diag_fail(err, HR_ERR_RANGE, c.line, col[3] + 1, names[3],
                         "%s: average_power %g: outside [0, %g] (a ratio of TDP; 0: not "
                         "measured)",
                         path, ap, HR__PLAN_LUT_MAX_RATIO);
      goto done;
    }
    if (strcmp(c.f[col[0]], cfg->lut_model) != 0 || strcmp(c.f[col[1]], cfg->lut_hardware) != 0 ||
        tp != (double)cfg->lut_tp || !(ap > 0.0) || !(bs >= 1.0))
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
    hr__plan_err(err, 0, 0, "%s: no %s %s TP%d rows with power", path, cfg->lut_model,
                 cfg->lut_hardware, cfg->lut_tp);
    rc = HR_ERR_PARSE;
    goto done;
  }
  for (int b = 0; b < m->nlut; b++) {
    qsort(vals[b], (size_t)nv[b], sizeof vals[b][0], hr__plan_cmp_double);
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

static int model_train_body(const hr_plan_traceset_t *set, const unsigned char *use,
                            const hr_plan_train_cfg_t *cfg, hr_plan_model_t **out, hr_diag_t *err)
{
  if (!set || !cfg || !out || !(cfg->tdp_w_per_gpu > 0.0) ||
      !(cfg->tdp_w_per_gpu <= HR__PLAN_MAX_GPU_W) || !(cfg->idle_w_per_gpu <= HR__PLAN_MAX_GPU_W) ||
      cfg->k_min < 1 || cfg->k_max < cfg->k_min || cfg->k_max > HR__PLAN_KMAX ||
      cfg->gmm_max_points < 100 || cfg->em_iters < 1 || cfg->clf_epochs < 1 ||
      !(cfg->idle_w_per_gpu >= 0.0) || cfg->gru_hidden < 0 || cfg->gru_hidden > HR__PLAN_GRU_HMAX ||
      cfg->gru_epochs < 0 || cfg->gru_window < 1 || cfg->gru_windows < 1 || cfg->bigru_hidden < 0 ||
      cfg->bigru_hidden > HR__PLAN_BIGRU_HMAX || cfg->bigru_epochs < 0 || cfg->bigru_window < 2 ||
      cfg->bigru_patience < 1 || !(cfg->bigru_lr > 0.0) || !(cfg->bigru_lr <= 1.0) ||
      !(cfg->bigru_val >= 0.0 && cfg->bigru_val <= 0.9) ||
      (cfg->lut_csv && (!cfg->lut_model || !cfg->lut_hardware || cfg->lut_tp < 1)))
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
  if (cfg->lut_csv && (rc = load_lut(m, cfg, err)) != HR_OK)
    goto fail;
  size_t nall = 0;
  for (size_t i = 0; i < set->n; i++)
    if ((!use || use[i]) && set->tr[i].n >= 2 && set->tr[i].num_gpus >= 1)
      nall++;
  for (size_t i = 0; i < set->n; i++)
    for (size_t s = 0; (!use || use[i]) && set->tr[i].active && s < set->tr[i].n; s++)
      if (!(set->tr[i].active[s] >= 0.0 && set->tr[i].active[s] < 1e12)) {
        rc = HR_ERR_INVALID_ARG;
        hr__plan_err(err, 0, 0, "run %zu (%s): active[%zu] is not a count >= 0", i,
                     set->tr[i].model, s);
        goto fail;
      }
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

/* Clears *err on entry and records the returned code in it (error.h). */
int hr_plan_model_train(const hr_plan_traceset_t *set, const unsigned char *use,
                        const hr_plan_train_cfg_t *cfg, hr_plan_model_t **out, hr_diag_t *err)
{
  hr__diag_begin(err, NULL);
  int rc = model_train_body(set, use, cfg, out, err);
  if (err && rc != HR_OK)
    err->code = rc;
  return rc;
}
