/* Protective-device models: electronic trip units, IDMT relays and fuses.
 *
 * Every element is an integrator that reaches its threshold (1, or k^2 for the
 * thermal image) exactly when the published characteristic says it should at
 * constant current.  Within a step the current is constant, so each element
 * is advanced in closed form and the trip instant is found inside the step:
 * the result does not depend on how a constant-current interval is cut into
 * steps.  docs/tree.md derives each equation. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tree/protect_int.h"
#include "tree/tree_int.h"

/* Settings given as products (0.4 x In) are compared with this slack so that
 * a value written in amperes that rounds the product does not fail. */
#define EDGE 1e-9

/* ---- settings ----------------------------------------------------------- */

static int finite_pos(double x)
{
  return isfinite(x) && x > 0.0;
}

static int within(double x, double lo, double hi)
{
  return isfinite(x) && x >= lo * (1.0 - EDGE) && x <= hi * (1.0 + EDGE);
}

static int reject(const char **field, const char **why, const char *f, const char *w)
{
  if (field)
    *field = f;
  if (why)
    *why = w;
  return HR_ERR_RANGE;
}

int hr_device_cfg_init(hr_device_cfg_t *cfg, hr_device_type_t type)
{
  if (!cfg)
    return HR_ERR_INVALID_ARG;
  memset(cfg, 0, sizeof *cfg);
  cfg->type = type;
  switch (type) {
  case HR_DEVICE_NONE:
    return HR_OK;
  case HR_DEVICE_TRIP_UNIT:
    /* The middle of the IEC 60947-2 long-time tripping band (1.05..1.20 Ir). */
    cfg->u.tu.l_pickup = 1.10;
    cfg->u.tu.memory = 1;
    /* Siemens 3VA: after a trip every phase's memory is set to 85 % of the
     * thermal equivalent of the hottest phase. */
    cfg->u.tu.post_trip = 0.85;
    cfg->u.tu.s_reset_s = 20.0;
    cfg->u.tu.ti_s = 0.02;
    return HR_OK;
  case HR_DEVICE_RELAY:
    /* Relays start timing at about 1.1 x Is and the equations hold up to
     * 20 x Is (Thytronic SIF5600, Siemens 7UT6); above, t(20) is used. */
    cfg->u.relay.pickup = 1.1;
    cfg->u.relay.m_max = 20.0;
    cfg->u.relay.reset = HR_RESET_DEPENDENT;
    cfg->u.relay.ti_s = 0.02;
    return HR_OK;
  case HR_DEVICE_FUSE:
    cfg->u.fuse.cool_s = 60.0;
    return HR_OK;
  }
  return HR_ERR_INVALID_ARG;
}

static int check_trip_unit(const hr_trip_unit_cfg_t *t, const char **f, const char **w)
{
  if (!finite_pos(t->in_a))
    return reject(f, w, "in_a", "must be a positive current");
  /* MicroLogic / 3VA: Ir = 0.4 .. 1.0 x In. */
  if (!within(t->ir_a, 0.4 * t->in_a, t->in_a))
    return reject(f, w, "ir_a", "must be within 0.4..1.0 x In");
  if (!(isfinite(t->tr_s) && t->tr_s > 0.0 && t->tr_s <= 600.0))
    return reject(f, w, "tr_s", "must be within 0 < tr_s <= 600 s");
  if (!within(t->l_pickup, 1.0, 1.3))
    return reject(f, w, "l_pickup", "must be within 1.0..1.3 x Ir");
  if (t->memory != 0 && t->memory != 1)
    return reject(f, w, "memory", "must be on or off");
  if (!within(t->post_trip, 0.0, 1.0))
    return reject(f, w, "post_trip", "must be within 0..1");
  if (t->has_s) {
    if (!within(t->isd_a, 1.5 * t->ir_a, 10.0 * t->ir_a))
      return reject(f, w, "isd_a", "must be within 1.5..10 x Ir");
    if (!within(t->tsd_s, 0.01, 1.0))
      return reject(f, w, "tsd_s", "must be within 0.01..1 s");
    if (t->s_i2t != 0 && t->s_i2t != 1)
      return reject(f, w, "sd_i2t", "must be on or off");
    if (!(isfinite(t->s_reset_s) && t->s_reset_s > 0.0 && t->s_reset_s <= 3600.0))
      return reject(f, w, "s_reset_s", "must be within 0 < s_reset_s <= 3600 s");
  }
  if (t->has_i) {
    if (!within(t->ii_a, 1.5 * t->in_a, 15.0 * t->in_a))
      return reject(f, w, "ii_a", "must be within 1.5..15 x In");
    if (!within(t->ti_s, 0.001, 0.5))
      return reject(f, w, "ti_s", "must be within 0.001..0.5 s");
  }
  if (t->has_g) {
    if (!(finite_pos(t->ig_a) && t->ig_a <= t->in_a * (1.0 + EDGE)))
      return reject(f, w, "ig_a", "must be within 0 < Ig <= In");
    if (!within(t->tg_s, 0.01, 1.0))
      return reject(f, w, "tg_s", "must be within 0.01..1 s");
    if (t->g_i2t != 0 && t->g_i2t != 1)
      return reject(f, w, "g_i2t", "must be on or off");
  }
  return HR_OK;
}

