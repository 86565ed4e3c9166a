/* Event detectors: dips, swells and interruptions (IEC 61000-4-30 §5.4,
 * §5.5), rapid voltage changes (§5.11), power and current swings for AI
 * loads, and threshold alarms with hysteresis.  All of them run on values
 * the meter has already computed; none touches samples. */
#include <math.h>
#include <string.h>

#include "meter_int.h"

/* Inline min/max: libm's fmin/fmax are calls, and NaN cannot occur here. */
static inline double dmax(double a, double b)
{
  return a > b ? a : b;
}

static inline double dmin(double a, double b)
{
  return a < b ? a : b;
}

/* ---- arena --------------------------------------------------------------- */

/* Ring capacities are powers of two, so a slot is an index & mask: a swing
 * point comes every millisecond and a division each time would show. */
static int pow2_at_least(int n)
{
  int c = 1;
  while (c < n)
    c <<= 1;
  return c;
}

static int swing_cap_p(const hr_meter_cfg_t *cfg)
{
  return pow2_at_least((int)ceil(cfg->p_step_window_ms) + 4);
}

static int swing_cap_i(const hr_meter_cfg_t *cfg)
{
  double f_max = cfg->f_nom_hz * (1.0 + cfg->track_pct / 100.0);
  return pow2_at_least((int)ceil(cfg->i_step_window_ms / 1000.0 * 2.0 * f_max) + 8);
}

size_t hr__events_arena_doubles(const hr_meter_cfg_t *cfg, int rvc_n)
{
  int nu = hr_layout_n_u(cfg->layout);
  /* Each swing: times and values, plus two deques of int slots. */
  size_t p = (size_t)swing_cap_p(cfg), i = (size_t)swing_cap_i(cfg);
  return (size_t)rvc_n * (nu + 1) + 3u * p + 3u * i + 4u;
}

static void swing_init(hr__swing_t *s, double **arena, int cap, double thr, double window)
{
  memset(s, 0, sizeof *s);
  s->cap = cap;
  s->mask = cap - 1;
  s->thr = thr;
  s->window_s = window;
  s->t_s = *arena;
  s->x = *arena + cap;
  /* The deques hold int slots: cap ints each fit in (cap + 1) / 2 doubles. */
  s->dmin = (int *)(void *)(*arena + 2 * cap);
  s->dmax = s->dmin + cap;
  *arena += 3 * cap + 2;
}

void hr__events_init(hr_meter_t *m, double *arena)
{
  const hr_meter_cfg_t *c = &m->cfg;
  for (int k = 0; k < m->nu; k++, arena += m->rvc_n)
    m->rvc_ring[k] = arena;
  m->rvc_pos = arena;
  arena += m->rvc_n;
  /* Windows are kept in sample positions; t_s holds positions too. */
  swing_init(&m->pswing, &arena, swing_cap_p(c), c->p_step_base_w * c->p_step_pct / 100.0,
             c->p_step_window_ms / 1000.0 * c->fs_hz);
  swing_init(&m->iswing, &arena, swing_cap_i(c), c->i_step_base_a * c->i_step_pct / 100.0,
             c->i_step_window_ms / 1000.0 * c->fs_hz);
  for (int k = 0; k < c->n_alarms; k++)
    m->alarm[k].cfg = c->alarms[k];
}

static void swing_clear(hr__swing_t *s);

void hr__events_reset(hr_meter_t *m)
{
  memset(&m->dip, 0, sizeof m->dip);
  memset(&m->swell, 0, sizeof m->swell);
  memset(&m->intr, 0, sizeof m->intr);
  m->rvc_head = m->rvc_count = 0;
  m->rvc_active = m->rvc_steady = 0;
  memset(m->rvc_sum, 0, sizeof m->rvc_sum);
  m->pswing.active = m->iswing.active = 0;
  swing_clear(&m->pswing);
  swing_clear(&m->iswing);
  for (int k = 0; k < HR_MAX_ALARMS; k++)
    m->alarm[k].active = 0;
  m->ms_ev_pos = 0.0;
}

/* ---- emitting ---------------------------------------------------------------- */

