/* headroom: the streaming measurement engine (one object per meter).
 *
 * A meter takes interleaved sample frames (layout.h gives the channel order)
 * and produces timestamped records:
 *   HR_REC_HALF      Urms(1/2) and Irms(1/2) per channel, IEC 61000-4-30 §5.4.2
 *                    (one-cycle window starting at a fundamental zero crossing,
 *                    refreshed every half cycle);
 *   HR_REC_CYCLE     per fundamental cycle: RMS, peak, crest factor, active and
 *                    apparent power, power factor (IEEE 1459-2010 §3.1, §3.2);
 *   HR_REC_MS        every millisecond of sample time: total active power as a
 *                    one-cycle sliding mean, its rate of change, 1-ms peak current;
 *   HR_REC_INTERVAL  the 10/12-cycle basic measurement interval, IEC 61000-4-30 §4.4;
 *   HR_REC_FREQ10S   the Class A 10-s frequency, IEC 61000-4-30 §5.1;
 *   HR_REC_EVENT     dips, swells, interruptions (§5.4, §5.5), rapid voltage
 *                    changes (§5.11), power and current steps, threshold alarms;
 *   HR_REC_HARM      per 10/12-cycle interval: IEC 61000-4-7 harmonics and
 *                    interharmonics, THD, TDD, IEEE 1459-2010 powers
 *                    (harmonics.h; only when asked for in cfg.records);
 *   HR_REC_AGG150    IEC 61000-4-30 §4.5.2: 150 (50 Hz) / 180 (60 Hz) cycles,
 *                    fifteen 10/12-cycle values aggregated;
 *   HR_REC_AGG10MIN  IEC 61000-4-30 §4.5.3: the 10/12-cycle values of a
 *                    10-min interval of the UTC clock aggregated (both only
 *                    when asked for in cfg.records);
 *   HR_REC_FLICKER   per voltage channel: IEC 61000-4-15 flicker severity Pst
 *                    over every clock-aligned 10 min and Plt over every 2 h
 *                    (flicker.h; only when asked for in cfg.records);
 *   HR_REC_SWING     per window of the 1-ms power series: power-envelope
 *                    spectrum, dominant oscillation, band energies, ramp
 *                    rates (swing.h; only when asked for in cfg.records).
 *   HR_REC_PHASOR    synchrophasors, frequency and ROCOF, IEEE C37.118.1
 *                    (phasor.h; only when asked for in cfg.records).
 *
 * Time comes from the sample clock only: sample k is at t0_ns + k/fs_hz.  The
 * results are bit-identical whatever the block sizes given to push.  Nothing
 * is allocated after hr_meter_create.
 *
 * A meter is not thread-safe; use one meter from one thread at a time.
 * Different meters are independent. */
#ifndef HEADROOM_PQ_H
#define HEADROOM_PQ_H

#include <stddef.h>
#include <stdint.h>

#include "headroom/error.h"
#include "headroom/export.h"
#include "headroom/flicker.h"
#include "headroom/harmonics.h"
#include "headroom/layout.h"
#include "headroom/swing.h"
#include "headroom/phasor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hr_rec_kind {
  HR_REC_HALF = 1,
  HR_REC_CYCLE = 2,
  HR_REC_MS = 3,
  HR_REC_INTERVAL = 4,
  HR_REC_FREQ10S = 5,
  HR_REC_EVENT = 6,
  HR_REC_AGG150 = 7,   /* not in HR_RECMASK_ALL: ask for it */
  HR_REC_AGG10MIN = 8, /* not in HR_RECMASK_ALL: ask for it */
  HR_REC_HARM = 9,     /* not in HR_RECMASK_ALL: ask for it */
  HR_REC_PHASOR = 10,  /* synchrophasors (phasor.h); not in HR_RECMASK_ALL */
  HR_REC_FLICKER = 11, /* not in HR_RECMASK_ALL: ask for it */
  HR_REC_SWING = 12    /* power-swing analytics (swing.h); not in HR_RECMASK_ALL */
} hr_rec_kind_t;

#define HR_RECMASK(kind) (1u << (kind))
#define HR_RECMASK_ALL                                                                             \
  (HR_RECMASK(HR_REC_HALF) | HR_RECMASK(HR_REC_CYCLE) | HR_RECMASK(HR_REC_MS) |                    \
   HR_RECMASK(HR_REC_INTERVAL) | HR_RECMASK(HR_REC_FREQ10S) | HR_RECMASK(HR_REC_EVENT))

