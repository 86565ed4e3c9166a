/* Lease object model and coordinators: grants within budgets, tokens,
 * expiry and floor fallback, renewal time, reserve, rate-limited increases,
 * instant cascading cuts, stopped coordinators, anti-oscillation, modes, the
 * in-process transport, and the policies on hand-computed cases. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "headroom/lease.h"
#include "lease/lease_int.h"

/* The diagnostic as the one line hr_diag_format makes (a static buffer). */
static const char *dtext(const hr_diag_t *d)
{
  static char text[1024];
  hr_diag_format(d, text, sizeof text);
  return text;
}

#define MS 1000000LL

/* A 415 V three-phase rack root (10 kW: 8 kW continuous, 2667 W per phase),
 * two single-phase 3 kW servers on phases a and b, two 1 kW GPUs each
 * (800 W continuous, floor 300 W). */
static const char *TREE =
    "version: 1\nname: t\nnodes:\n"
    "  - {id: rack, kind: rack, parent: null, voltage_v: 415, phases: 3, rating_kw: 10}\n"
    "  - {id: s1, kind: server, parent: rack, phases: 1, phase: a, rating_w: 3000}\n"
    "  - {id: s2, kind: server, parent: rack, phases: 1, phase: b, rating_w: 3000}\n"
    "  - {id: g11, kind: gpu, parent: s1, rating_w: 1000}\n"
    "  - {id: g12, kind: gpu, parent: s1, rating_w: 1000}\n"
    "  - {id: g21, kind: gpu, parent: s2, rating_w: 1000}\n"
    "  - {id: g22, kind: gpu, parent: s2, rating_w: 1000}\n";

typedef struct fx {
  hr_tree_t *t;
  hr_lease_sys_t *s;
  size_t rack, s1, s2, g11, g12, g21, g22;
  int notified;
  hr_mode_t last_mode;
} fx_t;

static void on_mode(void *user, hr_mode_t mode, unsigned events, int64_t t_ns)
{
  (void)events;
  (void)t_ns;
  fx_t *f = user;
  f->notified++;
  f->last_mode = mode;
}

static int setup(void **st)
{
  static fx_t f;
  memset(&f, 0, sizeof f);
  hr_diag_t e;
  if (hr_tree_load_buffer(TREE, strlen(TREE), "t.yaml", &f.t, &e) != HR_OK) {
    print_error("%s\n", dtext(&e));
    return -1;
  }
  hr_lease_cfg_t c;
  hr_lease_cfg_init(&c);
  c.tier[HR_TIER_RACK].token_w = 100.0; /* fine tokens keep the hand arithmetic short */
  c.notify = on_mode;
  c.notify_user = &f;
  if (hr_lease_sys_create(f.t, &c, &f.s, NULL) != HR_OK)
    return -1;
  hr_tree_find(f.t, "rack", &f.rack);
  hr_tree_find(f.t, "s1", &f.s1);
  hr_tree_find(f.t, "s2", &f.s2);
  hr_tree_find(f.t, "g11", &f.g11);
  hr_tree_find(f.t, "g12", &f.g12);
  hr_tree_find(f.t, "g21", &f.g21);
  hr_tree_find(f.t, "g22", &f.g22);
  *st = &f;
  return 0;
}

static int teardown(void **st)
{
  fx_t *f = *st;
  hr_lease_sys_destroy(f->s);
  hr_tree_destroy(f->t);
  return 0;
}

