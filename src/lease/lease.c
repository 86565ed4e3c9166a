/* The lease system's API: configuration, run-time settings, budgets and
 * devices, views, modes, the request path and the in-process transport.
 * Design: orchestration.md §4 ("proposed design"), the draft's tiers
 * (upmu-spec.md), docs/lease.md. */
#include <stdlib.h>

#include "lease/lease_sys.h"

/* ---- defaults -------------------------------------------------------------- */

static void coord_defaults(hr_coord_cfg_t *c)
{
  memset(c, 0, sizeof *c);
  c->policy = HR_POLICY_PRIORITY;
  c->reserve_frac = 0.0;
  c->ramp_w_per_s = INFINITY;
  c->ramp_acc_ns = 1000000000;
  c->hyst_w = 0.0;
  c->dwell_ns = 0;
  c->damp_changes = 3; /* the draft: more than 3 direction changes = oscillation */
  c->damp_window_ns = 1000000000;
  c->damp_hold_ns = 1000000000;
  c->cap_frac = 0.99; /* Dynamo-style bands, orchestration.md §5 [M] */
  c->target_frac = 0.95;
  c->uncap_frac = 0.90;
  c->bucket_w = 100.0;
  c->t1_frac = 0.80; /* POLCA, orchestration.md §1.3 [M] */
  c->t2_frac = 0.90;
  c->uncap_pct = 0.05;
  c->prio_split = 1;
  c->low_cap_frac = 0.7;
  c->high_cap_frac = 0.85;
}

int hr__coord_cfg_check(const hr_coord_cfg_t *c)
{
  if ((unsigned)c->policy > HR_POLICY_TWO_THRESHOLD)
    return HR_ERR_INVALID_ARG;
  if (!(c->reserve_frac >= 0.0 && c->reserve_frac <= 0.5) || !(c->ramp_w_per_s > 0.0) ||
      c->ramp_acc_ns <= 0 || !(c->hyst_w >= 0.0) || c->dwell_ns < 0 || c->damp_changes < 1 ||
      c->damp_changes > 250 || c->damp_window_ns <= 0 || c->damp_hold_ns < 0 ||
      !(c->uncap_frac > 0.0 && c->uncap_frac < c->target_frac && c->target_frac < c->cap_frac &&
        c->cap_frac <= 1.0) ||
      !(c->bucket_w > 0.0) || !(c->t1_frac > 0.0 && c->t1_frac < c->t2_frac && c->t2_frac <= 1.0) ||
      !(c->uncap_pct >= 0.0 && c->uncap_pct < 1.0) ||
      !(c->low_cap_frac > 0.0 && c->low_cap_frac <= 1.0) ||
      !(c->high_cap_frac > 0.0 && c->high_cap_frac <= 1.0))
    return HR_ERR_RANGE;
  return HR_OK;
}

int hr_lease_cfg_init(hr_lease_cfg_t *cfg)
{
  if (!cfg)
    return HR_ERR_INVALID_ARG;
  memset(cfg, 0, sizeof *cfg);
  hr_budget_cfg_init(&cfg->budget);
  /* The draft's tiers: token 100 W / 1 kW / 10 kW / 1 MW; leases 10-50 ms at
   * the GPU, 50-200 ms at the rack (upmu-spec.md, "Orchestration"). */
  static const double tok[HR_TIER_COUNT] = {100.0, 1e3, 1e4, 1e6};
  static const int64_t ttl[HR_TIER_COUNT] = {50000000, 200000000, 1000000000, 5000000000};
  for (int k = 0; k < HR_TIER_COUNT; k++) {
    cfg->tier[k].token_w = tok[k];
    cfg->tier[k].ttl_ns = ttl[k];
  }
  coord_defaults(&cfg->coord);
  cfg->gpu_floor_frac = 0.3;
  cfg->degraded_frac = 0.9;
  cfg->stable_ns = 10000000000;
  return HR_OK;
}

hr_tier_t hr_lease_tier_of(hr_node_kind_t kind)
{
  switch (kind) {
  case HR_NODE_GPU:
    return HR_TIER_GPU;
  case HR_NODE_SERVER:
    return HR_TIER_RACK;
  case HR_NODE_RACK:
  case HR_NODE_PDU:
  case HR_NODE_BRANCH:
  case HR_NODE_BUSWAY:
    return HR_TIER_CLUSTER;
  default:
    return HR_TIER_SITE;
  }
}

