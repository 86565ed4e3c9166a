/* The fast paths of the rebalance against their reference forms:
 *   1. hr_lease_sys_rebalance (leaf runs settled by the vectorised
 *      settle_leaves, only non-leaf nodes visited) against
 *      hr__lease_sys_rebalance_ref (every node visited, every leaf settled by
 *      the general settle()): two systems over the same random tree, driven
 *      by the same random rebalances, requests, releases, thermal
 *      observations, device trips and reclosing, stopped coordinators, mode
 *      events, feed losses and coordinator settings, must hold the same leases and the same
 *      anti-oscillation state, bit for bit, after every step;
 *   2. the water fill of HR_POLICY_FAIR against a copy of its plain form.
 * The trees mix what the fast path takes (servers whose GPUs are consecutive
 * nodes of one tier) with what it must leave to the general path (GPUs of
 * two servers interleaved, a leaf of another tier among GPUs, a leaf beside
 * servers, dual-corded servers, lost feeds). */
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

static long n_compared, n_fast_groups;
static long n_reclosed;    /* devices tripped by a fault and reclosed */
static uint64_t n_skipped; /* rebalances the fast system skipped */

/* hr_lease_sys_cap_w_many against hr_lease_sys_cap_w, node by node, over
 * every node in reverse order (any order is allowed) and a node out of
 * range, now and after the leases of the last rebalance ran out. */
static void caps_many_equal(const hr_lease_sys_t *s, size_t n, int64_t now)
{
  int32_t *nodes = malloc((n + 1) * sizeof *nodes);
  double *out = malloc((n + 1) * sizeof *out);
  assert_non_null(nodes);
  assert_non_null(out);
  for (size_t j = 0; j < n; j++)
    nodes[j] = (int32_t)(n - 1 - j);
  for (int64_t dt = 0; dt <= 200 * MS; dt += 200 * MS) {
    assert_int_equal(hr_lease_sys_cap_w_many(s, nodes, n, now + dt, out), HR_OK);
    for (size_t j = 0; j < n; j++) {
      double want = hr_lease_sys_cap_w(s, (size_t)nodes[j], now + dt);
      /* bit for bit (both NAN counts as equal: neither is expected here) */
      assert_true(memcmp(&want, &out[j], sizeof want) == 0);
    }
  }
  nodes[n] = (int32_t)n; /* out of range: NAN and an error, the rest still set */
  out[0] = -1.0;
  assert_int_equal(hr_lease_sys_cap_w_many(s, nodes, n + 1, now, out), HR_ERR_INVALID_ARG);
  assert_true(isnan(out[n]));
  assert_true(out[0] == hr_lease_sys_cap_w(s, (size_t)nodes[0], now));
  assert_int_equal(hr_lease_sys_cap_w_many(NULL, nodes, 1, now, out), HR_ERR_INVALID_ARG);
  assert_int_equal(hr_lease_sys_cap_w_many(s, nodes, 0, now, NULL), HR_OK);
  free(nodes);
  free(out);
}

/* A random tree; racks are sized so that the root is often the tight spot
 * and sometimes a rack or a server is. */
