/* headroom plan: compositional power-trace generation for LLM inference.
 *
 * Pipeline pieces in this header:
 *   - a seeded, deterministic random-number generator;
 *   - workloads: request lists loaded from CSV traces (Azure LLM inference
 *     format by default, other CSVs by column mapping) or generated
 *     (Poisson, bursty, diurnal arrivals; lognormal or bootstrapped lengths);
 *   - measured power traces (the h100-inference set: fixed-batch runs);
 *   - fidelity metrics as the paper computes them (energy error, ACF R^2 over
 *     lags 1..50 with ACFs averaged first, pooled KS) plus NRMSE, p95/p99
 *     error and ramp statistics;
 *   - power models (TDP, mean, LUT-by-batch baselines; the paper's
 *     compositional GMM + classifier + AR(1) model; a GMM + Markov variant)
 *     with a versioned, checksummed model file.
 *
 * The library never prints; loaders report errors through hr_diag_t (error.h)
 * with a line and a column so the caller can name the place. */
#ifndef HEADROOM_PLAN_H
#define HEADROOM_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "headroom/error.h"
#include "headroom/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- RNG */

/* xoshiro256** seeded by splitmix64: the same seed gives the same stream on
 * every platform.  The caller owns the struct (plain value, no cleanup). */
typedef struct hr_plan_rng {
  uint64_t s[4];
} hr_plan_rng_t;

HR_API void hr_plan_rng_seed(hr_plan_rng_t *r, uint64_t seed);
HR_API uint64_t hr_plan_rng_u64(hr_plan_rng_t *r);
/* Uniform on the open interval (0, 1). */
HR_API double hr_plan_rng_uniform(hr_plan_rng_t *r);
/* Standard normal (Box-Muller on two uniforms; no cached state, so a draw
 * always consumes exactly two u64s). */
HR_API double hr_plan_rng_normal(hr_plan_rng_t *r);
/* Gamma(shape, 1), shape > 0 (Marsaglia-Tsang; boosted below 1). */
HR_API double hr_plan_rng_gamma(hr_plan_rng_t *r, double shape);

/* ----------------------------------------------------------- workloads */

typedef struct hr_plan_request {
  double t_s;         /* arrival time [s] from the start of the workload, >= 0 */
  int32_t in_tokens;  /* prompt length [tokens], >= 0 */
  int32_t out_tokens; /* output length [tokens], >= 0 */
} hr_plan_request_t;

/* A request list sorted by strictly increasing t_s.  Created by the loaders
 * and generators below, released with hr_plan_workload_destroy; req is owned
 * by the workload and valid until then. */
typedef struct hr_plan_workload {
  hr_plan_request_t *req;
  size_t n;
  double t0_epoch_s; /* the first timestamp of the source [s since 1970 UTC,
                      * or the numeric value of the first time field]; the
                      * request times are relative to it */
} hr_plan_workload_t;

HR_API void hr_plan_workload_destroy(hr_plan_workload_t *w);

/* How a CSV trace's columns map to requests.  Column names are matched
 * exactly against the header line.  The time column holds either a date-time
 * "YYYY-MM-DD hh:mm:ss[.fraction]" (any number of fraction digits, UTC) or a
 * plain number, scaled by time_unit_s (e.g. 1e-3 for milliseconds).
 * Pass NULL to hr_plan_workload_load_csv for the Azure LLM inference format
 * (TIMESTAMP,ContextTokens,GeneratedTokens). */
typedef struct hr_plan_csv_map {
  const char *time_col;
  const char *in_col;
  const char *out_col;
  double time_unit_s; /* > 0; only used for numeric times */
} hr_plan_csv_map_t;

/* Parses a CSV trace held in memory (len bytes, need not be NUL-terminated).
 * Every data row must have the mapped fields; times must increase strictly
 * (unsorted or duplicate timestamps are refused); token counts must be
 * non-negative integers below 2^31.  CRLF line ends and blank trailing lines
 * are accepted.  On success *out is a new workload owned by the caller.
 * Errors: HR_ERR_PARSE (non-numeric field, missing column, short row),
 * HR_ERR_RANGE (negative count, unsorted/duplicate time), HR_ERR_NOMEM; err
 * (may be NULL) then holds the line and column. */
HR_API int hr_plan_workload_parse_csv(const char *buf, size_t len, const hr_plan_csv_map_t *map,
                                      hr_plan_workload_t **out, hr_diag_t *err);