const char *hr_lease_mode_name(hr_mode_t mode)
{
  switch (mode) {
  case HR_MODE_NORMAL:
    return "normal";
  case HR_MODE_DEGRADED:
    return "degraded";
  case HR_MODE_PROTECTION:
    return "protection";
  }
  return "unknown";
}

double hr_lease_cap_w(const hr_lease_t *l, int64_t t_ns)
{
  if (!l)
    return NAN;
  if (t_ns < l->expiry_ns)
    return l->p_w;
  return l->fall_w > l->floor_w ? l->fall_w : l->floor_w;
}

int hr_lease_phase_cap_w(const hr_lease_t *l, int64_t t_ns, double out[3])
{
  if (!l || !out)
    return HR_ERR_INVALID_ARG;
  if (t_ns < l->expiry_ns) {
    for (int q = 0; q < 3; q++)
      out[q] = l->phase_w[q];
    return HR_OK;
  }
  for (int q = 0; q < 3; q++)
    out[q] = l->fall_phase_w[q] > l->floor_phase_w[q] ? l->fall_phase_w[q] : l->floor_phase_w[q];
  return HR_OK;
}

int hr_lease_due(const hr_lease_t *l, int64_t t_ns)
{
  if (!l)
    return 1;
  if (l->expiry_ns <= l->granted_ns)
    return 1;
  /* Renew before half the lease time is used (orchestration.md §4).  In
   * unsigned arithmetic: a standing fallback lease (expiry INT64_MAX, lease.h
   * expiry_fallback) is longer than int64 can subtract. */
  uint64_t half = ((uint64_t)l->expiry_ns - (uint64_t)l->granted_ns) / 2u;
  return t_ns >= (int64_t)((uint64_t)l->granted_ns + half);
}

int hr_lease_sys_set_coord(hr_lease_sys_t *s, size_t k, const hr_coord_cfg_t *cfg)
{
  if (!s || !cfg || k >= s->n)
    return HR_ERR_INVALID_ARG;
  hr__lease_skip_off(s);
  k = (size_t)s->lidx[k];
  int rc = hr__coord_cfg_check(cfg);
  if (rc != HR_OK)
    return rc;
  if (!s->own_cfg) {
    s->own_cfg = calloc(s->n, sizeof *s->own_cfg);
    if (!s->own_cfg)
      return HR_ERR_NOMEM;
  }
  s->own_cfg[k] = *cfg;
  s->ccfg[k] = &s->own_cfg[k];
  return hr__lease_safe_refresh(s); /* its reserve changes its children's safe shares */
}

int hr_lease_sys_set_rated_100(hr_lease_sys_t *s, size_t k, int on, int64_t t)
{
  if (!s || k >= s->n)
    return HR_ERR_INVALID_ARG;
  hr__lease_skip_off(s);
  k = (size_t)s->lidx[k];
  hr__lease_start_at(s, t);
  unsigned char old = s->rated[k];
  s->rated[k] = on ? 1 : 0;
  int rc = hr__lease_budgets_all(s);
  if (rc == HR_OK)
    rc = hr__lease_check_floors(s, NULL);
  if (rc != HR_OK) {
    s->rated[k] = old;
    hr__lease_budgets_all(s);
    return rc;
  }
  hr__lease_safe_refresh(s);
  return hr__lease_apply_budgets(s, t);
}

/* Every flag first, then the budgets once: hr_lease_sys_set_rated_100 per
 * node recomputes every budget three times a call, O(n) each, so an agent
 * rating its 1,024 GPUs one at a time spent O(n^2) (0.24 s) at set-up. */