static int check_relay(const hr_relay_cfg_t *r, const char **f, const char **w)
{
  if (r->curve == HR_CURVE_CUSTOM) {
    if (!finite_pos(r->custom.k_s))
      return reject(f, w, "k_s", "must be positive");
    if (!(finite_pos(r->custom.alpha) && r->custom.alpha <= 10.0))
      return reject(f, w, "alpha", "must be within 0 < alpha <= 10");
    if (!(isfinite(r->custom.c_s) && r->custom.c_s >= 0.0))
      return reject(f, w, "c_s", "must be >= 0");
    if (!(isfinite(r->custom.tr_s) && r->custom.tr_s >= 0.0))
      return reject(f, w, "kr_s", "must be >= 0");
  } else {
    hr_curve_consts_t c;
    if (hr_curve_consts(r->curve, &c) != HR_OK)
      return reject(f, w, "curve", "unknown curve");
  }
  if (!finite_pos(r->is_a))
    return reject(f, w, "is_a", "must be a positive current");
  if (!(finite_pos(r->tms) && r->tms <= 100.0))
    return reject(f, w, "tms", "must be within 0 < tms <= 100");
  if (!within(r->pickup, 1.0, 1.3))
    return reject(f, w, "pickup", "must be within 1.0..1.3 x Is");
  if (!(isfinite(r->m_max) && r->m_max > r->pickup && r->m_max <= 1000.0))
    return reject(f, w, "m_max", "must be within pickup < m_max <= 1000");
  if (r->reset != HR_RESET_DEPENDENT && r->reset != HR_RESET_INSTANT &&
      r->reset != HR_RESET_DEFINITE)
    return reject(f, w, "reset", "unknown reset");
  if (r->reset == HR_RESET_DEFINITE &&
      !(isfinite(r->reset_s) && r->reset_s > 0.0 && r->reset_s <= 3600.0))
    return reject(f, w, "reset_s", "must be within 0 < reset_s <= 3600 s");
  if (r->has_inst) {
    if (!(finite_pos(r->ii_a) && r->ii_a > r->is_a))
      return reject(f, w, "ii_a", "must be above is_a");
    if (!within(r->ti_s, 0.001, 0.5))
      return reject(f, w, "ti_s", "must be within 0.001..0.5 s");
  }
  return HR_OK;
}

static int check_fuse(const hr_fuse_cfg_t *u, const char **f, const char **w)
{
  if (!finite_pos(u->in_a))
    return reject(f, w, "in_a", "must be a positive current");
  if (u->n_points < 2 || u->n_points > HR_FUSE_MAX_POINTS)
    return reject(f, w, "melt", "needs 2..32 points");
  for (int k = 0; k < u->n_points; k++) {
    if (!finite_pos(u->i_a[k]) || !finite_pos(u->t_s[k]))
      return reject(f, w, "melt", "currents and times must be positive");
    if (k > 0 && !(u->i_a[k] > u->i_a[k - 1]))
      return reject(f, w, "melt", "currents must increase strictly");
    if (k > 0 && !(u->t_s[k] < u->t_s[k - 1]))
      return reject(f, w, "melt", "times must decrease strictly");
  }
  if (!(u->i_a[0] > u->in_a))
    return reject(f, w, "melt", "the first melting current must be above in_a");
  if (!(isfinite(u->cool_s) && u->cool_s >= 0.0))
    return reject(f, w, "cool_s", "must be >= 0");
  return HR_OK;
}

