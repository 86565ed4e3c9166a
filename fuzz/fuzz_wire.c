/* libFuzzer harness for the JSON record writer (hr_record_json) and the
 * RFC 3339 time formatter (hr_time_rfc3339), include/headroom/wire.h.
 *
 * The input fills a record: its kind (also out of range), flags, times,
 * channel counts (within the meter's limits: 1..3 voltages, 1..4
 * currents, as a meter produces), every value (NaN, infinities, 1e308,
 * denormals, -0, raw bits), an event's type (also out of range) and
 * channel mask, then a device id (any bytes) and an output size.
 *
 * Checks: with a buffer of HR_RECORD_JSON_MAX the writer succeeds (or
 * refuses the device id exactly when it is not printable ASCII without
 * quote and backslash, or longer than 64) and writes one valid JSON object
 * (checked by a strict parser: no NaN, no Infinity, strings escaped) whose
 * length it reports; with a smaller buffer it gives HR_ERR_FULL and a
 * NUL-terminated prefix of the same text, or the same text when it fits.
 * The time formatter gives "YYYY-MM-DDThh:mm:ss.nnnnnnnnnZ" for every
 * int64.  A swing record (HR_REC_SWING, counts out of range too) also gets
 * a spectrum of 1..64 values, written by hr_swing_spectrum_json within
 * HR_SWING_SPECTRUM_JSON_BYTES as one valid JSON object. */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "headroom/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- a strict JSON parser (RFC 8259): returns the end, or NULL ---------- */

static const char *ws(const char *s)
{
  while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
    s++;
  return s;
}

static const char *value(const char *s, int depth);

static const char *string(const char *s)
{
  if (*s++ != '"')
    return NULL;
  for (;;) {
    unsigned char c = (unsigned char)*s++;
    if (c == '"')
      return s;
    if (c < 0x20)
      return NULL;
    if (c == '\\') {
      c = (unsigned char)*s++;
      if (c == 'u') {
        for (int k = 0; k < 4; k++)
          if (!isxdigit((unsigned char)*s++))
            return NULL;
      } else if (!strchr("\"\\/bfnrt", c) || c == 0) {
        return NULL;
      }
    }
  }
}

static const char *number(const char *s)
{
  if (*s == '-')
    s++;
  if (*s == '0')
    s++;
  else if (*s >= '1' && *s <= '9')
    while (isdigit((unsigned char)*s))
      s++;
  else
    return NULL;
  if (*s == '.') {
    s++;
    if (!isdigit((unsigned char)*s))
      return NULL;
    while (isdigit((unsigned char)*s))
      s++;
  }
  if (*s == 'e' || *s == 'E') {
    s++;
    if (*s == '+' || *s == '-')
      s++;
    if (!isdigit((unsigned char)*s))
      return NULL;
    while (isdigit((unsigned char)*s))
      s++;
  }
  return s;
}

static const char *members(const char *s, int depth, char close, int keyed)
{
  s = ws(s);
  if (*s == close)
    return s + 1;
  for (;;) {
    if (keyed) {
      if (!(s = string(ws(s))))
        return NULL;
      s = ws(s);
      if (*s++ != ':')
        return NULL;
    }
    if (!(s = value(s, depth + 1)))
      return NULL;
    s = ws(s);
    if (*s == close)
      return s + 1;
    if (*s++ != ',')
      return NULL;
  }
}

static const char *value(const char *s, int depth)
{
  if (depth > 16)
    return NULL;
  s = ws(s);
  switch (*s) {
  case '{':
    return members(s + 1, depth, '}', 1);
  case '[':
    return members(s + 1, depth, ']', 0);
  case '"':
    return string(s);
  case 't':
    return strncmp(s, "true", 4) == 0 ? s + 4 : NULL;
  case 'f':
    return strncmp(s, "false", 5) == 0 ? s + 5 : NULL;
  case 'n':
    return strncmp(s, "null", 4) == 0 ? s + 4 : NULL;
  default:
    return number(s);
  }
}

/* ---- the record ---------------------------------------------------------- */

static void fill_doubles(hr_fz_t *f, double *v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    v[i] = hr_fz_double(f, 230.0);
}

