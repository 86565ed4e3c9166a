/* Small helpers shared by the subcommands: strict number parsing (the whole
 * text must be a number) and the wall clock for --t0 now. */
#ifndef HR_CLI_UTIL_H
#define HR_CLI_UTIL_H

#include <stdint.h>

/* Each returns 0 on success, -1 when text is not a finite number of the type. */
int cli_double(const char *text, double *out);
int cli_int(const char *text, int *out);
int cli_int64(const char *text, int64_t *out);

/* Current UTC time in ns since the Unix epoch (CLOCK_REALTIME); only for
 * choosing t0, never for measurements. */
int64_t cli_now_ns(void);

#endif
