/* Records as JSON objects.  Written by hand with a bounded buffer: the shape
 * is fixed and small, and the stream path must not allocate. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/core.h"
#include "headroom/wire.h"

typedef struct out {
  char *buf;
  size_t len, pos;
  int full;
} out_t;

static void put(out_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(out_t *o, const char *fmt, ...)
{
  if (o->full)
    return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(o->buf + o->pos, o->len - o->pos, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= o->len - o->pos) {
    o->full = 1;
    o->pos = o->len - 1;
    return;
  }
  o->pos += (size_t)n;
}

/* A number with 10 significant digits and '.' whatever the locale. */
static void put_num(out_t *o, double v)
{
  char t[40];
  hr__num_format(t, sizeof t, 10, v);
  put(o, "%s", t);
}

static void num(out_t *o, const char *key, double v)
{
  if (isfinite(v)) {
    put(o, ",\"%s\":", key);
    put_num(o, v);
  } else
    put(o, ",\"%s\":null", key);
}

/* key = NULL: a bare array (an element of an enclosing one). */
static void arr(out_t *o, const char *key, const double *v, int n)
{
  if (key)
    put(o, ",\"%s\":[", key);
  else
    put(o, "[");
  for (int k = 0; k < n; k++) {
    if (isfinite(v[k])) {
      put(o, "%s", k ? "," : "");
      put_num(o, v[k]);
    } else
      put(o, "%snull", k ? "," : "");
  }
  put(o, "]");
}

int hr_time_rfc3339(int64_t t_ns, char *buf, size_t len)
{
  if (!buf || len < 32)
    return HR_ERR_INVALID_ARG;
  int64_t s = t_ns / 1000000000, ns = t_ns % 1000000000;
  if (ns < 0) {
    ns += 1000000000;
    s -= 1;
  }
  time_t tt = (time_t)s;
  struct tm tm;
  if (!gmtime_r(&tt, &tm))
    return HR_ERR_INVALID_ARG;
  char day[24];
  strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf, len, "%s.%09lldZ", day, (long long)ns);
  return HR_OK;
}

static const char *const flag_names[] = {"bad_sample", "clipped",   "no_zc", "freq_range", "event",
                                         "startup",    "irregular", "open",  "cancelled"};

static void channels(out_t *o, const hr_record_t *rec, unsigned mask)
{
  static const char *const u3[] = {"u1", "u2", "u3"};
  put(o, ",\"channels\":[");
  int first = 1;
  for (int c = 0; c < rec->n_u + rec->n_i; c++) {
    if (!(mask >> c & 1u))
      continue;
    if (c < rec->n_u)
      put(o, "%s\"%s\"", first ? "" : ",", u3[c]);
    else
      put(o, "%s\"i%d\"", first ? "" : ",", c - rec->n_u + 1);
    first = 0;
  }
  put(o, "]");
}

static int device_id_ok(const char *device_id)
{
  if (!device_id)
    return 1;
  size_t n = strlen(device_id);
  if (n > 64)
    return 0;
  for (size_t k = 0; k < n; k++)
    if (device_id[k] < 0x20 || device_id[k] > 0x7e || device_id[k] == '"' || device_id[k] == '\\')
      return 0;
  return 1;
}

/* rows of an n x 3 array of orders 3, 5, 7 as [[h3,h5,h7],...] */
static void arr3(out_t *o, const char *key, const double (*v)[3], int n)
{
  put(o, ",\"%s\":[", key);
  for (int c = 0; c < n; c++) {
    put(o, "%s", c ? "," : "");
    arr(o, NULL, v[c], 3);
  }
  put(o, "]");
}

