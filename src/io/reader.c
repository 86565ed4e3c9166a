/* headroom: the sample-stream reader, common part and the raw formats
 * (f32le, i16le).  The CSV decoder is in reader_csv.c. */
#ifndef _POSIX_C_SOURCE
#endif

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "headroom/error.h"
#include "headroom/reader.h"
#include "core/core.h"
#include "io/reader_int.h"

/* ---------------------------------------------------------------- formats */

static const hr__enum_name_t format_names[] = {
    {HR_FMT_F32LE, "f32le"}, {HR_FMT_I16LE, "i16le"}, {HR_FMT_CSV, "csv"}};

int hr_sample_format_parse(const char *name, hr_sample_format_t *out)
{
  int v;
  if (!out)
    return HR_ERR_INVALID_ARG;
  int rc = hr__enum_parse(format_names, HR__COUNT(format_names), name, 1, &v);
  if (rc == HR_OK)
    *out = (hr_sample_format_t)v;
  return rc;
}

const char *hr_sample_format_name(hr_sample_format_t format)
{
  return hr__enum_name(format_names, HR__COUNT(format_names), (int)format, "unknown");
}

int hr_sample_format_bytes(hr_sample_format_t format)
{
  switch (format) {
  case HR_FMT_F32LE:
    return 4;
  case HR_FMT_I16LE:
    return 2;
  case HR_FMT_CSV:
    return 0;
  }
  return 0;
}

/* ------------------------------------------------------- create / destroy */

static int format_known(hr_sample_format_t format)
{
  return format == HR_FMT_F32LE || format == HR_FMT_I16LE || format == HR_FMT_CSV;
}

int hr_reader_cfg_init(hr_reader_cfg_t *cfg, hr_sample_format_t format, int n_channels)
{
  if (!cfg)
    return HR_ERR_INVALID_ARG;
  memset(cfg, 0, sizeof *cfg);
  cfg->format = format;
  cfg->n_channels = n_channels;
  for (int ch = 0; ch < HR_MAX_CH; ch++) {
    cfg->scale[ch] = 1.0;
    cfg->offset[ch] = 0.0;
  }
  cfg->csv_header = -1;
  cfg->csv_skip_columns = 0;
  cfg->skip_bad_lines = 0;
  if (!format_known(format) || n_channels < 1 || n_channels > HR_MAX_CH)
    return HR_ERR_INVALID_ARG;
  return HR_OK;
}

/* The value an i16 code decodes to; the one formula used everywhere so that
 * clip levels compare equal to decoded samples. */
static inline float i16_value(const hr_reader_cfg_t *cfg, int ch, int code)
{
  return (float)((double)code * cfg->scale[ch] + cfg->offset[ch]);
}

static int check_cfg(const hr_reader_cfg_t *cfg)
{
  if (!format_known(cfg->format))
    return HR_ERR_INVALID_ARG;
  if (cfg->n_channels < 1 || cfg->n_channels > HR_MAX_CH)
    return HR_ERR_INVALID_ARG;
  if (cfg->format == HR_FMT_CSV) {
    if (cfg->csv_header < -1 || cfg->csv_header > 1)
      return HR_ERR_INVALID_ARG;
    if (cfg->csv_skip_columns < 0 || cfg->csv_skip_columns > HR_READER_MAX_SKIP_COLUMNS)
      return HR_ERR_INVALID_ARG;
  }
  if (cfg->format == HR_FMT_I16LE) {
    for (int ch = 0; ch < cfg->n_channels; ch++) {
      double s = cfg->scale[ch], o = cfg->offset[ch];
      if (!isfinite(s) || s == 0.0 || !isfinite(o))
        return HR_ERR_INVALID_ARG;
      /* Every code decodes between the two full-scale values (the map is
       * affine), so checking those two keeps every sample finite. */
      if (fabs(32767.0 * s + o) > FLT_MAX || fabs(-32768.0 * s + o) > FLT_MAX)
        return HR_ERR_RANGE;
    }
  }
  return HR_OK;
}

