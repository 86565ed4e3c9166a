/* Unit tests of the meter object: block-size independence, the pull queue,
 * configuration errors and bad input (NaN, no zero crossings, a frequency far
 * from nominal, clipping). */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "headroom/pq.h"
#include "pq/meter_int.h"

#define FS 8000.0

/* A 3P4W frame stream: 60 Hz (or f_hz), 230 V, 50 A at 30 degrees lag, with a
 * 40 % dip on phase A from 0.5 s to 0.6 s and a current step at 0.8 s. */
static float *make_signal(size_t n, double f_hz)
{
  float *x = malloc(n * 6 * sizeof *x);
  for (size_t k = 0; k < n; k++) {
    double t = (double)k / FS;
    for (int p = 0; p < 3; p++) {
      double ph = 2 * M_PI * f_hz * t - 2 * M_PI * p / 3;
      double u = 230 * M_SQRT2 * (p == 0 && t >= 0.5 && t < 0.6 ? 0.6 : 1.0);
      double i = 50 * M_SQRT2 * (t >= 0.8 ? 1.6 : 1.0);
      x[k * 6 + p] = (float)(u * sin(ph) + 3.0 * sin(3 * ph));
      x[k * 6 + 3 + p] = (float)(i * sin(ph - M_PI / 6) + 5.0 * sin(5 * ph));
    }
  }
  return x;
}

typedef struct collect {
  hr_record_t *recs;
  size_t n, cap;
} collect_t;

/* Bytes of a record that carry its values: the header and the union member
 * of its kind (the rest of the union is not written). */
static size_t rec_bytes(const hr_record_t *r)
{
  size_t body = r->kind == HR_REC_CYCLE      ? sizeof r->u.cycle
                : r->kind == HR_REC_INTERVAL ? sizeof r->u.interval
                : r->kind == HR_REC_HALF     ? sizeof r->u.half
                : r->kind == HR_REC_EVENT    ? sizeof r->u.event
                : r->kind == HR_REC_FREQ10S  ? sizeof r->u.freq
                                             : sizeof r->u.ms;
  return offsetof(hr_record_t, u) + body;
}

static void on_record(const hr_record_t *rec, void *user)
{
  collect_t *c = user;
  if (c->n == c->cap) {
    c->cap = c->cap ? 2 * c->cap : 1024;
    c->recs = realloc(c->recs, c->cap * sizeof *c->recs);
  }
  memset(&c->recs[c->n], 0, sizeof *c->recs);
  memcpy(&c->recs[c->n++], rec, rec_bytes(rec));
}

static void cfg_3p4w(hr_meter_cfg_t *cfg)
{
  hr_meter_cfg_init(cfg, FS, 60.0, 230.0, HR_LAYOUT_3P4W);
  cfg->p_step_base_w = 30000.0;
  cfg->i_step_base_a = 50.0;
  cfg->n_alarms = 1;
  cfg->alarms[0] = (hr_alarm_cfg_t){HR_METRIC_I_RMS_A, 1, 70.0, 2.0};
}

/* Runs nch-channel frames through a meter made from cfg, in blocks of
 * `block` frames (0: varying sizes). */
static collect_t run_cfg(const hr_meter_cfg_t *cfg, const float *x, int nch, size_t n, size_t block)
{
  hr_meter_t *m = NULL;
  assert_int_equal(hr_meter_create(cfg, &m), HR_OK);
  assert_int_equal(hr_meter_frame_len(m), nch);
  collect_t c = {0};
  hr_meter_set_callback(m, on_record, &c);
  size_t k = 0, step = 1;
  while (k < n) {
    size_t b = block ? block : (step = step * 7 % 1013 + 1);
    if (b > n - k)
      b = n - k;
    size_t done = 0;
    assert_int_equal(hr_meter_push(m, x + k * nch, b, &done), HR_OK);
    assert_int_equal(done, b);
    k += b;
  }
  hr_meter_destroy(m);
  return c;
}

