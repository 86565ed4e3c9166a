/* headroom: synchrophasors, frequency and ROCOF (IEEE C37.118.1-2011 with
 * C37.118.1a-2014), as the meter delivers them with HR_REC_PHASOR records.
 *
 * The meter computes them when cfg.records has HR_RECMASK(HR_REC_PHASOR)
 * (off in HR_RECMASK_ALL).  Reports come cfg.phasor_rate_fps times a second
 * at the times t = S + n / rate (S a whole second of the sample clock,
 * n = 0 .. rate - 1: C37.118.1 §4.3, reporting times aligned to the second);
 * each report's timestamp is the centre of its (symmetric) window.
 *
 * P class (C37.118.1 Annex C, C.2): every channel is demodulated by the
 * nominal-frequency reference cos(2 pi f0 t) of the second and low-passed by
 * the two-cycle triangular filter W(t) = 1 - |t| f0, |t| < 1/f0, the
 * standard's W(k) = 1 - 2|k|/(N + 2) taken as a function of time, so that
 * the window stays exactly two nominal cycles long and centred on the
 * report time when fs/f0 is not an integer (8000/60) and the report time
 * falls between samples.  Gain: sqrt(2) / sum of the weights.  Off-nominal
 * magnitude correction: divided by the filter's exact response at the
 * measured frequency offset dF, sinc^2(dF / f0), of which Annex C's
 * sin(pi (f0 + 1.625 dF) / (2 f0)) is the second-order approximation.
 *
 * M class: the same demodulation with Annex C's M-class filter, a
 * Hamming-windowed sinc sin(2 pi 2 Ffr t) / (2 pi 2 Ffr t), with the Ffr and
 * order N of Table C.1 for the reporting rate (N samples at 960 Hz for 60-Hz
 * systems, 1 kHz for 50-Hz ones; values from a public reproduction, see
 * src/pq/phasor.c and docs/measurements.md); frequency and ROCOF through a
 * Hann-windowed sinc of 0.7 times that cut-off, half a cycle shorter either
 * side, so the reporting latency is the phasor window's half-length.
 *
 * Frequency and ROCOF (one pair per report, as in a C37.118.2 data frame):
 * from the angle theta of the voltage positive sequence (3P3W, 3P4W) or the
 * one voltage (1P2W), evaluated at the report time t and at t +/- h with
 * h = half a nominal cycle: f = f0 + (theta(t+h) - theta(t-h)) / (4 pi h),
 * ROCOF = (theta(t+h) - 2 theta(t) + theta(t-h)) / (2 pi h^2) (the
 * C37.118.1a-2014 Annex C formulas with the sample step replaced by h: a
 * half-cycle step nulls the ripple at 2 f0 that a one-phase signal leaves). */
#ifndef HEADROOM_PHASOR_H
#define HEADROOM_PHASOR_H

#include "headroom/layout.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Performance classes of C37.118.1 §5.1. */
typedef enum hr_phasor_class {
  HR_PHASOR_P = 1, /* protection: short two-cycle window */
  HR_PHASOR_M = 2  /* measurement: longer window, rejects out-of-band signals */
} hr_phasor_class_t;

/* One report.  Magnitudes are RMS phasor magnitudes (V, A); angles in
 * degrees, (-180, 180], against the cosine of nominal frequency that peaks
 * at every whole second of the sample clock (C37.118.1 §4.2). */
typedef struct hr_phasor_rec {
  int rate_fps;                      /* reports per second */
  int pclass;                        /* hr_phasor_class_t */
  double freq_hz;                    /* frequency [Hz] */
  double rocof_hz_per_s;             /* rate of change of frequency [Hz/s] */
  double u_mag_v[HR_MAX_U];          /* per voltage channel [V] */
  double u_ang_deg[HR_MAX_U];        /* [deg] */
  double i_mag_a[HR_MAX_I];          /* per current channel, neutral last [A] */
  double i_ang_deg[HR_MAX_I];        /* [deg] */
  double u_pos_mag_v, u_pos_ang_deg; /* positive sequence (Ua + a Ub + a^2 Uc)/3 of the
                                        voltage channels as measured (3P3W: line-to-line);
                                        1P2W: 0 */
  double i_pos_mag_a, i_pos_ang_deg; /* positive sequence of ia, ib, ic; 1P2W: 0 */
} hr_phasor_rec_t;

#ifdef __cplusplus
}
#endif
#endif
