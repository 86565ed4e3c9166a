/* An independent checker of the lease layer's safety promises
 * (docs/lease.md, include/headroom/lease.h).
 *
 * It uses only the public API (lease.h, tree.h, protect.h) and keeps a model
 * of its own of what the wiring carries, so that it does not share the
 * implementation's assumptions:
 *
 *   physics    for every node k with a budget and each of its conductors, the
 *              load that ALL the leaves below k may draw at t (each leaf's
 *              cap, mapped through the wiring: a line-to-neutral leaf weighs 1
 *              on its phase, a line-to-line one 1/sqrt3 on each of its two
 *              lines, a three-phase one 1/3 on each; phases pass straight
 *              through three-phase nodes; a single-phase node's whole subtree
 *              sits on its conductors; a dual-corded load counts in full on
 *              both sides; nodes on a lost feed, or cut off by a tripped
 *              device until it is reclosed, carry nothing) is within
 *              budget(k)->phase_w[q], and the total within limit_w;
 *   holder     what a holder's subtree may draw fits its own cap (and, for a
 *              three-phase holder with children, its lease's phase caps);
 *   coordinator  the caps of a running coordinator's children sum to at most
 *              hr_lease_sys_avail_w;
 *   nesting    no unexpired lease outlives the lease of the running, non-root
 *              coordinator that granted it;
 *   ramp       an increase of a holder's cap at t is at most ramp_w_per_s x
 *              (t - the last change of its cap, drops by expiry included) and
 *              at most max(ramp_w_per_s x ramp_acc_ns, one token); the
 *              checker follows every cap itself, sampling before and after
 *              every call; no cap grows outside normal mode or below a stopped
 *              coordinator;
 *   grid       the total granted under a root with a grid ramp rises by at
 *              most max_ramp x (t - s) + max_ramp x ramp_window over any
 *              [s, t];
 *   stopped    every leaf below a stopped coordinator is at or below its floor
 *              one lease time after the stop, or with expiry_fallback =
 *              HR_EXPIRY_SAFE_SHARE (odd seeds) at or below min(its cap when
 *              the coordinator stopped, its safe share) and at or above its
 *              floor; the mode is degraded (HR_EVENT_COORD_LOSS) while a
 *              coordinator is stopped;
 *   safe       (at creation) every safe share within the node's continuous
 *              rating and at least its floor, and a node's children's safe
 *              shares within its own less its reserve (or their floors);
 *   clamps     hr_lease_sys_stats().clamps stays 0 (the post-condition is a
 *              safety net, never a mode of operation);
 *   floors     floors match the model (a leaf's gpu_floor_frac of its rating,
 *              700 W when unrated; an inner node's the sum of its children's),
 *              and creation refuses exactly the trees whose floors do not fit;
 *   calls      every call returns within a second whatever the numbers.
 *
 * The exception the promise makes: floors are never refused, and what a
 * stopped coordinator granted stays committed until it expires.  So a sum is
 * allowed up to max(limit, least), where least is the same sum with every
 * leaf at its floor except those that nobody running can cut (below a stopped
 * coordinator), which count at their caps.
 *
 * Tolerance: a sum may exceed its limit by 1e-9 of the limit + 1e-6 W.  The
 * checker adds up to a few hundred doubles in its own order (and multiplies
 * by 1/3 and 1/sqrt3), the implementation in another: the difference is a few
 * hundred ulps, some 1e-13 relative.  1e-9 is far above that and far below
 * anything a breaker notices (1 mW per MW); the 1e-6 W covers limits of 0
 * (a tripped device, a lost feed).
 *
 * Tests: one small deterministic case for each defect found by an earlier
 * check (and the lesser ones), then random trees (plain, 2N, N+N; 2-5 levels,
 * fan-out to 16, skewed phases, line-to-line loads, three-phase PDUs, unrated
 * devices, per-node policies, ramps, dwell, tokens) driven through random
 * demands (mostly above what the tree carries, and extreme values), requests,
 * releases, rebalances, stops and restarts, feed losses, mode events, thermal
 * observations and time, checking everything after every call.
 *
 * Environment: HR_INVARIANT_SEEDS (number of random trees, default 200),
 * HR_INVARIANT_STEPS (steps per tree, default 500), HR_INVARIANT_SEED0 (first
 * seed, default 1), HR_INVARIANT_KEEP_GOING=1 (count violations instead of
 * stopping at the first; the test still fails), HR_INVARIANT_VERBOSE=1
 * (print the tree and the last calls with a violation). */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "headroom/lease.h"
#include "headroom/protect.h"
#include "headroom/tree.h"
#include "leasetest.h"

/* The ramp's accumulation time (a checker of an older build, without the
 * field, may redefine this). */
#ifndef HR_COORD_RAMP_ACC
#define HR_COORD_RAMP_ACC(c) ((c)->ramp_acc_ns)
#endif

#define MS 1000000LL
#define SEC 1000000000LL
#define SQRT3 1.7320508075688772
#define INV_SQRT3 0.57735026918962576
#define REL_TOL 1e-9
#define ABS_TOL 1e-6
static unsigned HANG_S = 5; /* a call that has not returned after this long has hung
                               (HR_INVARIANT_HANG_S) */
#define LOG_N 48

/* ---- counters -------------------------------------------------------------- */

enum {
  K_PHYS,
  K_PHASE,
  K_HOLDER,
  K_COORD,
  K_NEST,
  K_RAMP,
  K_GROW,
  K_GRID,
  K_STOP,
  K_MODE,
  K_CLAMP,
  K_FLOOR,
  K_BUDGET,
  K_OSC,
  K_SAFE,
  K_CALL,
  K_CREATE,
  K_COUNT
};
static const char *const K_NAME[K_COUNT] = {
    "physics: total within limit_w",
    "physics: conductor within phase_w",
    "holder: subtree within own caps",
    "coordinator: children within avail_w",
    "nesting: child expiry <= parent expiry",
    "ramp: increase within ramp allowance",
    "no growth outside normal mode / below a stopped coordinator",
    "grid ramp under a root",
    "stopped coordinator: leaves at their fallback after one lease time",
    "mode/events follow stops and feed losses",
    "post-condition clamps == 0",
    "floors: model, caps >= floors",
    "budget: limits within ratings, tripped = 0",
    "osc: ramp_from_ns cross-check",
    "safe shares: children within parent, within ratings",
    "call returns within 1 s",
    "creation refuses exactly floors over a limit"};
static long n_chk[K_COUNT], n_bad[K_COUNT];
static long n_bind_phys, n_bind_coord;     /* sums within 1 % of a limit above the floors */
static long n_sup_ok, n_sup_range;         /* supplies taken (finite) and refused */
static long n_sup_normal;                  /* checks in normal mode with HR_EVENT_UTILITY_LOSS */
static long n_cand_phys, n_cand_coord;     /* checks with a finite limit above the floors */
static long n_calls_checked, n_calls_bind; /* calls after which some physics sum was binding */
static long n_increase, n_refused, n_trees, n_steps;
static int keep_going, verbose;

/* ---- bounded-time guard ---------------------------------------------------- */

static sigjmp_buf g_jmp;
static volatile sig_atomic_t g_armed;
static const char *volatile g_call = "";
static double g_call_t0, g_max_call_s;
static const char *g_max_call = "";

static void on_alarm(int sig)
{
  (void)sig;
  if (g_armed)
    siglongjmp(g_jmp, 1);
  static const char m[] = "test_invariants: a call hung (no guard armed)\n";
  ssize_t w = write(2, m, sizeof m - 1);
  (void)w;
  _exit(1);
}

static double mono_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* sigsetjmp must be called in the frame that stays live while calls run. */
#define GUARD()                                                                                    \
  do {                                                                                             \
    if (sigsetjmp(g_jmp, 1)) {                                                                     \
      g_armed = 0;                                                                                 \
      fail_msg("%s did not return within %d s", g_call, HANG_S);                                   \
    }                                                                                              \
    g_armed = 1;                                                                                   \
    alarm(HANG_S);                                                                                 \
  } while (0)
#define UNGUARD()                                                                                  \
  do {                                                                                             \
    alarm(0);                                                                                      \
    g_armed = 0;                                                                                   \
  } while (0)

/* ---- the checker's model ----------------------------------------------------- */

typedef struct ck {
  hr_tree_t *t;
  const hr_tree_node_t *nd;
  size_t n;
  hr_lease_sys_t *s;
  hr_lease_cfg_t cfg;
  const char *yaml; /* the tree's text, for reports (borrowed) */
  const char *test; /* test name, for reports */
  unsigned long long seed;
  int step;
  hr_coord_cfg_t *cc;                           /* each coordinator's settings as set */
  signed char *r100;                            /* rated_100 as set (-1: the configuration's) */
  unsigned char *dead, *pdead, *stopped, *mark; /* pdead: dead before the call */
  int64_t *stop_ns;          /* when a stopped coordinator stopped (or came back on a feed) */
  double *floor;             /* this model's floors */
  double *sup;               /* roots' supplies as set (hr_lease_sys_set_supply; INFINITY none) */
  double *lastg;             /* each cap when the last coordinator stopped (expiry_fallback) */
  double *cap;               /* caps at now after the last call */
  double (*v)[4];            /* load of the leaves below: conductors A B C (slot 0 only
                                on single-phase nodes) and total */
  double (*vm)[4];           /* the same with every leaf at the least it can be cut to */
  double *tcap, *tpw, *tflo; /* ramp tracker: cap, lease p_w and floor after the last sample */
  int64_t *tchg, *texp;      /* last change of the cap; lease expiry */
  int64_t *tgr;              /* the same, not counting floor and feed changes */
  double *gmin;              /* grid tracker: min over samples of G(s) - R s */
  unsigned char *gok;
  unsigned feeds;
  uint64_t clamps; /* post-condition clamps already reported */
  int started;
  int64_t t0, now;
  hr_mode_t mode_before;
  char log[LOG_N][200];
  int n_log;
} ck_t;

static void ck_log(ck_t *c, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->log[c->n_log % LOG_N], sizeof c->log[0], fmt, ap);
  va_end(ap);
  c->n_log++;
}

static const char *nid(const ck_t *c, size_t k)
{
  return c->nd[k].id;
}

static void bad(ck_t *c, int kind, const char *fmt, ...)
{
  n_bad[kind]++;
  if (keep_going && n_bad[kind] > 3)
    return;
  char msg[700];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  print_error("VIOLATION [%s] %s seed %llu call %d t=%.9f s: %s\n", K_NAME[kind], c->test, c->seed,
              c->step, (double)c->now / 1e9, msg);
  if (verbose || !keep_going) {
    int first = c->n_log > LOG_N ? c->n_log - LOG_N : 0;
    print_error("  last calls:\n");
    for (int i = first; i < c->n_log; i++)
      print_error("    %s\n", c->log[i % LOG_N]);
    if (verbose && c->yaml)
      print_error("  tree:\n%s\n", c->yaml);
  }
  if (!keep_going)
    fail();
}

static int is_leaf(const ck_t *c, size_t k)
{
  return c->nd[k].n_children == 0;
}

static int is_root(const ck_t *c, size_t k)
{
  return c->nd[k].parent < 0;
}

static const int32_t *kids(const ck_t *c, size_t k, size_t *m)
{
  return hr_tree_children(c->t, k, m);
}

static double tier_token(const ck_t *c, size_t k)
{
  return c->cfg.tier[hr_lease_tier_of(c->nd[k].kind)].token_w;
}

static int64_t tier_ttl(const ck_t *c, size_t k)
{
  return c->cfg.tier[hr_lease_tier_of(c->nd[k].kind)].ttl_ns;
}

/* A leaf's rating for its floor: a GPU's is 700 W when unrated (lease.h,
 * gpu_floor_frac), another unrated leaf has none. */
static double floor_base(const hr_tree_node_t *nd)
{
  if (isfinite(nd->capacity_w))
    return nd->capacity_w;
  return nd->kind == HR_NODE_GPU ? 700.0 : 0.0;
}

static void model_floors(ck_t *c)
{
  for (size_t k = c->n; k-- > 0;) {
    if (is_leaf(c, k))
      continue;
    size_t m = 0;
    const int32_t *ch = kids(c, k, &m);
    double f = 0.0;
    for (size_t j = 0; j < m; j++)
      f += c->floor[ch[j]];
    c->floor[k] = f;
  }
}

static void leaf_vec(const hr_tree_node_t *nd, double p, double x[4])
{
  if (nd->n_phases == 3) {
    x[0] = x[1] = x[2] = p / 3.0;
  } else {
    x[0] = p;
    x[1] = x[2] = 0.0;
  }
  x[3] = p;
}

/* Adds what child ch, whose own conductors carry x, puts on node k's. */
static void add_mapped(const ck_t *c, size_t k, size_t ch, const double x[4], double out[4])
{
  const hr_tree_node_t *nk = &c->nd[k], *nc = &c->nd[ch];
  out[3] += x[3];
  if (nk->n_phases != 3) {
    out[0] += x[3]; /* one conductor pair: the whole subtree */
    return;
  }
  if (nc->n_phases == 3) {
    for (int q = 0; q < 3; q++)
      out[q] += x[q]; /* straight through */
    return;
  }
  hr_phase_t ph = nc->parent == (int32_t)k ? nc->phase : nc->phase_b;
  double p = x[3];
  switch (ph) {
  case HR_PHASE_A:
    out[0] += p;
    break;
  case HR_PHASE_B:
    out[1] += p;
    break;
  case HR_PHASE_C:
    out[2] += p;
    break;
  case HR_PHASE_AB:
    out[0] += p * INV_SQRT3;
    out[1] += p * INV_SQRT3;
    break;
  case HR_PHASE_BC:
    out[1] += p * INV_SQRT3;
    out[2] += p * INV_SQRT3;
    break;
  case HR_PHASE_CA:
    out[2] += p * INV_SQRT3;
    out[0] += p * INV_SQRT3;
    break;
  default: /* a single-phase node on ABC cannot load; count it everywhere */
    out[0] += p;
    out[1] += p;
    out[2] += p;
    break;
  }
}

/* v and vm of every node from the leaves' caps (bottom-up: the tree lists
 * children after parents). */
static void model_loads(ck_t *c)
{
  for (size_t k = c->n; k-- > 0;) {
    memset(c->v[k], 0, sizeof c->v[k]);
    memset(c->vm[k], 0, sizeof c->vm[k]);
    if (c->dead[k])
      continue;
    if (is_leaf(c, k)) {
      leaf_vec(&c->nd[k], c->cap[k], c->v[k]);
      leaf_vec(&c->nd[k], c->floor[k], c->vm[k]);
      continue;
    }
    size_t m = 0;
    const int32_t *ch = kids(c, k, &m);
    for (size_t j = 0; j < m; j++) {
      size_t x = (size_t)ch[j];
      if (c->dead[x])
        continue;
      add_mapped(c, k, x, c->v[x], c->v[k]);
      add_mapped(c, k, x, c->vm[x], c->vm[k]);
    }
    /* Nobody running can cut below a stopped coordinator: what it granted is
     * committed until it expires.  Its children's grants, not only what their
     * leaves hold now: a running child may raise its own children within its
     * grant (per conductor for a three-phase child). */
    if (c->stopped[k]) {
      double acc[4] = {0.0, 0.0, 0.0, 0.0};
      for (size_t j = 0; j < m; j++) {
        size_t x = (size_t)ch[j];
        if (c->dead[x])
          continue;
        double xv[4];
        if (is_leaf(c, x) || c->nd[x].n_phases != 3) {
          leaf_vec(&c->nd[x], c->cap[x], xv);
        } else {
          hr_lease_phase_cap_w(hr_lease_sys_lease(c->s, x), c->now, xv);
          xv[3] = c->cap[x];
        }
        for (int q = 0; q < 4; q++)
          xv[q] = xv[q] > c->v[x][q] ? xv[q] : c->v[x][q];
        add_mapped(c, k, x, xv, acc);
      }
      memcpy(c->vm[k], acc, sizeof acc);
    }
  }
}

static int within(double x, double lim)
{
  return x <= lim * (1.0 + REL_TOL) + ABS_TOL; /* false for NAN */
}

static double grid_g(const ck_t *c, size_t r, int64_t t)
{
  size_t m = 0;
  const int32_t *ch = kids(c, r, &m);
  double g = 0.0;
  for (size_t j = 0; j < m; j++)
    if (!c->dead[ch[j]])
      g += hr_lease_sys_cap_w(c->s, (size_t)ch[j], t);
  return g;
}

