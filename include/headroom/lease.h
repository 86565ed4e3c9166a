/* headroom: power budgets and leases.
 *
 * Budgets.  Every node of an electrical tree (tree.h) gets a budget from its
 * protective device, its rating and its feed state (hr_budget_t):
 *   cont_w   continuous limit: the NEC 80 % rule (NFPA 70 210.19/215.2: a
 *            standard breaker carries continuous load up to 80 % of its
 *            rating) unless the device is 100 %-rated;
 *   burst_w  the largest constant load the device carries for burst_window_s
 *            from its present thermal state without any element's state
 *            (hr_device_status_t.elem) passing burst_margin;
 *   inst_w   inst_margin x the lowest pickup of an element without an
 *            inverse-time delay (trip unit I or S, relay 50, a fuse's 10 ms
 *            melting current), the draft's "85 % of instantaneous";
 *   phase_w  the limit of each phase conductor: a third of the smallest of
 *            cont_w, burst_w and inst_w on a three-phase node;
 *   limit_w  what the lease layer may grant below the node: the smallest of
 *            the above, the file's budget_w and a root's grid max_p_w.
 * In 2N and N+N designs a dual-corded load counts in full against both of its
 * feeds: each feed must carry it alone if the other fails (CapMaestro, Flex;
 * docs/lease.md).
 *
 * Leases.  A lease is (p_w, expiry_ns, priority, floor_w), granted by the
 * coordinator of a node's parent(s).  The holder renews before half the lease
 * time is used; when a lease expires the holder falls back to floor_w by
 * itself (hr_lease_cap_w), with no message (or, below a stopped
 * coordinator with expiry_fallback, to min(its last grant, its static safe
 * share)).  A coordinator never grants more than its own budget minus the
 * unexpired grants (floors included) minus its reserve; no lease outlives
 * the lease of the coordinator that granted it, so an expiry anywhere takes
 * everything below it to its floors.  Increases are limited to ramp_w_per_s
 * and by the anti-oscillation rules; cuts apply at once and cascade down.
 *
 * Time is always passed in (int64 ns on any monotonic clock); the library
 * never reads a clock.  The library never prints.  A lease system is not
 * thread-safe: one thread (or one lock) per system.  Requests and rebalances
 * never allocate: every table is sized at hr_lease_sys_create. */
#ifndef HEADROOM_LEASE_H
#define HEADROOM_LEASE_H

#include <stddef.h>
#include <stdint.h>

#include "headroom/error.h"
#include "headroom/export.h"
#include "headroom/tree.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- budgets ------------------------------------------------------------ */

typedef struct hr_budget_cfg {
  double cont_frac;      /* continuous fraction of the rating for standard devices,
                            0 < x <= 1; default 0.80 (NEC 80 % rule) */
  int rated_100;         /* 1: every device is 100 %-rated (continuous = rating); default 0 */
  double burst_window_s; /* burst duration [s], 0 < x <= 3600; default 10 */
  double burst_margin;   /* largest element state a burst may reach, fraction of the
                            trip threshold, 0 < x < 1; default 0.85 (the draft's margin) */
  double inst_margin;    /* fraction of the instantaneous pickup, 0 < x <= 1; default 0.85 */
  double pf;             /* power factor used to turn amperes into watts, 0 < x <= 1; default 1 */
  double cont_window_s;  /* 0 (default): the continuous limit bounds the power at every
                            instant.  > 0, in a lease system: it bounds the node's mean power
                            (an exponential mean with this time constant, from
                            hr_lease_sys_observe) for a node with a protective device, and
                            above it the burst and instantaneous limits, which keep every
                            element below its margin, bound the bursts: the NEC's
                            continuous load is one lasting 3 hours or more.  0 <= x <= 86400 */
  double eff;            /* the efficiency of the supplies between a node with children and
                            the leaves' power, 0 < x <= 1; default 1: a node's limits are
                            what its conductors carry, its leaves draw that x eff (less the
                            overheads of hr_lease_sys_set_overhead); a leaf's own limits
                            are its own draw (docs/lease.md, "Supply losses and base load") */
  double eff_ramp;       /* the supplies' lowest marginal efficiency (output gained per watt
                            of input, over their load range), 0 < x <= 1, or 0 (default):
                            eff.  Only the control agent's ramp envelopes (and the grants'
                            under a grid ramp limit) read it: where the efficiency falls with
                            load a rise of the output costs more input than rise / eff
                            (docs/loop.md) */
  double base_per_w;     /* watts of base load that rise with each watt of the leaves' power
                            (CPUs and fans that follow the GPUs: a server's base at its
                            busiest less at idle, over its GPUs' highest power), >= 0;
                            default 0, at most 1e6.  Only the agent's ramp envelopes read it */
  double eff_marg_max;   /* the supplies' highest marginal efficiency (the most output a watt
                            of input buys, over their load range; above 1 where the
                            efficiency climbs steeply at light load), eff_ramp..2, or 0
                            (default): eff.  Only the agent's ramp envelopes read it, to turn
                            a site meter's trough into the leaves' watts (docs/loop.md) */
} hr_budget_cfg_t;