void hr_reader_reset(hr_reader_t *r)
{
  if (!r)
    return;
  r->finished = 0;
  r->failed = 0;
  memset(&r->err, 0, sizeof r->err);
  memset(&r->st, 0, sizeof r->st);
  r->st.err_channel = -1;
  for (int ch = 0; ch < HR_MAX_CH; ch++) {
    r->st.first_clip_frame[ch] = -1;
    r->st.first_nonfinite_frame[ch] = -1;
    r->st.clip_lo[ch] = -INFINITY;
    r->st.clip_hi[ch] = INFINITY;
  }
  if (r->cfg.format == HR_FMT_I16LE) {
    for (int ch = 0; ch < r->cfg.n_channels; ch++) {
      float a = i16_value(&r->cfg, ch, -32768), b = i16_value(&r->cfg, ch, 32767);
      r->st.clip_lo[ch] = a < b ? a : b;
      r->st.clip_hi[ch] = a < b ? b : a;
    }
  }
  r->n_pend = 0;
  r->n_line = 0;
  r->line_start = 0;
  r->discarding = 0;
  r->seen_first_line = 0;
}

int hr_reader_create(const hr_reader_cfg_t *cfg, hr_reader_t **out)
{
  if (!cfg || !out)
    return HR_ERR_INVALID_ARG;
  int rc = check_cfg(cfg);
  if (rc != HR_OK)
    return rc;
  hr_reader_t *r = calloc(1, sizeof *r);
  if (!r)
    return HR_ERR_NOMEM;
  r->cfg = *cfg;
  /* The name is borrowed only during this call: keep a copy, and no pointer
   * to the caller's text. */
  snprintf(r->name, sizeof r->name, "%s", cfg->name ? cfg->name : "");
  r->cfg.name = NULL;
  r->sample_bytes = hr_sample_format_bytes(cfg->format);
  r->frame_bytes = r->sample_bytes * cfg->n_channels;
  hr_reader_reset(r);
  *out = r;
  return HR_OK;
}

void hr_reader_destroy(hr_reader_t *r)
{
  if (!r)
    return;
  free(r);
}

int hr_reader_diag(const hr_reader_t *r, hr_diag_t *out)
{
  if (!r) {
    if (out)
      memset(out, 0, sizeof *out);
    return HR_ERR_INVALID_ARG;
  }
  if (out) {
    *out = r->err;
    snprintf(out->source, sizeof out->source, "%s", r->name);
  }
  return r->err.code;
}

const hr_reader_stats_t *hr_reader_stats(const hr_reader_t *r)
{
  return r ? &r->st : NULL;
}

/* ----------------------------------------------------------------- errors */

int hr__io_fail(hr_reader_t *r, int code, int skipped, uint64_t offset_bytes, uint64_t line,
                int column, int channel, uint64_t leftover_bytes, const char *fmt, ...)
{
  hr_diag_t *e = &r->err;
  memset(e, 0, sizeof *e);
  e->offset = offset_bytes;
  e->has_offset = 1;
  va_list ap;
  va_start(ap, fmt);
  hr__diag_vfail(e, code, (long)line, column, NULL, fmt, ap);
  va_end(ap);
  r->st.err_skipped = skipped ? 1 : 0;
  r->st.err_frame = r->st.frames;
  r->st.err_channel = channel;
  r->st.err_leftover_bytes = leftover_bytes;
  if (!skipped)
    r->failed = 1;
  return code;
}

void hr__io_count_nonfinite(hr_reader_t *r, const float *frame)
{
  for (int ch = 0; ch < r->cfg.n_channels; ch++) {
    if (!isfinite(frame[ch])) {
      if (r->st.nonfinite[ch]++ == 0)
        r->st.first_nonfinite_frame[ch] = (int64_t)r->st.frames;
    }
  }
}

/* ------------------------------------------------------------ raw formats */