/* Reads a file and parses it as above.  HR_ERR_IO when it cannot be read. */
HR_API int hr_plan_workload_load_csv(const char *path, const hr_plan_csv_map_t *map,
                                     hr_plan_workload_t **out, hr_diag_t *err);

/* Parses a JSON Lines trace: one object per line, the map's names used as
 * keys of top-level members (e.g. Mooncake: {"timestamp", "input_length",
 * "output_length"} with time_unit_s 1e-3).  Times may be numbers or
 * date-time strings; other members (arrays, nested objects) are skipped.
 * The same checks as the CSV loader apply; err->column is then the 1-based
 * byte column of the offending value in its line.  map must not be NULL. */
HR_API int hr_plan_workload_parse_jsonl(const char *buf, size_t len, const hr_plan_csv_map_t *map,
                                        hr_plan_workload_t **out, hr_diag_t *err);
/* Reads a file: JSON Lines when its name ends in ".jsonl" (map NULL: the
 * Mooncake keys timestamp/input_length/output_length in ms), CSV otherwise
 * (map NULL: Azure). */
HR_API int hr_plan_workload_load(const char *path, const hr_plan_csv_map_t *map,
                                 hr_plan_workload_t **out, hr_diag_t *err);

typedef enum hr_plan_arrival {
  HR_PLAN_ARRIVAL_POISSON = 0, /* constant rate, exponential gaps */
  HR_PLAN_ARRIVAL_BURSTY = 1,  /* gamma renewal process with gap CV burst_cv > 1 */
  HR_PLAN_ARRIVAL_DIURNAL = 2  /* Poisson with a raised-cosine daily rate (thinning) */
} hr_plan_arrival_t;

/* Limits of the workload generator.  Its work grows with rate x duration and,
 * for the bursty process, with burst_cv^2 (a gamma of shape 1/cv^2 gives
 * mostly gaps below double resolution); these keep it bounded by its output. */
#define HR_PLAN_MAX_RATE_PER_S 1e6 /* rate_per_s, min/max_rate_per_s [1/s] */
#define HR_PLAN_MAX_BURST_CV 100.0 /* burst_cv */
#define HR_PLAN_MAX_SECONDS 1e9    /* duration_s, period_s, peak_t_s [s] (31 years) */
#define HR_PLAN_MAX_ARRIVALS 1e9   /* rate (diurnal: max rate) x duration_s: the proposals drawn */

/* Workload generator settings. */
typedef struct hr_plan_gen_cfg {
  hr_plan_arrival_t arrival;
  double duration_s; /* length of the workload [s], (0, HR_PLAN_MAX_SECONDS] */
  double rate_per_s; /* mean arrival rate [1/s], (0, HR_PLAN_MAX_RATE_PER_S] (Poisson, bursty) */
  double burst_cv;   /* bursty: coefficient of variation of the gaps, [1, HR_PLAN_MAX_BURST_CV] */
  double min_rate_per_s, max_rate_per_s; /* diurnal: 0 <= min <= max, max > 0 (at most
                                          * HR_PLAN_MAX_RATE_PER_S) */
  double period_s; /* diurnal period [s], (0, HR_PLAN_MAX_SECONDS] (86400 for a day) */
  double peak_t_s; /* diurnal: time of the peak rate [s], finite */
  /* Lengths: when lengths_from is non-NULL (borrowed for the call), (in, out)
   * pairs are drawn from it with replacement, keeping their correlation;
   * otherwise lognormal with the log-space mean and sd below, rounded and
   * clipped to [1, max_*_tokens]. */
  const hr_plan_workload_t *lengths_from;
  double in_log_mean, in_log_sd, out_log_mean, out_log_sd;
  int32_t max_in_tokens, max_out_tokens; /* >= 1 */
  uint64_t seed;
  size_t max_requests; /* hard cap, > 0; HR_ERR_RANGE when it would be exceeded */
} hr_plan_gen_cfg_t;

/* Fills cfg with defaults: Poisson at 1/s for 3600 s, lengths lognormal near
 * the Azure conversation trace (median 1020 in, 129 out), seed 1. */
HR_API int hr_plan_gen_cfg_init(hr_plan_gen_cfg_t *cfg);

/* Generates a workload.  Same cfg (and seed) -> identical output.
 * Errors: HR_ERR_INVALID_ARG, HR_ERR_RANGE (a value beyond the limits above,
 * or more than max_requests), HR_ERR_NOMEM. */
