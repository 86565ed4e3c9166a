/* Generator configuration: defaults, list helpers and validation. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "gen/gen_int.h"
#include "headroom/error.h"

int hr_gen_rack_init(hr_gen_rack_t *rack)
{
  if (!rack)
    return HR_ERR_INVALID_ARG;
  memset(rack, 0, sizeof *rack);
  /* An 8-server rack of 8-GPU training servers.  With 125 W per GPU while the
   * job communicates and 1.5 kW of everything else per server, the rack swings
   * between 56.8 kW and 20.0 kW every iteration: a 64.8 % synchronized step. */
  rack->n_servers = 8;
  rack->gpus_per_server = 8;
  rack->gpu_idle_w = 100.0;
  rack->gpu_busy_w = 700.0;
  rack->gpu_comm_w = 125.0;
  rack->server_other_w = 1500.0;
  rack->start_s = 0.5;
  rack->compute_s = 1.0;
  rack->comm_s = 0.4;
  rack->iters_per_checkpoint = 5;
  rack->checkpoint_s = 2.0;
  rack->rise_s = 0.008;
  rack->jitter_pct = 0.0;
  rack->q_var = 2000.0;
  rack->harm_fixed_frac = 0.5;
  rack->u_min_pct = 70.0;
  return HR_OK;
}

int hr_gen_cfg_init(hr_gen_cfg_t *cfg)
{
  if (!cfg)
    return HR_ERR_INVALID_ARG;
  memset(cfg, 0, sizeof *cfg);
  cfg->fs_hz = 8000.0;
  cfg->f_hz = 60.0;
  cfg->f_nom_hz = 60.0;
  cfg->layout = HR_LAYOUT_3P4W;
  cfg->has_in = 0;
  cfg->u_v = 277.0;
  cfg->i_a = 100.0;
  cfg->t0_ns = 0;
  cfg->seed = 1;
  cfg->load = HR_GEN_LOAD_LINEAR;
  cfg->pf = 1.0;
  cfg->pf_leading = 0;
  hr_gen_rack_init(&cfg->rack);
  return HR_OK;
}

int hr__gen_fail(hr_diag_t *err, int code, const char *field, int index, const char *fmt, ...)
{
  char name[HR_DIAG_FIELD_BYTES];
  if (field && index >= 0)
    snprintf(name, sizeof name, "%s[%d]", field, index);
  else
    snprintf(name, sizeof name, "%s", field ? field : "");
  va_list ap;
  va_start(ap, fmt);
  int rc = hr__diag_vfail(err, code, 0, 0, name, fmt, ap);
  va_end(ap);
  return rc;
}

/* --- list helpers -------------------------------------------------------- */

int hr_gen_cfg_set_harmonic(hr_gen_cfg_t *cfg, hr_gen_qty_t qty, int order, double pct,
                            double phase_deg)
{
  if (!cfg || (qty != HR_GEN_U && qty != HR_GEN_I))
    return HR_ERR_INVALID_ARG;
  hr_gen_harmonic_t *list = qty == HR_GEN_U ? cfg->u_harm : cfg->i_harm;
  int *n = qty == HR_GEN_U ? &cfg->n_u_harm : &cfg->n_i_harm;
  if (*n < 0 || *n > HR_GEN_MAX_HARM)
    return HR_ERR_RANGE;
  for (int k = 0; k < *n; k++) {
    if (list[k].order == order) {
      list[k].pct = pct;
      list[k].phase_deg = phase_deg;
      return HR_OK;
    }
  }
  if (*n == HR_GEN_MAX_HARM)
    return HR_ERR_RANGE;
  list[*n] = (hr_gen_harmonic_t){order, pct, phase_deg};
  (*n)++;
  return HR_OK;
}

int hr_gen_cfg_add_interharmonic(hr_gen_cfg_t *cfg, hr_gen_qty_t qty, double f_hz, double pct,
                                 double phase_deg)
{
  if (!cfg || (qty != HR_GEN_U && qty != HR_GEN_I))
    return HR_ERR_INVALID_ARG;
  hr_gen_interharmonic_t *list = qty == HR_GEN_U ? cfg->u_iharm : cfg->i_iharm;
  int *n = qty == HR_GEN_U ? &cfg->n_u_iharm : &cfg->n_i_iharm;
  if (*n < 0 || *n >= HR_GEN_MAX_IHARM)
    return HR_ERR_RANGE;
  list[*n] = (hr_gen_interharmonic_t){f_hz, pct, phase_deg};
  (*n)++;
  return HR_OK;
}

