/* NVIDIA GPUs through NVML, loaded at run time: the project has no
 * build-time dependency on the driver, and a machine without it gets a clear
 * error instead of a missing-library failure at start.  The few NVML types
 * used are declared here with the layout of nvml.h. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actuate_int.h"
#include "core/core.h"

typedef int nvmlReturn_t;
typedef struct nvmlDevice_st *nvmlDevice_t;
typedef union nvmlValue_u {
  double dVal;
  unsigned int uiVal;
  unsigned long ulVal;
  unsigned long long ullVal;
  signed long long sllVal;
  signed int siVal;
  unsigned short usVal;
} nvmlValue_t;
typedef struct nvmlFieldValue_st {
  unsigned int fieldId;
  unsigned int scopeId;
  long long timestamp;
  long long latencyUsec;
  int valueType;
  nvmlReturn_t nvmlReturn;
  nvmlValue_t value;
} nvmlFieldValue_t;
/* nvml.h (r570 and later): nvmlPowerSmoothingProfile_v1_t and
 * nvmlPowerSmoothingState_v1_t; a struct's version is its size with the
 * version number in the top byte (NVML_STRUCT_VERSION). */
typedef struct nvmlPowerSmoothingProfile_v1 {
  unsigned int version;
  unsigned int profileId;
  unsigned int paramId;
  double value;
} nvmlPowerSmoothingProfile_t;
typedef struct nvmlPowerSmoothingState_v1 {
  unsigned int version;
  int state; /* nvmlEnableState_t: 0 disabled, 1 enabled */
} nvmlPowerSmoothingState_t;
#define NV_STRUCT_VERSION(T, ver) ((unsigned int)(sizeof(T) | ((unsigned int)(ver) << 24)))
typedef struct nvmlSample_st {
  unsigned long long timeStamp;
  nvmlValue_t sampleValue;
} nvmlSample_t;

enum {
  NVML_SUCCESS = 0,
  NVML_ERROR_NOT_SUPPORTED = 3,
  NVML_ERROR_NO_PERMISSION = 4,
  NVML_ERROR_NOT_FOUND = 6,
  NVML_FI_DEV_POWER_AVERAGE = 185,
  NVML_FI_DEV_POWER_INSTANT = 186,
  NVML_TOTAL_POWER_SAMPLES = 0,
  NVML_VALUE_TYPE_DOUBLE = 0,
  NVML_VALUE_TYPE_UNSIGNED_INT = 1,
  NVML_VALUE_TYPE_UNSIGNED_LONG = 2,
  NVML_VALUE_TYPE_UNSIGNED_LONG_LONG = 3,
  NVML_VALUE_TYPE_SIGNED_LONG_LONG = 4,
  NVML_VALUE_TYPE_SIGNED_INT = 5,
  NVML_POWER_SMOOTHING_PROFILE_PARAM_PERCENT_TMP_FLOOR = 0,
  NVML_POWER_SMOOTHING_PROFILE_PARAM_RAMP_UP_RATE = 1,        /* W/s */
  NVML_POWER_SMOOTHING_PROFILE_PARAM_RAMP_DOWN_RATE = 2,      /* W/s */
  NVML_POWER_SMOOTHING_PROFILE_PARAM_RAMP_DOWN_HYSTERESIS = 3 /* ms */
};

/* The preset profile whose floor the agent moves (NVML has
 * NVML_POWER_SMOOTHING_MAX_NUM_PROFILES = 5; which one a site reserves for
 * the agent is its choice: ours is the first). */
#define NV_SMOOTH_PROFILE 0u

#define SAMPLE_BUF 256

