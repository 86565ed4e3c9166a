/* Tests of the capture ring (include/headroom/capture.h): exact window
 * contents for any chunking, overlapping triggers merged into one capture,
 * windows longer than max_s split without overlap, frames lost to a full ring
 * counted, level and event triggers, no allocation in push, and COMTRADE
 * output read back by the reader. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "headroom/capture.h"
#include "headroom/comtrade.h"
#include "headroom/error.h"

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

#define FS 8000.0
#define NC 7
#define T0 1767225600000000000LL

/* Frame j, channel c: exactly representable, unique per (j, c). */
static float val(int64_t j, int c)
{
  return (float)((j % 2000000) * 8 + c) * 0.5f;
}

static void push_range(hr_capture_t *cap, int64_t from, int64_t to, unsigned *seed)
{
  static float buf[4096 * NC];
  int64_t j = from;
  while (j < to) {
    int64_t n = 1 + (int64_t)(rand_r(seed) % 4000);
    if (j + n > to)
      n = to - j;
    for (int64_t k = 0; k < n; k++)
      for (int c = 0; c < NC; c++)
        buf[k * NC + c] = val(j + k, c);
    hr_capture_push(cap, buf, (size_t)n);
    j += n;
  }
}

static hr_capture_t *make(double ring_s, double pre, double post, double maxs)
{
  hr_capture_cfg_t cfg;
  hr_capture_cfg_init(&cfg, NC, FS);
  cfg.t0_ns = T0;
  cfg.ring_s = ring_s;
  cfg.pre_s = pre;
  cfg.post_s = post;
  cfg.max_s = maxs;
  hr_capture_t *cap;
  assert_int_equal(hr_capture_create(&cfg, &cap), HR_OK);
  return cap;
}

static void check_window(const hr_capture_window_t *w, const float *buf)
{
  for (int64_t k = 0; k < w->n_frames; k++)
    for (int c = 0; c < NC; c++)
      if (buf[k * NC + c] != val(w->first_frame + k, c))
        fail_msg("frame %lld channel %d: %g != %g", (long long)(w->first_frame + k), c,
                 (double)buf[k * NC + c], (double)val(w->first_frame + k, c));
}

static void test_window_exact(void **state)
{
  (void)state;
  hr_capture_t *cap = make(10, 0.5, 1.0, 4);
  unsigned seed = 1;
  push_range(cap, 0, 30000, &seed);
  /* trigger at 3.0 s: frames 20000 .. 32000 */
  assert_int_equal(hr_capture_trigger(cap, T0 + 3000000000LL, HR_CAPTURE_EXTERNAL), HR_OK);
  hr_capture_window_t w;
  assert_int_equal(hr_capture_ready(cap, 0, &w), 0);
  push_range(cap, 30000, 31999, &seed);
  assert_int_equal(hr_capture_ready(cap, 0, &w), 0);
  push_range(cap, 31999, 40000, &seed);
  assert_int_equal(hr_capture_ready(cap, 0, &w), 1);
  assert_int_equal(w.first_frame, 20000);
  assert_int_equal(w.n_frames, 12000);
  assert_int_equal(w.start_ns, T0 + 2500000000LL);
  assert_int_equal(w.trigger_ns, T0 + 3000000000LL);
  float *buf = malloc(20000 * NC * sizeof *buf);
  assert_int_equal(hr_capture_take(cap, 0, buf, 100, &w), HR_ERR_FULL);
  assert_int_equal(hr_capture_take(cap, 0, buf, 20000, &w), HR_OK);
  assert_int_equal(w.lost_frames, 0);
  check_window(&w, buf);
  assert_int_equal(hr_capture_take(cap, 0, buf, 20000, &w), HR_ERR_STATE);
  free(buf);
  hr_capture_destroy(cap);
}

