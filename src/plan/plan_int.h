/* plan module: private helpers shared by its files. */
#ifndef HR_PLAN_INT_H
#define HR_PLAN_INT_H

#include <stddef.h>
#include <stdint.h>

#include "headroom/plan.h"

#define HR__PLAN_MAX_FIELDS 64

/* A line-by-line CSV cursor over a borrowed buffer.  No quoting: fields are
 * split at commas, surrounding blanks kept (callers trim).  The fields point
 * into a private copy of the current line, valid until the next call. */
typedef struct hr__plan_csv {
  const char *buf;
  size_t len, pos;
  long line; /* 1-based number of the current line */
  char *copy;
  size_t copy_cap;
  int nf;
  char *f[HR__PLAN_MAX_FIELDS];
  const char *src; /* prefix of the cursor's own messages ("PATH: "), or NULL */
  hr_diag_t *err;  /* where the cursor's own errors are described, or NULL */
} hr__plan_csv_t;

/* src (borrowed, may be NULL) names the input in the messages the cursor
 * writes into err (may be NULL) itself. */
void hr__plan_csv_init(hr__plan_csv_t *c, const char *buf, size_t len, const char *src,
                       hr_diag_t *err);
/* Advances to the next non-blank line and splits it.  Returns 1 with a line,
 * 0 at the end, HR_ERR_NOMEM or HR_ERR_PARSE (a NUL byte in the line, or
 * more than HR__PLAN_MAX_FIELDS fields).  Every error is described in the
 * cursor's err, HR_ERR_PARSE with the line and column, so a caller passes it
 * on as it is. */
int hr__plan_csv_next(hr__plan_csv_t *c);
void hr__plan_csv_free(hr__plan_csv_t *c);
/* Index of a header field equal to name (blanks trimmed), or -1. */
int hr__plan_csv_find(const hr__plan_csv_t *c, const char *name);
/* The index of each of names[0..n) in the header line just read (header_rc
 * is what hr__plan_csv_next returned for it: 1 with a line) into col[].
 * Returns HR_OK, or HR_ERR_PARSE with "PATH: missing column 'NAME'" in the
 * cursor's err for the first one absent (all of them on an empty file). */
int hr__plan_csv_columns(const hr__plan_csv_t *c, int header_rc, const char *const *names, int n,
                         int *col, const char *path);

/* Strict number parsers: the whole field (blanks trimmed) must be used. */
int hr__plan_parse_double(const char *s, double *v);
int hr__plan_parse_long(const char *s, long *v);

/* Reads a whole file into a new NUL-terminated buffer (*len excludes the
 * NUL).  HR_ERR_IO, HR_ERR_NOMEM. */
int hr__plan_read_file(const char *path, char **buf, size_t *len);

void hr__plan_err(hr_diag_t *e, long line, long col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* CRC-32 (IEEE 802.3, reflected, as zlib computes it). */
uint32_t hr__plan_crc32(const void *data, size_t n);

/* A workload as hr_plan_workload_generate draws it for Poisson and diurnal
 * arrivals (the same streams and decisions), with the log, cos and exp in
 * blocks through vectorised polynomials (plan_draw.c): the same draws up to
 * a few ulps.  The requests go to *buf (grown with realloc, *cap its
 * capacity, both kept by the caller between calls), their count to *n.
 * Errors: as hr_plan_workload_generate; HR_ERR_UNSUPPORTED for bursty. */
int hr__plan_workload_draw(const hr_plan_gen_cfg_t *cfg, hr_plan_request_t **buf, size_t *cap,
                           size_t *n);

#endif
