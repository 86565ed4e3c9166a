/* headroom lease: the power-lease layer from the command line.
 *
 *   headroom lease check TREE.yaml [options]
 *
 * For every protective device of the tree and every overload level, prints
 * the time to trip from cold, the loop latency, the margin left under the
 * draft's rule (the loop must finish within 70 % of the time to trip) and
 * flags the devices orchestration cannot protect in time.  Also prints each
 * node's lease budget (continuous, burst, instantaneous).  docs/lease.md. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_tcc.h"
#include "cli_util.h"
#include "headroom/lease.h"
#include "headroom/tree.h"

#define MAX_LEVELS 32

typedef struct check_args {
  double levels[MAX_LEVELS];
  int n_levels;
} check_args_t;

static int parse_levels(const char *text, double *lv, int *n)
{
  char buf[512];
  if (strlen(text) >= sizeof buf)
    return -1;
  memcpy(buf, text, strlen(text) + 1);
  *n = 0;
  char *save = NULL;
  for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    double v;
    if (*n >= MAX_LEVELS || cli_double(tok, &v) != 0 || !(v > 0.0) || v > 1000.0)
      return -1;
    lv[(*n)++] = v;
  }
  return *n > 0 ? 0 : -1;
}

static void fmt_s(char *out, size_t len, double s)
{
  if (isinf(s))
    snprintf(out, len, "%s", s > 0 ? "never" : "-inf");
  else if (fabs(s) < 1.0)
    snprintf(out, len, "%.1f ms", s * 1e3);
  else
    snprintf(out, len, "%.3g s", s);
}

static void fmt_w(char *out, size_t len, double w)
{
  if (isinf(w))
    snprintf(out, len, "-");
  else if (w >= 1e6)
    snprintf(out, len, "%.3f MW", w / 1e6);
  else if (w >= 1e3)
    snprintf(out, len, "%.1f kW", w / 1e3);
  else
    snprintf(out, len, "%.0f W", w);
}

/* A JSON number, or null when v is not finite (a device that never trips at
 * a level): the rule of every JSON writer here (docs/formats.md). */
static void json_num(char *out, size_t len, double v)
{
  if (isfinite(v))
    snprintf(out, len, "%.6g", v);
  else
    snprintf(out, len, "null");
}

/* --levels L,L,...: up to MAX_LEVELS multiples in (0, 1000]. */
static int levels_opt(const cli_opt_t *o, const char *value, void *ctx)
{
  check_args_t *a = ctx;
  if (parse_levels(value, a->levels, &a->n_levels) != 0) {
    fprintf(stderr,
            "headroom lease check: %s: '%s': up to %d numbers in (0, 1000], comma-separated\n",
            o->name, value, MAX_LEVELS);
    return 2;
  }
  return 0;
}

