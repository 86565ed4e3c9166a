/* headroom: the closed-loop cluster simulator (fast path).
 *
 * A scenario (YAML, docs/sim.md) names a tree file, how many of its GPU slots
 * are populated, the GPUs' behaviour, the workloads on them and events
 * (a feed lost, telemetry lost, a coordinator stopped).  The simulator steps
 * at a fixed step (1 ms by default):
 *   workloads -> each GPU's demand;
 *   GPU model -> power = demand within the enforced cap, the cap taking effect
 *                after an actuation delay, power moving at a slew rate;
 *                throughput under a cap from a power-law model;
 *   electricity -> power per phase conductor at every node of the tree from
 *                its wiring, every protective device stepped with its phase
 *                currents (hr_device_step_ex), trips recorded and the
 *                subtree below a tripped device unpowered; the site's power
 *                through the grid monitor (ramp and oscillation limits);
 *   the control agent (loop.h), unchanged, on a simulated clock, reading the
 *                GPUs through the actuator interface and setting their caps.
 * With sc.waveforms (the waveform path), each metered node's voltages and
 * currents are synthesised at wave_fs_hz from its per-phase power, measured
 * by the real meter engine (pq.h), and the records fed to the agent
 * (hr_agent_push_record); the fast path skips the waveforms.  Nothing is
 * allocated per step. */
#ifndef HEADROOM_SIM_H
#define HEADROOM_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "headroom/error.h"
#include "headroom/export.h"
#include "headroom/loop.h"
#include "headroom/tree.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hr_work_kind {
  HR_WORK_TRAINING = 1, /* synchronous training: iterations of compute then communication */
  HR_WORK_BATCH = 2,    /* constant demand, throughput per GPU */
  HR_WORK_INFERENCE = 3 /* LLM serving: replicas of gpus_per_replica GPUs (docs/sim.md) */
} hr_work_kind_t;

typedef struct hr_workload {
  hr_work_kind_t kind;
  int gpu_first, gpu_end; /* populated GPU slots [first, end) */
  int priority;
  /* training */
  double period_s;                     /* iteration period uncapped [s] > 0 */
  double compute_frac;                 /* compute part of the iteration, 0 < x < 1 */
  double compute_w, comm_w;            /* GPU demand in each phase [W] */
  double start_s, stop_s;              /* the job runs in [start, stop); stop 0: to the end */
  double ramp_s;                       /* start and stop ramp [s] >= 0 */
  double ckpt_every_s, ckpt_s, ckpt_w; /* checkpoint pauses; every 0: none */
  double restart_at_s[16];             /* synchronized restarts: every GPU of the job at idle for
                                          restart_s, then back at once (no ramp) */
  int n_restarts;                      /* 0..16 */
  double restart_s;
  /* batch */
  double power_w;
  /* inference: requests from the planner's generator (Poisson at rate_per_s, or diurnal
   * between min_rate_per_s and max_rate_per_s with period diurnal_period_s, peak at
   * peak_t_s, when max_rate_per_s > 0), per replica; lengths near the Azure conversation
   * trace; served with continuous batching (at most max_num_seqs sequences) */
  int gpus_per_replica; /* default 4 (the power model's Llama-3.1-70B on 4 x H100) */
  int max_num_seqs;     /* default 256 */
  double rate_per_s, min_rate_per_s, max_rate_per_s, diurnal_period_s, peak_t_s;
  uint64_t seed; /* default 1 */
} hr_workload_t;

typedef enum hr_sim_event_kind {
  HR_SIM_FEED_LOSS = 1,      /* feed (A or B) lost from at_s for duration_s (0: to the end) */
  HR_SIM_TELEMETRY_LOSS = 2, /* the agent gets no readings for duration_s */
  HR_SIM_COORD_CRASH = 3,    /* node's coordinator stopped for duration_s */
  HR_SIM_METER_FREEZE = 4,   /* the GPUs below node (every GPU without node): their telemetry
                                repeats its last sample (value and timestamp) for duration_s;
                                on the waveform path the meters at or below node deliver no
                                records (the meter events: docs/sim.md, "Fault events") */
  HR_SIM_METER_GARBAGE = 5,  /* the GPUs below node (or every GPU): readings are garbage (NaN,
                                infinite, negative, absurdly high, in turn) for duration_s;
                                so are the meters' 1-ms powers and phase currents */
  HR_SIM_UTILITY_OUTAGE = 6, /* the site runs on a generator of gen_kw [kW] that takes load at
                                most ramp_kw_per_s for duration_s */
  HR_SIM_METER_STUCK = 7     /* the GPUs below node (or every GPU): their telemetry repeats the
                                value it had when the event began, with the current time (a
                                stuck sensor or driver), for duration_s */
} hr_sim_event_kind_t;

