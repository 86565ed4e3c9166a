/* headroom: actuators, the devices that read power and enforce caps.
 *
 * One interface, three implementations:
 *   - a simulated GPU with an actuation delay and a power slew (tests and the
 *     simulator);
 *   - NVIDIA GPUs through NVML, loaded at run time with dlopen (no build-time
 *     dependency): instant and averaged power, the driver's power-sample
 *     buffer, the enforced limit read back, the power limit and locked clocks
 *     set when the process is permitted;
 *   - CPUs through Linux powercap (RAPL zones under /sys/class/powercap).
 *
 * Time is always passed in (t_ns, the caller's clock); the simulated GPU is
 * driven by it and the others record it with their readings.  A missing
 * library or permission is an error with a message (hr_actuator_error), never
 * a crash; reading keeps working when setting is not permitted.
 *
 * An actuator is not thread-safe; one thread at a time. */
#ifndef HEADROOM_ACTUATE_H
#define HEADROOM_ACTUATE_H

#include <stddef.h>
#include <stdint.h>

#include "headroom/error.h"
#include "headroom/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hr_actuator hr_actuator_t;

typedef enum hr_power_source {
  HR_POWER_DEFAULT = 0, /* the implementation's best: instant where it has one */
  HR_POWER_INSTANT = 1, /* NVML_FI_DEV_POWER_INSTANT */
  HR_POWER_AVERAGE = 2  /* NVML_FI_DEV_POWER_AVERAGE; RAPL: mean since the last read */
} hr_power_source_t;

typedef struct hr_act_reading {
  int64_t t_ns; /* when it was read (the caller's clock) */
  double p_w;   /* power [W] */
  double cap_w; /* enforced cap read back from the device [W]; 0 if unknown */
  int valid;    /* 0: no power value yet (RAPL needs two reads) */
} hr_act_reading_t;

typedef struct hr_act_limits {
  double cap_min_w; /* lowest settable cap [W] */
  double cap_max_w; /* highest settable cap [W] */
  double default_w; /* cap at power-on [W]; 0 if unknown */
} hr_act_limits_t;

/* One sample from a device's own sample buffer (NVML). */
typedef struct hr_act_sample {
  int64_t t_us; /* the driver's timestamp [us] */
  double p_w;
} hr_act_sample_t;

/* Number of devices (GPUs or RAPL zones) behind the actuator. */
HR_API int hr_actuator_count(const hr_actuator_t *a);

/* Static kind name: "simgpu", "nvml" or "rapl". */
HR_API const char *hr_actuator_kind(const hr_actuator_t *a);

/* Device name (e.g. "NVIDIA H100 80GB HBM3", "package-0"); borrowed, valid
 * until destroy.  dev: 0 <= dev < count. */
HR_API const char *hr_actuator_name(const hr_actuator_t *a, int dev);

/* Reads power and the enforced cap of device dev at time t_ns.
 * Returns HR_OK, HR_ERR_RANGE (bad dev), HR_ERR_IO (the device refused;
 * message in hr_actuator_error). */
HR_API int hr_actuator_read(hr_actuator_t *a, int dev, hr_power_source_t src, int64_t t_ns,
                            hr_act_reading_t *out);

/* Reads devices dev0 .. dev0 + n - 1 into out[0 .. n - 1], as n calls of
 * hr_actuator_read would (in device order), in one call: an implementation
 * that can read many devices at once (the simulator's GPUs) does so without
 * a dispatch per device.  A device that fails is left with out[k].valid = 0.
 * Returns HR_OK when every read succeeded, else the code of the first
 * failure (message in hr_actuator_error); HR_ERR_RANGE when the range lies
 * outside the devices, HR_ERR_INVALID_ARG without a or out. */
HR_API int hr_actuator_read_many(hr_actuator_t *a, int dev0, int n, hr_power_source_t src,
                                 int64_t t_ns, hr_act_reading_t *out);

/* Settable range of device dev.  Returns HR_OK, HR_ERR_RANGE, HR_ERR_IO. */
HR_API int hr_actuator_limits(hr_actuator_t *a, int dev, hr_act_limits_t *out);

