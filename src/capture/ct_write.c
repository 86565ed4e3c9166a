/* COMTRADE writer: IEEE C37.111-2013 CFG (§7), DAT (§8) and CFF (§9).
 * Files are written under a temporary name, flushed with fsync and renamed;
 * with CFG + DAT the DAT is renamed first, so a CFG present under its final
 * name always has its complete DAT. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ct_int.h"
#include "headroom/error.h"

typedef struct buf {
  char *p;
  size_t len, cap;
  int err;
} buf_t;

static void grow(buf_t *b, size_t need)
{
  if (b->err || b->len + need <= b->cap)
    return;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < b->len + need)
    cap *= 2;
  char *np = realloc(b->p, cap);
  if (!np) {
    b->err = HR_ERR_NOMEM;
    return;
  }
  b->p = np;
  b->cap = cap;
}

static void bput(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bput(buf_t *b, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) {
    b->err = HR_ERR_INVALID_ARG;
    return;
  }
  grow(b, (size_t)n + 1);
  if (b->err)
    return;
  va_start(ap, fmt);
  vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

static void bbytes(buf_t *b, const void *p, size_t n)
{
  grow(b, n);
  if (b->err)
    return;
  memcpy(b->p + b->len, p, n);
  b->len += n;
}

static void b32(buf_t *b, uint32_t v)
{
  unsigned char c[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                        (unsigned char)(v >> 24)};
  bbytes(b, c, 4);
}

/* Text fields may not hold the separators of the format. */
static void btext(buf_t *b, const char *s)
{
  for (; *s; s++)
    bput(b, "%c", *s == ',' ? ';' : (*s == '\n' || *s == '\r') ? ' ' : *s);
}

/* §7.4.7: dd/mm/yyyy,hh:mm:ss.ssssss (6 or 9 fractional digits). */
static void bdate(buf_t *b, int64_t t_ns, int digits)
{
  int64_t s = t_ns / 1000000000, ns = t_ns % 1000000000;
  if (ns < 0) {
    ns += 1000000000;
    s--;
  }
  int64_t days = s / 86400, sod = s % 86400;
  if (sod < 0) {
    sod += 86400;
    days--;
  }
  int64_t y;
  unsigned m, d;
  hr__ct_civil_from_days(days, &y, &m, &d);
  if (digits == 9)
    bput(b, "%02u/%02u/%04lld,%02d:%02d:%02d.%09lld\r\n", d, m, (long long)y, (int)(sod / 3600),
         (int)(sod / 60 % 60), (int)(sod % 60), (long long)ns);
  else
    bput(b, "%02u/%02u/%04lld,%02d:%02d:%02d.%06lld\r\n", d, m, (long long)y, (int)(sod / 3600),
         (int)(sod / 60 % 60), (int)(sod % 60), (long long)(ns / 1000));
}

static void make_cfg(buf_t *b, const hr_ct_rec_t *rec, const hr_ct_write_opts_t *o)
{
  const hr_ct_cfg_t *c = &rec->cfg;
  btext(b, c->station);
  bput(b, ",");
  btext(b, c->rec_dev_id);
  bput(b, ",2013\r\n%d,%dA,%dD\r\n", c->n_analog + c->n_digital, c->n_analog, c->n_digital);
  for (int k = 0; k < c->n_analog; k++) {
    const hr_ct_analog_t *a = &c->analog[k];
    bput(b, "%d,", k + 1);
    btext(b, a->id);
    bput(b, ",");
    btext(b, a->ph);
    bput(b, ",");
    btext(b, a->ccbm);
    bput(b, ",");
    btext(b, a->unit);
    bput(b, ",%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%c\r\n", a->a, a->b, a->skew_us, a->min,
         a->max, a->primary, a->secondary, a->ps == 'S' ? 'S' : 'P');
  }
  for (int k = 0; k < c->n_digital; k++) {
    const hr_ct_digital_t *d = &c->digital[k];
    bput(b, "%d,", k + 1);
    btext(b, d->id);
    bput(b, ",");
    btext(b, d->ph);
    bput(b, ",");
    btext(b, d->ccbm);
    bput(b, ",%d\r\n", d->normal ? 1 : 0);
  }
  bput(b, "%.17g\r\n%d\r\n", c->line_freq_hz, c->n_rates);
  if (c->n_rates == 0)
    bput(b, "0,%lld\r\n", (long long)rec->n_samples);
  for (int r = 0; r < c->n_rates; r++) {
    /* §7.4.6: the last endsamp is the exact number of samples written. */
    int64_t end = r == c->n_rates - 1 ? rec->n_samples : c->rates[r].end_sample;
    bput(b, "%.17g,%lld\r\n", c->rates[r].samp_hz, (long long)end);
  }
  bdate(b, c->start_ns, o->frac_digits);
  bdate(b, c->trigger_ns, o->frac_digits);
  bput(b, "%s\r\n%.17g\r\n", hr_ct_format_name(o->format), c->timemult);
  btext(b, c->time_code[0] ? c->time_code : "0");
  bput(b, ",");
  btext(b, c->local_code[0] ? c->local_code : "0");
  bput(b, "\r\n");
  btext(b, c->tmq_code[0] ? c->tmq_code : "0");
  bput(b, ",%d\r\n", c->leap_sec);
}