static int has_grid_ramp(const ck_t *c, size_t r)
{
  return is_root(c, r) && c->nd[r].grid && c->nd[r].grid->max_ramp_w_per_s > 0.0;
}

/* One sample of the grid ramp: G(t) - G(s) <= R (t - s) + R W for every
 * earlier sample s, i.e. G(t) - R t <= min_s (G(s) - R s) + R W. */
static void grid_sample(ck_t *c, int64_t t, int check)
{
  for (size_t r = 0; r < c->n; r++) {
    if (!has_grid_ramp(c, r))
      continue;
    if (c->dead[r]) {
      c->gok[r] = 0;
      continue;
    }
    const hr_grid_limits_t *gl = c->nd[r].grid;
    double R = gl->max_ramp_w_per_s, W = gl->ramp_window_s > 0.0 ? gl->ramp_window_s : 1.0;
    double g = grid_g(c, r, t), x = g - R * (double)(t - c->t0) / 1e9;
    /* At once: one window's worth, or one token of the root's children when
     * that is larger (lease.h, docs/lease.md "Grid ramp"). */
    double once = R * W;
    size_t m = 0;
    const int32_t *ch = kids(c, r, &m);
    for (size_t j = 0; j < m; j++)
      if (tier_token(c, (size_t)ch[j]) > once)
        once = tier_token(c, (size_t)ch[j]);
    if (c->gok[r] && check) {
      n_chk[K_GRID]++;
      double allow = c->gmin[r] + once;
      if (!(x <= allow + REL_TOL * (g + once) + ABS_TOL))
        bad(c, K_GRID,
            "root %s: granted %.6f W rose %.6f W above what max_ramp %.3f W/s allows "
            "(+ %.3f W at once)",
            nid(c, r), g, x - c->gmin[r], R, once);
    }
    if (!c->gok[r] || x < c->gmin[r])
      c->gmin[r] = x;
    c->gok[r] = 1;
  }
}

static void sample_pre(ck_t *c, int64_t t)
{
  if (!c->started) {
    /* The system's first time: a cap never changed counts from here. */
    c->started = 1;
    c->t0 = t;
    for (size_t k = 0; k < c->n; k++) {
      c->tcap[k] = c->dead[k] || is_root(c, k) ? 0.0 : hr_lease_sys_cap_w(c->s, k, t);
      c->tchg[k] = c->tgr[k] = t;
      const hr_lease_t *l = hr_lease_sys_lease(c->s, k);
      c->tpw[k] = l ? l->p_w : 0.0;
      c->texp[k] = l ? l->expiry_ns : 0;
      c->tflo[k] = l ? l->floor_w : 0.0;
    }
  }
  for (size_t k = 0; k < c->n; k++) {
    if (is_root(c, k))
      continue;
    double now = c->dead[k] ? 0.0 : hr_lease_sys_cap_w(c->s, k, t);
    if (now == c->tcap[k])
      continue;
    if (!c->dead[k] && now > c->tcap[k] * (1.0 + 1e-12) + 1e-9) {
      n_chk[K_GROW]++;
      bad(c, K_GROW, "%s: cap rose from %.6f to %.6f W between calls", nid(c, k), c->tcap[k], now);
    }
    /* A drop between calls is an expiry, at the expiry time. */
    c->tchg[k] = c->texp[k] <= t && c->texp[k] > c->tchg[k] ? c->texp[k] : t;
    if (c->tchg[k] > c->tgr[k])
      c->tgr[k] = c->tchg[k];
    c->tcap[k] = now;
  }
  grid_sample(c, t, 1);
}

/* The most an increase of k's cap at now may be: the ramp of the coordinator
 * that grants it (the larger of two, for a dual-corded holder). */
static double ramp_allow(const ck_t *c, size_t k, double *r_out)
{
  int32_t ps[2] = {c->nd[k].parent, c->nd[k].parent_b};
  double best = -1.0;
  *r_out = 0.0;
  for (int j = 0; j < 2; j++) {
    if (ps[j] < 0 || c->dead[ps[j]])
      continue;
    const hr_coord_cfg_t *cc = &c->cc[ps[j]];
    double r = cc->ramp_w_per_s;
    if (!isfinite(r))
      return INFINITY;
    double dt = (double)(c->now - c->tchg[k]) / 1e9;
    double acc = r * (double)HR_COORD_RAMP_ACC(cc) / 1e9, tok = tier_token(c, k);
    double a = r * dt, once = acc > tok ? acc : tok;
    if (a > once)
      a = once;
    if (a > best) {
      best = a;
      *r_out = r;
    }
  }
  return best < 0.0 ? INFINITY : best;
}

static void check_ramp(ck_t *c, int floors_changed)
{
  hr_mode_t mode_after = hr_lease_sys_mode(c->s);
  for (size_t k = 0; k < c->n; k++) {
    if (is_root(c, k))
      continue;
    double before = c->tcap[k], after = c->dead[k] ? 0.0 : c->cap[k];
    n_chk[K_RAMP]++;
    if (after > before * (1.0 + 1e-12) + 1e-9) {
      /* A floor is never refused: a cap lifted to a raised floor is not growth
       * (the floor as the library now holds it, when floors moved in this call). */
      double fl = c->dead[k] ? 0.0 : c->floor[k];
      if (floors_changed && !c->dead[k])
        fl = hr_lease_sys_lease(c->s, k)->floor_w;
      /* nor is a cap held to what its subtree cannot be cut below (floors and
       * a stopped coordinator's commitments: the same exception as the sums) */
      if (!c->dead[k] && !is_leaf(c, k) && c->vm[k][3] > fl)
        fl = c->vm[k][3];
      if (!within(after, fl)) {
        n_increase++;
        double base = before > fl ? before : fl, inc = after - base;
        n_chk[K_GROW]++;
        if (mode_after != HR_MODE_NORMAL) /* a call may first return to normal, then grant */
          bad(c, K_GROW, "%s: cap rose %.6f -> %.6f W in mode %s", nid(c, k), before, after,
              hr_lease_mode_name(mode_after));
        int32_t ps[2] = {c->nd[k].parent, c->nd[k].parent_b};
        for (int j = 0; j < 2; j++)
          if (ps[j] >= 0 && !c->dead[ps[j]] && c->stopped[ps[j]])
            bad(c, K_GROW, "%s: cap rose %.6f -> %.6f W while its coordinator %s is stopped",
                nid(c, k), before, after, nid(c, (size_t)ps[j]));
        double r = 0.0, allow = ramp_allow(c, k, &r);
        if (!within(inc, allow))
          bad(c, K_RAMP,
              "%s: cap rose %.6f -> %.6f W (+%.6f) but ramp %.3f W/s allows +%.6f since the "
              "last change at t=%.9f s",
              nid(c, k), before, after, inc, r, allow, (double)c->tchg[k] / 1e9);
      }
    }
    const hr_lease_t *l = hr_lease_sys_lease(c->s, k);
    /* A change of the grant (a grant, cut, release or revocation) restarts
     * the ramp; the holder's own floor moving, or its feed going or coming
     * back, is not a grant (docs/lease.md lists the drops that count). */
    int not_grant = c->pdead[k] != c->dead[k] || (floors_changed && l->floor_w != c->tflo[k]);
    if (after != before && !not_grant)
      c->tchg[k] = c->tgr[k] = c->now;
    c->tcap[k] = after;
    c->tpw[k] = l->p_w;
    c->texp[k] = l->expiry_ns;
    c->tflo[k] = l->floor_w;
  }
}

/* Cross-check of hr_lease_sys_osc.  ramp_from_ns is the time an increase
 * counts from for any later t: a lease still running reports its expiry
 * (when its cap will drop); so the time that applies now is ramp_from_ns if
 * that has passed, else last_change_ns.  It must not be earlier than the
 * last change of the cap this checker saw (tgr: grants, cuts, releases,
 * revocations and expiries; not floor or feed changes). */
static void check_osc(ck_t *c)
{
  for (size_t k = 0; k < c->n; k++) {
    if (is_root(c, k) || c->dead[k])
      continue;
    /* With the safe-share fallback a stopped node's cap, once its own lease
     * ran out, is its children's commitments: it moves with them, not by a
     * grant (its ramp starts again when it restarts, hr_lease_sys_osc then). */
    if (c->cfg.expiry_fallback == HR_EXPIRY_SAFE_SHARE && c->stopped[k])
      continue;
    hr_lease_osc_t o;
    n_chk[K_OSC]++;
    if (hr_lease_sys_osc(c->s, k, &o) != HR_OK) {
      bad(c, K_OSC, "%s: hr_lease_sys_osc failed", nid(c, k));
      continue;
    }
    int64_t from = o.ramp_from_ns <= c->now ? o.ramp_from_ns : o.last_change_ns;
    if (from == INT64_MIN)
      from = c->t0; /* never changed: the system's first time */
    if (o.last_change_ns != INT64_MIN && o.last_change_ns > c->now)
      bad(c, K_OSC, "%s: last_change_ns %lld after now", nid(c, k), (long long)o.last_change_ns);
    if (from < c->tgr[k])
      bad(c, K_OSC, "%s: ramp counts from %.9f s, but its cap last changed at %.9f s", nid(c, k),
          (double)from / 1e9, (double)c->tgr[k] / 1e9);
  }
}

/* A utility loss is degraded mode unless every root holds a supply. */
static hr_mode_t mode_for(const ck_t *c, unsigned ev)
{
  if (ev & HR_EVENT_FEED_LOSS)
    return HR_MODE_PROTECTION;
  int all = 1;
  for (size_t k = 0; k < c->n; k++)
    if (is_root(c, k) && !(c->sup[k] < INFINITY))
      all = 0;
  unsigned deg = HR_EVENT_TELEMETRY_LOSS | HR_EVENT_COORD_LOSS;
  if (!all)
    deg |= HR_EVENT_UTILITY_LOSS;
  if (ev & deg)
    return HR_MODE_DEGRADED;
  return HR_MODE_NORMAL;
}

static double cont_dev_model(const ck_t *c, size_t k)
{
  const hr_tree_node_t *nd = &c->nd[k];
  int full = c->r100[k] >= 0 ? c->r100[k] : c->cfg.budget.rated_100;
  /* The power factor applies to a current rating, not to one in watts. */
  double pf = c->cfg.budget.pf, cap = nd->capacity_w * pf;
  if (pf < 1.0 && nd->rating_w > 0.0) {
    double va = nd->rating_a > 0.0 ? hr_budget_power_w(nd, nd->rating_a, 1.0) : INFINITY;
    cap = fmin(va * pf, nd->rating_w);
  }
  double w = isfinite(cap) ? (full ? 1.0 : c->cfg.budget.cont_frac) * cap : INFINITY;
  if (nd->budget_w > 0.0 && nd->budget_w < w)
    w = nd->budget_w;
  return w;
}

/* The same with a root's supply, which bounds it in total only (its
 * conductors keep the device's limits). */
static double cont_model(const ck_t *c, size_t k)
{
  double w = cont_dev_model(c, k);
  return is_root(c, k) && c->sup[k] < w ? c->sup[k] : w;
}

static void check_budgets(ck_t *c)
{
  for (size_t k = 0; k < c->n; k++) {
    const hr_budget_t *b = hr_lease_sys_budget(c->s, k);
    n_chk[K_BUDGET]++;
    if (!b) {
      bad(c, K_BUDGET, "%s: no budget", nid(c, k));
      continue;
    }
    if (c->dead[k]) {
      if (!(b->limit_w <= ABS_TOL))
        bad(c, K_BUDGET, "%s: on a lost feed but limit_w %.6f", nid(c, k), b->limit_w);
      continue;
    }
    double cw = cont_model(c, k);
    if (!(b->limit_w >= 0.0) || !within(b->limit_w, cw))
      bad(c, K_BUDGET, "%s: limit_w %.6f above the continuous rating %.6f", nid(c, k), b->limit_w,
          cw);
    int np = c->nd[k].n_phases == 3 ? 3 : 1;
    const double cd = cont_dev_model(c, k);
    for (int q = 0; q < np; q++)
      if (!(b->phase_w[q] >= 0.0) || !within(b->phase_w[q], np == 3 ? cd / 3.0 : cd))
        bad(c, K_BUDGET, "%s: phase_w[%d] %.6f above the conductor's rating %.6f", nid(c, k), q,
            b->phase_w[q], np == 3 ? cd / 3.0 : cd);
    if (c->nd[k].device) {
      hr_device_status_t st;
      if (hr_lease_sys_device_status(c->s, k, &st) == HR_OK && st.tripped && b->limit_w > ABS_TOL)
        bad(c, K_BUDGET, "%s: device tripped but limit_w %.6f", nid(c, k), b->limit_w);
    }
  }
}

/* Safe shares (lease.h hr_lease_sys_safe_share): each within the node's
 * continuous rating (or its floor, which is never refused), and a node's
 * children's within its own less its reserve (or their floors). */
static void check_safe(ck_t *c)
{
  for (size_t k = 0; k < c->n; k++) {
    double sk = NAN;
    n_chk[K_SAFE]++;
    if (hr_lease_sys_safe_share(c->s, k, &sk, NULL) != HR_OK ||
        !(sk >= c->floor[k] * (1 - 1e-12))) {
      bad(c, K_SAFE, "%s: safe share %.6f below its floor %.6f", nid(c, k), sk, c->floor[k]);
      continue;
    }
    double cw = cont_model(c, k);
    if (!within(sk, cw > c->floor[k] ? cw : c->floor[k]))
      bad(c, K_SAFE, "%s: safe share %.6f above its continuous rating %.6f", nid(c, k), sk, cw);
    size_t m = 0;
    const int32_t *ch = kids(c, k, &m);
    if (m == 0 || !isfinite(sk))
      continue;
    double sum = 0.0, fl = 0.0;
    for (size_t j = 0; j < m; j++) {
      double x = 0.0;
      hr_lease_sys_safe_share(c->s, (size_t)ch[j], &x, NULL);
      sum += x;
      fl += c->floor[ch[j]];
    }
    double room = sk - c->cc[k].reserve_frac * sk;
    if (!within(sum, room > fl ? room : fl))
      bad(c, K_SAFE, "%s: children's safe shares sum to %.6f, its own %.6f less reserve is %.6f",
          nid(c, k), sum, sk, room);
  }
}

