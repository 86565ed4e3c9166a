/* headroom plan: request-driven measured runs, configuration descriptors and
 * calibration (issue 17, part 2).
 *
 *   - a loader for measured runs given as power at any cadence plus what
 *     drove them (a request log, or a serving engine's running counter),
 *     resampled to one grid, filling hr_plan_trace_t.active;
 *   - descriptors: what is known of a configuration before it runs
 *     (parameters, precision, tensor parallelism, GPU), and a regression of
 *     the copula model's tables on them, so that a configuration no training
 *     run had can be generated, with how far outside the training range it is;
 *   - calibration of such a prediction on a few minutes of measured power, or
 *     on the idle and full-load levels alone.
 *
 * docs/plan.md ("Request-driven measured runs", "Descriptors") describes the
 * file layouts, the regression and what the shared data can and cannot show. */
#ifndef HEADROOM_PLAN_DESC_H
#define HEADROOM_PLAN_DESC_H

#include <stddef.h>
#include <stdint.h>

#include "headroom/error.h"
#include "headroom/export.h"
#include "headroom/plan.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------ request-driven runs */

/* Bin means of the piecewise-linear interpolant of x over t_s (n >= 2
 * samples, t_s strictly increasing and finite): out[k] = the mean over
 * [t_s[0] + k dt_s, t_s[0] + (k + 1) dt_s), for k < nbins; every bin must
 * end by t_s[n-1].  The exact integral, so a line comes out exactly.
 * HR_ERR_INVALID_ARG. */
HR_API int hr_plan_resample_linear(const double *t_s, const double *x, size_t n, double dt_s,
                                   double *out, size_t nbins);

/* Bin means of a step function that holds v[i] from t_s[i] to t_s[i+1]
 * (the last value to the end, the first one before t_s[0]); bins start at
 * t0_s.  HR_ERR_INVALID_ARG for n = 0 or t_s not non-decreasing. */
HR_API int hr_plan_resample_step(const double *t_s, const double *v, size_t n, double t0_s,
                                 double dt_s, double *out, size_t nbins);

/* Time-averaged number of requests in flight per bin (bins start at t0_s):
 * request i counts on [arr_s[i], end_s[i]).  HR_ERR_INVALID_ARG when an
 * end precedes its arrival or a time is not finite. */
HR_API int hr_plan_active_from_intervals(const double *arr_s, const double *end_s, size_t n,
                                         double t0_s, double dt_s, double *active, size_t nbins);

/* Bins one run (or one calibration file) may span: 2 * 10^7, 58 days at
 * 0.25 s, 160 MB per series; a longer span is HR_ERR_RANGE (a time column in
 * the wrong unit, most likely). */
#define HR_PLAN_RUNS_MAX_BINS 20000000

/* Loads the request-driven runs a manifest lists.  path is a CSV file, or a
 * folder holding runs.csv; header
 *   model_label,num_gpus,max_num_seqs,power_file,activity_file
 * (files relative to the manifest's folder).  A power file has columns
 * t_s,power_w (any cadence, strictly increasing times); an activity file is
 * either a request log t_s,in_tokens,out_tokens[,end_s] (arrivals; with
 * end_s the requests in flight are counted directly, without it the serving
 * simulator at max_num_seqs and its other defaults schedules them) or a
 * serving engine's counters t_s,running[,waiting] (held until the next
 * row).  Both files share one clock.  Every run is resampled to bins of
 * dt_s from its first power sample (0.25 s, the paper's bin, when dt_s is
 * 0).  Errors name the file, line and column: HR_ERR_PARSE, HR_ERR_IO,
 * HR_ERR_RANGE, HR_ERR_NOMEM. */
HR_API int hr_plan_runs_load(const char *path, double dt_s, hr_plan_traceset_t **out,
                             hr_diag_t *err);

/* One power file (t_s,power_w at any cadence, times strictly increasing)
 * resampled to bins of dt_s from its first sample: *p_w (malloc'd, *n
 * values; free() it).  Errors as for hr_plan_runs_load. */
