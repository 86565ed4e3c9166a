/* A pair of lease systems over one tree, [0] rebalanced by the fast form and
 * [1] by the reference form (src/lease/rebalance_ref.c), for tests that
 * drive both through the same calls and require the same leases, bit for
 * bit, and no post-condition clamp.  Include after <cmocka.h>. */
#ifndef HR_TESTS_PAIRTEST_H
#define HR_TESTS_PAIRTEST_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "headroom/lease.h"
#include "headroom/tree.h"
#include "lease/lease_int.h"

typedef struct fx {
  hr_tree_t *t;
  hr_lease_sys_t *s[2]; /* [0] fast rebalance, [1] the reference */
  double *dem;
  size_t n;
} fx_t;

/* Loads yaml (named name in messages) and creates both systems with the
 * default configuration; every node's demand is 1e9 W (all it can get). */
static void open_fx(fx_t *f, const char *yaml, const char *name)
{
  memset(f, 0, sizeof *f);
  hr_diag_t e;
  assert_int_equal(hr_tree_load_buffer(yaml, strlen(yaml), name, &f->t, &e), HR_OK);
  hr_lease_cfg_t c;
  hr_lease_cfg_init(&c);
  for (int k = 0; k < 2; k++)
    assert_int_equal(hr_lease_sys_create(f->t, &c, &f->s[k], NULL), HR_OK);
  f->n = hr_tree_count(f->t);
  f->dem = calloc(f->n, sizeof *f->dem);
  assert_non_null(f->dem);
  for (size_t k = 0; k < f->n; k++)
    f->dem[k] = 1e9;
}

static void close_fx(fx_t *f)
{
  for (int k = 0; k < 2; k++)
    hr_lease_sys_destroy(f->s[k]);
  hr_tree_destroy(f->t);
  free(f->dem);
}

static size_t node(const fx_t *f, const char *id)
{
  size_t k = 0;
  assert_int_equal(hr_tree_find(f->t, id, &k), HR_OK);
  return k;
}

static int same_bits(double a, double b)
{
  return memcmp(&a, &b, sizeof a) == 0;
}

static void no_clamps(const fx_t *f)
{
  for (int j = 0; j < 2; j++) {
    hr_lease_stats_t st;
    assert_int_equal(hr_lease_sys_stats(f->s[j], &st), HR_OK);
    assert_int_equal(st.clamps, 0);
  }
}

/* Both systems hold the same leases and caps at t. */
static void same(const fx_t *f, int64_t t)
{
  for (size_t k = 0; k < f->n; k++) {
    const hr_lease_t *a = hr_lease_sys_lease(f->s[0], k), *b = hr_lease_sys_lease(f->s[1], k);
    assert_true(same_bits(a->p_w, b->p_w) && a->expiry_ns == b->expiry_ns);
    assert_true(same_bits(hr_lease_sys_cap_w(f->s[0], k, t), hr_lease_sys_cap_w(f->s[1], k, t)));
  }
}

/* Rebalances both at t: the same leases, no clamp. */
static void rebalance(fx_t *f, int64_t t)
{
  assert_int_equal(hr_lease_sys_rebalance(f->s[0], f->dem, t), HR_OK);
  assert_int_equal(hr__lease_sys_rebalance_ref(f->s[1], f->dem, t), HR_OK);
  same(f, t);
  no_clamps(f);
}

#endif
