/* PowerMeasurement as JSON: the proto3 JSON mapping
 * (https://protobuf.dev/programming-guides/proto3/#json) with the .proto's
 * own field names (as protoc's preserving_proto_field_name prints them), so
 * google.protobuf.json_format.Parse reads it back into the same message.
 * Written by hand into a bounded buffer: the shape is fixed, and the stream
 * path must not allocate. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "headroom/wire.h"

typedef struct out {
  char *buf;
  size_t len, pos;
  int full;
  int first; /* no comma before the next member */
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
    o->buf[o->pos] = '\0';
    return;
  }
  o->pos += (size_t)n;
}

static void key(out_t *o, const char *k)
{
  put(o, "%s\"%s\":", o->first ? "" : ",", k);
  o->first = 0;
}

static void open_obj(out_t *o, const char *k)
{
  if (k)
    key(o, k);
  put(o, "{");
  o->first = 1;
}

static void close_obj(out_t *o)
{
  put(o, "}");
  o->first = 0;
}

/* A double as the proto3 JSON mapping writes one: 17 significant digits
 * (exact round trip), infinities and NaN as strings. */
static void put_dbl(out_t *o, double v)
{
  if (isnan(v)) { /* only where the field is always sent (event) */
    put(o, "\"NaN\"");
    return;
  }
  if (isinf(v)) {
    put(o, v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    return;
  }
  char t[40];
  hr__num_format(t, sizeof t, 17, v);
  put(o, "%s", t);
}

/* NaN: absent, left out. */
static void dbl(out_t *o, const char *k, double v)
{
  if (isnan(v))
    return;
  key(o, k);
  put_dbl(o, v);
}

static void dbl_arr(out_t *o, const char *k, const double *v, int n)
{
  if (n <= 0)
    return;
  key(o, k);
  put(o, "[");
  for (int j = 0; j < n; j++) {
    if (j)
      put(o, ",");
    put_dbl(o, v[j]);
  }
  put(o, "]");
}

/* int64 as a decimal string (proto3 JSON mapping). */
static void i64(out_t *o, const char *k, int64_t v)
{
  key(o, k);
  put(o, "\"%lld\"", (long long)v);
}

/* A JSON string (RFC 8259 §7): quote, backslash and control characters
 * escaped; other bytes (valid UTF-8, hr_pm_decode checks) as they are. */
static void str(out_t *o, const char *k, const char *s)
{
  key(o, k);
  put(o, "\"");
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\')
      put(o, "\\%c", *p);
    else if (*p < 0x20)
      put(o, "\\u%04x", *p);
    else
      put(o, "%c", *p);
  }
  put(o, "\"");
}

static const char *kind_name(int kind)
{
  switch (kind) {
  case 0:
    return "RECORD_KIND_UNSPECIFIED";
  case HR_REC_HALF:
    return "RECORD_KIND_HALF";
  case HR_REC_CYCLE:
    return "RECORD_KIND_CYCLE";
  case HR_REC_MS:
    return "RECORD_KIND_MS";
  case HR_REC_INTERVAL:
    return "RECORD_KIND_INTERVAL";
  case HR_REC_FREQ10S:
    return "RECORD_KIND_FREQ10S";
  case HR_REC_EVENT:
    return "RECORD_KIND_EVENT";
  case HR_REC_HARM:
    return "RECORD_KIND_HARM";
  case HR_REC_AGG150:
    return "RECORD_KIND_AGG150";
  case HR_REC_AGG10MIN:
    return "RECORD_KIND_AGG10MIN";
  case HR_REC_PHASOR:
    return "RECORD_KIND_PHASOR";
  case HR_REC_FLICKER:
    return "RECORD_KIND_FLICKER";
  case HR_REC_SWING:
    return "RECORD_KIND_SWING";
  default:
    return NULL;
  }
}

static const char *event_name(int type)
{
  static const char *const names[] = {
      "EVENT_TYPE_UNSPECIFIED",  "EVENT_TYPE_DIP",   "EVENT_TYPE_SWELL",
      "EVENT_TYPE_INTERRUPTION", "EVENT_TYPE_RVC",   "EVENT_TYPE_POWER_STEP",
      "EVENT_TYPE_CURRENT_STEP", "EVENT_TYPE_ALARM", "EVENT_TYPE_SWING_LIMIT"};
  return type >= 0 && type < (int)(sizeof names / sizeof names[0]) ? names[type] : NULL;
}

/* An enum by name, or by number when the .proto does not know the value. */
static void enm(out_t *o, const char *k, const char *name, int v)
{
  key(o, k);
  if (name)
    put(o, "\"%s\"", name);
  else
    put(o, "%d", v);
}

