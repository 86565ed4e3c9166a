/* Simulator internals shared by the files of src/sim: the waveform path
 * (sim_wave.c), the latency histogram the simulator keeps, and the spread
 * population order (search.c). */
#ifndef HR_SIM_INT_H
#define HR_SIM_INT_H

#include <stddef.h>
#include <stdint.h>

#include "headroom/loop.h"
#include "headroom/plan.h"
#include "headroom/sim.h"
#include "headroom/tree.h"

/* ---- latency histogram -----------------------------------------------------
 * The agent's binning (docs/loop.md): 20 log-spaced bins per decade from
 * 100 ns to 100 s; a percentile is its bin's upper edge, at most the max. */
#define HR__LAT_BINS 180
#define HR__LAT_LO_S 1e-7

typedef struct hr__lathist {
  uint32_t bin[HR__LAT_BINS];
  uint64_t n;
  double max_s;
} hr__lathist_t;

void hr__lathist_add(hr__lathist_t *h, double s);
/* The q-quantile (0 < q <= 1) [s]; NAN when empty. */
double hr__lathist_quantile(const hr__lathist_t *h, double q);

/* ---- the waveform path ---------------------------------------------------------
 * One meter (pq.h) per metered node.  Each simulation step, the node's
 * per-conductor power of the step (line-to-neutral watts and vars, as the
 * fast path computes them) becomes fs x step samples of nominal voltage and
 * of current lagging it by atan(Q / P) (in phase at PF 1), the meter
 * measures them, and its records go to the agent through
 * hr_agent_push_record, as a deployed meter's would. */
typedef struct hr__simwave hr__simwave_t;

/* Resolves sc->metered on tree (each entry a node id or a node kind name:
 * every node of that kind) and creates the meters, their records going to
 * agent (borrowed; must outlive the object): the meter engine on
 * synthesised waveforms when sc->waveforms, else stand-ins that give the
 * agent the engine's 1-ms and cycle records from the simulated power
 * (docs/sim.md, "Metered nodes without waveforms").  With waveforms step_ns must be a whole number
 * of sample periods.  Returns HR_OK, HR_ERR_RANGE (an unknown node, a step
 * that is not whole samples, a node without voltage: diag says which),
 * HR_ERR_NOMEM, or the meter's error. */
int hr__simwave_create(const hr_scenario_t *sc, const hr_tree_t *tree, hr_agent_t *agent,
                       int64_t step_ns, hr__simwave_t **out, hr_diag_t *diag);
void hr__simwave_destroy(hr__simwave_t *w);
/* 1 for the fast path's stand-in meters (no waveforms: sc->waveforms 0). */
int hr__simwave_fast(const hr__simwave_t *w);

/* Synthesises and meters the samples of [t_ns, t_ns + step_ns) for every
 * metered node: ph_w holds 3 conductor powers per tree index [W], ph_q
 * (NULL: none) 3 conductor reactive powers [var], powered
 * one flag per tree index (an unpowered node's voltage and current are 0).
 * Samples follow one another: t_ns must advance by step_ns per call.
 * Returns HR_OK or the meter's error. */
int hr__simwave_push(hr__simwave_t *w, const double *ph_w, const double *ph_q,
                     const unsigned char *powered, int64_t t_ns);
/* Meter i's last cycle record (HR_REC_CYCLE) whatever its faults, for
 * tests: HR_OK, HR_ERR_STATE before the first, HR_ERR_INVALID_ARG. */
int hr__simwave_last_cycle(const hr__simwave_t *w, size_t i, hr_record_t *out);
/* The power factor the policies and the static planning are told (docs/sim.md,
 * "Power factor"): supply.budget_pf, else the curve's lowest, else 1. */
double hr__sim_told_pf(const hr_sim_supply_cfg_t *u);
/* The efficiency every policy's budgets assume: budget_eff, else the
 * curve's lowest, 1 without one. */
