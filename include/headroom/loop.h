/* headroom: the control agent, one node's closed loop.
 *
 * An agent joins the pieces: it takes power readings of the GPUs below its
 * node (from an actuator's telemetry or pushed by the caller) and meter
 * records of metered nodes, keeps the lease system's view of every
 * protective device's thermal state (observe), recomputes budgets, decides
 * caps with its policy (leases rebalanced and renewed, or a baseline from the
 * literature), runs the peak predictor and the grid monitor, and sets caps
 * through the actuator interface (actuate.h).  The same code runs on a real
 * machine (`headroom agent`, wall clock, NVML/RAPL) and in the cluster
 * simulator (sim.h, simulated clock and GPUs): only the clock and the
 * actuator differ.
 *
 * Time comes from a clock interface (hr_clock_t) and nowhere else; decisions
 * depend only on the inputs and that clock, so a run is reproducible.  A
 * second, optional clock (the latency clock, the wall clock by default)
 * times the software path from input to the last cap call; it changes no
 * decision.
 *
 * Nothing is allocated after hr_agent_create.  The library never prints:
 * decisions go to a callback.  An agent is not thread-safe. */
#ifndef HEADROOM_LOOP_H
#define HEADROOM_LOOP_H

#include <stddef.h>
#include <stdint.h>

#include "headroom/actuate.h"
#include "headroom/error.h"
#include "headroom/export.h"
#include "headroom/lease.h"
#include "headroom/pq.h"
#include "headroom/tree.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- clocks --------------------------------------------------------------- */

/* A monotonic clock: now_ns(ctx) returns ns on one time line that never goes
 * backwards.  ctx is borrowed. */
typedef struct hr_clock {
  int64_t (*now_ns)(void *ctx);
  void *ctx;
} hr_clock_t;

/* The wall clock: CLOCK_MONOTONIC. */
HR_API void hr_clock_wall(hr_clock_t *out);

/* A clock that reads *t_ns (borrowed; the caller, e.g. a simulator, moves it). */
HR_API void hr_clock_manual(hr_clock_t *out, const int64_t *t_ns);

/* ---- policies --------------------------------------------------------------- */

typedef enum hr_loop_policy {
  HR_LOOP_NONE = 0,          /* no control: caps stay where they are */
  HR_LOOP_STATIC = 1,        /* every GPU capped once at static_frac x its rating */
  HR_LOOP_THREE_BAND = 2,    /* Dynamo-like: leases with HR_POLICY_THREE_BAND, 3-s period */
  HR_LOOP_TWO_THRESHOLD = 3, /* POLCA-like: leases with HR_POLICY_TWO_THRESHOLD, 1-s period */
  HR_LOOP_MULT_DECREASE = 4, /* Thunderbolt-like: two thresholds on the node's power,
                                multiplicative decrease, randomized unthrottling */
  HR_LOOP_LEASE = 5,         /* headroom: leases at 10 ms with step detection and prediction */
  HR_LOOP_DYNAMO = 6,        /* Dynamo as published: every rated node's controller compares
                                its measured power with three bands of its limit (3-s leaf,
                                9-s upper controllers) and cuts the GPUs below it, highest
                                power bucket first, lowest priority first; no leases */
  HR_LOOP_POLCA = 7          /* POLCA as published: above T1 of a node's limit the
                                low-priority GPUs below it are capped, above T2 all; uncapped
                                a set percentage below; no leases */
} hr_loop_policy_t;

/* Static name ("none", "static", "three_band", "two_threshold", "mult_decrease",
 * "lease", "dynamo", "polca"), "unknown" otherwise. */
HR_API const char *hr_loop_policy_name(hr_loop_policy_t p);

