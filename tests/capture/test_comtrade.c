/* Tests of the COMTRADE reader and writer (include/headroom/comtrade.h):
 * write-then-read round trips in every format (exact), located errors for
 * malformed CFG and DAT input, tolerated deviations reported as warnings,
 * multi-rate time axes, and no half-written file left under a final name. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "headroom/comtrade.h"
#include "headroom/error.h"

static char tmpdir[256];

/* d in the one format of the project (a static buffer). */
static const char *dtext(const hr_diag_t *d)
{
  static char text[1024];
  hr_diag_format(d, text, sizeof text);
  return text;
}

static int setup(void **state)
{
  (void)state;
  snprintf(tmpdir, sizeof tmpdir, "/tmp/hr_ct_XXXXXX");
  return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
  (void)state;
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  return system(cmd) == 0 ? 0 : -1;
}

/* A recording with awkward values: negative, large, missing, digital words
 * across a 16-bit boundary, a 9-digit start time. */
static hr_ct_rec_t *make_rec(hr_ct_format_t fmt)
{
  hr_ct_rec_t *r;
  assert_int_equal(hr_ct_rec_create(3, 17, 500, &r), HR_OK);
  snprintf(r->cfg.station, sizeof r->cfg.station, "Estação 1");
  snprintf(r->cfg.rec_dev_id, sizeof r->cfg.rec_dev_id, "headroom-test");
  for (int c = 0; c < 3; c++) {
    hr_ct_analog_t *a = &r->cfg.analog[c];
    snprintf(a->id, sizeof a->id, "U%d", c + 1);
    snprintf(a->ph, sizeof a->ph, "%c", 'A' + c);
    snprintf(a->unit, sizeof a->unit, c == 2 ? "A" : "V");
    a->a = 0.001234567890123 * (c + 1);
    a->b = -0.5 * c;
    a->skew_us = 12.5 * c;
    a->min = fmt == HR_CT_BINARY ? -32767 : -2147483647;
    a->max = -a->min;
    a->primary = 13800;
    a->secondary = 120;
    a->ps = c ? 'S' : 'P';
  }
  for (int d = 0; d < 17; d++) {
    snprintf(r->cfg.digital[d].id, sizeof r->cfg.digital[d].id, "D%d", d);
    r->cfg.digital[d].normal = d & 1;
  }
  r->cfg.line_freq_hz = 60;
  r->cfg.n_rates = 1;
  r->cfg.rates[0].samp_hz = 8000;
  r->cfg.rates[0].end_sample = 500;
  r->cfg.end_sample = 500;
  r->cfg.start_ns = 1767225600123456789LL;
  r->cfg.trigger_ns = r->cfg.start_ns + 25000000;
  r->cfg.timemult = 1;
  snprintf(r->cfg.time_code, sizeof r->cfg.time_code, "-5h30");
  snprintf(r->cfg.local_code, sizeof r->cfg.local_code, "0");
  snprintf(r->cfg.tmq_code, sizeof r->cfg.tmq_code, "B");
  r->cfg.leap_sec = 1;
  for (int64_t k = 0; k < 500; k++) {
    r->sample_num[k] = k + 1;
    r->timestamp[k] = k * 125;
    for (int c = 0; c < 3; c++) {
      double v = fmt == HR_CT_FLOAT32 ? (double)(float)(1000 * sin(0.01 * (double)k + c) / 3.0)
                                      : floor(32000 * sin(0.01 * (double)k + c));
      r->raw[k * 3 + c] = (k == 7 && c == 1) ? NAN : v;
    }
    for (int d = 0; d < 17; d++)
      r->digital[k * 17 + d] = (uint8_t)(((k >> (d % 5)) ^ d) & 1);
  }
  return r;
}