typedef struct hr_sim_event {
  hr_sim_event_kind_t kind;
  double at_s, duration_s;
  unsigned feed;        /* HR_FEED_A or HR_FEED_B */
  char node[64];        /* coordinator crash: node id; meter events: the subtree ("": all) */
  double gen_kw;        /* utility outage: the generator's rating [kW] > 0 */
  double ramp_kw_per_s; /* utility outage: its load-acceptance ramp [kW/s] > 0 */
  double overload_s;    /* utility outage: the generator trips after this long above its
                           rating [s] > 0; default 5 [M] */
} hr_sim_event_t;

typedef struct hr_sim_gpu_cfg {
  double idle_w;        /* default 70 (hr_simgpu default) */
  double cap_min_w;     /* default 200 (H100 SXM NVML constraint, DGX user guide) */
  double cap_max_w;     /* default 700 (H100 SXM TDP) */
  double delay_ms;      /* actuation delay, default 5 (hr_simgpu default; unmeasured) */
  double slew_w_per_ms; /* default 80 (hr_simgpu default; unmeasured) */
  double gamma;         /* throughput = ((cap - idle)/(demand - idle))^gamma below the
                           demand; default 1/3 (CMOS dynamic power ~ f V^2 with V ~ f) */
  /* The GPU under a clock lock (hr_actuator_lock_clocks; docs/sim.md, "Clock locks"): at
   * a locked maximum clock r x clock_max_mhz its power above idle is the unlocked power's
   * above idle x r^clock_power_exp, an inference iteration's prefill part takes 1 / r as
   * long (compute bound) and its decode part r^-clock_decode_exp as long (memory bound);
   * a training or batch GPU runs as if capped at its locked power.  The power cap still
   * applies on top. */
  double clock_max_mhz;    /* highest graphics clock, default 1980 (H100 SXM) [M] */
  double clock_power_exp;  /* default 1 / 0.647 = 1.546: Splitwise's capped prefill, as a
                              clock (sim_infer.c) */
  double clock_decode_exp; /* default 0.1 [M]: decode barely slows */
  /* The GPUs' power telemetry (docs/sim.md, "Telemetry"): a sample every
   * telemetry_period_ms, the mean power over the telemetry_window_ms before
   * it, read with that sample's time until the next (an H100's sensor: 25-ms
   * windows every 100 ms, orchestration.md 1.6 [M]).  Both whole steps,
   * window <= period; period 0 (default): every step, the step's power. */
  double telemetry_period_ms; /* 0 or 1 step .. 60000 */
  double telemetry_window_ms; /* 1 step .. period; 0 (default): the whole period */
  /* 1: each GPU samples at its own phase of the period (whole steps, drawn from the
   * scenario's telemetry_seed), as unsynchronized real GPUs do; 0 (default): every GPU at
   * the multiples of the period.  Needs telemetry_period_ms. */
  int telemetry_async;
} hr_sim_gpu_cfg_t;

/* The servers' power supplies (docs/sim.md, "Power factor"): what the tree's
 * conductors carry for the power the GPUs draw.  A supply is a node that
 * feeds GPU leaves (a server); its displacement power factor follows its
 * load as a fraction of its populated GPUs' highest draw (n x cap_max_w),
 * linearly between the points of a curve and held beyond its ends, lagging
 * (the reactive power of every supply adds up the tree as phasors: Q = P
 * tan(acos PF)).  No curve: PF 1, the conductors carry the GPUs' watts. */