/* Runs the 3P4W signal through a meter in blocks of `block` frames (0: varying). */
static collect_t run_blocks(const float *x, size_t n, size_t block)
{
  hr_meter_cfg_t cfg;
  cfg_3p4w(&cfg);
  return run_cfg(&cfg, x, 6, n, block);
}

static void results_do_not_depend_on_block_size(void **state)
{
  (void)state;
  size_t n = (size_t)(1.5 * FS);
  float *x = make_signal(n, 60.0);
  collect_t ref = run_blocks(x, n, n);
  assert_true(ref.n > 1500); /* ms + half + cycle + interval + events */
  const size_t blocks[] = {1, 7, 133, 8000, 0};
  for (unsigned b = 0; b < sizeof blocks / sizeof blocks[0]; b++) {
    collect_t c = run_blocks(x, n, blocks[b]);
    assert_int_equal(c.n, ref.n);
    for (size_t k = 0; k < c.n; k++)
      assert_memory_equal(&c.recs[k], &ref.recs[k], rec_bytes(&ref.recs[k]));
    free(c.recs);
  }
  /* The stream produced the events the signal holds. */
  int dips = 0, isteps = 0, alarms = 0;
  for (size_t k = 0; k < ref.n; k++) {
    const hr_record_t *r = &ref.recs[k];
    if (r->kind != HR_REC_EVENT || !r->u.event.ended)
      continue;
    dips += r->u.event.type == HR_EVT_DIP;
    isteps += r->u.event.type == HR_EVT_CURRENT_STEP;
    alarms += r->u.event.type == HR_EVT_ALARM;
  }
  assert_int_equal(dips, 1);
  assert_int_equal(isteps, 1);
  assert_int_equal(alarms, 0); /* still active at the end: only the start notice */
  free(ref.recs);
  free(x);
}

/* Runs frames of the given layout, every record kind on, clip levels set. */
static collect_t run_layout(hr_layout_t layout, const float *x, int nch, size_t n, size_t block)
{
  hr_meter_cfg_t cfg;
  hr_meter_cfg_init(&cfg, FS, 60.0, 230.0, layout);
  cfg.p_step_base_w = 10000.0;
  cfg.i_step_base_a = 50.0;
  cfg.u_clip_v = 360.0;
  cfg.i_clip_a = 200.0;
  return run_cfg(&cfg, x, nch, n, block);
}

/* The other layouts, with NaN, Inf and clipped samples sprinkled in (chunks
 * with bad samples take the frame-by-frame path, clean ones the block path),
 * give the same records whatever the block size. */
static void layouts_and_bad_samples_do_not_depend_on_block_size(void **state)
{
  (void)state;
  size_t n = (size_t)(1.2 * FS);
  float *x6 = make_signal(n, 60.0);
  float *x2 = malloc(n * 2 * sizeof *x2);
  for (size_t k = 0; k < n; k++) {
    x2[2 * k] = x6[6 * k];
    x2[2 * k + 1] = x6[6 * k + 3];
  }
  const size_t bad[] = {1234, 1235, 4001, 6100, 7777};
  for (unsigned j = 0; j < sizeof bad / sizeof bad[0]; j++) {
    x6[bad[j] * 6 + j % 6] = j % 2 ? NAN : INFINITY;
    x2[bad[j] * 2 + j % 2] = j % 2 ? NAN : -INFINITY;
  }
  for (size_t k = 5000; k < 5004; k++) {
    x6[k * 6 + 1] = 400.0f;  /* above u_clip_v */
    x2[k * 2 + 1] = -250.0f; /* above i_clip_a */
  }
  const struct {
    hr_layout_t layout;
    const float *x;
    int nch;
  } cases[] = {{HR_LAYOUT_3P3W, x6, 6}, {HR_LAYOUT_1P2W, x2, 2}, {HR_LAYOUT_3P4W, x6, 6}};
  for (unsigned c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    collect_t ref = run_layout(cases[c].layout, cases[c].x, cases[c].nch, n, n);
    assert_true(ref.n > 1000);
    int flagged = 0;
    for (size_t k = 0; k < ref.n; k++)
      flagged |= (int)(ref.recs[k].flags & (HR_FLAG_BAD_SAMPLE | HR_FLAG_CLIPPED));
    assert_int_equal(flagged, HR_FLAG_BAD_SAMPLE | HR_FLAG_CLIPPED);
    const size_t blocks[] = {1, 7, 80, 0};
    for (unsigned b = 0; b < sizeof blocks / sizeof blocks[0]; b++) {
      collect_t got = run_layout(cases[c].layout, cases[c].x, cases[c].nch, n, blocks[b]);
      assert_int_equal(got.n, ref.n);
      for (size_t k = 0; k < got.n; k++)
        assert_memory_equal(&got.recs[k], &ref.recs[k], rec_bytes(&ref.recs[k]));
      free(got.recs);
    }
    free(ref.recs);
  }
  free(x6);
  free(x2);
}