int hr_record_json(const hr_record_t *rec, const char *device_id, char *buf, size_t len,
                   size_t *n_written)
{
  if (!rec || !buf || len == 0)
    return HR_ERR_INVALID_ARG;
  if (!device_id_ok(device_id))
    return HR_ERR_INVALID_ARG;
  out_t o = {buf, len, 0, 0};
  buf[0] = '\0';
  char ts[40];
  hr_time_rfc3339(rec->t_ns, ts, sizeof ts);
  put(&o, "{\"type\":\"%s\"", hr_rec_kind_name(rec->kind));
  if (device_id)
    put(&o, ",\"device_id\":\"%s\"", device_id);
  put(&o, ",\"t\":\"%s\",\"t_ns\":%lld,\"dur_ns\":%lld,\"flags\":[", ts, (long long)rec->t_ns,
      (long long)rec->dur_ns);
  int first = 1;
  for (unsigned k = 0; k < sizeof flag_names / sizeof flag_names[0]; k++)
    if (rec->flags >> k & 1u) {
      put(&o, "%s\"%s\"", first ? "" : ",", flag_names[k]);
      first = 0;
    }
  put(&o, "]");
  int nu = rec->n_u, ni = rec->n_i, np = nu == 1 ? 1 : 3;
  switch (rec->kind) {
  case HR_REC_HALF:
    arr(&o, "u_rms_v", rec->u.half.u_rms_v, nu);
    arr(&o, "i_rms_a", rec->u.half.i_rms_a, ni);
    break;
  case HR_REC_CYCLE: {
    const hr_cycle_rec_t *c = &rec->u.cycle;
    num(&o, "freq_hz", c->freq_hz);
    arr(&o, "u_rms_v", c->u_rms_v, nu);
    arr(&o, "i_rms_a", c->i_rms_a, ni);
    arr(&o, "u_peak_v", c->u_peak_v, nu);
    arr(&o, "i_peak_a", c->i_peak_a, ni);
    arr(&o, "u_crest", c->u_crest, nu);
    arr(&o, "i_crest", c->i_crest, ni);
    arr(&o, "p_w", c->p_w, np);
    arr(&o, "s_va", c->s_va, np);
    arr(&o, "pf", c->pf, np);
    num(&o, "p_total_w", c->p_total_w);
    num(&o, "s_arith_va", c->s_arith_va);
    num(&o, "u_eff_v", c->u_eff_v);
    num(&o, "i_eff_a", c->i_eff_a);
    num(&o, "s_eff_va", c->s_eff_va);
    num(&o, "pf_total", c->pf_total);
    break;
  }
  case HR_REC_MS:
    num(&o, "p_total_w", rec->u.ms.p_total_w);
    num(&o, "dpdt_w_per_s", rec->u.ms.dpdt_w_per_s);
    num(&o, "i_peak_a", rec->u.ms.i_peak_a);
    break;
  case HR_REC_INTERVAL: {
    const hr_interval_rec_t *v = &rec->u.interval;
    put(&o, ",\"n_cycles\":%d", v->n_cycles);
    num(&o, "freq_hz", v->freq_hz);
    arr(&o, "u_rms_v", v->u_rms_v, nu);
    arr(&o, "i_rms_a", v->i_rms_a, ni);
    arr(&o, "p_w", v->p_w, np);
    num(&o, "p_total_w", v->p_total_w);
    num(&o, "s_eff_va", v->s_eff_va);
    num(&o, "pf_total", v->pf_total);
    break;
  }
  case HR_REC_HARM: {
    const hr_harm_rec_t *h = &rec->u.harm;
    put(&o, ",\"n_cycles\":%d,\"h_max\":%d", h->n_cycles, h->h_max);
    num(&o, "freq_hz", h->freq_hz);
    arr(&o, "u_thd_pct", h->u_thd_pct, nu);
    arr(&o, "i_thd_pct", h->i_thd_pct, ni);
    arr(&o, "i_tdd_pct", h->i_tdd_pct, ni);
    arr3(&o, "u_h357_v", h->u_h_v, nu);
    arr3(&o, "i_h357_a", h->i_h_a, ni);
    num(&o, "p_w", h->p_w);
    num(&o, "p1_pos_w", h->p1_pos_w);
    num(&o, "q1_pos_var", h->q1_pos_var);
    num(&o, "s1_pos_va", h->s1_pos_va);
    num(&o, "s_eff_va", h->s_eff_va);
    num(&o, "s_eff1_va", h->s_eff1_va);
    num(&o, "s_effn_va", h->s_effn_va);
    num(&o, "s_u1_va", h->s_u1_va);
    num(&o, "pf", h->pf);
    num(&o, "pf1_pos", h->pf1_pos);
    num(&o, "u2_pct", h->u2_pct);
    num(&o, "u0_pct", h->u0_pct);
    num(&o, "i2_pct", h->i2_pct);
    num(&o, "i0_pct", h->i0_pct);
    break;
  }
  case HR_REC_AGG150:
  case HR_REC_AGG10MIN: {
    const hr_agg_rec_t *a = &rec->u.agg;
    put(&o, ",\"n_values\":%d,\"n_cycles\":%d", a->n_values, a->n_cycles);
    num(&o, "freq_hz", a->freq_hz);
    arr(&o, "u_rms_v", a->u_rms_v, nu);
    arr(&o, "i_rms_a", a->i_rms_a, ni);
    arr(&o, "p_w", a->p_w, np);
    num(&o, "p_total_w", a->p_total_w);
    break;
  }
  case HR_REC_SWING: {
    const hr_swing_rec_t *w = &rec->u.swing;
    put(&o, ",\"window\":%d", w->window);
    num(&o, "bin_hz", w->bin_hz);
    num(&o, "p_mean_w", w->p_mean_w);
    num(&o, "p_min_w", w->p_min_w);
    num(&o, "p_max_w", w->p_max_w);
    num(&o, "swing_rms_w", w->swing_rms_w);
    num(&o, "dom_freq_hz", w->dom_freq_hz);
    num(&o, "dom_amp_w", w->dom_amp_w);
    int nb = w->n_bands < 0 ? 0 : w->n_bands > HR_SWING_MAX_BANDS ? HR_SWING_MAX_BANDS : w->n_bands;
    int nr = w->n_ramps < 0 ? 0 : w->n_ramps > HR_SWING_MAX_RAMPS ? HR_SWING_MAX_RAMPS : w->n_ramps;
    arr(&o, "band_rms_w", w->band_rms_w, nb);
    arr(&o, "ramp_w_per_s", w->ramp_w_per_s, nr);
    break;
  }
  case HR_REC_PHASOR: {
    const hr_phasor_rec_t *f = &rec->u.phasor;
    put(&o, ",\"rate_fps\":%d,\"class\":\"%s\"", f->rate_fps, f->pclass == HR_PHASOR_M ? "M" : "P");
    num(&o, "freq_hz", f->freq_hz);
    num(&o, "rocof_hz_per_s", f->rocof_hz_per_s);
    arr(&o, "u_mag_v", f->u_mag_v, nu);
    arr(&o, "u_ang_deg", f->u_ang_deg, nu);
    arr(&o, "i_mag_a", f->i_mag_a, ni);
    arr(&o, "i_ang_deg", f->i_ang_deg, ni);
    if (nu == 3) {
      num(&o, "u_pos_mag_v", f->u_pos_mag_v);
      num(&o, "u_pos_ang_deg", f->u_pos_ang_deg);
      num(&o, "i_pos_mag_a", f->i_pos_mag_a);
      num(&o, "i_pos_ang_deg", f->i_pos_ang_deg);
    }
    break;
  }
  case HR_REC_FLICKER: {
    /* IEC 61000-4-15: Pst per voltage channel over 10 min, or Plt over 2 h. */
    const hr_flicker_rec_t *f = &rec->u.flicker;
    put(&o, ",\"quantity\":\"%s\",\"lamp_v\":%d", f->plt ? "plt" : "pst", f->lamp_v);
    if (f->plt) {
      arr(&o, "plt", f->p, nu);
      put(&o, ",\"n_pst\":%d", f->n_pst);
    } else {
      arr(&o, "pst", f->p, nu);
      arr(&o, "pinst_max", f->pinst_max, nu);
      arr(&o, "p0_1", f->p0_1, nu);
      arr(&o, "p1s", f->p1s, nu);
      arr(&o, "p3s", f->p3s, nu);
      arr(&o, "p10s", f->p10s, nu);
      arr(&o, "p50s", f->p50s, nu);
    }
    break;
  }
  case HR_REC_FREQ10S:
    num(&o, "freq_hz", rec->u.freq.freq_hz);
    put(&o, ",\"n_cycles\":%d", rec->u.freq.n_cycles);
    num(&o, "span_s", rec->u.freq.span_s);
    break;
  case HR_REC_EVENT: {
    const hr_event_rec_t *e = &rec->u.event;
    put(&o, ",\"event\":\"%s\",\"phase\":\"%s\",\"start_ns\":%lld", hr_event_type_name(e->type),
        e->ended ? "end" : "start", (long long)e->start_ns);
    if (e->ended)
      put(&o, ",\"duration_ns\":%lld", (long long)e->duration_ns);
    channels(&o, rec, e->channels);
    switch (e->type) {
    case HR_EVT_DIP:
    case HR_EVT_INTERRUPTION:
      num(&o, "residual_v", e->extreme);
      if (e->ended)
        num(&o, "depth_pct", e->depth_pct);
      break;
    case HR_EVT_SWELL:
      num(&o, "max_v", e->extreme);
      if (e->ended)
        num(&o, "swell_pct", e->depth_pct);
      break;
    case HR_EVT_RVC:
      num(&o, "du_max_v", e->extreme);
      if (e->ended)
        num(&o, "du_ss_v", e->delta);
      break;
    case HR_EVT_POWER_STEP:
    case HR_EVT_CURRENT_STEP: {
      const char *u = e->type == HR_EVT_POWER_STEP ? "w" : "a";
      char k1[16], k2[16], k3[16];
      snprintf(k1, sizeof k1, "from_%s", u);
      snprintf(k2, sizeof k2, "to_%s", u);
      snprintf(k3, sizeof k3, "delta_%s", u);
      num(&o, k1, e->from);
      num(&o, k2, e->extreme);
      num(&o, k3, e->delta);
      if (e->ended)
        num(&o, "swing_pct", e->depth_pct);
      break;
    }
    case HR_EVT_ALARM:
      put(&o, ",\"alarm\":%d", e->alarm_index);
      num(&o, "extreme", e->extreme);
      break;
    case HR_EVT_SWING_LIMIT: {
      int band = e->alarm_index >= HR_SWING_BAND_LIMIT0;
      put(&o, ",\"limit\":\"%s\",\"index\":%d", band ? "band" : "ramp",
          band ? e->alarm_index - HR_SWING_BAND_LIMIT0 : e->alarm_index);
      num(&o, band ? "limit_w" : "limit_w_per_s", e->from);
      num(&o, band ? "max_w" : "max_w_per_s", e->extreme);
      num(&o, "pct_of_limit", e->depth_pct);
      break;
    }
    }
    break;
  }
  }
  put(&o, "}");
  if (n_written)
    *n_written = o.pos;
  return o.full ? HR_ERR_FULL : HR_OK;
}