int hr_lease_sys_set_rated_100_many(hr_lease_sys_t *s, const size_t *nodes, size_t count, int on,
                                    int64_t t)
{
  if (!s || (count && !nodes))
    return HR_ERR_INVALID_ARG;
  for (size_t j = 0; j < count; j++)
    if (nodes[j] >= s->n)
      return HR_ERR_INVALID_ARG;
  if (count == 0)
    return HR_OK;
  hr__lease_skip_off(s);
  /* The old flags, by the system's node order, to put back on a refusal
   * (a node listed twice keeps its first old value). */
  unsigned char *old = malloc(s->n);
  if (!old)
    return HR_ERR_NOMEM;
  memcpy(old, s->rated, s->n);
  hr__lease_start_at(s, t);
  for (size_t j = 0; j < count; j++)
    s->rated[s->lidx[nodes[j]]] = on ? 1 : 0;
  int rc = hr__lease_budgets_all(s);
  if (rc == HR_OK)
    rc = hr__lease_check_floors(s, NULL);
  if (rc != HR_OK) {
    memcpy(s->rated, old, s->n);
    free(old);
    hr__lease_budgets_all(s);
    return rc;
  }
  free(old);
  hr__lease_safe_refresh(s);
  return hr__lease_apply_budgets(s, t);
}

int hr_lease_sys_set_floor(hr_lease_sys_t *s, size_t k, double floor_w, int64_t t)
{
  if (!s || k >= s->n || !(floor_w >= 0.0) || !isfinite(floor_w))
    return HR_ERR_INVALID_ARG;
  hr__lease_skip_off(s);
  k = (size_t)s->lidx[k];
  size_t m = 0;
  kids(s, k, &m);
  if (m)
    return HR_ERR_INVALID_ARG;
  hr__lease_start_at(s, t);
  /* Grants lifted to a raised floor lose their record of a drop by expiry:
   * keep it as their last change first (ramp_from). */
  /* Grants held at their floor are marked (queued[], clear between uses)
   * while the old floors are still known: hr__lease_follow_floors lowers
   * them with a floor that falls. */
  for (size_t j = 0; j < s->n; j++) {
    s->last_change_ns[j] = ramp_from(s, j, t);
    s->queued[j] = s->lease_p_w[j] == s->floor_w[j];
  }
  double old = s->floor_w[k];
  s->floor_w[k] = floor_w;
  if (floor_w != old)
    s->last_change_ns[k] = t;
  hr__lease_compute_floors(s, t);
  if (hr__lease_check_floors(s, NULL) != HR_OK) {
    s->floor_w[k] = old;
    hr__lease_compute_floors(s, t);
    memset(s->queued, 0, s->n);
    return HR_ERR_RANGE;
  }
  /* A raised floor is held at once: the holder's siblings make room.  A
   * grant that was only its floor follows a lowered one down, or it would
   * keep a share nobody granted (and bring it back when a lost feed
   * returns, in protection mode). */
  hr__lease_safe_refresh(s);
  hr__lease_follow_floors(s, t);
  hr__lease_lift_to_floors(s);
  hr__lease_cut_all(s, t);
  return HR_OK;
}

int hr_lease_sys_set_priority(hr_lease_sys_t *s, size_t k, int priority)
{
  if (!s || k >= s->n)
    return HR_ERR_INVALID_ARG;
  hr__lease_skip_off(s);
  k = (size_t)s->lidx[k];
  s->prio[k] = priority;
  return HR_OK;
}

void hr__lease_update_mode(hr_lease_sys_t *s, int64_t t);

int hr_lease_sys_set_running(hr_lease_sys_t *s, size_t k, int running, int64_t t)
{
  if (!s || k >= s->n)
    return HR_ERR_INVALID_ARG;
  hr__lease_skip_off(s);
  k = (size_t)s->lidx[k];
  hr__lease_start_at(s, t);
  unsigned char r = running ? 1 : 0;
  int restarted = r && !s->running[k];
  /* Its cap while stopped (its children's commitments, within its last
   * grant): a restarted coordinator takes over from there. */
  double lph[3] = {0.0, 0.0, 0.0}, lst = 0.0;
  if (restarted && s->cfg.expiry_fallback) {
    lst = cap_at(s, k, t);
    if (s->ph_idx[k] >= 0)
      cur_phase(s, k, t, lph);
  }
  if (s->running[k] != r)
    s->n_stopped += r ? (size_t)-1 : 1;
  s->running[k] = r;
  hr__lease_cutoff_compute(s, t);
  if (restarted && s->cfg.expiry_fallback)
    hr__lease_fallback_restart(s, k, lst, lph, t);
  if (s->n_stopped == 0 && s->safe_dirty)
    hr__lease_safe_refresh(s);
  /* Losing a coordinator is a mode event by itself (orchestration.md §3.5). */
  if (s->n_stopped)
    s->auto_events |= HR_EVENT_COORD_LOSS;
  else
    s->auto_events &= ~(unsigned)HR_EVENT_COORD_LOSS;
  hr__lease_update_mode(s, t);
  /* A stopped coordinator passed no cut down (the degraded budgets, a
   * budget that fell) and its parents could not cut below what it had
   * committed.  Back, it is reachable again: the cuts it held back apply
   * now, its own and its parents', before anything else is granted. */
  if (restarted)
    hr__lease_cut_all(s, t);
  return HR_OK;
}

