/* The rules every path of the lease system shares: what a node can be cut
 * to, settling a grant (ramp, dwell, damper, token), cuts and their cascade
 * (in total and per conductor), the site's grid-ramp envelope, the
 * post-condition, the first time, modes.  docs/lease.md. */
#include <stdlib.h>

#include "lease/lease_sys.h"

/* The least a parent can cut node c to at t, in total (returned) and, for a
 * node with per-phase tables, per conductor into lph (may be NULL).  With
 * every coordinator running that is c's floor.  A stopped coordinator
 * passes no cut down, so what its children hold is committed until it
 * expires (physically they may draw it); a running node passes cuts down,
 * but not past a stopped descendant.  Recursion depth is the tree's depth. */
double hr__lease_least(const hr_lease_sys_t *s, size_t c, int64_t t, double *lph)
{
  int32_t pi = s->ph_idx[c];
  size_t m = 0;
  const int32_t *ch = kids(s, c, &m);
  const double *f = pi >= 0 ? s->fph + 4 * (size_t)pi : NULL;
  if (s->n_stopped == 0 || m == 0) {
    if (lph && f)
      memcpy(lph, f, 3 * sizeof *lph);
    return s->floor_w[c];
  }
  double e = 0.0, eph[3] = {0.0, 0.0, 0.0}, w[3], xph[3] = {0.0, 0.0, 0.0};
  if (!s->running[c]) {
    for (size_t j = 0; j < m; j++) {
      size_t x = (size_t)ch[j];
      if (s->dead[x])
        continue;
      size_t mx = 0;
      kids(s, x, &mx);
      double v;
      if (mx && !s->running[x]) {
        v = hr__lease_least(s, x, t, xph);
      } else {
        v = cap_at(s, x, t);
        if (s->ph_idx[x] >= 0)
          cur_phase(s, x, t, xph);
      }
      e += v;
      contrib(s, x, c, v, xph, w);
      for (int q = 0; q < 3; q++)
        eph[q] += w[q];
    }
    if (e < s->floor_w[c])
      e = s->floor_w[c];
    if (f)
      for (int q = 0; q < 3; q++)
        eph[q] = eph[q] < f[q] ? f[q] : eph[q];
  } else {
    e = s->floor_w[c];
    if (f)
      memcpy(eph, f, sizeof eph);
    for (size_t j = 0; j < m; j++) {
      size_t x = (size_t)ch[j];
      size_t mx = 0;
      kids(s, x, &mx);
      if (s->dead[x] || mx == 0)
        continue;
      double v = hr__lease_least(s, x, t, xph);
      if (v == s->floor_w[x])
        continue;
      /* contrib() is linear: the part above x's floor. */
      if (s->ph_idx[x] >= 0) {
        const double *fx = ph_row(s->fph, s, x);
        for (int q = 0; q < 3; q++)
          xph[q] -= fx[q];
      }
      e += v - s->floor_w[x];
      contrib(s, x, c, v - s->floor_w[x], xph, w);
      for (int q = 0; q < 3; q++)
        eph[q] += w[q];
    }
  }
  if (lph && f)
    memcpy(lph, eph, sizeof eph);
  return e;
}

/* Applies the increase rules (mode, dwell, damper, ramp, hysteresis) and the
 * token to a proposed grant, records the change, writes the lease. */
