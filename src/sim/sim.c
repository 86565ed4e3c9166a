/* The closed-loop cluster simulator, fast path (include/headroom/sim.h,
 * docs/sim.md).  One step: events, the agent's step on the simulated clock
 * (it reads and caps the GPUs through the actuator interface below), then
 * the physics over the step: caps taking effect, workloads, GPU power,
 * electricity per phase conductor, protective devices, the site's grid
 * limits and the metrics.  Every array is sized at create. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actuate/actuate_int.h"
#include "core/core.h"
#include "headroom/grid.h"
#include "headroom/lease.h"
#include "headroom/protect.h"
#include "headroom/sim.h"
#include "lease/lease_int.h"
#include "loop/agent_int.h"
#include "sim/sim_int.h"
#include "tree/protect_int.h"

typedef struct job {
  double phi_s; /* position in the iteration schedule [s of uncapped time] */
  double speed; /* this step's job speed (slowest GPU) */
  double d_w;   /* this step's demand per GPU [W] */
  int running;  /* 1 while the job makes progress */
  /* The last (cap, demand) -> speed of any of its GPUs: the GPUs of a job
   * mostly share both, and pow() was a fifth of a capped run's time. */
  double memo_cap_w, memo_d_w, memo_speed;
} job_t;

/* A GPU's power-smoothing profile as its firmware holds it (what the
 * actuator's calls set): NVML's floor, ramp-up and ramp-down rates and
 * ramp-down hysteresis (orchestration.md §1.3). */
typedef struct sm_prof {
  double floor_w;                  /* busy power at least this (within the cap) [W] */
  double up_w_per_ms, dn_w_per_ms; /* ramp limits [W/ms] */
  int64_t hyst_ns;                 /* a fall waits this long before it starts */
  unsigned char set;               /* 1: the GPU has received a smoothing call */
  unsigned char en;                /* 1: smoothing on (0: off, the GPU's own edges) */
} sm_prof_t;

struct hr_sim {
  const hr_tree_t *tree;
  const hr_tree_node_t *nd;
  size_t n;
  hr_sim_gpu_cfg_t g;
  hr_workload_t *work;
  size_t n_work;
  hr_sim_event_t *ev;
  size_t n_ev;
  int64_t *ev_node;        /* coordinator crash: tree index */
  unsigned char *ev_state; /* 0 pending, 1 active, 2 over */
  job_t *jobs;
  int64_t t_ns, step_ns, end_ns, sample_ns, next_sample_ns;
  double dt_s;

  /* GPU slots: the agent's leaves, device k = slot k */
  size_t n_slots;
  int n_pop;
  int32_t *slot_node;
  unsigned char *slot_phase;  /* the slot's node's hr_phase_t (the tree's nodes are large) */
  int32_t *node_pa, *node_pb; /* per tree index: its parents (compact copies) */
  int32_t *inner;             /* tree indices of the nodes with children */
  size_t n_inner;
  /* per tree index k: n > 0 when nodes k-n+1 .. k are leaves without a
   * protective device under one parent and no B-side parent (a server's
   * GPUs): the electricity pass steps them as one run from k down; else 0 */
  int32_t *node_run;
  int32_t *dev_slot;  /* the agent's leaf (actuator device) d -> slot */
  int32_t *slot_dev;  /* slot -> the agent's leaf */
  int32_t *slot_work; /* workload index, -1 none */
  double *dem_w, *p_w, *cap_w, *pend_cap_w, *speed;
  /* clock locks (hr_actuator_lock_clocks), per slot: the locked maximum as a
   * fraction of clock_max_mhz in force (1 unlocked) and its power factor
   * r^clock_power_exp; one lock waiting for the actuation delay */
  double *clk, *clk_pf, *pend_clk;
  int64_t *pend_clk_t_ns;
  int64_t pend_clk_min_ns; /* the earliest pend_clk_t_ns (INT64_MAX: none) */
  /* per slot: the power its node's conductor powers (ph_w) were last set
   * from; NAN before the first step (NAN equals nothing) */
  double *ph_p_w;
  int64_t *pend_t_ns;
  int64_t pend_min_ns; /* the earliest pend_t_ns (INT64_MAX: none pending) */
  int plain;           /* hr__sim_set_plain: the straightforward forms, for tests */
  int stop_req;        /* hr_sim_request_stop: hr_sim_run returns after this step */

  /* electricity, per tree index */
  double *ph_w; /* 3 per node: line-to-neutral watts per conductor */
  /* The supplies' power factor (hr_sim_supply_cfg_t), on when any point of
   * its curve is below 1: the reactive power per conductor [var] (3 per
   * node), and per node the highest draw of the populated GPUs it feeds
   * directly [W] (0: not a supply). */
  int pf_on;
  /* sup_on: any supply model (a power factor, losses or a base load), which
   * needs sup_max_w and sub_ph; loss_on: losses or a base load, when a
   * supply's conductors carry more than its GPUs draw */
  int sup_on, loss_on;
  double *ph_q, *sup_max_w;
  /* supply.base_busy_w > 0: per supply node the lagged load fraction of
   * its GPUs that moves its base (-1 before its first powered step), and
   * the lag's step factor 1 - exp(-dt / base_tau_s); base_f NULL otherwise */
  double *base_f, base_a;
  double *sub_ph; /* 3 per node: the real power its inner children put on it [W] (sup_on) */
  /* per node (pf_on): the continuous limit of its current rating alone [VA]
   * and of its watt rating and file budget alone [W] (INFINITY: none): the
   * apparent power is held against the one, the real power the other */
  double *cont_va, *cont_pw;
  hr_sim_supply_cfg_t sup;
  unsigned char *powered;
  hr_device_t **dev;
  hr_sim_node_result_t *res;
  /* sustained load: per node and conductor, the integral of I^2 over the
   * present window [A^2 s], the window's start, and whole windows closed */
  double *i2_as;
  int64_t sus_t0_ns;
  uint64_t sus_windows;
  int powered_dirty;
  unsigned feeds_lost;
  int telemetry_lost;
  /* meter faults per slot: bit 1 frozen, bit 2 garbage, bit 4 stuck (one
   * bit per event kind; overlapping events of one kind on a slot end
   * together); the frozen sample, the stuck value */
  unsigned char *tel_fault;
  int any_tel_fault; /* any tel_fault[k] set (sa_powers reads only without) */
  double *frz_p_w, *stk_p_w;
  int64_t *frz_t_ns;
  uint64_t tel_key; /* the telemetry dither's key, from the scenario's telemetry_seed */
  /* Sampled telemetry (gpu.telemetry_period_ms > 0): per slot the power
   * summed over the present window's steps and the last sample's mean; the
   * sample's time; steps in the window so far.  tel_per_ns 0: every step. */
  int64_t tel_per_ns, tel_win_ns, tel_held_t_ns;
  double *tel_acc_w, *tel_held_w;
  int tel_n;
  /* gpu.telemetry_async: per slot its sample phase, its last sample's time
   * and its steps in the window so far (NULL when synchronized) */
  int64_t *tel_ph_ns, *tel_t_ns;
  int *tel_n_k;
  uint64_t garb_n;
  /* utility outage: the site on a generator */
  int gen_on, gen_tripped;
  double gen_w, gen_ramp_w_per_s, gen_overload_s, gen_over_run_s;
  double *gen_ring; /* site power over the last second, one per step */
  size_t gen_ring_n, gen_ring_i;
  double gen_over_s, gen_ramp_viol_s;
  unsigned gen_trips;

  hr_actuator_t *act;
  hr_agent_t *agent;
  hr_clock_t clock;
  hr_grid_monitor_t *grid;
  size_t root_grid;
  /* The site's power over the grid monitor's ramp window (one per step), to
   * tell a violation by a rise from one by a fall (the monitor reports
   * |P(t) - P(t - window)| only). */
  double *site_ring;
  size_t site_ring_n, site_ring_i;

  /* metrics */
  unsigned trips;
  double energy_j, work_done, work_ideal, ramp_viol_s, osc_viol_s, max_ramp, max_site_p;
  double loss_site_p; /* loss_on: the site's power at the last step [W] */
  double capped_s;    /* time any powered busy GPU ran below full speed [s] */
  double ramp_up_s, ramp_down_s;
  double wall_s;
  double last_ramp;

  /* inference workloads (NULL for the others), their latency samples */
  hr__infer_t **inf;
  int any_inf; /* any inf[w] set: hr_sim_step's GPU pass takes the general loop */
  hr__lathist_t ttft, tbt;
  hr__lathist_t ttft_hi, tbt_hi; /* high-priority workloads' (lease.coord.prio_split) */
  int admit;                     /* admission shaping (hr_agent_cfg_t.admit) */
  /* GPU power smoothing: only what the actuator received
   * (hr_actuator_set_smoothing, hr_actuator_set_power_floor), per slot the
   * profile in force and the one waiting for the actuation delay.  The
   * simulator knows nothing of the policy's smoothing settings. */
  sm_prof_t *sm, *sm_pend;
  int64_t *sm_fall_ns; /* per slot: since when its power wants to fall (hysteresis) */
  int64_t *sm_pend_t_ns;
  int64_t sm_pend_min_ns;
  unsigned char *sm_deny; /* per device: smoothing calls refused (hr__sim_deny_smoothing) */
  int sm_on;              /* a profile has come into force on some GPU */

  /* waveform path (NULL: fast path) */
  hr__simwave_t *wave;
  hr__lathist_t e2e, e2e_step;
  double meter_wall_s;
};

/* ---- the GPUs as an actuator ---------------------------------------------------- */

/* The pending profile of slot k: the newest command on top of the one not
 * yet in force, else of the one in force (the firmware applies the latest;
 * a profile and a floor sent in one step both count). */
static sm_prof_t *sm_pending(hr_sim_t *s, int32_t k, int64_t t_ns)
{
  if (s->sm_pend_t_ns[k] == INT64_MAX)
    s->sm_pend[k] = s->sm[k];
  s->sm_pend_t_ns[k] = t_ns + (int64_t)llround(s->g.delay_ms * 1e6);
  if (s->sm_pend_t_ns[k] < s->sm_pend_min_ns)
    s->sm_pend_min_ns = s->sm_pend_t_ns[k];
  return &s->sm_pend[k];
}

/* Device dev's reading at t_ns as its telemetry delivers it (telemetry not
 * lost): the GPU's power quantised to 1 mW with a dither, as real telemetry
 * moves with every update (hr__tel_reading_w; hr_agent_cfg_t.stuck_ns), or
 * what a meter fault puts in its place.  One form for sa_read and
 * sa_read_many. */
static inline void slot_reading(hr_sim_t *s, int dev, int64_t t_ns, hr_act_reading_t *o)
{
  int32_t k = s->dev_slot[dev];
  o->t_ns = t_ns;
  if (s->tel_per_ns > 0) {
    /* Sampled telemetry: the last sample, with its own time. */
    o->t_ns = s->tel_t_ns ? s->tel_t_ns[k] : s->tel_held_t_ns;
    o->p_w = hr__tel_reading_w(s->tel_key, dev, o->t_ns, s->tel_held_w[k]);
  } else {
    o->p_w = hr__tel_reading_w(s->tel_key, dev, t_ns, s->p_w[k]);
  }
  o->cap_w = s->cap_w[k];
  o->valid = 1;
  if (s->tel_fault[k] & 1) {
    /* A frozen meter repeats its last sample, value and time. */
    o->p_w = s->frz_p_w[k];
    o->t_ns = s->frz_t_ns[k];
  } else if (s->tel_fault[k] & 2) {
    /* Garbage, in turn: NaN, infinite, negative, absurdly high. */
    static const double garb[4] = {NAN, INFINITY, -250.0, 1e7};
    o->p_w = garb[s->garb_n++ & 3];
  } else if (s->tel_fault[k] & 4) {
    /* A stuck sensor: one value with the current time. */
    o->p_w = s->stk_p_w[k];
  }
}

static int sa_read(hr_actuator_t *a, int dev, hr_power_source_t src, int64_t t_ns,
                   hr_act_reading_t *out)
{
  (void)src;
  hr_sim_t *s = a->impl;
  if (dev < 0 || (size_t)dev >= s->n_slots || !out)
    return HR_ERR_RANGE;
  if (s->telemetry_lost)
    return hr__act_fail(a, HR_ERR_IO, "simulated GPU %d: telemetry lost", dev);
  slot_reading(s, dev, t_ns, out);
  return HR_OK;
}

/* Every GPU's reading in one call (hr_actuator_read_many): what sa_read
 * does per device, without the dispatch and checks per device per step. */
static int sa_read_many(hr_actuator_t *a, int dev0, int n, hr_power_source_t src, int64_t t_ns,
                        hr_act_reading_t *out)
{
  (void)src;
  hr_sim_t *s = a->impl;
  if (s->telemetry_lost) {
    for (int d = 0; d < n; d++) {
      out[d].t_ns = t_ns;
      out[d].p_w = out[d].cap_w = 0.0;
      out[d].valid = 0;
    }
    return n > 0 ? hr__act_fail(a, HR_ERR_IO, "simulated GPU %d: telemetry lost", dev0) : HR_OK;
  }
  for (int d = 0; d < n; d++)
    slot_reading(s, dev0 + d, t_ns, &out[d]);
  return HR_OK;
}

/* The agent's reader of every GPU's power (hr__agent_set_power_fn): while
 * telemetry flows and no meter is frozen or garbled, sa_read_many gives each
 * device a valid reading taken at t_ns with its GPU's power, and
 * hr_actuator_read_many leaves the error message empty; the powers alone,
 * without the reading records.  Otherwise 0: the agent reads through the
 * actuator. */
static int sa_powers(void *ctx, size_t n, int64_t t_ns, double *p_w)
{
  hr_sim_t *s = ctx;
  /* Sampled telemetry carries the samples' times: through the actuator. */
  if (s->telemetry_lost || s->any_tel_fault || s->tel_per_ns > 0 || n > (size_t)s->act->n)
    return 0;
  hr__tel_readings(s->tel_key, t_ns, n, s->dev_slot, s->p_w, p_w); /* as sa_read_many */
  s->act->err[0] = '\0';
  return 1;
}

static int sa_limits(hr_actuator_t *a, int dev, hr_act_limits_t *out)
{
  hr_sim_t *s = a->impl;
  if (dev < 0 || (size_t)dev >= s->n_slots || !out)
    return HR_ERR_RANGE;
  out->cap_min_w = s->g.cap_min_w;
  out->cap_max_w = s->g.cap_max_w;
  out->default_w = s->g.cap_max_w;
  return HR_OK;
}

