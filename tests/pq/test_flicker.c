/* The IEC 61000-4-15 flickermeter (hr_flicker_t), quick tier:
 *   - Tables 1a/1b and 2a/2b of IEC 61000-4-15 Ed. 2.0 (sinusoidal and
 *     rectangular fluctuations that must give Pinst,max = 1), every row, for
 *     230 V / 50 Hz and 120 V / 60 Hz, against +-5 % (the standard allows
 *     +-8 % for these tables; this implementation stays within 2 %);
 *   - Table 5 (rectangular changes per minute for Pst = 1), three rows for
 *     each of those systems, against the standard's +-5 %; the whole table
 *     for all four lamp/system combinations is in test_flicker_tables.c
 *     (slow tier);
 *   - Pst proportional to dV/V (Pinst goes with its square), Plt as the
 *     cube root of the mean of 12 Pst cubed over a 2-h interval aligned to
 *     the clock, a result independent of block sizes, bad samples flagged,
 *     configuration errors named;
 *   - the meter's HR_REC_FLICKER records: the same values through the
 *     callback and through a small pull queue, and as hr_flicker_t gives
 *     them alone. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flicker_sim.h"
#include "flicker_tables.h"

#define N(a) (int)(sizeof a / sizeof a[0])

static void check_pinst_table(const char *name, int lamp, double f_sys, int rect, const double *fq,
                              const double *dvv, int n, double fs)
{
  double worst = 0.0;
  for (int i = 0; i < n; i++) {
    double p = flk_pinst_max(lamp, f_sys, fs, rect, fq[i], dvv[i]);
    if (!(fabs(p - 1.0) <= 0.05))
      fail_msg("%s: %g Hz, dV/V %.3f %%: Pinst,max %.4f, not 1 +- 5 %%", name, fq[i], dvv[i], p);
    worst = fmax(worst, fabs(p - 1.0));
  }
  print_message("%s (%d rows, fs %g Hz): worst |Pinst,max - 1| = %.2f %%\n", name, n, fs,
                100.0 * worst);
}

static void table1_sinusoidal(void **state)
{
  (void)state;
  check_pinst_table("Table 1a 230 V / 50 Hz", 230, 50.0, 0, t1_f, t1_230_50, N(t1_230_50), 4000.0);
  check_pinst_table("Table 1b 120 V / 60 Hz", 120, 60.0, 0, t1_f, t1_120_60, N(t1_120_60), 4000.0);
}

static void table2_rectangular(void **state)
{
  (void)state;
  check_pinst_table("Table 2a 230 V / 50 Hz", 230, 50.0, 1, t2_f, t2_230_50, N(t2_230_50), 4000.0);
  check_pinst_table("Table 2b 120 V / 60 Hz", 120, 60.0, 1, t2_f, t2_120_60, N(t2_120_60), 4000.0);
}

static void table5_subset(void **state)
{
  (void)state;
  static const int rows[] = {1, 3, 5}; /* 2, 39, 1620 changes per minute */
  for (int i = 0; i < N(rows); i++) {
    int r = rows[i];
    double p = flk_pst_rect(230, 50.0, 8000.0, t5_cpm_50[r], t5_230_50[r]);
    print_message("Table 5 230 V / 50 Hz, %g/min, %.3f %%: Pst %.4f\n", t5_cpm_50[r], t5_230_50[r],
                  p);
    assert_true(fabs(p - 1.0) <= 0.05);
    p = flk_pst_rect(120, 60.0, 7680.0, t5_cpm_60[r], t5_120_60[r]);
    print_message("Table 5 120 V / 60 Hz, %g/min, %.3f %%: Pst %.4f\n", t5_cpm_60[r], t5_120_60[r],
                  p);
    assert_true(fabs(p - 1.0) <= 0.05);
  }
}

/* Pinst goes with (dV/V)^2 and Pst is the square root of a sum of Pinst
 * levels: twice the fluctuation, twice the Pst. */
static void pst_scales_with_dvv(void **state)
{
  (void)state;
  double p1 = flk_pst_rect(230, 50.0, 4000.0, 110.0, 0.5);
  double p2 = flk_pst_rect(230, 50.0, 4000.0, 110.0, 1.0);
  print_message("Pst at 0.5 %% and 1 %%, 110/min: %.4f %.4f\n", p1, p2);
  assert_true(fabs(p2 / p1 - 2.0) < 0.01);
  /* IEC 61000-4-15 §4.7.2 weights: a constant Pinst P gives sqrt(0.5096 P). */
  assert_true(fabs(hr_flicker_pst(4, 4, 4, 4, 4) - sqrt(0.5096 * 4)) < 1e-12);
}

