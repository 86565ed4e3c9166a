/* libFuzzer harness for the sample-stream reader (include/headroom/reader.h).
 *
 * Input layout:
 *   byte 0 : format (mod 3: f32le, i16le, csv)
 *   byte 1 : n_channels - 1 (mod HR_MAX_CH)
 *   byte 2 : bits 0-1 csv_header (0 auto, 1 no, 2 yes, 3 auto),
 *            bit 2 skip_bad_lines, bits 3-4 csv_skip_columns, bits 5-7 i16 scale
 *   byte 3 : output size of the chunked run, 1 + (b % 8) frames
 *   byte 4-5 : seed of the chunk sizes (1..64 bytes, 1 in 8 chunks 1 byte)
 *   rest   : the stream
 * The stream is decoded twice: in chunks with a small output, and in one push
 * with an output that holds every frame.  Both must give the same frames (bit
 * for bit), the same errors at the same places, and the same counters; every
 * call must keep the push/finish contract. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "headroom/error.h"
#include "headroom/reader.h"

#define CHECK(c)                                                                                   \
  do {                                                                                             \
    if (!(c))                                                                                      \
      __builtin_trap();                                                                            \
  } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct result {
  float *frames;
  size_t n_frames; /* frames delivered */
  size_t n_events; /* errors reported */
  uint64_t event_hash;
  int rc_final;
  hr_reader_stats_t stats;
} result_t;

static uint64_t mix(uint64_t h, uint64_t v)
{
  h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  return h * 0x100000001b3ull;
}

static void note_error(const hr_reader_t *r, int rc, result_t *res)
{
  hr_diag_t d;
  const hr_diag_t *e = &d;
  const hr_reader_stats_t *st = hr_reader_stats(r);
  CHECK(hr_reader_diag(r, &d) == rc && e->code == rc && rc < 0);
  CHECK(memchr(e->message, '\0', sizeof e->message) != NULL);
  size_t len = strlen(e->message);
  CHECK(len > 0);
  for (size_t k = 0; k < len; k++)
    CHECK(e->message[k] >= 0x20 && e->message[k] < 0x7f); /* one printable line */
  CHECK(st->err_frame == st->frames && st->err_frame == res->n_frames);
  CHECK(e->has_offset && e->offset <= st->bytes);
  uint64_t h = res->event_hash;
  h = mix(h, (uint64_t)(int64_t)e->code);
  h = mix(h, (uint64_t)st->err_skipped);
  h = mix(h, e->offset);
  h = mix(h, (uint64_t)e->line);
  h = mix(h, (uint64_t)(int64_t)e->column);
  h = mix(h, (uint64_t)(int64_t)st->err_channel);
  h = mix(h, st->err_leftover_bytes);
  h = mix(h, st->err_frame);
  for (size_t k = 0; k < len; k++)
    h = mix(h, (unsigned char)e->message[k]);
  res->event_hash = h;
  res->n_events++;
}

/* Decodes the stream in chunks (chunked != 0) or in one push, with an output
 * of max_frames frames; the delivered frames go to res->frames (room for
 * every frame the stream can hold). */
