/* The shared layer: diagnostics, the bounded file reader, the growable
 * buffer and enum name tables (see core.h); numbers are in core_num.c. */
#define _POSIX_C_SOURCE 200809L /* fileno, the POSIX strerror_r */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/core.h"

/* ---- diagnostics ---------------------------------------------------------- */

static void copy_text(char *dst, size_t cap, const char *src)
{
  size_t n = strlen(src);
  if (n >= cap)
    n = cap - 1;
  memcpy(dst, src, n);
  dst[n] = '\0';
}

void hr__diag_begin(hr_diag_t *d, const char *source)
{
  if (!d)
    return;
  memset(d, 0, sizeof *d);
  if (source)
    copy_text(d->source, sizeof d->source, source);
}

int hr__diag_vfail(hr_diag_t *d, int code, long line, long column, const char *field,
                   const char *fmt, va_list ap)
{
  if (!d)
    return code;
  d->code = code;
  d->line = line;
  d->column = column;
  if (field)
    copy_text(d->field, sizeof d->field, field);
  if (fmt)
    vsnprintf(d->message, sizeof d->message, fmt, ap);
  else
    copy_text(d->message, sizeof d->message, hr_strerror(code));
  return code;
}

int hr__diag_fail(hr_diag_t *d, int code, long line, long column, const char *field,
                  const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int rc = hr__diag_vfail(d, code, line, column, field, fmt, ap);
  va_end(ap);
  return rc;
}

int hr_diag_format(const hr_diag_t *d, char *buf, size_t len)
{
  if (!d)
    return snprintf(buf, len, "unknown error");
  char place[96] = "";
  if (d->line > 0 && d->column > 0)
    snprintf(place, sizeof place, "%ld:%ld", d->line, d->column);
  else if (d->line > 0)
    snprintf(place, sizeof place, "%ld", d->line);
  else if (d->has_offset)
    snprintf(place, sizeof place, "byte %" PRIu64, d->offset);
  const char *msg = d->message[0] ? d->message : hr_strerror(d->code);
  const char *src = d->source;
  /* "<source>:<place>: " or "<source>: " or "<place>: " */
  return snprintf(buf, len, "%s%s%s%s%s%s%s", src, src[0] && place[0] ? ":" : "", place,
                  src[0] || place[0] ? ": " : "", d->field, d->field[0] ? ": " : "", msg);
}

/* ---- bounded file reader --------------------------------------------------- */

int hr__file_read(const char *path, size_t max_bytes, char **out, size_t *len, hr_diag_t *d)
{
  if (out)
    *out = NULL;
  if (len)
    *len = 0;
  if (!path || !out || !len)
    return hr__diag_fail(d, HR_ERR_INVALID_ARG, 0, 0, "(file)", "no file given");
  FILE *fp = fopen(path, "rb");
  if (!fp) {
    char why[128] = "unknown error";
    (void)strerror_r(errno, why, sizeof why);
    return hr__diag_fail(d, HR_ERR_IO, 0, 0, "(file)", "cannot open: %s", why);
  }
  /* A regular file larger than the limit is refused before it is read;
   * anything else (a pipe) is read up to the limit and one byte more. */
  struct stat sb;
  if (fstat(fileno(fp), &sb) == 0 && S_ISREG(sb.st_mode) && (uintmax_t)sb.st_size > max_bytes) {
    fclose(fp);
    return hr__diag_fail(d, HR_ERR_RANGE, 0, 0, "(file)", "larger than %zu bytes (%jd)", max_bytes,
                         (intmax_t)sb.st_size);
  }
  size_t cap = 1 << 16, n = 0;
  char *b = malloc(cap);
  int rc = b ? HR_OK : HR_ERR_NOMEM;
  while (rc == HR_OK) {
    if (n > max_bytes) {
      rc = hr__diag_fail(d, HR_ERR_RANGE, 0, 0, "(file)", "larger than %zu bytes", max_bytes);
      break;
    }
    if (n + 1 >= cap) { /* room for the NUL and at least one byte */
      size_t grow = cap * 2;
      if (grow > max_bytes + 2)
        grow = max_bytes + 2;
      char *p = realloc(b, grow);
      if (!p) {
        rc = HR_ERR_NOMEM;
        break;
      }
      b = p;
      cap = grow;
    }
    errno = 0;
    size_t got = fread(b + n, 1, cap - 1 - n, fp);
    n += got;
    if (got == 0) {
      if (ferror(fp)) {
        /* the reason: a folder opens for reading and fails here (EISDIR) */
        char why[128] = "read error";
        if (errno)
          (void)strerror_r(errno, why, sizeof why);
        rc = hr__diag_fail(d, HR_ERR_IO, 0, 0, "(file)", "read error: %s", why);
      }
      break;
    }
  }
  fclose(fp);
  if (rc == HR_ERR_NOMEM)
    hr__diag_fail(d, HR_ERR_NOMEM, 0, 0, "(file)", "out of memory");
  if (rc != HR_OK) {
    free(b);
    return rc;
  }
  b[n] = '\0';
  *out = b;
  *len = n;
  return HR_OK;
}

/* ---- growable buffer ------------------------------------------------------- */

void hr__buf_free(hr__buf_t *b)
{
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
  b->nomem = 0;
}

static int reserve(hr__buf_t *b, size_t extra)
{
  if (b->nomem)
    return 0;
  if (b->len + extra + 1 <= b->cap)
    return 1;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + extra + 1) {
    if (cap > SIZE_MAX / 2) {
      b->nomem = 1;
      return 0;
    }
    cap *= 2;
  }
  char *p = realloc(b->p, cap);
  if (!p) {
    b->nomem = 1;
    return 0;
  }
  b->p = p;
  b->cap = cap;
  return 1;
}

void hr__buf_put(hr__buf_t *b, const char *s, size_t n)
{
  if (!reserve(b, n))
    return;
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

void hr__buf_printf(hr__buf_t *b, const char *fmt, ...)
{
  if (b->nomem)
    return;
  va_list ap;
  va_start(ap, fmt);
  char tmp[256];
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) {
    b->nomem = 1;
    return;
  }
  if ((size_t)n < sizeof tmp) {
    hr__buf_put(b, tmp, (size_t)n);
    return;
  }
  if (!reserve(b, (size_t)n))
    return;
  va_start(ap, fmt);
  vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

void hr__buf_num(hr__buf_t *b, double v, int digits)
{
  char tmp[48];
  int n = hr__num_format(tmp, sizeof tmp, digits, v);
  if (n > 0)
    hr__buf_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* ---- enum name tables ---------------------------------------------------- */

const char *hr__enum_name(const hr__enum_name_t *t, size_t n, int value, const char *unknown)
{
  for (size_t k = 0; k < n; k++)
    if (t[k].value == value)
      return t[k].name;
  return unknown;
}

int hr__enum_parse(const hr__enum_name_t *t, size_t n, const char *text, int nocase, int *out)
{
  if (!t || !text || !out)
    return HR_ERR_INVALID_ARG;
  for (size_t k = 0; k < n; k++) {
    if ((nocase ? strcasecmp(text, t[k].name) : strcmp(text, t[k].name)) == 0) {
      *out = t[k].value;
      return HR_OK;
    }
  }
  return HR_ERR_PARSE;
}
