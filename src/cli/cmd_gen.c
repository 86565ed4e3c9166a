/* headroom gen: writes deterministic test waveforms (docs/gen.md).
 *
 *   headroom gen [scenario] [options]
 *
 * The scenario is a preset of the generator library (hr_gen_cfg_preset);
 * options change it.  Samples go to stdout or --out in fixed-size chunks, so
 * any length runs in constant memory. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "cli_util.h"
#include "headroom/error.h"
#include "headroom/gen.h"
#include "headroom/layout.h"

#define GEN_CHUNK_FRAMES 4096
#define GEN_MAX_FIELDS 6

enum gen_format { FMT_F32 = 1, FMT_I16 = 2, FMT_CSV = 3 };

/* Option ids. */
enum {
  O_HELP = 1,
  O_LIST,
  O_OUT,
  O_FORMAT,
  O_SCALE_U,
  O_SCALE_I,
  O_SECONDS,
  O_SAMPLES,
  O_TRUTH,
  O_TRUTH_EVERY,
  O_FS,
  O_F_NOM,
  O_FREQ,
  O_LAYOUT,
  O_NEUTRAL,
  O_T0,
  O_SEED,
  O_U,
  O_I,
  O_LOAD,
  O_PF,
  O_HARM,
  O_IHARM,
  O_I_HARM,
  O_I_IHARM,
  O_DIP,
  O_SWELL,
  O_INTERRUPTION,
  O_RAMP,
  O_AM,
  O_PM,
  O_AMP_STEP,
  O_PHASE_STEP,
  O_NOISE,
  O_U_NOISE,
  O_I_NOISE,
  O_DC,
  O_U_DC,
  O_I_DC,
  O_SERVERS,
  O_GPUS,
  O_GPU_IDLE,
  O_GPU_BUSY,
  O_GPU_COMM,
  O_OTHER,
  O_RACK_START,
  O_ITER,
  O_CHECKPOINT,
  O_RISE_MS,
  O_JITTER,
  O_RACK_Q,
  O_RACK_UMIN
};

/* One table: parsing, --help and --list-options come from it (cli_opt.h).
 * GEN_BASE marks the options the scenario keeps: applied before it. */
#define GEN_BASE 0x100

static int gen_apply(const cli_opt_t *o, const char *value, void *ctx);

