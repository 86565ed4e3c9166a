/* PowerMeasurement messages (proto/power_measurement.proto): engine records
 * to hr_pm_t, hr_pm_t to protobuf bytes with protobuf-c and back.
 *
 * Encoding builds the generated protobuf-c structures on the stack, pointing
 * into pm, and packs them into the caller's buffer: no allocation.  Decoding
 * refuses an oversized message before protobuf-c sees it, unpacks with
 * protobuf-c (which allocates), checks the counts and copies into pm. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "headroom/wire.h"
#include "power_measurement.pb-c.h"

/* ---- records to hr_pm_t --------------------------------------------------- */

void hr_pm_init(hr_pm_t *pm)
{
  if (!pm)
    return;
  memset(pm, 0, sizeof *pm);
  for (int k = 0; k < HR_PM_MAX_PHASES; k++) {
    hr_pm_phase_t *p = &pm->phases[k];
    p->voltage_rms = p->current_rms = p->power_active = p->power_reactive = NAN;
    p->power_apparent = p->power_factor = p->voltage_peak = p->current_peak = NAN;
    p->thd_voltage = p->thd_current = NAN;
  }
  pm->pq.thd_voltage = pm->pq.thd_current = pm->pq.frequency = NAN;
  pm->pq.sag_detected = pm->pq.swell_detected = -1;
  pm->features.dp_dt = pm->features.peak_factor = NAN;
  pm->features.load_factor = pm->features.power_trend = NAN;
  pm->power_total = pm->apparent_power_total = pm->power_factor_total = NAN;
  pm->current_neutral_rms = pm->current_peak = NAN;
}

/* The rule of hr_record_json's device_id: printable ASCII, no quote or
 * backslash, at most 64 bytes. */
static int device_id_ok(const char *id)
{
  size_t n = strlen(id);
  if (n > HR_PM_DEVICE_ID_MAX)
    return 0;
  for (size_t k = 0; k < n; k++) {
    unsigned char c = (unsigned char)id[k];
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
      return 0;
  }
  return 1;
}

static int min_i(int a, int b)
{
  return a < b ? a : b;
}

/* Phase count: voltage channels, or phase currents when there are more. */
static int n_phases_of(const hr_record_t *rec)
{
  int nu = rec->n_u < 0 ? 0 : min_i(rec->n_u, HR_MAX_U);
  int ni = rec->n_i < 0 ? 0 : min_i(rec->n_i, 3);
  return nu > ni ? nu : ni;
}

static void put_ui(hr_pm_t *pm, const hr_record_t *rec, const double *u, const double *i)
{
  int nu = min_i(rec->n_u, HR_MAX_U), ni = min_i(rec->n_i, HR_MAX_I);
  pm->n_phases = n_phases_of(rec);
  for (int k = 0; k < nu; k++)
    pm->phases[k].voltage_rms = u[k];
  for (int k = 0; k < ni && k < 3; k++)
    pm->phases[k].current_rms = i[k];
  if (ni == 4) /* 3P4W with the neutral measured: the last current */
    pm->current_neutral_rms = i[3];
}

static double max_of(const double *v, int n)
{
  double m = NAN;
  for (int k = 0; k < n; k++)
    if (!(v[k] <= m)) /* NaN m takes the first value */
      m = v[k];
  return m;
}

static void from_harm(hr_pm_t *pm, const hr_record_t *rec)
{
  const hr_harm_rec_t *h = &rec->u.harm;
  int nu = min_i(rec->n_u, HR_MAX_U), ni = min_i(rec->n_i, HR_MAX_I);
  int nph = min_i(ni, 3);
  pm->n_phases = n_phases_of(rec);
  for (int k = 0; k < nu; k++)
    pm->phases[k].thd_voltage = h->u_thd_pct[k];
  for (int k = 0; k < nph; k++)
    pm->phases[k].thd_current = h->i_thd_pct[k];
  pm->pq.thd_voltage = max_of(h->u_thd_pct, nu);
  pm->pq.thd_current = max_of(h->i_thd_pct, nph);
  pm->pq.frequency = h->freq_hz;
  pm->power_total = h->p_w;
  pm->apparent_power_total = h->s_eff_va;
  pm->power_factor_total = h->pf;
  const hr_harm_t *d = h->detail;
  if (!d)
    return;
  /* The per-phase IEEE 1459-2010 §3.1 quantities; 3P3W: against the
   * artificial star point, as the engine computes them. */
  for (int k = 0; k < d->n_phase && k < pm->n_phases; k++) {
    hr_pm_phase_t *p = &pm->phases[k];
    p->power_active = d->ph[k].p;
    p->power_reactive = d->ph[k].q1;
    p->power_apparent = d->ph[k].s;
    p->power_factor = d->ph[k].pf;
  }
  int nh = min_i(d->h_max, HR_PM_MAX_HARMONICS);
  for (int k = 0; k < min_i(d->n_u, nu); k++) {
    pm->phases[k].voltage_rms = d->u[k].rms;
    pm->phases[k].n_voltage_harmonics = nh;
    for (int n = 1; n <= nh; n++) /* IEC 61000-4-7 §3.3 harmonic subgroups */
      pm->phases[k].voltage_harmonics[n - 1] = d->u[k].sg[n];
  }
  for (int k = 0; k < min_i(d->n_i, nph); k++) {
    pm->phases[k].current_rms = d->i[k].rms;
    pm->phases[k].n_current_harmonics = nh;
    for (int n = 1; n <= nh; n++)
      pm->phases[k].current_harmonics[n - 1] = d->i[k].sg[n];
  }
  if (ni == 4 && d->n_i == 4)
    pm->current_neutral_rms = d->i[3].rms;
  if (min_i(d->n_i, nph) > 0) {
    pm->pq.n_harmonics = nh;
    memcpy(pm->pq.harmonics, pm->phases[0].current_harmonics, (size_t)nh * sizeof(double));
  }
}

