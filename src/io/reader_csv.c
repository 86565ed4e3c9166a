/* headroom: the CSV part of the sample-stream reader.
 *
 * Bytes are gathered into a fixed line buffer up to each LF; a complete line
 * is then split into fields and parsed.  Nothing depends on where the chunks
 * of the stream begin or end: the buffer carries a partial line over, and
 * every decision is taken at a stream position (an LF, or the byte that makes
 * a line too long). */
#ifndef _POSIX_C_SOURCE
#endif

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "headroom/error.h"
#include "headroom/reader.h"
#include "core/core.h"
#include "io/reader_int.h"

/* Fields a line may have that are remembered (positions); more are only
 * counted, since such a line is rejected anyway. */
#define MAX_FIELDS (HR_READER_MAX_SKIP_COLUMNS + HR_MAX_CH)

typedef struct field {
  size_t at;  /* index in the line buffer */
  size_t len; /* bytes */
} field_t;

static int is_blank(char c)
{
  return c == ' ' || c == '\t';
}

static int is_sep(char c)
{
  return c == ',' || c == ' ' || c == '\t';
}

/* Splits line[start, len) into fields: separators are a comma and/or runs of
 * spaces and tabs; leading and trailing blanks are ignored; two commas, or a
 * comma at either end, delimit an empty field.  Returns the number of fields;
 * the first MAX_FIELDS are stored in f. */
static size_t split(const char *line, size_t start, size_t len, field_t *f)
{
  size_t i = start, n = 0;
  while (i < len && is_blank(line[i]))
    i++;
  if (i == len)
    return 0;
  for (;;) {
    size_t fs = i;
    while (i < len && !is_sep(line[i]))
      i++;
    if (n < MAX_FIELDS) {
      f[n].at = fs;
      f[n].len = i - fs;
    }
    n++;
    while (i < len && is_blank(line[i]))
      i++;
    if (i == len)
      break;
    if (line[i] == ',') {
      i++;
      while (i < len && is_blank(line[i]))
        i++;
    }
  }
  return n;
}

/* Parses a field as a number.  The field must be NUL-terminated in place.
 * Returns 1 and *out for a number that fits in a float32 (NaN and Inf
 * included), 0 for text that is not a number, -1 for a number out of the
 * float32 range. */
static int parse_number(const char *s, size_t len, float *out)
{
  if (len == 0)
    return 0;
  /* strtof skips leading white space and accepts a sign; fields have no
   * blanks, but a stray CR, VT or FF must not be skipped silently. */
  if (!((s[0] >= '0' && s[0] <= '9') || s[0] == '+' || s[0] == '-' || s[0] == '.' || s[0] == 'n' ||
        s[0] == 'N' || s[0] == 'i' || s[0] == 'I'))
    return 0;
  int saved = errno;
  errno = 0;
  char *end;
  float v = hr__num_parsef(s, &end);
  int range = errno == ERANGE;
  errno = saved;
  if (end != s + len)
    return 0;
  /* ERANGE with a huge result is overflow; with a tiny one it is underflow to
   * a subnormal or zero, which is a faithful value. */
  if (range && isinf(v))
    return -1;
  *out = v;
  return 1;
}

/* Copies a field into buf for an error message, quoted by the caller:
 * non-printable bytes become \xNN, and text longer than
 * HR_READER_MSG_FIELD_BYTES is cut and ends with "...". */
static const char *field_text(const char *s, size_t len, char *buf, size_t cap)
{
  static const char hex[] = "0123456789abcdef";
  size_t o = 0, i = 0;
  for (; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    size_t w = (c < 0x20 || c >= 0x7f || c == '\\') ? 4 : 1;
    if (o + w > HR_READER_MSG_FIELD_BYTES || o + w + 4 > cap)
      break;
    if (w == 1) {
      buf[o++] = (char)c;
    } else {
      buf[o++] = '\\';
      buf[o++] = 'x';
      buf[o++] = hex[c >> 4];
      buf[o++] = hex[c & 15];
    }
  }
  if (i < len) {
    memcpy(buf + o, "...", 3);
    o += 3;
  }
  buf[o] = '\0';
  return buf;
}

/* Handles one complete line (r->line[0, r->n_line), LF removed).  at_eof: the
 * line is the last one and had no LF.  Writes at most one frame to out and
 * sets *produced.  Returns HR_OK or an error (recorded by hr__io_fail). */
