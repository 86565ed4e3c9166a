/* The timing check: can orchestration act before a device trips?  The draft
 * (upmu-spec.md, "Timing check") asks the loop to finish within 70 % of the
 * breaker's time to trip; its budget is detection 5 ms + rack 20 ms + cluster
 * 25 ms + GPU throttle 20 ms = 70 ms. */
#include <math.h>
#include <string.h>

#include "lease/lease_int.h"

int hr_check_cfg_init(hr_check_cfg_t *cfg)
{
  if (!cfg)
    return HR_ERR_INVALID_ARG;
  cfg->detect_s = 0.005;
  cfg->rack_s = 0.020;
  cfg->cluster_s = 0.025;
  cfg->actuate_s = 0.020;
  cfg->rule = 0.70;
  return HR_OK;
}

int hr_check_device(const hr_device_cfg_t *dcfg, double rated_a, double multiple,
                    const hr_check_cfg_t *cfg, hr_check_row_t *out)
{
  if (!dcfg || !cfg || !out || !(rated_a > 0.0) || !isfinite(rated_a) || !(multiple > 0.0) ||
      !isfinite(multiple))
    return HR_ERR_INVALID_ARG;
  if (!(cfg->detect_s >= 0.0 && cfg->rack_s >= 0.0 && cfg->cluster_s >= 0.0 &&
        cfg->actuate_s >= 0.0) ||
      !(cfg->rule > 0.0 && cfg->rule <= 1.0))
    return HR_ERR_RANGE;
  _Alignas(max_align_t) unsigned char mem[HR__DEV_MEM];
  hr_device_t *d = NULL;
  if (hr_device_size() > sizeof mem)
    return HR_ERR_UNSUPPORTED;
  int rc = hr_device_init(mem, sizeof mem, dcfg, &d);
  if (rc != HR_OK)
    return rc;
  /* A current beyond a double has no time to trip (the device model answers
   * NaN); a huge finite one whose curve arithmetic breaks down is refused the
   * same way, so HR_OK always carries a number. */
  const double i_a = multiple * rated_a;
  if (!isfinite(i_a))
    return HR_ERR_RANGE;
  const double t_trip_s = hr_device_time_to_trip(d, i_a);
  if (isnan(t_trip_s))
    return HR_ERR_RANGE;
  memset(out, 0, sizeof *out);
  out->multiple = multiple;
  out->i_a = i_a;
  out->t_trip_s = t_trip_s;
  out->loop_s = cfg->detect_s + cfg->rack_s + cfg->cluster_s + cfg->actuate_s;
  out->element = HR_ELEM_NONE;
  if (isfinite(out->t_trip_s)) {
    /* Step a copy a little past the trip to learn which element acts. */
    hr_device_step(d, out->i_a, out->t_trip_s * (1.0 + 1e-6) + 1e-9);
    hr_device_status_t st;
    hr_device_status(d, &st);
    out->element = st.element;
    out->margin_s = cfg->rule * out->t_trip_s - out->loop_s;
  } else {
    out->margin_s = INFINITY;
  }
  out->in_time = out->margin_s >= 0.0;
  return HR_OK;
}
