/* headroom: IEEE C37.111 (COMTRADE) reader and writer.
 *
 * Reads the 1991, 1999 and 2013 revisions: a CFG file plus a DAT file, or the
 * 2013 single-file form (CFF); DAT in ASCII, BINARY (int16), BINARY32 (int32)
 * or FLOAT32; several sample rates (nrates > 1); missing-value markers; 1991
 * (mm/dd/yy) and 1999/2013 (dd/mm/yyyy) dates with 5 to 9 fractional digits;
 * UTF-8 or Latin-1 text (kept as UTF-8 in memory).  Tolerated deviations are
 * counted in hr_ct_info_t.warnings, never silently: a DAT longer or shorter
 * than the CFG says, trailing bytes, non-standard CFF markers, missing
 * time-code lines, SUB (0x1A) padding.  Errors are reported the one way of
 * the library, in an hr_diag_t (headroom/error.h).
 *
 * Writes the 2013 revision: CFG + DAT in ASCII, BINARY, BINARY32 or FLOAT32,
 * or CFF, always through a temporary name renamed into place, so a crash never
 * leaves a file that looks complete.  Write-then-read gives back the same raw
 * codes, scaling, timestamps and metadata (tests/capture/test_comtrade.c).
 *
 * Memory: a recording is loaded whole; its size is bounded by
 * HR_CT_MAX_BYTES of DAT and HR_CT_MAX_CHANNELS channels.  Objects are not
 * thread-safe; different objects are independent.  Nothing here prints. */
#ifndef HEADROOM_COMTRADE_H
#define HEADROOM_COMTRADE_H

#include <stddef.h>
#include <stdint.h>

#include "headroom/error.h"
#include "headroom/export.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HR_CT_MAX_CHANNELS 4096             /* analog + digital channels accepted */
#define HR_CT_MAX_RATES 64                  /* nrates accepted */
#define HR_CT_MAX_CFG_BYTES (1u << 22)      /* largest CFG (or CFF header) [bytes] */
#define HR_CT_MAX_BYTES ((uint64_t)1 << 31) /* largest DAT [bytes] */
#define HR_CT_NAME_BYTES 129                /* names (UTF-8, NUL included); longer are cut */
#define HR_CT_SHORT_BYTES 33                /* phase, unit, codes */
/* A missing raw timestamp (binary 0xFFFFFFFF, empty ASCII field). */
#define HR_CT_NO_TIME INT64_MIN

typedef enum hr_ct_format {
  HR_CT_ASCII = 1,
  HR_CT_BINARY = 2,   /* int16 analog codes, missing 0x8000 */
  HR_CT_BINARY32 = 3, /* int32 analog codes, missing 0x80000000 */
  HR_CT_FLOAT32 = 4   /* IEEE-754 float32 analog values, missing NaN */
} hr_ct_format_t;

/* One analog channel: value = a * raw + b in `unit` (C37.111-2013 §7.4.3). */
typedef struct hr_ct_analog {
  char id[HR_CT_NAME_BYTES];   /* ch_id */
  char ph[HR_CT_SHORT_BYTES];  /* phase identification */
  char ccbm[HR_CT_NAME_BYTES]; /* circuit component being monitored */
  char unit[HR_CT_SHORT_BYTES];
  double a, b;               /* multiplier and offset */
  double skew_us;            /* time skew of the channel [µs] */
  double min, max;           /* range of raw codes */
  double primary, secondary; /* transformer ratio; 1, 1 in the 1991 revision */
  char ps;                   /* 'P' primary or 'S' secondary values */
} hr_ct_analog_t;

/* One status (digital) channel (C37.111-2013 §7.4.4). */
typedef struct hr_ct_digital {
  char id[HR_CT_NAME_BYTES];
  char ph[HR_CT_SHORT_BYTES];
  char ccbm[HR_CT_NAME_BYTES];
  int normal; /* normal state y, 0 or 1 */
} hr_ct_digital_t;

typedef struct hr_ct_rate {
  double samp_hz;     /* sample rate of this segment [Hz], 0 = timestamps only */
  int64_t end_sample; /* last sample number of the segment (cumulative, 1-based) */
} hr_ct_rate_t;

/* The CFG contents.  The arrays are owned by the structure that holds the
 * config (a recording) and live as long as it does. */