double hr__lease_settle(hr_lease_sys_t *s, size_t k, double want, int64_t t, int64_t expiry)
{
  const hr_coord_cfg_t *cc = s->ccfg[s->par[k]];
  double old = cap_at(s, k, t);
  double flo = s->floor_w[k];
  double g = want;
  double lph[3];
  int ph = s->ph_idx[k] >= 0;
  double lst = hr__lease_least(s, k, t, ph ? lph : NULL);
  int64_t last = ramp_from(s, k, t);
  if (g < lst)
    g = lst;
  if (g > old) {
    if (s->mode != HR_MODE_NORMAL || t < s->hold_until_ns[k] || t - last < cc->dwell_ns) {
      g = old;
    } else {
      if (isfinite(cc->ramp_w_per_s)) {
        double allow = cc->ramp_w_per_s * ((double)(t - last) / NS_PER_S);
        double most = step_cap(cc, tier_token(s, k));
        allow = allow > most ? most : allow;
        double up = old + allow;
        if (g > up)
          g = up;
      }
      double q = quantize(s, k, g);
      g = q > old ? q : old;
      if (g - old < cc->hyst_w)
        g = old;
    }
  } else if (g < old) {
    /* Cuts apply at once; rounding down to the token keeps them safe. */
    g = quantize(s, k, g);
  }
  if (g < lst)
    g = lst;
  if (expiry <= t)
    g = flo;
  int dir = g > old ? 1 : g < old ? -1 : 0;
  if (dir != 0) {
    /* The damper counts direction changes inside a window (the draft: more
     * than 3 means oscillation) and freezes increases for a while. */
    int64_t last_dir = damp_dir(s->damp[k]);
    int64_t n_changes = damp_count(s->damp[k]);
    if (last_dir != 0 && dir != last_dir) {
      if (t - s->win_start_ns[k] > cc->damp_window_ns) {
        s->win_start_ns[k] = t;
        n_changes = 0;
      }
      if (n_changes < 255)
        n_changes++;
      if (n_changes > cc->damp_changes)
        s->hold_until_ns[k] = t + cc->damp_hold_ns;
    }
    s->damp[k] = damp_word(n_changes, dir);
    last = t;
  }
  s->last_change_ns[k] = last;
  s->lease_p_w[k] = g;
  s->lease_granted_ns[k] = t;
  s->lease_exp_ns[k] = g > flo ? expiry : t;
  if (ph)
    set_pph(s, k, g, lst, lph);
  return g;
}

/* Lowers k's unexpired grant to g (never below what it can be cut to),
 * keeping its expiry; its per-conductor caps shrink in proportion above
 * their least.  An expired lease below a stopped coordinator whose cap is
 * still its safe-share fallback (cap_at: at most its last grant) has that
 * last grant lowered instead, so the fallback follows: a cut cascade must
 * reach it too, or a node restarted into its parent's fallback keeps more
 * than the parent has (random seed 5890).  Returns 1 when the cap fell. */
int hr__lease_cut(hr_lease_sys_t *s, size_t k, double g, int64_t t)
{
  double lph[3];
  int ph = s->ph_idx[k] >= 0;
  double lst = hr__lease_least(s, k, t, ph ? lph : NULL);
  if (g < lst)
    g = lst;
  double old = s->lease_p_w[k];
  if (t < s->lease_exp_ns[k]) {
    if (!(g < old))
      return 0;
  } else if (!(s->cfg.expiry_fallback && s->n_stopped && !s->dead[k] && g < cap_at(s, k, t))) {
    return 0;
  }
  if (ph) {
    double *p = s->pph + 4 * (size_t)s->ph_idx[k];
    double f = old > lst ? (g - lst) / (old - lst) : 0.0;
    for (int q = 0; q < 3; q++) {
      double v = lph[q] + f * (p[q] - lph[q]);
      p[q] = v < p[q] ? v : p[q];
    }
  }
  s->lease_p_w[k] = g;
  s->damp[k] = damp_word(damp_count(s->damp[k]), -1);
  s->last_change_ns[k] = t;
  return 1;
}

/* Makes n children's grants alloc[] fit the conductor limits lim[3] of
 * their three-phase parent, where child j loads conductor q with
 * ml[3j+q] + ms[3j+q] (alloc[j] - items[j].flo_w): the part above each
 * child's least is scaled on an overloaded conductor, phase by phase (a
 * scaling only lowers the other conductors' loads, so the earlier ones stay
 * within their limits).  A few shrinking retries absorb rounding; what is
 * still over after them goes to the least.  Returns 1 when it cut. */
int hr__lease_fit_phases(size_t n, const hr__item_t *it, const double *ml, const double *ms,
                         const double lim[3], double *alloc)
{
  int cut = 0;
  for (int q = 0; q < 3; q++) {
    for (int tries = 0; tries < 4; tries++) {
      double base = 0.0, above = 0.0;
      for (size_t j = 0; j < n; j++) {
        base += ml[3 * j + (size_t)q];
        above += ms[3 * j + (size_t)q] * (alloc[j] - it[j].flo_w);
      }
      if (base + above <= lim[q])
        break;
      cut = 1;
      double f = above > 0.0 ? (lim[q] - base) / above : 0.0;
      if (!(f > 0.0))
        f = 0.0;
      if (f > 1.0)
        f = 1.0;
      f *= 1.0 - (double)tries * 1e-12;
      if (tries == 3)
        f = 0.0;
      for (size_t j = 0; j < n; j++)
        if (ms[3 * j + (size_t)q] > 0.0)
          alloc[j] = it[j].flo_w + f * (alloc[j] - it[j].flo_w);
    }
  }
  return cut;
}