/* Each 10-min interval of a 2-h run gets its own fluctuation; Plt is the
 * cube root of the mean of the 12 Pst cubed; the clock-aligned intervals
 * start at the stream start here, so all are whole (but the first is
 * flagged: the filters settle in it). */
static void plt_two_hours(void **state)
{
  (void)state;
  const double fs = 2000.0;
  hr_flicker_cfg_t cfg;
  hr_flicker_cfg_init(&cfg, fs, 50.0, 230, 1);
  cfg.t0_ns = 3 * HR_FLICKER_PLT_NS;
  hr_flicker_t *f = NULL;
  assert_int_equal(hr_flicker_create(&cfg, &f), HR_OK);
  flk_gen_t g = {fs, 50.0, 39.0 / 120.0, 0.0, 230.0, 1, 0};
  hr_flicker_result_t r[16];
  int n = 0;
  for (int i = 0; i < 12; i++) {
    g.dvv = 0.3 + 0.1 * i;
    n += flk_run(f, &g, 600.0, r + n, N(r) - n);
  }
  assert_int_equal(n, 13);
  double sum3 = 0.0;
  for (int i = 0; i < 12; i++) {
    assert_int_equal(r[i].rec.plt, 0);
    assert_true(r[i].t_ns == cfg.t0_ns + i * HR_FLICKER_PST_NS);
    assert_true(r[i].dur_ns == HR_FLICKER_PST_NS);
    assert_int_equal(r[i].flags, i == 0 ? HR_FLAG_STARTUP : 0u);
    /* Table 5: 0.894 % at 39/min is Pst 1, and Pst goes with dV/V. */
    if (i > 0)
      assert_true(fabs(r[i].rec.p[0] / ((0.3 + 0.1 * i) / 0.894) - 1.0) < 0.05);
    sum3 += pow(r[i].rec.p[0], 3.0);
  }
  const hr_flicker_result_t *q = &r[12];
  assert_int_equal(q->rec.plt, 1);
  assert_int_equal(q->rec.n_pst, 12);
  assert_true(q->t_ns == cfg.t0_ns && q->dur_ns == HR_FLICKER_PLT_NS);
  assert_int_equal(q->flags, HR_FLAG_STARTUP);
  assert_true(fabs(q->rec.p[0] - cbrt(sum3 / 12.0)) < 1e-12);
  hr_flicker_destroy(f);
}

/* Bit-identical results whatever the block sizes; a NaN is counted as 0
 * and flags its interval. */
static void blocks_and_bad_samples(void **state)
{
  (void)state;
  const double fs = 3000.0;
  const size_t n = (size_t)(fs * 700.0);
  float *x = malloc(n * 2 * sizeof *x);
  assert_non_null(x);
  flk_gen_t g = {fs, 60.0, 5.0, 0.4, 120.0, 0, 0};
  float *one = malloc(n * sizeof *one);
  assert_non_null(one);
  flk_gen_fill(&g, one, n);
  for (size_t k = 0; k < n; k++) {
    x[2 * k] = one[k];
    x[2 * k + 1] = 0.5f * one[k];
  }
  free(one);
  hr_flicker_result_t res[2][4];
  int cnt[2] = {0, 0};
  for (int pass = 0; pass < 2; pass++) {
    hr_flicker_cfg_t cfg;
    hr_flicker_cfg_init(&cfg, fs, 60.0, 120, 2);
    cfg.t0_ns = HR_FLICKER_PST_NS - INT64_C(50000000000);
    hr_flicker_t *f = NULL;
    assert_int_equal(hr_flicker_create(&cfg, &f), HR_OK);
    size_t k = 0, step = pass ? 1 : n;
    unsigned seed = 7;
    while (k < n) {
      size_t len = pass ? 1 + (seed = seed * 1103515245u + 12345u) % 997u : step;
      if (len > n - k)
        len = n - k;
      k += hr_flicker_push(f, x + 2 * k, 2, len);
      hr_flicker_result_t r;
      while (hr_flicker_take(f, &r))
        res[pass][cnt[pass]++] = r;
    }
    hr_flicker_finish(f);
    hr_flicker_result_t r;
    while (hr_flicker_take(f, &r))
      res[pass][cnt[pass]++] = r;
    hr_flicker_destroy(f);
  }
  assert_int_equal(cnt[0], cnt[1]);
  assert_true(cnt[0] >= 2);
  assert_memory_equal(res[0], res[1], sizeof(hr_flicker_result_t) * (size_t)cnt[0]);
  /* Channel 2 is channel 1 halved: the same relative fluctuation. */
  assert_true(fabs(res[0][1].rec.p[1] / res[0][1].rec.p[0] - 1.0) < 1e-3);

  /* One NaN in the second interval. */
  hr_flicker_cfg_t cfg;
  hr_flicker_cfg_init(&cfg, fs, 60.0, 120, 2);
  hr_flicker_t *f = NULL;
  assert_int_equal(hr_flicker_create(&cfg, &f), HR_OK);
  x[2 * (size_t)(fs * 650.0)] = NAN;
  size_t k = 0;
  int seen = 0;
  uint32_t flags[4] = {0};
  while (k < n) {
    k += hr_flicker_push(f, x + 2 * k, 2, n - k);
    hr_flicker_result_t r;
    while (hr_flicker_take(f, &r))
      flags[seen++] = r.flags;
  }
  hr_flicker_finish(f);
  hr_flicker_result_t r;
  while (hr_flicker_take(f, &r))
    flags[seen++] = r.flags;
  assert_true(seen >= 2);
  assert_false(flags[0] & HR_FLAG_BAD_SAMPLE);
  assert_true(flags[1] & HR_FLAG_BAD_SAMPLE);
  assert_true(isfinite(r.rec.p[0]));
  hr_flicker_destroy(f);
  free(x);
}

