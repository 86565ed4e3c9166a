/* headroom: the command-line front end.  Dispatches to one subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"

static const struct {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *help;
} commands[] = {
  {"meter", cmd_meter, "measure a waveform stream (raw float32/int16, CSV) into JSON Lines"},
  {"gen", cmd_gen, "write deterministic test waveforms (standards' conditions, AI-rack load)"},
  {"demo", cmd_demo, "generate a 3-phase AI-rack waveform and measure it live"},
  {"plan", cmd_plan, "power-trace generation for LLM inference: workloads, models, fidelity"},
  {"capture", cmd_capture, "COMTRADE captures: list, info, export (CSV), convert"},
  {"lease", cmd_lease, "power leases: budgets from protection, timing check (lease check TREE)"},
  {"sim", cmd_sim, "closed-loop cluster simulator: a scenario under one policy, with a report"},
  {"agent", cmd_agent, "the control agent on a node: meter stream in, caps out (JSON Lines)"},
};

static void usage(FILE *to)
{
  fprintf(to, "usage: headroom <command> [options]\n\ncommands:\n");
  for (unsigned k = 0; k < sizeof commands / sizeof commands[0]; k++)
    fprintf(to, "  %-8s %s\n", commands[k].name, commands[k].help);
  fprintf(to, "\n'headroom <command> --help' describes a command's options.\n");
}

int main(int argc, char **argv)
{
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
      strcmp(argv[1], "help") == 0) {
    usage(stdout);
    return cli_close_stdout() ? 1 : 0;
  }
  for (unsigned k = 0; k < sizeof commands / sizeof commands[0]; k++)
    if (strcmp(argv[1], commands[k].name) == 0) {
      int status = commands[k].run(argc - 1, argv + 1);
      /* Every command's standard output is checked here, once: what it
       * printed is only delivered when the flush and the close succeed. */
      if (cli_close_stdout() != 0 && status == 0)
        status = 1;
      return status;
    }
  fprintf(stderr, "headroom: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return 2;
}
