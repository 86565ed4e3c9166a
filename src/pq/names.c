/* Stable names used in JSON output, messages and configuration. */
#include <string.h>

#include "headroom/pq.h"

const char *hr_rec_kind_name(hr_rec_kind_t kind)
{
  switch (kind) {
  case HR_REC_HALF:
    return "half";
  case HR_REC_CYCLE:
    return "cycle";
  case HR_REC_MS:
    return "ms";
  case HR_REC_INTERVAL:
    return "interval";
  case HR_REC_FREQ10S:
    return "freq10s";
  case HR_REC_EVENT:
    return "event";
  }
  return "unknown";
}

const char *hr_event_type_name(hr_event_type_t type)
{
  switch (type) {
  case HR_EVT_DIP:
    return "dip";
  case HR_EVT_SWELL:
    return "swell";
  case HR_EVT_INTERRUPTION:
    return "interruption";
  case HR_EVT_RVC:
    return "rvc";
  case HR_EVT_POWER_STEP:
    return "power_step";
  case HR_EVT_CURRENT_STEP:
    return "current_step";
  case HR_EVT_ALARM:
    return "alarm";
  }
  return "unknown";
}

static const char *const metric_names[] = {
  NULL, "p_total_w", "dpdt_w_per_s", "i_peak_a", "i_rms_a", "u_rms_v", "freq_hz",
};

const char *hr_metric_name(hr_metric_t metric)
{
  if (metric >= HR_METRIC_P_TOTAL_W && metric <= HR_METRIC_FREQ_HZ)
    return metric_names[metric];
  return "unknown";
}

int hr_metric_parse(const char *name, hr_metric_t *out)
{
  if (!name || !out)
    return HR_ERR_INVALID_ARG;
  for (int k = HR_METRIC_P_TOTAL_W; k <= HR_METRIC_FREQ_HZ; k++) {
    if (strcmp(name, metric_names[k]) == 0) {
      *out = (hr_metric_t)k;
      return HR_OK;
    }
  }
  return HR_ERR_PARSE;
}