int hr_swing_spectrum_json(const hr_record_t *rec, const char *device_id, char *buf, size_t len,
                           size_t *n_written)
{
  if (!rec || !buf || len == 0 || rec->kind != HR_REC_SWING || !rec->u.swing.spectrum_w ||
      rec->u.swing.n_bins < 1 || !device_id_ok(device_id))
    return HR_ERR_INVALID_ARG;
  const hr_swing_rec_t *w = &rec->u.swing;
  out_t o = {buf, len, 0, 0};
  buf[0] = '\0';
  char ts[40];
  hr_time_rfc3339(rec->t_ns, ts, sizeof ts);
  put(&o, "{\"type\":\"swing_spectrum\"");
  if (device_id)
    put(&o, ",\"device_id\":\"%s\"", device_id);
  put(&o, ",\"t\":\"%s\",\"t_ns\":%lld,\"dur_ns\":%lld,\"window\":%d,\"n_bins\":%d", ts,
      (long long)rec->t_ns, (long long)rec->dur_ns, w->window, w->n_bins);
  num(&o, "bin_hz", w->bin_hz);
  arr(&o, "spectrum_w", w->spectrum_w, w->n_bins);
  put(&o, "}");
  if (n_written)
    *n_written = o.pos;
  return o.full ? HR_ERR_FULL : HR_OK;
}

