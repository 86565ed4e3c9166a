/* libFuzzer harness for `headroom plan metrics`: its series reader (one
 * number per line, the last CSV field; src/cli/cmd_plan.c, compiled into
 * this harness so its static functions can be called) and the fidelity
 * metrics of include/headroom/plan.h.
 *
 * Byte 0 picks the mode:
 *   even: text.  The rest is GT and GEN series files separated by a line
 *         "====", preceded by 2 bytes that pick --dt and --ramp-dt.  Both
 *         are read by the command's reader and the whole command runs on
 *         them (stdout to /dev/null);
 *   odd:  binary.  1 to 4 pairs of series of doubles (special values:
 *         NaN, infinities, 1e308, denormals, -0) straight into the library.
 * Checks: the reader keeps every number it accepts; the command exits 0, 1
 * or 2; the metrics never crash, and for finite inputs of moderate size
 * they are in range: KS in [0, 1], errors, NRMSE and ramps >= 0 (or NaN
 * where the API says so), ACF values within [-1, 1]. */
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_util.h"

#include "cli/cmd_plan.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int quiet_fd = -1, saved_out = -1, saved_err = -1;

/* Sends stdout and stderr of the command to /dev/null (HR_FUZZ_VERBOSE=1
 * keeps them, to read a reproducer's messages). */
static void quiet(int on)
{
  if (getenv("HR_FUZZ_VERBOSE"))
    return;
  fflush(stdout);
  fflush(stderr);
  if (on) {
    if (quiet_fd < 0 && (quiet_fd = open("/dev/null", O_WRONLY)) < 0)
      abort();
    if (saved_out < 0) {
      saved_out = dup(1);
      saved_err = dup(2);
    }
    dup2(quiet_fd, 1);
    dup2(quiet_fd, 2);
  } else {
    dup2(saved_out, 1);
    dup2(saved_err, 2);
  }
}

static int moderate(const double *x, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (!isfinite(x[i]) || fabs(x[i]) > 1e100)
      return 0;
  return 1;
}

static int all_finite(const double *x, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (!isfinite(x[i]))
      return 0;
  return 1;
}

static int nonneg_or_nan(double v)
{
  return isnan(v) || v >= 0.0;
}

static void check_metrics(const double *const *gt, const double *const *gen, const size_t *len,
                          size_t m, double dt, double ramp_dt)
{
  hr_plan_fidelity_t fd;
  int rc = hr_plan_fidelity_compute(gt, gen, len, m, dt, ramp_dt, &fd);
  /* NaN and infinite samples are refused (no ECDF of them). */
  int ok_args = m > 0 && dt > 0.0 && ramp_dt >= dt * 0.999;
  for (size_t k = 0; k < m; k++)
    ok_args = ok_args && len[k] >= 2 && all_finite(gt[k], len[k]) && all_finite(gen[k], len[k]);
  if (rc != HR_OK) {
    if (rc != HR_ERR_INVALID_ARG || ok_args)
      abort();
    return;
  }
  if (!ok_args)
    abort();
  int fin = 1;
  for (size_t k = 0; k < m; k++)
    fin = fin && moderate(gt[k], len[k]) && moderate(gen[k], len[k]);
  if (fin) {
    if (!(fd.ks >= 0.0 && fd.ks <= 1.0) || !nonneg_or_nan(fd.energy_err_pct) ||
        !nonneg_or_nan(fd.nrmse) || !nonneg_or_nan(fd.p95_err_pct) ||
        !nonneg_or_nan(fd.p99_err_pct) || !nonneg_or_nan(fd.ramp_gt_w_per_s) ||
        !nonneg_or_nan(fd.ramp_gen_w_per_s) || !nonneg_or_nan(fd.ramp_p99_err_pct))
      abort();
    if (!isnan(fd.acf_r2) && fd.acf_r2 > 1.0 + 1e-9)
      abort();
  }
  for (size_t k = 0; k < m; k++) {
    double acf[HR_PLAN_ACF_LAGS];
    hr_plan_acf(gt[k], len[k], HR_PLAN_ACF_LAGS, acf);
    if (moderate(gt[k], len[k]))
      for (int j = 0; j < HR_PLAN_ACF_LAGS; j++)
        if (!isnan(acf[j]) && fabs(acf[j]) > 1.0 + 1e-9)
          abort();
    double ks = -1.0;
    int krc = hr_plan_ks(gt[k], len[k], gen[k], len[k], &ks);
    int ks_ok = len[k] > 0 && all_finite(gt[k], len[k]) && all_finite(gen[k], len[k]);
    if (krc != (ks_ok ? HR_OK : HR_ERR_INVALID_ARG))
      abort();
    if (moderate(gt[k], len[k]) && moderate(gen[k], len[k]) && !(ks >= 0.0 && ks <= 1.0))
      abort();
    hr_plan_utility_t u;
    int urc = hr_plan_utility_compute(gt[k], len[k], dt, &u);
    if (urc != HR_OK && urc != HR_ERR_INVALID_ARG)
      abort();
  }
}

