/* Small helpers shared by the subcommands: strict number parsing (the whole
 * text must be a number), the wall clock for --t0 now, checked output and
 * the clean stop on SIGTERM, SIGINT and SIGHUP. */
#ifndef HR_CLI_UTIL_H
#define HR_CLI_UTIL_H

#include <stdint.h>
#include <stdio.h>

#include "headroom/tree.h"

/* Each returns 0 on success, -1 when text is not a finite number of the type. */
int cli_double(const char *text, double *out);
int cli_int(const char *text, int *out);
int cli_int64(const char *text, int64_t *out);

/* The option of headroom meter (and agent) that sets the meter setting
 * hr_meter_cfg_check names in hr_diag_t.field ("fs_hz": "--fs"), or NULL. */
const char *cli_meter_option(const char *field);

/* Loads the tree at path ("-": standard input) into *tree; 0, or -1 after
 * "PROG: why" (file, line and field) on stderr. */
int cli_load_tree(const char *prog, const char *path, hr_tree_t **tree);

/* Current UTC time in ns since the Unix epoch (CLOCK_REALTIME); only for
 * choosing t0, never for measurements. */
int64_t cli_now_ns(void);

/* Flushes and closes f, which was opened for writing path; 0, or -1 after
 * printing "PREFIX: PATH: why" on stderr.  The stream's error flag counts
 * too, so a write that failed long before the close is not lost. */
int cli_close_out(FILE *f, const char *prefix, const char *path);

/* Checks standard output at exit (flush, error flag, close); 0, or -1 after
 * saying why on stderr.  main() runs it after every subcommand, so no
 * command can report success with records lost in a full disk or a closed
 * pipe. */
int cli_close_stdout(void);

/* Flushes standard output before a command returns; 0, or -1 after
 * "PREFIX: standard output: why" on stderr (the flush's errno, which
 * cli_close_stdout could no longer tell), marked as reported. */
int cli_flush_stdout(const char *prefix);

/* Tells cli_close_stdout that the command has already reported a failed
 * write to standard output: it then fails without a second message. */
void cli_stdout_reported(void);

/* ---- the clean stop ---------------------------------------------------------
 * A long-running command (meter, gen, demo) calls cli_stop_catch() once; from
 * then on SIGTERM, SIGINT and SIGHUP only set a flag, which the command polls
 * between blocks: it stops reading, finishes the records it has, flushes and
 * returns cli_stop_status().  The first signal resets its handler, so a second
 * one ends the process at once, as a user pressing ^C twice expects.
 *
 * With block != 0 the three signals are also blocked, and are delivered only
 * inside cli_wait_readable(): a command that reads a pipe then never misses a
 * signal that arrives just before it would block in read(). */
void cli_stop_catch(int block);

/* The stop signal received so far, or 0. */
int cli_stop_requested(void);

/* Waits until fd is readable or a stop signal arrives (needs cli_stop_catch
 * with block).  Returns 0 when readable, the signal number when one arrived,
 * -1 on error (errno set). */
int cli_wait_readable(int fd);

/* The exit status after a stop on signal signo: 128 + signo, as a shell
 * reports a process killed by it. */
int cli_stop_status(int signo);

/* A JSON string of v (quotes, backslashes and control characters
 * escaped; bytes >= 0x80 as they are, so UTF-8 passes). */
void cli_json_str(FILE *f, const char *v);
/* "key":v followed by a comma when comma != 0; a non-finite v is null. */
void cli_json_num(FILE *f, const char *key, double v, int comma);

#endif
