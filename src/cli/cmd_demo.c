/* headroom demo: a generated 3-phase AI-rack waveform measured live.
 *
 * The generator produces 10-ms blocks of samples paced by the wall clock (or
 * as fast as possible with --fast); the meter measures them as they come and
 * the demo prints one line per 10/12-cycle interval and one per event. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_util.h"
#include "headroom/gen.h"
#include "headroom/pq.h"
#include "headroom/wire.h"

typedef struct demo {
  int json;
  int64_t t0_ns;
  int64_t lines;
} demo_t;

static void print_record(const hr_record_t *rec, void *user)
{
  demo_t *d = user;
  if (d->json) {
    char buf[HR_RECORD_JSON_MAX];
    size_t n;
    hr_record_json(rec, "demo-rack", buf, sizeof buf, &n);
    puts(buf);
    d->lines++;
    fflush(stdout); /* a write error stays flagged; main() reports it */
    return;
  }
  double t = (rec->t_ns - d->t0_ns) * 1e-9;
  if (rec->kind == HR_REC_INTERVAL) {
    const hr_interval_rec_t *v = &rec->u.interval;
    printf("%8.3f s  interval  %6.3f Hz  U %6.1f %6.1f %6.1f V  I %6.1f %6.1f %6.1f A  "
           "P %7.1f kW  PF %.3f%s\n",
           t, v->freq_hz, v->u_rms_v[0], v->u_rms_v[1], v->u_rms_v[2], v->i_rms_a[0], v->i_rms_a[1],
           v->i_rms_a[2], v->p_total_w / 1e3, v->pf_total, rec->flags ? "  (flagged)" : "");
  } else if (rec->kind == HR_REC_EVENT) {
    const hr_event_rec_t *e = &rec->u.event;
    double start = (e->start_ns - d->t0_ns) * 1e-9;
    double latency_ms = (rec->t_ns - e->start_ns) * 1e-6;
    if (!e->ended) {
      printf("%8.3f s  EVENT %-13s started at %.4f s (detected %.1f ms later)\n", t,
             hr_event_type_name(e->type), start, latency_ms);
    } else if (e->type == HR_EVT_POWER_STEP || e->type == HR_EVT_CURRENT_STEP) {
      const char *u = e->type == HR_EVT_POWER_STEP ? "kW" : "A";
      double k = e->type == HR_EVT_POWER_STEP ? 1e-3 : 1.0;
      printf("%8.3f s  EVENT %-13s %.1f -> %.1f %s (%+.0f %% of base) in %.1f ms\n", t,
             hr_event_type_name(e->type), e->from * k, e->extreme * k, u,
             (e->delta >= 0 ? 1 : -1) * e->depth_pct, e->duration_ns * 1e-6);
    } else {
      printf("%8.3f s  EVENT %-13s ended: %.1f ms long, extreme %.1f (%.2f %%)\n", t,
             hr_event_type_name(e->type), e->duration_ns * 1e-6, e->extreme, e->depth_pct);
    }
  } else {
    return;
  }
  d->lines++;
  fflush(stdout);
}

