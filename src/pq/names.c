/* Stable names used in JSON output, messages and configuration: one table
 * per enum gives both the name and the parser. */
#include "core/core.h"
#include "headroom/pq.h"

static const hr__enum_name_t rec_kind_names[] = {
    {HR_REC_HALF, "half"},         {HR_REC_CYCLE, "cycle"},     {HR_REC_MS, "ms"},
    {HR_REC_INTERVAL, "interval"}, {HR_REC_FREQ10S, "freq10s"}, {HR_REC_EVENT, "event"},
    {HR_REC_HARM, "harm"},         {HR_REC_AGG150, "agg150"},   {HR_REC_AGG10MIN, "agg10min"},
    {HR_REC_SWING, "swing"},       {HR_REC_PHASOR, "phasor"},   {HR_REC_FLICKER, "flicker"}};

static const hr__enum_name_t event_type_names[] = {{HR_EVT_DIP, "dip"},
                                                   {HR_EVT_SWELL, "swell"},
                                                   {HR_EVT_INTERRUPTION, "interruption"},
                                                   {HR_EVT_RVC, "rvc"},
                                                   {HR_EVT_POWER_STEP, "power_step"},
                                                   {HR_EVT_CURRENT_STEP, "current_step"},
                                                   {HR_EVT_ALARM, "alarm"},
                                                   {HR_EVT_SWING_LIMIT, "swing_limit"}};

static const hr__enum_name_t metric_names[] = {
    {HR_METRIC_P_TOTAL_W, "p_total_w"}, {HR_METRIC_DPDT_W_PER_S, "dpdt_w_per_s"},
    {HR_METRIC_I_PEAK_A, "i_peak_a"},   {HR_METRIC_I_RMS_A, "i_rms_a"},
    {HR_METRIC_U_RMS_V, "u_rms_v"},     {HR_METRIC_FREQ_HZ, "freq_hz"}};

const char *hr_rec_kind_name(hr_rec_kind_t kind)
{
  return hr__enum_name(rec_kind_names, HR__COUNT(rec_kind_names), (int)kind, "unknown");
}

const char *hr_event_type_name(hr_event_type_t type)
{
  return hr__enum_name(event_type_names, HR__COUNT(event_type_names), (int)type, "unknown");
}

const char *hr_metric_name(hr_metric_t metric)
{
  return hr__enum_name(metric_names, HR__COUNT(metric_names), (int)metric, "unknown");
}

int hr_metric_parse(const char *name, hr_metric_t *out)
{
  int v;
  if (!name || !out)
    return HR_ERR_INVALID_ARG;
  int rc = hr__enum_parse(metric_names, HR__COUNT(metric_names), name, 0, &v);
  if (rc == HR_OK)
    *out = (hr_metric_t)v;
  return rc;
}