static int sa_set_cap(hr_actuator_t *a, int dev, double cap_w, int64_t t_ns)
{
  hr_sim_t *s = a->impl;
  if (dev < 0 || (size_t)dev >= s->n_slots)
    return HR_ERR_RANGE;
  if (!(cap_w >= s->g.cap_min_w && cap_w <= s->g.cap_max_w))
    return hr__act_fail(a, HR_ERR_RANGE, "simulated GPU %d: cap %.1f W outside %.0f..%.0f W", dev,
                        cap_w, s->g.cap_min_w, s->g.cap_max_w);
  /* One command in flight per GPU: a newer command replaces one not yet in
   * effect (the firmware applies the latest limit). */
  int32_t k = s->dev_slot[dev];
  s->pend_cap_w[k] = cap_w;
  s->pend_t_ns[k] = t_ns + (int64_t)llround(s->g.delay_ms * 1e6);
  if (s->pend_t_ns[k] < s->pend_min_ns)
    s->pend_min_ns = s->pend_t_ns[k];
  return HR_OK;
}

static int sa_smooth_denied(hr_actuator_t *a, int dev, const char *call)
{
  return hr__act_fail(a, HR_ERR_STATE,
                      "simulated GPU %d: %s is not permitted (the GPU refuses its smoothing "
                      "calls, as NVML does without the right)",
                      dev, call);
}

/* The smoothing floor takes effect after the same actuation delay as a cap
 * (the GPU's firmware applies either; no separate figure is known).  As
 * NVML's (nvml.c): 0 turns smoothing off, a floor turns it on with the
 * ramps of the profile set before (none: no ramp limit). */
static int sa_set_floor(hr_actuator_t *a, int dev, double floor_w, int64_t t_ns)
{
  hr_sim_t *s = a->impl;
  if (dev < 0 || (size_t)dev >= s->n_slots)
    return HR_ERR_RANGE;
  if (s->sm_deny[dev])
    return sa_smooth_denied(a, dev, "setting the power-smoothing floor");
  sm_prof_t *q = sm_pending(s, s->dev_slot[dev], t_ns);
  q->set = 1;
  q->en = floor_w > 0.0;
  q->floor_w = floor_w;
  return HR_OK;
}

/* A clock lock (nvmlDeviceSetGpuLockedClocks; (0, 0) resets) takes effect
 * after the same actuation delay as a cap, at the simulator's present time
 * (the call carries none).  Only the maximum matters to the model: POLCA
 * caps the frequency; the GPU clocks down below it by itself. */
static int sa_lock_clocks(hr_actuator_t *a, int dev, int min_mhz, int max_mhz)
{
  hr_sim_t *s = a->impl;
  if (dev < 0 || (size_t)dev >= s->n_slots)
    return HR_ERR_RANGE;
  double r = 1.0;
  if (min_mhz != 0 || max_mhz != 0) {
    if (max_mhz < 1)
      return hr__act_fail(a, HR_ERR_RANGE, "simulated GPU %d: clock lock %d..%d MHz", dev, min_mhz,
                          max_mhz);
    r = (double)max_mhz / s->g.clock_max_mhz;
    if (r > 1.0)
      r = 1.0; /* the GPU runs no faster than its highest clock */
  }
  int32_t k = s->dev_slot[dev];
  s->pend_clk[k] = r;
  s->pend_clk_t_ns[k] = s->t_ns + (int64_t)llround(s->g.delay_ms * 1e6);
  if (s->pend_clk_t_ns[k] < s->pend_clk_min_ns)
    s->pend_clk_min_ns = s->pend_clk_t_ns[k];
  return HR_OK;
}

/* The whole profile, in force after the actuation delay like a cap. */
static int sa_set_smoothing(hr_actuator_t *a, int dev, const hr_act_smoothing_t *p, int64_t t_ns)
{
  hr_sim_t *s = a->impl;
  if (dev < 0 || (size_t)dev >= s->n_slots)
    return HR_ERR_RANGE;
  if (s->sm_deny[dev])
    return sa_smooth_denied(a, dev, "setting the power-smoothing profile");
  sm_prof_t *q = sm_pending(s, s->dev_slot[dev], t_ns);
  q->set = 1;
  q->en = 1;
  q->floor_w = p->floor_w;
  q->up_w_per_ms = p->ramp_up_w_per_s * 1e-3;
  q->dn_w_per_ms = p->ramp_down_w_per_s * 1e-3;
  q->hyst_ns = (int64_t)llround(p->ramp_down_hyst_ms * 1e6);
  return HR_OK;
}

void hr__sim_deny_smoothing(hr_sim_t *s, int dev)
{
  if (s && dev >= 0 && (size_t)dev < s->n_slots)
    s->sm_deny[dev] = 1;
}

static const char *sa_name(const hr_actuator_t *a, int dev)
{
  (void)a;
  (void)dev;
  return "simulated GPU";
}

static void sa_destroy(hr_actuator_t *a)
{
  (void)a; /* impl is the simulator, which owns itself */
}

static const hr__act_ops_t sim_ops = {"simgpu",       sa_read,      sa_limits,       sa_set_cap,
                                      sa_lock_clocks, NULL,         sa_name,         sa_destroy,
                                      sa_read_many,   sa_set_floor, sa_set_smoothing};
/* The same GPUs read one device at a time (hr__sim_set_plain). */
static const hr__act_ops_t sim_ops_plain = {
    "simgpu", sa_read,    sa_limits, sa_set_cap,   sa_lock_clocks,  NULL,
    sa_name,  sa_destroy, NULL,      sa_set_floor, sa_set_smoothing};

void hr__sim_set_plain(hr_sim_t *s, int on)
{
  s->plain = on ? 1 : 0;
  s->act->ops = s->plain ? &sim_ops_plain : &sim_ops;
  for (size_t k = 0; k < s->n; k++)
    if (s->dev[k])
      hr__device_set_plain(s->dev[k], s->plain);
  hr__agent_set_plain(s->agent, s->plain);
}

void hr__sim_set_lease_plain(hr_sim_t *s, int on)
{
  hr__agent_set_lease_plain(s->agent, on);
}

/* ---- policies ------------------------------------------------------------------------ */

/* The default headroom policy: leases budgeted against the protective
 * devices' trip curves and thermal state, not a flat 80 %.  A node's
 * continuous limit applies to its 1-h mean power (the NEC's continuous load
 * lasts 3 h or more, orchestration.md §3.3); above it the burst budget keeps
 * every element of the device's image (long-time thermal memory, short-time
 * and instantaneous pickups) below its margin for the next burst window, and
 * the instantaneous ceiling bounds any instant (lease.h, cont_window_s).  A
 * lost feed of a 2N design kills that side's budgets only: the survivor's
 * budgets already count every dual-corded load in full, so its grants fit
 * within its trip curve (lease.h, feed_loss_budgets).  A grid hold keeps
 * caps where they are (hold_keep), and the caps keep to the grid's ramp
 * limit (grid_ramp_caps; loop.h).  A lease that expires below a stopped
 * coordinator falls to min(its last grant, its static safe share of the
 * continuous ratings), not to its floor (lease.h expiry_fallback). */
static int lease_default(hr_agent_cfg_t *cfg)
{
  int rc = hr_agent_cfg_init(cfg, HR_LOOP_LEASE);
  cfg->lease.budget.cont_window_s = 3600.0;
  cfg->lease.feed_loss_budgets = 1;
  cfg->lease.expiry_fallback = HR_EXPIRY_SAFE_SHARE;
  cfg->hold_keep = 1;
  cfg->grid_ramp_caps = 1;
  return rc;
}

int hr_sim_policy_cfg(const char *name, hr_agent_cfg_t *cfg)
{
  if (!name || !cfg)
    return HR_ERR_INVALID_ARG;
  if (strcmp(name, "none") == 0)
    return hr_agent_cfg_init(cfg, HR_LOOP_NONE);
  if (strcmp(name, "static70") == 0 || strcmp(name, "static60") == 0) {
    hr_agent_cfg_init(cfg, HR_LOOP_STATIC);
    cfg->static_frac = name[6] == '7' ? 0.70 : 0.60;
    return HR_OK;
  }
  if (strcmp(name, "dynamo") == 0)
    return hr_agent_cfg_init(cfg, HR_LOOP_DYNAMO);
  if (strcmp(name, "polca") == 0)
    return hr_agent_cfg_init(cfg, HR_LOOP_POLCA);
  if (strcmp(name, "polca-power") == 0) {
    /* POLCA's thresholds acting through power caps (0.70 / 0.85 of the
     * rating), the simulator's form before clock locks: for comparison. */
    int rc = hr_agent_cfg_init(cfg, HR_LOOP_POLCA);
    cfg->polca_clocks = 0;
    return rc;
  }
  /* The baselines' bands applied to headroom's leases (a hybrid). */
  if (strcmp(name, "lease-3band") == 0)
    return hr_agent_cfg_init(cfg, HR_LOOP_THREE_BAND);
  if (strcmp(name, "lease-2thr") == 0)
    return hr_agent_cfg_init(cfg, HR_LOOP_TWO_THRESHOLD);
  if (strcmp(name, "thunderbolt") == 0)
    return hr_agent_cfg_init(cfg, HR_LOOP_MULT_DECREASE);
  /* headroom-thermal is the old name of today's default. */
  if (strcmp(name, "headroom") == 0 || strcmp(name, "headroom-thermal") == 0) {
    /* In a grid hold a cap may come back to where it recently was (loop.h
     * hold_release; docs/results.md, sync-restart). */
    int rc = lease_default(cfg);
    cfg->hold_release = 1;
    return rc;
  }
  if (strcmp(name, "headroom-flat") == 0) {
    /* The earlier default: every node's continuous limit (80 % of its
     * rating) held at every instant, and a lost feed revokes every lease. */
    return hr_agent_cfg_init(cfg, HR_LOOP_LEASE);
  }
  if (strcmp(name, "headroom-smooth") == 0) {
    /* Leases with GPU power smoothing (NVML power smoothing, Blackwell;
     * orchestration.md §1.3): a floor of 50 % of TDP (settable 20-90 %) and
     * ramps of 1 kW/s per GPU up and down: our choice [M] within the
     * interface's ranges. */
    lease_default(cfg);
    cfg->smooth_floor_frac = 0.5;
    cfg->smooth_ramp_w_per_s = 1000.0;
    return HR_OK;
  }
  if (strcmp(name, "headroom-band") == 0) {
    /* Leases with GPU power smoothing whose floor the agent's band
     * controller moves (loop.h band_ctl) from 20 % of TDP (the interface's
     * lowest, below a training job's communication power) to 90 % (its
     * highest) to keep the grid's oscillation bands; ramps as
     * headroom-smooth. */
    lease_default(cfg);
    cfg->smooth_floor_frac = 0.2;
    cfg->smooth_ramp_w_per_s = 1000.0;
    cfg->band_ctl = 1;
    return HR_OK;
  }
  if (strcmp(name, "headroom-admit") == 0) {
    /* Leases with admission shaping: each serving replica keeps its batch
     * within its GPUs' caps and declares the batch its queue wants. */
    lease_default(cfg);
    cfg->admit = 1;
    return HR_OK;
  }
  return HR_ERR_NOT_FOUND;
}

/* ---- sustained load -------------------------------------------------------------- */

/* The least constant current [A] that trips the device at all, from cold:
 * below it hr_device_trip_time is infinite (the long-time band's asymptote,
 * e.g. k x Ir of a trip unit's thermal image, 1.1 x Is of an IDMT relay,
 * orchestration.md §3.1-3.2).  Trip times are non-increasing in current, so
 * the finite ones form [I*, inf): bracket, then bisect to 1e-9. */
double hr__sim_ultimate_trip_a(const hr_device_cfg_t *cfg)
{
  double lo = 0.0, hi = 1.0;
  int n = 0;
  while (!isfinite(hr_device_trip_time(cfg, hi))) {
    lo = hi;
    hi *= 2.0;
    if (++n > 200)
      return INFINITY; /* nothing trips it (HR_DEVICE_NONE) */
  }
  for (int k = 0; k < 200 && hi - lo > 1e-9 * hi; k++) {
    double mid = 0.5 * (lo + hi);
    if (isfinite(hr_device_trip_time(cfg, mid)))
      hi = mid;
    else
      lo = mid;
  }
  return hi;
}

/* Closes the present sustain window (len_s long): each device's highest
 * conductor RMS current over it raises sustained_a. */
static void sustain_close(hr_sim_t *s, double len_s, int reset)
{
  if (!(len_s > 0.0))
    return;
  for (size_t k = 0; k < s->n; k++) {
    if (!s->dev[k])
      continue;
    double *i2 = &s->i2_as[3 * k];
    double m = fmax(i2[0], fmax(i2[1], i2[2]));
    double rms = sqrt(m / len_s);
    if (rms > s->res[k].sustained_a)
      s->res[k].sustained_a = rms;
    s->res[k].sustained_last_a = rms;
    if (reset)
      i2[0] = i2[1] = i2[2] = 0.0;
  }
}

/* ---- create / destroy ---------------------------------------------------------------- */

void hr_sim_destroy(hr_sim_t *s)
{
  if (!s)
    return;
  hr__simwave_destroy(s->wave);
  hr_agent_destroy(s->agent);
  hr_actuator_destroy(s->act);
  hr_grid_monitor_destroy(s->grid);
  if (s->dev)
    for (size_t k = 0; k < s->n; k++)
      hr_device_destroy(s->dev[k]);
  free(s->dev);
  for (size_t w = 0; s->inf && w < s->n_work; w++)
    hr__infer_destroy(s->inf[w]);
  free(s->inf);
  free(s->work);
  free(s->ev);
  free(s->ev_node);
  free(s->ev_state);
  free(s->jobs);
  free(s->slot_node);
  free(s->slot_phase);
  free(s->node_pa);
  free(s->node_pb);
  free(s->inner);
  free(s->node_run);
  free(s->dev_slot);
  free(s->slot_dev);
  free(s->slot_work);
  free(s->dem_w);
  free(s->p_w);
  free(s->cap_w);
  free(s->pend_cap_w);
  free(s->speed);
  free(s->clk);
  free(s->clk_pf);
  free(s->pend_clk);
  free(s->pend_clk_t_ns);
  free(s->pend_t_ns);
  free(s->ph_w);
  free(s->ph_q);
  free(s->sub_ph);
  free(s->cont_va);
  free(s->cont_pw);
  free(s->sup_max_w);
  free(s->base_f);
  free(s->powered);
  free(s->res);
  free(s->i2_as);
  free(s->tel_fault);
  free(s->frz_p_w);
  free(s->tel_acc_w);
  free(s->tel_held_w);
  free(s->tel_ph_ns);
  free(s->tel_t_ns);
  free(s->tel_n_k);
  free(s->stk_p_w);
  free(s->ph_p_w);
  free(s->frz_t_ns);
  free(s->gen_ring);
  free(s->site_ring);
  free(s->sm);
  free(s->sm_pend);
  free(s->sm_fall_ns);
  free(s->sm_pend_t_ns);
  free(s->sm_deny);
  free(s);
}

