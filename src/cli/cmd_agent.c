/* headroom agent: the control agent of one node on a real machine
 * (docs/loop.md, docs/cli.md).
 *
 *   headroom agent --tree T.yaml --node NAME [--actuator sim|nvml|rapl] [options]
 *
 * Reads a waveform stream of the node's meter (the formats of headroom
 * meter: raw float32, raw int16, CSV; stdin or a file), measures it with the
 * meter engine in process, feeds the records to the agent, steps the agent
 * on every 1-ms record (time is the sample clock) and prints each cap it
 * sets as one JSON line on stdout. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_util.h"
#include "headroom/actuate.h"
#include "headroom/loop.h"
#include "headroom/pq.h"
#include "headroom/reader.h"
#include "headroom/sim.h"
#include "headroom/tree.h"

typedef struct ctx {
  hr_agent_t *agent;
  hr_actuator_t *act; /* borrowed */
  int sim_act;
  size_t meter_node;
  const hr_tree_t *tree;
  int64_t t_ns;
  size_t n_leaves;
  int out_err; /* errno of the first failed write to stdout, or 0 */
  int rc;
} ctx_t;

static void on_decision(void *user, const hr_agent_decision_t *d)
{
  ctx_t *c = user;
  const hr_tree_node_t *x = hr_tree_node(c->tree, d->node);
  char prev[32] = "null"; /* no cap was sent before */
  if (!isnan(d->prev_cap_w))
    snprintf(prev, sizeof prev, "%.1f", d->prev_cap_w);
  if (printf("{\"t_ns\":%lld,\"node\":\"%s\",\"dev\":%zu,\"cap_w\":%.1f,\"prev_cap_w\":%s,"
             "\"p_w\":%.1f,\"why\":\"%s\",\"err\":\"%s\"}\n",
             (long long)d->t_ns, x ? x->id : "", d->leaf, d->cap_w, prev, d->p_w,
             hr_decision_why_name(d->why), hr_err_name(d->err)) < 0 &&
      !c->out_err)
    c->out_err = errno ? errno : EIO;
  if (d->err != HR_OK && d->err != HR_ERR_RANGE) {
    static int told;
    if (!told) {
      fprintf(stderr, "headroom agent: cannot set caps (%s); measuring and deciding go on\n",
              c->act ? hr_actuator_error(c->act) : hr_strerror(d->err));
      told = 1;
    }
  }
}

static void on_record(const hr_record_t *rec, void *user)
{
  ctx_t *c = user;
  if (c->rc != HR_OK)
    return;
  hr_agent_push_record(c->agent, c->meter_node, rec);
  if (rec->kind != HR_REC_MS)
    return;
  /* The sample clock drives the agent: time is the end of the record's window. */
  int64_t t = rec->t_ns + rec->dur_ns;
  if (t < c->t_ns)
    return;
  c->t_ns = t;
  if (c->sim_act && c->n_leaves > 0 && isfinite(rec->u.ms.p_total_w)) {
    double each = rec->u.ms.p_total_w / (double)c->n_leaves;
    for (size_t k = 0; k < c->n_leaves; k++)
      hr_simgpu_set_demand(c->act, (int)k, each > 0.0 ? each : 0.0, t);
  }
  c->rc = hr_agent_step(c->agent, NULL);
}

/* The policies of hr_sim_policy_cfg and the actuators, for --help and the
 * refusals. */
#define POLICIES                                                                                   \
  "none, static70, static60, dynamo, polca, polca-power, thunderbolt, headroom, headroom-flat, "   \
  "lease-3band, "                                                                                  \
  "lease-2thr, headroom-smooth, headroom-band"
#define ACTUATORS "sim, nvml, rapl"

/* Every server of the tree with children (the agent's lease system keeps
 * the whole tree) draws base_w of its own (hr_lease_sys_set_overhead). */
static int set_server_base(const hr_tree_t *tree, hr_agent_t *agent, double base_w)
{
  size_t n = hr_tree_count(tree), cnt = 0;
  size_t *nodes = malloc((n ? n : 1) * sizeof *nodes);
  double *w = malloc((n ? n : 1) * sizeof *w);
  int rc = HR_ERR_NOMEM;
  if (nodes && w) {
    for (size_t k = 0; k < n; k++) {
      const hr_tree_node_t *x = hr_tree_node(tree, k);
      if (x->kind == HR_NODE_SERVER && x->n_children > 0) {
        nodes[cnt] = k;
        w[cnt++] = base_w;
      }
    }
    rc = hr_lease_sys_set_overhead(hr_agent_lease_sys(agent), nodes, w, cnt, 0);
  }
  free(nodes);
  free(w);
  return rc;
}