/* Every promise at c->now, after a call. */
static void check_all(ck_t *c, const double *before_call, int floors_changed)
{
  hr_lease_sys_t *s = c->s;
  int64_t t = c->now;
  for (size_t k = 0; k < c->n; k++)
    c->cap[k] = c->dead[k] ? 0.0 : hr_lease_sys_cap_w(s, k, t);
  /* Floors and caps. */
  for (size_t k = 0; k < c->n; k++) {
    if (is_root(c, k) || c->dead[k])
      continue;
    const hr_lease_t *l = hr_lease_sys_lease(s, k);
    n_chk[K_FLOOR]++;
    if (!l || fabs(l->floor_w - c->floor[k]) > 1e-9 * c->floor[k] + ABS_TOL)
      bad(c, K_FLOOR, "%s: floor %.6f, model %.6f", nid(c, k), l ? l->floor_w : NAN, c->floor[k]);
    if (!isfinite(c->cap[k]) || c->cap[k] < c->floor[k] * (1.0 - 1e-12) - 1e-9)
      bad(c, K_FLOOR, "%s: cap %.6f below its floor %.6f", nid(c, k), c->cap[k], c->floor[k]);
  }
  model_loads(c);
  int any_bind = 0;
  for (size_t k = 0; k < c->n; k++) {
    if (c->dead[k] || is_leaf(c, k))
      continue;
    const hr_budget_t *b = hr_lease_sys_budget(s, k);
    /* Physics: the leaves below k against k's conductors and limit. */
    int np = c->nd[k].n_phases == 3 ? 3 : 1, cand = 0, bind = 0;
    for (int q = 0; q < np; q++) {
      double lim = b->phase_w[q], least = c->vm[k][q];
      n_chk[K_PHASE]++;
      if (!within(c->v[k][q], lim > least ? lim : least))
        bad(c, K_PHASE,
            "%s conductor %c: the leaves below may draw %.6f W, limit %.6f W (floors and "
            "commitments %.6f W)",
            nid(c, k), np == 3 ? "ABC"[q] : '1', c->v[k][q], lim, least);
      if (isfinite(lim) && lim > least * 1.01) {
        cand = 1;
        bind |= c->v[k][q] >= 0.99 * lim;
      }
    }
    {
      double lim = b->limit_w, least = c->vm[k][3];
      n_chk[K_PHYS]++;
      if (!within(c->v[k][3], lim > least ? lim : least))
        bad(c, K_PHYS,
            "%s: the leaves below may draw %.6f W in total, limit_w %.6f W (floors and "
            "commitments %.6f W)",
            nid(c, k), c->v[k][3], lim, least);
      if (isfinite(lim) && lim > least * 1.01) {
        cand = 1;
        bind |= c->v[k][3] >= 0.99 * lim;
      }
    }
    n_cand_phys += cand;
    n_bind_phys += bind;
    any_bind |= bind;
    /* A holder: its subtree within its own cap(s). */
    if (!is_root(c, k)) {
      double least = c->vm[k][3];
      n_chk[K_HOLDER]++;
      if (!within(c->v[k][3], c->cap[k] > least ? c->cap[k] : least))
        bad(c, K_HOLDER, "%s: the leaves below may draw %.6f W, its cap is %.6f W", nid(c, k),
            c->v[k][3], c->cap[k]);
      if (np == 3) {
        double pc[3];
        if (hr_lease_phase_cap_w(hr_lease_sys_lease(s, k), t, pc) != HR_OK) {
          bad(c, K_HOLDER, "%s: hr_lease_phase_cap_w failed", nid(c, k));
        } else {
          for (int q = 0; q < 3; q++) {
            double lq = c->vm[k][q];
            n_chk[K_HOLDER]++;
            if (!within(c->v[k][q], pc[q] > lq ? pc[q] : lq))
              bad(c, K_HOLDER,
                  "%s conductor %c: the leaves below may draw %.6f W, its lease "
                  "allows %.6f W",
                  nid(c, k), "ABC"[q], c -> v[k][q], pc[q]);
          }
        }
      }
    }
    /* A running coordinator: its children's caps within what it may give. */
    if (!c->stopped[k]) {
      size_t m = 0;
      const int32_t *ch = kids(c, k, &m);
      double sum = 0.0, least = 0.0;
      for (size_t j = 0; j < m; j++) {
        if (c->dead[ch[j]])
          continue;
        /* A stopped child grants nothing more: it holds what the leaves
         * below it may draw (this model's), however much its own lease
         * says, until a rebalance cuts that lease to it (random seed 7576:
         * a GPU below a stopped server lowered its request). */
        double cv = c->cap[ch[j]];
        if (c->stopped[ch[j]] && !is_leaf(c, (size_t)ch[j]) && c->v[ch[j]][3] < cv)
          cv = c->v[ch[j]][3];
        sum += cv;
        least += c->vm[ch[j]][3];
      }
      double av = hr_lease_sys_avail_w(s, k, t);
      n_chk[K_COORD]++;
      if (!within(sum, av > least ? av : least)) {
        char more[400] = "";
        size_t o = 0;
        for (size_t j = 0; j < m && o < sizeof more - 40; j++)
          o += (size_t)snprintf(more + o, sizeof more - o, " %s=%.1f", nid(c, (size_t)ch[j]),
                                c->cap[ch[j]]);
        bad(c, K_COORD, "%s: children hold %.6f W, it may give %.6f W (least %.6f):%s", nid(c, k),
            sum, av, least, more);
      }
      if (isfinite(av) && av > least * 1.01) {
        n_cand_coord++;
        if (sum >= 0.99 * av)
          n_bind_coord++;
      }
      /* Nesting: no unexpired grant outlives the grantor's lease. */
      if (!is_root(c, k)) {
        int64_t ek = hr_lease_sys_lease(s, k)->expiry_ns;
        for (size_t j = 0; j < m; j++) {
          size_t x = (size_t)ch[j];
          if (c->dead[x])
            continue;
          const hr_lease_t *lx = hr_lease_sys_lease(s, x);
          if (!(t < lx->expiry_ns && lx->p_w > lx->floor_w * (1.0 + 1e-12)))
            continue;
          n_chk[K_NEST]++;
          if (lx->expiry_ns > ek)
            bad(c, K_NEST,
                "%s holds %.6f W until %.9f s, after its coordinator %s's lease "
                "(until %.9f s)",
                nid(c, x), lx->p_w, (double)lx->expiry_ns / 1e9, nid(c, k), (double)ek / 1e9);
        }
      }
    }
  }
  n_calls_checked++;
  n_calls_bind += any_bind;
  /* Stopped coordinators: the leaves below at their floors one lease time on. */
  int any_stopped = 0;
  for (size_t k = 0; k < c->n; k++) {
    if (!c->stopped[k])
      continue;
    any_stopped = 1;
    if (c->dead[k])
      continue;
    size_t m = 0;
    const int32_t *ch = kids(c, k, &m);
    int64_t ttl = 0;
    for (size_t j = 0; j < m; j++)
      if (tier_ttl(c, (size_t)ch[j]) > ttl)
        ttl = tier_ttl(c, (size_t)ch[j]);
    if (t < c->stop_ns[k] + ttl)
      continue;
    memset(c->mark, 0, c->n);
    c->mark[k] = 1;
    for (size_t x = k + 1; x < c->n; x++) {
      int32_t pa = c->nd[x].parent, pb = c->nd[x].parent_b;
      if (c->dead[x] ||
          !((pa >= 0 && c->mark[pa] && !c->dead[pa]) || (pb >= 0 && c->mark[pb] && !c->dead[pb])))
        continue;
      c->mark[x] = 1;
      if (!is_leaf(c, x))
        continue;
      n_chk[K_STOP]++;
      /* With HR_EXPIRY_SAFE_SHARE a leaf falls to min(its last grant, its
       * safe share), never below its floor; else to its floor. */
      double lim = c->floor[x];
      if (c->cfg.expiry_fallback == HR_EXPIRY_SAFE_SHARE) {
        double sw = 0.0;
        assert_int_equal(hr_lease_sys_safe_share(s, x, &sw, NULL), HR_OK);
        double g = c->lastg[x] < sw ? c->lastg[x] : sw;
        lim = g > lim ? g : lim;
      }
      if (!within(c->cap[x], lim))
        bad(c, K_STOP,
            "%s at %.6f W, above its fallback %.6f W (floor %.6f W), %.9f s after %s stopped",
            nid(c, x), c->cap[x], lim, c->floor[x], (double)(t - c->stop_ns[k]) / 1e9, nid(c, k));
    }
  }
  /* Modes. */
  {
    unsigned ev = hr_lease_sys_events(s);
    hr_mode_t md = hr_lease_sys_mode(s);
    n_chk[K_MODE]++;
    if (any_stopped && (!(ev & HR_EVENT_COORD_LOSS) || md < HR_MODE_DEGRADED))
      bad(c, K_MODE, "a coordinator is stopped but events 0x%x, mode %s", ev,
          hr_lease_mode_name(md));
    if (c->feeds && (!(ev & HR_EVENT_FEED_LOSS) || md != HR_MODE_PROTECTION))
      bad(c, K_MODE, "feeds 0x%x lost but events 0x%x, mode %s", c->feeds, ev,
          hr_lease_mode_name(md));
    n_sup_normal += (ev & HR_EVENT_UTILITY_LOSS) && md == HR_MODE_NORMAL;
    if (md < mode_for(c, ev))
      bad(c, K_MODE, "events 0x%x but mode %s", ev, hr_lease_mode_name(md));
    for (size_t k = 0; k < c->n; k++)
      if (!is_leaf(c, k) && hr_lease_sys_running(s, k) != !c->stopped[k])
        bad(c, K_MODE, "%s: hr_lease_sys_running %d, stopped %d", nid(c, k),
            hr_lease_sys_running(s, k), c->stopped[k]);
    hr_lease_stats_t st;
    n_chk[K_CLAMP]++;
    if (hr_lease_sys_stats(s, &st) != HR_OK)
      bad(c, K_CLAMP, "hr_lease_sys_stats failed");
    else if (st.clamps != c->clamps || ((ev & HR_EVENT_CLAMP) && !c->clamps)) {
      bad(c, K_CLAMP, "%llu clamps, the largest %.6f W, the last at %s",
          (unsigned long long)st.clamps, st.clamp_max_w,
          st.clamp_node < c->n ? nid(c, st.clamp_node) : "?");
      c->clamps = st.clamps; /* each new one reported once */
    }
  }
  check_budgets(c);
  (void)before_call;
  check_ramp(c, floors_changed);
  check_osc(c);
  grid_sample(c, t, 1);
}

/* ---- calls through the checker ------------------------------------------------ */

static double *g_before; /* caps before the call, for the osc cross-check */
static size_t g_before_n;