#define HR_SIM_PF_POINTS_MAX 32
typedef struct hr_sim_supply_cfg {
  int n_pf;                             /* points of the curve, 0..HR_SIM_PF_POINTS_MAX */
  double pf_load[HR_SIM_PF_POINTS_MAX]; /* load fraction, 0..10, strictly increasing */
  double pf[HR_SIM_PF_POINTS_MAX];      /* displacement power factor there, 0.1..1 */
  double budget_pf; /* the power factor every policy's lease budgets assume (lease.h,
                       hr_budget_cfg_t.pf: amperes to watts, and the agent's current from
                       a power): 0.1..1; 0 (default): the curve's lowest, 1 without one */
  /* Losses and base load (docs/sim.md, "Base load and supply losses"): a
   * populated supply draws base_w of its own (CPUs, memory, fans, network;
   * constant while it is powered [M]) besides its GPUs, and its input is
   * that output / efficiency, the efficiency linear in the load fraction
   * (output / (base_w + n x cap_max_w); the power factor's load fraction
   * too when base_w > 0) between the points of a curve, held beyond its
   * ends.  No curve: efficiency 1. */
  double base_w;                         /* >= 0, default 0 */
  int n_eff;                             /* points of the curve, 0..HR_SIM_PF_POINTS_MAX */
  double eff_load[HR_SIM_PF_POINTS_MAX]; /* load fraction, 0..10, strictly increasing */
  double eff[HR_SIM_PF_POINTS_MAX];      /* efficiency there, 0.5..1 */
  double budget_eff;    /* the efficiency every policy's budgets assume (hr_budget_cfg_t.eff):
                           0.5..1; 0 (default): the curve's lowest, 1 without one */
  double budget_base_w; /* the base load every policy is told (hr_lease_sys_set_overhead);
                           >= 0; negative (hr_scenario_init's -1): the most it draws,
                           base_w + base_busy_w.  A zeroed struct tells 0: set it with
                           base_w, or start from hr_scenario_init */
  /* A base that moves with the work: base_busy_w more at the supply's GPUs' full load, in
   * proportion to their load fraction u = their power / (n x cap_max_w), through a first-order
   * lag of base_tau_s (CPUs follow the work at once, fans the GPUs' heat over tens of
   * seconds [M]); it starts at the first step's u.  The supply's load fraction for the
   * curves is then output / (base_w + base_busy_w + n x cap_max_w). */
  double base_busy_w; /* >= 0 [W], default 0 (a constant base) */
  double base_tau_s;  /* >= 0 [s], default 0 (no lag) */
  /* The server's power supplies, sharing its load equally (N+1, N+N): psus of psu_w each,
   * a dual-corded server's split evenly over its two cords (psus even), so each supply's
   * load fraction, where the curves are read, is output / (psus x psu_w) while every cord
   * is up and output / (psus / 2 x psu_w) on one cord.  psus 0 (default): one supply per
   * cord sized for the whole server, base_w + base_busy_w + n x cap_max_w. */
  int psus;               /* 0..64 */
  double psu_w;           /* > 0 [W] with psus > 0 */
  double budget_eff_ramp; /* the marginal efficiency the policies' ramp envelopes are told
                             (hr_budget_cfg_t.eff_ramp): 0.1..1; 0 (default): the curve's
                             lowest d(output)/d(input), eff^2 / (eff - x eff'(x)) (below its
                             lowest efficiency where it falls with load; below 0.1 for a
                             near-vertical fall, where the ramp envelopes barely rise), the
                             told budget_eff without a curve */
} hr_sim_supply_cfg_t;

/* Which leaf slots `gpus: N` populates. */
typedef enum hr_populate {
  HR_POP_TREE = 0,  /* the first N leaves in tree order (rack by rack) */
  HR_POP_SPREAD = 1 /* round robin over the tree: the first server of every rack, then
                       the second of every rack, ... (every level interleaved; a
                       leaf's siblings stay together), as an operator adds servers
                       evenly; the capacity search's order */
} hr_populate_t;

typedef struct hr_scenario {
  char name[64];
  char tree_path[1024];   /* resolved against the scenario file's folder */
  double duration_s;      /* > 0 */
  double step_ms;         /* 0.1 .. 100; default 1 */
  int gpus;               /* populated GPU slots (the first ones in `populate` order); -1: all */
  hr_populate_t populate; /* default HR_POP_TREE */
  hr_sim_gpu_cfg_t gpu;
  hr_sim_supply_cfg_t supply; /* default: PF 1 */
  hr_workload_t *work;        /* owned */
  size_t n_work;
  hr_sim_event_t *events; /* owned */
  size_t n_events;
  double sample_s;         /* time-series output step [s]; default 0.1 */
  uint64_t telemetry_seed; /* the GPUs' telemetry dither (docs/sim.md, "Telemetry"); default 1 */
  /* The waveform path (docs/sim.md): metered nodes' waveforms synthesised
   * and measured by the meter engine, its records fed to the agent. */
  int waveforms;       /* 1: waveform path; 0 (default): fast path */
  double line_hz;      /* 50 (default) or 60 */
  double wave_fs_hz;   /* meters' sample rate [Hz], whole, 2000..50000; default 8000 */
  char (*metered)[64]; /* owned: node ids, or node kinds ("server": every server) */
  size_t n_metered;
  /* The contingencies the capacity search must survive (docs/sim.md,
   * "Capacity search"): each one event, injected alone into the scenario's
   * own events at the same GPU count; the simulator itself ignores them. */
  hr_sim_event_t *contingencies; /* owned */
  size_t n_contingencies;
} hr_scenario_t;