static const cli_opt_t gen_opts[] = {
    {.name = "--list",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_LIST,
     .arg = NULL,
     .help = "list the scenarios"},
    {.name = "--out",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_OUT,
     .arg = "FILE",
     .help = "write samples to FILE instead of stdout"},
    {.name = "--format",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_FORMAT,
     .arg = "f32|i16|csv",
     .help = "raw little-endian float32 (default), int16 codes, or CSV with a header"},
    {.name = "--scale-u",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_SCALE_U,
     .arg = "V_PER_CODE",
     .help = "i16: volts per code (default: 2 x nominal peak = 32767)"},
    {.name = "--scale-i",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_SCALE_I,
     .arg = "A_PER_CODE",
     .help = "i16: amperes per code (default: 2 x nominal peak = 32767)"},
    {.name = "--seconds",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_SECONDS,
     .arg = "S",
     .help = "length [s] (default: the scenario's)"},
    {.name = "--samples",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_SAMPLES,
     .arg = "N",
     .help = "length in frames (overrides --seconds)"},
    {.name = "--truth",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_TRUTH,
     .arg = "FILE",
     .help = "also write the generator's truth as CSV to FILE"},
    {.name = "--truth-every",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_TRUTH_EVERY,
     .arg = "N",
     .help = "one truth line every N samples (default: one per nominal cycle)"},
    {.name = "--fs",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_FS | GEN_BASE,
     .arg = "HZ",
     .help = "sample rate (default 8000)"},
    {.name = "--f-nom",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_F_NOM | GEN_BASE,
     .arg = "HZ",
     .help = "nominal frequency, 50 or 60 (default 60)"},
    {.name = "--freq",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_FREQ,
     .arg = "HZ",
     .help = "signal frequency (default: the scenario's, else nominal)"},
    {.name = "--layout",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_LAYOUT | GEN_BASE,
     .arg = "1p2w|3p3w|3p4w",
     .help = "channel layout (default 3p4w)"},
    {.name = "--neutral",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_NEUTRAL | GEN_BASE,
     .arg = NULL,
     .help = "3p4w: add the neutral current channel in = ia+ib+ic"},
    {.name = "--t0-ns",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_T0 | GEN_BASE,
     .arg = "N",
     .help = "absolute time of sample 0 [ns since 1970] (default 0)"},
    {.name = "--seed",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_SEED | GEN_BASE,
     .arg = "N",
     .help = "noise and jitter seed (default 1)"},
    {.name = "--u",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_U,
     .arg = "V",
     .help = "fundamental RMS voltage, L-N (L-L for 3p3w)"},
    {.name = "--i",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_I,
     .arg = "A",
     .help = "linear load: fundamental RMS current"},
    {.name = "--load",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_LOAD,
     .arg = "none|linear|ai-rack",
     .help = "what draws the current"},
    {.name = "--pf",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_PF,
     .arg = "PF[lag|lead]",
     .help = "linear load: displacement power factor (lag default)"},
    {.name = "--harmonic",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_HARM,
     .arg = "H:PCT[:DEG]",
     .help = "voltage harmonic, % of fundamental (repeatable)"},
    {.name = "--interharmonic",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_IHARM,
     .arg = "HZ:PCT[:DEG]",
     .help = "voltage interharmonic (repeatable)"},
    {.name = "--i-harmonic",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_I_HARM,
     .arg = "H:PCT[:DEG]",
     .help = "current harmonic (repeatable)"},
    {.name = "--i-interharmonic",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_I_IHARM,
     .arg = "HZ:PCT[:DEG]",
     .help = "current interharmonic (repeatable)"},
    {.name = "--dip",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_DIP,
     .arg = "START:DUR:PCT[:abc[:RAMP]]",
     .help = "dip to PCT % of u for DUR s from START s (repeatable)"},
    {.name = "--swell",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_SWELL,
     .arg = "START:DUR:PCT[:abc[:RAMP]]",
     .help = "swell, 100..200 % (repeatable)"},
    {.name = "--interruption",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_INTERRUPTION,
     .arg = "START:DUR[:PCT[:abc[:RAMP]]]",
     .help = "interruption, 0..10 % (default 0) (repeatable)"},
    {.name = "--ramp",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_RAMP,
     .arg = "HZ_PER_S:START:STOP",
     .help = "linear frequency ramp (C37.118.1)"},
    {.name = "--am",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_AM,
     .arg = "KX:HZ",
     .help = "amplitude modulation Xm[1+kx cos(wt)] (C37.118.1)"},
    {.name = "--pm",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_PM,
     .arg = "KA_RAD:HZ",
     .help = "phase modulation ka cos(wt-pi) (C37.118.1)"},
    {.name = "--amp-step",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_AMP_STEP,
     .arg = "T:PCT",
     .help = "magnitude step of PCT % at T s (repeatable)"},
    {.name = "--phase-step",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_PHASE_STEP,
     .arg = "T:DEG",
     .help = "phase step of DEG at T s (repeatable)"},
    {.name = "--noise-pct",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_NOISE,
     .arg = "PCT",
     .help = "white Gaussian noise on every channel, % of RMS"},
    {.name = "--u-noise-pct",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_U_NOISE,
     .arg = "PCT",
     .help = "noise on the voltage channels only"},
    {.name = "--i-noise-pct",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_I_NOISE,
     .arg = "PCT",
     .help = "noise on the current channels only"},
    {.name = "--dc-pct",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_DC,
     .arg = "PCT",
     .help = "DC offset on every channel, % of nominal peak"},
    {.name = "--u-dc-pct",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_U_DC,
     .arg = "PCT",
     .help = "DC offset on the voltage channels only"},
    {.name = "--i-dc-pct",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_I_DC,
     .arg = "PCT",
     .help = "DC offset on the current channels only"},
    {.name = "--servers",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_SERVERS,
     .arg = "N",
     .help = "ai-rack: servers (default 8)"},
    {.name = "--gpus",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_GPUS,
     .arg = "N",
     .help = "ai-rack: GPUs per server (default 8)"},
    {.name = "--gpu-idle-w",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_GPU_IDLE,
     .arg = "W",
     .help = "ai-rack: GPU power idle/checkpoint (default 100)"},
    {.name = "--gpu-busy-w",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_GPU_BUSY,
     .arg = "W",
     .help = "ai-rack: GPU power computing (default 700)"},
    {.name = "--gpu-comm-w",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_GPU_COMM,
     .arg = "W",
     .help = "ai-rack: GPU power communicating (default 125)"},
    {.name = "--server-other-w",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_OTHER,
     .arg = "W",
     .help = "ai-rack: non-GPU power per server (default 1500)"},
    {.name = "--rack-start",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_RACK_START,
     .arg = "S",
     .help = "ai-rack: training starts at S s (default 0.5)"},
    {.name = "--iter",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_ITER,
     .arg = "COMPUTE_S:COMM_S",
     .help = "ai-rack: iteration phases (default 1.0:0.4)"},
    {.name = "--checkpoint",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_CHECKPOINT,
     .arg = "EVERY_N:S",
     .help = "ai-rack: S s checkpoint every N iterations, 0 = none (default 5:2.0)"},
    {.name = "--rise-ms",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_RISE_MS,
     .arg = "MS",
     .help = "ai-rack: 10-90 % rise time of steps (default 8)"},
    {.name = "--jitter-pct",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_JITTER,
     .arg = "PCT",
     .help = "ai-rack: seeded GPU power jitter per phase (default 0)"},
    {.name = "--rack-q-var",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_RACK_Q,
     .arg = "VAR",
     .help = "ai-rack: leading reactive power (default 2000)"},
    {.name = "--rack-u-min-pct",
     .kind = CLI_FN,
     .fn = gen_apply,
     .tag = O_RACK_UMIN,
     .arg = "PCT",
     .help = "ai-rack: constant power down to PCT % voltage (default 70)"},
};

#define N_GEN_OPTS ((int)(sizeof gen_opts / sizeof gen_opts[0]))

typedef struct gen_run {
  hr_gen_cfg_t cfg;
  const char *scenario;
  double seconds;  /* < 0: the scenario's */
  int64_t samples; /* < 0: from seconds */
  int format;
  double scale_u, scale_i; /* <= 0: default */
  const char *out_path;
  const char *truth_path;
  int64_t truth_every; /* <= 0: default */
  int freq_set;
  int pf_or_i_set; /* --pf or --i given */
  const char *pf_or_i_name;
  int list;
  int pass_base; /* the pass: 1 applies the GEN_BASE options, 0 the others */
} gen_run;

/* The help's text before the options: what gen does and the scenarios. */
static const char *gen_about(void)
{
  static char buf[4096];
  size_t n = (size_t)snprintf(buf, sizeof buf,
                              "Writes deterministic interleaved voltage/current samples (channel "
                              "order of\nthe layout: voltages, then currents).  Times are seconds "
                              "from the first\nsample.  Scenario (default ai-rack):");
  for (int k = 0; hr_gen_preset_name(k) && n < sizeof buf; k++)
    n += (size_t)snprintf(buf + n, sizeof buf - n, "\n  %-13s %s", hr_gen_preset_name(k),
                          hr_gen_preset_summary(k));
  return buf;
}