static void sleep_until(double t_s)
{
  struct timespec ts = {(time_t)t_s, (long)((t_s - (double)(time_t)t_s) * 1e9)};
  clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

static double mono_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int cmd_demo(int argc, char **argv)
{
  double seconds = 20.0;
  int fast = 0;
  demo_t d = {0};
  const cli_opt_t opts[] = {
      {.name = "--seconds",
       .kind = CLI_DBL,
       .dst = &seconds,
       .arg = "S",
       .help = "how long to run (default 20)",
       CLI_RANGE_GT(0, 86400)},
      {.name = "--fast", .kind = CLI_FLAG, .dst = &fast, .help = "do not pace to the wall clock"},
      {.name = "--json",
       .kind = CLI_FLAG,
       .dst = &d.json,
       .help = "print JSON Lines records (cycles included) instead of text"},
  };
  const cli_spec_t spec = {
      .prog = "headroom demo",
      .usage = "[--seconds S] [--fast] [--json]",
      .about = "Generates a 480 V / 60 Hz AI training rack (8 servers x 8 GPUs, 65 % power\n"
               "steps in about 8 ms, checkpoint pauses, a 150-ms voltage dip to 70 % at 6 s)\n"
               "and measures it live at 8 kHz: one line per 200-ms interval and per event.",
      .epilog = "SIGTERM, SIGINT and SIGHUP end the run after the current 10-ms block;\n"
                "exit status 128 + the signal number.",
      .opts = opts,
      .n_opts = (int)(sizeof opts / sizeof opts[0]),
  };
  int prc = cli_parse(&spec, argc, argv, NULL, NULL);
  if (prc != CLI_GO_ON)
    return prc;

  hr_gen_cfg_t gcfg;
  hr_gen_cfg_init(&gcfg);
  double preset_s = 0;
  if (hr_gen_cfg_preset(&gcfg, "ai-rack", &preset_s) != HR_OK) {
    fprintf(stderr, "headroom demo: the ai-rack preset is missing\n");
    return 1;
  }
  d.t0_ns = cli_now_ns();
  gcfg.t0_ns = d.t0_ns;
  hr_gen_event_t dip = {HR_GEN_EVENT_DIP, 6.0, 0.15, 70.0, HR_GEN_PHASE_ALL, 0.0};
  hr_gen_cfg_add_event(&gcfg, &dip);
  hr_gen_t *g = NULL;
  int rc = hr_gen_create(&gcfg, &g);
  if (rc != HR_OK) {
    fprintf(stderr, "headroom demo: generator: %s\n", hr_strerror(rc));
    return 1;
  }

  /* Rack power at full load sets the bases of the step detectors. */
  const hr_gen_rack_t *rk = &gcfg.rack;
  double p_full = rk->n_servers * (rk->gpus_per_server * rk->gpu_busy_w + rk->server_other_w);
  hr_meter_cfg_t mcfg;
  hr_meter_cfg_init(&mcfg, gcfg.fs_hz, gcfg.f_nom_hz, gcfg.u_v, gcfg.layout);
  mcfg.has_in = gcfg.has_in;
  mcfg.t0_ns = d.t0_ns;
  mcfg.p_step_base_w = p_full;
  mcfg.p_step_pct = 30.0;
  mcfg.p_step_window_ms = 30.0;
  mcfg.records = HR_RECMASK(HR_REC_INTERVAL) | HR_RECMASK(HR_REC_EVENT);
  if (d.json)
    mcfg.records |= HR_RECMASK(HR_REC_CYCLE);
  hr_meter_t *m = NULL;
  rc = hr_meter_create(&mcfg, &m);
  if (rc != HR_OK) {
    fprintf(stderr, "headroom demo: meter: %s\n", hr_strerror(rc));
    hr_gen_destroy(g);
    return 1;
  }
  hr_meter_set_callback(m, print_record, &d);
  if (!d.json)
    printf("headroom demo: AI rack, %d servers x %d GPUs, %.0f kW at full load, %s %.0f Hz, "
           "%.0f V L-N, measured at %.0f Hz\n",
           rk->n_servers, rk->gpus_per_server, p_full / 1e3, hr_layout_name(gcfg.layout),
           gcfg.f_nom_hz, gcfg.u_v, gcfg.fs_hz);

  const size_t block = (size_t)(gcfg.fs_hz / 100.0); /* 10 ms */
  const int nch = hr_meter_frame_len(m);
  float *buf = malloc(block * (size_t)nch * sizeof *buf);
  if (!buf || hr_gen_n_channels(g) != nch) {
    fprintf(stderr, "headroom demo: generator and meter disagree on the channel count\n");
    free(buf);
    hr_meter_destroy(m);
    hr_gen_destroy(g);
    return 1;
  }
  double start = mono_s();
  size_t total = (size_t)(seconds * gcfg.fs_hz);
  /* A stop signal ends the run after the current 10-ms block (the paced
   * sleep returns early on it). */
  cli_stop_catch(0);
  int signo = 0;
  for (size_t n = 0; n < total && !(signo = cli_stop_requested()); n += block) {
    size_t b = total - n < block ? total - n : block;
    hr_gen_fill(g, buf, b);
    hr_meter_push(m, buf, b, NULL);
    if (!fast)
      sleep_until(start + (double)(n + b) / gcfg.fs_hz);
  }
  if (signo) {
    /* Events in progress get their (open) end records, as at the end of a
     * meter's input. */
    hr_meter_finish(m);
    fprintf(stderr, "headroom demo: stopped by signal %d\n", signo);
  }
  hr_meter_stats_t st;
  hr_meter_get_stats(m, &st);
  if (!d.json)
    printf("headroom demo: %.1f s measured, %lld records\n", st.frames / gcfg.fs_hz,
           (long long)st.records);
  free(buf);
  hr_meter_destroy(m);
  hr_gen_destroy(g);
  return signo ? cli_stop_status(signo) : 0;
}
