/* Tests of the sample-stream reader (include/headroom/reader.h): known-answer
 * vectors per format, chunking independence, i16 scaling and clipping, CSV
 * dialect, located error messages, truncation, and no frame lost on error. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "headroom/error.h"
#include "headroom/reader.h"

/* ------------------------------------------------------------ the harness */

#define MAX_EVENTS 32

/* One error as the tests compare it: the reader's diag (code, place, and the
 * one-line text hr_diag_format makes of it) with the decoding facts that
 * hr_reader_stats keeps beside it.  Copied at once, since the next push
 * replaces both. */
typedef struct ev {
  int code;
  int skipped;
  uint64_t offset_bytes;
  uint64_t line;
  int column;
  uint64_t frame_index;
  int channel;
  uint64_t leftover_bytes;
  char message[HR_DIAG_SOURCE_BYTES + HR_DIAG_MSG_BYTES + 64];
} ev_t;

static ev_t last_error(const hr_reader_t *r)
{
  ev_t e;
  memset(&e, 0, sizeof e);
  hr_diag_t d;
  int code = hr_reader_diag(r, &d);
  assert_int_equal(code, d.code);
  const hr_reader_stats_t *st = hr_reader_stats(r);
  e.code = d.code;
  e.skipped = st->err_skipped;
  e.offset_bytes = d.offset;
  e.line = (uint64_t)d.line;
  e.column = (int)d.column;
  e.frame_index = st->err_frame;
  e.channel = st->err_channel;
  e.leftover_bytes = st->err_leftover_bytes;
  assert_int_equal(d.has_offset, d.code != HR_OK);
  assert_string_equal(d.field, "");
  /* The diag's own message never repeats the place. */
  assert_null(strstr(d.message, "line "));
  assert_null(strstr(d.message, "byte offset"));
  if (d.code != HR_OK)
    hr_diag_format(&d, e.message, sizeof e.message);
  return e;
}

/* Everything a whole-stream decode produced. */
typedef struct run {
  float *frames; /* all delivered frames, interleaved */
  size_t n_frames, cap_frames;
  int n_ch;
  size_t n_events; /* errors reported by push or finish, in order */
  ev_t events[MAX_EVENTS];
  size_t frames_before[MAX_EVENTS]; /* frames delivered before each error */
  int rc_final;                     /* HR_OK, or the final error */
  int finished;                     /* finish was called (no final error in push) */
  hr_reader_stats_t stats;
} run_t;

static void run_free(run_t *run)
{
  free(run->frames);
  memset(run, 0, sizeof *run);
}

static void collect(run_t *run, const float *f, size_t n)
{
  if (n == 0)
    return;
  if (run->n_frames + n > run->cap_frames) {
    run->cap_frames = (run->n_frames + n) * 2 + 16;
    run->frames = realloc(run->frames, run->cap_frames * (size_t)run->n_ch * sizeof(float));
    assert_non_null(run->frames);
  }
  memcpy(run->frames + run->n_frames * (size_t)run->n_ch, f, n * (size_t)run->n_ch * sizeof *f);
  run->n_frames += n;
}

static void note_error(run_t *run, const hr_reader_t *r, int rc)
{
  ev_t ev = last_error(r);
  const ev_t *e = &ev;
  assert_int_equal(e->code, rc);
  assert_non_null(memchr(e->message, '\0', sizeof e->message));
  assert_true(strlen(e->message) > 0);
  assert_int_equal(e->frame_index, hr_reader_stats(r)->frames);
  if (run->n_events < MAX_EVENTS) {
    run->events[run->n_events] = *e;
    run->frames_before[run->n_events] = run->n_frames;
  }
  run->n_events++;
}

/* Decodes a whole stream pushed in chunks of `chunk` bytes with an output of
 * `max_frames` frames, then finishes it (unless a final error came first). */
static void run_stream(const hr_reader_cfg_t *cfg, const void *data, size_t n, size_t chunk,
                       size_t max_frames, run_t *run)
{
  memset(run, 0, sizeof *run);
  run->n_ch = cfg->n_channels;
  hr_reader_t *r = NULL;
  assert_int_equal(hr_reader_create(cfg, &r), HR_OK);
  float *out = malloc(max_frames * (size_t)cfg->n_channels * sizeof(float));
  assert_non_null(out);
  const unsigned char *p = data;
  size_t off = 0;
  int rc = HR_OK;
  while (off < n && rc == HR_OK) {
    size_t len = n - off < chunk ? n - off : chunk, done = 0;
    while (done < len) {
      size_t nf = 99, used = 99;
      rc = hr_reader_push(r, p + off + done, len - done, out, max_frames, &nf, &used);
      assert_true(nf <= max_frames);
      assert_true(used <= len - done);
      collect(run, out, nf);
      done += used;
      if (rc != HR_OK) {
        note_error(run, r, rc);
        if (!last_error(r).skipped)
          break;
        rc = HR_OK;
      } else {
        assert_true(used > 0 || nf == max_frames);
      }
    }
    off += done;
  }
  if (rc == HR_OK) {
    size_t nf = 99;
    run->finished = 1;
    rc = hr_reader_finish(r, out, max_frames, &nf);
    assert_true(nf <= 1);
    collect(run, out, nf);
    if (rc != HR_OK) {
      note_error(run, r, rc);
      if (last_error(r).skipped)
        rc = HR_OK;
    }
  }
  run->rc_final = rc;
  run->stats = *hr_reader_stats(r);
  free(out);
  hr_reader_destroy(r);
}