int hr_lease_sys_running(const hr_lease_sys_t *s, size_t k)
{
  if (!s || k >= s->n)
    return -1;
  return s->running[s->lidx[k]];
}

/* ---- budgets and state ---------------------------------------------------------- */

int hr_lease_sys_observe(hr_lease_sys_t *s, size_t k, double i_a, double dt_s)
{
  if (!s || k >= s->n)
    return HR_ERR_INVALID_ARG;
  k = (size_t)s->lidx[k];
  if (!s->dev[k])
    return HR_OK;
  if (s->cfg.budget.cont_window_s > 0.0 && dt_s > 0.0 && isfinite(i_a) && i_a >= 0.0) {
    double p = hr_budget_power_w(tnode(s, k), i_a, s->cfg.budget.pf);
    if (isfinite(p))
      s->mean_w[k] += (p - s->mean_w[k]) * -expm1(-dt_s / s->cfg.budget.cont_window_s);
  }
  return hr_device_step(s->dev[k], i_a, dt_s);
}

int hr_lease_sys_device_status(const hr_lease_sys_t *s, size_t k, hr_device_status_t *out)
{
  if (!s || k >= s->n || !out)
    return HR_ERR_INVALID_ARG;
  const hr_device_t *d = s->dev[s->lidx[k]];
  if (!d)
    return HR_ERR_NOT_FOUND;
  hr_device_status(d, out);
  return HR_OK;
}

int hr_lease_sys_reclose(hr_lease_sys_t *s, size_t k, int64_t t)
{
  if (!s || k >= s->n)
    return HR_ERR_INVALID_ARG;
  hr__lease_skip_off(s);
  hr_device_t *d = s->dev[s->lidx[k]];
  if (!d)
    return HR_ERR_NOT_FOUND;
  hr__lease_start_at(s, t);
  hr_device_reclose(d);
  return hr__lease_apply_budgets(s, t);
}

int hr_lease_sys_update_budgets(hr_lease_sys_t *s, int64_t t)
{
  if (!s)
    return HR_ERR_INVALID_ARG;
  hr__lease_skip_off(s);
  hr__lease_start_at(s, t);
  return hr__lease_apply_budgets(s, t);
}

const hr_budget_t *hr_lease_sys_budget(const hr_lease_sys_t *s, size_t k)
{
  return s && k < s->n ? &s->budget[s->lidx[k]] : NULL;
}

/* hr_lease_sys_lease of node k (the system's order). */
const hr_lease_t *hr__lease_view(const hr_lease_sys_t *s, size_t k)
{
  /* The fields live in separate arrays; the copy is refreshed by every call
   * (s is const, its view array is not). */
  hr_lease_t *v = &s->view[k];
  v->p_w = s->lease_p_w[k];
  v->expiry_ns = s->lease_exp_ns[k];
  v->priority = s->prio[k];
  v->floor_w = s->floor_w[k];
  v->granted_ns = s->lease_granted_ns[k];
  for (int q = 0; q < 3; q++) {
    v->phase_w[q] = s->ph_idx[k] >= 0 ? ph_row(s->pph, s, k)[q] : INFINITY;
    v->floor_phase_w[q] = s->ph_idx[k] >= 0 ? ph_row(s->fph, s, k)[q] : INFINITY;
  }
  /* What it falls to (time does not enter for a running holder; a stopped
   * one's own lease falls to its floor, and hr_lease_sys_cap_w counts its
   * children's commitments instead). */
  v->fall_w = s->running[k] ? hr__lease_fallback_w(s, k) : v->floor_w;
  if (s->ph_idx[k] >= 0 && s->running[k] && v->fall_w > v->floor_w) {
    const double *p = ph_row(s->pph, s, k), *sf = s->safe_ph + 4 * k;
    for (int q = 0; q < 3; q++) {
      double x = p[q] < sf[q] ? p[q] : sf[q];
      v->fall_phase_w[q] = x > v->floor_phase_w[q] ? x : v->floor_phase_w[q];
    }
  } else {
    memcpy(v->fall_phase_w, v->floor_phase_w, sizeof v->fall_phase_w);
  }
  return v;
}