typedef struct hr_budget {
  double cont_w;  /* continuous limit [W]; INFINITY when unrated */
  double burst_w; /* burst allowance from the present thermal state [W]; INFINITY without device */
  double inst_w;  /* instantaneous ceiling [W]; INFINITY without such an element */
  double phase_w[3]; /* limit per phase conductor [W, line to neutral]: a third of the
                        smallest of cont_w, burst_w and inst_w on a three-phase node; that
                        smallest in slot 0 on a single-phase node (1 and 2 are INFINITY) */
  /* A node with children, at cfg eff < 1: every value above and below x eff
   * (its leaves' watts); in a lease system, less its overheads as well
   * (hr_lease_sys_set_overhead). */
  double limit_w; /* grantable budget [W]: min of the above, budget_w, grid max_p_w;
                     0 while the node's feed is lost, and in a lease system
                     (hr_lease_sys_budget) while its device or every parent's
                     path is tripped (the node is dead, see
                     hr_lease_sys_update_budgets) */
} hr_budget_t;

/* Writes the defaults above.  Returns HR_OK or HR_ERR_INVALID_ARG. */
HR_API int hr_budget_cfg_init(hr_budget_cfg_t *cfg);

/* Budget of one node with its device in the given state.  dev may be NULL
 * (cold device from node->device, or no device); rated_100 overrides
 * cfg->rated_100 when >= 0.  Returns HR_OK, HR_ERR_INVALID_ARG or HR_ERR_RANGE
 * (cfg out of range). */
HR_API int hr_budget_node(const hr_tree_node_t *node, const hr_device_t *dev,
                          const hr_budget_cfg_t *cfg, int rated_100, hr_budget_t *out);

/* Power [W] a node draws at line current i_a [A] (x pf); NAN for a node without voltage. */
HR_API double hr_budget_power_w(const hr_tree_node_t *node, double i_a, double pf);

/* The node's capacity in watts at power factor pf (0 < pf <= 1): its current
 * rating's volt-amperes x pf, at most its watt rating (rating_w: watts
 * already, a GPU's); capacity_w x pf when it has no watt rating, capacity_w
 * itself at pf 1; INFINITY unrated; NAN for NULL. */
HR_API double hr_budget_capacity_w(const hr_tree_node_t *node, double pf);

/* ---- leases --------------------------------------------------------------- */

/* Tiers of the draft, each a role with its own token size and lease time. */
typedef enum hr_tier {
  HR_TIER_GPU = 0,     /* leases held by GPUs (granted by servers) */
  HR_TIER_RACK = 1,    /* held by servers (granted by racks) */
  HR_TIER_CLUSTER = 2, /* held by racks, PDUs, branches, busways */
  HR_TIER_SITE = 3,    /* held by everything above */
  HR_TIER_COUNT = 4
} hr_tier_t;

typedef enum hr_policy {
  HR_POLICY_PRIORITY = 0,     /* strict priority classes; fair share inside a class */
  HR_POLICY_FAIR = 1,         /* max-min fair share of the budget over demands */
  HR_POLICY_THREE_BAND = 2,   /* Dynamo: cap above cap_frac, cut to target_frac, uncap
                                 below uncap_frac; lowest priority, high bucket first */
  HR_POLICY_TWO_THRESHOLD = 3 /* POLCA: above t1_frac cap low priority, above t2_frac
                                 cap all; uncap uncap_pct below the threshold */
} hr_policy_t;

