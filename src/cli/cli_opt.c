/* The one option parser of the command line (cli_opt.h). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_opt.h"

int cli_bad(const cli_spec_t *spec, const char *opt, const char *fmt, ...)
{
  va_list ap;
  fprintf(stderr, "%s: ", spec->prog);
  if (opt)
    fprintf(stderr, "%s: ", opt);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return 2;
}

static int has_range(const cli_opt_t *o)
{
  return o->lo < o->hi;
}

static int takes_value(const cli_opt_t *o)
{
  switch (o->kind) {
  case CLI_FLAG:
  case CLI_CLEAR:
  case CLI_SECTION:
    return 0;
  case CLI_FN:
    return o->arg != NULL;
  default:
    return 1;
  }
}

static void range_text(const cli_opt_t *o, char *buf, size_t cap)
{
  snprintf(buf, cap, "%s%.10g, %.10g]", o->lo_open ? "(" : "[", o->lo, o->hi);
}

void cli_help(const cli_spec_t *spec, FILE *to)
{
  fprintf(to, "usage: %s %s\n", spec->prog, spec->usage ? spec->usage : "[options]");
  if (spec->about)
    fprintf(to, "%s\n", spec->about);
  fprintf(to, "\noptions:\n");
  for (int k = 0; k < spec->n_opts; k++) {
    const cli_opt_t *o = &spec->opts[k];
    if (o->kind == CLI_SECTION) {
      fprintf(to, "%s\n", o->help);
      continue;
    }
    char lhs[96];
    if (o->short_name)
      snprintf(lhs, sizeof lhs, "-%c, %s%s%s", o->short_name, o->name, o->arg ? " " : "",
               o->arg ? o->arg : "");
    else
      snprintf(lhs, sizeof lhs, "%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
    if (strlen(lhs) > 28)
      fprintf(to, "  %s\n  %-28s ", lhs, "");
    else
      fprintf(to, "  %-28s ", lhs);
    /* Continuation lines of the help are indented under the first. */
    for (const char *p = o->help ? o->help : ""; *p; p++) {
      fputc(*p, to);
      if (*p == '\n')
        fprintf(to, "  %-28s ", "");
    }
    if (has_range(o)) {
      char r[64];
      range_text(o, r, sizeof r);
      fprintf(to, " %s", r);
    }
    fputc('\n', to);
  }
  fprintf(to, "  %-28s %s\n", "-h, --help", "this text");
  if (spec->epilog)
    fprintf(to, "\n%s\n", spec->epilog);
}

/* Stores a number after the checks; 0, or 2 after the message. */
static int set_number(const cli_spec_t *spec, const cli_opt_t *o, const char *v)
{
  char r[64];
  if (o->kind == CLI_I64) {
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (end == v || *end || errno)
      return cli_bad(spec, o->name, "not a whole number: '%s'", v);
    if (has_range(o) &&
        ((double)x > o->hi || (o->lo_open ? !((double)x > o->lo) : !((double)x >= o->lo)))) {
      range_text(o, r, sizeof r);
      return cli_bad(spec, o->name, "'%s' is outside %s", v, r);
    }
    *(int64_t *)o->dst = (int64_t)x;
    return 0;
  }
  if (o->kind == CLI_U64) {
    char *end;
    errno = 0;
    const char *p = v;
    while (*p == ' ')
      p++;
    unsigned long long x = strtoull(v, &end, 0);
    if (end == v || *end || errno || *p == '-') {
      double d;
      char *e2;
      errno = 0;
      d = strtod(v, &e2);
      (void)d;
      if (e2 == v || *e2)
        return cli_bad(spec, o->name, "not a number: '%s'", v);
      return cli_bad(spec, o->name, "not a whole number >= 0: '%s'", v);
    }
    *(uint64_t *)o->dst = (uint64_t)x;
    return 0;
  }
  char *end;
  errno = 0;
  double x = strtod(v, &end);
  if (end == v || *end || errno == ERANGE || !isfinite(x))
    return cli_bad(spec, o->name, "not a number: '%s'", v);
  if (has_range(o) && (x > o->hi || (o->lo_open ? !(x > o->lo) : !(x >= o->lo)))) {
    range_text(o, r, sizeof r);
    return cli_bad(spec, o->name, "'%s' is outside %s", v, r);
  }
  if (o->kind == CLI_DBL) {
    *(double *)o->dst = x;
    return 0;
  }
  if (x != floor(x) || x < -2147483648.0 || x > 2147483647.0)
    return cli_bad(spec, o->name, "not a whole number in range: '%s'", v);
  *(int *)o->dst = (int)x;
  return 0;
}

