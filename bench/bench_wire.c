/* Wire encoding speed: records/s of the PowerMeasurement encoder
 * (hr_pm_from_record + hr_pm_encode_delimited, what headroom meter
 * --output-format proto does per record), of its JSON form (hr_pm_json) and
 * of the decoder (hr_pm_decode), as ratios to the JSON Lines record writer
 * (hr_record_json) run over the same records in the same process.
 *
 * The records come from the engine: SECONDS of a 3P4W 50-Hz signal at
 * 8 kHz (a 5th-harmonic current, a dip every 2 s), all record kinds but the
 * harmonics ("all": 1-ms records dominate), and separately the 200-ms
 * harmonics records with their spectra ("harm"; the JSON writer gets the
 * compact record, the message carries 200 harmonic values as well).
 * usage: bench_wire [SECONDS=20] [REPEATS=5]   (best of REPEATS) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "headroom/pq.h"
#include "headroom/wire.h"

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct recs {
  hr_record_t *r; /* harm records point at copies of their spectra (owned) */
  size_t n, cap;
} recs_t;

static void keep(const hr_record_t *rec, void *user)
{
  recs_t *s = user;
  if (s->n == s->cap) {
    s->cap = s->cap ? 2 * s->cap : 4096;
    s->r = realloc(s->r, s->cap * sizeof *s->r);
    if (!s->r)
      exit(1);
  }
  s->r[s->n] = *rec;
  if (rec->kind == HR_REC_HARM && rec->u.harm.detail) {
    hr_harm_t *d = malloc(sizeof *d); /* the detail is valid only in the callback */
    if (!d)
      exit(1);
    *d = *rec->u.harm.detail;
    s->r[s->n].u.harm.detail = d;
  }
  s->n++;
}

static void collect(double seconds, unsigned records, recs_t *s)
{
  const double fs = 8000, f0 = 50, u = 230;
  hr_meter_cfg_t cfg;
  hr_meter_cfg_init(&cfg, fs, f0, u, HR_LAYOUT_3P4W);
  cfg.records = records;
  hr_meter_t *m;
  if (hr_meter_create(&cfg, &m) != HR_OK)
    exit(1);
  hr_meter_set_callback(m, keep, s);
  enum { BLOCK = 8000 };
  static float x[BLOCK * 6];
  long n = (long)(seconds * fs);
  for (long s0 = 0; s0 < n; s0 += BLOCK) {
    for (int k = 0; k < BLOCK; k++) {
      double t = (double)(s0 + k) / fs;
      double g = fmod(t, 2.0) >= 1.0 && fmod(t, 2.0) < 1.2 ? 0.7 : 1.0;
      for (int c = 0; c < 6; c++) {
        double w = 2 * M_PI * f0 * t - 2 * M_PI * (c % 3) / 3;
        x[k * 6 + c] = (float)(c < 3 ? g * u * sqrt(2) * sin(w)
                                     : 20 * sqrt(2) * sin(w - 0.3) + 3 * sqrt(2) * sin(5 * w));
      }
    }
    if (hr_meter_push(m, x, BLOCK, NULL) != HR_OK)
      exit(1);
  }
  hr_meter_finish(m);
  hr_meter_destroy(m);
}

static void recs_free(recs_t *s)
{
  for (size_t k = 0; k < s->n; k++)
    if (s->r[k].kind == HR_REC_HARM)
      free((void *)s->r[k].u.harm.detail);
  free(s->r);
}

enum { W_JSON, W_PROTO, W_PBJSON, W_DECODE, W_N };
static const char *const wname[W_N] = {"json (hr_record_json)", "proto (from_record+encode)",
                                       "pbjson (from_record+hr_pm_json)", "decode (hr_pm_decode)"};

static volatile size_t sink; /* keeps the work observable */

/* One pass of writer w over every record; returns the bytes produced. */
static size_t pass(int w, const recs_t *s, uint8_t *const *msgs, const size_t *lens)
{
  static char buf[HR_PM_JSON_MAX];
  static hr_pm_t pm;
  size_t bytes = 0, n = 0;
  for (size_t k = 0; k < s->n; k++) {
    switch (w) {
    case W_JSON:
      if (hr_record_json(&s->r[k], "PDU-A01-001", buf, sizeof buf, &n) != HR_OK)
        exit(1);
      n++; /* the newline */
      break;
    case W_PROTO:
      hr_pm_from_record(&s->r[k], "PDU-A01-001", &pm);
      if (hr_pm_encode_delimited(&pm, (uint8_t *)buf, sizeof buf, &n) != HR_OK)
        exit(1);
      break;
    case W_PBJSON:
      hr_pm_from_record(&s->r[k], "PDU-A01-001", &pm);
      if (hr_pm_json(&pm, buf, sizeof buf, &n) != HR_OK)
        exit(1);
      n++;
      break;
    case W_DECODE:
      if (hr_pm_decode(msgs[k], lens[k], &pm, NULL) != HR_OK)
        exit(1);
      n = lens[k];
      break;
    }
    bytes += n;
  }
  sink += bytes;
  return bytes;
}

static void bench(const char *mix, const recs_t *s, int repeats)
{
  uint8_t **msgs = malloc(s->n * sizeof *msgs);
  size_t *lens = malloc(s->n * sizeof *lens);
  static hr_pm_t pm;
  if (!msgs || !lens)
    exit(1);
  for (size_t k = 0; k < s->n; k++) {
    msgs[k] = malloc(HR_PM_ENCODED_MAX);
    if (!msgs[k])
      exit(1);
    hr_pm_from_record(&s->r[k], "PDU-A01-001", &pm);
    if (hr_pm_encode(&pm, msgs[k], HR_PM_ENCODED_MAX, &lens[k]) != HR_OK)
      exit(1);
  }
  double rate[W_N];
  for (int w = 0; w < W_N; w++) {
    double best = 1e30;
    size_t bytes = 0;
    for (int r = 0; r < repeats; r++) {
      double t0 = now_s();
      bytes = pass(w, s, msgs, lens);
      double dt = now_s() - t0;
      if (dt < best)
        best = dt;
    }
    rate[w] = (double)s->n / best;
    printf("%-5s %-32s records_per_s=%.4g bytes_per_record=%.1f\n", mix, wname[w], rate[w],
           (double)bytes / (double)s->n);
  }
  printf("%-5s ratio proto/json=%.2f pbjson/json=%.2f decode/json=%.2f (records=%zu)\n", mix,
         rate[W_PROTO] / rate[W_JSON], rate[W_PBJSON] / rate[W_JSON], rate[W_DECODE] / rate[W_JSON],
         s->n);
  for (size_t k = 0; k < s->n; k++)
    free(msgs[k]);
  free(msgs);
  free(lens);
}

int main(int argc, char **argv)
{
  double seconds = argc > 1 ? atof(argv[1]) : 20;
  int repeats = argc > 2 ? atoi(argv[2]) : 5;
  if (!(seconds > 0) || repeats < 1) {
    fprintf(stderr, "usage: bench_wire [SECONDS=20] [REPEATS=5]\n");
    return 2;
  }
  recs_t all = {0}, harm = {0};
  collect(seconds, HR_RECMASK_ALL, &all);
  collect(seconds, HR_RECMASK(HR_REC_HARM), &harm);
  bench("all", &all, repeats);
  bench("harm", &harm, repeats);
  recs_free(&all);
  recs_free(&harm);
  return 0;
}