int hr_pm_from_record(const hr_record_t *rec, const char *device_id, hr_pm_t *pm)
{
  if (!rec || !pm || (device_id && !device_id_ok(device_id)))
    return HR_ERR_INVALID_ARG;
  hr_pm_init(pm);
  pm->timestamp_ns = rec->t_ns;
  if (device_id)
    memcpy(pm->device_id, device_id, strlen(device_id) + 1);
  pm->kind = (int)rec->kind;
  pm->flags = rec->flags;
  pm->duration_ns = rec->dur_ns;
  int ni = min_i(rec->n_i, HR_MAX_I), nph = min_i(ni, 3);
  switch (rec->kind) {
  case HR_REC_HALF:
    put_ui(pm, rec, rec->u.half.u_rms_v, rec->u.half.i_rms_a);
    break;
  case HR_REC_CYCLE: {
    const hr_cycle_rec_t *c = &rec->u.cycle;
    put_ui(pm, rec, c->u_rms_v, c->i_rms_a);
    for (int k = 0; k < min_i(rec->n_u, HR_MAX_U); k++)
      pm->phases[k].voltage_peak = c->u_peak_v[k];
    for (int k = 0; k < nph; k++)
      pm->phases[k].current_peak = c->i_peak_a[k];
    /* IEEE 1459-2010 §3.1: per-phase P, S = V I, P/S. */
    int np = rec->n_u == 1 ? 1 : min_i(pm->n_phases, 3);
    for (int k = 0; k < np; k++) {
      pm->phases[k].power_active = c->p_w[k];
      pm->phases[k].power_apparent = c->s_va[k];
      pm->phases[k].power_factor = c->pf[k];
    }
    pm->power_total = c->p_total_w;
    pm->apparent_power_total = c->s_eff_va;
    pm->power_factor_total = c->pf_total;
    pm->pq.frequency = c->freq_hz;
    pm->features.peak_factor = max_of(c->i_crest, nph);
    break;
  }
  case HR_REC_MS:
    pm->power_total = rec->u.ms.p_total_w;
    pm->current_peak = rec->u.ms.i_peak_a;
    pm->features.dp_dt = rec->u.ms.dpdt_w_per_s / 1e6; /* the draft's MW/s */
    break;
  case HR_REC_INTERVAL: {
    const hr_interval_rec_t *v = &rec->u.interval;
    put_ui(pm, rec, v->u_rms_v, v->i_rms_a);
    int np = rec->n_u == 1 ? 1 : min_i(pm->n_phases, 3);
    for (int k = 0; k < np; k++)
      pm->phases[k].power_active = v->p_w[k];
    pm->power_total = v->p_total_w;
    pm->apparent_power_total = v->s_eff_va;
    pm->power_factor_total = v->pf_total;
    pm->pq.frequency = v->freq_hz;
    break;
  }
  case HR_REC_FREQ10S:
    pm->pq.frequency = rec->u.freq.freq_hz;
    break;
  case HR_REC_AGG150:
  case HR_REC_AGG10MIN: { /* IEC 61000-4-30 §4.5: aggregates of the intervals */
    const hr_agg_rec_t *g = &rec->u.agg;
    put_ui(pm, rec, g->u_rms_v, g->i_rms_a);
    int np = rec->n_u == 1 ? 1 : min_i(pm->n_phases, 3);
    for (int k = 0; k < np; k++)
      pm->phases[k].power_active = g->p_w[k];
    pm->power_total = g->p_total_w;
    pm->pq.frequency = g->freq_hz;
    break;
  }
  case HR_REC_SWING: { /* the window of the 1-ms series it analysed */
    const hr_swing_rec_t *w = &rec->u.swing;
    pm->power_total = w->p_mean_w;
    if (w->p_max_w > 0.0) /* the draft's load factor: average / peak */
      pm->features.load_factor = w->p_mean_w / w->p_max_w;
    break;
  }
  case HR_REC_EVENT: {
    const hr_event_rec_t *e = &rec->u.event;
    pm->has_event = 1;
    pm->event.type = (int)e->type;
    pm->event.ended = e->ended != 0;
    pm->event.channels = e->channels;
    pm->event.start_ns = e->start_ns;
    pm->event.duration_ns = e->duration_ns;
    pm->event.extreme = e->extreme;
    pm->event.depth_pct = e->depth_pct;
    pm->event.delta = e->delta;
    pm->event.from_value = e->from;
    pm->event.alarm_index = e->alarm_index;
    /* IEC 61000-4-30 §5.4.2 dip (the draft's "sag"), §5.4.3 swell. */
    pm->pq.sag_detected = e->type == HR_EVT_DIP;
    pm->pq.swell_detected = e->type == HR_EVT_SWELL;
    break;
  }
  case HR_REC_HARM:
    from_harm(pm, rec);
    break;
  case HR_REC_PHASOR: /* C37.118.1: the RMS phasor magnitudes and the frequency */
    put_ui(pm, rec, rec->u.phasor.u_mag_v, rec->u.phasor.i_mag_a);
    pm->pq.frequency = rec->u.phasor.freq_hz;
    break;
  default:
    break;
  }
  return HR_OK;
}