static void assert_runs_equal(const run_t *a, const run_t *b)
{
  assert_int_equal(a->n_frames, b->n_frames);
  assert_memory_equal(a->frames, b->frames, a->n_frames * (size_t)a->n_ch * sizeof(float));
  assert_int_equal(a->rc_final, b->rc_final);
  assert_int_equal(a->n_events, b->n_events);
  for (size_t k = 0; k < a->n_events && k < MAX_EVENTS; k++) {
    assert_int_equal(a->frames_before[k], b->frames_before[k]);
    assert_int_equal(a->events[k].code, b->events[k].code);
    assert_int_equal(a->events[k].offset_bytes, b->events[k].offset_bytes);
    assert_int_equal(a->events[k].line, b->events[k].line);
    assert_int_equal(a->events[k].column, b->events[k].column);
    assert_string_equal(a->events[k].message, b->events[k].message);
  }
  assert_memory_equal(&a->stats, &b->stats, sizeof a->stats);
}

/* Decodes text in one push with a roomy output. */
static void run_text(const hr_reader_cfg_t *cfg, const char *text, run_t *run)
{
  run_stream(cfg, text, strlen(text), (size_t)-1 / 2, 1024, run);
}

static hr_reader_cfg_t csv_cfg(int n_ch)
{
  hr_reader_cfg_t cfg;
  assert_int_equal(hr_reader_cfg_init(&cfg, HR_FMT_CSV, n_ch), HR_OK);
  cfg.name = "in.csv"; /* messages read "in.csv:3:2: ..." */
  return cfg;
}

static void put_f32(unsigned char *b, float v)
{
  uint32_t u;
  memcpy(&u, &v, 4);
  b[0] = (unsigned char)u;
  b[1] = (unsigned char)(u >> 8);
  b[2] = (unsigned char)(u >> 16);
  b[3] = (unsigned char)(u >> 24);
}

static void put_i16(unsigned char *b, int v)
{
  unsigned u = (unsigned)(v & 0xffff);
  b[0] = (unsigned char)u;
  b[1] = (unsigned char)(u >> 8);
}

static int same_bits(float a, float b)
{
  return memcmp(&a, &b, sizeof a) == 0;
}

/* ------------------------------------------------------------ formats/cfg */

static void format_names(void **state)
{
  (void)state;
  hr_sample_format_t f = 0;
  assert_int_equal(hr_sample_format_parse("f32le", &f), HR_OK);
  assert_int_equal(f, HR_FMT_F32LE);
  assert_int_equal(hr_sample_format_parse("I16LE", &f), HR_OK);
  assert_int_equal(f, HR_FMT_I16LE);
  assert_int_equal(hr_sample_format_parse("csv", &f), HR_OK);
  assert_int_equal(f, HR_FMT_CSV);
  f = HR_FMT_CSV;
  assert_int_equal(hr_sample_format_parse("wav", &f), HR_ERR_PARSE);
  assert_int_equal(f, HR_FMT_CSV);
  assert_int_equal(hr_sample_format_parse(NULL, &f), HR_ERR_INVALID_ARG);
  assert_string_equal(hr_sample_format_name(HR_FMT_I16LE), "i16le");
  assert_string_equal(hr_sample_format_name((hr_sample_format_t)9), "unknown");
  assert_int_equal(hr_sample_format_bytes(HR_FMT_F32LE), 4);
  assert_int_equal(hr_sample_format_bytes(HR_FMT_I16LE), 2);
  assert_int_equal(hr_sample_format_bytes(HR_FMT_CSV), 0);
}

static void bad_configs_are_rejected(void **state)
{
  (void)state;
  hr_reader_cfg_t cfg;
  hr_reader_t *r = (hr_reader_t *)&cfg; /* must stay untouched */
  assert_int_equal(hr_reader_cfg_init(&cfg, HR_FMT_CSV, 0), HR_ERR_INVALID_ARG);
  assert_int_equal(hr_reader_cfg_init(&cfg, HR_FMT_CSV, HR_MAX_CH + 1), HR_ERR_INVALID_ARG);
  assert_int_equal(hr_reader_cfg_init(&cfg, (hr_sample_format_t)0, 2), HR_ERR_INVALID_ARG);
  assert_int_equal(hr_reader_cfg_init(NULL, HR_FMT_CSV, 2), HR_ERR_INVALID_ARG);
  assert_int_equal(hr_reader_create(&cfg, &r), HR_ERR_INVALID_ARG);
  assert_ptr_equal(r, (hr_reader_t *)&cfg);

  assert_int_equal(hr_reader_cfg_init(&cfg, HR_FMT_I16LE, 2), HR_OK);
  cfg.scale[1] = 0.0;
  assert_int_equal(hr_reader_create(&cfg, &r), HR_ERR_INVALID_ARG);
  cfg.scale[1] = NAN;
  assert_int_equal(hr_reader_create(&cfg, &r), HR_ERR_INVALID_ARG);
  cfg.scale[1] = 1.0;
  cfg.offset[0] = INFINITY;
  assert_int_equal(hr_reader_create(&cfg, &r), HR_ERR_INVALID_ARG);
  cfg.offset[0] = 0.0;
  cfg.scale[0] = 1e36; /* 32767 * 1e36 overflows a float32 */
  assert_int_equal(hr_reader_create(&cfg, &r), HR_ERR_RANGE);
  cfg.scale[0] = 1.0;
  cfg.scale[5] = 0.0; /* channels past n_channels are not looked at */
  assert_int_equal(hr_reader_create(&cfg, &r), HR_OK);
  hr_reader_destroy(r);

  cfg = csv_cfg(3);
  cfg.csv_header = 2;
  assert_int_equal(hr_reader_create(&cfg, &r), HR_ERR_INVALID_ARG);
  cfg.csv_header = 0;
  cfg.csv_skip_columns = -1;
  assert_int_equal(hr_reader_create(&cfg, &r), HR_ERR_INVALID_ARG);
  cfg.csv_skip_columns = HR_READER_MAX_SKIP_COLUMNS + 1;
  assert_int_equal(hr_reader_create(&cfg, &r), HR_ERR_INVALID_ARG);
  cfg.csv_skip_columns = HR_READER_MAX_SKIP_COLUMNS;
  assert_int_equal(hr_reader_create(&cfg, &r), HR_OK);
  hr_reader_destroy(r);
  assert_int_equal(hr_reader_create(NULL, &r), HR_ERR_INVALID_ARG);
  assert_int_equal(hr_reader_create(&cfg, NULL), HR_ERR_INVALID_ARG);
  hr_reader_destroy(NULL);
  hr_reader_reset(NULL);
}