static hr_tree_t *random_tree(int two_n)
{
  buf_t b = {0};
  put(&b, "version: 1\nname: fast\nredundancy: %s\nnodes:\n", two_n ? "2n" : "none");
  int n_rack = 1 + irand(4);
  int n_srv[4], n_gpu[4][5], odd[4][5];
  double gpu_w[4][5], srv_w[4][5], rack_w[4], tot = 0.0, floors = 0.0;
  int extra_leaf[4];
  double site_ph_flo[2][3] = {{0, 0, 0}, {0, 0, 0}};
  for (int r = 0; r < n_rack; r++) {
    n_srv[r] = 1 + irand(5);
    double rack_sum = 0.0, max_srv = 0.0;
    for (int s = 0; s < n_srv[r]; s++) {
      n_gpu[r][s] = 1 + irand(9);
      gpu_w[r][s] = 100.0 * (3 + irand(8));
      /* 0: GPUs only; 1: a server-tier leaf among them (two tiers) */
      odd[r][s] = irand(6) == 0;
      srv_w[r][s] = ceil((n_gpu[r][s] + odd[r][s]) * gpu_w[r][s] * unif(0.6, 1.3));
      if (srv_w[r][s] < gpu_w[r][s])
        srv_w[r][s] = gpu_w[r][s];
      rack_sum += srv_w[r][s];
      if (srv_w[r][s] > max_srv)
        max_srv = srv_w[r][s];
      floors += 0.3 * (n_gpu[r][s] + odd[r][s]) * gpu_w[r][s];
    }
    extra_leaf[r] = !two_n && irand(4) == 0;
    if (extra_leaf[r])
      floors += 0.3 * 700.0;
    /* Each phase conductor must carry any one server. */
    rack_w[r] = ceil(rack_sum * unif(0.5, 1.2) + (extra_leaf[r] ? 1000.0 : 0.0));
    if (rack_w[r] < 3.0 * max_srv)
      rack_w[r] = ceil(3.0 * max_srv);
    /* The floors on each conductor must fit it (0.8 x rack_w / 3); in 2N a
     * server sits on phase s % 3 of the A side and (s + 1) % 3 of the B. */
    double ph_flo[2][3] = {{0, 0, 0}, {0, 0, 0}};
    for (int s = 0; s < n_srv[r]; s++) {
      double fl = 0.3 * (n_gpu[r][s] + odd[r][s]) * gpu_w[r][s];
      ph_flo[0][s % 3] += fl;
      ph_flo[1][(s + 1) % 3] += fl;
    }
    for (int side = 0; side < 2; side++)
      for (int q = 0; q < 3; q++)
        site_ph_flo[side][q] += ph_flo[side][q] + (extra_leaf[r] ? 0.3 * 700.0 / 3.0 : 0.0);
    for (int side = 0; side < 2; side++)
      for (int q = 0; q < 3; q++)
        if (rack_w[r] < ph_flo[side][q] * 3.0 / 0.8 * 1.05)
          rack_w[r] = ceil(ph_flo[side][q] * 3.0 / 0.8 * 1.05);
    tot += rack_w[r];
  }
  double root_w = tot * unif(0.3, 1.0);
  if (root_w < floors / 0.8 * 1.3)
    root_w = floors / 0.8 * 1.3;
  for (int r = 0; r < n_rack; r++)
    if (root_w < rack_w[r])
      root_w = rack_w[r];
  for (int side = 0; side < 2; side++)
    for (int q = 0; q < 3; q++)
      if (root_w < site_ph_flo[side][q] * 3.0 / 0.8 * 1.05)
        root_w = ceil(site_ph_flo[side][q] * 3.0 / 0.8 * 1.05);
  const char *sides[2] = {"a", "b"};
  const char *ph[3] = {"a", "b", "c"};
  for (int f = 0; f < (two_n ? 2 : 1); f++) {
    put(&b,
        "  - {id: root-%s, kind: switchgear, parent: null, voltage_v: 415, phases: 3,%s"
        " device: {type: trip_unit, curve: LI, in_a: %.0f, tr_s: 8, ii: 12},"
        " rating_w: %.0f}\n",
        sides[f], two_n ? (f ? " feed: b," : " feed: a,") : "",
        ceil(2.0 * root_w / (415.0 * sqrt(3.0))), root_w);
    for (int r = 0; r < n_rack; r++) {
      /* Every other rack has a breaker of its own, sized above its rating
       * (so that it limits nothing until it trips). */
      char dev[128] = "";
      if (r % 2)
        snprintf(dev, sizeof dev,
                 " device: {type: trip_unit, curve: LI, in_a: %.0f, tr_s: 8, ii: 12},",
                 ceil(2.0 * rack_w[r] / (415.0 * sqrt(3.0))));
      put(&b, "  - {id: rack-%s%d, kind: %s, parent: root-%s,%s rating_w: %.0f}\n", sides[f], r,
          two_n ? "pdu" : "rack", sides[f], dev, rack_w[r]);
    }
  }
  for (int r = 0; r < n_rack; r++) {
    /* Servers first, then their GPUs; in some racks the GPUs of the
     * servers are interleaved, so that no server's children are consecutive. */
    for (int s = 0; s < n_srv[r]; s++) {
      if (two_n)
        put(&b,
            "  - {id: s%d-%d, kind: server, parent: rack-a%d, parent_b: rack-b%d,"
            " phases: 1, phase: %s, phase_b: %s, rating_w: %.0f}\n",
            r, s, r, r, ph[s % 3], ph[(s + 1) % 3], srv_w[r][s]);
      else if (irand(3) == 0)
        /* A three-phase server: its GPUs load every conductor (the
         * rebalance's conductor check of a server's leaf run). */
        put(&b, "  - {id: s%d-%d, kind: server, parent: rack-a%d, phases: 3, rating_w: %.0f}\n", r,
            s, r, srv_w[r][s]);
      else
        put(&b,
            "  - {id: s%d-%d, kind: server, parent: rack-a%d, phases: 1, phase: %s,"
            " rating_w: %.0f}\n",
            r, s, r, ph[s % 3], srv_w[r][s]);
    }
    int interleave = irand(3) == 0;
    if (interleave) {
      for (int g = 0; g < 9; g++)
        for (int s = 0; s < n_srv[r]; s++)
          if (g < n_gpu[r][s])
            put(&b, "  - {id: g%d-%d-%d, kind: gpu, parent: s%d-%d, rating_w: %.0f}\n", r, s, g, r,
                s, gpu_w[r][s]);
    } else {
      for (int s = 0; s < n_srv[r]; s++)
        for (int g = 0; g < n_gpu[r][s]; g++) {
          if (odd[r][s] && g == n_gpu[r][s] / 2)
            put(&b, "  - {id: x%d-%d, kind: server, parent: s%d-%d, rating_w: %.0f}\n", r, s, r, s,
                gpu_w[r][s]);
          put(&b, "  - {id: g%d-%d-%d, kind: gpu, parent: s%d-%d, rating_w: %.0f}\n", r, s, g, r, s,
              gpu_w[r][s]);
        }
    }
    if (interleave)
      for (int s = 0; s < n_srv[r]; s++)
        if (odd[r][s])
          put(&b, "  - {id: x%d-%d, kind: server, parent: s%d-%d, rating_w: %.0f}\n", r, s, r, s,
              gpu_w[r][s]);
    if (extra_leaf[r])
      put(&b, "  - {id: lone%d, kind: gpu, parent: rack-a%d, rating_w: 700}\n", r, r);
  }
  return load_buf(&b, "fast.yaml");
}

