/* Helpers shared by the lease tests that build random trees: a seeded
 * xorshift generator, a growing text buffer for the YAML they write and its
 * loading.  Include after <cmocka.h>; each test file gets its own generator
 * state. */
#ifndef HR_TESTS_LEASETEST_H
#define HR_TESTS_LEASETEST_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "headroom/tree.h"

static uint64_t rng; /* seed it before use; never 0 */

static inline uint64_t next_u64(void)
{
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

/* Uniform in [a, b). */
static inline double unif(double a, double b)
{
  return a + (b - a) * (double)(next_u64() >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform in 0 .. n-1 (n > 0). */
static inline int irand(int n)
{
  return (int)(next_u64() % (uint64_t)n);
}

typedef struct buf {
  char *p; /* owned, NUL-terminated; free() it */
  size_t len, cap;
} buf_t;

/* Appends one printf-formatted piece (under 512 bytes). */
static inline void put(buf_t *b, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  char line[512];
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  assert_true(n > 0 && (size_t)n < sizeof line);
  if (b->len + (size_t)n + 1 > b->cap) {
    b->cap = 2 * (b->cap + (size_t)n + 1);
    b->p = realloc(b->p, b->cap);
    assert_non_null(b->p);
  }
  memcpy(b->p + b->len, line, (size_t)n + 1);
  b->len += (size_t)n;
}

/* The tree b holds (b->p freed here), name naming it in diagnostics; one
 * that does not load fails the test with the diagnostic and the YAML. */
static inline hr_tree_t *load_buf(buf_t *b, const char *name)
{
  hr_tree_t *t = NULL;
  hr_diag_t e;
  if (hr_tree_load_buffer(b->p, b->len, name, &t, &e) != HR_OK) {
    char text[1024];
    hr_diag_format(&e, text, sizeof text);
    print_error("%s\n%s\n", text, b->p);
    fail();
  }
  free(b->p);
  return t;
}

/* Equal to the bit (NaNs and signed zeros included). */
static inline int same_bits(double a, double b)
{
  return memcmp(&a, &b, sizeof a) == 0;
}

#endif