static void test_grant_expiry(void **st)
{
  fx_t *f = *st;
  hr_lease_t l;
  /* Floors: GPUs 300 W, servers the sum 600 W, rack 1200 W. */
  assert_true(hr_lease_sys_lease(f->s, f->s1)->floor_w == 600.0);
  assert_true(hr_lease_sys_cap_w(f->s, f->g11, 0) == 300.0);
  /* The server asks for 3 kW: its own limit is 2400 W; the lease is for the
   * rack tier's 200 ms. */
  assert_int_equal(hr_lease_sys_request(f->s, f->s1, 3000, 0, &l), HR_OK);
  assert_true(l.p_w == 2400.0 && l.expiry_ns == 200 * MS);
  /* GPU: limit 800 W; the 50 ms lease ends no later than the server's. */
  assert_int_equal(hr_lease_sys_request(f->s, f->g11, 2000, 0, &l), HR_OK);
  assert_true(l.p_w == 800.0 && l.expiry_ns == 50 * MS);
  /* Second GPU: 2400 - 800 = 1600 left, so its 800 W fits; a 555 W request
   * is the floor plus whole 100 W tokens: 300 + 200. */
  assert_int_equal(hr_lease_sys_request(f->s, f->g12, 555, 0, &l), HR_OK);
  assert_true(l.p_w == 500.0);
  assert_int_equal(hr_lease_sys_request(f->s, f->g12, 900, 1 * MS, &l), HR_OK);
  assert_true(l.p_w == 800.0);
  /* Renew before half the lease time: due at 25 ms, not before. */
  assert_false(hr_lease_due(hr_lease_sys_lease(f->s, f->g11), 24 * MS));
  assert_true(hr_lease_due(hr_lease_sys_lease(f->s, f->g11), 25 * MS));
  /* Not renewed: at expiry the holder is at its floor, by itself. */
  assert_true(hr_lease_sys_cap_w(f->s, f->g11, 49 * MS) == 800.0);
  assert_true(hr_lease_sys_cap_w(f->s, f->g11, 50 * MS) == 300.0);
  /* A server lease that lapses takes its GPUs' grants with it. */
  assert_int_equal(hr_lease_sys_request(f->s, f->g11, 800, 190 * MS, &l), HR_OK);
  assert_true(l.expiry_ns == 200 * MS);
  assert_true(hr_lease_sys_cap_w(f->s, f->g11, 200 * MS) == 300.0);
  /* Once the server is at its floor its GPUs can only get their floors. */
  assert_int_equal(hr_lease_sys_request(f->s, f->g11, 800, 201 * MS, &l), HR_OK);
  assert_true(l.p_w == 300.0);
  /* Release: floor at once. */
  assert_int_equal(hr_lease_sys_request(f->s, f->s1, 3000, 300 * MS, &l), HR_OK);
  assert_int_equal(hr_lease_sys_request(f->s, f->g11, 800, 300 * MS, &l), HR_OK);
  assert_true(l.p_w == 800.0);
  assert_int_equal(hr_lease_sys_release(f->s, f->g11, 301 * MS), HR_OK);
  assert_true(hr_lease_sys_cap_w(f->s, f->g11, 301 * MS) == 300.0);
  assert_int_equal(hr_lease_sys_request(f->s, f->rack, 1, 0, &l), HR_ERR_INVALID_ARG);
}

