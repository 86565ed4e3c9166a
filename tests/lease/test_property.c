/* Property tests over random trees, demands and failures (seeded RNG):
 *   1. the unexpired grants under any node never exceed its budget (in total
 *      and per phase conductor);
 *   2. with a coordinator stopped, every GPU below it is at or below its
 *      floor within one lease time;
 *   3. no grant pushes any device's predicted thermal state (over the burst
 *      window) past its margin.
 * Each seed builds a tree (plain or 2N), then runs a few hundred 10 ms steps
 * of random requests, rebalances, thermal observations, stopped
 * coordinators, mode events and feed losses, checking after every step. */
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
#define SQRT3 1.7320508075688772

static long n_tight, n_floor_checks;

static double amps(double w)
{
  return ceil(w / (415.0 * SQRT3));
}

/* A random tree: roots (one, or A and B in 2N), racks/rack PDUs, single-phase
 * servers (dual-corded in 2N), GPUs.  Ratings leave room for the 30 % floors. */
static hr_tree_t *random_tree(int two_n)
{
  buf_t b = {0};
  put(&b, "version: 1\nname: rnd\nredundancy: %s\nnodes:\n", two_n ? "2n" : "none");
  int n_rack = 1 + irand(4);
  int n_srv[8], n_gpu[8][4];
  double gpu_w[8][4], srv_w[8][4], rack_w[8], tot_rack = 0.0;
  for (int r = 0; r < n_rack; r++) {
    n_srv[r] = 1 + irand(4);
    double max_srv = 0.0;
    for (int s = 0; s < n_srv[r]; s++) {
      n_gpu[r][s] = 1 + irand(8);
      gpu_w[r][s] = 100.0 * (3 + irand(8));
      srv_w[r][s] = ceil(n_gpu[r][s] * gpu_w[r][s] * unif(0.5, 1.2));
      if (srv_w[r][s] < gpu_w[r][s])
        srv_w[r][s] = gpu_w[r][s];
      if (srv_w[r][s] > max_srv)
        max_srv = srv_w[r][s];
    }
    /* Big enough per phase for every server at its rating (round-robin
     * phases): the contention is at the root. */
    rack_w[r] = ceil(3.0 * max_srv * ((n_srv[r] + 2) / 3) * unif(1.0, 1.3));
    tot_rack += rack_w[r];
  }
  double floors = 0.0;
  for (int r = 0; r < n_rack; r++)
    for (int s = 0; s < n_srv[r]; s++)
      floors += 0.3 * n_gpu[r][s] * gpu_w[r][s];
  double root_w = tot_rack * unif(0.3, 1.0);
  if (root_w < floors / 0.8 * 1.2)
    root_w = floors / 0.8 * 1.2;
  double max_rack = 0.0;
  for (int r = 0; r < n_rack; r++)
    if (rack_w[r] > max_rack)
      max_rack = rack_w[r];
  if (root_w < max_rack)
    root_w = max_rack;
  const char *sides[2] = {"a", "b"};
  for (int f = 0; f < (two_n ? 2 : 1); f++) {
    put(&b,
        "  - {id: root-%s, kind: switchgear, parent: null, voltage_v: 415, phases: 3,%s"
        " rating_w: %.0f, device: {type: trip_unit, curve: LSI, in_a: %.0f, tr_s: %d,"
        " isd: 6, tsd_s: 0.2, ii: 10}}\n",
        sides[f], two_n ? (f ? " feed: b," : " feed: a,") : "", root_w, amps(root_w),
        4 + 4 * irand(3));
    for (int r = 0; r < n_rack; r++)
      put(&b,
          "  - {id: rack-%s%d, kind: %s, parent: root-%s, rating_w: %.0f,"
          " device: {type: trip_unit, curve: LI, in_a: %.0f, tr_s: %d, ii: 10}}\n",
          sides[f], r, two_n ? "pdu" : "rack", sides[f], rack_w[r], amps(rack_w[r]), 1 + irand(8));
  }
  const char *ph[3] = {"a", "b", "c"};
  for (int r = 0; r < n_rack; r++)
    for (int s = 0; s < n_srv[r]; s++) {
      if (two_n)
        put(&b,
            "  - {id: s%d-%d, kind: server, parent: rack-a%d, parent_b: rack-b%d, phases: 1,"
            " phase: %s, phase_b: %s, rating_w: %.0f}\n",
            r, s, r, r, ph[s % 3], ph[(s + irand(3)) % 3 == s % 3 ? s % 3 : s % 3], srv_w[r][s]);
      else
        put(&b,
            "  - {id: s%d-%d, kind: server, parent: rack-a%d, phases: 1, phase: %s,"
            " rating_w: %.0f}\n",
            r, s, r, ph[s % 3], srv_w[r][s]);
      for (int g = 0; g < n_gpu[r][s]; g++)
        put(&b, "  - {id: g%d-%d-%d, kind: gpu, parent: s%d-%d, rating_w: %.0f}\n", r, s, g, r, s,
            gpu_w[r][s]);
    }
  return load_buf(&b, "rnd.yaml");
}

