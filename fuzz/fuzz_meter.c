/* libFuzzer harness for the measurement engine (include/headroom/pq.h).
 *
 * Input layout (HDR bytes, then float32 samples, NaN/inf/huge included):
 *   byte 0     : rate: bits 0-2 pick a common rate; bit 3: a free rate from
 *                bytes 5-8 (2000 .. 50000 Hz in steps of 0.001 Hz); bit 4
 *                synchrophasors (HR_REC_PHASOR) too, bit 5 in M class, bits
 *                6-7 the reporting rate (a table per nominal frequency)
 *   byte 1     : bit 0 60 Hz (else 50); bits 1-2 layout; bit 3 measured
 *                neutral (3P4W); bits 4-5 reference channel; bits 6-7 the
 *                tracking range
 *   byte 2     : detectors: power step, current step, voltage clip, current
 *                clip, RVC off, a second alarm, records (events only), a
 *                zero dip threshold
 *   byte 3     : bits 0-6 push block size - 1 (frames); bit 7 flicker
 *                (HR_REC_FLICKER) too
 *   byte 4     : bits 0-2 the start time (a table, or raw from bytes 9-16);
 *                bits 3-4 repetitions - 1 of the samples; bit 5 harmonics
 *                (HR_REC_HARM) too; bit 6 aggregates (HR_REC_AGG150,
 *                HR_REC_AGG10MIN) too; bit 7 power-swing analytics (HR_REC_SWING,
 *                a 125-ms window, 2-ms and 10-ms ramps, limits that fire)
 *   bytes 5-8  : free rate (little endian u32)
 *   bytes 9-16 : raw start time (little endian i64), kept within +-2^62 ns
 *
 * Speed: a meter costs milliseconds to create (the zero-crossing filter's
 * delay table), so meters are kept in a small cache keyed by their whole
 * configuration and reused after hr_meter_reset, which the API promises
 * returns a meter to its state right after create.  Every input runs twice
 * on the same meter: in the fuzzed block size and in one push per
 * repetition; the records (hashed bit for bit) and the counters must match,
 * since results must not depend on how the input was chunked.  Records must
 * have non-negative durations, finite values when no flag says otherwise,
 * and times that stay within the stream's span. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "headroom/pq.h"

#define HDR 17
#define CACHE 48
#define MAX_FRAMES (1u << 12) /* per run, repetitions included */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
  hr_meter_cfg_t cfg;
  hr_meter_t *m;
  uint64_t used;
} slot_t;

static slot_t cache[CACHE];
static uint64_t tick;

static hr_meter_t *meter_for(const hr_meter_cfg_t *cfg)
{
  slot_t *lru = &cache[0];
  for (int k = 0; k < CACHE; k++) {
    if (cache[k].m && memcmp(&cache[k].cfg, cfg, sizeof *cfg) == 0) {
      cache[k].used = ++tick;
      hr_meter_reset(cache[k].m);
      return cache[k].m;
    }
    if (!cache[k].m || cache[k].used < lru->used)
      lru = &cache[k];
  }
  hr_meter_destroy(lru->m);
  lru->m = NULL;
  if (hr_meter_create(cfg, &lru->m) != HR_OK)
    return NULL;
  lru->cfg = *cfg;
  lru->used = ++tick;
  return lru->m;
}

typedef struct {
  uint64_t h; /* hash of every record, flagged or not, events and 1-ms series included */
  int64_t n;
  int64_t t_lo, t_hi; /* the stream's span [ns], with slack for delays */
} run_t;

static void mix(uint64_t *h, const void *p, size_t n)
{
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++)
    *h = (*h ^ b[i]) * 0x100000001b3ull;
}

static void mix_d(uint64_t *h, const double *v, int n)
{
  mix(h, v, sizeof *v * (size_t)n);
}