/* The load model of child c of p (j-th slot of the scratch): its least per
 * conductor and load per watt above it.  fresh: c is about to be granted
 * anew and takes the shape of its demand (sph); otherwise it is only cut,
 * and its present per-conductor caps shrink in proportion (cut_lease). */
void hr__lease_child_model(hr_lease_sys_t *s, size_t c, size_t p, int64_t t, double lst,
                           const double *lph, int fresh, size_t j)
{
  double *ml = s->ml + 3 * j, *ms = s->ms + 3 * j;
  uint8_t code = code_of(s, c, p);
  if (s->dead[c]) {
    ml[0] = ml[1] = ml[2] = ms[0] = ms[1] = ms[2] = 0.0;
    return;
  }
  if (code != PH_NODE) {
    const double *w = PH_W[code];
    for (int q = 0; q < 3; q++) {
      ml[q] = w[q] * lst;
      ms[q] = w[q];
    }
    return;
  }
  const double *sh = ph_row(s->sph, s, c);
  double cap = cap_at(s, c, t), cur[3];
  cur_phase(s, c, t, cur);
  for (int q = 0; q < 3; q++) {
    ml[q] = lph[q];
    if (fresh)
      ms[q] = sh[q];
    else
      ms[q] = cap > lst && cur[q] > lph[q] ? (cur[q] - lph[q]) / (cap - lst) : 0.0;
  }
}

/* Makes the unexpired grants of p's children fit p's cap (total and per
 * conductor) by cutting lowest priority / highest bucket first; pushes the
 * children that were cut and have children onto the work list (*top).  A
 * stopped or dead coordinator passes no cut down.  Returns 1 when it cut. */
int hr__lease_fit_node(hr_lease_sys_t *s, size_t p, int64_t t, size_t *top)
{
  size_t n = 0;
  const int32_t *ch = kids(s, p, &n);
  if (n == 0 || s->dead[p] || !s->running[p])
    return 0;
  double avail = avail_at(s, p, t), sum = 0.0;
  int three = s->three[p];
  for (size_t j = 0; j < n; j++) {
    size_t c = (size_t)ch[j];
    double lph[3] = {0.0, 0.0, 0.0};
    double cap = s->dead[c] ? 0.0 : cap_at(s, c, t);
    double lst = s->dead[c] ? 0.0 : hr__lease_least(s, c, t, s->ph_idx[c] >= 0 ? lph : NULL);
    if (lst > cap)
      lst = cap;
    s->items[j].dem_w = s->alloc[j] = cap;
    s->items[j].flo_w = lst;
    s->items[j].prio = s->prio[c];
    sum += cap;
    if (three)
      hr__lease_child_model(s, c, p, t, lst, lph, 0, j);
  }
  int cut = 0;
  if (sum > avail) {
    hr__cut_high_bucket(n, s->items, s->ccfg[p]->bucket_w, sum - avail, s->alloc, s->scratch);
    cut = 1;
  }
  if (three) {
    double lim[3];
    phase_avail(s, p, t, s->budget[p].phase_w, lim);
    cut |= hr__lease_fit_phases(n, s->items, s->ml, s->ms, lim, s->alloc);
  }
  if (!cut)
    return 0;
  ch = kids(s, p, &n);
  for (size_t j = 0; j < n; j++) {
    size_t c = (size_t)ch[j], m = 0;
    if (s->alloc[j] < s->items[j].dem_w && hr__lease_cut(s, c, s->alloc[j], t)) {
      kids(s, c, &m);
      if (m && top && !s->queued[c]) {
        s->queued[c] = 1;
        s->work[(*top)++] = (int32_t)c;
      }
    }
  }
  return 1;
}

/* The cut cascade from p down: every node whose grant fell has its
 * children fitted in turn, without recursion (a work list of at most one
 * entry per node: a queued node is not queued again). */