static int check(int argc, char **argv)
{
  hr_check_cfg_t cfg;
  hr_check_cfg_init(&cfg);
  check_args_t a = {{1.2, 1.5, 2, 3, 6, 10, 20}, 7};
  double ms[4] = {cfg.detect_s * 1e3, cfg.rack_s * 1e3, cfg.cluster_s * 1e3, cfg.actuate_s * 1e3};
  int json = 0;
  const char *svg = NULL;
  const cli_opt_t opts[] = {
      {.name = "--detect-ms",
       .kind = CLI_DBL,
       .dst = &ms[0],
       .arg = "MS",
       .help = "detection latency (default 5)",
       CLI_RANGE(0, 1e7)},
      {.name = "--rack-ms",
       .kind = CLI_DBL,
       .dst = &ms[1],
       .arg = "MS",
       .help = "rack coordination (default 20)",
       CLI_RANGE(0, 1e7)},
      {.name = "--cluster-ms",
       .kind = CLI_DBL,
       .dst = &ms[2],
       .arg = "MS",
       .help = "cluster coordination (default 25)",
       CLI_RANGE(0, 1e7)},
      {.name = "--actuate-ms",
       .kind = CLI_DBL,
       .dst = &ms[3],
       .arg = "MS",
       .help = "GPU throttle (default 20)",
       CLI_RANGE(0, 1e7)},
      {.name = "--rule",
       .kind = CLI_DBL,
       .dst = &cfg.rule,
       .arg = "X",
       .help = "the loop must end within X x time to trip (default 0.70)",
       CLI_RANGE_GT(0, 1)},
      {.name = "--levels",
       .kind = CLI_FN,
       .fn = levels_opt,
       .arg = "L,L,...",
       .help = "overload levels, multiples of the rated current, up to 32 in (0, 1000]\n"
               "(default 1.2,1.5,2,3,6,10,20)"},
      {.name = "--json",
       .kind = CLI_FLAG,
       .dst = &json,
       .help = "one JSON object per line instead of a table"},
      {.name = "--svg",
       .kind = CLI_STR,
       .dst = &svg,
       .arg = "FILE",
       .help = "also draw the time-current chart: every device's trip curve, the\n"
               "loop latency and the overload levels (log-log) as SVG"},
  };
  const cli_spec_t spec = {
      .prog = "headroom lease check",
      .usage = "TREE.yaml|- [options]",
      .about = "For each protective device and overload level: time to trip, loop latency,\n"
               "margin left, and whether orchestration can act in time.  TREE - reads the\n"
               "tree from standard input.",
      .epilog = "Exit status: 0 when every device can be protected in time, 1 when one\n"
                "cannot (the table flags it), 2 for bad usage or an unreadable tree.\n"
                "SIGTERM, SIGINT and SIGHUP stop after the device in progress: its rows,\n"
                "the summary (marked stopped) and the --svg chart of the devices checked\n"
                "are written, and the exit status is 128 + the signal.",
      .opts = opts,
      .n_opts = (int)(sizeof opts / sizeof opts[0]),
      .max_operands = 1,
      .ctx = &a,
  };
  const char *operands[1];
  int n_operands = 0;
  int rc = cli_parse(&spec, argc, argv, operands, &n_operands);
  if (rc != CLI_GO_ON)
    return rc;
  if (n_operands == 0) {
    cli_help(&spec, stderr);
    return 2;
  }
  const char *path = operands[0];
  if (svg && cli_is_stdio(svg)) {
    fprintf(stderr, "headroom lease check: --svg: standard output carries the table; name a "
                    "file\n");
    return 2;
  }
  cfg.detect_s = ms[0] / 1e3;
  cfg.rack_s = ms[1] / 1e3;
  cfg.cluster_s = ms[2] / 1e3;
  cfg.actuate_s = ms[3] / 1e3;
  const double *levels = a.levels;
  int n_levels = a.n_levels;
  hr_tree_t *tree = NULL;
  if (cli_load_tree("headroom lease check", path, &tree) != 0)
    return 2;
  hr_budget_cfg_t bc;
  hr_budget_cfg_init(&bc);
  const hr_tree_node_t *nodes = hr_tree_nodes(tree);
  size_t n = hr_tree_count(tree);
  cli_tcc_dev_t *devs = svg ? calloc(n ? n : 1, sizeof *devs) : NULL;
  if (svg && !devs) {
    fprintf(stderr, "headroom lease check: out of memory\n");
    hr_tree_destroy(tree);
    return 1;
  }
  int n_dev = 0, n_flag = 0, signo = 0;
  double loop_s = cfg.detect_s + cfg.rack_s + cfg.cluster_s + cfg.actuate_s;
  /* Caught only now: reading a tree from a pipe that never ends must still
   * die of the signal. */
  cli_stop_catch(0);
  if (!json)
    printf("tree %s: loop %.1f ms (detect %.1f + rack %.1f + cluster %.1f + actuate %.1f), "
           "rule %.0f %% of the time to trip\n",
           hr_tree_name(tree), loop_s * 1e3, cfg.detect_s * 1e3, cfg.rack_s * 1e3,
           cfg.cluster_s * 1e3, cfg.actuate_s * 1e3, cfg.rule * 100);
  for (size_t k = 0; k < n && !(signo = cli_stop_requested()); k++) {
    const hr_tree_node_t *nd = &nodes[k];
    if (!nd->device || nd->device->type == HR_DEVICE_NONE)
      continue;
    double rated = nd->rating_a;
    if (!(rated > 0.0) && isfinite(nd->capacity_w))
      rated = hr_tree_node_current_a(nd, nd->capacity_w);
    if (!(rated > 0.0) || !isfinite(rated))
      continue;
    if (devs)
      devs[n_dev] = (cli_tcc_dev_t){nd->id, nd->device, rated};
    n_dev++;
    hr_budget_t b;
    int have_b = hr_budget_node(nd, NULL, &bc, -1, &b) == HR_OK;
    if (!json) {
      char c[32] = "-", bu[32] = "-", in[32] = "-";
      if (have_b) {
        fmt_w(c, sizeof c, b.cont_w);
        fmt_w(bu, sizeof bu, b.burst_w);
        fmt_w(in, sizeof in, b.inst_w);
      }
      printf("\n%s (%s, %s, rated %.0f A): budget continuous %s, burst %s, instantaneous %s\n",
             nd->id, hr_node_kind_name(nd->kind), hr_device_type_name(nd->device->type), rated, c,
             bu, in);
      printf("  %8s %10s %12s %6s %12s  %s\n", "x rated", "current", "trip", "elem", "margin", "");
    }
    int flagged = 0;
    for (int j = 0; j < n_levels; j++) {
      hr_check_row_t r;
      if (hr_check_device(nd->device, rated, levels[j], &cfg, &r) != HR_OK)
        continue;
      if (!r.in_time)
        flagged = 1;
      if (json) {
        char tt[32], mm[32];
        json_num(tt, sizeof tt, r.t_trip_s);
        json_num(mm, sizeof mm, r.margin_s);
        printf("{\"node\":\"%s\",\"device\":\"%s\",\"multiple\":%.6g,\"i_a\":%.6g,"
               "\"t_trip_s\":%s,\"element\":\"%s\",\"loop_s\":%.6g,\"margin_s\":%s,"
               "\"in_time\":%s}\n",
               nd->id, hr_device_type_name(nd->device->type), r.multiple, r.i_a, tt,
               hr_element_name(r.element), r.loop_s, mm, r.in_time ? "true" : "false");
      } else {
        char tt[32], mm[32];
        fmt_s(tt, sizeof tt, r.t_trip_s);
        fmt_s(mm, sizeof mm, r.margin_s);
        printf("  %8.2f %8.0f A %12s %6s %12s  %s\n", r.multiple, r.i_a, tt,
               isfinite(r.t_trip_s) ? hr_element_name(r.element) : "-", mm,
               r.in_time ? "ok" : "TOO FAST: orchestration cannot act in time");
      }
    }
    n_flag += flagged;
  }
  if (!json)
    printf("\n%d device(s) checked, %d where orchestration cannot act in time at some level%s\n",
           n_dev, n_flag, signo ? " (stopped by a signal)" : "");
  int status = n_flag ? 1 : 0;
  if (signo) {
    fprintf(stderr, "headroom lease check: stopped by signal %d after %d device(s)\n", signo,
            n_dev);
    status = cli_stop_status(signo);
  }
  if (svg) {
    char title[160];
    snprintf(title, sizeof title, "%s: time-current characteristics against the loop",
             hr_tree_name(tree));
    if (cli_tcc_svg(svg, "headroom lease check: --svg", title, devs, n_dev, loop_s, cfg.rule,
                    levels, n_levels) != 0 &&
        !signo)
      status = 1;
  }
  free(devs);
  hr_tree_destroy(tree);
  return status;
}

int cmd_lease(int argc, char **argv)
{
  static const cli_cmd_t subs[] = {
      {"check", check, "time to trip of every protective device against the orchestration loop"},
  };
  return cli_dispatch("headroom lease", "The power-lease layer from the command line.", subs,
                      (int)(sizeof subs / sizeof subs[0]), argc, argv);
}
