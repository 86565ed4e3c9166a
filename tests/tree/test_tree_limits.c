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
 * limited while scanning; now it is refused at level 33. */
static void deep_nesting_is_refused_fast(void **state)
{
  (void)state;
  size_t len;
  char *s = nested(100000, &len);
  hr_tree_t *t = NULL;
  hr_diag_t e;
  int rc = hr_tree_load_buffer(s, len, "deep.yaml", &t, &e);
  free(s);
  assert_int_equal(rc, HR_ERR_RANGE);
  assert_null(t);
  assert_non_null(strstr(dtext(&e), "nested deeper than 32 levels"));
  assert_int_equal(e.line, 1);
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
  int rc = hr_tree_load_file(path, &t, &e);
  unlink(path);
  assert_int_equal(rc, HR_ERR_RANGE);
  assert_non_null(strstr(dtext(&e), "larger than 67108864 bytes (67108865)"));
}

/* The loader reads the `nodes` list one item at a time (docs/tree.md,
 * "Limits"); YAML aliases to anchors in earlier items, in the same item and
 * at the top level must still resolve as libyaml's whole-document loader
 * resolves them.  The same tree written out in full is the reference. */
static const char *aliased =
    "version: 1\n"
    "name: &nm aliased\n"
    "nodes:\n"
    "  - id: sw\n"
    "    kind: switchgear\n"
    "    parent: null\n"
    "    voltage_v: 415\n"
    "    phases: 3\n"
    "    rating_kw: 400\n"
    "    device: &lsi {type: trip_unit, curve: LSI, in_a: 800, tr_s: 12, isd: 6, tsd_s: 0.3, ii: "
    "12}\n"
    "  - id: pdu1\n"
    "    name: *nm\n"
    "    kind: pdu\n"
    "    parent: &top sw\n"
    "    rating_a: 250\n"
    "    device: &fuse {type: fuse, melt: &melt [[300, 3600], [600, 10], [2000, 0.05]]}\n"
    "  - id: pdu2\n"
    "    kind: pdu\n"
    "    parent: *top\n"
    "    rating_a: 250\n"
    "    device: *fuse\n"
    "  - id: pdu3\n"
    "    kind: pdu\n"
    "    parent: sw\n"
    "    rating_a: 250\n"
    "    device: {type: fuse, melt: *melt}\n";

static const char *expanded =
    "version: 1\n"
    "name: aliased\n"
    "nodes:\n"
    "  - id: sw\n"
    "    kind: switchgear\n"
    "    parent: null\n"
    "    voltage_v: 415\n"
    "    phases: 3\n"
    "    rating_kw: 400\n"
    "    device: {type: trip_unit, curve: LSI, in_a: 800, tr_s: 12, isd: 6, tsd_s: 0.3, ii: 12}\n"
    "  - id: pdu1\n"
    "    name: aliased\n"
    "    kind: pdu\n"
    "    parent: sw\n"
    "    rating_a: 250\n"
    "    device: {type: fuse, melt: [[300, 3600], [600, 10], [2000, 0.05]]}\n"
    "  - id: pdu2\n"
    "    kind: pdu\n"
    "    parent: sw\n"
    "    rating_a: 250\n"
    "    device: {type: fuse, melt: [[300, 3600], [600, 10], [2000, 0.05]]}\n"
    "  - id: pdu3\n"
    "    kind: pdu\n"
    "    parent: sw\n"
    "    rating_a: 250\n"
    "    device: {type: fuse, melt: [[300, 3600], [600, 10], [2000, 0.05]]}\n";

