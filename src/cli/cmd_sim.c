/* headroom sim: runs a scenario in the closed-loop simulator with one policy
 * and writes a report (docs/sim.md, docs/cli.md).
 *
 *   headroom sim SCENARIO.yaml --policy P --report DIR [--gpus N] [--duration S] [--quiet]
 *
 * DIR receives report.md (the metrics), summary.csv (one row), nodes.csv
 * (one row per tree node) and timeseries.csv (every sample_s). */
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
#include "sim_charts.h"

typedef struct run {
  FILE *ts;
  int ts_err;
  const hr_tree_t *tree;
  double dur_s, next_prog_s;
  int quiet;
  sim_charts_t *charts; /* NULL: out of memory, no charts */
  hr_sim_t *sim;
  double t_s; /* the last sample's time */
} run_t;

static void on_sample(void *user, const hr_sim_sample_t *s)
{
  run_t *r = user;
  r->t_s = s->t_s;
  const hr_tree_node_t *hot = hr_tree_node(r->tree, s->max_thermal_node);
  if (fprintf(r->ts, "%.3f,%.1f,%.1f,%.1f,%.5f,%.5f,%s,%.1f,%u,%.1f,%.3f\n", s->t_s, s->site_p_w,
              s->caps_w, s->demand_w, s->speed, s->max_thermal, hot ? hot->id : "", s->ramp_w_per_s,
              s->trips, s->floors_w, s->over_cap_w) < 0)
    r->ts_err = 1;
  if (r->charts)
    sim_charts_add(r->charts, s);
  if (!r->quiet && s->t_s >= r->next_prog_s) {
    fprintf(stderr, "\rsim: %3.0f %% (t = %.1f s of %.1f s, trips %u)", 100.0 * s->t_s / r->dur_s,
            s->t_s, r->dur_s, s->trips);
    r->next_prog_s += r->dur_s / 20.0;
  }
  /* A stop signal ends the run at this sample: every file is then written
   * for the time simulated so far and says so (cli_stop_catch). */
  if (cli_stop_requested())
    hr_sim_request_stop(r->sim);
}

