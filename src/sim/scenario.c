/* Scenario files (docs/sim.md): YAML -> hr_scenario_t.  Every key is
 * checked (unknown keys, wrong types and values out of range are refused)
 * and every error names the file, line, column and field, like the tree
 * loader's. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "headroom/sim.h"

/* Largest scenario file [bytes]: scenarios are short; this only bounds a
 * mistaken path to a huge file. */
#define SC_MAX_BYTES (4u << 20)
/* Most workloads or events one file may hold; more is refused with an error. */
#define SC_MAX_ITEMS 100000

typedef struct sp {
  yaml_document_t doc;
  hr_diag_t *err;
  const char *name;
  hr_scenario_t *sc;
} sp_t;

static int sfail(sp_t *P, const yaml_node_t *at, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int sfail(sp_t *P, const yaml_node_t *at, int code, const char *field, const char *fmt, ...)
{
  if (!P->err)
    return code;
  hr_diag_t *e = P->err;
  memset(e, 0, sizeof *e);
  e->code = code;
  e->line = at ? (long)at->start_mark.line + 1 : 0;
  e->column = at ? (long)at->start_mark.column + 1 : 0;
  snprintf(e->source, sizeof e->source, "%s", P->name);
  snprintf(e->field, sizeof e->field, "%s", field);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->message, sizeof e->message, fmt, ap);
  va_end(ap);
  return code;
}