static void emit_event(hr_meter_t *m, hr_event_type_t type, int ended, double now_pos,
                       int64_t start_ns, int64_t end_ns, unsigned channels, double extreme,
                       double depth_pct, double delta, double from, int alarm_index)
{
  hr_record_t rec;
  hr__meter_rec_init(m, &rec, HR_REC_EVENT);
  rec.flags = m->event_flags;
  rec.t_ns = hr__meter_t_ns(m, now_pos);
  hr_event_rec_t *e = &rec.u.event;
  e->type = type;
  e->ended = ended;
  e->channels = channels;
  e->start_ns = start_ns;
  e->duration_ns = ended ? end_ns - start_ns : 0;
  e->extreme = extreme;
  e->depth_pct = depth_pct;
  e->delta = delta;
  e->from = from;
  e->alarm_index = alarm_index;
  hr__meter_emit(m, &rec);
}

static double half_rms(const hr__half_t *h, int c)
{
  return h->len > 0.0 ? sqrt(dmax(h->sq[c], 0.0) / h->len) : 0.0;
}

/* ---- dips, swells, interruptions ------------------------------------------- */

/* The standard detects on Urms(1/2), whose one-cycle window lags a step by
 * up to a cycle.  The start is placed at the first of the window's two half
 * cycles whose own RMS is already past the threshold: for a step change that
 * is within half a cycle of the true instant (a half cycle of a sine holds
 * exactly half its energy, so its RMS is exact).  The end is placed the
 * same way. */
enum { BELOW = 0, ABOVE = 1 };

static int crosses(double v, double thr, int dir)
{
  return dir == BELOW ? v < thr : v > thr;
}

/* One polyphase voltage event.  start_any: the event starts when any channel
 * crosses (dips, swells) or only when all do (interruptions, §5.5.2). */
static int track_vevent(hr_meter_t *m, hr__vevent_t *ev, hr_event_type_t type, int dir,
                        int start_any, double thr, double thr_end, const hr__half_t *hp,
                        const hr__half_t *h, const double *urms)
{
  const int nu = m->nu;
  unsigned crossing = 0;
  double ext = dir == BELOW ? INFINITY : -INFINITY;
  for (int c = 0; c < nu; c++) {
    if (crosses(urms[c], thr, dir))
      crossing |= 1u << c;
    ext = dir == BELOW ? dmin(ext, urms[c]) : dmax(ext, urms[c]);
  }
  const unsigned all = (1u << nu) - 1u;
  const double udin = m->cfg.u_din_v;
  int was_active = ev->active;

  if (!ev->active) {
    int start = start_any ? crossing != 0 : crossing == all;
    if (!start)
      return 0;
    /* Did the older half cycle already cross on the channels that count? */
    int older = start_any ? 0 : 1;
    for (int c = 0; c < nu; c++) {
      int hc = crosses(half_rms(hp, c), thr, dir);
      if (start_any && (crossing >> c & 1u) && hc)
        older = 1;
      if (!start_any && !hc)
        older = 0;
    }
    ev->active = 1;
    ev->start_ns = hr__meter_t_ns(m, older ? hp->pos0 : h->pos0);
    ev->extreme = ext;
    ev->channels = crossing;
    emit_event(m, type, 0, h->pos1, ev->start_ns, 0, crossing, ext, 0.0, 0.0, 0.0, -1);
    return 1;
  }

  ev->extreme = dir == BELOW ? dmin(ev->extreme, ext) : dmax(ev->extreme, ext);
  ev->channels |= crossing;
  /* Recovered when every channel (dips, swells) or any channel
   * (interruptions) is back past the threshold plus hysteresis. */
  unsigned back = 0, back_older = 0;
  for (int c = 0; c < nu; c++) {
    if (!crosses(urms[c], thr_end, dir))
      back |= 1u << c;
    if (!crosses(half_rms(hp, c), thr_end, dir))
      back_older |= 1u << c;
  }
  int end = start_any ? back == all : back != 0;
  if (!end)
    return was_active;
  int older = start_any ? back_older == all : (back_older & back) != 0;
  int64_t end_ns = hr__meter_t_ns(m, older ? hp->pos0 : h->pos0);
  if (end_ns < ev->start_ns)
    end_ns = ev->start_ns;
  double depth =
      dir == BELOW ? (udin - ev->extreme) / udin * 100.0 : (ev->extreme - udin) / udin * 100.0;
  emit_event(m, type, 1, h->pos1, ev->start_ns, end_ns, ev->channels, ev->extreme, depth, 0.0, 0.0,
             -1);
  ev->active = 0;
  return 1; /* this window still overlapped the event */
}

/* ---- rapid voltage changes --------------------------------------------------- */

/* Largest distance of the window's values from mean, from the window's
 * extremes (rescanned only when the slot holding one is overwritten). */