void hr__lease_fit_from(hr_lease_sys_t *s, size_t p, int64_t t)
{
  size_t top = 0;
  s->queued[p] = 1;
  s->work[top++] = (int32_t)p;
  while (top) {
    size_t k = (size_t)s->work[--top];
    s->queued[k] = 0;
    hr__lease_fit_node(s, k, t, &top);
  }
}

/* Sum of the caps of root k's children at t (the site's granted total). */
double hr__lease_granted_under(const hr_lease_sys_t *s, size_t k, int64_t t)
{
  size_t m = 0;
  const int32_t *ch = kids(s, k, &m);
  double g = 0.0;
  for (size_t j = 0; j < m; j++)
    g += cap_at(s, (size_t)ch[j], t);
  return g;
}

/* The system's first time: caps that never changed count their ramp from
 * it (an increase right after creation is ramp-limited like any other), and
 * a site's ramp envelope starts at what is granted then. */
void hr__lease_start_at(hr_lease_sys_t *s, int64_t t)
{
  /* Every call that gives a time comes here first: expired leases below a
   * stopped coordinator become their standing fallbacks (safe.c). */
  hr__lease_fallback_at(s, t);
  if (s->started)
    return;
  s->started = 1;
  for (size_t k = 0; k < s->n; k++) {
    s->last_change_ns[k] = t;
    if (is_root(s, k)) {
      s->root_prev_ns[k] = t;
      s->root_prev_w[k] = hr__lease_granted_under(s, k, t);
    }
  }
}

/* The cut cascade over the whole tree, parents before children (the
 * system's order is topological): a dual-corded child is fitted after both
 * of its parents have cut it. */
void hr__lease_cut_all(hr_lease_sys_t *s, int64_t t)
{
  for (size_t k = 0; k < s->n; k++)
    hr__lease_fit_node(s, k, t, NULL);
}

/* 1 when k's lease cannot be reached: a live parent of it is stopped (it
 * passes nothing down, so what it granted stays until it expires). */
static int unreachable(const hr_lease_sys_t *s, size_t k)
{
  int32_t a = s->par[k], b = s->parb[k];
  return s->n_stopped &&
         ((a >= 0 && !s->dead[a] && !s->running[a]) || (b >= 0 && !s->dead[b] && !s->running[b]));
}

/* 1 when k is dead by a tripped device only (not by a lost feed): it is
 * dead and its own feed, and a parent's, still carries. */
static int dead_by_trip(const hr_lease_sys_t *s, size_t k)
{
  if (!s->dead[k])
    return 0;
  const unsigned feeds = s->feeds_lost;
  if (feeds == 0)
    return 1;
  unsigned f = tnode(s, k)->feed;
  if ((f == HR_FEED_A || f == HR_FEED_B) && (f & feeds))
    return 0;
  return !(f == HR_FEED_AB && (feeds & HR_FEED_AB) == HR_FEED_AB);
}

/* Budgets from the devices' state and the feeds, then every grant that no
 * longer fits is cut at once, and the leases of the nodes a tripped device
 * cut off are revoked (a lost feed revokes every lease by its mode). */
int hr__lease_apply_budgets(hr_lease_sys_t *s, int64_t t)
{
  int rc = hr__lease_budgets_all(s);
  if (rc != HR_OK)
    return rc;
  for (size_t k = 0; k < s->n; k++)
    /* A node's own grant never exceeds its budget. */
    if (!is_root(s, k) && s->lease_p_w[k] > s->budget[k].limit_w)
      hr__lease_cut(s, k, s->budget[k].limit_w, t);
  hr__lease_cut_all(s, t);
  /* Only a lease still running is dropped, so that budgets applied again
   * leave a revoked one (and its record of the drop) as it is. */
  if (s->any_dead)
    for (size_t k = 0; k < s->n; k++)
      if (!is_root(s, k) && t < s->lease_exp_ns[k] && dead_by_trip(s, k) && !unreachable(s, k))
        hr__lease_drop(s, k, t);
  /* A node back from the dead (a feed restored, a device reclosed) below a
   * stopped coordinator still holds the grant it had when it died, made for
   * a subtree that has since carried nothing, and perhaps above floors
   * lowered meanwhile; no running grantor can revoke it.  Its own
   * coordinator cuts it as a revocation would (a cut never raises), so it
   * comes back at what its subtree holds, not at a grant that no longer
   * applies: no growth below a stopped coordinator (random seed 2146). */
  if (s->any_revived) {
    for (size_t k = 0; k < s->n; k++) {
      if (s->revived[k] && !is_root(s, k) && unreachable(s, k))
        hr__lease_drop(s, k, t);
      s->revived[k] = 0;
    }
    s->any_revived = 0;
  }
  /* A grant made while one parent of a dual-corded node was dead (a lost
   * feed, a trip) was nested under the other only (expiry_for); back, the
   * parent's own lease bounds it again: no grant outlives a running
   * grantor's lease.  Parents first, so it reaches every level. */
  for (size_t k = 0; k < s->n; k++) {
    if (is_root(s, k) || s->dead[k] || !s->running[k])
      continue;
    int64_t pe = s->lease_exp_ns[k];
    size_t m = 0;
    const int32_t *ch = kids(s, k, &m);
    for (size_t j = 0; j < m; j++) {
      size_t c = (size_t)ch[j];
      if (!s->dead[c] && s->lease_exp_ns[c] > pe && s->lease_exp_ns[c] > t)
        s->lease_exp_ns[c] = pe > t ? pe : t;
    }
  }
  return HR_OK;
}

