/* headroom: power-swing analytics for AI loads (HR_REC_SWING).
 *
 * Large synchronous training jobs swing site power at their iteration rate;
 * grid operators limit the ramp rate (W/s over a window) and the oscillation
 * magnitude per frequency band (about 0.1-2 Hz and 3-30 Hz: "Power
 * Stabilization for AI Training Datacenters", arXiv 2508.14318).  These are
 * not standardised measurements; the definitions below are the project's.
 *
 * The stage reads the meter's 1-ms total power series (HR_REC_MS p_total_w:
 * the one-cycle sliding mean of the total instantaneous power, one value per
 * millisecond of sample time) and, for every configured window length N ms,
 * cuts it into gapless windows aligned to the stream start.  For each window:
 *   - the power-envelope spectrum: the DFT of the N values less their mean,
 *     as RMS per bin, S_k = sqrt(2) |X_k| / N for 0 < k < N/2 (S_{N/2} =
 *     |X_{N/2}| / N), bin spacing 1/N ms; sum_k S_k^2 is the variance of the
 *     window (Parseval);
 *   - the energy per band: the mean square of the band's part of the
 *     series, sum of S_k^2 over lo <= f_k <= hi, reported as its square root
 *     band_rms_w (a sinusoidal swing of amplitude A has RMS A / sqrt 2);
 *   - the dominant oscillation: the largest bin of the Hann-windowed spectrum
 *     (0 < k < N/2), refined by the Hann two-bin interpolation to a
 *     frequency and an amplitude (peak, W; at k = 1 towards bin 2 only);
 *   - the maximum ramp rate over each configured ramp window L:
 *     max |P(t) - P(t - L)| / L over the window's ticks t [W/s].
 * Limits: a ramp (any window's ticks) or band (longest spectrum window)
 * above its limit starts an HR_EVT_SWING_LIMIT event; it ends once the value
 * is at or below limit * (1 - hysteresis_pct / 100). */
#ifndef HEADROOM_SWING_H
#define HEADROOM_SWING_H

#ifdef __cplusplus
extern "C" {
#endif

#define HR_SWING_MAX_WINDOWS 4
#define HR_SWING_MAX_BANDS 8
#define HR_SWING_MAX_RAMPS 4
/* Window and ramp lengths: whole milliseconds from 125 ms (spectrum; 1 ms
 * for ramps) to 600 s; a spectrum window's count of ms has no prime factor
 * above 5 (125, 250, 1000, 2000, 10000, 60000 ...), so its FFT is fast. */
#define HR_SWING_WINDOW_MIN_S 0.125
#define HR_SWING_WINDOW_MAX_S 600.0

/* HR_EVT_SWING_LIMIT events: hr_event_rec_t.alarm_index names the limit:
 * k for ramp window k, HR_SWING_BAND_LIMIT0 + b for band b. */
#define HR_SWING_BAND_LIMIT0 16

typedef struct hr_swing_cfg {
  int n_windows;                                 /* 1 .. HR_SWING_MAX_WINDOWS (default 2) */
  double window_s[HR_SWING_MAX_WINDOWS];         /* spectrum windows [s] (default 0.125, 10) */
  int n_bands;                                   /* 0 .. HR_SWING_MAX_BANDS (default 2) */
  double band_lo_hz[HR_SWING_MAX_BANDS];         /* 0 <= lo < hi <= 500 (default 0.1, 3) */
  double band_hi_hz[HR_SWING_MAX_BANDS];         /* (default 2, 30) */
  double band_limit_w[HR_SWING_MAX_BANDS];       /* limit on band_rms_w [W]; 0: none */
  int n_ramps;                                   /* 0 .. HR_SWING_MAX_RAMPS (default 1) */
  double ramp_window_s[HR_SWING_MAX_RAMPS];      /* [s], whole ms (default 1) */
  double ramp_limit_w_per_s[HR_SWING_MAX_RAMPS]; /* limit on |ramp| [W/s]; 0: none */
  double hysteresis_pct;                         /* 0 <= h < 100 (default 10) */
} hr_swing_cfg_t;

/* HR_REC_SWING: one spectrum window (record t_ns, dur_ns: the window's span
 * of 1-ms ticks; flags: those of its ticks). */
typedef struct hr_swing_rec {
  int window;      /* index in cfg.swing.window_s */
  double bin_hz;   /* spectrum resolution 1 / window [Hz] */
  double p_mean_w; /* mean of the window [W] */
  double p_min_w;  /* smallest and largest value: the dynamic range [W] */
  double p_max_w;
  double swing_rms_w; /* RMS of the values less their mean [W] */
  double dom_freq_hz; /* dominant oscillation frequency [Hz] */
  double dom_amp_w;   /* its amplitude (peak of the sinusoid) [W] */
  int n_bands;
  double band_rms_w[HR_SWING_MAX_BANDS]; /* sqrt of the band's mean square [W] */
  int n_ramps;
  double ramp_w_per_s[HR_SWING_MAX_RAMPS]; /* largest |ramp| in the window [W/s]
                                              (signed: its direction); 0 before a
                                              full ramp window of history */
  int n_bins;                              /* N/2 + 1 */
  const double *spectrum_w;                /* S_k for k < n_bins [W]; valid only during the record
                                              callback, NULL in records from hr_meter_pull */
} hr_swing_rec_t;

#ifdef __cplusplus
}
#endif
#endif
