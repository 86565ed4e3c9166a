/* headroom meter: when the meter refuses frames (hr_meter_push returns
 * HR_ERR_RANGE at the last frame whose timestamp it can represent), the
 * command says so, naming the input and the sample, writes the records of
 * the frames before it (open events closed) and exits 1.  A real stream
 * reaches that limit only after 2^62 ns (146 years of samples), so the test
 * links hr_meter_push wrapped (-Wl,--wrap=hr_meter_push, CMakeLists.txt):
 * the wrapper moves the limit to a given frame and otherwise calls the
 * library. */
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

#include "cli.h"
#include "headroom/error.h"
#include "headroom/pq.h"

int __real_hr_meter_push(hr_meter_t *m, const float *frames, size_t n_frames, size_t *n_done);
int __wrap_hr_meter_push(hr_meter_t *m, const float *frames, size_t n_frames, size_t *n_done);

static int64_t limit = -1; /* frames accepted before HR_ERR_RANGE; -1: the library's */
static int64_t pushed;

int __wrap_hr_meter_push(hr_meter_t *m, const float *frames, size_t n_frames, size_t *n_done)
{
  int range = 0;
  if (limit >= 0) {
    size_t room = pushed < limit ? (size_t)(limit - pushed) : 0u;
    if (n_frames > room) {
      n_frames = room;
      range = 1;
    }
  }
  size_t done = 0;
  int rc = __real_hr_meter_push(m, frames, n_frames, &done);
  pushed += (int64_t)done;
  if (n_done)
    *n_done = done;
  return rc != HR_OK ? rc : range ? HR_ERR_RANGE : HR_OK;
}

static char tmp_dir[256];

static const char *tmp_path(const char *name)
{
  static char buf[4][512];
  static int k;
  k = (k + 1) % 4;
  snprintf(buf[k], sizeof buf[k], "%s/%s", tmp_dir, name);
  return buf[k];
}

/* Runs cmd_meter with a NULL-terminated argument list, stderr into a file;
 * returns the exit code. */
static int run(const char *first, ...)
{
  char *argv[64];
  int argc = 0;
  argv[argc++] = (char *)"meter";
  va_list ap;
  va_start(ap, first);
  for (const char *a = first; a && argc < 63; a = va_arg(ap, const char *))
    argv[argc++] = (char *)a;
  va_end(ap);
  argv[argc] = NULL;
  fflush(stderr);
  int save_err = dup(2);
  int fe = open(tmp_path("stderr"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  assert_true(save_err >= 0 && fe >= 0);
  dup2(fe, 2);
  pushed = 0;
  int rc = cmd_meter(argc, argv);
  fflush(stderr);
  dup2(save_err, 2);
  close(fe);
  close(save_err);
  return rc;
}

static char *slurp(const char *path)
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
  return b;
}

static int setup(void **state)
{
  (void)state;
  snprintf(tmp_dir, sizeof tmp_dir, "/tmp/hr_test_cmd_meter_XXXXXX");
  if (!mkdtemp(tmp_dir))
    return -1;
  /* 1 s of 3P4W float32 frames at 8 kHz: 50 Hz, 230 V, 10 A. */
  FILE *f = fopen(tmp_path("in.f32"), "wb");
  if (!f)
    return -1;
  for (int k = 0; k < 8000; k++) {
    float fr[6];
    for (int p = 0; p < 3; p++) {
      double ph = 2 * M_PI * 50.0 * k / 8000.0 - 2 * M_PI * p / 3;
      fr[p] = (float)(230.0 * M_SQRT2 * sin(ph));
      fr[3 + p] = (float)(10.0 * M_SQRT2 * sin(ph));
    }
    fwrite(fr, sizeof fr, 1, f);
  }
  return fclose(f) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
  (void)state;
  static const char *names[] = {"stderr", "in.f32", "out.jsonl"};
  for (unsigned k = 0; k < sizeof names / sizeof names[0]; k++)
    unlink(tmp_path(names[k]));
  rmdir(tmp_dir);
  return 0;
}

/* Cycle records in a JSON Lines file, and the largest t_ns among them. */
static int count_cycles(const char *text, long long *t_max)
{
  int n = 0;
  *t_max = -1;
  for (const char *p = text; (p = strstr(p, "\"type\":\"cycle\"")) != NULL; p++) {
    n++;
    const char *t = strstr(p, "\"t_ns\":");
    if (t) {
      long long v = strtoll(t + 7, NULL, 10);
      *t_max = v > *t_max ? v : *t_max;
    }
  }
  return n;
}

static void whole_input_is_measured(void **state)
{
  (void)state;
  limit = -1;
  int rc = run("--quiet", "--f-nom", "50", "--u-din", "230", "--records", "cycle", "--out",
               tmp_path("out.jsonl"), tmp_path("in.f32"), NULL);
  char *err = slurp(tmp_path("stderr"));
  if (rc != 0)
    fail_msg("exit %d: %s", rc, err);
  char *out = slurp(tmp_path("out.jsonl"));
  long long t_max;
  assert_true(count_cycles(out, &t_max) >= 48);
  free(out);
  free(err);
}

static void refused_frames_are_reported_not_ignored(void **state)
{
  (void)state;
  limit = 5000; /* 0.625 s */
  int rc = run("--quiet", "--f-nom", "50", "--u-din", "230", "--records", "cycle", "--out",
               tmp_path("out.jsonl"), tmp_path("in.f32"), NULL);
  limit = -1;
  char *err = slurp(tmp_path("stderr"));
  if (rc != 1 || !strstr(err, tmp_path("in.f32")) || !strstr(err, "sample 5000"))
    fail_msg("expected exit 1 naming the input and sample 5000; got %d: %s", rc, err);
  /* The frames before the limit were measured and their records written. */
  char *out = slurp(tmp_path("out.jsonl"));
  long long t_max;
  int n = count_cycles(out, &t_max);
  if (n < 28 || t_max >= 625000000LL)
    fail_msg("%d cycle records up to t_ns %lld; want those of the first 0.625 s", n, t_max);
  free(out);
  free(err);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(whole_input_is_measured),
      cmocka_unit_test(refused_frames_are_reported_not_ignored),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
