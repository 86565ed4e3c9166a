/* The waveform generator: creation, the sample path and the truth queries.
 *
 * Every sample is computed from its index alone (closed-form phase, envelope
 * and load; counter-based noise), which is what makes the output independent
 * of how the caller splits it into fill calls. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gen/gen_int.h"
#include "headroom/error.h"

#define TWO_PI (2.0 * HR__GEN_PI)
#define DEG (HR__GEN_PI / 180.0)

/* --- small helpers ------------------------------------------------------- */

int64_t hr__gen_sample_at(double t_s, double fs_hz)
{
  /* The tolerance keeps a decimal time such as 0.1 s at 8000 Hz on sample 800
   * even if the product rounds to 800.0000000000001. */
  double x = t_s * fs_hz - 1e-9;
  if (!(x > 0))
    return 0;
  if (x >= 9.0e18)
    return INT64_MAX;
  return (int64_t)ceil(x);
}

double hr__gen_frac(double x)
{
  return x - floor(x);
}

uint64_t hr__gen_mix64(uint64_t x)
{
  /* splitmix64 (Steele, Lea, Flood 2014): a bijective mixer with full
   * avalanche, good enough to key a counter-based generator. */
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

double hr__gen_gauss(uint64_t key, int64_t n, int ch)
{
  /* Two independent uniforms per (n, ch), then Box-Muller.  Counter-based
   * rather than a stepped PRNG so that seeking and any chunking give the same
   * values. */
  uint64_t c = ((uint64_t)n * (uint64_t)HR_MAX_CH + (uint64_t)ch) * 2u;
  uint64_t h1 = hr__gen_mix64(key + c * 0x9e3779b97f4a7c15ULL);
  uint64_t h2 = hr__gen_mix64(key + (c + 1u) * 0x9e3779b97f4a7c15ULL);
  double u1 = (double)((h1 >> 11) + 1u) * 0x1.0p-53; /* (0, 1] */
  double u2 = (double)(h2 >> 11) * 0x1.0p-53;        /* [0, 1) */
  return sqrt(-2.0 * log(u1)) * cos(TWO_PI * u2);
}

/* Fractional cycles of frequency f_hz at absolute time t0_ns.  f*t0 is huge
 * for real timestamps (60 Hz * 1.7e9 s); splitting off whole seconds and
 * using an exact product keeps the phase to ~1e-16 cycle. */
static double cycles_at_t0(double f_hz, int64_t t0_ns)
{
  int64_t whole_s = t0_ns / 1000000000;
  int64_t rest_ns = t0_ns % 1000000000;
  double fi = floor(f_hz);
  double ff = f_hz - fi; /* exact */
  /* fi * whole_s is a whole number of cycles; only ff * whole_s matters. */
  double p = ff * (double)whole_s;
  double e = fma(ff, (double)whole_s, -p); /* the rounding error of p */
  double c = hr__gen_frac(p) + e + f_hz * (double)rest_ns * 1e-9;
  return hr__gen_frac(c);
}

static double wrap_pi(double a)
{
  return atan2(sin(a), cos(a));
}

/* --- the state at one sample --------------------------------------------- */

typedef struct state {
  double t_s;      /* generator time */
  double theta;    /* fundamental phase of phase a [rad] */
  double env[3];   /* voltage envelope per source phase */
  double ig[3];    /* current gain per phase */
  double demand_w; /* AI rack demand */
  double hs;       /* AI rack harmonic scale */
  double ip_a;     /* AI rack active fundamental current per phase at nominal voltage [A] */
  double iq_a;     /* AI rack leading reactive fundamental current [A] */
} state;

static double event_factor(const hr_gen_t *g, int k, int64_t n, double t)
{
  const hr_gen_event_t *e = &g->cfg.events[k];
  if (n < g->ev_n0[k])
    return 1.0;
  double r = e->residual_pct / 100.0;
  if (!(e->ramp_s > 0))
    return n < g->ev_n1[k] ? r : 1.0;
  /* Linear in time between the stated instants; the levels at and after
   * start+ramp and end+ramp are exact, like the step form. */
  double u;
  if (n < g->ev_n1[k]) {
    if (n >= g->ev_nr[k])
      return r;
    u = (t - e->start_s) / e->ramp_s;
    u = u < 0 ? 0 : (u > 1 ? 1 : u);
    return 1.0 - (1.0 - r) * u;
  }
  if (n >= g->ev_n2[k])
    return 1.0;
  u = (t - (e->start_s + e->duration_s)) / e->ramp_s;
  u = u < 0 ? 0 : (u > 1 ? 1 : u);
  return r + (1.0 - r) * u;
}

static void state_at(const hr_gen_t *g, int64_t n, state *s)
{
  const hr_gen_cfg_t *c = &g->cfg;
  const double nd = (double)n;
  const double t = nd / c->fs_hz;
  s->t_s = t;

  /* Fundamental phase in cycles: f*t plus the integral of the ramp.  IEEE
   * C37.118.1 ramp test: f(t) = f0 + Rf*t over the ramp, phase continuous. */
  double cyc = g->c0_f + c->f_hz * nd / c->fs_hz;
  if (c->ramp_hz_per_s != 0 && t > c->ramp_start_s) {
    double d, q;
    if (t < c->ramp_stop_s) {
      d = t - c->ramp_start_s;
      q = 0.5 * d * d;
    } else {
      d = c->ramp_stop_s - c->ramp_start_s;
      q = 0.5 * d * d + d * (t - c->ramp_stop_s);
    }
    cyc += c->ramp_hz_per_s * q;
  }
  double th = TWO_PI * hr__gen_frac(cyc);
  /* IEEE C37.118.1 phase step: x = Xm cos(w0 t + ka f1(t)). */
  for (int k = 0; k < c->n_phase_steps; k++)
    if (n >= g->phs_n[k])
      th += g->phs_rad[k];
  /* IEEE C37.118.1 measurement bandwidth: ... cos(w0 t + ka cos(w t - pi)). */
  if (c->pm_ka_rad != 0)
    th += c->pm_ka_rad * cos(TWO_PI * hr__gen_frac(c->pm_f_hz * nd / c->fs_hz) - HR__GEN_PI);
  s->theta = th;

  /* Envelope: Xm [1 + kx cos(w t)] (C37.118.1 bandwidth), magnitude steps
   * Xm [1 + kx f1(t)] (C37.118.1 step), then events per phase. */
  double base = 1.0;
  if (c->am_kx != 0)
    base *= 1.0 + c->am_kx * cos(TWO_PI * hr__gen_frac(c->am_f_hz * nd / c->fs_hz));
  for (int k = 0; k < c->n_amp_steps; k++)
    if (n >= g->amp_n[k])
      base *= g->amp_gain[k];
  for (int p = 0; p < 3; p++)
    s->env[p] = p < g->n_ph ? base : 0.0;
  for (int k = 0; k < c->n_events; k++) {
    if (n < g->ev_n0[k])
      continue;
    double f = event_factor(g, k, n, t);
    for (int p = 0; p < g->n_ph; p++)
      if (c->events[k].phases & (1u << p))
        s->env[p] *= f;
  }

  s->demand_w = 0;
  s->hs = 0;
  s->ip_a = 0;
  s->iq_a = 0;
  switch (c->load) {
  case HR_GEN_LOAD_LINEAR:
    /* Constant impedance at the fundamental: the current follows the
     * voltage's envelope. */
    for (int p = 0; p < 3; p++)
      s->ig[p] = s->env[p];
    break;
  case HR_GEN_LOAD_AI_RACK: {
    const hr_gen_rack_t *r = &c->rack;
    double pd = hr__gen_rack_demand_w(g, t);
    s->demand_w = pd;
    /* Active-PFC harmonics are partly set by the converter's ripple, not the
     * load, so they shrink less than the fundamental at light load. */
    s->hs = r->harm_fixed_frac + (1.0 - r->harm_fixed_frac) * pd / g->rack_p_full_w;
    /* The fundamental carries the demand minus what the harmonics carry, so
     * that the cycle-mean of v*i is the demand exactly. */
    double p_harm = g->u1_v * g->rack_i_full_a * s->hs * g->rack_harm_pw;
    s->ip_a = (pd / g->n_ph - p_harm) / g->u1_v;
    s->iq_a = r->q_var / (g->n_ph * g->u1_v);
    /* Server PSUs regulate their output: constant power (current ~ 1/E) down
     * to the floor, constant impedance below it, as load-flow programs
     * convert constant-power loads at low voltage. */
    double fl = g->rack_floor;
    for (int p = 0; p < 3; p++) {
      double e = s->env[p];
      s->ig[p] = p >= g->n_ph ? 0.0 : (e >= fl ? 1.0 / e : e / (fl * fl));
    }
    break;
  }
  default:
    for (int p = 0; p < 3; p++)
      s->ig[p] = 0.0;
    break;
  }
}

/* --- creation ------------------------------------------------------------ */

/* First n >= 0 whose time n / fs_hz, computed the way state_at does, is at or
 * after t_s (INT64_MAX when none is), so that every earlier sample stays
 * below t_s bit for bit. */
static int64_t first_sample_at_or_after(double t_s, double fs_hz)
{
  double x = t_s * fs_hz;
  if (!(x < 9.0e18))
    return INT64_MAX;
  int64_t n = x > 0 ? (int64_t)ceil(x) : 0;
  while (n > 0 && (double)(n - 1) / fs_hz >= t_s)
    n--;
  while ((double)n / fs_hz < t_s)
    n++;
  return n;
}

int hr_gen_create(const hr_gen_cfg_t *cfg, hr_gen_t **out)
{
  if (!out)
    return HR_ERR_INVALID_ARG;
  *out = NULL;
  int rc = hr_gen_cfg_check(cfg, NULL);
  if (rc != HR_OK)
    return rc;
  hr_gen_t *g = calloc(1, sizeof *g);
  if (!g)
    return HR_ERR_NOMEM;
  g->cfg = *cfg;
  const hr_gen_cfg_t *c = &g->cfg;

  g->n_u = hr_layout_n_u(c->layout);
  g->n_i = hr_layout_n_i(c->layout, c->has_in);
  g->n_ch = g->n_u + g->n_i;
  g->n_ph = g->n_u;
  g->u_nom_v = c->u_v;
  /* 3P3W: u_v is line-to-line; the wye source behind it is u_v / sqrt(3). */
  g->u1_v = c->layout == HR_LAYOUT_3P3W ? c->u_v / sqrt(3.0) : c->u_v;
  g->phi[0] = 0.0;
  g->phi[1] = -TWO_PI / 3.0;
  g->phi[2] = TWO_PI / 3.0;
  g->psi = acos(c->pf) * (c->pf_leading ? 1.0 : -1.0);

  g->c0_f = cycles_at_t0(c->f_hz, c->t0_ns);
  g->c0_nom = cycles_at_t0(c->f_nom_hz, c->t0_ns);
  for (int k = 0; k < c->n_u_iharm; k++) {
    g->c0_uih[k] = cycles_at_t0(c->u_iharm[k].f_hz, c->t0_ns);
    g->uih_amp[k] = c->u_iharm[k].pct / 100.0;
    g->uih_ph[k] = c->u_iharm[k].phase_deg * DEG;
  }
  for (int k = 0; k < c->n_i_iharm; k++) {
    g->c0_iih[k] = cycles_at_t0(c->i_iharm[k].f_hz, c->t0_ns);
    g->iih_amp[k] = c->i_iharm[k].pct / 100.0;
    g->iih_ph[k] = c->i_iharm[k].phase_deg * DEG;
  }
  for (int k = 0; k < c->n_u_harm; k++) {
    g->uh_amp[k] = c->u_harm[k].pct / 100.0;
    g->uh_ph[k] = c->u_harm[k].phase_deg * DEG;
  }
  for (int k = 0; k < c->n_i_harm; k++) {
    g->ih_amp[k] = c->i_harm[k].pct / 100.0;
    g->ih_ph[k] = c->i_harm[k].phase_deg * DEG;
  }
  for (int k = 0; k < c->n_events; k++) {
    g->ev_n0[k] = hr__gen_sample_at(c->events[k].start_s, c->fs_hz);
    g->ev_n1[k] = hr__gen_sample_at(c->events[k].start_s + c->events[k].duration_s, c->fs_hz);
    g->ev_nr[k] = hr__gen_sample_at(c->events[k].start_s + c->events[k].ramp_s, c->fs_hz);
    g->ev_n2[k] = hr__gen_sample_at(
        c->events[k].start_s + c->events[k].duration_s + c->events[k].ramp_s, c->fs_hz);
  }
  for (int k = 0; k < c->n_amp_steps; k++) {
    g->amp_n[k] = hr__gen_sample_at(c->amp_steps[k].t_s, c->fs_hz);
    g->amp_gain[k] = 1.0 + c->amp_steps[k].pct / 100.0;
  }
  for (int k = 0; k < c->n_phase_steps; k++) {
    g->phs_n[k] = hr__gen_sample_at(c->phase_steps[k].t_s, c->fs_hz);
    g->phs_rad[k] = c->phase_steps[k].deg * DEG;
  }

  switch (c->load) {
  case HR_GEN_LOAD_LINEAR:
    g->i_nom_a = c->i_a;
    break;
  case HR_GEN_LOAD_AI_RACK:
    hr__gen_rack_init(g);
    g->i_nom_a = g->rack_i_full_a;
    break;
  default:
    g->i_nom_a = 0.0;
    break;
  }
  g->n_end = INT64_MAX;
  if (c->load == HR_GEN_LOAD_AI_RACK)
    g->n_end = first_sample_at_or_after(g->rack_end_s, c->fs_hz);

  for (int ch = 0; ch < g->n_ch; ch++) {
    int is_u = ch < g->n_u;
    double nom = is_u ? g->u_nom_v : g->i_nom_a;
    g->noise_sd[ch] = (is_u ? c->u_noise_pct : c->i_noise_pct) / 100.0 * nom;
    g->dc[ch] = (is_u ? c->u_dc_pct : c->i_dc_pct) / 100.0 * HR__GEN_SQRT2 * nom;
  }
  g->noise_key = hr__gen_mix64(c->seed ^ 0x6e6f697365000000ULL);
  *out = g;
  return HR_OK;
}

void hr_gen_destroy(hr_gen_t *g)
{
  free(g);
}

/* --- the sample path ----------------------------------------------------- */

static void frame_at(const hr_gen_t *g, int64_t n, float *out)
{
  const hr_gen_cfg_t *c = &g->cfg;
  const double nd = (double)n;
  state s;
  state_at(g, n, &s);

  /* Interharmonic angles: fixed frequencies on absolute time. */
  double uia[HR_GEN_MAX_IHARM], iia[HR_GEN_MAX_IHARM];
  for (int j = 0; j < c->n_u_iharm; j++)
    uia[j] =
        TWO_PI * hr__gen_frac(g->c0_uih[j] + c->u_iharm[j].f_hz * nd / c->fs_hz) + g->uih_ph[j];
  for (int j = 0; j < c->n_i_iharm; j++)
    iia[j] =
        TWO_PI * hr__gen_frac(g->c0_iih[j] + c->i_iharm[j].f_hz * nd / c->fs_hz) + g->iih_ph[j];

  double v[3] = {0, 0, 0}, cur[3] = {0, 0, 0};
  for (int p = 0; p < g->n_ph; p++) {
    double a = s.theta + g->phi[p];
    double sum = cos(a);
    for (int h = 0; h < c->n_u_harm; h++)
      sum += g->uh_amp[h] * cos(c->u_harm[h].order * a + g->uh_ph[h]);
    for (int j = 0; j < c->n_u_iharm; j++)
      sum += g->uih_amp[j] * cos(uia[j] + g->phi[p]);
    v[p] = HR__GEN_SQRT2 * g->u1_v * s.env[p] * sum;
  }

  if (c->load == HR_GEN_LOAD_LINEAR) {
    for (int p = 0; p < g->n_ph; p++) {
      double a = s.theta + g->phi[p] + g->psi;
      double sum = cos(a);
      for (int h = 0; h < c->n_i_harm; h++)
        sum += g->ih_amp[h] * cos(c->i_harm[h].order * a + g->ih_ph[h]);
      for (int j = 0; j < c->n_i_iharm; j++)
        sum += g->iih_amp[j] * cos(iia[j] + g->phi[p]);
      cur[p] = HR__GEN_SQRT2 * c->i_a * s.ig[p] * sum;
    }
  } else if (c->load == HR_GEN_LOAD_AI_RACK) {
    double ih_scale = g->rack_i_full_a * s.hs;
    for (int p = 0; p < g->n_ph; p++) {
      double a = s.theta + g->phi[p];
      /* Leading reactive current: +iq in quadrature ahead of the voltage. */
      double sum = s.ip_a * cos(a) - s.iq_a * sin(a);
      for (int h = 0; h < c->n_i_harm; h++)
        sum += ih_scale * g->ih_amp[h] * cos(c->i_harm[h].order * a + g->ih_ph[h]);
      for (int j = 0; j < c->n_i_iharm; j++)
        sum += g->rack_i_full_a * g->iih_amp[j] * cos(iia[j] + g->phi[p]);
      cur[p] = HR__GEN_SQRT2 * s.ig[p] * sum;
    }
  }

  double val[HR_MAX_CH];
  int ch = 0;
  if (c->layout == HR_LAYOUT_3P3W) {
    /* Line-to-line channels of the wye source; a three-wire connection
     * cannot carry zero-sequence current, so remove it. */
    val[ch++] = v[0] - v[1];
    val[ch++] = v[1] - v[2];
    val[ch++] = v[2] - v[0];
    double i0 = (cur[0] + cur[1] + cur[2]) / 3.0;
    for (int p = 0; p < 3; p++)
      val[ch++] = cur[p] - i0;
  } else {
    for (int p = 0; p < g->n_ph; p++)
      val[ch++] = v[p];
    for (int p = 0; p < g->n_ph; p++)
      val[ch++] = cur[p];
    if (g->n_i == 4)
      val[ch++] = cur[0] + cur[1] + cur[2];
  }
  for (int k = 0; k < g->n_ch; k++) {
    double x = val[k] + g->dc[k];
    if (g->noise_sd[k] > 0)
      x += g->noise_sd[k] * hr__gen_gauss(g->noise_key, n, k);
    out[k] = (float)x;
  }
}

int hr_gen_fill(hr_gen_t *g, float *frames, size_t n_frames)
{
  if (!g || (!frames && n_frames > 0))
    return HR_ERR_INVALID_ARG;
  if (n_frames == 0)
    return HR_OK;
  if (g->next >= g->n_end || (uint64_t)n_frames > (uint64_t)(g->n_end - g->next) ||
      n_frames > SIZE_MAX / (size_t)g->n_ch)
    return HR_ERR_RANGE;
  const size_t nch = (size_t)g->n_ch;
  for (size_t f = 0; f < n_frames; f++)
    frame_at(g, g->next + (int64_t)f, frames + f * nch);
  g->next += (int64_t)n_frames;
  return HR_OK;
}

int hr_gen_seek(hr_gen_t *g, int64_t n)
{
  if (!g || n < 0)
    return HR_ERR_INVALID_ARG;
  g->next = n;
  return HR_OK;
}

int64_t hr_gen_tell(const hr_gen_t *g)
{
  return g ? g->next : -1;
}

int hr_gen_n_channels(const hr_gen_t *g)
{
  return g ? g->n_ch : 0;
}

const char *hr_gen_channel_name(const hr_gen_t *g, int ch)
{
  static const char *const n1[] = {"u1_v", "i1_a"};
  static const char *const n3[] = {"uab_v", "ubc_v", "uca_v", "ia_a", "ib_a", "ic_a"};
  static const char *const n4[] = {"ua_v", "ub_v", "uc_v", "ia_a", "ib_a", "ic_a", "in_a"};
  if (!g || ch < 0 || ch >= g->n_ch)
    return NULL;
  switch (g->cfg.layout) {
  case HR_LAYOUT_1P2W:
    return n1[ch];
  case HR_LAYOUT_3P3W:
    return n3[ch];
  default:
    return n4[ch];
  }
}

const hr_gen_cfg_t *hr_gen_cfg(const hr_gen_t *g)
{
  return g ? &g->cfg : NULL;
}

double hr_gen_u_nom_v(const hr_gen_t *g)
{
  return g ? g->u_nom_v : 0.0;
}

double hr_gen_i_nom_a(const hr_gen_t *g)
{
  return g ? g->i_nom_a : 0.0;
}

/* --- truth --------------------------------------------------------------- */

/* Phasors of one frequency component on the source phases (RMS, complex,
 * relative to the fundamental's instantaneous phase). */
typedef struct phasors {
  double vr[3], vi[3], ir[3], ii[3];
} phasors;

/* Active and reactive power of one component, all phases.  In 3P3W the
 * current's zero-sequence part is removed first, as on the sample path. */
static void component_power(const hr_gen_t *g, phasors *ph, double *p, double *q)
{
  if (g->cfg.layout == HR_LAYOUT_3P3W) {
    double mr = (ph->ir[0] + ph->ir[1] + ph->ir[2]) / 3.0;
    double mi = (ph->ii[0] + ph->ii[1] + ph->ii[2]) / 3.0;
    for (int k = 0; k < 3; k++) {
      ph->ir[k] -= mr;
      ph->ii[k] -= mi;
    }
  }
  double sp = 0, sq = 0;
  for (int k = 0; k < g->n_ph; k++) {
    /* S = V conj(I): P = Re, Q = Im (positive for a lagging current). */
    sp += ph->vr[k] * ph->ir[k] + ph->vi[k] * ph->ii[k];
    sq += ph->vi[k] * ph->ir[k] - ph->vr[k] * ph->ii[k];
  }
  *p = sp;
  if (q)
    *q = sq;
}

static void set_polar(double *re, double *im, double mag, double ang)
{
  *re = mag * cos(ang);
  *im = mag * sin(ang);
}

int hr_gen_truth(const hr_gen_t *g, int64_t n, hr_gen_truth_t *out)
{
  if (!g || !out || n < 0)
    return HR_ERR_INVALID_ARG;
  const hr_gen_cfg_t *c = &g->cfg;
  const double nd = (double)n;
  /* Both checks come before state_at, which must not see a sample beyond the
   * rack's horizon.  n / fs in ns is checked against what int64 can add to
   * t0_ns (n is any int64: 2^63 samples at 1 Hz are 10^27 ns). */
  if (n >= g->n_end)
    return HR_ERR_RANGE;
  double dt_ns = nd * 1e9 / c->fs_hz;
  if (!(dt_ns < (double)(INT64_MAX - c->t0_ns) - 4096.0)) /* less the rounding of the double */
    return HR_ERR_RANGE;
  state s;
  state_at(g, n, &s);
  memset(out, 0, sizeof *out);
  out->n = n;
  out->t_s = s.t_s;
  out->t_ns = c->t0_ns + (int64_t)llround(dt_ns);
  out->n_u = g->n_u;
  out->n_i = g->n_i;
  for (int p = 0; p < 3; p++)
    out->u_env[p] = s.env[p];

  /* Frequency and ROCOF: derivative of the phase (ramp plus PM; phase steps
   * are instantaneous and not counted). */
  double t = s.t_s, f = c->f_hz, rocof = 0;
  if (c->ramp_hz_per_s != 0 && t > c->ramp_start_s) {
    double d = fmin(t, c->ramp_stop_s) - c->ramp_start_s;
    f += c->ramp_hz_per_s * d;
    if (t < c->ramp_stop_s)
      rocof += c->ramp_hz_per_s;
  }
  if (c->pm_ka_rad != 0) {
    double w = TWO_PI * hr__gen_frac(c->pm_f_hz * nd / c->fs_hz);
    f += c->pm_ka_rad * c->pm_f_hz * sin(w);
    rocof += c->pm_ka_rad * c->pm_f_hz * TWO_PI * c->pm_f_hz * cos(w);
  }
  out->f_hz = f;
  out->rocof_hz_per_s = rocof;

  /* Fundamental. */
  phasors f1;
  memset(&f1, 0, sizeof f1);
  double ih_scale = 0, iih_scale = 0;
  for (int p = 0; p < g->n_ph; p++) {
    set_polar(&f1.vr[p], &f1.vi[p], g->u1_v * s.env[p], g->phi[p]);
    if (c->load == HR_GEN_LOAD_LINEAR) {
      set_polar(&f1.ir[p], &f1.ii[p], c->i_a * s.ig[p], g->phi[p] + g->psi);
    } else if (c->load == HR_GEN_LOAD_AI_RACK) {
      double cr = cos(g->phi[p]), ci = sin(g->phi[p]);
      f1.ir[p] = s.ig[p] * (s.ip_a * cr - s.iq_a * ci);
      f1.ii[p] = s.ig[p] * (s.ip_a * ci + s.iq_a * cr);
    }
  }
  if (c->load == HR_GEN_LOAD_LINEAR) {
    ih_scale = c->i_a;
    iih_scale = c->i_a;
  } else if (c->load == HR_GEN_LOAD_AI_RACK) {
    ih_scale = g->rack_i_full_a * s.hs;
    iih_scale = g->rack_i_full_a;
  }
  double in_r = f1.ir[0] + f1.ir[1] + f1.ir[2], in_i = f1.ii[0] + f1.ii[1] + f1.ii[2];
  double p_tot, q1;
  component_power(g, &f1, &p_tot, &q1); /* f1's currents are now zero-sequence free in 3P3W */

  /* Channel phasors, referenced to cos(2 pi f_nom tabs) (IEEE C37.118.1
   * synchrophasor convention). */
  double rot = s.theta - TWO_PI * hr__gen_frac(g->c0_nom + c->f_nom_hz * nd / c->fs_hz);
  for (int k = 0; k < g->n_u; k++) {
    double re, im;
    if (c->layout == HR_LAYOUT_3P3W) {
      int a = k, b = (k + 1) % 3;
      re = f1.vr[a] - f1.vr[b];
      im = f1.vi[a] - f1.vi[b];
    } else {
      re = f1.vr[k];
      im = f1.vi[k];
    }
    out->u_rms_v[k] = hypot(re, im);
    out->u_ang_rad[k] = wrap_pi(atan2(im, re) + rot);
  }
  for (int k = 0; k < g->n_i; k++) {
    double re = k < 3 ? f1.ir[k] : in_r, im = k < 3 ? f1.ii[k] : in_i;
    out->i_rms_a[k] = hypot(re, im);
    out->i_ang_rad[k] = wrap_pi(atan2(im, re) + rot);
  }

  /* Harmonics present in both voltage and current. */
  for (int a = 0; a < c->n_u_harm; a++) {
    for (int b = 0; b < c->n_i_harm; b++) {
      int h = c->u_harm[a].order;
      if (c->i_harm[b].order != h || c->load == HR_GEN_LOAD_NONE)
        continue;
      phasors ph;
      memset(&ph, 0, sizeof ph);
      for (int p = 0; p < g->n_ph; p++) {
        set_polar(&ph.vr[p], &ph.vi[p], g->u1_v * s.env[p] * g->uh_amp[a],
                  h * g->phi[p] + g->uh_ph[a]);
        double ang = c->load == HR_GEN_LOAD_LINEAR ? h * (g->phi[p] + g->psi) : h * g->phi[p];
        set_polar(&ph.ir[p], &ph.ii[p], ih_scale * s.ig[p] * g->ih_amp[b], ang + g->ih_ph[b]);
      }
      double pp;
      component_power(g, &ph, &pp, NULL);
      p_tot += pp;
    }
  }
  /* Interharmonics of equal frequency in voltage and current. */
  for (int a = 0; a < c->n_u_iharm; a++) {
    for (int b = 0; b < c->n_i_iharm; b++) {
      if (c->u_iharm[a].f_hz != c->i_iharm[b].f_hz || c->load == HR_GEN_LOAD_NONE)
        continue;
      phasors ph;
      memset(&ph, 0, sizeof ph);
      for (int p = 0; p < g->n_ph; p++) {
        set_polar(&ph.vr[p], &ph.vi[p], g->u1_v * s.env[p] * g->uih_amp[a],
                  g->uih_ph[a] + g->phi[p]);
        set_polar(&ph.ir[p], &ph.ii[p], iih_scale * s.ig[p] * g->iih_amp[b],
                  g->iih_ph[b] + g->phi[p]);
      }
      double pp;
      component_power(g, &ph, &pp, NULL);
      p_tot += pp;
    }
  }
  out->p_w = p_tot;
  out->q1_var = q1;
  out->demand_w = c->load == HR_GEN_LOAD_AI_RACK ? s.demand_w : p_tot;
  return HR_OK;
}

double hr_gen_power_w(const hr_gen_t *g, int64_t n)
{
  hr_gen_truth_t t;
  if (hr_gen_truth(g, n, &t) != HR_OK)
    return NAN;
  return t.p_w;
}

double hr_gen_demand_w(const hr_gen_t *g, double t_s)
{
  if (!g || !(t_s >= 0))
    return NAN;
  if (g->cfg.load == HR_GEN_LOAD_AI_RACK)
    return hr__gen_rack_demand_w(g, t_s);
  return hr_gen_power_w(g, hr__gen_sample_at(t_s, g->cfg.fs_hz));
}