/* Samples no channel can carry: a voltage at or beyond 100 times the
 * declared peak (sqrt(2) * u_din_v), a current at or beyond 1e9 A.  Such a
 * sample is a corrupt word, handled as a NaN (HR_FLAG_BAD_SAMPLE). */
#define HR_U_CORRUPT_PU 100.0
#define HR_I_CORRUPT_A 1e9

/* Every timestamp a meter produces (and the 10-s tick after its last
 * sample) stays inside int64: t0_ns must be at least HR_T_MARGIN_NS inside
 * the range (hr_meter_cfg_check), and hr_meter_push refuses frames whose
 * time would come closer than that to INT64_MAX, or that would make the
 * stream longer than 2^62 ns (146 years). */
#define HR_T_MARGIN_NS INT64_C(20000000000)

/* Record flags.  A flagged value is still computed, but must not be trusted
 * as a normal measurement. */
enum {
  /* A bad sample fell in the window: NaN, infinite, or a corrupt value at
   * or beyond HR_U_CORRUPT_PU times the declared peak voltage (voltage
   * channels) or HR_I_CORRUPT_A (current channels); it was counted as 0. */
  HR_FLAG_BAD_SAMPLE = 1u << 0,
  /* A sample at or beyond the configured clip level fell in the window. */
  HR_FLAG_CLIPPED = 1u << 1,
  /* No fundamental zero crossing was found: the window boundaries free-run
   * at the last good frequency (or the nominal one). */
  HR_FLAG_NO_ZC = 1u << 2,
  /* The measured frequency is outside the tracking range around nominal. */
  HR_FLAG_FREQ_RANGE = 1u << 3,
  /* IEC 61000-4-30 §4.7: the window overlaps a dip, swell or interruption. */
  HR_FLAG_EVENT = 1u << 4,
  /* The window starts before the zero-crossing filter has settled; a 10-s
   * frequency or 10-min aggregate whose clock interval began before the
   * stream (incomplete). */
  HR_FLAG_STARTUP = 1u << 5,
  /* The window is not made of the expected number of half cycles. */
  HR_FLAG_IRREGULAR = 1u << 6,
  /* An event record closed by hr_meter_finish: the stream ended during the
   * event, so its duration is a lower bound. */
  HR_FLAG_OPEN = 1u << 7,
  /* An event end record that withdraws the event its start notice announced:
   * an RVC during which a dip or swell began is not an RVC (IEC 61000-4-30
   * §5.11); the end is where it was discarded. */
  HR_FLAG_CANCELLED = 1u << 8
};

typedef enum hr_event_type {
  HR_EVT_DIP = 1,          /* IEC 61000-4-30 §5.4.2 */
  HR_EVT_SWELL = 2,        /* IEC 61000-4-30 §5.4.3 */
  HR_EVT_INTERRUPTION = 3, /* IEC 61000-4-30 §5.5 */
  HR_EVT_RVC = 4,          /* IEC 61000-4-30 §5.11 rapid voltage change */
  HR_EVT_POWER_STEP = 5,   /* total active power swing (1-ms series) */
  HR_EVT_CURRENT_STEP = 6, /* largest phase Irms(1/2) swing */
  HR_EVT_ALARM = 7,        /* configured threshold crossing with hysteresis */
  HR_EVT_SWING_LIMIT = 8   /* ramp-rate or band limit of the swing stage (swing.h) */
} hr_event_type_t;

/* Metrics that alarms can watch, with the series they are evaluated on. */
typedef enum hr_metric {
  HR_METRIC_P_TOTAL_W = 1, /* 1-ms series: one-cycle sliding mean of total P [W] */
  HR_METRIC_DPDT_W_PER_S,  /* 1-ms series: dP/dt [W/s] */
  HR_METRIC_I_PEAK_A,      /* 1-ms series: largest |i| over phase currents [A] */
  HR_METRIC_I_RMS_A,       /* half-cycle series: largest phase Irms(1/2) [A] */
  HR_METRIC_U_RMS_V,       /* half-cycle series: smallest (alarm below) or largest
                              (alarm above) Urms(1/2) [V] */
  HR_METRIC_FREQ_HZ        /* cycle series: per-cycle frequency [Hz] */
} hr_metric_t;

