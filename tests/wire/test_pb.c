/* PowerMeasurement (include/headroom/wire.h, src/wire/pb.c):
 *   - encode -> decode is exact for random messages (every presence state,
 *     NaN-free values with infinities, -0, denormals, extreme integers, UTF-8
 *     device ids) and for every record of a real meter run (3P4W with
 *     harmonics and a dip; 1P2W), bit for bit;
 *   - the largest message fits HR_PM_ENCODED_MAX and its JSON HR_PM_JSON_MAX;
 *   - the record -> message mapping against the record's own values;
 *   - malformed, truncated and oversized input gives an error naming the
 *     field, never a crash (every prefix of real messages, hand-made bytes);
 *   - the varint framing of a stream, cut at every byte. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "headroom/pq.h"
#include "headroom/wire.h"

/* ---- exact comparison ---------------------------------------------------- */

/* Same double bit for bit (both NaN counts as equal: NaN means absent). */
static int same_d(double a, double b)
{
  if (isnan(a) || isnan(b))
    return isnan(a) && isnan(b);
  return memcmp(&a, &b, sizeof a) == 0;
}

static void assert_same_d(double a, double b, const char *what)
{
  if (!same_d(a, b))
    fail_msg("%s: %.17g != %.17g", what, a, b);
}

static void assert_same_pm(const hr_pm_t *a, const hr_pm_t *b)
{
  assert_int_equal(a->timestamp_ns, b->timestamp_ns);
  assert_string_equal(a->device_id, b->device_id);
  assert_int_equal(a->n_phases, b->n_phases);
  for (int k = 0; k < a->n_phases; k++) {
    const hr_pm_phase_t *p = &a->phases[k], *q = &b->phases[k];
    assert_same_d(p->voltage_rms, q->voltage_rms, "voltage_rms");
    assert_same_d(p->current_rms, q->current_rms, "current_rms");
    assert_same_d(p->power_active, q->power_active, "power_active");
    assert_same_d(p->power_reactive, q->power_reactive, "power_reactive");
    assert_same_d(p->power_apparent, q->power_apparent, "power_apparent");
    assert_same_d(p->power_factor, q->power_factor, "power_factor");
    assert_same_d(p->voltage_peak, q->voltage_peak, "voltage_peak");
    assert_same_d(p->current_peak, q->current_peak, "current_peak");
    assert_same_d(p->thd_voltage, q->thd_voltage, "thd_voltage");
    assert_same_d(p->thd_current, q->thd_current, "thd_current");
    assert_int_equal(p->n_voltage_harmonics, q->n_voltage_harmonics);
    assert_int_equal(p->n_current_harmonics, q->n_current_harmonics);
    for (int n = 0; n < p->n_voltage_harmonics; n++)
      assert_same_d(p->voltage_harmonics[n], q->voltage_harmonics[n], "voltage_harmonics");
    for (int n = 0; n < p->n_current_harmonics; n++)
      assert_same_d(p->current_harmonics[n], q->current_harmonics[n], "current_harmonics");
  }
  assert_same_d(a->pq.thd_voltage, b->pq.thd_voltage, "pq.thd_voltage");
  assert_same_d(a->pq.thd_current, b->pq.thd_current, "pq.thd_current");
  assert_same_d(a->pq.frequency, b->pq.frequency, "pq.frequency");
  assert_int_equal(a->pq.n_harmonics, b->pq.n_harmonics);
  for (int n = 0; n < a->pq.n_harmonics; n++)
    assert_same_d(a->pq.harmonics[n], b->pq.harmonics[n], "pq.harmonics");
  assert_int_equal(a->pq.sag_detected, b->pq.sag_detected);
  assert_int_equal(a->pq.swell_detected, b->pq.swell_detected);
  assert_same_d(a->features.dp_dt, b->features.dp_dt, "dp_dt");
  assert_same_d(a->features.peak_factor, b->features.peak_factor, "peak_factor");
  assert_same_d(a->features.load_factor, b->features.load_factor, "load_factor");
  assert_same_d(a->features.power_trend, b->features.power_trend, "power_trend");
  assert_int_equal(a->kind, b->kind);
  assert_int_equal(a->flags, b->flags);
  assert_int_equal(a->duration_ns, b->duration_ns);
  assert_same_d(a->power_total, b->power_total, "power_total");
  assert_same_d(a->apparent_power_total, b->apparent_power_total, "apparent_power_total");
  assert_same_d(a->power_factor_total, b->power_factor_total, "power_factor_total");
  assert_same_d(a->current_neutral_rms, b->current_neutral_rms, "current_neutral_rms");
  assert_same_d(a->current_peak, b->current_peak, "current_peak");
  assert_int_equal(a->has_event, b->has_event);
  if (a->has_event) {
    const hr_pm_event_t *e = &a->event, *f = &b->event;
    assert_int_equal(e->type, f->type);
    assert_int_equal(e->ended, f->ended);
    assert_int_equal(e->channels, f->channels);
    assert_int_equal(e->start_ns, f->start_ns);
    assert_int_equal(e->duration_ns, f->duration_ns);
    assert_same_d(e->extreme, f->extreme, "event.extreme");
    assert_same_d(e->depth_pct, f->depth_pct, "event.depth_pct");
    assert_same_d(e->delta, f->delta, "event.delta");
    assert_same_d(e->from_value, f->from_value, "event.from_value");
    assert_int_equal(e->alarm_index, f->alarm_index);
  }
}