HR_API int hr_plan_workload_generate(const hr_plan_gen_cfg_t *cfg, hr_plan_workload_t **out);

/* Fits log-space mean and sd of the prompt and output lengths (counts of 0
 * are treated as 1) into cfg's lognormal fields.  HR_ERR_INVALID_ARG when w
 * is empty. */
HR_API int hr_plan_workload_fit_lengths(const hr_plan_workload_t *w, hr_plan_gen_cfg_t *cfg);

/* ------------------------------------------------------ measured traces */

/* One measured run: the total GPU power of one replica at a fixed step. */
typedef struct hr_plan_trace {
  char model[64];   /* model label, e.g. "Llama-3.1-70B" */
  int num_gpus;     /* GPUs of the replica, >= 1 */
  int max_num_seqs; /* batch limit of the run, >= 1 */
  double dt_s;      /* sample step [s] */
  double *p_w;      /* power [W], n samples, owned by the set */
  size_t n;
  /* A request-driven run: the running requests A(t) per sample (n values,
   * finite, >= 0; a time average per step), owned by the set; NULL for a
   * fixed-batch run (A = max_num_seqs throughout).  The networks of the
   * paper methods then learn from [A_norm, dA_norm] as it moves. */
  double *active;
} hr_plan_trace_t;

typedef struct hr_plan_traceset {
  hr_plan_trace_t *tr;
  size_t n;
} hr_plan_traceset_t;

/* Loads <dir>/traces_summary.csv and every trace it lists (header
 * relative_time_s,power_total_W).  The time column is not trusted (it has
 * float noise): sample k is at k * 0.1 s.  Errors as for the workload loader;
 * err->message then starts with the file that failed. */
HR_API int hr_plan_traceset_load(const char *dir, hr_plan_traceset_t **out, hr_diag_t *err);
HR_API void hr_plan_traceset_destroy(hr_plan_traceset_t *s);

/* -------------------------------------------------------------- metrics */

#define HR_PLAN_ACF_LAGS 50

/* Energy error [%]: 100 |sum gen - sum gt| / sum gt over the first n samples
 * (both on the same step, so dt cancels).  NaN when sum gt is 0. */
HR_API double hr_plan_energy_error_pct(const double *gt, const double *gen, size_t n);

/* Autocorrelation for lags 1..nlags (acf[0] is lag 1): mean removed,
 * normalised by the lag-0 sum (the biased estimator statsmodels uses).
 * All NaN when x is constant or n <= nlags. */
HR_API void hr_plan_acf(const double *x, size_t n, int nlags, double *acf);

/* R^2 of acf_gen against acf_gt: 1 - SSres / SStot.  NaN when any input is
 * NaN or SStot is 0. */
HR_API double hr_plan_acf_r2(const double *acf_gt, const double *acf_gen, int nlags);

/* Two-sample Kolmogorov-Smirnov statistic max |F_a - F_b|.  Allocates
 * scratch copies; HR_ERR_NOMEM, HR_ERR_INVALID_ARG when a side is empty or
 * holds a NaN or an infinity (an ECDF of them is not defined). */
HR_API int hr_plan_ks(const double *a, size_t na, const double *b, size_t nb, double *ks);

/* Quantile q in [0, 1] with linear interpolation (NumPy's default).  x is
 * sorted in place. */
HR_API double hr_plan_quantile_sorted(const double *sorted, size_t n, double q);

/* Summary of one method against a set of held-out traces. */
typedef struct hr_plan_fidelity {
  double energy_err_pct;        /* mean over traces of the per-trace energy error [%] */
  double energy_err_median_pct; /* median over traces of the same [%] (one
                                 * badly fitted run moves the mean, not this) */
  double acf_r2;                /* R^2 of the mean ACFs (NaN for constant output) */
  double ks;                    /* KS over pooled samples */
  double nrmse;                 /* mean over traces of RMSE / (max - min of gt) */
  double p95_err_pct;           /* 100 |q95 gen - q95 gt| / q95 gt, pooled samples */
  double p99_err_pct;
  double ramp_gt_w_per_s;  /* max |dP/dt| of the gt at ramp_dt_s, pooled */
  double ramp_gen_w_per_s; /* the same for the generated traces */
  double ramp_p99_err_pct; /* error of the 99th percentile of |dP/dt| [%] */
} hr_plan_fidelity_t;