/* Defaults for every field (no workloads, no events). */
HR_API void hr_scenario_init(hr_scenario_t *sc);

/* Reads a scenario file.  Errors name the file, line, column and field
 * (hr_diag_t, as the tree loader fills it).  Returns HR_OK,
 * HR_ERR_IO, HR_ERR_PARSE, HR_ERR_RANGE, HR_ERR_NOMEM.  Free with
 * hr_scenario_free. */
HR_API int hr_scenario_load_file(const char *path, hr_scenario_t *sc, hr_diag_t *err);
HR_API int hr_scenario_load_buffer(const char *text, size_t len, const char *name,
                                   const char *base_dir, hr_scenario_t *sc, hr_diag_t *err);
HR_API void hr_scenario_free(hr_scenario_t *sc);

/* Appends the contingencies of a contingency file (YAML: `version: 1` and a
 * `contingencies:` list, each entry an event as in a scenario's `events`) to
 * sc->contingencies.  Errors name the file, line, column and field.  Returns
 * HR_OK, HR_ERR_IO, HR_ERR_PARSE, HR_ERR_RANGE, HR_ERR_NOMEM (sc is left as
 * it was on failure). */
HR_API int hr_scenario_add_contingencies_file(hr_scenario_t *sc, const char *path, hr_diag_t *err);

/* ---- the simulator ------------------------------------------------------------- */

typedef struct hr_sim hr_sim_t;

/* One row of the time series (every sample_s). */
typedef struct hr_sim_sample {
  double t_s;
  double site_p_w;    /* power at the roots [W] */
  double caps_w;      /* sum of enforced caps of populated GPUs [W] */
  double demand_w;    /* sum of GPU demands [W] */
  double speed;       /* mean throughput factor of busy GPUs (1 = uncapped) */
  double max_thermal; /* highest device thermal state (fraction of trip) */
  size_t max_thermal_node;
  double ramp_w_per_s; /* the grid monitor's ramp at the site */
  unsigned trips;      /* devices tripped so far */
  double floors_w;     /* sum of the power-smoothing floors in force on the GPUs whose smoothing
                          is on (as the actuator set them) [W] */
  double over_cap_w;   /* sum over GPUs of their power above their enforced cap [W] */
} hr_sim_sample_t;

typedef void (*hr_sim_sample_fn)(void *user, const hr_sim_sample_t *s);

/* Creates a simulator of scenario sc (borrowed for the call only) over tree
 * (borrowed, must outlive the simulator), with the agent configured by acfg
 * (copied) at the tree's first root.  Returns HR_OK, HR_ERR_INVALID_ARG,
 * HR_ERR_RANGE (more populated GPUs than slots, a workload outside them, an
 * unknown node in an event: diag's field and message say which; its source
 * is "scenario"), HR_ERR_NOMEM, or the agent's error.  diag may be NULL. */
HR_API int hr_sim_create(const hr_scenario_t *sc, const hr_tree_t *tree, const hr_agent_cfg_t *acfg,
                         hr_sim_t **out, hr_diag_t *diag);
HR_API void hr_sim_destroy(hr_sim_t *s);

/* The agent the simulator drives (borrowed), e.g. to set a decision callback. */
HR_API hr_agent_t *hr_sim_agent(hr_sim_t *s);

/* Runs the whole scenario.  fn (may be NULL) receives a sample every
 * sc.sample_s.  Returns HR_OK or an agent error. */
HR_API int hr_sim_run(hr_sim_t *s, hr_sim_sample_fn fn, void *user);

/* Asks hr_sim_run to return after the step in progress (e.g. from the
 * sample callback when the user stopped the program): the run then ends
 * with HR_OK and hr_sim_result covers the time simulated so far (its t_s). */