typedef struct hr_agent_cfg {
  hr_loop_policy_t policy;
  hr_lease_cfg_t lease;     /* the lease system's settings (lease.h); the presets set the
                               coordinator policy and lease times to suit period_ns */
  int64_t step_ns;          /* time between hr_agent_step calls [ns] > 0 (the predictor's and
                               grid monitor's sample step); default 1 ms */
  int64_t period_ns;        /* control period [ns] >= step_ns: a decision at least this often */
  double static_frac;       /* HR_LOOP_STATIC: cap = static_frac x GPU rating, 0 < x <= 1 */
  double demand_window_s;   /* a leaf's demand is its peak over the last window..2 windows
                               (two-bucket maximum) [s] > 0; default 2 */
  double probe_frac;        /* a leaf drawing within probe_frac of its cap is throttled: its
                               demand becomes cap x (1 + probe_frac) + a token's share (the
                               largest token / leaves below, over its coordinators), so the
                               lease can grow;
                               0 <= x <= 1; default 0.03 */
  double step_frac;         /* decide at once (not waiting for the period) when the node's
                               power moved by more than step_frac x its limit since the last
                               decision; 0 disables; default 0.05 for lease, 0 otherwise */
  int64_t stale_ns;         /* a leaf without a reading this long: telemetry loss [ns] > 0;
                               default 3 periods, at least 50 ms */
  int use_predictor;        /* 1: forecast the node's peak over predict_horizon_s and decide
                               at once when it exceeds what the GPUs are granted */
  double predict_horizon_s; /* default 0.05 */
  double grid_hold_s;       /* on an oscillation-band violation at a root: no cap increases
                               for this long [s] >= 0; default 5 */
  int grid_ramp_caps;       /* lease policies, 1: at a root with a grid ramp limit the caps'
                               sum stays within one ramp window's rise above the lowest
                               draw of the last one to two seconds (as hr_agent_set_supply's
                               envelope), so the draw cannot step past the limit; 0 (default) */
  int hold_keep;            /* lease policies, 1: during that hold no cap falls either
                               (a leaf's demand is its present cap; budgets still cut), so
                               caps that followed a workload's dip are not pinned there;
                               0 (default): caps may fall, not rise */
  int hold_release;         /* lease policies, 1: during a grid hold a GPU's cap may rise back
                               to the highest it held in the last one to two grid_hold_s
                               (the load swung at that cap, in the swing the monitor saw),
                               not above; the hold, re-armed by a load's own swing for as
                               long as it lasts, would otherwise pin caps wherever they
                               stood when it began; 0 (default): no cap rises in a hold */
  /* HR_LOOP_MULT_DECREASE (Thunderbolt-like; thresholds are fractions of the node's
   * limit_w): above md_high every cap x md_beta; below md_low each throttled GPU is
   * released to its full cap with probability md_release_p per period. */
  double md_high, md_low, md_beta, md_release_p; /* defaults 0.95, 0.85, 0.9, 0.2 */
  /* HR_LOOP_DYNAMO and HR_LOOP_POLCA take their thresholds from lease.coord (cap_frac,
   * target_frac, uncap_frac, bucket_w; t1_frac, t2_frac, uncap_pct, prio_split,
   * low_cap_frac, high_cap_frac: fractions of a node's limit_w and of a GPU's rating). */
  /* HR_LOOP_POLCA's actuator: clock locks (1, the preset: POLCA caps GPU frequency) or the
   * power caps low_cap_frac / high_cap_frac x rating (0: `polca-power`).  A lock is sent as
   * hr_actuator_lock_clocks(dev, clock_lo_mhz, frac x clock_max_mhz), frac polca_low_clock_frac
   * for low priority above T1 and polca_high_clock_frac for the others above T2; an unlocked
   * GPU is reset (0, 0).  A lock is not a power limit: the caps stay at their highest. */
  int polca_clocks;
  double polca_low_clock_frac;  /* (0, 1]; default 0.769 [M] (docs/loop.md) */
  double polca_high_clock_frac; /* (0, 1]; default 0.889 [M] */
  int clock_max_mhz;            /* the GPUs' highest graphics clock; default 1980 (H100 SXM) */
  int clock_lo_mhz;             /* the lock range's lower end; default 0 [M] (docs/loop.md) */
  int upper_every;      /* HR_LOOP_DYNAMO: a controller with a rated node below it decides every
                           upper_every periods (Dynamo: 9-s upper over 3-s leaf controllers: 3) */
  uint64_t seed;        /* PRNG seed for randomized unthrottling; default 1 */
  double cap_eps_w;     /* cap changes smaller than this are not sent [W] >= 0; default 1 */
  double read_max_frac; /* a GPU reading above read_max_frac x its highest cap is garbage:
                           refused like NaN (the leaf goes stale) [-] > 1; default 2 */
  int64_t settle_ns;    /* lease policies: a GPU reading taken before its cap's last rise plus
                           this cannot show the rise (the actuation delay, the telemetry's
                           averaging window): the GPU asks its cap (plus its probe share)
                           until one taken later comes [ns] 0..3.6e12; default 0 (readings
                           older than the rise) */
  int64_t stuck_ns;     /* a GPU reading whose value (above 0 W) has repeated bit for bit for
                           longer than this is stuck (a sensor or driver returning one cached
                           value with a fresh time): refused, the leaf stale at once, as a
                           silent meter [ns] >= 0; 0 off; default 3 s: three of NVML's
                           longest sample periods (1 s; docs/loop.md) */
  /* GPU power smoothing (Blackwell's NVML power smoothing: a minimum power floor settable
   * from 20 % to 90 % of TDP, ramp-up and ramp-down rates, a ramp-down hysteresis;
   * orchestration.md §1.3, §3).  With a floor the agent sends every GPU this profile at its
   * first step (hr_actuator_set_smoothing: floor smooth_floor_frac x the GPU's cap_max, both
   * ramps smooth_ramp_w_per_s, smooth_hyst_ms); a GPU that refuses it runs without smoothing
   * (stats: smooth_errors, hr_agent_smoothing_error).  Floor and ramp are both set or both 0
   * (off): a profile has both. */
  double smooth_floor_frac;   /* power floor, fraction of cap_max (0 or 0.2..0.9); with band_ctl
                                 the controller's lowest floor */
  double smooth_ramp_w_per_s; /* per-GPU ramp-up and ramp-down limit [W/s] >= 0 */
  double smooth_hyst_ms;      /* ramp-down hysteresis [ms], 0..HR_ACT_HYST_MAX_MS; default 0 */
  /* The oscillation-band controller (docs/loop.md): at a root with oscillation limits the
   * agent moves every GPU's smoothing floor (hr_actuator_set_power_floor) between
   * smooth_floor_frac and band_floor_max_frac of the GPU's cap_max, from the grid monitor's
   * band amplitudes and the site's swing.  A band's amplitude is predicted as r x swing (the
   * site's highest minus lowest power over 1 / f_lo of its lowest band); r starts at the
   * bound 1 / sqrt(2) (no band-limited signal within a range S has an amplitude, as the
   * monitor defines it, above S / sqrt(2)) and is measured (amplitude / swing) once the floor
   * has been still for a band window plus a swing window.  Above band_hi_frac x a limit
   * (measured or predicted) the floor rises at once to where the predicted amplitude is
   * band_target_frac x the limit; below band_target_frac x every limit, band_hold_s after the
   * last rise, it falls at band_down_frac_per_s, never under that target (the hysteresis:
   * between target and hi nothing moves); a floor below the GPUs' mean trough (it holds
   * nothing up) falls to that target at once.  Decisions every 100 ms; a slow fall is sent in
   * steps of 1 % of cap_max, a rise at once. */
  int band_ctl;                /* 1: on (needs smooth_floor_frac >= 0.2); default 0 */
  double band_hi_frac;         /* default 0.9; <= 1 */
  double band_target_frac;     /* default 0.8; 0 < x < band_hi_frac */
  double band_down_frac_per_s; /* default 0.002 (1.4 W/s on 700 W) > 0 */
  double band_hold_s;          /* [s] 0 to 1e7; default 0: the lowest band's window (2 / f_lo)
                                  plus the swing window (1 / f_lo) plus 1 s */
  double band_floor_max_frac;  /* the highest floor, <= 0.9 (NVML's range); default 0.9 */
  /* Admission shaping (inference): 1 = the serving system keeps each replica's batch
   * within its GPUs' caps (leases), so power is known before it is drawn.  The agent
   * does not act on it; the simulator's serving model does.  Default 0. */
  int admit;
  /* The readings' averaging window: a leaf's reading taken at t is its mean power over
   * (t - tel_window_ns, t] (an H100's sensor: 25-ms windows every 100 ms, docs/sim.md
   * "Telemetry"); 0 (default): its power at t.  [ns] 0 to stale_ns.  Only the envelopes'
   * use of a site meter reads it: a meter's watts are compared with the readings' over the
   * readings' own windows (docs/loop.md, "Supply limit"). */
  int64_t tel_window_ns;
} hr_agent_cfg_t;