static void harm_chan(out_t *o, const char *name, const hr_harm_chan_t *c, int first)
{
  put(o, "%s{\"ch\":\"%s\"", first ? "" : ",", name);
  num(o, "rms", c->rms);
  num(o, "dc", c->dc);
  num(o, "thd_pct", c->thd_pct);
  num(o, "thdg_pct", c->thdg_pct);
  arr(o, "sg", c->sg, HR_HARM_H_MAX + 1);
  arr(o, "g", c->g, HR_HARM_H_MAX + 1);
  arr(o, "isg", c->isg, HR_HARM_H_MAX + 1);
  arr(o, "ig", c->ig, HR_HARM_H_MAX + 1);
  arr(o, "phase_deg", c->phase_deg, HR_HARM_H_MAX + 1);
  put(o, "}");
}

int hr_harm_json(const hr_harm_t *h, int64_t t_ns, const char *device_id, char *buf, size_t len,
                 size_t *n_written)
{
  if (!h || !buf || len == 0 || !device_id_ok(device_id))
    return HR_ERR_INVALID_ARG;
  out_t o = {buf, len, 0, 0};
  buf[0] = '\0';
  char ts[40];
  hr_time_rfc3339(t_ns, ts, sizeof ts);
  put(&o, "{\"type\":\"harm_spectrum\"");
  if (device_id)
    put(&o, ",\"device_id\":\"%s\"", device_id);
  put(&o, ",\"t\":\"%s\",\"t_ns\":%lld,\"n_cycles\":%d,\"n_points\":%d,\"h_max\":%d", ts,
      (long long)t_ns, h->n_cycles, h->n_points, h->h_max);
  num(&o, "freq_hz", h->freq_hz);
  put(&o, ",\"channels\":[");
  static const char *const un[] = {"u1", "u2", "u3"}, *const in[] = {"i1", "i2", "i3", "i4"};
  for (int c = 0; c < h->n_u && c < HR_MAX_U; c++)
    harm_chan(&o, un[c], &h->u[c], c == 0);
  for (int c = 0; c < h->n_i && c < HR_MAX_I; c++)
    harm_chan(&o, in[c], &h->i[c], 0);
  put(&o, "]");
  arr(&o, "i_tdd_pct", h->tdd_pct, h->n_i < HR_MAX_I ? h->n_i : HR_MAX_I);
  put(&o, ",\"phases\":[");
  for (int p = 0; p < h->n_phase && p < 3; p++) {
    const hr_p1459_phase_t *f = &h->ph[p];
    put(&o, "%s{", p ? "," : "");
    put(&o, "\"phase\":%d", p + 1);
    num(&o, "v_v", f->v);
    num(&o, "i_a", f->i);
    num(&o, "v1_v", f->v1);
    num(&o, "i1_a", f->i1);
    num(&o, "vh_v", f->vh);
    num(&o, "ih_a", f->ih);
    num(&o, "p_w", f->p);
    num(&o, "p1_w", f->p1);
    num(&o, "ph_w", f->ph);
    num(&o, "q1_var", f->q1);
    num(&o, "s_va", f->s);
    num(&o, "s1_va", f->s1);
    num(&o, "sn_va", f->sn);
    num(&o, "d_i_var", f->d_i);
    num(&o, "d_v_var", f->d_v);
    num(&o, "s_h_va", f->s_h);
    num(&o, "d_h_var", f->d_h);
    num(&o, "pf", f->pf);
    num(&o, "pf1", f->pf1);
    num(&o, "thd_v", f->thd_v);
    num(&o, "thd_i", f->thd_i);
    put(&o, "}");
  }
  put(&o, "]");
  const hr_p1459_sys_t *s = &h->sys;
  put(&o, ",\"system\":{\"layout_phases\":%d", h->n_phase);
  num(&o, "ve_v", s->ve);
  num(&o, "ie_a", s->ie);
  num(&o, "ve1_v", s->ve1);
  num(&o, "ie1_a", s->ie1);
  num(&o, "veh_v", s->veh);
  num(&o, "ieh_a", s->ieh);
  num(&o, "p_w", s->p);
  num(&o, "p1_w", s->p1);
  num(&o, "se_va", s->se);
  num(&o, "se1_va", s->se1);
  num(&o, "sen_va", s->sen);
  num(&o, "de_i_var", s->de_i);
  num(&o, "de_v_var", s->de_v);
  num(&o, "se_h_va", s->se_h);
  num(&o, "p1_pos_w", s->p1_pos);
  num(&o, "q1_pos_var", s->q1_pos);
  num(&o, "s1_pos_va", s->s1_pos);
  num(&o, "su1_va", s->su1);
  num(&o, "pf", s->pf);
  num(&o, "pf1_pos", s->pf1_pos);
  num(&o, "harm_pollution", s->harm_pollution);
  num(&o, "v_pos_v", s->v_pos);
  num(&o, "v_neg_v", s->v_neg);
  num(&o, "v_zero_v", s->v_zero);
  num(&o, "i_pos_a", s->i_pos);
  num(&o, "i_neg_a", s->i_neg);
  num(&o, "i_zero_a", s->i_zero);
  num(&o, "u2_pct", s->u2_pct);
  num(&o, "u0_pct", s->u0_pct);
  num(&o, "i2_pct", s->i2_pct);
  num(&o, "i0_pct", s->i0_pct);
  put(&o, "}}");
  if (n_written)
    *n_written = o.pos;
  return o.full ? HR_ERR_FULL : HR_OK;
}
