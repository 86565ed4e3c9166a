/* The rebalance in its fast form (hr_lease_sys_rebalance) and the kernels it
 * is built from: vector settles of runs of leaves, batched; water fills of 8
 * servers in lanes; prefetches.  rebalance_ref.c is its specification. */
#include <stdlib.h>

#include "core/core.h"
#include "lease/lease_sys.h"

/* settle_leaves() is built for AVX-512 (x86-64-v4), AVX2 and baseline
 * x86-64, chosen at load time like the meter's loops; its file is compiled
 * with -fno-trapping-math (CMakeLists.txt) so that the selects of its loop
 * may be if-converted, which changes no value. */

/* leaf_demand() of the leaves c0 .. c0 + m - 1 into dem_w[0 .. m), the same
 * operations, 8 leaves per AVX-512 instruction. */
HR__CLONES_V4
static void run_demand(const hr_lease_sys_t *s, size_t c0, size_t m, const double *demand_w,
                       double *dem_w)
{
  const double *restrict d_in = demand_w + s->tidx[c0]; /* a run in both orders */
  const double *restrict lim = s->limit + c0;
  const double *restrict flo = s->floor_w + c0;
  double *restrict out = dem_w;
#pragma omp simd
  for (size_t j = 0; j < m; j++) {
    double d = d_in[j] >= 0.0 ? d_in[j] : 0.0;
    d = d > lim[j] ? lim[j] : d;
    out[j] = d < flo[j] ? flo[j] : d;
  }
}

/* run_demand() inlined for FILL_M leaves (the common server): the call
 * through the clone's resolver costs more than the 8 clamps. */
static inline void run_demand8(const hr_lease_sys_t *s, size_t c0, const double *demand_w,
                               double *dem_w)
{
  const double *restrict d_in = demand_w + s->tidx[c0]; /* a run in both orders */
  const double *restrict lim = s->limit + c0;
  const double *restrict flo = s->floor_w + c0;
  for (size_t j = 0; j < 8; j++) {
    double d = d_in[j] >= 0.0 ? d_in[j] : 0.0;
    d = d > lim[j] ? lim[j] : d;
    dem_w[j] = d < flo[j] ? flo[j] : d;
  }
}

/* What hr__lease_settle() needs of the coordinator above a run of leaves and of the
 * leaves' tier, read once per run instead of once per leaf. */
typedef struct leaf_rules {
  int grow; /* 1: increases allowed at all (normal mode) */
  int ramp_finite;
  int protect; /* protection mode: every want is 0 */
  double ramp_w_per_s;
  double hyst_w;
  int64_t dwell_ns;
  int64_t damp_window_ns;
  int64_t damp_hold_ns;
  int damp_changes;
  double tok_w, tok_inv;
  double step_max_w; /* step_cap(): the largest increase at once */
} leaf_rules_t;

/* A run of leaves waiting to be settled: leaves c0 .. c0 + m - 1, their
 * wants in the batch's want_w from the run's offset, their expiry. */
typedef struct leaf_seg {
  int32_t c0;
  int32_t m;
  int64_t expiry_ns;
  double avail_w; /* what the leaves' parent may give: the post-condition */
  int32_t node;   /* that parent, -1 when the run is not all of its children */
  int32_t pos;    /* a three-phase parent's visit position (three_over), else -1 */
} leaf_seg_t;

/* Runs of one coordinator setting and one tier, settled together: a server's
 * 8 leaves are one vector iteration whose operations depend on each other,
 * so one call per server would leave the core waiting on that chain; a batch
 * lets consecutive servers' iterations overlap.  Deferring is safe because
 * nothing in a rebalance reads a leaf's lease (a leaf is nobody's parent,
 * and the least grant of a leaf is its floor).  4 servers a batch: a lane
 * fill hands over 8 servers at once, and 4 gave about 3 % over 2 at 640,000
 * GPUs (8 no clear difference from 4; docs/performance.md). */
#define LEAF_BATCH_SEGS 4
#define LEAF_BATCH_LEAVES 512
typedef struct leaf_batch {
  const hr_coord_cfg_t *cc;
  int tier;
  size_t n_seg, n_leaf;
  leaf_seg_t seg[LEAF_BATCH_SEGS];
  double want_w[LEAF_BATCH_LEAVES];
} leaf_batch_t;

/* hr__lease_settle() for the leaves of n_seg runs, none on a lost feed, all of one
 * tier, each with one parent whose coordinator runs: a leaf's least grant is
 * its floor (it passes no cut down) and its expiry is its run's.  Every rule
 * of hr__lease_settle() is computed for both directions and selected, so the inner
 * loop has no branches and runs 8 leaves per AVX-512 instruction; the
 * operations are hr__lease_settle()'s, in its order, so the leases are bit for bit the
 * same (tests/lease/test_fast.c compares the two on random trees).  A
 * rebalance moves about half the grants up and half down, a coin flip to a
 * branch predictor, which is what made the scalar hr__lease_settle() slow here. */