double hr__sim_told_eff(const hr_sim_supply_cfg_t *u);
/* The supplies' lowest marginal efficiency (output gained per watt of
 * input) over the efficiency curve, which the ramp envelopes take
 * (hr_budget_cfg_t.eff_ramp); without a curve hr__sim_told_eff. */
double hr__sim_marginal_eff(const hr_sim_supply_cfg_t *u);
/* Their highest (hr_budget_cfg_t.eff_marg_max), at most 2; without a curve
 * hr__sim_told_eff. */
double hr__sim_marginal_eff_max(const hr_sim_supply_cfg_t *u);
/* The simulator's waveform path (NULL on the fast path), for tests. */
hr__simwave_t *hr__sim_wave(hr_sim_t *s);
/* GPU dev's telemetry reading now, as the agent's actuator reads it (faults
 * and telemetry loss included), for tests: HR_OK or the read's error. */
int hr__sim_reading(hr_sim_t *s, int dev, hr_act_reading_t *out);

size_t hr__simwave_meters(const hr__simwave_t *w);
/* Tree index of meter i ((size_t)-1 for a bad i). */
size_t hr__simwave_meter_node(const hr__simwave_t *w, size_t i);
/* Meter i's fault bit (1 frozen: no records reach the agent; 2 garbage: the
 * values the agent reads are NaN, infinite, negative, 10 MW in turn; 4
 * stuck: the last record's values before the fault with fresh times) on or
 * off. */
void hr__simwave_set_fault(hr__simwave_t *w, size_t i, unsigned bit, int on);
uint64_t hr__simwave_records(const hr__simwave_t *w);

/* ---- the straightforward forms ---------------------------------------------------
 * on = 1: the simulator's GPUs are read one device at a time through the
 * actuator interface (no hr_actuator_read_many), every GPU is looked at for
 * caps coming into force at every step, every GPU's conductor powers are
 * set at every step (not only when its power changed), the electricity
 * pass steps every node on its own (no runs of leaves), the agent sums its
 * tree node by node and rebalances its leases in full every time
 * (hr__agent_set_plain: no runs of leaves, no rebalance skip), and the
 * simulator's protective devices always ask for their next trip time
 * (hr__device_set_plain): what
 * the fast forms must match bit for bit (tests/sim/test_sim_plain.c).  Call
 * before the first step. */
void hr__sim_set_plain(hr_sim_t *s, int on);
/* on = 1: only the agent's lease rebalances run in full every time (no exact
 * skip, hr__agent_set_lease_plain); bench_sim's baseline for the skip. */
void hr__sim_set_lease_plain(hr_sim_t *s, int on);
/* Makes the simulated GPU dev (the agent's device index) refuse its
 * power-smoothing calls (hr_actuator_set_smoothing and
 * hr_actuator_set_power_floor) with HR_ERR_STATE, as NVML refuses a process
 * without the right: for tests.  Call before the first step. */
void hr__sim_deny_smoothing(hr_sim_t *s, int dev);

/* ---- inference workloads (sim_infer.c) -------------------------------------------
 * One object per inference workload: its replicas (gpus_per_replica GPUs
 * each), their requests from the planner's generator over duration_s, served
 * online with the planner's serving rules.  TTFT and TBT samples go to ttft
 * and tbt (borrowed).  Returns HR_OK, HR_ERR_RANGE (GPUs not a whole number
 * of replicas), HR_ERR_NOMEM, or the generator's error. */
typedef struct hr__infer hr__infer_t;

/* Most requests one replica's list may hold (rate x duration; 12 bytes each):
 * more is refused with HR_ERR_RANGE. */
#define HR__INFER_MAX_REQUESTS ((size_t)1 << 24)

typedef struct hr__infer_out {
  double demand_w; /* each GPU's demand over the step [W] */
  double speed;    /* progress over busy time relative to uncapped (0 unpowered) */
  double busy_s;   /* time the replica was serving within the step [s] */
  double want_w;   /* each GPU's power with every waiting request admitted [W] */
  int busy;
} hr__infer_out_t;

