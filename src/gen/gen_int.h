/* headroom generator internals shared by the files of src/gen. */
#ifndef HR_GEN_INT_H
#define HR_GEN_INT_H

#include <stdint.h>

#include "headroom/gen.h"

#define HR__GEN_PI 3.14159265358979323846
#define HR__GEN_SQRT2 1.41421356237309504880

/* Segment kinds of the AI-rack profile. */
enum { HR__GEN_SEG_IDLE = 0, HR__GEN_SEG_COMPUTE = 1, HR__GEN_SEG_COMM = 2, HR__GEN_SEG_CKPT = 3 };

struct hr_gen {
  hr_gen_cfg_t cfg; /* the caller's configuration, copied */
  int n_u, n_i, n_ch;
  int n_ph;     /* source phases: 1 or 3 */
  int64_t next; /* next sample index */

  double u1_v;    /* fundamental RMS of one line-to-neutral source phase [V] */
  double u_nom_v; /* nominal RMS of a voltage channel (u_v) [V] */
  double i_nom_a; /* nominal RMS of a current channel [A] */
  double phi[3];  /* 120-degree rotation of phase a, b, c [rad] */
  double psi;     /* linear load: current angle vs voltage [rad] (> 0 leads) */

  /* Fractional cycles at absolute time t0 of the signal frequency, of the
   * nominal frequency and of each interharmonic, so that long absolute times
   * keep their precision. */
  double c0_f, c0_nom;
  double c0_uih[HR_GEN_MAX_IHARM], c0_iih[HR_GEN_MAX_IHARM];

  /* Lists in the units the sample path uses: amplitude as a fraction of the
   * fundamental, phase in radians. */
  double uh_amp[HR_GEN_MAX_HARM], uh_ph[HR_GEN_MAX_HARM];
  double ih_amp[HR_GEN_MAX_HARM], ih_ph[HR_GEN_MAX_HARM];
  double uih_amp[HR_GEN_MAX_IHARM], uih_ph[HR_GEN_MAX_IHARM];
  double iih_amp[HR_GEN_MAX_IHARM], iih_ph[HR_GEN_MAX_IHARM];

  /* Changes at sample indices (first sample at or after the stated time). */
  int64_t ev_n0[HR_GEN_MAX_EVENTS], ev_n1[HR_GEN_MAX_EVENTS];
  /* Ramped events: first samples at the residual and back at 100 %. */
  int64_t ev_nr[HR_GEN_MAX_EVENTS], ev_n2[HR_GEN_MAX_EVENTS];
  int64_t amp_n[HR_GEN_MAX_STEPS];
  double amp_gain[HR_GEN_MAX_STEPS];
  int64_t phs_n[HR_GEN_MAX_STEPS];
  double phs_rad[HR_GEN_MAX_STEPS];

  double noise_sd[HR_MAX_CH]; /* [V or A] */
  double dc[HR_MAX_CH];       /* [V or A] */
  uint64_t noise_key;         /* derived from the seed */

  /* AI rack, derived at creation. */
  double rack_p_idle_w;  /* demand before the job and during checkpoints */
  double rack_p_full_w;  /* demand in compute phases (no jitter) */
  double rack_t_iter_s;  /* compute_s + comm_s */
  double rack_t_block_s; /* iterations between checkpoints + checkpoint */
  double rack_t_tr_s;    /* full length of one raised-cosine transition */
  double rack_i_full_a;  /* full-load fundamental current per phase [A] */
  double rack_harm_pw;   /* harmonic power per phase at full harmonic scale,
                          * divided by U1 * i_full [1] */
  double rack_floor;     /* u_min_pct / 100 */
  double rack_end_s;     /* the profile's horizon start_s + HR_GEN_RACK_MAX_ITERS *
                          * rack_t_iter_s: segment indices stay far inside int64
                          * before it */

  int64_t n_end; /* first sample the generator refuses: the first one at or
                  * after rack_end_s for the AI rack, INT64_MAX otherwise */
};

/* First sample index n with n >= t_s * fs_hz (to within 1e-9 sample). */
int64_t hr__gen_sample_at(double t_s, double fs_hz);

/* x - floor(x), in [0, 1). */
double hr__gen_frac(double x);

/* A 64-bit mix of a key (splitmix64's finaliser). */
uint64_t hr__gen_mix64(uint64_t x);

/* Standard normal deviate keyed by (key, n, ch): counter-based, so it depends
 * only on its arguments. */
double hr__gen_gauss(uint64_t key, int64_t n, int ch);

/* AI rack: derives the rack_* fields of g from g->cfg (after check). */
void hr__gen_rack_init(hr_gen_t *g);

/* AI rack: demand [W] at generator time t_s; NaN at or after rack_end_s. */
double hr__gen_rack_demand_w(const hr_gen_t *g, double t_s);

/* Checks the rack part of a configuration; same contract as hr_gen_cfg_check. */
int hr__gen_rack_check(const hr_gen_cfg_t *cfg, hr_diag_t *err);

/* Records an error in err (may be NULL) and returns code.  field is the cfg
 * member; index >= 0 makes it "field[index]" (a list entry). */
int hr__gen_fail(hr_diag_t *err, int code, const char *field, int index, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

#endif
