/* Helpers shared by the lease tests that check budgets by hand on a tree
 * written out in the test: the tree from its text, a node's index by id,
 * and a comparison within a tolerance that names both values.  Include
 * after <cmocka.h>. */
#ifndef HR_TESTS_BUDGETTEST_H
#define HR_TESTS_BUDGETTEST_H

#include <math.h>
#include <stddef.h>

#include "headroom/tree.h"

/* The tree in text[0, len) (name in diagnostics); one that does not load
 * fails the test with the diagnostic.  Destroy it with hr_tree_destroy. */
static inline hr_tree_t *bt_tree(const char *text, size_t len, const char *name)
{
  hr_tree_t *t = NULL;
  hr_diag_t e;
  if (hr_tree_load_buffer(text, len, name, &t, &e) != HR_OK) {
    char msg[512];
    hr_diag_format(&e, msg, sizeof msg);
    print_error("%s\n", msg);
    fail();
  }
  return t;
}

static inline size_t bt_idx(const hr_tree_t *t, const char *id)
{
  size_t k = 0;
  assert_int_equal(hr_tree_find(t, id, &k), HR_OK);
  return k;
}

static inline void bt_near(double got, double want, double tol)
{
  if (!(fabs(got - want) <= tol)) {
    print_error("got %.9g want %.9g\n", got, want);
    fail();
  }
}

#endif
