/* plan module: CSV cursor, strict number parsing, file reading, CRC-32 and
 * the seeded random-number generator. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "plan/plan_int.h"

void hr__plan_err(hr_diag_t *e, long line, long col, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  hr__diag_vfail(e, e ? e->code : HR_OK, line, col, NULL, fmt, ap);
  va_end(ap);
}

void hr__plan_csv_init(hr__plan_csv_t *c, const char *buf, size_t len, const char *src,
                       hr_diag_t *err)
{
  memset(c, 0, sizeof *c);
  c->buf = buf;
  c->len = len;
  c->src = src;
  c->err = err;
}

/* The cursor's own failures: located, with the input named, so that no
 * caller can pass on a bare code (the loaders used to, leaving an empty
 * message for a NUL byte or a line of too many fields). */
static int csv_fail(hr__plan_csv_t *c, int code, long col, const char *what)
{
  hr__diag_fail(c->err, code, code == HR_ERR_PARSE ? c->line : 0, code == HR_ERR_PARSE ? col : 0,
                NULL, "%s%s%s", c->src ? c->src : "", c->src ? ": " : "", what);
  return code;
}

void hr__plan_csv_free(hr__plan_csv_t *c)
{
  free(c->copy);
  c->copy = NULL;
  c->copy_cap = 0;
}

static int is_blank_line(const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
      return 0;
  return 1;
}

int hr__plan_csv_next(hr__plan_csv_t *c)
{
  for (;;) {
    if (c->pos >= c->len)
      return 0;
    const char *s = c->buf + c->pos;
    size_t rest = c->len - c->pos;
    const char *nl = memchr(s, '\n', rest);
    size_t n = nl ? (size_t)(nl - s) : rest;
    c->pos += n + (nl ? 1 : 0);
    c->line++;
    if (n > 0 && s[n - 1] == '\r')
      n--;
    if (is_blank_line(s, n))
      continue;
    if (n + 1 > c->copy_cap) {
      size_t cap = n + 1 < 256 ? 256 : n + 1;
      char *p = realloc(c->copy, cap);
      if (!p)
        return csv_fail(c, HR_ERR_NOMEM, 0, "out of memory");
      c->copy = p;
      c->copy_cap = cap;
    }
    memcpy(c->copy, s, n);
    c->copy[n] = '\0';
    /* A NUL inside the line would silently cut a field short. */
    const char *nul = memchr(s, '\0', n);
    if (nul)
      return csv_fail(c, HR_ERR_PARSE, (long)(nul - s) + 1, "a NUL byte in the line");
    c->nf = 0;
    char *p = c->copy;
    for (;;) {
      if (c->nf == HR__PLAN_MAX_FIELDS)
        return hr__diag_fail(c->err, HR_ERR_PARSE, c->line, (long)(p - c->copy) + 1, NULL,
                             "%s%smore than %d fields", c->src ? c->src : "", c->src ? ": " : "",
                             HR__PLAN_MAX_FIELDS);
      c->f[c->nf++] = p;
      char *comma = strchr(p, ',');
      if (!comma)
        break;
      *comma = '\0';
      p = comma + 1;
    }
    return 1;
  }
}

static const char *trim(const char *s, size_t *n)
{
  while (*s == ' ' || *s == '\t')
    s++;
  size_t k = strlen(s);
  while (k > 0 && (s[k - 1] == ' ' || s[k - 1] == '\t'))
    k--;
  *n = k;
  return s;
}

int hr__plan_csv_find(const hr__plan_csv_t *c, const char *name)
{
  size_t want = strlen(name);
  for (int i = 0; i < c->nf; i++) {
    size_t n;
    const char *s = trim(c->f[i], &n);
    /* A UTF-8 byte-order mark may open the header. */
    if (i == 0 && n >= 3 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB &&
        (unsigned char)s[2] == 0xBF) {
      s += 3;
      n -= 3;
    }
    if (n == want && memcmp(s, name, n) == 0)
      return i;
  }
  return -1;
}

int hr__plan_csv_columns(const hr__plan_csv_t *c, int header_rc, const char *const *names, int n,
                         int *col, const char *path)
{
  for (int k = 0; k < n; k++) {
    col[k] = header_rc == 1 ? hr__plan_csv_find(c, names[k]) : -1;
    if (col[k] < 0) {
      hr__plan_err(c->err, 1, 0, "%s: missing column '%s'", path, names[k]);
      return HR_ERR_PARSE;
    }
  }
  return HR_OK;
}

int hr__plan_parse_double(const char *s, double *v)
{
  size_t n;
  s = trim(s, &n);
  if (n == 0 || n > 63)
    return HR_ERR_PARSE;
  char tmp[64];
  memcpy(tmp, s, n);
  tmp[n] = '\0';
  char *end;
  errno = 0;
  double x = hr__num_parse(tmp, &end);
  if (end != tmp + n || !isfinite(x))
    return HR_ERR_PARSE;
  *v = x;
  return HR_OK;
}

int hr__plan_parse_long(const char *s, long *v)
{
  size_t n;
  s = trim(s, &n);
  if (n == 0 || n > 31)
    return HR_ERR_PARSE;
  char tmp[32];
  memcpy(tmp, s, n);
  tmp[n] = '\0';
  char *end;
  errno = 0;
  long x = strtol(tmp, &end, 10);
  if (end != tmp + n)
    return HR_ERR_PARSE;
  if (errno == ERANGE)
    return HR_ERR_RANGE;
  *v = x;
  return HR_OK;
}

int hr__plan_read_file(const char *path, char **buf, size_t *len)
{
  /* 16 GiB: refuse rather than thrash */
  return hr__file_read(path, (size_t)1 << 34, buf, len, NULL);
}

uint32_t hr__plan_crc32(const void *data, size_t n)
{
  const unsigned char *p = data;
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++)
      c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return c ^ 0xFFFFFFFFu;
}

/* ---------------------------------------------------------------- RNG */

static uint64_t splitmix64(uint64_t *x)
{
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void hr_plan_rng_seed(hr_plan_rng_t *r, uint64_t seed)
{
  uint64_t x = seed;
  for (int i = 0; i < 4; i++)
    r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k)
{
  return (x << k) | (x >> (64 - k));
}

uint64_t hr_plan_rng_u64(hr_plan_rng_t *r)
{
  uint64_t *s = r->s;
  uint64_t out = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return out;
}

double hr_plan_rng_uniform(hr_plan_rng_t *r)
{
  /* 53 random bits, shifted by half an ulp so 0 never comes out. */
  return ((double)(hr_plan_rng_u64(r) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

double hr_plan_rng_normal(hr_plan_rng_t *r)
{
  double u1 = hr_plan_rng_uniform(r), u2 = hr_plan_rng_uniform(r);
  return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

double hr_plan_rng_gamma(hr_plan_rng_t *r, double shape)
{
  if (!(shape > 0.0))
    return NAN;
  if (shape < 1.0) {
    /* Gamma(a) = Gamma(a + 1) U^(1/a). */
    double u = hr_plan_rng_uniform(r);
    return hr_plan_rng_gamma(r, shape + 1.0) * pow(u, 1.0 / shape);
  }
  double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
  for (;;) {
    double x = hr_plan_rng_normal(r), v = 1.0 + c * x;
    if (v <= 0.0)
      continue;
    v = v * v * v;
    double u = hr_plan_rng_uniform(r);
    if (log(u) < 0.5 * x * x + d - d * v + d * log(v))
      return d * v;
  }
}
