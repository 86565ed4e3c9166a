/* The capacity search (include/headroom/sim.h, docs/sim.md "Capacity search"):
 * the largest GPU count a tree hosts under a policy with no trip and at most
 * a given throughput loss, the static-derating count it is compared with, and
 * the spread population order both use. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/core.h"
#include "headroom/sim.h"
#include "sim/sim_int.h"

/* run_once's answer for a count the control agent refuses (not an HR_ERR_*). */
#define HR__SIM_REFUSED 1000

/* ---- spread order ----------------------------------------------------------------- */

/* A node's leaves in spread order, cut into blocks (sibling leaves stay
 * together: a server's GPUs are added as one). */
typedef struct blist {
  int32_t *leaf;
  size_t n;
  size_t *bs; /* block starts in leaf[] */
  size_t nb;
} blist_t;

static void blist_free(blist_t *b)
{
  if (!b)
    return;
  free(b->leaf);
  free(b->bs);
  free(b);
}

/* Merges the leaf block (own leaf children, may be empty) and the children's
 * lists round robin: block 0 of every part, then block 1 of every part, ... */
static blist_t *merge(const int32_t *own, size_t n_own, blist_t **parts, size_t n_parts)
{
  blist_t *o = calloc(1, sizeof *o);
  if (!o)
    return NULL;
  size_t n = n_own, nb = n_own ? 1 : 0, rounds = n_own ? 1 : 0;
  for (size_t p = 0; p < n_parts; p++) {
    n += parts[p]->n;
    nb += parts[p]->nb;
    if (parts[p]->nb > rounds)
      rounds = parts[p]->nb;
  }
  o->leaf = malloc((n ? n : 1) * sizeof *o->leaf);
  o->bs = malloc((nb ? nb : 1) * sizeof *o->bs);
  if (!o->leaf || !o->bs) {
    blist_free(o);
    return NULL;
  }
  for (size_t r = 0; r < rounds; r++) {
    if (r == 0 && n_own) {
      o->bs[o->nb++] = o->n;
      memcpy(o->leaf + o->n, own, n_own * sizeof *own);
      o->n += n_own;
    }
    for (size_t p = 0; p < n_parts; p++) {
      const blist_t *c = parts[p];
      if (r >= c->nb)
        continue;
      size_t b0 = c->bs[r], b1 = r + 1 < c->nb ? c->bs[r + 1] : c->n;
      o->bs[o->nb++] = o->n;
      memcpy(o->leaf + o->n, c->leaf + b0, (b1 - b0) * sizeof *o->leaf);
      o->n += b1 - b0;
    }
  }
  return o;
}

/* Builds every node's list bottom-up (a parent's index is below its
 * children's, so a reverse sweep sees children first; no recursion, so deep
 * trees cannot exhaust the stack).  Only the A-side parent links count: a
 * dual-corded node appears once. */
int hr__sim_spread_order(const hr_tree_t *tree, int32_t *slot_node, size_t n_slots)
{
  size_t n = hr_tree_count(tree);
  const hr_tree_node_t *nd = hr_tree_nodes(tree);
  blist_t **bl = calloc(n + 1, sizeof *bl);
  int32_t *own = malloc((n ? n : 1) * sizeof *own);
  blist_t **parts = malloc((n ? n : 1) * sizeof *parts);
  int rc = HR_ERR_NOMEM;
  if (!bl || !own || !parts)
    goto out;
  for (size_t k = n; k-- > 0;) {
    if (nd[k].n_children == 0)
      continue;
    size_t nc = 0, n_own = 0, n_parts = 0;
    const int32_t *ch = hr_tree_children(tree, k, &nc);
    for (size_t c = 0; c < nc; c++) {
      size_t j = (size_t)ch[c];
      if (nd[j].parent != (int32_t)k)
        continue;
      if (nd[j].n_children == 0)
        own[n_own++] = (int32_t)j;
      else if (bl[j])
        parts[n_parts++] = bl[j];
    }
    bl[k] = merge(own, n_own, parts, n_parts);
    for (size_t c = 0; c < nc; c++)
      if (nd[ch[c]].parent == (int32_t)k) {
        blist_free(bl[ch[c]]);
        bl[ch[c]] = NULL;
      }
    if (!bl[k])
      goto out;
  }
  {
    /* The roots, under a virtual root: leaves that are roots form its block. */
    size_t n_own = 0, n_parts = 0;
    for (size_t k = 0; k < n; k++) {
      if (nd[k].parent >= 0)
        continue;
      if (nd[k].n_children == 0)
        own[n_own++] = (int32_t)k;
      else if (bl[k])
        parts[n_parts++] = bl[k];
    }
    bl[n] = merge(own, n_own, parts, n_parts);
    if (!bl[n])
      goto out;
  }
  rc = HR_ERR_STATE; /* every leaf exactly once, or the tree is not what hr_tree says */
  if (bl[n]->n == n_slots) {
    memcpy(slot_node, bl[n]->leaf, n_slots * sizeof *slot_node);
    rc = HR_OK;
  }
out:
  if (bl)
    for (size_t k = 0; k <= n; k++)
      blist_free(bl[k]);
  free(bl);
  free(own);
  free(parts);
  return rc;
}