HR_API void hr_sim_request_stop(hr_sim_t *s);

/* Advances one step (for tests).  Returns HR_OK, HR_ERR_EOF at the end. */
HR_API int hr_sim_step(hr_sim_t *s);

/* Per-node outcome. */
typedef struct hr_sim_node_result {
  size_t node; /* tree index */
  int has_device;
  double max_thermal; /* highest thermal state of its device (fraction of trip) */
  int tripped;
  double trip_t_s; /* NAN if not tripped */
  hr_element_t trip_elem;
  double max_p_w;     /* highest power through the node [W] */
  double cont_w;      /* continuous limit (cold budget, lease.h, at PF 1) [W]; with the
                         scenario's supply PF below 1, over_cont_s holds the apparent power
                         against the current rating's part of it and the real power against
                         the watt rating's and file budget's */
  double over_cont_s; /* time above cont_w [s] */
  double max_s_va;    /* highest apparent power through the node, the sum over its
                         conductors [VA]; max_p_w at PF 1 */
  /* Sustained load (docs/sim.md, "Capacity search"): the highest RMS current
   * of any conductor over any whole HR_SIM_SUSTAIN_WINDOW_S window of the run
   * (the last, partial window counts when no whole one fits) [A], and the
   * device's ultimate tripping current: the least constant current that
   * trips it at all, from cold (the asymptote of its long-time band) [A].
   * sustained_a >= sustain_trip_a means the device would trip if that
   * window's load went on.  0 and INFINITY without a device. */
  double sustained_a;
  double sustain_trip_a;
  /* The RMS current of the last whole window of the run (the whole run when
   * none fits) [A], 0 without a device: what the load stood at when the run
   * ended, which the capacity search's long contingency runs judge (a
   * policy's later cut shows there, not in the heaviest window). */
  double sustained_last_a;
} hr_sim_node_result_t;

/* The window [s] of hr_sim_node_result_t.sustained_a: a minute holds many
 * training iterations and two 30-s checkpoint cycles, so its mean I^2 is what
 * a long-time thermal image (time constant 36 tr / k^2, several minutes for
 * tr >= 8 s; orchestration.md §3.2) integrates. */
#define HR_SIM_SUSTAIN_WINDOW_S 60.0

typedef struct hr_sim_result {
  double t_s; /* simulated time [s] */
  int n_gpus; /* populated */
  unsigned trips;
  double energy_j;      /* at the roots */
  double work;          /* work done by the workloads [GPU-seconds at full speed] */
  double work_uncapped; /* the same with every GPU at full speed and powered [GPU-s] */
  double work_frac;     /* work / work_uncapped */
  double ramp_viol_s;   /* time the site's ramp limit was exceeded [s] */
  double ramp_up_s;     /* the part of ramp_viol_s where the load rose over the window [s] */
  double ramp_down_s;   /* the part where it fell (a fall that caps cannot slow) [s] */
  double osc_viol_s;    /* time any oscillation band was exceeded [s] */
  /* Time at least one powered, busy GPU ran below full speed because its cap
   * (or, under power smoothing, its ramp) held it below its demand [s]:
   * Dynamo's "time capped" (docs/sim.md, "Capacity search"). */
  double capped_s;
  double max_ramp_w_per_s;
  double max_site_p_w;
  /* Utility outages (events): time the site drew more than the generator's
   * rating, time its 1-s load rise exceeded the generator's ramp, and
   * generator trips (also counted in trips). */
  double gen_over_s, gen_ramp_viol_s;
  unsigned gen_trips;
  /* Inference workloads (NAN without any): time to first token and time
   * between tokens [s], p50 / p99 (histogram bins of 12 %: a percentile is
   * its bin's upper edge), requests generated and completed, output tokens. */
  double ttft_p50_s, ttft_p99_s, tbt_p50_s, tbt_p99_s;
  /* The same p99s over the high-priority inference workloads only (priority at
   * least the agent's lease.coord.prio_split, 1 by default: the GPUs POLCA caps
   * last); NAN without any. */
  double ttft_hi_p99_s, tbt_hi_p99_s;
  uint64_t inf_requests, inf_completed, inf_tokens;
  const hr_sim_node_result_t *nodes; /* hr_tree_count entries, borrowed from the simulator */
  size_t n_nodes;
  hr_agent_stats_t agent;
  double wall_s; /* wall-clock time of hr_sim_run [s] */
  /* Waveform path (0 and NAN on the fast path).  End to end: from the
   * step's samples handed to the meters to the return of the agent's last
   * cap call, wall clock, for every decision that set a cap; the "step"
   * figures only for decisions a detected step or forecast triggered. */
  int waveforms;
  size_t n_meters;
  uint64_t meter_records;
  uint64_t e2e_n, e2e_step_n;
  double e2e_p50_s, e2e_p99_s, e2e_max_s;
  double e2e_step_p50_s, e2e_step_p99_s, e2e_step_max_s;
  double meter_wall_s; /* wall time spent synthesising and metering [s] */
} hr_sim_result_t;