typedef enum hr_mode {
  HR_MODE_NORMAL = 0,    /* hierarchical control */
  HR_MODE_DEGRADED = 1,  /* local only: no lease grows, budgets x degraded_frac */
  HR_MODE_PROTECTION = 2 /* every lease revoked, floors applied, operators notified */
} hr_mode_t;

/* Events that change the mode (bit set). */
enum {
  HR_EVENT_TELEMETRY_LOSS = 1, /* -> degraded */
  HR_EVENT_COORD_LOSS = 2,     /* -> degraded */
  HR_EVENT_UTILITY_LOSS = 4,   /* -> degraded (UPS/generator: no growth), unless every
                                  root's supply is known (hr_lease_sys_set_supply) */
  HR_EVENT_FEED_LOSS = 8,      /* -> protection-only */
  HR_EVENT_CLAMP = 16          /* the post-condition after a rebalance or request found a
                                  node whose children held more than it may give (in total,
                                  on a phase conductor, or past its lease's expiry) and cut
                                  them: a defect made visible, never a mode change */
};

typedef struct hr_tier_cfg {
  double token_w; /* grant quantum [W] > 0: GPU 100, rack 1e3, cluster 1e4, site 1e6 */
  int64_t ttl_ns; /* lease time [ns] > 0: GPU 50 ms, rack 200 ms, cluster 1 s, site 5 s */
} hr_tier_cfg_t;

/* Policy and anti-oscillation settings of one coordinator. */
typedef struct hr_coord_cfg {
  hr_policy_t policy;
  double reserve_frac;    /* failover reserve, fraction of the budget, 0..0.5; default 0 */
  double ramp_w_per_s;    /* largest increase of one grant per second [W/s] > 0; default INFINITY.
                             An increase at t is at most ramp_w_per_s x (t - the last change
                             of the holder's cap, drops by expiry, release and revocation
                             included, and the system's first time for a cap never
                             changed), and at most ramp_w_per_s x ramp_acc_ns at once
                             (one token when a token is larger) */
  int64_t ramp_acc_ns;    /* longest time a ramp allowance accumulates [ns] > 0; default 1 s */
  double hyst_w;          /* increases smaller than this are not granted [W] >= 0; default 0 */
  int64_t dwell_ns;       /* no increase sooner than this after a change [ns] >= 0; default 0 */
  int damp_changes;       /* more direction changes than this inside damp_window_ns
                             freezes increases for damp_hold_ns; default 3 (the draft) */
  int64_t damp_window_ns; /* default 1 s */
  int64_t damp_hold_ns;   /* default 1 s */
  double cap_frac, target_frac, uncap_frac; /* three-band, of the budget: 0.99/0.95/0.90 */
  double bucket_w;                          /* three-band bucket width [W] > 0; default 100 */
  double t1_frac, t2_frac, uncap_pct;       /* two-threshold: 0.80/0.90/0.05 */
  int prio_split;       /* two-threshold: priority below this is "low"; default 1 */
  double low_cap_frac;  /* two-threshold: low-priority cap, fraction of demand; 0.7 */
  double high_cap_frac; /* two-threshold: high-priority cap above t2; 0.85 */
} hr_coord_cfg_t;

/* Events reported to the operator callback. */
typedef void (*hr_lease_notify_fn)(void *user, hr_mode_t mode, unsigned events, int64_t t_ns);

/* What a holder falls to when its lease expires (hr_lease_cfg_t.expiry_fallback). */
typedef enum hr_expiry_fallback {
  HR_EXPIRY_FLOOR = 0,     /* its floor (floor_w) */
  HR_EXPIRY_SAFE_SHARE = 1 /* below a stopped coordinator: min(its last grant, its static
                              safe share), never below its floor (hr_lease_sys_safe_share) */
} hr_expiry_fallback_t;

