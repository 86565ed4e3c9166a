/* Budgets of a node from its protective device, rating and thermal state. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "lease/lease_int.h"
#include "tree/protect_int.h"

int hr_budget_cfg_init(hr_budget_cfg_t *cfg)
{
  if (!cfg)
    return HR_ERR_INVALID_ARG;
  memset(cfg, 0, sizeof *cfg);
  cfg->cont_frac = 0.80; /* NEC 80 % rule, orchestration.md §3.3 */
  cfg->rated_100 = 0;
  cfg->burst_window_s = 10.0;
  cfg->burst_margin = 0.85; /* the draft's protection safety margin */
  cfg->inst_margin = 0.85;  /* the draft's "85 % of the instantaneous trip" */
  cfg->pf = 1.0;
  cfg->eff = 1.0;
  cfg->eff_ramp = 0.0; /* eff */
  cfg->base_per_w = 0.0;
  cfg->eff_marg_max = 0.0; /* eff */
  return HR_OK;
}

int hr__budget_cfg_check(const hr_budget_cfg_t *c)
{
  if (!(c->cont_frac > 0.0 && c->cont_frac <= 1.0) ||
      !(c->burst_window_s > 0.0 && c->burst_window_s <= 3600.0) ||
      !(c->burst_margin > 0.0 && c->burst_margin < 1.0) ||
      !(c->inst_margin > 0.0 && c->inst_margin <= 1.0) || !(c->pf > 0.0 && c->pf <= 1.0) ||
      !(c->eff > 0.0 && c->eff <= 1.0) || !(c->eff_ramp >= 0.0 && c->eff_ramp <= 1.0) ||
      !(c->base_per_w >= 0.0 && c->base_per_w <= 1e6) ||
      !(c->eff_marg_max == 0.0 ||
        (c->eff_marg_max >= hr__budget_ramp_eff(c) && c->eff_marg_max <= 2.0)) ||
      !(c->cont_window_s >= 0.0 && c->cont_window_s <= 86400.0))
    return HR_ERR_RANGE;
  return HR_OK;
}

double hr_budget_power_w(const hr_tree_node_t *node, double i_a, double pf)
{
  /* hr_tree_node_current_a is linear in s: the current of 1 VA gives A per VA. */
  double a_per_va = hr_tree_node_current_a(node, 1.0);
  if (!(a_per_va > 0.0) || !isfinite(a_per_va))
    return NAN;
  return i_a / a_per_va * pf;
}

double hr_budget_capacity_w(const hr_tree_node_t *node, double pf)
{
  if (!node)
    return NAN;
  if (!(pf < 1.0) || !(node->rating_w > 0.0))
    return node->capacity_w * pf;
  double va = node->rating_a > 0.0 ? hr_budget_power_w(node, node->rating_a, 1.0) : INFINITY;
  return fmin(isnan(va) ? INFINITY : va * pf, node->rating_w);
}

/* Largest element state after holding i_a for t_s from the state in src.
 * hr_device_t holds no pointers (settings and state by value, see
 * protect.h: "settings are copied"), so a byte copy is an independent device. */
double hr__device_predict_state(const hr_device_t *src, double i_a, double t_s)
{
  _Alignas(max_align_t) unsigned char mem[HR__DEV_MEM];
  memcpy(mem, src, hr_device_size());
  hr_device_t *d = (hr_device_t *)(void *)mem;
  if (hr_device_step(d, i_a, t_s) != HR_OK)
    return INFINITY;
  hr_device_status_t st;
  hr_device_status(d, &st);
  if (st.tripped)
    return INFINITY;
  double m = 0.0;
  for (int k = 0; k < HR_ELEM_COUNT; k++)
    if (st.elem[k] > m)
      m = st.elem[k];
  return m;
}