static void pull_queue_stops_when_full_and_loses_nothing(void **state)
{
  (void)state;
  size_t n = (size_t)(1.0 * FS);
  float *x = make_signal(n, 60.0);
  collect_t ref = run_blocks(x, n, n);

  hr_meter_cfg_t cfg;
  cfg_3p4w(&cfg);
  cfg.queue_len = 256;
  hr_meter_t *m = NULL;
  assert_int_equal(hr_meter_create(&cfg, &m), HR_OK);
  size_t k = 0, got = 0;
  int fulls = 0;
  hr_record_t rec;
  while (k < n) {
    size_t done = 0;
    int rc = hr_meter_push(m, x + k * 6, n - k, &done);
    k += done;
    if (rc == HR_ERR_FULL)
      fulls++;
    else
      assert_int_equal(rc, HR_OK);
    while (hr_meter_pull(m, &rec)) {
      assert_memory_equal(&rec, &ref.recs[got], rec_bytes(&rec));
      got++;
    }
  }
  assert_true(fulls > 0);
  assert_int_equal(got, ref.n);
  hr_meter_destroy(m);
  free(ref.recs);
  free(x);
}

static void bad_configurations_are_named(void **state)
{
  (void)state;
  hr_meter_cfg_t cfg;
  hr_diag_t why;
  hr_meter_cfg_init(&cfg, 1000.0, 50.0, 230.0, HR_LAYOUT_1P2W);
  assert_int_equal(hr_meter_cfg_check(&cfg, &why), HR_ERR_RANGE);
  assert_string_equal(why.field, "fs_hz");
  assert_string_equal(why.message, "the sample rate must be between 2000 and 50000 Hz (got 1000)");
  hr_meter_cfg_init(&cfg, 8000.0, 55.0, 230.0, HR_LAYOUT_1P2W);
  assert_int_equal(hr_meter_cfg_check(&cfg, &why), HR_ERR_RANGE);
  assert_string_equal(why.field, "f_nom_hz");
  hr_meter_cfg_init(&cfg, 8000.0, 50.0, -1.0, HR_LAYOUT_1P2W);
  assert_int_equal(hr_meter_cfg_check(&cfg, &why), HR_ERR_RANGE);
  assert_string_equal(why.field, "u_din_v");
  hr_meter_cfg_init(&cfg, 8000.0, 50.0, 230.0, HR_LAYOUT_1P2W);
  cfg.has_in = 1;
  assert_int_equal(hr_meter_cfg_check(&cfg, &why), HR_ERR_INVALID_ARG);
  assert_string_equal(why.field, "has_in");
  hr_meter_cfg_init(&cfg, 8000.0, 50.0, 230.0, HR_LAYOUT_3P4W);
  cfg.dip_pct = 120.0;
  assert_int_equal(hr_meter_cfg_check(&cfg, &why), HR_ERR_RANGE);
  assert_string_equal(why.field, "dip_pct");
  cfg.dip_pct = 90.0;
  cfg.n_alarms = 1;
  cfg.alarms[0].metric = (hr_metric_t)99;
  assert_int_equal(hr_meter_cfg_check(&cfg, &why), HR_ERR_INVALID_ARG);
  assert_string_equal(why.field, "alarms[0].metric");
  assert_int_equal(why.code, HR_ERR_INVALID_ARG);
  assert_null(strstr(why.message, "alarms")); /* the message does not repeat the field */
  hr_meter_t *m = (hr_meter_t *)&cfg;         /* must be overwritten with NULL */
  assert_int_equal(hr_meter_create(&cfg, &m), HR_ERR_INVALID_ARG);
  assert_null(m);
  assert_int_equal(hr_meter_create(NULL, &m), HR_ERR_INVALID_ARG);
}