HR_API int hr_sim_result(const hr_sim_t *s, hr_sim_result_t *out);

/* Node (tree index) now: its power over the last step [W] (sum of its
 * conductors) and its device's thermal state (fraction of trip; 0 without
 * a device).  Either pointer may be NULL.  Returns HR_OK or
 * HR_ERR_INVALID_ARG (a bad node). */
HR_API int hr_sim_node_state(const hr_sim_t *s, size_t node, double *p_w, double *thermal);

/* Maps a policy name of `headroom sim --policy` ("none", "static70",
 * "static60", "dynamo", "polca", "thunderbolt", "headroom", and the hybrids
 * "lease-3band", "lease-2thr": the baselines' bands on leases) to an agent
 * configuration.  Returns HR_OK or HR_ERR_NOT_FOUND. */
HR_API int hr_sim_policy_cfg(const char *name, hr_agent_cfg_t *cfg);

/* ---- capacity search ------------------------------------------------------------- */

/* Why a trial failed: bits of hr_sim_trial_t.fail. */
enum {
  HR_SIM_FAIL_TRIP = 1u << 0,    /* a device or the generator tripped in the run */
  HR_SIM_FAIL_SUSTAIN = 1u << 1, /* the heaviest minute, sustained, would trip a device */
  HR_SIM_FAIL_LOSS = 1u << 2,    /* throughput loss above max_loss */
  HR_SIM_FAIL_RAMP = 1u << 3,    /* grid ramp-limit violation time above max_ramp_viol_s */
  HR_SIM_FAIL_OSC = 1u << 4,     /* grid oscillation-band violation time above max_osc_viol_s */
  HR_SIM_FAIL_CONT = 1u << 5,    /* a contingency run failed (cont_failed says which) */
  HR_SIM_FAIL_CAPPED = 1u << 6,  /* capped_frac above max_capped_frac */
  HR_SIM_FAIL_SLO = 1u << 7,     /* an inference latency p99 above its objective */
  HR_SIM_FAIL_OVER = 1u << 8,    /* a node above its continuous limit for over max_over_cont_s */
  HR_SIM_FAIL_REFUSED = 1u << 9  /* the control agent refused the count: the GPUs' lowest caps
                                    and the base loads do not fit some limit (the policies
                                    told a base load, docs/sim.md "Base load and supply
                                    losses"); nothing ran */
};

/* What one trial of the search saw: the run of the scenario as it is (the
 * base run) and, when that passed, one run per contingency. */
typedef struct hr_sim_trial {
  int gpus;
  unsigned trips;
  double work_frac;
  double max_thermal; /* highest device thermal state, fraction of trip */
  double max_sustain; /* highest sustained_a / sustain_trip_a of any device */
  double ramp_viol_s; /* the base run's grid ramp violation time [s] */
  double ramp_up_s;   /* ... of it while the load rose, and while it fell [s] */
  double ramp_down_s;
  double osc_viol_s;            /* the base run's oscillation-band violation time [s] */
  double capped_frac;           /* the base run's capped_s / t_s */
  double ttft_p99_s, tbt_p99_s; /* the base run's inference latency p99 [s] that the SLO judges
                                   (high priority only with slo_high_only); NAN without */
  double over_cont_s; /* the base run's longest time any node spent above its cont_w [s] */
  unsigned fail;      /* HR_SIM_FAIL_* bits; 0 when ok */
  int ok;             /* fail == 0 */
  /* Contingencies: how many were run (0 when the base run failed: they are
   * skipped), the index of the first that failed (-1: none), and over the
   * runs made the trips, the highest max_sustain and the lowest work_frac. */
  int cont_run, cont_failed;
  unsigned cont_trips;
  double cont_max_sustain, cont_work_frac;
  double wall_s; /* every run of the trial */
  /* Over the contingency runs made (NAN when none): the highest
   * sustained_last_a / sustain_trip_a of any device (the load as it stood at
   * the run's end; judged when cfg->cont_settle_tau > 0), and the longest
   * run's simulated length [s] (cfg->cont_settle_tau says how it is set). */
  double cont_end_sustain, cont_t_s;
} hr_sim_trial_t;