static void assert_same(const hr_ct_rec_t *a, const hr_ct_rec_t *b)
{
  assert_int_equal(a->n_samples, b->n_samples);
  assert_string_equal(a->cfg.station, b->cfg.station);
  assert_string_equal(a->cfg.rec_dev_id, b->cfg.rec_dev_id);
  assert_int_equal(a->cfg.n_analog, b->cfg.n_analog);
  assert_int_equal(a->cfg.n_digital, b->cfg.n_digital);
  assert_int_equal(a->cfg.start_ns, b->cfg.start_ns);
  assert_int_equal(a->cfg.trigger_ns, b->cfg.trigger_ns);
  assert_true(a->cfg.line_freq_hz == b->cfg.line_freq_hz);
  assert_true(a->cfg.rates[0].samp_hz == b->cfg.rates[0].samp_hz);
  assert_string_equal(a->cfg.time_code, b->cfg.time_code);
  assert_string_equal(a->cfg.tmq_code, b->cfg.tmq_code);
  assert_int_equal(a->cfg.leap_sec, b->cfg.leap_sec);
  for (int c = 0; c < a->cfg.n_analog; c++) {
    const hr_ct_analog_t *x = &a->cfg.analog[c], *y = &b->cfg.analog[c];
    assert_string_equal(x->id, y->id);
    assert_string_equal(x->ph, y->ph);
    assert_string_equal(x->unit, y->unit);
    assert_true(x->a == y->a && x->b == y->b && x->skew_us == y->skew_us);
    assert_true(x->primary == y->primary && x->secondary == y->secondary && x->ps == y->ps);
  }
  for (int d = 0; d < a->cfg.n_digital; d++) {
    assert_string_equal(a->cfg.digital[d].id, b->cfg.digital[d].id);
    assert_int_equal(a->cfg.digital[d].normal, b->cfg.digital[d].normal);
  }
  size_t na = (size_t)a->cfg.n_analog, nd = (size_t)a->cfg.n_digital;
  for (int64_t k = 0; k < a->n_samples; k++) {
    assert_int_equal(a->sample_num[k], b->sample_num[k]);
    assert_int_equal(a->timestamp[k], b->timestamp[k]);
    assert_int_equal(hr_ct_time_ns(a, k), hr_ct_time_ns(b, k));
    for (size_t c = 0; c < na; c++) {
      double x = a->raw[k * (int64_t)na + (int64_t)c], y = b->raw[k * (int64_t)na + (int64_t)c];
      assert_true((isnan(x) && isnan(y)) || memcmp(&x, &y, sizeof x) == 0);
    }
    assert_memory_equal(a->digital + k * (int64_t)nd, b->digital + k * (int64_t)nd, nd);
  }
}

static void round_trip(hr_ct_format_t fmt, int cff, int digits)
{
  hr_ct_rec_t *r = make_rec(fmt == HR_CT_BINARY32 || fmt == HR_CT_ASCII ? HR_CT_BINARY32 : fmt);
  if (digits == 6) { /* 6-digit dates carry µs */
    r->cfg.start_ns -= r->cfg.start_ns % 1000;
    r->cfg.trigger_ns -= r->cfg.trigger_ns % 1000;
  }
  char base[300], path[320];
  snprintf(base, sizeof base, "%s/rt_%d_%d_%d", tmpdir, fmt, cff, digits);
  hr_ct_write_opts_t o = {.format = fmt, .cff = cff, .frac_digits = digits};
  assert_int_equal(hr_ct_write(r, base, &o), HR_OK);
  snprintf(path, sizeof path, "%s.%s", base, cff ? "cff" : "cfg");
  hr_ct_rec_t *b;
  hr_ct_info_t info;
  hr_diag_t d;
  int rc = hr_ct_read(path, NULL, &b, &info, &d);
  if (rc != HR_OK)
    fail_msg("%s", dtext(&d));
  assert_int_equal(info.warnings & ~(unsigned)HR_CT_WARN_MISSING, 0);
  assert_int_equal(info.missing_values, 1);
  assert_int_equal(b->cfg.format, fmt);
  assert_int_equal(b->cfg.frac_digits, digits);
  assert_same(r, b);
  hr_ct_rec_destroy(b);
  hr_ct_rec_destroy(r);
}

static void test_round_trip(void **state)
{
  (void)state;
  for (int f = HR_CT_ASCII; f <= HR_CT_FLOAT32; f++)
    for (int cff = 0; cff < 2; cff++) {
      round_trip((hr_ct_format_t)f, cff, 6);
      round_trip((hr_ct_format_t)f, cff, 9);
    }
}

