/* The measurement engine's sample path and windowed values.
 *
 * Design: every frame is copied into planar rings and the reference voltage
 * is band-pass filtered to find fundamental zero crossings.  A crossing,
 * moved back by the filter's phase delay, becomes a half-cycle boundary at a
 * fractional sample position.  When the samples up to a boundary (or a 1-ms
 * tick) are in the ring, the sums over the half cycle are computed from the
 * ring with fractional weights at both ends: sample k stands for the interval
 * [k - 1/2, k + 1/2) of the sample clock.  All work is keyed to sample
 * positions, so the records do not depend on how the input was chunked. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg_int.h"
#include "core/core.h"
#include "flicker_int.h"
#include "harmonics_int.h"
#include "swing_int.h"
#include "phasor_int.h"
#include "meter_int.h"

/* GCC on x86-64 with the CPU dispatch of core.h: the AVX-512 forms below may
 * use its machine builtins. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(HR_NO_CLONES)
#define HAVE_X86_BUILTINS 1
#endif

/* The band-pass's switch-on transient (its high-pass poles at f_nom/4 decay
 * by a factor of three a cycle) moves single cycles' periods by more than
 * 1e-5 for the first eight cycles: windows that start earlier are flagged
 * HR_FLAG_STARTUP, and the frequency history restarts before them (see
 * on_crossing). */
#define SETTLE_CYCLES 8.0
#define CHUNK 256 /* frames per push chunk (see hr_meter_push) */

/* Hot vector loops get AVX-512F and AVX2 clones chosen at load time
 * (HR__CLONES_512, core.h); other machines run the baseline SSE2 code.  Each
 * clone is deterministic, so results still do not depend on block sizes.
 * The window sums come in two forms (see WINDOW_SUMS_BODY): 8 doubles a
 * register with AVX-512 (HR__TARGET_512), two halves of 4 elsewhere
 * (HR__CLONES_256); chosen at creation by HR__HAVE_AVX512F(), and with them
 * the input copy (copy16 for 6 or 7 channels with AVX-512, slot_copy
 * otherwise). */

/* ---- configuration -------------------------------------------------------- */

int hr_meter_cfg_init(hr_meter_cfg_t *cfg, double fs_hz, double f_nom_hz, double u_din_v,
                      hr_layout_t layout)
{
  if (!cfg)
    return HR_ERR_INVALID_ARG;
  memset(cfg, 0, sizeof *cfg);
  cfg->fs_hz = fs_hz;
  cfg->f_nom_hz = f_nom_hz;
  cfg->u_din_v = u_din_v;
  cfg->layout = layout;
  cfg->track_pct = 20.0;
  cfg->records = HR_RECMASK_ALL;
  cfg->dip_pct = 90.0;
  cfg->swell_pct = 110.0;
  cfg->interruption_pct = 5.0;
  cfg->hysteresis_pct = 2.0;
  cfg->rvc_pct = 3.0;
  cfg->rvc_hysteresis_pct = 1.5;
  cfg->p_step_pct = 20.0;
  cfg->p_step_window_ms = 20.0;
  cfg->i_step_pct = 20.0;
  cfg->i_step_window_ms = 50.0;
  cfg->queue_len = 4096;
  hr__swing_cfg_defaults(&cfg->swing);
  cfg->phasor_rate_fps = (int)f_nom_hz;
  cfg->phasor_class = HR_PHASOR_P;
  cfg->flicker_lamp_v = f_nom_hz == 60.0 ? 120 : 230;
  return HR_OK;
}

/* Fails with field and message apart (hr_diag_t): the message never repeats
 * the field, so a caller can put its own name for it (a CLI option) in
 * front. */
#define CHECK(cond, code, field, ...)                                                              \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      return hr__diag_fail(diag, code, 0, 0, field, __VA_ARGS__);                                  \
  } while (0)

int hr_meter_cfg_check(const hr_meter_cfg_t *cfg, hr_diag_t *diag)
{
  hr__diag_begin(diag, NULL);
  CHECK(cfg != NULL, HR_ERR_INVALID_ARG, NULL, "configuration is NULL");
  CHECK(cfg->fs_hz >= 2000.0 && cfg->fs_hz <= 50000.0, HR_ERR_RANGE, "fs_hz",
        "the sample rate must be between 2000 and 50000 Hz (got %g)", cfg->fs_hz);
  CHECK(fabs(cfg->fs_hz * 1000.0 - llround(cfg->fs_hz * 1000.0)) < 1e-6, HR_ERR_RANGE, "fs_hz",
        "the sample rate must be a multiple of 0.001 Hz (got %.9g)", cfg->fs_hz);
  CHECK(cfg->f_nom_hz == 50.0 || cfg->f_nom_hz == 60.0, HR_ERR_RANGE, "f_nom_hz",
        "the nominal frequency must be 50 or 60 Hz (got %g)", cfg->f_nom_hz);
  CHECK(cfg->u_din_v > 0.0 && isfinite(cfg->u_din_v), HR_ERR_RANGE, "u_din_v",
        "the declared voltage must be > 0 (got %g)", cfg->u_din_v);
  CHECK(hr_layout_n_u(cfg->layout) > 0, HR_ERR_INVALID_ARG, "layout", "%d is not a known layout",
        (int)cfg->layout);
  CHECK(!cfg->has_in || cfg->layout == HR_LAYOUT_3P4W, HR_ERR_INVALID_ARG, "has_in",
        "a neutral current only exists in the 3p4w layout");
  CHECK(cfg->ref_channel >= 0 && cfg->ref_channel < hr_layout_n_u(cfg->layout), HR_ERR_RANGE,
        "ref_channel", "must name one of the %d voltage channels (got %d)",
        hr_layout_n_u(cfg->layout), cfg->ref_channel);
  CHECK(cfg->track_pct >= 1.0 && cfg->track_pct <= 40.0, HR_ERR_RANGE, "track_pct",
        "must be between 1 and 40 (got %g)", cfg->track_pct);
  CHECK(cfg->u_clip_v >= 0.0, HR_ERR_RANGE, "u_clip_v",
        "must be >= 0 (0 disables clip detection; got %g)", cfg->u_clip_v);
  CHECK(cfg->i_clip_a >= 0.0, HR_ERR_RANGE, "i_clip_a",
        "must be >= 0 (0 disables clip detection; got %g)", cfg->i_clip_a);
  CHECK(cfg->dip_pct < 100.0, HR_ERR_RANGE, "dip_pct", "must be below 100 (got %g)", cfg->dip_pct);
  CHECK(cfg->interruption_pct > 0.0 && cfg->interruption_pct < cfg->dip_pct, HR_ERR_RANGE,
        "interruption_pct", "must be > 0 and below dip_pct = %g (got %g)", cfg->dip_pct,
        cfg->interruption_pct);
  CHECK(cfg->swell_pct > 100.0, HR_ERR_RANGE, "swell_pct", "must be above 100 (got %g)",
        cfg->swell_pct);
  CHECK(cfg->hysteresis_pct >= 0.0 && cfg->hysteresis_pct < 100.0 - cfg->dip_pct &&
            cfg->hysteresis_pct < cfg->swell_pct - 100.0,
        HR_ERR_RANGE, "hysteresis_pct",
        "must be >= 0 and smaller than the dip and swell bands (got %g)", cfg->hysteresis_pct);
  CHECK(cfg->rvc_pct >= 0.0 && cfg->rvc_pct < 100.0 - cfg->dip_pct, HR_ERR_RANGE, "rvc_pct",
        "need 0 <= rvc_pct < 100 - dip_pct = %g (got %g)", 100.0 - cfg->dip_pct, cfg->rvc_pct);
  CHECK(cfg->rvc_pct == 0.0 ||
            (cfg->rvc_hysteresis_pct >= 0.0 && cfg->rvc_hysteresis_pct < cfg->rvc_pct),
        HR_ERR_RANGE, "rvc_hysteresis_pct", "need 0 <= rvc_hysteresis_pct < rvc_pct = %g (got %g)",
        cfg->rvc_pct, cfg->rvc_hysteresis_pct);
  /* Steps are off with a base <= 0; then their other settings do not matter. */
  CHECK(cfg->p_step_base_w <= 0.0 || cfg->p_step_pct > 0.0, HR_ERR_RANGE, "p_step_pct",
        "must be > 0 (got %g)", cfg->p_step_pct);
  CHECK(cfg->p_step_base_w <= 0.0 ||
            (cfg->p_step_window_ms >= 1.0 && cfg->p_step_window_ms <= 1000.0),
        HR_ERR_RANGE, "p_step_window_ms", "must be between 1 and 1000 ms (got %g)",
        cfg->p_step_window_ms);
  CHECK(cfg->i_step_base_a <= 0.0 || cfg->i_step_pct > 0.0, HR_ERR_RANGE, "i_step_pct",
        "must be > 0 (got %g)", cfg->i_step_pct);
  CHECK(cfg->i_step_base_a <= 0.0 ||
            (cfg->i_step_window_ms >= 10.0 && cfg->i_step_window_ms <= 5000.0),
        HR_ERR_RANGE, "i_step_window_ms", "must be between 10 and 5000 ms (got %g)",
        cfg->i_step_window_ms);
  CHECK(cfg->n_alarms >= 0 && cfg->n_alarms <= HR_MAX_ALARMS, HR_ERR_RANGE, "n_alarms",
        "at most %d alarms (got %d)", HR_MAX_ALARMS, cfg->n_alarms);
  for (int k = 0; k < cfg->n_alarms; k++) {
    const hr_alarm_cfg_t *a = &cfg->alarms[k];
    char field[32];
    snprintf(field, sizeof field, "alarms[%d].metric", k);
    CHECK(a->metric >= HR_METRIC_P_TOTAL_W && a->metric <= HR_METRIC_FREQ_HZ, HR_ERR_INVALID_ARG,
          field, "%d is not a known metric", (int)a->metric);
    snprintf(field, sizeof field, "alarms[%d].threshold", k);
    CHECK(isfinite(a->threshold), HR_ERR_RANGE, field, "must be finite (got %g)", a->threshold);
    snprintf(field, sizeof field, "alarms[%d].hysteresis", k);
    CHECK(a->hysteresis >= 0.0 && isfinite(a->hysteresis), HR_ERR_RANGE, field,
          "must be finite and >= 0 (got %g)", a->hysteresis);
  }
  CHECK(cfg->t0_ns >= INT64_MIN + HR_T_MARGIN_NS && cfg->t0_ns <= INT64_MAX - HR_T_MARGIN_NS,
        HR_ERR_RANGE, "t0_ns",
        "timestamps must stay %lld ns inside the int64 range "
        "(|t0_ns| <= 9223372016854775807; got %lld)",
        (long long)HR_T_MARGIN_NS, (long long)cfg->t0_ns);
  CHECK(cfg->queue_len >= 256 && cfg->queue_len <= (1u << 20), HR_ERR_RANGE, "queue_len",
        "must be between 256 and 1048576 (got %zu)", cfg->queue_len);
  CHECK(cfg->harm_i_demand_a >= 0.0 && isfinite(cfg->harm_i_demand_a), HR_ERR_RANGE,
        "harm_i_demand_a", "must be a finite current >= 0 A (got %g)", cfg->harm_i_demand_a);
  if (cfg->records & HR_RECMASK(HR_REC_SWING)) {
    int src = hr__swing_cfg_check(cfg, diag);
    if (src != HR_OK)
      return src;
  }
  CHECK(cfg->flicker_lamp_v == 230 || cfg->flicker_lamp_v == 120, HR_ERR_RANGE, "flicker_lamp_v",
        "the flicker lamp model must be 230 or 120 V (got %d)", cfg->flicker_lamp_v);
  if (cfg->records & HR_RECMASK(HR_REC_PHASOR))
    return hr__pmu_cfg_check(cfg, diag);
  return HR_OK;
}

/* floor, ceil and max(x, 0) inline: without SSE4.1 libm's floor and ceil
 * are calls, and fmax is a call everywhere; these run per boundary and per
 * millisecond.  Arguments are finite and below 2^63 in magnitude here
 * (sample positions), and a NaN into nonneg gives 0, as fmax would. */
static inline double floor_fast(double x)
{
  double t = (double)(int64_t)x;
  return t > x ? t - 1.0 : t;
}

static inline double ceil_fast(double x)
{
  double t = (double)(int64_t)x;
  return t < x ? t + 1.0 : t;
}

static inline double nonneg(double x)
{
  return x > 0.0 ? x : 0.0;
}

/* ---- time ---------------------------------------------------------------- */

int64_t hr__meter_t_ns(const hr_meter_t *m, double pos)
{
  /* The whole-sample part is exact: k samples are k*1000/fs_mhz seconds,
   * split into whole seconds and a remainder so no product overflows for
   * k < 9e15 samples (5,800 years at 50 kHz).  The fraction adds below one
   * sample. */
  double whole = floor_fast(pos);
  int64_t k = (int64_t)whole;
  int64_t ks = k * 1000, sec = ks / m->fs_mhz, rem = ks % m->fs_mhz;
  if (rem < 0) {
    rem += m->fs_mhz;
    sec -= 1;
  }
  int64_t t = sec * 1000000000LL + rem * 1000000000LL / m->fs_mhz;
  return m->cfg.t0_ns + t + llround((pos - whole) * 1e9 / m->fs);
}

/* ---- output -------------------------------------------------------------- */

void hr__meter_rec_init(const hr_meter_t *m, hr_record_t *rec, hr_rec_kind_t kind)
{
  /* Clear the header and the union member this kind uses (a cycle record is
   * ten times the size of a 1-ms one, and 1-ms records come 1000 a second). */
  size_t body = kind == HR_REC_CYCLE      ? sizeof rec->u.cycle
                : kind == HR_REC_INTERVAL ? sizeof rec->u.interval
                : kind == HR_REC_HALF     ? sizeof rec->u.half
                : kind == HR_REC_EVENT    ? sizeof rec->u.event
                : kind == HR_REC_FREQ10S  ? sizeof rec->u.freq
                : kind == HR_REC_HARM     ? sizeof rec->u.harm
                : kind == HR_REC_AGG150   ? sizeof rec->u.agg
                : kind == HR_REC_AGG10MIN ? sizeof rec->u.agg
                : kind == HR_REC_SWING    ? sizeof rec->u.swing
                : kind == HR_REC_PHASOR   ? sizeof rec->u.phasor
                : kind == HR_REC_FLICKER  ? sizeof rec->u.flicker
                                          : sizeof rec->u.ms;
  /* In 64-byte pieces: gcc makes a constant-size memset of more than
   * 64 bytes (a cycle record, inlined below) a `rep stos`, slow to start on
   * Zen 5; pieces of 64 become four vector stores each. */
  unsigned char *b = (unsigned char *)rec;
  const size_t n = offsetof(hr_record_t, u) + body;
  size_t o = 0;
  for (; o + 64 <= n; o += 64)
    memset(b + o, 0, 64);
  memset(b + o, 0, n - o);
  rec->kind = kind;
  rec->n_u = m->nu;
  rec->n_i = m->ni;
}