/* Compares m pairs of traces (gt[k], gen[k], each len[k] samples at dt_s).
 * Ramps are taken on means over blocks of ramp_dt_s (>= dt_s; rounded to a
 * whole number of samples).  HR_ERR_INVALID_ARG (also for any NaN or
 * infinite sample), HR_ERR_NOMEM. */
HR_API int hr_plan_fidelity_compute(const double *const *gt, const double *const *gen,
                                    const size_t *len, size_t m, double dt_s, double ramp_dt_s,
                                    hr_plan_fidelity_t *out);

/* --------------------------------------------------------- power models */

typedef enum hr_plan_method {
  HR_PLAN_TDP = 0,         /* nameplate: num_gpus x tdp_w_per_gpu */
  HR_PLAN_MEAN = 1,        /* training mean power per GPU x num_gpus */
  HR_PLAN_LUT = 2,         /* Splitwise-style average-power ratio by batch x TDP */
  HR_PLAN_PAPER = 3,       /* the paper as published: GMM states + a bidirectional GRU
                            * (64 units per direction) on [A_norm, dA_norm] + AR(1)
                            * thresholded at phi >= 0.3 (docs/plan.md) */
  HR_PLAN_MARKOV = 4,      /* GMM states + batch-interpolated Markov chain, iid in state */
  HR_PLAN_COPULA = 5,      /* per-configuration empirical marginal, quantile-interpolated
                            * across batch sizes, driven by a latent Gaussian AR(50)
                            * (a Gaussian copula) */
  HR_PLAN_PAPER_GRU16 = 6, /* the same with a 16-unit unidirectional GRU (or the
                            * softmax classifier when gru_hidden = 0) */
  HR_PLAN_METHOD_COUNT_ = 7
} hr_plan_method_t;

/* Static lower-case name of a method ("tdp", "mean", "lut", "paper",
 * "markov", "copula", "paper-gru16"); "?" for an unknown value. */
HR_API const char *hr_plan_method_name(hr_plan_method_t method);

/* A trained power model set: every method's parameters, per model label and
 * pooled over all labels (used for labels not seen in training). Opaque;
 * created by hr_plan_model_train or hr_plan_model_load, released with
 * hr_plan_model_destroy. */
typedef struct hr_plan_model hr_plan_model_t;

typedef struct hr_plan_train_cfg {
  double tdp_w_per_gpu;  /* nameplate per GPU [W], in (0, 1e5] (700 for H100 SXM) */
  double idle_w_per_gpu; /* GPU power with no request [W], in [0, 1e5]; the fixed-batch
                          * traces have no idle part, so this is an input
                          * (default 90 W, a typical H100 SXM idle draw) */
  int k_min, k_max;      /* GMM components tried, 1 <= k_min <= k_max <= 16; BIC picks */
  size_t gmm_max_points; /* subsample for EM (deterministic stride), >= 100 */
  int em_iters;          /* EM iterations per K, >= 1 */
  int clf_epochs;        /* softmax classifier epochs, >= 1 (used when gru_hidden = 0) */
  int gru_hidden;        /* GRU hidden units for the paper method, 0..32 (16); 0: the
                          * softmax classifier on [1, a, a^2] instead */
  int gru_epochs;        /* GRU epochs over the runs, >= 0 (12) */
  int gru_window;        /* BPTT window [steps], >= 1 (64) */
  int gru_windows;       /* windows per run per epoch, >= 1 (8) */
  /* The paper's bidirectional GRU (method paper; docs/plan.md gives the
   * recipe and where it departs from the paper's): */
  int bigru_hidden;    /* units per direction, 0..64 (64); 0: none (paper then
                        * returns HR_ERR_UNSUPPORTED) */
  int bigru_epochs;    /* at most this many epochs, >= 0 (500, the paper's) */
  int bigru_window;    /* steps per update (one window per run per epoch), >= 2 (128) */
  int bigru_patience;  /* early stop after this many epochs without a lower
                        * validation loss, >= 1 (10) */
  double bigru_lr;     /* Adam learning rate, (0, 1] (1e-4, the paper's) */
  double bigru_val;    /* tail of each run held for validation, [0, 0.9] (0.2) */
  const char *lut_csv; /* Splitwise perf_model.csv path, or NULL: no LUT.  Every row's
                        * average_power (a ratio of TDP, 0: not measured) must lie in
                        * [0, 10] and batch_size in [0, 1e9]: HR_ERR_RANGE otherwise */
  /* Which rows of lut_csv make the LUT: model and hardware columns equal to
   * these (borrowed strings; defaults "llama2-70b", "a100-80gb") and
   * tensor_parallel equal to lut_tp (default 8). */
  const char *lut_model;
  const char *lut_hardware;
  int lut_tp;
  uint64_t seed;
  int pooled; /* 1: also train the pooled group "*" for unseen labels, keyed on
               * max_num_seqs; 2: the group "*\/gpu", keyed on max_num_seqs
               * per GPU (docs/plan.md); 0: none */
} hr_plan_train_cfg_t;

