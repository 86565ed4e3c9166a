/* A stand-in for libnvidia-ml.so.1, built as a shared library so that the
 * NVML actuator's run-time loading is tested for real (dlopen, dlsym, error
 * paths) on machines without a GPU.  Two GPUs; behaviour switches are set
 * through fake_nvml_set(). */
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

typedef struct dev {
  unsigned int power_mw, avg_mw, limit_mw, min_mw, max_mw, def_mw;
  int locked_min, locked_max;
  int smooth_on;            /* power smoothing state */
  unsigned int smooth_prof; /* active preset profile + 1 (0: none) */
  double floor_pct;         /* profile 0's PERCENT_TMP_FLOOR */
  double param[8];          /* profile 0's parameters by id, as last written (NAN: never) */
  int param_calls;          /* UpdatePresetProfileParam calls that succeeded */
} dev_t_;

static dev_t_ devs[2] = {
    {350000, 300000, 700000, 200000, 700000, 700000, 0, 0, 0, 0, 0.0, {0}, 0},
    {120000, 110000, 700000, 200000, 700000, 700000, 0, 0, 0, 0, 0.0, {0}, 0},
};
static int allow_set, no_fields, init_fails, initialised;

typedef union {
  double dVal;
  unsigned int uiVal;
  unsigned long ulVal;
  unsigned long long ullVal;
  signed long long sllVal;
  signed int siVal;
  unsigned short usVal;
} value_t;
typedef struct {
  unsigned int fieldId, scopeId;
  long long timestamp, latencyUsec;
  int valueType, nvmlReturn;
  value_t value;
} field_t;
typedef struct {
  unsigned long long timeStamp;
  value_t sampleValue;
} sample_t;

EXPORT void fake_nvml_set(int allow, int fields_missing, int fail_init);
EXPORT void fake_nvml_set(int allow, int fields_missing, int fail_init)
{
  allow_set = allow;
  no_fields = fields_missing;
  init_fails = fail_init;
}

EXPORT int nvmlInit_v2(void);
EXPORT int nvmlInit_v2(void)
{
  if (init_fails)
    return 9; /* NVML_ERROR_DRIVER_NOT_LOADED */
  initialised = 1;
  return 0;
}

EXPORT int nvmlShutdown(void);
EXPORT int nvmlShutdown(void)
{
  initialised = 0;
  return 0;
}

EXPORT const char *nvmlErrorString(int rc);
EXPORT const char *nvmlErrorString(int rc)
{
  switch (rc) {
  case 0:
    return "Success";
  case 3:
    return "Not Supported";
  case 4:
    return "Insufficient Permissions";
  case 9:
    return "Driver Not Loaded";
  }
  return "Unknown Error";
}

EXPORT int nvmlDeviceGetCount_v2(unsigned int *n);
EXPORT int nvmlDeviceGetCount_v2(unsigned int *n)
{
  *n = 2;
  return initialised ? 0 : 1;
}

EXPORT int nvmlDeviceGetHandleByIndex_v2(unsigned int k, void **h);
EXPORT int nvmlDeviceGetHandleByIndex_v2(unsigned int k, void **h)
{
  if (k >= 2)
    return 2;
  *h = &devs[k];
  return 0;
}

EXPORT int nvmlDeviceGetName(void *h, char *name, unsigned int len);
EXPORT int nvmlDeviceGetName(void *h, char *name, unsigned int len)
{
  const char *s = h == &devs[0] ? "Fake H100 80GB HBM3" : "Fake H200";
  strncpy(name, s, len);
  return 0;
}

EXPORT int nvmlDeviceGetPowerUsage(void *h, unsigned int *mw);
EXPORT int nvmlDeviceGetPowerUsage(void *h, unsigned int *mw)
{
  *mw = ((dev_t_ *)h)->avg_mw;
  return 0;
}

EXPORT int nvmlDeviceGetFieldValues(void *h, int n, field_t *f);
EXPORT int nvmlDeviceGetFieldValues(void *h, int n, field_t *f)
{
  if (no_fields)
    return 3;
  for (int k = 0; k < n; k++) {
    f[k].valueType = 1;
    f[k].nvmlReturn = 0;
    if (f[k].fieldId == 186)
      f[k].value.uiVal = ((dev_t_ *)h)->power_mw;
    else if (f[k].fieldId == 185)
      f[k].value.uiVal = ((dev_t_ *)h)->avg_mw;
    else
      f[k].nvmlReturn = 3;
  }
  return 0;
}

EXPORT int nvmlDeviceGetEnforcedPowerLimit(void *h, unsigned int *mw);
EXPORT int nvmlDeviceGetEnforcedPowerLimit(void *h, unsigned int *mw)
{
  *mw = ((dev_t_ *)h)->limit_mw;
  return 0;
}

EXPORT int nvmlDeviceGetPowerManagementLimitConstraints(void *h, unsigned int *lo,
                                                        unsigned int *hi);
EXPORT int nvmlDeviceGetPowerManagementLimitConstraints(void *h, unsigned int *lo, unsigned int *hi)
{
  *lo = ((dev_t_ *)h)->min_mw;
  *hi = ((dev_t_ *)h)->max_mw;
  return 0;
}