static void call_contract(void **state)
{
  (void)state;
  hr_reader_cfg_t cfg = csv_cfg(2);
  hr_reader_t *r;
  assert_int_equal(hr_reader_create(&cfg, &r), HR_OK);
  assert_int_equal(last_error(r).code, HR_OK);
  assert_string_equal(last_error(r).message, "");
  float out[4];
  size_t nf = 7, used = 7;
  /* Invalid calls change nothing. */
  assert_int_equal(hr_reader_push(r, "1,2\n", 4, out, 0, &nf, &used), HR_ERR_INVALID_ARG);
  assert_int_equal(nf, 0);
  assert_int_equal(used, 0);
  assert_int_equal(hr_reader_push(r, NULL, 4, out, 2, &nf, &used), HR_ERR_INVALID_ARG);
  assert_int_equal(hr_reader_push(r, "1,2\n", 4, NULL, 2, &nf, &used), HR_ERR_INVALID_ARG);
  assert_int_equal(hr_reader_push(r, "1,2\n", 4, out, 2, NULL, &used), HR_ERR_INVALID_ARG);
  assert_int_equal(hr_reader_push(NULL, "1,2\n", 4, out, 2, &nf, &used), HR_ERR_INVALID_ARG);
  assert_int_equal(hr_reader_push(r, NULL, 0, NULL, 0, &nf, &used), HR_OK);
  assert_int_equal(hr_reader_stats(r)->bytes, 0);
  /* A partial line is kept, then completed. */
  assert_int_equal(hr_reader_push(r, "1,", 2, out, 2, &nf, &used), HR_OK);
  assert_int_equal(nf, 0);
  assert_int_equal(used, 2);
  assert_int_equal(hr_reader_push(r, "2\n3", 3, out, 2, &nf, &used), HR_OK);
  assert_int_equal(nf, 1);
  assert_int_equal(used, 3);
  assert_true(out[0] == 1.0f && out[1] == 2.0f);
  assert_int_equal(hr_reader_finish(r, out, 0, &nf), HR_ERR_INVALID_ARG);
  assert_int_equal(hr_reader_finish(r, out, 2, &nf), HR_ERR_TRUNCATED);
  assert_string_equal(last_error(r).message,
                      "in.csv:2: input ends inside the line, 1 fields, expected 2");
  assert_int_equal(last_error(r).leftover_bytes, 1);
  assert_int_equal(last_error(r).offset_bytes, 4);
  /* The error is final. */
  assert_int_equal(hr_reader_push(r, "1,2\n", 4, out, 2, &nf, &used), HR_ERR_TRUNCATED);
  assert_int_equal(nf + used, 0);
  /* Reset starts a new stream; push after finish is a state error. */
  hr_reader_reset(r);
  assert_int_equal(last_error(r).code, HR_OK);
  assert_int_equal(hr_reader_stats(r)->frames, 0);
  assert_int_equal(hr_reader_push(r, "5 6\n", 4, out, 2, &nf, &used), HR_OK);
  assert_int_equal(nf, 1);
  assert_true(out[0] == 5.0f && out[1] == 6.0f);
  assert_int_equal(hr_reader_finish(r, out, 2, &nf), HR_OK);
  assert_int_equal(nf, 0);
  assert_int_equal(hr_reader_push(r, "1,2\n", 4, out, 2, &nf, &used), HR_ERR_STATE);
  assert_int_equal(hr_reader_finish(r, out, 2, &nf), HR_ERR_STATE);
  hr_reader_destroy(r);
}

/* ---------------------------------------------------------------- f32le */