/* Writes the preset of a policy (parameters and their sources: docs/loop.md).
 * Returns HR_OK or HR_ERR_INVALID_ARG. */
HR_API int hr_agent_cfg_init(hr_agent_cfg_t *cfg, hr_loop_policy_t policy);

/* ---- the agent ---------------------------------------------------------------- */

typedef enum hr_decision_why {
  HR_WHY_PERIOD = 0,  /* the control period came round */
  HR_WHY_STEP = 1,    /* a power step was detected */
  HR_WHY_PREDICT = 2, /* the predicted peak exceeded the grants */
  HR_WHY_STATIC = 3,  /* the one-time static cap */
  HR_WHY_MODE = 4     /* the lease mode changed (telemetry loss, feed loss ...) */
} hr_decision_why_t;

HR_API const char *hr_decision_why_name(hr_decision_why_t w);

/* One cap the agent set (or tried to set). */
typedef struct hr_agent_decision {
  int64_t t_ns;      /* agent clock */
  size_t leaf;       /* the agent's leaf index (= actuator device) */
  size_t node;       /* tree index of the GPU */
  double cap_w;      /* cap sent [W] */
  double prev_cap_w; /* cap sent before [W]; NAN before the first */
  double p_w;        /* the GPU's latest reading [W] */
  hr_decision_why_t why;
  int err; /* hr_actuator_set_cap's result (HR_OK, HR_ERR_STATE ...) */
} hr_agent_decision_t;