int hr_device_cfg_check(const hr_device_cfg_t *cfg, const char **field, const char **why)
{
  if (!cfg)
    return HR_ERR_INVALID_ARG;
  switch (cfg->type) {
  case HR_DEVICE_NONE:
    return HR_OK;
  case HR_DEVICE_TRIP_UNIT:
    return check_trip_unit(&cfg->u.tu, field, why);
  case HR_DEVICE_RELAY:
    return check_relay(&cfg->u.relay, field, why);
  case HR_DEVICE_FUSE:
    return check_fuse(&cfg->u.fuse, field, why);
  }
  if (field)
    *field = "type";
  if (why)
    *why = "unknown device type";
  return HR_ERR_INVALID_ARG;
}

size_t hr_device_cfg_size(void)
{
  return sizeof(hr_device_cfg_t);
}

const hr__enum_name_t hr__device_type_names[4] = {
    {HR_DEVICE_NONE, "none"},
    {HR_DEVICE_TRIP_UNIT, "trip_unit"},
    {HR_DEVICE_RELAY, "relay"},
    {HR_DEVICE_FUSE, "fuse"},
};

const char *hr_device_type_name(hr_device_type_t type)
{
  return hr__enum_name(hr__device_type_names, HR__COUNT(hr__device_type_names), (int)type,
                       "unknown");
}

const char *hr_element_name(hr_element_t elem)
{
  static const char *const names[HR_ELEM_COUNT] = {"none", "L", "S", "I", "G", "51", "50", "melt"};
  if ((int)elem < 0 || elem >= HR_ELEM_COUNT)
    return "unknown";
  return names[elem];
}

/* ---- element characteristics ---------------------------------------------- */

/* Short-time delay [s] at phase current i >= Isd.  I²t ON follows the
 * MicroLogic ramp t = tsd (10 Ir / I)^2 up to 10 x Ir, then the fixed band. */
static double s_time(const hr_device_t *d, double i)
{
  const hr_trip_unit_cfg_t *t = &d->cfg.u.tu;
  double tsd = t->tsd_s;
  /* MicroLogic: after a short-time trip tsd drops to its minimum band for
   * 20 s, so a re-close onto a persisting fault clears faster. */
  if (d->t_s < d->s_min_until_s && tsd > HR__TSD_MIN_S)
    tsd = HR__TSD_MIN_S;
  double ref = 10.0 * t->ir_a;
  if (t->s_i2t && i < ref) {
    double r = ref / i;
    return tsd * r * r;
  }
  return tsd;
}

/* Ground-fault delay [s] at residual current ig >= Ig.  MicroLogic gives the
 * I²t ON delay "at In": t = tg (In / Ig_meas)^2 below In, fixed tg above. */
static double g_time(const hr_device_t *d, double ig)
{
  const hr_trip_unit_cfg_t *t = &d->cfg.u.tu;
  if (t->g_i2t && ig < t->in_a) {
    double r = t->in_a / ig;
    return t->tg_s * r * r;
  }
  return t->tg_s;
}

/* Relay inverse-time operate time [s] at current i; INFINITY below pickup.
 * IEC 60255-151 / C37.112: M is clamped at m_max (t(20) above 20 x Is). */
static double toc_time(const hr_device_t *d, double i)
{
  const hr_relay_cfg_t *r = &d->cfg.u.relay;
  double m = i / r->is_a;
  if (!(m >= r->pickup))
    return INFINITY;
  if (m > r->m_max)
    m = r->m_max;
  return hr_curve_operate_s(&d->rc, r->tms, m);
}

