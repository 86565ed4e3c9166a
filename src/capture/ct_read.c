/* COMTRADE reader: CFG (IEEE C37.111-1991/1999/2013 §7), DAT (§8) and the
 * single-file CFF form (C37.111-2013 §9).  Every error fills an hr_diag_t with
 * the file, the line (text) or byte offset (binary) and the field; tolerated
 * deviations are counted as warnings in hr_ct_info_t. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/core.h"
#include "ct_int.h"
#include "headroom/error.h"

/* ------------------------------------------------------------ diagnostics */

/* No byte offset to report: the file as a whole, an argument. */
#define NO_OFF UINT64_MAX

/* hr__diag_fail plus the byte offset, which the COMTRADE errors nearly always
 * know: the start of the CFG line, of the ASCII field, of the binary record.
 * Returns code, so that a failing path reads `return ct_fail(...)`. */
static int ct_fail(hr_diag_t *d, int code, uint64_t line, uint64_t column, uint64_t off,
                   const char *field, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

static int ct_fail(hr_diag_t *d, int code, uint64_t line, uint64_t column, uint64_t off,
                   const char *field, const char *fmt, ...)
{
  if (!d)
    return code;
  va_list ap;
  va_start(ap, fmt);
  hr__diag_vfail(d, code, (long)line, (long)column, field, fmt, ap);
  va_end(ap);
  d->has_offset = off != NO_OFF;
  d->offset = d->has_offset ? off : 0;
  return code;
}

/* The diag source of a call given a name, or the stand-in for memory. */
static const char *src_name(const char *name)
{
  return name ? name : "<buffer>";
}

/* ------------------------------------------------------------ dates */

int64_t hr__ct_days_from_civil(int64_t y, unsigned m, unsigned d)
{
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = (unsigned)(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

void hr__ct_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = (unsigned)(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

size_t hr__ct_record_bytes(const hr_ct_cfg_t *cfg, hr_ct_format_t format)
{
  size_t words = ((size_t)cfg->n_digital + 15) / 16;
  switch (format) {
  case HR_CT_BINARY:
    return 8 + 2 * (size_t)cfg->n_analog + 2 * words;
  case HR_CT_BINARY32:
  case HR_CT_FLOAT32:
    return 8 + 4 * (size_t)cfg->n_analog + 2 * words;
  default:
    return 0;
  }
}

/* ------------------------------------------------------------ text lines */

typedef struct lines {
  const char *text;
  size_t len, pos;
  uint64_t lineno;   /* number of the line last returned */
  uint64_t line_off; /* its byte offset */
} lines_t;

/* Returns the next line (without its CR/LF) or NULL at the end. */
static const char *next_line(lines_t *L, size_t *n)
{
  if (L->pos >= L->len)
    return NULL;
  const char *s = L->text + L->pos;
  size_t k = 0, rest = L->len - L->pos;
  while (k < rest && s[k] != '\n' && s[k] != '\r')
    k++;
  *n = k;
  L->line_off = L->pos;
  L->lineno++;
  size_t adv = k;
  if (adv < rest && s[adv] == '\r')
    adv++;
  if (adv < rest && s[adv] == '\n')
    adv++;
  L->pos += adv;
  return s;
}

#define MAX_FIELDS_PER_LINE 64

typedef struct fields {
  int n;
  const char *p[MAX_FIELDS_PER_LINE];
  size_t len[MAX_FIELDS_PER_LINE];
} fields_t;

/* Splits a line at commas, trimming blanks.  Returns -1 when there are more
 * than MAX_FIELDS_PER_LINE fields. */
static int split(const char *s, size_t n, fields_t *f)
{
  f->n = 0;
  size_t start = 0;
  for (size_t k = 0; k <= n; k++) {
    if (k == n || s[k] == ',') {
      if (f->n == MAX_FIELDS_PER_LINE)
        return -1;
      size_t a = start, b = k;
      while (a < b && (s[a] == ' ' || s[a] == '\t'))
        a++;
      while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t'))
        b--;
      f->p[f->n] = s + a;
      f->len[f->n] = b - a;
      f->n++;
      start = k + 1;
    }
  }
  return 0;
}

/* Valid UTF-8 check (no overlongs or surrogates needed for our purpose). */
static int utf8_valid(const unsigned char *s, size_t n)
{
  size_t k = 0;
  while (k < n) {
    unsigned c = s[k];
    int extra;
    if (c < 0x80)
      extra = 0;
    else if ((c & 0xE0) == 0xC0 && c >= 0xC2)
      extra = 1;
    else if ((c & 0xF0) == 0xE0)
      extra = 2;
    else if ((c & 0xF8) == 0xF0 && c <= 0xF4)
      extra = 3;
    else
      return 0;
    for (int e = 1; e <= extra; e++)
      if (k + (size_t)e >= n || (s[k + (size_t)e] & 0xC0) != 0x80)
        return 0;
    k += (size_t)extra + 1;
  }
  return 1;
}

/* Copies a field into dst (size cap) as UTF-8: as is, or from Latin-1.  Cuts
 * at a character boundary. */
static void copy_text(char *dst, size_t cap, const char *s, size_t n, int latin1)
{
  size_t o = 0;
  for (size_t k = 0; k < n; k++) {
    unsigned char c = (unsigned char)s[k];
    if (latin1 && c >= 0x80) {
      if (o + 2 >= cap)
        break;
      dst[o++] = (char)(0xC0 | (c >> 6));
      dst[o++] = (char)(0x80 | (c & 0x3F));
    } else {
      if (o + 1 >= cap)
        break;
      if (!latin1 && c >= 0x80) {
        /* Keep whole UTF-8 sequences only. */
        size_t seq = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
        if (c >= 0xC0 && o + seq >= cap)
          break;
      }
      dst[o++] = (char)(c < 0x20 ? ' ' : c);
    }
  }
  dst[o] = 0;
}

static int field_num(const char *p, size_t n, double *out)
{
  char buf[64];
  if (n == 0 || n >= sizeof buf)
    return -1;
  memcpy(buf, p, n);
  buf[n] = 0;
  char *end;
  errno = 0;
  double v = strtod(buf, &end);
  if (end == buf || *end != 0 || errno == ERANGE || !isfinite(v))
    return -1;
  *out = v;
  return 0;
}

static int field_int(const char *p, size_t n, int64_t lo, int64_t hi, int64_t *out)
{
  char buf[32];
  if (n == 0 || n >= sizeof buf)
    return -1;
  memcpy(buf, p, n);
  buf[n] = 0;
  char *end;
  errno = 0;
  long long v = strtoll(buf, &end, 10);
  if (end == buf || *end != 0 || errno == ERANGE || v < lo || v > hi)
    return -1;
  *out = v;
  return 0;
}

/* "##A" / "##D" channel counts (C37.111-2013 §7.4.2). */
static int field_count(const char *p, size_t n, char suffix, int64_t *out)
{
  if (n < 2 || (p[n - 1] != suffix && p[n - 1] != (char)(suffix + 32)))
    return -1;
  return field_int(p, n - 1, 0, HR_CT_MAX_CHANNELS, out);
}

/* Date and time "dd/mm/yyyy,hh:mm:ss.ssssss" (1999, 2013 §7.4.7) or
 * "mm/dd/yy,hh:mm:ss.ssssss" (1991).  Fraction 0 to 9 digits. */
static int parse_datetime(const fields_t *f, int rev, int64_t *ns, int *digits, const char **why)
{
  if (f->n != 2) {
    *why = "expected 'date,time'";
    return -1;
  }
  char d[32], t[40];
  if (f->len[0] >= sizeof d || f->len[1] >= sizeof t) {
    *why = "too long";
    return -1;
  }
  memcpy(d, f->p[0], f->len[0]);
  d[f->len[0]] = 0;
  memcpy(t, f->p[1], f->len[1]);
  t[f->len[1]] = 0;
  unsigned a, b, y, hh, mm;
  int nc = 0;
  if (sscanf(d, "%2u/%2u/%4u%n", &a, &b, &y, &nc) != 3 || d[nc] != 0) {
    *why = "date is not dd/mm/yyyy";
    return -1;
  }
  unsigned day = a, mon = b;
  int ylen = nc - (int)(strchr(strchr(d, '/') + 1, '/') - d) - 1;
  if (rev == 1991 || ylen <= 2) {
    if (rev == 1991) {
      mon = a;
      day = b;
    }
    if (ylen <= 2)
      y += y < 70 ? 2000 : 1900;
  }
  /* int64 ns since 1970 spans 1678..2262. */
  if (y < 1700 || y > 2260) {
    *why = "year outside 1700..2260";
    return -1;
  }
  if (mon < 1 || mon > 12 || day < 1 || day > 31) {
    *why = "day or month out of range";
    return -1;
  }
  char *p = t;
  if (sscanf(t, "%2u:%2u:%n", &hh, &mm, &nc) != 2 || hh > 23 || mm > 59) {
    *why = "time is not hh:mm:ss.ssssss";
    return -1;
  }
  p = t + nc;
  char *end;
  if (*p < '0' || *p > '9') {
    *why = "seconds missing";
    return -1;
  }
  unsigned long sec = strtoul(p, &end, 10);
  if (sec > 60 || end - p > 2) {
    *why = "seconds out of range";
    return -1;
  }
  int64_t frac = 0;
  int nd = 0;
  if (*end == '.') {
    end++;
    while (*end >= '0' && *end <= '9' && nd < 9) {
      frac = frac * 10 + (*end - '0');
      end++;
      nd++;
    }
  }
  if (*end != 0) {
    *why = "time has trailing characters or more than 9 fractional digits";
    return -1;
  }
  for (int k = nd; k < 9; k++)
    frac *= 10;
  int64_t days = hr__ct_days_from_civil((int64_t)y, mon, day);
  *ns = ((days * 86400 + (int64_t)hh * 3600 + (int64_t)mm * 60 + (int64_t)sec) * 1000000000) + frac;
  *digits = nd;
  return 0;
}

/* ------------------------------------------------------------ CFG */

void hr_ct_cfg_free(hr_ct_cfg_t *cfg)
{
  if (!cfg)
    return;
  free(cfg->analog);
  free(cfg->digital);
  cfg->analog = NULL;
  cfg->digital = NULL;
}

int hr__ct_cfg_copy(hr_ct_cfg_t *dst, const hr_ct_cfg_t *src)
{
  *dst = *src;
  dst->analog = NULL;
  dst->digital = NULL;
  if (src->n_analog) {
    dst->analog = malloc((size_t)src->n_analog * sizeof *dst->analog);
    if (!dst->analog)
      return HR_ERR_NOMEM;
    memcpy(dst->analog, src->analog, (size_t)src->n_analog * sizeof *dst->analog);
  }
  if (src->n_digital) {
    dst->digital = malloc((size_t)src->n_digital * sizeof *dst->digital);
    if (!dst->digital) {
      free(dst->analog);
      dst->analog = NULL;
      return HR_ERR_NOMEM;
    }
    memcpy(dst->digital, src->digital, (size_t)src->n_digital * sizeof *dst->digital);
  }
  return HR_OK;
}

#define FAIL(code, field, ...)                                                                     \
  do {                                                                                             \
    ct_fail(diag, code, L.lineno, 0, L.line_off, field, __VA_ARGS__);                              \
    hr_ct_cfg_free(cfg);                                                                           \
    return code;                                                                                   \
  } while (0)

#define NEED_LINE(field)                                                                           \
  do {                                                                                             \
    s = next_line(&L, &n);                                                                         \
    if (!s) {                                                                                      \
      L.lineno++;                                                                                  \
      L.line_off = L.len;                                                                          \
      FAIL(HR_ERR_TRUNCATED, field, "the CFG ends here");                                          \
    }                                                                                              \
    if (split(s, n, &f) != 0)                                                                      \
      FAIL(HR_ERR_PARSE, field, "more than %d fields", MAX_FIELDS_PER_LINE);                       \
  } while (0)

int hr_ct_cfg_parse(const char *text, size_t len, const char *name, hr_ct_cfg_t *cfg,
                    hr_ct_info_t *info, hr_diag_t *diag)
{
  hr_ct_info_t scratch; /* so that the parser records facts unconditionally */
  if (!info)
    info = &scratch;
  memset(info, 0, sizeof *info);
  hr__diag_begin(diag, src_name(name));
  if (!cfg || (!text && len))
    return ct_fail(diag, HR_ERR_INVALID_ARG, 0, 0, NO_OFF, NULL,
                   cfg ? "no text but a length" : "no config to fill");
  memset(cfg, 0, sizeof *cfg);
  lines_t L = {.text = text, .len = len};
  if (len > HR_CT_MAX_CFG_BYTES)
    FAIL(HR_ERR_RANGE, "CFG", "longer than %u bytes", HR_CT_MAX_CFG_BYTES);
  /* SUB (0x1A) padding and NULs at the end are ignored (seen in the wild). */
  size_t end = len;
  while (end > 0 && (text[end - 1] == 0x1A || text[end - 1] == 0)) {
    end--;
  }
  if (end < len)
    info->warnings |= HR_CT_WARN_SUB_PAD;
  L.len = end;
  int latin1 = !utf8_valid((const unsigned char *)text, end);
  if (latin1)
    info->warnings |= HR_CT_WARN_LATIN1;

  const char *s;
  size_t n;
  fields_t f;
  int64_t v;
  double x;

  /* §7.4.2 line 1: station_name,rec_dev_id,rev_year (no rev_year in 1991). */
  NEED_LINE("station_name");
  if (f.n < 2)
    FAIL(HR_ERR_PARSE, "rec_dev_id", "expected 'station_name,rec_dev_id,rev_year'");
  int nf = f.n;
  cfg->rev_year = 1991;
  if (f.n >= 3) {
    if (field_int(f.p[f.n - 1], f.len[f.n - 1], 0, 9999, &v) != 0 ||
        (v != 1991 && v != 1999 && v != 2013))
      FAIL(HR_ERR_UNSUPPORTED, "rev_year", "'%.*s' is not 1991, 1999 or 2013",
           (int)(f.len[f.n - 1] > 20 ? 20 : f.len[f.n - 1]), f.p[f.n - 1]);
    cfg->rev_year = (int)v;
    nf = f.n - 1;
  }
  /* A station name may itself hold commas: everything before rec_dev_id. */
  copy_text(cfg->station, sizeof cfg->station, f.p[0],
            (size_t)(f.p[nf - 2] + f.len[nf - 2] - f.p[0]), latin1);
  copy_text(cfg->rec_dev_id, sizeof cfg->rec_dev_id, f.p[nf - 1], f.len[nf - 1], latin1);

  /* Line 2: TT,##A,##D */
  NEED_LINE("TT");
  int64_t tt, na, nd;
  if (f.n != 3)
    FAIL(HR_ERR_PARSE, "TT", "expected 'TT,##A,##D'");
  if (field_int(f.p[0], f.len[0], 0, HR_CT_MAX_CHANNELS, &tt) != 0)
    FAIL(HR_ERR_RANGE, "TT", "not a channel count in 0..%d", HR_CT_MAX_CHANNELS);
  if (field_count(f.p[1], f.len[1], 'A', &na) != 0)
    FAIL(HR_ERR_PARSE, "##A", "not a count followed by 'A'");
  if (field_count(f.p[2], f.len[2], 'D', &nd) != 0)
    FAIL(HR_ERR_PARSE, "##D", "not a count followed by 'D'");
  if (na + nd != tt)
    FAIL(HR_ERR_PARSE, "TT", "%lld channels but %lld analog + %lld digital", (long long)tt,
         (long long)na, (long long)nd);
  if (tt == 0)
    FAIL(HR_ERR_RANGE, "TT", "no channels");
  cfg->n_analog = (int)na;
  cfg->n_digital = (int)nd;
  cfg->analog = na ? calloc((size_t)na, sizeof *cfg->analog) : NULL;
  cfg->digital = nd ? calloc((size_t)nd, sizeof *cfg->digital) : NULL;
  if ((na && !cfg->analog) || (nd && !cfg->digital))
    FAIL(HR_ERR_NOMEM, "TT", "out of memory");

  /* §7.4.3 analog lines: An,ch_id,ph,ccbm,uu,a,b,skew,min,max[,primary,secondary,PS] */
  for (int c = 0; c < na; c++) {
    char fld[48];
    snprintf(fld, sizeof fld, "analog %d", c + 1);
    NEED_LINE(fld);
    if (f.n != 10 && f.n != 13)
      FAIL(HR_ERR_PARSE, fld, "%d fields, expected 10 (1991) or 13", f.n);
    hr_ct_analog_t *a = &cfg->analog[c];
    if (field_int(f.p[0], f.len[0], 1, 999999, &v) != 0)
      FAIL(HR_ERR_PARSE, fld, "index is not a number");
    copy_text(a->id, sizeof a->id, f.p[1], f.len[1], latin1);
    copy_text(a->ph, sizeof a->ph, f.p[2], f.len[2], latin1);
    copy_text(a->ccbm, sizeof a->ccbm, f.p[3], f.len[3], latin1);
    copy_text(a->unit, sizeof a->unit, f.p[4], f.len[4], latin1);
    static const char *const names[] = {"a", "b", "skew", "min", "max", "primary", "secondary"};
    double *dst[] = {&a->a, &a->b, &a->skew_us, &a->min, &a->max, &a->primary, &a->secondary};
    int last = f.n == 13 ? 7 : 5;
    for (int k = 0; k < last; k++) {
      if (k == 2 && f.len[7] == 0) { /* an empty skew means 0 */
        a->skew_us = 0;
        continue;
      }
      if (field_num(f.p[5 + k], f.len[5 + k], &x) != 0) {
        snprintf(fld, sizeof fld, "analog %d %s", c + 1, names[k]);
        FAIL(HR_ERR_PARSE, fld, "'%.*s' is not a number",
             (int)(f.len[5 + k] > 30 ? 30 : f.len[5 + k]), f.p[5 + k]);
      }
      *dst[k] = x;
    }
    if (f.n == 13) {
      if (f.len[12] != 1 || strchr("PpSs", f.p[12][0]) == NULL) {
        snprintf(fld, sizeof fld, "analog %d PS", c + 1);
        FAIL(HR_ERR_PARSE, fld, "not P or S");
      }
      a->ps = (char)(f.p[12][0] & ~0x20);
    } else {
      a->primary = a->secondary = 1;
      a->ps = 'P';
    }
  }
  /* §7.4.4 status lines: Dn,ch_id,ph,ccbm,y (1991: Dn,ch_id,y) */
  for (int c = 0; c < nd; c++) {
    char fld[48];
    snprintf(fld, sizeof fld, "digital %d", c + 1);
    NEED_LINE(fld);
    if (f.n != 3 && f.n != 5)
      FAIL(HR_ERR_PARSE, fld, "%d fields, expected 5 (3 in 1991)", f.n);
    hr_ct_digital_t *dd = &cfg->digital[c];
    if (field_int(f.p[0], f.len[0], 1, 999999, &v) != 0)
      FAIL(HR_ERR_PARSE, fld, "index is not a number");
    copy_text(dd->id, sizeof dd->id, f.p[1], f.len[1], latin1);
    if (f.n == 5) {
      copy_text(dd->ph, sizeof dd->ph, f.p[2], f.len[2], latin1);
      copy_text(dd->ccbm, sizeof dd->ccbm, f.p[3], f.len[3], latin1);
    }
    int yi = f.n - 1;
    if (f.len[yi] == 0)
      dd->normal = 0;
    else if (field_int(f.p[yi], f.len[yi], 0, 1, &v) != 0) {
      snprintf(fld, sizeof fld, "digital %d y", c + 1);
      FAIL(HR_ERR_PARSE, fld, "normal state is not 0 or 1");
    } else
      dd->normal = (int)v;
  }
  /* §7.4.5 line frequency */
  NEED_LINE("lf");
  if (f.n != 1 || field_num(f.p[0], f.len[0], &x) != 0 || x < 0 || x > 1e6)
    FAIL(HR_ERR_PARSE, "lf", "line frequency is not a number >= 0");
  cfg->line_freq_hz = x;
  if (x != 0 && x != 50 && x != 60)
    info->warnings |= HR_CT_WARN_BAD_LF;
  /* §7.4.6 sampling rates */
  NEED_LINE("nrates");
  if (f.n != 1 || field_int(f.p[0], f.len[0], 0, 999, &v) != 0)
    FAIL(HR_ERR_PARSE, "nrates", "not a count");
  if (v > HR_CT_MAX_RATES)
    FAIL(HR_ERR_RANGE, "nrates", "%lld rates, at most %d supported", (long long)v, HR_CT_MAX_RATES);
  cfg->n_rates = (int)v;
  int rate_lines = cfg->n_rates ? cfg->n_rates : 1;
  int64_t prev_end = 0;
  for (int r = 0; r < rate_lines; r++) {
    NEED_LINE("samp,endsamp");
    double samp;
    if (f.n != 2 || field_num(f.p[0], f.len[0], &samp) != 0 || samp < 0 || samp > 1e9)
      FAIL(HR_ERR_PARSE, "samp", "sample rate is not a number in 0..1e9");
    if (field_num(f.p[1], f.len[1], &x) != 0 || x != floor(x) || x < 0 || x > 4294967295.0)
      FAIL(HR_ERR_PARSE, "endsamp", "not a sample number");
    v = (int64_t)x;
    if (cfg->n_rates && v < prev_end)
      FAIL(HR_ERR_PARSE, "endsamp", "%lld is before the previous segment's end %lld", (long long)v,
           (long long)prev_end);
    prev_end = v;
    if (cfg->n_rates) {
      cfg->rates[r].samp_hz = samp;
      cfg->rates[r].end_sample = v;
    }
    cfg->end_sample = v;
  }
  if (!cfg->n_rates && cfg->end_sample > 0) {
    /* nrates 0: "0,endsamp" gives only the count; time comes from timestamps. */
  }
  /* §7.4.7 date/time stamps */
  const char *why = "";
  int dig;
  NEED_LINE("start date");
  if (parse_datetime(&f, cfg->rev_year, &cfg->start_ns, &cfg->frac_digits, &why) != 0)
    FAIL(HR_ERR_PARSE, "start date", "%s", why);
  NEED_LINE("trigger date");
  if (parse_datetime(&f, cfg->rev_year, &cfg->trigger_ns, &dig, &why) != 0)
    FAIL(HR_ERR_PARSE, "trigger date", "%s", why);
  /* §7.4.8 data file type */
  NEED_LINE("ft");
  if (f.n != 1)
    FAIL(HR_ERR_PARSE, "ft", "expected one field");
  {
    char ft[16];
    size_t k = f.len[0] < sizeof ft - 1 ? f.len[0] : sizeof ft - 1;
    memcpy(ft, f.p[0], k);
    ft[k] = 0;
    hr_ct_format_t fmt;
    if (hr_ct_format_parse(ft, &fmt) != HR_OK)
      FAIL(HR_ERR_UNSUPPORTED, "ft", "'%s' is not ASCII, BINARY, BINARY32 or FLOAT32", ft);
    /* BINARY32 and FLOAT32 before 2013 are accepted without a warning: some
     * 1999 writers use them and the data is unambiguous. */
    cfg->format = fmt;
  }
  /* §7.4.9 timemult (1999 and later; optional in 1991) */
  cfg->timemult = 1.0;
  s = next_line(&L, &n);
  while (s && n == 0 && cfg->rev_year == 1991)
    s = next_line(&L, &n);
  if (s && n > 0) {
    if (split(s, n, &f) != 0 || f.n != 1 || field_num(f.p[0], f.len[0], &x) != 0 || x <= 0)
      FAIL(HR_ERR_PARSE, "timemult", "not a number > 0");
    cfg->timemult = x;
  } else if (cfg->rev_year >= 1999) {
    if (!s)
      L.lineno++;
    FAIL(HR_ERR_TRUNCATED, "timemult", "the CFG ends before timemult");
  }
  /* §7.4.10, §7.4.11 (2013): time_code,local_code and tmq_code,leapsec */
  if (cfg->rev_year >= 2013) {
    int got = 0;
    for (int line = 0; line < 2; line++) {
      s = next_line(&L, &n);
      if (!s || n == 0)
        break;
      if (split(s, n, &f) != 0 || f.n != 2)
        FAIL(HR_ERR_PARSE, line ? "tmq_code,leapsec" : "time_code,local_code",
             "expected two fields");
      if (line == 0) {
        copy_text(cfg->time_code, sizeof cfg->time_code, f.p[0], f.len[0], latin1);
        copy_text(cfg->local_code, sizeof cfg->local_code, f.p[1], f.len[1], latin1);
      } else {
        copy_text(cfg->tmq_code, sizeof cfg->tmq_code, f.p[0], f.len[0], latin1);
        if (f.len[1] && field_int(f.p[1], f.len[1], 0, 3, &v) != 0)
          FAIL(HR_ERR_PARSE, "leapsec", "not 0..3");
        cfg->leap_sec = f.len[1] ? (int)v : 0;
      }
      got++;
    }
    if (got < 2)
      info->warnings |= HR_CT_WARN_NO_TIMECODE;
  }
  info->declared_samples = cfg->end_sample;
  return HR_OK;
}

#undef FAIL
#undef NEED_LINE

/* ------------------------------------------------------------ recording */

int hr_ct_rec_create(int n_analog, int n_digital, int64_t n_samples, hr_ct_rec_t **out)
{
  if (!out || n_analog < 0 || n_digital < 0 || n_analog + n_digital > HR_CT_MAX_CHANNELS ||
      n_samples < 0)
    return HR_ERR_INVALID_ARG;
  uint64_t bytes = (uint64_t)n_samples * (8u * (uint64_t)n_analog + (uint64_t)n_digital + 16u);
  if (n_samples > ((int64_t)1 << 40) || bytes > ((uint64_t)1 << 34))
    return HR_ERR_RANGE;
  hr_ct_rec_t *r = calloc(1, sizeof *r);
  if (!r)
    return HR_ERR_NOMEM;
  size_t ns = (size_t)n_samples ? (size_t)n_samples : 1;
  r->cfg.n_analog = n_analog;
  r->cfg.n_digital = n_digital;
  r->cfg.analog = n_analog ? calloc((size_t)n_analog, sizeof *r->cfg.analog) : NULL;
  r->cfg.digital = n_digital ? calloc((size_t)n_digital, sizeof *r->cfg.digital) : NULL;
  r->raw = calloc(ns * (size_t)(n_analog ? n_analog : 1), sizeof *r->raw);
  r->digital = calloc(ns * (size_t)(n_digital ? n_digital : 1), 1);
  r->sample_num = calloc(ns, sizeof *r->sample_num);
  r->timestamp = calloc(ns, sizeof *r->timestamp);
  r->n_samples = n_samples;
  r->cfg.rev_year = 2013;
  r->cfg.timemult = 1;
  r->cfg.frac_digits = 6;
  r->cfg.format = HR_CT_FLOAT32;
  if ((n_analog && !r->cfg.analog) || (n_digital && !r->cfg.digital) || !r->raw || !r->digital ||
      !r->sample_num || !r->timestamp) {
    hr_ct_rec_destroy(r);
    return HR_ERR_NOMEM;
  }
  *out = r;
  return HR_OK;
}

void hr_ct_rec_destroy(hr_ct_rec_t *rec)
{
  if (!rec)
    return;
  hr_ct_cfg_free(&rec->cfg);
  free(rec->raw);
  free(rec->digital);
  free(rec->sample_num);
  free(rec->timestamp);
  free(rec);
}

double hr_ct_value(const hr_ct_rec_t *rec, int c, int64_t k)
{
  if (!rec || c < 0 || c >= rec->cfg.n_analog || k < 0 || k >= rec->n_samples)
    return NAN;
  const hr_ct_analog_t *a = &rec->cfg.analog[c];
  return a->a * rec->raw[(size_t)k * (size_t)rec->cfg.n_analog + (size_t)c] + a->b;
}

static int segment_of(const hr_ct_cfg_t *cfg, int64_t k)
{
  for (int s = 0; s < cfg->n_rates; s++)
    if (k < cfg->rates[s].end_sample)
      return s;
  return cfg->n_rates - 1;
}

double hr_ct_rate_hz(const hr_ct_rec_t *rec, int64_t k)
{
  if (!rec || rec->cfg.n_rates == 0)
    return 0;
  return rec->cfg.rates[segment_of(&rec->cfg, k)].samp_hz;
}

/* Raw timestamp units [ns]: µs, or ns with 9-digit dates (C37.111-2013 §7.4.9). */
static double ts_unit_ns(const hr_ct_cfg_t *cfg)
{
  return (cfg->frac_digits > 6 ? 1.0 : 1000.0) * cfg->timemult;
}

/* Times a file can hold but 64-bit nanoseconds cannot (a start in 2017 plus
 * a timestamp offset of centuries, a rate of 1e-300 Hz) come out as
 * INT64_MIN, "no time", instead of wrapping. */
static int64_t ns_of(double x)
{
  return x > -9.2e18 && x < 9.2e18 ? (int64_t)llround(x) : INT64_MIN;
}

static int64_t ns_add(int64_t a, int64_t b)
{
  int64_t r;
  if (a == INT64_MIN || b == INT64_MIN || __builtin_add_overflow(a, b, &r) || r == INT64_MIN)
    return INT64_MIN;
  return r;
}

static int64_t seg_start_ns(const hr_ct_rec_t *rec, int s)
{
  const hr_ct_cfg_t *cfg = &rec->cfg;
  int64_t first = s ? cfg->rates[s - 1].end_sample : 0;
  if (first < rec->n_samples && rec->timestamp[first] != HR_CT_NO_TIME &&
      rec->timestamp[0] != HR_CT_NO_TIME && (s == 0 || rec->timestamp[first] != 0))
    return ns_of(((double)rec->timestamp[first] - (double)rec->timestamp[0]) * ts_unit_ns(cfg));
  if (s == 0)
    return 0;
  int64_t pfirst = s > 1 ? cfg->rates[s - 2].end_sample : 0;
  double samp = cfg->rates[s - 1].samp_hz;
  return ns_add(seg_start_ns(rec, s - 1),
                samp > 0 ? ns_of((double)(first - pfirst) * 1e9 / samp) : 0);
}

int64_t hr_ct_time_ns(const hr_ct_rec_t *rec, int64_t k)
{
  if (!rec || k < 0 || k >= rec->n_samples)
    return INT64_MIN;
  const hr_ct_cfg_t *cfg = &rec->cfg;
  int s = cfg->n_rates ? segment_of(cfg, k) : -1;
  if (s < 0 || cfg->rates[s].samp_hz <= 0) {
    if (rec->timestamp[k] == HR_CT_NO_TIME || rec->timestamp[0] == HR_CT_NO_TIME)
      return INT64_MIN;
    return ns_add(cfg->start_ns,
                  ns_of(((double)rec->timestamp[k] - (double)rec->timestamp[0]) * ts_unit_ns(cfg)));
  }
  int64_t first = s ? cfg->rates[s - 1].end_sample : 0;
  return ns_add(ns_add(cfg->start_ns, seg_start_ns(rec, s)),
                ns_of((double)(k - first) * 1e9 / cfg->rates[s].samp_hz));
}

/* ------------------------------------------------------------ DAT */

static uint32_t rd32(const unsigned char *p)
{
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int dat_binary(hr_ct_rec_t *r, hr_ct_format_t format, const unsigned char *b, size_t len,
                      hr_ct_info_t *info, hr_diag_t *diag)
{
  const hr_ct_cfg_t *cfg = &r->cfg;
  size_t rb = hr__ct_record_bytes(cfg, format);
  size_t n = len / rb, na = (size_t)cfg->n_analog, nd = (size_t)cfg->n_digital;
  size_t words = (nd + 15) / 16;
  if (len % rb) {
    info->warnings |= HR_CT_WARN_TRAILING;
    info->trailing_bytes = len % rb;
  }
  if (n == 0)
    return ct_fail(diag, HR_ERR_TRUNCATED, 0, 0, 0, "record 1",
                   "%zu bytes, less than one %zu-byte record", len, rb);
  r->raw = malloc(n * (na ? na : 1) * sizeof *r->raw);
  r->digital = malloc(n * (nd ? nd : 1));
  r->sample_num = malloc(n * sizeof *r->sample_num);
  r->timestamp = malloc(n * sizeof *r->timestamp);
  if (!r->raw || !r->digital || !r->sample_num || !r->timestamp)
    return HR_ERR_NOMEM;
  int64_t missing = 0;
  unsigned bad_num = 0;
  for (size_t k = 0; k < n; k++) {
    const unsigned char *p = b + k * rb;
    r->sample_num[k] = rd32(p);
    if (r->sample_num[k] != (int64_t)k + 1)
      bad_num = 1;
    uint32_t ts = rd32(p + 4);
    r->timestamp[k] = ts == 0xFFFFFFFFu ? HR_CT_NO_TIME : (int64_t)ts;
    p += 8;
    double *raw = r->raw + k * na;
    for (size_t c = 0; c < na; c++) {
      if (format == HR_CT_BINARY) {
        int16_t code = (int16_t)((uint16_t)p[0] | (uint16_t)p[1] << 8);
        p += 2;
        /* §8.4.2: 0x8000 marks a missing value. */
        if (code == INT16_MIN) {
          raw[c] = NAN;
          missing++;
        } else
          raw[c] = code;
      } else if (format == HR_CT_BINARY32) {
        int32_t code = (int32_t)rd32(p);
        p += 4;
        if (code == INT32_MIN) {
          raw[c] = NAN;
          missing++;
        } else
          raw[c] = code;
      } else {
        uint32_t u = rd32(p);
        float fv;
        memcpy(&fv, &u, 4);
        p += 4;
        if (isnan(fv))
          missing++;
        raw[c] = fv;
      }
    }
    uint8_t *dg = r->digital + k * nd;
    for (size_t w = 0; w < words; w++) {
      unsigned word = (unsigned)p[0] | (unsigned)p[1] << 8;
      p += 2;
      for (size_t bit = 0; bit < 16 && w * 16 + bit < nd; bit++)
        dg[w * 16 + bit] = (uint8_t)((word >> bit) & 1u);
    }
  }
  r->n_samples = (int64_t)n;
  info->missing_values = missing;
  if (missing)
    info->warnings |= HR_CT_WARN_MISSING;
  if (bad_num)
    info->warnings |= HR_CT_WARN_SAMPLE_NUM;
  return HR_OK;
}

static int dat_ascii(hr_ct_rec_t *r, const char *text, size_t len, hr_ct_info_t *info,
                     hr_diag_t *diag)
{
  const hr_ct_cfg_t *cfg = &r->cfg;
  size_t na = (size_t)cfg->n_analog, nd = (size_t)cfg->n_digital;
  while (len > 0 && (text[len - 1] == 0x1A || text[len - 1] == 0))
    len--;
  size_t max_lines = 1;
  for (size_t k = 0; k < len; k++) /* CR alone also ends a line (next_line) */
    max_lines += text[k] == '\n' || text[k] == '\r';
  r->raw = malloc(max_lines * (na ? na : 1) * sizeof *r->raw);
  r->digital = malloc(max_lines * (nd ? nd : 1));
  r->sample_num = malloc(max_lines * sizeof *r->sample_num);
  r->timestamp = malloc(max_lines * sizeof *r->timestamp);
  if (!r->raw || !r->digital || !r->sample_num || !r->timestamp)
    return HR_ERR_NOMEM;
  lines_t L = {.text = text, .len = len};
  const char *s;
  size_t n, k = 0;
  int64_t missing = 0;
  unsigned bad_num = 0;
  size_t want = 2 + na + nd;
  char fld[48];
  while ((s = next_line(&L, &n)) != NULL) {
    size_t a = 0;
    while (a < n && (s[a] == ' ' || s[a] == '\t'))
      a++;
    if (a == n)
      continue; /* blank line */
    size_t col = 0, start = 0;
    double *raw = r->raw + k * na;
    uint8_t *dg = r->digital + k * nd;
    for (size_t q = 0; q <= n; q++) {
      if (q < n && s[q] != ',')
        continue;
      const char *p = s + start;
      size_t fl = q - start;
      while (fl && (*p == ' ' || *p == '\t')) {
        p++;
        fl--;
      }
      while (fl && (p[fl - 1] == ' ' || p[fl - 1] == '\t'))
        fl--;
      if (col >= want) {
        /* Tolerate one trailing empty field (a trailing comma). */
        if (col == want && fl == 0 && q == n)
          break;
        return ct_fail(diag, HR_ERR_CHANNELS, L.lineno, start + 1, L.line_off + start, "record",
                       "more than %zu fields", want);
      }
      int64_t iv;
      double dv;
      if (col == 0) {
        if (field_int(p, fl, 0, 4294967295LL, &iv) != 0) {
          return ct_fail(diag, HR_ERR_PARSE, L.lineno, start + 1, L.line_off + start, "n",
                         "sample number '%.*s' is not an integer", (int)(fl > 30 ? 30 : fl), p);
        }
        r->sample_num[k] = iv;
        if (iv != (int64_t)k + 1)
          bad_num = 1;
      } else if (col == 1) {
        if (fl == 0)
          r->timestamp[k] = HR_CT_NO_TIME;
        else if (field_int(p, fl, -4294967295LL, 4294967295LL, &iv) != 0) {
          return ct_fail(diag, HR_ERR_PARSE, L.lineno, start + 1, L.line_off + start, "timestamp",
                         "'%.*s' is not an integer", (int)(fl > 30 ? 30 : fl), p);
        } else
          r->timestamp[k] = iv;
      } else if (col < 2 + na) {
        size_t c = col - 2;
        if (fl == 0) {
          raw[c] = NAN; /* §8.3: an empty field is a missing value */
          missing++;
        } else if (field_num(p, fl, &dv) != 0) {
          snprintf(fld, sizeof fld, "analog %zu", c + 1);
          return ct_fail(diag, HR_ERR_PARSE, L.lineno, start + 1, L.line_off + start, fld,
                         "'%.*s' is not a number", (int)(fl > 30 ? 30 : fl), p);
        } else if (dv == 99999.0 && (cfg->rev_year == 1999 || dv > cfg->analog[c].max)) {
          /* C37.111-1999 §7.3: 99999 marks a missing ASCII value; in 2013
           * files it is taken as one only outside the channel's range. */
          raw[c] = NAN;
          missing++;
        } else
          raw[c] = dv;
      } else {
        size_t c = col - 2 - na;
        if (field_int(p, fl, 0, 1, &iv) != 0) {
          snprintf(fld, sizeof fld, "digital %zu", c + 1);
          return ct_fail(diag, HR_ERR_PARSE, L.lineno, start + 1, L.line_off + start, fld,
                         "'%.*s' is not 0 or 1", (int)(fl > 30 ? 30 : fl), p);
        }
        dg[c] = (uint8_t)iv;
      }
      col++;
      start = q + 1;
    }
    if (col < want) {
      return ct_fail(diag, HR_ERR_CHANNELS, L.lineno, 0, L.line_off, "record",
                     "%zu fields, expected %zu", col, want);
    }
    k++;
  }
  if (k == 0)
    return ct_fail(diag, HR_ERR_TRUNCATED, L.lineno ? L.lineno : 1, 0, 0, "record 1",
                   "no data records");
  r->n_samples = (int64_t)k;
  info->missing_values = missing;
  if (missing)
    info->warnings |= HR_CT_WARN_MISSING;
  if (bad_num)
    info->warnings |= HR_CT_WARN_SAMPLE_NUM;
  return HR_OK;
}

int hr_ct_dat_parse(const hr_ct_cfg_t *cfg, hr_ct_format_t format, const void *bytes, size_t len,
                    const char *name, hr_ct_rec_t **out, hr_ct_info_t *info, hr_diag_t *diag)
{
  hr_ct_info_t scratch; /* so that the decoders record facts unconditionally */
  if (!info)
    info = &scratch;
  memset(info, 0, sizeof *info);
  hr__diag_begin(diag, src_name(name));
  if (!cfg || !out || (!bytes && len))
    return ct_fail(diag, HR_ERR_INVALID_ARG, 0, 0, NO_OFF, NULL,
                   !cfg   ? "no config"
                   : !out ? "no output"
                          : "no bytes but a length");
  if (format < HR_CT_ASCII || format > HR_CT_FLOAT32)
    return ct_fail(diag, HR_ERR_INVALID_ARG, 0, 0, NO_OFF, "ft", "unknown DAT format %d",
                   (int)format);
  if ((uint64_t)len > HR_CT_MAX_BYTES)
    return ct_fail(diag, HR_ERR_RANGE, 0, 0, NO_OFF, "DAT", "larger than %llu bytes",
                   (unsigned long long)HR_CT_MAX_BYTES);
  info->declared_samples = cfg->end_sample;
  hr_ct_rec_t *r = calloc(1, sizeof *r);
  if (!r)
    return ct_fail(diag, HR_ERR_NOMEM, 0, 0, NO_OFF, "DAT", "out of memory");
  int rc = hr__ct_cfg_copy(&r->cfg, cfg);
  if (rc == HR_OK) {
    r->cfg.format = format;
    rc = format == HR_CT_ASCII ? dat_ascii(r, bytes, len, info, diag)
                               : dat_binary(r, format, bytes, len, info, diag);
  }
  if (rc != HR_OK) {
    /* The decoders fill diag for what they find in the data; running out of
     * memory is the one failure they leave to here. */
    if (rc == HR_ERR_NOMEM)
      ct_fail(diag, rc, 0, 0, NO_OFF, "DAT", "out of memory");
    hr_ct_rec_destroy(r);
    return rc;
  }
  info->found_samples = r->n_samples;
  if (r->n_samples < cfg->end_sample)
    info->warnings |= HR_CT_WARN_DAT_SHORT;
  else if (r->n_samples > cfg->end_sample)
    info->warnings |= HR_CT_WARN_DAT_LONG;
  *out = r;
  return HR_OK;
}

/* ------------------------------------------------------------ files */

/* Adds what the DAT parse found to the CFG's facts in to. */
static void info_add_dat(hr_ct_info_t *to, const hr_ct_info_t *dat)
{
  to->warnings |= dat->warnings;
  to->found_samples = dat->found_samples;
  to->trailing_bytes = dat->trailing_bytes;
  to->missing_values = dat->missing_values;
}

/* A CFF section marker: a line starting with '-' that holds "file type". */
static int cff_marker(const char *s, size_t n, char *type, size_t cap, int *standard)
{
  if (n < 12 || s[0] != '-')
    return 0;
  const char *p = NULL;
  for (size_t k = 0; k + 9 <= n; k++)
    if (strncasecmp(s + k, "file type", 9) == 0) {
      p = s + k + 9;
      break;
    }
  if (!p)
    return 0;
  *standard =
      strncmp(s, "--- file type: ", 15) == 0 && n >= 4 && strncmp(s + n - 4, " ---", 4) == 0;
  const char *e = s + n;
  while (p < e && (*p == ':' || *p == ' '))
    p++;
  while (e > p && (e[-1] == '-' || e[-1] == ' '))
    e--;
  size_t k = (size_t)(e - p) < cap - 1 ? (size_t)(e - p) : cap - 1;
  memcpy(type, p, k);
  type[k] = 0;
  return 1;
}

/* Moves a diag of a section parse into the frame of the whole CFF: the
 * section starts at byte at, line first_line (0: the diag has no line). */
static void cff_relocate(hr_diag_t *d, uint64_t first_line, size_t at)
{
  if (!d)
    return;
  if (d->line)
    d->line += (long)first_line - 1;
  if (d->has_offset)
    d->offset += at;
}

static int read_cff(const char *path, char *buf, size_t len, hr_ct_rec_t **out, hr_ct_info_t *info,
                    hr_diag_t *diag)
{
  lines_t L = {.text = buf, .len = len};
  const char *s;
  size_t n;
  char type[64];
  int std;
  size_t cfg_at = SIZE_MAX, cfg_end = 0, dat_at = SIZE_MAX;
  uint64_t dat_line = 0;
  char dat_type[64] = "";
  unsigned warn = 0;
  while ((s = next_line(&L, &n)) != NULL) {
    if (!cff_marker(s, n, type, sizeof type, &std))
      continue;
    if (!std)
      warn |= HR_CT_WARN_CFF_MARKER;
    if (cfg_at != SIZE_MAX && cfg_end == 0)
      cfg_end = L.line_off;
    if (strncasecmp(type, "CFG", 3) == 0)
      cfg_at = L.pos;
    else if (strncasecmp(type, "DAT", 3) == 0) {
      dat_at = L.pos;
      dat_line = L.lineno;
      snprintf(dat_type, sizeof dat_type, "%s", type);
      break; /* DAT is the last section (§9); binary data follows */
    }
  }
  info->warnings |= warn;
  if (cfg_at == SIZE_MAX)
    return ct_fail(diag, HR_ERR_PARSE, 1, 0, 0, "file type: CFG", "no CFG section marker");
  if (dat_at == SIZE_MAX)
    return ct_fail(diag, HR_ERR_PARSE, L.lineno + 1, 0, len, "file type: DAT",
                   "no DAT section marker");
  if (cfg_end == 0)
    cfg_end = dat_at;
  hr_ct_cfg_t cfg;
  /* The CFG parse clears info; the marker warnings are put back after it. */
  int rc = hr_ct_cfg_parse(buf + cfg_at, cfg_end - cfg_at, path, &cfg, info, diag);
  info->warnings |= warn;
  if (rc != HR_OK) {
    uint64_t first = 1; /* line numbers inside the CFF */
    for (size_t k = 0; k < cfg_at; k++)
      first += buf[k] == '\n';
    cff_relocate(diag, first, cfg_at);
    return rc;
  }
  /* "DAT <format>: <bytes>" (§9.2); the non-standard marker gives neither. */
  size_t dlen = len - dat_at;
  const char *colon = strchr(dat_type, ':');
  if (colon) {
    char *e;
    unsigned long long nb = strtoull(colon + 1, &e, 10);
    if (e == colon + 1 || nb > dlen) {
      hr_ct_cfg_free(&cfg);
      return ct_fail(diag, HR_ERR_TRUNCATED, dat_line, 0, dat_at, "DAT byte count",
                     "marker says %s bytes, %zu follow", colon + 1, dlen);
    }
    dlen = (size_t)nb;
  }
  char fmtname[32] = "";
  sscanf(dat_type + 3, " %31[A-Za-z0-9]", fmtname);
  hr_ct_format_t mfmt;
  if (fmtname[0] && (hr_ct_format_parse(fmtname, &mfmt) != HR_OK || mfmt != cfg.format)) {
    rc = ct_fail(diag, HR_ERR_PARSE, dat_line, 0, dat_at, "DAT format",
                 "marker says '%s', the CFG says %s", fmtname, hr_ct_format_name(cfg.format));
    hr_ct_cfg_free(&cfg);
    return rc;
  }
  hr_ct_info_t dat;
  rc = hr_ct_dat_parse(&cfg, cfg.format, buf + dat_at, dlen, path, out, &dat, diag);
  info_add_dat(info, &dat);
  if (rc != HR_OK)
    cff_relocate(diag, dat_line + 1, dat_at); /* the DAT's line 1 follows its marker */
  hr_ct_cfg_free(&cfg);
  return rc;
}

int hr_ct_read(const char *path, const char *dat_path, hr_ct_rec_t **out, hr_ct_info_t *info,
               hr_diag_t *diag)
{
  hr_ct_info_t scratch; /* so that the parsers record facts unconditionally */
  if (!info)
    info = &scratch;
  memset(info, 0, sizeof *info);
  hr__diag_begin(diag, src_name(path));
  if (!path || !out)
    return ct_fail(diag, HR_ERR_INVALID_ARG, 0, 0, NO_OFF, NULL,
                   !path ? "no file given" : "no output");
  char *buf;
  size_t len;
  int rc = hr__file_read(path, (size_t)HR_CT_MAX_BYTES + HR_CT_MAX_CFG_BYTES, &buf, &len, diag);
  if (rc != HR_OK)
    return rc;
  /* The CFF form starts with its CFG marker (§9.1); a CFG starts with text. */
  size_t n0 = 0;
  while (n0 < len && buf[n0] != '\n' && buf[n0] != '\r')
    n0++;
  char type[64];
  int std;
  if (cff_marker(buf, n0, type, sizeof type, &std)) {
    rc = read_cff(path, buf, len, out, info, diag);
    free(buf);
    return rc;
  }
  hr_ct_cfg_t cfg;
  rc = hr_ct_cfg_parse(buf, len, path, &cfg, info, diag);
  free(buf);
  if (rc != HR_OK)
    return rc;
  char dpath[4096];
  const char *dp = dat_path;
  char *dbuf = NULL;
  size_t dlen = 0;
  if (!dp) {
    size_t pl = strlen(path);
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - path) : pl;
    if (stem + 5 > sizeof dpath) {
      hr_ct_cfg_free(&cfg);
      return ct_fail(diag, HR_ERR_INVALID_ARG, 0, 0, NO_OFF, NULL,
                     "path too long to derive the DAT name from");
    }
    memcpy(dpath, path, stem);
    /* The DAT extension follows the CFG's case (.cfg -> .dat, .CFG -> .DAT). */
    int upper = dot && dot[1] >= 'A' && dot[1] <= 'Z';
    memcpy(dpath + stem, upper ? ".DAT" : ".dat", 5);
    FILE *t = fopen(dpath, "rb");
    if (!t) {
      memcpy(dpath + stem, upper ? ".dat" : ".DAT", 5);
      t = fopen(dpath, "rb");
      if (!t) /* neither exists: report the expected name */
        memcpy(dpath + stem, upper ? ".DAT" : ".dat", 5);
    }
    if (t)
      fclose(t);
    dp = dpath;
  }
  /* From here on the problems are in the DAT: name it as the source. */
  hr__diag_begin(diag, dp);
  rc = hr__file_read(dp, (size_t)HR_CT_MAX_BYTES, &dbuf, &dlen, diag);
  if (rc == HR_OK) {
    hr_ct_info_t dat;
    rc = hr_ct_dat_parse(&cfg, cfg.format, dbuf, dlen, dp, out, &dat, diag);
    info_add_dat(info, &dat);
    free(dbuf);
  }
  hr_ct_cfg_free(&cfg);
  return rc;
}

const char *hr_ct_format_name(hr_ct_format_t format)
{
  switch (format) {
  case HR_CT_ASCII:
    return "ASCII";
  case HR_CT_BINARY:
    return "BINARY";
  case HR_CT_BINARY32:
    return "BINARY32";
  case HR_CT_FLOAT32:
    return "FLOAT32";
  }
  return "unknown";
}

int hr_ct_format_parse(const char *name, hr_ct_format_t *out)
{
  if (!name || !out)
    return HR_ERR_PARSE;
  for (int f = HR_CT_ASCII; f <= HR_CT_FLOAT32; f++)
    if (strcasecmp(name, hr_ct_format_name((hr_ct_format_t)f)) == 0) {
      *out = (hr_ct_format_t)f;
      return HR_OK;
    }
  return HR_ERR_PARSE;
}
