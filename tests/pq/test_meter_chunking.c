/* Regression tests for the meter's promise that results are bit-identical
 * whatever the push block sizes (include/headroom/pq.h), and that an event's
 * end is never before its start.  The inputs are the fuzzer's reproducers
 * (fuzz/reproducers/meter-*), decoded as fuzz/fuzz_meter.c does, but without
 * its guards: every record, flagged or not, 1-ms series and events included,
 * must match the one-push run byte for byte, for blocks of 1, 7, 160, 4096
 * frames and varying sizes. */
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

#define HDR 17
#define MAX_FRAMES (1u << 12)

typedef struct collect {
  hr_record_t *recs;
  size_t n, cap;
} collect_t;

static size_t rec_bytes(const hr_record_t *r)
{
  size_t body = r->kind == HR_REC_CYCLE      ? sizeof r->u.cycle
                : r->kind == HR_REC_INTERVAL ? sizeof r->u.interval
                : r->kind == HR_REC_HALF     ? sizeof r->u.half
                : r->kind == HR_REC_EVENT    ? sizeof r->u.event
                : r->kind == HR_REC_FREQ10S  ? sizeof r->u.freq
                : r->kind == HR_REC_AGG150   ? sizeof r->u.agg
                : r->kind == HR_REC_AGG10MIN ? sizeof r->u.agg
                                             : sizeof r->u.ms;
  return offsetof(hr_record_t, u) + body;
}

static void on_record(const hr_record_t *rec, void *user)
{
  collect_t *c = user;
  if (c->n == c->cap) {
    c->cap = c->cap ? 2 * c->cap : 1024;
    c->recs = realloc(c->recs, c->cap * sizeof *c->recs);
    assert_non_null(c->recs);
  }
  memset(&c->recs[c->n], 0, sizeof *c->recs);
  memcpy(&c->recs[c->n++], rec, rec_bytes(rec));
}

/* A fuzz input: its configuration and samples (fuzz/fuzz_meter.c's layout). */
typedef struct input {
  hr_meter_cfg_t cfg;
  float *x;
  size_t frames;
  int reps;
} input_t;