static const char *scalar(const yaml_node_t *n)
{
  return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int get_num(sp_t *P, const yaml_node_t *n, const char *field, double lo, double hi,
                   double *out)
{
  const char *s = scalar(n);
  if (!s || !*s)
    return sfail(P, n, HR_ERR_PARSE, field, "expected a number");
  char *end = NULL;
  errno = 0;
  double v = strtod(s, &end);
  if (*end || errno || !isfinite(v))
    return sfail(P, n, HR_ERR_PARSE, field, "'%.60s' is not a number", s);
  if (v < lo || v > hi)
    return sfail(P, n, HR_ERR_RANGE, field, "%.15g is outside %.15g..%.15g", v, lo, hi);
  *out = v;
  return HR_OK;
}

static int get_int(sp_t *P, const yaml_node_t *n, const char *field, double lo, double hi, int *out)
{
  double v;
  int rc = get_num(P, n, field, lo, hi, &v);
  if (rc != HR_OK)
    return rc;
  if (v != floor(v))
    return sfail(P, n, HR_ERR_PARSE, field, "expected a whole number");
  *out = (int)v;
  return HR_OK;
}

static int get_str(sp_t *P, const yaml_node_t *n, const char *field, char *out, size_t len)
{
  const char *s = scalar(n);
  if (!s)
    return sfail(P, n, HR_ERR_PARSE, field, "expected a string");
  if (strlen(s) >= len)
    return sfail(P, n, HR_ERR_RANGE, field, "longer than %zu characters", len - 1);
  memcpy(out, s, strlen(s) + 1);
  return HR_OK;
}

#define FOR_PAIRS(P, map, kv)                                                                      \
  for (yaml_node_pair_t *kv = (map)->data.mapping.pairs.start; kv < (map)->data.mapping.pairs.top; \
       kv++)

static int gpu_block(sp_t *P, const yaml_node_t *m)
{
  if (m->type != YAML_MAPPING_NODE)
    return sfail(P, m, HR_ERR_PARSE, "gpu", "expected a mapping");
  hr_sim_gpu_cfg_t *g = &P->sc->gpu;
  FOR_PAIRS(P, m, kv)
  {
    const yaml_node_t *k = yaml_document_get_node(&P->doc, kv->key);
    const yaml_node_t *v = yaml_document_get_node(&P->doc, kv->value);
    const char *key = scalar(k);
    int rc;
    if (!key)
      return sfail(P, k, HR_ERR_PARSE, "gpu", "keys must be strings");
    if (!strcmp(key, "idle_w"))
      rc = get_num(P, v, "gpu.idle_w", 0, 1e5, &g->idle_w);
    else if (!strcmp(key, "cap_min_w"))
      rc = get_num(P, v, "gpu.cap_min_w", 1, 1e5, &g->cap_min_w);
    else if (!strcmp(key, "cap_max_w"))
      rc = get_num(P, v, "gpu.cap_max_w", 1, 1e5, &g->cap_max_w);
    else if (!strcmp(key, "delay_ms"))
      rc = get_num(P, v, "gpu.delay_ms", 0, 1e5, &g->delay_ms);
    else if (!strcmp(key, "slew_w_per_ms"))
      rc = get_num(P, v, "gpu.slew_w_per_ms", 1e-3, 1e6, &g->slew_w_per_ms);
    else if (!strcmp(key, "gamma"))
      rc = get_num(P, v, "gpu.gamma", 0.01, 10, &g->gamma);
    else if (!strcmp(key, "clock_max_mhz"))
      rc = get_num(P, v, "gpu.clock_max_mhz", 1, 1e5, &g->clock_max_mhz);
    else if (!strcmp(key, "clock_power_exp"))
      rc = get_num(P, v, "gpu.clock_power_exp", 0.1, 10, &g->clock_power_exp);
    else if (!strcmp(key, "clock_decode_exp"))
      rc = get_num(P, v, "gpu.clock_decode_exp", 0, 10, &g->clock_decode_exp);
    else if (!strcmp(key, "telemetry_period_ms"))
      rc = get_num(P, v, "gpu.telemetry_period_ms", 0, 60000, &g->telemetry_period_ms);
    else if (!strcmp(key, "telemetry_window_ms"))
      rc = get_num(P, v, "gpu.telemetry_window_ms", 0, 60000, &g->telemetry_window_ms);
    else if (!strcmp(key, "telemetry_async")) {
      const char *b = scalar(v);
      if (!b || (strcmp(b, "true") && strcmp(b, "false")))
        return sfail(P, v, HR_ERR_PARSE, "gpu.telemetry_async", "expected true or false");
      g->telemetry_async = b[0] == 't';
      rc = HR_OK;
    } else
      return sfail(P, k, HR_ERR_PARSE, "gpu", "unknown key '%.60s'", key);
    if (rc != HR_OK)
      return rc;
  }
  if (g->telemetry_window_ms > 0.0 && g->telemetry_period_ms == 0.0)
    return sfail(P, m, HR_ERR_RANGE, "gpu.telemetry_window_ms",
                 "a window needs a sample period (telemetry_period_ms)");
  if (g->telemetry_async && g->telemetry_period_ms == 0.0)
    return sfail(P, m, HR_ERR_RANGE, "gpu.telemetry_async",
                 "unsynchronized samples need a sample period (telemetry_period_ms)");
  if (g->telemetry_window_ms > g->telemetry_period_ms)
    return sfail(P, m, HR_ERR_RANGE, "gpu.telemetry_window_ms",
                 "the window (%.15g ms) is longer than the period (%.15g ms)",
                 g->telemetry_window_ms, g->telemetry_period_ms);
  if (g->cap_min_w > g->cap_max_w || g->idle_w >= g->cap_min_w)
    return sfail(P, m, HR_ERR_RANGE, "gpu", "need idle_w < cap_min_w <= cap_max_w (%g, %g, %g)",
                 g->idle_w, g->cap_min_w, g->cap_max_w);
  return HR_OK;
}

/* supply.pf and supply.efficiency: one value, or a curve [[load, value],
 * ...] (sim.h); name is the key, lo the value's lowest. */
static int supply_curve(sp_t *P, const yaml_node_t *v, const char *name, double lo, int *n_out,
                        double *load, double *val)
{
  char f[48];
  snprintf(f, sizeof f, "supply.%s", name);
  if (v->type == YAML_SCALAR_NODE) {
    load[0] = 1.0;
    int rc = get_num(P, v, f, lo, 1, &val[0]);
    if (rc == HR_OK)
      *n_out = 1;
    return rc;
  }
  if (v->type != YAML_SEQUENCE_NODE)
    return sfail(P, v, HR_ERR_PARSE, f, "expected a value or a list of [load fraction, value]");
  size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
  if (n == 0 || n > HR_SIM_PF_POINTS_MAX)
    return sfail(P, v, HR_ERR_RANGE, f, "%zu points (1..%d)", n, HR_SIM_PF_POINTS_MAX);
  for (size_t i = 0; i < n; i++) {
    const yaml_node_t *it = yaml_document_get_node(&P->doc, v->data.sequence.items.start[i]);
    snprintf(f, sizeof f, "supply.%s[%zu]", name, i);
    if (!it || it->type != YAML_SEQUENCE_NODE ||
        it->data.sequence.items.top - it->data.sequence.items.start != 2)
      return sfail(P, it, HR_ERR_PARSE, f, "expected [load fraction, value]");
    const yaml_node_t *a = yaml_document_get_node(&P->doc, it->data.sequence.items.start[0]);
    const yaml_node_t *b = yaml_document_get_node(&P->doc, it->data.sequence.items.start[1]);
    int rc = get_num(P, a, f, 0, 10, &load[i]);
    if (rc == HR_OK)
      rc = get_num(P, b, f, lo, 1, &val[i]);
    if (rc != HR_OK)
      return rc;
    if (i > 0 && !(load[i] > load[i - 1]))
      return sfail(P, a, HR_ERR_RANGE, f, "load fractions must increase (%g after %g)", load[i],
                   load[i - 1]);
  }
  *n_out = (int)n;
  return HR_OK;
}

static int supply_block(sp_t *P, const yaml_node_t *m)
{
  if (m->type != YAML_MAPPING_NODE)
    return sfail(P, m, HR_ERR_PARSE, "supply", "expected a mapping");
  FOR_PAIRS(P, m, kv)
  {
    const yaml_node_t *k = yaml_document_get_node(&P->doc, kv->key);
    const yaml_node_t *v = yaml_document_get_node(&P->doc, kv->value);
    const char *key = scalar(k);
    int rc;
    if (!key)
      return sfail(P, k, HR_ERR_PARSE, "supply", "keys must be strings");
    hr_sim_supply_cfg_t *u = &P->sc->supply;
    if (!strcmp(key, "pf"))
      rc = supply_curve(P, v, "pf", 0.1, &u->n_pf, u->pf_load, u->pf);
    else if (!strcmp(key, "budget_pf"))
      rc = get_num(P, v, "supply.budget_pf", 0.1, 1, &u->budget_pf);
    else if (!strcmp(key, "efficiency"))
      rc = supply_curve(P, v, "efficiency", 0.5, &u->n_eff, u->eff_load, u->eff);
    else if (!strcmp(key, "budget_eff"))
      rc = get_num(P, v, "supply.budget_eff", 0.5, 1, &u->budget_eff);
    else if (!strcmp(key, "budget_eff_ramp"))
      rc = get_num(P, v, "supply.budget_eff_ramp", 0.1, 1, &u->budget_eff_ramp);
    else if (!strcmp(key, "base_w"))
      rc = get_num(P, v, "supply.base_w", 0, 1e7, &u->base_w);
    else if (!strcmp(key, "budget_base_w"))
      rc = get_num(P, v, "supply.budget_base_w", 0, 1e7, &u->budget_base_w);
    else if (!strcmp(key, "base_busy_w"))
      rc = get_num(P, v, "supply.base_busy_w", 0, 1e7, &u->base_busy_w);
    else if (!strcmp(key, "base_tau_s"))
      rc = get_num(P, v, "supply.base_tau_s", 0, 1e6, &u->base_tau_s);
    else if (!strcmp(key, "psus"))
      rc = get_int(P, v, "supply.psus", 0, 64, &u->psus);
    else if (!strcmp(key, "psu_w"))
      rc = get_num(P, v, "supply.psu_w", 1, 1e6, &u->psu_w);
    else
      return sfail(P, k, HR_ERR_PARSE, "supply", "unknown key '%.60s'", key);
    if (rc != HR_OK)
      return rc;
  }
  const hr_sim_supply_cfg_t *u = &P->sc->supply;
  if ((u->psus > 0) != (u->psu_w > 0.0))
    return sfail(P, m, HR_ERR_PARSE, u->psus > 0 ? "supply.psu_w" : "supply.psus",
                 "psus (1..64) and psu_w (1..1e6 W) go together");
  return HR_OK;
}

static int workload(sp_t *P, const yaml_node_t *m, size_t idx, hr_workload_t *w)
{
  char f[96];
  snprintf(f, sizeof f, "workloads[%zu]", idx);
  if (m->type != YAML_MAPPING_NODE)
    return sfail(P, m, HR_ERR_PARSE, f, "expected a mapping");
  memset(w, 0, sizeof *w);
  w->period_s = 1.0;
  w->compute_frac = 0.7;
  w->compute_w = 700;
  w->comm_w = 300;
  w->ckpt_w = 150;
  w->restart_s = 30;
  w->power_w = 500;
  w->gpus_per_replica = 4;
  w->max_num_seqs = 256;
  w->rate_per_s = 1.0;
  w->diurnal_period_s = 86400.0;
  w->seed = 1;
  int have_kind = 0, have_gpus = 0;
  const yaml_node_t *at_inf = NULL, *at_train = NULL;
  FOR_PAIRS(P, m, kv)
  {
    const yaml_node_t *k = yaml_document_get_node(&P->doc, kv->key);
    const yaml_node_t *v = yaml_document_get_node(&P->doc, kv->value);
    const char *key = scalar(k);
    char ff[160];
    if (!key)
      return sfail(P, k, HR_ERR_PARSE, f, "keys must be strings");
    snprintf(ff, sizeof ff, "%s.%.60s", f, key);
    int rc = HR_OK;
    if (!strcmp(key, "kind")) {
      const char *s = scalar(v);
      if (s && !strcmp(s, "training"))
        w->kind = HR_WORK_TRAINING;
      else if (s && !strcmp(s, "batch"))
        w->kind = HR_WORK_BATCH;
      else if (s && !strcmp(s, "inference"))
        w->kind = HR_WORK_INFERENCE;
      else
        return sfail(P, v, HR_ERR_PARSE, ff, "expected 'training', 'batch' or 'inference'");
      have_kind = 1;
    } else if (!strcmp(key, "gpus")) {
      if (v->type != YAML_SEQUENCE_NODE ||
          v->data.sequence.items.top - v->data.sequence.items.start != 2)
        return sfail(P, v, HR_ERR_PARSE, ff, "expected [first, end] (end excluded)");
      const yaml_node_t *a = yaml_document_get_node(&P->doc, v->data.sequence.items.start[0]);
      const yaml_node_t *b = yaml_document_get_node(&P->doc, v->data.sequence.items.start[1]);
      if ((rc = get_int(P, a, ff, 0, 1 << 24, &w->gpu_first)) != HR_OK ||
          (rc = get_int(P, b, ff, 1, 1 << 24, &w->gpu_end)) != HR_OK)
        return rc;
      if (w->gpu_end <= w->gpu_first)
        return sfail(P, v, HR_ERR_RANGE, ff, "end must be above first");
      have_gpus = 1;
    } else if (!strcmp(key, "priority")) {
      rc = get_int(P, v, ff, -1000, 1000, &w->priority);
    } else if (!strcmp(key, "period_s")) {
      rc = get_num(P, v, ff, 1e-3, 3600, &w->period_s);
    } else if (!strcmp(key, "compute_frac")) {
      rc = get_num(P, v, ff, 0.01, 0.99, &w->compute_frac);
    } else if (!strcmp(key, "compute_w")) {
      rc = get_num(P, v, ff, 0, 1e5, &w->compute_w);
    } else if (!strcmp(key, "comm_w")) {
      rc = get_num(P, v, ff, 0, 1e5, &w->comm_w);
    } else if (!strcmp(key, "start_s")) {
      rc = get_num(P, v, ff, 0, 1e9, &w->start_s);
    } else if (!strcmp(key, "stop_s")) {
      rc = get_num(P, v, ff, 0, 1e9, &w->stop_s);
    } else if (!strcmp(key, "ramp_s")) {
      rc = get_num(P, v, ff, 0, 3600, &w->ramp_s);
    } else if (!strcmp(key, "checkpoint_every_s")) {
      rc = get_num(P, v, ff, 0, 1e9, &w->ckpt_every_s);
    } else if (!strcmp(key, "checkpoint_s")) {
      rc = get_num(P, v, ff, 0, 1e6, &w->ckpt_s);
    } else if (!strcmp(key, "checkpoint_w")) {
      rc = get_num(P, v, ff, 0, 1e5, &w->ckpt_w);
    } else if (!strcmp(key, "restart_s")) {
      rc = get_num(P, v, ff, 0, 1e6, &w->restart_s);
    } else if (!strcmp(key, "power_w")) {
      rc = get_num(P, v, ff, 0, 1e5, &w->power_w);
    } else if (!strcmp(key, "gpus_per_replica")) {
      rc = get_int(P, v, ff, 1, 1024, &w->gpus_per_replica);
      at_inf = k;
    } else if (!strcmp(key, "max_num_seqs")) {
      rc = get_int(P, v, ff, 1, 65536, &w->max_num_seqs);
      at_inf = k;
    } else if (!strcmp(key, "rate_per_s")) {
      rc = get_num(P, v, ff, 1e-6, 1e4, &w->rate_per_s);
      at_inf = k;
    } else if (!strcmp(key, "min_rate_per_s")) {
      rc = get_num(P, v, ff, 0, 1e4, &w->min_rate_per_s);
      at_inf = k;
    } else if (!strcmp(key, "max_rate_per_s")) {
      rc = get_num(P, v, ff, 1e-6, 1e4, &w->max_rate_per_s);
      at_inf = k;
    } else if (!strcmp(key, "diurnal_period_s")) {
      rc = get_num(P, v, ff, 1, 1e9, &w->diurnal_period_s);
      at_inf = k;
    } else if (!strcmp(key, "peak_t_s")) {
      rc = get_num(P, v, ff, 0, 1e9, &w->peak_t_s);
      at_inf = k;
    } else if (!strcmp(key, "seed")) {
      double sd;
      rc = get_num(P, v, ff, 0, 4294967295.0, &sd);
      if (rc == HR_OK && sd != floor(sd))
        return sfail(P, v, HR_ERR_PARSE, ff, "expected a whole number");
      w->seed = (uint64_t)sd;
      at_inf = k;
    } else if (!strcmp(key, "restarts")) {
      if (v->type != YAML_SEQUENCE_NODE)
        return sfail(P, v, HR_ERR_PARSE, ff, "expected a list of times [s]");
      for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
           it++) {
        if (w->n_restarts >= 16)
          return sfail(P, v, HR_ERR_RANGE, ff, "at most 16 restarts per workload");
        rc = get_num(P, yaml_document_get_node(&P->doc, *it), ff, 0, 1e9,
                     &w->restart_at_s[w->n_restarts++]);
        if (rc != HR_OK)
          return rc;
      }
    } else {
      return sfail(P, k, HR_ERR_PARSE, f, "unknown key '%.60s'", key);
    }
    if (rc != HR_OK)
      return rc;
  }
  if (!have_kind)
    return sfail(P, m, HR_ERR_PARSE, f, "missing key 'kind'");
  if (!have_gpus)
    return sfail(P, m, HR_ERR_PARSE, f, "missing key 'gpus'");
  (void)at_train;
  if (at_inf && w->kind != HR_WORK_INFERENCE)
    return sfail(P, at_inf, HR_ERR_PARSE, f, "'%s' applies to inference workloads only",
                 scalar(at_inf));
  if (w->kind == HR_WORK_INFERENCE) {
    if ((w->gpu_end - w->gpu_first) % w->gpus_per_replica)
      return sfail(P, m, HR_ERR_RANGE, f, "%d GPUs are not whole replicas of %d",
                   w->gpu_end - w->gpu_first, w->gpus_per_replica);
    if (w->max_rate_per_s > 0.0 && w->min_rate_per_s > w->max_rate_per_s)
      return sfail(P, m, HR_ERR_RANGE, f, "min_rate_per_s above max_rate_per_s");
  }
  return HR_OK;
}

