/* Simulated GPUs: power follows min(demand, enforced cap), never below idle,
 * moving at a bounded slew; a new cap is enforced after a fixed actuation
 * delay, and so is a clock lock, which scales the demand above idle by
 * r^clock_power_exp (docs/sim.md, "Clock locks").  Driven only by the times
 * given to it, so runs are reproducible. */
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>

#include "actuate_int.h"

#define PENDING 8

typedef struct simgpu {
  double demand_w, p_w, cap_w;
  int64_t t_ns;             /* state is valid at this time */
  double pend_cap[PENDING]; /* caps waiting for their effective time, in order */
  int64_t pend_t[PENDING];
  int pend_head, pend_n;
  double clk_pf;      /* the lock in force: r^clock_power_exp (1 unlocked) */
  double clk_pend_pf; /* the newest lock waiting for its time */
  int64_t clk_pend_t; /* its time; INT64_MAX: none */
  char name[24];
} simgpu_t;

/* The telemetry dither's key (hr__tel_reading_w): fixed, the readings are
 * deterministic. */
#define SIMGPU_TEL_KEY 0x5349474750550001ull

typedef struct simgpus {
  hr_simgpu_cfg_t cfg;
  simgpu_t *g;
} simgpus_t;

int hr_simgpu_cfg_init(hr_simgpu_cfg_t *cfg, int n_gpus)
{
  if (!cfg)
    return HR_ERR_INVALID_ARG;
  cfg->n_gpus = n_gpus;
  cfg->idle_w = 70.0;
  cfg->cap_min_w = 200.0;
  cfg->cap_max_w = 700.0;
  cfg->delay_ms = 5.0;
  cfg->slew_w_per_ms = 80.0;
  cfg->clock_max_mhz = 1980.0;
  cfg->clock_power_exp = 1.0 / 0.647;
  return HR_OK;
}

static double target(const simgpus_t *s, const simgpu_t *g)
{
  double d = g->demand_w;
  if (g->clk_pf < 1.0 && d > s->cfg.idle_w)
    d = s->cfg.idle_w + (d - s->cfg.idle_w) * g->clk_pf;
  double t = d < g->cap_w ? d : g->cap_w;
  return t > s->cfg.idle_w ? t : s->cfg.idle_w;
}

/* Moves the power toward its target for dt_ns at the slew limit. */
static void slew(const simgpus_t *s, simgpu_t *g, int64_t dt_ns)
{
  double step = s->cfg.slew_w_per_ms * (double)dt_ns * 1e-6, tg = target(s, g);
  if (g->p_w < tg)
    g->p_w = g->p_w + step < tg ? g->p_w + step : tg;
  else
    g->p_w = g->p_w - step > tg ? g->p_w - step : tg;
}

/* Advances GPU g to time t_ns, enforcing pending caps at their times. */
static void advance(const simgpus_t *s, simgpu_t *g, int64_t t_ns)
{
  for (;;) {
    int64_t tc = g->pend_n ? g->pend_t[g->pend_head] : INT64_MAX, te = tc;
    if (g->clk_pend_t < te)
      te = g->clk_pend_t;
    if (te > t_ns)
      break;
    if (te > g->t_ns) {
      slew(s, g, te - g->t_ns);
      g->t_ns = te;
    }
    if (tc == te) {
      g->cap_w = g->pend_cap[g->pend_head];
      g->pend_head = (g->pend_head + 1) % PENDING;
      g->pend_n--;
    } else {
      g->clk_pf = g->clk_pend_pf;
      g->clk_pend_t = INT64_MAX;
    }
  }
  if (t_ns > g->t_ns) {
    slew(s, g, t_ns - g->t_ns);
    g->t_ns = t_ns;
  }
}

static int sim_read(hr_actuator_t *a, int dev, hr_power_source_t src, int64_t t_ns,
                    hr_act_reading_t *out)
{
  (void)src;
  simgpus_t *s = a->impl;
  simgpu_t *g = &s->g[dev];
  if (t_ns < g->t_ns)
    return hr__act_fail(a, HR_ERR_INVALID_ARG,
                        "simgpu %d: read at %lld ns is before the last event at %lld ns", dev,
                        (long long)t_ns, (long long)g->t_ns);
  advance(s, g, t_ns);
  /* Quantised to 1 mW with a dither (actuate_int.h): a steady GPU's
   * telemetry is not one value bit for bit (hr_agent_cfg_t.stuck_ns). */
  out->p_w = hr__tel_reading_w(SIMGPU_TEL_KEY, dev, t_ns, g->p_w);
  out->cap_w = g->cap_w;
  out->valid = 1;
  return HR_OK;
}

static int sim_limits(hr_actuator_t *a, int dev, hr_act_limits_t *out)
{
  (void)dev;
  const simgpus_t *s = a->impl;
  out->cap_min_w = s->cfg.cap_min_w;
  out->cap_max_w = s->cfg.cap_max_w;
  out->default_w = s->cfg.cap_max_w;
  return HR_OK;
}