static void test_write_rejects_unfit(void **state)
{
  (void)state;
  hr_ct_rec_t *r = make_rec(HR_CT_FLOAT32);
  char base[300];
  snprintf(base, sizeof base, "%s/unfit", tmpdir);
  hr_ct_write_opts_t o = {.format = HR_CT_BINARY, .frac_digits = 6};
  assert_int_equal(hr_ct_write(r, base, &o), HR_ERR_RANGE);
  /* Nothing under the final names, no temporary left. */
  struct stat st;
  char path[320];
  snprintf(path, sizeof path, "%s.cfg", base);
  assert_int_not_equal(stat(path, &st), 0);
  snprintf(path, sizeof path, "%s.dat", base);
  assert_int_not_equal(stat(path, &st), 0);
  /* Quantised, it fits, and values agree within half a code. */
  hr_ct_rec_t *q = make_rec(HR_CT_FLOAT32);
  assert_int_equal(hr_ct_rec_quantize(q, HR_CT_BINARY), HR_OK);
  assert_int_equal(hr_ct_write(q, base, &o), HR_OK);
  for (int c = 0; c < 3; c++)
    for (int64_t k = 0; k < 500; k++) {
      double x = hr_ct_value(r, c, k), y = hr_ct_value(q, c, k);
      if (isnan(x))
        assert_true(isnan(y));
      else
        assert_true(fabs(x - y) <= 0.5 * q->cfg.analog[c].a * 1.0000001);
    }
  /* An unwritable directory is an I/O error, not a crash. */
  snprintf(base, sizeof base, "%s/no/such/dir/x", tmpdir);
  assert_int_equal(hr_ct_write(q, base, &o), HR_ERR_IO);
  hr_ct_rec_destroy(q);
  hr_ct_rec_destroy(r);
}

static const char good_cfg[] = "ST,DEV,2013\n"
                               "3,2A,1D\n"
                               "1,IA,A,L1,A,0.5,1,0,-32767,32767,1,1,P\n"
                               "2,VA,A,L1,V,2,0,0,-32767,32767,100,1,S\n"
                               "1,TRIP,,L1,0\n"
                               "50\n"
                               "2\n"
                               "1000,3\n"
                               "500,5\n"
                               "01/02/2024,03:04:05.123456\n"
                               "01/02/2024,03:04:05.125456\n"
                               "ASCII\n"
                               "1\n"
                               "0,0\n"
                               "0,0\n";

/* A time a file can state but 64-bit nanoseconds cannot hold comes out as
 * INT64_MIN ("no time"), never wrapped (a CI fuzzer's find: a start in 2024
 * plus samples of a 1.2e-10 Hz rate, 8.3e18 ns apart, overflowed). */
static void test_time_out_of_range(void **state)
{
  (void)state;
  char cfg[sizeof good_cfg + 16];
  const char *at = strstr(good_cfg, "1000,3\n");
  assert_non_null(at);
  int n = snprintf(cfg, sizeof cfg, "%.*s1.2e-10,3\n%s", (int)(at - good_cfg), good_cfg,
                   at + strlen("1000,3\n"));
  assert_true(n > 0 && (size_t)n < sizeof cfg);
  hr_ct_cfg_t c;
  hr_diag_t d;
  assert_int_equal(hr_ct_cfg_parse(cfg, (size_t)n, "r.cfg", &c, NULL, &d), HR_OK);
  const char dat[] = "1,0,1,2,0\n2,1000,3,4,1\n3,2000,5,6,0\n4,3000,7,8,1\n5,5000,9,10,0\n";
  hr_ct_rec_t *r;
  assert_int_equal(hr_ct_dat_parse(&c, HR_CT_ASCII, dat, sizeof dat - 1, "r.dat", &r, NULL, &d),
                   HR_OK);
  assert_int_equal(hr_ct_time_ns(r, 0), c.start_ns);
  assert_true(hr_ct_time_ns(r, 1) == INT64_MIN);
  assert_true(hr_ct_time_ns(r, 2) == INT64_MIN);
  /* the second segment starts at its DAT timestamp again: representable */
  assert_int_equal(hr_ct_time_ns(r, 3) - c.start_ns, 3000000);
  hr_ct_rec_destroy(r);
  hr_ct_cfg_free(&c);
}