/* ---- static derating ---------------------------------------------------------------- */

int hr_sim_static_count(const hr_scenario_t *sc, const hr_tree_t *tree, double derate_frac,
                        int *out)
{
  if (!sc || !tree || !out || !(derate_frac > 0.0 && derate_frac <= 1.0) ||
      !(sc->gpu.cap_max_w > 0.0))
    return HR_ERR_INVALID_ARG;
  const double told_pf = hr__sim_told_pf(&sc->supply);
  if (!(told_pf >= 0.1 && told_pf <= 1.0))
    return HR_ERR_INVALID_ARG;
  *out = 0;
  size_t n = hr_tree_count(tree), n_slots = 0;
  const hr_tree_node_t *nd = hr_tree_nodes(tree);
  for (size_t k = 0; k < n; k++)
    n_slots += nd[k].n_children == 0;
  int32_t *order = malloc((n_slots ? n_slots : 1) * sizeof *order);
  double *load = calloc(n ? n : 1, sizeof *load);
  int32_t *stamp = malloc((n ? n : 1) * sizeof *stamp);
  int32_t *stack = malloc((n ? n : 1) * sizeof *stack);
  unsigned char *used = calloc(n ? n : 1, 1);
  int rc = HR_ERR_NOMEM;
  if (!order || !load || !stamp || !stack || !used)
    goto out;
  if (sc->populate == HR_POP_SPREAD) {
    rc = hr__sim_spread_order(tree, order, n_slots);
    if (rc != HR_OK)
      goto out;
  } else {
    size_t j = 0;
    for (size_t k = 0; k < n; k++)
      if (nd[k].n_children == 0)
        order[j++] = (int32_t)k;
  }
  for (size_t k = 0; k < n; k++)
    stamp[k] = -1;
  /* Planning at nameplate counts every GPU in full on both sides of a
   * dual-corded path (2N: either side must carry the whole load alone),
   * against each node's capacity in watts at the power factor the planner
   * is told (hr_budget_capacity_w, as the lease budgets take it; docs/sim.md,
   * "Power factor"). */
  /* A server's base load counts once its first GPU is installed, and every
   * node above the servers carries its load through their supplies at the
   * efficiency the planner is told (docs/sim.md, "Base load and supply
   * losses"). */
  const double gpu_w = sc->gpu.cap_max_w;
  const hr_sim_supply_cfg_t *u = &sc->supply;
  const double base_w = hr__sim_told_base_w(u);
  const double eff = hr__sim_told_eff(u);
  rc = HR_OK;
  for (size_t g = 0; g < n_slots; g++) {
    size_t top = 0;
    int fits = 1;
    int32_t leaf = order[g];
    double add_w = gpu_w;
    if (nd[leaf].parent >= 0)
      stack[top++] = nd[leaf].parent;
    if (nd[leaf].parent_b >= 0)
      stack[top++] = nd[leaf].parent_b;
    for (size_t j = 0; j < top; j++)
      if (base_w > 0.0 && !used[stack[j]]) {
        used[stack[j]] = 1;
        add_w += base_w;
      }
    while (top) {
      int32_t k = stack[--top];
      if (stamp[k] == (int32_t)g)
        continue;
      stamp[k] = (int32_t)g;
      load[k] += add_w;
      const double cap_w = hr_budget_capacity_w(&nd[k], told_pf) * eff;
      if (isfinite(cap_w) && load[k] > derate_frac * cap_w * (1 + 1e-12))
        fits = 0;
      if (nd[k].parent >= 0)
        stack[top++] = nd[k].parent;
      if (nd[k].parent_b >= 0)
        stack[top++] = nd[k].parent_b;
    }
    if (!fits)
      break;
    *out = (int)(g + 1);
  }
out:
  free(order);
  free(load);
  free(stamp);
  free(stack);
  free(used);
  return rc;
}