HR__CLONES_V4
static void settle_leaves(hr_lease_sys_t *s, const leaf_seg_t *seg, size_t n_seg,
                          const double *want_w, int64_t t, const leaf_rules_t *r, double *sum_w)
{
  /* Every lane value is 64 bits wide: the vectoriser sizes its vectors by the
   * narrowest type, and a server has 8 leaves, not 16 or 64. */
  const int64_t grow = r->grow, ramp_finite = r->ramp_finite, protect = r->protect;
  const int64_t damp_changes = r->damp_changes;
  const double ramp = r->ramp_w_per_s, hyst = r->hyst_w, tok = r->tok_w, inv = r->tok_inv;
  const double most = r->step_max_w;
  const int64_t dwell = r->dwell_ns, window = r->damp_window_ns, hold = r->damp_hold_ns;
  for (size_t i = 0; i < n_seg; i++) {
    size_t c0 = (size_t)seg[i].c0, m = (size_t)seg[i].m;
    const int64_t expiry = seg[i].expiry_ns, expired = expiry <= t;
    double *restrict p_w = s->lease_p_w + c0;
    int64_t *restrict exp_ns = s->lease_exp_ns + c0;
    int64_t *restrict granted_ns = s->lease_granted_ns + c0;
    const double *restrict floor_w = s->floor_w + c0;
    int64_t *restrict last_ns = s->last_change_ns + c0;
    int64_t *restrict win_ns = s->win_start_ns + c0;
    int64_t *restrict hold_ns = s->hold_until_ns + c0;
    int64_t *restrict damp = s->damp + c0;
    const double *restrict want = want_w;
    want_w += m;
    double sum = 0.0;          /* the grants' sum, for the post-condition (any order) */
    int64_t bad = 0;           /* s->skip_bad of these leases */
    int64_t until = INT64_MAX; /* s->skip_until_ns of these leases */
#pragma omp simd reduction(+ : sum) reduction(| : bad) reduction(min : until)
    for (size_t j = 0; j < m; j++) {
      double flo = floor_w[j];
      const int64_t e0 = exp_ns[j], l0 = last_ns[j], ho = hold_ns[j];
      const double p0 = p_w[j];
      double old = t < e0 ? p0 : flo;
      /* An expiry after the last change was a drop: the ramp counts from it
       * (ramp_from()). */
      const int64_t last = sel_i64((t >= e0) & (p0 > flo) & (e0 > l0), e0, l0);
      /* Bitwise selects where a plain one would become a conditional load
       * or store: AVX2 has only masked moves for those, slow on AMD Zen 3
       * (and +0.0 is the all-zero pattern). */
      double w = bits_f64(f64_bits(want[j]) & ~(uint64_t)-protect);
      double g = w < flo ? flo : w;
      const double g0 = g; /* the target, before the increase rules */
      /* Increase: mode, damper and dwell, then ramp, token, hysteresis.  The
       * unsigned difference is t - last without signed overflow. */
      int64_t since = (int64_t)((uint64_t)t - (uint64_t)last);
      int64_t frozen = !grow | (t < ho) | (since < dwell);
      double allow = ramp * (i64_to_f64(since) / NS_PER_S);
      allow = allow > most ? most : allow;
      double top = old + allow;
      double up = (ramp_finite & (g > top)) ? top : g;
      double q = quantize_v(up, flo, tok, inv);
      up = q > old ? q : old;
      up = up - old < hyst ? old : up;
      up = frozen ? old : up;
      /* Cut: at once, rounded down to the token. */
      double down = quantize_v(g, flo, tok, inv);
      g = g > old ? up : g < old ? down : g;
      g = g < flo ? flo : g;
      g = expired ? flo : g;
      /* Damper (see hr__lease_settle()). */
      int64_t dir = (int64_t)(g > old) - (int64_t)(g < old);
      int64_t dw = damp[j];
      int64_t ld = damp_dir(dw);
      int64_t flip = (dir != 0) & (ld != 0) & (dir != ld);
      int64_t ws = win_ns[j];
      int64_t reset = flip & ((int64_t)((uint64_t)t - (uint64_t)ws) > window);
      int64_t nch = sel_i64(reset, 0, damp_count(dw));
      nch += flip & (nch < 255);
      win_ns[j] = sel_i64(reset, t, ws);
      hold_ns[j] = sel_i64(flip & (nch > damp_changes), t + hold, ho);
      damp[j] = damp_word(nch, dir != 0 ? dir : ld);
      last_ns[j] = sel_i64(dir != 0, t, last);
      p_w[j] = g;
      granted_ns[j] = t;
      exp_ns[j] = g > flo ? expiry : t;
      sum += g;
      /* The skip's record (hr_lease_sys_rebalance): the lease moved (its
       * grant, bit for bit, its direction or its ramp's start), or an
       * increase was held back by the ramp, which time alone releases (it
       * does not bind later if it does not now: t - last only grows, and
       * with it the allowance).  An increase held back by a freeze (dwell,
       * damper hold) is held back until the freeze ends: the skip stops
       * there.  (The mode's freeze: a record needs the normal mode.) */
      int64_t lag = (int64_t)(g0 > old);
      bad |= (int64_t)(f64_bits(g) != f64_bits(p0)) | (int64_t)(last != l0) | (dir != 0) |
             (lag & !frozen & ramp_finite & (int64_t)(g0 > top));
      int64_t thaw = (int64_t)((uint64_t)last + (uint64_t)dwell);
      thaw = ho > thaw ? ho : thaw;
      thaw = sel_i64(lag & frozen, thaw, INT64_MAX);
      until = thaw < until ? thaw : until;
    }
    sum_w[i] = sum;
    s->skip_bad |= bad;
    s->skip_until_ns = until < s->skip_until_ns ? until : s->skip_until_ns;
    s->skip_nset += m;
  }
}

/* hr__lease_settle() of one node whose least grant is its floor (no coordinator
 * stopped), written as settle_leaves()'s lane: both directions computed and
 * selected.  For the servers' and racks' own leases in the fast rebalance:
 * their direction is a coin flip like the leaves', and the branch misses of
 * hr__lease_settle() cost more than the few extra operations; nothing reads the result
 * soon (a server's budget goes into the deferred lane fill), so the longer
 * dependent chain stays off the critical path.  The same operations as
 * settle_leaves(), so the same lease bit for bit (test_fast compares the fast
 * rebalance with the reference, which uses hr__lease_settle()). */
static inline void settle_bf(hr_lease_sys_t *s, size_t k, double want, int64_t t, int64_t expiry)
{
  const hr_coord_cfg_t *cc = s->ccfg[s->par[k]];
  const int tier = s->tier[k];
  const double tok = s->cfg.tier[tier].token_w, inv = s->tok_inv[tier];
  const double ramp = cc->ramp_w_per_s;
  const int64_t ramp_finite = isfinite(ramp) != 0, grow = s->mode == HR_MODE_NORMAL;
  double flo = s->floor_w[k];
  double old = t < s->lease_exp_ns[k] ? s->lease_p_w[k] : flo;
  double w = s->mode == HR_MODE_PROTECTION ? 0.0 : want;
  double g = w < flo ? flo : w;
  const double g0 = g, p0 = s->lease_p_w[k];
  const int64_t l0 = s->last_change_ns[k];
  int64_t last = ramp_from(s, k, t);
  int64_t since = (int64_t)((uint64_t)t - (uint64_t)last);
  int64_t hold_old = s->hold_until_ns[k];
  int64_t frozen = !grow | (t < hold_old) | (since < cc->dwell_ns);
  double allow = ramp * ((double)since / NS_PER_S);
  double most = step_cap(cc, tok);
  allow = allow > most ? most : allow;
  double top = old + allow;
  double up = (ramp_finite & (g > top)) ? top : g;
  double q = quantize_v(up, flo, tok, inv);
  up = q > old ? q : old;
  up = up - old < cc->hyst_w ? old : up;
  up = frozen ? old : up;
  double down = quantize_v(g, flo, tok, inv);
  g = g > old ? up : g < old ? down : g;
  g = g < flo ? flo : g;
  g = expiry <= t ? flo : g;
  int64_t dir = (int64_t)(g > old) - (int64_t)(g < old);
  int64_t dw = s->damp[k];
  int64_t ld = damp_dir(dw);
  int64_t flip = (dir != 0) & (ld != 0) & (dir != ld);
  int64_t ws = s->win_start_ns[k];
  int64_t reset = flip & ((int64_t)((uint64_t)t - (uint64_t)ws) > cc->damp_window_ns);
  int64_t nch = reset ? 0 : damp_count(dw);
  nch += flip & (nch < 255);
  s->win_start_ns[k] = reset ? t : ws;
  s->hold_until_ns[k] = (flip & (nch > cc->damp_changes)) ? t + cc->damp_hold_ns : hold_old;
  s->damp[k] = damp_word(nch, dir != 0 ? dir : ld);
  s->last_change_ns[k] = dir != 0 ? t : last;
  s->lease_p_w[k] = g;
  s->lease_granted_ns[k] = t;
  s->lease_exp_ns[k] = g > flo ? expiry : t;
  /* The skip's record, as in settle_leaves(). */
  int64_t lag = (int64_t)(g0 > old);
  s->skip_bad |= (int64_t)(f64_bits(g) != f64_bits(p0)) | (int64_t)(last != l0) | (dir != 0) |
                 (lag & !frozen & ramp_finite & (int64_t)(g0 > top));
  if (lag & frozen) {
    int64_t thaw = (int64_t)((uint64_t)last + (uint64_t)cc->dwell_ns);
    thaw = hold_old > thaw ? hold_old : thaw;
    s->skip_until_ns = thaw < s->skip_until_ns ? thaw : s->skip_until_ns;
  }
  s->skip_nset++;
}