typedef struct nvml {
  void *lib;
  nvmlReturn_t (*shutdown)(void);
  const char *(*error_string)(nvmlReturn_t);
  nvmlReturn_t (*power_usage)(nvmlDevice_t, unsigned int *);
  nvmlReturn_t (*field_values)(nvmlDevice_t, int, nvmlFieldValue_t *);
  nvmlReturn_t (*enforced_limit)(nvmlDevice_t, unsigned int *);
  nvmlReturn_t (*limit_constraints)(nvmlDevice_t, unsigned int *, unsigned int *);
  nvmlReturn_t (*default_limit)(nvmlDevice_t, unsigned int *);
  nvmlReturn_t (*set_limit)(nvmlDevice_t, unsigned int);
  nvmlReturn_t (*get_samples)(nvmlDevice_t, int, unsigned long long, int *, unsigned int *,
                              nvmlSample_t *);
  nvmlReturn_t (*lock_clocks)(nvmlDevice_t, unsigned int, unsigned int);
  nvmlReturn_t (*reset_clocks)(nvmlDevice_t);
  /* Blackwell power smoothing (absent from older libraries and headers:
   * resolved at run time, NULL when missing) */
  nvmlReturn_t (*ps_set_state)(nvmlDevice_t, nvmlPowerSmoothingState_t *);
  nvmlReturn_t (*ps_activate)(nvmlDevice_t, nvmlPowerSmoothingProfile_t *);
  nvmlReturn_t (*ps_update)(nvmlDevice_t, nvmlPowerSmoothingProfile_t *);
  unsigned char *ps_on; /* per GPU: 1 once the profile is active and smoothing enabled */
  nvmlDevice_t *dev;
  char (*name)[96];
  nvmlSample_t buf[SAMPLE_BUF];
} nvml_t;

static const char *nv_err(const nvml_t *v, nvmlReturn_t rc)
{
  const char *s = v->error_string ? v->error_string(rc) : NULL;
  return s ? s : "unknown NVML error";
}

static double value_as_double(int type, nvmlValue_t v)
{
  switch (type) {
  case NVML_VALUE_TYPE_DOUBLE:
    return v.dVal;
  case NVML_VALUE_TYPE_UNSIGNED_INT:
    return v.uiVal;
  case NVML_VALUE_TYPE_UNSIGNED_LONG:
    return (double)v.ulVal;
  case NVML_VALUE_TYPE_UNSIGNED_LONG_LONG:
    return (double)v.ullVal;
  case NVML_VALUE_TYPE_SIGNED_LONG_LONG:
    return (double)v.sllVal;
  case NVML_VALUE_TYPE_SIGNED_INT:
    return v.siVal;
  }
  return 0.0;
}

static int nv_read(hr_actuator_t *a, int dev, hr_power_source_t src, int64_t t_ns,
                   hr_act_reading_t *out)
{
  (void)t_ns;
  nvml_t *v = a->impl;
  nvmlDevice_t d = v->dev[dev];
  nvmlReturn_t rc = NVML_ERROR_NOT_SUPPORTED;
  double mw = 0.0;
  if (v->field_values) {
    /* Pick the sensor explicitly: nvmlDeviceGetPowerUsage is a 1-s average
     * on Ampere and newer, instantaneous on older GPUs. */
    nvmlFieldValue_t f;
    memset(&f, 0, sizeof f);
    f.fieldId = src == HR_POWER_AVERAGE ? NVML_FI_DEV_POWER_AVERAGE : NVML_FI_DEV_POWER_INSTANT;
    rc = v->field_values(d, 1, &f);
    if (rc == NVML_SUCCESS)
      rc = f.nvmlReturn;
    if (rc == NVML_SUCCESS)
      mw = value_as_double(f.valueType, f.value);
  }
  if (rc != NVML_SUCCESS) {
    unsigned int p = 0;
    rc = v->power_usage(d, &p);
    if (rc != NVML_SUCCESS)
      return hr__act_fail(a, HR_ERR_IO, "nvml GPU %d: nvmlDeviceGetPowerUsage: %s", dev,
                          nv_err(v, rc));
    mw = p;
  }
  out->p_w = mw / 1000.0;
  out->valid = 1;
  unsigned int lim = 0;
  if (v->enforced_limit && v->enforced_limit(d, &lim) == NVML_SUCCESS)
    out->cap_w = lim / 1000.0;
  return HR_OK;
}

static int nv_limits(hr_actuator_t *a, int dev, hr_act_limits_t *out)
{
  nvml_t *v = a->impl;
  unsigned int lo = 0, hi = 0, def = 0;
  if (!v->limit_constraints)
    return hr__act_fail(a, HR_ERR_UNSUPPORTED, "nvml: the library has no power-limit constraints");
  nvmlReturn_t rc = v->limit_constraints(v->dev[dev], &lo, &hi);
  if (rc != NVML_SUCCESS)
    return hr__act_fail(a, rc == NVML_ERROR_NOT_SUPPORTED ? HR_ERR_UNSUPPORTED : HR_ERR_IO,
                        "nvml GPU %d: nvmlDeviceGetPowerManagementLimitConstraints: %s", dev,
                        nv_err(v, rc));
  out->cap_min_w = lo / 1000.0;
  out->cap_max_w = hi / 1000.0;
  out->default_w =
      v->default_limit && v->default_limit(v->dev[dev], &def) == NVML_SUCCESS ? def / 1000.0 : 0.0;
  return HR_OK;
}