HR_API int hr_plan_train_cfg_init(hr_plan_train_cfg_t *cfg);

/* Trains all methods on the traces of set whose index k has use[k] != 0
 * (use NULL for all).  Power is modelled per GPU and scaled by the GPU count
 * of the configuration generated.  The active-request feature of a fixed-batch
 * run is A(t) = max_num_seqs (documented in docs/plan.md).  err (may be NULL)
 * gets a message for LUT-file problems, located (line, column) for those of
 * its lines.  Errors: HR_ERR_INVALID_ARG (nothing selected),
 * HR_ERR_IO/HR_ERR_PARSE/HR_ERR_RANGE (LUT file), HR_ERR_NOMEM. */
HR_API int hr_plan_model_train(const hr_plan_traceset_t *set, const unsigned char *use,
                               const hr_plan_train_cfg_t *cfg, hr_plan_model_t **out,
                               hr_diag_t *err);
HR_API void hr_plan_model_destroy(hr_plan_model_t *m);

/* Generates n samples of a replica's total GPU power [W] at the training
 * step (see hr_plan_model_generate_dt for others) for model label `model`
 * (unknown labels use the pooled group) on num_gpus GPUs, driven by the
 * active request count active[t] (n values, finite, >= 0; a time average per
 * step, so fractions are fine).  p_w (n values) is caller-owned.
 * Deterministic for a seed.  Errors: HR_ERR_INVALID_ARG (also for a bad
 * active value), HR_ERR_NOT_FOUND (no group for the label and no pooled
 * group), HR_ERR_UNSUPPORTED (LUT without a table), HR_ERR_NOMEM. */
HR_API int hr_plan_model_generate(const hr_plan_model_t *m, hr_plan_method_t method,
                                  const char *model, int num_gpus, const double *active, size_t n,
                                  uint64_t seed, double *p_w);

/* The same at a step dt_s [s] > 0 other than the training step: the copula
 * method rescales its autocorrelation to the new step (lags interpolated in
 * time); the paper and Markov methods draw one state per step whatever the
 * step.  For A < 1 (a bin partly idle) every state method mixes the busy
 * power with idle_w_per_gpu in proportion A; from 1 up to the smallest
 * trained batch the smallest batch's level holds. */
HR_API int hr_plan_model_generate_dt(const hr_plan_model_t *m, hr_plan_method_t method,
                                     const char *model, int num_gpus, const double *active,
                                     size_t n, double dt_s, uint64_t seed, double *p_w);

/* Writes the model set as a versioned text file ending in a CRC-32 line.
 * HR_ERR_IO on write failure. */
HR_API int hr_plan_model_save(const hr_plan_model_t *m, const char *path);
/* Reads a model file.  A file of another format version, with a bad
 * checksum, or otherwise malformed is refused (HR_ERR_UNSUPPORTED for the
 * version, HR_ERR_PARSE otherwise) with a message in err. */
HR_API int hr_plan_model_load(const char *path, hr_plan_model_t **out, hr_diag_t *err);
/* The same from memory (len bytes). */
HR_API int hr_plan_model_parse(const char *buf, size_t len, hr_plan_model_t **out, hr_diag_t *err);

/* Number of GMM states of the group for `model` (or the pooled group), 0
 * when there is none; for tests and reports. */
HR_API int hr_plan_model_states(const hr_plan_model_t *m, const char *model);

/* The i-th model label m has its own group for (0 <= i; training order),
 * NULL past the last; owned by m.  Pooled groups (for labels the model has
 * not seen) are not listed: hr_plan_model_states(m, NULL) > 0 says whether
 * there is one. */
HR_API const char *hr_plan_model_label(const hr_plan_model_t *m, size_t i);

