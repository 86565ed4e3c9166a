/* Internal helpers shared by the COMTRADE reader and writer. */
#ifndef HR_CAPTURE_CT_INT_H
#define HR_CAPTURE_CT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "headroom/comtrade.h"

/* Days since 1970-01-01 of a proleptic Gregorian date. */
int64_t hr__ct_days_from_civil(int64_t y, unsigned m, unsigned d);
/* Inverse of hr__ct_days_from_civil. */
void hr__ct_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

/* Size in bytes of one binary DAT record (C37.111-2013 §8.4), 0 for ASCII. */
size_t hr__ct_record_bytes(const hr_ct_cfg_t *cfg, hr_ct_format_t format);

/* Deep copy of a config's arrays; *dst gets its own arrays. */
int hr__ct_cfg_copy(hr_ct_cfg_t *dst, const hr_ct_cfg_t *src);

#endif