/* Runs n frames of a signal built by fill() and returns records and stats. */
static collect_t run_fn(double f_hz, int kind, hr_meter_stats_t *st)
{
  size_t n = (size_t)(2.0 * FS);
  float *x = calloc(n * 6, sizeof *x);
  for (size_t k = 0; k < n; k++)
    for (int p = 0; p < 3; p++) {
      double ph = 2 * M_PI * f_hz * (double)k / FS - 2 * M_PI * p / 3;
      x[k * 6 + p] = kind == 1 ? 100.0f : (float)(230 * M_SQRT2 * sin(ph));
      x[k * 6 + 3 + p] = (float)(10 * sin(ph));
    }
  if (kind == 2) /* NaN and Inf in the middle */
    for (size_t k = 8000; k < 8010; k++)
      x[k * 6 + 4] = k % 2 ? NAN : INFINITY;
  hr_meter_cfg_t cfg;
  hr_meter_cfg_init(&cfg, FS, 50.0, 230.0, HR_LAYOUT_3P4W);
  cfg.u_clip_v = kind == 3 ? 300.0 : 0.0;
  hr_meter_t *m;
  assert_int_equal(hr_meter_create(&cfg, &m), HR_OK);
  collect_t c = {0};
  hr_meter_set_callback(m, on_record, &c);
  assert_int_equal(hr_meter_push(m, x, n, NULL), HR_OK);
  hr_meter_get_stats(m, st);
  hr_meter_destroy(m);
  free(x);
  return c;
}

static int count_flag(const collect_t *c, hr_rec_kind_t kind, uint32_t flag, int *total)
{
  int k_flag = 0;
  *total = 0;
  for (size_t k = 0; k < c->n; k++)
    if (c->recs[k].kind == kind) {
      (*total)++;
      k_flag += (c->recs[k].flags & flag) != 0;
    }
  return k_flag;
}

static void bad_input_is_flagged_never_silent(void **state)
{
  (void)state;
  hr_meter_stats_t st;
  int total;

  /* DC only: no zero crossing at all.  Windows free-run, every one flagged. */
  collect_t c = run_fn(50.0, 1, &st);
  assert_true(count_flag(&c, HR_REC_HALF, HR_FLAG_NO_ZC, &total) == total && total > 150);
  assert_true(st.freerun_halves > 150);
  assert_true(st.zero_crossings <= 4); /* only the filter's start-up transient */
  free(c.recs);

  /* 100 Hz on a 50 Hz meter: outside the tracking range. */
  c = run_fn(100.0, 0, &st);
  int flagged = count_flag(&c, HR_REC_CYCLE, HR_FLAG_FREQ_RANGE, &total);
  assert_true(total > 50 && flagged >= total - 2);
  free(c.recs);
  c = run_fn(25.0, 0, &st);
  flagged = count_flag(&c, HR_REC_CYCLE, HR_FLAG_FREQ_RANGE | HR_FLAG_NO_ZC, &total);
  assert_true(total > 50 && flagged >= total - 2);
  free(c.recs);

  /* NaN/Inf: counted, located, and only the windows over them are flagged. */
  c = run_fn(50.0, 2, &st);
  assert_int_equal(st.bad_samples, 10);
  assert_int_equal(st.first_bad_frame, 8000);
  assert_int_equal(st.first_bad_channel, 4);
  flagged = count_flag(&c, HR_REC_CYCLE, HR_FLAG_BAD_SAMPLE, &total);
  assert_true(flagged >= 1 && flagged <= 2);
  for (size_t k = 0; k < c.n; k++)
    if (c.recs[k].kind == HR_REC_CYCLE)
      for (int ch = 0; ch < 3; ch++)
        assert_true(isfinite(c.recs[k].u.cycle.i_rms_a[ch]));
  free(c.recs);

  /* Clipping at 300 V of a 325 V peak: every cycle flagged. */
  c = run_fn(50.0, 3, &st);
  assert_true(st.clipped_samples > 0);
  flagged = count_flag(&c, HR_REC_CYCLE, HR_FLAG_CLIPPED, &total);
  assert_int_equal(flagged, total);
  free(c.recs);
}

