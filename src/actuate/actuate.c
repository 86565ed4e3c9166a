/* The actuator interface: argument checks and dispatch to an implementation. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actuate_int.h"
#include "core/core.h"

hr_actuator_t *hr__act_new(const hr__act_ops_t *ops, int n)
{
  hr_actuator_t *a = calloc(1, sizeof *a);
  if (!a)
    return NULL;
  a->ops = ops;
  a->n = n;
  return a;
}

int hr__act_fail(hr_actuator_t *a, int code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(a->err, sizeof a->err, fmt, ap);
  va_end(ap);
  return code;
}

static int check_dev(hr_actuator_t *a, int dev)
{
  if (dev < 0 || dev >= a->n)
    return hr__act_fail(a, HR_ERR_RANGE, "%s: device %d does not exist (%d devices)", a->ops->kind,
                        dev, a->n);
  a->err[0] = '\0';
  return HR_OK;
}

int hr_actuator_count(const hr_actuator_t *a)
{
  return a ? a->n : 0;
}

const char *hr_actuator_kind(const hr_actuator_t *a)
{
  return a ? a->ops->kind : "none";
}

const char *hr_actuator_name(const hr_actuator_t *a, int dev)
{
  if (!a || dev < 0 || dev >= a->n)
    return "";
  return a->ops->name(a, dev);
}

int hr_actuator_read(hr_actuator_t *a, int dev, hr_power_source_t src, int64_t t_ns,
                     hr_act_reading_t *out)
{
  if (!a || !out)
    return HR_ERR_INVALID_ARG;
  int rc = check_dev(a, dev);
  if (rc != HR_OK)
    return rc;
  out->t_ns = t_ns;
  out->p_w = out->cap_w = 0.0;
  out->valid = 0;
  return a->ops->read(a, dev, src, t_ns, out);
}

int hr_actuator_read_many(hr_actuator_t *a, int dev0, int n, hr_power_source_t src, int64_t t_ns,
                          hr_act_reading_t *out)
{
  if (!a || !out || n < 0)
    return HR_ERR_INVALID_ARG;
  if (dev0 < 0 || dev0 > a->n - n)
    return hr__act_fail(a, HR_ERR_RANGE, "%s: devices %d..%d do not exist (%d devices)",
                        a->ops->kind, dev0, dev0 + n - 1, a->n);
  a->err[0] = '\0';
  if (a->ops->read_many)
    return a->ops->read_many(a, dev0, n, src, t_ns, out);
  int first = HR_OK;
  char err[sizeof a->err];
  for (int k = 0; k < n; k++) {
    int rc = hr_actuator_read(a, dev0 + k, src, t_ns, &out[k]);
    if (rc != HR_OK) {
      out[k].valid = 0;
      if (first == HR_OK) {
        first = rc;
        memcpy(err, a->err, sizeof err); /* the first failure's message is the one kept */
      }
    }
  }
  if (first != HR_OK)
    memcpy(a->err, err, sizeof err);
  else
    a->err[0] = '\0';
  return first;
}

int hr_actuator_limits(hr_actuator_t *a, int dev, hr_act_limits_t *out)
{
  if (!a || !out)
    return HR_ERR_INVALID_ARG;
  int rc = check_dev(a, dev);
  return rc != HR_OK ? rc : a->ops->limits(a, dev, out);
}

int hr_actuator_set_cap(hr_actuator_t *a, int dev, double cap_w, int64_t t_ns)
{
  if (!a)
    return HR_ERR_INVALID_ARG;
  int rc = check_dev(a, dev);
  if (rc != HR_OK)
    return rc;
  hr_act_limits_t lim;
  rc = a->ops->limits(a, dev, &lim);
  if (rc != HR_OK)
    return rc;
  if (!isfinite(cap_w) || cap_w <= 0.0 || (lim.cap_min_w > 0 && cap_w < lim.cap_min_w) ||
      (lim.cap_max_w > 0 && cap_w > lim.cap_max_w))
    return hr__act_fail(a, HR_ERR_RANGE, "%s device %d: cap %.1f W is outside %.1f..%.1f W",
                        a->ops->kind, dev, cap_w, lim.cap_min_w, lim.cap_max_w);
  return a->ops->set_cap(a, dev, cap_w, t_ns);
}

int hr_actuator_set_power_floor(hr_actuator_t *a, int dev, double floor_w, int64_t t_ns)
{
  if (!a)
    return HR_ERR_INVALID_ARG;
  int rc = check_dev(a, dev);
  if (rc != HR_OK)
    return rc;
  if (!a->ops->set_floor)
    return hr__act_fail(a, HR_ERR_UNSUPPORTED, "%s device %d: no power smoothing floor",
                        a->ops->kind, dev);
  hr_act_limits_t lim;
  rc = a->ops->limits(a, dev, &lim);
  if (rc != HR_OK)
    return rc;
  /* NVML power smoothing: the floor is settable from 20 to 90 % of TDP
   * (orchestration.md §1.3); a part per million of slack for the caller's
   * rounding of a fraction into watts. */
  double lo = 0.2 * lim.cap_max_w * (1.0 - 1e-6), hi = 0.9 * lim.cap_max_w * (1.0 + 1e-6);
  if (!(floor_w == 0.0 || (floor_w >= lo && floor_w <= hi)))
    return hr__act_fail(a, HR_ERR_RANGE,
                        "%s device %d: power floor %.1f W is neither 0 nor within %.1f..%.1f W "
                        "(20..90 %% of %.1f W)",
                        a->ops->kind, dev, floor_w, 0.2 * lim.cap_max_w, 0.9 * lim.cap_max_w,
                        lim.cap_max_w);
  return a->ops->set_floor(a, dev, floor_w, t_ns);
}