static void test_cut_cascade_and_ramp(void **st)
{
  fx_t *f = *st;
  hr_lease_t l;
  int64_t t = 1000 * MS;
  hr_lease_sys_request(f->s, f->s1, 3000, t, &l);
  hr_lease_sys_request(f->s, f->g11, 800, t, &l);
  hr_lease_sys_request(f->s, f->g12, 800, t, &l);
  /* The server's lease is cut to 1 kW: the GPUs' 1600 W are cut at once to
   * fit, in equal parts (both in the top bucket): 500 W each. */
  assert_int_equal(hr_lease_sys_request(f->s, f->s1, 1000, t + 1 * MS, &l), HR_OK);
  assert_true(l.p_w == 1000.0);
  assert_true(hr_lease_sys_cap_w(f->s, f->g11, t + 1 * MS) == 500.0);
  assert_true(hr_lease_sys_cap_w(f->s, f->g12, t + 1 * MS) == 500.0);

  /* Rate-limited increases on s2's GPUs: 1 kW/s. */
  hr_coord_cfg_t c;
  hr_lease_cfg_t lc;
  hr_lease_cfg_init(&lc);
  c = lc.coord;
  c.ramp_w_per_s = 1000.0;
  assert_int_equal(hr_lease_sys_set_coord(f->s, f->s2, &c), HR_OK);
  /* The first increase is ramp-limited too: it counts from the system's
   * first time (t): at once nothing, after 200 ms 200 W (2 tokens). */
  hr_lease_sys_request(f->s, f->g21, 500, t, &l);
  assert_true(l.p_w == 300.0);
  t += 200 * MS;
  hr_lease_sys_request(f->s, f->s2, 3000, t, &l); /* a 200 ms lease */
  hr_lease_sys_request(f->s, f->g21, 500, t, &l);
  assert_true(l.p_w == 500.0);
  /* Renewed every 20 ms (a GPU lease is 50 ms): 20, 40 .. 80 W allowed are
   * less than a token, 100 W is one. */
  for (int64_t dt = 20; dt < 100; dt += 20) {
    hr_lease_sys_request(f->s, f->g21, 800, t + dt * MS, &l);
    assert_true(l.p_w == 500.0);
  }
  hr_lease_sys_request(f->s, f->g21, 800, t + 100 * MS, &l);
  assert_true(l.p_w == 600.0);
  hr_lease_sys_request(f->s, f->g21, 300, t + 101 * MS, &l);
  assert_true(l.p_w == 300.0); /* cuts at once */
  /* After a drop the ramp counts from the drop: 150 ms later, one token. */
  hr_lease_sys_request(f->s, f->s2, 3000, t + 150 * MS, &l);
  hr_lease_sys_request(f->s, f->g21, 800, t + 251 * MS, &l);
  assert_true(l.p_w == 400.0);
}

static void test_reserve_phase(void **st)
{
  fx_t *f = *st;
  hr_lease_t l;
  hr_lease_cfg_t lc;
  hr_lease_cfg_init(&lc);
  hr_coord_cfg_t c = lc.coord;
  c.reserve_frac = 0.5; /* 8 kW rack: 4 kW may be granted */
  assert_int_equal(hr_lease_sys_set_coord(f->s, f->rack, &c), HR_OK);
  int64_t t = 5000 * MS;
  hr_lease_sys_request(f->s, f->s2, 3000, t, &l);
  assert_true(l.p_w == 2400.0);
  hr_lease_sys_request(f->s, f->s1, 3000, t, &l); /* 4000 - 2400 = 1600 */
  assert_true(l.p_w == 1600.0);
  hr_lease_sys_release(f->s, f->s1, t);
  /* Phase a alone (2667 W) would bound a 3 kW-limit server at 2667 W. */
  c.reserve_frac = 0.0;
  hr_lease_sys_set_coord(f->s, f->rack, &c);
  hr_lease_sys_set_rated_100(f->s, f->s1, 1, t); /* s1 limit 3000 W */
  hr_lease_cfg_t lc2 = lc;
  (void)lc2;
  hr_lease_sys_request(f->s, f->s1, 3000, t + 1, &l);
  assert_true(l.p_w == 2600.0); /* 2667 W on phase a: 600 + 20 tokens */
}

static void test_stopped_coordinator(void **st)
{
  fx_t *f = *st;
  hr_lease_t l;
  int64_t t = 9000 * MS;
  hr_lease_sys_request(f->s, f->s1, 3000, t, &l);
  hr_lease_sys_request(f->s, f->g11, 800, t, &l);
  hr_lease_transport_t tp;
  assert_int_equal(hr_lease_transport_inproc(f->s, &tp), HR_OK);
  hr_lease_sys_set_running(f->s, f->s1, 0, t + 30 * MS);
  assert_int_equal(tp.request(tp.ctx, f->g11, 800, t + 30 * MS, &l), HR_ERR_STATE);
  assert_true(hr_lease_sys_cap_w(f->s, f->g11, t + 49 * MS) == 800.0);
  assert_true(hr_lease_sys_cap_w(f->s, f->g11, t + 50 * MS) == 300.0);
  /* Losing a coordinator degrades the mode by itself. */
  assert_int_equal(hr_lease_sys_mode(f->s), HR_MODE_DEGRADED);
  assert_true((hr_lease_sys_events(f->s) & HR_EVENT_COORD_LOSS) != 0);
  hr_lease_sys_set_running(f->s, f->s1, 1, t + 60 * MS);
  /* Back, but no lease grows until the mode has been calm for stable_ns. */
  assert_int_equal(tp.request(tp.ctx, f->g11, 800, t + 60 * MS, &l), HR_OK);
  assert_true(l.p_w == 300.0);
  assert_int_equal(tp.request(tp.ctx, f->s1, 3000, t + 10060 * MS, &l), HR_OK);
  assert_int_equal(hr_lease_sys_mode(f->s), HR_MODE_NORMAL);
  assert_int_equal(tp.request(tp.ctx, f->g11, 800, t + 10060 * MS, &l), HR_OK);
  assert_true(l.p_w == 800.0);
}