static void decode(const hr_reader_cfg_t *cfg, const uint8_t *s, size_t n, int chunked,
                   uint32_t seed, size_t max_frames, result_t *res)
{
  const size_t nch = (size_t)cfg->n_channels;
  hr_reader_t *r = NULL;
  CHECK(hr_reader_create(cfg, &r) == HR_OK);
  float *out = malloc(max_frames * nch * sizeof(float));
  CHECK(out != NULL);
  size_t off = 0;
  int rc = HR_OK, final = 0;
  while (off < n && !final) {
    size_t len = n - off;
    if (chunked) {
      seed = seed * 1103515245u + 12345u;
      size_t c = (seed >> 16) % 8 == 0 ? 1 : 1 + (seed >> 20) % 64;
      if (c < len)
        len = c;
    }
    size_t done = 0;
    while (done < len) {
      size_t nf = (size_t)-1, used = (size_t)-1;
      rc = hr_reader_push(r, s + off + done, len - done, out, max_frames, &nf, &used);
      CHECK(nf <= max_frames);
      CHECK(used <= len - done);
      memcpy(res->frames + res->n_frames * nch, out, nf * nch * sizeof(float));
      res->n_frames += nf;
      done += used;
      CHECK(hr_reader_stats(r)->frames == res->n_frames);
      CHECK(hr_reader_stats(r)->bytes == off + done);
      if (rc != HR_OK) {
        note_error(r, rc, res);
        if (!hr_reader_stats(r)->err_skipped) {
          final = 1;
          /* A final error is sticky and changes nothing. */
          size_t nf2, used2;
          CHECK(hr_reader_push(r, s, n, out, max_frames, &nf2, &used2) == rc);
          CHECK(nf2 == 0 && used2 == 0);
          break;
        }
      } else {
        CHECK(used > 0 || nf == max_frames); /* progress, or the output is full */
      }
    }
    off += done;
  }
  if (!final) {
    size_t nf = (size_t)-1;
    rc = hr_reader_finish(r, out, max_frames, &nf);
    CHECK(nf <= 1 && nf <= max_frames);
    memcpy(res->frames + res->n_frames * nch, out, nf * nch * sizeof(float));
    res->n_frames += nf;
    if (rc != HR_OK) {
      note_error(r, rc, res);
      if (hr_reader_stats(r)->err_skipped)
        rc = HR_OK;
    }
    size_t nf2;
    CHECK(hr_reader_finish(r, out, max_frames, &nf2) == (rc == HR_OK ? HR_ERR_STATE : rc));
  }
  res->rc_final = rc;
  res->stats = *hr_reader_stats(r);
  if (cfg->format != HR_FMT_CSV && rc == HR_OK)
    CHECK(res->stats.bytes == n && n % ((size_t)hr_sample_format_bytes(cfg->format) * nch) == 0);
  free(out);
  hr_reader_destroy(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 6)
    return 0;
  static const double scales[8] = {1.0, 0.01, -0.5, 1.0 / 32768.0, 1e30, 3.0, -1e-20, 1e34};
  hr_reader_cfg_t cfg;
  hr_sample_format_t fmt = (hr_sample_format_t)(1 + data[0] % 3);
  int nch = 1 + data[1] % HR_MAX_CH;
  CHECK(hr_reader_cfg_init(&cfg, fmt, nch) == HR_OK);
  static const int headers[4] = {-1, 0, 1, -1};
  cfg.csv_header = headers[data[2] & 3];
  cfg.skip_bad_lines = (data[2] >> 2) & 1;
  cfg.csv_skip_columns = (data[2] >> 3) & 3;
  for (int ch = 0; ch < nch; ch++) {
    cfg.scale[ch] = scales[((data[2] >> 5) + ch) & 7];
    cfg.offset[ch] = ch * 0.25;
  }
  size_t small = 1 + data[3] % 8;
  uint32_t seed = (uint32_t)data[4] | (uint32_t)data[5] << 8;
  const uint8_t *s = data + 6;
  size_t n = size - 6;

  hr_reader_t *probe = NULL;
  int rc = hr_reader_create(&cfg, &probe);
  if (rc != HR_OK) {
    /* Only an i16 scale whose full scale overflows a float32 is refused. */
    CHECK(rc == HR_ERR_RANGE && fmt == HR_FMT_I16LE);
    return 0;
  }
  hr_reader_destroy(probe);

  /* At most one frame per input byte (CSV) or per frame of bytes (raw), plus
   * one from finish. */
  size_t cap = n + 2;
  result_t a = {0}, b = {0};
  a.frames = malloc(cap * (size_t)nch * sizeof(float));
  b.frames = malloc(cap * (size_t)nch * sizeof(float));
  CHECK(a.frames && b.frames);
  decode(&cfg, s, n, 1, seed, small, &a);
  decode(&cfg, s, n, 0, 0, cap, &b);

  CHECK(a.n_frames == b.n_frames);
  CHECK(memcmp(a.frames, b.frames, a.n_frames * (size_t)nch * sizeof(float)) == 0);
  CHECK(a.n_events == b.n_events && a.event_hash == b.event_hash);
  CHECK(a.rc_final == b.rc_final);
  CHECK(memcmp(&a.stats, &b.stats, sizeof a.stats) == 0);
  CHECK(a.stats.skipped_lines <= a.stats.lines + 1);
  if (!cfg.skip_bad_lines)
    CHECK(a.n_events <= 1);
  free(a.frames);
  free(b.frames);
  return 0;
}
