/* Shared by the measurement benchmarks (bench_harm, bench_phasor,
 * bench_flicker, bench_swing): the clock and one timed meter run. */
#ifndef HR_BENCH_UTIL_H
#define HR_BENCH_UTIL_H

#include <stdlib.h>
#include <time.h>

#include "headroom/pq.h"

static inline double bench_now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Seconds to push frames interleaved frames of nch channels (x, borrowed)
 * through a meter made from cfg, in blocks of 80 frames (10 ms at 8 kHz),
 * then hr_meter_finish when finish is set; every record goes to cb(user).
 * Exits 1 when the meter cannot be made: a benchmark has no other use. */
static inline double bench_meter_run(const float *x, size_t frames, int nch,
                                     const hr_meter_cfg_t *cfg, hr_record_cb cb, void *user,
                                     int finish)
{
  hr_meter_t *m;
  if (hr_meter_create(cfg, &m) != HR_OK)
    exit(1);
  hr_meter_set_callback(m, cb, user);
  double t0 = bench_now_s();
  for (size_t k = 0; k < frames; k += 80) {
    size_t b = frames - k < 80 ? frames - k : 80;
    hr_meter_push(m, x + k * (size_t)nch, b, NULL);
  }
  if (finish)
    hr_meter_finish(m);
  double dt = bench_now_s() - t0;
  hr_meter_destroy(m);
  return dt;
}

#endif