static void phase(out_t *o, const hr_pm_phase_t *p)
{
  open_obj(o, NULL);
  dbl(o, "voltage_rms", p->voltage_rms);
  dbl(o, "current_rms", p->current_rms);
  dbl(o, "power_active", p->power_active);
  dbl(o, "power_reactive", p->power_reactive);
  dbl(o, "power_apparent", p->power_apparent);
  dbl(o, "power_factor", p->power_factor);
  dbl(o, "voltage_peak", p->voltage_peak);
  dbl(o, "current_peak", p->current_peak);
  dbl(o, "thd_voltage", p->thd_voltage);
  dbl(o, "thd_current", p->thd_current);
  dbl_arr(o, "voltage_harmonics", p->voltage_harmonics, p->n_voltage_harmonics);
  dbl_arr(o, "current_harmonics", p->current_harmonics, p->n_current_harmonics);
  close_obj(o);
}

int hr_pm_json(const hr_pm_t *pm, char *buf, size_t len, size_t *n_written)
{
  if (n_written)
    *n_written = 0;
  if (!pm || !buf || len == 0 || pm->n_phases < 0 || pm->n_phases > HR_PM_MAX_PHASES ||
      pm->pq.n_harmonics < 0 || pm->pq.n_harmonics > HR_PM_MAX_HARMONICS ||
      !memchr(pm->device_id, '\0', sizeof pm->device_id))
    return HR_ERR_INVALID_ARG;
  for (int k = 0; k < pm->n_phases; k++)
    if (pm->phases[k].n_voltage_harmonics < 0 ||
        pm->phases[k].n_voltage_harmonics > HR_PM_MAX_HARMONICS ||
        pm->phases[k].n_current_harmonics < 0 ||
        pm->phases[k].n_current_harmonics > HR_PM_MAX_HARMONICS)
      return HR_ERR_INVALID_ARG;
  out_t o = {buf, len, 0, 0, 1};
  buf[0] = '\0';
  open_obj(&o, NULL);
  i64(&o, "timestamp_ns", pm->timestamp_ns);
  str(&o, "device_id", pm->device_id);
  if (pm->n_phases > 0) {
    key(&o, "phases");
    put(&o, "[");
    for (int k = 0; k < pm->n_phases; k++) {
      if (k)
        put(&o, ",");
      phase(&o, &pm->phases[k]);
    }
    put(&o, "]");
  }
  /* The submessages are written when they carry something, as hr_pm_encode
   * sends them. */
  if (!isnan(pm->pq.thd_voltage) || !isnan(pm->pq.thd_current) || !isnan(pm->pq.frequency) ||
      pm->pq.n_harmonics > 0 || pm->pq.sag_detected >= 0 || pm->pq.swell_detected >= 0) {
    open_obj(&o, "pq");
    dbl(&o, "thd_voltage", pm->pq.thd_voltage);
    dbl(&o, "thd_current", pm->pq.thd_current);
    dbl_arr(&o, "harmonics", pm->pq.harmonics, pm->pq.n_harmonics);
    dbl(&o, "frequency", pm->pq.frequency);
    if (pm->pq.sag_detected >= 0) {
      key(&o, "sag_detected");
      put(&o, pm->pq.sag_detected ? "true" : "false");
    }
    if (pm->pq.swell_detected >= 0) {
      key(&o, "swell_detected");
      put(&o, pm->pq.swell_detected ? "true" : "false");
    }
    close_obj(&o);
  }
  if (!isnan(pm->features.dp_dt) || !isnan(pm->features.peak_factor) ||
      !isnan(pm->features.load_factor) || !isnan(pm->features.power_trend)) {
    open_obj(&o, "features");
    dbl(&o, "dp_dt", pm->features.dp_dt);
    dbl(&o, "peak_factor", pm->features.peak_factor);
    dbl(&o, "load_factor", pm->features.load_factor);
    dbl(&o, "power_trend", pm->features.power_trend);
    close_obj(&o);
  }
  enm(&o, "kind", kind_name(pm->kind), pm->kind);
  key(&o, "flags");
  put(&o, "%u", (unsigned)pm->flags);
  i64(&o, "duration_ns", pm->duration_ns);
  dbl(&o, "power_total", pm->power_total);
  dbl(&o, "apparent_power_total", pm->apparent_power_total);
  dbl(&o, "power_factor_total", pm->power_factor_total);
  dbl(&o, "current_neutral_rms", pm->current_neutral_rms);
  dbl(&o, "current_peak", pm->current_peak);
  if (pm->has_event) {
    const hr_pm_event_t *e = &pm->event;
    open_obj(&o, "event");
    enm(&o, "type", event_name(e->type), e->type);
    key(&o, "ended");
    put(&o, e->ended ? "true" : "false");
    key(&o, "channels");
    put(&o, "%u", (unsigned)e->channels);
    i64(&o, "start_ns", e->start_ns);
    i64(&o, "duration_ns", e->duration_ns);
    key(&o, "extreme");
    put_dbl(&o, e->extreme);
    key(&o, "depth_pct");
    put_dbl(&o, e->depth_pct);
    key(&o, "delta");
    put_dbl(&o, e->delta);
    key(&o, "from_value");
    put_dbl(&o, e->from_value);
    key(&o, "alarm_index");
    put(&o, "%d", (int)e->alarm_index);
    close_obj(&o);
  }
  close_obj(&o);
  if (o.full)
    return HR_ERR_FULL;
  if (n_written)
    *n_written = o.pos;
  return HR_OK;
}
