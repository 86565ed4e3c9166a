/* headroom: the deterministic waveform generator.
 *
 * Produces interleaved float32 frames of voltages [V] and currents [A] in the
 * channel order of headroom/layout.h, from a configuration whose every
 * parameter is exact, so that a test can compute the true answer.  The signal
 * model is written out in docs/gen.md; in short:
 *
 *   t_n    = n / fs_hz                      generator time of sample n [s]
 *   tabs_n = t0_ns * 1e-9 + t_n             absolute time of sample n [s]
 *   theta  = 2*pi*(f_hz*tabs_n + R*Q(t_n)) + phase steps + ka*cos(2*pi*f_pm*t_n - pi)
 *   E_k    = (1 + kx*cos(2*pi*f_am*t_n)) * amplitude steps * events on phase k
 *   v_k    = sqrt2*U1*E_k*[cos(theta+phi_k) + sum_h a_h cos(h(theta+phi_k)+alpha_h)
 *                          + sum_j b_j cos(2*pi*f_j*tabs_n + beta_j + phi_k)]
 *
 * with phi_a = 0, phi_b = -120 deg, phi_c = +120 deg, U1 the fundamental RMS
 * line-to-neutral voltage and Q(t) the integral of the frequency ramp.  3P3W
 * channels are the differences of the line-to-neutral source voltages
 * (uab = ua - ub, ...) and its line currents carry no zero-sequence part.
 * Noise and DC offset are measurement effects added to each output channel.
 *
 * Determinism: every sample is a closed-form function of its index n, the
 * configuration and the seed; noise comes from a counter-based generator keyed
 * by (seed, n, channel).  Any sequence of hr_gen_fill calls therefore yields
 * exactly the same bits as one large call, and hr_gen_seek can jump anywhere.
 *
 * Times of events, steps, ramps and the AI-rack profile are generator time t_n
 * [s] from the first sample.  A change stated at time T takes effect at the
 * first sample n with n >= T*fs_hz (to within 1e-9 sample), never smoothed
 * unless a ramp is asked for.
 *
 * Memory: hr_gen_create allocates once; hr_gen_fill, hr_gen_seek and the truth
 * queries never allocate.  A generator is not thread-safe; different
 * generators are independent. */
#ifndef HEADROOM_GEN_H
#define HEADROOM_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "headroom/error.h"
#include "headroom/export.h"
#include "headroom/layout.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Capacities of the lists in hr_gen_cfg_t. */
#define HR_GEN_MAX_HARM 50   /* harmonics per list (voltage, current) */
#define HR_GEN_MAX_IHARM 16  /* interharmonics per list */
#define HR_GEN_MAX_EVENTS 32 /* dips, swells and interruptions together */
#define HR_GEN_MAX_STEPS 16  /* amplitude steps; phase steps */
#define HR_GEN_MAX_ORDER 200 /* highest harmonic order accepted */

/* Phase selection bits for events.  For 3P3W they name the phases of the
 * line-to-neutral source behind the line-to-line channels; for 1P2W only
 * HR_GEN_PHASE_A exists (other bits are ignored). */
enum { HR_GEN_PHASE_A = 1, HR_GEN_PHASE_B = 2, HR_GEN_PHASE_C = 4, HR_GEN_PHASE_ALL = 7 };

/* What draws the current. */
typedef enum hr_gen_load {
  HR_GEN_LOAD_NONE = 0,   /* currents are zero (plus noise and DC offset) */
  HR_GEN_LOAD_LINEAR = 1, /* constant impedance: i_a RMS at power factor pf */
  HR_GEN_LOAD_AI_RACK = 2 /* GPU rack following a training power profile */
} hr_gen_load_t;

typedef enum hr_gen_event_kind {
  HR_GEN_EVENT_DIP = 1,         /* residual 0..100 % */
  HR_GEN_EVENT_SWELL = 2,       /* residual 100..200 % */
  HR_GEN_EVENT_INTERRUPTION = 3 /* residual 0..10 % */
} hr_gen_event_kind_t;

/* Which quantity a list entry applies to (for the cfg helpers). */
typedef enum hr_gen_qty {
  HR_GEN_U = 0, /* voltage */
  HR_GEN_I = 1  /* current */
} hr_gen_qty_t;