typedef void (*hr_agent_decision_fn)(void *user, const hr_agent_decision_t *d);

/* What one step did. */
typedef struct hr_agent_step_info {
  int64_t t_ns;
  int decided;           /* 1 when this step ran a decision */
  hr_decision_why_t why; /* its reason */
  size_t caps_set;       /* cap calls made (clock locks included) */
  double node_p_w;       /* the node's power as the agent sees it [W] */
  double forecast_w;     /* predicted peak over the horizon [W]; NAN without predictor */
  double granted_w;      /* sum of the GPUs' caps [W] */
  hr_mode_t mode;
} hr_agent_step_info_t;

typedef struct hr_agent_stats {
  uint64_t steps, decisions, caps_set, cap_errors;
  uint64_t step_decisions;                /* decisions triggered by a detected step or forecast */
  uint64_t lease_clamps;                  /* hr_lease_stats_t.clamps: must stay 0 */
  uint64_t lat_n;                         /* timed decisions that set at least one cap */
  double lat_p50_s, lat_p99_s, lat_max_s; /* input -> last cap call, latency clock */
  int last_cap_err;                       /* last error of a cap call (HR_OK if none) */
  uint64_t bad_readings;   /* readings refused: NaN, infinite, negative, above read_max_frac */
  uint64_t stuck_readings; /* readings refused as stuck (cfg.stuck_ns) */
  uint64_t supply_clamps;  /* decisions whose caps the supply limit cut (hr_agent_set_supply) */
  /* The band controller (cfg.band_ctl; zeros without it): floor calls made and refused, the
   * last refusal's code, the floor now, the highest and the time-weighted mean since the
   * first step [fraction of cap_max], rises. */
  uint64_t floor_sets, floor_errors;
  int last_floor_err;
  double floor_frac, floor_max_frac, floor_mean_frac;
  uint64_t band_raises;
  /* Smoothing profiles sent at the first step (one per GPU; cfg.smooth_*) and refused, the
   * last refusal's code (HR_OK if none); hr_agent_smoothing_error gives the first's message. */
  uint64_t smooth_sets, smooth_errors;
  int last_smooth_err;
  /* Clock locks (HR_LOOP_POLCA with polca_clocks): calls made (resets included) and refused,
   * the last refusal's code (HR_OK if none). */
  uint64_t clock_locks, clock_errors;
  int last_clock_err;
  /* Envelope decisions whose lowest draw a meter on the envelopes' node lowered below the
   * readings' (a trough the readings missed; docs/loop.md, "Supply limit"). */
  uint64_t meter_lows;
} hr_agent_stats_t;