static int event(sp_t *P, const yaml_node_t *m, const char *field, size_t idx, hr_sim_event_t *e)
{
  char f[96];
  snprintf(f, sizeof f, "%s[%zu]", field, idx);
  if (m->type != YAML_MAPPING_NODE)
    return sfail(P, m, HR_ERR_PARSE, f, "expected a mapping");
  memset(e, 0, sizeof *e);
  e->overload_s = 5.0;
  int have_kind = 0, have_at = 0;
  const yaml_node_t *at_node = NULL, *at_gen = NULL, *at_feed = NULL;
  FOR_PAIRS(P, m, kv)
  {
    const yaml_node_t *k = yaml_document_get_node(&P->doc, kv->key);
    const yaml_node_t *v = yaml_document_get_node(&P->doc, kv->value);
    const char *key = scalar(k);
    char ff[160];
    if (!key)
      return sfail(P, k, HR_ERR_PARSE, f, "keys must be strings");
    snprintf(ff, sizeof ff, "%s.%.60s", f, key);
    int rc = HR_OK;
    if (!strcmp(key, "kind")) {
      const char *s = scalar(v);
      if (s && !strcmp(s, "feed_loss"))
        e->kind = HR_SIM_FEED_LOSS;
      else if (s && !strcmp(s, "telemetry_loss"))
        e->kind = HR_SIM_TELEMETRY_LOSS;
      else if (s && !strcmp(s, "coordinator_crash"))
        e->kind = HR_SIM_COORD_CRASH;
      else if (s && !strcmp(s, "meter_freeze"))
        e->kind = HR_SIM_METER_FREEZE;
      else if (s && !strcmp(s, "meter_garbage"))
        e->kind = HR_SIM_METER_GARBAGE;
      else if (s && !strcmp(s, "meter_stuck"))
        e->kind = HR_SIM_METER_STUCK;
      else if (s && !strcmp(s, "utility_outage"))
        e->kind = HR_SIM_UTILITY_OUTAGE;
      else
        return sfail(P, v, HR_ERR_PARSE, ff,
                     "expected 'feed_loss', 'telemetry_loss', 'coordinator_crash', "
                     "'meter_freeze', 'meter_garbage', 'meter_stuck' or 'utility_outage'");
      have_kind = 1;
    } else if (!strcmp(key, "at_s")) {
      rc = get_num(P, v, ff, 0, 1e9, &e->at_s);
      have_at = 1;
    } else if (!strcmp(key, "duration_s")) {
      rc = get_num(P, v, ff, 0, 1e9, &e->duration_s);
    } else if (!strcmp(key, "feed")) {
      at_feed = k;
      const char *s = scalar(v);
      if (s && !strcmp(s, "a"))
        e->feed = HR_FEED_A;
      else if (s && !strcmp(s, "b"))
        e->feed = HR_FEED_B;
      else
        return sfail(P, v, HR_ERR_PARSE, ff, "expected 'a' or 'b'");
    } else if (!strcmp(key, "node")) {
      rc = get_str(P, v, ff, e->node, sizeof e->node);
      at_node = k;
    } else if (!strcmp(key, "gen_kw")) {
      rc = get_num(P, v, ff, 1e-3, 1e9, &e->gen_kw);
      at_gen = k;
    } else if (!strcmp(key, "ramp_kw_per_s")) {
      rc = get_num(P, v, ff, 1e-3, 1e9, &e->ramp_kw_per_s);
      at_gen = at_gen ? at_gen : k;
    } else if (!strcmp(key, "overload_s")) {
      rc = get_num(P, v, ff, 1e-3, 1e6, &e->overload_s);
      at_gen = at_gen ? at_gen : k;
    } else {
      return sfail(P, k, HR_ERR_PARSE, f, "unknown key '%.60s'", key);
    }
    if (rc != HR_OK)
      return rc;
  }
  if (!have_kind || !have_at)
    return sfail(P, m, HR_ERR_PARSE, f, "missing key '%s'", have_kind ? "at_s" : "kind");
  if (e->kind == HR_SIM_FEED_LOSS && !e->feed)
    return sfail(P, m, HR_ERR_PARSE, f, "feed_loss needs 'feed: a' or 'feed: b'");
  if (e->kind == HR_SIM_COORD_CRASH && !e->node[0])
    return sfail(P, m, HR_ERR_PARSE, f, "coordinator_crash needs 'node'");
  /* A field that does not apply to the kind is a mistake, not ignored. */
  if (at_feed && e->kind != HR_SIM_FEED_LOSS)
    return sfail(P, at_feed, HR_ERR_PARSE, f, "'feed' applies to feed_loss only");
  if (at_node && e->kind != HR_SIM_COORD_CRASH && e->kind != HR_SIM_METER_FREEZE &&
      e->kind != HR_SIM_METER_GARBAGE && e->kind != HR_SIM_METER_STUCK)
    return sfail(P, at_node, HR_ERR_PARSE, f,
                 "'node' applies to coordinator_crash, meter_freeze, meter_garbage and "
                 "meter_stuck only");
  if (at_gen && e->kind != HR_SIM_UTILITY_OUTAGE)
    return sfail(P, at_gen, HR_ERR_PARSE, f,
                 "'gen_kw', 'ramp_kw_per_s' and 'overload_s' apply to utility_outage only");
  if (e->kind == HR_SIM_UTILITY_OUTAGE && !(e->gen_kw > 0.0 && e->ramp_kw_per_s > 0.0))
    return sfail(P, m, HR_ERR_PARSE, f, "utility_outage needs 'gen_kw' and 'ramp_kw_per_s'");
  return HR_OK;
}