/* One harmonic: order * the fundamental's instantaneous phase, so it follows
 * ramps, modulation and phase steps.
 *   order     : 2 <= order <= HR_GEN_MAX_ORDER; order * highest instantaneous
 *               frequency < fs_hz / 2.  Each order at most once per list.
 *   pct       : RMS amplitude [% of the fundamental RMS], 0..100.  For the AI
 *               rack's current: [% of the full-load fundamental current].
 *   phase_deg : phase [deg] added to order*(theta + phi_k) (voltage, AI rack)
 *               or to order*(theta + phi_k + psi) (linear-load current, psi
 *               the displacement angle), finite. */
typedef struct hr_gen_harmonic {
  int order;
  double pct;
  double phase_deg;
} hr_gen_harmonic_t;

/* One interharmonic (any fixed frequency; it ignores ramps, modulation and
 * phase steps but shares phase k's 120-degree rotation phi_k).
 *   f_hz      : frequency [Hz], 0 < f_hz < fs_hz / 2.
 *   pct       : RMS amplitude [% of the nominal fundamental RMS], 0..100.
 *   phase_deg : phase [deg] at absolute time 0, finite. */
typedef struct hr_gen_interharmonic {
  double f_hz;
  double pct;
  double phase_deg;
} hr_gen_interharmonic_t;

/* A dip, swell or interruption: inside it the whole source voltage of the
 * selected phases (fundamental, harmonics, interharmonics) is multiplied by
 * residual_pct / 100.
 *   start_s      : start [s] of generator time, >= 0.
 *   duration_s   : duration [s], >= 0; the event covers samples n with
 *                  start <= n/fs_hz < start + duration (sample indices as in
 *                  the file comment).
 *   residual_pct : remaining voltage [% of the undisturbed voltage]; range by
 *                  kind (see hr_gen_event_kind_t).
 *   phases       : HR_GEN_PHASE_* bits, not 0.
 *   ramp_s       : 0 (default) for a sample-exact step; > 0 for linear
 *                  transitions [s]: the level moves from 100 % to the residual
 *                  over [start, start+ramp) and back over [end, end+ramp);
 *                  0 <= ramp_s <= duration_s. */
typedef struct hr_gen_event {
  hr_gen_event_kind_t kind;
  double start_s;
  double duration_s;
  double residual_pct;
  unsigned phases;
  double ramp_s;
} hr_gen_event_t;

/* Amplitude step: from t_s on, every phase's envelope is multiplied by
 * (1 + pct/100) (IEEE C37.118.1 magnitude step, kx = pct/100).
 *   t_s : [s] >= 0.   pct : [%], -100 <= pct <= 1000. */
typedef struct hr_gen_amp_step {
  double t_s;
  double pct;
} hr_gen_amp_step_t;

/* Phase step: from t_s on, deg is added to the fundamental's phase (and
 * order*deg to each harmonic's) (IEEE C37.118.1 phase step, ka = deg*pi/180).
 *   t_s : [s] >= 0.   deg : [deg], finite. */
typedef struct hr_gen_phase_step {
  double t_s;
  double deg;
} hr_gen_phase_step_t;

/* The AI-rack load: n_servers servers of gpus_per_server GPUs each, running a
 * synchronous training job.  Demand (whole rack, at nominal voltage):
 *   P = n_servers * (gpus_per_server * gpu_w + server_other_w)
 * with gpu_w = gpu_idle_w before start_s and during checkpoints, gpu_busy_w
 * in compute phases and gpu_comm_w in communication phases.  After start_s
 * the job repeats blocks of iters_per_checkpoint iterations (compute_s then
 * comm_s each) followed by one checkpoint of checkpoint_s.  Every change of
 * level starts at its boundary and follows a raised cosine that completes
 * rise_s / 0.5903 later, so its 10-90 % rise time is rise_s.  With defaults
 * the rack draws 56.8 kW computing and 20.0 kW communicating: a 64.8 % step.
 * Electrically the servers' PSUs are a balanced constant-power load (down to
 * u_min_pct of nominal voltage, constant impedance below) with active-PFC
 * current harmonics (hr_gen_cfg_t.i_harm) whose amplitude is
 * pct * (harm_fixed_frac + (1 - harm_fixed_frac) * P / P_full) of the
 * full-load fundamental, and a constant leading reactive power q_var.
 *
 * The profile is defined for t_s < start_s + HR_GEN_RACK_MAX_ITERS *
 * (compute_s + comm_s) (at the defaults about 1.6e15 s, never below 1.1e9 s
 * with compute_s >= HR_GEN_RACK_MIN_COMPUTE_S): later the segment
 * counts leave what int64 and double integers hold, so hr_gen_demand_w answers
 * NaN, and hr_gen_fill and hr_gen_truth refuse the samples with HR_ERR_RANGE. */
