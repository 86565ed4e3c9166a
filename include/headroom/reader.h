/* headroom: the sample-stream reader, a push-style decoder for `headroom meter`.
 *
 * The caller feeds byte chunks of any size (from a file, a pipe, stdin) and
 * gets interleaved float32 frames back: n_channels values per frame, in the
 * order of headroom/layout.h.  The result does not depend on how the input was
 * chunked: a value or a line split across two chunks decodes exactly as if it
 * had come in one piece, and errors are reported at the same place.
 *
 * Formats (docs/formats.md, "Input sample formats"):
 *   HR_FMT_F32LE : raw interleaved little-endian IEEE-754 float32 values.
 *   HR_FMT_I16LE : raw interleaved little-endian int16 codes; value =
 *                  code * scale[ch] + offset[ch].  Codes at full scale (-32768
 *                  or +32767) are counted as clipped.
 *   HR_FMT_CSV   : one frame per line; fields separated by a comma and/or
 *                  spaces and tabs; optional header line; optional leading
 *                  columns to skip (a time column); CRLF, blank lines and '#'
 *                  comment lines tolerated; numbers parsed like strtod in the C
 *                  locale, strictly (the whole field must be a number); "nan"
 *                  and "inf" pass through as NaN and Inf and are counted.
 *
 * Typical use:
 *
 *   hr_reader_cfg_t cfg;
 *   hr_reader_cfg_init(&cfg, HR_FMT_CSV, 7);
 *   hr_reader_t *r;
 *   if (hr_reader_create(&cfg, &r) != HR_OK) ...;
 *   while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
 *     for (size_t off = 0; off < n;) {
 *       size_t nf, used;
 *       int rc = hr_reader_push(r, buf + off, n - off, frames, MAXF, &nf, &used);
 *       off += used;
 *       consume(frames, nf);             // always, even when rc < 0
 *       if (rc < 0 && !hr_reader_stats(r)->err_skipped) fail(r);  // hr_reader_diag
 *     }
 *   }
 *   rc = hr_reader_finish(r, frames, MAXF, &nf);   // last CSV line, truncation
 *   consume(frames, nf);
 *   hr_reader_destroy(r);
 *
 * Memory: hr_reader_create allocates the reader once; push, finish and reset
 * never allocate.  A reader is not thread-safe; different readers are
 * independent. */
#ifndef HEADROOM_READER_H
#define HEADROOM_READER_H

#include <stddef.h>
#include <stdint.h>

#include "headroom/error.h"
#include "headroom/export.h"
#include "headroom/layout.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Longest CSV line accepted [bytes], not counting the CR/LF line end. */
#define HR_READER_MAX_LINE_BYTES 4096
/* Most leading CSV columns that can be skipped. */
#define HR_READER_MAX_SKIP_COLUMNS 64
/* Longest field text quoted in an error message [bytes]; longer text is cut
 * and ends with "...". */
#define HR_READER_MSG_FIELD_BYTES 40

typedef enum hr_sample_format {
  HR_FMT_F32LE = 1, /* raw little-endian float32, 4 bytes per value */
  HR_FMT_I16LE = 2, /* raw little-endian int16 codes, 2 bytes per value */
  HR_FMT_CSV = 3    /* text, one frame per line */
} hr_sample_format_t;

/* Reader configuration.  Fill it with hr_reader_cfg_init, then change what
 * differs; the reader copies it at creation. */
typedef struct hr_reader_cfg {
  hr_sample_format_t format;
  /* Values per frame, 1 <= n_channels <= HR_MAX_CH. */
  int n_channels;
  /* HR_FMT_I16LE only: value = code * scale[ch] + offset[ch], in the channel's
   * unit (V or A).  scale [unit per code] must be finite and non-zero, offset
   * [unit] finite, and both full-scale values must fit in a float32.  Ignored
   * by the other formats.  Default 1 and 0. */
  double scale[HR_MAX_CH];
  double offset[HR_MAX_CH];
  /* HR_FMT_CSV only: -1 auto (the first non-blank, non-comment line is a
   * header when none of its fields is a number), 0 no header, 1 that line is
   * a header whatever it holds.  A header line is skipped, not checked.
   * Default -1. */
  int csv_header;
  /* HR_FMT_CSV only: leading fields of every data line that are ignored (for
   * example a time column), 0 <= csv_skip_columns <= HR_READER_MAX_SKIP_COLUMNS.
   * A data line has exactly csv_skip_columns + n_channels fields.  Default 0. */
  int csv_skip_columns;
  /* HR_FMT_CSV only: 0 (default) stops at the first bad line; the error is
   * final.  Non-zero skips bad lines: each one is still reported once (push or
   * finish returns its error, with hr_reader_stats()->err_skipped == 1), is
   * counted in hr_reader_stats_t.skipped_lines, produces no frame, and the
   * next push goes on with the following line. */
  int skip_bad_lines;
  /* The stream's name for diagnostics (a file name, "stdin"): hr_reader_diag
   * puts it in hr_diag_t.source.  Borrowed during hr_reader_create, which
   * copies it (cut to HR_DIAG_SOURCE_BYTES - 1 bytes).  Default NULL: "". */
  const char *name;
} hr_reader_cfg_t;