static int bad(const char *opt, const char *fmt, const char *value)
{
  fprintf(stderr, "headroom gen: %s: ", opt);
  fprintf(stderr, fmt, value);
  fprintf(stderr, " (see headroom gen --help)\n");
  return 2;
}

static int parse_double(const char *text, double *out)
{
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  if (end == text || *end || errno == ERANGE || !isfinite(v))
    return -1;
  *out = v;
  return 0;
}

static int parse_int64(const char *text, int64_t *out)
{
  char *end;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (end == text || *end || errno == ERANGE)
    return -1;
  *out = (int64_t)v;
  return 0;
}

static int parse_int(const char *text, int *out)
{
  int64_t v;
  if (parse_int64(text, &v) || v < INT_MIN || v > INT_MAX)
    return -1;
  *out = (int)v;
  return 0;
}

/* Splits "a:b:c" into at most max fields (in place, in buf).  Returns the
 * number of fields, or -1 when there are more than max or one is empty. */
static int split_fields(const char *value, char *buf, size_t buf_len, char **fields, int max)
{
  size_t len = strlen(value);
  if (len + 1 > buf_len)
    return -1;
  memcpy(buf, value, len + 1);
  int n = 0;
  char *p = buf;
  for (;;) {
    if (n == max)
      return -1;
    fields[n++] = p;
    char *colon = strchr(p, ':');
    if (!colon)
      break;
    *colon = '\0';
    p = colon + 1;
  }
  for (int k = 0; k < n; k++)
    if (fields[k][0] == '\0')
      return -1;
  return n;
}

/* Parses min..max numeric fields of "a:b:c" into v[]; fields beyond the
 * numeric ones are returned in rest[] for the caller (phases). */
static int parse_numbers(const char *value, double *v, int min, int max)
{
  char buf[256];
  char *f[GEN_MAX_FIELDS];
  int n = split_fields(value, buf, sizeof buf, f, max);
  if (n < min)
    return -1;
  for (int k = 0; k < n; k++)
    if (parse_double(f[k], &v[k]))
      return -1;
  return n;
}

static int parse_phases(const char *text, unsigned *out)
{
  if (strcasecmp(text, "all") == 0) {
    *out = HR_GEN_PHASE_ALL;
    return 0;
  }
  unsigned m = 0;
  for (const char *p = text; *p; p++) {
    switch (*p) {
    case 'a':
    case 'A':
      m |= HR_GEN_PHASE_A;
      break;
    case 'b':
    case 'B':
      m |= HR_GEN_PHASE_B;
      break;
    case 'c':
    case 'C':
      m |= HR_GEN_PHASE_C;
      break;
    default:
      return -1;
    }
  }
  if (!m)
    return -1;
  *out = m;
  return 0;
}

/* "START:DUR:PCT[:PHASES[:RAMP]]"; for interruptions PCT is optional. */
static int parse_event(const char *opt, const char *value, hr_gen_event_kind_t kind,
                       hr_gen_cfg_t *cfg)
{
  const char *shape = kind == HR_GEN_EVENT_INTERRUPTION
                          ? "expected START_S:DUR_S[:RESIDUAL_PCT[:PHASES[:RAMP_S]]], got '%s'"
                          : "expected START_S:DUR_S:RESIDUAL_PCT[:PHASES[:RAMP_S]], got '%s'";
  char buf[256];
  char *f[GEN_MAX_FIELDS];
  int n = split_fields(value, buf, sizeof buf, f, 5);
  int need = kind == HR_GEN_EVENT_INTERRUPTION ? 2 : 3;
  if (n < need)
    return bad(opt, shape, value);
  hr_gen_event_t ev = {kind, 0, 0, 0, HR_GEN_PHASE_ALL, 0};
  if (parse_double(f[0], &ev.start_s) || parse_double(f[1], &ev.duration_s))
    return bad(opt, shape, value);
  if (n >= 3 && parse_double(f[2], &ev.residual_pct))
    return bad(opt, shape, value);
  if (n >= 4 && parse_phases(f[3], &ev.phases))
    return bad(opt, "phases must be letters from 'abc' (or 'all'), got '%s'", value);
  if (n >= 5 && parse_double(f[4], &ev.ramp_s))
    return bad(opt, shape, value);
  if (hr_gen_cfg_add_event(cfg, &ev) != HR_OK)
    return bad(opt, "too many events, at '%s'", value);
  return 0;
}

static int parse_harmonic(const char *opt, const char *value, hr_gen_qty_t qty, hr_gen_cfg_t *cfg)
{
  double v[3] = {0, 0, 0};
  int n = parse_numbers(value, v, 2, 3);
  if (n < 0 || v[0] != floor(v[0]) || v[0] < INT_MIN || v[0] > INT_MAX)
    return bad(opt, "expected ORDER:PCT[:PHASE_DEG] with an integer order, got '%s'", value);
  if (hr_gen_cfg_set_harmonic(cfg, qty, (int)v[0], v[1], v[2]) != HR_OK)
    return bad(opt, "too many harmonics, at '%s'", value);
  return 0;
}

static int parse_interharmonic(const char *opt, const char *value, hr_gen_qty_t qty,
                               hr_gen_cfg_t *cfg)
{
  double v[3] = {0, 0, 0};
  if (parse_numbers(value, v, 2, 3) < 0)
    return bad(opt, "expected F_HZ:PCT[:PHASE_DEG], got '%s'", value);
  if (hr_gen_cfg_add_interharmonic(cfg, qty, v[0], v[1], v[2]) != HR_OK)
    return bad(opt, "too many interharmonics, at '%s'", value);
  return 0;
}