static FILE *open_out(const char *dir, const char *name, char *path, size_t len)
{
  snprintf(path, len, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  if (!f)
    fprintf(stderr, "headroom sim: cannot write %s: %s\n", path, strerror(errno));
  return f;
}

static int close_out(FILE *f, const char *path, int had_err)
{
  int bad = had_err || ferror(f);
  if (fclose(f) != 0)
    bad = 1;
  if (bad)
    fprintf(stderr, "headroom sim: write error on %s\n", path);
  return bad ? -1 : 0;
}

/* SCENARIO - reads standard input; its relative paths are then taken from
 * the current folder, as a file in it would have them. */
static int load_scenario(const char *path, hr_scenario_t *sc, hr_diag_t *err)
{
  if (!cli_is_stdio(path))
    return hr_scenario_load_file(path, sc, err);
  char *text = NULL;
  size_t len = 0;
  if (cli_read_all(path, &text, &len) != 0) {
    memset(err, 0, sizeof *err);
    err->code = HR_ERR_IO;
    snprintf(err->message, sizeof err->message, "standard input: %s", strerror(errno));
    return HR_ERR_IO;
  }
  int rc = hr_scenario_load_buffer(text, len, "stdin", ".", sc, err);
  free(text);
  return rc;
}

static double ms(double s)
{
  return s * 1e3;
}

#define POLICIES CLI_SIM_POLICIES

int cmd_sim(int argc, char **argv)
{
  const char *policy = NULL, *dir = NULL;
  int gpus = -1, quiet = 0, json = 0, waveforms = 0;
  double duration_s = 0.0;
  const cli_opt_t opts[] = {
      {.name = "--policy",
       .kind = CLI_STR,
       .dst = &policy,
       .arg = "P",
       .help = "the control policy (required): none, static70, static60,\n"
               "dynamo, polca, polca-power, thunderbolt, headroom, headroom-flat,\n"
               "headroom-smooth, headroom-band, headroom-admit, lease-3band,\n"
               "lease-2thr"},
      {.name = "--report",
       .kind = CLI_STR,
       .dst = &dir,
       .arg = "DIR",
       .help = "the report's folder (required; made if missing)"},
      {.name = "--gpus",
       .kind = CLI_INT,
       .dst = &gpus,
       .arg = "N",
       .help = "populate N GPU slots (overrides the scenario's gpus:)",
       CLI_RANGE(0, 1 << 24)},
      {.name = "--duration",
       .kind = CLI_DBL,
       .dst = &duration_s,
       .arg = "S",
       .help = "simulate S seconds instead of the scenario's duration_s",
       CLI_RANGE_GT(0, 30 * 86400.0)},
      {.name = "--quiet", .kind = CLI_FLAG, .dst = &quiet, .help = "no progress line"},
      {.name = "--waveforms",
       .kind = CLI_FLAG,
       .dst = &waveforms,
       .help = "the waveform path: the metered nodes' waveforms through the\n"
               "meter engine (as the scenario's waveforms: true)"},
      {.name = "--json",
       .kind = CLI_FLAG,
       .dst = &json,
       .help = "the closing summary as one JSON object (the columns of summary.csv)"},
  };
  const cli_spec_t spec = {
      .prog = "headroom sim",
      .usage = "SCENARIO.yaml|- --policy P --report DIR [options]",
      .about = "Runs the scenario in the closed-loop simulator with the control agent under\n"
               "policy P and writes DIR/report.md, summary.csv, nodes.csv, timeseries.csv.\n"
               "SCENARIO - reads the scenario from standard input (its tree: path relative to\n"
               "the current folder).",
      .epilog = "Exit status: 0 when the run completed (trips are reported, not an error),\n"
                "1 on a run-time failure, 2 for bad usage or a malformed scenario, 128 + N\n"
                "after a stop on signal N (SIGINT, SIGTERM, SIGHUP: the files then cover the\n"
                "run up to the stop, and report.md says so).",
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
    return cli_bad(&spec, NULL, "no scenario given (see headroom sim --help)");
  if (!policy)
    return cli_bad(&spec, "--policy", "required: one of " POLICIES);
  if (!dir)
    return cli_bad(&spec, "--report", "required: the folder for the report");
  const char *scen = operands[0];
  hr_agent_cfg_t acfg;
  if (hr_sim_policy_cfg(policy, &acfg) != HR_OK)
    return cli_bad(&spec, "--policy", "unknown policy '%s' (one of " POLICIES ")", policy);
  hr_scenario_t sc;
  hr_diag_t err;
  char msg[1024];
  if (load_scenario(scen, &sc, &err) != HR_OK) {
    hr_diag_format(&err, msg, sizeof msg);
    fprintf(stderr, "headroom sim: %s\n", msg);
    return 2;
  }
  if (gpus >= 0)
    sc.gpus = gpus;
  if (duration_s > 0)
    sc.duration_s = duration_s;
  if (waveforms)
    sc.waveforms = 1;
  hr_tree_t *tree = NULL;
  if (hr_tree_load_file(sc.tree_path, &tree, &err) != HR_OK) {
    hr_diag_format(&err, msg, sizeof msg);
    fprintf(stderr, "headroom sim: %s\n", msg);
    hr_scenario_free(&sc);
    return 2;
  }
  hr_sim_t *sim = NULL;
  hr_diag_t sd;
  int rc = hr_sim_create(&sc, tree, &acfg, &sim, &sd);
  if (rc != HR_OK) {
    /* The scenario file is the source the diagnostic stands for. */
    snprintf(sd.source, sizeof sd.source, "%s", scen);
    hr_diag_format(&sd, msg, sizeof msg);
    fprintf(stderr, "headroom sim: %s\n", msg);
    hr_scenario_free(&sc);
    hr_tree_destroy(tree);
    return 2;
  }
  if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
    fprintf(stderr, "headroom sim: cannot create %s: %s\n", dir, strerror(errno));
    hr_sim_destroy(sim);
    hr_scenario_free(&sc);
    hr_tree_destroy(tree);
    return 1;
  }
  char p_ts[1200], p_md[1200], p_sum[1200], p_nodes[1200];
  int status = 0, signo = 0;
  /* The progress line is for a person watching: only on a terminal. */
  if (!isatty(2))
    quiet = 1;
  run_t r = {NULL, 0, tree, sc.duration_s, 0.0, quiet, sim_charts_create(tree, sim), sim, 0.0};
  r.ts = open_out(dir, "timeseries.csv", p_ts, sizeof p_ts);
  if (!r.ts) {
    status = 1;
    goto done;
  }
  if (fprintf(r.ts, "t_s,site_p_w,caps_w,demand_w,speed,max_thermal,hottest,ramp_w_per_s,trips,"
                    "floors_w,over_cap_w\n") < 0)
    r.ts_err = 1;
  cli_stop_catch(0);
  rc = hr_sim_run(sim, on_sample, &r);
  signo = cli_stop_requested();
  if (!quiet)
    fprintf(stderr, "\n");
  if (close_out(r.ts, p_ts, r.ts_err) != 0)
    status = 1;
  if (rc != HR_OK) {
    fprintf(stderr, "headroom sim: the run stopped: %s\n", hr_strerror(rc));
    status = 1;
    goto done;
  }
  hr_sim_result_t res;
  hr_sim_result(sim, &res);

  FILE *f = open_out(dir, "summary.csv", p_sum, sizeof p_sum);
  if (!f) {
    status = 1;
    goto done;
  }
  int e =
      fprintf(f,
              "scenario,policy,gpus,t_s,trips,work_frac,energy_kwh,max_site_kw,ramp_viol_s,"
              "osc_viol_s,max_ramp_kw_per_s,decisions,caps_set,cap_errors,lease_clamps,"
              "lat_p50_ms,lat_p99_ms,lat_max_ms,wall_s,ttft_p50_s,ttft_p99_s,tbt_p50_ms,"
              "tbt_p99_ms,inf_requests,inf_completed,inf_tokens,gen_over_s,gen_ramp_viol_s,"
              "gen_trips,bad_readings,floor_mean_frac,floor_max_frac,floor_errors,stuck_readings\n"
              "%s,%s,%d,%.3f,%u,%.6f,%.4f,%.3f,%.3f,%.3f,%.3f,%llu,%llu,%llu,%llu,%.4f,%.4f,%."
              "4f,%.3f,%.4f,%.4f,%.3f,%.3f,%llu,%llu,%llu,%.3f,%.3f,%u,%llu,%.4f,%.4f,%llu,%llu\n",
              sc.name[0] ? sc.name : scen, policy, res.n_gpus, res.t_s, res.trips, res.work_frac,
              res.energy_j / 3.6e6, res.max_site_p_w / 1e3, res.ramp_viol_s, res.osc_viol_s,
              res.max_ramp_w_per_s / 1e3, (unsigned long long)res.agent.decisions,
              (unsigned long long)res.agent.caps_set, (unsigned long long)res.agent.cap_errors,
              (unsigned long long)res.agent.lease_clamps, ms(res.agent.lat_p50_s),
              ms(res.agent.lat_p99_s), ms(res.agent.lat_max_s), res.wall_s, res.ttft_p50_s,
              res.ttft_p99_s, ms(res.tbt_p50_s), ms(res.tbt_p99_s),
              (unsigned long long)res.inf_requests, (unsigned long long)res.inf_completed,
              (unsigned long long)res.inf_tokens, res.gen_over_s, res.gen_ramp_viol_s,
              res.gen_trips, (unsigned long long)res.agent.bad_readings, res.agent.floor_mean_frac,
              res.agent.floor_max_frac, (unsigned long long)res.agent.floor_errors,
              (unsigned long long)res.agent.stuck_readings) < 0;
  if (close_out(f, p_sum, e) != 0)
    status = 1;

  f = open_out(dir, "nodes.csv", p_nodes, sizeof p_nodes);
  if (!f) {
    status = 1;
    goto done;
  }
  e = fprintf(
          f, "node,kind,max_kw,cont_kw,over_cont_s,device,max_thermal,tripped,trip_t_s,max_kva\n") <
      0;
  for (size_t k = 0; k < res.n_nodes; k++) {
    const hr_sim_node_result_t *nr = &res.nodes[k];
    const hr_tree_node_t *x = hr_tree_node(tree, k);
    if (x->kind == HR_NODE_GPU)
      continue; /* thousands of rows with nothing to say: GPUs have no device */
    e |=
        fprintf(f, "%s,%s,%.3f,%.3f,%.3f,%d,%.5f,%d,%.4f,%.3f\n", x->id, hr_node_kind_name(x->kind),
                nr->max_p_w / 1e3, nr->cont_w / 1e3, nr->over_cont_s, nr->has_device,
                nr->max_thermal, nr->tripped, nr->trip_t_s, nr->max_s_va / 1e3) < 0;
  }
  if (close_out(f, p_nodes, e) != 0)
    status = 1;

  char path_desc[160];
  if (res.waveforms)
    snprintf(path_desc, sizeof path_desc,
             "waveform path: %zu metered nodes at %.0f Hz through the meter engine", res.n_meters,
             sc.wave_fs_hz);
  else if (res.n_meters > 0)
    snprintf(path_desc, sizeof path_desc,
             "fast path: no waveforms; %zu metered nodes' stand-in meters (the one-cycle mean of "
             "the simulated power)",
             res.n_meters);
  else
    snprintf(path_desc, sizeof path_desc, "fast path: no waveforms");
  f = open_out(dir, "report.md", p_md, sizeof p_md);
  if (!f) {
    status = 1;
    goto done;
  }
  e = fprintf(f,
              "# Simulation report: %s, policy %s\n\n"
              "Scenario `%s`, tree `%s`, %d GPUs, %.1f s simulated at %.2f ms steps "
              "(%s) in %.2f s of wall time.\n\n"
              "| metric | value |\n|---|---|\n"
              "| trips | %u |\n"
              "| work done relative to uncapped | %.4f |\n"
              "| energy | %.3f kWh |\n"
              "| highest site power | %.2f kW |\n"
              "| grid ramp: highest / time over limit | %.2f kW/s / %.3f s |\n"
              "| grid oscillation: time over a band limit | %.3f s |\n"
              "| decisions / cap calls / cap errors | %llu / %llu / %llu |\n"
              "| lease post-condition clamps (must be 0) | %llu |\n"
              "| control-loop software latency p50 / p99 / max | %.4f / %.4f / %.4f ms |\n\n"
              "## Protective devices and limits\n\n"
              "| node | kind | highest power | continuous limit | time over it | highest "
              "thermal state | trip |\n|---|---|---|---|---|---|---|\n",
              sc.name[0] ? sc.name : scen, policy, scen, sc.tree_path, res.n_gpus, res.t_s,
              sc.step_ms, path_desc, res.wall_s, res.trips, res.work_frac, res.energy_j / 3.6e6,
              res.max_site_p_w / 1e3, res.max_ramp_w_per_s / 1e3, res.ramp_viol_s, res.osc_viol_s,
              (unsigned long long)res.agent.decisions, (unsigned long long)res.agent.caps_set,
              (unsigned long long)res.agent.cap_errors, (unsigned long long)res.agent.lease_clamps,
              ms(res.agent.lat_p50_s), ms(res.agent.lat_p99_s), ms(res.agent.lat_max_s)) < 0;
  if (signo)
    e |= fprintf(f,
                 "**Partial run: stopped by signal %d at t = %.3f s of %.3f s.** This report, "
                 "summary.csv, nodes.csv, timeseries.csv and the charts cover 0 to %.3f s "
                 "only.\n\n",
                 signo, res.t_s, sc.duration_s, res.t_s) < 0;
  for (size_t k = 0; k < res.n_nodes; k++) {
    const hr_sim_node_result_t *nr = &res.nodes[k];
    const hr_tree_node_t *x = hr_tree_node(tree, k);
    if (!nr->has_device && !isfinite(nr->cont_w))
      continue;
    if (x->kind == HR_NODE_GPU || x->kind == HR_NODE_SERVER)
      continue;
    char trip[64] = "-";
    if (nr->tripped)
      snprintf(trip, sizeof trip, "at %.3f s", nr->trip_t_s);
    /* With a supply power factor below 1 the limit holds volt-amperes. */
    int pf_below_1 = 0;
    for (int i = 0; i < sc.supply.n_pf && i < HR_SIM_PF_POINTS_MAX; i++)
      pf_below_1 |= sc.supply.pf[i] < 1.0;
    char va[48] = "";
    if (pf_below_1)
      snprintf(va, sizeof va, " (%.2f kVA)", nr->max_s_va / 1e3);
    e |= fprintf(f, "| %s | %s | %.2f kW%s | %.2f k%s | %.3f s | %s%.4f | %s |\n", x->id,
                 hr_node_kind_name(x->kind), nr->max_p_w / 1e3, va, nr->cont_w / 1e3,
                 pf_below_1 ? "VA" : "W", nr->over_cont_s, nr->has_device ? "" : "(no device) ",
                 nr->max_thermal, trip) < 0;
  }
  if (res.waveforms)
    e |= fprintf(f,
                 "\n## Control-loop latency, waveform path\n\n"
                 "From the step's %.0f-Hz samples handed to the meters to the return of the "
                 "last cap call (meter engine, records to the agent, decision, actuator "
                 "call), wall clock, for every decision that set a cap.\n\n"
                 "| decisions | count | p50 | p99 | max |\n|---|---|---|---|---|\n"
                 "| all that set a cap | %llu | %.4f ms | %.4f ms | %.4f ms |\n"
                 "| triggered by a detected step or forecast | %llu | %.4f ms | %.4f ms | "
                 "%.4f ms |\n\n"
                 "Meter records fed to the agent: %llu; time in synthesis and metering: %.3f s "
                 "(%.1f x real time for the waveform part).\n",
                 sc.wave_fs_hz, (unsigned long long)res.e2e_n, ms(res.e2e_p50_s), ms(res.e2e_p99_s),
                 ms(res.e2e_max_s), (unsigned long long)res.e2e_step_n, ms(res.e2e_step_p50_s),
                 ms(res.e2e_step_p99_s), ms(res.e2e_step_max_s),
                 (unsigned long long)res.meter_records, res.meter_wall_s,
                 res.meter_wall_s > 0.0 ? res.t_s / res.meter_wall_s : 0.0) < 0;
  if (res.inf_requests)
    e |= fprintf(f,
                 "\n## Inference\n\n"
                 "| metric | value |\n|---|---|\n"
                 "| requests generated / completed | %llu / %llu |\n"
                 "| output tokens | %llu |\n"
                 "| time to first token p50 / p99 | %.3f / %.3f s |\n"
                 "| time between tokens p50 / p99 | %.1f / %.1f ms |\n",
                 (unsigned long long)res.inf_requests, (unsigned long long)res.inf_completed,
                 (unsigned long long)res.inf_tokens, res.ttft_p50_s, res.ttft_p99_s,
                 ms(res.tbt_p50_s), ms(res.tbt_p99_s)) < 0;
  if (res.gen_over_s > 0.0 || res.gen_ramp_viol_s > 0.0 || res.gen_trips ||
      res.agent.supply_clamps || res.agent.bad_readings || res.agent.stuck_readings ||
      res.agent.meter_lows)
    e |= fprintf(f,
                 "\n## Faults\n\n"
                 "| metric | value |\n|---|---|\n"
                 "| generator: time over its rating / over its ramp / trips | %.3f s / %.3f s / "
                 "%u |\n"
                 "| decisions the supply limit cut | %llu |\n"
                 "| envelope decisions a site meter's trough lowered | %llu |\n"
                 "| readings refused as garbage | %llu |\n"
                 "| readings refused as stuck | %llu |\n",
                 res.gen_over_s, res.gen_ramp_viol_s, res.gen_trips,
                 (unsigned long long)res.agent.supply_clamps,
                 (unsigned long long)res.agent.meter_lows,
                 (unsigned long long)res.agent.bad_readings,
                 (unsigned long long)res.agent.stuck_readings) < 0;
  e |= fprintf(f, "\nThermal state: the memory element's state as a fraction of its trip "
                  "threshold (1 trips). Work: progress of the workloads over the time they ran, "
                  "relative to every GPU at full speed (docs/sim.md). timeseries.csv holds the "
                  "charted series.\n\n") < 0;
  if (!r.charts) {
    e |= fprintf(f, "## Charts\n\nNo charts: out of memory.\n") < 0;
  } else if (sim_charts_write(r.charts, dir, f) != 0) {
    status = 1;
  }
  if (close_out(f, p_md, e) != 0)
    status = 1;
  if (status == 0 && !signo && json) {
    printf("{\"scenario\":");
    cli_json_str(stdout, sc.name[0] ? sc.name : scen);
    printf(",\"policy\":");
    cli_json_str(stdout, policy);
    printf(",\"gpus\":%d,\"t_s\":%.3f,\"trips\":%u,\"work_frac\":%.6f,\"energy_kwh\":%.4f,"
           "\"max_site_kw\":%.3f,\"ramp_viol_s\":%.3f,\"osc_viol_s\":%.3f,"
           "\"max_ramp_kw_per_s\":%.3f,\"decisions\":%llu,\"caps_set\":%llu,"
           "\"cap_errors\":%llu,\"lease_clamps\":%llu,",
           res.n_gpus, res.t_s, res.trips, res.work_frac, res.energy_j / 3.6e6,
           res.max_site_p_w / 1e3, res.ramp_viol_s, res.osc_viol_s, res.max_ramp_w_per_s / 1e3,
           (unsigned long long)res.agent.decisions, (unsigned long long)res.agent.caps_set,
           (unsigned long long)res.agent.cap_errors, (unsigned long long)res.agent.lease_clamps);
    cli_json_num(stdout, "lat_p50_ms", ms(res.agent.lat_p50_s), 1);
    cli_json_num(stdout, "lat_p99_ms", ms(res.agent.lat_p99_s), 1);
    cli_json_num(stdout, "lat_max_ms", ms(res.agent.lat_max_s), 1);
    cli_json_num(stdout, "ttft_p50_s", res.ttft_p50_s, 1);
    cli_json_num(stdout, "ttft_p99_s", res.ttft_p99_s, 1);
    cli_json_num(stdout, "tbt_p50_ms", ms(res.tbt_p50_s), 1);
    cli_json_num(stdout, "tbt_p99_ms", ms(res.tbt_p99_s), 1);
    printf("\"inf_completed\":%llu,\"inf_tokens\":%llu,\"gen_trips\":%u,\"gen_over_s\":%.3f,"
           "\"gen_ramp_viol_s\":%.3f,\"bad_readings\":%llu,\"stuck_readings\":%llu,"
           "\"floor_mean_frac\":%.4f,"
           "\"floor_max_frac\":%.4f,\"floor_errors\":%llu,\"meter_lows\":%llu,",
           (unsigned long long)res.inf_completed, (unsigned long long)res.inf_tokens, res.gen_trips,
           res.gen_over_s, res.gen_ramp_viol_s, (unsigned long long)res.agent.bad_readings,
           (unsigned long long)res.agent.stuck_readings, res.agent.floor_mean_frac,
           res.agent.floor_max_frac, (unsigned long long)res.agent.floor_errors,
           (unsigned long long)res.agent.meter_lows);
    printf("\"wall_s\":%.3f,\"report\":", res.wall_s);
    cli_json_str(stdout, dir);
    printf("}\n");
  } else if (status == 0 && !signo) {
    printf("%s: %s, %d GPUs: trips %u, work %.4f, energy %.3f kWh, latency p99 %.4f ms; "
           "report in %s\n",
           sc.name[0] ? sc.name : scen, policy, res.n_gpus, res.trips, res.work_frac,
           res.energy_j / 3.6e6, ms(res.agent.lat_p99_s), dir);
  }
done:
  /* A stop (cli_stop_catch) is said with what it left behind: whole rows
   * up to the stop, or files not written at all after a failure. */
  if (signo && status == 0)
    fprintf(stderr,
            "headroom sim: stopped by signal %d at t = %.3f s of %.3f s: %s/timeseries.csv, "
            "summary.csv, nodes.csv, report.md and the charts are partial (whole rows up to the "
            "stop; report.md says so)\n",
            signo, r.t_s, sc.duration_s, dir);
  else if (signo)
    fprintf(stderr, "headroom sim: stopped by signal %d; the report in %s is incomplete\n", signo,
            dir);
  else if (cli_stop_requested())
    fprintf(stderr, "headroom sim: signal %d after the run: the report in %s is complete\n",
            cli_stop_requested(), dir);
  if (cli_stop_requested())
    status = cli_stop_status(cli_stop_requested());
  sim_charts_destroy(r.charts);
  hr_sim_destroy(sim);
  hr_scenario_free(&sc);
  hr_tree_destroy(tree);
  if (cli_flush_stdout("headroom sim") != 0 && status == 0)
    status = 1;
  return status;
}
