/* headroom meter: reads a sample stream and writes its records: JSON Lines,
 * or PowerMeasurement messages (length-delimited protobuf, or their JSON
 * form), --output-format. */
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cli_util.h"
#include "headroom/comtrade.h"
#include "headroom/pq.h"
#include "headroom/reader.h"
#include "headroom/store.h"
#include "headroom/wire.h"

/* --output-format */
enum { OUT_JSON = 0, OUT_PROTO, OUT_PBJSON };

typedef struct sink {
  FILE *out;
  const char *device_id;
  int format;           /* OUT_* */
  hr_pm_t *pm;          /* OUT_PROTO, OUT_PBJSON: the message being filled (made once) */
  char *pm_buf;         /* HR_PM_JSON_MAX bytes (also holds HR_PM_DELIMITED_MAX) */
  hr_pm_trend_t *trend; /* and the 1-ms series behind an interval's features */
  int write_ms;         /* the 1-ms records were asked for (else only the trend sees them) */
  int64_t hidden;       /* 1-ms records made for the trend only */
  int failed;
  int err;           /* errno of the first failed write */
  hr_store_t *store; /* --store: interval rows and events also go there */
  int store_dev;
  char *harm_buf;  /* HR_HARM_JSON_MAX bytes when harm records are asked for */
  char *swing_buf; /* --swing-spectrum: swing_len bytes */
  size_t swing_len;
} sink_t;

static void sink_put(sink_t *s, const void *buf, size_t n)
{
  if (!s->failed && fwrite(buf, 1, n, s->out) != n) {
    s->failed = 1;
    s->err = errno;
  }
}

/* --output-format proto|pbjson: one PowerMeasurement per record
 * (docs/formats.md); a harm record's spectrum travels in the message. */
static void write_pm(sink_t *s, const hr_record_t *rec)
{
  size_t n = 0;
  /* The device id was checked before the stream started. */
  hr_pm_from_record(rec, s->device_id, s->pm);
  hr_pm_trend_apply(s->trend, rec, s->pm);
  if (rec->kind == HR_REC_MS && !s->write_ms) {
    s->hidden++;
    return;
  }
  if (s->format == OUT_PROTO) {
    if (hr_pm_encode_delimited(s->pm, (uint8_t *)s->pm_buf, HR_PM_DELIMITED_MAX, &n) == HR_OK)
      sink_put(s, s->pm_buf, n);
  } else if (hr_pm_json(s->pm, s->pm_buf, HR_PM_JSON_MAX - 1, &n) == HR_OK) {
    s->pm_buf[n] = '\n';
    sink_put(s, s->pm_buf, n + 1);
  }
}

static void write_record(const hr_record_t *rec, void *user)
{
  sink_t *s = user;
  if (s->format != OUT_JSON) {
    write_pm(s, rec);
    if (s->store && (rec->kind != HR_REC_MS || s->write_ms))
      hr_store_put_record(s->store, s->store_dev, rec);
    return;
  }
  char buf[HR_RECORD_JSON_MAX];
  size_t n = 0;
  hr_record_json(rec, s->device_id, buf, sizeof buf, &n);
  buf[n] = '\n';
  if (!s->failed && fwrite(buf, 1, n + 1, s->out) != n + 1) {
    s->failed = 1;
    s->err = errno;
  }
  /* A harm record is followed by its full spectrum (docs/formats.md). */
  if (rec->kind == HR_REC_HARM && rec->u.harm.detail && s->harm_buf) {
    hr_harm_json(rec->u.harm.detail, rec->t_ns, s->device_id, s->harm_buf, HR_HARM_JSON_MAX, &n);
    s->harm_buf[n] = '\n';
    if (!s->failed && fwrite(s->harm_buf, 1, n + 1, s->out) != n + 1) {
      s->failed = 1;
      s->err = errno;
    }
  }
  /* --swing-spectrum: a swing record is followed by its spectrum. */
  if (rec->kind == HR_REC_SWING && rec->u.swing.spectrum_w && s->swing_buf &&
      hr_swing_spectrum_json(rec, s->device_id, s->swing_buf, s->swing_len, &n) == HR_OK) {
    s->swing_buf[n] = '\n';
    if (!s->failed && fwrite(s->swing_buf, 1, n + 1, s->out) != n + 1) {
      s->failed = 1;
      s->err = errno;
    }
  }
  /* Never blocks: a full backlog drops the row and the store counts it
   * (reported at the end). */
  if (s->store)
    hr_store_put_record(s->store, s->store_dev, rec);
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
    for (int k = HR_REC_HALF; k < 32; k++)
      if (strcmp(hr_rec_kind_name((hr_rec_kind_t)k), "unknown") != 0 &&
          strcmp(tok, hr_rec_kind_name((hr_rec_kind_t)k)) == 0) {
        *mask |= HR_RECMASK(k);
        found = 1;
      }
    if (!found)
      return -1;
  }
  return 0;
}

/* Pushes frames into the meter (with a callback the queue never fills) and
 * counts those it consumed.  Returns push's code: HR_ERR_RANGE when the
 * stream reached the last frame whose timestamp the meter can represent
 * (pq.h, HR_T_MARGIN_NS: at most 2^62 ns of samples, ending before 2^63 ns
 * since 1970); the frames up to it were consumed, no later one ever is. */
static int feed(hr_meter_t *m, const float *frames, size_t n, int64_t *count)
{
  size_t done = 0;
  int rc = hr_meter_push(m, frames, n, &done);
  *count += (int64_t)done;
  return rc;
}

static const char *signal_name(int signo)
{
  return signo == SIGTERM  ? "SIGTERM"
         : signo == SIGINT ? "SIGINT"
         : signo == SIGHUP ? "SIGHUP"
                           : "a signal";
}

/* Reports the reader's last error as "file:line:column: why" (CSV) or
 * "file:byte N: why" (raw), the file being hr_reader_cfg_t.name. */
static void print_reader_diag(const hr_reader_t *r)
{
  hr_diag_t why;
  char text[HR_DIAG_SOURCE_BYTES + HR_DIAG_MSG_BYTES + 64];
  hr_reader_diag(r, &why);
  hr_diag_format(&why, text, sizeof text);
  fprintf(stderr, "headroom meter: %s\n", text);
}

