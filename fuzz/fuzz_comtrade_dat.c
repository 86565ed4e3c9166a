/* libFuzzer harness for the COMTRADE DAT decoders (include/headroom/comtrade.h).
 *
 * Input layout:
 *   byte 0 : DAT format (mod 4: ASCII, BINARY, BINARY32, FLOAT32)
 *   byte 1 : analog channels (mod 9)
 *   byte 2 : digital channels (mod 40)
 *   byte 3 : 1991 (odd) or 2013 rules
 *   rest   : the DAT bytes
 * A config with those channels is built here; the decoder must either give
 * samples whose count matches the bytes (binary: whole records) or an error
 * with a message and a location inside the input. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "headroom/comtrade.h"
#include "headroom/error.h"

#define CHECK(c)                                                                                   \
  do {                                                                                             \
    if (!(c))                                                                                      \
      __builtin_trap();                                                                            \
  } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 4)
    return 0;
  hr_ct_format_t fmt = (hr_ct_format_t)(HR_CT_ASCII + data[0] % 4);
  hr_ct_analog_t an[8];
  hr_ct_digital_t dg[39];
  memset(an, 0, sizeof an);
  memset(dg, 0, sizeof dg);
  hr_ct_cfg_t cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.n_analog = data[1] % 9;
  cfg.n_digital = data[2] % 40;
  if (cfg.n_analog + cfg.n_digital == 0)
    cfg.n_analog = 1;
  for (int c = 0; c < 8; c++) {
    an[c].a = 1;
    an[c].min = -32767;
    an[c].max = 32767;
  }
  cfg.analog = an;
  cfg.digital = dg;
  cfg.rev_year = data[3] & 1 ? 1991 : 2013;
  cfg.n_rates = 1;
  cfg.rates[0].samp_hz = 1000;
  cfg.rates[0].end_sample = 10;
  cfg.end_sample = 10;
  cfg.timemult = 1;
  cfg.frac_digits = 6;
  cfg.format = fmt;
  hr_ct_rec_t *r = NULL;
  hr_ct_info_t info;
  hr_diag_t d;
  size_t n = size - 4;
  int rc = hr_ct_dat_parse(&cfg, fmt, data + 4, n, "fuzz.dat", &r, &info, &d);
  CHECK(d.code == rc);
  if (rc == HR_OK) {
    CHECK(info.found_samples == r->n_samples);
    if (fmt != HR_CT_ASCII) {
      size_t rb = 8 + (fmt == HR_CT_BINARY ? 2u : 4u) * (size_t)cfg.n_analog +
                  2 * (((size_t)cfg.n_digital + 15) / 16);
      CHECK((size_t)r->n_samples == n / rb);
    }
    for (int64_t k = 0; k < r->n_samples; k++) {
      (void)hr_ct_time_ns(r, k);
      for (int c = 0; c < cfg.n_analog; c++)
        (void)hr_ct_value(r, c, k);
      for (int b = 0; b < cfg.n_digital; b++)
        CHECK(r->digital[k * cfg.n_digital + b] <= 1);
    }
    hr_ct_rec_destroy(r);
  } else {
    CHECK(d.message[0] != 0 && strcmp(d.source, "fuzz.dat") == 0);
    CHECK(!d.has_offset || d.offset <= n);
  }
  return 0;
}
