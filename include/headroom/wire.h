/* headroom: encodings of measurement records.
 *
 * JSON form: one object per record, fields with units in their names (see
 * docs/formats.md, "JSON Lines records").  Numbers are written with 10
 * significant digits; NaN or infinite values become null.
 *
 * PowerMeasurement: the µPMU-for-Compute draft's protobuf message
 * (proto/power_measurement.proto), as bytes and in its proto3-JSON form
 * (docs/formats.md, "PowerMeasurement (protobuf)"); below. */
#ifndef HEADROOM_WIRE_H
#define HEADROOM_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "headroom/error.h"
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

/* ---- PowerMeasurement (protobuf) -----------------------------------------
 * The µPMU-for-Compute draft's PowerMeasurement message, with headroom's
 * additions (proto/power_measurement.proto; docs/formats.md,
 * "PowerMeasurement (protobuf)").  hr_pm_t is the message as a plain C
 * value: no pointers, no allocation, so a caller can keep one per meter.
 *
 * Presence: a double member that is NaN is absent from the message (and a
 * NaN read from the wire reads as absent); sag_detected/swell_detected are
 * -1 when absent.  timestamp_ns, device_id, kind, flags and duration_ns are
 * always written (an absent one decodes as 0 or ""). */

#define HR_PM_MAX_PHASES 3     /* phases in a message, at most */
#define HR_PM_MAX_HARMONICS 50 /* harmonic orders 1..50, at most */
#define HR_PM_DEVICE_ID_MAX 64 /* bytes of device_id, at most */
/* The largest message hr_pm_encode writes [bytes], and with its length
 * prefix (hr_pm_encode_delimited). */
#define HR_PM_ENCODED_MAX 4096
#define HR_PM_DELIMITED_MAX (HR_PM_ENCODED_MAX + 10)
/* The largest message hr_pm_decode accepts [bytes]: a longer one is refused
 * before it is parsed (HR_ERR_RANGE). */
#define HR_PM_DECODE_MAX 65536
/* Largest JSON text hr_pm_json can produce, NUL included. */
#define HR_PM_JSON_MAX 32768

typedef struct hr_pm_phase {
  /* the draft's PhaseData: [V], [A], [W], [var] (fundamental Q1, IEEE 1459),
   * [VA], P/S */
  double voltage_rms, current_rms, power_active, power_reactive, power_apparent, power_factor;
  /* headroom additions: [V], [A], THDS [%], [%] */
  double voltage_peak, current_peak, thd_voltage, thd_current;
  int n_voltage_harmonics, n_current_harmonics;  /* 0..HR_PM_MAX_HARMONICS */
  double voltage_harmonics[HR_PM_MAX_HARMONICS]; /* subgroup RMS, index 0 = order 1 [V] */
  double current_harmonics[HR_PM_MAX_HARMONICS]; /* [A] */
} hr_pm_phase_t;

typedef struct hr_pm_event {
  int type;  /* hr_event_type_t; other values pass through decode */
  int ended; /* 0 or 1 */
  uint32_t channels;
  int64_t start_ns, duration_ns;
  double extreme, depth_pct, delta, from_value; /* as hr_event_rec_t (from_value: from) */
  int32_t alarm_index;
} hr_pm_event_t;

typedef struct hr_pm {
  int64_t timestamp_ns;                    /* [ns since the Unix epoch] */
  char device_id[HR_PM_DEVICE_ID_MAX + 1]; /* UTF-8, NUL-terminated */
  int n_phases;                            /* 0..HR_PM_MAX_PHASES */
  hr_pm_phase_t phases[HR_PM_MAX_PHASES];
  struct {
    double thd_voltage, thd_current; /* [%] */
    int n_harmonics;                 /* 0..HR_PM_MAX_HARMONICS */
    double harmonics[HR_PM_MAX_HARMONICS];
    double frequency;                 /* [Hz] */
    int sag_detected, swell_detected; /* -1 absent, 0, 1 */
  } pq;
  struct {
    double dp_dt;       /* [MW/s], the draft's unit */
    double peak_factor; /* peak / RMS */
    double load_factor; /* average / peak */
    double power_trend; /* linear-regression slope */
  } features;
  /* headroom additions */
  int kind; /* hr_rec_kind_t, 0: unspecified; other values pass through decode */
  uint32_t flags;
  int64_t duration_ns;
  double power_total, apparent_power_total, power_factor_total; /* [W], [VA], P/Se */
  double current_neutral_rms, current_peak;                     /* [A], [A] */
  int has_event;
  hr_pm_event_t event;
} hr_pm_t;

/* Sets every field absent (NaN, -1, 0, ""). */
HR_API void hr_pm_init(hr_pm_t *pm);