/* The most root k's children may hold in total at t under the site's grid
 * ramp limit (INFINITY without one), given g_now granted just before.  The
 * envelope grows at max_ramp_w_per_s from its last value, however often it
 * is asked (an allowance too small for a token is not lost but carried),
 * and never more than a window's worth (ramp_window_s, or one token of the
 * children's tier if that is larger) above what is granted: so over any
 * span the total rises at most max_ramp x (span + window).  Cuts are not
 * limited.  Advances the envelope to t. */
double hr__lease_grid_env(hr_lease_sys_t *s, size_t k, int64_t t, double g_now)
{
  const hr_grid_limits_t *gl = tnode(s, k)->grid;
  if (!gl || !(gl->max_ramp_w_per_s > 0.0))
    return INFINITY;
  /* The grants are the leaves' watts; the site's input moves up to
   * 1 / eff_ramp as fast (the supplies' lowest marginal efficiency,
   * budget.eff_ramp, else eff). */
  double r = gl->max_ramp_w_per_s * hr__budget_ramp_eff(&s->cfg.budget);
  double win = gl->ramp_window_s > 0.0 ? gl->ramp_window_s : 1.0;
  size_t m = 0;
  const int32_t *ch = kids(s, k, &m);
  double tok = 0.0;
  for (size_t j = 0; j < m; j++)
    tok = tier_token(s, (size_t)ch[j]) > tok ? tier_token(s, (size_t)ch[j]) : tok;
  double burst = r * win > tok ? r * win : tok;
  double e = s->root_prev_w[k];
  if (t > s->root_prev_ns[k])
    e += r * ((double)(t - s->root_prev_ns[k]) / NS_PER_S);
  if (e > g_now + burst)
    e = g_now + burst;
  if (e < g_now)
    e = g_now;
  /* At its top (a window above what is granted) the envelope stays there
   * while the grants stay: the rebalance's skip may then ignore it. */
  s->env_top = e == g_now + burst;
  if (t >= s->root_prev_ns[k]) {
    s->root_prev_w[k] = e;
    s->root_prev_ns[k] = t;
  }
  return e;
}

/* Shortens the leases below k to k's expiry (through running coordinators:
 * a stopped one passes nothing down, and k's own expiry was kept for what
 * it committed).  A lease that ends now drops to its floor. */
void hr__lease_shorten(hr_lease_sys_t *s, size_t k, int64_t t)
{
  size_t top = 0;
  s->work[top++] = (int32_t)k;
  while (top) {
    size_t p = (size_t)s->work[--top];
    if (!s->running[p] || s->dead[p])
      continue;
    int64_t pe = s->lease_exp_ns[p];
    size_t m = 0;
    const int32_t *ch = kids(s, p, &m);
    for (size_t j = 0; j < m; j++) {
      size_t c = (size_t)ch[j];
      if (s->lease_exp_ns[c] > pe && s->lease_exp_ns[c] > t) {
        s->lease_exp_ns[c] = pe > t ? pe : t;
        size_t mc = 0;
        kids(s, c, &mc);
        if (mc)
          s->work[top++] = (int32_t)c;
      }
    }
  }
}