static int parse_pf(const char *opt, const char *value, hr_gen_cfg_t *cfg)
{
  char buf[64];
  size_t len = strlen(value);
  if (len == 0 || len >= sizeof buf)
    return bad(opt, "expected a power factor such as 0.8, 0.8lag or 0.9lead, got '%s'", value);
  memcpy(buf, value, len + 1);
  int leading = 0;
  if (len > 4 && strcasecmp(buf + len - 4, "lead") == 0) {
    leading = 1;
    buf[len - 4] = '\0';
  } else if (len > 3 && strcasecmp(buf + len - 3, "lag") == 0) {
    buf[len - 3] = '\0';
  }
  double pf;
  size_t l2 = strlen(buf);
  if (l2 > 0 && buf[l2 - 1] == ':')
    buf[l2 - 1] = '\0';
  if (parse_double(buf, &pf) || pf < 0 || pf > 1)
    return bad(opt, "expected a power factor in [0, 1] such as 0.8lag or 0.9lead, got '%s'", value);
  cfg->pf = pf;
  cfg->pf_leading = leading;
  return 0;
}

/* Applies one option in its pass; returns 0 or the exit code 2. */
static int gen_apply(const cli_opt_t *o, const char *value, void *ctx)
{
  gen_run *r = ctx;
  if (((o->tag & GEN_BASE) != 0) != r->pass_base)
    return 0;
  const int id = o->tag & ~GEN_BASE;
  hr_gen_cfg_t *c = &r->cfg;
  const char *opt = o->name;
  double d, v[3];
  int64_t i64;
  int iv;
  switch (id) {
  case O_LIST:
    r->list = 1;
    return 0;
  case O_OUT:
    r->out_path = value;
    return 0;
  case O_TRUTH:
    r->truth_path = value;
    return 0;
  case O_FORMAT:
    if (strcmp(value, "f32") == 0)
      r->format = FMT_F32;
    else if (strcmp(value, "i16") == 0)
      r->format = FMT_I16;
    else if (strcmp(value, "csv") == 0)
      r->format = FMT_CSV;
    else
      return bad(opt, "expected f32, i16 or csv, got '%s'", value);
    return 0;
  case O_SCALE_U:
  case O_SCALE_I:
    if (parse_double(value, &d) || !(d > 0))
      return bad(opt, "expected a scale > 0 (units per code), got '%s'", value);
    if (id == O_SCALE_U)
      r->scale_u = d;
    else
      r->scale_i = d;
    return 0;
  case O_SECONDS:
    if (parse_double(value, &d) || d < 0 || d > 1e9)
      return bad(opt, "expected a length in seconds >= 0, got '%s'", value);
    r->seconds = d;
    return 0;
  case O_SAMPLES:
    if (parse_int64(value, &i64) || i64 < 0)
      return bad(opt, "expected a frame count >= 0, got '%s'", value);
    r->samples = i64;
    return 0;
  case O_TRUTH_EVERY:
    if (parse_int64(value, &i64) || i64 < 1)
      return bad(opt, "expected a sample count >= 1, got '%s'", value);
    r->truth_every = i64;
    return 0;
  case O_FS:
    if (parse_double(value, &d) || !(d > 0))
      return bad(opt, "expected a sample rate in Hz > 0, got '%s'", value);
    c->fs_hz = d;
    return 0;
  case O_F_NOM:
    if (parse_double(value, &d) || !(d > 0))
      return bad(opt, "expected a nominal frequency in Hz > 0, got '%s'", value);
    c->f_nom_hz = d;
    c->f_hz = d;
    return 0;
  case O_FREQ:
    if (parse_double(value, &d) || !(d > 0))
      return bad(opt, "expected a frequency in Hz > 0, got '%s'", value);
    c->f_hz = d;
    r->freq_set = 1;
    return 0;
  case O_LAYOUT: {
    hr_layout_t l;
    if (hr_layout_parse(value, &l) != HR_OK)
      return bad(opt, "expected 1p2w, 3p3w or 3p4w, got '%s'", value);
    c->layout = l;
    return 0;
  }
  case O_NEUTRAL:
    c->has_in = 1;
    return 0;
  case O_T0:
    if (parse_int64(value, &i64))
      return bad(opt, "expected an integer number of nanoseconds, got '%s'", value);
    c->t0_ns = i64;
    return 0;
  case O_SEED: {
    char *end;
    errno = 0;
    unsigned long long s = strtoull(value, &end, 0);
    if (end == value || *end || errno == ERANGE || value[0] == '-')
      return bad(opt, "expected an unsigned integer, got '%s'", value);
    c->seed = (uint64_t)s;
    return 0;
  }
  case O_U:
    if (parse_double(value, &d) || d < 0)
      return bad(opt, "expected an RMS voltage in V >= 0, got '%s'", value);
    c->u_v = d;
    return 0;
  case O_I:
    if (parse_double(value, &d) || d < 0)
      return bad(opt, "expected an RMS current in A >= 0, got '%s'", value);
    c->i_a = d;
    r->pf_or_i_set = 1;
    r->pf_or_i_name = opt;
    return 0;
  case O_LOAD:
    if (strcmp(value, "none") == 0)
      c->load = HR_GEN_LOAD_NONE;
    else if (strcmp(value, "linear") == 0)
      c->load = HR_GEN_LOAD_LINEAR;
    else if (strcmp(value, "ai-rack") == 0)
      c->load = HR_GEN_LOAD_AI_RACK;
    else
      return bad(opt, "expected none, linear or ai-rack, got '%s'", value);
    return 0;
  case O_PF:
    r->pf_or_i_set = 1;
    r->pf_or_i_name = opt;
    return parse_pf(opt, value, c);
  case O_HARM:
    return parse_harmonic(opt, value, HR_GEN_U, c);
  case O_I_HARM:
    return parse_harmonic(opt, value, HR_GEN_I, c);
  case O_IHARM:
    return parse_interharmonic(opt, value, HR_GEN_U, c);
  case O_I_IHARM:
    return parse_interharmonic(opt, value, HR_GEN_I, c);
  case O_DIP:
    return parse_event(opt, value, HR_GEN_EVENT_DIP, c);
  case O_SWELL:
    return parse_event(opt, value, HR_GEN_EVENT_SWELL, c);
  case O_INTERRUPTION:
    return parse_event(opt, value, HR_GEN_EVENT_INTERRUPTION, c);
  case O_RAMP:
    if (parse_numbers(value, v, 3, 3) < 0)
      return bad(opt, "expected RATE_HZ_PER_S:START_S:STOP_S, got '%s'", value);
    c->ramp_hz_per_s = v[0];
    c->ramp_start_s = v[1];
    c->ramp_stop_s = v[2];
    return 0;
  case O_AM:
    if (parse_numbers(value, v, 2, 2) < 0)
      return bad(opt, "expected KX:F_HZ (e.g. 0.1:2), got '%s'", value);
    c->am_kx = v[0];
    c->am_f_hz = v[1];
    return 0;
  case O_PM:
    if (parse_numbers(value, v, 2, 2) < 0)
      return bad(opt, "expected KA_RAD:F_HZ (e.g. 0.1:2), got '%s'", value);
    c->pm_ka_rad = v[0];
    c->pm_f_hz = v[1];
    return 0;
  case O_AMP_STEP:
    if (parse_numbers(value, v, 2, 2) < 0)
      return bad(opt, "expected T_S:PCT (e.g. 1.0:10), got '%s'", value);
    if (hr_gen_cfg_add_amp_step(c, v[0], v[1]) != HR_OK)
      return bad(opt, "too many amplitude steps, at '%s'", value);
    return 0;
  case O_PHASE_STEP:
    if (parse_numbers(value, v, 2, 2) < 0)
      return bad(opt, "expected T_S:DEG (e.g. 1.0:10), got '%s'", value);
    if (hr_gen_cfg_add_phase_step(c, v[0], v[1]) != HR_OK)
      return bad(opt, "too many phase steps, at '%s'", value);
    return 0;
  case O_NOISE:
  case O_U_NOISE:
  case O_I_NOISE:
    if (parse_double(value, &d))
      return bad(opt, "expected a percentage, got '%s'", value);
    if (id != O_I_NOISE)
      c->u_noise_pct = d;
    if (id != O_U_NOISE)
      c->i_noise_pct = d;
    return 0;
  case O_DC:
  case O_U_DC:
  case O_I_DC:
    if (parse_double(value, &d))
      return bad(opt, "expected a percentage, got '%s'", value);
    if (id != O_I_DC)
      c->u_dc_pct = d;
    if (id != O_U_DC)
      c->i_dc_pct = d;
    return 0;
  case O_SERVERS:
  case O_GPUS:
    if (parse_int(value, &iv))
      return bad(opt, "expected an integer, got '%s'", value);
    if (id == O_SERVERS)
      c->rack.n_servers = iv;
    else
      c->rack.gpus_per_server = iv;
    return 0;
  case O_GPU_IDLE:
  case O_GPU_BUSY:
  case O_GPU_COMM:
  case O_OTHER:
  case O_RACK_START:
  case O_RISE_MS:
  case O_JITTER:
  case O_RACK_Q:
  case O_RACK_UMIN:
    if (parse_double(value, &d))
      return bad(opt, "expected a number, got '%s'", value);
    switch (id) {
    case O_GPU_IDLE:
      c->rack.gpu_idle_w = d;
      break;
    case O_GPU_BUSY:
      c->rack.gpu_busy_w = d;
      break;
    case O_GPU_COMM:
      c->rack.gpu_comm_w = d;
      break;
    case O_OTHER:
      c->rack.server_other_w = d;
      break;
    case O_RACK_START:
      c->rack.start_s = d;
      break;
    case O_RISE_MS:
      c->rack.rise_s = d / 1000.0;
      break;
    case O_JITTER:
      c->rack.jitter_pct = d;
      break;
    case O_RACK_Q:
      c->rack.q_var = d;
      break;
    default:
      c->rack.u_min_pct = d;
      break;
    }
    return 0;
  case O_ITER:
    if (parse_numbers(value, v, 2, 2) < 0)
      return bad(opt, "expected COMPUTE_S:COMM_S (e.g. 1.0:0.4), got '%s'", value);
    c->rack.compute_s = v[0];
    c->rack.comm_s = v[1];
    return 0;
  case O_CHECKPOINT:
    if (parse_numbers(value, v, 2, 2) < 0 || v[0] != floor(v[0]) || v[0] < 0 || v[0] > INT_MAX)
      return bad(opt, "expected EVERY_N_ITERATIONS:SECONDS (e.g. 5:2.0), got '%s'", value);
    c->rack.iters_per_checkpoint = (int)v[0];
    c->rack.checkpoint_s = v[1];
    return 0;
  default:
    return bad(opt, "%s", "internal error: unhandled option");
  }
}