/* Decodes one complete frame of raw bytes into out[0..n_channels). */
static void decode_frame(hr_reader_t *r, const unsigned char *b, float *out)
{
  const int nch = r->cfg.n_channels;
  if (r->cfg.format == HR_FMT_F32LE) {
    for (int ch = 0; ch < nch; ch++, b += 4) {
      uint32_t u =
          (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
      memcpy(&out[ch], &u, sizeof u);
    }
    hr__io_count_nonfinite(r, out);
  } else {
    for (int ch = 0; ch < nch; ch++, b += 2) {
      int code = (int)((unsigned)b[0] | (unsigned)b[1] << 8);
      if (code >= 32768)
        code -= 65536;
      out[ch] = i16_value(&r->cfg, ch, code);
      if (code == -32768 || code == 32767) {
        if (r->st.clipped[ch]++ == 0)
          r->st.first_clip_frame[ch] = (int64_t)r->st.frames;
      }
    }
  }
  r->st.frames++;
}

static int raw_push(hr_reader_t *r, const unsigned char *in, size_t n, float *frames,
                    size_t max_frames, size_t *n_frames, size_t *n_used)
{
  const size_t fsz = (size_t)r->frame_bytes, nch = (size_t)r->cfg.n_channels;
  size_t pos = 0, nout = 0;
  while (pos < n) {
    if (r->n_pend == 0 && n - pos >= fsz) {
      /* Whole frames straight from the input. */
      size_t k = (n - pos) / fsz;
      if (k > max_frames - nout)
        k = max_frames - nout;
      if (k == 0)
        break; /* output full */
      for (size_t j = 0; j < k; j++, pos += fsz, nout++)
        decode_frame(r, in + pos, frames + nout * nch);
    } else {
      /* Complete (or extend) the frame carried over from the last push. */
      size_t need = fsz - r->n_pend, take = n - pos < need ? n - pos : need;
      if (take == need && nout == max_frames)
        break; /* completing it would need an output slot */
      memcpy(r->pend + r->n_pend, in + pos, take);
      r->n_pend += take;
      pos += take;
      if (r->n_pend == fsz) {
        decode_frame(r, r->pend, frames + nout * nch);
        nout++;
        r->n_pend = 0;
      }
    }
  }
  r->st.bytes += pos;
  *n_frames = nout;
  *n_used = pos;
  return HR_OK;
}

static int raw_finish(hr_reader_t *r)
{
  if (r->n_pend == 0)
    return HR_OK;
  uint64_t at = r->st.bytes - r->n_pend;
  int channel = (int)(r->n_pend / (size_t)r->sample_bytes);
  return hr__io_fail(r, HR_ERR_TRUNCATED, 0, at, 0, 0, channel, r->n_pend,
                     "input ends inside frame %llu, %zu bytes left over "
                     "(a frame is %d bytes: %d channels x %d bytes)",
                     (unsigned long long)r->st.frames, r->n_pend, r->frame_bytes, r->cfg.n_channels,
                     r->sample_bytes);
}

/* ------------------------------------------------------------ push/finish */

int hr_reader_push(hr_reader_t *r, const void *bytes, size_t n_bytes, float *frames,
                   size_t max_frames, size_t *n_frames, size_t *n_bytes_used)
{
  if (n_frames)
    *n_frames = 0;
  if (n_bytes_used)
    *n_bytes_used = 0;
  if (!r || !n_frames || !n_bytes_used || (n_bytes > 0 && (!bytes || !frames || max_frames == 0)))
    return HR_ERR_INVALID_ARG;
  if (r->failed)
    return r->err.code;
  if (r->finished)
    return HR_ERR_STATE;
  if (n_bytes == 0)
    return HR_OK;
  if (r->cfg.format == HR_FMT_CSV)
    return hr__io_csv_push(r, bytes, n_bytes, frames, max_frames, n_frames, n_bytes_used);
  return raw_push(r, bytes, n_bytes, frames, max_frames, n_frames, n_bytes_used);
}

int hr_reader_finish(hr_reader_t *r, float *frames, size_t max_frames, size_t *n_frames)
{
  if (n_frames)
    *n_frames = 0;
  if (!r || !n_frames || !frames || max_frames == 0)
    return HR_ERR_INVALID_ARG;
  if (r->failed)
    return r->err.code;
  if (r->finished)
    return HR_ERR_STATE;
  r->finished = 1;
  if (r->cfg.format == HR_FMT_CSV)
    return hr__io_csv_finish(r, frames, n_frames);
  return raw_finish(r);
}