/* Fuse melting time [s] at current i: log-log interpolation of the table,
 * constant I²t (adiabatic melting) above its last point, never below its
 * first point. */
static double melt_time(const hr_device_t *d, double i)
{
  const hr_fuse_cfg_t *u = &d->cfg.u.fuse;
  int n = u->n_points;
  if (!(i >= u->i_a[0]))
    return INFINITY;
  if (i >= u->i_a[n - 1]) {
    double r = u->i_a[n - 1] / i;
    return u->t_s[n - 1] * r * r;
  }
  int k = 0;
  while (k + 2 < n && i >= u->i_a[k + 1])
    k++;
  double x = (log(i) - d->log_i[k]) / (d->log_i[k + 1] - d->log_i[k]);
  return exp(d->log_t[k] + x * (d->log_t[k + 1] - d->log_t[k]));
}

/* Time [s] for the L thermal image of one phase to reach k^2 from theta at
 * constant current i: theta' = ((i/Ir)^2 - theta) / tau. */
static double l_cross(const hr_device_t *d, double theta, double i)
{
  const hr_trip_unit_cfg_t *t = &d->cfg.u.tu;
  double x = i / t->ir_a;
  double fin = x * x;
  if (!t->memory && x < t->l_pickup)
    return INFINITY;
  if (fin <= d->k2)
    return INFINITY; /* the image falls (or stays) below the threshold */
  if (theta >= d->k2)
    return 0.0;
  /* tau ln((fin - theta) / (fin - k^2)), written with log1p so that high
   * currents (ratio near 1) keep their digits. */
  return d->tau_s * log1p((d->k2 - theta) / (fin - d->k2));
}

static double imax_of(const hr_device_input_t *in)
{
  double m = 0.0;
  for (int p = 0; p < in->n_phases; p++)
    if (in->i_a[p] > m)
      m = in->i_a[p];
  return m;
}

/* Earliest trip of a closed device at constant input from its present state:
 * returns the delay [s] (INFINITY if none) and the element in *elem. */
static double next_trip(const hr_device_t *d, const hr_device_input_t *in, hr_element_t *elem)
{
  double best = INFINITY;
  hr_element_t e = HR_ELEM_NONE;
  double imax = imax_of(in);
  switch (d->cfg.type) {
  case HR_DEVICE_NONE:
    break;
  case HR_DEVICE_TRIP_UNIT: {
    const hr_trip_unit_cfg_t *t = &d->cfg.u.tu;
    for (int p = 0; p < 3; p++) {
      double cur = p < in->n_phases ? in->i_a[p] : 0.0;
      double dl = l_cross(d, d->theta[p], cur);
      if (dl < best) {
        best = dl;
        e = HR_ELEM_L;
      }
    }
    if (t->has_s && imax >= t->isd_a) {
      double ds = (1.0 - d->acc[HR_ELEM_S]) * s_time(d, imax);
      if (ds < best) {
        best = ds;
        e = HR_ELEM_S;
      }
    }
    if (t->has_i && imax >= t->ii_a) {
      double di = (1.0 - d->acc[HR_ELEM_I]) * t->ti_s;
      if (di < best) {
        best = di;
        e = HR_ELEM_I;
      }
    }
    if (t->has_g && in->ig_a >= t->ig_a) {
      double dg = (1.0 - d->acc[HR_ELEM_G]) * g_time(d, in->ig_a);
      if (dg < best) {
        best = dg;
        e = HR_ELEM_G;
      }
    }
    break;
  }
  case HR_DEVICE_RELAY: {
    const hr_relay_cfg_t *r = &d->cfg.u.relay;
    double top = toc_time(d, imax);
    if (isfinite(top)) {
      best = (1.0 - d->acc[HR_ELEM_TOC]) * top;
      e = HR_ELEM_TOC;
    }
    if (r->has_inst && imax >= r->ii_a) {
      double di = (1.0 - d->acc[HR_ELEM_IOC]) * r->ti_s;
      if (di < best) {
        best = di;
        e = HR_ELEM_IOC;
      }
    }
    break;
  }
  case HR_DEVICE_FUSE: {
    double tm = melt_time(d, imax);
    if (isfinite(tm)) {
      best = (1.0 - d->acc[HR_ELEM_MELT]) * tm;
      e = HR_ELEM_MELT;
    }
    break;
  }
  }
  if (best < 0.0)
    best = 0.0;
  *elem = e;
  return best;
}