/* One generator: a utility_outage (item k of the list) that overlaps an
 * earlier one would share its state, and the first to end would take the
 * site off the generator for both (the simulator refuses it too, for a
 * contingency added to a scenario's own outage). */
static int outage_overlap(sp_t *P, const yaml_node_t *it, const char *field, const void *arr,
                          size_t k)
{
  const hr_sim_event_t *ev = arr, *b = &ev[k];
  if (b->kind != HR_SIM_UTILITY_OUTAGE)
    return HR_OK;
  const double b_end = b->duration_s > 0.0 ? b->at_s + b->duration_s : INFINITY;
  for (size_t j = 0; j < k; j++) {
    const hr_sim_event_t *a = &ev[j];
    const double a_end = a->duration_s > 0.0 ? a->at_s + a->duration_s : INFINITY;
    if (a->kind == HR_SIM_UTILITY_OUTAGE && a->at_s < b_end && b->at_s < a_end) {
      char f[96];
      snprintf(f, sizeof f, "%s[%zu].at_s", field, k);
      return sfail(P, it, HR_ERR_PARSE, f,
                   "overlaps the utility_outage of %s[%zu] (from %g s): one generator, one "
                   "outage at a time",
                   field, j, a->at_s);
    }
  }
  return HR_OK;
}