static void round_trip(const hr_pm_t *pm)
{
  static uint8_t buf[HR_PM_DELIMITED_MAX];
  size_t n = 0;
  assert_int_equal(hr_pm_encode(pm, buf, sizeof buf, &n), HR_OK);
  assert_true(n > 0 && n <= HR_PM_ENCODED_MAX);
  hr_pm_t back;
  hr_diag_t d;
  int rc = hr_pm_decode(buf, n, &back, &d);
  if (rc != HR_OK)
    fail_msg("decode: %s: %s", d.field, d.message);
  assert_same_pm(pm, &back);
  /* Delimited: the prefix is the varint of n, then the same bytes. */
  static uint8_t dbuf[HR_PM_DELIMITED_MAX];
  size_t dn = 0, off = 0, len = 0;
  assert_int_equal(hr_pm_encode_delimited(pm, dbuf, sizeof dbuf, &dn), HR_OK);
  assert_int_equal(hr_pm_frame(dbuf, dn, &off, &len, NULL), HR_OK);
  assert_int_equal(len, n);
  assert_int_equal(off + len, dn);
  assert_memory_equal(dbuf + off, buf, n);
  /* The JSON form fits its bound. */
  static char js[HR_PM_JSON_MAX];
  size_t jn = 0;
  assert_int_equal(hr_pm_json(pm, js, sizeof js, &jn), HR_OK);
  assert_int_equal(strlen(js), jn);
}