static void derived_neutral_and_effective_power(void **state)
{
  (void)state;
  /* Balanced sinusoids: derived neutral ~0; Se = P/PF exactly. */
  size_t n = (size_t)(0.5 * FS);
  float *x = malloc(n * 6 * sizeof *x);
  for (size_t k = 0; k < n; k++)
    for (int p = 0; p < 3; p++) {
      double ph = 2 * M_PI * 50.0 * (double)k / FS - 2 * M_PI * p / 3;
      x[k * 6 + p] = (float)(230 * M_SQRT2 * sin(ph));
      x[k * 6 + 3 + p] = (float)(20 * M_SQRT2 * sin(ph - M_PI / 3));
    }
  hr_meter_cfg_t cfg;
  hr_meter_cfg_init(&cfg, FS, 50.0, 230.0, HR_LAYOUT_3P4W);
  hr_meter_t *m;
  assert_int_equal(hr_meter_create(&cfg, &m), HR_OK);
  assert_int_equal(hr_meter_frame_len(m), 6);
  collect_t c = {0};
  hr_meter_set_callback(m, on_record, &c);
  hr_meter_push(m, x, n, NULL);
  int seen = 0;
  for (size_t k = 0; k < c.n; k++) {
    const hr_record_t *r = &c.recs[k];
    if (r->kind != HR_REC_CYCLE || r->flags)
      continue;
    seen++;
    assert_int_equal(r->n_i, 4);
    assert_true(r->u.cycle.i_rms_a[3] < 1e-3);
    assert_float_equal(r->u.cycle.p_total_w, 3 * 230.0 * 20.0 * 0.5, 3 * 230.0 * 20.0 * 1e-4);
    assert_float_equal(r->u.cycle.s_eff_va, 3 * 230.0 * 20.0, 3 * 230.0 * 20.0 * 1e-4);
    assert_float_equal(r->u.cycle.pf_total, 0.5, 1e-4);
    assert_float_equal(r->u.cycle.u_crest[0], M_SQRT2, 2e-3);
  }
  assert_true(seen > 15);
  free(c.recs);
  hr_meter_destroy(m);
  free(x);
}

/* The two forms of the window sums (8-double vectors with AVX-512, 4-double
 * halves elsewhere), and with them the two forms of the input copy (16-frame
 * blocks with AVX-512 for 6 or 7 channels, slot by slot elsewhere), give the
 * same records, bit for bit, in every layout, with NaN, Inf and clipped
 * samples in the stream and blocks that split the copy's 16-frame blocks.
 * Only an AVX-512 machine can run both; elsewhere the test says so. */