static void f32_known_answer(void **state)
{
  (void)state;
  const float v[] = {1.0f,          -2.5f, 0.0f,      -0.0f, 1e-40f /* subnormal */,
                     3.4028235e38f, NAN,   -INFINITY, 0.1f,  230.0f};
  unsigned char b[sizeof v];
  for (size_t k = 0; k < 10; k++)
    put_f32(b + 4 * k, v[k]);
  /* Bytes of 1.0f and -2.5f spelt out, to pin the byte order. */
  const unsigned char head[8] = {0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x20, 0xc0};
  assert_memory_equal(b, head, 8);

  hr_reader_cfg_t cfg;
  assert_int_equal(hr_reader_cfg_init(&cfg, HR_FMT_F32LE, 2), HR_OK);
  run_t run;
  run_stream(&cfg, b, sizeof b, 4096, 64, &run);
  assert_int_equal(run.rc_final, HR_OK);
  assert_int_equal(run.n_frames, 5);
  for (size_t k = 0; k < 10; k++)
    assert_true(same_bits(run.frames[k], v[k]));
  assert_int_equal(run.stats.nonfinite[0], 1);
  assert_int_equal(run.stats.first_nonfinite_frame[0], 3);
  assert_int_equal(run.stats.nonfinite[1], 1);
  assert_int_equal(run.stats.first_nonfinite_frame[1], 3);
  assert_int_equal(run.stats.clipped[0], 0);
  assert_true(isinf(run.stats.clip_hi[0]) && run.stats.clip_hi[0] > 0);
  assert_int_equal(run.stats.bytes, sizeof b);
  assert_int_equal(run.n_events, 0);
  run_free(&run);
}

/* The example of the brief: 7 channels x 4 bytes, 3 frames + 5 bytes. */
static void f32_truncated_stream(void **state)
{
  (void)state;
  unsigned char b[3 * 28 + 5];
  for (size_t k = 0; k < sizeof b / 4; k++)
    put_f32(b + 4 * k, (float)k);
  b[88] = 0x42;
  hr_reader_cfg_t cfg;
  assert_int_equal(hr_reader_cfg_init(&cfg, HR_FMT_F32LE, 7), HR_OK);
  const size_t chunks[] = {1, 3, 5, 28, 4096};
  for (size_t c = 0; c < 5; c++) {
    run_t run;
    run_stream(&cfg, b, sizeof b, chunks[c], c == 0 ? 1 : 2, &run);
    assert_int_equal(run.n_frames, 3);
    for (size_t k = 0; k < 21; k++)
      assert_true(run.frames[k] == (float)k);
    assert_int_equal(run.rc_final, HR_ERR_TRUNCATED);
    assert_int_equal(run.n_events, 1);
    assert_int_equal(run.frames_before[0], 3);
    const ev_t *e = &run.events[0];
    assert_int_equal(e->offset_bytes, 84);
    assert_int_equal(e->leftover_bytes, 5);
    assert_int_equal(e->frame_index, 3);
    assert_int_equal(e->channel, 1);
    assert_int_equal(e->line, 0);
    assert_string_equal(e->message, "byte 84: input ends inside frame 3, 5 bytes left over "
                                    "(a frame is 28 bytes: 7 channels x 4 bytes)");
    assert_int_equal(run.stats.bytes, sizeof b);
    run_free(&run);
  }
}

/* ---------------------------------------------------------------- i16le */

static void i16_scaling_and_clipping(void **state)
{
  (void)state;
  const int codes[][3] = {{0, 0, 0},           {1, -1, 100},       {32767, 5, -32768},
                          {-32768, 32767, 12}, {32766, -32767, 0}, {-5, 32767, 32767}};
  unsigned char b[6 * 3 * 2];
  for (size_t f = 0; f < 6; f++)
    for (size_t ch = 0; ch < 3; ch++)
      put_i16(b + 2 * (3 * f + ch), codes[f][ch]);
  hr_reader_cfg_t cfg;
  assert_int_equal(hr_reader_cfg_init(&cfg, HR_FMT_I16LE, 3), HR_OK);
  const double scale[3] = {0.01, -2.0, 1.0 / 32768.0}, offset[3] = {0.0, 1.5, -0.25};
  for (int ch = 0; ch < 3; ch++) {
    cfg.scale[ch] = scale[ch];
    cfg.offset[ch] = offset[ch];
  }
  run_t run;
  run_stream(&cfg, b, sizeof b, 4, 1, &run);
  assert_int_equal(run.rc_final, HR_OK);
  assert_int_equal(run.n_frames, 6);
  for (size_t f = 0; f < 6; f++)
    for (size_t ch = 0; ch < 3; ch++) {
      float want = (float)(codes[f][ch] * scale[ch] + offset[ch]);
      assert_true(same_bits(run.frames[3 * f + ch], want));
    }
  assert_true(run.frames[3 * 2 + 0] == (float)327.67);
  assert_true(run.frames[3 * 1 + 1] == 3.5f);
  assert_true(run.frames[3 * 2 + 2] == -1.25f);
  /* Per channel: how many codes at full scale, first frame with one. */
  assert_int_equal(run.stats.clipped[0], 2);
  assert_int_equal(run.stats.first_clip_frame[0], 2);
  assert_int_equal(run.stats.clipped[1], 2);
  assert_int_equal(run.stats.first_clip_frame[1], 3);
  assert_int_equal(run.stats.clipped[2], 2);
  assert_int_equal(run.stats.first_clip_frame[2], 2);
  assert_int_equal(run.stats.first_clip_frame[3], -1);
  /* Clip levels in units; a negative scale swaps them. */
  assert_true(run.stats.clip_hi[0] == (float)327.67);
  assert_true(run.stats.clip_lo[0] == (float)-327.68);
  assert_true(run.stats.clip_hi[1] == (float)(-32768 * -2.0 + 1.5));
  assert_true(run.stats.clip_lo[1] == (float)(32767 * -2.0 + 1.5));
  assert_true(run.stats.clip_lo[2] == -1.25f);
  assert_true(run.frames[3 * 3 + 1] == run.stats.clip_lo[1]);
  assert_int_equal(run.stats.nonfinite[0], 0);
  run_free(&run);
}