static int nv_set_cap(hr_actuator_t *a, int dev, double cap_w, int64_t t_ns)
{
  (void)t_ns;
  nvml_t *v = a->impl;
  if (!v->set_limit)
    return hr__act_fail(a, HR_ERR_UNSUPPORTED, "nvml: the library cannot set power limits");
  nvmlReturn_t rc = v->set_limit(v->dev[dev], (unsigned int)(cap_w * 1000.0 + 0.5));
  if (rc == NVML_ERROR_NO_PERMISSION)
    return hr__act_fail(a, HR_ERR_STATE,
                        "nvml GPU %d: setting the power limit is not permitted (run as root, or "
                        "let an agent with the right do it): %s",
                        dev, nv_err(v, rc));
  if (rc != NVML_SUCCESS)
    return hr__act_fail(a, rc == NVML_ERROR_NOT_SUPPORTED ? HR_ERR_UNSUPPORTED : HR_ERR_IO,
                        "nvml GPU %d: nvmlDeviceSetPowerManagementLimit(%.0f W): %s", dev, cap_w,
                        nv_err(v, rc));
  return HR_OK;
}

static int nv_smooth_fail(hr_actuator_t *a, int dev, const char *call, nvmlReturn_t rc)
{
  const nvml_t *v = a->impl;
  if (rc == NVML_ERROR_NO_PERMISSION)
    return hr__act_fail(a, HR_ERR_STATE, "nvml GPU %d: %s is not permitted (run as root): %s", dev,
                        call, nv_err(v, rc));
  return hr__act_fail(a, rc == NVML_ERROR_NOT_SUPPORTED ? HR_ERR_UNSUPPORTED : HR_ERR_IO,
                      "nvml GPU %d: %s: %s", dev, call, nv_err(v, rc));
}

/* The floor is PERCENT_TMP_FLOOR of the agent's preset profile (percent of
 * TDP, orchestration.md §1.3); the first call per GPU also activates that
 * profile and enables smoothing, and a floor of 0 disables smoothing. */
static int nv_set_floor(hr_actuator_t *a, int dev, double floor_w, int64_t t_ns)
{
  (void)t_ns;
  nvml_t *v = a->impl;
  if (!v->ps_set_state || !v->ps_activate || !v->ps_update)
    return hr__act_fail(a, HR_ERR_UNSUPPORTED,
                        "nvml GPU %d: the library has no nvmlDevicePowerSmoothing* calls (driver "
                        "r570 or later, Blackwell GPUs)",
                        dev);
  nvmlPowerSmoothingState_t st = {NV_STRUCT_VERSION(nvmlPowerSmoothingState_t, 1), 0};
  if (floor_w == 0.0) {
    nvmlReturn_t rc = v->ps_set_state(v->dev[dev], &st);
    if (rc != NVML_SUCCESS)
      return nv_smooth_fail(a, dev, "nvmlDevicePowerSmoothingSetState(disabled)", rc);
    v->ps_on[dev] = 0;
    return HR_OK;
  }
  hr_act_limits_t lim;
  int lrc = nv_limits(a, dev, &lim);
  if (lrc != HR_OK)
    return lrc;
  nvmlPowerSmoothingProfile_t pr = {
      NV_STRUCT_VERSION(nvmlPowerSmoothingProfile_t, 1), NV_SMOOTH_PROFILE,
      NVML_POWER_SMOOTHING_PROFILE_PARAM_PERCENT_TMP_FLOOR, 100.0 * floor_w / lim.cap_max_w};
  nvmlReturn_t rc = v->ps_update(v->dev[dev], &pr);
  if (rc != NVML_SUCCESS)
    return nv_smooth_fail(a, dev, "nvmlDevicePowerSmoothingUpdatePresetProfileParam", rc);
  if (!v->ps_on[dev]) {
    rc = v->ps_activate(v->dev[dev], &pr);
    if (rc != NVML_SUCCESS)
      return nv_smooth_fail(a, dev, "nvmlDevicePowerSmoothingActivatePresetProfile", rc);
    st.state = 1;
    rc = v->ps_set_state(v->dev[dev], &st);
    if (rc != NVML_SUCCESS)
      return nv_smooth_fail(a, dev, "nvmlDevicePowerSmoothingSetState(enabled)", rc);
    v->ps_on[dev] = 1;
  }
  return HR_OK;
}

