/* headroom meter: reads a sample stream and writes JSON Lines records. */
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_util.h"
#include "headroom/pq.h"
#include "headroom/reader.h"
#include "headroom/wire.h"

static void usage(FILE *to)
{
  fprintf(to,
          "usage: headroom meter [options] [FILE|-]\n"
          "Measures interleaved voltage/current samples (stdin when FILE is - or absent) and\n"
          "writes one JSON object per line.\n\n"
          "input\n"
          "  --format f32le|i16le|csv  sample encoding (default f32le)\n"
          "  --scale-u V, --scale-i A  i16le: volts / amperes per code (default 1)\n"
          "  --csv-header auto|yes|no  CSV header line (default auto)\n"
          "  --csv-skip-columns N      leading CSV columns to ignore (e.g. a time column)\n"
          "  --skip-bad-lines          drop malformed CSV lines (counted) instead of stopping\n"
          "signal\n"
          "  --fs HZ                   sample rate, 2000..50000 (default 8000)\n"
          "  --f-nom 50|60             nominal frequency (default 60)\n"
          "  --u-din V                 declared voltage, L-N (1p2w, 3p4w) or L-L (3p3w) (default "
          "277)\n"
          "  --layout 1p2w|3p3w|3p4w   channel layout (default 3p4w)\n"
          "  --neutral                 3p4w frames carry a measured neutral current\n"
          "  --ref-channel N           voltage channel for zero crossings (default 0)\n"
          "  --track-pct P             frequency tracking range, %% of nominal (default 20)\n"
          "  --t0-ns N | --t0 now      timestamp of the first sample (default 0)\n"
          "  --u-clip V, --i-clip A    flag samples at or beyond this magnitude as clipped\n"
          "events\n"
          "  --dip-pct P --swell-pct P --interruption-pct P --hysteresis-pct P\n"
          "                            IEC 61000-4-30 thresholds, %% of Udin (90/110/5/2)\n"
          "  --rvc-pct P --rvc-hysteresis-pct P  rapid voltage change (3/1.5; 0 disables)\n"
          "  --p-step BASE_W:PCT:MS    power swing event: > PCT %% of BASE_W within MS ms\n"
          "  --i-step BASE_A:PCT:MS    current swing event on the largest phase Irms(1/2)\n"
          "  --alarm METRIC>X[:H]      threshold alarm (also <), hysteresis H; metrics:\n"
          "                            p_total_w dpdt_w_per_s i_peak_a i_rms_a u_rms_v freq_hz\n"
          "output\n"
          "  --records LIST            comma list of half,cycle,ms,interval,freq10s,event or all\n"
          "                            (default cycle,interval,freq10s,event)\n"
          "  --device-id ID            add \"device_id\" to every record\n"
          "  -o, --out FILE            write records to FILE instead of stdout\n"
          "  --quiet                   no summary on stderr\n\n"
          "One input per run; measure several files as one stream with cat A B | headroom\n"
          "meter -.  SIGTERM, SIGINT and SIGHUP stop reading, end open events, flush the\n"
          "records and exit with 128 + the signal number.\n");
}

typedef struct sink {
  FILE *out;
  const char *device_id;
  int failed;
  int err; /* errno of the first failed write */
} sink_t;

static void write_record(const hr_record_t *rec, void *user)
{
  sink_t *s = user;
  char buf[HR_RECORD_JSON_MAX];
  size_t n = 0;
  hr_record_json(rec, s->device_id, buf, sizeof buf, &n);
  buf[n] = '\n';
  if (!s->failed && fwrite(buf, 1, n + 1, s->out) != n + 1) {
    s->failed = 1;
    s->err = errno;
  }
}

/* BASE:PCT:MS, three finite numbers. */
static int parse_step(const char *arg, double *base, double *pct, double *window_ms)
{
  char buf[128];
  if (strlen(arg) >= sizeof buf)
    return -1;
  strcpy(buf, arg);
  char *a = buf, *b = strchr(a, ':'), *c = b ? strchr(b + 1, ':') : NULL;
  if (!c)
    return -1;
  *b++ = '\0';
  *c++ = '\0';
  return cli_double(a, base) || cli_double(b, pct) || cli_double(c, window_ms) ? -1 : 0;
}