/* hidden: records made for the writer's own use, not written (the 1-ms
 * records behind the features of --output-format proto|pbjson). */
static void summary(const char *name, hr_meter_t *m, const hr_reader_t *r, double fs, int quiet,
                    int lost, int64_t hidden)
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
            (long long)st.frames, (double)st.frames / fs, (long long)(st.records - hidden),
            lost ? ", not all of them written" : "");
}

/* ---- a COMTRADE recording as input (headroom meter X.cfg|X.cff) ---------- */

static int ct_is(const char *p)
{
  size_t n = strlen(p);
  return n > 4 && (strcasecmp(p + n - 4, ".cfg") == 0 || strcasecmp(p + n - 4, ".cff") == 0);
}

/* 'U' for a voltage channel, 'I' for a current, 0 for anything else, with
 * the factor to primary volts or amperes in *k (C37.111-2013 §7.4.3: values
 * are secondary when ps is S; primary = secondary x primary / secondary). */
static int ct_kind(const hr_ct_analog_t *a, double *k)
{
  int kind = 0;
  *k = 1.0;
  if (strcasecmp(a->unit, "V") == 0)
    kind = 'U';
  else if (strcasecmp(a->unit, "kV") == 0)
    kind = 'U', *k = 1e3;
  else if (strcasecmp(a->unit, "A") == 0)
    kind = 'I';
  else if (strcasecmp(a->unit, "kA") == 0)
    kind = 'I', *k = 1e3;
  if (kind && (a->ps == 'S' || a->ps == 's') && a->secondary > 0.0 && a->primary > 0.0)
    *k *= a->primary / a->secondary;
  return kind;
}

/* 0, 1, 2 for phases A/B/C (or 1/2/3), 3 for the neutral, -1 otherwise. */
static int ct_phase(const char *ph)
{
  while (*ph == ' ')
    ph++;
  switch (*ph) {
  case 'A':
  case 'a':
  case '1':
    return 0;
  case 'B':
  case 'b':
  case '2':
    return 1;
  case 'C':
  case 'c':
  case '3':
    return 2;
  case 'N':
  case 'n':
    return 3;
  default:
    return -1;
  }
}

/* Reads the recording at path and turns it into the meter's frames
 * (voltages then currents of the layout it picks, primary values, float32),
 * decimated with an anti-alias filter when the recording is faster than the
 * engine takes (50 kHz).  Sets fs, f_nom (from the CFG's line frequency),
 * the layout, the neutral, t0 (the recording's start).  0, or 1 after
 * saying why. */
static int ct_frames_of(const char *path, double *fs, double *f_nom, hr_layout_t *layout,
                        int *has_in, int64_t *t0_ns, float **out, size_t *n_out, int quiet)
{
  hr_ct_rec_t *rec = NULL;
  hr_ct_info_t info;
  hr_diag_t d;
  if (hr_ct_read(path, NULL, &rec, &info, &d) != HR_OK) {
    char text[HR_DIAG_SOURCE_BYTES + HR_DIAG_FIELD_BYTES + HR_DIAG_MSG_BYTES + 16];
    hr_diag_format(&d, text, sizeof text);
    fprintf(stderr, "headroom meter: %s\n", text);
    return 1;
  }
  const hr_ct_cfg_t *c = &rec->cfg;
  int u[3] = {-1, -1, -1}, i[4] = {-1, -1, -1, -1}, first_u = -1, first_i = -1;
  double ku[3] = {1, 1, 1}, ki[4] = {1, 1, 1, 1}, k0u = 1, k0i = 1;
  for (int ch = 0; ch < c->n_analog; ch++) {
    double k;
    int kind = ct_kind(&c->analog[ch], &k), ph = ct_phase(c->analog[ch].ph);
    if (kind == 'U' && first_u < 0)
      first_u = ch, k0u = k;
    if (kind == 'I' && first_i < 0)
      first_i = ch, k0i = k;
    if (kind == 'U' && ph >= 0 && ph < 3 && u[ph] < 0)
      u[ph] = ch, ku[ph] = k;
    if (kind == 'I' && ph >= 0 && i[ph] < 0)
      i[ph] = ch, ki[ph] = k;
  }
  int rc = 1;
  float *frames = NULL;
  if (first_u < 0) {
    fprintf(stderr, "headroom meter: %s: no voltage channel (unit V or kV) to measure\n", path);
    goto out;
  }
  if (c->n_rates > 1) {
    fprintf(stderr,
            "headroom meter: %s: %d sample rates; the meter takes one (convert the "
            "segments apart)\n",
            path, c->n_rates);
    goto out;
  }
  const double fs0 = hr_ct_rate_hz(rec, 0);
  if (!(fs0 >= 2000.0)) {
    fprintf(stderr, "headroom meter: %s: sample rate %g Hz: the meter needs 2000..50000 Hz\n", path,
            fs0);
    goto out;
  }
  /* Integer decimation to at most 50 kHz, the engine's range. */
  const int dec = (int)ceil(fs0 / 50000.0 - 1e-9);
  *fs = fs0 / dec;
  if (fabs(*fs * 1000.0 - llround(*fs * 1000.0)) > 1e-6) {
    fprintf(stderr, "headroom meter: %s: %g Hz / %d = %.9g Hz is not a multiple of 0.001 Hz\n",
            path, fs0, dec, *fs);
    goto out;
  }
  if (c->line_freq_hz == 50.0 || c->line_freq_hz == 60.0)
    *f_nom = c->line_freq_hz;
  /* Three phase voltages: 3p4w (currents missing from the recording are 0);
   * fewer: one phase, 1p2w, on the first voltage and the current of its
   * phase or the first current. */
  int src[7], nch;
  double ks[7];
  if (u[0] >= 0 && u[1] >= 0 && u[2] >= 0) {
    *layout = HR_LAYOUT_3P4W;
    *has_in = i[3] >= 0;
    nch = 6 + *has_in;
    for (int p = 0; p < 3; p++) {
      src[p] = u[p], ks[p] = ku[p];
      src[3 + p] = i[p], ks[3 + p] = ki[p];
    }
    if (*has_in)
      src[6] = i[3], ks[6] = ki[3];
  } else {
    *layout = HR_LAYOUT_1P2W;
    *has_in = 0;
    nch = 2;
    int ph = ct_phase(c->analog[first_u].ph);
    src[0] = first_u, ks[0] = k0u;
    if (ph >= 0 && ph < 3 && i[ph] >= 0)
      src[1] = i[ph], ks[1] = ki[ph];
    else
      src[1] = first_i, ks[1] = k0i;
  }
  int missing = 0;
  for (int q = 0; q < nch; q++)
    missing += src[q] < 0;
  if (missing && !quiet)
    fprintf(stderr,
            "headroom meter: %s: %d current channel(s) of the %s layout missing: "
            "measured as 0 A\n",
            path, missing, hr_layout_name(*layout));
  const int64_t n0 = rec->n_samples;
  const size_t n = (size_t)(n0 / dec);
  frames = malloc((n ? n : 1) * (size_t)nch * sizeof *frames);
  /* Anti-alias filter: a Hamming-windowed sinc, cut at 0.4 of the new rate
   * (80 % of its Nyquist band), 64 taps per decimation step, unity gain at
   * DC; none when the rate is taken as it is. */
  const int half = dec > 1 ? 32 * dec : 0, taps = 2 * half + 1;
  double *h = malloc((size_t)taps * sizeof *h);
  if (!frames || !h) {
    free(h);
    fprintf(stderr, "headroom meter: %s: out of memory\n", path);
    goto out;
  }
  double sum = 0.0;
  for (int j = 0; j < taps; j++) {
    double x = j - half, fc = 0.4 / dec;
    double s = x == 0.0 ? 2.0 * fc : sin(2.0 * M_PI * fc * x) / (M_PI * x);
    h[j] = taps > 1 ? s * (0.54 - 0.46 * cos(2.0 * M_PI * j / (taps - 1))) : 1.0;
    sum += h[j];
  }
  for (int j = 0; j < taps; j++)
    h[j] /= sum;
  for (int q = 0; q < nch; q++) {
    for (size_t k = 0; k < n; k++) {
      double y = 0.0;
      if (src[q] >= 0)
        for (int j = 0; j < taps; j++) {
          int64_t at = (int64_t)k * dec + j - half;
          at = at < 0 ? 0 : at >= n0 ? n0 - 1 : at; /* the ends repeat */
          y += h[j] * hr_ct_value(rec, src[q], at);
        }
      frames[k * (size_t)nch + (size_t)q] = (float)(y * ks[q]);
    }
  }
  free(h);
  *t0_ns = hr_ct_time_ns(rec, 0);
  if (!quiet)
    fprintf(stderr, "headroom meter: %s: %s, %lld samples at %g Hz%s, measured as %s at %g Hz\n",
            path, hr_ct_format_name(c->format), (long long)n0, fs0,
            dec > 1 ? " (decimated with an anti-alias filter)" : "", hr_layout_name(*layout), *fs);
  *out = frames;
  *n_out = n;
  frames = NULL;
  rc = 0;
out:
  free(frames);
  hr_ct_rec_destroy(rec);
  return rc;
}