/* Sets the power cap of device dev at time t_ns.  cap_w must lie in the
 * device's limits.  Returns HR_OK, HR_ERR_RANGE (dev or cap_w out of range),
 * HR_ERR_STATE (not permitted: not root, or the device does not allow it;
 * the actuator keeps reading), HR_ERR_IO. */
HR_API int hr_actuator_set_cap(hr_actuator_t *a, int dev, double cap_w, int64_t t_ns);

/* Sets the minimum power floor of GPU dev's power smoothing at t_ns [W]:
 * while busy the GPU burns at least this (never above its cap: the cap is
 * the protection).  Blackwell's NVML power smoothing takes the floor as a
 * percentage of TDP, settable from 20 to 90 % (orchestration.md §1.3); here
 * TDP is the device's cap_max_w.  floor_w = 0 turns the floor off.  Returns
 * HR_OK, HR_ERR_RANGE (bad dev, or floor_w neither 0 nor within 20..90 % of
 * cap_max_w), HR_ERR_UNSUPPORTED (no power smoothing: RAPL, the stand-alone
 * simulated GPU, an NVML library without the nvmlDevicePowerSmoothing* calls
 * or a GPU without the feature), HR_ERR_STATE (not permitted), HR_ERR_IO. */
HR_API int hr_actuator_set_power_floor(hr_actuator_t *a, int dev, double floor_w, int64_t t_ns);

/* A GPU's whole power-smoothing profile (NVML power smoothing, Blackwell;
 * orchestration.md §1.3: the profile's PERCENT_TMP_FLOOR, RAMP_UP_RATE,
 * RAMP_DOWN_RATE and RAMP_DOWN_HYSTERESIS parameters). */
/* The longest ramp-down hysteresis accepted [ms] (about 2.8 h). */
#define HR_ACT_HYST_MAX_MS 1e7

typedef struct hr_act_smoothing {
  double floor_w;           /* minimum power while busy [W]: 20..90 % of cap_max_w (TDP) */
  double ramp_up_w_per_s;   /* fastest rise [W/s] > 0, finite */
  double ramp_down_w_per_s; /* fastest fall [W/s] > 0, finite */
  double
      ramp_down_hyst_ms; /* a fall waits this long before it starts [ms], 0..HR_ACT_HYST_MAX_MS */
} hr_act_smoothing_t;

/* Sets GPU dev's whole power-smoothing profile at t_ns and turns smoothing
 * on.  A later hr_actuator_set_power_floor moves the floor only (0 turns
 * smoothing off, a floor turns it back on with this profile's ramps).  In
 * the simulator the profile is in force after the actuation delay, as a
 * cap; through NVML it is written into preset profile 0
 * (nvmlDevicePowerSmoothingUpdatePresetProfileParam, one call per
 * parameter), which is then activated and enabled.  Returns HR_OK,
 * HR_ERR_INVALID_ARG (no profile), HR_ERR_RANGE (bad dev, or a value out of
 * the ranges above), HR_ERR_UNSUPPORTED (no power smoothing: RAPL, the
 * stand-alone simulated GPU, an NVML library without the
 * nvmlDevicePowerSmoothing* calls or a GPU without the feature),
 * HR_ERR_STATE (not permitted), HR_ERR_IO.  The message
 * (hr_actuator_error) names the device and the reason. */
HR_API int hr_actuator_set_smoothing(hr_actuator_t *a, int dev, const hr_act_smoothing_t *p,
                                     int64_t t_ns);

/* Locks the clocks of GPU dev to [min_mhz, max_mhz] (NVML only; 0, 0 resets).
 * Returns HR_OK, HR_ERR_UNSUPPORTED (not a GPU actuator or not supported by
 * the device), HR_ERR_STATE (not permitted), HR_ERR_RANGE. */
HR_API int hr_actuator_lock_clocks(hr_actuator_t *a, int dev, int min_mhz, int max_mhz);

/* Copies up to max samples newer than *since_us from the device's power
 * sample buffer (NVML); *n receives the count and *since_us the newest
 * timestamp.  Returns HR_OK, HR_ERR_UNSUPPORTED, HR_ERR_IO. */
HR_API int hr_actuator_samples(hr_actuator_t *a, int dev, int64_t *since_us, hr_act_sample_t *out,
                               size_t max, size_t *n);