static int parse_alarm(const char *arg, hr_alarm_cfg_t *a)
{
  const char *op = strpbrk(arg, "<>");
  if (!op || op == arg)
    return -1;
  char name[32];
  size_t n = (size_t)(op - arg);
  if (n >= sizeof name)
    return -1;
  memcpy(name, arg, n);
  name[n] = '\0';
  if (hr_metric_parse(name, &a->metric) != HR_OK)
    return -1;
  a->above = *op == '>';
  char num[64];
  if (strlen(op + 1) >= sizeof num)
    return -1;
  strcpy(num, op + 1);
  char *h = strchr(num, ':');
  if (h)
    *h++ = '\0';
  a->hysteresis = 0.0;
  return cli_double(num, &a->threshold) || (h && cli_double(h, &a->hysteresis)) ? -1 : 0;
}

/* The option behind a field that hr_meter_cfg_check names at the start of
 * its message, so a refusal names what the user typed. */
static const char *option_of(const char *why)
{
  static const struct {
    const char *field, *option;
  } map[] = {
      {"fs_hz", "--fs"},
      {"f_nom_hz", "--f-nom"},
      {"u_din_v", "--u-din"},
      {"has_in", "--neutral"},
      {"ref_channel", "--ref-channel"},
      {"track_pct", "--track-pct"},
      {"u_clip_v/i_clip_a", "--u-clip/--i-clip"},
      {"thresholds", "--interruption-pct/--dip-pct/--swell-pct"},
      {"hysteresis_pct", "--hysteresis-pct"},
      {"rvc_pct", "--rvc-pct/--rvc-hysteresis-pct"},
      {"power step", "--p-step"},
      {"current step", "--i-step"},
      {"alarms[", "--alarm"},
      {"n_alarms", "--alarm"},
      {"t0_ns", "--t0-ns"},
  };
  for (size_t k = 0; k < sizeof map / sizeof map[0]; k++)
    if (strncmp(why, map[k].field, strlen(map[k].field)) == 0)
      return map[k].option;
  return NULL;
}

/* The largest |volts or amperes per code| an i16le scale may have: full
 * scale (32768 codes) must stay a finite float. */
#define SCALE_MAX ((double)FLT_MAX / 32768.0)

static int parse_records(const char *arg, unsigned *mask)
{
  if (strcmp(arg, "all") == 0) {
    *mask = HR_RECMASK_ALL;
    return 0;
  }
  *mask = 0;
  char buf[256];
  if (strlen(arg) >= sizeof buf)
    return -1;
  strcpy(buf, arg);
  for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    int found = 0;
    for (int k = HR_REC_HALF; k <= HR_REC_EVENT; k++)
      if (strcmp(tok, hr_rec_kind_name((hr_rec_kind_t)k)) == 0) {
        *mask |= HR_RECMASK(k);
        found = 1;
      }
    if (!found)
      return -1;
  }
  return 0;
}

/* Pushes frames into the meter (with a callback the queue never fills),
 * unless they would take the sample clock past what int64 ns can hold:
 * -1 then, and nothing is pushed. */
static int feed(hr_meter_t *m, const float *frames, size_t n, int64_t *count, int64_t max)
{
  if ((int64_t)n > max - *count)
    return -1;
  size_t done = 0;
  hr_meter_push(m, frames, n, &done);
  *count += (int64_t)n;
  return 0;
}

static const char *signal_name(int signo)
{
  return signo == SIGTERM ? "SIGTERM" : signo == SIGINT ? "SIGINT" : signo == SIGHUP ? "SIGHUP"
                                                                                     : "a signal";
}

static void summary(const char *name, hr_meter_t *m, const hr_reader_t *r, double fs, int quiet,
                    int lost)
{
  hr_meter_stats_t st;
  hr_meter_get_stats(m, &st);
  if (st.bad_samples)
    fprintf(stderr,
            "headroom meter: %s: %lld NaN/infinite samples counted as 0 (first at frame %lld, "
            "channel %d); records over them carry the \"bad_sample\" flag\n",
            name, (long long)st.bad_samples, (long long)st.first_bad_frame, st.first_bad_channel);
  if (st.clipped_samples)
    fprintf(stderr,
            "headroom meter: %s: %lld samples at the clip level (first at frame %lld); records "
            "over them carry the \"clipped\" flag\n",
            name, (long long)st.clipped_samples, (long long)st.first_clipped_frame);
  if (st.freerun_halves)
    fprintf(stderr,
            "headroom meter: %s: no usable fundamental zero crossing in %lld half cycles; those "
            "windows free-run and carry the \"no_zc\" flag\n",
            name, (long long)st.freerun_halves);
  const hr_reader_stats_t *rs = hr_reader_stats(r);
  if (rs->skipped_lines)
    fprintf(stderr, "headroom meter: %s: %llu malformed lines skipped\n", name,
            (unsigned long long)rs->skipped_lines);
  if (!quiet)
    fprintf(stderr, "headroom meter: %s: %lld frames (%.3f s), %lld records%s\n", name,
            (long long)st.frames, (double)st.frames / fs, (long long)st.records,
            lost ? ", not all of them written" : "");
}