static uint32_t u32le(const uint8_t *p)
{
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void load_input(const char *name, input_t *in)
{
  char path[1024];
  snprintf(path, sizeof path, "%s/fuzz/reproducers/%s", HR_SOURCE_DIR, name);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  static uint8_t data[1 << 20];
  size_t size = fread(data, 1, sizeof data, f);
  fclose(f);
  assert_true(size >= HDR);
  static const double rates[8] = {2000, 4000, 7680, 8000, 10240, 12800, 25600, 50000};
  static const double track[4] = {20, 1, 40, 7.5};
  static const hr_layout_t layouts[4] = {HR_LAYOUT_1P2W, HR_LAYOUT_3P3W, HR_LAYOUT_3P4W,
                                         HR_LAYOUT_3P4W};
  static const int64_t t0s[7] = {
      0, 1700000000000000000ll, -1, 1, (int64_t)1 << 62, -((int64_t)1 << 62), 999999999};
  double fs =
      data[0] & 8 ? 2000.0 + (double)(u32le(data + 5) % 48000001u) / 1000.0 : rates[data[0] & 7];
  hr_layout_t layout = layouts[(data[1] >> 1) & 3];
  hr_meter_cfg_t *cfg = &in->cfg;
  hr_meter_cfg_init(cfg, fs, data[1] & 1 ? 60.0 : 50.0, 230.0, layout);
  cfg->has_in = layout == HR_LAYOUT_3P4W && (data[1] & 8);
  cfg->ref_channel = layout == HR_LAYOUT_1P2W ? 0 : ((data[1] >> 4) & 3) % 3;
  cfg->track_pct = track[data[1] >> 6];
  cfg->p_step_base_w = data[2] & 1 ? 1000.0 : 0.0;
  cfg->i_step_base_a = data[2] & 2 ? 10.0 : 0.0;
  cfg->u_clip_v = data[2] & 4 ? 300.0 : 0.0;
  cfg->i_clip_a = data[2] & 8 ? 50.0 : 0.0;
  if (data[2] & 16)
    cfg->rvc_pct = 0.0;
  cfg->n_alarms = data[2] & 32 ? 2 : 1;
  cfg->alarms[0] = (hr_alarm_cfg_t){HR_METRIC_P_TOTAL_W, 1, 100.0, 10.0};
  cfg->alarms[1] = (hr_alarm_cfg_t){HR_METRIC_FREQ_HZ, 0, 49.0, 0.1};
  if (data[2] & 64)
    cfg->records = HR_RECMASK(HR_REC_EVENT) | HR_RECMASK(HR_REC_FREQ10S);
  if (data[2] & 128)
    cfg->dip_pct = 50.0;
  int t0k = data[4] & 7;
  if (t0k < 7) {
    cfg->t0_ns = t0s[t0k];
  } else {
    int64_t raw = (int64_t)((uint64_t)u32le(data + 9) | (uint64_t)u32le(data + 13) << 32);
    cfg->t0_ns = raw / 2 / 2;
  }
  assert_int_equal(hr_meter_cfg_check(cfg, NULL), HR_OK);
  in->reps = 1 + ((data[4] >> 3) & 3);
  int nch = hr_layout_n_u(layout) + hr_layout_n_i(layout, cfg->has_in);
  in->frames = (size - HDR) / (sizeof(float) * (size_t)nch);
  if (in->frames * (size_t)in->reps > MAX_FRAMES)
    in->frames = MAX_FRAMES / (size_t)in->reps;
  /* The reps repetitions laid end to end: one stream. */
  size_t one = in->frames * (size_t)nch;
  in->x = malloc(one * (size_t)in->reps * sizeof *in->x + 1);
  assert_non_null(in->x);
  for (int r = 0; r < in->reps; r++)
    memcpy(in->x + (size_t)r * one, data + HDR, one * sizeof *in->x);
  in->frames *= (size_t)in->reps;
}

/* Pushes the whole stream in blocks of `block` frames (0: varying sizes),
 * then finishes it. */
static collect_t run(const hr_meter_cfg_t *cfg, const float *x, size_t n, size_t block)
{
  hr_meter_t *m = NULL;
  assert_int_equal(hr_meter_create(cfg, &m), HR_OK);
  int nch = hr_meter_frame_len(m);
  collect_t c = {0};
  hr_meter_set_callback(m, on_record, &c);
  size_t k = 0, step = 1;
  while (k < n) {
    size_t b = block ? block : (step = step * 7 % 1013 + 1);
    if (b > n - k)
      b = n - k;
    size_t done = 0;
    assert_int_equal(hr_meter_push(m, x + k * (size_t)nch, b, &done), HR_OK);
    assert_int_equal(done, b);
    k += b;
  }
  assert_int_equal(hr_meter_finish(m), HR_OK);
  hr_meter_destroy(m);
  return c;
}

static void check_events(const collect_t *c)
{
  for (size_t k = 0; k < c->n; k++) {
    const hr_record_t *r = &c->recs[k];
    assert_true(r->dur_ns >= 0);
    if (r->kind == HR_REC_EVENT) {
      if (r->u.event.duration_ns < 0)
        fail_msg("event %d (%s) ends %lld ns before its start", (int)r->u.event.type,
                 hr_event_type_name(r->u.event.type), (long long)-r->u.event.duration_ns);
    }
  }
}

static void compare_blocks(const char *name)
{
  input_t in;
  load_input(name, &in);
  collect_t ref = run(&in.cfg, in.x, in.frames, in.frames);
  check_events(&ref);
  const size_t blocks[] = {1, 7, 160, 255, 256, 257, 4096, 0};
  for (unsigned b = 0; b < sizeof blocks / sizeof blocks[0]; b++) {
    collect_t got = run(&in.cfg, in.x, in.frames, blocks[b]);
    check_events(&got);
    size_t n = got.n < ref.n ? got.n : ref.n;
    for (size_t k = 0; k < n; k++)
      if (memcmp(&got.recs[k], &ref.recs[k], rec_bytes(&ref.recs[k])) != 0)
        fail_msg("%s, blocks of %zu: record %zu (kind %s, t_ns %lld, flags 0x%x) differs "
                 "from the one-push run",
                 name, blocks[b], k, hr_rec_kind_name(ref.recs[k].kind),
                 (long long)ref.recs[k].t_ns, ref.recs[k].flags);
    if (got.n != ref.n)
      fail_msg("%s, blocks of %zu: %zu records, one push gives %zu", name, blocks[b], got.n, ref.n);
    free(got.recs);
  }
  free(ref.recs);
  free(in.x);
}

/* A 1P2W stream at 8 kHz, 50 Hz, 230 V, whose current steps from 0.2 A to
 * 10 A at frame `step` (in phase: about 46 W, then 2.3 kW). */
static float *step_signal(size_t n, size_t step)
{
  float *x = malloc(n * 2 * sizeof *x);
  assert_non_null(x);
  for (size_t k = 0; k < n; k++) {
    double ph = 2 * M_PI * 50.0 * (double)k / 8000.0;
    x[2 * k] = (float)(230.0 * M_SQRT2 * sin(ph));
    x[2 * k + 1] = (float)((k >= step ? 10.0 : 0.2) * M_SQRT2 * sin(ph));
  }
  return x;
}

/* An alarm on the 1-ms power series that starts in the last milliseconds of
 * the stream, after the last half-cycle boundary the meter could process
 * (boundaries wait a cycle for their window): hr_meter_finish closes it at
 * the end of the 1-ms series, not at that boundary, so its duration is not
 * negative.  (A power step is open at the end too for some of these.) */
static void open_ms_events_end_after_their_start(void **state)
{
  (void)state;
  hr_meter_cfg_t cfg;
  hr_meter_cfg_init(&cfg, 8000.0, 50.0, 230.0, HR_LAYOUT_1P2W);
  cfg.n_alarms = 1;
  cfg.alarms[0] = (hr_alarm_cfg_t){HR_METRIC_P_TOTAL_W, 1, 500.0, 10.0};
  cfg.p_step_base_w = 1000.0;
  const size_t n = 8000;
  for (size_t tail = 40; tail <= 200; tail += 16) {
    float *x = step_signal(n, n - tail);
    collect_t c = run(&cfg, x, n, n);
    int open_alarms = 0;
    for (size_t k = 0; k < c.n; k++) {
      const hr_record_t *r = &c.recs[k];
      if (r->kind != HR_REC_EVENT || !r->u.event.ended || !(r->flags & HR_FLAG_OPEN))
        continue;
      open_alarms += r->u.event.type == HR_EVT_ALARM;
      if (r->u.event.duration_ns < 0)
        fail_msg("step %zu frames before the end: open %s ends %lld ns before its start", tail,
                 hr_event_type_name(r->u.event.type), (long long)-r->u.event.duration_ns);
    }
    assert_int_equal(open_alarms, 1);
    free(c.recs);
    free(x);
  }
}

/* Compares every record of a stream pushed in blocks against one push. */
static void compare_stream(const char *what, const hr_meter_cfg_t *cfg, const float *x, size_t n,
                           uint32_t want_flags, unsigned want_events)
{
  collect_t ref = run(cfg, x, n, n);
  check_events(&ref);
  /* The stream does reach the paths it is meant to. */
  uint32_t flags = 0;
  unsigned events = 0;
  for (size_t k = 0; k < ref.n; k++) {
    flags |= ref.recs[k].flags;
    if (ref.recs[k].kind == HR_REC_EVENT)
      events |= 1u << ref.recs[k].u.event.type;
  }
  if ((flags & want_flags) != want_flags || (events & want_events) != want_events)
    fail_msg("%s: flags 0x%x, event types 0x%x; want 0x%x, 0x%x", what, flags, events, want_flags,
             want_events);
  const size_t blocks[] = {1, 7, 160, 255, 257, 4096, 0};
  for (unsigned b = 0; b < sizeof blocks / sizeof blocks[0]; b++) {
    collect_t got = run(cfg, x, n, blocks[b]);
    size_t m = got.n < ref.n ? got.n : ref.n;
    for (size_t k = 0; k < m; k++)
      if (memcmp(&got.recs[k], &ref.recs[k], rec_bytes(&ref.recs[k])) != 0)
        fail_msg("%s, blocks of %zu: record %zu (kind %s, t_ns %lld, flags 0x%x) differs", what,
                 blocks[b], k, hr_rec_kind_name(ref.recs[k].kind), (long long)ref.recs[k].t_ns,
                 ref.recs[k].flags);
    if (got.n != ref.n)
      fail_msg("%s, blocks of %zu: %zu records, one push gives %zu", what, blocks[b], got.n, ref.n);
    free(got.recs);
  }
  free(ref.recs);
}

/* A 3P4W stream at 8 kHz, 50 Hz, that goes through everything that takes
 * the meter off its steady path: load steps (power steps, alarms on P, dP/dt
 * and the peak current), a stretch of NaN on the reference, silence (no
 * zero crossing: free-running windows), samples near FLT_MAX on a current
 * and a voltage (corrupt words), clipped samples, and a frequency jump. */
static void disturbed_stream_does_not_depend_on_block_size(void **state)
{
  (void)state;
  const double fs = 8000.0;
  const size_t n = 24000;
  float *x = malloc(n * 6 * sizeof *x);
  assert_non_null(x);
  double ph = 0.0;
  for (size_t k = 0; k < n; k++) {
    double t = (double)k / fs, f = t < 2.2 ? 50.0 : 53.0;
    ph += 2 * M_PI * f / fs;
    double ua = t >= 1.0 && t < 1.3 ? 0.0 : 230.0 * M_SQRT2;
    double ia = (t >= 0.4 && t < 0.7 ? 60.0 : 10.0) * M_SQRT2;
    for (int p = 0; p < 3; p++) {
      double q = ph - 2 * M_PI * p / 3;
      x[k * 6 + p] = (float)(ua * sin(q) + 5.0 * sin(3 * q));
      double ih = t >= 1.6 && t < 1.9 ? 4.0 * sin(7.3 * q) : 0.0; /* an interharmonic */
      x[k * 6 + 3 + p] = (float)(ia * sin(q - 0.3) + ih);
    }
  }
  for (size_t k = 6000; k < 6090; k++)
    x[k * 6] = NAN;
  for (size_t k = 14000; k < 14003; k++) {
    x[k * 6 + 4] = k % 2 ? 3.3e38f : -3.3e38f;
    x[k * 6 + 1] = -3.0e38f;
  }
  x[15001 * 6 + 5] = INFINITY;
  for (size_t k = 16000; k < 16010; k++)
    x[k * 6 + 2] = 420.0f;
  hr_meter_cfg_t cfg;
  hr_meter_cfg_init(&cfg, fs, 50.0, 230.0, HR_LAYOUT_3P4W);
  cfg.p_step_base_w = 10000.0;
  cfg.i_step_base_a = 20.0;
  cfg.u_clip_v = 400.0;
  cfg.n_alarms = 3;
  cfg.alarms[0] = (hr_alarm_cfg_t){HR_METRIC_P_TOTAL_W, 1, 20000.0, 500.0};
  cfg.alarms[1] = (hr_alarm_cfg_t){HR_METRIC_DPDT_W_PER_S, 1, 1e6, 1e5};
  cfg.alarms[2] = (hr_alarm_cfg_t){HR_METRIC_I_PEAK_A, 1, 50.0, 1.0};
  compare_stream("disturbed 3p4w", &cfg, x, n,
                 HR_FLAG_BAD_SAMPLE | HR_FLAG_CLIPPED | HR_FLAG_NO_ZC | HR_FLAG_EVENT |
                     HR_FLAG_IRREGULAR,
                 1u << HR_EVT_INTERRUPTION | 1u << HR_EVT_POWER_STEP | 1u << HR_EVT_CURRENT_STEP |
                     1u << HR_EVT_ALARM);
  free(x);
}

static void open_alarm_never_ends_before_it_starts(void **state)
{
  (void)state;
  compare_blocks("meter-open-alarm-negative-duration");
}

static void ms_series_does_not_depend_on_block_size(void **state)
{
  (void)state;
  compare_blocks("meter-chunking-1ms-series");
}

static void flagged_windows_do_not_depend_on_block_size(void **state)
{
  (void)state;
  compare_blocks("meter-chunking-flagged-windows");
}

static void huge_samples_do_not_depend_on_block_size(void **state)
{
  (void)state;
  compare_blocks("meter-chunking-huge-rms");
  compare_blocks("meter-chunking-huge-power");
}

/* IEC 61000-4-30 §4.5 aggregates across a 10-min tick of the clock: a 3P4W
 * stream at 7.68 kHz, 60 Hz, starting 1.05 s before the tick, with a 40 %
 * dip on u2 from 0.5 s to 0.7 s after it.  The aggregates (and everything
 * else) are the same whatever the block sizes, and follow the standard's
 * rules, checked here from the 10/12-cycle records of the same run:
 *   - exactly one pair of 10/12-cycle values overlaps, the one the tick falls
 *     in and the next, which starts at the first cycle at or after the tick
 *     (within one period);
 *   - the 10-min value [tick - 10 min, tick) holds the values that start
 *     before the tick, is the RMS of their Urms (and the mean of their P),
 *     and is flagged startup (the stream began inside it);
 *   - every 150/180-cycle value is fifteen consecutive values of one chain,
 *     its Urms their RMS; one starts with the first value after the tick
 *     while the one in progress completes; a value is flagged event exactly
 *     when one of its values is. */
static void aggregates_across_a_10min_tick(void **state)
{
  (void)state;
  const double fs = 7680.0, f = 60.0;
  const int64_t tick = INT64_C(1700000400000000000); /* a multiple of 600 s */
  const int64_t t0 = tick - INT64_C(1050000000);
  const size_t n = (size_t)(5.0 * fs);
  float *x = malloc(n * 6 * sizeof *x);
  assert_non_null(x);
  for (size_t k = 0; k < n; k++) {
    double t = (double)k / fs - 1.05, ph = 2 * M_PI * f * t;
    for (int p = 0; p < 3; p++) {
      double a = p == 1 && t >= 0.5 && t < 0.7 ? 0.6 : 1.0;
      x[k * 6 + p] = (float)(a * 230.0 * M_SQRT2 * sin(ph - 2 * M_PI * p / 3));
      x[k * 6 + 3 + p] = (float)(20.0 * M_SQRT2 * sin(ph - 2 * M_PI * p / 3 - 0.4));
    }
  }
  hr_meter_cfg_t cfg;
  hr_meter_cfg_init(&cfg, fs, f, 230.0, HR_LAYOUT_3P4W);
  cfg.t0_ns = t0;
  cfg.records = HR_RECMASK_ALL | HR_RECMASK(HR_REC_AGG150) | HR_RECMASK(HR_REC_AGG10MIN);
  compare_stream("aggregates across a 10-min tick", &cfg, x, n, HR_FLAG_EVENT | HR_FLAG_STARTUP,
                 1u << HR_EVT_DIP);

  collect_t c = run(&cfg, x, n, n);
  const hr_record_t *iv[64], *a150[8], *a10[4];
  int niv = 0, n150 = 0, n10 = 0;
  for (size_t k = 0; k < c.n; k++) {
    const hr_record_t *r = &c.recs[k];
    if (r->kind == HR_REC_INTERVAL && niv < 64)
      iv[niv++] = r;
    else if (r->kind == HR_REC_AGG150 && n150 < 8)
      a150[n150++] = r;
    else if (r->kind == HR_REC_AGG10MIN && n10 < 4)
      a10[n10++] = r;
  }
  assert_true(niv >= 20);
  /* One overlap, at the tick. */
  int overlaps = 0, resync = -1;
  for (int k = 1; k < niv; k++) {
    int64_t end = iv[k - 1]->t_ns + iv[k - 1]->dur_ns;
    if (end != iv[k]->t_ns) {
      overlaps++;
      resync = k;
      assert_true(iv[k]->t_ns < end);
    }
  }
  assert_int_equal(overlaps, 1);
  assert_true(iv[resync - 1]->t_ns < tick && iv[resync - 1]->t_ns + iv[resync - 1]->dur_ns > tick);
  assert_true(iv[resync]->t_ns >= tick && iv[resync]->t_ns < tick + (int64_t)(1e9 / f) + 1);
  /* The 10-min value. */
  assert_int_equal(n10, 1);
  assert_int_equal(a10[0]->t_ns, tick - INT64_C(600000000000));
  assert_int_equal(a10[0]->dur_ns, INT64_C(600000000000));
  assert_true(a10[0]->flags & HR_FLAG_STARTUP);
  assert_int_equal(a10[0]->u.agg.n_values, resync);
  for (int ch = 0; ch < 3; ch++) {
    double s2 = 0.0, sp = 0.0;
    for (int k = 0; k < resync; k++) {
      s2 += iv[k]->u.interval.u_rms_v[ch] * iv[k]->u.interval.u_rms_v[ch];
      sp += iv[k]->u.interval.p_w[ch];
    }
    assert_float_equal(a10[0]->u.agg.u_rms_v[ch], sqrt(s2 / resync), 1e-9);
    assert_float_equal(a10[0]->u.agg.p_w[ch], sp / resync, 1e-6);
  }
  /* The 150/180-cycle values: the chains are intervals 0..resync-1 then
   * resync.. (the old chain's last value is the one the tick fell in). */
  assert_true(n150 >= 2);
  int saw_new = 0;
  for (int j = 0; j < n150; j++) {
    const hr_record_t *a = a150[j];
    assert_int_equal(a->u.agg.n_values, 15);
    assert_int_equal(a->u.agg.n_cycles, 180);
    int first = -1;
    for (int k = 0; k < niv; k++)
      if (iv[k]->t_ns == a->t_ns)
        first = k;
    assert_true(first >= 0);
    /* Fifteen values of the chain: the old chain skips to resync after
     * resync - 1. */
    const hr_record_t *v[15];
    int k = first;
    for (int q = 0; q < 15; q++) {
      assert_true(k < niv);
      v[q] = iv[k];
      k++;
    }
    saw_new |= first == resync;
    uint32_t fl = 0;
    double s2 = 0.0;
    for (int q = 0; q < 15; q++) {
      s2 += v[q]->u.interval.u_rms_v[1] * v[q]->u.interval.u_rms_v[1];
      fl |= v[q]->flags;
    }
    assert_int_equal(a->t_ns + a->dur_ns, v[14]->t_ns + v[14]->dur_ns);
    assert_float_equal(a->u.agg.u_rms_v[1], sqrt(s2 / 15), 1e-9);
    assert_int_equal(a->flags & HR_FLAG_EVENT, fl & HR_FLAG_EVENT);
  }
  assert_true(saw_new);
  free(c.recs);
  free(x);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(open_ms_events_end_after_their_start),
      cmocka_unit_test(disturbed_stream_does_not_depend_on_block_size),
      cmocka_unit_test(open_alarm_never_ends_before_it_starts),
      cmocka_unit_test(ms_series_does_not_depend_on_block_size),
      cmocka_unit_test(flagged_windows_do_not_depend_on_block_size),
      cmocka_unit_test(huge_samples_do_not_depend_on_block_size),
      cmocka_unit_test(aggregates_across_a_10min_tick),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