/* The option a cfg field comes from, for error messages, or NULL.  field is
 * hr_diag_t.field of hr_gen_cfg_check: a member, or a list entry
 * "events[3]". */
static const char *option_of_field(const hr_gen_cfg_t *cfg, const char *field)
{
  static const struct {
    const char *field, *opt;
  } map[] = {
      {"fs_hz", "--fs"},
      {"f_hz", "--freq"},
      {"f_nom_hz", "--f-nom"},
      {"layout", "--layout"},
      {"u_v", "--u"},
      {"i_a", "--i"},
      {"load", "--load"},
      {"pf", "--pf"},
      {"ramp", "--ramp"},
      {"am", "--am"},
      {"pm", "--pm"},
      {"amp_steps", "--amp-step"},
      {"phase_steps", "--phase-step"},
      {"u_harm", "--harmonic"},
      {"i_harm", "--i-harmonic"},
      {"u_iharm", "--interharmonic"},
      {"i_iharm", "--i-interharmonic"},
      {"u_noise_pct", "--u-noise-pct"},
      {"i_noise_pct", "--i-noise-pct"},
      {"u_dc_pct", "--u-dc-pct"},
      {"i_dc_pct", "--i-dc-pct"},
      {"rack.n_servers", "--servers"},
      {"rack.gpus_per_server", "--gpus"},
      {"rack.gpu_idle_w", "--gpu-idle-w"},
      {"rack.gpu_busy_w", "--gpu-busy-w"},
      {"rack.gpu_comm_w", "--gpu-comm-w"},
      {"rack.server_other_w", "--server-other-w"},
      {"rack.start_s", "--rack-start"},
      {"rack.compute_s", "--iter"},
      {"rack.comm_s", "--iter"},
      {"rack.iters_per_checkpoint", "--checkpoint"},
      {"rack.checkpoint_s", "--checkpoint"},
      {"rack.rise_s", "--rise-ms"},
      {"rack.jitter_pct", "--jitter-pct"},
      {"rack.q_var", "--rack-q-var"},
      {"rack.u_min_pct", "--rack-u-min-pct"},
      {"t0_ns", "--t0-ns"},
  };
  if (!field[0])
    return NULL;
  /* The member without a list index: "u_harm[1]" is "u_harm". */
  size_t len = strcspn(field, "[");
  int index = -1;
  if (field[len] == '[')
    index = atoi(field + len + 1);
  if (len == 6 && strncmp(field, "events", len) == 0 && index >= 0 && index < cfg->n_events) {
    switch (cfg->events[index].kind) {
    case HR_GEN_EVENT_SWELL:
      return "--swell";
    case HR_GEN_EVENT_INTERRUPTION:
      return "--interruption";
    default:
      return "--dip";
    }
  }
  for (unsigned k = 0; k < sizeof map / sizeof map[0]; k++)
    if (strlen(map[k].field) == len && strncmp(map[k].field, field, len) == 0)
      return map[k].opt;
  return NULL; /* no option sets it: the diag's field names it alone */
}