/* Fills pm from one engine record (docs/formats.md says which record fills
 * which field).  rec->u.harm.detail, when present, adds the per-phase
 * powers and harmonics of an HR_REC_HARM record.  device_id as
 * hr_record_json (NULL: ""; printable ASCII without quote or backslash, at
 * most 64 bytes).  Returns HR_OK or HR_ERR_INVALID_ARG. */
HR_API int hr_pm_from_record(const hr_record_t *rec, const char *device_id, hr_pm_t *pm);

/* The Features the engine computes in no single record: load_factor and
 * power_trend of an HR_REC_INTERVAL record, from the 1-ms records
 * (HR_REC_MS) inside its window.  One per meter, fed every record in the
 * order the meter produced them; a plain value (no allocation), about
 * 24 KB. */
#define HR_PM_TREND_LEN                                                                            \
  1024 /* 1-ms records remembered: 1.024 s, more than                                              \
          the longest interval window (12 cycles at                                                \
          the lowest tracked frequency) */
typedef struct hr_pm_trend {
  int64_t t_end_ns[HR_PM_TREND_LEN]; /* end of each remembered 1-ms record */
  double p_w[HR_PM_TREND_LEN];       /* its p_total_w [W] */
  uint64_t n;                        /* 1-ms records seen */
} hr_pm_trend_t;

/* Empties t. */
HR_API void hr_pm_trend_init(hr_pm_trend_t *t);

/* Feeds rec to t and, for an HR_REC_INTERVAL record, sets in pm (filled
 * from rec by hr_pm_from_record) over the 1-ms records that ended inside
 * the window [t_ns, t_ns + dur_ns] and came before rec:
 *   features.load_factor = mean P / max P (absent when max P <= 0 or no
 *                          1-ms record fell in the window);
 *   features.power_trend = least-squares slope of P against the records'
 *                          end times [MW/s, dp_dt's unit] (absent with
 *                          fewer than 2).
 * Other records only feed t (pm may then be NULL).  Returns HR_OK or
 * HR_ERR_INVALID_ARG. */
HR_API int hr_pm_trend_apply(hr_pm_trend_t *t, const hr_record_t *rec, hr_pm_t *pm);

/* Encodes pm as one PowerMeasurement message into buf; len >=
 * HR_PM_ENCODED_MAX always suffices.  Does not allocate.  Returns HR_OK,
 * HR_ERR_INVALID_ARG (NULL, or counts/device_id out of range) or HR_ERR_FULL
 * (len too small; nothing written). */
HR_API int hr_pm_encode(const hr_pm_t *pm, uint8_t *buf, size_t len, size_t *n_written);

/* As hr_pm_encode, preceded by the message's length as a base-128 varint
 * (the framing of protobuf's writeDelimitedTo / parseDelimitedFrom);
 * len >= HR_PM_DELIMITED_MAX always suffices. */
HR_API int hr_pm_encode_delimited(const hr_pm_t *pm, uint8_t *buf, size_t len, size_t *n_written);

/* Decodes one PowerMeasurement message of len bytes into pm.  Returns HR_OK,
 * HR_ERR_INVALID_ARG (NULL), HR_ERR_RANGE (longer than HR_PM_DECODE_MAX, more
 * than HR_PM_MAX_PHASES phases or HR_PM_MAX_HARMONICS harmonics, device_id
 * over HR_PM_DEVICE_ID_MAX bytes) or HR_ERR_PARSE (not a valid message, or
 * a device_id that is not UTF-8); diag (may be NULL) names the field path
 * ("phases[1].current_harmonics") and, for a message that is not valid
 * protobuf, the byte offset of the fault.  pm is fully written on success
 * only. */
HR_API int hr_pm_decode(const uint8_t *buf, size_t len, hr_pm_t *pm, hr_diag_t *diag);

/* Finds the next length-delimited message at the start of buf (len bytes
 * available): *msg_off is where it starts (after the varint), *msg_len its
 * length.  Returns HR_OK; HR_ERR_TRUNCATED when buf holds only part of the
 * prefix or the message (read more and call again); HR_ERR_PARSE for a
 * prefix longer than 10 bytes; HR_ERR_RANGE for a length over
 * HR_PM_DECODE_MAX.  diag (may be NULL) says which. */
HR_API int hr_pm_frame(const uint8_t *buf, size_t len, size_t *msg_off, size_t *msg_len,
                       hr_diag_t *diag);

/* Writes pm as one JSON object (no newline) with the message's own field
 * names, in the proto3 JSON mapping (int64 as decimal strings, enums by
 * name, absent fields left out, infinities as "Infinity"; numbers with 17
 * significant digits, so they read back exactly); docs/formats.md.  len >=
 * HR_PM_JSON_MAX always suffices.  Returns HR_OK, HR_ERR_INVALID_ARG or
 * HR_ERR_FULL (a truncated, NUL-terminated prefix). */
HR_API int hr_pm_json(const hr_pm_t *pm, char *buf, size_t len, size_t *n_written);

#ifdef __cplusplus
}
#endif
#endif