static double sum_children(const hr_lease_sys_t *s, const hr_tree_t *t, size_t p, int64_t now,
                           const unsigned char *dead)
{
  size_t n = 0;
  const int32_t *ch = hr_tree_children(t, p, &n);
  double sum = 0.0;
  for (size_t j = 0; j < n; j++)
    if (!dead[ch[j]])
      sum += hr_lease_sys_cap_w(s, (size_t)ch[j], now);
  return sum;
}

static void check_invariants(const hr_lease_sys_t *s, const hr_tree_t *t, int64_t now,
                             const unsigned char *dead, const hr_lease_cfg_t *cfg)
{
  size_t n = hr_tree_count(t);
  for (size_t p = 0; p < n; p++) {
    size_t m = 0;
    const int32_t *ch = hr_tree_children(t, p, &m);
    if (m == 0 || dead[p])
      continue;
    const hr_tree_node_t *np = hr_tree_node(t, p);
    const hr_budget_t *b = hr_lease_sys_budget(s, p);
    double floor_p = hr_lease_sys_lease(s, p)->floor_w;
    double lim = b->limit_w > floor_p ? b->limit_w : floor_p;
    double avail = hr_lease_sys_avail_w(s, p, now);
    double sum = sum_children(s, t, p, now, dead);
    if (sum > 0.9 * avail && sum > floor_p * 1.01)
      n_tight++;
    if (sum > lim * (1 + 1e-9) + 1e-6 || sum > avail * (1 + 1e-9) + 1e-6) {
      print_error("node %s: grants %.3f > budget %.3f / avail %.3f at t=%lld\n", np->id, sum,
                  b->limit_w, avail, (long long)now);
      const hr_lease_t *lp = hr_lease_sys_lease(s, p);
      print_error("  own lease p %.1f exp %lld granted %lld floor %.1f mode %d\n", lp->p_w,
                  (long long)lp->expiry_ns, (long long)lp->granted_ns, lp->floor_w,
                  hr_lease_sys_mode(s));
      for (size_t j = 0; j < m; j++) {
        const hr_lease_t *l = hr_lease_sys_lease(s, (size_t)ch[j]);
        print_error("  child %s p %.1f exp %lld granted %lld floor %.1f\n",
                    hr_tree_node(t, (size_t)ch[j])->id, l->p_w, (long long)l->expiry_ns,
                    (long long)l->granted_ns, l->floor_w);
      }
      fail();
    }
    /* Per phase conductor. */
    double phs[3] = {0, 0, 0};
    for (size_t j = 0; j < m; j++) {
      const hr_tree_node_t *nc = hr_tree_node(t, (size_t)ch[j]);
      if (dead[ch[j]])
        continue;
      double g = hr_lease_sys_cap_w(s, (size_t)ch[j], now);
      if (np->n_phases != 3) {
        phs[0] += g;
      } else if (nc->n_phases == 3) {
        for (int q = 0; q < 3; q++)
          phs[q] += g / 3;
      } else {
        hr_phase_t ph = nc->parent == (int32_t)p ? nc->phase : nc->phase_b;
        if (ph >= HR_PHASE_A && ph <= HR_PHASE_C)
          phs[ph - HR_PHASE_A] += g;
      }
    }
    for (int q = 0; q < 3; q++)
      if (phs[q] > b->phase_w[q] * (1 + 1e-9) + 1e-6) {
        print_error("node %s phase %d: %.3f > %.3f\n", np->id, q, phs[q], b->phase_w[q]);
        fail();
      }
  }
  (void)cfg;
}