/* --- output -------------------------------------------------------------- */

static int host_is_little_endian(void)
{
  const uint16_t one = 1;
  unsigned char b;
  memcpy(&b, &one, 1);
  return b == 1;
}

static int write_f32(FILE *out, const float *x, size_t n)
{
  if (host_is_little_endian())
    return fwrite(x, sizeof *x, n, out) == n ? 0 : -1;
  unsigned char buf[4 * 1024];
  for (size_t k = 0; k < n;) {
    size_t m = 0;
    for (; k < n && m + 4 <= sizeof buf; k++, m += 4) {
      uint32_t u;
      memcpy(&u, &x[k], 4);
      buf[m] = (unsigned char)u;
      buf[m + 1] = (unsigned char)(u >> 8);
      buf[m + 2] = (unsigned char)(u >> 16);
      buf[m + 3] = (unsigned char)(u >> 24);
    }
    if (fwrite(buf, 1, m, out) != m)
      return -1;
  }
  return 0;
}

/* Saturating conversion to int16 codes: the code range is +-32767 so that the
 * scale is symmetric; values beyond it are clipped and counted. */
static int16_t to_code(float x, double scale, uint64_t *saturated)
{
  double c = nearbyint((double)x / scale);
  if (c > 32767) {
    (*saturated)++;
    return 32767;
  }
  if (c < -32767 || c != c) {
    (*saturated)++;
    return -32767;
  }
  return (int16_t)c;
}

static int write_i16(FILE *out, const float *x, size_t n_frames, int n_ch, int n_u, double scale_u,
                     double scale_i, uint64_t *saturated)
{
  unsigned char buf[2 * GEN_CHUNK_FRAMES];
  size_t m = 0;
  for (size_t f = 0; f < n_frames; f++) {
    for (int ch = 0; ch < n_ch; ch++) {
      int16_t c =
          to_code(x[f * (size_t)n_ch + (size_t)ch], ch < n_u ? scale_u : scale_i, saturated);
      uint16_t u = (uint16_t)c;
      buf[m++] = (unsigned char)(u & 0xff);
      buf[m++] = (unsigned char)(u >> 8);
      if (m == sizeof buf) {
        if (fwrite(buf, 1, m, out) != m)
          return -1;
        m = 0;
      }
    }
  }
  return m && fwrite(buf, 1, m, out) != m ? -1 : 0;
}

static int write_csv(FILE *out, const float *x, size_t n_frames, int n_ch)
{
  for (size_t f = 0; f < n_frames; f++) {
    for (int ch = 0; ch < n_ch; ch++) {
      /* 9 significant digits round-trip a float32 exactly. */
      if (fprintf(out, ch ? ",%.9g" : "%.9g", (double)x[f * (size_t)n_ch + (size_t)ch]) < 0)
        return -1;
    }
    if (fputc('\n', out) == EOF)
      return -1;
  }
  return 0;
}

