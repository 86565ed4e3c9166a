/* headroom command: the subcommands.  Each takes the arguments after its own
 * name (argv[0] is the subcommand name) and returns the process exit code:
 * 0 success, 1 failure at run time, 2 bad usage. */
#ifndef HR_CLI_H
#define HR_CLI_H

int cmd_meter(int argc, char **argv);
int cmd_gen(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_lease(int argc, char **argv);
int cmd_capture(int argc, char **argv);
int cmd_sim(int argc, char **argv);
int cmd_agent(int argc, char **argv);

#endif