const hr_lease_t *hr_lease_sys_lease(const hr_lease_sys_t *s, size_t k)
{
  return s && k < s->n ? hr__lease_view(s, (size_t)s->lidx[k]) : NULL;
}

double hr_lease_sys_cap_w(const hr_lease_sys_t *s, size_t k, int64_t t)
{
  return s && k < s->n ? cap_at(s, (size_t)s->lidx[k], t) : NAN;
}

int hr_lease_sys_cap_w_many(const hr_lease_sys_t *s, const int32_t *nodes, size_t n, int64_t t,
                            double *out_w)
{
  if (n == 0)
    return HR_OK;
  if (!s || !nodes || !out_w)
    return HR_ERR_INVALID_ARG;
  int rc = HR_OK;
  /* cap_at's usual cases inline, for a live non-root lease: before its
   * expiry its grant; after it, with no coordinator stopped, its floor (the
   * expiry fallback and hr__lease_fallback_w need a stopped one; a grant at
   * its floor expires at once).  cap_at itself otherwise: the same value. */
  const int32_t *restrict lidx = s->lidx, *restrict par = s->par;
  const unsigned char *restrict dead = s->dead;
  const int64_t *restrict exp_ns = s->lease_exp_ns;
  const double *restrict lp_w = s->lease_p_w, *restrict floor_w = s->floor_w;
  const size_t n_nodes = s->n;
  const int none_stopped = s->n_stopped == 0;
  for (size_t j = 0; j < n; j++) {
    if (nodes[j] < 0 || (size_t)nodes[j] >= n_nodes) {
      out_w[j] = NAN;
      rc = HR_ERR_INVALID_ARG;
      continue;
    }
    const size_t k = (size_t)lidx[nodes[j]];
    if (dead[k] || par[k] < 0)
      out_w[j] = cap_at(s, k, t);
    else if (t < exp_ns[k])
      out_w[j] = lp_w[k];
    else
      out_w[j] = none_stopped ? floor_w[k] : cap_at(s, k, t);
  }
  return rc;
}

double hr_lease_sys_avail_w(const hr_lease_sys_t *s, size_t k, int64_t t)
{
  return s && k < s->n ? avail_at(s, (size_t)s->lidx[k], t) : NAN;
}

/* ---- the request path --------------------------------------------------------- */

