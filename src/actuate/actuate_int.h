/* Internals shared by the actuator implementations. */
#ifndef HR_ACTUATE_INT_H
#define HR_ACTUATE_INT_H

#include "headroom/actuate.h"

#include <math.h>

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

/* What a simulated GPU's power telemetry reports for a true power p_w [W] at
 * t_ns: rounded to 1 mW (NVML reports milliwatts) less a dither, uniform over
 * 0 .. HR__TEL_DITHER_MW whole milliwatts, drawn from (key, dev, t_ns) alone
 * (deterministic, the same whatever the read order).  A steady GPU's reading
 * therefore moves at mW resolution as a real one does (hr_agent_cfg_t.stuck_ns,
 * docs/sim.md "Telemetry").  One-sided but for the rounding to 1 mW, so a GPU
 * at its cap reads at most 0.5 mW above it (a cap of whole milliwatts, never):
 * the lease policy's response to readings a few mW above a cap is not what
 * this models (docs/sim.md).  0 W (no power) stays 0; a positive power reads at least
 * 1 mW. */
#define HR__TEL_DITHER_MW 10
/* Inline and without branches, so that hr__tel_readings' loop vectorises
 * (the simulator reads every GPU every step: a call per GPU-step was 16 % of
 * the 1,024-GPU hour's profile). */
static inline double hr__tel_reading_w(uint64_t key, int dev, int64_t t_ns, double p_w)
{
  /* splitmix64 of the three: a counter-based draw (no state to carry). */
  uint64_t x = key ^ (0x9E3779B97F4A7C15ull * ((uint64_t)(uint32_t)dev + 1u)) ^
               ((uint64_t)t_ns * 0xBF58476D1CE4E5B9ull);
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  x ^= x >> 31;
  /* The high 32 bits scaled to 0 .. dither (a multiply, not a division). */
  int d_mw = -(int)(((x >> 32) * (HR__TEL_DITHER_MW + 1u)) >> 32);
  double r = (nearbyint(p_w * 1e3) + (double)d_mw) * 1e-3;
  r = r > 0.0 ? r : 1e-3;
  return p_w > 0.0 ? r : p_w;
}

/* hr__tel_reading_w of devices 0 .. n - 1, device d's power p_w[slot[d]],
 * into out[d] (n entries; no argument may overlap out).  Vectorised (AVX-512
 * clone); the same values bit for bit as one call per device. */
void hr__tel_readings(uint64_t key, int64_t t_ns, size_t n, const int32_t *slot, const double *p_w,
                      double *out);

#endif
