#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>

#include "cli_opt.h"
#include "cli_util.h"

int cli_double(const char *text, double *out)
{
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  if (end == text || *end || errno || !isfinite(v))
    return -1;
  *out = v;
  return 0;
}

int cli_int64(const char *text, int64_t *out)
{
  char *end;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (end == text || *end || errno)
    return -1;
  *out = v;
  return 0;
}

int cli_int(const char *text, int *out)
{
  int64_t v;
  if (cli_int64(text, &v) || v < INT_MIN || v > INT_MAX)
    return -1;
  *out = (int)v;
  return 0;
}

/* The option behind a setting that hr_meter_cfg_check names in its diag's
 * field, so a refusal names what the user typed. */
const char *cli_meter_option(const char *field)
{
  static const struct {
    const char *field, *option;
  } map[] = {
      {"fs_hz", "--fs"},
      {"f_nom_hz", "--f-nom"},
      {"u_din_v", "--u-din"},
      {"layout", "--layout"},
      {"has_in", "--neutral"},
      {"ref_channel", "--ref-channel"},
      {"track_pct", "--track-pct"},
      {"u_clip_v", "--u-clip"},
      {"i_clip_a", "--i-clip"},
      {"interruption_pct", "--interruption-pct"},
      {"dip_pct", "--dip-pct"},
      {"swell_pct", "--swell-pct"},
      {"hysteresis_pct", "--hysteresis-pct"},
      {"rvc_pct", "--rvc-pct"},
      {"rvc_hysteresis_pct", "--rvc-hysteresis-pct"},
      {"p_step_pct", "--p-step"},
      {"p_step_window_ms", "--p-step"},
      {"i_step_pct", "--i-step"},
      {"i_step_window_ms", "--i-step"},
      {"n_alarms", "--alarm"},
      {"t0_ns", "--t0-ns"},
      {"harm_i_demand_a", "--i-demand"},
      {"phasor_rate_fps", "--phasor-rate"},
      {"phasor_class", "--phasor-class"},
      {"flicker_lamp_v", "--flicker-lamp"},
  };
  if (!field)
    return NULL;
  /* "alarms[2].metric": any member of any alarm comes from --alarm. */
  if (strncmp(field, "alarms[", 7) == 0)
    return "--alarm";
  static const struct {
    const char *prefix, *option;
  } sw[] = {{"swing.n_windows", "--swing-window"},
            {"swing.window_s", "--swing-window"},
            {"swing.n_bands", "--swing-band"},
            {"swing.band_lo_hz", "--swing-band"},
            {"swing.band_limit_w", "--swing-band-limit"},
            {"swing.n_ramps", "--swing-ramp"},
            {"swing.ramp_window_s", "--swing-ramp"},
            {"swing.ramp_limit_w_per_s", "--swing-ramp-limit"},
            {"swing.hysteresis_pct", "--swing-hysteresis-pct"}};
  for (size_t k = 0; k < sizeof sw / sizeof sw[0]; k++)
    if (strncmp(field, sw[k].prefix, strlen(sw[k].prefix)) == 0)
      return sw[k].option;
  for (size_t k = 0; k < sizeof map / sizeof map[0]; k++)
    if (strcmp(field, map[k].field) == 0)
      return map[k].option;
  return NULL;
}

int cli_load_tree(const char *prog, const char *path, hr_tree_t **tree)
{
  hr_diag_t err;
  int rc;
  *tree = NULL;
  if (cli_is_stdio(path)) {
    char *text = NULL;
    size_t len = 0;
    if (cli_read_all(path, &text, &len) != 0) {
      fprintf(stderr, "%s: standard input: %s\n", prog, strerror(errno));
      return -1;
    }
    rc = hr_tree_load_buffer(text, len, "stdin", tree, &err);
    free(text);
  } else {
    rc = hr_tree_load_file(path, tree, &err);
  }
  if (rc != HR_OK) {
    char etext[1024];
    hr_diag_format(&err, etext, sizeof etext);
    fprintf(stderr, "%s: %s\n", prog, etext);
    return -1;
  }
  return 0;
}

