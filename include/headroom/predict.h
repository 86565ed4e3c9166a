/* headroom: short-horizon peak prediction for the orchestrator.
 *
 * A predictor is fed a node's power at a fixed step and forecasts the largest
 * power over the next horizon (default 50 ms), so that a coordinator can ask
 * for tokens before a step instead of after it.  The forecast combines:
 *   - persistence: the present power;
 *   - the schedule: for periodic loads (training iterations), the same phase
 *     one period ago, the period given as a hint or found by autocorrelation
 *     over the recent history;
 *   - optionally, a hint from the node's scheduler (hr_predictor_push_hint):
 *     the load the serving engine has already committed to, mapped to power
 *     by a table learned online from the node's own past;
 *   - a margin calibrated online, conformal style: the chosen quantile of the
 *     forecast's own recent misses (known once the horizon has passed).
 * Everything is sized at creation; pushing never allocates. */
#ifndef HEADROOM_PREDICT_H
#define HEADROOM_PREDICT_H

#include <stddef.h>
#include <stdint.h>

#include "headroom/error.h"
#include "headroom/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hr_predict_cfg {
  double dt_s;          /* step between samples [s], 1e-4 <= dt_s <= 60 */
  double horizon_s;     /* forecast horizon [s], dt_s <= horizon_s <= 600; default 0.05 */
  double history_s;     /* history kept for period detection [s] >= 4 * horizon; default 20 */
  double period_hint_s; /* known period of the load [s] (e.g. a training iteration);
                           0: detect from the history; < 0: no seasonal term */
  double quantile;      /* quantile of recent misses added as margin, 0..1; default 0.5 */
  double calib_s;       /* how far back misses are remembered [s]; default 10 */
  /* Hint table (used only by hr_predictor_push_hint): the hint's load is
   * binned in half octaves of 1 + load, bin 0 holding load < 0.41 (idle),
   * the last bin everything above; each bin learns the hint_quantile of the
   * largest power seen over the horizon that followed a forecast made with
   * that bin.  A bin's peak joins the forecast when the load has risen by
   * two bins (an octave) or more within the last horizon and the bin has
   * hint_min_s seconds of outcomes.  hint_bins 0 (or push without a hint)
   * leaves the hint out. */
  int hint_bins;        /* 0..64; default 24 (loads up to ~4000 sequences) */
  double hint_quantile; /* 0..1; default 0.5 */
  double hint_min_s;    /* [s] >= 0; default 1 */
} hr_predict_cfg_t;

/* What the node's scheduler knows at the time of a sample about the load it
 * has committed to, before the power shows it.  For an LLM serving engine:
 * the batch of its next iteration and the requests accepted but not yet
 * admitted.  Only present or past facts belong here (never anything derived
 * from later power); the caller owns the struct, which is read during the
 * call only.  Negative or non-finite fields are treated as 0. */
typedef struct hr_predict_hint {
  double batch_seqs;  /* sequences in the engine's next iteration (decodes +
                         admitted prefills) [sequences], >= 0 */
  double queued_seqs; /* requests accepted by the node, not yet admitted
                         (engine waiting queue, front-end dispatch queue)
                         [requests], >= 0 */
} hr_predict_hint_t;

typedef struct hr_predictor hr_predictor_t;

/* Defaults for a series sampled every dt_s seconds. */
HR_API int hr_predict_cfg_init(hr_predict_cfg_t *cfg, double dt_s);

/* Returns HR_OK, HR_ERR_INVALID_ARG / HR_ERR_RANGE (bad cfg), HR_ERR_NOMEM. */
HR_API int hr_predictor_create(const hr_predict_cfg_t *cfg, hr_predictor_t **out);
HR_API void hr_predictor_destroy(hr_predictor_t *p);
HR_API void hr_predictor_reset(hr_predictor_t *p);

/* Adds the next sample [W] and returns the forecast of the largest power over
 * the next horizon [W] (NaN input is treated as the previous value). */
HR_API double hr_predictor_push(hr_predictor_t *p, double p_w);

/* The same with the scheduler's hint for this sample (hint NULL: none, the
 * same as hr_predictor_push).  The hint's load is batch_seqs + queued_seqs;
 * the forecast becomes the larger of the above and the learned horizon peak
 * for that load.  Never allocates. */
HR_API double hr_predictor_push_hint(hr_predictor_t *p, double p_w, const hr_predict_hint_t *hint);

/* The period in use [s] (0 when none). */
HR_API double hr_predictor_period_s(const hr_predictor_t *p);

/* Precision and recall of "the largest power over the next horizon exceeds
 * threshold_w" for a whole series, the forecast made from samples up to
 * each step.  Samples whose horizon runs past the end are not scored, nor
 * the first warmup_s seconds.  Returns HR_OK, HR_ERR_INVALID_ARG. */
typedef struct hr_predict_score {
  int64_t tp, fp, fn, tn;
  double precision, recall; /* tp/(tp+fp), tp/(tp+fn); 1 when the denominator is 0 */
  /* Onsets: steps where the present power is at or below the threshold but
   * the next horizon exceeds it, the cases persistence can never catch. */
  int64_t onsets, onsets_caught;
  double onset_recall;
} hr_predict_score_t;

HR_API int hr_predict_evaluate(const hr_predict_cfg_t *cfg, const double *p_w, size_t n,
                               double threshold_w, double warmup_s, hr_predict_score_t *out);

/* The same with one hint per sample (hint[t] is pushed with p_w[t]; hint
 * NULL: none).  Only the scoring looks past step t, never the predictor. */
HR_API int hr_predict_evaluate_hint(const hr_predict_cfg_t *cfg, const double *p_w,
                                    const hr_predict_hint_t *hint, size_t n, double threshold_w,
                                    double warmup_s, hr_predict_score_t *out);

#ifdef __cplusplus
}
#endif
#endif
