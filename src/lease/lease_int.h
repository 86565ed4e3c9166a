/* Private layout of the lease system, shared by the files of src/lease. */
#ifndef HR_LEASE_INT_H
#define HR_LEASE_INT_H

#include <stdint.h>

#include "headroom/lease.h"

/* Room for one hr_device_t on the stack (checked against hr_device_size()). */
#define HR__DEV_MEM 4096

int hr__budget_cfg_check(const hr_budget_cfg_t *c);

/* The efficiency a rise of the leaves' power reaches the conductors at
 * (hr_budget_cfg_t.eff_ramp, else eff): what the ramp envelopes scale a
 * ramp limit on the input by. */
static inline double hr__budget_ramp_eff(const hr_budget_cfg_t *c)
{
  return c->eff_ramp > 0.0 ? c->eff_ramp : c->eff;
}

/* The highest marginal efficiency the agent assumes (budget.eff_marg_max,
 * else eff). */
static inline double hr__budget_marg_max(const hr_budget_cfg_t *c)
{
  return c->eff_marg_max > 0.0 ? c->eff_marg_max : c->eff;
}

/* hr_budget_node with the node's mean power [W] for cfg->cont_window_s
 * (mean_w < 0: none, the continuous limit is instantaneous). */
int hr__budget_node_mean(const hr_tree_node_t *node, const hr_device_t *dev,
                         const hr_budget_cfg_t *cfg, int rated_100, double mean_w,
                         hr_budget_t *out);
int hr__coord_cfg_check(const hr_coord_cfg_t *c);
/* hr__budget_node_mean for a cfg already checked (hr__budget_cfg_check) and
 * node, out not NULL. */
int hr__budget_node_checked(const hr_tree_node_t *node, const hr_device_t *dev,
                            const hr_budget_cfg_t *cfg, int rated_100, double mean_w,
                            hr_budget_t *out);
double hr__device_predict_state(const hr_device_t *src, double i_a, double t_s);

/* One child as a policy sees it. */
typedef struct hr__item {
  double dem_w; /* demand (or measured power) [W], floor <= dem */
  double flo_w; /* floor [W] */
  int prio;     /* class, higher = more important */
} hr__item_t;

/* Splits budget_w among n items into out_w[] (floor <= out <= dem) with the
 * coordinator's policy; state is the policy's one byte of memory (three-band
 * capped flag, two-threshold level).  scratch holds 2 n doubles.  When the
 * floors exceed the budget every item gets its floor.  The three-band and
 * two-threshold policies compare the demand with fractions of ref_w, the
 * node's physical limit (as Dynamo's and POLCA's controllers compare a
 * breaker's power with its rating), not with the budget: a coordinator's
 * lease follows its demand, so bands on it would cap whatever the load.
 * ref_w = INFINITY (an unrated node): no band acts, the split only fits the
 * budget. */
void hr__policy_alloc(const hr_coord_cfg_t *cfg, uint8_t *state, size_t n, const hr__item_t *it,
                      double budget_w, double ref_w, double *out_w, double *scratch);

/* hr__policy_alloc with HR_POLICY_FAIR for items of priority-free arrays,
 * n <= 64: the same grants, bit for bit, without building hr__item_t
 * records (the rebalance's path for a server's run of leaves). */
void hr__fair_fill(size_t n, const double *dem_w, const double *flo_w, double budget_w,
                   double *out_w);

/* The rebalance's water fill of up to 8 servers of 8 leaves at once, for
 * tests: server l's demands, floors and grants at [8 l .. 8 l + 8), its
 * budget b_w[l]; the same grants as hr__fair_fill(8, ...) per server. */
void hr__fill_lanes(size_t n_srv, const double *dem_w, const double *flo_w, const double *b_w,
                    double *out_w);

/* Cuts need_w from out_w[] (never below floors): lowest priority class first,
 * inside a class the highest power bucket first, equal cuts per member (Dynamo). */
void hr__cut_high_bucket(size_t n, const hr__item_t *it, double bucket_w, double need_w,
                         double *out_w, double *scratch);

/* The rebalance in its reference form: every node visited, every leaf settled
 * by the general settle().  hr_lease_sys_rebalance gives the same leases bit
 * for bit, faster; tests compare the two, bench_lease times both. */
int hr__lease_sys_rebalance_ref(hr_lease_sys_t *sys, const double *demand_w, int64_t t_ns);

/* on = 1: every hr_lease_sys_rebalance runs in full, never the exact skip of
 * a rebalance that would only renew the leases (the straightforward form
 * the skip must match bit for bit: tests/lease/test_skip.c, and through
 * hr__agent_set_plain tests/sim/test_sim_plain.c). */
void hr__lease_set_plain(hr_lease_sys_t *sys, int on);
/* Rebalances skipped so far (a test's proof that the skip ran; the public
 * stats count them as rebalances, as the full ones would be). */
uint64_t hr__lease_skipped(const hr_lease_sys_t *sys);
/* The lost feeds (hr_lease_sys_set_feed_lost's HR_FEED_* bits; 0 for NULL):
 * the agent's sums put a dual-corded load on its surviving side. */
unsigned hr__lease_feeds_lost(const hr_lease_sys_t *sys);
/* 1 when tree node k carries nothing (a lost feed, a tripped device:
 * hr_lease_sys_update_budgets), as of the last budget update. */
int hr__lease_dead(const hr_lease_sys_t *sys, size_t k);
/* 1 once hr_lease_sys_set_overhead has set any overhead. */
int hr__lease_has_overhead(const hr_lease_sys_t *sys);
/* Tree node k's own overhead [W] (0 without any). */
double hr__lease_ovh_own_w(const hr_lease_sys_t *sys, size_t k);

/* Anti-oscillation state of node k's grant, for tests: last change, damper
 * window start, hold end [ns], last direction (-1, 0, 1), direction changes. */
int hr__lease_sys_osc(const hr_lease_sys_t *sys, size_t k, int64_t out[5]);

#endif