/* ----------------------------------------------------- serving simulator */

/* One replica serving requests with continuous batching, iteration by
 * iteration as vLLM schedules: running decodes first (one token each), then
 * prefill tokens up to the per-iteration token budget, new sequences
 * admitted FIFO while fewer than max_num_seqs are running. */
typedef struct hr_plan_serve_cfg {
  int max_num_seqs;         /* running sequences at most, >= 1 */
  int max_batched_tokens;   /* tokens per iteration (decodes + prefill), >= 1 */
  int chunked_prefill;      /* 1: a prompt may be split across iterations; 0: a
                             * prompt runs whole (alone if it exceeds the budget) */
  double prefill_tok_per_s; /* prefill throughput of the replica [tokens/s], > 0 */
  double step_s;            /* fixed time of one iteration [s], > 0 */
  double step_per_seq_s;    /* added per decoding sequence [s], >= 0 */
} hr_plan_serve_cfg_t;

/* Defaults near Llama-3.1-70B on 4 x H100: 256 seqs, 8192 tokens, chunked,
 * 12000 prefill tokens/s, 25 ms + 0.05 ms per sequence per iteration. */
HR_API int hr_plan_serve_cfg_init(hr_plan_serve_cfg_t *cfg);

typedef struct hr_plan_serve_stats {
  size_t admitted, completed;
  double mean_ttft_s; /* arrival to first token, over completed prefills */
  double mean_e2e_s;  /* arrival to last token, over completed requests */
  double max_waiting; /* most requests queued at once */
} hr_plan_serve_stats_t;

/* Simulates req[0..nreq) (t_s finite, >= 0, non-decreasing; counts >= 0,
 * else HR_ERR_INVALID_ARG) on one replica over [0, nbins *
 * dt_s) and writes the state trajectory per bin: active[b] = time-averaged
 * number of running sequences, waiting[b] (may be NULL) = time-averaged
 * queue length.  Decode-only stretches are advanced event to event, so the
 * cost is O(requests log requests + bins).  stats may be NULL.
 * Errors: HR_ERR_INVALID_ARG, HR_ERR_NOMEM. */
HR_API int hr_plan_serve_run(const hr_plan_serve_cfg_t *cfg, const hr_plan_request_t *req,
                             size_t nreq, double dt_s, size_t nbins, double *active,
                             double *waiting, hr_plan_serve_stats_t *stats);

/* ----------------------------------------------------------- aggregation */

/* Most servers (rows x racks_per_row x servers_per_rack) and time steps
 * (duration_s / dt_s) one facility run may have. */
#define HR_PLAN_SITE_MAX_SERVERS 1000000
#define HR_PLAN_SITE_MAX_STEPS 1e9

/* A facility: rows x racks_per_row x servers_per_rack servers of
 * gpus_per_server GPUs, each server one serving replica. */
typedef struct hr_plan_site_cfg {
  int rows, racks_per_row, servers_per_rack; /* >= 1 each (paper: 10, 6, 4) */
  int gpus_per_server;                       /* >= 1 (8) */
  double non_gpu_w;        /* per-server power besides the GPUs [W], >= 0 (1000) */
  double pue;              /* facility / IT power, >= 1 (1.3) */
  double dt_s;             /* generation step [s], > 0 (0.25) */
  const char *model;       /* model label for the power model (borrowed) */
  hr_plan_method_t method; /* HR_PLAN_COPULA by default */
  hr_plan_serve_cfg_t serve;
  uint64_t seed;     /* request-to-replica assignment and power noise */
  int tp;            /* GPUs per serving replica (tensor-parallel degree), 0 or a divisor of
                      * gpus_per_server; 0: gpus_per_server (one replica per server) */
  double gpu_idle_w; /* idle power per GPU [W] for the partly idle bins, < 0: the model's
                      * idle_w_per_gpu (-1) */
  double gpu_tdp_w;  /* TDP per GPU [W], <= 0: the model's; another value scales the
                      * model's busy power by gpu_tdp_w / model TDP (docs/plan.md) (0) */
  int racks_1s;      /* 1: fill rack_w (oversub needs it; nracks x 1-s samples), 0: leave
                      * it NULL (1) */
  int node_servers;  /* keep the power of servers 0..node_servers-1 at dt_s in node_w,
                      * 0..number of servers (0) */
  int threads;       /* worker threads, >= 0; 0: the online CPUs.  Results do not depend
                      * on it (racks are summed in rack order) */
  int copula_ref;    /* 1: the scalar copula generator and a generated replica's arrivals by
                      * hr_plan_workload_generate (libm), as before the vectorised ones
                      * (the benchmark's baseline; same draws up to rounding), 0: the
                      * vectorised ones (0) */
} hr_plan_site_cfg_t;

