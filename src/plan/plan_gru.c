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
#pragma omp simd reduction(+ : ar, az, hn)
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

/* ------------------------------------------------- bidirectional GRU */

#define BH HR__PLAN_BIGRU_HMAX
#define BK 64 /* most classes the bidirectional net takes */

/* Parameters of one direction (Wi, Wh, bi, bh). */
static size_t dir_np(int h)
{
  return lay(h, 0).bo;
}

size_t hr__plan_bigru_nparams(int h, int k)
{
  return 2 * dir_np(h) + (size_t)k * 2 * h + (size_t)k;
}

void hr__plan_bigru_init(double *w, int h, int k, hr_plan_rng_t *r)
{
  size_t n = hr__plan_bigru_nparams(h, k);
  double a = 1.0 / sqrt((double)h);
  for (size_t i = 0; i < n; i++)
    w[i] = a * (2.0 * hr_plan_rng_uniform(r) - 1.0);
}

/* Runs one direction over x[T] (reversed when rev) and adds its part of the
 * logits, Wo[:, off..off+h) h_t, into out[t][k]. */
static void dir_logits(const double *w, int h, int k, const double *x, size_t T, int rev,
                       double *out)
{
  layout_t L = lay(h, k);
  const double *wd = w + (rev ? dir_np(h) : 0), *wo = w + 2 * dir_np(h) + (rev ? h : 0);
  double hs[BH] = {0}, ho[BH], r[BH], z[BH], nn[BH], hl[BH], part[BK] = {0};
  const double *xprev = NULL;
  int settled = 0;
  for (size_t i = 0; i < T; i++) {
    size_t t = rev ? T - 1 - i : i;
    const double *xt = x + t * NIN;
    if (!(settled && xprev && xt[0] == xprev[0] && xt[1] == xprev[1])) {
      cell(wd, &L, h, xt, hs, r, z, nn, hl, ho);
      double dmax = 0.0;
      for (int j = 0; j < h; j++)
        dmax = fmax(dmax, fabs(ho[j] - hs[j]));
      settled = dmax < 1e-7;
      memcpy(hs, ho, (size_t)h * sizeof *hs);
      for (int c = 0; c < k; c++) {
        double s = 0.0;
        const double *row = wo + (size_t)c * 2 * h;
        for (int j = 0; j < h; j++)
          s += row[j] * hs[j];
        part[c] = s;
      }
    }
    xprev = xt;
    for (int c = 0; c < k; c++)
      out[t * (size_t)k + c] += part[c];
  }
}

void hr__plan_bigru_logits(const double *w, int h, int k, const double *x, size_t T, double *logits)
{
  const double *bo = w + 2 * dir_np(h) + (size_t)k * 2 * h;
  for (size_t t = 0; t < T; t++)
    memcpy(logits + t * (size_t)k, bo, (size_t)k * sizeof *bo);
  dir_logits(w, h, k, x, T, 0, logits);
  dir_logits(w, h, k, x, T, 1, logits);
}

/* Forward pass of one direction, storing per processing step tau the gates
 * and state (scratch: R, Z, N, HL, HS, each T x h). */
static void dir_fwd(const double *wd, const layout_t *L, int h, const double *x, int T, int rev,
                    double *S)
{
  double *R = S, *Z = R + (size_t)T * h, *N = Z + (size_t)T * h, *HL = N + (size_t)T * h,
         *HS = HL + (size_t)T * h;
  double zero[BH] = {0};
  for (int tau = 0; tau < T; tau++) {
    int t = rev ? T - 1 - tau : tau;
    const double *hp = tau ? HS + (size_t)(tau - 1) * h : zero;
    size_t o = (size_t)tau * h;
    cell(wd, L, h, x + (size_t)t * NIN, hp, R + o, Z + o, N + o, HL + o, HS + o);
  }
}

/* BPTT of one direction given the loss gradient DH[tau][h] with respect to
 * its state at each processing step; adds into gd (its parameters). */