/* The whole profile: its four parameters written into the agent's preset
 * profile (one UpdatePresetProfileParam call each: NVML sets one parameter
 * per call), then the profile activated and smoothing enabled.  A refusal
 * part way leaves the parameters written so far; the caller sees which
 * call failed. */
static int nv_set_smoothing(hr_actuator_t *a, int dev, const hr_act_smoothing_t *p, int64_t t_ns)
{
  (void)t_ns;
  nvml_t *v = a->impl;
  if (!v->ps_set_state || !v->ps_activate || !v->ps_update)
    return hr__act_fail(a, HR_ERR_UNSUPPORTED,
                        "nvml GPU %d: the library has no nvmlDevicePowerSmoothing* calls (driver "
                        "r570 or later, Blackwell GPUs)",
                        dev);
  hr_act_limits_t lim;
  int lrc = nv_limits(a, dev, &lim);
  if (lrc != HR_OK)
    return lrc;
  const struct {
    unsigned int id;
    double value;
    const char *what;
  } par[4] = {
      {NVML_POWER_SMOOTHING_PROFILE_PARAM_PERCENT_TMP_FLOOR, 100.0 * p->floor_w / lim.cap_max_w,
       "nvmlDevicePowerSmoothingUpdatePresetProfileParam(PERCENT_TMP_FLOOR)"},
      {NVML_POWER_SMOOTHING_PROFILE_PARAM_RAMP_UP_RATE, p->ramp_up_w_per_s,
       "nvmlDevicePowerSmoothingUpdatePresetProfileParam(RAMP_UP_RATE)"},
      {NVML_POWER_SMOOTHING_PROFILE_PARAM_RAMP_DOWN_RATE, p->ramp_down_w_per_s,
       "nvmlDevicePowerSmoothingUpdatePresetProfileParam(RAMP_DOWN_RATE)"},
      {NVML_POWER_SMOOTHING_PROFILE_PARAM_RAMP_DOWN_HYSTERESIS, p->ramp_down_hyst_ms,
       "nvmlDevicePowerSmoothingUpdatePresetProfileParam(RAMP_DOWN_HYSTERESIS)"},
  };
  nvmlPowerSmoothingProfile_t pr = {NV_STRUCT_VERSION(nvmlPowerSmoothingProfile_t, 1),
                                    NV_SMOOTH_PROFILE, 0, 0.0};
  for (int k = 0; k < 4; k++) {
    pr.paramId = par[k].id;
    pr.value = par[k].value;
    nvmlReturn_t rc = v->ps_update(v->dev[dev], &pr);
    if (rc != NVML_SUCCESS)
      return nv_smooth_fail(a, dev, par[k].what, rc);
  }
  nvmlReturn_t rc = v->ps_activate(v->dev[dev], &pr);
  if (rc != NVML_SUCCESS)
    return nv_smooth_fail(a, dev, "nvmlDevicePowerSmoothingActivatePresetProfile", rc);
  nvmlPowerSmoothingState_t st = {NV_STRUCT_VERSION(nvmlPowerSmoothingState_t, 1), 1};
  rc = v->ps_set_state(v->dev[dev], &st);
  if (rc != NVML_SUCCESS)
    return nv_smooth_fail(a, dev, "nvmlDevicePowerSmoothingSetState(enabled)", rc);
  v->ps_on[dev] = 1;
  return HR_OK;
}

static int nv_lock_clocks(hr_actuator_t *a, int dev, int min_mhz, int max_mhz)
{
  nvml_t *v = a->impl;
  int reset = min_mhz == 0 && max_mhz == 0;
  if ((reset && !v->reset_clocks) || (!reset && !v->lock_clocks))
    return hr__act_fail(a, HR_ERR_UNSUPPORTED, "nvml: the library cannot lock GPU clocks");
  nvmlReturn_t rc = reset ? v->reset_clocks(v->dev[dev])
                          : v->lock_clocks(v->dev[dev], (unsigned)min_mhz, (unsigned)max_mhz);
  if (rc == NVML_ERROR_NO_PERMISSION)
    return hr__act_fail(a, HR_ERR_STATE, "nvml GPU %d: locking clocks is not permitted: %s", dev,
                        nv_err(v, rc));
  if (rc != NVML_SUCCESS)
    return hr__act_fail(a, rc == NVML_ERROR_NOT_SUPPORTED ? HR_ERR_UNSUPPORTED : HR_ERR_IO,
                        "nvml GPU %d: locking clocks to %d..%d MHz: %s", dev, min_mhz, max_mhz,
                        nv_err(v, rc));
  return HR_OK;
}