static int list(sp_t *P, const yaml_node_t *v, const char *field, size_t elem, void **out,
                size_t *n_out)
{
  if (v->type != YAML_SEQUENCE_NODE)
    return sfail(P, v, HR_ERR_PARSE, field, "expected a list");
  size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
  if (n > SC_MAX_ITEMS)
    return sfail(P, v, HR_ERR_RANGE, field, "more than %d entries", SC_MAX_ITEMS);
  void *arr = calloc(n ? n : 1, elem);
  if (!arr)
    return sfail(P, v, HR_ERR_NOMEM, field, "out of memory");
  *out = arr;
  *n_out = n;
  for (size_t k = 0; k < n; k++) {
    const yaml_node_t *it = yaml_document_get_node(&P->doc, v->data.sequence.items.start[k]);
    int rc = elem == sizeof(hr_workload_t) ? workload(P, it, k, (hr_workload_t *)arr + k)
                                           : event(P, it, field, k, (hr_sim_event_t *)arr + k);
    if (rc != HR_OK)
      return rc;
    if (elem != sizeof(hr_workload_t) && (rc = outage_overlap(P, it, field, arr, k)) != HR_OK)
      return rc;
  }
  return HR_OK;
}

void hr_scenario_init(hr_scenario_t *sc)
{
  if (!sc)
    return;
  memset(sc, 0, sizeof *sc);
  sc->duration_s = 60;
  sc->step_ms = 1;
  sc->gpus = -1;
  sc->sample_s = 0.1;
  sc->telemetry_seed = 1;
  sc->gpu.idle_w = 70;
  sc->gpu.cap_min_w = 200;
  sc->gpu.cap_max_w = 700;
  sc->gpu.delay_ms = 5;
  sc->gpu.slew_w_per_ms = 80;
  sc->gpu.gamma = 1.0 / 3.0;
  /* H100 SXM's highest graphics clock [M: NVIDIA's figure, not in our
   * reference]; the exponents: docs/sim.md "Clock locks". */
  sc->gpu.clock_max_mhz = 1980;
  sc->gpu.clock_power_exp = 1.0 / 0.647;
  sc->gpu.clock_decode_exp = 0.1;
  sc->line_hz = 50;
  sc->wave_fs_hz = 8000;
  sc->supply.budget_base_w = -1; /* the most the base draws */
}

