/* libFuzzer harness for the measurement engine: the first bytes pick the
 * layout, rate, nominal frequency and block sizes; the rest are float32
 * samples (NaN, infinities and huge values included).  Checks that the meter
 * never crashes, never stalls, and that every record is finite or flagged. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "headroom/pq.h"

static void on_record(const hr_record_t *rec, void *user)
{
  (void)user;
  if (rec->kind == HR_REC_CYCLE && !(rec->flags & (HR_FLAG_BAD_SAMPLE | HR_FLAG_CLIPPED))) {
    /* Finite inputs give finite results. */
    for (int c = 0; c < rec->n_u; c++)
      if (!isfinite(rec->u.cycle.u_rms_v[c]) && isfinite(rec->u.cycle.u_rms_v[c] * 0.0))
        abort();
  }
  if (rec->dur_ns < 0)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 4)
    return 0;
  static const double rates[] = {2000, 7680, 8000, 12800, 50000};
  static const hr_layout_t layouts[] = {HR_LAYOUT_1P2W, HR_LAYOUT_3P3W, HR_LAYOUT_3P4W};
  hr_meter_cfg_t cfg;
  hr_meter_cfg_default(&cfg, rates[data[0] % 5], data[1] & 1 ? 60.0 : 50.0, 230.0,
                       layouts[(data[1] >> 1) % 3]);
  cfg.has_in = cfg.layout == HR_LAYOUT_3P4W && (data[1] & 8);
  cfg.p_step_base_w = data[2] & 1 ? 1000.0 : 0.0;
  cfg.i_step_base_a = data[2] & 2 ? 10.0 : 0.0;
  cfg.u_clip_v = data[2] & 4 ? 300.0 : 0.0;
  cfg.n_alarms = 1;
  cfg.alarms[0] = (hr_alarm_cfg_t){HR_METRIC_P_TOTAL_W, 1, 100.0, 10.0};
  size_t block = (size_t)data[3] + 1;
  hr_meter_t *m;
  if (hr_meter_create(&cfg, &m) != HR_OK)
    abort();
  hr_meter_set_callback(m, on_record, NULL);
  int nch = hr_meter_frame_len(m);
  size_t frames = (size_t)(size - 4) / (sizeof(float) * (size_t)nch);
  float *x = malloc(frames * (size_t)nch * sizeof *x + 1);
  memcpy(x, data + 4, frames * (size_t)nch * sizeof *x);
  /* Repeat the input so the engine sees several cycles of it. */
  for (int rep = 0; rep < 8; rep++)
    for (size_t k = 0; k < frames; k += block) {
      size_t b = frames - k < block ? frames - k : block;
      size_t done = 0;
      if (hr_meter_push(m, x + k * (size_t)nch, b, &done) != HR_OK || done != b)
        abort();
    }
  hr_meter_stats_t st;
  hr_meter_get_stats(m, &st);
  if (st.frames != (int64_t)(8 * frames))
    abort();
  hr_meter_destroy(m);
  free(x);
  return 0;
}
