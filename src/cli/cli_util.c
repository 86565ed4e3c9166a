#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "cli_util.h"

int cli_double(const char *text, double *out)
{
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  if (end == text || *end || errno || !isfinite(v))
    return -1;
  *out = v;
  return 0;
}

int cli_int64(const char *text, int64_t *out)
{
  char *end;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (end == text || *end || errno)
    return -1;
  *out = v;
  return 0;
}

int cli_int(const char *text, int *out)
{
  int64_t v;
  if (cli_int64(text, &v) || v < INT_MIN || v > INT_MAX)
    return -1;
  *out = (int)v;
  return 0;
}

int64_t cli_now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