static void test_merge_and_split(void **state)
{
  (void)state;
  hr_capture_t *cap = make(20, 0.5, 1.0, 3);
  unsigned seed = 2;
  push_range(cap, 0, 16000, &seed);
  /* Overlapping triggers 0.3 s apart: one window 1.5 .. 3.3 s. */
  assert_int_equal(hr_capture_trigger(cap, T0 + 2000000000LL, HR_CAPTURE_EXTERNAL), HR_OK);
  hr_record_t ev;
  memset(&ev, 0, sizeof ev);
  ev.kind = HR_REC_EVENT;
  ev.u.event.type = HR_EVT_DIP;
  ev.u.event.start_ns = T0 + 2300000000LL;
  assert_int_equal(hr_capture_on_record(cap, &ev), HR_OK);
  /* A non-event record and an event type outside the mask do nothing. */
  hr_record_t other = ev;
  other.kind = HR_REC_CYCLE;
  assert_int_equal(hr_capture_on_record(cap, &other), HR_OK);
  hr_capture_stats_t st;
  hr_capture_get_stats(cap, &st);
  assert_int_equal(st.triggers, 2);
  assert_int_equal(st.merged, 1);
  /* Sustained triggers every 0.5 s from 5 s to 12 s: windows capped at 3 s,
   * contiguous, never overlapping. */
  for (int k = 0; k <= 14; k++)
    assert_int_equal(hr_capture_trigger(cap, T0 + 5000000000LL + k * 500000000LL, 0), HR_OK);
  push_range(cap, 16000, 8000 * 19, &seed);
  float *buf = malloc(8000 * 4 * NC * sizeof *buf);
  hr_capture_window_t w;
  assert_int_equal(hr_capture_take(cap, 0, buf, 8000 * 4, &w), HR_OK);
  assert_int_equal(w.first_frame, 12000);
  assert_int_equal(w.n_frames, 26400 - 12000);
  assert_int_equal(w.n_triggers, 2);
  assert_int_equal(w.reasons, HR_CAPTURE_EXTERNAL | HR_CAPTURE_EVENT);
  check_window(&w, buf);
  int64_t next = 36000, total = 0;
  int windows = 0;
  while (hr_capture_take(cap, 0, buf, 8000 * 4, &w) == HR_OK) {
    assert_int_equal(w.first_frame, next);
    assert_true(w.n_frames <= 24000);
    check_window(&w, buf);
    next = w.first_frame + w.n_frames;
    total += w.n_frames;
    windows++;
  }
  assert_int_equal(next, (int64_t)(12.0 * 8000) + 8000);
  assert_int_equal(total, next - 36000);
  assert_true(windows >= 3);
  free(buf);
  hr_capture_destroy(cap);
}

static void test_ring_overwrite_and_full(void **state)
{
  (void)state;
  hr_capture_t *cap = make(4, 0.5, 1.0, 2);
  unsigned seed = 3;
  push_range(cap, 0, 8000, &seed);
  assert_int_equal(hr_capture_trigger(cap, T0 + 1000000000LL, 0), HR_OK);
  push_range(cap, 8000, 8000 * 5, &seed); /* ring holds 4 s: frames 8000.. */
  float *buf = malloc(8000 * 2 * NC * sizeof *buf);
  hr_capture_window_t w;
  assert_int_equal(hr_capture_take(cap, 0, buf, 16000, &w), HR_OK);
  assert_int_equal(w.lost_frames, 8000 - 4000);
  assert_int_equal(w.first_frame, 8000);
  check_window(&w, buf);
  /* A trigger older than the ring: refused. */
  assert_int_equal(hr_capture_trigger(cap, T0, 0), HR_ERR_RANGE);
  /* Table full: counted, not silent. */
  for (int k = 0; k < HR_CAPTURE_MAX_WINDOWS; k++)
    assert_int_equal(hr_capture_trigger(cap, T0 + 10000000000LL + k * 2000000000LL, 0), HR_OK);
  assert_int_equal(hr_capture_trigger(cap, T0 + 99000000000LL, 0), HR_ERR_FULL);
  hr_capture_stats_t st;
  hr_capture_get_stats(cap, &st);
  assert_int_equal(st.dropped_triggers, 1);
  assert_int_equal(st.lost_frames, 4000);
  free(buf);
  hr_capture_destroy(cap);
}

