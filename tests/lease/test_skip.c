/* The exact skip of a rebalance (hr_lease_sys_rebalance, docs/lease.md
 * "Skipping a rebalance") against the same system with the skip off
 * (hr__lease_set_plain): two systems over the same random tree, driven by
 * the same calls, must hold the same leases, anti-oscillation state,
 * per-conductor caps, mode and stats, bit for bit, after every call.  The
 * drive repeats identical demands most of the time (where the skip runs),
 * interleaved with changes, and moves time by 0-3 ms (inside the ramps,
 * the dwell and the damper holds, which time alone releases) or past a
 * lease's life, with budget updates, events, requests and stopped
 * coordinators now and then; the trees have 8-GPU servers (the lane fill),
 * other server sizes, three-phase servers, a leaf beside servers and, at
 * times, the site's grid ramp limit.  The test also asserts that the skip
 * ran (a skip that never runs would pass the comparison trivially). */
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
#include "lease/lease_int.h"
#include "leasetest.h"

#define MS 1000000LL

static long n_steps, n_rebal;
static uint64_t n_skipped;

/* Root (with grid = 1 sometimes with a grid ramp limit) -> racks -> servers
 * -> GPUs. */
static hr_tree_t *random_tree(int grid_ok)
{
  buf_t b = {0};
  put(&b, "version: 1\nname: skip\nnodes:\n");
  int n_rack = 1 + irand(3);
  double tot = 0.0;
  int n_srv[3], n_gpu[3][5], three[3][5], lone[3];
  double gpu_w[3][5], srv_w[3][5], rack_w[3];
  for (int r = 0; r < n_rack; r++) {
    n_srv[r] = 1 + irand(5);
    double sum = 0.0, most = 0.0;
    for (int s = 0; s < n_srv[r]; s++) {
      n_gpu[r][s] = irand(2) ? 8 : 1 + irand(9);
      gpu_w[r][s] = 100.0 * (3 + irand(8));
      three[r][s] = irand(2);
      srv_w[r][s] = ceil(n_gpu[r][s] * gpu_w[r][s] * unif(0.6, 1.3));
      if (srv_w[r][s] < gpu_w[r][s])
        srv_w[r][s] = gpu_w[r][s];
      sum += srv_w[r][s];
      most = srv_w[r][s] > most ? srv_w[r][s] : most;
    }
    lone[r] = irand(4) == 0;
    rack_w[r] = ceil(sum * unif(0.6, 1.2) + (lone[r] ? 1000.0 : 0.0));
    if (rack_w[r] < 3.0 * most)
      rack_w[r] = ceil(3.0 * most); /* every conductor carries any one server */
    tot += rack_w[r];
  }
  double root_w = ceil(tot * unif(0.5, 1.0));
  for (int r = 0; r < n_rack; r++)
    root_w = root_w < rack_w[r] ? rack_w[r] : root_w;
  char grid[96] = "";
  if (grid_ok && irand(3) == 0)
    snprintf(grid, sizeof grid, " grid: {max_ramp_w_per_s: %.0f, ramp_window_s: %.2f},",
             unif(2e3, 5e4), unif(0.05, 1.0));
  put(&b,
      "  - {id: site, kind: switchgear, parent: null, voltage_v: 415, phases: 3,%s"
      " rating_w: %.0f}\n",
      grid, root_w);
  const char *ph[3] = {"a", "b", "c"};
  for (int r = 0; r < n_rack; r++)
    put(&b, "  - {id: rack%d, kind: rack, parent: site, rating_w: %.0f}\n", r, rack_w[r]);
  for (int r = 0; r < n_rack; r++) {
    for (int s = 0; s < n_srv[r]; s++) {
      if (three[r][s])
        put(&b, "  - {id: s%d-%d, kind: server, parent: rack%d, phases: 3, rating_w: %.0f}\n", r, s,
            r, srv_w[r][s]);
      else
        put(&b,
            "  - {id: s%d-%d, kind: server, parent: rack%d, phases: 1, phase: %s,"
            " rating_w: %.0f}\n",
            r, s, r, ph[s % 3], srv_w[r][s]);
    }
    for (int s = 0; s < n_srv[r]; s++)
      for (int g = 0; g < n_gpu[r][s]; g++)
        put(&b, "  - {id: g%d-%d-%d, kind: gpu, parent: s%d-%d, rating_w: %.0f}\n", r, s, g, r, s,
            gpu_w[r][s]);
    if (lone[r])
      put(&b, "  - {id: lone%d, kind: gpu, parent: rack%d, rating_w: 700}\n", r, r);
  }
  return load_buf(&b, "skip.yaml");
}