static double rvc_maxdev(hr_meter_t *m, int c, double mean)
{
  return dmax(m->rvc_max[c] - mean, mean - m->rvc_min[c]);
}

static void rvc_rescan(hr_meter_t *m, int c)
{
  double lo = INFINITY, hi = -INFINITY;
  for (int k = 0, i = m->rvc_head; k < m->rvc_count; k++, i = i + 1 == m->rvc_n ? 0 : i + 1) {
    lo = dmin(lo, m->rvc_ring[c][i]);
    hi = dmax(hi, m->rvc_ring[c][i]);
  }
  m->rvc_min[c] = lo;
  m->rvc_max[c] = hi;
}

/* IEC 61000-4-30 §5.11: the voltage is steady when 100/120 successive
 * Urms(1/2) values stay within the RVC threshold of their arithmetic mean; an
 * RVC starts when a value leaves that band and ends when the voltage is
 * steady again; it is discarded if a dip or swell happens meanwhile. */
static void track_rvc(hr_meter_t *m, const hr__half_t *hp, const hr__half_t *h, const double *urms,
                      int dip_or_swell)
{
  const int nu = m->nu, n = m->rvc_n;
  const double udin = m->cfg.u_din_v;
  const double thr = m->cfg.rvc_pct / 100.0 * udin;
  const double thr_end = (m->cfg.rvc_pct - m->cfg.rvc_hysteresis_pct) / 100.0 * udin;
  if (dip_or_swell) {
    if (m->rvc_active) {
      /* The start notice went out; withdraw it with an end record that says
       * so, ending where the dip or swell window began. */
      int64_t end_ns = hr__meter_t_ns(m, hp->pos0);
      if (end_ns < m->rvc_start_ns)
        end_ns = m->rvc_start_ns;
      uint32_t fl = m->event_flags;
      m->event_flags |= HR_FLAG_CANCELLED;
      emit_event(m, HR_EVT_RVC, 1, h->pos1, m->rvc_start_ns, end_ns, m->rvc_channels, m->rvc_dumax,
                 m->rvc_dumax / udin * 100.0, 0.0, 0.0, -1);
      m->event_flags = fl;
    }
    m->rvc_active = 0;
    m->rvc_count = m->rvc_head = 0;
    m->rvc_steady = 0;
    memset(m->rvc_sum, 0, sizeof m->rvc_sum);
    return;
  }
  if (!m->rvc_active && m->rvc_steady) {
    unsigned out = 0;
    double dev = 0.0;
    for (int c = 0; c < nu; c++) {
      double mean = m->rvc_sum[c] / m->rvc_count, d = fabs(urms[c] - mean);
      if (d > thr)
        out |= 1u << c;
      dev = dmax(dev, d);
    }
    if (out) {
      m->rvc_active = 1;
      m->rvc_channels = out;
      m->rvc_dumax = dev;
      for (int c = 0; c < nu; c++)
        m->rvc_mean_before[c] = m->rvc_sum[c] / m->rvc_count;
      m->rvc_start_ns = hr__meter_t_ns(m, h->pos0);
      emit_event(m, HR_EVT_RVC, 0, h->pos1, m->rvc_start_ns, 0, out, dev, dev / udin * 100.0, 0.0,
                 0.0, -1);
    }
  } else if (m->rvc_active) {
    for (int c = 0; c < nu; c++) {
      double d = fabs(urms[c] - m->rvc_mean_before[c]);
      if (d > thr)
        m->rvc_channels |= 1u << c;
      m->rvc_dumax = dmax(m->rvc_dumax, d);
    }
  }

  /* Add the value, dropping the oldest once the window is full. */
  int slot = (m->rvc_head + m->rvc_count) % n;
  unsigned rescan = 0;
  if (m->rvc_count == n) {
    slot = m->rvc_head;
    for (int c = 0; c < nu; c++) {
      double old = m->rvc_ring[c][slot];
      m->rvc_sum[c] -= old;
      if (old <= m->rvc_min[c] || old >= m->rvc_max[c])
        rescan |= 1u << c;
    }
    m->rvc_head = (m->rvc_head + 1) % n;
  } else {
    m->rvc_count++;
  }
  for (int c = 0; c < nu; c++) {
    m->rvc_ring[c][slot] = urms[c];
    m->rvc_sum[c] += urms[c];
    if (m->rvc_count == 1) {
      m->rvc_min[c] = m->rvc_max[c] = urms[c];
    } else if (rescan >> c & 1u) {
      rvc_rescan(m, c);
    } else {
      m->rvc_min[c] = dmin(m->rvc_min[c], urms[c]);
      m->rvc_max[c] = dmax(m->rvc_max[c], urms[c]);
    }
  }
  m->rvc_pos[slot] = hp->pos0;

  int steady = m->rvc_count == n;
  double band = m->rvc_active ? thr_end : thr;
  for (int c = 0; c < nu && steady; c++)
    steady = rvc_maxdev(m, c, m->rvc_sum[c] / n) <= band;
  m->rvc_steady = steady;
  if (m->rvc_active && steady) {
    double duss = 0.0;
    for (int c = 0; c < nu; c++)
      duss = dmax(duss, fabs(m->rvc_sum[c] / n - m->rvc_mean_before[c]));
    /* The event ends where the new steady run of values began. */
    int64_t end_ns = hr__meter_t_ns(m, m->rvc_pos[m->rvc_head]);
    if (end_ns < m->rvc_start_ns)
      end_ns = m->rvc_start_ns;
    emit_event(m, HR_EVT_RVC, 1, h->pos1, m->rvc_start_ns, end_ns, m->rvc_channels, m->rvc_dumax,
               m->rvc_dumax / udin * 100.0, duss, 0.0, -1);
    m->rvc_active = 0;
  }
}

