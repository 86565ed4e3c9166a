/* plan module: GRU classifier, forward pass, back-propagation through time
 * and Adam (see plan_gru.h for the layout and equations). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plan/plan_gru.h"

#define NIN HR__PLAN_GRU_NIN

typedef struct layout {
  size_t wi, wh, bi, bh, wo, bo, n;
} layout_t;

static layout_t lay(int h, int k)
{
  layout_t L;
  L.wi = 0;
  L.wh = L.wi + (size_t)3 * h * NIN;
  L.bi = L.wh + (size_t)3 * h * h;
  L.bh = L.bi + (size_t)3 * h;
  L.wo = L.bh + (size_t)3 * h;
  L.bo = L.wo + (size_t)k * h;
  L.n = L.bo + (size_t)k;
  return L;
}

size_t hr__plan_gru_nparams(int h, int k)
{
  return lay(h, k).n;
}

void hr__plan_gru_init(double *w, int h, int k, hr_plan_rng_t *r)
{
  size_t n = lay(h, k).n;
  double a = 1.0 / sqrt((double)h);
  for (size_t i = 0; i < n; i++)
    w[i] = a * (2.0 * hr_plan_rng_uniform(r) - 1.0);
}

static double sigm(double v)
{
  return 1.0 / (1.0 + exp(-v));
}

/* Gates of one step; returns h' in hn_out and keeps r, z, n, hn_lin. */
static void cell(const double *w, const layout_t *L, int h, const double *x, const double *hp,
                 double *r, double *z, double *nn, double *hl, double *hout)
{
  const double *wi = w + L->wi, *wh = w + L->wh, *bi = w + L->bi, *bh = w + L->bh;
  for (int j = 0; j < h; j++) {
    double ar = bi[j] + bh[j], az = bi[h + j] + bh[h + j], an = bi[2 * h + j];
    double hn = bh[2 * h + j];
    for (int i = 0; i < NIN; i++) {
      ar += wi[(size_t)j * NIN + i] * x[i];
      az += wi[(size_t)(h + j) * NIN + i] * x[i];
      an += wi[(size_t)(2 * h + j) * NIN + i] * x[i];
    }
    const double *whr = wh + (size_t)j * h, *whz = wh + (size_t)(h + j) * h,
                 *whn = wh + (size_t)(2 * h + j) * h;
    for (int i = 0; i < h; i++) {
      ar += whr[i] * hp[i];
      az += whz[i] * hp[i];
      hn += whn[i] * hp[i];
    }
    r[j] = sigm(ar);
    z[j] = sigm(az);
    hl[j] = hn;
    nn[j] = tanh(an + r[j] * hn);
  }
  for (int j = 0; j < h; j++)
    hout[j] = (1.0 - z[j]) * nn[j] + z[j] * hp[j];
}

static void out_logits(const double *w, const layout_t *L, int h, int k, const double *hs,
                       double *logits)
{
  for (int c = 0; c < k; c++) {
    double s = w[L->bo + (size_t)c];
    const double *wo = w + L->wo + (size_t)c * h;
    for (int i = 0; i < h; i++)
      s += wo[i] * hs[i];
    logits[c] = s;
  }
}

void hr__plan_gru_step(const double *w, int h, int k, const double *x, double *hstate,
                       double *logits)
{
  layout_t L = lay(h, k);
  double r[HR__PLAN_GRU_HMAX], z[HR__PLAN_GRU_HMAX], nn[HR__PLAN_GRU_HMAX], hl[HR__PLAN_GRU_HMAX],
      ho[HR__PLAN_GRU_HMAX];
  cell(w, &L, h, x, hstate, r, z, nn, hl, ho);
  memcpy(hstate, ho, (size_t)h * sizeof *ho);
  out_logits(w, &L, h, k, hstate, logits);
}

double hr__plan_gru_loss_grad(const double *w, int h, int k, const double *x, const int *y, int T,
                              double *grad, double *scratch)
{
  return hr__plan_gru_loss_grad_from(w, h, k, x, y, T, NULL, NULL, grad, scratch);
}