#define HR_MAX_ALARMS 8

typedef struct hr_alarm_cfg {
  hr_metric_t metric;
  int above;         /* 1: alarm while metric > threshold; 0: while metric < threshold */
  double threshold;  /* in the metric's unit */
  double hysteresis; /* in the metric's unit, >= 0: the alarm ends once the metric is
                        back past threshold -/+ hysteresis */
} hr_alarm_cfg_t;

/* Meter configuration.  Start from hr_meter_cfg_init() and change fields. */
typedef struct hr_meter_cfg {
  double fs_hz;    /* sample rate [Hz], 2000 <= fs_hz <= 50000, a multiple of 0.001 Hz */
  double f_nom_hz; /* nominal frequency [Hz], 50 or 60 */
  double u_din_v;  /* declared input voltage Udin [V] > 0: line-to-neutral for
                      1P2W and 3P4W, line-to-line for 3P3W (IEC 61000-4-30 §3.9) */
  hr_layout_t layout;
  int has_in;       /* 3P4W only: the frame carries a measured neutral current */
  int64_t t0_ns;    /* timestamp of the first sample [ns since the Unix epoch],
                       |t0_ns| <= INT64_MAX - HR_T_MARGIN_NS */
  int ref_channel;  /* voltage channel whose zero crossings define the windows,
                       0 <= ref_channel < number of voltage channels */
  double track_pct; /* frequency tracking range, % of f_nom_hz either side,
                       1 <= track_pct <= 40 (default 20: 40-60 Hz at 50 Hz) */
  unsigned records; /* which records are produced, HR_RECMASK(...) bits */
  double u_clip_v;  /* |u| >= u_clip_v flags HR_FLAG_CLIPPED; 0 disables */
  double i_clip_a;  /* |i| >= i_clip_a flags HR_FLAG_CLIPPED; 0 disables */

  /* IEC 61000-4-30 §5.4, §5.5: thresholds in % of u_din_v. */
  double dip_pct;          /* dip threshold, default 90 */
  double swell_pct;        /* swell threshold, default 110 */
  double interruption_pct; /* interruption threshold, default 5 */
  double hysteresis_pct;   /* default 2 */
  /* IEC 61000-4-30 §5.11: RVC threshold and hysteresis in % of u_din_v;
   * rvc_pct = 0 disables RVC detection. */
  double rvc_pct;            /* default 3 */
  double rvc_hysteresis_pct; /* default 1.5, < rvc_pct */

  /* AI-load steps: an event when the series swings by more than step_pct of
   * base within window_ms.  base <= 0 disables the detector. */
  double p_step_base_w;    /* base for the total active power [W] */
  double p_step_pct;       /* default 20 */
  double p_step_window_ms; /* 1 <= window <= 1000, default 20 */
  double i_step_base_a;    /* base for the largest phase Irms(1/2) [A] */
  double i_step_pct;       /* default 20 */
  double i_step_window_ms; /* 10 <= window <= 5000, default 50 */

  hr_alarm_cfg_t alarms[HR_MAX_ALARMS];
  int n_alarms; /* 0 <= n_alarms <= HR_MAX_ALARMS */

  size_t queue_len; /* records held for hr_meter_pull when no callback is set,
                       256 <= queue_len <= 1<<20, default 4096 */

  /* HR_REC_HARM: the maximum demand load current I_L of IEEE 519 that TDD is
   * relative to [A], >= 0 and finite; 0 (default): no TDD. */
  double harm_i_demand_a;

  /* HR_REC_SWING and its limit events: power-swing analytics on the 1-ms
   * total power series (swing.h; only when asked for in cfg.records). */
  hr_swing_cfg_t swing;
  /* HR_REC_PHASOR (phasor.h): reports per second, one of the C37.118.1
   * rates (50 Hz: 10, 25, 50; 60 Hz: 10, 12, 15, 20, 30, 60; default
   * f_nom_hz), and the performance class (HR_PHASOR_P, default, or
   * HR_PHASOR_M). */
  int phasor_rate_fps;
  int phasor_class;
  /* HR_REC_FLICKER: the IEC 61000-4-15 lamp model, 230 or 120 [V]
   * (default: 230 in 50 Hz systems, 120 in 60 Hz systems). */
  int flicker_lamp_v;
} hr_meter_cfg_t;

