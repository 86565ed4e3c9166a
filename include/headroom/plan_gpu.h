/* headroom plan: GPU types and serving speeds derived from a model's
 * description (docs/plan.md, "GPU types and derived serving speeds").
 *
 * A small table of data-centre GPUs (TDP, typical idle power, HBM bandwidth,
 * dense tensor FLOP/s) and a roofline-style estimate of the serving
 * simulator's speeds (hr_plan_serve_cfg_t) from the parameters, precision and
 * tensor-parallel degree of an LLM. */
#ifndef HEADROOM_PLAN_GPU_H
#define HEADROOM_PLAN_GPU_H

#include <stddef.h>

#include "headroom/export.h"
#include "headroom/plan.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hr_plan_gpu {
  const char *name;       /* short name for --gpu-type ("h100") */
  const char *desc;       /* what it is ("NVIDIA H100 SXM5 80GB") */
  double tdp_w;           /* board power limit [W] (datasheet) */
  double idle_w;          /* typical draw with a model loaded and no request [W] */
  double hbm_b_per_s;     /* memory bandwidth [bytes/s] (datasheet) */
  double bf16_flop_per_s; /* dense BF16 tensor throughput [FLOP/s] (datasheet, no sparsity) */
  double fp8_flop_per_s;  /* dense FP8 tensor throughput [FLOP/s]; 0: no FP8 tensor cores */
} hr_plan_gpu_t;

/* The i-th GPU of the table (0 <= i), NULL past the last; static storage. */
HR_API const hr_plan_gpu_t *hr_plan_gpu_at(size_t i);
/* The GPU called `name` (case-sensitive, as hr_plan_gpu_at lists), or NULL. */
HR_API const hr_plan_gpu_t *hr_plan_gpu_find(const char *name);

typedef enum hr_plan_precision {
  HR_PLAN_BF16 = 0, /* 2 bytes per weight, BF16 tensor FLOP/s */
  HR_PLAN_FP8 = 1   /* 1 byte per weight, FP8 tensor FLOP/s (BF16 rate on a GPU without FP8) */
} hr_plan_precision_t;

/* What is known about an LLM deployment before it runs. */
typedef struct hr_plan_llm {
  double params_b;        /* total parameters [1e9], > 0 (all experts of a MoE) */
  double active_params_b; /* parameters used per token [1e9], in (0, params_b]; equal to
                           * params_b for a dense model */
  hr_plan_precision_t precision;
  int tp;                /* tensor-parallel degree: GPUs per replica, >= 1 */
  double mfu;            /* achieved fraction of the tensor FLOP/s, (0, 1] (0.5) */
  double mbu;            /* achieved fraction of the HBM bandwidth, (0, 1] (0.7) */
  double kv_b_per_token; /* KV-cache bytes per token of context, >= 0; 0: the fit of
                          * hr_plan_kv_bytes_per_token */
  double ctx_tokens;     /* mean context of a decoding sequence [tokens], >= 0 (1024) */
} hr_plan_llm_t;

/* Defaults: 8B dense, BF16, tp 1, mfu 0.5, mbu 0.7, KV from the fit, 1024
 * tokens of context. */
HR_API int hr_plan_llm_init(hr_plan_llm_t *llm);

/* KV-cache bytes per token of a Llama-3.1-like model with active_params_b
 * active parameters [1e9] in BF16: log-log interpolation through Llama-3.1
 * 8B, 70B and 405B (128, 320 and 504 KiB per token: 2 x layers x 8 KV heads
 * x 128 x 2 bytes), extrapolated along the nearest segment.  NAN for a value
 * <= 0. */
HR_API double hr_plan_kv_bytes_per_token(double active_params_b);

/* Serving speeds of one replica (llm->tp GPUs of type gpu), written into
 * cfg's prefill_tok_per_s, step_s and step_per_seq_s (other fields kept):
 *
 *   weight bytes  W = params_b 1e9 x (2 for BF16, 1 for FP8)
 *   step_s        = W / (tp x hbm_b_per_s x mbu)        every decode iteration
 *                                                         reads all weights
 *   step_per_seq_s = kv x ctx_tokens / (tp x hbm_b_per_s x mbu)
 *                  + 2 active_params_b 1e9 / (tp x flop_per_s x mfu)
 *   prefill_tok_per_s = tp x flop_per_s x mfu / (2 active_params_b 1e9)
 *
 * with flop_per_s the FP8 rate for FP8 on a GPU that has one, else BF16.
 * Errors: HR_ERR_INVALID_ARG for a NULL or a value outside its range. */
HR_API int hr_plan_serve_speeds(const hr_plan_gpu_t *gpu, const hr_plan_llm_t *llm,
                                hr_plan_serve_cfg_t *cfg);

#ifdef __cplusplus
}
#endif

#endif /* HEADROOM_PLAN_GPU_H */
