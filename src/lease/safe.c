/* The expiry fallback below a stopped coordinator (hr_lease_cfg_t
 * .expiry_fallback = HR_EXPIRY_SAFE_SHARE): each node's static safe share,
 * computed once from the tree's continuous ratings, and what an expired lease
 * below a stopped coordinator falls to, min(its last grant, its safe share),
 * never below its floor.  "Losing the network costs performance, never
 * safety" (docs/lease.md, "Stopped coordinators"): the fallback never raises
 * a cap, and the safe shares of a node's children sum to at most its own, in
 * total and per conductor, so every sum below a node stays within what it
 * was granted and within the continuous ratings. */
#include "lease/lease_sys.h"

/* Continuous limit of node k from its rating alone: no thermal state, no
 * window on the mean, no burst (a cold device, the NEC 80 % unless the node
 * is 100 %-rated), a root's grid max_p_w or supply (hr_lease_sys_set_supply)
 * if lower; INFINITY when unrated. */
static double static_cont_w(const hr_lease_sys_t *s, size_t k)
{
  hr_budget_t b;
  int r = s->rated[k] == 255 ? -1 : (int)s->rated[k];
  if (hr__budget_node_checked(tnode(s, k), NULL, &s->cfg.budget, r, -1.0, &b) != HR_OK)
    return 0.0; /* a device that cannot be modelled: give nothing above the floors */
  double c = isnan(b.cont_w) ? 0.0 : b.cont_w;
  const hr_tree_node_t *nd = tnode(s, k);
  double g = nd->grid ? nd->grid->max_p_w * (nd->n_children ? s->cfg.budget.eff : 1.0) : 0.0;
  if (is_root(s, k) && g > 0.0 && g < c)
    c = g;
  if (s->sup_w && s->sup_w[k] < INFINITY) {
    g = s->sup_w[k] * (nd->n_children ? s->cfg.budget.eff : 1.0);
    if (g < c)
      c = g;
  }
  /* less the overheads at and below it (as its budgets are) */
  if (s->ovh_w && s->ovh_w[k] > 0.0)
    c = c > s->ovh_w[k] ? c - s->ovh_w[k] : 0.0;
  return c;
}

static double dmin(double a, double b)
{
  return b < a ? b : a;
}

int hr__lease_safe_compute(hr_lease_sys_t *s)
{
  size_t n = s->n;
  /* Weights, bottom up (the system's order is topological): a node's own
   * continuous limit, an unrated node's the sum of its children's, an
   * unrated leaf 0 (it gets its floor: nothing is known to be safe above
   * it).  Continuous ratings, not the policy's priorities: the share must
   * be fixed by the tree, so that it is the same whoever computes it and
   * whenever, and it must be what the conductors carry for hours. */
  for (size_t j = n; j-- > 0;) {
    double c = static_cont_w(s, j);
    s->safe_w[j] = c; /* the node's own cap, used top-down below */
    if (isfinite(c)) {
      s->safe_r[j] = c;
      continue;
    }
    size_t m = 0;
    const int32_t *ch = kids(s, j, &m);
    double r = 0.0;
    for (size_t i = 0; i < m; i++)
      r += s->safe_r[ch[i]];
    s->safe_r[j] = isfinite(r) ? r : 0.0;
  }
  /* safe_w holds each node's own cap; the shares offered by its parents
   * are gathered in the unused 4th slot of safe_ph, per conductor in the
   * first three. */
  for (size_t k = 0; k < n; k++)
    for (int q = 0; q < 4; q++)
      s->safe_ph[4 * k + (size_t)q] = INFINITY;
#define offer(k) s->safe_ph[4 * (size_t)(k) + 3]
  for (size_t k = 0; k < n; k++) {
    double own = s->safe_w[k], f = s->floor_w[k];
    double sk = dmin(offer(k), own);
    if (sk < f)
      sk = f;
    s->safe_w[k] = sk;
    double *sph = s->safe_ph + 4 * k;
    const double *fph = s->ph_idx[k] >= 0 ? ph_row(s->fph, s, k) : NULL;
    if (s->three[k])
      for (int q = 0; q < 3; q++) {
        /* the device's limits are conductor currents: a third each, less
         * the overheads on that conductor */
        double oq = own / 3.0;
        if (s->ovh_w && s->ph_idx[k] >= 0 && isfinite(own)) {
          oq = (own + s->ovh_w[k]) / 3.0 - ph_row(s->ovh_ph, s, k)[q];
          oq = oq > 0.0 ? oq : 0.0;
        }
        sph[q] = dmin(dmin(sph[q], oq), sk);
        if (fph && sph[q] < fph[q])
          sph[q] = fph[q];
      }
    size_t m = 0;
    const int32_t *ch = kids(s, k, &m);
    if (m == 0)
      continue;
    /* The part above the floors, less this coordinator's reserve (its
     * safe share gives no reserve away), in proportion to the ratings;
     * one factor alpha for every child, the largest that fits the total
     * and, at a three-phase node, every conductor. */
    double res = s->ccfg[k]->reserve_frac;
    double a = isfinite(sk) ? sk - res * sk : sk;
    double sf = 0.0, sr = 0.0, fq[3] = {0.0, 0.0, 0.0}, rq[3] = {0.0, 0.0, 0.0};
    for (size_t i = 0; i < m; i++) {
      size_t c = (size_t)ch[i];
      double fc = s->floor_w[c], rc = s->safe_r[c], w[3];
      sf += fc;
      sr += rc;
      if (!s->three[k])
        continue;
      contrib(s, c, k, fc, s->ph_idx[c] >= 0 ? ph_row(s->fph, s, c) : NULL, w);
      uint8_t code = code_of(s, c, k);
      for (int q = 0; q < 3; q++) {
        fq[q] += w[q];
        rq[q] += (code == PH_NODE ? 1.0 / 3.0 : PH_W[code][q]) * rc;
      }
    }
    double alpha = sr > 0.0 ? (a - sf) / sr : 0.0;
    if (s->three[k])
      for (int q = 0; q < 3; q++) {
        double aq = isfinite(sph[q]) ? sph[q] - res * sph[q] : sph[q];
        if (rq[q] > 0.0 && (aq - fq[q]) / rq[q] < alpha)
          alpha = (aq - fq[q]) / rq[q];
      }
    if (!(alpha > 0.0)) /* floors that fill the share, or NAN */
      alpha = 0.0;
    for (size_t i = 0; i < m; i++) {
      size_t c = (size_t)ch[i];
      double rc = s->safe_r[c];
      double x = rc > 0.0 ? alpha * rc : 0.0;
      double sh = s->floor_w[c] + x;
      if (sh < offer(c))
        offer(c) = sh;
      if (s->three[k] && code_of(s, c, k) == PH_NODE) {
        const double *fc = ph_row(s->fph, s, c);
        for (int q = 0; q < 3; q++)
          s->safe_ph[4 * (size_t)c + (size_t)q] =
              dmin(s->safe_ph[4 * (size_t)c + (size_t)q], fc[q] + x / 3.0);
      }
    }
  }
#undef offer
  return HR_OK;
}