/* Advances every element by h seconds at constant input, without tripping
 * (the caller has made sure no threshold is crossed before h). */
static void advance(hr_device_t *d, const hr_device_input_t *in, double h)
{
  if (!(h > 0.0))
    return;
  double imax = imax_of(in);
  switch (d->cfg.type) {
  case HR_DEVICE_NONE:
    break;
  case HR_DEVICE_TRIP_UNIT: {
    const hr_trip_unit_cfg_t *t = &d->cfg.u.tu;
    /* Exact solution of the first-order thermal image over the step. */
    double w = d->w_w;
    if (h != d->w_h) {
      w = -expm1(-h / d->tau_s);
      d->w_h = h;
      d->w_w = w;
    }
    for (int p = 0; p < 3; p++) {
      double x = (p < in->n_phases ? in->i_a[p] : 0.0) / t->ir_a;
      if (!t->memory && x < t->l_pickup)
        d->theta[p] = 0.0; /* memory OFF: every overload starts cold */
      else
        d->theta[p] += (x * x - d->theta[p]) * w;
    }
    if (t->has_s) {
      /* MicroLogic accumulates intermittent short-time currents; below Isd
       * the integrator runs down linearly over s_reset_s. */
      if (imax >= t->isd_a)
        d->acc[HR_ELEM_S] += h / s_time(d, imax);
      else
        d->acc[HR_ELEM_S] = fmax(0.0, d->acc[HR_ELEM_S] - h / t->s_reset_s);
    }
    if (t->has_i)
      d->acc[HR_ELEM_I] = imax >= t->ii_a ? d->acc[HR_ELEM_I] + h / t->ti_s : 0.0;
    if (t->has_g)
      d->acc[HR_ELEM_G] = in->ig_a >= t->ig_a ? d->acc[HR_ELEM_G] + h / g_time(d, in->ig_a) : 0.0;
    break;
  }
  case HR_DEVICE_RELAY: {
    const hr_relay_cfg_t *r = &d->cfg.u.relay;
    double m = imax / r->is_a;
    double *acc = &d->acc[HR_ELEM_TOC];
    if (m >= r->pickup) {
      /* IEEE C37.112 integral form: the relay operates when the integral of
       * 1/t(M(t)) dt reaches 1. */
      *acc += h / toc_time(d, imax);
      d->below_s = 0.0;
    } else if (m < 1.0) {
      switch (r->reset) {
      case HR_RESET_DEPENDENT: {
        double tr = hr_curve_reset_s(&d->rc, r->tms, m);
        *acc = tr > 0.0 ? fmax(0.0, *acc - h / tr) : 0.0;
        break;
      }
      case HR_RESET_INSTANT:
        *acc = 0.0;
        break;
      case HR_RESET_DEFINITE:
        /* IEC 60255-151 definite-time reset: the integrator is held, and
         * cleared once the current has stayed below for reset_s. */
        d->below_s += h;
        if (d->below_s >= r->reset_s)
          *acc = 0.0;
        break;
      }
    }
    /* Between 1.0 and the pickup the integrator holds its value. */
    if (r->has_inst)
      d->acc[HR_ELEM_IOC] = imax >= r->ii_a ? d->acc[HR_ELEM_IOC] + h / r->ti_s : 0.0;
    break;
  }
  case HR_DEVICE_FUSE: {
    if (d->tripped)
      break; /* a melted element stays melted until replaced */
    double tm = melt_time(d, imax);
    if (isfinite(tm))
      d->acc[HR_ELEM_MELT] += h / tm;
    else if (d->cfg.u.fuse.cool_s > 0.0)
      d->acc[HR_ELEM_MELT] *= exp(-h / d->cfg.u.fuse.cool_s);
    break;
  }
  }
}