static void window_sum_forms_agree(void **state)
{
  (void)state;
  size_t n = (size_t)(1.0 * FS);
  float *x = make_signal(n, 60.0);
  /* Frames inside the n-frame signal whose bad sample lands on channel
   * j % 6 of a 6-channel frame and on lane j of the same samples read as
   * 7-channel frames, so every lane of both readings gets one. */
  const size_t bad[] = {1239, 1239, 4004, 6104, 7777, 7007, 2003};
  for (unsigned j = 0; j < sizeof bad / sizeof bad[0]; j++) {
    assert_true(bad[j] < n);
    x[bad[j] * 6 + j % 6] = j % 2 ? NAN : INFINITY;
  }
  for (size_t k = 15000; k < 15030; k++)
    x[k] = k % 2 ? 420.0f : -420.0f; /* above u_clip_v or i_clip_a, whichever lane */
  const hr_layout_t lay[] = {HR_LAYOUT_3P4W, HR_LAYOUT_3P4W, HR_LAYOUT_3P3W, HR_LAYOUT_1P2W};
  for (unsigned l = 0; l < sizeof lay / sizeof lay[0]; l++) {
    hr_meter_cfg_t cfg;
    hr_meter_cfg_init(&cfg, FS, 60.0, 230.0, lay[l]);
    cfg.has_in = l == 1; /* 3P4W with a measured neutral: 7 channels */
    cfg.p_step_base_w = 10000.0;
    cfg.i_step_base_a = 50.0;
    cfg.u_clip_v = 400.0;
    cfg.i_clip_a = 300.0;
    collect_t c[2] = {{0}, {0}};
    int nch = 0;
    for (int wide = 0; wide < 2; wide++) {
      hr_meter_t *m = NULL;
      assert_int_equal(hr_meter_create(&cfg, &m), HR_OK);
      int rc = hr__meter_set_wide_sums(m, wide);
      if (rc == HR_ERR_UNSUPPORTED) {
        hr_meter_destroy(m);
        if (l == 0)
          print_message("window_sum_forms_agree: SKIPPED the 8-double form: no AVX-512 here\n");
        break;
      }
      assert_int_equal(rc, HR_OK);
      nch = hr_meter_frame_len(m);
      hr_meter_set_callback(m, on_record, &c[wide]);
      /* The 6-channel signal read as nch-channel frames: any samples do. */
      size_t frames = n * 6 / (size_t)nch;
      /* 37-frame blocks: the copy's first and last 16-frame blocks are
       * partial, at every alignment of the input. */
      for (size_t k = 0; k < frames; k += 37) {
        size_t b = frames - k < 37 ? frames - k : 37, done = 0;
        assert_int_equal(hr_meter_push(m, x + k * (size_t)nch, b, &done), HR_OK);
        assert_int_equal(done, b);
      }
      hr_meter_stats_t st;
      hr_meter_get_stats(m, &st);
      assert_true(st.bad_samples > 0);
      assert_true(st.clipped_samples > 0);
      hr_meter_destroy(m);
    }
    assert_true(c[0].n > 100);
    if (c[1].n) {
      assert_int_equal(c[1].n, c[0].n);
      for (size_t k = 0; k < c[0].n; k++)
        assert_memory_equal(&c[1].recs[k], &c[0].recs[k], rec_bytes(&c[0].recs[k]));
    }
    free(c[0].recs);
    free(c[1].recs);
  }
  free(x);
}

/* A clean 3P4W signal: 60 Hz, 230 V, 40 A lagging 0.5 rad. */
static float *clean_signal(size_t n)
{
  float *x = malloc(n * 6 * sizeof *x);
  for (size_t k = 0; k < n; k++)
    for (int p = 0; p < 3; p++) {
      double ph = 2 * M_PI * 60.0 * (double)k / FS - 2 * M_PI * p / 3;
      x[k * 6 + p] = (float)(230 * M_SQRT2 * sin(ph));
      x[k * 6 + 3 + p] = (float)(40 * M_SQRT2 * sin(ph - 0.5));
    }
  return x;
}

static int window_holds(const hr_record_t *r, int64_t t_ns)
{
  return r->t_ns <= t_ns && t_ns < r->t_ns + r->dur_ns;
}

/* Hardening: one +-FLT_MAX sample (on the reference voltage, then on a
 * current) costs only the cycles that contain it, and those are flagged.
 * The old engine took it for a real value: the band-pass rang for about a
 * second (no crossings, freq_range), the cycle before it read 66.75 Hz
 * unflagged, and the windows over it reported a swell. */
