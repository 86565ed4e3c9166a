/* headroom: the command-line front end.  Dispatches to one subcommand; the
 * table below is where a subcommand registers (cli.h). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_opt.h"
#include "cli_util.h"

#ifndef HR_VERSION
#define HR_VERSION "unknown"
#endif

static const cli_cmd_t commands[] = {
    {"meter", cmd_meter, "measure a waveform stream (raw float32/int16, CSV) into JSON Lines"},
    {"gen", cmd_gen, "write deterministic test waveforms (standards' conditions, AI-rack load)"},
    {"demo", cmd_demo, "generate a 3-phase AI-rack waveform and measure it live"},
    {"plan", cmd_plan, "power-trace generation for LLM inference: workloads, models, fidelity"},
    {"capture", cmd_capture, "COMTRADE captures: list, info, export (CSV), convert"},
    {"lease", cmd_lease, "power leases: budgets from protection, timing check (lease check TREE)"},
    {"sim", cmd_sim, "closed-loop cluster simulator: a scenario under one policy, with a report"},
    {"capacity", cmd_capacity,
     "capacity search: GPUs a tree hosts per policy, against static derating"},
    {"agent", cmd_agent, "the control agent on a node: meter stream in, caps out (JSON Lines)"},
    {"query", cmd_query, "read a device's stored series or events from a measurement store"},
};

int main(int argc, char **argv)
{
  if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
    printf("headroom %s\n", HR_VERSION);
    return cli_close_stdout() ? 1 : 0;
  }
  int status = cli_dispatch("headroom", "GPU data-center power: measure, lease, plan.", commands,
                            (int)(sizeof commands / sizeof commands[0]), argc, argv);
  /* Every command's standard output is checked here, once: what it printed
   * is only delivered when the flush and the close succeed. */
  if (cli_close_stdout() != 0 && status == 0)
    status = 1;
  return status;
}