typedef struct hr_half_rec {
  double u_rms_v[HR_MAX_U]; /* Urms(1/2) per voltage channel [V] */
  double i_rms_a[HR_MAX_I]; /* Irms(1/2) per current channel [A] (neutral last) */
} hr_half_rec_t;

typedef struct hr_cycle_rec {
  double freq_hz;            /* this cycle's frequency from its zero crossings [Hz] */
  double u_rms_v[HR_MAX_U];  /* [V] */
  double i_rms_a[HR_MAX_I];  /* [A] */
  double u_peak_v[HR_MAX_U]; /* largest |u| sample in the cycle [V] */
  double i_peak_a[HR_MAX_I]; /* [A] */
  double u_crest[HR_MAX_U];  /* peak / RMS; 0 when RMS is 0 */
  double i_crest[HR_MAX_I];
  double p_w[3];     /* active power per phase [W]; 3P3W: against the artificial star point */
  double s_va[3];    /* apparent power per phase U*I [VA] */
  double pf[3];      /* P/S per phase; 0 when S is 0 */
  double p_total_w;  /* total active power [W] */
  double s_arith_va; /* arithmetic sum of the phase apparent powers [VA] */
  double u_eff_v;    /* IEEE 1459-2010 §3.2.2.5 effective voltage Ve [V] */
  double i_eff_a;    /* IEEE 1459-2010 §3.2.2.5 effective current Ie [A] */
  double s_eff_va;   /* IEEE 1459-2010 effective apparent power Se = 3 Ve Ie [VA] */
  double pf_total;   /* P / Se */
} hr_cycle_rec_t;

typedef struct hr_ms_rec {
  double p_total_w;    /* one-cycle sliding mean of total instantaneous power [W] */
  double dpdt_w_per_s; /* (P(t) - P(t - 1 ms)) / 1 ms [W/s] */
  double i_peak_a;     /* largest |i| over the phase currents in this ms [A] */
} hr_ms_rec_t;

typedef struct hr_interval_rec {
  int n_cycles; /* 10 at 50 Hz, 12 at 60 Hz */
  double freq_hz;
  double u_rms_v[HR_MAX_U];
  double i_rms_a[HR_MAX_I];
  double p_w[3];
  double p_total_w;
  double s_eff_va;
  double pf_total;
} hr_interval_rec_t;

typedef struct hr_freq_rec {
  double freq_hz; /* integral cycles / their duration (IEC 61000-4-30 §5.1.2) */
  int n_cycles;
  double span_s; /* duration of those cycles [s] */
} hr_freq_rec_t;

/* HR_REC_AGG150 and HR_REC_AGG10MIN (IEC 61000-4-30 §4.5): the 10/12-cycle
 * values (HR_REC_INTERVAL) of the aggregation interval, magnitudes combined
 * as the square root of the mean of their squares (§4.5.1), powers and
 * frequency as their arithmetic mean.  The 10/12-cycle intervals restart at
 * every 10-min tick of the clock (§4.5.3): the one the tick falls in runs to
 * its end and is aggregated into the 10-min interval it started in, and a new
 * one starts with the first cycle that starts at or after the tick (the two
 * overlap).  A 150/180-cycle interval is always fifteen values: the one in
 * progress at the tick goes on to fifteen, and a new one starts with the
 * first value after the tick (they overlap too).
 * agg150: t_ns, dur_ns span the first to the last value.  agg10min: t_ns is
 * the 10-min tick that begins the interval, dur_ns 600 s (the values span
 * up to one 10/12-cycle interval past its end).  Flags: every flag of the
 * values (HR_FLAG_EVENT: a dip, swell or interruption overlapped one,
 * §4.7); agg10min also HR_FLAG_STARTUP when the stream began after the
 * interval's tick.  hr_meter_finish emits no incomplete aggregate. */
typedef struct hr_agg_rec {
  int n_values;             /* 10/12-cycle values aggregated */
  int n_cycles;             /* fundamental cycles they hold */
  double freq_hz;           /* mean of the values' frequencies [Hz] */
  double u_rms_v[HR_MAX_U]; /* sqrt(mean(Urms^2)) per voltage channel [V] */
  double i_rms_a[HR_MAX_I]; /* sqrt(mean(Irms^2)) per current channel [A] */
  double p_w[3];            /* mean active power per phase [W] */
  double p_total_w;         /* mean total active power [W] */
} hr_agg_rec_t;