/* ---- swings (AI-load steps) ------------------------------------------------- */

static void swing_clear(hr__swing_t *s)
{
  s->head = s->count = 0;
  s->dmin_h = s->dmin_n = s->dmax_h = s->dmax_n = 0;
}

/* Drops the oldest point; it leaves the deques if it is at their fronts. */
static void swing_drop(hr__swing_t *s)
{
  if (s->dmin_n && s->dmin[s->dmin_h] == s->head) {
    s->dmin_h = (s->dmin_h + 1) & s->mask;
    s->dmin_n--;
  }
  if (s->dmax_n && s->dmax[s->dmax_h] == s->head) {
    s->dmax_h = (s->dmax_h + 1) & s->mask;
    s->dmax_n--;
  }
  s->head = (s->head + 1) & s->mask;
  s->count--;
}

/* Appends a point, dropping points older than the window.  The window's
 * minimum and maximum come from monotonic deques (O(1) amortised); among
 * equal values the earliest is kept, as a scan would. */
static void swing_append(hr__swing_t *s, double t, double x)
{
  while (s->count && t - s->t_s[s->head] > s->window_s)
    swing_drop(s);
  if (s->count == s->cap)
    swing_drop(s);
  int slot = (s->head + s->count) & s->mask;
  s->t_s[slot] = t;
  s->x[slot] = x;
  s->count++;
  while (s->dmin_n && s->x[s->dmin[(s->dmin_h + s->dmin_n - 1) & s->mask]] > x)
    s->dmin_n--;
  s->dmin[(s->dmin_h + s->dmin_n++) & s->mask] = slot;
  while (s->dmax_n && s->x[s->dmax[(s->dmax_h + s->dmax_n - 1) & s->mask]] < x)
    s->dmax_n--;
  s->dmax[(s->dmax_h + s->dmax_n++) & s->mask] = slot;
  s->imin = s->dmin[s->dmin_h];
  s->imax = s->dmax[s->dmax_h];
}

static void swing_end(hr_meter_t *m, hr__swing_t *s, hr_event_type_t type, double now, double base)
{
  double delta = s->x_ext - s->x_from;
  emit_event(m, type, 1, now, hr__meter_t_ns(m, s->t_from), hr__meter_t_ns(m, s->t_ext),
             s->channels, s->x_ext, fabs(delta) / base * 100.0, delta, s->x_from, -1);
  s->active = 0;
}