typedef struct hr_ct_cfg {
  char station[HR_CT_NAME_BYTES];
  char rec_dev_id[HR_CT_NAME_BYTES];
  int rev_year; /* 1991, 1999 or 2013 */
  int n_analog, n_digital;
  hr_ct_analog_t *analog;   /* n_analog entries */
  hr_ct_digital_t *digital; /* n_digital entries */
  double line_freq_hz;      /* lf, as written (may be wrong: measure it) */
  int n_rates;              /* 0: timestamps only */
  hr_ct_rate_t rates[HR_CT_MAX_RATES];
  int64_t end_sample; /* samples the CFG declares */
  int64_t start_ns;   /* first data value [ns since the Unix epoch, UTC-agnostic] */
  int64_t trigger_ns; /* trigger point */
  int frac_digits;    /* fractional-second digits of the start date (5..9) */
  hr_ct_format_t format;
  double timemult;                                                  /* timestamp multiplier */
  char time_code[HR_CT_SHORT_BYTES], local_code[HR_CT_SHORT_BYTES]; /* 2013 */
  char tmq_code[HR_CT_SHORT_BYTES];
  int leap_sec;
} hr_ct_cfg_t;

/* Non-fatal findings (hr_ct_info_t.warnings bits). */
enum {
  HR_CT_WARN_DAT_SHORT = 1u << 0,   /* fewer samples than endsamp */
  HR_CT_WARN_DAT_LONG = 1u << 1,    /* more samples than endsamp; all are kept */
  HR_CT_WARN_TRAILING = 1u << 2,    /* bytes after the last whole binary record, ignored */
  HR_CT_WARN_LATIN1 = 1u << 3,      /* text was not UTF-8; read as Latin-1 */
  HR_CT_WARN_CFF_MARKER = 1u << 4,  /* non-standard CFF section markers */
  HR_CT_WARN_NO_TIMECODE = 1u << 5, /* 2013 time-code / tmq lines absent */
  HR_CT_WARN_SUB_PAD = 1u << 6,     /* SUB (0x1A) padding at the end of the CFG */
  HR_CT_WARN_MISSING = 1u << 7,     /* missing-value markers in the data */
  HR_CT_WARN_SAMPLE_NUM = 1u << 8,  /* sample numbers not 1, 2, 3, ... */
  HR_CT_WARN_BAD_LF = 1u << 9       /* line frequency not 0, 50 or 60 */
};

/* What a read found besides the data: the facts of a read that succeeded
 * (or got as far as it did), never the error, which goes to the hr_diag_t.
 * A plain value owned by the caller (no cleanup); every read call that is
 * given one clears it on entry and fills it, NULL is allowed. */
typedef struct hr_ct_info {
  unsigned warnings;        /* HR_CT_WARN_* */
  int64_t declared_samples; /* endsamp of the CFG (the last rate's end sample) */
  int64_t found_samples;    /* whole records in the DAT */
  uint64_t trailing_bytes;  /* after the last whole binary record, ignored */
  int64_t missing_values;   /* analog values marked missing */
} hr_ct_info_t;

/* A recording: CFG plus data.  Arrays are owned by the recording and freed by
 * hr_ct_rec_destroy; callers may read and write their elements.
 *   raw[k * n_analog + c]   : raw analog value of sample k, channel c (the
 *                             integer code for ASCII/BINARY/BINARY32, the
 *                             float32 value for FLOAT32); NaN when missing.
 *   digital[k * n_digital + d] : 0 or 1.
 *   sample_num[k], timestamp[k] : as in the DAT (timestamp HR_CT_NO_TIME when
 *                             missing), in units of timemult µs (6-digit
 *                             dates) or ns (9-digit dates, 2013 §7.4.5). */
typedef struct hr_ct_rec {
  hr_ct_cfg_t cfg;
  int64_t n_samples;
  double *raw;
  uint8_t *digital;
  int64_t *sample_num;
  int64_t *timestamp;
} hr_ct_rec_t;

typedef struct hr_ct_write_opts {
  hr_ct_format_t format; /* DAT format; raw values must fit it (hr_ct_rec_quantize) */
  int cff;               /* 1: one .cff file; 0: .cfg + .dat */
  int frac_digits;       /* 6 (µs) or 9 (ns) in the dates; timestamps follow */
} hr_ct_write_opts_t;

/* Reads a recording from path: a .cfg (its DAT is found by replacing the
 * extension, .dat or .DAT) or a .cff; the form is recognised from the content.
 *   dat_path : optional DAT path overriding the derived one (NULL: derive).
 *   out      : receives the recording, owned by the caller (hr_ct_rec_destroy).
 *   info     : optional; the warnings and counts of the CFG and the DAT.
 *   diag     : optional; on failure, the error: source is the file it is in
 *              (the CFG, the DAT or the CFF, name as given), line for text
 *              (CFG and ASCII DAT, with the column in an ASCII DAT record),
 *              offset (has_offset) for the byte where the problem starts,
 *              field ("endsamp", "analog 3 multiplier a", "record 1").
 * Returns HR_OK, HR_ERR_IO (open/read), HR_ERR_PARSE / HR_ERR_RANGE /
 * HR_ERR_UNSUPPORTED / HR_ERR_CHANNELS, HR_ERR_TRUNCATED (no whole sample in
 * the DAT), HR_ERR_NOMEM or HR_ERR_INVALID_ARG. */