int hr_gen_cfg_add_event(hr_gen_cfg_t *cfg, const hr_gen_event_t *ev)
{
  if (!cfg || !ev)
    return HR_ERR_INVALID_ARG;
  if (cfg->n_events < 0 || cfg->n_events >= HR_GEN_MAX_EVENTS)
    return HR_ERR_RANGE;
  cfg->events[cfg->n_events++] = *ev;
  return HR_OK;
}

int hr_gen_cfg_add_amp_step(hr_gen_cfg_t *cfg, double t_s, double pct)
{
  if (!cfg)
    return HR_ERR_INVALID_ARG;
  if (cfg->n_amp_steps < 0 || cfg->n_amp_steps >= HR_GEN_MAX_STEPS)
    return HR_ERR_RANGE;
  cfg->amp_steps[cfg->n_amp_steps++] = (hr_gen_amp_step_t){t_s, pct};
  return HR_OK;
}

int hr_gen_cfg_add_phase_step(hr_gen_cfg_t *cfg, double t_s, double deg)
{
  if (!cfg)
    return HR_ERR_INVALID_ARG;
  if (cfg->n_phase_steps < 0 || cfg->n_phase_steps >= HR_GEN_MAX_STEPS)
    return HR_ERR_RANGE;
  cfg->phase_steps[cfg->n_phase_steps++] = (hr_gen_phase_step_t){t_s, deg};
  return HR_OK;
}

/* --- validation ---------------------------------------------------------- */

/* Checks a list count against its capacity. */
static int check_count(hr_diag_t *err, const char *field, int n, int cap)
{
  if (n < 0 || n > cap)
    return hr__gen_fail(err, HR_ERR_RANGE, field, -1, "%d entries, at most %d", n, cap);
  return HR_OK;
}

/* Checks a value that must be finite and lie in [lo, hi]: NaN/Inf and values
 * below lo_invalid are HR_ERR_INVALID_ARG (a sign error, say), others outside
 * [lo, hi] HR_ERR_RANGE. */
static int check_value(hr_diag_t *err, const char *field, int index, const char *what, double x,
                       double lo, double hi)
{
  if (!isfinite(x))
    return hr__gen_fail(err, HR_ERR_INVALID_ARG, field, index, "%s must be a finite number", what);
  if (x < lo || x > hi)
    return hr__gen_fail(err, HR_ERR_RANGE, field, index, "%s = %g is outside [%g, %g]", what, x, lo,
                        hi);
  return HR_OK;
}

/* Like check_value for quantities where a negative value is a malformed
 * argument (durations, amplitudes) rather than merely out of range. */
static int check_nonneg(hr_diag_t *err, const char *field, int index, const char *what, double x,
                        double hi)
{
  if (!isfinite(x) || x < 0)
    return hr__gen_fail(err, HR_ERR_INVALID_ARG, field, index,
                        "%s = %g must be a finite number >= 0", what, x);
  if (x > hi)
    return hr__gen_fail(err, HR_ERR_RANGE, field, index, "%s = %g is above %g", what, x, hi);
  return HR_OK;
}

#define TRY(expr)                                                                                  \
  do {                                                                                             \
    int rc_ = (expr);                                                                              \
    if (rc_ != HR_OK)                                                                              \
      return rc_;                                                                                  \
  } while (0)