/* The meter's flicker records (3P4W, 4 kHz, Table 5's 110/min row at x1,
 * x0.5, x2 on the three phases), through the callback and through a
 * 256-record pull queue pushed in 10-s blocks: the same records, equal to
 * the flickermeter's own results, Pst 1, 0.5, 2 within 5 %. */
typedef struct recs {
  hr_record_t r[8];
  int n;
} recs_t;

static void keep_flicker(const hr_record_t *rec, void *user)
{
  recs_t *k = user;
  if (rec->kind == HR_REC_FLICKER && k->n < 8)
    k->r[k->n++] = *rec;
}

static void meter_records(void **state)
{
  (void)state;
  const double fs = 4000.0;
  const size_t n = (size_t)(fs * 630.0);
  float *one = malloc(n * sizeof *one), *x = calloc(n * 6, sizeof *x);
  assert_true(one && x);
  static const double gain[3] = {1.0, 0.5, 2.0};
  for (int c = 0; c < 3; c++) {
    flk_gen_t gc = {fs, 50.0, 110.0 / 120.0, 0.722 * gain[c], 230.0, 1, 0};
    flk_gen_fill(&gc, one, n);
    for (size_t k = 0; k < n; k++)
      x[k * 6 + (size_t)c] = one[k];
  }
  hr_meter_cfg_t cfg;
  hr_meter_cfg_init(&cfg, fs, 50.0, 230.0, HR_LAYOUT_3P4W);
  cfg.t0_ns = 6 * HR_FLICKER_PST_NS - INT64_C(30000000000);
  cfg.records = HR_RECMASK_ALL | HR_RECMASK(HR_REC_FLICKER);
  cfg.queue_len = 256;
  assert_int_equal(cfg.flicker_lamp_v, 230);
  recs_t a = {.n = 0}, b = {.n = 0};
  hr_meter_t *m;
  assert_int_equal(hr_meter_create(&cfg, &m), HR_OK);
  hr_meter_set_callback(m, keep_flicker, &a);
  assert_int_equal(hr_meter_push(m, x, n, NULL), HR_OK);
  assert_int_equal(hr_meter_finish(m), HR_OK);
  /* Pull mode, the same meter after reset. */
  hr_meter_reset(m);
  hr_meter_set_callback(m, NULL, NULL);
  size_t k = 0;
  hr_record_t rec;
  while (k < n) {
    size_t len = n - k < 40000 ? n - k : 40000, done = 0;
    hr_meter_push(m, x + k * 6, len, &done);
    k += done;
    while (hr_meter_pull(m, &rec))
      keep_flicker(&rec, &b);
  }
  while (hr_meter_finish(m) == HR_ERR_FULL)
    while (hr_meter_pull(m, &rec))
      keep_flicker(&rec, &b);
  while (hr_meter_pull(m, &rec))
    keep_flicker(&rec, &b);
  hr_meter_destroy(m);
  assert_int_equal(a.n, 3); /* a partial Pst, a whole Pst, a partial Plt */
  assert_int_equal(b.n, a.n);
  for (int i = 0; i < a.n; i++) {
    assert_int_equal(a.r[i].flags, b.r[i].flags);
    assert_true(a.r[i].t_ns == b.r[i].t_ns && a.r[i].dur_ns == b.r[i].dur_ns);
    assert_memory_equal(&a.r[i].u.flicker, &b.r[i].u.flicker, sizeof a.r[i].u.flicker);
  }
  const hr_record_t *p = &a.r[1];
  assert_int_equal(p->u.flicker.plt, 0);
  assert_int_equal(p->flags, 0);
  assert_true(p->t_ns == 6 * HR_FLICKER_PST_NS && p->dur_ns == HR_FLICKER_PST_NS);
  for (int c = 0; c < 3; c++) {
    print_message("meter Pst u%d: %.4f (want %.1f)\n", c + 1, p->u.flicker.p[c], gain[c]);
    assert_true(fabs(p->u.flicker.p[c] / gain[c] - 1.0) < 0.05);
  }
  assert_true(a.r[0].flags & HR_FLAG_STARTUP);
  assert_int_equal(a.r[2].u.flicker.plt, 1);
  assert_int_equal(a.r[2].u.flicker.n_pst, 2);
  /* The flickermeter alone on the same voltages gives the same whole Pst. */
  hr_flicker_cfg_t fc;
  hr_flicker_cfg_init(&fc, fs, 50.0, 230, 3);
  fc.t0_ns = cfg.t0_ns;
  hr_flicker_t *f;
  assert_int_equal(hr_flicker_create(&fc, &f), HR_OK);
  hr_flicker_result_t r[4];
  int nr = 0;
  k = 0;
  while (k < n) {
    k += hr_flicker_push(f, x + k * 6, 6, n - k);
    while (nr < 4 && hr_flicker_take(f, &r[nr]))
      nr++;
  }
  assert_true(nr >= 2);
  assert_memory_equal(&r[1].rec, &p->u.flicker, sizeof r[1].rec);
  hr_flicker_destroy(f);
  /* The lamp model is checked and named. */
  hr_diag_t d;
  cfg.flicker_lamp_v = 100;
  assert_int_equal(hr_meter_cfg_check(&cfg, &d), HR_ERR_RANGE);
  assert_string_equal(d.field, "flicker_lamp_v");
  free(one);
  free(x);
}