/* ---- features over an interval ------------------------------------------- */

void hr_pm_trend_init(hr_pm_trend_t *t)
{
  if (t)
    t->n = 0;
}

int hr_pm_trend_apply(hr_pm_trend_t *t, const hr_record_t *rec, hr_pm_t *pm)
{
  if (!t || !rec)
    return HR_ERR_INVALID_ARG;
  if (rec->kind == HR_REC_MS) {
    size_t k = (size_t)(t->n % HR_PM_TREND_LEN);
    t->t_end_ns[k] = rec->t_ns + rec->dur_ns;
    t->p_w[k] = rec->u.ms.p_total_w;
    t->n++;
    return HR_OK;
  }
  if (rec->kind != HR_REC_INTERVAL)
    return HR_OK;
  if (!pm)
    return HR_ERR_INVALID_ARG;
  /* Two passes over the remembered records inside the window: the mean
   * time and power, then the centred sums of the slope (numerically
   * stable for ns timestamps near 2^62). */
  const int64_t a = rec->t_ns, b = rec->t_ns + rec->dur_ns;
  uint64_t have = t->n < HR_PM_TREND_LEN ? t->n : HR_PM_TREND_LEN;
  size_t cnt = 0;
  double sum_x = 0.0, sum_p = 0.0, max_p = -INFINITY;
  for (uint64_t j = t->n - have; j < t->n; j++) {
    size_t k = (size_t)(j % HR_PM_TREND_LEN);
    int64_t e = t->t_end_ns[k];
    if (e <= a || e > b) /* records ending at a belong to the window before */
      continue;
    sum_x += 1e-9 * (double)(e - a);
    sum_p += t->p_w[k];
    if (t->p_w[k] > max_p)
      max_p = t->p_w[k];
    cnt++;
  }
  if (cnt == 0)
    return HR_OK;
  double mx = sum_x / (double)cnt, mp = sum_p / (double)cnt;
  if (max_p > 0.0)
    pm->features.load_factor = mp / max_p;
  if (cnt < 2)
    return HR_OK;
  double sxx = 0.0, sxp = 0.0;
  for (uint64_t j = t->n - have; j < t->n; j++) {
    size_t k = (size_t)(j % HR_PM_TREND_LEN);
    int64_t e = t->t_end_ns[k];
    if (e <= a || e > b)
      continue;
    double dx = 1e-9 * (double)(e - a) - mx;
    sxx += dx * dx;
    sxp += dx * (t->p_w[k] - mp);
  }
  if (sxx > 0.0)
    pm->features.power_trend = sxp / sxx / 1e6; /* W/s -> MW/s */
  return HR_OK;
}

/* ---- hr_pm_t to bytes ----------------------------------------------------- */

#define OPT(msg, field, v)                                                                         \
  do {                                                                                             \
    if (!isnan(v)) {                                                                               \
      (msg).has_##field = 1;                                                                       \
      (msg).field = (v);                                                                           \
    }                                                                                              \
  } while (0)

/* The generated structures of one message, pointing into pm. */
typedef struct pm_pb {
  Headroom__Upmu__PowerMeasurement m;
  Headroom__Upmu__PhaseData ph[HR_PM_MAX_PHASES];
  Headroom__Upmu__PhaseData *php[HR_PM_MAX_PHASES];
  Headroom__Upmu__PowerQuality pq;
  Headroom__Upmu__Features ft;
  Headroom__Upmu__Event ev;
} pm_pb_t;