#define HR_GEN_RACK_MAX_ITERS 1125899906842624.0 /* 2^50 iterations */
#define HR_GEN_RACK_MIN_COMPUTE_S 1e-6           /* [s] */

typedef struct hr_gen_rack {
  int n_servers;            /* servers, 1..1024; default 8 */
  int gpus_per_server;      /* GPUs per server, 0..64; default 8 */
  double gpu_idle_w;        /* per GPU, idle and checkpointing [W] >= 0; default 100 */
  double gpu_busy_w;        /* per GPU, compute phase [W] >= 0; default 700 */
  double gpu_comm_w;        /* per GPU, communication phase [W] >= 0; default 125 */
  double server_other_w;    /* per server, CPUs/memory/NICs/fans [W] >= 0; default 1500 */
  double start_s;           /* training starts [s] >= 0 (idle before); default 0.5 */
  double compute_s;         /* compute phase of an iteration [s],
                             * HR_GEN_RACK_MIN_COMPUTE_S..1e6; default 1.0 */
  double comm_s;            /* communication phase [s] >= 0; default 0.4 */
  int iters_per_checkpoint; /* iterations between checkpoints, >= 0 (0: none); default 5 */
  double checkpoint_s;      /* checkpoint pause [s], > 0 when checkpoints are on; default 2.0 */
  double rise_s;            /* 10-90 % rise time of every change [s] >= 0; the full
                             * transition (rise_s / 0.5903) must fit in every phase;
                             * default 0.008 */
  double jitter_pct;        /* GPU power of each compute/comm phase scaled by
                             * 1 + jitter_pct/100 * u, u uniform in [-1, 1) from the
                             * seed and the phase's index; 0..50; default 0 */
  double q_var;             /* leading reactive power of the PSU input filters,
                             * whole rack at nominal voltage [var] >= 0; default 2000 */
  double harm_fixed_frac;   /* share of the harmonic current that does not scale
                             * with load, 0..1; default 0.5 */
  double u_min_pct;         /* constant power down to this envelope [% of nominal],
                             * 1..100; default 70 */
} hr_gen_rack_t;

/* Generator configuration.  Fill it with hr_gen_cfg_init (or
 * hr_gen_cfg_preset), change what differs, then hr_gen_create copies it. */