static void compare(const hr_lease_sys_t *a, const hr_lease_sys_t *b, const hr_tree_t *t,
                    int64_t now, uint64_t seed, int step)
{
  size_t n = hr_tree_count(t);
  for (size_t k = 0; k < n; k++) {
    hr_lease_t la = *hr_lease_sys_lease(a, k), lb = *hr_lease_sys_lease(b, k);
    int64_t oa[5], ob[5];
    assert_int_equal(hr__lease_sys_osc(a, k, oa), HR_OK);
    assert_int_equal(hr__lease_sys_osc(b, k, ob), HR_OK);
    if (!same_bits(la.p_w, lb.p_w) || la.expiry_ns != lb.expiry_ns ||
        la.granted_ns != lb.granted_ns || !same_bits(la.floor_w, lb.floor_w) ||
        la.priority != lb.priority || memcmp(oa, ob, sizeof oa) != 0 ||
        !same_bits(hr_lease_sys_cap_w(a, k, now), hr_lease_sys_cap_w(b, k, now))) {
      print_error("seed %llu step %d node %s: fast p %.17g exp %lld granted %lld osc %lld %lld "
                  "%lld %lld %lld; reference p %.17g exp %lld granted %lld osc %lld %lld %lld "
                  "%lld %lld\n",
                  (unsigned long long)seed, step, hr_tree_node(t, k)->id, la.p_w,
                  (long long)la.expiry_ns, (long long)la.granted_ns, (long long)oa[0],
                  (long long)oa[1], (long long)oa[2], (long long)oa[3], (long long)oa[4], lb.p_w,
                  (long long)lb.expiry_ns, (long long)lb.granted_ns, (long long)ob[0],
                  (long long)ob[1], (long long)ob[2], (long long)ob[3], (long long)ob[4]);
      hr_lease_stats_t sa, sb;
      hr_lease_sys_stats(a, &sa);
      hr_lease_sys_stats(b, &sb);
      print_error("clamps: fast %llu (last at %s), reference %llu\n", (unsigned long long)sa.clamps,
                  hr_tree_node(t, sa.clamp_node)->id, (unsigned long long)sb.clamps);
      fail();
    }
    n_compared++;
  }
}