static int apply(const cli_spec_t *spec, const cli_opt_t *o, const char *v)
{
  int rc = 0;
  switch (o->kind) {
  case CLI_FLAG:
    *(int *)o->dst = 1;
    break;
  case CLI_CLEAR:
    *(int *)o->dst = 0;
    break;
  case CLI_STR:
    *(const char **)o->dst = v;
    break;
  case CLI_FN:
    rc = o->fn(o, v, spec->ctx);
    break;
  case CLI_SECTION:
    break;
  default:
    rc = set_number(spec, o, v);
    break;
  }
  if (rc == 0 && o->given)
    *o->given = 1;
  return rc;
}

static const cli_opt_t *find_long(const cli_spec_t *spec, const char *a, size_t len)
{
  for (int k = 0; k < spec->n_opts; k++) {
    const cli_opt_t *o = &spec->opts[k];
    if (o->name && strlen(o->name) == len && strncmp(o->name, a, len) == 0)
      return o;
  }
  return NULL;
}

static const cli_opt_t *find_short(const cli_spec_t *spec, char c)
{
  for (int k = 0; k < spec->n_opts; k++)
    if (spec->opts[k].kind != CLI_SECTION && spec->opts[k].short_name == c)
      return &spec->opts[k];
  return NULL;
}

static int operand(const cli_spec_t *spec, const char *a, const char **operands, int *n)
{
  if (spec->max_operands >= 0 && *n >= spec->max_operands) {
    if (spec->max_operands == 0)
      return cli_bad(spec, NULL, "unexpected argument '%s' (see %s --help)", a, spec->prog);
    return cli_bad(spec, NULL, "unexpected argument '%s': at most %d operand%s (see %s --help)", a,
                   spec->max_operands, spec->max_operands == 1 ? "" : "s", spec->prog);
  }
  operands[(*n)++] = a;
  return 0;
}

int cli_parse(const cli_spec_t *spec, int argc, char **argv, const char **operands, int *n_operands)
{
  int n = 0, rc;
  if (n_operands)
    *n_operands = 0;
  /* --help and --list-options win wherever they are, before any value is
   * checked: a user asking for help gets it. */
  for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      cli_help(spec, stdout);
      return 0;
    }
    if (strcmp(argv[i], "--list-options") == 0) {
      for (int k = 0; k < spec->n_opts; k++)
        if (spec->opts[k].kind != CLI_SECTION)
          printf("%s\n", spec->opts[k].name);
      printf("--help\n");
      return 0;
    }
  }
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) {
      for (i++; i < argc; i++)
        if ((rc = operand(spec, argv[i], operands, &n)) != 0)
          return rc;
      break;
    }
    if (a[0] != '-' || a[1] == '\0') {
      if ((rc = operand(spec, a, operands, &n)) != 0)
        return rc;
      if (n_operands)
        *n_operands = n;
      continue;
    }
    const cli_opt_t *o;
    const char *value = NULL;
    char shown[64];
    if (a[1] == '-') {
      const char *eq = strchr(a, '=');
      size_t len = eq ? (size_t)(eq - a) : strlen(a);
      o = find_long(spec, a, len);
      if (eq)
        value = eq + 1;
      snprintf(shown, sizeof shown, "%.*s", (int)(len < 60 ? len : 60), a);
    } else {
      /* -o VALUE, or -oVALUE */
      o = find_short(spec, a[1]);
      if (o && a[2])
        value = a + 2;
      snprintf(shown, sizeof shown, "-%c", a[1]);
    }
    if (!o)
      return cli_bad(spec, NULL, "unknown option %s (see %s --help)", shown, spec->prog);
    if (takes_value(o)) {
      if (!value) {
        if (i + 1 >= argc)
          return cli_bad(spec, NULL, "missing value: %s (it needs a value: %s)", o->name,
                         o->arg ? o->arg : "see --help");
        value = argv[++i];
      }
    } else if (value) {
      return cli_bad(spec, o->name, "takes no value, got '%s'", value);
    }
    if ((rc = apply(spec, o, value)) != 0)
      return rc;
  }
  if (n_operands)
    *n_operands = n;
  return CLI_GO_ON;
}