typedef struct hr_gen_cfg {
  double fs_hz;       /* sample rate [Hz], 0 < fs_hz <= 1e7; default 8000 */
  double f_hz;        /* signal frequency before any ramp [Hz], 0 < f_hz < fs_hz/2; default 60 */
  double f_nom_hz;    /* nominal frequency [Hz] > 0, the reference of the truth
                       * phasor angles; default 60 */
  hr_layout_t layout; /* channel layout; default HR_LAYOUT_3P4W */
  int has_in;         /* 3P4W only: non-zero adds the neutral current in = ia+ib+ic */
  double u_v;         /* fundamental RMS voltage [V] >= 0: line-to-neutral for 1P2W and
                       * 3P4W, line-to-line for 3P3W; default 277 */
  double i_a;         /* linear load: fundamental RMS current [A] >= 0; default 100 */
  int64_t t0_ns;      /* absolute time of sample 0 [ns since the Unix epoch],
                       * 0..HR_T0_NS_MAX (layout.h); default 0 */
  uint64_t seed;      /* noise and jitter seed (any value); default 1 */

  hr_gen_load_t load; /* default HR_GEN_LOAD_LINEAR */
  double pf;          /* linear load: displacement power factor cos(psi), 0..1; default 1 */
  int pf_leading;     /* linear load: non-zero if the current leads the voltage */

  /* Linear frequency ramp (IEEE C37.118.1 ramp test): f = f_hz + rate *
   * clamp(t - start, 0, stop - start); phase continuous.  rate 0 = off.
   * 0 <= start_s <= stop_s, both finite. */
  double ramp_hz_per_s;
  double ramp_start_s;
  double ramp_stop_s;

  /* IEEE C37.118.1 modulation: x = Xm[1 + kx cos(w t)] cos(w0 t + ka cos(w t - pi)).
   * am_kx in 0..1, pm_ka_rad in 0..pi, frequencies [Hz] in 0..fs_hz/2
   * (kx or ka 0 = off). */
  double am_kx;
  double am_f_hz;
  double pm_ka_rad;
  double pm_f_hz;

  int n_amp_steps; /* 0..HR_GEN_MAX_STEPS */
  hr_gen_amp_step_t amp_steps[HR_GEN_MAX_STEPS];
  int n_phase_steps; /* 0..HR_GEN_MAX_STEPS */
  hr_gen_phase_step_t phase_steps[HR_GEN_MAX_STEPS];

  int n_u_harm; /* voltage harmonics, 0..HR_GEN_MAX_HARM */
  hr_gen_harmonic_t u_harm[HR_GEN_MAX_HARM];
  int n_u_iharm; /* voltage interharmonics, 0..HR_GEN_MAX_IHARM */
  hr_gen_interharmonic_t u_iharm[HR_GEN_MAX_IHARM];
  int n_i_harm; /* current harmonics, 0..HR_GEN_MAX_HARM */
  hr_gen_harmonic_t i_harm[HR_GEN_MAX_HARM];
  int n_i_iharm; /* current interharmonics, 0..HR_GEN_MAX_IHARM; pct is of i_a
                  * (linear load) or of the full-load current (AI rack) */
  hr_gen_interharmonic_t i_iharm[HR_GEN_MAX_IHARM];

  int n_events; /* 0..HR_GEN_MAX_EVENTS; overlapping events multiply */
  hr_gen_event_t events[HR_GEN_MAX_EVENTS];

  /* Measurement effects per output channel.  Noise: white Gaussian with a
   * standard deviation of pct/100 of the channel's nominal RMS (u_v, or the
   * nominal current of hr_gen_i_nom_a), 0..100.  DC offset: pct/100 of the
   * nominal peak (sqrt(2) * nominal RMS), -100..100. */
  double u_noise_pct;
  double i_noise_pct;
  double u_dc_pct;
  double i_dc_pct;

  hr_gen_rack_t rack; /* used when load == HR_GEN_LOAD_AI_RACK */
} hr_gen_cfg_t;

typedef struct hr_gen hr_gen_t;

/* What the generator knows to be true at one sample, for comparing a meter's
 * output.  Amplitudes are "frozen" at the sample: the values a cycle-long
 * measurement would report if nothing changed around it.  Noise and DC are
 * not included. */
typedef struct hr_gen_truth {
  int64_t n;                  /* sample index */
  double t_s;                 /* generator time n / fs_hz [s] */
  int64_t t_ns;               /* absolute time t0_ns + round(n * 1e9 / fs_hz) [ns] */
  double f_hz;                /* instantaneous fundamental frequency (ramp, PM) [Hz] */
  double rocof_hz_per_s;      /* its rate of change [Hz/s] */
  int n_u;                    /* voltage channels (layout order) */
  int n_i;                    /* current channels (layout order) */
  double u_rms_v[HR_MAX_U];   /* fundamental RMS of each voltage channel [V] */
  double u_ang_rad[HR_MAX_U]; /* its angle vs cos(2*pi*f_nom_hz*tabs), (-pi, pi] */
  double i_rms_a[HR_MAX_I];   /* fundamental RMS of each current channel [A] */
  double i_ang_rad[HR_MAX_I]; /* its angle, same reference [rad] */
  double u_env[3];            /* envelope E_k of source phase a, b, c (1 = undisturbed;
                               * 0 for phases the layout lacks) */
  double p_w;                 /* active power, all phases, fundamental + harmonics +
                               * interharmonics of equal frequency in u and i [W] */
  double q1_var;              /* fundamental reactive power, all phases; > 0 when the
                               * current lags [var] */
  double demand_w;            /* AI rack: the profile's demand at nominal voltage [W];
                               * other loads: equal to p_w */
} hr_gen_truth_t;