int hr__lease_safe_refresh(hr_lease_sys_t *s)
{
  if (s->n_stopped) {
    s->safe_dirty = 1;
    return HR_OK;
  }
  s->safe_dirty = 0;
  return hr__lease_safe_compute(s);
}

void hr__lease_cutoff_compute(hr_lease_sys_t *s, int64_t t)
{
  /* Cut off: every grantor the node has is stopped or cut off itself (a
   * dual-corded node that one running side can still reach keeps the
   * floor fallback: that side may cut it, and it renews through it).  A
   * stopped node's own lease falls to its floor, as without the option:
   * its parents count it by its children's commitments (least()), which
   * are what its subtree may draw. */
  for (size_t k = 0; k < s->n; k++) {
    int32_t a = s->par[k], b = s->parb[k];
    int ua = a >= 0 && (!s->running[a] || s->cutoff[a]);
    int ub = b < 0 || !s->running[b] || s->cutoff[b];
    uint8_t v = (uint8_t)(ua && ub);
    if (v && !s->cutoff[k])
      s->cut_ns[k] = t;
    s->cutoff[k] = v;
  }
}

/* An expired lease below a stopped coordinator becomes a standing lease of
 * its fallback (no expiry, or its running parent's): the value it already holds by cap_at(), made a
 * grant, so that a running coordinator below the stopped one (a rack under a
 * stopped row) keeps granting its children within it instead of seeing its
 * own lease, and so theirs, end.  Parents first (the system's order): a
 * node's children expire no later than it does. */
void hr__lease_fallback_at(hr_lease_sys_t *s, int64_t t)
{
  /* O(n) per call while a coordinator is stopped (degraded mode only). */
  if (!s->cfg.expiry_fallback || s->n_stopped == 0)
    return;
  for (size_t k = 0; k < s->n; k++) {
    /* (a stopped node's cap is its children's commitments, cap_at) */
    if (!s->cutoff[k] || !s->running[k] || is_root(s, k) || s->dead[k] || t < s->lease_exp_ns[k])
      continue;
    double fb = hr__lease_fallback_w(s, k);
    if (!(fb > s->floor_w[k]))
      continue; /* it falls to its floor, as without the option */
    /* Nested like any grant: no later than the lease of a running
     * (non-root) parent, so a stopped node's own standing lease follows
     * its parent's renewals, one at a time. */
    int64_t en = INT64_MAX;
    int32_t ps[2] = {s->par[k], s->parb[k]};
    for (int j = 0; j < 2; j++)
      if (ps[j] >= 0 && !s->dead[ps[j]] && s->running[ps[j]] && !is_root(s, (size_t)ps[j]) &&
          s->lease_exp_ns[ps[j]] < en)
        en = s->lease_exp_ns[ps[j]];
    if (en <= t)
      continue;
    if (s->ph_idx[k] >= 0) {
      double v[3];
      cur_phase(s, k, t, v);
      memcpy(s->pph + 4 * (size_t)s->ph_idx[k], v, sizeof v);
    }
    int64_t e = s->lease_exp_ns[k];
    /* A drop at the expiry is a change the ramp counts from (ramp_from). */
    if (fb < s->lease_p_w[k] && e > s->last_change_ns[k])
      s->last_change_ns[k] = e;
    s->lease_p_w[k] = fb;
    s->lease_granted_ns[k] = e;
    s->lease_exp_ns[k] = en;
  }
}