static int nv_samples(hr_actuator_t *a, int dev, int64_t *since_us, hr_act_sample_t *out,
                      size_t max, size_t *n)
{
  nvml_t *v = a->impl;
  if (!v->get_samples)
    return hr__act_fail(a, HR_ERR_UNSUPPORTED, "nvml: the library has no nvmlDeviceGetSamples");
  int type = 0;
  unsigned int count = SAMPLE_BUF;
  nvmlReturn_t rc = v->get_samples(v->dev[dev], NVML_TOTAL_POWER_SAMPLES,
                                   (unsigned long long)*since_us, &type, &count, v->buf);
  if (rc == NVML_ERROR_NOT_FOUND) /* nothing newer than since_us */
    return HR_OK;
  if (rc != NVML_SUCCESS)
    return hr__act_fail(a, rc == NVML_ERROR_NOT_SUPPORTED ? HR_ERR_UNSUPPORTED : HR_ERR_IO,
                        "nvml GPU %d: nvmlDeviceGetSamples(power): %s", dev, nv_err(v, rc));
  if (count > SAMPLE_BUF)
    count = SAMPLE_BUF;
  size_t k = 0;
  for (unsigned int j = 0; j < count && k < max; j++) {
    if ((int64_t)v->buf[j].timeStamp <= *since_us)
      continue;
    out[k].t_us = (int64_t)v->buf[j].timeStamp;
    out[k].p_w = value_as_double(type, v->buf[j].sampleValue) / 1000.0;
    k++;
  }
  for (size_t j = 0; j < k; j++)
    if (out[j].t_us > *since_us)
      *since_us = out[j].t_us;
  *n = k;
  return HR_OK;
}

static const char *nv_name(const hr_actuator_t *a, int dev)
{
  return ((const nvml_t *)a->impl)->name[dev];
}

static void nv_destroy(hr_actuator_t *a)
{
  nvml_t *v = a->impl;
  if (!v)
    return;
  if (v->shutdown)
    v->shutdown();
  if (v->lib)
    dlclose(v->lib);
  free(v->dev);
  free(v->name);
  free(v->ps_on);
  free(v);
}

static const hr__act_ops_t nvml_ops = {
    "nvml",  nv_read,    nv_limits, nv_set_cap,   nv_lock_clocks,   nv_samples,
    nv_name, nv_destroy, NULL,      nv_set_floor, nv_set_smoothing,
};

/* dlsym into a function pointer without the object/function pointer cast
 * that ISO C leaves undefined. */
static void load_sym(void *lib, const char *name, void *fnptr)
{
  void *p = dlsym(lib, name);
  memcpy(fnptr, &p, sizeof p);
}