typedef struct hr_agent hr_agent_t;

/* Node argument of hr_agent_create for an agent over the whole tree (every
 * root; a 2N design's two feeds together). */
#define HR_AGENT_WHOLE_TREE ((size_t)-1)

/* Creates the agent of node (tree index, or HR_AGENT_WHOLE_TREE) of tree (borrowed; must outlive
 * the agent).  Its leaves are the GPU (leaf) nodes below node, in tree order; leaf k is device k of
 * act (borrowed; needs at least as many devices; NULL only for HR_LOOP_NONE).  clock (copied) gives
 * the control time; lat_clock (copied; NULL: the wall clock) times the software path.  The agent
 * builds and owns a lease system over the whole tree.  Returns HR_OK, HR_ERR_INVALID_ARG,
 * HR_ERR_RANGE (cfg out of range, a lease time shorter than two periods, too few devices, floors
 * that do not fit), HR_ERR_NOMEM. */
HR_API int hr_agent_create(const hr_tree_t *tree, size_t node, hr_actuator_t *act,
                           const hr_clock_t *clock, const hr_clock_t *lat_clock,
                           const hr_agent_cfg_t *cfg, hr_agent_t **out);
HR_API void hr_agent_destroy(hr_agent_t *a);

/* Decisions go to fn (may be NULL); user is passed through, borrowed. */
HR_API void hr_agent_set_callback(hr_agent_t *a, hr_agent_decision_fn fn, void *user);

HR_API size_t hr_agent_leaf_count(const hr_agent_t *a);
/* Tree index of leaf k; (size_t)-1 for a bad k. */
HR_API size_t hr_agent_leaf_node(const hr_agent_t *a, size_t k);

/* A reading of leaf k's power [W] at t_ns (the agent's clock; the sample's
 * time: a cached sample repeated by a frozen meter keeps its old time and
 * goes stale).  NAN, infinite, negative or above read_max_frac x the leaf's
 * highest cap is refused (HR_ERR_RANGE, counted in bad_readings: a meter
 * reporting garbage is treated as silent, so the leaf goes stale and the
 * lease system enters degraded mode).  A value above 0 W repeated bit for bit
 * for longer than stuck_ns (a stuck sensor with a fresh time) is refused too
 * (HR_ERR_RANGE, counted in stuck_readings) and the leaf is stale at once,
 * until a different value comes.  t_ns < 0 is refused (HR_ERR_RANGE, not
 * counted): sample-clock times are >= 0. */
HR_API int hr_agent_push_power(hr_agent_t *a, size_t leaf, double p_w, int64_t t_ns);

/* What leaf k's workload wants to draw [W] at t_ns, declared before it draws
 * it (a serving system's admission controller: its batch with every waiting
 * request admitted).  Lease policies take a fresh declaration (younger than
 * stale_ns) as the leaf's demand when it is above the measured one, so a
 * lease can grow for load that waits for it.  Returns HR_OK,
 * HR_ERR_INVALID_ARG, HR_ERR_RANGE (NaN, negative). */
HR_API int hr_agent_push_want(hr_agent_t *a, size_t leaf, double want_w, int64_t t_ns);

/* A meter record of node (tree index; the agent's node or one below it).
 * HR_REC_MS gives the node's power (p_total_w); HR_REC_HALF / HR_REC_CYCLE
 * give its phase currents, used for the thermal state.  Flagged records
 * (bad samples, no zero crossing) are ignored.  Other kinds are accepted and
 * ignored.  A record whose t_ns or dur_ns is negative, or whose end
 * t_ns + dur_ns is past INT64_MAX, is refused (HR_ERR_RANGE). */
HR_API int hr_agent_push_record(hr_agent_t *a, size_t node, const hr_record_t *rec);