/* A restarted coordinator r takes over the standing fallbacks below it as
 * its own grants: its own lease, if it ran out while r was stopped, becomes
 * its cap while stopped, lst (lph per conductor; cap_at before r ran again:
 * its children's commitments within its last grant), and each standing
 * fallback below a lease of the same value from t, nested as any grant
 * (expiry_for), parents first.  Every cost is O(n): a restart is rare.  The cut cascade that
 * follows in hr_lease_sys_set_running fits them to the budgets of now. */
void hr__lease_fallback_restart(hr_lease_sys_t *s, size_t r, double lst, const double *lph,
                                int64_t t)
{
  /* While stopped its cap, once its lease ran out, was its children's
   * commitments, which moved as they did (expiries, releases): its ramp
   * counts from now.  So also if it is dead now (random seed 2513): its
   * cap moved before it died, and the drop at its death, from a cap taken
   * as its floor, records no change; back, it would ramp from before. */
  if (!is_root(s, r) && t >= s->lease_exp_ns[r]) {
    s->last_change_ns[r] = t;
    if (!s->dead[r] && !(lst > s->floor_w[r])) {
      /* Its commitments were its floor: so is its lease now (not the
       * fallback of the grant it held before it stopped). */
      s->lease_p_w[r] = s->floor_w[r];
      if (s->ph_idx[r] >= 0)
        memcpy(s->pph + 4 * (size_t)s->ph_idx[r], ph_row(s->fph, s, r), 3 * sizeof(double));
    }
  }
  if (!is_root(s, r) && !s->dead[r] && t >= s->lease_exp_ns[r] && lst > s->floor_w[r]) {
    /* Nested as any grant; still cut off (a coordinator above is still
     * stopped), as a standing fallback: under its running parents only. */
    int64_t e = expiry_for(s, r, t);
    if (s->cutoff[r]) {
      e = INT64_MAX;
      int32_t ps[2] = {s->par[r], s->parb[r]};
      for (int j = 0; j < 2; j++)
        if (ps[j] >= 0 && !s->dead[ps[j]] && s->running[ps[j]] && !is_root(s, (size_t)ps[j]) &&
            s->lease_exp_ns[ps[j]] < e)
          e = s->lease_exp_ns[ps[j]];
    }
    s->last_change_ns[r] = t; /* its cap changes now (or drops, below) */
    if (e > t) {
      s->lease_p_w[r] = lst;
      if (s->ph_idx[r] >= 0)
        memcpy(s->pph + 4 * (size_t)s->ph_idx[r], lph, 3 * sizeof *lph);
      s->lease_granted_ns[r] = t;
      s->lease_exp_ns[r] = e;
    }
  }
  for (size_t k = 0; k < s->n; k++) {
    if (is_root(s, k) || s->dead[k])
      continue;
    int64_t e0 = s->lease_exp_ns[k];
    if (e0 == INT64_MAX && !s->cutoff[k]) {
      s->lease_granted_ns[k] = t;
      s->lease_exp_ns[k] = expiry_for(s, k, t);
    } else {
      /* Still cut off, or a lease its parent's hand-over shortened: nested
       * under its running parents' leases, as at the conversion. */
      int32_t ps[2] = {s->par[k], s->parb[k]};
      for (int j = 0; j < 2; j++)
        if (ps[j] >= 0 && !s->dead[ps[j]] && s->running[ps[j]] && !is_root(s, (size_t)ps[j]) &&
            s->lease_exp_ns[ps[j]] < s->lease_exp_ns[k] && s->lease_exp_ns[k] > t)
          s->lease_exp_ns[k] = s->lease_exp_ns[ps[j]] > t ? s->lease_exp_ns[ps[j]] : t;
    }
    /* A lease this ended at once drops now: its ramp counts from now. */
    if (e0 > t && s->lease_exp_ns[k] <= t && s->lease_p_w[k] > s->floor_w[k])
      s->last_change_ns[k] = t;
  }
}

int hr_lease_sys_safe_share(const hr_lease_sys_t *s, size_t node, double *total_w,
                            double phase_w[3])
{
  if (!s || node >= s->n || !total_w)
    return HR_ERR_INVALID_ARG;
  size_t k = (size_t)s->lidx[node];
  *total_w = s->safe_w[k];
  if (phase_w)
    for (int q = 0; q < 3; q++)
      phase_w[q] = s->ph_idx[k] >= 0 ? s->safe_ph[4 * k + (size_t)q] : INFINITY;
  return HR_OK;
}