/* The rules of hr__lease_settle() for nodes of tier `tier` under coordinator settings cc. */
static leaf_rules_t leaf_rules(const hr_lease_sys_t *s, const hr_coord_cfg_t *cc, int tier)
{
  leaf_rules_t r = {s->mode == HR_MODE_NORMAL,
                    isfinite(cc->ramp_w_per_s) != 0,
                    s->mode == HR_MODE_PROTECTION,
                    cc->ramp_w_per_s,
                    cc->hyst_w,
                    cc->dwell_ns,
                    cc->damp_window_ns,
                    cc->damp_hold_ns,
                    cc->damp_changes,
                    s->cfg.tier[tier].token_w,
                    s->tok_inv[tier],
                    step_cap(cc, s->cfg.tier[tier].token_w)};
  return r;
}

/* excess_at()'s test (rules.c) for three-phase node k whose children are
 * leaves on fixed conductors (no PH_NODE child), none dead: 1 when their
 * caps at t exceed what k may give in total or on a conductor, or a child's
 * lease outlives k's (the nest repair); the same operations in the same
 * order, so 0 exactly when hr__lease_postcheck_node(k) would do nothing. */
static int three_over(const hr_lease_sys_t *s, size_t k, int64_t t)
{
  size_t m = 0;
  const int32_t *ch = kids(s, k, &m);
  double avail = avail_at(s, k, t), sum = 0.0, ph[3] = {0.0, 0.0, 0.0}, w[3];
  int64_t pe = is_root(s, k) ? INT64_MAX : s->lease_exp_ns[k];
  for (size_t j = 0; j < m; j++) {
    size_t c = (size_t)ch[j];
    if (s->dead[c])
      continue;
    if (s->lease_exp_ns[c] > pe && s->lease_exp_ns[c] > t)
      return 1;
    double v = cap_at(s, c, t);
    sum += v;
    contrib(s, c, k, v, NULL, w); /* a leaf on fixed conductors: no per-phase caps read */
    for (int q = 0; q < 3; q++)
      ph[q] += w[q];
  }
  double lim[3];
  phase_avail(s, k, t, s->budget[k].phase_w, lim);
  int over = sum - avail > 1e-9 * avail + 1e-6;
  for (int q = 0; q < 3; q++)
    over |= ph[q] - lim[q] > 1e-9 * lim[q] + 1e-6;
  return over;
}

static void batch_flush(hr_lease_sys_t *s, leaf_batch_t *lb, int64_t t)
{
  if (lb->n_seg == 0)
    return;
  const hr_coord_cfg_t *cc = lb->cc;
  leaf_rules_t r = leaf_rules(s, cc, lb->tier);
  double sum[LEAF_BATCH_SEGS];
  settle_leaves(s, lb->seg, lb->n_seg, lb->want_w, t, &r, sum);
  /* The post-condition of a run that is all of its parent's children, from
   * the grants' sum the kernel took: within what the parent may give (each
   * grant is unexpired or at its floor, and nested by construction). */
  for (size_t i = 0; i < lb->n_seg; i++) {
    const leaf_seg_t *g = &lb->seg[i];
    if (g->pos >= 0 && !three_over(s, (size_t)g->node, t)) {
      /* A three-phase server within its total and every conductor: its
       * post-condition would find nothing, here or in the final pass. */
      s->chk[g->pos] = 1;
      continue;
    }
    if (g->node >= 0 && sum[i] - g->avail_w > 1e-9 * g->avail_w + 1e-6)
      hr__lease_postcheck_node(s, (size_t)g->node, t);
  }
  lb->n_seg = lb->n_leaf = 0;
}

/* Queues leaves c0 .. c0 + m - 1 (one tier, m <= LEAF_BATCH_LEAVES) under
 * coordinator settings cc, lease expiry expiry_ns; returns where their m
 * wants go, so that a policy can write them there directly. */
static double *batch_slot(hr_lease_sys_t *s, leaf_batch_t *lb, const hr_coord_cfg_t *cc, int tier,
                          size_t c0, size_t m, int64_t expiry_ns, double avail_w, int32_t node,
                          int64_t t)
{
  if (lb->n_seg > 0 && (lb->cc != cc || lb->tier != tier || lb->n_seg == LEAF_BATCH_SEGS ||
                        lb->n_leaf + m > LEAF_BATCH_LEAVES))
    batch_flush(s, lb, t);
  lb->cc = cc;
  lb->tier = tier;
  lb->seg[lb->n_seg].c0 = (int32_t)c0;
  lb->seg[lb->n_seg].m = (int32_t)m;
  lb->seg[lb->n_seg].expiry_ns = expiry_ns;
  lb->seg[lb->n_seg].avail_w = avail_w;
  lb->seg[lb->n_seg].node = node;
  lb->seg[lb->n_seg].pos = -1;
  lb->n_seg++;
  double *w = lb->want_w + lb->n_leaf;
  lb->n_leaf += m;
  return w;
}

/* Queues leaves c0 .. c0 + m - 1 (one tier) under coordinator settings cc,
 * wants want_w[0 .. m), lease expiry expiry_ns. */
static void batch_add(hr_lease_sys_t *s, leaf_batch_t *lb, const hr_coord_cfg_t *cc, int tier,
                      size_t c0, size_t m, const double *want_w, int64_t expiry_ns, double avail_w,
                      int32_t node, int64_t t)
{
  if (lb->n_seg > 0 && (lb->cc != cc || lb->tier != tier || lb->n_seg == LEAF_BATCH_SEGS ||
                        lb->n_leaf + m > LEAF_BATCH_LEAVES))
    batch_flush(s, lb, t);
  if (m > LEAF_BATCH_LEAVES) {
    /* A server with more leaves than a batch: settle it in pieces. */
    for (size_t j = 0; j < m; j += LEAF_BATCH_LEAVES) {
      size_t k = m - j < LEAF_BATCH_LEAVES ? m - j : LEAF_BATCH_LEAVES;
      batch_add(s, lb, cc, tier, c0 + j, k, want_w + j, expiry_ns, INFINITY, -1, t);
    }
    if (node >= 0) {
      batch_flush(s, lb, t);
      hr__lease_postcheck_node(s, (size_t)node, t);
    }
    return;
  }
  memcpy(batch_slot(s, lb, cc, tier, c0, m, expiry_ns, avail_w, node, t), want_w,
         m * sizeof *want_w);
}