static void check_time(int64_t t)
{
  char b[40];
  memset(b, 'x', sizeof b);
  if (hr_time_rfc3339(t, b, sizeof b) != HR_OK)
    abort();
  static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddddddddZ";
  if (strlen(b) != strlen(shape))
    abort();
  for (size_t i = 0; shape[i]; i++)
    if (shape[i] == 'd' ? !isdigit((unsigned char)b[i]) : b[i] != shape[i])
      abort();
  if (hr_time_rfc3339(t, b, 31) != HR_ERR_INVALID_ARG)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  hr_fz_t f = hr_fz_init(data, size);
  hr_record_t rec;
  memset(&rec, 0, sizeof rec);
  rec.kind = (hr_rec_kind_t)hr_fz_range(&f, 0, 8);
  if (rec.kind == 8)
    rec.kind = HR_REC_SWING;
  rec.flags = hr_fz_u32(&f);
  rec.t_ns = (int64_t)hr_fz_u64(&f);
  rec.dur_ns = (int64_t)hr_fz_u64(&f);
  rec.n_u = (int)hr_fz_range(&f, 1, HR_MAX_U);
  rec.n_i = (int)hr_fz_range(&f, 1, HR_MAX_I);
  switch (rec.kind) {
  case HR_REC_HALF:
    fill_doubles(&f, rec.u.half.u_rms_v, HR_MAX_U);
    fill_doubles(&f, rec.u.half.i_rms_a, HR_MAX_I);
    break;
  case HR_REC_CYCLE:
    fill_doubles(&f, (double *)(void *)&rec.u.cycle, sizeof rec.u.cycle / sizeof(double));
    break;
  case HR_REC_MS:
    fill_doubles(&f, (double *)(void *)&rec.u.ms, sizeof rec.u.ms / sizeof(double));
    break;
  case HR_REC_INTERVAL:
    rec.u.interval.n_cycles = (int)hr_fz_u32(&f);
    rec.u.interval.freq_hz = hr_fz_double(&f, 50.0);
    fill_doubles(&f, rec.u.interval.u_rms_v, HR_MAX_U);
    fill_doubles(&f, rec.u.interval.i_rms_a, HR_MAX_I);
    fill_doubles(&f, rec.u.interval.p_w, 3);
    rec.u.interval.p_total_w = hr_fz_double(&f, 1e3);
    rec.u.interval.s_eff_va = hr_fz_double(&f, 1e3);
    rec.u.interval.pf_total = hr_fz_double(&f, 0.9);
    break;
  case HR_REC_FREQ10S:
    rec.u.freq.freq_hz = hr_fz_double(&f, 50.0);
    rec.u.freq.n_cycles = (int)hr_fz_u32(&f);
    rec.u.freq.span_s = hr_fz_double(&f, 10.0);
    break;
  case HR_REC_EVENT:
    rec.u.event.type = (hr_event_type_t)hr_fz_range(&f, 0, 8);
    rec.u.event.ended = (int)hr_fz_u32(&f);
    rec.u.event.channels = hr_fz_u32(&f) & ((1u << (rec.n_u + rec.n_i)) - 1u);
    rec.u.event.start_ns = (int64_t)hr_fz_u64(&f);
    rec.u.event.duration_ns = (int64_t)hr_fz_u64(&f);
    rec.u.event.extreme = hr_fz_double(&f, 200.0);
    rec.u.event.depth_pct = hr_fz_double(&f, 10.0);
    rec.u.event.delta = hr_fz_double(&f, 10.0);
    rec.u.event.from = hr_fz_double(&f, 10.0);
    rec.u.event.alarm_index = (int)hr_fz_u32(&f);
    break;
  case HR_REC_SWING:
    rec.u.swing.window = (int)hr_fz_u32(&f);
    rec.u.swing.n_bands = (int)hr_fz_u32(&f); /* clamped by the writer */
    rec.u.swing.n_ramps = (int)hr_fz_u32(&f);
    fill_doubles(&f, &rec.u.swing.bin_hz, 7); /* bin_hz .. dom_amp_w */
    fill_doubles(&f, rec.u.swing.band_rms_w, HR_SWING_MAX_BANDS);
    fill_doubles(&f, rec.u.swing.ramp_w_per_s, HR_SWING_MAX_RAMPS);
    break;
  default:
    break;
  }
  char id[80];
  size_t nid = hr_fz_u8(&f) % sizeof id;
  int use_id = hr_fz_u8(&f) & 1;
  for (size_t i = 0; i < nid; i++) {
    id[i] = (char)hr_fz_u8(&f);
    if (id[i] == 0)
      nid = i;
  }
  id[nid] = '\0';
  int id_ok = nid <= 64;
  for (size_t i = 0; i < nid; i++)
    id_ok = id_ok && id[i] >= 0x20 && id[i] <= 0x7e && id[i] != '"' && id[i] != '\\';
  size_t small = 1 + hr_fz_u32(&f) % HR_RECORD_JSON_MAX;

  check_time(rec.t_ns);
  char full[HR_RECORD_JSON_MAX];
  size_t nfull = (size_t)-1;
  int rc = hr_record_json(&rec, use_id ? id : NULL, full, sizeof full, &nfull);
  if (use_id && !id_ok) {
    if (rc != HR_ERR_INVALID_ARG)
      abort();
    return 0;
  }
  if (rc != HR_OK || nfull != strlen(full) || nfull >= sizeof full)
    abort();
  const char *end = value(full, 0);
  if (!end || *end != '\0' || full[0] != '{')
    abort();
  char *part = malloc(small);
  if (!part)
    abort();
  size_t npart = (size_t)-1;
  rc = hr_record_json(&rec, use_id ? id : NULL, part, small, &npart);
  if (nfull < small) {
    if (rc != HR_OK || strcmp(part, full) != 0 || npart != nfull)
      abort();
  } else if (rc != HR_ERR_FULL || strlen(part) >= small || strncmp(part, full, strlen(part)) != 0) {
    abort();
  }
  free(part);
  /* A swing record's spectrum line: valid JSON in the documented bytes. */
  if (rec.kind == HR_REC_SWING) {
    double sp[64];
    int nb = 1 + hr_fz_u8(&f) % 64;
    fill_doubles(&f, sp, (size_t)nb);
    rec.u.swing.spectrum_w = sp;
    rec.u.swing.n_bins = nb;
    size_t cap = HR_SWING_SPECTRUM_JSON_BYTES(nb), ns = 0;
    char *big = malloc(cap);
    if (!big)
      abort();
    if (hr_swing_spectrum_json(&rec, use_id ? id : NULL, big, cap, &ns) != HR_OK ||
        ns != strlen(big) || !(end = value(big, 0)) || *end != '\0')
      abort();
    free(big);
  }
  return 0;
}