static int check_harmonics(const hr_gen_cfg_t *cfg, hr_diag_t *err, const char *field,
                           const hr_gen_harmonic_t *list, int n, double f_hi_hz)
{
  TRY(check_count(err, field, n, HR_GEN_MAX_HARM));
  for (int k = 0; k < n; k++) {
    const hr_gen_harmonic_t *h = &list[k];
    if (h->order < 2)
      return hr__gen_fail(err, HR_ERR_INVALID_ARG, field, k, "harmonic order %d: orders start at 2",
                          h->order);
    if (h->order > HR_GEN_MAX_ORDER)
      return hr__gen_fail(err, HR_ERR_RANGE, field, k, "harmonic order %d is above %d", h->order,
                          HR_GEN_MAX_ORDER);
    for (int j = 0; j < k; j++)
      if (list[j].order == h->order)
        return hr__gen_fail(err, HR_ERR_INVALID_ARG, field, k, "harmonic order %d given twice",
                            h->order);
    TRY(check_nonneg(err, field, k, "harmonic amplitude [%]", h->pct, 100.0));
    TRY(check_value(err, field, k, "harmonic phase [deg]", h->phase_deg, -1e6, 1e6));
    /* The highest instantaneous frequency must stay below Nyquist, or the
     * samples alias onto a different frequency than the one configured. */
    double fh = h->order * f_hi_hz;
    if (!(fh < 0.5 * cfg->fs_hz))
      return hr__gen_fail(err, HR_ERR_RANGE, field, k,
                          "harmonic %d reaches %g Hz, at or above Nyquist (%g Hz)", h->order, fh,
                          0.5 * cfg->fs_hz);
  }
  return HR_OK;
}

static int check_interharmonics(const hr_gen_cfg_t *cfg, hr_diag_t *err, const char *field,
                                const hr_gen_interharmonic_t *list, int n)
{
  TRY(check_count(err, field, n, HR_GEN_MAX_IHARM));
  for (int k = 0; k < n; k++) {
    const hr_gen_interharmonic_t *ih = &list[k];
    if (!isfinite(ih->f_hz) || ih->f_hz <= 0)
      return hr__gen_fail(err, HR_ERR_INVALID_ARG, field, k,
                          "interharmonic frequency %g Hz must be > 0", ih->f_hz);
    if (!(ih->f_hz < 0.5 * cfg->fs_hz))
      return hr__gen_fail(err, HR_ERR_RANGE, field, k,
                          "interharmonic at %g Hz is at or above Nyquist (%g Hz)", ih->f_hz,
                          0.5 * cfg->fs_hz);
    TRY(check_nonneg(err, field, k, "interharmonic amplitude [%]", ih->pct, 100.0));
    TRY(check_value(err, field, k, "interharmonic phase [deg]", ih->phase_deg, -1e6, 1e6));
  }
  return HR_OK;
}

static int check_events(const hr_gen_cfg_t *cfg, hr_diag_t *err)
{
  TRY(check_count(err, "events", cfg->n_events, HR_GEN_MAX_EVENTS));
  for (int k = 0; k < cfg->n_events; k++) {
    const hr_gen_event_t *e = &cfg->events[k];
    double lo, hi;
    const char *name;
    switch (e->kind) {
    case HR_GEN_EVENT_DIP:
      lo = 0, hi = 100, name = "dip";
      break;
    case HR_GEN_EVENT_SWELL:
      lo = 100, hi = 200, name = "swell";
      break;
    case HR_GEN_EVENT_INTERRUPTION:
      /* IEC 61000-4-30 calls a voltage below 5 % (or 10 %) of the declared
       * voltage an interruption; allow up to the looser threshold. */
      lo = 0, hi = 10, name = "interruption";
      break;
    default:
      return hr__gen_fail(err, HR_ERR_INVALID_ARG, "events", k, "event kind %d is unknown",
                          (int)e->kind);
    }
    TRY(check_nonneg(err, "events", k, "event start [s]", e->start_s, 1e9));
    TRY(check_nonneg(err, "events", k, "event duration [s]", e->duration_s, 1e9));
    TRY(check_nonneg(err, "events", k, "event ramp [s]", e->ramp_s, 1e9));
    if (!isfinite(e->residual_pct) || e->residual_pct < 0)
      return hr__gen_fail(err, HR_ERR_INVALID_ARG, "events", k,
                          "%s residual %g %% must be a finite number >= 0", name, e->residual_pct);
    if (e->residual_pct < lo || e->residual_pct > hi)
      return hr__gen_fail(err, HR_ERR_RANGE, "events", k,
                          "%s residual %g %% is outside [%g, %g] %%", name, e->residual_pct, lo,
                          hi);
    if (e->phases == 0 || (e->phases & ~(unsigned)HR_GEN_PHASE_ALL))
      return hr__gen_fail(err, HR_ERR_INVALID_ARG, "events", k,
                          "%s phases 0x%x: give a non-empty set of a, b, c", name, e->phases);
    if (e->ramp_s > e->duration_s)
      return hr__gen_fail(err, HR_ERR_RANGE, "events", k,
                          "%s ramp %g s is longer than its duration %g s", name, e->ramp_s,
                          e->duration_s);
  }
  return HR_OK;
}

