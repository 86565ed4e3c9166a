/* The control agent: readings and records in, leases and caps out
 * (include/headroom/loop.h, docs/loop.md).
 *
 * One step: take readings (pushed, or read from the actuator), aggregate the
 * subtree's power bottom-up, step the lease system's image of every
 * protective device (observe), push the node's power to the predictor and
 * the grid monitor, and when a decision is due (the period, a detected step,
 * a forecast above the grants, a mode change) compute leaf demands, run the
 * policy and send the caps that changed.  Every array is sized at create. */

#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/core.h"
#include "headroom/grid.h"
#include "headroom/loop.h"
#include "headroom/predict.h"
#include "lease/lease_int.h"
#include "loop/agent_int.h"
#include "tree/tree_int.h"

/* How long a site meter's trough must hold to count (meter_lo_step): a
 * single record's glitch (a garbage value taken as 0 W) would otherwise cut
 * every cap for the one to two seconds it stays the lowest; a GPU job's
 * trough lasts tens of ms, and a meter's one-cycle mean spreads any trough
 * over at least a cycle. */
#define MLO_HOLD_NS 5000000

/* Entries of the cache of the meter's window means (mlo_window_w). */
#define MLO_WCACHE 256

/* A site meter's recurring troughs (recur_track): two short troughs (at
 * most MLO_SHORT_NS from the fall to the rise back) at most MLO_RECUR_NS
 * apart hold the envelopes down to the shallower of them until
 * MLO_RECUR_NS after the newer. */
#define MLO_RECUR_NS 20000000000
#define MLO_SHORT_NS 500000000

/* band_hold_s's largest value: held in int64 ns and subtracted from a time
 * (bc_raise_ns = t - hold), a value near 9.2e9 s would overflow; 1e7 s
 * (116 days) is far beyond any use. */
#define HR__BAND_HOLD_MAX_S 1e7

/* Latency histogram: 20 log-spaced bins per decade from 100 ns to 100 s. */
#define LAT_BINS 180
#define LAT_LO_S 1e-7

struct hr_agent {
  const hr_tree_t *tree;
  size_t node;
  hr_actuator_t *act;
  hr_clock_t clock, lat_clock;
  hr_agent_cfg_t cfg;
  hr_lease_sys_t *sys;
  hr_predictor_t *pred;    /* NULL without predictor */
  hr_grid_monitor_t *grid; /* NULL unless node is a root with oscillation or ramp limits */
  hr_agent_decision_fn fn;
  void *fn_user;
  int read_act;

  size_t n_tree;
  size_t n_scope;
  int32_t *scope; /* tree indices of node and every node below it, tree order */
  size_t n_leaves;
  int32_t *leaf_node; /* leaf k -> tree index */
  int32_t *leaf_of;   /* tree index -> leaf k, -1 if none (n_tree entries) */
  double *node_p_w;   /* aggregated power per tree index (scope only) */
  double *demand_w;   /* per tree index, for hr_lease_sys_rebalance */
  /* per leaf */
  double *p_w;
  int64_t *p_t_ns;      /* time of the reading; INT64_MIN: none yet (or stuck) */
  int64_t *same_t_ns;   /* time the reading's value (p_w, bit for bit) first came (stuck_ns) */
  hr_act_reading_t *rd; /* per leaf: this step's readings (hr_actuator_read_many) */
  double *rp_w;         /* per leaf: this step's powers from power_fn */
  hr__agent_power_fn power_fn; /* hr__agent_set_power_fn; NULL: none */
  void *power_ctx;
  double granted_w; /* the sum of the caps granted (cap_max_w for none sent yet) */
  int granted_ok;   /* 0: a cap changed since granted_w was summed */
  int32_t *roots;   /* tree indices of the roots, in order (node_limit_w) */
  size_t n_roots;
  int any_met; /* 1 once a meter's record has given a node a power */
  /* per tree index, compact copies of what the per-step loops read (the
   * tree's nodes are large): the parents, and the token of the node's tier */
  int32_t *par, *par_b;
  double *tok_w;
  int32_t *dev_scope; /* the scope's nodes with a protective device, in scope order */
  size_t n_dev_scope;
  /* Unbalanced trees (a single-phase node under a three-phase one in the
   * scope): the power per conductor of every scope node [W, 3 a node; a
   * single-phase node's in slot 0], the leaves' and the overheads (before
   * the losses), so that a three-phase device's image carries its hottest
   * conductor's current, not the balanced share of its total.  NULL for a
   * balanced tree. */
  double *node_ph_w;
  int32_t *inner; /* tree indices of the nodes with children, in tree order */
  size_t n_inner;
  int32_t *sc_inner; /* the scope's nodes with children, in scope order */
  size_t n_sc_inner;
  /* per scope position s: n > 0 when positions s-n+1 .. s are leaves with
   * consecutive leaf indices, one parent, no B-side parent and none the
   * agent's node (a server's GPUs): summed as one run, where s is the
   * last of them (the first the bottom-up walk meets); else 0 */
  int32_t *run_n;
  int plain;          /* hr__agent_set_plain: no runs */
  double *qdown_w;    /* per tree index: leaf_probes' largest share on the way up */
  double *read_max_w; /* per leaf: read_max_frac x cap_max_w (take_power) */
  double *lcur_w;     /* per leaf: this step's power (its fresh reading, else 0) */
  double *want_w;     /* declared demand (hr_agent_push_want) */
  int64_t *want_t_ns;
  double *bmax_cur, *bmax_prev;
  double *cap_w;    /* last cap sent; NAN before any */
  int64_t *up_t_ns; /* time of the last cap sent above the one before (INT64_MIN: none) */
  int32_t *clk_mhz; /* per leaf: the clock lock's maximum in force [MHz]; 0 unlocked */
  double *cap_min_w, *cap_max_w, *rating_w;
  double *probe_w;       /* the least a throttled leaf asks above its cap [W] (per decision) */
  uint32_t *thr_below;   /* per tree index: throttled leaves below it (per decision) */
  unsigned char *act_on; /* per leaf: active at the last leaf_probes (1) or not (0) */
  int probes_ok;         /* 1: probe_w was computed from act */
  /* Dynamo and POLCA controllers, per tree index: 0 none, 1 leaf controller (no
   * rated node below), 2 upper controller; their band state; per leaf: the
   * priority, and scratch (cut, cap) */
  uint8_t *ctl, *ctl_state;
  double *acc_j; /* per tree index: energy since the last decision [J] (meter averages) */
  double acc_s;  /* the time it covers [s] */
  int *prio;
  double *scr_w;
  uint64_t n_dec;
  /* metered nodes (per tree index) */
  double *met_p_w, *met_i_a;
  int64_t *met_t_ns;
  int64_t *met_same_t_ns; /* time met_p_w's value (bit for bit) first came (stuck_ns) */
  int64_t *met_cyc_ns;    /* the length of the node's last one-cycle record (0: none yet):
                             its 1-ms power is the mean over one cycle before its time */
  double *met_max_w;      /* the most a meter may read: read_max_frac x the highest caps below */

  int started;
  int64_t t_last_ns, t_bucket_ns, t_next_ns, t_last_dec_ns, t_budget_ns, grid_hold_ns;
  /* hold_release: per leaf, the highest cap of this and the last bucket of
   * grid_hold_s (two buckets: one to two hold lengths back) */
  double *hcap_cur_w, *hcap_prev_w;
  int64_t hcap_bucket_ns;
  double p_at_dec_w;
  hr_mode_t mode;
  uint64_t rng;
  int static_done;
  /* supply limit (hr_agent_set_supply): INFINITY when none */
  double sup_lim_w, sup_ramp_w_per_s, sup_env_w;
  /* env_draw_w's draw and floor as found at step envd_step (st.steps; 0:
   * none): the per-step tracker's sum serves the same step's envelopes (a
   * cap sent since voids it: a stale GPU counts at its cap) */
  uint64_t envd_step;
  double envd_draw_w, envd_floor_w;
  /* the leaves' cap_min_w x env_w8 summed in leaf order (envelope_clamp) */
  double cap_min_sum_w;
  /* per leaf, 1 where a GPU is installed, 0 for a slot without one
   * (hr__agent_set_absent): the envelopes' sums weigh each leaf by it */
  double *env_w8;
  double sup_dmin_cur_w, sup_dmin_prev_w; /* lowest draw in this and the last 1-s bucket */
  int64_t sup_t_ns, sup_bucket_ns;
  int sup_new;
  /* the grid's ramp limit on the caps (cfg.grid_ramp_caps): the same
   * envelope, with no level limit; grd_ramp_w_per_s 0 when off */
  double grd_ramp_w_per_s, grd_env_w, grd_dmin_cur_w, grd_dmin_prev_w;
  int64_t grd_t_ns, grd_bucket_ns;
  int grd_new;
  /* A meter on the envelopes' node (every root's, for the whole tree)
   * sees the troughs the GPUs' readings miss (sampled telemetry): its
   * lowest input in this and the last 1-s bucket, and the means of the
   * readings' sum and of the meter's input over the same time (an
   * exponential mean, MLO_TAU_S), which tie the meter's watts to the
   * readings'.  mlo_t_ns INT64_MIN: no fresh meter, nothing to use. */
  double mlo_cur_w, mlo_prev_w;
  /* the held input's swings (recur_track): the running peak and trough,
   * which one is sought (1: a trough, after a fall of half a ramp), and the
   * last two troughs' levels and times (INT64_MIN: none) */
  double mlo_pk_w, mlo_tr_w, mlo_ev_w[2];
  int mlo_seek;
  int64_t mlo_ev_t_ns[2], mlo_fall_t_ns;
  int64_t mlo_t_ns, mlo_bucket_ns, mlo_t0_ns;
  /* ... and the mean of (the readings' sum - eff_marg_max x the meter's
   * input over the readings' windows): mlo_off_w, mlo_off_t_ns the time of
   * its last pair (INT64_MIN: none yet).  The meter's energy since the
   * tracker started, per step, in a ring of mlo_cap (time, joules) long
   * enough for the oldest fresh reading's window. */
  double mlo_off_w;
  int64_t mlo_off_t_ns, mlo_half_ns;
  /* per leaf its latest reading and the one before (value, time): a
   * reading whose window the meter has not yet covered (its 1-ms power
   * lags half a cycle) is compared through the one before */
  double *mlo_rc_w, *mlo_rp_w;
  /* the meter's means over readings' windows already computed, by the
   * reading's time (a covered window's mean never changes; a
   * direct-mapped cache, emptied when the tracker starts over): GPUs that
   * sample apart read at a hundred different times */
  int64_t mlo_wc_t_ns[MLO_WCACHE];
  double mlo_wc_w[MLO_WCACHE];
  int64_t *mlo_rc_t_ns, *mlo_rp_t_ns;
  int64_t *mlo_ring_t_ns;
  double *mlo_ring_j;
  size_t mlo_cap, mlo_n, mlo_head; /* mlo_head: the newest entry */
  /* the meter's records of the last MLO_HOLD_NS since the last gap (time,
   * input): a trough counts once held that long */
  int64_t *mlo_h_t_ns;
  double *mlo_h_w;
  size_t mlo_hcap, mlo_hn, mlo_hhead;
  int64_t *met_ms_dur_ns; /* per node, its last 1-ms record's length */
  unsigned ext_events;    /* HR_EVENT_* told by hr_agent_set_events, ORed with the agent's own */
  unsigned own_events;    /* the agent's own, as its last step found them */
  int have_lat_in;
  int64_t lat_in_ns;
  uint32_t lat_hist[LAT_BINS];
  double lat_max_s;
  hr_agent_stats_t st;
  /* The oscillation-band controller (cfg.band_ctl; bc_on 0 without it) */
  int bc_on;
  const hr_grid_limits_t *bc_lim;   /* the root's limits (the tree's) */
  double bc_frac, bc_fmin, bc_fmax; /* floor now, its bounds [fraction of cap_max] */
  double bc_r[HR_GRID_MAX_BANDS];   /* amplitude / swing per band */
  double bc_hi_cur, bc_lo_cur, bc_hi_prev, bc_lo_prev; /* site power's two-bucket range */
  int64_t bc_win_ns, bc_bucket_ns, bc_next_ns, bc_fresh_ns, bc_change_ns, bc_raise_ns;
  int64_t bc_hold_ns, bc_t0_ns, bc_tl_ns;
  double bc_frac_int; /* integral of the floor over time [fraction x s] */
  int bc_sent;        /* 0 until the first floors went out */
  int bc_started;     /* 0 before the first step */
  char sm_err[256];   /* the first refused smoothing profile's message */
};

/* ---- clocks ---------------------------------------------------------------- */