/* What the options set, for the CLI_FN parsers. */
typedef struct meter_args {
  hr_meter_cfg_t over; /* values given on the command line, applied after defaults */
  hr_layout_t layout;
  hr_sample_format_t format;
  double scale_u, scale_i;
  int csv_header, csv_skip;
  int64_t t0_ns;
  unsigned records;
  int out_format; /* OUT_* */
  /* --swing-*: a repeated option adds to its list (the first one given
   * replaces the defaults); limits are paired with the list after parsing. */
  int sw_windows, sw_bands, sw_ramps, n_band_lim, n_ramp_lim;
  double band_lim[HR_SWING_MAX_BANDS], ramp_lim[HR_SWING_MAX_RAMPS];
} meter_args_t;

enum {
  M_SCALE_U = 1,
  M_SCALE_I,
  M_LAYOUT,
  M_FORMAT,
  M_CSV_HEADER,
  M_CSV_SKIP,
  M_T0_NS,
  M_T0,
  M_P_STEP,
  M_I_STEP,
  M_ALARM,
  M_RECORDS,
  M_SW_WINDOW,
  M_SW_BAND,
  M_SW_BAND_LIMIT,
  M_SW_RAMP,
  M_SW_RAMP_LIMIT,
  M_OUT_FORMAT,
  M_PHASOR_CLASS
};

/* Appends v to list (*n of max), or says why not. */
static int sw_append(const char *opt, const char *v, double *list, int *n, int max)
{
  double x;
  if (cli_double(v, &x) || !isfinite(x) || x < 0.0) {
    fprintf(stderr, "headroom meter: %s: invalid value '%s': a finite number >= 0\n", opt, v);
    return 2;
  }
  if (*n == max) {
    fprintf(stderr, "headroom meter: %s: at most %d values\n", opt, max);
    return 2;
  }
  list[(*n)++] = x;
  return 0;
}

/* LO:HI in Hz. */
static int parse_band(const char *arg, double *lo, double *hi)
{
  char buf[128];
  if (strlen(arg) >= sizeof buf)
    return -1;
  strcpy(buf, arg);
  char *colon = strchr(buf, ':');
  if (!colon)
    return -1;
  *colon = '\0';
  return cli_double(buf, lo) || cli_double(colon + 1, hi) || !isfinite(*lo) || !isfinite(*hi) ? -1
                                                                                              : 0;
}