/* ---- subcommand tables ---------------------------------------------------- */

static void list_cmds(const char *prog, const char *about, const cli_cmd_t *cmds, int n, FILE *to)
{
  fprintf(to, "usage: %s <command> [options]\n", prog);
  if (about)
    fprintf(to, "%s\n", about);
  /* A command's own commands are its subcommands. */
  const int nested = strchr(prog, ' ') != NULL;
  fprintf(to, "\n%s:\n", nested ? "subcommands" : "commands");
  for (int k = 0; k < n; k++)
    fprintf(to, "  %-10s %s\n", cmds[k].name, cmds[k].summary);
  fprintf(to, "\n'%s <command> --help' describes a command's options.\n", prog);
}

int cli_dispatch(const char *prog, const char *about, const cli_cmd_t *cmds, int n_cmds, int argc,
                 char **argv)
{
  if (argc < 2) {
    list_cmds(prog, about, cmds, n_cmds, stderr);
    return 2;
  }
  const char *a = argv[1];
  if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 || strcmp(a, "help") == 0) {
    list_cmds(prog, about, cmds, n_cmds, stdout);
    return 0;
  }
  if (strcmp(a, "--list-commands") == 0) {
    for (int k = 0; k < n_cmds; k++)
      printf("%s\n", cmds[k].name);
    return 0;
  }
  for (int k = 0; k < n_cmds; k++)
    if (strcmp(a, cmds[k].name) == 0)
      return cmds[k].run(argc - 1, argv + 1);
  fprintf(stderr, "%s: unknown %s '%s'\n", prog,
          a[0] == '-'         ? "option"
          : strchr(prog, ' ') ? "subcommand"
                              : "command",
          a);
  list_cmds(prog, about, cmds, n_cmds, stderr);
  return 2;
}

/* ---- files ------------------------------------------------------------------ */

int cli_is_stdio(const char *path)
{
  return path && strcmp(path, "-") == 0;
}

int cli_read_all(const char *path, char **buf, size_t *len)
{
  int fd = cli_is_stdio(path) ? 0 : open(path, O_RDONLY);
  if (fd < 0)
    return -1;
  size_t cap = 65536, n = 0;
  char *b = malloc(cap + 1);
  if (!b) {
    if (fd > 0)
      close(fd);
    errno = ENOMEM;
    return -1;
  }
  for (;;) {
    if (n == cap) {
      char *p = realloc(b, 2 * cap + 1);
      if (!p) {
        free(b);
        if (fd > 0)
          close(fd);
        errno = ENOMEM;
        return -1;
      }
      b = p;
      cap *= 2;
    }
    ssize_t got = read(fd, b + n, cap - n);
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0) {
      int e = errno;
      free(b);
      if (fd > 0)
        close(fd);
      errno = e;
      return -1;
    }
    if (got == 0)
      break;
    n += (size_t)got;
  }
  if (fd > 0)
    close(fd);
  b[n] = '\0';
  *buf = b;
  *len = n;
  return 0;
}
