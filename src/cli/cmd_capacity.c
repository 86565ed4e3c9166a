/* headroom capacity: the capacity search (docs/sim.md "Capacity search").
 *
 *   headroom capacity SCENARIO.yaml [--policy P[,P...]] [--report DIR] [options]
 *
 * For every policy: the largest GPU count the scenario's tree hosts with no
 * trip and at most --max-loss-pct throughput loss, against static derating's
 * count (nameplate planning at --derate of every rated node's capacity). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cli_util.h"
#include "headroom/sim.h"

#define ALL_POLICIES "none,static70,static60,dynamo,polca,thunderbolt,headroom,headroom-flat"

typedef struct prog {
  const char *policy;
  int quiet;
  FILE *trials; /* trials.csv, or NULL */
  const char *scen;
  const hr_scenario_t *sc;
  int err;
} prog_t;

/* The failed criteria as "trip+ramp" ("-" when none). */
static void fail_names(unsigned fail, char *out, size_t len)
{
  static const char *name[] = {"trip",        "sustain", "loss", "ramp", "osc",
                               "contingency", "capped",  "slo",  "over", "refused"};
  size_t n = 0;
  out[0] = '\0';
  for (unsigned b = 0; b < sizeof name / sizeof name[0]; b++)
    if (fail & (1u << b))
      n += (size_t)snprintf(out + n, n < len ? len - n : 0, "%s%s", n ? "+" : "", name[b]);
  if (!out[0])
    snprintf(out, len, "-");
}

/* A contingency in words, for trials.csv and the report: its kind and what
 * sets it apart ("feed_loss b at 30 s"). */
static void cont_label(const hr_sim_event_t *e, char *out, size_t len)
{
  switch (e->kind) {
  case HR_SIM_FEED_LOSS:
    snprintf(out, len, "feed_loss %s at %g s", e->feed == HR_FEED_B ? "b" : "a", e->at_s);
    break;
  case HR_SIM_UTILITY_OUTAGE:
    snprintf(out, len, "utility_outage %g kW %g kW/s at %g s", e->gen_kw, e->ramp_kw_per_s,
             e->at_s);
    break;
  case HR_SIM_TELEMETRY_LOSS:
    snprintf(out, len, "telemetry_loss at %g s", e->at_s);
    break;
  case HR_SIM_COORD_CRASH:
    snprintf(out, len, "coordinator_crash %s at %g s", e->node, e->at_s);
    break;
  case HR_SIM_METER_FREEZE:
    snprintf(out, len, "meter_freeze %s at %g s", e->node[0] ? e->node : "all", e->at_s);
    break;
  case HR_SIM_METER_GARBAGE:
    snprintf(out, len, "meter_garbage %s at %g s", e->node[0] ? e->node : "all", e->at_s);
    break;
  default:
    snprintf(out, len, "event %d at %g s", (int)e->kind, e->at_s);
  }
}

static int on_trial(void *user, const hr_sim_trial_t *t)
{
  prog_t *p = user;
  char why[64], cont[160] = "-";
  fail_names(t->fail, why, sizeof why);
  if (t->cont_failed >= 0 && (size_t)t->cont_failed < p->sc->n_contingencies)
    cont_label(&p->sc->contingencies[t->cont_failed], cont, sizeof cont);
  if (!p->quiet)
    fprintf(stderr,
            "capacity: %s: %d GPUs: trips %u, work %.4f, thermal %.3f, sustained %.3f, ramp "
            "%.3f s (rises %.3f, falls %.3f), osc %.3f s, capped %.4f, TTFT/TBT p99 %.3g/%.3g "
            "s, contingencies run %d (%.0f s, trips %u, sustained at the end %.3f) -> %s%s "
            "(%.1f s)\n",
            p->policy, t->gpus, t->trips, t->work_frac, t->max_thermal, t->max_sustain,
            t->ramp_viol_s, t->ramp_up_s, t->ramp_down_s, t->osc_viol_s, t->capped_frac,
            t->ttft_p99_s, t->tbt_p99_s, t->cont_run, t->cont_t_s, t->cont_trips,
            t->cont_end_sustain, t->ok ? "ok" : "fails: ", t->ok ? "" : why, t->wall_s);
  if (!p->quiet && t->cont_failed >= 0)
    fprintf(stderr, "capacity:   contingency failed: %s\n", cont);
  if (p->trials &&
      fprintf(p->trials,
              "%s,%s,%d,%u,%.6f,%.5f,%d,%.3f,%.5f,%.4f,%.4f,%.4f,%.4f,%s,%d,\"%s\",%u,%.5f,%.6f,"
              "%.6f,%.6g,%.6g,%.3f,%.5f,%.1f\n",
              p->scen, p->policy, t->gpus, t->trips, t->work_frac, t->max_thermal, t->ok, t->wall_s,
              t->max_sustain, t->ramp_viol_s, t->ramp_up_s, t->ramp_down_s, t->osc_viol_s, why,
              t->cont_run, cont, t->cont_trips, t->cont_max_sustain, t->cont_work_frac,
              t->capped_frac, t->ttft_p99_s, t->tbt_p99_s, t->over_cont_s, t->cont_end_sustain,
              t->cont_t_s) < 0)
    p->err = 1;
  return cli_stop_requested();
}