static void corrupt_sample_costs_only_its_cycles(void **state)
{
  (void)state;
  size_t n = (size_t)(3.0 * FS);
  float *x = clean_signal(n);
  hr_meter_cfg_t cfg;
  hr_meter_cfg_init(&cfg, FS, 60.0, 230.0, HR_LAYOUT_3P4W);
  collect_t ref = run_cfg(&cfg, x, 6, n, n);
  const size_t bad[2] = {12037, 18811};
  x[bad[0] * 6 + 0] = FLT_MAX;  /* reference voltage u1 */
  x[bad[1] * 6 + 4] = -FLT_MAX; /* current i2 */
  collect_t got = run_cfg(&cfg, x, 6, n, n);
  /* The same records whatever the block sizes. */
  collect_t one = run_cfg(&cfg, x, 6, n, 1);
  assert_int_equal(one.n, got.n);
  for (size_t k = 0; k < got.n; k++)
    assert_memory_equal(&one.recs[k], &got.recs[k], rec_bytes(&got.recs[k]));
  free(one.recs);

  int n_ref = 0, n_got = 0, flagged = 0;
  for (size_t k = 0; k < ref.n; k++)
    n_ref += ref.recs[k].kind == HR_REC_CYCLE && !(ref.recs[k].flags & HR_FLAG_STARTUP);
  for (size_t k = 0; k < got.n; k++) {
    const hr_record_t *r = &got.recs[k];
    assert_true(r->kind != HR_REC_EVENT); /* no swell from the corrupt word */
    if (r->kind != HR_REC_CYCLE || (r->flags & HR_FLAG_STARTUP))
      continue;
    n_got++;
    int holds = 0;
    for (int b = 0; b < 2; b++)
      holds |= window_holds(r, (int64_t)llround((double)bad[b] * 1e9 / FS));
    /* Flagged exactly when it holds a corrupt sample; nothing else. */
    assert_int_equal(r->flags, holds ? HR_FLAG_BAD_SAMPLE : 0u);
    flagged += holds;
    if (holds)
      continue;
    /* The clean run's cycle starting at (nearly) the same time. */
    const hr_record_t *c = NULL;
    for (size_t j = 0; j < ref.n && !c; j++)
      if (ref.recs[j].kind == HR_REC_CYCLE && llabs(ref.recs[j].t_ns - r->t_ns) < 20000)
        c = &ref.recs[j];
    assert_non_null(c);
    assert_float_equal(r->u.cycle.freq_hz, c->u.cycle.freq_hz, 2e-3);
    for (int ch = 0; ch < 3; ch++) {
      assert_float_equal(r->u.cycle.u_rms_v[ch], c->u.cycle.u_rms_v[ch], 230.0 * 1e-5);
      assert_float_equal(r->u.cycle.p_w[ch], c->u.cycle.p_w[ch], 230.0 * 40.0 * 1e-5);
    }
  }
  assert_int_equal(n_got, n_ref); /* the same cycles: none lost */
  assert_int_equal(flagged, 2);
  free(ref.recs);
  free(got.recs);

  hr_meter_stats_t st;
  hr_meter_t *m;
  assert_int_equal(hr_meter_create(&cfg, &m), HR_OK);
  assert_int_equal(hr_meter_push(m, x, n, NULL), HR_OK);
  hr_meter_get_stats(m, &st);
  assert_int_equal(st.bad_samples, 2);
  assert_int_equal(st.first_bad_frame, (int64_t)bad[0]);
  assert_int_equal(st.first_bad_channel, 0);
  hr_meter_destroy(m);
  free(x);
}

/* Timestamps never overflow: a t0 too close to either end of int64 is
 * refused at creation, and a stream stops (HR_ERR_RANGE) before its
 * timestamps would pass INT64_MAX - HR_T_MARGIN_NS.  The old engine took
 * t0 = INT64_MAX and overflowed in its time arithmetic (UBSan). */