static void trip(hr_device_t *d, hr_element_t e)
{
  d->tripped = 1;
  d->element = e;
  d->n_trips++;
  d->t_trip_s = d->t_s;
  switch (d->cfg.type) {
  case HR_DEVICE_NONE:
    break;
  case HR_DEVICE_TRIP_UNIT: {
    const hr_trip_unit_cfg_t *t = &d->cfg.u.tu;
    double hot = fmax(d->theta[0], fmax(d->theta[1], d->theta[2]));
    if (e == HR_ELEM_L)
      hot = fmax(hot, d->k2); /* the tripping phase sits exactly at k^2 */
    double keep = t->memory ? t->post_trip * hot : 0.0;
    for (int p = 0; p < 3; p++)
      d->theta[p] = keep;
    d->acc[HR_ELEM_S] = d->acc[HR_ELEM_I] = d->acc[HR_ELEM_G] = 0.0;
    if (e == HR_ELEM_S)
      d->s_min_until_s = d->t_s + HR__S_TRIP_MEMORY_S;
    break;
  }
  case HR_DEVICE_RELAY:
    /* The disc (or its emulation) is at full travel when the 51 operates
     * and resets from there while the breaker is open. */
    if (e == HR_ELEM_TOC)
      d->acc[HR_ELEM_TOC] = 1.0;
    d->acc[HR_ELEM_IOC] = 0.0;
    d->below_s = 0.0;
    break;
  case HR_DEVICE_FUSE:
    d->acc[HR_ELEM_MELT] = 1.0;
    break;
  }
}

/* ---- objects --------------------------------------------------------------- */

void hr__device_set_plain(hr_device_t *d, int on)
{
  d->plain = on ? 1 : 0;
}

size_t hr_device_size(void)
{
  return sizeof(hr_device_t);
}

void hr_device_reset(hr_device_t *dev)
{
  if (!dev)
    return;
  dev->t_s = 0.0;
  dev->tripped = 0;
  dev->element = HR_ELEM_NONE;
  dev->n_trips = 0;
  dev->t_trip_s = NAN;
  for (int p = 0; p < 3; p++)
    dev->theta[p] = 0.0;
  for (int e = 0; e < HR_ELEM_COUNT; e++)
    dev->acc[e] = 0.0;
  dev->s_min_until_s = -INFINITY;
  dev->below_s = 0.0;
}

int hr_device_init(void *mem, size_t len, const hr_device_cfg_t *cfg, hr_device_t **out)
{
  if (!mem || !cfg || !out || len < sizeof(hr_device_t) ||
      (uintptr_t)mem % _Alignof(hr_device_t) != 0)
    return HR_ERR_INVALID_ARG;
  int rc = hr_device_cfg_check(cfg, NULL, NULL);
  if (rc != HR_OK)
    return rc;
  hr_device_t *d = mem;
  memset(d, 0, sizeof *d);
  d->cfg = *cfg;
  if (cfg->type == HR_DEVICE_TRIP_UNIT) {
    d->k2 = cfg->u.tu.l_pickup * cfg->u.tu.l_pickup;
    /* Calibrate tau so that the cold trip time at 6 x Ir is exactly tr:
     * tr = tau ln(36 / (36 - k^2))  =>  tau = tr / -ln(1 - k^2/36). */
    d->tau_s = cfg->u.tu.tr_s / -log1p(-d->k2 / 36.0);
  } else if (cfg->type == HR_DEVICE_RELAY) {
    if (cfg->u.relay.curve == HR_CURVE_CUSTOM)
      d->rc = cfg->u.relay.custom;
    else
      (void)hr_curve_consts(cfg->u.relay.curve, &d->rc);
  } else if (cfg->type == HR_DEVICE_FUSE) {
    for (int k = 0; k < cfg->u.fuse.n_points; k++) {
      d->log_i[k] = log(cfg->u.fuse.i_a[k]);
      d->log_t[k] = log(cfg->u.fuse.t_s[k]);
    }
  }
  hr_device_reset(d);
  *out = d;
  return HR_OK;
}