/* Every lease field, the anti-oscillation state, the cap now and later,
 * the mode and every stat of a (skip on) and b (skip off). */
static void compare(const hr_lease_sys_t *a, const hr_lease_sys_t *b, const hr_tree_t *t,
                    int64_t now, uint64_t seed, int step, const char *what)
{
  size_t n = hr_tree_count(t);
  for (size_t k = 0; k < n; k++) {
    const hr_lease_t la = *hr_lease_sys_lease(a, k), lb = *hr_lease_sys_lease(b, k);
    int64_t oa[5], ob[5];
    assert_int_equal(hr__lease_sys_osc(a, k, oa), HR_OK);
    assert_int_equal(hr__lease_sys_osc(b, k, ob), HR_OK);
    int same = same_bits(la.p_w, lb.p_w) && la.expiry_ns == lb.expiry_ns &&
               la.granted_ns == lb.granted_ns && same_bits(la.floor_w, lb.floor_w) &&
               la.priority == lb.priority && memcmp(oa, ob, sizeof oa) == 0;
    for (int q = 0; q < 3; q++)
      same = same && same_bits(la.phase_w[q], lb.phase_w[q]) &&
             same_bits(la.floor_phase_w[q], lb.floor_phase_w[q]);
    for (int64_t dt = 0; dt <= 50 * MS; dt += 25 * MS)
      same =
          same && same_bits(hr_lease_sys_cap_w(a, k, now + dt), hr_lease_sys_cap_w(b, k, now + dt));
    if (!same) {
      print_error("seed %llu step %d (%s) node %s: skip p %.17g exp %lld granted %lld osc %lld "
                  "%lld %lld %lld %lld; full p %.17g exp %lld granted %lld osc %lld %lld %lld "
                  "%lld %lld\n",
                  (unsigned long long)seed, step, what, hr_tree_node(t, k)->id, la.p_w,
                  (long long)la.expiry_ns, (long long)la.granted_ns, (long long)oa[0],
                  (long long)oa[1], (long long)oa[2], (long long)oa[3], (long long)oa[4], lb.p_w,
                  (long long)lb.expiry_ns, (long long)lb.granted_ns, (long long)ob[0],
                  (long long)ob[1], (long long)ob[2], (long long)ob[3], (long long)ob[4]);
      fail();
    }
  }
  hr_lease_stats_t sa, sb;
  assert_int_equal(hr_lease_sys_stats(a, &sa), HR_OK);
  assert_int_equal(hr_lease_sys_stats(b, &sb), HR_OK);
  if (sa.rebalances != sb.rebalances || sa.requests != sb.requests || sa.clamps != sb.clamps ||
      !same_bits(sa.clamp_max_w, sb.clamp_max_w) || sa.clamp_node != sb.clamp_node ||
      sa.clamp_ns != sb.clamp_ns || hr_lease_sys_mode(a) != hr_lease_sys_mode(b) ||
      hr_lease_sys_events(a) != hr_lease_sys_events(b)) {
    print_error("seed %llu step %d (%s): stats differ: rebalances %llu/%llu clamps %llu/%llu "
                "mode %d/%d\n",
                (unsigned long long)seed, step, what, (unsigned long long)sa.rebalances,
                (unsigned long long)sb.rebalances, (unsigned long long)sa.clamps,
                (unsigned long long)sb.clamps, (int)hr_lease_sys_mode(a),
                (int)hr_lease_sys_mode(b));
    fail();
  }
}

static void random_coord(hr_coord_cfg_t *c)
{
  hr_lease_cfg_t lc;
  hr_lease_cfg_init(&lc);
  *c = lc.coord;
  c->policy = (hr_policy_t)irand(4);
  c->reserve_frac = irand(3) ? 0.0 : 0.1;
  c->ramp_w_per_s = irand(4) == 0 ? INFINITY : unif(1e3, 5e4);
  c->hyst_w = irand(2) ? 0.0 : unif(0.0, 300.0);
  c->dwell_ns = irand(3) == 0 ? 0 : irand(40) * MS;
  c->damp_changes = 1 + irand(4);
  c->damp_window_ns = (1 + irand(10)) * 100 * MS;
  c->damp_hold_ns = irand(10) * 100 * MS;
}