void hr_scenario_free(hr_scenario_t *sc)
{
  if (!sc)
    return;
  free(sc->work);
  free(sc->events);
  free(sc->metered);
  free(sc->contingencies);
  sc->work = NULL;
  sc->events = NULL;
  sc->metered = NULL;
  sc->contingencies = NULL;
  sc->n_metered = sc->n_contingencies = 0;
  sc->n_work = sc->n_events = 0;
}

/* metered: a list of node ids or node kinds (checked against the tree by
 * hr_sim_create), or one such string. */
static int metered_list(sp_t *P, const yaml_node_t *v)
{
  hr_scenario_t *sc = P->sc;
  if (sc->metered)
    return sfail(P, v, HR_ERR_PARSE, "metered", "given twice");
  size_t n = 1;
  if (v->type == YAML_SEQUENCE_NODE)
    n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
  else if (v->type != YAML_SCALAR_NODE)
    return sfail(P, v, HR_ERR_PARSE, "metered", "expected a list of node ids or kinds");
  if (n > SC_MAX_ITEMS)
    return sfail(P, v, HR_ERR_RANGE, "metered", "more than %d entries", SC_MAX_ITEMS);
  sc->metered = calloc(n ? n : 1, sizeof *sc->metered);
  if (!sc->metered)
    return sfail(P, v, HR_ERR_NOMEM, "metered", "out of memory");
  sc->n_metered = n;
  for (size_t k = 0; k < n; k++) {
    const yaml_node_t *it = v->type == YAML_SCALAR_NODE
                                ? v
                                : yaml_document_get_node(&P->doc, v->data.sequence.items.start[k]);
    char f[48];
    snprintf(f, sizeof f, "metered[%zu]", k);
    int rc = get_str(P, it, f, sc->metered[k], sizeof sc->metered[k]);
    if (rc != HR_OK)
      return rc;
  }
  return HR_OK;
}