int hr_actuator_set_smoothing(hr_actuator_t *a, int dev, const hr_act_smoothing_t *p, int64_t t_ns)
{
  if (!a || !p)
    return HR_ERR_INVALID_ARG;
  int rc = check_dev(a, dev);
  if (rc != HR_OK)
    return rc;
  if (!a->ops->set_smoothing)
    return hr__act_fail(a, HR_ERR_UNSUPPORTED,
                        "%s device %d (%s): no power smoothing (NVML's on Blackwell GPUs only)",
                        a->ops->kind, dev, a->ops->name(a, dev));
  hr_act_limits_t lim;
  rc = a->ops->limits(a, dev, &lim);
  if (rc != HR_OK)
    return rc;
  /* The floor as hr_actuator_set_power_floor takes it, without 0: a
   * profile always has one (NVML's PERCENT_TMP_FLOOR, 20..90 % of TDP). */
  double lo = 0.2 * lim.cap_max_w * (1.0 - 1e-6), hi = 0.9 * lim.cap_max_w * (1.0 + 1e-6);
  if (!(p->floor_w >= lo && p->floor_w <= hi))
    return hr__act_fail(a, HR_ERR_RANGE,
                        "%s device %d: smoothing floor %.1f W is not within %.1f..%.1f W "
                        "(20..90 %% of %.1f W)",
                        a->ops->kind, dev, p->floor_w, 0.2 * lim.cap_max_w, 0.9 * lim.cap_max_w,
                        lim.cap_max_w);
  if (!(p->ramp_up_w_per_s > 0.0 && isfinite(p->ramp_up_w_per_s) && p->ramp_down_w_per_s > 0.0 &&
        isfinite(p->ramp_down_w_per_s)))
    return hr__act_fail(a, HR_ERR_RANGE,
                        "%s device %d: smoothing ramps %g W/s up, %g W/s down must be positive "
                        "and finite",
                        a->ops->kind, dev, p->ramp_up_w_per_s, p->ramp_down_w_per_s);
  /* Bounded so that it stays a time in int64 ns wherever it is kept. */
  if (!(p->ramp_down_hyst_ms >= 0.0 && p->ramp_down_hyst_ms <= HR_ACT_HYST_MAX_MS))
    return hr__act_fail(a, HR_ERR_RANGE, "%s device %d: ramp-down hysteresis %g ms outside 0..%g",
                        a->ops->kind, dev, p->ramp_down_hyst_ms, HR_ACT_HYST_MAX_MS);
  return a->ops->set_smoothing(a, dev, p, t_ns);
}

int hr_actuator_lock_clocks(hr_actuator_t *a, int dev, int min_mhz, int max_mhz)
{
  if (!a)
    return HR_ERR_INVALID_ARG;
  int rc = check_dev(a, dev);
  if (rc != HR_OK)
    return rc;
  if (!a->ops->lock_clocks)
    return hr__act_fail(a, HR_ERR_UNSUPPORTED, "%s: clocks cannot be locked", a->ops->kind);
  if (min_mhz < 0 || max_mhz < min_mhz)
    return hr__act_fail(a, HR_ERR_RANGE, "%s device %d: clock range %d..%d MHz is not valid",
                        a->ops->kind, dev, min_mhz, max_mhz);
  return a->ops->lock_clocks(a, dev, min_mhz, max_mhz);
}

int hr_actuator_samples(hr_actuator_t *a, int dev, int64_t *since_us, hr_act_sample_t *out,
                        size_t max, size_t *n)
{
  if (!a || !since_us || !n || (max && !out))
    return HR_ERR_INVALID_ARG;
  *n = 0;
  int rc = check_dev(a, dev);
  if (rc != HR_OK)
    return rc;
  if (!a->ops->samples)
    return hr__act_fail(a, HR_ERR_UNSUPPORTED, "%s: no power sample buffer", a->ops->kind);
  return a->ops->samples(a, dev, since_us, out, max, n);
}

const char *hr_actuator_error(const hr_actuator_t *a)
{
  return a ? a->err : "no actuator";
}

void hr_actuator_destroy(hr_actuator_t *a)
{
  if (!a)
    return;
  a->ops->destroy(a);
  free(a);
}

/* The vectoriser's dynamic cost model (-O2 keeps the "very cheap" one,
 * which refuses the gather of p_w[slot[d]]). */
__attribute__((optimize("vect-cost-model=dynamic"))) HR__CLONES_V4 void
hr__tel_readings(uint64_t key, int64_t t_ns, size_t n, const int32_t *restrict slot,
                 const double *restrict p_w, double *restrict out)
{
  for (size_t d = 0; d < n; d++)
    out[d] = hr__tel_reading_w(key, (int)d, t_ns, p_w[slot[d]]);
}