typedef struct hr_lease_cfg {
  hr_budget_cfg_t budget;
  hr_tier_cfg_t tier[HR_TIER_COUNT];
  hr_coord_cfg_t coord;      /* default for every coordinator (hr_lease_sys_set_coord overrides) */
  double gpu_floor_frac;     /* a GPU's floor cap, fraction of its rating (or of 700 W
                                when unrated), 0..1; default 0.3 */
  double degraded_frac;      /* budget factor in degraded mode, 0 < x <= 1; default 0.9 */
  int64_t stable_ns;         /* events must be clear this long before the mode improves; 10 s */
  int feed_loss_budgets;     /* 1: a lost feed only kills its side's budgets (the survivors'
                                budgets, which count every dual-corded load in full, govern);
                                0 (default): it also enters protection mode (every lease
                                revoked while the feed is lost) */
  int expiry_fallback;       /* hr_expiry_fallback_t.  HR_EXPIRY_FLOOR (default): an expired
                                lease falls to its floor.  HR_EXPIRY_SAFE_SHARE: a lease held
                                by a node that is, or lies below, a stopped coordinator falls
                                to min(p_w, its static safe share), at least its floor, and
                                then holds that value without expiry (expiry_ns INT64_MAX)
                                until a running coordinator grants it again: losing a
                                coordinator costs its subtree no more than what the
                                continuous ratings allow (docs/lease.md) */
  hr_lease_notify_fn notify; /* called on every mode change; may be NULL */
  void *notify_user;         /* passed to notify; borrowed */
} hr_lease_cfg_t;

typedef struct hr_lease {
  double p_w;              /* granted cap [W] (>= floor_w) */
  int64_t expiry_ns;       /* the grant holds while t < expiry_ns */
  int priority;            /* holder's class, higher = more important */
  double floor_w;          /* cap the holder falls back to [W] */
  int64_t granted_ns;      /* when granted; renew at granted_ns + (expiry - granted) / 2 */
  double phase_w[3];       /* a three-phase holder with children: the most its subtree may draw
                              on each of its conductors A, B, C before expiry [W, line to
                              neutral: a line-to-line load of P counts P / sqrt 3 on each of
                              its two lines]; the holder splits its grant within these as well
                              as within p_w.  INFINITY for every other holder, whose whole p_w
                              sits on the conductors it is connected to */
  double floor_phase_w[3]; /* the same after expiry: its floors per conductor */
  double fall_w;           /* what it falls to at expiry when that is more than its floor
                              (hr_lease_cfg_t.expiry_fallback: min(p_w, its safe share) for a
                              holder below a stopped coordinator), else 0 or floor_w */
  double fall_phase_w[3];  /* the same per conductor (0 or floor_phase_w when none) */
} hr_lease_t;

/* Cap [W] a holder applies at t_ns: p_w before expiry, after it
 * max(floor_w, fall_w) (the floor unless the expiry fallback applies). */
HR_API double hr_lease_cap_w(const hr_lease_t *lease, int64_t t_ns);

/* Per-conductor caps [W] of a holder at t_ns into out[3]: phase_w before
 * expiry, max(floor_phase_w, fall_phase_w) after.  HR_OK or HR_ERR_INVALID_ARG. */
HR_API int hr_lease_phase_cap_w(const hr_lease_t *lease, int64_t t_ns, double out[3]);

/* 1 when a holder should renew (half the lease time used, or expired). */
HR_API int hr_lease_due(const hr_lease_t *lease, int64_t t_ns);

/* Writes the defaults above.  Returns HR_OK or HR_ERR_INVALID_ARG. */
HR_API int hr_lease_cfg_init(hr_lease_cfg_t *cfg);

/* Tier of the lease a node of this kind holds. */
HR_API hr_tier_t hr_lease_tier_of(hr_node_kind_t kind);

typedef struct hr_lease_sys hr_lease_sys_t;

/* Builds the coordinators of every node of tree (borrowed: it must outlive the
 * system).  Floors: a GPU's is gpu_floor_frac of its rating, a node's the sum of
 * its children's.  Every lease starts at its floor, expired.  Returns HR_OK,
 * HR_ERR_NOMEM, HR_ERR_INVALID_ARG, HR_ERR_UNSUPPORTED or HR_ERR_RANGE (cfg
 * out of range, or floors that do not fit a node's limit).  diag (may be
 * NULL) is cleared, and on failure names the cfg member ("gpu_floor_frac",
 * "tier[2]") or the node, as the tree loader does ("nodes[pdu-1]"), in field,
 * and in message which floor does not fit which limit. */
HR_API int hr_lease_sys_create(const hr_tree_t *tree, const hr_lease_cfg_t *cfg,
                               hr_lease_sys_t **out, hr_diag_t *diag);