static int fail(hr_diag_t *diag, int code, const char *field, const char *msg, const char *arg)
{
  return hr__diag_fail(diag, code, 0, 0, field, msg, arg);
}

/* A supply curve (hr_sim_supply_cfg_t) of n points, 0..HR_SIM_PF_POINTS_MAX:
 * values within lo..1, load fractions strictly increasing within 0..10.
 * *below (left alone otherwise) is set when a value is under 1. */
static int curve_ok(const double *load, const double *val, int n, double lo, int *below)
{
  if (!(n >= 0 && n <= HR_SIM_PF_POINTS_MAX))
    return 0;
  for (int i = 0; i < n; i++) {
    if (!(val[i] >= lo && val[i] <= 1.0) || !(load[i] >= 0.0 && load[i] <= 10.0) ||
        (i > 0 && !(load[i] > load[i - 1])))
      return 0;
    if (val[i] < 1.0)
      *below = 1;
  }
  return 1;
}

int hr_sim_create(const hr_scenario_t *sc, const hr_tree_t *tree, const hr_agent_cfg_t *acfg,
                  hr_sim_t **out, hr_diag_t *diag)
{
  hr__diag_begin(diag, "scenario");
  if (!out)
    return HR_ERR_INVALID_ARG;
  *out = NULL;
  if (!sc || !tree || !acfg)
    return HR_ERR_INVALID_ARG;
  if (!(sc->duration_s > 0.0) || !(sc->step_ms >= 0.1 && sc->step_ms <= 100.0) ||
      !(sc->sample_s > 0.0))
    return fail(diag, HR_ERR_RANGE, "duration_s", "%s",
                "duration, step or sample step out of range");
  hr_sim_t *s = calloc(1, sizeof *s);
  if (!s)
    return HR_ERR_NOMEM;
  s->tree = tree;
  s->nd = hr_tree_nodes(tree);
  s->n = hr_tree_count(tree);
  s->g = sc->gpu;
  s->tel_key = 0xD1B54A32D192ED03ull * (sc->telemetry_seed + 1u);
  s->step_ns = (int64_t)llround(sc->step_ms * 1e6);
  s->dt_s = (double)s->step_ns * 1e-9;
  s->end_ns = (int64_t)llround(sc->duration_s * 1e9);
  s->sample_ns = (int64_t)llround(sc->sample_s * 1e9);
  s->n_work = sc->n_work;
  s->n_ev = sc->n_events;
  s->work = malloc((sc->n_work ? sc->n_work : 1) * sizeof *s->work);
  s->jobs = calloc(sc->n_work ? sc->n_work : 1, sizeof *s->jobs);
  for (size_t w = 0; s->jobs && w < sc->n_work; w++)
    s->jobs[w].memo_cap_w = NAN; /* no memo yet: NAN equals nothing */
  s->ev = malloc((sc->n_events ? sc->n_events : 1) * sizeof *s->ev);
  s->ev_node = calloc(sc->n_events ? sc->n_events : 1, sizeof *s->ev_node);
  s->ev_state = calloc(sc->n_events ? sc->n_events : 1, 1);
  s->ph_w = calloc(3 * s->n, sizeof *s->ph_w);
  s->powered = malloc(s->n);
  s->dev = calloc(s->n, sizeof *s->dev);
  s->res = calloc(s->n, sizeof *s->res);
  s->i2_as = calloc(3 * s->n, sizeof *s->i2_as);
  s->node_pa = malloc(s->n * sizeof *s->node_pa);
  s->node_pb = malloc(s->n * sizeof *s->node_pb);
  s->inner = malloc(s->n * sizeof *s->inner);
  s->node_run = calloc(s->n, sizeof *s->node_run);
  if (!s->inner || !s->node_run || !s->node_pa || !s->node_pb || !s->work || !s->jobs || !s->ev ||
      !s->ev_node || !s->ev_state || !s->ph_w || !s->powered || !s->dev || !s->res || !s->i2_as) {
    hr_sim_destroy(s);
    return HR_ERR_NOMEM;
  }
  if (sc->n_work)
    memcpy(s->work, sc->work, sc->n_work * sizeof *s->work);
  s->inf = calloc(sc->n_work ? sc->n_work : 1, sizeof *s->inf);
  if (!s->inf) {
    hr_sim_destroy(s);
    return HR_ERR_NOMEM;
  }
  for (size_t w = 0; w < sc->n_work; w++) {
    if (s->work[w].kind != HR_WORK_INFERENCE)
      continue;
    int rc = hr__infer_create(&s->work[w], sc->duration_s, &s->ttft, &s->tbt, &s->inf[w]);
    if (rc == HR_OK && s->work[w].priority >= acfg->lease.coord.prio_split)
      hr__infer_also(s->inf[w], &s->ttft_hi, &s->tbt_hi);
    if (rc != HR_OK) {
      hr_sim_destroy(s);
      if (rc == HR_ERR_RANGE)
        return fail(diag, rc, "workloads[].rate_per_s", "%s",
                    "an inference workload's GPUs are not whole replicas, or a replica would "
                    "get more than 16777216 requests (rate x duration)");
      return rc;
    }
    s->any_inf = 1;
  }
  s->admit = acfg->admit;
  if (sc->n_events)
    memcpy(s->ev, sc->events, sc->n_events * sizeof *s->ev);

  s->sup = sc->supply;
  if (s->sup.n_pf < 0 || s->sup.n_pf > HR_SIM_PF_POINTS_MAX) {
    hr_sim_destroy(s);
    return fail(diag, HR_ERR_RANGE, "supply.pf", "%s",
                "a curve of more than HR_SIM_PF_POINTS_MAX (32) points, or fewer than 0");
  }
  if (!(s->sup.budget_pf == 0.0 || (s->sup.budget_pf >= 0.1 && s->sup.budget_pf <= 1.0))) {
    hr_sim_destroy(s);
    return fail(diag, HR_ERR_RANGE, "supply.budget_pf", "%s",
                "outside 0.1..1 (0: the curve's lowest)");
  }
  if (!curve_ok(s->sup.pf_load, s->sup.pf, s->sup.n_pf, 0.1, &s->pf_on)) {
    hr_sim_destroy(s);
    return fail(diag, HR_ERR_RANGE, "supply.pf", "%s",
                "a power factor outside 0.1..1 or load fractions not increasing within 0..10");
  }
  if (!(s->sup.n_eff >= 0 && s->sup.n_eff <= HR_SIM_PF_POINTS_MAX) ||
      !(s->sup.budget_eff == 0.0 || (s->sup.budget_eff >= 0.5 && s->sup.budget_eff <= 1.0)) ||
      !(s->sup.budget_eff_ramp == 0.0 ||
        (s->sup.budget_eff_ramp >= 0.1 && s->sup.budget_eff_ramp <= 1.0)) ||
      !(s->sup.base_w >= 0.0 && s->sup.base_w <= 1e7) || !(s->sup.budget_base_w <= 1e7) ||
      !(s->sup.base_busy_w >= 0.0 && s->sup.base_busy_w <= 1e7) ||
      !(s->sup.base_tau_s >= 0.0 && s->sup.base_tau_s <= 1e6)) {
    hr_sim_destroy(s);
    return fail(diag, HR_ERR_RANGE, "supply", "%s",
                "efficiency points outside 0..32, budget_eff outside 0.5..1 or budget_eff_ramp "
                "outside 0.1..1 (0: from the curve), base_w, base_busy_w or budget_base_w outside "
                "..1e7 W, or base_tau_s "
                "outside 0..1e6 s");
  }
  if (!curve_ok(s->sup.eff_load, s->sup.eff, s->sup.n_eff, 0.5, &s->loss_on)) {
    hr_sim_destroy(s);
    return fail(diag, HR_ERR_RANGE, "supply.efficiency", "%s",
                "an efficiency outside 0.5..1 or load fractions not increasing within 0..10");
  }
  if (!(s->sup.psus >= 0 && s->sup.psus <= 64) ||
      (s->sup.psus > 0 && !(s->sup.psu_w > 0.0 && s->sup.psu_w <= 1e6)) ||
      (s->sup.psus == 0 && s->sup.psu_w != 0.0)) {
    hr_sim_destroy(s);
    return fail(diag, HR_ERR_RANGE, "supply.psus", "%s",
                "psus (1..64) and psu_w (0..1e6 W) go together");
  }
  if (s->sup.base_w > 0.0 || s->sup.base_busy_w > 0.0 || s->sup.psus > 0)
    s->loss_on = 1;
  /* (a base the policies are told needs the supplies found even when the
   * physics has none) */
  s->sup_on = s->pf_on || s->loss_on || s->sup.budget_base_w > 0.0;
  if (s->pf_on) {
    s->ph_q = calloc(3 * s->n, sizeof *s->ph_q);
    s->cont_va = malloc(s->n * sizeof *s->cont_va);
    s->cont_pw = malloc(s->n * sizeof *s->cont_pw);
    if (!s->ph_q || !s->cont_va || !s->cont_pw) {
      hr_sim_destroy(s);
      return HR_ERR_NOMEM;
    }
  }
  if (s->sup_on) {
    s->sub_ph = calloc(3 * s->n, sizeof *s->sub_ph);
    s->sup_max_w = calloc(s->n, sizeof *s->sup_max_w);
    if (!s->sub_ph || !s->sup_max_w) {
      hr_sim_destroy(s);
      return HR_ERR_NOMEM;
    }
  }
  if (s->sup.base_busy_w > 0.0) {
    s->base_f = malloc(s->n * sizeof *s->base_f);
    if (!s->base_f) {
      hr_sim_destroy(s);
      return HR_ERR_NOMEM;
    }
    for (size_t k = 0; k < s->n; k++)
      s->base_f[k] = -1.0; /* the first step's load fraction */
    const double dt_s = (double)s->step_ns * 1e-9;
    s->base_a = s->sup.base_tau_s > 0.0 ? -expm1(-dt_s / s->sup.base_tau_s) : 1.0;
  }

  /* Slots: the leaves under every root, in tree order (the agent's order). */
  for (size_t k = 0; k < s->n; k++)
    if (s->nd[k].n_children == 0)
      s->n_slots++;
  if (s->n_slots == 0 || s->n_slots > (size_t)1 << 24) {
    hr_sim_destroy(s);
    return fail(diag, HR_ERR_RANGE, "tree", "%s", "the tree has no leaf (GPU) or too many");
  }
  s->n_pop = sc->gpus < 0 ? (int)s->n_slots : sc->gpus;
  if ((size_t)s->n_pop > s->n_slots) {
    hr_sim_destroy(s);
    return fail(diag, HR_ERR_RANGE, "gpus", "%s",
                "more populated GPUs than the tree has leaf slots");
  }
  size_t m = s->n_slots;
  s->slot_node = malloc(m * sizeof *s->slot_node);
  s->slot_phase = malloc(m);
  s->dev_slot = malloc(m * sizeof *s->dev_slot);
  s->slot_dev = malloc(m * sizeof *s->slot_dev);
  s->slot_work = malloc(m * sizeof *s->slot_work);
  s->dem_w = calloc(m, sizeof *s->dem_w);
  s->p_w = calloc(m, sizeof *s->p_w);
  s->cap_w = malloc(m * sizeof *s->cap_w);
  s->pend_cap_w = calloc(m, sizeof *s->pend_cap_w);
  s->speed = calloc(m, sizeof *s->speed);
  s->clk = malloc(m * sizeof *s->clk);
  s->clk_pf = malloc(m * sizeof *s->clk_pf);
  s->pend_clk = calloc(m, sizeof *s->pend_clk);
  s->pend_clk_t_ns = malloc(m * sizeof *s->pend_clk_t_ns);
  s->pend_t_ns = malloc(m * sizeof *s->pend_t_ns);
  s->tel_fault = calloc(m, 1);
  s->frz_p_w = calloc(m, sizeof *s->frz_p_w);
  s->stk_p_w = calloc(m, sizeof *s->stk_p_w);
  s->frz_t_ns = calloc(m, sizeof *s->frz_t_ns);
  s->ph_p_w = malloc(m * sizeof *s->ph_p_w);
  for (size_t k = 0; s->ph_p_w && k < m; k++)
    s->ph_p_w[k] = NAN;
  s->sm = calloc(m, sizeof *s->sm); /* no profile: smoothing never set */
  s->sm_pend = calloc(m, sizeof *s->sm_pend);
  s->sm_pend_t_ns = malloc(m * sizeof *s->sm_pend_t_ns);
  s->sm_deny = calloc(m, 1);
  s->sm_fall_ns = malloc(m * sizeof *s->sm_fall_ns);
  for (size_t k = 0; s->sm_fall_ns && k < m; k++)
    s->sm_fall_ns[k] = INT64_MAX;
  if (!s->ph_p_w || !s->sm || !s->sm_pend || !s->sm_pend_t_ns || !s->sm_deny || !s->sm_fall_ns ||
      !s->slot_phase || !s->tel_fault || !s->frz_p_w || !s->stk_p_w || !s->frz_t_ns ||
      !s->slot_node || !s->dev_slot || !s->slot_dev || !s->slot_work || !s->dem_w || !s->p_w ||
      !s->cap_w || !s->pend_cap_w || !s->speed || !s->pend_t_ns || !s->clk || !s->clk_pf ||
      !s->pend_clk || !s->pend_clk_t_ns) {
    hr_sim_destroy(s);
    return HR_ERR_NOMEM;
  }
  if (sc->populate == HR_POP_SPREAD) {
    int rc = hr__sim_spread_order(tree, s->slot_node, m);
    if (rc != HR_OK) {
      hr_sim_destroy(s);
      return rc;
    }
  } else {
    size_t j = 0;
    for (size_t k = 0; k < s->n; k++)
      if (s->nd[k].n_children == 0)
        s->slot_node[j++] = (int32_t)k;
  }
  for (size_t k = 0; k < m; k++) {
    s->slot_phase[k] = (unsigned char)s->nd[s->slot_node[k]].phase;
    s->slot_work[k] = -1;
    s->cap_w[k] = s->g.cap_max_w;
    s->pend_t_ns[k] = INT64_MAX;
    s->pend_min_ns = INT64_MAX;
    s->clk[k] = s->clk_pf[k] = 1.0;
    s->pend_clk_t_ns[k] = INT64_MAX;
    s->pend_clk_min_ns = INT64_MAX;
    s->sm_pend_t_ns[k] = INT64_MAX;
    s->sm_pend_min_ns = INT64_MAX;
    /* A populated GPU idles from the start; an empty slot draws nothing. */
    s->p_w[k] = (int)k < s->n_pop ? s->g.idle_w : 0.0;
    if (s->sup_on && (int)k < s->n_pop) {
      /* Its supply: the node it hangs from (B side too for a dual-corded
       * leaf, whose parents split it).  A line-to-line GPU's conductor
       * shares are not in phase with their line-to-neutral voltages (+-30
       * degrees), which the supplies' reactive power does not model. */
      int32_t pa = s->nd[s->slot_node[k]].parent, pb = s->nd[s->slot_node[k]].parent_b;
      if (s->slot_phase[k] >= HR_PHASE_AB && s->slot_phase[k] <= HR_PHASE_CA) {
        const char *id = s->nd[s->slot_node[k]].id;
        char name[64];
        snprintf(name, sizeof name, "%.63s", id);
        const char *field = s->pf_on ? "supply.pf" : "supply";
        hr_sim_destroy(s);
        return fail(diag, HR_ERR_RANGE, field,
                    "GPU '%s' is a line-to-line load: a power factor below 1, losses and base "
                    "loads are modelled for line-to-neutral and three-phase loads only",
                    name);
      }
      if (pa >= 0)
        s->sup_max_w[pa] += s->g.cap_max_w;
      if (pb >= 0)
        s->sup_max_w[pb] += s->g.cap_max_w;
    }
  }
  /* A dual-corded supply's psus split evenly over its cords. */
  for (size_t k = 0; s->sup_on && s->sup.psus % 2 && k < s->n; k++)
    if (s->sup_max_w[k] > 0.0 && s->nd[k].parent_b >= 0) {
      char name[64];
      snprintf(name, sizeof name, "%.63s", s->nd[k].id);
      hr_sim_destroy(s);
      return fail(diag, HR_ERR_RANGE, "supply.psus",
                  "server '%s' is dual-corded: an odd number of supplies does not split evenly "
                  "over its two cords",
                  name);
    }
  const double per_ms = s->g.telemetry_period_ms, win_ms = s->g.telemetry_window_ms;
  if (!(per_ms >= 0.0 && per_ms <= 60000.0)) {
    hr_sim_destroy(s);
    return fail(diag, HR_ERR_RANGE, "gpu.telemetry_period_ms", "%s",
                "not a number of milliseconds within 0..60000");
  }
  if (!(win_ms >= 0.0 && win_ms <= per_ms) || (win_ms > 0.0 && per_ms == 0.0)) {
    hr_sim_destroy(s);
    return fail(diag, HR_ERR_RANGE, "gpu.telemetry_window_ms", "%s",
                "not within 0..telemetry_period_ms (a window needs a period)");
  }
  const int64_t per_ns = (int64_t)llround(per_ms * 1e6);
  const int64_t win_ns = win_ms > 0.0 ? (int64_t)llround(win_ms * 1e6) : per_ns;
  if (per_ms > 0.0 && (per_ns < s->step_ns || per_ns % s->step_ns)) {
    hr_sim_destroy(s);
    return fail(diag, HR_ERR_RANGE, "gpu.telemetry_period_ms", "%s",
                "not a whole number of steps (step_ms)");
  }
  if (per_ms > 0.0 && (win_ns < s->step_ns || win_ns % s->step_ns)) {
    hr_sim_destroy(s);
    return fail(diag, HR_ERR_RANGE, "gpu.telemetry_window_ms", "%s",
                "not a whole number of steps (step_ms)");
  }
  /* A sample every step of that step's power is the default telemetry. */
  if (per_ms > 0.0 && per_ns > s->step_ns) {
    s->tel_per_ns = per_ns;
    s->tel_win_ns = win_ns;
    s->tel_acc_w = calloc(m, sizeof *s->tel_acc_w);
    s->tel_held_w = malloc(m * sizeof *s->tel_held_w);
    if (!s->tel_acc_w || !s->tel_held_w) {
      hr_sim_destroy(s);
      return HR_ERR_NOMEM;
    }
    memcpy(s->tel_held_w, s->p_w, m * sizeof *s->tel_held_w); /* idle at t = 0 */
    if (s->g.telemetry_async) {
      s->tel_ph_ns = malloc(m * sizeof *s->tel_ph_ns);
      s->tel_t_ns = calloc(m, sizeof *s->tel_t_ns); /* idle at t = 0 */
      s->tel_n_k = calloc(m, sizeof *s->tel_n_k);
      if (!s->tel_ph_ns || !s->tel_t_ns || !s->tel_n_k) {
        hr_sim_destroy(s);
        return HR_ERR_NOMEM;
      }
      /* each slot's phase, whole steps in [0, period), from the seed */
      const uint64_t steps = (uint64_t)(per_ns / s->step_ns);
      for (size_t k = 0; k < m; k++) {
        uint64_t z = s->tel_key ^ (0x9E3779B97F4A7C15ull * (uint64_t)(k + 1));
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        s->tel_ph_ns[k] = (int64_t)(z % steps) * s->step_ns;
      }
    }
  }
  for (size_t w = 0; w < s->n_work; w++) {
    const hr_workload_t *wl = &s->work[w];
    if (wl->gpu_first < 0 || wl->gpu_end > s->n_pop || wl->gpu_first >= wl->gpu_end) {
      hr_sim_destroy(s);
      return fail(diag, HR_ERR_RANGE, "workloads[].gpus", "%s",
                  "a range outside the populated GPUs");
    }
    for (int k = wl->gpu_first; k < wl->gpu_end; k++) {
      if (s->slot_work[k] >= 0) {
        hr_sim_destroy(s);
        return fail(diag, HR_ERR_RANGE, "workloads[].gpus", "%s", "two workloads on one GPU");
      }
      s->slot_work[k] = (int32_t)w;
    }
  }
  for (size_t e = 0; e < s->n_ev; e++) {
    s->ev_node[e] = -1;
    if (s->ev[e].kind == HR_SIM_COORD_CRASH) {
      size_t idx;
      if (hr_tree_find(tree, s->ev[e].node, &idx) != HR_OK) {
        char name[sizeof s->ev[e].node];
        memcpy(name, s->ev[e].node, sizeof name); /* s is freed before the message */
        hr_sim_destroy(s);
        return fail(diag, HR_ERR_RANGE, "events[].node", "unknown node '%s'", name);
      }
      s->ev_node[e] = (int64_t)idx;
    }
    if ((s->ev[e].kind == HR_SIM_METER_FREEZE || s->ev[e].kind == HR_SIM_METER_GARBAGE ||
         s->ev[e].kind == HR_SIM_METER_STUCK) &&
        s->ev[e].node[0]) {
      size_t idx;
      if (hr_tree_find(tree, s->ev[e].node, &idx) != HR_OK) {
        char name[sizeof s->ev[e].node];
        memcpy(name, s->ev[e].node, sizeof name); /* s is freed before the message */
        hr_sim_destroy(s);
        return fail(diag, HR_ERR_RANGE, "events[].node", "unknown node '%s'", name);
      }
      s->ev_node[e] = (int64_t)idx;
    }
    /* One generator: two outages at once would share its state, and the
     * first to end would take the site off it for both. */
    for (size_t j = 0; s->ev[e].kind == HR_SIM_UTILITY_OUTAGE && j < e; j++) {
      const hr_sim_event_t *a = &s->ev[j], *b = &s->ev[e];
      if (a->kind != HR_SIM_UTILITY_OUTAGE)
        continue;
      const double a_end = a->duration_s > 0.0 ? a->at_s + a->duration_s : INFINITY;
      const double b_end = b->duration_s > 0.0 ? b->at_s + b->duration_s : INFINITY;
      if (a->at_s < b_end && b->at_s < a_end) {
        char msg[256];
        snprintf(msg, sizeof msg,
                 "utility_outage %zu (from %g s) overlaps utility_outage %zu (from %g s): one "
                 "generator, one outage at a time",
                 e, b->at_s, j, a->at_s);
        hr_sim_destroy(s);
        return fail(diag, HR_ERR_RANGE, "events[].at_s", "%s", msg);
      }
    }
    if (s->ev[e].kind == HR_SIM_UTILITY_OUTAGE && !s->gen_ring) {
      /* The site's power over the last second, for the generator's ramp. */
      s->gen_ring_n = (size_t)llround(1.0 / s->dt_s);
      if (s->gen_ring_n < 1)
        s->gen_ring_n = 1;
      s->gen_ring = calloc(s->gen_ring_n, sizeof *s->gen_ring);
      if (!s->gen_ring) {
        hr_sim_destroy(s);
        return HR_ERR_NOMEM;
      }
    }
  }

  /* The real devices (the agent keeps its own image of each, from what it
   * measures), and each node's cold continuous limit for the metrics. */
  hr_budget_cfg_t bc;
  hr_budget_cfg_init(&bc);
  s->root_grid = (size_t)-1;
  for (size_t k = 0; k < s->n; k++) {
    s->node_pa[k] = s->nd[k].parent;
    s->node_pb[k] = s->nd[k].parent_b;
    if (s->nd[k].n_children)
      s->inner[s->n_inner++] = (int32_t)k;
    s->res[k].node = k;
    s->res[k].trip_t_s = NAN;
    s->powered[k] = 1;
    hr_budget_t b;
    s->res[k].cont_w = hr_budget_node(&s->nd[k], NULL, &bc, -1, &b) == HR_OK ? b.cont_w : INFINITY;
    if (s->pf_on) {
      /* The same limit split by the rating it comes from (lease.h: a
       * current rating's volt-amperes, a watt rating's watts). */
      hr_tree_node_t x = s->nd[k];
      x.rating_w = 0.0;
      x.budget_w = 0.0;
      x.capacity_w =
          x.rating_a > 0.0 && x.u_v > 0.0 ? hr_budget_power_w(&x, x.rating_a, 1.0) : INFINITY;
      s->cont_va[k] = hr_budget_node(&x, NULL, &bc, -1, &b) == HR_OK ? b.cont_w : INFINITY;
      x = s->nd[k];
      x.rating_a = 0.0;
      x.capacity_w = x.rating_w > 0.0 ? x.rating_w : INFINITY;
      s->cont_pw[k] = hr_budget_node(&x, NULL, &bc, -1, &b) == HR_OK ? b.cont_w : INFINITY;
    }
    s->res[k].sustain_trip_a = INFINITY;
    if (s->nd[k].device) {
      int rc = hr_device_create(s->nd[k].device, &s->dev[k]);
      if (rc != HR_OK) {
        hr_sim_destroy(s);
        return rc;
      }
      s->res[k].has_device = 1;
      s->res[k].sustain_trip_a = hr__sim_ultimate_trip_a(s->nd[k].device);
    }
    if (s->nd[k].parent < 0 && s->nd[k].grid && s->root_grid == (size_t)-1)
      s->root_grid = k;
  }
  /* Runs of device-less leaves under one parent (node_run), in index order:
   * a run grows while the next node is such a leaf of the same parent. */
  for (size_t k = 0, len = 0; k < s->n; k++) {
    int ok = s->nd[k].n_children == 0 && !s->dev[k] && s->node_pa[k] >= 0 && s->node_pb[k] < 0;
    if (ok && len > 0 && s->node_pa[k - 1] == s->node_pa[k]) {
      s->node_run[k - 1] = 0;
      s->node_run[k] = (int32_t)++len;
    } else {
      len = ok ? 1 : 0;
      s->node_run[k] = (int32_t)len;
    }
  }
  if (s->root_grid != (size_t)-1) {
    int rc = hr_grid_monitor_create(s->nd[s->root_grid].grid, s->dt_s, &s->grid);
    if (rc != HR_OK) {
      hr_sim_destroy(s);
      return fail(diag, rc, "grid", "%s", "the root's grid limits do not suit the step");
    }
    /* As many steps as the monitor's window (hr_grid_monitor_create). */
    double w_s = s->nd[s->root_grid].grid->ramp_window_s;
    s->site_ring_n = (size_t)llround((w_s > 0 ? w_s : 1.0) / s->dt_s);
    if (s->site_ring_n < 1)
      s->site_ring_n = 1;
    s->site_ring = calloc(s->site_ring_n, sizeof *s->site_ring);
    if (!s->site_ring) {
      hr_sim_destroy(s);
      return HR_ERR_NOMEM;
    }
  }

  s->act = hr__act_new(&sim_ops, (int)m);
  if (!s->act) {
    hr_sim_destroy(s);
    return HR_ERR_NOMEM;
  }
  s->act->impl = s;
  hr_clock_manual(&s->clock, &s->t_ns);
  hr_agent_cfg_t ac = *acfg;
  ac.step_ns = s->step_ns;
  /* Every policy budgets with the power factor the operator states (or the
   * supplies' lowest: the conservative reading of a datasheet's curve), as
   * a real agent is told its site's. */
  if (s->sup.budget_pf > 0.0 || s->sup.n_pf > 0)
    ac.lease.budget.pf = hr__sim_told_pf(&s->sup);
  /* and the supplies' efficiency (the curve's lowest unless stated); no
   * control and static caps read no budget and are not told (so that the
   * GPUs' floors need not fit the budgets less the losses) */
  const int reads_budgets = acfg->policy != HR_LOOP_NONE && acfg->policy != HR_LOOP_STATIC;
  if ((s->sup.budget_eff > 0.0 || s->sup.n_eff > 0) && reads_budgets) {
    ac.lease.budget.eff = hr__sim_told_eff(&s->sup);
  }
  /* and, for the ramp envelopes, its lowest marginal efficiency (the
   * curve's, unless stated; without a curve the told efficiency) */
  if ((s->sup.budget_eff_ramp > 0.0 || s->sup.n_eff > 0) && reads_budgets)
    ac.lease.budget.eff_ramp =
        s->sup.budget_eff_ramp > 0.0 ? s->sup.budget_eff_ramp : hr__sim_marginal_eff(&s->sup);
  /* and its highest, which turns a site meter's trough into the GPUs'
   * watts (never below the lowest: a stated flat eff_ramp above the curve's
   * highest stands for both) */
  if (s->sup.n_eff > 0 && reads_budgets)
    ac.lease.budget.eff_marg_max =
        fmax(hr__sim_marginal_eff_max(&s->sup), hr__budget_ramp_eff(&ac.lease.budget));
  /* and how fast a moving base follows the GPUs, at the supply where it
   * moves the most per watt of them (the lag left out: a bound) */
  if (s->sup.base_busy_w > 0.0 && reads_budgets && hr__sim_told_base_w(&s->sup) > 0.0) {
    double rho = 0.0;
    for (size_t k = 0; k < s->n; k++)
      if (s->sup_max_w[k] > 0.0)
        rho = fmax(rho, s->sup.base_busy_w / s->sup_max_w[k]);
    ac.lease.budget.base_per_w = rho;
  }
  /* The agent locks clocks as fractions of the GPUs' highest clock: the
   * simulated GPUs' (gpu.clock_max_mhz), as a real agent would read its
   * GPUs'.  A lock range's lower end above it is brought down to it. */
  ac.clock_max_mhz = (int)lround(s->g.clock_max_mhz);
  if (ac.clock_lo_mhz > ac.clock_max_mhz)
    ac.clock_lo_mhz = ac.clock_max_mhz;
  if (ac.period_ns < ac.step_ns)
    ac.period_ns = ac.step_ns;
  /* Sampled telemetry: a sample is as old as a period before the next, so
   * the agent takes a GPU for lost only after three periods without one
   * (as its own default holds three control periods). */
  if (s->tel_per_ns > 0 && ac.stale_ns < 3 * s->tel_per_ns)
    ac.stale_ns = 3 * s->tel_per_ns;
  /* and a sample shows a cap's rise only when its whole window comes after
   * the rise took effect (the actuation delay). */
  const int64_t settle = s->tel_win_ns + (int64_t)llround(s->g.delay_ms * 1e6);
  if (s->tel_per_ns > 0 && ac.settle_ns < settle)
    ac.settle_ns = settle;
  /* and a reading is its window's mean (a site meter is compared with it
   * over that window) */
  if (s->tel_per_ns > 0)
    ac.tel_window_ns = s->tel_win_ns;
  int rc = hr_agent_create(tree, HR_AGENT_WHOLE_TREE, s->act, &s->clock, NULL, &ac, &s->agent);
  if (rc != HR_OK && (ac.lease.budget.eff < 1.0 || ac.lease.budget.pf < 1.0)) {
    /* The usual cause: at that efficiency or power factor the GPUs' floors
     * no longer fit some limit in watts. */
    const int by_eff = ac.lease.budget.eff < 1.0;
    char why[160];
    snprintf(why, sizeof why,
             "the control agent refused the tree at %s %g (do the GPUs' lowest caps fit every "
             "limit at it?)",
             by_eff ? "supply efficiency" : "power factor",
             by_eff ? ac.lease.budget.eff : ac.lease.budget.pf);
    hr_sim_destroy(s);
    return fail(diag, rc, by_eff ? "supply.budget_eff" : "supply.budget_pf", "%s", why);
  }
  if (rc != HR_OK) {
    hr_sim_destroy(s);
    return fail(diag, rc, "agent", "%s", "the control agent refused the tree or its settings");
  }
  hr_agent_set_read_actuator(s->agent, 1);
  hr__agent_set_power_fn(s->agent, sa_powers, s);
  /* The agent numbers its leaves in tree order; the slots are in population
   * order (docs/sim.md, populate), so the actuator translates. */
  int32_t *node_slot = malloc(s->n * sizeof *node_slot);
  if (!node_slot || hr_agent_leaf_count(s->agent) != s->n_slots) {
    free(node_slot);
    hr_sim_destroy(s);
    return node_slot ? HR_ERR_STATE : HR_ERR_NOMEM;
  }
  for (size_t k = 0; k < s->n_slots; k++)
    node_slot[s->slot_node[k]] = (int32_t)k;
  for (size_t d = 0; d < s->n_slots; d++) {
    int32_t k = node_slot[hr_agent_leaf_node(s->agent, d)];
    s->dev_slot[d] = k;
    s->slot_dev[k] = (int32_t)d;
  }
  free(node_slot);
  /* An empty slot is not there: it holds no floor (a deployment's tree lists
   * only the GPUs installed). */
  for (size_t k = (size_t)s->n_pop; k < s->n_slots; k++) {
    rc = hr_lease_sys_set_floor(hr_agent_lease_sys(s->agent), (size_t)s->slot_node[k], 0.0, 0);
    if (rc == HR_OK) /* nor any share of the supply or grid-ramp envelopes */
      rc = hr__agent_set_absent(s->agent, (size_t)s->slot_dev[k]);
    if (rc != HR_OK) {
      hr_sim_destroy(s);
      return fail(diag, rc, "gpus", "%s", "the lease system refused an empty slot's zero floor");
    }
  }
  /* Every populated supply's base load, as the operator states it: the
   * lease budgets keep it off what they grant (lease.h). */
  const double told_base = hr__sim_told_base_w(&s->sup);
  /* (no control and static caps never read a budget: not told, so that a
   * count whose floors would not fit with the base loads still runs) */
  if (s->sup_on && told_base > 0.0 && reads_budgets) {
    size_t *sn = malloc(s->n * sizeof *sn), cnt = 0;
    double *sw = malloc(s->n * sizeof *sw);
    if (!sn || !sw) {
      free(sn);
      free(sw);
      hr_sim_destroy(s);
      return HR_ERR_NOMEM;
    }
    for (size_t k = 0; k < s->n; k++)
      if (s->sup_max_w[k] > 0.0) {
        sn[cnt] = k;
        sw[cnt++] = told_base;
      }
    rc = hr_lease_sys_set_overhead(hr_agent_lease_sys(s->agent), sn, sw, cnt, 0);
    free(sn);
    free(sw);
    if (rc != HR_OK) {
      char b[32];
      snprintf(b, sizeof b, "%g", told_base);
      hr_sim_destroy(s);
      return fail(diag, rc, "supply.budget_base_w",
                  "the control agent refused a base load of %s W a server (do the GPUs' lowest "
                  "caps fit every limit less the base loads?)",
                  b);
    }
  }
  if (sc->waveforms && sc->n_metered == 0) {
    hr_sim_destroy(s);
    return fail(diag, HR_ERR_RANGE, "waveforms", "%s",
                "the waveform path needs metered nodes (metered:)");
  }
  /* Metered nodes: through the meter engine on the waveform path, and on
   * the fast path the nodes' exact 1-ms power (the same records, faults
   * and all). */
  if (sc->n_metered > 0) {
    rc = hr__simwave_create(sc, tree, s->agent, s->step_ns, &s->wave, diag);
    if (rc != HR_OK) {
      hr_sim_destroy(s);
      return rc;
    }
  }
  for (size_t k = 0; k < (size_t)s->n_pop; k++)
    if (s->slot_work[k] >= 0)
      hr_agent_set_priority(s->agent, (size_t)s->slot_dev[k], s->work[s->slot_work[k]].priority);
  s->powered_dirty = 1;
  *out = s;
  return HR_OK;
}