static int make_dat(buf_t *b, const hr_ct_rec_t *rec, hr_ct_format_t fmt)
{
  const hr_ct_cfg_t *c = &rec->cfg;
  size_t na = (size_t)c->n_analog, nd = (size_t)c->n_digital, words = (nd + 15) / 16;
  if (fmt != HR_CT_ASCII)
    grow(b, hr__ct_record_bytes(c, fmt) * (size_t)rec->n_samples);
  for (int64_t k = 0; k < rec->n_samples && !b->err; k++) {
    const double *raw = rec->raw + (size_t)k * na;
    const uint8_t *dg = rec->digital + (size_t)k * nd;
    int64_t sn = rec->sample_num[k], ts = rec->timestamp[k];
    if (fmt == HR_CT_ASCII) {
      bput(b, "%lld,", (long long)sn);
      if (ts != HR_CT_NO_TIME)
        bput(b, "%lld", (long long)ts);
      for (size_t a = 0; a < na; a++) {
        if (isnan(raw[a]))
          bput(b, ","); /* §8.3: an empty field is a missing value */
        else
          bput(b, ",%.17g", raw[a]);
      }
      for (size_t d = 0; d < nd; d++)
        bput(b, ",%d", dg[d] ? 1 : 0);
      bput(b, "\r\n");
      continue;
    }
    if (sn < 0 || sn > 0xFFFFFFFFLL || (ts != HR_CT_NO_TIME && (ts < 0 || ts >= 0xFFFFFFFFLL)))
      return HR_ERR_RANGE;
    b32(b, (uint32_t)sn);
    b32(b, ts == HR_CT_NO_TIME ? 0xFFFFFFFFu : (uint32_t)ts);
    for (size_t a = 0; a < na; a++) {
      double v = raw[a];
      if (fmt == HR_CT_BINARY) {
        if (!isnan(v) && (v != floor(v) || v < -32767 || v > 32767))
          return HR_ERR_RANGE;
        uint16_t u = isnan(v) ? 0x8000u : (uint16_t)(int16_t)v;
        unsigned char cb[2] = {(unsigned char)u, (unsigned char)(u >> 8)};
        bbytes(b, cb, 2);
      } else if (fmt == HR_CT_BINARY32) {
        if (!isnan(v) && (v != floor(v) || v < -2147483647.0 || v > 2147483647.0))
          return HR_ERR_RANGE;
        b32(b, isnan(v) ? 0x80000000u : (uint32_t)(int32_t)v);
      } else {
        float f = (float)v;
        if (!isnan(v) && (double)f != v)
          return HR_ERR_RANGE;
        uint32_t u;
        memcpy(&u, &f, 4);
        b32(b, u);
      }
    }
    for (size_t w = 0; w < words; w++) {
      unsigned word = 0;
      for (size_t bit = 0; bit < 16 && w * 16 + bit < nd; bit++)
        word |= (unsigned)(dg[w * 16 + bit] ? 1 : 0) << bit;
      unsigned char cb[2] = {(unsigned char)word, (unsigned char)(word >> 8)};
      bbytes(b, cb, 2);
    }
  }
  return b->err;
}

/* Writes data to path through path.tmp.PID, fsync, rename. */
static int put_file(const char *path, const buf_t *parts, int n_parts)
{
  char tmp[4200];
  if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= sizeof tmp)
    return HR_ERR_INVALID_ARG;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return HR_ERR_IO;
  int rc = HR_OK;
  for (int p = 0; p < n_parts && rc == HR_OK; p++) {
    size_t off = 0;
    while (off < parts[p].len) {
      ssize_t w = write(fd, parts[p].p + off, parts[p].len - off);
      if (w < 0) {
        if (errno == EINTR)
          continue;
        rc = HR_ERR_IO;
        break;
      }
      off += (size_t)w;
    }
  }
  if (rc == HR_OK && fsync(fd) != 0)
    rc = HR_ERR_IO;
  if (close(fd) != 0 && rc == HR_OK)
    rc = HR_ERR_IO;
  if (rc == HR_OK && rename(tmp, path) != 0)
    rc = HR_ERR_IO;
  if (rc != HR_OK)
    unlink(tmp);
  return rc;
}

static void sync_dir(const char *path)
{
  char dir[4200];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash)
    *slash = 0;
  else
    snprintf(dir, sizeof dir, ".");
  int fd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    (void)fsync(fd); /* best effort: some file systems refuse directory fsync */
    close(fd);
  }
}