HR_API void hr_lease_sys_destroy(hr_lease_sys_t *sys);

/* Overrides one node's coordinator settings (copied), rated_100 flag, floor
 * [W] (leaves only, finite, >= 0) or priority (any int).  A new rating or
 * floor takes effect at t_ns: grants that no longer fit are cut at once
 * (a raised floor is never refused while the floors fit every limit; it cuts
 * the holder's siblings instead).  HR_ERR_INVALID_ARG / HR_ERR_RANGE (floors
 * that would not fit a node's limit: nothing changed). */
HR_API int hr_lease_sys_set_coord(hr_lease_sys_t *sys, size_t node, const hr_coord_cfg_t *cfg);
HR_API int hr_lease_sys_set_rated_100(hr_lease_sys_t *sys, size_t node, int on, int64_t t_ns);
/* hr_lease_sys_set_rated_100 for count nodes (tree indices) at once: every
 * flag is set, then the budgets are recomputed and applied once, where a
 * call per node recomputes them all each time (O(n^2) for every leaf).  The
 * same result as a call per node in turn when none of those calls would cut
 * a grant (a rating that only raises limits, as at set-up); otherwise the
 * grants over the new limits are cut once, against the final budgets.
 * HR_ERR_INVALID_ARG (a node out of range: nothing changed), HR_ERR_RANGE
 * (floors that would not fit: every flag put back), HR_ERR_NOMEM. */
HR_API int hr_lease_sys_set_rated_100_many(hr_lease_sys_t *sys, const size_t *nodes, size_t count,
                                           int on, int64_t t_ns);
HR_API int hr_lease_sys_set_floor(hr_lease_sys_t *sys, size_t node, double floor_w, int64_t t_ns);

/* Overheads (docs/lease.md, "Supply losses and base load"): a node with
 * children may draw power of its own that no cap controls (a server's CPUs,
 * memory, fans and network: its base load).  base_w[j] [W, finite, >= 0]
 * becomes tree node nodes[j]'s own overhead, counted as its leaves' power is
 * (before the supplies' losses, cfg.budget.eff).  Every node's limits, in
 * total and per conductor, are then its conductors' x eff less the
 * overheads at and below it: a dual-corded node's in full on each side (as
 * its loads are counted), a node's own on its own conductors (a third on
 * each of a three-phase node's).  nodes and base_w: count entries each,
 * borrowed for the call.  Takes effect at t_ns as a budget update does
 * (grants that no longer fit are cut at once).  HR_ERR_INVALID_ARG (a node
 * out of range or without children, a bad value), HR_ERR_RANGE (the floors
 * would not fit some limit), HR_ERR_NOMEM: nothing changed on any error. */
HR_API int hr_lease_sys_set_overhead(hr_lease_sys_t *sys, const size_t *nodes, const double *base_w,
                                     size_t count, int64_t t_ns);
/* The overhead at and below tree node node [W] (what its limits were
 * lowered by); 0 without any, NAN for bad arguments. */
HR_API double hr_lease_sys_overhead_w(const hr_lease_sys_t *sys, size_t node);
HR_API int hr_lease_sys_set_priority(hr_lease_sys_t *sys, size_t node, int priority);

/* A supply in place of a root's utility feed: a generator after a utility
 * loss, told by the transfer switch's alarm.  limit_w [W] is its rating at
 * the root's input (> 0; INFINITY clears it).  The root's budget is held to
 * it as to a grid max_p_w: in total (a generator is rated in kW; the
 * conductors keep their device's limits), x cfg.budget.eff for a node with
 * children, less the overheads.  While every root holds one,
 * HR_EVENT_UTILITY_LOSS leaves the mode as the other events set it: the
 * ratings bound the grants, so leases may grow within them (the supply's
 * rate of rise is the caller's to hold: hr_agent_set_supply); without one
 * the loss means degraded mode (orchestration.md §3.5).  Takes effect at
 * t_ns as a budget update does (grants above it are cut at once), and the
 * mode follows at once (a supply cleared while the utility is lost:
 * degraded now).  HR_ERR_INVALID_ARG (a node out of range or not a root,
 * limit_w NaN or <= 0), HR_ERR_RANGE (the root's floors would not fit
 * under it, x eff less the overheads, whatever the mode and whether the
 * root is dead: nothing changed, a supply set before included, so the
 * caller clears that one to put the loss back in degraded mode),
 * HR_ERR_NOMEM. */