static int write_truth_header(FILE *t, const hr_gen_t *g)
{
  const hr_gen_cfg_t *c = hr_gen_cfg(g);
  int n_u = hr_layout_n_u(c->layout);
  fprintf(t, "n,t_s,t_ns,f_hz,rocof_hz_per_s,p_w,q1_var,demand_w");
  for (int ch = 0; ch < hr_gen_n_channels(g); ch++) {
    const char *name = hr_gen_channel_name(g, ch);
    size_t base = strlen(name) - 2; /* drop "_v" / "_a" */
    fprintf(t, ",%.*s_rms_%s,%.*s_ang_rad", (int)base, name, ch < n_u ? "v" : "a", (int)base, name);
  }
  return fprintf(t, ",env_a,env_b,env_c\n") < 0 ? -1 : 0;
}

static int write_truth_line(FILE *t, const hr_gen_t *g, int64_t n)
{
  hr_gen_truth_t tr;
  if (hr_gen_truth(g, n, &tr) != HR_OK)
    return -1;
  fprintf(t, "%lld,%.9f,%lld,%.9f,%.9g,%.9g,%.9g,%.9g", (long long)tr.n, tr.t_s, (long long)tr.t_ns,
          tr.f_hz, tr.rocof_hz_per_s, tr.p_w, tr.q1_var, tr.demand_w);
  for (int k = 0; k < tr.n_u; k++)
    fprintf(t, ",%.9g,%.9g", tr.u_rms_v[k], tr.u_ang_rad[k]);
  for (int k = 0; k < tr.n_i; k++)
    fprintf(t, ",%.9g,%.9g", tr.i_rms_a[k], tr.i_ang_rad[k]);
  return fprintf(t, ",%.9g,%.9g,%.9g\n", tr.u_env[0], tr.u_env[1], tr.u_env[2]) < 0 ? -1 : 0;
}

/* Generates and writes everything; returns the exit code. */
static int gen_write(gen_run *r, hr_gen_t *g, FILE *out, FILE *truth)
{
  static float buf[GEN_CHUNK_FRAMES * HR_MAX_CH];
  const hr_gen_cfg_t *c = hr_gen_cfg(g);
  const int n_ch = hr_gen_n_channels(g);
  const int n_u = hr_layout_n_u(c->layout);
  int64_t total = r->samples;
  uint64_t saturated = 0;

  if (r->format == FMT_CSV) {
    for (int ch = 0; ch < n_ch; ch++)
      fprintf(out, ch ? ",%s" : "%s", hr_gen_channel_name(g, ch));
    fputc('\n', out);
  }
  if (truth && write_truth_header(truth, g))
    goto truth_error;

  int64_t next_truth = 0;
  int signo = 0;
  for (int64_t done = 0; done < total;) {
    /* A stop signal ends the output after whole frames (and their truth
     * lines), flushed. */
    if ((signo = cli_stop_requested()) != 0) {
      fprintf(stderr, "headroom gen: stopped by signal %d after %lld of %lld frames\n", signo,
              (long long)done, (long long)total);
      break;
    }
    size_t n = (size_t)(total - done < GEN_CHUNK_FRAMES ? total - done : GEN_CHUNK_FRAMES);
    if (hr_gen_fill(g, buf, n) != HR_OK) {
      fprintf(stderr, "headroom gen: the generator failed at sample %lld\n", (long long)done);
      return 1;
    }
    int rc = 0;
    switch (r->format) {
    case FMT_I16:
      rc = write_i16(out, buf, n, n_ch, n_u, r->scale_u, r->scale_i, &saturated);
      break;
    case FMT_CSV:
      rc = write_csv(out, buf, n, n_ch);
      break;
    default:
      rc = write_f32(out, buf, n * (size_t)n_ch);
      break;
    }
    if (rc)
      goto io_error;
    done += (int64_t)n;
    for (; truth && next_truth < done; next_truth += r->truth_every)
      if (write_truth_line(truth, g, next_truth))
        goto truth_error;
  }
  if (fflush(out))
    goto io_error;
  if (truth && fflush(truth))
    goto truth_error;
  if (saturated)
    fprintf(stderr, "headroom gen: %llu values saturated at +-32767 codes; raise --scale-u/-i\n",
            (unsigned long long)saturated);
  return signo ? cli_stop_status(signo) : 0;
io_error:
  fprintf(stderr, "headroom gen: --out %s: write error: %s\n",
          out == stdout ? "standard output" : r->out_path, strerror(errno));
  if (out == stdout)
    cli_stdout_reported();
  return 1;
truth_error:
  fprintf(stderr, "headroom gen: --truth %s: write error: %s\n", r->truth_path, strerror(errno));
  return 1;
}