EXPORT int nvmlDeviceGetPowerManagementDefaultLimit(void *h, unsigned int *mw);
EXPORT int nvmlDeviceGetPowerManagementDefaultLimit(void *h, unsigned int *mw)
{
  *mw = ((dev_t_ *)h)->def_mw;
  return 0;
}

EXPORT int nvmlDeviceSetPowerManagementLimit(void *h, unsigned int mw);
EXPORT int nvmlDeviceSetPowerManagementLimit(void *h, unsigned int mw)
{
  if (!allow_set)
    return 4;
  ((dev_t_ *)h)->limit_mw = mw;
  return 0;
}

EXPORT int nvmlDeviceSetGpuLockedClocks(void *h, unsigned int lo, unsigned int hi);
EXPORT int nvmlDeviceSetGpuLockedClocks(void *h, unsigned int lo, unsigned int hi)
{
  if (!allow_set)
    return 4;
  ((dev_t_ *)h)->locked_min = (int)lo;
  ((dev_t_ *)h)->locked_max = (int)hi;
  return 0;
}

EXPORT int nvmlDeviceResetGpuLockedClocks(void *h);
EXPORT int nvmlDeviceResetGpuLockedClocks(void *h)
{
  ((dev_t_ *)h)->locked_min = ((dev_t_ *)h)->locked_max = 0;
  return 0;
}

/* Ten samples 20 ms apart starting at 1,000,000 us: 100 W, 110 W, ... */
EXPORT int nvmlDeviceGetSamples(void *h, int type, unsigned long long since, int *vtype,
                                unsigned int *count, sample_t *s);
EXPORT int nvmlDeviceGetSamples(void *h, int type, unsigned long long since, int *vtype,
                                unsigned int *count, sample_t *s)
{
  (void)h;
  if (type != 0)
    return 3;
  unsigned int k = 0;
  for (unsigned int j = 0; j < 10 && k < *count; j++) {
    unsigned long long t = 1000000ull + 20000ull * j;
    if (t <= since)
      continue;
    s[k].timeStamp = t;
    s[k].sampleValue.uiVal = 100000u + 10000u * j;
    k++;
  }
  if (k == 0)
    return 6; /* NVML_ERROR_NOT_FOUND */
  *vtype = 1;
  *count = k;
  return 0;
}

/* Blackwell power smoothing (nvml.h r570): the structs' versions must be
 * their size with the version in the top byte, as NVML checks them. */
typedef struct {
  unsigned int version, profileId, paramId;
  double value;
} ps_profile_t;
typedef struct {
  unsigned int version;
  int state;
} ps_state_t;

EXPORT int nvmlDevicePowerSmoothingUpdatePresetProfileParam(void *h, ps_profile_t *p);
EXPORT int nvmlDevicePowerSmoothingUpdatePresetProfileParam(void *h, ps_profile_t *p)
{
  if (p->version != (unsigned int)(sizeof *p | 1u << 24))
    return 25; /* NVML_ERROR_ARGUMENT_VERSION_MISMATCH */
  if (!allow_set)
    return 4;
  if (p->profileId >= 5 || p->paramId > 7)
    return 2; /* NVML_ERROR_INVALID_ARGUMENT */
  if (p->profileId == 0) {
    if (p->paramId == 0)
      ((dev_t_ *)h)->floor_pct = p->value;
    ((dev_t_ *)h)->param[p->paramId] = p->value;
  }
  ((dev_t_ *)h)->param_calls++;
  return 0;
}

EXPORT int nvmlDevicePowerSmoothingActivatePresetProfile(void *h, ps_profile_t *p);
EXPORT int nvmlDevicePowerSmoothingActivatePresetProfile(void *h, ps_profile_t *p)
{
  if (p->version != (unsigned int)(sizeof *p | 1u << 24))
    return 25;
  if (!allow_set)
    return 4;
  ((dev_t_ *)h)->smooth_prof = p->profileId + 1;
  return 0;
}

EXPORT int nvmlDevicePowerSmoothingSetState(void *h, ps_state_t *s);
EXPORT int nvmlDevicePowerSmoothingSetState(void *h, ps_state_t *s)
{
  if (s->version != (unsigned int)(sizeof *s | 1u << 24))
    return 25;
  if (!allow_set)
    return 4;
  ((dev_t_ *)h)->smooth_on = s->state;
  return 0;
}

/* What the test reads back: state, active profile + 1, floor [%]. */
EXPORT void fake_nvml_smoothing(int dev, int *on, unsigned int *prof, double *floor_pct);
EXPORT void fake_nvml_smoothing(int dev, int *on, unsigned int *prof, double *floor_pct)
{
  *on = devs[dev].smooth_on;
  *prof = devs[dev].smooth_prof;
  *floor_pct = devs[dev].floor_pct;
}

/* Profile 0's first four parameters as last written (floor %, ramp up W/s,
 * ramp down W/s, hysteresis ms; -1 where never written since the last
 * reset) and the successful parameter calls; reset = 1 clears them first. */
EXPORT int fake_nvml_profile(int dev, double out[4], int reset);
EXPORT int fake_nvml_profile(int dev, double out[4], int reset)
{
  if (reset) {
    for (int k = 0; k < 8; k++)
      devs[dev].param[k] = -1.0;
    devs[dev].param_calls = 0;
  }
  for (int k = 0; k < 4; k++)
    out[k] = devs[dev].param[k];
  return devs[dev].param_calls;
}