/* A contingency file holds only `version` and `contingencies`. */
static int parse_root(sp_t *P, const char *base_dir, int contingency_file)
{
  const yaml_node_t *root = yaml_document_get_root_node(&P->doc);
  if (!root)
    return sfail(P, NULL, HR_ERR_PARSE, "(document)", "empty document");
  if (root->type != YAML_MAPPING_NODE)
    return sfail(P, root, HR_ERR_PARSE, "(document)", "expected a mapping");
  hr_scenario_t *sc = P->sc;
  int have_tree = 0, have_version = 0;
  FOR_PAIRS(P, root, kv)
  {
    const yaml_node_t *k = yaml_document_get_node(&P->doc, kv->key);
    const yaml_node_t *v = yaml_document_get_node(&P->doc, kv->value);
    const char *key = scalar(k);
    int rc = HR_OK;
    if (!key)
      return sfail(P, k, HR_ERR_PARSE, "(document)", "keys must be strings");
    if (contingency_file && strcmp(key, "version") && strcmp(key, "contingencies"))
      return sfail(P, k, HR_ERR_PARSE, "(document)",
                   "unknown key '%.60s' (a contingency file holds 'version' and "
                   "'contingencies')",
                   key);
    if (!strcmp(key, "version")) {
      int ver;
      rc = get_int(P, v, "version", 1, 1, &ver);
      have_version = 1;
    } else if (!strcmp(key, "name")) {
      rc = get_str(P, v, "name", sc->name, sizeof sc->name);
    } else if (!strcmp(key, "tree")) {
      char rel[768];
      rc = get_str(P, v, "tree", rel, sizeof rel);
      if (rc == HR_OK) {
        if (rel[0] == '/' || !base_dir || !*base_dir)
          snprintf(sc->tree_path, sizeof sc->tree_path, "%s", rel);
        else if ((size_t)snprintf(sc->tree_path, sizeof sc->tree_path, "%.250s/%s", base_dir,
                                  rel) >= sizeof sc->tree_path)
          return sfail(P, v, HR_ERR_RANGE, "tree", "path too long");
        have_tree = 1;
      }
    } else if (!strcmp(key, "duration_s")) {
      rc = get_num(P, v, "duration_s", 1e-3, 30 * 86400.0, &sc->duration_s);
    } else if (!strcmp(key, "step_ms")) {
      rc = get_num(P, v, "step_ms", 0.1, 100, &sc->step_ms);
    } else if (!strcmp(key, "sample_s")) {
      rc = get_num(P, v, "sample_s", 1e-3, 3600, &sc->sample_s);
    } else if (!strcmp(key, "gpus")) {
      rc = get_int(P, v, "gpus", 0, 1 << 24, &sc->gpus);
    } else if (!strcmp(key, "populate")) {
      const char *pv = scalar(v);
      if (pv && !strcmp(pv, "tree"))
        sc->populate = HR_POP_TREE;
      else if (pv && !strcmp(pv, "spread"))
        sc->populate = HR_POP_SPREAD;
      else
        return sfail(P, v, HR_ERR_PARSE, "populate", "expected 'tree' or 'spread'");
    } else if (!strcmp(key, "telemetry_seed")) {
      double sd = 0.0;
      rc = get_num(P, v, "telemetry_seed", 0, 4294967295.0, &sd);
      if (rc == HR_OK && sd != floor(sd))
        return sfail(P, v, HR_ERR_PARSE, "telemetry_seed", "expected a whole number");
      if (rc == HR_OK) /* sd is in range only then */
        sc->telemetry_seed = (uint64_t)sd;
    } else if (!strcmp(key, "gpu")) {
      rc = gpu_block(P, v);
    } else if (!strcmp(key, "supply")) {
      rc = supply_block(P, v);
    } else if (!strcmp(key, "waveforms")) {
      const char *b = scalar(v);
      if (b && (!strcmp(b, "true") || !strcmp(b, "false")))
        sc->waveforms = b[0] == 't';
      else
        return sfail(P, v, HR_ERR_PARSE, "waveforms", "expected true or false");
    } else if (!strcmp(key, "line_hz")) {
      rc = get_num(P, v, "line_hz", 50, 60, &sc->line_hz);
      if (rc == HR_OK && sc->line_hz != 50 && sc->line_hz != 60)
        return sfail(P, v, HR_ERR_RANGE, "line_hz", "expected 50 or 60");
    } else if (!strcmp(key, "wave_fs_hz")) {
      rc = get_num(P, v, "wave_fs_hz", 2000, 50000, &sc->wave_fs_hz);
      if (rc == HR_OK && sc->wave_fs_hz != floor(sc->wave_fs_hz))
        return sfail(P, v, HR_ERR_RANGE, "wave_fs_hz", "expected a whole number of Hz");
    } else if (!strcmp(key, "metered")) {
      rc = metered_list(P, v);
    } else if (!strcmp(key, "workloads")) {
      if (sc->work)
        return sfail(P, k, HR_ERR_PARSE, "workloads", "given twice");
      rc = list(P, v, "workloads", sizeof(hr_workload_t), (void **)&sc->work, &sc->n_work);
    } else if (!strcmp(key, "events")) {
      if (sc->events)
        return sfail(P, k, HR_ERR_PARSE, "events", "given twice");
      rc = list(P, v, "events", sizeof(hr_sim_event_t), (void **)&sc->events, &sc->n_events);
    } else if (!strcmp(key, "contingencies")) {
      if (sc->contingencies)
        return sfail(P, k, HR_ERR_PARSE, "contingencies", "given twice");
      rc = list(P, v, "contingencies", sizeof(hr_sim_event_t), (void **)&sc->contingencies,
                &sc->n_contingencies);
    } else {
      return sfail(P, k, HR_ERR_PARSE, "(document)", "unknown key '%.60s'", key);
    }
    if (rc != HR_OK)
      return rc;
  }
  if (!have_version)
    return sfail(P, root, HR_ERR_PARSE, "version", "missing key 'version' (1)");
  if (contingency_file && !sc->contingencies)
    return sfail(P, root, HR_ERR_PARSE, "contingencies", "missing key 'contingencies'");
  if (!have_tree && !contingency_file)
    return sfail(P, root, HR_ERR_PARSE, "tree", "missing key 'tree'");
  return HR_OK;
}