int hr_ct_write(const hr_ct_rec_t *rec, const char *base, const hr_ct_write_opts_t *opts)
{
  if (!rec || !base || !opts || opts->format < HR_CT_ASCII || opts->format > HR_CT_FLOAT32 ||
      (opts->frac_digits != 6 && opts->frac_digits != 9) || rec->n_samples < 1 ||
      rec->cfg.n_analog + rec->cfg.n_digital < 1 || rec->cfg.n_rates < 0 ||
      rec->cfg.n_rates > HR_CT_MAX_RATES || strlen(base) > 4000)
    return HR_ERR_INVALID_ARG;
  if (rec->n_samples > 0xFFFFFFFFLL)
    return HR_ERR_RANGE;
  buf_t cfg = {0}, dat = {0}, mark = {0}, mark2 = {0};
  make_cfg(&cfg, rec, opts);
  int rc = cfg.err;
  if (rc == HR_OK)
    rc = make_dat(&dat, rec, opts->format);
  char path[4100];
  if (rc == HR_OK && opts->cff) {
    /* §9: sections CFG, INF, HDR, DAT; the binary DAT marker gives its size. */
    bput(&mark, "--- file type: CFG ---\r\n");
    bput(&mark2, "--- file type: INF ---\r\n--- file type: HDR ---\r\n");
    if (opts->format == HR_CT_ASCII)
      bput(&mark2, "--- file type: DAT ASCII ---\r\n");
    else
      bput(&mark2, "--- file type: DAT %s: %zu ---\r\n", hr_ct_format_name(opts->format), dat.len);
    rc = mark.err ? mark.err : mark2.err;
    if (rc == HR_OK) {
      buf_t parts[4] = {mark, cfg, mark2, dat};
      snprintf(path, sizeof path, "%s.cff", base);
      rc = put_file(path, parts, 4);
    }
  } else if (rc == HR_OK) {
    snprintf(path, sizeof path, "%s.dat", base);
    rc = put_file(path, &dat, 1);
    if (rc == HR_OK) {
      snprintf(path, sizeof path, "%s.cfg", base);
      rc = put_file(path, &cfg, 1);
      if (rc != HR_OK) {
        snprintf(path, sizeof path, "%s.dat", base);
        unlink(path);
      }
    }
  }
  if (rc == HR_OK)
    sync_dir(path);
  free(cfg.p);
  free(dat.p);
  free(mark.p);
  free(mark2.p);
  return rc;
}

int hr_ct_rec_quantize(hr_ct_rec_t *rec, hr_ct_format_t format)
{
  if (!rec || format < HR_CT_ASCII || format > HR_CT_FLOAT32)
    return HR_ERR_INVALID_ARG;
  size_t na = (size_t)rec->cfg.n_analog;
  for (size_t c = 0; c < na; c++) {
    hr_ct_analog_t *a = &rec->cfg.analog[c];
    double lo = INFINITY, hi = -INFINITY;
    int fits = 1;
    for (int64_t k = 0; k < rec->n_samples; k++) {
      double v = rec->raw[(size_t)k * na + c];
      if (isnan(v))
        continue;
      if (v < lo)
        lo = v;
      if (v > hi)
        hi = v;
      if (format == HR_CT_FLOAT32 && (double)(float)v != v)
        fits = 0;
      if ((format == HR_CT_BINARY || format == HR_CT_BINARY32) && v != floor(v))
        fits = 0;
    }
    double lim = format == HR_CT_BINARY ? 32767.0 : 2147483647.0;
    if (format == HR_CT_ASCII || (fits && (format == HR_CT_FLOAT32 || lo >= -lim) &&
                                  (format == HR_CT_FLOAT32 || hi <= lim))) {
      if (format == HR_CT_BINARY || format == HR_CT_BINARY32) {
        a->min = -lim;
        a->max = lim;
      }
      continue;
    }
    if (!isfinite(lo)) { /* all missing */
      lo = hi = 0;
    }
    /* New scale: values a*raw+b spread over +-lim codes, centred. */
    double va = a->a * lo + a->b, vb = a->a * hi + a->b;
    double vlo = va < vb ? va : vb, vhi = va < vb ? vb : va;
    double mid = 0.5 * (vlo + vhi), half = 0.5 * (vhi - vlo);
    double na_ = format == HR_CT_FLOAT32 ? 1.0 : (half > 0 ? half / lim : 1.0);
    double nb_ = format == HR_CT_FLOAT32 ? 0.0 : mid;
    for (int64_t k = 0; k < rec->n_samples; k++) {
      double *v = &rec->raw[(size_t)k * na + c];
      if (isnan(*v))
        continue;
      double x = a->a * *v + a->b;
      if (format == HR_CT_FLOAT32)
        *v = (double)(float)x;
      else {
        double code = nearbyint((x - nb_) / na_);
        *v = code > lim ? lim : code < -lim ? -lim : code;
      }
    }
    a->a = na_;
    a->b = nb_;
    a->min = format == HR_CT_FLOAT32 ? -3.4028234663852886e38 : -lim;
    a->max = format == HR_CT_FLOAT32 ? 3.4028234663852886e38 : lim;
  }
  return HR_OK;
}