static void aliases_resolve_across_streamed_items(void **state)
{
  (void)state;
  hr_tree_t *a = NULL, *b = NULL;
  hr_diag_t e;
  assert_int_equal(hr_tree_load_buffer(aliased, strlen(aliased), "aliased.yaml", &a, &e), HR_OK);
  assert_int_equal(hr_tree_load_buffer(expanded, strlen(expanded), "expanded.yaml", &b, &e), HR_OK);
  assert_int_equal(hr_tree_count(a), 4);
  assert_int_equal(hr_tree_count(b), 4);
  for (size_t k = 0; k < 4; k++) {
    const hr_tree_node_t *x = hr_tree_node(a, k), *y = hr_tree_node(b, k);
    assert_string_equal(x->id, y->id);
    assert_string_equal(x->name, y->name);
    assert_int_equal(x->parent, y->parent);
    assert_true(x->rating_a == y->rating_a);
    assert_true(x->capacity_w == y->capacity_w);
    assert_non_null(x->device);
    assert_non_null(y->device);
    assert_memory_equal(x->device, y->device, sizeof *x->device);
    assert_int_equal(x->line, y->line);
  }
  hr_tree_destroy(a);
  hr_tree_destroy(b);
}

/* An alias to an anchor defined nowhere before it is refused at its place. */
static void undefined_alias_is_located(void **state)
{
  (void)state;
  const char *s = "version: 1\n"
                  "nodes:\n"
                  "  - id: sw\n"
                  "    kind: switchgear\n"
                  "    parent: null\n"
                  "    voltage_v: 415\n"
                  "    phases: 3\n"
                  "    rating_kw: 400\n"
                  "    device: *nowhere\n";
  hr_tree_t *t = NULL;
  hr_diag_t e;
  assert_int_equal(hr_tree_load_buffer(s, strlen(s), "alias.yaml", &t, &e), HR_ERR_PARSE);
  assert_null(t);
  assert_int_equal(e.line, 9);
  assert_non_null(strstr(dtext(&e), "undefined alias"));
}

/* A "billion laughs" whose anchors sit at the top level, where the values
 * are checked only after the list: each level is copied for the next part,
 * and the copies are counted, so it is refused, not expanded. */
static void alias_expansion_is_bounded(void **state)
{
  (void)state;
  char s[2048];
  size_t n = (size_t)snprintf(s, sizeof s, "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
  for (int k = 1; k <= 9; k++)
    n += (size_t)snprintf(
        s + n, sizeof s - n,
        "l%d: &l%d [*l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d]\n", k, k, k - 1,
        k - 1, k - 1, k - 1, k - 1, k - 1, k - 1, k - 1, k - 1, k - 1);
  n += (size_t)snprintf(s + n, sizeof s - n, "nodes:\n  - {id: a}\n");
  hr_tree_t *t = NULL;
  hr_diag_t e;
  assert_int_equal(hr_tree_load_buffer(s, n, "laughs.yaml", &t, &e), HR_ERR_RANGE);
  assert_null(t);
  assert_non_null(strstr(dtext(&e), "aliases expand to more than"));
}

/* A second document in the file is refused (it would be ignored). */
static void second_document_is_refused(void **state)
{
  (void)state;
  char *s = malloc(strlen(expanded) + 32);
  assert_non_null(s);
  strcpy(s, expanded);
  strcat(s, "---\nversion: 1\n");
  hr_tree_t *t = NULL;
  hr_diag_t e;
  assert_int_equal(hr_tree_load_buffer(s, strlen(s), "two.yaml", &t, &e), HR_ERR_PARSE);
  free(s);
  assert_non_null(strstr(dtext(&e), "more than one YAML document"));
  assert_int_equal(e.line, 28);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(deep_nesting_is_refused_fast),
      cmocka_unit_test(depth_limit_is_exact),
      cmocka_unit_test(too_many_nodes_refused_while_scanning),
      cmocka_unit_test(oversized_file_refused_before_reading),
      cmocka_unit_test(aliases_resolve_across_streamed_items),
      cmocka_unit_test(undefined_alias_is_located),
      cmocka_unit_test(alias_expansion_is_bounded),
      cmocka_unit_test(second_document_is_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