static void swing_push(hr_meter_t *m, hr__swing_t *s, hr_event_type_t type, double base, double t,
                       double x, unsigned channels)
{
  if (s->thr <= 0.0)
    return;
  if (s->active) {
    /* The swing's end time only moves while the value still goes on by a
     * visible amount (2 % of the threshold), not through ripple at the top. */
    if ((s->active > 0 && x > s->x_ext) || (s->active < 0 && x < s->x_ext)) {
      if (fabs(x - s->x_ext) > 0.02 * s->thr)
        s->t_ext = t;
      s->x_ext = x;
      s->channels |= channels;
    }
    /* A reversal larger than the threshold closes this swing and opens the
     * opposite one from its extreme. */
    if (fabs(x - s->x_ext) > s->thr) {
      double t0 = s->t_ext, x0 = s->x_ext;
      int dir = -s->active;
      swing_end(m, s, type, t, base);
      s->active = dir;
      s->t_from = t0;
      s->x_from = x0;
      s->t_ext = t;
      s->x_ext = x;
      s->channels = channels;
      emit_event(m, type, 0, t, hr__meter_t_ns(m, t0), 0, channels, x, 0.0, x - x0, x0, -1);
      swing_clear(s);
      swing_append(s, t, x);
      return;
    }
    if (t - s->t_ext >= s->window_s) {
      swing_end(m, s, type, t, base);
      swing_clear(s);
    }
    swing_append(s, t, x);
    return;
  }
  swing_append(s, t, x);
  int imin = s->imin, imax = s->imax;
  if (s->x[imax] - s->x[imin] <= s->thr)
    return;
  int rising = s->t_s[imax] > s->t_s[imin];
  int from = rising ? imin : imax, to = rising ? imax : imin;
  /* The swing starts at the last point before its end that was still within
   * 5 % of the threshold of the starting level (a flat run before a step
   * would otherwise date the start back to the window's beginning). */
  double x0 = s->x[from];
  for (int k = 0; k < s->count; k++) {
    int i = (s->head + k) & s->mask;
    if (s->t_s[i] >= s->t_s[to])
      break;
    if (fabs(s->x[i] - x0) <= 0.05 * s->thr)
      from = i;
  }
  s->active = rising ? 1 : -1;
  s->t_from = s->t_s[from];
  s->x_from = x0;
  s->t_ext = s->t_s[to];
  s->x_ext = s->x[to];
  s->channels = channels;
  emit_event(m, type, 0, t, hr__meter_t_ns(m, s->t_from), 0, channels, s->x_ext, 0.0,
             s->x_ext - s->x_from, s->x_from, -1);
}

/* ---- alarms ------------------------------------------------------------------ */

static void alarm_update(hr_meter_t *m, int k, double pos, double v)
{
  hr__alarm_t *a = &m->alarm[k];
  const hr_alarm_cfg_t *c = &a->cfg;
  if (!a->active) {
    if (c->above ? v > c->threshold : v < c->threshold) {
      a->active = 1;
      a->start_ns = hr__meter_t_ns(m, pos);
      a->extreme = v;
      emit_event(m, HR_EVT_ALARM, 0, pos, a->start_ns, 0, 0, v, 0.0, 0.0, 0.0, k);
    }
    return;
  }
  a->extreme = c->above ? dmax(a->extreme, v) : dmin(a->extreme, v);
  if (c->above ? v <= c->threshold - c->hysteresis : v >= c->threshold + c->hysteresis) {
    emit_event(m, HR_EVT_ALARM, 1, pos, a->start_ns, hr__meter_t_ns(m, pos), 0, a->extreme, 0.0,
               0.0, 0.0, k);
    a->active = 0;
  }
}

static void alarms_for(hr_meter_t *m, hr_metric_t metric, double pos, double v_low, double v_high)
{
  for (int k = 0; k < m->cfg.n_alarms; k++)
    if (m->alarm[k].cfg.metric == metric)
      alarm_update(m, k, pos, m->alarm[k].cfg.above ? v_high : v_low);
}

/* ---- entry points ------------------------------------------------------------ */

uint32_t hr__events_half(hr_meter_t *m, const hr__half_t *hp, const hr__half_t *h,
                         const double *urms, const double *irms)
{
  const double u = m->cfg.u_din_v / 100.0;
  const double hy = m->cfg.hysteresis_pct;
  int in_event = 0;
  in_event |= track_vevent(m, &m->dip, HR_EVT_DIP, BELOW, 1, m->cfg.dip_pct * u,
                           (m->cfg.dip_pct + hy) * u, hp, h, urms);
  in_event |= track_vevent(m, &m->swell, HR_EVT_SWELL, ABOVE, 1, m->cfg.swell_pct * u,
                           (m->cfg.swell_pct - hy) * u, hp, h, urms);
  in_event |= track_vevent(m, &m->intr, HR_EVT_INTERRUPTION, BELOW, 0, m->cfg.interruption_pct * u,
                           (m->cfg.interruption_pct + hy) * u, hp, h, urms);
  if (m->cfg.rvc_pct > 0.0)
    track_rvc(m, hp, h, urms, in_event);

  int nph = m->n_phase, imax_c = 0;
  double imax = 0.0, umin = INFINITY, umax = -INFINITY;
  for (int c = 0; c < nph; c++)
    if (irms[c] > imax) {
      imax = irms[c];
      imax_c = c;
    }
  for (int c = 0; c < m->nu; c++) {
    umin = dmin(umin, urms[c]);
    umax = dmax(umax, urms[c]);
  }
  swing_push(m, &m->iswing, HR_EVT_CURRENT_STEP, m->cfg.i_step_base_a, h->pos1, imax,
             1u << (m->nu + imax_c));
  alarms_for(m, HR_METRIC_I_RMS_A, h->pos1, imax, imax);
  alarms_for(m, HR_METRIC_U_RMS_V, h->pos1, umin, umax);
  return in_event ? HR_FLAG_EVENT : 0;
}