static int counts_ok(const hr_pm_t *pm)
{
  if (pm->n_phases < 0 || pm->n_phases > HR_PM_MAX_PHASES || pm->pq.n_harmonics < 0 ||
      pm->pq.n_harmonics > HR_PM_MAX_HARMONICS ||
      !memchr(pm->device_id, '\0', sizeof pm->device_id))
    return 0;
  for (int k = 0; k < pm->n_phases; k++) {
    const hr_pm_phase_t *p = &pm->phases[k];
    if (p->n_voltage_harmonics < 0 || p->n_voltage_harmonics > HR_PM_MAX_HARMONICS ||
        p->n_current_harmonics < 0 || p->n_current_harmonics > HR_PM_MAX_HARMONICS)
      return 0;
  }
  return 1;
}

static void to_pb(const hr_pm_t *pm, pm_pb_t *b)
{
  headroom__upmu__power_measurement__init(&b->m);
  b->m.has_timestamp_ns = 1;
  b->m.timestamp_ns = pm->timestamp_ns;
  b->m.device_id = (char *)pm->device_id; /* pack only reads it */
  b->m.has_kind = 1;
  b->m.kind = (Headroom__Upmu__RecordKind)pm->kind;
  b->m.has_flags = 1;
  b->m.flags = pm->flags;
  b->m.has_duration_ns = 1;
  b->m.duration_ns = pm->duration_ns;
  OPT(b->m, power_total, pm->power_total);
  OPT(b->m, apparent_power_total, pm->apparent_power_total);
  OPT(b->m, power_factor_total, pm->power_factor_total);
  OPT(b->m, current_neutral_rms, pm->current_neutral_rms);
  OPT(b->m, current_peak, pm->current_peak);
  for (int k = 0; k < pm->n_phases; k++) {
    const hr_pm_phase_t *p = &pm->phases[k];
    Headroom__Upmu__PhaseData *q = &b->ph[k];
    headroom__upmu__phase_data__init(q);
    OPT(*q, voltage_rms, p->voltage_rms);
    OPT(*q, current_rms, p->current_rms);
    OPT(*q, power_active, p->power_active);
    OPT(*q, power_reactive, p->power_reactive);
    OPT(*q, power_apparent, p->power_apparent);
    OPT(*q, power_factor, p->power_factor);
    OPT(*q, voltage_peak, p->voltage_peak);
    OPT(*q, current_peak, p->current_peak);
    OPT(*q, thd_voltage, p->thd_voltage);
    OPT(*q, thd_current, p->thd_current);
    q->n_voltage_harmonics = (size_t)p->n_voltage_harmonics;
    q->voltage_harmonics = (double *)p->voltage_harmonics;
    q->n_current_harmonics = (size_t)p->n_current_harmonics;
    q->current_harmonics = (double *)p->current_harmonics;
    b->php[k] = q;
  }
  b->m.n_phases = (size_t)pm->n_phases;
  b->m.phases = b->php;

  headroom__upmu__power_quality__init(&b->pq);
  OPT(b->pq, thd_voltage, pm->pq.thd_voltage);
  OPT(b->pq, thd_current, pm->pq.thd_current);
  OPT(b->pq, frequency, pm->pq.frequency);
  b->pq.n_harmonics = (size_t)pm->pq.n_harmonics;
  b->pq.harmonics = (double *)pm->pq.harmonics;
  if (pm->pq.sag_detected >= 0) {
    b->pq.has_sag_detected = 1;
    b->pq.sag_detected = pm->pq.sag_detected != 0;
  }
  if (pm->pq.swell_detected >= 0) {
    b->pq.has_swell_detected = 1;
    b->pq.swell_detected = pm->pq.swell_detected != 0;
  }
  if (b->pq.has_thd_voltage || b->pq.has_thd_current || b->pq.has_frequency || b->pq.n_harmonics ||
      b->pq.has_sag_detected || b->pq.has_swell_detected)
    b->m.pq = &b->pq;

  headroom__upmu__features__init(&b->ft);
  OPT(b->ft, dp_dt, pm->features.dp_dt);
  OPT(b->ft, peak_factor, pm->features.peak_factor);
  OPT(b->ft, load_factor, pm->features.load_factor);
  OPT(b->ft, power_trend, pm->features.power_trend);
  if (b->ft.has_dp_dt || b->ft.has_peak_factor || b->ft.has_load_factor || b->ft.has_power_trend)
    b->m.features = &b->ft;

  if (pm->has_event) {
    const hr_pm_event_t *e = &pm->event;
    Headroom__Upmu__Event *v = &b->ev;
    headroom__upmu__event__init(v);
    v->has_type = v->has_ended = v->has_channels = v->has_start_ns = v->has_duration_ns = 1;
    v->has_extreme = v->has_depth_pct = v->has_delta = v->has_from_value = 1;
    v->has_alarm_index = 1;
    v->type = (Headroom__Upmu__EventType)e->type;
    v->ended = e->ended != 0;
    v->channels = e->channels;
    v->start_ns = e->start_ns;
    v->duration_ns = e->duration_ns;
    v->extreme = e->extreme;
    v->depth_pct = e->depth_pct;
    v->delta = e->delta;
    v->from_value = e->from_value;
    v->alarm_index = e->alarm_index;
    b->m.event = v;
  }
}