/* Servers of FILL_M leaves under fair share whose water fills run together,
 * one server per lane (FILL_M lanes): a server's fill is a chain of
 * dependent passes with branches on coin-flip comparisons, which one server
 * at a time leaves the core waiting on or mispredicting; across servers the
 * lanes are independent and the passes branch-free. */
#define FILL_M 8
typedef struct fill_group {
  size_t n;
  const hr_coord_cfg_t *cc[FILL_M];
  int tier[FILL_M];
  size_t c0[FILL_M];
  int64_t expiry_ns[FILL_M];
  double avail_w[FILL_M];
  int32_t node[FILL_M];
  double b[FILL_M];
  double dem[FILL_M][FILL_M]; /* [leaf][server] */
  double flo[FILL_M][FILL_M];
  double out[FILL_M][FILL_M];
} fill_group_t;

/* hr__fair_fill() (hr__policy_alloc's fair share) of the n <= FILL_M servers
 * of a group, each in its lane: the same operations in the same order per
 * lane (sums in leaf order, a pass's level fixed while `left` drops in leaf
 * order), with selects instead of branches, so the same grants bit for bit.
 * Unused lanes have a zero budget and are settled at their floors. */
HR__CLONES_V4
static void fill_lanes(fill_group_t *g)
{
  const size_t m = FILL_M;
  double left[FILL_M], act[FILL_M], lam[FILL_M], ext[FILL_M][FILL_M];
  int64_t done[FILL_M], st[FILL_M][FILL_M], any[FILL_M];
  for (size_t l = g->n; l < FILL_M; l++) {
    g->b[l] = 0.0;
    for (size_t j = 0; j < m; j++)
      g->dem[j][l] = g->flo[j][l] = 0.0;
  }
  double sflo[FILL_M], need[FILL_M];
  for (size_t l = 0; l < FILL_M; l++)
    sflo[l] = need[l] = 0.0;
  for (size_t j = 0; j < m; j++)
    for (size_t l = 0; l < FILL_M; l++) {
      sflo[l] += g->flo[j][l];
      ext[j][l] = g->dem[j][l] - g->flo[j][l];
      need[l] += ext[j][l];
    }
  int64_t low[FILL_M];
  for (size_t l = 0; l < FILL_M; l++) {
    low[l] = !(g->b[l] > sflo[l]);
    left[l] = g->b[l] - sflo[l];
    done[l] = low[l] | (need[l] <= left[l]);
    act[l] = (double)m;
  }
  for (size_t j = 0; j < m; j++)
    for (size_t l = 0; l < FILL_M; l++) {
      g->out[j][l] = low[l] ? g->flo[j][l] : g->dem[j][l];
      st[j][l] = 0;
    }
  for (size_t pass = 0; pass <= m; pass++) {
    int64_t all = 1;
    for (size_t l = 0; l < FILL_M; l++)
      all &= done[l];
    if (all)
      break;
    for (size_t l = 0; l < FILL_M; l++) {
      lam[l] = left[l] / act[l];
      any[l] = 0;
    }
    for (size_t j = 0; j < m; j++)
      for (size_t l = 0; l < FILL_M; l++) {
        int64_t sat = !done[l] & !st[j][l] & (ext[j][l] <= lam[l]);
        st[j][l] |= sat;
        any[l] |= sat;
        left[l] = sat ? left[l] - ext[j][l] : left[l];
        act[l] = sat ? act[l] - 1.0 : act[l];
      }
    int64_t fin[FILL_M];
    for (size_t l = 0; l < FILL_M; l++)
      fin[l] = !done[l] & !any[l];
    for (size_t j = 0; j < m; j++)
      for (size_t l = 0; l < FILL_M; l++)
        g->out[j][l] = (fin[l] & !st[j][l]) ? g->flo[j][l] + lam[l] : g->out[j][l];
    for (size_t l = 0; l < FILL_M; l++)
      done[l] |= fin[l] | (act[l] == 0.0);
  }
}

void hr__fill_lanes(size_t n_srv, const double *dem_w, const double *flo_w, const double *b_w,
                    double *out_w)
{
  fill_group_t g;
  g.n = n_srv;
  for (size_t l = 0; l < n_srv; l++) {
    g.b[l] = b_w[l];
    for (size_t j = 0; j < FILL_M; j++) {
      g.dem[j][l] = dem_w[l * FILL_M + j];
      g.flo[j][l] = flo_w[l * FILL_M + j];
    }
  }
  fill_lanes(&g);
  for (size_t l = 0; l < n_srv; l++)
    for (size_t j = 0; j < FILL_M; j++)
      out_w[l * FILL_M + j] = g.out[j][l];
}

static void fill_flush(hr_lease_sys_t *s, fill_group_t *g, leaf_batch_t *lb, int64_t t)
{
  if (g->n == 0)
    return;
  fill_lanes(g);
  for (size_t l = 0; l < g->n; l++) {
    double *w = batch_slot(s, lb, g->cc[l], g->tier[l], g->c0[l], FILL_M, g->expiry_ns[l],
                           g->avail_w[l], g->node[l], t);
    for (size_t j = 0; j < FILL_M; j++)
      w[j] = g->out[j][l];
  }
  g->n = 0;
}

/* Queues a server whose FILL_M leaves c0 .. are a run of one tier: their
 * demands and floors into its lane, its budget b.  Deferring the fill is safe
 * for the reason batch_add's deferring is: nothing reads a leaf's want but
 * its own settle. */
static void fill_add(hr_lease_sys_t *s, fill_group_t *g, leaf_batch_t *lb, const hr_coord_cfg_t *cc,
                     int tier, size_t c0, int64_t expiry_ns, double b, double avail_w, int32_t node,
                     const double *demand_w, int64_t t)
{
  double dem[FILL_M];
  run_demand8(s, c0, demand_w, dem);
  size_t l = g->n;
  g->cc[l] = cc;
  g->tier[l] = tier;
  g->c0[l] = c0;
  g->expiry_ns[l] = expiry_ns;
  g->avail_w[l] = avail_w;
  g->node[l] = node;
  g->b[l] = b;
  for (size_t j = 0; j < FILL_M; j++) {
    g->dem[j][l] = dem[j];
    g->flo[j][l] = s->floor_w[c0 + j];
  }
  if (++g->n == FILL_M)
    fill_flush(s, g, lb, t);
}

/* Inner nodes ahead of the one being split whose records the top-down pass
 * asks the memory for early: a rack comes every 73 nodes of a 64-GPU rack,
 * too far apart for the hardware prefetcher, and its budget record, lease
 * and policy state would otherwise each cost a full memory latency. */
#define PREFETCH_AHEAD 9