static void i16_truncated_stream(void **state)
{
  (void)state;
  unsigned char b[2 * 2 * 4 + 3] = {0};
  hr_reader_cfg_t cfg;
  assert_int_equal(hr_reader_cfg_init(&cfg, HR_FMT_I16LE, 2), HR_OK);
  run_t run;
  run_stream(&cfg, b, sizeof b, 3, 8, &run);
  assert_int_equal(run.n_frames, 4);
  assert_int_equal(run.rc_final, HR_ERR_TRUNCATED);
  assert_int_equal(run.events[0].offset_bytes, 16);
  assert_int_equal(run.events[0].leftover_bytes, 3);
  assert_int_equal(run.events[0].channel, 1);
  assert_string_equal(run.events[0].message,
                      "byte 16: input ends inside frame 4, 3 bytes left over "
                      "(a frame is 4 bytes: 2 channels x 2 bytes)");
  run_free(&run);
}

/* ------------------------------------------------------------------ CSV */

static void csv_known_answer(void **state)
{
  (void)state;
  const char *text = "\xEF\xBB\xBF# exported by a scope\r\n"
                     "time_s, ua, ia\r\n"
                     "\r\n"
                     "0.000125,  230.5 ,\t-1.25e+01\r\n"
                     "   # a comment after data\n"
                     "0.00025\t+1E3\t.5\n"
                     "0.000375 -0 7\n"
                     "0.0005,nan,-inf\n"
                     "0.000625,0x1p-2,1e-45";
  hr_reader_cfg_t cfg = csv_cfg(2);
  cfg.csv_skip_columns = 1;
  run_t run;
  run_text(&cfg, text, &run);
  assert_int_equal(run.rc_final, HR_OK);
  assert_int_equal(run.n_events, 0);
  assert_int_equal(run.n_frames, 5);
  const float want[] = {230.5f, -12.5f, 1000.0f, 0.5f, -0.0f, 7.0f, NAN, -INFINITY, 0.25f, 1e-45f};
  for (size_t k = 0; k < 10; k++) {
    if (isnan(want[k]))
      assert_true(isnan(run.frames[k]));
    else
      assert_true(same_bits(run.frames[k], want[k]));
  }
  assert_int_equal(run.stats.header_lines, 1);
  assert_int_equal(run.stats.comment_lines, 3);
  assert_int_equal(run.stats.lines, 9);
  assert_int_equal(run.stats.nonfinite[0], 1);
  assert_int_equal(run.stats.nonfinite[1], 1);
  assert_int_equal(run.stats.first_nonfinite_frame[0], 3);
  assert_int_equal(run.stats.first_nonfinite_frame[1], 3);
  assert_int_equal(run.stats.bytes, strlen(text));
  run_free(&run);
}

static void csv_header_choice(void **state)
{
  (void)state;
  run_t run;
  hr_reader_cfg_t cfg = csv_cfg(2);
  /* Auto: a numeric first line is data. */
  run_text(&cfg, "1,2\n3,4\n", &run);
  assert_int_equal(run.n_frames, 2);
  assert_int_equal(run.stats.header_lines, 0);
  run_free(&run);
  /* Auto: a line with one number is data, and a bad one. */
  run_text(&cfg, "u1,2\n3,4\n", &run);
  assert_int_equal(run.n_frames, 0);
  assert_int_equal(run.rc_final, HR_ERR_PARSE);
  assert_string_equal(run.events[0].message, "in.csv:1:1: 'u1' is not a number");
  run_free(&run);
  /* Auto: a header after comments, with names that look nearly numeric. */
  run_text(&cfg, "# x\n\nin i\n3,4\n", &run);
  assert_int_equal(run.n_frames, 1);
  assert_int_equal(run.stats.header_lines, 1);
  run_free(&run);
  /* Explicit header: the first line is skipped even when numeric. */
  cfg.csv_header = 1;
  run_text(&cfg, "1,2\n3,4\n", &run);
  assert_int_equal(run.n_frames, 1);
  assert_true(run.frames[0] == 3.0f);
  run_free(&run);
  /* Explicitly no header: a text first line is an error. */
  cfg.csv_header = 0;
  run_text(&cfg, "u,i\n3,4\n", &run);
  assert_int_equal(run.rc_final, HR_ERR_PARSE);
  assert_string_equal(run.events[0].message, "in.csv:1:1: 'u' is not a number");
  run_free(&run);
  /* Only a header (no newline): no frames, no error. */
  cfg.csv_header = -1;
  run_text(&cfg, "ua,ia", &run);
  assert_int_equal(run.rc_final, HR_OK);
  assert_int_equal(run.n_frames, 0);
  assert_int_equal(run.stats.header_lines, 1);
  run_free(&run);
  /* Empty input. */
  run_text(&cfg, "", &run);
  assert_int_equal(run.rc_final, HR_OK);
  assert_int_equal(run.n_frames, 0);
  run_free(&run);
}

