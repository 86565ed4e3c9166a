/* libFuzzer harness for the power-model file parser (untrusted files).
 *
 * Inputs are used twice: as they are (almost always refused by the checksum)
 * and with a correct CRC-32 line appended, so the parser behind the checksum
 * is exercised too.  A model that loads must generate finite power for
 * every method it supports, for a constant and a varying workload. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "headroom/plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t crc32(const uint8_t *p, size_t n)
{
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++)
      c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return c ^ 0xFFFFFFFFu;
}

static void check(const char *buf, size_t len)
{
  hr_plan_model_t *m = NULL;
  hr_diag_t e;
  memset(&e, 0, sizeof e);
  int rc = hr_plan_model_parse(buf, len, &m, &e);
  if (rc != HR_OK) {
    if (m || e.message[0] == '\0')
      __builtin_trap();
    return;
  }
  double a[64], p[64];
  for (int i = 0; i < 64; i++)
    a[i] = i < 32 ? 16.0 : (double)(i * 7 % 300);
  for (int meth = 0; meth < HR_PLAN_METHOD_COUNT_; meth++) {
    const char *labels[2] = {"x", "Llama-3.1-70B"};
    for (int l = 0; l < 2; l++) {
      rc = hr_plan_model_generate_dt(m, meth, labels[l], 2, a, 64, 0.25, 1, p);
      if (rc == HR_OK)
        for (int i = 0; i < 64; i++)
          if (!isfinite(p[i]))
            __builtin_trap();
    }
  }
  hr_plan_model_destroy(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size > (1u << 20))
    return 0;
  check((const char *)data, size);
  char *b = malloc(size + 32);
  if (!b)
    return 0;
  memcpy(b, data, size);
  size_t n = size;
  if (n > 0 && b[n - 1] != '\n')
    b[n++] = '\n';
  n += (size_t)snprintf(b + n, 32, "crc32 %08x\n", (unsigned)crc32((const uint8_t *)b, n));
  check(b, n);
  free(b);
  return 0;
}