int hr_device_create(const hr_device_cfg_t *cfg, hr_device_t **out)
{
  if (!cfg || !out)
    return HR_ERR_INVALID_ARG;
  void *mem = malloc(sizeof(hr_device_t));
  if (!mem)
    return HR_ERR_NOMEM;
  int rc = hr_device_init(mem, sizeof(hr_device_t), cfg, out);
  if (rc != HR_OK)
    free(mem);
  return rc;
}

void hr_device_destroy(hr_device_t *dev)
{
  free(dev);
}

void hr_device_reclose(hr_device_t *dev)
{
  if (!dev || !dev->tripped)
    return;
  dev->tripped = 0;
  if (dev->cfg.type == HR_DEVICE_FUSE)
    dev->acc[HR_ELEM_MELT] = 0.0;
}

static int input_ok(const hr_device_input_t *in)
{
  if (in->n_phases < 1 || in->n_phases > 3)
    return 0;
  for (int p = 0; p < in->n_phases; p++)
    if (!(isfinite(in->i_a[p]) && in->i_a[p] >= 0.0))
      return 0;
  return isfinite(in->ig_a) && in->ig_a >= 0.0;
}

/* 1 when a closed trip unit certainly does not trip within h at constant
 * input, found without next_trip's logarithms; 0 when unsure (next_trip
 * decides, so the result is the same as its).  Only L can be engaged (S, I
 * and G below their pickups), and for every phase whose image rises above
 * k^2 the time to reach it, tau log1p(r) with r = (k^2 - theta) / (fin - k^2)
 * (l_cross), exceeds h: r > expm1(h / tau) (1 + 1e-9).  The relative margin
 * of 1e-9 in r is at least 1e-9 r / ((1 + r) log1p(r)) in log1p(r), far
 * above the few ulps (1e-16) by which log1p, the product with tau and
 * expm1 may err, so next_trip's delta would exceed h as well. */
static int surely_no_trip(hr_device_t *d, const hr_device_input_t *in, double h)
{
  if (d->cfg.type != HR_DEVICE_TRIP_UNIT || !(h > 0.0))
    return 0;
  const hr_trip_unit_cfg_t *t = &d->cfg.u.tu;
  double imax = imax_of(in);
  if ((t->has_s && imax >= t->isd_a) || (t->has_i && imax >= t->ii_a) ||
      (t->has_g && in->ig_a >= t->ig_a))
    return 0;
  if (h != d->nt_h) {
    d->nt_r = expm1(h / d->tau_s) * (1.0 + 1e-9);
    d->nt_h = h;
  }
  if (!(d->nt_r > 1e-300))
    return 0; /* h far below tau: let next_trip decide */
  for (int p = 0; p < 3; p++) {
    double x = (p < in->n_phases ? in->i_a[p] : 0.0) / t->ir_a;
    double fin = x * x;
    if ((!t->memory && x < t->l_pickup) || fin <= d->k2)
      continue; /* l_cross: INFINITY */
    if (!(d->theta[p] < d->k2))
      return 0;
    if (!((d->k2 - d->theta[p]) / (fin - d->k2) > d->nt_r))
      return 0;
  }
  return 1;
}

int hr_device_step_ex(hr_device_t *dev, const hr_device_input_t *in, double dt_s)
{
  if (!dev || !in || !input_ok(in) || !(isfinite(dt_s) && dt_s >= 0.0))
    return HR_ERR_INVALID_ARG;
  static const hr_device_input_t open = {{0.0, 0.0, 0.0}, 3, 0.0};
  if (dev->tripped) {
    advance(dev, &open, dt_s);
    dev->t_s += dt_s;
    return HR_OK;
  }
  if (!dev->plain && surely_no_trip(dev, in, dt_s)) {
    advance(dev, in, dt_s); /* what next_trip's delta > dt_s leads to, below */
    dev->t_s += dt_s;
    return HR_OK;
  }
  hr_element_t e;
  double delta = next_trip(dev, in, &e);
  if (delta <= dt_s) {
    advance(dev, in, delta);
    dev->t_s += delta;
    trip(dev, e);
    advance(dev, &open, dt_s - delta);
    dev->t_s += dt_s - delta;
  } else {
    advance(dev, in, dt_s);
    dev->t_s += dt_s;
  }
  return HR_OK;
}