void hr__meter_emit(hr_meter_t *m, hr_record_t *rec)
{
  if (!(m->cfg.records & HR_RECMASK(rec->kind)))
    return;
  m->st.records++;
  if (m->cb) {
    m->cb(rec, m->cb_user);
    return;
  }
  /* push stops before a frame when fewer than RESERVE slots are free, and one
   * frame emits far fewer records than that, so this never overflows. */
  size_t slot = (m->qhead + m->qcount) % m->qcap;
  m->queue[slot] = *rec;
  m->qcount++;
}

/* ---- create / destroy ---------------------------------------------------- */

/* Records one frame can produce at most: two boundaries due together (each a
 * half, a cycle, an interval, an agg150 and an agg10min, and up to
 * 3 + 1 + 2 + 8 events), two 1-ms ticks (each a record and up to 2 + 8
 * events, and with swing records up to HR_SWING_MAX_WINDOWS records and
 * 4 + 8 limit events), a 10-s frequency; rounded up. */
#define QUEUE_RESERVE 130 /* + 2: a Pst and a Plt record (flicker.c) */

static size_t align_up(size_t n)
{
  return (n + 63u) & ~(size_t)63u;
}

/* The AVX-512 copy and 3P4W power products go with the 8-double sums (one
 * switch for the AVX-512 forms, so window_sum_forms_agree compares both ways
 * end to end); the copy takes 6 or 7 channels a frame as they come (no
 * derived neutral). */
static void set_copy16(hr_meter_t *m)
{
  m->copy16 = m->wide_sums && (m->nch_in == 7 || (m->nch_in == 6 && !m->derive_in));
  m->power16 = m->wide_sums && m->cfg.layout == HR_LAYOUT_3P4W;
}

int hr__meter_set_wide_sums(hr_meter_t *m, int on)
{
  if (!m)
    return HR_ERR_INVALID_ARG;
  if (on && !HR__HAVE_AVX512F())
    return HR_ERR_UNSUPPORTED;
  m->wide_sums = on != 0;
  set_copy16(m);
  return HR_OK;
}

int hr_meter_create(const hr_meter_cfg_t *cfg, hr_meter_t **out)
{
  if (!out)
    return HR_ERR_INVALID_ARG;
  *out = NULL;
  int rc = hr_meter_cfg_check(cfg, NULL);
  if (rc != HR_OK)
    return rc;

  int nu = hr_layout_n_u(cfg->layout), ni_in = hr_layout_n_i(cfg->layout, cfg->has_in);
  int derive_in = cfg->layout == HR_LAYOUT_3P4W && !cfg->has_in;
  int nch = nu + ni_in + derive_in;
  double f_min = cfg->f_nom_hz * (1.0 - cfg->track_pct / 100.0);

  /* The ring must hold the longest window that is read back: a sliding cycle
   * at the lowest tracked frequency plus the filter delay and a free-running
   * half cycle, with room to spare. */
  double need = 2.5 * cfg->fs_hz / f_min + 64.0 + CHUNK;
  uint32_t ring_len = 256;
  /* Harmonics: the whole 10/12-cycle window is read back. */
  if (cfg->records & HR_RECMASK(HR_REC_HARM))
    need = fmax(need, hr__harm_ring_need(cfg));
  if (cfg->records & HR_RECMASK(HR_REC_PHASOR))
    need = fmax(need, hr__pmu_ring_need(cfg) + CHUNK);
  while (ring_len < need)
    ring_len <<= 1;
  int rvc_n = cfg->f_nom_hz == 50.0 ? 100 : 120;

  size_t sz_meter = align_up(sizeof(hr_meter_t));
  size_t sz_fr = align_up(sizeof(float) * HR__SLOT * ring_len);
  size_t sz_fring = align_up(sizeof(uint16_t) * ring_len);
  size_t sz_pcum = align_up(sizeof(double) * ring_len);
  size_t sz_queue = align_up(sizeof(hr_record_t) * cfg->queue_len);
  size_t sz_ev = align_up(sizeof(double) * hr__events_arena_doubles(cfg, rvc_n));
  size_t total = sz_meter + sz_fr + sz_fring + sz_pcum + sz_queue + sz_ev;

  unsigned char *mem = aligned_alloc(64, total);
  if (!mem)
    return HR_ERR_NOMEM;
  memset(mem, 0, total);
  hr_meter_t *m = (hr_meter_t *)mem;
  size_t off = sz_meter;
  m->fr = (float *)(mem + off);
  off += sz_fr;
  m->fring = (uint16_t *)(mem + off);
  off += sz_fring;
  m->pcum = (double *)(mem + off);
  off += sz_pcum;
  m->queue = (hr_record_t *)(mem + off);
  off += sz_queue;
  double *ev_arena = (double *)(mem + off);
  m->arena = mem;

  m->cfg = *cfg;
  m->nu = nu;
  m->ni = ni_in + derive_in;
  m->nch_in = nu + ni_in;
  m->nch = nch;
  m->derive_in = derive_in;
  m->n_phase = cfg->layout == HR_LAYOUT_1P2W ? 1 : 3;
  m->fs = cfg->fs_hz;
  m->fs_mhz = llround(cfg->fs_hz * 1000.0);
  /* The longest stream whose timestamps (and the 10-s tick after its last
   * sample, and t_ns + dur_ns of its windows) stay inside int64: up to
   * INT64_MAX - HR_T_MARGIN_NS, and at most 2^62 ns (146 years) of samples
   * so that sample counts times 1000 and seconds times 1e9 do not overflow
   * either.  Counted in unsigned arithmetic: t0_ns may be negative. */
  uint64_t span_ns = (uint64_t)(INT64_MAX - HR_T_MARGIN_NS) - (uint64_t)cfg->t0_ns;
  if (span_ns > (UINT64_C(1) << 62))
    span_ns = UINT64_C(1) << 62;
  m->n_max = (int64_t)floor((double)span_ns * 1e-9 * cfg->fs_hz) - 1;
  m->cycles_per_interval = cfg->f_nom_hz == 50.0 ? 10 : 12;
  m->rvc_n = rvc_n;
  m->ring_len = ring_len;
  m->mask = ring_len - 1;
  m->wide_sums = HR__HAVE_AVX512F();
  set_copy16(m);
  m->qcap = cfg->queue_len;
  m->f_min = f_min;
  m->f_max = cfg->f_nom_hz * (1.0 + cfg->track_pct / 100.0);
  m->min_half = 0.8 * cfg->fs_hz / (2.0 * m->f_max);
  for (int c = 0; c < nch; c++) {
    m->clip[c] = (float)(c < nu ? cfg->u_clip_v : cfg->i_clip_a);
    m->corrupt[c] = (float)(c < nu ? HR_U_CORRUPT_PU * M_SQRT2 * cfg->u_din_v : HR_I_CORRUPT_A);
  }
  if (derive_in)
    m->clip[nch - 1] = 0.0f;

  /* Active power per phase.  3P3W: phase voltages against the artificial
   * star point, u_a = (u_ab - u_ca)/3 etc., which with i_a + i_b + i_c = 0
   * sums to the two-wattmeter total (IEEE 1459-2010 §3.2.2). */
  if (cfg->layout == HR_LAYOUT_3P3W) {
    static const hr__power_term_t t3w[6] = {{0, 0, 3, 1.0 / 3}, {0, 2, 3, -1.0 / 3},
                                            {1, 1, 4, 1.0 / 3}, {1, 0, 4, -1.0 / 3},
                                            {2, 2, 5, 1.0 / 3}, {2, 1, 5, -1.0 / 3}};
    memcpy(m->pterm, t3w, sizeof t3w);
    m->n_pterm = 6;
  } else {
    for (int p = 0; p < m->n_phase; p++)
      m->pterm[p] = (hr__power_term_t){p, p, nu + p, 1.0};
    m->n_pterm = m->n_phase;
  }

  m->ms_events = cfg->p_step_base_w > 0.0;
  for (int k = 0; k < cfg->n_alarms; k++)
    m->ms_events |= cfg->alarms[k].metric == HR_METRIC_P_TOTAL_W ||
                    cfg->alarms[k].metric == HR_METRIC_DPDT_W_PER_S ||
                    cfg->alarms[k].metric == HR_METRIC_I_PEAK_A;
  m->need_pcum = (cfg->records & HR_RECMASK(HR_REC_MS)) || m->ms_events ||
                 (cfg->records & HR_RECMASK(HR_REC_SWING));
  hr__zc_filter_init(&m->zc, m->fs, cfg->f_nom_hz);
  hr__zc_filter_tabulate(&m->zc, m->f_min, m->f_max);
  /* Crossings count only after the filtered reference has swung past 3 % of
   * the declared peak, so noise near zero cannot make extra crossings. */
  m->zc_hyst = 0.03 * M_SQRT2 * cfg->u_din_v * hr__zc_filter_gain(&m->zc, cfg->f_nom_hz);
  hr__events_init(m, ev_arena);
  if (cfg->records & HR_RECMASK(HR_REC_HARM)) {
    rc = hr__harm_create(m, &m->harm);
    if (rc != HR_OK) {
      free(mem);
      return rc;
    }
  }
  rc = hr__agg_create(m, &m->agg);
  if (rc != HR_OK) {
    hr__harm_destroy(m->harm);
    free(mem);
    return rc;
  }
  if (cfg->records & HR_RECMASK(HR_REC_SWING)) {
    rc = hr__swing_stage_create(cfg, &m->swing_stage);
    if (rc != HR_OK) {
      hr__agg_destroy(m->agg);
      hr__harm_destroy(m->harm);
      free(mem);
      return rc;
    }
  }
  if (cfg->records & HR_RECMASK(HR_REC_PHASOR)) {
    rc = hr__pmu_create(m, &m->pmu);
    if (rc != HR_OK) {
      hr__swing_stage_destroy(m->swing_stage);
      hr__agg_destroy(m->agg);
      hr__harm_destroy(m->harm);
      free(mem);
      return rc;
    }
  }
  if (cfg->records & HR_RECMASK(HR_REC_FLICKER)) {
    rc = hr__flicker_create(m, &m->flicker);
    if (rc != HR_OK) {
      hr__pmu_destroy(m->pmu);
      hr__swing_stage_destroy(m->swing_stage);
      hr__agg_destroy(m->agg);
      hr__harm_destroy(m->harm);
      free(mem);
      return rc;
    }
  }
  hr_meter_reset(m);
  *out = m;
  return HR_OK;
}

void hr_meter_destroy(hr_meter_t *m)
{
  if (m) {
    hr__harm_destroy(m->harm);
    hr__agg_destroy(m->agg);
    hr__swing_stage_destroy(m->swing_stage);
    hr__pmu_destroy(m->pmu);
    hr_flicker_destroy(m->flicker);
  }
  free(m ? m->arena : NULL);
}

static void update_next_due(hr_meter_t *m);
static void set_delay_f(hr_meter_t *m);

void hr_meter_reset(hr_meter_t *m)
{
  if (!m)
    return;
  hr__zc_filter_reset(&m->zc);
  memset(m->fring, 0, sizeof(uint16_t) * m->ring_len);
  m->flag_last = -1;
  m->zc_sub = 0.0f;
  m->zc_sub_n = -2;
  m->pcum_acc = 0.0;
  m->n = 0;
  m->y_prev = 0.0;
  m->zc_j = 0;
  m->zc_bsum = 0.0;
  m->zc_bcnt = 0;
  m->arm_rise = m->arm_fall = 0;
  m->have_real = m->have_raw_rise = 0;
  m->have_pol[0] = m->have_pol[1] = m->have_per[0] = m->have_per[1] = 0;
  m->zc_hold = 0;
  m->f_blocked = 0;
  m->f_settled = 0;
  m->f_hist_n = m->f_hist_head = m->f_rej_n = 0;
  m->locked = 0;
  m->lock_misses = 0;
  m->f_est = m->cfg.f_nom_hz;
  set_delay_f(m);
  m->delay = hr__zc_filter_delay_samples(&m->zc, m->f_est);
  m->out_of_range = 0;
  m->settle_pos = SETTLE_CYCLES * m->fs / m->cfg.f_nom_hz;
  m->pend_head = m->pend_count = 0;
  /* The stream start acts as the first (synthetic) boundary. */
  m->last_sched_pos = m->prev_sched_pos = 0.0;
  m->last_sched_rising = 0;
  m->prev_bpos = 0.0;
  m->prev_rising = 0;
  m->prev_real = 0;
  m->have_h_prev = 0;
  memset(&m->cyc, 0, sizeof m->cyc);
  memset(&m->itv, 0, sizeof m->itv);
  memset(&m->itv2, 0, sizeof m->itv2);
  m->itv_tick_ns = INT64_MAX;
  hr__harm_reset(m->harm);
  hr__agg_reset(m->agg);
  hr__swing_stage_reset(m->swing_stage);
  hr__pmu_reset(m, m->pmu);
  hr_flicker_reset(m->flicker);
  m->ms_e_int = 0;
  m->ms_e_rem = 0;
  m->ms_index = 1;
  m->ms_prev_pos = 0.0;
  m->ms_cycle_f = 0.0;
  m->have_p_prev = 0;
  m->f10_end_ns = INT64_MIN;
  m->f10_count = 0;
  m->f10_have = 0;
  m->f10_flags = 0;
  m->qhead = m->qcount = 0;
  memset(&m->st, 0, sizeof m->st);
  m->st.first_bad_frame = m->st.first_clipped_frame = -1;
  m->st.first_bad_channel = -1;
  hr__events_reset(m);
  /* First millisecond tick. */
  m->ms_e_rem = m->fs_mhz;
  m->ms_e_int = m->ms_e_rem / 1000000;
  m->ms_e_rem %= 1000000;
  m->freerun_due_pos = 0.0;
  update_next_due(m);
}

void hr_meter_set_callback(hr_meter_t *m, hr_record_cb cb, void *user)
{
  m->cb = cb;
  m->cb_user = user;
}

int hr_meter_frame_len(const hr_meter_t *m)
{
  return m->nch_in;
}

void hr_meter_get_stats(const hr_meter_t *m, hr_meter_stats_t *out)
{
  *out = m->st;
}