int cmd_meter(int argc, char **argv)
{
  hr_meter_cfg_t cfg;
  double fs = 8000, f_nom = 60, u_din = 277;
  hr_layout_t layout = HR_LAYOUT_3P4W;
  int has_in = 0, quiet = 0, skip_bad = 0, csv_header = -1, csv_skip = 0, n_in = 0;
  double scale_u = 1.0, scale_i = 1.0;
  hr_sample_format_t format = HR_FMT_F32LE;
  const char *in_path = "-", *out_path = NULL, *device_id = NULL;
  unsigned records = HR_RECMASK(HR_REC_CYCLE) | HR_RECMASK(HR_REC_INTERVAL) |
                     HR_RECMASK(HR_REC_FREQ10S) | HR_RECMASK(HR_REC_EVENT);
  hr_meter_cfg_t over; /* values given on the command line, applied after defaults */
  hr_meter_cfg_default(&over, fs, f_nom, u_din, layout);
  int64_t t0_ns = 0;

  for (int k = 1; k < argc; k++) {
    const char *a = argv[k];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return 0;
    }
    if (a[0] != '-' || !strcmp(a, "-")) {
      /* One stream per run: a second file would otherwise replace the
       * first unmeasured, or join it with a jump in time. */
      if (n_in++) {
        fprintf(stderr,
                "headroom meter: one input only, got '%s' and '%s' (measure several files as "
                "one stream with: cat A B | headroom meter -)\n",
                in_path, a);
        return 2;
      }
      in_path = a;
      continue;
    }
    if (!strcmp(a, "--neutral")) {
      has_in = 1;
      continue;
    }
    if (!strcmp(a, "--quiet")) {
      quiet = 1;
      continue;
    }
    if (!strcmp(a, "--skip-bad-lines")) {
      skip_bad = 1;
      continue;
    }
    if (k + 1 >= argc) {
      fprintf(stderr, "headroom meter: option %s needs a value\n", a);
      return 2;
    }
    const char *v = argv[++k];
    int bad = 0;
    if (!strcmp(a, "--fs"))
      bad = cli_double(v, &fs);
    else if (!strcmp(a, "--f-nom"))
      bad = cli_double(v, &f_nom);
    else if (!strcmp(a, "--u-din"))
      bad = cli_double(v, &u_din);
    else if (!strcmp(a, "--layout"))
      bad = hr_layout_parse(v, &layout) != HR_OK;
    else if (!strcmp(a, "--format"))
      bad = hr_sample_format_parse(v, &format) != HR_OK;
    else if (!strcmp(a, "--scale-u") || !strcmp(a, "--scale-i")) {
      double *dst = a[8] == 'u' ? &scale_u : &scale_i;
      if (cli_double(v, dst) || *dst == 0.0 || fabs(*dst) > SCALE_MAX) {
        fprintf(stderr,
                "headroom meter: %s: invalid value '%s': %s per code, a nonzero number of "
                "magnitude at most %.6g\n",
                a, v, a[8] == 'u' ? "volts" : "amperes", SCALE_MAX);
        return 2;
      }
    }
    else if (!strcmp(a, "--csv-header"))
      bad = !strcmp(v, "auto") ? (csv_header = -1, 0)
            : !strcmp(v, "yes") ? (csv_header = 1, 0)
            : !strcmp(v, "no")  ? (csv_header = 0, 0)
                                : 1;
    else if (!strcmp(a, "--csv-skip-columns")) {
      if (cli_int(v, &csv_skip) || csv_skip < 0 || csv_skip > HR_READER_MAX_SKIP_COLUMNS) {
        fprintf(stderr, "headroom meter: %s: invalid value '%s': a whole number from 0 to %d\n",
                a, v, HR_READER_MAX_SKIP_COLUMNS);
        return 2;
      }
    }
    else if (!strcmp(a, "--ref-channel"))
      bad = cli_int(v, &over.ref_channel);
    else if (!strcmp(a, "--track-pct"))
      bad = cli_double(v, &over.track_pct);
    else if (!strcmp(a, "--t0-ns")) {
      if (cli_int64(v, &t0_ns) || t0_ns < 0 || t0_ns > HR_T0_NS_MAX) {
        fprintf(stderr,
                "headroom meter: %s: invalid value '%s': nanoseconds since 1970 from 0 to %lld "
                "(2100-01-01T00:00:00Z)\n",
                a, v, (long long)HR_T0_NS_MAX);
        return 2;
      }
    }
    else if (!strcmp(a, "--t0"))
      bad = strcmp(v, "now") ? 1 : (t0_ns = cli_now_ns(), 0);
    else if (!strcmp(a, "--u-clip"))
      bad = cli_double(v, &over.u_clip_v);
    else if (!strcmp(a, "--i-clip"))
      bad = cli_double(v, &over.i_clip_a);
    else if (!strcmp(a, "--dip-pct"))
      bad = cli_double(v, &over.dip_pct);
    else if (!strcmp(a, "--swell-pct"))
      bad = cli_double(v, &over.swell_pct);
    else if (!strcmp(a, "--interruption-pct"))
      bad = cli_double(v, &over.interruption_pct);
    else if (!strcmp(a, "--hysteresis-pct"))
      bad = cli_double(v, &over.hysteresis_pct);
    else if (!strcmp(a, "--rvc-pct"))
      bad = cli_double(v, &over.rvc_pct);
    else if (!strcmp(a, "--rvc-hysteresis-pct"))
      bad = cli_double(v, &over.rvc_hysteresis_pct);
    else if (!strcmp(a, "--p-step"))
      bad = parse_step(v, &over.p_step_base_w, &over.p_step_pct, &over.p_step_window_ms);
    else if (!strcmp(a, "--i-step"))
      bad = parse_step(v, &over.i_step_base_a, &over.i_step_pct, &over.i_step_window_ms);
    else if (!strcmp(a, "--alarm")) {
      if (over.n_alarms == HR_MAX_ALARMS) {
        fprintf(stderr, "headroom meter: at most %d --alarm options\n", HR_MAX_ALARMS);
        return 2;
      }
      bad = parse_alarm(v, &over.alarms[over.n_alarms++]);
    } else if (!strcmp(a, "--records"))
      bad = parse_records(v, &records);
    else if (!strcmp(a, "--device-id"))
      device_id = v;
    else if (!strcmp(a, "-o") || !strcmp(a, "--out"))
      out_path = v;
    else {
      fprintf(stderr, "headroom meter: unknown option %s (see --help)\n", a);
      return 2;
    }
    if (bad) {
      fprintf(stderr, "headroom meter: %s: invalid value '%s' (see --help)\n", a, v);
      return 2;
    }
  }

  hr_meter_cfg_default(&cfg, fs, f_nom, u_din, layout);
  over.fs_hz = fs;
  over.f_nom_hz = f_nom;
  over.u_din_v = u_din;
  over.layout = layout;
  over.has_in = has_in;
  over.t0_ns = t0_ns;
  over.records = records;
  cfg = over;
  if (format == HR_FMT_I16LE) {
    if (cfg.u_clip_v == 0.0)
      cfg.u_clip_v = 32767.0 * scale_u;
    if (cfg.i_clip_a == 0.0)
      cfg.i_clip_a = 32767.0 * scale_i;
  }
  char why[256];
  if (hr_meter_cfg_check(&cfg, why, sizeof why) != HR_OK) {
    const char *opt = option_of(why);
    fprintf(stderr, "headroom meter: %s%s%s\n", opt ? opt : "", opt ? ": " : "", why);
    return 2;
  }
  if (device_id) {
    char probe[HR_RECORD_JSON_MAX];
    hr_record_t r = {.kind = HR_REC_MS};
    if (hr_record_json(&r, device_id, probe, sizeof probe, NULL) != HR_OK) {
      fprintf(stderr, "headroom meter: --device-id: at most 64 printable characters, no quotes\n");
      return 2;
    }
  }

  hr_meter_t *m = NULL;
  int rc = hr_meter_create(&cfg, &m);
  if (rc != HR_OK) {
    fprintf(stderr, "headroom meter: %s\n", hr_strerror(rc));
    return 1;
  }
  int nch = hr_meter_frame_len(m);
  hr_reader_cfg_t rcfg;
  hr_reader_cfg_init(&rcfg, format, nch);
  int nu = hr_layout_n_u(layout);
  for (int c = 0; c < nch; c++)
    rcfg.scale[c] = c < nu ? scale_u : scale_i;
  rcfg.csv_header = csv_header;
  rcfg.csv_skip_columns = csv_skip;
  rcfg.skip_bad_lines = skip_bad;
  hr_reader_t *r = NULL;
  rc = hr_reader_create(&rcfg, &r);
  if (rc != HR_OK) {
    fprintf(stderr, "headroom meter: input: %s\n", hr_strerror(rc));
    hr_meter_destroy(m);
    return 2;
  }

  int fd = 0;
  const char *name = "stdin";
  if (strcmp(in_path, "-") != 0) {
    fd = open(in_path, O_RDONLY);
    name = in_path;
    if (fd < 0) {
      fprintf(stderr, "headroom meter: %s: %s\n", in_path, strerror(errno));
      hr_reader_destroy(r);
      hr_meter_destroy(m);
      return 1;
    }
  }
  sink_t sink = {stdout, device_id, 0, 0};
  const char *out_name = "standard output";
  if (out_path) {
    sink.out = fopen(out_path, "w");
    out_name = out_path;
    if (!sink.out) {
      fprintf(stderr, "headroom meter: %s: %s\n", out_path, strerror(errno));
      if (fd > 0)
        close(fd);
      hr_reader_destroy(r);
      hr_meter_destroy(m);
      return 1;
    }
  }
  hr_meter_set_callback(m, write_record, &sink);
  /* From here a stop signal ends the stream like the end of the input. */
  cli_stop_catch(1);

  /* Sample k is at t0_ns + k/fs: the frames a stream may have before that
   * leaves int64 (more than 160 years with t0 <= HR_T0_NS_MAX), less an
   * hour for the windows open at the end. */
  const int64_t max_frames =
      (int64_t)(((double)(INT64_MAX - t0_ns) - 3600e9) * (fs / 1e9));
  int64_t n_frames = 0;
  enum { CHUNK = 65536, MAXF = 8192 };
  static unsigned char bytes[CHUNK];
  static float frames[MAXF * HR_MAX_CH];
  int status = 0, signo = 0;
  for (;;) {
    int w = cli_wait_readable(fd);
    if (w > 0) {
      signo = w;
      break;
    }
    ssize_t got = w < 0 ? -1 : read(fd, bytes, CHUNK);
    if (got < 0) {
      if (errno == EINTR)
        continue;
      fprintf(stderr, "headroom meter: %s: read failed: %s\n", name, strerror(errno));
      status = 1;
      break;
    }
    if (got == 0)
      break;
    size_t off = 0;
    while (off < (size_t)got) {
      size_t nf = 0, used = 0;
      rc = hr_reader_push(r, bytes + off, (size_t)got - off, frames, MAXF, &nf, &used);
      if (feed(m, frames, nf, &n_frames, max_frames) != 0)
        goto too_long;
      off += used;
      if (rc != HR_OK) {
        const hr_reader_error_t *e = hr_reader_error(r);
        fprintf(stderr, "headroom meter: %s: %s\n", name, e->message);
        if (!e->skipped) {
          status = 1;
          goto done;
        }
      }
    }
    if (sink.failed)
      goto done;
  }
  if (!signo)
    signo = cli_stop_requested(); /* came with the end of the input */
  if (status == 0) {
    /* The end of the input, or a stop: the last complete frames still
     * count; a frame cut by the signal is reported, not an error. */
    size_t nf = 0;
    rc = hr_reader_finish(r, frames, MAXF, &nf);
    if (feed(m, frames, nf, &n_frames, max_frames) != 0)
      goto too_long;
    if (rc != HR_OK) {
      fprintf(stderr, "headroom meter: %s: %s\n", name, hr_reader_error(r)->message);
      if (!signo)
        status = 1;
    }
  }
  goto done;
