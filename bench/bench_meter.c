/* Benchmark of the measurement engine on one core.
 *
 * usage: bench_meter FILE.f32 FS_HZ F_NOM_HZ [REPEATS [whole|subset|both]]
 * FILE holds interleaved float32 frames of a 3P4W signal with neutral
 * current (7 channels).  Two configurations run on the same data:
 *   whole  : every record kind and every event detector (dips, swells,
 *            interruptions, RVC, power and current steps, 4 alarms);
 *   subset : per-cycle records only, events off (what the NumPy baseline does).
 * Prints one line per configuration: best-of-REPEATS samples per second
 * (one sample = one channel value) and the number of 8 kHz meters one core
 * keeps up with.  Ratios against the NumPy baseline are printed by
 * bench/run.sh, which runs both in one command. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "headroom/pq.h"

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void count(const hr_record_t *rec, void *user)
{
  (*(long long *)user) += rec->kind;
}

static double run(const float *x, size_t frames, const hr_meter_cfg_t *cfg, int repeats,
                  long long *n_rec)
{
  double best = 1e30;
  for (int r = 0; r < repeats; r++) {
    hr_meter_t *m;
    if (hr_meter_create(cfg, &m) != HR_OK)
      exit(1);
    long long sink = 0;
    hr_meter_set_callback(m, count, &sink);
    double t0 = now_s();
    /* Blocks of 80 frames (10 ms), as a live acquisition would deliver them. */
    for (size_t k = 0; k < frames; k += 80) {
      size_t b = frames - k < 80 ? frames - k : 80;
      hr_meter_push(m, x + k * 7, b, NULL);
    }
    double dt = now_s() - t0;
    hr_meter_stats_t st;
    hr_meter_get_stats(m, &st);
    *n_rec = st.records;
    hr_meter_destroy(m);
    best = dt < best ? dt : best;
  }
  return best;
}

int main(int argc, char **argv)
{
  if (argc < 4) {
    fprintf(stderr, "usage: bench_meter FILE.f32 FS_HZ F_NOM_HZ [REPEATS]\n");
    return 2;
  }
  double fs = atof(argv[2]), f_nom = atof(argv[3]);
  int repeats = argc > 4 ? atoi(argv[4]) : 5;
  /* One configuration alone is for profilers; bench/run.sh runs both. */
  const char *which = argc > 5 ? argv[5] : "both";
  int do_whole = strcmp(which, "subset") != 0, do_subset = strcmp(which, "whole") != 0;
  FILE *f = fopen(argv[1], "rb");
  if (!f) {
    perror(argv[1]);
    return 1;
  }
  fseek(f, 0, SEEK_END);
  long bytes = ftell(f);
  fseek(f, 0, SEEK_SET);
  size_t frames = (size_t)bytes / (7 * sizeof(float));
  float *x = malloc(frames * 7 * sizeof *x);
  if (!x || fread(x, sizeof(float) * 7, frames, f) != frames) {
    fprintf(stderr, "cannot read %s\n", argv[1]);
    return 1;
  }
  fclose(f);

  hr_meter_cfg_t whole;
  hr_meter_cfg_init(&whole, fs, f_nom, 277.0, HR_LAYOUT_3P4W);
  whole.has_in = 1;
  whole.p_step_base_w = 60000.0;
  whole.i_step_base_a = 70.0;
  whole.n_alarms = 4;
  whole.alarms[0] = (hr_alarm_cfg_t){HR_METRIC_P_TOTAL_W, 1, 55000.0, 1000.0};
  whole.alarms[1] = (hr_alarm_cfg_t){HR_METRIC_DPDT_W_PER_S, 1, 2e6, 1e5};
  whole.alarms[2] = (hr_alarm_cfg_t){HR_METRIC_I_PEAK_A, 1, 150.0, 5.0};
  whole.alarms[3] = (hr_alarm_cfg_t){HR_METRIC_U_RMS_V, 0, 260.0, 2.0};
  hr_meter_cfg_t subset = whole;
  subset.records = HR_RECMASK(HR_REC_CYCLE);
  subset.p_step_base_w = subset.i_step_base_a = 0.0;
  subset.rvc_pct = 0.0;
  subset.n_alarms = 0;

  long long nr_w = 0, nr_s = 0;
  double tw = do_whole ? run(x, frames, &whole, repeats, &nr_w) : 0.0;
  double ts = do_subset ? run(x, frames, &subset, repeats, &nr_s) : 0.0;
  double samples = (double)frames * 7;
  if (do_whole)
    printf("engine whole  samples_per_s=%.4g frames_per_s=%.4g meters_8khz=%.0f records=%lld\n",
           samples / tw, frames / tw, frames / tw / 8000.0, nr_w);
  if (do_subset)
    printf("engine subset samples_per_s=%.4g frames_per_s=%.4g meters_8khz=%.0f records=%lld\n",
           samples / ts, frames / ts, frames / ts / 8000.0, nr_s);
  free(x);
  return 0;
}