static void test_cfg_fields(void **state)
{
  (void)state;
  hr_ct_cfg_t c;
  hr_ct_info_t info;
  hr_diag_t d;
  assert_int_equal(hr_ct_cfg_parse(good_cfg, sizeof good_cfg - 1, "g.cfg", &c, &info, &d), HR_OK);
  assert_int_equal(d.code, HR_OK);
  assert_int_equal(info.declared_samples, 5);
  assert_int_equal(c.rev_year, 2013);
  assert_int_equal(c.n_rates, 2);
  assert_int_equal(c.end_sample, 5);
  assert_true(c.analog[1].a == 2 && c.analog[1].ps == 'S');
  /* 1 Feb 2024 03:04:05.123456 UTC */
  assert_int_equal(c.start_ns, 1706756645123456000LL);
  assert_int_equal(c.frac_digits, 6);
  /* Multi-rate time axis: 1 kHz for 3 samples, then 500 Hz. */
  const char dat[] = "1,0,1,2,0\n2,1000,3,4,1\n3,2000,5,6,0\n4,3000,7,8,1\n5,5000,9,10,0\n";
  hr_ct_rec_t *r;
  assert_int_equal(hr_ct_dat_parse(&c, HR_CT_ASCII, dat, sizeof dat - 1, "g.dat", &r, NULL, &d),
                   HR_OK);
  assert_int_equal(r->n_samples, 5);
  assert_int_equal(hr_ct_time_ns(r, 2) - c.start_ns, 2000000);
  /* segment 2 starts at its first DAT timestamp (3000 µs), then 2 ms steps */
  assert_int_equal(hr_ct_time_ns(r, 3) - c.start_ns, 3000000);
  assert_int_equal(hr_ct_time_ns(r, 4) - c.start_ns, 5000000);
  assert_true(hr_ct_value(r, 0, 1) == 0.5 * 3 + 1);
  assert_int_equal(r->digital[3], 1);
  hr_ct_rec_destroy(r);
  hr_ct_cfg_free(&c);
}

/* Replace the first occurrence of `from` in good_cfg and expect an error at
 * `line` in `field`. */
static void bad_cfg(const char *from, const char *to, int code, unsigned line, const char *field)
{
  char text[2048];
  const char *p = strstr(good_cfg, from);
  assert_non_null(p);
  size_t pre = (size_t)(p - good_cfg);
  snprintf(text, sizeof text, "%.*s%s%s", (int)pre, good_cfg, to, p + strlen(from));
  hr_ct_cfg_t c;
  hr_diag_t d;
  int rc = hr_ct_cfg_parse(text, strlen(text), "bad.cfg", &c, NULL, &d);
  if (rc != code || d.code != code || d.line != (long)line || strcmp(d.field, field) != 0)
    fail_msg("replacing '%s' by '%s': rc %d (want %d), line %ld (want %u), field '%s' (want "
             "'%s'): %s",
             from, to, rc, code, d.line, line, d.field, field, d.message);
  /* The place is in the members, not in the message; the one format puts it
   * in front: "bad.cfg:<line>: <field>: <message>". */
  assert_string_equal(d.source, "bad.cfg");
  assert_true(d.has_offset);
  assert_true(d.message[0] != 0);
  assert_null(strstr(d.message, "bad.cfg"));
  char want[1024];
  snprintf(want, sizeof want, "bad.cfg:%u: %s: %s", line, field, d.message);
  assert_string_equal(dtext(&d), want);
}

static void test_cfg_errors(void **state)
{
  (void)state;
  bad_cfg(",2013", ",2012", HR_ERR_UNSUPPORTED, 1, "rev_year");
  bad_cfg("3,2A,1D", "4,2A,1D", HR_ERR_PARSE, 2, "TT");
  bad_cfg("3,2A,1D", "3,2X,1D", HR_ERR_PARSE, 2, "##A");
  bad_cfg(",0.5,", ",zz,", HR_ERR_PARSE, 3, "analog 1 a");
  bad_cfg(",100,1,S", ",100,1,Q", HR_ERR_PARSE, 4, "analog 2 PS");
  bad_cfg("1,TRIP,,L1,0", "1,TRIP,,L1,7", HR_ERR_PARSE, 5, "digital 1 y");
  bad_cfg("\n50\n", "\nfifty\n", HR_ERR_PARSE, 6, "lf");
  bad_cfg("\n2\n1000", "\n99\n1000", HR_ERR_RANGE, 7, "nrates");
  bad_cfg("500,5", "500,2", HR_ERR_PARSE, 9, "endsamp");
  bad_cfg("01/02/2024,03:04:05.123456\n01", "41/02/2024,03:04:05.123456\n01", HR_ERR_PARSE, 10,
          "start date");
  bad_cfg("03:04:05.125456", "03:04:05.1254567891", HR_ERR_PARSE, 11, "trigger date");
  bad_cfg("ASCII", "EBCDIC", HR_ERR_UNSUPPORTED, 12, "ft");
  bad_cfg("ASCII\n1\n", "ASCII\n-1\n", HR_ERR_PARSE, 13, "timemult");
  /* Truncated anywhere: an error naming the line after the last one. */
  for (size_t cut = 0; cut < sizeof good_cfg - 12; cut++) {
    hr_ct_cfg_t c;
    hr_diag_t d;
    int rc = hr_ct_cfg_parse(good_cfg, cut, "cut.cfg", &c, NULL, &d);
    assert_int_not_equal(rc, HR_OK);
    assert_int_equal(d.code, rc);
    assert_true(d.line >= 1);
    assert_true(d.message[0] != 0);
    assert_string_equal(d.source, "cut.cfg");
  }
}