double hr__sim_told_pf(const hr_sim_supply_cfg_t *u)
{
  if (u->budget_pf > 0.0)
    return u->budget_pf;
  double pf = 1.0;
  for (int i = 0; i < u->n_pf && i < HR_SIM_PF_POINTS_MAX; i++)
    pf = fmin(pf, u->pf[i]);
  return pf;
}

double hr__sim_marginal_eff(const hr_sim_supply_cfg_t *u)
{
  /* Output gained per watt of input, d(out)/d(in) = eff^2 / (eff - x
   * eff'(x)) at load fraction x: on a linear piece eff = a + b x that is
   * (a + b x)^2 / a, monotone in x, so its least is at an end of a piece;
   * beyond the curve's ends (held) it is the efficiency itself.  A piece
   * whose a <= 0 (input falling as output rises) bounds nothing. */
  if (u->n_eff <= 0)
    return hr__sim_told_eff(u);
  double m = fmin(u->eff[0], u->eff[u->n_eff - 1]);
  for (int i = 0; i + 1 < u->n_eff && i + 1 < HR_SIM_PF_POINTS_MAX; i++) {
    const double b = (u->eff[i + 1] - u->eff[i]) / (u->eff_load[i + 1] - u->eff_load[i]);
    const double a = u->eff[i] - b * u->eff_load[i];
    if (a > 0.0)
      m = fmin(m, fmin(u->eff[i] * u->eff[i], u->eff[i + 1] * u->eff[i + 1]) / a);
  }
  return m;
}