static void on_record(const hr_record_t *rec, void *user)
{
  run_t *r = user;
  /* A value of a clock interval (10 s, 10 min) starts at the interval's
   * tick, which can be long before the stream when it began inside it: its
   * end must reach into the stream. */
  const int clock =
      rec->kind == HR_REC_FREQ10S || rec->kind == HR_REC_AGG10MIN || rec->kind == HR_REC_FLICKER;
  const int64_t t_chk = clock ? rec->t_ns + rec->dur_ns : rec->t_ns;
  if (rec->dur_ns < 0 || t_chk < r->t_lo || rec->t_ns > r->t_hi)
    abort();
  if (rec->n_u < 1 || rec->n_u > HR_MAX_U || rec->n_i < 1 || rec->n_i > HR_MAX_I)
    abort();
  if (rec->kind == HR_REC_CYCLE && !(rec->flags & (HR_FLAG_BAD_SAMPLE | HR_FLAG_CLIPPED))) {
    /* Finite samples give finite RMS values (float32 samples square to at
     * most about 1.2e77, far from overflow). */
    for (int c = 0; c < rec->n_u; c++)
      if (!isfinite(rec->u.cycle.u_rms_v[c]))
        abort();
    for (int c = 0; c < rec->n_i; c++)
      if (!isfinite(rec->u.cycle.i_rms_a[c]))
        abort();
  }
  if (rec->kind == HR_REC_EVENT && !rec->u.event.ended && rec->u.event.duration_ns != 0)
    abort();
  /* An event never ends before it starts, also when hr_meter_finish closes
   * it (fuzz/reproducers/meter-open-alarm-negative-duration). */
  if (rec->kind == HR_REC_EVENT && rec->u.event.duration_ns < 0)
    abort();
  uint64_t *h = &r->h;
  mix(h, &rec->kind, sizeof rec->kind);
  mix(h, &rec->flags, sizeof rec->flags);
  mix(h, &rec->t_ns, sizeof rec->t_ns);
  mix(h, &rec->dur_ns, sizeof rec->dur_ns);
  switch (rec->kind) {
  case HR_REC_HALF:
    mix_d(h, rec->u.half.u_rms_v, rec->n_u);
    mix_d(h, rec->u.half.i_rms_a, rec->n_i);
    break;
  case HR_REC_CYCLE:
    mix_d(h, &rec->u.cycle.freq_hz, 1);
    mix_d(h, rec->u.cycle.u_rms_v, rec->n_u);
    mix_d(h, rec->u.cycle.i_rms_a, rec->n_i);
    mix_d(h, &rec->u.cycle.p_total_w, 1);
    break;
  case HR_REC_MS:
    mix_d(h, &rec->u.ms.p_total_w, 3);
    break;
  case HR_REC_INTERVAL:
    mix_d(h, &rec->u.interval.freq_hz, 1);
    mix_d(h, rec->u.interval.u_rms_v, rec->n_u);
    break;
  case HR_REC_FREQ10S:
    mix_d(h, &rec->u.freq.freq_hz, 1);
    break;
  case HR_REC_HARM: {
    const hr_harm_t *d = rec->u.harm.detail;
    if (!d)
      abort(); /* callback delivery always has the detail */
    if (!(rec->flags & (HR_FLAG_BAD_SAMPLE | HR_FLAG_CLIPPED)) &&
        (!isfinite(d->u[0].thd_pct) || !isfinite(d->sys.se) || !isfinite(d->sys.p)))
      abort();
    mix_d(h, &rec->u.harm.freq_hz, 1);
    mix_d(h, rec->u.harm.u_thd_pct, rec->n_u);
    mix_d(h, &rec->u.harm.p_w, 1);
    mix_d(h, d->u[0].sg, HR_HARM_H_MAX + 1);
    mix_d(h, d->i[0].isg, HR_HARM_H_MAX + 1);
    break;
  }
  case HR_REC_AGG150:
  case HR_REC_AGG10MIN:
    /* Fifteen values in a 150/180-cycle value, at least one in a 10-min
     * one, which spans its clock interval. */
    if (rec->kind == HR_REC_AGG150 ? rec->u.agg.n_values != 15
                                   : rec->u.agg.n_values < 1 || rec->dur_ns != 600000000000LL)
      abort();
    mix(h, &rec->u.agg.n_values, sizeof rec->u.agg.n_values);
    mix_d(h, rec->u.agg.u_rms_v, rec->n_u);
    mix_d(h, &rec->u.agg.p_total_w, 1);
    break;
  case HR_REC_SWING:
    if (!rec->u.swing.spectrum_w)
      abort(); /* callback delivery always has the spectrum */
    if (rec->u.swing.n_bins != (int)(rec->dur_ns / 1000000) / 2 + 1)
      abort();
    mix_d(h, &rec->u.swing.p_mean_w, 6);
    mix_d(h, rec->u.swing.band_rms_w, rec->u.swing.n_bands);
    mix_d(h, rec->u.swing.ramp_w_per_s, rec->u.swing.n_ramps);
    mix_d(h, rec->u.swing.spectrum_w, rec->u.swing.n_bins);
    break;
  case HR_REC_PHASOR:
    /* Finite samples give finite phasors and frequency. */
    if (!(rec->flags & (HR_FLAG_BAD_SAMPLE | HR_FLAG_CLIPPED)) &&
        (!isfinite(rec->u.phasor.freq_hz) || !isfinite(rec->u.phasor.rocof_hz_per_s) ||
         !isfinite(rec->u.phasor.u_mag_v[0]) || !isfinite(rec->u.phasor.i_mag_a[0])))
      abort();
    if (rec->dur_ns <= 0)
      abort();
    mix_d(h, &rec->u.phasor.freq_hz, 2);
    mix_d(h, rec->u.phasor.u_mag_v, rec->n_u);
    mix_d(h, rec->u.phasor.u_ang_deg, rec->n_u);
    mix_d(h, rec->u.phasor.i_mag_a, rec->n_i);
  case HR_REC_FLICKER:
    /* A Pst or Plt within its clock interval; an unflagged one is finite. */
    if (rec->dur_ns > (rec->u.flicker.plt ? 7200000000000LL : 600000000000LL))
      abort();
    if (!(rec->flags & (HR_FLAG_STARTUP | HR_FLAG_BAD_SAMPLE)) && !isfinite(rec->u.flicker.p[0]))
      abort();
    mix_d(h, rec->u.flicker.p, rec->n_u);
    mix_d(h, rec->u.flicker.pinst_max, rec->n_u);
    break;
  case HR_REC_EVENT:
    mix(h, &rec->u.event.type, sizeof rec->u.event.type);
    mix(h, &rec->u.event.start_ns, sizeof rec->u.event.start_ns);
    mix(h, &rec->u.event.duration_ns, sizeof rec->u.event.duration_ns);
    mix_d(h, &rec->u.event.extreme, 1);
    break;
  default:
    abort();
  }
  r->n++;
}

