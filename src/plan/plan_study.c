/* plan module: the studies behind `plan provision` and `plan oversub`, as
 * rows for a caller to print, chart or store (the command writes the files,
 * src/cli/cmd_plan.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "headroom/error.h"
#include "headroom/plan.h"

void hr_plan_provision_destroy(hr_plan_provision_t *p)
{
  if (!p)
    return;
  for (size_t i = 0; i < p->n_rows; i++)
    free(p->rows[i].it_1min_w);
  free(p->rows);
  free(p);
}

int hr_plan_provision_run(const hr_plan_model_t *m, const hr_plan_site_cfg_t *cfg,
                          const hr_plan_workload_t *w, double duration_s, hr_plan_stop_fn stop,
                          void *user, hr_plan_provision_t **out)
{
  if (out)
    *out = NULL;
  if (!m || !cfg || !w || !out)
    return HR_ERR_INVALID_ARG;
  hr_plan_provision_t *p = calloc(1, sizeof *p);
  if (!p || !(p->rows = calloc(HR_PLAN_METHOD_COUNT_, sizeof *p->rows))) {
    free(p);
    return HR_ERR_NOMEM;
  }
  p->pue = cfg->pue;
  hr_plan_site_cfg_t c = *cfg;
  c.racks_1s = 0; /* the study reads the site series only */
  int rc = HR_OK;
  for (int meth = 0; meth < HR_PLAN_METHOD_COUNT_ && rc == HR_OK; meth++) {
    if (stop && stop(user)) {
      p->stopped = 1;
      break;
    }
    c.method = (hr_plan_method_t)meth;
    hr_plan_site_t *s = NULL;
    rc = hr_plan_site_run(m, &c, w, duration_s, &s);
    if (rc == HR_ERR_UNSUPPORTED) { /* no LUT in the model */
      rc = HR_OK;
      continue;
    }
    if (rc != HR_OK)
      break;
    hr_plan_provision_row_t *r = &p->rows[p->n_rows];
    r->method = (hr_plan_method_t)meth;
    rc = hr_plan_utility_compute(s->it_w, s->n, s->dt_s, &r->it);
    size_t per = (size_t)lround(60.0 / s->dt_s);
    per = per ? per : 1;
    if (rc == HR_OK && !(r->it_1min_w = malloc((s->n / per + 1) * sizeof *r->it_1min_w)))
      rc = HR_ERR_NOMEM;
    if (rc == HR_OK) {
      r->n_1min = hr_plan_block_mean(s->it_w, s->n, per, r->it_1min_w);
      p->n_rows++;
    }
    hr_plan_site_destroy(s);
  }
  if (rc != HR_OK) {
    hr_plan_provision_destroy(p);
    return rc;
  }
  *out = p;
  return HR_OK;
}

void hr_plan_oversub_study_destroy(hr_plan_oversub_study_t *o)
{
  if (!o)
    return;
  free(o->rows);
  free(o);
}

int hr_plan_oversub_study_run(const hr_plan_model_t *m, const hr_plan_site_cfg_t *cfg,
                              const hr_plan_workload_t *w, double duration_s, double cap_w,
                              int samples, hr_plan_stop_fn stop, void *user,
                              hr_plan_oversub_study_t **out)
{
  if (out)
    *out = NULL;
  if (!m || !cfg || !w || !out || !(cap_w > 0.0) || !isfinite(cap_w) || samples < 1)
    return HR_ERR_INVALID_ARG;
  hr_plan_site_t *s = NULL;
  hr_plan_site_cfg_t c = *cfg;
  c.racks_1s = 1; /* the draws are of racks */
  int rc = hr_plan_site_run(m, &c, w, duration_s, &s);
  if (rc != HR_OK)
    return rc;
  hr_plan_oversub_study_t *o = calloc(1, sizeof *o);
  if (!o || !(o->rows = calloc((size_t)(s->nracks > 0 ? s->nracks : 1), sizeof *o->rows))) {
    free(o);
    hr_plan_site_destroy(s);
    return HR_ERR_NOMEM;
  }
  /* Nameplate: every GPU at its TDP (gpu_tdp_w, else 700 W: H100 SXM) plus
   * the rest. */
  double tdp_w = cfg->gpu_tdp_w > 0.0 ? cfg->gpu_tdp_w : 700.0;
  o->rack_nameplate_w = cfg->servers_per_rack * (cfg->gpus_per_server * tdp_w + cfg->non_gpu_w);
  o->racks_by_nameplate = (int)floor(cap_w / o->rack_nameplate_w);
  o->racks_generated = s->nracks;
  for (int n = 1; n <= s->nracks && rc == HR_OK; n++) {
    if (stop && stop(user)) {
      o->stopped = 1;
      break;
    }
    hr_plan_oversub_row_t *r = &o->rows[o->n_rows];
    rc = hr_plan_oversub_sample(s->rack_w, s->nracks, s->n1, n, samples, cap_w,
                                cfg->seed + (uint64_t)n, &r->peak);
    if (rc != HR_OK)
      break;
    r->n_racks = n;
    o->n_rows++;
    if (r->peak.peak_p95_w <= cap_w)
      o->racks_by_trace_p95 = n;
    if (r->peak.exceed_prob == 0.0)
      o->racks_by_trace_no_exceed = n;
  }
  hr_plan_site_destroy(s);
  if (rc != HR_OK) {
    hr_plan_oversub_study_destroy(o);
    return rc;
  }
  *out = o;
  return HR_OK;
}