static void random_coord(hr_coord_cfg_t *c)
{
  hr_lease_cfg_t lc;
  hr_lease_cfg_init(&lc);
  *c = lc.coord;
  c->policy = (hr_policy_t)irand(4);
  c->reserve_frac = irand(3) ? 0.0 : 0.1;
  c->ramp_w_per_s = irand(2) ? INFINITY : unif(1e3, 5e4);
  c->hyst_w = irand(2) ? 0.0 : unif(0.0, 300.0);
  c->dwell_ns = irand(2) ? 0 : irand(40) * MS;
  c->damp_changes = 1 + irand(4);
  c->damp_window_ns = (1 + irand(10)) * 100 * MS;
  c->damp_hold_ns = irand(10) * 100 * MS;
}

static void run_seed(uint64_t seed)
{
  rng = seed * 0x9E3779B97F4A7C15ull + 7;
  int two_n = irand(3) == 0;
  hr_tree_t *t = random_tree(two_n);
  size_t n = hr_tree_count(t);
  const hr_tree_node_t *nodes = hr_tree_nodes(t);
  hr_lease_cfg_t cfg;
  hr_lease_cfg_init(&cfg);
  random_coord(&cfg.coord);
  cfg.tier[HR_TIER_GPU].token_w = irand(2) ? 100.0 : unif(1.0, 150.0);
  cfg.tier[HR_TIER_RACK].token_w = irand(2) ? 1000.0 : unif(10.0, 500.0);
  cfg.tier[HR_TIER_CLUSTER].token_w = 100;
  cfg.tier[HR_TIER_SITE].token_w = 1000;
  if (irand(2))
    cfg.tier[HR_TIER_GPU].ttl_ns = (5 + irand(60)) * MS;
  hr_lease_sys_t *a = NULL, *b = NULL;
  hr_diag_t why;
  int rc = hr_lease_sys_create(t, &cfg, &a, &why);
  if (rc != HR_OK) {
    char text[512];
    hr_diag_format(&why, text, sizeof text);
    print_error("seed %llu: create: %s\n", (unsigned long long)seed, text);
  }
  assert_int_equal(rc, HR_OK);
  assert_int_equal(hr_lease_sys_create(t, &cfg, &b, NULL), HR_OK);
  for (size_t k = 0; k < n; k++) {
    size_t m = 0;
    const int32_t *ch = hr_tree_children(t, k, &m);
    int leaves = m > 0;
    for (size_t j = 0; j < m && leaves; j++) {
      size_t mm = 0;
      hr_tree_children(t, (size_t)ch[j], &mm);
      leaves = mm == 0 && nodes[ch[j]].parent_b < 0;
    }
    n_fast_groups += leaves;
    if (irand(4) == 0) {
      int p = irand(3);
      hr_lease_sys_set_priority(a, k, p);
      hr_lease_sys_set_priority(b, k, p);
    }
    if (m > 0 && irand(3) == 0) {
      hr_coord_cfg_t c;
      random_coord(&c);
      assert_int_equal(hr_lease_sys_set_coord(a, k, &c), HR_OK);
      assert_int_equal(hr_lease_sys_set_coord(b, k, &c), HR_OK);
    }
    if (m == 0 && irand(8) == 0) {
      double f = unif(0.0, 0.3) * nodes[k].capacity_w;
      int ra = hr_lease_sys_set_floor(a, k, f, 0), rb = hr_lease_sys_set_floor(b, k, f, 0);
      assert_int_equal(ra, rb);
    }
  }
  double *dem = calloc(n, sizeof *dem);
  assert_non_null(dem);
  int64_t now = 1000 * MS;
  long stopped = -1;
  unsigned feeds = 0;
  for (int step = 0; step < 300; step++) {
    now += irand(3) == 0 ? irand(3) * MS : 5 * MS + irand(60 * MS);
    for (size_t k = 0; k < n; k++) {
      double cap = nodes[k].capacity_w;
      int r = irand(12);
      double v = r == 0 ? NAN : r == 1 ? -5.0 : r == 2 ? cap * unif(1.0, 1.5) : cap * unif(0, 0.9);
      /* Even seeds keep the demands of the step before at 3 steps of 4
       * (drawn all the same, so the stream stays): the fast rebalance may
       * then skip (only renew), which the reference never does. */
      if (seed % 2 || step % 4 == 0)
        dem[k] = v;
    }
    int what = irand(10);
    if (what < 5) {
      assert_int_equal(hr_lease_sys_rebalance(a, dem, now), HR_OK);
      assert_int_equal(hr__lease_sys_rebalance_ref(b, dem, now), HR_OK);
    } else if (what < 8) {
      for (int r = 0; r < 6; r++) {
        size_t k = (size_t)irand((int)n);
        if (nodes[k].parent < 0)
          continue;
        double want = unif(0.0, 1.3) * nodes[k].capacity_w;
        if (!isfinite(want))
          want = 1e6;
        int ra = hr_lease_sys_request(a, k, want, now, NULL);
        int rb = hr_lease_sys_request(b, k, want, now, NULL);
        assert_int_equal(ra, rb);
      }
    } else if (what == 8) {
      size_t k = (size_t)irand((int)n);
      if (nodes[k].parent >= 0) {
        assert_int_equal(hr_lease_sys_release(a, k, now), hr_lease_sys_release(b, k, now));
      }
    } else {
      for (size_t k = 0; k < n; k++) {
        double i = unif(0.0, 1.5) * 10.0;
        assert_int_equal(hr_lease_sys_observe(a, k, i, 0.01), HR_OK);
        assert_int_equal(hr_lease_sys_observe(b, k, i, 0.01), HR_OK);
      }
      assert_int_equal(hr_lease_sys_update_budgets(a, now), HR_OK);
      assert_int_equal(hr_lease_sys_update_budgets(b, now), HR_OK);
    }
    if (stopped < 0 && irand(20) == 0) {
      stopped = irand((int)n);
      hr_lease_sys_set_running(a, (size_t)stopped, 0, now);
      hr_lease_sys_set_running(b, (size_t)stopped, 0, now);
    } else if (stopped >= 0 && irand(10) == 0) {
      hr_lease_sys_set_running(a, (size_t)stopped, 1, now);
      hr_lease_sys_set_running(b, (size_t)stopped, 1, now);
      stopped = -1;
    }
    if (irand(40) == 0) {
      unsigned ev = (unsigned)irand(8);
      hr_lease_sys_set_events(a, ev, now);
      hr_lease_sys_set_events(b, ev, now);
    } else if (irand(15) == 0) {
      hr_lease_sys_set_events(a, 0, now);
      hr_lease_sys_set_events(b, 0, now);
    }
    if (two_n && irand(60) == 0) {
      feeds = feeds ? 0 : (unsigned)(1 + irand(2));
      hr_lease_sys_set_feed_lost(a, feeds, now);
      hr_lease_sys_set_feed_lost(b, feeds, now);
    }
    if (irand(50) == 0) {
      /* A fault trips a device: what hangs below it only through it is dead
       * until it is reclosed (a node without device ignores the current). */
      size_t k = (size_t)irand((int)n);
      assert_int_equal(hr_lease_sys_observe(a, k, 1e6, 1.0), HR_OK);
      assert_int_equal(hr_lease_sys_observe(b, k, 1e6, 1.0), HR_OK);
      assert_int_equal(hr_lease_sys_update_budgets(a, now), HR_OK);
      assert_int_equal(hr_lease_sys_update_budgets(b, now), HR_OK);
    } else if (irand(25) == 0) {
      for (size_t k = 0; k < n; k++) {
        hr_device_status_t ds;
        if (hr_lease_sys_device_status(a, k, &ds) == HR_OK && ds.tripped) {
          assert_int_equal(hr_lease_sys_reclose(a, k, now), HR_OK);
          assert_int_equal(hr_lease_sys_reclose(b, k, now), HR_OK);
          n_reclosed++;
          break;
        }
      }
    }
    compare(a, b, t, now, seed, step);
    caps_many_equal(a, n, now);
  }
  n_skipped += hr__lease_skipped(a);
  free(dem);
  hr_lease_sys_destroy(a);
  hr_lease_sys_destroy(b);
  hr_tree_destroy(t);
}