/* ---- the search ------------------------------------------------------------------------ */

int hr_sim_search_cfg_init(hr_sim_search_cfg_t *cfg)
{
  if (!cfg)
    return HR_ERR_INVALID_ARG;
  memset(cfg, 0, sizeof *cfg);
  cfg->max_loss = 0.01;
  cfg->gpus_lo = 1;
  cfg->gpus_hi = -1;
  cfg->step = 1;
  cfg->derate_frac = 0.70;
  cfg->grid_limits = 1;
  cfg->max_ramp_viol_s = HR_SIM_GRID_TOL_S;
  cfg->max_osc_viol_s = HR_SIM_GRID_TOL_S;
  cfg->max_capped_frac = 1.0;
  cfg->max_ttft_p99_s = INFINITY;
  cfg->max_tbt_p99_s = INFINITY;
  cfg->max_over_cont_s = INFINITY;
  cfg->cont_settle_tau = 3.0;
  return HR_OK;
}

void hr_sim_search_result_free(hr_sim_search_result_t *r)
{
  if (!r)
    return;
  free(r->trials);
  r->trials = NULL;
  r->n_trials = 0;
}

typedef struct searcher {
  const hr_scenario_t *sc;
  const hr_tree_t *tree;
  const hr_agent_cfg_t *acfg;
  const hr_sim_search_cfg_t *cfg;
  hr_sim_search_result_t *out;
  hr_workload_t *work; /* scaled copy, sc->n_work long */
  hr_sim_event_t *ev;  /* the scenario's events and one contingency, n_events + 1 long */
  int n0;              /* the scenario's populated count */
  hr_diag_t *diag;
  int abandoned;    /* cfg->poll_stop asked to stop inside a run */
  double tau_max_s; /* the tree's longest long-time constant [s] */
} searcher_t;

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* What one run of a trial gives the verdict. */
typedef struct run_out {
  unsigned trips;
  double work_frac, max_thermal, max_sustain, end_sustain;
  double ramp_viol_s, ramp_up_s, ramp_down_s, osc_viol_s;
  double capped_frac, ttft_p99_s, tbt_p99_s, over_cont_s;
} run_out_t;

/* The stop poll of a run (hr_sim_search_cfg_t.poll_stop). */
typedef struct poll_ctx {
  searcher_t *S;
  hr_sim_t *sim;
} poll_ctx_t;

static void poll_sample(void *user, const hr_sim_sample_t *smp)
{
  poll_ctx_t *p = user;
  (void)smp;
  if (p->S->cfg->poll_stop(p->S->cfg->user)) {
    p->S->abandoned = 1;
    hr_sim_request_stop(p->sim);
  }
}

/* Runs sc (its workloads already scaled) once.  S->abandoned is set when
 * the stop poll ended the run early (its figures then mean nothing). */