static inline void prefetch_node(const hr_lease_sys_t *s, size_t pos, size_t k)
{
  __builtin_prefetch(&s->lease_exp_ns[k]);
  __builtin_prefetch(&s->lease_p_w[k]);
  __builtin_prefetch(&s->last_change_ns[k]);
  __builtin_prefetch(&s->hold_until_ns[k]);
  /* Its flags and settings: one byte or word each in arrays of their own, a
   * server's 9 nodes from the last, so a new line every few servers. */
  __builtin_prefetch(&s->ccfg[k]);
  __builtin_prefetch(&s->limit[k]);
  __builtin_prefetch(&s->ch_off[k]);
  __builtin_prefetch(&s->three[k]);
  __builtin_prefetch(&s->running[k]);
  __builtin_prefetch(&s->tier[k]);
  __builtin_prefetch(&s->pstate[k]);
  if (!s->leafkids[k]) {
    /* A rack: its phase limits and its servers' records (inner_rec_t),
     * ahead of where the hardware prefetcher has got to (they are per
     * position, but a rack's come 9 positions apart). */
    __builtin_prefetch(&s->in_ph[4 * pos]);
    size_t m = s->ch_off[k + 1] - s->ch_off[k];
    if (m > 16)
      return;
    size_t cb = 0;
    const int32_t *cp = kid_pos(s, pos, k, &cb);
    for (size_t j = 0; j < m; j++)
      __builtin_prefetch(&s->in_rec[cb + (size_t)cp[j]]);
    return;
  }
  if (s->run_tier[k] < 0)
    return;
  /* The leaves of a run: their first and last element of every array the
   * split and settle_leaves() read (a run of 8 spans at most two lines). */
  size_t c0 = (size_t)s->ch[s->ch_off[k]], c1 = c0 + (s->ch_off[k + 1] - s->ch_off[k]) - 1;
  const void *p[] = {s->lease_p_w,      s->lease_exp_ns, s->lease_granted_ns, s->floor_w, s->limit,
                     s->last_change_ns, s->win_start_ns, s->hold_until_ns,    s->damp};
  /* Every 8-byte array starts its lines at the same elements (table_alloc's
   * lead), so one test tells whether the run spans one line or two. */
  int two = (((c0 - s->lead) ^ (c1 - s->lead)) >> 3) != 0;
  for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) {
    __builtin_prefetch((const char *)p[i] + 8 * c0);
    if (two)
      __builtin_prefetch((const char *)p[i] + 8 * c1);
  }
  __builtin_prefetch(&s->prio[c0]);
  __builtin_prefetch(&s->dead[c0]);
}

/* The bottom-up pass's counterpart of prefetch_node(): what it reads of an
 * inner node ahead (it walks backwards, where the racks' child lists and the
 * nodes' own fields come one line each, too sparse for the hardware). */
static inline void prefetch_up(const hr_lease_sys_t *s, size_t k, const double *demand_w)
{
  __builtin_prefetch(&s->limit[k]);
  __builtin_prefetch(&s->floor_w[k]);
  __builtin_prefetch(&s->prio[k]);
  __builtin_prefetch(&s->dead[k]);
  __builtin_prefetch(&s->run_tier[k]);
  __builtin_prefetch(&s->leafkids[k]);
  uint32_t o = s->ch_off[k];
  __builtin_prefetch(&s->ch[o]);
  if (!s->leafkids[k]) {
    __builtin_prefetch(&s->ch_pos[o]);
    return;
  }
  size_t c0 = (size_t)s->ch[o], c1 = c0 + (s->ch_off[k + 1] - o) - 1;
  if (s->run_tier[k] < 0)
    return;
  const double *p[] = {s->limit + c0, s->floor_w + c0, demand_w + s->tidx[c0]};
  for (size_t j = 0; j < sizeof p / sizeof p[0]; j++) {
    __builtin_prefetch(p[j]);
    __builtin_prefetch(p[j] + (c1 - c0));
  }
}

/* 1 when the children of kidrun node k (visit position i), all settled
 * now with grants summing to sum, hold more than k may give in total or on
 * a conductor; the general post-condition has then cut them. */
static int run_over(hr_lease_sys_t *s, size_t k, size_t i, int64_t t, double sum)
{
  double av = avail_at(s, k, t);
  if (sum - av > 1e-9 * av + 1e-6) {
    hr__lease_postcheck_node(s, k, t);
    return 1;
  }
  if (!s->three[k])
    return 0;
  size_t m = 0;
  const int32_t *ch = kids(s, k, &m);
  const uint8_t *code = s->ch_ph + s->ch_off[k];
  double ph[3] = {0.0, 0.0, 0.0}, lim[3];
  for (size_t j = 0; j < m; j++) {
    size_t c = (size_t)ch[j];
    if (code[j] == PH_NODE) {
      double v[3];
      cur_phase(s, c, t, v);
      for (int q = 0; q < 3; q++)
        ph[q] += v[q];
    } else {
      const double *w = PH_W[code[j]];
      for (int q = 0; q < 3; q++)
        ph[q] += w[q] * s->lease_p_w[c];
    }
  }
  phase_avail(s, k, t, &s->in_ph[4 * i], lim);
  for (int q = 0; q < 3; q++)
    if (ph[q] - lim[q] > 1e-9 * lim[q] + 1e-6) {
      hr__lease_postcheck_node(s, k, t);
      return 1;
    }
  return 0;
}

/* hr__lease_fit_phases() for children none of which has per-phase tables:
 * child j loads conductor q with w[q] x its grant, w from its phase code;
 * the same operations as the general form with ml = w x least and ms = w
 * (hr__lease_child_model), without building those arrays. */
static void fit_phases_w(size_t n, const hr__item_t *it, const uint8_t *code, const double lim[3],
                         double *alloc)
{
  for (int q = 0; q < 3; q++) {
    for (int tries = 0; tries < 4; tries++) {
      double base = 0.0, above = 0.0;
      for (size_t j = 0; j < n; j++) {
        double w = PH_W[code[j]][q];
        base += w * it[j].flo_w;
        above += w * (alloc[j] - it[j].flo_w);
      }
      if (base + above <= lim[q])
        break;
      double f = above > 0.0 ? (lim[q] - base) / above : 0.0;
      if (!(f > 0.0))
        f = 0.0;
      if (f > 1.0)
        f = 1.0;
      f *= 1.0 - (double)tries * 1e-12;
      if (tries == 3)
        f = 0.0;
      for (size_t j = 0; j < n; j++)
        if (PH_W[code[j]][q] > 0.0)
          alloc[j] = it[j].flo_w + f * (alloc[j] - it[j].flo_w);
    }
  }
}

/* ---- the exact skip --------------------------------------------------------------- */

void hr__lease_set_plain(hr_lease_sys_t *s, int on)
{
  if (!s)
    return;
  s->no_skip = on ? 1 : 0;
  hr__lease_skip_off(s);
}