static int sim_set_cap(hr_actuator_t *a, int dev, double cap_w, int64_t t_ns)
{
  simgpus_t *s = a->impl;
  simgpu_t *g = &s->g[dev];
  if (t_ns < g->t_ns)
    return hr__act_fail(a, HR_ERR_INVALID_ARG,
                        "simgpu %d: cap set at %lld ns is before the last event at %lld ns", dev,
                        (long long)t_ns, (long long)g->t_ns);
  advance(s, g, t_ns);
  if (g->pend_n == PENDING) {
    /* Commands faster than the delay: the newest one replaces the last. */
    g->pend_n--;
  }
  int slot = (g->pend_head + g->pend_n) % PENDING;
  g->pend_cap[slot] = cap_w;
  g->pend_t[slot] = t_ns + llround(s->cfg.delay_ms * 1e6);
  g->pend_n++;
  if (s->cfg.delay_ms == 0.0)
    advance(s, g, t_ns);
  return HR_OK;
}

/* The clock lock's maximum sets the model; the call carries no time, so it
 * takes effect delay_ms after the GPU's last event. */
static int sim_lock_clocks(hr_actuator_t *a, int dev, int min_mhz, int max_mhz)
{
  simgpus_t *s = a->impl;
  simgpu_t *g = &s->g[dev];
  double pf = 1.0;
  if (min_mhz != 0 || max_mhz != 0) {
    if (max_mhz < 1)
      return hr__act_fail(a, HR_ERR_RANGE, "simgpu %d: clock lock %d..%d MHz", dev, min_mhz,
                          max_mhz);
    double r = (double)max_mhz / s->cfg.clock_max_mhz;
    pf = r < 1.0 ? pow(r, s->cfg.clock_power_exp) : 1.0;
  }
  g->clk_pend_pf = pf;
  g->clk_pend_t = g->t_ns + llround(s->cfg.delay_ms * 1e6);
  if (s->cfg.delay_ms == 0.0)
    advance(s, g, g->t_ns);
  return HR_OK;
}

static const char *sim_name(const hr_actuator_t *a, int dev)
{
  return ((const simgpus_t *)a->impl)->g[dev].name;
}

static void sim_destroy(hr_actuator_t *a)
{
  simgpus_t *s = a->impl;
  if (s)
    free(s->g);
  free(s);
}

static const hr__act_ops_t sim_ops = {
    "simgpu",    sim_read, sim_limits, sim_set_cap, sim_lock_clocks, NULL, sim_name,
    sim_destroy, NULL,     NULL,       NULL,
};

int hr_simgpu_create(const hr_simgpu_cfg_t *cfg, hr_actuator_t **out)
{
  if (!cfg || !out)
    return HR_ERR_INVALID_ARG;
  *out = NULL;
  if (cfg->n_gpus < 1 || cfg->n_gpus > (1 << 20) || !(cfg->idle_w >= 0) || !(cfg->cap_min_w > 0) ||
      !(cfg->cap_max_w >= cfg->cap_min_w) || !(cfg->delay_ms >= 0) || !(cfg->slew_w_per_ms > 0) ||
      !isfinite(cfg->cap_max_w) || !isfinite(cfg->delay_ms) || !(cfg->clock_max_mhz > 0) ||
      !(cfg->clock_power_exp > 0) || !isfinite(cfg->clock_power_exp))
    return HR_ERR_RANGE;
  simgpus_t *s = calloc(1, sizeof *s);
  hr_actuator_t *a = s ? hr__act_new(&sim_ops, cfg->n_gpus) : NULL;
  if (s)
    s->g = calloc((size_t)cfg->n_gpus, sizeof *s->g);
  if (!a || !s || !s->g) {
    free(a);
    if (s)
      free(s->g);
    free(s);
    return HR_ERR_NOMEM;
  }
  s->cfg = *cfg;
  for (int k = 0; k < cfg->n_gpus; k++) {
    s->g[k].cap_w = cfg->cap_max_w;
    s->g[k].p_w = cfg->idle_w;
    s->g[k].clk_pf = 1.0;
    s->g[k].clk_pend_t = INT64_MAX;
    snprintf(s->g[k].name, sizeof s->g[k].name, "simgpu-%d", k);
  }
  a->impl = s;
  *out = a;
  return HR_OK;
}

int hr_simgpu_set_demand(hr_actuator_t *a, int dev, double demand_w, int64_t t_ns)
{
  if (!a || a->ops != &sim_ops)
    return HR_ERR_INVALID_ARG;
  if (dev < 0 || dev >= a->n || !(demand_w >= 0) || !isfinite(demand_w))
    return hr__act_fail(a, HR_ERR_RANGE, "simgpu %d: demand %.1f W is not valid", dev, demand_w);
  simgpus_t *s = a->impl;
  simgpu_t *g = &s->g[dev];
  if (t_ns < g->t_ns)
    return hr__act_fail(a, HR_ERR_INVALID_ARG,
                        "simgpu %d: demand set at %lld ns is before the last event at %lld ns", dev,
                        (long long)t_ns, (long long)g->t_ns);
  advance(s, g, t_ns);
  g->demand_w = demand_w;
  return HR_OK;
}