static int run_once(searcher_t *S, const hr_scenario_t *sc, run_out_t *o)
{
  hr_sim_t *sim = NULL;
  hr_diag_t own;
  memset(&own, 0, sizeof own);
  if (S->diag)
    memset(S->diag, 0, sizeof *S->diag);
  int rc = hr_sim_create(sc, S->tree, S->acfg, &sim, S->diag ? S->diag : &own);
  /* A count the control agent refuses (its floors and the told base loads
   * do not fit some limit) is the count's failure, not the scenario's. */
  if (rc == HR_ERR_RANGE && !strcmp((S->diag ? S->diag : &own)->field, "supply.budget_base_w")) {
    if (S->diag)
      memset(S->diag, 0, sizeof *S->diag);
    return HR__SIM_REFUSED;
  }
  poll_ctx_t pc = {S, sim};
  if (rc == HR_OK)
    rc = S->cfg->poll_stop ? hr_sim_run(sim, poll_sample, &pc) : hr_sim_run(sim, NULL, NULL);
  hr_sim_result_t r;
  if (rc == HR_OK)
    rc = hr_sim_result(sim, &r);
  if (rc != HR_OK) {
    hr_sim_destroy(sim);
    return rc;
  }
  memset(o, 0, sizeof *o);
  o->trips = r.trips;
  o->work_frac = r.work_frac;
  o->ramp_viol_s = r.ramp_viol_s;
  o->ramp_up_s = r.ramp_up_s;
  o->ramp_down_s = r.ramp_down_s;
  o->osc_viol_s = r.osc_viol_s;
  o->capped_frac = r.t_s > 0.0 ? r.capped_s / r.t_s : 0.0;
  o->ttft_p99_s = S->cfg->slo_high_only ? r.ttft_hi_p99_s : r.ttft_p99_s;
  o->tbt_p99_s = S->cfg->slo_high_only ? r.tbt_hi_p99_s : r.tbt_p99_s;
  for (size_t k = 0; k < r.n_nodes; k++) {
    /* Provisioned power is the tree's (its rated nodes'), not a GPU's own
     * rating, which a GPU at its nameplate sits above by the 80 % rule. */
    if (r.nodes[k].over_cont_s > o->over_cont_s &&
        hr_tree_node(S->tree, r.nodes[k].node)->n_children > 0)
      o->over_cont_s = r.nodes[k].over_cont_s;
    if (r.nodes[k].max_thermal > o->max_thermal)
      o->max_thermal = r.nodes[k].max_thermal;
    double su = r.nodes[k].has_device && r.nodes[k].sustain_trip_a > 0.0
                    ? r.nodes[k].sustained_a / r.nodes[k].sustain_trip_a
                    : 0.0;
    if (su > o->max_sustain)
      o->max_sustain = su;
    double se = r.nodes[k].has_device && r.nodes[k].sustain_trip_a > 0.0
                    ? r.nodes[k].sustained_last_a / r.nodes[k].sustain_trip_a
                    : 0.0;
    if (se > o->end_sustain)
      o->end_sustain = se;
  }
  hr_sim_destroy(sim);
  return HR_OK;
}

double hr_sim_device_tau_s(const hr_device_cfg_t *cfg)
{
  if (!cfg)
    return 0.0;
  if (cfg->type == HR_DEVICE_TRIP_UNIT) {
    /* protect.c calibrates the image so that the cold trip time at 6 x Ir
     * is tr: tr = tau ln(36 / (36 - k^2)). */
    double k2 = cfg->u.tu.l_pickup * cfg->u.tu.l_pickup;
    return cfg->u.tu.tr_s / -log1p(-k2 / 36.0);
  }
  double iu = hr__sim_ultimate_trip_a(cfg);
  if (!isfinite(iu))
    return 0.0;
  double t = hr_device_trip_time(cfg, 1.1 * iu);
  return isfinite(t) ? t : 0.0;
}

/* The simulated length [s] of the run with contingency ev (docs/sim.md,
 * "Contingencies long enough for the long-time band"): the scenario's
 * duration T, or, when ev lasts past T, until cont_settle_tau long-time
 * constants after ev starts (or until ev ends, if sooner), at most
 * cont_max_s, never below T. */
static double cont_len_s(const searcher_t *S, const hr_sim_event_t *ev)
{
  const hr_sim_search_cfg_t *cfg = S->cfg;
  double t_s = S->sc->duration_s;
  if (!(cfg->cont_settle_tau > 0.0) || !(S->tau_max_s > 0.0))
    return t_s;
  double end_s = ev->at_s + cfg->cont_settle_tau * S->tau_max_s;
  if (ev->duration_s > 0.0 && ev->at_s + ev->duration_s < end_s)
    end_s = ev->at_s + ev->duration_s;
  if (cfg->cont_max_s > 0.0 && end_s > cfg->cont_max_s)
    end_s = cfg->cont_max_s;
  return end_s > t_s ? end_s : t_s;
}