int hr_meter_finish(hr_meter_t *m)
{
  if (!m->cb && m->qcap - m->qcount < 34)
    return HR_ERR_FULL;
  hr__events_finish(m, m->prev_bpos);
  hr__swing_stage_finish(m);
  if (m->flicker)
    hr__flicker_finish(m);
  return HR_OK;
}

int hr_meter_pull(hr_meter_t *m, hr_record_t *out)
{
  if (!m->qcount)
    return 0;
  *out = m->queue[m->qhead];
  m->qhead = (m->qhead + 1) % m->qcap;
  m->qcount--;
  return 1;
}

/* ---- frame slots and window sums ------------------------------------------ */

/* Every frame is kept in the ring as one slot of HR__SLOT floats: channel c
 * in lane c, zeros in the lanes past the last channel.  A window's squares,
 * products and peaks over every channel are then a few vector operations per
 * frame, and a frame is copied in with one load and one store.  GCC (12+) and
 * Clang both implement these vector extensions. */
/* The vector helpers below are static and always inlined, even at -O0: no
 * ABI is crossed (called out of line from an AVX-512 or AVX2 clone, a
 * baseline helper would pass its 32-byte vectors in another way than the
 * caller expects: at -O0 every meter test crashed).  GCC and Clang both
 * know this pragma and this warning. */
#pragma GCC diagnostic ignored "-Wpsabi"
typedef float v8f __attribute__((vector_size(HR__SLOT * sizeof(float))));
typedef double v8d __attribute__((vector_size(HR__SLOT * sizeof(double))));
typedef int32_t v8i __attribute__((vector_size(HR__SLOT * sizeof(int32_t))));

static inline __attribute__((always_inline)) v8f slot_load(const float *p)
{
  v8f v;
  memcpy(&v, p, sizeof v);
  return v;
}

/* |x| as its bit pattern: for non-negative floats the integer order is the
 * numeric order, +Inf is above every finite value and NaN above +Inf, so an
 * integer maximum of these finds both the peak and any non-finite sample. */
static inline __attribute__((always_inline)) v8i slot_absbits(v8f v)
{
  return (v8i)v & 0x7fffffff;
}

static inline __attribute__((always_inline)) v8i vmax_i(v8i a, v8i b)
{
  v8i gt = a > b;
  return (a & gt) | (b & ~gt);
}

static inline float bits_to_float(int32_t b)
{
  float f;
  memcpy(&f, &b, sizeof f);
  return f;
}

/* Index of the sample whose interval [k - 1/2, k + 1/2) holds pos. */
static inline int64_t sample_at(double pos)
{
  return (int64_t)floor_fast(pos + 0.5);
}

/* A window [a, b) over the ring: its two end samples with their partial
 * weights and the interior samples as at most two contiguous runs. */
typedef struct seg {
  uint32_t ia, ib; /* ring slots of the first and last sample */
  double wa, wb;   /* their weights; single: only ia, weight wa */
  int single;
  int pa, pb;        /* end sample's centre lies in the window (peaks, flags) */
  uint32_t run_i[2]; /* interior runs: start slot and length */
  uint32_t run_n[2];
  int nrun;
  int64_t s0; /* frame index of the first sample */
} seg_t;

static void seg_init(const hr_meter_t *m, double a, double b, seg_t *g)
{
  int64_t s0 = sample_at(a), s1 = sample_at(b);
  g->s0 = s0;
  g->ia = (uint32_t)s0 & m->mask;
  g->ib = (uint32_t)s1 & m->mask;
  g->single = s0 == s1;
  g->nrun = 0;
  if (g->single) {
    g->wa = b - a;
    g->wb = 0.0;
    g->pa = (double)s0 >= a && (double)s0 < b;
    g->pb = 0;
    return;
  }
  g->wa = (double)s0 + 0.5 - a;
  g->wb = b - ((double)s1 - 0.5);
  g->pa = g->wa >= 0.5;
  g->pb = g->wb > 0.5;
  int64_t k = s0 + 1, left = s1 - 1 - k + 1;
  while (left > 0) {
    uint32_t i = (uint32_t)k & m->mask;
    int64_t run = (int64_t)m->ring_len - i;
    if (run > left)
      run = left;
    g->run_i[g->nrun] = i;
    g->run_n[g->nrun] = (uint32_t)run;
    g->nrun++;
    k += run;
    left -= run;
  }
}

/* Sums over a window, per lane: squares (sq), the layout's products (pr, see
 * PROD_* below) and the largest |x| of the samples whose centre lies in the
 * window (pk, as bits).  Two accumulators per sum hide the add latency; the
 * order of additions depends only on the window, which comes from the
 * signal, so results do not depend on where input blocks started. */
typedef struct slot_sums {
  v8d sq, pr;
  v8i pk;
} slot_sums_t;

/* Products per layout, lane by lane: lane l is x_l times x_B(l), the slot
 * times one permute of itself (one shuffle a frame; a product of two
 * widened floats is exact, so x_l x_k and x_k x_l are the same bits).
 * 3P4W: ua*ub, ub*uc, uc*ua (for IEEE 1459 Ve), then ia*ua, ib*ub, ic*uc.
 * 3P3W: u_ab*ib, u_bc*ic, u_ca*ia, ia*u_ab, ib*u_bc, ic*u_ca (star-point
 *       phase powers, combined in sums_to_half).
 * 1P2W: u*i.  Lane 7 is always zero, so unused product lanes stay zero. */
#define PROD_ID(d) (d)
#define PROD_3P4W_B(d) __builtin_shufflevector(d, d, 1, 2, 0, 0, 1, 2, 7, 7)
#define PROD_3P3W_B(d) __builtin_shufflevector(d, d, 4, 5, 3, 0, 1, 2, 7, 7)
#define PROD_1P_B(d) __builtin_shufflevector(d, d, 1, 7, 7, 7, 7, 7, 7, 7)

/* The sums come in two forms with one body (WINDOW_SUMS_BODY).  Wide: 8
 * doubles a vector, one register each with AVX-512.  Half: two halves of 4
 * doubles, for AVX2 and the baseline, where a generic 8-double vector has
 * no register and gcc keeps the accumulators in memory, moving them
 * through general registers; its products' operands are picked in float,
 * then widened (an 8-float shuffle is one AVX2 instruction, vpermps; an
 * 8-double one crosses two registers).  Widening is exact and every lane
 * adds in the same order, so the two forms give the same sums, bit for
 * bit (tests/pq/test_meter.c, window_sum_forms_agree). */
typedef double v4d __attribute__((vector_size(4 * sizeof(double))));
typedef struct v8d_half {
  v4d l, h;
} v8d_half_t;
#define LO4(x) __builtin_convertvector(__builtin_shufflevector(x, x, 0, 1, 2, 3), v4d)
#define HI4(x) __builtin_convertvector(__builtin_shufflevector(x, x, 4, 5, 6, 7), v4d)

/* The wide form's widening and peak maximum as single instructions
 * (vcvtps2pd ymm -> zmm, vpmaxsd): gcc 12 splits a generic 8-float to
 * 8-double conversion into two halves joined by shuffles (vextractf128,
 * vinsertf64x4) and makes the generic maximum a compare and a blend, and on
 * Intel cores every one of those shuffles queues on the single 512-bit
 * shuffle port with the products' permutes.  The same exact widening and
 * the same maximum: the bits do not change. */
#ifdef HAVE_X86_BUILTINS
#define WIDEN8(a) ((v8d)__builtin_ia32_cvtps2pd512_mask((a), (v8d){0}, (unsigned char)0xff, 4))
#define VMAX_WIDE(a, b) ((v8i)__builtin_ia32_pmaxsd256((a), (b)))
#else
#define WIDEN8(a) __builtin_convertvector(a, v8d)
#define VMAX_WIDE(a, b) vmax_i(a, b)
#endif
#define VMAX_HALF(a, b) vmax_i(a, b)

/* Per form: s += w * (a * a) and p += w * (PA(a) * PB(a)) for a frame slot
 * a; W_ is the weight, or nothing for 1 (so the plain sums stay plain). */
#define WIDE_ADD(s, p, a, W_, PA, PB)                                                              \
  do {                                                                                             \
    v8d d_ = WIDEN8(a);                                                                            \
    s += W_(d_ * d_);                                                                              \
    p += W_(PA(d_) * PB(d_));                                                                      \
  } while (0)
#define HALF_ADD(s, p, a, W_, PA, PB)                                                              \
  do {                                                                                             \
    v4d l_ = LO4(a), h_ = HI4(a);                                                                  \
    v8f pa_ = PA(a), pb_ = PB(a);                                                                  \
    s.l += W_(l_ * l_);                                                                            \
    s.h += W_(h_ * h_);                                                                            \
    p.l += W_(LO4(pa_) * LO4(pb_));                                                                \
    p.h += W_(HI4(pa_) * HI4(pb_));                                                                \
  } while (0)
#define WIDE_SUM(x, y) ((x) + (y))
#define HALF_SUM(x, y) __builtin_shufflevector((x).l + (y).l, (x).h + (y).h, 0, 1, 2, 3, 4, 5, 6, 7)
#define W_ONE(e) (e)
#define W_A(e) (g->wa * (e))
#define W_B(e) (g->wb * (e))

#define WINDOW_SUMS_BODY(name, ATTR, T, ADD, SUM, MAX, PA, PB)                                     \
  ATTR static void name(const float *fr, const seg_t *g, slot_sums_t *out)                         \
  {                                                                                                \
    T s0, s1, p0, p1;                                                                              \
    memset(&s0, 0, sizeof s0);                                                                     \
    s1 = p0 = p1 = s0;                                                                             \
    v8i k0 = {0}, k1 = {0};                                                                        \
    for (int r = 0; r < g->nrun; r++) {                                                            \
      const float *f = fr + (size_t)g->run_i[r] * HR__SLOT;                                        \
      const uint32_t n = g->run_n[r];                                                              \
      uint32_t j = 0;                                                                              \
      for (; j + 2 <= n; j += 2) {                                                                 \
        v8f a = slot_load(f + (size_t)j * HR__SLOT),                                               \
            b = slot_load(f + (size_t)(j + 1) * HR__SLOT);                                         \
        ADD(s0, p0, a, W_ONE, PA, PB);                                                             \
        ADD(s1, p1, b, W_ONE, PA, PB);                                                             \
        k0 = MAX(k0, slot_absbits(a));                                                             \
        k1 = MAX(k1, slot_absbits(b));                                                             \
      }                                                                                            \
      if (j < n) {                                                                                 \
        v8f a = slot_load(f + (size_t)j * HR__SLOT);                                               \
        ADD(s0, p0, a, W_ONE, PA, PB);                                                             \
        k0 = MAX(k0, slot_absbits(a));                                                             \
      }                                                                                            \
    }                                                                                              \
    v8f a = slot_load(fr + (size_t)g->ia * HR__SLOT);                                              \
    ADD(s0, p0, a, W_A, PA, PB);                                                                   \
    if (g->pa)                                                                                     \
      k0 = MAX(k0, slot_absbits(a));                                                               \
    if (!g->single) {                                                                              \
      v8f b = slot_load(fr + (size_t)g->ib * HR__SLOT);                                            \
      ADD(s1, p1, b, W_B, PA, PB);                                                                 \
      if (g->pb)                                                                                   \
        k1 = MAX(k1, slot_absbits(b));                                                             \
    }                                                                                              \
    out->sq = SUM(s0, s1);                                                                         \
    out->pr = SUM(p0, p1);                                                                         \
    out->pk = MAX(k0, k1);                                                                         \
  }