/* HR_REC_HARM: the compact part of harmonics.h's hr_harm_t for one
 * 10/12-cycle interval (t_ns, dur_ns: the window).  THD with H = h_max
 * (50) from harmonic subgroups; the IEEE 1459-2010 system quantities. */
typedef struct hr_harm_rec {
  int n_cycles;
  int h_max;                  /* HR_HARM_H_MAX, the H of the THD */
  double freq_hz;             /* n_cycles / window [Hz] */
  double u_thd_pct[HR_MAX_U]; /* THDS per voltage channel [%] */
  double i_thd_pct[HR_MAX_I]; /* THDS per current channel [%] */
  double i_tdd_pct[HR_MAX_I]; /* TDD against cfg.harm_i_demand_a [%], 0 without one */
  double u_h_v[HR_MAX_U][3];  /* subgroups of orders 3, 5, 7 [V] */
  double i_h_a[HR_MAX_I][3];  /* subgroups of orders 3, 5, 7 [A] */
  double p_w, p1_pos_w, q1_pos_var, s1_pos_va;    /* P, positive-sequence P1+, Q1+, S1+ */
  double s_eff_va, s_eff1_va, s_effn_va, s_u1_va; /* Se, Se1, SeN, unbalance SU1 */
  double pf, pf1_pos;                             /* P/Se, P1+/S1+ */
  double u2_pct, u0_pct, i2_pct, i0_pct; /* unbalance (fundamental symmetrical components) */
  const hr_harm_t *detail;               /* the full result; valid only during the record
                                            callback, NULL in records from hr_meter_pull */
} hr_harm_rec_t;

typedef struct hr_event_rec {
  hr_event_type_t type;
  int ended;           /* 0: the event has started (a notice, sent at detection);
                          1: the event is over and the fields below are final.
                          Every start notice is followed by an end record, which
                          carries HR_FLAG_CANCELLED when the event was withdrawn */
  unsigned channels;   /* bit k: channel k took part (voltage channels for
                          dips/swells/interruptions/RVC, current channels for
                          current steps) */
  int64_t start_ns;    /* when the event began (sample clock) */
  int64_t duration_ns; /* ended only; 0 in a start notice */
  double extreme;      /* dip/interruption: residual voltage, the lowest Urms(1/2) [V];
                          swell: highest Urms(1/2) [V]; RVC: dUmax [V];
                          step: value at the end of the swing; alarm, swing limit: the
                          most extreme metric value (swing limit: |ramp| [W/s] or
                          band_rms_w [W]) */
  double depth_pct;    /* dip/interruption: (Udin - residual)/Udin*100;
                          swell: (max - Udin)/Udin*100; RVC: dUmax/Udin*100;
                          step: swing in % of its base; swing limit: extreme in % of
                          the limit */
  double delta;        /* RVC: dUss [V]; step: signed swing (to - from) [W or A] */
  double from;         /* step: value before the swing; swing limit: the limit */
  int alarm_index;     /* alarm: index in cfg.alarms; swing limit: which limit
                          (HR_SWING_BAND_LIMIT0, swing.h); -1 otherwise */
} hr_event_rec_t;

typedef struct hr_record {
  hr_rec_kind_t kind;
  uint32_t flags; /* HR_FLAG_* */
  int64_t t_ns;   /* window start; for events and 10-s frequency, see below */
  int64_t dur_ns; /* window length; 0 for events (their own fields say) */
  int n_u;        /* voltage channels in this meter's arrays */
  int n_i;        /* current channels (including a measured or derived neutral) */
  union {
    hr_half_rec_t half;
    hr_cycle_rec_t cycle;
    hr_ms_rec_t ms;
    hr_interval_rec_t interval;
    hr_freq_rec_t freq;
    hr_event_rec_t event; /* t_ns: when the engine decided (detection latency = t_ns - start_ns) */
    hr_harm_rec_t harm;
    hr_agg_rec_t agg;
    hr_swing_rec_t swing;
    hr_phasor_rec_t phasor;   /* t_ns: the report time (window centre); dur_ns: window span */
    hr_flicker_rec_t flicker; /* t_ns, dur_ns: the 10-min (Pst) or 2-h (Plt) interval */
  } u;
} hr_record_t;

/* Called for every record as soon as it is final.  rec is valid only during
 * the call; user is the pointer given to hr_meter_set_callback. */