static void test_anti_oscillation(void **st)
{
  fx_t *f = *st;
  hr_lease_t l;
  hr_lease_cfg_t lc;
  hr_lease_cfg_init(&lc);
  hr_coord_cfg_t c = lc.coord;
  c.dwell_ns = 20 * MS;
  c.hyst_w = 200.0;
  assert_int_equal(hr_lease_sys_set_coord(f->s, f->s1, &c), HR_OK);
  int64_t t = 20000 * MS;
  /* The system's first time counts as a change: dwell from it. */
  hr_lease_sys_update_budgets(f->s, t - 1000 * MS);
  hr_lease_sys_request(f->s, f->s1, 3000, t, &l);
  hr_lease_sys_request(f->s, f->g11, 500, t, &l);
  assert_true(l.p_w == 500.0);
  /* Dwell: no increase 10 ms after the change, allowed after 20 ms. */
  hr_lease_sys_request(f->s, f->g11, 800, t + 10 * MS, &l);
  assert_true(l.p_w == 500.0);
  /* Hysteresis: +100 W is below the 200 W band. */
  hr_lease_sys_request(f->s, f->g11, 600, t + 30 * MS, &l);
  assert_true(l.p_w == 500.0);
  hr_lease_sys_request(f->s, f->g11, 800, t + 31 * MS, &l);
  assert_true(l.p_w == 800.0);
  /* Damper: more than 3 direction changes within a second freezes increases. */
  c.dwell_ns = 0;
  c.hyst_w = 0;
  hr_lease_sys_set_coord(f->s, f->s1, &c);
  t += 10000 * MS;
  hr_lease_sys_request(f->s, f->s1, 3000, t, &l);
  /* 400 up, 700 up, then 400/700/400/700: the 4th direction change (the
   * last 700) is more than 3, so it arms the damper; the next rise is refused
   * while cuts still apply. */
  double w[] = {400, 700, 400, 700, 400, 700, 400, 700};
  for (int k = 0; k < 8; k++)
    hr_lease_sys_request(f->s, f->g11, w[k], t + k * MS, &l);
  assert_true(l.p_w == 400.0);
  hr_lease_sys_request(f->s, f->g11, 700, t + 30 * MS, &l);
  assert_true(l.p_w == 400.0); /* still held */
  hr_lease_sys_request(f->s, f->s1, 3000, t + 2100 * MS, &l);
  hr_lease_sys_request(f->s, f->g11, 700, t + 2100 * MS, &l);
  assert_true(l.p_w == 700.0); /* the hold is over */
}

