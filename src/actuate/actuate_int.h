/* Internals shared by the actuator implementations. */
#ifndef HR_ACTUATE_INT_H
#define HR_ACTUATE_INT_H

#include "headroom/actuate.h"

typedef struct hr__act_ops {
  const char *kind;
  int (*read)(hr_actuator_t *a, int dev, hr_power_source_t src, int64_t t_ns,
              hr_act_reading_t *out);
  int (*limits)(hr_actuator_t *a, int dev, hr_act_limits_t *out);
  int (*set_cap)(hr_actuator_t *a, int dev, double cap_w, int64_t t_ns);
  int (*lock_clocks)(hr_actuator_t *a, int dev, int min_mhz, int max_mhz); /* may be NULL */
  int (*samples)(hr_actuator_t *a, int dev, int64_t *since_us, hr_act_sample_t *out, size_t max,
                 size_t *n); /* may be NULL */
  const char *(*name)(const hr_actuator_t *a, int dev);
  void (*destroy)(hr_actuator_t *a);
  /* Devices dev0 .. dev0 + n - 1 (in range, checked by the caller) at once,
   * as hr_actuator_read_many documents; may be NULL (one read per device). */
  int (*read_many)(hr_actuator_t *a, int dev0, int n, hr_power_source_t src, int64_t t_ns,
                   hr_act_reading_t *out);
  /* The power-smoothing floor of dev [W] (checked by the caller: 0, or 20 to
   * 90 % of cap_max_w), as hr_actuator_set_power_floor documents; may be
   * NULL (no power smoothing). */
  int (*set_floor)(hr_actuator_t *a, int dev, double floor_w, int64_t t_ns);
  /* The whole smoothing profile of dev (checked by the caller against
   * hr_act_smoothing_t's ranges), as hr_actuator_set_smoothing documents;
   * may be NULL (no power smoothing). */
  int (*set_smoothing)(hr_actuator_t *a, int dev, const hr_act_smoothing_t *p, int64_t t_ns);
} hr__act_ops_t;

struct hr_actuator {
  const hr__act_ops_t *ops;
  int n;      /* devices */
  void *impl; /* owned by the implementation, released by ops->destroy */
  char err[256];
};

/* Allocates the common part; impl is set by the caller. */
hr_actuator_t *hr__act_new(const hr__act_ops_t *ops, int n);

/* Records an error message (printf-style) and returns code. */
int hr__act_fail(hr_actuator_t *a, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
