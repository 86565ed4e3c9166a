/* libFuzzer harness for the lease checks on a loaded tree (lease.h).
 *
 * Input: a tree YAML (docs/tree.md), then a line "#====" (a YAML comment,
 * so seeds stay valid trees) and control bytes; without that line the
 * whole input serves as both.  The tree is loaded; a lease system is built
 * on it with a fuzzed policy, ramp and hysteresis; then a few rounds at
 * fuzzed times each run: demands for every leaf (0, NaN, +-inf, 1e300,
 * denormals, raw bits, ordinary values) and a full rebalance, requests and
 * releases with fuzzed amounts, device observations, coordinator stops and
 * restarts, feed losses and mode events.  Every device of the tree is also
 * put through hr_check_device at fuzzed overload multiples.
 *
 * Checks: creation fails only with its documented codes; no call takes
 * more than a second (every loop is documented as bounded by the tree's
 * size, whatever the numbers); the post-condition never had to clamp
 * (hr_lease_stats_t.clamps == 0); every cap is a number >= 0; a timing
 * check row is consistent (margin = rule x trip time - loop time). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuzz_util.h"
#include "headroom/lease.h"
#include "headroom/tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Runs one call's result check: bounded time, documented codes. */
#define TIMED(call)                                                                                \
  do {                                                                                             \
    double t0_ = now_s();                                                                          \
    (void)(call);                                                                                  \
    if (now_s() - t0_ > 1.0)                                                                       \
      abort();                                                                                     \
  } while (0)

static void check_clean(const hr_lease_sys_t *sys, size_t n, int64_t t)
{
  hr_lease_stats_t st;
  if (hr_lease_sys_stats(sys, &st) != HR_OK)
    abort();
  /* A tripped device's subtree is dead, like one on a lost feed, so its
   * floors are not owed and nothing clamps (fuzz/reproducers/lease-
   * rebalance-clamp: a root breaker tripped by an observed current). */
  if (st.clamps != 0)
    abort();
  for (size_t k = 0; k < n; k++) {
    double cap = hr_lease_sys_cap_w(sys, k, t);
    if (!(cap >= 0.0))
      abort();
  }
}

static void check_devices(const hr_tree_t *tree, hr_fz_t *f)
{
  hr_check_cfg_t cc;
  if (hr_check_cfg_init(&cc) != HR_OK)
    abort();
  size_t n = hr_tree_count(tree);
  for (size_t k = 0; k < n; k++) {
    const hr_tree_node_t *nd = hr_tree_node(tree, k);
    if (!nd->device)
      continue;
    double rated = nd->rating_a > 0.0 ? nd->rating_a : 100.0;
    double mult = hr_fz_left(f) ? hr_fz_double(f, 2.0) : 2.0;
    /* A current beyond a double (1e308 x 800 A) must be refused with
     * HR_ERR_RANGE, never answered with a NaN trip time
     * (fuzz/reproducers/lease-check-device-huge-multiple). */
    hr_check_row_t row;
    int rc;
    TIMED(rc = hr_check_device(nd->device, rated, mult, &cc, &row));
    if (rc == HR_OK) {
      if (!isfinite(mult * rated) || isnan(row.t_trip_s) || row.t_trip_s < 0.0 ||
          isnan(row.margin_s) || isnan(row.loop_s) || row.in_time != (row.margin_s >= 0.0))
        abort();
    } else if (rc != HR_ERR_INVALID_ARG && rc != HR_ERR_RANGE) {
      abort();
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size > (1u << 16))
    return 0;
  const uint8_t *yaml, *ctl;
  size_t nyaml, nctl;
  hr_fz_split(data, size, "\n#====\n", &yaml, &nyaml, &ctl, &nctl);
  if (nctl == 0 && ctl == data + size) {
    ctl = data;
    nctl = size;
  }
  hr_fz_t f = hr_fz_init(ctl, nctl);

  hr_tree_t *tree = NULL;
  hr_diag_t te;
  if (hr_tree_load_buffer((const char *)yaml, nyaml, "fuzz", &tree, &te) != HR_OK)
    return 0;
  size_t n = hr_tree_count(tree);
  check_devices(tree, &f);

  hr_lease_cfg_t cfg;
  if (hr_lease_cfg_init(&cfg) != HR_OK)
    abort();
  uint8_t what = hr_fz_u8(&f);
  cfg.coord.policy = (hr_policy_t)(what & 3);
  if (what & 4)
    cfg.coord.ramp_w_per_s = hr_fz_double(&f, 1e4);
  if (what & 8)
    cfg.coord.hyst_w = hr_fz_double(&f, 50.0);
  if (what & 16)
    cfg.coord.reserve_frac = hr_fz_double(&f, 0.1);
  if (what & 32)
    cfg.gpu_floor_frac = hr_fz_double(&f, 0.3);
  if (what & 64)
    cfg.budget.rated_100 = 1;
  hr_lease_sys_t *sys = NULL;
  hr_diag_t why;
  int rc = hr_lease_sys_create(tree, &cfg, &sys, &why);
  if (rc != HR_OK) {
    if (sys || (rc != HR_ERR_INVALID_ARG && rc != HR_ERR_RANGE && rc != HR_ERR_NOMEM))
      abort();
    /* The diag agrees with the code and says something. */
    if (why.code != rc || why.message[0] == '\0' || !memchr(why.message, '\0', sizeof why.message))
      abort();
    hr_tree_destroy(tree);
    return 0;
  }
  double *demand = calloc(n + 1, sizeof *demand);
  if (!demand)
    abort();
  int64_t t = (int64_t)hr_fz_u32(&f) * 1000;
  int rounds = 1 + hr_fz_u8(&f) % 6;
  for (int r = 0; r < rounds; r++) {
    t += (int64_t)(hr_fz_u32(&f) % 3000000000u);
    for (size_t k = 0; k < n; k++) {
      size_t nc = 0;
      hr_tree_children(tree, k, &nc);
      demand[k] = nc == 0 ? hr_fz_double(&f, 500.0) : 0.0;
    }
    uint8_t ops = hr_fz_u8(&f);
    size_t node = n ? (size_t)hr_fz_u32(&f) % n : 0;
    if (ops & 1)
      TIMED(hr_lease_sys_set_events(sys, hr_fz_u8(&f) & 15, t));
    if (ops & 2)
      TIMED(hr_lease_sys_set_feed_lost(sys, hr_fz_u8(&f) & 3, t));
    if (ops & 4)
      TIMED(hr_lease_sys_set_running(sys, node, hr_fz_u8(&f) & 1, t));
    if (ops & 8)
      TIMED(hr_lease_sys_observe(sys, node, hr_fz_double(&f, 100.0), hr_fz_double(&f, 0.1)));
    if (ops & 16)
      TIMED(hr_lease_sys_update_budgets(sys, t));
    TIMED(hr_lease_sys_rebalance(sys, demand, t));
    check_clean(sys, n, t);
    if (ops & 32) {
      hr_lease_t l;
      TIMED(hr_lease_sys_request(sys, node, hr_fz_double(&f, 300.0), t, &l));
      check_clean(sys, n, t);
    }
    if (ops & 64)
      TIMED(hr_lease_sys_release(sys, node, t));
    if (ops & 128) {
      size_t nc = 0;
      hr_tree_children(tree, node, &nc);
      if (nc == 0)
        TIMED(hr_lease_sys_set_floor(sys, node, hr_fz_double(&f, 100.0), t));
    }
    check_clean(sys, n, t);
  }
  free(demand);
  hr_lease_sys_destroy(sys);
  hr_tree_destroy(tree);
  return 0;
}