static void test_dat_errors(void **state)
{
  (void)state;
  hr_ct_cfg_t c;
  hr_ct_info_t info;
  hr_diag_t d;
  assert_int_equal(hr_ct_cfg_parse(good_cfg, sizeof good_cfg - 1, "g.cfg", &c, NULL, &d), HR_OK);
  hr_ct_rec_t *r = NULL;
  const char bad1[] = "1,0,1,2,0\n2,1000,3,x4,1\n";
  assert_int_equal(hr_ct_dat_parse(&c, HR_CT_ASCII, bad1, sizeof bad1 - 1, "g.dat", &r, &info, &d),
                   HR_ERR_PARSE);
  assert_int_equal(d.code, HR_ERR_PARSE);
  assert_string_equal(d.source, "g.dat");
  assert_int_equal(d.line, 2);
  assert_int_equal(d.column, 10); /* "x4" starts at byte 9 of line 2 */
  assert_string_equal(d.field, "analog 2");
  assert_true(d.has_offset);
  assert_int_equal(d.offset, 19);
  assert_string_equal(d.message, "'x4' is not a number");
  assert_string_equal(dtext(&d), "g.dat:2:10: analog 2: 'x4' is not a number");
  const char bad2[] = "1,0,1,2,0\n2,1000,3,4\n";
  assert_int_equal(hr_ct_dat_parse(&c, HR_CT_ASCII, bad2, sizeof bad2 - 1, "g.dat", &r, &info, &d),
                   HR_ERR_CHANNELS);
  assert_int_equal(d.line, 2);
  assert_string_equal(d.field, "record");
  /* Short and long DATs are read, and reported. */
  const char shortd[] = "1,0,1,2,0\n2,1000,3,4,1\n";
  assert_int_equal(
      hr_ct_dat_parse(&c, HR_CT_ASCII, shortd, sizeof shortd - 1, "g.dat", &r, &info, &d), HR_OK);
  assert_int_equal(d.code, HR_OK);
  assert_true(info.warnings & HR_CT_WARN_DAT_SHORT);
  assert_int_equal(info.found_samples, 2);
  assert_int_equal(info.declared_samples, 5);
  hr_ct_rec_destroy(r);
  /* Binary: 8 + 2*2 + 2 = 14-byte records; 30 bytes = 2 records + 2 trailing. */
  unsigned char bin[30] = {0};
  bin[0] = 1;
  bin[14] = 2;
  assert_int_equal(hr_ct_dat_parse(&c, HR_CT_BINARY, bin, sizeof bin, "g.dat", &r, &info, &d),
                   HR_OK);
  assert_int_equal(r->n_samples, 2);
  assert_true(info.warnings & HR_CT_WARN_TRAILING);
  assert_int_equal(info.trailing_bytes, 2);
  hr_ct_rec_destroy(r);
  assert_int_equal(hr_ct_dat_parse(&c, HR_CT_BINARY, bin, 13, "g.dat", &r, &info, &d),
                   HR_ERR_TRUNCATED);
  /* A binary problem has a byte offset, not a line. */
  assert_string_equal(d.source, "g.dat");
  assert_int_equal(d.line, 0);
  assert_true(d.has_offset);
  assert_int_equal(d.offset, 0);
  assert_string_equal(d.field, "record 1");
  assert_string_equal(dtext(&d), "g.dat:byte 0: record 1: 13 bytes, less than one 14-byte record");
  hr_ct_cfg_free(&c);
}