double hr__sim_marginal_eff_max(const hr_sim_supply_cfg_t *u)
{
  /* The same pieces' other end: (a + b x)^2 / a is monotone in x, so its
   * highest is at an end of a piece too; a piece whose a <= 0 has no bound
   * (input falling as output rises), and 2 (the agent's range's top, a
   * marginal efficiency no supply curve reaches) stands for it. */
  if (u->n_eff <= 0)
    return hr__sim_told_eff(u);
  double m = fmax(u->eff[0], u->eff[u->n_eff - 1]);
  for (int i = 0; i + 1 < u->n_eff && i + 1 < HR_SIM_PF_POINTS_MAX; i++) {
    const double b = (u->eff[i + 1] - u->eff[i]) / (u->eff_load[i + 1] - u->eff_load[i]);
    const double a = u->eff[i] - b * u->eff_load[i];
    m = a > 0.0 ? fmax(m, fmax(u->eff[i] * u->eff[i], u->eff[i + 1] * u->eff[i + 1]) / a) : 2.0;
  }
  return fmin(m, 2.0);
}

double hr__sim_told_eff(const hr_sim_supply_cfg_t *u)
{
  if (u->budget_eff > 0.0)
    return u->budget_eff;
  double e = 1.0;
  for (int i = 0; i < u->n_eff && i < HR_SIM_PF_POINTS_MAX; i++)
    e = fmin(e, u->eff[i]);
  return e;
}

int hr__sim_reading(hr_sim_t *s, int dev, hr_act_reading_t *out)
{
  return s ? sa_read(s->act, dev, HR_POWER_DEFAULT, s->t_ns, out) : HR_ERR_INVALID_ARG;
}

hr__simwave_t *hr__sim_wave(hr_sim_t *s)
{
  return s ? s->wave : NULL;
}

hr_agent_t *hr_sim_agent(hr_sim_t *s)
{
  return s ? s->agent : NULL;
}

/* ---- physics ------------------------------------------------------------------------- */

/* A supply curve's value at load fraction x: linear between its n points
 * (n >= 1), held beyond its ends. */
static double curve_at(const double *load, const double *val, int n, double x)
{
  if (!(x > load[0]))
    return val[0];
  for (int i = 1; i < n; i++)
    if (x < load[i]) {
      double f = (x - load[i - 1]) / (load[i] - load[i - 1]);
      return val[i - 1] + f * (val[i] - val[i - 1]);
    }
  return val[n - 1];
}

/* tan(acos PF) of a supply at load fraction x (hr_sim_supply_cfg_t). */
static double pf_tan(const hr_sim_t *s, double x)
{
  const double pf = curve_at(s->sup.pf_load, s->sup.pf, s->sup.n_pf, x);
  return sqrt(1.0 - pf * pf) / pf;
}

/* Efficiency of a supply at load fraction x; 1 without a curve. */
static double supply_eff(const hr_sim_t *s, double x)
{
  return s->sup.n_eff ? curve_at(s->sup.eff_load, s->sup.eff, s->sup.n_eff, x) : 1.0;
}

static inline void gpu_to_phases(double *ph, unsigned phase, double p);

/* Supply k's input (loss_on): its own GPUs' power on its conductors (ph
 * less what its inner children brought, sub_ph) plus its base on its own
 * conductors becomes (GPUs + base) / efficiency, each side of a
 * dual-corded supply at its own share of the load (side_a: the A side's).
 * An unpowered supply (no GPU power) draws nothing.  Returns the load
 * fraction, (GPUs + base) / (base + its GPUs' highest draw). */
static double supply_input(hr_sim_t *s, size_t k, double ph[3], double side_a)
{
  const double *sb = &s->sub_ph[3 * k];
  double own[3], own_tot = 0.0;
  for (int q = 0; q < 3; q++) {
    own[q] = ph[q] - sb[q];
    own_tot += own[q];
  }
  if (!(own_tot > 0.0)) {
    if (s->base_f) /* unpowered: its fans and CPUs start again from idle */
      s->base_f[k] = -1.0;
    return 0.0;
  }
  double base_w = s->sup.base_w;
  if (s->base_f) {
    /* The base that moves with the work, through its lag (one step of
     * the exact first-order response to a held input). */
    const double u = own_tot / s->sup_max_w[k];
    double *f = &s->base_f[k];
    *f = *f < 0.0 ? u : *f + (u - *f) * s->base_a;
    base_w += s->sup.base_busy_w * *f;
  }
  const double out_w = own_tot + base_w;
  /* A cord's supplies: psus x psu_w over the cords, else one sized for
   * the whole server (each side's at side x x, below) */
  const double cord_w = s->sup.psus > 0
                            ? s->sup.psus * s->sup.psu_w / (s->node_pb[k] >= 0 ? 2.0 : 1.0)
                            : s->sup_max_w[k] + s->sup.base_w + s->sup.base_busy_w;
  const double x = out_w / cord_w;
  double in_w = 0.0;
  if (side_a > 0.0)
    in_w += side_a * out_w / supply_eff(s, x * side_a);
  if (side_a < 1.0)
    in_w += (1.0 - side_a) * out_w / supply_eff(s, x * (1.0 - side_a));
  /* The base on the supply's own conductors (a third on each of a
   * three-phase supply's), as the lease budgets count it; the losses on
   * each conductor in proportion to what it carries. */
  double bq[3] = {0.0, 0.0, 0.0};
  const hr_tree_node_t *x_nd = &s->nd[k];
  gpu_to_phases(bq, x_nd->n_phases == 3 ? HR_PHASE_ABC : x_nd->phase, base_w);
  const double scale = in_w / out_w;
  for (int q = 0; q < 3; q++)
    ph[q] = sb[q] + (own[q] + bq[q]) * scale;
  return x;
}

/* Throughput factor of a GPU whose work would draw demand_w, under cap_w:
 * ((cap - idle) / (demand - idle))^gamma below the demand, 1 at or above. */
static double speed_under_cap(const hr_sim_gpu_cfg_t *g, double cap_w, double demand_w)
{
  if (cap_w >= demand_w || demand_w <= g->idle_w)
    return 1.0;
  double x = (cap_w - g->idle_w) / (demand_w - g->idle_w);
  return x <= 0.0 ? 0.0 : pow(x, g->gamma);
}

static int feed_dead(const hr_sim_t *s, size_t k)
{
  unsigned f = s->nd[k].feed;
  return (f == HR_FEED_A || f == HR_FEED_B) && (f & s->feeds_lost);
}

static void update_powered(hr_sim_t *s)
{
  for (size_t k = 0; k < s->n; k++) {
    const hr_tree_node_t *x = &s->nd[k];
    int up = !feed_dead(s, k) && !(s->dev[k] && hr_device_tripped(s->dev[k]));
    if (x->parent < 0 && s->gen_tripped)
      up = 0; /* the generator carrying the site tripped */
    if (up && x->parent >= 0)
      up = s->powered[x->parent] || (x->parent_b >= 0 && s->powered[x->parent_b]);
    s->powered[k] = (unsigned char)up;
  }
  s->powered_dirty = 0;
}

