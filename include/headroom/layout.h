/* headroom: channel layouts shared by the meter, the generator and the readers.
 *
 * Samples travel as interleaved frames of float32 values, one frame per
 * sampling instant, channels in this order:
 *   HR_LAYOUT_1P2W : u1 [V], i1 [A]
 *   HR_LAYOUT_3P3W : uab, ubc, uca [V] (line-to-line), ia, ib, ic [A]
 *   HR_LAYOUT_3P4W : ua, ub, uc [V] (line-to-neutral), ia, ib, ic [A], then in [A]
 *                    when the neutral current is measured.
 * Voltages always come first, then currents. */
#ifndef HEADROOM_LAYOUT_H
#define HEADROOM_LAYOUT_H

#include "headroom/export.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HR_MAX_U 3 /* voltage channels at most */
#define HR_MAX_I 4 /* current channels at most (3 phases + neutral) */
#define HR_MAX_CH (HR_MAX_U + HR_MAX_I)

/* The latest start time (t0_ns) a sample source may have: 2100-01-01T00:00:00Z
 * in ns since the Unix epoch.  Start times are 0..HR_T0_NS_MAX; sample k is at
 * t0_ns + k/fs, and the margin left to INT64_MAX (more than 160 years of
 * samples) keeps every timestamp of a stream representable. */
#define HR_T0_NS_MAX 4102444800000000000LL

typedef enum hr_layout {
  HR_LAYOUT_1P2W = 1, /* single phase, two wires */
  HR_LAYOUT_3P3W = 2, /* three phase, three wires (no neutral) */
  HR_LAYOUT_3P4W = 3  /* three phase, four wires */
} hr_layout_t;

/* Number of voltage channels (1 or 3) of a layout; 0 for an unknown layout. */
HR_API int hr_layout_n_u(hr_layout_t layout);

/* Number of current channels in a frame: 1, 3, or 4 for 3P4W with the
 * neutral current measured (has_in != 0); 0 for an unknown layout. */
HR_API int hr_layout_n_i(hr_layout_t layout, int has_in);

/* Parses "1p2w", "3p3w" or "3p4w" (case-insensitive).  Returns HR_OK or
 * HR_ERR_PARSE; *out is written only on success. */
HR_API int hr_layout_parse(const char *text, hr_layout_t *out);

/* Returns the static lower-case name of a layout ("3p4w"), or "unknown". */
HR_API const char *hr_layout_name(hr_layout_t layout);

#ifdef __cplusplus
}
#endif
#endif