int cmd_agent(int argc, char **argv)
{
  const char *tree_path = NULL, *node_id = NULL, *meter_id = NULL, *input = NULL;
  const char *act_kind = "sim", *policy = "headroom", *fmt = "f32le", *layout_s = "3p4w";
  double fs = 8000, f_nom = 60, u_din = 230, budget_pf = 1.0, settle_ms = 0.0;
  double budget_eff = 1.0, budget_eff_ramp = 0.0, server_base_w = 0.0, base_per_w = 0.0;
  double budget_eff_marg_max = 0.0, tel_window_ms = 0.0;
  int skip_cols = 0;
  int json = 0; /* the output is JSON Lines already */
  const cli_opt_t opts[] = {
      {.name = "--json",
       .kind = CLI_FLAG,
       .dst = &json,
       .help = "JSON Lines (the only output format; accepted for uniformity)"},
      {.kind = CLI_SECTION, .help = "control"},
      {.name = "--tree",
       .kind = CLI_STR,
       .dst = &tree_path,
       .arg = "T.yaml",
       .help = "the electrical tree (required; - reads standard input, then --input\n"
               "names the waveform file)"},
      {.name = "--node",
       .kind = CLI_STR,
       .dst = &node_id,
       .arg = "NAME",
       .help = "the node whose agent runs (required)"},
      {.name = "--actuator",
       .kind = CLI_STR,
       .dst = &act_kind,
       .arg = "A",
       .help = "sim (simulated GPUs, one per GPU below NAME), nvml or rapl\n(default sim)"},
      {.name = "--policy",
       .kind = CLI_STR,
       .dst = &policy,
       .arg = "P",
       .help = "none, static70, static60, dynamo, polca (clock locks),\npolca-power, thunderbolt, "
               "headroom, headroom-flat, lease-3band, lease-2thr,\nheadroom-smooth, headroom-band "
               "(these two need NVML power smoothing)\n(default headroom; headroom-admit "
               "exists in the simulator only)"},
      {.name = "--budget-pf",
       .kind = CLI_DBL,
       .dst = &budget_pf,
       .arg = "PF",
       .help = "the power factor the budgets assume: a limit of I amperes allows\n"
               "U x I x PF watts, and a power P without a metered current counts as\n"
               "P / PF volt-amperes; 0.1..1 (default 1: state the supplies' lowest)",
       CLI_RANGE(0.1, 1)},
      {.name = "--budget-eff",
       .kind = CLI_DBL,
       .dst = &budget_eff,
       .arg = "E",
       .help = "the efficiency of the supplies between the GPUs and every node above\n"
               "them: such a node's limits allow its GPUs E x what its conductors carry;\n"
               "0.5..1 (default 1: state the supplies' lowest)",
       CLI_RANGE(0.5, 1)},
      {.name = "--budget-eff-ramp",
       .kind = CLI_DBL,
       .dst = &budget_eff_ramp,
       .arg = "E",
       .help = "the supplies' lowest marginal efficiency (output gained per watt of\n"
               "input), which the ramp limits' envelopes read: where the efficiency\n"
               "falls with load it is below the lowest efficiency; 0.1..1, or 0\n"
               "(default): --budget-eff",
       CLI_RANGE(0, 1)},
      {.name = "--budget-eff-marg-max",
       .kind = CLI_DBL,
       .dst = &budget_eff_marg_max,
       .arg = "E",
       .help = "the supplies' highest marginal efficiency (the most output a watt of\n"
               "input buys; above 1 where the efficiency climbs steeply at light\n"
               "load), which turns a meter's trough at NAME into the GPUs' watts for\n"
               "the ramp limits' envelopes; --budget-eff-ramp..2, or 0 (default):\n"
               "--budget-eff",
       CLI_RANGE(0, 2)},
      {.name = "--server-base-w",
       .kind = CLI_DBL,
       .dst = &server_base_w,
       .arg = "W",
       .help = "every server's base load (CPUs, memory, fans; no cap controls it),\n"
               "kept off the budgets of the nodes above it; 0..1e7 (default 0)",
       CLI_RANGE(0, 1e7)},
      {.name = "--base-per-w",
       .kind = CLI_DBL,
       .dst = &base_per_w,
       .arg = "R",
       .help = "watts of base load that rise with each watt of the GPUs' power (CPUs\n"
               "and fans that follow them: a server's base at its busiest less at\n"
               "idle, over its GPUs' highest power), which the ramp limits' envelopes\n"
               "read; 0..1e6 (default 0)",
       CLI_RANGE(0, 1e6)},
      {.name = "--telemetry-window-ms",
       .kind = CLI_DBL,
       .dst = &tel_window_ms,
       .arg = "MS",
       .help = "the GPUs' readings are their mean power over this window before the\n"
               "reading's time (25 on an H100); a meter at NAME is compared with them\n"
               "over the same windows; 0..the stale time (default 0: the power at\n"
               "the reading's time)",
       CLI_RANGE(0, 1e6)},
      {.name = "--settle-ms",
       .kind = CLI_DBL,
       .dst = &settle_ms,
       .arg = "MS",
       .help = "lease policies: a GPU reading taken less than MS after its cap's\n"
               "last rise cannot show it (actuation delay plus the telemetry's\n"
               "averaging window: about 30 on an H100 sampled every 100 ms);\n"
               "the GPU keeps its cap until a later one (default 0)",
       CLI_RANGE(0, 3600000)},
      {.name = "--meter-node",
       .kind = CLI_STR,
       .dst = &meter_id,
       .arg = "ID",
       .help = "the node the meter measures (default NAME)"},
      {.kind = CLI_SECTION, .help = "input"},
      {.name = "--input",
       .kind = CLI_STR,
       .dst = &input,
       .arg = "FILE",
       .help = "waveform file (- or absent: standard input)"},
      {.name = "--format",
       .kind = CLI_STR,
       .dst = &fmt,
       .arg = "f32le|i16le|csv",
       .help = "sample encoding (default f32le)"},
      {.name = "--csv-skip-columns",
       .kind = CLI_INT,
       .dst = &skip_cols,
       .arg = "N",
       .help = "leading CSV columns to ignore (default 0)",
       CLI_RANGE(0, HR_READER_MAX_SKIP_COLUMNS)},
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
       .help = "declared voltage (default 230)"},
      {.name = "--layout",
       .kind = CLI_STR,
       .dst = &layout_s,
       .arg = "1p2w|3p3w|3p4w",
       .help = "channel layout (default 3p4w)"},
  };
  const cli_spec_t spec = {
      .prog = "headroom agent",
      .usage = "--tree T.yaml --node NAME [options] [--input FILE|-]",
      .about = "Runs the control agent of node NAME: the meter's waveform stream in (standard\n"
               "input by default), one JSON line per cap set out.",
      .epilog = "With --actuator sim the node's measured power is spread evenly over its\n"
                "simulated GPUs as their demand.  Exit status: 0 at the end of the input, 1 on\n"
                "a run-time failure, 2 for bad usage, 128 + N after a stop on signal N.",
      .opts = opts,
      .n_opts = (int)(sizeof opts / sizeof opts[0]),
      .max_operands = 0,
  };
  int prc = cli_parse(&spec, argc, argv, NULL, NULL);
  if (prc != CLI_GO_ON)
    return prc;
  if (!tree_path)
    return cli_bad(&spec, "--tree", "required: the electrical tree");
  if (!node_id)
    return cli_bad(&spec, "--node", "required: the node whose agent runs");
  /* One standard input: the waveform stream, unless --input names a file. */
  if (cli_is_stdio(tree_path) && (!input || cli_is_stdio(input)))
    return cli_bad(&spec, "--tree", "standard input carries the waveform; name it with --input");
  hr_agent_cfg_t acfg;
  /* Admission shaping acts on the simulator's serving replicas (docs/sim.md),
   * not through an actuator. */
  if (strcmp(policy, "headroom-admit") == 0)
    return cli_bad(&spec, "--policy", "'%s' exists in the simulator only (headroom sim)", policy);
  if (hr_sim_policy_cfg(policy, &acfg) != HR_OK)
    return cli_bad(&spec, "--policy", "unknown policy '%s' (one of " POLICIES ")", policy);
  if (budget_eff_ramp > 0.0 && budget_eff_ramp < 0.1)
    return cli_bad(&spec, "--budget-eff-ramp", "%g is outside 0.1..1 (0: --budget-eff)",
                   budget_eff_ramp);
  acfg.lease.budget.pf = budget_pf;
  acfg.lease.budget.eff = budget_eff;
  acfg.lease.budget.eff_ramp = budget_eff_ramp;
  acfg.lease.budget.base_per_w = base_per_w;
  acfg.lease.budget.eff_marg_max = budget_eff_marg_max;
  acfg.settle_ns = (int64_t)llround(settle_ms * 1e6);
  acfg.tel_window_ns = (int64_t)llround(tel_window_ms * 1e6);
  {
    const double lo = budget_eff_ramp > 0.0 ? budget_eff_ramp : budget_eff;
    if (budget_eff_marg_max > 0.0 && budget_eff_marg_max < lo)
      return cli_bad(&spec, "--budget-eff-marg-max",
                     "%g is below the lowest marginal efficiency, %g (0: --budget-eff)",
                     budget_eff_marg_max, lo);
    if (acfg.tel_window_ns > acfg.stale_ns)
      return cli_bad(&spec, "--telemetry-window-ms",
                     "%g ms is longer than the time after which a reading is stale (%g ms)",
                     tel_window_ms, (double)acfg.stale_ns * 1e-6);
  }
  if (strcmp(act_kind, "sim") && strcmp(act_kind, "nvml") && strcmp(act_kind, "rapl"))
    return cli_bad(&spec, "--actuator", "unknown actuator '%s' (one of " ACTUATORS ")", act_kind);
  hr_layout_t layout;
  hr_sample_format_t sfmt;
  if (hr_layout_parse(layout_s, &layout) != HR_OK)
    return cli_bad(&spec, "--layout", "unknown layout '%s' (one of 1p2w, 3p3w, 3p4w)", layout_s);
  if (hr_sample_format_parse(fmt, &sfmt) != HR_OK)
    return cli_bad(&spec, "--format", "unknown format '%s' (one of f32le, i16le, csv)", fmt);
  /* The meter's settings are checked before the tree is read, so a refusal
   * is bad usage (2) naming the option, as headroom meter gives it. */
  hr_meter_cfg_t mc;
  hr_meter_cfg_init(&mc, fs, f_nom, u_din, layout);
  mc.records = HR_RECMASK(HR_REC_MS) | HR_RECMASK(HR_REC_HALF);
  hr_diag_t mwhy;
  if (hr_meter_cfg_check(&mc, &mwhy) != HR_OK) {
    char text[HR_DIAG_FIELD_BYTES + HR_DIAG_MSG_BYTES + 8];
    hr_diag_format(&mwhy, text, sizeof text);
    return cli_bad(&spec, cli_meter_option(mwhy.field), "%s", text);
  }
  hr_tree_t *tree = NULL;
  if (cli_load_tree("headroom agent", tree_path, &tree) != 0)
    return 2;
  int status = 2;
  hr_actuator_t *act = NULL;
  hr_agent_t *agent = NULL;
  hr_meter_t *meter = NULL;
  hr_reader_t *rd = NULL;
  FILE *in = NULL;
  float *frames = NULL;
  ctx_t c = {0};
  size_t node, mnode;
  if (hr_tree_find(tree, node_id, &node) != HR_OK) {
    fprintf(stderr, "headroom agent: %s: no node '%s'\n", tree_path, node_id);
    goto out;
  }
  if (hr_tree_find(tree, meter_id ? meter_id : node_id, &mnode) != HR_OK) {
    fprintf(stderr, "headroom agent: %s: no node '%s'\n", tree_path, meter_id);
    goto out;
  }
  /* Count the GPUs below the node for the simulated actuator. */
  size_t n = hr_tree_count(tree), n_leaves = 0;
  const hr_tree_node_t *nd = hr_tree_nodes(tree);
  unsigned char *mark = calloc(n, 1);
  if (!mark) {
    status = 1;
    goto out;
  }
  for (size_t k = 0; k < n; k++) {
    mark[k] = k == node || (nd[k].parent >= 0 && mark[nd[k].parent]) ||
              (nd[k].parent_b >= 0 && mark[nd[k].parent_b]);
    if (mark[k] && nd[k].n_children == 0)
      n_leaves++;
  }
  free(mark);
  hr_diag_t why = {0};
  int rc;
  if (!strcmp(act_kind, "sim")) {
    hr_simgpu_cfg_t g;
    hr_simgpu_cfg_init(&g, n_leaves ? (int)n_leaves : 1);
    rc = hr_simgpu_create(&g, &act);
    c.sim_act = 1;
  } else if (!strcmp(act_kind, "nvml")) {
    rc = hr_nvml_open(NULL, &act, &why);
  } else {
    rc = hr_rapl_open(NULL, &act, &why);
  }
  if (rc != HR_OK) {
    /* No actuator: the agent still measures and decides, but sets nothing.
     * The diag's source ("nvml", the powercap root) names what was tried;
     * the simulator fills none, and an empty diag formats as its code. */
    char text[HR_DIAG_SOURCE_BYTES + HR_DIAG_MSG_BYTES + 8];
    if (!why.code)
      why.code = rc;
    hr_diag_format(&why, text, sizeof text);
    fprintf(stderr, "headroom agent: %s actuator unavailable (%s); measuring only\n", act_kind,
            text);
    act = NULL;
    hr_sim_policy_cfg("none", &acfg);
    acfg.lease.budget.pf = budget_pf;
    acfg.lease.budget.eff = budget_eff;
    acfg.lease.budget.eff_ramp = budget_eff_ramp;
    acfg.lease.budget.base_per_w = base_per_w;
    acfg.lease.budget.eff_marg_max = budget_eff_marg_max;
    acfg.tel_window_ns = (int64_t)llround(tel_window_ms * 1e6);
  }
  hr_clock_t clk;
  hr_clock_manual(&clk, &c.t_ns);
  rc = hr_agent_create(tree, node, act, &clk, NULL, &acfg, &agent);
  if (rc != HR_OK) {
    fprintf(stderr, "headroom agent: cannot start the agent of '%s': %s\n", node_id,
            hr_strerror(rc));
    goto out;
  }
  if (server_base_w > 0.0) {
    rc = set_server_base(tree, agent, server_base_w);
    if (rc != HR_OK) {
      if (rc == HR_ERR_RANGE)
        fprintf(stderr,
                "headroom agent: --server-base-w: a base load of %g W a server leaves the GPUs' "
                "lowest caps no room under some limit\n",
                server_base_w);
      else
        fprintf(stderr, "headroom agent: --server-base-w: %s\n", hr_strerror(rc));
      status = 2;
      goto out;
    }
  }
  if (act && !c.sim_act)
    hr_agent_set_read_actuator(agent, 1);
  c.agent = agent;
  c.act = act;
  c.meter_node = mnode;
  c.tree = tree;
  c.n_leaves = hr_agent_leaf_count(agent);
  c.t_ns = INT64_MIN;
  if (c.sim_act)
    hr_agent_set_read_actuator(agent, 1);
  hr_agent_set_callback(agent, on_decision, &c);

  if (hr_meter_create(&mc, &meter) != HR_OK) {
    status = 1;
    goto out;
  }
  hr_meter_set_callback(meter, on_record, &c);
  hr_reader_cfg_t rcfg;
  int n_ch = hr_meter_frame_len(meter);
  hr_reader_cfg_init(&rcfg, sfmt, n_ch);
  rcfg.csv_skip_columns = skip_cols;
  rcfg.name = (!input || !strcmp(input, "-")) ? "stdin" : input;
  if (hr_reader_create(&rcfg, &rd) != HR_OK) {
    fprintf(stderr, "headroom agent: bad reader settings\n");
    goto out;
  }
  in = (!input || !strcmp(input, "-")) ? stdin : fopen(input, "rb");
  if (!in) {
    fprintf(stderr, "headroom agent: cannot open %s: %s\n", input, strerror(errno));
    status = 1;
    goto out;
  }
  enum { CHUNK = 1 << 16 };
  static unsigned char buf[CHUNK];
  size_t max_frames = CHUNK + 1024;
  frames = malloc(max_frames * (size_t)n_ch * sizeof *frames);
  if (!frames) {
    status = 1;
    goto out;
  }
  status = 0;
  /* From here a stop signal ends the stream as the end of the input does,
   * between blocks: the decisions so far leave as whole lines. */
  const int fd = fileno(in);
  int signo = 0;
  cli_stop_catch(1);
  for (;;) {
    int w = cli_wait_readable(fd);
    if (w > 0) {
      signo = w;
      break;
    }
    ssize_t n_read = w < 0 ? -1 : read(fd, buf, sizeof buf);
    if (n_read < 0) {
      if (errno == EINTR)
        continue;
      fprintf(stderr, "headroom agent: %s: read failed: %s\n", rcfg.name, strerror(errno));
      status = 1;
      break;
    }
    size_t got = (size_t)n_read, off = 0;
    rc = HR_OK;
    do {
      size_t nf = 0, used = 0;
      rc = got ? hr_reader_push(rd, buf + off, got - off, frames, max_frames, &nf, &used)
               : hr_reader_finish(rd, frames, max_frames, &nf);
      off += used;
      if (nf && hr_meter_push(meter, frames, nf, NULL) != HR_OK)
        status = 1;
    } while (rc == HR_OK && off < got);
    if (rc != HR_OK) {
      /* "capture.csv:12:3: 'abc' is not a number": file, place, why. */
      hr_diag_t rwhy;
      char text[HR_DIAG_SOURCE_BYTES + HR_DIAG_MSG_BYTES + 64];
      hr_reader_diag(rd, &rwhy);
      hr_diag_format(&rwhy, text, sizeof text);
      fprintf(stderr, "headroom agent: %s\n", text);
      status = 1;
      break;
    }
    if (c.rc != HR_OK) {
      fprintf(stderr, "headroom agent: the agent stopped: %s\n", hr_strerror(c.rc));
      status = 1;
      break;
    }
    if (!got)
      break;
  }
  if (!signo)
    signo = cli_stop_requested(); /* came with the end of the input */
  hr_meter_finish(meter);
  hr_agent_stats_t st;
  hr_agent_stats(agent, &st);
  fprintf(stderr,
          "headroom agent: %llu steps, %llu decisions, %llu caps set (%llu refused), lease "
          "clamps %llu; software latency p50 %.4f ms, p99 %.4f ms, max %.4f ms\n",
          (unsigned long long)st.steps, (unsigned long long)st.decisions,
          (unsigned long long)st.caps_set, (unsigned long long)st.cap_errors,
          (unsigned long long)st.lease_clamps, st.lat_p50_s * 1e3, st.lat_p99_s * 1e3,
          st.lat_max_s * 1e3);
  if (st.smooth_errors > 0)
    fprintf(stderr,
            "headroom agent: %llu of %llu GPUs refused the power-smoothing profile (%s; the "
            "first: %s): they ran without smoothing\n",
            (unsigned long long)st.smooth_errors, (unsigned long long)st.smooth_sets,
            hr_err_name(st.last_smooth_err), hr_agent_smoothing_error(agent));
  if (st.floor_errors > 0)
    fprintf(stderr,
            "headroom agent: %llu of %llu power-smoothing floor calls refused (%s): the band "
            "controller needs NVML power smoothing (Blackwell, driver r570 or later)\n",
            (unsigned long long)st.floor_errors, (unsigned long long)st.floor_sets,
            hr_err_name(st.last_floor_err));
  if (c.out_err) {
    fprintf(stderr, "headroom agent: standard output: writing decisions failed: %s\n",
            strerror(c.out_err));
    cli_stdout_reported();
    status = 1;
  } else if (cli_flush_stdout("headroom agent") != 0) {
    status = 1;
  }
  if (signo) {
    fprintf(stderr, "headroom agent: stopped by signal %d\n", signo);
    if (status == 0)
      status = cli_stop_status(signo);
  }
out:
  if (in && in != stdin)
    fclose(in);
  free(frames);
  hr_reader_destroy(rd);
  hr_meter_destroy(meter);
  hr_agent_destroy(agent);
  hr_actuator_destroy(act);
  hr_tree_destroy(tree);
  return status;
}