int hr_nvml_open(const char *lib_path, hr_actuator_t **out, hr_diag_t *diag)
{
  hr__diag_begin(diag, "nvml");
  if (!out)
    return hr__diag_fail(diag, HR_ERR_INVALID_ARG, 0, 0, NULL, "no place for the actuator");
  *out = NULL;
  const char *path = lib_path ? lib_path : "libnvidia-ml.so.1";
  void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *e = dlerror();
    return hr__diag_fail(diag, HR_ERR_NOT_FOUND, 0, 0, NULL,
                         "cannot load %s (%s); is the NVIDIA driver installed?", path,
                         e ? e : "unknown reason");
  }
  nvml_t *v = calloc(1, sizeof *v);
  if (!v) {
    dlclose(lib);
    return hr__diag_fail(diag, HR_ERR_NOMEM, 0, 0, NULL, "out of memory");
  }
  v->lib = lib;
  nvmlReturn_t (*init)(void) = NULL;
  nvmlReturn_t (*count)(unsigned int *) = NULL;
  nvmlReturn_t (*handle)(unsigned int, nvmlDevice_t *) = NULL;
  nvmlReturn_t (*get_name)(nvmlDevice_t, char *, unsigned int) = NULL;
  load_sym(lib, "nvmlInit_v2", &init);
  load_sym(lib, "nvmlShutdown", &v->shutdown);
  load_sym(lib, "nvmlErrorString", &v->error_string);
  load_sym(lib, "nvmlDeviceGetCount_v2", &count);
  load_sym(lib, "nvmlDeviceGetHandleByIndex_v2", &handle);
  load_sym(lib, "nvmlDeviceGetName", &get_name);
  load_sym(lib, "nvmlDeviceGetPowerUsage", &v->power_usage);
  load_sym(lib, "nvmlDeviceGetFieldValues", &v->field_values);
  load_sym(lib, "nvmlDeviceGetEnforcedPowerLimit", &v->enforced_limit);
  load_sym(lib, "nvmlDeviceGetPowerManagementLimitConstraints", &v->limit_constraints);
  load_sym(lib, "nvmlDeviceGetPowerManagementDefaultLimit", &v->default_limit);
  load_sym(lib, "nvmlDeviceSetPowerManagementLimit", &v->set_limit);
  load_sym(lib, "nvmlDeviceGetSamples", &v->get_samples);
  load_sym(lib, "nvmlDeviceSetGpuLockedClocks", &v->lock_clocks);
  load_sym(lib, "nvmlDeviceResetGpuLockedClocks", &v->reset_clocks);
  load_sym(lib, "nvmlDevicePowerSmoothingSetState", &v->ps_set_state);
  load_sym(lib, "nvmlDevicePowerSmoothingActivatePresetProfile", &v->ps_activate);
  load_sym(lib, "nvmlDevicePowerSmoothingUpdatePresetProfileParam", &v->ps_update);
  const char *missing = !init             ? "nvmlInit_v2"
                        : !v->shutdown    ? "nvmlShutdown"
                        : !count          ? "nvmlDeviceGetCount_v2"
                        : !handle         ? "nvmlDeviceGetHandleByIndex_v2"
                        : !v->power_usage ? "nvmlDeviceGetPowerUsage"
                                          : NULL;
  if (missing) {
    dlclose(lib);
    free(v);
    return hr__diag_fail(diag, HR_ERR_NOT_FOUND, 0, 0, NULL,
                         "%s has no symbol %s; it is not a usable NVML library", path, missing);
  }
  nvmlReturn_t rc = init();
  if (rc != NVML_SUCCESS) {
    int code = hr__diag_fail(diag, HR_ERR_IO, 0, 0, NULL, "nvmlInit_v2 failed: %s",
                             v->error_string ? v->error_string(rc) : "unknown error");
    dlclose(lib);
    free(v);
    return code;
  }
  unsigned int n = 0;
  rc = count(&n);
  if (rc != NVML_SUCCESS || n == 0 || n > 1024) {
    v->shutdown();
    dlclose(lib);
    free(v);
    return hr__diag_fail(diag, rc == NVML_SUCCESS ? HR_ERR_NOT_FOUND : HR_ERR_IO, 0, 0, NULL, "%s",
                         rc == NVML_SUCCESS ? "no GPU found" : "cannot count GPUs");
  }
  v->dev = calloc(n, sizeof *v->dev);
  v->name = calloc(n, sizeof *v->name);
  v->ps_on = calloc(n, 1);
  hr_actuator_t *a = v->dev && v->name && v->ps_on ? hr__act_new(&nvml_ops, (int)n) : NULL;
  if (!a) {
    v->shutdown();
    dlclose(lib);
    free(v->dev);
    free(v->name);
    free(v->ps_on);
    free(v);
    return hr__diag_fail(diag, HR_ERR_NOMEM, 0, 0, NULL, "out of memory");
  }
  a->impl = v;
  for (unsigned int k = 0; k < n; k++) {
    rc = handle(k, &v->dev[k]);
    if (rc != NVML_SUCCESS) {
      int code =
          hr__diag_fail(diag, HR_ERR_IO, 0, 0, NULL, "GPU %u: no handle: %s", k, nv_err(v, rc));
      hr_actuator_destroy(a);
      return code;
    }
    if (!get_name || get_name(v->dev[k], v->name[k], sizeof v->name[k]) != NVML_SUCCESS)
      snprintf(v->name[k], sizeof v->name[k], "GPU %u", k);
    v->name[k][sizeof v->name[k] - 1] = '\0';
  }
  *out = a;
  return HR_OK;
}