int cmd_gen(int argc, char **argv)
{
  gen_run r;
  memset(&r, 0, sizeof r);
  hr_gen_cfg_init(&r.cfg);
  r.scenario = "ai-rack";
  r.seconds = -1;
  r.samples = -1;
  r.format = FMT_F32;

  const cli_spec_t spec = {
      .prog = "headroom gen",
      .usage = "[scenario] [options]",
      .about = gen_about(),
      .epilog = "Exit status: 0 success, 1 output error, 2 bad usage, 128+N after a clean stop on\n"
                "signal N (SIGTERM, SIGINT, SIGHUP: whole frames written and flushed).  See\n"
                "docs/gen.md.",
      .opts = gen_opts,
      .n_opts = N_GEN_OPTS,
      .max_operands = 1,
      .ctx = &r,
  };
  /* The scenario keeps sampling, layout, time and seed, so apply those
   * first; everything else overrides the scenario in command-line order.
   * Both passes check every option's syntax. */
  const char *scenario[1];
  int n_scenario = 0;
  r.pass_base = 1;
  int rc = cli_parse(&spec, argc, argv, scenario, &n_scenario);
  if (rc != CLI_GO_ON)
    return rc;
  if (n_scenario)
    r.scenario = scenario[0];
  double preset_s = 10;
  rc = hr_gen_cfg_preset(&r.cfg, r.scenario, &preset_s);
  if (rc != HR_OK) {
    fprintf(stderr, "headroom gen: unknown scenario '%s'; one of:", r.scenario);
    for (int k = 0; hr_gen_preset_name(k); k++)
      fprintf(stderr, " %s", hr_gen_preset_name(k));
    fprintf(stderr, "\n");
    return 2;
  }
  r.pass_base = 0;
  rc = cli_parse(&spec, argc, argv, scenario, &n_scenario);
  if (rc != CLI_GO_ON)
    return rc;
  if (r.list) {
    for (int k = 0; hr_gen_preset_name(k); k++)
      printf("%-13s %s\n", hr_gen_preset_name(k), hr_gen_preset_summary(k));
    return 0;
  }
  if (r.cfg.has_in && r.cfg.layout != HR_LAYOUT_3P4W) {
    fprintf(stderr, "headroom gen: --neutral: only a 3p4w layout has a neutral current\n");
    return 2;
  }
  if (r.pf_or_i_set && r.cfg.load != HR_GEN_LOAD_LINEAR) {
    fprintf(stderr,
            "headroom gen: %s: applies to the linear load only; the %s load sets its own "
            "current (add --load linear)\n",
            r.pf_or_i_name, r.cfg.load == HR_GEN_LOAD_AI_RACK ? "ai-rack" : "'none'");
    return 2;
  }

  hr_diag_t err;
  rc = hr_gen_cfg_check(&r.cfg, &err);
  if (rc != HR_OK) {
    /* "--harmonic: u_harm[1]: harmonic 67 reaches ...": the option typed,
     * then the member and entry at fault. */
    char text[HR_DIAG_FIELD_BYTES + HR_DIAG_MSG_BYTES + 8];
    hr_diag_format(&err, text, sizeof text);
    const char *opt = option_of_field(&r.cfg, err.field);
    fprintf(stderr, "headroom gen: %s%s%s\n", opt ? opt : "", opt ? ": " : "", text);
    return 2;
  }
  hr_gen_t *g;
  rc = hr_gen_create(&r.cfg, &g);
  if (rc != HR_OK) {
    fprintf(stderr, "headroom gen: %s\n", hr_strerror(rc));
    return 1;
  }

  if (r.samples < 0) {
    double s = r.seconds >= 0 ? r.seconds : preset_s;
    r.samples = llround(s * r.cfg.fs_hz);
  }
  /* Every frame's time, t0_ns + n / fs, must fit int64 ns (the truth file
   * prints it); with t0 <= HR_T0_NS_MAX that is still 160 years. */
  double max_frames = ((double)(INT64_MAX - r.cfg.t0_ns) - 1e12) * (r.cfg.fs_hz / 1e9);
  if ((double)r.samples > max_frames) {
    fprintf(stderr,
            "headroom gen: --samples/--seconds: %lld frames at %g Hz from --t0-ns %lld end after "
            "2^63 ns since 1970; at most %.0f frames\n",
            (long long)r.samples, r.cfg.fs_hz, (long long)r.cfg.t0_ns, max_frames);
    hr_gen_destroy(g);
    return 2;
  }
  if (r.truth_every <= 0) {
    r.truth_every = llround(r.cfg.fs_hz / r.cfg.f_nom_hz);
    if (r.truth_every < 1)
      r.truth_every = 1;
  }
  if (r.format == FMT_I16 && (r.scale_u <= 0 || r.scale_i <= 0)) {
    /* Full scale at twice the nominal peak: room for swells to 200 % and the
     * AI rack's constant-power current in dips. */
    double su = 2.0 * sqrt(2.0) * hr_gen_u_nom_v(g) / 32767.0;
    double si = 2.0 * sqrt(2.0) * hr_gen_i_nom_a(g) / 32767.0;
    if (r.scale_u <= 0)
      r.scale_u = su > 0 ? su : 1.0 / 32767.0;
    if (r.scale_i <= 0)
      r.scale_i = si > 0 ? si : 1.0 / 32767.0;
    fprintf(stderr, "headroom gen: i16 scales --scale-u %.9g --scale-i %.9g\n", r.scale_u,
            r.scale_i);
  }

  FILE *out = stdout, *truth = NULL;
  if (r.out_path && strcmp(r.out_path, "-") != 0) {
    out = fopen(r.out_path, r.format == FMT_CSV ? "w" : "wb");
    if (!out) {
      fprintf(stderr, "headroom gen: --out %s: %s\n", r.out_path, strerror(errno));
      hr_gen_destroy(g);
      return 1;
    }
  }
  if (r.truth_path) {
    truth = fopen(r.truth_path, "w");
    if (!truth) {
      fprintf(stderr, "headroom gen: --truth %s: %s\n", r.truth_path, strerror(errno));
      if (out != stdout)
        fclose(out);
      hr_gen_destroy(g);
      return 1;
    }
  }
  cli_stop_catch(0);
  rc = gen_write(&r, g, out, truth);
  if (out != stdout && fclose(out) && rc == 0) {
    fprintf(stderr, "headroom gen: --out %s: %s\n", r.out_path, strerror(errno));
    rc = 1;
  }
  if (truth && fclose(truth) && rc == 0) {
    fprintf(stderr, "headroom gen: --truth %s: %s\n", r.truth_path, strerror(errno));
    rc = 1;
  }
  hr_gen_destroy(g);
  return rc;
}