/* Appends trial t (its verdict and wall time set here) to the result and
 * tells the caller's on_trial. */
static int record(searcher_t *S, hr_sim_trial_t *t, double t0)
{
  t->ok = t->fail == 0;
  t->wall_s = now_s() - t0;
  hr_sim_search_result_t *o = S->out;
  hr_sim_trial_t *grown = realloc(o->trials, (o->n_trials + 1) * sizeof *grown);
  if (!grown)
    return HR_ERR_NOMEM;
  o->trials = grown;
  o->trials[o->n_trials++] = *t;
  if (S->cfg->on_trial && S->cfg->on_trial(S->cfg->user, t))
    o->stopped = 1;
  return HR_OK;
}

/* Runs the scenario with g GPUs, then each contingency if that passed; *ok
 * receives the verdict.  Returns HR_OK or the simulator's error. */
static int trial(searcher_t *S, int g, int *ok)
{
  const hr_sim_search_cfg_t *cfg = S->cfg;
  hr_scenario_t sc = *S->sc;
  size_t nw = 0;
  for (size_t w = 0; w < S->sc->n_work; w++) {
    hr_workload_t wl = S->sc->work[w];
    wl.gpu_first = (int)((int64_t)wl.gpu_first * g / S->n0);
    wl.gpu_end = (int)((int64_t)wl.gpu_end * g / S->n0);
    if (wl.gpu_end > wl.gpu_first)
      S->work[nw++] = wl; /* a workload scaled to no GPU is left out */
  }
  sc.work = S->work;
  sc.n_work = nw;
  sc.gpus = g;
  double t0 = now_s();
  run_out_t r;
  int rc = run_once(S, &sc, &r);
  if (rc == HR__SIM_REFUSED) {
    /* The policy cannot run this many GPUs: their lowest caps and the base
     * loads it is told do not fit some limit.  Nothing ran. */
    hr_sim_trial_t t = {.gpus = g,
                        .fail = HR_SIM_FAIL_REFUSED,
                        .work_frac = NAN,
                        .max_thermal = NAN,
                        .max_sustain = NAN,
                        .cont_failed = -1,
                        .cont_max_sustain = NAN,
                        .cont_work_frac = NAN,
                        .cont_end_sustain = NAN,
                        .cont_t_s = NAN,
                        .ttft_p99_s = NAN,
                        .tbt_p99_s = NAN};
    *ok = 0;
    return record(S, &t, t0);
  }
  if (rc != HR_OK)
    return rc;
  if (S->abandoned) {
    *ok = 0;
    S->out->stopped = 1;
    return HR_OK;
  }
  hr_sim_trial_t t = {.gpus = g,
                      .trips = r.trips,
                      .work_frac = r.work_frac,
                      .max_thermal = r.max_thermal,
                      .max_sustain = r.max_sustain,
                      .ramp_viol_s = r.ramp_viol_s,
                      .ramp_up_s = r.ramp_up_s,
                      .ramp_down_s = r.ramp_down_s,
                      .osc_viol_s = r.osc_viol_s,
                      .capped_frac = r.capped_frac,
                      .ttft_p99_s = r.ttft_p99_s,
                      .tbt_p99_s = r.tbt_p99_s,
                      .over_cont_s = r.over_cont_s,
                      .cont_failed = -1,
                      .cont_max_sustain = NAN,
                      .cont_work_frac = NAN,
                      .cont_end_sustain = NAN,
                      .cont_t_s = NAN};
  /* A run with no work at all (work_frac NaN) cannot show a loss.  The
   * base run passes only if no device tripped in it and none would trip
   * were its heaviest minute sustained (max_sustain < 1: that minute's RMS
   * current below every device's ultimate tripping current): a trial of
   * minutes cannot show the long-time band, whose thermal image takes
   * several time constants (36 tr / k^2 each) to reach its equilibrium. */
  if (t.trips)
    t.fail |= HR_SIM_FAIL_TRIP;
  if (!(t.max_sustain < 1.0))
    t.fail |= HR_SIM_FAIL_SUSTAIN;
  if (t.work_frac < 1.0 - cfg->max_loss)
    t.fail |= HR_SIM_FAIL_LOSS;
  /* The grid interconnection's limits, judged alike for every policy: the
   * time over the ramp limit counts falls as well as rises unless asked
   * (a fall a cap cannot slow is still the grid's event; trials show it
   * apart), and the tolerance is the same for all. */
  if (cfg->grid_limits) {
    double ramp_s = cfg->ramp_rises_only ? t.ramp_up_s : t.ramp_viol_s;
    if (ramp_s > cfg->max_ramp_viol_s)
      t.fail |= HR_SIM_FAIL_RAMP;
    if (t.osc_viol_s > cfg->max_osc_viol_s)
      t.fail |= HR_SIM_FAIL_OSC;
  }
  /* The papers' own criteria, when asked: how much of the time capping
   * acted (Dynamo), and a latency objective met by 99 % of the requests
   * (POLCA); a p99 is its histogram bin's upper edge, so a pass is never
   * optimistic.  No inference: no latency (NAN) to fail. */
  if (t.capped_frac > cfg->max_capped_frac)
    t.fail |= HR_SIM_FAIL_CAPPED;
  if (t.ttft_p99_s > cfg->max_ttft_p99_s || t.tbt_p99_s > cfg->max_tbt_p99_s)
    t.fail |= HR_SIM_FAIL_SLO;
  if (t.over_cont_s > cfg->max_over_cont_s)
    t.fail |= HR_SIM_FAIL_OVER;
  /* N-1: every contingency alone on top of the scenario's own events, at
   * the same count.  Skipped once the base run failed (the verdict cannot
   * change, and each run costs as much as the trial). */
  for (size_t c = 0; t.fail == 0 && c < S->sc->n_contingencies; c++) {
    if (S->sc->n_events)
      memcpy(S->ev, S->sc->events, S->sc->n_events * sizeof *S->ev);
    S->ev[S->sc->n_events] = S->sc->contingencies[c];
    hr_scenario_t cs = sc;
    cs.events = S->ev;
    cs.n_events = S->sc->n_events + 1;
    cs.duration_s = cont_len_s(S, &S->sc->contingencies[c]);
    run_out_t cr;
    rc = run_once(S, &cs, &cr);
    if (rc == HR__SIM_REFUSED)
      rc = HR_ERR_RANGE; /* (the base run at this count was not refused) */
    if (rc != HR_OK)
      return rc;
    if (S->abandoned) {
      *ok = 0;
      S->out->stopped = 1;
      return HR_OK;
    }
    t.cont_run++;
    t.cont_trips += cr.trips;
    if (!(cr.max_sustain <= t.cont_max_sustain))
      t.cont_max_sustain = cr.max_sustain;
    if (!(cr.work_frac >= t.cont_work_frac))
      t.cont_work_frac = cr.work_frac;
    if (!(cr.end_sustain <= t.cont_end_sustain))
      t.cont_end_sustain = cr.end_sustain;
    if (!(cs.duration_s <= t.cont_t_s))
      t.cont_t_s = cs.duration_s;
    /* The earlier rule judges the heaviest minute: in a run that ends a
     * minute after the fault, the load as it stands then.  A run held for
     * several long-time constants shows the policy's later cuts and any
     * trip before them; what remains to project is the load it settled at,
     * its last whole window, once that window lies after the fault (two
     * windows past its start). */
    double judged = cr.max_sustain;
    if (cfg->cont_settle_tau > 0.0 &&
        cs.duration_s - S->sc->contingencies[c].at_s >= 2.0 * HR_SIM_SUSTAIN_WINDOW_S)
      judged = cr.end_sustain;
    if (cr.trips || !(judged < 1.0)) {
      t.fail |= HR_SIM_FAIL_CONT;
      t.cont_failed = (int)c;
    }
  }
  *ok = t.fail == 0;
  return record(S, &t, t0);
}

