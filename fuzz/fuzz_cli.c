/* libFuzzer harness for the command's option parsers (src/cli/cmd_*.c,
 * linked into this harness without main.c).
 *
 * Input: byte 0 picks the command (meter, gen, demo, lease, lease check,
 * plan <sub> for each plan subcommand); the rest is split at NUL bytes
 * into arguments (at most 64).  "--help" is always appended (twice, as an
 * option may take the first as its value): every parser
 * stops there after printing its usage, so the options are all parsed
 * (numbers, lists, enums, file names, values glued with '=') but no
 * command runs, reads its input or writes files (and in case one does, it
 * runs in the harness's private folder).  fuzz/fuzz_cli.dict lists
 * every option name the parsers know.  Commands print to /dev/null
 * (HR_FUZZ_VERBOSE=1 keeps stdout and stderr).
 *
 * Checks: no crash or undefined behaviour in any parser, and every
 * command returns an exit status of 0, 1 or 2 (cli.h). */
#include <fcntl.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static int quiet_fd = -1, saved_out = -1, saved_err = -1, home_fd = -1;

/* Sends stdout and stderr to /dev/null and works in the private folder
 * while a command runs, so that a command that does run (an option taking
 * both "--help"s, say) writes nothing into the caller's folder. */
static void quiet(int on)
{
  if (on ? chdir(hr_fz_tmpdir()) != 0 : fchdir(home_fd) != 0)
    abort();
  if (getenv("HR_FUZZ_VERBOSE"))
    return;
  fflush(stdout);
  fflush(stderr);
  if (on) {
    dup2(quiet_fd, 1);
    dup2(quiet_fd, 2);
  } else {
    dup2(saved_out, 1);
    dup2(saved_err, 2);
  }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  quiet_fd = open("/dev/null", O_WRONLY);
  saved_out = dup(1);
  saved_err = dup(2);
  home_fd = open(".", O_RDONLY | O_DIRECTORY);
  if (quiet_fd < 0 || saved_out < 0 || saved_err < 0 || home_fd < 0)
    abort();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const char *const plan_subs[] = {"workload",  "metrics",  "train",
                                          "fidelity",  "generate", "site",
                                          "provision", "oversub",  "descriptors"};
  enum { MAXARG = 64 };
  if (size < 1 || size > 4096)
    return 0;
  char *buf = malloc(size + 1);
  if (!buf)
    abort();
  memcpy(buf, data + 1, size - 1);
  buf[size - 1] = '\0';
  char *argv[MAXARG + 4];
  int argc = 0;
  int which = data[0] % 14;
  int (*cmd)(int, char **) = NULL;
  if (which == 0) {
    cmd = cmd_meter;
    argv[argc++] = "meter";
  } else if (which == 1) {
    cmd = cmd_gen;
    argv[argc++] = "gen";
  } else if (which == 2) {
    cmd = cmd_demo;
    argv[argc++] = "demo";
  } else if (which == 3 || which == 4) {
    cmd = cmd_lease;
    argv[argc++] = "lease";
    if (which == 4)
      argv[argc++] = "check";
  } else {
    cmd = cmd_plan;
    argv[argc++] = "plan";
    argv[argc++] = (char *)plan_subs[(which - 5) % 9];
  }
  for (size_t k = 0; k < size - 1 && argc < MAXARG;) {
    argv[argc++] = buf + k;
    k += strlen(buf + k) + 1;
  }
  /* Twice: an option that takes a value may swallow the first. */
  argv[argc++] = "--help";
  argv[argc++] = "--help";
  argv[argc] = NULL;
  quiet(1);
  int rc = cmd(argc, argv);
  quiet(0);
  free(buf);
  if (rc < 0 || rc > 2)
    abort();
  return 0;
}
