/* The sample path never allocates: after hr_meter_create, pushing a second
 * of a 3P4W signal with every record kind and detector on, through the
 * callback and through the pull queue, makes no call to malloc, calloc or
 * realloc.  The test interposes glibc's allocator; under AddressSanitizer
 * (which owns the allocator) it says so and skips. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "headroom/pq.h"

#if defined(__SANITIZE_ADDRESS__)
#define HR_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HR_ASAN 1
#endif
#endif

#ifndef HR_ASAN
static long n_alloc;

void *__libc_malloc(size_t size);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t size);

void *malloc(size_t size)
{
  n_alloc++;
  return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
  n_alloc++;
  return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
  n_alloc++;
  return __libc_realloc(p, size);
}
#endif

#ifndef HR_ASAN
static long n_rec;

static long n_harm, n_agg, n_swing, n_phasor;

static void on_record(const hr_record_t *rec, void *user)
{
  (void)user;
  n_rec++;
  n_harm += rec->kind == HR_REC_HARM;
  n_agg += rec->kind == HR_REC_AGG10MIN;
  n_swing += rec->kind == HR_REC_SWING;
  n_phasor += rec->kind == HR_REC_PHASOR;
}
#endif

static void push_does_not_allocate(void **state)
{
  (void)state;
#ifdef HR_ASAN
  skip();
#else
  const double fs = 8000.0;
  size_t n = (size_t)fs;
  float *x = malloc(n * 7 * sizeof *x);
  assert_true(n_alloc > 0); /* the interposed allocator is the one in use */
  for (size_t k = 0; k < n; k++)
    for (int p = 0; p < 3; p++) {
      double ph = 2 * M_PI * 50.0 * (double)k / fs - 2 * M_PI * p / 3;
      double dip = k > 4000 && k < 4800 ? 0.5 : 1.0;
      x[k * 7 + p] = (float)(230 * M_SQRT2 * dip * sin(ph));
      x[k * 7 + 3 + p] = (float)((k > 2000 ? 60 : 20) * M_SQRT2 * sin(ph - 0.3));
      x[k * 7 + 6] = 0.0f;
    }
  x[1234 * 7 + 2] = NAN; /* the slow path too */
  hr_meter_cfg_t cfg;
  hr_meter_cfg_init(&cfg, fs, 50.0, 230.0, HR_LAYOUT_3P4W);
  cfg.has_in = 1;
  cfg.records |= HR_RECMASK(HR_REC_HARM); /* harmonics and IEEE 1459 too */
  /* and the aggregates, across a 10-min tick half a second in */
  cfg.records |= HR_RECMASK(HR_REC_AGG150) | HR_RECMASK(HR_REC_AGG10MIN);
  cfg.t0_ns = INT64_C(1700000400000000000) - INT64_C(500000000);
  /* Power-swing analytics with limits that fire (the current steps at 0.25 s). */
  cfg.records |= HR_RECMASK(HR_REC_SWING);
  cfg.swing.window_s[1] = 0.25;
  cfg.swing.ramp_window_s[0] = 0.02;
  cfg.swing.ramp_limit_w_per_s[0] = 1e5;
  cfg.swing.band_limit_w[1] = 1.0;
  /* Synchrophasors, M class (the longer windows, four evaluations). */
  cfg.records |= HR_RECMASK(HR_REC_PHASOR);
  cfg.phasor_class = HR_PHASOR_M;
  cfg.phasor_rate_fps = 50;
  cfg.records |= HR_RECMASK(HR_REC_FLICKER); /* and the flickermeter */
  cfg.p_step_base_w = 40000.0;
  cfg.i_step_base_a = 60.0;
  cfg.n_alarms = 2;
  cfg.alarms[0] = (hr_alarm_cfg_t){HR_METRIC_P_TOTAL_W, 1, 30000.0, 100.0};
  cfg.alarms[1] = (hr_alarm_cfg_t){HR_METRIC_U_RMS_V, 0, 200.0, 2.0};
  hr_meter_t *m;
  assert_int_equal(hr_meter_create(&cfg, &m), HR_OK);
  hr_meter_set_callback(m, on_record, NULL);
  long before = n_alloc;
  for (size_t k = 0; k < n; k += 101)
    hr_meter_push(m, x + k * 7, n - k < 101 ? n - k : 101, NULL);
  hr_meter_finish(m);
  assert_int_equal(n_alloc, before);
  assert_true(n_rec > 1000);
  assert_true(n_harm >= 3);    /* the harmonics stage ran on the sample path too */
  assert_int_equal(n_agg, 1);  /* and the aggregation's 10-min value */
  assert_true(n_swing >= 10);  /* and the swing stage: 7 + 3 windows */
  assert_true(n_phasor >= 30); /* and the synchrophasors: 50/s, less the first window */

  /* The pull queue. */
  hr_meter_reset(m);
  hr_meter_set_callback(m, NULL, NULL);
  hr_record_t rec;
  before = n_alloc;
  size_t k = 0;
  long pulled = 0;
  while (k < n) {
    size_t done = 0;
    hr_meter_push(m, x + k * 7, n - k, &done);
    k += done;
    while (hr_meter_pull(m, &rec))
      pulled++;
  }
  assert_int_equal(n_alloc, before);
  assert_true(pulled > 1000);
  hr_meter_destroy(m);
  free(x);
#endif
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(push_does_not_allocate),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