int hr_pm_encode(const hr_pm_t *pm, uint8_t *buf, size_t len, size_t *n_written)
{
  if (n_written)
    *n_written = 0;
  if (!pm || !buf || !counts_ok(pm))
    return HR_ERR_INVALID_ARG;
  pm_pb_t b;
  to_pb(pm, &b);
  size_t n = headroom__upmu__power_measurement__get_packed_size(&b.m);
  if (n > len)
    return HR_ERR_FULL;
  headroom__upmu__power_measurement__pack(&b.m, buf);
  if (n_written)
    *n_written = n;
  return HR_OK;
}

static size_t varint_put(uint64_t v, uint8_t *out)
{
  size_t n = 0;
  do {
    uint8_t byte = (uint8_t)(v & 0x7f);
    v >>= 7;
    out[n++] = byte | (v ? 0x80 : 0);
  } while (v);
  return n;
}

int hr_pm_encode_delimited(const hr_pm_t *pm, uint8_t *buf, size_t len, size_t *n_written)
{
  if (n_written)
    *n_written = 0;
  if (!pm || !buf || !counts_ok(pm))
    return HR_ERR_INVALID_ARG;
  pm_pb_t b;
  to_pb(pm, &b);
  size_t n = headroom__upmu__power_measurement__get_packed_size(&b.m);
  uint8_t pre[10];
  size_t np = varint_put(n, pre);
  if (np + n > len)
    return HR_ERR_FULL;
  memcpy(buf, pre, np);
  headroom__upmu__power_measurement__pack(&b.m, buf + np);
  if (n_written)
    *n_written = np + n;
  return HR_OK;
}

/* ---- bytes to hr_pm_t ----------------------------------------------------- */

static int fail(hr_diag_t *diag, int code, const char *field, uint64_t offset, int has_offset,
                const char *msg)
{
  if (diag) {
    diag->code = code;
    diag->offset = offset;
    diag->has_offset = has_offset;
    snprintf(diag->field, sizeof diag->field, "%s", field);
    snprintf(diag->message, sizeof diag->message, "%s", msg);
  }
  return code;
}

static void diag_clear(hr_diag_t *diag)
{
  if (diag) {
    memset(diag, 0, sizeof *diag);
    snprintf(diag->source, sizeof diag->source, "<buffer>");
  }
}