int hr_lease_sys_request(hr_lease_sys_t *s, size_t c, double want_w, int64_t t, hr_lease_t *out)
{
  if (!s || c >= s->n || !(want_w >= 0.0))
    return HR_ERR_INVALID_ARG;
  hr__lease_skip_off(s);
  c = (size_t)s->lidx[c];
  if (is_root(s, c))
    return HR_ERR_INVALID_ARG;
  if (s->dead[c])
    return HR_ERR_STATE;
  hr__lease_start_at(s, t);
  hr__lease_update_mode(s, t);
  /* A stopped coordinator answers nothing; a stopped node asks nothing. */
  if (held(s, c))
    return HR_ERR_STATE;
  double hi = want_w;
  if (hi > s->limit[c])
    hi = s->limit[c];
  if (s->mode == HR_MODE_PROTECTION)
    hi = 0.0;
  int ph_c = s->ph_idx[c] >= 0;
  double lph[3] = {0.0, 0.0, 0.0};
  double lst = hr__lease_least(s, c, t, ph_c ? lph : NULL);
  int32_t ps[2] = {s->par[c], s->parb[c]};
  for (int j = 0; j < 2 && hi > lst; j++) {
    if (ps[j] < 0 || s->dead[ps[j]])
      continue;
    size_t p = (size_t)ps[j];
    const hr_coord_cfg_t *pc = s->ccfg[p];
    double avail = avail_at(s, p, t);
    /* (an unrated node's INFINITY keeps no reserve: 0 x INFINITY is NAN) */
    double room = isfinite(avail) ? avail - pc->reserve_frac * avail : avail;
    double ph[3] = {0.0, 0.0, 0.0}, w[3], cur[3] = {0.0, 0.0, 0.0}, others = 0.0;
    size_t n = 0;
    const int32_t *ch = kids(s, p, &n);
    /* O(fan-out): the caps of the siblings, expired ones at their floors. */
    for (size_t i = 0; i < n; i++) {
      size_t o = (size_t)ch[i];
      if (o == c || s->dead[o])
        continue;
      double g = cap_at(s, o, t);
      others += g;
      if (s->three[p]) {
        if (s->ph_idx[o] >= 0)
          cur_phase(s, o, t, cur);
        contrib(s, o, p, g, cur, w);
        for (int q = 0; q < 3; q++)
          ph[q] += w[q];
      }
    }
    room -= others;
    if (is_root(s, p)) {
      double e = hr__lease_grid_env(s, p, t, others + cap_at(s, c, t));
      if (e - others < room)
        room = e - others;
    }
    if (room < hi)
      hi = room;
    if (s->three[p]) {
      double lim[3];
      phase_avail(s, p, t, s->budget[p].phase_w, lim);
      uint8_t code = code_of(s, c, p);
      const double *sh = code == PH_NODE ? ph_row(s->sph, s, c) : NULL;
      for (int q = 0; q < 3; q++) {
        double r = lim[q] - ph[q];
        if (sh) {
          if (sh[q] > 0.0 && lst + (r - lph[q]) / sh[q] < hi)
            hi = lst + (r - lph[q]) / sh[q];
        } else if (PH_W[code][q] > 0.0 && r / PH_W[code][q] < hi) {
          hi = r / PH_W[code][q];
        }
      }
    }
  }
  hr__lease_settle(s, c, hi, t, expiry_for(s, c, t));
  size_t m = 0;
  kids(s, c, &m);
  if (m) {
    /* Cut what no longer fits and, when the grant ended sooner (a floor
     * grant ends at once), shorten what lies below. */
    hr__lease_fit_from(s, c, t);
    hr__lease_shorten(s, c, t);
  }
  for (int j = 0; j < 2; j++)
    if (ps[j] >= 0)
      hr__lease_postcheck_node(s, (size_t)ps[j], t);
  s->stats.requests++;
  if (out)
    *out = *hr__lease_view(s, c);
  return HR_OK;
}

int hr_lease_sys_release(hr_lease_sys_t *s, size_t c, int64_t t)
{
  if (!s || c >= s->n)
    return HR_ERR_INVALID_ARG;
  hr__lease_skip_off(s);
  c = (size_t)s->lidx[c];
  if (is_root(s, c))
    return HR_ERR_INVALID_ARG;
  hr__lease_start_at(s, t);
  hr__lease_drop(s, c, t);
  size_t m = 0;
  kids(s, c, &m);
  if (m) {
    hr__lease_fit_from(s, c, t);
    hr__lease_shorten(s, c, t);
  }
  /* Below a stopped coordinator a release lowers the commitments its
   * ancestors were counted at (least()): a node cut to them may no longer
   * have room for what its other children hold.  Fit every node again. */
  if (held(s, c))
    hr__lease_cut_all(s, t);
  return HR_OK;
}

int hr__lease_sys_osc(const hr_lease_sys_t *s, size_t k, int64_t out[5])
{
  if (!s || !out || k >= s->n)
    return HR_ERR_INVALID_ARG;
  k = (size_t)s->lidx[k];
  out[0] = s->last_change_ns[k];
  out[1] = s->win_start_ns[k];
  out[2] = s->hold_until_ns[k];
  out[3] = damp_dir(s->damp[k]);
  out[4] = damp_count(s->damp[k]);
  return HR_OK;
}