HR_API int hr_plan_site_cfg_init(hr_plan_site_cfg_t *cfg);

/* A facility run.  Owned by the caller, released with hr_plan_site_destroy;
 * all arrays are owned by it. */
typedef struct hr_plan_site {
  double dt_s;
  size_t n;     /* samples at dt_s */
  double *it_w; /* site IT power [W] (GPUs + non-GPU), n samples */
  size_t n1;    /* 1-s samples */
  int nrows, nracks;
  double *row_w;  /* nrows x n1, row-major: 1-s means [W] */
  double *rack_w; /* nracks x n1: 1-s means [W] */
  double pue;
  hr_plan_serve_stats_t serve; /* summed over servers (means request-weighted) */
  int n_node;                  /* servers in node_w (cfg node_servers) */
  double *node_w;              /* n_node x n, row-major: server power [W] (GPUs + non-GPU) at dt_s;
                                * NULL when n_node = 0 */
  size_t requests;             /* requests of the workload (the generated ones for
                                * hr_plan_site_run_gen) */
} hr_plan_site_t;

/* Assigns each request of w to a replica uniformly at random (seeded, as the
 * paper does; a server holds gpus_per_server / tp replicas), simulates every
 * replica's serving over [0, duration_s), turns its active-sequence
 * trajectory into GPU power with model m (adapted to gpu_idle_w and
 * gpu_tdp_w), adds the non-GPU power per server, and sums servers into
 * racks, rows and the site.  Streaming: a worker holds one rack at a time,
 * so memory is the workload, the outputs and O(threads x steps).
 * Errors: HR_ERR_INVALID_ARG, HR_ERR_NOT_FOUND (no group for the label),
 * HR_ERR_UNSUPPORTED, HR_ERR_NOMEM. */
HR_API int hr_plan_site_run(const hr_plan_model_t *m, const hr_plan_site_cfg_t *cfg,
                            const hr_plan_workload_t *w, double duration_s, hr_plan_site_t **out);
/* hr_plan_site_run on a generated workload that is never held whole: each
 * replica's arrivals are drawn when its rack is simulated, as a Poisson
 * process (constant or diurnal rate) of rate / replicas from a seed of its
 * own (gen->seed and the replica), which is how the whole workload's
 * requests, assigned uniformly at random, are distributed.  Memory is the
 * outputs and O(threads x (steps + one replica's requests)), whatever the
 * request count; results do not depend on cfg->threads.  The draws differ
 * from hr_plan_workload_generate followed by hr_plan_site_run (same
 * distribution, other random numbers).  gen->max_requests applies to each
 * replica.  Errors: those of hr_plan_site_run and hr_plan_workload_generate;
 * HR_ERR_UNSUPPORTED for the bursty (gamma renewal) arrivals, whose random
 * split is not a renewal process of the same kind. */
HR_API int hr_plan_site_run_gen(const hr_plan_model_t *m, const hr_plan_site_cfg_t *cfg,
                                const hr_plan_gen_cfg_t *gen, double duration_s,
                                hr_plan_site_t **out);
HR_API void hr_plan_site_destroy(hr_plan_site_t *s);

/* Utility-facing statistics of a power series p_w[0..n) at step dt_s. */
typedef struct hr_plan_utility {
  double peak_w, mean_w;
  double load_factor;            /* mean / peak */
  double peak_to_average;        /* peak / mean */
  double peak_15min_w;           /* highest 15-minute demand (block mean) */
  double max_ramp_15min_w_per_h; /* largest change between consecutive 15-min
                                  * demands, per hour; NaN with < 2 blocks */
  double max_ramp_1s_w_per_s;    /* largest change between consecutive 1-s means */
} hr_plan_utility_t;

HR_API int hr_plan_utility_compute(const double *p_w, size_t n, double dt_s,
                                   hr_plan_utility_t *out);

/* Mean over blocks of m samples: out[k] = mean(x[k m .. k m + m)), k <
 * n / m (a last partial block is averaged over what it has).  Returns the
 * number of output samples. */