HR_API int hr_lease_sys_set_supply(hr_lease_sys_t *sys, size_t node, double limit_w, int64_t t_ns);
/* Root node's supply rating [W] as set (INFINITY: none); NAN for bad arguments. */
HR_API double hr_lease_sys_supply_w(const hr_lease_sys_t *sys, size_t node);

/* Steps node's protective device by dt_s [s] at line current i_a [A] (the
 * measured load), so burst budgets follow the thermal state.  No-op for a node
 * without device.  HR_ERR_INVALID_ARG for bad values. */
HR_API int hr_lease_sys_observe(hr_lease_sys_t *sys, size_t node, double i_a, double dt_s);

/* State of node's protective device (a copy).  HR_ERR_NOT_FOUND for a node
 * without device, HR_ERR_INVALID_ARG for bad arguments. */
HR_API int hr_lease_sys_device_status(const hr_lease_sys_t *sys, size_t node,
                                      hr_device_status_t *out);

/* Recloses node's tripped device (an operator's act; the thermal memory is
 * kept) and recomputes the budgets at t_ns: what the trip cut off is alive
 * again, its holders at their floors, and the next rebalances grant it
 * power again.  HR_ERR_NOT_FOUND without device. */
HR_API int hr_lease_sys_reclose(hr_lease_sys_t *sys, size_t node, int64_t t_ns);

/* Recomputes every node's budget from its device state and the feed state,
 * and cuts at once any grant that no longer fits.  A tripped device carries
 * nothing, like a lost feed: its node and every node fed only through it
 * (a dual-corded node lives while either side does) are dead until
 * hr_lease_sys_reclose: limit 0, their floors not owed (nothing clamps),
 * their leases revoked here (ended now; cap 0), requests refused with
 * HR_ERR_STATE.  The rest of the tree keeps its mode.  A trip observed with
 * hr_lease_sys_observe takes effect at the next budget update. */
HR_API int hr_lease_sys_update_budgets(hr_lease_sys_t *sys, int64_t t_ns);

/* Budget of a node (borrowed, valid until the next update). NULL for a bad node. */
HR_API const hr_budget_t *hr_lease_sys_budget(const hr_lease_sys_t *sys, size_t node);

/* The lease node holds; NULL for a bad node.  A root holds no lease.  The
 * system keeps a lease's fields in separate arrays (so that a rebalance can
 * settle GPUs with vector instructions); the pointer is to a copy owned by
 * the system, one per node, filled by this call: it stays valid until
 * hr_lease_sys_destroy, but shows the lease as of the last call for that
 * node, so call again after a request, release or rebalance. */
HR_API const hr_lease_t *hr_lease_sys_lease(const hr_lease_sys_t *sys, size_t node);

/* Cap [W] node applies at t_ns (its lease or floor; a root: its budget). */
HR_API double hr_lease_sys_cap_w(const hr_lease_sys_t *sys, size_t node, int64_t t_ns);

/* hr_lease_sys_cap_w of n nodes at once: out_w[j] is the cap of tree node
 * nodes[j] at t_ns (one call instead of one per node: the control agent
 * reads every leaf's cap at each decision).  HR_ERR_INVALID_ARG when sys,
 * nodes or out_w is NULL (n > 0) or a node is out of range; out_w[j] of a
 * node out of range is NAN, as hr_lease_sys_cap_w gives, the others are
 * set. */
HR_API int hr_lease_sys_cap_w_many(const hr_lease_sys_t *sys, const int32_t *nodes, size_t n,
                                   int64_t t_ns, double *out_w);

/* Budget [W] node's coordinator may hand out at t_ns: its own cap, x
 * degraded_frac in degraded mode, bounded by its limit. */
HR_API double hr_lease_sys_avail_w(const hr_lease_sys_t *sys, size_t node, int64_t t_ns);

/* The request-to-grant path: node asks its parent coordinator(s) for want_w
 * [W] at t_ns.  The grant is the most that fits (floors never refused), rounded
 * down to the tier's token.  *out (may be NULL) receives the new lease.
 * HR_ERR_STATE when a coordinator of node is stopped (the holder keeps its old
 * lease, which expires by itself); HR_ERR_INVALID_ARG for a root or bad args. */