#define DEFINE_WINDOW_SUMS(name, PA, PB)                                                           \
  WINDOW_SUMS_BODY(name##_half, HR__CLONES_256, v8d_half_t, HALF_ADD, HALF_SUM, VMAX_HALF, PA, PB) \
  WINDOW_SUMS_BODY(name##_wide, HR__TARGET_512, v8d, WIDE_ADD, WIDE_SUM, VMAX_WIDE, PA, PB)

DEFINE_WINDOW_SUMS(window_sums_3p4w, PROD_ID, PROD_3P4W_B)
DEFINE_WINDOW_SUMS(window_sums_3p3w, PROD_ID, PROD_3P3W_B)
DEFINE_WINDOW_SUMS(window_sums_1p, PROD_ID, PROD_1P_B)

static uint32_t seg_flags(const seg_t *g, const uint16_t *f)
{
  uint32_t o = (g->pa ? f[g->ia] : 0u) | (g->pb ? f[g->ib] : 0u);
  for (int r = 0; r < g->nrun; r++) {
    const uint16_t *fp = f + g->run_i[r];
    const uint32_t n = g->run_n[r];
    unsigned acc = 0;
#pragma omp simd reduction(| : acc)
    for (uint32_t j = 0; j < n; j++)
      acc |= fp[j];
    o |= acc;
  }
  return o;
}

/* Samples whose centre lies in [a, b) (for the 1-ms peaks and flags). */
static void centre_range(double a, double b, int64_t *k0, int64_t *k1)
{
  *k0 = (int64_t)ceil_fast(a);
  *k1 = (int64_t)ceil_fast(b) - 1;
}

/* Largest |i| over the phase currents of frames k0..k1. */
HR__CLONES_512 static float phase_current_peak(const hr_meter_t *m, int64_t k0, int64_t k1)
{
  v8i mx = {0};
  for (int64_t k = k0; k <= k1; k++)
    mx = vmax_i(mx, slot_absbits(slot_load(m->fr + (size_t)((uint32_t)k & m->mask) * HR__SLOT)));
  int32_t b = 0;
  for (int c = m->nu; c < m->nu + m->n_phase; c++)
    b = mx[c] > b ? mx[c] : b;
  return bits_to_float(b);
}

static uint32_t flags_range(const hr_meter_t *m, int64_t k0, int64_t k1)
{
  uint32_t f = 0;
  for (int64_t k = k0; k <= k1; k++)
    f |= m->fring[(uint32_t)k & m->mask];
  return f;
}

/* Squares, peaks and products of a window given as a segment; every field
 * of h but the positions and flags. */
static inline void sums_to_half(const hr_meter_t *m, const slot_sums_t *sp, hr__half_t *h)
{
  const slot_sums_t s = *sp;
  /* Lanes past the last channel hold zeros in every slot. */
  for (int c = 0; c < HR_MAX_CH; c++) {
    h->sq[c] = s.sq[c];
    h->peak[c] = bits_to_float(s.pk[c]);
  }
  if (m->cfg.layout == HR_LAYOUT_3P4W) {
    for (int p = 0; p < 3; p++) {
      h->p[p] = s.pr[3 + p];
      h->uu[p] = s.pr[p];
    }
  } else if (m->cfg.layout == HR_LAYOUT_3P3W) {
    /* Phase voltages against the artificial star point, u_a = (u_ab - u_ca)/3
     * etc., which with i_a + i_b + i_c = 0 sums to the two-wattmeter total
     * (IEEE 1459-2010 §3.2.2). */
    /* Lanes 3-5 are u_ab*ia, u_bc*ib, u_ca*ic; lanes 2, 0, 1 u_ca*ia, u_ab*ib, u_bc*ic. */
    static const int plus[3] = {3, 4, 5}, minus[3] = {2, 0, 1};
    for (int p = 0; p < 3; p++) {
      h->p[p] = (s.pr[plus[p]] - s.pr[minus[p]]) / 3.0;
      h->uu[p] = 0.0;
    }
  } else {
    h->p[0] = s.pr[0];
    h->p[1] = h->p[2] = 0.0;
    h->uu[0] = h->uu[1] = h->uu[2] = 0.0;
  }
}

static void seg_sums(hr_meter_t *m, const seg_t *g, hr__half_t *h)
{
  slot_sums_t s;
  if (m->cfg.layout == HR_LAYOUT_3P4W)
    (m->wide_sums ? window_sums_3p4w_wide : window_sums_3p4w_half)(m->fr, g, &s);
  else if (m->cfg.layout == HR_LAYOUT_3P3W)
    (m->wide_sums ? window_sums_3p3w_wide : window_sums_3p3w_half)(m->fr, g, &s);
  else
    (m->wide_sums ? window_sums_1p_wide : window_sums_1p_half)(m->fr, g, &s);
  sums_to_half(m, &s, h);
}

static void half_sums(hr_meter_t *m, double a, double b, hr__half_t *h)
{
  h->pos0 = a;
  h->pos1 = b;
  h->len = b - a;
  seg_t g;
  seg_init(m, a, b, &g);
  seg_sums(m, &g, h);
  /* Flagged frames are rare: no scan when the window starts after the
   * last one. */
  h->flags = g.s0 > m->flag_last ? 0u : seg_flags(&g, m->fring);
  if (a < m->settle_pos)
    h->flags |= HR_FLAG_STARTUP;
}

/* Sums over [a, b) inside one sample's interval that holds no sample's
 * centre (the sliver between a boundary and a window's end): that sample
 * weighted by b - a; no peak (h->peak is not written), no flag. */
static inline void sliver_sums(hr_meter_t *m, double a, double b, hr__half_t *h)
{
  /* The same terms as the window sums' end-sample term, w * (x * y) of
   * exactly widened floats, so either form of those gives these bits. */
  const float *f = m->fr + (size_t)((uint32_t)sample_at(a) & m->mask) * HR__SLOT;
  const double w = b - a;
  double x[HR__SLOT];
  for (int c = 0; c < HR__SLOT; c++)
    x[c] = f[c];
  for (int c = 0; c < HR_MAX_CH; c++)
    h->sq[c] = w * (x[c] * x[c]);
  if (m->cfg.layout == HR_LAYOUT_3P4W) {
    h->p[0] = w * (x[0] * x[3]);
    h->p[1] = w * (x[1] * x[4]);
    h->p[2] = w * (x[2] * x[5]);
    h->uu[0] = w * (x[0] * x[1]);
    h->uu[1] = w * (x[1] * x[2]);
    h->uu[2] = w * (x[2] * x[0]);
  } else if (m->cfg.layout == HR_LAYOUT_3P3W) {
    /* As PROD_3P3W_B and sums_to_half: (u_ab*ia - u_ca*ia)/3, ... */
    static const int ua[6] = {0, 2, 1, 0, 2, 1}, ib[6] = {3, 3, 4, 4, 5, 5};
    for (int p = 0; p < 3; p++) {
      double p0 = w * (x[ua[2 * p]] * x[ib[2 * p]]);
      double p1 = w * (x[ua[2 * p + 1]] * x[ib[2 * p + 1]]);
      h->p[p] = (p0 - p1) / 3.0;
      h->uu[p] = 0.0;
    }
  } else {
    h->p[0] = w * (x[0] * x[1]);
    h->p[1] = h->p[2] = 0.0;
    h->uu[0] = h->uu[1] = h->uu[2] = 0.0;
  }
  h->pos0 = a;
  h->pos1 = b;
  h->len = w;
  h->flags = 0;
}

/* An empty accumulator.  Field by field for the reason given in powers:
 * gcc makes memset of this constant size a `rep stos`, slow to start, and
 * this runs once per cycle. */
static inline void acc_clear(hr__acc_t *a)
{
  a->n = a->open = 0;
  a->pos0 = a->len = a->f_sum = 0.0;
  /* Unrolled, or gcc's loop distribution makes the loops a memset again. */
#pragma GCC unroll 8
  for (int c = 0; c < HR_MAX_CH; c++)
    a->sq[c] = 0.0;
#pragma GCC unroll 8
  for (int c = 0; c < HR_MAX_CH; c++)
    a->peak[c] = 0.0;
  for (int p = 0; p < 3; p++)
    a->p[p] = a->uu[p] = 0.0;
  a->flags = 0;
}

static void acc_add(hr__acc_t *acc, const hr__half_t *h, int nch)
{
  if (acc->n == 0)
    acc->pos0 = h->pos0;
  acc->n++;
  acc->len += h->len;
  for (int c = 0; c < nch; c++) {
    acc->sq[c] += h->sq[c];
    acc->peak[c] = h->peak[c] > acc->peak[c] ? h->peak[c] : acc->peak[c];
  }
  for (int p = 0; p < 3; p++) {
    acc->p[p] += h->p[p];
    acc->uu[p] += h->uu[p];
  }
  acc->flags |= h->flags;
}

/* ---- derived quantities --------------------------------------------------- */

typedef struct power_set {
  double u_rms[HR_MAX_U], i_rms[HR_MAX_I], p[3], s[3], pf[3];
  double p_total, s_arith, u_eff, i_eff, s_eff, pf_total;
} power_set_t;

static double safe_div(double a, double b)
{
  return b > 0.0 ? a / b : 0.0;
}

/* IEEE 1459-2010: true RMS, active power as the mean of u*i, and the
 * effective quantities of §3.2.2.5 (rho = 1) for the system apparent power. */
static void powers(const hr_meter_t *m, const double *sq, const double *pw, const double *uu,
                   double len, power_set_t *ps)
{
  /* Field by field, not memset: gcc makes a constant-size memset of this
   * size a `rep stos`, whose start-up cost was a sixth of this function's
   * samples on Zen 5 (once per cycle record); these become vector stores. */
  for (int c = 0; c < HR_MAX_U; c++)
    ps->u_rms[c] = 0.0;
  for (int c = 0; c < HR_MAX_I; c++)
    ps->i_rms[c] = 0.0;
  for (int p = 0; p < 3; p++)
    ps->p[p] = ps->s[p] = ps->pf[p] = 0.0;
  ps->p_total = ps->s_arith = ps->u_eff = ps->i_eff = ps->s_eff = ps->pf_total = 0.0;
  for (int c = 0; c < m->nu; c++)
    ps->u_rms[c] = sqrt(nonneg(sq[c]) / len);
  for (int c = 0; c < m->ni; c++)
    ps->i_rms[c] = sqrt(nonneg(sq[m->nu + c]) / len);
  for (int p = 0; p < m->n_phase; p++) {
    ps->p[p] = pw[p] / len;
    ps->p_total += ps->p[p];
  }
  if (m->cfg.layout == HR_LAYOUT_1P2W) {
    ps->s[0] = ps->u_rms[0] * ps->i_rms[0];
    ps->u_eff = ps->u_rms[0];
    ps->i_eff = ps->i_rms[0];
    ps->s_eff = ps->s[0];
  } else if (m->cfg.layout == HR_LAYOUT_3P4W) {
    double u2 = 0, ull2 = 0, i2 = 0;
    for (int j = 0; j < 3; j++) {
      double a2 = sq[j] / len, b2 = sq[(j + 1) % 3] / len;
      u2 += a2;
      ull2 += a2 + b2 - 2.0 * uu[j] / len; /* (u_j - u_j+1)^2 */
      i2 += sq[3 + j] / len;
      ps->s[j] = ps->u_rms[j] * ps->i_rms[j];
    }
    i2 += sq[6] / len; /* the neutral, measured or derived */
    ps->u_eff = sqrt(nonneg((3.0 * u2 + ull2) / 18.0));
    ps->i_eff = sqrt(i2 / 3.0);
    ps->s_eff = 3.0 * ps->u_eff * ps->i_eff;
  } else {
    /* 3P3W: Ve from the line-to-line voltages, Ie from the line currents
     * (IEEE 1459-2010 §3.2.2.5, three-wire case). */
    double ull2 = 0, i2 = 0;
    for (int j = 0; j < 3; j++) {
      ull2 += sq[j] / len;
      i2 += sq[3 + j] / len;
    }
    ps->u_eff = sqrt(ull2 / 9.0);
    ps->i_eff = sqrt(i2 / 3.0);
    ps->s_eff = 3.0 * ps->u_eff * ps->i_eff;
    /* Phase apparent power against the artificial star point. */
    for (int p = 0; p < 3; p++) {
      /* |u_p*|^2 = (2 u_pq^2 + 2 u_rp^2 - u_qr^2) / 9 for the star-point voltage. */
      double upq = sq[p] / len, urp = sq[(p + 2) % 3] / len, uqr = sq[(p + 1) % 3] / len;
      double us = sqrt(nonneg((2.0 * upq + 2.0 * urp - uqr) / 9.0));
      ps->s[p] = us * ps->i_rms[p];
    }
  }
  for (int p = 0; p < m->n_phase; p++) {
    ps->pf[p] = safe_div(ps->p[p], ps->s[p]);
    ps->s_arith += ps->s[p];
  }
  ps->pf_total = safe_div(ps->p_total, ps->s_eff);
}

/* ---- records from windows ------------------------------------------------- */

static void emit_cycle(hr_meter_t *m, const hr__acc_t *c, double freq_hz)
{
  hr_record_t rec;
  hr__meter_rec_init(m, &rec, HR_REC_CYCLE);
  power_set_t ps;
  powers(m, c->sq, c->p, c->uu, c->len, &ps);
  rec.t_ns = hr__meter_t_ns(m, c->pos0);
  rec.dur_ns = hr__meter_t_ns(m, c->pos0 + c->len) - rec.t_ns;
  rec.flags = c->flags | (c->n != 2 ? HR_FLAG_IRREGULAR : 0);
  hr_cycle_rec_t *y = &rec.u.cycle;
  y->freq_hz = freq_hz;
  for (int k = 0; k < m->nu; k++) {
    y->u_rms_v[k] = ps.u_rms[k];
    y->u_peak_v[k] = c->peak[k];
    y->u_crest[k] = safe_div(c->peak[k], ps.u_rms[k]);
  }
  for (int k = 0; k < m->ni; k++) {
    y->i_rms_a[k] = ps.i_rms[k];
    y->i_peak_a[k] = c->peak[m->nu + k];
    y->i_crest[k] = safe_div(c->peak[m->nu + k], ps.i_rms[k]);
  }
  for (int p = 0; p < m->n_phase; p++) {
    y->p_w[p] = ps.p[p];
    y->s_va[p] = ps.s[p];
    y->pf[p] = ps.pf[p];
  }
  y->p_total_w = ps.p_total;
  y->s_arith_va = ps.s_arith;
  y->u_eff_v = ps.u_eff;
  y->i_eff_a = ps.i_eff;
  y->s_eff_va = ps.s_eff;
  y->pf_total = ps.pf_total;
  hr__meter_emit(m, &rec);
}

static void emit_interval(hr_meter_t *m, const hr__acc_t *a)
{
  hr_record_t rec;
  hr__meter_rec_init(m, &rec, HR_REC_INTERVAL);
  power_set_t ps;
  powers(m, a->sq, a->p, a->uu, a->len, &ps);
  rec.t_ns = hr__meter_t_ns(m, a->pos0);
  rec.dur_ns = hr__meter_t_ns(m, a->pos0 + a->len) - rec.t_ns;
  rec.flags = a->flags;
  hr_interval_rec_t *y = &rec.u.interval;
  y->n_cycles = a->n;
  y->freq_hz = a->n / (a->len / m->fs);
  memcpy(y->u_rms_v, ps.u_rms, sizeof y->u_rms_v);
  memcpy(y->i_rms_a, ps.i_rms, sizeof y->i_rms_a);
  memcpy(y->p_w, ps.p, sizeof y->p_w);
  y->p_total_w = ps.p_total;
  y->s_eff_va = ps.s_eff;
  y->pf_total = ps.pf_total;
  hr__meter_emit(m, &rec);
  if (m->harm)
    hr__harm_interval(m, a->pos0, a->len, a->n, rec.flags);
  if (m->agg)
    hr__agg_interval(m, &rec);
}

static void itv_add(hr__acc_t *it, const hr__acc_t *cyc, int nch)
{
  if (it->n == 0)
    it->pos0 = cyc->pos0;
  it->n++;
  it->len += cyc->len;
  for (int c = 0; c < nch; c++)
    it->sq[c] += cyc->sq[c];
  for (int p = 0; p < 3; p++) {
    it->p[p] += cyc->p[p];
    it->uu[p] += cyc->uu[p];
  }
  it->flags |= cyc->flags;
}

/* IEC 61000-4-30 §4.4: 10 (50 Hz) or 12 (60 Hz) cycles, gapless; §4.5.3:
 * resynchronised at every 10-min tick of the clock: the interval the tick
 * falls in runs to its end, and the next one starts with the first cycle
 * that starts at or after the tick, so the two overlap. */
static void interval_cycle(hr_meter_t *m)
{
  hr__acc_t *it = &m->itv;
  if (it->n == 0)
    m->itv_tick_ns = hr__agg_next_tick(hr__meter_t_ns(m, m->cyc.pos0));
  else if (m->itv2.n > 0 || hr__meter_t_ns(m, m->cyc.pos0) >= m->itv_tick_ns)
    itv_add(&m->itv2, &m->cyc, m->nch);
  itv_add(it, &m->cyc, m->nch);
  if (it->n == m->cycles_per_interval) {
    emit_interval(m, it);
    *it = m->itv2;
    acc_clear(&m->itv2);
    if (it->n)
      m->itv_tick_ns = hr__agg_next_tick(hr__meter_t_ns(m, it->pos0));
  }
}

/* o = a + b + sign * x over the window sums (x = NULL: none); peaks and
 * flags of x join when x_pk. */
static inline void win_join(hr__acc_t *o, const hr__half_t *a, const hr__half_t *b,
                            const hr__half_t *x, double sign, int x_pk)
{
  if (x) {
#pragma omp simd
    for (int c = 0; c < HR_MAX_CH; c++)
      o->sq[c] = a->sq[c] + b->sq[c] + sign * x->sq[c];
    for (int p = 0; p < 3; p++) {
      o->p[p] = a->p[p] + b->p[p] + sign * x->p[p];
      o->uu[p] = a->uu[p] + b->uu[p] + sign * x->uu[p];
    }
  } else {
#pragma omp simd
    for (int c = 0; c < HR_MAX_CH; c++)
      o->sq[c] = a->sq[c] + b->sq[c];
    for (int p = 0; p < 3; p++) {
      o->p[p] = a->p[p] + b->p[p];
      o->uu[p] = a->uu[p] + b->uu[p];
    }
  }
  for (int c = 0; c < HR_MAX_CH; c++)
    o->peak[c] = b->peak[c] > a->peak[c] ? b->peak[c] : a->peak[c];
  o->flags = a->flags | b->flags;
  if (x_pk) {
    for (int c = 0; c < HR_MAX_CH; c++)
      o->peak[c] = x->peak[c] > o->peak[c] ? x->peak[c] : o->peak[c];
    o->flags |= x->flags;
  }
}

/* The one-period window [hp->pos0, win_end) that commences at the boundary
 * two before (IEC 61000-4-30 §5.4.2), from the two half cycles up to this
 * boundary and the sliver between this boundary and win_end: added when
 * the window reaches past the boundary, taken away when it ends before it.
 * Taking away is exact for sums; peaks and flags are recomputed over the
 * second half cycle only when a sample's centre lies in the sliver (in the
 * steady state the sliver is a small fraction of a sample).  After the
 * tracking broke down (irregular half cycles) the window is the two half
 * cycles as they are. */
static inline void cycle_window(hr_meter_t *m, const hr__half_t *hp, const hr__half_t *h,
                                double win_end, hr__acc_t *w)
{
  hr__half_t x;
  const hr__half_t *xp = NULL, *second = h;
  double sign = 1.0, len = hp->len + h->len;
  int x_pk = 0;
  const double c = h->pos1;
  if (!((hp->flags | h->flags) & HR_FLAG_IRREGULAR) && win_end > h->pos0 && win_end != c) {
    len = win_end - hp->pos0;
    /* A sliver with no sample centre in it changes no peak and no flag. */
    int no_centre = ceil_fast(win_end) == ceil_fast(c);
    int one_sample = sample_at(win_end) == sample_at(c);
    xp = &x;
    if (win_end > c) {
      if (no_centre && one_sample) {
        sliver_sums(m, c, win_end, &x);
      } else {
        half_sums(m, c, win_end, &x);
        x_pk = 1;
      }
    } else if (no_centre) {
      if (one_sample)
        sliver_sums(m, win_end, c, &x);
      else
        half_sums(m, win_end, c, &x);
      sign = -1.0;
    } else {
      /* The window's end cuts the second half cycle before a sample
       * centre: sum the second part afresh. */
      half_sums(m, h->pos0, win_end, &x);
      second = &x;
      xp = NULL;
    }
  }
  win_join(w, hp, second, xp, sign, x_pk);
  w->n = 2;
  w->open = 1;
  w->pos0 = hp->pos0;
  w->len = len;
  w->f_sum = 0.0;
}

static void process_boundary(hr_meter_t *m, const hr__boundary_t *b)
{
  if (m->harm)
    hr__harm_poll(m);
  hr__half_t h;
  /* A window longer than the ring holds cannot be summed; it only happens
   * after the tracking broke down, and is flagged. */
  uint32_t irregular = 0;
  double max_span = (double)m->ring_len - CHUNK - 8.0;
  if (b->pos - m->prev_bpos > max_span) {
    m->prev_bpos = b->pos - max_span;
    irregular = HR_FLAG_IRREGULAR;
  }
  half_sums(m, m->prev_bpos, b->pos, &h);
  h.flags |= irregular;
  if (!b->real || !m->prev_real)
    h.flags |= HR_FLAG_NO_ZC;
  if (m->out_of_range)
    h.flags |= HR_FLAG_FREQ_RANGE;
  if (!b->real && b->pos > m->settle_pos)
    m->st.freerun_halves++;

  hr__acc_t w;
  if (m->have_h_prev) {
    /* Urms(1/2) and Irms(1/2): the one-cycle window commencing at the
     * boundary two before this one (IEC 61000-4-30 §5.4.2), channels in
     * layout order (voltages, then currents). */
    cycle_window(m, &m->h_prev, &h, b->win_end, &w);
    double inv_len = 1.0 / w.len, rms[HR_MAX_CH];
#pragma omp simd
    for (int c = 0; c < HR_MAX_CH; c++)
      rms[c] = sqrt(nonneg(w.sq[c]) * inv_len);
    /* Windows that start before the zero-crossing filter settles are not
     * one cycle of the signal; events are judged only after them. */
    if (!((m->h_prev.flags | h.flags) & HR_FLAG_STARTUP)) {
      uint32_t ev = hr__events_half(m, &m->h_prev, &h, rms, rms + m->nu);
      h.flags |= ev;
      w.flags |= ev;
    }
    if (m->cfg.records & HR_RECMASK(HR_REC_HALF)) {
      hr_record_t rec;
      hr__meter_rec_init(m, &rec, HR_REC_HALF);
      rec.t_ns = hr__meter_t_ns(m, w.pos0);
      rec.dur_ns = hr__meter_t_ns(m, w.pos0 + w.len) - rec.t_ns;
      rec.flags = w.flags;
      for (int c = 0; c < m->nu; c++)
        rec.u.half.u_rms_v[c] = rms[c];
      for (int c = 0; c < m->ni; c++)
        rec.u.half.i_rms_a[c] = rms[m->nu + c];
      hr__meter_emit(m, &rec);
    }
  }

  /* A cycle runs from one rising boundary to the next (IEC 61000-4-30 §5.2:
   * the basic interval is an integer number of cycles). */
  if (m->prev_rising)
    m->cyc.open = 1;
  if (m->cyc.open)
    acc_add(&m->cyc, &h, m->nch);
  if (b->rising) {
    if (m->cyc.open && m->cyc.n > 0) {
      double f = b->freq_hz > 0.0 ? b->freq_hz : m->fs / m->cyc.len;
      if (b->freq_hz <= 0.0)
        m->cyc.flags |= HR_FLAG_NO_ZC;
      /* A regular cycle is the one-period window commencing at its rising
       * boundary; the interval below goes on adding the half cycles, which
       * tile the time line without gaps (§4.4). */
      if (m->cyc.n == 2 && m->have_h_prev && m->cyc.pos0 == w.pos0) {
        w.flags |= m->cyc.flags;
        emit_cycle(m, &w, f);
      } else {
        emit_cycle(m, &m->cyc, f);
      }
      hr__events_cycle(m, b->pos, f);
      interval_cycle(m);
    }
    acc_clear(&m->cyc);
    m->cyc.open = 1;
  }

  m->h_prev = h;
  m->have_h_prev = 1;
  m->prev_bpos = b->pos;
  m->prev_rising = b->rising;
  m->prev_real = b->real;
}

/* ---- millisecond ticks ---------------------------------------------------- */

/* Running integral of total power up to position x (midpoint rule): the
 * inclusive running sum interpolated at x - 1/2. */
static double pcum_at(const hr_meter_t *m, double x)
{
  double xs = x - 0.5, f0 = floor_fast(xs);
  int64_t k = (int64_t)f0;
  double a = k < 0 ? 0.0 : m->pcum[(uint32_t)k & m->mask];
  double b = k + 1 < 0 ? 0.0 : m->pcum[(uint32_t)(k + 1) & m->mask];
  return a + (xs - f0) * (b - a);
}

static void process_ms(hr_meter_t *m, double e)
{
  /* Nothing reads the 1-ms series but its record, its detectors and the
   * swing stage. */
  if (!(m->cfg.records & HR_RECMASK(HR_REC_MS)) && !m->ms_events && !m->swing_stage) {
    m->ms_prev_pos = e;
    return;
  }
  /* The sliding window is one cycle at the current frequency; its length
   * and inverse change only when the estimate does (once a cycle). */
  if (m->ms_cycle_f != m->f_est) {
    m->ms_cycle_f = m->f_est;
    m->ms_cycle_len = m->fs / m->f_est;
    m->ms_cycle_inv = m->f_est / m->fs;
  }
  double a = e - m->ms_cycle_len, inv = m->ms_cycle_inv;
  uint32_t flags = 0;
  if (a < 0.0) {
    a = 0.0;
    inv = 1.0 / e;
    flags |= HR_FLAG_STARTUP;
  }
  if (a < m->settle_pos)
    flags |= HR_FLAG_STARTUP;
  double p = (pcum_at(m, e) - pcum_at(m, a)) * inv;
  double dpdt = m->have_p_prev ? (p - m->p_prev) * 1000.0 : 0.0;
  if (!m->have_p_prev)
    flags |= HR_FLAG_STARTUP;

  /* Peak phase current over samples whose centre lies in [prev, e). */
  int64_t k0, k1;
  centre_range(m->ms_prev_pos, e, &k0, &k1);
  float ipk = 0.0f;
  if (k1 >= k0) {
    ipk = phase_current_peak(m, k0, k1);
    /* No frame after the last flagged one carries a flag. */
    if (k0 <= m->flag_last)
      flags |= flags_range(m, k0, k1);
  }
  if (m->out_of_range)
    flags |= HR_FLAG_FREQ_RANGE;

  if (m->cfg.records & HR_RECMASK(HR_REC_MS)) {
    hr_record_t rec;
    hr__meter_rec_init(m, &rec, HR_REC_MS);
    /* Tick m is at exactly m ms of sample time. */
    rec.t_ns = m->cfg.t0_ns + (m->ms_index - 1) * 1000000;
    rec.dur_ns = 1000000;
    rec.flags = flags;
    rec.u.ms.p_total_w = p;
    rec.u.ms.dpdt_w_per_s = dpdt;
    rec.u.ms.i_peak_a = ipk;
    hr__meter_emit(m, &rec);
  }
  if (m->ms_events)
    hr__events_ms(m, e / m->fs, p, m->have_p_prev ? dpdt : 0.0, ipk);
  if (m->swing_stage)
    hr__swing_stage_ms(m, e, p, flags);

  m->p_prev = p;
  m->have_p_prev = 1;
  m->ms_prev_pos = e;
}

/* ---- zero crossings and scheduling ---------------------------------------- */

static double ms_pos(const hr_meter_t *m)
{
  return (double)m->ms_e_int + (double)m->ms_e_rem / 1e6;
}

/* First frame count at which the next 1-ms tick can be processed: the sample
 * holding the tick's position, floor(e + 1/2), has arrived.  Exact integer
 * arithmetic on e = ms_e_int + ms_e_rem / 1e6. */
static inline int64_t ms_due(const hr_meter_t *m)
{
  /* Without a reader of the 1-ms series there are no ticks to process. */
  if (!m->need_pcum)
    return INT64_MAX;
  return m->ms_e_int + (m->ms_e_rem >= 500000) + 1;
}

/* First frame count at which a boundary can be processed: the samples of
 * its half cycle and of the one-period window it completes are in. */
static inline int64_t boundary_due(const hr__boundary_t *b)
{
  return sample_at(b->win_end > b->pos ? b->win_end : b->pos) + 1;
}

static void update_next_due(hr_meter_t *m)
{
  int64_t due = ms_due(m);
  if (m->pend_count) {
    int64_t d = boundary_due(&m->pend[m->pend_head]);
    due = d < due ? d : due;
  }
  int64_t d = (int64_t)ceil_fast(m->freerun_due_pos);
  due = d < due ? d : due;
  if (m->pmu) {
    d = hr__pmu_due(m->pmu);
    due = d < due ? d : due;
  }
  m->next_due = due;
}

static double half_period(const hr_meter_t *m)
{
  return m->fs / (2.0 * m->f_est);
}

static void set_freerun_deadline(hr_meter_t *m)
{
  double lag = m->delay > 0.0 ? m->delay : 0.0;
  m->freerun_due_pos = m->last_sched_pos + 1.5 * half_period(m) + lag + 2.0 + m->zc.dec;
}

static void schedule(hr_meter_t *m, double pos, int rising, int real, double freq_hz)
{
  /* A crossing right after a synthesised boundary would make a sliver of a
   * half cycle; drop it and let the next one resynchronise. */
  if (pos <= m->last_sched_pos + 0.5 * m->min_half)
    return;
  if (m->pend_count == HR__PENDING_MAX)
    return; /* cannot happen: boundaries are due within a cycle */
  int slot = (m->pend_head + m->pend_count) % HR__PENDING_MAX;
  /* IEC 61000-4-30 §5.4.2: the Urms(1/2) window is one cycle commencing at a
   * zero crossing.  Its length is the period of the tracked frequency, not
   * the distance to the boundary two later: the phase lock moves single
   * boundaries, and a window must not change length when it does. */
  double win_end = m->prev_sched_pos + 2.0 * half_period(m);
  m->pend[slot] = (hr__boundary_t){pos, freq_hz, rising, real, win_end};
  m->pend_count++;
  m->prev_sched_pos = m->last_sched_pos;
  m->last_sched_pos = pos;
  m->last_sched_rising = rising;
  set_freerun_deadline(m);
  update_next_due(m);
}

static void tenth_second_tick(hr_meter_t *m, double pos_f, int trusted);

#define PLL_GAIN 0.2
/* Crossings that are trusted: a period (between crossings of one polarity)
 * within ZC_STEADY of the period before it.  Real frequency moves far more
 * slowly (a 1 Hz/s ramp changes the period by 0.03 % a cycle); the crossing
 * jitter of a signal with 10 % 3rd and 5th harmonics and a 2 % interharmonic
 * stays below 0.05 %. */
#define ZC_STEADY 0.002
/* After a disturbed crossing, the next ZC_HOLD crossings are not trusted
 * either: the band-pass's transient after an amplitude step decays by about
 * a factor of four a cycle, and moves crossings less than the threshold
 * above before it has gone. */
#define ZC_HOLD 4
/* A signal whose crossings never look steady (heavy noise, a fast ramp)
 * still feeds the frequency after this many cycles in a row. */
#define F_BLOCK_MAX 16

/* The frequency that sets window lengths is the median of the last five
 * trusted cycle frequencies: a cycle disturbed by a step transient cannot
 * move it.  Cycles outside the tracking range never count. */
static void f_est_update(hr_meter_t *m, double freq)
{
  enum { N_MED = 5 };
  const int cap = (int)(sizeof m->f_hist / sizeof m->f_hist[0]);
  const double far = 0.02 * m->cfg.f_nom_hz;
  if (!(freq >= m->f_min && freq <= m->f_max))
    return;
  /* Real frequency moves slowly (1 Hz/s is a steep ramp); a cycle that is
   * more than 2 % of nominal away from the estimate is a disturbed crossing,
   * unless three in a row agree with each other: then the frequency did
   * move, and the history restarts from them. */
  if (m->f_hist_n && fabs(freq - m->f_est) > far) {
    if (m->f_rej_n && fabs(freq - m->f_rej[m->f_rej_n - 1]) > far)
      m->f_rej_n = 0;
    m->f_rej[m->f_rej_n++] = freq;
    if (m->f_rej_n < 3)
      return;
    m->f_hist_n = 0;
    for (int k = 0; k < 2; k++) {
      m->f_hist[m->f_hist_head] = m->f_rej[k];
      m->f_hist_head = (m->f_hist_head + 1) % cap;
      m->f_hist_n++;
    }
  }
  m->f_rej_n = 0;
  m->f_hist[m->f_hist_head] = freq;
  m->f_hist_head = (m->f_hist_head + 1) % cap;
  if (m->f_hist_n < N_MED)
    m->f_hist_n++;
  double v[N_MED];
  int n = m->f_hist_n;
  if (n == N_MED) {
    /* The usual case, through a sorting network of min/max pairs (Knuth,
     * TAOCP vol. 3 §5.3.4, 9 comparators for 5): no branches to mispredict,
     * which the insertion sort below had once per crossing.  The values are
     * finite (checked above), so it sorts them exactly as that does. */
    for (int k = 0; k < N_MED; k++)
      v[k] = m->f_hist[(m->f_hist_head - 1 - k + cap) % cap];
#define CMPX(i, j)                                                                                 \
  do {                                                                                             \
    const double lo_ = v[j] < v[i] ? v[j] : v[i], hi_ = v[j] < v[i] ? v[i] : v[j];                 \
    v[i] = lo_;                                                                                    \
    v[j] = hi_;                                                                                    \
  } while (0)
    CMPX(0, 1);
    CMPX(3, 4);
    CMPX(2, 4);
    CMPX(2, 3);
    CMPX(0, 3);
    CMPX(0, 2);
    CMPX(1, 4);
    CMPX(1, 3);
    CMPX(1, 2);
#undef CMPX
    m->f_est = v[N_MED / 2];
    return;
  }
  for (int k = 0; k < n; k++) {
    double x = m->f_hist[(m->f_hist_head - 1 - k + cap) % cap];
    int j = k;
    for (; j > 0 && v[j - 1] > x; j--)
      v[j] = v[j - 1];
    v[j] = x;
  }
  m->f_est = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Whether a crossing can be trusted for the frequency and the phase lock.
 * An amplitude step on the reference (a dip, a swell, an interruption's
 * end) or a phase jump starts a transient in the band-pass that moves the
 * next few crossings by up to several samples, decaying over two or three
 * cycles; a corrupt sample does the same.  The frequency and the phase are
 * held through such crossings (the standard's allowance for tracking the
 * period: hold the last good one) and resume once the crossings are steady
 * again.  Steadiness is judged on the crossings alone, period against
 * period, so it does not depend on the estimate it protects. */
static int crossing_trusted(hr_meter_t *m, double pos_f, int rising)
{
  const int p = rising != 0;
  int steady = 0;
  if (m->have_pol[p]) {
    double per = pos_f - m->pol_pos[p];
    steady = m->have_per[p] && fabs(per - m->pol_per[p]) <= ZC_STEADY * per;
    m->pol_per[p] = per;
    m->have_per[p] = 1;
  }
  m->pol_pos[p] = pos_f;
  m->have_pol[p] = 1;
  if (!steady) {
    m->zc_hold = ZC_HOLD;
    return 0;
  }
  if (m->zc_hold > 0) {
    m->zc_hold--;
    return 0;
  }
  return 1;
}

/* The filter delay and the interpolation constants at the current f_est. */
static void set_delay_f(hr_meter_t *m)
{
  m->delay_f = m->f_est;
  m->delay = hr__zc_filter_delay_fast(&m->zc, m->f_est);
  double h = 2.0 * M_PI * m->f_est * m->zc.dec / m->fs;
  m->zc_h2_6 = h * h / 6.0;
}

static void on_crossing(hr_meter_t *m, double pos_f, int rising)
{
  if (!isfinite(pos_f))
    return;
  if (rising) {
    /* A rising-to-rising period outside the tracking range means the signal
     * is not a fundamental we can follow: free-run and flag.  A gap of more
     * than two of the longest periods is no period at all (an interruption):
     * the next crossing starts afresh. */
    if (m->have_raw_rise && pos_f - m->last_raw_rise_pos <= 2.0 * m->fs / m->f_min) {
      double f = m->fs / (pos_f - m->last_raw_rise_pos);
      m->out_of_range = !(f >= m->f_min && f <= m->f_max);
    }
    m->have_raw_rise = 1;
    m->last_raw_rise_pos = pos_f;
  }
  if (m->out_of_range)
    return;
  if (m->have_real && pos_f - m->last_real_pos < m->min_half)
    return;
  m->st.zero_crossings++;
  const int had_rise = m->have_pol[1];
  const double last_rise = m->pol_pos[1];
  const int trusted = crossing_trusted(m, pos_f, rising);
  double freq = 0.0;
  if (rising) {
    if (had_rise) {
      freq = m->fs / (pos_f - last_rise);
      /* Cycles that start two cycles before the settling time are within
       * 1e-4 of their period; the median of three of them, within 1e-5. */
      if (!m->f_settled && last_rise - m->delay >= m->settle_pos - 2.0 * m->fs / m->cfg.f_nom_hz) {
        m->f_settled = 1;
        m->f_hist_n = 0;
      }
      if (trusted || ++m->f_blocked > F_BLOCK_MAX) {
        f_est_update(m, freq);
        m->f_blocked = 0;
      }
    }
    tenth_second_tick(m, pos_f, trusted);
  }
  m->have_real = 1;
  m->last_real_pos = pos_f;
  if (fabs(m->f_est - m->delay_f) > 1e-3)
    set_delay_f(m);
  /* Phase lock: place the boundary one half period after the last one and
   * pull it a fraction of the way toward a trusted crossing; through
   * disturbed crossings the boundaries run on at the held period.  A
   * crossing far from where the lock expects it is more likely a transient
   * (a deep step on the reference) than a phase jump: keep the flywheel for
   * up to three half cycles before resynchronising. */
  double b = pos_f - m->delay;
  double pred = m->last_sched_pos + half_period(m);
  if (m->locked && rising != m->last_sched_rising) {
    if (fabs(b - pred) < 0.25 * half_period(m)) {
      b = trusted ? pred + PLL_GAIN * (b - pred) : pred;
      m->lock_misses = 0;
    } else if (++m->lock_misses <= 3) {
      b = pred;
    }
  }
  m->locked = 1;
  schedule(m, b, rising, 1, freq);
}

/* floor(a / b) for b > 0 (C division truncates toward zero). */
static int64_t floor_div(int64_t a, int64_t b)
{
  int64_t q = a / b;
  return (a % b < 0) ? q - 1 : q;
}

/* IEC 61000-4-30 §5.1.2: over each 10-s interval of the clock, the number of
 * integral cycles divided by their cumulative duration: from the first to the
 * last trusted rising crossing inside the interval (a crossing moved by a
 * transient would shift the span).  Crossings are placed in intervals by the
 * time of the fundamental's crossing (the filter delay taken off); their
 * differences do not depend on the delay.  An interval the stream covers
 * completely gives a value even when it is the first one; the first interval
 * of a stream that starts after its tick is incomplete and flagged
 * HR_FLAG_STARTUP, not dropped. */
static void tenth_second_tick(hr_meter_t *m, double pos_f, int trusted)
{
  const int64_t ten_s = 10000000000LL;
  int64_t t = hr__meter_t_ns(m, pos_f - m->delay);
  if (m->f10_end_ns == INT64_MIN) {
    int64_t start = floor_div(t, ten_s) * ten_s;
    m->f10_end_ns = start + ten_s;
    m->f10_count = 0;
    m->f10_have = 0;
    m->f10_flags = m->cfg.t0_ns > start ? HR_FLAG_STARTUP : 0;
  }
  if (t >= m->f10_end_ns) {
    if (m->f10_have && m->f10_last_n > m->f10_first_n) {
      hr_record_t rec;
      hr__meter_rec_init(m, &rec, HR_REC_FREQ10S);
      rec.t_ns = m->f10_end_ns - ten_s;
      rec.dur_ns = ten_s;
      rec.flags = m->f10_flags;
      double span = (m->f10_last - m->f10_first) / m->fs;
      int cycles = m->f10_last_n - m->f10_first_n;
      rec.u.freq.n_cycles = cycles;
      rec.u.freq.span_s = span;
      rec.u.freq.freq_hz = cycles / span;
      hr__meter_emit(m, &rec);
    }
    m->f10_end_ns = (floor_div(t, ten_s) + 1) * ten_s;
    m->f10_count = 0;
    m->f10_have = 0;
    m->f10_flags = 0;
  }
  m->f10_count++;
  if (trusted) {
    if (!m->f10_have) {
      m->f10_first = pos_f;
      m->f10_first_n = m->f10_count;
      m->f10_have = 1;
    }
    m->f10_last = pos_f;
    m->f10_last_n = m->f10_count;
  }
}

static void process_due(hr_meter_t *m)
{
  for (;;) {
    int64_t t_due = ms_due(m);
    int64_t b_due = m->pend_count ? boundary_due(&m->pend[m->pend_head]) : INT64_MAX;
    int64_t fr_due = (int64_t)ceil_fast(m->freerun_due_pos);
    if (fr_due <= m->n && fr_due <= b_due) {
      /* No crossing came in time: synthesise the boundary one half period
       * after the last one, alternating polarity (free-running). */
      schedule(m, m->last_sched_pos + half_period(m), !m->last_sched_rising, 0, 0.0);
      m->locked = 0;
      if (m->f10_count)
        m->f10_flags |= HR_FLAG_NO_ZC;
      continue;
    }
    if (b_due <= m->n && b_due <= t_due) {
      hr__boundary_t b = m->pend[m->pend_head];
      m->pend_head = (m->pend_head + 1) % HR__PENDING_MAX;
      m->pend_count--;
      process_boundary(m, &b);
      continue;
    }
    if (t_due <= m->n) {
      process_ms(m, ms_pos(m));
      m->ms_index++;
      m->ms_e_rem += m->fs_mhz;
      m->ms_e_int += m->ms_e_rem / 1000000;
      m->ms_e_rem %= 1000000;
      continue;
    }
    if (m->pmu && hr__pmu_due(m->pmu) <= m->n) {
      hr__pmu_report(m);
      continue;
    }
    break;
  }
  update_next_due(m);
}

/* ---- the sample path ------------------------------------------------------- */

static void mark_bad(hr_meter_t *m, int c)
{
  if (m->st.first_bad_frame < 0) {
    m->st.first_bad_frame = m->n;
    m->st.first_bad_channel = c;
  }
  m->st.bad_samples++;
}

/* Samples go in by chunks, in two phases:
 *   A. bulk, vectorised: the chunk is copied into the ring's frame slots and
 *      checked for NaN/Inf/clipping on the way; a clean chunk then has its
 *      flags cleared and (when something reads the 1-ms series) the running
 *      sum of total power extended;
 *   B. in sample order: the zero-crossing filter, one decimated sample at a
 *      time, and the windows, events and records that fall due.
 * Phase A writes ring slots ahead of the frames phase B has consumed; phase B
 * reads only consumed samples, and the ring keeps CHUNK slots of slack, so the
 * history it reads is never overwritten.  If phase B stops early (the pull
 * queue is full), the unconsumed frames are simply written again by the next
 * push: phase A is idempotent, and everything counted happens in phase B. */

static double frame_power(const hr_meter_t *m, uint32_t idx)
{
  const float *s = m->fr + (size_t)idx * HR__SLOT;
  double p = 0.0;
  for (int t = 0; t < m->n_pterm; t++) {
    const hr__power_term_t *pt = &m->pterm[t];
    p += pt->coef * ((double)s[pt->u] * s[pt->i]);
  }
  return p;
}

/* Per lane, the |x| bit pattern a sample must stay below: the channel's clip
 * level, or its corruption level where clipping is not checked; +Inf past
 * the input channels. */
static inline __attribute__((always_inline)) void copy_limits(const hr_meter_t *m, v8i *lim)
{
  float lim_f[HR__SLOT];
  for (int c = 0; c < HR__SLOT; c++)
    lim_f[c] = c >= m->nch_in                                    ? INFINITY
               : m->clip[c] > 0.0f && m->clip[c] < m->corrupt[c] ? m->clip[c]
                                                                 : m->corrupt[c];
  memcpy(lim, lim_f, sizeof *lim);
}

/* Copies len frames of nin channels into slots and ORs into *bad, per lane,
 * whether a sample's |x| bits reach lim (the channel's clip level, or +Inf
 * where clipping is not checked: NaN and Inf always reach it).  A slot is
 * filled by one 8-lane load with the lanes past nin cleared, wherever those
 * 8 floats lie inside the chunk; the last frames are copied lane by lane so
 * nothing past the chunk is read. */
static inline __attribute__((always_inline)) void slot_copy(float *restrict fr, const float *x,
                                                            uint32_t len, const int nin,
                                                            const int derive, v8i lim, v8i *bad)
{
  v8i keep;
  for (int c = 0; c < HR__SLOT; c++)
    keep[c] = c < nin ? -1 : 0;
  v8i b0 = {0}, b1 = {0};
  uint32_t j = 0;
  const uint32_t vec_end =
      (uint32_t)(((size_t)len * nin >= HR__SLOT) ? ((size_t)len * nin - HR__SLOT) / nin + 1 : 0);
  for (; j + 2 <= vec_end; j += 2) {
    /* The input streams from memory once: ask for it a few KB ahead (a
     * prefetch past the caller's buffer is harmless, it never faults). */
    __builtin_prefetch(x + (size_t)j * nin + 1024);
    v8f v = (v8f)((v8i)slot_load(x + (size_t)j * nin) & keep);
    v8f w = (v8f)((v8i)slot_load(x + (size_t)(j + 1) * nin) & keep);
    b0 |= slot_absbits(v) >= lim;
    b1 |= slot_absbits(w) >= lim;
    if (derive) {
      v[nin] = -(v[nin - 3] + v[nin - 2] + v[nin - 1]);
      w[nin] = -(w[nin - 3] + w[nin - 2] + w[nin - 1]);
    }
    memcpy(fr + (size_t)j * HR__SLOT, &v, sizeof v);
    memcpy(fr + (size_t)(j + 1) * HR__SLOT, &w, sizeof w);
  }
  for (; j < len; j++) {
    v8f v = {0};
    for (int c = 0; c < nin; c++)
      v[c] = x[(size_t)j * nin + c];
    b0 |= slot_absbits(v) >= lim;
    if (derive)
      v[nin] = -(v[nin - 3] + v[nin - 2] + v[nin - 1]);
    memcpy(fr + (size_t)j * HR__SLOT, &v, sizeof v);
  }
  *bad |= b0 | b1;
}

#ifdef HAVE_X86_BUILTINS
#define HAVE_COPY16 1

/* The AVX-512 copy for 6 or 7 channels a frame (the 3P4W layouts without a
 * derived neutral), 16 frames a block: the block's 16 * nin floats are nin
 * 64-byte loads, aligned after the first block, and each pair of frames is
 * one two-source permute of two of them into two slots (lanes past nin
 * zeroed).  slot_copy loads 8 floats a frame at a 28-byte stride instead, 7
 * of every 16 of them across a cache line (a split load), with a lane-by-lane
 * copy for the frames at the end of the input.  The clip/NaN test keeps each
 * lane's largest |x| bit pattern (an integer maximum: some x reaches lim iff
 * the maximum does) and compares once at the end.  Pair k of a block (frames
 * 2k, 2k+1) lies in source vectors V = 2k nin / 16 and V + 1; COPY16_IDX[k]
 * picks its floats (float q of the block is lane q - 16 V). */
static const int32_t COPY16_IDX[2][8][16] __attribute__((aligned(64))) = {
    {{0, 1, 2, 3, 4, 5, 0, 0, 6, 7, 8, 9, 10, 11, 6, 6},
     {12, 13, 14, 15, 16, 17, 12, 12, 18, 19, 20, 21, 22, 23, 18, 18},
     {8, 9, 10, 11, 12, 13, 8, 8, 14, 15, 16, 17, 18, 19, 14, 14},
     {4, 5, 6, 7, 8, 9, 4, 4, 10, 11, 12, 13, 14, 15, 10, 10},
     {0, 1, 2, 3, 4, 5, 0, 0, 6, 7, 8, 9, 10, 11, 6, 6},
     {12, 13, 14, 15, 16, 17, 12, 12, 18, 19, 20, 21, 22, 23, 18, 18},
     {8, 9, 10, 11, 12, 13, 8, 8, 14, 15, 16, 17, 18, 19, 14, 14},
     {4, 5, 6, 7, 8, 9, 4, 4, 10, 11, 12, 13, 14, 15, 10, 10}},
    {{0, 1, 2, 3, 4, 5, 6, 0, 7, 8, 9, 10, 11, 12, 13, 7},
     {14, 15, 16, 17, 18, 19, 20, 14, 21, 22, 23, 24, 25, 26, 27, 21},
     {12, 13, 14, 15, 16, 17, 18, 12, 19, 20, 21, 22, 23, 24, 25, 19},
     {10, 11, 12, 13, 14, 15, 16, 10, 17, 18, 19, 20, 21, 22, 23, 17},
     {8, 9, 10, 11, 12, 13, 14, 8, 15, 16, 17, 18, 19, 20, 21, 15},
     {6, 7, 8, 9, 10, 11, 12, 6, 13, 14, 15, 16, 17, 18, 19, 13},
     {4, 5, 6, 7, 8, 9, 10, 4, 11, 12, 13, 14, 15, 16, 17, 11},
     {2, 3, 4, 5, 6, 7, 8, 2, 9, 10, 11, 12, 13, 14, 15, 9}}};

typedef float v16f __attribute__((vector_size(16 * sizeof(float))));
typedef int32_t v16i __attribute__((vector_size(16 * sizeof(int32_t))));

/* One whole block of 16 frames from xs into slots fo; the largest |x| bits
 * per lane go to *mx0 (even pairs) and *mx1 (odd pairs). */
static inline __attribute__((always_inline)) HR__TARGET_512 void
copy16_block(float *restrict fo, const float *xs, const int nin, const v16i *idx, v16i *mx0,
             v16i *mx1)
{
  v16i keep;
  for (int l = 0; l < 16; l++)
    keep[l] = l % 8 < nin ? -1 : 0;
  /* Named, not an array: gcc keeps an array of vectors on the stack. */
  v16f v0, v1, v2, v3, v4, v5, v6;
  memcpy(&v0, xs, sizeof v0);
  memcpy(&v1, xs + 16, sizeof v1);
  memcpy(&v2, xs + 32, sizeof v2);
  memcpy(&v3, xs + 48, sizeof v3);
  memcpy(&v4, xs + 64, sizeof v4);
  memcpy(&v5, xs + 80, sizeof v5);
  if (nin == 7)
    memcpy(&v6, xs + 96, sizeof v6);
  else
    v6 = v5;
#define PAIR(K, A, B, MX)                                                                          \
  do {                                                                                             \
    const v16i o_ = (v16i)__builtin_shuffle(A, B, idx[K]) & keep;                                  \
    *MX = __builtin_ia32_pmaxsd512_mask(o_ & 0x7fffffff, *MX, *MX, (unsigned short)0xffff);        \
    memcpy(fo + 16 * K, &o_, sizeof o_);                                                           \
  } while (0)
  if (nin == 7) {
    PAIR(0, v0, v1, mx0);
    PAIR(1, v0, v1, mx1);
    PAIR(2, v1, v2, mx0);
    PAIR(3, v2, v3, mx1);
    PAIR(4, v3, v4, mx0);
    PAIR(5, v4, v5, mx1);
    PAIR(6, v5, v6, mx0);
    PAIR(7, v6, v6, mx1);
  } else {
    PAIR(0, v0, v1, mx0);
    PAIR(1, v0, v1, mx1);
    PAIR(2, v1, v2, mx0);
    PAIR(3, v2, v3, mx1);
    PAIR(4, v3, v4, mx0);
    PAIR(5, v3, v4, mx1);
    PAIR(6, v4, v5, mx0);
    PAIR(7, v5, v5, mx1);
  }
#undef PAIR
}

/* A block of nfr < 16 frames (the chunk's first or last): through a
 * zero-padded copy, so nothing past the caller's frames is read and
 * nothing past the run's slots written (zeros never reach a limit). */
static inline __attribute__((always_inline)) HR__TARGET_512 void
copy16_part(float *restrict fo, const float *xs, uint32_t nfr, const int nin, const v16i *idx,
            v16i *mx0, v16i *mx1)
{
  float in[16 * 7] __attribute__((aligned(64)));
  float out[16 * HR__SLOT] __attribute__((aligned(64)));
  /* Zeroed in 64-byte pieces: `= {0}` became a `rep stos` (see zero_u16). */
  for (int o = 0; o < 7; o++)
    memset(in + 16 * o, 0, 64);
  memcpy(in, xs, sizeof(float) * nfr * (uint32_t)nin);
  copy16_block(out, in, nin, idx, mx0, mx1);
  memcpy(fo, out, sizeof(float) * HR__SLOT * nfr);
}

static inline __attribute__((always_inline)) HR__TARGET_512 void
copy16(float *restrict fr, const float *x, uint32_t len, const int nin, const v8i *lim, v8i *bad)
{
  v16i idx[8];
  for (int k = 0; k < 8; k++)
    memcpy(&idx[k], COPY16_IDX[nin == 7][k], sizeof idx[k]);
  v16i mx0 = {0}, mx1 = {0};
  uint32_t j = 0;
  for (; j + 16 <= len; j += 16) {
    const float *xs = x + (size_t)j * nin;
    /* The input streams from memory once: ask for it a few KB ahead (a
     * prefetch past the caller's buffer is harmless, it never faults). */
    for (int q = 0; q < nin; q++)
      __builtin_prefetch(xs + 16 * q + 1024);
    copy16_block(fr + (size_t)j * HR__SLOT, xs, nin, idx, &mx0, &mx1);
  }
  if (j < len)
    copy16_part(fr + (size_t)j * HR__SLOT, x + (size_t)j * nin, len - j, nin, idx, &mx0, &mx1);
  for (int c = 0; c < HR__SLOT; c++) {
    const int32_t a = mx0[c] > mx1[c] ? mx0[c] : mx1[c];
    const int32_t b = mx0[c + 8] > mx1[c + 8] ? mx0[c + 8] : mx1[c + 8];
    if ((a > b ? a : b) >= (*lim)[c])
      (*bad)[c] = -1;
  }
}

/* chunk_copy for nin = 6 or 7 on an AVX-512 machine (m->copy16). */
HR__TARGET_512 static void chunk_copy16(hr_meter_t *m, const float *x, uint32_t i0, uint32_t len,
                                        int32_t *bad_lanes)
{
  float *fr = m->fr + (size_t)i0 * HR__SLOT;
  v8i lim, bad = {0};
  copy_limits(m, &lim);
  if (m->nch_in == 7)
    copy16(fr, x, len, 7, &lim, &bad);
  else
    copy16(fr, x, len, 6, &lim, &bad);
  for (int c = 0; c < HR__SLOT; c++)
    bad_lanes[c] |= bad[c];
}
#endif

/* Phase A's copy for one contiguous run of ring slots [i0, i0 + len), with
 * the channel count a constant in each branch. */
HR__CLONES_512 static void chunk_copy(hr_meter_t *m, const float *x, uint32_t i0, uint32_t len,
                                      int32_t *bad_lanes)
{
  float *fr = m->fr + (size_t)i0 * HR__SLOT;
  v8i lim, bad = {0};
  copy_limits(m, &lim);
  switch (m->nch_in) {
  case 2:
    slot_copy(fr, x, len, 2, 0, lim, &bad);
    break;
  case 6:
    if (m->derive_in)
      slot_copy(fr, x, len, 6, 1, lim, &bad);
    else
      slot_copy(fr, x, len, 6, 0, lim, &bad);
    break;
  default:
    slot_copy(fr, x, len, 7, 0, lim, &bad);
    break;
  }
  for (int c = 0; c < HR__SLOT; c++)
    bad_lanes[c] |= bad[c];
}

/* Phase A's power sum for a clean run of ring slots [i0, i0 + len). */
HR__CLONES_512 static void chunk_power(hr_meter_t *m, uint32_t i0, uint32_t len, double *acc)
{
  double *restrict pc = m->pcum + i0;
  const float *s = m->fr + (size_t)i0 * HR__SLOT;
  if (m->cfg.layout == HR_LAYOUT_3P4W) {
    for (uint32_t j = 0; j < len; j++, s += HR__SLOT)
      pc[j] = (double)s[0] * s[3] + (double)s[1] * s[4] + (double)s[2] * s[5];
  } else {
    for (uint32_t j = 0; j < len; j++)
      pc[j] = frame_power(m, i0 + j);
  }
  /* The running sum is sequential; its order is the sample order. */
  double a = *acc;
  for (uint32_t j = 0; j < len; j++) {
    a += pc[j];
    pc[j] = a;
  }
  *acc = a;
}

#ifdef HAVE_COPY16
/* chunk_power for 3P4W with AVX-512 (m->power16): the phase products of 4
 * frames at a time.  Two 64-byte loads hold 4 slots; one permute gathers
 * ua, ub, uc of the 4 frames, another ia, ib, ic; widened and multiplied
 * they give ua*ia, ub*ib (one vector) and uc*ic, and the sum is formed in
 * chunk_power's order, (ua*ia + ub*ib) + uc*ic, with the same exact
 * products: the same bits, about a quarter of the instructions. */
HR__TARGET_512 static void chunk_power16(hr_meter_t *m, uint32_t i0, uint32_t len, double *acc)
{
  double *restrict pc = m->pcum + i0;
  const float *s = m->fr + (size_t)i0 * HR__SLOT;
  const v16i iu = {0, 8, 16, 24, 1, 9, 17, 25, 2, 10, 18, 26, 7, 7, 7, 7};
  const v16i ii = {3, 11, 19, 27, 4, 12, 20, 28, 5, 13, 21, 29, 7, 7, 7, 7};
  uint32_t j = 0;
  for (; j + 4 <= len; j += 4) {
    v16f z0, z1;
    memcpy(&z0, s + (size_t)j * HR__SLOT, sizeof z0);
    memcpy(&z1, s + (size_t)j * HR__SLOT + 16, sizeof z1);
    const v16f tu = __builtin_shuffle(z0, z1, iu), ti = __builtin_shuffle(z0, z1, ii);
    const v8f ulo = __builtin_shufflevector(tu, tu, 0, 1, 2, 3, 4, 5, 6, 7);
    const v8f uhi = __builtin_shufflevector(tu, tu, 8, 9, 10, 11, 12, 13, 14, 15);
    const v8f ilo = __builtin_shufflevector(ti, ti, 0, 1, 2, 3, 4, 5, 6, 7);
    const v8f ihi = __builtin_shufflevector(ti, ti, 8, 9, 10, 11, 12, 13, 14, 15);
    const v8d a = WIDEN8(ulo) * WIDEN8(ilo), c = WIDEN8(uhi) * WIDEN8(ihi);
    const v4d p =
        (__builtin_shufflevector(a, a, 0, 1, 2, 3) + __builtin_shufflevector(a, a, 4, 5, 6, 7)) +
        __builtin_shufflevector(c, c, 0, 1, 2, 3);
    memcpy(pc + j, &p, sizeof p);
  }
  for (; j < len; j++) {
    const float *f = s + (size_t)j * HR__SLOT;
    pc[j] = (double)f[0] * f[3] + (double)f[1] * f[4] + (double)f[2] * f[5];
  }
  /* The running sum is sequential; its order is the sample order. */
  double r = *acc;
  for (j = 0; j < len; j++) {
    r += pc[j];
    pc[j] = r;
  }
  *acc = r;
}
#endif

/* Phase B for one frame that phase A could not vouch for: count and flag
 * NaN/Inf (stored as 0) and clipped samples, then extend the power sum. */
static int classify_frame(hr_meter_t *m, uint32_t idx)
{
  float *s = m->fr + (size_t)idx * HR__SLOT;
  uint16_t fl = 0;
  int ref_bad = 0;
  for (int c = 0; c < m->nch_in; c++) {
    float v = s[c];
    if (!(fabsf(v) < m->corrupt[c])) {
      /* NaN, infinite, or beyond any value the channel can carry (a
       * corrupt word): counted, flagged, and stored as 0. */
      mark_bad(m, c);
      fl |= HR_FLAG_BAD_SAMPLE;
      s[c] = 0.0f;
      ref_bad |= c == m->cfg.ref_channel;
    } else if (m->clip[c] > 0.0f && fabsf(v) >= m->clip[c]) {
      if (m->st.first_clipped_frame < 0)
        m->st.first_clipped_frame = m->n;
      m->st.clipped_samples++;
      fl |= HR_FLAG_CLIPPED;
    }
  }
  if (m->derive_in)
    s[m->nch_in] = -(s[m->nu] + s[m->nu + 1] + s[m->nu + 2]);
  m->fring[idx] = fl;
  if (fl)
    m->flag_last = m->n;
  if (m->need_pcum) {
    m->pcum_acc += frame_power(m, idx);
    m->pcum[idx] = m->pcum_acc;
  }
  return ref_bad;
}

/* One biquad section, direct form I, on y in place. */
#define BIQUAD_STEP(b, y)                                                                          \
  do {                                                                                             \
    double o_ =                                                                                    \
        (((b).b0 * (y) + (b).b1 * (b).x1 + (b).b2 * (b).x2) - (b).a2 * (b).y2) - (b).a1 * (b).y1;  \
    (b).x2 = (b).x1;                                                                               \
    (b).x1 = (y);                                                                                  \
    (b).y2 = (b).y1;                                                                               \
    (b).y1 = o_;                                                                                   \
    (y) = o_;                                                                                      \
  } while (0)

/* The zero-crossing filter over frames [n0, n0 + len) of the ring.  It runs
 * on block means of dec samples: the mean has zeros at multiples of fs/dec,
 * so what folds down is negligible, and the band-pass then costs a dec-th of
 * the samples.  For each block that completes it stores the output in ys[]
 * and the frame index of the block's last sample in ends[]; returns how many.
 * A tight loop with no calls, so the filter state stays in registers; it
 * depends on nothing but the samples, so it can run ahead of the windows and
 * events of the same frames. */
HR__CLONES_512 static int zc_filter(hr_meter_t *m, int64_t n0, size_t len, double *ys,
                                    int64_t *ends)
{
  _Static_assert(HR__ZC_SECTIONS == 3, "zc_filter runs three sections");
  const float *ref = m->fr + m->cfg.ref_channel;
  const uint32_t mask = m->mask;
  const int dec = m->zc.dec;
  const double inv_dec = 1.0 / dec;
  hr__biquad_t q0 = m->zc.s[0], q1 = m->zc.s[1], q2 = m->zc.s[2];
  double bsum = m->zc_bsum;
  int bcnt = m->zc_bcnt, cnt = 0;
  size_t k = 0;
  for (;;) {
    /* A block's samples are summed in order from 0 whether or not it
     * started in an earlier chunk, so the sums do not depend on chunking. */
    if (bcnt == 0 && k + (size_t)dec <= len) {
      double t = 0.0;
      for (int j = 0; j < dec; j++, k++)
        t += ref[(size_t)((uint32_t)(n0 + (int64_t)k) & mask) * HR__SLOT];
      bsum = t;
    } else {
      for (; bcnt < dec && k < len; bcnt++, k++)
        bsum += ref[(size_t)((uint32_t)(n0 + (int64_t)k) & mask) * HR__SLOT];
      if (bcnt < dec)
        break;
    }
    double y = bsum * inv_dec;
    bsum = 0.0;
    bcnt = 0;
    BIQUAD_STEP(q0, y);
    BIQUAD_STEP(q1, y);
    BIQUAD_STEP(q2, y);
    if (!isfinite(y)) {
      /* Finite samples near FLT_MAX can still overflow the recursion:
       * restart the filter rather than let inf/NaN positions through. */
      q0.x1 = q0.x2 = q0.y1 = q0.y2 = 0.0;
      q1.x1 = q1.x2 = q1.y1 = q1.y2 = 0.0;
      q2.x1 = q2.x2 = q2.y1 = q2.y2 = 0.0;
      y = 0.0;
    }
    ys[cnt] = y;
    ends[cnt] = n0 + (int64_t)k - 1;
    cnt++;
  }
  m->zc.s[0] = q0;
  m->zc.s[1] = q1;
  m->zc.s[2] = q2;
  m->zc_bsum = bsum;
  m->zc_bcnt = bcnt;
  return cnt;
}

/* The crossing the filter output y (decimated sample m->zc_j, its block
 * ending at frame n_last) may complete, with hysteresis so noise near zero
 * cannot make extra crossings. */
static void zc_detect(hr_meter_t *m, double y, int64_t n_last)
{
  const double yo = m->y_prev;
  int crossing = 0;
  if (y >= 0.0) {
    crossing = yo < 0.0 && m->arm_rise;
    if (y > m->zc_hyst)
      m->arm_fall = 1;
  } else {
    crossing = yo >= 0.0 && m->arm_fall ? -1 : 0;
    if (y < -m->zc_hyst)
      m->arm_rise = 1;
  }
  if (crossing) {
    m->n = n_last;
    if (crossing > 0)
      m->arm_rise = 0;
    else
      m->arm_fall = 0;
    /* Where between the two samples the crossing lies.  The band-pass
     * output is a sinusoid at about f_est, sampled h radians apart (h < 0.46
     * at 1-2 kHz).  Linear interpolation s = yo/(yo - y) gives
     * s = u + h^2/6 u(1 - u)(1 - 2u) + O(h^4) for the true fraction u: off
     * by up to 0.23 % of a step at 60 Hz and 1 kHz, which moved single
     * cycles' periods by 0.02 %.  Taking the h^2 term off leaves 2e-5 of a
     * step (5e-5 at 72 Hz). */
    double s = yo / (yo - y);
    double frac = s - m->zc_h2_6 * s * (1.0 - s) * (1.0 - 2.0 * s);
    /* Position on the decimated time line scaled to input samples; the
     * block mean's own delay is part of m->delay. */
    on_crossing(m, ((double)(m->zc_j - 1) + frac) * m->zc.dec, crossing > 0);
  }
  m->y_prev = y;
  m->zc_j++;
}

/* Phase B over frames [m->n, m->n + len) of a chunk, in the order a
 * frame-by-frame meter would do it: after each frame, the crossing its
 * filter block may complete, then whatever fell due.  A clean chunk is
 * filtered in one pass first; a chunk with bad samples is classified and
 * filtered a frame at a time.  In pull mode the queue is checked before
 * every step that can emit records; stopping early rewinds the filter to the
 * frames consumed. */
static size_t chunk_run(hr_meter_t *m, size_t len, int clean, int *full)
{
  const int pull = m->cb == NULL;
  const int64_t n0 = m->n, n_end = n0 + (int64_t)len;
  hr__biquad_t s0[HR__ZC_SECTIONS];
  memcpy(s0, m->zc.s, sizeof s0);
  const double bsum0 = m->zc_bsum;
  const int bcnt0 = m->zc_bcnt;
  double ys[CHUNK];
  int64_t ends[CHUNK];
  int cnt = 0, c = 0;
  if (clean)
    cnt = zc_filter(m, n0, len, ys, ends);
  int64_t n = n0;   /* frames consumed */
  int64_t fed = n0; /* frames given to the flickermeter */
  while (n < n_end) {
    if (pull && m->qcap - m->qcount < QUEUE_RESERVE) {
      *full = 1;
      break;
    }
    if (!clean) {
      m->n = n;
      const uint32_t idx = (uint32_t)n & m->mask;
      if (classify_frame(m, idx)) {
        /* A bad sample on the reference is 0 in the windows, but the
         * band-pass gets the reference's last good value: a step to 0
         * and back would ring through the next cycles' crossings. */
        float *r = m->fr + (size_t)idx * HR__SLOT + m->cfg.ref_channel;
        if (m->zc_sub_n != n - 1)
          m->zc_sub =
              n > 0 ? m->fr[(size_t)((uint32_t)(n - 1) & m->mask) * HR__SLOT + m->cfg.ref_channel]
                    : 0.0f;
        m->zc_sub_n = n;
        *r = m->zc_sub;
        cnt = zc_filter(m, n, 1, ys, ends);
        *r = 0.0f;
      } else {
        cnt = zc_filter(m, n, 1, ys, ends);
      }
      c = 0;
    }
    if (clean) {
      /* Blocks that end before anything falls due and cannot complete a
       * crossing only move the hysteresis arms (zc_detect without a
       * crossing): they need none of the bookkeeping below, and emit
       * nothing, so the queue check above still holds. */
      const int64_t due = m->next_due;
      const int c_from = c;
      while (c < cnt && ends[c] + 1 < due) {
        const double y = ys[c], yo = m->y_prev;
        if (y >= 0.0 ? (yo < 0.0 && m->arm_rise) : (yo >= 0.0 && m->arm_fall))
          break;
        if (y > m->zc_hyst)
          m->arm_fall = 1;
        if (y < -m->zc_hyst)
          m->arm_rise = 1;
        m->y_prev = y;
        m->zc_j++;
        c++;
      }
      if (c > c_from)
        n = ends[c - 1] + 1;
    }
    /* The next frame count at which something happens: a block's crossing
     * test (after its last frame) or a due item. */
    int64_t at_block = c < cnt ? ends[c] + 1 : n_end;
    int64_t at_due = m->next_due > n ? m->next_due : n + 1;
    if (!clean) {
      at_block = cnt ? n + 1 : n_end;
      at_due = n + 1;
    }
    int64_t step = at_block < at_due ? at_block : at_due;
    if (step > n_end)
      step = n_end;
    if (m->flicker && step > fed) {
      /* The flickermeter takes the frames up to this step before anything
       * due at it: its records fall in the same place whatever the blocks. */
      hr__flicker_feed(m, m->flk_x + (size_t)(fed - n0) * (size_t)m->nch_in, (size_t)(step - fed));
      fed = step;
    }
    if (c < cnt && step == ends[c] + 1) {
      zc_detect(m, ys[c], ends[c]);
      c++;
    }
    n = step;
    if (n >= m->next_due) {
      m->n = n;
      process_due(m);
    }
  }
  m->n = n;
  if (m->flicker && n > fed)
    hr__flicker_feed(m, m->flk_x + (size_t)(fed - n0) * (size_t)m->nch_in, (size_t)(n - fed));
  if (*full && clean) {
    /* Rewind: filter only the frames consumed. */
    memcpy(m->zc.s, s0, sizeof s0);
    m->zc_bsum = bsum0;
    m->zc_bcnt = bcnt0;
    zc_filter(m, n0, (size_t)(n - n0), ys, ends);
  }
  return (size_t)(n - n0);
}

/* p[0 .. n) = 0 in constant-size pieces: gcc makes a memset of a bounded
 * variable size (at most a chunk's flags here) a `rep stos`, slow to start
 * on Zen 5, and this runs once per push. */
static inline void zero_u16(uint16_t *p, uint32_t n)
{
  uint32_t i = 0;
  for (; i + 16 <= n; i += 16)
    memset(p + i, 0, 32);
  if (n >= 16) {
    if (i < n)
      memset(p + n - 16, 0, 32); /* the last 16, overlapping: still inside */
    return;
  }
  if (n & 8) {
    memset(p + i, 0, 16);
    i += 8;
  }
  if (n & 4) {
    memset(p + i, 0, 8);
    i += 4;
  }
  if (n & 2) {
    memset(p + i, 0, 4);
    i += 2;
  }
  if (n & 1)
    p[i] = 0;
}

/* True when every sample of the chunk is finite and below its channel's clip
 * level (slot_copy's per-lane verdicts); then phase B skips the per-sample
 * checks. */
static int chunk_is_clean(const hr_meter_t *m, const int32_t *bad_lanes)
{
  int32_t any = 0;
  for (int c = 0; c < m->nch_in; c++)
    any |= bad_lanes[c];
  return any == 0;
}

int hr_meter_push(hr_meter_t *m, const float *frames, size_t n_frames, size_t *n_done)
{
  const int nin = m->nch_in;
  int full = 0, range = 0;
  size_t k = 0;
  /* Frames past the last one whose timestamp fits (see n_max) are refused. */
  const uint64_t room = m->n_max > m->n ? (uint64_t)(m->n_max - m->n) : 0u;
  if (n_frames > room) {
    n_frames = (size_t)room;
    range = 1;
  }
  while (k < n_frames && !full) {
    size_t len = n_frames - k < CHUNK ? n_frames - k : CHUNK;
    const float *x = frames + k * (size_t)nin;
    /* Phase A, split where the ring wraps. */
    uint32_t i0 = (uint32_t)m->n & m->mask;
    uint32_t first = m->ring_len - i0 < len ? m->ring_len - i0 : (uint32_t)len;
    int32_t bad[HR__SLOT] = {0};
#ifdef HAVE_COPY16
    if (m->copy16) {
      chunk_copy16(m, x, i0, first, bad);
      if (first < len)
        chunk_copy16(m, x + (size_t)first * nin, 0, (uint32_t)len - first, bad);
    } else
#endif
    {
      chunk_copy(m, x, i0, first, bad);
      if (first < len)
        chunk_copy(m, x + (size_t)first * nin, 0, (uint32_t)len - first, bad);
    }
    int clean = chunk_is_clean(m, bad);
    if (clean) {
      double acc = m->pcum_acc;
      zero_u16(m->fring + i0, first);
      void (*power)(hr_meter_t *, uint32_t, uint32_t, double *) = chunk_power;
#ifdef HAVE_COPY16
      if (m->power16)
        power = chunk_power16;
#endif
      if (m->need_pcum)
        power(m, i0, first, &acc);
      if (first < len) {
        zero_u16(m->fring, (uint32_t)len - first);
        if (m->need_pcum)
          power(m, 0, (uint32_t)len - first, &acc);
      }
    }
    m->flk_x = x;
    size_t done = chunk_run(m, len, clean, &full);
    /* Commit the running power sum up to the last consumed frame. */
    if (clean && m->need_pcum && done)
      m->pcum_acc = m->pcum[(uint32_t)(m->n - 1) & m->mask];
    k += done;
  }
  m->st.frames += (int64_t)k;
  if (n_done)
    *n_done = k;
  return full ? HR_ERR_FULL : range ? HR_ERR_RANGE : HR_OK;
}