/* Mirrors of the devices the test steps, to predict their thermal states. */
static void check_thermal(const hr_lease_sys_t *s, const hr_tree_t *t, hr_device_t **dev,
                          int64_t now, const unsigned char *dead, const hr_lease_cfg_t *cfg)
{
  size_t n = hr_tree_count(t);
  for (size_t p = 0; p < n; p++) {
    if (!dev[p] || dead[p])
      continue;
    const hr_tree_node_t *np = hr_tree_node(t, p);
    double load = sum_children(s, t, p, now, dead);
    double floor_p = hr_lease_sys_lease(s, p)->floor_w;
    if (load <= floor_p * (1 + 1e-9))
      continue; /* floors are the last resort, not a grant */
    double i = hr_tree_node_current_a(np, load / cfg->budget.pf);
    double st = hr__device_predict_state(dev[p], i, cfg->budget.burst_window_s);
    if (st > cfg->budget.burst_margin * (1 + 1e-6)) {
      print_error("node %s: load %.1f W, predicted state %.6f > margin\n", np->id, load, st);
      fail();
    }
  }
}

static void run_seed(uint64_t seed)
{
  rng = seed * 0x9E3779B97F4A7C15ull + 1;
  int two_n = irand(3) == 0;
  hr_tree_t *t = random_tree(two_n);
  size_t n = hr_tree_count(t);
  hr_lease_cfg_t cfg;
  hr_lease_cfg_init(&cfg);
  cfg.coord.policy = (hr_policy_t)irand(4);
  cfg.coord.reserve_frac = irand(2) ? 0.0 : 0.1;
  if (irand(2))
    cfg.coord.ramp_w_per_s = 2e4;
  cfg.tier[HR_TIER_CLUSTER].token_w = 100; /* small racks: fine tokens */
  cfg.tier[HR_TIER_SITE].token_w = 1000;
  hr_lease_sys_t *s = NULL;
  hr_diag_t why;
  int rc = hr_lease_sys_create(t, &cfg, &s, &why);
  if (rc != HR_OK) {
    char text[512];
    hr_diag_format(&why, text, sizeof text);
    print_error("seed %llu: create %s: %s\n", (unsigned long long)seed, hr_err_name(rc), text);
    fail();
  }
  const hr_tree_node_t *nodes = hr_tree_nodes(t);
  double *dem = calloc(n, sizeof *dem);
  unsigned char *dead = calloc(n, 1), *desc = calloc(n, 1);
  hr_device_t **dev = calloc(n, sizeof *dev);
  for (size_t k = 0; k < n; k++) {
    if (irand(3) == 0)
      hr_lease_sys_set_priority(s, k, irand(3));
    if (nodes[k].device)
      hr_device_create(nodes[k].device, &dev[k]);
  }
  int64_t now = 0;
  long stopped = -1;
  int64_t check_at = 0;
  unsigned feeds = 0;
  for (int step = 0; step < 250; step++) {
    now += 10 * MS + irand(2 * MS);
    for (size_t k = 0; k < n; k++)
      if (nodes[k].kind == HR_NODE_GPU)
        dem[k] = irand(5) == 0 ? nodes[k].capacity_w * unif(0.9, 1.3)
                               : nodes[k].capacity_w * unif(0.0, 0.8);
    int what = irand(10);
    if (what < 3) {
      assert_int_equal(hr_lease_sys_rebalance(s, dem, now), HR_OK);
    } else {
      for (int r = 0; r < 8; r++) {
        size_t k = (size_t)irand((int)n);
        if (nodes[k].parent < 0)
          continue;
        double want = dem[k] > 0 ? dem[k] : unif(0, 2) * hr_lease_sys_budget(s, k)->limit_w;
        if (!isfinite(want))
          want = 1e6;
        rc = hr_lease_sys_request(s, k, want, now, NULL);
        assert_true(rc == HR_OK || rc == HR_ERR_STATE);
      }
    }
    check_invariants(s, t, now, dead, &cfg);
    /* The load the devices carry: the grants below them, for this step. */
    for (size_t k = 0; k < n; k++) {
      if (!dev[k] || dead[k])
        continue;
      double load = sum_children(s, t, k, now, dead);
      double i = hr_tree_node_current_a(&nodes[k], load);
      assert_int_equal(hr_device_step(dev[k], i, 0.010), HR_OK);
      assert_int_equal(hr_lease_sys_observe(s, k, i, 0.010), HR_OK);
    }
    assert_int_equal(hr_lease_sys_update_budgets(s, now), HR_OK);
    check_invariants(s, t, now, dead, &cfg);
    check_thermal(s, t, dev, now, dead, &cfg);

    /* Failures. */
    if (stopped < 0 && irand(25) == 0) {
      size_t k;
      size_t m = 0;
      do {
        k = (size_t)irand((int)n);
        hr_tree_children(t, k, &m);
      } while (m == 0);
      stopped = (long)k;
      hr_lease_sys_set_running(s, k, 0, now);
      int64_t ttl = 0;
      const int32_t *ch = hr_tree_children(t, k, &m);
      for (size_t j = 0; j < m; j++) {
        int64_t x = cfg.tier[hr_lease_tier_of(nodes[ch[j]].kind)].ttl_ns;
        if (x > ttl)
          ttl = x;
      }
      check_at = now + ttl;
      memset(desc, 0, n);
      desc[k] = 1;
      for (size_t j = k + 1; j < n; j++)
        desc[j] = (nodes[j].parent >= 0 && desc[nodes[j].parent]) ||
                  (nodes[j].parent_b >= 0 && desc[nodes[j].parent_b]);
    }
    if (stopped >= 0 && now >= check_at) {
      for (size_t j = 0; j < n; j++)
        if (desc[j] && nodes[j].kind == HR_NODE_GPU && !dead[j]) {
          double cap = hr_lease_sys_cap_w(s, j, now);
          n_floor_checks++;
          if (cap > hr_lease_sys_lease(s, j)->floor_w + 1e-9) {
            print_error("seed %llu: %s at %.1f W above floor %g, %lld ns after stopping %s\n",
                        (unsigned long long)seed, nodes[j].id, cap,
                        hr_lease_sys_lease(s, j)->floor_w, (long long)(now - check_at),
                        nodes[stopped].id);
            fail();
          }
        }
      if (irand(4) == 0) {
        hr_lease_sys_set_running(s, (size_t)stopped, 1, now);
        stopped = -1;
      }
    }
    if (irand(60) == 0)
      hr_lease_sys_set_events(s, (unsigned)irand(8), now);
    else if (irand(20) == 0)
      hr_lease_sys_set_events(s, 0, now);
    if (two_n && irand(80) == 0) {
      feeds = feeds ? 0 : (unsigned)(1 + irand(2));
      hr_lease_sys_set_feed_lost(s, feeds, now);
      for (size_t k = 0; k < n; k++)
        dead[k] =
            (nodes[k].feed == HR_FEED_A || nodes[k].feed == HR_FEED_B) && (nodes[k].feed & feeds);
      check_invariants(s, t, now, dead, &cfg);
    }
  }
  for (size_t k = 0; k < n; k++)
    hr_device_destroy(dev[k]);
  free(dev);
  free(dem);
  free(dead);
  free(desc);
  hr_lease_sys_destroy(s);
  hr_tree_destroy(t);
}

static void test_random(void **st)
{
  (void)st;
  for (uint64_t seed = 1; seed <= 40; seed++)
    run_seed(seed);
  /* The properties must have been exercised, not met vacuously. */
  print_message("tight budgets %ld, GPU floor checks %ld\n", n_tight, n_floor_checks);
  assert_true(n_tight > 100 && n_floor_checks > 50);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_random),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