/* Fills *cfg with the defaults: 8000 Hz, 60 Hz (nominal 60 Hz), 3P4W without
 * neutral current, 277 V line-to-neutral, linear load 100 A at pf 1, t0 0,
 * seed 1, no other component; rack = hr_gen_rack_init.  cfg: borrowed,
 * not NULL. */
HR_API int hr_gen_cfg_init(hr_gen_cfg_t *cfg);

/* Fills *rack with the AI-rack defaults listed in hr_gen_rack_t. */
HR_API int hr_gen_rack_init(hr_gen_rack_t *rack);

/* Checks a configuration without creating anything.  diag (may be NULL) is
 * cleared, and when the result is not HR_OK names the cfg member in field
 * ("fs_hz", "rack.rise_s"; a list entry as "u_harm[1]", "events[0]") and the
 * problem in message.
 * Returns HR_OK, HR_ERR_INVALID_ARG (NULL cfg, unknown layout, load or event
 * kind, NaN, fs_hz <= 0, negative durations or amplitudes, harmonic order < 2,
 * a duplicate harmonic order, a ramp that stops before it starts) or
 * HR_ERR_RANGE (a value outside its documented range: t0_ns outside
 * 0..HR_T0_NS_MAX, a component at or above
 * Nyquist, a list longer than its capacity, a residual outside its kind's
 * range, a rise time that does not fit). */
HR_API int hr_gen_cfg_check(const hr_gen_cfg_t *cfg, hr_diag_t *diag);

/* Sets harmonic `order` of the voltage or current list: replaces the entry
 * with that order or appends one.  Ranges as in hr_gen_harmonic_t (checked
 * fully by hr_gen_cfg_check).  Returns HR_OK, HR_ERR_INVALID_ARG (NULL cfg,
 * bad qty) or HR_ERR_RANGE (list full). */
HR_API int hr_gen_cfg_set_harmonic(hr_gen_cfg_t *cfg, hr_gen_qty_t qty, int order, double pct,
                                   double phase_deg);

/* Appends an interharmonic to the voltage or current list.  Returns HR_OK,
 * HR_ERR_INVALID_ARG or HR_ERR_RANGE (list full). */
HR_API int hr_gen_cfg_add_interharmonic(hr_gen_cfg_t *cfg, hr_gen_qty_t qty, double f_hz,
                                        double pct, double phase_deg);

/* Appends a copy of *ev (borrowed) to the event list.  Returns HR_OK,
 * HR_ERR_INVALID_ARG (NULL) or HR_ERR_RANGE (list full). */
HR_API int hr_gen_cfg_add_event(hr_gen_cfg_t *cfg, const hr_gen_event_t *ev);

/* Appends an amplitude step [s, %] / a phase step [s, deg].  Returns HR_OK,
 * HR_ERR_INVALID_ARG (NULL) or HR_ERR_RANGE (list full). */
HR_API int hr_gen_cfg_add_amp_step(hr_gen_cfg_t *cfg, double t_s, double pct);
HR_API int hr_gen_cfg_add_phase_step(hr_gen_cfg_t *cfg, double t_s, double deg);

/* Applies a named preset (docs/gen.md lists the exact parameters): "sine",
 * "ai-rack", "iec-freq", "harmonics", "dip", "swell", "interruption",
 * "ramp", "modulation", "step".  It keeps cfg's fs_hz, f_nom_hz, layout,
 * has_in, t0_ns and seed, resets every other field to the defaults, then sets
 * the preset's fields; frequencies scale with f_nom_hz and voltages are
 * 277 V line-to-neutral (480 V line-to-line for 3P3W).  seconds (may be
 * NULL) receives the preset's suggested length [s].  Returns HR_OK,
 * HR_ERR_INVALID_ARG (NULL cfg or name) or HR_ERR_NOT_FOUND. */
