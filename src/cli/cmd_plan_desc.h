/* headroom plan: the descriptor path of `plan generate` and the
 * `plan descriptors` leave-one-model-out table (cmd_plan_desc.c). */
#ifndef HR_CMD_PLAN_DESC_H
#define HR_CMD_PLAN_DESC_H

#include "headroom/plan.h"

/* What `plan generate` takes to describe a configuration it has not seen. */
typedef struct plan_desc_args {
  double params_b;       /* > 0: the descriptor path is asked for */
  double active_b;       /* 0: = params_b (dense) */
  double precision_bits; /* 16 */
  int tp;                /* 0: --gpus */
  const char *gpu;       /* "h100" */
  double tdp_w, idle_w;  /* < 0: the GPU table's */
  const char *descriptors;
  const char *calibrate;  /* power CSVs t_s,power_w, comma-separated */
  double cal_minutes;     /* 0: all of them; else in total, split evenly */
  const char *cal_batch;  /* their batch limits, comma-separated (NULL: --batch) */
  const char *cal_levels; /* "IDLE,FULL" per GPU [W] */
} plan_desc_args_t;

void plan_desc_args_init(plan_desc_args_t *a);

/* Builds the descriptor model for a: the regression over the labels of m
 * with known descriptors (built in, or from a.descriptors), calibrated when
 * asked; says on standard error how far outside the training range the
 * target lies.  *out holds one group, `label`.  0, or the exit status (1
 * or 2) after saying why. */
int plan_desc_model(const hr_plan_model_t *m, const char *mf, const plan_desc_args_t *a, int gpus,
                    double batch, const char *label, hr_plan_model_t **out);

int cmd_plan_descriptors(int argc, char **argv);

#endif