HR_API int hr_lease_sys_request(hr_lease_sys_t *sys, size_t node, double want_w, int64_t t_ns,
                                hr_lease_t *out);

/* Gives a lease back: the holder drops to its floor at once, or, when a
 * stopped coordinator below it committed more, to those commitments until
 * its lease expires (they cannot be revoked; docs/lease.md). */
HR_API int hr_lease_sys_release(hr_lease_sys_t *sys, size_t node, int64_t t_ns);

/* Full rebalance: demand_w[k] [W] is what leaf k wants (read for nodes without
 * children only; an array of hr_tree_count entries, borrowed).  A demand is
 * clamped to what the leaf can draw: at least 0 (NAN counts as 0), at most
 * its own limit and its parents' (an unrated device draws no more than what
 * feeds it).  Aggregates demand bottom-up (in total and per phase
 * conductor), then every running coordinator splits its budget among its
 * children with its policy and grants fresh leases; a node with a stopped
 * parent is not re-granted (its lease can only be cut).  A post-condition
 * then checks every running coordinator's children against what it may
 * give (HR_EVENT_CLAMP).  Never allocates; every loop is bounded by the
 * tree's size, whatever the numbers. */
HR_API int hr_lease_sys_rebalance(hr_lease_sys_t *sys, const double *demand_w, int64_t t_ns);

/* Stops or restarts node's coordinator at t_ns (simulates losing that
 * process): a stopped coordinator answers nothing, grants nothing, passes no
 * cut down and is not re-granted itself; what its children hold stays
 * committed until it expires, and its parents count it.  While any
 * coordinator is stopped the system holds HR_EVENT_COORD_LOSS (degraded
 * mode, which ends stable_ns after the last one restarts). */
HR_API int hr_lease_sys_set_running(hr_lease_sys_t *sys, size_t node, int running, int64_t t_ns);

/* The static safe share of node (tree index), computed from the tree's
 * continuous ratings alone, top down: a root's is its continuous limit (its
 * grid max_p_w if lower) less its reserve; a coordinator gives each child
 * its floor plus a part of the rest (its safe share less its reserve less
 * the children's floors) in proportion to the child's continuous rating (an
 * unrated node: the sum of its children's; an unrated leaf: 0), one factor
 * for all the children, the largest that fits the total and every conductor
 * of a three-phase parent; then each child is capped by its own continuous
 * limit (a third on each conductor of a three-phase node) and, dual-corded,
 * takes the smaller of its two parents' shares.  So the children's safe
 * shares sum to at most their parent's, in total and on every conductor,
 * except where their floors alone exceed it.  *total_w gets the total;
 * phase_w (may be NULL) the per-conductor shares of a three-phase node with
 * children (INFINITY for every other node).  Computed whatever
 * expiry_fallback says.  HR_OK or HR_ERR_INVALID_ARG. */
HR_API int hr_lease_sys_safe_share(const hr_lease_sys_t *sys, size_t node, double *total_w,
                                   double phase_w[3]);

/* 1 when node's coordinator runs, 0 when stopped, -1 for bad arguments. */
HR_API int hr_lease_sys_running(const hr_lease_sys_t *sys, size_t node);

/* Anti-oscillation and ramp state of the lease node holds, for checkers. */
typedef struct hr_lease_osc {
  int64_t last_change_ns; /* last change of the granted p_w (INT64_MIN: never) */
  int64_t ramp_from_ns;   /* the time an increase may count from: the last change of the
                             cap, a drop by expiry, release or revocation included; for a
                             lease above its floor still running, its expiry (when it will
                             drop if nothing changes first).  INT64_MIN: before the
                             system's first time */
  int64_t damp_window_ns; /* start of the damper's window */
  int64_t hold_until_ns;  /* increases refused before this (damper) */
  int last_dir;           /* direction of the last change: -1, 0, 1 */
  int n_changes;          /* direction changes counted in the window */
} hr_lease_osc_t;
HR_API int hr_lease_sys_osc(const hr_lease_sys_t *sys, size_t node, hr_lease_osc_t *out);