static int process_line(hr_reader_t *r, float *out, int *produced, int at_eof)
{
  const uint64_t lineno = r->st.lines + 1;
  const int skip = r->cfg.skip_bad_lines != 0;
  const int nch = r->cfg.n_channels;
  const size_t expected = (size_t)(r->cfg.csv_skip_columns + nch);
  char *line = r->line;
  size_t len = r->n_line;
  *produced = 0;

  if (len > 0 && line[len - 1] == '\r')
    len--;
  if (len > HR_READER_MAX_LINE_BYTES) {
    if (skip)
      r->st.skipped_lines++;
    return hr__io_fail(r, HR_ERR_PARSE, skip, r->line_start, lineno, 0, -1, 0,
                       "longer than the %d-byte maximum", HR_READER_MAX_LINE_BYTES);
  }
  size_t start = 0;
  if (lineno == 1 && len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0)
    start = 3; /* UTF-8 byte-order mark written by spreadsheet programs */

  field_t f[MAX_FIELDS];
  size_t nf = split(line, start, len, f);
  if (nf == 0 || line[f[0].at] == '#') {
    r->st.comment_lines++;
    return HR_OK;
  }
  /* Terminate the stored fields in place: each is followed by a separator or
   * the line end, and the buffer has room for a NUL after the content. */
  size_t nstored = nf < MAX_FIELDS ? nf : MAX_FIELDS;
  for (size_t k = 0; k < nstored; k++)
    line[f[k].at + f[k].len] = '\0';

  if (!r->seen_first_line) {
    r->seen_first_line = 1;
    int header = r->cfg.csv_header == 1;
    if (r->cfg.csv_header == -1) {
      /* Auto: a header line has no field that reads as a number.  Lines too
       * wide to store are judged on their stored fields. */
      header = 1;
      for (size_t k = 0; k < nstored && header; k++) {
        float v;
        if (parse_number(line + f[k].at, f[k].len, &v) != 0)
          header = 0;
      }
    }
    if (header) {
      r->st.header_lines++;
      return HR_OK;
    }
  }

  char txt[HR_READER_MSG_FIELD_BYTES + 8];
  if (nf != expected) {
    char detail[64] = "";
    if (r->cfg.csv_skip_columns > 0)
      snprintf(detail, sizeof detail, " (%d skipped + %d channels)", r->cfg.csv_skip_columns, nch);
    if (skip)
      r->st.skipped_lines++;
    if (at_eof && nf < expected)
      return hr__io_fail(r, HR_ERR_TRUNCATED, skip, r->line_start, lineno, 0, -1, r->n_line,
                         "input ends inside the line, %zu fields, expected %zu%s", nf, expected,
                         detail);
    return hr__io_fail(r, HR_ERR_CHANNELS, skip, r->line_start, lineno, 0, -1, 0,
                       "%zu fields, expected %zu%s", nf, expected, detail);
  }
  for (int ch = 0; ch < nch; ch++) {
    const field_t *fk = &f[r->cfg.csv_skip_columns + ch];
    const int column = r->cfg.csv_skip_columns + ch + 1;
    const char *s = line + fk->at;
    int ok = parse_number(s, fk->len, &out[ch]);
    if (ok == 1)
      continue;
    if (skip)
      r->st.skipped_lines++;
    uint64_t at = r->line_start + fk->at;
    if (fk->len == 0)
      return hr__io_fail(r, HR_ERR_PARSE, skip, at, lineno, column, ch, 0,
                         "empty field, expected a number");
    field_text(s, fk->len, txt, sizeof txt);
    if (ok < 0)
      return hr__io_fail(r, HR_ERR_RANGE, skip, at, lineno, column, ch, 0,
                         "'%s' is out of the float32 range", txt);
    return hr__io_fail(r, HR_ERR_PARSE, skip, at, lineno, column, ch, 0, "'%s' is not a number",
                       txt);
  }
  hr__io_count_nonfinite(r, out);
  r->st.frames++;
  *produced = 1;
  return HR_OK;
}

/* Ends the current line: counts it and moves the line start past its LF. */
static void end_line(hr_reader_t *r, uint64_t next_line_start)
{
  r->st.lines++;
  r->n_line = 0;
  r->line_start = next_line_start;
}

static int csv_push(hr_reader_t *r, const unsigned char *in, size_t n, float *frames,
                    size_t max_frames, size_t *n_frames, size_t *n_used)
{
  const size_t nch = (size_t)r->cfg.n_channels;
  const uint64_t base = r->st.bytes;
  size_t pos = 0, nout = 0;
  int rc = HR_OK;
  while (pos < n) {
    const unsigned char *nl = memchr(in + pos, '\n', n - pos);
    size_t seg = nl ? (size_t)(nl - (in + pos)) : n - pos;
    if (r->discarding) {
      /* The rest of an over-long line that was reported and skipped. */
      pos += seg;
      if (!nl)
        break;
      pos++;
      r->discarding = 0;
      end_line(r, base + pos);
      continue;
    }
    size_t room = HR__IO_LINE_CAP - r->n_line;
    if (seg > room) {
      /* The byte after `room` makes the line longer than any accepted line
       * (even one ending in CR).  Report it there, whatever the chunking. */
      memcpy(r->line + r->n_line, in + pos, room);
      pos += room + 1;
      uint64_t lineno = r->st.lines + 1;
      int skip = r->cfg.skip_bad_lines != 0;
      if (skip) {
        r->st.skipped_lines++;
        r->discarding = 1;
        r->n_line = 0;
      }
      rc = hr__io_fail(r, HR_ERR_PARSE, skip, r->line_start, lineno, 0, -1, 0,
                       "longer than the %d-byte maximum", HR_READER_MAX_LINE_BYTES);
      break;
    }
    memcpy(r->line + r->n_line, in + pos, seg);
    r->n_line += seg;
    pos += seg;
    if (!nl)
      break;
    if (nout == max_frames)
      break; /* the line may need an output slot; keep it for the next push */
    pos++;   /* the LF */
    int produced;
    rc = process_line(r, frames + nout * nch, &produced, 0);
    nout += (size_t)produced;
    end_line(r, base + pos);
    if (rc != HR_OK)
      break;
  }
  r->st.bytes = base + pos;
  *n_frames = nout;
  *n_used = pos;
  return rc;
}

int hr__io_csv_push(hr_reader_t *r, const unsigned char *in, size_t n, float *frames,
                    size_t max_frames, size_t *n_frames, size_t *n_used)
{
  return csv_push(r, in, n, frames, max_frames, n_frames, n_used);
}

int hr__io_csv_finish(hr_reader_t *r, float *frames, size_t *n_frames)
{
  if (r->discarding || r->n_line == 0)
    return HR_OK;
  int produced;
  int rc = process_line(r, frames, &produced, 1);
  *n_frames = (size_t)produced;
  end_line(r, r->st.bytes);
  return rc;
}