HR_API int hr_plan_power_load(const char *path, double dt_s, double **p_w, size_t *n,
                              hr_diag_t *err);

/* Either layout: path is a runs manifest (a .csv file, or a folder with
 * runs.csv) or a folder with traces_summary.csv (hr_plan_traceset_load). */
HR_API int hr_plan_traceset_load_any(const char *path, hr_plan_traceset_t **out, hr_diag_t *err);

/* -------------------------------------------------------- descriptors */

/* What is known of a configuration before it runs. */
typedef struct hr_plan_desc {
  double params_b;        /* total parameters [10^9], > 0 */
  double active_params_b; /* parameters active per token [10^9], in (0, params_b]:
                           * = params_b for a dense model, less for mixture-of-experts */
  int tp;                 /* tensor-parallel degree = GPUs of the replica, >= 1 */
  double precision_bits;  /* bits per weight: 16 (BF16), 8 (FP8), 4 */
  double tdp_w;           /* GPU nameplate power [W], > 0 */
  double idle_w;          /* GPU power with nothing to do [W], in [0, tdp_w) */
} hr_plan_desc_t;

/* Nameplate and idle power of a GPU type: a name of plan_gpu.h's table
 * (hr_plan_gpu_at: "h100", "h100-pcie", "h200", "a100", "a100-pcie",
 * "l40s"), matched case-insensitively.  HR_ERR_NOT_FOUND for another name;
 * HR_ERR_INVALID_ARG for a NULL. */
HR_API int hr_plan_gpu_lookup(const char *name, double *tdp_w, double *idle_w);

/* The descriptor of a configuration of the shared data by its label
 * ("Llama-3.1-8B", "-70B", "-405B" on H100 with tp = num_gpus; num_gpus 0:
 * the shared data's count).
 * HR_ERR_NOT_FOUND for another label. */
HR_API int hr_plan_desc_known(const char *label, int num_gpus, hr_plan_desc_t *d);
/* The shared data's GPU count for a known label (1, 4, 8), 0 for another. */
HR_API int hr_plan_desc_known_gpus(const char *label);

/* Descriptor terms the regression may use (bit mask): */
#define HR_PLAN_DF_PARAMS 1u     /* ln(active parameters per GPU) = ln(active_params_b / tp) */
#define HR_PLAN_DF_TP 2u         /* ln tp */
#define HR_PLAN_DF_BATCH 4u      /* log2 batch and its square (always used) */
#define HR_PLAN_DF_INTERACT 8u   /* ln(params per GPU) x log2 batch */
#define HR_PLAN_DF_PRECISION 16u /* log2 bits per weight */
#define HR_PLAN_DF_MOE 32u       /* ln(total / active parameters) */
#define HR_PLAN_DF_BPG                                                                             \
  64u /* the batch terms on log2(batch / tp), the sequences each GPU                               \
       * holds, instead of log2 batch */
/* The default, chosen by the leave-one-model-out table of docs/plan.md (on
 * the same three folds it is scored on: see the caveat there).  Precision
 * is left out: in the shared data only the 405B runs are 8-bit, so it is
 * confounded with the model. */
#define HR_PLAN_DF_DEFAULT (HR_PLAN_DF_PARAMS | HR_PLAN_DF_BATCH | HR_PLAN_DF_BPG | HR_PLAN_DF_MOE)

typedef struct hr_plan_desc_cfg {
  unsigned terms; /* HR_PLAN_DF_* (default HR_PLAN_DF_DEFAULT) */
  double ridge;   /* ridge penalty on the standardised terms (times the number of
                   * points), >= 0 (default 1) */
  double kernel;  /* width of the autocorrelation kernel in standardised units, > 0 (1) */
} hr_plan_desc_cfg_t;

HR_API void hr_plan_desc_cfg_init(hr_plan_desc_cfg_t *cfg);

