/* headroom: internals of the sample-stream reader (src/io/reader*.c).  Not
 * installed; nothing here is part of the public API. */
#ifndef HR_IO_READER_INT_H
#define HR_IO_READER_INT_H

#include <stddef.h>
#include <stdint.h>

#include "headroom/reader.h"

/* The CSV line buffer holds one line without its LF: at most
 * HR_READER_MAX_LINE_BYTES of content, one CR, and a NUL the parser adds. */
#define HR__IO_LINE_CAP (HR_READER_MAX_LINE_BYTES + 1)

struct hr_reader {
  hr_reader_cfg_t cfg;
  int sample_bytes; /* raw formats: 4 or 2; 0 for CSV */
  int frame_bytes;  /* raw formats: sample_bytes * n_channels */
  int finished;     /* hr_reader_finish was called */
  int failed;       /* a final error is stored in err */
  /* The last error without its source (hr_reader_diag adds name); its
   * skipped, channel, frame and leftover facts are in st.err_*. */
  hr_diag_t err;
  char name[HR_DIAG_SOURCE_BYTES]; /* hr_reader_cfg_t.name, copied */
  hr_reader_stats_t st;

  /* Raw formats: the bytes of an incomplete frame carried to the next push. */
  unsigned char pend[HR_MAX_CH * 4];
  size_t n_pend;

  /* CSV: the current incomplete line, where it started, and what is known. */
  char line[HR__IO_LINE_CAP + 1];
  size_t n_line;
  uint64_t line_start; /* stream offset of the line's first byte */
  int discarding;      /* dropping the rest of an over-long line (skip mode) */
  int seen_first_line; /* the header decision has been made */
};

/* Records an error in r->err (message from a printf format, without the
 * place: line, column and offset are members) and the decoding facts in
 * r->st.err_*, and returns code.  The error becomes final unless skipped is
 * non-zero. */
int hr__io_fail(hr_reader_t *r, int code, int skipped, uint64_t offset_bytes, uint64_t line,
                int column, int channel, uint64_t leftover_bytes, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 9, 10)))
#endif
    ;

/* Updates the non-finite counters for one decoded frame (before st.frames is
 * incremented). */
void hr__io_count_nonfinite(hr_reader_t *r, const float *frame);

/* CSV decoding (reader_csv.c); same contracts as hr_reader_push/finish, with
 * the arguments already checked and the outputs zeroed. */
int hr__io_csv_push(hr_reader_t *r, const unsigned char *in, size_t n, float *frames,
                    size_t max_frames, size_t *n_frames, size_t *n_used);
int hr__io_csv_finish(hr_reader_t *r, float *frames, size_t *n_frames);

#endif