static void op_begin(ck_t *c, int64_t t, const char *fmt, ...)
{
  char line[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  ck_log(c, "t=%.9f %s", (double)t / 1e9, line);
  c->now = t;
  sample_pre(c, t);
  memcpy(c->pdead, c->dead, c->n);
  c->mode_before = hr_lease_sys_mode(c->s);
  if (g_before_n < c->n) {
    free(g_before);
    g_before = malloc(c->n * sizeof *g_before);
    assert_non_null(g_before);
    g_before_n = c->n;
  }
  for (size_t k = 0; k < c->n; k++)
    g_before[k] = c->dead[k] || is_root(c, k) ? -1.0 : c->tcap[k];
  if (g_armed)
    alarm(HANG_S);
}

static void call_begin(const char *name)
{
  g_call = name;
  g_call_t0 = mono_s();
}

static void call_end(ck_t *c)
{
  double d = mono_s() - g_call_t0;
  n_chk[K_CALL]++;
  if (d > g_max_call_s) {
    g_max_call_s = d;
    g_max_call = g_call;
  }
  if (d > 1.0)
    bad(c, K_CALL, "%s took %.3f s", g_call, d);
}

static const char *g_trace; /* HR_INVARIANT_TRACE: a node id to print after every call */

static void op_end(ck_t *c, int floors_changed)
{
  if (g_trace) {
    size_t k = 0;
    if (hr_tree_find(c->t, g_trace, &k) == HR_OK) {
      const hr_lease_t *l = hr_lease_sys_lease(c->s, k);
      hr_lease_osc_t o;
      hr_lease_sys_osc(c->s, k, &o);
      print_message("trace %s after [%s]: cap %.6f p %.6f exp %.9f floor %.6f last %.9f from "
                    "%.9f\n",
                    g_trace, c->log[(c->n_log - 1) % LOG_N], hr_lease_sys_cap_w(c->s, k, c->now),
                    l->p_w, (double)l->expiry_ns / 1e9, l->floor_w, (double)o.last_change_ns / 1e9,
                    (double)o.ramp_from_ns / 1e9);
      size_t m = 0;
      const int32_t *ch = kids(c, k, &m);
      for (size_t j = 0; j < m; j++) {
        const hr_lease_t *lj = hr_lease_sys_lease(c->s, (size_t)ch[j]);
        print_message("  child %s%s: cap %.6f p %.6f exp %.9f floor %.6f\n", nid(c, (size_t)ch[j]),
                      c->stopped[ch[j]] ? " (stopped)" : "",
                      hr_lease_sys_cap_w(c->s, (size_t)ch[j], c->now), lj->p_w,
                      (double)lj->expiry_ns / 1e9, lj->floor_w);
      }
    }
  }
  check_all(c, g_before, floors_changed);
  c->step++;
  n_steps++;
}

static void ck_close(ck_t *c)
{
  hr_lease_sys_destroy(c->s);
  hr_tree_destroy(c->t);
  free(c->cc);
  free(c->r100);
  free(c->dead);
  free(c->pdead);
  free(c->stopped);
  free(c->mark);
  free(c->stop_ns);
  free(c->lastg);
  free(c->floor);
  free(c->sup);
  free(c->cap);
  free(c->v);
  free(c->vm);
  free(c->tcap);
  free(c->tpw);
  free(c->tflo);
  free(c->tchg);
  free(c->texp);
  free(c->tgr);
  free(c->gmin);
  free(c->gok);
  memset(c, 0, sizeof *c);
}

/* Floors against the cold budgets: 1 when they fit every limit and conductor. */
static int floors_fit(ck_t *c, char *why, size_t why_n)
{
  for (size_t k = 0; k < c->n; k++)
    c->cap[k] = c->floor[k];
  model_loads(c);
  for (size_t k = 0; k < c->n; k++) {
    hr_budget_t b;
    if (hr_budget_node(&c->nd[k], NULL, &c->cfg.budget, -1, &b) != HR_OK)
      return 0;
    double f = is_leaf(c, k) ? c->floor[k] : c->vm[k][3];
    if (!within(f, b.limit_w)) {
      snprintf(why, why_n, "%s: floors %.3f W, limit_w %.3f W", nid(c, k), f, b.limit_w);
      return 0;
    }
    if (is_leaf(c, k))
      continue;
    int np = c->nd[k].n_phases == 3 ? 3 : 1;
    for (int q = 0; q < np; q++)
      if (!within(c->vm[k][q], b.phase_w[q])) {
        snprintf(why, why_n, "%s conductor %d: floors %.3f W, phase_w %.3f W", nid(c, k), q,
                 c->vm[k][q], b.phase_w[q]);
        return 0;
      }
  }
  return 1;
}

/* Loads the tree and creates the system; returns hr_lease_sys_create's code.
 * Checks that creation refuses exactly the trees whose floors do not fit. */
static int ck_open(ck_t *c, const char *yaml, const hr_lease_cfg_t *cfg, const char *test,
                   unsigned long long seed)
{
  memset(c, 0, sizeof *c);
  c->yaml = yaml;
  c->test = test;
  c->seed = seed;
  hr_diag_t e;
  int rc = hr_tree_load_buffer(yaml, strlen(yaml), test, &c->t, &e);
  if (rc != HR_OK) {
    print_error("%s seed %llu: %s: %s\n%s\n", test, seed, e.field, e.message, yaml);
    fail();
  }
  c->nd = hr_tree_nodes(c->t);
  c->n = hr_tree_count(c->t);
  c->cfg = *cfg;
  size_t n = c->n;
  c->cc = calloc(n, sizeof *c->cc);
  c->r100 = malloc(n);
  c->dead = calloc(n, 1);
  c->pdead = calloc(n, 1);
  c->stopped = calloc(n, 1);
  c->mark = calloc(n, 1);
  c->stop_ns = calloc(n, sizeof *c->stop_ns);
  c->lastg = calloc(n, sizeof *c->lastg);
  assert_non_null(c->lastg);
  c->floor = calloc(n, sizeof *c->floor);
  c->sup = malloc(n * sizeof *c->sup);
  assert_non_null(c->sup);
  for (size_t k = 0; k < n; k++)
    c->sup[k] = INFINITY;
  c->cap = calloc(n, sizeof *c->cap);
  c->v = calloc(n, sizeof *c->v);
  c->vm = calloc(n, sizeof *c->vm);
  c->tcap = calloc(n, sizeof *c->tcap);
  c->tpw = calloc(n, sizeof *c->tpw);
  c->tflo = calloc(n, sizeof *c->tflo);
  c->tchg = calloc(n, sizeof *c->tchg);
  c->texp = calloc(n, sizeof *c->texp);
  c->tgr = calloc(n, sizeof *c->tgr);
  c->gmin = calloc(n, sizeof *c->gmin);
  c->gok = calloc(n, 1);
  assert_true(c->cc && c->r100 && c->dead && c->pdead && c->stopped && c->mark && c->stop_ns &&
              c->floor && c->cap && c->v && c->vm && c->tcap && c->tpw && c->tflo && c->tchg &&
              c->texp && c->tgr && c->gmin && c->gok);
  memset(c->r100, -1, n);
  for (size_t k = 0; k < n; k++) {
    c->cc[k] = cfg->coord;
    if (is_leaf(c, k))
      c->floor[k] = cfg->gpu_floor_frac * floor_base(&c->nd[k]);
  }
  model_floors(c);
  char why[200] = "";
  int fit = floors_fit(c, why, sizeof why);
  hr_diag_t diag;
  call_begin("hr_lease_sys_create");
  rc = hr_lease_sys_create(c->t, cfg, &c->s, &diag);
  call_end(c);
  n_chk[K_CREATE]++;
  if (rc == HR_OK && !fit)
    bad(c, K_CREATE, "created although the floors do not fit: %s", why);
  if (rc != HR_OK && fit)
    bad(c, K_CREATE, "refused (%s, %s: %s) although the floors fit", hr_err_name(rc), diag.field,
        diag.message);
  if (rc == HR_OK)
    check_safe(c);
  return rc;
}

static void ck_set_coord(ck_t *c, size_t k, const hr_coord_cfg_t *cc)
{
  op_begin(c, c->now, "set_coord %s policy %d ramp %g", nid(c, k), (int)cc->policy,
           cc->ramp_w_per_s);
  call_begin("hr_lease_sys_set_coord");
  int rc = hr_lease_sys_set_coord(c->s, k, cc);
  call_end(c);
  assert_int_equal(rc, HR_OK);
  c->cc[k] = *cc;
  op_end(c, 0);
}

static void ck_rebalance(ck_t *c, const double *dem, int64_t t)
{
  op_begin(c, t, "rebalance");
  call_begin("hr_lease_sys_rebalance");
  int rc = hr_lease_sys_rebalance(c->s, dem, t);
  call_end(c);
  if (rc != HR_OK)
    bad(c, K_CALL, "hr_lease_sys_rebalance: %s", hr_err_name(rc));
  op_end(c, 0);
}

static int ck_request(ck_t *c, size_t k, double want, int64_t t)
{
  op_begin(c, t, "request %s %g", nid(c, k), want);
  hr_lease_t out;
  call_begin("hr_lease_sys_request");
  int rc = hr_lease_sys_request(c->s, k, want, t, &out);
  call_end(c);
  int bad_arg = !(want >= 0.0) || is_root(c, k);
  if (bad_arg ? rc != HR_ERR_INVALID_ARG && rc != HR_OK : rc != HR_OK && rc != HR_ERR_STATE)
    bad(c, K_CALL, "hr_lease_sys_request(%s, %g): %s", nid(c, k), want, hr_err_name(rc));
  op_end(c, 0);
  return rc;
}

static void ck_release(ck_t *c, size_t k, int64_t t)
{
  op_begin(c, t, "release %s", nid(c, k));
  call_begin("hr_lease_sys_release");
  int rc = hr_lease_sys_release(c->s, k, t);
  call_end(c);
  if (rc != HR_OK && rc != HR_ERR_STATE)
    bad(c, K_CALL, "hr_lease_sys_release(%s): %s", nid(c, k), hr_err_name(rc));
  op_end(c, 0);
}

static void ck_running(ck_t *c, size_t k, int on, int64_t t)
{
  op_begin(c, t, "set_running %s %d", nid(c, k), on);
  call_begin("hr_lease_sys_set_running");
  int rc = hr_lease_sys_set_running(c->s, k, on, t);
  call_end(c);
  assert_int_equal(rc, HR_OK);
  if (!on && !c->stopped[k]) {
    c->stop_ns[k] = t;
    /* No cap grows while a coordinator is stopped (degraded mode), so a
     * cap now bounds the last grant of anything below k. */
    for (size_t x = 0; x < c->n; x++)
      c->lastg[x] = c->tcap[x];
  }
  c->stopped[k] = (unsigned char)!on;
  op_end(c, 0);
}

/* The model of what carries nothing (lease.h), after a call that applied
 * the budgets: a node on a lost feed, a node whose device has tripped, and
 * a node every parent of which carries nothing (below a tripped device; on
 * a lost feed the feeds already say so).  Read from the devices' status
 * through the public API, in the tree's order (parents first, tree.h).
 * Returns 1 when some node changed. */
static int model_dead(ck_t *c, int64_t t)
{
  unsigned char *d = calloc(c->n, 1);
  assert_non_null(d);
  for (size_t k = 0; k < c->n; k++) {
    unsigned f = c->nd[k].feed;
    d[k] = ((f == HR_FEED_A || f == HR_FEED_B) && (f & c->feeds)) ||
           (f == HR_FEED_AB && (c->feeds & HR_FEED_AB) == HR_FEED_AB);
    hr_device_status_t st;
    if (c->nd[k].device && hr_lease_sys_device_status(c->s, k, &st) == HR_OK && st.tripped)
      d[k] = 1;
    int32_t a = c->nd[k].parent, b = c->nd[k].parent_b;
    if (a >= 0 && d[a] && (b < 0 || d[b]))
      d[k] = 1;
  }
  int changed = 0;
  for (size_t k = 0; k < c->n; k++) {
    if (!d[k] && c->dead[k] && c->stopped[k])
      c->stop_ns[k] = t; /* back on a feed, stopped: its time starts now */
    changed |= d[k] != c->dead[k];
    c->dead[k] = d[k];
  }
  free(d);
  if (changed)
    for (size_t r = 0; r < c->n; r++)
      c->gok[r] = 0; /* floors come and go with the power: a new grid record */
  return changed;
}

static void ck_feeds(ck_t *c, unsigned feeds, int64_t t)
{
  op_begin(c, t, "set_feed_lost %u", feeds);
  call_begin("hr_lease_sys_set_feed_lost");
  int rc = hr_lease_sys_set_feed_lost(c->s, feeds, t);
  call_end(c);
  assert_int_equal(rc, HR_OK);
  c->feeds = feeds;
  model_dead(c, t);
  for (size_t r = 0; r < c->n; r++)
    c->gok[r] = 0; /* floors come back with a feed: a new grid record */
  op_end(c, 1);
}

static void ck_events(ck_t *c, unsigned ev, int64_t t)
{
  op_begin(c, t, "set_events 0x%x", ev);
  call_begin("hr_lease_sys_set_events");
  int rc = hr_lease_sys_set_events(c->s, ev, t);
  call_end(c);
  assert_int_equal(rc, HR_OK);
  op_end(c, 0);
}

/* Sets root k's supply (INFINITY clears it): refused (HR_ERR_RANGE) exactly
 * when the root's floors (the model's, the dead's counted) do not fit under
 * it, whatever the mode; a refusal changes nothing. */
static void ck_supply(ck_t *c, size_t k, double w, int64_t t)
{
  op_begin(c, t, "set_supply %s %g", nid(c, k), w);
  const double g = w;
  call_begin("hr_lease_sys_set_supply");
  int rc = hr_lease_sys_set_supply(c->s, k, w, t);
  call_end(c);
  n_chk[K_CALL]++;
  if (rc == HR_OK) {
    c->sup[k] = w;
    n_sup_ok += w < INFINITY;
    if (w < INFINITY && !within(c->floor[k], g))
      bad(c, K_CALL, "set_supply(%s, %.6f) taken, but its floors %.6f do not fit %.6f", nid(c, k),
          w, c->floor[k], g);
  } else if (rc == HR_ERR_RANGE) {
    n_sup_range++;
    if (!(w < INFINITY) || c->floor[k] <= g * (1.0 - 1e-6))
      bad(c, K_CALL, "set_supply(%s, %.6f) refused, but its floors %.6f fit %.6f", nid(c, k), w,
          c->floor[k], g);
  } else {
    bad(c, K_CALL, "hr_lease_sys_set_supply(%s, %g): %s", nid(c, k), w, hr_err_name(rc));
  }
  op_end(c, 0);
}

/* Heats (or cools) the devices with the load the leaves below may draw x
 * factor for dt_s, then recomputes the budgets. */
static void ck_thermal(ck_t *c, double factor, double dt_s, int64_t t)
{
  op_begin(c, t, "observe x%.3f for %.3f s; update_budgets", factor, dt_s);
  for (size_t k = 0; k < c->n; k++) {
    if (!c->nd[k].device || c->dead[k])
      continue;
    double i = hr_tree_node_current_a(&c->nd[k], c->v[k][3] * factor);
    if (!(i >= 0.0))
      i = 0.0;
    call_begin("hr_lease_sys_observe");
    int rc = hr_lease_sys_observe(c->s, k, i, dt_s);
    call_end(c);
    assert_int_equal(rc, HR_OK);
  }
  call_begin("hr_lease_sys_update_budgets");
  int rc = hr_lease_sys_update_budgets(c->s, t);
  call_end(c);
  assert_int_equal(rc, HR_OK);
  op_end(c, model_dead(c, t));
}

static void ck_reclose(ck_t *c, size_t k, int64_t t)
{
  op_begin(c, t, "reclose %s", nid(c, k));
  call_begin("hr_lease_sys_reclose");
  int rc = hr_lease_sys_reclose(c->s, k, t);
  call_end(c);
  if (rc != HR_OK && rc != HR_ERR_NOT_FOUND)
    bad(c, K_CALL, "hr_lease_sys_reclose(%s): %s", nid(c, k), hr_err_name(rc));
  op_end(c, model_dead(c, t));
}

static int ck_set_floor(ck_t *c, size_t k, double f, int64_t t)
{
  op_begin(c, t, "set_floor %s %g", nid(c, k), f);
  call_begin("hr_lease_sys_set_floor");
  int rc = hr_lease_sys_set_floor(c->s, k, f, t);
  call_end(c);
  if (rc == HR_OK) {
    c->floor[k] = f;
    model_floors(c);
    for (size_t r = 0; r < c->n; r++)
      c->gok[r] = 0; /* floors are not grants: a new grid record */
  } else if (rc != HR_ERR_RANGE) {
    bad(c, K_CALL, "hr_lease_sys_set_floor(%s, %g): %s", nid(c, k), f, hr_err_name(rc));
  }
  op_end(c, 1);
  return rc;
}

static void ck_set_rated(ck_t *c, size_t k, int on, int64_t t)
{
  op_begin(c, t, "set_rated_100 %s %d", nid(c, k), on);
  call_begin("hr_lease_sys_set_rated_100");
  int rc = hr_lease_sys_set_rated_100(c->s, k, on, t);
  call_end(c);
  if (rc == HR_OK)
    c->r100[k] = (signed char)(on ? 1 : 0);
  else if (rc != HR_ERR_RANGE)
    bad(c, K_CALL, "hr_lease_sys_set_rated_100(%s): %s", nid(c, k), hr_err_name(rc));
  op_end(c, model_dead(c, t));
}

static void ck_tick(ck_t *c, int64_t t)
{
  op_begin(c, t, "(time passes)");
  op_end(c, 0);
}

static size_t find(const ck_t *c, const char *id)
{
  size_t k = 0;
  assert_int_equal(hr_tree_find(c->t, id, &k), HR_OK);
  return k;
}

static double sum_caps(const ck_t *c, size_t k, int64_t t)
{
  size_t m = 0;
  const int32_t *ch = kids(c, k, &m);
  double s = 0.0;
  for (size_t j = 0; j < m; j++)
    if (!c->dead[ch[j]])
      s += hr_lease_sys_cap_w(c->s, (size_t)ch[j], t);
  return s;
}

static void fill_demand(const ck_t *c, double *dem, double w)
{
  for (size_t k = 0; k < c->n; k++)
    dem[k] = is_leaf(c, k) ? w : 0.0;
}

/* ---- regression cases: the defects an earlier check found --------------------- */

/* Every leaf below node k demands w; rebalance at t. */
static void rebalance_all(ck_t *c, double w, int64_t t)
{
  double *dem = calloc(c->n, sizeof *dem);
  assert_non_null(dem);
  fill_demand(c, dem, w);
  ck_rebalance(c, dem, t);
  free(dem);
}

static const char YAML_DEFECT1[] =
    "version: 1\nname: defect1\nnodes:\n"
    "  - {id: rack, kind: rack, parent: null, voltage_v: 240, phases: 1, budget_w: 2100}\n"
    "  - {id: srv, kind: server, parent: rack, rating_w: 2668}\n"
    "  - {id: g0, kind: gpu, parent: srv, rating_w: 500}\n"
    "  - {id: g1, kind: gpu, parent: srv}\n"
    "  - {id: g2, kind: gpu, parent: srv, rating_w: 450}\n"
    "  - {id: g3, kind: gpu, parent: srv, rating_w: 700}\n"
    "  - {id: g4, kind: gpu, parent: srv, rating_w: 450}\n"
    "  - {id: g5, kind: gpu, parent: srv, rating_w: 400}\n"
    "  - {id: g6, kind: gpu, parent: srv, rating_w: 700}\n"
    "  - {id: g7, kind: gpu, parent: srv, rating_w: 400}\n";

/* 1. High-bucket-first cuts (three-band, two-threshold) handed out more than
 * the server may give: 2,089 W against 1,981 W. */
static void test_defect1_bucket_cuts(void **st)
{
  (void)st;
  static const hr_policy_t pol[2] = {HR_POLICY_THREE_BAND, HR_POLICY_TWO_THRESHOLD};
  static const double tok[3] = {1.0, 10.0, 100.0};
  GUARD();
  for (int p = 0; p < 2; p++)
    for (int u = 0; u < 3; u++) {
      hr_lease_cfg_t cfg;
      hr_lease_cfg_init(&cfg);
      cfg.tier[HR_TIER_GPU].token_w = tok[u];
      cfg.tier[HR_TIER_RACK].token_w = tok[u];
      ck_t c;
      assert_int_equal(ck_open(&c, YAML_DEFECT1, &cfg, "defect1", (unsigned long long)(p * 3 + u)),
                       HR_OK);
      size_t srv = find(&c, "srv");
      hr_coord_cfg_t cc = cfg.coord;
      cc.policy = pol[p];
      cc.bucket_w = 186.0;
      ck_set_coord(&c, srv, &cc);
      ck_set_coord(&c, find(&c, "rack"), &cc);
      for (int i = 0; i < 20; i++) {
        int64_t t = SEC + i * 10 * MS;
        rebalance_all(&c, 2100.0, t);
        double held = sum_caps(&c, srv, t), may = hr_lease_sys_avail_w(c.s, srv, t);
        assert_true(within(held, may)); /* check_all said so already */
      }
      ck_close(&c);
    }
  UNGUARD();
}

static const char YAML_DEFECT2[] =
    "version: 1\nname: defect2\nnodes:\n"
    "  - {id: srv, kind: server, parent: null, voltage_v: 240, phases: 1, rating_w: 5000}\n"
    "  - {id: g0, kind: gpu, parent: srv}\n"
    "  - {id: g1, kind: gpu, parent: srv, rating_w: 1000}\n"
    "  - {id: g2, kind: gpu, parent: srv, rating_w: 1000}\n"
    "  - {id: g3, kind: gpu, parent: srv, rating_w: 1000}\n"
    "  - {id: g4, kind: gpu, parent: srv, rating_w: 1000}\n"
    "  - {id: g5, kind: gpu, parent: srv, rating_w: 1000}\n";

/* 2. A rebalance could hang on huge demands (three-band). */
static void test_defect2_no_hang(void **st)
{
  (void)st;
  static const double dem[] = {1e12,     1e20, 1e300, INFINITY,  DBL_MAX,  NAN,
                               4.9e-324, 0.0,  -1.0,  -INFINITY, 2.2e-308, 1e12};
  GUARD();
  for (int p = 0; p < 4; p++) {
    hr_lease_cfg_t cfg;
    hr_lease_cfg_init(&cfg);
    ck_t c;
    assert_int_equal(ck_open(&c, YAML_DEFECT2, &cfg, "defect2", (unsigned long long)p), HR_OK);
    hr_coord_cfg_t cc = cfg.coord;
    cc.policy = (hr_policy_t)p;
    ck_set_coord(&c, find(&c, "srv"), &cc);
    int64_t t = SEC;
    for (size_t i = 0; i < sizeof dem / sizeof dem[0]; i++) {
      rebalance_all(&c, dem[i], t += 10 * MS);
      for (size_t k = 1; k < c.n; k++)
        ck_request(&c, k, dem[i], t += MS);
    }
    ck_close(&c);
  }
  UNGUARD();
}

/* 3. Phase conductors: a 30 kW busway (8 kW a conductor) feeding three
 * three-phase PDUs whose single-phase servers all sit on phase a. */
static void test_defect3_phase_conductors(void **st)
{
  (void)st;
  buf_t b = {0};
  put(&b, "version: 1\nname: defect3\nnodes:\n"
          "  - {id: busway, kind: busway, parent: null, voltage_v: 415, phases: 3, "
          "rating_w: 30000}\n");
  for (int p = 0; p < 3; p++) {
    put(&b, "  - {id: pdu%d, kind: pdu, parent: busway, rating_w: 30000}\n", p);
    for (int s = 0; s < 3; s++)
      put(&b,
          "  - {id: srv%d-%d, kind: server, parent: pdu%d, phases: 1, phase: a, "
          "rating_w: 3300}\n",
          p, s, p);
  }
  hr_lease_cfg_t cfg;
  hr_lease_cfg_init(&cfg);
  cfg.gpu_floor_frac = 0.1;
  cfg.tier[HR_TIER_CLUSTER].token_w = 10.0;
  cfg.tier[HR_TIER_RACK].token_w = 10.0;
  GUARD();
  ck_t c;
  assert_int_equal(ck_open(&c, b.p, &cfg, "defect3", 0), HR_OK);
  size_t bw = find(&c, "busway");
  for (int i = 0; i < 10; i++) {
    int64_t t = SEC + i * 10 * MS;
    rebalance_all(&c, 1e9, t);
    for (size_t k = 0; k < c.n; k++)
      if (is_leaf(&c, k))
        ck_request(&c, k, 1e9, t + MS);
    double on_a = 0.0;
    for (size_t k = 0; k < c.n; k++)
      if (is_leaf(&c, k))
        on_a += hr_lease_sys_cap_w(c.s, k, t + MS);
    assert_true(within(on_a, hr_lease_sys_budget(c.s, bw)->phase_w[0]));
  }
  ck_close(&c);
  UNGUARD();
  free(b.p);
}

static const char YAML_DEFECT4[] =
    "version: 1\nname: defect4\nredundancy: 2n\nnodes:\n"
    "  - {id: ups-a, kind: ups, parent: null, feed: a, voltage_v: 415, phases: 3, "
    "rating_w: 10000}\n"
    "  - {id: ups-b, kind: ups, parent: null, feed: b, voltage_v: 415, phases: 3, "
    "rating_w: 10000}\n"
    "  - {id: dual, kind: server, parent: ups-a, parent_b: ups-b, rating_w: 6000}\n"
    "  - {id: single, kind: server, parent: ups-a, rating_w: 6000}\n";

/* 4. 2N with one side's coordinator stopped: ups-a's children held 9,600 W
 * against its 8,000 W. */
static void test_defect4_2n_stopped(void **st)
{
  (void)st;
  hr_lease_cfg_t cfg;
  hr_lease_cfg_init(&cfg);
  cfg.tier[HR_TIER_RACK].token_w = 100.0;
  GUARD();
  ck_t c;
  assert_int_equal(ck_open(&c, YAML_DEFECT4, &cfg, "defect4", 0), HR_OK);
  size_t ua = find(&c, "ups-a"), ub = find(&c, "ups-b"), du = find(&c, "dual"),
         si = find(&c, "single");
  double *dem = calloc(c.n, sizeof *dem);
  assert_non_null(dem);
  dem[du] = 1e9;
  ck_rebalance(&c, dem, SEC);
  ck_request(&c, du, 1e9, SEC + MS);
  ck_running(&c, ub, 0, SEC + 10 * MS);
  dem[si] = 1e9;
  for (int i = 0; i < 40; i++) {
    int64_t t = SEC + 20 * MS + i * 10 * MS;
    ck_rebalance(&c, dem, t);
    ck_request(&c, si, 1e9, t + MS);
    assert_true(within(sum_caps(&c, ua, t + MS), hr_lease_sys_avail_w(c.s, ua, t + MS)));
  }
  free(dem);
  ck_close(&c);
  UNGUARD();
}

static const char YAML_RAMP[] =
    "version: 1\nname: ramp\nnodes:\n"
    "  - {id: root, kind: switchgear, parent: null, voltage_v: 415, phases: 3, "
    "rating_w: 100000}\n"
    "  - {id: srv, kind: server, parent: root, phases: 1, phase: a, rating_w: 3000}\n"
    "  - {id: g0, kind: gpu, parent: srv, rating_w: 1000}\n"
    "  - {id: g1, kind: gpu, parent: srv, rating_w: 1000}\n";

/* Requests g0 at 800 W every 25 ms (the server renewed every 100 ms) until
 * it holds 800 W; returns the time. */
static int64_t ramp_up(ck_t *c, size_t srv, size_t g0, int64_t t)
{
  for (int i = 0; i < 2000; i++) {
    t += 25 * MS;
    if (i % 4 == 0)
      ck_request(c, srv, 1e9, t);
    ck_request(c, g0, 800.0, t);
    if (hr_lease_sys_cap_w(c->s, g0, t) >= 800.0 - 1e-9)
      return t;
  }
  fail_msg("g0 never reached 800 W on a 20 W/s ramp");
  return t;
}

/* 5. The ramp counts from the last change of the cap (drops included): after
 * an expiry, a release or a protection-mode revocation, and from the
 * system's first time; a GPU at its 300 W floor got 800 W at once on a
 * 20 W/s ramp. */
static void test_defect5_ramp_from_last_drop(void **st)
{
  (void)st;
  hr_lease_cfg_t cfg;
  hr_lease_cfg_init(&cfg);
  cfg.tier[HR_TIER_GPU].token_w = 1.0;
  cfg.tier[HR_TIER_RACK].token_w = 1.0;
  cfg.stable_ns = 100 * MS;
  GUARD();
  ck_t c;
  assert_int_equal(ck_open(&c, YAML_RAMP, &cfg, "defect5", 0), HR_OK);
  size_t srv = find(&c, "srv"), g0 = find(&c, "g0");
  hr_coord_cfg_t cc = cfg.coord;
  cc.ramp_w_per_s = 20.0;
  HR_COORD_RAMP_ACC(&cc) = SEC;
  ck_set_coord(&c, srv, &cc);
  /* The first grant after creation: nothing has accumulated yet. */
  int64_t t = SEC;
  ck_request(&c, srv, 1e9, t);
  ck_request(&c, g0, 800.0, t);
  assert_true(within(hr_lease_sys_cap_w(c.s, g0, t), 300.0));
  t = ramp_up(&c, srv, g0, t);
  /* Expiry: the last grant at t, the lease ends 50 ms later. */
  int64_t e = hr_lease_sys_lease(c.s, g0)->expiry_ns;
  t = e + 100 * MS;
  ck_request(&c, srv, 1e9, t - 60 * MS);
  ck_request(&c, g0, 800.0, t);
  assert_true(within(hr_lease_sys_cap_w(c.s, g0, t), 300.0 + 20.0 * (double)(t - e) / 1e9));
  t = ramp_up(&c, srv, g0, t);
  /* Release. */
  ck_release(&c, g0, t += 10 * MS);
  int64_t r = t;
  ck_request(&c, g0, 800.0, t += 100 * MS);
  assert_true(within(hr_lease_sys_cap_w(c.s, g0, t), 300.0 + 20.0 * (double)(t - r) / 1e9));
  t = ramp_up(&c, srv, g0, t);
  /* Protection: every lease revoked; back to normal after two stable periods. */
  ck_events(&c, HR_EVENT_FEED_LOSS, t += 10 * MS);
  int64_t p = t;
  ck_events(&c, 0, t += MS);
  ck_events(&c, 0, t += 120 * MS);
  ck_events(&c, 0, t += 120 * MS);
  assert_int_equal(hr_lease_sys_mode(c.s), HR_MODE_NORMAL);
  ck_request(&c, srv, 1e9, t += MS);
  ck_request(&c, g0, 800.0, t);
  assert_true(within(hr_lease_sys_cap_w(c.s, g0, t), 300.0 + 20.0 * (double)(t - p) / 1e9));
  ramp_up(&c, srv, g0, t);
  ck_close(&c);
  UNGUARD();
}

static const char YAML_GRID[] =
    "version: 1\nname: grid\nnodes:\n"
    "  - {id: site, kind: utility, parent: null, voltage_v: 415, phases: 3, rating_w: 100000,"
    " grid: {max_ramp_w_per_s: 100, ramp_window_s: 1}}\n"
    "  - {id: srv, kind: server, parent: site, phases: 1, phase: a, rating_w: 30000}\n"
    "  - {id: g0, kind: gpu, parent: srv, rating_w: 1500}\n"
    "  - {id: g1, kind: gpu, parent: srv, rating_w: 1500}\n"
    "  - {id: g2, kind: gpu, parent: srv, rating_w: 1500}\n"
    "  - {id: g3, kind: gpu, parent: srv, rating_w: 1500}\n"
    "  - {id: g4, kind: gpu, parent: srv, rating_w: 1500}\n"
    "  - {id: g5, kind: gpu, parent: srv, rating_w: 1500}\n"
    "  - {id: g6, kind: gpu, parent: srv, rating_w: 1500}\n"
    "  - {id: g7, kind: gpu, parent: srv, rating_w: 1500}\n"
    "  - {id: g8, kind: gpu, parent: srv, rating_w: 1500}\n"
    "  - {id: g9, kind: gpu, parent: srv, rating_w: 1500}\n";

/* 5 (site) and the grid ramp: the first site rebalance is ramp-limited, and
 * with rebalances every period_ns the total grows at the grid rate (within
 * two tokens over 60 s): the allowance accumulates with time.  The GPUs may
 * draw 12 kW (0.8 x 10 x 1.5 kW) above 4.5 kW of floors: room for more than
 * the 6 kW the grid allows in 60 s. */
static void grid_case(int64_t period_ns)
{
  hr_lease_cfg_t cfg;
  hr_lease_cfg_init(&cfg);
  cfg.tier[HR_TIER_GPU].token_w = 10.0;
  cfg.tier[HR_TIER_RACK].token_w = 10.0;
  for (int k = 0; k < HR_TIER_COUNT; k++)
    cfg.tier[k].ttl_ns = 2 * SEC; /* nothing expires between rebalances */
  ck_t c;
  assert_int_equal(ck_open(&c, YAML_GRID, &cfg, "grid", (unsigned long long)period_ns), HR_OK);
  size_t site = find(&c, "site");
  double floors = c.floor[site], R = 100.0, W = 1.0;
  int64_t t = SEC;
  rebalance_all(&c, 1e9, t);
  double g0 = sum_caps(&c, site, t);
  if (!(g0 <= floors + R * W + 1e-6))
    fail_msg("first site rebalance: %.3f W granted above the floors (%.3f W), the grid ramp "
             "allows %.3f W",
             g0 - floors, floors, R * W);
  int64_t end = t + 60 * SEC;
  while (t < end) {
    t += period_ns;
    rebalance_all(&c, 1e9, t);
  }
  double grown = sum_caps(&c, site, t) - floors, want = R * 60.0 - 2.0 * 10.0;
  if (!(grown >= want))
    fail_msg("rebalancing every %.3f s: grants grew %.3f W in 60 s, the grid ramp allows "
             "%.0f W (want >= %.0f)",
             (double)period_ns / 1e9, grown, R * 60.0, want);
  ck_close(&c);
}

static void test_grid_ramp(void **st)
{
  (void)st;
  GUARD();
  grid_case(10 * MS);
  grid_case(500 * MS);
  UNGUARD();
}

static const char YAML_SMALL[] =
    "version: 1\nname: small\nnodes:\n"
    "  - {id: root, kind: switchgear, parent: null, voltage_v: 415, phases: 3, "
    "rating_w: 100000}\n"
    "  - {id: rack, kind: rack, parent: root, rating_w: 30000}\n"
    "  - {id: s0, kind: server, parent: rack, phases: 1, phase: a, rating_w: 9000}\n"
    "  - {id: s1, kind: server, parent: rack, phases: 1, phase: b, rating_w: 9000}\n"
    "  - {id: g00, kind: gpu, parent: s0, rating_w: 2000}\n"
    "  - {id: g01, kind: gpu, parent: s0, rating_w: 2000}\n"
    "  - {id: g10, kind: gpu, parent: s1, rating_w: 2000}\n"
    "  - {id: g11, kind: gpu, parent: s1, rating_w: 2000}\n";

static void small_cfg(hr_lease_cfg_t *cfg)
{
  hr_lease_cfg_init(cfg);
  for (int k = 0; k < HR_TIER_COUNT; k++)
    cfg->tier[k].token_w = 10.0;
  cfg->stable_ns = 100 * MS;
}

/* Lesser: a node releases its lease while a child coordinator is stopped;
 * the child's lease must not outlive the parent's (its own holders keep
 * what they were given). */
static void test_release_with_stopped_child(void **st)
{
  (void)st;
  hr_lease_cfg_t cfg;
  small_cfg(&cfg);
  GUARD();
  ck_t c;
  assert_int_equal(ck_open(&c, YAML_SMALL, &cfg, "release-stopped-child", 0), HR_OK);
  size_t rack = find(&c, "rack"), s0 = find(&c, "s0");
  rebalance_all(&c, 1e9, SEC);
  rebalance_all(&c, 1e9, SEC + 10 * MS);
  assert_true(hr_lease_sys_cap_w(c.s, s0, SEC + 10 * MS) > c.floor[s0] + 1.0);
  ck_running(&c, s0, 0, SEC + 20 * MS);
  ck_release(&c, rack, SEC + 30 * MS);
  /* The release shortens what the rack granted through running coordinators;
   * s0's own holders keep what they were given. */
  const hr_lease_t *lr = hr_lease_sys_lease(c.s, rack);
  int64_t er = lr->p_w > lr->floor_w ? lr->expiry_ns : SEC + 30 * MS;
  const hr_lease_t *ls = hr_lease_sys_lease(c.s, s0);
  assert_true(!(ls->p_w > ls->floor_w && ls->expiry_ns > SEC + 30 * MS) || ls->expiry_ns <= er);
  for (int i = 0; i < 30; i++)
    rebalance_all(&c, 1e9, SEC + 40 * MS + i * 10 * MS);
  ck_close(&c);
  UNGUARD();
}

/* Lesser: set_rated_100 and set_floor at run time cut at once, without
 * waiting for hr_lease_sys_update_budgets. */
static void test_runtime_rating_and_floor(void **st)
{
  (void)st;
  static const char yaml[] =
      "version: 1\nname: runtime\nnodes:\n"
      "  - {id: root, kind: switchgear, parent: null, voltage_v: 415, phases: 3, "
      "rating_w: 100000}\n"
      "  - {id: srv, kind: server, parent: root, phases: 1, phase: a, rating_w: 9000}\n"
      "  - {id: g0, kind: gpu, parent: srv, rating_w: 2000}\n"
      "  - {id: g1, kind: gpu, parent: srv, rating_w: 2000}\n"
      "  - {id: g2, kind: gpu, parent: srv, rating_w: 2000}\n"
      "  - {id: g3, kind: gpu, parent: srv, rating_w: 2000}\n"
      "  - {id: g4, kind: gpu, parent: srv, rating_w: 2000}\n"
      "  - {id: g5, kind: gpu, parent: srv, rating_w: 2000}\n";
  GUARD();
  {
    hr_lease_cfg_t cfg;
    small_cfg(&cfg);
    cfg.budget.rated_100 = 1;
    ck_t c;
    assert_int_equal(ck_open(&c, yaml, &cfg, "runtime-rated", 0), HR_OK);
    size_t srv = find(&c, "srv");
    rebalance_all(&c, 1e9, SEC);
    rebalance_all(&c, 1e9, SEC + 10 * MS);
    assert_true(sum_caps(&c, srv, SEC + 10 * MS) > 7200.0 + 1.0); /* 100 %-rated: 9 kW */
    ck_set_rated(&c, srv, 0, SEC + 20 * MS);
    assert_true(within(sum_caps(&c, srv, SEC + 20 * MS), 7200.0));
    for (int i = 0; i < 10; i++)
      rebalance_all(&c, 1e9, SEC + 30 * MS + i * 10 * MS);
    ck_close(&c);
  }
  {
    hr_lease_cfg_t cfg;
    small_cfg(&cfg);
    ck_t c;
    assert_int_equal(ck_open(&c, yaml, &cfg, "runtime-floor", 0), HR_OK);
    size_t srv = find(&c, "srv"), g0 = find(&c, "g0");
    double *dem = calloc(c.n, sizeof *dem);
    assert_non_null(dem);
    fill_demand(&c, dem, 1e9);
    dem[g0] = 0.0;
    ck_rebalance(&c, dem, SEC);
    ck_rebalance(&c, dem, SEC + 10 * MS);
    assert_true(sum_caps(&c, srv, SEC + 10 * MS) > 7200.0 - 100.0);
    assert_int_equal(ck_set_floor(&c, g0, 1500.0, SEC + 20 * MS), HR_OK);
    assert_true(
        within(sum_caps(&c, srv, SEC + 20 * MS), hr_lease_sys_avail_w(c.s, srv, SEC + 20 * MS)));
    assert_true(hr_lease_sys_cap_w(c.s, g0, SEC + 20 * MS) >= 1500.0 - 1e-9);
    for (int i = 0; i < 10; i++)
      ck_rebalance(&c, dem, SEC + 30 * MS + i * 10 * MS);
    free(dem);
    ck_close(&c);
  }
  UNGUARD();
}

/* Lesser: entering degraded mode must not cut the children of a stopped root
 * coordinator (it passes no cut down); they keep their grants until expiry. */
static void test_degraded_stopped_root(void **st)
{
  (void)st;
  static const char yaml[] =
      "version: 1\nname: stopped-root\nnodes:\n"
      "  - {id: root, kind: switchgear, parent: null, voltage_v: 240, phases: 1, "
      "rating_w: 10000}\n"
      "  - {id: s0, kind: server, parent: root, rating_w: 5000}\n"
      "  - {id: s1, kind: server, parent: root, rating_w: 5000}\n"
      "  - {id: g00, kind: gpu, parent: s0, rating_w: 2500}\n"
      "  - {id: g01, kind: gpu, parent: s0, rating_w: 2500}\n"
      "  - {id: g10, kind: gpu, parent: s1, rating_w: 2500}\n"
      "  - {id: g11, kind: gpu, parent: s1, rating_w: 2500}\n";
  hr_lease_cfg_t cfg;
  small_cfg(&cfg);
  GUARD();
  ck_t c;
  assert_int_equal(ck_open(&c, yaml, &cfg, "degraded-stopped-root", 0), HR_OK);
  size_t root = find(&c, "root"), s0 = find(&c, "s0"), s1 = find(&c, "s1");
  rebalance_all(&c, 1e9, SEC);
  rebalance_all(&c, 1e9, SEC + 10 * MS);
  int64_t t = SEC + 10 * MS;
  double c0 = hr_lease_sys_cap_w(c.s, s0, t), c1 = hr_lease_sys_cap_w(c.s, s1, t);
  assert_true(c0 + c1 > 0.9 * 8000.0); /* degraded_frac would cut them */
  ck_running(&c, root, 0, t += 10 * MS);
  assert_int_equal(hr_lease_sys_mode(c.s), HR_MODE_DEGRADED);
  ck_events(&c, HR_EVENT_TELEMETRY_LOSS, t += 10 * MS);
  assert_true(hr_lease_sys_cap_w(c.s, s0, t) == c0 && hr_lease_sys_cap_w(c.s, s1, t) == c1);
  for (int i = 0; i < 30; i++)
    rebalance_all(&c, 1e9, t += 10 * MS);
  ck_close(&c);
  UNGUARD();
}

/* Losing a coordinator costs performance, never safety: every GPU below it at
 * its floor within one lease time, the mode degraded at once, normal again
 * stable_ns after the restart. */
static void test_coordinator_loss(void **st)
{
  (void)st;
  hr_lease_cfg_t cfg;
  small_cfg(&cfg);
  GUARD();
  ck_t c;
  assert_int_equal(ck_open(&c, YAML_SMALL, &cfg, "coordinator-loss", 0), HR_OK);
  size_t rack = find(&c, "rack");
  int64_t t = SEC;
  for (int i = 0; i < 50; i++)
    rebalance_all(&c, 1e9, t += 10 * MS);
  ck_running(&c, rack, 0, t += 10 * MS);
  int64_t ts = t;
  assert_true(hr_lease_sys_mode(c.s) >= HR_MODE_DEGRADED);
  for (int i = 0; i < 60; i++) {
    rebalance_all(&c, 1e9, t += 10 * MS);
    for (size_t k = 0; k < c.n; k++)
      if (!is_root(&c, k))
        ck_request(&c, k, 1e9, t + MS);
  }
  assert_true(t - ts > cfg.tier[HR_TIER_RACK].ttl_ns);
  for (size_t k = 0; k < c.n; k++)
    if (c.nd[k].kind == HR_NODE_GPU)
      assert_true(within(hr_lease_sys_cap_w(c.s, k, t), c.floor[k]));
  ck_running(&c, rack, 1, t += 10 * MS);
  for (int i = 0; i < 40; i++)
    rebalance_all(&c, 1e9, t += 10 * MS);
  ck_events(&c, 0, t += 10 * MS);
  assert_int_equal(hr_lease_sys_mode(c.s), HR_MODE_NORMAL);
  ck_close(&c);
  UNGUARD();
}

/* Found by this checker on lease-safety 04da431: a lease that has run out
 * and is then revoked (protection mode) forgets its drop at expiry; the next
 * increase counts from the grant before it (1.5 s) instead of the expiry
 * (1.55 s): 301 W at 1.56 s where the ramp allows 300.2 W. */
static void test_ramp_after_expired_revocation(void **st)
{
  (void)st;
  hr_lease_cfg_t cfg;
  hr_lease_cfg_init(&cfg);
  cfg.tier[HR_TIER_GPU].token_w = 1.0;
  cfg.tier[HR_TIER_RACK].token_w = 1.0;
  cfg.tier[HR_TIER_RACK].ttl_ns = 10 * SEC;
  cfg.stable_ns = 0;
  GUARD();
  ck_t c;
  assert_int_equal(ck_open(&c, YAML_RAMP, &cfg, "ramp-expired-revoked", 0), HR_OK);
  size_t srv = find(&c, "srv"), g0 = find(&c, "g0");
  hr_coord_cfg_t cc = cfg.coord;
  cc.ramp_w_per_s = 20.0;
  HR_COORD_RAMP_ACC(&cc) = SEC;
  ck_set_coord(&c, srv, &cc);
  ck_request(&c, srv, 1e9, SEC);
  ck_request(&c, g0, 800.0, SEC + 500 * MS); /* 310 W until 1.55 s */
  int64_t e = hr_lease_sys_lease(c.s, g0)->expiry_ns;
  ck_events(&c, HR_EVENT_FEED_LOSS, e + MS);
  ck_events(&c, 0, e + 2 * MS);
  ck_events(&c, 0, e + 3 * MS);
  assert_int_equal(hr_lease_sys_mode(c.s), HR_MODE_NORMAL);
  ck_request(&c, srv, 1e9, e + 4 * MS);
  ck_request(&c, g0, 800.0, e + 10 * MS);
  assert_true(within(hr_lease_sys_cap_w(c.s, g0, e + 10 * MS), 300.0 + 20.0 * 0.010));
  ck_close(&c);
  UNGUARD();
}

/* Found by this checker on lease-safety 04da431: a stopped coordinator's
 * commitments and its sibling's floor exceed the root's degraded budget
 * (0.9 x 24 kW); nothing can be cut, yet the post-condition clamps (400 W)
 * on every rebalance.  The physics is fine (22 kW of 24 kW). */
static void test_no_clamp_at_least(void **st)
{
  (void)st;
  static const char yaml[] =
      "version: 1\nname: stoprel\nnodes:\n"
      "  - {id: root, kind: switchgear, parent: null, voltage_v: 415, phases: 3, "
      "rating_w: 30000}\n"
      "  - {id: d1, kind: distribution, parent: root}\n"
      "  - {id: d2, kind: distribution, parent: root}\n"
      "  - {id: p1, kind: pdu, parent: d1, rating_w: 20000}\n"
      "  - {id: p2, kind: pdu, parent: d2, rating_w: 20000}\n";
  hr_lease_cfg_t cfg;
  hr_lease_cfg_init(&cfg);
  for (int k = 0; k < HR_TIER_COUNT; k++)
    cfg.tier[k].token_w = 100.0;
  GUARD();
  ck_t c;
  assert_int_equal(ck_open(&c, yaml, &cfg, "no-clamp-at-least", 0), HR_OK);
  size_t d1 = find(&c, "d1"), p1 = find(&c, "p1"), p2 = find(&c, "p2");
  double dem[5] = {0};
  dem[p1] = 1e9;
  ck_rebalance(&c, dem, SEC); /* d1 and p1 16 kW until 2 s */
  ck_running(&c, d1, 0, SEC + 10 * MS);
  ck_release(&c, d1, SEC + 20 * MS);
  dem[p1] = 0.0;
  dem[p2] = 1e9;
  ck_rebalance(&c, dem, SEC + 40 * MS);
  hr_lease_stats_t sts;
  assert_int_equal(hr_lease_sys_stats(c.s, &sts), HR_OK);
  assert_int_equal(sts.clamps, 0);
  ck_close(&c);
  UNGUARD();
}

/* Found while writing the case below: p1, dual-corded, is held by its
 * stopped side db, so entering protection did not drop it, but dropped its
 * running side da to da's floor, under p1's grant (a dual-corded load counts
 * in full on both sides): da's subtree above da's cap until a rebalance. */
static void protection_dual_held(int fallback)
{
  static const char yaml[] =
      "version: 1\nname: dualheld\nredundancy: n+n\nnodes:\n"
      "  - {id: root, kind: switchgear, parent: null, voltage_v: 415, phases: 3, "
      "rating_w: 100000}\n"
      "  - {id: da, kind: distribution, parent: root, feed: a, rating_w: 50000}\n"
      "  - {id: db, kind: distribution, parent: root, feed: b, rating_w: 50000}\n"
      "  - {id: p1, kind: pdu, parent: da, parent_b: db, rating_w: 20000}\n";
  hr_lease_cfg_t cfg;
  hr_lease_cfg_init(&cfg);
  for (int k = 0; k < HR_TIER_COUNT; k++)
    cfg.tier[k].token_w = 100.0;
  cfg.expiry_fallback = fallback ? HR_EXPIRY_SAFE_SHARE : HR_EXPIRY_FLOOR;
  GUARD();
  ck_t c;
  assert_int_equal(ck_open(&c, yaml, &cfg, "protection-dual-held", 0), HR_OK);
  size_t da = find(&c, "da"), db = find(&c, "db"), p1 = find(&c, "p1");
  double dem[4] = {0};
  dem[p1] = 1e9;
  ck_rebalance(&c, dem, SEC);
  double fl = hr_lease_sys_lease(c.s, p1)->floor_w;
  assert_true(hr_lease_sys_cap_w(c.s, p1, SEC) > fl + 1000.0);
  ck_running(&c, db, 0, SEC + 10 * MS);
  ck_events(&c, HR_EVENT_FEED_LOSS, SEC + 20 * MS);
  /* (the checker's holder check; and directly:) */
  assert_true(within(hr_lease_sys_cap_w(c.s, p1, SEC + 20 * MS),
                     hr_lease_sys_cap_w(c.s, da, SEC + 20 * MS)));
  ck_close(&c);
  UNGUARD();
}

static void test_protection_dual_held(void **st)
{
  (void)st;
  protection_dual_held(0);
  protection_dual_held(1);
}

/* Found by this checker (random seed 204, expiry fallback forced on): db, a
 * stopped distribution node on feed b, is revoked on entering protection to
 * its commitments (p1's grant, which holds s1's: s1 is stopped too); feed b
 * is lost while protection already holds, so db is dead and a rebalance
 * passes it by; s1 restarts and the running side (da) cuts p1 to its floor;
 * the feed comes back and db showed its old grant, p1's former commitments,
 * where it had shown 0: a rise in protection mode.  Either fallback (the
 * lease is db's own, unexpired). */
static void feed_back_in_protection(int fallback)
{
  static const char yaml[] =
      "version: 1\nname: feedback\nredundancy: n+n\nnodes:\n"
      "  - {id: root, kind: switchgear, parent: null, voltage_v: 415, phases: 3, "
      "rating_w: 100000}\n"
      "  - {id: da, kind: distribution, parent: root, feed: a, rating_w: 50000}\n"
      "  - {id: db, kind: distribution, parent: root, feed: b, rating_w: 50000}\n"
      "  - {id: p1, kind: pdu, parent: da, parent_b: db, rating_w: 20000}\n"
      "  - {id: s1, kind: server, parent: p1}\n"
      "  - {id: g0, kind: gpu, parent: s1, rating_w: 1000}\n"
      "  - {id: g1, kind: gpu, parent: s1, rating_w: 1000}\n";
  hr_lease_cfg_t cfg;
  hr_lease_cfg_init(&cfg);
  for (int k = 0; k < HR_TIER_COUNT; k++)
    cfg.tier[k].token_w = 10.0;
  cfg.expiry_fallback = fallback ? HR_EXPIRY_SAFE_SHARE : HR_EXPIRY_FLOOR;
  GUARD();
  ck_t c;
  assert_int_equal(ck_open(&c, yaml, &cfg, "feed-back-in-protection", 0), HR_OK);
  size_t db = find(&c, "db"), p1 = find(&c, "p1"), s1 = find(&c, "s1");
  size_t g0 = find(&c, "g0"), g1 = find(&c, "g1");
  double dem[7] = {0};
  dem[g0] = dem[g1] = 1e9;
  int64_t t = SEC;
  for (int i = 0; i < 40; i++, t += 20 * MS)
    ck_rebalance(&c, dem, t); /* ramps up: the GPUs well above their floors */
  ck_rebalance(&c, dem, t);
  double fl = hr_lease_sys_lease(c.s, p1)->floor_w;
  ck_running(&c, s1, 0, t += MS);
  ck_running(&c, db, 0, t += MS);
  ck_events(&c, HR_EVENT_FEED_LOSS, t += MS); /* protection: db revoked to p1's commitments */
  double held_w = hr_lease_sys_cap_w(c.s, db, t);
  assert_true(hr_lease_sys_cap_w(c.s, p1, t) > fl + 100.0); /* s1's GPUs above their floors */
  ck_feeds(&c, HR_FEED_B, t += MS);
  ck_running(&c, s1, 1, t += MS);
  ck_rebalance(&c, dem, t += MS); /* da cuts p1 to its floor */
  assert_true(within(hr_lease_sys_cap_w(c.s, p1, t), fl));
  ck_feeds(&c, 0, t += MS); /* db back: at most its floor or p1's cap, not held_w */
  double dfl = hr_lease_sys_lease(c.s, db)->floor_w;
  assert_true(within(hr_lease_sys_cap_w(c.s, db, t), dfl > fl ? dfl : fl));
  assert_true(held_w > (dfl > fl ? dfl : fl) + 100.0);
  ck_close(&c);
  UNGUARD();
}

static void test_feed_back_in_protection(void **st)
{
  (void)st;
  feed_back_in_protection(0);
  feed_back_in_protection(1);
}

/* ---- random trees ---------------------------------------------------------------- */

#define GEN_MAX 600
#define GEN_SOFT 300 /* past this many nodes, new nodes are leaves */

typedef struct gnode {
  char id[24];
  hr_node_kind_t kind;
  int par, parb;      /* generator indices, -1 none */
  int nph;            /* 1 or 3 */
  hr_phase_t ph, phb; /* toward par / parb (single-phase under a three-phase parent) */
  unsigned feed;      /* set on this node (A/B split) */
  int leaf, nkids;
  double rating; /* 0: unrated */
  double budget; /* 0: none */
  int dev;       /* 0 none, 1 trip unit LI, 2 fuse */
  int tr_s;
  int grid; /* root with grid limits */
  double g_ramp, g_win, g_max;
  double cl[4], fl[4]; /* connected ratings and floors on its conductors, total in [3] */
  double need3, need1; /* least capacity a rated node above must have */
} gnode_t;

typedef struct gen {
  gnode_t g[GEN_MAX];
  int n;
  double floor_frac;
  double p_a, p_ll; /* phase skew: share of line-to-neutral loads on a; line-to-line */
  int n_dev;
} gen_t;

static const char *phase_key(hr_phase_t p)
{
  static const char *const nm[] = {"abc", "a", "b", "c", "ab", "bc", "ca"};
  return nm[p];
}

static hr_phase_t pick_phase(gen_t *G)
{
  if (unif(0, 1) < G->p_ll) {
    int r = irand(10);
    return r < 6 ? HR_PHASE_AB : r < 8 ? HR_PHASE_BC : HR_PHASE_CA;
  }
  if (unif(0, 1) < G->p_a)
    return HR_PHASE_A;
  return irand(2) ? HR_PHASE_B : HR_PHASE_C;
}

static int gen_add(gen_t *G, const char *prefix, hr_node_kind_t kind, int par, int parb, int nph)
{
  assert_true(G->n < GEN_MAX);
  gnode_t *x = &G->g[G->n];
  memset(x, 0, sizeof *x);
  snprintf(x->id, sizeof x->id, "%s%d", prefix, G->n);
  x->kind = kind;
  x->par = par;
  x->parb = parb;
  x->nph = nph;
  x->ph = x->phb = HR_PHASE_ABC;
  if (nph == 1 && par >= 0 && G->g[par].nph == 3)
    x->ph = pick_phase(G);
  else if (nph == 1 && par >= 0)
    x->ph = G->g[par].ph; /* inherited */
  if (nph == 1 && parb >= 0) {
    /* The B cord may sit on another phase, of the same kind (one voltage). */
    hr_phase_t q = pick_phase(G);
    if ((q >= HR_PHASE_AB) != (x->ph >= HR_PHASE_AB))
      q = x->ph;
    x->phb = G->g[parb].nph == 3 ? q : G->g[parb].ph;
  }
  return G->n++;
}

static const char *kind_prefix(hr_node_kind_t k)
{
  switch (k) {
  case HR_NODE_DISTRIBUTION:
    return "dist";
  case HR_NODE_BUSWAY:
    return "bus";
  case HR_NODE_PDU:
    return "pdu";
  case HR_NODE_RACK:
    return "rack";
  case HR_NODE_SERVER:
    return "srv";
  case HR_NODE_GPU:
    return "gpu";
  default:
    return "n";
  }
}

typedef struct shape {
  int depth;              /* levels below the root, 2..5 */
  hr_node_kind_t kind[6]; /* kind[l] for l = 1..depth */
  int dual;               /* level of the dual-corded nodes (0: none) */
  int nn;                 /* N+N: level 1 is the A/B split under one root */
} shape_t;

/* Phases of a new node of level l under a parent with pnph phases. */
static int level_phases(const shape_t *sh, int l, int pnph)
{
  if (pnph == 1)
    return 1;
  hr_node_kind_t k = sh->kind[l];
  if (k == HR_NODE_DISTRIBUTION || k == HR_NODE_BUSWAY || k == HR_NODE_PDU)
    return 3;
  if (k == HR_NODE_RACK)
    return irand(10) < 7 ? 3 : 1;
  if (k == HR_NODE_SERVER)
    return irand(10) < 8 ? 1 : 3;
  return 1; /* a GPU under a three-phase server sits on a phase */
}

/* Children of node a (and its B-side mirror b, or -1) at level l + 1. */
static void gen_below(gen_t *G, const shape_t *sh, int a, int b, int l)
{
  if (l >= sh->depth)
    return;
  int room = GEN_SOFT - G->n;
  int fan = 1 + irand(16);
  int per = 1;
  for (int d = l + 2; d <= sh->depth; d++)
    per *= 3;
  if (fan * per > room / (b >= 0 ? 2 : 1))
    fan = room / (per * (b >= 0 ? 2 : 1));
  if (fan < 1)
    fan = 1;
  hr_node_kind_t kind = sh->kind[l + 1];
  for (int i = 0; i < fan; i++) {
    int leaf = l + 1 == sh->depth || irand(12) == 0 || G->n > GEN_SOFT;
    if (b >= 0 && l + 1 < sh->dual) {
      /* Mirrored: the same node on both sides. */
      int nph = level_phases(sh, l + 1, G->g[a].nph);
      int x = gen_add(G, kind_prefix(kind), kind, a, -1, nph);
      int y = gen_add(G, kind_prefix(kind), kind, b, -1, nph);
      G->g[y].ph = G->g[x].ph;
      G->g[x].leaf = G->g[y].leaf = leaf;
      if (!leaf)
        gen_below(G, sh, x, y, l + 1);
      /* Leaf or not, B mirrors A's shape only above the dual level. */
    } else if (b >= 0 && l + 1 == sh->dual) {
      int r = irand(10);
      int nph = level_phases(sh, l + 1, G->g[a].nph);
      int x;
      if (r < 7)
        x = gen_add(G, kind_prefix(kind), kind, a, b, nph); /* dual-corded */
      else
        x = gen_add(G, kind_prefix(kind), kind, r < 9 ? a : b, -1, nph);
      G->g[x].leaf = leaf;
      if (!leaf)
        gen_below(G, sh, x, -1, l + 1);
    } else {
      int nph = level_phases(sh, l + 1, G->g[a].nph);
      int x = gen_add(G, kind_prefix(kind), kind, a, -1, nph);
      G->g[x].leaf = leaf;
      if (!leaf)
        gen_below(G, sh, x, -1, l + 1);
    }
  }
}

static double share3(const gnode_t *x)
{
  if (x->nph == 3)
    return 1.0;
  double s = 1.0;
  hr_phase_t p[2] = {x->ph, x->parb >= 0 ? x->phb : x->ph};
  for (int j = 0; j < 2; j++) {
    double sj = p[j] >= HR_PHASE_AB ? INV_SQRT3 : 1.0 / 3.0;
    if (sj < s)
      s = sj;
  }
  return s;
}

static void gen_map(const gnode_t *par, const gnode_t *x, hr_phase_t ph, const double in[4],
                    double out[4])
{
  out[3] += in[3];
  if (par->nph != 3) {
    out[0] += in[3];
    return;
  }
  if (x->nph == 3) {
    for (int q = 0; q < 3; q++)
      out[q] += in[q];
    return;
  }
  switch (ph) {
  case HR_PHASE_A:
    out[0] += in[3];
    break;
  case HR_PHASE_B:
    out[1] += in[3];
    break;
  case HR_PHASE_C:
    out[2] += in[3];
    break;
  case HR_PHASE_AB:
    out[0] += in[3] * INV_SQRT3;
    out[1] += in[3] * INV_SQRT3;
    break;
  case HR_PHASE_BC:
    out[1] += in[3] * INV_SQRT3;
    out[2] += in[3] * INV_SQRT3;
    break;
  default:
    out[2] += in[3] * INV_SQRT3;
    out[0] += in[3] * INV_SQRT3;
    break;
  }
}

/* Ratings bottom-up: each rated node oversubscribed by a random factor on its
 * busiest conductor, yet big enough for its floors (with a margin, so that
 * degraded mode fits too) and for every rated node below (the loader's rule). */
static void gen_ratings(gen_t *G)
{
  /* A node whose children all went to the other side is a leaf. */
  for (int i = 0; i < G->n; i++)
    G->g[i].nkids = 0;
  for (int i = 0; i < G->n; i++) {
    if (G->g[i].par >= 0)
      G->g[G->g[i].par].nkids++;
    if (G->g[i].parb >= 0)
      G->g[G->g[i].parb].nkids++;
  }
  for (int i = 0; i < G->n; i++)
    if (G->g[i].par >= 0 && G->g[i].nkids == 0)
      G->g[i].leaf = 1;
  for (int i = G->n; i-- > 0;) {
    gnode_t *x = &G->g[i];
    if (x->leaf) {
      double r;
      if (x->kind == HR_NODE_GPU)
        r = irand(10) == 0 ? 0.0 : 100.0 * (3 + irand(10));
      else
        r = irand(10) == 0 ? 0.0 : 500.0 * (2 + irand(10));
      x->rating = r;
      double base = r > 0.0 ? r : 700.0, f = G->floor_frac * base;
      double one[4] = {base, 0, 0, base}, fo[4] = {f, 0, 0, f};
      if (x->nph == 3) {
        for (int q = 0; q < 3; q++) {
          one[q] = base / 3.0;
          fo[q] = f / 3.0;
        }
      }
      memcpy(x->cl, one, sizeof one);
      memcpy(x->fl, fo, sizeof fo);
      x->need3 = r > 0.0 ? r / share3(x) : 0.0;
      x->need1 = r;
    } else {
      int rated = x->par < 0 ? irand(10) != 0 : irand(100) < 85;
      if (rated) {
        double busiest = x->nph == 3 ? fmax(x->cl[0], fmax(x->cl[1], x->cl[2])) : x->cl[0];
        double fl_busy = x->nph == 3 ? fmax(x->fl[0], fmax(x->fl[1], x->fl[2])) : x->fl[0];
        double o = unif(0.6, 2.2), m = unif(1.2, 1.8);
        double c = (x->nph == 3 ? 3.0 : 1.0) * busiest / o;
        double cf = m * (x->nph == 3 ? 3.0 : 1.0) * fl_busy / 0.8;
        if (c < cf)
          c = cf;
        if (c < m * x->fl[3] / 0.8)
          c = m * x->fl[3] / 0.8;
        double need = x->nph == 3 ? x->need3 : x->need1;
        if (c < need * 1.0001)
          c = need * 1.0001;
        x->rating = ceil(c);
        if (irand(8) == 0) {
          double lo = m * fmax(x->fl[3], (x->nph == 3 ? 3.0 : 1.0) * fl_busy);
          double bw = x->rating * unif(0.5, 0.8);
          x->budget = ceil(fmin(x->rating, fmax(lo, bw)));
        }
        /* (no device on a node left unrated, nothing below it loading it:
         * its rated current would be 0, which the loader refuses and which
         * stopped the run at seed 2677; irand first keeps the streams) */
        if (G->n_dev < 8 && irand(4) == 0 && x->rating > 0.0) {
          x->dev = 1 + irand(2);
          x->tr_s = 1 << irand(4);
          G->n_dev++;
        }
        x->need3 = x->rating / share3(x);
        x->need1 = x->rating;
      }
      if (x->par < 0) {
        if (irand(3) == 0 || !rated) {
          x->grid = 1;
          double top = rated ? x->rating : 3.0 * fmax(x->cl[0], fmax(x->cl[1], x->cl[2]));
          x->g_ramp = irand(4) ? ceil(top * unif(0.005, 0.2)) : 0.0;
          x->g_win = irand(3) ? 0.0 : 0.5 * (1 + irand(4));
          double lo = 1.5 * x->fl[3];
          x->g_max = irand(2) || !rated ? ceil(fmax(lo, top * unif(0.4, 0.9))) : 0.0;
        }
      }
    }
    int ps[2] = {x->par, x->parb};
    for (int j = 0; j < 2; j++) {
      if (ps[j] < 0)
        continue;
      gnode_t *p = &G->g[ps[j]];
      hr_phase_t ph = j == 0 ? x->ph : x->phb;
      gen_map(p, x, ph, x->cl, p->cl);
      gen_map(p, x, ph, x->fl, p->fl);
      if (x->need3 > p->need3)
        p->need3 = x->need3;
      if (x->need1 > p->need1)
        p->need1 = x->need1;
    }
  }
}

static double node_volts(const gen_t *G, const gnode_t *x)
{
  (void)G;
  if (x->nph == 3)
    return 415.0 * SQRT3;
  return x->ph >= HR_PHASE_AB ? 415.0 : 415.0 / SQRT3;
}

static void gen_yaml(const gen_t *G, int redundancy, buf_t *b)
{
  static const char *const red[] = {"none", "2n", "n+n"};
  put(b, "version: 1\nname: random\nredundancy: %s\nnodes:\n", red[redundancy]);
  for (int i = 0; i < G->n; i++) {
    const gnode_t *x = &G->g[i];
    char line[480];
    size_t o = 0;
#define ADD(...) o += (size_t)snprintf(line + o, sizeof line - o, __VA_ARGS__)
    ADD("  - {id: %s, kind: %s, parent: %s", x->id, hr_node_kind_name(x->kind),
        x->par >= 0 ? G->g[x->par].id : "null");
    if (x->parb >= 0)
      ADD(", parent_b: %s", G->g[x->parb].id);
    if (x->feed)
      ADD(", feed: %s", x->feed == HR_FEED_A ? "a" : "b");
    if (x->par < 0)
      ADD(", voltage_v: 415, phases: 3");
    else if (x->nph != G->g[x->par].nph)
      ADD(", phases: %d", x->nph);
    if (x->nph == 1 && x->par >= 0 && G->g[x->par].nph == 3)
      ADD(", phase: %s", phase_key(x->ph));
    if (x->nph == 1 && x->parb >= 0 && G->g[x->parb].nph == 3)
      ADD(", phase_b: %s", phase_key(x->phb));
    if (x->rating > 0.0)
      ADD(", rating_w: %.0f", x->rating);
    if (x->budget > 0.0)
      ADD(", budget_w: %.0f", x->budget);
    if (x->dev) {
      double a = ceil(x->rating / node_volts(G, x));
      if (x->dev == 1)
        ADD(", device: {type: trip_unit, curve: LI, in_a: %.0f, tr_s: %d, ii: 10}", a, x->tr_s);
      else
        ADD(", device: {type: fuse, in_a: %.0f, melt: [[%.0f, 3600], [%.0f, 100], [%.0f, 8],"
            " [%.0f, 0.9], [%.0f, 0.03]]}",
            a, 1.3 * a + 1, 2 * a + 2, 3 * a + 3, 5 * a + 4, 10 * a + 5);
    }
    if (x->grid) {
      ADD(", grid: {");
      int first = 1;
      if (x->g_ramp > 0.0) {
        ADD("max_ramp_w_per_s: %.0f", x->g_ramp);
        first = 0;
      }
      if (x->g_win > 0.0) {
        ADD("%sramp_window_s: %g", first ? "" : ", ", x->g_win);
        first = 0;
      }
      if (x->g_max > 0.0) {
        ADD("%smax_w: %.0f", first ? "" : ", ", x->g_max);
        first = 0;
      }
      if (first)
        ADD("max_w: %.0f", 1e9);
      ADD("}");
    }
    ADD("}\n");
#undef ADD
    assert_true(o < sizeof line - 1);
    put(b, "%s", line);
  }
}

/* A random tree: plain, 2N or N+N; returns its YAML (caller frees). */
static char *random_tree(gen_t *G, int redundancy, double floor_frac)
{
  memset(G, 0, sizeof *G);
  G->floor_frac = floor_frac;
  G->p_a = unif(0.34, 0.95);
  G->p_ll = irand(3) == 0 ? 0.0 : unif(0.0, 0.4);
  shape_t sh;
  memset(&sh, 0, sizeof sh);
  sh.depth = 2 + irand(4);
  if (redundancy == 2 && sh.depth < 3)
    sh.depth = 3;
  static const hr_node_kind_t upper[4] = {HR_NODE_DISTRIBUTION, HR_NODE_BUSWAY, HR_NODE_PDU,
                                          HR_NODE_RACK};
  int n_up = sh.depth - 2, at = 1;
  /* Pick n_up of the four upper kinds, in order. */
  int left = n_up;
  for (int u = 0; u < 4 && left > 0; u++)
    if (4 - u == left || irand(4 - u) < left) {
      sh.kind[at++] = upper[u];
      left--;
    }
  sh.kind[at++] = HR_NODE_SERVER;
  sh.kind[at] = HR_NODE_GPU;
  hr_node_kind_t root_kind = redundancy == 1 ? HR_NODE_UPS
                             : irand(2)      ? HR_NODE_UTILITY
                                             : HR_NODE_SWITCHGEAR;
  if (redundancy == 0) {
    int r = gen_add(G, "root", root_kind, -1, -1, 3);
    gen_below(G, &sh, r, -1, 0);
  } else if (redundancy == 1) {
    sh.dual = 1 + irand(sh.depth);
    int a = gen_add(G, "ups-a", root_kind, -1, -1, 3);
    int b = gen_add(G, "ups-b", root_kind, -1, -1, 3);
    G->g[a].feed = HR_FEED_A;
    G->g[b].feed = HR_FEED_B;
    gen_below(G, &sh, a, b, 0);
  } else {
    sh.dual = 2 + irand(sh.depth - 1);
    sh.kind[1] = HR_NODE_DISTRIBUTION;
    int r = gen_add(G, "root", root_kind, -1, -1, 3);
    int a = gen_add(G, "dist-a", HR_NODE_DISTRIBUTION, r, -1, 3);
    int b = gen_add(G, "dist-b", HR_NODE_DISTRIBUTION, r, -1, 3);
    G->g[a].feed = HR_FEED_A;
    G->g[b].feed = HR_FEED_B;
    gen_below(G, &sh, a, b, 1);
  }
  gen_ratings(G);
  buf_t b = {0};
  gen_yaml(G, redundancy, &b);
  return b.p;
}

/* ---- the property test ------------------------------------------------------------- */

static const double EXTREME[] = {0.0,      4.9e-324, 2.2e-308, 1e12,    1e20,     1e300,
                                 INFINITY, NAN,      -5.0,     DBL_MAX, -INFINITY};
#define N_EXTREME (sizeof EXTREME / sizeof EXTREME[0])

static double leaf_base(const hr_tree_node_t *nd)
{
  return isfinite(nd->capacity_w) ? nd->capacity_w : 700.0;
}

static void random_demands(const ck_t *c, double *dem)
{
  for (size_t k = 0; k < c->n; k++) {
    if (!is_leaf(c, k)) {
      dem[k] = 0.0;
      continue;
    }
    int u = irand(100);
    double base = leaf_base(&c->nd[k]);
    dem[k] = u < 72   ? base * unif(1.0, 4.0)
             : u < 88 ? base * unif(0.0, 1.0)
                      : EXTREME[irand((int)N_EXTREME)];
  }
}

static void random_coord(const ck_t *c, size_t k, hr_coord_cfg_t *cc)
{
  *cc = c->cfg.coord;
  cc->policy = (hr_policy_t)irand(4);
  static const double res[6] = {0.0, 0.0, 0.0, 0.0, 0.05, 0.2};
  cc->reserve_frac = res[irand(6)];
  double scale = isfinite(c->nd[k].capacity_w) ? c->nd[k].capacity_w : 1e4;
  cc->ramp_w_per_s = irand(5) < 2 ? INFINITY : scale * unif(0.05, 3.0);
  HR_COORD_RAMP_ACC(cc) = (int64_t)(unif(0.05, 2.0) * 1e9);
  cc->hyst_w = irand(4) ? 0.0 : scale * unif(0.0, 0.02);
  cc->dwell_ns = irand(10) < 7 ? 0 : (int64_t)(unif(5, 100) * 1e6);
  cc->damp_changes = 1 + irand(5);
  cc->damp_window_ns = (int64_t)(unif(0.2, 2.0) * 1e9);
  cc->damp_hold_ns = (int64_t)(unif(0.0, 1.0) * 1e9);
  cc->bucket_w = unif(20.0, 1000.0);
  if (irand(2)) {
    cc->uncap_frac = unif(0.5, 0.85);
    cc->target_frac = unif(cc->uncap_frac + 0.01, 0.97);
    cc->cap_frac = unif(cc->target_frac + 0.01, 1.0);
    cc->t1_frac = unif(0.5, 0.9);
    cc->t2_frac = unif(cc->t1_frac + 0.01, 1.0);
    cc->uncap_pct = unif(0.0, 0.2);
    cc->prio_split = irand(3);
    cc->low_cap_frac = unif(0.3, 1.0);
    cc->high_cap_frac = unif(0.5, 1.0);
  }
}

static size_t pick(const ck_t *c, int want_inner)
{
  for (int tries = 0; tries < 1000; tries++) {
    size_t k = (size_t)irand((int)c->n);
    if (want_inner ? !is_leaf(c, k) : !is_root(c, k))
      return k;
  }
  return 0;
}

static uint64_t splitmix(uint64_t x)
{
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

static long env_long(const char *name, long dflt);

static int g_fb_force = -1; /* >= 0: overrides HR_INVARIANT_FALLBACK (test_fallback_seeds) */

static void run_seed(unsigned long long seed, int steps)
{
  rng = seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
  if (!rng)
    rng = 1;
  hr_lease_cfg_t cfg;
  hr_lease_cfg_init(&cfg);
  /* Odd seeds with the safe-share expiry fallback (HR_INVARIANT_FALLBACK=0
   * or 1 forces one), no draw from the generator: the trees stay as they were. */
  long fb = g_fb_force >= 0 ? g_fb_force : env_long("HR_INVARIANT_FALLBACK", -1);
  cfg.expiry_fallback =
      (fb < 0 ? (int)(seed & 1) : fb != 0) ? HR_EXPIRY_SAFE_SHARE : HR_EXPIRY_FLOOR;
  cfg.gpu_floor_frac = irand(20) == 0 ? 0.95 : unif(0.1, 0.35);
  int redundancy = irand(3);
  gen_t *G = calloc(1, sizeof *G);
  assert_non_null(G);
  char *yaml = random_tree(G, redundancy, cfg.gpu_floor_frac);
  cfg.degraded_frac = unif(0.6, 1.0);
  cfg.stable_ns = (int64_t)(unif(0.05, 1.5) * 1e9);
  /* Tokens from the tree's own sizes, so that grants are more than floors. */
  for (int tr = 0; tr < HR_TIER_COUNT; tr++) {
    double sum = 0.0;
    int cnt = 0;
    for (int i = 0; i < G->n; i++)
      if (G->g[i].par >= 0 && (int)hr_lease_tier_of(G->g[i].kind) == tr && G->g[i].rating > 0.0) {
        sum += G->g[i].rating;
        cnt++;
      }
    if (cnt)
      cfg.tier[tr].token_w = ceil(sum / cnt * (irand(4) ? unif(0.0005, 0.005) : unif(0.005, 0.05)));
  }
  static const double ttl_lo[4] = {0.02, 0.05, 0.2, 1.0}, ttl_hi[4] = {0.1, 0.4, 2.0, 8.0};
  for (int tr = 0; tr < HR_TIER_COUNT; tr++)
    cfg.tier[tr].ttl_ns = (int64_t)(unif(ttl_lo[tr], ttl_hi[tr]) * 1e9);
  cfg.coord.policy = (hr_policy_t)irand(4);
  free(G);
  if (sigsetjmp(g_jmp, 1)) {
    /* A call hung: the system is left as it is (leaked). */
    g_armed = 0;
    n_bad[K_CALL]++;
    print_error("VIOLATION [%s] random seed %llu: %s did not return within %d s\n", K_NAME[K_CALL],
                seed, g_call, HANG_S);
    if (!keep_going)
      fail();
    return;
  }
  g_armed = 1;
  alarm(HANG_S);
  static ck_t c; /* static: valid after a jump out of a hung call */
  int rc = ck_open(&c, yaml, &cfg, "random", seed);
  n_trees++;
  if (rc != HR_OK) {
    n_refused++;
    ck_close(&c);
    UNGUARD();
    free(yaml);
    return;
  }
  size_t n = c.n;
  for (size_t k = 0; k < n; k++) {
    if (!is_leaf(&c, k) && irand(5) < 3) {
      hr_coord_cfg_t cc;
      random_coord(&c, k, &cc);
      ck_set_coord(&c, k, &cc);
    }
    if (irand(3) == 0)
      assert_int_equal(hr_lease_sys_set_priority(c.s, k, irand(3)), HR_OK);
  }
  double *dem = calloc(n, sizeof *dem);
  assert_non_null(dem);
  random_demands(&c, dem);
  int64_t t = (int64_t)irand(1000) * SEC;
  int n_stop = 0;
  for (int step = 0; step < steps; step++) {
    int u = irand(100);
    t += (u < 80   ? (1 + irand(25)) * MS
          : u < 98 ? (30 + irand(270)) * MS
                   : (500 + irand(2500)) * MS) +
         irand(1000);
    if (irand(4) == 0)
      random_demands(&c, dem);
    /* The orchestrator rebalances about every step, and something else
     * happens besides. */
    if (irand(10) < 6)
      ck_rebalance(&c, dem, t);
    int r = irand(1000);
    if (r < 200) {
      ck_rebalance(&c, dem, t + irand(2) * MS);
    } else if (r < 600) {
      int m = 1 + irand(6);
      for (int i = 0; i < m; i++) {
        size_t k = pick(&c, 0);
        double base = isfinite(c.nd[k].capacity_w) ? c.nd[k].capacity_w : 3000.0;
        double want = irand(5) == 0 ? EXTREME[irand((int)N_EXTREME)] : base * unif(0.0, 3.0);
        ck_request(&c, k, want, t);
      }
    } else if (r < 640) {
      ck_release(&c, pick(&c, 0), t);
    } else if (r < 665) {
      size_t k = pick(&c, 1);
      if (n_stop < 2 && !c.stopped[k]) {
        ck_running(&c, k, 0, t);
        n_stop++;
      }
    } else if (r < 720) {
      for (size_t k = 0; k < n; k++)
        if (c.stopped[k] && irand(2)) {
          ck_running(&c, k, 1, t);
          n_stop--;
          break;
        }
    } else if (r < 735) {
      if (redundancy) {
        static const unsigned fs[6] = {1, 2, 1, 2, 3, 0};
        ck_feeds(&c, c.feeds && irand(5) ? 0 : fs[irand(6)], t);
      }
    } else if (r < 755) {
      static const unsigned evs[8] = {0,
                                      0,
                                      0,
                                      0,
                                      HR_EVENT_TELEMETRY_LOSS | HR_EVENT_UTILITY_LOSS,
                                      HR_EVENT_TELEMETRY_LOSS,
                                      HR_EVENT_UTILITY_LOSS,
                                      HR_EVENT_FEED_LOSS};
      unsigned ev = evs[irand(8)];
      if (ev == HR_EVENT_FEED_LOSS && irand(3))
        ev = HR_EVENT_COORD_LOSS;
      ck_events(&c, ev, t);
      /* A generator's rating on a root, from a generator of its own (the
       * sequences of every seed stay as they were before supplies). */
      uint64_t h = splitmix(seed ^ ((uint64_t)step << 32));
      if (h % 3) {
        size_t roots[8], nr = 0;
        for (size_t k = 0; k < n && nr < 8; k++)
          if (is_root(&c, k))
            roots[nr++] = k;
        size_t k = roots[(h >> 8) % nr];
        double x = (double)((h >> 16) % 1000) / 1000.0, w = INFINITY;
        if ((h >> 40) % 4)
          w = cont_dev_model(&c, k) * (0.05 + 1.2 * x);
        if (!(w > 0.0))
          w = INFINITY; /* an unrated root */
        ck_supply(&c, k, w, t);
      }
    } else if (r < 830) {
      double f = irand(4) ? unif(0.5, 1.5) : unif(1.5, 4.0);
      ck_thermal(&c, f, unif(0.05, 3.0), t);
    } else if (r < 845) {
      for (size_t k = 0; k < n; k++) {
        hr_device_status_t ds;
        if (c.nd[k].device && hr_lease_sys_device_status(c.s, k, &ds) == HR_OK && ds.tripped) {
          ck_reclose(&c, k, t);
          break;
        }
      }
    } else if (r < 875) {
      size_t k = pick(&c, 1);
      hr_coord_cfg_t cc;
      random_coord(&c, k, &cc);
      c.now = t;
      ck_set_coord(&c, k, &cc);
    } else if (r < 895) {
      size_t k;
      do
        k = (size_t)irand((int)n);
      while (!is_leaf(&c, k));
      ck_set_floor(&c, k, unif(0.0, 0.6) * floor_base(&c.nd[k]), t);
    } else if (r < 910) {
      ck_set_rated(&c, (size_t)irand((int)n), irand(2), t);
    } else if (r < 925) {
      assert_int_equal(hr_lease_sys_set_priority(c.s, (size_t)irand((int)n), irand(4)), HR_OK);
      ck_tick(&c, t);
    } else {
      ck_tick(&c, t);
    }
  }
  UNGUARD();
  free(dem);
  ck_close(&c);
  free(yaml);
}

static long env_long(const char *name, long dflt)
{
  const char *e = getenv(name);
  return e && *e ? strtol(e, NULL, 10) : dflt;
}

static void test_random(void **st)
{
  (void)st;
  long seeds = env_long("HR_INVARIANT_SEEDS", 200), steps = env_long("HR_INVARIANT_STEPS", 500);
  long seed0 = env_long("HR_INVARIANT_SEED0", 1);
  long bind0 = n_bind_phys, cand0 = n_cand_phys, bindc0 = n_bind_coord, candc0 = n_cand_coord;
  long inc0 = n_increase, calls0 = n_calls_checked, callb0 = n_calls_bind;
  long sok0 = n_sup_ok, srg0 = n_sup_range, snm0 = n_sup_normal;
  double t0 = mono_s();
  for (long s = 0; s < seeds; s++)
    run_seed((unsigned long long)(seed0 + s), (int)steps);
  long bind = n_bind_phys - bind0, cand = n_cand_phys - cand0;
  long bindc = n_bind_coord - bindc0, candc = n_cand_coord - candc0;
  print_message("random: %ld trees (%ld refused at creation), %ld calls in %.1f s\n", n_trees,
                n_refused, n_steps, mono_s() - t0);
  print_message("random: sums within 1 %% of a limit above the floors: physics %ld of %ld "
                "(%.1f %%), coordinators %ld of %ld (%.1f %%); cap increases checked %ld\n",
                bind, cand, cand ? 100.0 * (double)bind / (double)cand : 0.0, bindc, candc,
                candc ? 100.0 * (double)bindc / (double)candc : 0.0, n_increase - inc0);
  long sok = n_sup_ok - sok0, srg = n_sup_range - srg0, snm = n_sup_normal - snm0;
  print_message("random: supplies taken %ld, refused (floors over them) %ld; checks in normal mode "
                "with the utility lost %ld\n",
                sok, srg, snm);
  assert_true(seeds < 20 || (sok > 100 && srg > 10 && snm > 100));
  long calls = n_calls_checked - calls0, callb = n_calls_bind - callb0;
  print_message("random: calls after which some node's leaves drew within 1 %% of its limit: "
                "%ld of %ld (%.1f %%)\n",
                callb, calls, calls ? 100.0 * (double)callb / (double)calls : 0.0);
  /* The limits must have been exercised, not met vacuously: in a tree only
   * the tightest node on each path binds, so per node the fraction is small.
   * Coordinators' sums sit at what they may give in a good fraction of
   * checks; the leaves' draw reaches a conductor or limit_w less often (the
   * policies' bands, tokens at every level and GPU leases that expire between
   * rebalances keep it a little below), but thousands of times. */
  assert_true(seeds < 20 ||
              (bindc * 20 > candc && bindc > 5000 && bind > 1000 && callb * 200 > calls));
  assert_true(seeds < 20 || n_increase - inc0 > 1000);
}

/* The seeds that failed with the safe-share fallback forced on (even seeds
 * run without it by default): 126 and 1553, a leaf's lease below a stopped
 * coordinator expired at a fallback a few ulps above its floor and the
 * rebalance's batch took it at its floor, so the drop to the floor went
 * unrecorded (hr_lease_sys_osc's ramp start lagged the change); 204, see
 * feed_back_in_protection.  Found later (seeds 2000-7999 in both modes):
 * 2146, a distribution node back from a lost feed below a stopped root came
 * back at the grant it held when it died, above floors lowered while it
 * was dead (a rise in protection mode); 2513, a rack whose coordinator
 * restarted while the rack was dead kept the ramp start of its expiry,
 * before its cap last moved while it was stopped; 3660 and 5890, a node
 * restarted below a stopped root kept its expired lease's fallback above
 * what its parent, cut to its floor, had for it (the cut cascade passed
 * expired leases by). */
static void test_fallback_seeds(void **st)
{
  (void)st;
  static const unsigned long long seeds[] = {126, 1553, 204, 2146, 2513, 3660, 5890};
  g_fb_force = 1;
  for (size_t i = 0; i < sizeof seeds / sizeof *seeds; i++)
    run_seed(seeds[i], 500);
  g_fb_force = -1;
}

int main(void)
{
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGALRM, &sa, NULL);
  keep_going = env_long("HR_INVARIANT_KEEP_GOING", 0) != 0;
  verbose = env_long("HR_INVARIANT_VERBOSE", 0) != 0;
  HANG_S = (unsigned)env_long("HR_INVARIANT_HANG_S", 5);
  g_trace = getenv("HR_INVARIANT_TRACE");
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defect1_bucket_cuts),
      cmocka_unit_test(test_defect2_no_hang),
      cmocka_unit_test(test_defect3_phase_conductors),
      cmocka_unit_test(test_defect4_2n_stopped),
      cmocka_unit_test(test_defect5_ramp_from_last_drop),
      cmocka_unit_test(test_grid_ramp),
      cmocka_unit_test(test_release_with_stopped_child),
      cmocka_unit_test(test_runtime_rating_and_floor),
      cmocka_unit_test(test_degraded_stopped_root),
      cmocka_unit_test(test_coordinator_loss),
      cmocka_unit_test(test_ramp_after_expired_revocation),
      cmocka_unit_test(test_no_clamp_at_least),
      cmocka_unit_test(test_protection_dual_held),
      cmocka_unit_test(test_feed_back_in_protection),
      cmocka_unit_test(test_fallback_seeds),
      cmocka_unit_test(test_random),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  printf("test_invariants: checks run (violations):\n");
  long tot = 0, tot_bad = 0;
  for (int k = 0; k < K_COUNT; k++) {
    printf("  %-62s %12ld (%ld)\n", K_NAME[k], n_chk[k], n_bad[k]);
    tot += n_chk[k];
    tot_bad += n_bad[k];
  }
  printf("  %-62s %12ld (%ld)\n", "total", tot, tot_bad);
  printf("  slowest call: %s, %.6f s\n", g_max_call, g_max_call_s);
  free(g_before);
  return rc ? rc : tot_bad ? 1 : 0;
}