/* Every count in turn, lo up to index i_hi (docs/sim.md, "Non-monotone
 * counts").  A site fills up gradually, so the count a planner can rely on is
 * the largest with every count at or below it passing; a larger count that
 * passes again is reported apart (gpus_max_pass), not taken. */
static int scan(searcher_t *S, int64_t i_hi)
{
  hr_sim_search_result_t *out = S->out;
  const hr_sim_search_cfg_t *cfg = S->cfg;
  int prefix = 1, seen_fail = 0;
  out->monotone = 1;
  for (int64_t i = 0; i <= i_hi; i++) {
    int g = cfg->gpus_lo + (int)i * cfg->step, ok = 0;
    int rc = trial(S, g, &ok);
    if (rc != HR_OK)
      return rc;
    if (S->abandoned)
      break;
    if (ok) {
      if (prefix)
        out->gpus = g;
      out->gpus_max_pass = g;
      if (seen_fail)
        out->monotone = 0;
    } else {
      prefix = 0;
      seen_fail = 1;
    }
    if (out->stopped)
      break;
  }
  for (size_t k = 0; k < out->n_trials; k++)
    out->n_fail_below += !out->trials[k].ok && out->trials[k].gpus < out->gpus_max_pass;
  /* Bracketed: every count was tried, so gpus + step failed or gpus is hi. */
  out->bracketed = !out->stopped;
  return HR_OK;
}