static void dir_bptt(const double *wd, const layout_t *L, int h, const double *x, int T, int rev,
                     const double *S, const double *DH, double *gd)
{
  const double *R = S, *Z = R + (size_t)T * h, *N = Z + (size_t)T * h, *HL = N + (size_t)T * h,
               *HS = HL + (size_t)T * h;
  double zero[BH] = {0}, dhn[BH] = {0};
  for (int tau = T - 1; tau >= 0; tau--) {
    size_t o = (size_t)tau * h;
    const double *hp = tau ? HS + o - h : zero;
    const double *r = R + o, *z = Z + o, *nn = N + o, *hl = HL + o;
    double dh[BH], dar[BH], daz[BH], dan[BH], dhl[BH];
    for (int j = 0; j < h; j++) {
      dh[j] = DH[o + j] + dhn[j];
      double dn = dh[j] * (1.0 - z[j]), dz = dh[j] * (hp[j] - nn[j]);
      dhn[j] = dh[j] * z[j];
      dan[j] = dn * (1.0 - nn[j] * nn[j]);
      double dr = dan[j] * hl[j];
      dhl[j] = dan[j] * r[j];
      daz[j] = dz * z[j] * (1.0 - z[j]);
      dar[j] = dr * r[j] * (1.0 - r[j]);
    }
    const double *xt = x + (size_t)(rev ? T - 1 - tau : tau) * NIN;
    for (int j = 0; j < h; j++) {
      for (int i = 0; i < NIN; i++) {
        gd[L->wi + (size_t)j * NIN + i] += dar[j] * xt[i];
        gd[L->wi + (size_t)(h + j) * NIN + i] += daz[j] * xt[i];
        gd[L->wi + (size_t)(2 * h + j) * NIN + i] += dan[j] * xt[i];
      }
      gd[L->bi + (size_t)j] += dar[j];
      gd[L->bi + (size_t)(h + j)] += daz[j];
      gd[L->bi + (size_t)(2 * h + j)] += dan[j];
      gd[L->bh + (size_t)j] += dar[j];
      gd[L->bh + (size_t)(h + j)] += daz[j];
      gd[L->bh + (size_t)(2 * h + j)] += dhl[j];
      const double *whr = wd + L->wh + (size_t)j * h, *whz = wd + L->wh + (size_t)(h + j) * h,
                   *whn = wd + L->wh + (size_t)(2 * h + j) * h;
      double *gr = gd + L->wh + (size_t)j * h, *gz = gd + L->wh + (size_t)(h + j) * h,
             *gn = gd + L->wh + (size_t)(2 * h + j) * h;
      double ar = dar[j], az = daz[j], al = dhl[j];
      /* Independent per i (the rows never overlap): vectorised. */
#pragma omp simd
      for (int i = 0; i < h; i++) {
        gr[i] += ar * hp[i];
        gz[i] += az * hp[i];
        gn[i] += al * hp[i];
        dhn[i] += whr[i] * ar + whz[i] * az + whn[i] * al;
      }
    }
  }
}

double hr__plan_bigru_loss_grad(const double *w, int h, int k, const double *x, const int *y, int T,
                                double *grad, double *scratch)
{
  layout_t L = lay(h, k);
  size_t P = dir_np(h), th = (size_t)T * h;
  double *SF = scratch, *SB = SF + 5 * th, *DF = SB + 5 * th, *DB = DF + th;
  const double *wo = w + 2 * P, *bo = wo + (size_t)k * 2 * h;
  double *gwo = grad + 2 * P, *gbo = gwo + (size_t)k * 2 * h;
  dir_fwd(w, &L, h, x, T, 0, SF);
  dir_fwd(w + P, &L, h, x, T, 1, SB);
  const double *HF = SF + 4 * th, *HB = SB + 4 * th;
  double loss = 0.0;
  for (int t = 0; t < T; t++) {
    const double *hf = HF + (size_t)t * h, *hb = HB + (size_t)(T - 1 - t) * h;
    double *df = DF + (size_t)t * h, *db = DB + (size_t)(T - 1 - t) * h;
    double lg[BK] = {0}, mx = -INFINITY, s = 0.0;
    for (int c = 0; c < k; c++) {
      double v = bo[c];
      const double *row = wo + (size_t)c * 2 * h;
      for (int j = 0; j < h; j++)
        v += row[j] * hf[j] + row[h + j] * hb[j];
      lg[c] = v;
      mx = fmax(mx, v);
    }
    for (int c = 0; c < k; c++)
      s += exp(lg[c] - mx);
    loss += log(s) + mx - lg[y[t]];
    memset(df, 0, (size_t)h * sizeof *df);
    memset(db, 0, (size_t)h * sizeof *db);
    for (int c = 0; c < k; c++) {
      double d = exp(lg[c] - mx) / s - (c == y[t]);
      gbo[c] += d;
      const double *row = wo + (size_t)c * 2 * h;
      double *grow = gwo + (size_t)c * 2 * h;
      for (int j = 0; j < h; j++) {
        grow[j] += d * hf[j];
        grow[h + j] += d * hb[j];
        df[j] += d * row[j];
        db[j] += d * row[h + j];
      }
    }
  }
  dir_bptt(w, &L, h, x, T, 0, SF, DF, grad);
  dir_bptt(w + P, &L, h, x, T, 1, SB, DB, grad + P);
  return loss;
}

/* Mean cross-entropy per step of the logits against y. */
static double ce_mean(const double *lg, const int *y, size_t T, int k)
{
  double loss = 0.0;
  for (size_t t = 0; t < T; t++) {
    const double *l = lg + t * (size_t)k;
    double mx = -INFINITY, s = 0.0;
    for (int c = 0; c < k; c++)
      mx = fmax(mx, l[c]);
    for (int c = 0; c < k; c++)
      s += exp(l[c] - mx);
    loss += log(s) + mx - l[y[t]];
  }
  return T ? loss / (double)T : 0.0;
}