/* Both systems' calls, the same arguments, the same return code. */
#define BOTH(call_a, call_b) assert_int_equal((call_a), (call_b))

static void run_seed(uint64_t seed)
{
  rng = seed * 0x9E3779B97F4A7C15ull + 11;
  hr_tree_t *t = random_tree(1);
  size_t n = hr_tree_count(t);
  const hr_tree_node_t *nodes = hr_tree_nodes(t);
  hr_lease_cfg_t cfg;
  hr_lease_cfg_init(&cfg);
  random_coord(&cfg.coord);
  cfg.tier[HR_TIER_GPU].token_w = irand(2) ? 100.0 : unif(1.0, 150.0);
  cfg.tier[HR_TIER_RACK].token_w = irand(2) ? 1000.0 : unif(10.0, 500.0);
  if (irand(2))
    cfg.tier[HR_TIER_GPU].ttl_ns = (5 + irand(60)) * MS;
  cfg.stable_ns = (10 + irand(100)) * MS; /* back to normal within the run */
  int with_events = irand(3) == 0;
  /* Demands change every 4th call on average, or every 40th (long stretches
   * of one demand, where only time moves: ramps and envelopes creep). */
  int change = irand(2) ? 4 : 40;
  hr_lease_sys_t *a = NULL, *b = NULL;
  assert_int_equal(hr_lease_sys_create(t, &cfg, &a, NULL), HR_OK);
  assert_int_equal(hr_lease_sys_create(t, &cfg, &b, NULL), HR_OK);
  hr__lease_set_plain(b, 1);
  for (size_t k = 0; k < n; k++) {
    size_t m = 0;
    hr_tree_children(t, k, &m);
    if (m > 0 && irand(3) == 0) {
      hr_coord_cfg_t c;
      random_coord(&c);
      BOTH(hr_lease_sys_set_coord(a, k, &c), hr_lease_sys_set_coord(b, k, &c));
    }
    if (irand(6) == 0) {
      int p = irand(3);
      BOTH(hr_lease_sys_set_priority(a, k, p), hr_lease_sys_set_priority(b, k, p));
    }
  }
  double *dem = calloc(n, sizeof *dem);
  assert_non_null(dem);
  for (size_t k = 0; k < n; k++)
    dem[k] = nodes[k].capacity_w * unif(0.2, 0.9);
  int64_t now = 1000 * MS;
  long stopped = -1;
  unsigned events = 0;
  uint64_t skipped0 = hr__lease_skipped(a);
  for (int step = 0; step < 400; step++) {
    /* Time: mostly the agent's 1-3 ms between decisions (inside ramps,
     * dwells, holds and leases), sometimes 0, sometimes past a lease. */
    int dt = irand(20);
    now += dt == 0 ? 0 : dt < 16 ? (1 + irand(3)) * MS : 5 * MS + irand(100 * MS);
    /* Demands: the same bit for bit most of the time; else some change (a
     * step up or down, a job stopping, NAN or a negative reading). */
    if (irand(change) == 0) {
      int many = irand(3) == 0;
      for (size_t k = 0; k < n; k++) {
        if (!many && irand(4))
          continue;
        double cap = nodes[k].capacity_w;
        int r = irand(16);
        dem[k] = r == 0 ? NAN : r == 1 ? -5.0 : r == 2 ? cap * unif(1.0, 1.5) : cap * unif(0, 0.95);
      }
    }
    const char *what = "rebalance";
    int op = irand(100);
    if (op == 0) {
      what = "budgets";
      for (size_t k = 0; k < n; k++) {
        double i = unif(0.0, 1.2) * 10.0;
        BOTH(hr_lease_sys_observe(a, k, i, 0.01), hr_lease_sys_observe(b, k, i, 0.01));
      }
      BOTH(hr_lease_sys_update_budgets(a, now), hr_lease_sys_update_budgets(b, now));
    } else if (op == 1) {
      what = "request";
      size_t k = (size_t)irand((int)n);
      if (nodes[k].parent >= 0) {
        double want = unif(0.0, 1.3) * nodes[k].capacity_w;
        BOTH(hr_lease_sys_request(a, k, want, now, NULL),
             hr_lease_sys_request(b, k, want, now, NULL));
      }
    } else if (op == 2 && stopped < 0) {
      what = "stop";
      stopped = irand((int)n);
      BOTH(hr_lease_sys_set_running(a, (size_t)stopped, 0, now),
           hr_lease_sys_set_running(b, (size_t)stopped, 0, now));
    } else if (op >= 3 && op < 15 && stopped >= 0) {
      what = "restart";
      BOTH(hr_lease_sys_set_running(a, (size_t)stopped, 1, now),
           hr_lease_sys_set_running(b, (size_t)stopped, 1, now));
      stopped = -1;
    } else if (op == 4) {
      what = "priority";
      size_t k = (size_t)irand((int)n);
      int p = irand(3);
      BOTH(hr_lease_sys_set_priority(a, k, p), hr_lease_sys_set_priority(b, k, p));
    }
    /* The agent sets the events before every decision: mostly the same. */
    if (irand(60) == 0)
      events = with_events && irand(2) ? (unsigned)irand(8) : 0u;
    BOTH(hr_lease_sys_set_events(a, events, now), hr_lease_sys_set_events(b, events, now));
    BOTH(hr_lease_sys_rebalance(a, dem, now), hr_lease_sys_rebalance(b, dem, now));
    n_rebal++;
    compare(a, b, t, now, seed, step, what);
    n_steps++;
  }
  n_skipped += hr__lease_skipped(a) - skipped0;
  assert_true(hr__lease_skipped(b) == 0);
  free(dem);
  hr_lease_sys_destroy(a);
  hr_lease_sys_destroy(b);
  hr_tree_destroy(t);
}