double hr__plan_gru_loss_grad_from(const double *w, int h, int k, const double *x, const int *y,
                                   int T, const double *h0, double *h_end, double *grad,
                                   double *scratch)
{
  layout_t L = lay(h, k);
  /* scratch per step: h_prev is h of step t-1; store r, z, n, hn_lin, h. */
  double *R = scratch, *Z = R + (size_t)T * h, *N = Z + (size_t)T * h, *HL = N + (size_t)T * h,
         *HS = HL + (size_t)T * h;
  double zero[HR__PLAN_GRU_HMAX] = {0};
  if (h0)
    memcpy(zero, h0, (size_t)h * sizeof *h0); /* the start state; no gradient flows into it */
  double loss = 0.0;
  for (int t = 0; t < T; t++) {
    const double *hp = t ? HS + (size_t)(t - 1) * h : zero;
    cell(w, &L, h, x + (size_t)t * NIN, hp, R + (size_t)t * h, Z + (size_t)t * h, N + (size_t)t * h,
         HL + (size_t)t * h, HS + (size_t)t * h);
  }
  if (h_end)
    memcpy(h_end, HS + (size_t)(T - 1) * h, (size_t)h * sizeof *h_end);
  double dhn[HR__PLAN_GRU_HMAX] = {0};
  for (int t = T - 1; t >= 0; t--) {
    const double *hs = HS + (size_t)t * h, *hp = t ? HS + (size_t)(t - 1) * h : zero;
    const double *r = R + (size_t)t * h, *z = Z + (size_t)t * h, *nn = N + (size_t)t * h,
                 *hl = HL + (size_t)t * h;
    double lg[64], mx = -INFINITY, s = 0.0;
    out_logits(w, &L, h, k, hs, lg);
    for (int c = 0; c < k; c++)
      mx = fmax(mx, lg[c]);
    for (int c = 0; c < k; c++)
      s += exp(lg[c] - mx);
    loss += log(s) + mx - lg[y[t]];
    double dh[HR__PLAN_GRU_HMAX];
    memcpy(dh, dhn, (size_t)h * sizeof *dh);
    for (int c = 0; c < k; c++) {
      double d = exp(lg[c] - mx) / s - (c == y[t]);
      grad[L.bo + (size_t)c] += d;
      double *gwo = grad + L.wo + (size_t)c * h;
      const double *wo = w + L.wo + (size_t)c * h;
      for (int i = 0; i < h; i++) {
        gwo[i] += d * hs[i];
        dh[i] += d * wo[i];
      }
    }
    double dar[HR__PLAN_GRU_HMAX], daz[HR__PLAN_GRU_HMAX], dan[HR__PLAN_GRU_HMAX],
        dhl[HR__PLAN_GRU_HMAX];
    for (int j = 0; j < h; j++) {
      double dn = dh[j] * (1.0 - z[j]), dz = dh[j] * (hp[j] - nn[j]);
      dhn[j] = dh[j] * z[j];
      dan[j] = dn * (1.0 - nn[j] * nn[j]);
      double dr = dan[j] * hl[j];
      dhl[j] = dan[j] * r[j];
      daz[j] = dz * z[j] * (1.0 - z[j]);
      dar[j] = dr * r[j] * (1.0 - r[j]);
    }
    const double *xt = x + (size_t)t * NIN;
    for (int j = 0; j < h; j++) {
      for (int i = 0; i < NIN; i++) {
        grad[L.wi + (size_t)j * NIN + i] += dar[j] * xt[i];
        grad[L.wi + (size_t)(h + j) * NIN + i] += daz[j] * xt[i];
        grad[L.wi + (size_t)(2 * h + j) * NIN + i] += dan[j] * xt[i];
      }
      grad[L.bi + (size_t)j] += dar[j];
      grad[L.bi + (size_t)(h + j)] += daz[j];
      grad[L.bi + (size_t)(2 * h + j)] += dan[j];
      grad[L.bh + (size_t)j] += dar[j];
      grad[L.bh + (size_t)(h + j)] += daz[j];
      grad[L.bh + (size_t)(2 * h + j)] += dhl[j];
      const double *whr = w + L.wh + (size_t)j * h, *whz = w + L.wh + (size_t)(h + j) * h,
                   *whn = w + L.wh + (size_t)(2 * h + j) * h;
      double *gr = grad + L.wh + (size_t)j * h, *gz = grad + L.wh + (size_t)(h + j) * h,
             *gn = grad + L.wh + (size_t)(2 * h + j) * h;
      for (int i = 0; i < h; i++) {
        gr[i] += dar[j] * hp[i];
        gz[i] += daz[j] * hp[i];
        gn[i] += dhl[j] * hp[i];
        dhn[i] += whr[i] * dar[j] + whz[i] * daz[j] + whn[i] * dhl[j];
      }
    }
  }
  return loss;
}