int64_t cli_now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int cli_close_out(FILE *f, const char *prefix, const char *path)
{
  errno = 0;
  int bad = fflush(f) != 0;
  int err = errno;
  bad |= ferror(f) != 0;
  if (fclose(f) != 0 && !bad) {
    bad = 1;
    err = errno;
  }
  if (!bad)
    return 0;
  /* A write that failed before the flush leaves the error flag but not its
   * errno; say "write error" then. */
  fprintf(stderr, "%s: %s: %s\n", prefix, path, err ? strerror(err) : "write error");
  return -1;
}

static int stdout_reported;

void cli_stdout_reported(void)
{
  stdout_reported = 1;
}

int cli_flush_stdout(const char *prefix)
{
  errno = 0;
  if (fflush(stdout) == 0 && !ferror(stdout))
    return 0;
  int err = errno;
  if (!stdout_reported)
    fprintf(stderr, "%s: standard output: %s\n", prefix, err ? strerror(err) : "write error");
  stdout_reported = 1;
  return -1;
}

int cli_close_stdout(void)
{
  if (!stdout_reported)
    return cli_close_out(stdout, "headroom", "standard output");
  fclose(stdout);
  return -1;
}

/* ---- the clean stop ------------------------------------------------------ */

static volatile sig_atomic_t stop_signo;
static sigset_t stop_set, run_mask;
static int stop_blocked;

static void on_stop(int signo)
{
  stop_signo = signo;
}

void cli_stop_catch(int block)
{
  static const int sigs[] = {SIGTERM, SIGINT, SIGHUP};
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop;
  sigemptyset(&sa.sa_mask);
  /* No SA_RESTART for the reader: a signal ends its wait.  SA_RESETHAND: a
   * second signal takes the default action. */
  sa.sa_flags = SA_RESETHAND | (block ? 0 : SA_RESTART);
  sigemptyset(&stop_set);
  for (size_t k = 0; k < sizeof sigs / sizeof sigs[0]; k++) {
    sigaddset(&stop_set, sigs[k]);
    sigaction(sigs[k], &sa, NULL);
  }
  if (block && sigprocmask(SIG_BLOCK, &stop_set, &run_mask) == 0) {
    stop_blocked = 1;
    /* The mask while waiting: the one before, with the stop signals open. */
    for (size_t k = 0; k < sizeof sigs / sizeof sigs[0]; k++)
      sigdelset(&run_mask, sigs[k]);
  }
}

int cli_stop_requested(void)
{
  /* A signal blocked outside cli_wait_readable stays pending until then; a
   * stream that ended at the same moment must still see it. */
  if (!stop_signo && stop_blocked) {
    sigset_t pend;
    if (sigpending(&pend) == 0) {
      static const int sigs[] = {SIGTERM, SIGINT, SIGHUP};
      for (size_t k = 0; k < sizeof sigs / sizeof sigs[0] && !stop_signo; k++)
        if (sigismember(&pend, sigs[k]) == 1)
          stop_signo = sigs[k];
    }
  }
  return stop_signo;
}

int cli_wait_readable(int fd)
{
  if (fd < 0 || fd >= FD_SETSIZE)
    return cli_stop_requested(); /* cannot wait on it; read() blocks instead */
  for (;;) {
    if (cli_stop_requested())
      return stop_signo;
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(fd, &rd);
    /* pselect opens the stop signals only while it waits, atomically: a
     * signal that came after the check above is delivered here. */
    int n = pselect(fd + 1, &rd, NULL, NULL, NULL, stop_blocked ? &run_mask : NULL);
    if (n > 0)
      return 0;
    if (n < 0 && errno != EINTR)
      return -1;
  }
}

int cli_stop_status(int signo)
{
  return 128 + signo;
}

void cli_json_str(FILE *f, const char *v)
{
  fputc('"', f);
  for (const unsigned char *c = (const unsigned char *)v; *c; c++) {
    if (*c == '"' || *c == '\\')
      fprintf(f, "\\%c", *c);
    else if (*c < 0x20)
      fprintf(f, "\\u%04x", *c);
    else
      fputc(*c, f);
  }
  fputc('"', f);
}

void cli_json_num(FILE *f, const char *key, double v, int comma)
{
  if (isfinite(v))
    fprintf(f, "\"%s\":%.12g%s", key, v, comma ? "," : "");
  else
    fprintf(f, "\"%s\":null%s", key, comma ? "," : "");
}
