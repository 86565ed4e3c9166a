/* Short-horizon peak prediction: persistence, the load's own schedule one
 * period ago, the scheduler's committed load mapped to power by a table
 * learned from the node's past, and a margin that tracks a quantile of the
 * forecast's misses. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "headroom/predict.h"

struct hr_predictor {
  hr_predict_cfg_t cfg;
  int h;         /* horizon [samples] >= 1 */
  int len;       /* history ring length [samples] */
  double *x;     /* history ring */
  int64_t n;     /* samples pushed */
  double *fc;    /* forecasts of the last h + 1 steps, by sample index mod (h + 1) */
  double margin; /* tracked quantile of misses */
  double scale;  /* running mean |miss|, the step size of the quantile tracker */
  double eta;
  int bin;      /* samples per bin for period detection */
  int nb;       /* bins in the detection window */
  double *bins; /* scratch for detection */
  int period;   /* [samples], 0: none */
  int64_t next_detect;
  double last;
  /* Hint table: per load bin, a tracked quantile of the horizon peak that
   * followed forecasts made in that bin (scored once the horizon passed). */
  int nhb;         /* bins, 0: no hint table */
  int *hb;         /* bin of the forecast of the last h + 1 steps (-1: none) */
  double *hlev;    /* tracked quantile [W] */
  double *hscale;  /* running mean |peak - level| [W], the tracker's step */
  int64_t *hcount; /* outcomes seen */
  int64_t hmin;    /* outcomes before a bin is used */
};

int hr_predict_cfg_init(hr_predict_cfg_t *cfg, double dt_s)
{
  if (!cfg)
    return HR_ERR_INVALID_ARG;
  memset(cfg, 0, sizeof *cfg);
  cfg->dt_s = dt_s;
  cfg->horizon_s = 0.05;
  cfg->history_s = 20.0;
  cfg->period_hint_s = 0.0;
  cfg->quantile = 0.5;
  cfg->calib_s = 10.0;
  cfg->hint_bins = 24;
  cfg->hint_quantile = 0.5;
  cfg->hint_min_s = 1.0;
  return HR_OK;
}

static int check(const hr_predict_cfg_t *c)
{
  if (!c)
    return HR_ERR_INVALID_ARG;
  if (!(c->dt_s >= 1e-4 && c->dt_s <= 60) || !(c->horizon_s <= 600) ||
      !(c->quantile >= 0 && c->quantile <= 1) || !(c->calib_s > 0) ||
      !(c->history_s >= 4 * fmax(c->horizon_s, c->dt_s)) || !(c->history_s / c->dt_s < 1e7) ||
      !isfinite(c->period_hint_s) || c->hint_bins < 0 || c->hint_bins > 64 ||
      !(c->hint_quantile >= 0 && c->hint_quantile <= 1) ||
      !(c->hint_min_s >= 0 && c->hint_min_s <= 1e6))
    return HR_ERR_RANGE;
  return HR_OK;
}

int hr_predictor_create(const hr_predict_cfg_t *cfg, hr_predictor_t **out)
{
  if (!out)
    return HR_ERR_INVALID_ARG;
  *out = NULL;
  int rc = check(cfg);
  if (rc != HR_OK)
    return rc;
  hr_predictor_t *p = calloc(1, sizeof *p);
  if (!p)
    return HR_ERR_NOMEM;
  p->cfg = *cfg;
  /* A horizon shorter than one step still means "the next sample". */
  p->h = (int)lround(cfg->horizon_s / cfg->dt_s);
  if (p->h < 1)
    p->h = 1;
  p->len = (int)ceil(cfg->history_s / cfg->dt_s) + p->h + 2;
  p->bin = (int)lround(0.01 / cfg->dt_s);
  if (p->bin < 1)
    p->bin = 1;
  p->nb = (p->len - p->h - 2) / p->bin;
  p->x = calloc((size_t)p->len, sizeof *p->x);
  p->fc = calloc((size_t)p->h + 1, sizeof *p->fc);
  p->bins = calloc((size_t)p->nb + 1, sizeof *p->bins);
  p->nhb = cfg->hint_bins;
  p->hb = calloc((size_t)p->h + 1, sizeof *p->hb);
  p->hlev = calloc((size_t)p->nhb + 1, sizeof *p->hlev);
  p->hscale = calloc((size_t)p->nhb + 1, sizeof *p->hscale);
  p->hcount = calloc((size_t)p->nhb + 1, sizeof *p->hcount);
  p->hmin = (int64_t)ceil(cfg->hint_min_s / cfg->dt_s);
  if (!p->x || !p->fc || !p->bins || !p->hb || !p->hlev || !p->hscale || !p->hcount) {
    hr_predictor_destroy(p);
    return HR_ERR_NOMEM;
  }
  /* The quantile tracker's memory is about calib_s. */
  p->eta = 4.0 / fmax(cfg->calib_s / cfg->dt_s, 10.0);
  hr_predictor_reset(p);
  *out = p;
  return HR_OK;
}