/* Called after every trial (user is passed through).  Return non-zero to stop
 * the search there (the result then has `stopped` set and holds what was found
 * so far). */
typedef int (*hr_sim_trial_fn)(void *user, const hr_sim_trial_t *t);

typedef struct hr_sim_search_cfg {
  double max_loss;    /* largest throughput loss, 0 <= x < 1; default 0.01 (1 %) */
  int gpus_lo;        /* smallest count tried, >= 1; default 1 */
  int gpus_hi;        /* largest, <= the tree's leaf slots; -1 (default): all slots */
  int step;           /* counts are multiples of step (e.g. a server's 8 GPUs), >= 1;
                         default 1 */
  double derate_frac; /* static derating reference, 0 < x <= 1; default 0.70 */
  /* The grid criterion (docs/sim.md, "Capacity search"): with grid_limits
   * (default 1) a base run also fails when its ramp violation time (rises
   * and falls alike; rises only with ramp_rises_only) exceeds
   * max_ramp_viol_s, or its oscillation-band violation time exceeds
   * max_osc_viol_s.  Both default to HR_SIM_GRID_TOL_S; >= 0. */
  int grid_limits;
  int ramp_rises_only;
  double max_ramp_viol_s, max_osc_viol_s;
  /* Contingency runs: the scenario's contingencies (sc->contingencies) are
   * each injected into its events at the trial's count; a run passes with
   * no trip and max_sustain < 1 (no loss criterion: a contingency may cost
   * work; no grid criterion: the fault's own transient is the grid's
   * event).  A utility outage's generator trips on overload (counted in
   * trips). */
  /* The papers' own criteria (docs/sim.md, "Capacity search"), each off by
   * default: a base run also fails when the fraction of its time any GPU ran
   * capped (hr_sim_result_t.capped_s / t_s) exceeds max_capped_frac (Dynamo:
   * how often capping acts; default 1, off; in [0, 1]), or when its
   * inference TTFT or TBT p99 exceeds max_ttft_p99_s or max_tbt_p99_s (an
   * SLO met by 99 % of requests, POLCA's kind of criterion; default
   * INFINITY, off; > 0).  A run without inference has no latency to judge.
   * With max_over_cont_s (default INFINITY, off; >= 0) a base run also fails
   * when any node spent longer than that above its continuous limit
   * (hr_sim_node_result_t.over_cont_s): provisioned power as a hard limit,
   * as the papers' nameplate provisioning treats it. */
  double max_capped_frac;
  double max_over_cont_s;
  double max_ttft_p99_s, max_tbt_p99_s;
  /* 1: the latency SLO judges the high-priority inference workloads' requests only
   * (hr_sim_result_t.ttft_hi_p99_s, POLCA protects those and lets low priority absorb
   * its caps); 0 (default): every request. */
  int slo_high_only;
  hr_sim_trial_fn on_trial;
  void *user;
  /* Polled (with user) at every sample_s of every run when not NULL: a
   * non-zero return abandons the trial in progress (it is not recorded)
   * and stops the search as on_trial's non-zero does, so that a stop
   * request need not wait for a trial of minutes to end. */
  int (*poll_stop)(void *user);
  /* scan = 1: try every count lo, lo + step, ..., hi in turn instead of
   * bisecting (docs/sim.md, "Non-monotone counts"); gpus is then the largest
   * count with every tried count at or below it passing (a site fills up
   * gradually), and the result says whether the pattern was monotone.
   * Default 0 (bisection, which assumes monotone pass/fail). */
  int scan;
  /* Contingency runs long enough for the long-time band (docs/sim.md,
   * "Contingencies long enough for the long-time band"): a contingency that
   * lasts past the scenario's end is run until cont_settle_tau x the
   * longest long-time constant of the tree's devices after it starts (or
   * its end, if sooner), and passes with no trip in the run and the load of
   * its last whole window, sustained, below every device's ultimate
   * tripping current.  Default 3 (the image within e^-3 = 5 % of its
   * equilibrium step); 0: the earlier rule (the scenario's duration, judged
   * on the heaviest window).  cont_max_s > 0 bounds a contingency run's
   * length [s] (default 0: no bound; a bound below the scenario's duration
   * does not shorten it). */
  double cont_settle_tau;
  double cont_max_s;
} hr_sim_search_cfg_t;