static void note_clamp(hr_lease_sys_t *s, size_t k, double excess, int64_t t)
{
  s->stats.clamps++;
  if (excess > s->stats.clamp_max_w)
    s->stats.clamp_max_w = excess;
  s->stats.clamp_node = (size_t)s->tidx[k];
  s->stats.clamp_ns = t;
  if (s->cfg.notify)
    s->cfg.notify(s->cfg.notify_user, s->mode, s->events | s->auto_events | HR_EVENT_CLAMP, t);
}

/* Excess [W] of node k's children at t over what k may give: in total, on
 * any conductor; 0 within the tolerance (1e-9 of the limit + 1 µW: sums
 * in a different order differ by rounding).  Also fixes a child lease that
 * outlives k's (*nest = 1). */
static double excess_at(hr_lease_sys_t *s, size_t k, int64_t t, int *nest)
{
  size_t m = 0;
  const int32_t *ch = kids(s, k, &m);
  double avail = avail_at(s, k, t), sum = 0.0, ph[3] = {0.0, 0.0, 0.0}, w[3],
         cur[3] = {0.0, 0.0, 0.0};
  int three = s->three[k];
  int64_t pe = is_root(s, k) ? INT64_MAX : s->lease_exp_ns[k];
  for (size_t j = 0; j < m; j++) {
    size_t c = (size_t)ch[j];
    if (s->dead[c])
      continue;
    if (s->lease_exp_ns[c] > pe && s->lease_exp_ns[c] > t) {
      s->lease_exp_ns[c] = pe > t ? pe : t;
      *nest = 1;
    }
    double v = cap_at(s, c, t);
    if (s->ph_idx[c] >= 0)
      cur_phase(s, c, t, cur);
    size_t mc = 0;
    kids(s, c, &mc);
    if (!s->running[c] && mc) {
      /* A stopped node grants nothing more: what its subtree may draw is
       * what its children hold (its least), however much its own lease says. */
      double lc[3] = {0.0, 0.0, 0.0};
      double l = hr__lease_least(s, c, t, s->ph_idx[c] >= 0 ? lc : NULL);
      v = l < v ? l : v;
      for (int q = 0; q < 3; q++)
        cur[q] = lc[q] < cur[q] ? lc[q] : cur[q];
    }
    sum += v;
    if (three) {
      contrib(s, c, k, v, cur, w);
      for (int q = 0; q < 3; q++)
        ph[q] += w[q];
    }
  }
  double lim[3] = {INFINITY, INFINITY, INFINITY};
  if (three)
    phase_avail(s, k, t, s->budget[k].phase_w, lim);
  int over = sum - avail > 1e-9 * avail + 1e-6;
  for (int q = 0; q < 3; q++)
    over |= ph[q] - lim[q] > 1e-9 * lim[q] + 1e-6;
  if (!over)
    return 0.0;
  /* Only what could have been cut counts: floors are never refused, and
   * what a stopped coordinator committed cannot be cut (its least). */
  double lsum = 0.0, lph_sum[3] = {0.0, 0.0, 0.0}, lph[3] = {0.0, 0.0, 0.0};
  for (size_t j = 0; j < m; j++) {
    size_t c = (size_t)ch[j];
    if (s->dead[c])
      continue;
    double v = hr__lease_least(s, c, t, s->ph_idx[c] >= 0 ? lph : NULL);
    lsum += v;
    if (three) {
      contrib(s, c, k, v, lph, w);
      for (int q = 0; q < 3; q++)
        lph_sum[q] += w[q];
    }
  }
  double top = avail > lsum ? avail : lsum;
  double ex = sum - top;
  ex = ex > 1e-9 * top + 1e-6 ? ex : 0.0;
  for (int q = 0; q < 3 && three; q++) {
    double l = lim[q] > lph_sum[q] ? lim[q] : lph_sum[q];
    double e = ph[q] - l;
    if (e > 1e-9 * l + 1e-6 && e > ex)
      ex = e;
  }
  return ex;
}

/* The post-condition at node k: if its children hold more than it may give
 * (in total or on a conductor), or a child's lease outlives k's, they are
 * cut (the cut cascade, and every child to what it can be cut to if that is
 * not enough), the event raised and counted: a defect then costs
 * performance and is seen, never a trip.  Returns 1 when it acted. */