static void test_modes(void **st)
{
  fx_t *f = *st;
  hr_lease_t l;
  int64_t t = 40000 * MS;
  hr_lease_sys_request(f->s, f->s1, 1000, t, &l);
  hr_lease_sys_request(f->s, f->g11, 400, t, &l);
  /* Telemetry loss: degraded, no lease grows. */
  hr_lease_sys_set_events(f->s, HR_EVENT_TELEMETRY_LOSS, t);
  assert_int_equal(hr_lease_sys_mode(f->s), HR_MODE_DEGRADED);
  assert_int_equal(f->notified, 1);
  hr_lease_sys_request(f->s, f->g11, 800, t + 1, &l);
  assert_true(l.p_w == 400.0);
  /* Feed loss: protection-only, every lease revoked at once. */
  hr_lease_sys_set_events(f->s, HR_EVENT_FEED_LOSS, t + 2);
  assert_int_equal(hr_lease_sys_mode(f->s), HR_MODE_PROTECTION);
  assert_int_equal(f->last_mode, HR_MODE_PROTECTION);
  assert_true(hr_lease_sys_cap_w(f->s, f->g11, t + 2) == 300.0);
  assert_true(hr_lease_sys_cap_w(f->s, f->s1, t + 2) == 600.0);
  hr_lease_sys_request(f->s, f->g11, 800, t + 3, &l);
  assert_true(l.p_w == 300.0);
  /* Events clear: the mode improves one step only after 10 s of calm. */
  hr_lease_sys_set_events(f->s, 0, t + 1000 * MS);
  hr_lease_sys_set_events(f->s, 0, t + 5000 * MS);
  assert_int_equal(hr_lease_sys_mode(f->s), HR_MODE_PROTECTION);
  hr_lease_sys_set_events(f->s, 0, t + 11000 * MS);
  assert_int_equal(hr_lease_sys_mode(f->s), HR_MODE_DEGRADED);
  hr_lease_sys_set_events(f->s, 0, t + 15000 * MS);
  assert_int_equal(hr_lease_sys_mode(f->s), HR_MODE_DEGRADED);
  hr_lease_sys_set_events(f->s, 0, t + 21000 * MS);
  assert_int_equal(hr_lease_sys_mode(f->s), HR_MODE_NORMAL);
  assert_string_equal(hr_lease_mode_name(HR_MODE_PROTECTION), "protection");
}

static void test_rebalance(void **st)
{
  fx_t *f = *st;
  double dem[7] = {0};
  dem[f->g11] = 1000;
  dem[f->g12] = 1000;
  dem[f->g21] = 400;
  dem[f->g22] = 300;
  int64_t t = 100000 * MS;
  assert_int_equal(hr_lease_sys_rebalance(f->s, dem, t), HR_OK);
  /* s1 wants 1600 (GPU limits 800), s2 700: both fit the rack. */
  assert_true(hr_lease_sys_cap_w(f->s, f->s1, t) == 1600.0);
  assert_true(hr_lease_sys_cap_w(f->s, f->g11, t) == 800.0);
  assert_true(hr_lease_sys_cap_w(f->s, f->s2, t) == 700.0);
  /* Rack reserve 50 %: 4000 W may be granted. */
  hr_lease_cfg_t lc;
  hr_lease_cfg_init(&lc);
  hr_coord_cfg_t c = lc.coord;
  c.reserve_frac = 0.5;
  hr_lease_sys_set_coord(f->s, f->rack, &c);
  hr_lease_sys_set_floor(f->s, f->g11, 100, t);
  t += 1000 * MS;
  assert_int_equal(hr_lease_sys_rebalance(f->s, dem, t), HR_OK);
  double sum = hr_lease_sys_cap_w(f->s, f->s1, t) + hr_lease_sys_cap_w(f->s, f->s2, t);
  assert_true(sum <= 4000.0);
  assert_true(hr_lease_sys_cap_w(f->s, f->s1, t) == 1600.0);
  /* The policy: at 50 % reserve s1 still fits (4000 W >= 2300 W). */
  assert_true(hr_lease_sys_cap_w(f->s, f->g11, t) + hr_lease_sys_cap_w(f->s, f->g12, t) <= 1600.0);
  assert_true(hr_lease_sys_cap_w(f->s, f->g21, t) == 400.0);
  assert_true(hr_lease_sys_cap_w(f->s, f->g22, t) == 300.0);
}

/* Floors that do not fit a node's limit refuse the system, and the diag
 * names the node as the tree loader would and both numbers. */