/* RFC 3629 UTF-8: no overlong forms, no surrogates, at most U+10FFFF. */
static int utf8_ok(const unsigned char *s, size_t n)
{
  size_t k = 0;
  while (k < n) {
    unsigned c = s[k];
    size_t len;
    unsigned min, cp;
    if (c < 0x80) {
      k++;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      len = 2, min = 0x80, cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3, min = 0x800, cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4, min = 0x10000, cp = c & 0x07;
    } else
      return 0;
    if (n - k < len)
      return 0;
    for (size_t j = 1; j < len; j++) {
      if ((s[k + j] & 0xc0) != 0x80)
        return 0;
      cp = (cp << 6) | (s[k + j] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return 0;
    k += len;
  }
  return 1;
}

#define GET(dst, msg, field)                                                                       \
  do {                                                                                             \
    if ((msg)->has_##field && !isnan((msg)->field))                                                \
      (dst) = (msg)->field;                                                                        \
  } while (0)

static int harm_count(size_t n, const char *field, hr_diag_t *diag)
{
  if (n > HR_PM_MAX_HARMONICS) {
    char msg[96];
    snprintf(msg, sizeof msg, "%zu values, at most %d (harmonic orders 1..%d)", n,
             HR_PM_MAX_HARMONICS, HR_PM_MAX_HARMONICS);
    return fail(diag, HR_ERR_RANGE, field, 0, 0, msg);
  }
  return HR_OK;
}

static int from_pb(const Headroom__Upmu__PowerMeasurement *m, hr_pm_t *pm, hr_diag_t *diag)
{
  hr_pm_init(pm);
  if (m->has_timestamp_ns)
    pm->timestamp_ns = m->timestamp_ns;
  if (m->device_id) {
    size_t n = strlen(m->device_id);
    if (n > HR_PM_DEVICE_ID_MAX) {
      char msg[64];
      snprintf(msg, sizeof msg, "%zu bytes, at most %d", n, HR_PM_DEVICE_ID_MAX);
      return fail(diag, HR_ERR_RANGE, "device_id", 0, 0, msg);
    }
    if (!utf8_ok((const unsigned char *)m->device_id, n))
      return fail(diag, HR_ERR_PARSE, "device_id", 0, 0, "not valid UTF-8");
    memcpy(pm->device_id, m->device_id, n + 1);
  }
  if (m->n_phases > HR_PM_MAX_PHASES) {
    char msg[64];
    snprintf(msg, sizeof msg, "%zu phases, at most %d", m->n_phases, HR_PM_MAX_PHASES);
    return fail(diag, HR_ERR_RANGE, "phases", 0, 0, msg);
  }
  pm->n_phases = (int)m->n_phases;
  for (size_t k = 0; k < m->n_phases; k++) {
    const Headroom__Upmu__PhaseData *q = m->phases[k];
    hr_pm_phase_t *p = &pm->phases[k];
    char field[64];
    snprintf(field, sizeof field, "phases[%zu].voltage_harmonics", k);
    if (harm_count(q->n_voltage_harmonics, field, diag) != HR_OK)
      return HR_ERR_RANGE;
    snprintf(field, sizeof field, "phases[%zu].current_harmonics", k);
    if (harm_count(q->n_current_harmonics, field, diag) != HR_OK)
      return HR_ERR_RANGE;
    GET(p->voltage_rms, q, voltage_rms);
    GET(p->current_rms, q, current_rms);
    GET(p->power_active, q, power_active);
    GET(p->power_reactive, q, power_reactive);
    GET(p->power_apparent, q, power_apparent);
    GET(p->power_factor, q, power_factor);
    GET(p->voltage_peak, q, voltage_peak);
    GET(p->current_peak, q, current_peak);
    GET(p->thd_voltage, q, thd_voltage);
    GET(p->thd_current, q, thd_current);
    p->n_voltage_harmonics = (int)q->n_voltage_harmonics;
    if (q->n_voltage_harmonics)
      memcpy(p->voltage_harmonics, q->voltage_harmonics, q->n_voltage_harmonics * sizeof(double));
    p->n_current_harmonics = (int)q->n_current_harmonics;
    if (q->n_current_harmonics)
      memcpy(p->current_harmonics, q->current_harmonics, q->n_current_harmonics * sizeof(double));
  }
  if (m->pq) {
    const Headroom__Upmu__PowerQuality *q = m->pq;
    if (harm_count(q->n_harmonics, "pq.harmonics", diag) != HR_OK)
      return HR_ERR_RANGE;
    GET(pm->pq.thd_voltage, q, thd_voltage);
    GET(pm->pq.thd_current, q, thd_current);
    GET(pm->pq.frequency, q, frequency);
    pm->pq.n_harmonics = (int)q->n_harmonics;
    if (q->n_harmonics)
      memcpy(pm->pq.harmonics, q->harmonics, q->n_harmonics * sizeof(double));
    if (q->has_sag_detected)
      pm->pq.sag_detected = q->sag_detected != 0;
    if (q->has_swell_detected)
      pm->pq.swell_detected = q->swell_detected != 0;
  }
  if (m->features) {
    GET(pm->features.dp_dt, m->features, dp_dt);
    GET(pm->features.peak_factor, m->features, peak_factor);
    GET(pm->features.load_factor, m->features, load_factor);
    GET(pm->features.power_trend, m->features, power_trend);
  }
  if (m->has_kind)
    pm->kind = (int)m->kind;
  if (m->has_flags)
    pm->flags = m->flags;
  if (m->has_duration_ns)
    pm->duration_ns = m->duration_ns;
  GET(pm->power_total, m, power_total);
  GET(pm->apparent_power_total, m, apparent_power_total);
  GET(pm->power_factor_total, m, power_factor_total);
  GET(pm->current_neutral_rms, m, current_neutral_rms);
  GET(pm->current_peak, m, current_peak);
  if (m->event) {
    const Headroom__Upmu__Event *v = m->event;
    hr_pm_event_t *e = &pm->event;
    pm->has_event = 1;
    e->type = v->has_type ? (int)v->type : 0;
    e->ended = v->has_ended && v->ended;
    e->channels = v->has_channels ? v->channels : 0;
    e->start_ns = v->has_start_ns ? v->start_ns : 0;
    e->duration_ns = v->has_duration_ns ? v->duration_ns : 0;
    e->extreme = v->has_extreme ? v->extreme : 0.0;
    e->depth_pct = v->has_depth_pct ? v->depth_pct : 0.0;
    e->delta = v->has_delta ? v->delta : 0.0;
    e->from_value = v->has_from_value ? v->from_value : 0.0;
    e->alarm_index = v->has_alarm_index ? v->alarm_index : 0;
  }
  return HR_OK;
}

/* Where a message protobuf-c refused goes wrong: a walk over the protobuf
 * wire format (https://protobuf.dev/programming-guides/encoding/) guided by
 * the generated descriptors, which fills diag with the byte offset, the
 * field path ("phases[1].current_harmonics") and the fault.  Returns 1 when
 * it found one (protobuf-c refuses nothing this walk accepts, but for a
 * failed allocation). */
typedef struct walk {
  const uint8_t *b; /* the whole message */
  size_t n;
  hr_diag_t *diag;
} walk_t;

static int walk_fail(walk_t *w, size_t off, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int walk_fail(walk_t *w, size_t off, const char *path, const char *fmt, ...)
{
  if (w->diag) {
    w->diag->code = HR_ERR_PARSE;
    w->diag->offset = off;
    w->diag->has_offset = 1;
    snprintf(w->diag->field, sizeof w->diag->field, "%s", path[0] ? path : "PowerMeasurement");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->diag->message, sizeof w->diag->message, fmt, ap);
    va_end(ap);
  }
  return 1;
}

/* A varint at b[*pos] before end; 0 on success. */
static int walk_varint(const uint8_t *b, size_t end, size_t *pos, uint64_t *v)
{
  *v = 0;
  for (int k = 0; k < 10; k++) {
    if (*pos >= end)
      return -1;
    uint8_t c = b[(*pos)++];
    *v |= (uint64_t)(c & 0x7f) << (7 * k);
    if (!(c & 0x80))
      return 0;
  }
  return -2;
}

static int wire_type_of(ProtobufCType t)
{
  switch (t) {
  case PROTOBUF_C_TYPE_SFIXED64:
  case PROTOBUF_C_TYPE_FIXED64:
  case PROTOBUF_C_TYPE_DOUBLE:
    return 1;
  case PROTOBUF_C_TYPE_SFIXED32:
  case PROTOBUF_C_TYPE_FIXED32:
  case PROTOBUF_C_TYPE_FLOAT:
    return 5;
  case PROTOBUF_C_TYPE_STRING:
  case PROTOBUF_C_TYPE_BYTES:
  case PROTOBUF_C_TYPE_MESSAGE:
    return 2;
  default:
    return 0;
  }
}

static int walk_msg(walk_t *w, size_t pos, size_t end, const ProtobufCMessageDescriptor *d,
                    const char *path, int depth)
{
  unsigned seen[16] = {0}; /* elements of each repeated field so far, by field number */
  while (pos < end) {
    size_t at = pos;
    uint64_t tag;
    int vr = walk_varint(w->b, end, &pos, &tag);
    if (vr)
      return walk_fail(w, at, path,
                       vr == -1 ? "the input ends inside a field's tag"
                                : "a field's tag is a varint longer than 10 bytes");
    /* protobuf-c reads a tag as at most 5 bytes (a 32-bit varint); a longer
     * one, even with the bits beyond 32 zero, is a bad header to it. */
    if (pos - at > 5)
      return walk_fail(w, at, path, "a field's tag is a varint of %zu bytes (at most 5)", pos - at);
    uint64_t num = tag >> 3;
    int wt = (int)(tag & 7);
    if (num == 0 || num > 536870911u)
      return walk_fail(w, at, path, "field number %llu (valid: 1 to 2^29 - 1)",
                       (unsigned long long)num);
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(d, (unsigned)num);
    char sub[HR_DIAG_FIELD_BYTES];
    if (f && f->label == PROTOBUF_C_LABEL_REPEATED && f->type == PROTOBUF_C_TYPE_MESSAGE)
      snprintf(sub, sizeof sub, "%s%s%s[%u]", path, path[0] ? "." : "", f->name,
               num < 16 ? seen[num]++ : 0u);
    else if (f)
      snprintf(sub, sizeof sub, "%s%s%s", path, path[0] ? "." : "", f->name);
    else
      snprintf(sub, sizeof sub, "%s%sfield %llu", path, path[0] ? "." : "",
               (unsigned long long)num);
    if (f) {
      int want = wire_type_of(f->type);
      int packed = f->label == PROTOBUF_C_LABEL_REPEATED && want != 2 && wt == 2;
      if (wt != want && !packed)
        return walk_fail(w, at, sub, "wire type %d, expected %d for its type", wt, want);
    }
    size_t vat = pos;
    uint64_t v;
    switch (wt) {
    case 0:
      if ((vr = walk_varint(w->b, end, &pos, &v)))
        return walk_fail(w, vat, sub,
                         vr == -1 ? "the input ends inside a varint"
                                  : "a varint longer than 10 bytes");
      break;
    case 1:
    case 5: {
      size_t need = wt == 1 ? 8 : 4;
      if (end - pos < need)
        return walk_fail(w, vat, sub, "a %zu-byte value, %zu bytes left", need, end - pos);
      pos += need;
      break;
    }
    case 2:
      if ((vr = walk_varint(w->b, end, &pos, &v)))
        return walk_fail(w, vat, sub,
                         vr == -1 ? "the input ends inside a length"
                                  : "a length varint longer than 10 bytes");
      if (pos - vat > 5) /* protobuf-c reads a length as at most 5 bytes, too */
        return walk_fail(w, vat, sub, "a length varint of %zu bytes (at most 5)", pos - vat);
      if (v > end - pos)
        return walk_fail(w, vat, sub, "length %llu runs past the end (%zu bytes left)",
                         (unsigned long long)v, end - pos);
      if (f && f->type == PROTOBUF_C_TYPE_MESSAGE && depth < 8) {
        if (walk_msg(w, pos, pos + (size_t)v, f->descriptor, sub, depth + 1))
          return 1;
      } else if (f && f->label == PROTOBUF_C_LABEL_REPEATED && wire_type_of(f->type) != 2) {
        int et = wire_type_of(f->type);
        if (et == 1 && v % 8)
          return walk_fail(w, vat, sub, "packed length %llu is not a multiple of 8",
                           (unsigned long long)v);
        if (et == 5 && v % 4)
          return walk_fail(w, vat, sub, "packed length %llu is not a multiple of 4",
                           (unsigned long long)v);
        if (et == 0) { /* packed varints: each one whole */
          size_t q = pos, qe = pos + (size_t)v;
          while (q < qe) {
            size_t qa = q;
            if (walk_varint(w->b, qe, &q, &tag))
              return walk_fail(w, qa, sub, "a packed varint cut or longer than 10 bytes");
          }
        }
      }
      pos += (size_t)v;
      break;
    case 3:
    case 4:
      return walk_fail(w, at, sub, "group wire types (3, 4) are not supported");
    default:
      return walk_fail(w, at, sub, "wire type %d (valid: 0, 1, 2, 5)", wt);
    }
  }
  return 0;
}

int hr_pm_decode(const uint8_t *buf, size_t len, hr_pm_t *pm, hr_diag_t *diag)
{
  diag_clear(diag);
  if (!pm || (!buf && len))
    return fail(diag, HR_ERR_INVALID_ARG, "", 0, 0, "NULL argument");
  if (len > HR_PM_DECODE_MAX) {
    char msg[96];
    snprintf(msg, sizeof msg, "message of %zu bytes, at most %d", len, HR_PM_DECODE_MAX);
    return fail(diag, HR_ERR_RANGE, "PowerMeasurement", 0, 0, msg);
  }
  static const uint8_t empty[1] = {0};
  Headroom__Upmu__PowerMeasurement *m =
      headroom__upmu__power_measurement__unpack(NULL, len, buf ? buf : empty);
  if (!m) {
    /* protobuf-c does not say where: find it. */
    walk_t w = {buf, len, diag};
    if (buf && walk_msg(&w, 0, len, &headroom__upmu__power_measurement__descriptor, "", 0))
      return HR_ERR_PARSE;
    return fail(diag, HR_ERR_PARSE, "PowerMeasurement", 0, 0,
                "not a valid PowerMeasurement message (or memory ran out while reading it)");
  }
  hr_pm_t tmp;
  int rc = from_pb(m, &tmp, diag);
  headroom__upmu__power_measurement__free_unpacked(m, NULL);
  if (rc == HR_OK)
    memcpy(pm, &tmp, sizeof tmp);
  return rc;
}

int hr_pm_frame(const uint8_t *buf, size_t len, size_t *msg_off, size_t *msg_len, hr_diag_t *diag)
{
  diag_clear(diag);
  if ((!buf && len) || !msg_off || !msg_len)
    return fail(diag, HR_ERR_INVALID_ARG, "", 0, 0, "NULL argument");
  uint64_t v = 0;
  for (size_t k = 0; k < 10; k++) {
    if (k >= len)
      return fail(diag, HR_ERR_TRUNCATED, "length prefix", k, 1,
                  "the input ends inside the length prefix");
    v |= (uint64_t)(buf[k] & 0x7f) << (7 * k);
    if (!(buf[k] & 0x80)) {
      if (v > HR_PM_DECODE_MAX) {
        char msg[96];
        snprintf(msg, sizeof msg, "message length %llu, at most %d", (unsigned long long)v,
                 HR_PM_DECODE_MAX);
        return fail(diag, HR_ERR_RANGE, "length prefix", 0, 1, msg);
      }
      if (len - (k + 1) < v) {
        char msg[96];
        snprintf(msg, sizeof msg, "message of %llu bytes, only %zu present", (unsigned long long)v,
                 len - (k + 1));
        return fail(diag, HR_ERR_TRUNCATED, "PowerMeasurement", k + 1, 1, msg);
      }
      *msg_off = k + 1;
      *msg_len = (size_t)v;
      return HR_OK;
    }
  }
  return fail(diag, HR_ERR_PARSE, "length prefix", 0, 1, "varint longer than 10 bytes");
}