static void test_rebalance_fast_equals_reference(void **st)
{
  (void)st;
  for (uint64_t seed = 1; seed <= 60; seed++)
    run_seed(seed);
  print_message("compared %ld leases; %ld leaf groups; %ld trips reclosed; %llu rebalances "
                "skipped\n",
                n_compared, n_fast_groups, n_reclosed, (unsigned long long)n_skipped);
  assert_true(n_skipped > 0);
  assert_true(n_fast_groups > 100);
  assert_true(n_reclosed > 10);
}

/* A tree shaped like bench_lease's (transformers x 100 racks x 8 servers x
 * 8 GPUs), large enough that the system's budget table (48 bytes a node)
 * is over 4 MB and so comes from the huge-page path of the allocator. */
static void test_large_tree(void **st)
{
  (void)st;
  const int n_xf = 13;
  buf_t b = {0};
  put(&b, "version: 1\nname: large\nnodes:\n");
  put(&b, "- {id: u, kind: utility, parent: null, voltage_v: 34500, rating_mw: %d}\n", n_xf * 3);
  const char *ph[3] = {"a", "b", "c"};
  for (int x = 0; x < n_xf; x++) {
    put(&b, "- {id: x%d, kind: transformer, parent: u, voltage_v: 415, rating_kw: 4200}\n", x);
    for (int r = 0; r < 100; r++) {
      put(&b, "- {id: r%d.%d, kind: rack, parent: x%d, rating_kw: 60}\n", x, r, x);
      for (int v = 0; v < 8; v++) {
        put(&b,
            "- {id: s%d.%d.%d, kind: server, parent: r%d.%d, phases: 1, phase: %s, "
            "rating_w: 6000}\n",
            x, r, v, x, r, ph[v % 3]);
        for (int g = 0; g < 8; g++)
          put(&b, "- {id: g%d.%d.%d.%d, kind: gpu, parent: s%d.%d.%d, rating_w: 700}\n", x, r, v, g,
              x, r, v);
      }
    }
  }
  hr_tree_t *t = NULL;
  hr_diag_t e;
  assert_int_equal(hr_tree_load_buffer(b.p, b.len, "large.yaml", &t, &e), HR_OK);
  free(b.p);
  size_t n = hr_tree_count(t);
  assert_true(n * sizeof(hr_budget_t) > (4u << 20));
  hr_lease_cfg_t cfg;
  hr_lease_cfg_init(&cfg);
  cfg.coord.policy = HR_POLICY_FAIR;
  cfg.coord.ramp_w_per_s = 5e3;
  hr_lease_sys_t *a = NULL, *c = NULL;
  assert_int_equal(hr_lease_sys_create(t, &cfg, &a, NULL), HR_OK);
  assert_int_equal(hr_lease_sys_create(t, &cfg, &c, NULL), HR_OK);
  double *dem = calloc(n, sizeof *dem);
  assert_non_null(dem);
  rng = 99;
  int64_t now = 1000 * MS;
  for (int step = 0; step < 6; step++) {
    for (size_t k = 0; k < n; k++)
      dem[k] = 100.0 + 650.0 * unif(0.0, 1.0);
    now += 100 * MS;
    assert_int_equal(hr_lease_sys_rebalance(a, dem, now), HR_OK);
    assert_int_equal(hr__lease_sys_rebalance_ref(c, dem, now), HR_OK);
    compare(a, c, t, now, 0, step);
  }
  free(dem);
  hr_lease_sys_destroy(a);
  hr_lease_sys_destroy(c);
  hr_tree_destroy(t);
}