/* Demand of a training GPU at t and whether its job makes progress. */
static double train_demand(const hr_sim_t *s, const hr_workload_t *w, const job_t *j, double t,
                           int *running)
{
  const double idle = s->g.idle_w;
  *running = 0;
  if (t < w->start_s)
    return idle;
  for (int r = 0; r < w->n_restarts; r++)
    if (t >= w->restart_at_s[r] && t < w->restart_at_s[r] + w->restart_s)
      return idle;
  double stop = w->stop_s > 0.0 ? w->stop_s : INFINITY;
  double phase_s = fmod(j->phi_s, w->period_s);
  double p = phase_s < w->compute_frac * w->period_s ? w->compute_w : w->comm_w;
  if (t >= stop) {
    /* Stop ramp: the job winds down to idle (GPU "burn" ends smoothly). */
    if (w->ramp_s > 0.0 && t < stop + w->ramp_s)
      return idle + (1.0 - (t - stop) / w->ramp_s) * (p - idle);
    return idle;
  }
  if (w->ckpt_every_s > 0.0 && t >= w->start_s + w->ckpt_every_s) {
    double c = fmod(t - w->start_s, w->ckpt_every_s + w->ckpt_s);
    if (c >= w->ckpt_every_s)
      return w->ckpt_w;
  }
  *running = 1;
  if (w->ramp_s > 0.0 && t < w->start_s + w->ramp_s)
    return idle + (t - w->start_s) / w->ramp_s * (p - idle);
  return p;
}

/* Sets a GPU's node's conductor powers ph[3] from its power p on phase
 * (hr_phase_t).  Written as 0 + share: the sums into a zeroed array that
 * they replace (0 + x is x but for x = -0). */
static inline void gpu_to_phases(double *ph, unsigned phase, double p)
{
  double a = 0.0, b = 0.0, c = 0.0;
  switch (phase) {
  case HR_PHASE_A:
    a += p;
    break;
  case HR_PHASE_B:
    b += p;
    break;
  case HR_PHASE_C:
    c += p;
    break;
  case HR_PHASE_AB:
    a += p / sqrt(3.0);
    b += p / sqrt(3.0);
    break;
  case HR_PHASE_BC:
    b += p / sqrt(3.0);
    c += p / sqrt(3.0);
    break;
  case HR_PHASE_CA:
    c += p / sqrt(3.0);
    a += p / sqrt(3.0);
    break;
  default:
    a += p / 3.0;
    b += p / 3.0;
    c += p / 3.0;
    break;
  }
  ph[0] = a;
  ph[1] = b;
  ph[2] = c;
}

/* A training or batch GPU of job j this step, under cap c_w [W] and a clock
 * at clk of its highest (clk_pf: the scale of its power above idle there,
 * clk^clock_power_exp):
 * its speed (0 when unpowered), and its demand *d_w [W] lowered to what it
 * draws at the locked clock.  Under a clock lock the GPU runs as if capped
 * at its power at that clock (docs/sim.md, "Clock locks").  The job's memo
 * keeps the last (cap, demand) pair's speed: every GPU of a synchronous job
 * usually sees the same pair.  One form for gpu_pass_lean and the general
 * loop, which must take the same steps. */
static inline double job_gpu_speed(const hr_sim_gpu_cfg_t *g, job_t *j, int up, double c_w,
                                   double clk, double clk_pf, double idle_w, double *d_w)
{
  double d = *d_w, ce = c_w, sp;
  if (clk < 1.0 && d > idle_w) {
    double dl = idle_w + (d - idle_w) * clk_pf;
    if (dl < ce)
      ce = dl;
  }
  if (!up) {
    sp = 0.0;
  } else if (ce == j->memo_cap_w && d == j->memo_d_w) {
    sp = j->memo_speed;
  } else {
    sp = speed_under_cap(g, ce, d);
    j->memo_cap_w = ce;
    j->memo_d_w = d;
    j->memo_speed = sp;
  }
  if (ce < c_w && d > ce)
    *d_w = ce;
  return sp;
}

/* 1 when tree node x is node c or below it (either parent). */
/* hr_sim_step's GPU pass for the common case: no power smoothing and no
 * inference workload.  The general loop's steps for that case, in the same
 * order on the same values (so the same results bit for bit), with the
 * arrays in restrict locals (separate allocations) and the work sums in
 * locals added in the loop's order, so that no store makes the compiler
 * reload them.  Returns the site's power (the GPUs' sum, in slot order). */
static double gpu_pass_lean(hr_sim_t *s, double idle_w, double mv, double dt, int *throttled_out)
{
  const size_t n = (size_t)s->n_pop;
  const int32_t *restrict slot_work = s->slot_work, *restrict slot_node = s->slot_node;
  const unsigned char *restrict powered = s->powered, *restrict slot_phase = s->slot_phase;
  const double *restrict cap = s->cap_w, *restrict clk = s->clk, *restrict clk_pf = s->clk_pf;
  double *restrict pw = s->p_w, *restrict dem = s->dem_w, *restrict spd = s->speed;
  double *restrict php = s->ph_p_w, *restrict ph_w = s->ph_w;
  job_t *restrict jobs = s->jobs;
  const hr_workload_t *restrict work = s->work;
  const hr_sim_gpu_cfg_t *g = &s->g;
  double work_done = s->work_done, work_ideal = s->work_ideal, site_p = 0.0;
  int throttled = 0;
  for (size_t k = 0; k < n; k++) {
    const int32_t w = slot_work[k];
    const int up = powered[slot_node[k]];
    const double c = cap[k];
    double d = idle_w, sp = 1.0;
    int busy = 0;
    if (w >= 0) {
      job_t *j = &jobs[w];
      d = j->d_w;
      busy = j->running;
      sp = job_gpu_speed(g, j, up, c, clk[k], clk_pf[k], idle_w, &d);
      if (busy) {
        if (work[w].kind == HR_WORK_TRAINING) {
          if (sp < j->speed)
            j->speed = sp;
        } else {
          work_done += dt * sp;
          work_ideal += dt;
        }
      }
    }
    dem[k] = d;
    spd[k] = sp;
    double target = up ? (d < c ? d : c) : 0.0;
    if (up && target < idle_w)
      target = idle_w;
    double p = pw[k];
    p = target > p ? (p + mv < target ? p + mv : target) : (p - mv > target ? p - mv : target);
    pw[k] = p;
    if (!(p == php[k])) {
      gpu_to_phases(&ph_w[3 * (size_t)slot_node[k]], slot_phase[k], p);
      php[k] = p;
    }
    site_p += p;
    throttled |= up && busy && sp < 1.0;
  }
  s->work_done = work_done;
  s->work_ideal = work_ideal;
  *throttled_out = throttled;
  return site_p;
}

static int under(const hr_sim_t *s, int32_t x, int32_t c)
{
  if (x == c)
    return 1;
  const hr_tree_node_t *n = &s->nd[x];
  return (n->parent >= 0 && under(s, n->parent, c)) ||
         (n->parent_b >= 0 && under(s, n->parent_b, c));
}

static void apply_events(hr_sim_t *s)
{
  hr_lease_sys_t *sys = hr_agent_lease_sys(s->agent);
  double t = (double)s->t_ns * 1e-9;
  for (size_t e = 0; e < s->n_ev; e++) {
    const hr_sim_event_t *ev = &s->ev[e];
    double end = ev->duration_s > 0.0 ? ev->at_s + ev->duration_s : INFINITY;
    int want = t >= ev->at_s && t < end ? 1 : (t >= end ? 2 : 0);
    if (want == s->ev_state[e])
      continue;
    int on = want == 1;
    s->ev_state[e] = (unsigned char)want;
    switch (ev->kind) {
    case HR_SIM_FEED_LOSS:
      if (on)
        s->feeds_lost |= ev->feed;
      else
        s->feeds_lost &= ~ev->feed;
      /* The loss is seen by the power system at once; an agent learns it
       * from its transfer-switch or UPS alarm (no measurement needed). */
      hr_lease_sys_set_feed_lost(sys, s->feeds_lost, s->t_ns);
      s->powered_dirty = 1;
      break;
    case HR_SIM_TELEMETRY_LOSS:
      s->telemetry_lost = on;
      break;
    case HR_SIM_COORD_CRASH:
      hr_lease_sys_set_running(sys, (size_t)s->ev_node[e], on ? 0 : 1, s->t_ns);
      break;
    case HR_SIM_METER_FREEZE:
    case HR_SIM_METER_GARBAGE:
    case HR_SIM_METER_STUCK: {
      unsigned char bit = ev->kind == HR_SIM_METER_FREEZE    ? 1
                          : ev->kind == HR_SIM_METER_GARBAGE ? 2
                                                             : 4;
      for (size_t k = 0; k < (size_t)s->n_pop; k++) {
        if (s->ev_node[e] >= 0 && !under(s, s->slot_node[k], (int32_t)s->ev_node[e]))
          continue;
        if (on) {
          /* The sample a frozen or stuck meter repeats: its reading now. */
          hr_act_reading_t rd;
          const unsigned char was = s->tel_fault[k];
          s->tel_fault[k] = 0;
          slot_reading(s, s->slot_dev[k], s->t_ns, &rd);
          s->tel_fault[k] = was;
          double rd_w = rd.p_w;
          if (bit == 1 && !(s->tel_fault[k] & 1)) {
            s->frz_p_w[k] = rd_w;
            s->frz_t_ns[k] = rd.t_ns;
          }
          if (bit == 4 && !(s->tel_fault[k] & 4))
            s->stk_p_w[k] = rd_w;
          s->tel_fault[k] |= bit;
        } else {
          s->tel_fault[k] &= (unsigned char)~bit;
        }
      }
      /* On the waveform path the same fault acts on the meters at or below
       * the node (every meter without one): what they deliver to the agent. */
      for (size_t i = 0; i < hr__simwave_meters(s->wave); i++) {
        size_t mn = hr__simwave_meter_node(s->wave, i);
        if (s->ev_node[e] < 0 || under(s, (int32_t)mn, (int32_t)s->ev_node[e]))
          hr__simwave_set_fault(s->wave, i, bit, on);
      }
      s->any_tel_fault = 0;
      for (size_t k = 0; k < (size_t)s->n_pop; k++)
        s->any_tel_fault |= s->tel_fault[k] != 0;
      break;
    }
    case HR_SIM_UTILITY_OUTAGE:
      /* The transfer switch's alarm tells the agent (no measurement needed),
       * as a feed loss does; the generator takes the load it finds, then
       * rises at its ramp. */
      if (on) {
        s->gen_on = 1;
        s->gen_w = ev->gen_kw * 1e3;
        s->gen_ramp_w_per_s = ev->ramp_kw_per_s * 1e3;
        s->gen_overload_s = ev->overload_s;
        s->gen_over_run_s = 0.0;
        /* (what the site drew at the last step: its input with losses and
         * base loads, the GPUs' power without) */
        double p0 = 0.0;
        for (size_t k = 0; k < (size_t)s->n_pop; k++)
          p0 += s->p_w[k];
        if (s->loss_on)
          p0 = s->loss_site_p;
        for (size_t q = 0; q < s->gen_ring_n; q++)
          s->gen_ring[q] = p0;
        hr_agent_set_supply(s->agent, s->gen_w, s->gen_ramp_w_per_s, s->t_ns);
        /* The same alarm as a lease event: the lease rules' utility loss
         * (degraded mode: no growth, budgets cut; docs/lease.md). */
        (void)hr_agent_set_events(s->agent, HR_EVENT_UTILITY_LOSS);
      } else {
        (void)hr_agent_set_events(s->agent, 0u);
        s->gen_on = 0;
        if (s->gen_tripped) {
          s->gen_tripped = 0; /* the utility is back */
          s->powered_dirty = 1;
        }
        hr_agent_set_supply(s->agent, INFINITY, 0.0, s->t_ns);
      }
      break;
    }
  }
}

/* Sampled telemetry (gpu.telemetry_period_ms): the step that ends at t_end
 * counts toward the next sample when it lies within the window before it
 * (period, window and the step are whole steps, so a step is wholly in or
 * out); at a multiple of the period the sample is taken: the mean over
 * its window's steps, read with time t_end until the next. */
static void tel_sample(hr_sim_t *s, int64_t t_end)
{
  if (s->tel_ph_ns) {
    /* unsynchronized: the same per slot, at the slot's own phase */
    const int64_t per = s->tel_per_ns;
    for (size_t k = 0; k < (size_t)s->n_pop; k++) {
      const int64_t ph = ((t_end - s->tel_ph_ns[k]) % per + per) % per;
      if ((ph == 0 ? 0 : per - ph) < s->tel_win_ns) {
        s->tel_acc_w[k] += s->p_w[k];
        s->tel_n_k[k]++;
      }
      if (ph == 0 && s->tel_n_k[k] > 0) {
        s->tel_held_w[k] = s->tel_acc_w[k] / (double)s->tel_n_k[k];
        s->tel_acc_w[k] = 0.0;
        s->tel_t_ns[k] = t_end;
        s->tel_n_k[k] = 0;
      }
    }
    return;
  }
  const int64_t ph = t_end % s->tel_per_ns;
  const int64_t left = ph == 0 ? 0 : s->tel_per_ns - ph;
  const size_t n = (size_t)s->n_pop;
  if (left < s->tel_win_ns) {
    for (size_t k = 0; k < n; k++)
      s->tel_acc_w[k] += s->p_w[k];
    s->tel_n++;
  }
  if (ph == 0 && s->tel_n > 0) {
    const double inv = 1.0 / (double)s->tel_n;
    for (size_t k = 0; k < n; k++) {
      s->tel_held_w[k] = s->tel_acc_w[k] * inv;
      s->tel_acc_w[k] = 0.0;
    }
    s->tel_held_t_ns = t_end;
    s->tel_n = 0;
  }
}