static void test_floor_refusal_named(void **st)
{
  (void)st;
  static const char *yaml =
      "version: 1\nname: f\nnodes:\n"
      "  - {id: rack, kind: rack, parent: null, voltage_v: 415, phases: 3, rating_kw: 20}\n"
      "  - {id: s1, kind: server, parent: rack, phases: 1, phase: a, rating_w: 3000}\n"
      "  - {id: g11, kind: gpu, parent: s1, rating_w: 1000}\n";
  hr_tree_t *t = NULL;
  hr_diag_t e;
  assert_int_equal(hr_tree_load_buffer(yaml, strlen(yaml), "f.yaml", &t, &e), HR_OK);
  hr_lease_cfg_t c;
  hr_lease_cfg_init(&c);
  c.gpu_floor_frac = 1.0;                   /* g11's floor 1000 W, its limit 80 % of that */
  hr_lease_sys_t *s = (hr_lease_sys_t *)&c; /* must be overwritten with NULL */
  assert_int_equal(hr_lease_sys_create(t, &c, &s, &e), HR_ERR_RANGE);
  assert_null(s);
  assert_int_equal(e.code, HR_ERR_RANGE);
  assert_string_equal(e.field, "nodes[g11]");
  assert_non_null(strstr(e.message, "1000 W"));
  assert_non_null(strstr(e.message, "800 W"));
  /* A bad cfg member is named too. */
  hr_lease_cfg_init(&c);
  c.degraded_frac = 0.0;
  assert_int_equal(hr_lease_sys_create(t, &c, &s, &e), HR_ERR_RANGE);
  assert_string_equal(e.field, "degraded_frac");
  hr_lease_cfg_init(&c);
  assert_int_equal(hr_lease_sys_create(t, &c, &s, &e), HR_OK);
  assert_int_equal(e.code, HR_OK);
  hr_lease_sys_destroy(s);
  hr_tree_destroy(t);
}

/* The system keeps its own node order (levels, siblings together); every
 * public function takes tree indices.  A depth-first file puts the two
 * orders apart: each node's demand, budget, lease and request must still be
 * its own. */
static void test_tree_indices(void **st)
{
  (void)st;
  static const char *dfs =
      "version: 1\nname: d\nnodes:\n"
      "  - {id: rack, kind: rack, parent: null, voltage_v: 415, phases: 3, rating_kw: 20}\n"
      "  - {id: s1, kind: server, parent: rack, phases: 1, phase: a, rating_w: 3000}\n"
      "  - {id: g11, kind: gpu, parent: s1, rating_w: 1000}\n"
      "  - {id: g12, kind: gpu, parent: s1, rating_w: 900}\n"
      "  - {id: s2, kind: server, parent: rack, phases: 1, phase: b, rating_w: 2500}\n"
      "  - {id: g21, kind: gpu, parent: s2, rating_w: 800}\n"
      "  - {id: g22, kind: gpu, parent: s2, rating_w: 700}\n";
  hr_tree_t *t = NULL;
  hr_diag_t e;
  assert_int_equal(hr_tree_load_buffer(dfs, strlen(dfs), "d.yaml", &t, &e), HR_OK);
  hr_lease_cfg_t c;
  hr_lease_cfg_init(&c);
  c.tier[HR_TIER_GPU].token_w = 1.0;
  c.tier[HR_TIER_RACK].token_w = 1.0;
  hr_lease_sys_t *s = NULL;
  assert_int_equal(hr_lease_sys_create(t, &c, &s, NULL), HR_OK);
  const char *ids[] = {"rack", "s1", "g11", "g12", "s2", "g21", "g22"};
  size_t k[7];
  for (int i = 0; i < 7; i++)
    assert_int_equal(hr_tree_find(t, ids[i], &k[i]), HR_OK);
  /* Budgets: 80 % of each node's own rating. */
  const double rating[7] = {20000, 3000, 1000, 900, 2500, 800, 700};
  for (int i = 0; i < 7; i++)
    assert_true(fabs(hr_lease_sys_budget(s, k[i])->limit_w - 0.8 * rating[i]) < 1e-9);
  /* Demands by tree index, each below its GPU's limit: every GPU gets its own. */
  double dem[7] = {0};
  const double want[7] = {0, 0, 611, 522, 0, 433, 344};
  for (int i = 0; i < 7; i++)
    dem[k[i]] = want[i];
  int64_t now = 100000 * MS;
  assert_int_equal(hr_lease_sys_rebalance(s, dem, now), HR_OK);
  for (int i = 2; i < 7; i++)
    if (i != 4)
      assert_true(hr_lease_sys_cap_w(s, k[i], now) == want[i]);
  assert_true(hr_lease_sys_cap_w(s, k[1], now) == 611.0 + 522.0);
  assert_true(hr_lease_sys_cap_w(s, k[4], now) == 433.0 + 344.0);
  assert_true(hr_lease_sys_lease(s, k[5])->p_w == 433.0);
  /* A request names its node: only g22 changes. */
  assert_int_equal(hr_lease_sys_set_floor(s, k[6], 50.0, now), HR_OK);
  now += MS; /* within the server's lease */
  assert_int_equal(hr_lease_sys_request(s, k[6], 100.0, now, NULL), HR_OK);
  assert_true(hr_lease_sys_cap_w(s, k[6], now) == 100.0);
  assert_true(hr_lease_sys_lease(s, k[6])->floor_w == 50.0);
  assert_true(hr_lease_sys_cap_w(s, k[5], now) == 433.0);
  hr_lease_sys_destroy(s);
  hr_tree_destroy(t);
}