/* The plain water fill (policy.c before the fast form), as the oracle. */
static void water_fill_ref(size_t n, const hr__item_t *it, double room_w, double *out_w)
{
  size_t active = n;
  double need = 0.0;
  for (size_t k = 0; k < n; k++)
    need += it[k].dem_w - it[k].flo_w;
  if (need <= room_w) {
    for (size_t k = 0; k < n; k++)
      out_w[k] = it[k].dem_w;
    return;
  }
  double left = room_w;
  for (size_t k = 0; k < n; k++)
    out_w[k] = -1.0;
  for (size_t pass = 0; pass <= n && active > 0; pass++) {
    double lambda = left / (double)active;
    size_t sat = 0;
    for (size_t k = 0; k < n; k++) {
      if (out_w[k] >= 0.0)
        continue;
      double e = it[k].dem_w - it[k].flo_w;
      if (e <= lambda) {
        out_w[k] = it[k].dem_w;
        left -= e;
        sat++;
      }
    }
    if (sat == 0) {
      for (size_t k = 0; k < n; k++)
        if (out_w[k] < 0.0)
          out_w[k] = it[k].flo_w + lambda;
      return;
    }
    active -= sat;
  }
}

static void test_water_fill_equals_plain(void **st)
{
  (void)st;
  rng = 12345;
  hr_lease_cfg_t lc;
  hr_lease_cfg_init(&lc);
  hr_coord_cfg_t c = lc.coord;
  c.policy = HR_POLICY_FAIR;
  enum { MAXN = 100 };
  hr__item_t it[MAXN];
  double out[MAXN], ref[MAXN], scratch[2 * MAXN];
  long contended = 0;
  for (int trial = 0; trial < 20000; trial++) {
    size_t n = 1 + (size_t)irand(trial % 10 == 0 ? MAXN : 12);
    double sum_flo = 0.0, sum_dem = 0.0;
    for (size_t k = 0; k < n; k++) {
      it[k].flo_w = irand(4) == 0 ? 0.0 : unif(0.0, 300.0);
      /* ties are where the order of operations shows */
      it[k].dem_w = it[k].flo_w + (irand(3) == 0 ? 100.0 : irand(5) == 0 ? 0.0 : unif(0, 600));
      it[k].prio = 0;
      sum_flo += it[k].flo_w;
      sum_dem += it[k].dem_w;
    }
    double budget = sum_flo + unif(0.0, 1.2) * (sum_dem - sum_flo) + (irand(9) ? 0.0 : -10.0);
    uint8_t state = 0;
    hr__policy_alloc(&c, &state, n, it, budget, budget, out, scratch);
    if (budget > sum_flo) {
      water_fill_ref(n, it, budget - sum_flo, ref);
      contended += budget < sum_dem;
    } else {
      for (size_t k = 0; k < n; k++)
        ref[k] = it[k].flo_w;
    }
    for (size_t k = 0; k < n; k++)
      if (!same_bits(out[k], ref[k])) {
        print_error("trial %d n %zu item %zu: %.17g vs plain %.17g\n", trial, n, k, out[k], ref[k]);
        fail();
      }
    if (n <= 64) {
      /* The array form the rebalance uses for a server's run of leaves. */
      double dem[MAXN], flo[MAXN];
      for (size_t k = 0; k < n; k++) {
        dem[k] = it[k].dem_w;
        flo[k] = it[k].flo_w;
      }
      hr__fair_fill(n, dem, flo, budget, out);
      for (size_t k = 0; k < n; k++)
        if (!same_bits(out[k], ref[k])) {
          print_error("trial %d n %zu item %zu: fair_fill %.17g vs plain %.17g\n", trial, n, k,
                      out[k], ref[k]);
          fail();
        }
    }
  }
  assert_true(contended > 5000);
}