/* Counters of a system's life. */
typedef struct hr_lease_stats {
  uint64_t rebalances; /* hr_lease_sys_rebalance calls that ran */
  uint64_t requests;   /* hr_lease_sys_request calls that granted */
  uint64_t clamps;     /* post-condition cuts (HR_EVENT_CLAMP); 0 when the code is right */
  double clamp_max_w;  /* largest excess found [W] */
  size_t clamp_node;   /* tree index of the node of the last clamp */
  int64_t clamp_ns;    /* time of the last clamp (INT64_MIN: none) */
} hr_lease_stats_t;
HR_API int hr_lease_sys_stats(const hr_lease_sys_t *sys, hr_lease_stats_t *out);

/* Mode control.  events is the set of HR_EVENT_* now present.  The mode worsens
 * at once (protection: every lease revoked); it improves one step only after
 * events have been clear (or milder) for stable_ns. */
HR_API int hr_lease_sys_set_events(hr_lease_sys_t *sys, unsigned events, int64_t t_ns);
HR_API hr_mode_t hr_lease_sys_mode(const hr_lease_sys_t *sys);
/* The events the mode follows: the caller's (hr_lease_sys_set_events) and the
 * system's own (HR_EVENT_COORD_LOSS while a coordinator is stopped,
 * HR_EVENT_FEED_LOSS while a feed is lost). */
HR_API unsigned hr_lease_sys_events(const hr_lease_sys_t *sys);
/* Lost feeds (HR_FEED_A / HR_FEED_B bits): their nodes' limits drop to 0 and
 * dual-corded loads are granted from the surviving feed only. */
HR_API int hr_lease_sys_set_feed_lost(hr_lease_sys_t *sys, unsigned feeds, int64_t t_ns);

/* Static name ("normal", "degraded", "protection"). */
HR_API const char *hr_lease_mode_name(hr_mode_t mode);

/* ---- transport -------------------------------------------------------------- */

/* How a holder reaches its coordinators.  The in-process transport calls the
 * system directly; a NATS transport (later) carries the same calls. */
typedef struct hr_lease_transport {
  void *ctx; /* borrowed */
  int (*request)(void *ctx, size_t node, double want_w, int64_t t_ns, hr_lease_t *out);
  int (*release)(void *ctx, size_t node, int64_t t_ns);
} hr_lease_transport_t;

/* Fills *tp with the in-process transport over sys (borrowed). */
HR_API int hr_lease_transport_inproc(hr_lease_sys_t *sys, hr_lease_transport_t *tp);

/* ---- timing check ------------------------------------------------------------ */

typedef struct hr_check_cfg {
  double detect_s;  /* detection latency [s] >= 0; default 0.005 */
  double rack_s;    /* rack coordination [s]; default 0.020 */
  double cluster_s; /* cluster coordination [s]; default 0.025 */
  double actuate_s; /* GPU throttle [s]; default 0.020 */
  double rule;      /* the loop must finish within rule x time to trip, 0 < x <= 1; 0.70 */
} hr_check_cfg_t;

typedef struct hr_check_row {
  double multiple;      /* overload level, multiple of the rated current */
  double i_a;           /* current [A] */
  double t_trip_s;      /* time to trip from cold [s]; INFINITY: never */
  hr_element_t element; /* element that trips first (HR_ELEM_NONE when none) */
  double loop_s;        /* loop latency [s] */
  double margin_s;      /* rule x t_trip - loop [s]; INFINITY when it never trips */
  int in_time;          /* 1 when margin_s >= 0 */
} hr_check_row_t;

HR_API int hr_check_cfg_init(hr_check_cfg_t *cfg);

/* Time to trip and margin for a device cfg (borrowed) at multiple x rated_a.
 * rated_a and multiple: finite, > 0; their product must be finite as well.
 * Returns HR_OK (then t_trip_s and margin_s are never NaN),
 * HR_ERR_INVALID_ARG (NULL, or rated_a or multiple not finite and > 0) or
 * HR_ERR_RANGE (cfg's latencies or rule out of range, multiple x rated_a
 * beyond a double, or a current the device model has no time to trip for);
 * *out is written only on HR_OK. */
HR_API int hr_check_device(const hr_device_cfg_t *dev, double rated_a, double multiple,
                           const hr_check_cfg_t *cfg, hr_check_row_t *out);

#ifdef __cplusplus
}
#endif
#endif
