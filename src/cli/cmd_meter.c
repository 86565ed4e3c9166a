/* headroom meter: reads a sample stream and writes JSON Lines records. */
#include <errno.h>
#include <fcntl.h>
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
          "  --quiet                   no summary on stderr\n");
}

typedef struct sink {
  FILE *out;
  const char *device_id;
  int failed;
} sink_t;

static void write_record(const hr_record_t *rec, void *user)
{
  sink_t *s = user;
  char buf[HR_RECORD_JSON_MAX];
  size_t n = 0;
  hr_record_json(rec, s->device_id, buf, sizeof buf, &n);
  buf[n] = '\n';
  if (fwrite(buf, 1, n + 1, s->out) != n + 1)
    s->failed = 1;
}

static int parse_step(const char *arg, double *base, double *pct, double *window_ms)
{
  char *end;
  *base = strtod(arg, &end);
  if (*end != ':')
    return -1;
  *pct = strtod(end + 1, &end);
  if (*end != ':')
    return -1;
  *window_ms = strtod(end + 1, &end);
  return *end ? -1 : 0;
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
  char *end;
  a->threshold = strtod(op + 1, &end);
  if (end == op + 1)
    return -1;
  a->hysteresis = 0.0;
  if (*end == ':')
    a->hysteresis = strtod(end + 1, &end);
  return *end ? -1 : 0;
}

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

/* Pushes frames into the meter; with a callback the queue never fills. */
static void feed(hr_meter_t *m, const float *frames, size_t n)
{
  size_t done = 0;
  hr_meter_push(m, frames, n, &done);
}

static void summary(const char *name, hr_meter_t *m, const hr_reader_t *r, double fs, int quiet)
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
    fprintf(stderr, "headroom meter: %s: %lld frames (%.3f s), %lld records\n", name,
            (long long)st.frames, (double)st.frames / fs, (long long)st.records);
}

int cmd_meter(int argc, char **argv)
{
  hr_meter_cfg_t cfg;
  double fs = 8000, f_nom = 60, u_din = 277;
  hr_layout_t layout = HR_LAYOUT_3P4W;
  int has_in = 0, quiet = 0, skip_bad = 0, csv_header = -1, csv_skip = 0;
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
    else if (!strcmp(a, "--scale-u"))
      bad = cli_double(v, &scale_u);
    else if (!strcmp(a, "--scale-i"))
      bad = cli_double(v, &scale_i);
    else if (!strcmp(a, "--csv-header"))
      bad = !strcmp(v, "auto") ? (csv_header = -1, 0)
            : !strcmp(v, "yes") ? (csv_header = 1, 0)
            : !strcmp(v, "no")  ? (csv_header = 0, 0)
                                : 1;
    else if (!strcmp(a, "--csv-skip-columns"))
      bad = cli_int(v, &csv_skip);
    else if (!strcmp(a, "--ref-channel"))
      bad = cli_int(v, &over.ref_channel);
    else if (!strcmp(a, "--track-pct"))
      bad = cli_double(v, &over.track_pct);
    else if (!strcmp(a, "--t0-ns"))
      bad = cli_int64(v, &t0_ns);
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
    fprintf(stderr, "headroom meter: %s\n", why);
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
  sink_t sink = {stdout, device_id, 0};
  if (out_path) {
    sink.out = fopen(out_path, "w");
    if (!sink.out) {
      fprintf(stderr, "headroom meter: %s: %s\n", out_path, strerror(errno));
      return 1;
    }
  }
  hr_meter_set_callback(m, write_record, &sink);

  enum { CHUNK = 65536, MAXF = 8192 };
  static unsigned char bytes[CHUNK];
  static float frames[MAXF * HR_MAX_CH];
  int status = 0;
  for (;;) {
    ssize_t got = read(fd, bytes, CHUNK);
    if (got < 0) {
      if (errno == EINTR)
        continue;
      fprintf(stderr, "headroom meter: %s: read failed: %s\n", name, strerror(errno));
      status = 1;
      break;
    }
    if (got == 0) {
      size_t nf = 0;
      rc = hr_reader_finish(r, frames, MAXF, &nf);
      feed(m, frames, nf);
      if (rc != HR_OK) {
        fprintf(stderr, "headroom meter: %s: %s\n", name, hr_reader_error(r)->message);
        status = 1;
      }
      break;
    }
    size_t off = 0;
    while (off < (size_t)got) {
      size_t nf = 0, used = 0;
      rc = hr_reader_push(r, bytes + off, (size_t)got - off, frames, MAXF, &nf, &used);
      feed(m, frames, nf);
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
      break;
  }
done:
  /* Events still in progress get their (open) end records. */
  hr_meter_finish(m);
  fflush(sink.out);
  if (sink.failed) {
    fprintf(stderr, "headroom meter: writing records failed: %s\n", strerror(errno));
    status = 1;
  }
  summary(name, m, r, fs, quiet);
  if (out_path)
    fclose(sink.out);
  if (fd > 0)
    close(fd);
  hr_reader_destroy(r);
  hr_meter_destroy(m);
  return status;
}