int hr_device_step(hr_device_t *dev, double i_a, double dt_s)
{
  hr_device_input_t in = {{i_a, i_a, i_a}, 3, 0.0};
  return hr_device_step_ex(dev, &in, dt_s);
}

static double thermal_of(const hr_device_t *d)
{
  switch (d->cfg.type) {
  case HR_DEVICE_TRIP_UNIT:
    return fmax(d->theta[0], fmax(d->theta[1], d->theta[2])) / d->k2;
  case HR_DEVICE_RELAY:
    return d->acc[HR_ELEM_TOC];
  case HR_DEVICE_FUSE:
    return d->acc[HR_ELEM_MELT];
  case HR_DEVICE_NONE:
    break;
  }
  return 0.0;
}

void hr_device_status(const hr_device_t *dev, hr_device_status_t *st)
{
  memset(st, 0, sizeof *st);
  st->tripped = dev->tripped;
  st->element = dev->element;
  st->n_trips = dev->n_trips;
  st->t_s = dev->t_s;
  st->t_trip_s = dev->t_trip_s;
  st->thermal = thermal_of(dev);
  for (int e = 0; e < HR_ELEM_COUNT; e++)
    st->elem[e] = dev->acc[e];
  st->elem[HR_ELEM_NONE] = 0.0;
  if (dev->cfg.type == HR_DEVICE_TRIP_UNIT)
    st->elem[HR_ELEM_L] = st->thermal;
}

int hr_device_tripped(const hr_device_t *dev)
{
  return dev && dev->tripped;
}

double hr_device_thermal(const hr_device_t *dev)
{
  return dev ? thermal_of(dev) : NAN;
}

double hr_device_time_to_trip(const hr_device_t *dev, double i_a)
{
  if (!dev || !(isfinite(i_a) && i_a >= 0.0))
    return NAN;
  if (dev->tripped)
    return 0.0;
  hr_device_input_t in = {{i_a, i_a, i_a}, 3, 0.0};
  hr_element_t e;
  return next_trip(dev, &in, &e);
}

/* A current of the order of the device's pickup, to start the search. */
static double scale_a(const hr_device_t *d)
{
  switch (d->cfg.type) {
  case HR_DEVICE_TRIP_UNIT:
    return d->cfg.u.tu.ir_a;
  case HR_DEVICE_RELAY:
    return d->cfg.u.relay.is_a;
  case HR_DEVICE_FUSE:
    return d->cfg.u.fuse.i_a[0];
  case HR_DEVICE_NONE:
    break;
  }
  return 1.0;
}

double hr_device_withstand_a(const hr_device_t *dev, double t_s)
{
  if (!dev || !(isfinite(t_s) && t_s > 0.0))
    return NAN;
  if (dev->cfg.type == HR_DEVICE_NONE)
    return INFINITY;
  if (dev->tripped)
    return 0.0;
  /* Every characteristic here is non-increasing in current, so the set of
   * currents that survive t_s is an interval [0, I*): bracket I*, then
   * bisect. */
  double lo = 0.0, hi = scale_a(dev);
  int n = 0;
  while (hr_device_time_to_trip(dev, hi) > t_s) {
    lo = hi;
    hi *= 2.0;
    if (++n > 200)
      return INFINITY;
  }
  for (int k = 0; k < 200 && hi - lo > 1e-9 * hi; k++) {
    double mid = 0.5 * (lo + hi);
    if (hr_device_time_to_trip(dev, mid) > t_s)
      lo = mid;
    else
      hi = mid;
  }
  return lo;
}

double hr_device_trip_time(const hr_device_cfg_t *cfg, double i_a)
{
  hr_device_t d;
  hr_device_t *p;
  if (!cfg || !(isfinite(i_a) && i_a >= 0.0))
    return NAN;
  if (hr_device_init(&d, sizeof d, cfg, &p) != HR_OK)
    return NAN;
  return hr_device_time_to_trip(p, i_a);
}

const hr_device_cfg_t *hr_device_cfg(const hr_device_t *dev)
{
  return dev ? &dev->cfg : NULL;
}