static void test_files_missing(void **state)
{
  (void)state;
  hr_ct_rec_t *r;
  hr_diag_t d;
  char path[300];
  snprintf(path, sizeof path, "%s/none.cfg", tmpdir);
  assert_int_equal(hr_ct_read(path, NULL, &r, NULL, &d), HR_ERR_IO);
  assert_int_equal(d.code, HR_ERR_IO);
  assert_string_equal(d.source, path);
  assert_non_null(strstr(dtext(&d), "none.cfg"));
  /* A CFG whose DAT is missing names the DAT. */
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(good_cfg, f);
  assert_int_equal(fclose(f), 0);
  assert_int_equal(hr_ct_read(path, NULL, &r, NULL, &d), HR_ERR_IO);
  assert_non_null(strstr(d.source, "none.dat"));
  assert_non_null(strstr(dtext(&d), "none.dat"));
  /* A CFF with a DAT byte count past the end. */
  snprintf(path, sizeof path, "%s/bad.cff", tmpdir);
  f = fopen(path, "w");
  assert_non_null(f);
  fprintf(f, "--- file type: CFG ---\n%s--- file type: DAT BINARY: 9999 ---\n", good_cfg);
  fputs("\x01\x00\x00\x00", f);
  assert_int_equal(fclose(f), 0);
  assert_int_equal(hr_ct_read(path, NULL, &r, NULL, &d), HR_ERR_TRUNCATED);
  assert_string_equal(d.field, "DAT byte count");
  assert_int_equal(d.line, 17);
  assert_string_equal(d.source, path);
  /* A DAT marker whose format disagrees with the CFG. */
  f = fopen(path, "w");
  assert_non_null(f);
  fprintf(f, "--- file type: CFG ---\n%s--- file type: DAT BINARY: 4 ---\n", good_cfg);
  assert_int_equal(fwrite("\x01\x00\x00\x00", 1, 4, f), 4);
  assert_int_equal(fclose(f), 0);
  assert_int_equal(hr_ct_read(path, NULL, &r, NULL, &d), HR_ERR_PARSE);
  assert_string_equal(d.field, "DAT format");
  assert_int_equal(d.line, 17);
}

static void test_shared_all_read(void **state)
{
  (void)state;
  static const char *const files[] = {"comtrade-io/ascii_1991.cfg",
                                      "comtrade-io/ascii_cff_2013.cff",
                                      "oedisi-transients/f1_1b274run.cfg",
                                      "oedisi-transients/f2_1bc392run.cfg",
                                      "pycomtrade/test1.cfg",
                                      "pycomtrade/test2.cfg",
                                      "python-comtrade-samples/sample_ascii.cfg",
                                      "python-comtrade-samples/sample_ascii.cff",
                                      "python-comtrade-samples/sample_bin.cfg",
                                      "python-comtrade-samples/sample_float32.cff",
                                      "python-comtrade-samples/sample_iso8859-1.cfg",
                                      "python-comtrade-samples/sample_iso8859-1_bin.cfg"};
  char path[512];
  snprintf(path, sizeof path, "%s/waveforms/comtrade", HR_SHARED_DATA);
  struct stat st;
  if (stat(path, &st) != 0) {
    printf("SKIPPED: %s not found (no ../shared/data)\n", path);
    skip();
  }
  for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
    snprintf(path, sizeof path, "%s/waveforms/comtrade/%s", HR_SHARED_DATA, files[k]);
    hr_ct_rec_t *r;
    hr_ct_info_t d;
    hr_diag_t e;
    int rc = hr_ct_read(path, NULL, &r, &d, &e);
    if (rc != HR_OK)
      fail_msg("%s", dtext(&e));
    assert_true(r->n_samples > 0);
    if (strstr(files[k], "ascii_1991")) {
      /* 8 rate segments with gaps: the second starts at DAT time 3444166 µs. */
      assert_int_equal(r->cfg.n_rates, 8);
      assert_int_equal(hr_ct_time_ns(r, 289) - r->cfg.start_ns, (3444166LL + 77500) * 1000);
      assert_true(d.warnings & HR_CT_WARN_LATIN1);
    }
    if (strstr(files[k], "ascii_cff_2013")) {
      assert_int_equal(r->n_samples, 186);
      assert_true(d.warnings & HR_CT_WARN_DAT_SHORT);
      assert_true(d.warnings & HR_CT_WARN_CFF_MARKER);
      assert_string_equal(r->cfg.rec_dev_id, "220kV线路故障");
    }
    if (strstr(files[k], "sample_float32")) {
      assert_int_equal(r->cfg.frac_digits, 9);
      assert_int_equal(r->cfg.start_ns % 1000000000, 422969065);
    }
    if (strstr(files[k], "iso8859-1.cfg"))
      assert_string_equal(r->cfg.station, "Estação de Medição");
    hr_ct_rec_destroy(r);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),      cmocka_unit_test(test_write_rejects_unfit),
      cmocka_unit_test(test_cfg_fields),      cmocka_unit_test(test_cfg_errors),
      cmocka_unit_test(test_dat_errors),      cmocka_unit_test(test_files_missing),
      cmocka_unit_test(test_shared_all_read), cmocka_unit_test(test_time_out_of_range),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
