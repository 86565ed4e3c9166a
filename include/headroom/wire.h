/* headroom: encodings of measurement records.
 *
 * JSON form: one object per record, fields with units in their names (see
 * docs/formats.md, "JSON Lines records").  Numbers are written with 10
 * significant digits; NaN or infinite values become null. */
#ifndef HEADROOM_WIRE_H
#define HEADROOM_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "headroom/export.h"
#include "headroom/pq.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest JSON text hr_record_json can produce, NUL included. */
#define HR_RECORD_JSON_MAX 2048

/* Writes rec as one JSON object (no newline) into buf.
 *   device_id : optional identifier added as "device_id" (NULL omits it);
 *               borrowed for the call; printable ASCII, at most 64 bytes.
 *   buf, len  : output, len >= HR_RECORD_JSON_MAX always suffices.
 *   n_written : receives the length without the NUL (may be NULL).
 * Returns HR_OK, HR_ERR_INVALID_ARG (NULL rec/buf, bad device_id) or
 * HR_ERR_FULL (len too small; buf then holds a truncated, NUL-terminated
 * prefix). */
HR_API int hr_record_json(const hr_record_t *rec, const char *device_id, char *buf, size_t len,
                          size_t *n_written);

/* Largest JSON text hr_harm_json can produce, NUL included. */
#define HR_HARM_JSON_MAX 65536

/* Writes the full harmonics result of one window (the detail of an
 * HR_REC_HARM record, valid during the record callback) as one JSON object
 * {"type":"harm_spectrum",...} (no newline) into buf; docs/formats.md.
 *   t_ns       : the window start (the record's t_ns), for the reader to pair
 *                the two lines;
 *   device_id  : as hr_record_json;
 *   buf, len   : output, len >= HR_HARM_JSON_MAX always suffices.
 * Returns HR_OK, HR_ERR_INVALID_ARG or HR_ERR_FULL as hr_record_json. */
HR_API int hr_harm_json(const hr_harm_t *h, int64_t t_ns, const char *device_id, char *buf,
                        size_t len, size_t *n_written);

/* Bytes that always suffice for hr_swing_spectrum_json of a window with
 * n_bins bins (hr_swing_rec_t.n_bins), NUL included. */
#define HR_SWING_SPECTRUM_JSON_BYTES(n_bins) (512 + 24 * (size_t)(n_bins))

/* Writes the power-envelope spectrum of an HR_REC_SWING record (its
 * spectrum_w, valid during the record callback) as one JSON object
 * {"type":"swing_spectrum",...} (no newline) into buf; docs/formats.md.
 *   device_id : as hr_record_json;
 *   buf, len  : output, len >= HR_SWING_SPECTRUM_JSON_BYTES(rec->u.swing.n_bins)
 *               always suffices.
 * Returns HR_OK, HR_ERR_INVALID_ARG (not a swing record, no spectrum, bad
 * device_id) or HR_ERR_FULL as hr_record_json. */
HR_API int hr_swing_spectrum_json(const hr_record_t *rec, const char *device_id, char *buf,
                                  size_t len, size_t *n_written);

/* Formats t_ns (ns since the Unix epoch, UTC) as RFC 3339 with nanoseconds,
 * e.g. "2026-11-22T03:00:00.000000000Z", into buf (len >= 32).
 * Returns HR_OK or HR_ERR_INVALID_ARG. */
HR_API int hr_time_rfc3339(int64_t t_ns, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
