/* The rebalance in its reference form: the specification that the fast form
 * (rebalance.c) must match bit for bit (tests/lease/test_fast.c).  It visits
 * every node in the system's order, settles every grant with the general
 * hr__lease_settle(), and keeps no batches, lanes or prefetches: read this
 * file to learn what a rebalance does.  docs/lease.md, "Leases". */
#include <stdlib.h>

#include "lease/lease_sys.h"

/* Bottom-up: a node's demand is the sum of its children's, per conductor
 * for a three-phase node (hr__lease_phase_demand), within its limit and
 * above its floor.  A dual-corded child counts in full on both sides (each
 * feed must carry it alone). */
static void demand_up(hr_lease_sys_t *s, const double *demand_w)
{
  for (size_t k = s->n; k-- > 0;) {
    size_t m = 0;
    const int32_t *ch = kids(s, k, &m);
    double d = 0.0;
    if (m == 0) {
      d = demand_w[s->tidx[k]]; /* by tree index */
      if (!(d >= 0.0))
        d = 0.0;
    } else if (s->ph_idx[k] >= 0) {
      for (size_t j = 0; j < m; j++) {
        s->alloc[j] = s->agg_w[ch[j]];
        d += s->alloc[j];
      }
      d = hr__lease_phase_demand(s, k, s->alloc, d);
    } else {
      for (size_t j = 0; j < m; j++)
        d += s->agg_w[ch[j]];
    }
    if (m > 0 && !is_root(s, k)) {
      d = quantize_up_v(d, s->floor_w[k], tier_token(s, k), s->tok_inv[s->tier[k]]);
      if (d > s->limit[k])
        d = s->limit[k];
    }
    if (d > s->limit[k])
      d = s->limit[k];
    if (d < s->floor_w[k])
      d = s->floor_w[k];
    if (s->ph_idx[k] >= 0) {
      /* Its demand per conductor as its parent sees it: floors plus the
       * shape times the part above them. */
      const double *f = ph_row(s->fph, s, k), *sh = ph_row(s->sph, s, k);
      double *dp = s->dph + 4 * (size_t)s->ph_idx[k];
      for (int q = 0; q < 3; q++)
        dp[q] = f[q] + sh[q] * (d - s->floor_w[k]);
    }
    s->agg_w[k] = d;
    s->offer_w[k] = INFINITY;
  }
}

/* What node k's coordinator splits at t: what it may give, less its
 * reserve, and at a site within the grid-ramp envelope. */
static double split_budget(hr_lease_sys_t *s, size_t k, const hr_coord_cfg_t *cc, int64_t t)
{
  double b = avail_at(s, k, t);
  if (isfinite(b)) /* an unrated node: 0 x INFINITY would be NAN */
    b -= cc->reserve_frac * b;
  if (is_root(s, k) && tnode(s, k)->grid) {
    double e = hr__lease_grid_env(s, k, t, hr__lease_granted_under(s, k, t));
    if (e < b)
      b = e;
  }
  return b;
}

/* Node k's children as its policy sees them: demand, least, priority.  A
 * held child (a stopped parent or process) can only be cut, so it is
 * planned at no more than its present cap. */
static void split_items(hr_lease_sys_t *s, size_t k, int64_t t)
{
  size_t m = 0;
  const int32_t *ch = kids(s, k, &m);
  for (size_t j = 0; j < m; j++) {
    size_t c = (size_t)ch[j];
    double dem = s->dead[c] ? 0.0 : s->agg_w[c];
    double flo = s->dead[c] ? 0.0 : hr__lease_least(s, c, t, NULL);
    if (s->n_stopped && held(s, c)) {
      double g = cap_at(s, c, t);
      dem = dem < g ? dem : g;
    }
    s->items[j].dem_w = dem < flo ? flo : dem;
    s->items[j].flo_w = flo;
    s->items[j].prio = s->prio[c];
  }
}

/* Every conductor of three-phase node k: each child's load on it is
 * modelled from its least and its shape (hr__lease_child_model), and the
 * parts above the least are scaled where a conductor is over. */
static void split_phases(hr_lease_sys_t *s, size_t k, int64_t t)
{
  size_t m = 0;
  const int32_t *ch = kids(s, k, &m);
  hr__lease_model_children(s, k, t, ch, m);
  double lim[3];
  phase_avail(s, k, t, s->budget[k].phase_w, lim);
  hr__lease_fit_phases(m, s->items, s->ml, s->ms, lim, s->alloc);
}

int hr__lease_sys_rebalance_ref(hr_lease_sys_t *s, const double *demand_w, int64_t t)
{
  if (!s || !demand_w)
    return HR_ERR_INVALID_ARG;
  hr__lease_skip_off(s); /* the reference never records or skips */
  hr__lease_start_at(s, t);
  hr__lease_update_mode(s, t);
  demand_up(s, demand_w);
  int prot = s->mode == HR_MODE_PROTECTION;
  /* Top-down: settle a node's own lease from its parents' offers (the
   * smallest), then split its cap among its children. */
  for (size_t k = 0; k < s->n; k++) {
    if (s->dead[k])
      continue;
    /* A node offered nothing (its parents are stopped, or it is a leaf its
     * parent already settled: NAN) keeps its lease, which runs out by
     * itself; one with a stopped parent or process is only cut. */
    double offer = s->offer_w[k];
    if (!is_root(s, k) && isfinite(offer)) {
      double want = prot ? 0.0 : offer;
      if (s->n_stopped && held(s, k)) {
        hr__lease_cut(s, k, want, t);
        nest_held(s, k, t);
      } else
        hr__lease_settle(s, k, want, t, expiry_for(s, k, t));
    }
    size_t m = 0;
    const int32_t *ch = kids(s, k, &m);
    if (m == 0 || !s->running[k])
      continue;
    const hr_coord_cfg_t *cc = s->ccfg[k];
    double b = split_budget(s, k, cc, t);
    split_items(s, k, t);
    hr__policy_alloc(cc, &s->pstate[k], m, s->items, b, s->limit[k], s->alloc, s->scratch);
    if (s->three[k])
      split_phases(s, k, t);
    if (s->leafkids[k]) {
      /* Single-parent leaves (GPUs under a server) are settled here, with
       * the parent's expiry known. */
      int64_t pe = is_root(s, k) ? INT64_MAX : s->lease_exp_ns[k];
      for (size_t j = 0; j < m; j++) {
        size_t c = (size_t)ch[j];
        if (s->dead[c])
          continue;
        double want = prot ? 0.0 : s->alloc[j];
        int64_t e = t + tier_ttl(s, c);
        if (s->n_stopped && held(s, c)) {
          hr__lease_cut(s, c, want, t);
          nest_held(s, c, t);
        } else
          hr__lease_settle(s, c, want, t, e < pe ? e : pe);
        s->offer_w[c] = NAN;
      }
      continue;
    }
    for (size_t j = 0; j < m; j++) {
      size_t c = (size_t)ch[j];
      if (!isnan(s->offer_w[c]) && s->alloc[j] < s->offer_w[c])
        s->offer_w[c] = s->alloc[j];
    }
  }
  hr__lease_postcheck_all(s, t, 0);
  s->stats.rebalances++;
  return HR_OK;
}