/* A stop signal also ends the trial in progress (hr_sim_search_cfg_t.poll_stop):
 * a trial can run for minutes. */
static int poll_stop(void *user)
{
  (void)user;
  return cli_stop_requested();
}

/* The number of leaves that share the first leaf's parent: a server's GPUs. */
static int server_size(const hr_tree_t *tree)
{
  size_t n = hr_tree_count(tree);
  for (size_t k = 0; k < n; k++) {
    const hr_tree_node_t *x = hr_tree_node(tree, k);
    if (x->n_children != 0 || x->parent < 0)
      continue;
    size_t nc = 0, leaves = 0;
    const int32_t *ch = hr_tree_children(tree, (size_t)x->parent, &nc);
    for (size_t c = 0; c < nc; c++)
      leaves += hr_tree_node(tree, (size_t)ch[c])->n_children == 0;
    return leaves ? (int)leaves : 1;
  }
  return 1;
}

int cmd_capacity(int argc, char **argv)
{
  const char *policies = ALL_POLICIES, *dir = NULL, *populate = "spread";
  const char *contingency = NULL;
  double max_loss_pct = 1.0, derate = 0.70, duration_s = 0.0;
  double max_ramp_viol_s = HR_SIM_GRID_TOL_S, max_osc_viol_s = HR_SIM_GRID_TOL_S;
  double max_capped_pct = 100.0, max_ttft_p99_s = 0.0, max_tbt_p99_ms = 0.0; /* 0: not judged */
  double max_over_cont_s = -1.0;                                             /* < 0: not judged */
  double cont_settle = 3.0, cont_max_s = 0.0;
  int step = 0, lo = 0, hi = -1, quiet = 0, json = 0, no_grid = 0, rises_only = 0, no_cont = 0;
  int slo_high = 0, scan = 0;
  const cli_opt_t opts[] = {
      {.name = "--policy",
       .kind = CLI_STR,
       .dst = &policies,
       .arg = "P[,P...]",
       .help = "policies to search, any of headroom sim's (default: " ALL_POLICIES ")"},
      {.name = "--report",
       .kind = CLI_STR,
       .dst = &dir,
       .arg = "DIR",
       .help = "write DIR/capacity.md, capacity.csv and trials.csv (made if missing)"},
      {.name = "--max-loss-pct",
       .kind = CLI_DBL,
       .dst = &max_loss_pct,
       .arg = "X",
       .help = "largest throughput loss accepted, % of uncapped (default 1)",
       CLI_RANGE(0, 99)},
      {.name = "--derate",
       .kind = CLI_DBL,
       .dst = &derate,
       .arg = "F",
       .help = "static derating's fraction of every rated node's capacity (default 0.7)",
       CLI_RANGE_GT(0, 1)},
      {.name = "--step",
       .kind = CLI_INT,
       .dst = &step,
       .arg = "N",
       .help = "GPU counts tried are multiples of N (default: one server's GPUs)",
       CLI_RANGE(1, 1 << 24)},
      {.name = "--lo",
       .kind = CLI_INT,
       .dst = &lo,
       .arg = "N",
       .help = "smallest count tried (default: --step)",
       CLI_RANGE(1, 1 << 24)},
      {.name = "--hi",
       .kind = CLI_INT,
       .dst = &hi,
       .arg = "N",
       .help = "largest count tried (default: every GPU slot of the tree)",
       CLI_RANGE(1, 1 << 24)},
      {.name = "--populate",
       .kind = CLI_STR,
       .dst = &populate,
       .arg = "ORDER",
       .help = "spread (default: servers round robin over racks) or tree (rack by rack)"},
      {.name = "--duration",
       .kind = CLI_DBL,
       .dst = &duration_s,
       .arg = "S",
       .help = "simulate S seconds instead of the scenario's duration_s",
       CLI_RANGE_GT(0, 30 * 86400.0)},
      {.name = "--contingency",
       .kind = CLI_STR,
       .dst = &contingency,
       .arg = "FILE[,FILE...]",
       .help = "contingency files (version: 1, contingencies: [events]): every count must also "
               "survive each one injected alone (no trip, no sustained overload)"},
      {.name = "--cont-settle",
       .kind = CLI_DBL,
       .dst = &cont_settle,
       .arg = "K",
       .help = "run a contingency lasting past the scenario's end K long-time constants after "
               "it starts and judge the load it settles at (default 3; 0: the scenario's "
               "duration, judged on its heaviest minute)",
       CLI_RANGE(0, 100)},
      {.name = "--cont-max-s",
       .kind = CLI_DBL,
       .dst = &cont_max_s,
       .arg = "S",
       .help = "bound a contingency run's length to S seconds (never below the scenario's "
               "duration; default: no bound)",
       CLI_RANGE_GT(0, 30 * 86400.0)},
      {.name = "--scan",
       .kind = CLI_FLAG,
       .dst = &scan,
       .help = "try every count instead of bisecting: the answer is the largest count with every "
               "count at or below it passing; larger passing counts and a non-monotone pattern "
               "are reported"},
      {.name = "--no-contingencies",
       .kind = CLI_FLAG,
       .dst = &no_cont,
       .help = "leave out the scenario's contingencies (--contingency files still count)"},
      {.name = "--no-grid-limits",
       .kind = CLI_FLAG,
       .dst = &no_grid,
       .help = "judge trips, sustained load and work only (the search before the grid criterion)"},
      {.name = "--max-ramp-viol-s",
       .kind = CLI_DBL,
       .dst = &max_ramp_viol_s,
       .arg = "S",
       .help = "most time over the site's grid ramp limit a count may show (default 0.1)",
       CLI_RANGE(0, 1e9)},
      {.name = "--max-osc-viol-s",
       .kind = CLI_DBL,
       .dst = &max_osc_viol_s,
       .arg = "S",
       .help = "most time over any grid oscillation-band limit a count may show (default 0.1)",
       CLI_RANGE(0, 1e9)},
      {.name = "--ramp-rises-only",
       .kind = CLI_FLAG,
       .dst = &rises_only,
       .help = "count only rises against the ramp tolerance (falls still reported), every policy "
               "alike"},
      {.name = "--max-capped-pct",
       .kind = CLI_DBL,
       .dst = &max_capped_pct,
       .arg = "X",
       .help = "most of the run, %, that any GPU may run capped below its demand (Dynamo's "
               "criterion; default 100: not judged)",
       CLI_RANGE(0, 100)},
      {.name = "--max-ttft-p99-s",
       .kind = CLI_DBL,
       .dst = &max_ttft_p99_s,
       .arg = "S",
       .help = "inference SLO: time to first token met by 99 % of requests (POLCA's kind of "
               "criterion; default: not judged)",
       CLI_RANGE_GT(0, 1e9)},
      {.name = "--slo-high-priority",
       .kind = CLI_FLAG,
       .dst = &slo_high,
       .help = "the inference SLO judges the high-priority workloads' requests only (priority >= "
               "1; POLCA protects those)"},
      {.name = "--max-tbt-p99-ms",
       .kind = CLI_DBL,
       .dst = &max_tbt_p99_ms,
       .arg = "MS",
       .help = "inference SLO: time between tokens met by 99 % of tokens (default: not judged)",
       CLI_RANGE_GT(0, 1e9)},
      {.name = "--max-over-cont-s",
       .kind = CLI_DBL,
       .dst = &max_over_cont_s,
       .arg = "S",
       .help = "most time any node may spend above its continuous limit (provisioned power as a "
               "hard limit; default: not judged)",
       CLI_RANGE(0, 1e9)},
      {.name = "--quiet", .kind = CLI_FLAG, .dst = &quiet, .help = "no line per trial on stderr"},
      {.name = "--json",
       .kind = CLI_FLAG,
       .dst = &json,
       .help = "one JSON object per policy on standard output"},
  };
  const cli_spec_t spec = {
      .prog = "headroom capacity",
      .usage = "SCENARIO.yaml [options]",
      .about = "Capacity search: for each policy, the largest number of GPUs the scenario's tree\n"
               "hosts with no trip, no sustained overload, at most --max-loss-pct throughput\n"
               "loss and within the site's grid ramp and oscillation limits (bisection over the\n"
               "count, or every count with --scan; every workload keeps its share of the GPUs),\n"
               "surviving each contingency\n"
               "of the scenario and of --contingency, and how many more that is than static\n"
               "derating's count (nameplate at --derate of every rated node).",
      .epilog = "Exit status: 0 when every search completed, 1 on a run-time failure, 2 for bad\n"
                "usage or a malformed scenario, 128 + N after a stop on signal N.",
      .opts = opts,
      .n_opts = (int)(sizeof opts / sizeof opts[0]),
      .max_operands = 1,
  };
  const char *operands[1];
  int n_operands = 0;
  int prc = cli_parse(&spec, argc, argv, operands, &n_operands);
  if (prc != CLI_GO_ON)
    return prc;
  if (n_operands == 0)
    return cli_bad(&spec, NULL, "no scenario given (see headroom capacity --help)");
  hr_populate_t pop;
  if (!strcmp(populate, "spread"))
    pop = HR_POP_SPREAD;
  else if (!strcmp(populate, "tree"))
    pop = HR_POP_TREE;
  else
    return cli_bad(&spec, "--populate", "expected spread or tree, not '%s'", populate);
  /* Check every policy name before the first (long) search starts. */
  char names[512];
  if (strlen(policies) >= sizeof names)
    return cli_bad(&spec, "--policy", "list too long");
  snprintf(names, sizeof names, "%s", policies);
  const char *pol[32];
  int n_pol = 0;
  for (char *save = NULL, *t = strtok_r(names, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    hr_agent_cfg_t probe;
    if (hr_sim_policy_cfg(t, &probe) != HR_OK)
      return cli_bad(&spec, "--policy", "unknown policy '%s' (one of " CLI_SIM_POLICIES ")", t);
    if (n_pol == (int)(sizeof pol / sizeof pol[0]))
      return cli_bad(&spec, "--policy", "at most %d policies", (int)(sizeof pol / sizeof pol[0]));
    pol[n_pol++] = t;
  }
  if (n_pol == 0)
    return cli_bad(&spec, "--policy", "no policy given");

  const char *scen = operands[0];
  hr_scenario_t sc;
  hr_diag_t err;
  char msg[1024];
  if (hr_scenario_load_file(scen, &sc, &err) != HR_OK) {
    hr_diag_format(&err, msg, sizeof msg);
    fprintf(stderr, "headroom capacity: %s\n", msg);
    return 2;
  }
  sc.populate = pop;
  if (duration_s > 0)
    sc.duration_s = duration_s;
  if (no_cont) {
    free(sc.contingencies);
    sc.contingencies = NULL;
    sc.n_contingencies = 0;
  }
  if (contingency) {
    char files[4096];
    if (strlen(contingency) >= sizeof files) {
      hr_scenario_free(&sc);
      return cli_bad(&spec, "--contingency", "list too long");
    }
    snprintf(files, sizeof files, "%s", contingency);
    for (char *save = NULL, *f = strtok_r(files, ",", &save); f; f = strtok_r(NULL, ",", &save))
      if (hr_scenario_add_contingencies_file(&sc, f, &err) != HR_OK) {
        hr_diag_format(&err, msg, sizeof msg);
        fprintf(stderr, "headroom capacity: %s\n", msg);
        hr_scenario_free(&sc);
        return 2;
      }
  }
  hr_tree_t *tree = NULL;
  if (hr_tree_load_file(sc.tree_path, &tree, &err) != HR_OK) {
    hr_diag_format(&err, msg, sizeof msg);
    fprintf(stderr, "headroom capacity: %s\n", msg);
    hr_scenario_free(&sc);
    return 2;
  }
  int status = 0;
  FILE *csv = NULL, *md = NULL;
  prog_t pg = {.quiet = quiet || !isatty(2), .scen = sc.name[0] ? sc.name : scen, .sc = &sc};
  char p_csv[1200], p_md[1200], p_tr[1200];
  if (dir) {
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
      fprintf(stderr, "headroom capacity: cannot create %s: %s\n", dir, strerror(errno));
      status = 1;
      goto done;
    }
    snprintf(p_csv, sizeof p_csv, "%s/capacity.csv", dir);
    snprintf(p_md, sizeof p_md, "%s/capacity.md", dir);
    snprintf(p_tr, sizeof p_tr, "%s/trials.csv", dir);
    csv = fopen(p_csv, "w");
    md = fopen(p_md, "w");
    pg.trials = fopen(p_tr, "w");
    if (!csv || !md || !pg.trials) {
      fprintf(stderr, "headroom capacity: cannot write in %s: %s\n", dir, strerror(errno));
      status = 1;
      goto done;
    }
    if (fprintf(pg.trials,
                "scenario,policy,gpus,trips,work_frac,max_thermal,ok,wall_s,max_sustain,"
                "ramp_viol_s,ramp_up_s,ramp_down_s,osc_viol_s,failed,cont_run,cont_failed,"
                "cont_trips,cont_max_sustain,cont_work_frac,capped_frac,ttft_p99_s,tbt_p99_s,"
                "over_cont_s,cont_end_sustain,cont_t_s\n") < 0 ||
        fprintf(csv, "scenario,policy,gpus,gpus_static,recovered_pct,bracketed,trials,"
                     "max_loss_pct,derate,duration_s,wall_s,grid_limits,max_ramp_viol_s,"
                     "max_osc_viol_s,ramp_rises_only,contingencies,max_capped_pct,"
                     "max_ttft_p99_s,max_tbt_p99_ms,max_over_cont_s,scan,gpus_max_pass,"
                     "fails_below,monotone,cont_settle_tau,cont_max_s,tau_max_s\n") < 0)
      pg.err = 1;
  }
  hr_sim_search_cfg_t scfg;
  hr_sim_search_cfg_init(&scfg);
  scfg.max_loss = max_loss_pct / 100.0;
  scfg.derate_frac = derate;
  scfg.step = step ? step : server_size(tree);
  scfg.gpus_lo = lo ? lo : scfg.step;
  scfg.gpus_hi = hi;
  scfg.on_trial = on_trial;
  scfg.user = &pg;
  scfg.poll_stop = poll_stop;
  scfg.grid_limits = !no_grid;
  scfg.ramp_rises_only = rises_only;
  scfg.slo_high_only = slo_high;
  scfg.max_ramp_viol_s = max_ramp_viol_s;
  scfg.max_osc_viol_s = max_osc_viol_s;
  scfg.max_capped_frac = max_capped_pct / 100.0;
  if (max_ttft_p99_s > 0)
    scfg.max_ttft_p99_s = max_ttft_p99_s;
  if (max_tbt_p99_ms > 0)
    scfg.max_tbt_p99_s = max_tbt_p99_ms * 1e-3;
  if (max_over_cont_s >= 0)
    scfg.max_over_cont_s = max_over_cont_s;
  scfg.scan = scan;
  scfg.cont_settle_tau = cont_settle;
  scfg.cont_max_s = cont_max_s;
  if (md &&
      fprintf(md,
              "# Capacity search: %s\n\n"
              "Tree `%s`; GPUs populated %s, in multiples of %d; a count passes with no trip, "
              "no sustained overload and at most %.2f %% throughput loss over %.1f s "
              "simulated. Static derating: every GPU at its %.0f W nameplate, every rated "
              "node loaded to at most %.0f %% of its capacity.\n\n",
              pg.scen, sc.tree_path,
              pop == HR_POP_SPREAD ? "server by server round robin over the racks"
                                   : "in tree order",
              scfg.step, max_loss_pct, sc.duration_s, sc.gpu.cap_max_w, 100.0 * derate) < 0)
    pg.err = 1;
  if (md && no_grid && fprintf(md, "Grid limits: not judged (--no-grid-limits).\n\n") < 0)
    pg.err = 1;
  if (md && !no_grid &&
      fprintf(md,
              "Grid limits: a count also fails with more than %g s over the site's ramp limit "
              "(%s) or more than %g s over an oscillation-band limit.\n\n",
              max_ramp_viol_s, rises_only ? "rises only" : "rises and falls", max_osc_viol_s) < 0)
    pg.err = 1;
  if (md && max_capped_pct < 100.0 &&
      fprintf(md,
              "Capped time: a count also fails when any GPU ran capped below its demand for "
              "more than %g %% of the run.\n\n",
              max_capped_pct) < 0)
    pg.err = 1;
  if (md && (max_ttft_p99_s > 0 || max_tbt_p99_ms > 0) &&
      fprintf(md,
              "Inference SLO: a count also fails when its TTFT p99 exceeds %g s or its TBT p99 "
              "%g ms (0: not judged)%s.\n\n",
              max_ttft_p99_s, max_tbt_p99_ms,
              slo_high ? ", over the high-priority workloads' requests only" : "") < 0)
    pg.err = 1;
  if (md && max_over_cont_s >= 0 &&
      fprintf(md,
              "Provisioned power: a count also fails when any node spends more than %g s above "
              "its continuous limit.\n\n",
              max_over_cont_s) < 0)
    pg.err = 1;
  for (size_t c = 0; md && c < sc.n_contingencies; c++) {
    char lab[160];
    cont_label(&sc.contingencies[c], lab, sizeof lab);
    if (fprintf(md, "%s%s%s",
                c ? "; "
                  : "Contingencies (each must pass with no trip and no "
                    "sustained overload; no loss or grid criterion; one lasting past the "
                    "scenario's end is run until the long-time band settles, --cont-settle): ",
                lab, c + 1 == sc.n_contingencies ? ".\n\n" : "") < 0)
      pg.err = 1;
  }
  if (md && fprintf(md, "| policy | GPUs hosted | static derating's GPUs | recovered | trials |\n"
                        "|---|---|---|---|---|\n") < 0)
    pg.err = 1;
  cli_stop_catch(0);
  for (int p = 0; p < n_pol && !cli_stop_requested(); p++) {
    hr_agent_cfg_t acfg;
    hr_sim_policy_cfg(pol[p], &acfg);
    pg.policy = pol[p];
    hr_sim_search_result_t r;
    hr_diag_t sd;
    double wall = 0;
    int rc = hr_sim_search(&sc, tree, &acfg, &scfg, &r, &sd);
    if (rc != HR_OK) {
      hr_diag_format(&sd, msg, sizeof msg);
      fprintf(stderr, "headroom capacity: %s: %s\n", pol[p], msg);
      status = rc == HR_ERR_RANGE ? 2 : 1;
      break;
    }
    for (size_t t = 0; t < r.n_trials; t++)
      wall += r.trials[t].wall_s;
    if (csv &&
        fprintf(csv,
                "%s,%s,%d,%d,%.3f,%d,%zu,%.3f,%.3f,%.3f,%.2f,%d,%g,%g,%d,%zu,%g,%g,%g,%g,%d,%d,%d,"
                "%d,%g,%g,%.1f\n",
                pg.scen, pol[p], r.gpus, r.gpus_static, 100.0 * r.recovered, r.bracketed,
                r.n_trials, max_loss_pct, derate, sc.duration_s, wall, !no_grid, max_ramp_viol_s,
                max_osc_viol_s, rises_only, sc.n_contingencies, max_capped_pct, max_ttft_p99_s,
                max_tbt_p99_ms, max_over_cont_s, scan, r.gpus_max_pass, r.n_fail_below, r.monotone,
                cont_settle, cont_max_s, r.tau_max_s) < 0)
      pg.err = 1;
    if (md && fprintf(md, "| %s | %d%s | %d | %+.1f %% | %zu |\n", pol[p], r.gpus,
                      r.bracketed ? "" : " (search stopped)", r.gpus_static, 100.0 * r.recovered,
                      r.n_trials) < 0)
      pg.err = 1;
    /* The failing counts below the largest passing one, for the note. */
    char fails[512] = "";
    size_t nf = 0;
    for (size_t t = 0; scan && t < r.n_trials && nf + 16 < sizeof fails; t++)
      if (!r.trials[t].ok && r.trials[t].gpus < r.gpus_max_pass)
        nf += (size_t)snprintf(fails + nf, sizeof fails - nf, "%s%d", nf ? ", " : "",
                               r.trials[t].gpus);
    if (scan && r.monotone == 0) {
      fprintf(stderr,
              "headroom capacity: %s: note: pass/fail is not monotone in the count: %d GPUs "
              "pass, but %d count%s below fail%s (%s); the answer is %d, the largest count "
              "with every count below it passing\n",
              pol[p], r.gpus_max_pass, r.n_fail_below, r.n_fail_below == 1 ? "" : "s",
              r.n_fail_below == 1 ? "s" : "", fails, r.gpus);
      if (md && fprintf(md,
                        "\nNote (%s): pass/fail is not monotone in the count: %d GPUs pass, "
                        "but %s fail below it; %d is the largest count with every count at or "
                        "below it passing.\n\n",
                        pol[p], r.gpus_max_pass, fails, r.gpus) < 0)
        pg.err = 1;
    }
    if (json) {
      printf("{\"scenario\":");
      cli_json_str(stdout, pg.scen);
      printf(",\"policy\":");
      cli_json_str(stdout, pol[p]);
      printf(",\"gpus\":%d,\"gpus_static\":%d,", r.gpus, r.gpus_static);
      cli_json_num(stdout, "recovered_pct", 100.0 * r.recovered, 1);
      printf("\"bracketed\":%s,\"trials\":%zu,\"wall_s\":%.2f,\"grid_limits\":%s,"
             "\"contingencies\":%zu,\"scan\":%s,\"gpus_max_pass\":%d,\"fails_below\":%d,"
             "\"monotone\":%s}\n",
             r.bracketed ? "true" : "false", r.n_trials, wall, no_grid ? "false" : "true",
             sc.n_contingencies, scan ? "true" : "false", r.gpus_max_pass, r.n_fail_below,
             r.monotone < 0 ? "null"
             : r.monotone   ? "true"
                            : "false");
    } else {
      printf("%s: %s: %d GPUs (static derating %d, %+.1f %%), %zu trials, %.1f s%s", pg.scen,
             pol[p], r.gpus, r.gpus_static, 100.0 * r.recovered, r.n_trials, wall,
             r.stopped ? " (search stopped: the count is a lower bound)" : "");
      if (scan && r.monotone == 0)
        printf("; not monotone: %d also passes, %s fail%s below it", r.gpus_max_pass, fails,
               r.n_fail_below == 1 ? "s" : "");
      printf("\n");
    }
    int stopped = r.stopped;
    hr_sim_search_result_free(&r);
    if (stopped)
      break;
  }
  if (md &&
      fprintf(md, "\nTrials (every count simulated, in order): trials.csv. %s\n",
              scan ? "Every count was tried (--scan): the answer is the largest count with every "
                     "count at or below it passing."
                   : "Bisection assumes that a count which fails makes every larger count fail; "
                     "trials.csv shows whether the runs agree (--scan tries every count).") < 0)
    pg.err = 1;
  if (pg.err)
    fprintf(stderr, "headroom capacity: write error in %s\n", dir);
done:
  if (csv && cli_close_out(csv, "headroom capacity", p_csv) != 0)
    status = 1;
  if (md && cli_close_out(md, "headroom capacity", p_md) != 0)
    status = 1;
  if (pg.trials && cli_close_out(pg.trials, "headroom capacity", p_tr) != 0)
    status = 1;
  if (pg.err && status == 0)
    status = 1;
  hr_scenario_free(&sc);
  hr_tree_destroy(tree);
  if (cli_stop_requested()) {
    fprintf(stderr,
            "headroom capacity: stopped by signal %d: the trial in progress was abandoned; "
            "the results cover the finished trials\n",
            cli_stop_requested());
    return cli_stop_status(cli_stop_requested());
  }
  if (cli_flush_stdout("headroom capacity") != 0)
    status = 1;
  return status;
}