static int meter_opt(const cli_opt_t *o, const char *v, void *ctx)
{
  meter_args_t *a = ctx;
  int bad = 0;
  switch (o->tag) {
  case M_SCALE_U:
  case M_SCALE_I: {
    double *dst = o->tag == M_SCALE_U ? &a->scale_u : &a->scale_i;
    if (cli_double(v, dst) || *dst == 0.0 || fabs(*dst) > SCALE_MAX) {
      fprintf(stderr,
              "headroom meter: %s: invalid value '%s': %s per code, a nonzero number of "
              "magnitude at most %.6g\n",
              o->name, v, o->tag == M_SCALE_U ? "volts" : "amperes", SCALE_MAX);
      return 2;
    }
    return 0;
  }
  case M_LAYOUT:
    bad = hr_layout_parse(v, &a->layout) != HR_OK;
    break;
  case M_FORMAT:
    bad = hr_sample_format_parse(v, &a->format) != HR_OK;
    break;
  case M_CSV_HEADER:
    bad = !strcmp(v, "auto")  ? (a->csv_header = -1, 0)
          : !strcmp(v, "yes") ? (a->csv_header = 1, 0)
          : !strcmp(v, "no")  ? (a->csv_header = 0, 0)
                              : 1;
    break;
  case M_CSV_SKIP:
    if (cli_int(v, &a->csv_skip) || a->csv_skip < 0 || a->csv_skip > HR_READER_MAX_SKIP_COLUMNS) {
      fprintf(stderr, "headroom meter: %s: invalid value '%s': a whole number from 0 to %d\n",
              o->name, v, HR_READER_MAX_SKIP_COLUMNS);
      return 2;
    }
    return 0;
  case M_T0_NS:
    if (cli_int64(v, &a->t0_ns) || a->t0_ns < 0 || a->t0_ns > HR_T0_NS_MAX) {
      fprintf(stderr,
              "headroom meter: %s: invalid value '%s': nanoseconds since 1970 from 0 to %lld "
              "(2100-01-01T00:00:00Z)\n",
              o->name, v, (long long)HR_T0_NS_MAX);
      return 2;
    }
    return 0;
  case M_T0:
    bad = strcmp(v, "now") ? 1 : (a->t0_ns = cli_now_ns(), 0);
    break;
  case M_P_STEP:
    bad = parse_step(v, &a->over.p_step_base_w, &a->over.p_step_pct, &a->over.p_step_window_ms);
    break;
  case M_I_STEP:
    bad = parse_step(v, &a->over.i_step_base_a, &a->over.i_step_pct, &a->over.i_step_window_ms);
    break;
  case M_ALARM:
    if (a->over.n_alarms == HR_MAX_ALARMS) {
      fprintf(stderr, "headroom meter: %s: at most %d alarms\n", o->name, HR_MAX_ALARMS);
      return 2;
    }
    bad = parse_alarm(v, &a->over.alarms[a->over.n_alarms++]);
    break;
  case M_RECORDS:
    bad = parse_records(v, &a->records);
    break;
  case M_OUT_FORMAT:
    bad = !strcmp(v, "json")     ? (a->out_format = OUT_JSON, 0)
          : !strcmp(v, "proto")  ? (a->out_format = OUT_PROTO, 0)
          : !strcmp(v, "pbjson") ? (a->out_format = OUT_PBJSON, 0)
                                 : 1;
    break;
  case M_SW_WINDOW:
    if (a->sw_windows++ == 0)
      a->over.swing.n_windows = 0;
    return sw_append(o->name, v, a->over.swing.window_s, &a->over.swing.n_windows,
                     HR_SWING_MAX_WINDOWS);
  case M_SW_RAMP:
    if (a->sw_ramps++ == 0)
      a->over.swing.n_ramps = 0;
    return sw_append(o->name, v, a->over.swing.ramp_window_s, &a->over.swing.n_ramps,
                     HR_SWING_MAX_RAMPS);
  case M_SW_BAND_LIMIT:
    return sw_append(o->name, v, a->band_lim, &a->n_band_lim, HR_SWING_MAX_BANDS);
  case M_SW_RAMP_LIMIT:
    return sw_append(o->name, v, a->ramp_lim, &a->n_ramp_lim, HR_SWING_MAX_RAMPS);
  case M_SW_BAND: {
    hr_swing_cfg_t *w = &a->over.swing;
    if (a->sw_bands++ == 0)
      w->n_bands = 0;
    if (w->n_bands == HR_SWING_MAX_BANDS) {
      fprintf(stderr, "headroom meter: %s: at most %d bands\n", o->name, HR_SWING_MAX_BANDS);
      return 2;
    }
    bad = parse_band(v, &w->band_lo_hz[w->n_bands], &w->band_hi_hz[w->n_bands]);
    w->n_bands += !bad;
    break;
  }
  case M_PHASOR_CLASS:
    bad = !strcasecmp(v, "P")   ? (a->over.phasor_class = HR_PHASOR_P, 0)
          : !strcasecmp(v, "M") ? (a->over.phasor_class = HR_PHASOR_M, 0)
                                : 1;
    break;
  default:
    bad = 1;
    break;
  }
  if (bad) {
    fprintf(stderr, "headroom meter: %s: invalid value '%s' (see --help)\n", o->name, v);
    return 2;
  }
  return 0;
}