uint64_t hr__lease_skipped(const hr_lease_sys_t *s)
{
  return s ? s->skipped : 0;
}

/* 1 when a rebalance at t with demand_w would change nothing but the lease
 * times: the last rebalance (full, or skipped under the same record) was a
 * fixed point with nothing time-dependent binding (skip_ok, recorded by
 * skip_record; anything that changes the system since clears it), the
 * demands are the same bit for bit, time did not go back, and no lease
 * above its floor has run out (each settle would start from the grant it
 * holds) and no freeze that held back an increase has ended
 * (skip_until_ns).  Then every settle meets the same old grant, the same
 * want and the same rules: an increase that neither a freeze nor the ramp
 * held back is not held back later (hold_until and dwell only pass, the
 * ramp's allowance only grows while the last change stays), one a freeze
 * held back is still held back, the policies' memory is the same, the
 * site's envelope only rises from a value that did not bind or stays at
 * its top (the grants under it stay), and every expiry is the same offset
 * from t (t + ttl, or a parent's, itself such an offset, or t for a grant
 * at its floor). */
static int skip_applies(const hr_lease_sys_t *s, const double *demand_w, int64_t t)
{
  return s->skip_ok && !s->no_skip && t >= s->skip_t_ns && t < s->skip_exp_ns &&
         t < s->skip_until_ns && s->mode == HR_MODE_NORMAL &&
         (s->events | s->auto_events) == s->ev_seen &&
         memcmp(demand_w, s->skip_dem, s->n * sizeof *demand_w) == 0;
}

/* What the full rebalance would change when skip_applies(): the site's
 * envelope advanced to t (each root asks it before its children are
 * settled, from their caps then), and every lease renewed: granted at t,
 * its expiry moved by the time since the last rebalance.  The stats count
 * it as a rebalance (the caller). */
static void skip_renew(hr_lease_sys_t *s, int64_t t)
{
  for (size_t k = 0; k < s->n && s->skip_grid; k++) {
    size_t m = 0;
    kids(s, k, &m);
    if (is_root(s, k) && m > 0 && tnode(s, k)->grid)
      (void)hr__lease_grid_env(s, k, t, hr__lease_granted_under(s, k, t));
  }
  const int64_t d = t - s->skip_t_ns;
  int64_t *restrict exp_ns = s->lease_exp_ns, *restrict granted_ns = s->lease_granted_ns;
  const int32_t *restrict par = s->par;
  for (size_t k = 0; k < s->n; k++) {
    /* A root's expiry (never set, INT64_MIN, or anything) stays: the sum is
     * formed for every node in unsigned arithmetic (no overflow) and only a
     * non-root's kept, where it is t + an offset. */
    int64_t r = par[k] < 0;
    exp_ns[k] = sel_i64(r, exp_ns[k], (int64_t)((uint64_t)exp_ns[k] + (uint64_t)d));
    granted_ns[k] = sel_i64(r, granted_ns[k], t);
  }
  if (s->skip_exp_ns != INT64_MAX) /* INT64_MAX: no lease above its floor */
    s->skip_exp_ns += d;
  s->skip_t_ns = t;
  s->skipped++;
}

/* After a full rebalance at t whose start allowed a record (rec): the record
 * holds when every non-root lease was settled once by the vector kernels
 * and none moved or was held back by time (skip_bad), the post-condition
 * cut nothing (clamps), the policies' memory is what it was, the mode
 * stayed normal.  Keeps the demands and the earliest expiry above a floor. */
static void skip_record(hr_lease_sys_t *s, const double *demand_w, int64_t t, uint64_t clamps0)
{
  size_t n_lease = 0;
  int64_t first = INT64_MAX;
  int grid = 0;
  for (size_t k = 0; k < s->n; k++) {
    if (is_root(s, k)) {
      grid |= tnode(s, k)->grid != NULL;
      continue;
    }
    n_lease++;
    if (s->lease_p_w[k] > s->floor_w[k] && s->lease_exp_ns[k] < first)
      first = s->lease_exp_ns[k];
  }
  if (s->skip_bad || s->skip_nset != n_lease || s->stats.clamps != clamps0 ||
      s->mode != HR_MODE_NORMAL || memcmp(s->pstate, s->skip_pst, s->n) != 0)
    return;
  memcpy(s->skip_dem, demand_w, s->n * sizeof *demand_w);
  s->skip_t_ns = t;
  s->skip_exp_ns = first;
  s->skip_grid = grid;
  s->skip_ok = 1;
}

/* The rebalance, fast form: the same leases, bit for bit, as the reference
 * form (rebalance_ref.c), faster.  It visits only s->inner (no leaf of a
 * leafkids node), aggregates and settles those leaves inside their parent's
 * step with settle_leaves() in batches, fills a server's leaves in lanes,
 * settles a rack's servers in the rack's step, and reads its children's
 * records per visit position (in_rec) instead of per node. */