/* The largest element state of the device in w (a copy) after holding i_a
 * for t_s from the state in src: hr__device_predict_state's value, computed
 * in a scratch copy that a search reuses.  Only the state fields (t_s up to
 * the step caches) are copied from src each time: a step writes nothing
 * else but the caches, which hold pure functions of the step h (advance's
 * -expm1(-h / tau) and the no-trip bound), so whatever h they hold from the
 * search's previous step they give the values a fresh copy would compute.
 * Every search step is one of t_s, so after the first they are never
 * recomputed (an expm1 and the bound's expm1 per step saved).  The maximum
 * is hr_device_status's elements' (elem[] = acc[], NONE 0, L the thermal
 * state of a trip unit) in the same order and comparisons. */
static double predict_in(hr_device_t *w, const hr_device_t *src, double i_a, double t_s)
{
  const size_t off = offsetof(hr_device_t, t_s);
  memcpy((unsigned char *)w + off, (const unsigned char *)src + off,
         offsetof(hr_device_t, w_h) - off);
  if (hr_device_step(w, i_a, t_s) != HR_OK)
    return INFINITY;
  if (w->tripped)
    return INFINITY;
  int tu = w->cfg.type == HR_DEVICE_TRIP_UNIT;
  double m = 0.0;
  for (int k = 0; k < HR_ELEM_COUNT; k++) {
    double v = k == HR_ELEM_NONE ? 0.0 : k == HR_ELEM_L && tu ? hr_device_thermal(w) : w->acc[k];
    if (v > m)
      m = v;
  }
  return m;
}

/* Largest constant current [A] whose predicted state stays <= margin over t_s. */
static double burst_current_a(const hr_device_t *dev, double t_s, double margin)
{
  if (hr_device_tripped(dev))
    return 0.0;
  /* One scratch copy for the whole search (predict_in). */
  _Alignas(max_align_t) unsigned char mem[sizeof(hr_device_t)];
  memcpy(mem, dev, sizeof(hr_device_t));
  hr_device_t *w = (hr_device_t *)(void *)mem;
  if (predict_in(w, dev, 0.0, t_s) > margin)
    return 0.0;
  /* Bracket from the withstand current (trips at exactly t_s), which is above
   * any current that stays below the margin: states are monotone in current. */
  double hi = hr_device_withstand_a(dev, t_s);
  if (!isfinite(hi))
    return INFINITY;
  double lo = 0.0;
  hi *= 1.0 + 1e-9;
  for (int k = 0; k < 60 && hi - lo > 1e-7 * hi; k++) {
    double mid = 0.5 * (lo + hi);
    if (predict_in(w, dev, mid, t_s) <= margin)
      lo = mid;
    else
      hi = mid;
  }
  return lo;
}

/* Lowest pickup [A] of the elements that act without an inverse-time delay. */
static double inst_pickup_a(const hr_device_t *dev)
{
  const hr_device_cfg_t *c = hr_device_cfg(dev);
  switch (c->type) {
  case HR_DEVICE_TRIP_UNIT: {
    double p = INFINITY;
    if (c->u.tu.has_i)
      p = c->u.tu.ii_a;
    if (c->u.tu.has_s && c->u.tu.isd_a < p)
      p = c->u.tu.isd_a;
    return p;
  }
  case HR_DEVICE_RELAY:
    return c->u.relay.has_inst ? c->u.relay.ii_a : INFINITY;
  case HR_DEVICE_FUSE:
    /* A fuse has no instantaneous element; the current that melts it within
     * half a 50 Hz cycle plays that role (adiabatic region, §3.3). */
    return hr_device_withstand_a(dev, 0.01);
  case HR_DEVICE_NONE:
    break;
  }
  return INFINITY;
}

int hr_budget_node(const hr_tree_node_t *node, const hr_device_t *dev, const hr_budget_cfg_t *cfg,
                   int rated_100, hr_budget_t *out)
{
  return hr__budget_node_mean(node, dev, cfg, rated_100, -1.0, out);
}

int hr__budget_node_mean(const hr_tree_node_t *node, const hr_device_t *dev,
                         const hr_budget_cfg_t *cfg, int rated_100, double mean_w, hr_budget_t *out)
{
  if (!node || !cfg || !out)
    return HR_ERR_INVALID_ARG;
  int rc = hr__budget_cfg_check(cfg);
  if (rc != HR_OK)
    return rc;
  return hr__budget_node_checked(node, dev, cfg, rated_100, mean_w, out);
}