void hr__events_ms(hr_meter_t *m, double t_s, double p_w, double dpdt, double ipeak)
{
  double pos = t_s * m->fs;
  m->ms_ev_pos = pos;
  swing_push(m, &m->pswing, HR_EVT_POWER_STEP, m->cfg.p_step_base_w, pos, p_w, 0);
  alarms_for(m, HR_METRIC_P_TOTAL_W, pos, p_w, p_w);
  alarms_for(m, HR_METRIC_DPDT_W_PER_S, pos, dpdt, dpdt);
  alarms_for(m, HR_METRIC_I_PEAK_A, pos, ipeak, ipeak);
}

void hr__events_cycle(hr_meter_t *m, double pos, double freq_hz)
{
  alarms_for(m, HR_METRIC_FREQ_HZ, pos, freq_hz, freq_hz);
}

static void finish_vevent(hr_meter_t *m, hr__vevent_t *ev, hr_event_type_t type, int below,
                          double pos)
{
  if (!ev->active)
    return;
  const double udin = m->cfg.u_din_v;
  int64_t end_ns = hr__meter_t_ns(m, pos);
  if (end_ns < ev->start_ns)
    end_ns = ev->start_ns;
  double depth = below ? (udin - ev->extreme) / udin * 100.0 : (ev->extreme - udin) / udin * 100.0;
  emit_event(m, type, 1, pos, ev->start_ns, end_ns, ev->channels, ev->extreme, depth, 0.0, 0.0, -1);
  ev->active = 0;
}

/* Whether alarm k watches the 1-ms series (see hr_metric_t). */
static int alarm_on_ms(const hr__alarm_t *a)
{
  return a->cfg.metric == HR_METRIC_P_TOTAL_W || a->cfg.metric == HR_METRIC_DPDT_W_PER_S ||
         a->cfg.metric == HR_METRIC_I_PEAK_A;
}

void hr__events_finish(hr_meter_t *m, double half_pos)
{
  /* Each open event ends where its own series ends: an event found on the
   * 1-ms series started at a tick that may come after the last processed
   * half-cycle boundary (boundaries wait a cycle for their window), and
   * closing it there would end it before it began. */
  const double pos = half_pos, ms_pos = m->ms_ev_pos;
  m->event_flags = HR_FLAG_OPEN;
  finish_vevent(m, &m->dip, HR_EVT_DIP, 1, pos);
  finish_vevent(m, &m->swell, HR_EVT_SWELL, 0, pos);
  finish_vevent(m, &m->intr, HR_EVT_INTERRUPTION, 1, pos);
  if (m->rvc_active) {
    int64_t end_ns = hr__meter_t_ns(m, pos);
    emit_event(m, HR_EVT_RVC, 1, pos, m->rvc_start_ns, end_ns, m->rvc_channels, m->rvc_dumax,
               m->rvc_dumax / m->cfg.u_din_v * 100.0, 0.0, 0.0, -1);
    m->rvc_active = 0;
  }
  if (m->pswing.active)
    swing_end(m, &m->pswing, HR_EVT_POWER_STEP, ms_pos, m->cfg.p_step_base_w);
  if (m->iswing.active)
    swing_end(m, &m->iswing, HR_EVT_CURRENT_STEP, pos, m->cfg.i_step_base_a);
  for (int k = 0; k < m->cfg.n_alarms; k++) {
    hr__alarm_t *a = &m->alarm[k];
    if (!a->active)
      continue;
    const double end = alarm_on_ms(a) ? ms_pos : pos;
    emit_event(m, HR_EVT_ALARM, 1, end, a->start_ns, hr__meter_t_ns(m, end), 0, a->extreme, 0.0,
               0.0, 0.0, k);
    a->active = 0;
  }
  m->event_flags = 0;
}