static int load_buffer(const char *text, size_t len, const char *name, const char *base_dir,
                       hr_scenario_t *sc, hr_diag_t *err, int contingency_file)
{
  if (!text || !sc)
    return HR_ERR_INVALID_ARG;
  hr_scenario_init(sc);
  sp_t P = {.err = err, .name = name ? name : "<buffer>", .sc = sc};
  yaml_parser_t ps;
  if (!yaml_parser_initialize(&ps))
    return sfail(&P, NULL, HR_ERR_NOMEM, "yaml", "out of memory");
  yaml_parser_set_input_string(&ps, (const unsigned char *)text, len);
  if (!yaml_parser_load(&ps, &P.doc)) {
    if (err) {
      yaml_node_t fake;
      memset(&fake, 0, sizeof fake);
      fake.start_mark = ps.problem_mark;
      sfail(&P, &fake, HR_ERR_PARSE, "yaml", "%s", ps.problem ? ps.problem : "syntax error");
    }
    yaml_parser_delete(&ps);
    return HR_ERR_PARSE;
  }
  int rc = parse_root(&P, base_dir, contingency_file);
  yaml_document_delete(&P.doc);
  yaml_parser_delete(&ps);
  if (rc != HR_OK)
    hr_scenario_free(sc);
  return rc;
}

int hr_scenario_load_buffer(const char *text, size_t len, const char *name, const char *base_dir,
                            hr_scenario_t *sc, hr_diag_t *err)
{
  return load_buffer(text, len, name, base_dir, sc, err, 0);
}

static int load_file(const char *path, hr_scenario_t *sc, hr_diag_t *err, int contingency_file)
{
  if (!path || !sc)
    return HR_ERR_INVALID_ARG;
  sp_t P = {.err = err, .name = path, .sc = sc};
  FILE *f = fopen(path, "rb");
  if (!f)
    return sfail(&P, NULL, HR_ERR_IO, "(file)", "cannot open: %s", strerror(errno));
  char *buf = malloc(SC_MAX_BYTES + 1);
  if (!buf) {
    fclose(f);
    return sfail(&P, NULL, HR_ERR_NOMEM, "(file)", "out of memory");
  }
  errno = 0;
  size_t n = fread(buf, 1, SC_MAX_BYTES + 1, f);
  int bad = ferror(f), e = errno; /* a folder opens and fails here (EISDIR) */
  fclose(f);
  if (bad || n > SC_MAX_BYTES) {
    free(buf);
    if (bad)
      return sfail(&P, NULL, HR_ERR_IO, "(file)", "read error: %s",
                   e ? strerror(e) : "unknown error");
    return sfail(&P, NULL, HR_ERR_RANGE, "(file)", "larger than 4 MiB");
  }
  char dir[512];
  const char *slash = strrchr(path, '/');
  if (slash && (size_t)(slash - path) < sizeof dir) {
    memcpy(dir, path, (size_t)(slash - path));
    dir[slash - path] = '\0';
  } else {
    snprintf(dir, sizeof dir, "%s", slash ? "/" : ".");
  }
  int rc = load_buffer(buf, n, path, dir, sc, err, contingency_file);
  free(buf);
  return rc;
}

int hr_scenario_load_file(const char *path, hr_scenario_t *sc, hr_diag_t *err)
{
  return load_file(path, sc, err, 0);
}

int hr_scenario_add_contingencies_file(hr_scenario_t *sc, const char *path, hr_diag_t *err)
{
  if (!sc || !path)
    return HR_ERR_INVALID_ARG;
  hr_scenario_t f;
  int rc = load_file(path, &f, err, 1);
  if (rc != HR_OK)
    return rc;
  size_t n = sc->n_contingencies + f.n_contingencies;
  if (n > SC_MAX_ITEMS) {
    hr_scenario_free(&f);
    sp_t P = {.err = err, .name = path, .sc = sc};
    return sfail(&P, NULL, HR_ERR_RANGE, "contingencies", "more than %d in all", SC_MAX_ITEMS);
  }
  hr_sim_event_t *grown = realloc(sc->contingencies, (n ? n : 1) * sizeof *grown);
  if (!grown) {
    hr_scenario_free(&f);
    return HR_ERR_NOMEM;
  }
  memcpy(grown + sc->n_contingencies, f.contingencies, f.n_contingencies * sizeof *grown);
  sc->contingencies = grown;
  sc->n_contingencies = n;
  hr_scenario_free(&f);
  return HR_OK;
}
