/* headroom gen: options, formats and error messages.  The test links the
 * command's object library (hr_cli) and calls cmd_gen directly. */
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

/* cmocka 1.1.5 has no double comparison; this one prints both values. */
#define assert_near(a, b, tol)                                                                     \
  do {                                                                                             \
    double a_ = (a), b_ = (b), t_ = (tol);                                                         \
    if (!(fabs(a_ - b_) <= t_))                                                                    \
      fail_msg("%s = %.17g, want %s = %.17g +- %g", #a, a_, #b, b_, t_);                           \
  } while (0)

#include "cli.h"
#include "headroom/error.h"
#include "headroom/gen.h"
#include "headroom/layout.h"

static char tmp_dir[256];

static const char *tmp_path(const char *name)
{
  static char buf[4][512];
  static int k;
  k = (k + 1) % 4;
  snprintf(buf[k], sizeof buf[k], "%s/%s", tmp_dir, name);
  return buf[k];
}

/* Runs cmd_gen with a NULL-terminated argument list, capturing stdout and
 * stderr into files; returns the exit code. */
static int run(const char *first, ...)
{
  char *argv[64];
  int argc = 0;
  argv[argc++] = (char *)"gen";
  va_list ap;
  va_start(ap, first);
  for (const char *a = first; a && argc < 63; a = va_arg(ap, const char *))
    argv[argc++] = (char *)a;
  va_end(ap);
  argv[argc] = NULL;

  fflush(stdout);
  fflush(stderr);
  int save_out = dup(1), save_err = dup(2);
  int fo = open(tmp_path("stdout"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  int fe = open(tmp_path("stderr"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  assert_true(save_out >= 0 && save_err >= 0 && fo >= 0 && fe >= 0);
  dup2(fo, 1);
  dup2(fe, 2);
  int rc = cmd_gen(argc, argv);
  fflush(stdout);
  fflush(stderr);
  dup2(save_out, 1);
  dup2(save_err, 2);
  close(fo);
  close(fe);
  close(save_out);
  close(save_err);
  return rc;
}

static char *slurp(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  assert_non_null(b);
  assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
  b[n] = '\0';
  fclose(f);
  if (len)
    *len = (size_t)n;
  return b;
}

static void expect_usage_error(const char *needle, const char *first, ...)
{
  /* Re-pack the arguments for run(). */
  const char *a[16];
  int n = 0;
  va_list ap;
  va_start(ap, first);
  for (const char *s = first; s && n < 15; s = va_arg(ap, const char *))
    a[n++] = s;
  va_end(ap);
  a[n] = NULL;
  int rc = run(n > 0 ? a[0] : NULL, n > 1 ? a[1] : NULL, n > 2 ? a[2] : NULL, n > 3 ? a[3] : NULL,
               n > 4 ? a[4] : NULL, n > 5 ? a[5] : NULL, NULL);
  char *err = slurp(tmp_path("stderr"), NULL);
  if (rc != 2 || !strstr(err, needle))
    fail_msg("expected exit 2 and '%s' in stderr; got %d: %s", needle, rc, err);
  free(err);
}

static int setup(void **state)
{
  (void)state;
  snprintf(tmp_dir, sizeof tmp_dir, "/tmp/hr_test_cmd_gen_XXXXXX");
  return mkdtemp(tmp_dir) ? 0 : -1;
}

static int teardown(void **state)
{
  (void)state;
  static const char *names[] = {"stdout", "stderr", "a.f32", "a.csv", "a.i16", "t.csv"};
  for (unsigned k = 0; k < sizeof names / sizeof names[0]; k++)
    unlink(tmp_path(names[k]));
  rmdir(tmp_dir);
  return 0;
}

/* f32 output is the library's fill, byte for byte (little-endian host). */
static void f32_matches_library(void **state)
{
  (void)state;
  assert_int_equal(run("dip", "--samples", "10000", "--harmonic", "3:10:45", "--noise-pct", "0.1",
                       "--out", tmp_path("a.f32"), NULL),
                   0);
  size_t len;
  char *bytes = slurp(tmp_path("a.f32"), &len);
  assert_int_equal(len, 10000 * 6 * 4);
  hr_gen_cfg_t c;
  hr_gen_cfg_init(&c);
  hr_gen_cfg_preset(&c, "dip", NULL);
  hr_gen_cfg_set_harmonic(&c, HR_GEN_U, 3, 10, 45);
  c.u_noise_pct = c.i_noise_pct = 0.1;
  hr_gen_t *g;
  assert_int_equal(hr_gen_create(&c, &g), HR_OK);
  float *x = malloc(len);
  hr_gen_fill(g, x, 10000);
  assert_memory_equal(bytes, x, len);
  hr_gen_destroy(g);
  free(x);
  free(bytes);
}

/* CSV has a header naming channels with units and round-trips float32. */
static void csv_format(void **state)
{
  (void)state;
  assert_int_equal(run("sine", "--layout", "3p4w", "--neutral", "--samples", "50", "--format",
                       "csv", "--out", tmp_path("a.csv"), NULL),
                   0);
  char *txt = slurp(tmp_path("a.csv"), NULL);
  assert_true(strncmp(txt, "ua_v,ub_v,uc_v,ia_a,ib_a,ic_a,in_a\n", 35) == 0);
  hr_gen_cfg_t c;
  hr_gen_cfg_init(&c);
  hr_gen_cfg_preset(&c, "sine", NULL);
  c.has_in = 1;
  hr_gen_t *g;
  hr_gen_create(&c, &g);
  float x[50 * 7];
  hr_gen_fill(g, x, 50);
  char *p = strchr(txt, '\n') + 1;
  int lines = 0;
  for (int k = 0; k < 50; k++) {
    for (int ch = 0; ch < 7; ch++) {
      char *end;
      float v = strtof(p, &end);
      assert_true(v == x[k * 7 + ch]);
      p = end + 1;
    }
    lines++;
  }
  assert_int_equal(lines, 50);
  assert_int_equal(*p, '\0');
  hr_gen_destroy(g);
  free(txt);
}

/* i16 codes are round(x / scale), saturating at +-32767. */
static void i16_format(void **state)
{
  (void)state;
  assert_int_equal(run("sine", "--layout", "1p2w", "--samples", "400", "--format", "i16",
                       "--scale-u", "0.02", "--scale-i", "0.004", "--out", tmp_path("a.i16"), NULL),
                   0);
  size_t len;
  unsigned char *b = (unsigned char *)slurp(tmp_path("a.i16"), &len);
  assert_int_equal(len, 400 * 2 * 2);
  hr_gen_cfg_t c;
  hr_gen_cfg_init(&c);
  c.layout = HR_LAYOUT_1P2W;
  hr_gen_cfg_preset(&c, "sine", NULL);
  hr_gen_t *g;
  hr_gen_create(&c, &g);
  float x[800];
  hr_gen_fill(g, x, 400);
  int saturated = 0;
  for (int k = 0; k < 800; k++) {
    int16_t code = (int16_t)(uint16_t)(b[2 * k] | (b[2 * k + 1] << 8));
    double scale = k % 2 ? 0.004 : 0.02;
    double want = nearbyint(x[k] / scale);
    if (want > 32767 || want < -32767) {
      assert_int_equal(abs(code), 32767);
      saturated++;
    } else {
      assert_int_equal(code, (int)want);
    }
  }
  /* 141.4 A peak at 0.004 A/code is 35355 codes: the current peaks clip. */
  assert_true(saturated > 0);
  char *err = slurp(tmp_path("stderr"), NULL);
  assert_non_null(strstr(err, "saturated"));
  free(err);
  hr_gen_destroy(g);
  free(b);
}

static void truth_file(void **state)
{
  (void)state;
  assert_int_equal(run("ai-rack", "--seconds", "1", "--out", tmp_path("a.f32"), "--truth",
                       tmp_path("t.csv"), NULL),
                   0);
  char *txt = slurp(tmp_path("t.csv"), NULL);
  assert_true(strncmp(txt, "n,t_s,t_ns,f_hz,rocof_hz_per_s,p_w,q1_var,demand_w,ua_rms_v,", 59) ==
              0);
  int lines = 0;
  for (char *p = txt; *p; p++)
    lines += *p == '\n';
  /* 8000 samples, one line per 133 samples (one nominal cycle) + header. */
  assert_int_equal(lines, 1 + (8000 + 132) / 133);
  free(txt);
}

static void every_scenario_runs(void **state)
{
  (void)state;
  for (int k = 0; hr_gen_preset_name(k); k++) {
    const char *name = hr_gen_preset_name(k);
    if (run(name, "--samples", "200", "--out", tmp_path("a.f32"), NULL) != 0)
      fail_msg("scenario %s failed", name);
    if (run(name, "--samples", "200", "--layout", "3p3w", "--f-nom", "50", "--out",
            tmp_path("a.f32"), NULL) != 0)
      fail_msg("scenario %s failed in 3p3w at 50 Hz", name);
  }
  assert_int_equal(run("--help", NULL), 0);
  char *out = slurp(tmp_path("stdout"), NULL);
  assert_non_null(strstr(out, "--interharmonic"));
  assert_non_null(strstr(out, "modulation"));
  free(out);
  assert_int_equal(run("--list", NULL), 0);
}

static void bad_options(void **state)
{
  (void)state;
  expect_usage_error("--harmonic", "sine", "--harmonic", "3", NULL);
  expect_usage_error("--harmonic", "sine", "--harmonic=3.5:10", NULL);
  expect_usage_error("--dip", "sine", "--dip", "1:x:50", NULL);
  expect_usage_error("--dip", "sine", "--dip", "1:0.1:50:abx", NULL);
  expect_usage_error("--dip", "sine", "--dip", "1:-0.1:50", NULL);
  expect_usage_error("--swell", "sine", "--swell", "1:0.1:90", NULL);
  expect_usage_error("--format", "sine", "--format", "wav", NULL);
  expect_usage_error("unknown option", "sine", "--frobnicate", NULL);
  expect_usage_error("unknown scenario", "nope", NULL);
  expect_usage_error("needs a value", "sine", "--fs", NULL);
  expect_usage_error("--fs", "sine", "--fs", "0", NULL);
  expect_usage_error("Nyquist", "sine", "--fs", "1000", "--harmonic", "10:1", NULL);
  expect_usage_error("--i-harmonic", "ai-rack", "--fs", "2000", NULL);
  expect_usage_error("--pf", "ai-rack", "--pf", "0.8lag", NULL);
  expect_usage_error("--pf", "sine", "--pf", "1.3", NULL);
  expect_usage_error("--neutral", "sine", "--layout", "3p3w", "--neutral", NULL);
  expect_usage_error("--layout", "sine", "--layout", "2p5w", NULL);
  expect_usage_error("--rise-ms", "ai-rack", "--rise-ms", "500", NULL);
  expect_usage_error("--ramp", "sine", "--ramp", "1:2:1", NULL);
}

static void options_reach_the_generator(void **state)
{
  (void)state;
  /* --pf 0.5lead on the linear load: ia leads ua by 60 degrees. */
  assert_int_equal(run("sine", "--pf", "0.5lead", "--samples", "133", "--truth", tmp_path("t.csv"),
                       "--truth-every", "1000", "--out", tmp_path("a.f32"), NULL),
                   0);
  char *txt = slurp(tmp_path("t.csv"), NULL);
  char *row = strchr(txt, '\n') + 1;
  double v[32];
  int n = 0;
  for (char *p = row; n < 32 && *p && *p != '\n'; n++) {
    char *end;
    v[n] = strtod(p, &end);
    p = *end == ',' ? end + 1 : end;
  }
  /* n,t_s,t_ns,f,rocof,p,q1,demand, then (rms, ang) per channel. */
  assert_near(v[5], 3 * 277 * 100 * 0.5, 1e-3);
  assert_near(v[14 + 1], 60 * 3.14159265358979 / 180, 1e-6); /* ia angle */
  free(txt);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(f32_matches_library),
      cmocka_unit_test(csv_format),
      cmocka_unit_test(i16_format),
      cmocka_unit_test(truth_file),
      cmocka_unit_test(every_scenario_runs),
      cmocka_unit_test(bad_options),
      cmocka_unit_test(options_reach_the_generator),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