static void test_level_and_noalloc(void **state)
{
  (void)state;
  hr_capture_cfg_t cfg;
  hr_capture_cfg_init(&cfg, NC, FS);
  cfg.t0_ns = T0;
  cfg.levels[0].channel = 3;
  cfg.levels[0].threshold = 100.0f;
  cfg.n_levels = 1;
  assert_true(hr_capture_memory_bytes(&cfg) >= (size_t)(60 * 8000) * NC * 4);
  hr_capture_t *cap;
  assert_int_equal(hr_capture_create(&cfg, &cap), HR_OK);
  static float blk[800 * NC];
#ifndef HR_ASAN
  long before = n_alloc;
#endif
  for (int b = 0; b < 100; b++) { /* 10 s */
    for (int k = 0; k < 800; k++)
      for (int c = 0; c < NC; c++) {
        int64_t j = (int64_t)b * 800 + k;
        blk[k * NC + c] = (c == 3 && j >= 40000 && j < 40010) ? 150.0f : 1.0f;
      }
    hr_capture_push(cap, blk, 800);
  }
#ifndef HR_ASAN
  assert_int_equal(n_alloc, before);
#else
  printf("under AddressSanitizer: the allocation count is not checked\n");
#endif
  hr_capture_window_t w;
  assert_int_equal(hr_capture_ready(cap, 0, &w), 1);
  assert_int_equal(w.reasons, HR_CAPTURE_LEVEL);
  assert_int_equal(w.first_frame, 40000 - 4000);
  assert_int_equal(w.trigger_ns, T0 + 5000000000LL);
  hr_capture_destroy(cap);
}

static void test_write_comtrade(void **state)
{
  (void)state;
  char dir[] = "/tmp/hr_cap_XXXXXX";
  assert_non_null(mkdtemp(dir));
  hr_capture_t *cap = make(10, 0.1, 0.2, 1);
  unsigned seed = 4;
  push_range(cap, 0, 8000, &seed);
  assert_int_equal(hr_capture_trigger(cap, T0 + 500000000LL, 0), HR_OK);
  float *buf = malloc(8000 * NC * sizeof *buf);
  hr_capture_window_t w;
  assert_int_equal(hr_capture_take(cap, 0, buf, 8000, &w), HR_OK);
  hr_capture_meta_t meta = {
      .station = "lab", .device_id = "PDU-A01", .layout = HR_LAYOUT_3P4W, .line_freq_hz = 50};
  for (int f = HR_CT_BINARY32; f <= HR_CT_FLOAT32; f++) {
    char path[4096], cfgp[4200];
    assert_int_equal(hr_capture_write_comtrade(&w, buf, NC, FS, &meta, dir, (hr_ct_format_t)f, 6,
                                               f == HR_CT_FLOAT32, path, sizeof path),
                     HR_OK);
    snprintf(cfgp, sizeof cfgp, "%s.%s", path, f == HR_CT_FLOAT32 ? "cff" : "cfg");
    hr_ct_rec_t *r;
    hr_ct_info_t info;
    hr_diag_t d;
    if (hr_ct_read(cfgp, NULL, &r, &info, &d) != HR_OK)
      fail_msg("%s: %s", d.source, d.message);
    assert_int_equal(info.warnings, 0);
    assert_int_equal(r->n_samples, w.n_frames);
    assert_int_equal(r->cfg.start_ns, w.start_ns);
    assert_int_equal(r->cfg.trigger_ns, w.trigger_ns);
    assert_string_equal(r->cfg.analog[6].id, "in");
    assert_string_equal(r->cfg.analog[0].unit, "V");
    assert_string_equal(r->cfg.analog[4].ph, "B");
    for (int64_t k = 0; k < r->n_samples; k++) {
      assert_int_equal(hr_ct_time_ns(r, k), w.start_ns + k * 125000);
      for (int c = 0; c < NC; c++) {
        double v = hr_ct_value(r, c, k), x = buf[k * NC + c];
        if (f == HR_CT_FLOAT32)
          assert_true(v == x);
        else
          assert_true(fabs(v - x) <= 0.5 * r->cfg.analog[c].a * 1.000001);
      }
    }
    hr_ct_rec_destroy(r);
  }
  free(buf);
  hr_capture_destroy(cap);
  char cmd[100];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_window_exact),
      cmocka_unit_test(test_merge_and_split),
      cmocka_unit_test(test_ring_overwrite_and_full),
      cmocka_unit_test(test_level_and_noalloc),
      cmocka_unit_test(test_write_comtrade),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