/* IEC 61000-4-30 §4.7: a dip inside the whole 10-min interval flags its Pst
 * (and the Plt made of it), not the interval before; in 997-frame blocks
 * and in one push the records are the same. */
static void event_flag(void **state)
{
  (void)state;
  const double fs = 4000.0;
  const size_t n = (size_t)(fs * 630.0);
  float *one = malloc(n * sizeof *one), *x = calloc(n * 2, sizeof *x);
  assert_true(one && x);
  flk_gen_t g = {fs, 50.0, 110.0 / 120.0, 0.722, 230.0, 1, 0};
  flk_gen_fill(&g, one, n);
  for (size_t k = 0; k < n; k++) {
    double t = (double)k / fs;
    x[2 * k] = one[k] * (t >= 330.0 && t < 330.5 ? 0.5f : 1.0f);
  }
  hr_record_t got[2][4];
  int cnt[2] = {0, 0};
  for (int pass = 0; pass < 2; pass++) {
    hr_meter_cfg_t cfg;
    hr_meter_cfg_init(&cfg, fs, 50.0, 230.0, HR_LAYOUT_1P2W);
    cfg.t0_ns = 6 * HR_FLICKER_PST_NS - INT64_C(30000000000);
    cfg.records = HR_RECMASK_ALL | HR_RECMASK(HR_REC_FLICKER);
    recs_t k = {.n = 0};
    hr_meter_t *m;
    assert_int_equal(hr_meter_create(&cfg, &m), HR_OK);
    hr_meter_set_callback(m, keep_flicker, &k);
    size_t step = pass ? 997 : n;
    for (size_t i = 0; i < n; i += step)
      assert_int_equal(hr_meter_push(m, x + 2 * i, n - i < step ? n - i : step, NULL), HR_OK);
    assert_int_equal(hr_meter_finish(m), HR_OK);
    hr_meter_destroy(m);
    for (int i = 0; i < k.n && i < 4; i++)
      got[pass][i] = k.r[i];
    cnt[pass] = k.n;
  }
  assert_int_equal(cnt[0], 3);
  assert_int_equal(cnt[1], 3);
  for (int i = 0; i < 3; i++) {
    assert_true(got[0][i].flags == got[1][i].flags && got[0][i].t_ns == got[1][i].t_ns &&
                got[0][i].dur_ns == got[1][i].dur_ns);
    assert_memory_equal(&got[0][i].u.flicker, &got[1][i].u.flicker, sizeof got[0][i].u.flicker);
  }
  assert_false(got[0][0].flags & HR_FLAG_EVENT);
  assert_int_equal(got[0][1].flags, HR_FLAG_EVENT);
  assert_true(got[0][2].flags & HR_FLAG_EVENT);
  print_message("Pst with a 0.5-s dip to 50 %%: %.3f, flags 0x%x\n", got[0][1].u.flicker.p[0],
                got[0][1].flags);
  free(one);
  free(x);
}