int hr__lease_postcheck_node(hr_lease_sys_t *s, size_t k, int64_t t)
{
  size_t m = 0;
  const int32_t *ch = kids(s, k, &m);
  if (m == 0 || s->dead[k] || !s->running[k])
    return 0;
  int nest = 0;
  double ex = excess_at(s, k, t, &nest);
  if (ex == 0.0 && !nest)
    return 0;
  if (ex > 0.0) {
    hr__lease_fit_from(s, k, t);
    int again = 0;
    if (excess_at(s, k, t, &again) > 0.0) {
      ch = kids(s, k, &m);
      for (size_t j = 0; j < m; j++)
        if (!s->dead[ch[j]] && hr__lease_cut(s, (size_t)ch[j], 0.0, t))
          hr__lease_fit_from(s, (size_t)ch[j], t);
    }
  }
  if (nest)
    hr__lease_shorten(s, k, t);
  note_clamp(s, k, ex, t);
  return 1;
}

/* The post-condition over the whole tree, parents first.  fast: after the
 * fast rebalance, whose visited nodes are s->inner and whose servers with
 * a run of leaves were checked by their batch (batch_flush). */
void hr__lease_postcheck_all(hr_lease_sys_t *s, int64_t t, int fast)
{
  if (!fast) {
    for (size_t k = 0; k < s->n; k++)
      hr__lease_postcheck_node(s, k, t);
    return;
  }
  for (size_t i = 0; i < s->n_inner; i++)
    if (!s->chk[i])
      hr__lease_postcheck_node(s, (size_t)s->inner[i], t);
}

/* A node's lease drops to what it can be cut to at t: its floor, or what a
 * stopped coordinator below it committed (then its expiry is kept: the
 * commitments end with it).  Its children are cut and shortened to fit. */
void hr__lease_drop(hr_lease_sys_t *s, size_t k, int64_t t)
{
  double lph[3];
  int ph = s->ph_idx[k] >= 0;
  double lst = hr__lease_least(s, k, t, ph ? lph : NULL);
  double old = s->dead[k] ? s->floor_w[k] : cap_at(s, k, t);
  /* A lease that already ran out dropped at its expiry: keep that as its
   * last change before the grant is overwritten (ramp_from). */
  s->last_change_ns[k] = ramp_from(s, k, t);
  /* Never up: commitments above the present cap were never granted. */
  lst = lst < old ? lst : old;
  if (ph) {
    double *p = s->pph + 4 * (size_t)s->ph_idx[k];
    for (int q = 0; q < 3; q++)
      p[q] = lph[q] < p[q] ? lph[q] : p[q];
  }
  s->lease_p_w[k] = lst;
  if (lst <= s->floor_w[k] || t >= s->lease_exp_ns[k])
    s->lease_exp_ns[k] = t;
  if (lst < old) {
    s->damp[k] = damp_word(damp_count(s->damp[k]), -1);
    s->last_change_ns[k] = t;
  }
}

/* Demand of three-phase node k per conductor from its children's demands
 * dem[] (d: their sum): each conductor's is held to the conductor's limit
 * (a phase cannot carry more, however much the others have room), the
 * total follows (the part above the floors in proportion), and the node's
 * shape (sph: load per conductor per watt above its floor) is set from it,
 * for its parent's split and its own per-conductor caps.  Returns the
 * total. */
double hr__lease_phase_demand(hr_lease_sys_t *s, size_t k, const double *dem, double d)
{
  size_t m = 0;
  const int32_t *ch = kids(s, k, &m);
  double raw[3] = {0.0, 0.0, 0.0}, w[3];
  for (size_t j = 0; j < m; j++) {
    size_t c = (size_t)ch[j];
    if (s->dead[c])
      continue;
    contrib(s, c, k, dem[j], s->ph_idx[c] >= 0 ? ph_row(s->dph, s, c) : NULL, w);
    for (int q = 0; q < 3; q++)
      raw[q] += w[q];
  }
  const double *f = ph_row(s->fph, s, k), *lim = s->budget[k].phase_w;
  double cl[3], a_raw = 0.0, a_cl = 0.0, flo = s->floor_w[k];
  for (int q = 0; q < 3; q++) {
    double l = lim[q] > f[q] ? lim[q] : f[q];
    cl[q] = raw[q] < l ? raw[q] : l;
    cl[q] = cl[q] > f[q] ? cl[q] : f[q];
    a_raw += (raw[q] > f[q] ? raw[q] : f[q]) - f[q];
    a_cl += cl[q] - f[q];
  }
  if (a_raw > 0.0 && a_cl < a_raw && d > flo)
    d = flo + (d - flo) * (a_cl / a_raw);
  if (d > flo && a_cl > 0.0) {
    double *sh = s->sph + 4 * (size_t)s->ph_idx[k];
    for (int q = 0; q < 3; q++)
      sh[q] = (cl[q] - f[q]) / (d - flo);
  }
  return d;
}