/* 1: the agent reads every leaf's power from the actuator at each step
 * (telemetry path); 0 (default): readings are pushed. */
HR_API int hr_agent_set_read_actuator(hr_agent_t *a, int on);

/* One control step at the clock's time: observe, budgets, predictor, grid
 * monitor, and a decision when due.  info may be NULL.  Returns HR_OK,
 * HR_ERR_STATE (the clock went backwards), or the lease system's error. */
HR_API int hr_agent_step(hr_agent_t *a, hr_agent_step_info_t *info);

/* Pass-throughs to the agent's lease system, for events the agent cannot
 * see itself (a feed lost, a coordinator stopped) and for priorities. */
HR_API int hr_agent_set_priority(hr_agent_t *a, size_t leaf, int priority);
HR_API hr_lease_sys_t *hr_agent_lease_sys(hr_agent_t *a);

/* A supply limit on the agent's node, from an alarm the agent cannot measure
 * (a utility outage: the site on a generator): the sum of the caps is kept
 * at most limit_w and, from what the GPUs draw when the limit is set (each at
 * least its lowest cap), rises at most ramp_w_per_s and stays within one
 * second of ramp above the lowest draw of the last one to two seconds (the generator's load
 * acceptance), so the load can never step faster than the generator takes it.  Caps are cut
 * proportionally above their minimum; lease policies only (the baselines know nothing of it).
 * The sum is of the caps in force: a fall smaller than cfg.cap_eps_w is sent too when the
 * caps left unsent would hold the sum above the limit (at the limit itself, n GPUs could
 * otherwise sit up to n x cap_eps_w over it).  limit_w = INFINITY clears it.  An agent of a
 * root or of the whole tree also sets it as every such root's supply in the lease system
 * (hr_lease_sys_set_supply; the rating plus one token of the root's children's tier, so that
 * the grants' rounding to tokens leaves none of it unused and the envelope holds the rating
 * itself): the grants follow the rating by the lease rules, and a utility
 * loss told with it (hr_agent_set_events) is not degraded mode.  The loss stays degraded (the
 * lease system gets no supply, and one set before is cleared) where the lease system refuses
 * it (the root's floors above the rating: HR_ERR_RANGE, the envelope in force all the same),
 * and where the envelope cannot hold the supply's ramp with leases growing: readings that are
 * window means (cfg.tel_window_ns > 0, sampled telemetry), or decisions further apart than
 * its 1-s buckets (cfg.period_ns > 1 s).  At the outage's end tell the alarm's end
 * first (hr_agent_set_events), then clear the supply: the lease system learns both at once.
 * Returns HR_OK, HR_ERR_RANGE (above), HR_ERR_INVALID_ARG or HR_ERR_NOMEM. */
HR_API int hr_agent_set_supply(hr_agent_t *a, double limit_w, double ramp_w_per_s, int64_t t_ns);

/* Events the agent cannot see itself (HR_EVENT_* of lease.h: a utility
 * outage told by the transfer switch's alarm, HR_EVENT_UTILITY_LOSS), in
 * force until the next call (0 clears them).  Lease policies pass them to the
 * lease system at every step ORed with the agent's own (telemetry loss), so
 * neither overwrites the other; the mode follows at the next step.  Returns
 * HR_OK or HR_ERR_INVALID_ARG (an unknown bit, HR_EVENT_CLAMP included). */
HR_API int hr_agent_set_events(hr_agent_t *a, unsigned events);

/* The last cap sent to leaf k [W] (NAN before any). */
HR_API double hr_agent_cap_w(const hr_agent_t *a, size_t leaf);

/* The clock lock's maximum in force on leaf k [MHz] as the agent last set it (0: unlocked or
 * never locked; -1 for a bad argument). */
HR_API int hr_agent_clock_mhz(const hr_agent_t *a, size_t leaf);

HR_API int hr_agent_stats(const hr_agent_t *a, hr_agent_stats_t *out);

/* The actuator's message for the first refused smoothing profile (it names the GPU and the
 * reason), "" when none was refused; borrowed, valid until destroy. */
HR_API const char *hr_agent_smoothing_error(const hr_agent_t *a);

#ifdef __cplusplus
}
#endif
#endif