static void text_mode(const uint8_t *data, size_t size)
{
  static const char *dts[8] = {"0.1", "1", "0.25", "1e-300", "1e300", "0", "-1", "3"};
  if (size < 2)
    return;
  const char *dt = dts[data[0] & 7], *ramp_dt = dts[data[1] & 7];
  const uint8_t *a, *b;
  size_t na, nb;
  hr_fz_split(data + 2, size - 2, "\n====\n", &a, &na, &b, &nb);
  const char *pa = hr_fz_write(0, "gt.csv", a, na);
  const char *pb = hr_fz_write(1, "gen.csv", b, nb);

  double *x = NULL, *y = NULL;
  size_t nx = 0, ny = 0;
  quiet(1);
  int okx = read_series(pa, &x, &nx), oky = okx && read_series(pb, &y, &ny);
  char *argv[] = {"plan",          "metrics",  "--dt",     (char *)dt, "--ramp-dt",
                  (char *)ramp_dt, (char *)pa, (char *)pb, NULL};
  int rc = cmd_plan(8, argv);
  quiet(0);
  if (rc < 0 || rc > 2)
    abort();
  if (okx && oky) {
    /* The reader keeps no more numbers than there are lines. */
    size_t lines_a = 1, lines_b = 1;
    for (size_t i = 0; i < na; i++)
      lines_a += a[i] == '\n';
    for (size_t i = 0; i < nb; i++)
      lines_b += b[i] == '\n';
    if (nx > lines_a || ny > lines_b)
      abort();
    size_t len = nx < ny ? nx : ny;
    const double *g1[1] = {x}, *g2[1] = {y};
    if (x && y)
      check_metrics(g1, g2, &len, 1, strtod(dt, NULL), strtod(ramp_dt, NULL));
  }
  free(x);
  free(y);
}

static void binary_mode(const uint8_t *data, size_t size)
{
  hr_fz_t f = hr_fz_init(data, size);
  size_t m = 1 + hr_fz_u8(&f) % 4;
  double dt = hr_fz_u8(&f) & 1 ? hr_fz_double(&f, 0.1) : 0.1;
  double ramp_dt = hr_fz_u8(&f) & 1 ? hr_fz_double(&f, 1.0) : 1.0;
  size_t len[4];
  double *gt[4] = {0}, *gen[4] = {0};
  for (size_t k = 0; k < m; k++) {
    len[k] = (size_t)hr_fz_u8(&f) % 128;
    gt[k] = malloc((len[k] + 1) * sizeof(double));
    gen[k] = malloc((len[k] + 1) * sizeof(double));
    if (!gt[k] || !gen[k])
      abort();
    double level = 500.0 + 100.0 * (double)k;
    for (size_t i = 0; i < len[k]; i++) {
      gt[k][i] = hr_fz_left(&f) ? hr_fz_double(&f, level) : level + (double)(i % 5);
      gen[k][i] = hr_fz_left(&f) ? hr_fz_double(&f, level) : level - (double)(i % 3);
    }
  }
  check_metrics((const double *const *)gt, (const double *const *)gen, len, m, dt, ramp_dt);
  for (size_t k = 0; k < m; k++) {
    double out[128];
    size_t blk = 1 + (size_t)(k * 3);
    if (hr_plan_block_mean(gt[k], len[k], blk, out) > len[k])
      abort();
    free(gt[k]);
    free(gen[k]);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 1 || size > (1u << 18))
    return 0;
  if (data[0] & 1)
    binary_mode(data + 1, size - 1);
  else
    text_mode(data + 1, size - 1);
  return 0;
}