/* Streams at the ends of the int64 clock: intervals that do not fit are cut
 * at INT64_MIN or never close; nothing overflows (UBSan builds check). */
static void clock_extremes(void **state)
{
  (void)state;
  static const int64_t t0s[] = {INT64_MIN + 1, -INT64_C(5000000000),
                                INT64_MAX - INT64_C(20000000000)};
  const double fs = 2000.0;
  float *x = malloc(sizeof *x * (size_t)(fs * 8.0));
  assert_non_null(x);
  flk_gen_t g = {fs, 50.0, 8.8, 0.25, 230.0, 0, 0};
  flk_gen_fill(&g, x, (size_t)(fs * 8.0));
  for (int i = 0; i < N(t0s); i++) {
    hr_flicker_cfg_t cfg;
    hr_flicker_cfg_init(&cfg, fs, 50.0, 230, 1);
    cfg.t0_ns = t0s[i];
    hr_flicker_t *f = NULL;
    assert_int_equal(hr_flicker_create(&cfg, &f), HR_OK);
    size_t k = 0, n = (size_t)(fs * 8.0);
    int seen = 0;
    hr_flicker_result_t r;
    while (k < n) {
      k += hr_flicker_push(f, x + k, 1, n - k);
      while (hr_flicker_take(f, &r))
        seen++;
    }
    hr_flicker_finish(f);
    while (hr_flicker_take(f, &r)) {
      seen++;
      assert_true(r.dur_ns >= 0);
      assert_true(r.flags & HR_FLAG_STARTUP);
      if (!r.rec.plt)
        print_message("t0 %lld: Pst over [%lld, +%lld) ns, Pinst,max %.4f\n", (long long)t0s[i],
                      (long long)r.t_ns, (long long)r.dur_ns, r.rec.pinst_max[0]);
      if (!r.rec.plt)
        assert_true(fabs(r.rec.pinst_max[0] - 1.0) < 0.1);
    }
    /* The -5 s stream crosses the epoch's 10-min (and 2-h) tick. */
    assert_int_equal(seen, i == 1 ? 4 : 2);
    hr_flicker_destroy(f);
  }
  free(x);
}

static void cfg_errors(void **state)
{
  (void)state;
  hr_flicker_cfg_t cfg;
  hr_diag_t d;
  hr_flicker_cfg_init(&cfg, 8000.0, 50.0, 230, 3);
  assert_int_equal(hr_flicker_cfg_check(&cfg, &d), HR_OK);
  cfg.lamp_v = 110;
  assert_int_equal(hr_flicker_cfg_check(&cfg, &d), HR_ERR_RANGE);
  assert_string_equal(d.field, "lamp_v");
  cfg.lamp_v = 120;
  cfg.f_nom_hz = 55.0;
  assert_int_equal(hr_flicker_cfg_check(&cfg, &d), HR_ERR_RANGE);
  assert_string_equal(d.field, "f_nom_hz");
  cfg.f_nom_hz = 60.0;
  cfg.n_chan = 0;
  assert_int_equal(hr_flicker_cfg_check(&cfg, &d), HR_ERR_RANGE);
  assert_string_equal(d.field, "n_chan");
  hr_flicker_t *f = (hr_flicker_t *)&cfg;
  assert_int_equal(hr_flicker_create(&cfg, &f), HR_ERR_RANGE);
  assert_null(f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(table1_sinusoidal), cmocka_unit_test(table2_rectangular),
      cmocka_unit_test(table5_subset),     cmocka_unit_test(pst_scales_with_dvv),
      cmocka_unit_test(plt_two_hours),     cmocka_unit_test(blocks_and_bad_samples),
      cmocka_unit_test(meter_records),     cmocka_unit_test(clock_extremes),
      cmocka_unit_test(event_flag),        cmocka_unit_test(cfg_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