/* Running counters.  Read them with hr_reader_stats. */
typedef struct hr_reader_stats {
  uint64_t frames;        /* frames delivered so far */
  uint64_t bytes;         /* input bytes consumed so far */
  uint64_t lines;         /* CSV: complete lines read (incl. blank/comment/header) */
  uint64_t header_lines;  /* CSV: header lines skipped (0 or 1) */
  uint64_t comment_lines; /* CSV: blank and '#' comment lines */
  uint64_t skipped_lines; /* CSV: bad lines dropped because of skip_bad_lines */
  /* HR_FMT_I16LE: samples at code -32768 or +32767, per channel, and the
   * index of the first frame where one occurred (-1: none yet). */
  uint64_t clipped[HR_MAX_CH];
  int64_t first_clip_frame[HR_MAX_CH];
  /* HR_FMT_I16LE: the values [unit] decoded from the full-scale codes; lower
   * and higher of the two (a negative scale swaps them).  A sample equal to
   * either is clipped.  -inf and +inf for the other formats. */
  float clip_lo[HR_MAX_CH];
  float clip_hi[HR_MAX_CH];
  /* Values that are NaN or +/-Inf (CSV "nan"/"inf", or such float32 bit
   * patterns), per channel, and the index of the first frame with one
   * (-1: none yet). */
  uint64_t nonfinite[HR_MAX_CH];
  int64_t first_nonfinite_frame[HR_MAX_CH];
  /* The last error's facts that are about the decoding rather than where or
   * why (hr_reader_diag has those); 0 (channel -1) while there was none. */
  int err_skipped;             /* 1: skip_bad_lines dropped the bad line and the
                                * reader goes on with the next push; 0: the
                                * error is final, every later push and finish
                                * returns the same code and changes nothing */
  int err_channel;             /* 0-based channel of the bad value, -1 when not
                                * about one channel (line errors, skipped
                                * columns) */
  uint64_t err_frame;          /* index of the frame that could not be decoded:
                                * the frames delivered before the error */
  uint64_t err_leftover_bytes; /* HR_ERR_TRUNCATED: bytes of the incomplete raw
                                * frame or CSV line; 0 otherwise */
} hr_reader_stats_t;

typedef struct hr_reader hr_reader_t;

/* Fills *cfg with the defaults for a format: scale 1, offset 0, CSV header
 * auto-detected, no skipped columns, stop at the first bad line.
 *   cfg        : written; borrowed for the call.
 *   format     : one of hr_sample_format_t.
 *   n_channels : values per frame, 1 <= n_channels <= HR_MAX_CH.
 * Returns HR_OK, or HR_ERR_INVALID_ARG (cfg NULL, bad format or count; *cfg is
 * still filled with the defaults when cfg is not NULL). */
HR_API int hr_reader_cfg_init(hr_reader_cfg_t *cfg, hr_sample_format_t format, int n_channels);

/* Creates a reader.
 *   cfg : borrowed for the call; copied.
 *   out : receives the reader, owned by the caller and released with
 *         hr_reader_destroy; written only on success.
 * Returns HR_OK, HR_ERR_INVALID_ARG (NULL argument, unknown format, n_channels
 * out of range, csv_header not -1/0/1, csv_skip_columns out of range, scale or
 * offset not finite or scale zero), HR_ERR_RANGE (a full-scale i16 value does
 * not fit in a float32) or HR_ERR_NOMEM. */
HR_API int hr_reader_create(const hr_reader_cfg_t *cfg, hr_reader_t **out);

/* Releases a reader.  NULL is allowed and does nothing. */
HR_API void hr_reader_destroy(hr_reader_t *r);

/* Returns a reader to its state right after creation (a new stream: offsets,
 * lines, counters and the error start again from zero), keeping its
 * configuration.  NULL does nothing. */
HR_API void hr_reader_reset(hr_reader_t *r);