HR_API int hr_gen_cfg_preset(hr_gen_cfg_t *cfg, const char *name, double *seconds);

/* Name and one-line summary of preset number k (0-based); NULL past the
 * last.  Static strings. */
HR_API const char *hr_gen_preset_name(int k);
HR_API const char *hr_gen_preset_summary(int k);

/* Creates a generator positioned at sample 0.  cfg is borrowed and copied.
 * On success *out owns a generator the caller releases with hr_gen_destroy;
 * on failure *out is set to NULL.  Returns HR_OK, the codes of
 * hr_gen_cfg_check, or HR_ERR_NOMEM. */
HR_API int hr_gen_create(const hr_gen_cfg_t *cfg, hr_gen_t **out);

/* Releases a generator; NULL is ignored. */
HR_API void hr_gen_destroy(hr_gen_t *g);

/* Writes the next n_frames frames (n_frames * hr_gen_n_channels values,
 * interleaved, layout order) into frames (caller-owned, not kept) and
 * advances the position.  Never allocates.  n_frames 0 is a no-op.  Returns
 * HR_OK, HR_ERR_INVALID_ARG (NULL g, or NULL frames with n_frames > 0) or
 * HR_ERR_RANGE (the sample index would overflow, or, for the AI rack, a sample
 * would lie beyond the profile's horizon, see hr_gen_rack_t); on an error
 * nothing is written and the position stays. */
HR_API int hr_gen_fill(hr_gen_t *g, float *frames, size_t n_frames);

/* Moves to sample index n (>= 0); the next fill starts there.  Returns HR_OK
 * or HR_ERR_INVALID_ARG. */
HR_API int hr_gen_seek(hr_gen_t *g, int64_t n);

/* Index of the next sample hr_gen_fill will write; -1 for NULL. */
HR_API int64_t hr_gen_tell(const hr_gen_t *g);

/* Channels per frame (hr_layout_n_u + hr_layout_n_i); 0 for NULL. */
HR_API int hr_gen_n_channels(const hr_gen_t *g);

/* Static name of channel ch with its unit: "ua_v", "uab_v", "u1_v",
 * "ia_a", "in_a", "i1_a"; NULL when ch is out of range. */
HR_API const char *hr_gen_channel_name(const hr_gen_t *g, int ch);

/* The configuration the generator runs with (borrowed; valid until
 * hr_gen_destroy).  NULL for NULL. */
HR_API const hr_gen_cfg_t *hr_gen_cfg(const hr_gen_t *g);

/* Nominal RMS of the voltage channels [V] (u_v) and of the current channels
 * [A]: i_a for the linear load, the full-load fundamental current P_full /
 * (n_phases * U1) for the AI rack, 0 without load.  0 for NULL. */
HR_API double hr_gen_u_nom_v(const hr_gen_t *g);
HR_API double hr_gen_i_nom_a(const hr_gen_t *g);

/* Fills *out (caller-owned) with the truth at sample n >= 0; independent of
 * the fill position.  Returns HR_OK, HR_ERR_INVALID_ARG, or HR_ERR_RANGE when
 * sample n is later than INT64_MAX ns since the epoch (t_ns cannot hold it)
 * or, for the AI rack, beyond the profile's horizon (see hr_gen_rack_t). */
HR_API int hr_gen_truth(const hr_gen_t *g, int64_t n, hr_gen_truth_t *out);

/* True active power at sample n [W] (hr_gen_truth_t.p_w); for the AI rack at
 * undisturbed voltage this is the profile's demand.  NaN for NULL g, n < 0 or
 * a sample hr_gen_truth refuses. */
HR_API double hr_gen_power_w(const hr_gen_t *g, int64_t n);

/* AI rack: the profile's demand at time t_s [s] (hr_gen_truth_t.demand_w at
 * a sample); for other loads the same as hr_gen_power_w at the sample at or
 * after t_s.  NaN for NULL g, t_s < 0 (or NaN), for the AI rack t_s at or
 * beyond the profile's horizon (see hr_gen_rack_t), and otherwise where
 * hr_gen_power_w is NaN. */
HR_API double hr_gen_demand_w(const hr_gen_t *g, double t_s);

#ifdef __cplusplus
}
#endif
#endif