int hr_lease_sys_osc(const hr_lease_sys_t *s, size_t k, hr_lease_osc_t *out)
{
  if (!s || !out || k >= s->n)
    return HR_ERR_INVALID_ARG;
  k = (size_t)s->lidx[k];
  int64_t never = INT64_MIN / 2;
  out->last_change_ns = s->last_change_ns[k] == never ? INT64_MIN : s->last_change_ns[k];
  int64_t e = s->lease_exp_ns[k], from = s->last_change_ns[k];
  /* As ramp_from(), for any later t: a lease still running drops at its
   * expiry, which is when the ramp will count from if nothing changes first. */
  if (s->lease_p_w[k] > s->floor_w[k] && e > from && e != INT64_MIN && e != INT64_MAX)
    from = e;
  out->ramp_from_ns = from == never ? INT64_MIN : from;
  out->damp_window_ns = s->win_start_ns[k];
  out->hold_until_ns = s->hold_until_ns[k];
  out->last_dir = (int)damp_dir(s->damp[k]);
  out->n_changes = (int)damp_count(s->damp[k]);
  return HR_OK;
}

int hr_lease_sys_stats(const hr_lease_sys_t *s, hr_lease_stats_t *out)
{
  if (!s || !out)
    return HR_ERR_INVALID_ARG;
  *out = s->stats;
  return HR_OK;
}

int hr_lease_sys_set_events(hr_lease_sys_t *s, unsigned events, int64_t t)
{
  if (!s)
    return HR_ERR_INVALID_ARG;
  /* The agent calls this before every decision, mostly with the same
   * events: only a change of the events or the mode (which may cut or
   * revoke leases) may change what the next rebalance finds. */
  unsigned ev0 = s->events;
  hr_mode_t mode0 = s->mode;
  int started0 = s->started;
  hr__lease_start_at(s, t);
  s->events = events & ~(unsigned)HR_EVENT_CLAMP;
  hr__lease_update_mode(s, t);
  if (s->events != ev0 || s->mode != mode0 || !started0)
    hr__lease_skip_off(s);
  return HR_OK;
}

hr_mode_t hr_lease_sys_mode(const hr_lease_sys_t *s)
{
  return s ? s->mode : HR_MODE_NORMAL;
}

unsigned hr_lease_sys_events(const hr_lease_sys_t *s)
{
  return s ? s->events | s->auto_events : 0u;
}

unsigned hr__lease_feeds_lost(const hr_lease_sys_t *s)
{
  return s ? s->feeds_lost : 0u;
}

int hr__lease_dead(const hr_lease_sys_t *s, size_t k)
{
  return s && k < s->n && s->dead[s->lidx[k]];
}

int hr_lease_sys_set_feed_lost(hr_lease_sys_t *s, unsigned feeds, int64_t t)
{
  if (!s || feeds > HR_FEED_AB)
    return HR_ERR_INVALID_ARG;
  hr__lease_skip_off(s);
  hr__lease_start_at(s, t);
  s->feeds_lost = feeds;
  int rc = hr__lease_apply_budgets(s, t); /* marks the dead nodes first */
  /* Losing a feed is a protection event (orchestration.md §3.5). */
  if (feeds)
    s->auto_events |= HR_EVENT_FEED_LOSS;
  else
    s->auto_events &= ~(unsigned)HR_EVENT_FEED_LOSS;
  hr_mode_t mode0 = s->mode;
  hr__lease_update_mode(s, t);
  /* Entering protection revokes every lease (enter_mode); a feed lost or
   * back while already in it does not, and a rebalance passes a dead node
   * by.  So a node that died after the revocation kept its lease while its
   * subtree's commitments fell (a stopped coordinator's children expiring)
   * and would come back above them: a rise in protection mode.  Revoke
   * again: only a cut (a drop never raises), and the leases a rebalance in
   * protection mode keeps at what they can be cut to stay as they are. */
  if (rc == HR_OK && mode0 == HR_MODE_PROTECTION && s->mode == HR_MODE_PROTECTION)
    hr__lease_revoke_all(s, t);
  return rc;
}

/* ---- in-process transport -------------------------------------------------------- */

static int tp_request(void *ctx, size_t node, double want_w, int64_t t, hr_lease_t *out)
{
  return hr_lease_sys_request((hr_lease_sys_t *)ctx, node, want_w, t, out);
}

static int tp_release(void *ctx, size_t node, int64_t t)
{
  return hr_lease_sys_release((hr_lease_sys_t *)ctx, node, t);
}

int hr_lease_transport_inproc(hr_lease_sys_t *s, hr_lease_transport_t *tp)
{
  if (!s || !tp)
    return HR_ERR_INVALID_ARG;
  tp->ctx = s;
  tp->request = tp_request;
  tp->release = tp_release;
  return HR_OK;
}
