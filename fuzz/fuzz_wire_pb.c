/* libFuzzer harness for the PowerMeasurement decoder (hr_pm_decode), the
 * stream framing (hr_pm_frame) and, on what decodes, the encoder and the
 * JSON form (include/headroom/wire.h, src/wire/pb.c, pbjson.c).
 *
 * The input is taken twice: as one message, and as a length-delimited
 * stream of messages (as headroom meter --output-format proto writes).
 *
 * Checks: a refused message names its field and says why, with a code from
 * the documented set, and the byte where it goes wrong whenever protobuf-c
 * refused it (the decoder's own wire walk must agree with protobuf-c); a decoded message has its
 * counts within the limits, a NUL-terminated UTF-8 device id of at most 64 bytes, and NaN-free
 * repeated values only where the wire held them; it re-encodes within
 * HR_PM_ENCODED_MAX, decodes again to the same bytes (encode(decode(x)) is a
 * fixed point), and its JSON fits HR_PM_JSON_MAX; framing never reports a
 * message past the end of the input. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "headroom/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t enc1[HR_PM_DELIMITED_MAX], enc2[HR_PM_DELIMITED_MAX];
static char js[HR_PM_JSON_MAX];

static void one(const uint8_t *msg, size_t n)
{
  hr_pm_t pm, again;
  hr_diag_t d;
  int rc = hr_pm_decode(msg, n, &pm, &d);
  if (rc != HR_OK) {
    if (rc != HR_ERR_PARSE && rc != HR_ERR_RANGE && rc != HR_ERR_NOMEM)
      abort();
    if (d.code != rc || !d.field[0] || !d.message[0])
      abort();
    /* What protobuf-c refuses, the wire walk locates (a byte offset within
     * the message), but for the device id's UTF-8 check. */
    if (rc == HR_ERR_PARSE && strcmp(d.field, "device_id") != 0 && !(d.has_offset && d.offset <= n))
      abort();
    return;
  }
  if (pm.n_phases < 0 || pm.n_phases > HR_PM_MAX_PHASES || pm.pq.n_harmonics < 0 ||
      pm.pq.n_harmonics > HR_PM_MAX_HARMONICS ||
      strnlen(pm.device_id, sizeof pm.device_id) > HR_PM_DEVICE_ID_MAX)
    abort();
  for (int k = 0; k < pm.n_phases; k++)
    if (pm.phases[k].n_voltage_harmonics < 0 ||
        pm.phases[k].n_voltage_harmonics > HR_PM_MAX_HARMONICS ||
        pm.phases[k].n_current_harmonics < 0 ||
        pm.phases[k].n_current_harmonics > HR_PM_MAX_HARMONICS)
      abort();
  size_t n1 = 0, n2 = 0;
  if (hr_pm_encode(&pm, enc1, HR_PM_ENCODED_MAX, &n1) != HR_OK)
    abort();
  if (hr_pm_decode(enc1, n1, &again, NULL) != HR_OK)
    abort();
  if (hr_pm_encode(&again, enc2, HR_PM_ENCODED_MAX, &n2) != HR_OK || n1 != n2 ||
      memcmp(enc1, enc2, n1) != 0)
    abort();
  size_t jn = 0;
  if (hr_pm_json(&pm, js, sizeof js, &jn) != HR_OK || strlen(js) != jn || js[0] != '{' ||
      js[jn - 1] != '}')
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  /* exact-size copy: the sanitizer sees every read past the end */
  uint8_t *copy = malloc(size ? size : 1);
  if (!copy)
    return 0;
  memcpy(copy, data, size);
  one(copy, size);
  size_t pos = 0;
  while (pos < size) {
    size_t off = 0, len = 0;
    hr_diag_t d;
    int rc = hr_pm_frame(copy + pos, size - pos, &off, &len, &d);
    if (rc != HR_OK) {
      if ((rc != HR_ERR_TRUNCATED && rc != HR_ERR_PARSE && rc != HR_ERR_RANGE) || !d.field[0])
        abort();
      break;
    }
    if (off == 0 || off > 10 || len > HR_PM_DECODE_MAX || off + len > size - pos)
      abort();
    one(copy + pos + off, len);
    pos += off + len;
  }
  free(copy);
  return 0;
}