typedef struct hr_sim_search_result {
  int gpus;               /* the largest count found acceptable; 0 if none */
  int gpus_static;        /* static derating's count: the largest with every rated node's
                             nameplate sum (GPU cap_max_w each, over the supplies' told power
                             factor) <= derate_frac x its capacity */
  double recovered;       /* gpus / gpus_static - 1; NAN when gpus_static is 0 */
  hr_sim_trial_t *trials; /* every trial in the order run; owned, free with
                             hr_sim_search_result_free */
  size_t n_trials;
  int bracketed; /* 1: gpus passed and gpus + step failed (or gpus is gpus_hi) */
  int stopped;   /* 1: on_trial ended it early */
  /* With cfg->scan (every count tried): the largest count that passed
   * anywhere (>= gpus; 0 if none), how many counts below it failed, and
   * whether the pattern was monotone (1: every pass below every fail; 0:
   * not; -1: unknown, bisection, which never sees a pass above a fail). */
  int gpus_max_pass;
  int n_fail_below;
  int monotone;
  /* The longest long-time constant of the tree's devices [s] (0 when none):
   * what cfg->cont_settle_tau multiplies. */
  double tau_max_s;
} hr_sim_search_result_t;

/* Default tolerance of the grid criterion [s]: a tenth of the usual 1-s
 * ramp window (docs/sim.md, "Capacity search", says why). */
#define HR_SIM_GRID_TOL_S 0.1

HR_API int hr_sim_search_cfg_init(hr_sim_search_cfg_t *cfg);

/* Finds the largest number of populated GPUs (populate order of sc) for which
 * the scenario under agent settings acfg ends with no trip, no sustained
 * overload, a throughput loss of at most cfg->max_loss, within the grid
 * criterion (cfg->grid_limits) and surviving each of sc->contingencies (see
 * hr_sim_search_cfg_t), by bisection over the count (assumes that a
 * count that fails makes every larger count fail: each trial's outcome is in
 * out->trials, so a user can see a violation of it), or with cfg->scan by
 * trying every count (the largest count below which every count passes).  For a trial with G GPUs
 * every workload's range [first, end) of the sc->gpus populated GPUs is scaled
 * to [first G / N, end G / N) (N = sc->gpus, or every slot), so the mix of
 * workloads stays the same.  sc and tree are borrowed for the call.  Returns
 * HR_OK (also when on_trial stopped it), HR_ERR_INVALID_ARG, HR_ERR_RANGE (cfg
 * out of range, a contingency at or after the run's end; diag says which),
 * HR_ERR_NOMEM, or a trial's error (diag: the
 * simulator's).  out is cleared first and freed again on failure. */
HR_API int hr_sim_search(const hr_scenario_t *sc, const hr_tree_t *tree, const hr_agent_cfg_t *acfg,
                         const hr_sim_search_cfg_t *cfg, hr_sim_search_result_t *out,
                         hr_diag_t *diag);
HR_API void hr_sim_search_result_free(hr_sim_search_result_t *r);

/* The long-time constant of a protective device [s]: a trip unit's thermal
 * image time constant tau = tr / -ln(1 - k^2 / 36) (its cold trip time at
 * 6 x Ir is tr, src/tree/protect.c); for a relay or a fuse, the cold trip
 * time at 1.1 x its ultimate tripping current (the slowest trip its long
 * band gives a load 10 % over its asymptote); 0 for a device that never
 * trips or NULL. */
HR_API double hr_sim_device_tau_s(const hr_device_cfg_t *cfg);

/* Static derating's GPU count (see gpus_static above) for the populate order
 * of sc: every GPU counted at sc->gpu.cap_max_w volt-amperes over the power
 * factor sc->supply tells (budget_pf, else its curve's lowest, else 1).
 * Returns HR_OK or an error. */
HR_API int hr_sim_static_count(const hr_scenario_t *sc, const hr_tree_t *tree, double derate_frac,
                               int *out);

#ifdef __cplusplus
}
#endif
#endif
