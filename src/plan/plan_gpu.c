/* plan module: GPU types and serving speeds derived from a model's
 * description (a roofline estimate; docs/plan.md). */
#include <math.h>
#include <string.h>

#include "headroom/error.h"
#include "headroom/plan_gpu.h"

/* TDP, bandwidth and dense tensor FLOP/s are the vendor datasheets' (NVIDIA
 * H100, H200, A100 and L40S datasheets; the sparse figures there are twice
 * these).  Idle power is not a datasheet figure: it is a typical draw of a
 * GPU holding a loaded model with no request (an H100 SXM nearer 120 W, an
 * A100 SXM nearer 80 W, as measured request logs show; PCIe parts scaled by
 * TDP), and --idle-w overrides it. */
static const hr_plan_gpu_t gpus[] = {
    {"h100", "NVIDIA H100 SXM5 80GB", 700.0, 120.0, 3.35e12, 989.4e12, 1978.9e12},
    {"h100-pcie", "NVIDIA H100 PCIe 80GB", 350.0, 60.0, 2.0e12, 756.0e12, 1513.0e12},
    {"h200", "NVIDIA H200 SXM 141GB", 700.0, 120.0, 4.8e12, 989.4e12, 1978.9e12},
    {"a100", "NVIDIA A100 SXM4 80GB", 400.0, 80.0, 2.039e12, 312.0e12, 0.0},
    {"a100-pcie", "NVIDIA A100 PCIe 80GB", 300.0, 60.0, 1.935e12, 312.0e12, 0.0},
    {"l40s", "NVIDIA L40S 48GB", 350.0, 40.0, 0.864e12, 362.05e12, 733.0e12},
};

const hr_plan_gpu_t *hr_plan_gpu_at(size_t i)
{
  return i < sizeof gpus / sizeof gpus[0] ? &gpus[i] : NULL;
}

const hr_plan_gpu_t *hr_plan_gpu_find(const char *name)
{
  for (size_t i = 0; name && i < sizeof gpus / sizeof gpus[0]; i++)
    if (strcmp(gpus[i].name, name) == 0)
      return &gpus[i];
  return NULL;
}

int hr_plan_llm_init(hr_plan_llm_t *llm)
{
  if (!llm)
    return HR_ERR_INVALID_ARG;
  memset(llm, 0, sizeof *llm);
  llm->params_b = 8.0;
  llm->active_params_b = 8.0;
  llm->precision = HR_PLAN_BF16;
  llm->tp = 1;
  llm->mfu = 0.5;
  llm->mbu = 0.7;
  llm->ctx_tokens = 1024.0;
  return HR_OK;
}

double hr_plan_kv_bytes_per_token(double active_params_b)
{
  /* Llama-3.1 8B, 70B, 405B: 2 (K and V) x layers (32, 80, 126) x 8 KV heads
   * x 128 x 2 bytes (BF16). */
  static const double pb[3] = {8.0, 70.0, 405.0}, kv[3] = {131072.0, 327680.0, 516096.0};
  if (!(active_params_b > 0.0) || !isfinite(active_params_b))
    return NAN;
  int i = active_params_b <= pb[1] ? 0 : 1; /* segment, also for extrapolation */
  double slope = log(kv[i + 1] / kv[i]) / log(pb[i + 1] / pb[i]);
  return kv[i] * exp(slope * log(active_params_b / pb[i]));
}

int hr_plan_serve_speeds(const hr_plan_gpu_t *gpu, const hr_plan_llm_t *llm,
                         hr_plan_serve_cfg_t *cfg)
{
  if (!gpu || !llm || !cfg || !(gpu->hbm_b_per_s > 0.0) || !(gpu->bf16_flop_per_s > 0.0) ||
      !(gpu->fp8_flop_per_s >= 0.0) || !(llm->params_b > 0.0) || !(llm->params_b <= 1e6) ||
      !(llm->active_params_b > 0.0) || !(llm->active_params_b <= llm->params_b) || llm->tp < 1 ||
      !(llm->mfu > 0.0 && llm->mfu <= 1.0) || !(llm->mbu > 0.0 && llm->mbu <= 1.0) ||
      !(llm->kv_b_per_token >= 0.0 && llm->kv_b_per_token < 1e12) ||
      !(llm->ctx_tokens >= 0.0 && llm->ctx_tokens < 1e12) ||
      (llm->precision != HR_PLAN_BF16 && llm->precision != HR_PLAN_FP8))
    return HR_ERR_INVALID_ARG;
  int fp8 = llm->precision == HR_PLAN_FP8;
  /* FP8 weights on a GPU without FP8 tensor cores (A100) are read as FP8
   * and computed in BF16, as weight-only FP8 kernels do. */
  double flops = fp8 && gpu->fp8_flop_per_s > 0.0 ? gpu->fp8_flop_per_s : gpu->bf16_flop_per_s;
  double bw = (double)llm->tp * gpu->hbm_b_per_s * llm->mbu;
  double fl = (double)llm->tp * flops * llm->mfu;
  double kv = llm->kv_b_per_token > 0.0 ? llm->kv_b_per_token
                                        : hr_plan_kv_bytes_per_token(llm->active_params_b);
  /* A decode iteration reads every weight once whatever the batch (for a
   * mixture of experts at the batches served, every expert is hit), then
   * each sequence reads its KV cache and costs 2 FLOPs per active
   * parameter.  The roofline time is the larger of memory and compute; the
   * simulator's iteration time is linear in the batch, so the two per-sequence
   * terms are summed (an upper bound of the roofline's max). */
  cfg->step_s = llm->params_b * 1e9 * (fp8 ? 1.0 : 2.0) / bw;
  cfg->step_per_seq_s = kv * llm->ctx_tokens / bw + 2.0 * llm->active_params_b * 1e9 / fl;
  cfg->prefill_tok_per_s = fl / (2.0 * llm->active_params_b * 1e9);
  return HR_OK;
}