int hr_sim_search(const hr_scenario_t *sc, const hr_tree_t *tree, const hr_agent_cfg_t *acfg,
                  const hr_sim_search_cfg_t *cfg, hr_sim_search_result_t *out, hr_diag_t *diag)
{
  hr__diag_begin(diag, "search");
  if (!out)
    return HR_ERR_INVALID_ARG;
  memset(out, 0, sizeof *out);
  out->recovered = NAN;
  out->monotone = -1;
  if (!sc || !tree || !acfg || !cfg)
    return HR_ERR_INVALID_ARG;
  size_t n_slots = 0, n = hr_tree_count(tree);
  for (size_t k = 0; k < n; k++)
    n_slots += hr_tree_node(tree, k)->n_children == 0;
  int hi = cfg->gpus_hi < 0 ? (int)n_slots : cfg->gpus_hi;
  if (!(cfg->max_loss >= 0.0 && cfg->max_loss < 1.0))
    return hr__diag_fail(diag, HR_ERR_RANGE, 0, 0, "max_loss", "%s", "must be in [0, 1)");
  if (cfg->step < 1 || cfg->gpus_lo < 1 || hi < cfg->gpus_lo || (size_t)hi > n_slots)
    return hr__diag_fail(diag, HR_ERR_RANGE, 0, 0, "gpus",
                         "%s: need 1 <= lo <= hi <= the tree's GPU slots, step >= 1",
                         "bad search range");
  if (!(cfg->derate_frac > 0.0 && cfg->derate_frac <= 1.0))
    return hr__diag_fail(diag, HR_ERR_RANGE, 0, 0, "derate_frac", "%s", "must be in (0, 1]");
  if (!(cfg->max_ramp_viol_s >= 0.0) || !(cfg->max_osc_viol_s >= 0.0))
    return hr__diag_fail(diag, HR_ERR_RANGE, 0, 0,
                         cfg->max_ramp_viol_s >= 0.0 ? "max_osc_viol_s" : "max_ramp_viol_s", "%s",
                         "must be >= 0 s");
  if (!(cfg->max_capped_frac >= 0.0 && cfg->max_capped_frac <= 1.0))
    return hr__diag_fail(diag, HR_ERR_RANGE, 0, 0, "max_capped_frac", "%s", "must be in [0, 1]");
  if (!(cfg->max_ttft_p99_s > 0.0) || !(cfg->max_tbt_p99_s > 0.0))
    return hr__diag_fail(diag, HR_ERR_RANGE, 0, 0,
                         cfg->max_ttft_p99_s > 0.0 ? "max_tbt_p99_s" : "max_ttft_p99_s", "%s",
                         "must be > 0 s");
  if (!(cfg->max_over_cont_s >= 0.0))
    return hr__diag_fail(diag, HR_ERR_RANGE, 0, 0, "max_over_cont_s", "%s", "must be >= 0 s");
  if (!(cfg->cont_settle_tau >= 0.0 && cfg->cont_settle_tau <= 100.0))
    return hr__diag_fail(diag, HR_ERR_RANGE, 0, 0, "cont_settle_tau", "%s",
                         "must be in [0, 100] time constants");
  if (!(cfg->cont_max_s >= 0.0))
    return hr__diag_fail(diag, HR_ERR_RANGE, 0, 0, "cont_max_s", "%s", "must be >= 0 s");
  /* A contingency after the run's end would pass untested. */
  for (size_t c = 0; c < sc->n_contingencies; c++)
    if (!(sc->contingencies[c].at_s < sc->duration_s))
      return hr__diag_fail(diag, HR_ERR_RANGE, 0, 0, "contingencies[].at_s",
                           "contingency %zu starts at %g s, not within the run's %g s", c,
                           sc->contingencies[c].at_s, sc->duration_s);
  int rc = hr_sim_static_count(sc, tree, cfg->derate_frac, &out->gpus_static);
  if (rc != HR_OK)
    return rc;
  searcher_t S = {.sc = sc, .tree = tree, .acfg = acfg, .cfg = cfg, .out = out, .diag = diag};
  for (size_t k = 0; k < n; k++) {
    double tau = hr_sim_device_tau_s(hr_tree_node(tree, k)->device);
    if (tau > S.tau_max_s)
      S.tau_max_s = tau;
  }
  out->tau_max_s = S.tau_max_s;
  S.n0 = sc->gpus < 0 ? (int)n_slots : sc->gpus;
  if (S.n0 < 1)
    return hr__diag_fail(diag, HR_ERR_RANGE, 0, 0, "gpus", "%s",
                         "the scenario populates no GPU to scale its workloads from");
  S.work = malloc((sc->n_work ? sc->n_work : 1) * sizeof *S.work);
  S.ev = malloc((sc->n_events + 1) * sizeof *S.ev);
  if (!S.work || !S.ev) {
    free(S.work);
    free(S.ev);
    return HR_ERR_NOMEM;
  }

  /* Candidates lo, lo + step, ..., up to hi: index i is lo + i * step. */
  int64_t i_lo = 0, i_hi = (hi - cfg->gpus_lo) / cfg->step;
  int ok = 0;
  if (cfg->scan) {
    rc = scan(&S, i_hi);
    goto done;
  }
  rc = trial(&S, cfg->gpus_lo + (int)i_hi * cfg->step, &ok);
  if (rc == HR_OK && ok) {
    out->gpus = cfg->gpus_lo + (int)i_hi * cfg->step;
    out->bracketed = 1;
    goto done;
  }
  if (rc != HR_OK || out->stopped)
    goto done;
  if (i_hi > 0) {
    rc = trial(&S, cfg->gpus_lo, &ok);
    if (rc == HR_OK && !ok && !S.abandoned)
      out->bracketed = 1; /* none passes: the answer is 0 */
    if (rc != HR_OK || out->stopped || !ok)
      goto done;
    out->gpus = cfg->gpus_lo;
  } else {
    goto done;
  }
  /* Invariant: index i_lo passed, i_hi failed. */
  while (i_hi - i_lo > 1) {
    int64_t mid = i_lo + (i_hi - i_lo) / 2;
    int g = cfg->gpus_lo + (int)mid * cfg->step;
    rc = trial(&S, g, &ok);
    if (rc != HR_OK)
      goto done;
    if (ok) {
      i_lo = mid;
      out->gpus = g;
    } else {
      i_hi = mid;
    }
    if (out->stopped)
      goto done;
  }
  out->bracketed = 1;
done:
  if (!cfg->scan && rc == HR_OK)
    out->gpus_max_pass = out->gpus;
  free(S.work);
  free(S.ev);
  if (rc != HR_OK) {
    hr_sim_search_result_free(out);
    return rc;
  }
  if (out->gpus_static > 0)
    out->recovered = (double)out->gpus / out->gpus_static - 1.0;
  return HR_OK;
}