/* ---- policies on hand-computed cases --------------------------------------- */

static void run(hr_policy_t pol, uint8_t *state, size_t n, const double *dem, const double *flo,
                const int *prio, double budget, double *out)
{
  hr_lease_cfg_t lc;
  hr_lease_cfg_init(&lc);
  hr_coord_cfg_t c = lc.coord;
  c.policy = pol;
  hr__item_t it[8];
  double scratch[16];
  for (size_t k = 0; k < n; k++) {
    it[k].dem_w = dem[k];
    it[k].flo_w = flo[k];
    it[k].prio = prio[k];
  }
  hr__policy_alloc(&c, state, n, it, budget, budget, out, scratch);
}

static void test_policies(void **st)
{
  (void)st;
  double out[8];
  uint8_t s = 0;
  const double z[3] = {0, 0, 0};
  const int p0[3] = {0, 0, 0};
  /* Fair share: 1000 W over 100/500/800 -> 100, 450, 450. */
  run(HR_POLICY_FAIR, &s, 3, (double[]){100, 500, 800}, z, p0, 1000, out);
  assert_true(out[0] == 100 && out[1] == 450 && out[2] == 450);
  /* Priority: floors 100; room 700; class 2 takes its 500, class 1 shares 200. */
  run(HR_POLICY_PRIORITY, &s, 3, (double[]){600, 600, 600}, (double[]){100, 100, 100},
      (int[]){2, 1, 1}, 1000, out);
  assert_true(out[0] == 600 && out[1] == 200 && out[2] == 200);
  /* Three-band: 1050 > 990 caps, cut to 950 from the top bucket (400s). */
  s = 0;
  run(HR_POLICY_THREE_BAND, &s, 3, (double[]){400, 400, 250}, z, p0, 1000, out);
  assert_true(s == 1 && out[0] == 350 && out[1] == 350 && out[2] == 250);
  /* 960 is between the bands: still capped, cut 10. */
  run(HR_POLICY_THREE_BAND, &s, 3, (double[]){400, 300, 260}, z, p0, 1000, out);
  assert_true(s == 1 && fabs(out[0] - 390) < 1e-9 && out[1] == 300);
  /* 880 < 900: uncapped. */
  run(HR_POLICY_THREE_BAND, &s, 3, (double[]){400, 300, 180}, z, p0, 1000, out);
  assert_true(s == 0 && out[0] == 400);
  /* Lowest priority is cut first. */
  s = 0;
  run(HR_POLICY_THREE_BAND, &s, 2, (double[]){500, 500}, z, (int[]){1, 0}, 1000, out);
  assert_true(out[0] == 500 && out[1] == 450);
  /* Two thresholds: 850 > T1 = 800 caps low priority to 70 %. */
  s = 0;
  run(HR_POLICY_TWO_THRESHOLD, &s, 2, (double[]){450, 400}, z, (int[]){0, 2}, 1000, out);
  assert_true(s == 1 && fabs(out[0] - 315) < 1e-9 && out[1] == 400);
  run(HR_POLICY_TWO_THRESHOLD, &s, 2, (double[]){500, 450}, z, (int[]){0, 2}, 1000, out);
  assert_true(s == 2 && fabs(out[1] - 382.5) < 1e-9);
  run(HR_POLICY_TWO_THRESHOLD, &s, 2, (double[]){470, 400}, z, (int[]){0, 2}, 1000, out);
  assert_true(s == 2); /* 870 is not 5 % below T2 */
  run(HR_POLICY_TWO_THRESHOLD, &s, 2, (double[]){440, 400}, z, (int[]){0, 2}, 1000, out);
  assert_true(s == 1);
  run(HR_POLICY_TWO_THRESHOLD, &s, 2, (double[]){350, 350}, z, (int[]){0, 2}, 1000, out);
  assert_true(s == 0 && out[0] == 350);
  /* Floors above the budget: everyone at the floor. */
  run(HR_POLICY_FAIR, &s, 2, (double[]){500, 500}, (double[]){400, 400}, p0, 700, out);
  assert_true(out[0] == 400 && out[1] == 400);
}