/* Decodes a chunk of the stream.
 *   bytes        : n_bytes of input, borrowed for the call; may be NULL only
 *                  when n_bytes == 0.
 *   frames       : output, max_frames * n_channels floats, interleaved.
 *   max_frames   : frames that fit in `frames`; >= 1 when n_bytes > 0.
 *   n_frames     : receives the number of frames written (0..max_frames).
 *   n_bytes_used : receives the number of input bytes consumed (0..n_bytes).
 * Decodes until all input is consumed, the output is full, or an error.  An
 * incomplete value, frame or line at the end is kept inside the reader and
 * completed by the next push (or reported by hr_reader_finish).  When
 * *n_bytes_used < n_bytes and the call succeeded, the output was full: use the
 * frames and push the rest again (bytes + *n_bytes_used).  Each call with
 * n_bytes > 0 consumes at least one byte unless it returns a final error.
 * On an error the frames decoded before it are in `frames` and counted in
 * *n_frames: nothing accepted is lost.  Bytes are consumed through the end of
 * the bad line (or, for an over-long line, through the byte that made it too
 * long; the rest of it is dropped by later pushes when skipping).
 * Returns HR_OK, an error listed at hr_reader_diag (details
 * there; final unless hr_reader_stats()->err_skipped), HR_ERR_INVALID_ARG (a NULL
 * pointer, max_frames 0 with input; nothing is changed) or HR_ERR_STATE (after
 * hr_reader_finish). */
HR_API int hr_reader_push(hr_reader_t *r, const void *bytes, size_t n_bytes, float *frames,
                          size_t max_frames, size_t *n_frames, size_t *n_bytes_used);

/* Ends the stream: decodes a last CSV line that has no newline (at most one
 * frame) and reports input that ends inside a raw frame.
 *   frames     : output for up to max_frames frames; max_frames >= 1.
 *   n_frames   : receives 0 or 1.
 * Returns HR_OK, HR_ERR_TRUNCATED (raw input ends inside a frame: offset of
 * that frame and err_leftover_bytes in hr_reader_stats; or the last CSV line has
 * too few fields), another error of the last CSV line (as push), the final
 * error of an earlier call again, HR_ERR_INVALID_ARG or HR_ERR_STATE (called
 * twice).  Afterwards only hr_reader_reset or hr_reader_destroy are useful. */
HR_API int hr_reader_finish(hr_reader_t *r, float *frames, size_t max_frames, size_t *n_frames);

/* Where and why the last push or finish failed, in the one diagnostic shape
 * of the library: push and finish keep their signatures (they run per block,
 * and a skipped CSV line is not the end of the stream), and this accessor
 * copies the reader's last error into *out (out may be NULL):
 *   code    HR_OK while nothing went wrong, else what the failing call
 *           returned: HR_ERR_TRUNCATED (raw input ends inside a frame, or the
 *           last CSV line, without a newline, has too few fields),
 *           HR_ERR_CHANNELS (a CSV line has the wrong number of fields),
 *           HR_ERR_PARSE (a CSV field is not a number, or a line is too
 *           long), HR_ERR_RANGE (a CSV number does not fit in a float32);
 *   source  hr_reader_cfg_t.name;
 *   offset  stream byte offset (0-based, from the first byte ever pushed) of
 *           the start of the problem: the incomplete frame (raw), the field,
 *           or the line when the problem is not about one field (CSV);
 *           has_offset is 1 on every error;
 *   line    CSV: 1-based physical line (blank, comment and header lines
 *           count); 0 for raw formats;
 *   column  CSV: 1-based field number on the line, skipped columns included
 *           (what a spreadsheet shows); 0 when not about one field;
 *   field   "" (the column says which field; a stream has no member names);
 *   message one sentence without the place, "'abc' is not a number".
 * hr_diag_format gives "capture.csv:12:3: 'abc' is not a number" or
 * "capture.bin:byte 84: input ends inside frame 3, ...".  Whether the error
 * was skipped, its channel and leftover bytes are in hr_reader_stats.
 * Returns the code; HR_ERR_INVALID_ARG (out cleared) for a NULL reader. */
HR_API int hr_reader_diag(const hr_reader_t *r, hr_diag_t *out);

/* Returns the running counters.  Borrowed: valid until the reader is
 * destroyed; updated by push, finish and reset.  Never NULL for a non-NULL
 * reader. */
HR_API const hr_reader_stats_t *hr_reader_stats(const hr_reader_t *r);

/* Parses a format name: "f32le", "i16le" or "csv" (case-insensitive).
 * Returns HR_OK, HR_ERR_INVALID_ARG (NULL) or HR_ERR_PARSE; *out is written
 * only on success. */
HR_API int hr_sample_format_parse(const char *name, hr_sample_format_t *out);

/* Returns the static lower-case name of a format ("f32le"), or "unknown". */
HR_API const char *hr_sample_format_name(hr_sample_format_t format);

/* Bytes per value of a raw format (4 or 2); 0 for CSV or unknown formats. */
HR_API int hr_sample_format_bytes(hr_sample_format_t format);

#ifdef __cplusplus
}
#endif
#endif