/* The last error as a sentence naming the device and the call; never NULL;
 * borrowed until the next call on a. */
HR_API const char *hr_actuator_error(const hr_actuator_t *a);

/* Releases the actuator (NVML: shuts the library down).  NULL is allowed.
 * Caps set earlier stay as they are on the devices. */
HR_API void hr_actuator_destroy(hr_actuator_t *a);

/* ---- simulated GPU ------------------------------------------------------- */

typedef struct hr_simgpu_cfg {
  int n_gpus;           /* 1 <= n_gpus <= 1 << 20 */
  double idle_w;        /* power with no demand [W] >= 0; default 70 */
  double cap_min_w;     /* lowest cap [W] > 0; default 200 */
  double cap_max_w;     /* highest cap = default cap [W] >= cap_min_w; default 700 */
  double delay_ms;      /* a new cap takes effect after this [ms] >= 0; default 5 */
  double slew_w_per_ms; /* power moves toward its target at most this fast [W/ms] > 0;
                           default 80 (about 8 ms from 50 W to 700 W) */
  /* Clock locks (hr_actuator_lock_clocks; after delay_ms, (0, 0) resets): under a locked
   * maximum r x clock_max_mhz the demand above idle is scaled by r^clock_power_exp (the
   * simulator's clock model, docs/sim.md "Clock locks"); the cap still applies. */
  double clock_max_mhz;   /* highest clock [MHz] > 0; default 1980 (H100 SXM) */
  double clock_power_exp; /* > 0; default 1 / 0.647 */
} hr_simgpu_cfg_t;

/* Fills cfg with the defaults above for n_gpus GPUs. */
HR_API int hr_simgpu_cfg_init(hr_simgpu_cfg_t *cfg, int n_gpus);

/* Creates n simulated GPUs, all idle at time 0 with the default cap.
 * Returns HR_OK, HR_ERR_INVALID_ARG / HR_ERR_RANGE (bad cfg), HR_ERR_NOMEM. */
HR_API int hr_simgpu_create(const hr_simgpu_cfg_t *cfg, hr_actuator_t **out);

/* Sets what GPU dev would draw without a cap, from time t_ns on [W >= 0].
 * t_ns must not go backwards (per GPU).  Returns HR_OK, HR_ERR_RANGE,
 * HR_ERR_INVALID_ARG (time went backwards). */
HR_API int hr_simgpu_set_demand(hr_actuator_t *a, int dev, double demand_w, int64_t t_ns);

/* ---- NVML ------------------------------------------------------------------ */

/* Loads NVML with dlopen and initialises it.
 *   lib_path : library to load; NULL loads "libnvidia-ml.so.1".  Borrowed.
 * Returns HR_OK, HR_ERR_NOT_FOUND (library or a required symbol missing),
 * HR_ERR_IO (nvmlInit failed, e.g. no driver), HR_ERR_NOMEM, HR_ERR_INVALID_ARG.
 * diag (may be NULL) is cleared, and on failure gets source "nvml" and a
 * message naming the library and the cause. */
HR_API int hr_nvml_open(const char *lib_path, hr_actuator_t **out, hr_diag_t *diag);

/* ---- Linux powercap (RAPL) ---------------------------------------------- */

/* Opens the top-level RAPL zones ("intel-rapl:N", "amd-rapl:N"... any
 * "*-rapl:N" or "intel-rapl-mmio:N" directory with energy_uj) under root.
 *   root : NULL for "/sys/class/powercap"; borrowed.
 * Power is the energy counter's difference between two reads (the first
 * read of a zone is not valid), with the counter's wrap handled.  The cap is
 * constraint_0 ("long_term").  Returns HR_OK, HR_ERR_NOT_FOUND (no zone),
 * HR_ERR_IO, HR_ERR_NOMEM, HR_ERR_INVALID_ARG.  diag (may be NULL) is
 * cleared, and on failure gets source root (the default when NULL) and the
 * cause. */
HR_API int hr_rapl_open(const char *root, hr_actuator_t **out, hr_diag_t *diag);

#ifdef __cplusplus
}
#endif
#endif