/* ---- modes ---------------------------------------------------------------------- */

static hr_mode_t mode_for(const hr_lease_sys_t *s, unsigned ev)
{
  /* With feed_loss_budgets the lost side's nodes are dead (budget 0) and
   * every grant under a surviving feed already fits that feed's limits: a
   * dual-corded load counts in full on both sides (orchestration.md §3.5,
   * "each feed must be capped on its own"), so revoking every lease would
   * only throw away work the survivor can carry. */
  if ((ev & HR_EVENT_FEED_LOSS) && !s->cfg.feed_loss_budgets)
    return HR_MODE_PROTECTION;
  /* A utility loss with every root's supply known (hr_lease_sys_set_supply)
   * is held by the supplies' ratings in the budgets: nothing is left for
   * degraded mode's blanket cut and freeze to guard (docs/lease.md). */
  unsigned deg = HR_EVENT_TELEMETRY_LOSS | HR_EVENT_COORD_LOSS;
  if (!s->sup_all)
    deg |= HR_EVENT_UTILITY_LOSS;
  if (ev & deg)
    return HR_MODE_DEGRADED;
  return HR_MODE_NORMAL;
}

/* Protection: every lease revoked at once, each holder at its floor, except
 * what cannot be reached: the leases granted by a stopped coordinator stay
 * (it passes nothing down), and a node above one keeps what it committed. */
void hr__lease_revoke_all(hr_lease_sys_t *s, int64_t t)
{
  for (size_t k = 0; k < s->n; k++) {
    if (is_root(s, k) || unreachable(s, k))
      continue;
    hr__lease_drop(s, k, t);
  }
  /* A dual-corded node that one stopped side still holds is not dropped,
   * but its running side was, perhaps below it (a lease counts in full on
   * both sides): that side cuts it to fit, as a rebalance would (held()). */
  hr__lease_cut_all(s, t);
}

static void enter_mode(hr_lease_sys_t *s, hr_mode_t m, int64_t t)
{
  if (m == s->mode)
    return;
  s->mode = m;
  if (m == HR_MODE_PROTECTION)
    hr__lease_revoke_all(s, t);
  else if (m == HR_MODE_DEGRADED)
    hr__lease_cut_all(s, t); /* the roots' budgets fell by degraded_frac */
  if (s->cfg.notify)
    s->cfg.notify(s->cfg.notify_user, m, s->events | s->auto_events, t);
}

/* The mode follows the events (the caller's and the system's own): it
 * worsens at once, and improves one step at a time, each only after the
 * events have been clear (or milder) for stable_ns. */
void hr__lease_update_mode(hr_lease_sys_t *s, int64_t t)
{
  unsigned ev = s->events | s->auto_events;
  hr_mode_t want = mode_for(s, ev);
  if (ev != s->ev_seen || want > s->mode)
    s->calm_since_ns = t;
  s->ev_seen = ev;
  if (want > s->mode) {
    enter_mode(s, want, t);
  } else if (want < s->mode && t - s->calm_since_ns >= s->cfg.stable_ns) {
    enter_mode(s, (hr_mode_t)(s->mode - 1), t);
    s->calm_since_ns = t;
  }
}

void hr__lease_model_children(hr_lease_sys_t *s, size_t k, int64_t t, const int32_t *ch, size_t m)
{
  for (size_t j = 0; j < m; j++) {
    size_t c = (size_t)ch[j];
    double lph[3];
    const double *lp = NULL;
    if (code_of(s, c, k) == PH_NODE) {
      if (s->n_stopped) {
        hr__lease_least(s, c, t, lph);
        lp = lph;
      } else {
        lp = ph_row(s->fph, s, c);
      }
    }
    hr__lease_child_model(s, c, k, t, s->items[j].flo_w, lp, !(s->n_stopped && held(s, c)), j);
  }
}