int hr_lease_sys_rebalance(hr_lease_sys_t *s, const double *demand_w, int64_t t)
{
  if (!s || !demand_w)
    return HR_ERR_INVALID_ARG;
  if (skip_applies(s, demand_w, t)) {
    skip_renew(s, t);
    s->stats.rebalances++;
    return HR_OK;
  }
  /* A record for the next call only from a start where the skip's terms can
   * hold: started (the first time resets every ramp), the mode normal and
   * following events it already saw, every coordinator running, nothing
   * dead (every lease then settled by settle_leaves or settle_bf). */
  s->skip_ok = 0;
  int rec = !s->no_skip && s->started && s->mode == HR_MODE_NORMAL &&
            (s->events | s->auto_events) == s->ev_seen && s->n_stopped == 0 && !s->any_dead;
  uint64_t clamps0 = s->stats.clamps;
  s->skip_bad = 0;
  s->skip_nset = 0;
  s->skip_until_ns = INT64_MAX;
  if (rec)
    memcpy(s->skip_pst, s->pstate, s->n);
  hr__lease_start_at(s, t);
  hr__lease_update_mode(s, t);
  size_t n_visit = s->n_inner;
  /* Bottom-up: demand of a node = the sum of its children's, within its
   * limit and above its floor.  A dual-corded child counts in full on both
   * sides (each feed must carry it alone). */
  for (size_t i = n_visit; i-- > 0;) {
    size_t k = (size_t)s->inner[i];
    if (i >= PREFETCH_AHEAD)
      prefetch_up(s, (size_t)s->inner[i - PREFETCH_AHEAD], demand_w);
    size_t m = 0;
    const int32_t *ch = kids(s, k, &m);
    double d;
    if (m == 0) {
      d = demand_w[s->tidx[k]];
      if (!(d >= 0.0))
        d = 0.0;
    } else if (s->ph_idx[k] >= 0) {
      /* A three-phase node: its children's demands kept (s->alloc) for the
       * per-conductor demand; the sum in the same order as below. */
      d = 0.0;
      size_t cb = 0;
      const int32_t *cp = s->leafkids[k] ? NULL : kid_pos(s, i, k, &cb);
      for (size_t j = 0; j < m; j++) {
        double v =
            cp ? s->in_rec[cb + (size_t)cp[j]].agg_w : leaf_demand(s, (size_t)ch[j], demand_w);
        s->alloc[j] = v;
        d += v;
      }
      d = hr__lease_phase_demand(s, k, s->alloc, d);
    } else if (s->run_tier[k] >= 0) {
      /* Clamps in vectors, then the sum in the reference's order. */
      d = 0.0;
      if (m == 8) {
        double dem[8]; /* a local array: with s->alloc the clamps stay scalar (aliasing) */
        run_demand8(s, (size_t)ch[0], demand_w, dem);
        for (size_t j = 0; j < 8; j++)
          d += dem[j];
      } else {
        run_demand(s, (size_t)ch[0], m, demand_w, s->alloc);
        for (size_t j = 0; j < m; j++)
          d += s->alloc[j];
      }
    } else if (s->leafkids[k]) {
      d = 0.0;
      for (size_t j = 0; j < m; j++)
        d += leaf_demand(s, (size_t)ch[j], demand_w);
    } else {
      size_t cb = 0;
      const int32_t *cp = kid_pos(s, i, k, &cb);
      d = 0.0;
      for (size_t j = 0; j < m; j++)
        d += s->in_rec[cb + (size_t)cp[j]].agg_w;
    }
    if (m > 0 && !is_root(s, k)) {
      d = quantize_up_v(d, s->floor_w[k], tier_token(s, k), s->tok_inv[s->tier[k]]);
      if (d > s->limit[k])
        d = s->limit[k];
    }
    if (d > s->limit[k])
      d = s->limit[k];
    if (d < s->floor_w[k])
      d = s->floor_w[k];
    if (s->ph_idx[k] >= 0) {
      /* Its demand per conductor as its parent sees it: floors plus the
       * shape times the part above them. */
      const double *f = ph_row(s->fph, s, k), *sh = ph_row(s->sph, s, k);
      double *dp = s->dph + 4 * (size_t)s->ph_idx[k];
      for (int q = 0; q < 3; q++)
        dp[q] = f[q] + sh[q] * (d - s->floor_w[k]);
    }
    inner_rec_t *r = &s->in_rec[i];
    r->agg_w = d;
    r->flo_w = s->floor_w[k];
    r->offer_w = INFINITY;
    r->prio = s->prio[k];
    r->dead = s->dead[k];
  }
  /* Top-down: settle a node's own lease from its parents' offers, then split
   * its cap among its children. */
  leaf_batch_t lb;
  lb.n_seg = lb.n_leaf = 0;
  fill_group_t fg;
  fg.n = 0;
  for (size_t i = 0; i < n_visit; i++) {
    size_t k = (size_t)s->inner[i];
    if (i + PREFETCH_AHEAD < n_visit)
      prefetch_node(s, i + PREFETCH_AHEAD, (size_t)s->inner[i + PREFETCH_AHEAD]);
    s->chk[i] = 0;
    if (s->dead[k])
      continue;
    /* A node offered nothing (its parents are stopped) keeps its old lease,
     * which runs out by itself; one with a stopped parent or process is only
     * cut by the running side (held); its own coordinator may still run. */
    double offer = s->in_rec[i].offer_w;
    if (!is_root(s, k) && isfinite(offer)) {
      double want = offer;
      if (s->mode == HR_MODE_PROTECTION)
        want = 0.0;
      if (s->n_stopped && held(s, k)) {
        {
          hr__lease_cut(s, k, want, t);
          nest_held(s, k, t);
        }
      } else if (s->n_stopped == 0) {
        settle_bf(s, k, want, t, expiry_for(s, k, t));
        if (s->ph_idx[k] >= 0)
          set_pph(s, k, s->lease_p_w[k], s->floor_w[k], ph_row(s->fph, s, k));
      } else {
        hr__lease_settle(s, k, want, t, expiry_for(s, k, t));
      }
    }
    size_t m = 0;
    const int32_t *ch = kids(s, k, &m);
    if (m == 0 || !s->running[k])
      continue;
    int leaf_step = s->leafkids[k];
    const hr_coord_cfg_t *cc = s->ccfg[k];
    /* avail_at, inlined (an exported call goes through the PLT). */
    double b = cap_at(s, k, t);
    if (!(b < s->limit[k] || s->dead[k]))
      b = s->limit[k];
    if (isfinite(b)) /* an unrated node: 0 x INFINITY would be NAN */
      b -= cc->reserve_frac * b;
    if (is_root(s, k) && tnode(s, k)->grid) {
      /* Grid-facing ramp limit at the site node (grid_env). */
      double e = hr__lease_grid_env(s, k, t, hr__lease_granted_under(s, k, t));
      if (e < b) {
        b = e;
        /* The envelope bound: it rises with time, unless at its top. */
        s->skip_bad |= !s->env_top;
      }
    }
    /* A run of leaves (consecutive, one tier), none dead or held. */
    int run = leaf_step && s->run_tier[k] >= 0 && !s->any_dead && s->n_stopped == 0;
    if (run && cc->policy == HR_POLICY_FAIR && m <= 64 && !s->three[k]) {
      /* The common server: a run of leaves, fair share, no phase limits.  The
       * policy reads the floors where they lie and writes the wants straight
       * into the batch (the steps below, without the copies). */
      size_t c0 = (size_t)ch[0];
      int tier = s->run_tier[k];
      int64_t pe = is_root(s, k) ? INT64_MAX : s->lease_exp_ns[k];
      int64_t e = t + s->cfg.tier[tier].ttl_ns;
      double av = avail_at(s, k, t);
      s->chk[i] = 1; /* by its batch (batch_flush) */
      if (m == FILL_M) {
        fill_add(s, &fg, &lb, cc, tier, c0, e < pe ? e : pe, b, av, (int32_t)k, demand_w, t);
        continue;
      }
      double dem[64];
      run_demand(s, c0, m, demand_w, dem);
      hr__fair_fill(m, dem, s->floor_w + c0, b,
                    batch_slot(s, &lb, cc, tier, c0, m, e < pe ? e : pe, av, (int32_t)k, t));
      continue;
    } else if (run) {
      /* A run: clamps in vectors. */
      size_t c0 = (size_t)ch[0];
      run_demand(s, c0, m, demand_w, s->alloc);
      for (size_t j = 0; j < m; j++) {
        s->items[j].dem_w = s->alloc[j];
        s->items[j].flo_w = s->floor_w[c0 + j];
        s->items[j].prio = s->prio[c0 + j];
      }
    } else if (leaf_step) {
      /* Leaves: the aggregate is recomputed from demand_w rather than stored
       * (one array less to write and read back), and a leaf's least grant is
       * its floor (hr__lease_least()). */
      for (size_t j = 0; j < m; j++) {
        size_t c = (size_t)ch[j];
        int dc = s->dead[c];
        double dem = dc ? 0.0 : leaf_demand(s, c, demand_w);
        if (s->n_stopped && held(s, c)) {
          double g = cap_at(s, c, t);
          dem = dem < g ? dem : g;
        }
        s->items[j].dem_w = dem;
        s->items[j].flo_w = dc ? 0.0 : s->floor_w[c];
        s->items[j].prio = s->prio[c];
      }
    } else {
      /* The children's records, filled by the bottom-up pass; their least
       * grant is their floor unless a coordinator is stopped (hr__lease_least()). */
      size_t cb = 0;
      const int32_t *cp = kid_pos(s, i, k, &cb);
      for (size_t j = 0; j < m; j++) {
        const inner_rec_t *r = &s->in_rec[cb + (size_t)cp[j]];
        double dem = r->agg_w,
               flo = s->n_stopped ? hr__lease_least(s, (size_t)ch[j], t, NULL) : r->flo_w;
        if (s->n_stopped && held(s, (size_t)ch[j])) {
          /* It cannot take more now, only be cut. */
          double c = cap_at(s, (size_t)ch[j], t);
          dem = dem < c ? dem : c;
        }
        dem = r->dead ? 0.0 : dem;
        flo = r->dead ? 0.0 : flo;
        s->items[j].dem_w = dem < flo ? flo : dem;
        s->items[j].flo_w = flo;
        s->items[j].prio = r->prio;
      }
    }
    hr__policy_alloc(cc, &s->pstate[k], m, s->items, b, s->limit[k], s->alloc, s->scratch);
    if (s->three[k] && !s->phkids[k]) {
      /* A three-phase node whose children sit on fixed conductors (a rack's
       * single-phase servers): the conductor fit from their phase codes. */
      double lim[3];
      phase_avail(s, k, t, &s->in_ph[4 * i], lim);
      fit_phases_w(m, s->items, s->ch_ph + s->ch_off[k], lim, s->alloc);
    } else if (s->three[k]) {
      /* Every conductor of a three-phase node: each child's load on it is
       * modelled from its least and its shape (child_model), and the parts
       * above the least are scaled where a conductor is over (fit_phases). */
      hr__lease_model_children(s, k, t, ch, m);
      double lim[3];
      phase_avail(s, k, t, &s->in_ph[4 * i], lim);
      hr__lease_fit_phases(m, s->items, s->ml, s->ms, lim, s->alloc);
    }
    if (s->leafkids[k]) {
      /* Children that are single-parent leaves (GPUs under a server): settle
       * them now, while their data is in cache, and mark them done (NAN). */
      int64_t pe = is_root(s, k) ? INT64_MAX : s->lease_exp_ns[k];
      int prot = s->mode == HR_MODE_PROTECTION;
      int tier = s->run_tier[k];
      double av = avail_at(s, k, t);
      if (run) {
        /* One run: consecutive, one tier (expiry_for, with the one parent known). */
        s->chk[i] = !s->three[k]; /* its batch checks the total */
        int64_t e = t + s->cfg.tier[tier].ttl_ns;
        batch_add(s, &lb, cc, tier, (size_t)ch[0], m, s->alloc, e < pe ? e : pe, av, (int32_t)k, t);
        /* A three-phase server on fixed conductors: its batch checks the
         * conductors as well (three_over); in one segment, the last queued. */
        if (s->three[k] && !s->phkids[k] && m <= LEAF_BATCH_LEAVES)
          lb.seg[lb.n_seg - 1].pos = (int32_t)i;
      } else {
        for (size_t j = 0; j < m; j++) {
          size_t c = (size_t)ch[j];
          if (s->dead[c])
            continue;
          if (s->n_stopped && held(s, c)) {
            {
              hr__lease_cut(s, c, prot ? 0.0 : s->alloc[j], t);
              nest_held(s, c, t);
            }
            continue;
          }
          int64_t e = t + tier_ttl(s, c);
          if (s->n_stopped && s->cfg.expiry_fallback && t >= s->lease_exp_ns[c]) {
            /* Its lease ran out below a stopped coordinator: its cap is
             * the safe-share fallback (cap_at), which can lie above its
             * floor, where the batch's lanes take an expired lease at its
             * floor; so a change from it would go unrecorded (its ramp
             * counting from too early).  The reference settle starts from
             * cap_at. */
            hr__lease_settle(s, c, prot ? 0.0 : s->alloc[j], t, e < pe ? e : pe);
            continue;
          }
          batch_add(s, &lb, cc, s->tier[c], c, 1, &s->alloc[j], e < pe ? e : pe, INFINITY, -1, t);
        }
      }
      continue;
    }
    size_t cb = 0;
    const int32_t *cp = kid_pos(s, i, k, &cb);
    int now = s->kidrun[k] && s->n_stopped == 0 && !s->any_dead;
    for (size_t j = 0; j < m && now; j++)
      now = isfinite(s->alloc[j]) != 0;
    if (now) {
      /* Children with this node as their one parent, nobody stopped, no
       * feed lost: each child's offer is its grant here, its least grant
       * its floor, its expiry expiry_for()'s, the same for all; so their
       * own leases are settled now as one run, with the leaves' kernel
       * (settle_bf's operations, 8 to a vector), and their visits skip
       * the settle (offer NAN).  Nothing reads a child's lease before its
       * visit but this. */
      size_t c0 = (size_t)ch[0];
      int tier = s->tier[c0];
      int64_t e = t + s->cfg.tier[tier].ttl_ns;
      if (!is_root(s, k) && s->lease_exp_ns[k] < e)
        e = s->lease_exp_ns[k];
      leaf_seg_t seg = {(int32_t)c0, (int32_t)m, e, INFINITY, -1, -1};
      leaf_rules_t r = leaf_rules(s, cc, tier);
      double sum;
      settle_leaves(s, &seg, 1, s->alloc, t, &r, &sum);
      for (size_t j = 0; j < m; j++) {
        s->in_rec[cb + (size_t)cp[j]].offer_w = NAN;
        if (s->ph_idx[c0 + j] >= 0)
          set_pph(s, c0 + j, s->lease_p_w[c0 + j], s->floor_w[c0 + j], ph_row(s->fph, s, c0 + j));
      }
      /* The post-condition, while the grants are in cache: every child is
       * settled now (nested by construction). */
      s->chk[i] = !run_over(s, k, i, t, sum);
      continue;
    }
    for (size_t j = 0; j < m; j++) {
      inner_rec_t *r = &s->in_rec[cb + (size_t)cp[j]];
      if (!isnan(r->offer_w) && s->alloc[j] < r->offer_w)
        r->offer_w = s->alloc[j];
    }
  }
  fill_flush(s, &fg, &lb, t);
  batch_flush(s, &lb, t);
  /* The post-condition: the leaves settled in runs were checked by their
   * batch (batch_flush); the rest here. */
  hr__lease_postcheck_all(s, t, 1);
  if (rec)
    skip_record(s, demand_w, t, clamps0);
  s->stats.rebalances++;
  return HR_OK;
}