/* Pushes the frames reps times in blocks of `block` (0: all at once) and
 * ends the stream. */
static void run(hr_meter_t *m, const float *x, size_t frames, int nch, int reps, size_t block,
                run_t *r, hr_meter_stats_t *st)
{
  hr_meter_reset(m);
  hr_meter_set_callback(m, on_record, r);
  for (int rep = 0; rep < reps; rep++) {
    size_t b = block ? block : frames;
    for (size_t k = 0; k < frames; k += b) {
      size_t n = frames - k < b ? frames - k : b, done = 0;
      if (hr_meter_push(m, x + k * (size_t)nch, n, &done) != HR_OK || done != n)
        abort();
    }
  }
  if (hr_meter_finish(m) != HR_OK)
    abort();
  hr_meter_get_stats(m, st);
  if (st->frames != (int64_t)frames * reps || st->records != r->n)
    abort();
}

static uint32_t u32le(const uint8_t *p)
{
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < HDR)
    return 0;
  static const double rates[8] = {2000, 4000, 7680, 8000, 10240, 12800, 25600, 50000};
  static const double track[4] = {20, 1, 40, 7.5};
  static const hr_layout_t layouts[4] = {HR_LAYOUT_1P2W, HR_LAYOUT_3P3W, HR_LAYOUT_3P4W,
                                         HR_LAYOUT_3P4W};
  /* 2^62 ns is about 146 years either side of 1970. */
  static const int64_t t0s[7] = {
      0, 1700000000000000000ll, -1, 1, (int64_t)1 << 62, -((int64_t)1 << 62), 999999999};
  double fs =
      data[0] & 8 ? 2000.0 + (double)(u32le(data + 5) % 48000001u) / 1000.0 : rates[data[0] & 7];
  hr_layout_t layout = layouts[(data[1] >> 1) & 3];
  hr_meter_cfg_t cfg;
  hr_meter_cfg_init(&cfg, fs, data[1] & 1 ? 60.0 : 50.0, 230.0, layout);
  cfg.has_in = layout == HR_LAYOUT_3P4W && (data[1] & 8);
  cfg.ref_channel = layout == HR_LAYOUT_1P2W ? 0 : ((data[1] >> 4) & 3) % 3;
  cfg.track_pct = track[data[1] >> 6];
  cfg.p_step_base_w = data[2] & 1 ? 1000.0 : 0.0;
  cfg.i_step_base_a = data[2] & 2 ? 10.0 : 0.0;
  cfg.u_clip_v = data[2] & 4 ? 300.0 : 0.0;
  cfg.i_clip_a = data[2] & 8 ? 50.0 : 0.0;
  if (data[2] & 16)
    cfg.rvc_pct = 0.0;
  cfg.n_alarms = data[2] & 32 ? 2 : 1;
  cfg.alarms[0] = (hr_alarm_cfg_t){HR_METRIC_P_TOTAL_W, 1, 100.0, 10.0};
  cfg.alarms[1] = (hr_alarm_cfg_t){HR_METRIC_FREQ_HZ, 0, 49.0, 0.1};
  if (data[2] & 64)
    cfg.records = HR_RECMASK(HR_REC_EVENT) | HR_RECMASK(HR_REC_FREQ10S);
  if (data[2] & 128)
    cfg.dip_pct = 50.0;
  if (data[4] & 32)
    cfg.records |= HR_RECMASK(HR_REC_HARM);
  if (data[4] & 64)
    cfg.records |= HR_RECMASK(HR_REC_AGG150) | HR_RECMASK(HR_REC_AGG10MIN);
  if (data[3] & 128)
    cfg.records |= HR_RECMASK(HR_REC_FLICKER);
  if (data[4] & 128) {
    cfg.records |= HR_RECMASK(HR_REC_SWING);
    cfg.swing.n_windows = 1;
    cfg.swing.n_ramps = 2;
    cfg.swing.ramp_window_s[0] = 0.002;
    cfg.swing.ramp_window_s[1] = 0.01;
    cfg.swing.ramp_limit_w_per_s[0] = 1e4;
    cfg.swing.band_limit_w[1] = 1.0;
  }
  if (data[0] & 16) {
    static const int fps50[4] = {10, 25, 50, 50}, fps60[4] = {10, 12, 30, 60};
    cfg.records |= HR_RECMASK(HR_REC_PHASOR);
    cfg.phasor_class = data[0] & 32 ? HR_PHASOR_M : HR_PHASOR_P;
    cfg.phasor_rate_fps = (cfg.f_nom_hz == 60.0 ? fps60 : fps50)[data[0] >> 6];
  }
  /* With a callback the pull queue is never used: the smallest keeps create
   * and reset cheap. */
  cfg.queue_len = 256;
  int t0k = data[4] & 7;
  if (t0k < 7) {
    cfg.t0_ns = t0s[t0k];
  } else {
    int64_t raw = (int64_t)((uint64_t)u32le(data + 9) | (uint64_t)u32le(data + 13) << 32);
    cfg.t0_ns = raw / 2 / 2; /* within +-2^61 */
  }
  int reps = 1 + ((data[4] >> 3) & 3);
  size_t block = (size_t)(data[3] & 127) + 1;

  if (hr_meter_cfg_check(&cfg, NULL) != HR_OK)
    abort(); /* every configuration built above is valid */
  hr_meter_t *m = meter_for(&cfg);
  if (!m)
    abort();
  int nch = hr_meter_frame_len(m);
  size_t frames = (size - HDR) / (sizeof(float) * (size_t)nch);
  if (frames * (size_t)reps > MAX_FRAMES)
    frames = MAX_FRAMES / (size_t)reps;
  float *x = malloc(frames * (size_t)nch * sizeof *x + 1);
  if (!x)
    return 0;
  memcpy(x, data + HDR, frames * (size_t)nch * sizeof *x);
  /* Samples near the float32 limit (squares ~1e73) once gave RMS values and
   * powers that depended on the block size
   * (fuzz/reproducers/meter-chunking-huge-rms, meter-chunking-huge-power):
   * they go in unchanged. */

  /* Records may start a few cycles before or after their window (detection
   * latency, filter delay): allow 2 s either side of the stream. */
  double span_ns = (double)frames * reps / fs * 1e9;
  run_t a = {0xcbf29ce484222325ull, 0, cfg.t0_ns - 2000000000ll,
             cfg.t0_ns + (int64_t)span_ns + 2000000000ll};
  run_t b = a;
  hr_meter_stats_t sa, sb;
  run(m, x, frames, nch, reps, block, &a, &sa);
  run(m, x, frames, nch, reps, 0, &b, &sb);
  /* Every record, the 1-ms series, events and windows flagged free-running
   * or holding a bad sample included, and every counter, bit for bit
   * (fuzz/reproducers/meter-chunking-1ms-series,
   * meter-chunking-flagged-windows). */
  if (a.h != b.h || a.n != b.n || memcmp(&sa, &sb, sizeof sa) != 0)
    abort();
  free(x);
  return 0;
}