void hr_predictor_destroy(hr_predictor_t *p)
{
  if (!p)
    return;
  free(p->x);
  free(p->fc);
  free(p->bins);
  free(p->hb);
  free(p->hlev);
  free(p->hscale);
  free(p->hcount);
  free(p);
}

void hr_predictor_reset(hr_predictor_t *p)
{
  p->n = 0;
  p->margin = 0.0;
  p->scale = 0.0;
  p->last = 0.0;
  p->period = p->cfg.period_hint_s > 0 ? (int)lround(p->cfg.period_hint_s / p->cfg.dt_s) : 0;
  p->next_detect = (int64_t)p->len / 2;
  for (int j = 0; j <= p->h; j++)
    p->hb[j] = -1;
  for (int k = 0; k <= p->nhb; k++) {
    p->hlev[k] = 0.0;
    p->hscale[k] = 0.0;
    p->hcount[k] = 0;
  }
}

/* Half octaves of 1 + load: power of a serving engine grows roughly with the
 * logarithm of its batch (the measured H100 runs span 8..2048 sequences), so
 * equal bins in log load keep similar power steps per bin. */
static int hint_bin(const hr_predictor_t *p, const hr_predict_hint_t *hint)
{
  if (!hint || p->nhb == 0)
    return -1;
  double b = hint->batch_seqs, q = hint->queued_seqs;
  double load = (isfinite(b) && b > 0 ? b : 0.0) + (isfinite(q) && q > 0 ? q : 0.0);
  double k = floor(2.0 * log2(1.0 + load));
  return k >= p->nhb - 1 ? p->nhb - 1 : (int)k;
}

/* One outcome for a bin: Robbins-Monro quantile step, 1/count at first so a
 * new bin settles fast, then a fixed rate (memory about calib_s). */
static void hint_learn(hr_predictor_t *p, int k, double peak_w)
{
  int64_t c = ++p->hcount[k];
  if (c == 1) {
    p->hlev[k] = peak_w;
    return;
  }
  double dev = peak_w - p->hlev[k];
  double rate = fmax(1.0 / (double)c, p->eta);
  p->hscale[k] += (fabs(dev) - p->hscale[k]) * rate;
  double q = p->cfg.hint_quantile;
  p->hlev[k] += 2.0 * rate * fmax(p->hscale[k], 1e-9) * (q - (dev < 0.0 ? 1.0 : 0.0));
}

static double at(const hr_predictor_t *p, int64_t k)
{
  return p->x[k % p->len];
}

/* Finds the period as the lag of the highest autocorrelation of the binned,
 * mean-removed history, between 4 horizons and half the window, if that
 * correlation is above 0.5; otherwise none. */
static void detect_period(hr_predictor_t *p)
{
  int nb = p->nb;
  int64_t end = p->n; /* bins cover samples [end - nb*bin, end) */
  if (end < (int64_t)nb * p->bin)
    return;
  double mean = 0.0;
  for (int b = 0; b < nb; b++) {
    double s = 0.0;
    for (int j = 0; j < p->bin; j++)
      s += at(p, end - (int64_t)(nb - b) * p->bin + j);
    p->bins[b] = s / p->bin;
    mean += p->bins[b];
  }
  mean /= nb;
  double var = 0.0;
  for (int b = 0; b < nb; b++) {
    p->bins[b] -= mean;
    var += p->bins[b] * p->bins[b];
  }
  p->period = 0;
  if (var <= 0.0)
    return;
  int lo = (int)ceil(4.0 * p->h / p->bin), hi = nb / 2, best = 0;
  double best_r = 0.5;
  if (lo < 2)
    lo = 2;
  /* A lag counts only after the correlation has first fallen below 0.25: a
   * slowly decorrelating load (red noise, e.g. generated inference power at
   * 10 ms) stays above 0.5 for a few lags without repeating anything. */
  int dipped = 0;
  for (int lag = 1; lag <= hi; lag++) {
    double s = 0.0;
    for (int b = lag; b < nb; b++)
      s += p->bins[b] * p->bins[b - lag];
    double r = s / var * nb / (nb - lag);
    if (r < 0.25)
      dipped = 1;
    /* Prefer the first strong peak (the fundamental period, not a multiple). */
    if (dipped && lag >= lo && r > best_r * 1.05) {
      best_r = r;
      best = lag;
    }
  }
  p->period = best * p->bin;
}

double hr_predictor_push(hr_predictor_t *p, double p_w)
{
  return hr_predictor_push_hint(p, p_w, NULL);
}