HR_API int hr_ct_read(const char *path, const char *dat_path, hr_ct_rec_t **out, hr_ct_info_t *info,
                      hr_diag_t *diag);

/* Parses CFG text (bytes borrowed for the call) into *cfg, whose arrays are
 * then owned by the caller and released with hr_ct_cfg_free.  name is the
 * diag source only (NULL: "<buffer>").  info (optional) gets the CFG's
 * warnings and declared_samples.  Errors as hr_ct_read; line and offset
 * count from the start of text. */
HR_API int hr_ct_cfg_parse(const char *text, size_t len, const char *name, hr_ct_cfg_t *cfg,
                           hr_ct_info_t *info, hr_diag_t *diag);

/* Releases the arrays of a parsed config; the struct itself is the caller's. */
HR_API void hr_ct_cfg_free(hr_ct_cfg_t *cfg);

/* Decodes DAT bytes (borrowed) of the given format against cfg (copied, with
 * its arrays, into the new recording).  name is the diag source only (NULL:
 * "<buffer>").  info (optional) gets the DAT's warnings and counts; a caller
 * that also parsed the CFG merges the two (warnings are bits to OR).  Errors
 * as hr_ct_read; line and offset count from the start of bytes. */
HR_API int hr_ct_dat_parse(const hr_ct_cfg_t *cfg, hr_ct_format_t format, const void *bytes,
                           size_t len, const char *name, hr_ct_rec_t **out, hr_ct_info_t *info,
                           hr_diag_t *diag);

/* Creates an empty recording with n_analog/n_digital channels and n_samples
 * samples (all zero), for writers.  The caller fills cfg and the arrays. */
HR_API int hr_ct_rec_create(int n_analog, int n_digital, int64_t n_samples, hr_ct_rec_t **out);

/* Frees a recording.  NULL is allowed. */
HR_API void hr_ct_rec_destroy(hr_ct_rec_t *rec);

/* Scaled value a * raw + b of sample k, analog channel c, in the channel's
 * unit; NaN when missing or out of range. */
HR_API double hr_ct_value(const hr_ct_rec_t *rec, int c, int64_t k);

/* Time of sample k [ns since the epoch]: the start time, plus the DAT
 * timestamp offset of the first sample of k's rate segment from the first
 * sample of the file (this keeps the gaps of multi-rate files), plus the
 * samples since that segment start divided by the segment's rate.  With
 * nrates = 0 or a zero rate, from the timestamps alone. */
HR_API int64_t hr_ct_time_ns(const hr_ct_rec_t *rec, int64_t k);

/* Sample rate [Hz] of the segment holding sample k (0 when unknown). */
HR_API double hr_ct_rate_hz(const hr_ct_rec_t *rec, int64_t k);

/* Rescales analog channels so their raw values are integer codes of format
 * (BINARY: ±32767, BINARY32: ±2147483647) with the same scaled values up to
 * the code resolution; a and b are updated.  FLOAT32/ASCII: nothing to do if
 * the raw values already fit.  Returns HR_OK or HR_ERR_INVALID_ARG. */
HR_API int hr_ct_rec_quantize(hr_ct_rec_t *rec, hr_ct_format_t format);

/* Writes rec as COMTRADE 2013 (C37.111-2013 §7 CFG, §8 DAT, §9 CFF).
 *   base : path without extension; writes base.cfg + base.dat, or base.cff,
 *          each first as NAME.tmp.PID, fsync'd, then renamed.
 * Returns HR_OK, HR_ERR_INVALID_ARG, HR_ERR_RANGE (a raw value that does not
 * fit the format, a sample count over 2^32-1) or HR_ERR_IO (nothing complete
 * is left under the final names). */
HR_API int hr_ct_write(const hr_ct_rec_t *rec, const char *base, const hr_ct_write_opts_t *opts);

/* "ASCII", "BINARY", "BINARY32", "FLOAT32" (static), or "unknown". */
HR_API const char *hr_ct_format_name(hr_ct_format_t format);
/* Case-insensitive inverse of hr_ct_format_name.  HR_OK or HR_ERR_PARSE. */
HR_API int hr_ct_format_parse(const char *name, hr_ct_format_t *out);

#ifdef __cplusplus
}
#endif
#endif