/* The lane form (8 servers of 8 leaves at once) against hr__fair_fill, server
 * by server, with ties, zero excesses and budgets below the floors. */
static void test_fill_lanes_equals_fair_fill(void **st)
{
  (void)st;
  rng = 777;
  double dem[64], flo[64], b[8], out[64], ref[8];
  long contended = 0;
  for (int trial = 0; trial < 20000; trial++) {
    size_t n_srv = 1 + (size_t)irand(8);
    for (size_t l = 0; l < n_srv; l++) {
      double sum_flo = 0.0, sum_dem = 0.0;
      for (size_t j = 0; j < 8; j++) {
        double *f = &flo[8 * l + j], *d = &dem[8 * l + j];
        *f = irand(4) == 0 ? 0.0 : irand(3) == 0 ? 140.0 : unif(0.0, 300.0);
        *d = *f + (irand(3) == 0 ? 100.0 : irand(5) == 0 ? 0.0 : unif(0, 600));
        sum_flo += *f;
        sum_dem += *d;
      }
      b[l] = sum_flo + unif(0.0, 1.2) * (sum_dem - sum_flo) + (irand(9) ? 0.0 : -10.0);
      contended += b[l] > sum_flo && b[l] < sum_dem;
    }
    hr__fill_lanes(n_srv, dem, flo, b, out);
    for (size_t l = 0; l < n_srv; l++) {
      hr__fair_fill(8, dem + 8 * l, flo + 8 * l, b[l], ref);
      for (size_t j = 0; j < 8; j++)
        if (!same_bits(out[8 * l + j], ref[j])) {
          print_error("trial %d server %zu leaf %zu: lanes %.17g vs fair_fill %.17g\n", trial, l, j,
                      out[8 * l + j], ref[j]);
          fail();
        }
    }
  }
  assert_true(contended > 20000);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rebalance_fast_equals_reference),
      cmocka_unit_test(test_water_fill_equals_plain),
      cmocka_unit_test(test_fill_lanes_equals_fair_fill),
      cmocka_unit_test(test_large_tree),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