double hr_predictor_push_hint(hr_predictor_t *p, double p_w, const hr_predict_hint_t *hint)
{
  if (!isfinite(p_w))
    p_w = p->last;
  p->last = p_w;
  const int h = p->h;
  p->x[p->n % p->len] = p_w;
  p->n++;
  int64_t t = p->n - 1;

  /* The forecast made h steps ago can now be scored: track its miss. */
  if (t >= h) {
    /* at(p, t - j) for j = 0 .. h-1, in that order: one modulo, then the
     * ring index steps back (a 64-bit division per sample was most of a
     * step's cost). */
    double actual = -INFINITY;
    int64_t i = t % p->len;
    for (int j = 0; j < h; j++) {
      actual = fmax(actual, p->x[i]);
      i = i == 0 ? p->len - 1 : i - 1;
    }
    double miss = actual - p->fc[(t - h) % (h + 1)];
    p->scale += (fabs(miss) - p->scale) * p->eta;
    double step = p->eta * fmax(p->scale, 1e-9) * 4.0;
    p->margin += step * (p->cfg.quantile - (miss < p->margin ? 1.0 : 0.0));
    int k = p->hb[(t - h) % (h + 1)];
    if (k >= 0)
      hint_learn(p, k, actual);
  }

  if (p->cfg.period_hint_s == 0.0 && p->n >= p->next_detect) {
    detect_period(p);
    p->next_detect = p->n + (int64_t)lround(1.0 / p->cfg.dt_s) + 1;
  }

  double base = p_w;
  int per = p->period;
  if (per > h && t + 1 - per >= 0 && per < p->len - h - 1) {
    /* The same stretch of the schedule one period ago, once it has all been
     * seen (its first sample, t + 1 - per, included: before that the ring
     * index would be negative). */
    double s = -INFINITY;
    int64_t i = (t + 1 - per) % p->len; /* at(p, t + j - per), j = 1 .. h */
    for (int j = 1; j <= h; j++) {
      s = fmax(s, p->x[i]);
      i = i + 1 == p->len ? 0 : i + 1;
    }
    base = fmax(base, s);
  }
  /* The hint counts where the committed load has risen by an octave or more
   * within the last horizon: that is work the power has not shown yet.  At a
   * steady load the present power already says more than the bin's typical
   * peak (which would flag every busy step against a high threshold). */
  int k = hint_bin(p, hint), kmin = k;
  int64_t ib = t % (h + 1); /* hb's index of t - j, stepping back from j = 0 */
  for (int j = 1; j <= h && j <= t; j++) {
    ib = ib == 0 ? h : ib - 1;
    int kj = p->hb[ib];
    kmin = kj >= 0 && kj < kmin ? kj : kmin;
  }
  p->hb[t % (h + 1)] = k;
  if (k >= 0 && k >= kmin + 2 && p->hcount[k] >= p->hmin && p->hcount[k] > 0)
    base = fmax(base, p->hlev[k]);
  double f = base + p->margin;
  p->fc[t % (h + 1)] = base;
  return f;
}

double hr_predictor_period_s(const hr_predictor_t *p)
{
  return p->period * p->cfg.dt_s;
}

int hr_predict_evaluate(const hr_predict_cfg_t *cfg, const double *p_w, size_t n,
                        double threshold_w, double warmup_s, hr_predict_score_t *out)
{
  return hr_predict_evaluate_hint(cfg, p_w, NULL, n, threshold_w, warmup_s, out);
}

int hr_predict_evaluate_hint(const hr_predict_cfg_t *cfg, const double *p_w,
                             const hr_predict_hint_t *hint, size_t n, double threshold_w,
                             double warmup_s, hr_predict_score_t *out)
{
  if (!p_w || !out)
    return HR_ERR_INVALID_ARG;
  hr_predictor_t *p;
  int rc = hr_predictor_create(cfg, &p);
  if (rc != HR_OK)
    return rc;
  memset(out, 0, sizeof *out);
  const int h = p->h;
  size_t warm = (size_t)(warmup_s / cfg->dt_s);
  for (size_t t = 0; t + (size_t)h < n; t++) {
    double f = hr_predictor_push_hint(p, p_w[t], hint ? &hint[t] : NULL);
    if (t < warm)
      continue;
    double actual = -INFINITY;
    for (int j = 1; j <= h; j++)
      actual = fmax(actual, p_w[t + (size_t)j]);
    int truth = actual > threshold_w, pred = f > threshold_w;
    out->tp += truth && pred;
    out->fp += !truth && pred;
    out->fn += truth && !pred;
    out->tn += !truth && !pred;
    if (truth && p_w[t] <= threshold_w) {
      out->onsets++;
      out->onsets_caught += pred;
    }
  }
  out->onset_recall = out->onsets ? (double)out->onsets_caught / (double)out->onsets : 1.0;
  out->precision = out->tp + out->fp ? (double)out->tp / (double)(out->tp + out->fp) : 1.0;
  out->recall = out->tp + out->fn ? (double)out->tp / (double)(out->tp + out->fn) : 1.0;
  hr_predictor_destroy(p);
  return HR_OK;
}