int hr__plan_gru_train(double *w, int h, int k, const hr__plan_gru_seq_t *seq, size_t nseq,
                       int epochs, int window, int windows_per_seq, double lr, uint64_t seed)
{
  if (!w || h < 1 || h > HR__PLAN_GRU_HMAX || k < 1 || k > 64 || !seq || nseq == 0 || epochs < 0 ||
      window < 1 || windows_per_seq < 1 || !(lr > 0.0))
    return HR_ERR_INVALID_ARG;
  size_t np = lay(h, k).n;
  double *g = calloc(np, sizeof *g), *m1 = calloc(np, sizeof *m1), *m2 = calloc(np, sizeof *m2);
  double *scratch = malloc((size_t)6 * h * (size_t)window * sizeof *scratch);
  if (!g || !m1 || !m2 || !scratch) {
    free(g);
    free(m1);
    free(m2);
    free(scratch);
    return HR_ERR_NOMEM;
  }
  hr_plan_rng_t r;
  hr_plan_rng_seed(&r, seed);
  const double b1 = 0.9, b2 = 0.999;
  long step = 0;
  /* Stateful truncated BPTT: each segment is windows_per_seq consecutive
   * windows from a random start, the hidden state carried across windows
   * (not differentiated through), after a forward-only burn-in over up to
   * BURN steps before the start.  Generation runs the GRU for 1e5+ steps, so
   * it must be trained on the states long runs reach, not only on states a
   * few dozen steps from zero. */
  enum { BURN = 2048 };
  for (int ep = 0; ep < epochs; ep++)
    for (size_t s = 0; s < nseq; s++) {
      if (seq[s].n == 0)
        continue;
      size_t start = (size_t)(hr_plan_rng_u64(&r) % (uint64_t)seq[s].n);
      double hs[HR__PLAN_GRU_HMAX] = {0}, lg[64];
      size_t b0 = start > BURN ? start - BURN : 0;
      for (size_t t = b0; t < start; t++)
        hr__plan_gru_step(w, h, k, seq[s].x + t * NIN, hs, lg);
      for (int wdx = 0; wdx < windows_per_seq && start < seq[s].n; wdx++) {
        int T = seq[s].n - start < (size_t)window ? (int)(seq[s].n - start) : window;
        memset(g, 0, np * sizeof *g);
        hr__plan_gru_loss_grad_from(w, h, k, seq[s].x + start * NIN, seq[s].y + start, T, hs, hs, g,
                                    scratch);
        start += (size_t)T;
        double nrm = 0.0;
        for (size_t i = 0; i < np; i++) {
          g[i] /= T;
          nrm += g[i] * g[i];
        }
        nrm = sqrt(nrm);
        double sc = nrm > 1.0 ? 1.0 / nrm : 1.0; /* clip the gradient norm at 1 */
        step++;
        double c1 = 1.0 - pow(b1, (double)step), c2 = 1.0 - pow(b2, (double)step);
        for (size_t i = 0; i < np; i++) {
          double gi = g[i] * sc;
          m1[i] = b1 * m1[i] + (1 - b1) * gi;
          m2[i] = b2 * m2[i] + (1 - b2) * gi * gi;
          w[i] -= lr * (m1[i] / c1) / (sqrt(m2[i] / c2) + 1e-8);
        }
      }
    }
  free(g);
  free(m1);
  free(m2);
  free(scratch);
  return HR_OK;
}