/* A root without a rating has no limit (INFINITY): its children are granted
 * what they ask within their own ratings, not held at their floors (0 x
 * INFINITY as a reserve made the budget NAN). */
static void test_unrated_root(void **st)
{
  (void)st;
  const char *y = "version: 1\nname: t\nnodes:\n"
                  "  - {id: site, kind: switchgear, parent: null, voltage_v: 415, phases: 3}\n"
                  "  - {id: s1, kind: server, parent: site, phases: 1, phase: a, rating_w: 3000}\n"
                  "  - {id: g1, kind: gpu, parent: s1, rating_w: 1000}\n"
                  "  - {id: g2, kind: gpu, parent: s1, rating_w: 1000}\n";
  hr_tree_t *t = NULL;
  hr_diag_t e;
  assert_int_equal(hr_tree_load_buffer(y, strlen(y), "t.yaml", &t, &e), HR_OK);
  hr_lease_cfg_t c;
  hr_lease_cfg_init(&c);
  hr_lease_sys_t *s = NULL;
  assert_int_equal(hr_lease_sys_create(t, &c, &s, NULL), HR_OK);
  double d[4] = {0, 0, 900, 900};
  int64_t now = 1000 * MS;
  assert_int_equal(hr_lease_sys_rebalance(s, d, now), HR_OK);
  /* the server's 1800 W in whole 1 kW tokens above its 600 W floor */
  assert_true(hr_lease_sys_cap_w(s, 1, now) == 1600.0);
  assert_true(hr_lease_sys_cap_w(s, 2, now) == 800.0);
  assert_int_equal(hr_lease_sys_request(s, 1, 2400, now + MS, NULL), HR_OK);
  assert_true(hr_lease_sys_cap_w(s, 1, now + MS) == 1600.0); /* 2400 = 600 + 1.8 tokens */
  hr_lease_sys_destroy(s);
  hr_tree_destroy(t);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_grant_expiry, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cut_cascade_and_ramp, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reserve_phase, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stopped_coordinator, setup, teardown),
      cmocka_unit_test_setup_teardown(test_anti_oscillation, setup, teardown),
      cmocka_unit_test_setup_teardown(test_modes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rebalance, setup, teardown),
      cmocka_unit_test(test_policies),
      cmocka_unit_test(test_unrated_root),
      cmocka_unit_test(test_tree_indices),
      cmocka_unit_test(test_floor_refusal_named),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