static void csv_last_line_without_newline(void **state)
{
  (void)state;
  hr_reader_cfg_t cfg = csv_cfg(3);
  run_t run;
  run_text(&cfg, "1,2,3\n4,5,6", &run);
  assert_int_equal(run.rc_final, HR_OK);
  assert_int_equal(run.n_frames, 2);
  assert_true(run.frames[5] == 6.0f);
  run_free(&run);
  run_text(&cfg, "1,2,3\n4,5,6\r", &run);
  assert_int_equal(run.rc_final, HR_OK);
  assert_int_equal(run.n_frames, 2);
  run_free(&run);
  run_text(&cfg, "1,2,3\n4,5", &run);
  assert_int_equal(run.n_frames, 1);
  assert_int_equal(run.rc_final, HR_ERR_TRUNCATED);
  assert_int_equal(run.events[0].line, 2);
  assert_int_equal(run.events[0].offset_bytes, 6);
  assert_int_equal(run.events[0].leftover_bytes, 3);
  assert_string_equal(run.events[0].message,
                      "in.csv:2: input ends inside the line, 2 fields, expected 3");
  run_free(&run);
  /* Too many fields on an unterminated last line is a plain field-count error. */
  run_text(&cfg, "1,2,3\n4,5,6,7", &run);
  assert_int_equal(run.rc_final, HR_ERR_CHANNELS);
  run_free(&run);
}