/* A replica's clock lock (docs/sim.md, "Clock locks"): r the locked maximum
 * over the highest clock (1 unlocked); power above idle x r^power_exp,
 * prefill time x 1/r, decode time x r^-decode_exp. */
typedef struct hr__infer_clock {
  double r, power_exp, decode_exp;
} hr__infer_clock_t;

int hr__infer_create(const hr_workload_t *w, double duration_s, hr__lathist_t *ttft,
                     hr__lathist_t *tbt, hr__infer_t **out);
void hr__infer_destroy(hr__infer_t *f);
/* Also adds the workload's TTFT and TBT samples to ttft and tbt (borrowed). */
void hr__infer_also(hr__infer_t *f, hr__lathist_t *ttft, hr__lathist_t *tbt);
size_t hr__infer_replicas(const hr__infer_t *f);
/* Advances replica r over [t0_s, t1_s) under cap_w (the lowest cap in force
 * on its GPUs) and clock ck (NULL: unlocked); admit: 1 = admission shaping
 * (the batch kept within the cap's power).  An iteration takes its clock
 * and cap when it starts.  No allocation. */
void hr__infer_step(hr__infer_t *f, size_t r, double t0_s, double t1_s, double cap_w, int powered,
                    int admit, double idle_w, double gamma, const hr__infer_clock_t *ck,
                    hr__infer_out_t *o);
/* The time factor of one iteration of t_dec_s decode and t_pre_s prefill
 * time drawing pw_w unlocked and uncapped, under clock ck (NULL: unlocked)
 * and cap_w: (t_dec r^-a + t_pre / r) x^-gamma and x^-0.647 respectively,
 * x = (cap - idle) / (p_clk - idle) when the clock's power p_clk = idle +
 * (pw - idle) r^power_exp is above the cap, over t_dec + t_pre; 1 when
 * neither acts.  For the simulator and its tests. */
double hr__infer_slow(double t_dec_s, double t_pre_s, double pw_w, double cap_w, double idle_w,
                      double gamma, const hr__infer_clock_t *ck);
/* Per-GPU power of work drawing p_w unlocked at clock ck (NULL: unlocked). */
double hr__infer_clock_w(double p_w, double idle_w, const hr__infer_clock_t *ck);
/* Adds the workload's generated requests, completed requests and output
 * tokens to the counters. */
void hr__infer_totals(const hr__infer_t *f, uint64_t *requests, uint64_t *completed,
                      uint64_t *tokens);
/* Mean time to first token so far [s] (NAN before any), and replica r's
 * requests (borrowed); for tests. */
double hr__infer_mean_ttft_s(const hr__infer_t *f);
const hr_plan_workload_t *hr__infer_requests(const hr__infer_t *f, size_t r);
/* Per-GPU power of a replica running `batch` sequences [W] (ML.ENERGY,
 * Llama-3.1-70B on 4 x H100; idle_w at 0). */
double hr__infer_power_w(double batch, double idle_w);

/* Writes the tree's n_slots leaves (nodes without children) in spread order
 * (HR_POP_SPREAD, sim.h) into slot_node.  Returns HR_OK, HR_ERR_NOMEM, or
 * HR_ERR_STATE when the leaves found are not n_slots. */
int hr__sim_spread_order(const hr_tree_t *tree, int32_t *slot_node, size_t n_slots);

/* The least constant current [A] that trips the device at all, from cold
 * (INFINITY when nothing does): sim.c, hr_sim_node_result_t.sustain_trip_a. */
double hr__sim_ultimate_trip_a(const hr_device_cfg_t *cfg);

/* The base load a supply's policies are told (hr_sim_supply_cfg_t
 * budget_base_w; negative: the most it draws). */
static inline double hr__sim_told_base_w(const hr_sim_supply_cfg_t *u)
{
  return u->budget_base_w >= 0.0 ? u->budget_base_w : u->base_w + u->base_busy_w;
}

#endif
