/* headroom: harmonics (IEC 61000-4-7) and IEEE 1459-2010 powers of one
 * 10/12-cycle window, as the meter delivers them with HR_REC_HARM records.
 *
 * The meter computes them when cfg.records has HR_RECMASK(HR_REC_HARM) (off
 * in HR_RECMASK_ALL: it costs time, see docs/performance.md).  Every
 * IEC 61000-4-30 §4.4 basic interval (10 cycles at 50 Hz, 12 at 60 Hz,
 * gapless, bounded by the reference channel's fundamental zero crossings)
 * is resampled to a power-of-two number of points spanning exactly that
 * window, so the DFT bins are 1/(window) apart (5 Hz at nominal frequency)
 * and bin k = n_cycles * h holds harmonic h whatever the sample rate and the
 * fundamental (IEC 61000-4-7 Ed.2: the rectangular window spans 10/12
 * fundamental periods within ±0.03 %).
 *
 * The compact part travels in hr_record_t (hr_harm_rec_t, pq.h); the full
 * spectrum in an hr_harm_t that rec->u.harm.detail points to.  That pointer
 * is valid only during the record callback (hr_meter_set_callback): records
 * taken from the pull queue carry detail = NULL. */
#ifndef HEADROOM_HARMONICS_H
#define HEADROOM_HARMONICS_H

#include "headroom/layout.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Highest harmonic order measured and summed in THD (IEC 61000-4-30 Class A
 * uses 50; IEC 61000-4-7 names 40 as the usual one). */
#define HR_HARM_H_MAX 50

/* One channel's spectrum over the window, RMS values in the channel's unit
 * (V or A).  Index n is the harmonic order (0 unused for the harmonic
 * arrays: dc_rms holds the DC part).  Interharmonic index n is the band
 * between orders n and n + 1 (n = 0: above DC, below the fundamental). */
typedef struct hr_harm_chan {
  double rms;                          /* true RMS over the window (every bin) */
  double dc;                           /* mean value (bin 0), signed */
  double sg[HR_HARM_H_MAX + 1];        /* harmonic subgroup G_sg,n (IEC 61000-4-7) */
  double g[HR_HARM_H_MAX + 1];         /* harmonic group G_g,n (IEC 61000-4-7) */
  double bin[HR_HARM_H_MAX + 1];       /* the single bin of order n (C_k, k = N_cyc * n) */
  double phase_deg[HR_HARM_H_MAX + 1]; /* angle of bin n minus n times the angle of the
                                          reference channel's fundamental, (-180, 180],
                                          cosine reference: independent of where the
                                          window starts */
  double isg[HR_HARM_H_MAX + 1];       /* centred interharmonic subgroup between n and
                                          n + 1 (index 50: above 50, up to 50.5) */
  double ig[HR_HARM_H_MAX + 1];        /* interharmonic group between n and n + 1 */
  double thd_pct;                      /* THDS: subgroups 2..H_MAX over subgroup 1 [%] */
  double thdg_pct;                     /* THDG: groups 2..H_MAX over group 1 [%] */
} hr_harm_chan_t;

/* IEEE 1459-2010 single-phase quantities (§3.1), from the window's
 * fundamental bin phasors and true RMS values.  Units V, A, W, var, VA. */
typedef struct hr_p1459_phase {
  double v, i;          /* true RMS V, I */
  double v1, i1;        /* fundamental RMS V1, I1 */
  double vh, ih;        /* non-fundamental RMS V_H = sqrt(V^2 - V1^2), I_H */
  double p, p1, ph;     /* active P (mean of v*i), fundamental P1, harmonic P_H = P - P1 */
  double q1;            /* fundamental reactive power V1 I1 sin(theta1), > 0 inductive */
  double s, s1, sn;     /* S = V I, S1 = V1 I1, SN = sqrt(S^2 - S1^2) */
  double d_i, d_v, s_h; /* current distortion V1 I_H, voltage distortion V_H I1, S_H = V_H I_H */
  double d_h;           /* harmonic distortion power sqrt(S_H^2 - P_H^2) */
  double pf, pf1;       /* true P/S, displacement P1/S1 (0 when the divisor is 0) */
  double thd_v, thd_i;  /* V_H/V1, I_H/I1 (IEEE 1459 form: every non-fundamental bin) */
} hr_p1459_phase_t;

/* IEEE 1459-2010 three-phase quantities (§3.2).  Effective values: 4-wire
 * (3P4W) Ie = sqrt((Ia^2+Ib^2+Ic^2+In^2)/3), Ve = sqrt((3(Va^2+Vb^2+Vc^2) +
 * Vab^2+Vbc^2+Vca^2)/18); 3-wire (3P3W) Ie = sqrt((Ia^2+Ib^2+Ic^2)/3),
 * Ve = sqrt((Vab^2+Vbc^2+Vca^2)/9).  For 1P2W they are the phase values. */
typedef struct hr_p1459_sys {
  double ve, ie, ve1, ie1, veh, ieh; /* effective, fundamental, non-fundamental */
  double p, p1;                      /* total active and fundamental active power */
  double se, se1, sen;               /* Se = 3 Ve Ie, Se1 = 3 Ve1 Ie1, SeN = sqrt(Se^2 - Se1^2) */
  double de_i, de_v, se_h;           /* 3 Ve1 IeH, 3 VeH Ie1, 3 VeH IeH */
  double p1_pos, q1_pos, s1_pos;     /* positive sequence: 3 V1+ I1+ cos, sin, and product */
  double su1;                        /* fundamental unbalance power sqrt(Se1^2 - S1+^2) */
  double pf, pf1_pos;                /* P/Se, P1+/S1+ */
  double harm_pollution;             /* SeN/Se1 */
  /* Symmetrical components of the fundamental phasors, RMS (phase-to-neutral
   * voltages; 3P3W: of the artificial star, so the zero sequence is 0). */
  double v_pos, v_neg, v_zero, i_pos, i_neg, i_zero;
  double u2_pct, u0_pct; /* V-/V+, V0/V+ [%], IEC 61000-4-30 §5.7 */
  double i2_pct, i0_pct; /* I-/I+, I0/I+ [%] */
} hr_p1459_sys_t;

/* Everything measured over one window. */
typedef struct hr_harm {
  int n_cycles;   /* 10 (50 Hz) or 12 (60 Hz) */
  int n_points;   /* resampled points per window (a power of two) */
  int h_max;      /* HR_HARM_H_MAX: the H of THD */
  double freq_hz; /* n_cycles / window duration [Hz] */
  int n_u, n_i;   /* channels, layout order (currents include the neutral) */
  hr_harm_chan_t u[HR_MAX_U];
  hr_harm_chan_t i[HR_MAX_I];
  double tdd_pct[HR_MAX_I]; /* sqrt(sum_{h=2..H} I_sg,h^2) / cfg.harm_i_demand_a [%]
                               (IEEE 519); 0 when no demand current is configured */
  int n_phase;              /* 1 or 3 */
  hr_p1459_phase_t ph[3];   /* 3P3W: against the artificial star point */
  hr_p1459_sys_t sys;
} hr_harm_t;

#ifdef __cplusplus
}
#endif
#endif