static void t0_near_int64_limits_is_refused_not_overflowed(void **state)
{
  (void)state;
  hr_meter_cfg_t cfg;
  hr_diag_t why;
  hr_meter_t *m = NULL;
  hr_meter_cfg_init(&cfg, FS, 60.0, 230.0, HR_LAYOUT_3P4W);
  const int64_t refused[] = {INT64_MAX, INT64_MAX - HR_T_MARGIN_NS + 1, INT64_MIN,
                             INT64_MIN + HR_T_MARGIN_NS - 1};
  for (unsigned k = 0; k < sizeof refused / sizeof refused[0]; k++) {
    cfg.t0_ns = refused[k];
    assert_int_equal(hr_meter_cfg_check(&cfg, &why), HR_ERR_RANGE);
    assert_string_equal(why.field, "t0_ns");
    assert_int_equal(hr_meter_create(&cfg, &m), HR_ERR_RANGE);
    assert_null(m);
  }

  /* At the limit itself: accepted, but no frame fits. */
  size_t n1 = 100, none = 1;
  float *x1 = calloc(n1 * 6, sizeof *x1);
  cfg.t0_ns = INT64_MAX - HR_T_MARGIN_NS;
  assert_int_equal(hr_meter_create(&cfg, &m), HR_OK);
  assert_int_equal(hr_meter_push(m, x1, n1, &none), HR_ERR_RANGE);
  assert_int_equal(none, 0);
  hr_meter_destroy(m);
  free(x1);

  /* 1.5 s before the last usable nanosecond: 3 s of frames stop after 1.5 s. */
  size_t n = (size_t)(3.0 * FS);
  float *x = clean_signal(n);
  cfg.t0_ns = INT64_MAX - HR_T_MARGIN_NS - 1500000000;
  assert_int_equal(hr_meter_create(&cfg, &m), HR_OK);
  collect_t c = {0};
  hr_meter_set_callback(m, on_record, &c);
  size_t done = 0;
  assert_int_equal(hr_meter_push(m, x, n, &done), HR_ERR_RANGE);
  assert_true(done > (size_t)(1.49 * FS) && done <= (size_t)(1.5 * FS));
  size_t more = 1;
  assert_int_equal(hr_meter_push(m, x, 10, &more), HR_ERR_RANGE);
  assert_int_equal(more, 0);
  assert_int_equal(hr_meter_finish(m), HR_OK);
  assert_true(c.n > 100);
  for (size_t k = 0; k < c.n; k++) {
    const hr_record_t *r = &c.recs[k];
    assert_true(r->t_ns >= cfg.t0_ns);
    assert_true(r->dur_ns >= 0 && r->t_ns <= INT64_MAX - HR_T_MARGIN_NS - r->dur_ns);
  }
  free(c.recs);
  hr_meter_destroy(m);

  /* The other end: a stream from INT64_MIN + margin runs normally, and its
   * 10-s interval is the one that holds it (floor division). */
  cfg.t0_ns = INT64_MIN + HR_T_MARGIN_NS;
  cfg.records = HR_RECMASK(HR_REC_CYCLE);
  assert_int_equal(hr_meter_create(&cfg, &m), HR_OK);
  c = (collect_t){0};
  hr_meter_set_callback(m, on_record, &c);
  assert_int_equal(hr_meter_push(m, x, n, NULL), HR_OK);
  assert_true(c.n > 150);
  for (size_t k = 0; k < c.n; k++)
    assert_true(c.recs[k].t_ns >= cfg.t0_ns && c.recs[k].t_ns < cfg.t0_ns + 3000000000LL);
  free(c.recs);
  hr_meter_destroy(m);
  free(x);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(results_do_not_depend_on_block_size),
      cmocka_unit_test(layouts_and_bad_samples_do_not_depend_on_block_size),
      cmocka_unit_test(pull_queue_stops_when_full_and_loses_nothing),
      cmocka_unit_test(bad_configurations_are_named),
      cmocka_unit_test(bad_input_is_flagged_never_silent),
      cmocka_unit_test(derived_neutral_and_effective_power),
      cmocka_unit_test(window_sum_forms_agree),
      cmocka_unit_test(corrupt_sample_costs_only_its_cycles),
      cmocka_unit_test(t0_near_int64_limits_is_refused_not_overflowed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