int hr__plan_bigru_train(double *w, int h, int k, const hr__plan_gru_seq_t *seq, size_t nseq,
                         const hr__plan_bigru_recipe_t *rc, uint64_t seed,
                         hr__plan_bigru_log_t *log)
{
  if (!w || h < 1 || h > BH || k < 1 || k > BK || !seq || nseq == 0 || !rc || rc->epochs < 0 ||
      rc->window < 2 || rc->patience < 1 || !(rc->lr > 0.0) || !(rc->clip > 0.0) ||
      !(rc->val_frac >= 0.0 && rc->val_frac < 1.0))
    return HR_ERR_INVALID_ARG;
  size_t np = hr__plan_bigru_nparams(h, k), W = (size_t)rc->window;
  double *g = calloc(np, sizeof *g), *m1 = calloc(np, sizeof *m1), *m2 = calloc(np, sizeof *m2);
  double *best = malloc(np * sizeof *best), *scratch = malloc(12 * (size_t)h * W * sizeof *scratch);
  double *lg = malloc(W * (size_t)k * sizeof *lg);
  size_t *order = malloc(nseq * sizeof *order);
  if (!g || !m1 || !m2 || !best || !scratch || !lg || !order) {
    free(g);
    free(m1);
    free(m2);
    free(best);
    free(scratch);
    free(lg);
    free(order);
    return HR_ERR_NOMEM;
  }
  hr_plan_rng_t r;
  hr_plan_rng_seed(&r, seed);
  const double b1 = 0.9, b2 = 0.999;
  long step = 0;
  hr__plan_bigru_log_t lg0 = {0, 0, INFINITY, 0};
  memcpy(best, w, np * sizeof *w);
  for (size_t s = 0; s < nseq; s++)
    order[s] = s;
  int since = 0;
  for (int ep = 0; ep < rc->epochs && since < rc->patience; ep++) {
    for (size_t s = nseq; s > 1; s--) { /* Fisher-Yates */
      size_t j = (size_t)(hr_plan_rng_u64(&r) % s), tmp = order[s - 1];
      order[s - 1] = order[j];
      order[j] = tmp;
    }
    for (size_t q = 0; q < nseq; q++) {
      const hr__plan_gru_seq_t *sq = &seq[order[q]];
      size_t ntr = sq->n - (size_t)((double)sq->n * rc->val_frac);
      if (ntr < 2)
        continue;
      size_t T = ntr < W ? ntr : W;
      size_t start = (size_t)(hr_plan_rng_u64(&r) % (uint64_t)(ntr - T + 1));
      memset(g, 0, np * sizeof *g);
      hr__plan_bigru_loss_grad(w, h, k, sq->x + start * NIN, sq->y + start, (int)T, g, scratch);
      double nrm = 0.0;
      for (size_t i = 0; i < np; i++) {
        g[i] /= (double)T; /* mean cross-entropy over the window's steps */
        nrm += g[i] * g[i];
      }
      nrm = sqrt(nrm);
      double sc = nrm > rc->clip ? rc->clip / nrm : 1.0;
      step++;
      double c1 = 1.0 - pow(b1, (double)step), c2 = 1.0 - pow(b2, (double)step);
      for (size_t i = 0; i < np; i++) {
        double gi = g[i] * sc;
        m1[i] = b1 * m1[i] + (1 - b1) * gi;
        m2[i] = b2 * m2[i] + (1 - b2) * gi * gi;
        w[i] -= rc->lr * (m1[i] / c1) / (sqrt(m2[i] / c2) + 1e-8);
      }
    }
    /* Validation: up to 4 evenly spaced windows of each run's tail. */
    double vl = 0.0;
    size_t vn = 0;
    for (size_t s = 0; s < nseq; s++) {
      size_t ntr = seq[s].n - (size_t)((double)seq[s].n * rc->val_frac), nv = seq[s].n - ntr;
      if (nv == 0)
        continue;
      size_t T = nv < W ? nv : W, nwin = nv / T < 4 ? nv / T : 4;
      for (size_t v = 0; v < nwin; v++) {
        size_t st = ntr + (nwin > 1 ? v * (nv - T) / (nwin - 1) : 0);
        hr__plan_bigru_logits(w, h, k, seq[s].x + st * NIN, T, lg);
        vl += ce_mean(lg, seq[s].y + st, T, k) * (double)T;
        vn += T;
      }
    }
    lg0.epochs_run = ep + 1;
    double v = vn ? vl / (double)vn : 0.0;
    if (vn == 0 || v < lg0.best_val_loss - 1e-6) {
      lg0.best_val_loss = v;
      lg0.best_epoch = ep + 1;
      memcpy(best, w, np * sizeof *w);
      since = 0;
    } else {
      since++;
    }
  }
  if (lg0.epochs_run > 0)
    memcpy(w, best, np * sizeof *w);
  lg0.updates = step;
  if (log)
    *log = lg0;
  free(g);
  free(m1);
  free(m2);
  free(best);
  free(scratch);
  free(lg);
  free(order);
  return HR_OK;
}