/* ---- random messages ------------------------------------------------------ */

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint64_t next(void)
{
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

/* NaN (absent) a quarter of the time; otherwise ordinary, extreme or raw
 * (non-NaN) bit patterns. */
static double rnd_d(void)
{
  switch (next() % 12) {
  case 0:
  case 1:
  case 2:
    return NAN;
  case 3:
    return INFINITY;
  case 4:
    return -INFINITY;
  case 5:
    return -0.0;
  case 6:
    return 4.9e-324;
  case 7:
    return 1.7976931348623157e308;
  case 8: {
    uint64_t b = next();
    double d;
    memcpy(&d, &b, sizeof d);
    return isnan(d) ? 1.0 : d;
  }
  default:
    return ((double)(next() >> 11) / 9007199254740992.0 - 0.5) * 1e6;
  }
}

static int64_t rnd_i64(void)
{
  switch (next() % 4) {
  case 0:
    return INT64_MIN;
  case 1:
    return INT64_MAX;
  case 2:
    return -(int64_t)(next() % 1000);
  default:
    return (int64_t)(next() >> 1);
  }
}

static void rnd_pm(hr_pm_t *pm)
{
  static const char *const ids[] = {
      "", "PDU-A01-001",
      "r\xc3\xa4"
      "ck \xe2\x82\xac 7",
      "quote\" back\\ tab\t nl\n",
      "0123456789012345678901234567890123456789012345678901234567890123"};
  hr_pm_init(pm);
  pm->timestamp_ns = rnd_i64();
  strcpy(pm->device_id, ids[next() % 5]);
  pm->n_phases = (int)(next() % 4);
  for (int k = 0; k < pm->n_phases; k++) {
    hr_pm_phase_t *p = &pm->phases[k];
    p->voltage_rms = rnd_d();
    p->current_rms = rnd_d();
    p->power_active = rnd_d();
    p->power_reactive = rnd_d();
    p->power_apparent = rnd_d();
    p->power_factor = rnd_d();
    p->voltage_peak = rnd_d();
    p->current_peak = rnd_d();
    p->thd_voltage = rnd_d();
    p->thd_current = rnd_d();
    /* Repeated values carry no presence: NaN stays a NaN there. */
    p->n_voltage_harmonics = (int)(next() % (HR_PM_MAX_HARMONICS + 1));
    p->n_current_harmonics = (int)(next() % (HR_PM_MAX_HARMONICS + 1));
    for (int n = 0; n < p->n_voltage_harmonics; n++)
      p->voltage_harmonics[n] = rnd_d();
    for (int n = 0; n < p->n_current_harmonics; n++)
      p->current_harmonics[n] = rnd_d();
  }
  pm->pq.thd_voltage = rnd_d();
  pm->pq.thd_current = rnd_d();
  pm->pq.frequency = rnd_d();
  pm->pq.n_harmonics = (int)(next() % (HR_PM_MAX_HARMONICS + 1));
  for (int n = 0; n < pm->pq.n_harmonics; n++)
    pm->pq.harmonics[n] = rnd_d();
  pm->pq.sag_detected = (int)(next() % 3) - 1;
  pm->pq.swell_detected = (int)(next() % 3) - 1;
  pm->features.dp_dt = rnd_d();
  pm->features.peak_factor = rnd_d();
  pm->features.load_factor = rnd_d();
  pm->features.power_trend = rnd_d();
  pm->kind = (int)(next() % 11);
  pm->flags = (uint32_t)next();
  pm->duration_ns = rnd_i64();
  pm->power_total = rnd_d();
  pm->apparent_power_total = rnd_d();
  pm->power_factor_total = rnd_d();
  pm->current_neutral_rms = rnd_d();
  pm->current_peak = rnd_d();
  pm->has_event = (int)(next() % 2);
  if (pm->has_event) {
    pm->event.type = (int)(next() % 9);
    pm->event.ended = (int)(next() % 2);
    pm->event.channels = (uint32_t)next();
    pm->event.start_ns = rnd_i64();
    pm->event.duration_ns = rnd_i64();
    pm->event.extreme = rnd_d();
    pm->event.depth_pct = rnd_d();
    pm->event.delta = rnd_d();
    pm->event.from_value = rnd_d();
    pm->event.alarm_index = (int32_t)next();
  }
}

static void test_random_round_trip(void **state)
{
  (void)state;
  for (int t = 0; t < 20000; t++) {
    hr_pm_t pm;
    rnd_pm(&pm);
    round_trip(&pm);
  }
}

/* Every field present, every count at its limit, the longest varints: the
 * bounds HR_PM_ENCODED_MAX and HR_PM_JSON_MAX hold. */
static void test_largest_message(void **state)
{
  (void)state;
  hr_pm_t pm;
  hr_pm_init(&pm);
  pm.timestamp_ns = INT64_MIN;
  /* 64 bytes that the JSON form escapes as \u00XX: the longest text */
  memset(pm.device_id, '\x01', HR_PM_DEVICE_ID_MAX);
  pm.device_id[HR_PM_DEVICE_ID_MAX] = '\0';
  pm.n_phases = HR_PM_MAX_PHASES;
  const double big = -1.2345678901234567e-300; /* the longest %.17g form */
  for (int k = 0; k < HR_PM_MAX_PHASES; k++) {
    hr_pm_phase_t *p = &pm.phases[k];
    p->voltage_rms = p->current_rms = p->power_active = p->power_reactive = big;
    p->power_apparent = p->power_factor = p->voltage_peak = p->current_peak = big;
    p->thd_voltage = p->thd_current = big;
    p->n_voltage_harmonics = p->n_current_harmonics = HR_PM_MAX_HARMONICS;
    for (int n = 0; n < HR_PM_MAX_HARMONICS; n++)
      p->voltage_harmonics[n] = p->current_harmonics[n] = big;
  }
  pm.pq.thd_voltage = pm.pq.thd_current = pm.pq.frequency = big;
  pm.pq.n_harmonics = HR_PM_MAX_HARMONICS;
  for (int n = 0; n < HR_PM_MAX_HARMONICS; n++)
    pm.pq.harmonics[n] = big;
  pm.pq.sag_detected = pm.pq.swell_detected = 1;
  pm.features.dp_dt = pm.features.peak_factor = big;
  pm.features.load_factor = pm.features.power_trend = big;
  pm.kind = -1; /* an enum varint of 10 bytes */
  pm.flags = UINT32_MAX;
  pm.duration_ns = INT64_MIN;
  pm.power_total = pm.apparent_power_total = pm.power_factor_total = big;
  pm.current_neutral_rms = pm.current_peak = big;
  pm.has_event = 1;
  pm.event = (hr_pm_event_t){.type = -1,
                             .ended = 1,
                             .channels = UINT32_MAX,
                             .start_ns = INT64_MIN,
                             .duration_ns = INT64_MIN,
                             .extreme = big,
                             .depth_pct = big,
                             .delta = big,
                             .from_value = big,
                             .alarm_index = INT32_MIN};
  static uint8_t buf[2 * HR_PM_ENCODED_MAX];
  size_t n = 0;
  assert_int_equal(hr_pm_encode(&pm, buf, sizeof buf, &n), HR_OK);
  print_message("largest message: %zu bytes (bound %d)\n", n, HR_PM_ENCODED_MAX);
  assert_true(n <= HR_PM_ENCODED_MAX);
  static char js[2 * HR_PM_JSON_MAX];
  size_t jn = 0;
  assert_int_equal(hr_pm_json(&pm, js, sizeof js, &jn), HR_OK);
  print_message("largest JSON: %zu bytes (bound %d)\n", jn, HR_PM_JSON_MAX);
  assert_true(jn < HR_PM_JSON_MAX);
  round_trip(&pm);
  /* One byte short: HR_ERR_FULL, for both forms; the JSON prefix is a
   * NUL-terminated prefix of the text. */
  assert_int_equal(hr_pm_encode(&pm, buf, n - 1, NULL), HR_ERR_FULL);
  assert_int_equal(hr_pm_encode_delimited(&pm, buf, n + 1, NULL), HR_ERR_FULL);
  static char small[4096];
  assert_int_equal(hr_pm_json(&pm, small, sizeof small, NULL), HR_ERR_FULL);
  assert_int_equal(strlen(small), sizeof small - 1);
  assert_memory_equal(small, js, sizeof small - 1);
  assert_int_equal(hr_pm_json(&pm, js, jn, NULL), HR_ERR_FULL);
  assert_int_equal(hr_pm_json(&pm, js, jn + 1, NULL), HR_OK);
}

/* ---- records of a real meter run ------------------------------------------ */

typedef struct run {
  int n, kinds[16];
  int n_harm_detail, n_dip;
  size_t max_bytes;
} run_t;

static void check_mapping(const hr_record_t *rec, const hr_pm_t *pm)
{
  assert_int_equal(pm->timestamp_ns, rec->t_ns);
  assert_int_equal(pm->kind, rec->kind);
  assert_int_equal(pm->flags, rec->flags);
  assert_int_equal(pm->duration_ns, rec->dur_ns);
  assert_string_equal(pm->device_id, "PDU-A01-001");
  switch (rec->kind) {
  case HR_REC_CYCLE:
    assert_int_equal(pm->n_phases, rec->n_u);
    for (int k = 0; k < rec->n_u; k++) {
      assert_same_d(pm->phases[k].voltage_rms, rec->u.cycle.u_rms_v[k], "cycle u");
      assert_same_d(pm->phases[k].current_rms, rec->u.cycle.i_rms_a[k], "cycle i");
      assert_same_d(pm->phases[k].power_active, rec->u.cycle.p_w[k], "cycle p");
      assert_same_d(pm->phases[k].power_apparent, rec->u.cycle.s_va[k], "cycle s");
      assert_true(isnan(pm->phases[k].power_reactive)); /* a cycle record has no Q */
    }
    assert_same_d(pm->power_total, rec->u.cycle.p_total_w, "cycle p_total");
    assert_same_d(pm->pq.frequency, rec->u.cycle.freq_hz, "cycle f");
    if (rec->n_i == 4)
      assert_same_d(pm->current_neutral_rms, rec->u.cycle.i_rms_a[3], "cycle in");
    else
      assert_true(isnan(pm->current_neutral_rms));
    break;
  case HR_REC_MS:
    assert_int_equal(pm->n_phases, 0);
    assert_same_d(pm->features.dp_dt, rec->u.ms.dpdt_w_per_s / 1e6, "dp_dt [MW/s]");
    assert_same_d(pm->current_peak, rec->u.ms.i_peak_a, "ms i_peak");
    break;
  case HR_REC_EVENT:
    assert_true(pm->has_event);
    assert_int_equal(pm->event.type, rec->u.event.type);
    assert_int_equal(pm->event.start_ns, rec->u.event.start_ns);
    assert_int_equal(pm->pq.sag_detected, rec->u.event.type == HR_EVT_DIP);
    assert_int_equal(pm->pq.swell_detected, rec->u.event.type == HR_EVT_SWELL);
    break;
  case HR_REC_HARM:
    assert_same_d(pm->pq.frequency, rec->u.harm.freq_hz, "harm f");
    for (int k = 0; k < rec->n_u; k++)
      assert_same_d(pm->phases[k].thd_voltage, rec->u.harm.u_thd_pct[k], "harm thd u");
    if (rec->u.harm.detail) {
      const hr_harm_t *d = rec->u.harm.detail;
      assert_int_equal(pm->pq.n_harmonics, 50);
      for (int n = 1; n <= 50; n++)
        assert_same_d(pm->pq.harmonics[n - 1], d->i[0].sg[n], "harmonics = i1 subgroups");
      for (int k = 0; k < d->n_phase; k++)
        assert_same_d(pm->phases[k].power_reactive, d->ph[k].q1, "Q1");
    }
    break;
  default:
    assert_true(pm->n_phases <= HR_PM_MAX_PHASES);
    break;
  }
}

static void on_record(const hr_record_t *rec, void *user)
{
  run_t *r = user;
  hr_pm_t pm;
  assert_int_equal(hr_pm_from_record(rec, "PDU-A01-001", &pm), HR_OK);
  check_mapping(rec, &pm);
  round_trip(&pm);
  uint8_t buf[HR_PM_ENCODED_MAX];
  size_t n = 0;
  assert_int_equal(hr_pm_encode(&pm, buf, sizeof buf, &n), HR_OK);
  if (n > r->max_bytes)
    r->max_bytes = n;
  r->n++;
  r->kinds[rec->kind & 15]++;
  r->n_harm_detail += rec->kind == HR_REC_HARM && rec->u.harm.detail;
  r->n_dip += rec->kind == HR_REC_EVENT && rec->u.event.type == HR_EVT_DIP;
}

static void meter_run(hr_layout_t layout, int has_in, run_t *r)
{
  const double fs = 8000, f0 = 50, u = 230;
  hr_meter_cfg_t cfg;
  hr_meter_cfg_init(&cfg, fs, f0, u, layout);
  cfg.has_in = has_in;
  cfg.records = HR_RECMASK_ALL | HR_RECMASK(HR_REC_HARM);
  cfg.p_step_base_w = 10000;
  hr_meter_t *m = NULL;
  assert_int_equal(hr_meter_create(&cfg, &m), HR_OK);
  hr_meter_set_callback(m, on_record, r);
  int nch = hr_meter_frame_len(m), nu = hr_layout_n_u(layout);
  enum { N = 8000 * 11 }; /* past the first 10-s frequency */
  float *x = malloc(sizeof(float) * N * (size_t)nch);
  assert_non_null(x);
  for (int s = 0; s < N; s++) {
    double t = s / fs;
    /* a dip to 60 % on every voltage from 1.0 s to 1.5 s; 5th harmonic current */
    double g = t >= 1.0 && t < 1.5 ? 0.6 : 1.0;
    for (int c = 0; c < nch; c++) {
      double ph = 2 * M_PI * (c % 3) / 3;
      double w = 2 * M_PI * f0 * t - ph;
      double v = c < nu ? g * u * sqrt(2) * sin(w)
                        : 20 * sqrt(2) * sin(w - 0.3) + 3 * sqrt(2) * sin(5 * w);
      if (c == 6) /* a measured neutral */
        v = 9 * sqrt(2) * sin(15 * M_PI * f0 * t);
      x[(size_t)s * nch + c] = (float)v;
    }
  }
  assert_int_equal(hr_meter_push(m, x, N, NULL), HR_OK);
  assert_int_equal(hr_meter_finish(m), HR_OK);
  hr_meter_destroy(m);
  free(x);
}

static void test_meter_records(void **state)
{
  (void)state;
  hr_layout_t layouts[] = {HR_LAYOUT_3P4W, HR_LAYOUT_3P4W, HR_LAYOUT_3P3W, HR_LAYOUT_1P2W};
  int has_in[] = {0, 1, 0, 0};
  for (int k = 0; k < 4; k++) {
    run_t r;
    memset(&r, 0, sizeof r);
    meter_run(layouts[k], has_in[k], &r);
    print_message("%s%s: %d records, largest message %zu bytes\n", hr_layout_name(layouts[k]),
                  has_in[k] ? "+in" : "", r.n, r.max_bytes);
    for (int kind = HR_REC_HALF; kind <= HR_REC_EVENT; kind++)
      if (!r.kinds[kind])
        fail_msg("no %s record", hr_rec_kind_name((hr_rec_kind_t)kind));
    assert_true(r.n_harm_detail > 0);
    assert_true(r.n_dip >= 2); /* start and end */
  }
}

/* ---- malformed input -------------------------------------------------------- */

/* offset: the byte the diagnostic names, -1 for none. */
static void expect_err_at(const uint8_t *b, size_t n, int code, const char *field, long offset)
{
  hr_pm_t pm;
  hr_diag_t d;
  int rc = hr_pm_decode(b, n, &pm, &d);
  if (rc != code)
    fail_msg("decode of %zu bytes: %s, expected %s (%s)", n, hr_err_name(rc), hr_err_name(code),
             d.message);
  assert_int_equal(d.code, code);
  assert_string_equal(d.field, field);
  assert_true(d.message[0] != '\0');
  if (offset < 0)
    assert_false(d.has_offset);
  else {
    assert_true(d.has_offset);
    assert_int_equal(d.offset, offset);
  }
  char text[HR_DIAG_SOURCE_BYTES + HR_DIAG_FIELD_BYTES + HR_DIAG_MSG_BYTES + 64];
  hr_diag_format(&d, text, sizeof text);
  print_message("  %s\n", text);
}

static void expect_err(const uint8_t *b, size_t n, int code, const char *field)
{
  expect_err_at(b, n, code, field, -1);
}

static void test_malformed(void **state)
{
  (void)state;
  /* A full message, cut at every length: never a crash, and a cut inside a
   * field is refused at a byte at most the cut (the end, when a value is
   * missing), naming the field.  A cut at a field boundary may be a valid message, but
   * then it decodes to a prefix of the fields (fewer or equal). */
  hr_pm_t pm;
  rng = 42;
  int refused = 0, total = 0;
  for (int t = 0; t < 60; t++) {
    rnd_pm(&pm);
    uint8_t buf[HR_PM_ENCODED_MAX];
    size_t n = 0;
    assert_int_equal(hr_pm_encode(&pm, buf, sizeof buf, &n), HR_OK);
    for (size_t cut = 0; cut < n; cut++) {
      uint8_t *copy = malloc(cut ? cut : 1); /* exact size: ASan sees over-reads */
      memcpy(copy, buf, cut);
      hr_pm_t out;
      hr_diag_t d;
      int rc = hr_pm_decode(copy, cut, &out, &d);
      assert_true(rc == HR_OK || rc == HR_ERR_PARSE);
      /* a cut message is refused at a byte inside it, naming the field */
      if (rc != HR_OK && !(d.has_offset && d.offset <= cut && d.field[0]))
        fail_msg("cut at %zu of %zu: %s (offset %d %llu): %s", cut, n, d.field, d.has_offset,
                 (unsigned long long)d.offset, d.message);
      refused += rc != HR_OK;
      total++;
      free(copy);
    }
  }
  print_message("truncations: %d of %d refused\n", refused, total);
  assert_true(refused > total / 2);

  /* Hand-made bytes. */
  const uint8_t bad_wire_type[] = {0x0f, 0x00};      /* field 1, wire type 7 */
  const uint8_t past_end[] = {0x12, 0x05, 'a', 'b'}; /* device_id: 5 bytes, 2 there */
  const uint8_t bad_varint[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff,
                                0xff, 0xff, 0xff, 0xff, 0xff, 0x01}; /* 11-byte varint */
  const uint8_t field0[] = {0x00, 0x00};                             /* field number 0 */
  expect_err_at(bad_wire_type, sizeof bad_wire_type, HR_ERR_PARSE, "timestamp_ns", 0);
  expect_err_at(past_end, sizeof past_end, HR_ERR_PARSE, "device_id", 1);
  expect_err_at(bad_varint, sizeof bad_varint, HR_ERR_PARSE, "timestamp_ns", 1);
  expect_err_at(field0, sizeof field0, HR_ERR_PARSE, "PowerMeasurement", 0);
  /* nested: the second phase's current_harmonics (field 12, packed) holds
   * 1 byte, not a whole double */
  const uint8_t packed_cut[] = {0x1a, 0x00, 0x1a, 0x03, 0x62, 0x01, 0x00};
  expect_err_at(packed_cut, sizeof packed_cut, HR_ERR_PARSE, "phases[1].current_harmonics", 5);
  /* a double (wire type 1) sent as a varint, inside pq */
  const uint8_t pq_wt[] = {0x08, 0x01, 0x22, 0x02, 0x20, 0x05};
  expect_err_at(pq_wt, sizeof pq_wt, HR_ERR_PARSE, "pq.frequency", 4);
  /* an unknown field (99) cut short: named by its number */
  const uint8_t unk_cut[] = {0x9a, 0x06, 0x09, 0x00};
  expect_err_at(unk_cut, sizeof unk_cut, HR_ERR_PARSE, "field 99", 2);
  /* field 8, wire type 0, written as a 10-byte tag (zero bits past the
   * first byte): protobuf-c reads at most 5 tag bytes and refuses it, so the
   * walk must say where (a CI fuzzer's find, fuzz/reproducers/wire-pb-*) */
  const uint8_t long_tag[] = {0xc0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01};
  expect_err_at(long_tag, sizeof long_tag, HR_ERR_PARSE, "PowerMeasurement", 0);
  /* device_id (field 2) with its length 0 written in 6 bytes */
  const uint8_t long_len[] = {0x12, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
  expect_err_at(long_len, sizeof long_len, HR_ERR_PARSE, "device_id", 1);
  /* four (empty) phases */
  const uint8_t four[] = {0x1a, 0x00, 0x1a, 0x00, 0x1a, 0x00, 0x1a, 0x00};
  expect_err(four, sizeof four, HR_ERR_RANGE, "phases");
  /* pq (field 4) holding harmonics (field 3) as 51 packed doubles: 408 =
   * varint 0x98 0x03; the submessage 1 + 2 + 408 = 411 = varint 0x9b 0x03. */
  static uint8_t h51[6 + 51 * 8] = {0x22, 0x9b, 0x03, 0x1a, 0x98, 0x03};
  size_t nb = sizeof h51;
  expect_err(h51, nb, HR_ERR_RANGE, "pq.harmonics");
  /* device_id: 65 bytes, and not UTF-8 */
  uint8_t id[2 + 65];
  id[0] = 0x12;
  id[1] = 65;
  memset(id + 2, 'x', 65);
  expect_err(id, sizeof id, HR_ERR_RANGE, "device_id");
  const uint8_t latin1[] = {0x12, 0x03, 'r', 0xe4, 'k'};
  expect_err(latin1, sizeof latin1, HR_ERR_PARSE, "device_id");
  const uint8_t surrogate[] = {0x12, 0x03, 0xed, 0xa0, 0x80};
  expect_err(surrogate, sizeof surrogate, HR_ERR_PARSE, "device_id");
  /* oversized: refused before parsing, whatever the bytes */
  uint8_t *big = calloc(HR_PM_DECODE_MAX + 1, 1);
  assert_non_null(big);
  expect_err(big, HR_PM_DECODE_MAX + 1, HR_ERR_RANGE, "PowerMeasurement");
  free(big);
  /* Valid: the empty message, and unknown fields (a newer writer) skipped. */
  hr_pm_t out;
  assert_int_equal(hr_pm_decode(NULL, 0, &out, NULL), HR_OK);
  assert_int_equal(out.n_phases, 0);
  assert_true(isnan(out.power_total));
  const uint8_t unknown[] = {0xf8, 0x07, 0x05, 0x08, 0x2a}; /* field 127 = 5, then t = 42 */
  assert_int_equal(hr_pm_decode(unknown, sizeof unknown, &out, NULL), HR_OK);
  assert_int_equal(out.timestamp_ns, 42);
  /* Bad arguments. */
  assert_int_equal(hr_pm_decode(unknown, sizeof unknown, NULL, NULL), HR_ERR_INVALID_ARG);
  hr_pm_init(&pm);
  pm.n_phases = 4;
  uint8_t buf[64];
  assert_int_equal(hr_pm_encode(&pm, buf, sizeof buf, NULL), HR_ERR_INVALID_ARG);
  hr_record_t rec = {.kind = HR_REC_MS};
  assert_int_equal(hr_pm_from_record(&rec, "bad\"id", &pm), HR_ERR_INVALID_ARG);
  assert_int_equal(hr_pm_from_record(&rec, "x\x7f", &pm), HR_ERR_INVALID_ARG);
  char long_id[66];
  memset(long_id, 'a', 65);
  long_id[65] = '\0';
  assert_int_equal(hr_pm_from_record(&rec, long_id, &pm), HR_ERR_INVALID_ARG);
  long_id[64] = '\0';
  assert_int_equal(hr_pm_from_record(&rec, long_id, &pm), HR_OK);
}

/* ---- framing ------------------------------------------------------------------ */

static void test_framing(void **state)
{
  (void)state;
  /* A stream of messages; every cut gives HR_ERR_TRUNCATED at the last one
   * (never a crash, never a message past the cut). */
  enum { M = 20 };
  static uint8_t stream[M * HR_PM_DELIMITED_MAX];
  size_t len = 0;
  hr_pm_t pms[M];
  rng = 7;
  for (int k = 0; k < M; k++) {
    rnd_pm(&pms[k]);
    size_t n = 0;
    assert_int_equal(hr_pm_encode_delimited(&pms[k], stream + len, sizeof stream - len, &n), HR_OK);
    len += n;
  }
  size_t pos = 0;
  for (int k = 0; k < M; k++) {
    size_t off = 0, n = 0;
    assert_int_equal(hr_pm_frame(stream + pos, len - pos, &off, &n, NULL), HR_OK);
    hr_pm_t back;
    assert_int_equal(hr_pm_decode(stream + pos + off, n, &back, NULL), HR_OK);
    assert_same_pm(&pms[k], &back);
    /* every shorter view of this frame is truncated */
    for (size_t cut = 0; cut < off + n; cut++) {
      size_t o2, n2;
      hr_diag_t d;
      assert_int_equal(hr_pm_frame(stream + pos, cut, &o2, &n2, &d), HR_ERR_TRUNCATED);
      assert_true(d.has_offset);
    }
    pos += off + n;
  }
  assert_int_equal(pos, len);
  /* an 11-byte prefix; a length over the limit */
  const uint8_t long_prefix[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
  size_t off, n;
  hr_diag_t d;
  assert_int_equal(hr_pm_frame(long_prefix, sizeof long_prefix, &off, &n, &d), HR_ERR_PARSE);
  assert_string_equal(d.field, "length prefix");
  const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
  assert_int_equal(hr_pm_frame(huge, sizeof huge, &off, &n, &d), HR_ERR_RANGE);
  uint8_t limit[3 + 1] = {0x80 | (HR_PM_DECODE_MAX & 0x7f), 0x80 | ((HR_PM_DECODE_MAX >> 7) & 0x7f),
                          (HR_PM_DECODE_MAX >> 14) & 0x7f, 0};
  /* exactly the limit: not refused for its size (only truncated here) */
  assert_int_equal(hr_pm_frame(limit, sizeof limit, &off, &n, &d), HR_ERR_TRUNCATED);
  limit[0]++; /* one more */
  assert_int_equal(hr_pm_frame(limit, sizeof limit, &off, &n, &d), HR_ERR_RANGE);
}

/* ---- interval features from the 1-ms series ------------------------------ */

/* P = p0 + k t on 1-ms records: the least-squares slope is k, and the load
 * factor the closed-form mean over max of the points inside the window. */
static void test_trend(void **state)
{
  (void)state;
  static hr_pm_trend_t tr;
  hr_pm_trend_init(&tr);
  const int64_t t0 = INT64_C(1764979200000000000);
  const double p0 = 1e7, k = -2.5e6; /* W, W/s: -2.5 MW/s */
  hr_record_t ms = {.kind = HR_REC_MS, .dur_ns = 1000000};
  for (int j = 0; j < 3000; j++) { /* 3 s: more than the 1024 remembered */
    ms.t_ns = t0 + (int64_t)j * 1000000;
    ms.u.ms.p_total_w = p0 + k * 1e-3 * (j + 1); /* P at the record's end */
    assert_int_equal(hr_pm_trend_apply(&tr, &ms, NULL), HR_OK);
  }
  /* A window (2.8 s, 3.0 s] at a non-ms-aligned start: the records ending at
   * 2.8005 .. 3.000 s, i.e. j + 1 = 2801 .. 3000 (t_end = (j + 1) ms). */
  hr_record_t iv = {.kind = HR_REC_INTERVAL, .t_ns = t0 + 2800000500, .dur_ns = 199999500};
  hr_pm_t pm;
  assert_int_equal(hr_pm_from_record(&iv, NULL, &pm), HR_OK);
  assert_true(isnan(pm.features.load_factor) && isnan(pm.features.power_trend));
  assert_int_equal(hr_pm_trend_apply(&tr, &iv, &pm), HR_OK);
  double sum = 0, mx = -INFINITY;
  for (int e = 2801; e <= 3000; e++) {
    double p = p0 + k * 1e-3 * e;
    sum += p;
    mx = p > mx ? p : mx;
  }
  double lf = sum / 200 / mx;
  print_message("trend %.9g MW/s (exact -2.5), load factor %.12g (exact %.12g)\n",
                pm.features.power_trend, pm.features.load_factor, lf);
  assert_true(fabs(pm.features.power_trend - k / 1e6) < 1e-9);
  assert_true(fabs(pm.features.load_factor - lf) < 1e-13);
  /* A window older than the remembered 1024 ms: nothing to say. */
  iv.t_ns = t0 + 100000000;
  assert_int_equal(hr_pm_from_record(&iv, NULL, &pm), HR_OK);
  assert_int_equal(hr_pm_trend_apply(&tr, &iv, &pm), HR_OK);
  assert_true(isnan(pm.features.load_factor) && isnan(pm.features.power_trend));
  /* One point: a load factor of 1, no trend; negative power: no load factor. */
  iv.t_ns = t0 + 2999000000 - 500;
  iv.dur_ns = 1000;
  assert_int_equal(hr_pm_from_record(&iv, NULL, &pm), HR_OK);
  assert_int_equal(hr_pm_trend_apply(&tr, &iv, &pm), HR_OK);
  assert_true(pm.features.load_factor == 1.0 && isnan(pm.features.power_trend));
  hr_pm_trend_init(&tr);
  ms.t_ns = t0;
  ms.u.ms.p_total_w = -10;
  hr_pm_trend_apply(&tr, &ms, NULL);
  ms.t_ns += 1000000;
  hr_pm_trend_apply(&tr, &ms, NULL);
  iv.t_ns = t0;
  iv.dur_ns = 3000000;
  assert_int_equal(hr_pm_from_record(&iv, NULL, &pm), HR_OK);
  assert_int_equal(hr_pm_trend_apply(&tr, &iv, &pm), HR_OK);
  assert_true(isnan(pm.features.load_factor) && pm.features.power_trend == 0.0);
  assert_int_equal(hr_pm_trend_apply(&tr, &iv, NULL), HR_ERR_INVALID_ARG);
  assert_int_equal(hr_pm_trend_apply(NULL, &iv, &pm), HR_ERR_INVALID_ARG);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_random_round_trip), cmocka_unit_test(test_largest_message),
      cmocka_unit_test(test_meter_records),     cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_framing),           cmocka_unit_test(test_trend),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