/* How far a predicted configuration lies from the training ones. */
typedef struct hr_plan_desc_report {
  int configs;         /* training configurations (labels) used */
  int points;          /* training (configuration, batch) points */
  double distance;     /* standardised distance to the nearest training configuration
                        * (descriptor terms other than batch) */
  double outside;      /* largest excursion beyond a term's training range, in units of
                        * that range (0 inside; terms not varied in training excluded) */
  unsigned not_varied; /* HR_PLAN_DF_* terms that were constant in training but differ
                        * in the target: their effect is unknown (slope 0) */
  double r2_in_sample; /* R^2 of the fitted quantile levels on the training points */
} hr_plan_desc_report_t;

/* Fits the regression on the per-label groups of m whose labels are given
 * (labels[i] with descriptor descs[i]; n >= 1) and returns a new model *out
 * holding one group, `out_label`, for the target descriptor.  The group
 * serves the copula method (and tdp and mean); the others answer
 * HR_ERR_UNSUPPORTED.  Quantile levels are fractions of (tdp - idle) above
 * idle of each training GPU, regressed per quantile point on the terms,
 * rearranged to be monotone; the latent autocorrelation is a kernel-weighted
 * convex mix of the training configurations' (a convex mix of valid ACFs
 * stays valid; a regression of ACF values need not).  rep (may be NULL).
 * HR_ERR_NOT_FOUND (a label m lacks), HR_ERR_INVALID_ARG, HR_ERR_NOMEM. */
HR_API int hr_plan_desc_predict(const hr_plan_model_t *m, const char *const *labels,
                                const hr_plan_desc_t *descs, size_t n,
                                const hr_plan_desc_cfg_t *cfg, const hr_plan_desc_t *target,
                                const char *out_label, hr_plan_model_t **out,
                                hr_plan_desc_report_t *rep, hr_diag_t *err);

/* Step of the traces a model was trained on [s] (0 for NULL). */
HR_API double hr_plan_model_dt(const hr_plan_model_t *m);

/* Per-GPU power [W] of group `label` at quantile u in [0, 1] for batch b
 * (the copula table, interpolated in log2 b as generation does); NaN when
 * there is no such group or u is outside [0, 1].  For tests and reports. */
HR_API double hr_plan_desc_quantile(const hr_plan_model_t *m, const char *label, double b,
                                    double u);

/* Adapts group `label` of a predicted model to measured power of the same
 * configuration: nseg segments, p_w[k][0..n[k]) at step dt_s on num_gpus
 * GPUs at batch limit batch[k] (n[k] >= 100 each).  At each segment's batch
 * the measured per-GPU level above idle over the predicted one gives a level
 * ratio r and the measured spread (standard deviation) over the predicted one
 * a spread ratio s (both clamped to [0.25, 4]); r and s are interpolated in
 * log2 batch between the segments (held beyond them) and applied to every
 * batch of the table: q <- idle + (mean - idle) r + s (q - mean).  At the
 * model's step the measured autocorrelation (made latent through the
 * calibrated marginal) replaces the predicted one in proportion
 * T / (T + 300 s), T the segment's length, interpolated the same way.
 * HR_ERR_INVALID_ARG, HR_ERR_NOT_FOUND, HR_ERR_NOMEM. */
HR_API int hr_plan_desc_calibrate(hr_plan_model_t *m, const char *label, const double *const *p_w,
                                  const size_t *n, const double *batch, size_t nseg, double dt_s,
                                  int num_gpus);

/* The same from two levels per GPU: idle_w (nothing running) and full_w,
 * the median at batch full_batch (<= 0: the largest batch of the table):
 * an affine map of the levels that sends the prediction's idle and that
 * median there (the idle of the model becomes idle_w).  HR_ERR_INVALID_ARG
 * unless 0 <= idle_w < full_w and the prediction's median there is above
 * its idle; HR_ERR_NOT_FOUND. */
HR_API int hr_plan_desc_calibrate_levels(hr_plan_model_t *m, const char *label, double idle_w,
                                         double full_w, double full_batch);

#ifdef __cplusplus
}
#endif
#endif
