/* Token rounding does not starve a subtree: a few GPUs in a big row ask for
 * their full power and get it, in both forms of the rebalance.
 *
 * Every coordinator rounds its grant down to its tier's token above its
 * floor.  Before coordinators rounded their demand up, 8 GPUs (700 W each,
 * floors 210 W) under a 1-kW-token rack and row asked 5600 W, were offered
 * 5600 W and kept 1680 + 3 x 1000 = 4680 W: 580 W per GPU for ever, with
 * 115 kW of room in the row.  The reference here is arithmetic: what the
 * leaves ask fits every limit, so each must be granted its ask. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "headroom/lease.h"
#include "headroom/loop.h"
#include "lease/lease_int.h"

static void run(int ref, double want_w, int n_pop, double expect_w)
{
  hr_tree_t *t = NULL;
  hr_diag_t e;
  assert_int_equal(hr_tree_load_file(HR_SOURCE_DIR "/scenarios/trees/row-4x10.yaml", &t, &e),
                   HR_OK);
  hr_agent_cfg_t ac; /* the agent's tokens: 10 W / 100 W / 1 kW / 10 kW */
  assert_int_equal(hr_agent_cfg_init(&ac, HR_LOOP_LEASE), HR_OK);
  hr_lease_sys_t *s = NULL;
  assert_int_equal(hr_lease_sys_create(t, &ac.lease, &s, NULL), HR_OK);
  size_t n = hr_tree_count(t);
  double *dem = calloc(n, sizeof *dem);
  assert_non_null(dem);
  int leaves = 0;
  for (size_t k = 0; k < n; k++) {
    if (hr_tree_node(t, k)->n_children)
      continue;
    /* The populated GPUs are spread one per server (every phase, every
     * rack tier rounding at work); the other slots are empty. */
    int pop = leaves % 8 == 0 && leaves / 8 < n_pop;
    if (pop) {
      assert_int_equal(hr_lease_sys_set_rated_100(s, k, 1, 0), HR_OK);
      dem[k] = want_w;
    } else {
      assert_int_equal(hr_lease_sys_set_floor(s, k, 0.0, 0), HR_OK);
    }
    leaves++;
  }
  for (int i = 0; i < 500; i++) {
    int64_t tt = (int64_t)i * 10000000;
    int rc = ref ? hr__lease_sys_rebalance_ref(s, dem, tt) : hr_lease_sys_rebalance(s, dem, tt);
    assert_int_equal(rc, HR_OK);
  }
  int64_t t_end = 499 * (int64_t)10000000;
  leaves = 0;
  for (size_t k = 0; k < n; k++) {
    if (hr_tree_node(t, k)->n_children)
      continue;
    if (dem[k] > 0.0)
      assert_true(fabs(hr_lease_sys_cap_w(s, k, t_end) - expect_w) < 1e-9);
    leaves++;
  }
  hr_lease_stats_t stt;
  assert_int_equal(hr_lease_sys_stats(s, &stt), HR_OK);
  assert_int_equal(stt.clamps, 0);
  free(dem);
  hr_lease_sys_destroy(s);
  hr_tree_destroy(t);
}

static void test_full_power_fast(void **st)
{
  (void)st;
  run(0, 700.0, 8, 700.0);
  run(0, 455.0, 8, 450.0); /* asks between GPU tokens: the GPU's own 10 W rounds down */
  run(0, 700.0, 40, 700.0);
}

static void test_full_power_ref(void **st)
{
  (void)st;
  run(1, 700.0, 8, 700.0);
  run(1, 455.0, 8, 450.0);
  run(1, 700.0, 40, 700.0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_full_power_fast),
      cmocka_unit_test(test_full_power_ref),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
