/* Tree files that are hostile in shape rather than content: deep nesting,
 * too many nodes, too many bytes.  Each is refused with a clear error, fast
 * and before the YAML document is built (docs/tree.md, "Limits"). */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "headroom/tree.h"

/* The diagnostic as the one line hr_diag_format makes (a static buffer). */
static const char *dtext(const hr_diag_t *d)
{
  static char text[1024];
  hr_diag_format(d, text, sizeof text);
  return text;
}


static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* "nodes: [[[[...]]]]" nested depth levels below nodes. */
static char *nested(size_t depth, size_t *len)
{
  const char *head = "nodes: ";
  size_t h = strlen(head);
  char *s = malloc(h + 2 * depth + 2);
  assert_non_null(s);
  memcpy(s, head, h);
  memset(s + h, '[', depth);
  memset(s + h + depth, ']', depth);
  s[h + 2 * depth] = '\n';
  s[h + 2 * depth + 1] = '\0';
  *len = h + 2 * depth + 1;
  return s;
}

/* 10^5 levels (200 KB) took 41 s in libyaml's scanner before the depth was
 * limited while scanning; now it is refused at level 33.  The bound is
 * generous for sanitizer builds and still 40 times below the old time. */
static void deep_nesting_is_refused_fast(void **state)
{
  (void)state;
  size_t len;
  char *s = nested(100000, &len);
  hr_tree_t *t = NULL;
  hr_diag_t e;
  double t0 = now_s();
  int rc = hr_tree_load_buffer(s, len, "deep.yaml", &t, &e);
  double dt = now_s() - t0;
  free(s);
  assert_int_equal(rc, HR_ERR_RANGE);
  assert_null(t);
  assert_non_null(strstr(dtext(&e), "nested deeper than 32 levels"));
  assert_int_equal(e.line, 1);
  assert_true(dt < 1.0);
}

/* Depth HR_TREE_MAX_DEPTH itself is not a depth error (the file is refused
 * later for what it holds); one more is. */
static void depth_limit_is_exact(void **state)
{
  (void)state;
  size_t len;
  hr_diag_t e;
  hr_tree_t *t = NULL;
  /* The root mapping is level 1, so n brackets reach level n + 1. */
  char *s = nested(HR_TREE_MAX_DEPTH - 1, &len);
  assert_int_not_equal(hr_tree_load_buffer(s, len, "ok.yaml", &t, &e), HR_OK);
  assert_null(strstr(dtext(&e), "nested deeper"));
  free(s);
  s = nested(HR_TREE_MAX_DEPTH, &len);
  assert_int_equal(hr_tree_load_buffer(s, len, "deep.yaml", &t, &e), HR_ERR_RANGE);
  assert_non_null(strstr(dtext(&e), "nested deeper"));
  free(s);
}

/* One node more than HR_TREE_MAX_NODES is refused at that node's line, while
 * the events are counted: before, the whole document was built first
 * (1.25 GB for 42 MB) and the error pointed at the `nodes` key. */
static void too_many_nodes_refused_while_scanning(void **state)
{
  (void)state;
  const size_t n = (size_t)HR_TREE_MAX_NODES + 1;
  const char *head = "nodes:\n";
  size_t cap = strlen(head) + n * 12 + 16, len = 0;
  char *s = malloc(cap);
  assert_non_null(s);
  len += (size_t)snprintf(s + len, cap - len, "%s", head);
  for (size_t k = 0; k < n; k++)
    len += (size_t)snprintf(s + len, cap - len, "- {id: n}\n");
  hr_tree_t *t = NULL;
  hr_diag_t e;
  int rc = hr_tree_load_buffer(s, len, "many.yaml", &t, &e);
  free(s);
  assert_int_equal(rc, HR_ERR_RANGE);
  assert_non_null(strstr(dtext(&e), "more than 1000000 nodes"));
  assert_int_equal(e.line, (int)n + 1); /* the first item is on line 2 */
}

/* A file over HR_TREE_MAX_BYTES is refused from its size, before a byte is
 * read (a sparse file: no disk used). */
static void oversized_file_refused_before_reading(void **state)
{
  (void)state;
  char path[] = "/tmp/hr_tree_bigXXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(ftruncate(fd, (off_t)HR_TREE_MAX_BYTES + 1), 0);
  close(fd);
  hr_tree_t *t = NULL;
  hr_diag_t e;
  double t0 = now_s();
  int rc = hr_tree_load_file(path, &t, &e);
  double dt = now_s() - t0;
  unlink(path);
  assert_int_equal(rc, HR_ERR_RANGE);
  assert_non_null(strstr(dtext(&e), "larger than 67108864 bytes (67108865)"));
  assert_true(dt < 0.5);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(deep_nesting_is_refused_fast),
      cmocka_unit_test(depth_limit_is_exact),
      cmocka_unit_test(too_many_nodes_refused_while_scanning),
      cmocka_unit_test(oversized_file_refused_before_reading),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
