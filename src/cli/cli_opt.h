/* The command line of every subcommand: one table-driven option parser.
 *
 * A subcommand describes its options once, in a table of cli_opt_t (name,
 * value placeholder, help line, where the value goes, its valid range), and
 * calls cli_parse.  The same table gives:
 *   - parsing with the same rules everywhere: "--opt value" and "--opt=value",
 *     "-o value" for an option with a short name, "--" ends the options, "-"
 *     is an operand (standard input or output), numbers checked for
 *     finiteness and range (exit 2 naming the option and the range);
 *   - --help (and -h): the usage, the about text and one line per option,
 *     the range appended, on standard output;
 *   - --list-options: the option names, one per line (bash completion and the
 *     test that docs/cli.md names every option read them).
 * See cli.h for how a subcommand registers and a worked example. */
#ifndef HR_CLI_OPT_H
#define HR_CLI_OPT_H

#include <stdint.h>
#include <stdio.h>

/* What an option does with its value.  Every kind except CLI_FLAG and
 * CLI_CLEAR takes a value (CLI_FN: when .arg is not NULL). */
typedef enum cli_kind {
  CLI_SECTION = 0, /* no option: .help is a heading in --help */
  CLI_FLAG,        /* int *: set to 1 */
  CLI_CLEAR,       /* int *: set to 0 (a --no-... option) */
  CLI_STR,         /* const char **: the value, borrowed from argv */
  CLI_DBL,         /* double *: a finite number, in the range when one is given */
  CLI_INT,         /* int *: a whole number (1e3 is one), in the range */
  CLI_I64,         /* int64_t *: a decimal integer, in the range */
  CLI_U64,         /* uint64_t *: an unsigned integer (0x.. allowed), no range */
  CLI_FN           /* .fn(opt, value, ctx) parses the value itself */
} cli_kind_t;

typedef struct cli_opt cli_opt_t;

/* A CLI_FN option's parser: 0, or the exit status (2) after printing a
 * message that names the option (cli_bad helps). */
typedef int (*cli_fn_t)(const cli_opt_t *o, const char *value, void *ctx);

struct cli_opt {
  const char *name; /* "--fs"; NULL for a CLI_SECTION */
  char short_name;  /* 'o' for -o, or 0 */
  cli_kind_t kind;
  void *dst;        /* where the value goes (not for CLI_FN or CLI_SECTION) */
  const char *arg;  /* the value's placeholder in --help ("HZ"); NULL: no value */
  const char *help; /* one line; "\n" continues on the next, indented */
  /* Numbers: the valid range [lo, hi], or (lo, hi] with lo_open, checked
   * when lo < hi.  --help and the refusal print it. */
  double lo, hi;
  int lo_open;
  int *given;  /* set to 1 when the option appears; may be NULL */
  cli_fn_t fn; /* CLI_FN */
  int tag;     /* free for the subcommand (an id for a CLI_FN switch) */
};

/* Ranges in tables written with designated initialisers:
 *   {.name = "--pue", .kind = CLI_DBL, .dst = &pue, .arg = "X", .help = "...", CLI_RANGE(1, 10)} */
#define CLI_RANGE(a, b) .lo = (a), .hi = (b)
#define CLI_RANGE_GT(a, b) .lo = (a), .hi = (b), .lo_open = 1

typedef struct cli_spec {
  const char *prog;   /* "headroom plan site": messages start with it */
  const char *usage;  /* after prog in the usage line: "[options] [FILE|-]" */
  const char *about;  /* paragraph(s) after the usage line; may be NULL */
  const char *epilog; /* text after the options (exit status, notes); may be NULL */
  const cli_opt_t *opts;
  int n_opts;
  int max_operands; /* operands accepted: 0 none, -1 any number */
  void *ctx;        /* passed to CLI_FN parsers */
} cli_spec_t;

/* cli_parse's result when the command should go on. */
#define CLI_GO_ON (-1)

/* Parses argv[1..argc) (argv[0] is the subcommand's name) against spec.
 * Operands (arguments that are not options, "-" included, and everything
 * after "--") go to operands[0..*n_operands) in order, at most
 * spec->max_operands of them (operands may be NULL when none are accepted).
 * Returns CLI_GO_ON, or the exit status: 0 after --help or --list-options
 * (printed on standard output), 2 after a message on stderr that names the
 * option and, for a number, its range. */
int cli_parse(const cli_spec_t *spec, int argc, char **argv, const char **operands,
              int *n_operands);

/* Prints spec's help (what --help prints) on to. */
void cli_help(const cli_spec_t *spec, FILE *to);

/* Prints "PROG: OPT: " then the formatted message and a newline on stderr;
 * returns 2, the exit status of bad usage. */
int cli_bad(const cli_spec_t *spec, const char *opt, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* ---- subcommands with their own subcommands (plan, lease) and the command
 * itself: a table of names and entry points.  cli_dispatch runs the one
 * named by argv[1] with (argc - 1, argv + 1); "--help", "-h" and "help" list
 * them, "--list-commands" prints their names (completion, tests); with no
 * name, or an unknown one, it prints the list on stderr and returns 2. */
typedef struct cli_cmd {
  const char *name;
  int (*run)(int argc, char **argv); /* argv[0] is the name; returns the exit status */
  const char *summary;               /* one line for the list */
} cli_cmd_t;

int cli_dispatch(const char *prog, const char *about, const cli_cmd_t *cmds, int n_cmds, int argc,
                 char **argv);

/* A path operand or option value that means standard input or output. */
int cli_is_stdio(const char *path);

/* Reads all of path ("-": standard input) into a new NUL-terminated buffer
 * (*len bytes before the NUL); 0, or -1 with errno set. */
int cli_read_all(const char *path, char **buf, size_t *len);

#endif