static int64_t wall_now(void *ctx)
{
  (void)ctx;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t manual_now(void *ctx)
{
  return *(const int64_t *)ctx;
}

void hr_clock_wall(hr_clock_t *out)
{
  if (out) {
    out->now_ns = wall_now;
    out->ctx = NULL;
  }
}

void hr_clock_manual(hr_clock_t *out, const int64_t *t_ns)
{
  if (out) {
    out->now_ns = manual_now;
    out->ctx = (void *)(uintptr_t)t_ns; /* read only: manual_now never writes */
  }
}

/* ---- names and presets ----------------------------------------------------- */

const char *hr_loop_policy_name(hr_loop_policy_t p)
{
  switch (p) {
  case HR_LOOP_NONE:
    return "none";
  case HR_LOOP_STATIC:
    return "static";
  case HR_LOOP_THREE_BAND:
    return "three_band";
  case HR_LOOP_TWO_THRESHOLD:
    return "two_threshold";
  case HR_LOOP_MULT_DECREASE:
    return "mult_decrease";
  case HR_LOOP_LEASE:
    return "lease";
  case HR_LOOP_DYNAMO:
    return "dynamo";
  case HR_LOOP_POLCA:
    return "polca";
  }
  return "unknown";
}

const char *hr_decision_why_name(hr_decision_why_t w)
{
  switch (w) {
  case HR_WHY_PERIOD:
    return "period";
  case HR_WHY_STEP:
    return "step";
  case HR_WHY_PREDICT:
    return "predict";
  case HR_WHY_STATIC:
    return "static";
  case HR_WHY_MODE:
    return "mode";
  }
  return "unknown";
}

/* Policies that act on each node's mean power since their last decision. */
static int avg_power(hr_loop_policy_t p)
{
  return p == HR_LOOP_DYNAMO || p == HR_LOOP_POLCA || p == HR_LOOP_MULT_DECREASE;
}

/* Node c's mean power since the last decision (its present power before the
 * first interval has passed). */
static double mean_p_w(const hr_agent_t *a, int32_t c)
{
  return a->acc_s > 0.0 ? a->acc_j[c] / a->acc_s : a->node_p_w[c];
}

static int uses_leases(hr_loop_policy_t p)
{
  return p == HR_LOOP_THREE_BAND || p == HR_LOOP_TWO_THRESHOLD || p == HR_LOOP_LEASE;
}

int hr_agent_cfg_init(hr_agent_cfg_t *cfg, hr_loop_policy_t policy)
{
  if (!cfg || (int)policy < HR_LOOP_NONE || policy > HR_LOOP_POLCA)
    return HR_ERR_INVALID_ARG;
  memset(cfg, 0, sizeof *cfg);
  cfg->policy = policy;
  hr_lease_cfg_init(&cfg->lease);
  /* Tokens finer than the draft's (100 W / 1 kW / 10 kW / 1 MW, sized for
   * MW-scale sites): on a row of a few hundred kW a 1 MW site token would
   * round every grant above a switchgear down to its floor. */
  static const double tok[HR_TIER_COUNT] = {10.0, 100.0, 1e3, 1e4};
  for (int k = 0; k < HR_TIER_COUNT; k++)
    cfg->lease.tier[k].token_w = tok[k];
  cfg->step_ns = 1000000;
  cfg->period_ns = 1000000000;
  cfg->static_frac = 0.7;
  cfg->demand_window_s = 2.0;
  cfg->probe_frac = 0.03;
  cfg->predict_horizon_s = 0.05;
  cfg->grid_hold_s = 5.0;
  cfg->md_high = 0.95;
  cfg->md_low = 0.85;
  cfg->md_beta = 0.9;
  cfg->md_release_p = 0.2;
  cfg->seed = 1;
  cfg->cap_eps_w = 1.0;
  cfg->read_max_frac = 2.0;
  /* A GPU's power telemetry moves at mW resolution with every update (NVML
   * reports milliwatts; its sample period is 1/6 s to 1 s depending on the
   * product, orchestration.md §1.6): one value bit for bit for three of the
   * longest periods, 3 s, is a stuck sensor or driver, not a slow one. */
  cfg->stuck_ns = 3000000000;
  cfg->upper_every = 3;
  cfg->band_hi_frac = 0.9;
  cfg->band_target_frac = 0.8;
  cfg->band_down_frac_per_s = 0.002;
  cfg->band_floor_max_frac = 0.9;
  cfg->polca_low_clock_frac = 0.769;
  cfg->polca_high_clock_frac = 0.889;
  cfg->clock_max_mhz = 1980; /* H100 SXM [M: NVIDIA's figure, not in our reference] */
  switch (policy) {
  case HR_LOOP_THREE_BAND:
    /* Dynamo (ISCA 2016): leaf controllers every 3 s; three bands at
     * 0.99/0.95/0.90 of the limit (lease.h defaults, orchestration.md §5). */
    cfg->period_ns = 3000000000;
    cfg->lease.coord.policy = HR_POLICY_THREE_BAND;
    break;
  case HR_LOOP_TWO_THRESHOLD:
    /* POLCA (ASPLOS 2024; patent US20250377708A1): T1 0.80, T2 0.90, uncap
     * 5 % below T2 (lease.h defaults).  The paper's loop period is not in
     * our reference; 1 s is our choice. */
    cfg->lease.coord.policy = HR_POLICY_TWO_THRESHOLD;
    break;
  case HR_LOOP_LEASE:
    cfg->period_ns = 10000000;
    cfg->step_frac = 0.05;
    cfg->use_predictor = 1;
    break;
  case HR_LOOP_DYNAMO:
    /* Dynamo (Wu et al., ISCA 2016): leaf controllers every 3 s, upper
     * controllers every 9 s; bands 0.99 / 0.95 / 0.90 of the limit [M]
     * (orchestration.md §5; the paper's own values are not in our
     * reference); 100-W power buckets. */
    cfg->period_ns = 3000000000;
    break;
  case HR_LOOP_POLCA:
    /* POLCA (Patel et al., ASPLOS 2024; patent US20250377708A1): T1 0.80,
     * T2 0.90 of the row's power, uncap 5 % below [M: the paper's values
     * are not in our reference].  POLCA caps the GPU frequency on inference
     * (orchestration.md §1.3, NVML section): low-priority GPUs to 0.769 and
     * the others to 0.889 of the highest clock, the clocks at which a GPU
     * drawing its 700-W TDP at full clock draws 0.70 and 0.85 of it (the
     * power caps of `polca-power`) under the simulator's clock model
     * (docs/sim.md, "Clock locks": (0.667)^0.647 and (0.833)^0.647) [M].
     * 1-s loop: our choice. */
    cfg->polca_clocks = 1;
    break;
  default:
    break;
  }
  /* A lease must outlive two periods, so a holder renews before it expires. */
  for (int k = 0; k < HR_TIER_COUNT; k++)
    if (cfg->lease.tier[k].ttl_ns < 3 * cfg->period_ns)
      cfg->lease.tier[k].ttl_ns = 3 * cfg->period_ns;
  cfg->stale_ns = 3 * cfg->period_ns > 50000000 ? 3 * cfg->period_ns : 50000000;
  return HR_OK;
}

static int cfg_check(const hr_agent_cfg_t *c)
{
  if ((int)c->policy < HR_LOOP_NONE || c->policy > HR_LOOP_POLCA)
    return HR_ERR_INVALID_ARG;
  if (c->upper_every < 1)
    return HR_ERR_RANGE;
  if (c->policy == HR_LOOP_POLCA && c->polca_clocks &&
      !(c->polca_low_clock_frac > 0.0 && c->polca_low_clock_frac <= 1.0 &&
        c->polca_high_clock_frac > 0.0 && c->polca_high_clock_frac <= 1.0 && c->clock_max_mhz > 0 &&
        c->clock_lo_mhz >= 0 && c->clock_lo_mhz <= c->clock_max_mhz))
    return HR_ERR_RANGE;
  if (c->step_ns <= 0 || c->period_ns < c->step_ns || c->stale_ns <= 0 || c->stuck_ns < 0 ||
      c->tel_window_ns < 0 || c->tel_window_ns > c->stale_ns || c->settle_ns < 0 ||
      c->settle_ns > (int64_t)3600000000000)
    return HR_ERR_RANGE;
  if (!(c->static_frac > 0.0 && c->static_frac <= 1.0) || !(c->demand_window_s > 0.0) ||
      !(c->probe_frac >= 0.0 && c->probe_frac <= 1.0) || !(c->step_frac >= 0.0) ||
      !(c->grid_hold_s >= 0.0) || !(c->cap_eps_w >= 0.0) || !isfinite(c->grid_hold_s) ||
      !(c->read_max_frac > 1.0))
    return HR_ERR_RANGE;
  if (!(c->smooth_floor_frac == 0.0 ||
        (c->smooth_floor_frac >= 0.2 && c->smooth_floor_frac <= 0.9)) ||
      !(c->smooth_ramp_w_per_s >= 0.0) || !isfinite(c->smooth_ramp_w_per_s) ||
      !(c->smooth_hyst_ms >= 0.0 && c->smooth_hyst_ms <= HR_ACT_HYST_MAX_MS))
    return HR_ERR_RANGE;
  /* A profile has a floor and ramps (NVML's has no "off" for either). */
  if ((c->smooth_floor_frac > 0.0) != (c->smooth_ramp_w_per_s > 0.0))
    return HR_ERR_RANGE;
  if (c->band_ctl &&
      !(c->smooth_floor_frac >= 0.2 && c->band_floor_max_frac >= c->smooth_floor_frac &&
        c->band_floor_max_frac <= 0.9 && c->band_target_frac > 0.0 &&
        c->band_target_frac < c->band_hi_frac && c->band_hi_frac <= 1.0 &&
        c->band_down_frac_per_s > 0.0 && isfinite(c->band_down_frac_per_s) &&
        c->band_hold_s >= 0.0 && c->band_hold_s <= HR__BAND_HOLD_MAX_S))
    return HR_ERR_RANGE;
  if (c->policy == HR_LOOP_MULT_DECREASE &&
      !(c->md_low > 0.0 && c->md_low < c->md_high && c->md_beta > 0.0 && c->md_beta < 1.0 &&
        c->md_release_p >= 0.0 && c->md_release_p <= 1.0))
    return HR_ERR_RANGE;
  if (uses_leases(c->policy))
    for (int k = 0; k < HR_TIER_COUNT; k++)
      if (c->lease.tier[k].ttl_ns < 2 * c->period_ns)
        return HR_ERR_RANGE;
  return HR_OK;
}

/* ---- the oscillation-band controller ------------------------------------------ */

#define BC_TICK_NS 100000000         /* a decision every 100 ms */
#define BC_R_MAX 0.70710678118654752 /* 1 / sqrt(2): amplitude / swing can be no more */

static void band_init(hr_agent_t *a, const hr_grid_limits_t *gl)
{
  a->bc_on = 1;
  a->bc_lim = gl;
  a->bc_fmin = a->cfg.smooth_floor_frac;
  a->bc_fmax = a->cfg.band_floor_max_frac;
  a->bc_frac = a->bc_fmin;
  double f_lo = INFINITY;
  for (int k = 0; k < gl->n_bands; k++) {
    a->bc_r[k] = BC_R_MAX;
    if (gl->bands[k].f_lo_hz < f_lo)
      f_lo = gl->bands[k].f_lo_hz;
  }
  /* The swing is the site's range over the last 1 / (2 f_lo) to 1 / f_lo
   * (two buckets): at least half the longest period the bands pass. */
  a->bc_win_ns = (int64_t)(0.5 / f_lo * 1e9);
  double hold_s = a->cfg.band_hold_s > 0.0 ? a->cfg.band_hold_s : 3.0 / f_lo + 1.0;
  a->bc_hold_ns = (int64_t)(hold_s * 1e9);
  a->st.floor_frac = a->st.floor_max_frac = a->bc_frac;
}

/* The swing's buckets start again (after a rise: the troughs before it say
 * nothing of the floor now). */
static void band_range_reset(hr_agent_t *a, int64_t from_ns)
{
  a->bc_fresh_ns = from_ns;
  a->bc_bucket_ns = from_ns;
  a->bc_hi_cur = a->bc_hi_prev = -INFINITY;
  a->bc_lo_cur = a->bc_lo_prev = INFINITY;
}

/* Every leaf's floor to frac x its cap_max.  The GPU burns at most its cap
 * (hr_actuator_set_power_floor): the cap stays the protection.  Back at its
 * lowest the floor is sent as 0: smoothing off, its ramps with it (NVML
 * disables the profile; the simulator's ramps are gated the same way), so
 * a job inside the bands keeps its own edges and loses no work. */
static void band_send(hr_agent_t *a, double frac, int64_t t)
{
  for (size_t k = 0; k < a->n_leaves; k++) {
    double w = frac <= a->bc_fmin ? 0.0 : frac * a->cap_max_w[k];
    int rc = hr_actuator_set_power_floor(a->act, (int)k, w, t);
    a->st.floor_sets++;
    if (rc != HR_OK) {
      a->st.floor_errors++;
      a->st.last_floor_err = rc;
    }
  }
  a->bc_frac = frac;
  a->bc_change_ns = t;
  a->bc_sent = 1;
  a->st.floor_frac = frac;
  if (frac > a->st.floor_max_frac)
    a->st.floor_max_frac = frac;
}

/* One step of the controller: the site's range every step (two compares),
 * a decision every BC_TICK_NS; floors sent only when they move. */
static void band_step(hr_agent_t *a, int64_t t, double p_w, const hr_grid_status_t *gs)
{
  if (!a->bc_started) {
    a->bc_started = 1;
    a->bc_t0_ns = a->bc_tl_ns = a->bc_next_ns = t;
    a->bc_raise_ns = t - a->bc_hold_ns;
    band_range_reset(a, t);
  }
  a->bc_frac_int += a->bc_frac * (double)(t - a->bc_tl_ns) * 1e-9;
  a->bc_tl_ns = t;
  if (t >= a->bc_fresh_ns) {
    if (t - a->bc_bucket_ns >= a->bc_win_ns) {
      a->bc_hi_prev = a->bc_hi_cur;
      a->bc_lo_prev = a->bc_lo_cur;
      a->bc_hi_cur = a->bc_lo_cur = p_w;
      a->bc_bucket_ns = t;
    } else {
      if (p_w > a->bc_hi_cur)
        a->bc_hi_cur = p_w;
      if (p_w < a->bc_lo_cur)
        a->bc_lo_cur = p_w;
    }
  }
  if (t < a->bc_next_ns)
    return;
  a->bc_next_ns = t + BC_TICK_NS;
  if (!a->bc_sent) {
    /* A real GPU's profile may hold any floor: start at the lowest. */
    band_send(a, a->bc_fmin, t);
    return;
  }
  double hi = fmax(a->bc_hi_cur, a->bc_hi_prev), lo = fmin(a->bc_lo_cur, a->bc_lo_prev);
  if (t < a->bc_fresh_ns || !(hi >= lo))
    return;
  /* The GPUs drawing now, and their mean cap_max (a per-leaf pass every
   * 100 ms, not every step). */
  size_t n = 0;
  double cmax = 0.0;
  for (size_t k = 0; k < a->n_leaves; k++)
    if (a->lcur_w[k] > 0.0) {
      n++;
      cmax += a->cap_max_w[k];
    }
  if (n == 0)
    return;
  cmax /= (double)n;
  const hr_grid_limits_t *gl = a->bc_lim;
  const double swing = hi - lo, still_s = (double)(t - a->bc_change_ns) * 1e-9;
  const double win_s = 1e-9 * (double)a->bc_win_ns;
  const double risen_s = (double)(t - a->bc_raise_ns) * 1e-9,
               fresh_s = (double)(t - a->bc_fresh_ns) * 1e-9;
  double worst = 0.0, s_want = INFINITY;
  for (int k = 0; k < gl->n_bands; k++) {
    const double lim_w = gl->bands[k].max_w, f_lo = gl->bands[k].f_lo_hz;
    /* amplitude / swing, measured once the band's window (2 / f_lo) and
     * the swing's hold only samples since the last rise (the slow falls
     * since move the trough by little) */
    if (gs->settled && swing > 0.0 && risen_s >= 2.0 / f_lo + 2.0 * win_s) {
      /* up at once (safety), down by a fiftieth of the gap per decision
       * (a 5-s time constant: a passing transient does not lower it) */
      double r = gs->band_amp_w[k] / swing;
      r = r < 0.02 ? 0.02 : r > BC_R_MAX ? BC_R_MAX : r;
      a->bc_r[k] = r > a->bc_r[k] ? r : a->bc_r[k] + 0.02 * (r - a->bc_r[k]);
    }
    double pred = fmax(gs->band_amp_w[k], a->bc_r[k] * swing) / lim_w;
    if (pred > worst)
      worst = pred;
    double s = a->cfg.band_target_frac * lim_w / a->bc_r[k];
    if (s < s_want)
      s_want = s;
  }
  /* The floor that puts the trough s_want below the peak: from the GPUs'
   * mean trough now (the floor, or the workload's own trough above it),
   * the missing trough shared by the GPUs drawing. */
  double base_w = fmax(a->bc_frac * cmax, lo / (double)n);
  double f_model = (base_w + (hi - s_want - lo) / (double)n) / cmax;
  double f = a->bc_frac;
  if (worst > a->cfg.band_hi_frac) {
    double nf = f_model > a->bc_fmax ? a->bc_fmax : f_model;
    if (nf > f + 1e-3) {
      band_send(a, nf, t);
      a->bc_raise_ns = t;
      a->st.band_raises++;
      /* the new floor is in force after the actuation delay and the ramp */
      double settle_s = 0.5;
      if (a->cfg.smooth_ramp_w_per_s > 0.0)
        settle_s += (nf - f) * cmax / a->cfg.smooth_ramp_w_per_s;
      band_range_reset(a, t + (int64_t)(settle_s * 1e9));
    }
  } else if (worst < a->cfg.band_target_frac && f > a->bc_fmin && still_s >= 2.0 * win_s &&
             lo / (double)n >= (f + 0.01) * cmax) {
    /* The floor holds no trough up (the GPUs' mean trough is above it, e.g.
     * after a rise for a job's start ramp): down to the lowest at once, as
     * that changes no power (the model's floor, the trough less a share of
     * the amplitude to spare, is below the trough too). */
    band_send(a, a->bc_fmin, t);
  } else if (worst < a->cfg.band_target_frac && t - a->bc_raise_ns >= a->bc_hold_ns &&
             fresh_s >= win_s && f > a->bc_fmin) {
    double nf = f - a->cfg.band_down_frac_per_s * still_s;
    if (nf < f_model)
      nf = f_model;
    if (nf < a->bc_fmin)
      nf = a->bc_fmin;
    if (f - nf >= 0.01 || (nf == a->bc_fmin && f - nf > 0.0))
      band_send(a, nf, t);
  }
}

/* Every GPU's smoothing profile, once, at the first step: the floor is
 * smooth_floor_frac of the GPU's cap_max (TDP), both ramps
 * smooth_ramp_w_per_s.  A refusal is counted and the first one's message
 * kept; that GPU runs without smoothing (the agent goes on capping it, and a
 * real GPU keeps whatever profile it had). */
static void smooth_send(hr_agent_t *a, int64_t t)
{
  for (size_t k = 0; k < a->n_leaves; k++) {
    hr_act_smoothing_t p = {a->cfg.smooth_floor_frac * a->cap_max_w[k], a->cfg.smooth_ramp_w_per_s,
                            a->cfg.smooth_ramp_w_per_s, a->cfg.smooth_hyst_ms};
    int rc = hr_actuator_set_smoothing(a->act, (int)k, &p, t);
    a->st.smooth_sets++;
    if (rc != HR_OK) {
      if (a->st.smooth_errors == 0)
        snprintf(a->sm_err, sizeof a->sm_err, "%s", hr_actuator_error(a->act));
      a->st.smooth_errors++;
      a->st.last_smooth_err = rc;
    } else if (a->cfg.band_ctl && !a->bc_on) {
      /* The band controller's lowest floor is smoothing off (band_send);
       * without oscillation limits at the root it does not run, so the
       * GPUs stay there: the profile is in place for nothing but kept
       * off. */
      rc = hr_actuator_set_power_floor(a->act, (int)k, 0.0, t);
      a->st.floor_sets++;
      if (rc != HR_OK) {
        a->st.floor_errors++;
        a->st.last_floor_err = rc;
      }
    }
  }
}

const char *hr_agent_smoothing_error(const hr_agent_t *a)
{
  return a ? a->sm_err : "";
}

/* ---- create / destroy -------------------------------------------------------- */

void hr_agent_destroy(hr_agent_t *a)
{
  if (!a)
    return;
  hr_lease_sys_destroy(a->sys);
  hr_predictor_destroy(a->pred);
  hr_grid_monitor_destroy(a->grid);
  free(a->scope);
  free(a->leaf_node);
  free(a->leaf_of);
  free(a->node_p_w);
  free(a->node_ph_w);
  free(a->demand_w);
  free(a->p_w);
  free(a->p_t_ns);
  free(a->same_t_ns);
  free(a->rd);
  free(a->roots);
  free(a->par);
  free(a->par_b);
  free(a->tok_w);
  free(a->dev_scope);
  free(a->inner);
  free(a->sc_inner);
  free(a->run_n);
  free(a->qdown_w);
  free(a->read_max_w);
  free(a->lcur_w);
  free(a->bmax_cur);
  free(a->bmax_prev);
  free(a->hcap_cur_w);
  free(a->hcap_prev_w);
  free(a->cap_w);
  free(a->up_t_ns);
  free(a->clk_mhz);
  free(a->cap_min_w);
  free(a->cap_max_w);
  free(a->rating_w);
  free(a->probe_w);
  free(a->thr_below);
  free(a->act_on);
  free(a->ctl);
  free(a->ctl_state);
  free(a->acc_j);
  free(a->prio);
  free(a->scr_w);
  free(a->mlo_ring_t_ns);
  free(a->mlo_ring_j);
  free(a->mlo_h_t_ns);
  free(a->mlo_h_w);
  free(a->mlo_rc_w);
  free(a->mlo_rp_w);
  free(a->mlo_rc_t_ns);
  free(a->mlo_rp_t_ns);
  free(a->env_w8);
  free(a->rp_w);
  free(a->want_w);
  free(a->want_t_ns);
  free(a->met_p_w);
  free(a->met_i_a);
  free(a->met_cyc_ns);
  free(a->met_ms_dur_ns);
  free(a->met_t_ns);
  free(a->met_same_t_ns);
  free(a->met_max_w);
  free(a);
}

int hr_agent_create(const hr_tree_t *tree, size_t node, hr_actuator_t *act, const hr_clock_t *clock,
                    const hr_clock_t *lat_clock, const hr_agent_cfg_t *cfg, hr_agent_t **out)
{
  if (!out)
    return HR_ERR_INVALID_ARG;
  *out = NULL;
  if (!tree || !clock || !clock->now_ns || !cfg ||
      (node >= hr_tree_count(tree) && node != HR_AGENT_WHOLE_TREE))
    return HR_ERR_INVALID_ARG;
  if (!act && cfg->policy != HR_LOOP_NONE)
    return HR_ERR_INVALID_ARG;
  int rc = cfg_check(cfg);
  if (rc != HR_OK)
    return rc;
  hr_agent_t *a = calloc(1, sizeof *a);
  if (!a)
    return HR_ERR_NOMEM;
  a->tree = tree;
  a->node = node;
  a->act = act;
  a->clock = *clock;
  if (lat_clock && lat_clock->now_ns)
    a->lat_clock = *lat_clock;
  else
    hr_clock_wall(&a->lat_clock);
  a->cfg = *cfg;
  size_t n = hr_tree_count(tree);
  const hr_tree_node_t *nd = hr_tree_nodes(tree);
  a->n_tree = n;
  unsigned char *in = calloc(n, 1);
  a->scope = malloc(n * sizeof *a->scope);
  a->leaf_of = malloc(n * sizeof *a->leaf_of);
  a->node_p_w = calloc(n, sizeof *a->node_p_w);
  a->demand_w = calloc(n, sizeof *a->demand_w);
  a->met_p_w = calloc(n, sizeof *a->met_p_w);
  a->met_i_a = calloc(n, sizeof *a->met_i_a);
  a->met_t_ns = malloc(n * sizeof *a->met_t_ns);
  a->met_same_t_ns = malloc(n * sizeof *a->met_same_t_ns);
  a->met_max_w = calloc(n, sizeof *a->met_max_w);
  a->met_cyc_ns = calloc(n, sizeof *a->met_cyc_ns);
  a->met_ms_dur_ns = calloc(n, sizeof *a->met_ms_dur_ns);
  if (!in || !a->scope || !a->leaf_of || !a->node_p_w || !a->demand_w || !a->met_p_w ||
      !a->met_i_a || !a->met_t_ns || !a->met_same_t_ns || !a->met_max_w || !a->met_cyc_ns ||
      !a->met_ms_dur_ns) {
    free(in);
    hr_agent_destroy(a);
    return HR_ERR_NOMEM;
  }
  /* Topological order: a node's parents come first, so one forward pass
   * marks the whole subtree (both feeds of a dual-corded node included). */
  for (size_t k = 0; k < n; k++) {
    a->leaf_of[k] = -1;
    a->met_t_ns[k] = INT64_MIN;
    a->met_same_t_ns[k] = INT64_MIN;
    in[k] = node == HR_AGENT_WHOLE_TREE || k == node || (nd[k].parent >= 0 && in[nd[k].parent]) ||
            (nd[k].parent_b >= 0 && in[nd[k].parent_b]);
    if (in[k]) {
      a->scope[a->n_scope++] = (int32_t)k;
      if (nd[k].n_children == 0)
        a->n_leaves++;
    }
  }
  free(in);
  size_t m = a->n_leaves ? a->n_leaves : 1;
  a->leaf_node = malloc(m * sizeof *a->leaf_node);
  a->p_w = calloc(m, sizeof *a->p_w);
  a->p_t_ns = malloc(m * sizeof *a->p_t_ns);
  a->same_t_ns = malloc(m * sizeof *a->same_t_ns);
  a->rd = malloc(m * sizeof *a->rd);
  a->roots = malloc(n * sizeof *a->roots);
  a->par = malloc(n * sizeof *a->par);
  a->par_b = malloc(n * sizeof *a->par_b);
  a->tok_w = malloc(n * sizeof *a->tok_w);
  a->dev_scope = malloc(n * sizeof *a->dev_scope);
  a->inner = malloc(n * sizeof *a->inner);
  a->sc_inner = malloc(n * sizeof *a->sc_inner);
  a->run_n = calloc(n, sizeof *a->run_n);
  a->qdown_w = malloc(n * sizeof *a->qdown_w);
  a->bmax_cur = calloc(m, sizeof *a->bmax_cur);
  a->bmax_prev = calloc(m, sizeof *a->bmax_prev);
  a->hcap_cur_w = calloc(m, sizeof *a->hcap_cur_w);
  a->hcap_prev_w = calloc(m, sizeof *a->hcap_prev_w);
  a->cap_w = malloc(m * sizeof *a->cap_w);
  a->up_t_ns = malloc(m * sizeof *a->up_t_ns);
  a->clk_mhz = calloc(m, sizeof *a->clk_mhz);
  a->cap_min_w = calloc(m, sizeof *a->cap_min_w);
  a->cap_max_w = calloc(m, sizeof *a->cap_max_w);
  a->rating_w = calloc(m, sizeof *a->rating_w);
  a->read_max_w = calloc(m, sizeof *a->read_max_w);
  a->lcur_w = calloc(m, sizeof *a->lcur_w);
  a->probe_w = calloc(m, sizeof *a->probe_w);
  a->act_on = calloc(m, 1);
  if (!a->act_on || !a->up_t_ns || !a->inner || !a->sc_inner || !a->run_n || !a->qdown_w ||
      !a->par || !a->par_b || !a->tok_w || !a->dev_scope || !a->rd || !a->roots || !a->probe_w ||
      !a->leaf_node || !a->p_w || !a->p_t_ns || !a->same_t_ns || !a->bmax_cur || !a->bmax_prev ||
      !a->hcap_cur_w || !a->hcap_prev_w || !a->cap_w || !a->clk_mhz || !a->cap_min_w ||
      !a->cap_max_w || !a->rating_w || !a->read_max_w || !a->lcur_w) {
    hr_agent_destroy(a);
    return HR_ERR_NOMEM;
  }
  for (size_t k = 0; k < n; k++) {
    if (nd[k].parent < 0)
      a->roots[a->n_roots++] = (int32_t)k;
    a->par[k] = nd[k].parent;
    a->par_b[k] = nd[k].parent_b;
    a->tok_w[k] = cfg->lease.tier[hr_lease_tier_of(nd[k].kind)].token_w;
    if (nd[k].n_children)
      a->inner[a->n_inner++] = (int32_t)k;
  }
  int unbal = 0;
  for (size_t s = 0; s < a->n_scope; s++) {
    const hr_tree_node_t *x = &nd[a->scope[s]];
    if (x->device)
      a->dev_scope[a->n_dev_scope++] = a->scope[s];
    if (x->n_children)
      a->sc_inner[a->n_sc_inner++] = a->scope[s];
    if (x->n_phases == 1 && x->parent >= 0 && nd[x->parent].n_phases == 3)
      unbal = 1;
  }
  if (unbal && !(a->node_ph_w = calloc(3 * n, sizeof *a->node_ph_w))) {
    hr_agent_destroy(a);
    return HR_ERR_NOMEM;
  }
  /* Runs of leaves for the bottom-up sum (run_n): scope positions in
   * order, a run growing while the next is a leaf with the same one parent. */
  for (size_t s = 0, len = 0; s < a->n_scope; s++) {
    int32_t k = a->scope[s];
    int ok = nd[k].n_children == 0 && nd[k].parent >= 0 && nd[k].parent_b < 0 && (size_t)k != node;
    if (ok && len > 0 && nd[a->scope[s - 1]].parent == nd[k].parent) {
      a->run_n[s - 1] = 0;
      a->run_n[s] = (int32_t)++len;
    } else {
      len = ok ? 1 : 0;
      a->run_n[s] = (int32_t)len;
    }
  }
  size_t j = 0;
  for (size_t s = 0; s < a->n_scope; s++) {
    int32_t k = a->scope[s];
    if (nd[k].n_children == 0) {
      a->leaf_of[k] = (int32_t)j;
      a->leaf_node[j] = k;
      a->p_t_ns[j] = INT64_MIN;
      a->same_t_ns[j] = INT64_MIN;
      a->cap_w[j] = NAN;
      a->up_t_ns[j] = INT64_MIN;
      j++;
    }
  }
  if (act && (size_t)hr_actuator_count(act) < a->n_leaves) {
    hr_agent_destroy(a);
    return HR_ERR_RANGE;
  }
  for (size_t k = 0; k < a->n_leaves; k++) {
    hr_act_limits_t lim = {0.0, INFINITY, 0.0};
    if (act && hr_actuator_limits(act, (int)k, &lim) != HR_OK) {
      hr_agent_destroy(a);
      return HR_ERR_IO;
    }
    a->cap_min_w[k] = lim.cap_min_w;
    a->cap_max_w[k] = lim.cap_max_w;
    a->read_max_w[k] = cfg->read_max_frac * lim.cap_max_w;
    /* A GPU's rating: the tree's, else the device's highest cap. */
    const hr_tree_node_t *g = &nd[a->leaf_node[k]];
    a->rating_w[k] = g->rating_w > 0.0 ? g->rating_w : lim.cap_max_w;
    a->met_max_w[a->leaf_node[k]] = a->read_max_w[k];
  }
  /* A meter's highest credible power: its GPUs' (read_max_frac x their
   * highest caps), summed up the tree (children come after parents; a
   * dual-corded node counts in full on both sides: a bound, not a share). */
  for (size_t x = n; x-- > 0;) {
    if (nd[x].parent >= 0)
      a->met_max_w[nd[x].parent] += a->met_max_w[x];
    if (nd[x].parent_b >= 0)
      a->met_max_w[nd[x].parent_b] += a->met_max_w[x];
  }
  a->cap_min_sum_w = 0.0;
  for (size_t k = 0; k < a->n_leaves; k++)
    a->cap_min_sum_w += a->cap_min_w[k];
  a->thr_below = calloc(n, sizeof *a->thr_below);
  a->ctl = calloc(n, 1);
  a->ctl_state = calloc(n, 1);
  a->acc_j = calloc(n, sizeof *a->acc_j);
  a->prio = calloc(m, sizeof *a->prio);
  a->scr_w = calloc(m, sizeof *a->scr_w);
  /* (the ring: every step of the oldest fresh reading's age and window, at
   * most 2 s of each (an older reading is not compared), at most 65536
   * entries (a step under 61 us: the oldest readings' windows fall outside
   * and are not compared); the hold's ring: MLO_HOLD_NS of steps) */
  {
    const int64_t span = (cfg->stale_ns < 2000000000 ? cfg->stale_ns : 2000000000) +
                         (cfg->tel_window_ns < 2000000000 ? cfg->tel_window_ns : 2000000000);
    const int64_t n_ent = span / cfg->step_ns + 3;
    a->mlo_cap = n_ent < 65536 ? (size_t)n_ent : 65536;
    const int64_t n_hold = MLO_HOLD_NS / cfg->step_ns + 3;
    a->mlo_hcap = n_hold < 65536 ? (size_t)n_hold : 65536;
  }
  a->mlo_ring_t_ns = calloc(a->mlo_cap, sizeof *a->mlo_ring_t_ns);
  a->mlo_ring_j = calloc(a->mlo_cap, sizeof *a->mlo_ring_j);
  a->mlo_h_t_ns = calloc(a->mlo_hcap, sizeof *a->mlo_h_t_ns);
  a->mlo_h_w = calloc(a->mlo_hcap, sizeof *a->mlo_h_w);
  a->mlo_rc_w = calloc(m, sizeof *a->mlo_rc_w);
  a->mlo_rp_w = calloc(m, sizeof *a->mlo_rp_w);
  a->mlo_rc_t_ns = malloc(m * sizeof *a->mlo_rc_t_ns);
  a->mlo_rp_t_ns = malloc(m * sizeof *a->mlo_rp_t_ns);
  for (size_t k = 0; a->mlo_rc_t_ns && a->mlo_rp_t_ns && k < m; k++)
    a->mlo_rc_t_ns[k] = a->mlo_rp_t_ns[k] = INT64_MIN;
  a->env_w8 = malloc(m * sizeof *a->env_w8);
  a->rp_w = calloc(m, sizeof *a->rp_w);
  a->want_w = calloc(m, sizeof *a->want_w);
  a->want_t_ns = malloc(m * sizeof *a->want_t_ns);
  for (size_t k = 0; a->want_t_ns && k < m; k++)
    a->want_t_ns[k] = INT64_MIN;
  for (size_t k = 0; a->env_w8 && k < m; k++)
    a->env_w8[k] = 1.0;
  if (!a->want_w || !a->want_t_ns || !a->thr_below || !a->ctl || !a->ctl_state || !a->acc_j ||
      !a->prio || !a->scr_w || !a->env_w8 || !a->rp_w || !a->mlo_ring_t_ns || !a->mlo_ring_j ||
      !a->mlo_rc_w || !a->mlo_rp_w || !a->mlo_rc_t_ns || !a->mlo_rp_t_ns || !a->mlo_h_t_ns ||
      !a->mlo_h_w) {
    hr_agent_destroy(a);
    return HR_ERR_NOMEM;
  }
  /* A controller at every rated node with GPUs below it (Dynamo's tree of
   * controllers mirrors the electrical one): an upper one where another rated
   * node lies below it. */
  for (size_t s = 0; s < a->n_scope; s++) {
    int32_t k = a->scope[s];
    if (nd[k].n_children && (nd[k].device || isfinite(nd[k].capacity_w)))
      a->ctl[k] = 1;
  }
  for (size_t s = 0; s < a->n_scope; s++) {
    int32_t k = a->scope[s];
    if (!a->ctl[k])
      continue;
    for (int32_t up = nd[k].parent; up >= 0; up = nd[up].parent)
      if (a->ctl[up])
        a->ctl[up] = 2;
  }
  rc = hr_lease_sys_create(tree, &cfg->lease, &a->sys, NULL);
  if (rc != HR_OK) {
    hr_agent_destroy(a);
    return rc;
  }
  /* A GPU's rating is its board power limit (TDP), not a breaker's thermal
   * rating: the NEC 80 % continuous rule does not apply to it. */
  /* All of them in one call, which recomputes the budgets once (a call per
   * GPU was O(n^2): 0.24 s at 1,024 GPUs).  Should it be refused (floors
   * that would not fit), one call per GPU as before, so that the ratings
   * that do fit are still set. */
  {
    size_t *gpus = malloc((a->n_leaves ? a->n_leaves : 1) * sizeof *gpus);
    if (!gpus) {
      hr_agent_destroy(a);
      return HR_ERR_NOMEM;
    }
    size_t n_gpu = 0;
    for (size_t k = 0; k < a->n_leaves; k++)
      if (nd[a->leaf_node[k]].kind == HR_NODE_GPU)
        gpus[n_gpu++] = (size_t)a->leaf_node[k];
    if (hr_lease_sys_set_rated_100_many(a->sys, gpus, n_gpu, 1, 0) != HR_OK)
      for (size_t g = 0; g < n_gpu; g++)
        hr_lease_sys_set_rated_100(a->sys, gpus[g], 1, 0);
    free(gpus);
  }
  double dt_s = (double)cfg->step_ns * 1e-9;
  if (cfg->use_predictor) {
    hr_predict_cfg_t pc;
    hr_predict_cfg_init(&pc, dt_s);
    pc.horizon_s = cfg->predict_horizon_s;
    if (pc.history_s < 4.0 * pc.horizon_s)
      pc.history_s = 4.0 * pc.horizon_s;
    rc = hr_predictor_create(&pc, &a->pred);
    if (rc != HR_OK) {
      hr_agent_destroy(a);
      return rc;
    }
  }
  const hr_grid_limits_t *gl = nd[node == HR_AGENT_WHOLE_TREE ? 0 : node].grid;
  if (gl && (gl->n_bands > 0 || gl->max_ramp_w_per_s > 0.0)) {
    rc = hr_grid_monitor_create(gl, dt_s, &a->grid);
    if (rc != HR_OK) {
      hr_agent_destroy(a);
      return rc;
    }
    /* The envelope's rise is one ramp window's worth (its 1-s buckets): a
     * window other than 1 s scales the allowance to the same rise. */
    if (cfg->grid_ramp_caps && uses_leases(cfg->policy) && gl->max_ramp_w_per_s > 0.0) {
      double win_s = gl->ramp_window_s > 0.0 ? gl->ramp_window_s : 1.0;
      /* (in the GPUs' watts: the site ramps 1 / eff as fast as they do) */
      a->grd_ramp_w_per_s = gl->max_ramp_w_per_s * (win_s < 1.0 ? win_s : 1.0) *
                            hr__budget_ramp_eff(&cfg->lease.budget);
      a->grd_new = 1;
    }
    if (cfg->band_ctl && gl->n_bands > 0)
      band_init(a, gl);
  }
  a->rng = cfg->seed ? cfg->seed : 0x9E3779B97F4A7C15ull;
  a->sup_lim_w = INFINITY;
  a->mlo_t_ns = INT64_MIN;
  a->mode = HR_MODE_NORMAL;
  a->st.last_cap_err = HR_OK;
  *out = a;
  return HR_OK;
}

/* ---- small accessors ------------------------------------------------------- */

void hr__agent_set_plain(hr_agent_t *a, int on)
{
  if (a) {
    a->plain = on ? 1 : 0;
    if (a->sys)
      hr__lease_set_plain(a->sys, a->plain); /* every rebalance in full */
  }
}

int hr__agent_set_absent(hr_agent_t *a, size_t leaf)
{
  if (!a || leaf >= a->n_leaves)
    return HR_ERR_RANGE;
  if (a->env_w8[leaf] != 0.0) {
    a->env_w8[leaf] = 0.0;
    a->cap_min_sum_w = 0.0;
    for (size_t k = 0; k < a->n_leaves; k++)
      a->cap_min_sum_w += a->env_w8[k] * a->cap_min_w[k];
  }
  return HR_OK;
}

void hr__agent_set_power_fn(hr_agent_t *a, hr__agent_power_fn fn, void *ctx)
{
  if (!a)
    return;
  a->power_fn = fn;
  a->power_ctx = ctx;
}

void hr__agent_set_lease_plain(hr_agent_t *a, int on)
{
  if (a && a->sys)
    hr__lease_set_plain(a->sys, on);
}

void hr_agent_set_callback(hr_agent_t *a, hr_agent_decision_fn fn, void *user)
{
  if (a) {
    a->fn = fn;
    a->fn_user = user;
  }
}

size_t hr_agent_leaf_count(const hr_agent_t *a)
{
  return a ? a->n_leaves : 0;
}

size_t hr_agent_leaf_node(const hr_agent_t *a, size_t k)
{
  return a && k < a->n_leaves ? (size_t)a->leaf_node[k] : (size_t)-1;
}

int hr_agent_set_read_actuator(hr_agent_t *a, int on)
{
  if (!a || (on && !a->act))
    return HR_ERR_INVALID_ARG;
  a->read_act = on ? 1 : 0;
  return HR_OK;
}

int hr_agent_set_priority(hr_agent_t *a, size_t leaf, int priority)
{
  if (!a || leaf >= a->n_leaves)
    return HR_ERR_INVALID_ARG;
  a->prio[leaf] = priority;
  return hr_lease_sys_set_priority(a->sys, (size_t)a->leaf_node[leaf], priority);
}

hr_lease_sys_t *hr_agent_lease_sys(hr_agent_t *a)
{
  return a ? a->sys : NULL;
}

double hr_agent_cap_w(const hr_agent_t *a, size_t leaf)
{
  return a && leaf < a->n_leaves ? a->cap_w[leaf] : NAN;
}

int hr_agent_clock_mhz(const hr_agent_t *a, size_t leaf)
{
  return a && leaf < a->n_leaves ? (int)a->clk_mhz[leaf] : -1;
}

/* ---- inputs -------------------------------------------------------------------- */

static void mark_input(hr_agent_t *a)
{
  if (!a->have_lat_in) {
    a->lat_in_ns = a->lat_clock.now_ns(a->lat_clock.ctx);
    a->have_lat_in = 1;
  }
}

/* A value repeated bit for bit for longer than stuck_ns is a stuck sensor
 * or driver returning one cached value with a fresh time: refused like
 * garbage, and the leaf made stale at once (degraded mode, its demand held
 * at its cap).  0 W is exempt: a GPU without power reads a true 0, and a leaf
 * at 0 W is inactive anyway (no probe, no growth on it).  For a reading in
 * range: 1 (refused, *stuck counted, pt[k] made "none") or 0 (accept);
 * same[k], the repetition clock, kept either way.  The arrays are the
 * agent's p_w, p_t_ns and same_t_ns, passed so that the reading loops keep
 * them in their restrict locals. */
static inline int stuck_refuse(const hr_agent_cfg_t *c, const double *pw, int64_t *pt,
                               int64_t *same, size_t k, double p_w, int64_t t_ns, uint64_t *stuck)
{
  uint64_t b_new, b_old;
  memcpy(&b_new, &p_w, sizeof b_new);
  memcpy(&b_old, &pw[k], sizeof b_old);
  /* The clock restarts on a new value, and after a gap longer than stale_ns
   * since the last accepted reading (a frozen sample's old time, then a
   * fresh one that happens to match it bit for bit, is not a repetition). */
  const int64_t p_t = pt[k];
  if (b_new != b_old || same[k] == INT64_MIN || t_ns < same[k] ||
      (p_t != INT64_MIN && t_ns - p_t > c->stale_ns)) {
    same[k] = t_ns;
  } else if (c->stuck_ns > 0 && p_w > 0.0 && t_ns - same[k] > c->stuck_ns) {
    (*stuck)++;
    pt[k] = INT64_MIN;
    return 1;
  }
  return 0;
}

static int take_power(hr_agent_t *a, size_t leaf, double p_w, int64_t t_ns)
{
  if (!(p_w >= 0.0) || !isfinite(p_w) || p_w > a->read_max_w[leaf]) {
    a->st.bad_readings++;
    return HR_ERR_RANGE;
  }
  if (stuck_refuse(&a->cfg, a->p_w, a->p_t_ns, a->same_t_ns, leaf, p_w, t_ns,
                   &a->st.stuck_readings))
    return HR_ERR_RANGE;
  mark_input(a);
  a->p_w[leaf] = p_w;
  a->p_t_ns[leaf] = t_ns;
  return HR_OK;
}

/* read_leaves_at's pass over the leaves without branches, so that it
 * vectorises (AVX-512 clone): every leaf's arrays are stored, with the value
 * they keep where the branching form would not store, and each decision is
 * a select on the same tests as take_power and stuck_refuse.  Differences of
 * times are taken in unsigned arithmetic (they wrap instead of overflowing
 * where a time is INT64_MIN, "none", and the test that uses them is masked
 * off there; elsewhere equal to the signed ones).  cnt: bad readings, stuck
 * readings, any accepted (0/1), any not fresh (0/1). */
__attribute__((optimize("vect-cost-model=dynamic"))) HR__CLONES_V4 static void
read_pass_at(size_t n, int64_t t, int roll, int fresh_now, int64_t stale_ns, int64_t stuck_ns,
             const double *restrict rp, const double *restrict rmax, double *restrict pw,
             int64_t *restrict pt, int64_t *restrict same, double *restrict lcur,
             double *restrict bcur, double *restrict bprev, uint64_t cnt[4])
{
  uint64_t bad = 0, stuck = 0, in = 0, lost = 0;
  for (size_t k = 0; k < n; k++) {
    const double pr = rp[k], pwk = pw[k];
    const int64_t ptk = pt[k], sk = same[k];
    const int ok = (pr >= 0.0) & (pr < INFINITY) & !(pr > rmax[k]);
    uint64_t b_new, b_old;
    memcpy(&b_new, &pr, sizeof b_new);
    memcpy(&b_old, &pwk, sizeof b_old);
    const int64_t age = (int64_t)((uint64_t)t - (uint64_t)ptk);
    const int64_t held = (int64_t)((uint64_t)t - (uint64_t)sk);
    const int restart =
        (b_new != b_old) | (sk == INT64_MIN) | (t < sk) | ((ptk != INT64_MIN) & (age > stale_ns));
    const int refuse = ok & !restart & (stuck_ns > 0) & (pr > 0.0) & (held > stuck_ns);
    const int acc = ok & !refuse;
    same[k] = ok & restart ? t : sk;
    const int64_t ptn = acc ? t : (refuse ? INT64_MIN : ptk);
    const double pwn = acc ? pr : pwk;
    pt[k] = ptn;
    pw[k] = pwn;
    const int64_t agen = (int64_t)((uint64_t)t - (uint64_t)ptn);
    const int fresh = acc ? fresh_now : (ptn != INT64_MIN) & (agen <= stale_ns);
    const double p = fresh ? pwn : 0.0;
    lcur[k] = p;
    const double b = bcur[k];
    bprev[k] = roll ? b : bprev[k];
    bcur[k] = roll | (p > b) ? p : b;
    bad += (uint64_t)!ok;
    stuck += (uint64_t)refuse;
    in |= (uint64_t)acc;
    lost |= (uint64_t)!fresh;
  }
  cnt[0] = bad;
  cnt[1] = stuck;
  cnt[2] = in;
  cnt[3] = lost;
}

/* read_leaves when every leaf's reading is valid and taken at t, its power
 * in rp_w (hr__agent_set_power_fn): the steps of read_leaves with
 * rd[k].valid = 1 and rd[k].t_ns = t. */
static unsigned read_leaves_at(hr_agent_t *a, int64_t t, int roll)
{
  int64_t t_in = 0;
  if (!a->have_lat_in)
    t_in = a->lat_clock.now_ns(a->lat_clock.ctx);
  /* A reading taken now is fresh when t - t <= stale_ns (and t is not the
   * "none yet" mark): one test for every accepted reading. */
  const int fresh_now = t != INT64_MIN && a->cfg.stale_ns >= 0;
  uint64_t cnt[4];
  read_pass_at(a->n_leaves, t, roll, fresh_now, a->cfg.stale_ns, a->cfg.stuck_ns, a->rp_w,
               a->read_max_w, a->p_w, a->p_t_ns, a->same_t_ns, a->lcur_w, a->bmax_cur, a->bmax_prev,
               cnt);
  a->st.bad_readings += cnt[0];
  a->st.stuck_readings += cnt[1];
  if (cnt[2] && !a->have_lat_in) {
    a->lat_in_ns = t_in;
    a->have_lat_in = 1;
  }
  return cnt[3] ? HR_EVENT_TELEMETRY_LOSS : 0u;
}

/* The step's reading pass (the plain form is in hr_agent_step): per leaf,
 * take_power on a valid reading, the fresh power and the two-bucket peaks,
 * with the arrays and settings in locals (restrict: the agent's arrays are
 * separate allocations) so that no store makes the compiler reload them, and
 * the latency clock read once before the pass instead of at the first
 * accepted reading (mark_input: a wall-clock figure, never a decision's
 * input).  take_power's test !(p >= 0) || !isfinite(p) || p > max rejects
 * exactly what (p >= 0 && p < INFINITY && !(p > max)) does not accept (NaN
 * fails every comparison).  Returns the events seen (telemetry loss). */
static unsigned read_leaves(hr_agent_t *a, int64_t t, int read, int roll)
{
  const size_t n = a->n_leaves;
  /* With the simulator's reader every reading is valid and taken at t
   * (hr__agent_set_power_fn): the same steps on its powers, with t. */
  if (read && a->power_fn && a->power_fn(a->power_ctx, n, t, a->rp_w))
    return read_leaves_at(a, t, roll);
  if (read)
    (void)hr_actuator_read_many(a->act, 0, (int)n, HR_POWER_DEFAULT, t, a->rd);
  const hr_act_reading_t *restrict rd = a->rd;
  const double *restrict rmax = a->read_max_w;
  double *restrict pw = a->p_w, *restrict lcur = a->lcur_w;
  double *restrict bcur = a->bmax_cur, *restrict bprev = a->bmax_prev;
  int64_t *restrict pt = a->p_t_ns, *restrict same = a->same_t_ns;
  const int64_t stale = a->cfg.stale_ns;
  int64_t t_in = 0;
  int any_in = 0;
  uint64_t bad = 0, stuck = 0;
  unsigned lost = 0;
  if (read && !a->have_lat_in)
    t_in = a->lat_clock.now_ns(a->lat_clock.ctx);
  for (size_t k = 0; k < n; k++) {
    if (read && rd[k].valid) {
      double pr = rd[k].p_w;
      int64_t tk = rd[k].t_ns <= t ? rd[k].t_ns : t;
      if (pr >= 0.0 && pr < INFINITY && !(pr > rmax[k])) {
        if (!stuck_refuse(&a->cfg, pw, pt, same, k, pr, tk, &stuck)) {
          pw[k] = pr;
          pt[k] = tk;
          any_in = 1;
        }
      } else {
        bad++;
      }
    }
    int fresh = pt[k] != INT64_MIN && t - pt[k] <= stale;
    double p = fresh ? pw[k] : 0.0;
    lcur[k] = p;
    lost |= (unsigned)!fresh;
    if (roll) {
      bprev[k] = bcur[k];
      bcur[k] = p;
    } else if (p > bcur[k]) {
      bcur[k] = p;
    }
  }
  a->st.bad_readings += bad;
  a->st.stuck_readings += stuck;
  if (any_in && !a->have_lat_in) {
    a->lat_in_ns = t_in;
    a->have_lat_in = 1;
  }
  return lost ? HR_EVENT_TELEMETRY_LOSS : 0u;
}

int hr_agent_push_power(hr_agent_t *a, size_t leaf, double p_w, int64_t t_ns)
{
  if (!a || leaf >= a->n_leaves)
    return HR_ERR_INVALID_ARG;
  /* Sample-clock times are >= 0; with them every difference of two times
   * the reading paths take fits in int64 (no signed overflow). */
  if (t_ns < 0)
    return HR_ERR_RANGE;
  return take_power(a, leaf, p_w, t_ns);
}

int hr_agent_set_events(hr_agent_t *a, unsigned events)
{
  if (!a || (events & ~(unsigned)(HR_EVENT_TELEMETRY_LOSS | HR_EVENT_COORD_LOSS |
                                  HR_EVENT_UTILITY_LOSS | HR_EVENT_FEED_LOSS)))
    return HR_ERR_INVALID_ARG;
  a->ext_events = events;
  return HR_OK;
}

int hr_agent_push_want(hr_agent_t *a, size_t leaf, double want_w, int64_t t_ns)
{
  if (!a || leaf >= a->n_leaves)
    return HR_ERR_INVALID_ARG;
  if (!(want_w >= 0.0) || !isfinite(want_w))
    return HR_ERR_RANGE;
  a->want_w[leaf] = want_w;
  a->want_t_ns[leaf] = t_ns;
  return HR_OK;
}

/* A node's line-to-neutral voltage [V] (u_v is line to line on three-phase
 * and line-to-line nodes, tree.h); NAN without a voltage. */
static double nd_u_ln_v(const hr_tree_node_t *x)
{
  if (!(x->u_v > 0.0))
    return NAN;
  return x->n_phases == 3 || x->phase >= HR_PHASE_AB ? x->u_v / sqrt(3.0) : x->u_v;
}

int hr_agent_push_record(hr_agent_t *a, size_t node, const hr_record_t *rec)
{
  if (!a || !rec || node >= a->n_tree)
    return HR_ERR_INVALID_ARG;
  /* A record's start and end on the sample clock, >= 0 (as for
   * hr_agent_push_power). */
  if (rec->t_ns < 0 || rec->dur_ns < 0 || rec->t_ns > INT64_MAX - rec->dur_ns)
    return HR_ERR_RANGE;
  /* Values computed over bad samples or free-running windows are not
   * trusted: the node then goes stale as if the meter were silent. */
  if (rec->flags & (HR_FLAG_BAD_SAMPLE | HR_FLAG_NO_ZC | HR_FLAG_FREQ_RANGE | HR_FLAG_STARTUP))
    return HR_OK;
  mark_input(a);
  const int n_ph = rec->n_i < 3 ? rec->n_i : 3;
  switch (rec->kind) {
  case HR_REC_MS: {
    /* Garbage (non-finite, negative, above what the GPUs below could draw)
     * is refused like a GPU's garbage reading, and a value repeated bit for
     * bit for longer than stuck_ns like a stuck GPU reading: the node's
     * meter goes stale and its GPUs' readings stand in for it. */
    /* A meter on a node at no load reads its noise around 0 W, of either
     * sign: down to -1 % of the node's highest credible power is taken as
     * 0 W, below it is garbage. */
    double p = rec->u.ms.p_total_w;
    if (!(p >= -0.01 * a->met_max_w[node] && p <= a->met_max_w[node])) {
      a->st.bad_readings++;
      return HR_ERR_RANGE;
    }
    p = p > 0.0 ? p : 0.0;
    const int64_t te = rec->t_ns + rec->dur_ns;
    uint64_t b_new, b_old;
    memcpy(&b_new, &p, sizeof b_new);
    memcpy(&b_old, &a->met_p_w[node], sizeof b_old);
    const int64_t m_t = a->met_t_ns[node];
    if (b_new != b_old || a->met_same_t_ns[node] == INT64_MIN || te < a->met_same_t_ns[node] ||
        (m_t != INT64_MIN && te - m_t > a->cfg.stale_ns)) {
      a->met_same_t_ns[node] = te;
    } else if (a->cfg.stuck_ns > 0 && p > 0.0 && te - a->met_same_t_ns[node] > a->cfg.stuck_ns) {
      a->st.stuck_readings++;
      a->met_t_ns[node] = INT64_MIN;
      return HR_ERR_RANGE;
    }
    a->met_p_w[node] = p;
    a->met_t_ns[node] = te;
    a->met_ms_dur_ns[node] = rec->dur_ns;
    a->any_met = 1;
    break;
  }
  case HR_REC_HALF:
  case HR_REC_CYCLE: {
    const double *i = rec->kind == HR_REC_HALF ? rec->u.half.i_rms_a : rec->u.cycle.i_rms_a;
    /* The most the node's highest credible power could draw on one
     * conductor (all of it on one phase): above it, or not a current, the
     * record is garbage. */
    const double u_ln_v = nd_u_ln_v(&hr_tree_nodes(a->tree)[node]);
    const double i_max_a = u_ln_v > 0.0 ? a->met_max_w[node] / u_ln_v : INFINITY;
    double mx = 0.0;
    for (int q = 0; q < n_ph; q++)
      if (!(i[q] >= 0.0 && i[q] <= i_max_a)) {
        a->st.bad_readings++;
        /* The last good current is not kept: while the meter's power stays
         * fresh, the current derived from the node's power stands in (a
         * held value would not follow the load). */
        a->met_i_a[node] = 0.0;
        return HR_ERR_RANGE;
      }
    for (int q = 0; q < n_ph; q++)
      if (i[q] > mx)
        mx = i[q];
    a->met_i_a[node] = mx; /* the highest phase: the conservative choice (protect.h) */
    if (rec->kind == HR_REC_CYCLE && rec->dur_ns > 0)
      a->met_cyc_ns[node] = rec->dur_ns;
    break;
  }
  default:
    break;
  }
  return HR_OK;
}

/* ---- the step ------------------------------------------------------------------ */

static uint64_t rng_next(uint64_t *s)
{
  /* xorshift64*: deterministic, seeded from cfg.seed. */
  uint64_t x = *s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return x * 0x2545F4914F6CDD1Dull;
}

static void lat_record(hr_agent_t *a, double s)
{
  if (s > a->lat_max_s)
    a->lat_max_s = s;
  int b = s <= LAT_LO_S ? 0 : (int)floor(log10(s / LAT_LO_S) * 20.0);
  if (b >= LAT_BINS)
    b = LAT_BINS - 1;
  a->lat_hist[b]++;
  a->st.lat_n++;
}

static double lat_quantile(const hr_agent_t *a, double q)
{
  if (a->st.lat_n == 0)
    return NAN;
  uint64_t want = (uint64_t)ceil(q * (double)a->st.lat_n), acc = 0;
  for (int b = 0; b < LAT_BINS; b++) {
    acc += a->lat_hist[b];
    if (acc >= want && acc > 0) {
      double hi = LAT_LO_S * pow(10.0, (b + 1) / 20.0); /* the bin's upper edge */
      return hi < a->lat_max_s ? hi : a->lat_max_s;
    }
  }
  return a->lat_max_s;
}

/* The agent's node's grantable budget [W]; with the whole tree, the sum of
 * the roots' (INFINITY when a root is unrated). */
static double node_limit_w(const hr_agent_t *a)
{
  if (a->node != HR_AGENT_WHOLE_TREE) {
    const hr_budget_t *b = hr_lease_sys_budget(a->sys, a->node);
    return b ? b->limit_w : INFINITY;
  }
  double sum = 0.0;
  for (size_t r = 0; r < a->n_roots; r++) {
    const hr_budget_t *b = hr_lease_sys_budget(a->sys, (size_t)a->roots[r]);
    sum += b ? b->limit_w : INFINITY;
  }
  return sum;
}

/* 1 when cap, held to leaf k's cap range, is within cap_eps_w of the cap
 * last sent (send_cap then sends nothing). */
static inline int cap_same(const hr_agent_t *a, size_t k, double cap)
{
  if (cap < a->cap_min_w[k])
    cap = a->cap_min_w[k];
  if (cap > a->cap_max_w[k])
    cap = a->cap_max_w[k];
  return !isnan(a->cap_w[k]) && fabs(cap - a->cap_w[k]) <= a->cfg.cap_eps_w;
}

/* Sends leaf k's cap when it changed by more than cap_eps_w, or, with
 * fall 1, when it falls at all. */
static size_t send_cap_x(hr_agent_t *a, size_t k, double cap, int64_t t, hr_decision_why_t why,
                         int fall)
{
  if (cap < a->cap_min_w[k])
    cap = a->cap_min_w[k];
  if (cap > a->cap_max_w[k])
    cap = a->cap_max_w[k];
  if (cap_same(a, k, cap) && !(fall && cap < a->cap_w[k]))
    return 0;
  int rc = hr_actuator_set_cap(a->act, (int)k, cap, t);
  hr_agent_decision_t d = {t, k, (size_t)a->leaf_node[k], cap, a->cap_w[k], a->p_w[k], why, rc};
  a->st.caps_set++;
  if (rc != HR_OK) {
    /* Not permitted or refused: keep measuring and deciding (the next
     * decision tries again); the error is counted and reported. */
    a->st.cap_errors++;
    a->st.last_cap_err = rc;
  } else {
    if (!(cap <= a->cap_w[k])) /* a rise, or the first cap */
      a->up_t_ns[k] = t;
    a->cap_w[k] = cap;
    a->granted_ok = 0;
    a->envd_step = 0;
  }
  if (a->fn)
    a->fn(a->fn_user, &d);
  return 1;
}

static size_t send_cap(hr_agent_t *a, size_t k, double cap, int64_t t, hr_decision_why_t why)
{
  return send_cap_x(a, k, cap, t, why, 0);
}

/* Every coordinator rounds a grant down to its tier's token (a cut too), so
 * a subtree that asks exactly what it draws is granted up to a token less,
 * its caps fall below the draw, and a throttled GPU's small probe is rounded
 * away: the leases never grow.  Each active leaf (a fresh reading above 0 W)
 * therefore asks token / (active leaves below) more, for every coordinator
 * above it (the largest of these): together the leaves below a coordinator
 * ask at least one of its tokens above their draw, which its rounding keeps.
 * Counted per decision, so empty slots and unpowered GPUs (0 W) do not
 * dilute the others' margin. */
static void leaf_probes(hr_agent_t *a, int64_t t)
{
  const int32_t *par = a->par;
  uint32_t *cnt = a->thr_below;
  /* The probes are a function of which leaves are active alone (the tokens
   * and the tree do not change): when the same leaves are active as at the
   * last computation, probe_w holds what the passes below would give (the
   * usual case: a decision every few milliseconds, the same GPUs drawing). */
  int same = a->probes_ok && !a->plain;
  for (size_t k = 0; k < a->n_leaves; k++) {
    unsigned char on =
        !(a->p_t_ns[k] == INT64_MIN || t - a->p_t_ns[k] > a->cfg.stale_ns || !(a->p_w[k] > 0.0));
    same &= on == a->act_on[k];
    a->act_on[k] = on;
  }
  if (same)
    return;
  a->probes_ok = 1;
  /* The active leaves below every node (A-side parents): one count per
   * leaf, summed up the tree in one pass (children come after parents). */
  for (size_t k = 0; k < a->n_leaves; k++) {
    size_t nk = (size_t)a->leaf_node[k];
    a->probe_w[k] = -1.0; /* not active */
    if (!a->act_on[k])
      continue;
    a->probe_w[k] = 0.0;
    cnt[nk] = 1;
  }
  for (size_t x = a->n_tree; x-- > 0;)
    if (cnt[x] && par[x] >= 0)
      cnt[par[x]] += cnt[x];
  /* Per node, the largest token / (active leaves below) of it and of every
   * node above it but the root (a root holds no lease): a leaf's probe is
   * the largest of its own token and its parent's figure, the same maximum
   * as taken along the way up, each quotient computed once per node. */
  for (size_t i = 0; i < a->n_inner; i++) {
    int32_t x = a->inner[i], up = par[x];
    double q = -INFINITY;
    if (up >= 0) {
      if (cnt[x])
        q = a->tok_w[x] / cnt[x];
      if (a->qdown_w[up] > q)
        q = a->qdown_w[up];
    }
    a->qdown_w[x] = q;
  }
  for (size_t k = 0; k < a->n_leaves; k++) {
    if (a->probe_w[k] < 0.0)
      continue;
    int32_t x = a->leaf_node[k];
    double pw = a->tok_w[x];
    if (par[x] >= 0 && a->qdown_w[par[x]] > pw)
      pw = a->qdown_w[par[x]];
    a->probe_w[k] = pw;
  }
  memset(cnt, 0, a->n_tree * sizeof *cnt);
}

/* The leaf demands for a lease rebalance, in a->demand_w (tree indices). */
static void leaf_demands(hr_agent_t *a, int64_t t, int hold)
{
  const double pr = a->cfg.probe_frac;
  leaf_probes(a, t);
  /* Every leaf's present cap in one call, into the scratch array (free
   * until decide() fills it with the new caps). */
  (void)hr_lease_sys_cap_w_many(a->sys, a->leaf_node, a->n_leaves, t, a->scr_w);
  int new_bucket = 0;
  if (a->cfg.hold_release && t - a->hcap_bucket_ns >= (int64_t)(a->cfg.grid_hold_s * 1e9)) {
    new_bucket = 1;
    a->hcap_bucket_ns = t;
  }
  for (size_t k = 0; k < a->n_leaves; k++) {
    size_t nk = (size_t)a->leaf_node[k];
    double cap = a->scr_w[k];
    if (new_bucket) {
      a->hcap_prev_w[k] = a->hcap_cur_w[k];
      a->hcap_cur_w[k] = cap;
    } else if (cap > a->hcap_cur_w[k]) {
      a->hcap_cur_w[k] = cap;
    }
    double d;
    if (a->p_t_ns[k] == INT64_MIN || t - a->p_t_ns[k] > a->cfg.stale_ns) {
      d = cap; /* no fresh reading: hold the present cap (degraded mode stops growth) */
    } else {
      d = a->bmax_cur[k] > a->bmax_prev[k] ? a->bmax_cur[k] : a->bmax_prev[k];
      if (a->p_w[k] > d)
        d = a->p_w[k];
      if (a->probe_w[k] > 0.0) {
        /* At its cap a GPU is throttled and its reading hides its want:
         * ask for a little more so the lease can grow.  The window's peak
         * decides, not the latest reading, so the demand does not flip with
         * the phases of a training iteration (a cut is at once, an increase
         * may wait for the damper). */
        double up = cap * (1.0 + pr);
        if (d >= cap * (1.0 - pr) && up > d)
          d = up;
        d += a->probe_w[k];
      }
      /* A reading taken before the last rise of the cap could show (its
       * time before the rise plus settle_ns) cannot show the GPU using
       * it: hold the demand at the cap, neither cut nor grown on it, until
       * a reading that can comes (sampled telemetry lags a rise by up to a
       * period and a window; a cut back to the old reading would undo
       * every rise).  With the leaf's probe share, as an active leaf asks:
       * the coordinators round grants down to their tokens, and exactly
       * the cap would be rounded below it. */
      if (a->up_t_ns[k] != INT64_MIN && a->p_t_ns[k] < a->up_t_ns[k] + a->cfg.settle_ns)
        d = cap + (a->probe_w[k] > 0.0 ? a->probe_w[k] : 0.0);
      /* A declared want (admission shaping) above the measured demand. */
      if (a->want_t_ns[k] != INT64_MIN && t - a->want_t_ns[k] <= a->cfg.stale_ns &&
          a->want_w[k] > d)
        d = a->want_w[k];
      /* During a grid hold no cap rises; with hold_keep none falls
       * either: a workload's own swing (a checkpoint) would otherwise pull
       * its leases down and the hold pin them there after it ends.  The
       * budgets still cut whatever a protective device needs. */
      if (hold && (d > cap || a->cfg.hold_keep)) {
        /* With hold_release a cap may come back to the highest it held in
         * the last one to two hold lengths: the load swung at that cap, in
         * the swing the monitor has seen; a rise above it would be new.
         * Without it a hold that the load's own swing keeps re-arming pins
         * the caps wherever they stood when it began (a restart caught
         * half-way up its leases; docs/results.md, sync-restart). */
        double back = cap;
        if (a->cfg.hold_release && d > cap) {
          back = a->hcap_cur_w[k] > a->hcap_prev_w[k] ? a->hcap_cur_w[k] : a->hcap_prev_w[k];
          back = d < back ? d : back;
          back = back > cap ? back : cap;
        }
        d = back;
      }
    }
    a->demand_w[nk] = d;
  }
}

/* 1 when tree node c is leaf k's node or above it (A-side parents). */
static int below(const hr_agent_t *a, size_t k, int32_t c)
{
  const hr_tree_node_t *nd = hr_tree_nodes(a->tree);
  for (int32_t x = a->leaf_node[k]; x >= 0; x = nd[x].parent)
    if (x == c)
      return 1;
  return 0;
}

/* 1 when a controller above leaf k other than c holds it capped. */
static int capped_elsewhere(const hr_agent_t *a, size_t k, int32_t c)
{
  const hr_tree_node_t *nd = hr_tree_nodes(a->tree);
  for (int32_t x = nd[a->leaf_node[k]].parent; x >= 0; x = nd[x].parent)
    if (x != c && a->ctl[x] && a->ctl_state[x])
      return 1;
  return 0;
}

/* Leaf k's mean power since the last decision (a server's meter reading). */
static double lp(const hr_agent_t *a, size_t k)
{
  return mean_p_w(a, a->leaf_node[k]);
}

/* The power on each conductor of every scope node (a->node_ph_w), bottom
 * up as the total (a dual-corded node split over its feeds as there, a
 * fresh meter's power in place of its subtree's): a leaf's on its own
 * conductors, a node's own overhead (hr_lease_sys_set_overhead) on its own,
 * a single-phase node's total on the conductors its phase names under a
 * three-phase parent (a line-to-line one 1/sqrt 3 on each of its two, in
 * line-to-neutral watts), a three-phase node's per conductor as they are;
 * everything in slot 0 of a single-phase node. */
static void phase_powers(hr_agent_t *a, const hr_tree_node_t *nd, unsigned lost, int64_t t)
{
  double *ph = a->node_ph_w;
  for (size_t i = 0; i < a->n_sc_inner; i++)
    memset(&ph[3 * (size_t)a->sc_inner[i]], 0, 3 * sizeof *ph);
  const int ovh_on = hr__lease_has_overhead(a->sys);
  for (size_t s = a->n_scope; s-- > 0;) {
    size_t k = (size_t)a->scope[s];
    const hr_tree_node_t *x = &nd[k];
    double *v = &ph[3 * k];
    const int three = x->n_phases == 3;
    if (x->n_children == 0) {
      double p = a->node_p_w[k];
      v[0] = three ? p / 3.0 : p;
      v[1] = v[2] = three ? p / 3.0 : 0.0;
    } else if (a->any_met && a->met_t_ns[k] != INT64_MIN && t - a->met_t_ns[k] <= a->cfg.stale_ns) {
      /* a meter: its power in the leaves' terms with the overheads back,
       * spread as its node is (its own image takes its measured current) */
      double p = a->node_p_w[k] + (ovh_on ? hr_lease_sys_overhead_w(a->sys, k) : 0.0);
      v[0] = three ? p / 3.0 : p;
      v[1] = v[2] = three ? p / 3.0 : 0.0;
    } else {
      double own = ovh_on ? hr__lease_ovh_own_w(a->sys, k) : 0.0;
      if (three) {
        for (int q = 0; q < 3; q++)
          v[q] += own / 3.0;
      } else {
        v[0] += v[1] + v[2] + own;
        v[1] = v[2] = 0.0;
      }
    }
    if (k == a->node)
      continue;
    const int32_t ps[2] = {a->par[k], a->par_b[k]};
    double fa = 1.0;
    if (ps[0] >= 0 && ps[1] >= 0) {
      fa = 0.5;
      if (lost) {
        int up_a = !(nd[ps[0]].feed & lost), up_b = !(nd[ps[1]].feed & lost);
        if (up_a != up_b)
          fa = up_a ? 1.0 : 0.0;
      }
    }
    for (int j = 0; j < 2; j++) {
      if (ps[j] < 0)
        continue;
      const double f = j == 0 ? fa : 1.0 - fa;
      double *w = &ph[3 * (size_t)ps[j]];
      if (nd[ps[j]].n_phases != 3) {
        w[0] += f * (v[0] + v[1] + v[2]);
      } else if (three) {
        for (int q = 0; q < 3; q++)
          w[q] += f * v[q];
      } else {
        double sh[3];
        hr__phase_weights(j == 1 ? x->phase_b : x->phase, sh);
        for (int q = 0; q < 3; q++)
          w[q] += f * v[0] * sh[q];
      }
    }
  }
}

/* Dynamo's performance-aware cut of cut_w below node c: the lowest priority
 * group first; inside a group, high-bucket-first: GPUs bucketed by their
 * power (bucket_w), the cut spread evenly over the highest bucket, the next
 * bucket added while that is not enough (a GPU goes no lower than its
 * minimum cap).  Each GPU's new cap is its power less its share. */
static size_t dynamo_cut(hr_agent_t *a, int32_t c, double cut_w, int64_t t, hr_decision_why_t why)
{
  const double bucket = a->cfg.lease.coord.bucket_w > 0 ? a->cfg.lease.coord.bucket_w : 100.0;
  double *x = a->scr_w; /* per leaf: its share of the cut; -1: not a candidate */
  size_t sent = 0;
  for (size_t k = 0; k < a->n_leaves; k++)
    x[k] = -1.0;
  while (cut_w > 1e-9) {
    int lo_prio = INT32_MAX, any = 0;
    double pmax = 0.0;
    for (size_t k = 0; k < a->n_leaves; k++)
      if (x[k] == -1.0 && lp(a, k) > a->cap_min_w[k] && below(a, k, c)) {
        if (a->prio[k] < lo_prio)
          lo_prio = a->prio[k];
        any = 1;
      }
    if (!any)
      break;
    for (size_t k = 0; k < a->n_leaves; k++)
      if (x[k] == -1.0 && a->prio[k] == lo_prio && lp(a, k) > pmax && below(a, k, c))
        pmax = lp(a, k);
    /* Grow the set bucket by bucket until it can give the cut. */
    double edge = pmax - bucket, room = 0.0;
    for (;;) {
      room = 0.0;
      for (size_t k = 0; k < a->n_leaves; k++)
        if (x[k] == -1.0 && a->prio[k] == lo_prio && lp(a, k) > a->cap_min_w[k] &&
            lp(a, k) >= edge && below(a, k, c))
          room += lp(a, k) - a->cap_min_w[k];
      if (room >= cut_w || edge <= 0.0)
        break;
      edge -= bucket;
    }
    /* Equal shares, those that cannot give a full share giving what they can. */
    double give = cut_w < room ? cut_w : room;
    size_t n_in = 0;
    for (size_t k = 0; k < a->n_leaves; k++)
      if (x[k] == -1.0 && a->prio[k] == lo_prio && lp(a, k) > a->cap_min_w[k] && lp(a, k) >= edge &&
          below(a, k, c)) {
        x[k] = -2.0; /* in the set, share not yet fixed */
        n_in++;
      }
    double left = give;
    while (n_in > 0 && left > 1e-9) {
      double share = left / (double)n_in;
      size_t fixed = 0;
      for (size_t k = 0; k < a->n_leaves; k++)
        if (x[k] == -2.0 && lp(a, k) - a->cap_min_w[k] <= share) {
          x[k] = lp(a, k) - a->cap_min_w[k];
          left -= x[k];
          n_in--;
          fixed++;
        }
      if (!fixed) {
        for (size_t k = 0; k < a->n_leaves; k++)
          if (x[k] == -2.0)
            x[k] = share;
        left = 0.0;
        n_in = 0;
      }
    }
    for (size_t k = 0; k < a->n_leaves; k++)
      if (x[k] == -2.0)
        x[k] = 0.0;
    cut_w -= give - left;
    for (size_t k = 0; k < a->n_leaves; k++)
      if (x[k] > 0.0) {
        sent += send_cap(a, k, lp(a, k) - x[k], t, why);
        x[k] = 0.0; /* done: not a candidate again */
      }
    if (give - left <= 1e-9)
      break;
  }
  return sent;
}

/* Dynamo: every controller due compares its node's measured power with
 * the bands of its limit (lease.h budget: the same protection limit every
 * policy gets): above cap_frac it cuts to target_frac; once below
 * uncap_frac it releases the GPUs below it that no other controller holds. */
static size_t decide_dynamo(hr_agent_t *a, int64_t t, hr_decision_why_t why)
{
  const hr_coord_cfg_t *cc = &a->cfg.lease.coord;
  int upper_due = a->n_dec % (uint64_t)a->cfg.upper_every == 0;
  size_t sent = 0;
  for (size_t s = 0; s < a->n_scope; s++) {
    int32_t c = a->scope[s];
    if (!a->ctl[c] || (a->ctl[c] == 2 && !upper_due))
      continue;
    const hr_budget_t *b = hr_lease_sys_budget(a->sys, (size_t)c);
    double lim = b ? b->limit_w : INFINITY, p = mean_p_w(a, c);
    /* A live node's limit of 0 (overheads that take all of it,
     * hr_lease_sys_set_overhead) cuts all it can while power flows; a dead
     * node's (a lost feed, a trip) is left alone. */
    if (!(isfinite(lim) && (lim > 0.0 || (lim == 0.0 && p > 0.0 && !hr__lease_dead(a->sys, c)))))
      continue;
    if (p > cc->cap_frac * lim) {
      a->ctl_state[c] = 1;
      sent += dynamo_cut(a, c, p - cc->target_frac * lim, t, why);
    } else if (a->ctl_state[c] && p < cc->uncap_frac * lim) {
      a->ctl_state[c] = 0;
      for (size_t k = 0; k < a->n_leaves; k++)
        if (below(a, k, c) && !capped_elsewhere(a, k, c))
          sent += send_cap(a, k, a->cap_max_w[k], t, why);
    }
  }
  return sent;
}

/* Locks leaf k's clock at frac of the highest (frac >= 1: unlocked, NVML's
 * reset) unless that is in force; returns 1 when a call was made.  A refused
 * call leaves the state as it was, so the next decision tries again. */
static size_t send_clock(hr_agent_t *a, size_t k, double frac)
{
  int32_t mhz = frac >= 1.0 ? 0 : (int32_t)lround(frac * a->cfg.clock_max_mhz);
  if (frac < 1.0 && mhz < 1)
    mhz = 1;
  if (mhz == a->clk_mhz[k])
    return 0;
  int lo = mhz ? (a->cfg.clock_lo_mhz < mhz ? a->cfg.clock_lo_mhz : mhz) : 0;
  int rc = hr_actuator_lock_clocks(a->act, (int)k, lo, mhz);
  a->st.clock_locks++;
  if (rc != HR_OK) {
    a->st.clock_errors++;
    a->st.last_clock_err = rc;
  } else {
    a->clk_mhz[k] = mhz;
  }
  return 1;
}

/* POLCA: per controller a level from its node's measured power (T1: the
 * low-priority GPUs below it capped, T2: all of them), lowered once the
 * power falls uncap_pct below the threshold that raised it; a GPU takes the
 * tightest cap of the controllers above it.  With polca_clocks the "cap" is
 * a clock lock (POLCA caps frequency: orchestration.md §1.3), a fraction of
 * the highest clock, and the power caps are left alone. */
static size_t decide_polca(hr_agent_t *a, int64_t t, hr_decision_why_t why)
{
  const hr_coord_cfg_t *cc = &a->cfg.lease.coord;
  double *cap = a->scr_w; /* per leaf: its cap [W], or its clock fraction with clocks */
  for (size_t k = 0; k < a->n_leaves; k++)
    cap[k] = a->cfg.polca_clocks ? 1.0 : a->cap_max_w[k];
  for (size_t s = 0; s < a->n_scope; s++) {
    int32_t c = a->scope[s];
    if (!a->ctl[c])
      continue;
    const hr_budget_t *b = hr_lease_sys_budget(a->sys, (size_t)c);
    double lim = b ? b->limit_w : INFINITY, p = mean_p_w(a, c);
    if (!(isfinite(lim) && (lim > 0.0 || (lim == 0.0 && p > 0.0 && !hr__lease_dead(a->sys, c)))))
      continue; /* as decide_dynamo */
    uint8_t lv = a->ctl_state[c];
    if (p > cc->t2_frac * lim)
      lv = 2;
    else if (p > cc->t1_frac * lim && lv < 1)
      lv = 1;
    if (lv == 2 && p < (1.0 - cc->uncap_pct) * cc->t2_frac * lim)
      lv = p > cc->t1_frac * lim ? 1 : 0;
    if (lv == 1 && p < (1.0 - cc->uncap_pct) * cc->t1_frac * lim)
      lv = 0;
    a->ctl_state[c] = lv;
    if (lv == 0)
      continue;
    for (size_t k = 0; k < a->n_leaves; k++) {
      if (!below(a, k, c))
        continue;
      double v;
      if (a->cfg.polca_clocks) {
        v = a->prio[k] < cc->prio_split ? a->cfg.polca_low_clock_frac
            : lv >= 2                   ? a->cfg.polca_high_clock_frac
                                        : 1.0;
      } else {
        double f = a->prio[k] < cc->prio_split ? cc->low_cap_frac
                   : lv >= 2                   ? cc->high_cap_frac
                                               : 1.0;
        v = f * a->rating_w[k];
      }
      if (v < cap[k])
        cap[k] = v;
    }
  }
  size_t sent = 0;
  for (size_t k = 0; k < a->n_leaves; k++)
    sent += a->cfg.polca_clocks ? send_clock(a, k, cap[k]) : send_cap(a, k, cap[k], t, why);
  return sent;
}

/* What the leaves draw, in the envelopes' sums (each leaf weighed by
 * env_w8): a fresh reading, else the leaf's present cap (its highest
 * before one is set); *floor_w the same with each at least its lowest cap. */
static double env_draw_w(const hr_agent_t *a, int64_t t, double *floor_w)
{
  /* The arrays in restrict locals (separate allocations): no store
   * reloads them. */
  const size_t n = a->n_leaves;
  const int64_t *restrict pt = a->p_t_ns;
  const int64_t stale = a->cfg.stale_ns;
  const double *restrict pw = a->p_w, *restrict capw = a->cap_w;
  const double *restrict cmin = a->cap_min_w, *restrict cmax = a->cap_max_w;
  const double *restrict w8 = a->env_w8; /* 0: no GPU there, nothing to draw */
  double draw = 0.0, fl = 0.0;
  for (size_t k = 0; k < n; k++) {
    int fresh = pt[k] != INT64_MIN && t - pt[k] <= stale;
    double p = fresh ? pw[k] : (isnan(capw[k]) ? cmax[k] : capw[k]);
    draw += w8[k] * p;
    fl += w8[k] * (p > cmin[k] ? p : cmin[k]);
  }
  if (floor_w)
    *floor_w = fl;
  return draw;
}

/* The time constant of the mean offset between the readings and the
 * meter (mlo_off_w): many iterations of a training job, so that a curve's
 * bend and the share of each GPU in the site's input (asynchronous samples,
 * below) average out. */
#define MLO_TAU_S 10.0

/* The meter's input at the envelopes' node (the sum of every root's for
 * the whole tree), or NAN when one of them has no fresh reading; *mid_ns
 * the time it stands for on the sample clock: a 1-ms power is the mean
 * over the cycle before its record's end, so the middle of that cycle
 * (the earliest of the roots'). */
static double env_meter_in_w(const hr_agent_t *a, int64_t t, int64_t *mid_ns)
{
  const int whole = a->node == HR_AGENT_WHOLE_TREE;
  const size_t n = whole ? a->n_roots : 1;
  double in = 0.0;
  int64_t mid = INT64_MAX;
  for (size_t r = 0; r < n; r++) {
    size_t k = whole ? (size_t)a->roots[r] : a->node;
    if (a->met_t_ns[k] == INT64_MIN || t - a->met_t_ns[k] > a->cfg.stale_ns)
      return NAN;
    in += a->met_p_w[k];
    int64_t m = a->met_t_ns[k] - a->met_cyc_ns[k] / 2;
    if (m < mid)
      mid = m;
  }
  *mid_ns = mid;
  return in;
}

/* The meter's energy [J] from the ring's oldest entry to time x: between
 * entries the input of the later one; NAN outside the ring. */
static double mlo_energy_j(const hr_agent_t *a, int64_t x)
{
  const size_t cap = a->mlo_cap, n = a->mlo_n;
  const size_t old = (a->mlo_head + cap + 1 - n) % cap;
  if (x < a->mlo_ring_t_ns[old] || x > a->mlo_ring_t_ns[a->mlo_head])
    return NAN;
  /* the last entry at or before x: a bisection over the ring's order */
  size_t lo = 0, hi = n - 1;
  while (lo < hi) {
    size_t mid = (lo + hi + 1) / 2;
    if (a->mlo_ring_t_ns[(old + mid) % cap] <= x)
      lo = mid;
    else
      hi = mid - 1;
  }
  const size_t j = (old + lo) % cap, j1 = (j + 1) % cap;
  const double dt = (double)(a->mlo_ring_t_ns[j1] - a->mlo_ring_t_ns[j]);
  return a->mlo_ring_j[j] +
         (a->mlo_ring_j[j1] - a->mlo_ring_j[j]) * ((double)(x - a->mlo_ring_t_ns[j]) / dt);
}

/* The meter's mean input over a reading's window ending at x (a reading
 * without a window: over the step before x), or NAN when the ring does not
 * hold it.  The meter's 1-ms power is a one-cycle mean: an edge within half
 * a cycle of the window's end shows partly after it, so a rise would read
 * low against the reading, and the sampled phases of a periodic job can
 * keep hitting such edges (the site rose 0.6 % over its limit for 8 s a
 * minute, the offset 15 W high); the highest of the window and the window
 * shifted half a cycle either way is at least the reading's watts at such
 * an edge (a fall reads high already), at the cost of a lower offset where
 * edges are. */
static double mlo_window_w(hr_agent_t *a, int64_t x)
{
  const size_t c = (size_t)((uint64_t)(x / a->cfg.step_ns) % MLO_WCACHE);
  if (a->mlo_wc_t_ns[c] == x)
    return a->mlo_wc_w[c];
  const int64_t w = a->cfg.tel_window_ns > 0 ? a->cfg.tel_window_ns : a->cfg.step_ns;
  const int64_t h = a->mlo_half_ns;
  double m = -INFINITY;
  for (int64_t d = -h; d <= h; d += h > 0 ? h : 1)
    m = fmax(m, (mlo_energy_j(a, x + d) - mlo_energy_j(a, x + d - w)) / ((double)w * 1e-9));
  if (isfinite(m)) {
    a->mlo_wc_t_ns[c] = x;
    a->mlo_wc_w[c] = m;
  }
  return m;
}

/* The held input's troughs, by swings of half the smallest ramp the
 * envelopes hold (in the meter's watts): a trough is a fall of that much
 * from a peak and a rise of that much back.  Short troughs further apart
 * than the envelopes' 1-2-s memory are otherwise forgotten between their
 * returns and the caps climb back before each (16 GPUs, 60-ms troughs
 * every 3 s: 4.3 s a minute over a 4-kW/s limit); two within MLO_RECUR_NS
 * hold the envelopes (mlo_lo_recur).  Only short ones: a trough that lasts
 * (a restart's idle, a checkpoint) is in the readings and the buckets
 * while the load is low, and holding the caps near it between its returns
 * cost work for nothing (a review's restarts every 12 s: work 0.824 ->
 * 0.721, the same time over the limit). */
static void recur_track(hr_agent_t *a, double h, int64_t t)
{
  double r = INFINITY;
  if (a->grd_ramp_w_per_s > 0.0)
    r = a->grd_ramp_w_per_s / hr__budget_ramp_eff(&a->cfg.lease.budget);
  if (isfinite(a->sup_lim_w) && a->sup_ramp_w_per_s > 0.0 && a->sup_ramp_w_per_s < r)
    r = a->sup_ramp_w_per_s;
  const double x = 0.5 * r;
  if (!isfinite(x) || isnan(a->mlo_pk_w)) {
    a->mlo_pk_w = a->mlo_tr_w = h;
    a->mlo_seek = 0;
    return;
  }
  if (!a->mlo_seek) {
    if (h > a->mlo_pk_w) {
      a->mlo_pk_w = h;
    } else if (h < a->mlo_pk_w - x) {
      a->mlo_seek = 1;
      a->mlo_tr_w = h;
      a->mlo_fall_t_ns = t;
    }
  } else if (h < a->mlo_tr_w) {
    a->mlo_tr_w = h;
  } else if (h > a->mlo_tr_w + x) {
    if (t - a->mlo_fall_t_ns <= MLO_SHORT_NS) {
      a->mlo_ev_w[0] = a->mlo_ev_w[1];
      a->mlo_ev_t_ns[0] = a->mlo_ev_t_ns[1];
      a->mlo_ev_w[1] = a->mlo_tr_w;
      a->mlo_ev_t_ns[1] = t;
    }
    a->mlo_seek = 0;
    a->mlo_pk_w = h;
  }
}

/* The recurring trough's level (recur_track), or INFINITY: held until
 * MLO_RECUR_NS after the newer of the last two (a review's 12-s period:
 * held until 20 s after the older, the hold ended 4 s before each trough;
 * until the next was due, two jobs' troughs in turn came at uneven
 * intervals and the hold ended before some). */
static double mlo_lo_recur(const hr_agent_t *a, int64_t t)
{
  const int64_t t0 = a->mlo_ev_t_ns[0], t1 = a->mlo_ev_t_ns[1];
  if (t0 == INT64_MIN || t1 - t0 > MLO_RECUR_NS || t - t1 > MLO_RECUR_NS)
    return INFINITY;
  return a->mlo_ev_w[0] > a->mlo_ev_w[1] ? a->mlo_ev_w[0] : a->mlo_ev_w[1];
}

/* The largest of a per-node array over the envelopes' nodes (every root,
 * for the whole tree). */
static int64_t env_nodes_max(const hr_agent_t *a, const int64_t *v)
{
  const int whole = a->node == HR_AGENT_WHOLE_TREE;
  int64_t m = 0;
  for (size_t r = 0; r < (whole ? a->n_roots : 1); r++) {
    const int64_t x = v[whole ? (size_t)a->roots[r] : a->node];
    if (x > m)
      m = x;
  }
  return m;
}

/* Every step while a meter reports at the envelopes' node: the meter's
 * lowest held input per 1-s bucket, its energy in the ring (on its own
 * clock), and the offset's mean; without a fresh meter it starts over. */
static void meter_lo_step(hr_agent_t *a, int64_t t)
{
  /* (whenever a meter reports: a generator's envelope, set at an outage,
   * has the meter's troughs from its first step) */
  double in = NAN;
  int64_t mid = 0;
  if (a->any_met)
    in = env_meter_in_w(a, t, &mid);
  if (!isfinite(in)) {
    a->mlo_t_ns = INT64_MIN;
    return;
  }
  if (a->mlo_t_ns == INT64_MIN) {
    a->mlo_cur_w = a->mlo_prev_w = INFINITY;
    for (size_t c = 0; c < MLO_WCACHE; c++)
      a->mlo_wc_t_ns[c] = INT64_MIN;
    a->mlo_seek = 0;
    a->mlo_pk_w = a->mlo_tr_w = NAN;
    a->mlo_ev_t_ns[0] = a->mlo_ev_t_ns[1] = a->mlo_fall_t_ns = INT64_MIN;
    a->mlo_bucket_ns = a->mlo_t0_ns = t;
    a->mlo_off_t_ns = INT64_MIN;
    a->mlo_n = 1;
    a->mlo_head = 0;
    a->mlo_ring_t_ns[0] = mid;
    a->mlo_ring_j[0] = 0.0;
    a->mlo_hn = 0;
    a->mlo_t_ns = t;
    return;
  }
  if (t == a->mlo_t_ns)
    return;
  a->mlo_t_ns = t;
  if (t - a->mlo_bucket_ns >= 1000000000) {
    a->mlo_prev_w = a->mlo_cur_w;
    a->mlo_cur_w = INFINITY;
    a->mlo_bucket_ns = t;
  }
  const int64_t t_new = a->mlo_ring_t_ns[a->mlo_head];
  if (mid > t_new) { /* a new record */
    const size_t h = (a->mlo_head + 1) % a->mlo_cap;
    a->mlo_ring_j[h] = a->mlo_ring_j[a->mlo_head] + in * (double)(mid - t_new) * 1e-9;
    a->mlo_ring_t_ns[h] = mid;
    a->mlo_head = h;
    if (a->mlo_n < a->mlo_cap)
      a->mlo_n++;
    /* The trough: the least of the records' highest over MLO_HOLD_NS of
     * records without a gap (a refused record, or one at 0 W: a meter
     * that reads nothing at a node whose GPUs run is broken, not at a
     * trough the GPUs can rise from) */
    int64_t dur = env_nodes_max(a, a->met_ms_dur_ns);
    /* (the agent reads the latest record at each step: records shorter
     * than a step come a step apart) */
    if (dur < a->cfg.step_ns)
      dur = a->cfg.step_ns;
    const size_t hc = a->mlo_hcap;
    const int64_t last = a->mlo_h_t_ns[a->mlo_hhead];
    if (!(in > 0.0) || (a->mlo_hn > 0 && mid - last > dur + dur / 2))
      a->mlo_hn = 0;
    if (in > 0.0) {
      a->mlo_hhead = (a->mlo_hhead + 1) % hc;
      a->mlo_h_t_ns[a->mlo_hhead] = mid;
      a->mlo_h_w[a->mlo_hhead] = in;
      if (a->mlo_hn < hc)
        a->mlo_hn++;
      double held = -INFINITY;
      int spans = 0;
      for (size_t i = 0; i < a->mlo_hn; i++) {
        const size_t j = (a->mlo_hhead + hc - i) % hc;
        held = fmax(held, a->mlo_h_w[j]);
        if (mid - a->mlo_h_t_ns[j] + dur >= MLO_HOLD_NS) {
          spans = 1;
          break;
        }
      }
      if (spans && held < a->mlo_cur_w)
        a->mlo_cur_w = held;
      if (spans)
        recur_track(a, held, mid);
    }
  }
  /* The pair: every installed leaf's reading, against the meter's mean
   * over that reading's own window, averaged over the leaves (a sampled
   * reading is a window's mean, which a sum of readings taken at the same
   * phases of a job's iteration would bias: compared with the meter over
   * the same windows it is not).  Each leaf's latest reading whose window
   * the meter covers: its latest, else the one before (fresh).  Readings at
   * different times are compared as if each leaf's share of the input were
   * the same at each, which the mean over MLO_TAU_S evens out.  A leaf with
   * neither (a stale one, its present cap in the envelopes' draw; or 1-ms
   * readings, newer than the meter's middle time) leaves the mean as it
   * was. */
  const int64_t half = env_nodes_max(a, a->met_cyc_ns) / 2;
  if (half != a->mlo_half_ns) /* (the cached means were over other windows) */
    for (size_t c = 0; c < MLO_WCACHE; c++)
      a->mlo_wc_t_ns[c] = INT64_MIN;
  a->mlo_half_ns = half;
  const int64_t covered = a->mlo_ring_t_ns[a->mlo_head] - a->mlo_half_ns;
  for (size_t k = 0; k < a->n_leaves; k++)
    if (a->p_t_ns[k] != a->mlo_rc_t_ns[k]) {
      a->mlo_rp_w[k] = a->mlo_rc_w[k];
      a->mlo_rp_t_ns[k] = a->mlo_rc_t_ns[k];
      a->mlo_rc_w[k] = a->p_w[k];
      a->mlo_rc_t_ns[k] = a->p_t_ns[k];
    }
  const double k_hi = hr__budget_marg_max(&a->cfg.lease.budget);
  double sum = 0.0, m_sum = 0.0, w_sum = 0.0, m_k = NAN;
  int64_t t_k_prev = INT64_MIN;
  for (size_t k = 0; k < a->n_leaves; k++) {
    const double w8 = a->env_w8[k];
    if (w8 == 0.0)
      continue;
    int64_t tk = a->mlo_rc_t_ns[k];
    double pk = a->mlo_rc_w[k];
    if (tk != INT64_MIN && tk > covered) {
      tk = a->mlo_rp_t_ns[k];
      pk = a->mlo_rp_w[k];
    }
    if (tk == INT64_MIN || t - tk > a->cfg.stale_ns || tk > covered)
      return;
    if (tk != t_k_prev) { /* readings taken together share one window */
      m_k = mlo_window_w(a, tk);
      t_k_prev = tk;
    }
    if (!isfinite(m_k))
      return;
    sum += w8 * pk;
    m_sum += w8 * m_k;
    w_sum += w8;
  }
  if (!(w_sum > 0.0))
    return;
  const double off = sum - k_hi * m_sum / w_sum;
  if (a->mlo_off_t_ns == INT64_MIN)
    a->mlo_off_w = off;
  else
    a->mlo_off_w +=
        -expm1(-(double)(t - a->mlo_off_t_ns) * 1e-9 / MLO_TAU_S) * (off - a->mlo_off_w);
  a->mlo_off_t_ns = t;
}

/* One step's draw into an envelope's 1-s buckets of lowest draws. */
static void env_lo_push(double draw, int64_t t, double *cur_w, double *prev_w, int64_t *bucket_ns)
{
  if (t - *bucket_ns >= 1000000000) {
    *prev_w = *cur_w;
    *cur_w = draw;
    *bucket_ns = t;
  } else if (draw < *cur_w) {
    *cur_w = draw;
  }
}

/* The envelopes' lowest draw at every step, not only at decisions: a
 * decision reads the draw every 10-20 ms, and a dip between two (two jobs'
 * communication phases overlapping for 5 ms) went unseen, so the caps rose
 * one ramp above a lowest draw higher than the true one and the load
 * stepped back by more than the ramp (a review: 26.6 kW in 1 s against a
 * generator's 20 kW/s).  The decisions' own sum of the readings (a stale
 * GPU at its present cap), O(leaves) a step while an envelope holds: the
 * node's power is no stand-in, being a metered node's meter reading (a
 * second review: its troughs went into the buckets without the meter's
 * offset or its half-rate cut, 0.022 s over a generator's ramp). */
static void env_lo_track(hr_agent_t *a, int64_t t)
{
  const int sup = isfinite(a->sup_lim_w) && !a->sup_new;
  const int grd = a->grd_ramp_w_per_s > 0.0 && !a->grd_new;
  if (!sup && !grd)
    return;
  const double draw = env_draw_w(a, t, &a->envd_floor_w);
  a->envd_draw_w = draw;
  a->envd_step = a->st.steps;
  if (sup)
    env_lo_push(draw, t, &a->sup_dmin_cur_w, &a->sup_dmin_prev_w, &a->sup_bucket_ns);
  if (grd)
    env_lo_push(draw, t, &a->grd_dmin_cur_w, &a->grd_dmin_prev_w, &a->grd_bucket_ns);
}

/* The supply limit (hr_agent_set_supply) on the caps in a->scr_w: the
 * envelope starts at what the GPUs draw when the limit is set (each at least
 * its lowest cap) and rises at most at the ramp, never above the limit; caps
 * above it are cut in proportion to their room above their minimum. */
static void envelope_clamp(hr_agent_t *a, int64_t t, double lim_w, double ramp_w_per_s, double rho,
                           double *env_w, double *dmin_cur_w, double *dmin_prev_w, int64_t *t_ns,
                           int64_t *bucket_ns, int *is_new)
{
  /* The least the caps can sum to without cutting a GPU below its draw
   * (a GPU without a fresh reading: its present cap). */
  const size_t n = a->n_leaves;
  const double *restrict cmin = a->cap_min_w, *restrict cmax = a->cap_max_w;
  const double *restrict w8 = a->env_w8;
  double *restrict scr = a->scr_w;
  /* (this step's sum, when the tracker or the other envelope took it and
   * no cap moved since) */
  if (a->envd_step == 0 || a->envd_step != a->st.steps) {
    a->envd_draw_w = env_draw_w(a, t, &a->envd_floor_w);
    a->envd_step = a->st.steps;
  }
  const double draw = a->envd_draw_w, floor_w = a->envd_floor_w;
  double env_prev_w, dt_s = 0.0;
  if (*is_new) {
    *env_w = env_prev_w = floor_w;
    *dmin_cur_w = *dmin_prev_w = draw;
    *bucket_ns = t;
    *is_new = 0;
  } else {
    env_prev_w = *env_w;
    dt_s = (double)(t - *t_ns) * 1e-9;
    *env_w += ramp_w_per_s / (1.0 + rho) * dt_s;
  }
  *t_ns = t;
  /* The envelope also follows the draw down: at most the ramp's second
   * above the lowest draw of the last one to two seconds (what the GPUs
   * draw, even below their lowest caps), so a load that fell cannot step
   * back faster than the generator takes it. */
  env_lo_push(draw, t, dmin_cur_w, dmin_prev_w, bucket_ns);
  double lo = *dmin_cur_w < *dmin_prev_w ? *dmin_cur_w : *dmin_prev_w;
  /* The readings may miss a trough (a sampled reading is a short window's
   * mean every period; a training job's communication phase can fall
   * between two), the site's meter does not.  With k the supplies' highest
   * marginal efficiency (budget.eff_marg_max: the most output a watt of
   * input buys; the base falls with the leaves or stays), P - k x in(P)
   * never rises with P, so its mean over loads at or above the trough's
   * (mlo_off_w) is at most its value there, and mlo_off_w + k x the
   * meter's lowest input is at most what the leaves drew at that trough.
   * Taken once the meter has filled a bucket, and only where it is lower:
   * a meter that fails or lies is no worse than none. */
  double lo_m = INFINITY;
  if (a->mlo_t_ns == t && a->mlo_off_t_ns != INT64_MIN && t - a->mlo_t0_ns >= 1000000000) {
    double lo_in = a->mlo_cur_w < a->mlo_prev_w ? a->mlo_cur_w : a->mlo_prev_w;
    const double lo_rec = mlo_lo_recur(a, a->mlo_ring_t_ns[a->mlo_head]);
    if (lo_rec < lo_in)
      lo_in = lo_rec;
    if (isfinite(lo_in))
      lo_m = a->mlo_off_w + hr__budget_marg_max(&a->cfg.lease.budget) * lo_in;
  }
  /* The limit is on the input, (P + base) / eff(load): a rise of P by d
   * brings at most rho d of base with it, and each watt of the output
   * costs at most 1 / eff_ramp of input (the supplies' lowest marginal
   * efficiency; ramp_w_per_s is the rate x eff_ramp), so the input rises
   * by at most the rate when d <= ramp / (1 + rho).  (Load moving between
   * supplies at a constant sum moves the input by the curve's bend alone,
   * which this leaves out: docs/loop.md.) */
  const double top = lo + ramp_w_per_s / (1.0 + rho);
  if (*env_w > top)
    *env_w = top;
  if (lo_m < lo) {
    /* The meter's trough lowers the envelope at most at half the ramp's
     * rate: a cut is itself a fall, which the load's own swings add to (a
     * review's isolated 60-ms troughs: cut at the full rate, the falls
     * reached 4.2 kW in 1 s against 4); a meter that lies costs work at
     * that rate at most.  A job whose troughs come every iteration is held
     * within the ramp once the cut is done, a few seconds. */
    const double top_m = lo_m + ramp_w_per_s / (1.0 + rho),
                 floor_m = env_prev_w - 0.5 * ramp_w_per_s / (1.0 + rho) * dt_s;
    const double e = top_m > floor_m ? top_m : floor_m;
    if (*env_w > e)
      *env_w = e;
    a->st.meter_lows++;
  }
  if (*env_w > lim_w)
    *env_w = lim_w;
  /* The minima's sum is fixed at creation (cap_min_sum_w, summed in the
   * same order as here); the plain form sums it again. */
  double sum = 0.0, mins = a->plain ? 0.0 : a->cap_min_sum_w;
  for (size_t k = 0; k < n; k++) {
    double c = scr[k] < cmin[k] ? cmin[k] : scr[k];
    scr[k] = c > cmax[k] ? cmax[k] : c;
    sum += w8[k] * scr[k];
  }
  if (a->plain)
    for (size_t k = 0; k < n; k++)
      mins += w8[k] * cmin[k];
  if (sum <= *env_w)
    return;
  /* Below the sum of the minima no cap can help: every GPU at its minimum. */
  double f = sum > mins ? (*env_w - mins) / (sum - mins) : 0.0;
  if (f < 0.0)
    f = 0.0;
  for (size_t k = 0; k < a->n_leaves; k++)
    if (a->env_w8[k] != 0.0)
      a->scr_w[k] = a->cap_min_w[k] + (a->scr_w[k] - a->cap_min_w[k]) * f;
  a->st.supply_clamps++;
}

/* The overheads (hr_lease_sys_set_overhead) at and below the agent's node,
 * or every root's: what the site draws besides the GPUs, before losses. */
static double site_ovh_w(const hr_agent_t *a)
{
  if (!hr__lease_has_overhead(a->sys))
    return 0.0;
  if (a->node != HR_AGENT_WHOLE_TREE)
    return hr_lease_sys_overhead_w(a->sys, a->node);
  double o = 0.0;
  for (size_t r = 0; r < a->n_roots; r++)
    o += hr_lease_sys_overhead_w(a->sys, (size_t)a->roots[r]);
  return o;
}

/* The envelopes on the caps in a->scr_w.  Returns 1 when the caps in force
 * would still exceed one: a cap within cap_eps_w of its new value is not
 * sent (cap_same), so each may stay up to cap_eps_w above it, and with the
 * caps' sum at a generator's rating that is an overload that trips it (256
 * GPUs, 43 W over for 5 s); the caller then sends every fall, however
 * small. */
static int supply_clamp(hr_agent_t *a, int64_t t)
{
  /* The supply's limit and ramp are the site's input; the caps are the
   * GPUs' watts: less the overheads, through the supplies (budget.eff). */
  const double eff = a->cfg.lease.budget.eff, eff_r = hr__budget_ramp_eff(&a->cfg.lease.budget);
  const double rho = a->cfg.lease.budget.base_per_w;
  const int grd = a->grd_ramp_w_per_s > 0.0;
  if (!isfinite(a->sup_lim_w) && !grd)
    return 0;
  double env = INFINITY;
  if (isfinite(a->sup_lim_w)) {
    envelope_clamp(a, t, a->sup_lim_w * eff - site_ovh_w(a), a->sup_ramp_w_per_s * eff_r, rho,
                   &a->sup_env_w, &a->sup_dmin_cur_w, &a->sup_dmin_prev_w, &a->sup_t_ns,
                   &a->sup_bucket_ns, &a->sup_new);
    env = a->sup_env_w;
  }
  /* The grid's ramp limit (cfg.grid_ramp_caps): the lease layer holds the
   * grants' total to the ramp, but grants above what the GPUs draw let the
   * draw itself step (a checkpoint's end, a restart); the envelope keeps
   * the caps' sum within one ramp-window's rise above the lowest draw of
   * the last one to two seconds. */
  if (grd) {
    envelope_clamp(a, t, INFINITY, a->grd_ramp_w_per_s, rho, &a->grd_env_w, &a->grd_dmin_cur_w,
                   &a->grd_dmin_prev_w, &a->grd_t_ns, &a->grd_bucket_ns, &a->grd_new);
    if (a->grd_env_w < env)
      env = a->grd_env_w;
  }
  if (!isfinite(env))
    return 0;
  /* (the envelopes left every scr_w[k] within the leaf's cap range) */
  double in_force = 0.0;
  for (size_t k = 0; k < a->n_leaves; k++)
    if (a->env_w8[k] != 0.0)
      in_force += cap_same(a, k, a->scr_w[k]) ? a->cap_w[k] : a->scr_w[k];
  /* (beyond the sums' rounding) */
  return in_force > env + 1e-9 * fabs(env);
}

int hr_agent_set_supply(hr_agent_t *a, double limit_w, double ramp_w_per_s, int64_t t_ns)
{
  if (!a || !(limit_w > 0.0) || !(ramp_w_per_s >= 0.0) || !isfinite(ramp_w_per_s))
    return HR_ERR_INVALID_ARG;
  a->sup_lim_w = limit_w;
  a->sup_ramp_w_per_s = ramp_w_per_s;
  a->sup_t_ns = t_ns;
  a->sup_new = isfinite(limit_w);
  if (!uses_leases(a->cfg.policy))
    return HR_OK;      /* (the baselines ignore the limit) */
  a->t_next_ns = t_ns; /* decide at the next step */
  /* The leases carry the rating too, so that the grants follow it by their
   * own rules (priorities, floors) rather than the envelope's proportional
   * cut, and a utility loss told with it needs no degraded mode (lease.h).
   * At the roots only: a rack's supply is not the site's.  A refusal (the
   * floors do not fit under the rating) clears what was set before (below):
   * the loss is then degraded mode, and the envelope holds the caps either
   * way. */
  const int whole = a->node == HR_AGENT_WHOLE_TREE;
  if (!whole && hr_tree_nodes(a->tree)[a->node].parent >= 0)
    return HR_OK;
  /* The utility back: the alarm's end (hr_agent_set_events, told first)
   * reaches the lease system before the supply goes, or a supply cleared
   * while it still held the loss would be degraded mode at once, and for
   * stable_ns after. */
  if (!isfinite(limit_w)) {
    int rc = hr_lease_sys_set_events(a->sys, a->own_events | a->ext_events, t_ns);
    if (rc != HR_OK)
      return rc;
  }
  /* Where the caps' envelope cannot hold the generator's ramp once leases
   * grow, the leases get no supply and the loss stays degraded mode (no
   * growth), as without one:
   * - readings that are window means (sampled telemetry, tel_window_ns >
   *   0) miss the dips between samples (a review: 0.07 -> 0.41 s over a
   *   20-kW/s ramp, docs/loop.md "A site meter's troughs"); a site meter's
   *   troughs close most of it but not all (a second review: 0 -> 0.003 to
   *   0.028 s), and a meter may fail in the outage;
   * - decisions further apart than the envelope's 1-s buckets leave the
   *   caps where the last one put them while the load falls and comes back
   *   (lease-3band, 3 s: 1.0 -> 1.35 s over a 15-kW/s ramp). */
  const int blind = a->cfg.tel_window_ns > 0 || a->cfg.period_ns > 1000000000;
  int refused = 0;
  for (size_t r = 0; r < (whole ? a->n_roots : 1); r++) {
    const size_t k = whole ? (size_t)a->roots[r] : a->node;
    int rc;
    if (!isfinite(limit_w) || blind) {
      rc = hr_lease_sys_set_supply(a->sys, k, INFINITY, t_ns);
    } else {
      /* Grants are whole tokens of the children's tier, so leases bounded
       * at the rating itself would leave up to a token of it unused (a
       * rack token is 1 kW: 10.9 of an 11.25-kW generator in a review's
       * run); one token above it, the envelope holds the rating exactly
       * and the leases still share it by priority to within that token.
       * The rating itself first: a refusal is the rating's. */
      double tok_w = 0.0;
      size_t m = 0;
      const int32_t *ch = hr_tree_children(a->tree, k, &m);
      for (size_t j = 0; j < m; j++)
        tok_w = a->tok_w[ch[j]] > tok_w ? a->tok_w[ch[j]] : tok_w;
      rc = hr_lease_sys_set_supply(a->sys, k, limit_w, t_ns);
      if (rc == HR_OK && tok_w > 0.0)
        rc = hr_lease_sys_set_supply(a->sys, k, limit_w + tok_w / a->cfg.lease.budget.eff, t_ns);
      if (rc == HR_ERR_RANGE) {
        /* (a refusal keeps a supply set before, perhaps a larger one: gone,
         * the loss is degraded mode) */
        refused = 1;
        rc = hr_lease_sys_set_supply(a->sys, k, INFINITY, t_ns);
      }
    }
    if (rc != HR_OK)
      return rc;
  }
  return refused ? HR_ERR_RANGE : HR_OK;
}

static size_t decide(hr_agent_t *a, int64_t t, hr_decision_why_t why, double node_p, int *rc_out)
{
  size_t sent = 0;
  *rc_out = HR_OK;
  switch (a->cfg.policy) {
  case HR_LOOP_NONE:
    break;
  case HR_LOOP_STATIC:
    if (!a->static_done) {
      for (size_t k = 0; k < a->n_leaves; k++)
        sent += send_cap(a, k, a->cfg.static_frac * a->rating_w[k], t, HR_WHY_STATIC);
      a->static_done = 1;
    }
    break;
  case HR_LOOP_MULT_DECREASE: {
    /* The tightest limit in the subtree: the highest power-to-limit ratio
     * of any node with a finite budget (the breaker closest to its limit). */
    double ratio = 0.0;
    (void)node_p;
    for (size_t s = 0; s < a->n_scope; s++) {
      const hr_budget_t *b = hr_lease_sys_budget(a->sys, (size_t)a->scope[s]);
      if (b && isfinite(b->limit_w) && b->limit_w > 0.0 &&
          mean_p_w(a, a->scope[s]) / b->limit_w > ratio)
        ratio = mean_p_w(a, a->scope[s]) / b->limit_w;
      else if (b && b->limit_w == 0.0 && mean_p_w(a, a->scope[s]) > 0.0 &&
               !hr__lease_dead(a->sys, (size_t)a->scope[s]))
        ratio = INFINITY; /* as decide_dynamo */
    }
    if (ratio > a->cfg.md_high) {
      for (size_t k = 0; k < a->n_leaves; k++) {
        double c = isnan(a->cap_w[k]) ? a->cap_max_w[k] : a->cap_w[k];
        sent += send_cap(a, k, c * a->cfg.md_beta, t, why);
      }
    } else if (ratio < a->cfg.md_low) {
      for (size_t k = 0; k < a->n_leaves; k++) {
        if (isnan(a->cap_w[k]) || a->cap_w[k] >= a->cap_max_w[k])
          continue;
        /* Randomized unthrottling: 53 bits of the PRNG as a uniform in [0, 1). */
        double u = (double)(rng_next(&a->rng) >> 11) * (1.0 / 9007199254740992.0);
        if (u < a->cfg.md_release_p)
          sent += send_cap(a, k, a->cap_max_w[k], t, why);
      }
    }
    break;
  }
  case HR_LOOP_DYNAMO:
    sent = decide_dynamo(a, t, why);
    a->n_dec++;
    break;
  case HR_LOOP_POLCA:
    sent = decide_polca(a, t, why);
    break;
  case HR_LOOP_THREE_BAND:
  case HR_LOOP_TWO_THRESHOLD:
  case HR_LOOP_LEASE: {
    leaf_demands(a, t, t < a->grid_hold_ns);
    int rc = hr_lease_sys_rebalance(a->sys, a->demand_w, t);
    if (rc != HR_OK) {
      *rc_out = rc;
      return 0;
    }
    (void)hr_lease_sys_cap_w_many(a->sys, a->leaf_node, a->n_leaves, t, a->scr_w);
    int fall = supply_clamp(a, t);
    /* send_cap's own test first (most caps do not move): the call only for
     * the caps that change. */
    for (size_t k = 0; k < a->n_leaves; k++)
      if (!cap_same(a, k, a->scr_w[k]) || (fall && a->scr_w[k] < a->cap_w[k]))
        sent += send_cap_x(a, k, a->scr_w[k], t, why, fall);
    break;
  }
  }
  return sent;
}

int hr_agent_step(hr_agent_t *a, hr_agent_step_info_t *info)
{
  if (!a)
    return HR_ERR_INVALID_ARG;
  int64_t t = a->clock.now_ns(a->clock.ctx);
  if (a->started && t < a->t_last_ns)
    return HR_ERR_STATE;
  double dt_s = a->started ? (double)(t - a->t_last_ns) * 1e-9 : 0.0;
  if (!a->started) {
    a->started = 1;
    a->t_bucket_ns = t;
    a->t_next_ns = t;
    a->t_last_dec_ns = INT64_MIN;
    a->t_budget_ns = t;
    if (a->cfg.smooth_floor_frac > 0.0 && a->act)
      smooth_send(a, t);
  }
  a->t_last_ns = t;
  a->st.steps++;
  const hr_tree_node_t *nd = hr_tree_nodes(a->tree);

  /* Every leaf in one call (an actuator that reads many devices at once
   * saves a dispatch per device); a failed read leaves valid = 0. */
  const int read = a->read_act;
  if (read && a->plain)
    (void)hr_actuator_read_many(a->act, 0, (int)a->n_leaves, HR_POWER_DEFAULT, t, a->rd);

  /* Two-bucket peak per leaf: the demand is the peak of the last one to two
   * windows, long enough to cover a training iteration's compute phase.  In
   * the same pass as the readings (each leaf's own). */
  const int64_t win_ns = (int64_t)(a->cfg.demand_window_s * 1e9);
  int roll = t - a->t_bucket_ns >= win_ns;
  if (roll)
    a->t_bucket_ns = t;
  unsigned events = 0;
  if (a->plain) {
    for (size_t k = 0; k < a->n_leaves; k++) {
      /* The sample's own time: a frozen meter's repeated sample goes stale. */
      if (read && a->rd[k].valid)
        (void)take_power(a, k, a->rd[k].p_w, a->rd[k].t_ns <= t ? a->rd[k].t_ns : t);
      int fresh = a->p_t_ns[k] != INT64_MIN && t - a->p_t_ns[k] <= a->cfg.stale_ns;
      double p = fresh ? a->p_w[k] : 0.0;
      a->lcur_w[k] = p;
      if (!fresh)
        events |= HR_EVENT_TELEMETRY_LOSS;
      if (roll) {
        a->bmax_prev[k] = a->bmax_cur[k];
        a->bmax_cur[k] = p;
      } else if (p > a->bmax_cur[k]) {
        a->bmax_cur[k] = p;
      }
    }
  } else {
    events = read_leaves(a, t, read, roll);
  }
  if (!a->have_lat_in) {
    a->lat_in_ns = a->lat_clock.now_ns(a->lat_clock.ctx);
    a->have_lat_in = 1;
  }

  /* Bottom-up power of the subtree (a dual-corded node splits evenly over
   * its feeds, as two PSUs share a load), then the lease system's image of
   * every device is stepped with the current it carries. */
  /* A parent's sum is kept in a register (acc) while consecutive nodes feed
   * it (a server's GPUs): the same additions in the same order, without a
   * store and a reload per GPU. */
  /* Only the scope's nodes with children start at 0: every other node of
   * the scope is a leaf, whose power is set below before anything reads it. */
  for (size_t i = 0; i < a->n_sc_inner; i++)
    a->node_p_w[a->sc_inner[i]] = 0.0;
  int32_t acc_k = -1;
  double acc = 0.0;
  const unsigned lost = hr__lease_feeds_lost(a->sys);
  /* The supplies' efficiency and the overheads the budgets assume: the
   * current a node's leaves' power makes on its conductors (a dual-corded
   * node's overhead is counted in full on each side, as its budgets count
   * it: its sides' images run warm by half of it). */
  const double eff = a->cfg.lease.budget.eff;
  const int ovh_on = hr__lease_has_overhead(a->sys);
  for (size_t s = a->n_scope; s-- > 0;) {
    size_t k = (size_t)a->scope[s];
    if (a->run_n[s] > 0 && !a->any_met && !a->plain) {
      /* A run of leaves under one parent, no meter (any_met 0): what the
       * general step below does for each, in the same order (the last
       * first), without its tests.  Scope positions s-n+1 .. s hold leaves
       * j0 .. j0+n-1 (leaves are numbered in scope order). */
      const size_t n_run = (size_t)a->run_n[s];
      const int32_t pa = a->par[k];
      const size_t j0 = (size_t)a->leaf_of[k] + 1 - n_run;
      if (pa != acc_k) {
        if (acc_k >= 0)
          a->node_p_w[acc_k] = acc;
        acc_k = pa;
        acc = a->node_p_w[pa];
      }
      for (size_t j = j0 + n_run; j-- > j0;) {
        double p = a->lcur_w[j];
        a->node_p_w[a->leaf_node[j]] = p;
        acc += p;
      }
      s -= n_run - 1;
      continue;
    }
    if ((int32_t)k == acc_k) {
      a->node_p_w[k] = acc;
      acc_k = -1;
    }
    double p = a->node_p_w[k];
    if (a->leaf_of[k] >= 0)
      p = a->lcur_w[a->leaf_of[k]]; /* its fresh reading, else 0 (above) */
    if (a->any_met && a->met_t_ns[k] != INT64_MIN && t - a->met_t_ns[k] <= a->cfg.stale_ns) {
      p = a->met_p_w[k];
      if (nd[k].n_children > 0 && (ovh_on || eff < 1.0)) {
        /* A meter reads what the conductors carry: the leaves' power
         * through the supplies and the overheads (the budgets' units are
         * the leaves' watts; hr_lease_sys_set_overhead). */
        p = p * eff - (ovh_on ? hr_lease_sys_overhead_w(a->sys, k) : 0.0);
        p = p > 0.0 ? p : 0.0;
      }
    }
    a->node_p_w[k] = p;
    if (k == a->node)
      continue;
    int32_t pa = a->par[k], pb = a->par_b[k];
    if (pa >= 0 && pb >= 0) {
      if (acc_k >= 0)
        a->node_p_w[acc_k] = acc;
      acc_k = -1;
      /* Two PSUs share the load while both feeds are up; once one is lost
       * its side carries nothing and the survivor all of it (as the
       * simulator's electricity does), or the survivor's image would see
       * half its current and never cut (docs/sim.md, "Contingencies long
       * enough for the long-time band"). */
      double fa = 0.5;
      if (lost) {
        int up_a = !(nd[pa].feed & lost), up_b = !(nd[pb].feed & lost);
        if (up_a != up_b)
          fa = up_a ? 1.0 : 0.0;
      }
      a->node_p_w[pa] += fa * p;
      a->node_p_w[pb] += (1.0 - fa) * p;
    } else if (pa >= 0) {
      if (pa != acc_k) {
        if (acc_k >= 0)
          a->node_p_w[acc_k] = acc;
        acc_k = pa;
        acc = a->node_p_w[pa];
      }
      acc += p;
    }
  }
  if (acc_k >= 0)
    a->node_p_w[acc_k] = acc;
  if (a->node_ph_w && dt_s > 0.0)
    phase_powers(a, nd, lost, t);
  if (dt_s > 0.0) {
    for (size_t s = 0; s < a->n_dev_scope; s++) {
      size_t k = (size_t)a->dev_scope[s];
      /* From a power the current is that of its apparent power at the
       * budgets' power factor (lease.h: the watts they grant are those
       * amperes x volts x pf); a meter's current is the current. */
      double p_w = a->node_p_w[k];
      if (nd[k].n_children > 0 && (ovh_on || eff < 1.0))
        p_w = (p_w + (ovh_on ? hr_lease_sys_overhead_w(a->sys, k) : 0.0)) / eff;
      if (a->node_ph_w && nd[k].n_children > 0) {
        /* an unbalanced tree: the hottest conductor's current (a three-phase
         * node's power as if every conductor carried that one's) */
        const double *v = &a->node_ph_w[3 * k];
        p_w = (nd[k].n_phases == 3 ? 3.0 * fmax(v[0], fmax(v[1], v[2])) : v[0]) / eff;
      }
      double i_a = hr_tree_node_current_a(&nd[k], p_w / a->cfg.lease.budget.pf);
      if (a->met_t_ns[k] != INT64_MIN && t - a->met_t_ns[k] <= a->cfg.stale_ns &&
          a->met_i_a[k] > 0.0)
        i_a = a->met_i_a[k];
      if (isfinite(i_a) && i_a >= 0.0)
        hr_lease_sys_observe(a->sys, k, i_a, dt_s);
    }
  }
  /* The slow baselines read their breakers' meters, which average over the
   * reading interval: an instantaneous sample every 3 s would alias with a
   * training iteration (a 1-s period sampled every 3 s shows one phase for
   * ever). */
  if (avg_power(a->cfg.policy) && dt_s > 0.0) {
    for (size_t s = 0; s < a->n_scope; s++)
      a->acc_j[a->scope[s]] += a->node_p_w[a->scope[s]] * dt_s;
    a->acc_s += dt_s;
  }
  double node_p = 0.0;
  if (a->node == HR_AGENT_WHOLE_TREE) {
    for (size_t r = 0; r < a->n_roots; r++) /* the scope's roots, in its order */
      node_p += a->node_p_w[a->roots[r]];
  } else {
    node_p = a->node_p_w[a->node];
  }

  double forecast = NAN;
  if (a->pred)
    forecast = hr_predictor_push(a->pred, node_p);
  if (a->grid) {
    /* The grid sees the site's input: the GPUs' power with the base loads,
     * through the supplies (hr_lease_sys_set_overhead, budget.eff). */
    double site_w = node_p;
    if (ovh_on || eff < 1.0)
      site_w = (node_p + site_ovh_w(a)) / eff;
    hr_grid_status_t gs;
    hr_grid_monitor_push(a->grid, site_w, &gs);
    if (gs.settled &&
        (gs.violations & ~(unsigned)(HR_GRID_VIOL_RAMP | HR_GRID_VIOL_MAX | HR_GRID_VIOL_MIN)))
      a->grid_hold_ns = t + (int64_t)(a->cfg.grid_hold_s * 1e9);
    if (a->bc_on)
      band_step(a, t, site_w, &gs);
  }

  meter_lo_step(a, t);
  env_lo_track(a, t);

  /* Is a decision due? */
  int lease = uses_leases(a->cfg.policy);
  hr_lease_sys_t *sys = a->sys;
  int rc = HR_OK;
  if (lease) {
    /* The agent's own events (telemetry loss) with those it was told of
     * (a utility outage): neither overwrites the other. */
    a->own_events = events;
    rc = hr_lease_sys_set_events(sys, events | a->ext_events, t);
    if (rc != HR_OK)
      return rc;
  }
  hr_mode_t mode = hr_lease_sys_mode(sys);
  /* Summed again (in the same order) only when a cap changed. */
  if (!a->granted_ok) {
    double g = 0.0;
    for (size_t k = 0; k < a->n_leaves; k++)
      g += isnan(a->cap_w[k]) ? a->cap_max_w[k] : a->cap_w[k];
    a->granted_w = g;
    a->granted_ok = 1;
  }
  double granted = a->granted_w;
  double lim = node_limit_w(a);
  if (!isfinite(lim))
    lim = granted;
  int due = t >= a->t_next_ns;
  hr_decision_why_t why = HR_WHY_PERIOD;
  int64_t gap = a->cfg.period_ns / 5 > a->cfg.step_ns ? a->cfg.period_ns / 5 : a->cfg.step_ns;
  int may_trigger = a->t_last_dec_ns == INT64_MIN || t - a->t_last_dec_ns >= gap;
  if (!due && mode != a->mode && lease) {
    due = 1;
    why = HR_WHY_MODE;
  } else if (!due && may_trigger && a->cfg.step_frac > 0.0 &&
             fabs(node_p - a->p_at_dec_w) > a->cfg.step_frac * lim) {
    due = 1;
    why = HR_WHY_STEP;
  } else if (!due && may_trigger && a->pred && forecast > granted) {
    due = 1;
    why = HR_WHY_PREDICT;
  }
  a->mode = mode;

  size_t sent = 0;
  if (due) {
    /* Budgets follow the devices' thermal images; a bisection per device,
     * so at most every 100 ms. */
    if ((lease || a->cfg.policy == HR_LOOP_MULT_DECREASE || a->cfg.policy == HR_LOOP_DYNAMO ||
         a->cfg.policy == HR_LOOP_POLCA) &&
        t >= a->t_budget_ns) {
      rc = hr_lease_sys_update_budgets(sys, t);
      if (rc != HR_OK)
        return rc;
      a->t_budget_ns = t + 100000000;
    }
    sent = decide(a, t, why, node_p, &rc);
    if (rc != HR_OK)
      return rc;
    if (avg_power(a->cfg.policy)) {
      for (size_t s = 0; s < a->n_scope; s++)
        a->acc_j[a->scope[s]] = 0.0;
      a->acc_s = 0.0;
    }
    a->st.decisions++;
    if (why == HR_WHY_STEP || why == HR_WHY_PREDICT)
      a->st.step_decisions++;
    a->t_last_dec_ns = t;
    a->p_at_dec_w = node_p;
    if (t >= a->t_next_ns)
      a->t_next_ns = t + a->cfg.period_ns;
    if (sent > 0) {
      int64_t now = a->lat_clock.now_ns(a->lat_clock.ctx);
      lat_record(a, (double)(now - a->lat_in_ns) * 1e-9);
    }
  }
  a->have_lat_in = 0;
  if (info) {
    info->t_ns = t;
    info->decided = due;
    info->why = why;
    info->caps_set = sent;
    info->node_p_w = node_p;
    info->forecast_w = forecast;
    info->granted_w = granted;
    info->mode = mode;
  }
  return HR_OK;
}

int hr_agent_stats(const hr_agent_t *a, hr_agent_stats_t *out)
{
  if (!a || !out)
    return HR_ERR_INVALID_ARG;
  *out = a->st;
  hr_lease_stats_t ls;
  if (hr_lease_sys_stats(a->sys, &ls) == HR_OK)
    out->lease_clamps = ls.clamps;
  out->lat_p50_s = lat_quantile(a, 0.50);
  out->lat_p99_s = lat_quantile(a, 0.99);
  out->lat_max_s = a->st.lat_n ? a->lat_max_s : NAN;
  if (a->bc_on) {
    double span_s = (double)(a->bc_tl_ns - a->bc_t0_ns) * 1e-9;
    out->floor_frac = a->bc_frac;
    out->floor_mean_frac = span_s > 0.0 ? a->bc_frac_int / span_s : a->bc_frac;
  }
  return HR_OK;
}