static void test_skip_equals_full(void **st)
{
  (void)st;
  for (uint64_t seed = 1; seed <= 150; seed++)
    run_seed(seed);
  print_message("%ld rebalances compared, %llu skipped\n", n_rebal, (unsigned long long)n_skipped);
  /* The skip ran, often: a fifth of the rebalances at least (about half of
   * them repeat their demands). */
  assert_true(n_skipped * 5 > (uint64_t)n_rebal);
}

/* The record is cleared by what changes the system between rebalances: a
 * request after a recorded rebalance must not be renewed over. */
static void test_skip_off_after_request(void **st)
{
  (void)st;
  rng = 99;
  hr_tree_t *t = random_tree(0);
  size_t n = hr_tree_count(t);
  hr_lease_cfg_t cfg;
  hr_lease_cfg_init(&cfg);
  cfg.coord.ramp_w_per_s = INFINITY;
  cfg.coord.dwell_ns = 0;
  hr_lease_sys_t *a = NULL;
  assert_int_equal(hr_lease_sys_create(t, &cfg, &a, NULL), HR_OK);
  double *dem = calloc(n, sizeof *dem);
  assert_non_null(dem);
  for (size_t k = 0; k < n; k++)
    dem[k] = 0.5 * hr_tree_nodes(t)[k].capacity_w;
  int64_t now = 1000 * MS;
  for (int i = 0; i < 5; i++, now += MS)
    assert_int_equal(hr_lease_sys_rebalance(a, dem, now), HR_OK);
  uint64_t s0 = hr__lease_skipped(a);
  assert_true(s0 >= 1); /* the same demands, nothing binding: skipped */
  size_t leaf = n - 1;
  assert_int_equal(hr_lease_sys_request(a, leaf, 0.0, now, NULL), HR_OK);
  assert_int_equal(hr_lease_sys_rebalance(a, dem, now + MS), HR_OK);
  assert_true(hr__lease_skipped(a) == s0); /* in full after the request */
  hr__lease_set_plain(a, 1);
  for (int i = 0; i < 3; i++)
    assert_int_equal(hr_lease_sys_rebalance(a, dem, now + (2 + i) * MS), HR_OK);
  assert_true(hr__lease_skipped(a) == s0); /* plain: never skipped */
  free(dem);
  hr_lease_sys_destroy(a);
  hr_tree_destroy(t);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_skip_equals_full),
      cmocka_unit_test(test_skip_off_after_request),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