int hr_sim_step(hr_sim_t *s)
{
  if (!s)
    return HR_ERR_INVALID_ARG;
  if (s->t_ns >= s->end_ns)
    return HR_ERR_EOF;
  apply_events(s);
  /* Waveform path: the last step's samples reach the meters, whose records
   * reach the agent before its step, as the fast path's readings do; the
   * wall clock times samples -> meter -> agent -> cap call. */
  struct timespec w0 = {0, 0};
  int timed = 0, rc;
  if (s->wave && s->t_ns > 0) {
    clock_gettime(CLOCK_MONOTONIC, &w0);
    timed = !hr__simwave_fast(s->wave);
    rc = hr__simwave_push(s->wave, s->ph_w, s->ph_q, s->powered, s->t_ns - s->step_ns);
    if (rc != HR_OK)
      return rc;
    struct timespec w1;
    clock_gettime(CLOCK_MONOTONIC, &w1);
    s->meter_wall_s += (double)(w1.tv_sec - w0.tv_sec) + 1e-9 * (double)(w1.tv_nsec - w0.tv_nsec);
  }
  hr_agent_step_info_t info;
  rc = hr_agent_step(s->agent, &info);
  if (rc != HR_OK)
    return rc;
  if (timed && info.caps_set > 0) {
    struct timespec w2;
    clock_gettime(CLOCK_MONOTONIC, &w2);
    double lat = (double)(w2.tv_sec - w0.tv_sec) + 1e-9 * (double)(w2.tv_nsec - w0.tv_nsec);
    hr__lathist_add(&s->e2e, lat);
    if (info.why == HR_WHY_STEP || info.why == HR_WHY_PREDICT)
      hr__lathist_add(&s->e2e_step, lat);
  }
  if (s->powered_dirty)
    update_powered(s);

  const double t = (double)s->t_ns * 1e-9, dt = s->dt_s;
  const hr_sim_gpu_cfg_t *g = &s->g;
  /* Caps that come into force during this step (none before the earliest
   * pending one: most steps look at no GPU). */
  int64_t t_end = s->t_ns + s->step_ns;
  if (s->plain || s->pend_min_ns <= t_end) {
    int64_t next = INT64_MAX;
    for (size_t k = 0; k < (size_t)s->n_pop; k++) { /* an empty slot's cap never acts */
      if (s->pend_t_ns[k] <= t_end) {
        s->cap_w[k] = s->pend_cap_w[k];
        s->pend_t_ns[k] = INT64_MAX;
      }
      if (s->pend_t_ns[k] < next)
        next = s->pend_t_ns[k];
    }
    s->pend_min_ns = next;
  }
  /* Clock locks, likewise. */
  if (s->pend_clk_min_ns <= t_end) {
    int64_t next = INT64_MAX;
    for (size_t k = 0; k < (size_t)s->n_pop; k++) {
      if (s->pend_clk_t_ns[k] <= t_end) {
        s->clk[k] = s->pend_clk[k];
        s->clk_pf[k] = s->clk[k] < 1.0 ? pow(s->clk[k], g->clock_power_exp) : 1.0;
        s->pend_clk_t_ns[k] = INT64_MAX;
      }
      if (s->pend_clk_t_ns[k] < next)
        next = s->pend_clk_t_ns[k];
    }
    s->pend_clk_min_ns = next;
  }
  /* Smoothing floors set through the actuator, likewise. */
  if (s->sm_pend_min_ns <= t_end) {
    int64_t next = INT64_MAX;
    for (size_t k = 0; k < (size_t)s->n_pop; k++) {
      if (s->sm_pend_t_ns[k] <= t_end) {
        s->sm[k] = s->sm_pend[k];
        s->sm_pend_t_ns[k] = INT64_MAX;
        s->sm_on = 1;
      }
      if (s->sm_pend_t_ns[k] < next)
        next = s->sm_pend_t_ns[k];
    }
    s->sm_pend_min_ns = next;
  }
  /* Jobs: one demand per job and step; a synchronous job goes at the pace
   * of its slowest GPU. */
  for (size_t w = 0; w < s->n_work; w++) {
    const hr_workload_t *wl = &s->work[w];
    job_t *j = &s->jobs[w];
    j->speed = 1.0;
    if (wl->kind == HR_WORK_TRAINING) {
      j->d_w = train_demand(s, wl, j, t, &j->running);
      for (int r = 0; r < wl->n_restarts && !j->running; r++)
        if (t >= wl->restart_at_s[r] && t < wl->restart_at_s[r] + wl->restart_s)
          j->phi_s = 0.0; /* after a restart the job begins a new iteration */
    } else if (wl->kind == HR_WORK_BATCH) {
      j->running = t >= wl->start_s;
      j->d_w = j->running ? wl->power_w : g->idle_w;
    } else {
      j->running = 0; /* per replica, below */
      j->d_w = g->idle_w;
    }
  }
  hr__infer_out_t io = {0};
  /* Every node's conductors start the step at 0: the inner nodes here, a
   * populated GPU's in the loop (gpu_to_phases), an empty slot's never
   * written (calloc). */
  for (size_t i = 0; i < s->n_inner; i++)
    memset(&s->ph_w[3 * (size_t)s->inner[i]], 0, 3 * sizeof *s->ph_w);
  for (size_t i = 0; s->sup_on && i < s->n_inner; i++) {
    if (s->pf_on)
      memset(&s->ph_q[3 * (size_t)s->inner[i]], 0, 3 * sizeof *s->ph_q);
    memset(&s->sub_ph[3 * (size_t)s->inner[i]], 0, 3 * sizeof *s->sub_ph);
  }
  double roots_p = 0.0; /* loss_on: the roots' real power, the site's */
  double site_p = 0.0;
  /* Loop invariants in locals: the compiler must otherwise reload them after
   * every store of a double. */
  const double idle_w = g->idle_w, mv = g->slew_w_per_ms * (dt * 1e3);
  const int smooth = s->sm_on;
  int throttled = 0; /* any powered busy GPU below full speed this step */
  /* Without smoothing or inference, gpu_pass_lean (the same steps); the
   * loop below otherwise (and in the plain form). */
  const int lean = !smooth && !s->any_inf && !s->plain;
  if (lean)
    site_p = gpu_pass_lean(s, idle_w, mv, dt, &throttled);
  for (size_t k = 0; !lean && k < (size_t)s->n_pop; k++) {
    int32_t w = s->slot_work[k];
    int up = s->powered[s->slot_node[k]];
    double d = idle_w, sp = 1.0;
    int busy = 0;
    if (w >= 0 && s->inf[w]) {
      /* Inference: the replica steps once, at its first GPU. */
      const hr_workload_t *wl = &s->work[w];
      int off = (int)k - wl->gpu_first;
      if (off % wl->gpus_per_replica == 0) {
        double cmin = INFINITY, rmin = 1.0;
        int all_up = 1;
        for (int q = 0; q < wl->gpus_per_replica; q++) {
          size_t kk = k + (size_t)q;
          if (s->cap_w[kk] < cmin)
            cmin = s->cap_w[kk];
          if (s->clk[kk] < rmin)
            rmin = s->clk[kk];
          all_up &= s->powered[s->slot_node[kk]];
        }
        /* A replica's GPUs step together (tensor parallelism): the slowest
         * clock sets the pace, the lowest cap the power. */
        hr__infer_clock_t ck = {rmin, g->clock_power_exp, g->clock_decode_exp};
        hr__infer_step(s->inf[w], (size_t)(off / wl->gpus_per_replica), t, t + dt, cmin, all_up,
                       s->admit, g->idle_w, g->gamma, &ck, &io);
      }
      d = io.demand_w;
      sp = io.speed;
      busy = io.busy;
      if (io.busy_s > 0.0) {
        s->work_done += io.busy_s * io.speed;
        s->work_ideal += io.busy_s;
      }
      if (s->admit)
        hr_agent_push_want(s->agent, (size_t)s->slot_dev[k], io.want_w, s->t_ns);
    } else if (w >= 0) {
      job_t *j = &s->jobs[w];
      d = j->d_w;
      busy = j->running;
      sp = job_gpu_speed(g, j, up, s->cap_w[k], s->clk[k], s->clk_pf[k], idle_w, &d);
      if (j->running) {
        if (s->work[w].kind == HR_WORK_TRAINING) {
          if (sp < j->speed)
            j->speed = sp;
        } else {
          s->work_done += dt * sp;
          s->work_ideal += dt;
        }
      }
    }
    s->dem_w[k] = d;
    s->speed[k] = sp;
    double target = up ? (d < s->cap_w[k] ? d : s->cap_w[k]) : 0.0;
    if (up && target < idle_w)
      target = idle_w;
    double p = s->p_w[k];
    if (up && smooth && s->sm[k].set) {
      /* Power smoothing (NVML power smoothing, Blackwell), as the GPU's
       * profile holds it: a busy GPU burns up to the floor (never above its
       * cap), and its power moves at most at the ramps, a fall only once it
       * has wanted to fall for the hysteresis, except that a cap below the
       * power is obeyed at the slew (the cap is the protection).  With
       * smoothing off (a floor of 0) the GPU keeps its own edges; it is
       * still stepped here, where a lag behind its demand (its slew) counts
       * as lost speed, as it was before the profile went through the
       * actuator; a GPU that never had a smoothing call takes the plain
       * path below. */
      const sm_prof_t *pf = &s->sm[k];
      double up_mv = mv, dn_mv = mv;
      if (pf->en) {
        if (busy && target < pf->floor_w)
          target = pf->floor_w < s->cap_w[k] ? pf->floor_w : s->cap_w[k];
        double r = pf->up_w_per_ms * (dt * 1e3);
        if (pf->up_w_per_ms > 0.0 && r < mv)
          up_mv = r;
        r = pf->dn_w_per_ms * (dt * 1e3);
        if (pf->dn_w_per_ms > 0.0 && r < mv)
          dn_mv = r;
      }
      if (p > s->cap_w[k]) {
        dn_mv = mv;
      } else if (pf->en && pf->hyst_ns > 0 && target < p) {
        if (s->sm_fall_ns[k] == INT64_MAX)
          s->sm_fall_ns[k] = s->t_ns;
        if (s->t_ns - s->sm_fall_ns[k] < pf->hyst_ns)
          dn_mv = 0.0;
      } else {
        s->sm_fall_ns[k] = INT64_MAX;
      }
      double np = target > p ? (p + up_mv < target ? p + up_mv : target)
                             : (p - dn_mv > target ? p - dn_mv : target);
      /* A GPU held below its demand by the ramp runs as if capped there. */
      if (w >= 0 && !s->inf[w] && np < d && np < s->cap_w[k]) {
        double sp2 = speed_under_cap(g, np > g->idle_w ? np : g->idle_w, d);
        job_t *j = &s->jobs[w];
        if (sp2 < sp && j->running) {
          if (s->work[w].kind == HR_WORK_TRAINING) {
            if (sp2 < j->speed)
              j->speed = sp2;
          } else {
            s->work_done += dt * (sp2 - sp);
          }
        }
        if (sp2 < sp)
          s->speed[k] = sp = sp2;
      }
      s->p_w[k] = np;
    } else {
      p = target > p ? (p + mv < target ? p + mv : target) : (p - mv > target ? p - mv : target);
      s->p_w[k] = p;
    }
    /* The GPU's power on the conductors it sits on (its own node's): set
     * again only when its power changed.  Nothing else writes a GPU node's
     * conductors, and the shares are a function of p alone (for p = -0
     * and +0 alike they are +0: 0 + -0/3 is +0), so the values left from
     * the step that set them are what this step would write: a steady GPU
     * skips the divisions. */
    if (s->plain || !(s->p_w[k] == s->ph_p_w[k])) {
      gpu_to_phases(&s->ph_w[3 * (size_t)s->slot_node[k]], s->slot_phase[k], s->p_w[k]);
      s->ph_p_w[k] = s->p_w[k];
    }
    site_p += s->p_w[k];
    throttled |= up && busy && sp < 1.0;
  }
  if (throttled)
    s->capped_s += dt;
  for (size_t w = 0; w < s->n_work; w++) {
    const hr_workload_t *wl = &s->work[w];
    job_t *j = &s->jobs[w];
    if (wl->kind != HR_WORK_TRAINING || !j->running)
      continue;
    double phase = fmod(j->phi_s, wl->period_s);
    int compute = phase < wl->compute_frac * wl->period_s;
    /* Capping slows the compute phase; communication runs at its own pace,
     * but a job with an unpowered GPU stalls altogether. */
    double adv = j->speed <= 0.0 ? 0.0 : (compute ? dt * j->speed : dt);
    j->phi_s += adv;
    double n_g = (double)(wl->gpu_end - wl->gpu_first);
    s->work_done += adv * n_g;
    s->work_ideal += dt * n_g;
  }

  /* Electricity, up the tree from the GPUs' conductors (summed in the GPU
   * loop above); a dual-corded node splits over its powered feeds.  A
   * single-fed parent's sums stay in registers (acc) while consecutive nodes
   * feed it (a server's GPUs): the same additions in the same order, without
   * a store and a reload per GPU. */
  int32_t acc_k = -1;
  double acc[3] = {0.0, 0.0, 0.0};
  for (size_t k = s->n; k-- > 0;) {
    if (s->node_run[k] > 0 && !s->plain) {
      /* A run of device-less leaves under one parent (node_run): the steps
       * below for each, from k down, without the tests that cannot pass
       * for them (a leaf is nobody's acc_k; no device; one parent). */
      const int32_t pa = s->node_pa[k];
      const size_t k_lo = k + 1 - (size_t)s->node_run[k];
      if (pa != acc_k) {
        if (acc_k >= 0)
          memcpy(&s->ph_w[3 * (size_t)acc_k], acc, sizeof acc);
        acc_k = pa;
        memcpy(acc, &s->ph_w[3 * (size_t)pa], sizeof acc);
      }
      for (size_t y = k + 1; y-- > k_lo;) {
        const double *ph = &s->ph_w[3 * y];
        double tot = ph[0] + ph[1] + ph[2];
        hr_sim_node_result_t *r = &s->res[y];
        if (tot > r->max_p_w)
          r->max_p_w = r->max_s_va = tot; /* a GPU leaf carries no reactive power */
        if (tot > r->cont_w)
          r->over_cont_s += dt;
        acc[0] += ph[0];
        acc[1] += ph[1];
        acc[2] += ph[2];
      }
      k = k_lo; /* the loop's k-- goes on below the run */
      continue;
    }
    const hr_tree_node_t *x = &s->nd[k];
    double *ph = &s->ph_w[3 * k];
    if ((int32_t)k == acc_k) {
      ph[0] = acc[0];
      ph[1] = acc[1];
      ph[2] = acc[2];
      acc_k = -1;
    }
    double side_a = 1.0; /* the A side's share, as the real power's below */
    if (s->sup_on && s->node_pb[k] >= 0) {
      const int32_t ka = s->node_pa[k], kb = s->node_pb[k];
      side_a = s->powered[ka] && s->powered[kb] ? 0.5 : (s->powered[ka] ? 1.0 : 0.0);
    }
    double lf_sup = -1.0; /* loss_on: a supply's load fraction */
    if (s->loss_on && s->sup_max_w[k] > 0.0)
      lf_sup = supply_input(s, k, ph, side_a);
    double tot = ph[0] + ph[1] + ph[2];
    hr_sim_node_result_t *r = &s->res[k];
    if (tot > r->max_p_w)
      r->max_p_w = tot;
    /* The apparent power per conductor, |P + jQ| (PF 1: P).  qa, qb: the
     * reactive power this node sends to its A and B parents. */
    double va[3] = {ph[0], ph[1], ph[2]}, qa[3], qb[3];
    const int has_q = s->pf_on;
    if (has_q) {
      double *pq = &s->ph_q[3 * k]; /* its inner children's, so far */
      for (int q = 0; q < 3; q++) {
        qa[q] = side_a * pq[q];
        qb[q] = (1.0 - side_a) * pq[q];
      }
      if (s->sup_max_w[k] > 0.0) {
        /* A supply: the reactive power of its own GPUs' load (its power
         * less what its inner children brought), at the load fraction of
         * each side's supplies (a dual-corded server's halves share its
         * load while both feeds are up, each sized for the whole). */
        const double *sb = &s->sub_ph[3 * k];
        double own[3], own_tot = 0.0;
        for (int q = 0; q < 3; q++) {
          own[q] = ph[q] - sb[q];
          own_tot += own[q];
        }
        const double lf = lf_sup >= 0.0 ? lf_sup : own_tot / s->sup_max_w[k];
        const double ta = side_a > 0.0 ? pf_tan(s, lf * side_a) : 0.0;
        const double tb = side_a < 1.0 ? pf_tan(s, lf * (1.0 - side_a)) : 0.0;
        for (int q = 0; q < 3; q++) {
          qa[q] += side_a * own[q] * ta;
          qb[q] += (1.0 - side_a) * own[q] * tb;
        }
      }
      for (int q = 0; q < 3; q++) {
        pq[q] = qa[q] + qb[q];
        va[q] = sqrt(ph[q] * ph[q] + pq[q] * pq[q]);
      }
    }
    double tot_va = va[0] + va[1] + va[2];
    if (tot_va > r->max_s_va)
      r->max_s_va = tot_va;
    if (has_q ? tot_va > s->cont_va[k] || tot > s->cont_pw[k] : tot_va > r->cont_w)
      r->over_cont_s += dt;
    if (s->dev[k]) {
      /* Conductor current: line-to-neutral volt-amperes over the
       * line-to-neutral voltage (u_v is line to line on three-phase and L-L
       * nodes). */
      double u_ln = x->n_phases == 3 || x->phase >= HR_PHASE_AB ? x->u_v / sqrt(3.0) : x->u_v;
      hr_device_input_t in = {{0.0, 0.0, 0.0}, 3, 0.0};
      if (u_ln > 0.0)
        for (int q = 0; q < 3; q++)
          in.i_a[q] = va[q] / u_ln;
      if (x->n_phases == 1) {
        in.n_phases = 1;
        in.i_a[0] = fmax(in.i_a[0], fmax(in.i_a[1], in.i_a[2]));
      }
      int was = hr_device_tripped(s->dev[k]);
      hr_device_step_ex(s->dev[k], &in, dt);
      for (int q = 0; q < in.n_phases; q++)
        s->i2_as[3 * k + (size_t)q] += in.i_a[q] * in.i_a[q] * dt;
      double th = hr_device_thermal(s->dev[k]);
      if (th > r->max_thermal)
        r->max_thermal = th;
      if (!was && hr_device_tripped(s->dev[k])) {
        hr_device_status_t st;
        hr_device_status(s->dev[k], &st);
        r->tripped = 1;
        r->trip_t_s = st.t_trip_s;
        r->trip_elem = st.element;
        s->trips++;
        s->powered_dirty = 1;
      }
    }
    int32_t pa = s->node_pa[k], pb = s->node_pb[k];
    if (pa < 0) {
      roots_p += tot;
      continue;
    }
    if (s->sup_on) {
      /* Reactive power goes up as the real power does (below), and an
       * inner node's real power is marked as not its parent's own. */
      const double fq = side_a;
      const int inner = x->n_children > 0;
      for (int q = 0; q < 3; q++) {
        if (has_q)
          s->ph_q[3 * (size_t)pa + q] += qa[q];
        if (inner)
          s->sub_ph[3 * (size_t)pa + q] += fq * ph[q];
        if (pb >= 0) {
          if (has_q)
            s->ph_q[3 * (size_t)pb + q] += qb[q];
          if (inner)
            s->sub_ph[3 * (size_t)pb + q] += (1.0 - fq) * ph[q];
        }
      }
    }
    if (pb < 0) {
      /* fa = 1: the parent takes 1.0 x ph[q], which is ph[q] exactly */
      if (pa != acc_k) {
        if (acc_k >= 0)
          memcpy(&s->ph_w[3 * (size_t)acc_k], acc, sizeof acc);
        acc_k = pa;
        memcpy(acc, &s->ph_w[3 * (size_t)pa], sizeof acc);
      }
      acc[0] += ph[0];
      acc[1] += ph[1];
      acc[2] += ph[2];
      continue;
    }
    if (acc_k >= 0)
      memcpy(&s->ph_w[3 * (size_t)acc_k], acc, sizeof acc);
    acc_k = -1;
    int ua = s->powered[pa], ub = pb >= 0 && s->powered[pb];
    double fa = pb < 0 ? 1.0 : (ua && ub ? 0.5 : (ua ? 1.0 : 0.0));
    for (int q = 0; q < 3; q++) {
      s->ph_w[3 * (size_t)pa + q] += fa * ph[q];
      if (pb >= 0)
        s->ph_w[3 * (size_t)pb + q] += (1.0 - fa) * ph[q];
    }
  }
  if (acc_k >= 0)
    memcpy(&s->ph_w[3 * (size_t)acc_k], acc, sizeof acc);
  /* With losses and base loads the site draws more than its GPUs. */
  if (s->loss_on)
    site_p = s->loss_site_p = roots_p;
  s->energy_j += site_p * dt;
  if (s->gen_on && !s->gen_tripped) {
    /* The generator: above its rating for overload_s it trips [M]; its
     * load acceptance is its ramp over any second (ISO 8528-5 limits load
     * steps; the figure is the scenario's). */
    /* Overload in the integral form of IEEE C37.112 (orchestration.md
     * §3.1): gen_over_run_s is the accumulator in seconds of overload (trip
     * at overload_s).  Below the rating it resets with the dependent-time
     * characteristic t_reset = t_r / (1 - M^2), M = load / rating, t_r =
     * overload_s [M]: a dip of one step takes back only dt (1 - M^2) of
     * the overload's clock, so an overload that dips and comes back is not
     * restarted from zero (a definite reset did exactly that). */
    /* Above the rating by more than the sums' rounding: a load held at
     * the rating itself (caps summed to it, drawn in another order) is not
     * an overload. */
    if (site_p > s->gen_w * (1.0 + 1e-9)) {
      s->gen_over_s += dt;
      s->gen_over_run_s += dt;
      if (s->gen_over_run_s >= s->gen_overload_s) {
        s->gen_tripped = 1;
        s->gen_trips++;
        s->trips++;
        s->powered_dirty = 1;
      }
    } else if (s->gen_over_run_s > 0.0) {
      double m = s->gen_w > 0.0 ? site_p / s->gen_w : 0.0;
      s->gen_over_run_s -= dt * (1.0 - m * m);
      if (s->gen_over_run_s < 0.0)
        s->gen_over_run_s = 0.0;
    }
    double old = s->gen_ring[s->gen_ring_i];
    if (site_p - old > s->gen_ramp_w_per_s * (double)s->gen_ring_n * dt + 1e-6)
      s->gen_ramp_viol_s += dt;
    s->gen_ring[s->gen_ring_i] = site_p;
    s->gen_ring_i = (s->gen_ring_i + 1) % s->gen_ring_n;
  }
  if (site_p > s->max_site_p)
    s->max_site_p = site_p;
  if (s->grid) {
    hr_grid_status_t gs;
    hr_grid_monitor_push(s->grid, site_p, &gs);
    s->last_ramp = gs.ramp_w_per_s;
    double p_then = s->site_ring[s->site_ring_i];
    s->site_ring[s->site_ring_i] = site_p;
    s->site_ring_i = (s->site_ring_i + 1) % s->site_ring_n;
    if (gs.settled) {
      if (gs.ramp_w_per_s > s->max_ramp)
        s->max_ramp = gs.ramp_w_per_s;
      if (gs.violations & HR_GRID_VIOL_RAMP) {
        s->ramp_viol_s += dt;
        /* settled: the ring holds a whole window, p_then is P(t - window) */
        if (site_p > p_then)
          s->ramp_up_s += dt;
        else
          s->ramp_down_s += dt;
      }
      if (gs.violations & ~(unsigned)(HR_GRID_VIOL_RAMP | HR_GRID_VIOL_MAX | HR_GRID_VIOL_MIN))
        s->osc_viol_s += dt;
    }
  }
  if (s->tel_per_ns > 0)
    tel_sample(s, t_end);
  s->t_ns = t_end;
  const int64_t win_ns = (int64_t)(HR_SIM_SUSTAIN_WINDOW_S * 1e9);
  if (t_end - s->sus_t0_ns >= win_ns) {
    sustain_close(s, (double)(t_end - s->sus_t0_ns) * 1e-9, 1);
    s->sus_t0_ns = t_end;
    s->sus_windows++;
  }
  return HR_OK;
}