/* One bad stream per error kind, with the exact message and location. */
static void csv_error_messages(void **state)
{
  (void)state;
  static const struct {
    int n_ch, skip;
    const char *text;
    int code;
    uint64_t offset, line;
    int column, channel;
    size_t frames_before;
    const char *message;
  } cases[] = {
      {7, 0,
       "1,2,3,4,5,6,7\n1,2,3,4,5,6,7\n1,2,3,4,5,6,7\n1,2,3,4,5,6,7\n1,2,3,4,5,6,7\n"
       "1,2,3,4,5,6,7\n1,2,3,4,5,6,7\n1,2,3,4,5,6,7\n1,2,3,4,5,6,7\n1,2,3,4,5,6,7\n"
       "1,2,3,4,5,6,7\n1,2,3,4,5,6,7\n1,2,3,4,5,6,7\n1,2,3,4,5,6,7\n1,2,3,4,5,6,7\n"
       "1,2,3,4,5,6,7\n1,2,3,4,5\n1,2,3,4,5,6,7\n",
       HR_ERR_CHANNELS, 16 * 14, 17, 0, -1, 16, "in.csv:17: 5 fields, expected 7"},
      {2, 1, "t,u,i\n0,1,2\n1,2,3,4\n", HR_ERR_CHANNELS, 12, 3, 0, -1, 1,
       "in.csv:3: 4 fields, expected 3 (1 skipped + 2 channels)"},
      {3, 0, "u,v,w\n1,2,3\n4,5,abc\n", HR_ERR_PARSE, 16, 3, 3, 2, 1,
       "in.csv:3:3: 'abc' is not a number"},
      {3, 0, "1,2,3\n4,,6\n", HR_ERR_PARSE, 8, 2, 2, 1, 1,
       "in.csv:2:2: empty field, expected a number"},
      {2, 0, "1,2\n3,4,\n", HR_ERR_CHANNELS, 4, 2, 0, -1, 1, "in.csv:2: 3 fields, expected 2"},
      {2, 0, "1,2\n3,1e39\n", HR_ERR_RANGE, 6, 2, 2, 1, 1,
       "in.csv:2:2: '1e39' is out of the float32 range"},
      {2, 0, "1,2\n3,1.5.2\n", HR_ERR_PARSE, 6, 2, 2, 1, 1, "in.csv:2:2: '1.5.2' is not a number"},
      {2, 0, "1,2\n3,4V\n", HR_ERR_PARSE, 6, 2, 2, 1, 1, "in.csv:2:2: '4V' is not a number"},
      {2, 0, "1,2\n\"3\",4\n", HR_ERR_PARSE, 4, 2, 1, 0, 1, "in.csv:2:1: '\"3\"' is not a number"},
      {2, 0, "1,2\n3,\x01\xff\\\n", HR_ERR_PARSE, 6, 2, 2, 1, 1,
       "in.csv:2:2: '\\x01\\xff\\x5c' is not a number"},
      {2, 0, "1,2\n3,nanx\n", HR_ERR_PARSE, 6, 2, 2, 1, 1, "in.csv:2:2: 'nanx' is not a number"},
      {2, 0, "1,2\n3,4\r5\n", HR_ERR_PARSE, 6, 2, 2, 1, 1, "in.csv:2:2: '4\\x0d5' is not a number"},
      {1, 0, "1\n2\n0123456789012345678901234567890123456789012345678901234567890x\n", HR_ERR_PARSE,
       4, 3, 1, 0, 2, "in.csv:3:1: '0123456789012345678901234567890123456789...' is not a number"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    hr_reader_cfg_t cfg = csv_cfg(cases[k].n_ch);
    cfg.csv_skip_columns = cases[k].skip;
    const size_t chunks[] = {1, 3, 4096};
    for (size_t c = 0; c < 3; c++) {
      run_t run;
      run_stream(&cfg, cases[k].text, strlen(cases[k].text), chunks[c], c == 0 ? 1 : 64, &run);
      assert_int_equal(run.rc_final, cases[k].code);
      assert_int_equal(run.n_events, 1);
      const ev_t *e = &run.events[0];
      assert_string_equal(e->message, cases[k].message);
      assert_int_equal(e->code, cases[k].code);
      assert_int_equal(e->skipped, 0);
      assert_int_equal(e->offset_bytes, cases[k].offset);
      assert_int_equal(e->line, cases[k].line);
      assert_int_equal(e->column, cases[k].column);
      assert_int_equal(e->channel, cases[k].channel);
      assert_int_equal(e->frame_index, cases[k].frames_before);
      /* Nothing accepted before the error is lost. */
      assert_int_equal(run.n_frames, cases[k].frames_before);
      assert_int_equal(run.frames_before[0], cases[k].frames_before);
      assert_int_equal(run.finished, 0);
      run_free(&run);
    }
  }
}

static void csv_line_too_long(void **state)
{
  (void)state;
  size_t n = 4 + HR_READER_MAX_LINE_BYTES + 10 + 4;
  char *text = malloc(n + 1);
  assert_non_null(text);
  memcpy(text, "1,2\n", 4);
  memset(text + 4, '7', HR_READER_MAX_LINE_BYTES + 10);
  memcpy(text + n - 4, "\n3,4", 4);
  text[n] = '\0';
  hr_reader_cfg_t cfg = csv_cfg(2);
  run_t run;
  run_stream(&cfg, text, n, 1000, 8, &run);
  assert_int_equal(run.rc_final, HR_ERR_PARSE);
  assert_int_equal(run.n_frames, 1);
  assert_int_equal(run.events[0].line, 2);
  assert_int_equal(run.events[0].offset_bytes, 4);
  assert_string_equal(run.events[0].message, "in.csv:2: longer than the 4096-byte maximum");
  /* Consumed through the byte that made the line too long (content + CR + 1). */
  assert_int_equal(run.stats.bytes, 4 + HR_READER_MAX_LINE_BYTES + 2);
  run_free(&run);

  /* Skipping: the rest of the long line is dropped, the next line decodes. */
  cfg.skip_bad_lines = 1;
  run_t a, b;
  run_stream(&cfg, text, n, 1, 1, &a);
  run_stream(&cfg, text, n, 4096, 8, &b);
  assert_runs_equal(&a, &b);
  assert_int_equal(a.rc_final, HR_OK);
  assert_int_equal(a.n_frames, 2);
  assert_true(a.frames[2] == 3.0f && a.frames[3] == 4.0f);
  assert_int_equal(a.n_events, 1);
  assert_int_equal(a.events[0].skipped, 1);
  assert_int_equal(a.stats.skipped_lines, 1);
  assert_int_equal(a.stats.lines, 3);
  run_free(&a);
  run_free(&b);

  /* Exactly the maximum is accepted, with or without CR. */
  cfg.skip_bad_lines = 0;
  n = HR_READER_MAX_LINE_BYTES + 2;
  memset(text, ' ', n);
  memcpy(text, "5,6", 3);
  text[n - 2] = '\r';
  text[n - 1] = '\n';
  run_stream(&cfg, text, n, 7, 1, &run);
  assert_int_equal(run.rc_final, HR_OK);
  assert_int_equal(run.n_frames, 1);
  run_free(&run);
  text[n - 2] = ' ';
  run_stream(&cfg, text, n, 7, 1, &run);
  assert_int_equal(run.rc_final, HR_ERR_PARSE);
  assert_string_equal(run.events[0].message, "in.csv:1: longer than the 4096-byte maximum");
  run_free(&run);
  free(text);
}

static void csv_skip_bad_lines(void **state)
{
  (void)state;
  const char *text = "u,i\n1,2\n3,x\n4,5\n6\n7,8\n9,1e99\n10,11";
  hr_reader_cfg_t cfg = csv_cfg(2);
  cfg.skip_bad_lines = 1;
  run_t run, one;
  run_text(&cfg, text, &run);
  run_stream(&cfg, text, strlen(text), 1, 1, &one);
  assert_runs_equal(&run, &one);
  assert_int_equal(run.rc_final, HR_OK);
  assert_int_equal(run.n_frames, 4);
  const float want[] = {1, 2, 4, 5, 7, 8, 10, 11};
  for (size_t k = 0; k < 8; k++)
    assert_true(run.frames[k] == want[k]);
  assert_int_equal(run.n_events, 3);
  assert_int_equal(run.stats.skipped_lines, 3);
  assert_string_equal(run.events[0].message, "in.csv:3:2: 'x' is not a number");
  assert_int_equal(run.frames_before[0], 1);
  assert_string_equal(run.events[1].message, "in.csv:5: 1 fields, expected 2");
  assert_int_equal(run.frames_before[1], 2);
  assert_int_equal(run.events[2].code, HR_ERR_RANGE);
  assert_int_equal(run.events[2].frame_index, 3);
  for (size_t k = 0; k < 3; k++)
    assert_int_equal(run.events[k].skipped, 1);
  run_free(&run);
  run_free(&one);

  /* Default: stop at the first bad line. */
  cfg.skip_bad_lines = 0;
  run_text(&cfg, text, &run);
  assert_int_equal(run.rc_final, HR_ERR_PARSE);
  assert_int_equal(run.n_frames, 1);
  assert_int_equal(run.stats.skipped_lines, 0);
  run_free(&run);
}

/* Frames decoded in the same push as a later error come back with it. */
static void frames_before_error_are_delivered(void **state)
{
  (void)state;
  const char *text = "1\n2\n3\n4\nbad\n5\n";
  hr_reader_cfg_t cfg = csv_cfg(1);
  hr_reader_t *r;
  assert_int_equal(hr_reader_create(&cfg, &r), HR_OK);
  float out[16];
  size_t nf, used;
  int rc = hr_reader_push(r, text, strlen(text), out, 16, &nf, &used);
  assert_int_equal(rc, HR_ERR_PARSE);
  assert_int_equal(nf, 4);
  assert_int_equal(used, 12); /* through the bad line's LF */
  for (int k = 0; k < 4; k++)
    assert_true(out[k] == (float)(k + 1));
  assert_int_equal(last_error(r).frame_index, 4);
  assert_int_equal(hr_reader_stats(r)->frames, 4);
  assert_string_equal(last_error(r).message, "in.csv:5:1: 'bad' is not a number");
  /* Output smaller than the input: one frame per call, nothing lost. */
  hr_reader_reset(r);
  size_t off = 0, total = 0;
  for (;;) {
    rc = hr_reader_push(r, text + off, strlen(text) - off, out, 1, &nf, &used);
    off += used;
    total += nf;
    if (rc != HR_OK)
      break;
    assert_true(used > 0);
  }
  assert_int_equal(rc, HR_ERR_PARSE);
  assert_int_equal(total, 4);
  assert_int_equal(off, 12);
  hr_reader_destroy(r);
}

/* ----------------------------------------------------- chunking invariance */

static uint32_t lcg(uint32_t *s)
{
  *s = *s * 1664525u + 1013904223u;
  return *s >> 8;
}

static void check_chunking(const hr_reader_cfg_t *cfg, const void *data, size_t n)
{
  static const size_t chunks[] = {1, 2, 3, 4, 7, 4096};
  static const size_t outs[] = {1, 3, 1000};
  run_t ref;
  run_stream(cfg, data, n, n + 1, 100000, &ref);
  for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++)
    for (size_t o = 0; o < sizeof outs / sizeof outs[0]; o++) {
      run_t run;
      run_stream(cfg, data, n, chunks[c], outs[o], &run);
      assert_runs_equal(&ref, &run);
      run_free(&run);
    }
  run_free(&ref);
}