int cmd_meter(int argc, char **argv)
{
  hr_meter_cfg_t cfg;
  double fs = 8000, f_nom = 60, u_din = 277;
  int has_in = 0, quiet = 0, skip_bad = 0, swing_spectrum = 0;
  const char *in_path = "-", *out_path = NULL, *device_id = NULL, *store_path = NULL;
  meter_args_t a;
  memset(&a, 0, sizeof a);
  a.layout = HR_LAYOUT_3P4W;
  a.format = HR_FMT_F32LE;
  a.scale_u = a.scale_i = 1.0;
  a.csv_header = -1;
  a.records = HR_RECMASK(HR_REC_CYCLE) | HR_RECMASK(HR_REC_INTERVAL) | HR_RECMASK(HR_REC_FREQ10S) |
              HR_RECMASK(HR_REC_EVENT);
  hr_meter_cfg_init(&a.over, fs, f_nom, u_din, a.layout);
  a.over.flicker_lamp_v = 0; /* 0: by the system frequency, once it is known */
  hr_meter_cfg_t *ov = &a.over;
  ov->phasor_rate_fps = 0; /* default: the nominal frequency, once --f-nom is known */
  /* Numbers the library checks (hr_meter_cfg_check) have no range here: its
   * message names the range, and cli_meter_option() the option. */
  const cli_opt_t opts[] = {
      {.kind = CLI_SECTION, .help = "input"},
      {.name = "--format",
       .kind = CLI_FN,
       .fn = meter_opt,
       .tag = M_FORMAT,
       .arg = "f32le|i16le|csv",
       .help = "sample encoding (default f32le)"},
      {.name = "--scale-u",
       .kind = CLI_FN,
       .fn = meter_opt,
       .tag = M_SCALE_U,
       .arg = "V",
       .help = "i16le: volts per code (default 1), nonzero"},
      {.name = "--scale-i",
       .kind = CLI_FN,
       .fn = meter_opt,
       .tag = M_SCALE_I,
       .arg = "A",
       .help = "i16le: amperes per code (default 1), nonzero"},
      {.name = "--csv-header",
       .kind = CLI_FN,
       .fn = meter_opt,
       .tag = M_CSV_HEADER,
       .arg = "auto|yes|no",
       .help = "CSV header line (default auto)"},
      {.name = "--csv-skip-columns",
       .kind = CLI_FN,
       .fn = meter_opt,
       .tag = M_CSV_SKIP,
       .arg = "N",
       .help = "leading CSV columns to ignore (e.g. a time column), 0 to 64"},
      {.name = "--skip-bad-lines",
       .kind = CLI_FLAG,
       .dst = &skip_bad,
       .help = "drop malformed CSV lines (counted) instead of stopping"},
      {.kind = CLI_SECTION, .help = "signal"},
      {.name = "--fs",
       .kind = CLI_DBL,
       .dst = &fs,
       .arg = "HZ",
       .help = "sample rate, 2000..50000 (default 8000)"},
      {.name = "--f-nom",
       .kind = CLI_DBL,
       .dst = &f_nom,
       .arg = "50|60",
       .help = "nominal frequency (default 60)"},
      {.name = "--u-din",
       .kind = CLI_DBL,
       .dst = &u_din,
       .arg = "V",
       .help = "declared voltage, L-N (1p2w, 3p4w) or L-L (3p3w) (default 277)"},
      {.name = "--layout",
       .kind = CLI_FN,
       .fn = meter_opt,
       .tag = M_LAYOUT,
       .arg = "1p2w|3p3w|3p4w",
       .help = "channel layout (default 3p4w)"},
      {.name = "--neutral",
       .kind = CLI_FLAG,
       .dst = &has_in,
       .help = "3p4w frames carry a measured neutral current"},
      {.name = "--ref-channel",
       .kind = CLI_INT,
       .dst = &ov->ref_channel,
       .arg = "N",
       .help = "voltage channel for zero crossings (default 0)"},
      {.name = "--track-pct",
       .kind = CLI_DBL,
       .dst = &ov->track_pct,
       .arg = "P",
       .help = "frequency tracking range, % of nominal, 1..40 (default 20)"},
      {.name = "--t0-ns",
       .kind = CLI_FN,
       .fn = meter_opt,
       .tag = M_T0_NS,
       .arg = "N",
       .help = "timestamp of the first sample, ns since 1970, 0..4102444800000000000"},
      {.name = "--t0",
       .kind = CLI_FN,
       .fn = meter_opt,
       .tag = M_T0,
       .arg = "now",
       .help = "the first sample is now (wall clock)"},
      {.name = "--u-clip",
       .kind = CLI_DBL,
       .dst = &ov->u_clip_v,
       .arg = "V",
       .help = "flag voltage samples at or beyond this magnitude as clipped"},
      {.name = "--i-clip",
       .kind = CLI_DBL,
       .dst = &ov->i_clip_a,
       .arg = "A",
       .help = "flag current samples at or beyond this magnitude as clipped"},
      {.kind = CLI_SECTION, .help = "events"},
      {.name = "--dip-pct",
       .kind = CLI_DBL,
       .dst = &ov->dip_pct,
       .arg = "P",
       .help = "dip threshold, % of Udin (default 90)"},
      {.name = "--swell-pct",
       .kind = CLI_DBL,
       .dst = &ov->swell_pct,
       .arg = "P",
       .help = "swell threshold, % of Udin (default 110)"},
      {.name = "--interruption-pct",
       .kind = CLI_DBL,
       .dst = &ov->interruption_pct,
       .arg = "P",
       .help = "interruption threshold, % of Udin (default 5)"},
      {.name = "--hysteresis-pct",
       .kind = CLI_DBL,
       .dst = &ov->hysteresis_pct,
       .arg = "P",
       .help = "event hysteresis, % of Udin (default 2)"},
      {.name = "--rvc-pct",
       .kind = CLI_DBL,
       .dst = &ov->rvc_pct,
       .arg = "P",
       .help = "rapid voltage change threshold (default 3; 0 disables)"},
      {.name = "--rvc-hysteresis-pct",
       .kind = CLI_DBL,
       .dst = &ov->rvc_hysteresis_pct,
       .arg = "P",
       .help = "rapid voltage change hysteresis (default 1.5)"},
      {.name = "--p-step",
       .kind = CLI_FN,
       .fn = meter_opt,
       .tag = M_P_STEP,
       .arg = "BASE_W:PCT:MS",
       .help = "power swing event: > PCT % of BASE_W within MS ms"},
      {.name = "--i-step",
       .kind = CLI_FN,
       .fn = meter_opt,
       .tag = M_I_STEP,
       .arg = "BASE_A:PCT:MS",
       .help = "current swing event on the largest phase Irms(1/2)"},
      {.name = "--alarm",
       .kind = CLI_FN,
       .fn = meter_opt,
       .tag = M_ALARM,
       .arg = "METRIC>X[:H]",
       .help = "threshold alarm (also <), hysteresis H, up to 8; metrics: p_total_w\n"
               "dpdt_w_per_s i_peak_a i_rms_a u_rms_v freq_hz"},
      {.kind = CLI_SECTION, .help = "power swing (--records swing)"},
      {.name = "--swing-window",
       .kind = CLI_FN,
       .fn = meter_opt,
       .tag = M_SW_WINDOW,
       .arg = "S",
       .help = "spectrum window of the 1-ms power series, whole ms from 0.125 s,\n"
               "repeatable up to 4 (default 0.125 and 10)"},
      {.name = "--swing-band",
       .kind = CLI_FN,
       .fn = meter_opt,
       .tag = M_SW_BAND,
       .arg = "LO:HI",
       .help = "oscillation band in Hz, repeatable up to 8 (default 0.1:2 and 3:30)"},
      {.name = "--swing-band-limit",
       .kind = CLI_FN,
       .fn = meter_opt,
       .tag = M_SW_BAND_LIMIT,
       .arg = "W",
       .help = "swing_limit event when a band's RMS exceeds W (longest window);\n"
               "once for all bands or once per band in order"},
      {.name = "--swing-ramp",
       .kind = CLI_FN,
       .fn = meter_opt,
       .tag = M_SW_RAMP,
       .arg = "S",
       .help = "ramp-rate window, whole ms, repeatable up to 4 (default 1)"},
      {.name = "--swing-ramp-limit",
       .kind = CLI_FN,
       .fn = meter_opt,
       .tag = M_SW_RAMP_LIMIT,
       .arg = "W_PER_S",
       .help = "swing_limit event when |ramp| over a ramp window exceeds this;\n"
               "once for all windows or once per window in order"},
      {.name = "--swing-spectrum",
       .kind = CLI_FLAG,
       .dst = &swing_spectrum,
       .help = "follow each swing record with its spectrum (a swing_spectrum line)"},
      {.name = "--swing-hysteresis-pct",
       .kind = CLI_DBL,
       .dst = &ov->swing.hysteresis_pct,
       .arg = "P",
       .help = "a swing limit event ends at or below (100 - P) % of its limit (default 10)"},
      {.kind = CLI_SECTION, .help = "output"},
      {.name = "--records",
       .kind = CLI_FN,
       .fn = meter_opt,
       .tag = M_RECORDS,
       .arg = "LIST",
       .help = "comma list of half,cycle,ms,interval,freq10s,event,harm,agg150,agg10min,\n"
               "swing,phasor,flicker or all (default cycle,interval,freq10s,event;\n"
               "all leaves out harm: harmonics and IEEE 1459 powers, each followed by\n"
               "its spectrum, agg150/agg10min: IEC 61000-4-30 150/180-cycle and 10-min\n"
               "aggregates, swing: power-swing analytics of the 1-ms power series,\n"
               "phasor: IEEE C37.118.1 synchrophasors, frequency, ROCOF, and flicker:\n"
               "IEC 61000-4-15 Pst per 10 min and Plt per 2 h)"},
      {.name = "--i-demand",
       .kind = CLI_DBL,
       .dst = &ov->harm_i_demand_a,
       .arg = "A",
       .help = "maximum demand current for the TDD of harm records (IEEE 519)"},
      {.name = "--phasor-rate",
       .kind = CLI_INT,
       .dst = &ov->phasor_rate_fps,
       .arg = "FPS",
       .help = "phasor reports per second: 10, 25, 50 at 50 Hz; 10, 12, 15, 20,\n"
               "30, 60 at 60 Hz (default the nominal frequency)",
       CLI_RANGE(1, 1000)},
      {.name = "--phasor-class",
       .kind = CLI_FN,
       .fn = meter_opt,
       .tag = M_PHASOR_CLASS,
       .arg = "P|M",
       .help = "phasor performance class (C37.118.1): P (2-cycle window, default)\n"
               "or M (longer window, rejects out-of-band signals)"},
      {.name = "--flicker-lamp",
       .kind = CLI_INT,
       .dst = &ov->flicker_lamp_v,
       .arg = "230|120",
       .help = "lamp model of the flicker records (IEC 61000-4-15; default 230\n"
               "at 50 Hz, 120 at 60 Hz)",
       CLI_RANGE(1, 1000)},
      {.name = "--device-id",
       .kind = CLI_STR,
       .dst = &device_id,
       .arg = "ID",
       .help = "add \"device_id\" to every record"},
      {.name = "--store",
       .kind = CLI_STR,
       .dst = &store_path,
       .arg = "FILE.db",
       .help = "also store the 200-ms rows and the events in this SQLite store\n"
               "(created if needed), or in a PostgreSQL database given as\n"
               "postgresql://... or a conninfo string \"host=... dbname=...\"\n"
               "(under --device-id, default \"meter\"; read them back with\n"
               "headroom query)"},
      {.name = "--out",
       .short_name = 'o',
       .kind = CLI_STR,
       .dst = &out_path,
       .arg = "FILE",
       .help = "write records to FILE instead of stdout"},
      {.name = "--output-format",
       .kind = CLI_FN,
       .fn = meter_opt,
       .tag = M_OUT_FORMAT,
       .arg = "json|proto|pbjson",
       .help = "json: JSON Lines records (default); proto: PowerMeasurement\n"
               "protobuf messages, each after its length as a varint; pbjson:\n"
               "the same messages as JSON Lines (docs/formats.md)"},
      {.name = "--json",
       .kind = CLI_FLAG,
       .dst = &(int){0},
       .help = "JSON Lines records (the default; same as --output-format json)"},
      {.name = "--quiet", .kind = CLI_FLAG, .dst = &quiet, .help = "no summary on stderr"},
  };
  const cli_spec_t spec = {
      .prog = "headroom meter",
      .usage = "[options] [FILE|-]",
      .about = "Measures interleaved voltage/current samples (stdin when FILE is - or absent)\n"
               "and writes one JSON object per line.",
      .epilog = "One input per run; measure several files as one stream with cat A B | headroom\n"
                "meter -.  Records are flushed as they are made when the output is a pipe or\n"
                "a terminal (after each block read, at most 64 KiB of input).  SIGTERM, SIGINT\n"
                "and SIGHUP stop reading, end open events, flush the records and exit with\n"
                "128 + the signal number.",
      .opts = opts,
      .n_opts = (int)(sizeof opts / sizeof opts[0]),
      .max_operands = 2, /* the second is refused below, naming both */
      .ctx = &a,
  };
  const char *inputs[2];
  int n_in = 0;
  int prc = cli_parse(&spec, argc, argv, inputs, &n_in);
  if (prc != CLI_GO_ON)
    return prc;
  if (n_in > 1) {
    /* One stream per run: a second file would otherwise replace the first
     * unmeasured, or join it with a jump in time. */
    fprintf(stderr,
            "headroom meter: one input only, got '%s' and '%s' (measure several files as "
            "one stream with: cat A B | headroom meter -)\n",
            inputs[0], inputs[1]);
    return 2;
  }
  if (n_in == 1)
    in_path = inputs[0];
  hr_layout_t layout = a.layout;
  hr_sample_format_t format = a.format;
  double scale_u = a.scale_u, scale_i = a.scale_i;
  int csv_header = a.csv_header, csv_skip = a.csv_skip;
  int64_t t0_ns = a.t0_ns;
  unsigned records = a.records;
  hr_meter_cfg_t over = a.over;
  /* One limit applies to every band (ramp window), or one each in order. */
  if ((a.n_band_lim > 1 && a.n_band_lim != over.swing.n_bands) ||
      (a.n_ramp_lim > 1 && a.n_ramp_lim != over.swing.n_ramps)) {
    int band = a.n_band_lim > 1 && a.n_band_lim != over.swing.n_bands;
    fprintf(stderr, "headroom meter: %s: %d limits for %d %s; give one for all or one for each\n",
            band ? "--swing-band-limit" : "--swing-ramp-limit", band ? a.n_band_lim : a.n_ramp_lim,
            band ? over.swing.n_bands : over.swing.n_ramps, band ? "bands" : "ramp windows");
    return 2;
  }
  for (int b = 0; a.n_band_lim && b < over.swing.n_bands; b++)
    over.swing.band_limit_w[b] = a.band_lim[a.n_band_lim == 1 ? 0 : b];
  for (int q = 0; a.n_ramp_lim && q < over.swing.n_ramps; q++)
    over.swing.ramp_limit_w_per_s[q] = a.ramp_lim[a.n_ramp_lim == 1 ? 0 : q];

  /* A COMTRADE recording brings its own rate, layout and start time. */
  float *ct_frames = NULL;
  size_t ct_n = 0;
  if (ct_is(in_path) &&
      ct_frames_of(in_path, &fs, &f_nom, &layout, &has_in, &t0_ns, &ct_frames, &ct_n, quiet) != 0)
    return 1;
  hr_meter_cfg_init(&cfg, fs, f_nom, u_din, layout);
  over.fs_hz = fs;
  over.f_nom_hz = f_nom;
  over.u_din_v = u_din;
  over.layout = layout;
  over.has_in = has_in;
  over.t0_ns = t0_ns;
  over.records = records;
  if (over.phasor_rate_fps == 0)
    over.phasor_rate_fps = (int)f_nom;
  if (over.flicker_lamp_v == 0)
    over.flicker_lamp_v = f_nom == 60.0 ? 120 : 230;
  cfg = over;
  /* The message of an interval record carries the load factor and trend of
   * its 1-ms power series (hr_pm_trend_apply): make that series even when
   * only the intervals are written. */
  if (a.out_format != OUT_JSON && (cfg.records & HR_RECMASK(HR_REC_INTERVAL)))
    cfg.records |= HR_RECMASK(HR_REC_MS);
  if (format == HR_FMT_I16LE) {
    if (cfg.u_clip_v == 0.0)
      cfg.u_clip_v = 32767.0 * scale_u;
    if (cfg.i_clip_a == 0.0)
      cfg.i_clip_a = 32767.0 * scale_i;
  }
  hr_diag_t why;
  if (hr_meter_cfg_check(&cfg, &why) != HR_OK) {
    /* "--fs: fs_hz: must be between ...": the option typed, then the setting. */
    const char *opt = cli_meter_option(why.field);
    char text[HR_DIAG_FIELD_BYTES + HR_DIAG_MSG_BYTES + 8];
    hr_diag_format(&why, text, sizeof text);
    fprintf(stderr, "headroom meter: %s%s%s\n", opt ? opt : "", opt ? ": " : "", text);
    free(ct_frames);
    return 2;
  }
  if (device_id) {
    char probe[HR_RECORD_JSON_MAX];
    hr_record_t r = {.kind = HR_REC_MS};
    if (hr_record_json(&r, device_id, probe, sizeof probe, NULL) != HR_OK) {
      fprintf(stderr, "headroom meter: --device-id: at most 64 printable characters, no quotes\n");
      free(ct_frames);
      return 2;
    }
  }

  hr_meter_t *m = NULL;
  int rc = hr_meter_create(&cfg, &m);
  if (rc != HR_OK) {
    fprintf(stderr, "headroom meter: %s\n", hr_strerror(rc));
    free(ct_frames);
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
  /* Every reader message starts with the file ("capture.csv:12:3: ..."). */
  rcfg.name = strcmp(in_path, "-") != 0 ? in_path : "stdin";
  hr_reader_t *r = NULL;
  rc = hr_reader_create(&rcfg, &r);
  if (rc != HR_OK) {
    fprintf(stderr, "headroom meter: input: %s\n", hr_strerror(rc));
    hr_meter_destroy(m);
    free(ct_frames);
    return 2;
  }

  int fd = 0;
  const char *name = "stdin";
  if (ct_frames) {
    fd = -1; /* the frames are in memory */
    name = in_path;
  } else if (strcmp(in_path, "-") != 0) {
    fd = open(in_path, O_RDONLY);
    name = in_path;
    if (fd < 0) {
      fprintf(stderr, "headroom meter: %s: %s\n", in_path, strerror(errno));
      hr_reader_destroy(r);
      hr_meter_destroy(m);
      free(ct_frames);
      return 1;
    }
  }
  sink_t sink = {.out = stdout,
                 .device_id = device_id,
                 .format = a.out_format,
                 .write_ms = (records & HR_RECMASK(HR_REC_MS)) != 0};
  if (swing_spectrum && (cfg.records & HR_RECMASK(HR_REC_SWING))) {
    double longest = 0.0;
    for (int k = 0; k < cfg.swing.n_windows; k++)
      longest = fmax(longest, cfg.swing.window_s[k]);
    sink.swing_len = HR_SWING_SPECTRUM_JSON_BYTES((size_t)llround(longest * 1000.0) / 2 + 1);
    sink.swing_buf = malloc(sink.swing_len);
    if (!sink.swing_buf) {
      fprintf(stderr, "headroom meter: %s\n", hr_strerror(HR_ERR_NOMEM));
      if (fd > 0)
        close(fd);
      hr_reader_destroy(r);
      hr_meter_destroy(m);
      free(ct_frames);
      return 1;
    }
  }
  const char *out_name = "standard output";
  if (((cfg.records & HR_RECMASK(HR_REC_HARM)) && !(sink.harm_buf = malloc(HR_HARM_JSON_MAX))) ||
      (sink.format != OUT_JSON &&
       (!(sink.pm = malloc(sizeof *sink.pm)) || !(sink.pm_buf = malloc(HR_PM_JSON_MAX)) ||
        !(sink.trend = malloc(sizeof *sink.trend))))) {
    fprintf(stderr, "headroom meter: %s\n", hr_strerror(HR_ERR_NOMEM));
    free(sink.swing_buf);
    if (fd > 0)
      close(fd);
    hr_reader_destroy(r);
    hr_meter_destroy(m);
    free(ct_frames);
    return 1;
  }
  hr_pm_trend_init(sink.trend);
  if (out_path) {
    sink.out = fopen(out_path, "w");
    out_name = out_path;
    if (!sink.out) {
      fprintf(stderr, "headroom meter: %s: %s\n", out_path, strerror(errno));
      free(sink.harm_buf);
      free(sink.pm);
      free(sink.pm_buf);
      free(sink.trend);
      free(sink.swing_buf);
      if (fd > 0)
        close(fd);
      hr_reader_destroy(r);
      hr_meter_destroy(m);
      free(ct_frames);
      return 1;
    }
  }
  if (store_path) {
    hr_store_cfg_t sc;
    hr_store_cfg_init(&sc, store_path);
    /* A store is a SQLite file: a folder or a device gave only SQLite's
     * "input/output error". */
    struct stat sst;
    const char *not_file = NULL;
    if (!hr_store_target_is_pg(store_path) && stat(store_path, &sst) == 0 && !S_ISREG(sst.st_mode))
      not_file = S_ISDIR(sst.st_mode) ? "is a directory, not a store file"
                                      : "not a regular file (a store is a SQLite file)";
    int src = not_file ? HR_ERR_IO : hr_store_open(&sc, &sink.store);
    if (src == HR_OK)
      src = hr_store_device(sink.store, device_id ? device_id : "meter", &sink.store_dev);
    if (src == HR_OK)
      src = hr_store_start_writer(sink.store);
    if (src != HR_OK) {
      fprintf(stderr, "headroom meter: --store %s: %s\n", store_path,
              not_file ? not_file : hr_strerror(src));
      hr_store_close(sink.store);
      free(sink.harm_buf);
      free(sink.pm);
      free(sink.pm_buf);
      free(sink.trend);
      free(sink.swing_buf);
      if (out_path)
        fclose(sink.out);
      if (fd > 0)
        close(fd);
      hr_reader_destroy(r);
      hr_meter_destroy(m);
      free(ct_frames);
      return 1;
    }
  }
  struct stat out_st;
  const int live = fstat(fileno(sink.out), &out_st) != 0 || !S_ISREG(out_st.st_mode);
  hr_meter_set_callback(m, write_record, &sink);
  /* From here a stop signal ends the stream like the end of the input. */
  cli_stop_catch(ct_frames ? 0 : 1);

  int64_t n_frames = 0; /* frames the meter consumed */
  int push_rc = HR_OK;
  enum { CHUNK = 65536, MAXF = 8192 };
  static unsigned char bytes[CHUNK];
  static float frames[MAXF * HR_MAX_CH];
  int status = 0, signo = 0;
  for (;;) {
    if (ct_frames) {
      for (size_t off = 0; off < ct_n && !(signo = cli_stop_requested()); off += MAXF) {
        size_t nf = ct_n - off < MAXF ? ct_n - off : MAXF;
        if ((push_rc = feed(m, ct_frames + off * (size_t)nch, nf, &n_frames)) != HR_OK)
          goto refused;
        if (live && !sink.failed && fflush(sink.out) != 0) {
          sink.failed = 1;
          sink.err = errno;
        }
      }
      break;
    }
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
      if ((push_rc = feed(m, frames, nf, &n_frames)) != HR_OK)
        goto refused;
      off += used;
      if (rc != HR_OK) {
        print_reader_diag(r);
        if (!hr_reader_stats(r)->err_skipped) {
          status = 1;
          goto done;
        }
      }
    }
    /* Records leave as they are made when someone reads them live: a pipe,
     * a terminal or a socket gets them after every block read (a file
     * gets whole buffers). */
    if (live && !sink.failed && fflush(sink.out) != 0) {
      sink.failed = 1;
      sink.err = errno;
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
    if ((push_rc = feed(m, frames, nf, &n_frames)) != HR_OK)
      goto refused;
    if (rc != HR_OK) {
      print_reader_diag(r);
      if (!signo)
        status = 1;
    }
  }
  goto done;
refused:
  /* The frames before sample n_frames are measured and their records are
   * written below; the rest of the input is not read. */
  if (push_rc == HR_ERR_RANGE)
    fprintf(stderr,
            "headroom meter: %s: stopped at sample %lld (frame offset from the start of the "
            "input): its timestamp would be past what the meter can represent (a stream spans "
            "at most 2^62 ns and ends before 2^63 ns since 1970; lower --t0-ns or split the "
            "input)\n",
            name, (long long)n_frames);
  else
    fprintf(stderr, "headroom meter: %s: stopped at sample %lld: %s\n", name, (long long)n_frames,
            hr_strerror(push_rc));
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
  if (sink.store) {
    /* The 3-s and 10-min roll-ups and retention, as of the stream's end on
     * the sample clock (what the store holds then is what query reads). */
    int64_t end_ns = cfg.t0_ns + (int64_t)llround((double)n_frames * 1e9 / fs);
    int mrc = hr_store_flush(sink.store);
    if (mrc == HR_OK)
      mrc = hr_store_maintain(sink.store, end_ns);
    hr_store_stats_t st;
    hr_store_get_stats(sink.store, &st);
    int crc = hr_store_close(sink.store);
    if (crc == HR_OK)
      crc = mrc;
    uint64_t dropped = st.dropped_rows + st.dropped_events;
    if (crc != HR_OK || dropped) {
      fprintf(stderr,
              "headroom meter: --store %s: %s; %llu rows and events dropped (backlog "
              "full)\n",
              store_path, crc != HR_OK ? hr_strerror(crc) : "not all stored",
              (unsigned long long)dropped);
      status = 1;
    } else if (!quiet) {
      fprintf(stderr, "headroom meter: --store %s: %llu rows and events stored\n", store_path,
              (unsigned long long)st.queued);
    }
  }
  summary(name, m, r, fs, quiet, sink.failed, sink.hidden);
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
  free(sink.harm_buf);
  free(sink.pm);
  free(sink.pm_buf);
  free(sink.trend);
  free(sink.swing_buf);
  free(ct_frames);
  return status;
}