too_long:
  fprintf(stderr,
          "headroom meter: %s: stopped after %lld frames: later samples would be after "
          "2^63 ns since 1970 (lower --t0-ns)\n",
          name, (long long)n_frames);
  status = 1;
done:
  /* Events still in progress get their (open) end records. */
  hr_meter_finish(m);
  int werr = sink.err;
  errno = 0;
  if (!sink.failed && (fflush(sink.out) != 0 || ferror(sink.out))) {
    sink.failed = 1;
    werr = errno;
  }
  if (out_path && fclose(sink.out) != 0 && !sink.failed) {
    sink.failed = 1;
    werr = errno;
  }
  if (sink.failed) {
    fprintf(stderr, "headroom meter: %s: writing records failed: %s\n", out_name,
            werr ? strerror(werr) : "write error");
    if (!out_path)
      cli_stdout_reported();
    status = 1;
  }
  summary(name, m, r, fs, quiet, sink.failed);
  if (signo) {
    fprintf(stderr, "headroom meter: %s: stopped by %s; open events closed, records flushed\n",
            name, signal_name(signo));
    if (!sink.failed)
      status = cli_stop_status(signo);
  }
  if (fd > 0)
    close(fd);
  hr_reader_destroy(r);
  hr_meter_destroy(m);
  return status;
}