static void fill_sample(const hr_sim_t *s, hr_sim_sample_t *o)
{
  memset(o, 0, sizeof *o);
  o->t_s = (double)s->t_ns * 1e-9;
  double sp = 0.0;
  int busy = 0;
  for (size_t k = 0; k < (size_t)s->n_pop; k++) {
    o->site_p_w += s->p_w[k];
    o->caps_w += s->cap_w[k];
    o->demand_w += s->dem_w[k];
    if (s->sm_on)
      o->floors_w += s->sm[k].en ? s->sm[k].floor_w : 0.0;
    if (s->p_w[k] > s->cap_w[k])
      o->over_cap_w += s->p_w[k] - s->cap_w[k];
    if (s->slot_work[k] >= 0) {
      sp += s->speed[k];
      busy++;
    }
  }
  o->speed = busy ? sp / busy : 1.0;
  if (s->loss_on)
    o->site_p_w = s->loss_site_p; /* the GPUs', the base loads and the losses */
  for (size_t k = 0; k < s->n; k++)
    if (s->dev[k]) {
      double th = hr_device_thermal(s->dev[k]);
      if (th > o->max_thermal) {
        o->max_thermal = th;
        o->max_thermal_node = k;
      }
    }
  o->ramp_w_per_s = s->last_ramp;
  o->trips = s->trips;
}

int hr_sim_run(hr_sim_t *s, hr_sim_sample_fn fn, void *user)
{
  if (!s)
    return HR_ERR_INVALID_ARG;
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  int rc = HR_OK;
  while (!s->stop_req && (rc = hr_sim_step(s)) == HR_OK) {
    if (fn && s->t_ns >= s->next_sample_ns) {
      hr_sim_sample_t smp;
      fill_sample(s, &smp);
      fn(user, &smp);
      s->next_sample_ns += s->sample_ns;
    }
  }
  if (s->stop_req && rc == HR_OK)
    rc = HR_ERR_EOF; /* a stop is a short run, not an error: the result covers [0, t] */
  /* A run shorter than one window: its whole length is the window. */
  if (s->sus_windows == 0)
    sustain_close(s, (double)(s->t_ns - s->sus_t0_ns) * 1e-9, 0);
  clock_gettime(CLOCK_MONOTONIC, &b);
  s->wall_s += (double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - a.tv_nsec);
  return rc == HR_ERR_EOF ? HR_OK : rc;
}

void hr_sim_request_stop(hr_sim_t *s)
{
  if (s)
    s->stop_req = 1;
}

int hr_sim_result(const hr_sim_t *s, hr_sim_result_t *o)
{
  if (!s || !o)
    return HR_ERR_INVALID_ARG;
  memset(o, 0, sizeof *o);
  o->t_s = (double)s->t_ns * 1e-9;
  o->n_gpus = s->n_pop;
  o->trips = s->trips;
  o->energy_j = s->energy_j;
  o->work = s->work_done;
  o->work_uncapped = s->work_ideal;
  o->work_frac = s->work_ideal > 0.0 ? s->work_done / s->work_ideal : 1.0;
  o->ramp_viol_s = s->ramp_viol_s;
  o->osc_viol_s = s->osc_viol_s;
  o->capped_s = s->capped_s;
  o->ramp_up_s = s->ramp_up_s;
  o->ramp_down_s = s->ramp_down_s;
  o->max_ramp_w_per_s = s->max_ramp;
  o->max_site_p_w = s->max_site_p;
  o->gen_over_s = s->gen_over_s;
  o->gen_ramp_viol_s = s->gen_ramp_viol_s;
  o->gen_trips = s->gen_trips;
  o->ttft_p50_s = hr__lathist_quantile(&s->ttft, 0.50);
  o->ttft_p99_s = hr__lathist_quantile(&s->ttft, 0.99);
  o->tbt_p50_s = hr__lathist_quantile(&s->tbt, 0.50);
  o->tbt_p99_s = hr__lathist_quantile(&s->tbt, 0.99);
  o->ttft_hi_p99_s = hr__lathist_quantile(&s->ttft_hi, 0.99);
  o->tbt_hi_p99_s = hr__lathist_quantile(&s->tbt_hi, 0.99);
  for (size_t w = 0; w < s->n_work; w++)
    if (s->inf[w])
      hr__infer_totals(s->inf[w], &o->inf_requests, &o->inf_completed, &o->inf_tokens);
  o->nodes = s->res;
  o->n_nodes = s->n;
  o->wall_s = s->wall_s;
  o->waveforms = s->wave != NULL && !hr__simwave_fast(s->wave);
  o->n_meters = hr__simwave_meters(s->wave);
  o->meter_records = hr__simwave_records(s->wave);
  o->e2e_n = s->e2e.n;
  o->e2e_step_n = s->e2e_step.n;
  o->e2e_p50_s = hr__lathist_quantile(&s->e2e, 0.50);
  o->e2e_p99_s = hr__lathist_quantile(&s->e2e, 0.99);
  o->e2e_max_s = s->e2e.n ? s->e2e.max_s : NAN;
  o->e2e_step_p50_s = hr__lathist_quantile(&s->e2e_step, 0.50);
  o->e2e_step_p99_s = hr__lathist_quantile(&s->e2e_step, 0.99);
  o->e2e_step_max_s = s->e2e_step.n ? s->e2e_step.max_s : NAN;
  o->meter_wall_s = s->meter_wall_s;
  return hr_agent_stats(s->agent, &o->agent);
}

int hr_sim_node_state(const hr_sim_t *s, size_t node, double *p_w, double *thermal)
{
  if (!s || node >= s->n)
    return HR_ERR_INVALID_ARG;
  if (p_w)
    *p_w = s->ph_w[3 * node] + s->ph_w[3 * node + 1] + s->ph_w[3 * node + 2];
  if (thermal)
    *thermal = s->dev[node] ? hr_device_thermal(s->dev[node]) : 0.0;
  return HR_OK;
}