int hr_gen_cfg_check(const hr_gen_cfg_t *cfg, hr_diag_t *err)
{
  hr__diag_begin(err, NULL);
  if (!cfg)
    return hr__gen_fail(err, HR_ERR_INVALID_ARG, NULL, -1, "no configuration");

  if (!isfinite(cfg->fs_hz) || cfg->fs_hz <= 0)
    return hr__gen_fail(err, HR_ERR_INVALID_ARG, "fs_hz", -1,
                        "sample rate %g Hz must be a finite number > 0", cfg->fs_hz);
  TRY(check_value(err, "fs_hz", -1, "sample rate [Hz]", cfg->fs_hz, 1.0, 1e7));
  /* Later start times leave too little of int64 ns for the samples after
   * them (t0_ns + n / fs_hz must stay representable). */
  if (cfg->t0_ns < 0 || cfg->t0_ns > HR_T0_NS_MAX)
    return hr__gen_fail(err, HR_ERR_RANGE, "t0_ns", -1,
                        "start time %lld ns is outside [0, %lld] (1970 to 2100)",
                        (long long)cfg->t0_ns, (long long)HR_T0_NS_MAX);
  if (!isfinite(cfg->f_nom_hz) || cfg->f_nom_hz <= 0)
    return hr__gen_fail(err, HR_ERR_INVALID_ARG, "f_nom_hz", -1,
                        "nominal frequency %g Hz must be > 0", cfg->f_nom_hz);
  if (!isfinite(cfg->f_hz) || cfg->f_hz <= 0)
    return hr__gen_fail(err, HR_ERR_INVALID_ARG, "f_hz", -1, "frequency %g Hz must be > 0",
                        cfg->f_hz);
  if (hr_layout_n_u(cfg->layout) == 0)
    return hr__gen_fail(err, HR_ERR_INVALID_ARG, "layout", -1, "layout %d is unknown",
                        (int)cfg->layout);
  TRY(check_nonneg(err, "u_v", -1, "voltage [V]", cfg->u_v, 1e7));
  TRY(check_nonneg(err, "i_a", -1, "current [A]", cfg->i_a, 1e7));
  if (cfg->load != HR_GEN_LOAD_NONE && cfg->load != HR_GEN_LOAD_LINEAR &&
      cfg->load != HR_GEN_LOAD_AI_RACK)
    return hr__gen_fail(err, HR_ERR_INVALID_ARG, "load", -1, "load %d is unknown", (int)cfg->load);
  TRY(check_value(err, "pf", -1, "power factor", cfg->pf, 0.0, 1.0));

  /* Frequency ramp, IEEE C37.118.1 dynamic ramp test. */
  if (!isfinite(cfg->ramp_hz_per_s))
    return hr__gen_fail(err, HR_ERR_INVALID_ARG, "ramp", -1, "ramp rate must be finite");
  double f_lo = cfg->f_hz, f_hi = cfg->f_hz;
  if (cfg->ramp_hz_per_s != 0) {
    TRY(check_nonneg(err, "ramp", -1, "ramp start [s]", cfg->ramp_start_s, 1e9));
    TRY(check_nonneg(err, "ramp", -1, "ramp stop [s]", cfg->ramp_stop_s, 1e9));
    if (cfg->ramp_stop_s < cfg->ramp_start_s)
      return hr__gen_fail(err, HR_ERR_INVALID_ARG, "ramp", -1,
                          "ramp stops (%g s) before it starts (%g s)", cfg->ramp_stop_s,
                          cfg->ramp_start_s);
    double f_end = cfg->f_hz + cfg->ramp_hz_per_s * (cfg->ramp_stop_s - cfg->ramp_start_s);
    f_lo = fmin(f_lo, f_end);
    f_hi = fmax(f_hi, f_end);
  }

  /* Modulation, IEEE C37.118.1 measurement-bandwidth test. */
  TRY(check_value(err, "am", -1, "AM depth kx", cfg->am_kx, 0.0, 1.0));
  TRY(check_value(err, "am", -1, "AM frequency [Hz]", cfg->am_f_hz, 0.0, 0.5 * cfg->fs_hz));
  TRY(check_value(err, "pm", -1, "PM depth ka [rad]", cfg->pm_ka_rad, 0.0, HR__GEN_PI));
  TRY(check_value(err, "pm", -1, "PM frequency [Hz]", cfg->pm_f_hz, 0.0, 0.5 * cfg->fs_hz));
  /* Phase modulation ka*cos(w t - pi) swings the frequency by ka*f_pm. */
  double f_dev = cfg->pm_ka_rad * cfg->pm_f_hz;
  f_lo -= f_dev;
  f_hi += f_dev;
  if (!(f_lo > 0))
    return hr__gen_fail(err, HR_ERR_RANGE, "ramp", -1,
                        "the instantaneous frequency falls to %g Hz; it must stay > 0", f_lo);
  if (!(f_hi < 0.5 * cfg->fs_hz))
    return hr__gen_fail(err, HR_ERR_RANGE, "f_hz", -1,
                        "the frequency reaches %g Hz, at or above Nyquist (%g Hz)", f_hi,
                        0.5 * cfg->fs_hz);

  TRY(check_count(err, "amp_steps", cfg->n_amp_steps, HR_GEN_MAX_STEPS));
  for (int k = 0; k < cfg->n_amp_steps; k++) {
    TRY(check_nonneg(err, "amp_steps", k, "amplitude step time [s]", cfg->amp_steps[k].t_s, 1e9));
    TRY(check_value(err, "amp_steps", k, "amplitude step [%]", cfg->amp_steps[k].pct, -100.0,
                    1000.0));
  }
  TRY(check_count(err, "phase_steps", cfg->n_phase_steps, HR_GEN_MAX_STEPS));
  for (int k = 0; k < cfg->n_phase_steps; k++) {
    TRY(check_nonneg(err, "phase_steps", k, "phase step time [s]", cfg->phase_steps[k].t_s, 1e9));
    TRY(check_value(err, "phase_steps", k, "phase step [deg]", cfg->phase_steps[k].deg, -1e6, 1e6));
  }

  TRY(check_harmonics(cfg, err, "u_harm", cfg->u_harm, cfg->n_u_harm, f_hi));
  TRY(check_harmonics(cfg, err, "i_harm", cfg->i_harm, cfg->n_i_harm, f_hi));
  TRY(check_interharmonics(cfg, err, "u_iharm", cfg->u_iharm, cfg->n_u_iharm));
  TRY(check_interharmonics(cfg, err, "i_iharm", cfg->i_iharm, cfg->n_i_iharm));
  TRY(check_events(cfg, err));

  TRY(check_value(err, "u_noise_pct", -1, "voltage noise [%]", cfg->u_noise_pct, 0.0, 100.0));
  TRY(check_value(err, "i_noise_pct", -1, "current noise [%]", cfg->i_noise_pct, 0.0, 100.0));
  TRY(check_value(err, "u_dc_pct", -1, "voltage DC offset [%]", cfg->u_dc_pct, -100.0, 100.0));
  TRY(check_value(err, "i_dc_pct", -1, "current DC offset [%]", cfg->i_dc_pct, -100.0, 100.0));

  if (cfg->load == HR_GEN_LOAD_AI_RACK) {
    if (!(cfg->u_v > 0))
      return hr__gen_fail(err, HR_ERR_RANGE, "u_v", -1,
                          "the AI rack needs a voltage > 0 to draw its power from");
    TRY(hr__gen_rack_check(cfg, err));
  }
  return HR_OK;
}
