/* headroom command: the subcommands.
 *
 * REGISTERING A SUBCOMMAND
 *   1. Write src/cli/cmd_NAME.c with   int cmd_NAME(int argc, char **argv);
 *      argv[0] is the subcommand's name; it returns the exit status: 0
 *      success, 1 failure at run time, 2 bad usage (the message names the
 *      option and its valid range), 128 + N after a clean stop on signal N.
 *   2. Declare it below and add one line to commands[] in main.c:
 *          {"NAME", cmd_NAME, "one-line summary"},
 *      That is all the build needs (CMake globs the .c files of src/cli into the hr_cli
 *      object library, which the command and the tests link).  A file
 *      written against the old CLI (its own strcmp loop over argv) still
 *      registers this way and runs unchanged.
 *
 * DECLARING OPTIONS (the one parser, cli_opt.h) -- port old loops to this:
 *
 *   int cmd_NAME(int argc, char **argv)
 *   {
 *     double period_s = 1.0;
 *     int json = 0;
 *     const char *out = NULL;
 *     const cli_opt_t opts[] = {
 *         {.name = "--period", .kind = CLI_DBL, .dst = &period_s, .arg = "S",
 *          .help = "control period (default 1)", CLI_RANGE_GT(0, 3600)},
 *         {.name = "--json", .kind = CLI_FLAG, .dst = &json, .help = "JSON Lines output"},
 *         {.name = "--out", .short_name = 'o', .kind = CLI_STR, .dst = &out, .arg = "FILE",
 *          .help = "output file (default standard output; - too)"},
 *     };
 *     const cli_spec_t spec = {.prog = "headroom NAME", .usage = "[options] FILE|-",
 *                              .about = "What it does.", .opts = opts,
 *                              .n_opts = (int)(sizeof opts / sizeof opts[0]),
 *                              .max_operands = 1};
 *     const char *files[1];
 *     int nf;
 *     int rc = cli_parse(&spec, argc, argv, files, &nf);
 *     if (rc != CLI_GO_ON)
 *       return rc;          // 0 after --help / --list-options, 2 after a refusal
 *     ...
 *   }
 *
 *   The parser handles --opt value, --opt=value, -o value, "--", "-" as an
 *   operand, --help (generated from the table: no separate usage text to
 *   keep in step), --list-options (used by bash completion and by
 *   tests/cli/test_cli_docs.py, which fails when an option in a table is
 *   missing from docs/cli.md: document every new option there), numbers
 *   (finite, whole for CLI_INT/CLI_I64, inside CLI_RANGE/CLI_RANGE_GT) and
 *   the refusals ("headroom NAME: --period: '0' is outside (0, 3600]", exit
 *   2).  Values that need their own syntax use .kind = CLI_FN with .fn (see
 *   cmd_meter.c, cmd_gen.c); checks between options go after cli_parse,
 *   refused with cli_bad(&spec, "--opt", "...").  Every subcommand should
 *   offer --json (machine-readable output) and accept "-" for standard input
 *   wherever it reads a file (cli_read_all, cli_is_stdio).
 *
 *   A subcommand with subcommands of its own (plan, lease) lists them in a
 *   cli_cmd_t table and calls cli_dispatch (see cmd_lease.c). */
#ifndef HR_CLI_H
#define HR_CLI_H

#include "cli_opt.h"

/* The policies of hr_sim_policy_cfg (headroom sim and headroom capacity), for
 * --help and the refusals. */
#define CLI_SIM_POLICIES                                                                           \
  "none, static70, static60, dynamo, polca, polca-power, thunderbolt, headroom,\n"                 \
  "headroom-flat, headroom-smooth, headroom-band, headroom-admit, lease-3band, lease-2thr"

int cmd_meter(int argc, char **argv);
int cmd_gen(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_lease(int argc, char **argv);
int cmd_capture(int argc, char **argv);
int cmd_sim(int argc, char **argv);
int cmd_capacity(int argc, char **argv);
int cmd_agent(int argc, char **argv);
int cmd_query(int argc, char **argv);

#endif