/* The lease system checks its configuration once, at creation, and asks
 * for every node's budget at each update: no check per node. */
int hr__budget_node_checked(const hr_tree_node_t *node, const hr_device_t *dev,
                            const hr_budget_cfg_t *cfg, int rated_100, double mean_w,
                            hr_budget_t *out)
{
  int rc;
  _Alignas(max_align_t) unsigned char mem[HR__DEV_MEM];
  if (!dev && node->device) {
    if (hr_device_size() > sizeof mem)
      return HR_ERR_RANGE;
    hr_device_t *d = NULL;
    rc = hr_device_init(mem, sizeof mem, node->device, &d);
    if (rc != HR_OK)
      return rc;
    dev = d;
  }
  int full = rated_100 >= 0 ? rated_100 : cfg->rated_100;
  double frac = full ? 1.0 : cfg->cont_frac;
  /* The power factor turns a current rating's volt-amperes into watts; a
   * rating in watts (a GPU's, rating_w) is watts already. */
  double cap_w = hr_budget_capacity_w(node, cfg->pf);
  out->cont_w = isfinite(cap_w) ? frac * cap_w : INFINITY;
  if (cfg->cont_window_s > 0.0 && mean_w >= 0.0 && isfinite(out->cont_w) && node->device) {
    /* The continuous limit on the mean: the most the node may draw for the
     * next burst window and still end it with its mean at the limit,
     * m' = P - (P - m) e^(-w/tau) <= cont.  Above the limit, below it. */
    double f = -expm1(-cfg->burst_window_s / cfg->cont_window_s);
    double ce = mean_w + (out->cont_w - mean_w) / f;
    out->cont_w = ce > 0.0 ? ce : 0.0;
  }
  if (node->budget_w > 0.0 && node->budget_w < out->cont_w)
    out->cont_w = node->budget_w;
  out->burst_w = INFINITY;
  out->inst_w = INFINITY;
  if (dev && hr_device_cfg(dev)->type != HR_DEVICE_NONE) {
    double ib = burst_current_a(dev, cfg->burst_window_s, cfg->burst_margin);
    out->burst_w = isfinite(ib) ? hr_budget_power_w(node, ib, cfg->pf) : INFINITY;
    double ii = inst_pickup_a(dev);
    out->inst_w = isfinite(ii) ? hr_budget_power_w(node, cfg->inst_margin * ii, cfg->pf) : INFINITY;
  }
  if (node->burst_w > 0.0 && node->burst_w < out->burst_w)
    out->burst_w = node->burst_w;
  double lim = out->cont_w;
  if (out->burst_w < lim)
    lim = out->burst_w;
  if (out->inst_w < lim)
    lim = out->inst_w;
  /* The device's limits are conductor currents: each conductor of a
   * three-phase node carries a third of the balanced power at that current. */
  double dev_w = isnan(lim) ? 0.0 : lim;
  if (node->n_phases == 3) {
    for (int p = 0; p < 3; p++)
      out->phase_w[p] = dev_w / 3.0;
  } else {
    out->phase_w[0] = dev_w;
    out->phase_w[1] = out->phase_w[2] = INFINITY;
  }
  if (node->grid && node->grid->max_p_w > 0.0 && node->grid->max_p_w < lim)
    lim = node->grid->max_p_w;
  if (isnan(lim))
    lim = 0.0;
  out->limit_w = lim;
  if (cfg->eff < 1.0 && node->n_children > 0) {
    /* Every limit above is what the node's conductors carry; its leaves'
     * power reaches them through supplies that lose 1 - eff of it. */
    out->cont_w *= cfg->eff;
    out->burst_w *= cfg->eff;
    out->inst_w *= cfg->eff;
    out->limit_w *= cfg->eff;
    for (int p = 0; p < 3; p++)
      out->phase_w[p] *= cfg->eff;
  }
  return HR_OK;
}