static void chunking_independence(void **state)
{
  (void)state;
  uint32_t seed = 12345;
  /* Raw formats: random bytes, any bit pattern is a value. */
  size_t n = 7 * 4 * 500 + 3;
  unsigned char *raw = malloc(n);
  assert_non_null(raw);
  for (size_t k = 0; k < n; k++)
    raw[k] = (unsigned char)lcg(&seed);
  hr_reader_cfg_t cfg;
  assert_int_equal(hr_reader_cfg_init(&cfg, HR_FMT_F32LE, 7), HR_OK);
  check_chunking(&cfg, raw, n);
  assert_int_equal(hr_reader_cfg_init(&cfg, HR_FMT_I16LE, 3), HR_OK);
  cfg.scale[0] = 0.0123;
  cfg.offset[2] = -7.0;
  check_chunking(&cfg, raw, n);
  free(raw);

  /* CSV: a mix of dialect features, good and bad lines. */
  size_t cap = 200000, len = 0;
  char *text = malloc(cap);
  assert_non_null(text);
  len += (size_t)snprintf(text + len, cap - len, "t,ua,ub,uc\r\n");
  for (int line = 0; line < 2000; line++) {
    uint32_t kind = lcg(&seed) % 20;
    if (kind == 0)
      len += (size_t)snprintf(text + len, cap - len, "# note %d\n", line);
    else if (kind == 1)
      len += (size_t)snprintf(text + len, cap - len, "\n");
    else if (kind == 2)
      len += (size_t)snprintf(text + len, cap - len, "%d,1,2\n", line);
    else if (kind == 3)
      len += (size_t)snprintf(text + len, cap - len, "%d,1,zz,3\n", line);
    else
      len += (size_t)snprintf(
          text + len, cap - len, "%d\t%.9g, %.6e ,%d%s", line, (double)(int32_t)lcg(&seed) * 1e-3,
          (double)(int32_t)lcg(&seed) * 1e-7, (int)(lcg(&seed) % 100), kind % 2 ? "\r\n" : "\n");
  }
  len += (size_t)snprintf(text + len, cap - len, "9,1,2,3");
  assert_true(len < cap);
  cfg = csv_cfg(3);
  cfg.csv_skip_columns = 1;
  cfg.skip_bad_lines = 1;
  check_chunking(&cfg, text, len);
  cfg.skip_bad_lines = 0;
  check_chunking(&cfg, text, len);
  free(text);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(format_names),          cmocka_unit_test(bad_configs_are_rejected),
      cmocka_unit_test(call_contract),         cmocka_unit_test(f32_known_answer),
      cmocka_unit_test(f32_truncated_stream),  cmocka_unit_test(i16_scaling_and_clipping),
      cmocka_unit_test(i16_truncated_stream),  cmocka_unit_test(csv_known_answer),
      cmocka_unit_test(csv_header_choice),     cmocka_unit_test(csv_last_line_without_newline),
      cmocka_unit_test(csv_error_messages),    cmocka_unit_test(csv_line_too_long),
      cmocka_unit_test(csv_skip_bad_lines),    cmocka_unit_test(frames_before_error_are_delivered),
      cmocka_unit_test(chunking_independence),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