HR_API size_t hr_plan_block_mean(const double *x, size_t n, size_t m, double *out);

/* Oversubscription: peaks of n racks drawn without replacement from nracks
 * rack series (1-s means, n1 samples each, row-major), repeated `samples`
 * times (seeded). */
typedef struct hr_plan_oversub {
  double peak_mean_w, peak_p05_w, peak_p50_w, peak_p95_w, peak_max_w;
  double exceed_prob; /* fraction of draws whose peak exceeds cap_w */
} hr_plan_oversub_t;

/* 1 <= n <= nracks, samples >= 1, cap_w > 0.  Errors: HR_ERR_INVALID_ARG,
 * HR_ERR_NOMEM. */
HR_API int hr_plan_oversub_sample(const double *rack_w, int nracks, size_t n1, int n, int samples,
                                  double cap_w, uint64_t seed, hr_plan_oversub_t *out);

/* ---------------------------------------------------------------- studies */

/* Asked between the steps of a study (after each method, each rack count):
 * non-zero stops it there, with the rows made so far and `stopped` set. */
typedef int (*hr_plan_stop_fn)(void *user);

/* Provisioning: the same workload under every power model the model file
 * supports (methods it cannot run, such as LUT without a table, are left
 * out). */
typedef struct hr_plan_provision_row {
  hr_plan_method_t method;
  hr_plan_utility_t it; /* statistics of the site's IT power [W] (x pue for the facility) */
  double *it_1min_w;    /* 1-minute means of the IT power [W], n_1min values; owned by the study */
  size_t n_1min;
} hr_plan_provision_row_t;

typedef struct hr_plan_provision {
  size_t n_rows;
  hr_plan_provision_row_t *rows; /* n_rows, in method order; owned by the study */
  double pue;                    /* the site's, for facility figures */
  int stopped;                   /* 1: stop() ended it early */
} hr_plan_provision_t;

/* Runs hr_plan_site_run with cfg (copied; cfg->method is ignored) for every
 * method.  stop may be NULL.  *out is the caller's (hr_plan_provision_destroy).
 * Errors: those of hr_plan_site_run and hr_plan_utility_compute. */
HR_API int hr_plan_provision_run(const hr_plan_model_t *m, const hr_plan_site_cfg_t *cfg,
                                 const hr_plan_workload_t *w, double duration_s,
                                 hr_plan_stop_fn stop, void *user, hr_plan_provision_t **out);
HR_API void hr_plan_provision_destroy(hr_plan_provision_t *p);

/* Oversubscription of a row of cap_w (IT power): the peaks of n racks drawn
 * from the generated racks, for n = 1 .. racks generated, and the sizing by
 * nameplate and by traces. */
typedef struct hr_plan_oversub_row {
  int n_racks;
  hr_plan_oversub_t peak; /* over `samples` draws of n_racks racks */
} hr_plan_oversub_row_t;

typedef struct hr_plan_oversub_study {
  double rack_nameplate_w;      /* servers x (GPUs x TDP + non-GPU W); TDP gpu_tdp_w, else 700 W */
  int racks_by_nameplate;       /* floor(cap_w / rack_nameplate_w) */
  int racks_by_trace_p95;       /* largest n whose p95 peak is within cap_w */
  int racks_by_trace_no_exceed; /* largest n no draw of which exceeds cap_w */
  int racks_generated;
  int n_rows;                  /* rows made (racks_generated unless stopped) */
  hr_plan_oversub_row_t *rows; /* owned by the study */
  int stopped;
} hr_plan_oversub_study_t;

/* One site run of cfg (its method), then hr_plan_oversub_sample for every
 * rack count with seed cfg->seed + n.  cap_w > 0, samples >= 1; stop may be
 * NULL.  *out is the caller's (hr_plan_oversub_study_destroy). */
HR_API int hr_plan_oversub_study_run(const hr_plan_model_t *m, const hr_plan_site_cfg_t *cfg,
                                     const hr_plan_workload_t *w, double duration_s, double cap_w,
                                     int samples, hr_plan_stop_fn stop, void *user,
                                     hr_plan_oversub_study_t **out);
HR_API void hr_plan_oversub_study_destroy(hr_plan_oversub_study_t *o);

#define HR_PLAN_MODEL_VERSION 2 /* 2 adds the BiGRU; version 1 files still load */

#ifdef __cplusplus
}
#endif
#endif