typedef void (*hr_record_cb)(const hr_record_t *rec, void *user);

typedef struct hr_meter hr_meter_t;

/* Counters for diagnostics.  All counts since create or reset. */
typedef struct hr_meter_stats {
  int64_t frames;          /* frames consumed */
  int64_t bad_samples;     /* NaN/Inf samples counted as 0 */
  int64_t first_bad_frame; /* frame index of the first one, -1 if none */
  int first_bad_channel;   /* its channel, -1 if none */
  int64_t clipped_samples;
  int64_t first_clipped_frame;
  int64_t zero_crossings; /* accepted fundamental zero crossings */
  int64_t freerun_halves; /* half cycles whose end was synthesised (no crossing) */
  int64_t records;        /* records produced */
} hr_meter_stats_t;

/* Fills cfg with defaults for the given rate, nominal frequency, declared
 * voltage and layout (every other field as documented above). */
HR_API int hr_meter_cfg_init(hr_meter_cfg_t *cfg, double fs_hz, double f_nom_hz, double u_din_v,
                             hr_layout_t layout);

/* Checks a configuration.  Returns HR_OK, or HR_ERR_INVALID_ARG / HR_ERR_RANGE.
 * diag (may be NULL) is cleared, and on failure names the setting in field
 * ("fs_hz", "alarms[2].metric") and the rule in message, without the field
 * ("must be between 2000 and 50000 Hz (got 1000)"). */
HR_API int hr_meter_cfg_check(const hr_meter_cfg_t *cfg, hr_diag_t *diag);

/* Creates a meter.  The configuration is copied.  On success *out owns the
 * meter, released with hr_meter_destroy.  Errors: as hr_meter_cfg_check,
 * HR_ERR_NOMEM. */
HR_API int hr_meter_create(const hr_meter_cfg_t *cfg, hr_meter_t **out);

/* Releases a meter and everything it allocated.  NULL is allowed. */
HR_API void hr_meter_destroy(hr_meter_t *m);

/* Returns the meter to its state right after create (same configuration). */
HR_API void hr_meter_reset(hr_meter_t *m);

/* Delivers records through cb instead of the pull queue (cb = NULL returns to
 * the queue).  user is passed through untouched. */
HR_API void hr_meter_set_callback(hr_meter_t *m, hr_record_cb cb, void *user);

/* Number of values in one frame for this meter (voltages + currents). */
HR_API int hr_meter_frame_len(const hr_meter_t *m);

/* Consumes n_frames interleaved frames (hr_meter_frame_len values each).
 * frames is only read during the call.  *n_done (may be NULL) receives the
 * number of frames consumed.  Returns HR_OK when all were consumed,
 * HR_ERR_FULL when the pull queue filled up first (pull, then push the rest),
 * or HR_ERR_RANGE when the stream reached the last frame whose timestamp
 * fits (HR_T_MARGIN_NS): the frames up to it were consumed, no later one
 * ever is.  Never fails otherwise: bad samples are flagged in the records. */
HR_API int hr_meter_push(hr_meter_t *m, const float *frames, size_t n_frames, size_t *n_done);

/* Ends the stream: every event still in progress (dip, swell, interruption,
 * RVC, swing, alarm) gets its end record now, flagged HR_FLAG_OPEN, with the
 * duration up to the last processed value of the series it was found on (the
 * last half-cycle boundary, or the last 1-ms tick); never negative.  Samples pushed afterwards
 * start new events.  With the pull queue, pull first: returns HR_ERR_FULL when fewer than 34 slots
 * are free, and emits nothing then. */
HR_API int hr_meter_finish(hr_meter_t *m);

/* Takes the oldest queued record.  Returns 1 and fills *out when there was
 * one, 0 when the queue is empty. */
HR_API int hr_meter_pull(hr_meter_t *m, hr_record_t *out);

/* Copies the counters. */
HR_API void hr_meter_get_stats(const hr_meter_t *m, hr_meter_stats_t *out);

/* Static names for JSON and messages: "half", "cycle", ...; "dip", "swell", ... */
HR_API const char *hr_rec_kind_name(hr_rec_kind_t kind);
HR_API const char *hr_event_type_name(hr_event_type_t type);
HR_API const char *hr_metric_name(hr_metric_t metric);
HR_API int hr_metric_parse(const char *name, hr_metric_t *out);

#ifdef __cplusplus
}
#endif
#endif
