/* Numbers in files and JSON, independent of the host's locale (core.h). */
#define _GNU_SOURCE /* strtod_l, strtof_l (glibc declares them for GNU) */

#include <locale.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

static locale_t c_numeric;
static pthread_once_t c_numeric_once = PTHREAD_ONCE_INIT;

static void make_c_numeric(void)
{
  c_numeric = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

double hr__num_parse(const char *s, char **end)
{
  pthread_once(&c_numeric_once, make_c_numeric);
  if (c_numeric)
    return strtod_l(s, end, c_numeric);
  /* newlocale("C") does not allocate in glibc; should it fail elsewhere,
   * parse in the current locale rather than not at all. */
  return strtod(s, end);
}

float hr__num_parsef(const char *s, char **end)
{
  pthread_once(&c_numeric_once, make_c_numeric);
  if (c_numeric)
    return strtof_l(s, end, c_numeric);
  return strtof(s, end);
}

int hr__num_format(char *buf, size_t len, int digits, double v)
{
  int n = snprintf(buf, len, "%.*g", digits, v);
  if (n <= 0 || len == 0)
    return n;
  /* The locale's decimal separator (one byte or several, e.g. U+066B) is
   * whatever sits between the digits that is not a digit, sign, exponent or
   * the letters of inf/nan: replace it with '.'. */
  size_t w = 0, r = 0, m = strlen(buf);
  int dot = 0;
  while (r < m) {
    char c = buf[r];
    int plain = (c >= '0' && c <= '9') || c == '-' || c == '+' || (c >= 'a' && c <= 'z') ||
                (c >= 'A' && c <= 'Z');
    if (plain) {
      buf[w++] = c;
      r++;
    } else {
      while (r < m && !((buf[r] >= '0' && buf[r] <= '9') || buf[r] == 'e' || buf[r] == 'E'))
        r++;
      if (!dot)
        buf[w++] = '.';
      dot = 1;
    }
  }
  buf[w] = '\0';
  return n - (int)(m - w);
}
